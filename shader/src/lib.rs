//! The virtual Mali's shader core: it runs SPIR-V compute shaders (as
//! glslang emits them for Vulkan 1.1) for the ICD's compute pipelines.
//!
//! The driver uploads a [`ShaderBinary`] (entry name, specialization
//! constants, SPIR-V words) to GPU memory; the simulated hardware reads it
//! back and builds a [`Program`] once per pipeline. [`Program::new`]
//! decodes and specializes the entry point into a register form (every
//! SPIR-V value a fixed slot range of a per-invocation `u32` register
//! file, instructions a compact enum with resolved operands, access chains
//! and memory layouts precomputed) and refuses, by name, whatever the core
//! does not support, so a pipeline fails at creation rather than at
//! dispatch. [`Program::info`] reports the workgroup size, shared memory,
//! push-constant size and the descriptor bindings the driver must provide.
//!
//! [`Program::run_workgroup`] then runs one workgroup's invocations,
//! interleaved at barriers, against a [`ShaderEnv`]: the trait through which
//! the core reaches GPU memory (through the MMU, so accesses can fault),
//! descriptors, push constants and the texture unit. The core runs one
//! invocation at a time, so it reports a subgroup size of 1 and implements
//! the subgroup operations with that size.
//!
//! Layout: `binary.rs` (the container), `decode/` (SPIR-V to register
//! form, one file per instruction family), `ir.rs` (the register form),
//! `exec/` (the interpreter, one file per instruction family), `env.rs`
//! (the contract with the hardware), `program.rs` (the public API).

pub mod binary;
mod decode;
pub mod env;
mod error;
mod exec;
mod ir;
mod program;

pub use binary::{BinaryError, ShaderBinary, SpecValue};
pub use env::{
    AtomicOp, Descriptor, Fault, ImageHandle, ImageInfo, Lod, SampleArgs, SamplerHandle, ShaderEnv,
    Texel,
};
pub use error::{DecodeError, ExecError, RuntimeError};
pub use program::{Program, ProgramInfo, Resource, ResourceKind, RunStats, WorkgroupParams};
