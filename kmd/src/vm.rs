//! A GPU virtual address space: VM_BIND's semantics on top of the VA
//! manager, the page tables and the MMU lock region.
//!
//! A bind runs in two phases, so that it applies all its ops or none:
//! 1. **prepare**: every op is checked with the kernel's rules (the same
//!    errno for the same bad input), then everything the ops may need is
//!    allocated: VA-tree nodes and page-table pages (bounded per op by
//!    [`PageTable::tables_for_map`]). A failure here changes nothing.
//! 2. **commit**: per op, lock the op's VA region on the MMU, update the page
//!    tables, update the VA tree, flush and unlock. Nothing can fail but the
//!    hardware itself; if it does, the VM becomes unusable, as in panthor.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::bo::{Backing, BoRef};
use crate::hw::{
    as_send_cmd_and_wait, AsCommand, AsReg, Hardware, MemAttr, TransCfg, Transtab, PAGE_SIZE, SZ_2M,
};
use crate::lock_region::{LockedRegion, RegionLock};
use crate::pgtable::{PageList, PageTable, Pages, Source, SparseLayout};
use crate::pte::Prot;
use crate::uapi::*;
use crate::va::{VaManager, VmaData};
use crate::Errno;

/// Identifies a VM for exclusive-BO checks (never reused in a process).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VmId(u64);

impl VmId {
    fn next() -> VmId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        VmId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// The map flags a VMA keeps (`DRM_PANTHOR_VM_BIND_OP_MAP_*`).
pub const VMA_FLAGS: u32 = DRM_PANTHOR_VM_BIND_OP_MAP_READONLY
    | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC
    | DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED
    | DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE;

/// Every flag a MAP op may carry.
const MAP_OP_FLAGS: u32 = VMA_FLAGS | DRM_PANTHOR_VM_BIND_OP_TYPE_MASK;

/// What a VMA remembers besides its range.
#[derive(Clone, Debug)]
pub struct VmaInfo {
    pub flags: u32,
    /// None for sparse VMAs (they map the VM's dummy).
    pub bo: Option<BoRef>,
    pub bo_offset: u64,
}

impl VmaInfo {
    pub fn is_sparse(&self) -> bool {
        self.flags & DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE != 0
    }
}

impl VmaData for VmaInfo {
    fn split(&self, delta: u64) -> Self {
        // A sparse piece has no BO offset: its pages follow from its VA.
        let bo_offset = if self.is_sparse() {
            0
        } else {
            self.bo_offset + delta
        };
        VmaInfo {
            flags: self.flags,
            bo: self.bo.clone(),
            bo_offset,
        }
    }
}

/// One VM_BIND op as user space sent it, with its BO handle already looked
/// up by the file (`bo` is None when the handle names no BO).
#[derive(Clone, Copy, Debug, Default)]
pub struct RawOp<'a> {
    pub flags: u32,
    pub bo_handle: u32,
    pub bo: Option<&'a BoRef>,
    pub bo_offset: u64,
    pub va: u64,
    pub size: u64,
    /// Number of sync operations attached to the op.
    pub sync_count: u32,
}

/// A checked op, ready for [`Vm::bind`].
#[derive(Clone, Debug)]
pub enum BindOp {
    Map {
        va: u64,
        size: u64,
        flags: u32,
        bo: BoRef,
        bo_offset: u64,
    },
    MapSparse {
        va: u64,
        size: u64,
        flags: u32,
    },
    Unmap {
        va: u64,
        size: u64,
    },
}

impl BindOp {
    fn range(&self) -> (u64, u64) {
        match *self {
            BindOp::Map { va, size, .. }
            | BindOp::MapSparse { va, size, .. }
            | BindOp::Unmap { va, size } => (va, size),
        }
    }
}

/// A failed bind: errno and how many ops were applied (0 unless the
/// hardware failed mid-way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BindError {
    pub errno: Errno,
    pub ops_done: u32,
}

impl From<Errno> for BindError {
    fn from(errno: Errno) -> Self {
        BindError { errno, ops_done: 0 }
    }
}

/// Preallocated page-table pages a VM keeps between binds, so that small
/// binds do not go to the page allocator every time.
const TABLE_CACHE_PAGES: u64 = 64;

/// `PANTHOR_VM_MIN_KERNEL_VA_SIZE`: what VM_CREATE keeps for kernel objects.
pub const MIN_KERNEL_VA_SIZE: u64 = 256 << 20;

/// VM_CREATE's rule for the user VA range: the requested size, or a default
/// from the task size and the GPU's VA bits. EINVAL for non-zero flags or a
/// request that leaves less than 256 MiB to the kernel.
pub fn user_va_range(
    args: &drm_panthor_vm_create,
    va_bits: u32,
    task_size: u64,
) -> Result<u64, Errno> {
    if args.flags != 0 {
        return Err(Errno::EINVAL);
    }
    let full = 1u64 << va_bits;
    if full < MIN_KERNEL_VA_SIZE {
        return Err(Errno::EINVAL);
    }
    let mut range = if args.user_va_range != 0 {
        args.user_va_range
    } else if task_size < full {
        task_size
    } else if full > 1 << 32 {
        full / 2
    } else {
        full - MIN_KERNEL_VA_SIZE
    };
    if full - MIN_KERNEL_VA_SIZE < range {
        range = full - MIN_KERNEL_VA_SIZE;
    }
    if range == 0 || (args.user_va_range != 0 && args.user_va_range > range) {
        return Err(Errno::EINVAL);
    }
    // The kernel keeps a power-of-two range at the top for its objects and
    // gives user space everything below it: asking for 4 GiB of a 48-bit
    // space leaves 2^48 - 2^47 = 2^47 to the user.
    let kernel = 1u64 << (63 - (full - range).leading_zeros());
    Ok(full - kernel)
}

/// One GPU virtual address space.
pub struct Vm {
    hw: Arc<dyn Hardware>,
    id: VmId,
    va_bits: u32,
    user_va_range: u64,
    pt: PageTable,
    vas: VaManager<VmaInfo>,
    lock: RegionLock,
    as_nr: Option<u32>,
    /// The file's dummy BO; the VM holds its own reference because it may
    /// outlive the file (a group keeps using it).
    dummy: BoRef,
    tables: PageList,
    unusable: bool,
    /// Kernel objects mapped above the user range (rings, sync objects),
    /// as sorted (va, size).
    kernel_vas: alloc::vec::Vec<(u64, u64)>,
}

impl Vm {
    /// A VM with `user_va_range` bytes of user VA from 0, page tables laid
    /// out as `layout`.
    pub fn new(
        hw: Arc<dyn Hardware>,
        va_bits: u32,
        user_va_range: u64,
        dummy: BoRef,
        layout: SparseLayout,
    ) -> Result<Vm, Errno> {
        let pt = PageTable::new(&*hw, layout)?;
        Ok(Vm {
            hw,
            id: VmId::next(),
            va_bits,
            user_va_range,
            pt,
            vas: VaManager::new(),
            lock: RegionLock::new(),
            as_nr: None,
            dummy,
            tables: PageList::new(),
            unusable: false,
            kernel_vas: alloc::vec::Vec::new(),
        })
    }

    pub fn id(&self) -> VmId {
        self.id
    }

    pub fn user_va_range(&self) -> u64 {
        self.user_va_range
    }

    pub fn is_unusable(&self) -> bool {
        self.unusable
    }

    /// Marks the VM unusable (an unhandled GPU fault in it, or a failed
    /// page-table update). Maps are then refused.
    pub fn mark_unusable(&mut self) {
        self.unusable = true;
    }

    pub fn page_table(&self) -> &PageTable {
        &self.pt
    }

    pub fn hw(&self) -> &Arc<dyn Hardware> {
        &self.hw
    }

    pub fn dummy(&self) -> &BoRef {
        &self.dummy
    }

    /// The VMAs, in address order.
    pub fn vmas(&self) -> impl Iterator<Item = &crate::va::Vma<VmaInfo>> {
        self.vas.iter()
    }

    /// The address space the VM is bound to, if any.
    pub fn address_space(&self) -> Option<u32> {
        self.as_nr
    }

    /// Binds the VM to hardware address space `as_nr`: programs
    /// TRANSTAB/MEMATTR/TRANSCFG and sends UPDATE.
    pub fn activate(&mut self, as_nr: u32) -> Result<(), Errno> {
        let hw = &*self.hw;
        hw.flush_caches()?;
        hw.as_write(as_nr, AsReg::Transtab, Transtab::new(self.pt.root()).0);
        hw.as_write(as_nr, AsReg::Memattr, MemAttr::panthor_default().0);
        hw.as_write(
            as_nr,
            AsReg::TransCfg,
            TransCfg::aarch64_4k(self.va_bits, false).0,
        );
        as_send_cmd_and_wait(hw, as_nr, AsCommand::Update)?;
        self.as_nr = Some(as_nr);
        Ok(())
    }

    /// Unbinds the VM from its address space (flush, then UNMAPPED mode).
    pub fn deactivate(&mut self) -> Result<(), Errno> {
        let Some(as_nr) = self.as_nr.take() else {
            return Ok(());
        };
        let hw = &*self.hw;
        hw.flush_caches()?;
        hw.as_write(as_nr, AsReg::Transtab, 0);
        hw.as_write(as_nr, AsReg::Memattr, 0);
        hw.as_write(as_nr, AsReg::TransCfg, TransCfg::unmapped().0);
        as_send_cmd_and_wait(hw, as_nr, AsCommand::Update)?;
        Ok(())
    }

    // ----- kernel objects -------------------------------------------------

    /// Maps a whole kernel BO (NOEXEC, uncached, like panthor's
    /// `panthor_kernel_bo_create`) at the lowest free VA of the kernel
    /// range above the user VA.
    pub fn map_kernel_bo(&mut self, bo: &BoRef) -> Result<u64, Errno> {
        let size = bo.size().next_multiple_of(PAGE_SIZE);
        let limit = 1u64 << self.va_bits;
        let mut va = self.user_va_range.next_multiple_of(PAGE_SIZE);
        let mut at = 0;
        for (i, &(start, len)) in self.kernel_vas.iter().enumerate() {
            if va + size <= start {
                break;
            }
            va = va.max(start + len);
            at = i + 1;
        }
        if va.checked_add(size).is_none_or(|end| end > limit) {
            return Err(Errno::ENOMEM);
        }
        crate::shim::try_reserve(&mut self.kernel_vas, 1)?;
        self.bind(&[BindOp::Map {
            va,
            size,
            flags: DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC | DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED,
            bo: bo.clone(),
            bo_offset: 0,
        }])
        .map_err(|e| e.errno)?;
        self.kernel_vas.insert(at, (va, size));
        Ok(va)
    }

    /// Unmaps a kernel BO mapped by [`Vm::map_kernel_bo`].
    pub fn unmap_kernel_bo(&mut self, va: u64) {
        let Some(i) = self.kernel_vas.iter().position(|&(s, _)| s == va) else {
            kwarn!("unmap of kernel VA {va:#x} that is not mapped");
            return;
        };
        let (_, size) = self.kernel_vas.remove(i);
        if let Err(e) = self.bind(&[BindOp::Unmap { va, size }]) {
            kwarn!("unmapping kernel VA {va:#x}: {:?}", e.errno);
        }
    }

    // ----- VM_BIND ------------------------------------------------------

    /// Checks one op with panthor's rules. `Ok(None)` is an op that does
    /// nothing (SYNC_ONLY, or a zero-size synchronous op, which the kernel
    /// accepts without looking further).
    pub fn check_op(&self, op: &RawOp<'_>, asynchronous: bool) -> Result<Option<BindOp>, Errno> {
        if !asynchronous {
            if op.sync_count != 0 {
                return Err(Errno::EINVAL);
            }
            if op.size == 0 {
                return Ok(None);
            }
        }
        if (op.va | op.size | op.bo_offset) & (PAGE_SIZE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        // range_overflows(va, size, user_va_range)
        let max = self.user_va_range;
        if op.va >= max || op.size > max || op.va > max - op.size {
            return Err(Errno::EINVAL);
        }
        let (va, size) = (op.va, op.size);
        match op.flags & DRM_PANTHOR_VM_BIND_OP_TYPE_MASK {
            DRM_PANTHOR_VM_BIND_OP_TYPE_MAP => {
                let sparse = op.flags & DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE != 0;
                if op.flags & !MAP_OP_FLAGS != 0 {
                    return Err(Errno::EINVAL);
                }
                if size == 0 {
                    // A zero-sized VMA would be an empty interval; refuse it.
                    return Err(Errno::EINVAL);
                }
                let flags = op.flags & VMA_FLAGS;
                if sparse {
                    if op.flags & DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC == 0
                        || op.bo_handle != 0
                        || op.bo_offset != 0
                    {
                        return Err(Errno::EINVAL);
                    }
                    return Ok(Some(BindOp::MapSparse { va, size, flags }));
                }
                let bo = op.bo.ok_or(Errno::EINVAL)?;
                if size > bo.size() || op.bo_offset > bo.size() - size {
                    return Err(Errno::EINVAL);
                }
                if bo.exclusive_vm.is_some_and(|owner| owner != self.id) {
                    return Err(Errno::EINVAL);
                }
                Ok(Some(BindOp::Map {
                    va,
                    size,
                    flags,
                    bo: bo.clone(),
                    bo_offset: op.bo_offset,
                }))
            }
            DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP => {
                if op.flags & !DRM_PANTHOR_VM_BIND_OP_TYPE_MASK != 0
                    || op.bo_handle != 0
                    || op.bo_offset != 0
                {
                    return Err(Errno::EINVAL);
                }
                Ok((size != 0).then_some(BindOp::Unmap { va, size }))
            }
            DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY => {
                if op.flags & !DRM_PANTHOR_VM_BIND_OP_TYPE_MASK != 0
                    || op.bo_handle != 0
                    || op.bo_offset != 0
                    || op.va != 0
                    || op.size != 0
                    || op.sync_count == 0
                    || !asynchronous
                {
                    return Err(Errno::EINVAL);
                }
                Ok(None)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Applies checked ops, all or none (see the module comment).
    pub fn bind(&mut self, ops: &[BindOp]) -> Result<(), BindError> {
        self.prepare(ops)?;
        let mut freed = PageList::new();
        let mut result = Ok(());
        for (i, op) in ops.iter().enumerate() {
            if let Err(errno) = self.commit(op, &mut freed) {
                self.unusable = true;
                result = Err(BindError {
                    errno,
                    ops_done: i as u32,
                });
                break;
            }
        }
        // Freed tables are only reused after the unlock above.
        self.tables.append(&*self.hw, &mut freed);
        self.tables.trim_to(&*self.hw, TABLE_CACHE_PAGES);
        result
    }

    /// Phase 1: refuse what cannot be applied, allocate what will be needed.
    fn prepare(&mut self, ops: &[BindOp]) -> Result<(), Errno> {
        let mut nodes = 0usize;
        let mut tables = 0u64;
        for op in ops {
            let (va, size) = op.range();
            let end = va + size;
            match op {
                BindOp::Map { .. } | BindOp::MapSparse { .. } if self.unusable => {
                    return Err(Errno::EINVAL)
                }
                BindOp::Map { flags, .. } => {
                    nodes += 3;
                    tables += self
                        .pt
                        .tables_for_map(va, end, false, Prot::from_bind_flags(*flags));
                }
                BindOp::MapSparse { flags, .. } => {
                    nodes += 3;
                    tables += self
                        .pt
                        .tables_for_map(va, end, true, Prot::from_bind_flags(*flags));
                }
                BindOp::Unmap { .. } => {
                    nodes += 2;
                    tables += PageTable::tables_for_unmap(va, end);
                }
            }
        }
        self.vas.reserve(nodes)?;
        self.tables.fill_to(&*self.hw, tables)?;
        Ok(())
    }

    /// Phase 2 for one op: lock, update the tables and the VA tree, unlock.
    fn commit(&mut self, op: &BindOp, freed: &mut PageList) -> Result<(), Errno> {
        let (va, size) = op.range();
        let hw = &*self.hw;
        let mut region = LockedRegion::new(&mut self.lock, hw, self.as_nr, va, size)?;

        // A change that starts or ends inside a 2 MiB block splits it: lock
        // the whole block so no GPU access sees it half-changed. We ask the
        // page tables, at the range's first and last byte, whether a block is
        // there. (The seed asked the *next* VMA's BO whether its page at the
        // range's start was huge: an offset before that BO's start.) A range
        // that crosses a 2 MiB boundary is already covered by the lock's
        // power-of-two rounding: [18M - 4K, 18M + 4K) locks [16M, 20M). The
        // expansion matters for ranges strictly inside one block.
        let end = va + size;
        let mut lock_start = va;
        let mut lock_end = end;
        if va % SZ_2M != 0 && self.pt.is_block(hw, va) {
            lock_start = va & !(SZ_2M - 1);
        }
        if end % SZ_2M != 0 && self.pt.is_block(hw, end - 1) {
            lock_end = (end & !(SZ_2M - 1)) + SZ_2M;
        }
        if (lock_start, lock_end) != (va, end) {
            region.expand(lock_start, lock_end - lock_start)?;
        }
        if !region.region().covers(va, size) {
            kwarn!(
                "page-table update {:#x}+{:#x} outside the locked region",
                va,
                size
            );
        }

        let mut pages = Pages {
            hw,
            prealloc: &mut self.tables,
            freed,
        };
        let dummy: &Backing = &self.dummy.backing;
        let updated = match op {
            BindOp::Map {
                flags,
                bo,
                bo_offset,
                ..
            } => {
                let src = Source::Bo {
                    backing: &bo.backing,
                    va,
                    offset: *bo_offset,
                };
                self.pt
                    .map(&mut pages, va, size, src, Prot::from_bind_flags(*flags))
            }
            BindOp::MapSparse { flags, .. } => self.pt.map(
                &mut pages,
                va,
                size,
                Source::Sparse { dummy },
                Prot::from_bind_flags(*flags),
            ),
            BindOp::Unmap { .. } => self.pt.unmap(&mut pages, va, size),
        };
        if let Err(e) = updated {
            kwarn!("page-table update failed: {:?}", e);
            let _ = region.finish();
            return Err(Errno::EINVAL);
        }

        // The tree follows the tables; removed VMAs drop their BO references.
        let va_result = match op {
            BindOp::Map {
                flags,
                bo,
                bo_offset,
                ..
            } => {
                let info = VmaInfo {
                    flags: *flags,
                    bo: Some(bo.clone()),
                    bo_offset: *bo_offset,
                };
                self.vas.map(va, size, info, drop)
            }
            BindOp::MapSparse { flags, .. } => self.vas.map(
                va,
                size,
                VmaInfo {
                    flags: *flags,
                    bo: None,
                    bo_offset: 0,
                },
                drop,
            ),
            BindOp::Unmap { .. } => self.vas.unmap(va, size, drop),
        };
        if let Err(e) = va_result {
            kwarn!("VA tree update failed after prepare: {:?}", e);
        }
        region.finish()?;
        Ok(())
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.deactivate();
        let hw = self.hw.clone();
        self.tables.free_all(&*hw);
        self.pt.destroy(&*hw);
    }
}

impl From<crate::shim::AllocError> for BindError {
    fn from(e: crate::shim::AllocError) -> Self {
        BindError::from(Errno::from(e))
    }
}

impl From<crate::va::VaError> for Errno {
    fn from(_: crate::va::VaError) -> Errno {
        Errno::ENOMEM
    }
}

impl From<crate::lock_region::LockError> for BindError {
    fn from(e: crate::lock_region::LockError) -> Self {
        BindError::from(Errno::from(e))
    }
}
