//! Unfiltered access: robust out-of-bounds behaviour, residency, queries,
//! swizzles, cube layers, texel buffers, and descriptor checks.

use mali_csf::desc::{Buffer, BufferType, ClumpOrdering, TextureDimension};

use super::super::{BufferView, ImageResource, ViewInfo};
use super::*;

/// A 4x4 R32UI linear image whose texel i holds 0x04030201 * (i + 1).
fn r32_4x4(mem: &mut HostMem) -> TextureView {
    for i in 0..16u32 {
        mem.put_u32(DATA_VA + 4 * u64::from(i), 0x0403_0201 * (i + 1));
    }
    Build::new(TextureDimension::D2, pf::R32_UINT, [4, 4, 1])
        .linear(DATA_VA, 4, 4, 4, 16)
        .load(mem)
        .unwrap()
}

#[test]
fn out_of_bounds_reads_are_zero_without_memory_access() {
    let mut mem = HostMem::new(0x20_0000);
    let view = r32_4x4(&mut mem);
    let reads = mem.reads;
    for (coord, level, sample) in [
        ([-1, 0, 0], 0, 0),
        ([4, 0, 0], 0, 0),
        ([0, 4, 0], 0, 0),
        ([0, 0, 1], 0, 0),
        ([0, -7, 0], 0, 0),
        ([0, 0, 0], 1, 0),
        ([0, 0, 0], 0, 1),
        ([i32::MIN, i32::MAX, 0], 0, 0),
    ] {
        assert_eq!(
            view.read(&mut mem, coord, level, sample),
            Ok(([0, 0, 0, 1], true)),
            "{coord:?}"
        );
    }
    assert_eq!(mem.reads, reads, "no memory read");
    assert_eq!(
        view.read(&mut mem, [3, 3, 0], 0, 0).unwrap().0[0],
        0x0403_0201 * 16
    );
}

#[test]
fn out_of_bounds_writes_are_dropped() {
    let mut mem = HostMem::new(0x20_0000);
    let view = r32_4x4(&mut mem);
    let before = mem.snapshot();
    for coord in [
        [-1, 0, 0],
        [4, 0, 0],
        [0, 4, 0],
        [0, 0, 1],
        [i32::MAX, 0, 0],
    ] {
        view.write(&mut mem, coord, 0, [0xffff_ffff; 4]).unwrap();
        assert_eq!(view.texel_va(&mut mem, coord, 0), Ok(None));
    }
    view.write(&mut mem, [0, 0, 0], 1, [0xffff_ffff; 4])
        .unwrap();
    assert_eq!(mem.writes, 0);
    assert!(mem.snapshot() == before, "memory unchanged");
    view.write(&mut mem, [1, 0, 0], 0, [9, 0, 0, 0]).unwrap();
    assert_eq!(mem.get(DATA_VA + 4, 4), 9u32.to_le_bytes());
}

#[test]
fn residency_of_reads() {
    let mut mem = HostMem::new(0x20_0000);
    // 2 rows of 4 KiB each: row 1 on its own page.
    let view = Build::new(TextureDimension::D2, pf::R32_UINT, [4, 2, 1])
        .linear(DATA_VA, 4, 2, 4, 4096)
        .load(&mut mem)
        .unwrap();
    mem.put_u32(DATA_VA + 4096, 5);
    mem.set_resident(DATA_VA + 4096, false);
    assert_eq!(
        view.read(&mut mem, [0, 1, 0], 0, 0),
        Ok(([0, 0, 0, 1], false))
    );
    assert!(view.read(&mut mem, [0, 0, 0], 0, 0).unwrap().1);
    mem.set_resident(DATA_VA + 4096, true);
    assert_eq!(
        view.read(&mut mem, [0, 1, 0], 0, 0),
        Ok(([5, 0, 0, 1], true))
    );
}

#[test]
fn queries() {
    let mut mem = HostMem::new(0x20_0000);
    let mut b = Build::new(TextureDimension::D2, pf::R32_UINT, [100, 30, 1]);
    b.levels = 3;
    b.array_size = 2;
    for _ in 0..6 {
        b = b.linear(DATA_VA, 100, 30, 4, 400);
    }
    let view = b.load(&mut mem).unwrap();
    assert_eq!(
        view.info(0),
        ViewInfo {
            size: [100, 30, 1],
            layers: 2,
            levels: 3,
            samples: 1
        }
    );
    assert_eq!(view.info(2).size, [25, 7, 1]);
    assert_eq!(view.info(40).size, [1, 1, 1]);
    let mut b = Build::new(TextureDimension::Cube, pf::R32_UINT, [8, 8, 1]);
    b.array_size = 2;
    for _ in 0..12 {
        b = b.linear(DATA_VA, 8, 8, 4, 32);
    }
    assert_eq!(b.load(&mut mem).unwrap().info(0).layers, 12);
    let b = Build::new(TextureDimension::D3, pf::R32_UINT, [8, 4, 6]).plane(plane(
        ClumpOrdering::Linear,
        2,
        DATA_VA,
        8,
        4,
        32,
        128,
        768,
    ));
    assert_eq!(b.load(&mut mem).unwrap().info(1).size, [4, 2, 3]);
}

#[test]
fn cube_faces_are_layers() {
    let mut mem = HostMem::new(0x20_0000);
    let mut b = Build::new(TextureDimension::Cube, pf::R32_UINT, [2, 2, 1]);
    b.array_size = 2;
    for layer in 0..12u64 {
        mem.put_u32(DATA_VA + layer * 16 + 12, 100 + layer as u32);
        b = b.linear(DATA_VA + layer * 16, 2, 2, 4, 8);
    }
    let view = b.load(&mut mem).unwrap();
    // Cube 1, face 3 = layer 9.
    assert_eq!(view.read(&mut mem, [1, 1, 9], 0, 0).unwrap().0[0], 109);
    assert_eq!(
        view.read(&mut mem, [1, 1, 12], 0, 0).unwrap().0,
        [0, 0, 0, 1]
    );
}

#[test]
fn swizzle_applies_to_reads() {
    let mut mem = HostMem::new(0x20_0000);
    mem.put(DATA_VA, &[0x10, 0x20, 0x30, 0x40]);
    let mut b = Build::new(TextureDimension::D2, PixelFormat(0x09B000), [1, 1, 1])
        .linear(DATA_VA, 1, 1, 4, 4);
    b.swizzle = [2, 4, 5, 0]; // B, 0, 1, R
    let view = b.load(&mut mem).unwrap();
    assert_eq!(
        view.read(&mut mem, [0, 0, 0], 0, 0).unwrap().0,
        [0x30, 0, 1, 0x10]
    );
}

#[test]
fn texel_buffers() {
    let mut mem = HostMem::new(0x20_0000);
    for i in 0..10u32 {
        mem.put_u32(DATA_VA + 4 * u64::from(i), 1000 + i);
    }
    let desc = Buffer {
        ty: BufferType::Structure,
        size: 40,
        address: DATA_VA,
        stride: 4,
        format: Some(pf::R32_UINT),
    };
    mem.put(DESC_VA, &desc.pack());
    let ImageResource::Buffer(view) = ImageResource::load(&mut mem, DESC_VA).unwrap() else {
        panic!("not a buffer view");
    };
    assert_eq!(view.info().size, [10, 1, 1]);
    assert_eq!(view.read(&mut mem, 9), Ok(([1009, 0, 0, 1], true)));
    let reads = mem.reads;
    assert_eq!(view.read(&mut mem, 10), Ok(([0, 0, 0, 1], true)));
    assert_eq!(view.read(&mut mem, -1), Ok(([0, 0, 0, 1], true)));
    assert_eq!(mem.reads, reads);
    view.write(&mut mem, 10, [7; 4]).unwrap();
    view.write(&mut mem, -3, [7; 4]).unwrap();
    assert_eq!(mem.writes, 0);
    view.write(&mut mem, 2, [7; 4]).unwrap();
    assert_eq!(mem.get(DATA_VA + 8, 4), 7u32.to_le_bytes());
    assert_eq!(view.texel_va(3), Ok(Some(DATA_VA + 12)));
    // A padded stride: RGBA8 elements 8 bytes apart; 20 bytes hold 3.
    let padded = BufferView::from_desc(
        &Buffer {
            ty: BufferType::Structure,
            size: 20,
            address: DATA_VA,
            stride: 8,
            format: Some(pf::RGBA8_UNORM),
        },
        DESC_VA,
    )
    .unwrap();
    assert_eq!(padded.info().size[0], 3);
    assert_eq!(padded.texel_va(2), Ok(Some(DATA_VA + 16)));
    // Not a texel buffer.
    assert!(BufferView::from_desc(&Buffer::simple(DATA_VA, 16), DESC_VA).is_err());
    let tight = Buffer {
        ty: BufferType::Structure,
        size: 16,
        address: DATA_VA,
        stride: 2,
        format: Some(pf::R32_UINT),
    };
    assert_eq!(
        BufferView::from_desc(&tight, DESC_VA),
        Err(TextureFault::BadDescriptor { va: DESC_VA })
    );
}

#[test]
fn null_descriptors() {
    let mut mem = HostMem::new(0x20_0000);
    let r = ImageResource::load(&mut mem, DESC_VA).unwrap();
    assert!(matches!(r, ImageResource::Null));
    assert_eq!(r.read(&mut mem, [0; 3], 0, 0), Ok(([0; 4], true)));
    assert_eq!(r.info(0).size, [0; 3]);
    // Samplers load from their descriptor; texel buffers cannot be sampled.
    let s = mali_csf::desc::Sampler::default();
    mem.put(DESC_VA + 32, &s.pack());
    assert_eq!(super::super::load_sampler(&mut mem, DESC_VA + 32), Ok(s));
    assert!(super::super::load_sampler(&mut mem, DESC_VA).is_err());
    let desc = Buffer {
        ty: BufferType::Structure,
        size: 16,
        address: DATA_VA,
        stride: 4,
        format: Some(pf::R32_UINT),
    };
    mem.put(DESC_VA, &desc.pack());
    let r = ImageResource::load(&mut mem, DESC_VA).unwrap();
    let args = super::super::SampleArgs {
        coord: [0.0; 4],
        lod: super::super::Lod::Explicit(0.0),
        offset: [0; 3],
        min_lod: None,
        dref: None,
        gather_component: None,
    };
    assert_eq!(
        r.sample(&mut mem, &s, &args),
        Err(TextureFault::BadDescriptor { va: DESC_VA })
    );
}

#[test]
fn malformed_and_unsupported_descriptors() {
    let mut mem = HostMem::new(0x20_0000);
    let base = || Build::new(TextureDimension::D2, pf::RGBA8_UNORM, [4, 4, 1]);
    let bad = Err(TextureFault::BadDescriptor { va: PLANES_VA });
    // Clump format disagrees with the format's texel size.
    assert_eq!(
        base()
            .plane(plane(ClumpOrdering::Linear, 1, DATA_VA, 4, 4, 16, 0, 64))
            .load(&mut mem)
            .err(),
        bad.err()
    );
    // BC7 is not implemented.
    assert_eq!(
        base()
            .plane(plane(ClumpOrdering::Linear, 57, DATA_VA, 4, 4, 16, 0, 16))
            .load(&mut mem)
            .err(),
        Some(TextureFault::Unsupported { va: PLANES_VA })
    );
    // Interleaved 64K row stride smaller than a row of tiles.
    let p = plane(
        ClumpOrdering::Interleaved64K,
        2,
        DATA_VA,
        300,
        4,
        65536,
        0,
        1 << 20,
    );
    let mut b = base().plane(p);
    b.size = [300, 4, 1];
    assert_eq!(b.load(&mut mem).err(), bad.err());
    // Unknown format.
    let mut b = base().linear(DATA_VA, 4, 4, 4, 16);
    b.format = PixelFormat(0x0FF000);
    assert_eq!(
        b.load(&mut mem).err(),
        Some(TextureFault::Unsupported { va: DESC_VA })
    );
    // A plane whose size does not cover the texel: fault on access only.
    let view = base()
        .plane(plane(ClumpOrdering::Linear, 2, DATA_VA, 4, 4, 16, 0, 32))
        .load(&mut mem)
        .unwrap();
    assert!(view.read(&mut mem, [0, 1, 0], 0, 0).is_ok());
    assert_eq!(view.read(&mut mem, [0, 2, 0], 0, 0), bad);
    // Not a texture.
    mem.put(DESC_VA, &Buffer::simple(0, 0).pack());
    assert!(TextureView::load(&mut mem, DESC_VA).is_err());
    // Descriptor memory outside the address space.
    assert_eq!(
        TextureView::load(&mut mem, 0x10).err(),
        Some(TextureFault::Memory {
            va: 0x10,
            write: false
        })
    );
}
