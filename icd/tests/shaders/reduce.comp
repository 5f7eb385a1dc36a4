#version 450
// Sums 256 values per workgroup in shared memory; one result per group,
// stored at the group's ID (which includes a vkCmdDispatchBase offset).
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer Src { uint v[]; } src;
layout(set = 0, binding = 1) buffer Dst { uint sums[]; } dst;
shared uint part[256];
void main() {
    uint l = gl_LocalInvocationID.x;
    part[l] = src.v[gl_WorkGroupID.x * 256u + l];
    barrier();
    for (uint s = 128u; s > 0u; s >>= 1) {
        if (l < s) part[l] += part[l + s];
        barrier();
    }
    if (l == 0u) dst.sums[gl_WorkGroupID.x] = part[0] + gl_NumWorkGroups.x * 1000000u;
}
