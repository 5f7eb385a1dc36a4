//! Asynchronous VM_BIND through the in-process device: latency from the
//! ioctl to the out-syncobj signalling, and throughput of 64 KiB binds into
//! a sparse range, each signalling a timeline point, against synchronous
//! binds of the same ops in the same run.
//!
//!     cargo bench -p panthor-sim --bench async_bind

use std::time::{Duration, Instant};

use panthor_sim::virtual_device::{monotonic_ns, VirtualDevice};
use panthor_uapi::device::*;
use panthor_uapi::uapi::*;

const PIECE: u64 = 64 << 10;
const SPARSE_BASE: u64 = 1 << 32;
const SPARSE_LEN: u64 = 1 << 30;
const NX: u32 = DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;

struct Setup {
    file: panthor_sim::virtual_device::VirtualFile,
    vm: u32,
    bo: u32,
}

fn setup(dev: &std::sync::Arc<VirtualDevice>) -> Setup {
    let file = dev.open().unwrap();
    let mut vm = drm_panthor_vm_create::default();
    file.vm_create(&mut vm).unwrap();
    let mut bo = drm_panthor_bo_create {
        size: PIECE,
        ..Default::default()
    };
    file.bo_create(&mut bo).unwrap();
    file.vm_bind(
        vm.id,
        0,
        &[VmBindOp {
            flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP | DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE | NX,
            va: SPARSE_BASE,
            size: SPARSE_LEN,
            ..Default::default()
        }],
    )
    .unwrap();
    Setup {
        file,
        vm: vm.id,
        bo: bo.handle,
    }
}

fn map_op<'a>(s: &Setup, i: u64, syncs: &'a [drm_panthor_sync_op]) -> VmBindOp<'a> {
    VmBindOp {
        flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP | NX,
        bo_handle: s.bo,
        va: SPARSE_BASE + (i * PIECE) % SPARSE_LEN,
        size: PIECE,
        syncs,
        ..Default::default()
    }
}

fn signal(handle: u32, point: u64) -> drm_panthor_sync_op {
    drm_panthor_sync_op {
        flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL,
        handle,
        timeline_value: point,
    }
}

fn wait_point(s: &Setup, obj: u32, point: u64) {
    s.file
        .syncobj_timeline_wait(
            &[obj],
            &[point],
            monotonic_ns() + 30_000_000_000,
            SyncobjWaitFlags::empty(),
        )
        .unwrap();
}

fn main() {
    let dev = VirtualDevice::new(1 << 30).unwrap();
    let s = setup(&dev);
    let obj = s.file.syncobj_create(0).unwrap();
    let mut point = 0u64;

    // Latency: one async bind, wait for its point; median of many.
    let mut lat = Vec::new();
    for i in 0..2000 {
        point += 1;
        let sync = [signal(obj, point)];
        let t = Instant::now();
        s.file
            .vm_bind(s.vm, DRM_PANTHOR_VM_BIND_ASYNC, &[map_op(&s, i, &sync)])
            .unwrap();
        wait_point(&s, obj, point);
        lat.push(t.elapsed());
    }
    lat.sort();
    let median = lat[lat.len() / 2];
    let p99 = lat[lat.len() * 99 / 100];

    // Throughput: N async binds in flight, each signalling its point.
    let n = 20_000u64;
    let t = Instant::now();
    for i in 0..n {
        point += 1;
        let sync = [signal(obj, point)];
        s.file
            .vm_bind(s.vm, DRM_PANTHOR_VM_BIND_ASYNC, &[map_op(&s, i, &sync)])
            .unwrap();
    }
    wait_point(&s, obj, point);
    let async_rate = n as f64 / t.elapsed().as_secs_f64();

    // The same binds, synchronous.
    let t = Instant::now();
    for i in 0..n {
        s.file.vm_bind(s.vm, 0, &[map_op(&s, i, &[])]).unwrap();
    }
    let sync_rate = n as f64 / t.elapsed().as_secs_f64();

    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("async VM_BIND of 64 KiB into a 1 GiB sparse range, timeline-signalled:");
    println!(
        "  latency ioctl -> point signalled: median {:.1} us, p99 {:.1} us",
        us(median),
        us(p99)
    );
    println!("  throughput: async {async_rate:.0} binds/s, sync {sync_rate:.0} binds/s, async/sync {:.2}", async_rate / sync_rate);
}
