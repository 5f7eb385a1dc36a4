//! Filtered sampling: nearest and linear filters, mip selection by LOD
//! and by gradients, wrap modes, border colours, cube faces, depth
//! comparison, gathers, residency of every tap.

use mali_csf::desc::{Filter, MipmapMode, Sampler, TextureDimension, WrapMode};

use super::super::{Lod, SampleArgs};
use super::*;

fn sampler(filter: Filter, mip: MipmapMode, wrap: WrapMode) -> Sampler {
    Sampler {
        wrap: [wrap; 3],
        normalized_coordinates: true,
        minify: filter,
        magnify: filter,
        mipmap_mode: mip,
        minimum_lod: 0.0,
        maximum_lod: 31.0,
        compare_func: 0,
        lod_bias: 0.0,
        max_anisotropy: 1,
        border_color: [0; 4],
    }
}

fn at(s: f32, t: f32) -> SampleArgs {
    SampleArgs {
        coord: [s, t, 0.0, 0.0],
        lod: Lod::Explicit(0.0),
        offset: [0; 3],
        min_lod: None,
        dref: None,
        gather_component: None,
    }
}

/// An R32F image whose levels hold `values(level, x, y)`, level l at
/// `DATA_VA + l * 256 KiB`, rows `row_stride` apart.
fn r32f(
    mem: &mut HostMem,
    size: [u32; 2],
    levels: u32,
    row_stride: u32,
    values: impl Fn(u32, u32, u32) -> f32,
) -> TextureView {
    let mut b = Build::new(TextureDimension::D2, pf::R32_FLOAT, [size[0], size[1], 1]);
    b.levels = levels;
    for l in 0..levels {
        let (w, h) = ((size[0] >> l).max(1), (size[1] >> l).max(1));
        let base = DATA_VA + u64::from(l) * 0x4_0000;
        for y in 0..h {
            for x in 0..w {
                mem.put_f32(base + u64::from(y * row_stride + 4 * x), values(l, x, y));
            }
        }
        b = b.linear(base, w, h, 4, row_stride);
    }
    b.load(mem).unwrap()
}

fn red(view: &TextureView, mem: &mut HostMem, s: &Sampler, a: SampleArgs) -> f32 {
    f32::from_bits(view.sample(mem, s, &a).unwrap().0[0])
}

#[test]
fn nearest_and_bilinear() {
    let mut mem = HostMem::new(0x40_0000);
    let view = r32f(&mut mem, [4, 4], 1, 16, |_, x, y| (x + 10 * y) as f32);
    let near = sampler(Filter::Nearest, MipmapMode::Nearest, WrapMode::ClampToEdge);
    let lin = sampler(Filter::Linear, MipmapMode::Nearest, WrapMode::ClampToEdge);
    let (t, r) = view
        .sample(&mut mem, &near, &at(1.5 / 4.0, 2.5 / 4.0))
        .unwrap();
    assert_eq!((f(t), r), ([21.0, 0.0, 0.0, 1.0], true));
    assert_eq!(
        red(&view, &mut mem, &near, at(1.99 / 4.0, 2.01 / 4.0)),
        21.0
    );
    assert_eq!(red(&view, &mut mem, &lin, at(1.75 / 4.0, 2.5 / 4.0)), 21.25);
    assert_eq!(
        red(&view, &mut mem, &lin, at(1.75 / 4.0, 2.75 / 4.0)),
        23.75
    );
    let mut shifted = at(1.5 / 4.0, 2.5 / 4.0);
    shifted.offset = [1, -1, 0];
    assert_eq!(red(&view, &mut mem, &near, shifted), 12.0);
    let mut unnorm = near;
    unnorm.normalized_coordinates = false;
    assert_eq!(red(&view, &mut mem, &unnorm, at(1.5, 2.5)), 21.0);
    // Magnify nearest, minify linear: λ = 0 magnifies, no blending.
    let mut mixed = lin;
    mixed.magnify = Filter::Nearest;
    assert_eq!(
        red(&view, &mut mem, &mixed, at(1.75 / 4.0, 2.75 / 4.0)),
        21.0
    );
}

#[test]
fn mip_selection_by_explicit_lod() {
    let mut mem = HostMem::new(0x40_0000);
    let view = r32f(&mut mem, [4, 4], 3, 16, |l, _, _| (l + 1) as f32);
    let near = sampler(Filter::Nearest, MipmapMode::Nearest, WrapMode::Repeat);
    let lod = |l: f32| SampleArgs {
        lod: Lod::Explicit(l),
        ..at(0.3, 0.6)
    };
    for (l, want) in [
        (0.0, 1.0),
        (0.4, 1.0),
        (0.5, 1.0),
        (0.6, 2.0),
        (1.0, 2.0),
        (2.0, 3.0),
        (7.0, 3.0),
        (-3.0, 1.0),
    ] {
        assert_eq!(red(&view, &mut mem, &near, lod(l)), want, "lod {l}");
    }
    let tri = sampler(Filter::Nearest, MipmapMode::Trilinear, WrapMode::Repeat);
    assert_eq!(red(&view, &mut mem, &tri, lod(0.5)), 1.5);
    assert_eq!(red(&view, &mut mem, &tri, lod(1.25)), 2.25);
    assert_eq!(red(&view, &mut mem, &tri, lod(9.0)), 3.0);
    let none = sampler(Filter::Nearest, MipmapMode::None, WrapMode::Repeat);
    assert_eq!(red(&view, &mut mem, &none, lod(2.0)), 1.0);
    let mut biased = near;
    biased.lod_bias = 1.0;
    assert_eq!(red(&view, &mut mem, &biased, lod(0.0)), 2.0);
    let mut clamped = near;
    clamped.minimum_lod = 2.0;
    assert_eq!(red(&view, &mut mem, &clamped, lod(0.0)), 3.0);
    clamped.minimum_lod = 0.0;
    clamped.maximum_lod = 1.0;
    assert_eq!(red(&view, &mut mem, &clamped, lod(5.0)), 2.0);
    let with_min = SampleArgs {
        min_lod: Some(1.0),
        ..lod(0.0)
    };
    assert_eq!(red(&view, &mut mem, &near, with_min), 2.0);
}

#[test]
fn mip_selection_by_gradients() {
    let mut mem = HostMem::new(0x40_0000);
    let view = r32f(&mut mem, [4, 4], 3, 16, |l, _, _| (l + 1) as f32);
    let near = sampler(Filter::Nearest, MipmapMode::Nearest, WrapMode::Repeat);
    let grad = |dx: [f32; 3], dy: [f32; 3]| SampleArgs {
        lod: Lod::Grad { dx, dy },
        ..at(0.3, 0.6)
    };
    assert_eq!(
        red(
            &view,
            &mut mem,
            &near,
            grad([0.25, 0.0, 0.0], [0.0, 0.25, 0.0])
        ),
        1.0
    );
    assert_eq!(
        red(
            &view,
            &mut mem,
            &near,
            grad([0.5, 0.0, 0.0], [0.0, 0.25, 0.0])
        ),
        2.0
    );
    assert_eq!(
        red(
            &view,
            &mut mem,
            &near,
            grad([0.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        ),
        3.0
    );
    assert_eq!(
        red(&view, &mut mem, &near, grad([0.0; 3], [0.0; 3])),
        1.0,
        "λ = -inf"
    );
    let tri = sampler(Filter::Nearest, MipmapMode::Trilinear, WrapMode::Repeat);
    let half = 0.25 * std::f32::consts::SQRT_2;
    let v = red(&view, &mut mem, &tri, grad([half, 0.0, 0.0], [0.0; 3]));
    assert!((v - 1.5).abs() < 1e-5, "{v}");
}

#[test]
fn wrap_modes_and_border() {
    let mut mem = HostMem::new(0x40_0000);
    let view = r32f(&mut mem, [4, 1], 1, 16, |_, x, _| x as f32);
    let border = 0.25f32;
    for (mode, want) in [
        (WrapMode::Repeat, [3.0, 1.0, 1.0]),
        (WrapMode::MirroredRepeat, [0.0, 2.0, 2.0]),
        (WrapMode::ClampToEdge, [0.0, 0.0, 3.0]),
        (WrapMode::ClampToBorder, [border; 3]),
        (WrapMode::MirroredClampToEdge, [0.0, 2.0, 3.0]),
    ] {
        let mut s = sampler(Filter::Nearest, MipmapMode::Nearest, mode);
        s.border_color = [border.to_bits(), 0, 0, 0];
        let got = [-1.0f32, -3.0, 5.0].map(|i| red(&view, &mut mem, &s, at((i + 0.5) / 4.0, 0.5)));
        assert_eq!(got, want, "{mode:?}");
    }
}

#[test]
fn border_colour_in_the_format_class() {
    let mut mem = HostMem::new(0x40_0000);
    mem.put(DATA_VA, &[0xff, 0, 0, 0xff]);
    let rgba = Build::new(TextureDimension::D2, pf::RGBA8_UNORM, [1, 1, 1])
        .linear(DATA_VA, 1, 1, 4, 4)
        .load(&mut mem)
        .unwrap();
    let mut s = sampler(Filter::Linear, MipmapMode::Nearest, WrapMode::ClampToBorder);
    s.border_color = [0.0f32, 0.0, 1.0, 1.0].map(f32::to_bits);
    // u = 0: half border (i = -1), half texel; the j = 1 tap has weight 0.
    let (t, resident) = rgba.sample(&mut mem, &s, &at(0.0, 0.5)).unwrap();
    assert_close(f(t), [0.5, 0.0, 0.5, 1.0]);
    assert!(resident);
    // One-component formats fill missing channels of the border too.
    let r8 = Build::new(TextureDimension::D2, pf::R8_UNORM, [1, 1, 1])
        .linear(DATA_VA, 1, 1, 1, 4)
        .load(&mut mem)
        .unwrap();
    s.border_color = [1.0f32.to_bits(); 4];
    assert_eq!(
        f(r8.sample(&mut mem, &s, &at(3.0, 3.0)).unwrap().0),
        [1.0, 0.0, 0.0, 1.0]
    );
    let r32ui = Build::new(TextureDimension::D2, pf::R32_UINT, [1, 1, 1])
        .linear(DATA_VA, 1, 1, 4, 4)
        .load(&mut mem)
        .unwrap();
    s.border_color = [7, 8, 9, 10];
    assert_eq!(
        r32ui.sample(&mut mem, &s, &at(3.0, 3.0)).unwrap().0,
        [7, 0, 0, 1]
    );
}

#[test]
fn cube_face_selection() {
    let mut mem = HostMem::new(0x40_0000);
    let mut b = Build::new(TextureDimension::Cube, pf::R32_FLOAT, [2, 2, 1]);
    b.array_size = 2;
    for layer in 0..12u32 {
        let base = DATA_VA + u64::from(layer) * 16;
        for i in 0..4u32 {
            mem.put_f32(base + 4 * u64::from(i), (layer * 10 + i) as f32);
        }
        b = b.linear(base, 2, 2, 4, 8);
    }
    let view = b.load(&mut mem).unwrap();
    let s = sampler(Filter::Nearest, MipmapMode::Nearest, WrapMode::Repeat);
    let dir = |d: [f32; 3], layer: f32| SampleArgs {
        coord: [d[0], d[1], d[2], layer],
        ..at(0.0, 0.0)
    };
    // Major axes: the face's texel (1, 1) (s = t = 0.5), index 3.
    for (face, d) in [
        [1.0, 0.0, 0.0],
        [-1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, -1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 0.0, -1.0],
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            red(&view, &mut mem, &s, dir(d, 0.0)),
            (face * 10 + 3) as f32,
            "face {face}"
        );
        assert_eq!(
            red(&view, &mut mem, &s, dir(d, 1.0)),
            (60 + face * 10 + 3) as f32
        );
    }
    // Orientation: +X has sc = -rz, tc = -ry; +Y has sc = +rx, tc = +rz;
    // -Z has sc = -rx, tc = -ry.
    assert_eq!(red(&view, &mut mem, &s, dir([1.0, 0.5, 0.5], 0.0)), 0.0);
    assert_eq!(red(&view, &mut mem, &s, dir([1.0, -0.5, -0.5], 0.0)), 3.0);
    assert_eq!(red(&view, &mut mem, &s, dir([0.5, 1.0, -0.5], 0.0)), 21.0);
    assert_eq!(red(&view, &mut mem, &s, dir([0.5, -0.5, -1.0], 0.0)), 52.0);
    // The layer rounds to nearest even and clamps.
    assert_eq!(red(&view, &mut mem, &s, dir([1.0, 0.0, 0.0], 7.0)), 63.0);
}

#[test]
fn residency_covers_every_tap() {
    let mut mem = HostMem::new(0x40_0000);
    // One row per 4 KiB page; row 2 is not resident.
    let view = r32f(&mut mem, [4, 4], 1, 4096, |_, x, y| (x + 10 * y) as f32);
    mem.set_resident(DATA_VA + 2 * 4096, false);
    let near = sampler(Filter::Nearest, MipmapMode::Nearest, WrapMode::ClampToEdge);
    let lin = sampler(Filter::Linear, MipmapMode::Nearest, WrapMode::ClampToEdge);
    assert!(view.sample(&mut mem, &near, &at(0.3, 0.5 / 4.0)).unwrap().1);
    assert!(
        view.sample(&mut mem, &lin, &at(0.3, 0.5 / 4.0)).unwrap().1,
        "rows 0, 1"
    );
    assert!(
        !view.sample(&mut mem, &lin, &at(0.3, 2.0 / 4.0)).unwrap().1,
        "rows 1, 2"
    );
    assert!(
        !view.sample(&mut mem, &lin, &at(0.3, 3.0 / 4.0)).unwrap().1,
        "rows 2, 3"
    );
    assert!(!view.sample(&mut mem, &near, &at(0.3, 2.5 / 4.0)).unwrap().1);
    let gather = SampleArgs {
        gather_component: Some(0),
        ..at(0.3, 1.9 / 4.0)
    };
    assert!(!view.sample(&mut mem, &near, &gather).unwrap().1);
    let gather = SampleArgs {
        gather_component: Some(0),
        ..at(0.3, 1.0 / 4.0)
    };
    assert!(view.sample(&mut mem, &near, &gather).unwrap().1);
}

#[test]
fn depth_comparison() {
    let mut mem = HostMem::new(0x40_0000);
    mem.put_f32(DATA_VA, 0.3);
    mem.put_f32(DATA_VA + 4, 0.7);
    let view = Build::new(TextureDimension::D2, pf::D32_FLOAT, [2, 1, 1])
        .linear(DATA_VA, 2, 1, 4, 8)
        .load(&mut mem)
        .unwrap();
    // Vulkan LESS (dref < D) is stored flipped: Greater (4).
    let mut s = sampler(Filter::Nearest, MipmapMode::Nearest, WrapMode::ClampToEdge);
    s.compare_func = 4;
    let cmp = |s_: f32| SampleArgs {
        dref: Some(0.5),
        ..at(s_, 0.5)
    };
    assert_eq!(
        f(view.sample(&mut mem, &s, &cmp(0.75)).unwrap().0),
        [1.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(red(&view, &mut mem, &s, cmp(0.25)), 0.0);
    let mut lin = s;
    lin.minify = Filter::Linear;
    lin.magnify = Filter::Linear;
    assert_eq!(red(&view, &mut mem, &lin, cmp(0.5)), 0.5, "PCF");
    s.compare_func = 7;
    assert_eq!(red(&view, &mut mem, &s, cmp(0.25)), 1.0);
    s.compare_func = 0;
    assert_eq!(red(&view, &mut mem, &s, cmp(0.75)), 0.0);
}

#[test]
fn gathers() {
    let mut mem = HostMem::new(0x40_0000);
    let view = r32f(&mut mem, [2, 2], 1, 8, |_, x, y| (x + 10 * y) as f32);
    let s = sampler(Filter::Nearest, MipmapMode::Nearest, WrapMode::ClampToEdge);
    let g = SampleArgs {
        gather_component: Some(0),
        ..at(0.5, 0.5)
    };
    assert_eq!(
        f(view.sample(&mut mem, &s, &g).unwrap().0),
        [10.0, 11.0, 1.0, 0.0]
    );
    // Component 3 of an R32F texel is the constant alpha.
    let g3 = SampleArgs {
        gather_component: Some(3),
        ..g
    };
    assert_eq!(f(view.sample(&mut mem, &s, &g3).unwrap().0), [1.0; 4]);
    // Depth gather: each tap compared (Gequal stored: texel >= dref).
    let mut sc = s;
    sc.compare_func = 6;
    let gd = SampleArgs {
        dref: Some(5.0),
        ..g
    };
    assert_eq!(
        f(view.sample(&mut mem, &sc, &gd).unwrap().0),
        [1.0, 1.0, 0.0, 0.0]
    );
}

#[test]
fn volume_srgb_and_integer_filtering() {
    let mut mem = HostMem::new(0x40_0000);
    // 2x2x2 R32F: x + 2y + 4z; the centre averages all eight.
    for i in 0..8u32 {
        mem.put_f32(DATA_VA + 4 * u64::from(i), i as f32);
    }
    let p = plane(
        mali_csf::desc::ClumpOrdering::Linear,
        2,
        DATA_VA,
        2,
        2,
        8,
        16,
        32,
    );
    let vol = Build::new(TextureDimension::D3, pf::R32_FLOAT, [2, 2, 2])
        .plane(p)
        .load(&mut mem)
        .unwrap();
    let lin = sampler(Filter::Linear, MipmapMode::Nearest, WrapMode::ClampToEdge);
    let centre = SampleArgs {
        coord: [0.5, 0.5, 0.5, 0.0],
        ..at(0.0, 0.0)
    };
    assert_eq!(red(&vol, &mut mem, &lin, centre), 3.5);
    // sRGB blends in linear space.
    mem.put(DATA_VA + 0x100, &[0x00, 0, 0, 0xff, 0xff, 0, 0, 0xff]);
    let srgb = Build::new(TextureDimension::D2, pf::RGBA8_SRGB, [2, 1, 1])
        .linear(DATA_VA + 0x100, 2, 1, 4, 8)
        .load(&mut mem)
        .unwrap();
    assert_eq!(red(&srgb, &mut mem, &lin, at(0.5, 0.5)), 0.5);
    // Integer texels are never blended.
    mem.put_u32(DATA_VA + 0x200, 10);
    mem.put_u32(DATA_VA + 0x204, 20);
    let int = Build::new(TextureDimension::D2, pf::R32_UINT, [2, 1, 1])
        .linear(DATA_VA + 0x200, 2, 1, 4, 8)
        .load(&mut mem)
        .unwrap();
    assert_eq!(
        int.sample(&mut mem, &lin, &at(0.5, 0.5)).unwrap().0,
        [20, 0, 0, 1]
    );
    // BGRA swizzles through sampling like reads.
    mem.put(DATA_VA + 0x300, &[0xff, 0, 0, 0xff]);
    let bgra = Build::new(TextureDimension::D2, pf::BGRA8_UNORM, [1, 1, 1])
        .linear(DATA_VA + 0x300, 1, 1, 4, 4)
        .load(&mut mem)
        .unwrap();
    assert_eq!(
        f(bgra.sample(&mut mem, &lin, &at(0.5, 0.5)).unwrap().0),
        [0.0, 0.0, 1.0, 1.0]
    );
}
