//! Images through the texture-unit calls: storage image loads, stores and
//! atomics, texel fetches and explicit-lod sampling (nearest and linear),
//! gathers, texel buffers, size/level/sample queries, and sparse residency
//! (GL_ARB_sparse_texture2) against HostEnv's residency map.

mod support;
use panthor_shader::{Descriptor, ResourceKind};
use support::*;

fn fv(v: [f32; 4]) -> [u32; 4] {
    v.map(f32::to_bits)
}

#[test]
fn storage_image_load_store_and_atomics() {
    let src = r#"
#version 450
layout(local_size_x = 4, local_size_y = 4) in;
layout(set = 0, binding = 0, rgba32f) uniform readonly image2D src;
layout(set = 0, binding = 1, rgba32f) uniform writeonly image2D dst;
layout(set = 0, binding = 2, r32ui) uniform uimage2D counters;
layout(set = 0, binding = 3, r32i) uniform iimage2DArray signed_layers;
void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    vec4 v = imageLoad(src, p);
    imageStore(dst, p.yx, v * 2.0 + vec4(float(p.x), 0.0, 0.0, 0.0));
    imageAtomicAdd(counters, ivec2(p.x & 1, 0), 1u);
    uint old = imageAtomicMax(counters, ivec2(2, 0), uint(p.x * 10 + p.y));
    imageAtomicExchange(counters, ivec2(9, 9), 5u); // out of bounds: dropped
    int s = imageLoad(signed_layers, ivec3(p, 1)).x;
    imageStore(signed_layers, ivec3(p, 0), ivec4(s - 1));
}
"#;
    let p = program(src);
    let kinds: Vec<ResourceKind> = p.info().resources.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, vec![ResourceKind::StorageImage; 4]);
    let mut env = HostEnv::new();
    let src_img = env.add_image(Format::Rgba32f, [8, 8, 1], 1, 1);
    let dst_img = env.add_image(Format::Rgba32f, [8, 8, 1], 1, 1);
    let counters = env.add_image(Format::R32ui, [4, 1, 1], 1, 1);
    let layers = env.add_image(Format::R32i, [8, 8, 1], 2, 1);
    for y in 0..8 {
        for x in 0..8 {
            env.set_texel(src_img, [x, y, 0], 0, fv([x as f32, y as f32, 1.0, -1.0]));
            env.set_texel(layers, [x, y, 1], 0, [(x * 8 + y) as u32, 0, 0, 0]);
        }
    }
    env.descriptors
        .insert((0, 0, 0), Descriptor::Image(src_img));
    env.descriptors
        .insert((0, 1, 0), Descriptor::Image(dst_img));
    env.descriptors
        .insert((0, 2, 0), Descriptor::Image(counters));
    env.descriptors.insert((0, 3, 0), Descriptor::Image(layers));
    dispatch(&p, &mut env, [2, 2, 1]).unwrap();
    for y in 0..8 {
        for x in 0..8 {
            let want = fv([2.0 * x as f32 + x as f32, 2.0 * y as f32, 2.0, -2.0]);
            assert_eq!(env.texel(dst_img, [y, x, 0], 0), want, "dst at {y},{x}");
            assert_eq!(env.texel(layers, [x, y, 0], 0)[0] as i32, x * 8 + y - 1);
        }
    }
    assert_eq!(env.texel(counters, [0, 0, 0], 0)[0], 32);
    assert_eq!(env.texel(counters, [1, 0, 0], 0)[0], 32);
    assert_eq!(env.texel(counters, [2, 0, 0], 0)[0], 77);
}

#[test]
fn texel_fetch_sampling_gather_and_queries() {
    let src = r#"
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) uniform sampler2D nearest_tex;
layout(set = 0, binding = 1) uniform sampler2DArray linear_arr;
layout(set = 0, binding = 2) uniform samplerCubeArray cubes;
layout(set = 0, binding = 3) uniform texture2D separate;
layout(set = 0, binding = 4) uniform sampler separate_sampler;
layout(set = 0, binding = 5) uniform sampler2DShadow shadow;
layout(set = 1, binding = 0) buffer Out { vec4 r[]; };
void main() {
    r[0] = texelFetch(nearest_tex, ivec2(3, 2), 0);
    r[1] = texelFetch(nearest_tex, ivec2(1, 1), 1);
    r[2] = textureLod(nearest_tex, vec2(0.3, 0.6), 0.0);
    r[3] = textureLod(linear_arr, vec3(0.25, 0.25, 1.0), 0.0);
    r[4] = textureLod(sampler2D(separate, separate_sampler), vec2(0.9, 0.1), 0.0);
    r[5] = textureGather(sampler2D(separate, separate_sampler), vec2(0.5, 0.5), 1);
    r[6] = vec4(textureSize(nearest_tex, 0), textureSize(nearest_tex, 1));
    r[7] = vec4(textureSize(linear_arr, 0), float(textureQueryLevels(nearest_tex)));
    r[8] = vec4(textureSize(cubes, 0), 0.0);
    r[9] = vec4(textureLod(shadow, vec3(0.3, 0.6, 25.0), 0.0), textureLod(shadow, vec3(0.3, 0.6, 26.0), 0.0), 0.0, 0.0);
    r[10] = textureLodOffset(nearest_tex, vec2(0.3, 0.6), 0.0, ivec2(1, -1));
    r[11] = texelFetchOffset(nearest_tex, ivec2(3, 2), 0, ivec2(-1, 1));
}
"#;
    let p = program(src);
    let mut env = HostEnv::new();
    let tex = env.add_image(Format::Rgba32f, [8, 4, 1], 1, 2);
    for y in 0..4 {
        for x in 0..8 {
            env.set_texel(
                tex,
                [x, y, 0],
                0,
                fv([x as f32, y as f32, (x * 10 + y) as f32, 1.0]),
            );
        }
    }
    env.set_texel(tex, [1, 1, 0], 1, fv([0.5, 0.25, 0.125, 1.0]));
    let arr = env.add_image(Format::Rgba32f, [4, 4, 1], 3, 1);
    for y in 0..4 {
        for x in 0..4 {
            env.set_texel(arr, [x, y, 1], 0, fv([x as f32, y as f32, 100.0, 0.0]));
        }
    }
    let cube = env.add_image(Format::Rgba8, [16, 16, 1], 12, 1);
    let nearest = env.add_sampler(Filter::Nearest);
    let linear = env.add_sampler(Filter::Linear);
    env.descriptors.insert(
        (0, 0, 0),
        Descriptor::CombinedImageSampler {
            image: tex,
            sampler: nearest,
        },
    );
    env.descriptors.insert(
        (0, 1, 0),
        Descriptor::CombinedImageSampler {
            image: arr,
            sampler: linear,
        },
    );
    env.descriptors.insert(
        (0, 2, 0),
        Descriptor::CombinedImageSampler {
            image: cube,
            sampler: linear,
        },
    );
    env.descriptors.insert((0, 3, 0), Descriptor::Image(tex));
    env.descriptors
        .insert((0, 4, 0), Descriptor::Sampler(nearest));
    env.descriptors.insert(
        (0, 5, 0),
        Descriptor::CombinedImageSampler {
            image: tex,
            sampler: nearest,
        },
    );
    let out = env.bind_buffer(1, 0, &[0; 48]);
    dispatch(&p, &mut env, [1, 1, 1]).unwrap();
    let r = f32s(&env.read_words(out, 48));
    let row = |i: usize| [r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]];
    assert_eq!(row(0), [3.0, 2.0, 32.0, 1.0]);
    assert_eq!(row(1), [0.5, 0.25, 0.125, 1.0]);
    // (0.3 * 8, 0.6 * 4) = (2.4, 2.4): texel (2, 2).
    assert_eq!(row(2), [2.0, 2.0, 22.0, 1.0]);
    // Linear at (1.0, 1.0) texel space - 0.5: halfway between 0 and 1.
    assert_eq!(row(3), [0.5, 0.5, 100.0, 0.0]);
    assert_eq!(row(4), [7.0, 0.0, 70.0, 1.0]);
    // Gather of component 1 (y) around (4, 2): texels (3|4, 1|2).
    assert_eq!(row(5), [2.0, 2.0, 1.0, 1.0]);
    assert_eq!(row(6), [8.0, 4.0, 4.0, 2.0]);
    assert_eq!(row(7), [4.0, 4.0, 3.0, 2.0]);
    assert_eq!(
        row(8),
        [16.0, 16.0, 2.0, 0.0],
        "cube arrays report layers / 6"
    );
    // Depth compare: 25 <= z(=22)? no -> 0; texture z is 22 at (2, 2).
    assert_eq!(row(9), [0.0, 0.0, 0.0, 0.0]);
    assert_eq!(row(10), [3.0, 1.0, 31.0, 1.0]);
    assert_eq!(row(11), [2.0, 3.0, 23.0, 1.0]);
}

#[test]
fn texel_buffers() {
    let src = r#"
#version 450
layout(local_size_x = 4) in;
layout(set = 0, binding = 0) uniform usamplerBuffer lookup;
layout(set = 0, binding = 1, r32ui) uniform uimageBuffer out_texels;
void main() {
    int i = int(gl_GlobalInvocationID.x);
    uint v = texelFetch(lookup, i).x;
    imageStore(out_texels, i, uvec4(v * 3u + uint(textureSize(lookup)) + uint(imageSize(out_texels)) * 100u));
}
"#;
    let p = program(src);
    let kinds: Vec<ResourceKind> = p.info().resources.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ResourceKind::UniformTexelBuffer,
            ResourceKind::StorageTexelBuffer
        ]
    );
    let mut env = HostEnv::new();
    let lookup = env.add_image(Format::R32ui, [8, 1, 1], 1, 1);
    let out = env.add_image(Format::R32ui, [8, 1, 1], 1, 1);
    for x in 0..8 {
        env.set_texel(lookup, [x, 0, 0], 0, [x as u32 + 1, 0, 0, 0]);
    }
    env.descriptors.insert((0, 0, 0), Descriptor::Image(lookup));
    env.descriptors.insert((0, 1, 0), Descriptor::Image(out));
    dispatch(&p, &mut env, [2, 1, 1]).unwrap();
    for x in 0..8 {
        assert_eq!(
            env.texel(out, [x, 0, 0], 0)[0],
            (x as u32 + 1) * 3 + 8 + 800
        );
    }
}

#[test]
fn sparse_residency_follows_the_residency_map() {
    let src = r#"
#version 450
#extension GL_ARB_sparse_texture2 : require
layout(local_size_x = 8, local_size_y = 8) in;
layout(set = 0, binding = 0, rgba32f) uniform readonly image2D img;
layout(set = 0, binding = 1) uniform sampler2D tex;
layout(set = 1, binding = 0) buffer Out { uvec4 r[]; };
void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    uint i = uint(p.y * 8 + p.x);
    vec4 a, b, c;
    int ca = sparseImageLoadARB(img, p, a);
    int cb = sparseTexelFetchARB(tex, p, 0, b);
    int cc = sparseTextureLodARB(tex, (vec2(p) + 0.5) / 8.0, 0.0, c);
    r[i] = uvec4(sparseTexelsResidentARB(ca) ? 1u : 0u,
                 sparseTexelsResidentARB(cb) ? 1u : 0u,
                 sparseTexelsResidentARB(cc) ? 1u : 0u,
                 floatBitsToUint(a.x + b.y + c.z));
}
"#;
    let p = program(src);
    assert!(p.info().uses_sparse_residency);
    let mut env = HostEnv::new();
    let img = env.add_image(Format::Rgba32f, [8, 8, 1], 1, 1);
    for y in 0..8 {
        for x in 0..8 {
            env.set_texel(img, [x, y, 0], 0, fv([1.0, 2.0, 4.0, 0.0]));
            // A checkerboard of 2x2 blocks is not resident.
            if ((x / 2) + (y / 2)) % 2 == 1 {
                env.set_resident(img, [x, y, 0], 0, false);
            }
        }
    }
    let nearest = env.add_sampler(Filter::Nearest);
    env.descriptors.insert((0, 0, 0), Descriptor::Image(img));
    env.descriptors.insert(
        (0, 1, 0),
        Descriptor::CombinedImageSampler {
            image: img,
            sampler: nearest,
        },
    );
    let out = env.bind_buffer(1, 0, &[0; 256]);
    dispatch(&p, &mut env, [1, 1, 1]).unwrap();
    let r = env.read_words(out, 256);
    for y in 0..8 {
        for x in 0..8 {
            let i = (y * 8 + x) * 4;
            let resident = ((x / 2) + (y / 2)) % 2 == 0;
            let flag = u32::from(resident);
            assert_eq!(&r[i..i + 3], &[flag, flag, flag], "residency at {x},{y}");
            let value = if resident { 7.0f32 } else { 0.0 };
            assert_eq!(f32::from_bits(r[i + 3]), value, "value at {x},{y}");
        }
    }
}

#[test]
fn three_d_images_and_grad_sampling() {
    let src = r#"
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0, rgba32f) uniform image3D vol;
layout(set = 0, binding = 1) uniform sampler3D vol_tex;
layout(set = 1, binding = 0) buffer Out { vec4 r[]; };
void main() {
    imageStore(vol, ivec3(1, 2, 3), vec4(9.0));
    r[0] = imageLoad(vol, ivec3(1, 2, 3));
    r[1] = vec4(imageSize(vol), 0.0);
    r[2] = textureGrad(vol_tex, vec3(0.1, 0.1, 0.9), vec3(0.0), vec3(0.0));
}
"#;
    let p = program(src);
    let mut env = HostEnv::new();
    let vol = env.add_image(Format::Rgba32f, [4, 4, 4], 1, 1);
    let s = env.add_sampler(Filter::Nearest);
    env.set_texel(vol, [0, 0, 0], 0, fv([5.0, 6.0, 7.0, 8.0]));
    env.descriptors.insert((0, 0, 0), Descriptor::Image(vol));
    env.descriptors.insert(
        (0, 1, 0),
        Descriptor::CombinedImageSampler {
            image: vol,
            sampler: s,
        },
    );
    let out = env.bind_buffer(1, 0, &[0; 12]);
    dispatch(&p, &mut env, [1, 1, 1]).unwrap();
    let r = f32s(&env.read_words(out, 12));
    assert_eq!(&r[0..4], &[9.0; 4]);
    assert_eq!(&r[4..8], &[4.0, 4.0, 4.0, 0.0]);
    // HostEnv samples 3D images at layer 0 (its sampler is 2D only).
    assert_eq!(&r[8..12], &[5.0, 6.0, 7.0, 8.0]);
}

#[test]
fn cts_style_image_shaders_decode() {
    // Shapes of dEQP-VK.sparse_resources shaders: every image type with
    // sparse loads, fetches, lod sampling, gathers and residency checks.
    let decls = [
        ("image2D", "ivec2(1, 1)"),
        ("image2DArray", "ivec3(1, 1, 1)"),
        ("image3D", "ivec3(1, 1, 1)"),
        ("imageCube", "ivec3(1, 1, 5)"),
        ("imageCubeArray", "ivec3(1, 1, 7)"),
        ("image1D", "1"),
        ("image1DArray", "ivec2(1, 1)"),
        ("image2DMS", "ivec2(1, 1), 2"),
    ];
    for (ty, coord) in decls {
        let sparse = if ty == "image1D" || ty == "image1DArray" {
            format!("texel = imageLoad(u_image, {coord}); int code = 0;")
        } else {
            format!("int code = sparseImageLoadARB(u_image, {coord}, texel);")
        };
        let src = format!(
            r#"
#version 450
#extension GL_ARB_sparse_texture2 : require
#extension GL_ARB_sparse_texture_clamp : require
layout(local_size_x = 4, local_size_y = 4) in;
layout(set = 0, binding = 0, rgba16f) uniform {ty} u_image;
layout(set = 0, binding = 1) uniform sampler2DArray u_tex;
layout(set = 0, binding = 2, r32ui) uniform uimage2D u_residency;
void main() {{
    vec4 texel;
    {sparse}
    vec4 lod_texel, gathered, clamped;
    int c2 = sparseTextureLodARB(u_tex, vec3(0.5, 0.5, 1.0), 1.0, lod_texel);
    int c3 = sparseTextureGatherARB(u_tex, vec3(0.5, 0.5, 0.0), gathered, 2);
    int c4 = sparseTextureGradClampARB(u_tex, vec3(0.5), vec2(0.0), vec2(0.0), 0.5, clamped);
    imageAtomicOr(u_residency, ivec2(gl_LocalInvocationID.xy),
        (sparseTexelsResidentARB(code) ? 1u : 0u) | (sparseTexelsResidentARB(c2 | c3 | c4) ? 2u : 0u));
    imageStore(u_image, {coord}, texel + lod_texel + gathered + clamped + vec4(imageSize(u_image).x));
}}
"#
        );
        let p = program(&src);
        assert!(p.info().uses_sparse_residency, "{ty}");
    }
}
