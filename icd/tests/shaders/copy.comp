#version 450
// dst[i] = src[i], 16 bytes per invocation: a memory-bound kernel.
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer Src { uvec4 a[]; } src;
layout(set = 0, binding = 1) writeonly buffer Dst { uvec4 b[]; } dst;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < src.a.length())
        dst.b[i] = src.a[i];
}
