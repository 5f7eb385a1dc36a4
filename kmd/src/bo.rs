//! Buffer-object backing: the physical pages behind a BO, as the kernel's
//! scatter-gather table describes them (a list of contiguous chunks).
//!
//! BOs of 2 MiB or more are backed by 2 MiB aligned contiguous chunks where
//! the allocator can give them (transparent huge pages do the same for
//! shmem-backed GEM objects), so that they can be mapped with 2 MiB blocks;
//! the rest, and smaller BOs, get 4 KiB pages.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::hw::{Hardware, PhysAddr, PAGE_SIZE, SZ_2M};
use crate::shim::{try_push, AllocError};

/// A physically contiguous piece of a BO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Offset of the chunk in the BO.
    pub offset: u64,
    pub pa: PhysAddr,
    pub len: u64,
}

/// The physical pages of a BO, freed when dropped.
pub struct Backing {
    hw: Arc<dyn Hardware>,
    chunks: Vec<Chunk>,
    size: u64,
}

impl Backing {
    /// Allocates `size` bytes (a multiple of 4 KiB). All or nothing: on
    /// failure every page taken so far is returned.
    pub fn alloc(hw: &Arc<dyn Hardware>, size: u64) -> Result<Backing, AllocError> {
        if size == 0 || size % PAGE_SIZE != 0 {
            return Err(AllocError);
        }
        let mut b = Backing {
            hw: hw.clone(),
            chunks: Vec::new(),
            size: 0,
        };
        while b.size < size {
            let left = size - b.size;
            let huge = if left >= SZ_2M {
                hw.alloc_pages(SZ_2M / PAGE_SIZE, SZ_2M).ok()
            } else {
                None
            };
            let (pa, len) = match huge {
                Some(pa) => (pa, SZ_2M),
                None => (hw.alloc_pages(1, PAGE_SIZE)?, PAGE_SIZE),
            };
            let chunk = Chunk {
                offset: b.size,
                pa,
                len,
            };
            if let Err(e) = b.push_merged(chunk) {
                hw.free_pages(pa, len / PAGE_SIZE);
                return Err(e);
            }
            b.size += len;
        }
        Ok(b)
    }

    /// Appends a chunk, merging it into the previous one when physically
    /// adjacent (so lookups see the longest contiguous runs).
    fn push_merged(&mut self, c: Chunk) -> Result<(), AllocError> {
        if let Some(last) = self.chunks.last_mut() {
            if last.pa.add(last.len) == c.pa && last.offset + last.len == c.offset {
                // Keep allocation units separate for freeing: only merge
                // equal-sized units (4 KiB runs or 2 MiB runs).
                if (last.len % SZ_2M == 0) == (c.len == SZ_2M) {
                    last.len += c.len;
                    return Ok(());
                }
            }
        }
        try_push(&mut self.chunks, c)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// The physical address of BO byte `offset` and how many bytes are
    /// contiguous from there. None past the end.
    pub fn lookup(&self, offset: u64) -> Option<(PhysAddr, u64)> {
        let i = self.chunks.partition_point(|c| c.offset + c.len <= offset);
        let c = self.chunks.get(i)?;
        let delta = offset.checked_sub(c.offset)?;
        Some((c.pa.add(delta), c.len - delta))
    }

    /// True when the whole BO is one 2 MiB-aligned contiguous 2 MiB chunk
    /// (then a 2 MiB block can map it).
    pub fn is_one_huge_page(&self) -> bool {
        matches!(self.chunks.as_slice(), [c] if c.len == SZ_2M && c.pa.is_aligned(SZ_2M))
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        for c in &self.chunks {
            // Free in the units they were allocated in.
            let unit = if c.len % SZ_2M == 0 && c.pa.is_aligned(SZ_2M) {
                SZ_2M
            } else {
                PAGE_SIZE
            };
            let mut off = 0;
            while off < c.len {
                self.hw.free_pages(c.pa.add(off), unit / PAGE_SIZE);
                off += unit;
            }
        }
    }
}

impl core::fmt::Debug for Backing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Backing")
            .field("size", &self.size)
            .field("chunks", &self.chunks.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MockHw;

    #[test]
    fn large_bos_get_huge_chunks_small_ones_pages() {
        let mock = Arc::new(MockHw::new());
        let hw: Arc<dyn Hardware> = mock.clone();
        let b = Backing::alloc(&hw, 2 * SZ_2M + 3 * PAGE_SIZE).unwrap();
        let (pa, contig) = b.lookup(0).unwrap();
        assert!(pa.is_aligned(SZ_2M) && contig >= SZ_2M);
        assert!(b.lookup(SZ_2M).unwrap().1 >= SZ_2M);
        assert_eq!(b.lookup(2 * SZ_2M + PAGE_SIZE).unwrap().1 % PAGE_SIZE, 0);
        assert_eq!(b.lookup(b.size()), None);
        assert_eq!(mock.allocated_pages(), 2 * 512 + 3);
        drop(b);
        assert_eq!(mock.allocated_pages(), 0);

        let d = Backing::alloc(&hw, SZ_2M).unwrap();
        assert!(d.is_one_huge_page());
    }

    #[test]
    fn failed_allocation_returns_everything() {
        let mock = Arc::new(MockHw::new());
        let hw: Arc<dyn Hardware> = mock.clone();
        mock.set_page_limit(Some(600));
        assert!(Backing::alloc(&hw, 2 * SZ_2M).is_err());
        assert_eq!(mock.allocated_pages(), 0);
    }
}

/// A buffer object as the kernel side sees it.
#[derive(Debug)]
pub struct Bo {
    pub backing: Backing,
    /// `DRM_PANTHOR_BO_*` creation flags.
    pub flags: u32,
    /// Set for BOs created with `exclusive_vm_id`: only that VM may map them.
    pub exclusive_vm: Option<crate::vm::VmId>,
}

impl Bo {
    pub fn size(&self) -> u64 {
        self.backing.size()
    }
}

/// A counted reference to a BO (a GEM object reference).
pub type BoRef = crate::shim::Shared<Bo>;
