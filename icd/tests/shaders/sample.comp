#version 450
// The texture unit through descriptors: for each point p of an 8x8 grid,
// uv = (p + 0.25) / 8 sampled five ways into out[5 * i ..].
layout(local_size_x = 8, local_size_y = 8) in;
layout(set = 0, binding = 0) uniform sampler2D linearTex; // linear, mipmaps linear
layout(set = 0, binding = 1) uniform texture2D tex;       // the same image
layout(set = 0, binding = 2) uniform sampler nearest;     // nearest, mipmaps nearest
layout(set = 0, binding = 3) uniform samplerBuffer values; // R32_SFLOAT texel buffer
layout(set = 0, binding = 4) writeonly buffer Out { vec4 v[]; } o;
void main() {
    ivec2 p = ivec2(gl_LocalInvocationID.xy);
    uint i = p.y * 8 + p.x;
    vec2 uv = (vec2(p) + 0.25) / 8.0;
    o.v[i * 5 + 0] = textureLod(linearTex, uv, 0.0);
    o.v[i * 5 + 1] = textureLod(linearTex, uv, 1.0);
    o.v[i * 5 + 2] = textureLod(linearTex, uv, 0.5);
    o.v[i * 5 + 3] = textureLod(sampler2D(tex, nearest), uv, 1.0);
    o.v[i * 5 + 4] = vec4(texelFetch(values, int(i)).x,
                          texelFetch(sampler2D(tex, nearest), p / 2, 1).x, 0.0, 0.0);
}
