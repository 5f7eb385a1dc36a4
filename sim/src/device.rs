//! The virtual Mali as a whole: memory, MMU, identification registers and
//! the CSF front end behind the kernel side's [`Hardware`] trait.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use panthor_kmd::device::TIMESTAMP_FREQUENCY;
use panthor_kmd::gpu_info::GpuReg;
use panthor_kmd::hw::{
    AsReg, CsRing, CsSlot, CsStatus, CsfInterface, Hardware, HwError, PhysAddr, PAGE_SIZE,
};
use panthor_kmd::shim::AllocError;

use crate::csf::Csf;
use crate::memory::PhysMem;
use crate::mmu::{Access, Fault, Mmu, AS_COUNT};

/// Physical memory the virtual Mali has by default (sparse in host RAM).
pub const DEFAULT_MEMORY: u64 = 16 << 30;

/// The shader core clock the cycle counter assumes (Mali-G610 MC4 on
/// RK3588 runs at up to 1 GHz).
pub const NOMINAL_CLOCK_HZ: u64 = 1_000_000_000;

/// Ticks of a `hz` counter started at `CLOCK_MONOTONIC` zero.
fn ticks_at(hz: u64) -> u64 {
    let ns = panthor_uapi::device::monotonic_ns().max(0) as u128;
    (ns * hz as u128 / 1_000_000_000) as u64
}

/// The simulated GPU.
pub struct VirtualMali {
    pub mem: PhysMem,
    pub mmu: Mmu,
    pub csf: Csf,
    /// Compute programs decoded by the shader cores.
    pub programs: crate::compute::ProgramCache,
    cache_flushes: AtomicU64,
}

impl VirtualMali {
    /// A powered-up GPU with `memory` bytes of physical memory; its
    /// command-stream front end runs on its own thread until the last
    /// reference is dropped.
    pub fn new(memory: u64) -> std::io::Result<Arc<VirtualMali>> {
        let gpu = Arc::new(VirtualMali {
            mem: PhysMem::new(memory)?,
            mmu: Mmu::new(),
            csf: Csf::new(crate::gpu_id::CSF_INTERFACE),
            programs: Default::default(),
            cache_flushes: AtomicU64::new(0),
        });
        gpu.csf.start(Arc::downgrade(&gpu));
        Ok(gpu)
    }

    pub fn cache_flushes(&self) -> u64 {
        self.cache_flushes.load(Ordering::Relaxed)
    }

    /// A GPU read of 8 bytes at `va` in address space `as_nr`.
    pub fn gpu_read_u64(&self, as_nr: u32, va: u64) -> Result<u64, Fault> {
        let pa = self.mmu.translate(&self.mem, as_nr, va, Access::Read)?;
        Ok(self.mem.read_u64(pa))
    }

    /// A GPU write of 8 bytes at `va` in address space `as_nr`.
    pub fn gpu_write_u64(&self, as_nr: u32, va: u64, value: u64) -> Result<(), Fault> {
        let pa = self.mmu.translate(&self.mem, as_nr, va, Access::Write)?;
        self.mem.write_u64(pa, value);
        Ok(())
    }

    /// The system timestamp counter (GPU_CONTROL `TIMESTAMP`): host
    /// `CLOCK_MONOTONIC` scaled to the kernel side's timestamp frequency.
    pub fn timestamp(&self) -> u64 {
        ticks_at(TIMESTAMP_FREQUENCY)
    }

    /// The GPU cycle counter (GPU_CONTROL `CYCLE_COUNT`). The virtual Mali
    /// does not model cycles: this counts those of a core clocked at
    /// [`NOMINAL_CLOCK_HZ`], so intervals read as time at that clock.
    pub fn cycle_count(&self) -> u64 {
        ticks_at(NOMINAL_CLOCK_HZ)
    }

    pub fn gpu_read_u32(&self, as_nr: u32, va: u64) -> Result<u32, Fault> {
        let pa = self.mmu.translate(&self.mem, as_nr, va, Access::Read)?;
        Ok(self.mem.read_u32(pa))
    }

    pub fn gpu_write_u32(&self, as_nr: u32, va: u64, value: u32) -> Result<(), Fault> {
        let pa = self.mmu.translate(&self.mem, as_nr, va, Access::Write)?;
        self.mem.write_u32(pa, value);
        Ok(())
    }
}

impl Hardware for VirtualMali {
    fn alloc_pages(&self, count: u64, align: u64) -> Result<PhysAddr, AllocError> {
        self.mem.alloc_pages(count, align)
    }

    fn free_pages(&self, pa: PhysAddr, count: u64) {
        self.mem.free_pages(pa, count)
    }

    fn read_u64(&self, pa: PhysAddr) -> u64 {
        self.mem.read_u64(pa.0)
    }

    fn write_u64(&self, pa: PhysAddr, value: u64) {
        self.mem.write_u64(pa.0, value)
    }

    fn read_table(&self, pa: PhysAddr, out: &mut [u64; 512]) {
        let mut bytes = [0u8; 4096];
        self.mem.read_bytes(pa.0, &mut bytes);
        for (e, b) in out.iter_mut().zip(bytes.chunks_exact(8)) {
            *e = u64::from_le_bytes(b.try_into().unwrap_or_default());
        }
    }

    fn write_table(&self, pa: PhysAddr, entries: &[u64; 512]) {
        let mut bytes = [0u8; 4096];
        for (b, e) in bytes.chunks_exact_mut(8).zip(entries) {
            b.copy_from_slice(&e.to_le_bytes());
        }
        self.mem.write_bytes(pa.0, &bytes);
    }

    fn zero_pages(&self, pa: PhysAddr, count: u64) {
        self.mem.zero(pa.0, count * PAGE_SIZE)
    }

    fn as_count(&self) -> u32 {
        AS_COUNT
    }

    fn as_read(&self, as_nr: u32, reg: AsReg) -> u64 {
        self.mmu.read(as_nr, reg)
    }

    fn as_write(&self, as_nr: u32, reg: AsReg, value: u64) {
        self.mmu.write(as_nr, reg, value)
    }

    fn mmu_irq_clear(&self, as_nr: u32) {
        self.mmu.take_fault(as_nr);
    }

    fn flush_caches(&self) -> Result<(), HwError> {
        // Memory is coherent in the simulator; the flush is counted so tests
        // can check the kernel side asks for it.
        self.cache_flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn gpu_timestamp(&self) -> u64 {
        self.timestamp()
    }

    fn gpu_cycle_count(&self) -> u64 {
        self.cycle_count()
    }

    fn gpu_read(&self, reg: GpuReg) -> u32 {
        crate::gpu_id::read(reg)
    }

    fn csf_interface(&self) -> CsfInterface {
        self.csf.interface()
    }

    fn cs_bind(&self, slot: CsSlot, ring: CsRing) {
        self.csf.bind(slot, ring)
    }

    fn cs_ring_doorbell(&self, slot: CsSlot, insert: u64) {
        self.csf.doorbell(slot, insert)
    }

    fn cs_status(&self, slot: CsSlot) -> CsStatus {
        self.csf.status(slot)
    }

    fn cs_unbind(&self, slot: CsSlot) {
        self.csf.unbind(slot)
    }
}

impl Drop for VirtualMali {
    fn drop(&mut self) {
        self.csf.shutdown();
    }
}
