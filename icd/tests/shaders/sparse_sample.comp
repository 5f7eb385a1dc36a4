#version 450
#extension GL_ARB_sparse_texture2 : require
// Residency through sampling: one nearest sample per 16x16 texels of a
// 256x256 sparse image (out[0..256]), then two linear samples whose taps
// straddle x = 128 or lie right of it (out[256], out[257]).
layout(local_size_x = 16, local_size_y = 16) in;
layout(set = 0, binding = 0) uniform sampler2D nearestTex;
layout(set = 0, binding = 1) uniform sampler2D linearTex;
layout(set = 0, binding = 2) writeonly buffer Out { uvec4 v[]; } o;

uvec4 result(int code, vec4 t) {
    return uvec4(sparseTexelsResidentARB(code) ? 1u : 0u, uvec3(round(t.xyz * 255.0)));
}

void main() {
    uvec2 p = gl_LocalInvocationID.xy;
    vec4 t;
    int code = sparseTextureLodARB(nearestTex, (vec2(p) * 16.0 + 8.5) / 256.0, 0.0, t);
    o.v[p.y * 16 + p.x] = result(code, t);
    if (p == uvec2(0)) {
        code = sparseTextureLodARB(linearTex, vec2(128.0, 64.5) / 256.0, 0.0, t);
        o.v[256] = result(code, t);
        code = sparseTextureLodARB(linearTex, vec2(130.0, 64.5) / 256.0, 0.0, t);
        o.v[257] = result(code, t);
    }
}
