//! Texel conversions: every format round-trips, known byte patterns decode
//! to known values, component orders and missing components, BC blocks.

use mali_csf::desc::{ClumpOrdering, PixelFormat, TextureDimension};

use super::super::bc::{decode as bc_decode, BcKind};
use super::super::format::{Class, TexelFormat};
use super::*;

/// Every uncompressed format of the facts table (VK name, hw value).
const ALL: &[(&str, u32)] = &[
    ("R8_UNORM", 0x0A3010),
    ("R8_SNORM", 0x063010),
    ("R8_UINT", 0x083010),
    ("R8_SINT", 0x0C3010),
    ("R8_SRGB", 0x1A3010),
    ("R8G8_UNORM", 0x0AB010),
    ("R8G8_SNORM", 0x06B010),
    ("R8G8_UINT", 0x08B010),
    ("R8G8_SINT", 0x0CB010),
    ("R8G8_SRGB", 0x1AB010),
    ("R8G8B8A8_UNORM", 0x0BB000),
    ("R8G8B8A8_SNORM", 0x07B000),
    ("R8G8B8A8_UINT", 0x09B000),
    ("R8G8B8A8_SINT", 0x0DB000),
    ("R8G8B8A8_SRGB", 0x1BB000),
    ("B8G8R8A8_UNORM", 0x0BB004),
    ("B8G8R8A8_SRGB", 0x1BB004),
    ("R16_UNORM", 0x0A4010),
    ("R16_SNORM", 0x064010),
    ("R16_UINT", 0x084010),
    ("R16_SINT", 0x0C4010),
    ("R16_SFLOAT", 0x0C7010),
    ("R16G16_UNORM", 0x0AC010),
    ("R16G16_SNORM", 0x06C010),
    ("R16G16_UINT", 0x08C010),
    ("R16G16_SINT", 0x0CC010),
    ("R16G16_SFLOAT", 0x0CF010),
    ("R16G16B16A16_UNORM", 0x0BC000),
    ("R16G16B16A16_SNORM", 0x07C000),
    ("R16G16B16A16_UINT", 0x09C000),
    ("R16G16B16A16_SINT", 0x0DC000),
    ("R16G16B16A16_SFLOAT", 0x0DF000),
    ("R32_UINT", 0x085010),
    ("R32_SINT", 0x0C5010),
    ("R32_SFLOAT", 0x0A7010),
    ("R32G32_UINT", 0x08D010),
    ("R32G32_SINT", 0x0CD010),
    ("R32G32_SFLOAT", 0x0AF010),
    ("R32G32B32A32_UINT", 0x09D000),
    ("R32G32B32A32_SINT", 0x0DD000),
    ("R32G32B32A32_SFLOAT", 0x0BF000),
    ("A2B10G10R10_UNORM_PACK32", 0x043000),
    ("A2B10G10R10_UINT_PACK32", 0x047000),
    ("B10G11R11_UFLOAT_PACK32", 0x059010),
    ("E5B9G9R9_UFLOAT_PACK32", 0x05B010),
    ("R5G6B5_UNORM_PACK16", 0x040014),
    ("B5G6R5_UNORM_PACK16", 0x040010),
    ("D16_UNORM", 0x04B000),
    ("D32_SFLOAT", 0x04C000),
    ("X8_D24_UNORM_PACK32", 0x04D000),
];

fn fmt(hw: u32) -> TexelFormat {
    TexelFormat::new(PixelFormat(hw)).unwrap_or_else(|| panic!("{hw:#x} unsupported"))
}

fn same(a: [u32; 4], b: [u32; 4], class: Class) -> bool {
    (0..4).all(|i| {
        a[i] == b[i]
            || (class == Class::Float
                && f32::from_bits(a[i]).is_nan()
                && f32::from_bits(b[i]).is_nan())
    })
}

/// value -> bytes -> value is the identity for every value a format can
/// produce, over many stored patterns.
#[test]
fn every_format_round_trips() {
    let mut seed = 0x1234_5678_9abc_def0u64;
    for &(name, hw) in ALL {
        let f = fmt(hw);
        for _ in 0..200 {
            let mut raw = [0u8; 16];
            for b in &mut raw {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            let v = f.decode(&raw);
            if !f.writable() {
                continue;
            }
            let mut stored = [0u8; 16];
            assert!(f.encode(v, &mut stored), "{name}");
            assert!(
                same(f.decode(&stored), v, f.class()),
                "{name}: {raw:x?} -> {v:x?}"
            );
        }
    }
}

/// Stored bits survive decode + encode where the pattern is canonical.
#[test]
fn canonical_bytes_round_trip() {
    let raw = [
        0x12, 0x34, 0x56, 0x78, 0x1a, 0x2b, 0x3c, 0x4d, 1, 2, 3, 4, 5, 6, 7, 0x3f,
    ];
    for &(name, hw) in ALL {
        let f = fmt(hw);
        let bytes = f.bytes().unwrap() as usize;
        if !f.writable() || name.starts_with("X8_D24") {
            continue; // X8 bits are not kept
        }
        let mut stored = [0u8; 16];
        assert!(f.encode(f.decode(&raw), &mut stored));
        assert_eq!(stored[..bytes], raw[..bytes], "{name}");
    }
}

#[test]
fn known_patterns() {
    let unorm8 = |v: u32| v as f32 / 255.0;
    let get = |hw: u32, raw: &[u8]| f(fmt(hw).decode(raw));
    assert_close(
        get(0x0BB000, &[0x80, 0, 0xff, 0x40]),
        [unorm8(128), 0.0, 1.0, unorm8(64)],
    );
    assert_eq!(get(0x0BB000, &[0x80, 0, 0, 0])[0], 128.0 / 255.0);
    // sRGB: colour channels decoded, alpha linear.
    let s = get(0x1BB000, &[0x80, 0, 0xff, 0x80]);
    assert!((s[0] - 0.215_860_5).abs() < 1e-6, "{s:?}");
    assert_eq!(s[2], 1.0);
    assert_eq!(s[3], unorm8(128));
    // BGRA: memory B, G, R, A.
    assert_close(
        get(0x0BB004, &[0x10, 0x20, 0x30, 0x40]),
        [unorm8(0x30), unorm8(0x20), unorm8(0x10), unorm8(0x40)],
    );
    // One-component formats: G, B read 0, A reads 1.
    assert_close(get(0x0A3010, &[0x80]), [unorm8(128), 0.0, 0.0, 1.0]);
    assert_close(get(0x063010, &[0x81]), [-1.0, 0.0, 0.0, 1.0]);
    assert_close(get(0x063010, &[0xc0]), [-64.0 / 127.0, 0.0, 0.0, 1.0]);
    // RGB10_A2: R=1023, G=0, B=512, A=1.
    let w: u32 = 1023 | 512 << 20 | 1 << 30;
    assert_close(
        get(0x043000, &w.to_le_bytes()),
        [1.0, 0.0, 512.0 / 1023.0, 1.0 / 3.0],
    );
    let w: u32 = 1023 | 5 << 10 | 512 << 20 | 2 << 30;
    assert_eq!(fmt(0x047000).decode(&w.to_le_bytes()), [1023, 5, 512, 2]);
    // R11G11B10F: 1.0, 2.0, 0.5.
    let w: u32 = (15 << 6) | (16 << 6) << 11 | (14 << 5) << 22;
    assert_eq!(get(0x059010, &w.to_le_bytes()), [1.0, 2.0, 0.5, 1.0]);
    // Half floats.
    let h: Vec<u8> = [0x3c00u16, 0xc000, 0x3800, 0x7c00]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(get(0x0DF000, &h), [1.0, -2.0, 0.5, f32::INFINITY]);
    // RGB9E5: 1.0, 0.5, 1.0.
    let w: u32 = 16 << 27 | 256 << 18 | 128 << 9 | 256;
    assert_eq!(get(0x05B010, &w.to_le_bytes()), [1.0, 0.5, 1.0, 1.0]);
    // RGB565: red in the high bits is R for R5G6B5_UNORM_PACK16 (BGR1)
    // and B for B5G6R5_UNORM_PACK16 (RGB1).
    assert_eq!(
        get(0x040014, &0xf800u16.to_le_bytes()),
        [1.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(
        get(0x040010, &0xf800u16.to_le_bytes()),
        [0.0, 0.0, 1.0, 1.0]
    );
    assert_close(
        get(0x040014, &0x07e0u16.to_le_bytes()),
        [0.0, 1.0, 0.0, 1.0],
    );
    // Integers.
    assert_eq!(
        fmt(0x0CC010).decode(&[0xff, 0xff, 2, 0]),
        [u32::MAX, 2, 0, 1]
    );
    assert_eq!(
        fmt(0x085010).decode(&0xdead_beefu32.to_le_bytes()),
        [0xdead_beef, 0, 0, 1]
    );
    // Depth: Z24X8 ignores the X byte.
    assert_eq!(
        get(0x04D000, &[0xff, 0xff, 0xff, 0x12]),
        [1.0, 0.0, 0.0, 1.0]
    );
}

#[test]
fn encoding_rules() {
    let enc = |hw: u32, v: [u32; 4]| {
        let mut out = [0u8; 16];
        assert!(fmt(hw).encode(v, &mut out));
        out
    };
    let fl = |v: [f32; 4]| v.map(f32::to_bits);
    // UNORM clamps and rounds; BGRA swaps on the way out too.
    assert_eq!(
        enc(0x0BB004, fl([1.0, 0.5, -3.0, 2.0]))[..4],
        [0, 128, 255, 255]
    );
    // sRGB encodes colour, not alpha.
    assert_eq!(
        enc(0x1BB000, fl([0.215_860_5, 0.0, 1.0, 0.5]))[..4],
        [0x80, 0, 0xff, 0x80]
    );
    // Integers keep their low bits.
    assert_eq!(enc(0x083010, [0x1ff, 0, 0, 0])[..1], [0xff]);
    assert_eq!(enc(0x0C3010, [(-2i32) as u32, 0, 0, 0])[..1], [0xfe]);
    // Half, R11G11B10F.
    assert_eq!(enc(0x0C7010, fl([1.0, 0.0, 0.0, 0.0]))[..2], [0x00, 0x3c]);
    let w = u32::from_le_bytes(
        enc(0x059010, fl([1.0, 2.0, -1.0, 0.0]))[..4]
            .try_into()
            .unwrap(),
    );
    assert_eq!(w, (15 << 6) | (16 << 6) << 11);
    // RGB9E5 and S8 are read-only.
    assert!(!fmt(0x05B010).encode([0; 4], &mut [0; 16]));
    assert!(!fmt(0x05D002).writable());
}

#[test]
fn orders_and_refusals() {
    // ARGB: memory A, R, G, B.
    let argb = fmt(0x09B000 | 8);
    assert_eq!(argb.decode(&[1, 2, 3, 4]), [2, 3, 4, 1]);
    // 1BGR: c0 ignored, A = 1.
    assert_eq!(fmt(0x09B000 | 28).decode(&[9, 2, 3, 4]), [4, 3, 2, 1]);
    // RRRR, 0000.
    assert_eq!(fmt(0x09B000 | 226).decode(&[7, 2, 3, 4]), [7; 4]);
    assert_eq!(fmt(0x09B000 | 231).decode(&[7, 2, 3, 4]), [0; 4]);
    // S8 with GRBA reads (s, 0, 0, 1).
    assert_eq!(fmt(0x05D002).stencil(0x42), [0x42, 0, 0, 1]);
    // Unknown formats and orders, sRGB on a non-8-bit format, bit 21.
    assert!(TexelFormat::new(PixelFormat(0x0FF000)).is_none());
    assert!(TexelFormat::new(PixelFormat(0x0BB000 | 229)).is_none());
    assert!(TexelFormat::new(PixelFormat(0x1BC000)).is_none());
    assert!(TexelFormat::new(PixelFormat(0x2BB000)).is_none());
}

#[test]
fn zero_and_border_fill_missing_components() {
    let r8 = fmt(0x0A3010);
    assert_eq!(f(r8.zero()), [0.0, 0.0, 0.0, 1.0]);
    assert_eq!(f(fmt(0x0BB000).zero()), [0.0; 4]);
    assert_eq!(fmt(0x085010).zero(), [0, 0, 0, 1]);
    let white = [1.0f32.to_bits(); 4];
    assert_eq!(f(r8.border(white)), [1.0, 0.0, 0.0, 1.0]);
    assert_eq!(f(fmt(0x0BB004).border(white)), [1.0; 4]);
    assert_eq!(fmt(0x09D000).border([7, 8, 9, 10]), [7, 8, 9, 10]);
}

#[test]
fn bc1_block_decode() {
    // c0 = red (0xF800) > c1 = blue (0x001F): four-colour mode; indices of
    // the first row 0, 1, 2, 3, the rest 0.
    let mut block = [0u8; 16];
    block[..8].copy_from_slice(&[0x00, 0xf8, 0x1f, 0x00, 0b1110_0100, 0, 0, 0]);
    let row: Vec<_> = (0..4)
        .map(|x| bc_decode(BcKind::Bc1, &block, x, 0))
        .collect();
    assert_eq!(row[0], [1.0, 0.0, 0.0, 1.0]);
    assert_eq!(row[1], [0.0, 0.0, 1.0, 1.0]);
    assert_close(row[2], [2.0 / 3.0, 0.0, 1.0 / 3.0, 1.0]);
    assert_close(row[3], [1.0 / 3.0, 0.0, 2.0 / 3.0, 1.0]);
    assert_eq!(bc_decode(BcKind::Bc1, &block, 3, 3), [1.0, 0.0, 0.0, 1.0]);
    // c0 <= c1: three colours and transparent black.
    block[..4].copy_from_slice(&[0x1f, 0x00, 0x00, 0xf8]);
    assert_close(bc_decode(BcKind::Bc1, &block, 2, 0), [0.5, 0.0, 0.5, 1.0]);
    assert_eq!(bc_decode(BcKind::Bc1, &block, 3, 0), [0.0; 4]);
}

#[test]
fn bc2_to_bc5_blocks() {
    // BC4: r0 = 255, r1 = 0, 8-value mode; texel 0 index 2 = 6/7.
    let mut b = [0u8; 16];
    b[..3].copy_from_slice(&[255, 0, 0b010]);
    assert_close(
        bc_decode(BcKind::Bc4 { signed: false }, &b, 0, 0),
        [6.0 / 7.0, 0.0, 0.0, 1.0],
    );
    // r0 <= r1: index 6 = 0, 7 = 1; texel 0 index 7.
    b[..3].copy_from_slice(&[10, 20, 0b111]);
    assert_eq!(bc_decode(BcKind::Bc4 { signed: false }, &b, 0, 0)[0], 1.0);
    // Signed: -128 clamps to -127 -> -1.0.
    b[..3].copy_from_slice(&[0x80, 0x7f, 0]);
    assert_eq!(bc_decode(BcKind::Bc4 { signed: true }, &b, 0, 0)[0], -1.0);
    // BC5: two BC4 halves.
    let mut b5 = [0u8; 16];
    b5[..2].copy_from_slice(&[255, 255]);
    b5[8..10].copy_from_slice(&[51, 51]);
    assert_close(
        bc_decode(BcKind::Bc5 { signed: false }, &b5, 1, 2),
        [1.0, 0.2, 0.0, 1.0],
    );
    // BC2: explicit 4-bit alpha (texel 1 = 0xf), colour always 4-colour.
    let mut b2 = [0u8; 16];
    b2[0] = 0xf0;
    b2[8..12].copy_from_slice(&[0x1f, 0x00, 0x00, 0xf8]);
    b2[12] = 0b10 << 2;
    assert_close(
        bc_decode(BcKind::Bc2, &b2, 1, 0),
        [1.0 / 3.0, 0.0, 2.0 / 3.0, 1.0],
    );
    assert_eq!(bc_decode(BcKind::Bc2, &b2, 0, 0)[3], 0.0);
    // BC3: BC4 alpha + colour.
    let mut b3 = [0u8; 16];
    b3[..2].copy_from_slice(&[0, 255]);
    b3[2] = 0b001; // texel 0: r1 = 255
    b3[8..10].copy_from_slice(&[0xe0, 0x07]); // green
    assert_close(bc_decode(BcKind::Bc3, &b3, 0, 0), [0.0, 1.0, 0.0, 1.0]);
}

/// BC1 through a whole view: two 4x4 blocks side by side, linear; the
/// RGB1 order hides the transparent alpha, sRGB applies to colours.
#[test]
fn bc1_view_fetch() {
    let mut mem = HostMem::new(0x20_0000);
    let block0 = [0x00, 0xf8, 0x1f, 0x00, 0b1110_0100, 0, 0, 0];
    let block1 = [0x1f, 0x00, 0x00, 0xf8, 0b1100_0000, 0, 0, 0];
    mem.put(DATA_VA, &block0);
    mem.put(DATA_VA + 8, &block1);
    let p = plane(ClumpOrdering::Linear, 48, DATA_VA, 8, 4, 16, 0, 16);
    let rgba = Build::new(TextureDimension::D2, pf::BC1_RGBA, [8, 4, 1])
        .plane(p)
        .load(&mut mem)
        .unwrap();
    assert_close(
        f(rgba.read(&mut mem, [2, 0, 0], 0, 0).unwrap().0),
        [2.0 / 3.0, 0.0, 1.0 / 3.0, 1.0],
    );
    assert_eq!(f(rgba.read(&mut mem, [7, 0, 0], 0, 0).unwrap().0), [0.0; 4]);
    let rgb = Build::new(TextureDimension::D2, pf::BC1_RGB, [8, 4, 1])
        .plane(p)
        .load(&mut mem)
        .unwrap();
    assert_eq!(
        f(rgb.read(&mut mem, [7, 0, 0], 0, 0).unwrap().0),
        [0.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(
        f(rgb.read(&mut mem, [4, 3, 0], 0, 0).unwrap().0),
        [0.0, 0.0, 1.0, 1.0]
    );
    // BC formats cannot be stored to.
    assert_eq!(
        rgb.write(&mut mem, [0, 0, 0], 0, [0; 4]),
        Err(TextureFault::Unsupported { va: DESC_VA })
    );
    assert_eq!(rgb.texel_va(&mut mem, [0, 0, 0], 0), Ok(None));
}
