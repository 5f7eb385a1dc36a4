//! The loader-layer interface: the `#[repr(C)]` structures of `vk_layer.h`
//! that the Vulkan loader hands to a layer (interface negotiation, and the
//! link info chained into `VkInstanceCreateInfo` / `VkDeviceCreateInfo` that
//! names the next element of the dispatch chain), and the walk that finds
//! and advances that link info.

use std::ffi::c_void;

use ash::vk;

/// `LAYER_NEGOTIATE_INTERFACE_STRUCT`: the only `VkNegotiateLayerStructType`.
pub const NEGOTIATE_INTERFACE_STRUCT: u32 = 1;
/// The highest loader-layer interface version we speak.
pub const LAYER_INTERFACE_VERSION: u32 = 2;
/// `VK_STRUCTURE_TYPE_LOADER_INSTANCE_CREATE_INFO`.
pub const LOADER_INSTANCE_CREATE_INFO: vk::StructureType = vk::StructureType::from_raw(47);
/// `VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO`.
pub const LOADER_DEVICE_CREATE_INFO: vk::StructureType = vk::StructureType::from_raw(48);
/// `VK_LAYER_LINK_INFO`: the `VkLayerFunction` whose union member is the link.
pub const LAYER_LINK_INFO: u32 = 0;

/// `PFN_GetPhysicalDeviceProcAddr` (same shape as `vkGetInstanceProcAddr`).
pub type PfnGetPhysicalDeviceProcAddr = vk::PFN_vkGetInstanceProcAddr;

/// `VkNegotiateLayerInterface`.
#[repr(C)]
pub struct NegotiateLayerInterface {
    pub s_type: u32,
    pub p_next: *mut c_void,
    pub loader_layer_interface_version: u32,
    pub pfn_get_instance_proc_addr: Option<vk::PFN_vkGetInstanceProcAddr>,
    pub pfn_get_device_proc_addr: Option<vk::PFN_vkGetDeviceProcAddr>,
    pub pfn_get_physical_device_proc_addr: Option<PfnGetPhysicalDeviceProcAddr>,
}

/// `VkLayerInstanceLink`: one element of the instance chain below us.
#[repr(C)]
pub struct LayerInstanceLink {
    pub p_next: *mut LayerInstanceLink,
    pub pfn_next_get_instance_proc_addr: vk::PFN_vkGetInstanceProcAddr,
    pub pfn_next_get_physical_device_proc_addr: Option<PfnGetPhysicalDeviceProcAddr>,
}

/// `VkLayerDeviceLink`: one element of the device chain below us.
#[repr(C)]
pub struct LayerDeviceLink {
    pub p_next: *mut LayerDeviceLink,
    pub pfn_next_get_instance_proc_addr: vk::PFN_vkGetInstanceProcAddr,
    pub pfn_next_get_device_proc_addr: vk::PFN_vkGetDeviceProcAddr,
}

/// `VkLayerInstanceCreateInfo` and `VkLayerDeviceCreateInfo` share this
/// head; the union's first member (a pointer) is the link when `function`
/// is `VK_LAYER_LINK_INFO`. The union is pointer-sized or larger (two
/// pointers in the instance case); we only read and write its first word.
#[repr(C)]
pub struct LayerCreateInfo<L> {
    pub s_type: vk::StructureType,
    pub p_next: *const c_void,
    pub function: u32,
    pub p_layer_info: *mut L,
}

/// Finds the loader's link-info structure with `s_type` in a create-info
/// `pNext` chain.
///
/// # Safety
/// `p_next` must be a valid Vulkan structure chain.
pub unsafe fn find_link<L>(
    mut p_next: *const c_void,
    s_type: vk::StructureType,
) -> Option<*mut LayerCreateInfo<L>> {
    while !p_next.is_null() {
        let info = p_next as *mut LayerCreateInfo<L>;
        // SAFETY: every structure in a valid chain starts with sType, pNext;
        // we read `function` only once sType says this is a loader structure.
        unsafe {
            if (*info).s_type == s_type && (*info).function == LAYER_LINK_INFO {
                return Some(info);
            }
            p_next = (*info).p_next;
        }
    }
    None
}
