//! [`BufferView`]: texel buffers (uniform and storage texel buffers), which
//! newer panvk describes with a `Buffer` descriptor of type `Structure`:
//! `size` bytes at `address`, element `i` at `address + i * stride`, in the
//! pixel format of the `Internal Conversion` word. Elements are numbered by
//! the x coordinate only; out-of-range reads give the zero texel and
//! out-of-range writes are dropped, without touching memory.

use mali_csf::desc::{Buffer, BufferType};

use super::format::{Class, TexelFormat};
use super::view::{read_descriptor, ViewInfo};
use super::{TexelMemory, TextureFault};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferView {
    pub desc: Buffer,
    desc_va: u64,
    format: TexelFormat,
    /// Bytes per element as stored.
    bytes: u32,
    /// Whole elements in the buffer.
    count: u32,
}

impl BufferView {
    /// Reads the Buffer descriptor at `desc_va`.
    pub fn load(mem: &mut dyn TexelMemory, desc_va: u64) -> Result<BufferView, TextureFault> {
        let d = read_descriptor(mem, desc_va)?;
        let desc = Buffer::unpack(&d).map_err(|_| TextureFault::BadDescriptor { va: desc_va })?;
        BufferView::from_desc(&desc, desc_va)
    }

    /// A texel buffer view of `desc` (read at `desc_va`, kept for faults):
    /// it must be a `Structure` buffer with a format whose texels fit the
    /// stride.
    pub fn from_desc(desc: &Buffer, desc_va: u64) -> Result<BufferView, TextureFault> {
        let bad = TextureFault::BadDescriptor { va: desc_va };
        let pf = match (desc.ty, desc.format) {
            (BufferType::Structure, Some(pf)) => pf,
            _ => return Err(bad),
        };
        let format = TexelFormat::new(pf).ok_or(TextureFault::Unsupported { va: desc_va })?;
        let bytes = format
            .bytes()
            .ok_or(TextureFault::Unsupported { va: desc_va })?;
        if desc.stride < bytes || bytes == 0 {
            return Err(bad);
        }
        // The last element must fit whole: count = floor((size - bytes) /
        // stride) + 1 when size >= bytes.
        let count = match desc.size.checked_sub(bytes) {
            Some(rest) => rest / desc.stride + 1,
            None => 0,
        };
        Ok(BufferView {
            desc: *desc,
            desc_va,
            format,
            bytes,
            count,
        })
    }

    pub fn class(&self) -> Class {
        self.format.class()
    }

    /// The descriptor's VA.
    pub fn desc_va(&self) -> u64 {
        self.desc_va
    }

    /// Element count as the size query reports it.
    pub fn info(&self) -> ViewInfo {
        ViewInfo {
            size: [self.count, 1, 1],
            layers: 1,
            levels: 1,
            samples: 1,
        }
    }

    /// VA of element `x`, if it exists.
    pub fn texel_va(&self, x: i32) -> Result<Option<u64>, TextureFault> {
        let Ok(i) = u32::try_from(x) else {
            return Ok(None);
        };
        if i >= self.count {
            return Ok(None);
        }
        let offset = u64::from(i) * u64::from(self.desc.stride);
        self.desc
            .address
            .checked_add(offset)
            .map(Some)
            .ok_or(TextureFault::BadDescriptor { va: self.desc_va })
    }

    /// OpImageFetch / OpImageRead of element `x`: the texel and whether it
    /// is resident.
    pub fn read(
        &self,
        mem: &mut dyn TexelMemory,
        x: i32,
    ) -> Result<([u32; 4], bool), TextureFault> {
        let Some(va) = self.texel_va(x)? else {
            return Ok((self.format.zero(), true));
        };
        let mut raw = [0u8; 16];
        let len = (self.bytes as usize).min(16);
        let resident = mem.read(va, &mut raw[..len])?;
        Ok((self.format.decode(&raw[..len]), resident))
    }

    /// OpImageWrite of element `x`.
    pub fn write(
        &self,
        mem: &mut dyn TexelMemory,
        x: i32,
        texel: [u32; 4],
    ) -> Result<(), TextureFault> {
        let Some(va) = self.texel_va(x)? else {
            return Ok(());
        };
        let mut raw = [0u8; 16];
        let len = (self.bytes as usize).min(16);
        if !self.format.encode(texel, &mut raw[..len]) {
            return Err(TextureFault::Unsupported { va: self.desc_va });
        }
        mem.write(va, &raw[..len])
    }
}
