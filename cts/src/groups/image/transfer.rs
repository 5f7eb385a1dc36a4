//! Texels in and out of an image through the transfer path only
//! (vkCmdCopyBufferToImage / vkCmdCopyImageToBuffer with layout transitions
//! UNDEFINED -> TRANSFER_DST_OPTIMAL -> TRANSFER_SRC_OPTIMAL), and the
//! texel-level comparison of what came back.
//!
//! The host keeps a packed copy of the whole image ([`Packing`]): levels one
//! after another, each level's layers 16 bytes apart at least (so every
//! layer's copy starts at a buffer offset that is a multiple of 4 and of the
//! texel block size, as copies on transfer-only queues need), rows of texel
//! blocks without padding.

use std::cell::Cell;

use ash::vk;

use super::formats::{Format, Shape};
use crate::case::Stop;
use crate::gpu::{pattern, Gpu};
use crate::{fail, require};

/// A texel region of one subresource. Offsets are multiples of the texel
/// block; the extent reaches the level's edge or is a multiple of the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub level: u32,
    pub layer: u32,
    pub offset: [u32; 3],
    pub extent: [u32; 3],
}

struct Level {
    offset: usize,
    layer_stride: usize,
    /// Texel blocks in x, y, z.
    blocks: [u32; 3],
    row: usize,
    slice: usize,
}

/// Where each texel block of each subresource sits in the host copy.
pub struct Packing {
    levels: Vec<Level>,
    pub size: usize,
    pub format: Format,
    pub shape: Shape,
}

impl Packing {
    pub fn new(format: &Format, shape: &Shape) -> Packing {
        let mut levels = Vec::new();
        let mut offset = 0;
        for level in 0..shape.levels {
            let e = shape.level_extent(level);
            let blocks = [
                e[0].div_ceil(format.block[0]),
                e[1].div_ceil(format.block[1]),
                e[2],
            ];
            let row = blocks[0] as usize * format.bytes as usize;
            let slice = row * blocks[1] as usize;
            let layer_stride = (slice * blocks[2] as usize).next_multiple_of(16);
            levels.push(Level {
                offset,
                layer_stride,
                blocks,
                row,
                slice,
            });
            offset += layer_stride * shape.layers as usize;
        }
        Packing {
            levels,
            size: offset,
            format: *format,
            shape: *shape,
        }
    }

    /// One whole subresource.
    pub fn subresource(&self, level: u32, layer: u32) -> Region {
        Region {
            level,
            layer,
            offset: [0; 3],
            extent: self.shape.level_extent(level),
        }
    }

    /// Every subresource, level by level.
    pub fn whole(&self) -> Vec<Region> {
        (0..self.shape.levels)
            .flat_map(|l| (0..self.shape.layers).map(move |a| (l, a)))
            .map(|(l, a)| self.subresource(l, a))
            .collect()
    }

    /// Every subresource of levels `from..`.
    pub fn levels_from(&self, from: u32) -> Vec<Region> {
        self.whole()
            .into_iter()
            .filter(|r| r.level >= from)
            .collect()
    }

    /// Byte offset of texel block `b` of (level, layer).
    fn offset(&self, level: u32, layer: u32, b: [u32; 3]) -> usize {
        let l = &self.levels[level as usize];
        l.offset
            + layer as usize * l.layer_stride
            + b[2] as usize * l.slice
            + b[1] as usize * l.row
            + b[0] as usize * self.format.bytes as usize
    }

    /// The texel-block box of a region: start and end (exclusive).
    fn block_box(&self, r: &Region) -> ([u32; 3], [u32; 3]) {
        let bw = [self.format.block[0], self.format.block[1], 1];
        let start = [0, 1, 2].map(|i| r.offset[i] / bw[i]);
        let end = [0, 1, 2].map(|i| (r.offset[i] + r.extent[i]).div_ceil(bw[i]));
        (start, end)
    }

    fn copy(&self, r: &Region) -> Result<vk::BufferImageCopy, Stop> {
        let (start, _) = self.block_box(r);
        let buffer_offset = self.offset(r.level, r.layer, start) as u64;
        let unit = 4u64.max(self.format.bytes as u64);
        require!(
            buffer_offset % 4 == 0 && buffer_offset % self.format.bytes as u64 == 0,
            "a copy of {r:?} would need buffer offset {buffer_offset}, not a multiple of {unit} (non-standard granularity)"
        );
        let l = &self.levels[r.level as usize];
        Ok(vk::BufferImageCopy {
            buffer_offset,
            buffer_row_length: l.blocks[0] * self.format.block[0],
            buffer_image_height: l.blocks[1] * self.format.block[1],
            image_subresource: vk::ImageSubresourceLayers {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                mip_level: r.level,
                base_array_layer: r.layer,
                layer_count: 1,
            },
            image_offset: vk::Offset3D {
                x: r.offset[0] as i32,
                y: r.offset[1] as i32,
                z: r.offset[2] as i32,
            },
            image_extent: vk::Extent3D {
                width: r.extent[0],
                height: r.extent[1],
                depth: r.extent[2],
            },
        })
    }

    /// Calls `f(byte offset, byte length, first block)` for every run of
    /// texel blocks (one row of blocks) of `r`.
    fn rows(&self, r: &Region, mut f: impl FnMut(usize, usize, [u32; 3])) {
        let (s, e) = self.block_box(r);
        let len = (e[0] - s[0]) as usize * self.format.bytes as usize;
        for z in s[2]..e[2] {
            for y in s[1]..e[1] {
                f(
                    self.offset(r.level, r.layer, [s[0], y, z]),
                    len,
                    [s[0], y, z],
                );
            }
        }
    }

    /// Copies the texel blocks of region `from` of `src` over region `to`
    /// of `dst` (same extent): what aliasing should show.
    pub fn move_region(&self, src: &[u8], dst: &mut [u8], from: &Region, to: &Region) {
        let mut starts = Vec::new();
        self.rows(to, |o, len, _| starts.push((o, len)));
        let mut i = 0;
        self.rows(from, |o, len, _| {
            let (d, dl) = starts[i];
            debug_assert_eq!(len, dl);
            dst[d..d + len].copy_from_slice(&src[o..o + len]);
            i += 1;
        });
    }

    /// Fails at the first texel block of `regions` where `got` differs from
    /// `want`, naming level, layer, texel and (with `granularity`) the sparse
    /// block.
    pub fn compare(
        &self,
        got: &[u8],
        want: &[u8],
        regions: &[Region],
        granularity: Option<[u32; 3]>,
        what: &str,
    ) -> Result<(), Stop> {
        let bytes = self.format.bytes as usize;
        let mut bad = None;
        for r in regions {
            self.rows(r, |o, len, first| {
                if bad.is_some() || got[o..o + len] == want[o..o + len] {
                    return;
                }
                let i = (0..len)
                    .find(|&i| got[o + i] != want[o + i])
                    .expect("rows differ");
                let b = i / bytes;
                let s = o + b * bytes;
                bad = Some((*r, [first[0] + b as u32, first[1], first[2]], s));
            });
            if bad.is_some() {
                break;
            }
        }
        let Some((r, b, s)) = bad else {
            return Ok(());
        };
        let t = [
            b[0] * self.format.block[0],
            b[1] * self.format.block[1],
            b[2],
        ];
        let block = match granularity {
            Some(g) => format!(
                ", sparse block ({}, {}, {})",
                t[0] / g[0].max(1),
                t[1] / g[1].max(1),
                t[2] / g[2].max(1)
            ),
            None => String::new(),
        };
        let unit = if self.format.is_compressed() {
            "texel block at texel"
        } else {
            "texel"
        };
        fail!(
            "{what}: level {}, layer {}{block}, {unit} ({}, {}, {}): read {:02x?}, expected {:02x?}",
            r.level,
            r.layer,
            t[0],
            t[1],
            t[2],
            &got[s..s + bytes],
            &want[s..s + bytes]
        )
    }
}

/// An image under test: its handle, packing and current layout.
pub struct TestImage {
    pub image: vk::Image,
    pub packing: Packing,
    layout: Cell<vk::ImageLayout>,
}

impl TestImage {
    pub fn new(image: vk::Image, format: &Format, shape: &Shape) -> TestImage {
        TestImage {
            image,
            packing: Packing::new(format, shape),
            layout: Cell::new(vk::ImageLayout::UNDEFINED),
        }
    }

    /// Deterministic bytes for the whole image.
    pub fn pattern(&self, seed: u64) -> Vec<u8> {
        pattern(seed, self.packing.size)
    }

    /// Records a transition of every subresource from the current layout
    /// to `to`, ordered after earlier transfer writes.
    fn transition(&self, d: &ash::Device, cmd: vk::CommandBuffer, to: vk::ImageLayout) {
        let from = self.layout.replace(to);
        let (src_stage, src_access) = if from == vk::ImageLayout::UNDEFINED {
            (
                vk::PipelineStageFlags::TOP_OF_PIPE,
                vk::AccessFlags::empty(),
            )
        } else {
            (
                vk::PipelineStageFlags::TRANSFER,
                vk::AccessFlags::TRANSFER_WRITE,
            )
        };
        let barrier = vk::ImageMemoryBarrier::default()
            .src_access_mask(src_access)
            .dst_access_mask(vk::AccessFlags::TRANSFER_WRITE | vk::AccessFlags::TRANSFER_READ)
            .old_layout(from)
            .new_layout(to)
            .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .image(self.image)
            .subresource_range(vk::ImageSubresourceRange {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                base_mip_level: 0,
                level_count: vk::REMAINING_MIP_LEVELS,
                base_array_layer: 0,
                layer_count: vk::REMAINING_ARRAY_LAYERS,
            });
        // Also a global barrier: other images aliasing this memory wrote
        // through their own handles.
        let global = vk::MemoryBarrier::default()
            .src_access_mask(src_access)
            .dst_access_mask(vk::AccessFlags::TRANSFER_WRITE | vk::AccessFlags::TRANSFER_READ);
        // SAFETY: a recording command buffer of the device that owns the image.
        unsafe {
            d.cmd_pipeline_barrier(
                cmd,
                src_stage,
                vk::PipelineStageFlags::TRANSFER,
                vk::DependencyFlags::empty(),
                &[global],
                &[],
                &[barrier],
            )
        };
    }

    /// Moves the image out of UNDEFINED into `layout` without touching its
    /// texels (for an image that will read what an alias writes: a later
    /// transition from UNDEFINED could discard that).
    pub fn prepare(&self, gpu: &Gpu, layout: vk::ImageLayout) -> Result<(), Stop> {
        gpu.run(gpu.universal, |d, cmd| self.transition(d, cmd, layout))
    }

    /// The copies for `regions`, NotSupported when the universal queue's
    /// minImageTransferGranularity does not allow a partial one.
    fn copies(&self, gpu: &Gpu, regions: &[Region]) -> Result<Vec<vk::BufferImageCopy>, Stop> {
        let q = gpu.vk.families[gpu.universal.family as usize].min_image_transfer_granularity;
        let block = [
            self.packing.format.block[0],
            self.packing.format.block[1],
            1,
        ];
        let g = [q.width, q.height, q.depth];
        for r in regions {
            let e = self.packing.shape.level_extent(r.level);
            let fits = (0..3).all(|i| {
                let whole = r.offset[i] == 0 && r.extent[i] == e[i];
                let unit = g[i] * block[i];
                whole
                    || (unit != 0
                        && r.offset[i] % unit == 0
                        && (r.extent[i] % unit == 0 || r.offset[i] + r.extent[i] == e[i]))
            });
            require!(
                fits,
                "queue family {} has minImageTransferGranularity {}x{}x{}, too coarse for a copy of {r:?}",
                gpu.universal.family,
                g[0],
                g[1],
                g[2]
            );
        }
        regions.iter().map(|r| self.packing.copy(r)).collect()
    }

    /// Copies `data` (a packed image) into `regions` of the image, leaving
    /// it in TRANSFER_DST_OPTIMAL. The first write transitions from
    /// UNDEFINED; later ones keep the contents.
    pub fn write(&self, gpu: &Gpu, data: &[u8], regions: &[Region]) -> Result<(), Stop> {
        assert_eq!(data.len(), self.packing.size);
        let copies = self.copies(gpu, regions)?;
        let staging = gpu.staging(self.packing.size as u64)?;
        staging.write(0, data);
        gpu.run(gpu.universal, |d, cmd| {
            self.transition(d, cmd, vk::ImageLayout::TRANSFER_DST_OPTIMAL);
            // SAFETY: buffer and image of this device; the regions lie inside both (from the packing).
            unsafe {
                d.cmd_copy_buffer_to_image(
                    cmd,
                    staging.buffer,
                    self.image,
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    &copies,
                )
            };
        })
    }

    /// Moves the image's memory bindings away (`away`), overwrites the whole
    /// image, moves them back (`back`) and reads: `regions` must show `data`
    /// again. This proves the binds reached memory: an implementation that
    /// ignored them (leaving the image on some stand-in backing that happens
    /// to keep data) shows the overwrite instead.
    pub fn round_trip(
        &self,
        gpu: &Gpu,
        away: impl FnOnce() -> Result<(), Stop>,
        back: impl FnOnce() -> Result<(), Stop>,
        data: &[u8],
        regions: &[Region],
        granularity: Option<[u32; 3]>,
    ) -> Result<(), Stop> {
        away()?;
        let other: Vec<u8> = data.iter().map(|b| !b).collect();
        self.write(gpu, &other, &self.packing.whole())?;
        back()?;
        let got = self.read(gpu, &self.packing.whole())?;
        self.packing.compare(
            &got,
            data,
            regions,
            granularity,
            "after moving the binds to other memory, overwriting the image and moving them back (did the first binds reach memory?)",
        )
    }

    /// Reads `regions` back into a packed image (zeros elsewhere), leaving
    /// the image in TRANSFER_SRC_OPTIMAL.
    pub fn read(&self, gpu: &Gpu, regions: &[Region]) -> Result<Vec<u8>, Stop> {
        let copies = self.copies(gpu, regions)?;
        let staging = gpu.staging(self.packing.size as u64)?;
        staging.fill(0);
        gpu.run(gpu.universal, |d, cmd| {
            self.transition(d, cmd, vk::ImageLayout::TRANSFER_SRC_OPTIMAL);
            let host = vk::BufferMemoryBarrier::default()
                .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
                .dst_access_mask(vk::AccessFlags::HOST_READ)
                .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .buffer(staging.buffer)
                .offset(0)
                .size(vk::WHOLE_SIZE);
            // SAFETY: buffer and image of this device; the regions lie inside both (from the packing).
            unsafe {
                d.cmd_copy_image_to_buffer(
                    cmd,
                    self.image,
                    vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                    staging.buffer,
                    &copies,
                );
                d.cmd_pipeline_barrier(
                    cmd,
                    vk::PipelineStageFlags::TRANSFER,
                    vk::PipelineStageFlags::HOST,
                    vk::DependencyFlags::empty(),
                    &[],
                    &[host],
                    &[],
                );
            }
        })?;
        Ok(staging.read(0, self.packing.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::image::formats::{Kind, BC1_RGBA_UNORM, R8_UINT};

    #[test]
    fn packing_aligns_layers_and_counts_blocks() {
        let shape = Shape::new(Kind::D2Array, [5, 3, 2], None);
        let p = Packing::new(&R8_UINT, &shape);
        // Level 0: 5x3 bytes = 15, padded to 16 per layer; level 1: 2x1 = 2 -> 16;
        // level 2: 1x1 -> 16.
        assert_eq!(p.size, 2 * 16 * 3);
        assert_eq!(p.offset(1, 1, [0, 0, 0]), 2 * 16 + 16);
        let shape = Shape::new(Kind::D2, [10, 6, 1], Some(2));
        let p = Packing::new(&BC1_RGBA_UNORM, &shape);
        // Level 0: 3x2 blocks of 8 bytes; level 1 (5x3 texels): 2x1 blocks.
        assert_eq!(p.size, 48 + 16);
        let r = Region {
            level: 0,
            layer: 0,
            offset: [4, 4, 0],
            extent: [6, 2, 1],
        };
        assert_eq!(p.block_box(&r), ([1, 1, 0], [3, 2, 1]));
    }

    #[test]
    fn move_region_and_compare() {
        let shape = Shape::new(Kind::D2, [8, 8, 1], Some(1));
        let p = Packing::new(&R8_UINT, &shape);
        let src: Vec<u8> = (0..64).collect();
        let mut dst = vec![0; 64];
        let a = Region {
            level: 0,
            layer: 0,
            offset: [0, 0, 0],
            extent: [4, 4, 1],
        };
        let b = Region {
            offset: [4, 4, 0],
            ..a
        };
        p.move_region(&src, &mut dst, &a, &b);
        assert_eq!(dst[4 * 8 + 4], 0);
        assert_eq!(dst[7 * 8 + 7], 3 * 8 + 3);
        assert!(p.compare(&dst, &dst, &[b], None, "same").is_ok());
        let mut bad = dst.clone();
        bad[6 * 8 + 5] ^= 1;
        let Err(Stop::Fail(why)) = p.compare(&bad, &dst, &[b], Some([4, 4, 1]), "x") else {
            panic!("difference not found")
        };
        assert!(
            why.contains("texel (5, 6, 0)") && why.contains("sparse block (1, 1, 0)"),
            "{why}"
        );
    }
}
