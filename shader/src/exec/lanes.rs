//! Reading and writing typed lanes in the register file (64-bit values are
//! two words, low first), the component-wise map helpers every arithmetic
//! family is written with, and f16 conversion.

use crate::ir::Slot;

pub(super) trait Lane: Copy {
    const WORDS: usize;
    fn get(r: &[u32], at: usize) -> Self;
    fn put(self, r: &mut [u32], at: usize);
}

impl Lane for u32 {
    const WORDS: usize = 1;
    #[inline(always)]
    fn get(r: &[u32], at: usize) -> Self {
        r[at]
    }
    #[inline(always)]
    fn put(self, r: &mut [u32], at: usize) {
        r[at] = self;
    }
}

impl Lane for u64 {
    const WORDS: usize = 2;
    #[inline(always)]
    fn get(r: &[u32], at: usize) -> Self {
        u64::from(r[at]) | u64::from(r[at + 1]) << 32
    }
    #[inline(always)]
    fn put(self, r: &mut [u32], at: usize) {
        r[at] = self as u32;
        r[at + 1] = (self >> 32) as u32;
    }
}

impl Lane for f32 {
    const WORDS: usize = 1;
    #[inline(always)]
    fn get(r: &[u32], at: usize) -> Self {
        f32::from_bits(r[at])
    }
    #[inline(always)]
    fn put(self, r: &mut [u32], at: usize) {
        r[at] = self.to_bits();
    }
}

impl Lane for f64 {
    const WORDS: usize = 2;
    #[inline(always)]
    fn get(r: &[u32], at: usize) -> Self {
        f64::from_bits(u64::get(r, at))
    }
    #[inline(always)]
    fn put(self, r: &mut [u32], at: usize) {
        self.to_bits().put(r, at);
    }
}

#[inline(always)]
pub(super) fn get64(r: &[u32], at: Slot) -> u64 {
    u64::get(r, at as usize)
}

#[inline(always)]
pub(super) fn put64(r: &mut [u32], at: Slot, v: u64) {
    v.put(r, at as usize)
}

#[inline(always)]
pub(super) fn map1<T: Lane, R: Lane>(r: &mut [u32], d: Slot, a: Slot, n: u16, f: impl Fn(T) -> R) {
    let (d, a) = (d as usize, a as usize);
    for i in 0..n as usize {
        f(T::get(r, a + i * T::WORDS)).put(r, d + i * R::WORDS);
    }
}

#[inline(always)]
pub(super) fn map2<T: Lane, R: Lane>(
    r: &mut [u32],
    d: Slot,
    a: Slot,
    b: Slot,
    n: u16,
    f: impl Fn(T, T) -> R,
) {
    let (d, a, b) = (d as usize, a as usize, b as usize);
    for i in 0..n as usize {
        let v = f(T::get(r, a + i * T::WORDS), T::get(r, b + i * T::WORDS));
        v.put(r, d + i * R::WORDS);
    }
}

#[inline(always)]
pub(super) fn map3<T: Lane>(
    r: &mut [u32],
    d: Slot,
    a: Slot,
    b: Slot,
    c: Slot,
    n: u16,
    f: impl Fn(T, T, T) -> T,
) {
    let (d, a, b, c) = (d as usize, a as usize, b as usize, c as usize);
    for i in 0..n as usize {
        let o = i * T::WORDS;
        f(T::get(r, a + o), T::get(r, b + o), T::get(r, c + o)).put(r, d + o);
    }
}

/// f32 to IEEE half bits, rounding to nearest even (overflow to infinity).
pub(super) fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x7f_ffff;
    if exp == 0xff {
        return sign
            | 0x7c00
            | if man != 0 {
                0x200 | (man >> 13) as u16
            } else {
                0
            };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        // Subnormal half: shift the full mantissa (with its implicit 1).
        let m = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = m >> shift;
        let rem = m & ((1 << shift) - 1);
        let mid = 1 << (shift - 1);
        let round = u32::from(rem > mid || (rem == mid && half & 1 == 1));
        return sign | (half + round) as u16;
    }
    let half = ((e as u32) << 10) | (man >> 13);
    let rem = man & 0x1fff;
    let round = u32::from(rem > 0x1000 || (rem == 0x1000 && half & 1 == 1));
    // A carry out of the mantissa correctly bumps the exponent (to infinity
    // at the top).
    sign | (half + round) as u16
}

pub(super) fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: value = m * 2^-24.
            let v = m as f32 / 16_777_216.0;
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_round_trips_every_value() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            if f.is_nan() {
                assert!(f16_to_f32(f32_to_f16(f)).is_nan());
            } else {
                assert_eq!(f32_to_f16(f), h, "{h:#x} -> {f}");
            }
        }
    }

    #[test]
    fn half_rounding() {
        assert_eq!(f32_to_f16(1.0 + 1.0 / 4096.0), 0x3c00); // below half an ulp
        assert_eq!(f32_to_f16(1.0 + 3.0 / 2048.0), 0x3c02); // tie to even
        assert_eq!(f32_to_f16(65520.0), 0x7c00); // rounds to infinity
        assert_eq!(f32_to_f16(1e-8), 0);
        assert_eq!(f32_to_f16(-2.0), 0xc000);
    }
}
