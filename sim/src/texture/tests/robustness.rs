//! No panic is reachable from descriptor contents or coordinates: random
//! Texture, plane and Sampler values with random coordinates (NaN and
//! infinities included) either work or return a fault.

use mali_csf::desc::{
    ClumpOrdering, Filter, GenericPlane, MipmapMode, PixelFormat, Sampler, Texture,
    TextureDimension, WrapMode,
};
use proptest::prelude::*;

use super::super::format::TexelFormat;
use super::super::{ImageResource, Lod, SampleArgs};
use super::*;

const FORMATS: [u32; 10] = [
    0x0BB000, 0x1BB004, 0x0A3010, 0x085010, 0x0DF000, 0x0BF000, 0x059010, 0x05B010, 0x05D002,
    0x04D000,
];
const CLUMPS: [u8; 14] = [0, 1, 2, 3, 4, 18, 20, 21, 22, 48, 50, 51, 54, 57];
const MAX_PLANES: usize = 24;

fn arb_plane() -> impl Strategy<Value = GenericPlane> {
    (
        0usize..3,
        prop::sample::select(CLUMPS.to_vec()),
        prop_oneof![Just(0x10_0000u32), any::<u32>()],
        prop_oneof![3 => 0x10_0000u64..0x1f_0000, 1 => any::<u64>()],
        prop_oneof![Just(65536u32), Just(256), 0u32..1024, any::<u32>()],
        prop_oneof![Just(0u32), Just(65536), 0u32..4096, any::<u32>()],
        prop_oneof![1u32..64, 1u32..=65536],
        prop_oneof![1u32..64, 1u32..=65536],
    )
        .prop_map(
            |(o, clump_format, size, ptr, row_stride, slice_stride, width, height)| GenericPlane {
                ordering: [
                    ClumpOrdering::Linear,
                    ClumpOrdering::TiledUInterleaved,
                    ClumpOrdering::Interleaved64K,
                ][o],
                clump_format,
                size,
                pointer: BASE.wrapping_add(ptr),
                row_stride,
                slice_stride,
                width,
                height,
            },
        )
}

fn arb_texture() -> impl Strategy<Value = Texture> {
    (
        0usize..4,
        prop_oneof![prop::sample::select(FORMATS.to_vec()), 0u32..(1 << 22)],
        (
            prop_oneof![1u32..64, 1u32..=65536],
            prop_oneof![1u32..64, 1u32..=65536],
            prop_oneof![1u32..40, 1u32..=65536],
        ),
        any::<[u8; 4]>(),
        (1u32..=3, 1u32..=2, 0u32..8),
    )
        .prop_map(
            |(d, format, (width, height, depth), swz, (levels, array_size, s))| Texture {
                dimension: [
                    TextureDimension::Cube,
                    TextureDimension::D1,
                    TextureDimension::D2,
                    TextureDimension::D3,
                ][d],
                normalize_coordinates: false,
                format: PixelFormat(format),
                width,
                height,
                swizzle: swz.map(|c| c % 6),
                texel_interleave: false,
                levels,
                minimum_level: 0,
                minimum_lod: 0.0,
                maximum_lod: 0.0,
                samples: 1 << s,
                surfaces: PLANES_VA,
                array_size,
                depth,
            },
        )
}

fn arb_sampler() -> impl Strategy<Value = Sampler> {
    let wrap = prop::sample::select(vec![
        WrapMode::Repeat,
        WrapMode::ClampToEdge,
        WrapMode::ClampToBorder,
        WrapMode::MirroredRepeat,
        WrapMode::MirroredClampToEdge,
    ]);
    (
        [wrap.clone(), wrap.clone(), wrap],
        any::<bool>(),
        any::<(bool, bool)>(),
        prop::sample::select(vec![
            MipmapMode::Nearest,
            MipmapMode::None,
            MipmapMode::Trilinear,
        ]),
        any::<(f32, f32, f32)>(),
        0u8..8,
        any::<[u32; 4]>(),
    )
        .prop_map(
            |(wrap, normalized, (mi, ma), mipmap_mode, (lo, hi, bias), cmp, border)| Sampler {
                wrap,
                normalized_coordinates: normalized,
                minify: if mi { Filter::Linear } else { Filter::Nearest },
                magnify: if ma { Filter::Linear } else { Filter::Nearest },
                mipmap_mode,
                minimum_lod: lo,
                maximum_lod: hi,
                compare_func: cmp,
                lod_bias: bias,
                max_anisotropy: 1,
                border_color: border,
            },
        )
}

fn arb_args() -> impl Strategy<Value = SampleArgs> {
    (
        any::<[f32; 4]>(),
        prop_oneof![
            any::<f32>().prop_map(Lod::Explicit),
            any::<([f32; 3], [f32; 3])>().prop_map(|(dx, dy)| Lod::Grad { dx, dy })
        ],
        any::<[i8; 3]>(),
        any::<Option<f32>>(),
        any::<Option<f32>>(),
        prop::option::of(0u32..6),
    )
        .prop_map(
            |(coord, lod, off, min_lod, dref, gather_component)| SampleArgs {
                coord,
                lod,
                offset: off.map(i32::from),
                min_lod,
                dref,
                gather_component,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_descriptors_never_panic(
        tex in arb_texture(),
        plane in arb_plane(),
        natural_clump in any::<bool>(),
        sampler in arb_sampler(),
        args in arb_args(),
        coord in prop_oneof![any::<[i32; 3]>(), [0i32..80, 0i32..80, 0i32..8]],
        level in 0u32..5,
        sample in 0u32..5,
    ) {
        let mut mem = HostMem::new(0x20_0000);
        mem.put(DESC_VA, &tex.pack());
        // Every plane the same, most often with the clump format that
        // matches the texture's format, so that many cases get past load.
        let mut plane = plane;
        if let Some(f) = TexelFormat::new(tex.format).filter(|_| natural_clump) {
            plane.clump_format = f.bytes().map_or(22, |b| b.trailing_zeros() as u8);
        }
        for i in 0..MAX_PLANES as u64 {
            mem.put(PLANES_VA + 32 * i, &plane.pack());
        }
        if let Ok(r) = ImageResource::load(&mut mem, DESC_VA) {
            let _ = r.info(level);
            let _ = r.read(&mut mem, coord, level, sample);
            let _ = r.texel_va(&mut mem, coord, sample);
            let _ = r.sample(&mut mem, &sampler, &args);
            let _ = r.write(&mut mem, coord, sample, [0x3f80_0000; 4]);
        }
    }

    /// Valid linear RGBA8 images with random coordinates: reads inside
    /// the image never fault, and sampling any coordinates works.
    #[test]
    fn valid_images_sample_anything(
        w in 1u32..20, h in 1u32..20,
        sampler in arb_sampler(),
        args in arb_args(),
        coord in [-3i32..25, -3i32..25, -1i32..2],
    ) {
        let mut mem = HostMem::new(0x20_0000);
        let view = Build::new(TextureDimension::D2, pf::RGBA8_UNORM, [w, h, 1])
            .linear(DATA_VA, w, h, 4, 4 * w)
            .load(&mut mem)
            .unwrap();
        prop_assert!(view.read(&mut mem, coord, 0, 0).is_ok());
        prop_assert!(view.sample(&mut mem, &sampler, &args).is_ok());
    }
}
