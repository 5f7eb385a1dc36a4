//! Functions: which ones the entry point reaches (recursion is refused),
//! their register slots, blocks and control flow. OpPhi becomes moves on
//! the incoming edges: inline before an OpBranch, or in a small stub block
//! for conditional branches and switches. Branch targets are written as
//! label ids and patched to instruction indexes once everything is emitted.

use super::{id_at, invalid, result_id, Decoder, Result, Scalar};
use crate::error::DecodeError;
use crate::ir::{CallSite, Inst, Slot, SwitchTable, Target};
use rspirv::dr::{Function, Instruction, Operand};
use spirv::{Op, StorageClass};
use std::collections::{HashMap, HashSet};

struct Phi {
    dst: Slot,
    words: u32,
    incoming: Vec<(u32, u32)>,
}

#[derive(Default)]
pub(super) struct FunctionState {
    /// Labels of the function being lowered.
    labels: HashSet<u32>,
    phis: HashMap<u32, Vec<Phi>>,
    /// Label (or stub pseudo-label) -> its place in the code.
    targets: HashMap<u32, Target>,
    /// (pseudo-label, edge moves, real target label).
    stubs: Vec<(u32, Vec<Inst>, u32)>,
    next_pseudo: u32,
    entry_labels: HashMap<u32, u32>,
    params: HashMap<u32, Vec<u32>>,
    return_words: HashMap<u32, u32>,
    call_callees: Vec<u32>,
    current_block: u32,
    current_function: u32,
}

/// SPIR-V instructions a block executes: all but its label, line markers,
/// OpNop and the structured-control-flow declarations (OpSelectionMerge,
/// OpLoopMerge), which do no work.
fn block_count(insts: &[Instruction]) -> u32 {
    let declarative = |op| {
        matches!(
            op,
            Op::Line | Op::NoLine | Op::Nop | Op::SelectionMerge | Op::LoopMerge
        )
    };
    insts
        .iter()
        .filter(|i| !declarative(i.class.opcode))
        .count() as u32
}

fn function_id(f: &Function) -> Result<u32> {
    f.def
        .as_ref()
        .and_then(|d| d.result_id)
        .ok_or_else(|| invalid("OpFunction without a result id"))
}

impl Decoder<'_> {
    /// The functions the entry point calls, transitively (entry first).
    /// Marks every id they mention as used.
    pub(super) fn reachable_functions(&mut self) -> Result<Vec<usize>> {
        let m = self.m;
        let mut by_id = HashMap::new();
        for (i, f) in m.functions.iter().enumerate() {
            by_id.insert(function_id(f)?, i);
        }
        let mut callees = vec![Vec::new(); m.functions.len()];
        for (i, f) in m.functions.iter().enumerate() {
            for inst in f.blocks.iter().flat_map(|b| &b.instructions) {
                if inst.class.opcode == Op::FunctionCall {
                    let callee = id_at(&inst.operands, 0)?;
                    let &c = by_id
                        .get(&callee)
                        .ok_or_else(|| invalid(format!("call of unknown function {callee}")))?;
                    callees[i].push(c);
                }
            }
        }
        let &entry = by_id.get(&self.entry_fn).ok_or_else(|| {
            invalid(format!(
                "entry point function {} is not defined",
                self.entry_fn
            ))
        })?;
        // Iterative depth-first walk; a function met again while still on
        // the stack is recursion.
        let mut state = vec![0u8; m.functions.len()];
        let mut order = Vec::new();
        let mut stack = vec![(entry, 0usize)];
        state[entry] = 1;
        order.push(entry);
        while let Some(&mut (f, ref mut next)) = stack.last_mut() {
            if let Some(&c) = callees[f].get(*next) {
                *next += 1;
                match state[c] {
                    0 => {
                        state[c] = 1;
                        order.push(c);
                        stack.push((c, 0));
                    }
                    1 => return Err(DecodeError::Recursion(function_id(&m.functions[c])?)),
                    _ => {}
                }
            } else {
                state[f] = 2;
                stack.pop();
            }
        }
        for &f in &order {
            let func = &m.functions[f];
            for inst in func.blocks.iter().flat_map(|b| &b.instructions) {
                for op in &inst.operands {
                    if let Operand::IdRef(id) = op {
                        if let Some(u) = self.used.get_mut(*id as usize) {
                            *u = true;
                        }
                    }
                }
            }
        }
        Ok(order)
    }

    pub(super) fn lower_functions(&mut self, order: &[usize]) -> Result<()> {
        let m = self.m;
        self.function_state.next_pseudo = self.bound;
        for &f in order {
            self.declare_function(&m.functions[f])?;
        }
        for &f in order {
            self.lower_function(&m.functions[f])?;
        }
        let stubs = std::mem::take(&mut self.function_state.stubs);
        for (pseudo, moves, target) in stubs {
            let pc = self.code.insts.len() as u32;
            self.function_state
                .targets
                .insert(pseudo, Target { pc, count: 0 });
            self.code.insts.extend(moves);
            self.emit(Inst::Jump(Target {
                pc: target,
                count: 0,
            }));
        }
        self.patch_targets()
    }

    /// Slots for parameters and every result id; storage for Function
    /// variables; phis by block.
    fn declare_function(&mut self, f: &Function) -> Result<()> {
        let fid = function_id(f)?;
        let def = f
            .def
            .as_ref()
            .ok_or_else(|| invalid("function without OpFunction"))?;
        let ret_ty = def
            .result_type
            .ok_or_else(|| invalid("OpFunction without a return type"))?;
        let ret_words = self.words_of_type(ret_ty)?;
        let mut params = Vec::new();
        for p in &f.parameters {
            let id = result_id(p)?;
            let ty = super::result_type(p)?;
            self.define(id, ty)?;
            self.note_pointer(id, ty)?;
            params.push(id);
        }
        let first = f
            .blocks
            .first()
            .ok_or_else(|| DecodeError::Opcode("function declaration without a body".into()))?;
        let entry_label = first
            .label
            .as_ref()
            .and_then(|l| l.result_id)
            .ok_or_else(|| invalid("block without a label"))?;
        let st = &mut self.function_state;
        st.entry_labels.insert(fid, entry_label);
        st.params.insert(fid, params);
        st.return_words.insert(fid, ret_words);
        for block in &f.blocks {
            let label = block
                .label
                .as_ref()
                .and_then(|l| l.result_id)
                .ok_or_else(|| invalid("block without a label"))?;
            for inst in &block.instructions {
                let (Some(id), Some(ty)) = (inst.result_id, inst.result_type) else {
                    continue;
                };
                if inst.class.opcode == Op::Variable {
                    self.declare_local_variable(inst)?;
                    continue;
                }
                let slot = self.define(id, ty)?;
                self.note_pointer(id, ty)?;
                if inst.class.opcode == Op::Phi {
                    let mut incoming = Vec::new();
                    let mut i = 0;
                    while i + 1 < inst.operands.len() {
                        incoming.push((id_at(&inst.operands, i)?, id_at(&inst.operands, i + 1)?));
                        i += 2;
                    }
                    let words = self.words_of_type(ty)?;
                    self.function_state
                        .phis
                        .entry(label)
                        .or_default()
                        .push(Phi {
                            dst: slot,
                            words,
                            incoming,
                        });
                }
            }
        }
        Ok(())
    }

    fn note_pointer(&mut self, id: u32, ty: u32) -> Result<()> {
        if let super::types::Type::Pointer { .. } = self.type_info(ty)?.ty {
            self.ptrs[id as usize] = Some(self.ptr_info_of_type(ty)?);
        }
        Ok(())
    }

    fn declare_local_variable(&mut self, inst: &Instruction) -> Result<()> {
        let id = result_id(inst)?;
        let ty = super::result_type(inst)?;
        if !matches!(
            inst.operands.first(),
            Some(Operand::StorageClass(StorageClass::Function))
        ) {
            return Err(invalid(format!(
                "variable {id} inside a function is not of Function storage class"
            )));
        }
        let mut info = self.ptr_info_of_type(ty)?;
        let slot = self.define(id, ty)?;
        let storage = self.alloc(self.words_of_type(info.pointee)?)?;
        let p = crate::ir::Ptr {
            space: crate::ir::space::LOCAL,
            addr: u64::from(storage),
            lo: 0,
            hi: 0,
        };
        let s = slot as usize;
        self.code.init[s..s + crate::ir::PTR_WORDS as usize].copy_from_slice(&p.to_words());
        info.konst = Some(p);
        self.ptrs[id as usize] = Some(info);
        Ok(())
    }

    fn lower_function(&mut self, f: &Function) -> Result<()> {
        let fid = function_id(f)?;
        self.function_state.current_function = fid;
        self.function_state.labels = f
            .blocks
            .iter()
            .filter_map(|b| b.label.as_ref().and_then(|l| l.result_id))
            .collect();
        for block in &f.blocks {
            let label = block
                .label
                .as_ref()
                .and_then(|l| l.result_id)
                .ok_or_else(|| invalid("block without a label"))?;
            let pc = self.code.insts.len() as u32;
            self.function_state.targets.insert(
                label,
                Target {
                    pc,
                    count: block_count(&block.instructions),
                },
            );
            self.function_state.current_block = label;
            let Some((last, body)) = block.instructions.split_last() else {
                return Err(invalid(format!("block {label} is empty")));
            };
            for inst in body {
                self.lower_body_inst(inst)?;
            }
            self.lower_terminator(last)?;
        }
        Ok(())
    }

    fn lower_body_inst(&mut self, inst: &Instruction) -> Result<()> {
        match inst.class.opcode {
            Op::Phi => Ok(()),
            Op::Variable => {
                // Storage was given at declaration; an initializer is a copy
                // each time the function starts.
                if inst.operands.len() > 1 {
                    let id = result_id(inst)?;
                    let init = id_at(&inst.operands, 1)?;
                    let info = self.ptr_info(id)?;
                    let words = self.words_of_type(info.pointee)?;
                    let s = self.src(init, words)?;
                    let d = info
                        .konst
                        .map(|p| p.addr as u32)
                        .ok_or_else(|| invalid("local variable without storage"))?;
                    self.emit(Inst::Copy { d, s, n: words });
                }
                Ok(())
            }
            op if rspirv::grammar::reflect::is_block_terminator(op) => {
                Err(invalid(format!("Op{op:?} in the middle of a block")))
            }
            op => self.lower_op(op, inst.result_type, inst.result_id, &inst.operands),
        }
    }

    fn check_label(&self, label: u32) -> Result<u32> {
        if self.function_state.labels.contains(&label) {
            Ok(label)
        } else {
            Err(invalid(format!(
                "branch to {label}, which is not a block of this function"
            )))
        }
    }

    /// The phi moves for the edge from the current block to `to`, as
    /// parallel copies (through temporaries when sources and destinations
    /// overlap).
    fn edge_moves(&mut self, to: u32) -> Result<Vec<Inst>> {
        let from = self.function_state.current_block;
        let mut moves = Vec::new();
        if let Some(phis) = self.function_state.phis.get(&to) {
            for phi in phis {
                if let Some(&(value, _)) = phi.incoming.iter().find(|(_, pred)| *pred == from) {
                    moves.push((phi.dst, value, phi.words));
                }
            }
        }
        let mut resolved = Vec::with_capacity(moves.len());
        for (d, value, n) in moves {
            resolved.push((d, self.src(value, n)?, n));
        }
        let overlap = |a: Slot, an: u32, b: Slot, bn: u32| a < b + bn && b < a + an;
        let conflict = resolved
            .iter()
            .any(|&(_, s, sn)| resolved.iter().any(|&(d, _, dn)| overlap(s, sn, d, dn)));
        let mut out = Vec::new();
        if conflict {
            let mut temps = Vec::new();
            for &(_, s, n) in &resolved {
                let t = self.alloc(n)?;
                out.push(Inst::Copy { d: t, s, n });
                temps.push(t);
            }
            for (&(d, _, n), t) in resolved.iter().zip(temps) {
                out.push(Inst::Copy { d, s: t, n });
            }
        } else {
            out.extend(
                resolved
                    .iter()
                    .filter(|m| m.2 > 0)
                    .map(|&(d, s, n)| Inst::Copy { d, s, n }),
            );
        }
        Ok(out)
    }

    /// A branch target for an edge: the block itself, or a stub that does
    /// the edge's phi moves first.
    fn edge_target(&mut self, label: u32) -> Result<Target> {
        let label = self.check_label(label)?;
        let moves = self.edge_moves(label)?;
        if moves.is_empty() {
            return Ok(Target {
                pc: label,
                count: 0,
            });
        }
        let st = &mut self.function_state;
        let pseudo = st.next_pseudo;
        st.next_pseudo = st
            .next_pseudo
            .checked_add(1)
            .ok_or_else(|| DecodeError::TooLarge("branches".into()))?;
        st.stubs.push((pseudo, moves, label));
        Ok(Target {
            pc: pseudo,
            count: 0,
        })
    }

    fn lower_terminator(&mut self, inst: &Instruction) -> Result<()> {
        let ops = &inst.operands;
        match inst.class.opcode {
            Op::Branch => {
                let label = self.check_label(id_at(ops, 0)?)?;
                let moves = self.edge_moves(label)?;
                self.code.insts.extend(moves);
                self.emit(Inst::Jump(Target {
                    pc: label,
                    count: 0,
                }));
            }
            Op::BranchConditional => {
                let c = self.src(id_at(ops, 0)?, 1)?;
                let t = self.edge_target(id_at(ops, 1)?)?;
                let f = self.edge_target(id_at(ops, 2)?)?;
                self.emit(Inst::Branch { c, t, f });
            }
            Op::Switch => {
                let sel_id = id_at(ops, 0)?;
                let (scalar, _) = self.value_shape(sel_id)?;
                let Scalar::Int { bits, .. } = scalar else {
                    return Err(invalid("OpSwitch selector is not an integer"));
                };
                let mask = if bits == 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                };
                let sel = self.src(sel_id, scalar.words())?;
                let default = self.edge_target(id_at(ops, 1)?)?;
                let mut cases = Vec::new();
                let mut i = 2;
                while i + 1 < ops.len() {
                    let value = match ops[i] {
                        Operand::LiteralBit32(v) => u64::from(v),
                        Operand::LiteralBit64(v) => v,
                        ref other => return Err(invalid(format!("OpSwitch literal {other:?}"))),
                    };
                    cases.push((value & mask, self.edge_target(id_at(ops, i + 1)?)?));
                    i += 2;
                }
                let table = self.code.switches.len() as u32;
                self.code.switches.push(SwitchTable { cases, default });
                self.emit(Inst::Switch {
                    sel,
                    wide: bits == 64,
                    table,
                });
            }
            Op::Return => self.emit(Inst::Return),
            Op::ReturnValue => {
                let fid = self.function_state.current_function;
                let n = self
                    .function_state
                    .return_words
                    .get(&fid)
                    .copied()
                    .unwrap_or(0);
                let s = self.src(id_at(ops, 0)?, n)?;
                self.emit(Inst::ReturnValue { s, n });
            }
            Op::Unreachable => self.emit(Inst::Unreachable),
            other => return Err(DecodeError::Opcode(super::op_name(other))),
        }
        Ok(())
    }

    pub(super) fn lower_call(&mut self, rid: Option<u32>, ops: &[Operand]) -> Result<()> {
        let callee = id_at(ops, 0)?;
        let params = self
            .function_state
            .params
            .get(&callee)
            .cloned()
            .ok_or_else(|| invalid(format!("call of undeclared function {callee}")))?;
        if params.len() + 1 != ops.len() {
            return Err(invalid(format!(
                "call of {callee} with {} arguments, it takes {}",
                ops.len() - 1,
                params.len()
            )));
        }
        let mut args = Vec::with_capacity(params.len());
        for (i, &p) in params.iter().enumerate() {
            let (ps, pw) = self.slot_and_size(p)?;
            let a = self.src(id_at(ops, i + 1)?, pw)?;
            args.push((ps, a, pw));
        }
        let want = self
            .function_state
            .return_words
            .get(&callee)
            .copied()
            .unwrap_or(0);
        let (result, result_words) = match rid {
            Some(id) => (self.dst(id, want)?, want),
            None => (0, 0),
        };
        let idx = self.code.calls.len() as u32;
        self.code.calls.push(CallSite {
            entry: Target::default(),
            args,
            result,
            result_words,
        });
        self.function_state.call_callees.push(callee);
        self.emit(Inst::Call(idx));
        Ok(())
    }

    pub(super) fn lower_barrier(&mut self, ops: &[Operand]) -> Result<()> {
        let scope = id_at(ops, 0)?;
        let scope = self
            .const_u32(scope)
            .ok_or_else(|| invalid("OpControlBarrier scope is not a constant"))?;
        // Subgroup (3) and Invocation (4) barriers are no-ops at subgroup
        // size 1; anything wider synchronises the workgroup.
        if !matches!(scope, 3 | 4) {
            self.code.has_barrier = true;
            self.emit(Inst::Barrier);
        }
        Ok(())
    }

    fn patch_targets(&mut self) -> Result<()> {
        let st = &self.function_state;
        let resolve = |t: &mut Target| -> Result<()> {
            *t = *st
                .targets
                .get(&t.pc)
                .ok_or_else(|| invalid(format!("branch to unknown label {}", t.pc)))?;
            Ok(())
        };
        for inst in &mut self.code.insts {
            match inst {
                Inst::Jump(t) => resolve(t)?,
                Inst::Branch { t, f, .. } => {
                    resolve(t)?;
                    resolve(f)?;
                }
                _ => {}
            }
        }
        for table in &mut self.code.switches {
            resolve(&mut table.default)?;
            for (_, t) in &mut table.cases {
                resolve(t)?;
            }
        }
        for (call, callee) in self.code.calls.iter_mut().zip(&st.call_callees) {
            let label = st
                .entry_labels
                .get(callee)
                .ok_or_else(|| invalid("call of a function without body"))?;
            call.entry = Target {
                pc: *label,
                count: 0,
            };
            resolve(&mut call.entry)?;
        }
        let label = *st
            .entry_labels
            .get(&self.entry_fn)
            .ok_or_else(|| invalid("entry point without body"))?;
        let mut entry = Target {
            pc: label,
            count: 0,
        };
        resolve(&mut entry)?;
        self.code.entry = entry;
        Ok(())
    }
}
