//! A `VkDeviceMemory` as the layer sees it: size, memory type, allocation
//! number, and an index of which sparse blocks are bound on which of its
//! ranges, to answer "what overlaps this range?" (the aliasing rule) in a
//! few lookups.
//!
//! The index is keyed by memory offset (a flat array for memories of up
//! to [`DENSE_MAX`] blocks, a hash map beyond and for other block sizes). Every entry of length `L` sits at
//! a multiple of `L`: a block is `VkMemoryRequirements::alignment` bytes
//! and binds whose memory offset is not a multiple of it are refused
//! before they reach the index. So the entries of length `L` that can
//! overlap `[offset, offset + len)` start at the multiples of `L` in
//! `(offset - L, offset + len)`: for blocks of one size, exactly one
//! lookup. Worked example: 64 KiB blocks (L = 0x10000) and a new 64 KiB
//! block at 0x30000: the only candidate is 0x30000 itself; with a second
//! resource of 128 KiB blocks (L = 0x20000) bound on the same memory, the
//! candidates of that length are the multiples of 0x20000 in
//! (0x10000, 0x40000): just 0x20000, whose entry covers [0x20000, 0x40000).

use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap as Map;

use crate::tracker::BlockKey;

/// One block bound on the memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The resource's handle.
    pub res: u64,
    pub key: BlockKey,
    pub len: u64,
    /// Whether the resource has the SPARSE_ALIASED flag.
    pub aliased: bool,
}

/// Memories up to this many blocks (of the first block size bound on
/// them) keep their index in a flat array: a bind or unbind is an array
/// access instead of a hash lookup (4 GiB in 64 KiB blocks: 3 MiB of
/// index, allocated at the first sparse bind).
pub const DENSE_MAX: u64 = 1 << 16;

/// The blocks that start at one offset (several only when aliased).
#[derive(Clone, Debug, Default)]
enum Slot {
    #[default]
    Empty,
    One(Owner),
    Many(Vec<Owner>),
}

impl Slot {
    fn owners(&self) -> &[Owner] {
        match self {
            Slot::Empty => &[],
            Slot::One(o) => std::slice::from_ref(o),
            Slot::Many(v) => v,
        }
    }

    fn push(&mut self, owner: Owner) {
        match self {
            Slot::Empty => *self = Slot::One(owner),
            Slot::One(first) => *self = Slot::Many(vec![*first, owner]),
            Slot::Many(v) => v.push(owner),
        }
    }

    /// Removes block `key` of `res`; returns it.
    fn take(&mut self, res: u64, key: BlockKey) -> Option<Owner> {
        match self {
            Slot::One(o) if o.res == res && o.key == key => {
                let o = *o;
                *self = Slot::Empty;
                Some(o)
            }
            Slot::Many(v) => {
                let i = v.iter().position(|o| o.res == res && o.key == key)?;
                let o = v.swap_remove(i);
                if v.len() == 1 {
                    *self = Slot::One(v[0]);
                }
                Some(o)
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Memory {
    /// The layer's allocation number (stable colour in the maps).
    pub serial: u64,
    pub size: u64,
    pub type_index: u32,
    /// The block length of `dense` (the first one bound here), or 0.
    unit: u64,
    /// Entries of length `unit`, by offset / unit.
    dense: Vec<Slot>,
    /// Every other entry, by offset.
    map: Map<u64, Slot>,
    /// The distinct block lengths bound here, with how many entries each.
    lens: Vec<(u64, usize)>,
    count: usize,
}

impl Memory {
    pub fn new(serial: u64, size: u64, type_index: u32) -> Memory {
        Memory {
            serial,
            size,
            type_index,
            unit: 0,
            dense: Vec::new(),
            map: Map::default(),
            lens: Vec::new(),
            count: 0,
        }
    }

    /// How many blocks are bound on it.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every bound block, with its offset.
    pub fn owners(&self) -> impl Iterator<Item = (u64, &Owner)> + '_ {
        let unit = self.unit;
        let dense = self
            .dense
            .iter()
            .enumerate()
            .flat_map(move |(i, s)| s.owners().iter().map(move |o| (i as u64 * unit, o)));
        let mapped = self
            .map
            .iter()
            .flat_map(|(&off, s)| s.owners().iter().map(move |o| (off, o)));
        dense.chain(mapped)
    }

    /// Where entries of length `len` at `offset` are kept, if in `dense`.
    fn dense_index(&self, offset: u64, len: u64) -> Option<usize> {
        if len != self.unit {
            return None;
        }
        let i = offset / len;
        (i < self.dense.len() as u64).then_some(i as usize)
    }

    fn slot(&self, offset: u64, len: u64) -> Option<&Slot> {
        match self.dense_index(offset, len) {
            Some(i) => Some(&self.dense[i]),
            None => self.map.get(&offset),
        }
    }

    pub fn insert(&mut self, offset: u64, owner: Owner) {
        debug_assert!(owner.len > 0 && offset % owner.len == 0);
        if self.unit == 0 {
            self.unit = owner.len;
            let n = self.size.div_ceil(owner.len);
            if n <= DENSE_MAX {
                self.dense = vec![Slot::Empty; n as usize];
            }
        }
        match self.dense_index(offset, owner.len) {
            Some(i) => self.dense[i].push(owner),
            None => self.map.entry(offset).or_default().push(owner),
        }
        match self.lens.iter_mut().find(|(l, _)| *l == owner.len) {
            Some((_, n)) => *n += 1,
            None => self.lens.push((owner.len, 1)),
        }
        self.count += 1;
    }

    /// Removes block `key` of `res` (`len` bytes) at `offset`, if there.
    pub fn remove(&mut self, offset: u64, len: u64, res: u64, key: BlockKey) {
        let removed = match self.dense_index(offset, len) {
            Some(i) => self.dense[i].take(res, key),
            None => match self.map.entry(offset) {
                Entry::Occupied(mut e) => {
                    let o = e.get_mut().take(res, key);
                    if matches!(e.get(), Slot::Empty) {
                        e.remove();
                    }
                    o
                }
                Entry::Vacant(_) => None,
            },
        };
        if let Some(o) = removed {
            self.count -= 1;
            if let Some(i) = self.lens.iter().position(|(l, _)| *l == o.len) {
                self.lens[i].1 -= 1;
                if self.lens[i].1 == 0 {
                    self.lens.swap_remove(i);
                }
            }
        }
    }

    /// Calls `f(offset, owner)` for every bound block that overlaps
    /// `[offset, offset + len)`.
    pub fn overlapping(&self, offset: u64, len: u64, mut f: impl FnMut(u64, &Owner)) {
        let end = offset.saturating_add(len);
        for &(l, _) in &self.lens {
            let mut o = (offset + 1).saturating_sub(l).div_ceil(l) * l;
            while o < end {
                if let Some(slot) = self.slot(o, l) {
                    for owner in slot.owners().iter().filter(|w| w.len == l) {
                        f(o, owner);
                    }
                }
                o += l;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: u64 = 0x10000;

    fn owner(res: u64, i: u64, len: u64) -> Owner {
        Owner {
            res,
            key: BlockKey::Opaque(i),
            len,
            aliased: false,
        }
    }

    fn hits(m: &Memory, offset: u64, len: u64) -> Vec<(u64, u64)> {
        let mut v = Vec::new();
        m.overlapping(offset, len, |o, w| v.push((o, w.res)));
        v.sort();
        v
    }

    #[test]
    fn overlaps_across_block_sizes() {
        // A small memory (flat index) and a huge one (hash map).
        for size in [16 * B, (DENSE_MAX + 1) * B] {
            overlaps_in(Memory::new(0, size, 0));
        }
    }

    fn overlaps_in(mut m: Memory) {
        m.insert(3 * B, owner(1, 0, B));
        m.insert(2 * B, owner(2, 0, 2 * B));
        m.insert(8 * B, owner(3, 0, 4 * B));
        assert_eq!(hits(&m, 3 * B, B), [(2 * B, 2), (3 * B, 1)]);
        assert_eq!(hits(&m, 4 * B, B), []);
        assert_eq!(hits(&m, 11 * B, B), [(8 * B, 3)]);
        assert_eq!(hits(&m, 0, 16 * B).len(), 3);
        m.remove(2 * B, 2 * B, 2, BlockKey::Opaque(0));
        assert_eq!(hits(&m, 3 * B, B), [(3 * B, 1)]);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn several_owners_per_offset() {
        for size in [4 * B, (DENSE_MAX + 1) * B] {
            several_owners_in(Memory::new(0, size, 0));
        }
    }

    fn several_owners_in(mut m: Memory) {
        m.insert(0, owner(1, 0, B));
        m.insert(0, owner(2, 0, B));
        m.insert(0, owner(3, 5, B));
        assert_eq!(hits(&m, 0, B).len(), 3);
        m.remove(0, B, 2, BlockKey::Opaque(0));
        m.remove(0, B, 3, BlockKey::Opaque(1));
        assert_eq!(hits(&m, 0, B), [(0, 1), (0, 3)]);
        m.remove(0, B, 1, BlockKey::Opaque(0));
        m.remove(0, B, 3, BlockKey::Opaque(5));
        assert!(m.is_empty());
        assert_eq!(m.owners().count(), 0);
    }
}
