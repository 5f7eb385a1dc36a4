//! `VkInstance`: the enabled API version and extensions, and the physical
//! devices (one per adapter that could be probed).

use std::ffi::{c_char, CStr};

use ash::vk;

use crate::backend::Adapter;
use crate::entry::{Level, Scope};
use crate::guard::{guard, guard_void, VkError, VkResult};
use crate::handle::{self, fill_array};
use crate::physical_device::{self, PhysicalDevice};
use crate::vk_tables;

/// The Vulkan version this driver implements.
pub const DRIVER_API_VERSION: u32 = vk::make_api_version(0, 1, 1, HEADER_PATCH);
/// The registry (vk.xml) the tables come from: Debian's libvulkan-dev 1.3.239.
pub const HEADER_PATCH: u32 = 239;

/// Instance extensions we support.
pub const INSTANCE_EXTENSIONS: &[&str] = &[
    "VK_KHR_device_group_creation",
    "VK_KHR_external_fence_capabilities",
    "VK_KHR_external_memory_capabilities",
    "VK_KHR_external_semaphore_capabilities",
    "VK_KHR_get_physical_device_properties2",
];

pub struct Instance {
    /// `apiVersion` as the application asked, capped at ours (major.minor).
    pub api_version: u32,
    pub extensions: Vec<&'static str>,
    pub physical_devices: Vec<vk::PhysicalDevice>,
}

impl Instance {
    /// # Safety
    /// `h` is null or a live instance of ours.
    pub unsafe fn from_handle<'a>(h: vk::Instance) -> VkResult<&'a Instance> {
        // SAFETY: forwarded contract.
        unsafe { handle::dispatchable(h) }
    }

    /// What `vkGetInstanceProcAddr` answers at `level`.
    pub fn scope(&self, level: Level) -> Scope<'_> {
        Scope {
            level,
            version: self.api_version,
            extensions: &self.extensions,
            device_extensions: physical_device::DEVICE_EXTENSIONS_ALL,
        }
    }
}

/// `min(asked, ours)` by major.minor (a 0 `apiVersion` means 1.0).
pub fn effective_version(asked: u32) -> u32 {
    let asked = if asked == 0 {
        vk::API_VERSION_1_0
    } else {
        asked
    };
    let key = |v: u32| (vk::api_version_major(v), vk::api_version_minor(v));
    if key(asked) < key(DRIVER_API_VERSION) {
        vk::make_api_version(
            0,
            vk::api_version_major(asked),
            vk::api_version_minor(asked),
            0,
        )
    } else {
        DRIVER_API_VERSION
    }
}

/// Extension names from a create info, each checked against `supported`.
///
/// # Safety
/// `names` points to `count` NUL-terminated strings.
pub unsafe fn enabled_extensions(
    names: *const *const c_char,
    count: u32,
    supported: &[&'static str],
) -> VkResult<Vec<&'static str>> {
    let mut out = Vec::new();
    // SAFETY: the caller guarantees count valid string pointers.
    for &p in unsafe { handle::slice(names, count) } {
        // SAFETY: each is a NUL-terminated string (the caller's contract).
        let name = unsafe { CStr::from_ptr(p) }.to_string_lossy();
        match supported.iter().find(|s| **s == name) {
            Some(s) => {
                if !out.contains(s) {
                    out.push(*s)
                }
            }
            None => crate::vk_bail!(
                vk::Result::ERROR_EXTENSION_NOT_PRESENT,
                "extension {name} is not supported"
            ),
        }
    }
    Ok(out)
}

/// `VkExtensionProperties` for names we support, with the registry's spec
/// versions.
pub fn extension_properties(names: &[&str]) -> Vec<vk::ExtensionProperties> {
    names
        .iter()
        .map(|n| {
            let mut p = vk::ExtensionProperties {
                spec_version: vk_tables::extension(n).map_or(1, |e| e.spec_version),
                ..Default::default()
            };
            for (dst, src) in p.extension_name.iter_mut().zip(n.bytes()) {
                *dst = src as c_char;
            }
            p
        })
        .collect()
}

pub unsafe extern "system" fn create_instance(
    info: *const vk::InstanceCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Instance,
) -> vk::Result {
    guard("vkCreateInstance", || {
        // SAFETY: the loader passes a valid create info.
        let info = unsafe { handle::input(info, "pCreateInfo") }?;
        // SAFETY: pApplicationInfo is null or valid.
        let asked = unsafe { info.p_application_info.as_ref() }.map_or(0, |a| a.api_version);
        // SAFETY: the create info's extension array is valid.
        let extensions = unsafe {
            enabled_extensions(
                info.pp_enabled_extension_names,
                info.enabled_extension_count,
                INSTANCE_EXTENSIONS,
            )
        }?;
        let api_version = effective_version(asked);
        let mut physical_devices = Vec::new();
        for adapter in Adapter::discover() {
            match PhysicalDevice::probe(adapter.clone(), api_version, extensions.clone()) {
                Ok(pd) => physical_devices.push(handle::new_dispatchable(pd)),
                Err(e) => log::warn!("skipping {adapter:?}: {}", e.why),
            }
        }
        log::info!(
            "instance: Vulkan {}.{}, {} device(s), extensions {extensions:?}",
            vk::api_version_major(api_version),
            vk::api_version_minor(api_version),
            physical_devices.len()
        );
        let inst = Instance {
            api_version,
            extensions,
            physical_devices,
        };
        // SAFETY: out is valid for a write (the loader's contract).
        unsafe { handle::out(out, handle::new_dispatchable(inst)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_instance(
    instance: vk::Instance,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyInstance", || {
        // SAFETY: the instance is ours and the application is done with it.
        if let Some(inst) = unsafe { handle::free_dispatchable::<Instance, _>(instance) } {
            for pd in inst.physical_devices {
                // SAFETY: made by new_dispatchable in create_instance; devices are gone.
                drop(unsafe { handle::free_dispatchable::<PhysicalDevice, _>(pd) });
            }
        }
        Ok(())
    })
}

pub unsafe extern "system" fn enumerate_instance_version(out: *mut u32) -> vk::Result {
    guard("vkEnumerateInstanceVersion", || {
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, DRIVER_API_VERSION) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn enumerate_instance_extension_properties(
    layer: *const c_char,
    count: *mut u32,
    props: *mut vk::ExtensionProperties,
) -> vk::Result {
    guard("vkEnumerateInstanceExtensionProperties", || {
        if !layer.is_null() {
            return Err(VkError::new(
                vk::Result::ERROR_LAYER_NOT_PRESENT,
                "the driver has no layers",
            ));
        }
        let all = extension_properties(INSTANCE_EXTENSIONS);
        // SAFETY: count/props follow the two-call idiom.
        Ok(unsafe { handle::write_array(count, props, &all) })
    })
}

pub unsafe extern "system" fn enumerate_instance_layer_properties(
    count: *mut u32,
    _props: *mut vk::LayerProperties,
) -> vk::Result {
    guard("vkEnumerateInstanceLayerProperties", || {
        // SAFETY: count is valid.
        unsafe { handle::out(count, 0) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn enumerate_physical_devices(
    instance: vk::Instance,
    count: *mut u32,
    out: *mut vk::PhysicalDevice,
) -> vk::Result {
    guard("vkEnumeratePhysicalDevices", || {
        // SAFETY: the instance is ours.
        let inst = unsafe { Instance::from_handle(instance) }?;
        // SAFETY: count/out follow the two-call idiom.
        Ok(unsafe { handle::write_array(count, out, &inst.physical_devices) })
    })
}

pub unsafe extern "system" fn enumerate_physical_device_groups(
    instance: vk::Instance,
    count: *mut u32,
    out: *mut vk::PhysicalDeviceGroupProperties<'_>,
) -> vk::Result {
    guard("vkEnumeratePhysicalDeviceGroups", || {
        // SAFETY: the instance is ours.
        let inst = unsafe { Instance::from_handle(instance) }?;
        let pds = &inst.physical_devices;
        // SAFETY: count/out follow the two-call idiom.
        Ok(unsafe {
            fill_array(count, out, pds.len(), |i, g| {
                g.physical_device_count = 1;
                g.physical_devices = [vk::PhysicalDevice::null(); vk::MAX_DEVICE_GROUP_SIZE];
                g.physical_devices[0] = pds[i];
                g.subset_allocation = vk::FALSE;
            })
        })
    })
}
