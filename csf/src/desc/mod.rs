//! The memory descriptors a v10 compute job reads (genxml v10 structs), as
//! typed values with `pack` (what a driver writes) and `unpack` (what the
//! hardware reads): the resource table and its entries, buffers, textures
//! and their planes, samplers, the shader program and local storage, and
//! the packed staging-register values of `RUN_COMPUTE`.
//!
//! Every descriptor but [`Resource`] is 32 bytes, 32-byte aligned, and
//! starts with a 4-bit [`DescriptorType`], so the hardware (and the virtual
//! Mali) tells them apart by that nibble. Field positions are given as
//! `word:bit` next to each field, as genxml writes them.

mod bits;
mod buffer;
mod code;
mod program;
mod sampler;
mod texture;

pub use buffer::{Buffer, BufferType, Resource, ResourceTable, RESOURCE_SIZE};
pub use code::{BindingSlot, CodeError, FauSysvals, ProgramCode, CODE_MAGIC};
pub use program::{FauBuffer, LocalStorage, ShaderProgram, WorkgroupSize};
pub use sampler::{Filter, MipmapMode, Sampler, WrapMode};
pub use texture::{
    ClumpOrdering, GenericPlane, PixelFormat, Texture, TextureDimension, CLUMP_RAW128, CLUMP_RAW16,
    CLUMP_RAW32, CLUMP_RAW64, CLUMP_RAW8, IDENTITY_SWIZZLE,
};

/// Bytes of every 32-byte descriptor.
pub const DESCRIPTOR_SIZE: usize = 32;

/// genxml enum `Descriptor Type` (bits 0..3 of every descriptor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DescriptorType {
    Null = 0,
    Sampler = 1,
    Texture = 2,
    Attribute = 5,
    DepthStencil = 7,
    Shader = 8,
    Buffer = 9,
    Plane = 10,
}

impl DescriptorType {
    /// The type of the descriptor at the start of `d`, if the nibble names one.
    pub fn of(d: &[u8; DESCRIPTOR_SIZE]) -> Option<DescriptorType> {
        Some(match d[0] & 0xf {
            0 => DescriptorType::Null,
            1 => DescriptorType::Sampler,
            2 => DescriptorType::Texture,
            5 => DescriptorType::Attribute,
            7 => DescriptorType::DepthStencil,
            8 => DescriptorType::Shader,
            9 => DescriptorType::Buffer,
            10 => DescriptorType::Plane,
            _ => return None,
        })
    }
}

/// Why the hardware refuses a descriptor: a wrong type nibble or a field
/// holding a value its enum does not define.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadDescriptor {
    pub what: &'static str,
    pub value: u64,
}

impl std::fmt::Display for BadDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad {}: {:#x}", self.what, self.value)
    }
}

/// The all-zero Null descriptor (what an unwritten or null slot holds).
pub const NULL_DESCRIPTOR: [u8; DESCRIPTOR_SIZE] = [0; DESCRIPTOR_SIZE];

#[cfg(test)]
mod tests;
