//! The page tables of one VM, in simulated or real physical pages.
//!
//! A four-level AArch64 tree (see [`crate::pte`]). What this file adds to a
//! plain io-pgtable:
//!
//! - **2 MiB blocks** wherever the VA, the backing's physical address and
//!   its contiguity allow; a block that is partly changed is split into a
//!   level-3 table with the same translations first.
//! - **Shared sparse tables.** A sparse range maps VA `x` to byte
//!   `x % 2 MiB` of the file's dummy BO, so every 2 MiB-aligned chunk of it
//!   translates the same way, and so does every 1 GiB-aligned span. One
//!   level-3 table maps the dummy page by page (none is needed when the dummy
//!   is one 2 MiB block) and one level-2 table maps 1 GiB of it; level-2 and
//!   level-1 entries of any sparse range point at them. Reserving N GiB of
//!   sparse VA thus writes about N level-1 entries and allocates at most a
//!   few edge tables. Changing anything inside a shared table first copies it
//!   into a private one (copy-on-write).
//! - **No allocation during an update.** Every table an update may need
//!   comes from a [`PageList`] the caller filled beforehand (see
//!   [`PageTable::tables_for_map`]); freed tables go to another list that the
//!   caller releases after the MMU unlock, so the GPU can never walk a page
//!   that was reused while the region was locked.
//!
//! Worked example: a sparse map of `[1 GiB - 4 KiB, 3 GiB + 4 KiB)` writes one
//! private level-3 entry under 1 GiB, points the level-1 entries for
//! `[1 GiB, 2 GiB)` and `[2 GiB, 3 GiB)` at the shared level-2 table, and one
//! private level-3 entry above 3 GiB: four private tables (two level-2, two
//! level-3) plus the two shared ones, whatever the size of the middle.

use alloc::vec::Vec;

use crate::bo::Backing;
use crate::hw::{Hardware, PhysAddr, PAGE_SIZE, SZ_2M};
use crate::pte::{index, Entry, Prot, Pte, ENTRIES, LEVEL_SPAN};

/// How sparse ranges are laid out in the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparseLayout {
    /// Shared level-3/level-2 tables (this project's design).
    Shared,
    /// What the seed patch does: every 2 MiB of sparse VA gets its own
    /// level-3 table (or block), every GiB its own level-2 table. Kept for
    /// the benchmark that compares the two.
    PerChunk,
}

/// A singly linked list of physical pages, threaded through the pages
/// themselves (entry 0 holds the next page's address), so keeping pages
/// aside never allocates.
#[derive(Debug, Default)]
pub struct PageList {
    head: Option<PhysAddr>,
    len: u64,
}

impl PageList {
    pub const fn new() -> Self {
        Self { head: None, len: 0 }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, hw: &dyn Hardware, pa: PhysAddr) {
        hw.write_u64(pa, self.head.map_or(0, |h| h.0));
        self.head = Some(pa);
        self.len += 1;
    }

    /// Unlinks the first page (its contents are the link, not zeroed).
    fn take_head(&mut self, hw: &dyn Hardware) -> Option<PhysAddr> {
        let pa = self.head?;
        self.head = match hw.read_u64(pa) {
            0 => None,
            next => Some(PhysAddr(next)),
        };
        self.len -= 1;
        Some(pa)
    }

    /// Takes a page and zeroes it.
    pub fn pop(&mut self, hw: &dyn Hardware) -> Option<PhysAddr> {
        let pa = self.take_head(hw)?;
        hw.zero_pages(pa, 1);
        Some(pa)
    }

    /// Allocates pages until the list holds `target`. All or nothing: on
    /// failure the list is as it was.
    pub fn fill_to(
        &mut self,
        hw: &dyn Hardware,
        target: u64,
    ) -> Result<(), crate::shim::AllocError> {
        let mut added = PageList::new();
        while self.len + added.len < target {
            match hw.alloc_pages(1, PAGE_SIZE) {
                Ok(pa) => added.push(hw, pa),
                Err(e) => {
                    added.free_all(hw);
                    return Err(e);
                }
            }
        }
        self.append(hw, &mut added);
        Ok(())
    }

    /// Returns pages to the allocator until at most `keep` remain.
    pub fn trim_to(&mut self, hw: &dyn Hardware, keep: u64) {
        while self.len > keep {
            let Some(pa) = self.take_head(hw) else { break };
            hw.free_pages(pa, 1);
        }
    }

    pub fn free_all(&mut self, hw: &dyn Hardware) {
        self.trim_to(hw, 0);
    }

    /// Moves every page of `other` to this list.
    pub fn append(&mut self, hw: &dyn Hardware, other: &mut PageList) {
        while let Some(pa) = other.take_head(hw) {
            self.push(hw, pa);
        }
    }
}

/// Where the pages of a mapped range come from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// A BO: VA `va` maps BO byte `offset`, and so on linearly.
    Bo {
        backing: &'a Backing,
        va: u64,
        offset: u64,
    },
    /// The dummy BO, cyclically: VA `x` maps dummy byte `x % 2 MiB`.
    Sparse { dummy: &'a Backing },
}

impl Source<'_> {
    fn bo_offset(&self, va: u64) -> u64 {
        match *self {
            Source::Bo {
                va: base, offset, ..
            } => offset + (va - base),
            Source::Sparse { .. } => va % SZ_2M,
        }
    }

    fn backing(&self) -> &Backing {
        match self {
            Source::Bo { backing, .. } | Source::Sparse { dummy: backing } => backing,
        }
    }

    /// The physical page behind `va`.
    fn page(&self, va: u64) -> Option<PhysAddr> {
        self.backing().lookup(self.bo_offset(va)).map(|(pa, _)| pa)
    }

    /// The physical 2 MiB block behind the 2 MiB-aligned `va`, when the
    /// backing is aligned and contiguous there.
    fn block(&self, va: u64) -> Option<PhysAddr> {
        let (pa, contiguous) = self.backing().lookup(self.bo_offset(va))?;
        (pa.is_aligned(SZ_2M) && contiguous >= SZ_2M).then_some(pa)
    }

    fn is_sparse(&self) -> bool {
        matches!(self, Source::Sparse { .. })
    }
}

/// A translation found by [`PageTable::walk`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    pub pa: PhysAddr,
    pub prot: Prot,
    /// Level of the leaf: 2 for a 2 MiB block, 3 for a 4 KiB page.
    pub level: usize,
    pub af: bool,
    /// The leaf maps the sparse dummy (software bit [`crate::pte::SW_SPARSE`]).
    pub sparse: bool,
}

/// An update could not be done. Only a kernel bug gets here (the caller
/// validated the range and preallocated the tables); the VM is then marked
/// unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PtError {
    /// The preallocated tables ran out: the bound was wrong.
    OutOfTables,
    /// The source has no page for a mapped VA.
    SourceTooSmall,
}

#[derive(Clone, Copy, Debug)]
struct SharedSparse {
    /// Maps the dummy page by page; None when the dummy is one 2 MiB block.
    l3: Option<PhysAddr>,
    /// Maps 1 GiB: 512 entries pointing at `l3` (or 2 MiB dummy blocks).
    l2: PhysAddr,
}

#[derive(Clone, Copy)]
enum Op<'a> {
    Map { src: Source<'a>, prot: Prot },
    Unmap,
}

/// The tables an update may take, and where it puts the ones it frees.
pub struct Pages<'a> {
    pub hw: &'a dyn Hardware,
    pub prealloc: &'a mut PageList,
    pub freed: &'a mut PageList,
}

/// The page tables of one VM.
pub struct PageTable {
    root: PhysAddr,
    layout: SparseLayout,
    /// Private tables in use, root included.
    private_tables: u64,
    /// Shared sparse tables, by [`Prot::index`].
    shared: [Option<SharedSparse>; 8],
}

/// How many `span`-sized aligned blocks `[start, end)` touches.
fn spans(start: u64, end: u64, span: u64) -> u64 {
    if end <= start {
        return 0;
    }
    (end - 1) / span - start / span + 1
}

impl PageTable {
    /// Allocates an empty root table.
    pub fn new(hw: &dyn Hardware, layout: SparseLayout) -> Result<Self, crate::shim::AllocError> {
        let root = hw.alloc_pages(1, PAGE_SIZE)?;
        hw.zero_pages(root, 1);
        Ok(Self {
            root,
            layout,
            private_tables: 1,
            shared: [None; 8],
        })
    }

    /// The level-0 table (what AS_TRANSTAB points to).
    pub fn root(&self) -> PhysAddr {
        self.root
    }

    pub fn layout(&self) -> SparseLayout {
        self.layout
    }

    /// Page-table pages in use, private and shared.
    pub fn table_pages(&self) -> u64 {
        let shared: u64 = self
            .shared
            .iter()
            .flatten()
            .map(|s| 1 + s.l3.is_some() as u64)
            .sum();
        self.private_tables + shared
    }

    fn is_shared(&self, pa: PhysAddr) -> bool {
        self.shared
            .iter()
            .flatten()
            .any(|s| s.l2 == pa || s.l3 == Some(pa))
    }

    // ----- preallocation bounds -----------------------------------------

    /// At most how many tables mapping `[start, end)` can take. A map
    /// overwrites what was there in place (splitting blocks and copying
    /// shared tables on the way), so one table per touched span and level is
    /// enough; a sparse map only needs private tables at its two edges, plus
    /// the shared tables the first time.
    pub fn tables_for_map(&self, start: u64, end: u64, sparse: bool, prot: Prot) -> u64 {
        let per_level = |span: u64| spans(start, end, span);
        if sparse && self.layout == SparseLayout::Shared {
            let shared = if self.shared[prot.index()].is_some() {
                0
            } else {
                2
            };
            per_level(LEVEL_SPAN[0])
                + per_level(LEVEL_SPAN[1]).min(2)
                + per_level(LEVEL_SPAN[2]).min(2)
                + shared
        } else {
            per_level(LEVEL_SPAN[0]) + per_level(LEVEL_SPAN[1]) + per_level(LEVEL_SPAN[2])
        }
    }

    /// At most how many tables unmapping `[start, end)` can take: only the
    /// edges can need one (splitting a block or copying a shared table).
    pub fn tables_for_unmap(start: u64, end: u64) -> u64 {
        spans(start, end, LEVEL_SPAN[1]).min(2) + spans(start, end, LEVEL_SPAN[2]).min(2)
    }

    // ----- updates ------------------------------------------------------

    /// Maps `[va, va + size)` from `src` with `prot`, replacing whatever was
    /// mapped there. `va` and `size` are page aligned (checked by the caller).
    pub fn map(
        &mut self,
        pages: &mut Pages<'_>,
        va: u64,
        size: u64,
        src: Source<'_>,
        prot: Prot,
    ) -> Result<(), PtError> {
        if src.is_sparse() && self.layout == SparseLayout::Shared {
            if let Source::Sparse { dummy } = src {
                self.ensure_shared(pages, dummy, prot)?;
            }
        }
        self.update(pages, 0, self.root, va, va + size, Op::Map { src, prot })
    }

    /// Unmaps `[va, va + size)`; holes are fine.
    pub fn unmap(&mut self, pages: &mut Pages<'_>, va: u64, size: u64) -> Result<(), PtError> {
        self.update(pages, 0, self.root, va, va + size, Op::Unmap)
    }

    fn update(
        &mut self,
        pages: &mut Pages<'_>,
        level: usize,
        table: PhysAddr,
        start: u64,
        end: u64,
        op: Op<'_>,
    ) -> Result<(), PtError> {
        let hw = pages.hw;
        let span = LEVEL_SPAN[level];
        let mut va = start;
        while va < end {
            let entry_start = va & !(span - 1);
            let chunk_end = end.min(entry_start + span);
            let full = va == entry_start && chunk_end == entry_start + span;
            let slot = table.add(8 * index(va, level) as u64);
            let pte = Pte(hw.read_u64(slot));

            let done = match op {
                _ if level == 3 => {
                    let new = match op {
                        Op::Map { src, prot } => {
                            Pte::leaf(3, src.page(va).ok_or(PtError::SourceTooSmall)?, prot)
                                .sparse_if(src.is_sparse())
                        }
                        Op::Unmap => Pte::INVALID,
                    };
                    hw.write_u64(slot, new.0);
                    true
                }
                Op::Unmap if full => {
                    if pte.is_valid() {
                        self.release(pages, pte, level);
                        hw.write_u64(slot, Pte::INVALID.0);
                    }
                    true
                }
                Op::Unmap if !pte.is_valid() => true,
                Op::Map { src, prot } if full => {
                    match self.full_entry(level, entry_start, src, prot) {
                        Some(new) => {
                            if new != pte {
                                self.release(pages, pte, level);
                                hw.write_u64(slot, new.0);
                            }
                            true
                        }
                        None => false,
                    }
                }
                // A sparse range inside a span that already maps the dummy
                // the same way: nothing would change, so copy nothing.
                Op::Map {
                    src: src @ Source::Sparse { .. },
                    prot,
                } => self.full_entry(level, entry_start, src, prot) == Some(pte),
                _ => false,
            };
            if !done {
                let child = self.private_child(pages, slot, pte, level)?;
                self.update(pages, level + 1, child, va, chunk_end, op)?;
                match op {
                    Op::Unmap if Self::is_empty(hw, child) => {
                        hw.write_u64(slot, Pte::INVALID.0);
                        self.free_private(pages, child);
                    }
                    // Unbinding the last real page of a span back to sparse
                    // leaves a private copy of a shared table: share again.
                    Op::Map {
                        src: src @ Source::Sparse { .. },
                        prot,
                    } => {
                        if let Some(shared) = self.full_entry(level, entry_start, src, prot) {
                            if self.same_translations(hw, child, shared, level + 1) {
                                hw.write_u64(slot, shared.0);
                                self.release(pages, Pte::table(child), level);
                            }
                        }
                    }
                    _ => {}
                }
            }
            va = chunk_end;
        }
        Ok(())
    }

    /// The single entry that maps a whole level-`level` span at `va` from
    /// `src`, when there is one (a block or a shared table).
    fn full_entry(&self, level: usize, va: u64, src: Source<'_>, prot: Prot) -> Option<Pte> {
        if level == 2 {
            if let Some(pa) = src.block(va) {
                return Some(Pte::leaf(2, pa, prot).sparse_if(src.is_sparse()));
            }
        }
        if !src.is_sparse() || self.layout != SparseLayout::Shared {
            return None;
        }
        let shared = self.shared[prot.index()]?;
        match level {
            2 => shared.l3.map(Pte::table),
            1 => Some(Pte::table(shared.l2)),
            _ => None,
        }
    }

    /// The private table under `slot`, made if needed: a new empty one, a
    /// copy of a shared one, or the split of a block.
    fn private_child(
        &mut self,
        pages: &mut Pages<'_>,
        slot: PhysAddr,
        pte: Pte,
        level: usize,
    ) -> Result<PhysAddr, PtError> {
        let hw = pages.hw;
        let existing = match pte.decode(level) {
            Entry::Table(pa) if !self.is_shared(pa) => return Ok(pa),
            other => other,
        };
        let child = self.alloc_table(pages)?;
        match existing {
            Entry::Table(shared) => {
                let entries = TableView::read(hw, shared);
                write_entries(hw, child, |j| entries.get(j));
            }
            Entry::Leaf { pa, .. } => {
                let child_span = LEVEL_SPAN[level + 1];
                write_entries(hw, child, |j| {
                    pte.with_addr_at_level(pa.add(j as u64 * child_span), level + 1)
                        .0
                });
            }
            Entry::Invalid => {}
        }
        // The child is complete before the GPU can reach it.
        hw.write_u64(slot, Pte::table(child).0);
        Ok(child)
    }

    fn alloc_table(&mut self, pages: &mut Pages<'_>) -> Result<PhysAddr, PtError> {
        match pages.prealloc.pop(pages.hw) {
            Some(pa) => {
                self.private_tables += 1;
                Ok(pa)
            }
            None => {
                crate::kwarn!("page-table update ran out of preallocated tables");
                Err(PtError::OutOfTables)
            }
        }
    }

    fn free_private(&mut self, pages: &mut Pages<'_>, pa: PhysAddr) {
        self.private_tables -= 1;
        pages.freed.push(pages.hw, pa);
    }

    /// Drops what `pte` (at `level`) points to: private tables below it are
    /// freed, shared ones left alone.
    fn release(&mut self, pages: &mut Pages<'_>, pte: Pte, level: usize) {
        let Entry::Table(pa) = pte.decode(level) else {
            return;
        };
        if level == 3 || self.is_shared(pa) {
            return;
        }
        if level + 1 < 3 {
            let entries = TableView::read(pages.hw, pa);
            for j in 0..ENTRIES {
                let e = Pte(entries.get(j));
                if e.is_valid() {
                    self.release(pages, e, level + 1);
                }
            }
        }
        self.free_private(pages, pa);
    }

    /// True when the table at `table` (of level `level`) translates exactly
    /// like `whole`, the single entry that would replace it one level up.
    fn same_translations(
        &self,
        hw: &dyn Hardware,
        table: PhysAddr,
        whole: Pte,
        level: usize,
    ) -> bool {
        let entries = TableView::read(hw, table);
        match whole.decode(level - 1) {
            // A shared table: same entries (which point to shared tables or
            // the dummy's pages).
            Entry::Table(shared) => {
                let expected = TableView::read(hw, shared);
                (0..ENTRIES).all(|j| entries.get(j) == expected.get(j))
            }
            // A 2 MiB dummy block: its 4 KiB pieces in order.
            Entry::Leaf { pa, .. } => (0..ENTRIES).all(|j| {
                entries.get(j)
                    == whole
                        .with_addr_at_level(pa.add(j as u64 * LEVEL_SPAN[level]), level)
                        .0
            }),
            Entry::Invalid => false,
        }
    }

    fn is_empty(hw: &dyn Hardware, table: PhysAddr) -> bool {
        let entries = TableView::read(hw, table);
        (0..ENTRIES).all(|j| !Pte(entries.get(j)).is_valid())
    }

    /// Builds the shared tables for `prot` on first use.
    fn ensure_shared(
        &mut self,
        pages: &mut Pages<'_>,
        dummy: &Backing,
        prot: Prot,
    ) -> Result<(), PtError> {
        if self.shared[prot.index()].is_some() {
            return Ok(());
        }
        let hw = pages.hw;
        let mut entries = [0u64; ENTRIES];
        let l3 = if dummy.is_one_huge_page() {
            None
        } else {
            for (j, e) in entries.iter_mut().enumerate() {
                let (pa, _) = dummy
                    .lookup(j as u64 * PAGE_SIZE)
                    .ok_or(PtError::SourceTooSmall)?;
                *e = Pte::leaf(3, pa, prot).sparse_if(true).0;
            }
            let l3 = pages.prealloc.pop(hw).ok_or(PtError::OutOfTables)?;
            hw.write_table(l3, &entries);
            Some(l3)
        };
        let leaf = match l3 {
            Some(l3) => Pte::table(l3),
            None => {
                let pa = dummy.lookup(0).ok_or(PtError::SourceTooSmall)?.0;
                Pte::leaf(2, pa, prot).sparse_if(true)
            }
        };
        entries = [leaf.0; ENTRIES];
        let Some(l2) = pages.prealloc.pop(hw) else {
            if let Some(l3) = l3 {
                pages.freed.push(hw, l3);
            }
            return Err(PtError::OutOfTables);
        };
        hw.write_table(l2, &entries);
        self.shared[prot.index()] = Some(SharedSparse { l3, l2 });
        Ok(())
    }

    // ----- reading ------------------------------------------------------

    /// Translates `va` by walking the tables as the MMU does.
    pub fn walk(&self, hw: &dyn Hardware, va: u64) -> Option<Translation> {
        walk(hw, self.root, va)
    }

    /// True when `va` is translated by a 2 MiB block (a partial change
    /// there must lock the whole block).
    pub fn is_block(&self, hw: &dyn Hardware, va: u64) -> bool {
        self.walk(hw, va).is_some_and(|t| t.level == 2)
    }

    /// Frees every table; the page table is empty and unusable afterwards
    /// (a second call does nothing). The VM must no longer be bound to an
    /// address space.
    pub fn destroy(&mut self, hw: &dyn Hardware) {
        if self.private_tables == 0 {
            return;
        }
        let mut freed = PageList::new();
        let mut none = PageList::new();
        let mut pages = Pages {
            hw,
            prealloc: &mut none,
            freed: &mut freed,
        };
        let root = self.root;
        for i in 0..ENTRIES as u64 {
            let pte = Pte(hw.read_u64(root.add(8 * i)));
            self.release(&mut pages, pte, 0);
        }
        freed.free_all(hw);
        hw.free_pages(root, 1);
        self.private_tables = 0;
        for s in self.shared.iter_mut().filter_map(Option::take) {
            hw.free_pages(s.l2, 1);
            if let Some(l3) = s.l3 {
                hw.free_pages(l3, 1);
            }
        }
    }
}

/// The entries of one table, read with one `read_table` into a heap buffer:
/// a 4 KiB array on the stack is too much for a kernel stack (16 KiB) once
/// the update's recursion nests them. Without memory for the buffer the
/// entries are read one by one, which gives the same values.
struct TableView<'a> {
    hw: &'a dyn Hardware,
    table: PhysAddr,
    buf: Option<Vec<u64>>,
}

impl<'a> TableView<'a> {
    fn read(hw: &'a dyn Hardware, table: PhysAddr) -> Self {
        let buf = table_buf().map(|mut v| {
            if let Ok(t) = <&mut [u64; ENTRIES]>::try_from(v.as_mut_slice()) {
                hw.read_table(table, t);
            }
            v
        });
        Self { hw, table, buf }
    }

    fn get(&self, j: usize) -> u64 {
        match &self.buf {
            Some(b) => b[j],
            None => self.hw.read_u64(self.table.add(8 * j as u64)),
        }
    }
}

/// Writes entry `j` = `entry(j)` of `table` for every `j`: one `write_table`
/// from a heap buffer (see [`TableView`]), or entry by entry without one.
fn write_entries(hw: &dyn Hardware, table: PhysAddr, entry: impl Fn(usize) -> u64) {
    let mut buf = table_buf();
    match buf
        .as_mut()
        .and_then(|v| <&mut [u64; ENTRIES]>::try_from(v.as_mut_slice()).ok())
    {
        Some(t) => {
            for (j, e) in t.iter_mut().enumerate() {
                *e = entry(j);
            }
            hw.write_table(table, t);
        }
        None => {
            for j in 0..ENTRIES {
                hw.write_u64(table.add(8 * j as u64), entry(j));
            }
        }
    }
}

fn table_buf() -> Option<Vec<u64>> {
    crate::shim::try_vec_filled(ENTRIES, 0u64).ok()
}

/// Walks the tables under `root` for `va`, decoding the real descriptor
/// bits. The virtual Mali's MMU uses the same rules.
pub fn walk(hw: &dyn Hardware, root: PhysAddr, va: u64) -> Option<Translation> {
    let mut table = root;
    for (level, span) in LEVEL_SPAN.iter().enumerate() {
        let pte = Pte(hw.read_u64(table.add(8 * index(va, level) as u64)));
        match pte.decode(level) {
            Entry::Invalid => return None,
            Entry::Table(pa) => table = pa,
            Entry::Leaf { pa, prot, af } => {
                return Some(Translation {
                    pa: pa.add(va & (span - 1)),
                    prot,
                    level,
                    af,
                    sparse: pte.0 & crate::pte::SW_SPARSE != 0,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MockHw;
    use alloc::sync::Arc;

    const NX: Prot = Prot {
        readonly: false,
        noexec: true,
        uncached: false,
    };

    struct Env {
        mock: Arc<MockHw>,
        hw: Arc<dyn Hardware>,
        pool: PageList,
        freed: PageList,
    }

    impl Env {
        fn new() -> Env {
            let mock = Arc::new(MockHw::new());
            Env {
                hw: mock.clone(),
                mock,
                pool: PageList::new(),
                freed: PageList::new(),
            }
        }
        fn pages(&mut self, n: u64) -> Pages<'_> {
            self.pool.fill_to(&*self.hw, n).unwrap();
            Pages {
                hw: &*self.hw,
                prealloc: &mut self.pool,
                freed: &mut self.freed,
            }
        }
    }

    #[test]
    #[allow(unused_variables)]
    fn map_uses_blocks_when_aligned_and_contiguous() {
        let mut env = Env::new();
        let (hw, mock) = (env.hw.clone(), env.mock.clone());
        let bo = Backing::alloc(&hw, 4 * SZ_2M).unwrap();
        let mut pt = PageTable::new(&*hw, SparseLayout::Shared).unwrap();
        let need = pt.tables_for_map(SZ_2M, 5 * SZ_2M, false, Prot::default());
        let mut p = env.pages(need);
        pt.map(
            &mut p,
            SZ_2M,
            4 * SZ_2M,
            Source::Bo {
                backing: &bo,
                va: SZ_2M,
                offset: 0,
            },
            Prot::default(),
        )
        .unwrap();
        let t = pt.walk(&*hw, SZ_2M + 0x1234).unwrap();
        assert_eq!(t.level, 2);
        assert_eq!(t.pa, bo.lookup(0x1234).unwrap().0);
        // Root + L1 + L2 only: no level-3 table for block-mapped memory.
        assert_eq!(pt.table_pages(), 3);

        // A BO offset that breaks 2 MiB alignment forces 4 KiB pages.
        let mut p = env.pages(8);
        pt.map(
            &mut p,
            8 * SZ_2M,
            SZ_2M,
            Source::Bo {
                backing: &bo,
                va: 8 * SZ_2M,
                offset: PAGE_SIZE,
            },
            NX,
        )
        .unwrap();
        let t = pt.walk(&*hw, 8 * SZ_2M).unwrap();
        assert_eq!(
            (t.level, t.pa, t.prot),
            (3, bo.lookup(PAGE_SIZE).unwrap().0, NX)
        );
    }

    #[test]
    #[allow(unused_variables)]
    fn partial_unmap_of_a_block_splits_it_and_keeps_the_rest() {
        let mut env = Env::new();
        let (hw, mock) = (env.hw.clone(), env.mock.clone());
        let bo = Backing::alloc(&hw, SZ_2M).unwrap();
        let mut pt = PageTable::new(&*hw, SparseLayout::Shared).unwrap();
        let mut p = env.pages(8);
        pt.map(
            &mut p,
            0,
            SZ_2M,
            Source::Bo {
                backing: &bo,
                va: 0,
                offset: 0,
            },
            Prot::default(),
        )
        .unwrap();
        assert!(pt.is_block(&*hw, 0x10_0000));
        pt.unmap(&mut p, 0x10_0000, 0x1000).unwrap();
        assert_eq!(pt.walk(&*hw, 0x10_0000), None);
        for va in [0, 0xf_f000, 0x10_1000, SZ_2M - PAGE_SIZE] {
            let t = pt.walk(&*hw, va).unwrap();
            assert_eq!((t.level, t.pa), (3, bo.lookup(va).unwrap().0), "va {va:#x}");
        }
    }

    #[test]
    #[allow(unused_variables)]
    fn unmapping_everything_frees_every_private_table() {
        let mut env = Env::new();
        let (hw, mock) = (env.hw.clone(), env.mock.clone());
        let bo = Backing::alloc(&hw, 3 * PAGE_SIZE).unwrap();
        let mut pt = PageTable::new(&*hw, SparseLayout::Shared).unwrap();
        let mut p = env.pages(8);
        pt.map(
            &mut p,
            0x7f_ffff_f000,
            3 * PAGE_SIZE,
            Source::Bo {
                backing: &bo,
                va: 0x7f_ffff_f000,
                offset: 0,
            },
            NX,
        )
        .unwrap();
        // Crosses a 512 GiB boundary: two L1, two L2, two L3 tables.
        assert_eq!(pt.table_pages(), 7);
        pt.unmap(&mut p, 0x7f_ffff_f000, 3 * PAGE_SIZE).unwrap();
        assert_eq!(pt.table_pages(), 1);
        assert_eq!(env.freed.len(), 6);
    }

    #[test]
    #[allow(unused_variables)]
    fn sparse_reservation_uses_shared_tables_and_constant_memory() {
        for huge_dummy in [false, true] {
            let mut env = Env::new();
            let (hw, mock) = (env.hw.clone(), env.mock.clone());
            let dummy = if huge_dummy {
                Backing::alloc(&hw, SZ_2M).unwrap()
            } else {
                mock.set_no_huge_pages(true);
                let b = Backing::alloc(&hw, SZ_2M).unwrap();
                mock.set_no_huge_pages(false);
                assert!(!b.is_one_huge_page() || huge_dummy);
                b
            };
            let mut pt = PageTable::new(&*hw, SparseLayout::Shared).unwrap();
            let (start, end) = (SZ_2M - PAGE_SIZE, (64u64 << 30) + PAGE_SIZE);
            let need = pt.tables_for_map(start, end, true, NX);
            assert!(need <= 12, "bound {need}");
            let mut p = env.pages(need);
            pt.map(
                &mut p,
                start,
                end - start,
                Source::Sparse { dummy: &dummy },
                NX,
            )
            .unwrap();
            assert!(pt.table_pages() <= 9, "{} pages", pt.table_pages());
            for va in [
                start,
                5 << 30,
                (5 << 30) + 0x12_3000,
                end - PAGE_SIZE,
                33 * SZ_2M + 0x4000,
            ] {
                let t = pt.walk(&*hw, va).unwrap();
                assert_eq!(
                    t.pa,
                    dummy.lookup(va % SZ_2M).unwrap().0,
                    "va {va:#x} huge {huge_dummy}"
                );
                assert_eq!(t.prot, NX);
            }
            assert_eq!(pt.walk(&*hw, end), None);
            assert_eq!(pt.walk(&*hw, start - PAGE_SIZE), None);
        }
    }

    #[test]
    #[allow(unused_variables)]
    fn binding_inside_a_shared_table_copies_it_first() {
        let mut env = Env::new();
        let (hw, mock) = (env.hw.clone(), env.mock.clone());
        mock.set_no_huge_pages(true);
        let dummy = Backing::alloc(&hw, SZ_2M).unwrap();
        mock.set_no_huge_pages(false);
        let page = Backing::alloc(&hw, 0x1_0000).unwrap();
        let mut pt = PageTable::new(&*hw, SparseLayout::Shared).unwrap();
        let mut p = env.pages(16);
        pt.map(&mut p, 0, 4 << 30, Source::Sparse { dummy: &dummy }, NX)
            .unwrap();
        let before = pt.table_pages();
        let snapshot_shared = mock.snapshot();

        // Bind 64 KiB of real memory at 1 GiB + 2 MiB + 64 KiB.
        let va = (1 << 30) + SZ_2M + 0x1_0000;
        pt.map(
            &mut p,
            va,
            0x1_0000,
            Source::Bo {
                backing: &page,
                va,
                offset: 0,
            },
            NX,
        )
        .unwrap();
        assert_eq!(
            pt.walk(&*hw, va + 0x3000).unwrap().pa,
            page.lookup(0x3000).unwrap().0
        );
        // Neighbours in the same 2 MiB, GiB and other GiBs still see the
        // dummy, marked as such for residency queries; the bound page is not.
        for other in [
            va - PAGE_SIZE,
            va + 0x1_0000,
            (1 << 30) + 0x5000,
            (2 << 30) + va % (1 << 30),
        ] {
            let t = pt.walk(&*hw, other).unwrap();
            assert_eq!(t.pa, dummy.lookup(other % SZ_2M).unwrap().0);
            assert!(t.sparse, "{other:#x} maps the dummy");
        }
        assert!(
            !pt.walk(&*hw, va).unwrap().sparse,
            "bound memory is resident"
        );
        // One private L2 and one private L3 were made.
        assert_eq!(pt.table_pages(), before + 2);
        // The shared tables themselves did not change.
        let shared_pages: alloc::vec::Vec<_> = pt
            .shared
            .iter()
            .flatten()
            .flat_map(|s| [Some(s.l2), s.l3])
            .flatten()
            .collect();
        let now = mock.snapshot();
        for pa in shared_pages {
            let find = |snap: &[(u64, [u64; 512])]| {
                snap.iter()
                    .find(|(pfn, _)| *pfn == pa.0 / PAGE_SIZE)
                    .map(|p| p.1)
            };
            assert_eq!(find(&snapshot_shared), find(&now));
        }

        // Unbinding back to sparse re-shares: the private tables are freed.
        pt.map(&mut p, va, 0x1_0000, Source::Sparse { dummy: &dummy }, NX)
            .unwrap();
        assert_eq!(
            pt.walk(&*hw, va).unwrap().pa,
            dummy.lookup(va % SZ_2M).unwrap().0
        );
        // A full-GiB sparse map over the COW'd span points back at the shared L2.
        pt.map(
            &mut p,
            1 << 30,
            1 << 30,
            Source::Sparse { dummy: &dummy },
            NX,
        )
        .unwrap();
        assert_eq!(pt.table_pages(), before);
    }

    #[test]
    #[allow(unused_variables)]
    fn seed_layout_pays_a_table_per_2mib() {
        let mut env = Env::new();
        let (hw, mock) = (env.hw.clone(), env.mock.clone());
        mock.set_no_huge_pages(true);
        let dummy = Backing::alloc(&hw, SZ_2M).unwrap();
        mock.set_no_huge_pages(false);
        assert!(!dummy.is_one_huge_page());
        let mut pt = PageTable::new(&*hw, SparseLayout::PerChunk).unwrap();
        let need = pt.tables_for_map(0, 1 << 30, true, NX);
        let mut p = env.pages(need);
        pt.map(&mut p, 0, 1 << 30, Source::Sparse { dummy: &dummy }, NX)
            .unwrap();
        // Root, L1, L2 and 512 L3 tables.
        assert_eq!(pt.table_pages(), 3 + 512);
        assert_eq!(
            pt.walk(&*hw, 0x2345_6000).unwrap().pa,
            dummy.lookup(0x2345_6000 % SZ_2M).unwrap().0
        );
    }

    #[test]
    #[allow(unused_variables)]
    fn destroy_returns_every_page() {
        let mut env = Env::new();
        let (hw, mock) = (env.hw.clone(), env.mock.clone());
        let dummy = Backing::alloc(&hw, SZ_2M).unwrap();
        let bo = Backing::alloc(&hw, 0x3000).unwrap();
        let base = mock.allocated_pages();
        let mut pt = PageTable::new(&*hw, SparseLayout::Shared).unwrap();
        let mut p = env.pages(32);
        pt.map(&mut p, 0, 3 << 30, Source::Sparse { dummy: &dummy }, NX)
            .unwrap();
        pt.map(
            &mut p,
            0x1000,
            0x3000,
            Source::Bo {
                backing: &bo,
                va: 0x1000,
                offset: 0,
            },
            Prot::default(),
        )
        .unwrap();
        env.pool.free_all(&*hw);
        env.freed.free_all(&*hw);
        pt.destroy(&*hw);
        assert_eq!(mock.allocated_pages(), base);
    }

    #[test]
    #[allow(unused_variables)]
    fn spans_counts_touched_blocks() {
        assert_eq!(spans(0, SZ_2M, SZ_2M), 1);
        assert_eq!(spans(PAGE_SIZE, SZ_2M + PAGE_SIZE, SZ_2M), 2);
        assert_eq!(spans(5, 5, SZ_2M), 0);
    }
}
