//! Subgroup built-ins and operations with this core's subgroup size of 1.

mod support;
use support::*;

#[test]
fn subgroup_operations_have_size_one_semantics() {
    let src = r#"
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_vote : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_shuffle_relative : require
#extension GL_KHR_shader_subgroup_clustered : require
layout(local_size_x = 8, local_size_y = 2) in;
layout(set = 0, binding = 0) buffer Out { uint r[]; };
void main() {
    uint i = gl_LocalInvocationIndex;
    uint o = (gl_WorkGroupID.x * 16u + i) * 24u;
    uint v = i * 3u + 1u;
    r[o + 0] = gl_SubgroupSize;
    r[o + 1] = gl_SubgroupInvocationID;
    r[o + 2] = gl_NumSubgroups;
    r[o + 3] = gl_SubgroupID;
    r[o + 4] = subgroupElect() ? 1u : 0u;
    r[o + 5] = uint(subgroupAll(v > 3u)) | uint(subgroupAny(v > 3u)) << 1 | uint(subgroupAllEqual(v)) << 2;
    uvec4 b = subgroupBallot(v > 3u);
    r[o + 6] = b.x | b.y | b.z | b.w << 8;
    r[o + 7] = subgroupBallotBitCount(b) + 10u * subgroupBallotExclusiveBitCount(b);
    r[o + 8] = subgroupBroadcastFirst(v) + subgroupBroadcast(v, 0u);
    r[o + 9] = subgroupAdd(v) + subgroupMul(v) + subgroupMin(v) + subgroupMax(v);
    r[o + 10] = subgroupExclusiveAdd(v);
    r[o + 11] = subgroupExclusiveMul(v);
    r[o + 12] = subgroupExclusiveMin(v);
    r[o + 13] = uint(subgroupExclusiveMax(int(v)));
    r[o + 14] = subgroupInclusiveAdd(v) + subgroupAnd(v) + subgroupOr(v) + subgroupXor(v);
    r[o + 15] = subgroupShuffle(v, 0u) + subgroupShuffleXor(v, 0u);
    r[o + 16] = subgroupShuffleUp(v, 0u) + subgroupShuffleDown(v, 0u);
    r[o + 17] = subgroupClusteredAdd(v, 1u);
    r[o + 18] = floatBitsToUint(subgroupExclusiveAdd(float(v)) + subgroupAdd(float(v)));
    r[o + 19] = gl_SubgroupEqMask.x | gl_SubgroupGeMask.x << 1 | gl_SubgroupGtMask.x << 2
              | gl_SubgroupLeMask.x << 3 | gl_SubgroupLtMask.x << 4;
    r[o + 20] = subgroupBallotFindLSB(b) + subgroupBallotFindMSB(b);
    r[o + 21] = uint(subgroupBallotBitExtract(b, 0u)) | uint(subgroupInverseBallot(b)) << 1;
    r[o + 22] = floatBitsToUint(subgroupExclusiveMin(float(v)));
    r[o + 23] = uint(subgroupExclusiveAnd(v)) ^ subgroupExclusiveOr(v);
    subgroupBarrier();
    subgroupMemoryBarrier();
}
"#;
    let p = program(src);
    assert!(
        !p.info().uses_barriers,
        "subgroup barriers are no-ops at size 1"
    );
    let mut env = HostEnv::new();
    let out = env.bind_buffer(0, 0, &vec![0; 2 * 16 * 24]);
    dispatch(&p, &mut env, [2, 1, 1]).unwrap();
    let r = env.read_words(out, 2 * 16 * 24);
    for g in 0..2 {
        for i in 0..16u32 {
            let at = (g * 16 + i as usize) * 24;
            let v = i * 3 + 1;
            let bit = u32::from(v > 3);
            let want: [u32; 24] = [
                1,
                0,
                16,
                i,
                1,
                bit | bit << 1 | 1 << 2,
                bit,
                bit,
                2 * v,
                v + v + v + v,
                0,
                1,
                u32::MAX,
                i32::MIN as u32,
                v + v + v + v,
                2 * v,
                2 * v,
                v,
                (0.0f32 + v as f32).to_bits(),
                1 | 1 << 1 | 1 << 3,
                if bit == 1 {
                    0
                } else {
                    u32::MAX.wrapping_mul(2)
                },
                bit | bit << 1,
                f32::INFINITY.to_bits(),
                u32::MAX,
            ];
            assert_eq!(&r[at..at + 24], &want, "group {g}, invocation {i}");
        }
    }
}
