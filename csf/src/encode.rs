//! Encoder ([`encode`]) and stream builder ([`CsBuilder`]).
//!
//! Field positions (bit offset, width) are those of genxml v10's `CS ...`
//! structs; the opcode is bits 56..63 of every instruction.

use super::{
    opcode as op, Condition, FlushMode, Instr, OtherFlushMode, ResourceSelect, StateKind,
    SyncScope, SyncUpdate, SyncWait, TaskAxis, NUM_REGS,
};

/// `value` truncated to `width` bits and shifted to `start`.
#[inline(always)]
const fn field(value: u64, start: u32, width: u32) -> u64 {
    (value & ((1u64 << width) - 1)) << start
}

#[inline(always)]
const fn opc(o: u8) -> u64 {
    (o as u64) << 56
}

/// Opcode 0xff is reserved, so the word `encode(&Instr::Invalid)` returns
/// decodes back to `Instr::Invalid`.
pub(crate) const INVALID_WORD: u64 = 0xff00_0000_0000_0000;

fn sync_update(o: u8, s: &SyncUpdate) -> u64 {
    opc(o)
        | field(s.signal_slot as u64, 48, 4)
        | field(s.addr as u64, 40, 8)
        | field(s.data as u64, 32, 8)
        | field(s.wait_mask as u64, 16, 16)
        | field(s.scope as u64, 1, 2)
        | field(s.error_propagate as u64, 0, 1)
}

fn selects(s: &ResourceSelect) -> u64 {
    field(s.fau as u64, 46, 2)
        | field(s.tsd as u64, 44, 2)
        | field(s.spd as u64, 42, 2)
        | field(s.srt as u64, 40, 2)
}

fn sync_wait(o: u8, s: &SyncWait) -> u64 {
    opc(o)
        | field(s.addr as u64, 40, 8)
        | field(s.data as u64, 32, 8)
        | field(s.cond as u64, 28, 4)
        | field(s.error_reject as u64, 0, 1)
}

/// The 64-bit word of `instr`. Fields wider than their encoding (a `Move48`
/// immediate above 2^48, a signal slot above 15) are truncated to the field;
/// [`CsBuilder`] rejects such operands instead.
pub fn encode(instr: &Instr) -> u64 {
    match *instr {
        Instr::Nop => opc(op::NOP),
        Instr::Move48 { dst, imm } => {
            opc(op::MOVE48) | field(dst as u64, 48, 8) | field(imm, 0, 48)
        }
        Instr::Move32 { dst, imm } => {
            opc(op::MOVE32) | field(dst as u64, 48, 8) | field(imm as u64, 0, 32)
        }
        Instr::Wait { mask, progress_inc } => {
            opc(op::WAIT) | field(progress_inc as u64, 32, 1) | field(mask as u64, 16, 8)
        }
        Instr::AddImm32 { dst, src, imm } => {
            opc(op::ADD_IMMEDIATE32)
                | field(dst as u64, 48, 8)
                | field(src as u64, 40, 8)
                | field(imm as u32 as u64, 0, 32)
        }
        Instr::AddImm64 { dst, src, imm } => {
            opc(op::ADD_IMMEDIATE64)
                | field(dst as u64, 48, 8)
                | field(src as u64, 40, 8)
                | field(imm as u32 as u64, 0, 32)
        }
        Instr::LoadMultiple {
            base,
            mask,
            addr,
            offset,
        } => {
            opc(op::LOAD_MULTIPLE)
                | field(base as u64, 48, 8)
                | field(addr as u64, 40, 8)
                | field(mask as u64, 16, 16)
                | field(offset as u16 as u64, 0, 16)
        }
        Instr::StoreMultiple {
            base,
            mask,
            addr,
            offset,
        } => {
            opc(op::STORE_MULTIPLE)
                | field(base as u64, 48, 8)
                | field(addr as u64, 40, 8)
                | field(mask as u64, 16, 16)
                | field(offset as u16 as u64, 0, 16)
        }
        Instr::Branch { cond, reg, offset } => {
            opc(op::BRANCH)
                | field(reg as u64, 40, 8)
                | field(cond as u64, 28, 3)
                | field(offset as u16 as u64, 0, 16)
        }
        Instr::Call { addr, len } => {
            opc(op::CALL) | field(addr as u64, 40, 8) | field(len as u64, 32, 8)
        }
        Instr::Jump { addr, len } => {
            opc(op::JUMP) | field(addr as u64, 40, 8) | field(len as u64, 32, 8)
        }
        Instr::FlushCache2 {
            l2,
            lsc,
            other,
            flush_id,
            wait_mask,
            signal_slot,
        } => {
            opc(op::FLUSH_CACHE2)
                | field(signal_slot as u64, 48, 4)
                | field(flush_id as u64, 40, 8)
                | field(wait_mask as u64, 16, 16)
                | field(other as u64, 8, 4)
                | field(lsc as u64, 4, 4)
                | field(l2 as u64, 0, 4)
        }
        Instr::SyncAdd32(ref s) => sync_update(op::SYNC_ADD32, s),
        Instr::SyncSet32(ref s) => sync_update(op::SYNC_SET32, s),
        Instr::SyncAdd64(ref s) => sync_update(op::SYNC_ADD64, s),
        Instr::SyncSet64(ref s) => sync_update(op::SYNC_SET64, s),
        Instr::SyncWait32(ref s) => sync_wait(op::SYNC_WAIT32, s),
        Instr::SyncWait64(ref s) => sync_wait(op::SYNC_WAIT64, s),
        Instr::RunCompute {
            task_increment,
            task_axis,
            progress_inc,
            select,
        } => {
            opc(op::RUN_COMPUTE)
                | selects(&select)
                | field(progress_inc as u64, 32, 1)
                | field(task_axis as u64, 14, 2)
                | field(task_increment as u64, 0, 14)
        }
        Instr::RunComputeIndirect {
            workgroups_per_task,
            progress_inc,
            select,
        } => {
            opc(op::RUN_COMPUTE_INDIRECT)
                | selects(&select)
                | field(progress_inc as u64, 32, 1)
                | field(workgroups_per_task as u64, 0, 16)
        }
        Instr::StoreState {
            state,
            addr,
            offset,
            wait_mask,
            signal_slot,
        } => {
            opc(op::STORE_STATE)
                | field(signal_slot as u64, 48, 4)
                | field(addr as u64, 40, 8)
                | field(state as u64, 32, 2)
                | field(wait_mask as u64, 16, 16)
                | field(offset as u16 as u64, 0, 16)
        }
        Instr::ErrorBarrier => opc(op::ERROR_BARRIER),
        Instr::Unsupported { opcode } => opc(opcode),
        Instr::Invalid => INVALID_WORD,
    }
}

/// Scoreboard behaviour of an asynchronous instruction (Mesa's
/// `cs_async_op`): wait for the entries in `wait_mask` before starting, and
/// signal `signal_slot` on completion. `wait_mask == 0` runs it at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Async {
    pub wait_mask: u16,
    pub signal_slot: u8,
}

impl Async {
    /// Start at once (Mesa's `cs_now()`); as on v10, the signal slot of a
    /// synchronous SYNC_* is encoded as 0.
    pub const NOW: Async = Async {
        wait_mask: 0,
        signal_slot: 0,
    };

    /// Wait for `wait_mask`, then signal `signal_slot` (Mesa's `cs_defer()`).
    pub const fn defer(wait_mask: u16, signal_slot: u8) -> Async {
        Async {
            wait_mask,
            signal_slot,
        }
    }
}

/// Why a [`CsBuilder`] could not produce a stream. The builder records the
/// first error and keeps going, so callers check once at [`CsBuilder::finish`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// A register index at or above [`NUM_REGS`] (for register tuples, the
    /// last register of the tuple).
    RegisterOutOfRange { reg: u8 },
    /// A 64-bit operand on an odd register.
    UnalignedPair { reg: u8 },
    /// A `MOVE48` immediate of 2^48 or more.
    ImmediateOutOfRange { imm: u64 },
    /// A scoreboard slot outside the 4-bit signal field.
    SlotOutOfRange { slot: u8 },
    /// A deferred operation waiting on the slot it signals (it would never
    /// start: the slot is incremented before the wait).
    WaitOnOwnSlot { slot: u8 },
    /// A branch further than a signed 16-bit instruction offset.
    BranchOutOfRange { from: usize, to: usize },
    /// `finish` with a label that branches reference but nobody bound.
    UnboundLabel { label: usize },
    /// A label bound twice.
    LabelRebound { label: usize },
    /// A label from another builder.
    UnknownLabel { label: usize },
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            BuildError::RegisterOutOfRange { reg } => {
                write!(f, "register r{reg} is outside the {NUM_REGS}-register file")
            }
            BuildError::UnalignedPair { reg } => {
                write!(f, "64-bit operand on odd register r{reg}")
            }
            BuildError::ImmediateOutOfRange { imm } => {
                write!(f, "immediate {imm:#x} does not fit MOVE48")
            }
            BuildError::SlotOutOfRange { slot } => write!(f, "scoreboard slot {slot} > 15"),
            BuildError::WaitOnOwnSlot { slot } => {
                write!(f, "deferred operation waits on its own signal slot {slot}")
            }
            BuildError::BranchOutOfRange { from, to } => {
                write!(f, "branch from instruction {from} to {to} exceeds 16 bits")
            }
            BuildError::UnboundLabel { label } => write!(f, "label {label} never bound"),
            BuildError::LabelRebound { label } => write!(f, "label {label} bound twice"),
            BuildError::UnknownLabel { label } => write!(f, "label {label} is not ours"),
        }
    }
}

impl std::error::Error for BuildError {}

/// A branch target inside one [`CsBuilder`]; branches may reference it
/// before [`CsBuilder::bind`] places it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

#[derive(Default)]
struct LabelSlot {
    target: Option<usize>,
    pending: Vec<usize>,
}

/// Appends CS instructions to a buffer, checking operands the way Mesa's
/// `cs_builder.h` asserts them (register bounds, even 64-bit pairs, field
/// ranges), with labels for forward and backward branches.
///
/// The builder never panics: the first invalid operand is remembered and
/// returned by [`CsBuilder::finish`].
#[derive(Default)]
pub struct CsBuilder {
    words: Vec<u64>,
    labels: Vec<LabelSlot>,
    error: Option<BuildError>,
}

impl CsBuilder {
    pub fn new() -> CsBuilder {
        CsBuilder::default()
    }

    pub fn with_capacity(instrs: usize) -> CsBuilder {
        CsBuilder {
            words: Vec::with_capacity(instrs),
            ..CsBuilder::default()
        }
    }

    /// Instructions emitted so far.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words so far (forward branches to unbound labels not yet patched).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The first operand error, if any.
    pub fn error(&self) -> Option<BuildError> {
        self.error
    }

    /// The finished stream, or the first error.
    pub fn finish(self) -> Result<Vec<u64>, BuildError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        for (i, l) in self.labels.iter().enumerate() {
            if l.target.is_none() && !l.pending.is_empty() {
                return Err(BuildError::UnboundLabel { label: i });
            }
        }
        Ok(self.words)
    }

    /// The finished stream as little-endian bytes, as it lies in GPU memory.
    pub fn finish_bytes(self) -> Result<Vec<u8>, BuildError> {
        let words = self.finish()?;
        Ok(words.iter().flat_map(|w| w.to_le_bytes()).collect())
    }

    fn fail(&mut self, e: BuildError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    fn r32(&mut self, r: u8) -> u8 {
        if r as usize >= NUM_REGS {
            self.fail(BuildError::RegisterOutOfRange { reg: r });
        }
        r
    }

    fn r64(&mut self, d: u8) -> u8 {
        if d % 2 != 0 {
            self.fail(BuildError::UnalignedPair { reg: d });
        } else if d as usize + 1 >= NUM_REGS {
            self.fail(BuildError::RegisterOutOfRange {
                reg: d.wrapping_add(1),
            });
        }
        d
    }

    fn tuple(&mut self, base: u8, mask: u16) -> u8 {
        if mask != 0 {
            let last = base as usize + 15 - mask.leading_zeros() as usize;
            if last >= NUM_REGS {
                self.fail(BuildError::RegisterOutOfRange {
                    reg: last.min(255) as u8,
                });
            }
        }
        base
    }

    fn slot(&mut self, a: Async) -> Async {
        if a.signal_slot > 15 {
            self.fail(BuildError::SlotOutOfRange {
                slot: a.signal_slot,
            });
        } else if a.wait_mask & (1 << a.signal_slot) != 0 && a.wait_mask != 0 {
            self.fail(BuildError::WaitOnOwnSlot {
                slot: a.signal_slot,
            });
        }
        a
    }

    /// Appends an already-formed instruction, unchecked.
    pub fn push(&mut self, instr: Instr) -> &mut Self {
        self.words.push(encode(&instr));
        self
    }

    pub fn nop(&mut self) -> &mut Self {
        self.push(Instr::Nop)
    }

    /// `MOVE32 rN, #imm`.
    pub fn mov32(&mut self, reg: u8, imm: u32) -> &mut Self {
        let dst = self.r32(reg);
        self.push(Instr::Move32 { dst, imm })
    }

    /// `MOVE48 dN, #imm` (zero-extended; `imm < 2^48`).
    pub fn mov48(&mut self, reg: u8, imm: u64) -> &mut Self {
        let dst = self.r64(reg);
        if imm >> 48 != 0 {
            self.fail(BuildError::ImmediateOutOfRange { imm });
        }
        self.push(Instr::Move48 { dst, imm })
    }

    /// Any 64-bit constant: one `MOVE48` when it fits, else two `MOVE32`
    /// (Mesa's `cs_move64_to`).
    pub fn mov64(&mut self, reg: u8, imm: u64) -> &mut Self {
        if imm >> 48 == 0 {
            return self.mov48(reg, imm);
        }
        let d = self.r64(reg);
        self.push(Instr::Move32 {
            dst: d,
            imm: imm as u32,
        });
        self.push(Instr::Move32 {
            dst: d.wrapping_add(1),
            imm: (imm >> 32) as u32,
        })
    }

    /// `ADD_IMMEDIATE32 rD, rS, #imm`.
    pub fn add32(&mut self, dst: u8, src: u8, imm: i32) -> &mut Self {
        let (dst, src) = (self.r32(dst), self.r32(src));
        self.push(Instr::AddImm32 { dst, src, imm })
    }

    /// `ADD_IMMEDIATE64 dD, dS, #imm` (imm sign-extended to 64 bits).
    pub fn add64(&mut self, dst: u8, src: u8, imm: i32) -> &mut Self {
        let (dst, src) = (self.r64(dst), self.r64(src));
        self.push(Instr::AddImm64 { dst, src, imm })
    }

    /// `LOAD_MULTIPLE`: for each bit `i` of `mask`, `r(first+i)` gets the
    /// 32-bit word at `d(addr) + offset + 4*i`.
    pub fn load_multiple(&mut self, first: u8, mask: u16, addr: u8, offset: i16) -> &mut Self {
        let base = self.tuple(first, mask);
        let addr = self.r64(addr);
        self.push(Instr::LoadMultiple {
            base,
            mask,
            addr,
            offset,
        })
    }

    /// `STORE_MULTIPLE`: for each bit `i` of `mask`, the word at
    /// `d(addr) + offset + 4*i` gets `r(first+i)`.
    pub fn store_multiple(&mut self, first: u8, mask: u16, addr: u8, offset: i16) -> &mut Self {
        let base = self.tuple(first, mask);
        let addr = self.r64(addr);
        self.push(Instr::StoreMultiple {
            base,
            mask,
            addr,
            offset,
        })
    }

    /// `rN = [d(addr) + offset]`.
    pub fn load32(&mut self, reg: u8, addr: u8, offset: i16) -> &mut Self {
        self.load_multiple(reg, 0b1, addr, offset)
    }

    /// `dN = [d(addr) + offset]` (two words, low first).
    pub fn load64(&mut self, reg: u8, addr: u8, offset: i16) -> &mut Self {
        self.r64(reg);
        self.load_multiple(reg, 0b11, addr, offset)
    }

    pub fn store32(&mut self, reg: u8, addr: u8, offset: i16) -> &mut Self {
        self.store_multiple(reg, 0b1, addr, offset)
    }

    pub fn store64(&mut self, reg: u8, addr: u8, offset: i16) -> &mut Self {
        self.r64(reg);
        self.store_multiple(reg, 0b11, addr, offset)
    }

    /// `BRANCH.cond rN, #offset`: when `cond` holds for `rN`, continue at
    /// `offset` instructions after the next one.
    pub fn branch(&mut self, cond: Condition, reg: u8, offset: i16) -> &mut Self {
        let reg = self.r32(reg);
        self.push(Instr::Branch { cond, reg, offset })
    }

    /// A new, unbound label.
    pub fn new_label(&mut self) -> Label {
        self.labels.push(LabelSlot::default());
        Label(self.labels.len() - 1)
    }

    /// Places `label` at the next instruction and patches the branches that
    /// referenced it.
    pub fn bind(&mut self, label: Label) -> &mut Self {
        let here = self.words.len();
        let Some(slot) = self.labels.get_mut(label.0) else {
            self.fail(BuildError::UnknownLabel { label: label.0 });
            return self;
        };
        if slot.target.is_some() {
            self.fail(BuildError::LabelRebound { label: label.0 });
            return self;
        }
        slot.target = Some(here);
        let pending = std::mem::take(&mut slot.pending);
        for from in pending {
            match branch_offset(from, here) {
                Some(off) => {
                    let w = &mut self.words[from];
                    *w = (*w & !0xffff) | off as u16 as u64;
                }
                None => self.fail(BuildError::BranchOutOfRange { from, to: here }),
            }
        }
        self
    }

    /// `BRANCH.cond rN` to `label` (bound already, or later by `bind`).
    pub fn branch_to(&mut self, cond: Condition, reg: u8, label: Label) -> &mut Self {
        let here = self.words.len();
        let target = match self.labels.get(label.0) {
            Some(slot) => slot.target,
            None => {
                self.fail(BuildError::UnknownLabel { label: label.0 });
                None
            }
        };
        let offset = match target {
            Some(to) => branch_offset(here, to).unwrap_or_else(|| {
                self.fail(BuildError::BranchOutOfRange { from: here, to });
                0
            }),
            None => {
                if let Some(slot) = self.labels.get_mut(label.0) {
                    slot.pending.push(here);
                }
                0
            }
        };
        self.branch(cond, reg, offset)
    }

    /// `WAIT #mask`: wait until the scoreboard entries in `mask` drain.
    pub fn wait(&mut self, mask: u8) -> &mut Self {
        self.push(Instr::Wait {
            mask,
            progress_inc: false,
        })
    }

    fn sync_operands(
        &mut self,
        addr: u8,
        data: u8,
        wide: bool,
        scope: SyncScope,
        error_propagate: bool,
        a: Async,
    ) -> SyncUpdate {
        let addr = self.r64(addr);
        let data = if wide { self.r64(data) } else { self.r32(data) };
        let a = self.slot(a);
        SyncUpdate {
            addr,
            data,
            error_propagate,
            scope,
            wait_mask: a.wait_mask,
            // v10 encodes the slot only for deferred (asynchronous) sync ops.
            signal_slot: if a.wait_mask != 0 { a.signal_slot } else { 0 },
        }
    }

    /// A copy loop of `bytes` (a non-zero multiple of 64) from GPU VA `src`
    /// to `dst`, 64 bytes an iteration: the transfer lowering a driver uses.
    /// Clobbers d0 (source), d2 (destination), r4 (count) and r16..r31.
    pub fn copy(&mut self, src: u64, dst: u64, bytes: u32) -> &mut Self {
        self.mov48(0, src).mov48(2, dst).mov32(4, bytes / 64);
        let top = self.new_label();
        self.bind(top);
        self.load_multiple(16, 0xffff, 0, 0)
            .wait(1)
            .store_multiple(16, 0xffff, 2, 0)
            .add64(0, 0, 64)
            .add64(2, 2, 64)
            .add32(4, 4, -1)
            .branch_to(Condition::Nequal, 4, top)
    }

    /// `SYNC_ADD32 [d(addr)], r(data)`.
    pub fn sync_add32(
        &mut self,
        addr: u8,
        data: u8,
        scope: SyncScope,
        error_propagate: bool,
        a: Async,
    ) -> &mut Self {
        let s = self.sync_operands(addr, data, false, scope, error_propagate, a);
        self.push(Instr::SyncAdd32(s))
    }

    /// `SYNC_SET32 [d(addr)], r(data)`.
    pub fn sync_set32(
        &mut self,
        addr: u8,
        data: u8,
        scope: SyncScope,
        error_propagate: bool,
        a: Async,
    ) -> &mut Self {
        let s = self.sync_operands(addr, data, false, scope, error_propagate, a);
        self.push(Instr::SyncSet32(s))
    }

    /// `SYNC_ADD64 [d(addr)], d(data)`.
    pub fn sync_add64(
        &mut self,
        addr: u8,
        data: u8,
        scope: SyncScope,
        error_propagate: bool,
        a: Async,
    ) -> &mut Self {
        let s = self.sync_operands(addr, data, true, scope, error_propagate, a);
        self.push(Instr::SyncAdd64(s))
    }

    /// `SYNC_SET64 [d(addr)], d(data)`.
    pub fn sync_set64(
        &mut self,
        addr: u8,
        data: u8,
        scope: SyncScope,
        error_propagate: bool,
        a: Async,
    ) -> &mut Self {
        let s = self.sync_operands(addr, data, true, scope, error_propagate, a);
        self.push(Instr::SyncSet64(s))
    }

    /// `SYNC_WAIT32.cond [d(addr)], r(data)`: stall until the 32-bit value
    /// at `d(addr)` compares `cond` with `r(data)` (Mesa only emits
    /// `Greater` and `Lequal`).
    pub fn sync_wait32(
        &mut self,
        cond: Condition,
        addr: u8,
        data: u8,
        error_reject: bool,
    ) -> &mut Self {
        let (addr, data) = (self.r64(addr), self.r32(data));
        self.push(Instr::SyncWait32(SyncWait {
            cond,
            addr,
            data,
            error_reject,
        }))
    }

    /// `SYNC_WAIT64.cond [d(addr)], d(data)`.
    pub fn sync_wait64(
        &mut self,
        cond: Condition,
        addr: u8,
        data: u8,
        error_reject: bool,
    ) -> &mut Self {
        let (addr, data) = (self.r64(addr), self.r64(data));
        self.push(Instr::SyncWait64(SyncWait {
            cond,
            addr,
            data,
            error_reject,
        }))
    }

    /// `FLUSH_CACHE2`: always asynchronous, so it always signals
    /// `a.signal_slot`; `flush_id` is the register holding the latest flush ID.
    pub fn flush_cache2(
        &mut self,
        l2: FlushMode,
        lsc: FlushMode,
        other: OtherFlushMode,
        flush_id: u8,
        a: Async,
    ) -> &mut Self {
        let flush_id = self.r32(flush_id);
        let a = self.slot(a);
        self.push(Instr::FlushCache2 {
            l2,
            lsc,
            other,
            flush_id,
            wait_mask: a.wait_mask,
            signal_slot: a.signal_slot,
        })
    }

    /// `RUN_COMPUTE`: runs the compute job described by the staging
    /// registers (`compute_sr`, register pairs picked by `select`), cut into
    /// tasks of `task_increment` workgroups along `task_axis`.
    pub fn run_compute(
        &mut self,
        task_increment: u16,
        task_axis: TaskAxis,
        select: ResourceSelect,
    ) -> &mut Self {
        self.push(Instr::RunCompute {
            task_increment,
            task_axis,
            progress_inc: false,
            select,
        })
    }

    /// `STORE_STATE`: stores the 64-bit `state` at `d(addr) + offset`.
    pub fn store_state(&mut self, state: StateKind, addr: u8, offset: i16, a: Async) -> &mut Self {
        let addr = self.r64(addr);
        let a = self.slot(a);
        self.push(Instr::StoreState {
            state,
            addr,
            offset,
            wait_mask: a.wait_mask,
            signal_slot: a.signal_slot,
        })
    }

    /// `CALL d(addr), r(len)`: run `r(len)` bytes at `d(addr)`, then return
    /// to the next instruction.
    pub fn call(&mut self, addr: u8, len: u8) -> &mut Self {
        let (addr, len) = (self.r64(addr), self.r32(len));
        self.push(Instr::Call { addr, len })
    }

    /// `JUMP d(addr), r(len)`: continue in `r(len)` bytes at `d(addr)`, in
    /// place of the current buffer (how Mesa links CS chunks).
    pub fn jump(&mut self, addr: u8, len: u8) -> &mut Self {
        let (addr, len) = (self.r64(addr), self.r32(len));
        self.push(Instr::Jump { addr, len })
    }

    pub fn error_barrier(&mut self) -> &mut Self {
        self.push(Instr::ErrorBarrier)
    }
}

/// Offset of a branch at `from` reaching `to` (relative to `from + 1`).
fn branch_offset(from: usize, to: usize) -> Option<i16> {
    let off = to as i64 - from as i64 - 1;
    i16::try_from(off).ok()
}

// Enum discriminants are the genxml values; they must fit their fields.
const _: () = assert!((Condition::Always as u64) < 8);
const _: () = assert!((FlushMode::CleanInvalidate as u64) < 16);
const _: () = assert!((OtherFlushMode::Invalidate as u64) < 16);
const _: () = assert!((SyncScope::Csg as u64) < 4);
