//! Image transfers lowered to CSF instructions: `vkCmdCopyBufferToImage`,
//! `vkCmdCopyImageToBuffer`, `vkCmdCopyImage` and `vkCmdClearColorImage`,
//! for images laid out by [`crate::layout`].
//!
//! The command stream can only move whole, 4-byte aligned 32-bit words
//! (`LOAD_MULTIPLE` / `STORE_MULTIPLE` of up to 16 registers; there are no
//! shifts or masks), so images must have 4, 8 or 16-byte texel blocks
//! (uncompressed 32/64/128-bit formats, BC/ETC2/ASTC blocks): one block is
//! 1, 2 or 4 words.
//!
//! # How a copy becomes a stream
//!
//! 1. **Cells.** The region (in texel blocks) is cut at every u-block
//!    boundary (16x16 blocks, see [`crate::layout::interleaved`]) of every
//!    optimal side. A cell lies inside one u-block of each optimal side, so
//!    inside it a block's address is the u-block's base plus `u_order(x, y)
//!    x bytes`, and on a linear side (buffer, linear image) the cell's first
//!    block plus `y x row_pitch + x x bytes`. A cell's *shape* (size and
//!    position inside its u-blocks) fixes all its offsets: it becomes one
//!    straight-line **body** addressed from two base registers, emitted once
//!    however many cells share the shape. A full u-block of a 1024-wide
//!    RGBA8 upload is one shape; an unaligned region adds edge shapes.
//! 2. **Loops.** Cells are grouped into *units*, the part of the region in
//!    one u-block of one optimal side (one cell, or up to 2x2 when both
//!    sides are optimal at different phases). Units are listed along x into
//!    bands, bands along y into a slice, and slices (array layers, 3D
//!    slices, samples) in order; along each of these a greedy run-length
//!    folder (`Folder`) turns repeats of the same tree at a constant
//!    address step into a loop, and loops of loops: 8 u-blocks of a tile
//!    row at +1 KiB become one loop, 8 tiles at +64 KiB a loop around it,
//!    and so on. The whole 1024x1024 RGBA8 upload is one body in four
//!    nested loops. Where the steps change (a region starting in the middle
//!    of a tile) a new run starts, and `fold_periodic` folds runs that
//!    repeat as a group (once per tile), so a few copies of a body appear,
//!    never one per cell.
//! 3. **Bodies.** A body loads up to 64 data registers from the source in
//!    source order (runs of contiguous words, 16 per `LOAD_MULTIPLE`), waits,
//!    then stores them in destination order, one `STORE_MULTIPLE` per run
//!    contiguous in both the destination and the registers. In U order two
//!    horizontally adjacent blocks are adjacent only on even rows (`(0,0)
//!    (1,0) (1,1) (0,1)`), so a full u-block of 4-byte texels takes 16 loads,
//!    4 waits and 192 stores (64 pairs, 128 singles).
//! 4. **Addresses.** The base registers are moved lazily (`Emitter`): the
//!    emitter knows how far each register is from the address the current
//!    tree node is relative to, and emits `ADD_IMMEDIATE64` only when an
//!    access would not fit the signed 16-bit offset of LOAD/STORE_MULTIPLE,
//!    or at a loop's back edge to bring the register to where the next
//!    iteration expects it (the step and the body's own moves in one add).
//!
//! Linear-to-linear copies skip cells: each row (or the whole slice, or the
//! whole copy, when rows are contiguous on both sides) is a contiguous span
//! copied 256 bytes an iteration. Clears fill whole subresources: an optimal
//! level is a whole number of 64 KiB tiles, all of which are written, padding
//! texel blocks past the level's edge included (they belong to the image and
//! are never sampled); a linear level is filled row by row, its row padding
//! untouched.
//!
//! Worked example: 1024x1024 RGBA8 buffer -> optimal. Tiles are 128x128
//! texels = 8x8 u-blocks of 1 KiB. The cell is a full u-block, the buffer
//! row pitch 4096: the body reads rows at +0, +4096 .. +28672 from d0, then
//! moves d0 by 65536 (offsets -32768 .. -4096 reach rows 8 to 15), and
//! stores at U offsets 0 .. 1020 from d2. Loops: 8 u-blocks (+64 B, +1 KiB),
//! 8 tiles (+512 B, +64 KiB), 8 u-block rows (+64 KiB, +8 KiB), 8 tile rows
//! (+512 KiB, +512 KiB). About 250 instructions, 2 KB of stream for 4 MiB.
//!
//! # Registers
//!
//! The transfer owns the register file while it runs: d0 source base, d2
//! destination base, r4..r15 and r80..r95 loop counters (one per nesting
//! depth), r16..r79 data (a clear keeps its pattern in r16..r31).

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use mali_csf::{Condition, CsBuilder};

use crate::layout::interleaved::UBLOCK_DIM;
use crate::layout::{u_order, Dim, ImageLayout, TexelBlock, Tiling};

#[cfg(test)]
mod tests;

/// An image as a transfer sees it: its layout and the GPU VA of its byte 0.
#[derive(Clone, Copy)]
pub struct ImageRef<'a> {
    /// Where every texel block lives relative to byte 0.
    pub layout: &'a ImageLayout,
    /// GPU VA of byte 0 (4-byte aligned; images are 64 B or 64 KiB aligned).
    pub va: u64,
}

/// A subresource region, in texels as Vulkan gives it (offset and extent
/// must be multiples of the block extent, or reach the level's edge for the
/// extent).
///
/// For 3D images `offset[2]`/`extent[2]` select the slices and the layers
/// are `0..1`. For 1D/2D images the layers `base_layer .. base_layer +
/// layer_count` are the slices; `offset[2]` is 0 and `extent[2]` is 1 or, in
/// a 2D-array <-> 3D `vkCmdCopyImage` (`VK_KHR_maintenance1`), may be the
/// layer count. `layer_count == u32::MAX` (`VK_REMAINING_ARRAY_LAYERS`)
/// means every layer from `base_layer`.
#[derive(Clone, Copy, Debug)]
pub struct Region {
    /// Mip level.
    pub level: u32,
    /// First array layer.
    pub base_layer: u32,
    /// Number of array layers.
    pub layer_count: u32,
    /// First texel (x, y, z).
    pub offset: [u32; 3],
    /// Texels (width, height, depth).
    pub extent: [u32; 3],
}

/// `VkBufferImageCopy`'s buffer side: GPU VA of `bufferOffset`, row length
/// and image height in texels (0 = tightly packed as the region's extent).
/// Block (x, y, z) of the region (z counting 3D slices or array layers) is
/// at `va + ((z x image_height_blocks + y) x row_length_blocks + x) x
/// block_bytes`.
#[derive(Clone, Copy, Debug)]
pub struct BufferLayout {
    /// GPU VA of the region's first block (4-byte aligned).
    pub va: u64,
    /// `bufferRowLength`.
    pub row_length: u32,
    /// `bufferImageHeight`.
    pub image_height: u32,
}

/// A transfer this module refuses, with the rule it breaks. Nothing has
/// been emitted when a function returns one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyError {
    /// The mip level does not exist.
    NoSuchLevel { level: u32, levels: u32 },
    /// The layers are not all in the image (3D images have exactly one).
    NoSuchLayers {
        base_layer: u32,
        layer_count: u32,
        layers: u32,
    },
    /// A zero extent or layer count.
    EmptyRegion { extent: [u32; 3], layer_count: u32 },
    /// The region passes the level's edge (texels).
    OutOfBounds {
        offset: [u32; 3],
        extent: [u32; 3],
        level_extent: [u32; 3],
    },
    /// Offset not a multiple of the block extent, or extent neither a
    /// multiple of it nor reaching the level's edge.
    Unaligned {
        offset: [u32; 3],
        extent: [u32; 3],
        block_extent: [u32; 3],
    },
    /// A 1D/2D image region with a z offset, or a depth other than 1 or the
    /// layer count.
    DepthOnLayeredImage {
        offset_z: u32,
        extent_z: u32,
        layer_count: u32,
    },
    /// Texel blocks that are not 4, 8 or 16 bytes cannot be moved in whole
    /// words.
    UnsupportedBlockBytes { bytes: u32 },
    /// A buffer or image address that is not 4-byte aligned.
    UnalignedAddress { what: &'static str, va: u64 },
    /// `bufferRowLength` below the width or not a multiple of the block
    /// width.
    BufferRowLength {
        row_length: u32,
        width: u32,
        block_width: u32,
    },
    /// `bufferImageHeight` below the height or not a multiple of the block
    /// height.
    BufferImageHeight {
        image_height: u32,
        height: u32,
        block_height: u32,
    },
    /// Buffer copies need a single-sample image.
    Multisampled { samples: u32 },
    /// `vkCmdCopyImage` between different sample counts.
    SampleCountMismatch { src: u32, dst: u32 },
    /// `vkCmdCopyImage` between formats of different block sizes (not
    /// size-compatible).
    BlockBytesMismatch { src: u32, dst: u32 },
    /// The two regions of a `vkCmdCopyImage` do not cover the same number of
    /// blocks (width, height, slices or layers).
    ExtentMismatch { src: [u32; 3], dst: [u32; 3] },
    /// Compressed images cannot be cleared.
    CompressedClear { block_extent: [u32; 3] },
    /// The clear value's length is not the block size.
    ClearValueSize { expected: u32, got: usize },
    /// An address computation passes 2^64.
    AddressOverflow,
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CopyError::NoSuchLevel { level, levels } => {
                write!(f, "mip level {level} does not exist (image has {levels})")
            }
            CopyError::NoSuchLayers {
                base_layer,
                layer_count,
                layers,
            } => write!(
                f,
                "layers {base_layer}+{layer_count} are not all in the image's {layers}"
            ),
            CopyError::EmptyRegion {
                extent,
                layer_count,
            } => write!(
                f,
                "empty region: extent {extent:?}, {layer_count} layers"
            ),
            CopyError::OutOfBounds {
                offset,
                extent,
                level_extent,
            } => write!(
                f,
                "region at {offset:?} of {extent:?} passes the level's extent {level_extent:?}"
            ),
            CopyError::Unaligned {
                offset,
                extent,
                block_extent,
            } => write!(
                f,
                "region at {offset:?} of {extent:?} is not aligned to the {block_extent:?} texel block \
                 (offset a multiple, extent a multiple or reaching the edge)"
            ),
            CopyError::DepthOnLayeredImage {
                offset_z,
                extent_z,
                layer_count,
            } => write!(
                f,
                "a 1D/2D region needs z offset 0 and depth 1 or the layer count \
                 ({layer_count}), not offset {offset_z} depth {extent_z}"
            ),
            CopyError::UnsupportedBlockBytes { bytes } => write!(
                f,
                "{bytes}-byte texel blocks cannot be moved in whole 32-bit words \
                 (4, 8 or 16 bytes only)"
            ),
            CopyError::UnalignedAddress { what, va } => {
                write!(f, "{what} address {va:#x} is not 4-byte aligned")
            }
            CopyError::BufferRowLength {
                row_length,
                width,
                block_width,
            } => write!(
                f,
                "bufferRowLength {row_length} must be 0 or at least the width {width} \
                 and a multiple of the block width {block_width}"
            ),
            CopyError::BufferImageHeight {
                image_height,
                height,
                block_height,
            } => write!(
                f,
                "bufferImageHeight {image_height} must be 0 or at least the height {height} \
                 and a multiple of the block height {block_height}"
            ),
            CopyError::Multisampled { samples } => write!(
                f,
                "buffer copies need a single-sample image, not {samples} samples"
            ),
            CopyError::SampleCountMismatch { src, dst } => {
                write!(f, "sample counts differ: source {src}, destination {dst}")
            }
            CopyError::BlockBytesMismatch { src, dst } => write!(
                f,
                "formats are not size-compatible: {src}-byte and {dst}-byte blocks"
            ),
            CopyError::ExtentMismatch { src, dst } => write!(
                f,
                "regions cover different blocks: source {src:?}, destination {dst:?} \
                 (width, height, slices)"
            ),
            CopyError::CompressedClear { block_extent } => write!(
                f,
                "images with {block_extent:?} compressed blocks cannot be cleared"
            ),
            CopyError::ClearValueSize { expected, got } => {
                write!(f, "clear value of {got} bytes for {expected}-byte blocks")
            }
            CopyError::AddressOverflow => write!(f, "transfer addresses pass 2^64"),
        }
    }
}

impl std::error::Error for CopyError {}

/// Copies the region of the buffer described by `buf` into region `r` of
/// `img` (`vkCmdCopyBufferToImage`).
pub fn buffer_to_image(
    b: &mut CsBuilder,
    buf: BufferLayout,
    img: ImageRef<'_>,
    r: &Region,
) -> Result<(), CopyError> {
    let (span, image) = buffer_copy_sides(img, r)?;
    let buffer = buffer_side(&buf, &span, r, img.layout.desc().block)?;
    let plan = plan_copy(
        &buffer,
        &image,
        &span.shape,
        1,
        img.layout.desc().block.bytes,
    )?;
    plan.emit(b);
    Ok(())
}

/// Copies region `r` of `img` into the buffer described by `buf`
/// (`vkCmdCopyImageToBuffer`).
pub fn image_to_buffer(
    b: &mut CsBuilder,
    img: ImageRef<'_>,
    r: &Region,
    buf: BufferLayout,
) -> Result<(), CopyError> {
    let (span, image) = buffer_copy_sides(img, r)?;
    let buffer = buffer_side(&buf, &span, r, img.layout.desc().block)?;
    let plan = plan_copy(
        &image,
        &buffer,
        &span.shape,
        1,
        img.layout.desc().block.bytes,
    )?;
    plan.emit(b);
    Ok(())
}

/// `vkCmdCopyImage` of one region: same block size required (Vulkan
/// "size-compatible"); 2D-array <-> 3D copies map layers to z slices (per
/// `VK_KHR_maintenance1`: the 3D side's z offset and depth play the role of
/// the other side's layers); multisample images copy every sample.
///
/// The copy covers `src_r`'s blocks. When both formats have the same block
/// extent `dst_r` must cover the same number of blocks. When they differ
/// (BC1 <-> R32G32_UINT) `dst_r.extent` is not used for x and y, as
/// `VkImageCopy::extent` is in source texels: the destination receives the
/// source's blocks, one texel (or block) each, from `dst_r.offset`.
pub fn image_to_image(
    b: &mut CsBuilder,
    src: ImageRef<'_>,
    src_r: &Region,
    dst: ImageRef<'_>,
    dst_r: &Region,
) -> Result<(), CopyError> {
    let (sd, dd) = (src.layout.desc(), dst.layout.desc());
    check_block(sd.block)?;
    if sd.block.bytes != dd.block.bytes {
        return Err(CopyError::BlockBytesMismatch {
            src: sd.block.bytes,
            dst: dd.block.bytes,
        });
    }
    if sd.samples != dd.samples {
        return Err(CopyError::SampleCountMismatch {
            src: sd.samples,
            dst: dd.samples,
        });
    }
    let s_span = image_span(src, src_r, None)?;
    let d_span = if sd.block.extent == dd.block.extent {
        image_span(dst, dst_r, None)?
    } else {
        image_span(dst, dst_r, Some(s_span.shape))?
    };
    if s_span.shape != d_span.shape {
        return Err(CopyError::ExtentMismatch {
            src: s_span.shape,
            dst: d_span.shape,
        });
    }
    let (s, d) = (image_side(src, &s_span)?, image_side(dst, &d_span)?);
    let plan = plan_copy(&s, &d, &s_span.shape, sd.samples, sd.block.bytes)?;
    plan.emit(b);
    Ok(())
}

/// `vkCmdClearColorImage` of `layer_count` layers (`u32::MAX`: all from
/// `base_layer`) of `level`: every texel block of every sample gets `block`,
/// the packed value of one texel block ([`crate::clear_color::pack`]).
/// Compressed images cannot be cleared.
pub fn clear(
    b: &mut CsBuilder,
    img: ImageRef<'_>,
    level: u32,
    base_layer: u32,
    layer_count: u32,
    block: &[u8],
) -> Result<(), CopyError> {
    let desc = img.layout.desc();
    check_block(desc.block)?;
    if desc.block.extent != [1, 1, 1] {
        return Err(CopyError::CompressedClear {
            block_extent: desc.block.extent,
        });
    }
    if block.len() != desc.block.bytes as usize {
        return Err(CopyError::ClearValueSize {
            expected: desc.block.bytes,
            got: block.len(),
        });
    }
    check_image_va(img)?;
    let layers = resolve_layers(desc.layers, base_layer, layer_count)?;
    let extent = img
        .layout
        .level_extent_blocks(level)
        .ok_or(CopyError::NoSuchLevel {
            level,
            levels: desc.levels,
        })?;
    let sub = img
        .layout
        .subresource(level, base_layer)
        .ok_or(CopyError::NoSuchLevel {
            level,
            levels: desc.levels,
        })?;
    let origin = img
        .va
        .checked_add(sub.offset)
        .ok_or(CopyError::AddressOverflow)?;
    let mut bodies = Bodies::default();
    // Dimensions from the innermost: (count, bytes between repeats).
    let (bytes, loops) = match desc.tiling {
        Tiling::Interleaved64K => (sub.size, vec![(layers, sub.array_pitch)]),
        Tiling::Linear => {
            let row = u64::from(extent[0]) * u64::from(desc.block.bytes);
            let dims = [
                (extent[1], sub.row_pitch),
                (extent[2], sub.depth_pitch),
                (layers, sub.array_pitch),
            ];
            merge_contiguous(row, &dims)
        }
    };
    let mut tree = contiguous(&mut bodies, bytes, Kind::Fill);
    for (count, pitch) in loops {
        tree = repeat(count, [0, pitch as i64], tree);
    }
    let mut pattern = [0u32; 16];
    let words: Vec<u32> = block
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    for (i, p) in pattern.iter_mut().enumerate() {
        *p = words[i % words.len()];
    }
    let plan = Plan {
        bodies,
        items: vec![Placed {
            at: [0, origin],
            tree,
        }],
        uses: [false, true],
        pattern: Some(pattern),
    };
    plan.emit(b);
    Ok(())
}

// ----- validation -----------------------------------------------------------

/// A validated image region in texel blocks.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub level: u32,
    /// First block (x, y, z); z is 0 unless the image is 3D.
    pub origin: [u32; 3],
    pub base_layer: u32,
    /// Whether slices are z slices (3D) rather than layers.
    pub slices_are_z: bool,
    /// Blocks in x, y and slices (3D depth or layer count).
    pub shape: [u32; 3],
}

/// Checks region `r` of `img` (bounds, layers, block alignment) for a
/// transfer made elsewhere (`meta_copy`), whatever its block size.
pub fn check_region(img: ImageRef<'_>, r: &Region) -> Result<Span, CopyError> {
    image_span(img, r, None)
}

fn check_block(block: TexelBlock) -> Result<(), CopyError> {
    if [4, 8, 16].contains(&block.bytes) {
        Ok(())
    } else {
        Err(CopyError::UnsupportedBlockBytes { bytes: block.bytes })
    }
}

fn check_image_va(img: ImageRef<'_>) -> Result<(), CopyError> {
    if img.va % 4 != 0 {
        return Err(CopyError::UnalignedAddress {
            what: "image",
            va: img.va,
        });
    }
    img.va
        .checked_add(img.layout.size())
        .map(|_| ())
        .ok_or(CopyError::AddressOverflow)
}

/// The layer count, `u32::MAX` resolved to the remaining layers, checked.
fn resolve_layers(layers: u32, base: u32, count: u32) -> Result<u32, CopyError> {
    let count = if count == u32::MAX {
        layers.saturating_sub(base)
    } else {
        count
    };
    let err = CopyError::NoSuchLayers {
        base_layer: base,
        layer_count: count,
        layers,
    };
    match base.checked_add(count) {
        _ if count == 0 => Err(CopyError::EmptyRegion {
            extent: [0; 3],
            layer_count: 0,
        }),
        Some(end) if end <= layers => Ok(count),
        _ => Err(err),
    }
}

/// Checks region `r` of `img` and converts it to blocks. `forced`: the
/// block shape a `vkCmdCopyImage` between different block extents imposes
/// (the destination's x/y extent is then derived from it, not read).
fn image_span(img: ImageRef<'_>, r: &Region, forced: Option<[u32; 3]>) -> Result<Span, CopyError> {
    let desc = img.layout.desc();
    check_image_va(img)?;
    let level_extent = img
        .layout
        .level_extent_texels(r.level)
        .ok_or(CopyError::NoSuchLevel {
            level: r.level,
            levels: desc.levels,
        })?;
    let layer_count = resolve_layers(desc.layers, r.base_layer, r.layer_count)?;
    let be = desc.block.extent;
    let mut extent = r.extent;
    if let Some(shape) = forced {
        // The source's blocks in this image's texels, ending in a partial
        // block where they reach the level's edge.
        for i in 0..2 {
            let texels = u64::from(shape[i]) * u64::from(be[i]);
            let room = u64::from(level_extent[i].saturating_sub(r.offset[i]));
            if room.div_ceil(u64::from(be[i])) < u64::from(shape[i]) {
                let mut wanted = r.extent;
                wanted[i] = texels.min(u64::from(u32::MAX)) as u32;
                return Err(CopyError::OutOfBounds {
                    offset: r.offset,
                    extent: wanted,
                    level_extent,
                });
            }
            extent[i] = texels.min(room) as u32;
        }
    }
    if extent.contains(&0) {
        return Err(CopyError::EmptyRegion {
            extent,
            layer_count,
        });
    }
    let slices_are_z = desc.dim == Dim::D3;
    let z_extent = if slices_are_z {
        extent[2]
    } else {
        if r.offset[2] != 0 || (extent[2] != 1 && extent[2] != layer_count) {
            return Err(CopyError::DepthOnLayeredImage {
                offset_z: r.offset[2],
                extent_z: extent[2],
                layer_count,
            });
        }
        1
    };
    let ext = [extent[0], extent[1], z_extent];
    let fits =
        (0..3).all(|i| u64::from(r.offset[i]) + u64::from(ext[i]) <= u64::from(level_extent[i]));
    if !fits {
        return Err(CopyError::OutOfBounds {
            offset: r.offset,
            extent: ext,
            level_extent,
        });
    }
    let aligned = (0..3).all(|i| {
        r.offset[i] % be[i] == 0 && (ext[i] % be[i] == 0 || r.offset[i] + ext[i] == level_extent[i])
    });
    if !aligned {
        return Err(CopyError::Unaligned {
            offset: r.offset,
            extent: ext,
            block_extent: be,
        });
    }
    let slices = if slices_are_z {
        ext[2].div_ceil(be[2])
    } else {
        layer_count
    };
    Ok(Span {
        level: r.level,
        origin: [0, 1, 2].map(|i| r.offset[i] / be[i]),
        base_layer: r.base_layer,
        slices_are_z,
        shape: [ext[0].div_ceil(be[0]), ext[1].div_ceil(be[1]), slices],
    })
}

/// The image's span and side in a buffer copy (single-sample images only).
fn buffer_copy_sides<'a>(img: ImageRef<'a>, r: &Region) -> Result<(Span, Side<'a>), CopyError> {
    check_block(img.layout.desc().block)?;
    let span = image_span(img, r, None)?;
    let samples = img.layout.desc().samples;
    if samples != 1 {
        return Err(CopyError::Multisampled { samples });
    }
    let side = image_side(img, &span)?;
    Ok((span, side))
}

/// The buffer side of a buffer copy of `span` (region `r` in texels).
fn buffer_side(
    buf: &BufferLayout,
    span: &Span,
    r: &Region,
    block: TexelBlock,
) -> Result<Side<'static>, CopyError> {
    if buf.va % 4 != 0 {
        return Err(CopyError::UnalignedAddress {
            what: "buffer",
            va: buf.va,
        });
    }
    let be = block.extent;
    // The region's texel width/height as the buffer sees them (the image
    // extent, which may end in a partial block at the level's edge).
    let (width, height) = (r.extent[0], r.extent[1]);
    let row_length = match buf.row_length {
        0 => width,
        l if l >= width && l % be[0] == 0 => l,
        l => {
            return Err(CopyError::BufferRowLength {
                row_length: l,
                width,
                block_width: be[0],
            })
        }
    };
    let image_height = match buf.image_height {
        0 => height,
        h if h >= height && h % be[1] == 0 => h,
        h => {
            return Err(CopyError::BufferImageHeight {
                image_height: h,
                height,
                block_height: be[1],
            })
        }
    };
    let bytes = u64::from(block.bytes);
    let row_pitch = u64::from(row_length.div_ceil(be[0])) * bytes;
    let slice_pitch = row_pitch
        .checked_mul(u64::from(image_height.div_ceil(be[1])))
        .ok_or(CopyError::AddressOverflow)?;
    let [w, h, n] = span.shape.map(u64::from);
    let last = (n - 1)
        .checked_mul(slice_pitch)
        .and_then(|v| v.checked_add((h - 1).checked_mul(row_pitch)?))
        .and_then(|v| v.checked_add(w * bytes))
        .and_then(|v| v.checked_add(buf.va));
    if last.is_none() || row_pitch > i64::MAX as u64 / 16 || slice_pitch > i64::MAX as u64 / 16 {
        return Err(CopyError::AddressOverflow);
    }
    Ok(Side::Linear {
        origin: buf.va,
        row_pitch,
        slice_pitch,
    })
}

/// How the transfer addresses one side.
enum Side<'a> {
    /// Rows of blocks: block (x, y) of slice s at `origin + s x slice_pitch
    /// + y x row_pitch + x x bytes` (a buffer or a linear image).
    Linear {
        origin: u64,
        row_pitch: u64,
        slice_pitch: u64,
    },
    /// An optimal image: 16x16 u-blocks in U order.
    Tiled {
        layout: &'a ImageLayout,
        va: u64,
        span: Span,
    },
}

fn image_side<'a>(img: ImageRef<'a>, span: &Span) -> Result<Side<'a>, CopyError> {
    let layout = img.layout;
    match layout.desc().tiling {
        Tiling::Interleaved64K => Ok(Side::Tiled {
            layout,
            va: img.va,
            span: *span,
        }),
        Tiling::Linear => {
            let sub = layout
                .subresource(span.level, span.base_layer)
                .ok_or(CopyError::AddressOverflow)?;
            let first = layout
                .block_offset(span.level, span.base_layer, 0, span.origin)
                .ok_or(CopyError::AddressOverflow)?;
            Ok(Side::Linear {
                origin: img
                    .va
                    .checked_add(first)
                    .ok_or(CopyError::AddressOverflow)?,
                row_pitch: sub.row_pitch,
                slice_pitch: if span.slices_are_z {
                    sub.depth_pitch
                } else {
                    sub.array_pitch
                },
            })
        }
    }
}

impl Side<'_> {
    /// The position inside its u-block of block (x, y) of the region, for
    /// optimal sides.
    fn local(&self, x: u32, y: u32) -> Option<[u32; 2]> {
        match self {
            Side::Linear { .. } => None,
            Side::Tiled { span, .. } => Some([
                (span.origin[0] + x) % UBLOCK_DIM,
                (span.origin[1] + y) % UBLOCK_DIM,
            ]),
        }
    }

    /// The base address of the cell whose first block is (x, y) of slice
    /// `s`, sample `q`: the block's own address on a linear side, its
    /// u-block's on an optimal side.
    fn cell_base(&self, bytes: u32, s: u32, q: u32, x: u32, y: u32) -> Option<u64> {
        match *self {
            Side::Linear {
                origin,
                row_pitch,
                slice_pitch,
            } => {
                let off = u64::from(s) * slice_pitch
                    + u64::from(y) * row_pitch
                    + u64::from(x) * u64::from(bytes);
                origin.checked_add(off)
            }
            Side::Tiled { layout, va, span } => {
                let (layer, z) = if span.slices_are_z {
                    (span.base_layer, span.origin[2] + s)
                } else {
                    (span.base_layer + s, span.origin[2])
                };
                let ux = (span.origin[0] + x) / UBLOCK_DIM * UBLOCK_DIM;
                let uy = (span.origin[1] + y) / UBLOCK_DIM * UBLOCK_DIM;
                va.checked_add(layout.block_offset(span.level, layer, q, [ux, uy, z])?)
            }
        }
    }

    /// Offset of block (x, y) of a cell from the cell's base, the cell
    /// starting at `local` in its u-block (optimal) or `None` (linear).
    fn offset_in_cell(&self, bytes: u32, local: Option<[u32; 2]>, x: u32, y: u32) -> i64 {
        match (self, local) {
            (Side::Tiled { .. }, Some([lx, ly])) => {
                i64::from(u_order(lx + x, ly + y)) * i64::from(bytes)
            }
            (Side::Linear { row_pitch, .. }, _) => {
                i64::from(y) * *row_pitch as i64 + i64::from(x) * i64::from(bytes)
            }
            (Side::Tiled { .. }, None) => unreachable!("optimal cells have a local position"),
        }
    }
}

/// Splits the contiguous span `row` and the loops around it (count, pitch;
/// innermost first) into the largest contiguous span and the loops left.
fn merge_contiguous(row: u64, dims: &[(u32, u64)]) -> (u64, Vec<(u32, u64)>) {
    let mut bytes = row;
    let mut loops = Vec::new();
    for &(count, pitch) in dims {
        if count == 1 {
            continue;
        }
        if loops.is_empty() && pitch == bytes {
            bytes *= u64::from(count);
        } else {
            loops.push((count, pitch));
        }
    }
    (bytes, loops)
}

// ----- planning: trees of loops over bodies ----------------------------------

/// Registers: source and destination bases.
const BASE: [u8; 2] = [0, 2];
/// First data register; [`DATA_WORDS`] of them.
const DATA: u8 = 16;
/// Data registers a body batch may fill (r16..r79).
const DATA_WORDS: u32 = 64;
/// Loop counters, by nesting depth.
const COUNTERS: [u8; 28] = [
    4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92,
    93, 94, 95,
];
/// Bytes per iteration of a contiguous copy (all data registers).
const COPY_CHUNK: u64 = 4 * DATA_WORDS as u64;
/// Bytes per iteration of a fill (16 stores of the 16 pattern registers).
const FILL_CHUNK: u64 = 1024;
/// Largest loop body, in instructions, leaving room for the back edge's
/// adds within the branch's signed 16-bit reach.
const MAX_LOOP_BODY: usize = 30_000;
/// Instructions a loop adds around its body, at most (counter set,
/// decrement, branch, back-edge and positioning adds).
const LOOP_OVERHEAD: usize = 32;

type Node = Rc<Tree>;

/// What runs relative to the two base addresses of the node.
#[derive(Debug, PartialEq, Eq)]
enum Tree {
    /// A straight-line body ([`Bodies`]).
    Body(usize),
    /// `child` `count` times, its bases `step` further each time.
    Loop {
        count: u32,
        step: [i64; 2],
        child: Node,
    },
    /// Each child at its offset from the node's bases.
    Seq(Vec<([i64; 2], Node)>),
}

/// A tree at absolute base addresses.
#[derive(Clone, Debug)]
struct Placed {
    at: [u64; 2],
    tree: Node,
}

fn delta(to: [u64; 2], from: [u64; 2]) -> [i64; 2] {
    [0, 1].map(|i| to[i].wrapping_sub(from[i]) as i64)
}

fn offset(at: [u64; 2], d: [i64; 2]) -> [u64; 2] {
    [0, 1].map(|i| at[i].wrapping_add(d[i] as u64))
}

/// `child` repeated `count` times at `step`; the child itself for one.
fn repeat(count: u32, step: [i64; 2], child: Node) -> Node {
    if count == 1 {
        child
    } else {
        Rc::new(Tree::Loop { count, step, child })
    }
}

/// One node running `items` (in order) relative to the first one's bases.
fn seq(mut items: Vec<Placed>) -> Placed {
    if items.len() == 1 {
        return items.pop().expect("one item");
    }
    let at = items[0].at;
    let children = items
        .into_iter()
        .map(|p| (delta(p.at, at), p.tree))
        .collect();
    Placed {
        at,
        tree: Rc::new(Tree::Seq(children)),
    }
}

/// Greedy run-length folding of a list of placed trees into loops.
///
/// Pushing `p` after `last`: if `last` is a loop of `p`'s tree whose next
/// iteration would be at `p.at`, the loop grows; if `last` has the same tree
/// as `p`, the two become a loop of 2. Otherwise `last` is final and is
/// folded into the item before it by the same rules (repeatedly), which
/// builds loops of loops: the rows of a tile row fold into `Loop8{row}`,
/// and the next tile row's `Loop8{row}` then pairs with it.
#[derive(Default)]
struct Folder {
    items: Vec<Placed>,
}

impl Folder {
    fn push(&mut self, p: Placed) {
        if self.absorb_last(&p) {
            return;
        }
        self.close();
        if !self.absorb_last(&p) {
            self.items.push(p);
        }
    }

    fn absorb_last(&mut self, p: &Placed) -> bool {
        match self.items.last_mut() {
            Some(last) => absorb(last, p),
            None => false,
        }
    }

    /// Folds the last item into its predecessors while they take it.
    fn close(&mut self) {
        while self.items.len() >= 2 {
            let last = self.items.pop().expect("two items");
            let prev = self.items.last_mut().expect("one item");
            if !absorb(prev, &last) {
                self.items.push(last);
                break;
            }
        }
    }

    fn finish(mut self) -> Vec<Placed> {
        self.close();
        self.items
    }
}

/// Makes `a` also run `p` if the two form (part of) one loop.
fn absorb(a: &mut Placed, p: &Placed) -> bool {
    if let Tree::Loop { count, step, child } = &*a.tree {
        let next = offset(a.at, step.map(|s| s.wrapping_mul(i64::from(*count))));
        if *child == p.tree && *count < u32::MAX && p.at == next {
            a.tree = Rc::new(Tree::Loop {
                count: count + 1,
                step: *step,
                child: child.clone(),
            });
            return true;
        }
    }
    if a.tree == p.tree {
        a.tree = Rc::new(Tree::Loop {
            count: 2,
            step: delta(p.at, a.at),
            child: a.tree.clone(),
        });
        return true;
    }
    false
}

/// One instruction of a body, offsets relative to the node's bases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `words` words at source offset `off` into r(DATA + reg)...
    Load {
        reg: u8,
        words: u32,
        off: i64,
    },
    Wait,
    /// `words` words from r(DATA + reg)... to destination offset `off`.
    Store {
        reg: u8,
        words: u32,
        off: i64,
    },
}

/// A block (or span) of words a copy body moves.
#[derive(Clone, Copy, Debug)]
struct Xfer {
    src: i64,
    dst: i64,
    words: u32,
}

/// What a body is, for sharing one body between equal cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum BodyKey {
    /// A cell: its size and its position in the u-blocks of optimal sides.
    Cell {
        w: u32,
        h: u32,
        src: Option<[u32; 2]>,
        dst: Option<[u32; 2]>,
    },
    /// A contiguous copy of this many bytes (at most [`COPY_CHUNK`]).
    Copy(u64),
    /// A fill of this many contiguous bytes (at most [`FILL_CHUNK`]).
    Fill(u64),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Copy,
    Fill,
}

struct Body {
    ops: Vec<Op>,
    /// Upper bound of the instructions the body emits (ops and base moves).
    bound: usize,
}

#[derive(Default)]
struct Bodies {
    list: Vec<Body>,
    nodes: Vec<Node>,
    index: HashMap<BodyKey, usize>,
}

impl Bodies {
    /// The node of the body `key`, made by `ops` the first time.
    fn get(&mut self, key: BodyKey, ops: impl FnOnce() -> Vec<Op>) -> Node {
        if let Some(&i) = self.index.get(&key) {
            return self.nodes[i].clone();
        }
        let ops = ops();
        let span = ops
            .iter()
            .map(|op| match *op {
                Op::Load { off, .. } | Op::Store { off, .. } => off.unsigned_abs(),
                Op::Wait => 0,
            })
            .max()
            .unwrap_or(0);
        // Each access may need a base move, of several adds past 2^31.
        let per_access = 1 + (span >> 31) as usize;
        let bound = ops.len() * (1 + per_access);
        let i = self.list.len();
        self.list.push(Body { ops, bound });
        self.nodes.push(Rc::new(Tree::Body(i)));
        self.index.insert(key, i);
        self.nodes[i].clone()
    }
}

/// Loads in source order into consecutive registers, batches of at most
/// [`DATA_WORDS`]; after each batch's wait, stores of the runs contiguous
/// in both the destination and the registers.
fn copy_ops(mut xfers: Vec<Xfer>) -> Vec<Op> {
    xfers.sort_by_key(|x| x.src);
    let mut ops = Vec::new();
    let mut next = 0;
    while next < xfers.len() {
        let start = next;
        let mut regs = Vec::new();
        let mut used = 0;
        while next < xfers.len() && used + xfers[next].words <= DATA_WORDS {
            regs.push(used);
            used += xfers[next].words;
            next += 1;
        }
        assert!(next > start, "a transfer of more than {DATA_WORDS} words");
        let batch = &xfers[start..next];
        // Loads: runs contiguous in the source (their registers follow).
        let mut k = 0;
        while k < batch.len() {
            let mut end = k + 1;
            let mut words = batch[k].words;
            while end < batch.len()
                && batch[end].src == batch[end - 1].src + 4 * i64::from(batch[end - 1].words)
            {
                words += batch[end].words;
                end += 1;
            }
            push_split(&mut ops, regs[k], words, batch[k].src, true);
            k = end;
        }
        ops.push(Op::Wait);
        // Stores: destination order, runs contiguous there and in registers.
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by_key(|&j| batch[j].dst);
        let mut k = 0;
        while k < order.len() {
            let first = order[k];
            let mut words = batch[first].words;
            let mut end = k + 1;
            while end < order.len() {
                let (p, n) = (order[end - 1], order[end]);
                let contiguous = batch[n].dst == batch[p].dst + 4 * i64::from(batch[p].words)
                    && regs[n] == regs[p] + batch[p].words;
                if !contiguous {
                    break;
                }
                words += batch[n].words;
                end += 1;
            }
            push_split(&mut ops, regs[first], words, batch[first].dst, false);
            k = end;
        }
    }
    ops
}

/// Pushes LOAD/STORE_MULTIPLEs of at most 16 words covering `words` words
/// from register `DATA + reg` and offset `off`.
fn push_split(ops: &mut Vec<Op>, reg: u32, words: u32, off: i64, load: bool) {
    let mut done = 0;
    while done < words {
        let n = (words - done).min(16);
        let (reg, off) = ((reg + done) as u8, off + 4 * i64::from(done));
        ops.push(if load {
            Op::Load { reg, words: n, off }
        } else {
            Op::Store { reg, words: n, off }
        });
        done += n;
    }
}

/// Stores of the pattern registers over `bytes` contiguous bytes (a whole
/// number of blocks: every store starts at a block, with pattern word 0).
fn fill_ops(bytes: u64) -> Vec<Op> {
    let words = (bytes / 4) as u32;
    (0..words)
        .step_by(16)
        .map(|w| Op::Store {
            reg: 0,
            words: (words - w).min(16),
            off: 4 * i64::from(w),
        })
        .collect()
}

/// A contiguous copy or fill of `bytes` (a multiple of 4): a loop of full
/// chunks and a tail.
fn contiguous(bodies: &mut Bodies, bytes: u64, kind: Kind) -> Node {
    let chunk = match kind {
        Kind::Copy => COPY_CHUNK,
        Kind::Fill => FILL_CHUNK,
    };
    let mut body = |n: u64| match kind {
        Kind::Copy => bodies.get(BodyKey::Copy(n), || {
            let words = (n / 4) as u32;
            copy_ops(vec![Xfer {
                src: 0,
                dst: 0,
                words,
            }])
        }),
        Kind::Fill => bodies.get(BodyKey::Fill(n), || fill_ops(n)),
    };
    let step = match kind {
        Kind::Copy => [chunk as i64; 2],
        Kind::Fill => [0, chunk as i64],
    };
    let mut parts = Vec::new();
    let mut off = 0u64;
    let mut chunks = bytes / chunk;
    while chunks > 0 {
        let n = chunks.min(u64::from(u32::MAX)) as u32;
        let at = match kind {
            Kind::Copy => [off; 2],
            Kind::Fill => [0, off],
        };
        parts.push(Placed {
            at,
            tree: repeat(n, step, body(chunk)),
        });
        off += u64::from(n) * chunk;
        chunks -= u64::from(n);
    }
    let tail = bytes % chunk;
    if tail > 0 {
        let at = match kind {
            Kind::Copy => [off; 2],
            Kind::Fill => [0, off],
        };
        parts.push(Placed {
            at,
            tree: body(tail),
        });
    }
    seq(parts).tree
}

/// Everything a transfer emits, decided before the first instruction.
struct Plan {
    bodies: Bodies,
    /// Top-level trees, in order.
    items: Vec<Placed>,
    /// Which base registers the transfer uses (source, destination).
    uses: [bool; 2],
    /// For fills: r16..r31.
    pattern: Option<[u32; 16]>,
}

/// Plans copying `shape` blocks (x, y, slices) of `samples` samples of
/// `bytes`-byte blocks from `src` to `dst`.
fn plan_copy(
    src: &Side<'_>,
    dst: &Side<'_>,
    shape: &[u32; 3],
    samples: u32,
    bytes: u32,
) -> Result<Plan, CopyError> {
    let mut bodies = Bodies::default();
    let items = match (src, dst) {
        (
            Side::Linear {
                origin: so,
                row_pitch: srp,
                slice_pitch: ssp,
            },
            Side::Linear {
                origin: d_o,
                row_pitch: drp,
                slice_pitch: dsp,
            },
        ) => {
            // Rows (then slices) merge into one span where both sides are
            // contiguous; what is left are loops.
            let row = u64::from(shape[0]) * u64::from(bytes);
            let mut span = row;
            let mut loops: Vec<(u32, [i64; 2])> = Vec::new();
            for (count, sp, dp) in [(shape[1], *srp, *drp), (shape[2], *ssp, *dsp)] {
                if count == 1 {
                    continue;
                }
                if loops.is_empty() && sp == span && dp == span {
                    span *= u64::from(count);
                } else {
                    loops.push((count, [sp as i64, dp as i64]));
                }
            }
            let mut tree = contiguous(&mut bodies, span, Kind::Copy);
            for (count, step) in loops {
                tree = repeat(count, step, tree);
            }
            vec![Placed {
                at: [*so, *d_o],
                tree,
            }]
        }
        _ => plan_cells(&mut bodies, src, dst, shape, samples, bytes)?,
    };
    Ok(Plan {
        bodies,
        items,
        uses: [true, true],
        pattern: None,
    })
}

/// Positions in `0..=len` where a cell starts or ends: 0, `len`, and every
/// u-block boundary of the optimal sides (whose region starts at `phases`).
fn cuts(len: u32, phases: &[u32]) -> Vec<u32> {
    let mut v = vec![0, len];
    for &ph in phases {
        let mut p = UBLOCK_DIM - ph % UBLOCK_DIM;
        while p < len {
            v.push(p);
            p += UBLOCK_DIM;
        }
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// Plans a copy with at least one optimal side, cell by cell (see the
/// module documentation).
///
/// Cells are grouped by the u-blocks of one optimal side (the destination's
/// if it is optimal): a *unit* is the part of the region in one of its
/// u-blocks, one cell when the other side is linear or cut the same way, up
/// to 2x2 cells when both sides are optimal with different phases. Units
/// fold along x into bands, bands along y into a slice, so that units
/// repeat (each is a [`Tree::Seq`] of its cells) even where cells
/// alternate.
fn plan_cells(
    bodies: &mut Bodies,
    src: &Side<'_>,
    dst: &Side<'_>,
    shape: &[u32; 3],
    samples: u32,
    bytes: u32,
) -> Result<Vec<Placed>, CopyError> {
    let origin = |s: &Side<'_>| match s {
        Side::Tiled { span, .. } => Some(span.origin),
        Side::Linear { .. } => None,
    };
    let origins: Vec<[u32; 3]> = [src, dst].iter().filter_map(|s| origin(s)).collect();
    let primary = origin(dst).or(origin(src)).expect("an optimal side");
    let xs = cuts(shape[0], &origins.iter().map(|o| o[0]).collect::<Vec<_>>());
    let ys = cuts(shape[1], &origins.iter().map(|o| o[1]).collect::<Vec<_>>());
    let unit_xs = cuts(shape[0], &[primary[0]]);
    let unit_ys = cuts(shape[1], &[primary[1]]);
    let within = |all: &[u32], lo: u32, hi: u32| -> Vec<u32> {
        all.iter()
            .copied()
            .filter(|&c| c >= lo && c <= hi)
            .collect()
    };
    let base = |s: u32, q: u32, x: u32, y: u32| -> Result<[u64; 2], CopyError> {
        let a = src.cell_base(bytes, s, q, x, y);
        let b = dst.cell_base(bytes, s, q, x, y);
        match (a, b) {
            (Some(a), Some(b)) => Ok([a, b]),
            _ => Err(CopyError::AddressOverflow),
        }
    };
    let mut cell = |x0: u32, x1: u32, y0: u32, y1: u32| -> Result<Placed, CopyError> {
        let (sl, dl) = (src.local(x0, y0), dst.local(x0, y0));
        let (w, h) = (x1 - x0, y1 - y0);
        let key = BodyKey::Cell {
            w,
            h,
            src: sl,
            dst: dl,
        };
        let tree = bodies.get(key, || {
            let words = bytes / 4;
            let mut xfers = Vec::with_capacity((w * h) as usize);
            for y in 0..h {
                for x in 0..w {
                    xfers.push(Xfer {
                        src: src.offset_in_cell(bytes, sl, x, y),
                        dst: dst.offset_in_cell(bytes, dl, x, y),
                        words,
                    });
                }
            }
            copy_ops(xfers)
        });
        Ok(Placed {
            at: base(0, 0, x0, y0)?,
            tree,
        })
    };

    // One slice of one sample: bands of units of cells.
    let mut bands = Folder::default();
    for band in unit_ys.windows(2) {
        let cell_ys = within(&ys, band[0], band[1]);
        let mut units = Folder::default();
        for col in unit_xs.windows(2) {
            let cell_xs = within(&xs, col[0], col[1]);
            let mut cells = Vec::new();
            for cy in cell_ys.windows(2) {
                for cx in cell_xs.windows(2) {
                    cells.push(cell(cx[0], cx[1], cy[0], cy[1])?);
                }
            }
            units.push(seq(cells));
        }
        bands.push(seq(fold_periodic(units.finish())));
    }
    let slice = seq(fold_periodic(bands.finish()));

    // Every slice and sample has the same cells at the same distances from
    // its first cell (addresses are sums of an (x, y) part and a slice /
    // sample part), so only the first cell's bases differ.
    let mut slices = Folder::default();
    for s in 0..shape[2] {
        for q in 0..samples {
            slices.push(Placed {
                at: base(s, q, 0, 0)?,
                tree: slice.tree.clone(),
            });
        }
    }
    Ok(fold_periodic(slices.finish()))
}

/// Longest period [`fold_periodic`] looks for.
const MAX_PERIOD: usize = 6;

/// Folds repeating groups of 2 to [`MAX_PERIOD`] different items at a
/// constant step into loops of sequences, which [`Folder`] (equal
/// neighbours only) misses: along a row where the source's tiles start at
/// another phase than the destination's, the items repeat as `[Loop{N},
/// C, Loop{N}]` once per tile.
fn fold_periodic(mut items: Vec<Placed>) -> Vec<Placed> {
    for p in 2..=MAX_PERIOD {
        if items.len() < 2 * p {
            continue;
        }
        let group = |i: usize| seq(items[i..i + p].to_vec());
        let mut out = Vec::with_capacity(items.len());
        let mut i = 0;
        while i < items.len() {
            if i + 2 * p <= items.len() {
                let (g0, g1) = (group(i), group(i + p));
                if g0.tree == g1.tree {
                    let step = delta(g1.at, g0.at);
                    let mut count = 2u32;
                    let mut j = i + 2 * p;
                    while j + p <= items.len() && count < u32::MAX {
                        let g = group(j);
                        let next = offset(g0.at, step.map(|s| s.wrapping_mul(i64::from(count))));
                        if g.tree != g0.tree || g.at != next {
                            break;
                        }
                        count += 1;
                        j += p;
                    }
                    out.push(Placed {
                        at: g0.at,
                        tree: Rc::new(Tree::Loop {
                            count,
                            step,
                            child: g0.tree,
                        }),
                    });
                    i = j;
                    continue;
                }
            }
            out.push(items[i].clone());
            i += 1;
        }
        items = out;
    }
    items
}

// ----- emission --------------------------------------------------------------

/// Upper bound of the instructions `t` emits.
fn bound(t: &Tree, bodies: &Bodies) -> usize {
    match t {
        Tree::Body(i) => bodies.list[*i].bound,
        Tree::Loop { count, child, .. } => {
            bound(child, bodies) + if *count > 1 { LOOP_OVERHEAD } else { 0 }
        }
        Tree::Seq(children) => children.iter().map(|(_, c)| bound(c, bodies)).sum(),
    }
}

/// `t` with every loop body within the branch's reach: a loop whose child
/// is too long becomes a sequence of loops over pieces of the child (loop
/// fission; valid because no block is written twice, so order is free).
fn legalize(t: &Node, bodies: &Bodies) -> Node {
    match &**t {
        Tree::Body(_) => t.clone(),
        Tree::Seq(children) => Rc::new(Tree::Seq(
            children
                .iter()
                .map(|(o, c)| (*o, legalize(c, bodies)))
                .collect(),
        )),
        Tree::Loop { count, step, child } => {
            let child = legalize(child, bodies);
            if bound(&child, bodies) <= MAX_LOOP_BODY {
                return Rc::new(Tree::Loop {
                    count: *count,
                    step: *step,
                    child,
                });
            }
            let pieces = split(&child, MAX_LOOP_BODY, bodies)
                .into_iter()
                .map(|(o, p)| {
                    let l = Rc::new(Tree::Loop {
                        count: *count,
                        step: *step,
                        child: p,
                    });
                    (o, l)
                })
                .collect();
            Rc::new(Tree::Seq(pieces))
        }
    }
}

/// `t` as pieces (offset, tree) of at most `limit` instructions each.
fn split(t: &Node, limit: usize, bodies: &Bodies) -> Vec<([i64; 2], Node)> {
    if bound(t, bodies) <= limit {
        return vec![([0, 0], t.clone())];
    }
    match &**t {
        Tree::Body(_) => vec![([0, 0], t.clone())],
        Tree::Loop { count, step, child } => {
            split(child, limit.saturating_sub(LOOP_OVERHEAD), bodies)
                .into_iter()
                .map(|(o, p)| {
                    let l = Rc::new(Tree::Loop {
                        count: *count,
                        step: *step,
                        child: p,
                    });
                    (o, l)
                })
                .collect()
        }
        Tree::Seq(children) => {
            let mut pieces = Vec::new();
            for (o, c) in children {
                for (o2, p) in split(c, limit, bodies) {
                    pieces.push(([o[0] + o2[0], o[1] + o2[1]], p));
                }
            }
            // Regroup neighbours while they fit.
            let mut out: Vec<([i64; 2], Node)> = Vec::new();
            let mut group: Vec<([i64; 2], Node)> = Vec::new();
            let mut size = 0;
            for (o, p) in pieces {
                let s = bound(&p, bodies);
                if !group.is_empty() && size + s > limit {
                    out.push(group_node(std::mem::take(&mut group)));
                    size = 0;
                }
                size += s;
                group.push((o, p));
            }
            if !group.is_empty() {
                out.push(group_node(group));
            }
            out
        }
    }
}

fn group_node(mut group: Vec<([i64; 2], Node)>) -> ([i64; 2], Node) {
    if group.len() == 1 {
        return group.pop().expect("one piece");
    }
    let first = group[0].0;
    let children = group
        .into_iter()
        .map(|(o, p)| ([o[0] - first[0], o[1] - first[1]], p))
        .collect();
    (first, Rc::new(Tree::Seq(children)))
}

impl Plan {
    fn emit(&self, b: &mut CsBuilder) {
        if let Some(pattern) = self.pattern {
            for (i, w) in pattern.iter().enumerate() {
                b.mov32(DATA + i as u8, *w);
            }
        }
        let Some(first) = self.items.first() else {
            return;
        };
        for ((reg, used), at) in BASE.iter().zip(self.uses).zip(first.at) {
            if used {
                b.mov64(*reg, at);
            }
        }
        let mut e = Emitter {
            b,
            bodies: &self.bodies,
            disp: [0, 0],
            depth: 0,
        };
        let mut cur = first.at;
        for item in &self.items {
            // The registers stay; the address the node counts from moves.
            let d = delta(cur, item.at);
            e.disp = [0, 1].map(|i| e.disp[i].wrapping_add(d[i]));
            cur = item.at;
            let tree = legalize(&item.tree, &self.bodies);
            e.tree(&tree);
        }
        e.b.wait(1);
    }
}

/// Emits trees, tracking for each base register its displacement: the
/// register's value minus the address the current node's offsets are
/// relative to. Moves are emitted only when an access needs them and at
/// loop back edges.
struct Emitter<'e> {
    b: &'e mut CsBuilder,
    bodies: &'e Bodies,
    disp: [i64; 2],
    depth: usize,
}

impl Emitter<'_> {
    /// Sets the displacement of `side` to `target` with ADD_IMMEDIATE64s.
    fn move_to(&mut self, side: usize, target: i64) {
        let mut left = target.wrapping_sub(self.disp[side]);
        while left != 0 {
            let d = left.clamp(i64::from(i32::MIN), i64::from(i32::MAX));
            self.b.add64(BASE[side], BASE[side], d as i32);
            left -= d;
        }
        self.disp[side] = target;
    }

    /// The immediate reaching offset `off` of `side`, moving the register
    /// first if it is out of reach (then to `off + 32768`, so that the next
    /// 64 KiB forward are in reach).
    fn reach(&mut self, side: usize, off: i64) -> i16 {
        let imm = off.wrapping_sub(self.disp[side]);
        if let Ok(imm) = i16::try_from(imm) {
            return imm;
        }
        self.move_to(side, off + 32768);
        i16::MIN
    }

    /// Enters (`back == false`) or leaves a child node at offset `o` from
    /// the current one: the registers stay, the displacements change.
    fn shift(&mut self, o: [i64; 2], back: bool) {
        for (d, o) in self.disp.iter_mut().zip(o) {
            *d = if back {
                d.wrapping_add(o)
            } else {
                d.wrapping_sub(o)
            };
        }
    }

    /// Offset of the first access `t` makes on `side`, if any.
    fn first_access(&self, t: &Tree, side: usize) -> Option<i64> {
        match t {
            Tree::Body(i) => self.bodies.list[*i].ops.iter().find_map(|op| match *op {
                Op::Load { off, .. } if side == 0 => Some(off),
                Op::Store { off, .. } if side == 1 => Some(off),
                _ => None,
            }),
            Tree::Loop { child, .. } => self.first_access(child, side),
            Tree::Seq(children) => children
                .iter()
                .find_map(|(o, c)| Some(o[side] + self.first_access(c, side)?)),
        }
    }

    fn tree(&mut self, t: &Tree) {
        match t {
            Tree::Body(i) => self.body(*i),
            Tree::Seq(children) => {
                for (o, c) in children {
                    self.shift(*o, false);
                    self.tree(c);
                    self.shift(*o, true);
                }
            }
            Tree::Loop { count, step, child } => {
                if *count == 1 {
                    return self.tree(child);
                }
                let Some(&counter) = COUNTERS.get(self.depth) else {
                    // Deeper than the counters: unrolled.
                    for i in 0..*count {
                        let o = step.map(|s| s.wrapping_mul(i64::from(i)));
                        self.shift(o, false);
                        self.tree(child);
                        self.shift(o, true);
                    }
                    return;
                };
                // Position the registers where the first iteration's first
                // accesses want them, so that no iteration moves them first.
                for side in 0..2 {
                    if let Some(off) = self.first_access(child, side) {
                        self.reach(side, off);
                    }
                }
                self.b.mov32(counter, *count);
                let top = self.b.new_label();
                self.b.bind(top);
                let at_top = self.disp;
                self.depth += 1;
                self.tree(child);
                self.depth -= 1;
                // Next iteration's node is `step` further: back to `at_top`
                // relative to it.
                for side in 0..2 {
                    self.disp[side] = self.disp[side].wrapping_sub(step[side]);
                    self.move_to(side, at_top[side]);
                }
                self.b
                    .add32(counter, counter, -1)
                    .branch_to(Condition::Nequal, counter, top);
                // After `count` iterations, relative to the loop's own node.
                let total = step.map(|s| s.wrapping_mul(i64::from(*count)));
                self.disp = [0, 1].map(|k| at_top[k].wrapping_add(total[k]));
            }
        }
    }

    fn body(&mut self, i: usize) {
        let bodies = self.bodies;
        for op in &bodies.list[i].ops {
            match *op {
                Op::Load { reg, words, off } => {
                    let imm = self.reach(0, off);
                    self.b.load_multiple(DATA + reg, mask(words), BASE[0], imm);
                }
                Op::Wait => {
                    self.b.wait(1);
                }
                Op::Store { reg, words, off } => {
                    let imm = self.reach(1, off);
                    self.b.store_multiple(DATA + reg, mask(words), BASE[1], imm);
                }
            }
        }
    }
}

/// The LOAD/STORE_MULTIPLE mask of `words` consecutive registers (1..=16).
fn mask(words: u32) -> u16 {
    ((1u32 << words) - 1) as u16
}
