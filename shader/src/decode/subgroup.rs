//! Group non-uniform operations at subgroup size 1. This core runs one
//! invocation at a time, so each subgroup holds exactly one invocation
//! (SubgroupSize = 1, id 0): elect is true, votes and broadcasts return the
//! invocation's own value, ballots have bit 0 only, reductions and
//! inclusive scans are the value itself and exclusive scans the identity.

use super::{id_at, invalid, Decoder, Result, Scalar};
use crate::error::DecodeError;
use crate::ir::{ExtOp, IBin, Inst};
use rspirv::dr::Operand;
use spirv::{GroupOperation, Op};

impl Decoder<'_> {
    pub(super) fn subgroup_op(&mut self, op: Op, rid: u32, rt: u32, ops: &[Operand]) -> Result<()> {
        use Op as O;
        let words = self.words_of_type(rt)?;
        match op {
            O::GroupNonUniformElect | O::GroupNonUniformAllEqual => {
                let one = self.constant(&[1])?;
                let d = self.dst(rid, 1)?;
                self.emit(Inst::Copy { d, s: one, n: 1 });
                Ok(())
            }
            O::GroupNonUniformAll
            | O::GroupNonUniformAny
            | O::GroupNonUniformBroadcast
            | O::GroupNonUniformBroadcastFirst
            | O::GroupNonUniformShuffle
            | O::GroupNonUniformShuffleXor
            | O::GroupNonUniformShuffleUp
            | O::GroupNonUniformShuffleDown => self.copy_value(rid, id_at(ops, 1)?),
            O::GroupNonUniformBallot => self.ext_op(rid, ExtOp::Ballot, id_at(ops, 1)?, None, None),
            O::GroupNonUniformInverseBallot => {
                let one = self.constant(&[1])?;
                let d = self.dst(rid, 1)?;
                let a = self.src(id_at(ops, 1)?, 4)?;
                self.emit(Inst::I32 {
                    op: IBin::And,
                    d,
                    a,
                    b: one,
                    n: 1,
                });
                Ok(())
            }
            O::GroupNonUniformBallotBitExtract => {
                let d = self.dst(rid, 1)?;
                let a = self.src(id_at(ops, 1)?, 4)?;
                let b = self.src(id_at(ops, 2)?, 1)?;
                self.emit(Inst::Ext {
                    op: ExtOp::BallotBitExtract,
                    wide: false,
                    d,
                    a,
                    b,
                    c: 0,
                    n: 1,
                });
                Ok(())
            }
            O::GroupNonUniformBallotBitCount => {
                let exclusive = match ops.get(1) {
                    Some(Operand::GroupOperation(
                        GroupOperation::Reduce | GroupOperation::InclusiveScan,
                    )) => 0,
                    Some(Operand::GroupOperation(GroupOperation::ExclusiveScan)) => 1,
                    other => {
                        return Err(DecodeError::Opcode(format!(
                            "GroupNonUniformBallotBitCount with {other:?}"
                        )))
                    }
                };
                let d = self.dst(rid, 1)?;
                let a = self.src(id_at(ops, 2)?, 4)?;
                self.emit(Inst::Ext {
                    op: ExtOp::BallotBitCount,
                    wide: false,
                    d,
                    a,
                    b: 0,
                    c: 0,
                    n: exclusive,
                });
                Ok(())
            }
            O::GroupNonUniformBallotFindLSB | O::GroupNonUniformBallotFindMSB => {
                let e = if op == O::GroupNonUniformBallotFindLSB {
                    ExtOp::BallotFindLsb
                } else {
                    ExtOp::BallotFindMsb
                };
                let d = self.dst(rid, 1)?;
                let a = self.src(id_at(ops, 1)?, 4)?;
                self.emit(Inst::Ext {
                    op: e,
                    wide: false,
                    d,
                    a,
                    b: 0,
                    c: 0,
                    n: 1,
                });
                Ok(())
            }
            _ => {
                let value = id_at(ops, 2)?;
                match ops.get(1) {
                    Some(Operand::GroupOperation(
                        GroupOperation::Reduce
                        | GroupOperation::InclusiveScan
                        | GroupOperation::ClusteredReduce,
                    )) => self.copy_value(rid, value),
                    Some(Operand::GroupOperation(GroupOperation::ExclusiveScan)) => {
                        let (s, n) = self.value_shape(value)?;
                        let lane = identity(op, s)?;
                        let mut v = Vec::with_capacity(words as usize);
                        for _ in 0..n {
                            v.extend_from_slice(&lane[..s.words() as usize]);
                        }
                        let c = self.constant(&v)?;
                        let d = self.dst(rid, words)?;
                        if v.len() as u32 != words {
                            return Err(invalid("exclusive scan result type mismatch"));
                        }
                        self.emit(Inst::Copy { d, s: c, n: words });
                        Ok(())
                    }
                    other => Err(DecodeError::Opcode(format!(
                        "{op:?} with group operation {other:?}"
                    ))),
                }
            }
        }
    }
}

/// The identity of a reduction, as one lane's words (low word first).
fn identity(op: Op, s: Scalar) -> Result<[u32; 2]> {
    use Op as O;
    let bits = s.bits();
    let ones = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let smax = ones >> 1;
    let smin = 1u64 << (bits - 1);
    let float = |v32: f32, v64: f64| {
        if bits == 64 {
            v64.to_bits()
        } else {
            u64::from(v32.to_bits())
        }
    };
    let v: u64 = match op {
        O::GroupNonUniformIAdd
        | O::GroupNonUniformUMax
        | O::GroupNonUniformBitwiseOr
        | O::GroupNonUniformBitwiseXor
        | O::GroupNonUniformLogicalOr
        | O::GroupNonUniformLogicalXor => 0,
        O::GroupNonUniformIMul | O::GroupNonUniformLogicalAnd => 1,
        O::GroupNonUniformFAdd => float(0.0, 0.0),
        O::GroupNonUniformFMul => float(1.0, 1.0),
        O::GroupNonUniformSMin => smax,
        O::GroupNonUniformUMin | O::GroupNonUniformBitwiseAnd => ones,
        O::GroupNonUniformFMin => float(f32::INFINITY, f64::INFINITY),
        O::GroupNonUniformSMax => smin,
        O::GroupNonUniformFMax => float(f32::NEG_INFINITY, f64::NEG_INFINITY),
        other => return Err(DecodeError::Opcode(super::op_name(other))),
    };
    Ok([v as u32, (v >> 32) as u32])
}
