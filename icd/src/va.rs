//! The device's GPU virtual address space: which ranges of its VM's user VA
//! are taken (by memory objects, sparse resources, command streams).
//!
//! First fit over a free list kept sorted by address; neighbours merge on
//! free, so the list stays as short as the holes are few.

use std::collections::BTreeMap;

/// Free ranges of a VA space, `start -> end` (exclusive).
#[derive(Debug)]
pub struct VaSpace {
    free: BTreeMap<u64, u64>,
}

impl VaSpace {
    /// A space owning `[start, end)`.
    pub fn new(start: u64, end: u64) -> VaSpace {
        let mut free = BTreeMap::new();
        if start < end {
            free.insert(start, end);
        }
        VaSpace { free }
    }

    /// Takes `size` bytes aligned to `align` (a power of two); `None` when no
    /// hole is big enough.
    pub fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        debug_assert!(align.is_power_of_two() && size > 0);
        let (start, end, at) = self.free.iter().find_map(|(&start, &end)| {
            let at = start.checked_next_multiple_of(align)?;
            (at.checked_add(size)? <= end).then_some((start, end, at))
        })?;
        self.free.remove(&start);
        if start < at {
            self.free.insert(start, at);
        }
        if at + size < end {
            self.free.insert(at + size, end);
        }
        Some(at)
    }

    /// Gives back a range from [`VaSpace::alloc`].
    pub fn free(&mut self, start: u64, size: u64) {
        let mut start = start;
        let mut end = start + size;
        if let Some((&s, &e)) = self.free.range(..start).next_back() {
            debug_assert!(e <= start, "double free of VA {start:#x}");
            if e == start {
                self.free.remove(&s);
                start = s;
            }
        }
        if let Some(&e) = self.free.get(&end) {
            self.free.remove(&end);
            end = e;
        }
        self.free.insert(start, end);
    }

    /// Bytes free in all.
    pub fn free_bytes(&self) -> u64 {
        self.free.iter().map(|(s, e)| e - s).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn aligned_first_fit() {
        let mut va = VaSpace::new(0x1000, 0x10_0000);
        let a = va.alloc(0x1000, 0x1000).unwrap();
        assert_eq!(a, 0x1000);
        let b = va.alloc(0x1_0000, 0x1_0000).unwrap();
        assert_eq!(b, 0x1_0000);
        // The hole at 0x2000..0x10000 still serves small requests.
        assert_eq!(va.alloc(0x1000, 0x1000), Some(0x2000));
        assert_eq!(va.alloc(0x100_0000, 0x1000), None);
    }

    proptest! {
        /// Live ranges never overlap, stay inside the space, are aligned,
        /// and freeing everything restores one whole hole.
        #[test]
        fn allocations_are_disjoint(ops in proptest::collection::vec((1u64..64, 0u32..5, any::<bool>()), 1..200)) {
            let (lo, hi) = (0x10_0000u64, 0x10_0000 + (1 << 24));
            let mut va = VaSpace::new(lo, hi);
            let mut live: Vec<(u64, u64)> = Vec::new();
            for (pages, align_log, free_one) in ops {
                if free_one && !live.is_empty() {
                    let (s, n) = live.swap_remove(pages as usize % live.len());
                    va.free(s, n);
                    continue;
                }
                let size = pages * 4096;
                let align = 4096u64 << (align_log * 2);
                if let Some(at) = va.alloc(size, align) {
                    prop_assert_eq!(at % align, 0);
                    prop_assert!(at >= lo && at + size <= hi);
                    for &(s, n) in &live {
                        prop_assert!(at + size <= s || s + n <= at);
                    }
                    live.push((at, size));
                }
            }
            let used: u64 = live.iter().map(|l| l.1).sum();
            prop_assert_eq!(va.free_bytes() + used, hi - lo);
            for (s, n) in live {
                va.free(s, n);
            }
            prop_assert_eq!(va.free.len(), 1);
        }
    }
}
