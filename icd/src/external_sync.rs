//! External fences and semaphores (`VK_KHR_external_fence_fd`,
//! `VK_KHR_external_semaphore_fd`): payloads are DRM syncobjs, so the two
//! fd kinds are the kernel's own.
//!
//! - `OPAQUE_FD` is a syncobj fd: the importer gets the same syncobj
//!   (reference transference), permanently or until the next wait/reset.
//! - `SYNC_FD` is a sync_file: a copy of the fence the payload holds now
//!   (copy transference, temporary imports only, binary semaphores only).
//!   Exporting one acts on the source as a wait (semaphore) or a reset
//!   (fence), as the spec says.
//!
//! A sync_file is taken from a point through a scratch binary syncobj
//! (TRANSFER with WAIT_FOR_SUBMIT, then EXPORT_SYNC_FILE), which also waits
//! for a signal still in a queue's deferred work to reach the kernel.

use std::os::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};

use ash::vk;
use panthor_uapi::device::{
    SyncobjWaitFlags, DRM_SYNCOBJ_CREATE_SIGNALED, DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
    DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
};
use panthor_uapi::Errno;

use crate::device::Device;
use crate::fence::Fence;
use crate::guard::{guard, guard_void, VkError, VkResult};
use crate::semaphore::Semaphore;
use crate::{chain, handle, vk_bail};

const FENCE_TYPES: vk::ExternalFenceHandleTypeFlags = vk::ExternalFenceHandleTypeFlags::from_raw(
    vk::ExternalFenceHandleTypeFlags::OPAQUE_FD.as_raw()
        | vk::ExternalFenceHandleTypeFlags::SYNC_FD.as_raw(),
);

const SEMAPHORE_TYPES: vk::ExternalSemaphoreHandleTypeFlags =
    vk::ExternalSemaphoreHandleTypeFlags::from_raw(
        vk::ExternalSemaphoreHandleTypeFlags::OPAQUE_FD.as_raw()
            | vk::ExternalSemaphoreHandleTypeFlags::SYNC_FD.as_raw(),
    );

/// The handle types a semaphore of this kind can share: timeline
/// semaphores have no single fence to put in a sync_file.
fn semaphore_types(timeline: bool) -> vk::ExternalSemaphoreHandleTypeFlags {
    if timeline {
        vk::ExternalSemaphoreHandleTypeFlags::OPAQUE_FD
    } else {
        SEMAPHORE_TYPES
    }
}

/// An fd error the spec lets export calls return.
fn export_error(e: Errno, what: &str) -> VkError {
    let result = match e {
        Errno::ENOMEM => vk::Result::ERROR_OUT_OF_HOST_MEMORY,
        _ => vk::Result::ERROR_TOO_MANY_OBJECTS,
    };
    VkError::new(result, format!("{what}: {e}"))
}

/// An fd error import calls return.
fn import_error(e: Errno, what: &str) -> VkError {
    VkError::from_errno_or(e, what, vk::Result::ERROR_INVALID_EXTERNAL_HANDLE)
}

/// A sync_file of the fence at `point` of `syncobj` (0: its binary fence).
fn export_sync_file(dev: &Device, syncobj: u32, point: u64) -> VkResult<OwnedFd> {
    let file = &dev.file;
    let scratch = file
        .syncobj_create(0)
        .map_err(|e| export_error(e, "SYNCOBJ_CREATE"))?;
    let flags = SyncobjWaitFlags::WAIT_FOR_SUBMIT.bits();
    let fd = file
        .syncobj_transfer(syncobj, point, scratch, 0, flags)
        .map_err(|e| export_error(e, "SYNCOBJ_TRANSFER of the payload's fence"))
        .and_then(|()| {
            file.syncobj_handle_to_fd(scratch, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE)
                .map_err(|e| export_error(e, "sync_file export"))
        });
    let _ = file.syncobj_destroy(scratch);
    fd
}

/// A new syncobj holding the fence of a sync_file (-1: already signalled).
fn import_sync_file(dev: &Device, fd: i32) -> VkResult<u32> {
    if fd == -1 {
        return dev
            .file
            .syncobj_create(DRM_SYNCOBJ_CREATE_SIGNALED)
            .map_err(|e| import_error(e, "SYNCOBJ_CREATE"));
    }
    let syncobj = dev
        .file
        .syncobj_create(0)
        .map_err(|e| import_error(e, "SYNCOBJ_CREATE"))?;
    // SAFETY: the application passes an open fd (valid usage), kept open
    // during the call.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let flags = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE;
    match dev.file.syncobj_fd_to_handle(borrowed, flags, syncobj) {
        Ok(_) => Ok(syncobj),
        Err(e) => {
            let _ = dev.file.syncobj_destroy(syncobj);
            Err(import_error(e, "sync_file import"))
        }
    }
}

/// The syncobj behind an opaque fd, as a new handle.
fn import_opaque(dev: &Device, fd: i32) -> VkResult<u32> {
    if fd < 0 {
        vk_bail!(
            vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
            "import of fd {fd}"
        );
    }
    // SAFETY: the application passes an open fd (valid usage).
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    dev.file
        .syncobj_fd_to_handle(borrowed, 0, 0)
        .map_err(|e| import_error(e, "syncobj import"))
}

/// Imports `fd` as a syncobj of `kind` (opaque or sync_file); on success
/// the fd is ours and closed, as the spec says.
fn import_fd(dev: &Device, fd: i32, sync_file: bool) -> VkResult<u32> {
    let syncobj = if sync_file {
        import_sync_file(dev, fd)?
    } else {
        import_opaque(dev, fd)?
    };
    if fd >= 0 {
        // SAFETY: a successful import transfers the fd to us; closed once.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    Ok(syncobj)
}

fn give_fd(out: *mut i32, fd: OwnedFd) -> VkResult<vk::Result> {
    // SAFETY: out is valid for a write (valid usage); the fd is the
    // application's from here.
    unsafe { handle::out(out, fd.into_raw_fd()) }?;
    Ok(vk::Result::SUCCESS)
}

pub unsafe extern "system" fn get_external_fence_properties(
    _pd: vk::PhysicalDevice,
    info: *const vk::PhysicalDeviceExternalFenceInfo<'_>,
    out: *mut vk::ExternalFenceProperties<'_>,
) {
    guard_void("vkGetPhysicalDeviceExternalFenceProperties", || {
        // SAFETY: info and out are valid (valid usage).
        let (info, out) = unsafe { (handle::input(info, "pExternalFenceInfo")?, &mut *out) };
        let ok = !info.handle_type.is_empty() && FENCE_TYPES.contains(info.handle_type);
        let (types, features) = if ok {
            (
                FENCE_TYPES,
                vk::ExternalFenceFeatureFlags::EXPORTABLE
                    | vk::ExternalFenceFeatureFlags::IMPORTABLE,
            )
        } else {
            Default::default()
        };
        out.export_from_imported_handle_types = types;
        out.compatible_handle_types = types;
        out.external_fence_features = features;
        Ok(())
    })
}

pub unsafe extern "system" fn get_external_semaphore_properties(
    _pd: vk::PhysicalDevice,
    info: *const vk::PhysicalDeviceExternalSemaphoreInfo<'_>,
    out: *mut vk::ExternalSemaphoreProperties<'_>,
) {
    guard_void("vkGetPhysicalDeviceExternalSemaphoreProperties", || {
        // SAFETY: info and out are valid (valid usage).
        let (info, out) = unsafe { (handle::input(info, "pExternalSemaphoreInfo")?, &mut *out) };
        // SAFETY: the chain is valid.
        let timeline = unsafe { chain::find::<vk::SemaphoreTypeCreateInfo<'_>>(info.p_next) }
            .is_some_and(|t| t.semaphore_type == vk::SemaphoreType::TIMELINE);
        let supported = semaphore_types(timeline);
        let ok = !info.handle_type.is_empty() && supported.contains(info.handle_type);
        let (types, features) = if ok {
            (
                supported,
                vk::ExternalSemaphoreFeatureFlags::EXPORTABLE
                    | vk::ExternalSemaphoreFeatureFlags::IMPORTABLE,
            )
        } else {
            Default::default()
        };
        out.export_from_imported_handle_types = types;
        out.compatible_handle_types = types;
        out.external_semaphore_features = features;
        Ok(())
    })
}

pub unsafe extern "system" fn get_fence_fd(
    _device: vk::Device,
    info: *const vk::FenceGetFdInfoKHR<'_>,
    out: *mut i32,
) -> vk::Result {
    guard("vkGetFenceFdKHR", || {
        // SAFETY: info is valid and names a fence of ours (valid usage).
        let info = unsafe { handle::input(info, "pGetFdInfo") }?;
        // SAFETY: as above.
        let fence = unsafe { Fence::from_handle(info.fence) }?;
        let dev = &fence.dev;
        match info.handle_type {
            vk::ExternalFenceHandleTypeFlags::OPAQUE_FD => {
                let syncobj = fence.payload().permanent;
                let fd = dev
                    .file
                    .syncobj_handle_to_fd(syncobj, 0)
                    .map_err(|e| export_error(e, "syncobj export"))?;
                give_fd(out, fd)
            }
            vk::ExternalFenceHandleTypeFlags::SYNC_FD => {
                let fd = export_sync_file(dev, fence.syncobj(), 0)?;
                // Copy transference: the fence is reset, as by vkResetFences.
                let permanent = fence.restore();
                if let Err(e) = dev.file.syncobj_reset(&[permanent]) {
                    log::error!("SYNCOBJ_RESET after a sync_file export: {e}");
                }
                give_fd(out, fd)
            }
            other => Err(VkError::new(
                vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
                format!("fence handle type {other:?} is not supported"),
            )),
        }
    })
}

pub unsafe extern "system" fn import_fence_fd(
    _device: vk::Device,
    info: *const vk::ImportFenceFdInfoKHR<'_>,
) -> vk::Result {
    guard("vkImportFenceFdKHR", || {
        // SAFETY: info is valid and names a fence of ours (valid usage).
        let info = unsafe { handle::input(info, "pImportFenceFdInfo") }?;
        // SAFETY: as above.
        let fence = unsafe { Fence::from_handle(info.fence) }?;
        let temporary = info.flags.contains(vk::FenceImportFlags::TEMPORARY);
        let sync_file = match info.handle_type {
            vk::ExternalFenceHandleTypeFlags::OPAQUE_FD => false,
            vk::ExternalFenceHandleTypeFlags::SYNC_FD if temporary => true,
            other => vk_bail!(
                vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
                "fence import of {other:?} (temporary: {temporary}) is not supported"
            ),
        };
        let syncobj = import_fd(&fence.dev, info.fd, sync_file)?;
        fence.replace(syncobj, temporary);
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn get_semaphore_fd(
    _device: vk::Device,
    info: *const vk::SemaphoreGetFdInfoKHR<'_>,
    out: *mut i32,
) -> vk::Result {
    guard("vkGetSemaphoreFdKHR", || {
        // SAFETY: info is valid and names a semaphore of ours (valid usage).
        let info = unsafe { handle::input(info, "pGetFdInfo") }?;
        // SAFETY: as above.
        let sem = unsafe { Semaphore::from_handle(info.semaphore) }?;
        let dev = &sem.dev;
        if !semaphore_types(sem.timeline).contains(info.handle_type) || info.handle_type.is_empty()
        {
            vk_bail!(
                vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
                "semaphore handle type {:?} is not supported (timeline: {})",
                info.handle_type,
                sem.timeline
            );
        }
        if info.handle_type == vk::ExternalSemaphoreHandleTypeFlags::OPAQUE_FD {
            sem.share();
            let fd = dev
                .file
                .syncobj_handle_to_fd(sem.syncobj(), 0)
                .map_err(|e| export_error(e, "syncobj export"))?;
            return give_fd(out, fd);
        }
        // SYNC_FD: the fence of the payload a wait would see, and the
        // semaphore is waited on (unsignalled).
        let (syncobj, point, shared) = {
            let mut p = sem.payload();
            match sem.take_temporary(&mut p) {
                Some(t) => (t, 0, false),
                None if p.shared => (p.permanent, 0, true),
                None => (p.permanent, sem.last_binary_signal(), false),
            }
        };
        let fd = export_sync_file(dev, syncobj, point)?;
        if shared {
            if let Err(e) = dev.file.syncobj_reset(&[syncobj]) {
                log::error!("SYNCOBJ_RESET after a sync_file export: {e}");
            }
        }
        give_fd(out, fd)
    })
}

pub unsafe extern "system" fn import_semaphore_fd(
    _device: vk::Device,
    info: *const vk::ImportSemaphoreFdInfoKHR<'_>,
) -> vk::Result {
    guard("vkImportSemaphoreFdKHR", || {
        // SAFETY: info is valid and names a semaphore of ours (valid usage).
        let info = unsafe { handle::input(info, "pImportSemaphoreFdInfo") }?;
        // SAFETY: as above.
        let sem = unsafe { Semaphore::from_handle(info.semaphore) }?;
        let dev = &sem.dev;
        let temporary = info.flags.contains(vk::SemaphoreImportFlags::TEMPORARY);
        let kind = info.handle_type;
        let sync_file = kind == vk::ExternalSemaphoreHandleTypeFlags::SYNC_FD;
        if kind.is_empty()
            || !semaphore_types(sem.timeline).contains(kind)
            || (sem.timeline && temporary)
        {
            vk_bail!(
                vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
                "semaphore import of {kind:?} (timeline: {}, temporary: {temporary})",
                sem.timeline
            );
        }
        let syncobj = import_fd(dev, info.fd, sync_file)?;
        let counting = {
            let p = sem.payload();
            !p.shared && p.temporary.is_none()
        };
        if sync_file && counting {
            // A copy of one fence: it becomes the next counted signal, so
            // the next wait (and only it, as with a temporary payload)
            // sees it, and nothing is left to destroy later.
            let point = sem.next_binary_signal();
            let r = dev
                .file
                .syncobj_transfer(syncobj, 0, sem.syncobj(), point, 0)
                .map_err(|e| import_error(e, "SYNCOBJ_TRANSFER of the imported fence"));
            let _ = dev.file.syncobj_destroy(syncobj);
            return r.map(|()| vk::Result::SUCCESS);
        }
        sem.replace(syncobj, temporary || sync_file);
        Ok(vk::Result::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_semaphores_share_only_opaque_fds() {
        assert_eq!(
            semaphore_types(true),
            vk::ExternalSemaphoreHandleTypeFlags::OPAQUE_FD
        );
        assert!(semaphore_types(false).contains(vk::ExternalSemaphoreHandleTypeFlags::SYNC_FD));
    }

    #[test]
    fn fd_errors_map_to_the_spec_results() {
        assert_eq!(
            export_error(Errno::EMFILE, "x").result,
            vk::Result::ERROR_TOO_MANY_OBJECTS
        );
        assert_eq!(
            import_error(Errno::EINVAL, "x").result,
            vk::Result::ERROR_INVALID_EXTERNAL_HANDLE
        );
        assert_eq!(
            import_error(Errno::ENOMEM, "x").result,
            vk::Result::ERROR_OUT_OF_DEVICE_MEMORY
        );
    }
}
