//! PRIME for the in-process device: BOs exported as dma-buf fds and
//! imported back (`drm_prime.c`, `panthor_gem_prime_export`).
//!
//! A dma-buf fd here is a memfd named `virtual-mali-dmabuf`, as long as the
//! BO (`lseek(fd, 0, SEEK_END)` and `fstat`'s `st_size` give the BO's
//! size, as on a real dma-buf) and sealed (`F_SEAL_SHRINK | F_SEAL_GROW |
//! F_SEAL_WRITE | F_SEAL_SEAL`). Its identity is its inode
//! ([`crate::fds`]): a process-wide registry maps it to the BO (a strong
//! reference, as a dma-buf holds its GEM object) and to the device that
//! exported it.
//!
//! Kernel rules kept:
//! - exporting a BO that already has a dma-buf gives a new fd for that same
//!   dma-buf (the kernel's `obj->dma_buf`): every export dups the
//!   registry's own fd, so all fds of a BO share one inode and one open
//!   file (and its offset);
//! - import: an fd that is not open is `EBADF`, one that is not a dma-buf
//!   `EINVAL` (`dma_buf_get`); a dma-buf of this device gives the handle
//!   the file already has for the BO, else a new one;
//! - the dma-buf lives while an fd of it is open or a GEM handle of its BO
//!   exists (the kernel drops `obj->dma_buf` with the last handle); the BO
//!   lives at least as long as the dma-buf.
//!
//! The registry learns that the last fd is closed lazily: every export
//! first sweeps it ([`crate::fds::open_counts`], one `fstat` per open fd of
//! the process), dropping each entry whose inode is open nowhere but in the
//! registry's own fd and whose BO nobody else references (no handle,
//! mapping or job). So a BO whose handles and dma-buf fds are all closed is
//! freed at the next export in the process, or when its device is dropped.
//!
//! Deviations, by necessity:
//! - the fd's contents are not the BO's bytes (the simulator's pages live
//!   in the device's one big memfd): `mmap` of a dma-buf fd gives zeros
//!   (and `PROT_WRITE` shared mappings fail, the file being write-sealed);
//!   share bytes through GEM handles and `mmap` of the DRM file instead;
//! - the file is always `O_RDWR` (the kernel takes `DRM_RDWR` of the first
//!   export) and `lseek` accepts more than the kernel's `SEEK_SET` /
//!   `SEEK_END` to offset 0; `DMA_BUF_IOCTL_*` are not there;
//! - a dma-buf exported by another `VirtualDevice` of the process is
//!   `EINVAL` on import: devices do not share memory (the kernel would
//!   import a foreign dma-buf through its scatter-gather table);
//! - `EMFILE` comes after the handle and flag checks (the kernel reserves
//!   the fd first).

use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use panthor_kmd::bo::BoRef;
use panthor_kmd::shim::Shared;
use panthor_uapi::device::DRM_CLOEXEC;
use panthor_uapi::errno::Errno;

use crate::fds::{self, FileId};

/// The name every dma-buf memfd carries (`/proc/self/fd` shows
/// `/memfd:virtual-mali-dmabuf`).
pub const MEMFD_NAME: &std::ffi::CStr = c"virtual-mali-dmabuf";

/// One exported BO.
struct DmaBuf {
    /// The exporting device ([`crate::virtual_device::VirtualDevice::id`]).
    device: u64,
    bo: BoRef,
    /// The registry's own fd of the memfd: what later exports dup.
    file: OwnedFd,
}

static BUFS: Mutex<BTreeMap<FileId, DmaBuf>> = Mutex::new(BTreeMap::new());

fn bufs() -> MutexGuard<'static, BTreeMap<FileId, DmaBuf>> {
    BUFS.lock().unwrap_or_else(|e| e.into_inner())
}

/// PRIME export of `bo` (a BO of `device` behind a handle the caller has
/// checked) with `flags` already checked to be within
/// `DRM_CLOEXEC | DRM_RDWR`: an fd of the BO's dma-buf, made on first
/// export. `EINVAL` for a BO with an exclusive VM
/// (`panthor_gem_prime_export`); `EMFILE` / `ENOMEM` when fds or memory
/// run out.
pub fn export(device: u64, bo: BoRef, flags: u32) -> Result<OwnedFd, Errno> {
    let cloexec = flags & DRM_CLOEXEC != 0;
    let mut map = bufs();
    let swept = sweep(&mut map);
    let existing = map
        .values()
        .find(|b| b.device == device && Shared::ptr_eq(&b.bo, &bo));
    let result = match existing {
        Some(buf) => fds::dup(buf.file.as_fd(), cloexec),
        None => create(&mut map, device, bo, cloexec),
    };
    drop(map);
    // The swept BOs are freed outside the registry lock.
    drop(swept);
    result
}

fn create(
    map: &mut BTreeMap<FileId, DmaBuf>,
    device: u64,
    bo: BoRef,
    cloexec: bool,
) -> Result<OwnedFd, Errno> {
    // "We can't export GEMs that have an exclusive VM."
    if bo.exclusive_vm.is_some() {
        return Err(Errno::EINVAL);
    }
    let file = fds::sealed_memfd(MEMFD_NAME, bo.size())?;
    let id = fds::file_id(file.as_fd())?;
    let fd = fds::dup(file.as_fd(), cloexec)?;
    map.insert(id, DmaBuf { device, bo, file });
    Ok(fd)
}

/// PRIME import into a file of `device`: the BO behind the dma-buf `fd`.
/// `EBADF` when `fd` is not open, `EINVAL` when it is not a dma-buf of
/// this device.
pub fn import(device: u64, fd: BorrowedFd<'_>) -> Result<BoRef, Errno> {
    let id = fds::file_id(fd).map_err(|_| Errno::EBADF)?;
    match bufs().get(&id) {
        Some(buf) if buf.device == device => Ok(buf.bo.clone()),
        _ => Err(Errno::EINVAL),
    }
}

/// Drops every dma-buf of `device` (the device is going away): their fds
/// stay open but are no dma-bufs any more.
pub fn forget_device(device: u64) {
    let gone: Vec<DmaBuf> = {
        let mut map = bufs();
        let ids: Vec<FileId> = map
            .iter()
            .filter(|(_, b)| b.device == device)
            .map(|(id, _)| *id)
            .collect();
        ids.iter().filter_map(|id| map.remove(id)).collect()
    };
    drop(gone);
}

/// How many dma-bufs of `device` the registry holds (tests, diagnostics).
pub fn registered(device: u64) -> usize {
    bufs().values().filter(|b| b.device == device).count()
}

/// Removes the dma-bufs no fd outside the registry refers to and whose BO
/// nobody else holds; returns them, to be dropped after the lock.
fn sweep(map: &mut BTreeMap<FileId, DmaBuf>) -> Vec<DmaBuf> {
    if map.is_empty() {
        return Vec::new();
    }
    let Some(open) = fds::open_counts(|id| map.contains_key(id)) else {
        return Vec::new();
    };
    let dead: Vec<FileId> = map
        .iter()
        .filter(|(id, buf)| {
            // The registry's own fd is one of the open ones.
            let user_fds = open.get(id).copied().unwrap_or(0).saturating_sub(1);
            user_fds == 0 && Shared::ref_count(&buf.bo) == 1
        })
        .map(|(id, _)| *id)
        .collect();
    dead.iter().filter_map(|id| map.remove(id)).collect()
}
