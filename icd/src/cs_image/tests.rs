//! Tests of the image transfers: every stream runs in the virtual Mali's
//! CS interpreter over a test memory, and the memory afterwards must equal
//! a CPU reference built from [`ImageLayout::block_offset`] block by block
//! (so a stray write anywhere in the destination shows up, and reads or
//! writes outside the resources fault).

use mali_csf::CsBuilder;
use panthor_sim::cs::{CsMemory, CsState, MemFault, Outcome};
use proptest::prelude::*;

use super::*;
use crate::layout::{ImageDesc, MipTailMode};

// ----- test memory -----------------------------------------------------------

const CODE_VA: u64 = 0x10_0000;
const SRC_VA: u64 = 0x1_0000_0000;
const DST_VA: u64 = 0x2_0000_0000;

/// GPU memory made of a few regions; reads outside them and writes outside
/// the writable ones fault.
struct Mem {
    regions: Vec<(u64, Vec<u8>, bool)>,
}

impl Mem {
    fn new() -> Mem {
        Mem {
            regions: Vec::new(),
        }
    }

    fn add(&mut self, va: u64, bytes: Vec<u8>, writable: bool) {
        self.regions.push((va, bytes, writable));
    }

    fn region(&self, va: u64) -> &[u8] {
        &self.regions.iter().find(|r| r.0 == va).unwrap().1
    }

    fn at(&mut self, va: u64, len: u64, write: bool) -> Result<(&mut Vec<u8>, usize), MemFault> {
        for (base, bytes, writable) in &mut self.regions {
            if va >= *base && va + len <= *base + bytes.len() as u64 {
                if write && !*writable {
                    break;
                }
                return Ok((bytes, (va - *base) as usize));
            }
        }
        Err(MemFault { va, write })
    }
}

impl CsMemory for Mem {
    // Image copies sample no counters: a STORE_STATE here is a bug.
    fn timestamp(&mut self) -> u64 {
        panic!("an image copy stream sampled the timestamp")
    }
    fn cycle_count(&mut self) -> u64 {
        panic!("an image copy stream sampled the cycle counter")
    }
    fn read_u32(&mut self, va: u64) -> Result<u32, MemFault> {
        let (m, i) = self.at(va, 4, false)?;
        Ok(u32::from_le_bytes(m[i..i + 4].try_into().unwrap()))
    }
    fn write_u32(&mut self, va: u64, v: u32) -> Result<(), MemFault> {
        let (m, i) = self.at(va, 4, true)?;
        m[i..i + 4].copy_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn read_u64(&mut self, va: u64) -> Result<u64, MemFault> {
        let (m, i) = self.at(va, 8, false)?;
        Ok(u64::from_le_bytes(m[i..i + 8].try_into().unwrap()))
    }
    fn write_u64(&mut self, va: u64, v: u64) -> Result<(), MemFault> {
        let (m, i) = self.at(va, 8, true)?;
        m[i..i + 8].copy_from_slice(&v.to_le_bytes());
        Ok(())
    }
}

/// Deterministic bytes that differ everywhere (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Runs the stream in `b` over `mem` to its end; returns the stream size in
/// bytes and the instructions executed.
fn run(mem: &mut Mem, b: CsBuilder) -> (usize, u64) {
    let words = b.finish().expect("valid stream");
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let size = code.len();
    mem.regions.retain(|r| r.0 != CODE_VA);
    mem.add(CODE_VA, code, false);
    let mut cs = CsState::new();
    cs.start(CODE_VA, size as u32);
    let outcome = cs.run(mem, u64::MAX);
    assert_eq!(outcome, Outcome::Done, "stream stopped: {:?}", cs.fault());
    (size, cs.retired())
}

// ----- images ------------------------------------------------------------------

fn layout(
    dim: Dim,
    extent: [u32; 3],
    levels: u32,
    layers: u32,
    samples: u32,
    block: TexelBlock,
    tiling: Tiling,
) -> ImageLayout {
    ImageLayout::new(&ImageDesc {
        dim,
        extent,
        levels,
        layers,
        samples,
        block,
        tiling,
        mip_tail: MipTailMode::PerLayer,
    })
    .unwrap()
}

fn tex(bytes: u32) -> TexelBlock {
    TexelBlock::texel(bytes)
}

const BC1: TexelBlock = TexelBlock {
    bytes: 8,
    extent: [4, 4, 1],
};

fn region(level: u32, layers: (u32, u32), offset: [u32; 3], extent: [u32; 3]) -> Region {
    Region {
        level,
        base_layer: layers.0,
        layer_count: layers.1,
        offset,
        extent,
    }
}

/// The (layer, block) pairs of a region, slice by slice, row by row (the
/// reference's own conversion to blocks, written independently).
fn region_blocks(l: &ImageLayout, r: &Region) -> Vec<(u32, u32, [u32; 3], [u32; 3])> {
    let d = l.desc();
    let be = d.block.extent;
    let (slices, z0, layered) = if d.dim == Dim::D3 {
        (r.extent[2], r.offset[2], false)
    } else {
        (r.layer_count, 0, true)
    };
    let w = r.extent[0].div_ceil(be[0]);
    let h = r.extent[1].div_ceil(be[1]);
    let mut out = Vec::new();
    for s in 0..slices {
        for y in 0..h {
            for x in 0..w {
                let (layer, z) = if layered {
                    (r.base_layer + s, z0)
                } else {
                    (r.base_layer, z0 + s)
                };
                let blk = [r.offset[0] / be[0] + x, r.offset[1] / be[1] + y, z];
                out.push((s, layer, blk, [x, y, s]));
            }
        }
    }
    out
}

/// Byte offsets in the buffer of block (x, y, s) of a buffer copy.
fn buffer_offset(l: &ImageLayout, r: &Region, buf: &BufferLayout, pos: [u32; 3]) -> usize {
    let d = l.desc();
    let be = d.block.extent;
    let rl = if buf.row_length == 0 {
        r.extent[0]
    } else {
        buf.row_length
    };
    let ih = if buf.image_height == 0 {
        r.extent[1]
    } else {
        buf.image_height
    };
    let (rb, hb) = (rl.div_ceil(be[0]) as usize, ih.div_ceil(be[1]) as usize);
    ((pos[2] as usize * hb + pos[1] as usize) * rb + pos[0] as usize) * d.block.bytes as usize
}

fn buffer_size(l: &ImageLayout, r: &Region, buf: &BufferLayout) -> usize {
    let blocks = region_blocks(l, r);
    let last = blocks.last().unwrap().3;
    buffer_offset(l, r, buf, last) + l.desc().block.bytes as usize
}

/// Uploads with `buffer_to_image`, checks the image against the reference,
/// downloads the same region into a fresh buffer with `image_to_buffer`
/// and checks the buffer. Returns the upload's stream bytes and executed
/// instructions.
fn round_trip(l: &ImageLayout, r: &Region, buf: BufferLayout) -> (usize, u64) {
    let bytes = l.desc().block.bytes as usize;
    let buf_len = buffer_size(l, r, &buf);
    let buffer = noise(buf_len, 7);
    let image = noise(l.size() as usize, 11);

    // Upload.
    let mut mem = Mem::new();
    mem.add(SRC_VA, buffer.clone(), false);
    mem.add(DST_VA, image.clone(), true);
    let mut b = CsBuilder::new();
    let img = ImageRef {
        layout: l,
        va: DST_VA,
    };
    let bl = BufferLayout { va: SRC_VA, ..buf };
    buffer_to_image(&mut b, bl, img, r).unwrap();
    let (size, retired) = run(&mut mem, b);
    let mut want = image.clone();
    for (_, layer, blk, pos) in region_blocks(l, r) {
        let io = l.block_offset(r.level, layer, 0, blk).unwrap() as usize;
        let bo = buffer_offset(l, r, &buf, pos);
        want[io..io + bytes].copy_from_slice(&buffer[bo..bo + bytes]);
    }
    assert!(mem.region(DST_VA) == &want[..], "upload of {r:?} differs");

    // Download.
    let mut mem = Mem::new();
    mem.add(SRC_VA, image.clone(), false);
    mem.add(DST_VA, noise(buf_len, 13), true);
    let mut b = CsBuilder::new();
    let img = ImageRef {
        layout: l,
        va: SRC_VA,
    };
    let bl = BufferLayout { va: DST_VA, ..buf };
    image_to_buffer(&mut b, img, r, bl).unwrap();
    run(&mut mem, b);
    let mut want = noise(buf_len, 13);
    for (_, layer, blk, pos) in region_blocks(l, r) {
        let io = l.block_offset(r.level, layer, 0, blk).unwrap() as usize;
        let bo = buffer_offset(l, r, &buf, pos);
        want[bo..bo + bytes].copy_from_slice(&image[io..io + bytes]);
    }
    assert!(mem.region(DST_VA) == &want[..], "download of {r:?} differs");
    (size, retired)
}

fn packed() -> BufferLayout {
    BufferLayout {
        va: 0,
        row_length: 0,
        image_height: 0,
    }
}

/// Copies `sr` of `src` to `dr` of `dst` and checks the destination against
/// the reference (every sample). Returns the stream bytes.
fn check_image_copy(src: &ImageLayout, sr: &Region, dst: &ImageLayout, dr: &Region) -> usize {
    let bytes = src.desc().block.bytes as usize;
    let samples = src.desc().samples;
    let s_img = noise(src.size() as usize, 3);
    let d_img = noise(dst.size() as usize, 5);
    let mut mem = Mem::new();
    mem.add(SRC_VA, s_img.clone(), false);
    mem.add(DST_VA, d_img.clone(), true);
    let mut b = CsBuilder::new();
    let (s, d) = (
        ImageRef {
            layout: src,
            va: SRC_VA,
        },
        ImageRef {
            layout: dst,
            va: DST_VA,
        },
    );
    image_to_image(&mut b, s, sr, d, dr).unwrap();
    let (size, _) = run(&mut mem, b);
    let (sb, db) = (region_blocks(src, sr), region_blocks(dst, dr));
    assert_eq!(sb.len(), db.len());
    let mut want = d_img;
    for ((_, sl, sblk, _), (_, dl, dblk, _)) in sb.iter().zip(&db) {
        for q in 0..samples {
            let so = src.block_offset(sr.level, *sl, q, *sblk).unwrap() as usize;
            let doff = dst.block_offset(dr.level, *dl, q, *dblk).unwrap() as usize;
            want[doff..doff + bytes].copy_from_slice(&s_img[so..so + bytes]);
        }
    }
    assert!(
        mem.region(DST_VA) == &want[..],
        "copy {sr:?} -> {dr:?} differs"
    );
    size
}

// ----- buffer <-> image ------------------------------------------------------------

#[test]
fn full_upload_rgba8_1024_is_small_and_exact() {
    let l = layout(
        Dim::D2,
        [1024, 1024, 1],
        1,
        1,
        1,
        tex(4),
        Tiling::Interleaved64K,
    );
    let r = region(0, (0, 1), [0, 0, 0], [1024, 1024, 1]);
    let (size, retired) = round_trip(&l, &r, packed());
    let texels = 1024.0 * 1024.0;
    let per_texel = size as f64 / texels;
    println!(
        "1024x1024 RGBA8 upload: {size} bytes of stream, {per_texel:.5} B/texel, \
         {:.3} instructions executed per texel",
        retired as f64 / texels
    );
    assert!(size < 4096, "{size} bytes");
}

#[test]
fn full_upload_bc1_256_is_small_and_exact() {
    let l = layout(Dim::D2, [256, 256, 1], 1, 1, 1, BC1, Tiling::Interleaved64K);
    let r = region(0, (0, 1), [0, 0, 0], [256, 256, 1]);
    let (size, retired) = round_trip(&l, &r, packed());
    let texels = 256.0 * 256.0;
    let per_texel = size as f64 / texels;
    println!(
        "256x256 BC1 upload: {size} bytes of stream, {per_texel:.5} B/texel, \
         {:.3} instructions executed per block",
        retired as f64 / (texels / 16.0)
    );
    assert!(size < 4096, "{size} bytes");
}

#[test]
fn unaligned_regions_every_block_size() {
    for bytes in [4, 8, 16] {
        let l = layout(
            Dim::D2,
            [300, 200, 1],
            3,
            3,
            1,
            tex(bytes),
            Tiling::Interleaved64K,
        );
        // Starts mid-u-block and mid-tile, crosses tile boundaries.
        let r = region(0, (1, 2), [5, 3, 0], [290, 190, 1]);
        round_trip(&l, &r, packed());
        // Padded buffer rows and images.
        let buf = BufferLayout {
            va: 0,
            row_length: 300,
            image_height: 197,
        };
        round_trip(&l, &r, buf);
        // A thin column and a single texel.
        round_trip(&l, &region(0, (0, 1), [17, 0, 0], [1, 200, 1]), packed());
        round_trip(&l, &region(1, (2, 1), [149, 99, 0], [1, 1, 1]), packed());
        // A mip level in the tail (levels 1 and 2 are small).
        round_trip(&l, &region(2, (0, 3), [7, 9, 0], [68, 41, 1]), packed());
    }
}

#[test]
fn linear_images() {
    for bytes in [4, 8, 16] {
        let l = layout(Dim::D2, [70, 33, 1], 2, 2, 1, tex(bytes), Tiling::Linear);
        round_trip(&l, &region(0, (0, 2), [0, 0, 0], [70, 33, 1]), packed());
        round_trip(&l, &region(0, (1, 1), [3, 5, 0], [50, 20, 1]), packed());
        round_trip(
            &l,
            &region(1, (0, 2), [1, 1, 0], [30, 10, 1]),
            BufferLayout {
                va: 0,
                row_length: 40,
                image_height: 12,
            },
        );
    }
    // Rows contiguous on both sides (64-byte rows): one span.
    let l = layout(Dim::D2, [16, 8, 1], 1, 3, 1, tex(4), Tiling::Linear);
    let (size, _) = round_trip(&l, &region(0, (0, 3), [0, 0, 0], [16, 8, 1]), packed());
    assert!(size < 200, "{size}");
    let l = layout(Dim::D3, [20, 6, 5], 1, 1, 1, tex(8), Tiling::Linear);
    round_trip(&l, &region(0, (0, 1), [2, 1, 1], [17, 5, 3]), packed());
}

#[test]
fn volumes_and_1d() {
    for bytes in [4, 8, 16] {
        // 4-byte bricks are 32x32x16: the z range crosses a brick.
        let l = layout(
            Dim::D3,
            [40, 36, 40],
            2,
            1,
            1,
            tex(bytes),
            Tiling::Interleaved64K,
        );
        round_trip(&l, &region(0, (0, 1), [3, 30, 10], [37, 6, 25]), packed());
        round_trip(&l, &region(1, (0, 1), [0, 0, 0], [20, 18, 20]), packed());
    }
    let l = layout(
        Dim::D1,
        [500, 1, 1],
        2,
        4,
        1,
        tex(4),
        Tiling::Interleaved64K,
    );
    round_trip(&l, &region(0, (1, 3), [100, 0, 0], [333, 1, 1]), packed());
}

#[test]
fn compressed_partial_edge_blocks() {
    // 70x38 BC1: 18x10 blocks, the last column and row partial.
    let l = layout(Dim::D2, [70, 38, 1], 2, 2, 1, BC1, Tiling::Interleaved64K);
    round_trip(&l, &region(0, (0, 2), [4, 8, 0], [66, 30, 1]), packed());
    round_trip(
        &l,
        &region(0, (1, 1), [0, 0, 0], [70, 38, 1]),
        BufferLayout {
            va: 0,
            row_length: 80,
            image_height: 40,
        },
    );
    // Level 1 is 35x19 texels: 9x5 blocks.
    round_trip(&l, &region(1, (0, 1), [32, 16, 0], [3, 3, 1]), packed());
    let bc7 = TexelBlock {
        bytes: 16,
        extent: [4, 4, 1],
    };
    let l = layout(Dim::D2, [130, 66, 1], 1, 1, 1, bc7, Tiling::Interleaved64K);
    round_trip(&l, &region(0, (0, 1), [4, 4, 0], [126, 62, 1]), packed());
}

// ----- image <-> image ---------------------------------------------------------------

#[test]
fn image_copies() {
    for bytes in [4, 8, 16] {
        let a = layout(
            Dim::D2,
            [200, 150, 1],
            2,
            2,
            1,
            tex(bytes),
            Tiling::Interleaved64K,
        );
        let b = layout(
            Dim::D2,
            [180, 170, 1],
            1,
            3,
            1,
            tex(bytes),
            Tiling::Interleaved64K,
        );
        // Same phase (offsets congruent mod 16): u-block to u-block.
        check_image_copy(
            &a,
            &region(0, (0, 2), [16, 3, 0], [150, 140, 1]),
            &b,
            &region(0, (1, 2), [0, 19, 0], [150, 140, 1]),
        );
        // Different phases in x and y.
        check_image_copy(
            &a,
            &region(0, (1, 1), [5, 7, 0], [170, 130, 1]),
            &b,
            &region(0, (2, 1), [9, 30, 0], [170, 130, 1]),
        );
        // Linear <-> optimal.
        let lin = layout(Dim::D2, [90, 50, 1], 1, 2, 1, tex(bytes), Tiling::Linear);
        check_image_copy(
            &lin,
            &region(0, (0, 2), [1, 2, 0], [80, 45, 1]),
            &a,
            &region(0, (0, 2), [100, 100, 0], [80, 45, 1]),
        );
        check_image_copy(
            &a,
            &region(1, (1, 1), [3, 3, 0], [85, 40, 1]),
            &lin,
            &region(0, (1, 1), [5, 10, 0], [85, 40, 1]),
        );
        // Linear <-> linear.
        check_image_copy(
            &lin,
            &region(0, (0, 1), [0, 0, 0], [90, 50, 1]),
            &lin,
            &region(0, (1, 1), [0, 0, 0], [90, 50, 1]),
        );
    }
}

#[test]
fn array_to_volume_and_back() {
    let arr = layout(
        Dim::D2,
        [64, 64, 1],
        1,
        24,
        1,
        tex(4),
        Tiling::Interleaved64K,
    );
    let vol = layout(
        Dim::D3,
        [48, 40, 30],
        1,
        1,
        1,
        tex(4),
        Tiling::Interleaved64K,
    );
    // 20 layers from 2 -> z 5..25 (crosses the 16-deep brick boundary);
    // the caller passes the same extent (depth = layer count) to both.
    check_image_copy(
        &arr,
        &region(0, (2, 20), [4, 6, 0], [40, 33, 20]),
        &vol,
        &region(0, (0, 1), [7, 2, 5], [40, 33, 20]),
    );
    check_image_copy(
        &vol,
        &region(0, (0, 1), [0, 0, 3], [48, 40, 24]),
        &arr,
        &region(0, (0, 24), [16, 24, 0], [48, 40, 24]),
    );
}

#[test]
fn multisample_copies_every_sample() {
    for samples in [2, 4, 8] {
        let a = layout(
            Dim::D2,
            [100, 70, 1],
            1,
            2,
            samples,
            tex(4),
            Tiling::Interleaved64K,
        );
        check_image_copy(
            &a,
            &region(0, (0, 1), [3, 4, 0], [60, 50, 1]),
            &a,
            &region(0, (1, 1), [20, 17, 0], [60, 50, 1]),
        );
    }
}

#[test]
fn compressed_to_uncompressed_size_compatible() {
    // BC1 (8-byte 4x4 blocks) <-> R32G32_UINT (8-byte texels). The caller
    // passes VkImageCopy's extent, in source texels, for both regions.
    let bc = layout(Dim::D2, [64, 64, 1], 1, 1, 1, BC1, Tiling::Interleaved64K);
    let rg = layout(
        Dim::D2,
        [40, 40, 1],
        1,
        1,
        1,
        tex(8),
        Tiling::Interleaved64K,
    );
    let sr = region(0, (0, 1), [8, 4, 0], [32, 24, 1]);
    let dr = region(0, (0, 1), [3, 5, 0], [32, 24, 1]);
    // The destination gets 8x6 texels.
    let (s_img, d_img) = (noise(bc.size() as usize, 1), noise(rg.size() as usize, 2));
    let mut mem = Mem::new();
    mem.add(SRC_VA, s_img.clone(), false);
    mem.add(DST_VA, d_img.clone(), true);
    let mut b = CsBuilder::new();
    image_to_image(
        &mut b,
        ImageRef {
            layout: &bc,
            va: SRC_VA,
        },
        &sr,
        ImageRef {
            layout: &rg,
            va: DST_VA,
        },
        &dr,
    )
    .unwrap();
    run(&mut mem, b);
    let mut want = d_img;
    for y in 0..6 {
        for x in 0..8 {
            let so = bc.block_offset(0, 0, 0, [2 + x, 1 + y, 0]).unwrap() as usize;
            let d = rg.block_offset(0, 0, 0, [3 + x, 5 + y, 0]).unwrap() as usize;
            want[d..d + 8].copy_from_slice(&s_img[so..so + 8]);
        }
    }
    assert!(mem.region(DST_VA) == &want[..]);
    // And back, R32G32 (8x6 texels) -> BC1 (8x6 blocks = 32x24 texels).
    check_image_copy(
        &rg,
        &region(0, (0, 1), [3, 5, 0], [8, 6, 1]),
        &bc,
        &region(0, (0, 1), [8, 4, 0], [32, 24, 1]),
    );
}

// ----- clears ---------------------------------------------------------------------

/// Clears and checks: optimal levels are whole tiles of the pattern, linear
/// levels only their texel blocks (row padding untouched).
fn check_clear(l: &ImageLayout, level: u32, base: u32, count: u32, block: &[u8]) -> usize {
    let image = noise(l.size() as usize, 17);
    let mut mem = Mem::new();
    mem.add(DST_VA, image.clone(), true);
    let mut b = CsBuilder::new();
    let img = ImageRef {
        layout: l,
        va: DST_VA,
    };
    clear(&mut b, img, level, base, count, block).unwrap();
    let (size, _) = run(&mut mem, b);
    let d = l.desc();
    let count = if count == u32::MAX {
        d.layers - base
    } else {
        count
    };
    let mut want = image;
    for layer in base..base + count {
        match d.tiling {
            Tiling::Interleaved64K => {
                let sub = l.subresource(level, layer).unwrap();
                let range = sub.offset as usize..(sub.offset + sub.size) as usize;
                for (i, byte) in want[range].iter_mut().enumerate() {
                    *byte = block[i % block.len()];
                }
            }
            Tiling::Linear => {
                let e = l.level_extent_blocks(level).unwrap();
                for z in 0..e[2] {
                    for y in 0..e[1] {
                        for x in 0..e[0] {
                            let o = l.block_offset(level, layer, 0, [x, y, z]).unwrap() as usize;
                            want[o..o + block.len()].copy_from_slice(block);
                        }
                    }
                }
            }
        }
    }
    // Every in-extent block of every sample holds the value.
    let e = l.level_extent_blocks(level).unwrap();
    for layer in base..base + count {
        for q in 0..d.samples {
            for (x, y) in [(0, 0), (e[0] - 1, e[1] - 1), (e[0] / 2, e[1] / 3)] {
                let o = l.block_offset(level, layer, q, [x, y, e[2] - 1]).unwrap() as usize;
                assert_eq!(&want[o..o + block.len()], block);
            }
        }
    }
    assert!(mem.region(DST_VA) == &want[..], "clear differs");
    size
}

#[test]
fn clears() {
    let v4 = [1, 2, 3, 4];
    let v8 = [1, 2, 3, 4, 5, 6, 7, 8];
    let v16: Vec<u8> = (1..=16).collect();
    let l = layout(
        Dim::D2,
        [300, 200, 1],
        4,
        3,
        1,
        tex(4),
        Tiling::Interleaved64K,
    );
    check_clear(&l, 0, 1, 2, &v4);
    check_clear(&l, 3, 0, 3, &v4);
    check_clear(&l, 1, 0, u32::MAX, &v4);
    let l = layout(Dim::D2, [70, 30, 1], 2, 2, 1, tex(8), Tiling::Linear);
    check_clear(&l, 0, 0, 2, &v8);
    check_clear(&l, 1, 1, 1, &v8);
    let l = layout(Dim::D3, [20, 9, 7], 1, 1, 1, tex(16), Tiling::Linear);
    check_clear(&l, 0, 0, 1, &v16);
    let l = layout(
        Dim::D3,
        [40, 20, 20],
        1,
        1,
        1,
        tex(16),
        Tiling::Interleaved64K,
    );
    check_clear(&l, 0, 0, 1, &v16);
    let l = layout(
        Dim::D2,
        [64, 64, 1],
        1,
        2,
        4,
        tex(8),
        Tiling::Interleaved64K,
    );
    check_clear(&l, 0, 0, 2, &v8);
}

// ----- validation ----------------------------------------------------------------------

#[test]
fn errors_leave_the_builder_untouched() {
    let opt = layout(
        Dim::D2,
        [64, 64, 1],
        2,
        2,
        1,
        tex(4),
        Tiling::Interleaved64K,
    );
    let bc = layout(Dim::D2, [64, 64, 1], 1, 1, 1, BC1, Tiling::Interleaved64K);
    let rgb = layout(Dim::D2, [64, 64, 1], 1, 1, 1, tex(3), Tiling::Linear);
    let ms = layout(
        Dim::D2,
        [64, 64, 1],
        1,
        1,
        4,
        tex(4),
        Tiling::Interleaved64K,
    );
    let wide = layout(
        Dim::D2,
        [64, 64, 1],
        1,
        1,
        1,
        tex(8),
        Tiling::Interleaved64K,
    );
    let vol = layout(
        Dim::D3,
        [32, 32, 8],
        1,
        1,
        1,
        tex(4),
        Tiling::Interleaved64K,
    );
    let img = |l| ImageRef {
        layout: l,
        va: DST_VA,
    };
    let buf = BufferLayout {
        va: SRC_VA,
        row_length: 0,
        image_height: 0,
    };
    let full = region(0, (0, 1), [0, 0, 0], [64, 64, 1]);

    type Case<'a> = (
        Box<dyn Fn(&mut CsBuilder) -> Result<(), CopyError> + 'a>,
        CopyError,
    );
    let cases: Vec<Case> = vec![
        (
            Box::new(|b| buffer_to_image(b, buf, img(&opt), &region(2, (0, 1), [0; 3], [1, 1, 1]))),
            CopyError::NoSuchLevel {
                level: 2,
                levels: 2,
            },
        ),
        (
            Box::new(|b| buffer_to_image(b, buf, img(&opt), &region(0, (1, 2), [0; 3], [1, 1, 1]))),
            CopyError::NoSuchLayers {
                base_layer: 1,
                layer_count: 2,
                layers: 2,
            },
        ),
        (
            Box::new(|b| buffer_to_image(b, buf, img(&opt), &region(0, (0, 1), [0; 3], [0, 1, 1]))),
            CopyError::EmptyRegion {
                extent: [0, 1, 1],
                layer_count: 1,
            },
        ),
        (
            Box::new(|b| {
                image_to_buffer(
                    b,
                    img(&opt),
                    &region(1, (0, 1), [10, 0, 0], [23, 1, 1]),
                    buf,
                )
            }),
            CopyError::OutOfBounds {
                offset: [10, 0, 0],
                extent: [23, 1, 1],
                level_extent: [32, 32, 1],
            },
        ),
        (
            Box::new(|b| {
                buffer_to_image(b, buf, img(&bc), &region(0, (0, 1), [2, 0, 0], [4, 4, 1]))
            }),
            CopyError::Unaligned {
                offset: [2, 0, 0],
                extent: [4, 4, 1],
                block_extent: [4, 4, 1],
            },
        ),
        (
            Box::new(|b| {
                buffer_to_image(b, buf, img(&bc), &region(0, (0, 1), [0, 0, 0], [6, 4, 1]))
            }),
            CopyError::Unaligned {
                offset: [0, 0, 0],
                extent: [6, 4, 1],
                block_extent: [4, 4, 1],
            },
        ),
        (
            Box::new(|b| {
                buffer_to_image(b, buf, img(&opt), &region(0, (0, 1), [0, 0, 1], [1, 1, 1]))
            }),
            CopyError::DepthOnLayeredImage {
                offset_z: 1,
                extent_z: 1,
                layer_count: 1,
            },
        ),
        (
            Box::new(|b| buffer_to_image(b, buf, img(&rgb), &full)),
            CopyError::UnsupportedBlockBytes { bytes: 3 },
        ),
        (
            Box::new(|b| {
                let buf = BufferLayout {
                    va: SRC_VA + 2,
                    ..buf
                };
                buffer_to_image(b, buf, img(&opt), &full)
            }),
            CopyError::UnalignedAddress {
                what: "buffer",
                va: SRC_VA + 2,
            },
        ),
        (
            Box::new(|b| {
                let bad = ImageRef {
                    layout: &opt,
                    va: DST_VA + 1,
                };
                buffer_to_image(b, buf, bad, &full)
            }),
            CopyError::UnalignedAddress {
                what: "image",
                va: DST_VA + 1,
            },
        ),
        (
            Box::new(|b| {
                let buf = BufferLayout {
                    row_length: 63,
                    ..buf
                };
                buffer_to_image(b, buf, img(&opt), &full)
            }),
            CopyError::BufferRowLength {
                row_length: 63,
                width: 64,
                block_width: 1,
            },
        ),
        (
            Box::new(|b| {
                let buf = BufferLayout {
                    row_length: 66,
                    ..buf
                };
                buffer_to_image(b, buf, img(&bc), &full)
            }),
            CopyError::BufferRowLength {
                row_length: 66,
                width: 64,
                block_width: 4,
            },
        ),
        (
            Box::new(|b| {
                let buf = BufferLayout {
                    image_height: 10,
                    ..buf
                };
                buffer_to_image(b, buf, img(&opt), &full)
            }),
            CopyError::BufferImageHeight {
                image_height: 10,
                height: 64,
                block_height: 1,
            },
        ),
        (
            Box::new(|b| buffer_to_image(b, buf, img(&ms), &full)),
            CopyError::Multisampled { samples: 4 },
        ),
        (
            Box::new(|b| image_to_image(b, img(&ms), &full, img(&opt), &full)),
            CopyError::SampleCountMismatch { src: 4, dst: 1 },
        ),
        (
            Box::new(|b| image_to_image(b, img(&wide), &full, img(&opt), &full)),
            CopyError::BlockBytesMismatch { src: 8, dst: 4 },
        ),
        (
            Box::new(|b| {
                let d = region(0, (0, 1), [0; 3], [64, 63, 1]);
                image_to_image(b, img(&opt), &full, img(&opt), &d)
            }),
            CopyError::ExtentMismatch {
                src: [64, 64, 1],
                dst: [64, 63, 1],
            },
        ),
        (
            Box::new(|b| {
                // 3 layers into a 3D image 2 deep.
                let s = region(0, (0, 2), [0; 3], [32, 32, 2]);
                let d = region(0, (0, 1), [0, 0, 5], [32, 32, 3]);
                image_to_image(b, img(&opt), &s, img(&vol), &d)
            }),
            CopyError::ExtentMismatch {
                src: [32, 32, 2],
                dst: [32, 32, 3],
            },
        ),
        (
            Box::new(|b| {
                // Layers of a 3D image.
                let s = region(0, (0, 2), [0; 3], [32, 32, 1]);
                image_to_image(b, img(&vol), &s, img(&vol), &s)
            }),
            CopyError::NoSuchLayers {
                base_layer: 0,
                layer_count: 2,
                layers: 1,
            },
        ),
        (
            Box::new(|b| clear(b, img(&bc), 0, 0, 1, &[0; 8])),
            CopyError::CompressedClear {
                block_extent: [4, 4, 1],
            },
        ),
        (
            Box::new(|b| clear(b, img(&opt), 0, 0, 1, &[0; 8])),
            CopyError::ClearValueSize {
                expected: 4,
                got: 8,
            },
        ),
        (
            Box::new(|b| clear(b, img(&opt), 0, 1, 2, &[0; 4])),
            CopyError::NoSuchLayers {
                base_layer: 1,
                layer_count: 2,
                layers: 2,
            },
        ),
        (
            Box::new(|b| clear(b, img(&opt), 5, 0, 1, &[0; 4])),
            CopyError::NoSuchLevel {
                level: 5,
                levels: 2,
            },
        ),
        (
            Box::new(|b| {
                let buf = BufferLayout {
                    va: u64::MAX - 103,
                    ..buf
                };
                buffer_to_image(b, buf, img(&opt), &full)
            }),
            CopyError::AddressOverflow,
        ),
    ];
    for (i, (f, want)) in cases.iter().enumerate() {
        let mut b = CsBuilder::new();
        b.nop().nop();
        assert_eq!(f(&mut b).as_ref(), Err(want), "case {i}");
        assert_eq!(b.len(), 2, "case {i} emitted");
        assert!(!want.to_string().is_empty());
    }
}

// ----- stream sizes ---------------------------------------------------------------------

fn upload_size(l: &ImageLayout, r: &Region) -> usize {
    let mut b = CsBuilder::new();
    let img = ImageRef {
        layout: l,
        va: DST_VA,
    };
    buffer_to_image(&mut b, packed_at(SRC_VA), img, r).unwrap();
    b.len() * 8
}

fn packed_at(va: u64) -> BufferLayout {
    BufferLayout { va, ..packed() }
}

/// Invariant: streams stay far below a byte per texel even for large,
/// unaligned or misaligned transfers (loops, not unrolled code).
#[test]
fn stream_sizes_stay_small() {
    let big = layout(
        Dim::D2,
        [4096, 4096, 1],
        1,
        1,
        1,
        tex(4),
        Tiling::Interleaved64K,
    );
    let texels = 4096.0 * 4096.0;
    let full = upload_size(&big, &region(0, (0, 1), [0; 3], [4096, 4096, 1]));
    println!("4096x4096 RGBA8 upload: {full} bytes");
    assert!(full < 4096);
    let odd = upload_size(&big, &region(0, (0, 1), [5, 3, 0], [4000, 4001, 1]));
    println!(
        "4000x4001 RGBA8 upload at (5, 3): {odd} bytes, {:.4} B/texel",
        odd as f64 / texels
    );
    assert!((odd as f64) < 0.05 * texels);

    // Optimal -> optimal at different phases.
    let mut b = CsBuilder::new();
    let (s, d) = (
        ImageRef {
            layout: &big,
            va: SRC_VA,
        },
        ImageRef {
            layout: &big,
            va: DST_VA,
        },
    );
    image_to_image(
        &mut b,
        s,
        &region(0, (0, 1), [5, 9, 0], [4000, 4000, 1]),
        d,
        &region(0, (0, 1), [70, 20, 0], [4000, 4000, 1]),
    )
    .unwrap();
    let mis = b.len() * 8;
    println!(
        "4000x4000 RGBA8 optimal copy at other phases: {mis} bytes, {:.4} B/texel",
        mis as f64 / texels
    );
    assert!((mis as f64) < 0.1 * texels);

    // A deep volume.
    let vol = layout(
        Dim::D3,
        [256, 256, 256],
        1,
        1,
        1,
        tex(4),
        Tiling::Interleaved64K,
    );
    let v = upload_size(&vol, &region(0, (0, 1), [3, 3, 3], [250, 250, 250]));
    println!("250^3 RGBA8 volume upload: {v} bytes");
    assert!((v as f64) < 0.05 * 250.0 * 250.0 * 250.0);

    // Clears.
    let mut b = CsBuilder::new();
    clear(
        &mut b,
        ImageRef {
            layout: &big,
            va: DST_VA,
        },
        0,
        0,
        1,
        &[0; 4],
    )
    .unwrap();
    assert!(b.len() < 64, "{}", b.len());
}

#[test]
fn wide_copy_at_other_phases() {
    // Different phases on a wide image of 16-byte texels: long bands of
    // 2x2-cell units with source-tile crossings, folded by period.
    let a = layout(
        Dim::D2,
        [2048, 64, 1],
        1,
        1,
        1,
        tex(16),
        Tiling::Interleaved64K,
    );
    let size = check_image_copy(
        &a,
        &region(0, (0, 1), [1, 1, 0], [2040, 60, 1]),
        &a,
        &region(0, (0, 1), [6, 3, 0], [2040, 60, 1]),
    );
    println!("2040x60 RGBA32 misaligned copy: {size} bytes");
}

// ----- properties ------------------------------------------------------------------------

fn arb_case() -> impl Strategy<Value = (ImageLayout, Region, BufferLayout)> {
    (
        prop_oneof![Just(4u32), Just(8), Just(16)],
        any::<bool>(),
        0u32..3,
        (1u32..150, 1u32..100),
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
        (0u32..5, 0u32..5),
    )
        .prop_map(|(bytes, linear, dim, (w, h), (a, bb, c, d), (pr, ph))| {
            let tiling = if linear {
                Tiling::Linear
            } else {
                Tiling::Interleaved64K
            };
            let (dim, extent, layers) = match dim {
                0 => (Dim::D2, [w, h, 1], 3),
                1 => (Dim::D3, [w, h.min(40), 1 + c % 20], 1),
                _ => (Dim::D1, [w, 1, 1], 2),
            };
            let l = layout(dim, extent, 1, layers, 1, tex(bytes), tiling);
            let ox = a % extent[0];
            let oy = bb % extent[1];
            let ew = 1 + c % (extent[0] - ox);
            let eh = 1 + d % (extent[1] - oy);
            let (oz, ez, base, count) = if dim == Dim::D3 {
                let oz = a % extent[2];
                (oz, 1 + bb % (extent[2] - oz), 0, 1)
            } else {
                let base = c % layers;
                (0, 1, base, 1 + d % (layers - base))
            };
            let r = region(0, (base, count), [ox, oy, oz], [ew, eh, ez]);
            let buf = BufferLayout {
                va: 0,
                row_length: if pr == 0 { 0 } else { ew + pr },
                image_height: if ph == 0 { 0 } else { eh + ph },
            };
            (l, r, buf)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Invariant: an upload writes exactly the region's blocks with the
    /// buffer's bytes, a download exactly the buffer's bytes of the
    /// region, for any region of any layout.
    #[test]
    fn buffer_copies_match_the_reference((l, r, buf) in arb_case()) {
        round_trip(&l, &r, buf);
    }

    /// Invariant: an optimal -> optimal copy between any two phases writes
    /// exactly the destination region with the source's blocks.
    #[test]
    fn image_copies_match_the_reference(
        bytes in prop_oneof![Just(4u32), Just(8), Just(16)],
        (sx, sy, dx, dy) in (0u32..40, 0u32..40, 0u32..40, 0u32..40),
        (w, h) in (1u32..60, 1u32..60),
        linear in 0u32..3,
    ) {
        let t = |lin: bool| if lin { Tiling::Linear } else { Tiling::Interleaved64K };
        let a = layout(Dim::D2, [100, 100, 1], 1, 1, 1, tex(bytes), t(linear == 1));
        let b = layout(Dim::D2, [100, 100, 1], 1, 1, 1, tex(bytes), t(linear == 2));
        check_image_copy(
            &a,
            &region(0, (0, 1), [sx, sy, 0], [w, h, 1]),
            &b,
            &region(0, (0, 1), [dx, dy, 0], [w, h, 1]),
        );
    }
}

// ----- emission details --------------------------------------------------------------

/// A loop whose body is longer than a branch reaches is split into loops
/// over pieces of the body (the builder would fail with BranchOutOfRange
/// otherwise), and still copies every word once.
#[test]
fn loop_fission_keeps_branches_in_reach() {
    const PIECES: u64 = 4000;
    let mut bodies = Bodies::default();
    let chunk = contiguous(&mut bodies, COPY_CHUNK, Kind::Copy);
    let row = Rc::new(Tree::Seq(
        (0..PIECES)
            .map(|i| ([(i * COPY_CHUNK) as i64; 2], chunk.clone()))
            .collect(),
    ));
    assert!(bound(&row, &bodies) > MAX_LOOP_BODY);
    let row_bytes = PIECES * COPY_CHUNK;
    let tree = repeat(3, [row_bytes as i64; 2], row);
    let plan = Plan {
        bodies,
        items: vec![Placed {
            at: [SRC_VA, DST_VA],
            tree,
        }],
        uses: [true, true],
        pattern: None,
    };
    let total = (3 * row_bytes) as usize;
    let src = noise(total, 9);
    let mut mem = Mem::new();
    mem.add(SRC_VA, src.clone(), false);
    mem.add(DST_VA, vec![0; total], true);
    let mut b = CsBuilder::new();
    plan.emit(&mut b);
    run(&mut mem, b);
    assert!(mem.region(DST_VA) == &src[..]);
}

/// The folder builds loops of loops from a row-major walk over u-blocks
/// with tile jumps, and keeps irregular items apart.
#[test]
fn folder_nests_loops() {
    let body = Rc::new(Tree::Body(0));
    let mut f = Folder::default();
    // 2 tile rows x 2 u-block rows x 2 tiles x 4 u-blocks.
    for ty in 0..2u64 {
        for uy in 0..2u64 {
            for tx in 0..2u64 {
                for ux in 0..4u64 {
                    let img = ty * 0x4_0000 + uy * 0x1000 + tx * 0x1_0000 + ux * 0x400;
                    let lin = (ty * 2 + uy) * 0x8000 + (tx * 4 + ux) * 64;
                    f.push(Placed {
                        at: [lin, img],
                        tree: body.clone(),
                    });
                }
            }
        }
    }
    let items = f.finish();
    assert_eq!(items.len(), 1);
    let mut counts = Vec::new();
    let mut t = &items[0].tree;
    while let Tree::Loop { count, child, .. } = &**t {
        counts.push(*count);
        t = child;
    }
    assert_eq!(counts, [2, 2, 2, 4]);
    // An odd step breaks a run.
    let mut f = Folder::default();
    for at in [0u64, 64, 128, 1000, 1064] {
        f.push(Placed {
            at: [at, at],
            tree: body.clone(),
        });
    }
    assert_eq!(f.finish().len(), 2);
}
