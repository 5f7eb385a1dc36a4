//! The MMU of the virtual Mali.
//!
//! Per address space: the registers (TRANSTAB, MEMATTR, TRANSCFG take effect
//! on UPDATE, as on hardware), a table walker that decodes AArch64 stage-1
//! descriptors on its own (deliberately not sharing the kernel side's
//! decoder, so a wrong bit there shows up here), a TLB that only the MMU
//! commands invalidate (a kernel that forgets a flush sees stale
//! translations), the lock region (accesses inside it wait for UNLOCK), and
//! faults latched in FAULTSTATUS/FAULTADDRESS.
//!
//! Each address space also publishes a [`Generation`]: a counter every AS
//! command bumps. An access path may keep a private micro-TLB of
//! translations it got from [`Mmu::translate_entry`] and use them without
//! taking the slot's lock for as long as the generation they were filled
//! under is current (see `gpu_as.rs`). Every command that can drop a TLB
//! entry, lock a region or change the active tables is a command, so such a
//! cache never outlives what the TLB itself would answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use panthor_kmd::hw::{AsCommand, AsReg, LockAddr, TransCfg};
use panthor_kmd::pte::SW_SPARSE;

use crate::memory::PhysMem;

/// Address spaces the virtual Mali has (AS_PRESENT = 0xff).
pub const AS_COUNT: u32 = 8;

/// `FAULTSTATUS` exception types (bits 7:0), by level where they have one.
pub const TRANSLATION_FAULT_0: u32 = 0xc0;
pub const PERM_FAULT_0: u32 = 0xc8;
pub const ACCESS_FLAG_0: u32 = 0xd8;
/// `FAULTSTATUS` access types (bits 9:8).
pub const ACCESS_TYPE_EX: u32 = 1;
pub const ACCESS_TYPE_READ: u32 = 2;
pub const ACCESS_TYPE_WRITE: u32 = 3;

/// What a GPU access wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// Instruction fetch of a shader program (needs an executable mapping).
    Execute,
}

impl Access {
    const fn type_bits(self) -> u32 {
        match self {
            Access::Read => ACCESS_TYPE_READ,
            Access::Write => ACCESS_TYPE_WRITE,
            Access::Execute => ACCESS_TYPE_EX,
        }
    }
}

/// A latched MMU fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub as_nr: u32,
    pub va: u64,
    /// FAULTSTATUS: exception type | access type << 8.
    pub status: u32,
}

impl Fault {
    pub const fn exception_type(self) -> u32 {
        self.status & 0xff
    }
    pub const fn access_type(self) -> u32 {
        (self.status >> 8) & 3
    }
}

const TLB_ENTRIES: usize = 256;

#[derive(Clone, Copy)]
struct TlbEntry {
    vpn: u64,
    page: Translation,
}

/// What the TLB knows about one 4 KiB page: where it is and what it allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// Physical page address.
    pub ppa: u64,
    pub readonly: bool,
    pub noexec: bool,
    /// The leaf carries the kernel's software bit for sparse dummy
    /// mappings (`panthor_kmd::pte::SW_SPARSE`): the page is not resident.
    pub sparse: bool,
}

impl Translation {
    /// True when the page allows `access`.
    #[inline(always)]
    pub const fn permits(self, access: Access) -> bool {
        match access {
            Access::Read => true,
            Access::Write => !self.readonly,
            Access::Execute => !self.noexec,
        }
    }
}

/// The command generation of one address space: read without locking,
/// bumped only by [`Mmu::write`] of a command. Equal values mean no command
/// ran in between, so no TLB entry was dropped and no region was locked.
#[derive(Clone, Copy)]
pub struct Generation<'a>(&'a AtomicU64);

impl Generation<'_> {
    #[inline(always)]
    pub fn current(self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// A successful translation with the generation it was made under: the
/// page may be reused for other accesses until that generation changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translated {
    pub pa: u64,
    pub page: Translation,
    pub generation: u64,
}

/// The configuration UPDATE latched.
#[derive(Clone, Copy, Default)]
struct Active {
    root: u64,
    transcfg: u64,
}

#[derive(Default)]
struct AsState {
    transtab: u64,
    memattr: u64,
    transcfg: u64,
    lockaddr: u64,
    active: Active,
    locked: Option<LockAddr>,
    fault: Option<Fault>,
    tlb: Vec<Option<TlbEntry>>,
    commands: u64,
}

impl AsState {
    fn invalidate(&mut self, region: Option<LockAddr>) {
        for e in self.tlb.iter_mut() {
            if let Some(t) = e {
                if region.is_none_or(|r| r.contains(t.vpn << 12)) {
                    *e = None;
                }
            }
        }
    }
}

struct AsSlot {
    state: Mutex<AsState>,
    unlocked: Condvar,
    /// Bumped with `state` locked by every AS command (see [`Generation`]).
    generation: AtomicU64,
}

/// The MMU: one slot per address space.
pub struct Mmu {
    slots: [AsSlot; AS_COUNT as usize],
}

impl Default for Mmu {
    fn default() -> Self {
        Self::new()
    }
}

impl Mmu {
    pub fn new() -> Mmu {
        let slots = std::array::from_fn(|_| AsSlot {
            state: Mutex::new(AsState {
                tlb: vec![None; TLB_ENTRIES],
                transcfg: TransCfg::unmapped().0,
                active: Active {
                    root: 0,
                    transcfg: TransCfg::unmapped().0,
                },
                ..Default::default()
            }),
            unlocked: Condvar::new(),
            generation: AtomicU64::new(0),
        });
        Mmu { slots }
    }

    #[inline(always)]
    fn slot(&self, as_nr: u32) -> &AsSlot {
        &self.slots[as_nr as usize % self.slots.len()]
    }

    /// The command generation of `as_nr`, for lock-free reuse of
    /// translations from [`Mmu::translate_entry`].
    pub fn generation(&self, as_nr: u32) -> Generation<'_> {
        Generation(&self.slot(as_nr).generation)
    }

    fn lock(&self, as_nr: u32) -> MutexGuard<'_, AsState> {
        self.slot(as_nr)
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub fn read(&self, as_nr: u32, reg: AsReg) -> u64 {
        let s = self.lock(as_nr);
        match reg {
            AsReg::Transtab => s.transtab,
            AsReg::Memattr => s.memattr,
            AsReg::TransCfg => s.transcfg,
            AsReg::LockAddr => s.lockaddr,
            // Commands complete at once: never ACTIVE.
            AsReg::Status | AsReg::Command => 0,
            AsReg::FaultStatus => s.fault.map_or(0, |f| f.status as u64),
            AsReg::FaultAddress => s.fault.map_or(0, |f| f.va),
            AsReg::FaultExtra => 0,
        }
    }

    pub fn write(&self, as_nr: u32, reg: AsReg, value: u64) {
        let slot = self.slot(as_nr);
        let mut s = self.lock(as_nr);
        match reg {
            AsReg::Transtab => s.transtab = value,
            AsReg::Memattr => s.memattr = value,
            AsReg::TransCfg => s.transcfg = value,
            AsReg::LockAddr => s.lockaddr = value,
            AsReg::Command => {
                s.commands += 1;
                // Before any effect, in the same critical section: a reader
                // that still sees the old value is ordered before this
                // command, one that sees the new value takes the lock.
                slot.generation.fetch_add(1, Ordering::Release);
                match AsCommand::from_raw(value as u32) {
                    Some(AsCommand::Update) => {
                        s.active = Active {
                            root: s.transtab & 0x0000_ffff_ffff_f000,
                            transcfg: s.transcfg,
                        };
                        s.invalidate(None);
                    }
                    Some(AsCommand::Lock) => {
                        let region = LockAddr(s.lockaddr);
                        s.invalidate(Some(region));
                        s.locked = Some(region);
                    }
                    Some(AsCommand::Unlock) => {
                        s.locked = None;
                        slot.unlocked.notify_all();
                    }
                    Some(AsCommand::FlushPt | AsCommand::FlushMem) => {
                        let region = s.locked.unwrap_or(LockAddr(s.lockaddr));
                        s.invalidate(Some(region));
                        s.locked = None;
                        slot.unlocked.notify_all();
                    }
                    Some(AsCommand::Nop) | None => {}
                }
            }
            AsReg::Status | AsReg::FaultStatus | AsReg::FaultAddress | AsReg::FaultExtra => {}
        }
    }

    /// The fault latched on `as_nr`, cleared by reading (the kernel's IRQ
    /// handler reads and clears it).
    pub fn take_fault(&self, as_nr: u32) -> Option<Fault> {
        self.lock(as_nr).fault.take()
    }

    pub fn peek_fault(&self, as_nr: u32) -> Option<Fault> {
        self.lock(as_nr).fault
    }

    /// AS commands received so far.
    pub fn command_count(&self, as_nr: u32) -> u64 {
        self.lock(as_nr).commands
    }

    /// Translates `va` for a GPU access, as the hardware does: waits while
    /// `va` is in the locked region, then TLB, then a table walk. A fault is
    /// latched (the first one stays until taken) and returned.
    pub fn translate(
        &self,
        mem: &PhysMem,
        as_nr: u32,
        va: u64,
        access: Access,
    ) -> Result<u64, Fault> {
        self.translate_entry(mem, as_nr, va, access).map(|t| t.pa)
    }

    /// [`Mmu::translate`], also returning the page's TLB entry and the
    /// generation current while it was looked up (the slot's lock held).
    pub fn translate_entry(
        &self,
        mem: &PhysMem,
        as_nr: u32,
        va: u64,
        access: Access,
    ) -> Result<Translated, Fault> {
        let slot = self.slot(as_nr);
        let mut s = self.lock(as_nr);
        while s.locked.is_some_and(|r| r.contains(va)) {
            s = slot.unlocked.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        let vpn = va >> 12;
        let idx = (vpn as usize) % TLB_ENTRIES;
        let entry = match s.tlb[idx] {
            Some(e) if e.vpn == vpn => Ok(e),
            _ => walk(mem, s.active, va).inspect(|e| s.tlb[idx] = Some(*e)),
        };
        let result = entry.and_then(|e| {
            // Permission faults are reported at the leaf's level; the TLB
            // keeps 4 KiB entries, so level 3 is what it knows.
            if e.page.permits(access) {
                Ok(Translated {
                    pa: e.page.ppa | (va & 0xfff),
                    page: e.page,
                    // Only commands change it, and they need the lock we hold.
                    generation: slot.generation.load(Ordering::Relaxed),
                })
            } else {
                Err(PERM_FAULT_0 + 3)
            }
        });
        result.map_err(|exception| {
            let fault = Fault {
                as_nr,
                va,
                status: exception | access.type_bits() << 8,
            };
            if s.fault.is_none() {
                s.fault = Some(fault);
            }
            fault
        })
    }
}

/// Walks the tables for `va`; Err is the exception type.
fn walk(mem: &PhysMem, active: Active, va: u64) -> Result<TlbEntry, u32> {
    let cfg = TransCfg(active.transcfg);
    if cfg.adrmode() != TransCfg::ADRMODE_AARCH64_4K {
        return Err(TRANSLATION_FAULT_0);
    }
    if cfg.va_bits() < 64 && va >> cfg.va_bits() != 0 {
        return Err(TRANSLATION_FAULT_0);
    }
    const ADDR: u64 = 0x0000_ffff_ffff_f000;
    let mut table = active.root;
    for level in 0..4u32 {
        let shift = 39 - 9 * level;
        let slot = table + 8 * ((va >> shift) & 0x1ff);
        if !mem.contains(slot, 8) {
            return Err(TRANSLATION_FAULT_0 + level);
        }
        let desc = mem.read_u64(slot);
        let kind = desc & 3;
        let is_table = kind == 3 && level < 3;
        let is_leaf = (kind == 3 && level == 3) || (kind == 1 && (level == 1 || level == 2));
        if is_table {
            table = desc & ADDR;
            continue;
        }
        if !is_leaf {
            return Err(TRANSLATION_FAULT_0 + level);
        }
        if desc & (1 << 10) == 0 {
            return Err(ACCESS_FLAG_0 + level);
        }
        let span_mask = (1u64 << shift) - 1;
        let pa = (desc & ADDR & !span_mask) | (va & span_mask & !0xfff);
        return Ok(TlbEntry {
            vpn: va >> 12,
            page: Translation {
                ppa: pa,
                readonly: desc & (1 << 7) != 0,
                noexec: desc & (1 << 54) != 0,
                sparse: desc & SW_SPARSE != 0,
            },
        });
    }
    Err(TRANSLATION_FAULT_0 + 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use panthor_kmd::hw::{PAGE_SIZE, SZ_2M};
    use std::sync::Arc;
    use std::time::Duration;

    /// Hand-built tables: root -> L1 -> L2 -> L3 mapping VA 0x20_1000.
    struct Tables {
        mem: PhysMem,
        root: u64,
        l3: u64,
        page_a: u64,
        page_b: u64,
    }

    fn page(mem: &PhysMem) -> u64 {
        let p = mem.alloc_pages(1, PAGE_SIZE).unwrap().0;
        mem.zero(p, PAGE_SIZE);
        p
    }

    const VA: u64 = 0x20_1000;
    const PAGE_RW: u64 = (1 << 10) | (1 << 6) | (1 << 2) | 3;

    fn tables() -> Tables {
        let mem = PhysMem::new(16 * SZ_2M).unwrap();
        let (root, l1, l2, l3, page_a, page_b) = (
            page(&mem),
            page(&mem),
            page(&mem),
            page(&mem),
            page(&mem),
            page(&mem),
        );
        mem.write_u64(root, l1 | 3);
        mem.write_u64(l1, l2 | 3);
        mem.write_u64(l2 + 8, l3 | 3); // VA bits 29:21 = 1
        mem.write_u64(l3 + 8, page_a | PAGE_RW); // VA bits 20:12 = 1
        Tables {
            mem,
            root,
            l3,
            page_a,
            page_b,
        }
    }

    fn enable(mmu: &Mmu, root: u64) {
        mmu.write(0, AsReg::Transtab, root);
        mmu.write(0, AsReg::TransCfg, TransCfg::aarch64_4k(48, false).0);
        mmu.write(0, AsReg::Command, AsCommand::Update as u64);
    }

    #[test]
    fn walks_real_descriptors_after_update_only() {
        let t = tables();
        let mmu = Mmu::new();
        assert!(
            mmu.translate(&t.mem, 0, VA, Access::Read).is_err(),
            "unmapped mode before UPDATE"
        );
        mmu.take_fault(0);
        enable(&mmu, t.root);
        assert_eq!(
            mmu.translate(&t.mem, 0, VA + 0x10, Access::Read),
            Ok(t.page_a + 0x10)
        );
    }

    #[test]
    fn stale_translation_until_the_kernel_flushes() {
        let t = tables();
        let mmu = Mmu::new();
        enable(&mmu, t.root);
        assert_eq!(mmu.translate(&t.mem, 0, VA, Access::Read), Ok(t.page_a));
        // The kernel rewrites the PTE but forgets LOCK/UNLOCK: the TLB still
        // answers with the old page.
        t.mem.write_u64(t.l3 + 8, t.page_b | PAGE_RW);
        assert_eq!(
            mmu.translate(&t.mem, 0, VA, Access::Read),
            Ok(t.page_a),
            "stale TLB entry"
        );
        // LOCK of a region that covers the VA drops the entry.
        let (lockaddr, _) = panthor_kmd::lock_region::pack_region_range(VA, PAGE_SIZE);
        mmu.write(0, AsReg::LockAddr, lockaddr.0);
        mmu.write(0, AsReg::Command, AsCommand::Lock as u64);
        mmu.write(0, AsReg::Command, AsCommand::Unlock as u64);
        assert_eq!(mmu.translate(&t.mem, 0, VA, Access::Read), Ok(t.page_b));
    }

    #[test]
    fn accesses_to_the_locked_region_wait_for_unlock() {
        let t = Arc::new(tables());
        let mmu = Arc::new(Mmu::new());
        enable(&mmu, t.root);
        let (lockaddr, _) = panthor_kmd::lock_region::pack_region_range(VA, PAGE_SIZE);
        mmu.write(0, AsReg::LockAddr, lockaddr.0);
        mmu.write(0, AsReg::Command, AsCommand::Lock as u64);
        // Outside the region: no wait.
        assert!(mmu.translate(&t.mem, 0, 0x40_0000, Access::Read).is_err());
        let (m2, t2) = (mmu.clone(), t.clone());
        let waiter = std::thread::spawn(move || m2.translate(&t2.mem, 0, VA, Access::Read));
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !waiter.is_finished(),
            "access inside the locked region went through"
        );
        t.mem.write_u64(t.l3 + 8, t.page_b | PAGE_RW);
        mmu.write(0, AsReg::Command, AsCommand::Unlock as u64);
        assert_eq!(
            waiter.join().unwrap(),
            Ok(t.page_b),
            "saw the update made while locked"
        );
    }

    #[test]
    fn faults_are_latched_with_type_level_and_access() {
        let t = tables();
        let mmu = Mmu::new();
        enable(&mmu, t.root);
        // Nothing at level 2 index 2.
        let f = mmu
            .translate(&t.mem, 0, 0x40_0000, Access::Write)
            .unwrap_err();
        assert_eq!(
            (f.exception_type(), f.access_type(), f.va),
            (TRANSLATION_FAULT_0 + 2, ACCESS_TYPE_WRITE, 0x40_0000)
        );
        // A second fault does not overwrite the latched one.
        let _ = mmu.translate(&t.mem, 0, 0x80_0000, Access::Read);
        assert_eq!(mmu.read(0, AsReg::FaultAddress), 0x40_0000);
        assert_eq!(mmu.take_fault(0), Some(f));
        assert_eq!(mmu.read(0, AsReg::FaultStatus), 0);

        // Read-only page: reads pass, writes fault.
        t.mem.write_u64(t.l3 + 8, t.page_a | PAGE_RW | (1 << 7));
        mmu.write(0, AsReg::Command, AsCommand::Update as u64);
        assert!(mmu.translate(&t.mem, 0, VA, Access::Read).is_ok());
        let f = mmu.translate(&t.mem, 0, VA, Access::Write).unwrap_err();
        assert_eq!(f.exception_type() & !3, PERM_FAULT_0);
        mmu.take_fault(0);

        // Execute-never.
        t.mem.write_u64(t.l3 + 8, t.page_a | PAGE_RW | (3 << 53));
        mmu.write(0, AsReg::Command, AsCommand::Update as u64);
        assert_eq!(
            mmu.translate(&t.mem, 0, VA, Access::Execute)
                .unwrap_err()
                .access_type(),
            ACCESS_TYPE_EX
        );
        mmu.take_fault(0);

        // Access flag clear: an access-flag fault at level 3.
        t.mem.write_u64(t.l3 + 8, (t.page_a | PAGE_RW) & !(1 << 10));
        mmu.write(0, AsReg::Command, AsCommand::Update as u64);
        assert_eq!(
            mmu.translate(&t.mem, 0, VA, Access::Read)
                .unwrap_err()
                .exception_type(),
            ACCESS_FLAG_0 + 3
        );

        // 0b01 at level 3 is reserved: a translation fault, not a page.
        t.mem.write_u64(t.l3 + 8, (t.page_a | PAGE_RW) & !2);
        mmu.write(0, AsReg::Command, AsCommand::Update as u64);
        mmu.take_fault(0);
        assert_eq!(
            mmu.translate(&t.mem, 0, VA, Access::Read)
                .unwrap_err()
                .exception_type(),
            TRANSLATION_FAULT_0 + 3
        );
    }
}
