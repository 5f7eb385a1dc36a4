//! Compute kernels for the loader tests and benchmarks: GLSL from
//! `tests/shaders/` compiled by glslangValidator, one pipeline over one
//! descriptor set, and the descriptor writes the tests need.

use ash::vk;

use super::Ctx;

/// SPIR-V of `tests/shaders/<name>`, compiled with glslangValidator
/// (Debian's glslang-tools).
pub fn spirv(name: &str) -> Vec<u32> {
    let src = format!("{}/tests/shaders/{name}", env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("panthor-vk-{}-{name}.spv", std::process::id()));
    let run = std::process::Command::new("glslangValidator")
        .args(["-V", "--target-env", "vulkan1.1", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .expect("glslangValidator (Debian package glslang-tools)");
    assert!(
        run.status.success(),
        "glslang failed on {src}: {}",
        String::from_utf8_lossy(&run.stdout)
    );
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    words(&bytes)
}

/// Little-endian 32-bit words of `bytes`.
pub fn words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The little-endian bytes of `words`.
pub fn bytes_of(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A compute pipeline over one set whose binding `i` has type `bindings[i]`
/// (one descriptor each), with `push` bytes of push constants.
pub struct Kernel {
    pub set_layout: vk::DescriptorSetLayout,
    pub layout: vk::PipelineLayout,
    pub pipeline: vk::Pipeline,
    pub pool: vk::DescriptorPool,
    pub set: vk::DescriptorSet,
}

impl Kernel {
    pub fn new(ctx: &Ctx, shader: &str, bindings: &[vk::DescriptorType], push: u32) -> Kernel {
        let d = &ctx.device;
        let b: Vec<_> = bindings
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(i as u32)
                    .descriptor_type(t)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        let code = spirv(shader);
        // SAFETY: valid create infos; `destroy` frees what is made here.
        unsafe {
            let set_layout = d
                .create_descriptor_set_layout(
                    &vk::DescriptorSetLayoutCreateInfo::default().bindings(&b),
                    None,
                )
                .unwrap();
            let ranges = [vk::PushConstantRange::default()
                .stage_flags(vk::ShaderStageFlags::COMPUTE)
                .size(push.max(4))];
            let sets = [set_layout];
            let mut li = vk::PipelineLayoutCreateInfo::default().set_layouts(&sets);
            if push > 0 {
                li = li.push_constant_ranges(&ranges);
            }
            let layout = d.create_pipeline_layout(&li, None).unwrap();
            let module = d
                .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&code), None)
                .unwrap();
            let stage = vk::PipelineShaderStageCreateInfo::default()
                .stage(vk::ShaderStageFlags::COMPUTE)
                .module(module)
                .name(c"main");
            let info = vk::ComputePipelineCreateInfo::default()
                .stage(stage)
                .layout(layout);
            let pipeline = d
                .create_compute_pipelines(vk::PipelineCache::null(), &[info], None)
                .expect("vkCreateComputePipelines")[0];
            d.destroy_shader_module(module, None);
            let sizes: Vec<_> = bindings
                .iter()
                .map(|&t| vk::DescriptorPoolSize {
                    ty: t,
                    descriptor_count: 1,
                })
                .collect();
            let pool = d
                .create_descriptor_pool(
                    &vk::DescriptorPoolCreateInfo::default()
                        .max_sets(1)
                        .pool_sizes(&sizes),
                    None,
                )
                .unwrap();
            let set = d
                .allocate_descriptor_sets(
                    &vk::DescriptorSetAllocateInfo::default()
                        .descriptor_pool(pool)
                        .set_layouts(&sets),
                )
                .unwrap()[0];
            Kernel {
                set_layout,
                layout,
                pipeline,
                pool,
                set,
            }
        }
    }

    /// Binding `binding` = the whole of storage buffer `buffer`.
    pub fn buffer(&self, ctx: &Ctx, binding: u32, buffer: vk::Buffer) {
        let info = [vk::DescriptorBufferInfo {
            buffer,
            offset: 0,
            range: vk::WHOLE_SIZE,
        }];
        self.write(
            ctx,
            vk::WriteDescriptorSet::default()
                .dst_binding(binding)
                .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                .buffer_info(&info),
        );
    }

    /// Binding `binding` = an image view and/or sampler, as `ty` wants.
    pub fn image(
        &self,
        ctx: &Ctx,
        binding: u32,
        ty: vk::DescriptorType,
        view: vk::ImageView,
        sampler: vk::Sampler,
        layout: vk::ImageLayout,
    ) {
        let info = [vk::DescriptorImageInfo {
            sampler,
            image_view: view,
            image_layout: layout,
        }];
        self.write(
            ctx,
            vk::WriteDescriptorSet::default()
                .dst_binding(binding)
                .descriptor_type(ty)
                .image_info(&info),
        );
    }

    /// Binding `binding` = a texel buffer view of type `ty`.
    pub fn texel_buffer(
        &self,
        ctx: &Ctx,
        binding: u32,
        ty: vk::DescriptorType,
        view: vk::BufferView,
    ) {
        let views = [view];
        self.write(
            ctx,
            vk::WriteDescriptorSet::default()
                .dst_binding(binding)
                .descriptor_type(ty)
                .texel_buffer_view(&views),
        );
    }

    fn write(&self, ctx: &Ctx, w: vk::WriteDescriptorSet<'_>) {
        let w = w.dst_set(self.set).descriptor_count(1);
        // SAFETY: a valid write into this kernel's set.
        unsafe { ctx.device.update_descriptor_sets(&[w], &[]) };
    }

    pub fn bind(&self, ctx: &Ctx, cb: vk::CommandBuffer) {
        // SAFETY: recording.
        unsafe {
            ctx.device
                .cmd_bind_pipeline(cb, vk::PipelineBindPoint::COMPUTE, self.pipeline);
            ctx.device.cmd_bind_descriptor_sets(
                cb,
                vk::PipelineBindPoint::COMPUTE,
                self.layout,
                0,
                &[self.set],
                &[],
            );
        }
    }

    pub fn destroy(self, ctx: &Ctx) {
        // SAFETY: the work using them completed.
        unsafe {
            ctx.device.destroy_descriptor_pool(self.pool, None);
            ctx.device.destroy_pipeline(self.pipeline, None);
            ctx.device.destroy_pipeline_layout(self.layout, None);
            ctx.device
                .destroy_descriptor_set_layout(self.set_layout, None);
        }
    }
}
