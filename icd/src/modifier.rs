//! DRM format modifiers (`VK_EXT_image_drm_format_modifier`): which
//! modifiers images of each format can have, what images with a modifier can
//! do, and how an application's explicit plane layout is checked.
//!
//! Two modifiers, both exactly a layout the driver already uses:
//!
//! - `DRM_FORMAT_MOD_LINEAR` (`drm_fourcc::DrmModifier::Linear`, 0): the
//!   linear layout (`layout/linear.rs`); its tiling features are the
//!   format's linear tiling features.
//! - `DRM_FORMAT_MOD_ARM_INTERLEAVED_64K`: the optimal layout
//!   (`layout/interleaved.rs`); its features are the optimal tiling
//!   features. drm-fourcc 2.2 knows the Arm vendor but none of its
//!   modifiers, so the code is built as `drm_fourcc.h` builds it:
//!   `fourcc_mod_code(ARM, (DRM_FORMAT_MOD_ARM_TYPE_MISC << 52) | 2)` =
//!   `0x0810_0000_0000_0002`. The value is **2**: MISC value 1 is
//!   `DRM_FORMAT_MOD_ARM_16X16_BLOCK_U_INTERLEAVED` (Linux
//!   `include/uapi/drm/drm_fourcc.h`), and the patch that adds
//!   `INTERLEAVED_64K` (dri-devel, Caterina Shablia, with Mesa MR 38986 for
//!   panvk) defines it as `DRM_FORMAT_MOD_ARM_CODE(DRM_FORMAT_MOD_ARM_TYPE_MISC,
//!   2ULL)`. It is not yet in the Linux tree this was checked against.
//!
//! Images with a modifier are single-plane, 2D, one level, one layer, one
//! sample and never sparse (a DRM plane describes one 2D surface; the spec
//! has no rule against sparse modifier images, it leaves it to this query,
//! and a shared buffer cannot be sparse here).
//!
//! # Plane layouts
//!
//! One memory plane (`VK_IMAGE_ASPECT_MEMORY_PLANE_0_BIT_EXT`):
//!
//! - LINEAR: `rowPitch` is bytes between rows. An explicit layout may give
//!   any `rowPitch` that is at least `width x texel bytes` and a multiple of
//!   64 ([`LINEAR_ALIGNMENT`], the linear layout's row alignment), and any
//!   `offset` that is a multiple of 64.
//! - INTERLEAVED_64K: `rowPitch` is bytes between vertically adjacent rows of
//!   64 KiB *tiles* (tiles per row x 65536), the tiled analogue of a row
//!   pitch, as Mesa's panfrost reports for its other tiled Arm modifier (the
//!   stride of a row of 16x16 blocks) and what `vkGetImageSubresourceLayout`
//!   already reported for optimal images. The layout inside the plane is
//!   fixed, so an explicit `rowPitch` must equal ours; the `offset` may be
//!   any multiple of 64 KiB (a tile boundary), as for LINEAR any aligned
//!   offset, so a plane can sit anywhere aligned in a shared buffer.
//!
//! `size` must be 0 (VUID-VkImageDrmFormatModifierExplicitCreateInfoEXT-size-02267);
//! our own size is accepted too. `arrayPitch` and `depthPitch` must be 0 for
//! these single-layer 2D images and are not read.

use ash::vk;
use drm_fourcc::{DrmModifier, DrmVendor};

use crate::format::{self, plain_block};
use crate::guard::{VkError, VkResult};
use crate::layout::{Tiling, LINEAR_ALIGNMENT, TILE_BYTES};

/// `DRM_FORMAT_MOD_ARM_TYPE_MISC` (bits 52..55 of an Arm modifier).
const ARM_TYPE_MISC: u64 = 0x1;

/// `fourcc_mod_code(vendor, val)`: the vendor in bits 56..63.
const fn fourcc_mod_code(vendor: DrmVendor, value: u64) -> u64 {
    ((vendor as u64) << 56) | (value & 0x00ff_ffff_ffff_ffff)
}

/// `DRM_FORMAT_MOD_ARM_CODE(type, val)`.
const fn arm_code(ty: u64, value: u64) -> u64 {
    fourcc_mod_code(DrmVendor::Arm, (ty << 52) | value)
}

/// `DRM_FORMAT_MOD_ARM_INTERLEAVED_64K` (see the module documentation).
pub const DRM_FORMAT_MOD_ARM_INTERLEAVED_64K: u64 = arm_code(ARM_TYPE_MISC, 2);

/// A modifier images of this driver can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifier {
    Linear,
    Interleaved64K,
}

impl Modifier {
    /// In order of preference (what an image made from a list gets).
    pub const ALL: [Modifier; 2] = [Modifier::Interleaved64K, Modifier::Linear];

    /// The 64-bit modifier code.
    pub fn code(self) -> u64 {
        match self {
            Modifier::Linear => DrmModifier::Linear.into(),
            Modifier::Interleaved64K => DRM_FORMAT_MOD_ARM_INTERLEAVED_64K,
        }
    }

    /// The modifier a code names, if it is one of ours.
    pub fn from_code(code: u64) -> Option<Modifier> {
        Modifier::ALL.into_iter().find(|m| m.code() == code)
    }

    /// The ordinary tiling whose features and rules the modifier has.
    pub fn tiling(self) -> vk::ImageTiling {
        match self {
            Modifier::Linear => vk::ImageTiling::LINEAR,
            Modifier::Interleaved64K => vk::ImageTiling::OPTIMAL,
        }
    }

    /// The memory layout it names.
    pub fn layout_tiling(self) -> Tiling {
        match self {
            Modifier::Linear => Tiling::Linear,
            Modifier::Interleaved64K => Tiling::Interleaved64K,
        }
    }

    /// The format features of `format` with this modifier.
    pub fn features(self, format: vk::Format, caps: format::Caps) -> vk::FormatFeatureFlags {
        let f = format::features(format, caps);
        match self {
            Modifier::Linear => f.linear_tiling_features,
            Modifier::Interleaved64K => f.optimal_tiling_features,
        }
    }

    /// The offset alignment of a plane.
    pub fn offset_alignment(self) -> u64 {
        match self {
            Modifier::Linear => LINEAR_ALIGNMENT,
            Modifier::Interleaved64K => TILE_BYTES,
        }
    }
}

/// `VkDrmFormatModifierPropertiesEXT` of every modifier `format` supports
/// (none for a format images cannot hold).
pub fn format_modifiers(
    format: vk::Format,
    caps: format::Caps,
) -> Vec<vk::DrmFormatModifierPropertiesEXT> {
    Modifier::ALL
        .into_iter()
        .map(|m| vk::DrmFormatModifierPropertiesEXT {
            drm_format_modifier: m.code(),
            drm_format_modifier_plane_count: 1,
            drm_format_modifier_tiling_features: m.features(format, caps),
        })
        .filter(|p| !p.drm_format_modifier_tiling_features.is_empty())
        .collect()
}

/// What `vkGetPhysicalDeviceImageFormatProperties2` reports for tiling
/// `DRM_FORMAT_MODIFIER_EXT` with modifier `code`, or why not.
pub fn image_format_properties(
    caps: format::Caps,
    format: vk::Format,
    ty: vk::ImageType,
    code: u64,
    usage: vk::ImageUsageFlags,
    flags: vk::ImageCreateFlags,
) -> VkResult<vk::ImageFormatProperties> {
    let unsupported = |why: String| Err(VkError::new(vk::Result::ERROR_FORMAT_NOT_SUPPORTED, why));
    let Some(m) = Modifier::from_code(code) else {
        return unsupported(format!("modifier {code:#018x} is not supported"));
    };
    if m.features(format, caps).is_empty() {
        return unsupported(format!("{format:?} has no {m:?} layout"));
    }
    if ty != vk::ImageType::TYPE_2D {
        return unsupported(format!("{ty:?}: modifier images are 2D"));
    }
    let sparse = vk::ImageCreateFlags::SPARSE_BINDING
        | vk::ImageCreateFlags::SPARSE_RESIDENCY
        | vk::ImageCreateFlags::SPARSE_ALIASED;
    if flags.intersects(sparse) {
        return unsupported("modifier images are not sparse".into());
    }
    if flags.contains(vk::ImageCreateFlags::CUBE_COMPATIBLE) {
        return unsupported("modifier images have one layer, so no cubes".into());
    }
    let mut p = format::image_format_properties(caps, format, ty, m.tiling(), usage, flags)?;
    // One DRM plane: one level of one layer.
    p.max_mip_levels = 1;
    p.max_array_layers = 1;
    p.sample_counts = vk::SampleCountFlags::TYPE_1;
    Ok(p)
}

/// Checks a create info against what modifier `m` allows (as the image
/// format query answers, plus the create info's own counts).
pub fn check_create(
    caps: format::Caps,
    info: &vk::ImageCreateInfo<'_>,
    m: Modifier,
) -> VkResult<()> {
    let p = image_format_properties(
        caps,
        info.format,
        info.image_type,
        m.code(),
        info.usage,
        info.flags,
    )?;
    let e = info.extent;
    let fits = e.width <= p.max_extent.width
        && e.height <= p.max_extent.height
        && e.depth <= p.max_extent.depth
        && info.mip_levels <= p.max_mip_levels
        && info.array_layers <= p.max_array_layers
        && p.sample_counts.contains(info.samples);
    if !fits {
        return Err(VkError::new(
            vk::Result::ERROR_FORMAT_NOT_SUPPORTED,
            format!(
                "{m:?} images are 2D, up to {}x{}, one level, one layer, one sample",
                p.max_extent.width, p.max_extent.height
            ),
        ));
    }
    Ok(())
}

/// The row pitch an explicit LINEAR plane asks for, checked: at least a row
/// of texels and 64-byte aligned; the offset 64-byte aligned.
pub fn check_linear_plane(
    format: vk::Format,
    width: u32,
    plane: &vk::SubresourceLayout,
) -> VkResult<u64> {
    let bad = |why: String| {
        Err(VkError::new(
            vk::Result::ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT,
            why,
        ))
    };
    let bytes = plain_block(format).map_or(0, |b| u64::from(b.bytes));
    let row = u64::from(width) * bytes;
    if plane.row_pitch < row || plane.row_pitch % LINEAR_ALIGNMENT != 0 || bytes == 0 {
        return bad(format!(
            "LINEAR rowPitch {} must be at least {row} and a multiple of {LINEAR_ALIGNMENT}",
            plane.row_pitch
        ));
    }
    if plane.row_pitch % bytes != 0 {
        return bad(format!(
            "LINEAR rowPitch {} is not a whole number of {bytes}-byte texels",
            plane.row_pitch
        ));
    }
    if plane.offset % LINEAR_ALIGNMENT != 0 {
        return bad(format!(
            "LINEAR plane offset {:#x} is not {LINEAR_ALIGNMENT}-byte aligned",
            plane.offset
        ));
    }
    Ok(plane.row_pitch)
}

/// Checks an explicit INTERLEAVED_64K plane against the layout we produce
/// (`ours`: offset 0, our size and tile-row pitch).
pub fn check_interleaved_plane(
    plane: &vk::SubresourceLayout,
    ours_row_pitch: u64,
    ours_size: u64,
) -> VkResult<()> {
    let ok_offset = plane.offset % TILE_BYTES == 0;
    let ok_size = plane.size == 0 || plane.size == ours_size;
    if plane.row_pitch != ours_row_pitch || !ok_offset || !ok_size {
        return Err(VkError::new(
            vk::Result::ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT,
            format!(
                "INTERLEAVED_64K plane (offset {:#x}, size {:#x}, rowPitch {:#x}) is not \
                 ours: rowPitch {ours_row_pitch:#x} (bytes per row of 64 KiB tiles), \
                 size 0 or {ours_size:#x}, offset a multiple of 64 KiB",
                plane.offset, plane.size, plane.row_pitch
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(Modifier::Linear.code(), 0);
        assert_eq!(DRM_FORMAT_MOD_ARM_INTERLEAVED_64K, 0x0810_0000_0000_0002);
        let m = DrmModifier::from(DRM_FORMAT_MOD_ARM_INTERLEAVED_64K);
        assert!(matches!(m.vendor(), Ok(Some(DrmVendor::Arm))));
        assert_eq!(
            Modifier::from_code(0x0810_0000_0000_0002),
            Some(Modifier::Interleaved64K)
        );
        // 16X16_BLOCK_U_INTERLEAVED (MISC value 1) is not ours.
        assert_eq!(Modifier::from_code(0x0810_0000_0000_0001), None);
    }

    #[test]
    fn format_lists() {
        let caps = format::Caps {
            sparse_residency: true,
            shaders: true,
        };
        let l = format_modifiers(vk::Format::R8G8B8A8_UNORM, caps);
        assert_eq!(l.len(), 2);
        assert!(l.iter().all(|p| p.drm_format_modifier_plane_count == 1));
        // Compressed formats have no linear layout here.
        let bc = format_modifiers(vk::Format::BC1_RGBA_UNORM_BLOCK, caps);
        assert_eq!(bc.len(), 1);
        assert_eq!(
            bc[0].drm_format_modifier,
            DRM_FORMAT_MOD_ARM_INTERLEAVED_64K
        );
        // 8-bit texels need the shader cores' copies.
        assert_eq!(format_modifiers(vk::Format::R8_UNORM, caps).len(), 2);
        let no_shaders = format::Caps {
            shaders: false,
            ..caps
        };
        assert!(format_modifiers(vk::Format::R8_UNORM, no_shaders).is_empty());
        assert!(format_modifiers(vk::Format::R8G8B8_UNORM, caps).is_empty());
    }

    #[test]
    fn linear_plane_rules() {
        let f = vk::Format::R8G8B8A8_UNORM;
        let p = |offset, row_pitch| vk::SubresourceLayout {
            offset,
            row_pitch,
            ..Default::default()
        };
        assert_eq!(check_linear_plane(f, 100, &p(0, 448)).unwrap(), 448);
        assert_eq!(check_linear_plane(f, 100, &p(256, 1024)).unwrap(), 1024);
        assert!(check_linear_plane(f, 100, &p(0, 384)).is_err()); // short
        assert!(check_linear_plane(f, 100, &p(0, 404)).is_err()); // unaligned
        assert!(check_linear_plane(f, 100, &p(4, 448)).is_err());
    }
}
