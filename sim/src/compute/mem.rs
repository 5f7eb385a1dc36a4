//! The shader cores' path to memory: one address space through the MMU,
//! with a small direct-mapped translation cache of their own (the load/store
//! unit's micro-TLB), dropped whenever an MMU command runs, as
//! `gpu_as.rs` does for the command-stream front end.

use mali_csf::desc::DESCRIPTOR_SIZE;

use crate::cs::MemFault;
use crate::device::VirtualMali;
use crate::mmu::{Access, Generation};
use crate::texture::TextureFault;

const PAGE: u64 = 4096;
const ENTRIES: usize = 64;

#[derive(Clone, Copy)]
struct Entry {
    vpn: u64,
    ppa: u64,
    writable: bool,
    executable: bool,
    /// Maps the sparse dummy (the leaf's software bit).
    sparse: bool,
}

pub struct ShaderMem<'a> {
    gpu: &'a VirtualMali,
    as_nr: u32,
    generation: Generation<'a>,
    filled_at: u64,
    cache: [Option<Entry>; ENTRIES],
}

impl<'a> ShaderMem<'a> {
    pub fn new(gpu: &'a VirtualMali, as_nr: u32) -> ShaderMem<'a> {
        ShaderMem {
            gpu,
            as_nr,
            generation: gpu.mmu.generation(as_nr),
            filled_at: 0,
            cache: [None; ENTRIES],
        }
    }

    pub fn gpu(&self) -> &'a VirtualMali {
        self.gpu
    }

    /// The translation of `va`'s page for `access`, from the cache or the
    /// MMU (which waits on a locked region and latches faults).
    fn entry(&mut self, va: u64, access: Access) -> Result<Entry, MemFault> {
        let now = self.generation.current();
        if now != self.filled_at {
            self.cache = [None; ENTRIES];
            self.filled_at = now;
        }
        let vpn = va / PAGE;
        let slot = (vpn as usize) % ENTRIES;
        if let Some(e) = self.cache[slot].filter(|e| e.vpn == vpn) {
            let ok = match access {
                Access::Read => true,
                Access::Write => e.writable,
                Access::Execute => e.executable,
            };
            if ok {
                return Ok(e);
            }
        }
        let t = self
            .gpu
            .mmu
            .translate_entry(&self.gpu.mem, self.as_nr, va, access)
            .map_err(|f| MemFault {
                va: f.va,
                write: access == Access::Write,
            })?;
        let e = Entry {
            vpn,
            ppa: t.page.ppa,
            writable: !t.page.readonly,
            executable: !t.page.noexec,
            sparse: t.page.sparse,
        };
        if t.generation == now {
            self.cache[slot] = Some(e);
        }
        Ok(e)
    }

    /// Copies `out.len()` bytes from `va`, page by page; returns whether
    /// every page touched is resident (not the sparse dummy).
    pub fn read(&mut self, va: u64, out: &mut [u8], access: Access) -> Result<bool, MemFault> {
        if va.checked_add(out.len() as u64).is_none() {
            return Err(MemFault { va, write: false });
        }
        let mut resident = true;
        let mut done = 0;
        while done < out.len() {
            let at = va.wrapping_add(done as u64);
            let e = self.entry(at, access)?;
            let off = at % PAGE;
            let n = ((PAGE - off) as usize).min(out.len() - done);
            self.gpu
                .mem
                .read_bytes(e.ppa + off, &mut out[done..done + n]);
            resident &= !e.sparse;
            done += n;
        }
        Ok(resident)
    }

    pub fn write(&mut self, va: u64, data: &[u8]) -> Result<(), MemFault> {
        if data.is_empty() {
            return Ok(());
        }
        let off = va % PAGE;
        if off + data.len() as u64 <= PAGE {
            // In one page (the usual store): one translation.
            let e = self.entry(va, Access::Write)?;
            self.gpu.mem.write_bytes(e.ppa + off, data);
            return Ok(());
        }
        // Translate every page first, so a fault writes nothing.
        let last = va
            .checked_add(data.len() as u64 - 1)
            .ok_or(MemFault { va, write: true })?;
        for vpn in va / PAGE..=last / PAGE {
            self.entry((vpn * PAGE).max(va), Access::Write)?;
        }
        let mut done = 0;
        while done < data.len() {
            let at = va.wrapping_add(done as u64);
            let e = self.entry(at, Access::Write)?;
            let off = at % PAGE;
            let n = ((PAGE - off) as usize).min(data.len() - done);
            self.gpu.mem.write_bytes(e.ppa + off, &data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Reads the 32-byte descriptor at `va`.
    pub fn descriptor(&mut self, va: u64) -> Result<[u8; DESCRIPTOR_SIZE], MemFault> {
        let mut d = [0; DESCRIPTOR_SIZE];
        self.read(va, &mut d, Access::Read)?;
        Ok(d)
    }

    /// Reads `out.len()` 32-bit words at `va` for instruction fetch (the
    /// mapping must be executable).
    pub fn fetch_words(&mut self, va: u64, out: &mut [u32]) -> Result<(), MemFault> {
        let mut bytes = vec![0u8; out.len() * 4];
        self.read(va, &mut bytes, Access::Execute)?;
        for (w, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        Ok(())
    }
}

impl crate::texture::TexelMemory for ShaderMem<'_> {
    fn read(&mut self, va: u64, out: &mut [u8]) -> Result<bool, TextureFault> {
        ShaderMem::read(self, va, out, Access::Read).map_err(|f| TextureFault::Memory {
            va: f.va,
            write: false,
        })
    }

    fn write(&mut self, va: u64, data: &[u8]) -> Result<(), TextureFault> {
        ShaderMem::write(self, va, data).map_err(|f| TextureFault::Memory {
            va: f.va,
            write: true,
        })
    }
}
