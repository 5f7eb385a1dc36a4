//! SPIR-V to register form, once per pipeline: checks what the module asks
//! for, applies specialization, gives every id its register slots and
//! lowers the entry point's call tree to [`crate::ir::Code`].
//!
//! The passes run in module order: module checks (`module.rs`),
//! decorations, types/constants/globals in one walk (`types.rs`,
//! `constants.rs`, `globals.rs`), then functions (`function.rs` and one file
//! per instruction family). Every slot an instruction touches is checked
//! against its id's allocation here, which is the interpreter's guarantee
//! that register indexing stays in bounds.

mod annotations;
mod arith;
mod constants;
mod dispatch;
mod function;
mod globals;
mod glsl;
mod image;
mod layout;
mod memory;
mod module;
mod subgroup;
mod types;

use crate::binary::ShaderBinary;
use crate::error::DecodeError;
use crate::ir::{Code, Inst, Slot};
use crate::program::ProgramInfo;
use annotations::Decorations;
use layout::PtrInfo;
use rspirv::dr::{self, Operand};
use std::collections::HashMap;
use types::TypeInfo;

pub(crate) use types::Scalar;

type Result<T> = std::result::Result<T, DecodeError>;

/// Largest register file per invocation, in words (1 MiB).
const MAX_REGISTERS: usize = 1 << 18;
/// Largest id bound accepted (the per-id tables are sized by it).
const MAX_BOUND: u32 = 1 << 22;
const NO_SLOT: Slot = Slot::MAX;

pub(crate) fn decode(binary: &ShaderBinary) -> Result<(Code, ProgramInfo)> {
    let module = load(&binary.spirv)?;
    let mut d = Decoder::new(&module, binary)?;
    d.run()?;
    Ok(d.finish())
}

/// rspirv's loader is a third-party parser fed untrusted words. The word
/// stream's framing is checked first (rspirv indexes past the end of an
/// instruction whose word count overruns the stream); anything else that
/// panics in it is caught so it cannot reach the GPU thread.
fn load(words: &[u32]) -> Result<dr::Module> {
    check_framing(words)?;
    let result = std::panic::catch_unwind(|| rspirv::dr::load_words(words));
    match result {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(e)) => Err(DecodeError::Parse(e.to_string())),
        Err(_) => Err(DecodeError::Parse(
            "the SPIR-V parser rejected the words".into(),
        )),
    }
}

/// Every instruction has a word count of at least 1 and ends inside the
/// stream.
fn check_framing(words: &[u32]) -> Result<()> {
    const HEADER_WORDS: usize = 5;
    if words.len() < HEADER_WORDS {
        return Err(DecodeError::Parse(format!(
            "{} words: shorter than the SPIR-V header",
            words.len()
        )));
    }
    let mut at = HEADER_WORDS;
    while at < words.len() {
        let count = (words[at] >> 16) as usize;
        if count == 0 || at + count > words.len() {
            return Err(DecodeError::Parse(format!(
                "instruction at word {at} has word count {count}, the stream ends at {}",
                words.len()
            )));
        }
        at += count;
    }
    Ok(())
}

pub(crate) struct Decoder<'m> {
    m: &'m dr::Module,
    bound: u32,
    entry_name: String,
    entry_fn: u32,
    spec: HashMap<u32, u64>,
    deco: Decorations,
    types: Vec<Option<TypeInfo>>,
    /// Type id of each value id (0: not a value).
    value_type: Vec<u32>,
    slots: Vec<Slot>,
    sizes: Vec<u32>,
    is_const: Vec<bool>,
    ptrs: Vec<Option<PtrInfo>>,
    /// Ids an entry-point function mentions.
    used: Vec<bool>,
    glsl_set: Option<u32>,
    ignored_sets: Vec<u32>,
    code: Code,
    shape_cache: HashMap<(u32, layout::LayoutCtx, bool), u32>,
    info: ProgramInfo,
    /// Local size from the execution modes (literals or constant ids).
    local_size_lits: Option<[u32; 3]>,
    local_size_ids: Option<[u32; 3]>,
    workgroup_size_const: Option<u32>,
    function_state: function::FunctionState,
}

impl<'m> Decoder<'m> {
    fn new(m: &'m dr::Module, binary: &ShaderBinary) -> Result<Self> {
        let bound = m.header.as_ref().map(|h| h.bound).unwrap_or(0);
        if bound == 0 || bound > MAX_BOUND {
            return Err(DecodeError::TooLarge(format!("id bound {bound}")));
        }
        let n = bound as usize;
        Ok(Decoder {
            m,
            bound,
            entry_name: binary.entry.clone(),
            entry_fn: 0,
            spec: binary.spec.iter().map(|s| (s.id, s.value())).collect(),
            deco: Decorations::default(),
            types: vec![None; n],
            value_type: vec![0; n],
            slots: vec![NO_SLOT; n],
            sizes: vec![0; n],
            is_const: vec![false; n],
            ptrs: vec![None; n],
            used: vec![false; n],
            glsl_set: None,
            ignored_sets: Vec::new(),
            code: Code::default(),
            shape_cache: HashMap::new(),
            info: ProgramInfo::default(),
            local_size_lits: None,
            local_size_ids: None,
            workgroup_size_const: None,
            function_state: function::FunctionState::default(),
        })
    }

    fn run(&mut self) -> Result<()> {
        self.check_module()?;
        self.find_entry_point()?;
        self.collect_decorations()?;
        let functions = self.reachable_functions()?;
        self.declare_globals()?;
        self.resolve_workgroup_size()?;
        self.lower_functions(&functions)?;
        self.info.shared_memory_bytes = self.code.shared_words.saturating_mul(4);
        self.info.register_words = self.code.init.len() as u32;
        Ok(())
    }

    fn finish(self) -> (Code, ProgramInfo) {
        let mut info = self.info;
        info.entry = self.entry_name;
        info.uses_barriers = self.code.has_barrier;
        info.instruction_words = self.code.insts.len() as u32;
        (self.code, info)
    }

    // ---- ids ----

    fn index(&self, id: u32) -> Result<usize> {
        if id < self.bound {
            Ok(id as usize)
        } else {
            Err(invalid(format!(
                "id {id} is outside the bound {}",
                self.bound
            )))
        }
    }

    fn type_info(&self, ty: u32) -> Result<&TypeInfo> {
        self.types
            .get(ty as usize)
            .and_then(|t| t.as_ref())
            .ok_or_else(|| invalid(format!("id {ty} is not a declared type")))
    }

    /// The type id of a value id.
    fn type_of(&self, id: u32) -> Result<u32> {
        match self.value_type.get(id as usize) {
            Some(&t) if t != 0 => Ok(t),
            _ => Err(invalid(format!(
                "id {id} is not a value defined before its use"
            ))),
        }
    }

    fn words_of_type(&self, ty: u32) -> Result<u32> {
        Ok(self.type_info(ty)?.words)
    }

    /// Gives value `id` of type `ty` fresh slots.
    fn define(&mut self, id: u32, ty: u32) -> Result<Slot> {
        let i = self.index(id)?;
        if self.slots[i] != NO_SLOT {
            return Err(invalid(format!("id {id} defined twice")));
        }
        let words = self.words_of_type(ty)?;
        let slot = self.alloc(words)?;
        self.slots[i] = slot;
        self.sizes[i] = words;
        self.value_type[i] = ty;
        Ok(slot)
    }

    /// Fresh register words (temporaries, variable storage).
    fn alloc(&mut self, words: u32) -> Result<Slot> {
        let at = self.code.init.len();
        let end = at + words as usize;
        if end > MAX_REGISTERS {
            return Err(DecodeError::TooLarge(format!(
                "more than {MAX_REGISTERS} register words per invocation"
            )));
        }
        self.code.init.resize(end, 0);
        Ok(at as Slot)
    }

    /// A new constant of `words` in the register image.
    fn constant(&mut self, words: &[u32]) -> Result<Slot> {
        let s = self.alloc(words.len() as u32)?;
        self.code.init[s as usize..s as usize + words.len()].copy_from_slice(words);
        Ok(s)
    }

    /// The slot of value `id`, checked to hold at least `words` words.
    fn src(&self, id: u32, words: u32) -> Result<Slot> {
        let i = self.index(id)?;
        let slot = self.slots[i];
        if slot == NO_SLOT {
            return Err(invalid(format!("id {id} is used but never defined")));
        }
        if self.sizes[i] < words {
            return Err(invalid(format!(
                "id {id} has {} words where {words} are needed (type mismatch)",
                self.sizes[i]
            )));
        }
        Ok(slot)
    }

    /// The slot and size of result `id`, checked to hold `words` words.
    fn dst(&self, id: u32, words: u32) -> Result<Slot> {
        self.src(id, words)
    }

    fn slot_and_size(&self, id: u32) -> Result<(Slot, u32)> {
        let i = self.index(id)?;
        if self.slots[i] == NO_SLOT {
            return Err(invalid(format!("id {id} is used but never defined")));
        }
        Ok((self.slots[i], self.sizes[i]))
    }

    /// The value of a 32-bit (or narrower) constant id.
    fn const_u32(&self, id: u32) -> Option<u32> {
        let i = id as usize;
        if !*self.is_const.get(i)? {
            return None;
        }
        self.code.init.get(self.slots[i] as usize).copied()
    }

    /// The value of a scalar integer constant, sign-extended by its type.
    fn const_int(&self, id: u32) -> Option<i64> {
        let i = id as usize;
        if !*self.is_const.get(i)? {
            return None;
        }
        let (scalar, n) = self.scalar_shape(self.value_type[i]).ok()?;
        if n != 1 {
            return None;
        }
        let s = self.slots[i] as usize;
        let lo = u64::from(*self.code.init.get(s)?);
        match scalar {
            Scalar::Int { bits: 64, .. } => {
                Some((lo | u64::from(*self.code.init.get(s + 1)?) << 32) as i64)
            }
            Scalar::Int { bits, signed: true } => Some(sign_extend(lo, bits)),
            Scalar::Int { .. } | Scalar::Bool => Some(lo as i64),
            Scalar::Float { .. } => None,
        }
    }

    fn emit(&mut self, inst: Inst) {
        self.code.insts.push(inst);
    }

    fn push_gather(&mut self, d: Slot, srcs: &[Slot]) {
        let at = self.code.gathers.len() as u32;
        self.code.gathers.extend_from_slice(srcs);
        self.emit(Inst::Gather {
            d,
            at,
            n: srcs.len() as u32,
        });
    }
}

pub(crate) fn sign_extend(v: u64, bits: u32) -> i64 {
    if bits == 0 || bits >= 64 {
        return v as i64;
    }
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

pub(crate) fn invalid(what: impl Into<String>) -> DecodeError {
    DecodeError::Invalid(what.into())
}

fn op_name(op: spirv::Op) -> String {
    format!("{op:?}")
}

// ---- operand access ----

fn id_at(ops: &[Operand], i: usize) -> Result<u32> {
    match ops.get(i) {
        Some(Operand::IdRef(id))
        | Some(Operand::IdScope(id))
        | Some(Operand::IdMemorySemantics(id)) => Ok(*id),
        other => Err(invalid(format!(
            "operand {i}: expected an id, found {other:?}"
        ))),
    }
}

fn lit_at(ops: &[Operand], i: usize) -> Result<u32> {
    match ops.get(i) {
        Some(Operand::LiteralBit32(v)) | Some(Operand::LiteralExtInstInteger(v)) => Ok(*v),
        other => Err(invalid(format!(
            "operand {i}: expected a literal, found {other:?}"
        ))),
    }
}

fn result_id(inst: &dr::Instruction) -> Result<u32> {
    inst.result_id
        .ok_or_else(|| invalid(format!("Op{:?} without a result id", inst.class.opcode)))
}

fn result_type(inst: &dr::Instruction) -> Result<u32> {
    inst.result_type
        .ok_or_else(|| invalid(format!("Op{:?} without a result type", inst.class.opcode)))
}
