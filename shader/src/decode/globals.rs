//! The module-level walk over types, constants and global variables, and
//! what global variables become: register storage (Private, Input
//! built-ins), workgroup memory, buffer and descriptor pointers, and the
//! resource list the driver checks against its pipeline layout.

use super::layout::LayoutKind;
use super::types::Type;
use super::{id_at, invalid, result_id, result_type, Decoder, Result};
use crate::error::DecodeError;
use crate::ir::{space, BufferBinding, Builtin, ImageDim, Ptr};
use crate::program::{Resource, ResourceKind};
use rspirv::dr::{Instruction, Operand};
use spirv::{BuiltIn, Op, StorageClass};

impl Decoder<'_> {
    pub(super) fn declare_globals(&mut self) -> Result<()> {
        let m = self.m;
        for inst in &m.types_global_values {
            let op = inst.class.opcode;
            match op {
                _ if op.is_type() => self.declare_type(inst)?,
                Op::Undef => self.declare_constant(inst)?,
                _ if op.is_constant() => self.declare_constant(inst)?,
                Op::Variable => self.declare_global_variable(inst)?,
                Op::Line | Op::NoLine | Op::Nop => {}
                other => return Err(DecodeError::Opcode(super::op_name(other))),
            }
        }
        Ok(())
    }

    fn declare_global_variable(&mut self, inst: &Instruction) -> Result<()> {
        let id = result_id(inst)?;
        let ptr_ty = result_type(inst)?;
        let Some(Operand::StorageClass(class)) = inst.operands.first() else {
            return Err(invalid("OpVariable without a storage class"));
        };
        let class = *class;
        let mut info = self.ptr_info_of_type(ptr_ty)?;
        if info.class != class {
            return Err(invalid(format!(
                "variable {id}: storage class differs from its pointer type"
            )));
        }
        let initializer = match inst.operands.get(1) {
            Some(_) => Some(id_at(&inst.operands, 1)?),
            None => None,
        };
        let slot = self.define(id, ptr_ty)?;
        let used = self.used[id as usize];
        let pointee = info.pointee;
        let words = self.words_of_type(pointee)?;
        let binding = || -> Result<(u32, u32)> {
            let set = self.deco.set.get(&id).copied();
            let binding = self.deco.binding.get(&id).copied();
            match (set, binding) {
                (Some(s), Some(b)) => Ok((s, b)),
                (None, _) => Err(DecodeError::MissingDecoration {
                    id,
                    decoration: "DescriptorSet",
                }),
                (_, None) => Err(DecodeError::MissingDecoration {
                    id,
                    decoration: "Binding",
                }),
            }
        };
        let konst = match class {
            StorageClass::Private | StorageClass::Input => {
                let storage = self.alloc(words)?;
                if let Some(init) = initializer {
                    let s = self.src(init, words)?;
                    self.code
                        .init
                        .copy_within(s as usize..(s + words) as usize, storage as usize);
                }
                if class == StorageClass::Input {
                    self.declare_builtin(id, storage, words)?;
                }
                Some(Ptr {
                    space: space::LOCAL,
                    addr: u64::from(storage),
                    lo: 0,
                    hi: 0,
                })
            }
            StorageClass::Workgroup => {
                let at = self.code.shared_words;
                self.code.shared_words = at
                    .checked_add(words)
                    .filter(|&w| w as usize <= super::MAX_REGISTERS)
                    .ok_or_else(|| DecodeError::TooLarge("workgroup memory".into()))?;
                if let Some(init) = initializer {
                    let s = self.src(init, words)? as usize;
                    let values = self.code.init[s..s + words as usize].to_vec();
                    self.code.shared_init.push((at, values));
                }
                Some(Ptr {
                    space: space::SHARED,
                    addr: u64::from(at),
                    lo: 0,
                    hi: 0,
                })
            }
            StorageClass::StorageBuffer | StorageClass::Uniform => {
                if !used {
                    None
                } else {
                    let (set, b) = binding()?;
                    self.record_resource(set, b, class, pointee)?;
                    if info.kind == LayoutKind::DescriptorBuffer {
                        Some(Ptr {
                            space: space::DESC_BUFFER,
                            addr: 0,
                            lo: u64::from(set),
                            hi: u64::from(b),
                        })
                    } else {
                        self.code.buffers.push(BufferBinding {
                            set,
                            binding: b,
                            slot,
                        });
                        None
                    }
                }
            }
            StorageClass::PushConstant => {
                if used {
                    let bytes = self.explicit_extent(pointee)?;
                    self.info.push_constant_bytes = self
                        .info
                        .push_constant_bytes
                        .max(bytes.min(u64::from(u32::MAX)) as u32);
                }
                Some(Ptr {
                    space: space::PUSH,
                    addr: 0,
                    lo: 0,
                    hi: u64::MAX,
                })
            }
            StorageClass::UniformConstant => {
                if !used {
                    None
                } else {
                    let (set, b) = binding()?;
                    self.record_resource(set, b, class, pointee)?;
                    Some(Ptr {
                        space: space::DESC,
                        addr: 0,
                        lo: u64::from(set),
                        hi: u64::from(b),
                    })
                }
            }
            other => return Err(DecodeError::StorageClass(format!("{other:?}"))),
        };
        if let Some(p) = konst {
            let s = slot as usize;
            self.code.init[s..s + crate::ir::PTR_WORDS as usize].copy_from_slice(&p.to_words());
        }
        info.konst = konst;
        self.ptrs[id as usize] = Some(info);
        Ok(())
    }

    fn declare_builtin(&mut self, id: u32, storage: u32, words: u32) -> Result<()> {
        let Some(&b) = self.deco.builtin.get(&id) else {
            return Err(DecodeError::StorageClass(format!(
                "Input variable {id} that is not a built-in"
            )));
        };
        let (builtin, need) = match b {
            BuiltIn::LocalInvocationId => (Builtin::LocalInvocationId, 3),
            BuiltIn::GlobalInvocationId => (Builtin::GlobalInvocationId, 3),
            BuiltIn::WorkgroupId => (Builtin::WorkgroupId, 3),
            BuiltIn::NumWorkgroups => (Builtin::NumWorkgroups, 3),
            BuiltIn::WorkgroupSize => (Builtin::WorkgroupSize, 3),
            BuiltIn::LocalInvocationIndex => (Builtin::LocalInvocationIndex, 1),
            BuiltIn::SubgroupSize => (Builtin::SubgroupSize, 1),
            BuiltIn::SubgroupLocalInvocationId => (Builtin::SubgroupLocalInvocationId, 1),
            BuiltIn::NumSubgroups => (Builtin::NumSubgroups, 1),
            BuiltIn::SubgroupId => (Builtin::SubgroupId, 1),
            BuiltIn::SubgroupEqMask => (Builtin::SubgroupEqMask, 4),
            BuiltIn::SubgroupGeMask => (Builtin::SubgroupGeMask, 4),
            BuiltIn::SubgroupGtMask => (Builtin::SubgroupGtMask, 4),
            BuiltIn::SubgroupLeMask => (Builtin::SubgroupLeMask, 4),
            BuiltIn::SubgroupLtMask => (Builtin::SubgroupLtMask, 4),
            other => return Err(DecodeError::BuiltIn(format!("{other:?}"))),
        };
        if words != need {
            return Err(invalid(format!(
                "built-in {b:?} declared with {words} words, expected {need}"
            )));
        }
        self.code.builtins.push((builtin, storage));
        Ok(())
    }

    fn record_resource(
        &mut self,
        set: u32,
        binding: u32,
        class: StorageClass,
        pointee: u32,
    ) -> Result<()> {
        let mut ty = pointee;
        let mut count = Some(1u32);
        loop {
            match self.type_info(ty)?.ty {
                Type::Array { elem, len } => {
                    count = count.and_then(|c| c.checked_mul(len));
                    ty = elem;
                }
                Type::RuntimeArray { elem } => {
                    count = None;
                    ty = elem;
                }
                _ => break,
            }
        }
        let kind = match (class, &self.type_info(ty)?.ty) {
            (StorageClass::StorageBuffer, _) => ResourceKind::StorageBuffer,
            (StorageClass::Uniform, _) if self.deco.buffer_block.contains(&ty) => {
                ResourceKind::StorageBuffer
            }
            (StorageClass::Uniform, _) => ResourceKind::UniformBuffer,
            (_, Type::Sampler) => ResourceKind::Sampler,
            (_, Type::Image(it)) => match (it.dim, it.sampled) {
                (ImageDim::Buffer, 2) => ResourceKind::StorageTexelBuffer,
                (ImageDim::Buffer, _) => ResourceKind::UniformTexelBuffer,
                (_, 2) => ResourceKind::StorageImage,
                _ => ResourceKind::SampledImage,
            },
            (_, Type::SampledImage { .. }) => {
                if self.image_type_of(ty)?.dim == ImageDim::Buffer {
                    ResourceKind::UniformTexelBuffer
                } else {
                    ResourceKind::CombinedImageSampler
                }
            }
            _ => {
                return Err(DecodeError::Type(format!(
                    "UniformConstant variable of type {ty}"
                )))
            }
        };
        self.info.resources.push(Resource {
            set,
            binding,
            kind,
            count,
        });
        Ok(())
    }
}
