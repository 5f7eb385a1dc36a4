//! Constants and specialization: OpConstant*, OpSpecConstant* with the
//! pipeline's override values, and OpSpecConstantOp, which is lowered like
//! an ordinary instruction and evaluated right away on the register image
//! (so it computes exactly what the interpreter would).

use super::types::Type;
use super::{id_at, invalid, result_id, result_type, Decoder, Result, Scalar};
use crate::error::DecodeError;
use rspirv::dr::{Instruction, Operand};
use spirv::{BuiltIn, Op};

impl Decoder<'_> {
    pub(super) fn declare_constant(&mut self, inst: &Instruction) -> Result<()> {
        let op = inst.class.opcode;
        let id = result_id(inst)?;
        let ty = result_type(inst)?;
        let slot = self.define(id, ty)? as usize;
        let words = self.words_of_type(ty)? as usize;
        let ops = &inst.operands;
        let spec = self
            .deco
            .spec_id
            .get(&id)
            .and_then(|sid| self.spec.get(sid))
            .copied();
        match op {
            Op::Constant | Op::SpecConstant => {
                let scalar = self.scalar_of(ty)?;
                let mut value = match ops.first() {
                    Some(Operand::LiteralBit32(v)) => u64::from(*v),
                    Some(Operand::LiteralBit64(v)) => *v,
                    other => return Err(invalid(format!("constant {id} value {other:?}"))),
                };
                if op == Op::SpecConstant {
                    value = spec.unwrap_or(value);
                }
                let value = match scalar {
                    Scalar::Int { bits, .. } if bits < 64 => value & ((1u64 << bits) - 1),
                    Scalar::Float { bits: 32 } => value & 0xffff_ffff,
                    Scalar::Bool => return Err(invalid("OpConstant of boolean type")),
                    _ => value,
                };
                self.code.init[slot] = value as u32;
                if words == 2 {
                    self.code.init[slot + 1] = (value >> 32) as u32;
                }
            }
            Op::ConstantTrue | Op::ConstantFalse | Op::SpecConstantTrue | Op::SpecConstantFalse => {
                if self.scalar_of(ty)? != Scalar::Bool {
                    return Err(invalid("boolean constant of non-boolean type"));
                }
                let default = matches!(op, Op::ConstantTrue | Op::SpecConstantTrue);
                let value = match (op, spec) {
                    (Op::SpecConstantTrue | Op::SpecConstantFalse, Some(v)) => v != 0,
                    _ => default,
                };
                self.code.init[slot] = u32::from(value);
            }
            Op::ConstantComposite | Op::SpecConstantComposite => {
                let mut at = slot;
                for i in 0..ops.len() {
                    let part = id_at(ops, i)?;
                    let (s, n) = self.slot_and_size(part)?;
                    if !self.is_const[part as usize] || at + n as usize > slot + words {
                        return Err(invalid(format!(
                            "constant composite {id} has a bad constituent {part}"
                        )));
                    }
                    self.code.init.copy_within(s as usize..(s + n) as usize, at);
                    at += n as usize;
                }
                if at != slot + words {
                    return Err(invalid(format!(
                        "constant composite {id} does not fill its type"
                    )));
                }
            }
            Op::ConstantNull | Op::Undef => {}
            Op::SpecConstantOp => self.eval_spec_op(id, ty, ops)?,
            other => return Err(DecodeError::Opcode(super::op_name(other))),
        }
        self.is_const[id as usize] = true;
        if self.deco.builtin.get(&id) == Some(&BuiltIn::WorkgroupSize) {
            self.workgroup_size_const = Some(id);
        }
        if let Type::Pointer { .. } = self.type_info(ty)?.ty {
            // A null pointer constant.
            self.ptrs[id as usize] = Some(self.ptr_info_of_type(ty)?);
        }
        Ok(())
    }

    fn eval_spec_op(&mut self, id: u32, ty: u32, ops: &[Operand]) -> Result<()> {
        let Some(Operand::LiteralSpecConstantOpInteger(inner)) = ops.first() else {
            return Err(invalid("OpSpecConstantOp without an opcode"));
        };
        for op in &ops[1..] {
            if let Operand::IdRef(src) = *op {
                if !self.is_const.get(src as usize).copied().unwrap_or(false) {
                    return Err(invalid(format!(
                        "OpSpecConstantOp {id} uses non-constant {src}"
                    )));
                }
            }
        }
        let start = self.code.insts.len();
        self.lower_op(*inner, Some(ty), Some(id), &ops[1..])?;
        let insts: Vec<_> = self.code.insts.drain(start..).collect();
        let crate::ir::Code { gathers, init, .. } = &mut self.code;
        crate::exec::eval_pure(gathers, &insts, init)
            .map_err(|_| DecodeError::Opcode(format!("{inner:?} in OpSpecConstantOp")))
    }
}
