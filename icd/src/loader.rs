//! The loader's driver interface (Vulkan-Loader `LoaderDriverInterface.md`):
//! the three exported `vk_icd*` symbols through which the loader finds
//! everything else.
//!
//! We speak interface version 5: the loader negotiates, asks
//! `vk_icdGetInstanceProcAddr` for global and instance commands, asks
//! `vk_icdGetPhysicalDeviceProcAddr` for physical-device commands it does
//! not know itself, and accepts any `apiVersion` in `vkCreateInstance`.

use std::ffi::{c_char, CStr};

use ash::vk;

use crate::entry::{self, Level, Scope};
use crate::guard::{guard, guard_value, init_logging};
use crate::instance::Instance;

/// The newest loader interface version this driver implements. Version 6
/// adds `vk_icdEnumerateAdapterPhysicalDevices` (Windows only) and version 7
/// exported entry points for direct loading; neither applies here.
pub const ICD_INTERFACE_VERSION: u32 = 5;
/// The oldest we accept: version 5 is the first where the loader allows an
/// ICD to refuse nothing on account of `apiVersion`.
pub const MIN_ICD_INTERFACE_VERSION: u32 = 5;

/// Negotiates the loader/driver interface version.
///
/// # Safety
/// `supported` points to the loader's version, and we write ours back.
#[no_mangle]
pub unsafe extern "system" fn vk_icdNegotiateLoaderICDInterfaceVersion(
    supported: *mut u32,
) -> vk::Result {
    init_logging();
    guard("vk_icdNegotiateLoaderICDInterfaceVersion", || {
        if supported.is_null() {
            crate::vk_bail!(
                vk::Result::ERROR_INITIALIZATION_FAILED,
                "null version pointer"
            );
        }
        // SAFETY: the loader passes a valid pointer (checked for null above).
        let loader = unsafe { *supported };
        if loader < MIN_ICD_INTERFACE_VERSION {
            crate::vk_bail!(
                vk::Result::ERROR_INCOMPATIBLE_DRIVER,
                "the loader speaks interface version {loader}; this driver needs {MIN_ICD_INTERFACE_VERSION} or newer"
            );
        }
        let agreed = loader.min(ICD_INTERFACE_VERSION);
        // SAFETY: as above.
        unsafe { *supported = agreed };
        log::debug!("loader interface version {agreed} (loader offers {loader})");
        Ok(vk::Result::SUCCESS)
    })
}

/// The loader's `vkGetInstanceProcAddr`.
///
/// # Safety
/// `name` is a NUL-terminated string; `instance` is null or ours.
#[no_mangle]
pub unsafe extern "system" fn vk_icdGetInstanceProcAddr(
    instance: vk::Instance,
    name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    // SAFETY: same contract as ours.
    unsafe { get_instance_proc_addr(instance, name) }
}

/// `vkGetInstanceProcAddr`: global commands for a null instance; otherwise
/// every command of the instance's version and enabled instance
/// extensions, plus device commands of the device extensions we support.
///
/// # Safety
/// As [`vk_icdGetInstanceProcAddr`].
pub unsafe extern "system" fn get_instance_proc_addr(
    instance: vk::Instance,
    name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    guard_value("vkGetInstanceProcAddr", None, || {
        let Some(name) = c_name(name) else {
            return Ok(None);
        };
        if instance == vk::Instance::null() {
            return Ok(entry::lookup(name, &Scope::global()));
        }
        // SAFETY: non-null instances come from vkCreateInstance (the caller's contract).
        let inst = unsafe { Instance::from_handle(instance) }?;
        Ok(entry::lookup(name, &inst.scope(Level::Instance)))
    })
}

/// Physical-device commands the loader does not know (newer than it, or
/// from extensions); null for anything that is not one.
///
/// # Safety
/// As [`vk_icdGetInstanceProcAddr`].
#[no_mangle]
pub unsafe extern "system" fn vk_icdGetPhysicalDeviceProcAddr(
    instance: vk::Instance,
    name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    guard_value("vk_icdGetPhysicalDeviceProcAddr", None, || {
        let Some(name) = c_name(name) else {
            return Ok(None);
        };
        // SAFETY: the loader passes an instance we created (or null).
        let inst = unsafe { Instance::from_handle(instance) }?;
        Ok(entry::lookup(name, &inst.scope(Level::PhysicalDevice)))
    })
}

fn c_name<'a>(name: *const c_char) -> Option<&'a str> {
    if name.is_null() {
        return None;
    }
    // SAFETY: the loader passes NUL-terminated names (checked for null above).
    unsafe { CStr::from_ptr(name) }.to_str().ok()
}
