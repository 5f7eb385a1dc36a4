//! `VkDevice`: one open panthor file with one VM, whose user VA the
//! device's memory, sparse resources and command streams share; its queues;
//! and "device lost", the state a GPU fault leaves it in.

use std::ffi::{c_char, CStr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ash::vk;
use panthor_uapi::uapi::*;

use crate::backend::File;
use crate::entry::{lookup, Level, Scope};
use crate::guard::{guard, guard_value, guard_void, ErrnoExt, VkError, VkResult};
use crate::handle;
use crate::instance::enabled_extensions;
use crate::physical_device::PhysicalDevice;
use crate::queue::Queue;
use crate::va::VaSpace;
use crate::{chain, vk_bail};

/// VA below this stays unmapped, so that small bogus addresses fault.
const VA_START: u64 = 16 << 20;

pub struct Device {
    pub file: File,
    pub vm: u32,
    pub va: Mutex<VaSpace>,
    pub gpu: drm_panthor_gpu_info,
    /// `MAP_SPARSE` is available (panthor 1.9).
    pub sparse_residency: bool,
    /// Compute shaders run (the virtual Mali's shader cores).
    pub shader_core: bool,
    /// The driver's texel-copy kernel (`meta_copy`), made on first use and
    /// dropped at vkDestroyDevice (its memory holds the device).
    pub meta_copy: Mutex<Option<Arc<crate::pipeline::ComputePipeline>>>,
    /// GEM handles of memory objects, counted (imports can share one).
    pub bo_handles: crate::external_memory::BoHandles,
    /// Nanoseconds per GPU timestamp tick (`timestampPeriod`).
    pub timestamp_period: f32,
    pub api_version: u32,
    pub extensions: Vec<&'static str>,
    pub instance_extensions: Vec<&'static str>,
    lost: AtomicBool,
    /// Group handles of the queues, checked for faults.
    groups: Mutex<Vec<u32>>,
    queues: Mutex<Vec<vk::Queue>>,
}

/// A `VkDevice` handle's object.
pub type DeviceRef = Arc<Device>;

impl Device {
    /// # Safety
    /// `h` is null or a live device of ours.
    pub unsafe fn from_handle<'a>(h: vk::Device) -> VkResult<&'a DeviceRef> {
        // SAFETY: forwarded contract.
        unsafe { handle::dispatchable(h) }
    }

    pub fn caps(&self) -> crate::format::Caps {
        crate::format::Caps {
            sparse_residency: self.sparse_residency,
            shaders: self.shader_core,
        }
    }

    /// Reserves GPU VA.
    pub fn alloc_va(&self, size: u64, align: u64) -> VkResult<u64> {
        self.va
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .alloc(size, align)
            .ok_or_else(|| {
                VkError::new(
                    vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                    format!("no {size:#x} bytes of GPU VA left"),
                )
            })
    }

    pub fn free_va(&self, va: u64, size: u64) {
        self.va
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .free(va, size);
    }

    /// Synchronous VM_BIND of `ops`, all or nothing.
    pub fn bind_now(&self, ops: &[panthor_uapi::device::VmBindOp<'_>], what: &str) -> VkResult<()> {
        self.file
            .vm_bind(self.vm, 0, ops)
            .map_err(|e| VkError::from_errno(e.errno, what))
    }

    pub fn register_group(&self, group: u32) {
        self.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(group);
    }

    /// Marks the device lost (a GPU fault or a kernel error mid-submit).
    pub fn set_lost(&self, why: &str) {
        if !self.lost.swap(true, Ordering::AcqRel) {
            log::error!("device lost: {why}");
        }
    }

    /// `Err(VK_ERROR_DEVICE_LOST)` once any queue's group has faulted or
    /// the VM became unusable; the state is sticky, as the spec requires.
    pub fn check_lost(&self) -> VkResult<()> {
        if !self.lost.load(Ordering::Acquire) {
            let groups = self
                .groups
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            for g in groups {
                let mut s = drm_panthor_group_get_state {
                    group_handle: g,
                    ..Default::default()
                };
                match self.file.group_get_state(&mut s) {
                    Ok(()) if s.state == 0 => {}
                    Ok(()) => self.set_lost(&format!(
                        "group {g} state {:#x} (fatal queues {:#x})",
                        s.state, s.fatal_queues
                    )),
                    Err(e) => self.set_lost(&format!("GROUP_GET_STATE({g}): {e}")),
                }
            }
            let mut vm = drm_panthor_vm_get_state {
                vm_id: self.vm,
                state: 0,
            };
            match self.file.vm_get_state(&mut vm) {
                Ok(()) if vm.state == DRM_PANTHOR_VM_STATE_USABLE => {}
                Ok(()) => self.set_lost("the VM is unusable (a GPU page fault)"),
                Err(e) => self.set_lost(&format!("VM_GET_STATE: {e}")),
            }
        }
        if self.lost.load(Ordering::Acquire) {
            vk_bail!(vk::Result::ERROR_DEVICE_LOST, "the device was lost earlier");
        }
        Ok(())
    }

    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    fn scope(&self) -> Scope<'_> {
        Scope {
            level: Level::Device,
            version: self.api_version,
            extensions: &self.instance_extensions,
            device_extensions: &self.extensions,
        }
    }

    pub fn queues(&self) -> Vec<vk::Queue> {
        self.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until every queue is idle.
    pub fn wait_idle(&self) -> VkResult<()> {
        for q in self.queues() {
            // SAFETY: the device's own queue handles live as long as it.
            let q = unsafe { Queue::from_handle(q) }?;
            q.wait_idle()?;
        }
        self.check_lost()
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.file.vm_destroy(&drm_panthor_vm_destroy {
            id: self.vm,
            pad: 0,
        });
    }
}

/// Features the device offers, checked against what the application asks.
fn check_features(pd: &PhysicalDevice, asked: &vk::PhysicalDeviceFeatures) -> VkResult<()> {
    const N: usize = std::mem::size_of::<vk::PhysicalDeviceFeatures>() / 4;
    let have = pd.features();
    // SAFETY: VkPhysicalDeviceFeatures is N VkBool32s in a row (repr(C), no padding).
    let (have, asked) = unsafe {
        (
            std::slice::from_raw_parts(&have as *const _ as *const vk::Bool32, N),
            std::slice::from_raw_parts(asked as *const _ as *const vk::Bool32, N),
        )
    };
    if let Some(i) = (0..N).find(|&i| asked[i] != 0 && have[i] == 0) {
        vk_bail!(
            vk::Result::ERROR_FEATURE_NOT_PRESENT,
            "feature #{i} of VkPhysicalDeviceFeatures is not supported"
        );
    }
    Ok(())
}

pub unsafe extern "system" fn create_device(
    pd: vk::PhysicalDevice,
    info: *const vk::DeviceCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Device,
) -> vk::Result {
    guard("vkCreateDevice", || {
        // SAFETY: the handle is ours (valid usage).
        let pd = unsafe { PhysicalDevice::from_handle(pd) }?;
        // SAFETY: the loader passes a valid create info.
        let info = unsafe { handle::input(info, "pCreateInfo") }?;
        // SAFETY: the extension array is valid.
        let extensions = unsafe {
            enabled_extensions(
                info.pp_enabled_extension_names,
                info.enabled_extension_count,
                &pd.extensions(),
            )
        }?;
        // SAFETY: pEnabledFeatures is null or valid.
        if let Some(f) = unsafe { info.p_enabled_features.as_ref() } {
            check_features(pd, f)?;
        }
        // SAFETY: the chain is valid.
        if let Some(f2) = unsafe { chain::find::<vk::PhysicalDeviceFeatures2<'_>>(info.p_next) } {
            check_features(pd, &f2.features)?;
        }
        // SAFETY: the queue create infos are valid.
        let queue_infos =
            unsafe { handle::slice(info.p_queue_create_infos, info.queue_create_info_count) };
        let families = pd.queue_families();
        for q in queue_infos {
            let Some(fam) = families.get(q.queue_family_index as usize) else {
                vk_bail!(
                    vk::Result::ERROR_INITIALIZATION_FAILED,
                    "no queue family {}",
                    q.queue_family_index
                );
            };
            if q.queue_count == 0 || q.queue_count > fam.queue_count {
                vk_bail!(
                    vk::Result::ERROR_INITIALIZATION_FAILED,
                    "{} queues asked of family {} (it has {})",
                    q.queue_count,
                    q.queue_family_index,
                    fam.queue_count
                );
            }
        }

        let file = pd.adapter.open()?;
        let mut vm = drm_panthor_vm_create::default();
        file.vm_create(&mut vm).vk("VM_CREATE")?;
        let dev = Arc::new(Device {
            file,
            vm: vm.id,
            va: Mutex::new(VaSpace::new(VA_START, vm.user_va_range)),
            gpu: pd.gpu,
            sparse_residency: pd.sparse_residency,
            shader_core: pd.shader_core(),
            meta_copy: Mutex::new(None),
            bo_handles: Default::default(),
            timestamp_period: pd.timestamp_period(),
            api_version: pd.device_version(),
            extensions,
            instance_extensions: pd.instance_extensions.clone(),
            lost: AtomicBool::new(false),
            groups: Mutex::new(Vec::new()),
            queues: Mutex::new(Vec::new()),
        });
        let mut queues = Vec::new();
        for q in queue_infos {
            for index in 0..q.queue_count {
                let queue = Queue::new(dev.clone(), q.queue_family_index, index, q.flags)?;
                queues.push(handle::new_dispatchable::<_, vk::Queue>(queue));
            }
        }
        *dev.queues.lock().unwrap_or_else(|e| e.into_inner()) = queues;
        log::info!(
            "device on {}: VM {} with {:#x} bytes of user VA, extensions {:?}",
            pd.name,
            dev.vm,
            vm.user_va_range,
            dev.extensions
        );
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_dispatchable(dev)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_device(
    device: vk::Device,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyDevice", || {
        // SAFETY: the device is ours and the application is done with it.
        let Some(dev) = (unsafe { handle::free_dispatchable::<DeviceRef, _>(device) }) else {
            return Ok(());
        };
        // Finish what is in flight, so no job outlives its memory.
        let _ = dev.wait_idle();
        drop(
            dev.meta_copy
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        for q in std::mem::take(&mut *dev.queues.lock().unwrap_or_else(|e| e.into_inner())) {
            // SAFETY: made by new_dispatchable in create_device.
            drop(unsafe { handle::free_dispatchable::<Queue, _>(q) });
        }
        Ok(())
    })
}

pub unsafe extern "system" fn get_device_proc_addr(
    device: vk::Device,
    name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    guard_value("vkGetDeviceProcAddr", None, || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        if name.is_null() {
            return Ok(None);
        }
        // SAFETY: name is NUL-terminated (valid usage).
        let Ok(name) = unsafe { CStr::from_ptr(name) }.to_str() else {
            return Ok(None);
        };
        Ok(lookup(name, &dev.scope()))
    })
}

fn find_queue(
    dev: &Device,
    family: u32,
    index: u32,
    flags: vk::DeviceQueueCreateFlags,
) -> VkResult<vk::Queue> {
    for q in dev.queues() {
        // SAFETY: the device's own queue handles.
        let queue = unsafe { Queue::from_handle(q) }?;
        if queue.family == family && queue.index == index && queue.flags == flags {
            return Ok(q);
        }
    }
    vk_bail!(
        vk::Result::ERROR_UNKNOWN,
        "no queue {index} of family {family} was created"
    )
}

pub unsafe extern "system" fn get_device_queue(
    device: vk::Device,
    family: u32,
    index: u32,
    out: *mut vk::Queue,
) {
    guard_void("vkGetDeviceQueue", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        let q = find_queue(dev, family, index, vk::DeviceQueueCreateFlags::empty())?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, q) }
    })
}

pub unsafe extern "system" fn get_device_queue2(
    device: vk::Device,
    info: *const vk::DeviceQueueInfo2<'_>,
    out: *mut vk::Queue,
) {
    guard_void("vkGetDeviceQueue2", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        // SAFETY: info is valid.
        let info = unsafe { handle::input(info, "pQueueInfo") }?;
        let q = find_queue(dev, info.queue_family_index, info.queue_index, info.flags);
        // The spec: a queue not created with these flags is VK_NULL_HANDLE.
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, q.unwrap_or(vk::Queue::null())) }
    })
}

pub unsafe extern "system" fn get_device_group_peer_memory_features(
    _device: vk::Device,
    heap: u32,
    local: u32,
    remote: u32,
    out: *mut vk::PeerMemoryFeatureFlags,
) {
    guard_void("vkGetDeviceGroupPeerMemoryFeatures", || {
        // Groups have one device, and the spec requires local != remote.
        log::error!(
            "vkGetDeviceGroupPeerMemoryFeatures(heap {heap}, {local} -> {remote}): \
             the device group has one device, so no peer exists"
        );
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, vk::PeerMemoryFeatureFlags::empty()) }
    })
}

pub unsafe extern "system" fn device_wait_idle(device: vk::Device) -> vk::Result {
    guard("vkDeviceWaitIdle", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        dev.wait_idle()?;
        Ok(vk::Result::SUCCESS)
    })
}
