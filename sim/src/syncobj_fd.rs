//! Syncobj fds for the in-process device: `SYNCOBJ_HANDLE_TO_FD` and
//! `SYNCOBJ_FD_TO_HANDLE` without flags (`drm_syncobj_get_fd`,
//! `drm_syncobj_fd_to_handle`).
//!
//! An opaque syncobj fd stands for the syncobj itself: imported into any
//! file it gives a new handle to the same object, so a SIGNAL or RESET
//! through one handle is what waits through the others see. Here it is an
//! empty, sealed, close-on-exec memfd named `virtual-syncobj` (like the
//! kernel's `syncobj_file` it has no contents, and polls always ready);
//! every export makes a new one, as the kernel makes a new file. A
//! process-wide registry maps its inode ([`crate::fds`]) to the syncobj (a
//! strong reference: the fd keeps the syncobj alive) and the device.
//!
//! Import errors are the kernel's: `EINVAL` for an fd that is not open or
//! not a syncobj fd (a sync_file or a dma-buf included). Entries whose fds
//! are all closed are swept lazily, when the registry has grown to twice
//! what the last sweep left (at least [`SWEEP_MIN`] entries).
//!
//! Deviation: a syncobj fd exported by another `VirtualDevice` of the
//! process is `EINVAL` on import (the kernel shares syncobjs between DRM
//! devices; here each device's waits are woken only by its own events).

use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use panthor_kmd::syncobj::SyncobjRef;
use panthor_uapi::errno::Errno;

use crate::fds::{self, FileId};

/// The name every syncobj memfd carries.
pub const MEMFD_NAME: &std::ffi::CStr = c"virtual-syncobj";

/// Registry size below which no sweep runs.
pub const SWEEP_MIN: usize = 32;

struct SyncobjFile {
    device: u64,
    obj: SyncobjRef,
}

struct Registry {
    files: BTreeMap<FileId, SyncobjFile>,
    sweep_at: usize,
}

static FILES: Mutex<Registry> = Mutex::new(Registry {
    files: BTreeMap::new(),
    sweep_at: SWEEP_MIN,
});

fn registry() -> MutexGuard<'static, Registry> {
    FILES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Exports `obj`, a syncobj of a file of `device`: a new close-on-exec fd.
pub fn export(device: u64, obj: SyncobjRef) -> Result<OwnedFd, Errno> {
    let file = fds::sealed_memfd(MEMFD_NAME, 0)?;
    let id = fds::file_id(file.as_fd())?;
    let mut reg = registry();
    let swept = if reg.files.len() >= reg.sweep_at {
        let swept = sweep(&mut reg.files);
        reg.sweep_at = (2 * reg.files.len()).max(SWEEP_MIN);
        swept
    } else {
        Vec::new()
    };
    reg.files.insert(id, SyncobjFile { device, obj });
    drop(reg);
    drop(swept);
    Ok(file)
}

/// The syncobj behind the syncobj fd `fd`, for a file of `device`.
/// `EINVAL` when `fd` is not open or not a syncobj fd of this device.
pub fn import(device: u64, fd: BorrowedFd<'_>) -> Result<SyncobjRef, Errno> {
    let id = fds::file_id(fd).map_err(|_| Errno::EINVAL)?;
    match registry().files.get(&id) {
        Some(f) if f.device == device => Ok(f.obj.clone()),
        _ => Err(Errno::EINVAL),
    }
}

/// Drops every syncobj fd of `device` (the device is going away).
pub fn forget_device(device: u64) {
    let gone: Vec<SyncobjFile> = {
        let mut reg = registry();
        let ids: Vec<FileId> = reg
            .files
            .iter()
            .filter(|(_, f)| f.device == device)
            .map(|(id, _)| *id)
            .collect();
        ids.iter().filter_map(|id| reg.files.remove(id)).collect()
    };
    drop(gone);
}

/// How many syncobj fds of `device` the registry holds (tests).
pub fn registered(device: u64) -> usize {
    registry()
        .files
        .values()
        .filter(|f| f.device == device)
        .count()
}

/// Removes the entries no open fd refers to; returns them, to be dropped
/// after the lock.
fn sweep(files: &mut BTreeMap<FileId, SyncobjFile>) -> Vec<SyncobjFile> {
    let Some(open) = fds::open_counts(|id| files.contains_key(id)) else {
        return Vec::new();
    };
    let dead: Vec<FileId> = files
        .keys()
        .filter(|id| !open.contains_key(id))
        .copied()
        .collect();
    dead.iter().filter_map(|id| files.remove(id)).collect()
}
