//! `VkFence`: a binary DRM syncobj. A submission that carries the fence
//! attaches the kernel's job fence to it; waits are syncobj waits.
//!
//! A fence's payload can be replaced by an import (`external_sync`):
//! permanently (the syncobj changes) or temporarily (another syncobj serves
//! until the next reset restores the permanent one).

use std::sync::Mutex;

use ash::vk;
use panthor_uapi::device::{SyncobjWaitFlags, DRM_SYNCOBJ_CREATE_SIGNALED};
use panthor_uapi::Errno;

use crate::device::{Device, DeviceRef};
use crate::drm_sync::deadline;
use crate::guard::{guard, guard_void, ErrnoExt, VkResult};
use crate::handle;

pub struct Fence {
    pub dev: DeviceRef,
    payload: Mutex<Payload>,
}

/// The syncobjs behind a fence.
#[derive(Clone, Copy)]
pub struct Payload {
    pub permanent: u32,
    /// An imported payload in use until the next reset.
    pub temporary: Option<u32>,
}

impl Payload {
    /// The syncobj that operations use now.
    pub fn active(&self) -> u32 {
        self.temporary.unwrap_or(self.permanent)
    }
}

impl Fence {
    /// # Safety
    /// `h` is null or a live fence of ours.
    pub unsafe fn from_handle<'a>(h: vk::Fence) -> VkResult<&'a Fence> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    /// The syncobj that waits and signals use now.
    pub fn syncobj(&self) -> u32 {
        self.payload().active()
    }

    pub fn payload(&self) -> std::sync::MutexGuard<'_, Payload> {
        self.payload.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs `syncobj` as the permanent or the temporary payload,
    /// destroying the one it replaces.
    pub fn replace(&self, syncobj: u32, temporary: bool) {
        let mut p = self.payload();
        let old = if temporary {
            p.temporary.replace(syncobj)
        } else {
            Some(std::mem::replace(&mut p.permanent, syncobj))
        };
        if let Some(old) = old {
            self.destroy(old);
        }
    }

    /// Drops a temporary payload (the permanent one serves again) and
    /// returns the permanent syncobj.
    pub fn restore(&self) -> u32 {
        let mut p = self.payload();
        if let Some(t) = p.temporary.take() {
            self.destroy(t);
        }
        p.permanent
    }

    fn destroy(&self, syncobj: u32) {
        if let Err(e) = self.dev.file.syncobj_destroy(syncobj) {
            log::error!("SYNCOBJ_DESTROY({syncobj}): {e}");
        }
    }
}

impl Drop for Fence {
    fn drop(&mut self) {
        let p = *self.payload();
        for s in std::iter::once(p.permanent).chain(p.temporary) {
            self.destroy(s);
        }
    }
}

/// Waits for syncobjs; `TIMEOUT` when the deadline passes first.
pub fn wait_syncobjs(
    dev: &Device,
    syncobjs: &[u32],
    all: bool,
    timeout_ns: u64,
) -> VkResult<vk::Result> {
    if syncobjs.is_empty() {
        return Ok(vk::Result::SUCCESS);
    }
    // Unsubmitted fences are waited for, not refused.
    let mut flags = SyncobjWaitFlags::WAIT_FOR_SUBMIT;
    if all {
        flags |= SyncobjWaitFlags::WAIT_ALL;
    }
    match dev.file.syncobj_wait(syncobjs, deadline(timeout_ns), flags) {
        Ok(_) => {
            dev.check_lost()?;
            Ok(vk::Result::SUCCESS)
        }
        Err(Errno::ETIME) => {
            dev.check_lost()?;
            Ok(vk::Result::TIMEOUT)
        }
        Err(e) => Err(e).vk("SYNCOBJ_WAIT"),
    }
}

pub unsafe extern "system" fn create_fence(
    device: vk::Device,
    info: *const vk::FenceCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Fence,
) -> vk::Result {
    guard("vkCreateFence", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pCreateInfo") }?;
        let flags = if info.flags.contains(vk::FenceCreateFlags::SIGNALED) {
            DRM_SYNCOBJ_CREATE_SIGNALED
        } else {
            0
        };
        let syncobj = dev.file.syncobj_create(flags).vk("SYNCOBJ_CREATE")?;
        let fence = Fence {
            dev: dev.clone(),
            payload: Mutex::new(Payload {
                permanent: syncobj,
                temporary: None,
            }),
        };
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(fence)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_fence(
    _device: vk::Device,
    fence: vk::Fence,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyFence", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<Fence, _>(fence) });
        Ok(())
    })
}

/// The syncobjs behind fence handles.
///
/// # Safety
/// `fences` holds `count` live fences of ours.
unsafe fn syncobjs(fences: *const vk::Fence, count: u32) -> VkResult<Vec<u32>> {
    // SAFETY: the caller's contract.
    unsafe { handle::slice(fences, count) }
        .iter()
        // SAFETY: the caller's contract.
        .map(|&f| unsafe { Fence::from_handle(f) }.map(|f| f.syncobj()))
        .collect()
}

pub unsafe extern "system" fn reset_fences(
    device: vk::Device,
    count: u32,
    fences: *const vk::Fence,
) -> vk::Result {
    guard("vkResetFences", || {
        // SAFETY: the device and fences are ours.
        let dev = unsafe { Device::from_handle(device) }?;
        // A temporary payload goes first; the reset is of the permanent one.
        // SAFETY: the fences are ours (valid usage).
        let handles = unsafe { handle::slice(fences, count) }
            .iter()
            // SAFETY: as above.
            .map(|&f| unsafe { Fence::from_handle(f) }.map(|f| f.restore()))
            .collect::<VkResult<Vec<u32>>>()?;
        dev.file.syncobj_reset(&handles).vk("SYNCOBJ_RESET")?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn get_fence_status(device: vk::Device, fence: vk::Fence) -> vk::Result {
    guard("vkGetFenceStatus", || {
        // SAFETY: the device and fence are ours.
        let (dev, fence) = unsafe { (Device::from_handle(device)?, Fence::from_handle(fence)?) };
        match dev
            .file
            .syncobj_wait(&[fence.syncobj()], 0, SyncobjWaitFlags::empty())
        {
            Ok(_) => {
                dev.check_lost()?;
                Ok(vk::Result::SUCCESS)
            }
            // ETIME: pending; EINVAL: no fence attached yet (reset, unsubmitted).
            Err(Errno::ETIME) | Err(Errno::EINVAL) => {
                dev.check_lost()?;
                Ok(vk::Result::NOT_READY)
            }
            Err(e) => Err(e).vk("SYNCOBJ_WAIT"),
        }
    })
}

pub unsafe extern "system" fn wait_for_fences(
    device: vk::Device,
    count: u32,
    fences: *const vk::Fence,
    wait_all: vk::Bool32,
    timeout: u64,
) -> vk::Result {
    guard("vkWaitForFences", || {
        // SAFETY: the device and fences are ours.
        let dev = unsafe { Device::from_handle(device) }?;
        // SAFETY: as above.
        let handles = unsafe { syncobjs(fences, count) }?;
        wait_syncobjs(dev, &handles, wait_all != 0, timeout)
    })
}
