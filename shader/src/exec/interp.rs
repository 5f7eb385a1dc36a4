//! The interpreter loop: one match over the pre-decoded instructions of an
//! invocation until it returns from its entry point or reaches a barrier.
//! Register-only instructions are shared with decode-time constant
//! evaluation (`pure_step`).

use super::arith::{self, fbin, fcmp, ftern, fun};
use super::{ext, images, memory, Frame, Invocation, Workgroup, Yield, MAX_CALL_DEPTH};
use crate::error::{ExecError, RuntimeError};
use crate::ir::{Code, Inst, Slot, Target};

/// Register-only instructions; false for anything else.
#[inline(always)]
pub(super) fn pure_step(inst: &Inst, r: &mut [u32], gathers: &[Slot]) -> bool {
    match *inst {
        Inst::Copy { d, s, n } => {
            memory::move_words(r, s as usize, d as usize, n as usize);
        }
        Inst::Gather { d, at, n } => {
            let srcs = &gathers[at as usize..(at + n) as usize];
            for (i, &s) in srcs.iter().enumerate() {
                r[d as usize + i] = r[s as usize];
            }
        }
        Inst::I32 { op, d, a, b, n } => arith::i32_bin(r, op, d, a, b, n),
        Inst::I64 { op, d, a, b, n } => arith::i64_bin(r, op, d, a, b, n),
        Inst::I32Cmp { op, d, a, b, n } => arith::i32_cmp(r, op, d, a, b, n),
        Inst::I64Cmp { op, d, a, b, n } => arith::i64_cmp(r, op, d, a, b, n),
        Inst::I32Un { op, d, a, n } => arith::i32_un(r, op, d, a, n),
        Inst::I64Un { op, d, a, n } => arith::i64_un(r, op, d, a, n),
        Inst::I32Tern { op, d, a, b, c, n } => arith::i32_tern(r, op, d, a, b, c, n),
        Inst::I64Tern { op, d, a, b, c, n } => arith::i64_tern(r, op, d, a, b, c, n),
        Inst::F32 { op, d, a, b, n } => fbin::<f32>(r, op, d, a, b, n),
        Inst::F64 { op, d, a, b, n } => fbin::<f64>(r, op, d, a, b, n),
        Inst::F32Cmp { op, d, a, b, n } => fcmp::<f32>(r, op, d, a, b, n),
        Inst::F64Cmp { op, d, a, b, n } => fcmp::<f64>(r, op, d, a, b, n),
        Inst::F32Un { op, d, a, n } => fun::<f32>(r, op, d, a, n),
        Inst::F64Un { op, d, a, n } => fun::<f64>(r, op, d, a, n),
        Inst::F32Tern { op, d, a, b, c, n } => ftern::<f32>(r, op, d, a, b, c, n),
        Inst::F64Tern { op, d, a, b, c, n } => ftern::<f64>(r, op, d, a, b, c, n),
        Inst::Convert { from, to, d, a, n } => arith::convert(r, from, to, d, a, n),
        Inst::Narrow {
            signed,
            bits,
            d,
            a,
            n,
        } => arith::narrow(r, signed, bits, d, a, n),
        Inst::Repack {
            from_bits,
            to_bits,
            d,
            a,
            n_in,
        } => arith::repack(r, from_bits, to_bits, d, a, n_in),
        Inst::Select {
            d,
            c,
            a,
            b,
            n,
            lane_words,
        } => arith::select(r, d, c, a, b, n, lane_words),
        Inst::Ext {
            op,
            wide,
            d,
            a,
            b,
            c,
            n,
        } => ext::ext(r, op, wide, d, a, b, c, n),
        Inst::Mat {
            op,
            wide,
            d,
            a,
            b,
            rows,
            cols,
            inner,
        } => ext::mat(r, op, wide, d, a, b, rows, cols, inner),
        Inst::ExtractDyn {
            d,
            v,
            idx,
            idx64,
            lane_words,
            count,
        } => arith::extract_dyn(r, d, v, idx, idx64, lane_words, count),
        Inst::InsertDyn {
            d,
            v,
            val,
            idx,
            lane_words,
            count,
        } => arith::insert_dyn(r, d, v, val, idx, lane_words, count),
        Inst::PtrFromU64 { d, a } => memory::ptr_from_u64(r, d, a),
        Inst::PtrToU64 { d, a } => memory::ptr_to_u64(r, d, a),
        _ => return false,
    }
    true
}

/// Runs one invocation from `inv.pc` until it finishes or waits at a
/// barrier.
pub(super) fn run(
    code: &Code,
    r: &mut [u32],
    inv: &mut Invocation,
    wg: &mut Workgroup,
) -> Result<Yield, ExecError> {
    let insts = code.insts.as_slice();
    let mut pc = inv.pc as usize;
    loop {
        let Some(inst) = insts.get(pc) else {
            return Err(RuntimeError::Internal("ran past the end of the code").into());
        };
        pc += 1;
        match *inst {
            Inst::Jump(Target { pc: to, count }) => {
                pc = to as usize;
                wg.count(count)?;
            }
            Inst::Branch { c, t, f } => {
                let t = if r[c as usize] != 0 { t } else { f };
                pc = t.pc as usize;
                wg.count(t.count)?;
            }
            Inst::LoadPtr { d, ptr, shape } => memory::load(code, r, wg, d, ptr, shape)?,
            Inst::StorePtr { ptr, s, shape } => memory::store(code, r, wg, ptr, s, shape)?,
            Inst::Chain { d, base, chain } => memory::chain(code, r, wg, d, base, chain)?,
            Inst::ArrayLength {
                d,
                ptr,
                offset,
                stride,
            } => memory::array_length(r, wg, d, ptr, offset, stride)?,
            Inst::Atomic {
                op,
                wide,
                d,
                ptr,
                v,
                c,
            } => memory::atomic(r, wg, op, wide, d, ptr, v, c)?,
            Inst::LoadDesc { kind, d, ptr } => memory::load_descriptor(r, wg, kind, d, ptr)?,
            Inst::Image(i) => images::run(code, r, wg, i)?,
            Inst::Switch { sel, wide, table } => {
                let v = if wide {
                    super::lanes::get64(r, sel)
                } else {
                    u64::from(r[sel as usize])
                };
                let Some(t) = code.switches.get(table as usize) else {
                    return Err(RuntimeError::Internal("unknown switch table").into());
                };
                let target = t
                    .cases
                    .iter()
                    .find(|(c, _)| *c == v)
                    .map_or(t.default, |(_, to)| *to);
                pc = target.pc as usize;
                wg.count(target.count)?;
            }
            Inst::Call(i) => {
                let Some(site) = code.calls.get(i as usize) else {
                    return Err(RuntimeError::Internal("unknown call site").into());
                };
                if inv.frames.len() >= MAX_CALL_DEPTH {
                    return Err(RuntimeError::CallDepth(MAX_CALL_DEPTH).into());
                }
                for &(p, a, n) in &site.args {
                    r.copy_within(a as usize..(a + n) as usize, p as usize);
                }
                inv.frames.push(Frame {
                    ret_pc: pc as u32,
                    result: site.result,
                    words: site.result_words,
                });
                pc = site.entry.pc as usize;
                wg.count(site.entry.count)?;
            }
            Inst::Return => match inv.frames.pop() {
                Some(f) => pc = f.ret_pc as usize,
                None => return Ok(Yield::Done),
            },
            Inst::ReturnValue { s, n } => match inv.frames.pop() {
                Some(f) => {
                    let n = n.min(f.words) as usize;
                    r.copy_within(s as usize..s as usize + n, f.result as usize);
                    pc = f.ret_pc as usize;
                }
                None => return Ok(Yield::Done),
            },
            Inst::Unreachable => return Err(RuntimeError::Unreachable.into()),
            Inst::Barrier => {
                inv.pc = pc as u32;
                return Ok(Yield::Barrier);
            }
            ref other => {
                if !pure_step(other, r, &code.gathers) {
                    return Err(RuntimeError::Internal("unhandled instruction").into());
                }
            }
        }
    }
}
