//! A small in-memory [`Hardware`] for the kernel side's own tests and
//! benchmarks: physical pages in a host map, AS registers that record what
//! the kernel sent. The virtual Mali (`sim`) is the full model; this one only
//! has to be exact about memory and the lock/unlock protocol.

use std::boxed::Box;
use std::collections::HashMap;
use std::sync::Mutex;
use std::vec::Vec;

use crate::gpu_info::GpuReg;
use crate::hw::{
    AsCommand, AsReg, CsRing, CsSlot, CsStatus, CsfInterface, Hardware, HwError, LockAddr,
    PhysAddr, PAGE_SIZE,
};
use crate::shim::AllocError;

const AS_COUNT: u32 = 8;

#[derive(Default, Clone, Copy)]
struct AsState {
    transtab: u64,
    memattr: u64,
    transcfg: u64,
    lockaddr: u64,
    locked: Option<(u64, u64)>,
    commands: u64,
}

#[derive(Default)]
struct Inner {
    pages: HashMap<u64, Box<[u64; 512]>>,
    next_pfn: u64,
    free: Vec<u64>,
    allocated: u64,
    limit: Option<u64>,
    no_huge: bool,
    ases: [AsState; AS_COUNT as usize],
    flushes: u64,
    lock_history: Vec<(u32, u64, u64)>,
    gpu_regs: HashMap<u32, u32>,
    timestamp: u64,
    cs: HashMap<CsSlot, MockCs>,
}

/// A CS interface as the mock records it: nothing executes; tests set the
/// status the kernel side then reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct MockCs {
    pub ring: Option<CsRing>,
    pub insert: u64,
    pub doorbells: u64,
    pub status: CsStatus,
}

/// In-memory hardware. Physical addresses start at 1 GiB so that a zero PA
/// in a descriptor is never valid memory.
pub struct MockHw {
    inner: Mutex<Inner>,
}

impl Default for MockHw {
    fn default() -> Self {
        Self::new()
    }
}

impl MockHw {
    pub fn new() -> Self {
        let inner = Inner {
            next_pfn: (1 << 30) / PAGE_SIZE,
            ..Default::default()
        };
        Self {
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pages currently allocated.
    pub fn allocated_pages(&self) -> u64 {
        self.lock().allocated
    }

    /// Makes allocations fail once `pages` are allocated (None: no limit).
    pub fn set_page_limit(&self, pages: Option<u64>) {
        self.lock().limit = pages;
    }

    /// Makes multi-page allocations fail and spreads single pages apart, as
    /// when memory is fragmented: BOs then get scattered 4 KiB pages.
    pub fn set_no_huge_pages(&self, no_huge: bool) {
        self.lock().no_huge = no_huge;
    }

    pub fn lockaddr(&self, as_nr: u32) -> LockAddr {
        LockAddr(self.lock().ases[as_nr as usize].lockaddr)
    }

    /// The region the MMU holds locked, as (start, size).
    pub fn locked_region(&self, as_nr: u32) -> Option<(u64, u64)> {
        self.lock().ases[as_nr as usize].locked
    }

    pub fn command_count(&self, as_nr: u32) -> u64 {
        self.lock().ases[as_nr as usize].commands
    }

    /// Every LOCK sent, as (as_nr, start, size), oldest first; cleared by
    /// reading.
    pub fn take_lock_history(&self) -> Vec<(u32, u64, u64)> {
        std::mem::take(&mut self.lock().lock_history)
    }

    pub fn cache_flushes(&self) -> u64 {
        self.lock().flushes
    }

    /// Sets what a GPU_CONTROL register reads as (unset ones read 0).
    pub fn set_gpu_reg(&self, reg: GpuReg, value: u32) {
        self.lock().gpu_regs.insert(reg as u32, value);
    }

    /// What the kernel side did to a CS interface.
    pub fn cs(&self, slot: CsSlot) -> MockCs {
        self.lock().cs.get(&slot).copied().unwrap_or_default()
    }

    /// Sets the CS_OUTPUT state the kernel side will read.
    pub fn set_cs_status(&self, slot: CsSlot, status: CsStatus) {
        self.lock().cs.entry(slot).or_default().status = status;
    }

    /// Every allocated page, sorted, with its contents (for "nothing
    /// changed" checks).
    pub fn snapshot(&self) -> Vec<(u64, [u64; 512])> {
        let g = self.lock();
        let mut v: Vec<_> = g.pages.iter().map(|(pfn, p)| (*pfn, **p)).collect();
        v.sort_unstable_by_key(|(pfn, _)| *pfn);
        v
    }
}

impl Hardware for MockHw {
    fn alloc_pages(&self, count: u64, align: u64) -> Result<PhysAddr, AllocError> {
        let mut g = self.lock();
        if let Some(limit) = g.limit {
            if g.allocated + count > limit {
                return Err(AllocError);
            }
        }
        if g.no_huge && count > 1 {
            return Err(AllocError);
        }
        let pfn = if count == 1 && align <= PAGE_SIZE && !g.free.is_empty() {
            g.free.pop().ok_or(AllocError)?
        } else {
            let align_pfn = (align / PAGE_SIZE).max(1);
            let pfn = g.next_pfn.div_ceil(align_pfn) * align_pfn;
            // Without huge pages, memory is fragmented: leave a gap so
            // consecutive pages are never physically adjacent.
            g.next_pfn = pfn + count + g.no_huge as u64;
            pfn
        };
        for p in pfn..pfn + count {
            g.pages.insert(p, Box::new([0xdead_beef_dead_beef; 512]));
        }
        g.allocated += count;
        Ok(PhysAddr(pfn * PAGE_SIZE))
    }

    fn free_pages(&self, pa: PhysAddr, count: u64) {
        let mut g = self.lock();
        let pfn = pa.0 / PAGE_SIZE;
        for p in pfn..pfn + count {
            assert!(g.pages.remove(&p).is_some(), "double free of page {p:#x}");
            g.free.push(p);
        }
        g.allocated -= count;
    }

    fn read_u64(&self, pa: PhysAddr) -> u64 {
        let g = self.lock();
        let page = g
            .pages
            .get(&(pa.0 / PAGE_SIZE))
            .unwrap_or_else(|| panic!("read of unallocated {:#x}", pa.0));
        page[((pa.0 % PAGE_SIZE) / 8) as usize]
    }

    fn write_u64(&self, pa: PhysAddr, value: u64) {
        let mut g = self.lock();
        let page = g
            .pages
            .get_mut(&(pa.0 / PAGE_SIZE))
            .unwrap_or_else(|| panic!("write of unallocated {:#x}", pa.0));
        page[((pa.0 % PAGE_SIZE) / 8) as usize] = value;
    }

    fn read_table(&self, pa: PhysAddr, out: &mut [u64; 512]) {
        let g = self.lock();
        *out = **g
            .pages
            .get(&(pa.0 / PAGE_SIZE))
            .unwrap_or_else(|| panic!("read of unallocated {:#x}", pa.0));
    }

    fn write_table(&self, pa: PhysAddr, entries: &[u64; 512]) {
        let mut g = self.lock();
        **g.pages
            .get_mut(&(pa.0 / PAGE_SIZE))
            .unwrap_or_else(|| panic!("write of unallocated {:#x}", pa.0)) = *entries;
    }

    fn zero_pages(&self, pa: PhysAddr, count: u64) {
        let mut g = self.lock();
        for p in pa.0 / PAGE_SIZE..pa.0 / PAGE_SIZE + count {
            **g.pages
                .get_mut(&p)
                .unwrap_or_else(|| panic!("zero of unallocated page {p:#x}")) = [0; 512];
        }
    }

    fn as_count(&self) -> u32 {
        AS_COUNT
    }

    fn as_read(&self, as_nr: u32, reg: AsReg) -> u64 {
        let g = self.lock();
        let a = &g.ases[as_nr as usize];
        match reg {
            AsReg::Transtab => a.transtab,
            AsReg::Memattr => a.memattr,
            AsReg::TransCfg => a.transcfg,
            AsReg::LockAddr => a.lockaddr,
            _ => 0,
        }
    }

    fn as_write(&self, as_nr: u32, reg: AsReg, value: u64) {
        let mut g = self.lock();
        let a = &mut g.ases[as_nr as usize];
        match reg {
            AsReg::Transtab => a.transtab = value,
            AsReg::Memattr => a.memattr = value,
            AsReg::TransCfg => a.transcfg = value,
            AsReg::LockAddr => a.lockaddr = value,
            AsReg::Command => {
                a.commands += 1;
                match AsCommand::from_raw(value as u32) {
                    Some(AsCommand::Lock) => {
                        let l = LockAddr(a.lockaddr);
                        a.locked = Some((l.start(), l.size()));
                        g.lock_history.push((as_nr, l.start(), l.size()));
                    }
                    Some(AsCommand::Unlock | AsCommand::FlushPt | AsCommand::FlushMem) => {
                        a.locked = None
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn mmu_irq_clear(&self, _as_nr: u32) {
        // The mock never faults.
    }

    fn flush_caches(&self) -> Result<(), HwError> {
        self.lock().flushes += 1;
        Ok(())
    }

    fn gpu_timestamp(&self) -> u64 {
        let mut g = self.lock();
        // A counter that moves on every read, as a running one would.
        g.timestamp += 1;
        g.timestamp
    }

    fn gpu_cycle_count(&self) -> u64 {
        self.gpu_timestamp() * 40
    }

    fn gpu_read(&self, reg: GpuReg) -> u32 {
        self.lock()
            .gpu_regs
            .get(&(reg as u32))
            .copied()
            .unwrap_or(0)
    }

    fn csf_interface(&self) -> CsfInterface {
        CsfInterface {
            csg_slots: 8,
            cs_per_csg: 8,
            cs_features: 0x85f,
        }
    }

    fn cs_bind(&self, slot: CsSlot, ring: CsRing) {
        let mut g = self.lock();
        let cs = g.cs.entry(slot).or_default();
        *cs = MockCs {
            ring: Some(ring),
            ..MockCs::default()
        };
    }

    fn cs_ring_doorbell(&self, slot: CsSlot, insert: u64) {
        let mut g = self.lock();
        let cs = g.cs.entry(slot).or_default();
        cs.insert = insert;
        cs.doorbells += 1;
    }

    fn cs_status(&self, slot: CsSlot) -> CsStatus {
        self.lock()
            .cs
            .get(&slot)
            .map(|c| c.status)
            .unwrap_or_default()
    }

    fn cs_unbind(&self, slot: CsSlot) {
        if let Some(cs) = self.lock().cs.get_mut(&slot) {
            cs.ring = None;
        }
    }
}
