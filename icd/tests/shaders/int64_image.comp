#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_shader_image_int64 : require
#extension GL_ARB_sparse_texture2 : require
// For each texel of a sparse R64_UINT image: its residency, the value a
// sparse load reads, and what an atomic add returns; resident texels then
// hold value + ADD, and a second image gets ~value by imageStore.
layout(local_size_x = 8, local_size_y = 8) in;
layout(set = 0, binding = 0, r64ui) uniform u64image2D img;
layout(set = 0, binding = 1, r64ui) uniform writeonly u64image2D inverted;
layout(set = 0, binding = 2) writeonly buffer Loaded { uint64_t loaded[]; };
layout(set = 0, binding = 3) writeonly buffer Old { uint64_t old[]; };
layout(set = 0, binding = 4) writeonly buffer Resident { uint resident[]; };
const uint64_t ADD = (1ul << 33) + 5ul;
void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    uint i = uint(p.y * imageSize(img).x + p.x);
    u64vec4 v;
    int code = sparseImageLoadARB(img, p, v);
    bool r = sparseTexelsResidentARB(code);
    resident[i] = r ? 1u : 0u;
    loaded[i] = r ? v.x : 0ul;
    old[i] = r ? imageAtomicAdd(img, p, ADD) : 0ul;
    imageStore(inverted, p, u64vec4(~v.x, 0ul, 0ul, 1ul));
}
