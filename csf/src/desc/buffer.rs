//! The resource table (`SRT` staging register, genxml `Resource` entries)
//! and `Buffer` descriptors.

use super::bits::{get, set};
use super::{BadDescriptor, DescriptorType, PixelFormat, DESCRIPTOR_SIZE};

/// Bytes of one `Resource` entry (genxml size 4 words, align 64).
pub const RESOURCE_SIZE: usize = 16;

/// The `SRT` register value: a 64-byte aligned table address with the
/// entry count in bits 0..5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceTable {
    pub address: u64,
    pub count: u32,
}

impl ResourceTable {
    /// Entries a table may have (6 bits of count).
    pub const MAX_ENTRIES: u32 = 63;

    pub fn pack(self) -> u64 {
        debug_assert!(self.address % 64 == 0 && self.count <= Self::MAX_ENTRIES);
        self.address & !0x3f | (self.count as u64 & 0x3f)
    }

    pub fn unpack(reg: u64) -> ResourceTable {
        ResourceTable {
            address: reg & !0x3f,
            count: (reg & 0x3f) as u32,
        }
    }
}

/// One resource-table entry: a table of descriptors (a descriptor set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// 0:0, 56 bits.
    pub address: u64,
    /// 1:24.
    pub contains_descriptors: bool,
    /// 2:0, 64 bits: bytes of the table.
    pub size: u64,
}

impl Resource {
    pub fn pack(&self) -> [u8; RESOURCE_SIZE] {
        let mut d = [0; RESOURCE_SIZE];
        set(&mut d, 0, 56, self.address);
        set(&mut d, 56, 1, self.contains_descriptors as u64);
        set(&mut d, 64, 64, self.size);
        d
    }

    pub fn unpack(d: &[u8; RESOURCE_SIZE]) -> Resource {
        Resource {
            address: get(d, 0, 56),
            contains_descriptors: get(d, 56, 1) != 0,
            size: get(d, 64, 64),
        }
    }
}

/// genxml enum `Buffer Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferType {
    Simple = 1,
    Structure = 3,
}

/// A `Buffer` descriptor: storage and uniform buffers (Simple) and texel
/// buffers (Structure, with the element stride and format).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    pub ty: BufferType,
    /// 1:0, bytes.
    pub size: u32,
    /// 2:0.
    pub address: u64,
    /// 4:0, bytes per element (structured buffers).
    pub stride: u32,
    /// 7:0 (`Internal Conversion`: format in bits 0..21, raw bit 22): the
    /// element format of a texel buffer.
    pub format: Option<PixelFormat>,
}

impl Buffer {
    /// A storage or uniform buffer of `size` bytes at `address`.
    pub fn simple(address: u64, size: u32) -> Buffer {
        Buffer {
            ty: BufferType::Simple,
            size,
            address,
            stride: 0,
            format: None,
        }
    }

    pub fn pack(&self) -> [u8; DESCRIPTOR_SIZE] {
        let mut d = [0; DESCRIPTOR_SIZE];
        set(&mut d, 0, 4, DescriptorType::Buffer as u64);
        set(&mut d, 4, 4, self.ty as u64);
        set(&mut d, 32, 32, self.size as u64);
        set(&mut d, 64, 64, self.address);
        if self.ty == BufferType::Structure {
            set(&mut d, 128, 32, self.stride as u64);
        }
        if let Some(f) = self.format {
            set(&mut d, 224, 22, f.0 as u64);
        }
        d
    }

    pub fn unpack(d: &[u8; DESCRIPTOR_SIZE]) -> Result<Buffer, BadDescriptor> {
        if DescriptorType::of(d) != Some(DescriptorType::Buffer) {
            return Err(BadDescriptor {
                what: "buffer descriptor type",
                value: get(d, 0, 4),
            });
        }
        let ty = match get(d, 4, 4) {
            1 => BufferType::Simple,
            3 => BufferType::Structure,
            v => {
                return Err(BadDescriptor {
                    what: "buffer type",
                    value: v,
                })
            }
        };
        let structured = ty == BufferType::Structure;
        Ok(Buffer {
            ty,
            size: get(d, 32, 32) as u32,
            address: get(d, 64, 64),
            stride: if structured {
                get(d, 128, 32) as u32
            } else {
                0
            },
            format: structured.then(|| PixelFormat(get(d, 224, 22) as u32)),
        })
    }
}
