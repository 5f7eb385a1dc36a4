//! Control flow: nested loops with break and continue, switches, short
//! circuits and ternaries (phis), functions with in/out/inout parameters
//! and struct returns, each at -O0 and in spirv-opt's SSA form; and the
//! instruction count, cancellation and OpUnreachable.

mod support;
use panthor_shader::{ExecError, Program, RuntimeError, WorkgroupParams};
use support::*;

fn run_one(p: &Program, input: &[u32], out_words: usize) -> Vec<u32> {
    let mut env = HostEnv::new();
    env.bind_buffer(0, 0, input);
    let out = env.bind_buffer(0, 1, &vec![0; out_words]);
    let local = p.info().workgroup_size[0] as usize;
    dispatch(p, &mut env, [(input.len() / local) as u32, 1, 1]).expect("run");
    env.read_words(out, out_words)
}

fn both(src: &str) -> [Program; 2] {
    [
        program(src),
        program_words(compile_optimized(src)).expect("optimized decode"),
    ]
}

const LOOPS: &str = r#"
#version 450
layout(local_size_x = 32) in;
layout(set = 0, binding = 0) readonly buffer In { uint v[]; };
layout(set = 0, binding = 1) buffer Out { uint r[]; };

struct Pair { uint lo; uint hi; };

uint collatz(uint x) {
    uint steps = 0u;
    while (x != 1u && steps < 500u) {
        x = (x & 1u) == 1u ? 3u * x + 1u : x / 2u;
        steps++;
    }
    return steps;
}

void accumulate(inout uint acc, in uint v, out uint doubled) {
    acc += v;
    doubled = v * 2u;
}

Pair split(uint x) {
    Pair p;
    p.lo = x & 0xffffu;
    p.hi = x >> 16;
    return p;
}

void main() {
    uint i = gl_GlobalInvocationID.x;
    uint x = v[i];
    uint o = i * 6u;

    // Nested loops with break and continue.
    uint sum = 0u;
    for (uint a = 0u; a < 10u; a++) {
        if (a == (x & 7u)) continue;
        for (uint b = 0u; b < 10u; b++) {
            if (b > a) break;
            if (((a + b) & 1u) == 0u) continue;
            sum += a * b + (x & 3u);
        }
        if (sum > 400u + (x & 255u)) break;
    }
    r[o + 0] = sum;

    // Switch with fallthrough and default.
    uint s = 0u;
    switch (x % 7u) {
        case 0u: s = 10u;
        case 1u: s += 1u; break;
        case 2u:
        case 3u: s = 30u; break;
        case 5u: { s = 50u; if ((x & 8u) != 0u) break; s = 55u; break; }
        default: s = 99u;
    }
    r[o + 1] = s;

    // Short circuits and ternaries (phis after optimisation).
    uint calls = 0u;
    bool c1 = (x > 100u) && ((calls++) < 5u || (x & 1u) == 1u);
    bool c2 = (x < 50u) || ((calls += 2u) > 100u);
    r[o + 2] = (c1 ? 1u : 0u) | (c2 ? 2u : 0u) | calls << 4 | ((x & 16u) != 0u ? x ^ 5u : x + 9u) << 8;

    // Calls with pointer parameters and struct results.
    uint acc = x;
    uint d;
    accumulate(acc, 5u, d);
    accumulate(acc, d, d);
    Pair p = split(acc);
    r[o + 3] = p.lo ^ p.hi ^ (d << 3);

    r[o + 4] = collatz((x & 1023u) + 1u);

    // A do-while with a loop-carried pair (swap: parallel phis).
    uint fa = 0u, fb = 1u, k = 0u;
    do {
        uint t = fa + fb;
        fa = fb;
        fb = t;
        k++;
    } while (k < (x & 31u));
    r[o + 5] = fa;
}
"#;

fn loops_expect(x: u32) -> [u32; 6] {
    let mut sum = 0u32;
    for a in 0..10u32 {
        if a == (x & 7) {
            continue;
        }
        for b in 0..10u32 {
            if b > a {
                break;
            }
            if (a + b) & 1 == 0 {
                continue;
            }
            sum += a * b + (x & 3);
        }
        if sum > 400 + (x & 255) {
            break;
        }
    }
    let s = match x % 7 {
        0 => 11,
        1 => 1,
        2 | 3 => 30,
        5 => {
            if x & 8 != 0 {
                50
            } else {
                55
            }
        }
        _ => 99,
    };
    let mut calls = 0u32;
    let c1 = x > 100 && {
        let before = calls;
        calls += 1;
        before < 5 || x & 1 == 1
    };
    let c2 = x < 50 || {
        calls += 2;
        calls > 100
    };
    let tern = if x & 16 != 0 {
        x ^ 5
    } else {
        x.wrapping_add(9)
    };
    let r2 = u32::from(c1) | u32::from(c2) << 1 | calls << 4 | tern << 8;
    let mut acc = x.wrapping_add(5);
    let d = 10u32;
    acc = acc.wrapping_add(d);
    let d = d * 2;
    let r3 = (acc & 0xffff) ^ (acc >> 16) ^ (d << 3);
    let mut c = (x & 1023) + 1;
    let mut steps = 0;
    while c != 1 && steps < 500 {
        c = if c & 1 == 1 { 3 * c + 1 } else { c / 2 };
        steps += 1;
    }
    let (mut fa, mut fb, mut k) = (0u32, 1u32, 0u32);
    loop {
        let t = fa.wrapping_add(fb);
        fa = fb;
        fb = t;
        k += 1;
        if k >= (x & 31) {
            break;
        }
    }
    [sum, s, r2, r3, steps, fa]
}

#[test]
fn loops_switches_phis_and_calls() {
    let mut input: Vec<u32> = (0..256u32)
        .map(|i| i.wrapping_mul(2_654_435_761) >> (i % 13))
        .collect();
    input[0] = 0;
    input[1] = 101;
    input[2] = 49;
    for (which, p) in both(LOOPS).iter().enumerate() {
        let out = run_one(p, &input, input.len() * 6);
        for (i, &x) in input.iter().enumerate() {
            assert_eq!(
                &out[i * 6..i * 6 + 6],
                &loops_expect(x),
                "variant {which}, x = {x}"
            );
        }
    }
}

#[test]
fn optimized_code_has_phis_and_no_calls() {
    // The SSA form must exercise phi lowering for the test above to mean
    // something.
    let words = compile_optimized(LOOPS);
    let phi = words.iter().filter(|&&w| w & 0xffff == 245).count();
    assert!(phi > 3, "expected OpPhi in the optimised module");
}

#[test]
fn instruction_count_is_exact_for_straight_line_code() {
    let p = program(
        r#"
#version 450
layout(local_size_x = 8) in;
layout(set = 0, binding = 0) buffer B { uint v[]; };
void main() {
    v[gl_LocalInvocationIndex] = gl_LocalInvocationIndex * 2u;
}
"#,
    );
    let mut env = HostEnv::new();
    env.bind_buffer(0, 0, &[0; 8]);
    let stats = dispatch(&p, &mut env, [1, 1, 1]).unwrap();
    // Load index, IMul, Load index, AccessChain, Store, Return = 6 per
    // invocation (the label is not counted).
    assert_eq!(stats.instructions, 6 * 8);
}

#[test]
fn cancellation_stops_an_endless_loop() {
    let p = program(
        r#"
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer B { uint v[]; };
void main() {
    uint i = 0u;
    while (v[0] == 0u) { i++; }
    v[1] = i;
}
"#,
    );
    let mut env = HostEnv::new();
    env.bind_buffer(0, 0, &[0, 0]);
    env.cancel_after = Some(3);
    let err = dispatch(&p, &mut env, [1, 1, 1]).unwrap_err();
    assert_eq!(err, ExecError::Cancelled);
    assert_eq!(env.polls, 4);
}

#[test]
fn unreachable_is_a_runtime_error() {
    let words = assemble(
        r#"
               OpCapability Shader
               OpMemoryModel Logical GLSL450
               OpEntryPoint GLCompute %main "main"
               OpExecutionMode %main LocalSize 1 1 1
       %void = OpTypeVoid
         %fn = OpTypeFunction %void
       %main = OpFunction %void None %fn
      %entry = OpLabel
               OpUnreachable
               OpFunctionEnd
"#,
    );
    let p = program_words(words).unwrap();
    let mut env = HostEnv::new();
    let params = WorkgroupParams {
        local_size: [1, 1, 1],
        workgroup_id: [0; 3],
        num_workgroups: [1; 3],
    };
    assert_eq!(
        p.run_workgroup(&mut env, &params),
        Err(ExecError::Runtime(RuntimeError::Unreachable))
    );
}

#[test]
fn bad_local_size_is_refused() {
    let p = program("#version 450\nlayout(local_size_x = 1) in;\nvoid main() {}\n");
    let mut env = HostEnv::new();
    for local_size in [[0, 1, 1], [1 << 16, 2, 1]] {
        let params = WorkgroupParams {
            local_size,
            workgroup_id: [0; 3],
            num_workgroups: [1; 3],
        };
        assert!(matches!(
            p.run_workgroup(&mut env, &params),
            Err(ExecError::Runtime(RuntimeError::Params(_)))
        ));
    }
}
