//! The two ways a program fails: refused when decoded (pipeline creation)
//! or stopped while it runs (a dispatch).

use crate::binary::BinaryError;
use crate::env::Fault;
use thiserror::Error;

/// Why a module cannot become a [`crate::Program`]. Each variant names the
/// unsupported or malformed thing so the driver can log it at pipeline
/// creation.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error(transparent)]
    Binary(#[from] BinaryError),
    #[error("SPIR-V parse error: {0}")]
    Parse(String),
    #[error("no GLCompute entry point named {0:?}")]
    EntryPointNotFound(String),
    #[error("unsupported capability {0}")]
    Capability(String),
    #[error("unsupported extension {0}")]
    Extension(String),
    #[error("unsupported extended instruction set {0:?}")]
    ExtInstSet(String),
    #[error("unsupported instruction Op{0}")]
    Opcode(String),
    #[error("unsupported GLSL.std.450 instruction {0}")]
    GlslInstruction(String),
    #[error("unsupported storage class {0}")]
    StorageClass(String),
    #[error("unsupported built-in {0}")]
    BuiltIn(String),
    #[error("unsupported execution mode {0}")]
    ExecutionMode(String),
    #[error("unsupported addressing or memory model {0}")]
    MemoryModel(String),
    #[error("unsupported type: {0}")]
    Type(String),
    #[error("unsupported image operation: {0}")]
    Image(String),
    #[error("id {id}: missing {decoration} decoration")]
    MissingDecoration { id: u32, decoration: &'static str },
    #[error("function {0} calls itself (recursion is not allowed in shaders)")]
    Recursion(u32),
    #[error("program too large: {0}")]
    TooLarge(String),
    /// The module breaks a SPIR-V rule the core relies on.
    #[error("invalid module: {0}")]
    Invalid(String),
}

/// Why a workgroup stopped before finishing.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ExecError {
    #[error("GPU fault at {:#x} on {}", .0.va, if .0.write { "write" } else { "read" })]
    Fault(Fault),
    #[error("cancelled")]
    Cancelled,
    #[error("shader error: {0}")]
    Runtime(#[from] RuntimeError),
}

impl From<Fault> for ExecError {
    fn from(f: Fault) -> Self {
        ExecError::Fault(f)
    }
}

/// Errors only a run can find.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RuntimeError {
    #[error("OpUnreachable executed")]
    Unreachable,
    #[error("descriptor (set {set}, binding {binding}, index {index}) is a {found}, the shader needs a {expected}")]
    DescriptorKind {
        set: u32,
        binding: u32,
        index: u32,
        expected: &'static str,
        found: &'static str,
    },
    #[error("call depth exceeds {0}")]
    CallDepth(usize),
    #[error("bad workgroup parameters: {0}")]
    Params(String),
    /// A decode-time invariant did not hold (a bug in this crate).
    #[error("internal error: {0}")]
    Internal(&'static str),
}
