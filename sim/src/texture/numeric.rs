//! Scalar conversions between stored texel components and the shader's
//! numeric classes: normalized integers, the small floats (half, the
//! unsigned 11- and 10-bit floats of R11G11B10F, the shared-exponent RGB9E5)
//! and the sRGB transfer function.
//!
//! Rules are those of the Vulkan spec's "Fixed-Point Data Conversions" and
//! "Floating Point Computation" sections: UNORM = v / (2^b - 1), SNORM =
//! max(v / (2^(b-1) - 1), -1), conversions to small floats round to nearest
//! even, unsigned small floats store negative values as 0.

/// Exactly 2^k for k in the normal f32 exponent range (-126..=127).
pub(crate) fn pow2(k: i32) -> f32 {
    f32::from_bits(((k.clamp(-126, 127) + 127) as u32) << 23)
}

pub(crate) fn unorm_to_f32(v: u32, bits: u32) -> f32 {
    let max = ((1u64 << bits) - 1) as f64;
    (v as f64 / max) as f32
}

pub(crate) fn snorm_to_f32(v: u32, bits: u32) -> f32 {
    let s = sign_extend(v, bits);
    let max = ((1i64 << (bits - 1)) - 1) as f64;
    ((s as f64 / max) as f32).max(-1.0)
}

/// UNORM encode: clamp to [0, 1] (NaN to 0), scale, round to nearest.
pub(crate) fn f32_to_unorm(v: f32, bits: u32) -> u32 {
    let max = ((1u64 << bits) - 1) as f64;
    let c = if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, 1.0) as f64
    };
    (c * max).round() as u32
}

/// SNORM encode: clamp to [-1, 1] (NaN to 0); the result is the two's
/// complement in `bits` bits.
pub(crate) fn f32_to_snorm(v: f32, bits: u32) -> u32 {
    let max = ((1i64 << (bits - 1)) - 1) as f64;
    let c = if v.is_nan() {
        0.0
    } else {
        v.clamp(-1.0, 1.0) as f64
    };
    let s = (c * max).round() as i64;
    (s as u32) & mask(bits)
}

pub(crate) fn mask(bits: u32) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

pub(crate) fn sign_extend(v: u32, bits: u32) -> i32 {
    if bits == 0 || bits >= 32 {
        return v as i32;
    }
    let shift = 32 - bits;
    ((v << shift) as i32) >> shift
}

/// A float with a 5-bit exponent (bias 15) and `mant` mantissa bits, signed
/// (half: mant 10) or unsigned (mant 6 or 5), to f32. Exact.
pub(crate) fn minifloat_to_f32(bits: u32, mant: u32, signed: bool) -> f32 {
    let e = (bits >> mant) & 0x1f;
    let m = bits & mask(mant);
    let negative = signed && (bits >> (mant + 5)) & 1 != 0;
    let magnitude = match e {
        0 => m as f32 * pow2(-14 - mant as i32),
        0x1f if m == 0 => f32::INFINITY,
        0x1f => f32::NAN,
        _ => f32::from_bits((e + 127 - 15) << 23 | m << (23 - mant)),
    };
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// f32 to a 5-bit-exponent float with `mant` mantissa bits, rounding to
/// nearest even; overflow gives infinity. Unsigned formats store negative
/// values (and -inf) as 0; NaN stays NaN.
pub(crate) fn f32_to_minifloat(v: f32, mant: u32, signed: bool) -> u32 {
    let inf = 0x1f << mant;
    if v.is_nan() {
        return inf | 1 << (mant - 1);
    }
    let bits = v.to_bits();
    let sign = if signed {
        (bits >> 31) << (mant + 5)
    } else {
        0
    };
    if !signed && bits >> 31 != 0 {
        return 0;
    }
    let exp_field = (bits >> 23) & 0xff;
    let m = (bits & 0x7f_ffff) as u64;
    if exp_field == 0xff {
        return sign | inf;
    }
    if exp_field == 0 {
        return sign; // f32 subnormals are far below the smallest target value
    }
    let e = exp_field as i32 - 127;
    if e > 15 {
        return sign | inf;
    }
    // Value = full * 2^(e - 23); the target's unit in the last place is
    // 2^(e - mant) for normals and 2^(-14 - mant) for subnormals.
    let full = m | 0x80_0000;
    let (base, shift) = if e >= -14 {
        (((e + 15) as u64) << mant, 23 - mant as i32)
    } else {
        (0, 23 - mant as i32 + (-14 - e))
    };
    if shift >= 25 {
        return sign; // below half of the smallest subnormal
    }
    let kept = if e >= -14 { m >> shift } else { full >> shift };
    let rem = if e >= -14 { m } else { full } & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    let mut r = base + kept;
    if rem > half || (rem == half && r & 1 == 1) {
        r += 1; // a carry into the exponent is the correct rounding
    }
    sign | r.min(inf as u64) as u32
}

pub(crate) fn half_to_f32(h: u32) -> f32 {
    minifloat_to_f32(h & 0xffff, 10, true)
}

pub(crate) fn f32_to_half(v: f32) -> u32 {
    f32_to_minifloat(v, 10, true)
}

/// RGB9E5: three 9-bit mantissas (no implicit one) sharing a 5-bit exponent
/// (bias 15) in bits 27..31: value = m * 2^(e - 15 - 9).
pub(crate) fn rgb9e5_to_f32(word: u32) -> [f32; 3] {
    let e = (word >> 27) as i32;
    let scale = pow2(e - 24);
    [0, 9, 18].map(|shift| ((word >> shift) & 0x1ff) as f32 * scale)
}

/// sRGB to linear (the EOTF of the Vulkan spec's "sRGB transfer functions").
pub(crate) fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear to sRGB (inverse of [`srgb_to_linear`]), for writes.
pub(crate) fn linear_to_srgb(l: f32) -> f32 {
    if l.is_nan() || l <= 0.0 {
        0.0
    } else if l <= 0.003_130_8 {
        l * 12.92
    } else if l >= 1.0 {
        1.0
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_known_values() {
        assert_eq!(half_to_f32(0x3c00), 1.0);
        assert_eq!(half_to_f32(0xc000), -2.0);
        assert_eq!(half_to_f32(0x7bff), 65504.0);
        assert_eq!(half_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(half_to_f32(0x3555), 0.333_251_95);
        assert!(half_to_f32(0x7e00).is_nan());
        assert_eq!(half_to_f32(0xfc00), f32::NEG_INFINITY);
        assert_eq!(f32_to_half(1.0), 0x3c00);
        assert_eq!(f32_to_half(-2.0), 0xc000);
        assert_eq!(f32_to_half(65504.0), 0x7bff);
        assert_eq!(f32_to_half(65520.0), 0x7c00, "rounds up to infinity");
        assert_eq!(f32_to_half(1.0e6), 0x7c00);
        assert_eq!(f32_to_half(2f32.powi(-24)), 0x0001);
        assert_eq!(f32_to_half(2f32.powi(-26)), 0x0000, "below half ulp");
        assert_eq!(f32_to_half(1.0 / 3.0), 0x3555);
        // 1 + 2^-11 is a tie between 0x3c00 and 0x3c01: even wins.
        assert_eq!(f32_to_half(1.0 + 2f32.powi(-11)), 0x3c00);
        assert_eq!(f32_to_half(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(f32_to_half(f32::NAN) & 0x7c00, 0x7c00);
    }

    #[test]
    fn half_round_trips_every_value() {
        for h in 0..=0xffffu32 {
            let f = half_to_f32(h);
            if f.is_nan() {
                continue;
            }
            assert_eq!(f32_to_half(f), h, "{h:#x}");
        }
    }

    #[test]
    fn unsigned_small_floats() {
        // 11-bit: 1.0 = exponent 15, mantissa 0.
        assert_eq!(minifloat_to_f32(15 << 6, 6, false), 1.0);
        assert_eq!(f32_to_minifloat(1.0, 6, false), 15 << 6);
        assert_eq!(f32_to_minifloat(-1.0, 6, false), 0);
        assert_eq!(minifloat_to_f32(0x7bf, 6, false), 65024.0);
        assert_eq!(minifloat_to_f32(0x3df, 5, false), 64512.0);
        for bits in 0..0x7c0 {
            assert_eq!(
                f32_to_minifloat(minifloat_to_f32(bits, 6, false), 6, false),
                bits
            );
        }
        for bits in 0..0x3e0 {
            assert_eq!(
                f32_to_minifloat(minifloat_to_f32(bits, 5, false), 5, false),
                bits
            );
        }
    }

    #[test]
    fn normalized() {
        assert_eq!(unorm_to_f32(0x80, 8), 128.0 / 255.0);
        assert_eq!(snorm_to_f32(0x80, 8), -1.0, "-128 clamps to -1");
        assert_eq!(snorm_to_f32(0x81, 8), -1.0);
        assert_eq!(snorm_to_f32(0x7f, 8), 1.0);
        assert_eq!(f32_to_unorm(0.5, 8), 128);
        assert_eq!(f32_to_unorm(f32::NAN, 8), 0);
        assert_eq!(f32_to_unorm(7.0, 10), 1023);
        assert_eq!(f32_to_snorm(-1.0, 16), 0x8001);
        assert_eq!(f32_to_snorm(-5.0, 8), 0x81);
    }

    #[test]
    fn srgb() {
        let l = srgb_to_linear(128.0 / 255.0);
        assert!((l - 0.215_860_5).abs() < 1e-6, "{l}");
        for v in 0..=255u32 {
            let c = v as f32 / 255.0;
            assert_eq!(f32_to_unorm(linear_to_srgb(srgb_to_linear(c)), 8), v);
        }
    }

    #[test]
    fn shared_exponent() {
        // 1.0 = 256 * 2^(16 - 24): mantissas 256, exponent 16.
        let w = 16 << 27 | 256 << 18 | 128 << 9 | 256;
        assert_eq!(rgb9e5_to_f32(w), [1.0, 0.5, 1.0]);
        assert_eq!(rgb9e5_to_f32(0), [0.0; 3]);
    }
}
