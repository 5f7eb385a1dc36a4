//! What decoding refuses, and by which name; the container path; the
//! program info; and a seeded fuzz over mutated modules checking that no
//! input makes the decoder or the interpreter panic.

mod support;
use panthor_shader::{
    BinaryError, DecodeError, Descriptor, Program, Resource, ResourceKind, ShaderBinary,
    WorkgroupParams,
};
use support::*;

const HEADER: &str = r#"
               OpCapability Shader
               OpMemoryModel Logical GLSL450
               OpEntryPoint GLCompute %main "main"
               OpExecutionMode %main LocalSize 1 1 1
       %void = OpTypeVoid
         %fn = OpTypeFunction %void
"#;

const EMPTY_MAIN: &str = r#"
       %main = OpFunction %void None %fn
      %entry = OpLabel
               OpReturn
               OpFunctionEnd
"#;

fn decode_asm(asm: &str) -> Result<Program, DecodeError> {
    program_words(assemble(asm))
}

#[test]
fn unsupported_capability_is_named() {
    let asm = format!("OpCapability Geometry\n{HEADER}{EMPTY_MAIN}");
    assert_eq!(
        decode_asm(&asm).unwrap_err(),
        DecodeError::Capability("Geometry".into())
    );
    let asm = format!("OpCapability Float16\n{HEADER}{EMPTY_MAIN}");
    assert_eq!(
        decode_asm(&asm).unwrap_err(),
        DecodeError::Capability("Float16".into())
    );
}

#[test]
fn unsupported_capability_from_hand_written_words() {
    // OpCapability Shader; OpCapability Tessellation (3); OpMemoryModel
    // Logical GLSL450; OpEntryPoint GLCompute %1 "main"; OpExecutionMode
    // %1 LocalSize 1 1 1; void, fn type, function with one block.
    let words: Vec<u32> = vec![
        0x0723_0203,
        0x0001_0300,
        0,
        8,
        0, //
        0x0002_0011,
        1, //
        0x0002_0011,
        3, //
        0x0003_000e,
        0,
        1, //
        0x0005_000f,
        5,
        1,
        u32::from_le_bytes(*b"main"),
        0, //
        0x0006_0010,
        1,
        17,
        1,
        1,
        1, //
        0x0002_0013,
        2, //
        0x0003_0021,
        3,
        2, //
        0x0005_0036,
        2,
        1,
        0,
        3, //
        0x0002_00f8,
        4,           //
        0x0001_00fd, //
        0x0001_0038,
    ];
    assert_eq!(
        program_words(words.clone()).unwrap_err(),
        DecodeError::Capability("Tessellation".into())
    );
    // The same module with the second capability also Shader decodes.
    let mut ok = words;
    ok[8] = 1;
    program_words(ok).expect("valid module");
}

/// A module from its parts: extra capabilities/extensions, annotations,
/// types and globals, and the body of main's only block (before OpReturn).
fn module(preamble: &str, annotations: &str, globals: &str, body: &str) -> String {
    format!(
        "OpCapability Shader\n{preamble}\nOpMemoryModel Logical GLSL450\nOpEntryPoint GLCompute %main \"main\"\n\
         OpExecutionMode %main LocalSize 1 1 1\n{annotations}\n%void = OpTypeVoid\n%fn = OpTypeFunction %void\n\
         {globals}\n%main = OpFunction %void None %fn\n%entry = OpLabel\n{body}\nOpReturn\nOpFunctionEnd\n"
    )
}

#[test]
fn refusals_name_what_is_unsupported() {
    let vec4 = "%float = OpTypeFloat 32\n%v4 = OpTypeVector %float 4\n";
    let cases: Vec<(String, DecodeError)> = vec![
        (module("OpExtension \"SPV_KHR_ray_tracing\"", "", "", ""), DecodeError::Extension("SPV_KHR_ray_tracing".into())),
        (module("%x = OpExtInstImport \"OpenCL.std\"", "", "", ""), DecodeError::ExtInstSet("OpenCL.std".into())),
        (
            module("", "", &format!("{vec4}%ptr = OpTypePointer Output %v4\n%out = OpVariable %ptr Output"), "%z = OpLoad %v4 %out"),
            DecodeError::StorageClass("Output".into()),
        ),
        (
            module(
                "",
                "OpDecorate %coord BuiltIn FragCoord",
                &format!("{vec4}%ptr = OpTypePointer Input %v4\n%coord = OpVariable %ptr Input"),
                "%z = OpLoad %v4 %coord",
            ),
            DecodeError::BuiltIn("FragCoord".into()),
        ),
        (
            module(
                "",
                "OpDecorate %tex DescriptorSet 0\nOpDecorate %tex Binding 0",
                &format!(
                    "{vec4}%v2 = OpTypeVector %float 2\n%img = OpTypeImage %float 2D 0 0 0 1 Unknown\n\
                     %si = OpTypeSampledImage %img\n%ptr = OpTypePointer UniformConstant %si\n\
                     %tex = OpVariable %ptr UniformConstant\n%half = OpConstant %float 0.5\n\
                     %uv = OpConstantComposite %v2 %half %half"
                ),
                "%s = OpLoad %si %tex\n%t = OpImageSampleImplicitLod %v4 %s %uv",
            ),
            DecodeError::Opcode("ImageSampleImplicitLod".into()),
        ),
        (module("", "", "", "%r = OpFunctionCall %void %main"), DecodeError::Recursion(0)),
        (
            module("", "", "%float = OpTypeFloat 32\n%one = OpConstant %float 1", "%k = OpDPdx %float %one"),
            DecodeError::Opcode("DPdx".into()),
        ),
        (
            module("", "", "%f16 = OpTypeFloat 16", ""),
            DecodeError::Type("16-bit floats".into()),
        ),
    ];
    for (asm, want) in cases {
        let got = decode_asm(&asm);
        match (&got, &want) {
            (Err(DecodeError::Recursion(_)), DecodeError::Recursion(_)) => {}
            (Err(e), w) if e == w => {}
            _ => panic!(
                "for\n{asm}\nexpected {want:?}, got {:?}",
                got.as_ref().map(|_| "a program").map_err(|e| e.to_string())
            ),
        }
    }
}

#[test]
fn missing_entry_point_and_missing_layout_decorations() {
    let words = assemble(&format!("{HEADER}{EMPTY_MAIN}"));
    let b = ShaderBinary {
        entry: "other".into(),
        spec: vec![],
        spirv: words,
    };
    assert_eq!(
        Program::new(&b).unwrap_err(),
        DecodeError::EntryPointNotFound("other".into())
    );

    let asm = format!(
        "OpDecorate %S Block\nOpDecorate %buf DescriptorSet 0\nOpDecorate %buf Binding 0\n{HEADER}\
         %uint = OpTypeInt 32 0\n%S = OpTypeStruct %uint %uint\n%ptr = OpTypePointer StorageBuffer %S\n\
         %buf = OpVariable %ptr StorageBuffer\n%pu = OpTypePointer StorageBuffer %uint\n%c1 = OpConstant %uint 1\n{}",
        EMPTY_MAIN.replace("OpReturn", "%p = OpAccessChain %pu %buf %c1\n%v = OpLoad %uint %p\nOpReturn")
    );
    // Annotations must precede types: move the decorations after the header.
    let asm = asm.replacen("OpDecorate %S Block\nOpDecorate %buf DescriptorSet 0\nOpDecorate %buf Binding 0\n", "", 1).replacen(
        "%void = OpTypeVoid",
        "OpDecorate %S Block\nOpDecorate %buf DescriptorSet 0\nOpDecorate %buf Binding 0\n%void = OpTypeVoid",
        1,
    );
    let err = decode_asm(&asm.replace(
        "OpMemoryModel",
        "OpExtension \"SPV_KHR_storage_buffer_storage_class\"\nOpMemoryModel",
    ))
    .unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::MissingDecoration {
                decoration: "Offset (member)",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn containers_and_garbage() {
    let words = ShaderBinary {
        entry: "main".into(),
        spec: vec![],
        spirv: assemble(&format!("{HEADER}{EMPTY_MAIN}")),
    }
    .to_words();
    Program::from_words(&words).expect("container decodes");
    let mut bad = words.clone();
    bad[0] = 0;
    assert_eq!(
        Program::from_words(&bad).unwrap_err(),
        DecodeError::Binary(BinaryError::BadMagic(0))
    );
    assert!(matches!(
        Program::from_words(&words[..words.len() - 1]).unwrap_err(),
        DecodeError::Binary(BinaryError::Truncated { .. })
    ));
    let garbage = ShaderBinary {
        entry: "main".into(),
        spec: vec![],
        spirv: vec![0x0723_0203, 0x10000, 0, 5, 0, 0xffff_ffff, 7],
    };
    assert!(matches!(
        Program::new(&garbage).unwrap_err(),
        DecodeError::Parse(_)
    ));
    let empty = ShaderBinary {
        entry: "main".into(),
        spec: vec![],
        spirv: vec![],
    };
    assert!(Program::new(&empty).is_err());
}

#[test]
fn program_info_lists_resources() {
    let src = r#"
#version 450
layout(local_size_x = 8, local_size_y = 4) in;
layout(set = 0, binding = 0) buffer S { uint s[]; };
layout(set = 0, binding = 1) uniform U { vec4 u; };
layout(set = 1, binding = 0, rgba8) uniform readonly image2D storage[3];
layout(set = 1, binding = 1) uniform texture2D sampled;
layout(set = 1, binding = 2) uniform sampler smp;
layout(set = 1, binding = 3) uniform sampler2D combined;
layout(set = 2, binding = 0) uniform samplerBuffer utb;
layout(set = 2, binding = 1, r32f) uniform imageBuffer stb;
layout(set = 3, binding = 0) buffer Unused { uint nothing; };
layout(push_constant) uniform P { uint a; vec2 b; } pc;
void main() {
    vec4 t = imageLoad(storage[gl_LocalInvocationIndex % 3u], ivec2(0)) + texelFetch(sampler2D(sampled, smp), ivec2(0), 0)
        + textureLod(combined, vec2(0.0), 0.0) + texelFetch(utb, 0) + u;
    imageStore(stb, 0, t);
    s[0] = pc.a + uint(pc.b.y);
}
"#;
    let p = program(src);
    let info = p.info();
    assert_eq!(info.workgroup_size, [8, 4, 1]);
    assert_eq!(info.push_constant_bytes, 16);
    assert!(!info.uses_sparse_residency);
    let mut res = info.resources.clone();
    res.sort_by_key(|r| (r.set, r.binding));
    let r = |set, binding, kind, count| Resource {
        set,
        binding,
        kind,
        count,
    };
    assert_eq!(
        res,
        vec![
            r(0, 0, ResourceKind::StorageBuffer, Some(1)),
            r(0, 1, ResourceKind::UniformBuffer, Some(1)),
            r(1, 0, ResourceKind::StorageImage, Some(3)),
            r(1, 1, ResourceKind::SampledImage, Some(1)),
            r(1, 2, ResourceKind::Sampler, Some(1)),
            r(1, 3, ResourceKind::CombinedImageSampler, Some(1)),
            r(2, 0, ResourceKind::UniformTexelBuffer, Some(1)),
            r(2, 1, ResourceKind::StorageTexelBuffer, Some(1)),
        ],
        "the unused binding (3, 0) is not listed"
    );
}

/// Sources whose mutations the fuzz test decodes and runs.
const FUZZ_SOURCES: &[&str] = &[
    r#"
#version 450
layout(local_size_x = 4) in;
layout(set = 0, binding = 0) buffer A { uint a[]; };
layout(set = 0, binding = 1) buffer B { vec4 b[]; };
shared uint s[4];
uint helper(inout uint x) { x += 3u; return x * 2u; }
void main() {
    uint i = gl_LocalInvocationIndex;
    s[i] = a[i];
    barrier();
    uint acc = 0u;
    for (uint k = 0u; k < 4u; k++) { if (s[k] == 7u) continue; acc += helper(s[k]); }
    switch (acc & 3u) { case 0u: acc++; break; case 1u: acc *= 3u; default: acc ^= 5u; }
    b[i] = vec4(float(acc), sin(float(i)), float(atomicAdd(a[0], 1u)), length(b[i].xyz));
}
"#,
    r#"
#version 450
#extension GL_ARB_sparse_texture2 : require
layout(local_size_x = 2, local_size_y = 2) in;
layout(set = 0, binding = 0, rgba32f) uniform image2D img;
layout(set = 0, binding = 1) uniform sampler2D tex;
layout(set = 0, binding = 2) buffer O { uvec4 o[]; };
void main() {
    ivec2 p = ivec2(gl_LocalInvocationID.xy);
    vec4 v;
    int c = sparseImageLoadARB(img, p, v);
    vec4 t = textureLod(tex, vec2(p) / 2.0, 0.0) + texelFetch(tex, p, 0);
    imageStore(img, p.yx, v + t);
    o[gl_LocalInvocationIndex] = uvec4(sparseTexelsResidentARB(c) ? 1u : 0u, floatBitsToUint(v.x), imageSize(img));
}
"#,
    r#"
#version 450
#extension GL_ARB_gpu_shader_int64 : require
layout(local_size_x = 2) in;
layout(set = 0, binding = 0) buffer A { uint64_t w[]; };
layout(push_constant) uniform P { mat4 m; int n; } pc;
struct Pair { uint a; float b[3]; };
void bump(inout Pair p, uint k) { p.a += k; p.b[k % 3u] *= 2.0; }
void main() {
    Pair p = Pair(gl_LocalInvocationIndex, float[3](1.0, 2.0, 3.0));
    for (int k = 0; k < pc.n && k < 8; k++) bump(p, uint(k));
    vec4 v = pc.m * vec4(p.b[0], p.b[1], p.b[2], 1.0);
    dmat2 d = dmat2(v.x, v.y, v.z, v.w);
    w[p.a % 4u] = uint64_t(determinant(d)) + (w[1] >> 3) * uint64_t(p.a);
}
"#,
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n.max(1)
    }
}

fn fuzz_env(p: &Program) -> HostEnv {
    let mut env = HostEnv::new();
    let img = env.add_image(Format::Rgba32f, [4, 4, 1], 1, 1);
    let smp = env.add_sampler(Filter::Linear);
    for r in &p.info().resources {
        for index in 0..r.count.unwrap_or(2).min(4) {
            let d = match r.kind {
                ResourceKind::StorageBuffer | ResourceKind::UniformBuffer => {
                    let va = env.alloc_words(&[7; 64]);
                    Descriptor::Buffer { va, size: 256 }
                }
                ResourceKind::Sampler => Descriptor::Sampler(smp),
                ResourceKind::CombinedImageSampler => Descriptor::CombinedImageSampler {
                    image: img,
                    sampler: smp,
                },
                _ => Descriptor::Image(img),
            };
            env.descriptors.insert((r.set, r.binding, index), d);
        }
    }
    env.cancel_after = Some(2);
    env.push = vec![1; 64];
    env
}

#[test]
fn mutated_modules_never_panic() {
    let iterations: usize = std::env::var("SHADER_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let mut decoded = 0;
    let mut ran = 0;
    for (si, src) in FUZZ_SOURCES.iter().enumerate() {
        let base = compile(src);
        let optimized = compile_optimized(src);
        for (vi, words) in [base, optimized].into_iter().enumerate() {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (si as u64 * 1000 + vi as u64 + 1));
            for iter in 0..iterations {
                let mut w = words.clone();
                for _ in 0..1 + rng.below(3) {
                    let at = 5 + rng.below(w.len() - 5);
                    match rng.below(5) {
                        0 => w[at] ^= 1 << rng.below(32),
                        1 => w[at] = rng.below(64) as u32,
                        2 => w[at] = w[5 + rng.below(w.len() - 5)],
                        3 => w[at] = (w[at] & 0xffff) | (rng.below(12) as u32) << 16,
                        _ => w.truncate(at.max(6)),
                    }
                }
                let outcome = std::panic::catch_unwind(|| {
                    let Ok(p) = program_words(w.clone()) else {
                        return (false, false);
                    };
                    let mut env = fuzz_env(&p);
                    let params = WorkgroupParams {
                        local_size: p.info().workgroup_size.map(|s| s.clamp(1, 4)),
                        workgroup_id: [0; 3],
                        num_workgroups: [1; 3],
                    };
                    let ran = p.run_workgroup(&mut env, &params).is_ok();
                    (true, ran)
                });
                match outcome {
                    Ok((d, r)) => {
                        decoded += usize::from(d);
                        ran += usize::from(r);
                    }
                    Err(_) => panic!(
                        "source {si} variant {vi} iteration {iter}: a mutated module panicked"
                    ),
                }
            }
        }
    }
    // The mutations must reach the interpreter often enough to mean
    // something.
    assert!(
        decoded > iterations / 20,
        "only {decoded} mutated modules decoded"
    );
    assert!(ran > iterations / 50, "only {ran} mutated modules ran");
    println!("{decoded} mutated modules decoded, {ran} ran to completion");
}
