//! What the in-process device's shared fds have in common: how one is
//! recognised, created and counted.
//!
//! The kernel recognises its dma-bufs, syncobj files and sync_files by
//! their `struct file` (`f_op`). A user-space device has no such thing, so
//! here an fd's identity is its inode, [`FileId`] (`fstat`'s `st_dev` and
//! `st_ino`): every memfd and every pipe has an inode of its own, and all
//! fds of one object (dups, fds passed between threads) share it. Each kind
//! keeps a process-wide registry keyed by [`FileId`] ([`crate::dma_buf`],
//! [`crate::syncobj_fd`], [`crate::sync_file`]); an fd found in none is not
//! one of ours.
//!
//! What keeps a registered object alive is the fds that refer to it, as the
//! kernel's file references do; a user-space registry cannot see a close,
//! so it sweeps lazily: [`open_counts`] reads `/proc/self/fd` and `fstat`s
//! every entry to count, per registered inode, the fds still open. Two
//! limits: an fd moved by a concurrent `dup` + `close` while a sweep reads
//! the directory can be missed (the object is then dropped early and a
//! later import fails with `EINVAL`); and only this process's fd table is
//! looked at (an fd sent to another process, or a memory mapping of one,
//! does not count). Without `/proc` nothing is swept.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use panthor_uapi::errno::Errno;

/// The identity of an open file: its inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// The inode behind a raw fd number, or the `fstat` errno (`EBADF` when
/// nothing is open there).
fn raw_file_id(fd: RawFd) -> Result<FileId, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes at most one `struct stat` into `st`; on a number
    // that is not an open fd it fails with EBADF and touches nothing else.
    if unsafe { libc::fstat(fd, st.as_mut_ptr()) } != 0 {
        return Err(last_errno());
    }
    // SAFETY: fstat succeeded, so it filled `st`.
    let st = unsafe { st.assume_init() };
    #[allow(clippy::useless_conversion)] // narrower than u64 on some targets
    let id = FileId {
        dev: u64::from(st.st_dev),
        ino: u64::from(st.st_ino),
    };
    Ok(id)
}

/// The inode behind `fd` (`EBADF` for a closed fd).
pub fn file_id(fd: BorrowedFd<'_>) -> Result<FileId, Errno> {
    raw_file_id(fd.as_raw_fd())
}

/// The errno of the last failed libc call.
pub fn last_errno() -> Errno {
    io_errno(&io::Error::last_os_error())
}

/// An I/O error as an errno (`ENOMEM` when it carries none).
pub fn io_errno(e: &io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(Errno::ENOMEM.0))
}

/// How many of this process's fds refer to each inode `wanted` accepts
/// (inodes with no open fd are absent). None when `/proc/self/fd` cannot
/// be read completely: then nobody may conclude that an inode is closed.
pub fn open_counts(mut wanted: impl FnMut(&FileId) -> bool) -> Option<BTreeMap<FileId, usize>> {
    let mut counts = BTreeMap::new();
    for entry in std::fs::read_dir("/proc/self/fd").ok()? {
        let entry = entry.ok()?;
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<RawFd>().ok())
        else {
            continue;
        };
        // A number closed since the listing fails (EBADF): not counted.
        let Ok(id) = raw_file_id(fd) else { continue };
        if wanted(&id) {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    Some(counts)
}

/// A new fd for the open file of `fd`, the lowest free number as the
/// kernel's `get_unused_fd_flags` gives, close-on-exec if asked.
pub fn dup(fd: BorrowedFd<'_>, cloexec: bool) -> Result<OwnedFd, Errno> {
    let cmd = if cloexec {
        libc::F_DUPFD_CLOEXEC
    } else {
        libc::F_DUPFD
    };
    // SAFETY: F_DUPFD(_CLOEXEC) on an open fd only creates a new fd.
    let raw = unsafe { libc::fcntl(fd.as_raw_fd(), cmd, 0) };
    if raw < 0 {
        return Err(last_errno());
    }
    // SAFETY: `raw` is a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Every seal: the file's size and contents can no longer change.
const ALL_SEALS: libc::c_int =
    libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;

/// A close-on-exec memfd named `name` of `size` bytes (a hole: no memory
/// behind it), sealed against every change.
pub fn sealed_memfd(name: &CStr, size: u64) -> Result<OwnedFd, Errno> {
    // SAFETY: `name` is NUL-terminated; memfd_create only creates an fd.
    let raw =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if raw < 0 {
        return Err(last_errno());
    }
    // SAFETY: `raw` is a new fd that nothing else owns.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(raw) });
    file.set_len(size).map_err(|e| io_errno(&e))?;
    // SAFETY: F_ADD_SEALS on an fd we own changes only that file's seals.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, ALL_SEALS) } != 0 {
        return Err(last_errno());
    }
    Ok(OwnedFd::from(file))
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut raw = [-1 as RawFd; 2];
    // SAFETY: pipe2 writes two fds into the two-element array.
    if unsafe { libc::pipe2(raw.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(last_errno());
    }
    // SAFETY: both are new fds that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(raw[0]), OwnedFd::from_raw_fd(raw[1])) })
}

/// Makes writes to `fd` non-blocking.
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: F_GETFL/F_SETFL on an open fd change only its status flags.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(last_errno());
        }
    }
    Ok(())
}

/// Writes one byte to `fd` (a pipe's write end), ignoring a full pipe.
pub fn write_byte(fd: &impl AsFd) {
    let byte = 1u8;
    // SAFETY: writes one byte from a live local; the fd is open.
    let _ = unsafe { libc::write(fd.as_fd().as_raw_fd(), (&byte as *const u8).cast(), 1) };
}

/// Fresh device identities: [`crate::virtual_device::VirtualDevice`]s of one
/// process never share an id, so a registry entry names its device without
/// keeping it alive.
pub fn next_device_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memfds_and_pipes_have_an_inode_each_and_dups_share_it() {
        let a = sealed_memfd(c"t", 8192).unwrap();
        let b = sealed_memfd(c"t", 0).unwrap();
        let (r, w) = pipe().unwrap();
        let ids = [&a, &b, &r].map(|f| file_id(f.as_fd()).unwrap());
        assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
        assert_eq!(file_id(w.as_fd()).unwrap(), ids[2], "a pipe's two ends");
        let d = dup(a.as_fd(), false).unwrap();
        assert_eq!(file_id(d.as_fd()).unwrap(), ids[0]);
        let counts = open_counts(|id| ids.contains(id)).unwrap();
        assert_eq!(counts.get(&ids[0]), Some(&2));
        assert_eq!(counts.get(&ids[2]), Some(&2));
        drop(d);
        drop(w);
        let counts = open_counts(|id| ids.contains(id)).unwrap();
        assert_eq!(
            (counts[&ids[0]], counts[&ids[1]], counts[&ids[2]]),
            (1, 1, 1)
        );
    }

    #[test]
    fn sealed_memfds_keep_their_size() {
        let f = File::from(sealed_memfd(c"t", 4096).unwrap());
        assert_eq!(f.metadata().unwrap().len(), 4096);
        assert!(f.set_len(8192).is_err());
        assert!(f.set_len(0).is_err());
    }
}
