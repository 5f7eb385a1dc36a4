//! VM_BIND against a reference model: page-table contents after every op,
//! errno and "nothing changed" for every invalid op, the lock protocol, and
//! the sparse dummy's lifetime.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::bo::{Backing, Bo, BoRef};
use crate::hw::{Hardware, PhysAddr, PAGE_SIZE, SZ_1G, SZ_2M};
use crate::pgtable::SparseLayout;
use crate::pte::Prot;
use crate::shim::Shared;
use crate::testing::MockHw;
use crate::uapi::*;
use crate::vm::{BindOp, RawOp, Vm};
use crate::vm_pool::VmPool;
use crate::Errno;

const NX: u32 = DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
const SPARSE: u32 = DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE | NX;
const UNMAP: u32 = DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP;

struct Env {
    mock: Arc<MockHw>,
    hw: Arc<dyn Hardware>,
    pool: VmPool,
}

impl Env {
    fn new(layout: SparseLayout, huge_dummy: bool) -> Env {
        let mock = Arc::new(MockHw::new());
        let hw: Arc<dyn Hardware> = mock.clone();
        mock.set_no_huge_pages(!huge_dummy);
        let pool = VmPool::new(hw.clone(), 48, 1 << 48, layout).unwrap();
        mock.set_no_huge_pages(false);
        Env { mock, hw, pool }
    }

    fn vm(&mut self) -> crate::vm_pool::VmRef {
        let mut args = drm_panthor_vm_create::default();
        self.pool.create(&mut args).unwrap();
        let vm = self.pool.get(args.id).unwrap();
        vm.lock().activate(0).unwrap();
        vm
    }

    fn bo(&self, size: u64, huge: bool) -> BoRef {
        self.mock.set_no_huge_pages(!huge);
        let backing = Backing::alloc(&self.hw, size).unwrap();
        self.mock.set_no_huge_pages(false);
        Shared::try_new(Bo {
            backing,
            flags: 0,
            exclusive_vm: None,
        })
        .unwrap()
    }
}

fn raw<'a>(flags: u32, bo: Option<&'a BoRef>, bo_offset: u64, va: u64, size: u64) -> RawOp<'a> {
    RawOp {
        flags,
        bo_handle: bo.map_or(0, |_| 1),
        bo,
        bo_offset,
        va,
        size,
        sync_count: 0,
    }
}

/// Checks and binds one op, as a synchronous VM_BIND does.
fn bind(vm: &mut Vm, op: RawOp<'_>) -> Result<(), Errno> {
    match vm.check_op(&op, false)? {
        Some(op) => vm.bind(&[op]).map_err(|e| e.errno),
        None => Ok(()),
    }
}

fn pa_of(vm: &Vm, va: u64) -> Option<PhysAddr> {
    vm.page_table().walk(&**vm.hw(), va).map(|t| t.pa)
}

// ----- the reference model ----------------------------------------------

/// What one 4 KiB page of VA maps in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    Bo { bo: usize, offset: u64, flags: u32 },
    Dummy { flags: u32 },
}

#[derive(Default)]
struct Model {
    pages: BTreeMap<u64, Page>,
}

impl Model {
    fn clear(&mut self, va: u64, size: u64) {
        let keys: Vec<u64> = self.pages.range(va..va + size).map(|(k, _)| *k).collect();
        for k in keys {
            self.pages.remove(&k);
        }
    }

    /// Sparse ranges can be GiBs: the model keeps them as one run per op,
    /// stored at their start, and answers by interval.
    fn expected(&self, sparse_runs: &[(u64, u64, u32)], va: u64) -> Option<Page> {
        if let Some(p) = self.pages.get(&va) {
            return Some(*p);
        }
        sparse_runs
            .iter()
            .rev()
            .find(|(s, e, _)| *s <= va && va < *e)
            .map(|(_, _, flags)| Page::Dummy { flags: *flags })
    }
}

/// The model of a whole VM: small pages exactly, sparse runs as intervals
/// (later ops cut earlier runs by recording holes as explicit pages).
#[derive(Default)]
struct VmModel {
    model: Model,
    /// (start, end, flags); later entries win; `holes` override them.
    sparse: Vec<(u64, u64, u32)>,
    /// Pages inside sparse runs that were later unmapped or rebound.
    overrides: BTreeMap<u64, Option<Page>>,
}

impl VmModel {
    fn map_bo(&mut self, va: u64, size: u64, bo: usize, offset: u64, flags: u32) {
        for i in 0..size / PAGE_SIZE {
            let p = Page::Bo {
                bo,
                offset: offset + i * PAGE_SIZE,
                flags,
            };
            self.model.pages.insert(va + i * PAGE_SIZE, p);
            self.overrides.insert(va + i * PAGE_SIZE, Some(p));
        }
    }
    fn map_sparse(&mut self, va: u64, size: u64, flags: u32) {
        self.model.clear(va, size);
        let keys: Vec<u64> = self
            .overrides
            .range(va..va + size)
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.overrides.remove(&k);
        }
        self.sparse.push((va, va + size, flags));
    }
    fn unmap(&mut self, va: u64, size: u64) {
        self.model.clear(va, size);
        // Unmapped pages inside sparse runs become explicit holes; ranges
        // outside every run need nothing. Unmaps over GiBs only happen in
        // the small window, so this stays cheap.
        let covered_by_sparse = |p: u64| self.sparse.iter().any(|(s, e, _)| *s <= p && p < *e);
        let mut p = va;
        while p < va + size {
            if covered_by_sparse(p) {
                self.overrides.insert(p, None);
            } else {
                self.overrides.remove(&p);
            }
            p += PAGE_SIZE;
        }
    }
    fn expected(&self, va: u64) -> Option<Page> {
        if let Some(o) = self.overrides.get(&va) {
            return *o;
        }
        self.model.expected(&self.sparse, va)
    }
}

#[derive(Clone, Debug)]
enum TestOp {
    Map {
        bo: usize,
        offset_pages: u64,
        va: u64,
        pages: u64,
        flags: u32,
    },
    Sparse {
        va: u64,
        size: u64,
        flags: u32,
    },
    Unmap {
        va: u64,
        pages: u64,
    },
    /// An op the kernel must refuse; which rule it breaks varies.
    Invalid {
        rule: u8,
        va: u64,
    },
}

/// Small ops land in a 16 MiB window straddling the 1 GiB boundary, so
/// they cut blocks, edge tables and shared tables; big sparse ops cover GiBs.
const WINDOW: u64 = SZ_1G - 8 * SZ_2M;
const WINDOW_PAGES: u64 = 16 * SZ_2M / PAGE_SIZE;

fn window_va() -> impl Strategy<Value = u64> {
    prop_oneof![
        (0..WINDOW_PAGES).prop_map(|p| WINDOW + p * PAGE_SIZE),
        (0..8u64).prop_map(|b| WINDOW + b * SZ_2M),
    ]
}

fn test_op() -> impl Strategy<Value = TestOp> {
    let flags = prop::sample::select(vec![
        0,
        NX,
        DRM_PANTHOR_VM_BIND_OP_MAP_READONLY,
        DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED | NX,
    ]);
    let sparse_flags =
        prop::sample::select(vec![SPARSE, SPARSE | DRM_PANTHOR_VM_BIND_OP_MAP_READONLY]);
    prop_oneof![
        4 => (0..3usize, 0..1024u64, window_va(), 1..1100u64, flags).prop_map(|(bo, offset_pages, va, pages, flags)| {
            TestOp::Map { bo, offset_pages, va, pages, flags }
        }),
        2 => (window_va(), 1..2000u64, sparse_flags.clone()).prop_map(|(va, pages, flags)| TestOp::Sparse { va, size: pages * PAGE_SIZE, flags }),
        1 => (0..3u64, 1..3u64, -3..4i64, sparse_flags).prop_map(|(gib, len, skew, flags)| {
            let va = (gib * SZ_1G).saturating_add_signed(skew * PAGE_SIZE as i64).max(PAGE_SIZE);
            TestOp::Sparse { va, size: len * SZ_1G, flags }
        }),
        3 => (window_va(), 1..1100u64).prop_map(|(va, pages)| TestOp::Unmap { va, pages }),
        2 => (0..10u8, window_va()).prop_map(|(rule, va)| TestOp::Invalid { rule, va }),
    ]
}

/// Addresses to compare: every op boundary and its neighbours, the window
/// on a stride, and a few far ones.
fn sample_points(ops: &[TestOp]) -> Vec<u64> {
    let mut pts = Vec::new();
    for op in ops {
        let (va, size) = match *op {
            TestOp::Map { va, pages, .. } | TestOp::Unmap { va, pages } => (va, pages * PAGE_SIZE),
            TestOp::Sparse { va, size, .. } => (va, size),
            TestOp::Invalid { va, .. } => (va, PAGE_SIZE),
        };
        for p in [
            va.saturating_sub(PAGE_SIZE),
            va,
            va + size - PAGE_SIZE,
            va + size,
            (va + size / 2) & !(PAGE_SIZE - 1),
        ] {
            pts.push(p);
        }
    }
    let mut p = WINDOW;
    while p < WINDOW + 16 * SZ_2M {
        pts.push(p);
        p += 7 * PAGE_SIZE;
    }
    pts.extend([0, SZ_2M, 3 * SZ_1G + 5 * SZ_2M, 2 * SZ_1G - PAGE_SIZE]);
    pts.sort_unstable();
    pts.dedup();
    pts
}

fn check(
    vm: &Vm,
    model: &VmModel,
    bos: &[BoRef],
    dummy: &BoRef,
    points: &[u64],
) -> Result<(), TestCaseError> {
    let hw = &**vm.hw();
    for &va in points {
        let got = vm.page_table().walk(hw, va);
        match model.expected(va) {
            None => prop_assert_eq!(got, None, "va {:#x} should be unmapped", va),
            Some(Page::Bo { bo, offset, flags }) => {
                let t = got.ok_or_else(|| {
                    TestCaseError::fail(std::format!("va {va:#x} unmapped, model has BO"))
                })?;
                prop_assert_eq!(
                    t.pa,
                    bos[bo].backing.lookup(offset).unwrap().0,
                    "va {:#x}",
                    va
                );
                prop_assert_eq!(t.prot, Prot::from_bind_flags(flags), "va {:#x}", va);
                prop_assert!(t.af);
            }
            Some(Page::Dummy { flags }) => {
                let t = got.ok_or_else(|| {
                    TestCaseError::fail(std::format!("va {va:#x} unmapped, model has dummy"))
                })?;
                prop_assert_eq!(
                    t.pa,
                    dummy.backing.lookup(va % SZ_2M).unwrap().0,
                    "va {:#x} cyclic dummy",
                    va
                );
                prop_assert_eq!(t.prot, Prot::from_bind_flags(flags), "va {:#x}", va);
            }
        }
    }
    Ok(())
}

fn invalid_op<'a>(rule: u8, va: u64, bos: &'a [BoRef]) -> (RawOp<'a>, bool) {
    // (op, asynchronous)
    let bo = Some(&bos[0]);
    let op = match rule {
        0 => raw(0, bo, 0, va + 0x800, PAGE_SIZE), // unaligned VA
        1 => raw(0, bo, 0x10, va, PAGE_SIZE),      // unaligned offset
        2 => raw(0, bo, bos[0].size(), va, PAGE_SIZE), // outside the BO
        3 => raw(DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE, None, 0, va, PAGE_SIZE), // sparse without NOEXEC
        4 => raw(SPARSE, bo, 0, va, PAGE_SIZE),                              // sparse with a BO
        5 => raw(0, None, 0, va, PAGE_SIZE),                                 // unknown BO handle
        6 => raw(1 << 7, bo, 0, va, PAGE_SIZE),                              // unknown flag
        7 => raw(UNMAP | NX, None, 0, va, PAGE_SIZE),                        // map flag on unmap
        8 => raw(0, bo, 0, (1 << 47) - PAGE_SIZE, 2 * PAGE_SIZE),            // past the user VA
        _ => RawOp {
            sync_count: 1,
            ..raw(0, bo, 0, va, PAGE_SIZE)
        }, // syncs on a sync bind
    };
    (op, false)
}

fn run_ops(layout: SparseLayout, huge_dummy: bool, ops: &[TestOp]) -> Result<(), TestCaseError> {
    let mut env = Env::new(layout, huge_dummy);
    let vm_ref = env.vm();
    let bos = [
        env.bo(4 * SZ_2M, true),
        env.bo(SZ_2M + 64 * PAGE_SIZE, false),
        env.bo(8 * SZ_2M, true),
    ];
    let dummy = env.pool.dummy().clone();
    let mut vm = vm_ref.lock();
    let mut model = VmModel::default();
    let points = sample_points(ops);
    for op in ops {
        match *op {
            TestOp::Map {
                bo,
                offset_pages,
                va,
                pages,
                flags,
            } => {
                let size = pages * PAGE_SIZE;
                let offset = (offset_pages * PAGE_SIZE) % bos[bo].size();
                let r = bind(&mut vm, raw(flags, Some(&bos[bo]), offset, va, size));
                if offset + size <= bos[bo].size() {
                    prop_assert_eq!(r, Ok(()));
                    model.map_bo(va, size, bo, offset, flags);
                } else {
                    prop_assert_eq!(r, Err(Errno::EINVAL));
                }
            }
            TestOp::Sparse { va, size, flags } => {
                prop_assert_eq!(bind(&mut vm, raw(flags, None, 0, va, size)), Ok(()));
                model.map_sparse(va, size, flags);
            }
            TestOp::Unmap { va, pages } => {
                prop_assert_eq!(
                    bind(&mut vm, raw(UNMAP, None, 0, va, pages * PAGE_SIZE)),
                    Ok(())
                );
                model.unmap(va, pages * PAGE_SIZE);
            }
            TestOp::Invalid { rule, va } => {
                let before = env.mock.snapshot();
                let vmas_before = vm.vmas().count();
                let (op, asynchronous) = invalid_op(rule, va, &bos);
                let r = match vm.check_op(&op, asynchronous) {
                    Ok(Some(op)) => vm.bind(&[op]).map_err(|e| e.errno),
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                };
                prop_assert_eq!(r, Err(Errno::EINVAL), "rule {}", rule);
                prop_assert!(
                    env.mock.snapshot() == before,
                    "invalid op (rule {}) changed memory",
                    rule
                );
                prop_assert_eq!(vm.vmas().count(), vmas_before);
            }
        }
        prop_assert_eq!(env.mock.locked_region(0), None, "region left locked");
        check(&vm, &model, &bos, &dummy, &points)?;
    }
    // VMAs are sorted, disjoint, and their flags agree with the tables.
    let mut last_end = 0;
    for vma in vm.vmas() {
        prop_assert!(vma.start >= last_end);
        last_end = vma.end();
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    /// Invariant: after every MAP / MAP_SPARSE / UNMAP, walking the real
    /// page tables gives exactly the model's translation (BO page, cyclic
    /// dummy page, or nothing, with the op's permissions); invalid ops fail
    /// with EINVAL and leave every physical page byte-identical.
    #[test]
    fn page_tables_match_model_shared_layout(huge_dummy in any::<bool>(), ops in prop::collection::vec(test_op(), 1..24)) {
        run_ops(SparseLayout::Shared, huge_dummy, &ops)?;
    }

    /// The same invariant with the seed's per-2 MiB sparse layout.
    #[test]
    fn page_tables_match_model_seed_layout(ops in prop::collection::vec(test_op(), 1..12)) {
        run_ops(SparseLayout::PerChunk, false, &ops)?;
    }
}

// ----- focused cases -------------------------------------------------------

#[test]
fn partial_unmap_of_a_huge_page_locks_the_whole_block() {
    let mut env = Env::new(SparseLayout::Shared, true);
    let vm_ref = env.vm();
    let bo = env.bo(SZ_2M, true);
    let mut vm = vm_ref.lock();
    bind(&mut vm, raw(0, Some(&bo), 0, 4 * SZ_2M, SZ_2M)).unwrap();
    assert!(vm.page_table().is_block(&*env.hw, 4 * SZ_2M));
    env.mock.take_lock_history();

    // Unmap 4 KiB at the end of the block: the last byte of the range is in
    // the block, so the lock must grow to the whole block (the seed looked
    // at the wrong address for this "next" half).
    let va = 5 * SZ_2M - PAGE_SIZE;
    bind(&mut vm, raw(UNMAP, None, 0, va, PAGE_SIZE)).unwrap();
    let locks = env.mock.take_lock_history();
    assert_eq!(locks.len(), 2, "{locks:x?}");
    let (_, start, size) = locks[1];
    assert!(
        start <= 4 * SZ_2M && start + size >= 5 * SZ_2M,
        "lock {start:#x}+{size:#x} misses the block"
    );
    assert_eq!(pa_of(&vm, va), None);
    assert_eq!(pa_of(&vm, 4 * SZ_2M), Some(bo.backing.lookup(0).unwrap().0));

    // Start outside a block, end inside one: the last byte of the range
    // shows the block (here the lock's power-of-two rounding covers it too).
    bind(&mut vm, raw(0, Some(&bo), 0, 8 * SZ_2M, SZ_2M)).unwrap();
    env.mock.take_lock_history();
    bind(
        &mut vm,
        raw(UNMAP, None, 0, 8 * SZ_2M - PAGE_SIZE, 2 * PAGE_SIZE),
    )
    .unwrap();
    let locks = env.mock.take_lock_history();
    let (_, start, size) = *locks.last().unwrap();
    assert!(
        start + size >= 9 * SZ_2M,
        "lock {start:#x}+{size:#x} misses the block after the range"
    );
    assert_eq!(
        pa_of(&vm, 8 * SZ_2M + PAGE_SIZE),
        Some(bo.backing.lookup(PAGE_SIZE).unwrap().0)
    );

    // A 4 KiB unmap of 4 KiB pages needs no expansion.
    bind(&mut vm, raw(UNMAP, None, 0, va - PAGE_SIZE, PAGE_SIZE)).unwrap();
    let locks = env.mock.take_lock_history();
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].2, 0x8000);
}

#[test]
fn all_or_nothing_when_tables_cannot_be_allocated() {
    let mut env = Env::new(SparseLayout::Shared, false);
    let vm_ref = env.vm();
    let bo = env.bo(SZ_2M, false);
    let mut vm = vm_ref.lock();
    bind(&mut vm, raw(0, Some(&bo), 0, SZ_1G, PAGE_SIZE)).unwrap();
    let before = env.mock.snapshot();
    env.mock.set_page_limit(Some(env.mock.allocated_pages()));
    let ops: Vec<BindOp> = [
        raw(0, Some(&bo), 0, 0x10_0000, PAGE_SIZE),
        raw(SPARSE, None, 0, 7 * SZ_1G + PAGE_SIZE, 3 * SZ_1G),
        raw(0, Some(&bo), 0, 900 * SZ_1G, SZ_2M),
    ]
    .iter()
    .map(|op| vm.check_op(op, false).unwrap().unwrap())
    .collect();
    let err = vm.bind(&ops).unwrap_err();
    assert_eq!(err.errno, Errno::ENOMEM);
    assert_eq!(err.ops_done, 0);
    assert!(
        env.mock.snapshot() == before,
        "a failed bind changed memory"
    );
    assert_eq!(vm.vmas().count(), 1);
    env.mock.set_page_limit(None);
    vm.bind(&ops).unwrap();
    assert_eq!(
        pa_of(&vm, 900 * SZ_1G + 0x1000),
        Some(bo.backing.lookup(0x1000).unwrap().0)
    );
}

#[test]
fn sparse_rules_follow_the_seed() {
    let mut env = Env::new(SparseLayout::Shared, false);
    let vm_ref = env.vm();
    let bo = env.bo(SZ_2M, false);
    let vm = vm_ref.lock();
    let check = |op: RawOp<'_>| vm.check_op(&op, false).map(|o| o.is_some());
    assert_eq!(check(raw(SPARSE, None, 0, 0, SZ_2M)), Ok(true));
    assert_eq!(
        check(raw(DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE, None, 0, 0, SZ_2M)),
        Err(Errno::EINVAL),
        "NOEXEC needed"
    );
    assert_eq!(
        check(raw(SPARSE, Some(&bo), 0, 0, SZ_2M)),
        Err(Errno::EINVAL),
        "handle must be 0"
    );
    assert_eq!(
        check(raw(SPARSE, None, PAGE_SIZE, 0, SZ_2M)),
        Err(Errno::EINVAL),
        "offset must be 0"
    );
    assert_eq!(
        check(raw(
            UNMAP | DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE,
            None,
            0,
            0,
            SZ_2M
        )),
        Err(Errno::EINVAL)
    );
    // Bigger than the 2 MiB dummy is the point of sparse.
    assert_eq!(check(raw(SPARSE, None, 0, 0, 64 * SZ_1G)), Ok(true));
    // Zero-size synchronous ops are accepted untouched, as in the kernel.
    assert_eq!(check(raw(0xffff, None, 3, 5, 0)), Ok(false));
    let sync_only = RawOp {
        sync_count: 1,
        ..raw(DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY, None, 0, 0, 0)
    };
    assert_eq!(
        vm.check_op(&sync_only, true).map(|o| o.is_some()),
        Ok(false)
    );
    let sync_only_no_sync = raw(DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY, None, 0, 0, 0);
    assert_eq!(
        vm.check_op(&sync_only_no_sync, true).map(|o| o.is_some()),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        vm.check_op(&raw(3 << 28, None, 0, 0, PAGE_SIZE), true)
            .map(|o| o.is_some()),
        Err(Errno::EINVAL)
    );
}

#[test]
fn partial_rebind_of_sparse_keeps_cyclic_pieces() {
    let mut env = Env::new(SparseLayout::Shared, false);
    let vm_ref = env.vm();
    let bo = env.bo(16 * PAGE_SIZE, false);
    let dummy = env.pool.dummy().clone();
    let mut vm = vm_ref.lock();
    let base = 3 * SZ_1G - SZ_2M;
    bind(&mut vm, raw(SPARSE, None, 0, base, 4 * SZ_2M)).unwrap();
    bind(
        &mut vm,
        raw(NX, Some(&bo), 0, base + SZ_2M + 0x1_0000, 16 * PAGE_SIZE),
    )
    .unwrap();
    bind(
        &mut vm,
        raw(UNMAP, None, 0, base + 3 * SZ_2M - PAGE_SIZE, 2 * PAGE_SIZE),
    )
    .unwrap();
    let vmas: Vec<_> = vm
        .vmas()
        .map(|v| (v.start - base, v.size, v.data.is_sparse()))
        .collect();
    assert_eq!(
        vmas,
        vec![
            (0, SZ_2M + 0x1_0000, true),
            (SZ_2M + 0x1_0000, 0x1_0000, false),
            (SZ_2M + 0x2_0000, 2 * SZ_2M - 0x2_0000 - PAGE_SIZE, true),
            (3 * SZ_2M + PAGE_SIZE, SZ_2M - PAGE_SIZE, true),
        ]
    );
    for va in [
        base,
        base + SZ_2M + 0xf000,
        base + SZ_2M + 0x2_0000,
        base + 3 * SZ_2M + PAGE_SIZE,
        base + 4 * SZ_2M - PAGE_SIZE,
    ] {
        assert_eq!(
            pa_of(&vm, va),
            Some(dummy.backing.lookup(va % SZ_2M).unwrap().0),
            "va {va:#x}"
        );
    }
    assert_eq!(
        pa_of(&vm, base + SZ_2M + 0x1_0000),
        Some(bo.backing.lookup(0).unwrap().0)
    );
    assert_eq!(pa_of(&vm, base + 3 * SZ_2M), None);
}

#[test]
fn dummy_lives_until_the_file_and_every_vm_are_gone() {
    let mut env = Env::new(SparseLayout::Shared, true);
    let vm = env.vm();
    let dummy_pages = 512;
    let baseline = env.mock.allocated_pages();
    {
        let mut v = vm.lock();
        bind(&mut v, raw(SPARSE, None, 0, 0, 4 * SZ_1G)).unwrap();
    }
    let dummy_pa = env.pool.dummy().backing.lookup(0).unwrap().0;
    // Close the file: the VM (held by "a group") keeps the dummy alive.
    let Env { mock, hw: _, pool } = env;
    assert_eq!(Shared::ref_count(pool.dummy()), 2);
    drop(pool);
    assert!(mock.allocated_pages() >= baseline);
    assert_eq!(
        pa_of(&vm.lock(), 0x1234_5000),
        Some(dummy_pa.add((0x1234_5000 % SZ_2M) & !(PAGE_SIZE - 1)))
    );
    // The last VM reference goes: page tables and dummy are freed.
    drop(vm);
    assert_eq!(
        mock.allocated_pages(),
        0,
        "leaked pages (dummy was {dummy_pages})"
    );
}

#[test]
fn exclusive_bos_map_only_in_their_vm() {
    let mut env = Env::new(SparseLayout::Shared, false);
    let a = env.vm();
    let b = env.vm();
    let backing = Backing::alloc(&env.hw, SZ_2M).unwrap();
    let owner = a.lock().id();
    let bo = Shared::try_new(Bo {
        backing,
        flags: 0,
        exclusive_vm: Some(owner),
    })
    .unwrap();
    assert_eq!(
        bind(&mut b.lock(), raw(0, Some(&bo), 0, 0, SZ_2M)),
        Err(Errno::EINVAL)
    );
    assert_eq!(bind(&mut a.lock(), raw(0, Some(&bo), 0, 0, SZ_2M)), Ok(()));
}

#[test]
fn unusable_vm_refuses_maps_but_allows_unmaps() {
    let mut env = Env::new(SparseLayout::Shared, false);
    let vm_ref = env.vm();
    let mut vm = vm_ref.lock();
    bind(&mut vm, raw(SPARSE, None, 0, 0, SZ_2M)).unwrap();
    vm.mark_unusable();
    assert_eq!(
        bind(&mut vm, raw(SPARSE, None, 0, SZ_2M, SZ_2M)),
        Err(Errno::EINVAL)
    );
    assert_eq!(bind(&mut vm, raw(UNMAP, None, 0, 0, SZ_2M)), Ok(()));
    assert_eq!(pa_of(&vm, 0), None);
}

#[test]
fn vm_create_user_va_rules() {
    let mut env = Env::new(SparseLayout::Shared, false);
    let mut args = drm_panthor_vm_create {
        flags: 1,
        ..Default::default()
    };
    assert_eq!(env.pool.create(&mut args), Err(Errno::EINVAL));
    let mut args = drm_panthor_vm_create {
        user_va_range: (1 << 48) - (128 << 20),
        ..Default::default()
    };
    assert_eq!(
        env.pool.create(&mut args),
        Err(Errno::EINVAL),
        "must leave 256 MiB to the kernel"
    );
    let mut args = drm_panthor_vm_create::default();
    env.pool.create(&mut args).unwrap();
    assert_eq!(args.user_va_range, 1 << 47);
    assert_eq!(args.id, 1);
    for _ in 1..32 {
        env.pool
            .create(&mut drm_panthor_vm_create::default())
            .unwrap();
    }
    assert_eq!(
        env.pool.create(&mut drm_panthor_vm_create::default()),
        Err(Errno::EBUSY)
    );
    assert_eq!(env.pool.destroy(33), Err(Errno::EINVAL));
    env.pool.destroy(5).unwrap();
    let mut args = drm_panthor_vm_create::default();
    env.pool.create(&mut args).unwrap();
    assert_eq!(args.id, 5, "ids are reused");
}
