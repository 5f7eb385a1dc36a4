//! The pre-decoded register form the decoder produces and the interpreter
//! runs: a flat instruction list over a per-invocation `u32` register file,
//! with side tables for the few instructions that need more than a handful
//! of operands.
//!
//! Every SPIR-V value owns a fixed slot range of the register file (scalars
//! one word, 64-bit scalars two words low first, composites flattened in
//! member order). Constants, global pointer values and Private/Function
//! variables live there too: the file starts as a copy of
//! [`Code::init`]. Slots and lengths in instructions are checked against
//! the file size when the decoder emits them.
//!
//! `pointer.rs` holds the pointer value encoding, `tables.rs` the side
//! tables and the [`Code`] that bundles everything.

mod pointer;
mod tables;

pub use pointer::{space, Ptr, PTR_WORDS};
pub use tables::*;

/// A register-file word index.
pub type Slot = u32;

/// A branch destination: its instruction index, and how many SPIR-V
/// instructions its block holds (added to the run's count on arrival).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub pc: u32,
    pub count: u32,
}

/// Binary integer operations (component-wise; 8/16-bit types run as 32-bit
/// with the decoder extending and masking around them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IBin {
    Add,
    Sub,
    Mul,
    UDiv,
    SDiv,
    UMod,
    SRem,
    SMod,
    Shl,
    ShrL,
    ShrA,
    And,
    Or,
    Xor,
    UMin,
    SMin,
    UMax,
    SMax,
}

/// Integer comparisons; results are booleans (one word, 0 or 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ICmp {
    Eq,
    Ne,
    ULt,
    ULe,
    UGt,
    UGe,
    SLt,
    SLe,
    SGt,
    SGe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IUn {
    Not,
    Neg,
    /// Boolean not (x ^ 1).
    BoolNot,
    SAbs,
    SSign,
    BitReverse,
    BitCount,
    FindILsb,
    FindSMsb,
    FindUMsb,
}

/// Three-operand integer operations. For the bit-field extracts `b` is the
/// scalar offset and `c` the scalar count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ITern {
    UClamp,
    SClamp,
    BfSExtract,
    BfUExtract,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FBin {
    Add,
    Sub,
    Mul,
    Div,
    /// OpFRem: the sign of the dividend.
    Rem,
    /// OpFMod: the sign of the divisor.
    Mod,
    Min,
    Max,
    NMin,
    NMax,
    Pow,
    Atan2,
    Step,
}

/// Ordered (false on NaN) and unordered (true on NaN) comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FCmp {
    OrdEq,
    OrdNe,
    OrdLt,
    OrdLe,
    OrdGt,
    OrdGe,
    UnordEq,
    UnordNe,
    UnordLt,
    UnordLe,
    UnordGt,
    UnordGe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FUn {
    Neg,
    Abs,
    Sign,
    Floor,
    Ceil,
    Trunc,
    Round,
    RoundEven,
    Fract,
    Radians,
    Degrees,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Exp,
    Log,
    Exp2,
    Log2,
    Sqrt,
    InverseSqrt,
    /// OpQuantizeToF16 (f32 only).
    QuantizeF16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FTern {
    Clamp,
    NClamp,
    Mix,
    SmoothStep,
    Fma,
}

/// Numeric classes for conversions. Narrow integers sit zero-extended in
/// one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Num {
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
    F32,
    F64,
}

/// Operations with their own operand shapes (GLSL.std.450 geometry and
/// packing, carries, ballots). `wide` selects f64 / 64-bit forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtOp {
    /// d = a * 2^b (b: 32-bit ints per lane).
    Ldexp,
    /// d = mantissa of a, b (slot) = exponent (32-bit ints).
    Frexp,
    /// d = fractional part of a, b (slot) = whole part.
    Modf,
    PackSnorm4x8,
    PackUnorm4x8,
    PackSnorm2x16,
    PackUnorm2x16,
    PackHalf2x16,
    UnpackSnorm2x16,
    UnpackUnorm2x16,
    UnpackHalf2x16,
    UnpackSnorm4x8,
    UnpackUnorm4x8,
    /// n = vector length; d scalar.
    Length,
    Distance,
    Dot,
    Cross,
    Normalize,
    FaceForward,
    Reflect,
    /// c = the scalar eta.
    Refract,
    /// n = matrix dimension.
    Determinant,
    MatrixInverse,
    IsNan,
    IsInf,
    /// n lanes of bool into one bool.
    Any,
    All,
    /// d = {sum, carry} as two n-lane vectors.
    AddCarry,
    SubBorrow,
    UMulExtended,
    SMulExtended,
    /// a = base, b = insert, c = two words (offset, count).
    BfInsert,
    /// d = uvec4 ballot of the bool a (subgroup size 1: bit 0).
    Ballot,
    /// d = bit b of the uvec4 a.
    BallotBitExtract,
    /// d = count of the bits of a inside the subgroup (bit 0); n = 0 reduce
    /// or inclusive scan, 1 exclusive scan.
    BallotBitCount,
    BallotFindLsb,
    BallotFindMsb,
}

/// Matrix and vector products over f32 (or f64 when `wide`), matrices
/// column-major in registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatOp {
    /// rows x cols matrix times cols-vector.
    MatVec,
    /// rows-vector times rows x cols matrix.
    VecMat,
    /// (rows x inner) times (inner x cols).
    MatMat,
    /// rows-vector times cols-vector transposed.
    Outer,
    /// rows x cols into cols x rows.
    Transpose,
    /// rows*cols lanes times the scalar b.
    Scale,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicKind {
    Load,
    Store,
    Exchange,
    /// `c` is the comparator slot.
    CompareExchange,
    Add,
    Sub,
    SMin,
    UMin,
    SMax,
    UMax,
    And,
    Or,
    Xor,
}

/// What an OpLoad of a descriptor variable expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescKind {
    Image,
    Sampler,
    /// A combined image sampler; a plain image is accepted for texel
    /// buffers (`samplerBuffer` has no sampler).
    Combined {
        texel_buffer: bool,
    },
}

/// The register-form instruction set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Inst {
    Copy {
        d: Slot,
        s: Slot,
        n: u32,
    },
    /// d[i] = regs[gathers[at + i]] for i < n.
    Gather {
        d: Slot,
        at: u32,
        n: u32,
    },
    I32 {
        op: IBin,
        d: Slot,
        a: Slot,
        b: Slot,
        n: u16,
    },
    I64 {
        op: IBin,
        d: Slot,
        a: Slot,
        b: Slot,
        n: u16,
    },
    I32Cmp {
        op: ICmp,
        d: Slot,
        a: Slot,
        b: Slot,
        n: u16,
    },
    I64Cmp {
        op: ICmp,
        d: Slot,
        a: Slot,
        b: Slot,
        n: u16,
    },
    I32Un {
        op: IUn,
        d: Slot,
        a: Slot,
        n: u16,
    },
    I64Un {
        op: IUn,
        d: Slot,
        a: Slot,
        n: u16,
    },
    I32Tern {
        op: ITern,
        d: Slot,
        a: Slot,
        b: Slot,
        c: Slot,
        n: u16,
    },
    I64Tern {
        op: ITern,
        d: Slot,
        a: Slot,
        b: Slot,
        c: Slot,
        n: u16,
    },
    F32 {
        op: FBin,
        d: Slot,
        a: Slot,
        b: Slot,
        n: u16,
    },
    F64 {
        op: FBin,
        d: Slot,
        a: Slot,
        b: Slot,
        n: u16,
    },
    F32Cmp {
        op: FCmp,
        d: Slot,
        a: Slot,
        b: Slot,
        n: u16,
    },
    F64Cmp {
        op: FCmp,
        d: Slot,
        a: Slot,
        b: Slot,
        n: u16,
    },
    F32Un {
        op: FUn,
        d: Slot,
        a: Slot,
        n: u16,
    },
    F64Un {
        op: FUn,
        d: Slot,
        a: Slot,
        n: u16,
    },
    F32Tern {
        op: FTern,
        d: Slot,
        a: Slot,
        b: Slot,
        c: Slot,
        n: u16,
    },
    F64Tern {
        op: FTern,
        d: Slot,
        a: Slot,
        b: Slot,
        c: Slot,
        n: u16,
    },
    Convert {
        from: Num,
        to: Num,
        d: Slot,
        a: Slot,
        n: u16,
    },
    /// Brings n one-word lanes to a `bits`-wide integer: sign-extends
    /// (`signed`) or masks.
    Narrow {
        signed: bool,
        bits: u8,
        d: Slot,
        a: Slot,
        n: u16,
    },
    /// Bitcast between vectors of different lane widths (8/16/32/64 bits):
    /// `n_in` lanes of `from_bits` re-split into lanes of `to_bits`.
    Repack {
        from_bits: u8,
        to_bits: u8,
        d: Slot,
        a: Slot,
        n_in: u16,
    },
    /// d = c ? a : b over n words: as a whole (`lane_words` 0, scalar
    /// condition) or per lane of `lane_words` words (vector condition).
    Select {
        d: Slot,
        c: Slot,
        a: Slot,
        b: Slot,
        n: u32,
        lane_words: u8,
    },
    Ext {
        op: ExtOp,
        wide: bool,
        d: Slot,
        a: Slot,
        b: Slot,
        c: Slot,
        n: u16,
    },
    Mat {
        op: MatOp,
        wide: bool,
        d: Slot,
        a: Slot,
        b: Slot,
        rows: u8,
        cols: u8,
        inner: u8,
    },
    /// d = v[idx] (count lanes of lane_words words; out of range gives 0).
    ExtractDyn {
        d: Slot,
        v: Slot,
        idx: Slot,
        idx64: bool,
        lane_words: u8,
        count: u16,
    },
    /// d = v with v[idx] = val.
    InsertDyn {
        d: Slot,
        v: Slot,
        val: Slot,
        idx: Slot,
        lane_words: u8,
        count: u16,
    },

    LoadPtr {
        d: Slot,
        ptr: Slot,
        shape: u32,
    },
    StorePtr {
        ptr: Slot,
        s: Slot,
        shape: u32,
    },
    Chain {
        d: Slot,
        base: Slot,
        chain: u32,
    },
    /// d = element count of the runtime array at byte `offset` of the block
    /// `ptr` points to.
    ArrayLength {
        d: Slot,
        ptr: Slot,
        offset: u32,
        stride: u32,
    },
    Atomic {
        op: AtomicKind,
        wide: bool,
        d: Slot,
        ptr: Slot,
        v: Slot,
        c: Slot,
    },
    LoadDesc {
        kind: DescKind,
        d: Slot,
        ptr: Slot,
    },
    /// PhysicalStorageBuffer pointers from and to 64-bit addresses.
    PtrFromU64 {
        d: Slot,
        a: Slot,
    },
    PtrToU64 {
        d: Slot,
        a: Slot,
    },
    Image(u32),

    Jump(Target),
    Branch {
        c: Slot,
        t: Target,
        f: Target,
    },
    Switch {
        sel: Slot,
        wide: bool,
        table: u32,
    },
    Call(u32),
    Return,
    ReturnValue {
        s: Slot,
        n: u32,
    },
    Unreachable,
    Barrier,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_stay_small() {
        // The hot loop walks this array; keep an instruction in 24 bytes.
        assert!(
            std::mem::size_of::<Inst>() <= 24,
            "{}",
            std::mem::size_of::<Inst>()
        );
    }
}
