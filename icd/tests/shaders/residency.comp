#version 450
#extension GL_ARB_sparse_texture2 : require
// For each texel of a sparse storage image: 1 where resident, 0 where not;
// resident texels also get their coordinates written back into the image.
layout(local_size_x = 8, local_size_y = 8) in;
layout(set = 0, binding = 0, r32ui) uniform uimage2D img;
layout(set = 0, binding = 1) writeonly buffer Out { uint r[]; } res;
void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    ivec2 size = imageSize(img);
    uvec4 texel;
    int code = sparseImageLoadARB(img, p, texel);
    bool resident = sparseTexelsResidentARB(code);
    res.r[p.y * size.x + p.x] = resident ? 1u : 0u;
    if (resident) imageStore(img, p, uvec4(uint(p.x) | (uint(p.y) << 16)));
}
