#version 450
// dst[i] = src[i] * mul + add + workgroup id, for i < src.length().
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer Src { uint a[]; } src;
layout(set = 0, binding = 1) writeonly buffer Dst { uint b[]; } dst;
layout(push_constant) uniform P { uint mul; uint add; } pc;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < src.a.length())
        dst.b[i] = src.a[i] * pc.mul + pc.add + gl_WorkGroupID.x;
}
