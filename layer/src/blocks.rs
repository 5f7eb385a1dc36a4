//! Which memory each block of one resource is bound to. The opaque blocks
//! of resources up to [`DENSE_MAX`] blocks live in a flat array indexed by
//! block number (a bind or unbind is one array write, which keeps the
//! layer's cost per block small next to the driver's); grid blocks, and
//! the opaque blocks of larger resources (which are mostly unbound), live
//! in a hash map.

use rustc_hash::FxHashMap as Map;

use crate::tracker::{Binding, BlockKey};

/// Opaque ranges up to this many blocks are stored flat (4 GiB in 64 KiB
/// blocks: at most 2 MiB of model, allocated at the first bind).
pub const DENSE_MAX: u64 = 1 << 16;

#[derive(Clone, Debug, Default)]
pub struct Blocks {
    dense: Vec<Option<Binding>>,
    /// Opaque blocks below this index go to `dense`.
    dense_limit: u64,
    map: Map<BlockKey, Binding>,
    len: usize,
}

impl Blocks {
    /// For a resource with `opaque` blocks in its opaque range.
    pub fn new(opaque: u64) -> Blocks {
        Blocks {
            dense_limit: if opaque <= DENSE_MAX { opaque } else { 0 },
            ..Blocks::default()
        }
    }

    fn dense_index(&self, key: &BlockKey) -> Option<usize> {
        match *key {
            BlockKey::Opaque(i) if i < self.dense_limit => Some(i as usize),
            _ => None,
        }
    }

    pub fn get(&self, key: &BlockKey) -> Option<&Binding> {
        match self.dense_index(key) {
            Some(i) => self.dense.get(i)?.as_ref(),
            None => self.map.get(key),
        }
    }

    /// Binds `key` to `b`; returns what it was bound to.
    pub fn insert(&mut self, key: BlockKey, b: Binding) -> Option<Binding> {
        let old = match self.dense_index(&key) {
            Some(i) => {
                if self.dense.is_empty() {
                    self.dense = vec![None; self.dense_limit as usize];
                }
                self.dense[i].replace(b)
            }
            None => self.map.insert(key, b),
        };
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Unbinds `key`; returns what it was bound to.
    pub fn remove(&mut self, key: &BlockKey) -> Option<Binding> {
        let old = match self.dense_index(key) {
            Some(i) => self.dense.get_mut(i).and_then(Option::take),
            None => self.map.remove(key),
        };
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every bound block (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (BlockKey, Binding)> + '_ {
        let dense = self
            .dense
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.map(|b| (BlockKey::Opaque(i as u64), b)));
        dense.chain(self.map.iter().map(|(k, b)| (*k, *b)))
    }

    /// The bound opaque blocks in `[first, last)`.
    pub fn opaque_in(&self, first: u64, last: u64) -> Vec<BlockKey> {
        if last.saturating_sub(first) <= self.len as u64 {
            (first..last)
                .map(BlockKey::Opaque)
                .filter(|k| self.get(k).is_some())
                .collect()
        } else {
            self.iter()
                .filter(|(k, _)| matches!(k, BlockKey::Opaque(i) if (first..last).contains(i)))
                .map(|(k, _)| k)
                .collect()
        }
    }

    /// Unbinds everything; returns what was bound.
    pub fn take_all(&mut self) -> Vec<(BlockKey, Binding)> {
        let all = self.iter().collect();
        self.dense.clear();
        self.map.clear();
        self.len = 0;
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(offset: u64) -> Binding {
        Binding {
            memory: 1,
            serial: 0,
            offset,
        }
    }

    #[test]
    fn dense_and_mapped_blocks_behave_alike() {
        for opaque in [16, DENSE_MAX + 1] {
            let mut s = Blocks::new(opaque);
            assert_eq!(s.insert(BlockKey::Opaque(3), b(0)), None);
            assert_eq!(s.insert(BlockKey::Opaque(3), b(1)), Some(b(0)));
            assert_eq!(s.insert(BlockKey::Grid(0, 3), b(2)), None);
            assert_eq!(s.insert(BlockKey::Opaque(9), b(3)), None);
            assert_eq!(s.len(), 3);
            assert_eq!(s.get(&BlockKey::Opaque(3)), Some(&b(1)));
            assert_eq!(s.opaque_in(0, 8), [BlockKey::Opaque(3)]);
            assert_eq!(s.opaque_in(0, 1 << 40).len(), 2);
            assert_eq!(s.remove(&BlockKey::Opaque(3)), Some(b(1)));
            assert_eq!(s.remove(&BlockKey::Opaque(3)), None);
            assert_eq!(s.iter().count(), 2);
            assert_eq!(s.take_all().len(), 2);
            assert!(s.is_empty());
        }
    }
}
