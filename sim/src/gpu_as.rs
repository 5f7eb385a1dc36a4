//! The GPU-side access path: one address space as the command-stream front
//! end sees it, every access through the MMU (it may wait on a locked
//! region, or fault).
//!
//! Like the load/store and instruction-fetch units in front of a hardware
//! MMU's main TLB, the path keeps small private micro-TLBs, one per kind of
//! access (read, write, fetch), so an entry needs no permission bits: it
//! exists only because the MMU allowed that kind of access to its page.
//! Entries are copies of what [`Mmu::translate_entry`] answered, tagged with
//! the address space's command [`Generation`]: while no AS command has run
//! since they were filled, the main TLB still holds the same translation (only
//! commands drop entries or lock regions), so they are used without taking
//! the slot's lock. Any command (LOCK, UNLOCK, UPDATE, FLUSH_PT, FLUSH_MEM)
//! empties them at the next access, which then goes through
//! [`Mmu::translate_entry`]: it waits there while the address is locked,
//! sees whatever the flush left in the main TLB (fresh or, with no flush,
//! stale), and latches faults. Faults never enter a micro-TLB, so every
//! fault comes from the MMU.

use crate::cs::{ComputeError, ComputeJob, CsMemory, MemFault};
use crate::device::VirtualMali;
use crate::memory::{PhysMem, PhysPage, PA_BASE};
use crate::mmu::{Access, Generation};

const PAGE_SHIFT: u32 = 12;
const PAGE_MASK: u64 = (1 << PAGE_SHIFT) - 1;

/// No VA has this page number (VAs have 64 bits, so page numbers 52).
const NO_PAGE: u64 = u64::MAX;

/// Fully associative, `N` entries all filled under `generation`, for one
/// kind of access, most recently filled first (a copy's current page is
/// found by the first compare) and least recently filled replaced.
struct MicroTlb<'a, const N: usize> {
    generation: u64,
    /// Page numbers; `NO_PAGE` marks an empty entry.
    vpn: [u64; N],
    /// The pages; an empty entry's is a placeholder never read.
    page: [PhysPage<'a>; N],
}

impl<'a, const N: usize> MicroTlb<'a, N> {
    fn new(mem: &'a PhysMem) -> Self {
        MicroTlb {
            generation: 0,
            vpn: [NO_PAGE; N],
            // PhysMem is never empty (a zero-sized one fails to map), so
            // PA_BASE is a page; cheaper than an Option checked on each hit.
            page: [mem.page(PA_BASE); N],
        }
    }

    /// The page of `vpn`, if cached and `generation` is still current.
    #[inline(always)]
    fn hit(&self, generation: Generation<'_>, vpn: u64) -> Option<PhysPage<'a>> {
        if self.generation != generation.current() {
            return None;
        }
        // A plain loop: N is 1 or 2 and this unrolls to as many compares.
        for i in 0..N {
            if self.vpn[i] == vpn {
                return Some(self.page[i]);
            }
        }
        None
    }

    /// Adds a translation made under `generation`, first dropping everything
    /// filled under an older one.
    fn fill(&mut self, generation: u64, vpn: u64, page: PhysPage<'a>) {
        if generation != self.generation {
            self.vpn = [NO_PAGE; N];
            self.generation = generation;
        }
        // Entries before this page's (or all but the last) move down one.
        let end = self.vpn.iter().position(|&v| v == vpn).unwrap_or(N - 1);
        self.vpn.copy_within(..end, 1);
        self.page.copy_within(..end, 1);
        self.vpn[0] = vpn;
        self.page[0] = page;
    }
}

/// One address space as the command-stream front end sees it: every access
/// goes through the MMU (and may wait on a locked region, or fault).
pub struct GpuAs<'a> {
    gpu: &'a VirtualMali,
    as_nr: u32,
    generation: Generation<'a>,
    /// Two pages each for reads and writes (a copy's source and destination
    /// plus a sync object), one for sequential instruction fetch.
    read: MicroTlb<'a, 2>,
    write: MicroTlb<'a, 2>,
    fetch: MicroTlb<'a, 1>,
    /// Accesses that went to the MMU.
    misses: u64,
}

/// Which micro-TLB an access uses.
#[derive(Clone, Copy)]
enum Unit {
    Read,
    Write,
    Fetch,
}

impl<'a> GpuAs<'a> {
    pub fn new(gpu: &'a VirtualMali, as_nr: u32) -> GpuAs<'a> {
        GpuAs {
            gpu,
            as_nr,
            generation: gpu.mmu.generation(as_nr),
            read: MicroTlb::new(&gpu.mem),
            write: MicroTlb::new(&gpu.mem),
            fetch: MicroTlb::new(&gpu.mem),
            misses: 0,
        }
    }

    /// Accesses so far that missed the micro-TLBs and went to the MMU
    /// (lock-region waits, TLB, table walk, faults).
    pub fn micro_tlb_misses(&self) -> u64 {
        self.misses
    }

    /// The page holding `va` for `unit`: from its micro-TLB, else the MMU.
    #[inline(always)]
    fn page(&mut self, va: u64, unit: Unit) -> Result<PhysPage<'a>, MemFault> {
        let vpn = va >> PAGE_SHIFT;
        let hit = match unit {
            Unit::Read => self.read.hit(self.generation, vpn),
            Unit::Write => self.write.hit(self.generation, vpn),
            Unit::Fetch => self.fetch.hit(self.generation, vpn),
        };
        match hit {
            Some(page) => Ok(page),
            None => self.miss(va, unit),
        }
    }

    /// The slow path: the MMU itself (locked-region waits, TLB, walk,
    /// latched faults), then a micro-TLB fill.
    #[inline(never)]
    fn miss(&mut self, va: u64, unit: Unit) -> Result<PhysPage<'a>, MemFault> {
        self.misses += 1;
        let access = match unit {
            Unit::Write => Access::Write,
            // The CS front end fetches its instructions as data reads.
            Unit::Read | Unit::Fetch => Access::Read,
        };
        let t = self
            .gpu
            .mmu
            .translate_entry(&self.gpu.mem, self.as_nr, va, access)
            .map_err(|f| MemFault {
                va: f.va,
                write: access == Access::Write,
            })?;
        let page = self.gpu.mem.page(t.page.ppa);
        let vpn = va >> PAGE_SHIFT;
        match unit {
            Unit::Read => self.read.fill(t.generation, vpn, page),
            Unit::Write => self.write.fill(t.generation, vpn, page),
            Unit::Fetch => self.fetch.fill(t.generation, vpn, page),
        }
        Ok(page)
    }

    /// Reads words crossing a page or not 4-byte aligned, page by page (or
    /// word by word), in order.
    #[inline(never)]
    fn read_u32s_split(&mut self, va: u64, out: &mut [u32]) -> Result<(), MemFault> {
        if va % 4 != 0 {
            for (i, o) in out.iter_mut().enumerate() {
                *o = self.read_u32(va.wrapping_add(4 * i as u64))?;
            }
            return Ok(());
        }
        let (mut va, mut out) = (va, out);
        while !out.is_empty() {
            let (now, rest) = out.split_at_mut(words_in_page(va, out.len()));
            self.page(va, Unit::Read)?.read_u32s(va & PAGE_MASK, now);
            va = va.wrapping_add(4 * now.len() as u64);
            out = rest;
        }
        Ok(())
    }

    /// As `read_u32s_split`, for writes.
    #[inline(never)]
    fn write_u32s_split(&mut self, va: u64, data: &[u32]) -> Result<(), MemFault> {
        if va % 4 != 0 {
            for (i, &v) in data.iter().enumerate() {
                self.write_u32(va.wrapping_add(4 * i as u64), v)?;
            }
            return Ok(());
        }
        let (mut va, mut data) = (va, data);
        while !data.is_empty() {
            let (now, rest) = data.split_at(words_in_page(va, data.len()));
            self.page(va, Unit::Write)?.write_u32s(va & PAGE_MASK, now);
            va = va.wrapping_add(4 * now.len() as u64);
            data = rest;
        }
        Ok(())
    }
}

/// Words of a `count`-word access at `va` that fit in `va`'s page.
fn words_in_page(va: u64, count: usize) -> usize {
    (((PAGE_MASK + 1 - (va & PAGE_MASK)) / 4) as usize).min(count)
}

/// True when `len` bytes at `va` are 4-byte aligned and in one page.
#[inline(always)]
fn in_one_page(va: u64, len: usize) -> bool {
    va % 4 == 0 && (va & PAGE_MASK) + len as u64 <= PAGE_MASK + 1
}

impl CsMemory for GpuAs<'_> {
    fn run_compute(&mut self, job: &ComputeJob) -> Result<(), ComputeError> {
        crate::compute::run(self.gpu, self.as_nr, job)
    }
    fn timestamp(&mut self) -> u64 {
        self.gpu.timestamp()
    }
    fn cycle_count(&mut self) -> u64 {
        self.gpu.cycle_count()
    }
    #[inline(always)]
    fn read_u32(&mut self, va: u64) -> Result<u32, MemFault> {
        Ok(self.page(va, Unit::Read)?.read_u32(va & PAGE_MASK))
    }
    #[inline(always)]
    fn write_u32(&mut self, va: u64, v: u32) -> Result<(), MemFault> {
        self.page(va, Unit::Write)?.write_u32(va & PAGE_MASK, v);
        Ok(())
    }
    #[inline(always)]
    fn read_u64(&mut self, va: u64) -> Result<u64, MemFault> {
        Ok(self.page(va, Unit::Read)?.read_u64(va & PAGE_MASK))
    }
    #[inline(always)]
    fn write_u64(&mut self, va: u64, v: u64) -> Result<(), MemFault> {
        self.page(va, Unit::Write)?.write_u64(va & PAGE_MASK, v);
        Ok(())
    }
    #[inline(always)]
    fn fetch_u64(&mut self, va: u64) -> Result<u64, MemFault> {
        // The interpreter only fetches at 8-byte aligned addresses (buffers
        // and branch targets are); masked, the offset is provably in the page.
        debug_assert!(va % 8 == 0, "misaligned fetch {va:#x}");
        Ok(self.page(va, Unit::Fetch)?.read_u64(va & PAGE_MASK & !7))
    }
    /// One translation and one copy when the words are in one page (the
    /// usual case); else page by page, in order, so a fault is the first
    /// failing word's.
    #[inline(always)]
    fn read_u32s(&mut self, va: u64, out: &mut [u32]) -> Result<(), MemFault> {
        if !in_one_page(va, 4 * out.len()) {
            return self.read_u32s_split(va, out);
        }
        self.page(va, Unit::Read)?.read_u32s(va & PAGE_MASK, out);
        Ok(())
    }
    /// In one page: the copy starts once the translation succeeded, so a
    /// fault leaves `out` unchanged. Across pages: through a temporary.
    #[inline(always)]
    fn read_u32x16(&mut self, va: u64, out: &mut [u32; 16]) -> Result<(), MemFault> {
        if !in_one_page(va, 64) {
            let mut tmp = [0; 16];
            self.read_u32s_split(va, &mut tmp)?;
            *out = tmp;
            return Ok(());
        }
        self.page(va, Unit::Read)?.read_u32s(va & PAGE_MASK, out);
        Ok(())
    }
    /// As `read_u32s`: the pages before a faulting one are written.
    #[inline(always)]
    fn write_u32s(&mut self, va: u64, data: &[u32]) -> Result<(), MemFault> {
        if !in_one_page(va, 4 * data.len()) {
            return self.write_u32s_split(va, data);
        }
        self.page(va, Unit::Write)?.write_u32s(va & PAGE_MASK, data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The micro-TLBs keep the MMU's rules: a locked region still makes
    //! accesses wait, a flush or UPDATE after a table change is seen, and
    //! without one the stale translation stays, as the main TLB's does.

    use super::*;
    use panthor_kmd::hw::{AsCommand, AsReg, TransCfg, PAGE_SIZE, SZ_2M};
    use panthor_kmd::lock_region::pack_region_range;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    const VA: u64 = 0x20_1000;
    const PAGE_RW: u64 = (1 << 10) | (1 << 6) | (1 << 2) | 3;
    const A: u32 = 0xaaaa_0001;
    const B: u32 = 0xbbbb_0002;

    /// AS 0 maps `VA` to `page_a` (holding `A`) through hand-built tables;
    /// `page_b` holds `B`.
    struct Setup {
        gpu: Arc<VirtualMali>,
        l3: u64,
        page_a: u64,
        page_b: u64,
    }

    impl Setup {
        fn new() -> Setup {
            let gpu = VirtualMali::new(8 * SZ_2M).unwrap();
            let page = || {
                let p = gpu.mem.alloc_pages(1, PAGE_SIZE).unwrap().0;
                gpu.mem.zero(p, PAGE_SIZE);
                p
            };
            let (root, l1, l2, l3, page_a, page_b) =
                (page(), page(), page(), page(), page(), page());
            gpu.mem.write_u64(root, l1 | 3);
            gpu.mem.write_u64(l1, l2 | 3);
            gpu.mem.write_u64(l2 + 8, l3 | 3); // VA bits 29:21 = 1
            gpu.mem.write_u64(l3 + 8, page_a | PAGE_RW); // VA bits 20:12 = 1
            gpu.mem.write_u32(page_a, A);
            gpu.mem.write_u32(page_b, B);
            gpu.mmu.write(0, AsReg::Transtab, root);
            gpu.mmu
                .write(0, AsReg::TransCfg, TransCfg::aarch64_4k(48, false).0);
            gpu.mmu.write(0, AsReg::Command, AsCommand::Update as u64);
            Setup {
                gpu,
                l3,
                page_a,
                page_b,
            }
        }

        /// Points `VA` at `page` in the tables, sending no command.
        fn remap(&self, page: u64) {
            self.gpu.mem.write_u64(self.l3 + 8, page | PAGE_RW);
        }

        fn command(&self, cmd: AsCommand) {
            self.gpu.mmu.write(0, AsReg::Command, cmd as u64);
        }

        fn lock_va(&self) {
            let (lockaddr, _) = pack_region_range(VA, PAGE_SIZE);
            self.gpu.mmu.write(0, AsReg::LockAddr, lockaddr.0);
            self.command(AsCommand::Lock);
        }
    }

    /// Reads `VA` twice: the second read is served by the micro-TLB.
    fn warm(gas: &mut GpuAs<'_>) -> u32 {
        let v = gas.read_u32(VA).unwrap();
        let misses = gas.micro_tlb_misses();
        assert_eq!(gas.read_u32(VA), Ok(v));
        assert_eq!(gas.micro_tlb_misses(), misses, "second read hit");
        v
    }

    #[test]
    fn a_locked_region_still_makes_a_cached_page_wait() {
        let t = Setup::new();
        let (warmed_tx, warmed) = mpsc::channel();
        let (locked_tx, locked) = mpsc::channel();
        let done = &AtomicBool::new(false);
        let t = &t;
        std::thread::scope(|s| {
            let reader = s.spawn(move || {
                let mut gas = GpuAs::new(&t.gpu, 0);
                assert_eq!(warm(&mut gas), A);
                warmed_tx.send(()).unwrap();
                locked.recv().unwrap();
                let v = gas.read_u32(VA);
                done.store(true, Ordering::SeqCst);
                v
            });
            warmed.recv().unwrap();
            t.lock_va();
            locked_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            assert!(
                !done.load(Ordering::SeqCst),
                "a read of a locked page went through the micro-TLB"
            );
            // The kernel's flow: update the tables while locked, unlock.
            t.remap(t.page_b);
            t.command(AsCommand::Unlock);
            assert_eq!(reader.join().unwrap(), Ok(B), "saw the locked update");
        });
    }

    #[test]
    fn flush_pt_and_update_make_a_table_change_visible() {
        let t = Setup::new();
        let mut gas = GpuAs::new(&t.gpu, 0);
        assert_eq!(warm(&mut gas), A);
        assert_eq!(gas.fetch_u64(VA), Ok(A as u64));

        // FLUSH_PT of the region after the change (as the kernel sends it,
        // with LOCKADDR covering the range).
        t.remap(t.page_b);
        let (lockaddr, _) = pack_region_range(VA, PAGE_SIZE);
        t.gpu.mmu.write(0, AsReg::LockAddr, lockaddr.0);
        t.command(AsCommand::FlushPt);
        assert_eq!(gas.read_u32(VA), Ok(B), "read after FLUSH_PT");
        assert_eq!(gas.fetch_u64(VA), Ok(B as u64), "fetch after FLUSH_PT");

        // UPDATE drops every translation.
        t.remap(t.page_a);
        t.command(AsCommand::Update);
        assert_eq!(gas.read_u32(VA), Ok(A), "read after UPDATE");
        assert_eq!(gas.write_u32(VA, 7), Ok(()));
        assert_eq!(t.gpu.mem.read_u32(t.page_a), 7, "write after UPDATE");
    }

    #[test]
    fn without_a_flush_the_stale_translation_stays() {
        let t = Setup::new();
        let mut gas = GpuAs::new(&t.gpu, 0);
        assert_eq!(warm(&mut gas), A);
        assert_eq!(gas.write_u32(VA + 4, 1), Ok(()));
        let misses = gas.micro_tlb_misses();
        // The kernel rewrites the PTE and sends nothing.
        t.remap(t.page_b);
        assert_eq!(gas.read_u32(VA), Ok(A), "stale read");
        assert_eq!(gas.write_u32(VA + 4, 2), Ok(()));
        assert_eq!(t.gpu.mem.read_u32(t.page_a + 4), 2, "stale write");
        assert_eq!(gas.micro_tlb_misses(), misses, "served by the micro-TLB");
        // A new access path agrees: the main TLB is as stale.
        assert_eq!(GpuAs::new(&t.gpu, 0).read_u32(VA), Ok(A));
    }

    #[test]
    fn faults_still_come_from_the_mmu() {
        let t = Setup::new();
        let mut gas = GpuAs::new(&t.gpu, 0);
        assert_eq!(warm(&mut gas), A);
        // Read-only now; UPDATE so the MMU sees it. Reads hit again, the
        // first write faults and latches.
        t.gpu.mem.write_u64(t.l3 + 8, t.page_a | PAGE_RW | (1 << 7));
        t.command(AsCommand::Update);
        assert_eq!(warm(&mut gas), A);
        assert_eq!(
            gas.write_u32(VA, 1),
            Err(MemFault {
                va: VA,
                write: true
            })
        );
        let fault = t.gpu.mmu.take_fault(0).expect("latched");
        assert_eq!((fault.va, fault.access_type()), (VA, 3));
        assert_eq!(
            gas.write_u32(VA, 1),
            Err(MemFault {
                va: VA,
                write: true
            }),
            "a denied write is never cached"
        );
        assert!(t.gpu.mmu.take_fault(0).is_some(), "latched again");
    }
}
