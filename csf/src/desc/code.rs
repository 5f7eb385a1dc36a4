//! The virtual Mali's program image: what a `Shader Program` descriptor's
//! `binary` points to.
//!
//! A real Mali runs Valhall machine code; the virtual Mali's shader cores
//! run SPIR-V (the `panthor-shader` crate's container: entry point,
//! specialization values, words). What a compiler would bake into machine
//! code about the job's interface is kept beside it here: where each
//! (set, binding) lives in the resource tables, and where the system values
//! and push constants sit in the FAU buffer.
//!
//! Layout, 32-bit little-endian words:
//!
//! | word | content |
//! |------|---------|
//! | 0 | magic [`CODE_MAGIC`] |
//! | 1 | version 1 |
//! | 2 | binding count `B` |
//! | 3 | shader container words `N` |
//! | 4 | FAU byte offset of the push constants |
//! | 5.. | `B` entries of 5 words: set, binding, resource-table index, first descriptor index, descriptors per array element |
//! | then | `N` words: the shader container |
//!
//! The FAU buffer starts with the system values [`FauSysvals`].

/// "VPMG", little endian.
pub const CODE_MAGIC: u32 = 0x474d_5056;
const VERSION: u32 = 1;
const HEADER_WORDS: usize = 5;
const BINDING_WORDS: usize = 5;

/// Where the descriptors of one (set, binding) are: descriptor `i` of the
/// array is entry `first + i * stride` of resource table `table` (a
/// combined image sampler's sampler follows its texture: `+ 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BindingSlot {
    pub set: u32,
    pub binding: u32,
    pub table: u32,
    pub first: u32,
    pub stride: u32,
}

/// The system values at the start of the FAU buffer, as 32-bit words:
/// the base workgroup of `vkCmdDispatchBase` (x, y, z) and the workgroup
/// counts (x, y, z); the shader adds the base to the hardware workgroup
/// ID (the job offset registers shift only the global ID).
pub struct FauSysvals;

impl FauSysvals {
    pub const BASE_WORKGROUP: u32 = 0;
    pub const NUM_WORKGROUPS: u32 = 12;
    /// Bytes, rounded to whole 64-bit FAU words.
    pub const SIZE: u32 = 24;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramCode {
    pub bindings: Vec<BindingSlot>,
    pub push_offset: u32,
    /// The shader container (`panthor_shader::binary`).
    pub shader: Vec<u32>,
}

/// Why a program image cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeError {
    BadMagic(u32),
    BadVersion(u32),
    Truncated,
}

impl std::fmt::Display for CodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodeError::BadMagic(m) => write!(f, "bad program magic {m:#x}"),
            CodeError::BadVersion(v) => write!(f, "program image version {v} unknown"),
            CodeError::Truncated => f.write_str("program image truncated"),
        }
    }
}

impl ProgramCode {
    pub fn to_words(&self) -> Vec<u32> {
        let mut w = Vec::with_capacity(self.words());
        w.extend([
            CODE_MAGIC,
            VERSION,
            self.bindings.len() as u32,
            self.shader.len() as u32,
            self.push_offset,
        ]);
        for b in &self.bindings {
            w.extend([b.set, b.binding, b.table, b.first, b.stride]);
        }
        w.extend_from_slice(&self.shader);
        w
    }

    /// Words of the image.
    pub fn words(&self) -> usize {
        HEADER_WORDS + BINDING_WORDS * self.bindings.len() + self.shader.len()
    }

    /// The header's length in words and the total image length, from its
    /// first [`HEADER_WORDS`] words (so a reader fetches the rest at once).
    pub fn image_words(header: &[u32]) -> Result<usize, CodeError> {
        let h = header.get(..HEADER_WORDS).ok_or(CodeError::Truncated)?;
        if h[0] != CODE_MAGIC {
            return Err(CodeError::BadMagic(h[0]));
        }
        if h[1] != VERSION {
            return Err(CodeError::BadVersion(h[1]));
        }
        (h[2] as usize)
            .checked_mul(BINDING_WORDS)
            .and_then(|b| b.checked_add(HEADER_WORDS + h[3] as usize))
            .ok_or(CodeError::Truncated)
    }

    pub const HEADER_WORDS: usize = HEADER_WORDS;

    pub fn parse(words: &[u32]) -> Result<ProgramCode, CodeError> {
        let total = Self::image_words(words)?;
        if words.len() < total {
            return Err(CodeError::Truncated);
        }
        let n_bind = words[2] as usize;
        let bind_end = HEADER_WORDS + n_bind * BINDING_WORDS;
        let bindings = words[HEADER_WORDS..bind_end]
            .chunks_exact(BINDING_WORDS)
            .map(|c| BindingSlot {
                set: c[0],
                binding: c[1],
                table: c[2],
                first: c[3],
                stride: c[4],
            })
            .collect();
        Ok(ProgramCode {
            bindings,
            push_offset: words[4],
            shader: words[bind_end..total].to_vec(),
        })
    }

    /// The slot of (`set`, `binding`).
    pub fn binding(&self, set: u32, binding: u32) -> Option<&BindingSlot> {
        self.bindings
            .iter()
            .find(|b| b.set == set && b.binding == binding)
    }
}
