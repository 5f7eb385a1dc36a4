//! Formats: which ones images support, with which features, from the
//! registry's texel-block table (`vk_tables`).
//!
//! Images hold formats whose texel block is 4, 8 or 16 bytes (32/64/128-bit
//! colour formats and the BC/ETC2/EAC/ASTC compressed ones) everywhere:
//! command streams move whole aligned 32-bit words. 8 and 16-bit texels need
//! byte stores, which only the shader cores make (`meta_copy`), so they are
//! offered where shaders run (the virtual Mali). 24-bit, depth/stencil and
//! multi-planar formats are not offered. Features are the transfers, plus
//! sampling and storage where shaders run and the texture unit has the
//! format.

use ash::vk;

use crate::external_memory;
use crate::guard::{guard, guard_void, VkError, VkResult};
use crate::handle;
use crate::layout::{standard_block_shape_texels, Dim, TexelBlock};
use crate::mali_format::mali_format;
use crate::modifier;
use crate::physical_device::PhysicalDevice;
use crate::vk_tables;
use crate::{chain, fill_out, vk_bail};

/// Usage an image may have: transfers, and with shaders sampling and
/// storage (when the format's features allow).
pub const SUPPORTED_USAGE: vk::ImageUsageFlags = vk::ImageUsageFlags::from_raw(
    vk::ImageUsageFlags::TRANSFER_SRC.as_raw()
        | vk::ImageUsageFlags::TRANSFER_DST.as_raw()
        | vk::ImageUsageFlags::SAMPLED.as_raw()
        | vk::ImageUsageFlags::STORAGE.as_raw(),
);

/// What a device can do that formats depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// `MAP_SPARSE` exists (panthor 1.9).
    pub sparse_residency: bool,
    /// Compute shaders run (the virtual Mali's shader cores).
    pub shaders: bool,
}

/// Image creation flags we honour.
pub const SUPPORTED_FLAGS: vk::ImageCreateFlags = vk::ImageCreateFlags::from_raw(
    vk::ImageCreateFlags::SPARSE_BINDING.as_raw()
        | vk::ImageCreateFlags::SPARSE_RESIDENCY.as_raw()
        | vk::ImageCreateFlags::SPARSE_ALIASED.as_raw()
        | vk::ImageCreateFlags::MUTABLE_FORMAT.as_raw()
        | vk::ImageCreateFlags::CUBE_COMPATIBLE.as_raw()
        | vk::ImageCreateFlags::TYPE_2D_ARRAY_COMPATIBLE.as_raw()
        | vk::ImageCreateFlags::EXTENDED_USAGE.as_raw(),
);

/// Largest image resource (bytes).
pub const MAX_RESOURCE_SIZE: u64 = 1 << 40;

/// The texel block of a plain colour format (no depth, stencil, planes or
/// chroma subsampling) of 1, 2, 4, 8 or 16 bytes.
pub fn plain_block(format: vk::Format) -> Option<TexelBlock> {
    let f = vk_tables::format(format)?;
    let plain = f.planes == 0 && f.depth_bits == 0 && f.stencil_bits == 0 && f.chroma.is_none();
    (plain && matches!(f.block_bytes, 1 | 2 | 4 | 8 | 16)).then_some(TexelBlock {
        bytes: f.block_bytes,
        extent: f.block_extent,
    })
}

/// The texel block of a format images can hold on a device with `caps`:
/// 4, 8 and 16-byte blocks, which the command stream copies, and with
/// shaders 1 and 2-byte texels, which the shader cores copy (`meta_copy`).
pub fn image_block(format: vk::Format, caps: Caps) -> Option<TexelBlock> {
    plain_block(format).filter(|b| b.bytes >= 4 || caps.shaders)
}

/// The format features of `format` (linear tiling, optimal tiling, buffer).
pub fn features(format: vk::Format, caps: Caps) -> vk::FormatProperties {
    use vk::FormatFeatureFlags as F;
    let transfer = F::TRANSFER_SRC | F::TRANSFER_DST;
    let mali = mali_format(format).filter(|_| caps.shaders);
    let atomic = matches!(
        format,
        vk::Format::R32_UINT | vk::Format::R32_SINT | vk::Format::R64_UINT | vk::Format::R64_SINT
    );
    // What shaders can do with images of this format.
    let shader = mali.map_or(F::empty(), |m| {
        let mut f = F::SAMPLED_IMAGE;
        if !m.is_integer() {
            f |= F::SAMPLED_IMAGE_FILTER_LINEAR;
        }
        if m.storage {
            f |= F::STORAGE_IMAGE;
        }
        if atomic {
            f |= F::STORAGE_IMAGE_ATOMIC;
        }
        f
    });
    let buffer = mali
        .filter(|m| m.clump <= mali_csf::desc::CLUMP_RAW128)
        .map_or(F::empty(), |m| {
            let mut f = F::UNIFORM_TEXEL_BUFFER;
            if m.storage {
                f |= F::STORAGE_TEXEL_BUFFER;
            }
            if atomic {
                f |= F::STORAGE_TEXEL_BUFFER_ATOMIC;
            }
            f
        });
    match image_block(format, caps) {
        Some(b) => vk::FormatProperties {
            // Linear images of compressed formats are allowed by the spec
            // but pointless for transfers; offer them uncompressed only.
            linear_tiling_features: if b.extent == [1, 1, 1] {
                transfer | shader
            } else {
                F::empty()
            },
            optimal_tiling_features: transfer | shader,
            buffer_features: buffer,
        },
        None => vk::FormatProperties {
            buffer_features: buffer,
            ..Default::default()
        },
    }
}

/// The image format feature a usage needs (beyond transfers).
fn usage_feature(usage: vk::ImageUsageFlags) -> vk::FormatFeatureFlags {
    let mut f = vk::FormatFeatureFlags::empty();
    if usage.contains(vk::ImageUsageFlags::SAMPLED) {
        f |= vk::FormatFeatureFlags::SAMPLED_IMAGE;
    }
    if usage.contains(vk::ImageUsageFlags::STORAGE) {
        f |= vk::FormatFeatureFlags::STORAGE_IMAGE;
    }
    f
}

pub fn dim_of(ty: vk::ImageType) -> Option<Dim> {
    match ty {
        vk::ImageType::TYPE_1D => Some(Dim::D1),
        vk::ImageType::TYPE_2D => Some(Dim::D2),
        vk::ImageType::TYPE_3D => Some(Dim::D3),
        _ => None,
    }
}

/// What `vkGetPhysicalDeviceImageFormatProperties` reports, or why the
/// combination is not supported.
pub fn image_format_properties(
    caps: Caps,
    format: vk::Format,
    ty: vk::ImageType,
    tiling: vk::ImageTiling,
    usage: vk::ImageUsageFlags,
    flags: vk::ImageCreateFlags,
) -> VkResult<vk::ImageFormatProperties> {
    let unsupported = |why: String| Err(VkError::new(vk::Result::ERROR_FORMAT_NOT_SUPPORTED, why));
    let Some(block) = image_block(format, caps) else {
        return unsupported(format!("{format:?} is not an image format of this driver"));
    };
    let Some(dim) = dim_of(ty) else {
        return unsupported(format!("image type {ty:?}"));
    };
    let f = features(format, caps);
    let have = match tiling {
        vk::ImageTiling::OPTIMAL => f.optimal_tiling_features,
        vk::ImageTiling::LINEAR => f.linear_tiling_features,
        _ => vk::FormatFeatureFlags::empty(),
    };
    if have.is_empty() {
        return unsupported(format!("{format:?} with {tiling:?}"));
    }
    if !SUPPORTED_USAGE.contains(usage) || !have.contains(usage_feature(usage)) {
        return unsupported(format!(
            "usage {usage:?} needs features {:?}; {format:?} with {tiling:?} has {have:?}",
            usage_feature(usage)
        ));
    }
    if !SUPPORTED_FLAGS.contains(flags) {
        return unsupported(format!("flags {flags:?}"));
    }
    let sparse = flags.intersects(
        vk::ImageCreateFlags::SPARSE_BINDING
            | vk::ImageCreateFlags::SPARSE_RESIDENCY
            | vk::ImageCreateFlags::SPARSE_ALIASED,
    );
    if sparse && tiling != vk::ImageTiling::OPTIMAL {
        return unsupported("sparse images need optimal tiling".into());
    }
    if flags.contains(vk::ImageCreateFlags::SPARSE_RESIDENCY) {
        if !caps.sparse_residency {
            return unsupported("sparse residency needs panthor 1.9 (MAP_SPARSE)".into());
        }
        if standard_block_shape_texels(dim, block, 1).is_none() {
            return unsupported(format!("no sparse block shape for {ty:?}"));
        }
    }
    if flags.contains(vk::ImageCreateFlags::CUBE_COMPATIBLE) && dim != Dim::D2 {
        return unsupported("cube compatibility needs a 2D image".into());
    }
    let linear = tiling == vk::ImageTiling::LINEAR;
    let max_extent: [u32; 3] = match dim {
        Dim::D1 => [16384, 1, 1],
        Dim::D2 => [16384, 16384, 1],
        Dim::D3 => [2048, 2048, 2048],
    };
    let levels = 32
        - max_extent
            .iter()
            .max()
            .copied()
            .unwrap_or(1)
            .leading_zeros();
    Ok(vk::ImageFormatProperties {
        max_extent: vk::Extent3D {
            width: max_extent[0],
            height: max_extent[1],
            depth: max_extent[2],
        },
        max_mip_levels: if linear { 1 } else { levels },
        max_array_layers: if linear || dim == Dim::D3 { 1 } else { 2048 },
        // Multisample images need a way to write samples (attachments or
        // multisample storage images); none exists before shaders.
        sample_counts: vk::SampleCountFlags::TYPE_1,
        max_resource_size: MAX_RESOURCE_SIZE,
    })
}

/// Whether single mip tails are used (`PANTHOR_VK_SINGLE_MIPTAIL=1`):
/// both arrangements are implemented; per-layer is the default.
pub fn single_miptail() -> bool {
    std::env::var("PANTHOR_VK_SINGLE_MIPTAIL").is_ok_and(|v| v == "1")
}

/// `VkSparseImageFormatProperties` for a supported sparse image.
pub fn sparse_format_properties(
    dim: Dim,
    block: TexelBlock,
) -> Option<vk::SparseImageFormatProperties> {
    let g = standard_block_shape_texels(dim, block, 1)?;
    Some(vk::SparseImageFormatProperties {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        image_granularity: vk::Extent3D {
            width: g[0],
            height: g[1],
            depth: g[2],
        },
        flags: if single_miptail() {
            vk::SparseImageFormatFlags::SINGLE_MIPTAIL
        } else {
            vk::SparseImageFormatFlags::empty()
        },
    })
}

fn sparse_properties_for(
    pd: &PhysicalDevice,
    format: vk::Format,
    ty: vk::ImageType,
    samples: vk::SampleCountFlags,
    usage: vk::ImageUsageFlags,
    tiling: vk::ImageTiling,
) -> Option<vk::SparseImageFormatProperties> {
    let flags = vk::ImageCreateFlags::SPARSE_BINDING | vk::ImageCreateFlags::SPARSE_RESIDENCY;
    let _ = image_format_properties(pd.caps(), format, ty, tiling, usage, flags).ok()?;
    if samples != vk::SampleCountFlags::TYPE_1 {
        return None;
    }
    sparse_format_properties(dim_of(ty)?, image_block(format, pd.caps())?)
}

pub unsafe extern "system" fn get_format_properties(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    out: *mut vk::FormatProperties,
) {
    guard_void("vkGetPhysicalDeviceFormatProperties", || {
        // SAFETY: the physical device is ours.
        let pd = unsafe { PhysicalDevice::from_handle(pd) }?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, features(format, pd.caps())) }
    })
}

pub unsafe extern "system" fn get_format_properties2(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    out: *mut vk::FormatProperties2<'_>,
) {
    guard_void("vkGetPhysicalDeviceFormatProperties2", || {
        // SAFETY: the physical device is ours.
        let pd = unsafe { PhysicalDevice::from_handle(pd) }?;
        // SAFETY: out is valid (valid usage).
        let out = unsafe { &mut *out };
        let f = features(format, pd.caps());
        out.format_properties = f;
        let mods = modifier::format_modifiers(format, pd.caps());
        let wide = |x: vk::FormatFeatureFlags| vk::FormatFeatureFlags2::from_raw(x.as_raw() as u64);
        let fill = |o: chain::Out<'_>| {
            fill_out!(o,
                vk::FormatProperties3<'_> => |p| {
                    p.linear_tiling_features = wide(f.linear_tiling_features);
                    p.optimal_tiling_features = wide(f.optimal_tiling_features);
                    p.buffer_features = wide(f.buffer_features);
                }
                vk::DrmFormatModifierPropertiesListEXT<'_> => |p| {
                    // SAFETY: a non-null pointer holds count elements (valid usage).
                    p.drm_format_modifier_count = unsafe {
                        modifier_list(
                            p.drm_format_modifier_count,
                            p.p_drm_format_modifier_properties,
                            &mods,
                            |m| m,
                        )
                    };
                }
                vk::DrmFormatModifierPropertiesList2EXT<'_> => |p| {
                    // SAFETY: as above.
                    p.drm_format_modifier_count = unsafe {
                        modifier_list(
                            p.drm_format_modifier_count,
                            p.p_drm_format_modifier_properties,
                            &mods,
                            |m| vk::DrmFormatModifierProperties2EXT {
                                drm_format_modifier: m.drm_format_modifier,
                                drm_format_modifier_plane_count: m
                                    .drm_format_modifier_plane_count,
                                drm_format_modifier_tiling_features: wide(
                                    m.drm_format_modifier_tiling_features,
                                ),
                            },
                        )
                    };
                }
            )
        };
        // SAFETY: the chain is the application's valid output chain.
        unsafe { chain::for_each_out(out.p_next, fill) };
        Ok(())
    })
}

/// Fills a `VkDrmFormatModifierPropertiesList(2)EXT` array: with a null
/// `out` the count of modifiers, else as many as `count` holds (no
/// `VK_INCOMPLETE`: the struct only has a count). Returns the new count.
///
/// # Safety
/// `out` is null or holds `count` writable elements.
unsafe fn modifier_list<T>(
    count: u32,
    out: *mut T,
    mods: &[vk::DrmFormatModifierPropertiesEXT],
    convert: impl Fn(vk::DrmFormatModifierPropertiesEXT) -> T,
) -> u32 {
    if out.is_null() {
        return mods.len() as u32;
    }
    let n = (count as usize).min(mods.len());
    for (i, m) in mods.iter().take(n).enumerate() {
        // SAFETY: i < count (the caller's contract).
        unsafe { out.add(i).write(convert(*m)) };
    }
    n as u32
}

/// An image format query's answer: the properties and `SUCCESS`, or zeroed
/// properties and the error (an expected answer, logged at debug level).
fn answer(r: VkResult<vk::ImageFormatProperties>) -> (vk::ImageFormatProperties, vk::Result) {
    match r {
        Ok(p) => (p, vk::Result::SUCCESS),
        Err(e) => {
            log::debug!("{}", e.why);
            (vk::ImageFormatProperties::default(), e.result)
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn get_image_format_properties(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    ty: vk::ImageType,
    tiling: vk::ImageTiling,
    usage: vk::ImageUsageFlags,
    flags: vk::ImageCreateFlags,
    out: *mut vk::ImageFormatProperties,
) -> vk::Result {
    guard("vkGetPhysicalDeviceImageFormatProperties", || {
        // SAFETY: the handle is ours.
        let pd = unsafe { PhysicalDevice::from_handle(pd) }?;
        let (props, result) = answer(image_format_properties(
            pd.caps(),
            format,
            ty,
            tiling,
            usage,
            flags,
        ));
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, props) }?;
        Ok(result)
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
        // SAFETY: info and out are valid (valid usage).
        let (info, out) = unsafe { (handle::input(info, "pImageFormatInfo")?, &mut *out) };
        // SAFETY: the chain is valid.
        let external =
            unsafe { chain::find::<vk::PhysicalDeviceExternalImageFormatInfo<'_>>(info.p_next) }
                .map(|e| e.handle_type)
                .filter(|t| !t.is_empty())
                .map(|t| {
                    external_memory::properties(t, external_memory::is_sparse_image(info.flags))
                });
        if external.is_some_and(|e| e.external_memory_features.is_empty()) {
            out.image_format_properties = vk::ImageFormatProperties::default();
            return Ok(vk::Result::ERROR_FORMAT_NOT_SUPPORTED);
        }
        // SAFETY: the chain is valid (valid usage).
        unsafe {
            chain::for_each_out(out.p_next, |o| {
                fill_out!(o,
                    vk::ExternalImageFormatProperties<'_> => |e| {
                        e.external_memory_properties = external.unwrap_or_default();
                    }
                )
            })
        };
        let props = if info.tiling == vk::ImageTiling::DRM_FORMAT_MODIFIER_EXT {
            // SAFETY: the chain is valid.
            match unsafe {
                chain::find::<vk::PhysicalDeviceImageDrmFormatModifierInfoEXT<'_>>(info.p_next)
            } {
                Some(m) => modifier::image_format_properties(
                    pd.caps(),
                    info.format,
                    info.ty,
                    m.drm_format_modifier,
                    info.usage,
                    info.flags,
                ),
                None => Err(VkError::new(
                    vk::Result::ERROR_FORMAT_NOT_SUPPORTED,
                    "tiling DRM_FORMAT_MODIFIER_EXT without \
                     VkPhysicalDeviceImageDrmFormatModifierInfoEXT",
                )),
            }
        } else {
            image_format_properties(
                pd.caps(),
                info.format,
                info.ty,
                info.tiling,
                info.usage,
                info.flags,
            )
        };
        let (props, result) = answer(props);
        out.image_format_properties = props;
        Ok(result)
    })
}

#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn get_sparse_image_format_properties(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    ty: vk::ImageType,
    samples: vk::SampleCountFlags,
    usage: vk::ImageUsageFlags,
    tiling: vk::ImageTiling,
    count: *mut u32,
    out: *mut vk::SparseImageFormatProperties,
) {
    guard_void("vkGetPhysicalDeviceSparseImageFormatProperties", || {
        // SAFETY: the handle is ours.
        let pd = unsafe { PhysicalDevice::from_handle(pd) }?;
        let props: Vec<_> = sparse_properties_for(pd, format, ty, samples, usage, tiling)
            .into_iter()
            .collect();
        // SAFETY: count/out follow the two-call idiom.
        let _ = unsafe { handle::write_array(count, out, &props) };
        Ok(())
    })
}

pub unsafe extern "system" fn get_sparse_image_format_properties2(
    pd: vk::PhysicalDevice,
    info: *const vk::PhysicalDeviceSparseImageFormatInfo2<'_>,
    count: *mut u32,
    out: *mut vk::SparseImageFormatProperties2<'_>,
) {
    guard_void("vkGetPhysicalDeviceSparseImageFormatProperties2", || {
        // SAFETY: the handle is ours; info is valid.
        let (pd, info) = unsafe {
            (
                PhysicalDevice::from_handle(pd)?,
                handle::input(info, "pFormatInfo")?,
            )
        };
        let props: Vec<_> = sparse_properties_for(
            pd,
            info.format,
            info.ty,
            info.samples,
            info.usage,
            info.tiling,
        )
        .into_iter()
        .collect();
        // SAFETY: count/out follow the two-call idiom.
        let _ =
            unsafe { handle::fill_array(count, out, props.len(), |i, p| p.properties = props[i]) };
        Ok(())
    })
}

/// Refuses a format/type/tiling/usage/flags combination at image creation.
pub fn check_image(caps: Caps, info: &vk::ImageCreateInfo<'_>) -> VkResult<TexelBlock> {
    if let Err(e) = image_format_properties(
        caps,
        info.format,
        info.image_type,
        info.tiling,
        info.usage,
        info.flags,
    ) {
        vk_bail!(vk::Result::ERROR_UNKNOWN, "vkCreateImage: {}", e.why);
    }
    image_block(info.format, caps)
        .ok_or_else(|| VkError::new(vk::Result::ERROR_UNKNOWN, "unsupported format"))
}
