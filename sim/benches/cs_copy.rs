//! CS copy throughput on the virtual Mali: a LOAD/STORE_MULTIPLE loop run by
//! the command-stream interpreter through the MMU, over 4 KiB-page, 2 MiB-
//! block and sparse-bound (64 KiB pieces bound into a sparse range)
//! mappings, each as a ratio to host memcpy of the same size in this run.
//!
//!     cargo bench -p panthor-sim --bench cs_copy

use std::sync::Arc;
use std::time::{Duration, Instant};

use panthor_kmd::bo::{Backing, Bo, BoRef};
use panthor_kmd::hw::{Hardware, SZ_1G, SZ_2M};
use panthor_kmd::pgtable::SparseLayout;
use panthor_kmd::shim::Shared;
use panthor_kmd::uapi::*;
use panthor_kmd::vm::{BindOp, Vm};
use panthor_sim::cs::{CsBuilder, CsState, Outcome};
use panthor_sim::device::VirtualMali;
use panthor_sim::gpu_as::GpuAs;

const LEN: u64 = 16 << 20;
const PIECE: u64 = 64 << 10;
const NX: u32 = DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
const SPARSE: u32 = DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE | NX;

fn bo(hw: &Arc<dyn Hardware>, size: u64) -> BoRef {
    Shared::try_new(Bo {
        backing: Backing::alloc(hw, size).unwrap(),
        flags: 0,
        exclusive_vm: None,
    })
    .unwrap()
}

/// Maps `LEN` bytes at `va` the given way; returns nothing, binds into `vm`.
fn map(vm: &mut Vm, hw: &Arc<dyn Hardware>, kind: &str, va: u64) {
    let ops = match kind {
        // A BO offset of one page breaks 2 MiB alignment: 4 KiB pages.
        "4 KiB pages" => vec![BindOp::Map {
            va,
            size: LEN,
            flags: NX,
            bo: bo(hw, LEN + 4096),
            bo_offset: 4096,
        }],
        "2 MiB blocks" => vec![BindOp::Map {
            va,
            size: LEN,
            flags: NX,
            bo: bo(hw, LEN),
            bo_offset: 0,
        }],
        _ => {
            let b = bo(hw, LEN);
            let mut ops = vec![BindOp::MapSparse {
                va,
                size: LEN,
                flags: SPARSE,
            }];
            ops.extend((0..LEN / PIECE).map(|i| BindOp::Map {
                va: va + i * PIECE,
                size: PIECE,
                flags: NX,
                bo: b.clone(),
                bo_offset: i * PIECE,
            }));
            ops
        }
    };
    vm.bind(&ops).unwrap();
}

fn copy_stream(src: u64, dst: u64) -> Vec<u8> {
    let mut b = CsBuilder::new();
    b.copy(src, dst, LEN as u32);
    b.finish_bytes().unwrap()
}

fn best_of(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..n).map(|_| f()).min().unwrap()
}

fn main() {
    let gpu = VirtualMali::new(2 << 30).unwrap();
    let hw: Arc<dyn Hardware> = gpu.clone();
    let dummy = bo(&hw, SZ_2M);
    let mut vm = Vm::new(hw.clone(), 48, 1 << 47, dummy, SparseLayout::Shared).unwrap();
    vm.activate(0).unwrap();
    let code = bo(&hw, 4096);
    let code_va = 64 * SZ_1G;
    vm.bind(&[BindOp::Map {
        va: code_va,
        size: 4096,
        flags: 0,
        bo: code.clone(),
        bo_offset: 0,
    }])
    .unwrap();

    let src = vec![0x5au8; LEN as usize];
    let mut dst = vec![0u8; LEN as usize];
    let memcpy = best_of(5, || {
        let t = Instant::now();
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&dst);
        t.elapsed()
    });
    let gbps = |d: Duration| LEN as f64 / d.as_secs_f64() / 1e9;
    println!(
        "CS copy of {} MiB, LOAD/STORE_MULTIPLE of 64 bytes per iteration",
        LEN >> 20
    );
    println!(
        "{:<16} {:>10} {:>10} {:>12}",
        "mapping", "time", "GB/s", "vs memcpy"
    );
    println!(
        "{:<16} {:>10.2?} {:>10.2} {:>12}",
        "host memcpy",
        memcpy,
        gbps(memcpy),
        "1.00"
    );
    let mut rates = Vec::new();
    for (i, kind) in ["4 KiB pages", "2 MiB blocks", "sparse-bound"]
        .into_iter()
        .enumerate()
    {
        let (s, d) = ((2 * i as u64 + 1) * SZ_1G, (2 * i as u64 + 2) * SZ_1G);
        map(&mut vm, &hw, kind, s);
        map(&mut vm, &hw, kind, d);
        let stream = copy_stream(s, d);
        gpu.mem
            .write_bytes(code.backing.lookup(0).unwrap().0 .0, &stream);
        let t = best_of(3, || {
            let mut cs = CsState::new();
            cs.start(code_va, stream.len() as u32);
            let t = Instant::now();
            assert_eq!(cs.run(&mut GpuAs::new(&gpu, 0), u64::MAX), Outcome::Done);
            t.elapsed()
        });
        rates.push(gbps(t));
        println!(
            "{:<16} {:>10.2?} {:>10.2} {:>12.3}",
            kind,
            t,
            gbps(t),
            memcpy.as_secs_f64() / t.as_secs_f64()
        );
    }
    println!(
        "sparse-bound / 4 KiB pages = {:.3}; sparse-bound / 2 MiB blocks = {:.3}",
        rates[2] / rates[0],
        rates[2] / rates[1]
    );
}
