//! The hardware descriptors of a `VkImageView`: a `Texture` descriptor in
//! two variants (sampled: the view's swizzle and LOD range; storage:
//! identity swizzle, level 0, cube faces as layers) over one array of
//! `Generic Plane` descriptors in GPU memory, one per (layer, level) of the
//! view, layer-major, as the texture unit indexes them.
//!
//! Every level of every layer of our images is a plane of its own (see
//! `layout::image`): optimal images in `DRM_FORMAT_MOD_ARM_INTERLEAVED_64K`
//! (row stride = bytes of a row of tiles, slice stride = bytes of a layer
//! of 3D bricks), linear ones row by row.

use std::ops::Range;

use ash::vk;
use mali_csf::desc::{
    ClumpOrdering, GenericPlane, Texture, TextureDimension, DESCRIPTOR_SIZE, IDENTITY_SWIZZLE,
};

use crate::device::DeviceRef;
use crate::guard::VkResult;
use crate::image::Image;
use crate::layout::{ImageLayout, Tiling};
use crate::mali_format::mali_format;
use crate::memory::Memory;
use crate::vk_bail;

pub struct ViewDescriptors {
    pub sampled: [u8; DESCRIPTOR_SIZE],
    pub storage: [u8; DESCRIPTOR_SIZE],
    /// The plane array both point to.
    _planes: Memory,
}

fn channel(c: vk::ComponentSwizzle, identity: u8) -> u8 {
    match c {
        vk::ComponentSwizzle::R => 0,
        vk::ComponentSwizzle::G => 1,
        vk::ComponentSwizzle::B => 2,
        vk::ComponentSwizzle::A => 3,
        vk::ComponentSwizzle::ZERO => 4,
        vk::ComponentSwizzle::ONE => 5,
        _ => identity,
    }
}

impl ViewDescriptors {
    /// `None` when the view's format has no hardware description (a
    /// transfer-only format).
    pub fn new(
        dev: &DeviceRef,
        image: &Image,
        info: &vk::ImageViewCreateInfo<'_>,
        range: vk::ImageSubresourceRange,
    ) -> VkResult<Option<ViewDescriptors>> {
        let Some(fmt) = mali_format(info.format) else {
            return Ok(None);
        };
        let layout = &image.layout;
        let desc = layout.desc();
        let levels = range.level_count;
        let layers = range.layer_count;
        let planes = plane_array(
            layout,
            image.address()?,
            fmt.clump,
            range.base_mip_level..range.base_mip_level + levels,
            range.base_array_layer..range.base_array_layer + layers,
            info.view_type == vk::ImageViewType::TYPE_3D,
        )?;
        let mem = Memory::with_contents(dev, &planes)?;
        let extent = layout
            .level_extent_texels(range.base_mip_level)
            .unwrap_or([1, 1, 1]);
        let cube = matches!(
            info.view_type,
            vk::ImageViewType::CUBE | vk::ImageViewType::CUBE_ARRAY
        );
        let dimension = match info.view_type {
            vk::ImageViewType::TYPE_1D | vk::ImageViewType::TYPE_1D_ARRAY => TextureDimension::D1,
            vk::ImageViewType::TYPE_3D => TextureDimension::D3,
            _ if cube => TextureDimension::Cube,
            _ => TextureDimension::D2,
        };
        let c = info.components;
        let sampled = Texture {
            dimension,
            normalize_coordinates: false,
            format: fmt.pixel,
            width: extent[0],
            height: extent[1],
            swizzle: [
                channel(c.r, 0),
                channel(c.g, 1),
                channel(c.b, 2),
                channel(c.a, 3),
            ],
            texel_interleave: texel_interleave(layout),
            levels,
            minimum_level: 0,
            minimum_lod: 0.0,
            maximum_lod: (levels - 1) as f32,
            samples: desc.samples,
            surfaces: mem.va,
            array_size: if cube { layers / 6 } else { layers },
            depth: extent[2],
        };
        // Storage access sees cube faces as array layers and level 0.
        let storage = Texture {
            dimension: if cube {
                TextureDimension::D2
            } else {
                dimension
            },
            swizzle: IDENTITY_SWIZZLE,
            maximum_lod: 0.0,
            array_size: layers,
            ..sampled
        };
        Ok(Some(ViewDescriptors {
            sampled: sampled.pack(),
            storage: storage.pack(),
            _planes: mem,
        }))
    }
}

/// The `Generic Plane` descriptors of `levels` of `layers` of an image at
/// GPU VA `base`, layer-major as the texture unit indexes them; `volume`
/// planes step through 3D slices.
pub fn plane_array(
    layout: &ImageLayout,
    base: u64,
    clump: u8,
    levels: Range<u32>,
    layers: Range<u32>,
    volume: bool,
) -> VkResult<Vec<u8>> {
    let ordering = match layout.desc().tiling {
        Tiling::Linear => ClumpOrdering::Linear,
        Tiling::Interleaved64K => ClumpOrdering::Interleaved64K,
    };
    let mut planes = Vec::with_capacity(levels.len() * layers.len() * DESCRIPTOR_SIZE);
    for layer in layers {
        for level in levels.clone() {
            let (Some(sub), Some(extent)) = (
                layout.subresource(level, layer),
                layout.level_extent_texels(level),
            ) else {
                vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "view of level {level} layer {layer} outside the image"
                );
            };
            let plane = GenericPlane {
                ordering,
                clump_format: clump,
                size: u32::try_from(sub.size).unwrap_or(u32::MAX),
                pointer: base + sub.offset,
                row_stride: u32::try_from(sub.row_pitch).unwrap_or(u32::MAX),
                slice_stride: if volume {
                    u32::try_from(sub.depth_pitch).unwrap_or(u32::MAX)
                } else {
                    0
                },
                width: extent[0],
                height: extent[1],
            };
            planes.extend_from_slice(&plane.pack());
        }
    }
    Ok(planes)
}

/// Whether the texture unit must de-interleave texel blocks: tiled
/// layouts and compressed formats.
pub fn texel_interleave(layout: &ImageLayout) -> bool {
    let desc = layout.desc();
    desc.tiling != Tiling::Linear || desc.block.extent != [1, 1, 1]
}
