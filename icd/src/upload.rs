//! Per-command-buffer GPU memory for data recorded with the commands
//! (resource tables, push constants, local storage descriptors): chunks
//! bump-allocated while recording, kept for the next recording on reset.

use crate::device::DeviceRef;
use crate::guard::VkResult;
use crate::memory::Memory;

const CHUNK: u64 = 64 << 10;

#[derive(Default)]
pub struct Upload {
    chunks: Vec<Memory>,
    /// Index of the chunk being filled and bytes used in it.
    current: usize,
    used: u64,
}

impl Upload {
    /// Forgets the contents; keeps the memory.
    pub fn reset(&mut self) {
        self.current = 0;
        self.used = 0;
    }

    /// Copies `data` into GPU memory aligned to `align` (a power of two)
    /// and returns its GPU VA.
    pub fn push(&mut self, dev: &DeviceRef, data: &[u8], align: u64) -> VkResult<u64> {
        let (va, cpu) = self.reserve(dev, data.len() as u64, align)?;
        // SAFETY: reserve() handed out `data.len()` bytes at `cpu` in a live
        // mapping, which no submitted work reads while recording.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), cpu, data.len()) };
        Ok(va)
    }

    /// Sets aside `len` bytes aligned to `align` (a power of two); returns
    /// their GPU VA and CPU address. The contents are whatever was there.
    pub fn reserve(&mut self, dev: &DeviceRef, len: u64, align: u64) -> VkResult<(u64, *mut u8)> {
        loop {
            if let Some(m) = self.chunks.get(self.current) {
                let at = self.used.next_multiple_of(align);
                if at + len <= m.size {
                    self.used = at + len;
                    // SAFETY: `at` lies inside the chunk's mapping.
                    return Ok((m.va + at, unsafe { m.cpu_ptr()?.add(at as usize) }));
                }
                if self.current + 1 < self.chunks.len() {
                    self.current += 1;
                    self.used = 0;
                    continue;
                }
            }
            self.chunks.push(Memory::new(dev, CHUNK.max(len + align))?);
            self.current = self.chunks.len() - 1;
            self.used = 0;
        }
    }
}
