//! Addressing checked against offsets computed by hand, including copies
//! of values the driver's layout code (`icd/src/layout`) produces: the
//! worked examples of its `image.rs` and `tests.rs`.

use mali_csf::desc::{ClumpOrdering, TextureDimension};

use super::super::addressing::{tile_shape, u_order, Arrangement, Geometry};
use super::*;

const K64: u64 = 65536;

/// Writes a marker at `va` and checks the view reads it at `coord`, then
/// writes through the view at another coordinate and finds the bytes.
fn check_u32(view: &TextureView, mem: &mut HostMem, coord: [i32; 3], sample: u32, va: u64) {
    let marker = 0xC0DE_0000 ^ (va as u32);
    mem.put_u32(va, marker);
    let (t, resident) = view.read(mem, coord, 0, sample).unwrap();
    assert_eq!(t[0], marker, "read {coord:?} sample {sample} at {va:#x}");
    assert!(resident);
    assert_eq!(view.texel_va(mem, coord, sample), Ok(Some(va)));
    view.write(mem, coord, sample, [!marker, 0, 0, 0]).unwrap();
    assert_eq!(mem.get(va, 4), (!marker).to_le_bytes());
}

fn geometry(arrangement: Arrangement, row: u64, slice: u64, bytes: u32, samples: u32) -> Geometry {
    Geometry {
        arrangement,
        pointer: 0,
        size: u64::MAX,
        row_stride: row,
        slice_stride: slice,
        block_bytes: bytes,
        samples,
    }
}

#[test]
fn u_order_values() {
    // Mesa pan_tiling.c bit pattern; values worked in icd interleaved.rs.
    assert_eq!(u_order(1, 0), 1);
    assert_eq!(u_order(1, 1), 2);
    assert_eq!(u_order(0, 1), 3);
    assert_eq!(u_order(2, 0), 4);
    assert_eq!(u_order(15, 0), 85);
    assert_eq!(u_order(0, 15), 255);
    assert_eq!(u_order(15, 15), 170);
    assert_eq!(u_order(5, 10), 221);
    let mut seen = [false; 256];
    for y in 0..16 {
        for x in 0..16 {
            seen[u_order(x, y) as usize] = true;
        }
    }
    assert!(seen.iter().all(|&s| s));
}

#[test]
fn tile_shapes() {
    assert_eq!(tile_shape(false, 1, 1), Some([256, 256, 1]));
    assert_eq!(tile_shape(false, 8, 1), Some([128, 64, 1]));
    assert_eq!(tile_shape(true, 4, 1), Some([32, 32, 16]));
    assert_eq!(tile_shape(true, 16, 1), Some([16, 16, 16]));
    assert_eq!(tile_shape(false, 4, 4), Some([64, 64, 1]));
    assert_eq!(tile_shape(false, 16, 8), Some([16, 32, 1]));
    assert_eq!(tile_shape(false, 3, 1), None);
    assert_eq!(tile_shape(true, 4, 2), None);
    assert_eq!(tile_shape(false, 4, 32), None);
}

/// Offsets the icd's `TileGeometry::offset` tests give.
#[test]
fn interleaved_offsets_match_the_driver() {
    let g = geometry(
        Arrangement::Interleaved64K {
            tile: [128, 128, 1],
        },
        2 * K64,
        0,
        4,
        1,
    );
    assert_eq!(g.offset([1, 0, 0], 0), Some(4));
    assert_eq!(g.offset([16, 0, 0], 0), Some(1024));
    assert_eq!(g.offset([17, 0, 0], 0), Some(1028));
    assert_eq!(g.offset([0, 16, 0], 0), Some(8 * 1024));
    assert_eq!(g.offset([0, 15, 0], 0), Some(255 * 4));
    assert_eq!(g.offset([112, 127, 0], 0), Some(63 * 1024 + 255 * 4));
    // 256x256 RGBA8 level 0 (2x2 tiles): icd tests.rs worked example.
    assert_eq!(g.offset([128, 0, 0], 0), Some(K64));
    assert_eq!(g.offset([0, 128, 0], 0), Some(2 * K64));
    assert_eq!(
        g.offset([255, 255, 0], 0),
        Some(3 * K64 + 63 * 1024 + 170 * 4)
    );
    let g = geometry(
        Arrangement::Interleaved64K { tile: [128, 64, 1] },
        K64,
        0,
        8,
        1,
    );
    assert_eq!(g.offset([0, 16, 0], 0), Some(8 * 2048));
    assert_eq!(g.offset([127, 63, 0], 0), Some(31 * 2048 + 170 * 8));
    let g = geometry(
        Arrangement::Interleaved64K { tile: [32, 32, 16] },
        K64,
        K64,
        4,
        1,
    );
    assert_eq!(g.offset([16, 0, 0], 0), Some(1024));
    assert_eq!(g.offset([0, 16, 0], 0), Some(2048));
    assert_eq!(g.offset([0, 0, 1], 0), Some(4096));
    assert_eq!(g.offset([0, 0, 15], 0), Some(15 * 4096));
    let g = geometry(
        Arrangement::Interleaved64K { tile: [64, 64, 1] },
        K64,
        0,
        4,
        4,
    );
    assert_eq!(g.offset([0, 0, 0], 1), Some(1024));
    assert_eq!(g.offset([0, 0, 0], 3), Some(3072));
    assert_eq!(g.offset([16, 0, 0], 0), Some(4096));
    assert_eq!(g.offset([0, 16, 0], 2), Some(4 * 4096 + 2048));
}

#[test]
fn linear_2d_through_a_view() {
    let mut mem = HostMem::new(0x20_0000);
    // 10x4 R32UI, 64-byte rows (the icd's linear pitch rule).
    let view = Build::new(TextureDimension::D2, pf::R32_UINT, [10, 4, 1])
        .linear(DATA_VA, 10, 4, 4, 64)
        .load(&mut mem)
        .unwrap();
    check_u32(&view, &mut mem, [9, 3, 0], 0, DATA_VA + 3 * 64 + 36);
    check_u32(&view, &mut mem, [0, 1, 0], 0, DATA_VA + 64);
}

#[test]
fn linear_3d_and_arrays() {
    let mut mem = HostMem::new(0x20_0000);
    let p = plane(ClumpOrdering::Linear, 2, DATA_VA, 4, 3, 16, 48, 48 * 5);
    let view = Build::new(TextureDimension::D3, pf::R32_UINT, [4, 3, 5])
        .plane(p)
        .load(&mut mem)
        .unwrap();
    check_u32(&view, &mut mem, [1, 2, 4], 0, DATA_VA + 4 * 48 + 2 * 16 + 4);
    // 2D array of 3 layers x 2 levels: plane layer * levels + level.
    let mut b = Build::new(TextureDimension::D2, pf::R32_UINT, [4, 4, 1]);
    b.levels = 2;
    b.array_size = 3;
    for layer in 0..3u64 {
        let base = DATA_VA + layer * 0x1000;
        b = b.linear(base, 4, 4, 4, 16).linear(base + 0x800, 2, 2, 4, 8);
    }
    let view = b.load(&mut mem).unwrap();
    check_u32(
        &view,
        &mut mem,
        [3, 3, 2],
        0,
        DATA_VA + 0x2000 + 3 * 16 + 12,
    );
    let va = DATA_VA + 0x1000 + 0x800 + 8 + 4;
    mem.put_u32(va, 77);
    assert_eq!(view.read(&mut mem, [1, 1, 1], 1, 0).unwrap().0[0], 77);
}

#[test]
fn interleaved_2d_through_a_view() {
    let mut mem = HostMem::new(0x80_0000);
    // 256x256 RGBA8 level 0: 2x2 tiles, row stride 2 tiles.
    let p = plane(
        ClumpOrdering::Interleaved64K,
        2,
        DATA_VA,
        256,
        256,
        2 * K64 as u32,
        0,
        4 * K64 as u32,
    );
    let mut b = Build::new(TextureDimension::D2, pf::R32_UINT, [256, 256, 1]).plane(p);
    b.format = pf::R32_UINT;
    let view = b.load(&mut mem).unwrap();
    check_u32(&view, &mut mem, [17, 0, 0], 0, DATA_VA + 1028);
    check_u32(&view, &mut mem, [0, 16, 0], 0, DATA_VA + 8192);
    check_u32(&view, &mut mem, [128, 0, 0], 0, DATA_VA + K64);
    check_u32(&view, &mut mem, [0, 128, 0], 0, DATA_VA + 2 * K64);
    check_u32(
        &view,
        &mut mem,
        [255, 255, 0],
        0,
        DATA_VA + 3 * K64 + 63 * 1024 + 170 * 4,
    );
}

#[test]
fn interleaved_3d_bricks_through_a_view() {
    let mut mem = HostMem::new(0x100_0000);
    // icd tests.rs `volume_bricks`: 70x40x20 32-bit, bricks 32x32x16,
    // 3x2x2 bricks, row stride 3 tiles, slice stride 6 tiles.
    let p = plane(
        ClumpOrdering::Interleaved64K,
        2,
        DATA_VA,
        70,
        40,
        3 * K64 as u32,
        6 * K64 as u32,
        12 * K64 as u32,
    );
    let view = Build::new(TextureDimension::D3, pf::R32_UINT, [70, 40, 20])
        .plane(p)
        .load(&mut mem)
        .unwrap();
    check_u32(
        &view,
        &mut mem,
        [33, 32, 17],
        0,
        DATA_VA + 10 * K64 + 4096 + 4,
    );
    // Brick (2, 1, 0), local (5, 7, 3): slice 3 of 4 KiB, u-block 0.
    check_u32(
        &view,
        &mut mem,
        [69, 39, 3],
        0,
        DATA_VA + 5 * K64 + 3 * 4096 + u64::from(u_order(5, 7)) * 4,
    );
    // Local (20, 18, 0): u-block 1 + 2 = 3.
    check_u32(
        &view,
        &mut mem,
        [20, 18, 0],
        0,
        DATA_VA + 3 * 1024 + u64::from(u_order(4, 2)) * 4,
    );
}

#[test]
fn interleaved_msaa_1d_and_bc() {
    let mut mem = HostMem::new(0x100_0000);
    // icd `multisample_tiles`: 100x70 4x 32-bit, 64x64 tiles, 2x2 tiles.
    let p = plane(
        ClumpOrdering::Interleaved64K,
        2,
        DATA_VA,
        100,
        70,
        2 * K64 as u32,
        0,
        4 * K64 as u32,
    );
    let mut b = Build::new(TextureDimension::D2, pf::R32_UINT, [100, 70, 1]).plane(p);
    b.samples = 4;
    let view = b.load(&mut mem).unwrap();
    check_u32(&view, &mut mem, [0, 0, 0], 3, DATA_VA + 3 * 1024);
    check_u32(&view, &mut mem, [80, 0, 0], 0, DATA_VA + K64 + 4096);
    assert_eq!(
        view.read(&mut mem, [0, 0, 0], 0, 4).unwrap().0,
        [0, 0, 0, 1],
        "sample 4 of 4"
    );
    // icd `one_d_uses_the_2d_tile`: 1D uses the 128x128 tile; layer 1 of 2.
    let mut b = Build::new(TextureDimension::D1, pf::R32_UINT, [1000, 1, 1]);
    b.array_size = 2;
    for layer in 0..2u64 {
        let p = plane(
            ClumpOrdering::Interleaved64K,
            2,
            DATA_VA + layer * 8 * K64,
            1000,
            1,
            8 * K64 as u32,
            0,
            8 * K64 as u32,
        );
        b = b.plane(p);
    }
    let view = b.load(&mut mem).unwrap();
    check_u32(&view, &mut mem, [129, 0, 1], 0, DATA_VA + 8 * K64 + K64 + 4);
    // icd `compressed_bc1`: 1000x600 BC1, 128x64-block tiles, 2x3 tiles.
    // Texel (999, 599) = block (249, 149): tile (1, 2) = 5, local (121,
    // 21): u-block 1 * 8 + 7 = 15, U index of (9, 5) = 114.
    assert_eq!(u_order(9, 5), 114);
    let va = DATA_VA + 5 * K64 + (15 * 256 + 114) * 8;
    mem.put(va, &[0x00, 0xf8, 0x00, 0x00, 0, 0, 0, 0]); // solid red
    let p = plane(
        ClumpOrdering::Interleaved64K,
        48,
        DATA_VA,
        1000,
        600,
        2 * K64 as u32,
        0,
        6 * K64 as u32,
    );
    let view = Build::new(TextureDimension::D2, pf::BC1_RGBA, [1000, 600, 1])
        .plane(p)
        .load(&mut mem)
        .unwrap();
    assert_eq!(
        f(view.read(&mut mem, [999, 599, 0], 0, 0).unwrap().0),
        [1.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(
        f(view.read(&mut mem, [996, 596, 0], 0, 0).unwrap().0),
        [1.0, 0.0, 0.0, 1.0]
    );
    // The neighbouring block is all zero: c0 = c1 = black, alpha 1.
    assert_eq!(
        f(view.read(&mut mem, [995, 596, 0], 0, 0).unwrap().0),
        [0.0, 0.0, 0.0, 1.0]
    );
}

#[test]
fn u_interleaved_through_a_view() {
    let mut mem = HostMem::new(0x20_0000);
    // 40x20 RGBA8: 3 u-blocks per row of 1 KiB each, row stride 3 KiB.
    let p = plane(
        ClumpOrdering::TiledUInterleaved,
        2,
        DATA_VA,
        40,
        20,
        3072,
        0,
        6144,
    );
    let view = Build::new(TextureDimension::D2, pf::R32_UINT, [40, 20, 1])
        .plane(p)
        .load(&mut mem)
        .unwrap();
    // (17, 18): u-block (1, 1), U index of (1, 2) = 13.
    check_u32(
        &view,
        &mut mem,
        [17, 18, 0],
        0,
        DATA_VA + 3072 + 1024 + 13 * 4,
    );
    check_u32(
        &view,
        &mut mem,
        [39, 0, 0],
        0,
        DATA_VA + 2048 + u64::from(u_order(7, 0)) * 4,
    );
    // Compressed: 4x4-block u-blocks. 32x32 BC1 = 8x8 blocks, 2 u-blocks
    // per row of 16 blocks x 8 bytes, row stride 256. Texel (20, 4) =
    // block (5, 1): u-block (1, 0), U index of (1, 1) = 2.
    let va = DATA_VA + 0x1_0000 + 128 + 2 * 8;
    mem.put(va, &[0x00, 0xf8, 0x00, 0x00, 0, 0, 0, 0]);
    let p = plane(
        ClumpOrdering::TiledUInterleaved,
        48,
        DATA_VA + 0x1_0000,
        32,
        32,
        256,
        0,
        512,
    );
    let view = Build::new(TextureDimension::D2, pf::BC1_RGBA, [32, 32, 1])
        .plane(p)
        .load(&mut mem)
        .unwrap();
    assert_eq!(
        f(view.read(&mut mem, [21, 6, 0], 0, 0).unwrap().0),
        [1.0, 0.0, 0.0, 1.0]
    );
}
