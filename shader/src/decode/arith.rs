//! Lowering of component-wise arithmetic, comparisons, logic, bit
//! operations, conversions, selects, composites and matrix products.
//!
//! 8- and 16-bit integers run as 32-bit lanes: operands of sign-sensitive
//! operations are sign-extended into temporaries first and results are
//! masked back to their width.

use super::types::Type;
use super::{invalid, Decoder, Result, Scalar};
use crate::error::DecodeError;
use crate::ir::{ExtOp, FBin, FCmp, FTern, FUn, IBin, ICmp, ITern, IUn, Inst, MatOp, Num, Slot};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IntKind {
    Bin(IBin),
    Cmp(ICmp),
    Un(IUn),
    Tern(ITern),
}

impl IntKind {
    fn sign_sensitive(self) -> bool {
        match self {
            IntKind::Bin(op) => matches!(
                op,
                IBin::SDiv | IBin::SRem | IBin::SMod | IBin::ShrA | IBin::SMin | IBin::SMax
            ),
            IntKind::Cmp(op) => matches!(op, ICmp::SLt | ICmp::SLe | ICmp::SGt | ICmp::SGe),
            IntKind::Un(op) => matches!(op, IUn::SAbs | IUn::SSign | IUn::FindSMsb),
            IntKind::Tern(op) => matches!(op, ITern::SClamp | ITern::BfSExtract),
        }
    }
    /// Bit-field extracts take scalar offset and count operands.
    fn scalar_tail(self) -> bool {
        matches!(self, IntKind::Tern(ITern::BfSExtract | ITern::BfUExtract))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FloatKind {
    Bin(FBin),
    Cmp(FCmp),
    Un(FUn),
    Tern(FTern),
}

fn lanes16(n: u32) -> Result<u16> {
    u16::try_from(n).map_err(|_| invalid("vector too long"))
}

impl Decoder<'_> {
    /// (bits, lanes) of an integer or boolean scalar/vector value.
    pub(super) fn int_lanes(&self, id: u32) -> Result<(u32, u32)> {
        match self.value_shape(id)? {
            (Scalar::Int { bits, .. }, n) => Ok((bits, n)),
            (Scalar::Bool, n) => Ok((32, n)),
            _ => Err(invalid(format!("id {id} is not an integer or boolean"))),
        }
    }

    fn float_lanes(&self, id: u32) -> Result<(bool, u32)> {
        match self.value_shape(id)? {
            (Scalar::Float { bits }, n) => Ok((bits == 64, n)),
            _ => Err(invalid(format!("id {id} is not a float"))),
        }
    }

    /// An integer operand brought to `bits`-wide lanes (shift amounts may
    /// have another width than the shifted value).
    fn int_operand(&mut self, id: u32, bits: u32, n: u32) -> Result<Slot> {
        let (b, sn) = self.int_lanes(id)?;
        if sn != n {
            return Err(invalid(format!(
                "id {id} has {sn} lanes where {n} are needed"
            )));
        }
        let slot = self.src(id, n * words_for(b))?;
        if words_for(b) == words_for(bits) {
            return Ok(slot);
        }
        let t = self.alloc(n * words_for(bits))?;
        let (from, to) = (
            num_of(Scalar::Int {
                bits: b,
                signed: false,
            })?,
            num_of(Scalar::Int {
                bits,
                signed: false,
            })?,
        );
        self.emit(Inst::Convert {
            from,
            to,
            d: t,
            a: slot,
            n: lanes16(n)?,
        });
        Ok(t)
    }

    pub(super) fn int_op(&mut self, rid: u32, kind: IntKind, srcs: &[u32]) -> Result<()> {
        let (bits, n) = self.int_lanes(srcs[0])?;
        let w = words_for(bits);
        let cmp = matches!(kind, IntKind::Cmp(_));
        let d = self.dst(rid, if cmp { n } else { n * w })?;
        let narrow = bits < 32;
        let mut slots = [0 as Slot; 3];
        for (i, &id) in srcs.iter().enumerate().take(3) {
            if i > 0 && kind.scalar_tail() {
                let (b, _) = self.int_lanes(id)?;
                slots[i] = self.src(id, words_for(b))?;
                continue;
            }
            let mut s = self.int_operand(id, bits, n)?;
            if narrow && kind.sign_sensitive() {
                let t = self.alloc(n)?;
                self.emit(Inst::Narrow {
                    signed: true,
                    bits: bits as u8,
                    d: t,
                    a: s,
                    n: lanes16(n)?,
                });
                s = t;
            }
            slots[i] = s;
        }
        let [a, b, c] = slots;
        let n16 = lanes16(n)?;
        let wide = bits == 64;
        self.emit(match (kind, wide) {
            (IntKind::Bin(op), false) => Inst::I32 {
                op,
                d,
                a,
                b,
                n: n16,
            },
            (IntKind::Bin(op), true) => Inst::I64 {
                op,
                d,
                a,
                b,
                n: n16,
            },
            (IntKind::Cmp(op), false) => Inst::I32Cmp {
                op,
                d,
                a,
                b,
                n: n16,
            },
            (IntKind::Cmp(op), true) => Inst::I64Cmp {
                op,
                d,
                a,
                b,
                n: n16,
            },
            (IntKind::Un(op), false) => Inst::I32Un { op, d, a, n: n16 },
            (IntKind::Un(op), true) => Inst::I64Un { op, d, a, n: n16 },
            (IntKind::Tern(op), false) => Inst::I32Tern {
                op,
                d,
                a,
                b,
                c,
                n: n16,
            },
            (IntKind::Tern(op), true) => Inst::I64Tern {
                op,
                d,
                a,
                b,
                c,
                n: n16,
            },
        });
        if narrow && !cmp {
            if kind == IntKind::Un(IUn::BitReverse) {
                let shift = self.constant(&[32 - bits])?;
                let shifts = self.splat(shift, n)?;
                self.emit(Inst::I32 {
                    op: IBin::ShrL,
                    d,
                    a: d,
                    b: shifts,
                    n: n16,
                });
            }
            self.emit(Inst::Narrow {
                signed: false,
                bits: bits as u8,
                d,
                a: d,
                n: n16,
            });
        }
        Ok(())
    }

    /// A constant word repeated over n lanes.
    fn splat(&mut self, slot: Slot, n: u32) -> Result<Slot> {
        if n == 1 {
            return Ok(slot);
        }
        let v = self.code.init[slot as usize];
        self.constant(&vec![v; n as usize])
    }

    pub(super) fn float_op(&mut self, rid: u32, kind: FloatKind, srcs: &[u32]) -> Result<()> {
        let (wide, n) = self.float_lanes(srcs[0])?;
        let w = if wide { 2 } else { 1 };
        let cmp = matches!(kind, FloatKind::Cmp(_));
        let d = self.dst(rid, if cmp { n } else { n * w })?;
        let mut slots = [0 as Slot; 3];
        for (i, &id) in srcs.iter().enumerate().take(3) {
            let (sw, sn) = self.float_lanes(id)?;
            if sw != wide || sn != n {
                return Err(invalid(format!(
                    "float operand {id} does not match the operation's type"
                )));
            }
            slots[i] = self.src(id, n * w)?;
        }
        let [a, b, c] = slots;
        let n = lanes16(n)?;
        if kind == FloatKind::Un(FUn::QuantizeF16) && wide {
            return Err(invalid("OpQuantizeToF16 on f64"));
        }
        self.emit(match (kind, wide) {
            (FloatKind::Bin(op), false) => Inst::F32 { op, d, a, b, n },
            (FloatKind::Bin(op), true) => Inst::F64 { op, d, a, b, n },
            (FloatKind::Cmp(op), false) => Inst::F32Cmp { op, d, a, b, n },
            (FloatKind::Cmp(op), true) => Inst::F64Cmp { op, d, a, b, n },
            (FloatKind::Un(op), false) => Inst::F32Un { op, d, a, n },
            (FloatKind::Un(op), true) => Inst::F64Un { op, d, a, n },
            (FloatKind::Tern(op), false) => Inst::F32Tern { op, d, a, b, c, n },
            (FloatKind::Tern(op), true) => Inst::F64Tern { op, d, a, b, c, n },
        });
        Ok(())
    }

    /// Ext operations whose lanes follow operand `a` (IsNan, Any, Dot, ...).
    pub(super) fn ext_op(
        &mut self,
        rid: u32,
        op: ExtOp,
        a: u32,
        b: Option<u32>,
        c: Option<Slot>,
    ) -> Result<()> {
        let (scalar, n) = self.value_shape(a)?;
        let wide = scalar.words() == 2;
        let a_slot = self.src(a, n * scalar.words())?;
        let b_slot = match b {
            Some(b) => {
                let (bs, bn) = self.value_shape(b)?;
                self.src(b, bn * bs.words())?
            }
            None => 0,
        };
        let (_, d_words) = self.slot_and_size(rid)?;
        let need = match op {
            ExtOp::IsNan | ExtOp::IsInf => n,
            ExtOp::Any | ExtOp::All => 1,
            ExtOp::Dot | ExtOp::Length | ExtOp::Distance => scalar.words(),
            ExtOp::AddCarry | ExtOp::SubBorrow | ExtOp::UMulExtended | ExtOp::SMulExtended => {
                2 * n * scalar.words()
            }
            _ => n * scalar.words(),
        };
        let d = self.dst(rid, need)?;
        if d_words < need {
            return Err(invalid("result too small"));
        }
        if matches!(
            op,
            ExtOp::AddCarry | ExtOp::SubBorrow | ExtOp::UMulExtended | ExtOp::SMulExtended
        ) && scalar.bits() < 32
        {
            return Err(DecodeError::Type(
                "carry and extended multiplies on 8/16-bit integers".into(),
            ));
        }
        self.emit(Inst::Ext {
            op,
            wide,
            d,
            a: a_slot,
            b: b_slot,
            c: c.unwrap_or(0),
            n: lanes16(n)?,
        });
        Ok(())
    }

    pub(super) fn bitfield_insert(
        &mut self,
        rid: u32,
        base: u32,
        insert: u32,
        offset: u32,
        count: u32,
    ) -> Result<()> {
        let (bits, n) = self.int_lanes(base)?;
        let w = words_for(bits);
        let d = self.dst(rid, n * w)?;
        let a = self.src(base, n * w)?;
        let b = self.src(insert, n * w)?;
        let off = self.src(offset, 1)?;
        let cnt = self.src(count, 1)?;
        let pair = self.alloc(2)?;
        self.push_gather(pair, &[off, cnt]);
        self.emit(Inst::Ext {
            op: ExtOp::BfInsert,
            wide: bits == 64,
            d,
            a,
            b,
            c: pair,
            n: lanes16(n)?,
        });
        if bits < 32 {
            self.emit(Inst::Narrow {
                signed: false,
                bits: bits as u8,
                d,
                a: d,
                n: lanes16(n)?,
            });
        }
        Ok(())
    }

    pub(super) fn convert(&mut self, op: spirv::Op, rid: u32, rt: u32, a: u32) -> Result<()> {
        use spirv::Op as O;
        let (fs, n) = self.value_shape(a)?;
        let (ts, tn) = self.scalar_shape(rt)?;
        if n != tn {
            return Err(invalid("conversion between vectors of different lengths"));
        }
        let with_sign = |s: Scalar, signed: bool| match s {
            Scalar::Int { bits, .. } => Ok(Scalar::Int { bits, signed }),
            _ => Err(invalid(format!("Op{op:?} on a non-integer"))),
        };
        let (from, to) = match op {
            O::ConvertFToU => (fs, with_sign(ts, false)?),
            O::ConvertFToS => (fs, with_sign(ts, true)?),
            O::ConvertSToF => (with_sign(fs, true)?, ts),
            O::ConvertUToF => (with_sign(fs, false)?, ts),
            O::UConvert => (with_sign(fs, false)?, with_sign(ts, false)?),
            O::SConvert => (with_sign(fs, true)?, with_sign(ts, true)?),
            O::FConvert => (fs, ts),
            _ => return Err(DecodeError::Opcode(super::op_name(op))),
        };
        let float = |s: Scalar| matches!(s, Scalar::Float { .. });
        let ok = match op {
            O::ConvertFToU | O::ConvertFToS => float(from),
            O::ConvertSToF | O::ConvertUToF | O::FConvert => float(to),
            _ => true,
        };
        if !ok || (op == O::FConvert && !float(from)) {
            return Err(invalid(format!("Op{op:?} with mismatched operand types")));
        }
        let d = self.dst(rid, n * to.words())?;
        let s = self.src(a, n * from.words())?;
        self.emit(Inst::Convert {
            from: num_of(from)?,
            to: num_of(to)?,
            d,
            a: s,
            n: lanes16(n)?,
        });
        Ok(())
    }

    pub(super) fn bitcast(&mut self, rid: u32, rt: u32, a: u32) -> Result<()> {
        let from_ty = self.type_of(a)?;
        let from_ptr = matches!(self.type_info(from_ty)?.ty, Type::Pointer { .. });
        let to_ptr = matches!(self.type_info(rt)?.ty, Type::Pointer { .. });
        match (from_ptr, to_ptr) {
            (true, true) => return self.copy_value(rid, a),
            (true, false) => {
                let d = self.dst(rid, 2)?;
                let s = self.src(a, crate::ir::PTR_WORDS)?;
                self.emit(Inst::PtrToU64 { d, a: s });
                return Ok(());
            }
            (false, true) => {
                let d = self.dst(rid, crate::ir::PTR_WORDS)?;
                let s = self.src(a, 2)?;
                self.emit(Inst::PtrFromU64 { d, a: s });
                return Ok(());
            }
            (false, false) => {}
        }
        let (fs, fnn) = self.value_shape(a)?;
        let (ts, tn) = self.scalar_shape(rt)?;
        if fs.bits() * fnn != ts.bits() * tn {
            return Err(invalid("OpBitcast between types of different sizes"));
        }
        if fs.bits() >= 32 && ts.bits() >= 32 {
            return self.copy_value(rid, a);
        }
        let d = self.dst(rid, tn * ts.words())?;
        let s = self.src(a, fnn * fs.words())?;
        self.emit(Inst::Repack {
            from_bits: fs.bits() as u8,
            to_bits: ts.bits() as u8,
            d,
            a: s,
            n_in: lanes16(fnn)?,
        });
        Ok(())
    }

    /// OpCopyObject / OpCopyLogical and same-layout bitcasts.
    pub(super) fn copy_value(&mut self, rid: u32, a: u32) -> Result<()> {
        let (_, n) = self.slot_and_size(rid)?;
        let d = self.dst(rid, n)?;
        let s = self.src(a, n)?;
        if n > 0 {
            self.emit(Inst::Copy { d, s, n });
        }
        if let Some(Some(p)) = self.ptrs.get(a as usize).copied() {
            self.ptrs[rid as usize] = Some(p);
        }
        Ok(())
    }

    pub(super) fn select(&mut self, rid: u32, c: u32, a: u32, b: u32) -> Result<()> {
        let (_, words) = self.slot_and_size(rid)?;
        let (cs, cn) = self.value_shape(c)?;
        if cs != Scalar::Bool {
            return Err(invalid("OpSelect condition is not boolean"));
        }
        let d = self.dst(rid, words)?;
        let (a_slot, b_slot, c_slot) = (self.src(a, words)?, self.src(b, words)?, self.src(c, cn)?);
        let lane_words = if cn == 1 {
            0
        } else if words % cn == 0 && words / cn <= 2 {
            (words / cn) as u8
        } else {
            return Err(invalid(
                "OpSelect vector condition does not match the object",
            ));
        };
        self.emit(Inst::Select {
            d,
            c: c_slot,
            a: a_slot,
            b: b_slot,
            n: words,
            lane_words,
        });
        if let Ok(mut p) = self.ptr_info(a) {
            if self.ptrs[rid as usize].is_some() {
                p.konst = None;
                self.ptrs[rid as usize] = Some(p);
            }
        }
        Ok(())
    }

    pub(super) fn composite_construct(&mut self, rid: u32, parts: &[u32]) -> Result<()> {
        let (_, words) = self.slot_and_size(rid)?;
        let d = self.dst(rid, words)?;
        let mut srcs = Vec::with_capacity(words as usize);
        for &p in parts {
            let (s, n) = self.slot_and_size(p)?;
            srcs.extend(s..s + n);
        }
        if srcs.len() != words as usize {
            return Err(invalid(format!(
                "OpCompositeConstruct {rid} does not fill its type"
            )));
        }
        self.push_gather(d, &srcs);
        Ok(())
    }

    pub(super) fn composite_extract(
        &mut self,
        rid: u32,
        rt: u32,
        comp: u32,
        path: &[u32],
    ) -> Result<()> {
        let (ty, off) = self.composite_path(self.type_of(comp)?, path)?;
        let words = self.words_of_type(ty)?;
        if words != self.words_of_type(rt)? {
            return Err(invalid("OpCompositeExtract result type mismatch"));
        }
        let (s, total) = self.slot_and_size(comp)?;
        if off + words > total {
            return Err(invalid("OpCompositeExtract out of the composite"));
        }
        let d = self.dst(rid, words)?;
        if words > 0 {
            self.emit(Inst::Copy {
                d,
                s: s + off,
                n: words,
            });
        }
        Ok(())
    }

    pub(super) fn composite_insert(
        &mut self,
        rid: u32,
        obj: u32,
        comp: u32,
        path: &[u32],
    ) -> Result<()> {
        let (ty, off) = self.composite_path(self.type_of(comp)?, path)?;
        let words = self.words_of_type(ty)?;
        let (_, total) = self.slot_and_size(rid)?;
        let d = self.dst(rid, total)?;
        let s = self.src(comp, total)?;
        let o = self.src(obj, words)?;
        if off + words > total {
            return Err(invalid("OpCompositeInsert out of the composite"));
        }
        self.emit(Inst::Copy { d, s, n: total });
        if words > 0 {
            self.emit(Inst::Copy {
                d: d + off,
                s: o,
                n: words,
            });
        }
        Ok(())
    }

    pub(super) fn vector_shuffle(
        &mut self,
        rid: u32,
        v1: u32,
        v2: u32,
        comps: &[u32],
    ) -> Result<()> {
        let (s1, n1) = self.value_shape(v1)?;
        let (_, n2) = self.value_shape(v2)?;
        let cw = s1.words();
        let a = self.src(v1, n1 * cw)?;
        let b = self.src(v2, n2 * cw)?;
        let d = self.dst(rid, comps.len() as u32 * cw)?;
        let mut srcs = Vec::new();
        for &c in comps {
            // 0xFFFFFFFF is an undefined lane; any value does.
            let base = if c == u32::MAX || c < n1 {
                a + c.min(n1 - 1) * cw
            } else if c - n1 < n2 {
                b + (c - n1) * cw
            } else {
                return Err(invalid(format!(
                    "OpVectorShuffle component {c} out of range"
                )));
            };
            srcs.extend(base..base + cw);
        }
        self.push_gather(d, &srcs);
        Ok(())
    }

    pub(super) fn vector_dynamic(
        &mut self,
        rid: u32,
        v: u32,
        val: Option<u32>,
        idx: u32,
    ) -> Result<()> {
        let (s, n) = self.value_shape(v)?;
        let cw = s.words();
        let (is, _) = self.value_shape(idx)?;
        let idx_slot = self.src(idx, is.words())?;
        let vs = self.src(v, n * cw)?;
        let count = lanes16(n)?;
        match val {
            None => {
                let d = self.dst(rid, cw)?;
                self.emit(Inst::ExtractDyn {
                    d,
                    v: vs,
                    idx: idx_slot,
                    idx64: is.words() == 2,
                    lane_words: cw as u8,
                    count,
                });
            }
            Some(val) => {
                let d = self.dst(rid, n * cw)?;
                let val = self.src(val, cw)?;
                if is.words() == 2 {
                    return Err(DecodeError::Type(
                        "64-bit OpVectorInsertDynamic index".into(),
                    ));
                }
                self.emit(Inst::InsertDyn {
                    d,
                    v: vs,
                    val,
                    idx: idx_slot,
                    lane_words: cw as u8,
                    count,
                });
            }
        }
        Ok(())
    }

    pub(super) fn matrix_op(
        &mut self,
        op: spirv::Op,
        rid: u32,
        a: u32,
        b: Option<u32>,
    ) -> Result<()> {
        use spirv::Op as O;
        let ta = self.type_of(a)?;
        let (wide, rows, cols, inner, mop) = match op {
            O::VectorTimesScalar => {
                let (s, n) = self.value_shape(a)?;
                (s.words() == 2, n, 1, 0, MatOp::Scale)
            }
            O::MatrixTimesScalar => {
                let (bits, r, c) = self.matrix_shape(ta)?;
                (bits == 64, r, c, 0, MatOp::Scale)
            }
            O::MatrixTimesVector => {
                let (bits, r, c) = self.matrix_shape(ta)?;
                (bits == 64, r, c, 0, MatOp::MatVec)
            }
            O::VectorTimesMatrix => {
                let (bits, r, c) = self.matrix_shape(self.type_of(b.unwrap_or(0))?)?;
                (bits == 64, r, c, 0, MatOp::VecMat)
            }
            O::MatrixTimesMatrix => {
                let (bits, r, k) = self.matrix_shape(ta)?;
                let (_, k2, c) = self.matrix_shape(self.type_of(b.unwrap_or(0))?)?;
                if k != k2 {
                    return Err(invalid("OpMatrixTimesMatrix shapes do not match"));
                }
                (bits == 64, r, c, k, MatOp::MatMat)
            }
            O::OuterProduct => {
                let (s, r) = self.value_shape(a)?;
                let (_, c) = self.value_shape(b.unwrap_or(0))?;
                (s.words() == 2, r, c, 0, MatOp::Outer)
            }
            O::Transpose => {
                let (bits, r, c) = self.matrix_shape(ta)?;
                (bits == 64, r, c, 0, MatOp::Transpose)
            }
            _ => return Err(DecodeError::Opcode(super::op_name(op))),
        };
        let w = if wide { 2 } else { 1 };
        let (a_words, b_words, d_words) = match mop {
            MatOp::Scale => (rows * cols, 1, rows * cols),
            MatOp::MatVec => (rows * cols, cols, rows),
            MatOp::VecMat => (rows, rows * cols, cols),
            MatOp::MatMat => (rows * inner, inner * cols, rows * cols),
            MatOp::Outer => (rows, cols, rows * cols),
            MatOp::Transpose => (rows * cols, 0, rows * cols),
        };
        let d = self.dst(rid, d_words * w)?;
        let a_slot = self.src(a, a_words * w)?;
        let b_slot = match b {
            Some(b) => self.src(b, b_words * w)?,
            None => 0,
        };
        let small = |v: u32| u8::try_from(v).map_err(|_| invalid("matrix too large"));
        self.emit(Inst::Mat {
            op: mop,
            wide,
            d,
            a: a_slot,
            b: b_slot,
            rows: small(rows)?,
            cols: small(cols)?,
            inner: small(inner)?,
        });
        Ok(())
    }
}

pub(super) fn words_for(bits: u32) -> u32 {
    if bits == 64 {
        2
    } else {
        1
    }
}

pub(super) fn num_of(s: Scalar) -> Result<Num> {
    Ok(match s {
        Scalar::Int {
            bits: 8,
            signed: false,
        } => Num::U8,
        Scalar::Int {
            bits: 16,
            signed: false,
        } => Num::U16,
        Scalar::Int {
            bits: 32,
            signed: false,
        } => Num::U32,
        Scalar::Int {
            bits: 64,
            signed: false,
        } => Num::U64,
        Scalar::Int {
            bits: 8,
            signed: true,
        } => Num::S8,
        Scalar::Int {
            bits: 16,
            signed: true,
        } => Num::S16,
        Scalar::Int {
            bits: 32,
            signed: true,
        } => Num::S32,
        Scalar::Int {
            bits: 64,
            signed: true,
        } => Num::S64,
        Scalar::Float { bits: 32 } => Num::F32,
        Scalar::Float { bits: 64 } => Num::F64,
        other => return Err(invalid(format!("no conversion for {other:?}"))),
    })
}
