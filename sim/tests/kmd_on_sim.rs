//! The kernel side driving the virtual Mali: GPU accesses through the MMU
//! land where VM_BIND put them, sparse ranges alias the dummy cyclically,
//! and each open file's dummy is its own.

use std::sync::Arc;

use panthor_kmd::bo::{Backing, Bo};
use panthor_kmd::hw::{Hardware, PAGE_SIZE, SZ_1G, SZ_2M};
use panthor_kmd::pgtable::SparseLayout;
use panthor_kmd::shim::Shared;
use panthor_kmd::uapi::*;
use panthor_kmd::vm::RawOp;
use panthor_kmd::vm_pool::VmPool;
use panthor_sim::device::VirtualMali;
use panthor_sim::mmu::{ACCESS_TYPE_WRITE, PERM_FAULT_0, TRANSLATION_FAULT_0};

const SPARSE: u32 = DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;

fn gpu() -> (Arc<VirtualMali>, Arc<dyn Hardware>) {
    let gpu = VirtualMali::new(1 << 30).unwrap();
    let hw: Arc<dyn Hardware> = gpu.clone();
    (gpu, hw)
}

/// A file with one VM, bound to address space `as_nr`.
fn vm_on(hw: &Arc<dyn Hardware>, as_nr: u32) -> (VmPool, panthor_kmd::vm_pool::VmRef) {
    let mut pool = VmPool::new(hw.clone(), 48, 1 << 48, SparseLayout::Shared).unwrap();
    let mut args = drm_panthor_vm_create::default();
    pool.create(&mut args).unwrap();
    let vm = pool.get(args.id).unwrap();
    vm.lock().activate(as_nr).unwrap();
    (pool, vm)
}

fn bind(vm: &mut panthor_kmd::vm::Vm, op: RawOp<'_>) {
    let op = vm.check_op(&op, false).unwrap().unwrap();
    vm.bind(&[op]).unwrap();
}

fn sparse(va: u64, size: u64) -> RawOp<'static> {
    RawOp {
        flags: SPARSE,
        va,
        size,
        ..Default::default()
    }
}

#[test]
fn gpu_accesses_follow_binds_through_huge_small_and_sparse_mappings() {
    let (gpu, hw) = gpu();
    let (_pool, vm_ref) = vm_on(&hw, 2);
    let mut vm = vm_ref.lock();

    let huge = Shared::try_new(Bo {
        backing: Backing::alloc(&hw, 2 * SZ_2M).unwrap(),
        flags: 0,
        exclusive_vm: None,
    })
    .unwrap();
    let small = Shared::try_new(Bo {
        backing: Backing::alloc(&hw, 4 * PAGE_SIZE).unwrap(),
        flags: 0,
        exclusive_vm: None,
    })
    .unwrap();
    bind(
        &mut vm,
        RawOp {
            bo: Some(&huge),
            bo_handle: 1,
            va: SZ_1G,
            size: 2 * SZ_2M,
            ..Default::default()
        },
    );
    bind(
        &mut vm,
        RawOp {
            bo: Some(&small),
            bo_handle: 2,
            bo_offset: PAGE_SIZE,
            va: 2 * SZ_1G,
            size: 2 * PAGE_SIZE,
            ..Default::default()
        },
    );
    bind(&mut vm, sparse(4 * SZ_1G, 8 * SZ_1G));
    assert!(vm.page_table().is_block(&*hw, SZ_1G + SZ_2M + 0x1000));

    // Huge block: GPU write lands in the BO page the CPU sees.
    gpu.gpu_write_u64(2, SZ_1G + SZ_2M + 0x1238, 0xfeed_f00d)
        .unwrap();
    let (pa, _) = huge.backing.lookup(SZ_2M + 0x1238).unwrap();
    assert_eq!(gpu.mem.read_u64(pa.0), 0xfeed_f00d);
    // 4 KiB pages at a BO offset.
    gpu.gpu_write_u32(2, 2 * SZ_1G + 0x10, 77).unwrap();
    assert_eq!(
        gpu.mem
            .read_u32(small.backing.lookup(PAGE_SIZE + 0x10).unwrap().0 .0),
        77
    );

    // Sparse: writes land in the dummy, cyclically every 2 MiB, over GiBs.
    gpu.gpu_write_u64(2, 4 * SZ_1G + 0x5008, 0xabad_cafe)
        .unwrap();
    for alias in [
        4 * SZ_1G + SZ_2M + 0x5008,
        7 * SZ_1G + 33 * SZ_2M + 0x5008,
        12 * SZ_1G - SZ_2M + 0x5008,
    ] {
        assert_eq!(
            gpu.gpu_read_u64(2, alias).unwrap(),
            0xabad_cafe,
            "alias {alias:#x}"
        );
    }
    let dummy = vm.dummy().clone();
    assert_eq!(
        gpu.mem.read_u64(dummy.backing.lookup(0x5008).unwrap().0 .0),
        0xabad_cafe
    );

    // Rebinding a sparse page to real memory: the GPU sees the new page at
    // once (the bind locked, updated and unlocked the region).
    let va = 6 * SZ_1G + 4 * SZ_2M;
    assert_eq!(gpu.gpu_read_u64(2, va + 0x5008).unwrap(), 0xabad_cafe);
    bind(
        &mut vm,
        RawOp {
            bo: Some(&small),
            bo_handle: 2,
            va: va + 0x5000,
            size: PAGE_SIZE,
            flags: DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC,
            ..Default::default()
        },
    );
    gpu.gpu_write_u64(2, va + 0x5008, 1).unwrap();
    assert_eq!(gpu.mem.read_u64(small.backing.lookup(8).unwrap().0 .0), 1);
    assert_eq!(
        gpu.gpu_read_u64(2, va + 0x5008 + SZ_2M).unwrap(),
        0xabad_cafe,
        "the neighbouring chunk still maps the dummy"
    );

    // Unmapped: a translation fault latched on the AS; read-only: a permission fault.
    let f = gpu.gpu_read_u64(2, 3 * SZ_1G).unwrap_err();
    assert_eq!(f.exception_type() & !3, TRANSLATION_FAULT_0);
    gpu.mmu.take_fault(2);
    bind(
        &mut vm,
        RawOp {
            bo: Some(&small),
            bo_handle: 2,
            va: 3 * SZ_1G,
            size: PAGE_SIZE,
            flags: DRM_PANTHOR_VM_BIND_OP_MAP_READONLY,
            ..Default::default()
        },
    );
    let f = gpu.gpu_write_u64(2, 3 * SZ_1G, 5).unwrap_err();
    assert_eq!(
        (f.exception_type() & !3, f.access_type()),
        (PERM_FAULT_0, ACCESS_TYPE_WRITE)
    );
    assert!(gpu.cache_flushes() > 0);
}

#[test]
fn sparse_writes_never_cross_files() {
    let (gpu, hw) = gpu();
    let mut files = Vec::new();
    for as_nr in 0..2 {
        let mut pool = VmPool::new(hw.clone(), 48, 1 << 48, SparseLayout::Shared).unwrap();
        let mut args = drm_panthor_vm_create::default();
        pool.create(&mut args).unwrap();
        let vm = pool.get(args.id).unwrap();
        {
            let mut v = vm.lock();
            v.activate(as_nr).unwrap();
            bind(&mut v, sparse(SZ_1G, SZ_1G));
        }
        files.push((pool, vm));
    }
    gpu.gpu_write_u64(0, SZ_1G + 0x40, 0x5ec7e7).unwrap();
    assert_eq!(gpu.gpu_read_u64(0, SZ_1G + SZ_2M + 0x40).unwrap(), 0x5ec7e7);
    assert_ne!(
        gpu.gpu_read_u64(1, SZ_1G + 0x40).unwrap(),
        0x5ec7e7,
        "file 1 sees file 0's sparse write"
    );
    assert!(!Shared::ptr_eq(files[0].0.dummy(), files[1].0.dummy()));
}

#[test]
fn everything_is_returned_when_files_and_vms_go() {
    let (gpu, hw) = gpu();
    {
        let mut pool = VmPool::new(hw.clone(), 48, 1 << 48, SparseLayout::Shared).unwrap();
        let mut args = drm_panthor_vm_create::default();
        pool.create(&mut args).unwrap();
        let vm = pool.get(args.id).unwrap();
        let mut v = vm.lock();
        v.activate(0).unwrap();
        bind(&mut v, sparse(0x1000, 64 * SZ_1G));
        let bo = Shared::try_new(Bo {
            backing: Backing::alloc(&hw, 3 * SZ_2M).unwrap(),
            flags: 0,
            exclusive_vm: None,
        })
        .unwrap();
        bind(
            &mut v,
            RawOp {
                bo: Some(&bo),
                bo_handle: 1,
                va: SZ_1G + 0x1000,
                size: 3 * SZ_2M,
                ..Default::default()
            },
        );
    }
    assert_eq!(gpu.mem.allocated_pages(), 0);
}

/// A CS copy loop (LOAD/STORE_MULTIPLE) run by the front end through the
/// MMU: huge block -> sparse -> 4 KiB pages; the bytes land where the page
/// tables say, sparse ones in the dummy, cyclically.
#[test]
fn cs_copy_through_huge_sparse_and_small_mappings() {
    use panthor_sim::cs::{CsBuilder, CsState, Outcome};
    use panthor_sim::gpu_as::GpuAs;

    let (gpu, hw) = gpu();
    let (_pool, vm_ref) = vm_on(&hw, 1);
    let mut vm = vm_ref.lock();
    let bo = |size| {
        Shared::try_new(Bo {
            backing: Backing::alloc(&hw, size).unwrap(),
            flags: 0,
            exclusive_vm: None,
        })
        .unwrap()
    };
    let (src, dst, code) = (bo(SZ_2M), bo(16 * PAGE_SIZE), bo(PAGE_SIZE));
    let (src_va, sparse_va, dst_va, code_va) = (SZ_1G, 4 * SZ_1G + 0x3000, 8 * SZ_1G, 9 * SZ_1G);
    bind(
        &mut vm,
        RawOp {
            bo: Some(&src),
            bo_handle: 1,
            va: src_va,
            size: SZ_2M,
            ..Default::default()
        },
    );
    bind(&mut vm, sparse(4 * SZ_1G, SZ_1G));
    bind(
        &mut vm,
        RawOp {
            bo: Some(&dst),
            bo_handle: 2,
            va: dst_va,
            size: 16 * PAGE_SIZE,
            ..Default::default()
        },
    );
    bind(
        &mut vm,
        RawOp {
            bo: Some(&code),
            bo_handle: 3,
            va: code_va,
            size: PAGE_SIZE,
            ..Default::default()
        },
    );
    assert!(vm.page_table().is_block(&*hw, src_va));
    let len = 16 * PAGE_SIZE;
    let pattern: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    gpu.mem
        .write_bytes(src.backing.lookup(0).unwrap().0 .0, &pattern);

    let mut b = CsBuilder::new();
    b.copy(src_va, sparse_va, len as u32);
    b.copy(sparse_va + 7 * SZ_2M, dst_va, len as u32); // read back through an alias
    let stream = b.finish_bytes().unwrap();
    gpu.mem
        .write_bytes(code.backing.lookup(0).unwrap().0 .0, &stream);

    let mut cs = CsState::new();
    cs.start(code_va, stream.len() as u32);
    assert_eq!(cs.run(&mut GpuAs::new(&gpu, 1), u64::MAX), Outcome::Done);
    let mut out = vec![0u8; len as usize];
    for page in 0..16 {
        let (pa, _) = dst.backing.lookup(page * PAGE_SIZE).unwrap();
        gpu.mem.read_bytes(
            pa.0,
            &mut out[(page * PAGE_SIZE) as usize..((page + 1) * PAGE_SIZE) as usize],
        );
    }
    assert!(
        out == pattern,
        "bytes did not survive huge -> sparse -> alias -> 4 KiB"
    );
    let dummy = vm.dummy().clone();
    let mut in_dummy = vec![0u8; 64];
    gpu.mem
        .read_bytes(dummy.backing.lookup(0x3000).unwrap().0 .0, &mut in_dummy);
    assert_eq!(in_dummy, pattern[..64], "sparse writes land in the dummy");

    // A stream that writes past the mapped destination faults at that VA.
    let mut b = CsBuilder::new();
    b.mov48(0, dst_va + 16 * PAGE_SIZE)
        .mov32(16, 1)
        .store_multiple(16, 1, 0, 0);
    let stream = b.finish_bytes().unwrap();
    gpu.mem
        .write_bytes(code.backing.lookup(0).unwrap().0 .0, &stream);
    cs.start(code_va, stream.len() as u32);
    assert!(matches!(
        cs.run(&mut GpuAs::new(&gpu, 1), u64::MAX),
        Outcome::Fault(_)
    ));
    assert_eq!(
        gpu.mmu.take_fault(1).map(|f| f.va),
        Some(dst_va + 16 * PAGE_SIZE)
    );
}
