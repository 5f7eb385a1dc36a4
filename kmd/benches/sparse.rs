//! Sparse reservation and bind/unbind throughput of the kernel side, over
//! the in-memory MockHw. Prints one table; every ratio compares figures
//! measured in this same run.
//!
//!     cargo bench -p panthor-kmd --features testing --bench sparse

use std::sync::Arc;
use std::time::{Duration, Instant};

use panthor_kmd::bo::{Backing, Bo};
use panthor_kmd::hw::{Hardware, PAGE_SIZE, SZ_1G, SZ_2M};
use panthor_kmd::pgtable::SparseLayout;
use panthor_kmd::shim::Shared;
use panthor_kmd::testing::MockHw;
use panthor_kmd::uapi::*;
use panthor_kmd::vm::{BindOp, Vm};

const SPARSE: u32 = DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;

fn new_vm(layout: SparseLayout, huge_dummy: bool) -> (Arc<MockHw>, Vm) {
    let mock = Arc::new(MockHw::new());
    let hw: Arc<dyn Hardware> = mock.clone();
    mock.set_no_huge_pages(!huge_dummy);
    let backing = Backing::alloc(&hw, SZ_2M).unwrap();
    mock.set_no_huge_pages(false);
    let dummy = Shared::try_new(Bo {
        backing,
        flags: DRM_PANTHOR_BO_NO_MMAP,
        exclusive_vm: None,
    })
    .unwrap();
    let mut vm = Vm::new(hw, 48, 1 << 47, dummy, layout).unwrap();
    vm.activate(0).unwrap();
    (mock, vm)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Reserving `gib` GiB of sparse VA at an unaligned start (the usual case:
/// edges need private tables). Returns (time, page-table bytes).
fn reserve(layout: SparseLayout, huge_dummy: bool, gib: u64) -> (Duration, u64) {
    let runs = if layout == SparseLayout::PerChunk && gib > 1 {
        3
    } else {
        7
    };
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..runs {
        let (_mock, mut vm) = new_vm(layout, huge_dummy);
        let before = vm.page_table().table_pages();
        let op = BindOp::MapSparse {
            va: SZ_1G + 0x1_0000,
            size: gib * SZ_1G,
            flags: SPARSE,
        };
        let t = Instant::now();
        vm.bind(&[op]).unwrap();
        times.push(t.elapsed());
        bytes = (vm.page_table().table_pages() - before + 1) * PAGE_SIZE;
    }
    (median(times), bytes)
}

/// Random 64 KiB binds then unbinds (back to sparse) in a 4 GiB sparse
/// buffer, `batch` ops per VM_BIND. Returns ops per second.
fn bind_throughput(batch: usize, total: usize) -> f64 {
    let (mock, mut vm) = new_vm(SparseLayout::Shared, false);
    let hw: Arc<dyn Hardware> = mock.clone();
    let base = SZ_1G;
    vm.bind(&[BindOp::MapSparse {
        va: base,
        size: 4 * SZ_1G,
        flags: SPARSE,
    }])
    .unwrap();
    let page = Shared::try_new(Bo {
        backing: Backing::alloc(&hw, 0x1_0000).unwrap(),
        flags: 0,
        exclusive_vm: None,
    })
    .unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        base + (seed % (4 * SZ_1G / 0x1_0000)) * 0x1_0000
    };
    let mut ops = 0usize;
    let t = Instant::now();
    while ops < total {
        let vas: Vec<u64> = (0..batch).map(|_| next()).collect();
        let binds: Vec<BindOp> = vas
            .iter()
            .map(|&va| BindOp::Map {
                va,
                size: 0x1_0000,
                flags: DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC,
                bo: page.clone(),
                bo_offset: 0,
            })
            .collect();
        vm.bind(&binds).unwrap();
        let unbinds: Vec<BindOp> = vas
            .iter()
            .map(|&va| BindOp::MapSparse {
                va,
                size: 0x1_0000,
                flags: SPARSE,
            })
            .collect();
        vm.bind(&unbinds).unwrap();
        ops += 2 * batch;
    }
    ops as f64 / t.elapsed().as_secs_f64()
}

/// One table row: shared vs seed layout for `gib` GiB.
fn reserve_row(gib: u64, huge_dummy: bool) {
    let (ts, bs) = reserve(SparseLayout::Shared, huge_dummy, gib);
    let (tp, bp) = reserve(SparseLayout::PerChunk, huge_dummy, gib);
    println!(
        "{:<8} {:>14?} {:>14?} {:>14} {:>14} {:>10.1} {:>10.1}{}",
        format!("{gib} GiB"),
        ts,
        tp,
        bs,
        bp,
        tp.as_secs_f64() / ts.as_secs_f64(),
        bp as f64 / bs as f64,
        if huge_dummy {
            "   (dummy = one 2 MiB block)"
        } else {
            ""
        }
    );
}

fn main() {
    println!("Sparse reservation (start 1 GiB + 64 KiB), dummy in 4 KiB pages unless noted");
    println!(
        "{:<8} {:>14} {:>14} {:>14} {:>14} {:>10} {:>10}",
        "size", "shared time", "seed time", "shared bytes", "seed bytes", "time x", "memory x"
    );
    for (gib, huge) in [
        (1u64, false),
        (16, false),
        (64, false),
        (1, true),
        (64, true),
    ] {
        reserve_row(gib, huge);
    }
    let (t1, _) = reserve(SparseLayout::Shared, false, 1);
    let (t64, _) = reserve(SparseLayout::Shared, false, 64);
    println!(
        "shared: 64 GiB / 1 GiB reservation time = {:.1} (linear in GiB would be 64)",
        t64.as_secs_f64() / t1.as_secs_f64()
    );

    println!();
    println!("64 KiB bind + unbind at random places in a 4 GiB sparse buffer");
    println!("{:<8} {:>14}", "batch", "ops/s");
    for batch in [1usize, 64, 4096] {
        let total = if batch == 1 { 40_000 } else { 163_840 };
        println!("{:<8} {:>14.0}", batch, bind_throughput(batch, total));
    }
}
