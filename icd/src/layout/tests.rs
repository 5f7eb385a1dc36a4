//! Whole-layout tests: worked examples, descriptor errors, and brute-force
//! property tests that enumerate every texel block of random images.

use std::collections::HashSet;

use proptest::prelude::*;

use super::*;

fn desc_2d(extent: [u32; 2], levels: u32, layers: u32, bytes: u32) -> ImageDesc {
    ImageDesc {
        dim: Dim::D2,
        extent: [extent[0], extent[1], 1],
        levels,
        layers,
        samples: 1,
        block: TexelBlock::texel(bytes),
        tiling: Tiling::Interleaved64K,
        mip_tail: MipTailMode::PerLayer,
    }
}

const K64: u64 = 65536;

// ---------------------------------------------------------------- examples

/// The worked example of `image.rs`.
#[test]
fn worked_example_256x256_rgba8() {
    let l = ImageLayout::new(&desc_2d([256, 256], 9, 1, 4)).unwrap();
    assert_eq!(l.tile_shape(), Some([128, 128, 1]));
    assert_eq!(l.granularity_texels(), Some([128, 128, 1]));
    assert_eq!(l.tiles_in_level(0), Some([2, 2, 1]));
    assert_eq!(l.tiles_in_level(1), Some([1, 1, 1]));
    assert_eq!(l.mip_tail_first_lod(), 2);
    assert_eq!(
        l.mip_tail(),
        Some(MipTail {
            first_lod: 2,
            offset: 5 * K64,
            size: 7 * K64,
            stride: 12 * K64,
        })
    );
    assert_eq!(l.size(), 12 * K64);
    assert_eq!(l.alignment(), K64);
    assert_eq!(l.block_offset(0, 0, 0, [17, 0, 0]), Some(1028));
    assert_eq!(l.block_offset(0, 0, 0, [0, 16, 0]), Some(8 * 1024));
    assert_eq!(l.block_offset(0, 0, 0, [128, 0, 0]), Some(K64));
    assert_eq!(l.block_offset(0, 0, 0, [0, 128, 0]), Some(2 * K64));
    assert_eq!(
        l.block_offset(0, 0, 0, [255, 255, 0]),
        Some(3 * K64 + 63 * 1024 + 170 * 4)
    );
    assert_eq!(l.block_offset(1, 0, 0, [0, 0, 0]), Some(4 * K64));
    assert_eq!(l.block_offset(8, 0, 0, [0, 0, 0]), Some(11 * K64));
    assert_eq!(l.sparse_tile_offset(0, 0, [1, 1, 0]), Some(3 * K64));
    assert_eq!(l.sparse_tile_offset(1, 0, [0, 0, 0]), Some(4 * K64));
    assert_eq!(l.sparse_tile_offset(2, 0, [0, 0, 0]), None); // tail
    assert_eq!(l.sparse_tile_offset(0, 0, [2, 0, 0]), None); // out of range
    let sub = l.subresource(0, 0).unwrap();
    assert_eq!(
        sub,
        SubresourceLayout {
            offset: 0,
            size: 4 * K64,
            row_pitch: 2 * K64,
            array_pitch: 12 * K64,
            depth_pitch: 4 * K64,
        }
    );
}

#[test]
fn array_per_layer_and_single_tail() {
    let mut d = desc_2d([300, 200], 4, 3, 2); // tile 256x128 (2:1)
    let per = ImageLayout::new(&d).unwrap();
    // Levels: 300x200 -> 2x2 tiles, 150x100 -> tail (100 < 128), ...
    assert_eq!(per.mip_tail_first_lod(), 1);
    assert_eq!(per.tiles_in_level(0), Some([2, 2, 1]));
    assert_eq!(per.layer_stride(), (4 + 3) * K64);
    let t = per.mip_tail().unwrap();
    assert_eq!((t.offset, t.size, t.stride), (4 * K64, 3 * K64, 7 * K64));
    assert_eq!(
        per.sparse_tile_offset(0, 2, [1, 0, 0]),
        Some(14 * K64 + K64)
    );

    d.mip_tail = MipTailMode::Single;
    let single = ImageLayout::new(&d).unwrap();
    assert_eq!(single.layer_stride(), 4 * K64);
    let t = single.mip_tail().unwrap();
    assert_eq!(
        (t.first_lod, t.offset, t.size, t.stride),
        (1, 12 * K64, 9 * K64, 0)
    );
    assert_eq!(single.size(), 21 * K64);
    assert_eq!(
        single.sparse_tile_offset(0, 2, [1, 0, 0]),
        Some(8 * K64 + K64)
    );
    // Layer 1's tail: after layer 0's 3 tail tiles.
    assert_eq!(single.subresource(1, 1).unwrap().offset, 15 * K64);
    assert_eq!(single.subresource(1, 1).unwrap().array_pitch, 3 * K64);
}

#[test]
fn volume_bricks() {
    let d = ImageDesc {
        dim: Dim::D3,
        extent: [70, 40, 20],
        levels: 3,
        layers: 1,
        samples: 1,
        block: TexelBlock::texel(4),
        tiling: Tiling::Interleaved64K,
        mip_tail: MipTailMode::PerLayer,
    };
    let l = ImageLayout::new(&d).unwrap();
    assert_eq!(l.tile_shape(), Some([32, 32, 16]));
    assert_eq!(l.tiles_in_level(0), Some([3, 2, 2]));
    // 35x20x10 is smaller than the brick: tail from level 1.
    assert_eq!(l.mip_tail_first_lod(), 1);
    // Brick (1, 1, 1) = index 1 + 3 + 6 = 10.
    assert_eq!(l.sparse_tile_offset(0, 0, [1, 1, 1]), Some(10 * K64));
    // Texel (33, 32, 17): brick (1,1,1), local (1, 0, 1): slice 1 = 4 KiB, U index 1.
    assert_eq!(
        l.block_offset(0, 0, 0, [33, 32, 17]),
        Some(10 * K64 + 4096 + 4)
    );
    let sub = l.subresource(0, 0).unwrap();
    assert_eq!(
        (sub.row_pitch, sub.depth_pitch, sub.size),
        (3 * K64, 6 * K64, 12 * K64)
    );
}

#[test]
fn multisample_tiles() {
    let mut d = desc_2d([100, 70], 1, 1, 4);
    d.samples = 4;
    let l = ImageLayout::new(&d).unwrap();
    assert_eq!(l.tile_shape(), Some([64, 64, 1]));
    assert_eq!(l.tiles_in_level(0), Some([2, 2, 1]));
    assert_eq!(l.mip_tail(), None);
    assert_eq!(l.mip_tail_first_lod(), 1);
    assert_eq!(l.size(), 4 * K64);
    assert_eq!(l.block_offset(0, 0, 3, [0, 0, 0]), Some(3 * 1024));
    assert_eq!(l.block_offset(0, 0, 0, [64 + 16, 0, 0]), Some(K64 + 4096));
    assert_eq!(l.block_offset(0, 0, 4, [0, 0, 0]), None);
}

#[test]
fn compressed_bc1() {
    let d = ImageDesc {
        block: TexelBlock::compressed(8, [4, 4, 1]),
        ..desc_2d([1000, 600], 3, 1, 8)
    };
    let l = ImageLayout::new(&d).unwrap();
    assert_eq!(l.tile_shape(), Some([128, 64, 1]));
    assert_eq!(l.granularity_texels(), Some([512, 256, 1]));
    assert_eq!(l.level_extent_blocks(0), Some([250, 150, 1]));
    assert_eq!(l.tiles_in_level(0), Some([2, 3, 1]));
    // Level 1 is 500x300 texels: narrower than 512, so in the tail.
    assert_eq!(l.mip_tail_first_lod(), 1);
    assert_eq!(l.level_extent_blocks(2), Some([63, 38, 1]));
    assert_eq!(
        l.block_offset(0, 0, 0, [249, 149, 0]).map(|o| o / K64),
        Some(5)
    );
}

#[test]
fn one_d_uses_the_2d_tile() {
    let d = ImageDesc {
        dim: Dim::D1,
        extent: [1000, 1, 1],
        ..desc_2d([1, 1], 2, 2, 4)
    };
    let l = ImageLayout::new(&d).unwrap();
    assert_eq!(l.tile_shape(), Some([128, 128, 1]));
    assert_eq!(l.tiles_in_level(0), Some([8, 1, 1]));
    assert_eq!(l.mip_tail_first_lod(), 0); // never block-bindable
    assert_eq!(
        l.block_offset(0, 1, 0, [129, 0, 0]),
        Some(l.layer_stride() + K64 + 4)
    );
}

#[test]
fn linear_worked() {
    let d = ImageDesc {
        tiling: Tiling::Linear,
        ..desc_2d([10, 4], 2, 3, 3)
    };
    let l = ImageLayout::new(&d).unwrap();
    assert_eq!(l.alignment(), 64);
    assert_eq!(l.layer_stride(), 384);
    assert_eq!(l.size(), 3 * 384);
    assert_eq!(l.tile_shape(), None);
    assert_eq!(l.granularity_texels(), None);
    assert_eq!(l.tiles_in_level(0), None);
    assert_eq!(l.mip_tail(), None);
    assert_eq!(l.sparse_tile_offset(0, 0, [0, 0, 0]), None);
    let s = l.subresource(1, 2).unwrap();
    assert_eq!(
        s,
        SubresourceLayout {
            offset: 2 * 384 + 256,
            size: 128,
            row_pitch: 64,
            array_pitch: 384,
            depth_pitch: 128,
        }
    );
    assert_eq!(
        l.block_offset(1, 2, 0, [4, 1, 0]),
        Some(2 * 384 + 256 + 64 + 12)
    );
    assert_eq!(l.block_offset(1, 2, 0, [5, 0, 0]), None);
    assert_eq!(
        l.sparse_region(0, 0, [0, 0, 0], [10, 4, 1]),
        Err(RegionError::NotTiled)
    );
}

// ---------------------------------------------------------------- errors

#[test]
fn descriptor_errors() {
    let ok = desc_2d([64, 64], 1, 1, 4);
    assert!(ImageLayout::new(&ok).is_ok());
    let err = |d: ImageDesc| ImageLayout::new(&d).unwrap_err();

    assert_eq!(
        err(ImageDesc {
            extent: [0, 64, 1],
            ..ok
        }),
        LayoutError::ZeroExtent { extent: [0, 64, 1] }
    );
    assert_eq!(err(ImageDesc { levels: 0, ..ok }), LayoutError::ZeroLevels);
    assert_eq!(err(ImageDesc { layers: 0, ..ok }), LayoutError::ZeroLayers);
    assert_eq!(
        err(ImageDesc {
            block: TexelBlock::texel(0),
            ..ok
        }),
        LayoutError::ZeroBlock
    );
    assert_eq!(
        err(ImageDesc {
            block: TexelBlock::compressed(8, [4, 0, 1]),
            ..ok
        }),
        LayoutError::ZeroBlock
    );
    assert_eq!(
        err(ImageDesc {
            extent: [64, 64, 2],
            ..ok
        }),
        LayoutError::ExtentForDim {
            dim: Dim::D2,
            extent: [64, 64, 2]
        }
    );
    assert_eq!(
        err(ImageDesc { dim: Dim::D1, ..ok }),
        LayoutError::ExtentForDim {
            dim: Dim::D1,
            extent: [64, 64, 1]
        }
    );
    assert_eq!(
        err(ImageDesc {
            dim: Dim::D3,
            layers: 2,
            ..ok
        }),
        LayoutError::VolumeArray { layers: 2 }
    );
    assert_eq!(
        err(ImageDesc { levels: 8, ..ok }),
        LayoutError::TooManyLevels { levels: 8, max: 7 }
    );
    assert_eq!(
        err(ImageDesc { samples: 0, ..ok }),
        LayoutError::SampleCount { samples: 0 }
    );
    assert_eq!(
        err(ImageDesc { samples: 3, ..ok }),
        LayoutError::SampleCount { samples: 3 }
    );
    assert_eq!(
        err(ImageDesc { samples: 32, ..ok }),
        LayoutError::SampleCount { samples: 32 }
    );
    assert!(matches!(
        err(ImageDesc {
            samples: 4,
            levels: 2,
            ..ok
        }),
        LayoutError::MultisampleUnsupported { .. }
    ));
    assert!(matches!(
        err(ImageDesc {
            samples: 4,
            dim: Dim::D3,
            ..ok
        }),
        LayoutError::MultisampleUnsupported { .. }
    ));
    assert!(matches!(
        err(ImageDesc {
            samples: 2,
            tiling: Tiling::Linear,
            ..ok
        }),
        LayoutError::MultisampleUnsupported { .. }
    ));
    for bytes in [3, 6, 12, 32] {
        assert_eq!(
            err(ImageDesc {
                block: TexelBlock::texel(bytes),
                ..ok
            }),
            LayoutError::UnsupportedBlockBytes { bytes }
        );
        // The same formats are fine linear.
        let linear = ImageDesc {
            block: TexelBlock::texel(bytes),
            tiling: Tiling::Linear,
            ..ok
        };
        assert!(ImageLayout::new(&linear).is_ok());
    }
    assert_eq!(
        err(ImageDesc {
            extent: [u32::MAX, u32::MAX, 1],
            layers: u32::MAX,
            block: TexelBlock::texel(16),
            ..ok
        }),
        LayoutError::Overflow
    );
    assert_eq!(
        err(ImageDesc {
            dim: Dim::D3,
            extent: [u32::MAX, u32::MAX, u32::MAX],
            tiling: Tiling::Linear,
            ..ok
        }),
        LayoutError::Overflow
    );
    // Every error has a message.
    assert!(!LayoutError::Overflow.to_string().is_empty());
}

#[test]
fn out_of_range_queries() {
    let l = ImageLayout::new(&desc_2d([300, 300], 2, 2, 4)).unwrap();
    assert_eq!(l.block_offset(2, 0, 0, [0, 0, 0]), None);
    assert_eq!(l.block_offset(0, 2, 0, [0, 0, 0]), None);
    assert_eq!(l.block_offset(0, 0, 1, [0, 0, 0]), None);
    assert_eq!(l.block_offset(0, 0, 0, [300, 0, 0]), None);
    assert_eq!(l.block_offset(0, 0, 0, [0, 0, 1]), None);
    assert_eq!(l.subresource(2, 0), None);
    assert_eq!(l.subresource(0, 2), None);
    assert_eq!(l.level_extent_texels(2), None);
    assert!(!l.is_in_mip_tail(5));
    let far = TileRegion {
        level: 0,
        layer: 0,
        first: [u32::MAX, 0, 0],
        count: [2, 1, 1],
    };
    assert_eq!(far.tile(0), Some([u32::MAX, 0, 0]));
    assert_eq!(far.tile(1), None);
    assert_eq!(l.bind_runs(&far).count(), 0);
}

#[test]
fn sparse_region_rules() {
    let l = ImageLayout::new(&desc_2d([300, 200], 3, 2, 4)).unwrap(); // tile 128x128
    assert_eq!(l.mip_tail_first_lod(), 1);
    let r = l.sparse_region(0, 1, [128, 0, 0], [172, 200, 1]).unwrap();
    assert_eq!(r.first, [1, 0, 0]);
    assert_eq!(r.count, [2, 2, 1]);
    assert_eq!(r.len(), 4);
    assert_eq!(
        r.tiles().collect::<Vec<_>>(),
        vec![[1, 0, 0], [2, 0, 0], [1, 1, 0], [2, 1, 0]]
    );
    assert!(matches!(
        l.sparse_region(0, 0, [64, 0, 0], [128, 128, 1]),
        Err(RegionError::Unaligned { .. })
    ));
    assert!(matches!(
        l.sparse_region(0, 0, [0, 0, 0], [100, 128, 1]),
        Err(RegionError::Unaligned { .. })
    ));
    assert!(matches!(
        l.sparse_region(0, 0, [256, 0, 0], [128, 128, 1]),
        Err(RegionError::OutOfBounds { .. })
    ));
    assert_eq!(
        l.sparse_region(0, 0, [0, 0, 0], [0, 128, 1]),
        Err(RegionError::EmptyExtent)
    );
    assert_eq!(
        l.sparse_region(1, 0, [0, 0, 0], [150, 100, 1]),
        Err(RegionError::InMipTail {
            level: 1,
            first_lod: 1
        })
    );
    assert_eq!(
        l.sparse_region(0, 2, [0, 0, 0], [128, 128, 1]),
        Err(RegionError::NoSuchSubresource { level: 0, layer: 2 })
    );
    assert_eq!(
        l.sparse_region(3, 0, [0, 0, 0], [128, 128, 1]),
        Err(RegionError::NoSuchSubresource { level: 3, layer: 0 })
    );
}

#[test]
fn bind_runs_merge_whole_rows() {
    let l = ImageLayout::new(&desc_2d([512, 512], 1, 1, 4)).unwrap(); // 4x4 tiles
    let whole = l.sparse_region(0, 0, [0, 0, 0], [512, 512, 1]).unwrap();
    let runs: Vec<_> = l.bind_runs(&whole).collect();
    assert_eq!(
        runs,
        vec![BindRun {
            image_offset: 0,
            memory_offset: 0,
            size: 16 * K64
        }]
    );
    let part = l.sparse_region(0, 0, [128, 128, 0], [256, 256, 1]).unwrap();
    let runs: Vec<_> = l.bind_runs(&part).collect();
    assert_eq!(
        runs,
        vec![
            BindRun {
                image_offset: 5 * K64,
                memory_offset: 0,
                size: 2 * K64
            },
            BindRun {
                image_offset: 9 * K64,
                memory_offset: 2 * K64,
                size: 2 * K64
            },
        ]
    );
}

// ---------------------------------------------------------------- properties

/// A random valid descriptor, small enough to enumerate every texel block.
fn any_desc() -> impl Strategy<Value = ImageDesc> {
    let bytes = prop::sample::select(vec![1u32, 2, 4, 8, 16]);
    let mode = prop::sample::select(vec![MipTailMode::PerLayer, MipTailMode::Single]);
    let tiling = prop::sample::select(vec![
        Tiling::Interleaved64K,
        Tiling::Interleaved64K,
        Tiling::Linear,
    ]);
    let compressed = any::<bool>();
    let kind = 0u32..8; // 0-3: 2D, 4: 2D MSAA, 5-6: 3D, 7: 1D
    (
        kind,
        bytes,
        mode,
        tiling,
        compressed,
        1u32..=600,
        1u32..=600,
        1u32..=80,
        1u32..=3,
        0u32..32,
        0usize..4,
    )
        .prop_map(
            |(kind, bytes, mip_tail, tiling, compressed, w, h, d, layers, level_pick, s)| {
                let samples = [2, 4, 8, 16][s];
                let (dim, extent, layers, samples, tiling) = match kind {
                    0..=3 => (Dim::D2, [w, h, 1], layers, 1, tiling),
                    4 => (
                        Dim::D2,
                        [w.min(200), h.min(200), 1],
                        1,
                        samples,
                        Tiling::Interleaved64K,
                    ),
                    5 | 6 => (Dim::D3, [w % 80 + 1, h % 80 + 1, d], 1, 1, tiling),
                    _ => (Dim::D1, [w * 3, 1, 1], layers, 1, tiling),
                };
                let block = if compressed && dim != Dim::D1 && samples == 1 {
                    TexelBlock::compressed(bytes.max(8), [4, 4, 1])
                } else {
                    TexelBlock::texel(bytes)
                };
                let max = mip::max_levels(extent);
                let levels = if samples > 1 { 1 } else { level_pick % max + 1 };
                ImageDesc {
                    dim,
                    extent,
                    levels,
                    layers,
                    samples,
                    block,
                    tiling,
                    mip_tail,
                }
            },
        )
}

/// The byte ranges of the mip tail regions, one per layer (per-layer mode) or
/// one in all (single mode).
fn tail_ranges(l: &ImageLayout) -> Vec<(u64, u64)> {
    match l.mip_tail() {
        None => vec![],
        Some(t) if t.stride == 0 => vec![(t.offset, t.offset + t.size)],
        Some(t) => (0..u64::from(l.desc().layers))
            .map(|a| (t.offset + a * t.stride, t.offset + a * t.stride + t.size))
            .collect(),
    }
}

/// Every texel block, in (level, layer, sample, block) order, with its offset.
fn for_each_block(l: &ImageLayout, mut f: impl FnMut(u32, u32, u32, [u32; 3], u64)) {
    let d = *l.desc();
    for level in 0..d.levels {
        let e = l.level_extent_blocks(level).unwrap();
        for layer in 0..d.layers {
            for sample in 0..d.samples {
                for z in 0..e[2] {
                    for y in 0..e[1] {
                        for x in 0..e[0] {
                            let off = l.block_offset(level, layer, sample, [x, y, z]).unwrap();
                            f(level, layer, sample, [x, y, z], off);
                        }
                    }
                }
            }
        }
    }
}

/// Invariants of one layout, checked by enumerating every texel block:
/// - blocks map to distinct, block-aligned offsets inside `[0, size)`, each
///   inside its subresource's range;
/// - a block of a non-tail level lies in the 64 KiB tile that
///   `sparse_tile_offset` gives for its tile coordinates;
/// - tiles of different (level, layer, tile) are distinct and 64 KiB aligned,
///   and none overlaps a mip tail region;
/// - blocks of tail levels lie in their layer's tail region (per layer) or the
///   single tail region, blocks of other levels in none;
/// - non-tail tiles and tail regions add up to the whole image;
/// - linear images follow the row-pitch formula.
fn check_layout(l: &ImageLayout) {
    let d = *l.desc();
    let bytes = u64::from(d.block.bytes);
    let size = l.size();
    assert_eq!(size % l.alignment(), 0);
    let tails = tail_ranges(l);
    let in_tails = |off: u64| tails.iter().any(|&(a, b)| off >= a && off < b);
    let mut used = vec![false; (size / bytes) as usize];

    for_each_block(l, |level, layer, sample, block, off| {
        assert_eq!(
            off % bytes,
            0,
            "unaligned block {level} {layer} {sample} {block:?}"
        );
        assert!(
            off + bytes <= size,
            "block past the end: {level} {layer} {block:?}"
        );
        let slot = &mut used[(off / bytes) as usize];
        assert!(
            !*slot,
            "two blocks at {off}: level {level} layer {layer} sample {sample} {block:?}"
        );
        *slot = true;
        let sub = l.subresource(level, layer).unwrap();
        assert!(off >= sub.offset && off + bytes <= sub.offset + sub.size);
        match l.tile_shape() {
            None => {
                let expect = sub.offset
                    + u64::from(block[2]) * sub.depth_pitch
                    + u64::from(block[1]) * sub.row_pitch
                    + u64::from(block[0]) * bytes;
                assert_eq!(off, expect);
            }
            Some(shape) if !l.is_in_mip_tail(level) => {
                let t = [0, 1, 2].map(|i| block[i] / shape[i]);
                let tile = l.sparse_tile_offset(level, layer, t).unwrap();
                assert!(off >= tile && off + bytes <= tile + TILE_BYTES);
                assert!(!in_tails(off));
            }
            Some(_) => {
                let t = l.mip_tail().unwrap();
                if t.stride == 0 {
                    assert!(off >= t.offset && off < t.offset + t.size);
                } else {
                    let start = t.offset + u64::from(layer) * t.stride;
                    assert!(off >= start && off < start + t.size);
                }
            }
        }
    });

    if let Some(_shape) = l.tile_shape() {
        let mut tiles = HashSet::new();
        for level in 0..l.mip_tail_first_lod() {
            let n = l.tiles_in_level(level).unwrap();
            for layer in 0..d.layers {
                for z in 0..n[2] {
                    for y in 0..n[1] {
                        for x in 0..n[0] {
                            let t = l.sparse_tile_offset(level, layer, [x, y, z]).unwrap();
                            assert_eq!(t % TILE_BYTES, 0);
                            assert!(t + TILE_BYTES <= size);
                            assert!(tiles.insert(t), "tile at {t} twice");
                            assert!(!tails.iter().any(|&(a, b)| t < b && a < t + TILE_BYTES));
                        }
                    }
                }
            }
        }
        let tail_bytes: u64 = tails.iter().map(|(a, b)| b - a).sum();
        assert_eq!(tiles.len() as u64 * TILE_BYTES + tail_bytes, size);
        if let Some(t) = l.mip_tail() {
            assert_eq!(t.size % TILE_BYTES, 0);
            assert_eq!(t.offset % TILE_BYTES, 0);
            assert!(t.size > 0);
        }
    } else {
        for level in 0..d.levels {
            let s = l.subresource(level, 0).unwrap();
            assert_eq!(s.row_pitch % LINEAR_ALIGNMENT, 0);
            assert_eq!(s.offset % LINEAR_ALIGNMENT, 0);
            let e = l.level_extent_blocks(level).unwrap();
            assert!(s.row_pitch >= u64::from(e[0]) * bytes);
            assert!(s.row_pitch < u64::from(e[0]) * bytes + LINEAR_ALIGNMENT);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Invariant: see `check_layout`.
    #[test]
    fn every_block_has_its_own_place(desc in any_desc()) {
        let l = ImageLayout::new(&desc).unwrap();
        check_layout(&l);
    }

    /// Invariant: the mip tail mode moves tails but changes nothing inside a
    /// level: same first tail level, same total size, same offsets of blocks
    /// relative to their subresource, same non-tail size per layer; the single
    /// tail holds all layers' per-layer tails right after all layers.
    #[test]
    fn single_and_per_layer_tails_agree(desc in any_desc()) {
        let per = ImageLayout::new(&ImageDesc { mip_tail: MipTailMode::PerLayer, ..desc }).unwrap();
        let single = ImageLayout::new(&ImageDesc { mip_tail: MipTailMode::Single, ..desc }).unwrap();
        prop_assert_eq!(per.size(), single.size());
        prop_assert_eq!(per.mip_tail_first_lod(), single.mip_tail_first_lod());
        match (per.mip_tail(), single.mip_tail()) {
            (Some(p), Some(s)) => {
                let layers = u64::from(desc.layers);
                prop_assert_eq!(s.size, p.size * layers);
                prop_assert_eq!(s.stride, 0);
                prop_assert_eq!(s.offset, single.layer_stride() * layers);
                prop_assert_eq!(p.offset, single.layer_stride());
                prop_assert_eq!(p.stride, per.layer_stride());
            }
            (None, None) => prop_assert_eq!(per.layer_stride(), single.layer_stride()),
            _ => prop_assert!(false, "tail present in one mode only"),
        }
        let e = per.level_extent_blocks(desc.levels - 1).unwrap();
        let corner = e.map(|v| v - 1);
        for level in 0..desc.levels {
            for layer in 0..desc.layers {
                let (ps, ss) = (per.subresource(level, layer).unwrap(), single.subresource(level, layer).unwrap());
                prop_assert_eq!(ps.size, ss.size);
                let p = per.block_offset(level, layer, 0, corner).unwrap() - ps.offset;
                let s = single.block_offset(level, layer, 0, corner).unwrap() - ss.offset;
                prop_assert_eq!(p, s);
            }
        }
    }

    /// Invariant: the bind runs of a random valid region cover exactly its
    /// tiles, in bind order (memory offsets consecutive), and are maximal.
    #[test]
    fn bind_runs_cover_the_region(desc in any_desc(), a in any::<[u32; 3]>(), b in any::<[u32; 3]>()) {
        let l = ImageLayout::new(&desc).unwrap();
        let Some(g) = l.granularity_texels() else { return Ok(()) };
        if l.mip_tail_first_lod() == 0 { return Ok(()); }
        let level = a[0] % l.mip_tail_first_lod();
        let layer = a[1] % desc.layers;
        let n = l.tiles_in_level(level).unwrap();
        let ext = l.level_extent_texels(level).unwrap();
        let first = [0, 1, 2].map(|i| b[i] % n[i]);
        let count = [0, 1, 2].map(|i| a[(i + 2) % 3] % (n[i] - first[i]) + 1);
        let offset = [0, 1, 2].map(|i| first[i] * g[i]);
        let extent = [0, 1, 2].map(|i| (count[i] * g[i]).min(ext[i] - offset[i]));
        let r = l.sparse_region(level, layer, offset, extent).unwrap();
        prop_assert_eq!(r.first, first);
        prop_assert_eq!(r.count, count);
        let expect: Vec<u64> = r.tiles().map(|t| l.sparse_tile_offset(level, layer, t).unwrap()).collect();
        let mut got = Vec::new();
        let mut mem = 0;
        let mut prev_end = None;
        for run in l.bind_runs(&r) {
            prop_assert_eq!(run.memory_offset, mem);
            prop_assert!(prev_end != Some(run.image_offset), "runs not maximal");
            for i in 0..run.size / TILE_BYTES {
                got.push(run.image_offset + i * TILE_BYTES);
            }
            mem += run.size;
            prev_end = Some(run.image_offset + run.size);
        }
        prop_assert_eq!(got, expect);
    }
}
