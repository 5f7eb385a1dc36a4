//! The virtual Mali's texture unit: reads, writes and filters texels of
//! images that `Texture` descriptors describe (genxml v10, `mali_csf::desc`)
//! and of texel buffers that `Buffer` descriptors describe, through one GPU
//! address space ([`TexelMemory`]), and tells whether the texels it touched
//! are resident (their page does not map the sparse dummy).
//!
//! The shader core asks it for one texel or one filtered sample at a time;
//! values cross in the shader's numeric class ([`Class`]): f32 bits for
//! float, UNORM, SNORM and sRGB formats, i32/u32 for integer formats.
//!
//! - [`ImageResource::load`] reads the descriptor at a VA and dispatches on
//!   its type: [`TextureView`] (images), [`BufferView`] (texel buffers) or
//!   a null descriptor;
//! - [`TextureView::read`] / [`TextureView::write`] /
//!   [`TextureView::texel_va`] / [`TextureView::info`] are the unfiltered
//!   operations, [`TextureView::sample`] the filtered ones (`sample.rs`).
//!
//! Files: `format.rs` and `numeric.rs` (texel conversions), `bc.rs` (BC1-5
//! blocks), `addressing.rs` (clump orderings), `plane.rs` (plane
//! descriptors), `view.rs`, `sample.rs`, `wrap.rs`, `cube.rs`, `buffer.rs`.
//!
//! Nothing here panics on descriptor contents or coordinates: malformed
//! descriptors give [`TextureFault::BadDescriptor`], formats and layouts
//! this unit does not implement [`TextureFault::Unsupported`].

mod addressing;
mod bc;
mod buffer;
mod cube;
mod format;
mod numeric;
mod plane;
mod sample;
mod view;
mod wrap;

#[cfg(test)]
mod tests;

pub use buffer::BufferView;
pub use format::Class;
pub use sample::{Lod, SampleArgs};
pub use view::{TextureView, ViewInfo};

use mali_csf::desc::{BufferType, DescriptorType, Sampler};

/// What the texture unit reads and writes through: one GPU address space.
pub trait TexelMemory {
    /// Reads `out.len()` bytes at `va`; returns whether every page touched
    /// is resident (maps real memory rather than the sparse dummy).
    fn read(&mut self, va: u64, out: &mut [u8]) -> Result<bool, TextureFault>;
    fn write(&mut self, va: u64, data: &[u8]) -> Result<(), TextureFault>;
}

/// Why a texture access failed: an MMU fault (the job stops), or a
/// descriptor the hardware cannot use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextureFault {
    Memory {
        va: u64,
        write: bool,
    },
    /// A malformed texture, plane, buffer or sampler descriptor at `va`.
    BadDescriptor {
        va: u64,
    },
    /// A format or layout this texture unit does not implement (the
    /// descriptor at `va` names it).
    Unsupported {
        va: u64,
    },
}

/// Whatever an image descriptor slot holds: what the shader core's image
/// handle resolves to.
#[derive(Clone, Debug)]
pub enum ImageResource {
    Texture(TextureView),
    Buffer(BufferView),
    /// A null descriptor (`nullDescriptor`): reads give zero, writes are
    /// dropped, queries report zero sizes.
    Null,
}

impl ImageResource {
    /// Reads the descriptor at `desc_va`: a Texture, a Structure Buffer
    /// (texel buffer) or a Null descriptor.
    pub fn load(mem: &mut dyn TexelMemory, desc_va: u64) -> Result<ImageResource, TextureFault> {
        let d = view::read_descriptor(mem, desc_va)?;
        match DescriptorType::of(&d) {
            Some(DescriptorType::Texture) => TextureView::load(mem, desc_va).map(Self::Texture),
            Some(DescriptorType::Buffer) => {
                let desc = mali_csf::desc::Buffer::unpack(&d)
                    .map_err(|_| TextureFault::BadDescriptor { va: desc_va })?;
                if desc.ty != BufferType::Structure {
                    return Err(TextureFault::BadDescriptor { va: desc_va });
                }
                BufferView::from_desc(&desc, desc_va).map(Self::Buffer)
            }
            Some(DescriptorType::Null) => Ok(Self::Null),
            _ => Err(TextureFault::BadDescriptor { va: desc_va }),
        }
    }

    /// Integer-coordinate read ([`TextureView::read`]; texel buffers use
    /// `coord[0]` and ignore `level` and `sample`).
    pub fn read(
        &self,
        mem: &mut dyn TexelMemory,
        coord: [i32; 3],
        level: u32,
        sample: u32,
    ) -> Result<([u32; 4], bool), TextureFault> {
        match self {
            Self::Texture(t) => t.read(mem, coord, level, sample),
            Self::Buffer(b) => b.read(mem, coord[0]),
            Self::Null => Ok(([0; 4], true)),
        }
    }

    pub fn write(
        &self,
        mem: &mut dyn TexelMemory,
        coord: [i32; 3],
        sample: u32,
        texel: [u32; 4],
    ) -> Result<(), TextureFault> {
        match self {
            Self::Texture(t) => t.write(mem, coord, sample, texel),
            Self::Buffer(b) => b.write(mem, coord[0], texel),
            Self::Null => Ok(()),
        }
    }

    pub fn texel_va(
        &self,
        mem: &mut dyn TexelMemory,
        coord: [i32; 3],
        sample: u32,
    ) -> Result<Option<u64>, TextureFault> {
        match self {
            Self::Texture(t) => t.texel_va(mem, coord, sample),
            Self::Buffer(b) => b.texel_va(coord[0]),
            Self::Null => Ok(None),
        }
    }

    pub fn info(&self, level: u32) -> ViewInfo {
        match self {
            Self::Texture(t) => t.info(level),
            Self::Buffer(b) => b.info(),
            Self::Null => ViewInfo {
                size: [0; 3],
                layers: 0,
                levels: 0,
                samples: 0,
            },
        }
    }

    /// Filtered lookup; texel buffers cannot be sampled (BadDescriptor),
    /// null descriptors sample zero.
    pub fn sample(
        &self,
        mem: &mut dyn TexelMemory,
        sampler: &Sampler,
        args: &SampleArgs,
    ) -> Result<([u32; 4], bool), TextureFault> {
        match self {
            Self::Texture(t) => t.sample(mem, sampler, args),
            Self::Buffer(b) => Err(TextureFault::BadDescriptor { va: b.desc_va() }),
            Self::Null => Ok(([0; 4], true)),
        }
    }

    /// The numeric class of the texels, `None` for a null descriptor.
    pub fn class(&self) -> Option<Class> {
        match self {
            Self::Texture(t) => Some(t.class()),
            Self::Buffer(b) => Some(b.class()),
            Self::Null => None,
        }
    }
}

/// Reads and unpacks the Sampler descriptor at `va`.
pub fn load_sampler(mem: &mut dyn TexelMemory, va: u64) -> Result<Sampler, TextureFault> {
    let d = view::read_descriptor(mem, va)?;
    Sampler::unpack(&d).map_err(|_| TextureFault::BadDescriptor { va })
}
