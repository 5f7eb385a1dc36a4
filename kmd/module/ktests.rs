// SPDX-License-Identifier: MIT

//! KUnit cases (run by vpanthor_kunit.c at module load): the core's
//! lock-region, page-table and VM_BIND unit tests redone on real kernel
//! pages ([`KernelHw`]) instead of the hosted MockHw. Each entry point
//! returns 0, or the line of the first failed check (also logged).

use alloc::sync::Arc;

use crate::args::VmBindOp;
use crate::bo::Backing;
use crate::ffi::vlog;
use crate::file::File;
use crate::hw::{Hardware, LockAddr, PAGE_SIZE, SZ_2M};
use crate::ioctl::VFile;
use crate::khw::KernelHw;
use crate::lock_region::*;
use crate::pgtable::{PageList, PageTable, Pages, Source, SparseLayout};
use crate::pte::Prot;
use crate::uapi::*;
use crate::Errno;

type T = Result<(), u32>;

/// Fails the case with the current line when `cond` is false.
macro_rules! kcheck {
    ($cond:expr) => {
        if !$cond {
            vlog!(
                1,
                "ktests.rs:{}: check failed: {}",
                line!(),
                stringify!($cond)
            );
            return Err(line!());
        }
    };
}

/// Unwraps, failing the case (with the error) at the current line.
macro_rules! kok {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(err) => {
                vlog!(
                    1,
                    "ktests.rs:{}: {} failed: {:?}",
                    line!(),
                    stringify!($e),
                    err
                );
                return Err(line!());
            }
        }
    };
}

fn run(case: fn() -> T) -> i32 {
    match case() {
        Ok(()) => 0,
        Err(line) => line as i32,
    }
}

const NX: Prot = Prot {
    readonly: false,
    noexec: true,
    uncached: false,
};

#[no_mangle]
pub extern "C" fn vpanthor_rs_test_lock_region() -> i32 {
    run(lock_region)
}

fn lock_region() -> T {
    let cases = ENCODING_VECTORS;
    for &(start, size, enc, rstart, rsize) in cases {
        let (l, r) = pack_region_range(start, size);
        kcheck!(l.0 == enc);
        kcheck!(
            r == Region {
                start: rstart,
                size: rsize
            }
        );
        kcheck!((l.start(), l.size()) == (rstart, rsize));
        kcheck!(r.covers(start, size));
    }
    // The smallest naturally aligned cover, over small page ranges.
    for start_pg in 0..64u64 {
        for len_pg in 1..64u64 {
            kcheck!(is_smallest_aligned_cover(start_pg * 0x1000, len_pg * 0x1000));
        }
    }

    // Lock, expand, unlock, as the AS registers see them.
    let hw = KernelHw::new();
    let mut l = RegionLock::new();
    let r = kok!(l.lock_region(&hw, Some(0), 0x20_0000, 0x1000));
    kcheck!(
        r == Region {
            start: 0x20_0000,
            size: 0x8000
        }
    );
    kcheck!(hw.lockaddr(0) == LockAddr(0x20_0000 | 14).0);
    kcheck!(hw.locked_region(0) == Some((0x20_0000, 0x8000)));
    let cmds = hw.command_count(0);
    kcheck!(l.expand_locked_region(&hw, Some(0), 0x20_1000, 0x1000) == Ok(r));
    kcheck!(hw.command_count(0) == cmds);
    let r2 = kok!(l.expand_locked_region(&hw, Some(0), 0x0, 0x20_1000));
    kcheck!(r2.covers(0x0, 0x20_8000));
    kcheck!(hw.locked_region(0) == Some((r2.start, r2.size)));
    kok!(l.unlock_region(&hw, Some(0)));
    kcheck!(hw.locked_region(0).is_none());
    kcheck!(hw.cache_flushes() == 1);

    // Misuse is refused and warned about.
    let warnings = crate::diag::warning_count();
    kcheck!(l.expand_locked_region(&hw, Some(0), 0, 0x1000) == Err(LockError::NotLocked));
    kcheck!(l.unlock_region(&hw, Some(0)) == Err(LockError::NotLocked));
    kok!(l.lock_region(&hw, Some(0), 0, 0x1000));
    kcheck!(l.lock_region(&hw, Some(0), 0x10_0000, 0x1000) == Err(LockError::AlreadyLocked));
    kcheck!(hw.locked_region(0) == Some((0, 0x8000)));
    kcheck!(crate::diag::warning_count() >= warnings + 3);
    kok!(l.unlock_region(&hw, Some(0)));
    kcheck!(l.lock_region(&hw, Some(0), 0, 0) == Err(LockError::BadRange));

    // The guard unlocks when dropped.
    {
        let mut g = kok!(LockedRegion::new(&mut l, &hw, Some(1), 0x1000, 0x1000));
        kok!(g.expand(0x0, 0x1000));
        kcheck!(hw.locked_region(1).is_some());
    }
    kcheck!(hw.locked_region(1).is_none());
    kcheck!(l.locked().is_none());
    Ok(())
}

/// Page-table pages taken from and given back to one pool.
struct Env {
    hw: Arc<KernelHw>,
    dynhw: Arc<dyn Hardware>,
    pool: PageList,
    freed: PageList,
}

impl Env {
    fn new() -> Env {
        let hw = Arc::new(KernelHw::new());
        Env {
            dynhw: hw.clone(),
            hw,
            pool: PageList::new(),
            freed: PageList::new(),
        }
    }
    fn pages(&mut self, n: u64) -> Result<Pages<'_>, Errno> {
        self.pool.fill_to(&*self.dynhw, n).map_err(Errno::from)?;
        Ok(Pages {
            hw: &*self.dynhw,
            prealloc: &mut self.pool,
            freed: &mut self.freed,
        })
    }
    fn release(&mut self) {
        self.pool.free_all(&*self.dynhw);
        self.freed.free_all(&*self.dynhw);
    }
}

#[no_mangle]
pub extern "C" fn vpanthor_rs_test_page_table() -> i32 {
    run(page_table)
}

fn page_table() -> T {
    let mut env = Env::new();
    let hw = env.dynhw.clone();
    let bo = kok!(Backing::alloc(&hw, 4 * SZ_2M));
    let mut pt = kok!(PageTable::new(&*hw, SparseLayout::Shared));

    // 2 MiB blocks where VA, BO offset and physical memory line up.
    let need = pt.tables_for_map(SZ_2M, 5 * SZ_2M, false, Prot::default());
    let mut p = kok!(env.pages(need));
    let src = Source::Bo {
        backing: &bo,
        va: SZ_2M,
        offset: 0,
    };
    kok!(pt.map(&mut p, SZ_2M, 4 * SZ_2M, src, Prot::default()));
    let t = kok!(pt.walk(&*hw, SZ_2M + 0x1234).ok_or(Errno::ENXIO));
    let huge = bo
        .lookup(0)
        .is_some_and(|(pa, n)| pa.is_aligned(SZ_2M) && n >= SZ_2M);
    // Real RAM may not give a 2 MiB chunk; then 4 KiB pages map it.
    kcheck!(t.level == if huge { 2 } else { 3 });
    kcheck!(Some(t.pa) == bo.lookup(0x1234).map(|(pa, _)| pa));

    // A BO offset off 2 MiB alignment forces pages.
    let mut p = kok!(env.pages(8));
    let src = Source::Bo {
        backing: &bo,
        va: 8 * SZ_2M,
        offset: PAGE_SIZE,
    };
    kok!(pt.map(&mut p, 8 * SZ_2M, SZ_2M, src, NX));
    let t = kok!(pt.walk(&*hw, 8 * SZ_2M).ok_or(Errno::ENXIO));
    kcheck!(t.level == 3 && t.prot == NX);
    kcheck!(Some(t.pa) == bo.lookup(PAGE_SIZE).map(|(pa, _)| pa));

    // A partial unmap splits a block and keeps the rest.
    let mut p = kok!(env.pages(8));
    kok!(pt.unmap(&mut p, SZ_2M + 0x10_0000, 0x1000));
    kcheck!(pt.walk(&*hw, SZ_2M + 0x10_0000).is_none());
    for off in [0, 0xf_f000, 0x10_1000, SZ_2M - PAGE_SIZE] {
        let t = kok!(pt.walk(&*hw, SZ_2M + off).ok_or(Errno::ENXIO));
        kcheck!(t.level == 3 && Some(t.pa) == bo.lookup(off).map(|(pa, _)| pa));
    }

    // Unmapping everything frees every private table but the root.
    let mut p = kok!(env.pages(8));
    kok!(pt.unmap(&mut p, 0, 16 * SZ_2M));
    kcheck!(pt.table_pages() == 1);

    // Destroy returns every page.
    env.release();
    pt.destroy(&*hw);
    drop(bo);
    kcheck!(env.hw.allocated_pages() == 0);
    Ok(())
}

#[no_mangle]
pub extern "C" fn vpanthor_rs_test_sparse() -> i32 {
    run(sparse)
}

fn sparse() -> T {
    let mut env = Env::new();
    let hw = env.dynhw.clone();
    let dummy = kok!(Backing::alloc(&hw, SZ_2M));
    let mut pt = kok!(PageTable::new(&*hw, SparseLayout::Shared));
    // 64 GiB of sparse VA: a handful of tables, whatever the size.
    let (start, end) = (SZ_2M - PAGE_SIZE, (64u64 << 30) + PAGE_SIZE);
    let need = pt.tables_for_map(start, end, true, NX);
    kcheck!(need <= 12);
    let mut p = kok!(env.pages(need));
    kok!(pt.map(
        &mut p,
        start,
        end - start,
        Source::Sparse { dummy: &dummy },
        NX
    ));
    kcheck!(pt.table_pages() <= 9);
    for va in [
        start,
        5 << 30,
        (5 << 30) + 0x12_3000,
        end - PAGE_SIZE,
        33 * SZ_2M + 0x4000,
    ] {
        let t = kok!(pt.walk(&*hw, va).ok_or(Errno::ENXIO));
        // Cyclic aliasing: VA x maps dummy byte x % 2 MiB.
        kcheck!(Some(t.pa) == dummy.lookup(va % SZ_2M).map(|(pa, _)| pa));
        kcheck!(t.prot == NX && t.sparse);
    }
    kcheck!(pt.walk(&*hw, end).is_none());
    kcheck!(pt.walk(&*hw, start - PAGE_SIZE).is_none());
    env.release();
    pt.destroy(&*hw);
    drop(dummy);
    kcheck!(env.hw.allocated_pages() == 0);
    Ok(())
}

fn op(flags: u32, handle: u32, bo_offset: u64, va: u64, size: u64) -> VmBindOp<'static> {
    VmBindOp {
        flags,
        bo_handle: handle,
        bo_offset,
        va,
        size,
        syncs: &[],
    }
}

#[no_mangle]
pub extern "C" fn vpanthor_rs_test_vm_bind() -> i32 {
    run(vm_bind)
}

fn vm_bind() -> T {
    let dev = kok!(crate::new_device());
    let f = kok!(File::open(dev.clone(), 1 << 47));
    let mut bo = drm_panthor_bo_create {
        size: 2 * SZ_2M,
        ..Default::default()
    };
    kok!(f.bo_create(&mut bo));
    let mut vm = drm_panthor_vm_create::default();
    kok!(f.vm_create(&mut vm));
    let map = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP;
    let unmap = DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP;
    let sparse = DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;

    // MAP, then sparse next to it, in one bind.
    let ops = [
        op(map, bo.handle, 0, 0x100_0000, 2 * SZ_2M),
        op(sparse, 0, 0, 0x200_0000, 8 * SZ_2M),
    ];
    kok!(f.vm_bind(vm.id, 0, &ops));
    let vmref = kok!(f.vm(vm.id).ok_or(Errno::EINVAL));
    let backing = kok!(f.bo(bo.handle).ok_or(Errno::ENOENT));
    let dummy = f.dummy();
    {
        let v = vmref.lock();
        let walk = |va| v.page_table().walk(&**v.hw(), va);
        let t = kok!(walk(0x100_0000 + 0x5000).ok_or(Errno::ENXIO));
        kcheck!(Some(t.pa) == backing.backing.lookup(0x5000).map(|(pa, _)| pa));
        let a = kok!(walk(0x200_0000 + 0x3000).ok_or(Errno::ENXIO));
        let b = kok!(walk(0x200_0000 + 5 * SZ_2M + 0x3000).ok_or(Errno::ENXIO));
        kcheck!(a.pa == b.pa && a.sparse);
        kcheck!(Some(a.pa) == dummy.backing.lookup(0x3000).map(|(pa, _)| pa));
    }

    // All or nothing: a bad second op leaves the first unapplied.
    let bad = [
        op(unmap, 0, 0, 0x100_0000, SZ_2M),
        op(map, 999, 0, 0x400_0000, SZ_2M),
    ];
    let e = f.vm_bind(vm.id, 0, &bad);
    kcheck!(e.is_err_and(|e| e.errno == Errno::ENOENT || e.errno == Errno::EINVAL));
    kcheck!(vmref
        .lock()
        .page_table()
        .walk(&*dev.hw, 0x100_0000)
        .is_some());
    // Sparse needs NOEXEC, handle 0 and offset 0.
    let e = f.vm_bind(
        vm.id,
        0,
        &[op(
            DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE,
            0,
            0,
            0x800_0000,
            SZ_2M,
        )],
    );
    kcheck!(e.is_err_and(|e| e.errno == Errno::EINVAL));
    // Unaligned sizes are refused.
    kcheck!(f
        .vm_bind(vm.id, 0, &[op(unmap, 0, 0, 0x100_0000, 0x800)])
        .is_err());

    kok!(f.vm_bind(vm.id, 0, &[op(unmap, 0, 0, 0, 1 << 32)]));
    kcheck!(vmref
        .lock()
        .page_table()
        .walk(&*dev.hw, 0x100_0000)
        .is_none());
    drop((vmref, backing, dummy));
    kok!(f.vm_destroy(&drm_panthor_vm_destroy { id: vm.id, pad: 0 }));
    kok!(f.gem_close(bo.handle));
    drop(f);
    Ok(())
}

#[no_mangle]
pub extern "C" fn vpanthor_rs_test_vm_access() -> i32 {
    run(vm_access)
}

fn vm_access() -> T {
    let dev = kok!(crate::new_device());
    let f = kok!(VFile::open(dev, 1 << 47));
    let file = f.file();
    let mut bo = drm_panthor_bo_create {
        size: 0x4000,
        ..Default::default()
    };
    kok!(file.bo_create(&mut bo));
    let mut vm = drm_panthor_vm_create::default();
    kok!(file.vm_create(&mut vm));
    let sparse = DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
    let ops = [
        op(0, bo.handle, 0, 0x10_0000, 0x4000),
        op(sparse, 0, 0, 0x4000_0000, 4 * SZ_2M),
    ];
    kok!(file.vm_bind(vm.id, 0, &ops));

    // A write through the VM lands in the BO's page.
    let mut data = *b"vpanthor";
    kok!(f.access(vm.id, 0x10_2ffc, &mut data[..4], true));
    let mut back = [0u8; 4];
    kok!(f.access(vm.id, 0x10_2ffc, &mut back, false));
    kcheck!(&back == b"vpan");
    // Sparse: a write at one 2 MiB alias reads back at every other.
    kok!(f.access(vm.id, 0x4000_0010, &mut data, true));
    let mut other = [0u8; 8];
    kok!(f.access(vm.id, 0x4000_0010 + 3 * SZ_2M, &mut other, false));
    kcheck!(&other == b"vpanthor");
    // Unmapped: ENXIO.
    kcheck!(f.access(vm.id, 0x20_0000, &mut other, false) == Err(Errno::ENXIO));
    Ok(())
}
