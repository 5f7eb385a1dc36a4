//! Lowering of memory instructions: loads and stores (register moves when
//! the pointer is a known Function/Private variable, shaped accesses
//! otherwise), descriptor loads, access chains, OpCopyMemory,
//! OpArrayLength and atomics.

use super::layout::LayoutKind;
use super::types::Type;
use super::{id_at, invalid, Decoder, Result, Scalar};
use crate::error::DecodeError;
use crate::ir::{space, AtomicKind, DescKind, ImageDim, Inst, Slot, PTR_WORDS};
use rspirv::dr::Operand;
use spirv::Op;

impl Decoder<'_> {
    /// The register address of a pointer known to name register storage.
    fn static_local(&self, ptr: u32, words: u32) -> Option<Slot> {
        let info = self.ptrs.get(ptr as usize).copied().flatten()?;
        let p = info.konst?;
        if p.space != space::LOCAL || p.addr + u64::from(words) > self.code.init.len() as u64 {
            return None;
        }
        Some(p.addr as Slot)
    }

    pub(super) fn load(&mut self, rid: u32, ptr: u32) -> Result<()> {
        let info = self.ptr_info(ptr)?;
        let p = self.src(ptr, PTR_WORDS)?;
        if info.kind == LayoutKind::Descriptor {
            let kind = match self.type_info(info.pointee)?.ty {
                Type::Image(_) => DescKind::Image,
                Type::Sampler => DescKind::Sampler,
                Type::SampledImage { .. } => DescKind::Combined {
                    texel_buffer: self.image_type_of(info.pointee)?.dim == ImageDim::Buffer,
                },
                _ => {
                    return Err(DecodeError::Type(
                        "OpLoad of a whole descriptor array".into(),
                    ))
                }
            };
            let words = self.words_of_type(info.pointee)?;
            let d = self.dst(rid, words)?;
            self.emit(Inst::LoadDesc { kind, d, ptr: p });
            return Ok(());
        }
        let words = self.words_of_type(info.pointee)?;
        let d = self.dst(rid, words)?;
        if let Some(s) = self.static_local(ptr, words) {
            if words > 0 {
                self.emit(Inst::Copy { d, s, n: words });
            }
        } else {
            let shape = self.shape_of(&info)?;
            self.emit(Inst::LoadPtr { d, ptr: p, shape });
        }
        if let Type::Pointer { .. } = self.type_info(info.pointee)?.ty {
            self.ptrs[rid as usize] = Some(self.ptr_info_of_type(info.pointee)?);
        }
        Ok(())
    }

    pub(super) fn store(&mut self, ptr: u32, value: u32) -> Result<()> {
        let info = self.ptr_info(ptr)?;
        if info.kind == LayoutKind::Descriptor {
            return Err(DecodeError::StorageClass(
                "OpStore to UniformConstant".into(),
            ));
        }
        let words = self.words_of_type(info.pointee)?;
        let s = self.src(value, words)?;
        if let Some(d) = self.static_local(ptr, words) {
            if words > 0 {
                self.emit(Inst::Copy { d, s, n: words });
            }
        } else {
            let p = self.src(ptr, PTR_WORDS)?;
            let shape = self.shape_of(&info)?;
            self.emit(Inst::StorePtr { ptr: p, s, shape });
        }
        Ok(())
    }

    pub(super) fn copy_memory(&mut self, target: u32, source: u32) -> Result<()> {
        let src_info = self.ptr_info(source)?;
        let words = self.words_of_type(src_info.pointee)?;
        if words != self.words_of_type(self.ptr_info(target)?.pointee)? {
            return Err(invalid("OpCopyMemory between pointees of different sizes"));
        }
        // Through a temporary value, as an OpLoad + OpStore pair.
        let t = self.alloc(words)?;
        let p = self.src(source, PTR_WORDS)?;
        if let Some(s) = self.static_local(source, words) {
            self.emit(Inst::Copy { d: t, s, n: words });
        } else {
            let shape = self.shape_of(&src_info)?;
            self.emit(Inst::LoadPtr {
                d: t,
                ptr: p,
                shape,
            });
        }
        let dst_info = self.ptr_info(target)?;
        if let Some(d) = self.static_local(target, words) {
            self.emit(Inst::Copy { d, s: t, n: words });
        } else {
            let p = self.src(target, PTR_WORDS)?;
            let shape = self.shape_of(&dst_info)?;
            self.emit(Inst::StorePtr {
                ptr: p,
                s: t,
                shape,
            });
        }
        Ok(())
    }

    pub(super) fn access_chain(
        &mut self,
        rid: u32,
        base: u32,
        element: Option<u32>,
        indices: &[u32],
    ) -> Result<()> {
        let info = self.ptr_info(base)?;
        let element = match element {
            Some(e) => Some((e, self.type_of(base)?)),
            None => None,
        };
        let (steps, result) = self.chain_steps(&info, element, indices)?;
        let d = self.dst(rid, PTR_WORDS)?;
        if let Some(k) = result.konst {
            let s = d as usize;
            self.code.init[s..s + PTR_WORDS as usize].copy_from_slice(&k.to_words());
        } else {
            let b = self.src(base, PTR_WORDS)?;
            if steps.is_empty() {
                self.emit(Inst::Copy {
                    d,
                    s: b,
                    n: PTR_WORDS,
                });
            } else {
                let chain = self.code.chains.len() as u32;
                self.code.chains.push(steps);
                self.emit(Inst::Chain { d, base: b, chain });
            }
        }
        self.ptrs[rid as usize] = Some(result);
        Ok(())
    }

    pub(super) fn array_length(&mut self, rid: u32, ptr: u32, member: u32) -> Result<()> {
        let info = self.ptr_info(ptr)?;
        let Type::Struct { members } = self.type_info(info.pointee)?.ty.clone() else {
            return Err(invalid("OpArrayLength of a non-struct"));
        };
        let array_ty = *members
            .get(member as usize)
            .ok_or_else(|| invalid("OpArrayLength member out of range"))?;
        if !matches!(self.type_info(array_ty)?.ty, Type::RuntimeArray { .. })
            || info.kind != LayoutKind::Explicit
        {
            return Err(invalid(
                "OpArrayLength of something other than a buffer's runtime array",
            ));
        }
        let offset = *self.deco.member_offset.get(&(info.pointee, member)).ok_or(
            DecodeError::MissingDecoration {
                id: info.pointee,
                decoration: "Offset (member)",
            },
        )?;
        let stride =
            *self
                .deco
                .array_stride
                .get(&array_ty)
                .ok_or(DecodeError::MissingDecoration {
                    id: array_ty,
                    decoration: "ArrayStride",
                })?;
        let d = self.dst(rid, 1)?;
        let p = self.src(ptr, PTR_WORDS)?;
        self.emit(Inst::ArrayLength {
            d,
            ptr: p,
            offset,
            stride,
        });
        Ok(())
    }

    pub(super) fn atomic(&mut self, op: Op, rid: Option<u32>, ops: &[Operand]) -> Result<()> {
        let ptr = id_at(ops, 0)?;
        let info = self.ptr_info(ptr)?;
        let scalar = self.scalar_of(info.pointee)?;
        let wide = match scalar {
            Scalar::Int { bits: 32, .. } | Scalar::Float { bits: 32 } => false,
            Scalar::Int { bits: 64, .. } | Scalar::Float { bits: 64 } => true,
            other => return Err(DecodeError::Type(format!("atomics on {other:?}"))),
        };
        let w = scalar.words();
        let p = self.src(ptr, PTR_WORDS)?;
        let one = if wide {
            self.constant(&[1, 0])?
        } else {
            self.constant(&[1])?
        };
        // Operand positions: pointer, scope, semantics[, unequal semantics], value[, comparator].
        let (kind, value, comparator) = match op {
            Op::AtomicLoad => (AtomicKind::Load, None, None),
            Op::AtomicStore => (AtomicKind::Store, Some(id_at(ops, 3)?), None),
            Op::AtomicExchange => (AtomicKind::Exchange, Some(id_at(ops, 3)?), None),
            Op::AtomicCompareExchange | Op::AtomicCompareExchangeWeak => (
                AtomicKind::CompareExchange,
                Some(id_at(ops, 4)?),
                Some(id_at(ops, 5)?),
            ),
            Op::AtomicIIncrement => (AtomicKind::Add, None, None),
            Op::AtomicIDecrement => (AtomicKind::Sub, None, None),
            Op::AtomicIAdd => (AtomicKind::Add, Some(id_at(ops, 3)?), None),
            Op::AtomicISub => (AtomicKind::Sub, Some(id_at(ops, 3)?), None),
            Op::AtomicSMin => (AtomicKind::SMin, Some(id_at(ops, 3)?), None),
            Op::AtomicUMin => (AtomicKind::UMin, Some(id_at(ops, 3)?), None),
            Op::AtomicSMax => (AtomicKind::SMax, Some(id_at(ops, 3)?), None),
            Op::AtomicUMax => (AtomicKind::UMax, Some(id_at(ops, 3)?), None),
            Op::AtomicAnd => (AtomicKind::And, Some(id_at(ops, 3)?), None),
            Op::AtomicOr => (AtomicKind::Or, Some(id_at(ops, 3)?), None),
            Op::AtomicXor => (AtomicKind::Xor, Some(id_at(ops, 3)?), None),
            other => return Err(DecodeError::Opcode(super::op_name(other))),
        };
        let v = match value {
            Some(id) => self.src(id, w)?,
            None => one,
        };
        let c = match comparator {
            Some(id) => self.src(id, w)?,
            None => one,
        };
        let d = match rid {
            Some(id) => self.dst(id, w)?,
            None => self.alloc(w)?,
        };
        self.emit(Inst::Atomic {
            op: kind,
            wide,
            d,
            ptr: p,
            v,
            c,
        });
        Ok(())
    }
}
