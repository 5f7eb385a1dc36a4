//! `VkClearColorValue` packed into the bytes of one texel block, as
//! `vkCmdClearColorImage` writes them (see [`crate::cs_image::clear`]).
//!
//! The layout of a format is read from its name (`vk_tables::format(f).name`):
//! `VK_FORMAT_<components>_<numeric>[_PACKnn]`, where `<components>` is a list
//! of channel letters with bit widths (`A2B10G10R10`). For `_PACKnn` formats
//! the texel is one little-endian `nn`-bit word whose *first* named component
//! sits in the most significant bits; otherwise components are byte-aligned
//! little-endian values in memory order, first named first.
//!
//! Conversions are those of the Vulkan specification ("Fixed-Point Data
//! Conversions", "Floating Point Numbers", `VkClearColorValue`):
//!
//! - UNORM / SRGB: clamp to [0, 1], `round(f x (2^b - 1))` (ties away from
//!   zero, NaN -> 0); SRGB first applies the sRGB transfer function to R, G
//!   and B (not A). 0.5 in SRGB is 0.7354 -> 187.5 -> 188 = `0xbc`.
//! - SNORM: clamp to [-1, 1], `round(f x (2^(b-1) - 1))`, two's complement.
//! - USCALED / SSCALED: the float rounded to the nearest integer and clamped
//!   to the component's range.
//! - UINT / SINT: "casting to the integer type with fewer bits": the low `b`
//!   bits of `uint32` / `int32`.
//! - SFLOAT: 32-bit as is; 16-bit by [`f32_to_f16`] (round to nearest even).
//! - `B10G11R11_UFLOAT_PACK32`: unsigned 11/10-bit floats ([`f32_to_uf`]);
//!   `E5B9G9R9_UFLOAT_PACK32`: the specification's shared-exponent algorithm
//!   ([`pack_e5b9g9r9`]).
//!
//! - 64-bit components (`R64_*`): the clear value has 32-bit components and
//!   the specification does not say how they widen, so they widen as
//!   values: UINT zero-extends, SINT sign-extends, SFLOAT converts to a
//!   double (what the CTS's readback, which narrows back to 32 bits,
//!   expects).

use ash::vk;

/// How the bits of one component are interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Numeric {
    Unorm,
    Snorm,
    Uscaled,
    Sscaled,
    Uint,
    Sint,
    Srgb,
    Sfloat,
}

impl Numeric {
    fn parse(s: &str) -> Option<Numeric> {
        Some(match s {
            "UNORM" => Numeric::Unorm,
            "SNORM" => Numeric::Snorm,
            "USCALED" => Numeric::Uscaled,
            "SSCALED" => Numeric::Sscaled,
            "UINT" => Numeric::Uint,
            "SINT" => Numeric::Sint,
            "SRGB" => Numeric::Srgb,
            "SFLOAT" => Numeric::Sfloat,
            _ => return None,
        })
    }
}

/// One component of a format: which clear-value channel (R = 0 .. A = 3) and
/// how many bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Component {
    channel: usize,
    bits: u32,
}

/// The components named in `s` (`"A2B10G10R10"`), first named first; `None`
/// for letters other than R, G, B, A or widths outside 1..=32.
fn parse_components(s: &str) -> Option<Vec<Component>> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let channel = match bytes[i] {
            b'R' => 0,
            b'G' => 1,
            b'B' => 2,
            b'A' => 3,
            _ => return None,
        };
        i += 1;
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let bits: u32 = s.get(start..i)?.parse().ok()?;
        if bits == 0 || bits > 64 {
            return None;
        }
        out.push(Component { channel, bits });
    }
    Some(out)
}

/// The bytes of one texel of `format` holding `value`, little-endian as
/// memory holds them; `None` for formats this module does not pack
/// (depth/stencil, compressed, multi-planar, 64-bit components, and texel
/// blocks that are not 4, 8 or 16 bytes).
pub fn pack(format: vk::Format, value: &vk::ClearColorValue) -> Option<Vec<u8>> {
    let info = crate::vk_tables::format(format)?;
    if info.compression.is_some()
        || info.depth_bits != 0
        || info.stencil_bits != 0
        || info.planes != 0
        || info.chroma.is_some()
        || ![1, 2, 4, 8, 16].contains(&info.block_bytes)
    {
        return None;
    }
    // SAFETY: every member of the union is four 32-bit values with no
    // invalid bit patterns, so reading any of them is defined.
    let (f, u, i) = unsafe { (value.float32, value.uint32, value.int32) };
    let name = info.name.strip_prefix("VK_FORMAT_")?;
    match name {
        "B10G11R11_UFLOAT_PACK32" => {
            let word = f32_to_uf(f[0], 6) | f32_to_uf(f[1], 6) << 11 | f32_to_uf(f[2], 5) << 22;
            return Some(word.to_le_bytes().to_vec());
        }
        "E5B9G9R9_UFLOAT_PACK32" => {
            return Some(pack_e5b9g9r9([f[0], f[1], f[2]]).to_le_bytes().to_vec())
        }
        _ => {}
    }
    let mut parts = name.split('_');
    let components = parse_components(parts.next()?)?;
    let numeric = Numeric::parse(parts.next()?)?;
    let packed = match parts.next() {
        None => None,
        Some(p) => Some(p.strip_prefix("PACK")?.parse::<u32>().ok()?),
    };
    if parts.next().is_some() {
        return None;
    }
    let encoded: Vec<u64> = components
        .iter()
        .map(|c| encode(numeric, *c, f[c.channel], u[c.channel], i[c.channel]))
        .collect::<Option<_>>()?;
    let total_bits: u32 = components.iter().map(|c| c.bits).sum();
    let bytes = match packed {
        Some(word_bits) => {
            if word_bits != total_bits || word_bits != info.block_bytes * 8 {
                return None;
            }
            // First named component in the most significant bits.
            let mut word = 0u64;
            for (c, v) in components.iter().zip(&encoded) {
                word = word << c.bits | v;
            }
            word.to_le_bytes()[..(word_bits / 8) as usize].to_vec()
        }
        None => {
            if total_bits != info.block_bytes * 8 || components.iter().any(|c| c.bits % 8 != 0) {
                return None;
            }
            let mut out = Vec::with_capacity(info.block_bytes as usize);
            for (c, v) in components.iter().zip(&encoded) {
                out.extend_from_slice(&v.to_le_bytes()[..(c.bits / 8) as usize]);
            }
            out
        }
    };
    Some(bytes)
}

/// The low `bits` bits of `v`.
fn low_bits(v: u64, bits: u32) -> u64 {
    if bits >= 64 {
        v
    } else {
        v & ((1u64 << bits) - 1)
    }
}

/// One component's bits (in the low `c.bits` bits), from the clear value's
/// float, unsigned and signed views of its channel.
fn encode(numeric: Numeric, c: Component, f: f32, u: u32, i: i32) -> Option<u64> {
    let b = c.bits;
    let v = match numeric {
        Numeric::Unorm => unorm(f, b),
        Numeric::Srgb if c.channel < 3 => unorm(linear_to_srgb(f), b),
        Numeric::Srgb => unorm(f, b),
        Numeric::Snorm => low_bits(snorm(f, b) as u64, b),
        Numeric::Uscaled => {
            let max = low_bits(u64::MAX, b) as f64;
            if f.is_nan() {
                0
            } else {
                f64::from(f).round().clamp(0.0, max) as u64
            }
        }
        Numeric::Sscaled => {
            let max = (1i64 << (b - 1)) - 1;
            let r = if f.is_nan() {
                0
            } else {
                f64::from(f).round().clamp(-(max as f64) - 1.0, max as f64) as i64
            };
            low_bits(r as u64, b)
        }
        Numeric::Uint => low_bits(u64::from(u), b),
        Numeric::Sint => low_bits(i as i64 as u64, b),
        Numeric::Sfloat => match b {
            64 => f64::from(f).to_bits(),
            32 => u64::from(f.to_bits()),
            16 => u64::from(f32_to_f16(f)),
            _ => return None,
        },
    };
    Some(v)
}

/// Float to `bits`-bit UNORM: clamp to [0, 1] (NaN -> 0), scale by
/// `2^bits - 1`, round to nearest (ties away from zero).
fn unorm(f: f32, bits: u32) -> u64 {
    let max = low_bits(u64::MAX, bits) as f64;
    if f.is_nan() {
        return 0;
    }
    (f64::from(f).clamp(0.0, 1.0) * max).round() as u64
}

/// Float to `bits`-bit SNORM: clamp to [-1, 1] (NaN -> 0), scale by
/// `2^(bits-1) - 1`, round to nearest. -1.0 in 8 bits is -127 = `0x81`.
fn snorm(f: f32, bits: u32) -> i64 {
    let max = ((1i64 << (bits - 1)) - 1) as f64;
    if f.is_nan() {
        return 0;
    }
    (f64::from(f).clamp(-1.0, 1.0) * max).round() as i64
}

/// The sRGB transfer function (linear -> encoded), on [0, 1] (values
/// outside are clamped by the UNORM conversion after it).
fn linear_to_srgb(l: f32) -> f32 {
    if l.is_nan() {
        return l;
    }
    let l = f64::from(l);
    let s = if l <= 0.0031308 {
        12.92 * l
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    };
    s as f32
}

/// IEEE 754 binary32 to binary16, round to nearest (ties to even): overflow
/// gives infinity, NaN stays NaN (quiet, sign and top payload bits kept),
/// small values become subnormals or zero. 1.0 -> `0x3c00`, 65504 ->
/// `0x7bff`.
pub fn f32_to_f16(f: f32) -> u16 {
    let x = f.to_bits();
    let sign = ((x >> 16) & 0x8000) as u16;
    let exp = ((x >> 23) & 0xff) as i32;
    let mant = x & 0x7f_ffff;
    if exp == 0xff {
        if mant == 0 {
            return sign | 0x7c00;
        }
        return sign | 0x7e00 | (mant >> 13) as u16;
    }
    // Unbiased exponent; binary16 normals have -14..=15.
    let e = exp - 127;
    if e > 15 {
        return sign | 0x7c00;
    }
    // The significand with its implicit bit (zero and f32 subnormals, far
    // below f16's range, round to zero below).
    let sig = if exp == 0 { mant } else { mant | 0x80_0000 };
    // Bits of `sig` to drop: 13 for f16 normals, more for subnormals (whose
    // last bit is 2^-24).
    let shift = if e >= -14 {
        13
    } else {
        (13 + (-14 - e)) as u32
    };
    if shift > 24 {
        return sign;
    }
    let kept = sig >> shift;
    let rest = sig & ((1 << shift) - 1);
    let half = 1 << (shift - 1);
    let round_up = rest > half || (rest == half && kept & 1 == 1);
    let kept = kept + u32::from(round_up);
    let bits = if e >= -14 {
        // Normal: exponent field + mantissa; a mantissa carry moves into the
        // exponent (and 0x7bff + 1 becomes infinity), as wanted.
        (((e + 15) as u32) << 10) + (kept - 0x400)
    } else {
        // Subnormal (a carry into bit 10 makes the smallest normal).
        kept
    };
    sign | bits as u16
}

/// An unsigned float with a 5-bit exponent (bias 15) and a `mant_bits`-bit
/// mantissa, the components of `B10G11R11_UFLOAT_PACK32` (6 for the 11-bit
/// R and G, 5 for the 10-bit B). Per the specification: negative values and
/// -inf give 0, finite values too large give the largest finite value, +inf
/// stays infinite, NaN gives NaN; others round to nearest (ties to even).
/// 1.0 -> `0x3c0` (11-bit), `0x1e0` (10-bit).
pub fn f32_to_uf(f: f32, mant_bits: u32) -> u32 {
    let inf = 0x1f << mant_bits;
    let max_finite = (0x1e << mant_bits) | ((1 << mant_bits) - 1);
    if f.is_nan() {
        return inf | 1;
    }
    if f <= 0.0 {
        return 0;
    }
    if f.is_infinite() {
        return inf;
    }
    let x = f.to_bits();
    let exp = ((x >> 23) & 0xff) as i32;
    let mant = x & 0x7f_ffff;
    let e = exp - 127;
    if e > 15 {
        return max_finite;
    }
    let sig = if exp == 0 { mant } else { mant | 0x80_0000 };
    let drop = 23 - mant_bits;
    let shift = if e >= -14 {
        drop
    } else {
        drop + (-14 - e) as u32
    };
    if shift > 24 {
        return 0;
    }
    let kept = sig >> shift;
    let rest = sig & ((1 << shift) - 1);
    let half = 1 << (shift - 1);
    let kept = kept + u32::from(rest > half || (rest == half && kept & 1 == 1));
    let bits = if e >= -14 {
        (((e + 15) as u32) << mant_bits) + (kept - (1 << mant_bits))
    } else {
        kept
    };
    bits.min(max_finite)
}

/// `E5B9G9R9_UFLOAT_PACK32` of (R, G, B), by the specification's algorithm
/// ("Shared Exponent"): N = 9 mantissa bits, bias B = 15, Emax = 31.
/// Components are clamped to [0, sharedexp_max = 511/512 x 2^16] (NaN -> 0);
/// `exp' = max(-B - 1, floor(log2(max_c))) + 1 + B`; the largest component's
/// mantissa `floor(max_c / 2^(exp' - B - N) + 0.5)` may reach 2^N, which
/// bumps the exponent by one; each mantissa is then `floor(c / 2^(exp_s - B
/// - N) + 0.5)`. Worked example: (1, 0, 0): exp' = 0 + 1 + 15 = 16, max_s =
/// 1 / 2^-8 = 256, so R = 256, E = 16: `0x8000_0100`.
pub fn pack_e5b9g9r9(rgb: [f32; 3]) -> u32 {
    const N: i32 = 9;
    const B: i32 = 15;
    let max_value = 511.0 / 512.0 * 65536.0;
    let c = rgb.map(|v| {
        if v.is_nan() {
            0.0
        } else {
            f64::from(v).clamp(0.0, max_value)
        }
    });
    let max_c = c[0].max(c[1]).max(c[2]);
    // floor(log2(max_c)) from the binary exponent (exact, unlike log2());
    // zero and tiny values are caught by the max with -B - 1.
    let floor_log2 = if max_c == 0.0 {
        -B - 1
    } else {
        ((max_c.to_bits() >> 52) & 0x7ff) as i32 - 1023
    };
    let exp_p = (-B - 1).max(floor_log2) + 1 + B;
    let scale = |e: i32| 2f64.powi(e - B - N);
    let max_s = (max_c / scale(exp_p) + 0.5).floor();
    let exp_s = if max_s >= f64::from(1 << N) {
        exp_p + 1
    } else {
        exp_p
    };
    let m = c.map(|v| ((v / scale(exp_s) + 0.5).floor() as u32).min((1 << N) - 1));
    (exp_s as u32) << 27 | m[2] << 18 | m[1] << 9 | m[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(v: [f32; 4]) -> vk::ClearColorValue {
        vk::ClearColorValue { float32: v }
    }

    fn uint(v: [u32; 4]) -> vk::ClearColorValue {
        vk::ClearColorValue { uint32: v }
    }

    fn int(v: [i32; 4]) -> vk::ClearColorValue {
        vk::ClearColorValue { int32: v }
    }

    fn word(bytes: &[u8]) -> u32 {
        u32::from_le_bytes(bytes.try_into().unwrap())
    }

    #[test]
    fn unorm8_known_values() {
        let p = pack(vk::Format::R8G8B8A8_UNORM, &float([1.0, 0.5, 0.0, 0.25])).unwrap();
        assert_eq!(p, [0xff, 0x80, 0x00, 0x40]);
        // Clamping and NaN.
        let p = pack(
            vk::Format::R8G8B8A8_UNORM,
            &float([2.0, -1.0, f32::NAN, f32::INFINITY]),
        )
        .unwrap();
        assert_eq!(p, [0xff, 0x00, 0x00, 0xff]);
        // BGRA swaps R and B in memory.
        let p = pack(vk::Format::B8G8R8A8_UNORM, &float([1.0, 0.5, 0.0, 1.0])).unwrap();
        assert_eq!(p, [0x00, 0x80, 0xff, 0xff]);
    }

    #[test]
    fn one_and_two_byte_texels() {
        let v = float([1.0, 0.5, 0.25, 1.0]);
        assert_eq!(pack(vk::Format::R8_UNORM, &v).unwrap(), [0xff]);
        assert_eq!(pack(vk::Format::R8G8_UNORM, &v).unwrap(), [0xff, 0x80]);
        assert_eq!(pack(vk::Format::R16_UNORM, &v).unwrap(), [0xff, 0xff]);
        // R5G6B5: R in bits 11..16, G in 5..11, B in 0..5.
        let p = pack(vk::Format::R5G6B5_UNORM_PACK16, &v).unwrap();
        assert_eq!(u16::from_le_bytes([p[0], p[1]]), 31 << 11 | 32 << 5 | 8);
        let p = pack(vk::Format::R8_UINT, &uint([300, 0, 0, 0])).unwrap();
        assert_eq!(p, [300u32 as u8]);
    }

    #[test]
    fn sixty_four_bit_components_widen_as_values() {
        let p = pack(vk::Format::R64_UINT, &uint([0xffff_fffe, 0, 0, 0])).unwrap();
        assert_eq!(p, 0xffff_fffeu64.to_le_bytes());
        let p = pack(vk::Format::R64_SINT, &int([-7, 0, 0, 0])).unwrap();
        assert_eq!(p, (-7i64).to_le_bytes());
        let p = pack(vk::Format::R64G64_SFLOAT, &float([0.5, -2.0, 0.0, 0.0])).unwrap();
        assert_eq!(p[..8], 0.5f64.to_le_bytes());
        assert_eq!(p[8..], (-2.0f64).to_le_bytes());
    }

    #[test]
    fn snorm8_known_values() {
        let p = pack(vk::Format::R8G8B8A8_SNORM, &float([-1.0, 1.0, 0.0, -2.0])).unwrap();
        assert_eq!(p, [0x81, 0x7f, 0x00, 0x81]);
        let p = pack(vk::Format::R8G8B8A8_SNORM, &float([0.5, -0.5, 0.0, 0.0])).unwrap();
        // 63.5 rounds away from zero: 64, -64.
        assert_eq!(p, [0x40, 0xc0, 0, 0]);
    }

    #[test]
    fn srgb_encodes_rgb_not_alpha() {
        let p = pack(vk::Format::R8G8B8A8_SRGB, &float([0.5, 1.0, 0.0, 0.5])).unwrap();
        assert_eq!(p, [0xbc, 0xff, 0x00, 0x80]);
        let p = pack(vk::Format::B8G8R8A8_SRGB, &float([0.5, 0.0, 0.0, 1.0])).unwrap();
        assert_eq!(p, [0x00, 0x00, 0xbc, 0xff]);
        // The linear segment: 0.002 x 12.92 x 255 = 6.59 -> 7.
        let p = pack(vk::Format::R8G8B8A8_SRGB, &float([0.002, 0.0, 0.0, 0.0])).unwrap();
        assert_eq!(p[0], 7);
    }

    #[test]
    fn integers_truncate_to_the_component() {
        let p = pack(vk::Format::R8G8B8A8_UINT, &uint([1, 255, 256, 0x1234])).unwrap();
        assert_eq!(p, [1, 255, 0, 0x34]);
        let p = pack(vk::Format::R8G8B8A8_SINT, &int([-1, -128, 127, 5])).unwrap();
        assert_eq!(p, [0xff, 0x80, 0x7f, 5]);
        let p = pack(vk::Format::R32G32_SINT, &int([-2, 7, 0, 0])).unwrap();
        assert_eq!(p, [0xfe, 0xff, 0xff, 0xff, 7, 0, 0, 0]);
        let p = pack(
            vk::Format::R16G16B16A16_UINT,
            &uint([0x1_0001, 2, 3, 0xffff]),
        )
        .unwrap();
        assert_eq!(p, [1, 0, 2, 0, 3, 0, 0xff, 0xff]);
    }

    #[test]
    fn scaled_formats_round_and_clamp() {
        let p = pack(
            vk::Format::R8G8B8A8_USCALED,
            &float([3.4, 300.0, -5.0, 2.5]),
        )
        .unwrap();
        assert_eq!(p, [3, 255, 0, 3]);
        let p = pack(
            vk::Format::R8G8B8A8_SSCALED,
            &float([-3.6, -300.0, 200.0, 1.0]),
        )
        .unwrap();
        assert_eq!(p, [0xfc, 0x80, 0x7f, 1]);
    }

    #[test]
    fn packed_a2b10g10r10_bit_positions() {
        // A in 31..30, B in 29..20, G in 19..10, R in 9..0.
        let p = pack(
            vk::Format::A2B10G10R10_UNORM_PACK32,
            &float([1.0, 0.0, 0.0, 0.0]),
        )
        .unwrap();
        assert_eq!(word(&p), 0x3ff);
        let p = pack(
            vk::Format::A2B10G10R10_UNORM_PACK32,
            &float([0.0, 1.0, 0.0, 0.0]),
        )
        .unwrap();
        assert_eq!(word(&p), 0x3ff << 10);
        let p = pack(
            vk::Format::A2B10G10R10_UNORM_PACK32,
            &float([0.0, 0.0, 1.0, 1.0]),
        )
        .unwrap();
        assert_eq!(word(&p), 0x3ff << 20 | 3 << 30);
        // A2R10G10B10 puts R in 29..20 and B in 9..0.
        let p = pack(vk::Format::A2R10G10B10_UINT_PACK32, &uint([5, 6, 7, 2])).unwrap();
        assert_eq!(word(&p), 2 << 30 | 5 << 20 | 6 << 10 | 7);
        // SNORM 2-bit alpha: -1 -> 0b11; SINT truncation.
        let p = pack(
            vk::Format::A2B10G10R10_SNORM_PACK32,
            &float([-1.0, 0.0, 0.0, -1.0]),
        )
        .unwrap();
        assert_eq!(word(&p), 3 << 30 | 0x201);
        let p = pack(vk::Format::A2B10G10R10_SINT_PACK32, &int([-1, 0, 0, 1])).unwrap();
        assert_eq!(word(&p), 1 << 30 | 0x3ff);
    }

    #[test]
    fn a8b8g8r8_pack32_is_rgba_in_memory() {
        let v = float([1.0, 0.5, 0.25, 0.0]);
        assert_eq!(
            pack(vk::Format::A8B8G8R8_UNORM_PACK32, &v),
            pack(vk::Format::R8G8B8A8_UNORM, &v)
        );
        let v = float([0.5, 0.5, 0.5, 0.5]);
        assert_eq!(
            pack(vk::Format::A8B8G8R8_SRGB_PACK32, &v),
            pack(vk::Format::R8G8B8A8_SRGB, &v)
        );
    }

    #[test]
    fn f16_known_values() {
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(-2.0), 0xc000);
        assert_eq!(f32_to_f16(0.0), 0);
        assert_eq!(f32_to_f16(-0.0), 0x8000);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        // Halfway between 65504 and 65536 (infinity) rounds to even: inf.
        assert_eq!(f32_to_f16(65520.0), 0x7c00);
        assert_eq!(f32_to_f16(65519.0), 0x7bff);
        assert_eq!(f32_to_f16(1e10), 0x7c00);
        assert_eq!(f32_to_f16(f32::NEG_INFINITY), 0xfc00);
        let nan = f32_to_f16(f32::NAN);
        assert_eq!(nan & 0x7c00, 0x7c00);
        assert_ne!(nan & 0x3ff, 0);
        // Smallest normal 2^-14, smallest subnormal 2^-24, half of it
        // (a tie) rounds to even (zero), a bit more rounds up.
        assert_eq!(f32_to_f16(2f32.powi(-14)), 0x0400);
        assert_eq!(f32_to_f16(2f32.powi(-24)), 0x0001);
        assert_eq!(f32_to_f16(2f32.powi(-25)), 0x0000);
        assert_eq!(f32_to_f16(1.5 * 2f32.powi(-25)), 0x0001);
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1.0);
        // 1 + 3 x 2^-11 ties up to 1 + 2^-9.
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        // 0.1 = 0x2e66 (0.0999755859375).
        assert_eq!(f32_to_f16(0.1), 0x2e66);
        // Subnormal just below the normal range rounding up into it.
        assert_eq!(f32_to_f16(2f32.powi(-14) * (1.0 - 2f32.powi(-12))), 0x0400);
    }

    /// Invariant: for every finite f16, converting its exact f32 value
    /// gives it back.
    #[test]
    fn f16_round_trips_every_finite_value() {
        for h in 0u16..=0xffff {
            if h & 0x7c00 == 0x7c00 {
                continue;
            }
            let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
            let e = i32::from((h >> 10) & 0x1f);
            let m = f64::from(h & 0x3ff);
            let v = if e == 0 {
                m * 2f64.powi(-24)
            } else {
                (1.0 + m / 1024.0) * 2f64.powi(e - 15)
            };
            assert_eq!(f32_to_f16((sign * v) as f32), h, "{h:#06x}");
        }
    }

    #[test]
    fn sfloat_formats() {
        let p = pack(
            vk::Format::R16G16B16A16_SFLOAT,
            &float([1.0, -2.0, 65504.0, 0.5]),
        )
        .unwrap();
        assert_eq!(p, [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x00, 0x38]);
        let p = pack(vk::Format::R16G16_SFLOAT, &float([f32::NAN, 0.0, 0.0, 0.0])).unwrap();
        let h = u16::from_le_bytes([p[0], p[1]]);
        assert!(h & 0x7c00 == 0x7c00 && h & 0x3ff != 0, "NaN stays NaN");
        let p = pack(vk::Format::R32_SFLOAT, &float([1.5, 9.0, 9.0, 9.0])).unwrap();
        assert_eq!(word(&p), 1.5f32.to_bits());
        let p = pack(
            vk::Format::R32G32B32A32_SFLOAT,
            &float([1.0, 2.0, 3.0, 4.0]),
        )
        .unwrap();
        assert_eq!(p.len(), 16);
        assert_eq!(word(&p[12..]), 4.0f32.to_bits());
        let p = pack(vk::Format::R16G16_UNORM, &float([1.0, 0.5, 0.0, 0.0])).unwrap();
        assert_eq!(p, [0xff, 0xff, 0x00, 0x80]);
        let p = pack(vk::Format::R16G16_SNORM, &float([-1.0, 1.0, 0.0, 0.0])).unwrap();
        assert_eq!(p, [0x01, 0x80, 0xff, 0x7f]);
    }

    #[test]
    fn b10g11r11_known_values() {
        assert_eq!(f32_to_uf(1.0, 6), 0x3c0);
        assert_eq!(f32_to_uf(1.0, 5), 0x1e0);
        let p = pack(
            vk::Format::B10G11R11_UFLOAT_PACK32,
            &float([1.0, 1.0, 1.0, 0.0]),
        )
        .unwrap();
        assert_eq!(word(&p), 0x1e0 << 22 | 0x3c0 << 11 | 0x3c0);
        // Negative -> 0, too large -> max finite (65024 for 11 bits,
        // 64512 for 10), infinity stays, NaN is NaN.
        assert_eq!(f32_to_uf(-3.0, 6), 0);
        assert_eq!(f32_to_uf(f32::NEG_INFINITY, 6), 0);
        assert_eq!(f32_to_uf(1e9, 6), 0x7bf);
        assert_eq!(f32_to_uf(65024.0, 6), 0x7bf);
        assert_eq!(f32_to_uf(64512.0, 5), 0x3df);
        assert_eq!(f32_to_uf(f32::INFINITY, 5), 0x3e0);
        assert_eq!(f32_to_uf(f32::NAN, 6) & 0x7c0, 0x7c0);
        assert_ne!(f32_to_uf(f32::NAN, 6) & 0x3f, 0);
        // 0.5 and the smallest subnormal 2^-14 / 64 = 2^-20.
        assert_eq!(f32_to_uf(0.5, 6), 14 << 6);
        assert_eq!(f32_to_uf(2f32.powi(-20), 6), 1);
    }

    #[test]
    fn e5b9g9r9_known_values() {
        assert_eq!(pack_e5b9g9r9([1.0, 0.0, 0.0]), 16 << 27 | 256);
        assert_eq!(pack_e5b9g9r9([0.0, 0.0, 0.0]), 0);
        // All ones: each mantissa 256 at exponent 16.
        assert_eq!(
            pack_e5b9g9r9([1.0, 1.0, 1.0]),
            16 << 27 | 256 << 18 | 256 << 9 | 256
        );
        // 0.5 with 0.25: exp' = -1 + 16 = 15, mantissas 256 and 128.
        assert_eq!(pack_e5b9g9r9([0.5, 0.25, 0.0]), 15 << 27 | 128 << 9 | 256);
        // The largest value: 511 x 2^(31 - 15 - 9).
        assert_eq!(pack_e5b9g9r9([1e9, 0.0, -1.0]), 31 << 27 | 511);
        // A mantissa that rounds up to 2^9 bumps the exponent:
        // 511.9 / 2^0 -> 512 at exp' = 8 + 1 + 15 = 24, so exp 25, 256.
        assert_eq!(pack_e5b9g9r9([511.9, 0.0, 0.0]), 25 << 27 | 256);
        let p = pack(
            vk::Format::E5B9G9R9_UFLOAT_PACK32,
            &float([1.0, 0.0, 0.0, 0.0]),
        )
        .unwrap();
        assert_eq!(word(&p), 16 << 27 | 256);
    }

    #[test]
    fn unsupported_formats() {
        let v = float([1.0; 4]);
        for f in [
            vk::Format::D32_SFLOAT,
            vk::Format::D24_UNORM_S8_UINT,
            vk::Format::BC1_RGB_UNORM_BLOCK,
            vk::Format::ASTC_4X4_UNORM_BLOCK,
            vk::Format::G8_B8R8_2PLANE_420_UNORM,
            vk::Format::R8G8B8_UNORM,
            vk::Format::R16G16B16_SFLOAT,
            vk::Format::R32G32B32_SFLOAT,
            vk::Format::UNDEFINED,
        ] {
            assert_eq!(pack(f, &v), None, "{f:?}");
        }
    }

    /// Invariant: every format the table lists with a 1, 2, 4, 8 or 16-byte,
    /// uncompressed, single-plane color block either packs to exactly
    /// `block_bytes` or is one of the documented exclusions (X padding, the
    /// NV fixed-point `R16G16_S10_5_NV`).
    #[test]
    fn packed_sizes_match_the_table() {
        let v = float([0.25; 4]);
        let mut packed = 0;
        for info in crate::vk_tables::formats() {
            match pack(info.format, &v) {
                Some(p) => {
                    assert_eq!(p.len() as u32, info.block_bytes, "{}", info.name);
                    packed += 1;
                }
                None => {
                    let colour = info.compression.is_none()
                        && info.depth_bits == 0
                        && info.stencil_bits == 0
                        && info.planes == 0
                        && info.chroma.is_none()
                        && [1, 2, 4, 8, 16].contains(&info.block_bytes);
                    if colour {
                        let n = info.name;
                        assert!(n.contains('X') || n.ends_with("_NV"), "{n} should pack");
                    }
                }
            }
        }
        // 7 x RGBA8, BGRA8, ABGR8 packed, R16G16, RGBA16; 6 x two A2 10-bit
        // packings; 3 x R32, R32G32, RGBA32; B10G11R11; E5B9G9R9. Small
        // texels: 7 x R8, R8G8, R16; R4G4; nine 16-bit packings. 64-bit:
        // R64 and R64G64 in UINT, SINT, SFLOAT.
        assert_eq!(
            packed,
            3 * 7 + 2 * 6 + 2 * 7 + 3 * 3 + 2 + 3 * 7 + 1 + 9 + 2 * 3
        );
    }
}
