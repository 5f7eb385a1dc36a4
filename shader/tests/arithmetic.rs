//! Arithmetic, comparisons, bit operations and conversions, checked lane by
//! lane against Rust over edge values and a few thousand pseudo-random
//! inputs, at -O0 (glslang's output) and after spirv-opt -O.
// The references write clamp as max-then-min on purpose: that is what the
// core computes, and it treats NaN differently from f32::clamp.
#![allow(clippy::manual_clamp)]

mod support;
use panthor_shader::Program;
use support::*;

/// Deterministic xorshift inputs, led by the edge cases.
fn inputs(n: usize, seed: u64) -> Vec<u32> {
    let edges = [
        0u32,
        1,
        2,
        3,
        7,
        31,
        32,
        33,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0xffff_fffe,
        0x1234_5678,
        100,
        0x8000_0001,
    ];
    let mut s = seed | 1;
    let mut out: Vec<u32> = Vec::with_capacity(n);
    for i in 0..n {
        if i < edges.len() * edges.len() * 2 && i % 2 == 0 {
            out.push(edges[(i / 2) % edges.len()]);
            continue;
        }
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        out.push(if i % 2 == 1 && i < edges.len() * edges.len() * 2 {
            edges[(i / 2 / edges.len()) % edges.len()]
        } else {
            s as u32
        });
    }
    out
}

/// Runs `p` with `input` at binding 0 and returns `n * per` output words.
fn run(p: &Program, input: &[u32], n: usize, per: usize) -> Vec<u32> {
    let mut env = HostEnv::new();
    env.bind_buffer(0, 0, input);
    let out = env.bind_buffer(0, 1, &vec![0xcdcd_cdcd; n * per]);
    let local = p.info().workgroup_size[0] as usize;
    dispatch(p, &mut env, [(n / local) as u32, 1, 1]).expect("run");
    env.read_words(out, n * per)
}

fn both(src: &str) -> [Program; 2] {
    [
        program(src),
        program_words(compile_optimized(src)).expect("optimized decode"),
    ]
}

const INT32: &str = r#"
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer In { ivec2 v[]; };
layout(set = 0, binding = 1) buffer Out { int r[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    int a = v[i].x, b = v[i].y;
    uint ua = uint(a), ub = uint(b);
    uint o = i * 32u;
    r[o + 0] = a + b;
    r[o + 1] = a - b;
    r[o + 2] = a * b;
    r[o + 3] = (b != 0 && !(a == int(0x80000000) && b == -1)) ? a / b : 7;
    r[o + 4] = (b != 0 && !(a == int(0x80000000) && b == -1)) ? a % b : 7;
    r[o + 5] = int(ua / (ub | 1u));
    r[o + 6] = int(ua % (ub | 1u));
    r[o + 7] = a << (b & 31);
    r[o + 8] = a >> (b & 31);
    r[o + 9] = int(ua >> (ub & 31u));
    r[o + 10] = a & b;
    r[o + 11] = a | b;
    r[o + 12] = a ^ b;
    r[o + 13] = ~a;
    r[o + 14] = -a;
    r[o + 15] = min(a, b);
    r[o + 16] = max(a, b);
    r[o + 17] = int(min(ua, ub));
    r[o + 18] = int(max(ua, ub));
    r[o + 19] = clamp(a, -1000, 1000);
    r[o + 20] = int(clamp(ua, 10u, 100000u));
    r[o + 21] = abs(a);
    r[o + 22] = sign(a);
    r[o + 23] = int(a < b) | int(ua < ub) << 1 | int(a <= b) << 2 | int(a >= b) << 3
              | int(ua > ub) << 4 | int(a == b) << 5 | int(a != b) << 6 | int(ua >= ub) << 7 | int(a > b) << 8;
    r[o + 24] = bitfieldExtract(a, b & 15, 9);
    r[o + 25] = int(bitfieldExtract(ua, 3, b & 31));
    r[o + 26] = bitfieldInsert(a, b, 5, 9);
    r[o + 27] = bitfieldReverse(a);
    r[o + 28] = bitCount(a) | findLSB(a) << 8 | (findMSB(a) & 255) << 16 | (findMSB(ua) & 255) << 24;
    uint carry, borrow, hi, lo;
    uint s = uaddCarry(ua, ub, carry);
    uint d = usubBorrow(ua, ub, borrow);
    r[o + 29] = int(s ^ (carry << 31) ^ d ^ (borrow << 30));
    umulExtended(ua, ub, hi, lo);
    r[o + 30] = int(hi ^ lo);
    int shi, slo;
    imulExtended(a, b, shi, slo);
    r[o + 31] = shi;
}
"#;

fn bfe(x: u32, off: u32, count: u32, signed: bool) -> u32 {
    if count == 0 {
        return 0;
    }
    let field = (x >> off) & (u32::MAX >> (32 - count));
    if signed && count < 32 && field >> (count - 1) & 1 == 1 {
        field | u32::MAX << count
    } else {
        field
    }
}

fn msb(x: u32) -> i32 {
    if x == 0 {
        -1
    } else {
        31 - x.leading_zeros() as i32
    }
}

fn int32_expect(a: i32, b: i32) -> [i32; 32] {
    let (ua, ub) = (a as u32, b as u32);
    let ok = b != 0 && !(a == i32::MIN && b == -1);
    let smod = |a: i32, b: i32| {
        let m = a.wrapping_rem(b);
        if m != 0 && (m < 0) != (b < 0) {
            m + b
        } else {
            m
        }
    };
    let cmp = (a < b) as i32
        | ((ua < ub) as i32) << 1
        | ((a <= b) as i32) << 2
        | ((a >= b) as i32) << 3
        | ((ua > ub) as i32) << 4
        | ((a == b) as i32) << 5
        | ((a != b) as i32) << 6
        | ((ua >= ub) as i32) << 7
        | ((a > b) as i32) << 8;
    let lsb = if a == 0 {
        -1
    } else {
        a.trailing_zeros() as i32
    };
    let smsb = msb(if a < 0 { !ua } else { ua });
    let (s, carry) = ua.overflowing_add(ub);
    let (d, borrow) = ua.overflowing_sub(ub);
    let prod = u64::from(ua) * u64::from(ub);
    let sprod = i64::from(a) * i64::from(b);
    let mask = ((1u32 << 9) - 1) << 5;
    [
        a.wrapping_add(b),
        a.wrapping_sub(b),
        a.wrapping_mul(b),
        if ok { a / b } else { 7 },
        if ok { smod(a, b) } else { 7 },
        (ua / (ub | 1)) as i32,
        (ua % (ub | 1)) as i32,
        a.wrapping_shl((b & 31) as u32),
        a >> (b & 31),
        (ua >> (ub & 31)) as i32,
        a & b,
        a | b,
        a ^ b,
        !a,
        a.wrapping_neg(),
        a.min(b),
        a.max(b),
        ua.min(ub) as i32,
        ua.max(ub) as i32,
        a.clamp(-1000, 1000),
        ua.clamp(10, 100000) as i32,
        a.wrapping_abs(),
        a.signum(),
        cmp,
        bfe(ua, (b & 15) as u32, 9, true) as i32,
        bfe(ua, 3, (b & 31) as u32, false) as i32,
        ((ua & !mask) | ((ub << 5) & mask)) as i32,
        a.reverse_bits(),
        a.count_ones() as i32 | lsb << 8 | (smsb & 255) << 16 | (msb(ua) & 255) << 24,
        (s ^ (u32::from(carry) << 31) ^ d ^ (u32::from(borrow) << 30)) as i32,
        ((prod >> 32) as u32 ^ prod as u32) as i32,
        (sprod >> 32) as i32,
    ]
}

#[test]
fn int32_operations_match_rust() {
    let n = 2048;
    let input = inputs(2 * n, 11);
    for (which, p) in both(INT32).iter().enumerate() {
        let out = run(p, &input, n, 32);
        for i in 0..n {
            let (a, b) = (input[2 * i] as i32, input[2 * i + 1] as i32);
            let want = int32_expect(a, b);
            for (k, w) in want.iter().enumerate() {
                assert_eq!(
                    out[i * 32 + k] as i32,
                    *w,
                    "variant {which}, op {k}, a={a:#x} b={b:#x}"
                );
            }
        }
    }
}

const FLOAT32: &str = r#"
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer In { vec2 v[]; };
layout(set = 0, binding = 1) buffer Out { float r[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    float a = v[i].x, b = v[i].y;
    uint o = i * 24u;
    r[o + 0] = a + b;
    r[o + 1] = a - b;
    r[o + 2] = a * b;
    r[o + 3] = a / b;
    r[o + 4] = mod(a, b);
    r[o + 5] = min(a, b);
    r[o + 6] = max(a, b);
    r[o + 7] = clamp(a, -2.0, 3.5);
    r[o + 8] = floor(a);
    r[o + 9] = ceil(a);
    r[o + 10] = fract(a);
    r[o + 11] = trunc(a);
    r[o + 12] = roundEven(a);
    r[o + 13] = abs(a);
    r[o + 14] = sign(a);
    r[o + 15] = sqrt(abs(a));
    r[o + 16] = step(b, a);
    r[o + 17] = mix(a, b, 0.25);
    r[o + 18] = fma(a, b, 1.5);
    r[o + 19] = float(a < b) + 2.0 * float(a <= b) + 4.0 * float(a > b) + 8.0 * float(a >= b)
              + 16.0 * float(a == b) + 32.0 * float(a != b) + 64.0 * float(isnan(a)) + 128.0 * float(isinf(b));
    r[o + 20] = -a;
    r[o + 21] = exp2(clamp(a, -20.0, 20.0));
    r[o + 22] = float(int(clamp(a, -1e9, 1e9)));
    r[o + 23] = float(uint(clamp(a, 0.0, 4e9)));
}
"#;

fn float32_expect(a: f32, b: f32) -> [f32; 24] {
    let flags = |c: bool, w: f32| if c { w } else { 0.0 };
    let cmp = flags(a < b, 1.0)
        + flags(a <= b, 2.0)
        + flags(a > b, 4.0)
        + flags(a >= b, 8.0)
        + flags(a == b, 16.0)
        + flags(a != b, 32.0)
        + flags(a.is_nan(), 64.0)
        + flags(b.is_infinite(), 128.0);
    let sign = if a > 0.0 {
        1.0
    } else if a < 0.0 {
        -1.0
    } else {
        a * 0.0
    };
    [
        a + b,
        a - b,
        a * b,
        a / b,
        a - b * (a / b).floor(),
        a.min(b),
        a.max(b),
        a.max(-2.0).min(3.5),
        a.floor(),
        a.ceil(),
        a - a.floor(),
        a.trunc(),
        a.round_ties_even(),
        a.abs(),
        sign,
        a.abs().sqrt(),
        if a < b { 0.0 } else { 1.0 },
        a * 0.75 + b * 0.25,
        a.mul_add(b, 1.5),
        cmp,
        -a,
        a.max(-20.0).min(20.0).exp2(),
        a.max(-1e9).min(1e9) as i32 as f32,
        a.max(0.0).min(4e9) as u32 as f32,
    ]
}

fn same(x: f32, y: f32) -> bool {
    x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
}

#[test]
fn float32_operations_match_rust() {
    let n = 2048;
    let mut input = inputs(2 * n, 5);
    // Mostly ordinary floats, plus specials.
    let specials = [
        0.0f32,
        -0.0,
        1.0,
        -1.5,
        2.5,
        3.5,
        -2.5,
        1e-40,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1e30,
        0.5,
    ];
    for (i, w) in input.iter_mut().enumerate() {
        let v = if i < 2 * specials.len() * specials.len() {
            specials[if i % 2 == 0 {
                (i / 2) % specials.len()
            } else {
                (i / 2 / specials.len()) % specials.len()
            }]
        } else {
            (*w as i32 as f32) / 65536.0
        };
        *w = v.to_bits();
    }
    for (which, p) in both(FLOAT32).iter().enumerate() {
        let out = run(p, &input, n, 24);
        for i in 0..n {
            let (a, b) = (
                f32::from_bits(input[2 * i]),
                f32::from_bits(input[2 * i + 1]),
            );
            for (k, w) in float32_expect(a, b).iter().enumerate() {
                let got = f32::from_bits(out[i * 24 + k]);
                // spirv-opt may fold or reassociate nothing here, but the
                // optimizer can turn mix into fma-free forms; compare with a
                // tiny tolerance for op 17 only.
                let ok = same(got, *w) || (k == 17 && (got - w).abs() <= w.abs() * 1e-6);
                assert!(
                    ok,
                    "variant {which}, op {k}: a={a} b={b}: got {got}, want {w}"
                );
            }
        }
    }
}

const CONVERSIONS: &str = r#"
#version 450
#extension GL_ARB_gpu_shader_int64 : require
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer In { uint v[]; };
layout(set = 0, binding = 1) buffer Out { uint r[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    uint u = v[i];
    int s = int(u);
    float f = uintBitsToFloat(u);
    uint o = i * 16u;
    r[o + 0] = floatBitsToUint(float(u));
    r[o + 1] = floatBitsToUint(float(s));
    r[o + 2] = floatBitsToUint(float(double(s) * 0.5));
    uint64_t w = uint64_t(u) * 0x100000001ul + uint64_t(s);
    r[o + 3] = uint(w);
    r[o + 4] = uint(w >> 32);
    int64_t sw = int64_t(s) * -3l;
    r[o + 5] = uint(sw >> 1);
    r[o + 6] = uint(uint64_t(sw) >> 40);
    double d = double(sw) / 7.0;
    r[o + 7] = floatBitsToUint(float(d));
    r[o + 8] = uint(int64_t(d));
    r[o + 9] = floatBitsToUint(float(w));
    r[o + 10] = uint(isnan(f) || isinf(f) ? 0u : uint(abs(f) < 4e9 ? abs(f) : 1.0));
    r[o + 11] = uint(int64_t(s) < int64_t(-5)) | uint(w > 0x8000000000000000ul) << 1 | uint(sw == int64_t(s) * -3l) << 2;
    r[o + 12] = packHalf2x16(vec2(float(s) / 1024.0, -float(u & 0xffffu) / 7.0));
    vec2 h = unpackHalf2x16(u & 0x3bff3bffu);
    r[o + 13] = floatBitsToUint(h.x + h.y * 0.0) ^ floatBitsToUint(h.y);
    r[o + 14] = packUnorm4x8(vec4(float(u & 255u) / 255.0, 0.5, -1.0, 2.0)) ^ packSnorm2x16(vec2(float(s) / 2147483648.0, 0.25));
    r[o + 15] = floatBitsToUint(dot(unpackUnorm4x8(u), vec4(1.0, 2.0, 3.0, 4.0))) ^ floatBitsToUint(unpackSnorm2x16(u).y);
}
"#;

fn f16(x: f32) -> u32 {
    // Reference half conversion through the `half`-free path: round to
    // nearest even by the same rule the core documents, via f64 scaling.
    let bits = x.to_bits();
    let sign = (bits >> 16) & 0x8000;
    let a = x.abs();
    if a.is_nan() {
        return sign | 0x7e00;
    }
    if a >= 65520.0 {
        return sign | 0x7c00;
    }
    if a < 6.103_515_6e-5 {
        // Subnormal half: units of 2^-24, ties to even.
        return sign | (f64::from(a) * 16_777_216.0).round_ties_even() as u32;
    }
    let e = a.log2().floor() as i32;
    let e = if 2f32.powi(e) > a { e - 1 } else { e };
    let m = (f64::from(a) / 2f64.powi(e) - 1.0) * 1024.0;
    let m = m.round_ties_even() as u32;
    let (e, m) = if m == 1024 { (e + 1, 0) } else { (e, m) };
    if e > 15 {
        return sign | 0x7c00;
    }
    sign | ((e + 15) as u32) << 10 | m
}

fn from_f16(h: u32) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let e = (h >> 10) & 0x1f;
    let m = h & 0x3ff;
    match e {
        0 => sign * m as f32 / 16_777_216.0,
        31 if m == 0 => sign * f32::INFINITY,
        31 => f32::NAN,
        _ => sign * (1.0 + m as f32 / 1024.0) * 2f32.powi(e as i32 - 15),
    }
}

#[test]
fn conversions_and_64_bit_match_rust() {
    let n = 2048;
    let input = inputs(n, 99);
    // At -O0 only: spirv-opt turns x / 7.0 into x * (1 / 7.0), which
    // rounds differently.
    for (which, p) in [program(CONVERSIONS)].iter().enumerate() {
        let out = run(p, &input, n, 16);
        for (i, &u) in input.iter().enumerate() {
            let s = u as i32;
            let f = f32::from_bits(u);
            let w = u64::from(u)
                .wrapping_mul(0x1_0000_0001)
                .wrapping_add(s as i64 as u64);
            let sw = i64::from(s).wrapping_mul(-3);
            let d = sw as f64 / 7.0;
            let half_in = (s as f32 / 1024.0, -((u & 0xffff) as f32) / 7.0);
            let h = (from_f16(u & 0x3bff), from_f16((u >> 16) & 0x3bff));
            let unorm = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round_ties_even() as u32;
            let snorm16 =
                |x: f32| ((x.clamp(-1.0, 1.0) * 32767.0).round_ties_even() as i32 as u32) & 0xffff;
            let packed = (unorm((u & 255) as f32 / 255.0)
                | unorm(0.5) << 8
                | unorm(-1.0) << 16
                | unorm(2.0) << 24)
                ^ (snorm16(s as f32 / 2_147_483_648.0) | snorm16(0.25) << 16);
            let bytes =
                [u & 255, (u >> 8) & 255, (u >> 16) & 255, u >> 24].map(|b| b as f32 / 255.0);
            let dotv = bytes[0] * 1.0 + bytes[1] * 2.0 + bytes[2] * 3.0 + bytes[3] * 4.0;
            let sn_y = ((u >> 16) as u16 as i16 as f32 / 32767.0).clamp(-1.0, 1.0);
            let want: [u32; 16] = [
                (u as f32).to_bits(),
                (s as f32).to_bits(),
                ((f64::from(s) * 0.5) as f32).to_bits(),
                w as u32,
                (w >> 32) as u32,
                (sw >> 1) as u32,
                ((sw as u64) >> 40) as u32,
                (d as f32).to_bits(),
                d as i64 as u32,
                (w as f32).to_bits(),
                if f.is_nan() || f.is_infinite() {
                    0
                } else if f.abs() < 4e9 {
                    f.abs() as u32
                } else {
                    1
                },
                u32::from(i64::from(s) < -5) | u32::from(w > 0x8000_0000_0000_0000) << 1 | 4,
                f16(half_in.0) | f16(half_in.1) << 16,
                (h.0 + h.1 * 0.0).to_bits() ^ h.1.to_bits(),
                packed,
                dotv.to_bits() ^ sn_y.to_bits(),
            ];
            for k in 0..16 {
                // NaN payloads of the half unpack may differ; compare NaN-ness.
                let (g, e) = (out[i * 16 + k], want[k]);
                let nan_ok = k == 13 && f32::from_bits(g).is_nan() && f32::from_bits(e).is_nan();
                assert!(
                    g == e || nan_ok,
                    "variant {which}, op {k}, u={u:#x}: got {g:#x}, want {e:#x}"
                );
            }
        }
    }
}

#[test]
fn doubles_match_rust() {
    let src = r#"
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer In { dvec2 v[]; };
layout(set = 0, binding = 1) buffer Out { double r[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    double a = v[i].x, b = v[i].y;
    uint o = i * 10u;
    r[o + 0] = a + b;
    r[o + 1] = a * b - a;
    r[o + 2] = a / b;
    r[o + 3] = sqrt(abs(a));
    r[o + 4] = floor(a) + ceil(b);
    r[o + 5] = fma(a, b, 0.125);
    r[o + 6] = min(a, b) - max(a, b);
    r[o + 7] = mod(a, b);
    r[o + 8] = double(a < b) + 2.0 * double(a == b);
    r[o + 9] = clamp(a, -1.0, 1.0) * fract(b);
}
"#;
    let n = 512;
    let raw = inputs(2 * n, 3);
    let vals: Vec<f64> = raw
        .iter()
        .map(|&w| (w as i32 as f64) / 1000.0 + 0.25)
        .collect();
    let input: Vec<u32> = vals
        .iter()
        .flat_map(|v| [v.to_bits() as u32, (v.to_bits() >> 32) as u32])
        .collect();
    for (which, p) in both(src).iter().enumerate() {
        let out = run(p, &input, n, 20);
        for i in 0..n {
            let (a, b) = (vals[2 * i], vals[2 * i + 1]);
            let want = [
                a + b,
                a * b - a,
                a / b,
                a.abs().sqrt(),
                a.floor() + b.ceil(),
                a.mul_add(b, 0.125),
                a.min(b) - a.max(b),
                a - b * (a / b).floor(),
                f64::from(u8::from(a < b)) + 2.0 * f64::from(u8::from(a == b)),
                a.max(-1.0).min(1.0) * (b - b.floor()),
            ];
            for (k, w) in want.iter().enumerate() {
                let g = f64::from_bits(
                    u64::from(out[i * 20 + 2 * k]) | u64::from(out[i * 20 + 2 * k + 1]) << 32,
                );
                // spirv-opt fuses a * b - a into an fma: one rounding less.
                let ok =
                    g.to_bits() == w.to_bits() || (which == 1 && (g - w).abs() <= w.abs() * 1e-14);
                assert!(ok, "variant {which}, op {k}: a={a} b={b} got {g} want {w}");
            }
        }
    }
}

#[test]
fn narrow_integers_match_rust() {
    let src = r#"
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer In { uint v[]; };
layout(set = 0, binding = 1) buffer Out { int r[]; };
layout(set = 0, binding = 2) buffer Bytes { uint8_t b8[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    uint u = v[i];
    int8_t a = int8_t(u & 255u);
    int8_t b = int8_t((u >> 8) & 255u);
    uint16_t c = uint16_t(u >> 16);
    int16_t d = int16_t(u >> 12);
    uint o = i * 8u;
    r[o + 0] = int(int8_t(a + b));
    r[o + 1] = int(int8_t(a * b));
    r[o + 2] = b != int8_t(0) ? int(a / b) : 99;
    r[o + 3] = int(a >> 2) + int(uint8_t(a) >> 2) * 1000;
    r[o + 4] = int(a < b) + 2 * int(uint8_t(a) < uint8_t(b));
    r[o + 5] = int(uint16_t(c * uint16_t(3)));
    r[o + 6] = int(int16_t(d - int16_t(300)));
    r[o + 7] = int(max(d, int16_t(-7))) ^ int(min(c, uint16_t(40000)));
    b8[i] = uint8_t(u * 7u);
}
"#;
    let n = 512;
    let input = inputs(n, 77);
    let p = program(src);
    let mut env = HostEnv::new();
    env.bind_buffer(0, 0, &input);
    let out_va = env.bind_buffer(0, 1, &vec![0; n * 8]);
    let bytes_va = env.bind_buffer(0, 2, &vec![0; n / 4 + 8]);
    dispatch(&p, &mut env, [(n / 64) as u32, 1, 1]).unwrap();
    let out = env.read_words(out_va, n * 8);
    let bytes = env.read_bytes(bytes_va, n);
    for (i, &u) in input.iter().enumerate() {
        let a = (u & 255) as u8 as i8;
        let b = ((u >> 8) & 255) as u8 as i8;
        let c = (u >> 16) as u16;
        let d = (u >> 12) as u16 as i16;
        let want = [
            i32::from(a.wrapping_add(b)),
            i32::from(a.wrapping_mul(b)),
            if b != 0 {
                i32::from(a.wrapping_div(b))
            } else {
                99
            },
            i32::from(a >> 2) + i32::from((a as u8) >> 2) * 1000,
            i32::from(a < b) + 2 * i32::from((a as u8) < (b as u8)),
            i32::from(c.wrapping_mul(3)),
            i32::from(d.wrapping_sub(300)),
            i32::from(d.max(-7)) ^ i32::from(c.min(40000)),
        ];
        for (k, w) in want.iter().enumerate() {
            assert_eq!(out[i * 8 + k] as i32, *w, "op {k}, u={u:#x}");
        }
        assert_eq!(bytes[i], u.wrapping_mul(7) as u8, "byte store {i}");
    }
}

#[test]
fn division_by_zero_and_huge_shifts_do_not_panic() {
    let src = r#"
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer B { int v[]; };
void main() {
    int zero = v[0];
    int big = v[1];
    v[2] = 5 / zero;
    v[3] = 5 % zero;
    v[4] = int(5u / uint(zero));
    v[5] = 1 << big;
    v[6] = int(0x80000000) / -1;
    v[7] = -7 >> big;
}
"#;
    let p = program(src);
    let mut env = HostEnv::new();
    let va = env.bind_buffer(0, 0, &[0, 200, 9, 9, 9, 9, 9, 9]);
    dispatch(&p, &mut env, [1, 1, 1]).unwrap();
    let out = env.read_words(va, 8);
    assert_eq!(&out[2..5], &[0, 0, 0]);
    assert_eq!(out[6], 0x8000_0000);
}
