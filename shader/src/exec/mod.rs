//! Running a workgroup: each invocation is a small state machine (pc, call
//! stack, register file) driven by `interp::run` until it finishes or
//! reaches a workgroup barrier; when every live invocation waits at the
//! barrier they all resume. Programs without barriers run invocation after
//! invocation in one reused register file.
//!
//! The interpreter indexes the register file directly: every slot and
//! length in an instruction was checked against the file size by the
//! decoder (`decode::Decoder::src`/`dst`). Addresses computed at run time
//! (pointers, dynamic indexes) are always bounds-checked.

mod arith;
mod ext;
mod images;
mod interp;
mod lanes;
mod memory;

use crate::env::{Descriptor, ShaderEnv};
use crate::error::{ExecError, RuntimeError};
use crate::ir::{space, Builtin, Code, Inst, Ptr, Slot, PTR_WORDS};
use crate::program::{RunStats, WorkgroupParams};

/// Instructions between two `cancelled()` polls.
const POLL_INTERVAL: u64 = 1 << 16;
/// Invocations one workgroup may have.
const MAX_INVOCATIONS: u64 = 1 << 16;
/// Register words all invocations of a barrier program may hold (256 MiB).
const MAX_WORKGROUP_REGISTERS: u64 = 1 << 26;
/// Nested calls an invocation may make (recursion is refused at decode, so
/// this only bounds deep call chains).
pub(crate) const MAX_CALL_DEPTH: usize = 256;

/// Per-workgroup state shared by its invocations.
pub(crate) struct Workgroup<'e> {
    pub env: &'e mut dyn ShaderEnv,
    pub shared: Vec<u32>,
    /// Descriptors read so far: ((set, binding, index), descriptor).
    descriptors: Vec<((u32, u32, u32), Descriptor)>,
    /// Errors of buffer bindings that failed to resolve, raised when a
    /// POISON pointer is used.
    pub deferred: Vec<ExecError>,
    pub instructions: u64,
    next_poll: u64,
}

impl Workgroup<'_> {
    /// Counts a block's instructions and polls for cancellation now and
    /// then.
    #[inline(always)]
    pub fn count(&mut self, n: u32) -> Result<(), ExecError> {
        self.instructions += u64::from(n);
        if self.instructions >= self.next_poll {
            self.next_poll = self.instructions + POLL_INTERVAL;
            if self.env.cancelled() {
                return Err(ExecError::Cancelled);
            }
        }
        Ok(())
    }

    pub fn descriptor(
        &mut self,
        set: u32,
        binding: u32,
        index: u32,
    ) -> Result<Descriptor, ExecError> {
        let key = (set, binding, index);
        if let Some((_, d)) = self.descriptors.iter().find(|(k, _)| *k == key) {
            return Ok(*d);
        }
        let d = self.env.descriptor(set, binding, index)?;
        self.descriptors.push((key, d));
        Ok(d)
    }

    pub fn deferred_error(&self, p: &Ptr) -> ExecError {
        self.deferred
            .get(p.addr as usize)
            .cloned()
            .unwrap_or(ExecError::Runtime(RuntimeError::Internal(
                "unknown deferred error",
            )))
    }
}

pub(crate) struct Frame {
    pub ret_pc: u32,
    pub result: Slot,
    pub words: u32,
}

/// Where one invocation is.
pub(crate) struct Invocation {
    pub pc: u32,
    pub frames: Vec<Frame>,
    pub done: bool,
}

pub(crate) enum Yield {
    Done,
    Barrier,
}

pub(crate) fn descriptor_name(d: &Descriptor) -> &'static str {
    match d {
        Descriptor::Buffer { .. } => "buffer",
        Descriptor::Image(_) => "image",
        Descriptor::Sampler(_) => "sampler",
        Descriptor::CombinedImageSampler { .. } => "combined image sampler",
    }
}

pub(crate) fn run_workgroup(
    code: &Code,
    env: &mut dyn ShaderEnv,
    params: &WorkgroupParams,
) -> Result<RunStats, ExecError> {
    let [sx, sy, sz] = params.local_size;
    let invocations = u64::from(sx) * u64::from(sy) * u64::from(sz);
    if invocations == 0 || invocations > MAX_INVOCATIONS {
        return Err(RuntimeError::Params(format!(
            "local size {:?} gives {invocations} invocations (1 to {MAX_INVOCATIONS})",
            params.local_size
        ))
        .into());
    }
    let mut wg = Workgroup {
        env,
        shared: vec![0; code.shared_words as usize],
        descriptors: Vec::new(),
        deferred: Vec::new(),
        instructions: 0,
        next_poll: POLL_INTERVAL,
    };
    for (at, values) in &code.shared_init {
        let at = *at as usize;
        if let Some(dst) = wg.shared.get_mut(at..at + values.len()) {
            dst.copy_from_slice(values);
        }
    }
    let mut image = code.init.clone();
    resolve_buffers(code, &mut wg, &mut image)?;
    write_uniform_builtins(code, params, invocations as u32, &mut image);

    let len = image.len();
    let start = |pc: u32| Invocation {
        pc,
        frames: Vec::new(),
        done: false,
    };
    if !code.has_barrier {
        let mut regs = image.clone();
        let mut inv = start(code.entry.pc);
        for index in 0..invocations as u32 {
            regs.copy_from_slice(&image);
            write_invocation_builtins(code, params, index, &mut regs);
            inv.pc = code.entry.pc;
            inv.frames.clear();
            wg.count(code.entry.count)?;
            if let Yield::Barrier = interp::run(code, &mut regs, &mut inv, &mut wg)? {
                return Err(RuntimeError::Internal("barrier in a program without barriers").into());
            }
        }
    } else {
        if invocations * len as u64 > MAX_WORKGROUP_REGISTERS {
            return Err(RuntimeError::Params(format!(
                "{invocations} invocations of {len} register words do not fit the core"
            ))
            .into());
        }
        let mut regs = Vec::with_capacity(invocations as usize * len);
        let mut invs = Vec::with_capacity(invocations as usize);
        for index in 0..invocations as u32 {
            let at = regs.len();
            regs.extend_from_slice(&image);
            write_invocation_builtins(code, params, index, &mut regs[at..]);
            invs.push(start(code.entry.pc));
            wg.count(code.entry.count)?;
        }
        loop {
            let mut waiting = false;
            for (inv, file) in invs.iter_mut().zip(regs.chunks_mut(len.max(1))) {
                if inv.done {
                    continue;
                }
                match interp::run(code, file, inv, &mut wg)? {
                    Yield::Done => inv.done = true,
                    Yield::Barrier => waiting = true,
                }
            }
            if !waiting {
                break;
            }
        }
    }
    Ok(RunStats {
        instructions: wg.instructions,
    })
}

/// Resolves the non-arrayed buffer bindings once per workgroup; a binding
/// that fails becomes a POISON pointer whose error surfaces on first use.
fn resolve_buffers(code: &Code, wg: &mut Workgroup, image: &mut [u32]) -> Result<(), ExecError> {
    for b in &code.buffers {
        let p = match wg.descriptor(b.set, b.binding, 0) {
            Ok(Descriptor::Buffer { va, size }) => Ptr {
                space: space::BUFFER,
                addr: va,
                lo: va,
                hi: va.saturating_add(size),
            },
            Ok(other) => {
                wg.deferred.push(
                    RuntimeError::DescriptorKind {
                        set: b.set,
                        binding: b.binding,
                        index: 0,
                        expected: "buffer",
                        found: descriptor_name(&other),
                    }
                    .into(),
                );
                Ptr {
                    space: space::POISON,
                    addr: wg.deferred.len() as u64 - 1,
                    lo: 0,
                    hi: 0,
                }
            }
            Err(e @ ExecError::Fault(_)) => {
                wg.deferred.push(e);
                Ptr {
                    space: space::POISON,
                    addr: wg.deferred.len() as u64 - 1,
                    lo: 0,
                    hi: 0,
                }
            }
            Err(e) => return Err(e),
        };
        let s = b.slot as usize;
        if let Some(dst) = image.get_mut(s..s + PTR_WORDS as usize) {
            dst.copy_from_slice(&p.to_words());
        }
    }
    Ok(())
}

fn put(regs: &mut [u32], slot: Slot, values: &[u32]) {
    let s = slot as usize;
    if let Some(dst) = regs.get_mut(s..s + values.len()) {
        dst.copy_from_slice(values);
    }
}

fn write_uniform_builtins(
    code: &Code,
    params: &WorkgroupParams,
    invocations: u32,
    regs: &mut [u32],
) {
    for &(b, slot) in &code.builtins {
        match b {
            Builtin::WorkgroupId => put(regs, slot, &params.workgroup_id),
            Builtin::NumWorkgroups => put(regs, slot, &params.num_workgroups),
            Builtin::WorkgroupSize => put(regs, slot, &params.local_size),
            Builtin::SubgroupSize => put(regs, slot, &[1]),
            Builtin::SubgroupLocalInvocationId => put(regs, slot, &[0]),
            Builtin::NumSubgroups => put(regs, slot, &[invocations]),
            Builtin::SubgroupEqMask | Builtin::SubgroupGeMask | Builtin::SubgroupLeMask => {
                put(regs, slot, &[1, 0, 0, 0])
            }
            Builtin::SubgroupGtMask | Builtin::SubgroupLtMask => put(regs, slot, &[0; 4]),
            _ => {}
        }
    }
}

fn write_invocation_builtins(code: &Code, params: &WorkgroupParams, index: u32, regs: &mut [u32]) {
    let [sx, sy, _] = params.local_size;
    let local = [index % sx, (index / sx) % sy, index / (sx * sy)];
    for &(b, slot) in &code.builtins {
        match b {
            Builtin::LocalInvocationId => put(regs, slot, &local),
            Builtin::GlobalInvocationId => {
                let g: [u32; 3] = std::array::from_fn(|i| {
                    params.workgroup_id[i]
                        .wrapping_mul(params.local_size[i])
                        .wrapping_add(local[i])
                });
                put(regs, slot, &g)
            }
            Builtin::LocalInvocationIndex | Builtin::SubgroupId => put(regs, slot, &[index]),
            _ => {}
        }
    }
}

/// Runs decode-time constant code (OpSpecConstantOp) on the register
/// image. Fails on anything but pure register operations.
pub(crate) fn eval_pure(gathers: &[Slot], insts: &[Inst], regs: &mut [u32]) -> Result<(), ()> {
    for inst in insts {
        if !interp::pure_step(inst, regs, gathers) {
            return Err(());
        }
    }
    Ok(())
}
