//! The CS interpreter: one command-stream interface's registers, program
//! counter and call stack, executing instructions fetched from GPU virtual
//! memory through [`CsMemory`].

use super::{
    decode, Condition, Instr, ResourceSelect, StateKind, SyncUpdate, SyncWait, MAX_CALL_DEPTH,
    NUM_REGS,
};

/// A GPU memory access the MMU refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemFault {
    pub va: u64,
    pub write: bool,
}

/// GPU virtual memory as the command-stream front end sees it. Every access
/// may fault (the MMU behind it reports and latches the fault).
pub trait CsMemory {
    fn read_u32(&mut self, va: u64) -> Result<u32, MemFault>;
    fn write_u32(&mut self, va: u64, v: u32) -> Result<(), MemFault>;
    /// `va` is 8-byte aligned.
    fn read_u64(&mut self, va: u64) -> Result<u64, MemFault>;
    /// `va` is 8-byte aligned.
    fn write_u64(&mut self, va: u64, v: u64) -> Result<(), MemFault>;

    /// The GPU-wide counters `STORE_STATE` samples: the system timestamp
    /// (GPU_CONTROL `TIMESTAMP`) and the cycle counter (`CYCLE_COUNT`).
    fn timestamp(&mut self) -> u64;
    fn cycle_count(&mut self) -> u64;

    /// Fetches the instruction word at `va` (8-byte aligned): a read like
    /// [`CsMemory::read_u64`], which it is by default. Separate so that a
    /// memory can keep instruction-side state apart (a fetch micro-TLB).
    #[inline]
    fn fetch_u64(&mut self, va: u64) -> Result<u64, MemFault> {
        self.read_u64(va)
    }

    /// Reads `out.len()` consecutive 32-bit words from `va` (at most 16).
    /// On a fault, returns the first failing word's fault; `out` may then be
    /// partly filled. Override for speed; the default reads word by word.
    fn read_u32s(&mut self, va: u64, out: &mut [u32]) -> Result<(), MemFault> {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.read_u32(va.wrapping_add(4 * i as u64))?;
        }
        Ok(())
    }

    /// Reads the 16 consecutive 32-bit words at `va` a full LOAD_MULTIPLE
    /// loads. Unlike [`CsMemory::read_u32s`], `out` is left unchanged on a
    /// fault, so it may be the destination registers themselves. Override
    /// for speed; the default reads into a temporary first.
    #[inline]
    fn read_u32x16(&mut self, va: u64, out: &mut [u32; 16]) -> Result<(), MemFault> {
        let mut tmp = [0; 16];
        self.read_u32s(va, &mut tmp)?;
        *out = tmp;
        Ok(())
    }

    /// Writes consecutive 32-bit words from `va` (at most 16), in order. On a
    /// fault, the words before the failing one are written, later ones not.
    fn write_u32s(&mut self, va: u64, data: &[u32]) -> Result<(), MemFault> {
        for (i, &v) in data.iter().enumerate() {
            self.write_u32(va.wrapping_add(4 * i as u64), v)?;
        }
        Ok(())
    }

    /// Runs a compute job to completion on the shader cores behind this
    /// memory (they share its address space). The default has no shader
    /// cores.
    fn run_compute(&mut self, job: &ComputeJob) -> Result<(), ComputeError> {
        let _ = job;
        Err(ComputeError::Refused(ComputeFault::NoShaderCores))
    }
}

/// How a compute job failed: an MMU fault on one of its accesses, or a
/// refusal of the shader cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComputeError {
    Memory(MemFault),
    Refused(ComputeFault),
}

/// A compute job as `RUN_COMPUTE` starts it: the staging registers it
/// reads (genxml v10 `COMPUTE SR`), with the register pairs its selects
/// name already resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComputeJob {
    /// Resource table: address | entry count in bits 0..5.
    pub srt: u64,
    /// Push-constant buffer: address | 64-bit word count << 56.
    pub fau: u64,
    /// `Shader Program` descriptor address.
    pub spd: u64,
    /// `Local Storage` descriptor address.
    pub tsd: u64,
    pub global_attribute_offset: u32,
    /// Packed `Compute size workgroup`.
    pub wg_size: u32,
    /// Added to the global invocation ID only.
    pub job_offset: [u32; 3],
    /// Workgroups along X, Y, Z.
    pub job_size: [u32; 3],
}

/// Why the shader cores refused or stopped a compute job. Memory faults of
/// shaders are MMU faults and stop the stream as [`CsFault::Memory`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComputeFault {
    /// This memory has no shader cores behind it (interpreter tests).
    NoShaderCores,
    /// A descriptor the job reads (resource table entry, buffer, texture,
    /// sampler, shader program, local storage) is malformed; `va` is where.
    InvalidDescriptor { va: u64 },
    /// The shader program cannot be decoded or executed (a hardware
    /// "invalid instruction encoding").
    InvalidProgram { va: u64 },
    /// The program hit an error only found while running (unreachable
    /// executed, a descriptor of the wrong kind, a too-deep call stack).
    ShaderError { va: u64 },
    /// The job was stopped from outside (device shutdown, job timeout).
    Cancelled,
}

/// Why a stream stopped with a fault. The faulting instruction's VA is in
/// the variant where one applies, and is always [`CsState::pc`] afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsFault {
    /// Instruction fetch or data access refused by the MMU.
    Memory(MemFault),
    /// A reserved opcode or an undefined field value.
    InvalidInstruction { va: u64, word: u64 },
    /// An opcode this interpreter does not execute (`RUN_COMPUTE`, ...).
    Unsupported { va: u64, opcode: u8 },
    /// A `CALL` with [`MAX_CALL_DEPTH`] frames already pushed.
    CallStackOverflow,
    /// A register index outside the register file, or a 64-bit operand on
    /// an odd register (`reg` is the offending index).
    InvalidRegister { va: u64, reg: u8 },
    /// A `CALL`/`JUMP` (or [`CsState::start`]) to an address that is not
    /// 8-byte aligned, with a length that is not a multiple of 8, or wrapping
    /// the address space. `va` is the instruction (or `addr` for `start`).
    BadBuffer { va: u64, addr: u64, len: u64 },
    /// A sync object not naturally aligned (4 bytes for 32-bit objects, 8
    /// for 64-bit ones).
    MisalignedSync { va: u64, addr: u64 },
    /// A LOAD/STORE_MULTIPLE address that is not 4-byte aligned.
    MisalignedAccess { va: u64, addr: u64 },
    /// A taken `BRANCH` leaving the current buffer (the target may equal the
    /// buffer's end, which returns from it).
    BranchOutOfRange { va: u64, target: u64 },
    /// A `RUN_COMPUTE` job failed (`va` is the instruction).
    Compute { va: u64, fault: ComputeFault },
}

/// What [`CsState::run`] ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The top-level buffer ran to its end.
    Done,
    /// A `SYNC_WAIT` condition does not hold yet; [`CsState::sync_wait`]
    /// says on what. `run` again later resumes at the same instruction.
    Blocked,
    /// The stream faulted; it stays faulted until the next `start`.
    Fault(CsFault),
    /// `budget` instructions ran; `run` again to continue.
    BudgetExhausted,
}

/// The condition a blocked stream waits on (what panthor reads from
/// `CS_STATUS_WAIT` / `CS_STATUS_WAIT_SYNC_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncWaitStatus {
    /// VA of the `SYNC_WAIT` instruction.
    pub instr_va: u64,
    /// VA of the sync object.
    pub addr: u64,
    /// Reference value (zero-extended for 32-bit waits).
    pub reference: u64,
    pub cond: Condition,
    /// `SYNC_WAIT64` rather than `SYNC_WAIT32`.
    pub wide: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Frame {
    ret: u64,
    start: u64,
    end: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Idle,
    Running,
    Done,
    Faulted(CsFault),
}

/// Why an instruction did not complete (its `Ok` is the next PC). A fault
/// is recorded in the status where it is raised ([`CsState::fault_at`]),
/// which keeps this, and the hot loop's result, two words wide.
enum Stop {
    Blocked,
    Faulted,
}

/// One command-stream interface: the register file, the current buffer and
/// the call stack.
#[derive(Clone, Debug)]
pub struct CsState {
    /// `r0..r95`; `dN` is `regs[N] | regs[N+1] << 32`.
    pub regs: [u32; NUM_REGS],
    pc: u64,
    start: u64,
    end: u64,
    frames: [Frame; MAX_CALL_DEPTH],
    depth: usize,
    status: Status,
    sync_wait: Option<SyncWaitStatus>,
    retired: u64,
    sync_updates: u64,
}

impl Default for CsState {
    fn default() -> CsState {
        CsState::new()
    }
}

#[inline(always)]
fn reg32(va: u64, reg: u8) -> Result<usize, CsFault> {
    if (reg as usize) < NUM_REGS {
        Ok(reg as usize)
    } else {
        Err(CsFault::InvalidRegister { va, reg })
    }
}

#[inline(always)]
fn reg64(va: u64, reg: u8) -> Result<usize, CsFault> {
    if reg % 2 == 0 && (reg as usize) + 1 < NUM_REGS {
        Ok(reg as usize)
    } else {
        Err(CsFault::InvalidRegister { va, reg })
    }
}

/// Registers `base..=base+last` of a LOAD/STORE_MULTIPLE, checked.
#[inline(always)]
fn tuple(va: u64, base: u8, mask: u16) -> Result<(usize, usize), CsFault> {
    let n = 16 - mask.leading_zeros() as usize;
    let b = base as usize;
    if b + n <= NUM_REGS {
        Ok((b, n))
    } else {
        let reg = (b + n - 1).min(u8::MAX as usize) as u8;
        Err(CsFault::InvalidRegister { va, reg })
    }
}

/// Buffer `[addr, addr + len)` as CALL/JUMP/start take it.
fn buffer(va: u64, addr: u64, len: u64) -> Result<u64, CsFault> {
    match addr.checked_add(len) {
        Some(end) if addr % 8 == 0 && len % 8 == 0 => Ok(end),
        _ => Err(CsFault::BadBuffer { va, addr, len }),
    }
}

impl CsState {
    /// An idle interface with all registers zero.
    pub fn new() -> CsState {
        CsState {
            regs: [0; NUM_REGS],
            pc: 0,
            start: 0,
            end: 0,
            frames: [Frame::default(); MAX_CALL_DEPTH],
            depth: 0,
            status: Status::Idle,
            sync_wait: None,
            retired: 0,
            sync_updates: 0,
        }
    }

    /// Starts executing the `size_bytes` bytes at `addr` as the top-level
    /// buffer. Registers keep their values; the call stack is emptied and a
    /// previous fault or wait is forgotten. A misaligned buffer faults at the
    /// next [`CsState::run`].
    pub fn start(&mut self, addr: u64, size_bytes: u32) {
        self.depth = 0;
        self.sync_wait = None;
        self.pc = addr;
        self.start = addr;
        match buffer(addr, addr, size_bytes as u64) {
            Ok(end) => {
                self.end = end;
                self.status = Status::Running;
            }
            Err(f) => {
                self.end = addr;
                self.status = Status::Faulted(f);
            }
        }
    }

    /// VA of the next instruction (of the faulting or blocked one when
    /// stopped there).
    pub fn pc(&self) -> u64 {
        self.pc
    }

    /// End of the buffer being executed (exclusive).
    pub fn buffer_end(&self) -> u64 {
        self.end
    }

    /// Frames pushed by `CALL` and not yet returned from.
    pub fn call_depth(&self) -> usize {
        self.depth
    }

    /// The pending `SYNC_WAIT` after [`Outcome::Blocked`].
    pub fn sync_wait(&self) -> Option<SyncWaitStatus> {
        self.sync_wait
    }

    /// The fault the stream stopped on, until the next `start`.
    pub fn fault(&self) -> Option<CsFault> {
        match self.status {
            Status::Faulted(f) => Some(f),
            _ => None,
        }
    }

    /// True once the top-level buffer has run to its end.
    pub fn is_done(&self) -> bool {
        self.status == Status::Done
    }

    /// Instructions completed since creation.
    pub fn retired(&self) -> u64 {
        self.retired
    }

    /// SYNC_ADD/SYNC_SET operations completed since creation (a scheduler can
    /// re-check blocked streams when this moves).
    pub fn sync_updates(&self) -> u64 {
        self.sync_updates
    }

    /// `dN` as a 64-bit value (`N` even and below 95, else 0).
    pub fn reg64(&self, n: u8) -> u64 {
        let n = n as usize;
        if n % 2 == 0 && n + 1 < NUM_REGS {
            self.regs[n] as u64 | (self.regs[n + 1] as u64) << 32
        } else {
            0
        }
    }

    /// Sets `dN` (`N` even and below 95, else nothing).
    pub fn set_reg64(&mut self, n: u8, v: u64) {
        let n = n as usize;
        if n % 2 == 0 && n + 1 < NUM_REGS {
            self.set64(n, v);
        }
    }

    #[inline(always)]
    fn get64(&self, i: usize) -> u64 {
        self.regs[i] as u64 | (self.regs[i + 1] as u64) << 32
    }

    #[inline(always)]
    fn set64(&mut self, i: usize, v: u64) {
        self.regs[i] = v as u32;
        self.regs[i + 1] = (v >> 32) as u32;
    }

    fn stop(&mut self, f: CsFault) -> Outcome {
        self.status = Status::Faulted(f);
        Outcome::Fault(f)
    }

    /// Records the fault an instruction stops on.
    #[cold]
    fn fault_at(&mut self, f: CsFault) -> Stop {
        self.status = Status::Faulted(f);
        Stop::Faulted
    }

    /// Returns from finished buffers; true when the top level has finished.
    #[inline]
    fn unwind(&mut self) -> bool {
        while self.pc == self.end {
            if self.depth == 0 {
                return true;
            }
            self.depth -= 1;
            let f = self.frames[self.depth];
            self.pc = f.ret;
            self.start = f.start;
            self.end = f.end;
        }
        false
    }

    /// Executes up to `budget` instructions. Generic so that a concrete
    /// memory's accesses inline into the loop; `&mut dyn CsMemory` works too.
    pub fn run<M: CsMemory + ?Sized>(&mut self, mem: &mut M, budget: u64) -> Outcome {
        match self.status {
            Status::Idle | Status::Done => return Outcome::Done,
            Status::Faulted(f) => return Outcome::Fault(f),
            Status::Running => {}
        }
        // The program counter stays in a local for the whole loop (a store
        // and reload per instruction would sit on its critical path) and is
        // written back on every way out.
        let mut left = budget;
        let mut pc = self.pc;
        let outcome = loop {
            if pc == self.end {
                self.pc = pc;
                if self.unwind() {
                    self.status = Status::Done;
                    return self.finish(budget - left, Outcome::Done);
                }
                pc = self.pc;
            }
            if left == 0 {
                break Outcome::BudgetExhausted;
            }
            let word = match mem.fetch_u64(pc) {
                Ok(w) => w,
                Err(e) => break self.stop(CsFault::Memory(e)),
            };
            match self.execute(mem, pc, word) {
                Ok(next) => pc = next,
                Err(Stop::Blocked) => break Outcome::Blocked,
                Err(Stop::Faulted) => match self.status {
                    Status::Faulted(f) => break Outcome::Fault(f),
                    _ => unreachable!("Stop::Faulted comes with a recorded fault"),
                },
            }
            left -= 1;
        };
        // Stopped at `pc`: the next instruction, or the blocked or faulting one.
        self.pc = pc;
        self.finish(budget - left, outcome)
    }

    /// Counts the instructions a `run` completed (each took one unit of its
    /// budget).
    fn finish(&mut self, completed: u64, outcome: Outcome) -> Outcome {
        self.retired += completed;
        outcome
    }

    #[inline(always)]
    fn execute<M: CsMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        va: u64,
        word: u64,
    ) -> Result<u64, Stop> {
        // `?` for operand checks and accesses: records the fault in the
        // status and stops the instruction with the thin `Stop::Faulted`.
        macro_rules! check {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(f) => return Err(self.fault_at(f)),
                }
            };
        }
        match decode(word) {
            Instr::Nop | Instr::ErrorBarrier => {}
            // In order: every scoreboard entry is already drained.
            Instr::Wait { .. } => {}
            Instr::Move48 { dst, imm } => {
                let d = check!(reg64(va, dst));
                self.set64(d, imm);
            }
            Instr::Move32 { dst, imm } => {
                let d = check!(reg32(va, dst));
                self.regs[d] = imm;
            }
            Instr::AddImm32 { dst, src, imm } => {
                let (d, s) = (check!(reg32(va, dst)), check!(reg32(va, src)));
                self.regs[d] = self.regs[s].wrapping_add(imm as u32);
            }
            Instr::AddImm64 { dst, src, imm } => {
                let (d, s) = (check!(reg64(va, dst)), check!(reg64(va, src)));
                let v = self.get64(s).wrapping_add(imm as i64 as u64);
                self.set64(d, v);
            }
            Instr::LoadMultiple {
                base,
                mask,
                addr,
                offset,
            } => check!(self.load_multiple(mem, va, base, mask, addr, offset)),
            Instr::StoreMultiple {
                base,
                mask,
                addr,
                offset,
            } => check!(self.store_multiple(mem, va, base, mask, addr, offset)),
            Instr::Branch { cond, reg, offset } => {
                if cond != Condition::Always {
                    let r = check!(reg32(va, reg));
                    if !cond.test_signed_zero(self.regs[r]) {
                        return Ok(va + 8);
                    }
                }
                let target = va
                    .wrapping_add(8)
                    .wrapping_add((offset as i64 as u64).wrapping_mul(8));
                if target < self.start || target > self.end {
                    return Err(self.fault_at(CsFault::BranchOutOfRange { va, target }));
                }
                return Ok(target);
            }
            Instr::Call { addr, len } => {
                let (a, l) = (check!(reg64(va, addr)), check!(reg32(va, len)));
                if self.depth == MAX_CALL_DEPTH {
                    return Err(self.fault_at(CsFault::CallStackOverflow));
                }
                let (target, size) = (self.get64(a), self.regs[l] as u64);
                let end = check!(buffer(va, target, size));
                self.frames[self.depth] = Frame {
                    ret: va + 8,
                    start: self.start,
                    end: self.end,
                };
                self.depth += 1;
                self.start = target;
                self.end = end;
                return Ok(target);
            }
            Instr::Jump { addr, len } => {
                let (a, l) = (check!(reg64(va, addr)), check!(reg32(va, len)));
                let (target, size) = (self.get64(a), self.regs[l] as u64);
                self.end = check!(buffer(va, target, size));
                self.start = target;
                return Ok(target);
            }
            Instr::FlushCache2 { flush_id, .. } => {
                // No caches in front of simulated memory: nothing to clean.
                check!(reg32(va, flush_id));
            }
            Instr::SyncAdd32(s) => check!(self.sync_update(mem, va, &s, true, false)),
            Instr::SyncSet32(s) => check!(self.sync_update(mem, va, &s, false, false)),
            Instr::SyncAdd64(s) => check!(self.sync_update(mem, va, &s, true, true)),
            Instr::SyncSet64(s) => check!(self.sync_update(mem, va, &s, false, true)),
            Instr::StoreState {
                state,
                addr,
                offset,
                ..
            } => {
                let a = check!(reg64(va, addr));
                let at = self.get64(a).wrapping_add(offset as i64 as u64);
                if at % 8 != 0 {
                    return Err(self.fault_at(CsFault::MisalignedAccess { va, addr: at }));
                }
                let value = match state {
                    StateKind::Timestamp => mem.timestamp(),
                    StateKind::CycleCount => mem.cycle_count(),
                    // The counters never jump, and a fault stops the
                    // stream, so no error state outlives one.
                    StateKind::DisjointCount | StateKind::ErrorStatus => 0,
                };
                check!(mem.write_u64(at, value).map_err(CsFault::Memory));
            }
            Instr::SyncWait32(s) => return self.sync_wait_op(mem, va, &s, false),
            Instr::SyncWait64(s) => return self.sync_wait_op(mem, va, &s, true),
            Instr::RunCompute { select, .. } | Instr::RunComputeIndirect { select, .. } => {
                let job = check!(self.compute_job(va, select));
                match mem.run_compute(&job) {
                    Ok(()) => {}
                    Err(ComputeError::Memory(m)) => return Err(self.fault_at(CsFault::Memory(m))),
                    Err(ComputeError::Refused(fault)) => {
                        return Err(self.fault_at(CsFault::Compute { va, fault }))
                    }
                }
            }
            Instr::Unsupported { opcode } => {
                return Err(self.fault_at(CsFault::Unsupported { va, opcode }))
            }
            Instr::Invalid => return Err(self.fault_at(CsFault::InvalidInstruction { va, word })),
        }
        Ok(va + 8)
    }

    /// The staging registers of a `RUN_COMPUTE` with resource selects `s`.
    fn compute_job(&self, va: u64, s: ResourceSelect) -> Result<ComputeJob, CsFault> {
        use mali_csf::compute_sr as sr;
        let pair = |base: u8, sel: u8| reg64(va, base + 2 * sel).map(|r| self.get64(r));
        let r = |i: u8| self.regs[i as usize];
        Ok(ComputeJob {
            srt: pair(sr::SRT, s.srt)?,
            fau: pair(sr::FAU, s.fau)?,
            spd: pair(sr::SPD, s.spd)?,
            tsd: pair(sr::TSD, s.tsd)?,
            global_attribute_offset: r(sr::GLOBAL_ATTRIBUTE_OFFSET),
            wg_size: r(sr::WG_SIZE),
            job_offset: [0, 1, 2].map(|i| r(sr::JOB_OFFSET + i)),
            job_size: [0, 1, 2].map(|i| r(sr::JOB_SIZE + i)),
        })
    }

    #[inline(always)]
    fn load_multiple<M: CsMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        va: u64,
        base: u8,
        mask: u16,
        addr: u8,
        offset: i16,
    ) -> Result<(), CsFault> {
        let a = reg64(va, addr)?;
        let at = self.get64(a).wrapping_add(offset as i64 as u64);
        if at % 4 != 0 {
            return Err(CsFault::MisalignedAccess { va, addr: at });
        }
        if mask == 0xffff {
            // The usual full tuple, all constant sizes, read straight into
            // the registers: read_u32x16 leaves them untouched on a fault.
            let (b, _) = tuple(va, base, 0xffff)?;
            // Always Some: tuple() checked that 16 registers follow `b`.
            if let Some(regs) = self.regs[b..].first_chunk_mut::<16>() {
                return mem.read_u32x16(at, regs).map_err(CsFault::Memory);
            }
        }
        self.load_partial(mem, va, base, mask, at)
    }

    /// LOAD_MULTIPLE of another mask than the full one: out of line, so the
    /// copy loop's code stays small.
    #[inline(never)]
    fn load_partial<M: CsMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        va: u64,
        base: u8,
        mask: u16,
        at: u64,
    ) -> Result<(), CsFault> {
        let (b, n) = tuple(va, base, mask)?;
        if n == 0 {
            return Ok(());
        }
        // Read everything first: a fault leaves the registers untouched.
        let mut tmp = [0u32; 16];
        if (mask as u32 + 1) & mask as u32 == 0 {
            mem.read_u32s(at, &mut tmp[..n]).map_err(CsFault::Memory)?;
            self.regs[b..b + n].copy_from_slice(&tmp[..n]);
        } else {
            for (i, t) in tmp.iter_mut().enumerate().take(n) {
                if mask & (1 << i) != 0 {
                    *t = mem
                        .read_u32(at.wrapping_add(4 * i as u64))
                        .map_err(CsFault::Memory)?;
                }
            }
            for (i, &t) in tmp.iter().enumerate().take(n) {
                if mask & (1 << i) != 0 {
                    self.regs[b + i] = t;
                }
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn store_multiple<M: CsMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        va: u64,
        base: u8,
        mask: u16,
        addr: u8,
        offset: i16,
    ) -> Result<(), CsFault> {
        let a = reg64(va, addr)?;
        let at = self.get64(a).wrapping_add(offset as i64 as u64);
        if at % 4 != 0 {
            return Err(CsFault::MisalignedAccess { va, addr: at });
        }
        if mask == 0xffff {
            // The usual full tuple, all constant sizes.
            let (b, _) = tuple(va, base, 0xffff)?;
            // Always Some: tuple() checked that 16 registers follow `b`.
            if let Some(regs) = self.regs[b..].first_chunk::<16>() {
                return mem.write_u32s(at, regs).map_err(CsFault::Memory);
            }
        }
        self.store_partial(mem, va, base, mask, at)
    }

    /// STORE_MULTIPLE of another mask than the full one, out of line.
    #[inline(never)]
    fn store_partial<M: CsMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        va: u64,
        base: u8,
        mask: u16,
        at: u64,
    ) -> Result<(), CsFault> {
        let (b, n) = tuple(va, base, mask)?;
        if n == 0 {
            return Ok(());
        }
        if (mask as u32 + 1) & mask as u32 == 0 {
            mem.write_u32s(at, &self.regs[b..b + n])
                .map_err(CsFault::Memory)?;
        } else {
            for i in 0..n {
                if mask & (1 << i) != 0 {
                    mem.write_u32(at.wrapping_add(4 * i as u64), self.regs[b + i])
                        .map_err(CsFault::Memory)?;
                }
            }
        }
        Ok(())
    }

    /// SYNC_ADD/SET on a 32-bit (`wide == false`) or 64-bit sync object.
    #[inline(never)]
    fn sync_update<M: CsMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        va: u64,
        s: &SyncUpdate,
        add: bool,
        wide: bool,
    ) -> Result<(), CsFault> {
        let a = reg64(va, s.addr)?;
        let obj = self.get64(a);
        let size = if wide { 8 } else { 4 };
        if obj % size != 0 {
            return Err(CsFault::MisalignedSync { va, addr: obj });
        }
        if wide {
            let mut v = self.get64(reg64(va, s.data)?);
            if add {
                v = v.wrapping_add(mem.read_u64(obj).map_err(CsFault::Memory)?);
            }
            mem.write_u64(obj, v).map_err(CsFault::Memory)?;
        } else {
            let mut v = self.regs[reg32(va, s.data)?];
            if add {
                v = v.wrapping_add(mem.read_u32(obj).map_err(CsFault::Memory)?);
            }
            mem.write_u32(obj, v).map_err(CsFault::Memory)?;
        }
        if s.error_propagate {
            // The stream's error state, right after the value; execution
            // stops at the first fault, so it is always NO_FAULT (0) here.
            mem.write_u32(obj.wrapping_add(size), 0)
                .map_err(CsFault::Memory)?;
        }
        self.sync_updates += 1;
        Ok(())
    }

    #[inline(never)]
    fn sync_wait_op<M: CsMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        va: u64,
        s: &SyncWait,
        wide: bool,
    ) -> Result<u64, Stop> {
        let (obj, value, reference) = self
            .sync_wait_operands(mem, va, s, wide)
            .map_err(|f| self.fault_at(f))?;
        if s.cond.test_unsigned(value, reference) {
            self.sync_wait = None;
            Ok(va + 8)
        } else {
            self.sync_wait = Some(SyncWaitStatus {
                instr_va: va,
                addr: obj,
                reference,
                cond: s.cond,
                wide,
            });
            Err(Stop::Blocked)
        }
    }

    /// The sync object's address, its value and the reference value.
    fn sync_wait_operands<M: CsMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        va: u64,
        s: &SyncWait,
        wide: bool,
    ) -> Result<(u64, u64, u64), CsFault> {
        let a = reg64(va, s.addr)?;
        let obj = self.get64(a);
        if wide {
            let d = reg64(va, s.data)?;
            if obj % 8 != 0 {
                return Err(CsFault::MisalignedSync { va, addr: obj });
            }
            let v = mem.read_u64(obj).map_err(CsFault::Memory)?;
            Ok((obj, v, self.get64(d)))
        } else {
            let d = reg32(va, s.data)?;
            if obj % 4 != 0 {
                return Err(CsFault::MisalignedSync { va, addr: obj });
            }
            let v = mem.read_u32(obj).map_err(CsFault::Memory)?;
            Ok((obj, v as u64, self.regs[d] as u64))
        }
    }
}
