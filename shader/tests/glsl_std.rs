//! GLSL.std.450 and matrix operations against Rust references.
// The references write clamp as max-then-min on purpose: that is what the
// core computes, and it treats NaN differently from f32::clamp.
#![allow(clippy::manual_clamp)]

mod support;
use support::*;

fn run(src: &str, input: &[f32], out_words: usize) -> Vec<f32> {
    let p = program(src);
    let mut env = HostEnv::new();
    env.bind_buffer(0, 0, &words_of_f32(input));
    let out = env.bind_buffer(0, 1, &vec![0; out_words]);
    dispatch(&p, &mut env, [(input.len() / 4 / 16) as u32, 1, 1]).expect("run");
    f32s(&env.read_words(out, out_words))
}

fn close(a: f32, b: f32, tol: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn transcendental_and_geometric_functions() {
    let src = r#"
#version 450
layout(local_size_x = 16) in;
layout(set = 0, binding = 0) readonly buffer In { vec4 v[]; };
layout(set = 0, binding = 1) buffer Out { float r[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    vec4 x = v[i];
    uint o = i * 24u;
    r[o + 0] = sin(x.x) + cos(x.y) * 2.0;
    r[o + 1] = tan(x.z * 0.1);
    r[o + 2] = asin(clamp(x.w, -1.0, 1.0)) + acos(clamp(x.x * 0.1, -1.0, 1.0));
    r[o + 3] = atan(x.y, x.z) + atan(x.w);
    r[o + 4] = exp(x.x * 0.1) + log(abs(x.y) + 1.0);
    r[o + 5] = pow(abs(x.z) + 0.5, 1.5);
    r[o + 6] = inversesqrt(abs(x.w) + 1.0);
    r[o + 7] = length(x.xyz);
    r[o + 8] = distance(x.xy, x.zw);
    vec3 c = cross(x.xyz, x.yzw);
    r[o + 9] = c.x + c.y * 10.0 + c.z * 100.0;
    vec3 n = normalize(x.xyz + vec3(0.001));
    r[o + 10] = n.x + n.y + n.z;
    vec3 rf = reflect(x.xyz, vec3(0.0, 1.0, 0.0));
    r[o + 11] = rf.x + rf.y * 10.0 + rf.z * 100.0;
    vec3 rr = refract(normalize(x.xyz + vec3(0.001)), vec3(0.0, 1.0, 0.0), 0.5);
    r[o + 12] = rr.x + rr.y * 10.0 + rr.z * 100.0;
    r[o + 13] = faceforward(vec2(1.0, 2.0), x.xy, x.zw).x;
    int e;
    float m = frexp(x.x, e);
    r[o + 14] = m + float(e) * 100.0;
    r[o + 15] = ldexp(x.y, int(x.z) % 20);
    float whole;
    r[o + 16] = modf(x.w, whole) + whole * 100.0;
    r[o + 17] = smoothstep(-1.0, 2.0, x.x);
    r[o + 18] = sinh(x.y * 0.1) + cosh(x.z * 0.1) + tanh(x.w);
    r[o + 19] = degrees(x.x) + radians(x.y);
    r[o + 20] = log2(abs(x.z) + 1.0) + exp2(x.w * 0.5);
    r[o + 21] = dot(x, vec4(1.0, -2.0, 3.0, -4.0));
    r[o + 22] = round(x.x * 1.3);
    r[o + 23] = asinh(x.y) + acosh(abs(x.z) + 1.0) + atanh(clamp(x.w * 0.1, -0.9, 0.9));
}
"#;
    let n = 64;
    let input: Vec<f32> = (0..n * 4)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
        .collect();
    let r = run(src, &input, n * 24);
    for i in 0..n {
        let [x, y, z, w] = [
            input[4 * i],
            input[4 * i + 1],
            input[4 * i + 2],
            input[4 * i + 3],
        ];
        let len3 = |a: [f32; 3]| (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
        let c = [y * w - z * z, z * y - w * x, x * z - y * y];
        let nv = [x + 0.001, y + 0.001, z + 0.001];
        let nl = len3(nv);
        let nn = nv.map(|v| v / nl);
        let k = 1.0 - 0.25 * (1.0 - nn[1] * nn[1]);
        let rr = if k < 0.0 {
            [0.0; 3]
        } else {
            [
                0.5 * nn[0],
                0.5 * nn[1] - (0.5 * nn[1] + k.sqrt()),
                0.5 * nn[2],
            ]
        };
        let ff = if z * x + w * y < 0.0 { 1.0 } else { -1.0 };
        let (m, e) = if x == 0.0 {
            (0.0, 0)
        } else {
            let e = x.abs().log2().floor() as i32 + 1;
            (x / 2f32.powi(e), e)
        };
        let t = ((x + 1.0) / 3.0).clamp(0.0, 1.0);
        let want = [
            x.sin() + y.cos() * 2.0,
            (z * 0.1).tan(),
            w.clamp(-1.0, 1.0).asin() + (x * 0.1).clamp(-1.0, 1.0).acos(),
            y.atan2(z) + w.atan(),
            (x * 0.1).exp() + (y.abs() + 1.0).ln(),
            (z.abs() + 0.5).powf(1.5),
            1.0 / (w.abs() + 1.0).sqrt(),
            len3([x, y, z]),
            ((x - z) * (x - z) + (y - w) * (y - w)).sqrt(),
            c[0] + c[1] * 10.0 + c[2] * 100.0,
            nn[0] + nn[1] + nn[2],
            x + (y - 2.0 * y) * 10.0 + z * 100.0,
            rr[0] + rr[1] * 10.0 + rr[2] * 100.0,
            ff,
            m + e as f32 * 100.0,
            // GLSL % on ints is OpSMod: the sign of the divisor.
            y * 2f32.powi((z as i32).rem_euclid(20)),
            (w - w.trunc()) + w.trunc() * 100.0,
            t * t * (3.0 - 2.0 * t),
            (y * 0.1).sinh() + (z * 0.1).cosh() + w.tanh(),
            x.to_degrees() + y.to_radians(),
            (z.abs() + 1.0).log2() + (w * 0.5).exp2(),
            x - 2.0 * y + 3.0 * z - 4.0 * w,
            (x * 1.3).round(),
            y.asinh() + (z.abs() + 1.0).acosh() + (w * 0.1).clamp(-0.9, 0.9).atanh(),
        ];
        for (k, want) in want.iter().enumerate() {
            let got = r[i * 24 + k];
            assert!(
                close(got, *want, 2e-6),
                "op {k}, input {:?}: got {got}, want {want}",
                [x, y, z, w]
            );
        }
    }
}

#[test]
fn matrix_operations() {
    let src = r#"
#version 450
layout(local_size_x = 16) in;
layout(set = 0, binding = 0) readonly buffer In { vec4 v[]; };
layout(set = 0, binding = 1) buffer Out { float r[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    vec4 x = v[i];
    mat3 a = mat3(x.x, x.y, x.z, x.w, 1.0, 2.0, 3.0, x.x, 5.0);
    mat2x3 b = mat2x3(1.0, 2.0, 3.0, x.y, x.z, x.w);
    uint o = i * 16u;
    mat2x3 ab = a * b;
    r[o + 0] = ab[0][0] + ab[1][2] * 10.0;
    vec3 av = a * x.xyz;
    r[o + 1] = av.x + av.y + av.z;
    vec2 vb = x.xyz * b;
    r[o + 2] = vb.x + vb.y * 3.0;
    mat3x2 bt = transpose(b);
    r[o + 3] = bt[2][1] + bt[0][0] * 10.0;
    mat2 op = outerProduct(x.xy, x.zw);
    r[o + 4] = op[0][1] + op[1][0] * 10.0;
    r[o + 5] = determinant(a);
    mat3 inv = inverse(a);
    mat3 id = inv * a;
    r[o + 6] = id[0][0] + id[1][1] + id[2][2];
    r[o + 7] = id[0][1] + id[1][2] + id[2][0];
    mat4 m4 = mat4(x, x.yzwx, vec4(1.0, 0.0, 2.0, 0.0), vec4(0.0, 3.0, 0.0, 1.0));
    r[o + 8] = determinant(m4);
    mat2 m2 = mat2(x.xy, x.zw) * 2.0;
    r[o + 9] = determinant(m2);
    dmat2 d2 = dmat2(x.x, x.y, x.z, x.w);
    r[o + 10] = float(determinant(inverse(d2)) * determinant(d2));
}
"#;
    let n = 32;
    let input: Vec<f32> = (0..n * 4)
        .map(|i| ((i * 13 % 29) as f32 - 14.0) / 3.0 + 0.1)
        .collect();
    let r = run(src, &input, n * 16);
    for i in 0..n {
        let [x, y, z, w] = [
            input[4 * i],
            input[4 * i + 1],
            input[4 * i + 2],
            input[4 * i + 3],
        ];
        // Column-major: a[c][r].
        let a = [[x, y, z], [w, 1.0, 2.0], [3.0, x, 5.0]];
        let b = [[1.0, 2.0, 3.0], [y, z, w]];
        let ab = |c: usize, row: usize| (0..3).map(|k| a[k][row] * b[c][k]).sum::<f32>();
        let av: f32 = (0..3)
            .map(|row| (0..3).map(|k| a[k][row] * [x, y, z][k]).sum::<f32>())
            .sum();
        let vb = |c: usize| (0..3).map(|k| [x, y, z][k] * b[c][k]).sum::<f32>();
        let det3 = |m: [[f32; 3]; 3]| {
            let e = |c: usize, r: usize| f64::from(m[c][r]);
            e(0, 0) * (e(1, 1) * e(2, 2) - e(2, 1) * e(1, 2))
                - e(1, 0) * (e(0, 1) * e(2, 2) - e(2, 1) * e(0, 2))
                + e(2, 0) * (e(0, 1) * e(1, 2) - e(1, 1) * e(0, 2))
        };
        let want: [(usize, f32, f32); 8] = [
            (0, ab(0, 0) + ab(1, 2) * 10.0, 1e-5),
            (1, av, 1e-5),
            (2, vb(0) + vb(1) * 3.0, 1e-5),
            (3, w + 1.0 * 10.0, 0.0),
            (4, y * z + x * w * 10.0, 1e-6),
            (5, det3(a) as f32, 1e-5),
            (6, 3.0, 1e-3),
            (9, 4.0 * (x * w - z * y), 1e-5),
        ];
        for (k, v, tol) in want {
            let got = r[i * 16 + k];
            assert!(
                close(got, v, tol),
                "op {k}, input {:?}: got {got}, want {v}",
                [x, y, z, w]
            );
        }
        assert!(r[i * 16 + 7].abs() < 1e-3, "off-diagonal of inverse * a");
        // 4x4 determinant by expansion in f64.
        let m4 = [
            [x, y, z, w],
            [y, z, w, x],
            [1.0, 0.0, 2.0, 0.0],
            [0.0, 3.0, 0.0, 1.0],
        ];
        let minor = |skip: usize| {
            let cols: Vec<usize> = (0..4).filter(|&c| c != skip).collect();
            det3(std::array::from_fn(|c| {
                std::array::from_fn(|r| m4[cols[c]][r + 1])
            }))
        };
        let det4: f64 = (0..4)
            .map(|c| if c % 2 == 0 { 1.0 } else { -1.0 } * f64::from(m4[c][0]) * minor(c))
            .sum();
        assert!(
            close(r[i * 16 + 8], det4 as f32, 1e-4),
            "det4: got {}, want {det4}",
            r[i * 16 + 8]
        );
        assert!(
            close(r[i * 16 + 10], 1.0, 1e-9),
            "double inverse determinant"
        );
    }
}
