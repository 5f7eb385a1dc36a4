//! The CSF command-stream (CS) instruction set of Mali CSF v10 GPUs
//! (Mali-G310/G510/G610/G710): typed instructions ([`Instr`]), an encoder and
//! a stream builder ([`encode`], [`CsBuilder`]), and a decoder with a
//! disassembler ([`decode`]); and the memory descriptors compute jobs read
//! ([`desc`]: resource tables, buffers, textures, samplers, shader programs).
//!
//! The ICD builds command streams with it; the virtual Mali (`panthor-sim`)
//! decodes and executes them. Nothing here knows which of the two is at hand.
//!
//! Encodings are the real ones of Mali CSF v10, as Mesa's panfrost genxml
//! describes them (`src/panfrost/genxml/v10.xml`, structs `CS ...` and enum
//! `CS Opcode`). Every instruction is one 64-bit little-endian word with the
//! opcode in bits 56..63; the field positions are given next to each
//! [`Instr`] variant below and in `encode.rs`.
//!
//! Register conventions (from the same sources): the CS register file of v10
//! has [`NUM_REGS`] = 96 32-bit registers `r0..r95`. A 64-bit operand `dN` is
//! the pair `rN` (low word) and `rN+1` (high word); `N` must be even.

mod decode;
pub mod desc;
mod encode;

pub use decode::{decode, defined_bits};
pub use encode::{encode, Async, BuildError, CsBuilder, Label};

pub use desc::DESCRIPTOR_SIZE;

/// Number of 32-bit registers in a v10 CS register file (Mesa's CSF decoder:
/// "v10 has 96 registers. v12+ have 128").
pub const NUM_REGS: usize = 96;

/// Call frames a stream can push with `CALL` before the next `CALL` faults.
///
/// Mesa's CSF decoder (`decode_csf.c`) uses `MAX_CALL_STACK_DEPTH (8 - 1)`,
/// commented "Limit for Mali-G610. -1 because we're not including the active
/// frame": eight frames in all, the active one included.
pub const MAX_CALL_DEPTH: usize = 7;

/// Scoreboard entries on v10 (`CS_MAX_SB_COUNT` in Mesa's `cs_builder.h`).
pub const SB_COUNT: u32 = 8;

/// Opcode values (genxml v10 enum `CS Opcode`, bits 56..63 of every word).
pub mod opcode {
    pub const NOP: u8 = 0;
    pub const MOVE48: u8 = 1;
    pub const MOVE32: u8 = 2;
    pub const WAIT: u8 = 3;
    pub const RUN_COMPUTE: u8 = 4;
    pub const RUN_TILING: u8 = 5;
    pub const RUN_IDVS: u8 = 6;
    pub const RUN_FRAGMENT: u8 = 7;
    pub const RUN_FULLSCREEN: u8 = 8;
    pub const FINISH_TILING: u8 = 9;
    pub const FINISH_FRAGMENT: u8 = 11;
    pub const ADD_IMMEDIATE32: u8 = 16;
    pub const ADD_IMMEDIATE64: u8 = 17;
    pub const COMPARE_SELECT32: u8 = 18;
    pub const LOAD_MULTIPLE: u8 = 20;
    pub const STORE_MULTIPLE: u8 = 21;
    pub const BRANCH: u8 = 22;
    pub const SET_SB_ENTRY: u8 = 23;
    pub const PROGRESS_WAIT: u8 = 24;
    pub const SET_EXCEPTION_HANDLER: u8 = 25;
    pub const CALL: u8 = 32;
    pub const JUMP: u8 = 33;
    pub const REQ_RESOURCE: u8 = 34;
    pub const FLUSH_CACHE2: u8 = 36;
    pub const SYNC_ADD32: u8 = 37;
    pub const SYNC_SET32: u8 = 38;
    pub const SYNC_WAIT32: u8 = 39;
    pub const STORE_STATE: u8 = 40;
    pub const PROT_REGION: u8 = 41;
    pub const PROGRESS_STORE: u8 = 42;
    pub const PROGRESS_LOAD: u8 = 43;
    pub const RUN_COMPUTE_INDIRECT: u8 = 44;
    pub const ERROR_BARRIER: u8 = 47;
    pub const HEAP_SET: u8 = 48;
    pub const HEAP_OPERATION: u8 = 49;
    pub const TRACE_POINT: u8 = 50;
    pub const SYNC_ADD64: u8 = 51;
    pub const SYNC_SET64: u8 = 52;
    pub const SYNC_WAIT64: u8 = 53;

    /// Opcodes genxml v10 names whose operands this crate does not model yet
    /// (the virtual Mali does not execute them): they decode
    /// as [`Instr::Unsupported`].
    pub const UNSUPPORTED: [u8; 17] = [
        RUN_TILING,
        RUN_IDVS,
        RUN_FRAGMENT,
        RUN_FULLSCREEN,
        FINISH_TILING,
        FINISH_FRAGMENT,
        COMPARE_SELECT32,
        SET_SB_ENTRY,
        PROGRESS_WAIT,
        SET_EXCEPTION_HANDLER,
        REQ_RESOURCE,
        PROT_REGION,
        PROGRESS_STORE,
        PROGRESS_LOAD,
        HEAP_SET,
        HEAP_OPERATION,
        TRACE_POINT,
    ];
}

/// genxml enum `CS Condition`. `BRANCH` tests a 32-bit register against
/// zero as a signed value; `SYNC_WAIT*` compares the sync object in memory
/// with a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    Lequal = 0,
    Greater = 1,
    Equal = 2,
    Nequal = 3,
    Less = 4,
    Gequal = 5,
    Always = 6,
}

impl Condition {
    pub const ALL: [Condition; 7] = [
        Condition::Lequal,
        Condition::Greater,
        Condition::Equal,
        Condition::Nequal,
        Condition::Less,
        Condition::Gequal,
        Condition::Always,
    ];

    pub fn from_bits(v: u64) -> Option<Condition> {
        Condition::ALL.get(v as usize).copied()
    }

    /// The condition that holds exactly when `self` does not (`Always` has
    /// none and maps to itself).
    pub fn invert(self) -> Condition {
        match self {
            Condition::Lequal => Condition::Greater,
            Condition::Greater => Condition::Lequal,
            Condition::Equal => Condition::Nequal,
            Condition::Nequal => Condition::Equal,
            Condition::Less => Condition::Gequal,
            Condition::Gequal => Condition::Less,
            Condition::Always => Condition::Always,
        }
    }

    /// `BRANCH` semantics: the register, read as a signed 32-bit value,
    /// compared with zero.
    #[inline]
    pub fn test_signed_zero(self, v: u32) -> bool {
        let v = v as i32;
        match self {
            Condition::Lequal => v <= 0,
            Condition::Greater => v > 0,
            Condition::Equal => v == 0,
            Condition::Nequal => v != 0,
            Condition::Less => v < 0,
            Condition::Gequal => v >= 0,
            Condition::Always => true,
        }
    }

    /// `SYNC_WAIT` semantics: `mem COND reference`, unsigned (sequence
    /// numbers), as panthor evaluates `CS_STATUS_WAIT` (LE / GT).
    #[inline]
    pub fn test_unsigned(self, mem: u64, reference: u64) -> bool {
        match self {
            Condition::Lequal => mem <= reference,
            Condition::Greater => mem > reference,
            Condition::Equal => mem == reference,
            Condition::Nequal => mem != reference,
            Condition::Less => mem < reference,
            Condition::Gequal => mem >= reference,
            Condition::Always => true,
        }
    }

    pub fn mnemonic(self) -> &'static str {
        match self {
            Condition::Lequal => "le",
            Condition::Greater => "gt",
            Condition::Equal => "eq",
            Condition::Nequal => "ne",
            Condition::Less => "lt",
            Condition::Gequal => "ge",
            Condition::Always => "al",
        }
    }
}

/// genxml enum `CS Sync scope` (2 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncScope {
    System = 0,
    Csg = 2,
}

/// genxml enum `CS Flush Mode` (L2 and LSC fields of `FLUSH_CACHE2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlushMode {
    None = 0,
    Clean = 1,
    CleanInvalidate = 3,
}

/// genxml enum `CS Other Flush Mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OtherFlushMode {
    None = 0,
    Invalidate = 2,
}

/// genxml enum `CS State`: what `STORE_STATE` samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StateKind {
    /// The GPU's free-running system timestamp (GPU_CONTROL `TIMESTAMP`,
    /// the counter `DEV_QUERY_TIMESTAMP_INFO` reports the frequency of).
    Timestamp = 0,
    /// The GPU's cycle counter (GPU_CONTROL `CYCLE_COUNT`).
    CycleCount = 1,
    /// How many times the timestamp counter jumped (it was reset or
    /// stopped), so that timestamp differences across one are meaningless.
    DisjointCount = 2,
    /// The stream's error state.
    ErrorStatus = 3,
}

impl StateKind {
    pub const ALL: [StateKind; 4] = [
        StateKind::Timestamp,
        StateKind::CycleCount,
        StateKind::DisjointCount,
        StateKind::ErrorStatus,
    ];

    pub fn mnemonic(self) -> &'static str {
        match self {
            StateKind::Timestamp => "timestamp",
            StateKind::CycleCount => "cycle_count",
            StateKind::DisjointCount => "disjoint_count",
            StateKind::ErrorStatus => "error_status",
        }
    }
}

/// genxml enum `Task Axis`: the axis along which `RUN_COMPUTE` cuts a
/// job into tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskAxis {
    X = 0,
    Y = 1,
    Z = 2,
}

impl TaskAxis {
    pub const ALL: [TaskAxis; 3] = [TaskAxis::X, TaskAxis::Y, TaskAxis::Z];
}

/// Which of the four register pairs of each kind a compute job takes its
/// descriptors from (genxml `SRT/SPD/TSD/FAU select`, 2 bits each): the
/// resource table in `d(0 + 2*srt)`, push constants in `d(8 + 2*fau)`,
/// the shader program in `d(16 + 2*spd)`, local storage in `d(24 + 2*tsd)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResourceSelect {
    pub srt: u8,
    pub fau: u8,
    pub spd: u8,
    pub tsd: u8,
}

/// The compute staging registers `RUN_COMPUTE` reads (genxml v10
/// `COMPUTE SR`; Mesa's CSF decoder reads the same ones).
pub mod compute_sr {
    /// `dN`: resource table address | entry count in bits 0..5.
    pub const SRT: u8 = 0;
    /// `dN`: push-constant (FAU) buffer address in bits 0..47, count of
    /// 64-bit words in bits 56..63.
    pub const FAU: u8 = 8;
    /// `dN`: the `Shader Program` descriptor.
    pub const SPD: u8 = 16;
    /// `dN`: the `Local Storage` descriptor.
    pub const TSD: u8 = 24;
    pub const GLOBAL_ATTRIBUTE_OFFSET: u8 = 32;
    /// Packed `Compute size workgroup` (see `desc::WorkgroupSize`).
    pub const WG_SIZE: u8 = 33;
    /// `r34..r36`: added to the global invocation ID only.
    pub const JOB_OFFSET: u8 = 34;
    /// `r37..r39`: workgroups along X, Y, Z.
    pub const JOB_SIZE: u8 = 37;
}

/// Operands of `SYNC_ADD32/64` and `SYNC_SET32/64` (identical layouts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SyncUpdate {
    /// `dN` holding the sync object's GPU VA (bits 40..47).
    pub addr: u8,
    /// `rN` (32-bit ops) or `dN` (64-bit ops) holding the value (bits 32..39).
    pub data: u8,
    /// Bit 0: write the stream's error state next to the value (at +4 for
    /// 32-bit objects, +8 for 64-bit ones).
    pub error_propagate: bool,
    /// Bits 1..2.
    pub scope: SyncScope,
    /// Scoreboard entries to wait for first (bits 16..31).
    pub wait_mask: u16,
    /// Scoreboard entry signalled on completion when deferred (bits 48..51).
    pub signal_slot: u8,
}

/// Operands of `SYNC_WAIT32/64` (identical layouts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SyncWait {
    /// Bits 28..31 (4-bit field of type `CS Condition`).
    pub cond: Condition,
    /// `dN` holding the sync object's GPU VA (bits 40..47).
    pub addr: u8,
    /// `rN` / `dN` holding the reference value (bits 32..39).
    pub data: u8,
    /// Bit 0: "reject" (do not inherit the sync object's error state).
    pub error_reject: bool,
}

/// One decoded CS instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Instr {
    /// `NOP`: bits 0..55 ignored.
    Nop,
    /// `MOVE48 dN, #imm`: imm 0..47, dst 48..55. Zero-extends into `dN`.
    Move48 {
        dst: u8,
        imm: u64,
    },
    /// `MOVE32 rN, #imm`: imm 0..31, dst 48..55.
    Move32 {
        dst: u8,
        imm: u32,
    },
    /// `WAIT #mask`: mask 16..23 (8 bits on v10), progress increment bit 32.
    Wait {
        mask: u8,
        progress_inc: bool,
    },
    /// `ADD_IMMEDIATE32 rD, rS, #imm`: imm (signed) 0..31, src 40..47,
    /// dst 48..55.
    AddImm32 {
        dst: u8,
        src: u8,
        imm: i32,
    },
    /// `ADD_IMMEDIATE64 dD, dS, #imm`: as `AddImm32`, imm sign-extended.
    AddImm64 {
        dst: u8,
        src: u8,
        imm: i32,
    },
    /// `LOAD_MULTIPLE`: offset (signed bytes) 0..15, mask 16..31, address
    /// `dN` 40..47, base register 48..55. Mask bit `i` loads
    /// `r(base+i)` from `[dN + offset + 4*i]`.
    LoadMultiple {
        base: u8,
        mask: u16,
        addr: u8,
        offset: i16,
    },
    /// `STORE_MULTIPLE`: same layout and addressing as `LoadMultiple`.
    StoreMultiple {
        base: u8,
        mask: u16,
        addr: u8,
        offset: i16,
    },
    /// `BRANCH.cond rN, #offset`: offset (signed, instructions, relative to
    /// the next instruction) 0..15, condition 28..30, register 40..47.
    Branch {
        cond: Condition,
        reg: u8,
        offset: i16,
    },
    /// `CALL dA, rL`: length register 32..39, address `dA` 40..47.
    Call {
        addr: u8,
        len: u8,
    },
    /// `JUMP dA, rL`: same layout as `Call`.
    Jump {
        addr: u8,
        len: u8,
    },
    /// `FLUSH_CACHE2`: L2 mode 0..3, LSC mode 4..7, other mode 8..11, wait
    /// mask 16..31, latest-flush-ID register 40..47, signal slot 48..51.
    FlushCache2 {
        l2: FlushMode,
        lsc: FlushMode,
        other: OtherFlushMode,
        flush_id: u8,
        wait_mask: u16,
        signal_slot: u8,
    },
    SyncAdd32(SyncUpdate),
    SyncSet32(SyncUpdate),
    SyncAdd64(SyncUpdate),
    SyncSet64(SyncUpdate),
    SyncWait32(SyncWait),
    SyncWait64(SyncWait),
    /// `STORE_STATE`: offset (signed bytes) 0..15, wait mask 16..31, state
    /// 32..33, address `dN` 40..47, signal slot 48..51. Stores the 64-bit
    /// value of `state` at `[dN + offset]`.
    StoreState {
        state: StateKind,
        addr: u8,
        offset: i16,
        wait_mask: u16,
        signal_slot: u8,
    },
    /// `RUN_COMPUTE`: task increment 0..13, task axis 14..15, progress
    /// increment bit 32, SRT/SPD/TSD/FAU selects at 40/42/44/46 (2 bits
    /// each). Runs the compute job the staging registers describe
    /// ([`compute_sr`]).
    RunCompute {
        task_increment: u16,
        task_axis: TaskAxis,
        progress_inc: bool,
        select: ResourceSelect,
    },
    /// `RUN_COMPUTE_INDIRECT`: workgroups per task 0..15, progress increment
    /// bit 32, selects as `RunCompute`. The job size must already be in
    /// `r37..r39` (the stream loads it from the indirect buffer).
    RunComputeIndirect {
        workgroups_per_task: u16,
        progress_inc: bool,
        select: ResourceSelect,
    },
    /// `ERROR_BARRIER`: no operands. The panthor kernel ends every job in its
    /// ring buffer with one; with no error state to clear it is a no-op here.
    ErrorBarrier,
    /// An opcode genxml v10 defines whose operands are not modelled yet.
    Unsupported {
        opcode: u8,
    },
    /// A reserved opcode, or a field holding a value its genxml enum does not
    /// define (condition 7, scope 1 or 3, flush mode 2, ...).
    Invalid,
}
