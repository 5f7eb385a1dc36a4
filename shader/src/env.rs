//! What a running shader reaches outside itself: GPU memory (through the
//! MMU), its descriptors, its push constants, and the texture unit.
//!
//! The shader core knows SPIR-V; the implementor of [`ShaderEnv`] knows the
//! hardware (Mali descriptor formats, image layouts, page tables). The
//! virtual Mali implements it over one GPU address space; tests implement
//! it over host memory.

/// A GPU access that the MMU refused (unmapped, or a write to a read-only
/// page). It stops the job, as on hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub va: u64,
    pub write: bool,
}

/// A descriptor as the shader core sees it, after the implementor decoded
/// the hardware descriptor. Image and sampler handles are opaque to the
/// core and only passed back to the texture-unit calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Descriptor {
    /// Storage or uniform buffer: `size` bytes at GPU VA `va`.
    Buffer {
        va: u64,
        size: u64,
    },
    /// Storage image, sampled image, or a texel buffer view.
    Image(ImageHandle),
    Sampler(SamplerHandle),
    CombinedImageSampler {
        image: ImageHandle,
        sampler: SamplerHandle,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageHandle(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SamplerHandle(pub u64);

/// An image view's shape as the texture unit reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// Width, height, depth of the asked level (1 where the dimension does
    /// not exist). For texel buffers: the element count, 1, 1.
    pub size: [u32; 3],
    /// Array layers of the view (cube views count faces: 6 per cube).
    pub layers: u32,
    pub levels: u32,
    pub samples: u32,
}

/// A texel as the shader receives or gives it: four 32-bit lanes, already
/// converted to the shader's numeric class (f32 bits for float and
/// normalized formats, i32/u32 for integer formats). Missing components
/// read as (0, 0, 0, 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Texel {
    pub value: [u32; 4],
    /// False when any texel the result was made from lies in a block
    /// that is not resident (its page maps the sparse dummy).
    pub resident: bool,
}

/// Level of detail of a sampling operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lod {
    Explicit(f32),
    /// Explicit gradients (dP/dx, dP/dy), one lane per coordinate.
    Grad {
        dx: [f32; 3],
        dy: [f32; 3],
    },
}

/// One filtered or gathered lookup (OpImageSample*ExplicitLod, OpImageGather,
/// OpImageDrefGather and their sparse forms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleArgs {
    /// (s, t, r, array layer) for 1D/2D/3D (unnormalized when the sampler
    /// says so); (x, y, z, cube array layer) directions for cube views.
    pub coord: [f32; 4],
    pub lod: Lod,
    /// ConstOffset / Offset texel offsets.
    pub offset: [i32; 3],
    /// The MinLod image operand (shaderResourceMinLod).
    pub min_lod: Option<f32>,
    /// Depth reference for Dref forms.
    pub dref: Option<f32>,
    /// Some(component) for gathers.
    pub gather_component: Option<u32>,
}

/// Read-modify-write operations on 32- or 64-bit words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicOp {
    Exchange,
    /// Store `value` if the word equals `comparator`.
    CompareExchange {
        comparator: u64,
    },
    IAdd,
    ISub,
    SMin,
    UMin,
    SMax,
    UMax,
    And,
    Or,
    Xor,
}

impl AtomicOp {
    /// The word's new value when `self` with `value` meets `old`, for a
    /// `width`-byte (4 or 8) word: signed min/max compare the words as
    /// signed integers of that width. The caller masks to the width.
    pub fn apply(self, old: u64, value: u64, width: u8) -> u64 {
        let sx = |v: u64| {
            if width == 8 {
                v as i64
            } else {
                i64::from(v as u32 as i32)
            }
        };
        match self {
            AtomicOp::Exchange => value,
            AtomicOp::CompareExchange { comparator } => {
                if old == comparator {
                    value
                } else {
                    old
                }
            }
            AtomicOp::IAdd => old.wrapping_add(value),
            AtomicOp::ISub => old.wrapping_sub(value),
            AtomicOp::SMin => sx(old).min(sx(value)) as u64,
            AtomicOp::SMax => sx(old).max(sx(value)) as u64,
            AtomicOp::UMin => old.min(value),
            AtomicOp::UMax => old.max(value),
            AtomicOp::And => old & value,
            AtomicOp::Or => old | value,
            AtomicOp::Xor => old ^ value,
        }
    }
}

pub trait ShaderEnv {
    /// Reads `out.len()` bytes at GPU VA `va` through the MMU.
    fn load(&mut self, va: u64, out: &mut [u8]) -> Result<(), Fault>;
    /// Writes `data` at GPU VA `va` through the MMU.
    fn store(&mut self, va: u64, data: &[u8]) -> Result<(), Fault>;
    /// Atomically applies `op` with `value` to the `width`-byte (4 or 8)
    /// little-endian word at `va`; returns the word's previous value
    /// (zero-extended).
    fn atomic(&mut self, va: u64, width: u8, op: AtomicOp, value: u64) -> Result<u64, Fault>;

    /// The descriptor at array element `index` of `binding` in `set`.
    /// Reading the descriptor tables may fault like any memory access.
    fn descriptor(&mut self, set: u32, binding: u32, index: u32) -> Result<Descriptor, Fault>;
    /// Reads push-constant bytes at `offset` of the push-constant block.
    fn push_constants(&mut self, offset: u32, out: &mut [u8]) -> Result<(), Fault>;

    /// OpImageRead / OpImageFetch: integer coordinates (x, y, z or layer,
    /// -): cube views take the face as the layer (layer * 6 + face).
    /// Out-of-bounds reads give zero (robust image access).
    fn image_read(
        &mut self,
        image: ImageHandle,
        coord: [i32; 3],
        lod: u32,
        sample: u32,
    ) -> Result<Texel, Fault>;
    /// OpImageWrite; out-of-bounds writes are dropped.
    fn image_write(
        &mut self,
        image: ImageHandle,
        coord: [i32; 3],
        sample: u32,
        texel: [u32; 4],
    ) -> Result<(), Fault>;
    /// The GPU VA of one texel, for OpImageTexelPointer (atomics on R32
    /// and R64 formats), or None when the coordinate is out of bounds.
    fn image_texel_va(
        &mut self,
        image: ImageHandle,
        coord: [i32; 3],
        sample: u32,
    ) -> Result<Option<u64>, Fault>;
    /// OpImageSample*ExplicitLod and gathers, filtered by `sampler`.
    fn image_sample(
        &mut self,
        image: ImageHandle,
        sampler: SamplerHandle,
        args: &SampleArgs,
    ) -> Result<Texel, Fault>;
    /// Shape of the view at `lod` (OpImageQuerySize(Lod), Levels, Samples).
    fn image_info(&mut self, image: ImageHandle, lod: u32) -> Result<ImageInfo, Fault>;

    /// Polled every few tens of thousands of instructions: true stops the
    /// workgroup (the job was killed, e.g. by the kernel's job timeout).
    fn cancelled(&mut self) -> bool {
        false
    }
}
