//! Decorations the core uses: specialization ids, built-ins, descriptor
//! set and binding, block kinds and explicit layout (Offset, ArrayStride,
//! MatrixStride, RowMajor). Decoration groups are expanded; the rest
//! (NonWritable, Restrict, RelaxedPrecision, ...) is ignored.

use super::{id_at, invalid, lit_at, Decoder, Result};
use rspirv::dr::Operand;
use spirv::{BuiltIn, Decoration, Op};
use std::collections::{HashMap, HashSet};

#[derive(Default)]
pub(super) struct Decorations {
    pub spec_id: HashMap<u32, u32>,
    pub builtin: HashMap<u32, BuiltIn>,
    pub set: HashMap<u32, u32>,
    pub binding: HashMap<u32, u32>,
    pub array_stride: HashMap<u32, u32>,
    pub block: HashSet<u32>,
    pub buffer_block: HashSet<u32>,
    pub member_offset: HashMap<(u32, u32), u32>,
    pub member_matrix_stride: HashMap<(u32, u32), u32>,
    pub member_row_major: HashSet<(u32, u32)>,
    pub member_builtin: HashSet<u32>,
}

/// One decoration as written, before groups are expanded.
struct Raw<'a> {
    target: u32,
    member: Option<u32>,
    decoration: Decoration,
    args: &'a [Operand],
}

impl Decorations {
    fn apply(&mut self, r: &Raw) -> Result<()> {
        let lit = |i: usize| lit_at(r.args, i);
        match (r.member, r.decoration) {
            (None, Decoration::SpecId) => {
                self.spec_id.insert(r.target, lit(0)?);
            }
            (None, Decoration::BuiltIn) => match r.args.first() {
                Some(Operand::BuiltIn(b)) => {
                    self.builtin.insert(r.target, *b);
                }
                other => return Err(invalid(format!("BuiltIn decoration operand {other:?}"))),
            },
            (None, Decoration::DescriptorSet) => {
                self.set.insert(r.target, lit(0)?);
            }
            (None, Decoration::Binding) => {
                self.binding.insert(r.target, lit(0)?);
            }
            (None, Decoration::ArrayStride) => {
                self.array_stride.insert(r.target, lit(0)?);
            }
            (None, Decoration::Block) => {
                self.block.insert(r.target);
            }
            (None, Decoration::BufferBlock) => {
                self.buffer_block.insert(r.target);
            }
            (Some(m), Decoration::Offset) => {
                self.member_offset.insert((r.target, m), lit(0)?);
            }
            (Some(m), Decoration::MatrixStride) => {
                self.member_matrix_stride.insert((r.target, m), lit(0)?);
            }
            (Some(m), Decoration::RowMajor) => {
                self.member_row_major.insert((r.target, m));
            }
            (Some(_), Decoration::BuiltIn) => {
                self.member_builtin.insert(r.target);
            }
            _ => {}
        }
        Ok(())
    }
}

impl Decoder<'_> {
    pub(super) fn collect_decorations(&mut self) -> Result<()> {
        let mut raws = Vec::new();
        let mut group_targets: Vec<(u32, u32, Option<u32>)> = Vec::new();
        for inst in &self.m.annotations {
            let ops = &inst.operands;
            match inst.class.opcode {
                Op::Decorate | Op::DecorateId | Op::DecorateString => {
                    let Some(Operand::Decoration(decoration)) = ops.get(1) else {
                        return Err(invalid("OpDecorate without a decoration"));
                    };
                    raws.push(Raw {
                        target: id_at(ops, 0)?,
                        member: None,
                        decoration: *decoration,
                        args: &ops[2..],
                    });
                }
                Op::MemberDecorate | Op::MemberDecorateString => {
                    let Some(Operand::Decoration(decoration)) = ops.get(2) else {
                        return Err(invalid("OpMemberDecorate without a decoration"));
                    };
                    raws.push(Raw {
                        target: id_at(ops, 0)?,
                        member: Some(lit_at(ops, 1)?),
                        decoration: *decoration,
                        args: &ops[3..],
                    });
                }
                Op::GroupDecorate => {
                    let group = id_at(ops, 0)?;
                    for i in 1..ops.len() {
                        group_targets.push((group, id_at(ops, i)?, None));
                    }
                }
                Op::GroupMemberDecorate => {
                    let group = id_at(ops, 0)?;
                    let mut i = 1;
                    while i + 1 < ops.len() {
                        group_targets.push((group, id_at(ops, i)?, Some(lit_at(ops, i + 1)?)));
                        i += 2;
                    }
                }
                _ => {}
            }
        }
        let mut deco = Decorations::default();
        for r in &raws {
            deco.apply(r)?;
        }
        for (group, target, member) in group_targets {
            for r in raws.iter().filter(|r| r.target == group) {
                deco.apply(&Raw {
                    target,
                    member: member.or(r.member),
                    decoration: r.decoration,
                    args: r.args,
                })?;
            }
        }
        self.deco = deco;
        Ok(())
    }
}
