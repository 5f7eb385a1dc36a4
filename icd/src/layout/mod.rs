//! Image memory layouts: where every texel block of an image lives in memory.
//!
//! This module is pure arithmetic. The ICD describes an image with an
//! [`ImageDesc`] (its own small types; the ICD maps Vulkan enums and formats
//! onto them), builds an [`ImageLayout`] once at `vkCreateImage`, and then asks
//! it everything that depends on the layout:
//!
//! - `vkGetImageMemoryRequirements`: [`ImageLayout::size`], [`ImageLayout::alignment`];
//! - `vkGetImageSubresourceLayout`: [`ImageLayout::subresource`];
//! - `vkGetImageSparseMemoryRequirements` / `vkGetPhysicalDeviceSparseImageFormatProperties`:
//!   [`ImageLayout::granularity_texels`], [`ImageLayout::mip_tail`],
//!   [`ImageLayout::mip_tail_first_lod`], [`standard_block_shape`];
//! - sparse image block binds (which 64 KiB of the image one bound block is):
//!   [`ImageLayout::sparse_region`], [`ImageLayout::sparse_tile_offset`];
//! - buffer <-> image copies: [`ImageLayout::block_offset`].
//!
//! # The layouts
//!
//! **Optimal tiling** ([`Tiling::Interleaved64K`]) is the Mali layout named by
//! `DRM_FORMAT_MOD_ARM_INTERLEAVED_64K` (Linux `include/uapi/drm/drm_fourcc.h`):
//! each mip level is a grid of 64 KiB tiles laid out row-major; a tile is a
//! grid of 16x16 texel-block "u-blocks" laid out row-major; inside a u-block
//! texel blocks follow the U order (see [`interleaved`]). A tile has exactly the
//! shape of the Vulkan standard sparse image block ([`shapes`]), so one sparse
//! block bind maps exactly one tile. The modifier only defines 2D single-sample
//! planes; this module extends it (our own choice, documented in
//! [`interleaved`]) to 3D images (64 KiB bricks of the standard 3D shape) and
//! multisample images (tiles of the standard multisample shape, each u-block
//! holding one plane per sample).
//!
//! Every level is a whole number of tiles (its extent rounded up to the tile
//! shape), levels of a layer are consecutive, layers are `layer_stride` apart
//! and the image is 64 KiB aligned. The *mip tail* ([`mip`]) is the first level
//! that is smaller than one sparse block (in texels) in some dimension, and all
//! levels after it; it sits after each layer's other levels
//! ([`MipTailMode::PerLayer`]) or, for all layers together, after all layers
//! ([`MipTailMode::Single`]).
//!
//! **Linear tiling** ([`Tiling::Linear`], also `DRM_FORMAT_MOD_LINEAR`) is rows
//! of texel blocks with a row pitch rounded up to 64 bytes ([`linear`]).
//!
//! # Units
//!
//! Extents given by the ICD ([`ImageDesc::extent`], sparse bind regions) are in
//! texels, as in Vulkan. Everything else (tile shapes, level extents, block
//! coordinates) is in *texel blocks*: for uncompressed formats one block is one
//! texel; for BC1 a block is 4x4 texels of 8 bytes. [`blocks_to_texels`]
//! converts back.

pub mod error;
pub mod image;
pub mod interleaved;
pub mod linear;
pub mod mip;
pub mod shapes;

#[cfg(test)]
mod tests;

pub use error::{LayoutError, RegionError};
pub use image::{BindRun, BindRuns, ImageLayout, MipTail, SubresourceLayout, TileRegion};
pub use interleaved::{u_order, u_order_inverse};
pub use shapes::{standard_block_shape, standard_block_shape_texels};

/// Bytes in one tile of the optimal layout, one sparse image block and one
/// sparse bind granule: 64 KiB (every Vulkan standard sparse block shape is
/// 64 KiB).
pub const TILE_BYTES: u64 = 65536;

/// Alignment of every level of a linear image, and of its row pitch.
pub const LINEAR_ALIGNMENT: u64 = 64;

/// One texel block of a format: its size in bytes and how many texels it
/// covers in x, y and z. Uncompressed formats have a 1x1x1 block (see
/// [`TexelBlock::texel`]); BC1 is `{ bytes: 8, extent: [4, 4, 1] }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TexelBlock {
    /// Bytes per texel block. For multi-plane or depth/stencil formats the ICD
    /// describes one plane or aspect at a time.
    pub bytes: u32,
    /// Texels per block in x, y and z.
    pub extent: [u32; 3],
}

impl TexelBlock {
    /// The block of an uncompressed format: one texel of `bytes` bytes.
    pub const fn texel(bytes: u32) -> TexelBlock {
        TexelBlock {
            bytes,
            extent: [1, 1, 1],
        }
    }

    /// A compressed block of `bytes` bytes covering `extent` texels.
    pub const fn compressed(bytes: u32, extent: [u32; 3]) -> TexelBlock {
        TexelBlock { bytes, extent }
    }
}

/// Dimensionality of an image (`VkImageType`). Cube images are [`Dim::D2`]
/// arrays of 6k layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    /// One-dimensional: height and depth are 1. Laid out as a 2D image of
    /// height 1 (so with optimal tiling every level takes at least one full
    /// 64 KiB tile: the ICD should prefer [`Tiling::Linear`] for 1D images).
    D1,
    /// Two-dimensional: depth is 1; arrays use layers.
    D2,
    /// Three-dimensional: one layer; levels shrink in depth too.
    D3,
}

/// Memory arrangement of texel blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tiling {
    /// `VK_IMAGE_TILING_LINEAR` and `DRM_FORMAT_MOD_LINEAR`: rows of texel
    /// blocks, row pitch rounded up to 64 bytes. Never sparse.
    Linear,
    /// `VK_IMAGE_TILING_OPTIMAL`: `DRM_FORMAT_MOD_ARM_INTERLEAVED_64K`
    /// (extended to 3D and multisample images as described in [`interleaved`]).
    Interleaved64K,
}

/// Where the mip tails of an array image live (only meaningful for
/// [`Tiling::Interleaved64K`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MipTailMode {
    /// Each layer's tail follows that layer's other levels and the layer
    /// stride includes it. The ICD reports no `SINGLE_MIPTAIL_BIT`;
    /// `imageMipTailStride` is the layer stride.
    PerLayer,
    /// The tails of all layers are packed together in one region after all
    /// layers. The ICD reports `VK_SPARSE_IMAGE_FORMAT_SINGLE_MIPTAIL_BIT`.
    Single,
}

/// Everything the layout depends on. Build an [`ImageLayout`] from it with
/// [`ImageLayout::new`], which validates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageDesc {
    /// Image type.
    pub dim: Dim,
    /// Extent of level 0 in texels (width, height, depth). Height and depth are
    /// 1 for [`Dim::D1`], depth is 1 for [`Dim::D2`].
    pub extent: [u32; 3],
    /// Number of mip levels, at least 1 and at most `floor(log2(max extent)) + 1`.
    pub levels: u32,
    /// Number of array layers, at least 1; exactly 1 for [`Dim::D3`].
    pub layers: u32,
    /// Samples per texel: 1, 2, 4, 8 or 16. More than 1 only for optimal,
    /// single-level [`Dim::D2`] images.
    pub samples: u32,
    /// The format's texel block.
    pub block: TexelBlock,
    /// Linear or optimal.
    pub tiling: Tiling,
    /// Per-layer or single mip tail (ignored for linear images).
    pub mip_tail: MipTailMode,
}

/// Converts a shape in texel blocks (a tile shape, a level extent) to texels by
/// multiplying by the block extent: a BC1 (8-byte block) standard sparse block
/// of 128x64 blocks is 512x256 texels. Saturates at `u32::MAX`, which no valid
/// shape reaches.
pub fn blocks_to_texels(shape_blocks: [u32; 3], block: TexelBlock) -> [u32; 3] {
    [0, 1, 2].map(|i| shape_blocks[i].saturating_mul(block.extent[i]))
}

/// Converts an extent in texels to texel blocks, rounding up (a 10x10 BC1
/// level is 3x3 blocks). A zero block extent is treated as 1.
pub fn texels_to_blocks(extent_texels: [u32; 3], block: TexelBlock) -> [u32; 3] {
    [0, 1, 2].map(|i| extent_texels[i].div_ceil(block.extent[i].max(1)))
}
