//! The virtual Mali as a whole: memory + MMU behind the kernel side's
//! [`Hardware`] trait, and the GPU-side access path ([`GpuAs`]: every
//! access through the MMU of an address space) that the command-stream
//! front end uses.

use std::sync::atomic::{AtomicU64, Ordering};

use panthor_kmd::hw::{AsReg, Hardware, HwError, PhysAddr, PAGE_SIZE};
use panthor_kmd::shim::AllocError;

use crate::memory::PhysMem;
use crate::mmu::{Access, Fault, Mmu, AS_COUNT};

/// Physical memory the virtual Mali has by default (sparse in host RAM).
pub const DEFAULT_MEMORY: u64 = 16 << 30;

/// The simulated GPU.
pub struct VirtualMali {
    pub mem: PhysMem,
    pub mmu: Mmu,
    cache_flushes: AtomicU64,
}

impl VirtualMali {
    pub fn new(memory: u64) -> std::io::Result<VirtualMali> {
        Ok(VirtualMali {
            mem: PhysMem::new(memory)?,
            mmu: Mmu::new(),
            cache_flushes: AtomicU64::new(0),
        })
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

    fn flush_caches(&self) -> Result<(), HwError> {
        // Memory is coherent in the simulator; the flush is counted so tests
        // can check the kernel side asks for it.
        self.cache_flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// One address space as the command-stream front end sees it: every access
/// goes through the MMU (and may wait on a locked region, or fault).
pub struct GpuAs<'a> {
    pub gpu: &'a VirtualMali,
    pub as_nr: u32,
}

impl GpuAs<'_> {
    fn pa(&self, va: u64, access: Access) -> Result<u64, crate::cs::MemFault> {
        self.gpu
            .mmu
            .translate(&self.gpu.mem, self.as_nr, va, access)
            .map_err(|f| crate::cs::MemFault {
                va: f.va,
                write: access == Access::Write,
            })
    }
}

impl crate::cs::CsMemory for GpuAs<'_> {
    fn read_u32(&mut self, va: u64) -> Result<u32, crate::cs::MemFault> {
        Ok(self.gpu.mem.read_u32(self.pa(va, Access::Read)?))
    }
    fn write_u32(&mut self, va: u64, v: u32) -> Result<(), crate::cs::MemFault> {
        self.gpu.mem.write_u32(self.pa(va, Access::Write)?, v);
        Ok(())
    }
    fn read_u64(&mut self, va: u64) -> Result<u64, crate::cs::MemFault> {
        Ok(self.gpu.mem.read_u64(self.pa(va, Access::Read)?))
    }
    fn write_u64(&mut self, va: u64, v: u64) -> Result<(), crate::cs::MemFault> {
        self.gpu.mem.write_u64(self.pa(va, Access::Write)?, v);
        Ok(())
    }
    /// One translation per page instead of per word.
    fn read_u32s(&mut self, va: u64, out: &mut [u32]) -> Result<(), crate::cs::MemFault> {
        let bytes = 4 * out.len() as u64;
        if va % 4 != 0 || (va & 0xfff) + bytes > 0x1000 {
            for (i, o) in out.iter_mut().enumerate() {
                *o = self.read_u32(va + 4 * i as u64)?;
            }
            return Ok(());
        }
        let pa = self.pa(va, Access::Read)?;
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.gpu.mem.read_u32(pa + 4 * i as u64);
        }
        Ok(())
    }
    fn write_u32s(&mut self, va: u64, data: &[u32]) -> Result<(), crate::cs::MemFault> {
        let bytes = 4 * data.len() as u64;
        if va % 4 != 0 || (va & 0xfff) + bytes > 0x1000 {
            for (i, &v) in data.iter().enumerate() {
                self.write_u32(va + 4 * i as u64, v)?;
            }
            return Ok(());
        }
        let pa = self.pa(va, Access::Write)?;
        for (i, &v) in data.iter().enumerate() {
            self.gpu.mem.write_u32(pa + 4 * i as u64, v);
        }
        Ok(())
    }
}
