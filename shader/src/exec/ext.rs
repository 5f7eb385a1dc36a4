//! The operations with their own operand shapes: GLSL.std.450 geometry,
//! packing, frexp/ldexp/modf, determinant and inverse, carries and
//! extended multiplies, bit-field insert, vector reductions, ballots, and
//! the matrix products.

use super::arith::Float;
use super::lanes::{f16_to_f32, f32_to_f16, Lane};
use crate::ir::{ExtOp, MatOp, Slot};

// The instruction's operands, unpacked.
#[allow(clippy::too_many_arguments)]
pub(super) fn ext(
    r: &mut [u32],
    op: ExtOp,
    wide: bool,
    d: Slot,
    a: Slot,
    b: Slot,
    c: Slot,
    n: u16,
) {
    match op {
        ExtOp::PackSnorm4x8
        | ExtOp::PackUnorm4x8
        | ExtOp::PackSnorm2x16
        | ExtOp::PackUnorm2x16
        | ExtOp::PackHalf2x16
        | ExtOp::UnpackSnorm2x16
        | ExtOp::UnpackUnorm2x16
        | ExtOp::UnpackHalf2x16
        | ExtOp::UnpackSnorm4x8
        | ExtOp::UnpackUnorm4x8 => pack(r, op, d, a),
        ExtOp::IsNan | ExtOp::IsInf => {
            for i in 0..usize::from(n) {
                let (nan, inf) = if wide {
                    let x = f64::get(r, a as usize + 2 * i);
                    (x.is_nan(), x.is_infinite())
                } else {
                    let x = f32::get(r, a as usize + i);
                    (x.is_nan(), x.is_infinite())
                };
                r[d as usize + i] = u32::from(if op == ExtOp::IsNan { nan } else { inf });
            }
        }
        ExtOp::Any | ExtOp::All => {
            let lanes = &r[a as usize..a as usize + usize::from(n)];
            let v = if op == ExtOp::Any {
                lanes.iter().any(|&x| x != 0)
            } else {
                lanes.iter().all(|&x| x != 0)
            };
            r[d as usize] = u32::from(v);
        }
        ExtOp::AddCarry | ExtOp::SubBorrow | ExtOp::UMulExtended | ExtOp::SMulExtended => {
            if wide {
                carries64(r, op, d, a, b, n)
            } else {
                carries32(r, op, d, a, b, n)
            }
        }
        ExtOp::BfInsert => {
            let (off, count) = (r[c as usize], r[c as usize + 1]);
            let bits = if wide { 64 } else { 32 };
            let mask: u64 = if count == 0 || off >= bits {
                0
            } else {
                let count = count.min(bits - off);
                (u64::MAX >> (64 - count)) << off
            };
            for i in 0..usize::from(n) {
                if wide {
                    let (x, y) = (
                        u64::get(r, a as usize + 2 * i),
                        u64::get(r, b as usize + 2 * i),
                    );
                    ((x & !mask) | (y.wrapping_shl(off) & mask)).put(r, d as usize + 2 * i);
                } else {
                    let (x, y) = (u64::from(r[a as usize + i]), u64::from(r[b as usize + i]));
                    r[d as usize + i] = ((x & !mask) | (y.wrapping_shl(off) & mask)) as u32;
                }
            }
        }
        ExtOp::Ballot => {
            let bit = u32::from(r[a as usize] != 0);
            r[d as usize..d as usize + 4].copy_from_slice(&[bit, 0, 0, 0]);
        }
        ExtOp::BallotBitExtract => {
            let idx = r[b as usize];
            let v = if idx < 128 {
                (r[a as usize + (idx / 32) as usize] >> (idx % 32)) & 1
            } else {
                0
            };
            r[d as usize] = v;
        }
        // Only bit 0 lies inside a subgroup of one.
        ExtOp::BallotBitCount => r[d as usize] = if n == 0 { r[a as usize] & 1 } else { 0 },
        ExtOp::BallotFindLsb | ExtOp::BallotFindMsb => {
            r[d as usize] = if r[a as usize] & 1 == 1 { 0 } else { u32::MAX };
        }
        _ => {
            if wide {
                float_ext::<f64>(r, op, d, a, b, c, usize::from(n))
            } else {
                float_ext::<f32>(r, op, d, a, b, c, usize::from(n))
            }
        }
    }
}

fn carries32(r: &mut [u32], op: ExtOp, d: Slot, a: Slot, b: Slot, n: u16) {
    let n = usize::from(n);
    for i in 0..n {
        let (x, y) = (r[a as usize + i], r[b as usize + i]);
        let (lo, hi) = match op {
            ExtOp::AddCarry => {
                let (s, c) = x.overflowing_add(y);
                (s, u32::from(c))
            }
            ExtOp::SubBorrow => {
                let (s, c) = x.overflowing_sub(y);
                (s, u32::from(c))
            }
            ExtOp::UMulExtended => {
                let p = u64::from(x) * u64::from(y);
                (p as u32, (p >> 32) as u32)
            }
            _ => {
                let p = i64::from(x as i32) * i64::from(y as i32);
                (p as u32, (p >> 32) as u32)
            }
        };
        r[d as usize + i] = lo;
        r[d as usize + n + i] = hi;
    }
}

fn carries64(r: &mut [u32], op: ExtOp, d: Slot, a: Slot, b: Slot, n: u16) {
    let n = usize::from(n);
    for i in 0..n {
        let (x, y) = (
            u64::get(r, a as usize + 2 * i),
            u64::get(r, b as usize + 2 * i),
        );
        let (lo, hi) = match op {
            ExtOp::AddCarry => {
                let (s, c) = x.overflowing_add(y);
                (s, u64::from(c))
            }
            ExtOp::SubBorrow => {
                let (s, c) = x.overflowing_sub(y);
                (s, u64::from(c))
            }
            ExtOp::UMulExtended => {
                let p = u128::from(x) * u128::from(y);
                (p as u64, (p >> 64) as u64)
            }
            _ => {
                let p = i128::from(x as i64) * i128::from(y as i64);
                (p as u64, (p >> 64) as u64)
            }
        };
        lo.put(r, d as usize + 2 * i);
        hi.put(r, d as usize + 2 * (n + i));
    }
}

fn pack(r: &mut [u32], op: ExtOp, d: Slot, a: Slot) {
    let (d, a) = (d as usize, a as usize);
    let lane = |r: &[u32], i: usize| f32::from_bits(r[a + i]);
    let unorm = |x: f32, max: f32| (x.clamp(0.0, 1.0) * max).round_ties_even() as u32;
    let snorm = |x: f32, max: f32| (x.clamp(-1.0, 1.0) * max).round_ties_even() as i32;
    match op {
        ExtOp::PackUnorm4x8 => r[d] = (0..4).map(|i| unorm(lane(r, i), 255.0) << (8 * i)).sum(),
        ExtOp::PackSnorm4x8 => {
            r[d] = (0..4)
                .map(|i| (snorm(lane(r, i), 127.0) as u32 & 0xff) << (8 * i))
                .sum()
        }
        ExtOp::PackUnorm2x16 => r[d] = (0..2).map(|i| unorm(lane(r, i), 65535.0) << (16 * i)).sum(),
        ExtOp::PackSnorm2x16 => {
            r[d] = (0..2)
                .map(|i| (snorm(lane(r, i), 32767.0) as u32 & 0xffff) << (16 * i))
                .sum()
        }
        ExtOp::PackHalf2x16 => {
            r[d] = u32::from(f32_to_f16(lane(r, 0))) | u32::from(f32_to_f16(lane(r, 1))) << 16
        }
        ExtOp::UnpackUnorm4x8 => {
            let w = r[a];
            for i in 0..4 {
                r[d + i] = (((w >> (8 * i)) & 0xff) as f32 / 255.0).to_bits();
            }
        }
        ExtOp::UnpackSnorm4x8 => {
            let w = r[a];
            for i in 0..4 {
                r[d + i] = ((((w >> (8 * i)) & 0xff) as u8 as i8) as f32 / 127.0)
                    .clamp(-1.0, 1.0)
                    .to_bits();
            }
        }
        ExtOp::UnpackUnorm2x16 => {
            let w = r[a];
            for i in 0..2 {
                r[d + i] = (((w >> (16 * i)) & 0xffff) as f32 / 65535.0).to_bits();
            }
        }
        ExtOp::UnpackSnorm2x16 => {
            let w = r[a];
            for i in 0..2 {
                r[d + i] = ((((w >> (16 * i)) & 0xffff) as u16 as i16) as f32 / 32767.0)
                    .clamp(-1.0, 1.0)
                    .to_bits();
            }
        }
        ExtOp::UnpackHalf2x16 => {
            let w = r[a];
            r[d] = f16_to_f32(w as u16).to_bits();
            r[d + 1] = f16_to_f32((w >> 16) as u16).to_bits();
        }
        _ => {}
    }
}

fn dot<T: Float>(r: &[u32], a: usize, b: usize, n: usize) -> T {
    let w = T::WORDS;
    (0..n).fold(T::ZERO, |acc, i| {
        acc + T::get(r, a + i * w) * T::get(r, b + i * w)
    })
}

/// x * 2^e without overflowing the intermediate power.
fn ldexp(x: f64, e: i32) -> f64 {
    let mut e = e.clamp(-2200, 2200);
    let mut x = x;
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e)
}

/// (mantissa in [0.5, 1), exponent) with x = mantissa * 2^exponent.
fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (x, bias) = if x.abs() < f64::MIN_POSITIVE {
        (x * 2f64.powi(64), -64)
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let mantissa = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (mantissa, exp - 1022 + bias)
}

fn float_ext<T: Float>(r: &mut [u32], op: ExtOp, d: Slot, a: Slot, b: Slot, c: Slot, n: usize) {
    let w = T::WORDS;
    let (d, a, b, c) = (d as usize, a as usize, b as usize, c as usize);
    let get = |r: &[u32], base: usize, i: usize| T::get(r, base + i * w);
    match op {
        ExtOp::Dot => dot::<T>(r, a, b, n).put(r, d),
        ExtOp::Length => dot::<T>(r, a, a, n).sqrt().put(r, d),
        ExtOp::Distance => {
            let s = (0..n).fold(T::ZERO, |acc, i| {
                let v = get(r, a, i) - get(r, b, i);
                acc + v * v
            });
            s.sqrt().put(r, d)
        }
        ExtOp::Normalize => {
            let len = dot::<T>(r, a, a, n).sqrt();
            for i in 0..n {
                (get(r, a, i) / len).put(r, d + i * w);
            }
        }
        ExtOp::Cross => {
            let x: [T; 3] = std::array::from_fn(|i| get(r, a, i));
            let y: [T; 3] = std::array::from_fn(|i| get(r, b, i));
            let v = [
                x[1] * y[2] - y[1] * x[2],
                x[2] * y[0] - y[2] * x[0],
                x[0] * y[1] - y[0] * x[1],
            ];
            for (i, v) in v.into_iter().enumerate() {
                v.put(r, d + i * w);
            }
        }
        ExtOp::FaceForward => {
            // a = N, b = I, c = Nref.
            let flip = dot::<T>(r, c, b, n) < T::ZERO;
            for i in 0..n {
                let v = get(r, a, i);
                (if flip { v } else { -v }).put(r, d + i * w);
            }
        }
        ExtOp::Reflect => {
            // a = I, b = N.
            let k = T::of(2.0) * dot::<T>(r, b, a, n);
            for i in 0..n {
                (get(r, a, i) - k * get(r, b, i)).put(r, d + i * w);
            }
        }
        ExtOp::Refract => {
            let eta = T::get(r, c);
            let ni = dot::<T>(r, b, a, n);
            let k = T::ONE - eta * eta * (T::ONE - ni * ni);
            for i in 0..n {
                let v = if k < T::ZERO {
                    T::ZERO
                } else {
                    eta * get(r, a, i) - (eta * ni + k.sqrt()) * get(r, b, i)
                };
                v.put(r, d + i * w);
            }
        }
        ExtOp::Ldexp => {
            for i in 0..n {
                let e = r[b + i] as i32;
                T::of(ldexp(get(r, a, i).to64(), e)).put(r, d + i * w);
            }
        }
        ExtOp::Frexp => {
            for i in 0..n {
                let (m, e) = frexp(get(r, a, i).to64());
                T::of(m).put(r, d + i * w);
                r[b + i] = e as u32;
            }
        }
        ExtOp::Modf => {
            for i in 0..n {
                let x = get(r, a, i).to64();
                let whole = x.trunc();
                let fract = if x.is_infinite() { 0.0 } else { x - whole };
                T::of(fract).put(r, d + i * w);
                T::of(whole).put(r, b + i * w);
            }
        }
        ExtOp::Determinant => {
            let m = read_matrix::<T>(r, a, n);
            T::of(determinant(&m, n)).put(r, d);
        }
        ExtOp::MatrixInverse => {
            let m = read_matrix::<T>(r, a, n);
            let inv = inverse(&m, n);
            for (i, v) in inv.iter().take(n * n).enumerate() {
                T::of(*v).put(r, d + i * w);
            }
        }
        _ => {}
    }
}

/// A column-major n x n matrix as f64, row r column c at [c * n + r].
fn read_matrix<T: Float>(r: &[u32], a: usize, n: usize) -> [f64; 16] {
    let mut m = [0.0; 16];
    for (i, v) in m.iter_mut().enumerate().take(n * n) {
        *v = T::get(r, a + i * T::WORDS).to64();
    }
    m
}

fn determinant(m: &[f64; 16], n: usize) -> f64 {
    let at = |r: usize, c: usize| m[c * n + r];
    match n {
        2 => at(0, 0) * at(1, 1) - at(0, 1) * at(1, 0),
        3 => {
            at(0, 0) * (at(1, 1) * at(2, 2) - at(1, 2) * at(2, 1))
                - at(0, 1) * (at(1, 0) * at(2, 2) - at(1, 2) * at(2, 0))
                + at(0, 2) * (at(1, 0) * at(2, 1) - at(1, 1) * at(2, 0))
        }
        _ => {
            // Laplace expansion along the first row.
            let mut det = 0.0;
            for col in 0..4 {
                let mut minor = [0.0; 16];
                for c in 0..3 {
                    for r in 0..3 {
                        let src_c = if c < col { c } else { c + 1 };
                        minor[c * 3 + r] = at(r + 1, src_c);
                    }
                }
                let sign = if col % 2 == 0 { 1.0 } else { -1.0 };
                det += sign * at(0, col) * determinant(&minor, 3);
            }
            det
        }
    }
}

/// Inverse by Gauss-Jordan elimination with partial pivoting; singular
/// matrices give infinities or NaNs, as the division would.
fn inverse(m: &[f64; 16], n: usize) -> [f64; 16] {
    let mut a = [[0.0f64; 8]; 4];
    for (r, row) in a.iter_mut().enumerate().take(n) {
        for c in 0..n {
            row[c] = m[c * n + r];
        }
        row[n + r] = 1.0;
    }
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        let p = a[col][col];
        for v in a[col].iter_mut().take(2 * n) {
            *v /= p;
        }
        let pivot_row = a[col];
        for (r, row) in a.iter_mut().enumerate().take(n) {
            if r != col {
                let f = row[col];
                for (v, p) in row.iter_mut().zip(pivot_row.iter()).take(2 * n) {
                    *v -= f * p;
                }
            }
        }
    }
    let mut out = [0.0; 16];
    for c in 0..n {
        for r in 0..n {
            out[c * n + r] = a[r][n + c];
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
pub(super) fn mat(
    r: &mut [u32],
    op: MatOp,
    wide: bool,
    d: Slot,
    a: Slot,
    b: Slot,
    rows: u8,
    cols: u8,
    inner: u8,
) {
    if wide {
        mat_t::<f64>(r, op, d, a, b, rows.into(), cols.into(), inner.into())
    } else {
        mat_t::<f32>(r, op, d, a, b, rows.into(), cols.into(), inner.into())
    }
}

#[allow(clippy::too_many_arguments)]
fn mat_t<T: Float>(
    r: &mut [u32],
    op: MatOp,
    d: Slot,
    a: Slot,
    b: Slot,
    rows: usize,
    cols: usize,
    inner: usize,
) {
    let w = T::WORDS;
    let (d, a, b) = (d as usize, a as usize, b as usize);
    let at = |r: &[u32], base: usize, i: usize| T::get(r, base + i * w);
    match op {
        MatOp::Scale => {
            let s = T::get(r, b);
            for i in 0..rows * cols {
                (at(r, a, i) * s).put(r, d + i * w);
            }
        }
        MatOp::MatVec => {
            for row in 0..rows {
                let v = (0..cols).fold(T::ZERO, |acc, c| {
                    acc + at(r, a, c * rows + row) * at(r, b, c)
                });
                v.put(r, d + row * w);
            }
        }
        MatOp::VecMat => {
            for c in 0..cols {
                let v = (0..rows).fold(T::ZERO, |acc, row| {
                    acc + at(r, a, row) * at(r, b, c * rows + row)
                });
                v.put(r, d + c * w);
            }
        }
        MatOp::MatMat => {
            for c in 0..cols {
                for row in 0..rows {
                    let v = (0..inner).fold(T::ZERO, |acc, k| {
                        acc + at(r, a, k * rows + row) * at(r, b, c * inner + k)
                    });
                    v.put(r, d + (c * rows + row) * w);
                }
            }
        }
        MatOp::Outer => {
            for c in 0..cols {
                for row in 0..rows {
                    (at(r, a, row) * at(r, b, c)).put(r, d + (c * rows + row) * w);
                }
            }
        }
        MatOp::Transpose => {
            // Source rows x cols; result cols x rows.
            for c in 0..cols {
                for row in 0..rows {
                    at(r, a, c * rows + row).put(r, d + (row * cols + c) * w);
                }
            }
        }
    }
}
