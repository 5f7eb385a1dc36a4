//! A decoded compute program: what the driver creates at pipeline creation
//! ([`Program::new`]), inspects ([`Program::info`]) and runs per workgroup
//! ([`Program::run_workgroup`]).

use crate::binary::ShaderBinary;
use crate::env::ShaderEnv;
use crate::error::{DecodeError, ExecError};
use crate::ir::Code;

/// A descriptor binding the entry point uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    pub set: u32,
    pub binding: u32,
    pub kind: ResourceKind,
    /// Descriptor count (array size); `None` for runtime-sized arrays.
    pub count: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    StorageBuffer,
    UniformBuffer,
    StorageImage,
    SampledImage,
    Sampler,
    CombinedImageSampler,
    UniformTexelBuffer,
    StorageTexelBuffer,
}

/// What the driver needs to know about a program before dispatching it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgramInfo {
    pub entry: String,
    /// After specialization (WorkgroupSize built-in, LocalSizeId or
    /// LocalSize).
    pub workgroup_size: [u32; 3],
    /// Workgroup variables, in this core's layout (4 bytes per ≤32-bit
    /// scalar).
    pub shared_memory_bytes: u32,
    /// Bindings the entry point's call tree mentions, in declaration order.
    pub resources: Vec<Resource>,
    /// Bytes of the push-constant block the shader reads (0 if none).
    pub push_constant_bytes: u32,
    /// The shader uses sparse image instructions (shaderResourceResidency).
    pub uses_sparse_residency: bool,
    /// The shader has workgroup barriers (invocations run interleaved).
    pub uses_barriers: bool,
    /// Register words per invocation.
    pub register_words: u32,
    /// Decoded instructions.
    pub instruction_words: u32,
}

/// The dispatch coordinates of one workgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkgroupParams {
    pub local_size: [u32; 3],
    /// Includes a vkCmdDispatchBase offset.
    pub workgroup_id: [u32; 3],
    pub num_workgroups: [u32; 3],
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// SPIR-V instructions executed, over all invocations.
    pub instructions: u64,
}

/// A SPIR-V compute entry point decoded into the core's register form.
/// Immutable and `Sync`: several GPU threads may run workgroups of one
/// program at once.
#[derive(Clone, Debug)]
pub struct Program {
    pub(crate) code: Code,
    info: ProgramInfo,
}

impl Program {
    /// Decodes and specializes `binary`'s entry point, refusing whatever
    /// the core does not support.
    pub fn new(binary: &ShaderBinary) -> Result<Program, DecodeError> {
        let (code, info) = crate::decode::decode(binary)?;
        Ok(Program { code, info })
    }

    /// Decodes a container as read from GPU memory.
    pub fn from_words(words: &[u32]) -> Result<Program, DecodeError> {
        Program::new(&ShaderBinary::parse(words)?)
    }

    pub fn info(&self) -> &ProgramInfo {
        &self.info
    }

    /// Runs every invocation of one workgroup to completion.
    pub fn run_workgroup(
        &self,
        env: &mut dyn ShaderEnv,
        params: &WorkgroupParams,
    ) -> Result<RunStats, ExecError> {
        crate::exec::run_workgroup(&self.code, env, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_can_be_shared_between_gpu_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Program>();
    }
}
