//! Memory: workgroup memory with barriers, atomics, robust buffer access,
//! faults, specialization constants, push constants, OpArrayLength,
//! explicit layouts (std140, std430, row-major matrices), descriptor
//! arrays and descriptor kind errors.

mod support;
use panthor_shader::{Descriptor, ExecError, Fault, ImageHandle, ResourceKind, RuntimeError};
use support::*;

#[test]
fn shared_memory_reduction_over_256_invocations() {
    let src = r#"
#version 450
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { uint v[]; };
layout(set = 0, binding = 1) buffer Out { uint sums[]; };
shared uint partial[256];
shared uint biggest;
void main() {
    uint l = gl_LocalInvocationIndex;
    partial[l] = v[gl_GlobalInvocationID.x];
    if (l == 0u) biggest = 0u;
    barrier();
    atomicMax(biggest, partial[l]);
    for (uint stride = 128u; stride > 0u; stride >>= 1) {
        if (l < stride) partial[l] += partial[l + stride];
        barrier();
    }
    if (l == 0u) {
        sums[gl_WorkGroupID.x * 2u] = partial[0];
        sums[gl_WorkGroupID.x * 2u + 1u] = biggest;
    }
}
"#;
    let p = program(src);
    assert!(p.info().uses_barriers);
    assert_eq!(p.info().shared_memory_bytes, 257 * 4);
    let groups = 6;
    let input: Vec<u32> = (0..256 * groups)
        .map(|i: u32| i.wrapping_mul(7919) % 10007)
        .collect();
    let mut env = HostEnv::new();
    env.bind_buffer(0, 0, &input);
    let out = env.bind_buffer(0, 1, &vec![0; 2 * groups as usize]);
    dispatch(&p, &mut env, [groups, 1, 1]).unwrap();
    let got = env.read_words(out, 2 * groups as usize);
    for g in 0..groups as usize {
        let chunk = &input[g * 256..(g + 1) * 256];
        assert_eq!(got[2 * g], chunk.iter().sum::<u32>(), "sum of group {g}");
        assert_eq!(
            got[2 * g + 1],
            *chunk.iter().max().unwrap(),
            "max of group {g}"
        );
    }
}

#[test]
fn atomic_counter_hands_out_unique_slots_across_workgroups() {
    let src = r#"
#version 450
#extension GL_EXT_shader_atomic_int64 : require
#extension GL_ARB_gpu_shader_int64 : require
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer Counter {
    uint count; int smin; int smax; uint umin; uint umax; uint ands; uint ors; uint xors;
    uint exchanged; uint cas; uint64_t wide; int64_t wmin;
};
layout(set = 0, binding = 1) buffer Slots { uint slots[]; };
shared uint local_count;
void main() {
    if (gl_LocalInvocationIndex == 0u) local_count = 0u;
    barrier();
    uint id = gl_GlobalInvocationID.x;
    uint slot = atomicAdd(count, 1u);
    slots[slot] = id + 1u;
    atomicAdd(local_count, 2u);
    int s = int(id) - 300;
    atomicMin(smin, s);
    atomicMax(smax, s);
    atomicMin(umin, id + 5u);
    atomicMax(umax, id * 3u);
    atomicAnd(ands, ~(1u << (id & 31u)));
    atomicOr(ors, 1u << (id % 29u));
    atomicXor(xors, id);
    atomicExchange(exchanged, 77u);
    atomicCompSwap(cas, id, id + 1u);
    atomicAdd(wide, uint64_t(id) << 32);
    atomicMin(wmin, -int64_t(id) * 1000000000l);
    barrier();
    if (gl_LocalInvocationIndex == 0u && local_count != 128u) slots[0] = 0xdeadu;
}
"#;
    let p = program(src);
    let n = 64 * 16;
    let mut env = HostEnv::new();
    let init = [
        0u32,
        0x7fff_ffff,
        0x8000_0000,
        u32::MAX,
        0,
        u32::MAX,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ];
    let c = env.bind_buffer(0, 0, &init);
    let s = env.bind_buffer(0, 1, &vec![0; n]);
    dispatch(&p, &mut env, [16, 1, 1]).unwrap();
    let counter = env.read_words(c, 14);
    assert_eq!(counter[0], n as u32);
    let mut slots = env.read_words(s, n);
    slots.sort_unstable();
    assert_eq!(
        slots,
        (1..=n as u32).collect::<Vec<_>>(),
        "every invocation got exactly one slot"
    );
    assert_eq!(counter[1] as i32, -300);
    assert_eq!(counter[2] as i32, n as i32 - 301);
    assert_eq!(counter[3], 5);
    assert_eq!(counter[4], (n as u32 - 1) * 3);
    assert_eq!(counter[5], 0);
    assert_eq!(counter[6], (1u32 << 29) - 1);
    assert_eq!(counter[7], (0..n as u32).fold(0, |a, b| a ^ b));
    assert_eq!(counter[8], 77);
    assert_eq!(
        counter[9], n as u32,
        "compare-exchange chain runs in invocation order"
    );
    let wide = u64::from(counter[10]) | u64::from(counter[11]) << 32;
    assert_eq!(
        wide,
        (0..n as u64).map(|i| i << 32).fold(0u64, u64::wrapping_add)
    );
    let wmin = (u64::from(counter[12]) | u64::from(counter[13]) << 32) as i64;
    assert_eq!(wmin, -(n as i64 - 1) * 1_000_000_000);
}

#[test]
fn shared_memory_takes_64_bit_atomics() {
    let src = r#"
#version 450
#extension GL_EXT_shader_atomic_int64 : require
#extension GL_ARB_gpu_shader_int64 : require
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer Out { uint64_t sum; int64_t lowest; uint64_t swapped; };
shared uint64_t s_sum;
shared int64_t s_min;
shared uint64_t s_cas;
void main() {
    uint id = gl_LocalInvocationIndex;
    if (id == 0u) { s_sum = 0ul; s_min = 0l; s_cas = 0ul; }
    barrier();
    atomicAdd(s_sum, (uint64_t(id) << 34) | 1ul);
    atomicMin(s_min, -int64_t(id) << 33);
    atomicCompSwap(s_cas, uint64_t(id) << 40, uint64_t(id + 1u) << 40);
    barrier();
    if (id == 0u) { sum = s_sum; lowest = s_min; swapped = s_cas; }
}
"#;
    let p = program(src);
    let mut env = HostEnv::new();
    let out = env.bind_buffer(0, 0, &[0; 6]);
    dispatch(&p, &mut env, [1, 1, 1]).unwrap();
    let w = env.read_words(out, 6);
    let get = |i: usize| u64::from(w[2 * i]) | u64::from(w[2 * i + 1]) << 32;
    let sum = (0..64u64)
        .map(|i| (i << 34) | 1)
        .fold(0u64, u64::wrapping_add);
    assert_eq!(get(0), sum);
    assert_eq!(get(1) as i64, -63i64 << 33);
    assert_eq!(
        get(2),
        64u64 << 40,
        "the compare-exchange chain ran in order"
    );
}

#[test]
fn robust_buffer_access_drops_writes_and_reads_zero() {
    let src = r#"
#version 450
layout(local_size_x = 32) in;
layout(set = 0, binding = 0) buffer Data { uint data[]; };
layout(set = 0, binding = 1) buffer Out { uint reads[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    data[i] = i + 100u;
    reads[i] = data[i + 8u] + data[i - 40u];
}
"#;
    let p = program(src);
    let mut env = HostEnv::new();
    // 32 words mapped, but the descriptor covers only the first 16.
    let va = env.alloc_words(&[7; 32]);
    env.descriptors
        .insert((0, 0, 0), Descriptor::Buffer { va, size: 64 });
    let out = env.bind_buffer(0, 1, &[0xffff_ffff; 32]);
    dispatch(&p, &mut env, [1, 1, 1]).unwrap();
    let data = env.read_words(va, 32);
    assert_eq!(&data[..16], &(100..116).collect::<Vec<u32>>()[..]);
    assert_eq!(
        &data[16..],
        &[7; 16],
        "writes past the descriptor range are dropped"
    );
    let reads = env.read_words(out, 32);
    for (i, &r) in reads.iter().enumerate() {
        // Invocations run in order: data[i + 8] is written by then only if
        // i + 8 < i (never), so in-range reads see the old 7 or a value
        // written by an earlier invocation.
        let ahead = if i + 8 < 16 { 7 } else { 0 };
        assert_eq!(r, ahead, "read {i}");
    }
}

#[test]
fn unmapped_buffer_faults_with_its_address() {
    let src = r#"
#version 450
layout(local_size_x = 4) in;
layout(set = 0, binding = 0) buffer Data { uint data[]; };
void main() { data[gl_GlobalInvocationID.x] = 1u; }
"#;
    let p = program(src);
    let mut env = HostEnv::new();
    let bad = BASE_VA - 0x1000;
    env.descriptors.insert(
        (0, 0, 0),
        Descriptor::Buffer {
            va: bad,
            size: 4096,
        },
    );
    let err = dispatch(&p, &mut env, [1, 1, 1]).unwrap_err();
    assert_eq!(
        err,
        ExecError::Fault(Fault {
            va: bad,
            write: true
        })
    );

    // A missing descriptor faults when the binding is first used.
    let mut env = HostEnv::new();
    match dispatch(&p, &mut env, [1, 1, 1]) {
        Err(ExecError::Fault(f)) => assert_eq!(f.va >> 32, 0xdead),
        other => panic!("expected a descriptor fault, got {other:?}"),
    }
}

#[test]
fn wrong_descriptor_kind_is_a_runtime_error() {
    let src = r#"
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer Data { uint data[]; };
void main() { data[0] = 1u; }
"#;
    let p = program(src);
    let mut env = HostEnv::new();
    env.descriptors
        .insert((0, 0, 0), Descriptor::Image(ImageHandle(3)));
    let err = dispatch(&p, &mut env, [1, 1, 1]).unwrap_err();
    assert!(
        matches!(
            err,
            ExecError::Runtime(RuntimeError::DescriptorKind {
                set: 0,
                binding: 0,
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn specialization_constants() {
    let src = r#"
#version 450
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 1) const uint SCALE = 2u;
layout(constant_id = 2) const int TABLE = 4;
layout(constant_id = 3) const bool FLAG = false;
layout(constant_id = 4) const float BIAS = 0.5;
const uint DOUBLE_TABLE = uint(TABLE) * 2u;
shared uint scratch[DOUBLE_TABLE];
layout(set = 0, binding = 0) buffer Out { uint r[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    uint local_table[TABLE];
    for (int k = 0; k < TABLE; k++) local_table[k] = uint(k) * SCALE;
    scratch[i % DOUBLE_TABLE] = i;
    r[i * 4u] = local_table[i % uint(TABLE)] + (FLAG ? 1000u : 0u);
    r[i * 4u + 1u] = gl_WorkGroupSize.x;
    r[i * 4u + 2u] = DOUBLE_TABLE;
    r[i * 4u + 3u] = floatBitsToUint(float(i) + BIAS);
}
"#;
    let defaults = program_spec(src, &[]);
    assert_eq!(defaults.info().workgroup_size, [1, 1, 1]);
    assert_eq!(defaults.info().shared_memory_bytes, 8 * 4);
    let p = program_spec(
        src,
        &[(0, 16), (1, 5), (2, 6), (3, 1), (4, 0.25f32.to_bits())],
    );
    assert_eq!(p.info().workgroup_size, [16, 1, 1]);
    assert_eq!(p.info().shared_memory_bytes, 12 * 4);
    let mut env = HostEnv::new();
    let out = env.bind_buffer(0, 0, &vec![0; 32 * 4]);
    dispatch(&p, &mut env, [2, 1, 1]).unwrap();
    let r = env.read_words(out, 32 * 4);
    for i in 0..32u32 {
        let at = i as usize * 4;
        assert_eq!(r[at], (i % 6) * 5 + 1000);
        assert_eq!(r[at + 1], 16);
        assert_eq!(r[at + 2], 12);
        assert_eq!(f32::from_bits(r[at + 3]), i as f32 + 0.25);
    }
}

#[test]
fn push_constants_and_array_length() {
    let src = r#"
#version 450
layout(local_size_x = 1) in;
layout(push_constant) uniform Push { vec4 scale; int offset; uint count; double wide; } pc;
layout(set = 0, binding = 0) buffer Data { uint header; uint pad; uvec2 items[]; };
layout(set = 0, binding = 1) buffer Out { uint r[]; };
void main() {
    r[0] = floatBitsToUint(pc.scale.y * 2.0);
    r[1] = uint(pc.offset + 1);
    r[2] = pc.count;
    r[3] = uint(items.length());
    r[4] = uint(pc.wide * 4.0);
    items[items.length() - 1].y = header;
}
"#;
    let p = program(src);
    assert_eq!(p.info().push_constant_bytes, 32);
    let mut env = HostEnv::new();
    let mut push = Vec::new();
    for f in [1.0f32, 1.5, 2.0, 3.0] {
        push.extend_from_slice(&f.to_le_bytes());
    }
    push.extend_from_slice(&(-9i32).to_le_bytes());
    push.extend_from_slice(&42u32.to_le_bytes());
    push.extend_from_slice(&2.5f64.to_le_bytes());
    env.push = push;
    // 8 header bytes + 5 items of 8 bytes, plus 4 stray bytes.
    let data = env.bind_buffer(0, 0, &[77, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0]);
    let out = env.bind_buffer(0, 1, &[0; 5]);
    dispatch(&p, &mut env, [1, 1, 1]).unwrap();
    let r = env.read_words(out, 5);
    assert_eq!(f32::from_bits(r[0]), 3.0);
    assert_eq!(r[1] as i32, -8);
    assert_eq!(r[2], 42);
    assert_eq!(r[3], 5);
    assert_eq!(r[4], 10);
    assert_eq!(env.read_words(data + 8 + 4 * 8 + 4, 1), vec![77]);
}

#[test]
fn explicit_layouts_std140_std430_and_row_major() {
    let src = r#"
#version 450
layout(local_size_x = 1) in;
layout(std140, set = 0, binding = 0) uniform U {
    float scalars[3];
    vec3 v3;
    float after_v3;
    mat2 m2;
    layout(row_major) mat3x2 rm;
} u;
struct S { vec3 a; float b; uvec2 c; };
layout(std430, set = 0, binding = 1) buffer B {
    S items[2];
    mat3 m3;
    uint tail;
} b;
layout(std430, set = 0, binding = 2) buffer Out { float r[]; };
void main() {
    r[0] = u.scalars[0] + u.scalars[1] * 10.0 + u.scalars[2] * 100.0;
    r[1] = u.v3.x + u.v3.y * 10.0 + u.v3.z * 100.0 + u.after_v3 * 1000.0;
    vec2 col = u.m2 * vec2(1.0, 10.0);
    r[2] = col.x;
    r[3] = col.y;
    vec2 rmv = u.rm * vec3(1.0, 10.0, 100.0);
    r[4] = rmv.x;
    r[5] = rmv.y;
    r[6] = u.rm[1][0];
    S s = b.items[1];
    r[7] = s.a.z + s.b + float(s.c.y);
    b.items[0] = s;
    b.m3 = transpose(b.m3);
    b.tail = b.tail + 1u;
}
"#;
    let p = program(src);
    let mut env = HostEnv::new();
    let f = |v: f32| v.to_bits();
    // std140: scalars at 0, 16, 32; v3 at 48; after_v3 at 60; m2 columns at
    // 64, 80; rm (row-major 3 columns x 2 rows) rows at 96, 112.
    let mut ubo = vec![0u32; 32];
    ubo[0] = f(1.0);
    ubo[4] = f(2.0);
    ubo[8] = f(3.0);
    ubo[12..15].copy_from_slice(&[f(4.0), f(5.0), f(6.0)]);
    ubo[15] = f(7.0);
    ubo[16..18].copy_from_slice(&[f(1.0), f(2.0)]); // column 0
    ubo[20..22].copy_from_slice(&[f(3.0), f(4.0)]); // column 1
    ubo[24..27].copy_from_slice(&[f(1.0), f(2.0), f(3.0)]); // row 0
    ubo[28..31].copy_from_slice(&[f(4.0), f(5.0), f(6.0)]); // row 1
    env.bind_buffer(0, 0, &ubo);
    // std430: S is 32 bytes (vec3 + float, uvec2, padding to 16).
    let mut ssbo = vec![0u32; 8 * 2 + 12 + 4];
    ssbo[8..16].copy_from_slice(&[f(1.0), f(2.0), f(3.0), f(4.0), 5, 6, 0, 0]);
    for c in 0..3 {
        for r in 0..3 {
            ssbo[16 + c * 4 + r] = f((c * 3 + r) as f32);
        }
    }
    ssbo[28] = 41;
    let bva = env.bind_buffer(0, 1, &ssbo);
    let out = env.bind_buffer(0, 2, &[0; 8]);
    dispatch(&p, &mut env, [1, 1, 1]).unwrap();
    let r = f32s(&env.read_words(out, 8));
    assert_eq!(r[0], 321.0);
    assert_eq!(r[1], 7654.0);
    assert_eq!((r[2], r[3]), (1.0 + 30.0, 2.0 + 40.0));
    assert_eq!((r[4], r[5]), (1.0 + 20.0 + 300.0, 4.0 + 50.0 + 600.0));
    assert_eq!(r[6], 2.0, "rm[1][0] is row 0 of column 1");
    assert_eq!(r[7], 3.0 + 4.0 + 6.0);
    let b = env.read_words(bva, ssbo.len());
    assert_eq!(&b[0..8], &[f(1.0), f(2.0), f(3.0), f(4.0), 5, 6, 0, 0]);
    for c in 0..3 {
        for r in 0..3 {
            assert_eq!(
                f32::from_bits(b[16 + c * 4 + r]),
                (r * 3 + c) as f32,
                "m3 transposed at {c},{r}"
            );
        }
        assert_eq!(b[16 + c * 4 + 3], 0, "matrix column padding untouched");
    }
    assert_eq!(b[28], 42);
}

#[test]
fn descriptor_arrays_with_dynamic_indexes() {
    let src = r#"
#version 450
layout(local_size_x = 4) in;
layout(set = 0, binding = 0) buffer Many { uint v[]; } many[4];
layout(set = 1, binding = 0) buffer Out { uint r[]; };
void main() {
    uint i = gl_LocalInvocationIndex;
    r[i] = many[i].v[0] + uint(many[3 - i].v.length());
    many[i].v[1] = i * 10u;
}
"#;
    let p = program(src);
    let res = &p.info().resources;
    assert!(res.iter().any(|r| r.set == 0
        && r.binding == 0
        && r.count == Some(4)
        && r.kind == ResourceKind::StorageBuffer));
    let mut env = HostEnv::new();
    let vas: Vec<u64> = (0..4)
        .map(|k| env.bind_buffer_index(0, 0, k, &vec![k * 100; 2 + k as usize]))
        .collect();
    let out = env.bind_buffer(1, 0, &[0; 4]);
    dispatch(&p, &mut env, [1, 1, 1]).unwrap();
    let r = env.read_words(out, 4);
    for i in 0..4u32 {
        assert_eq!(r[i as usize], i * 100 + (2 + 3 - i));
        assert_eq!(env.read_words(vas[i as usize] + 4, 1)[0], i * 10);
    }
}

#[test]
fn private_and_local_arrays_with_dynamic_indexes() {
    let src = r#"
#version 450
layout(local_size_x = 8) in;
layout(set = 0, binding = 0) buffer Out { uint r[]; };
uint private_table[5] = uint[](3u, 1u, 4u, 1u, 5u);
void main() {
    uint i = gl_LocalInvocationIndex;
    uint local[4];
    for (uint k = 0u; k < 4u; k++) local[k] = k * k + i;
    private_table[i % 5u] += 10u;
    uint oob = local[i + 2u];
    r[i] = local[i & 3u] * 100u + private_table[i % 5u] + (i + 2u >= 4u ? 0u : oob);
}
"#;
    let p = program(src);
    let mut env = HostEnv::new();
    let out = env.bind_buffer(0, 0, &[0; 8]);
    dispatch(&p, &mut env, [1, 1, 1]).unwrap();
    let r = env.read_words(out, 8);
    let table = [3, 1, 4, 1, 5];
    for i in 0..8u32 {
        let k = i & 3;
        let extra = if i + 2 < 4 { (i + 2) * (i + 2) + i } else { 0 };
        assert_eq!(
            r[i as usize],
            (k * k + i) * 100 + table[(i % 5) as usize] + 10 + extra,
            "invocation {i}"
        );
    }
}
