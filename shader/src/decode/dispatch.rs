//! The opcode table: which lowering each SPIR-V instruction inside a
//! function (or an OpSpecConstantOp) goes to. Opcodes not listed are
//! refused by name.

use super::arith::{FloatKind as F, IntKind as I};
use super::{id_at, invalid, lit_at, Decoder, Result};
use crate::error::DecodeError;
use crate::ir::{ExtOp, FBin, FCmp, FUn, IBin, ICmp, IUn};
use rspirv::dr::Operand;
use spirv::Op;

impl Decoder<'_> {
    /// Lowers one non-terminator instruction.
    pub(super) fn lower_op(
        &mut self,
        op: Op,
        rt: Option<u32>,
        rid: Option<u32>,
        ops: &[Operand],
    ) -> Result<()> {
        let id = |i: usize| id_at(ops, i);
        let rid_v = || rid.ok_or_else(|| invalid(format!("Op{op:?} without a result id")));
        let rt_v = || rt.ok_or_else(|| invalid(format!("Op{op:?} without a result type")));
        let lits = |from: usize| {
            (from..ops.len())
                .map(|i| lit_at(ops, i))
                .collect::<Result<Vec<_>>>()
        };
        match op {
            Op::Nop
            | Op::Line
            | Op::NoLine
            | Op::SelectionMerge
            | Op::LoopMerge
            | Op::MemoryBarrier
            | Op::Undef
            | Op::Name
            | Op::ModuleProcessed => Ok(()),

            // Integer arithmetic and bits.
            Op::IAdd => self.int_op(rid_v()?, I::Bin(IBin::Add), &[id(0)?, id(1)?]),
            Op::ISub => self.int_op(rid_v()?, I::Bin(IBin::Sub), &[id(0)?, id(1)?]),
            Op::IMul => self.int_op(rid_v()?, I::Bin(IBin::Mul), &[id(0)?, id(1)?]),
            Op::UDiv => self.int_op(rid_v()?, I::Bin(IBin::UDiv), &[id(0)?, id(1)?]),
            Op::SDiv => self.int_op(rid_v()?, I::Bin(IBin::SDiv), &[id(0)?, id(1)?]),
            Op::UMod => self.int_op(rid_v()?, I::Bin(IBin::UMod), &[id(0)?, id(1)?]),
            Op::SRem => self.int_op(rid_v()?, I::Bin(IBin::SRem), &[id(0)?, id(1)?]),
            Op::SMod => self.int_op(rid_v()?, I::Bin(IBin::SMod), &[id(0)?, id(1)?]),
            Op::ShiftLeftLogical => self.int_op(rid_v()?, I::Bin(IBin::Shl), &[id(0)?, id(1)?]),
            Op::ShiftRightLogical => self.int_op(rid_v()?, I::Bin(IBin::ShrL), &[id(0)?, id(1)?]),
            Op::ShiftRightArithmetic => {
                self.int_op(rid_v()?, I::Bin(IBin::ShrA), &[id(0)?, id(1)?])
            }
            Op::BitwiseAnd | Op::LogicalAnd => {
                self.int_op(rid_v()?, I::Bin(IBin::And), &[id(0)?, id(1)?])
            }
            Op::BitwiseOr | Op::LogicalOr => {
                self.int_op(rid_v()?, I::Bin(IBin::Or), &[id(0)?, id(1)?])
            }
            Op::BitwiseXor | Op::LogicalNotEqual => {
                self.int_op(rid_v()?, I::Bin(IBin::Xor), &[id(0)?, id(1)?])
            }
            Op::Not => self.int_op(rid_v()?, I::Un(IUn::Not), &[id(0)?]),
            Op::SNegate => self.int_op(rid_v()?, I::Un(IUn::Neg), &[id(0)?]),
            Op::LogicalNot => self.int_op(rid_v()?, I::Un(IUn::BoolNot), &[id(0)?]),
            Op::BitReverse => self.int_op(rid_v()?, I::Un(IUn::BitReverse), &[id(0)?]),
            Op::BitCount => self.bit_count(rid_v()?, rt_v()?, id(0)?),
            Op::BitFieldSExtract => self.int_op(
                rid_v()?,
                I::Tern(crate::ir::ITern::BfSExtract),
                &[id(0)?, id(1)?, id(2)?],
            ),
            Op::BitFieldUExtract => self.int_op(
                rid_v()?,
                I::Tern(crate::ir::ITern::BfUExtract),
                &[id(0)?, id(1)?, id(2)?],
            ),
            Op::BitFieldInsert => self.bitfield_insert(rid_v()?, id(0)?, id(1)?, id(2)?, id(3)?),
            Op::IAddCarry => self.ext_op(rid_v()?, ExtOp::AddCarry, id(0)?, Some(id(1)?), None),
            Op::ISubBorrow => self.ext_op(rid_v()?, ExtOp::SubBorrow, id(0)?, Some(id(1)?), None),
            Op::UMulExtended => {
                self.ext_op(rid_v()?, ExtOp::UMulExtended, id(0)?, Some(id(1)?), None)
            }
            Op::SMulExtended => {
                self.ext_op(rid_v()?, ExtOp::SMulExtended, id(0)?, Some(id(1)?), None)
            }

            // Integer and boolean comparisons.
            Op::IEqual | Op::LogicalEqual => {
                self.int_op(rid_v()?, I::Cmp(ICmp::Eq), &[id(0)?, id(1)?])
            }
            Op::INotEqual => self.int_op(rid_v()?, I::Cmp(ICmp::Ne), &[id(0)?, id(1)?]),
            Op::ULessThan => self.int_op(rid_v()?, I::Cmp(ICmp::ULt), &[id(0)?, id(1)?]),
            Op::ULessThanEqual => self.int_op(rid_v()?, I::Cmp(ICmp::ULe), &[id(0)?, id(1)?]),
            Op::UGreaterThan => self.int_op(rid_v()?, I::Cmp(ICmp::UGt), &[id(0)?, id(1)?]),
            Op::UGreaterThanEqual => self.int_op(rid_v()?, I::Cmp(ICmp::UGe), &[id(0)?, id(1)?]),
            Op::SLessThan => self.int_op(rid_v()?, I::Cmp(ICmp::SLt), &[id(0)?, id(1)?]),
            Op::SLessThanEqual => self.int_op(rid_v()?, I::Cmp(ICmp::SLe), &[id(0)?, id(1)?]),
            Op::SGreaterThan => self.int_op(rid_v()?, I::Cmp(ICmp::SGt), &[id(0)?, id(1)?]),
            Op::SGreaterThanEqual => self.int_op(rid_v()?, I::Cmp(ICmp::SGe), &[id(0)?, id(1)?]),
            Op::Any => self.ext_op(rid_v()?, ExtOp::Any, id(0)?, None, None),
            Op::All => self.ext_op(rid_v()?, ExtOp::All, id(0)?, None, None),

            // Floats.
            Op::FAdd => self.float_op(rid_v()?, F::Bin(FBin::Add), &[id(0)?, id(1)?]),
            Op::FSub => self.float_op(rid_v()?, F::Bin(FBin::Sub), &[id(0)?, id(1)?]),
            Op::FMul => self.float_op(rid_v()?, F::Bin(FBin::Mul), &[id(0)?, id(1)?]),
            Op::FDiv => self.float_op(rid_v()?, F::Bin(FBin::Div), &[id(0)?, id(1)?]),
            Op::FRem => self.float_op(rid_v()?, F::Bin(FBin::Rem), &[id(0)?, id(1)?]),
            Op::FMod => self.float_op(rid_v()?, F::Bin(FBin::Mod), &[id(0)?, id(1)?]),
            Op::FNegate => self.float_op(rid_v()?, F::Un(FUn::Neg), &[id(0)?]),
            Op::QuantizeToF16 => self.float_op(rid_v()?, F::Un(FUn::QuantizeF16), &[id(0)?]),
            Op::FOrdEqual => self.float_op(rid_v()?, F::Cmp(FCmp::OrdEq), &[id(0)?, id(1)?]),
            Op::FOrdNotEqual => self.float_op(rid_v()?, F::Cmp(FCmp::OrdNe), &[id(0)?, id(1)?]),
            Op::FOrdLessThan => self.float_op(rid_v()?, F::Cmp(FCmp::OrdLt), &[id(0)?, id(1)?]),
            Op::FOrdLessThanEqual => {
                self.float_op(rid_v()?, F::Cmp(FCmp::OrdLe), &[id(0)?, id(1)?])
            }
            Op::FOrdGreaterThan => self.float_op(rid_v()?, F::Cmp(FCmp::OrdGt), &[id(0)?, id(1)?]),
            Op::FOrdGreaterThanEqual => {
                self.float_op(rid_v()?, F::Cmp(FCmp::OrdGe), &[id(0)?, id(1)?])
            }
            Op::FUnordEqual => self.float_op(rid_v()?, F::Cmp(FCmp::UnordEq), &[id(0)?, id(1)?]),
            Op::FUnordNotEqual => self.float_op(rid_v()?, F::Cmp(FCmp::UnordNe), &[id(0)?, id(1)?]),
            Op::FUnordLessThan => self.float_op(rid_v()?, F::Cmp(FCmp::UnordLt), &[id(0)?, id(1)?]),
            Op::FUnordLessThanEqual => {
                self.float_op(rid_v()?, F::Cmp(FCmp::UnordLe), &[id(0)?, id(1)?])
            }
            Op::FUnordGreaterThan => {
                self.float_op(rid_v()?, F::Cmp(FCmp::UnordGt), &[id(0)?, id(1)?])
            }
            Op::FUnordGreaterThanEqual => {
                self.float_op(rid_v()?, F::Cmp(FCmp::UnordGe), &[id(0)?, id(1)?])
            }
            Op::IsNan => self.ext_op(rid_v()?, ExtOp::IsNan, id(0)?, None, None),
            Op::IsInf => self.ext_op(rid_v()?, ExtOp::IsInf, id(0)?, None, None),
            Op::Dot => self.ext_op(rid_v()?, ExtOp::Dot, id(0)?, Some(id(1)?), None),
            Op::VectorTimesScalar
            | Op::MatrixTimesScalar
            | Op::MatrixTimesVector
            | Op::VectorTimesMatrix
            | Op::MatrixTimesMatrix
            | Op::OuterProduct => self.matrix_op(op, rid_v()?, id(0)?, Some(id(1)?)),
            Op::Transpose => self.matrix_op(op, rid_v()?, id(0)?, None),

            // Conversions and values.
            Op::ConvertFToU
            | Op::ConvertFToS
            | Op::ConvertSToF
            | Op::ConvertUToF
            | Op::UConvert
            | Op::SConvert
            | Op::FConvert => self.convert(op, rid_v()?, rt_v()?, id(0)?),
            Op::Bitcast | Op::ConvertUToPtr | Op::ConvertPtrToU => {
                self.bitcast(rid_v()?, rt_v()?, id(0)?)
            }
            Op::CopyObject | Op::CopyLogical => self.copy_value(rid_v()?, id(0)?),
            Op::Select => self.select(rid_v()?, id(0)?, id(1)?, id(2)?),
            Op::CompositeConstruct => {
                let parts = (0..ops.len()).map(id).collect::<Result<Vec<_>>>()?;
                self.composite_construct(rid_v()?, &parts)
            }
            Op::CompositeExtract => self.composite_extract(rid_v()?, rt_v()?, id(0)?, &lits(1)?),
            Op::CompositeInsert => self.composite_insert(rid_v()?, id(0)?, id(1)?, &lits(2)?),
            Op::VectorShuffle => self.vector_shuffle(rid_v()?, id(0)?, id(1)?, &lits(2)?),
            Op::VectorExtractDynamic => self.vector_dynamic(rid_v()?, id(0)?, None, id(1)?),
            Op::VectorInsertDynamic => self.vector_dynamic(rid_v()?, id(0)?, Some(id(1)?), id(2)?),

            // Memory.
            Op::Load => self.load(rid_v()?, id(0)?),
            Op::Store => self.store(id(0)?, id(1)?),
            Op::CopyMemory => self.copy_memory(id(0)?, id(1)?),
            Op::AccessChain | Op::InBoundsAccessChain => {
                let idx = (1..ops.len()).map(id).collect::<Result<Vec<_>>>()?;
                self.access_chain(rid_v()?, id(0)?, None, &idx)
            }
            Op::PtrAccessChain | Op::InBoundsPtrAccessChain => {
                let idx = (2..ops.len()).map(id).collect::<Result<Vec<_>>>()?;
                self.access_chain(rid_v()?, id(0)?, Some(id(1)?), &idx)
            }
            Op::ArrayLength => self.array_length(rid_v()?, id(0)?, lit_at(ops, 1)?),
            Op::AtomicLoad
            | Op::AtomicStore
            | Op::AtomicExchange
            | Op::AtomicCompareExchange
            | Op::AtomicCompareExchangeWeak
            | Op::AtomicIIncrement
            | Op::AtomicIDecrement
            | Op::AtomicIAdd
            | Op::AtomicISub
            | Op::AtomicSMin
            | Op::AtomicUMin
            | Op::AtomicSMax
            | Op::AtomicUMax
            | Op::AtomicAnd
            | Op::AtomicOr
            | Op::AtomicXor => self.atomic(op, rid, ops),

            // Control.
            Op::FunctionCall => self.lower_call(rid, ops),
            Op::ControlBarrier => self.lower_barrier(ops),
            Op::ExtInst => self.ext_inst(rid, rt, ops),

            // Images.
            Op::SampledImage => self.sampled_image(rid_v()?, id(0)?, id(1)?),
            Op::Image => self.image_of(rid_v()?, id(0)?),
            Op::ImageSparseTexelsResident => {
                let zero = self.constant(&[0])?;
                let rid = rid_v()?;
                let d = self.dst(rid, 1)?;
                let a = self.src(id(0)?, 1)?;
                self.emit(crate::ir::Inst::I32Cmp {
                    op: ICmp::Eq,
                    d,
                    a,
                    b: zero,
                    n: 1,
                });
                Ok(())
            }
            Op::ImageRead
            | Op::ImageWrite
            | Op::ImageFetch
            | Op::ImageSampleExplicitLod
            | Op::ImageSampleDrefExplicitLod
            | Op::ImageSampleProjExplicitLod
            | Op::ImageSampleProjDrefExplicitLod
            | Op::ImageGather
            | Op::ImageDrefGather
            | Op::ImageQuerySize
            | Op::ImageQuerySizeLod
            | Op::ImageQueryLevels
            | Op::ImageQuerySamples
            | Op::ImageTexelPointer
            | Op::ImageSparseRead
            | Op::ImageSparseFetch
            | Op::ImageSparseSampleExplicitLod
            | Op::ImageSparseSampleDrefExplicitLod
            | Op::ImageSparseGather
            | Op::ImageSparseDrefGather => self.image_op(op, rid, rt, ops),

            // Subgroups (size 1).
            Op::GroupNonUniformElect
            | Op::GroupNonUniformAll
            | Op::GroupNonUniformAny
            | Op::GroupNonUniformAllEqual
            | Op::GroupNonUniformBroadcast
            | Op::GroupNonUniformBroadcastFirst
            | Op::GroupNonUniformBallot
            | Op::GroupNonUniformInverseBallot
            | Op::GroupNonUniformBallotBitExtract
            | Op::GroupNonUniformBallotBitCount
            | Op::GroupNonUniformBallotFindLSB
            | Op::GroupNonUniformBallotFindMSB
            | Op::GroupNonUniformShuffle
            | Op::GroupNonUniformShuffleXor
            | Op::GroupNonUniformShuffleUp
            | Op::GroupNonUniformShuffleDown
            | Op::GroupNonUniformIAdd
            | Op::GroupNonUniformFAdd
            | Op::GroupNonUniformIMul
            | Op::GroupNonUniformFMul
            | Op::GroupNonUniformSMin
            | Op::GroupNonUniformUMin
            | Op::GroupNonUniformFMin
            | Op::GroupNonUniformSMax
            | Op::GroupNonUniformUMax
            | Op::GroupNonUniformFMax
            | Op::GroupNonUniformBitwiseAnd
            | Op::GroupNonUniformBitwiseOr
            | Op::GroupNonUniformBitwiseXor
            | Op::GroupNonUniformLogicalAnd
            | Op::GroupNonUniformLogicalOr
            | Op::GroupNonUniformLogicalXor => self.subgroup_op(op, rid_v()?, rt_v()?, ops),

            other => Err(DecodeError::Opcode(super::op_name(other))),
        }
    }

    /// OpBitCount may give a result of another width than its operand.
    fn bit_count(&mut self, rid: u32, rt: u32, a: u32) -> Result<()> {
        let (bits, n) = self.int_lanes(a)?;
        let (rs, _) = self.scalar_shape(rt)?;
        if rs.bits() == bits {
            return self.int_op(rid, I::Un(IUn::BitCount), &[a]);
        }
        // Count at the operand's width into a temporary, then convert.
        let w = super::arith::words_for(bits);
        let t = self.alloc(n * w)?;
        let s = self.src(a, n * w)?;
        let n16 = n as u16;
        if bits == 64 {
            self.emit(crate::ir::Inst::I64Un {
                op: IUn::BitCount,
                d: t,
                a: s,
                n: n16,
            });
        } else {
            self.emit(crate::ir::Inst::I32Un {
                op: IUn::BitCount,
                d: t,
                a: s,
                n: n16,
            });
        }
        let d = self.dst(rid, n * rs.words())?;
        let from = super::arith::num_of(super::Scalar::Int {
            bits: bits.max(32),
            signed: false,
        })?;
        let to = super::arith::num_of(super::Scalar::Int {
            bits: rs.bits(),
            signed: false,
        })?;
        self.emit(crate::ir::Inst::Convert {
            from,
            to,
            d,
            a: t,
            n: n16,
        });
        Ok(())
    }
}
