//! GEM handles of one open file: BO_CREATE, GEM_CLOSE, BO_MMAP_OFFSET.
//!
//! Handles are small integers, the lowest free one from 1 (as DRM's idr
//! gives them). A handle holds one reference to its BO; VMAs hold others, so
//! closing a handle never unmaps anything. Mmap offsets are fake file offsets
//! from DRM's range (starting at 4 GiB), stable per BO, unique across files.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::bo::{Backing, Bo, BoRef};
use crate::hw::{Hardware, PAGE_SIZE};
use crate::shim::{try_push, Shared};
use crate::uapi::{
    drm_panthor_bo_create, drm_panthor_bo_mmap_offset, DRM_PANTHOR_BO_NO_MMAP,
    DRM_PANTHOR_BO_WB_MMAP,
};
use crate::vm_pool::VmPool;
use crate::Errno;

/// BO flags this kernel side knows (driver 1.7+ adds WB_MMAP).
pub const BO_FLAGS: u32 = DRM_PANTHOR_BO_NO_MMAP | DRM_PANTHOR_BO_WB_MMAP;

/// `DRM_FILE_PAGE_OFFSET_START << PAGE_SHIFT`: where fake mmap offsets begin.
pub const MMAP_OFFSET_START: u64 = 1 << 32;

/// The next free fake offset. DRM hands offsets out per device, so one
/// file can never map another's BO by guessing; a process-wide counter is
/// the same guarantee for every device in the process.
static NEXT_MMAP_OFFSET: AtomicU64 = AtomicU64::new(MMAP_OFFSET_START);

fn alloc_mmap_offset(size: u64) -> Result<u64, Errno> {
    NEXT_MMAP_OFFSET
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
            o.checked_add(size)
        })
        .map_err(|_| Errno::ENOSPC)
}

struct Handle {
    bo: BoRef,
    mmap_offset: Option<u64>,
}

/// The handle table of one file.
pub struct Handles {
    hw: Arc<dyn Hardware>,
    slots: Vec<Option<Handle>>,
}

impl Handles {
    pub fn new(hw: Arc<dyn Hardware>) -> Handles {
        Handles {
            hw,
            slots: Vec::new(),
        }
    }

    /// BO_CREATE: a zeroed BO of `args.size` rounded up to pages. Fills
    /// `handle` and `size`. EINVAL for size 0, a non-zero pad, unknown flags
    /// or an unknown exclusive VM; ENOMEM when memory runs out.
    pub fn bo_create(
        &mut self,
        vms: &VmPool,
        args: &mut drm_panthor_bo_create,
    ) -> Result<(), Errno> {
        if args.size == 0 || args.pad != 0 || args.flags & !BO_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        let exclusive_vm = match args.exclusive_vm_id {
            0 => None,
            id => Some(vms.get(id).ok_or(Errno::EINVAL)?.lock().id()),
        };
        let size = args
            .size
            .checked_next_multiple_of(PAGE_SIZE)
            .ok_or(Errno::EINVAL)?;
        let slot = self.free_slot()?;
        let backing = Backing::alloc(&self.hw, size)?;
        for c in backing.chunks() {
            self.hw.zero_pages(c.pa, c.len / PAGE_SIZE);
        }
        let bo = Shared::try_new(Bo {
            backing,
            flags: args.flags,
            exclusive_vm,
        })?;
        self.slots[slot] = Some(Handle {
            bo,
            mmap_offset: None,
        });
        args.handle = slot as u32 + 1;
        args.size = size;
        Ok(())
    }

    /// Index of the lowest free slot, growing the table if needed.
    fn free_slot(&mut self) -> Result<usize, Errno> {
        if let Some(i) = self.slots.iter().position(Option::is_none) {
            return Ok(i);
        }
        if self.slots.len() >= u32::MAX as usize - 1 {
            return Err(Errno::ENOSPC);
        }
        try_push(&mut self.slots, None)?;
        Ok(self.slots.len() - 1)
    }

    /// Installs `bo` under a new handle (PRIME import, tests).
    pub fn insert(&mut self, bo: BoRef) -> Result<u32, Errno> {
        let slot = self.free_slot()?;
        self.slots[slot] = Some(Handle {
            bo,
            mmap_offset: None,
        });
        Ok(slot as u32 + 1)
    }

    /// The BO behind `handle` (a new reference).
    pub fn lookup(&self, handle: u32) -> Option<BoRef> {
        let i = (handle as usize).checked_sub(1)?;
        self.slots.get(i)?.as_ref().map(|h| h.bo.clone())
    }

    /// The handle this file already has for `bo`, if any.
    pub fn handle_of(&self, bo: &BoRef) -> Option<u32> {
        self.slots
            .iter()
            .position(|h| h.as_ref().is_some_and(|h| Shared::ptr_eq(&h.bo, bo)))
            .map(|i| i as u32 + 1)
    }

    /// GEM_CLOSE. EINVAL for an unknown handle.
    pub fn close(&mut self, handle: u32) -> Result<(), Errno> {
        let i = (handle as usize).checked_sub(1).ok_or(Errno::EINVAL)?;
        match self.slots.get_mut(i) {
            Some(slot @ Some(_)) => {
                *slot = None;
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// BO_MMAP_OFFSET: fills `offset`. EINVAL for a non-zero pad, ENOENT for
    /// an unknown handle.
    pub fn mmap_offset(&mut self, args: &mut drm_panthor_bo_mmap_offset) -> Result<(), Errno> {
        if args.pad != 0 {
            return Err(Errno::EINVAL);
        }
        let i = (args.handle as usize).checked_sub(1).ok_or(Errno::ENOENT)?;
        let h = self
            .slots
            .get_mut(i)
            .and_then(Option::as_mut)
            .ok_or(Errno::ENOENT)?;
        // Since "drm/panthor: Don't create a file offset for NO_MMAP BOs".
        if h.bo.flags & DRM_PANTHOR_BO_NO_MMAP != 0 {
            return Err(Errno::EPERM);
        }
        let offset = match h.mmap_offset {
            Some(o) => o,
            None => {
                let o = alloc_mmap_offset(h.bo.size())?;
                h.mmap_offset = Some(o);
                o
            }
        };
        args.offset = offset;
        Ok(())
    }

    /// What `mmap(offset, len)` of the file maps: the BO and the byte offset
    /// in it (always 0). EINVAL when no BO of this file starts at `offset`
    /// or `len` passes its end; EACCES for an offset another file was given.
    pub fn mmap_target(&self, offset: u64, len: u64) -> Result<(BoRef, u64), Errno> {
        for h in self.slots.iter().flatten() {
            let Some(start) = h.mmap_offset else { continue };
            let size = h.bo.size();
            // DRM looks mmap offsets up exactly: a mapping starts at a BO's
            // offset, never inside it.
            if offset == start {
                if len == 0 || len > size {
                    return Err(Errno::EINVAL);
                }
                return Ok((h.bo.clone(), 0));
            }
        }
        // An offset handed to some other file: DRM refuses it with EACCES
        // (drm_vma_node_is_allowed). Offsets are never reused, so this also
        // covers a BO already freed, which DRM would call EINVAL.
        let handed_out = NEXT_MMAP_OFFSET.load(Ordering::Relaxed);
        let inside_ours = self.slots.iter().flatten().any(|h| {
            h.mmap_offset
                .is_some_and(|start| offset > start && offset - start < h.bo.size())
        });
        if !inside_ours && (MMAP_OFFSET_START..handed_out).contains(&offset) {
            return Err(Errno::EACCES);
        }
        Err(Errno::EINVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgtable::SparseLayout;
    use crate::testing::MockHw;
    use crate::uapi::drm_panthor_vm_create;

    fn setup() -> (Arc<MockHw>, VmPool, Handles) {
        let mock = Arc::new(MockHw::new());
        let hw: Arc<dyn Hardware> = mock.clone();
        let pool = VmPool::new(hw.clone(), 48, 1 << 48, SparseLayout::Shared).unwrap();
        (mock, pool, Handles::new(hw))
    }

    #[test]
    fn create_rounds_zeroes_and_hands_out_lowest_handles() {
        let (mock, pool, mut h) = setup();
        let mut a = drm_panthor_bo_create {
            size: 5000,
            ..Default::default()
        };
        h.bo_create(&pool, &mut a).unwrap();
        assert_eq!((a.handle, a.size), (1, 8192));
        let bo = h.lookup(1).unwrap();
        for c in bo.backing.chunks() {
            assert_eq!(mock.read_u64(c.pa), 0, "BO memory must start zeroed");
        }
        let mut b = drm_panthor_bo_create {
            size: 4096,
            ..Default::default()
        };
        h.bo_create(&pool, &mut b).unwrap();
        assert_eq!(b.handle, 2);
        h.close(1).unwrap();
        assert_eq!(h.close(1), Err(Errno::EINVAL));
        assert_eq!(h.close(0), Err(Errno::EINVAL));
        let mut c = drm_panthor_bo_create {
            size: 4096,
            ..Default::default()
        };
        h.bo_create(&pool, &mut c).unwrap();
        assert_eq!(c.handle, 1, "lowest free handle is reused");
    }

    #[test]
    fn create_rejects_bad_arguments_and_changes_nothing() {
        let (mock, pool, mut h) = setup();
        let pages = mock.allocated_pages();
        for bad in [
            drm_panthor_bo_create {
                size: 0,
                ..Default::default()
            },
            drm_panthor_bo_create {
                size: 4096,
                pad: 1,
                ..Default::default()
            },
            drm_panthor_bo_create {
                size: 4096,
                flags: 1 << 5,
                ..Default::default()
            },
            drm_panthor_bo_create {
                size: 4096,
                exclusive_vm_id: 3,
                ..Default::default()
            },
            drm_panthor_bo_create {
                size: u64::MAX,
                ..Default::default()
            },
        ] {
            let mut args = bad;
            assert_eq!(h.bo_create(&pool, &mut args), Err(Errno::EINVAL), "{bad:?}");
            assert_eq!(args.handle, 0);
        }
        assert_eq!(mock.allocated_pages(), pages);
        assert!(h.lookup(1).is_none());
        mock.set_page_limit(Some(pages));
        let mut big = drm_panthor_bo_create {
            size: 1 << 20,
            ..Default::default()
        };
        assert_eq!(h.bo_create(&pool, &mut big), Err(Errno::ENOMEM));
        assert_eq!(mock.allocated_pages(), pages);
    }

    #[test]
    fn exclusive_bo_is_bound_to_its_vm() {
        let (_mock, mut pool, mut h) = setup();
        let mut vm = drm_panthor_vm_create::default();
        pool.create(&mut vm).unwrap();
        let mut args = drm_panthor_bo_create {
            size: 4096,
            exclusive_vm_id: vm.id,
            ..Default::default()
        };
        h.bo_create(&pool, &mut args).unwrap();
        assert_eq!(
            h.lookup(args.handle).unwrap().exclusive_vm,
            Some(pool.get(vm.id).unwrap().lock().id())
        );
    }

    #[test]
    fn mmap_offsets_are_stable_and_checked() {
        let (_mock, pool, mut h) = setup();
        let mut a = drm_panthor_bo_create {
            size: 8192,
            ..Default::default()
        };
        h.bo_create(&pool, &mut a).unwrap();
        let mut n = drm_panthor_bo_create {
            size: 4096,
            flags: DRM_PANTHOR_BO_NO_MMAP,
            ..Default::default()
        };
        h.bo_create(&pool, &mut n).unwrap();
        let mut off = drm_panthor_bo_mmap_offset {
            handle: a.handle,
            ..Default::default()
        };
        h.mmap_offset(&mut off).unwrap();
        let first = off.offset;
        assert!(first >= MMAP_OFFSET_START && first % PAGE_SIZE == 0);
        h.mmap_offset(&mut off).unwrap();
        assert_eq!(off.offset, first);
        assert_eq!(h.mmap_target(first, 4096).unwrap().1, 0);
        assert_eq!(
            h.mmap_target(first + 4096, 4096).err(),
            Some(Errno::EINVAL),
            "a mapping starts at the BO's offset"
        );
        assert_eq!(h.mmap_target(first, 3 * 4096).err(), Some(Errno::EINVAL));
        let mut bad = drm_panthor_bo_mmap_offset {
            handle: 99,
            ..Default::default()
        };
        assert_eq!(h.mmap_offset(&mut bad), Err(Errno::ENOENT));
        let mut bad = drm_panthor_bo_mmap_offset {
            handle: a.handle,
            pad: 1,
            ..Default::default()
        };
        assert_eq!(h.mmap_offset(&mut bad), Err(Errno::EINVAL));
        let mut offn = drm_panthor_bo_mmap_offset {
            handle: n.handle,
            ..Default::default()
        };
        assert_eq!(
            h.mmap_offset(&mut offn),
            Err(Errno::EPERM),
            "NO_MMAP BOs get no mmap offset"
        );
    }
}
