//! Decoder ([`decode`]), the defined-bit masks of each instruction
//! ([`defined_bits`]) and a disassembly `Display` for [`Instr`].

use std::fmt;

use super::{
    opcode as op, Condition, FlushMode, Instr, OtherFlushMode, ResourceSelect, StateKind,
    SyncScope, SyncUpdate, SyncWait, TaskAxis,
};

#[inline(always)]
fn bits(w: u64, start: u32, width: u32) -> u64 {
    (w >> start) & ((1u64 << width) - 1)
}

#[inline]
fn scope(v: u64) -> Option<SyncScope> {
    match v {
        0 => Some(SyncScope::System),
        2 => Some(SyncScope::Csg),
        _ => None,
    }
}

fn selects(w: u64) -> ResourceSelect {
    ResourceSelect {
        srt: bits(w, 40, 2) as u8,
        spd: bits(w, 42, 2) as u8,
        tsd: bits(w, 44, 2) as u8,
        fau: bits(w, 46, 2) as u8,
    }
}

#[inline]
fn flush_mode(v: u64) -> Option<FlushMode> {
    match v {
        0 => Some(FlushMode::None),
        1 => Some(FlushMode::Clean),
        3 => Some(FlushMode::CleanInvalidate),
        _ => None,
    }
}

#[inline]
fn other_flush_mode(v: u64) -> Option<OtherFlushMode> {
    match v {
        0 => Some(OtherFlushMode::None),
        2 => Some(OtherFlushMode::Invalidate),
        _ => None,
    }
}

#[inline]
fn sync_update(w: u64) -> Option<SyncUpdate> {
    Some(SyncUpdate {
        error_propagate: bits(w, 0, 1) != 0,
        scope: scope(bits(w, 1, 2))?,
        wait_mask: bits(w, 16, 16) as u16,
        data: bits(w, 32, 8) as u8,
        addr: bits(w, 40, 8) as u8,
        signal_slot: bits(w, 48, 4) as u8,
    })
}

#[inline]
fn sync_wait(w: u64) -> Option<SyncWait> {
    Some(SyncWait {
        error_reject: bits(w, 0, 1) != 0,
        cond: Condition::from_bits(bits(w, 28, 4))?,
        data: bits(w, 32, 8) as u8,
        addr: bits(w, 40, 8) as u8,
    })
}

/// The instruction in `word`. Total: reserved opcodes and undefined enum
/// values give [`Instr::Invalid`], opcodes outside the executed subset give
/// [`Instr::Unsupported`]. Bits outside an instruction's fields are ignored.
#[inline]
pub fn decode(word: u64) -> Instr {
    let w = word;
    match (w >> 56) as u8 {
        op::NOP => Instr::Nop,
        op::MOVE48 => Instr::Move48 {
            dst: bits(w, 48, 8) as u8,
            imm: bits(w, 0, 48),
        },
        op::MOVE32 => Instr::Move32 {
            dst: bits(w, 48, 8) as u8,
            imm: w as u32,
        },
        op::WAIT => Instr::Wait {
            mask: bits(w, 16, 8) as u8,
            progress_inc: bits(w, 32, 1) != 0,
        },
        op::ADD_IMMEDIATE32 => Instr::AddImm32 {
            dst: bits(w, 48, 8) as u8,
            src: bits(w, 40, 8) as u8,
            imm: w as u32 as i32,
        },
        op::ADD_IMMEDIATE64 => Instr::AddImm64 {
            dst: bits(w, 48, 8) as u8,
            src: bits(w, 40, 8) as u8,
            imm: w as u32 as i32,
        },
        op::LOAD_MULTIPLE => Instr::LoadMultiple {
            base: bits(w, 48, 8) as u8,
            addr: bits(w, 40, 8) as u8,
            mask: bits(w, 16, 16) as u16,
            offset: w as u16 as i16,
        },
        op::STORE_MULTIPLE => Instr::StoreMultiple {
            base: bits(w, 48, 8) as u8,
            addr: bits(w, 40, 8) as u8,
            mask: bits(w, 16, 16) as u16,
            offset: w as u16 as i16,
        },
        op::BRANCH => match Condition::from_bits(bits(w, 28, 3)) {
            Some(cond) => Instr::Branch {
                cond,
                reg: bits(w, 40, 8) as u8,
                offset: w as u16 as i16,
            },
            None => Instr::Invalid,
        },
        op::CALL => Instr::Call {
            addr: bits(w, 40, 8) as u8,
            len: bits(w, 32, 8) as u8,
        },
        op::JUMP => Instr::Jump {
            addr: bits(w, 40, 8) as u8,
            len: bits(w, 32, 8) as u8,
        },
        op::FLUSH_CACHE2 => {
            match (
                flush_mode(bits(w, 0, 4)),
                flush_mode(bits(w, 4, 4)),
                other_flush_mode(bits(w, 8, 4)),
            ) {
                (Some(l2), Some(lsc), Some(other)) => Instr::FlushCache2 {
                    l2,
                    lsc,
                    other,
                    wait_mask: bits(w, 16, 16) as u16,
                    flush_id: bits(w, 40, 8) as u8,
                    signal_slot: bits(w, 48, 4) as u8,
                },
                _ => Instr::Invalid,
            }
        }
        op::RUN_COMPUTE => match TaskAxis::ALL.get(bits(w, 14, 2) as usize) {
            Some(&task_axis) => Instr::RunCompute {
                task_increment: bits(w, 0, 14) as u16,
                task_axis,
                progress_inc: bits(w, 32, 1) != 0,
                select: selects(w),
            },
            None => Instr::Invalid,
        },
        op::RUN_COMPUTE_INDIRECT => Instr::RunComputeIndirect {
            workgroups_per_task: bits(w, 0, 16) as u16,
            progress_inc: bits(w, 32, 1) != 0,
            select: selects(w),
        },
        op::STORE_STATE => Instr::StoreState {
            // A 2-bit field: every value names a state.
            state: StateKind::ALL[bits(w, 32, 2) as usize],
            addr: bits(w, 40, 8) as u8,
            offset: w as u16 as i16,
            wait_mask: bits(w, 16, 16) as u16,
            signal_slot: bits(w, 48, 4) as u8,
        },
        op::SYNC_ADD32 => sync_update(w).map_or(Instr::Invalid, Instr::SyncAdd32),
        op::SYNC_SET32 => sync_update(w).map_or(Instr::Invalid, Instr::SyncSet32),
        op::SYNC_ADD64 => sync_update(w).map_or(Instr::Invalid, Instr::SyncAdd64),
        op::SYNC_SET64 => sync_update(w).map_or(Instr::Invalid, Instr::SyncSet64),
        op::SYNC_WAIT32 => sync_wait(w).map_or(Instr::Invalid, Instr::SyncWait32),
        op::SYNC_WAIT64 => sync_wait(w).map_or(Instr::Invalid, Instr::SyncWait64),
        op::ERROR_BARRIER => Instr::ErrorBarrier,
        o @ (op::RUN_TILING
        | op::RUN_IDVS
        | op::RUN_FRAGMENT
        | op::RUN_FULLSCREEN
        | op::FINISH_TILING
        | op::FINISH_FRAGMENT
        | op::COMPARE_SELECT32
        | op::SET_SB_ENTRY
        | op::PROGRESS_WAIT
        | op::SET_EXCEPTION_HANDLER
        | op::REQ_RESOURCE
        | op::PROT_REGION
        | op::PROGRESS_STORE
        | op::PROGRESS_LOAD
        | op::HEAP_SET
        | op::HEAP_OPERATION
        | op::TRACE_POINT) => Instr::Unsupported { opcode: o },
        _ => Instr::Invalid,
    }
}

const OPC: u64 = 0xff << 56;

/// The bits of a word that `instr`'s encoding defines (opcode and fields):
/// for every word `w` whose decode `i` is not `Invalid`,
/// `encode(&i) == w & defined_bits(&i)`. `Invalid` defines none (0).
pub fn defined_bits(instr: &Instr) -> u64 {
    match instr {
        Instr::Nop | Instr::ErrorBarrier | Instr::Unsupported { .. } => OPC,
        Instr::Move48 { .. } => u64::MAX,
        Instr::Move32 { .. } => OPC | 0xff << 48 | 0xffff_ffff,
        Instr::Wait { .. } => OPC | 1 << 32 | 0xff << 16,
        Instr::AddImm32 { .. }
        | Instr::AddImm64 { .. }
        | Instr::LoadMultiple { .. }
        | Instr::StoreMultiple { .. } => OPC | 0xffff << 40 | 0xffff_ffff,
        Instr::Branch { .. } => OPC | 0xff << 40 | 0x7 << 28 | 0xffff,
        Instr::Call { .. } | Instr::Jump { .. } => OPC | 0xffff << 32,
        Instr::FlushCache2 { .. } => OPC | 0xf << 48 | 0xff << 40 | 0xffff << 16 | 0xfff,
        Instr::SyncAdd32(_) | Instr::SyncSet32(_) | Instr::SyncAdd64(_) | Instr::SyncSet64(_) => {
            OPC | 0xf << 48 | 0xffff << 32 | 0xffff << 16 | 0x7
        }
        Instr::SyncWait32(_) | Instr::SyncWait64(_) => OPC | 0xffff << 32 | 0xf << 28 | 0x1,
        Instr::StoreState { .. } => OPC | 0xf << 48 | 0xff << 40 | 0x3 << 32 | 0xffff_ffff,
        Instr::RunCompute { .. } => OPC | 0xff << 40 | 1 << 32 | 0xffff,
        Instr::RunComputeIndirect { .. } => OPC | 0xff << 40 | 1 << 32 | 0xffff,
        Instr::Invalid => 0,
    }
}

fn flush_name(m: FlushMode) -> &'static str {
    match m {
        FlushMode::None => "nop",
        FlushMode::Clean => "clean",
        FlushMode::CleanInvalidate => "clean_inv",
    }
}

fn fmt_tuple(f: &mut fmt::Formatter<'_>, base: u8, mask: u16) -> fmt::Result {
    if mask == 0 {
        return f.write_str("_");
    }
    let mut first = true;
    for i in 0..16u32 {
        if mask & (1 << i) != 0 {
            if !first {
                f.write_str(":")?;
            }
            write!(f, "r{}", base as u32 + i)?;
            first = false;
        }
    }
    Ok(())
}

fn fmt_mem(f: &mut fmt::Formatter<'_>, addr: u8, offset: i16) -> fmt::Result {
    if offset != 0 {
        write!(f, "[d{addr} + {offset}]")
    } else {
        write!(f, "[d{addr}]")
    }
}

fn fmt_sync(f: &mut fmt::Formatter<'_>, name: &str, wide: bool, s: &SyncUpdate) -> fmt::Result {
    let scope = match s.scope {
        SyncScope::System => ".system",
        SyncScope::Csg => ".csg",
    };
    let prop = if s.error_propagate { ".propagate" } else { "" };
    let d = if wide { 'd' } else { 'r' };
    write!(
        f,
        "{name}{scope}{prop} [d{}], {d}{}, #{:#x}, #{}",
        s.addr, s.data, s.wait_mask, s.signal_slot
    )
}

fn fmt_wait(f: &mut fmt::Formatter<'_>, name: &str, wide: bool, s: &SyncWait) -> fmt::Result {
    let rej = if s.error_reject {
        ".reject"
    } else {
        ".inherit"
    };
    let d = if wide { 'd' } else { 'r' };
    write!(
        f,
        "{name}.{}{rej} [d{}], {d}{}",
        s.cond.mnemonic(),
        s.addr,
        s.data
    )
}

/// Disassembly in the style of Mesa's CSF decoder.
impl fmt::Display for Instr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Instr::Nop => f.write_str("NOP"),
            Instr::Move48 { dst, imm } => write!(f, "MOVE48 d{dst}, #{imm:#x}"),
            Instr::Move32 { dst, imm } => write!(f, "MOVE32 r{dst}, #{imm:#x}"),
            Instr::Wait { mask, progress_inc } => {
                let p = if *progress_inc { ".progress_inc" } else { "" };
                write!(f, "WAIT{p} #{mask:#x}")
            }
            Instr::AddImm32 { dst, src, imm } => {
                write!(f, "ADD_IMMEDIATE32 r{dst}, r{src}, #{imm}")
            }
            Instr::AddImm64 { dst, src, imm } => {
                write!(f, "ADD_IMMEDIATE64 d{dst}, d{src}, #{imm}")
            }
            Instr::LoadMultiple {
                base,
                mask,
                addr,
                offset,
            } => {
                f.write_str("LOAD_MULTIPLE ")?;
                fmt_tuple(f, *base, *mask)?;
                f.write_str(", ")?;
                fmt_mem(f, *addr, *offset)
            }
            Instr::StoreMultiple {
                base,
                mask,
                addr,
                offset,
            } => {
                f.write_str("STORE_MULTIPLE ")?;
                fmt_mem(f, *addr, *offset)?;
                f.write_str(", ")?;
                fmt_tuple(f, *base, *mask)
            }
            Instr::Branch { cond, reg, offset } => {
                write!(f, "BRANCH.{} r{reg}, #{offset}", cond.mnemonic())
            }
            Instr::Call { addr, len } => write!(f, "CALL d{addr}, r{len}"),
            Instr::Jump { addr, len } => write!(f, "JUMP d{addr}, r{len}"),
            Instr::FlushCache2 {
                l2,
                lsc,
                other,
                flush_id,
                wait_mask,
                signal_slot,
            } => {
                let o = match other {
                    OtherFlushMode::None => "nop_other",
                    OtherFlushMode::Invalidate => "invalidate_other",
                };
                write!(
                    f,
                    "FLUSH_CACHE2.{}_l2.{}_lsc.{o} r{flush_id}, #{wait_mask:#x}, #{signal_slot}",
                    flush_name(*l2),
                    flush_name(*lsc)
                )
            }
            Instr::SyncAdd32(s) => fmt_sync(f, "SYNC_ADD32", false, s),
            Instr::SyncSet32(s) => fmt_sync(f, "SYNC_SET32", false, s),
            Instr::SyncAdd64(s) => fmt_sync(f, "SYNC_ADD64", true, s),
            Instr::SyncSet64(s) => fmt_sync(f, "SYNC_SET64", true, s),
            Instr::SyncWait32(s) => fmt_wait(f, "SYNC_WAIT32", false, s),
            Instr::SyncWait64(s) => fmt_wait(f, "SYNC_WAIT64", true, s),
            Instr::StoreState {
                state,
                addr,
                offset,
                wait_mask,
                signal_slot,
            } => write!(
                f,
                "STORE_STATE.{} [d{addr}, #{offset}], #{wait_mask:#x}, #{signal_slot}",
                state.mnemonic()
            ),
            Instr::RunCompute {
                task_increment,
                task_axis,
                progress_inc,
                select: s,
            } => write!(
                f,
                "RUN_COMPUTE{}.{}_axis.srt{}.spd{}.tsd{}.fau{} #{task_increment}",
                if *progress_inc { ".progress_inc" } else { "" },
                ["x", "y", "z"][*task_axis as usize],
                s.srt,
                s.spd,
                s.tsd,
                s.fau
            ),
            Instr::RunComputeIndirect {
                workgroups_per_task,
                progress_inc,
                select: s,
            } => write!(
                f,
                "RUN_COMPUTE_INDIRECT{}.srt{}.spd{}.tsd{}.fau{} #{workgroups_per_task}",
                if *progress_inc { ".progress_inc" } else { "" },
                s.srt,
                s.spd,
                s.tsd,
                s.fau
            ),
            Instr::ErrorBarrier => f.write_str("ERROR_BARRIER"),
            Instr::Unsupported { opcode } => write!(f, "UNSUPPORTED_{opcode}"),
            Instr::Invalid => f.write_str("INVALID"),
        }
    }
}
