//! Formats: what each one supports with each tiling, from the registry's
//! texel-block table (`vk_tables`).
//!
//! Images do not exist yet in this driver, so no format claims image
//! features and image format queries say `VK_ERROR_FORMAT_NOT_SUPPORTED`;
//! buffers have no format features until texel buffers exist.

use ash::vk;

use crate::guard::{guard, guard_void, VkResult};
use crate::handle;
use crate::physical_device::PhysicalDevice;
use crate::{chain, fill_out, vk_bail};

/// The format features of `format` (linear tiling, optimal tiling, buffer).
pub fn features(_pd: &PhysicalDevice, _format: vk::Format) -> vk::FormatProperties {
    vk::FormatProperties::default()
}

pub unsafe extern "system" fn get_format_properties(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    out: *mut vk::FormatProperties,
) {
    guard_void("vkGetPhysicalDeviceFormatProperties", || {
        // SAFETY: the handle is ours.
        let pd = unsafe { PhysicalDevice::from_handle(pd) }?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, features(pd, format)) }
    })
}

pub unsafe extern "system" fn get_format_properties2(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    out: *mut vk::FormatProperties2<'_>,
) {
    guard_void("vkGetPhysicalDeviceFormatProperties2", || {
        // SAFETY: the handle is ours.
        let pd = unsafe { PhysicalDevice::from_handle(pd) }?;
        // SAFETY: out is valid (valid usage).
        let out = unsafe { &mut *out };
        let f = features(pd, format);
        out.format_properties = f;
        // SAFETY: the chain is the application's valid output chain.
        unsafe {
            chain::for_each_out(out.p_next, |o| {
                fill_out!(o,
                    vk::FormatProperties3<'_> => |p| {
                        p.linear_tiling_features = vk::FormatFeatureFlags2::from_raw(f.linear_tiling_features.as_raw() as u64);
                        p.optimal_tiling_features = vk::FormatFeatureFlags2::from_raw(f.optimal_tiling_features.as_raw() as u64);
                        p.buffer_features = vk::FormatFeatureFlags2::from_raw(f.buffer_features.as_raw() as u64);
                    }
                )
            })
        };
        Ok(())
    })
}

fn image_format_properties(
    _pd: &PhysicalDevice,
    format: vk::Format,
    _ty: vk::ImageType,
    _tiling: vk::ImageTiling,
) -> VkResult<vk::ImageFormatProperties> {
    vk_bail!(
        vk::Result::ERROR_FORMAT_NOT_SUPPORTED,
        "{format:?}: images are not supported yet"
    )
}

#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn get_image_format_properties(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    ty: vk::ImageType,
    tiling: vk::ImageTiling,
    _usage: vk::ImageUsageFlags,
    _flags: vk::ImageCreateFlags,
    out: *mut vk::ImageFormatProperties,
) -> vk::Result {
    guard("vkGetPhysicalDeviceImageFormatProperties", || {
        // SAFETY: the handle is ours.
        let pd = unsafe { PhysicalDevice::from_handle(pd) }?;
        let props = image_format_properties(pd, format, ty, tiling)?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, props) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn get_image_format_properties2(
    pd: vk::PhysicalDevice,
    info: *const vk::PhysicalDeviceImageFormatInfo2<'_>,
    out: *mut vk::ImageFormatProperties2<'_>,
) -> vk::Result {
    guard("vkGetPhysicalDeviceImageFormatProperties2", || {
        // SAFETY: the handle is ours.
        let pd = unsafe { PhysicalDevice::from_handle(pd) }?;
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pImageFormatInfo") }?;
        let props = image_format_properties(pd, info.format, info.ty, info.tiling)?;
        // SAFETY: out is valid (valid usage).
        unsafe { (*out).image_format_properties = props };
        Ok(vk::Result::SUCCESS)
    })
}

#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn get_sparse_image_format_properties(
    _pd: vk::PhysicalDevice,
    _format: vk::Format,
    _ty: vk::ImageType,
    _samples: vk::SampleCountFlags,
    _usage: vk::ImageUsageFlags,
    _tiling: vk::ImageTiling,
    count: *mut u32,
    _out: *mut vk::SparseImageFormatProperties,
) {
    guard_void("vkGetPhysicalDeviceSparseImageFormatProperties", || {
        // No image format is supported, so none is sparse.
        // SAFETY: count is valid.
        unsafe { handle::out(count, 0) }
    })
}

pub unsafe extern "system" fn get_sparse_image_format_properties2(
    _pd: vk::PhysicalDevice,
    _info: *const vk::PhysicalDeviceSparseImageFormatInfo2<'_>,
    count: *mut u32,
    _out: *mut vk::SparseImageFormatProperties2<'_>,
) {
    guard_void("vkGetPhysicalDeviceSparseImageFormatProperties2", || {
        // SAFETY: count is valid.
        unsafe { handle::out(count, 0) }
    })
}
