#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_shader_image_int64 : require
// An R64_UINT storage texel buffer: each invocation adds to its texel with
// a 64-bit atomic and stores the old value, shifted, into a second one.
layout(local_size_x = 64) in;
layout(set = 0, binding = 0, r64ui) uniform u64imageBuffer counters;
layout(set = 0, binding = 1, r64ui) uniform writeonly u64imageBuffer olds;
void main() {
    int i = int(gl_GlobalInvocationID.x);
    uint64_t old = imageAtomicAdd(counters, i, (uint64_t(i) << 36) | 3ul);
    imageStore(olds, i, u64vec4(old << 4, 0ul, 0ul, 1ul));
}
