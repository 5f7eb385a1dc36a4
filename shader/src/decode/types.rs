//! SPIR-V types and their register sizes: booleans and ≤32-bit scalars take
//! one word, 64-bit scalars two, composites the sum of their parts,
//! pointers [`PTR_WORDS`], image and sampler handles two words each and
//! sampled images four (image then sampler).

use super::{id_at, invalid, lit_at, Decoder, Result};
use crate::error::DecodeError;
use crate::ir::{ImageDim, PTR_WORDS};
use rspirv::dr::{Instruction, Operand};
use spirv::{Dim, Op, StorageClass};

#[derive(Clone, Debug)]
pub(super) enum Type {
    Void,
    Bool,
    Int { bits: u32, signed: bool },
    Float { bits: u32 },
    Vector { comp: u32, n: u32 },
    Matrix { col: u32, cols: u32 },
    Array { elem: u32, len: u32 },
    RuntimeArray { elem: u32 },
    Struct { members: Vec<u32> },
    Pointer { class: StorageClass, pointee: u32 },
    Image(ImageType),
    Sampler,
    SampledImage { image: u32 },
    Function,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct ImageType {
    pub dim: ImageDim,
    pub arrayed: bool,
    /// 1: sampled, 2: storage.
    pub sampled: u32,
    /// 64-bit integer texels (`Int64ImageEXT`: R64 formats, one component).
    pub wide: bool,
}

#[derive(Clone, Debug)]
pub(super) struct TypeInfo {
    pub ty: Type,
    pub words: u32,
}

/// The component class of a scalar or vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    Bool,
    Int { bits: u32, signed: bool },
    Float { bits: u32 },
}

impl Scalar {
    pub fn words(self) -> u32 {
        match self {
            Scalar::Int { bits: 64, .. } | Scalar::Float { bits: 64 } => 2,
            _ => 1,
        }
    }
    pub fn bits(self) -> u32 {
        match self {
            Scalar::Bool => 32,
            Scalar::Int { bits, .. } | Scalar::Float { bits } => bits,
        }
    }
}

pub(super) const IMAGE_WORDS: u32 = 2;
pub(super) const SAMPLER_WORDS: u32 = 2;

impl Decoder<'_> {
    /// Declares the type `inst` defines (one of the OpType* instructions).
    pub(super) fn declare_type(&mut self, inst: &Instruction) -> Result<()> {
        let ops = &inst.operands;
        let op = inst.class.opcode;
        if op == Op::TypeForwardPointer {
            // The pointer's size is known now; its pointee comes with the
            // OpTypePointer that follows.
            let id = id_at(ops, 0)?;
            let Some(Operand::StorageClass(class)) = ops.get(1) else {
                return Err(invalid("OpTypeForwardPointer without a storage class"));
            };
            let i = self.index(id)?;
            self.types[i] = Some(TypeInfo {
                ty: Type::Pointer {
                    class: *class,
                    pointee: 0,
                },
                words: PTR_WORDS,
            });
            return Ok(());
        }
        let id = super::result_id(inst)?;
        let ty = match op {
            Op::TypeVoid => Type::Void,
            Op::TypeBool => Type::Bool,
            Op::TypeInt => {
                let bits = lit_at(ops, 0)?;
                if !matches!(bits, 8 | 16 | 32 | 64) {
                    return Err(DecodeError::Type(format!("{bits}-bit integers")));
                }
                Type::Int {
                    bits,
                    signed: lit_at(ops, 1)? != 0,
                }
            }
            Op::TypeFloat => {
                let bits = lit_at(ops, 0)?;
                if !matches!(bits, 32 | 64) || ops.len() > 1 {
                    return Err(DecodeError::Type(format!("{bits}-bit floats")));
                }
                Type::Float { bits }
            }
            Op::TypeVector => {
                let comp = id_at(ops, 0)?;
                let n = lit_at(ops, 1)?;
                self.scalar_of(comp)?;
                if !(2..=16).contains(&n) {
                    return Err(invalid(format!("vector of {n} components")));
                }
                Type::Vector { comp, n }
            }
            Op::TypeMatrix => {
                let col = id_at(ops, 0)?;
                let cols = lit_at(ops, 1)?;
                match self.type_info(col)?.ty {
                    Type::Vector { comp, .. }
                        if matches!(self.scalar_of(comp)?, Scalar::Float { .. }) => {}
                    _ => return Err(invalid("matrix columns must be float vectors")),
                }
                if !(2..=4).contains(&cols) {
                    return Err(invalid(format!("matrix of {cols} columns")));
                }
                Type::Matrix { col, cols }
            }
            Op::TypeArray => {
                let elem = id_at(ops, 0)?;
                let len_id = id_at(ops, 1)?;
                let len = self.const_int(len_id).ok_or_else(|| {
                    invalid(format!("array length {len_id} is not an integer constant"))
                })?;
                if len <= 0 || len > i64::from(u32::MAX) {
                    return Err(invalid(format!("array length {len}")));
                }
                Type::Array {
                    elem,
                    len: len as u32,
                }
            }
            Op::TypeRuntimeArray => Type::RuntimeArray {
                elem: id_at(ops, 0)?,
            },
            Op::TypeStruct => {
                let members = (0..ops.len())
                    .map(|i| id_at(ops, i))
                    .collect::<Result<Vec<_>>>()?;
                Type::Struct { members }
            }
            Op::TypePointer => {
                let Some(Operand::StorageClass(class)) = ops.first() else {
                    return Err(invalid("OpTypePointer without a storage class"));
                };
                Type::Pointer {
                    class: *class,
                    pointee: id_at(ops, 1)?,
                }
            }
            Op::TypeImage => Type::Image(self.image_type(ops)?),
            Op::TypeSampler => Type::Sampler,
            Op::TypeSampledImage => {
                let image = id_at(ops, 0)?;
                if !matches!(self.type_info(image)?.ty, Type::Image(_)) {
                    return Err(invalid("OpTypeSampledImage of a non-image"));
                }
                Type::SampledImage { image }
            }
            Op::TypeFunction => Type::Function,
            other => return Err(DecodeError::Opcode(super::op_name(other))),
        };
        let words = self.size_in_words(&ty)?;
        let i = self.index(id)?;
        self.types[i] = Some(TypeInfo { ty, words });
        Ok(())
    }

    fn image_type(&self, ops: &[Operand]) -> Result<ImageType> {
        let sampled_type = id_at(ops, 0)?;
        let wide = match self.type_info(sampled_type)?.ty {
            Type::Int { bits: 32, .. } | Type::Float { bits: 32 } | Type::Void => false,
            Type::Int { bits: 64, .. } => true,
            _ => {
                return Err(DecodeError::Image(
                    "image texel type other than 32-bit int or float, or 64-bit int".into(),
                ))
            }
        };
        let dim = match ops.get(1) {
            Some(Operand::Dim(Dim::Dim1D)) => ImageDim::D1,
            Some(Operand::Dim(Dim::Dim2D)) => ImageDim::D2,
            Some(Operand::Dim(Dim::Dim3D)) => ImageDim::D3,
            Some(Operand::Dim(Dim::DimCube)) => ImageDim::Cube,
            Some(Operand::Dim(Dim::DimRect)) => ImageDim::Rect,
            Some(Operand::Dim(Dim::DimBuffer)) => ImageDim::Buffer,
            Some(Operand::Dim(d)) => {
                return Err(DecodeError::Image(format!("image dimension {d:?}")))
            }
            other => return Err(invalid(format!("OpTypeImage dimension {other:?}"))),
        };
        Ok(ImageType {
            dim,
            arrayed: lit_at(ops, 3)? != 0,
            sampled: lit_at(ops, 5)?,
            wide,
        })
    }

    fn size_in_words(&self, ty: &Type) -> Result<u32> {
        let too_big = || DecodeError::TooLarge("a type larger than the register file".into());
        Ok(match ty {
            Type::Void | Type::Function | Type::RuntimeArray { .. } => 0,
            Type::Bool => 1,
            Type::Int { bits, .. } | Type::Float { bits } => {
                if *bits == 64 {
                    2
                } else {
                    1
                }
            }
            Type::Vector { comp, n } => self.words_of_type(*comp)? * n,
            Type::Matrix { col, cols } => self.words_of_type(*col)? * cols,
            Type::Array { elem, len } => {
                let w = u64::from(self.words_of_type(*elem)?) * u64::from(*len);
                u32::try_from(w)
                    .ok()
                    .filter(|&w| w <= super::MAX_REGISTERS as u32)
                    .ok_or_else(too_big)?
            }
            Type::Struct { members } => {
                let mut total: u64 = 0;
                for m in members {
                    total += u64::from(self.words_of_type(*m)?);
                }
                u32::try_from(total)
                    .ok()
                    .filter(|&w| w <= super::MAX_REGISTERS as u32)
                    .ok_or_else(too_big)?
            }
            Type::Pointer { .. } => PTR_WORDS,
            Type::Image(_) => IMAGE_WORDS,
            Type::Sampler => SAMPLER_WORDS,
            Type::SampledImage { .. } => IMAGE_WORDS + SAMPLER_WORDS,
        })
    }

    /// The scalar class of a scalar type.
    pub(super) fn scalar_of(&self, ty: u32) -> Result<Scalar> {
        match self.type_info(ty)?.ty {
            Type::Bool => Ok(Scalar::Bool),
            Type::Int { bits, signed } => Ok(Scalar::Int { bits, signed }),
            Type::Float { bits } => Ok(Scalar::Float { bits }),
            _ => Err(invalid(format!("type {ty} is not a scalar"))),
        }
    }

    /// (component class, component count) of a scalar or vector type.
    pub(super) fn scalar_shape(&self, ty: u32) -> Result<(Scalar, u32)> {
        match self.type_info(ty)?.ty {
            Type::Vector { comp, n } => Ok((self.scalar_of(comp)?, n)),
            _ => Ok((self.scalar_of(ty)?, 1)),
        }
    }

    /// (scalar class, count) of a value id's scalar or vector type.
    pub(super) fn value_shape(&self, id: u32) -> Result<(Scalar, u32)> {
        self.scalar_shape(self.type_of(id)?)
    }

    /// (float bits, rows, cols) of a matrix type.
    pub(super) fn matrix_shape(&self, ty: u32) -> Result<(u32, u32, u32)> {
        match self.type_info(ty)?.ty {
            Type::Matrix { col, cols } => {
                let (s, rows) = self.scalar_shape(col)?;
                Ok((s.bits(), rows, cols))
            }
            _ => Err(invalid(format!("type {ty} is not a matrix"))),
        }
    }

    pub(super) fn image_type_of(&self, ty: u32) -> Result<ImageType> {
        match self.type_info(ty)?.ty {
            Type::Image(it) => Ok(it),
            Type::SampledImage { image } => match self.type_info(image)?.ty {
                Type::Image(it) => Ok(it),
                _ => Err(invalid("sampled image of a non-image")),
            },
            _ => Err(invalid(format!("type {ty} is not an image"))),
        }
    }

    /// The element type reached by a literal index path into a composite
    /// type, and the word offset of that element.
    pub(super) fn composite_path(&self, ty: u32, path: &[u32]) -> Result<(u32, u32)> {
        let mut ty = ty;
        let mut off = 0u32;
        for &i in path {
            let (next, before) = match &self.type_info(ty)?.ty {
                Type::Vector { comp, n } if i < *n => (*comp, self.words_of_type(*comp)? * i),
                Type::Matrix { col, cols } if i < *cols => (*col, self.words_of_type(*col)? * i),
                Type::Array { elem, len } if i < *len => (*elem, self.words_of_type(*elem)? * i),
                Type::Struct { members } if (i as usize) < members.len() => {
                    let mut before = 0;
                    for m in &members[..i as usize] {
                        before += self.words_of_type(*m)?;
                    }
                    (members[i as usize], before)
                }
                _ => return Err(invalid(format!("composite index {i} out of type {ty}"))),
            };
            ty = next;
            off += before;
        }
        Ok((ty, off))
    }
}
