// SPDX-License-Identifier: MIT

//! The core's [`Hardware`] and [`Waiter`] inside a real kernel, with no GPU
//! behind them: physical pages are real kernel pages (page tables and BO
//! backing live in RAM at their real physical addresses, read and written
//! through the direct map), the MMU address-space registers are a software
//! model that completes every command at once and remembers the locked
//! region, and the CSF interfaces accept work but never run it (this device
//! offers no groups).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::ffi;
use crate::gpu_info::{GpuId, GpuReg};
use crate::hw::*;
use crate::shim::{AllocError, Lock};
use crate::wait::Waiter;

/// Address spaces the model offers (AS_PRESENT = 0xff, as on the RK3588).
const AS_COUNT: usize = 8;

/// One address space's registers.
#[derive(Clone, Copy, Default)]
struct AsRegs {
    transtab: u64,
    memattr: u64,
    transcfg: u64,
    lockaddr: u64,
    /// The region LOCK latched, until UNLOCK or a FLUSH_* ends it.
    locked: Option<LockAddr>,
    commands: u64,
}

pub struct KernelHw {
    regs: Lock<[AsRegs; AS_COUNT]>,
    flushes: AtomicU64,
    pages: AtomicU64,
}

impl KernelHw {
    pub fn new() -> Self {
        Self {
            regs: Lock::new([AsRegs::default(); AS_COUNT]),
            flushes: AtomicU64::new(0),
            pages: AtomicU64::new(0),
        }
    }

    /// Pages allocated through this Hardware and not yet freed.
    pub fn allocated_pages(&self) -> u64 {
        self.pages.load(Ordering::Relaxed)
    }

    /// The region AS `as_nr` has locked now (start, size).
    pub fn locked_region(&self, as_nr: u32) -> Option<(u64, u64)> {
        let regs = self.regs.lock();
        regs.get(as_nr as usize)?
            .locked
            .map(|l| (l.start(), l.size()))
    }

    pub fn lockaddr(&self, as_nr: u32) -> u64 {
        self.regs.lock()[as_nr as usize % AS_COUNT].lockaddr
    }

    pub fn command_count(&self, as_nr: u32) -> u64 {
        self.regs.lock()[as_nr as usize % AS_COUNT].commands
    }

    pub fn cache_flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    fn word(pa: PhysAddr) -> *mut u64 {
        // SAFETY: the core passes addresses inside pages it got from
        // alloc_pages (the trait's contract), which are in the direct map.
        unsafe { ffi::vpanthor_phys_to_virt(pa.0) }.cast()
    }
}

impl Hardware for KernelHw {
    fn alloc_pages(&self, count: u64, align: u64) -> Result<PhysAddr, AllocError> {
        // SAFETY: a plain page-allocator call.
        let pa = unsafe { ffi::vpanthor_alloc_pages(count, align) };
        if pa == 0 {
            return Err(AllocError);
        }
        self.pages.fetch_add(count, Ordering::Relaxed);
        Ok(PhysAddr(pa))
    }

    fn free_pages(&self, pa: PhysAddr, count: u64) {
        // SAFETY: the trait's contract: pa/count came from alloc_pages.
        unsafe { ffi::vpanthor_free_pages(pa.0, count) };
        self.pages.fetch_sub(count, Ordering::Relaxed);
    }

    fn read_u64(&self, pa: PhysAddr) -> u64 {
        // SAFETY: see `word`; 8-byte aligned because the core addresses
        // descriptors and words at multiples of 8.
        unsafe { core::ptr::read_volatile(Self::word(pa)) }
    }

    fn write_u64(&self, pa: PhysAddr, value: u64) {
        // SAFETY: as in read_u64.
        unsafe { core::ptr::write_volatile(Self::word(pa), value) }
    }

    fn zero_pages(&self, pa: PhysAddr, count: u64) {
        // SAFETY: `count` pages from alloc_pages at `pa` are contiguous in
        // the direct map.
        unsafe {
            core::ptr::write_bytes(Self::word(pa).cast::<u8>(), 0, (count * PAGE_SIZE) as usize)
        }
    }

    fn as_count(&self) -> u32 {
        AS_COUNT as u32
    }

    fn as_read(&self, as_nr: u32, reg: AsReg) -> u64 {
        let regs = self.regs.lock();
        let Some(r) = regs.get(as_nr as usize) else {
            return 0;
        };
        match reg {
            AsReg::Transtab => r.transtab,
            AsReg::Memattr => r.memattr,
            AsReg::LockAddr => r.lockaddr,
            AsReg::TransCfg => r.transcfg,
            // Commands complete at once and nothing faults.
            _ => 0,
        }
    }

    fn as_write(&self, as_nr: u32, reg: AsReg, value: u64) {
        let mut regs = self.regs.lock();
        let Some(r) = regs.get_mut(as_nr as usize) else {
            return;
        };
        match reg {
            AsReg::Transtab => r.transtab = value,
            AsReg::Memattr => r.memattr = value,
            AsReg::LockAddr => r.lockaddr = value,
            AsReg::TransCfg => r.transcfg = value,
            AsReg::Command => {
                r.commands += 1;
                match AsCommand::from_raw(value as u32) {
                    Some(AsCommand::Lock) => r.locked = Some(LockAddr(r.lockaddr)),
                    Some(AsCommand::Unlock | AsCommand::FlushPt | AsCommand::FlushMem) => {
                        r.locked = None
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn mmu_irq_clear(&self, _as_nr: u32) {}

    fn flush_caches(&self) -> Result<(), HwError> {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn gpu_read(&self, reg: GpuReg) -> u32 {
        g610(reg)
    }

    fn gpu_timestamp(&self) -> u64 {
        // TIMESTAMP_FREQUENCY is 24 MHz: 3 ticks per 125 ns.
        // SAFETY: a plain clock read.
        let ns = unsafe { ffi::vpanthor_now_ns() }.max(0) as u64;
        ns / 125 * 3
    }

    fn gpu_cycle_count(&self) -> u64 {
        // No GPU clock: count at 1 GHz, one cycle per nanosecond.
        // SAFETY: a plain clock read.
        unsafe { ffi::vpanthor_now_ns() }.max(0) as u64
    }

    fn csf_interface(&self) -> CsfInterface {
        // What the RK3588's CSF firmware advertises (as sim/'s gpu_id.rs).
        CsfInterface {
            csg_slots: 8,
            cs_per_csg: 8,
            cs_features: (8 << 8) | (96 - 1),
        }
    }

    fn cs_bind(&self, _slot: CsSlot, _ring: CsRing) {}

    fn cs_ring_doorbell(&self, _slot: CsSlot, _insert: u64) {}

    fn cs_status(&self, _slot: CsSlot) -> CsStatus {
        CsStatus::default()
    }

    fn cs_unbind(&self, _slot: CsSlot) {}
}

/// The identification registers of the Mali-G610 MC4 of RK3588 boards: the
/// same values, from the same sources, as sim/src/gpu_id.rs.
fn g610(reg: GpuReg) -> u32 {
    match reg {
        GpuReg::GpuId => GpuId::new(10, 8, 6, 7, 0, 0, 5).0,
        GpuReg::L2Features => 0x0712_0306,
        GpuReg::TilerFeatures => 0x809,
        GpuReg::MemFeatures => 0x301,
        GpuReg::MmuFeatures => 0x2830,
        GpuReg::AsPresent => 0xff,
        GpuReg::CsfId => 0x040a_0412,
        GpuReg::ThreadMaxThreads => 2048,
        GpuReg::ThreadMaxWorkgroupSize => 1024,
        GpuReg::ThreadMaxBarrierSize => 1024,
        GpuReg::ThreadFeatures => 0x0401_0000,
        GpuReg::TextureFeatures0 => 0xc1ff_ff9e,
        GpuReg::ShaderPresentLo => 0x0005_0005,
        GpuReg::TilerPresentLo => 1,
        GpuReg::L2PresentLo => 1,
        _ => 0,
    }
}

/// Sleeping and clocks: a wait queue in the C half and ktime.
pub struct KernelWaiter {
    generation: AtomicU64,
}

impl KernelWaiter {
    pub fn new() -> Self {
        Self {
            generation: AtomicU64::new(0),
        }
    }
}

impl Waiter for KernelWaiter {
    fn now_ns(&self) -> i64 {
        // SAFETY: a plain clock read.
        unsafe { ffi::vpanthor_now_ns() }
    }

    fn now_raw_ns(&self) -> i64 {
        // SAFETY: a plain clock read.
        unsafe { ffi::vpanthor_now_raw_ns() }
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn sleep(&self, seen: u64, deadline_ns: i64) {
        // SAFETY: the C side only reads the counter (READ_ONCE) while this
        // waiter, which owns it, is borrowed.
        unsafe { ffi::vpanthor_sleep(self.generation.as_ptr(), seen, deadline_ns) }
    }

    fn wake_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        // SAFETY: a plain wake_up_all.
        unsafe { ffi::vpanthor_wake_all() }
    }
}
