//! What a module declares it needs: capabilities, extensions, instruction
//! sets, memory model, the entry point and its execution modes. Anything
//! not on these lists is refused by name.

use super::{invalid, lit_at, Decoder, Result};
use crate::error::DecodeError;
use rspirv::dr::Operand;
use spirv::{AddressingModel, Capability as C, ExecutionMode, ExecutionModel, MemoryModel};

const CAPABILITIES: &[C] = &[
    C::Shader,
    C::Matrix,
    C::Int64,
    C::Float64,
    C::Int16,
    C::Int8,
    C::StorageBuffer16BitAccess,
    C::UniformAndStorageBuffer16BitAccess,
    C::StoragePushConstant16,
    C::StorageBuffer8BitAccess,
    C::UniformAndStorageBuffer8BitAccess,
    C::StoragePushConstant8,
    C::ImageQuery,
    C::StorageImageExtendedFormats,
    C::StorageImageReadWithoutFormat,
    C::StorageImageWriteWithoutFormat,
    C::SampledBuffer,
    C::ImageBuffer,
    C::Image1D,
    C::Sampled1D,
    C::SampledRect,
    C::ImageRect,
    C::SampledCubeArray,
    C::ImageCubeArray,
    C::ImageGatherExtended,
    C::SparseResidency,
    C::MinLod,
    C::ImageMSArray,
    C::StorageImageMultisample,
    C::Int64Atomics,
    C::Int64ImageEXT,
    C::GroupNonUniform,
    C::GroupNonUniformVote,
    C::GroupNonUniformBallot,
    C::GroupNonUniformArithmetic,
    C::GroupNonUniformClustered,
    C::GroupNonUniformShuffle,
    C::GroupNonUniformShuffleRelative,
    C::UniformBufferArrayDynamicIndexing,
    C::SampledImageArrayDynamicIndexing,
    C::StorageBufferArrayDynamicIndexing,
    C::StorageImageArrayDynamicIndexing,
    C::ShaderNonUniform,
    C::RuntimeDescriptorArray,
    C::UniformBufferArrayNonUniformIndexing,
    C::SampledImageArrayNonUniformIndexing,
    C::StorageBufferArrayNonUniformIndexing,
    C::StorageImageArrayNonUniformIndexing,
    C::UniformTexelBufferArrayDynamicIndexing,
    C::StorageTexelBufferArrayDynamicIndexing,
    C::UniformTexelBufferArrayNonUniformIndexing,
    C::StorageTexelBufferArrayNonUniformIndexing,
    C::VulkanMemoryModel,
    C::VulkanMemoryModelDeviceScope,
    C::PhysicalStorageBufferAddresses,
    C::DenormPreserve,
    C::DenormFlushToZero,
    C::SignedZeroInfNanPreserve,
    C::RoundingModeRTE,
];

const EXTENSIONS: &[&str] = &[
    "SPV_KHR_storage_buffer_storage_class",
    "SPV_KHR_16bit_storage",
    "SPV_KHR_8bit_storage",
    "SPV_KHR_vulkan_memory_model",
    "SPV_KHR_physical_storage_buffer",
    "SPV_EXT_shader_image_int64",
    "SPV_EXT_physical_storage_buffer",
    "SPV_KHR_non_semantic_info",
    "SPV_EXT_descriptor_indexing",
    "SPV_KHR_float_controls",
    "SPV_GOOGLE_decorate_string",
    "SPV_GOOGLE_hlsl_functionality1",
    "SPV_GOOGLE_user_type",
];

impl Decoder<'_> {
    pub(super) fn check_module(&mut self) -> Result<()> {
        let m = self.m;
        for inst in &m.capabilities {
            match inst.operands.first() {
                Some(Operand::Capability(c)) if CAPABILITIES.contains(c) => {}
                Some(Operand::Capability(c)) => {
                    return Err(DecodeError::Capability(format!("{c:?}")))
                }
                other => return Err(invalid(format!("OpCapability operand {other:?}"))),
            }
        }
        for inst in &m.extensions {
            match inst.operands.first() {
                Some(Operand::LiteralString(s)) if EXTENSIONS.contains(&s.as_str()) => {}
                Some(Operand::LiteralString(s)) => return Err(DecodeError::Extension(s.clone())),
                other => return Err(invalid(format!("OpExtension operand {other:?}"))),
            }
        }
        for inst in &m.ext_inst_imports {
            let id = super::result_id(inst)?;
            match inst.operands.first() {
                Some(Operand::LiteralString(s)) if s == "GLSL.std.450" => self.glsl_set = Some(id),
                Some(Operand::LiteralString(s)) if s.starts_with("NonSemantic.") => {
                    self.ignored_sets.push(id)
                }
                Some(Operand::LiteralString(s)) => return Err(DecodeError::ExtInstSet(s.clone())),
                other => return Err(invalid(format!("OpExtInstImport operand {other:?}"))),
            }
        }
        if let Some(mm) = &m.memory_model {
            match (mm.operands.first(), mm.operands.get(1)) {
                (Some(Operand::AddressingModel(a)), Some(Operand::MemoryModel(mem)))
                    if matches!(
                        a,
                        AddressingModel::Logical | AddressingModel::PhysicalStorageBuffer64
                    ) && matches!(mem, MemoryModel::GLSL450 | MemoryModel::Vulkan) => {}
                (a, mem) => return Err(DecodeError::MemoryModel(format!("{a:?} {mem:?}"))),
            }
        }
        Ok(())
    }

    pub(super) fn find_entry_point(&mut self) -> Result<()> {
        let m = self.m;
        let entry = m.entry_points.iter().find(|ep| {
            matches!(ep.operands.first(), Some(Operand::ExecutionModel(ExecutionModel::GLCompute)))
                && matches!(ep.operands.get(2), Some(Operand::LiteralString(s)) if *s == self.entry_name)
        });
        let Some(entry) = entry else {
            return Err(DecodeError::EntryPointNotFound(self.entry_name.clone()));
        };
        self.entry_fn = super::id_at(&entry.operands, 1)?;
        for mode in &m.execution_modes {
            if super::id_at(&mode.operands, 0)? != self.entry_fn {
                continue;
            }
            let Some(Operand::ExecutionMode(em)) = mode.operands.get(1) else {
                return Err(invalid("OpExecutionMode without a mode"));
            };
            let three = |f: fn(&[Operand], usize) -> Result<u32>| -> Result<[u32; 3]> {
                Ok([
                    f(&mode.operands, 2)?,
                    f(&mode.operands, 3)?,
                    f(&mode.operands, 4)?,
                ])
            };
            match em {
                ExecutionMode::LocalSize => self.local_size_lits = Some(three(lit_at)?),
                ExecutionMode::LocalSizeId => self.local_size_ids = Some(three(super::id_at)?),
                ExecutionMode::LocalSizeHint
                | ExecutionMode::LocalSizeHintId
                | ExecutionMode::DenormPreserve
                | ExecutionMode::DenormFlushToZero
                | ExecutionMode::SignedZeroInfNanPreserve
                | ExecutionMode::RoundingModeRTE => {}
                other => return Err(DecodeError::ExecutionMode(format!("{other:?}"))),
            }
        }
        self.info.entry = self.entry_name.clone();
        Ok(())
    }

    /// Workgroup size after specialization: the WorkgroupSize built-in
    /// constant wins over LocalSizeId, which wins over LocalSize.
    pub(super) fn resolve_workgroup_size(&mut self) -> Result<()> {
        let size = if let Some(c) = self.workgroup_size_const {
            let (slot, words) = self.slot_and_size(c)?;
            if words != 3 {
                return Err(invalid(
                    "the WorkgroupSize constant is not a 3-vector of 32-bit integers",
                ));
            }
            let s = slot as usize;
            [
                self.code.init[s],
                self.code.init[s + 1],
                self.code.init[s + 2],
            ]
        } else if let Some(ids) = self.local_size_ids {
            let mut v = [0; 3];
            for (o, id) in v.iter_mut().zip(ids) {
                *o = self.const_u32(id).ok_or_else(|| {
                    invalid(format!("LocalSizeId operand {id} is not a constant"))
                })?;
            }
            v
        } else if let Some(l) = self.local_size_lits {
            l
        } else {
            return Err(invalid(
                "the entry point has no LocalSize or LocalSizeId execution mode",
            ));
        };
        if size.contains(&0) {
            return Err(invalid(format!(
                "workgroup size {size:?} has a zero dimension"
            )));
        }
        self.info.workgroup_size = size;
        Ok(())
    }
}
