#version 450
#extension GL_EXT_shader_image_load_formatted : require
// The driver's texel copy, for what the command stream cannot move: texels
// of 1 or 2 bytes. Each side is a texel buffer, an image level's layers
// (1D/2D/cube, arrays) or a 3D image level, viewed with a UINT format of
// the texel's size, so every format of that size is copied bit for bit.
// Invocation (x, y, z) copies texels (8x .. 8x + 7, y, z) of the region;
// z counts layers or 3D slices. Clears read a constant instead of a source.
layout(local_size_x = 16, local_size_y = 16) in;

layout(set = 0, binding = 0) uniform uimageBuffer srcTexels;
layout(set = 0, binding = 1) uniform uimage2DArray srcLayers;
layout(set = 0, binding = 2) uniform uimage3D srcVolume;
layout(set = 0, binding = 3) writeonly uniform uimageBuffer dstTexels;
layout(set = 0, binding = 4) writeonly uniform uimage2DArray dstLayers;
layout(set = 0, binding = 5) writeonly uniform uimage3D dstVolume;

// Kinds of side (the w of src and dst).
const int TEXELS = 0;
const int LAYERS = 1;
const int VOLUME = 2;
const int COLOR = 3;

layout(push_constant) uniform Copy {
    ivec4 src;     // first texel (x, y, layer or slice), kind
    ivec4 dst;
    uvec4 extent;  // texels per row, rows, layers or slices
    uvec4 pitch;   // buffer row length and image height in texels: src, dst
    uvec4 color;   // what a COLOR source reads
} pc;

int texel_index(ivec3 p, uint row_length, uint image_height) {
    return int((uint(p.z) * image_height + uint(p.y)) * row_length + uint(p.x));
}

void main() {
    // A run of RUN texels along x per invocation: the push constants are
    // read once per run, not once per texel.
    const int RUN = 8;
    ivec3 first = ivec3(gl_GlobalInvocationID) * ivec3(RUN, 1, 1);
    ivec3 extent = ivec3(pc.extent.xyz);
    if (any(greaterThanEqual(first, extent)))
        return;
    int src_kind = pc.src.w;
    int dst_kind = pc.dst.w;
    ivec3 src = pc.src.xyz;
    ivec3 dst = pc.dst.xyz;
    uvec4 pitch = pc.pitch;
    uvec4 color = pc.color;
    int end = min(first.x + RUN, extent.x);
    for (ivec3 i = first; i.x < end; i.x++) {
        ivec3 s = src + i;
        ivec3 d = dst + i;
        uvec4 t;
        if (src_kind == TEXELS)
            t = imageLoad(srcTexels, texel_index(s, pitch.x, pitch.y));
        else if (src_kind == LAYERS)
            t = imageLoad(srcLayers, s);
        else if (src_kind == VOLUME)
            t = imageLoad(srcVolume, s);
        else
            t = color;
        if (dst_kind == TEXELS)
            imageStore(dstTexels, texel_index(d, pitch.z, pitch.w), t);
        else if (dst_kind == LAYERS)
            imageStore(dstLayers, d, t);
        else
            imageStore(dstVolume, d, t);
    }
}
