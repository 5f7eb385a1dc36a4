//! Lowering of GLSL.std.450 extended instructions onto the component-wise
//! families and the Ext operations. Non-semantic instruction sets are
//! skipped; the interpolation functions (fragment only) are refused.

use super::arith::{FloatKind as F, IntKind as I};
use super::{id_at, invalid, lit_at, Decoder, Result};
use crate::error::DecodeError;
use crate::ir::{ExtOp, FBin, FTern, FUn, IBin, ITern, IUn, Inst, PTR_WORDS};
use rspirv::dr::Operand;
use spirv::GlslStd450Op as G;

impl Decoder<'_> {
    pub(super) fn ext_inst(
        &mut self,
        rid: Option<u32>,
        rt: Option<u32>,
        ops: &[Operand],
    ) -> Result<()> {
        let set = id_at(ops, 0)?;
        if self.ignored_sets.contains(&set) {
            return Ok(());
        }
        if Some(set) != self.glsl_set {
            return Err(invalid(format!("OpExtInst of unknown set {set}")));
        }
        let number = lit_at(ops, 1)?;
        let g = G::from_u32(number)
            .ok_or_else(|| DecodeError::GlslInstruction(format!("#{number}")))?;
        let rid = rid.ok_or_else(|| invalid("OpExtInst without a result"))?;
        let rt = rt.ok_or_else(|| invalid("OpExtInst without a result type"))?;
        let args = (2..ops.len())
            .map(|i| id_at(ops, i))
            .collect::<Result<Vec<_>>>()?;
        let arg = |i: usize| {
            args.get(i)
                .copied()
                .ok_or_else(|| invalid(format!("GLSL.std.450 {g:?} lacks operand {i}")))
        };
        let a0 = arg(0);
        let fun = |d: &mut Self, op: FUn| d.float_op(rid, F::Un(op), &[a0.clone()?]);
        let fbin = |d: &mut Self, op: FBin| d.float_op(rid, F::Bin(op), &[arg(0)?, arg(1)?]);
        let ftern =
            |d: &mut Self, op: FTern| d.float_op(rid, F::Tern(op), &[arg(0)?, arg(1)?, arg(2)?]);
        match g {
            G::Round => fun(self, FUn::Round),
            G::RoundEven => fun(self, FUn::RoundEven),
            G::Trunc => fun(self, FUn::Trunc),
            G::FAbs => fun(self, FUn::Abs),
            G::FSign => fun(self, FUn::Sign),
            G::Floor => fun(self, FUn::Floor),
            G::Ceil => fun(self, FUn::Ceil),
            G::Fract => fun(self, FUn::Fract),
            G::Radians => fun(self, FUn::Radians),
            G::Degrees => fun(self, FUn::Degrees),
            G::Sin => fun(self, FUn::Sin),
            G::Cos => fun(self, FUn::Cos),
            G::Tan => fun(self, FUn::Tan),
            G::Asin => fun(self, FUn::Asin),
            G::Acos => fun(self, FUn::Acos),
            G::Atan => fun(self, FUn::Atan),
            G::Sinh => fun(self, FUn::Sinh),
            G::Cosh => fun(self, FUn::Cosh),
            G::Tanh => fun(self, FUn::Tanh),
            G::Asinh => fun(self, FUn::Asinh),
            G::Acosh => fun(self, FUn::Acosh),
            G::Atanh => fun(self, FUn::Atanh),
            G::Exp => fun(self, FUn::Exp),
            G::Log => fun(self, FUn::Log),
            G::Exp2 => fun(self, FUn::Exp2),
            G::Log2 => fun(self, FUn::Log2),
            G::Sqrt => fun(self, FUn::Sqrt),
            G::InverseSqrt => fun(self, FUn::InverseSqrt),
            G::Atan2 => fbin(self, FBin::Atan2),
            G::Pow => fbin(self, FBin::Pow),
            G::FMin => fbin(self, FBin::Min),
            G::FMax => fbin(self, FBin::Max),
            G::NMin => fbin(self, FBin::NMin),
            G::NMax => fbin(self, FBin::NMax),
            G::Step => fbin(self, FBin::Step),
            G::FClamp => ftern(self, FTern::Clamp),
            G::NClamp => ftern(self, FTern::NClamp),
            G::FMix => ftern(self, FTern::Mix),
            G::SmoothStep => ftern(self, FTern::SmoothStep),
            G::Fma => ftern(self, FTern::Fma),
            G::SAbs => self.int_op(rid, I::Un(IUn::SAbs), &[arg(0)?]),
            G::SSign => self.int_op(rid, I::Un(IUn::SSign), &[arg(0)?]),
            G::FindILsb => self.int_op(rid, I::Un(IUn::FindILsb), &[arg(0)?]),
            G::FindSMsb => self.int_op(rid, I::Un(IUn::FindSMsb), &[arg(0)?]),
            G::FindUMsb => self.int_op(rid, I::Un(IUn::FindUMsb), &[arg(0)?]),
            G::UMin => self.int_op(rid, I::Bin(IBin::UMin), &[arg(0)?, arg(1)?]),
            G::SMin => self.int_op(rid, I::Bin(IBin::SMin), &[arg(0)?, arg(1)?]),
            G::UMax => self.int_op(rid, I::Bin(IBin::UMax), &[arg(0)?, arg(1)?]),
            G::SMax => self.int_op(rid, I::Bin(IBin::SMax), &[arg(0)?, arg(1)?]),
            G::UClamp => self.int_op(rid, I::Tern(ITern::UClamp), &[arg(0)?, arg(1)?, arg(2)?]),
            G::SClamp => self.int_op(rid, I::Tern(ITern::SClamp), &[arg(0)?, arg(1)?, arg(2)?]),
            G::Ldexp => {
                let (_, n) = self.value_shape(arg(0)?)?;
                let (es, en) = self.value_shape(arg(1)?)?;
                if en != n || es.words() != 1 {
                    return Err(DecodeError::GlslInstruction(
                        "Ldexp with a 64-bit or mismatched exponent".into(),
                    ));
                }
                self.ext_op(rid, ExtOp::Ldexp, arg(0)?, Some(arg(1)?), None)
            }
            G::Frexp | G::Modf => {
                // The second result goes through the pointer operand.
                let (s, n) = self.value_shape(arg(0)?)?;
                let out_words = if g == G::Frexp { n } else { n * s.words() };
                let t = self.alloc(out_words)?;
                let op = if g == G::Frexp {
                    ExtOp::Frexp
                } else {
                    ExtOp::Modf
                };
                let a = self.src(arg(0)?, n * s.words())?;
                let d = self.dst(rid, n * s.words())?;
                self.emit(Inst::Ext {
                    op,
                    wide: s.words() == 2,
                    d,
                    a,
                    b: t,
                    c: 0,
                    n: n as u16,
                });
                self.store_to_pointer(arg(1)?, t, out_words)
            }
            G::FrexpStruct | G::ModfStruct => {
                let (s, n) = self.value_shape(arg(0)?)?;
                let w = n * s.words();
                let second = if g == G::FrexpStruct { n } else { w };
                let d = self.dst(rid, w + second)?;
                let a = self.src(arg(0)?, w)?;
                let op = if g == G::FrexpStruct {
                    ExtOp::Frexp
                } else {
                    ExtOp::Modf
                };
                self.emit(Inst::Ext {
                    op,
                    wide: s.words() == 2,
                    d,
                    a,
                    b: d + w,
                    c: 0,
                    n: n as u16,
                });
                Ok(())
            }
            G::PackSnorm4x8 => self.pack(rid, ExtOp::PackSnorm4x8, arg(0)?, 4, 1),
            G::PackUnorm4x8 => self.pack(rid, ExtOp::PackUnorm4x8, arg(0)?, 4, 1),
            G::PackSnorm2x16 => self.pack(rid, ExtOp::PackSnorm2x16, arg(0)?, 2, 1),
            G::PackUnorm2x16 => self.pack(rid, ExtOp::PackUnorm2x16, arg(0)?, 2, 1),
            G::PackHalf2x16 => self.pack(rid, ExtOp::PackHalf2x16, arg(0)?, 2, 1),
            G::UnpackSnorm2x16 => self.pack(rid, ExtOp::UnpackSnorm2x16, arg(0)?, 1, 2),
            G::UnpackUnorm2x16 => self.pack(rid, ExtOp::UnpackUnorm2x16, arg(0)?, 1, 2),
            G::UnpackHalf2x16 => self.pack(rid, ExtOp::UnpackHalf2x16, arg(0)?, 1, 2),
            G::UnpackSnorm4x8 => self.pack(rid, ExtOp::UnpackSnorm4x8, arg(0)?, 1, 4),
            G::UnpackUnorm4x8 => self.pack(rid, ExtOp::UnpackUnorm4x8, arg(0)?, 1, 4),
            // Same words either way: a double is its two 32-bit halves.
            G::PackDouble2x32 | G::UnpackDouble2x32 => self.copy_value(rid, arg(0)?),
            G::Length => self.ext_op(rid, ExtOp::Length, arg(0)?, None, None),
            G::Distance => self.ext_op(rid, ExtOp::Distance, arg(0)?, Some(arg(1)?), None),
            G::Normalize => self.ext_op(rid, ExtOp::Normalize, arg(0)?, None, None),
            G::Reflect => self.ext_op(rid, ExtOp::Reflect, arg(0)?, Some(arg(1)?), None),
            G::Cross => {
                if self.value_shape(arg(0)?)?.1 != 3 {
                    return Err(invalid("Cross of non-3-vectors"));
                }
                self.ext_op(rid, ExtOp::Cross, arg(0)?, Some(arg(1)?), None)
            }
            G::FaceForward => {
                let (s, n) = self.value_shape(arg(2)?)?;
                let c = self.src(arg(2)?, n * s.words())?;
                self.ext_op(rid, ExtOp::FaceForward, arg(0)?, Some(arg(1)?), Some(c))
            }
            G::Refract => {
                let (s, _) = self.value_shape(arg(2)?)?;
                let c = self.src(arg(2)?, s.words())?;
                self.ext_op(rid, ExtOp::Refract, arg(0)?, Some(arg(1)?), Some(c))
            }
            G::Determinant | G::MatrixInverse => {
                let (bits, rows, cols) = self.matrix_shape(self.type_of(arg(0)?)?)?;
                if rows != cols {
                    return Err(invalid("determinant or inverse of a non-square matrix"));
                }
                let w = if bits == 64 { 2 } else { 1 };
                let a = self.src(arg(0)?, rows * cols * w)?;
                let (op, d_words) = if g == G::Determinant {
                    (ExtOp::Determinant, w)
                } else {
                    (ExtOp::MatrixInverse, rows * cols * w)
                };
                let d = self.dst(rid, d_words)?;
                let _ = rt;
                self.emit(Inst::Ext {
                    op,
                    wide: bits == 64,
                    d,
                    a,
                    b: 0,
                    c: 0,
                    n: rows as u16,
                });
                Ok(())
            }
            G::IMix
            | G::InterpolateAtCentroid
            | G::InterpolateAtSample
            | G::InterpolateAtOffset => Err(DecodeError::GlslInstruction(format!("{g:?}"))),
        }
    }

    /// Packing: `lanes_in` f32 lanes into `lanes_out` words, or back.
    fn pack(&mut self, rid: u32, op: ExtOp, a: u32, lanes_in: u32, lanes_out: u32) -> Result<()> {
        let (s, n) = self.value_shape(a)?;
        if n != lanes_in || s.words() != 1 {
            return Err(invalid(format!("{op:?} operand shape")));
        }
        let a = self.src(a, lanes_in)?;
        let d = self.dst(rid, lanes_out)?;
        self.emit(Inst::Ext {
            op,
            wide: false,
            d,
            a,
            b: 0,
            c: 0,
            n: lanes_in as u16,
        });
        Ok(())
    }

    /// Stores `words` from temporary `t` through pointer `ptr` (Frexp/Modf
    /// output operands).
    fn store_to_pointer(&mut self, ptr: u32, t: u32, words: u32) -> Result<()> {
        let info = self.ptr_info(ptr)?;
        if self.words_of_type(info.pointee)? != words {
            return Err(invalid("output operand of the wrong type"));
        }
        match info.konst {
            Some(p)
                if p.space == crate::ir::space::LOCAL
                    && p.addr + u64::from(words) <= self.code.init.len() as u64 =>
            {
                self.emit(Inst::Copy {
                    d: p.addr as u32,
                    s: t,
                    n: words,
                });
            }
            _ => {
                let p = self.src(ptr, PTR_WORDS)?;
                let shape = self.shape_of(&info)?;
                self.emit(Inst::StorePtr {
                    ptr: p,
                    s: t,
                    shape,
                });
            }
        }
        Ok(())
    }
}
