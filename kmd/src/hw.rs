//! The hardware surface the kernel side needs from a Mali GPU.
//!
//! Narrow on purpose: physical pages (for page tables and BO backing), 64-bit
//! access to them, the MMU address-space registers, and the GPU cache flush.
//! The virtual Mali implements it over simulated memory; a real driver would
//! implement it over MMIO and the page allocator. Register values are typed
//! (see [`TransCfg`], [`LockAddr`], [`AsCommand`]) so a wrong bit is a named
//! field, not a magic number.

use crate::shim::AllocError;

/// Size of a page (and of a page-table page): the MMU runs a 4 KiB granule.
pub const PAGE_SIZE: u64 = 4096;
/// A 2 MiB block: the largest leaf panthor maps.
pub const SZ_2M: u64 = 2 << 20;
/// A 1 GiB span: what one level-2 table covers.
pub const SZ_1G: u64 = 1 << 30;

/// A GPU physical address. Never a host pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysAddr(pub u64);

impl PhysAddr {
    pub const fn add(self, bytes: u64) -> PhysAddr {
        PhysAddr(self.0 + bytes)
    }
    pub const fn is_aligned(self, align: u64) -> bool {
        self.0 & (align - 1) == 0
    }
}

/// A GPU virtual address.
pub type GpuVa = u64;

/// `AS_COMMAND` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum AsCommand {
    Nop = 0,
    /// Load TRANSTAB/MEMATTR/TRANSCFG; drops every cached translation.
    Update = 1,
    /// Lock the region in LOCKADDR: accesses to it stall, cached
    /// translations inside it are dropped.
    Lock = 2,
    /// Release the locked region.
    Unlock = 3,
    /// Drop cached translations in the locked region, then unlock.
    FlushPt = 4,
    /// Flush caches and cached translations in the locked region, then unlock.
    FlushMem = 5,
}

impl AsCommand {
    pub const fn from_raw(raw: u32) -> Option<AsCommand> {
        Some(match raw {
            0 => AsCommand::Nop,
            1 => AsCommand::Update,
            2 => AsCommand::Lock,
            3 => AsCommand::Unlock,
            4 => AsCommand::FlushPt,
            5 => AsCommand::FlushMem,
            _ => return None,
        })
    }
}

/// The registers of one MMU address space (`MMU_AS(n)`), by offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum AsReg {
    Transtab = 0x00,
    Memattr = 0x08,
    LockAddr = 0x10,
    Command = 0x18,
    FaultStatus = 0x1c,
    FaultAddress = 0x20,
    Status = 0x28,
    TransCfg = 0x30,
    FaultExtra = 0x38,
}

/// `AS_STATUS.AS_ACTIVE`: a command is still running.
pub const AS_STATUS_AS_ACTIVE: u64 = 1 << 0;

/// `AS_TRANSCFG`, field by field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransCfg(pub u64);

impl TransCfg {
    pub const ADRMODE_UNMAPPED: u64 = 1;
    pub const ADRMODE_IDENTITY: u64 = 2;
    pub const ADRMODE_AARCH64_4K: u64 = 6;
    const ADRMODE_MASK: u64 = 0xf;
    const INA_BITS_SHIFT: u32 = 6;
    const PTW_MEMATTR_WB: u64 = 2 << 24;
    const PTW_SH_OS: u64 = 2 << 28;
    const PTW_RA: u64 = 1 << 30;

    /// What panthor programs for a VM of `va_bits` input bits: AArch64 4 KiB
    /// granule, write-back read-allocate table walks, outer-shareable walks
    /// when the GPU is IO-coherent.
    pub const fn aarch64_4k(va_bits: u32, coherent: bool) -> TransCfg {
        let mut v = Self::ADRMODE_AARCH64_4K
            | Self::PTW_MEMATTR_WB
            | Self::PTW_RA
            | (((55 - va_bits) as u64) << Self::INA_BITS_SHIFT);
        if coherent {
            v |= Self::PTW_SH_OS;
        }
        TransCfg(v)
    }

    pub const fn unmapped() -> TransCfg {
        TransCfg(Self::ADRMODE_UNMAPPED)
    }

    pub const fn adrmode(self) -> u64 {
        self.0 & Self::ADRMODE_MASK
    }

    /// Input address bits, decoded from INA_BITS (= 55 - va_bits).
    pub const fn va_bits(self) -> u32 {
        55 - ((self.0 >> Self::INA_BITS_SHIFT) & 0x1f) as u32
    }
}

/// `AS_TRANSTAB`: the root table's physical address plus walk attributes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transtab(pub u64);

impl Transtab {
    const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

    pub const fn new(root: PhysAddr) -> Transtab {
        Transtab(root.0 & Self::ADDR_MASK)
    }
    pub const fn root(self) -> PhysAddr {
        PhysAddr(self.0 & Self::ADDR_MASK)
    }
}

/// `AS_MEMATTR`: eight attribute bytes, selected by a descriptor's AttrIndx.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemAttr(pub u64);

impl MemAttr {
    const INNER_ALLOC_EXPL_RW: u8 = (3 << 2) | 0b11;
    const INNER_ALLOC_EXPL_NONE: u8 = 3 << 2;
    const SH_MIDGARD_INNER: u8 = 0 << 4;
    const SH_CPU_INNER: u8 = 1 << 4;
    const INNER_OUTER_NC: u8 = 1 << 6;
    const INNER_OUTER_WB: u8 = 2 << 6;

    /// Non-cacheable (attribute index [`crate::pte::ATTR_IDX_NC`]).
    pub const NC: u8 = Self::INNER_OUTER_NC | Self::SH_MIDGARD_INNER | Self::INNER_ALLOC_EXPL_NONE;
    /// Write-back, read/write allocate ([`crate::pte::ATTR_IDX_CACHE`]).
    pub const WB: u8 = Self::INNER_OUTER_WB | Self::SH_CPU_INNER | Self::INNER_ALLOC_EXPL_RW;

    /// The table panthor derives from io-pgtable's MAIR: index 0 uncached,
    /// 1 cached, the rest uncached.
    pub const fn panthor_default() -> MemAttr {
        let mut v = 0u64;
        let mut i = 0;
        while i < 8 {
            let attr = if i == 1 { Self::WB } else { Self::NC };
            v |= (attr as u64) << (8 * i);
            i += 1;
        }
        MemAttr(v)
    }

    pub const fn attr(self, index: u32) -> u8 {
        (self.0 >> (8 * (index & 7))) as u8
    }

    /// True when the attribute byte describes write-back cached memory.
    pub const fn is_cached(attr: u8) -> bool {
        attr >> 6 == 2
    }
}

/// `AS_LOCKADDR`: a naturally aligned power-of-two region, its size encoded
/// as log2(size) - 1 in the low six bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockAddr(pub u64);

impl LockAddr {
    const WIDTH_MASK: u64 = 0x3f;

    pub const fn width(self) -> u32 {
        (self.0 & Self::WIDTH_MASK) as u32
    }
    /// Region size in bytes (`1 << (width + 1)`).
    pub const fn size(self) -> u64 {
        1u64 << (self.width() + 1)
    }
    /// Region base (the low `width + 1` bits are ignored by the MMU).
    pub const fn start(self) -> u64 {
        self.0 & !(self.size() - 1)
    }
    /// True when the region contains `va`.
    pub const fn contains(self, va: u64) -> bool {
        va >= self.start() && va - self.start() < self.size()
    }
}

/// What the kernel side needs from the GPU.
///
/// Physical memory methods take addresses the caller got from
/// [`Hardware::alloc_pages`]; an implementation may panic on others (that is
/// a kernel bug, never reachable from user input).
pub trait Hardware: Send + Sync {
    // ----- physical memory -------------------------------------------

    /// Allocates `count` physically contiguous pages aligned to `align`
    /// bytes (a power of two, at least [`PAGE_SIZE`]). Contents are
    /// unspecified.
    fn alloc_pages(&self, count: u64, align: u64) -> Result<PhysAddr, AllocError>;

    /// Returns pages from [`Hardware::alloc_pages`] (same `count`).
    fn free_pages(&self, pa: PhysAddr, count: u64);

    fn read_u64(&self, pa: PhysAddr) -> u64;
    fn write_u64(&self, pa: PhysAddr, value: u64);

    /// Reads a whole page-table page.
    fn read_table(&self, pa: PhysAddr, out: &mut [u64; 512]) {
        for (i, e) in out.iter_mut().enumerate() {
            *e = self.read_u64(pa.add(8 * i as u64));
        }
    }

    /// Writes a whole page-table page.
    fn write_table(&self, pa: PhysAddr, entries: &[u64; 512]) {
        for (i, e) in entries.iter().enumerate() {
            self.write_u64(pa.add(8 * i as u64), *e);
        }
    }

    /// Zeroes `count` pages.
    fn zero_pages(&self, pa: PhysAddr, count: u64) {
        let mut off = 0;
        while off < count * PAGE_SIZE {
            self.write_u64(pa.add(off), 0);
            off += 8;
        }
    }

    // ----- MMU address spaces -----------------------------------------

    /// Number of address spaces (bits set in AS_PRESENT).
    fn as_count(&self) -> u32;

    fn as_read(&self, as_nr: u32, reg: AsReg) -> u64;
    fn as_write(&self, as_nr: u32, reg: AsReg, value: u64);

    /// Acknowledges `as_nr`'s page fault (MMU_INT_CLEAR): FAULTSTATUS reads
    /// 0 again and the next fault is latched.
    fn mmu_irq_clear(&self, as_nr: u32);

    /// Flushes (clean + invalidate) the GPU's L2 and load/store caches, as
    /// GPU_CONTROL's cache flush does. Errors when the flush times out.
    fn flush_caches(&self) -> Result<(), HwError>;

    // ----- identification ----------------------------------------------

    /// Reads a GPU_CONTROL identification register.
    fn gpu_read(&self, reg: crate::gpu_info::GpuReg) -> u32;

    /// GPU_CONTROL `TIMESTAMP` (LO at 0x98, HI at 0x9C): the free-running
    /// system counter, ticking at [`crate::device::TIMESTAMP_FREQUENCY`].
    /// Command streams sample the same counter with `STORE_STATE`.
    fn gpu_timestamp(&self) -> u64;

    /// GPU_CONTROL `CYCLE_COUNT` (LO at 0x90, HI at 0x94): the GPU's cycle
    /// counter, which `STORE_STATE` can sample too.
    fn gpu_cycle_count(&self) -> u64;

    // ----- CSF: the firmware's command-stream interfaces ----------------

    /// What the firmware's global interface advertises.
    fn csf_interface(&self) -> CsfInterface;

    /// Programs a CS interface (CS_INPUT ring buffer base and size, the
    /// CSG's address space) and starts it with insert = extract = 0.
    /// Registers and state of a previous binding are gone.
    fn cs_bind(&self, slot: CsSlot, ring: CsRing);

    /// Publishes a new insert offset (bytes written to the ring since the
    /// bind) and rings the doorbell.
    fn cs_ring_doorbell(&self, slot: CsSlot, insert: u64);

    /// Reads the CS_OUTPUT state.
    fn cs_status(&self, slot: CsSlot) -> CsStatus;

    /// Stops the interface; when this returns it executes nothing more.
    fn cs_unbind(&self, slot: CsSlot);
}

/// Counts the firmware's global interface advertises (`GLB_GROUP_NUM`,
/// `CSG_STREAM_NUM`, `CS_FEATURES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsfInterface {
    pub csg_slots: u32,
    pub cs_per_csg: u32,
    /// `CS_FEATURES`: work registers - 1 in bits 0..8, scoreboards in 8..16.
    pub cs_features: u32,
}

impl CsfInterface {
    pub const fn cs_reg_count(self) -> u32 {
        (self.cs_features & 0xff) + 1
    }
    pub const fn scoreboard_count(self) -> u32 {
        (self.cs_features >> 8) & 0xff
    }
}

/// One command-stream interface: the CSG slot and the stream within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CsSlot {
    pub csg: u32,
    pub cs: u32,
}

/// A ring buffer as `CS_RINGBUF_BASE` / `CS_RINGBUF_SIZE` and the CSG's AS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsRing {
    pub as_nr: u32,
    pub base: GpuVa,
    /// Bytes, a power of two.
    pub size: u32,
}

/// A fatal error latched on a CS interface (`CS_FATAL`, `CS_FATAL_INFO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsFatal {
    /// `CS_FATAL.EXCEPTION_TYPE` (the `DRM_PANTHOR_EXCEPTION_*` codes).
    pub exception_type: u8,
    /// `CS_FATAL_INFO`: the faulting address or instruction.
    pub info: u64,
}

/// CS_OUTPUT: how far the interface got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CsStatus {
    /// Bytes of the ring consumed since the bind.
    pub extract: u64,
    pub fatal: Option<CsFatal>,
}

/// The hardware did not do what it was told (a command never finished).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HwError {
    /// AS_STATUS stayed ACTIVE.
    AsActiveStuck,
    /// The cache flush did not complete.
    FlushTimeout,
}

impl From<HwError> for crate::Errno {
    fn from(_: HwError) -> crate::Errno {
        crate::Errno::EIO
    }
}

/// Issues `cmd` on `as_nr` once the AS is idle, then waits for it to finish.
pub fn as_send_cmd_and_wait(hw: &dyn Hardware, as_nr: u32, cmd: AsCommand) -> Result<(), HwError> {
    wait_ready(hw, as_nr)?;
    hw.as_write(as_nr, AsReg::Command, cmd as u64);
    wait_ready(hw, as_nr)
}

/// Polls AS_STATUS until no command is active (bounded, like the kernel's
/// 100 ms poll).
fn wait_ready(hw: &dyn Hardware, as_nr: u32) -> Result<(), HwError> {
    for _ in 0..100_000 {
        if hw.as_read(as_nr, AsReg::Status) & AS_STATUS_AS_ACTIVE == 0 {
            return Ok(());
        }
        core::hint::spin_loop();
    }
    Err(HwError::AsActiveStuck)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcfg_encodes_48_bit_aarch64_4k() {
        let t = TransCfg::aarch64_4k(48, false);
        assert_eq!(t.adrmode(), TransCfg::ADRMODE_AARCH64_4K);
        assert_eq!(t.va_bits(), 48);
        // INA_BITS = 55 - 48 = 7 at bit 6; WB walks at 24; RA at 30.
        assert_eq!(t.0, 6 | (7 << 6) | (2 << 24) | (1 << 30));
        assert_eq!(TransCfg::aarch64_4k(48, true).0 & (3 << 28), 2 << 28);
    }

    #[test]
    fn memattr_matches_panthor_translation_of_io_pgtable_mair() {
        let m = MemAttr::panthor_default();
        // Index 0 (NC): INNER_OUTER_NC | SH_MIDGARD_INNER | ALLOC_EXPL(0,0).
        assert_eq!(m.attr(0), 0x4c);
        // Index 1 (cache): INNER_OUTER_WB | SH_CPU_INNER | ALLOC_EXPL(1,1).
        assert_eq!(m.attr(1), 0x9f);
        assert!(MemAttr::is_cached(m.attr(1)));
        assert!(!MemAttr::is_cached(m.attr(0)));
    }

    #[test]
    fn lockaddr_decodes_start_and_size() {
        // 64 KiB region at 0x1_0000: width 15.
        let l = LockAddr(0x1_0000 | 15);
        assert_eq!(l.size(), 0x1_0000);
        assert_eq!(l.start(), 0x1_0000);
        assert!(l.contains(0x1_ffff));
        assert!(!l.contains(0x2_0000));
    }
}
