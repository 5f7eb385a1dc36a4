//! Where a pointer's pointee lives and how it is laid out: access-chain
//! steps and load/store shapes, computed once from the pointer's storage
//! class, its type and the decorations on the path that led to it.
//!
//! Internal spaces (Function, Private, Input, Workgroup) use the register
//! layout: one word per ≤32-bit scalar, words counted by `TypeInfo::words`.
//! Explicit spaces (StorageBuffer, Uniform, PushConstant,
//! PhysicalStorageBuffer) use byte offsets from Offset, ArrayStride,
//! MatrixStride and RowMajor. Descriptor spaces (UniformConstant, and the
//! outer arrays of buffer-block arrays) count one per descriptor.

use super::types::Type;
use super::{invalid, Decoder, Result};
use crate::error::DecodeError;
use crate::ir::{space, Leaf, LeafKind, Ptr, Run, Shape, Step, MAX_RUN_BYTES};
use spirv::StorageClass;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum LayoutKind {
    Internal,
    Explicit,
    Descriptor,
    /// An array of buffer blocks: indexes pick descriptors until the block.
    DescriptorBuffer,
}

/// Layout facts that come from the path, not the pointee type: the
/// MatrixStride/RowMajor of the member holding a matrix, and the element
/// stride of a vector taken out of a row-major matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub(super) struct LayoutCtx {
    pub matrix_stride: u32,
    pub row_major: bool,
    pub vec_stride: u32,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct PtrInfo {
    pub class: StorageClass,
    pub kind: LayoutKind,
    pub pointee: u32,
    pub ctx: LayoutCtx,
    /// The pointer's value when it is known at decode time.
    pub konst: Option<Ptr>,
}

impl Decoder<'_> {
    pub(super) fn layout_kind(&self, class: StorageClass, pointee: u32) -> Result<LayoutKind> {
        use StorageClass as S;
        Ok(match class {
            S::Function | S::Private | S::Input | S::Workgroup => LayoutKind::Internal,
            S::StorageBuffer | S::Uniform => {
                let mut ty = pointee;
                let mut arrayed = false;
                loop {
                    match self
                        .types
                        .get(ty as usize)
                        .and_then(|t| t.as_ref())
                        .map(|t| &t.ty)
                    {
                        Some(Type::Array { elem, .. }) | Some(Type::RuntimeArray { elem }) => {
                            ty = *elem;
                            arrayed = true;
                        }
                        Some(Type::Struct { .. }) if arrayed => {
                            return Ok(LayoutKind::DescriptorBuffer)
                        }
                        _ => return Ok(LayoutKind::Explicit),
                    }
                }
            }
            S::PushConstant | S::PhysicalStorageBuffer | S::Image => LayoutKind::Explicit,
            S::UniformConstant => LayoutKind::Descriptor,
            other => return Err(DecodeError::StorageClass(format!("{other:?}"))),
        })
    }

    /// What a value of pointer type `ty` is known to point at, from the
    /// type alone.
    pub(super) fn ptr_info_of_type(&self, ty: u32) -> Result<PtrInfo> {
        match self.type_info(ty)?.ty {
            Type::Pointer { class, pointee } => Ok(PtrInfo {
                class,
                kind: self.layout_kind(class, pointee)?,
                pointee,
                ctx: LayoutCtx::default(),
                konst: None,
            }),
            _ => Err(invalid(format!("type {ty} is not a pointer"))),
        }
    }

    pub(super) fn ptr_info(&self, id: u32) -> Result<PtrInfo> {
        if let Some(Some(p)) = self.ptrs.get(id as usize) {
            return Ok(*p);
        }
        self.ptr_info_of_type(self.type_of(id)?)
    }

    /// Bytes of a scalar in explicit layout.
    fn explicit_scalar(&self, ty: u32) -> Result<Option<(u8, LeafKind)>> {
        Ok(match self.type_info(ty)?.ty {
            Type::Bool => Some((4, LeafKind::Bool)),
            Type::Int { bits, .. } | Type::Float { bits } => {
                Some(((bits / 8) as u8, LeafKind::Plain))
            }
            Type::Pointer {
                class: StorageClass::PhysicalStorageBuffer,
                ..
            } => Some((8, LeafKind::Pointer)),
            _ => None,
        })
    }

    fn array_stride(&self, array_ty: u32) -> Result<u32> {
        self.deco
            .array_stride
            .get(&array_ty)
            .copied()
            .ok_or(DecodeError::MissingDecoration {
                id: array_ty,
                decoration: "ArrayStride",
            })
    }

    fn member_ctx(&self, st: u32, member: u32) -> LayoutCtx {
        LayoutCtx {
            matrix_stride: self
                .deco
                .member_matrix_stride
                .get(&(st, member))
                .copied()
                .unwrap_or(0),
            row_major: self.deco.member_row_major.contains(&(st, member)),
            vec_stride: 0,
        }
    }

    fn member_offset(&self, st: u32, member: u32) -> Result<u32> {
        self.deco
            .member_offset
            .get(&(st, member))
            .copied()
            .ok_or(DecodeError::MissingDecoration {
                id: st,
                decoration: "Offset (member)",
            })
    }

    /// Descriptors in one element of a descriptor array type.
    fn descriptor_count(&self, ty: u32) -> Result<u32> {
        Ok(match self.type_info(ty)?.ty {
            Type::Array { elem, len } => self
                .descriptor_count(elem)?
                .checked_mul(len)
                .ok_or_else(|| DecodeError::TooLarge("descriptor array".into()))?,
            _ => 1,
        })
    }

    /// Access-chain steps from `base` through `indices`. `element` is the
    /// PtrAccessChain element operand and the base pointer's type.
    pub(super) fn chain_steps(
        &mut self,
        base: &PtrInfo,
        element: Option<(u32, u32)>,
        indices: &[u32],
    ) -> Result<(Vec<Step>, PtrInfo)> {
        let mut steps = Vec::new();
        let mut info = *base;
        if let Some((elem_id, base_ty)) = element {
            let stride = match info.kind {
                LayoutKind::Internal => self.words_of_type(info.pointee)?,
                LayoutKind::Explicit => self.array_stride(base_ty)?,
                _ => return Err(DecodeError::Opcode("PtrAccessChain on descriptors".into())),
            };
            self.push_index(&mut steps, elem_id, stride, 0)?;
        }
        for &idx in indices {
            let ty = info.pointee;
            let ty_info = self.type_info(ty)?.ty.clone();
            match info.kind {
                LayoutKind::DescriptorBuffer | LayoutKind::Descriptor => {
                    let (elem, len) = match ty_info {
                        Type::Array { elem, len } => (elem, len),
                        Type::RuntimeArray { elem } => (elem, 0),
                        _ => return Err(invalid("descriptor access chain into a non-array")),
                    };
                    let stride = self.descriptor_count(elem)?;
                    self.push_index(&mut steps, idx, stride, len)?;
                    info.pointee = elem;
                    if info.kind == LayoutKind::DescriptorBuffer
                        && matches!(self.type_info(elem)?.ty, Type::Struct { .. })
                    {
                        steps.push(Step::Resolve);
                        info.kind = LayoutKind::Explicit;
                        info.konst = None;
                    }
                }
                LayoutKind::Internal => {
                    let (elem, stride, len) = match ty_info {
                        Type::Struct { members } => {
                            let m = self.struct_index(idx, members.len())?;
                            let (elem, off) = self.composite_path(ty, &[m])?;
                            steps.push(Step::Add(u64::from(off)));
                            info.pointee = elem;
                            continue;
                        }
                        Type::Vector { comp, n } => (comp, self.words_of_type(comp)?, n),
                        Type::Matrix { col, cols } => (col, self.words_of_type(col)?, cols),
                        Type::Array { elem, len } => (elem, self.words_of_type(elem)?, len),
                        Type::RuntimeArray { elem } => (elem, self.words_of_type(elem)?, 0),
                        _ => return Err(invalid("access chain into a scalar")),
                    };
                    self.push_index(&mut steps, idx, stride, len)?;
                    info.pointee = elem;
                }
                LayoutKind::Explicit => {
                    let ctx = info.ctx;
                    let (elem, stride, next_ctx) = match ty_info {
                        Type::Struct { members } => {
                            let m = self.struct_index(idx, members.len())?;
                            steps.push(Step::Add(u64::from(self.member_offset(ty, m)?)));
                            info.pointee = members[m as usize];
                            info.ctx = self.member_ctx(ty, m);
                            continue;
                        }
                        Type::Array { elem, .. } | Type::RuntimeArray { elem } => (
                            elem,
                            self.array_stride(ty)?,
                            LayoutCtx {
                                vec_stride: 0,
                                ..ctx
                            },
                        ),
                        Type::Matrix { col, .. } => {
                            if ctx.matrix_stride == 0 {
                                return Err(DecodeError::MissingDecoration {
                                    id: ty,
                                    decoration: "MatrixStride",
                                });
                            }
                            let comp_bytes = self.vector_comp_bytes(col)?;
                            if ctx.row_major {
                                (
                                    col,
                                    comp_bytes,
                                    LayoutCtx {
                                        vec_stride: ctx.matrix_stride,
                                        ..ctx
                                    },
                                )
                            } else {
                                (
                                    col,
                                    ctx.matrix_stride,
                                    LayoutCtx {
                                        vec_stride: 0,
                                        ..ctx
                                    },
                                )
                            }
                        }
                        Type::Vector { comp, .. } => {
                            let stride = if ctx.vec_stride != 0 {
                                ctx.vec_stride
                            } else {
                                self.scalar_bytes(comp)?
                            };
                            (comp, stride, ctx)
                        }
                        _ => return Err(invalid("access chain into a scalar")),
                    };
                    self.push_index(&mut steps, idx, stride, 0)?;
                    info.pointee = elem;
                    info.ctx = next_ctx;
                }
            }
        }
        let steps = merge_steps(steps);
        info.konst = match base.konst {
            Some(p) if steps.iter().all(|s| matches!(s, Step::Add(_) | Step::Null)) => {
                Some(fold(p, &steps))
            }
            _ => None,
        };
        Ok((steps, info))
    }

    fn struct_index(&self, idx: u32, members: usize) -> Result<u32> {
        match self.const_int(idx) {
            Some(m) if m >= 0 && (m as usize) < members => Ok(m as u32),
            _ => Err(invalid(format!(
                "struct member index {idx} is not a constant in range"
            ))),
        }
    }

    fn push_index(&mut self, steps: &mut Vec<Step>, idx: u32, stride: u32, len: u32) -> Result<()> {
        if let Some(c) = self.const_int(idx) {
            if len != 0 && (c < 0 || c >= i64::from(len)) {
                steps.push(Step::Null);
            } else {
                steps.push(Step::Add((c as u64).wrapping_mul(u64::from(stride))));
            }
            return Ok(());
        }
        let (s, n) = self.value_shape(idx)?;
        if n != 1 || !matches!(s, super::Scalar::Int { .. }) {
            return Err(invalid(format!(
                "access chain index {idx} is not an integer scalar"
            )));
        }
        let wide = s.words() == 2;
        let slot = self.src(idx, s.words())?;
        // Narrow indexes are sign-extended first so negative ones stay negative.
        let slot = match s {
            super::Scalar::Int { bits, .. } if bits < 32 => {
                let t = self.alloc(1)?;
                self.emit(crate::ir::Inst::Narrow {
                    signed: true,
                    bits: bits as u8,
                    d: t,
                    a: slot,
                    n: 1,
                });
                t
            }
            _ => slot,
        };
        steps.push(Step::Index {
            slot,
            wide,
            stride,
            len,
        });
        Ok(())
    }

    pub(super) fn scalar_bytes(&self, ty: u32) -> Result<u32> {
        match self.explicit_scalar(ty)? {
            Some((b, _)) => Ok(u32::from(b)),
            None => Err(invalid(format!("type {ty} is not a scalar"))),
        }
    }

    fn vector_comp_bytes(&self, vec: u32) -> Result<u32> {
        match self.type_info(vec)?.ty {
            Type::Vector { comp, .. } => self.scalar_bytes(comp),
            _ => Err(invalid("matrix column is not a vector")),
        }
    }

    /// The shape index for loading or storing through a pointer.
    pub(super) fn shape_of(&mut self, info: &PtrInfo) -> Result<u32> {
        let explicit = info.kind == LayoutKind::Explicit;
        let key = (
            info.pointee,
            if explicit {
                info.ctx
            } else {
                LayoutCtx::default()
            },
            explicit,
        );
        if let Some(&s) = self.shape_cache.get(&key) {
            return Ok(s);
        }
        let words = self.words_of_type(info.pointee)?;
        let mut shape = Shape {
            words,
            ..Shape::default()
        };
        if explicit {
            let mut flat = Vec::new();
            self.leaves(info.pointee, info.ctx, 0, 0, &mut flat)?;
            build_runs(&flat, &mut shape);
        }
        let idx = self.code.shapes.len() as u32;
        self.code.shapes.push(shape);
        self.shape_cache.insert(key, idx);
        Ok(idx)
    }

    /// Flattens a value of `ty` at byte `mem` / register word `reg`.
    fn leaves(
        &self,
        ty: u32,
        ctx: LayoutCtx,
        mem: u64,
        reg: u32,
        out: &mut Vec<(u64, Leaf)>,
    ) -> Result<()> {
        if out.len() > super::MAX_REGISTERS {
            return Err(DecodeError::TooLarge(
                "a load or store of too many scalars".into(),
            ));
        }
        if let Some((bytes, kind)) = self.explicit_scalar(ty)? {
            out.push((
                mem,
                Leaf {
                    mem: 0,
                    reg,
                    bytes,
                    kind,
                },
            ));
            return Ok(());
        }
        match self.type_info(ty)?.ty.clone() {
            Type::Vector { comp, n } => {
                let cw = self.words_of_type(comp)?;
                let stride = if ctx.vec_stride != 0 {
                    ctx.vec_stride
                } else {
                    self.scalar_bytes(comp)?
                };
                for i in 0..n {
                    self.leaves(
                        comp,
                        ctx,
                        mem.saturating_add(u64::from(i) * u64::from(stride)),
                        reg + i * cw,
                        out,
                    )?;
                }
            }
            Type::Matrix { col, cols } => {
                if ctx.matrix_stride == 0 {
                    return Err(DecodeError::MissingDecoration {
                        id: ty,
                        decoration: "MatrixStride",
                    });
                }
                let colw = self.words_of_type(col)?;
                let cb = self.vector_comp_bytes(col)?;
                for c in 0..cols {
                    let col_mem = u64::from(c)
                        * u64::from(if ctx.row_major { cb } else { ctx.matrix_stride });
                    let vec_stride = if ctx.row_major { ctx.matrix_stride } else { 0 };
                    self.leaves(
                        col,
                        LayoutCtx { vec_stride, ..ctx },
                        mem.saturating_add(col_mem),
                        reg + c * colw,
                        out,
                    )?;
                }
            }
            Type::Array { elem, len } => {
                let stride = u64::from(self.array_stride(ty)?);
                let ew = self.words_of_type(elem)?;
                for i in 0..len {
                    self.leaves(
                        elem,
                        LayoutCtx {
                            vec_stride: 0,
                            ..ctx
                        },
                        mem.saturating_add(u64::from(i) * stride),
                        reg + i * ew,
                        out,
                    )?;
                }
            }
            Type::Struct { members } => {
                let mut r = reg;
                for (i, &m) in members.iter().enumerate() {
                    let off = self.member_offset(ty, i as u32)?;
                    self.leaves(
                        m,
                        self.member_ctx(ty, i as u32),
                        mem.saturating_add(u64::from(off)),
                        r,
                        out,
                    )?;
                    r += self.words_of_type(m)?;
                }
            }
            Type::RuntimeArray { .. } => {}
            _ => {
                return Err(DecodeError::Type(format!(
                    "type {ty} in an explicitly laid out block"
                )))
            }
        }
        Ok(())
    }

    /// Bytes an explicitly laid out type spans (runtime arrays count 0).
    pub(super) fn explicit_extent(&self, ty: u32) -> Result<u64> {
        let mut flat = Vec::new();
        self.leaves(ty, LayoutCtx::default(), 0, 0, &mut flat)?;
        Ok(flat
            .iter()
            .map(|(m, l)| m.saturating_add(u64::from(l.bytes)))
            .max()
            .unwrap_or(0))
    }
}

fn merge_steps(steps: Vec<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    for s in steps {
        match (out.last_mut(), s) {
            (Some(Step::Add(a)), Step::Add(b)) => *a = a.wrapping_add(b),
            (_, Step::Add(0)) => {}
            _ => out.push(s),
        }
    }
    out
}

fn fold(p: Ptr, steps: &[Step]) -> Ptr {
    let mut p = p;
    for s in steps {
        match s {
            Step::Add(v) => p.addr = p.addr.wrapping_add(*v),
            _ => return Ptr::NULL,
        }
    }
    if p.space == space::NULL {
        Ptr::NULL
    } else {
        p
    }
}

/// Groups leaves (in register order) into runs of adjacent bytes.
fn build_runs(flat: &[(u64, Leaf)], shape: &mut Shape) {
    let mut run: Option<(u64, u32, u32)> = None; // (start, bytes, first leaf)
    for (i, (mem, leaf)) in flat.iter().enumerate() {
        let b = u32::from(leaf.bytes);
        let extends = matches!(run, Some((start, bytes, _)) if start.saturating_add(u64::from(bytes)) == *mem && bytes + b <= MAX_RUN_BYTES && *mem <= u64::from(u32::MAX));
        if !extends {
            if let Some((start, bytes, first)) = run {
                push_run(shape, start, bytes, first, i as u32);
            }
            run = Some((*mem, 0, i as u32));
        }
        let (start, bytes, first) = run.unwrap_or((*mem, 0, i as u32));
        shape.leaves.push(Leaf {
            mem: (*mem - start) as u32,
            ..*leaf
        });
        run = Some((start, bytes + b, first));
    }
    if let Some((start, bytes, first)) = run {
        push_run(shape, start, bytes, first, flat.len() as u32);
    }
}

fn push_run(shape: &mut Shape, start: u64, bytes: u32, first: u32, end: u32) {
    // Offsets past 4 GiB cannot be reached in a descriptor range anyway;
    // they saturate and fail the range check.
    let mem = u32::try_from(start).unwrap_or(u32::MAX);
    shape.runs.push(Run {
        mem,
        bytes,
        first_leaf: first,
        leaves: end - first,
    });
}
