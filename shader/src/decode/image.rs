//! Lowering of image instructions into [`ImageInst`] records: which handle,
//! coordinates, image operands and result layout each one has. Sparse
//! forms write their residency code before the texel.

use super::{id_at, invalid, Decoder, Result, Scalar};
use crate::error::DecodeError;
use crate::ir::{ImageInst, ImageOp, Inst, Slot, PTR_WORDS};
use rspirv::dr::Operand;
use spirv::{ImageOperands as IO, Op};

/// The optional image operands after the mask.
#[derive(Default)]
struct Operands {
    lod: Option<Slot>,
    grad: Option<(Slot, Slot, u32)>,
    offset: Option<(Slot, u32)>,
    offsets: Option<Slot>,
    sample: Option<Slot>,
    min_lod: Option<Slot>,
}

impl Decoder<'_> {
    pub(super) fn sampled_image(&mut self, rid: u32, image: u32, sampler: u32) -> Result<()> {
        let d = self.dst(rid, 4)?;
        let i = self.src(image, 2)?;
        let s = self.src(sampler, 2)?;
        self.push_gather(d, &[i, i + 1, s, s + 1]);
        Ok(())
    }

    pub(super) fn image_of(&mut self, rid: u32, sampled: u32) -> Result<()> {
        let d = self.dst(rid, 2)?;
        let s = self.src(sampled, 2)?;
        self.emit(Inst::Copy { d, s, n: 2 });
        Ok(())
    }

    fn image_operands(&self, ops: &[Operand], at: usize) -> Result<Operands> {
        let mut out = Operands::default();
        let Some(op) = ops.get(at) else {
            return Ok(out);
        };
        let Operand::ImageOperands(mask) = op else {
            return Err(invalid(format!("expected image operands, found {op:?}")));
        };
        let mut next = at + 1;
        let take = |d: &Self, next: &mut usize| -> Result<(u32, Slot, u32)> {
            let id = id_at(ops, *next)?;
            *next += 1;
            let (s, n) = d.value_shape(id)?;
            Ok((id, d.src(id, n * s.words())?, n))
        };
        if mask.contains(IO::BIAS) {
            return Err(DecodeError::Image("Bias (implicit level of detail)".into()));
        }
        if mask.contains(IO::LOD) {
            out.lod = Some(take(self, &mut next)?.1);
        }
        if mask.contains(IO::GRAD) {
            let (_, dx, n) = take(self, &mut next)?;
            let (_, dy, _) = take(self, &mut next)?;
            out.grad = Some((dx, dy, n));
        }
        if mask.contains(IO::CONST_OFFSET) {
            let (_, s, n) = take(self, &mut next)?;
            out.offset = Some((s, n));
        }
        if mask.contains(IO::OFFSET) {
            let (_, s, n) = take(self, &mut next)?;
            out.offset = Some((s, n));
        }
        if mask.contains(IO::CONST_OFFSETS) {
            let id = id_at(ops, next)?;
            next += 1;
            out.offsets = Some(self.src(id, 8)?);
        }
        if mask.contains(IO::SAMPLE) {
            out.sample = Some(take(self, &mut next)?.1);
        }
        if mask.contains(IO::MIN_LOD) {
            out.min_lod = Some(take(self, &mut next)?.1);
        }
        if mask.contains(IO::OFFSETS) {
            return Err(DecodeError::Image("Offsets image operand".into()));
        }
        // MakeTexelAvailable/Visible carry a scope id; the rest carry
        // nothing and change nothing here.
        Ok(out)
    }

    pub(super) fn image_op(
        &mut self,
        op: Op,
        rid: Option<u32>,
        rt: Option<u32>,
        ops: &[Operand],
    ) -> Result<()> {
        use Op as O;
        let sparse = matches!(
            op,
            O::ImageSparseRead
                | O::ImageSparseFetch
                | O::ImageSparseSampleExplicitLod
                | O::ImageSparseSampleDrefExplicitLod
                | O::ImageSparseGather
                | O::ImageSparseDrefGather
        );
        if sparse {
            self.info.uses_sparse_residency = true;
        }
        let image_id = id_at(ops, 0)?;
        let kind = match op {
            O::ImageRead | O::ImageSparseRead => ImageOp::Read,
            O::ImageWrite => ImageOp::Write,
            O::ImageFetch | O::ImageSparseFetch => ImageOp::Fetch,
            O::ImageSampleExplicitLod
            | O::ImageSampleDrefExplicitLod
            | O::ImageSampleProjExplicitLod
            | O::ImageSampleProjDrefExplicitLod
            | O::ImageSparseSampleExplicitLod
            | O::ImageSparseSampleDrefExplicitLod => ImageOp::Sample,
            O::ImageGather
            | O::ImageDrefGather
            | O::ImageSparseGather
            | O::ImageSparseDrefGather => ImageOp::Gather,
            O::ImageQuerySize | O::ImageQuerySizeLod => ImageOp::QuerySize,
            O::ImageQueryLevels => ImageOp::QueryLevels,
            O::ImageQuerySamples => ImageOp::QuerySamples,
            O::ImageTexelPointer => ImageOp::TexelPointer,
            other => return Err(DecodeError::Opcode(super::op_name(other))),
        };
        let image_ty = if kind == ImageOp::TexelPointer {
            self.ptr_info(image_id)?.pointee
        } else {
            self.type_of(image_id)?
        };
        let it = self.image_type_of(image_ty)?;
        let sampled_handle = matches!(kind, ImageOp::Sample | ImageOp::Gather);
        let image = if kind == ImageOp::TexelPointer {
            self.src(image_id, PTR_WORDS)?
        } else {
            self.src(image_id, if sampled_handle { 4 } else { 2 })?
        };
        let has_dref = matches!(
            op,
            O::ImageSampleDrefExplicitLod
                | O::ImageSampleProjDrefExplicitLod
                | O::ImageSparseSampleDrefExplicitLod
                | O::ImageDrefGather
                | O::ImageSparseDrefGather
        );
        let proj = matches!(
            op,
            O::ImageSampleProjExplicitLod | O::ImageSampleProjDrefExplicitLod
        );
        let mut inst = ImageInst {
            op: kind,
            dim: it.dim,
            arrayed: it.arrayed,
            sparse,
            wide: it.wide,
            d: 0,
            d_lanes: 0,
            image,
            coord: 0,
            coord_lanes: 0,
            proj,
            lod: None,
            grad: None,
            offset: None,
            offsets: None,
            sample: None,
            min_lod: None,
            dref: None,
            component: None,
            texel: None,
            texel_bytes: 4,
        };
        let mut operands_at = 2;
        match kind {
            ImageOp::QuerySize | ImageOp::QueryLevels | ImageOp::QuerySamples => {
                if op == O::ImageQuerySizeLod {
                    inst.lod = Some(self.src(id_at(ops, 1)?, 1)?);
                }
                operands_at = ops.len();
            }
            _ => {
                let coord = id_at(ops, 1)?;
                let (cs, cn) = self.value_shape(coord)?;
                if cs.words() != 1 || cn > 4 {
                    return Err(DecodeError::Image(
                        "coordinates other than 32-bit scalars or vectors".into(),
                    ));
                }
                inst.coord = self.src(coord, cn)?;
                inst.coord_lanes = cn;
            }
        }
        match kind {
            ImageOp::Write => {
                let texel = id_at(ops, 2)?;
                let (ts, tn) = self.value_shape(texel)?;
                let lane_words = if it.wide { 2 } else { 1 };
                if ts.words() != lane_words || tn > 4 {
                    return Err(DecodeError::Image(
                        "texels other than 32-bit (64-bit for 64-bit images) scalars or vectors"
                            .into(),
                    ));
                }
                let words = tn * lane_words;
                inst.texel = Some((self.src(texel, words)?, words));
                operands_at = 3;
            }
            ImageOp::TexelPointer => {
                inst.sample = Some(self.src(id_at(ops, 2)?, 1)?);
                operands_at = ops.len();
            }
            ImageOp::Gather if !has_dref => {
                inst.component = Some(self.src(id_at(ops, 2)?, 1)?);
                operands_at = 3;
            }
            _ if has_dref => {
                inst.dref = Some(self.src(id_at(ops, 2)?, 1)?);
                operands_at = 3;
            }
            _ => {}
        }
        let o = self.image_operands(ops, operands_at)?;
        if kind == ImageOp::Sample && o.lod.is_none() && o.grad.is_none() {
            return Err(DecodeError::Image(
                "explicit-lod sampling without Lod or Grad".into(),
            ));
        }
        inst.lod = inst.lod.or(o.lod);
        inst.grad = o.grad;
        inst.offset = o.offset;
        inst.offsets = o.offsets;
        inst.sample = inst.sample.or(o.sample);
        inst.min_lod = o.min_lod;

        if kind != ImageOp::Write {
            let rid = rid.ok_or_else(|| invalid("image instruction without a result"))?;
            let rt = rt.ok_or_else(|| invalid("image instruction without a result type"))?;
            let words = self.words_of_type(rt)?;
            inst.d = self.dst(rid, words)?;
            inst.d_lanes = if sparse {
                words.saturating_sub(1)
            } else {
                words
            };
            match kind {
                ImageOp::TexelPointer => {
                    let pointee = self.ptr_info_of_type(rt)?.pointee;
                    inst.texel_bytes = match self.scalar_of(pointee)? {
                        Scalar::Int { bits: 64, .. } | Scalar::Float { bits: 64 } => 8,
                        _ => 4,
                    };
                    inst.d_lanes = 0;
                }
                ImageOp::QuerySize | ImageOp::QueryLevels | ImageOp::QuerySamples => {
                    if inst.d_lanes > 4 {
                        return Err(invalid("image query result too large"));
                    }
                }
                _ => {
                    let max = if it.wide { 8 } else { 4 };
                    let odd = it.wide && inst.d_lanes % 2 != 0;
                    if inst.d_lanes == 0 || inst.d_lanes > max || odd || (sparse && words < 2) {
                        return Err(DecodeError::Image(
                            "texel results other than 1 to 4 lanes of 32 bits (64 for 64-bit \
                             images)"
                                .into(),
                        ));
                    }
                }
            }
        }
        let idx = self.code.images.len() as u32;
        self.code.images.push(inst);
        self.emit(Inst::Image(idx));
        Ok(())
    }
}
