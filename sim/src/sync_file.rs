//! sync_files for the in-process device: a syncobj's fence exported with
//! `DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE` and imported into a
//! syncobj with `DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE`
//! (`drm_syncobj_export_sync_file`, `drm_syncobj_import_sync_file_fence`).
//!
//! A sync_file carries a fence, not a syncobj: it is what the syncobj held
//! at export time (point 0: a plain fence, or a whole timeline), and later
//! changes to the syncobj do not reach it. Like the kernel's, it is
//! pollable: `poll` reports `POLLIN` once the fence has signalled, nothing
//! before.
//!
//! Here it is the read end of a close-on-exec pipe (opened read-only, as
//! the kernel's `sync_file` file is). Its identity is the pipe's inode
//! ([`crate::fds`]; an eventfd would not do: all eventfds share one
//! anonymous inode). A process-wide registry maps it to the fence, the
//! exporting device, the pipe's write end and a second read end of the
//! registry's own (so that writing never meets a pipe without readers,
//! which would raise `SIGPIPE`). When the fence signals, one byte is
//! written: [`signal_ready`] checks the pending sync_files, and every
//! `VirtualDevice`'s scheduler thread calls it after each of its wake-ups
//! (each fence signal is followed by one, and the thread wakes at least
//! every 20 ms anyway). A sync_file whose fence has already signalled at
//! export is readable at once.
//!
//! Import errors are the kernel's: `EINVAL` for an fd that is not open or
//! not a sync_file (a syncobj fd or a dma-buf included), then `ENOENT` for
//! an unknown syncobj handle (checked by the caller). Entries whose read
//! ends are all closed are swept lazily, when the registry has grown to
//! twice what the last sweep left (at least [`SWEEP_MIN`] entries).
//!
//! Deviations: `read` gives the byte (the kernel's sync_file has no
//! `read`; a reader that takes it makes the fd look pending again), and the
//! `SYNC_IOC_*` ioctls (merge, file info) are not there; a sync_file
//! exported by another `VirtualDevice` of the process is `EINVAL` on
//! import (the kernel takes any sync_file; here each device's waits are
//! woken only by its own events).

use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use panthor_kmd::fence::FenceSet;
use panthor_uapi::errno::Errno;

use crate::fds::{self, FileId};

/// Registry size below which no sweep runs.
pub const SWEEP_MIN: usize = 32;

struct SyncFile {
    device: u64,
    fence: FenceSet,
    /// Gets one byte when `fence` has signalled.
    write: OwnedFd,
    /// The registry's own read end.
    _read: OwnedFd,
}

struct Registry {
    files: BTreeMap<FileId, SyncFile>,
    /// The files whose byte is not written yet.
    pending: Vec<FileId>,
    sweep_at: usize,
}

static FILES: Mutex<Registry> = Mutex::new(Registry {
    files: BTreeMap::new(),
    pending: Vec::new(),
    sweep_at: SWEEP_MIN,
});

/// `pending.len()`, readable without the lock (lets [`signal_ready`]
/// return at once when nothing is pending).
static PENDING: AtomicUsize = AtomicUsize::new(0);

fn registry() -> MutexGuard<'static, Registry> {
    FILES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Exports `fence` (what a syncobj of a file of `device` holds) as a new
/// close-on-exec sync_file.
pub fn export(device: u64, fence: FenceSet) -> Result<OwnedFd, Errno> {
    let (read, write) = fds::pipe()?;
    fds::set_nonblocking(write.as_fd())?;
    let own_read = fds::dup(read.as_fd(), true)?;
    let id = fds::file_id(read.as_fd())?;
    let mut file = SyncFile {
        device,
        fence,
        write,
        _read: own_read,
    };
    let mut reg = registry();
    let swept = if reg.files.len() >= reg.sweep_at {
        let swept = sweep(&mut reg);
        reg.sweep_at = (2 * reg.files.len()).max(SWEEP_MIN);
        swept
    } else {
        Vec::new()
    };
    reg.pending.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    if file.fence.is_signaled() {
        signal(&mut file);
    } else {
        reg.pending.push(id);
        PENDING.store(reg.pending.len(), Ordering::Release);
    }
    reg.files.insert(id, file);
    drop(reg);
    drop(swept);
    Ok(read)
}

/// The fence of the sync_file `fd`, for a syncobj of a file of `device`.
/// `EINVAL` when `fd` is not open or not a sync_file of this device.
pub fn import(device: u64, fd: BorrowedFd<'_>) -> Result<FenceSet, Errno> {
    let id = fds::file_id(fd).map_err(|_| Errno::EINVAL)?;
    match registry().files.get(&id) {
        Some(f) if f.device == device => Ok(f.fence.clone()),
        _ => Err(Errno::EINVAL),
    }
}

/// Makes every pending sync_file whose fence has signalled readable.
/// Cheap when none is pending.
pub fn signal_ready() {
    if PENDING.load(Ordering::Acquire) == 0 {
        return;
    }
    let mut guard = registry();
    let reg = &mut *guard;
    reg.pending.retain(|id| match reg.files.get_mut(id) {
        Some(f) if f.fence.is_signaled() => {
            signal(f);
            false
        }
        Some(_) => true,
        None => false,
    });
    PENDING.store(reg.pending.len(), Ordering::Release);
}

/// Writes the byte of a signalled sync_file and drops the fences it no
/// longer needs (an error is kept for importers).
fn signal(f: &mut SyncFile) {
    fds::write_byte(&f.write);
    f.fence.prune();
}

/// A device is going away: its files closed, their jobs completed (or
/// cancelled). Its sync_files stay registered, unlike its dma-bufs and
/// syncobj fds, since their fds must keep polling as they did (the
/// kernel's sync_file outlives its device too); the ones whose fence has
/// signalled become readable now, with that device's scheduler thread
/// gone.
pub fn device_gone() {
    signal_ready();
}

/// How many sync_files of `device` the registry holds (tests).
pub fn registered(device: u64) -> usize {
    registry()
        .files
        .values()
        .filter(|f| f.device == device)
        .count()
}

/// Removes the entries whose pipe is open nowhere but in the registry (its
/// own read and write ends); returns them, to be dropped after the lock.
fn sweep(reg: &mut Registry) -> Vec<SyncFile> {
    let files = &mut reg.files;
    let Some(open) = fds::open_counts(|id| files.contains_key(id)) else {
        return Vec::new();
    };
    let dead: Vec<FileId> = files
        .keys()
        .filter(|id| open.get(id).copied().unwrap_or(0) <= 2)
        .copied()
        .collect();
    let gone: Vec<SyncFile> = dead.iter().filter_map(|id| files.remove(id)).collect();
    reg.pending.retain(|id| files.contains_key(id));
    PENDING.store(reg.pending.len(), Ordering::Release);
    gone
}
