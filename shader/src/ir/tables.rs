//! Side tables of the register form (access-chain steps, load/store
//! shapes, switch tables, call sites, image instructions) and [`Code`],
//! everything the interpreter runs.

use super::{Inst, Slot, Target};

/// One step of an access chain, applied to a pointer's `addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Constant offset (wrapping).
    Add(u64),
    /// addr += index * stride; the index is signed; `len` > 0 bounds it
    /// (outside [0, len) the pointer becomes null).
    Index {
        slot: Slot,
        wide: bool,
        stride: u32,
        len: u32,
    },
    /// Turns a DESC_BUFFER pointer into the BUFFER pointer of that element.
    Resolve,
    /// A constant index out of a bounded array.
    Null,
}

/// One scalar of a value in an explicitly laid out block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// Byte offset from the run's start.
    pub mem: u32,
    /// Word offset in the value's registers.
    pub reg: u32,
    pub bytes: u8,
    pub kind: LeafKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafKind {
    Plain,
    /// Loads normalise to 0 / 1.
    Bool,
    /// An 8-byte PhysicalStorageBuffer address held as a pointer value.
    Pointer,
}

/// Contiguous bytes moved with one env call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub mem: u32,
    pub bytes: u32,
    pub first_leaf: u32,
    pub leaves: u32,
}

/// Longest run: one stack buffer per access.
pub const MAX_RUN_BYTES: u32 = 64;

/// How a loaded or stored value maps to memory: `words` register words
/// copied as they are in internal spaces, `runs` of leaves in explicitly
/// laid out ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    pub words: u32,
    pub runs: Vec<Run>,
    pub leaves: Vec<Leaf>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwitchTable {
    pub cases: Vec<(u64, Target)>,
    pub default: Target,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSite {
    pub entry: Target,
    /// (parameter slot, argument slot, words).
    pub args: Vec<(Slot, Slot, u32)>,
    pub result: Slot,
    pub result_words: u32,
}

/// Image dimensionality as the queries and coordinate mapping need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageDim {
    D1,
    D2,
    D3,
    Cube,
    Rect,
    Buffer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageOp {
    Read,
    Write,
    Fetch,
    Sample,
    Gather,
    QuerySize,
    QueryLevels,
    QuerySamples,
    /// d = BUFFER pointer to one texel (or null).
    TexelPointer,
}

/// An image instruction with its operands resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageInst {
    pub op: ImageOp,
    pub dim: ImageDim,
    pub arrayed: bool,
    /// Sparse forms write the residency code first, then the texel.
    pub sparse: bool,
    /// 64-bit integer texels: each lane is two words, and the texture unit
    /// holds component 0 as two 32-bit components (low, high).
    pub wide: bool,
    pub d: Slot,
    /// Texel words in the result (1 for Dref, up to 4; up to 8 when wide).
    pub d_lanes: u32,
    /// Image handle (2 words), sampled image (4 words), or for
    /// TexelPointer the descriptor pointer.
    pub image: Slot,
    pub coord: Slot,
    pub coord_lanes: u32,
    /// Projective: divide by the last coordinate lane.
    pub proj: bool,
    pub lod: Option<Slot>,
    pub grad: Option<(Slot, Slot, u32)>,
    pub offset: Option<(Slot, u32)>,
    /// ConstOffsets: four ivec2.
    pub offsets: Option<Slot>,
    pub sample: Option<Slot>,
    pub min_lod: Option<Slot>,
    pub dref: Option<Slot>,
    pub component: Option<Slot>,
    /// The texel to write (Write) and its word count.
    pub texel: Option<(Slot, u32)>,
    /// TexelPointer: texel width in bytes.
    pub texel_bytes: u8,
}

/// Compute built-ins an invocation gets in its registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    LocalInvocationId,
    GlobalInvocationId,
    WorkgroupId,
    NumWorkgroups,
    LocalInvocationIndex,
    WorkgroupSize,
    SubgroupSize,
    SubgroupLocalInvocationId,
    NumSubgroups,
    SubgroupId,
    SubgroupEqMask,
    SubgroupGeMask,
    SubgroupGtMask,
    SubgroupLeMask,
    SubgroupLtMask,
}

/// A non-arrayed buffer variable whose pointer is resolved once per
/// workgroup into `slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferBinding {
    pub set: u32,
    pub binding: u32,
    pub slot: Slot,
}

/// Everything the interpreter runs.
#[derive(Clone, Debug, Default)]
pub struct Code {
    pub insts: Vec<Inst>,
    pub gathers: Vec<Slot>,
    pub shapes: Vec<Shape>,
    pub chains: Vec<Vec<Step>>,
    pub switches: Vec<SwitchTable>,
    pub calls: Vec<CallSite>,
    pub images: Vec<ImageInst>,
    /// The register file every invocation starts from.
    pub init: Vec<u32>,
    pub entry: Target,
    pub builtins: Vec<(Builtin, Slot)>,
    pub buffers: Vec<BufferBinding>,
    pub shared_words: u32,
    /// Workgroup variable initialisers: (word, values).
    pub shared_init: Vec<(u32, Vec<u32>)>,
    pub has_barrier: bool,
}
