//! The MMU lock region: what makes a page-table update atomic for the GPU.
//!
//! Before changing entries, the kernel locks the VA region they translate
//! (AS_LOCKADDR + LOCK): GPU accesses inside it stall and cached translations
//! in it are dropped. After the update it flushes the GPU caches and unlocks.
//! The second seed patch makes the calls pair up: [`RegionLock::lock_region`]
//! refuses when a region is already locked, [`RegionLock::expand_locked_region`]
//! only grows an existing lock (a remap that must touch a whole huge page
//! beyond the op's range), and [`RegionLock::unlock_region`] ends it.
//! [`LockedRegion`] wraps the pair in a guard so the unlock cannot be forgotten.

use crate::hw::{as_send_cmd_and_wait, AsCommand, AsReg, Hardware, HwError, LockAddr};

/// The smallest region the MMU locks: 32 KiB.
pub const AS_LOCK_REGION_MIN_SIZE: u64 = 1 << 15;

/// A VA region as the MMU locks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub start: u64,
    pub size: u64,
}

impl Region {
    pub const fn end(self) -> u64 {
        self.start + self.size
    }
    pub const fn covers(self, start: u64, size: u64) -> bool {
        start >= self.start && start + size <= self.start + self.size
    }
}

/// Encodes `[start, start + size)` as AS_LOCKADDR wants it: the smallest
/// naturally aligned power-of-two block (at least 32 KiB) that contains the
/// range, with log2(block size) - 1 in the low bits. Returns the encoding
/// and the block actually locked. `size` must be non-zero and the range must
/// not wrap (callers check user input before).
///
/// Worked example: `[0x1_8000, 0x2_1000)`: start ^ (end - 1) = 0x1_8000 ^
/// 0x2_0fff = 0x3_8fff, whose highest set bit is 17, so the block is 2^18 =
/// 256 KiB at 0x0 (the start aligned down): LOCKADDR = 0x0 | 17.
/// `[0x4000, 0x5000)` differs only below bit 12, so the 32 KiB minimum wins:
/// block `[0x0, 0x8000)`, LOCKADDR = 0x0 | 14.
pub fn pack_region_range(start: u64, size: u64) -> (LockAddr, Region) {
    debug_assert!(size != 0);
    let last = start.wrapping_add(size.max(1) - 1);
    let differing = 64 - (start ^ last).leading_zeros(); // fls64
    let log2_size = differing.max(AS_LOCK_REGION_MIN_SIZE.trailing_zeros());
    let block_size = if log2_size >= 64 {
        0
    } else {
        1u64 << log2_size
    };
    let block_start = if block_size == 0 {
        0
    } else {
        start & !(block_size - 1)
    };
    let width = (log2_size - 1) as u64;
    let region = Region {
        start: block_start,
        size: block_size,
    };
    (LockAddr(block_start | width), region)
}

/// Why a lock request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockError {
    /// lock_region while a region is locked (the seed's WARN_ON).
    AlreadyLocked,
    /// expand_locked_region or unlock_region with nothing locked.
    NotLocked,
    /// A zero-size or wrapping range.
    BadRange,
    Hw(HwError),
}

impl From<HwError> for LockError {
    fn from(e: HwError) -> LockError {
        LockError::Hw(e)
    }
}

impl From<LockError> for crate::Errno {
    fn from(e: LockError) -> crate::Errno {
        match e {
            LockError::Hw(_) => crate::Errno::EIO,
            _ => crate::Errno::EINVAL,
        }
    }
}

/// The locked-region state of one VM. When the VM has no address space
/// bound (`as_nr == None`), nothing is sent to the hardware but the state is
/// still kept, exactly as the kernel does, so the pairing rules hold always.
#[derive(Debug, Default)]
pub struct RegionLock {
    locked: Option<Region>,
}

impl RegionLock {
    pub const fn new() -> Self {
        Self { locked: None }
    }

    /// The region locked now, as the MMU sees it.
    pub fn locked(&self) -> Option<Region> {
        self.locked
    }

    /// Locks `[start, start + size)`. Refuses, with a warning, when a region
    /// is already locked: the caller would not know whether to unlock it.
    pub fn lock_region(
        &mut self,
        hw: &dyn Hardware,
        as_nr: Option<u32>,
        start: u64,
        size: u64,
    ) -> Result<Region, LockError> {
        if let Some(r) = self.locked {
            kwarn!(
                "lock_region: {:#x}+{:#x} already locked, refusing {:#x}+{:#x}",
                r.start,
                r.size,
                start,
                size
            );
            return Err(LockError::AlreadyLocked);
        }
        let region = Self::apply(hw, as_nr, start, size)?;
        self.locked = Some(region);
        Ok(region)
    }

    /// Grows the locked region to the union with `[start, start + size)`.
    /// Only valid while locked; a range already covered changes nothing.
    /// The new range must touch the locked one (a remap only widens an
    /// op's range to whole huge pages at its ends).
    pub fn expand_locked_region(
        &mut self,
        hw: &dyn Hardware,
        as_nr: Option<u32>,
        start: u64,
        size: u64,
    ) -> Result<Region, LockError> {
        let Some(cur) = self.locked else {
            kwarn!(
                "expand_locked_region: nothing locked ({:#x}+{:#x})",
                start,
                size
            );
            return Err(LockError::NotLocked);
        };
        let end = start.checked_add(size).ok_or(LockError::BadRange)?;
        if size == 0 || cur.covers(start, size) {
            return Ok(cur);
        }
        if end <= cur.start || start >= cur.end() {
            kwarn!(
                "expand_locked_region: {:#x}+{:#x} is disjoint from the locked {:#x}+{:#x}",
                start,
                size,
                cur.start,
                cur.size
            );
        }
        let new_start = start.min(cur.start);
        let new_end = end.max(cur.end());
        let region = Self::apply(hw, as_nr, new_start, new_end - new_start)?;
        self.locked = Some(region);
        Ok(region)
    }

    /// Flushes the GPU caches and unlocks. The state is cleared even when
    /// the hardware fails (the caller then marks the VM unusable, as the
    /// kernel schedules a reset).
    pub fn unlock_region(
        &mut self,
        hw: &dyn Hardware,
        as_nr: Option<u32>,
    ) -> Result<(), LockError> {
        if self.locked.take().is_none() {
            kwarn!("unlock_region: nothing locked");
            return Err(LockError::NotLocked);
        }
        if let Some(as_nr) = as_nr {
            hw.flush_caches()?;
            as_send_cmd_and_wait(hw, as_nr, AsCommand::Unlock)?;
        }
        Ok(())
    }

    fn apply(
        hw: &dyn Hardware,
        as_nr: Option<u32>,
        start: u64,
        size: u64,
    ) -> Result<Region, LockError> {
        if size == 0 || start.checked_add(size).is_none() {
            return Err(LockError::BadRange);
        }
        let (lockaddr, region) = pack_region_range(start, size);
        if let Some(as_nr) = as_nr {
            hw.as_write(as_nr, AsReg::LockAddr, lockaddr.0);
            as_send_cmd_and_wait(hw, as_nr, AsCommand::Lock)?;
        }
        Ok(region)
    }
}

/// A held lock: page-table updates happen while it lives; dropping it
/// flushes and unlocks. Hardware failures on unlock are remembered in
/// `failed` (read it with [`LockedRegion::finish`]).
pub struct LockedRegion<'a> {
    lock: &'a mut RegionLock,
    hw: &'a dyn Hardware,
    as_nr: Option<u32>,
    done: bool,
}

impl<'a> LockedRegion<'a> {
    pub fn new(
        lock: &'a mut RegionLock,
        hw: &'a dyn Hardware,
        as_nr: Option<u32>,
        start: u64,
        size: u64,
    ) -> Result<Self, LockError> {
        lock.lock_region(hw, as_nr, start, size)?;
        Ok(Self {
            lock,
            hw,
            as_nr,
            done: false,
        })
    }

    pub fn region(&self) -> Region {
        // Invariant: locked while the guard lives.
        self.lock.locked.unwrap_or(Region { start: 0, size: 0 })
    }

    pub fn expand(&mut self, start: u64, size: u64) -> Result<Region, LockError> {
        self.lock
            .expand_locked_region(self.hw, self.as_nr, start, size)
    }

    /// Unlocks now and reports whether the hardware did it.
    pub fn finish(mut self) -> Result<(), LockError> {
        self.done = true;
        self.lock.unlock_region(self.hw, self.as_nr)
    }
}

impl Drop for LockedRegion<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.lock.unlock_region(self.hw, self.as_nr);
        }
    }
}

/// Whether the region `pack_region_range(start, size)` locks is the
/// smallest cover the hardware allows: naturally aligned, a power of two,
/// covering the range, and neither half of it would. The hosted tests and
/// the module's KUnit suite check it over small page ranges.
#[doc(hidden)]
pub fn is_smallest_aligned_cover(start: u64, size: u64) -> bool {
    let (_, r) = pack_region_range(start, size);
    let aligned = r.size.is_power_of_two() && r.start % r.size == 0;
    let minimal = r.size <= AS_LOCK_REGION_MIN_SIZE || {
        let half = r.size / 2;
        let lo = Region {
            start: r.start,
            size: half,
        };
        let hi = Region {
            start: r.start + half,
            size: half,
        };
        !lo.covers(start, size) && !hi.covers(start, size)
    };
    aligned && r.covers(start, size) && minimal
}

/// Known encodings, checked by the hosted tests and by the kernel module's
/// KUnit suite: (start, size) -> (LOCKADDR, locked start, locked size).
#[doc(hidden)]
pub const ENCODING_VECTORS: &[(u64, u64, u64, u64, u64)] = &[
    (0x0, 0x1000, 14, 0x0, 0x8000),
    (0x4000, 0x1000, 14, 0x0, 0x8000),
    (0x1_0000, 0x1_0000, 0x1_0000 | 15, 0x1_0000, 0x1_0000),
    (0x1_8000, 0x9000, 17, 0x0, 0x4_0000),
    (0x20_0000, 0x20_0000, 0x20_0000 | 20, 0x20_0000, 0x20_0000),
    (0x1f_f000, 0x2000, 21, 0x0, 0x40_0000),
    (
        0x40_0000_0000,
        0x40_0000_0000,
        0x40_0000_0000 | 37,
        0x40_0000_0000,
        0x40_0000_0000,
    ),
    (0, 1 << 48, 47, 0, 1 << 48),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MockHw;

    #[test]
    fn encoding_vectors() {
        let cases = ENCODING_VECTORS;
        for &(start, size, enc, rstart, rsize) in cases {
            let (l, r) = pack_region_range(start, size);
            assert_eq!(l.0, enc, "LOCKADDR for {start:#x}+{size:#x}");
            assert_eq!(
                r,
                Region {
                    start: rstart,
                    size: rsize
                },
                "region for {start:#x}+{size:#x}"
            );
            assert_eq!(
                (l.start(), l.size()),
                (rstart, rsize),
                "LockAddr decodes what we locked"
            );
            assert!(r.covers(start, size));
        }
    }

    #[test]
    fn encoded_region_is_smallest_aligned_cover() {
        // Exhaustive over small page ranges.
        for start_pg in 0..64u64 {
            for len_pg in 1..64u64 {
                let (start, size) = (start_pg * 0x1000, len_pg * 0x1000);
                assert!(
                    is_smallest_aligned_cover(start, size),
                    "{start:#x}+{size:#x}"
                );
            }
        }
    }

    #[test]
    fn lock_expand_unlock_pairing_on_hardware() {
        let hw = MockHw::new();
        let mut l = RegionLock::new();
        let r = l.lock_region(&hw, Some(0), 0x20_0000, 0x1000).unwrap();
        assert_eq!(
            r,
            Region {
                start: 0x20_0000,
                size: 0x8000
            }
        );
        assert_eq!(hw.lockaddr(0), LockAddr(0x20_0000 | 14));
        assert_eq!(hw.locked_region(0), Some((0x20_0000, 0x8000)));

        // Already covered: early out, nothing sent.
        let cmds = hw.command_count(0);
        assert_eq!(
            l.expand_locked_region(&hw, Some(0), 0x20_1000, 0x1000)
                .unwrap(),
            r
        );
        assert_eq!(hw.command_count(0), cmds);

        // Grow to the whole 2 MiB huge page below.
        let r2 = l
            .expand_locked_region(&hw, Some(0), 0x0, 0x20_1000)
            .unwrap();
        assert!(r2.covers(0x0, 0x20_8000));
        assert_eq!(hw.locked_region(0), Some((r2.start, r2.size)));

        l.unlock_region(&hw, Some(0)).unwrap();
        assert_eq!(hw.locked_region(0), None);
        assert_eq!(hw.cache_flushes(), 1);
        assert_eq!(l.locked(), None);
    }

    #[test]
    fn misuse_is_refused_and_warned() {
        let hw = MockHw::new();
        let mut l = RegionLock::new();
        let warnings = crate::diag::warning_count();
        assert_eq!(
            l.expand_locked_region(&hw, Some(0), 0, 0x1000),
            Err(LockError::NotLocked)
        );
        assert_eq!(l.unlock_region(&hw, Some(0)), Err(LockError::NotLocked));
        l.lock_region(&hw, Some(0), 0, 0x1000).unwrap();
        assert_eq!(
            l.lock_region(&hw, Some(0), 0x10_0000, 0x1000),
            Err(LockError::AlreadyLocked)
        );
        // The refused lock did not move the hardware's region.
        assert_eq!(hw.locked_region(0), Some((0, 0x8000)));
        assert!(crate::diag::warning_count() >= warnings + 3);
        assert_eq!(
            l.lock_region(&hw, None, 0, 0),
            Err(LockError::AlreadyLocked)
        );
        l.unlock_region(&hw, Some(0)).unwrap();
        assert_eq!(l.lock_region(&hw, Some(0), 0, 0), Err(LockError::BadRange));
        assert_eq!(l.locked(), None);
    }

    #[test]
    fn guard_unlocks_on_drop() {
        let hw = MockHw::new();
        let mut l = RegionLock::new();
        {
            let mut g = LockedRegion::new(&mut l, &hw, Some(1), 0x1000, 0x1000).unwrap();
            g.expand(0x0, 0x1000).unwrap();
            assert!(hw.locked_region(1).is_some());
        }
        assert_eq!(hw.locked_region(1), None);
        assert_eq!(l.locked(), None);
    }

    #[test]
    fn without_an_address_space_state_is_kept_but_nothing_is_sent() {
        let hw = MockHw::new();
        let mut l = RegionLock::new();
        l.lock_region(&hw, None, 0, 0x1000).unwrap();
        assert_eq!(hw.command_count(0), 0);
        assert_eq!(
            l.lock_region(&hw, None, 0, 0x1000),
            Err(LockError::AlreadyLocked)
        );
        l.unlock_region(&hw, None).unwrap();
        assert_eq!(hw.cache_flushes(), 0);
    }
}
