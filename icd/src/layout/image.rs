//! [`ImageLayout`]: the validated layout of one image, built once from an
//! [`ImageDesc`] and queried by the ICD.
//!
//! # Optimal images, level by level
//!
//! Each level `l` is a grid of `tiles_in_level(l)` 64 KiB tiles (its extent
//! in texel blocks rounded up to the tile shape), tiles in row-major order
//! (x, then y, then z). Within one layer the levels before the mip tail come
//! first, back to back, then (with [`MipTailMode::PerLayer`]) the tail levels,
//! back to back, each still a whole number of tiles laid out exactly like a
//! non-tail level. So every level of every layer starts on a 64 KiB boundary
//! and is itself a valid `DRM_FORMAT_MOD_ARM_INTERLEAVED_64K` plane (base,
//! tile-row pitch) that the texture unit can sample; the price is that a tail
//! level smaller than a tile still takes 64 KiB (the tail of a square 32-bit
//! 2D image is at most 7 tiles, 64x64 down to 1x1, where the texel data would
//! fit in one).
//!
//! Worked example: 2D, 4-byte texels, 256x256, 9 levels, 1 layer. Tile
//! 128x128. Level 0 is 2x2 tiles (256 KiB at 0), level 1 is one tile (at
//! 256 KiB), levels 2..=8 (64x64 .. 1x1) are the tail: one tile each, from
//! 320 KiB, 448 KiB in all; image size 768 KiB. Texel (17, 0) of level 0 is in
//! tile 0, u-block 1, U index 1: offset 1024 + 4 = 1028. Texel (0, 128) is the
//! first texel of tile 2: offset 128 KiB.
//!
//! With [`MipTailMode::Single`] the layer stride covers only the non-tail
//! levels; after all layers comes one region with the tail of layer 0, then
//! that of layer 1, and so on (each a whole number of tiles).
//!
//! # Linear images
//!
//! See [`super::linear`]: levels back to back in each layer, 64-byte aligned
//! rows and levels, layers `layer_stride` apart.

use super::error::{LayoutError, RegionError};
use super::interleaved::TileGeometry;
use super::linear::linear_level;
use super::mip::{first_tail_level, level_extent, max_levels};
use super::shapes::tile_shape;
use super::{
    blocks_to_texels, texels_to_blocks, Dim, ImageDesc, MipTailMode, Tiling, LINEAR_ALIGNMENT,
    TILE_BYTES,
};

/// Where one subresource (level, layer) lives. For linear images these are the
/// `VkSubresourceLayout` values. For optimal images `row_pitch` is the bytes
/// between vertically adjacent rows of *tiles* (tiles per row x 64 KiB, the
/// modifier's plane stride) and `depth_pitch` the bytes between z-adjacent
/// layers of *bricks* (3D) or the level size (1D/2D); texel addressing inside
/// tiles needs [`ImageLayout::block_offset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubresourceLayout {
    /// Byte offset of the subresource from the start of the image.
    pub offset: u64,
    /// Bytes of the subresource (all samples; a whole number of tiles for
    /// optimal images).
    pub size: u64,
    /// See the type's documentation.
    pub row_pitch: u64,
    /// Bytes from this level of one layer to the same level of the next layer.
    pub array_pitch: u64,
    /// See the type's documentation.
    pub depth_pitch: u64,
}

/// The mip tail of a sparse (optimal) image: what the ICD reports in
/// `VkSparseImageMemoryRequirements`.
///
/// - [`MipTailMode::PerLayer`]: `imageMipTailOffset = offset` (layer 0's
///   tail), `imageMipTailSize = size` (one layer's tail), `imageMipTailStride =
///   stride` (the layer stride); no `SINGLE_MIPTAIL_BIT`.
/// - [`MipTailMode::Single`]: `offset` and `size` cover the one region holding
///   every layer's tail, `stride` is 0; report `SINGLE_MIPTAIL_BIT`.
///
/// `size` is a multiple of 64 KiB. When the image has no tail level the ICD
/// reports `imageMipTailFirstLod = mipLevels` and zeros (see
/// [`ImageLayout::mip_tail_first_lod`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MipTail {
    /// First mip level in the tail (`imageMipTailFirstLod`).
    pub first_lod: u32,
    /// Byte offset of the (first) tail region in the image.
    pub offset: u64,
    /// Bytes of one layer's tail (per layer) or of the whole tail (single).
    pub size: u64,
    /// Bytes between layers' tails (per layer), 0 (single).
    pub stride: u64,
}

/// A sparse image block bind region in tiles: the tiles `first ..
/// first + count` of one non-tail level (see [`ImageLayout::sparse_region`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRegion {
    /// Mip level.
    pub level: u32,
    /// Array layer.
    pub layer: u32,
    /// First tile (x, y, z).
    pub first: [u32; 3],
    /// Tiles in each dimension (each at least 1).
    pub count: [u32; 3],
}

impl TileRegion {
    /// Number of tiles in the region.
    pub fn len(&self) -> u64 {
        self.count.iter().map(|&c| u64::from(c)).product()
    }

    /// Whether the region has no tile (never for regions made by
    /// [`ImageLayout::sparse_region`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `index`-th tile of the region in bind order: x fastest, then y,
    /// then z. `None` past the end.
    pub fn tile(&self, index: u64) -> Option<[u32; 3]> {
        if index >= self.len() {
            return None;
        }
        let [cx, cy, _] = self.count.map(u64::from);
        let local = [index % cx, (index / cx) % cy, index / (cx * cy)];
        // Each local coordinate is below its count, so it fits a u32; a
        // hand-made region whose end passes u32::MAX has no such tile.
        let [x, y, z] = [0, 1, 2].map(|i| self.first[i].checked_add(local[i] as u32));
        Some([x?, y?, z?])
    }

    /// The tiles of the region in bind order: x fastest, then y, then z. The
    /// n-th tile is bound to `memoryOffset + n x 64 KiB` of the bind.
    pub fn tiles(&self) -> impl Iterator<Item = [u32; 3]> + '_ {
        (0..self.len()).filter_map(move |i| self.tile(i))
    }
}

/// A run of tiles of a bind region that is contiguous both in the image and in
/// the bound memory: one VM_BIND operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindRun {
    /// Byte offset of the run in the image (64 KiB aligned).
    pub image_offset: u64,
    /// Byte offset of the run from the bind's `memoryOffset`.
    pub memory_offset: u64,
    /// Bytes in the run (a multiple of 64 KiB).
    pub size: u64,
}

/// Iterator over the maximal [`BindRun`]s of a [`TileRegion`], in bind order.
#[derive(Debug, Clone)]
pub struct BindRuns<'a> {
    layout: &'a ImageLayout,
    region: TileRegion,
    next: u64,
}

impl Iterator for BindRuns<'_> {
    type Item = BindRun;

    fn next(&mut self) -> Option<BindRun> {
        let offset_of = |i: u64| {
            let t = self.region.tile(i)?;
            self.layout
                .sparse_tile_offset(self.region.level, self.region.layer, t)
        };
        let start_index = self.next;
        let image_offset = offset_of(start_index)?;
        let mut size = TILE_BYTES;
        self.next += 1;
        while offset_of(self.next) == Some(image_offset + size) {
            size += TILE_BYTES;
            self.next += 1;
        }
        Some(BindRun {
            image_offset,
            memory_offset: start_index * TILE_BYTES,
            size,
        })
    }
}

/// One mip level: its extents and where layer 0's copy of it lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Level {
    extent_texels: [u32; 3],
    extent_blocks: [u32; 3],
    /// Tile grid (optimal only; zeros for linear).
    tiles: [u32; 3],
    /// Offset of layer 0's copy of this level.
    base: u64,
    /// Bytes from one layer's copy to the next.
    array_pitch: u64,
    size: u64,
    row_pitch: u64,
    depth_pitch: u64,
}

/// The memory layout of one image. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLayout {
    desc: ImageDesc,
    levels: Vec<Level>,
    /// `Some` for optimal images.
    tile: Option<TileGeometry>,
    /// First mip tail level; `levels` if none (always for linear).
    first_tail: u32,
    layer_stride: u64,
    size: u64,
    tail: Option<MipTail>,
}

/// Checks the rules that do not depend on the tiling's arithmetic.
fn validate(desc: &ImageDesc) -> Result<(), LayoutError> {
    let extent = desc.extent;
    if extent.contains(&0) {
        return Err(LayoutError::ZeroExtent { extent });
    }
    if desc.levels == 0 {
        return Err(LayoutError::ZeroLevels);
    }
    if desc.layers == 0 {
        return Err(LayoutError::ZeroLayers);
    }
    if desc.block.bytes == 0 || desc.block.extent.contains(&0) {
        return Err(LayoutError::ZeroBlock);
    }
    let dims_ok = match desc.dim {
        Dim::D1 => extent[1] == 1 && extent[2] == 1,
        Dim::D2 => extent[2] == 1,
        Dim::D3 => true,
    };
    if !dims_ok {
        return Err(LayoutError::ExtentForDim {
            dim: desc.dim,
            extent,
        });
    }
    if desc.dim == Dim::D3 && desc.layers != 1 {
        return Err(LayoutError::VolumeArray {
            layers: desc.layers,
        });
    }
    if ![1, 2, 4, 8, 16].contains(&desc.samples) {
        return Err(LayoutError::SampleCount {
            samples: desc.samples,
        });
    }
    if desc.samples > 1 {
        let reason = if desc.dim != Dim::D2 {
            Some("only 2D images can be multisampled")
        } else if desc.levels != 1 {
            Some("multisample images have exactly one mip level")
        } else if desc.tiling == Tiling::Linear {
            Some("linear images are single-sample")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(LayoutError::MultisampleUnsupported { reason });
        }
    }
    let max = max_levels(extent);
    if desc.levels > max {
        return Err(LayoutError::TooManyLevels {
            levels: desc.levels,
            max,
        });
    }
    Ok(())
}

impl ImageLayout {
    /// Validates `desc` and computes its layout.
    pub fn new(desc: &ImageDesc) -> Result<ImageLayout, LayoutError> {
        validate(desc)?;
        match desc.tiling {
            Tiling::Linear => Self::new_linear(desc),
            Tiling::Interleaved64K => Self::new_optimal(desc),
        }
    }

    fn new_linear(desc: &ImageDesc) -> Result<ImageLayout, LayoutError> {
        let mut levels = Vec::with_capacity(desc.levels as usize);
        let mut offset = 0u64;
        for l in 0..desc.levels {
            let extent_texels = level_extent(desc.extent, l);
            let extent_blocks = texels_to_blocks(extent_texels, desc.block);
            let ll = linear_level(extent_blocks, desc.block.bytes).ok_or(LayoutError::Overflow)?;
            levels.push(Level {
                extent_texels,
                extent_blocks,
                tiles: [0; 3],
                base: offset,
                array_pitch: 0,
                size: ll.size,
                row_pitch: ll.row_pitch,
                depth_pitch: ll.depth_pitch,
            });
            offset = offset.checked_add(ll.size).ok_or(LayoutError::Overflow)?;
        }
        let layer_stride = offset;
        for level in &mut levels {
            level.array_pitch = layer_stride;
        }
        let size = layer_stride
            .checked_mul(u64::from(desc.layers))
            .ok_or(LayoutError::Overflow)?;
        Ok(ImageLayout {
            desc: *desc,
            levels,
            tile: None,
            first_tail: desc.levels,
            layer_stride,
            size,
            tail: None,
        })
    }

    fn new_optimal(desc: &ImageDesc) -> Result<ImageLayout, LayoutError> {
        let unsupported = LayoutError::UnsupportedBlockBytes {
            bytes: desc.block.bytes,
        };
        let shape = tile_shape(desc.dim, desc.block.bytes, desc.samples).ok_or(unsupported)?;
        let tile = TileGeometry::new(shape, desc.block.bytes, desc.samples).ok_or(unsupported)?;
        let granularity = blocks_to_texels(shape, desc.block);
        let first_tail = first_tail_level(desc.extent, desc.levels, granularity);

        // Offsets of levels within their part: the non-tail levels of a layer,
        // or one layer's tail.
        let mut levels = Vec::with_capacity(desc.levels as usize);
        let mut non_tail_bytes = 0u64;
        let mut tail_bytes = 0u64;
        for l in 0..desc.levels {
            let extent_texels = level_extent(desc.extent, l);
            let extent_blocks = texels_to_blocks(extent_texels, desc.block);
            let tiles = [0, 1, 2].map(|i| extent_blocks[i].div_ceil(shape[i]));
            let row_pitch = u64::from(tiles[0]) * TILE_BYTES;
            let depth_pitch = row_pitch
                .checked_mul(u64::from(tiles[1]))
                .ok_or(LayoutError::Overflow)?;
            let size = depth_pitch
                .checked_mul(u64::from(tiles[2]))
                .ok_or(LayoutError::Overflow)?;
            let part = if l < first_tail {
                &mut non_tail_bytes
            } else {
                &mut tail_bytes
            };
            let base = *part;
            *part = part.checked_add(size).ok_or(LayoutError::Overflow)?;
            levels.push(Level {
                extent_texels,
                extent_blocks,
                tiles,
                base,
                array_pitch: 0,
                size,
                row_pitch,
                depth_pitch,
            });
        }

        let layers = u64::from(desc.layers);
        let overflow = || LayoutError::Overflow;
        let has_tail = first_tail < desc.levels;
        let (layer_stride, size, tail) = match desc.mip_tail {
            MipTailMode::PerLayer => {
                let layer_stride = non_tail_bytes
                    .checked_add(tail_bytes)
                    .ok_or_else(overflow)?;
                for (l, level) in levels.iter_mut().enumerate() {
                    if l as u32 >= first_tail {
                        level.base += non_tail_bytes;
                    }
                    level.array_pitch = layer_stride;
                }
                let tail = has_tail.then_some(MipTail {
                    first_lod: first_tail,
                    offset: non_tail_bytes,
                    size: tail_bytes,
                    stride: layer_stride,
                });
                let size = layer_stride.checked_mul(layers).ok_or_else(overflow)?;
                (layer_stride, size, tail)
            }
            MipTailMode::Single => {
                let tail_offset = non_tail_bytes.checked_mul(layers).ok_or_else(overflow)?;
                let all_tails = tail_bytes.checked_mul(layers).ok_or_else(overflow)?;
                for (l, level) in levels.iter_mut().enumerate() {
                    if l as u32 >= first_tail {
                        level.base += tail_offset;
                        level.array_pitch = tail_bytes;
                    } else {
                        level.array_pitch = non_tail_bytes;
                    }
                }
                let tail = has_tail.then_some(MipTail {
                    first_lod: first_tail,
                    offset: tail_offset,
                    size: all_tails,
                    stride: 0,
                });
                let size = tail_offset.checked_add(all_tails).ok_or_else(overflow)?;
                (non_tail_bytes, size, tail)
            }
        };

        Ok(ImageLayout {
            desc: *desc,
            levels,
            tile: Some(tile),
            first_tail,
            layer_stride,
            size,
            tail,
        })
    }

    /// The descriptor this layout was built from.
    pub fn desc(&self) -> &ImageDesc {
        &self.desc
    }

    /// Total bytes of the image (`VkMemoryRequirements::size`); a multiple of
    /// 64 KiB for optimal images, of 64 bytes for linear ones.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Required alignment of the image's memory: 64 KiB for optimal images
    /// (one tile, the sparse block size), 64 bytes for linear images. The ICD
    /// may raise it (e.g. to the page size).
    pub fn alignment(&self) -> u64 {
        match self.tile {
            Some(_) => TILE_BYTES,
            None => LINEAR_ALIGNMENT,
        }
    }

    /// Bytes between the starts of consecutive layers. With
    /// [`MipTailMode::Single`] this covers only the non-tail levels (and is 0
    /// when every level is in the tail).
    pub fn layer_stride(&self) -> u64 {
        self.layer_stride
    }

    /// The tile shape in texel blocks (= the sparse image block shape; 1D
    /// images use the 2D shape), or `None` for linear images.
    pub fn tile_shape(&self) -> Option<[u32; 3]> {
        self.tile.map(|t| t.shape())
    }

    /// The sparse block granularity in texels (`imageGranularity`): the tile
    /// shape times the block extent; `None` for linear images.
    pub fn granularity_texels(&self) -> Option<[u32; 3]> {
        self.tile_shape()
            .map(|s| blocks_to_texels(s, self.desc.block))
    }

    fn level(&self, level: u32) -> Option<&Level> {
        self.levels.get(level as usize)
    }

    /// Extent of `level` in texels, `None` if there is no such level.
    pub fn level_extent_texels(&self, level: u32) -> Option<[u32; 3]> {
        self.level(level).map(|l| l.extent_texels)
    }

    /// Extent of `level` in texel blocks, `None` if there is no such level.
    pub fn level_extent_blocks(&self, level: u32) -> Option<[u32; 3]> {
        self.level(level).map(|l| l.extent_blocks)
    }

    /// The tile grid of `level` (x, y, z tile counts) for optimal images, also
    /// for tail levels (whose tiles are not separately bindable); `None` for
    /// linear images or no such level.
    pub fn tiles_in_level(&self, level: u32) -> Option<[u32; 3]> {
        self.tile?;
        self.level(level).map(|l| l.tiles)
    }

    /// Where subresource (`level`, `layer`) lives; `None` if it does not exist.
    pub fn subresource(&self, level: u32, layer: u32) -> Option<SubresourceLayout> {
        let lv = self.level(level)?;
        if layer >= self.desc.layers {
            return None;
        }
        Some(SubresourceLayout {
            offset: lv.base + u64::from(layer) * lv.array_pitch,
            size: lv.size,
            row_pitch: lv.row_pitch,
            array_pitch: lv.array_pitch,
            depth_pitch: lv.depth_pitch,
        })
    }

    /// Byte offset in the image of texel block `block` (x, y, z in blocks;
    /// z is 0 except for 3D images) of `sample` of subresource (`level`,
    /// `layer`). `None` if any coordinate is out of range. The block's bytes
    /// are `[offset, offset + block.bytes)`.
    pub fn block_offset(
        &self,
        level: u32,
        layer: u32,
        sample: u32,
        block: [u32; 3],
    ) -> Option<u64> {
        let lv = self.level(level)?;
        let in_range = (0..3).all(|i| block[i] < lv.extent_blocks[i]);
        if !in_range || layer >= self.desc.layers || sample >= self.desc.samples {
            return None;
        }
        let base = lv.base + u64::from(layer) * lv.array_pitch;
        let within = match &self.tile {
            None => {
                u64::from(block[2]) * lv.depth_pitch
                    + u64::from(block[1]) * lv.row_pitch
                    + u64::from(block[0]) * u64::from(self.desc.block.bytes)
            }
            Some(tile) => {
                let shape = tile.shape();
                let t = [0, 1, 2].map(|i| block[i] / shape[i]);
                let local = [0, 1, 2].map(|i| block[i] % shape[i]);
                tile_index(lv.tiles, t) * TILE_BYTES + tile.offset(local, sample)
            }
        };
        Some(base + within)
    }

    /// The mip tail, or `None` if no level is in it (or the image is linear).
    pub fn mip_tail(&self) -> Option<MipTail> {
        self.tail
    }

    /// `imageMipTailFirstLod`: the first tail level, or the level count if
    /// there is no tail.
    pub fn mip_tail_first_lod(&self) -> u32 {
        self.first_tail
    }

    /// Whether `level` is in the mip tail (bound opaquely, not by blocks).
    pub fn is_in_mip_tail(&self, level: u32) -> bool {
        level >= self.first_tail && level < self.desc.levels
    }

    /// Byte offset of the 64 KiB tile at tile coordinates `tile` of non-tail
    /// `level` of `layer`: the memory a sparse block bind of that block maps.
    /// `None` for linear images, tail levels, or coordinates out of range.
    pub fn sparse_tile_offset(&self, level: u32, layer: u32, tile: [u32; 3]) -> Option<u64> {
        self.tile?;
        if level >= self.first_tail || layer >= self.desc.layers {
            return None;
        }
        let lv = self.level(level)?;
        if (0..3).any(|i| tile[i] >= lv.tiles[i]) {
            return None;
        }
        Some(lv.base + u64::from(layer) * lv.array_pitch + tile_index(lv.tiles, tile) * TILE_BYTES)
    }

    /// Checks a sparse image block bind region (`VkSparseImageMemoryBind`:
    /// `offset` and `extent` in texels of subresource (`level`, `layer`)) and
    /// returns the tiles it covers. The rules are Vulkan's: the level is not
    /// in the mip tail; the offset is a multiple of the granularity; each
    /// extent is a multiple of the granularity or reaches the level's edge;
    /// the region lies inside the level.
    pub fn sparse_region(
        &self,
        level: u32,
        layer: u32,
        offset: [u32; 3],
        extent: [u32; 3],
    ) -> Result<TileRegion, RegionError> {
        let granularity = self.granularity_texels().ok_or(RegionError::NotTiled)?;
        let lv = match self.level(level) {
            Some(lv) if layer < self.desc.layers => lv,
            _ => return Err(RegionError::NoSuchSubresource { level, layer }),
        };
        if level >= self.first_tail {
            return Err(RegionError::InMipTail {
                level,
                first_lod: self.first_tail,
            });
        }
        if extent.contains(&0) {
            return Err(RegionError::EmptyExtent);
        }
        let level_extent = lv.extent_texels;
        let fits = (0..3)
            .all(|i| u64::from(offset[i]) + u64::from(extent[i]) <= u64::from(level_extent[i]));
        if !fits {
            return Err(RegionError::OutOfBounds {
                offset,
                extent,
                level_extent,
            });
        }
        let aligned = (0..3).all(|i| {
            offset[i] % granularity[i] == 0
                && (extent[i] % granularity[i] == 0 || offset[i] + extent[i] == level_extent[i])
        });
        if !aligned {
            return Err(RegionError::Unaligned {
                offset,
                extent,
                granularity,
            });
        }
        Ok(TileRegion {
            level,
            layer,
            first: [0, 1, 2].map(|i| offset[i] / granularity[i]),
            count: [0, 1, 2].map(|i| extent[i].div_ceil(granularity[i])),
        })
    }

    /// The maximal runs of `region` that are contiguous in the image, in bind
    /// order, with their offsets in the image and in the bound memory: the
    /// VM_BIND operations of one `VkSparseImageMemoryBind`. A region of whole
    /// tile rows of a level is a single run.
    pub fn bind_runs(&self, region: &TileRegion) -> BindRuns<'_> {
        BindRuns {
            layout: self,
            region: *region,
            next: 0,
        }
    }
}

/// Row-major index of tile `t` in a grid of `tiles` (x fastest, then y, then z).
fn tile_index(tiles: [u32; 3], t: [u32; 3]) -> u64 {
    (u64::from(t[2]) * u64::from(tiles[1]) + u64::from(t[1])) * u64::from(tiles[0])
        + u64::from(t[0])
}
