//! Compute pipelines: the shader module's entry point, specialized and
//! checked by the virtual Mali's shader core decoder at creation (so an
//! unsupported shader fails here, with the reason, not at dispatch), then
//! uploaded as a program image (`mali_csf::desc::code`) next to its
//! `Shader Program` descriptor.
//!
//! Descriptor addressing, as panvk does on v10: resource table entry 0 is
//! the driver's table (a dummy sampler, then every dynamic buffer of the
//! layout, set by set); entry `s + 1` is descriptor set `s`.

use std::sync::Arc;

use ash::vk;
use mali_csf::desc::{BindingSlot, FauSysvals, ProgramCode, ShaderProgram, DESCRIPTOR_SIZE};
use panthor_shader::binary::{ShaderBinary, SpecValue};
use panthor_shader::Program;

use crate::descriptor_set_layout::is_dynamic;
use crate::descriptor_set_layout::DescriptorSetLayout;
use crate::device::{Device, DeviceRef};
use crate::guard::{guard, guard_void, VkError, VkResult};
use crate::memory::Memory;
use crate::pipeline_cache::{key_of, Compiled, PipelineCache};
use crate::pipeline_layout::PipelineLayout;
use crate::shader_module::ShaderModule;
use crate::{handle, vk_bail};

/// Slots of the driver table before the dynamic buffers (the dummy sampler).
pub const DRIVER_TABLE_DYNAMIC_BASE: u32 = 1;

pub struct ComputePipeline {
    pub sets: Vec<Arc<DescriptorSetLayout>>,
    pub push_constant_size: u32,
    pub local_size: [u32; 3],
    pub shared_bytes: u32,
    /// The `Shader Program` descriptor (the program image follows it).
    pub spd: u64,
    _code: Memory,
}

impl ComputePipeline {
    /// # Safety
    /// `h` is null or a live pipeline of ours.
    pub unsafe fn from_handle<'a>(h: vk::Pipeline) -> VkResult<&'a Arc<ComputePipeline>> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    /// First driver-table slot of each set's dynamic buffers.
    pub fn dynamic_bases(sets: &[Arc<DescriptorSetLayout>]) -> Vec<u32> {
        let mut next = DRIVER_TABLE_DYNAMIC_BASE;
        sets.iter()
            .map(|s| {
                let base = next;
                next += s.dynamic_buffers;
                base
            })
            .collect()
    }

    fn new(
        dev: &DeviceRef,
        cache: Option<&PipelineCache>,
        info: &vk::ComputePipelineCreateInfo<'_>,
    ) -> VkResult<Self> {
        // SAFETY: the layout and module are ours (valid usage).
        let layout = unsafe { PipelineLayout::from_handle(info.layout) }?;
        let stage = &info.stage;
        if stage.stage != vk::ShaderStageFlags::COMPUTE {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "stage {:?} in a compute pipeline",
                stage.stage
            );
        }
        // SAFETY: as above.
        let module = unsafe { ShaderModule::from_handle(stage.module) }?;
        // SAFETY: pName is a NUL-terminated string (valid usage).
        let entry = unsafe { std::ffi::CStr::from_ptr(stage.p_name) }
            .to_str()
            .map_err(|_| VkError::new(vk::Result::ERROR_UNKNOWN, "entry name is not UTF-8"))?;
        let binary = ShaderBinary {
            entry: entry.to_owned(),
            // SAFETY: the specialization info is valid when present.
            spec: unsafe { specialization(stage.p_specialization_info) }?,
            spirv: module.words.clone(),
        };
        Self::build(dev, cache, &binary, layout)
    }

    /// A pipeline running `binary` over `layout`: checked by the shader
    /// core's decoder, then uploaded. The driver's own kernels (`meta_copy`)
    /// are made here too.
    pub fn build(
        dev: &DeviceRef,
        cache: Option<&PipelineCache>,
        binary: &ShaderBinary,
        layout: &PipelineLayout,
    ) -> VkResult<Self> {
        if !dev.shader_core {
            vk_bail!(
                vk::Result::ERROR_FEATURE_NOT_PRESENT,
                "this device has no shader compiler (only the virtual Mali runs shaders)"
            );
        }
        let compiled = compile(binary, cache, layout)?;
        let dyn_base = Self::dynamic_bases(&layout.sets);
        let mut bindings = Vec::new();
        for (s, set) in layout.sets.iter().enumerate() {
            for b in &set.bindings {
                bindings.push(if is_dynamic(b.ty) {
                    BindingSlot {
                        set: s as u32,
                        binding: b.binding,
                        table: 0,
                        first: dyn_base[s] + b.first,
                        stride: 1,
                    }
                } else {
                    BindingSlot {
                        set: s as u32,
                        binding: b.binding,
                        table: s as u32 + 1,
                        first: b.first,
                        stride: b.slots_per_element(),
                    }
                });
            }
        }
        let image = ProgramCode {
            bindings,
            push_offset: FauSysvals::SIZE,
            shader: binary.to_words(),
        };
        let words = image.to_words();
        // The SPD, then the image at a 64-byte boundary.
        let image_off = 64u64;
        let mem = Memory::new(dev, image_off + 4 * words.len() as u64)?;
        let spd = ShaderProgram {
            registers_32: false,
            preload: 0,
            binary: mem.va + image_off,
        };
        let p = mem.cpu_ptr()?;
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        // SAFETY: the fresh mapping holds image_off + bytes.len() bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(spd.pack().as_ptr(), p, DESCRIPTOR_SIZE);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.add(image_off as usize), bytes.len());
        }
        Ok(ComputePipeline {
            sets: layout.sets.clone(),
            push_constant_size: layout.push_constant_size,
            local_size: compiled.local_size,
            shared_bytes: compiled.shared_bytes,
            spd: mem.va,
            _code: mem,
        })
    }
}

/// Checks `binary` with the shader core's decoder (or finds it in `cache`)
/// and reports what dispatches need to know.
fn compile(
    binary: &ShaderBinary,
    cache: Option<&PipelineCache>,
    layout: &PipelineLayout,
) -> VkResult<Compiled> {
    let spec: Vec<u32> = binary
        .spec
        .iter()
        .flat_map(|v| {
            let x = u64::from_le_bytes(pad8(&v.bytes));
            [v.id, x as u32, (x >> 32) as u32, v.bytes.len() as u32]
        })
        .collect();
    let name: Vec<u32> = binary.entry.bytes().map(u32::from).collect();
    let key = key_of(&[&binary.spirv, &name, &spec]);
    if let Some(c) = cache.and_then(|c| c.get(key)) {
        return Ok(c);
    }
    let program = Program::new(binary).map_err(|e| {
        VkError::new(
            vk::Result::ERROR_UNKNOWN,
            format!(
                "the shader core cannot run entry point {:?}: {e}",
                binary.entry
            ),
        )
    })?;
    let info = program.info();
    for r in &info.resources {
        let known = layout
            .sets
            .get(r.set as usize)
            .is_some_and(|s| s.bindings.iter().any(|b| b.binding == r.binding));
        if !known {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "the shader uses set {} binding {}, which the pipeline layout lacks",
                r.set,
                r.binding
            );
        }
    }
    let c = Compiled {
        local_size: info.workgroup_size,
        shared_bytes: info.shared_memory_bytes,
    };
    if let Some(cache) = cache {
        cache.insert(key, c);
    }
    Ok(c)
}

/// A specialization value zero-extended to 8 bytes.
fn pad8(b: &[u8]) -> [u8; 8] {
    let mut w = [0; 8];
    for (d, s) in w.iter_mut().zip(b) {
        *d = *s;
    }
    w
}

/// The specialization constants of a stage.
///
/// # Safety
/// `info` is null or a valid `VkSpecializationInfo`.
unsafe fn specialization(info: *const vk::SpecializationInfo<'_>) -> VkResult<Vec<SpecValue>> {
    // SAFETY: forwarded contract.
    let Some(info) = (unsafe { info.as_ref() }) else {
        return Ok(Vec::new());
    };
    // SAFETY: the arrays hold the counts given.
    let (entries, data) = unsafe {
        (
            handle::slice(info.p_map_entries, info.map_entry_count),
            handle::slice(info.p_data as *const u8, info.data_size as u32),
        )
    };
    entries
        .iter()
        .map(|e| {
            let bytes = e
                .offset
                .checked_add(e.size as u32)
                .and_then(|end| data.get(e.offset as usize..end as usize))
                .ok_or_else(|| {
                    VkError::new(
                        vk::Result::ERROR_UNKNOWN,
                        format!(
                            "specialization constant {} lies outside pData",
                            e.constant_id
                        ),
                    )
                })?;
            Ok(SpecValue {
                id: e.constant_id,
                bytes: bytes.to_vec(),
            })
        })
        .collect()
}

pub unsafe extern "system" fn create_compute_pipelines(
    device: vk::Device,
    cache: vk::PipelineCache,
    count: u32,
    infos: *const vk::ComputePipelineCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Pipeline,
) -> vk::Result {
    guard("vkCreateComputePipelines", || {
        // SAFETY: the device is ours; infos and out hold count entries.
        let (dev, infos) = unsafe { (Device::from_handle(device)?, handle::slice(infos, count)) };
        // SAFETY: a null cache is None; others are ours.
        let cache = unsafe { PipelineCache::optional(cache) };
        let mut result = vk::Result::SUCCESS;
        for (i, info) in infos.iter().enumerate() {
            let h = match ComputePipeline::new(dev, cache, info) {
                Ok(p) => handle::new_handle(Arc::new(p)),
                Err(e) => {
                    log::error!("vkCreateComputePipelines[{i}]: {}", e.why);
                    result = e.result;
                    vk::Pipeline::null()
                }
            };
            // SAFETY: out holds count handles.
            unsafe { *out.add(i) = h };
        }
        Ok(result)
    })
}

pub unsafe extern "system" fn destroy_pipeline(
    _device: vk::Device,
    pipeline: vk::Pipeline,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyPipeline", || {
        // SAFETY: the handle is ours; command buffers keep their own Arc.
        drop(unsafe { handle::free_handle::<Arc<ComputePipeline>, _>(pipeline) });
        Ok(())
    })
}
