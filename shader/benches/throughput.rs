//! SPIR-V instructions per second on HostEnv: a compute-bound arithmetic
//! loop and a memory-bound buffer copy. Run with
//! `cargo bench -p panthor-shader --bench throughput`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;
use support::*;

const ARITHMETIC: &str = r#"
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer Out { float result[]; };
layout(push_constant) uniform P { uint iterations; };
void main() {
    float acc = float(gl_GlobalInvocationID.x);
    uint bits = gl_GlobalInvocationID.x;
    for (uint i = 0u; i < iterations; i++) {
        acc = acc * 0.999 + float(i & 7u);
        bits = (bits ^ (bits << 3u)) + i;
    }
    result[gl_GlobalInvocationID.x] = acc + float(bits & 1u);
}
"#;

const COPY: &str = r#"
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(set = 0, binding = 1) writeonly buffer Dst { uvec4 dst[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    dst[i] = src[i];
}
"#;

fn measure(name: &str, mut run: impl FnMut() -> u64) {
    // One warm-up, then enough repetitions for about a second.
    run();
    let start = Instant::now();
    let mut instructions = 0u64;
    let mut reps = 0;
    while start.elapsed().as_secs_f64() < 1.0 {
        instructions += run();
        reps += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<28} {:>8.1} M SPIR-V instructions/s ({instructions} instructions, {reps} runs, {secs:.2} s)",
        instructions as f64 / secs / 1e6
    );
}

fn main() {
    let arith = program(ARITHMETIC);
    let mut env = HostEnv::new();
    env.bind_buffer(0, 0, &vec![0; 64 * 16]);
    env.push = 1000u32.to_le_bytes().to_vec();
    measure("arithmetic loop", || {
        dispatch(&arith, &mut env, [16, 1, 1]).unwrap().instructions
    });

    let copy = program(COPY);
    let mut env = HostEnv::new();
    let n = 64 * 256;
    env.bind_buffer(0, 0, &(0..n * 4).collect::<Vec<u32>>());
    env.bind_buffer(0, 1, &vec![0; (n * 4) as usize]);
    measure("buffer copy (uvec4)", || {
        dispatch(&copy, &mut env, [256, 1, 1]).unwrap().instructions
    });
}
