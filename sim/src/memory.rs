//! Physical memory of the virtual Mali.
//!
//! One memfd holds the whole physical address space (sparse: the host only
//! backs what is touched). Physical address `PA_BASE + x` is byte `x` of the
//! file. The simulator reads and writes it through one shared mapping, and a
//! CPU mapping of a BO maps the BO's pages of the same file side by side, so
//! the CPU and the "GPU" see the same bytes, as on a unified-memory SoC.
//!
//! Allocation hands out 2 MiB frames (aligned, for huge blocks) and 4 KiB
//! pages carved from frames.
//!
//! A [`PhysPage`] is one page, bounds-checked once: an access path that
//! caches translations (the GPU side's micro-TLBs) keeps one per cached page
//! and then only checks offsets within it.

use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use panthor_kmd::hw::{PhysAddr, PAGE_SIZE, SZ_2M};
use panthor_kmd::shim::AllocError;

/// Where physical memory starts: PA 0 is never memory, so a zero address in
/// a descriptor faults instead of aliasing real data.
pub const PA_BASE: u64 = 0x8000_0000;

#[derive(Default)]
struct Allocator {
    next_frame: u64,
    frames: u64,
    free_frames: Vec<u64>,
    free_pages: Vec<u64>,
    allocated_pages: u64,
}

/// The physical memory.
pub struct PhysMem {
    fd: OwnedFd,
    base: NonNull<u8>,
    size: u64,
    alloc: Mutex<Allocator>,
}

// SAFETY: `base` points to a shared mapping that lives as long as `self`;
// every access goes through atomics or explicit copies bounded by `size`.
unsafe impl Send for PhysMem {}
// SAFETY: as above.
unsafe impl Sync for PhysMem {}

#[cold]
#[inline(never)]
#[track_caller]
fn outside_memory(pa: u64, len: u64) -> ! {
    panic!("physical access {pa:#x}+{len:#x} outside memory")
}

#[cold]
#[inline(never)]
#[track_caller]
fn unaligned(pa: u64, bits: u32) -> ! {
    panic!("unaligned {bits}-bit physical access {pa:#x}")
}

fn last_os_error<T>() -> io::Result<T> {
    Err(io::Error::last_os_error())
}

impl PhysMem {
    /// `size` bytes of physical memory (a multiple of 2 MiB).
    pub fn new(size: u64) -> io::Result<PhysMem> {
        let size = size.div_ceil(SZ_2M) * SZ_2M;
        // SAFETY: a valid NUL-terminated name and flags; the result is checked.
        let fd = unsafe { libc::memfd_create(c"virtual-mali-ram".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return last_os_error();
        }
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: fd is valid; size fits off_t on 64-bit hosts.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), size as libc::off_t) } != 0 {
            return last_os_error();
        }
        // SAFETY: maps the whole file shared; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return last_os_error();
        }
        let base =
            NonNull::new(ptr as *mut u8).ok_or_else(|| io::Error::other("mmap returned null"))?;
        let frames = size / SZ_2M;
        Ok(PhysMem {
            fd,
            base,
            size,
            alloc: Mutex::new(Allocator {
                frames,
                ..Default::default()
            }),
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Allocator> {
        self.alloc.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pages handed out and not yet freed.
    pub fn allocated_pages(&self) -> u64 {
        self.lock().allocated_pages
    }

    /// True when `[pa, pa + len)` is inside physical memory.
    #[inline]
    pub fn contains(&self, pa: u64, len: u64) -> bool {
        pa >= PA_BASE
            && pa
                .checked_add(len)
                .is_some_and(|end| end - PA_BASE <= self.size)
    }

    #[inline(always)]
    fn ptr(&self, pa: u64, len: u64) -> *mut u8 {
        if !self.contains(pa, len) {
            outside_memory(pa, len);
        }
        // SAFETY: in bounds of the mapping (checked above).
        unsafe { self.base.as_ptr().add((pa - PA_BASE) as usize) }
    }

    #[inline]
    pub fn read_u64(&self, pa: u64) -> u64 {
        if pa % 8 != 0 {
            unaligned(pa, 64);
        }
        // SAFETY: in bounds, 8-byte aligned, and only ever accessed atomically
        // or by plain copies whose races are the GPU program's to order.
        unsafe { AtomicU64::from_ptr(self.ptr(pa, 8) as *mut u64) }.load(Ordering::Relaxed)
    }

    #[inline]
    pub fn write_u64(&self, pa: u64, value: u64) {
        if pa % 8 != 0 {
            unaligned(pa, 64);
        }
        // SAFETY: as in read_u64.
        unsafe { AtomicU64::from_ptr(self.ptr(pa, 8) as *mut u64) }.store(value, Ordering::Relaxed)
    }

    #[inline]
    pub fn read_u32(&self, pa: u64) -> u32 {
        if pa % 4 != 0 {
            unaligned(pa, 32);
        }
        // SAFETY: in bounds and 4-byte aligned.
        unsafe { AtomicU32::from_ptr(self.ptr(pa, 4) as *mut u32) }.load(Ordering::Relaxed)
    }

    #[inline]
    pub fn write_u32(&self, pa: u64, value: u32) {
        if pa % 4 != 0 {
            unaligned(pa, 32);
        }
        // SAFETY: in bounds and 4-byte aligned.
        unsafe { AtomicU32::from_ptr(self.ptr(pa, 4) as *mut u32) }.store(value, Ordering::Relaxed)
    }

    /// The page at `ppa` (4 KiB aligned), bounds-checked once here so
    /// that accesses through it only check their offset. Panics like any
    /// physical access outside memory.
    #[inline]
    pub fn page(&self, ppa: u64) -> PhysPage<'_> {
        assert!(ppa % PAGE_SIZE == 0, "unaligned page {ppa:#x}");
        PhysPage {
            // SAFETY: ptr() points into the mapping, whose base is non-null.
            ptr: unsafe { NonNull::new_unchecked(self.ptr(ppa, PAGE_SIZE)) },
            ppa,
            _mem: PhantomData,
        }
    }

    /// Copies bytes out of physical memory.
    pub fn read_bytes(&self, pa: u64, out: &mut [u8]) {
        let src = self.ptr(pa, out.len() as u64);
        // SAFETY: src..src+len is in the mapping; `out` is host memory.
        unsafe { std::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) }
    }

    /// Copies bytes into physical memory.
    pub fn write_bytes(&self, pa: u64, data: &[u8]) {
        let dst = self.ptr(pa, data.len() as u64);
        // SAFETY: dst..dst+len is in the mapping.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) }
    }

    /// Fills `len` bytes at `pa` with zeroes.
    pub fn zero(&self, pa: u64, len: u64) {
        let dst = self.ptr(pa, len);
        // SAFETY: dst..dst+len is in the mapping.
        unsafe { std::ptr::write_bytes(dst, 0, len as usize) }
    }

    // ----- allocation ------------------------------------------------------

    /// `count` contiguous pages aligned to `align`. 2 MiB-aligned requests
    /// get whole frames; single pages come from carved frames.
    pub fn alloc_pages(&self, count: u64, align: u64) -> Result<PhysAddr, AllocError> {
        if count == 0 || !align.is_power_of_two() || align > SZ_2M {
            return Err(AllocError);
        }
        let mut a = self.lock();
        let pa = if count == 1 && align <= PAGE_SIZE {
            if a.free_pages.is_empty() {
                let frame = Self::take_frames(&mut a, 1)?;
                // Hand out low pages first (pop from the end).
                a.free_pages
                    .extend((0..SZ_2M / PAGE_SIZE).rev().map(|i| frame + i * PAGE_SIZE));
            }
            a.free_pages.pop().ok_or(AllocError)?
        } else {
            let frames = (count * PAGE_SIZE).div_ceil(SZ_2M);
            let base = Self::take_frames(&mut a, frames)?;
            // The tail of the last frame goes to the page pool.
            let tail = frames * SZ_2M - count * PAGE_SIZE;
            a.free_pages
                .extend((0..tail / PAGE_SIZE).map(|i| base + count * PAGE_SIZE + i * PAGE_SIZE));
            base
        };
        a.allocated_pages += count;
        Ok(PhysAddr(pa))
    }

    fn take_frames(a: &mut Allocator, n: u64) -> Result<u64, AllocError> {
        if n == 1 {
            if let Some(f) = a.free_frames.pop() {
                return Ok(f);
            }
        }
        if a.next_frame + n > a.frames {
            return Err(AllocError);
        }
        let pa = PA_BASE + a.next_frame * SZ_2M;
        a.next_frame += n;
        Ok(pa)
    }

    /// Frees pages from [`PhysMem::alloc_pages`]. Whole frames go back to
    /// the host (hole punched), so freed memory costs nothing.
    pub fn free_pages(&self, pa: PhysAddr, count: u64) {
        let mut a = self.lock();
        a.allocated_pages -= count;
        let bytes = count * PAGE_SIZE;
        if pa.is_aligned(SZ_2M) && bytes % SZ_2M == 0 {
            for f in 0..bytes / SZ_2M {
                let frame = pa.0 + f * SZ_2M;
                // SAFETY: punching a hole in our own memfd inside its size.
                unsafe {
                    libc::fallocate(
                        self.fd.as_raw_fd(),
                        libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                        (frame - PA_BASE) as libc::off_t,
                        SZ_2M as libc::off_t,
                    );
                }
                a.free_frames.push(frame);
            }
        } else {
            a.free_pages
                .extend((0..count).map(|i| pa.0 + i * PAGE_SIZE));
        }
    }

    // ----- CPU mappings ----------------------------------------------------

    /// Maps physical ranges side by side into this process: byte `i` of the
    /// result is byte `i` of the concatenated ranges. Coherent with every
    /// other access (same memfd pages).
    pub fn map_cpu(&self, ranges: &[(PhysAddr, u64)]) -> io::Result<CpuView> {
        let len: u64 = ranges.iter().map(|r| r.1).sum();
        if len == 0
            || ranges.iter().any(|&(pa, l)| {
                !self.contains(pa.0, l) || pa.0 % PAGE_SIZE != 0 || l % PAGE_SIZE != 0
            })
        {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: reserves address space only; checked below.
        let area = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if area == libc::MAP_FAILED {
            return last_os_error();
        }
        let view = CpuView {
            ptr: area as *mut u8,
            len: len as usize,
        };
        let mut off = 0u64;
        for &(pa, l) in ranges {
            // SAFETY: replaces part of the reservation we own (MAP_FIXED inside
            // it) with the memfd pages of `pa`.
            let p = unsafe {
                libc::mmap(
                    view.ptr.add(off as usize) as *mut libc::c_void,
                    l as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_FIXED,
                    self.fd.as_raw_fd(),
                    (pa.0 - PA_BASE) as libc::off_t,
                )
            };
            if p == libc::MAP_FAILED {
                return last_os_error(); // `view` unmaps the reservation
            }
            off += l;
        }
        Ok(view)
    }
}

impl Drop for PhysMem {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in new(); nothing uses it after drop.
        unsafe { libc::munmap(self.base.as_ptr() as *mut libc::c_void, self.size as usize) };
    }
}

/// One 4 KiB page of [`PhysMem`], from [`PhysMem::page`]. Accesses check
/// their offset against the page, nothing else: the page was checked to be
/// inside memory when made, and the borrow keeps the mapping alive.
#[derive(Clone, Copy, Debug)]
pub struct PhysPage<'a> {
    /// Start of the page in the simulator's mapping.
    ptr: NonNull<u8>,
    ppa: u64,
    _mem: PhantomData<&'a PhysMem>,
}

// SAFETY: a PhysPage is a bounds-checked `&PhysMem` for one page, and
// PhysMem is Send and Sync; its accesses are those PhysMem makes.
unsafe impl Send for PhysPage<'_> {}
// SAFETY: as above.
unsafe impl Sync for PhysPage<'_> {}

impl PhysPage<'_> {
    /// Pointer to `len` bytes at `off`, `align`-aligned, inside the page.
    #[inline(always)]
    fn at(self, off: u64, len: u64, align: u64) -> *mut u8 {
        if off % align != 0 {
            unaligned(self.ppa.wrapping_add(off), 8 * align as u32);
        }
        if len > PAGE_SIZE || off > PAGE_SIZE - len {
            outside_memory(self.ppa.wrapping_add(off), len);
        }
        // SAFETY: off + len <= PAGE_SIZE (checked above), and the whole page
        // is inside the mapping (checked by PhysMem::page).
        unsafe { self.ptr.as_ptr().add(off as usize) }
    }

    #[inline(always)]
    pub fn read_u64(self, off: u64) -> u64 {
        // SAFETY: in the page, 8-byte aligned; accessed atomically as in
        // PhysMem::read_u64.
        unsafe { AtomicU64::from_ptr(self.at(off, 8, 8) as *mut u64) }.load(Ordering::Relaxed)
    }

    #[inline(always)]
    pub fn write_u64(self, off: u64, value: u64) {
        // SAFETY: as in read_u64.
        unsafe { AtomicU64::from_ptr(self.at(off, 8, 8) as *mut u64) }
            .store(value, Ordering::Relaxed)
    }

    #[inline(always)]
    pub fn read_u32(self, off: u64) -> u32 {
        // SAFETY: in the page, 4-byte aligned; accessed atomically as in
        // PhysMem::read_u32.
        unsafe { AtomicU32::from_ptr(self.at(off, 4, 4) as *mut u32) }.load(Ordering::Relaxed)
    }

    #[inline(always)]
    pub fn write_u32(self, off: u64, value: u32) {
        // SAFETY: as in read_u32.
        unsafe { AtomicU32::from_ptr(self.at(off, 4, 4) as *mut u32) }
            .store(value, Ordering::Relaxed)
    }

    /// Reads consecutive 32-bit words at `off` (4-byte aligned, inside the
    /// page) with one check and one copy.
    #[inline(always)]
    pub fn read_u32s(self, off: u64, out: &mut [u32]) {
        let src = self.at(off, 4 * out.len() as u64, 4) as *const u32;
        // SAFETY: the range is inside the page (checked by at()) and `out`
        // is host memory; a plain copy, as PhysMem::read_bytes makes. (A
        // full LOAD_MULTIPLE's constant length inlines to four moves.)
        unsafe { std::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) }
    }

    /// Writes consecutive 32-bit words at `off` (4-byte aligned, inside the
    /// page) with one check and one copy.
    #[inline(always)]
    pub fn write_u32s(self, off: u64, data: &[u32]) {
        let dst = self.at(off, 4 * data.len() as u64, 4) as *mut u32;
        // SAFETY: the range is inside the page (checked by at()); a plain
        // copy, as PhysMem::write_bytes makes.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) }
    }
}

/// A CPU mapping of physical pages, unmapped on drop.
#[derive(Debug)]
pub struct CpuView {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: plain shared memory; races on its bytes are the user's to order.
unsafe impl Send for CpuView {}
// SAFETY: as above.
unsafe impl Sync for CpuView {}

impl CpuView {
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for CpuView {
    fn drop(&mut self) {
        // SAFETY: the range is exactly the area this view mapped.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_and_small_allocations_are_aligned_and_reused() {
        let m = PhysMem::new(64 * SZ_2M).unwrap();
        let f = m.alloc_pages(512, SZ_2M).unwrap();
        assert!(f.is_aligned(SZ_2M) && f.0 >= PA_BASE);
        let p = m.alloc_pages(1, PAGE_SIZE).unwrap();
        assert_ne!(p.0 & !(SZ_2M - 1), f.0);
        assert_eq!(m.allocated_pages(), 513);
        m.free_pages(f, 512);
        assert_eq!(
            m.alloc_pages(512, SZ_2M).unwrap(),
            f,
            "freed frames are reused"
        );
        assert!(m.alloc_pages(1, 2 * SZ_2M).is_err());
    }

    #[test]
    fn cpu_view_is_coherent_with_physical_access() {
        let m = PhysMem::new(8 * SZ_2M).unwrap();
        let a = m.alloc_pages(1, PAGE_SIZE).unwrap();
        let _gap = m.alloc_pages(1, PAGE_SIZE).unwrap();
        let b = m.alloc_pages(1, PAGE_SIZE).unwrap();
        let view = m.map_cpu(&[(b, PAGE_SIZE), (a, PAGE_SIZE)]).unwrap();
        m.write_u64(a.0 + 8, 0x1122_3344_5566_7788);
        // SAFETY: the view is 8 KiB; offset 4096 + 8 is inside it.
        let seen = unsafe { std::ptr::read(view.as_ptr().add(4096 + 8) as *const u64) };
        assert_eq!(seen, 0x1122_3344_5566_7788);
        // SAFETY: offset 16 is inside the view's first page (b).
        unsafe { std::ptr::write(view.as_ptr().add(16) as *mut u32, 0xabcd) };
        assert_eq!(m.read_u32(b.0 + 16), 0xabcd);
    }

    #[test]
    fn running_out_of_memory_is_an_error() {
        let m = PhysMem::new(2 * SZ_2M).unwrap();
        m.alloc_pages(512, SZ_2M).unwrap();
        m.alloc_pages(512, SZ_2M).unwrap();
        assert_eq!(m.alloc_pages(1, PAGE_SIZE), Err(AllocError));
    }
}
