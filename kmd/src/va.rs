//! The GPU virtual address space manager: a sorted set of disjoint VMAs with
//! drm_gpuvm's split semantics for map and unmap.
//!
//! A map or unmap over `[s, e)` removes every VMA it overlaps; the parts of
//! those VMAs outside the range survive as new VMAs (`Remap`), a map then
//! inserts its own VMA. Like drm_gpuvm, adjacent VMAs are never merged. Each
//! change is reported as a [`Step`] in address order, after the tree already
//! reflects it, so the caller can update page tables from the callback.
//!
//! Why it is shaped this way:
//! - Sparse buffers bound in 64 KiB pieces give tens of thousands of VMAs and
//!   batches of ~1M ops/s, so every lookup, insertion and removal is O(log n)
//!   worst case: an AVL tree (a treap's depth could be steered by a caller who
//!   knows its priority sequence).
//! - Kernel code must not fail halfway through a map, so nodes live in one
//!   dense `Vec` whose spare capacity is reserved up front ([`VaManager::reserve`]);
//!   map/unmap only push within that capacity and never allocate. Removal
//!   moves the last node into the freed slot, so there is no free list and no
//!   `Option` around the payload.
//! - Links are `u32` indices with parent links, so traversal and rebalancing
//!   are loops, not recursion.

use alloc::vec::Vec;
use core::fmt;

use crate::shim::{self, AllocError};

/// What a VMA carries besides its range (flags, BO, BO offset...).
pub trait VmaData: Clone {
    /// The data of the piece of this VMA that starts `delta` bytes after its start
    /// (e.g. BO offset + delta). Called for the `next` piece of a remap.
    fn split(&self, delta: u64) -> Self;
}

/// A mapped range `[start, start + size)` and what it maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma<T> {
    pub start: u64,
    pub size: u64,
    pub data: T,
}

impl<T> Vma<T> {
    /// One past the last byte. VMAs in a manager never overflow; a hand-made
    /// one that would saturates rather than panics.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.size)
    }
}

/// One step of a map or unmap, in drm_gpuvm's terms, delivered in address order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step<T> {
    /// A VMA entirely inside the range was removed.
    Unmap { vma: Vma<T> },
    /// A VMA partly inside the range was removed; the pieces of it outside the range
    /// were re-inserted as `prev` (before the range) and/or `next` (after the range).
    /// `prev` keeps the VMA's data; `next` gets `data.split(next.start - unmap.start)`.
    Remap {
        unmap: Vma<T>,
        prev: Option<Vma<T>>,
        next: Option<Vma<T>>,
    },
    /// The new VMA of a map request (always the last step of a map).
    Map { vma: Vma<T> },
}

/// Why a map or unmap was refused. A refused request changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VaError {
    /// `size` was 0.
    EmptyRange,
    /// `start + size` does not fit in a u64.
    Overflow,
    /// Fewer insertions are reserved than the request may need.
    NotReserved,
}

/// Insertions a map may need: prev and next pieces of a split VMA, and its own.
const MAP_NODES: usize = 3;
/// Insertions an unmap may need: prev and next pieces of a split VMA.
const UNMAP_NODES: usize = 2;

const NIL: u32 = u32::MAX;
/// Indices must stay below `NIL`.
const MAX_NODES: usize = NIL as usize;

/// Index of the left (lower addresses) and right child in `Node::child`;
/// one array lets each rotation and rebalance case serve both mirror images.
const L: usize = 0;
const R: usize = 1;

struct Node<T> {
    vma: Vma<T>,
    child: [u32; 2],
    parent: u32,
    /// AVL height of the subtree; 1 for a leaf. At most ~47 for 2^32 nodes.
    height: u8,
}

/// The VMAs of one GPU VM, ordered by address.
pub struct VaManager<T> {
    /// Dense slab: every element is a live tree node. Indices into it are
    /// internal, never derived from caller data.
    nodes: Vec<Node<T>>,
    root: u32,
}

impl<T> Default for VaManager<T> {
    fn default() -> Self {
        VaManager {
            nodes: Vec::new(),
            root: NIL,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for VaManager<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter_from(self.leftmost(self.root), u64::MAX))
            .finish()
    }
}

/// In-order walk from `cur` while VMAs start before `end`.
struct Iter<'a, T> {
    m: &'a VaManager<T>,
    cur: u32,
    end: u64,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a Vma<T>;

    fn next(&mut self) -> Option<&'a Vma<T>> {
        if self.cur == NIL {
            return None;
        }
        let vma = &self.m.n(self.cur).vma;
        if vma.start >= self.end {
            self.cur = NIL;
            return None;
        }
        self.cur = self.m.successor(self.cur);
        Some(vma)
    }
}

// Read-only tree helpers; they need nothing from `T`.
impl<T> VaManager<T> {
    fn n(&self, i: u32) -> &Node<T> {
        &self.nodes[i as usize]
    }

    fn nm(&mut self, i: u32) -> &mut Node<T> {
        &mut self.nodes[i as usize]
    }

    fn h(&self, i: u32) -> i32 {
        if i == NIL {
            0
        } else {
            i32::from(self.n(i).height)
        }
    }

    fn leftmost(&self, mut i: u32) -> u32 {
        while i != NIL && self.n(i).child[L] != NIL {
            i = self.n(i).child[L];
        }
        i
    }

    /// The next node in address order; amortised O(1) over a walk.
    fn successor(&self, mut i: u32) -> u32 {
        let r = self.n(i).child[R];
        if r != NIL {
            return self.leftmost(r);
        }
        let mut p = self.n(i).parent;
        while p != NIL && self.n(p).child[R] == i {
            i = p;
            p = self.n(p).parent;
        }
        p
    }

    /// The first VMA ending after `addr`, i.e. the first one that could
    /// overlap anything at or above `addr`. Ends are sorted like starts
    /// because VMAs are disjoint.
    fn first_ending_after(&self, addr: u64) -> u32 {
        let (mut cur, mut found) = (self.root, NIL);
        while cur != NIL {
            let right = self.n(cur).vma.end() <= addr;
            if !right {
                found = cur;
            }
            cur = self.n(cur).child[usize::from(right)];
        }
        found
    }

    fn iter_from(&self, cur: u32, end: u64) -> Iter<'_, T> {
        Iter { m: self, cur, end }
    }
}

impl<T: VmaData> VaManager<T> {
    /// An empty address space. Does not allocate.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of VMAs.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// All VMAs, sorted by start.
    pub fn iter(&self) -> impl Iterator<Item = &Vma<T>> + '_ {
        // No VMA can start at u64::MAX (it would have no room), so this bound
        // excludes nothing.
        self.iter_from(self.leftmost(self.root), u64::MAX)
    }

    /// The VMA containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma<T>> {
        let mut cur = self.root;
        while cur != NIL {
            let vma = &self.n(cur).vma;
            if addr < vma.start {
                cur = self.n(cur).child[L];
            } else if addr >= vma.end() {
                cur = self.n(cur).child[R];
            } else {
                return Some(vma);
            }
        }
        None
    }

    /// VMAs overlapping `[start, end)`, sorted. O(log n) to the first, then
    /// amortised O(1) each.
    pub fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = &Vma<T>> + '_ {
        let first = if start < end {
            self.first_ending_after(start)
        } else {
            NIL
        };
        self.iter_from(first, end)
    }

    /// Makes room so that the next map/unmap calls, together inserting at most `nodes`
    /// VMAs, cannot fail. A map inserts at most 3 (prev, next, new); an unmap at most 2.
    pub fn reserve(&mut self, nodes: usize) -> Result<(), AllocError> {
        let want = self.nodes.len().checked_add(nodes).ok_or(AllocError)?;
        if want > MAX_NODES {
            return Err(AllocError);
        }
        shim::try_reserve(&mut self.nodes, nodes)
    }

    /// How many insertions are currently guaranteed without allocating.
    pub fn reserved(&self) -> usize {
        self.nodes.capacity().min(MAX_NODES) - self.nodes.len()
    }

    /// Maps `[start, start+size)` with `data`, replacing what was there: calls `on_step`
    /// for each step in address order (remap/unmap of overlapped VMAs, then Map).
    /// Errors (and changes nothing) if size == 0, start+size overflows, or fewer than 3
    /// insertions are reserved. Never allocates.
    pub fn map(
        &mut self,
        start: u64,
        size: u64,
        data: T,
        mut on_step: impl FnMut(Step<T>),
    ) -> Result<(), VaError> {
        self.map_observed(start, size, data, |_, step| on_step(step))
    }

    /// Unmaps `[start, start+size)`: steps for every overlapped VMA (Unmap, or Remap keeping
    /// the outside pieces). Unmapping a hole is fine (no steps). Same error rules (needs 2 reserved).
    pub fn unmap(
        &mut self,
        start: u64,
        size: u64,
        mut on_step: impl FnMut(Step<T>),
    ) -> Result<(), VaError> {
        self.unmap_observed(start, size, |_, step| on_step(step))
    }

    /// `map`, with the callback also seeing the manager as of each step.
    fn map_observed(
        &mut self,
        start: u64,
        size: u64,
        data: T,
        mut on_step: impl FnMut(&Self, Step<T>),
    ) -> Result<(), VaError> {
        let end = self.check(start, size, MAP_NODES)?;
        self.clear_range(start, end, &mut on_step);
        let vma = Vma { start, size, data };
        self.insert(vma.clone());
        on_step(self, Step::Map { vma });
        Ok(())
    }

    fn unmap_observed(
        &mut self,
        start: u64,
        size: u64,
        mut on_step: impl FnMut(&Self, Step<T>),
    ) -> Result<(), VaError> {
        let end = self.check(start, size, UNMAP_NODES)?;
        self.clear_range(start, end, &mut on_step);
        Ok(())
    }

    /// Validates a request before anything changes; returns its end.
    fn check(&self, start: u64, size: u64, nodes: usize) -> Result<u64, VaError> {
        if size == 0 {
            return Err(VaError::EmptyRange);
        }
        let end = start.checked_add(size).ok_or(VaError::Overflow)?;
        if self.reserved() < nodes {
            return Err(VaError::NotReserved);
        }
        Ok(end)
    }

    /// Removes `[s, e)` from every VMA overlapping it, one step per VMA.
    ///
    /// Each VMA is removed before its pieces are inserted, so a remap needs
    /// at most one slot beyond the one it frees: an unmap peaks at +1 node
    /// and a map (with its own VMA) at +2, within the reservation checked.
    fn clear_range(&mut self, s: u64, e: u64, on_step: &mut impl FnMut(&Self, Step<T>)) {
        loop {
            // Re-searching is O(log n), the same as the removal itself, and
            // needs no index that a removal could have moved.
            let i = self.first_ending_after(s);
            if i == NIL || self.n(i).vma.start >= e {
                return;
            }
            let vma = self.remove(i);
            let (a, b) = (vma.start, vma.end());
            if s <= a && b <= e {
                on_step(self, Step::Unmap { vma });
                continue;
            }
            let prev = (a < s).then(|| Vma {
                start: a,
                size: s - a,
                data: vma.data.clone(),
            });
            let next = (b > e).then(|| Vma {
                start: e,
                size: b - e,
                data: vma.data.split(e - a),
            });
            if let Some(p) = &prev {
                self.insert(p.clone());
            }
            if let Some(n) = &next {
                self.insert(n.clone());
            }
            // `prev` ends at `s` and `next` starts at `e`, so the next search
            // skips them: a remap with `next` ends the loop.
            on_step(
                self,
                Step::Remap {
                    unmap: vma,
                    prev,
                    next,
                },
            );
        }
    }

    /// Inserts a VMA that overlaps none. The caller has checked the
    /// reservation, so the push stays within capacity.
    fn insert(&mut self, vma: Vma<T>) {
        debug_assert!(self.nodes.len() < self.nodes.capacity().min(MAX_NODES));
        let idx = self.nodes.len() as u32;
        let (mut parent, mut cur, mut side) = (NIL, self.root, L);
        while cur != NIL {
            parent = cur;
            side = usize::from(vma.start >= self.n(cur).vma.start);
            cur = self.n(cur).child[side];
        }
        self.nodes.push(Node {
            vma,
            child: [NIL; 2],
            parent,
            height: 1,
        });
        if parent == NIL {
            self.root = idx;
        } else {
            self.nm(parent).child[side] = idx;
        }
        self.rebalance_from(parent);
    }

    /// Unlinks node `i` and returns its VMA.
    fn remove(&mut self, i: u32) -> Vma<T> {
        let mut d = i;
        if !self.n(i).child.contains(&NIL) {
            // Two children: take the successor's place instead, by swapping
            // payloads, so the node to unlink has at most one child.
            d = self.leftmost(self.n(i).child[R]);
            self.swap_vma(i, d);
        }
        let (p, [l, r]) = (self.n(d).parent, self.n(d).child);
        let c = if l != NIL { l } else { r };
        if c != NIL {
            self.nm(c).parent = p;
        }
        self.replace_child(p, d, c);
        self.rebalance_from(p);

        // `d` is now unreachable: fill its slot with the last node.
        let last = (self.nodes.len() - 1) as u32;
        let removed = self.nodes.swap_remove(d as usize);
        if d != last {
            let (p, children) = (self.n(d).parent, self.n(d).child);
            self.replace_child(p, last, d);
            for c in children {
                if c != NIL {
                    self.nm(c).parent = d;
                }
            }
        }
        removed.vma
    }

    fn swap_vma(&mut self, a: u32, b: u32) {
        let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
        let (head, tail) = self.nodes.split_at_mut(hi);
        if let (Some(x), Some(y)) = (head.get_mut(lo), tail.first_mut()) {
            core::mem::swap(&mut x.vma, &mut y.vma);
        }
    }

    /// Points `parent`'s link (or the root) that was `old` at `new`.
    fn replace_child(&mut self, parent: u32, old: u32, new: u32) {
        if parent == NIL {
            self.root = new;
        } else {
            let side = usize::from(self.n(parent).child[L] != old);
            self.nm(parent).child[side] = new;
        }
    }

    fn update_height(&mut self, i: u32) {
        let [l, r] = self.n(i).child;
        let h = 1 + self.h(l).max(self.h(r));
        self.nm(i).height = h as u8;
    }

    /// Lifts `x`'s child on `side` above it; returns that child. The
    /// child's inner subtree (between the two) moves under `x`.
    fn rotate(&mut self, x: u32, side: usize) -> u32 {
        let other = 1 - side;
        let y = self.n(x).child[side];
        let inner = self.n(y).child[other];
        self.nm(x).child[side] = inner;
        if inner != NIL {
            self.nm(inner).parent = x;
        }
        let p = self.n(x).parent;
        self.nm(y).parent = p;
        self.replace_child(p, x, y);
        self.nm(y).child[other] = x;
        self.nm(x).parent = y;
        self.update_height(x);
        self.update_height(y);
        y
    }

    /// Restores heights and AVL balance from `i` up to the root. Walking the
    /// whole path (no early exit) keeps insert and remove on one simple path.
    fn rebalance_from(&mut self, mut i: u32) {
        while i != NIL {
            let [l, r] = self.n(i).child;
            let (hl, hr) = (self.h(l), self.h(r));
            if (hl - hr).abs() > 1 {
                let heavy = usize::from(hr > hl);
                let c = self.n(i).child[heavy];
                let [cl, cr] = self.n(c).child;
                let (c_heavy, c_other) = if heavy == L { (cl, cr) } else { (cr, cl) };
                // A child leaning inwards needs straightening first (double rotation).
                if self.h(c_other) > self.h(c_heavy) {
                    self.rotate(c, 1 - heavy);
                }
                i = self.rotate(i, heavy);
            } else {
                self.update_height(i);
            }
            i = self.n(i).parent;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq)]
    struct D {
        id: u32,
        offset: u64,
    }

    impl VmaData for D {
        fn split(&self, delta: u64) -> D {
            D {
                id: self.id,
                offset: self.offset + delta,
            }
        }
    }

    const PAGE: u64 = 4096;

    fn d(id: u32) -> D {
        D {
            id,
            offset: u64::from(id) << 32,
        }
    }

    fn vma(start: u64, size: u64, data: D) -> Vma<D> {
        Vma { start, size, data }
    }

    fn map(m: &mut VaManager<D>, start: u64, size: u64, data: D) -> Vec<Step<D>> {
        m.reserve(MAP_NODES).unwrap();
        let mut steps = Vec::new();
        m.map(start, size, data, |s| steps.push(s)).unwrap();
        steps
    }

    fn unmap(m: &mut VaManager<D>, start: u64, size: u64) -> Vec<Step<D>> {
        m.reserve(UNMAP_NODES).unwrap();
        let mut steps = Vec::new();
        m.unmap(start, size, |s| steps.push(s)).unwrap();
        steps
    }

    fn list(m: &VaManager<D>) -> Vec<Vma<D>> {
        m.iter().cloned().collect()
    }

    /// Checks links, heights, AVL balance, reachability and that the
    /// in-order walk is sorted and disjoint.
    fn check_tree(m: &VaManager<D>) {
        let n = m.nodes.len() as u32;
        if n == 0 {
            assert_eq!(m.root, NIL);
        } else {
            assert_eq!(m.n(m.root).parent, NIL);
        }
        for i in 0..n {
            let node = m.n(i);
            for c in node.child {
                if c != NIL {
                    assert!(c < n);
                    assert_eq!(m.n(c).parent, i, "child {c} of {i} has a wrong parent");
                }
            }
            let (hl, hr) = (m.h(node.child[L]), m.h(node.child[R]));
            assert_eq!(i32::from(node.height), 1 + hl.max(hr), "height of {i}");
            assert!((hl - hr).abs() <= 1, "node {i} unbalanced");
        }
        let vmas = list(m);
        assert_eq!(vmas.len(), m.len(), "every node reachable exactly once");
        for w in vmas.windows(2) {
            assert!(w[0].end() <= w[1].start, "sorted and disjoint: {w:?}");
        }
        assert!(vmas
            .iter()
            .all(|v| v.size > 0 && v.start.checked_add(v.size).is_some()));
    }

    /// The naive reference: a sorted Vec, split by brute force. Returns the
    /// steps drm_gpuvm would emit for the request.
    fn model_op(model: &mut Vec<Vma<D>>, s: u64, e: u64, new: Option<Vma<D>>) -> Vec<Step<D>> {
        let mut steps = Vec::new();
        let mut out = Vec::new();
        for v in model.drain(..) {
            if v.end() <= s || v.start >= e {
                out.push(v);
            } else if s <= v.start && v.end() <= e {
                steps.push(Step::Unmap { vma: v });
            } else {
                let prev = (v.start < s).then(|| vma(v.start, s - v.start, v.data.clone()));
                let next = (v.end() > e).then(|| vma(e, v.end() - e, v.data.split(e - v.start)));
                out.extend(prev.clone());
                out.extend(next.clone());
                steps.push(Step::Remap {
                    unmap: v,
                    prev,
                    next,
                });
            }
        }
        if let Some(n) = new {
            out.push(n.clone());
            steps.push(Step::Map { vma: n });
        }
        out.sort_by_key(|v| v.start);
        *model = out;
        steps
    }

    /// What a caller that mirrors the steps would believe the VMAs are.
    fn apply_step(view: &mut Vec<Vma<D>>, step: &Step<D>) {
        match step {
            Step::Unmap { vma } => view.retain(|v| v != vma),
            Step::Remap { unmap, prev, next } => {
                view.retain(|v| v != unmap);
                view.extend(prev.iter().cloned());
                view.extend(next.iter().cloned());
            }
            Step::Map { vma } => view.push(vma.clone()),
        }
        view.sort_by_key(|v| v.start);
    }

    #[derive(Clone, Debug)]
    struct Op {
        map: bool,
        page: u64,
        pages: u64,
    }

    /// Small space, sizes up to a third of it: overlaps are the common case.
    fn ops() -> impl Strategy<Value = Vec<Op>> {
        proptest::collection::vec(
            (any::<bool>(), 0u64..64, 1u64..24).prop_map(|(map, page, pages)| Op {
                map,
                page,
                pages,
            }),
            1..120,
        )
    }

    proptest! {
        #[test]
        fn prop_vma_list_find_and_overlapping_match_naive_model(ops in ops()) {
            let (mut m, mut model) = (VaManager::new(), Vec::new());
            for (id, op) in ops.iter().enumerate() {
                let (s, size) = (op.page * PAGE, op.pages * PAGE);
                if op.map {
                    let data = d(id as u32);
                    model_op(&mut model, s, s + size, Some(vma(s, size, data.clone())));
                    map(&mut m, s, size, data);
                } else {
                    model_op(&mut model, s, s + size, None);
                    unmap(&mut m, s, size);
                }
                check_tree(&m);
                prop_assert_eq!(&list(&m), &model);
                prop_assert_eq!(m.len(), model.len());
                for addr in (0..90 * PAGE).step_by(PAGE as usize / 2) {
                    let want = model.iter().find(|v| v.start <= addr && addr < v.end());
                    prop_assert_eq!(m.find(addr), want);
                }
                let got: Vec<_> = m.overlapping(s, s + size).cloned().collect();
                let want: Vec<_> =
                    model.iter().filter(|v| v.start < s + size && v.end() > s).cloned().collect();
                prop_assert_eq!(got, want);
            }
        }

        #[test]
        fn prop_steps_match_model_in_order_and_tree_reflects_each_step(ops in ops()) {
            let (mut m, mut model) = (VaManager::new(), Vec::new());
            for (id, op) in ops.iter().enumerate() {
                let (s, size) = (op.page * PAGE, op.pages * PAGE);
                let new = op.map.then(|| vma(s, size, d(id as u32)));
                let want = model_op(&mut model, s, s + size, new.clone());
                let mut view = list(&m);
                let mut got = Vec::new();
                let mut observe = |mgr: &VaManager<D>, step: Step<D>| {
                    apply_step(&mut view, &step);
                    check_tree(mgr);
                    assert_eq!(list(mgr), view, "tree lags behind step {step:?}");
                    got.push(step);
                };
                m.reserve(MAP_NODES).unwrap();
                match new {
                    Some(v) => m.map_observed(v.start, v.size, v.data, &mut observe).unwrap(),
                    None => m.unmap_observed(s, size, &mut observe).unwrap(),
                }
                prop_assert_eq!(got, want);
            }
        }

        #[test]
        fn prop_map_and_unmap_stay_within_reservation_and_never_allocate(ops in ops()) {
            let mut m = VaManager::new();
            for (id, op) in ops.iter().enumerate() {
                let (s, size) = (op.page * PAGE, op.pages * PAGE);
                let need = if op.map { MAP_NODES } else { UNMAP_NODES };
                m.reserve(need).unwrap();
                let (cap, ptr, before) = (m.nodes.capacity(), m.nodes.as_ptr(), m.reserved());
                if op.map {
                    m.map(s, size, d(id as u32), |_| {}).unwrap();
                } else {
                    m.unmap(s, size, |_| {}).unwrap();
                }
                prop_assert_eq!(m.nodes.capacity(), cap);
                prop_assert_eq!(m.nodes.as_ptr(), ptr);
                // Net growth: a map adds at most 2 nodes, an unmap at most 1.
                prop_assert!(m.reserved() + need > before);
            }
        }
    }

    #[test]
    fn map_inside_one_vma_is_one_remap_with_prev_and_next() {
        let mut m = VaManager::new();
        map(&mut m, 0, 16 * PAGE, d(1));
        let steps = map(&mut m, 4 * PAGE, 2 * PAGE, d(2));
        let old = vma(0, 16 * PAGE, d(1));
        let next_data = D {
            id: 1,
            offset: d(1).offset + 6 * PAGE,
        };
        assert_eq!(
            steps,
            vec![
                Step::Remap {
                    unmap: old,
                    prev: Some(vma(0, 4 * PAGE, d(1))),
                    next: Some(vma(6 * PAGE, 10 * PAGE, next_data.clone())),
                },
                Step::Map {
                    vma: vma(4 * PAGE, 2 * PAGE, d(2))
                },
            ]
        );
        let want = [
            vma(0, 4 * PAGE, d(1)),
            vma(4 * PAGE, 2 * PAGE, d(2)),
            vma(6 * PAGE, 10 * PAGE, next_data),
        ];
        assert_eq!(list(&m), want);
        check_tree(&m);
    }

    #[test]
    fn map_exactly_over_a_vma_unmaps_then_maps() {
        let mut m = VaManager::new();
        map(&mut m, PAGE, PAGE, d(1));
        let steps = map(&mut m, PAGE, PAGE, d(2));
        assert_eq!(
            steps,
            vec![
                Step::Unmap {
                    vma: vma(PAGE, PAGE, d(1))
                },
                Step::Map {
                    vma: vma(PAGE, PAGE, d(2))
                }
            ]
        );
        assert_eq!(list(&m), [vma(PAGE, PAGE, d(2))]);
    }

    #[test]
    fn map_across_several_vmas_remaps_ends_and_unmaps_middle_in_order() {
        let mut m = VaManager::new();
        for i in 0..4 {
            map(&mut m, u64::from(i) * 4 * PAGE, 4 * PAGE, d(i));
        }
        let steps = map(&mut m, 2 * PAGE, 12 * PAGE, d(9));
        assert_eq!(
            steps,
            vec![
                Step::Remap {
                    unmap: vma(0, 4 * PAGE, d(0)),
                    prev: Some(vma(0, 2 * PAGE, d(0))),
                    next: None
                },
                Step::Unmap {
                    vma: vma(4 * PAGE, 4 * PAGE, d(1))
                },
                Step::Unmap {
                    vma: vma(8 * PAGE, 4 * PAGE, d(2))
                },
                Step::Remap {
                    unmap: vma(12 * PAGE, 4 * PAGE, d(3)),
                    prev: None,
                    next: Some(vma(14 * PAGE, 2 * PAGE, d(3).split(2 * PAGE))),
                },
                Step::Map {
                    vma: vma(2 * PAGE, 12 * PAGE, d(9))
                },
            ]
        );
        assert_eq!(m.len(), 3);
        check_tree(&m);
    }

    #[test]
    fn unmap_of_a_hole_emits_no_steps() {
        let mut m = VaManager::new();
        map(&mut m, 0, PAGE, d(1));
        map(&mut m, 4 * PAGE, PAGE, d(2));
        assert!(unmap(&mut m, PAGE, 3 * PAGE).is_empty());
        assert!(unmap(&mut m, 100 * PAGE, PAGE).is_empty());
        assert!(unmap(&mut VaManager::new(), 0, PAGE).is_empty());
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn adjacent_identical_vmas_are_not_merged() {
        let mut m = VaManager::new();
        map(&mut m, 0, PAGE, d(1));
        map(
            &mut m,
            PAGE,
            PAGE,
            D {
                id: 1,
                offset: d(1).offset + PAGE,
            },
        );
        assert_eq!(m.len(), 2);
        // Splitting one VMA and remapping the hole with the same data stays split too.
        map(&mut m, 8 * PAGE, 4 * PAGE, d(3));
        map(&mut m, 9 * PAGE, PAGE, d(3).split(PAGE));
        assert_eq!(m.len(), 5);
    }

    #[test]
    fn errors_change_nothing() {
        let mut m = VaManager::new();
        map(&mut m, 0, 4 * PAGE, d(1));
        m.reserve(MAP_NODES).unwrap();
        let before = list(&m);
        let mut called = false;
        assert_eq!(
            m.map(PAGE, 0, d(2), |_| called = true),
            Err(VaError::EmptyRange)
        );
        assert_eq!(
            m.unmap(PAGE, 0, |_| called = true),
            Err(VaError::EmptyRange)
        );
        assert_eq!(
            m.map(u64::MAX - PAGE, 2 * PAGE, d(2), |_| called = true),
            Err(VaError::Overflow)
        );
        assert_eq!(
            m.unmap(1, u64::MAX, |_| called = true),
            Err(VaError::Overflow)
        );
        assert!(!called);
        assert_eq!(list(&m), before);
        assert_eq!(m.reserve(usize::MAX), Err(AllocError));
        assert_eq!(list(&m), before);
    }

    #[test]
    fn not_reserved_is_an_error() {
        let mut m: VaManager<D> = VaManager::new();
        assert_eq!(m.reserved(), 0);
        assert_eq!(m.map(0, PAGE, d(1), |_| {}), Err(VaError::NotReserved));
        assert_eq!(m.unmap(0, PAGE, |_| {}), Err(VaError::NotReserved));
        // Use up the reservation (Vec may round it up) with disjoint maps.
        m.reserve(MAP_NODES).unwrap();
        let mut page = 0;
        while m.reserved() >= MAP_NODES {
            m.map(page * PAGE, PAGE, d(1), |_| {}).unwrap();
            page += 2;
        }
        let before = list(&m);
        assert_eq!(
            m.map(page * PAGE, PAGE, d(2), |_| {}),
            Err(VaError::NotReserved)
        );
        assert_eq!(list(&m), before);
        if m.reserved() < UNMAP_NODES {
            assert_eq!(m.unmap(0, PAGE / 2, |_| {}), Err(VaError::NotReserved));
            assert_eq!(list(&m), before);
        }
    }

    #[test]
    fn range_ending_at_the_top_of_the_address_space() {
        let mut m = VaManager::new();
        map(&mut m, u64::MAX - 2 * PAGE, 2 * PAGE, d(1));
        assert_eq!(m.find(u64::MAX - 1).map(|v| v.data.id), Some(1));
        assert_eq!(m.iter().count(), 1);
        let steps = unmap(&mut m, u64::MAX - 2 * PAGE, PAGE);
        assert!(matches!(
            &steps[..],
            [Step::Remap {
                prev: None,
                next: Some(_),
                ..
            }]
        ));
        assert_eq!(m.overlapping(0, u64::MAX).count(), 1);
    }

    #[test]
    fn sparse_4gib_in_64kib_pieces_maps_and_unmaps() {
        const PIECE: u64 = 64 << 10;
        const PIECES: u64 = 65536;
        let mut m = VaManager::new();
        for i in 0..PIECES {
            m.reserve(MAP_NODES).unwrap();
            m.map(i * PIECE, PIECE, d(i as u32), |_| {}).unwrap();
        }
        assert_eq!(m.len(), PIECES as usize);
        check_tree(&m);
        assert_eq!(m.find(1000 * PIECE + 5).map(|v| v.data.id), Some(1000));
        assert_eq!(m.overlapping(10 * PIECE, 20 * PIECE).count(), 10);
        // Unmap every other piece one by one, then the rest in one call.
        for i in (0..PIECES).step_by(2) {
            m.reserve(UNMAP_NODES).unwrap();
            m.unmap(i * PIECE, PIECE, |_| {}).unwrap();
        }
        assert_eq!(m.len(), PIECES as usize / 2);
        check_tree(&m);
        let mut steps = 0;
        m.unmap(0, PIECES * PIECE, |s| {
            assert!(matches!(s, Step::Unmap { .. }));
            steps += 1;
        })
        .unwrap();
        assert_eq!(steps, PIECES / 2);
        assert!(m.is_empty());
    }
}
