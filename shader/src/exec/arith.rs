//! Component-wise integer and float families, conversions, selects and
//! dynamic vector indexing. Integer arithmetic wraps; division and
//! remainder by zero give 0; shift counts are taken modulo the width
//! (SPIR-V leaves both undefined, a panic is not an option).

use super::lanes::{map1, map2, map3, Lane};
use crate::ir::{FBin, FCmp, FTern, FUn, IBin, ICmp, ITern, IUn, Num, Slot};

macro_rules! int_family {
    ($u:ty, $s:ty, $bits:expr, $bin:ident, $cmp:ident, $un:ident, $tern:ident, $bfe:ident) => {
        pub(super) fn $bin(r: &mut [u32], op: IBin, d: Slot, a: Slot, b: Slot, n: u16) {
            match op {
                IBin::Add => map2(r, d, a, b, n, |x: $u, y: $u| x.wrapping_add(y)),
                IBin::Sub => map2(r, d, a, b, n, |x: $u, y: $u| x.wrapping_sub(y)),
                IBin::Mul => map2(r, d, a, b, n, |x: $u, y: $u| x.wrapping_mul(y)),
                IBin::UDiv => map2(r, d, a, b, n, |x: $u, y: $u| x.checked_div(y).unwrap_or(0)),
                IBin::SDiv => map2(r, d, a, b, n, |x: $u, y: $u| {
                    if y == 0 {
                        0
                    } else {
                        (x as $s).wrapping_div(y as $s) as $u
                    }
                }),
                IBin::UMod => map2(r, d, a, b, n, |x: $u, y: $u| x.checked_rem(y).unwrap_or(0)),
                IBin::SRem => map2(r, d, a, b, n, |x: $u, y: $u| {
                    if y == 0 {
                        0
                    } else {
                        (x as $s).wrapping_rem(y as $s) as $u
                    }
                }),
                IBin::SMod => map2(r, d, a, b, n, |x: $u, y: $u| {
                    if y == 0 {
                        return 0;
                    }
                    let (x, y) = (x as $s, y as $s);
                    let m = x.wrapping_rem(y);
                    (if m != 0 && ((m < 0) != (y < 0)) {
                        m.wrapping_add(y)
                    } else {
                        m
                    }) as $u
                }),
                IBin::Shl => map2(r, d, a, b, n, |x: $u, y: $u| x.wrapping_shl(y as u32)),
                IBin::ShrL => map2(r, d, a, b, n, |x: $u, y: $u| x.wrapping_shr(y as u32)),
                IBin::ShrA => map2(r, d, a, b, n, |x: $u, y: $u| {
                    (x as $s).wrapping_shr(y as u32) as $u
                }),
                IBin::And => map2(r, d, a, b, n, |x: $u, y: $u| x & y),
                IBin::Or => map2(r, d, a, b, n, |x: $u, y: $u| x | y),
                IBin::Xor => map2(r, d, a, b, n, |x: $u, y: $u| x ^ y),
                IBin::UMin => map2(r, d, a, b, n, |x: $u, y: $u| x.min(y)),
                IBin::SMin => map2(r, d, a, b, n, |x: $u, y: $u| (x as $s).min(y as $s) as $u),
                IBin::UMax => map2(r, d, a, b, n, |x: $u, y: $u| x.max(y)),
                IBin::SMax => map2(r, d, a, b, n, |x: $u, y: $u| (x as $s).max(y as $s) as $u),
            }
        }

        pub(super) fn $cmp(r: &mut [u32], op: ICmp, d: Slot, a: Slot, b: Slot, n: u16) {
            let f = |c: bool| u32::from(c);
            match op {
                ICmp::Eq => map2(r, d, a, b, n, |x: $u, y: $u| f(x == y)),
                ICmp::Ne => map2(r, d, a, b, n, |x: $u, y: $u| f(x != y)),
                ICmp::ULt => map2(r, d, a, b, n, |x: $u, y: $u| f(x < y)),
                ICmp::ULe => map2(r, d, a, b, n, |x: $u, y: $u| f(x <= y)),
                ICmp::UGt => map2(r, d, a, b, n, |x: $u, y: $u| f(x > y)),
                ICmp::UGe => map2(r, d, a, b, n, |x: $u, y: $u| f(x >= y)),
                ICmp::SLt => map2(r, d, a, b, n, |x: $u, y: $u| f((x as $s) < (y as $s))),
                ICmp::SLe => map2(r, d, a, b, n, |x: $u, y: $u| f((x as $s) <= (y as $s))),
                ICmp::SGt => map2(r, d, a, b, n, |x: $u, y: $u| f((x as $s) > (y as $s))),
                ICmp::SGe => map2(r, d, a, b, n, |x: $u, y: $u| f((x as $s) >= (y as $s))),
            }
        }

        pub(super) fn $un(r: &mut [u32], op: IUn, d: Slot, a: Slot, n: u16) {
            let msb = |x: $u| {
                if x == 0 {
                    <$u>::MAX
                } else {
                    ($bits - 1 - x.leading_zeros()) as $u
                }
            };
            match op {
                IUn::Not => map1(r, d, a, n, |x: $u| !x),
                IUn::Neg => map1(r, d, a, n, |x: $u| x.wrapping_neg()),
                IUn::BoolNot => map1(r, d, a, n, |x: $u| x ^ 1),
                IUn::SAbs => map1(r, d, a, n, |x: $u| (x as $s).wrapping_abs() as $u),
                IUn::SSign => map1(r, d, a, n, |x: $u| (x as $s).signum() as $u),
                IUn::BitReverse => map1(r, d, a, n, |x: $u| x.reverse_bits()),
                IUn::BitCount => map1(r, d, a, n, |x: $u| x.count_ones() as $u),
                IUn::FindILsb => map1(r, d, a, n, |x: $u| {
                    if x == 0 {
                        <$u>::MAX
                    } else {
                        x.trailing_zeros() as $u
                    }
                }),
                IUn::FindUMsb => map1(r, d, a, n, msb),
                IUn::FindSMsb => map1(r, d, a, n, |x: $u| msb(if (x as $s) < 0 { !x } else { x })),
            }
        }

        pub(super) fn $tern(r: &mut [u32], op: ITern, d: Slot, a: Slot, b: Slot, c: Slot, n: u16) {
            match op {
                ITern::UClamp => map3(r, d, a, b, c, n, |x: $u, lo: $u, hi: $u| x.max(lo).min(hi)),
                ITern::SClamp => map3(r, d, a, b, c, n, |x: $u, lo: $u, hi: $u| {
                    (x as $s).max(lo as $s).min(hi as $s) as $u
                }),
                ITern::BfSExtract | ITern::BfUExtract => {
                    // Offset and count are scalars, read once.
                    let (off, count) = (r[b as usize], r[c as usize]);
                    let signed = op == ITern::BfSExtract;
                    map1(r, d, a, n, |x: $u| $bfe(x, off, count, signed));
                }
            }
        }

        fn $bfe(x: $u, off: u32, count: u32, signed: bool) -> $u {
            if count == 0 || off >= $bits {
                return 0;
            }
            let count = count.min($bits - off);
            let field = (x >> off) & (<$u>::MAX >> ($bits - count));
            if signed && count < $bits && (field >> (count - 1)) & 1 == 1 {
                field | (<$u>::MAX << count)
            } else {
                field
            }
        }
    };
}

int_family!(u32, i32, 32, i32_bin, i32_cmp, i32_un, i32_tern, bfe32);
int_family!(u64, i64, 64, i64_bin, i64_cmp, i64_un, i64_tern, bfe64);

/// The float operations the families need, for f32 and f64.
pub(super) trait Float:
    Lane
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Rem<Output = Self>
    + std::ops::Neg<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    fn of(v: f64) -> Self;
    fn to64(self) -> f64;
    fn floor(self) -> Self;
    fn sqrt(self) -> Self;
    fn is_nan(self) -> bool;
    fn min(self, o: Self) -> Self;
    fn max(self, o: Self) -> Self;
    fn un(self, op: FUn) -> Self;
    fn pow(self, e: Self) -> Self;
    fn atan2(self, x: Self) -> Self;
    fn fma(self, b: Self, c: Self) -> Self;
}

macro_rules! float_impl {
    ($t:ty) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn of(v: f64) -> Self {
                v as $t
            }
            fn to64(self) -> f64 {
                self as f64
            }
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn min(self, o: Self) -> Self {
                <$t>::min(self, o)
            }
            fn max(self, o: Self) -> Self {
                <$t>::max(self, o)
            }
            fn pow(self, e: Self) -> Self {
                <$t>::powf(self, e)
            }
            fn atan2(self, x: Self) -> Self {
                <$t>::atan2(self, x)
            }
            fn fma(self, b: Self, c: Self) -> Self {
                <$t>::mul_add(self, b, c)
            }
            fn un(self, op: FUn) -> Self {
                let x = self;
                match op {
                    FUn::Neg => -x,
                    FUn::Abs => x.abs(),
                    FUn::Sign => {
                        if x > 0.0 {
                            1.0
                        } else if x < 0.0 {
                            -1.0
                        } else {
                            x * 0.0
                        }
                    }
                    FUn::Floor => x.floor(),
                    FUn::Ceil => x.ceil(),
                    FUn::Trunc => x.trunc(),
                    FUn::Round => x.round(),
                    FUn::RoundEven => x.round_ties_even(),
                    FUn::Fract => x - x.floor(),
                    FUn::Radians => x.to_radians(),
                    FUn::Degrees => x.to_degrees(),
                    FUn::Sin => x.sin(),
                    FUn::Cos => x.cos(),
                    FUn::Tan => x.tan(),
                    FUn::Asin => x.asin(),
                    FUn::Acos => x.acos(),
                    FUn::Atan => x.atan(),
                    FUn::Sinh => x.sinh(),
                    FUn::Cosh => x.cosh(),
                    FUn::Tanh => x.tanh(),
                    FUn::Asinh => x.asinh(),
                    FUn::Acosh => x.acosh(),
                    FUn::Atanh => x.atanh(),
                    FUn::Exp => x.exp(),
                    FUn::Log => x.ln(),
                    FUn::Exp2 => x.exp2(),
                    FUn::Log2 => x.log2(),
                    FUn::Sqrt => x.sqrt(),
                    FUn::InverseSqrt => 1.0 / x.sqrt(),
                    FUn::QuantizeF16 => {
                        let h = super::lanes::f32_to_f16(x as f32);
                        let q = super::lanes::f16_to_f32(h);
                        // Results too small for a normal half flush to zero.
                        (if h & 0x7c00 == 0 { q * 0.0 } else { q }) as $t
                    }
                }
            }
        }
    };
}

float_impl!(f32);
float_impl!(f64);

pub(super) fn fbin<T: Float>(r: &mut [u32], op: FBin, d: Slot, a: Slot, b: Slot, n: u16) {
    match op {
        FBin::Add => map2(r, d, a, b, n, |x: T, y: T| x + y),
        FBin::Sub => map2(r, d, a, b, n, |x: T, y: T| x - y),
        FBin::Mul => map2(r, d, a, b, n, |x: T, y: T| x * y),
        FBin::Div => map2(r, d, a, b, n, |x: T, y: T| x / y),
        FBin::Rem => map2(r, d, a, b, n, |x: T, y: T| x % y),
        FBin::Mod => map2(r, d, a, b, n, |x: T, y: T| x - y * (x / y).floor()),
        FBin::Min | FBin::NMin => map2(r, d, a, b, n, |x: T, y: T| x.min(y)),
        FBin::Max | FBin::NMax => map2(r, d, a, b, n, |x: T, y: T| x.max(y)),
        FBin::Pow => map2(r, d, a, b, n, |x: T, y: T| x.pow(y)),
        FBin::Atan2 => map2(r, d, a, b, n, |y: T, x: T| y.atan2(x)),
        FBin::Step => map2(
            r,
            d,
            a,
            b,
            n,
            |edge: T, x: T| if x < edge { T::ZERO } else { T::ONE },
        ),
    }
}

pub(super) fn fcmp<T: Float>(r: &mut [u32], op: FCmp, d: Slot, a: Slot, b: Slot, n: u16) {
    let f = |c: bool| u32::from(c);
    let un = |x: T, y: T| x.is_nan() || y.is_nan();
    match op {
        FCmp::OrdEq => map2(r, d, a, b, n, |x: T, y: T| f(x == y)),
        FCmp::OrdNe => map2(r, d, a, b, n, |x: T, y: T| f(!un(x, y) && x != y)),
        FCmp::OrdLt => map2(r, d, a, b, n, |x: T, y: T| f(x < y)),
        FCmp::OrdLe => map2(r, d, a, b, n, |x: T, y: T| f(x <= y)),
        FCmp::OrdGt => map2(r, d, a, b, n, |x: T, y: T| f(x > y)),
        FCmp::OrdGe => map2(r, d, a, b, n, |x: T, y: T| f(x >= y)),
        FCmp::UnordEq => map2(r, d, a, b, n, |x: T, y: T| f(un(x, y) || x == y)),
        FCmp::UnordNe => map2(r, d, a, b, n, |x: T, y: T| f(x != y)),
        FCmp::UnordLt => map2(r, d, a, b, n, |x: T, y: T| f(un(x, y) || x < y)),
        FCmp::UnordLe => map2(r, d, a, b, n, |x: T, y: T| f(un(x, y) || x <= y)),
        FCmp::UnordGt => map2(r, d, a, b, n, |x: T, y: T| f(un(x, y) || x > y)),
        FCmp::UnordGe => map2(r, d, a, b, n, |x: T, y: T| f(un(x, y) || x >= y)),
    }
}

pub(super) fn fun<T: Float>(r: &mut [u32], op: FUn, d: Slot, a: Slot, n: u16) {
    match op {
        FUn::Neg => map1(r, d, a, n, |x: T| -x),
        FUn::Floor => map1(r, d, a, n, |x: T| x.floor()),
        _ => map1(r, d, a, n, |x: T| x.un(op)),
    }
}

pub(super) fn ftern<T: Float>(
    r: &mut [u32],
    op: FTern,
    d: Slot,
    a: Slot,
    b: Slot,
    c: Slot,
    n: u16,
) {
    match op {
        FTern::Clamp | FTern::NClamp => {
            map3(r, d, a, b, c, n, |x: T, lo: T, hi: T| x.max(lo).min(hi))
        }
        FTern::Mix => map3(r, d, a, b, c, n, |x: T, y: T, t: T| {
            x * (T::ONE - t) + y * t
        }),
        FTern::SmoothStep => map3(r, d, a, b, c, n, |e0: T, e1: T, x: T| {
            let t = ((x - e0) / (e1 - e0)).max(T::ZERO).min(T::ONE);
            t * t * (T::of(3.0) - T::of(2.0) * t)
        }),
        FTern::Fma => map3(r, d, a, b, c, n, |x: T, y: T, z: T| x.fma(y, z)),
    }
}

/// A lane value between reading and writing a conversion.
#[derive(Clone, Copy)]
enum Val {
    Int(i128),
    Float(f64),
}

fn read_num(r: &[u32], at: usize, k: Num) -> Val {
    let w = r[at];
    match k {
        Num::U8 => Val::Int(i128::from(w as u8)),
        Num::U16 => Val::Int(i128::from(w as u16)),
        Num::U32 => Val::Int(i128::from(w)),
        Num::U64 => Val::Int(i128::from(u64::get(r, at))),
        Num::S8 => Val::Int(i128::from(w as u8 as i8)),
        Num::S16 => Val::Int(i128::from(w as u16 as i16)),
        Num::S32 => Val::Int(i128::from(w as i32)),
        Num::S64 => Val::Int(i128::from(u64::get(r, at) as i64)),
        Num::F32 => Val::Float(f64::from(f32::from_bits(w))),
        Num::F64 => Val::Float(f64::get(r, at)),
    }
}

fn write_num(r: &mut [u32], at: usize, k: Num, v: Val) {
    // Float to integer saturates (Rust `as`); out-of-range values are
    // undefined in SPIR-V. Integer to integer wraps to the width.
    let int = |bits: u32, signed: bool| -> u64 {
        match v {
            Val::Int(i) => i as u64,
            Val::Float(f) => match (bits, signed) {
                (64, true) => f as i64 as u64,
                (64, false) => f as u64,
                (b, true) => (f as i64).clamp(-(1i64 << (b - 1)), (1i64 << (b - 1)) - 1) as u64,
                (b, false) => (f as u64).min((1u64 << b) - 1),
            },
        }
    };
    match k {
        Num::U8 | Num::S8 => r[at] = int(8, k == Num::S8) as u32 & 0xff,
        Num::U16 | Num::S16 => r[at] = int(16, k == Num::S16) as u32 & 0xffff,
        Num::U32 | Num::S32 => r[at] = int(32, k == Num::S32) as u32,
        Num::U64 | Num::S64 => int(64, k == Num::S64).put(r, at),
        Num::F32 => {
            let f = match v {
                Val::Int(i) => i as f32,
                Val::Float(f) => f as f32,
            };
            f.put(r, at)
        }
        Num::F64 => {
            let f = match v {
                Val::Int(i) => i as f64,
                Val::Float(f) => f,
            };
            f.put(r, at)
        }
    }
}

fn num_words(k: Num) -> usize {
    match k {
        Num::U64 | Num::S64 | Num::F64 => 2,
        _ => 1,
    }
}

pub(super) fn convert(r: &mut [u32], from: Num, to: Num, d: Slot, a: Slot, n: u16) {
    let (fw, tw) = (num_words(from), num_words(to));
    for i in 0..n as usize {
        let v = read_num(r, a as usize + i * fw, from);
        write_num(r, d as usize + i * tw, to, v);
    }
}

pub(super) fn narrow(r: &mut [u32], signed: bool, bits: u8, d: Slot, a: Slot, n: u16) {
    let shift = 32 - u32::from(bits.clamp(1, 32));
    if signed {
        map1(r, d, a, n, |x: u32| ((x << shift) as i32 >> shift) as u32)
    } else {
        map1(r, d, a, n, |x: u32| (x << shift) >> shift)
    }
}

/// Bitcast between lane widths: the lanes' bytes, little endian, re-split.
pub(super) fn repack(r: &mut [u32], from_bits: u8, to_bits: u8, d: Slot, a: Slot, n_in: u16) {
    let mut bytes = [0u8; 16 * 8];
    let fb = usize::from(from_bits / 8).clamp(1, 8);
    let tb = usize::from(to_bits / 8).clamp(1, 8);
    let total = (fb * usize::from(n_in)).min(bytes.len());
    let fw = fb.div_ceil(4);
    for i in 0..total / fb {
        let v = if fw == 2 {
            u64::get(r, a as usize + 2 * i)
        } else {
            u64::from(r[a as usize + i])
        };
        bytes[i * fb..(i + 1) * fb].copy_from_slice(&v.to_le_bytes()[..fb]);
    }
    let tw = tb.div_ceil(4);
    for j in 0..total / tb {
        let mut v = [0u8; 8];
        v[..tb].copy_from_slice(&bytes[j * tb..(j + 1) * tb]);
        let v = u64::from_le_bytes(v);
        if tw == 2 {
            v.put(r, d as usize + 2 * j);
        } else {
            r[d as usize + j] = v as u32;
        }
    }
}

pub(super) fn select(r: &mut [u32], d: Slot, c: Slot, a: Slot, b: Slot, n: u32, lane_words: u8) {
    let (d, c, a, b, n) = (d as usize, c as usize, a as usize, b as usize, n as usize);
    if lane_words == 0 {
        let s = if r[c] != 0 { a } else { b };
        r.copy_within(s..s + n, d);
    } else {
        let lw = usize::from(lane_words);
        for i in 0..n / lw {
            let s = if r[c + i] != 0 { a } else { b } + i * lw;
            r.copy_within(s..s + lw, d + i * lw);
        }
    }
}

pub(super) fn extract_dyn(
    r: &mut [u32],
    d: Slot,
    v: Slot,
    idx: Slot,
    idx64: bool,
    lane_words: u8,
    count: u16,
) {
    let i = if idx64 {
        u64::get(r, idx as usize)
    } else {
        u64::from(r[idx as usize])
    };
    let lw = usize::from(lane_words);
    let d = d as usize;
    if i < u64::from(count) {
        let s = v as usize + i as usize * lw;
        r.copy_within(s..s + lw, d);
    } else {
        r[d..d + lw].fill(0);
    }
}

pub(super) fn insert_dyn(
    r: &mut [u32],
    d: Slot,
    v: Slot,
    val: Slot,
    idx: Slot,
    lane_words: u8,
    count: u16,
) {
    let lw = usize::from(lane_words);
    let (d, v) = (d as usize, v as usize);
    r.copy_within(v..v + lw * usize::from(count), d);
    let i = r[idx as usize] as usize;
    if i < usize::from(count) {
        let s = val as usize;
        r.copy_within(s..s + lw, d + i * lw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_i32(op: IBin, a: u32, b: u32) -> u32 {
        let mut r = [a, b, 0];
        i32_bin(&mut r, op, 2, 0, 1, 1);
        r[2]
    }

    #[test]
    fn signed_modulo_takes_the_divisor_sign_and_never_panics() {
        assert_eq!(run_i32(IBin::SMod, (-7i32) as u32, 3) as i32, 2);
        assert_eq!(run_i32(IBin::SMod, 7, (-3i32) as u32) as i32, -2);
        assert_eq!(run_i32(IBin::SRem, (-7i32) as u32, 3) as i32, -1);
        assert_eq!(run_i32(IBin::SMod, i32::MIN as u32, u32::MAX), 0);
        assert_eq!(
            run_i32(IBin::SDiv, i32::MIN as u32, u32::MAX),
            i32::MIN as u32
        );
        for op in [IBin::UDiv, IBin::SDiv, IBin::UMod, IBin::SRem, IBin::SMod] {
            assert_eq!(run_i32(op, 5, 0), 0, "{op:?} by zero");
        }
        assert_eq!(
            run_i32(IBin::Shl, 1, 33),
            2,
            "shift counts wrap at the width"
        );
    }

    #[test]
    fn bit_field_extract_edges() {
        assert_eq!(bfe32(0xf0, 4, 4, false), 0xf);
        assert_eq!(bfe32(0xf0, 4, 4, true), u32::MAX);
        assert_eq!(bfe32(0xdead_beef, 0, 32, true), 0xdead_beef);
        assert_eq!(bfe32(0xdead_beef, 40, 3, false), 0);
        assert_eq!(
            bfe32(0xdead_beef, 28, 10, false),
            0xd,
            "count clipped at the top bit"
        );
        assert_eq!(bfe64(u64::MAX, 63, 1, true), u64::MAX);
    }

    #[test]
    fn float_to_int_conversions_saturate() {
        let mut r = [
            f32::NAN.to_bits(),
            1e20f32.to_bits(),
            (-5.0f32).to_bits(),
            0,
            0,
            0,
        ];
        convert(&mut r, Num::F32, Num::U32, 3, 0, 3);
        assert_eq!(&r[3..], &[0, u32::MAX, 0]);
        let mut r = [(-300.0f32).to_bits(), 0];
        convert(&mut r, Num::F32, Num::S8, 1, 0, 1);
        assert_eq!(r[1], 0x80, "i8 minimum, zero-extended in its word");
    }

    #[test]
    fn repack_splits_and_joins_lanes() {
        let mut r = [0x1234, 0xabcd, 0];
        repack(&mut r, 16, 32, 2, 0, 2);
        assert_eq!(r[2], 0xabcd_1234);
        let mut r = [0x1122_3344, 0, 0, 0, 0];
        repack(&mut r, 32, 8, 1, 0, 1);
        assert_eq!(&r[1..], &[0x44, 0x33, 0x22, 0x11]);
    }
}
