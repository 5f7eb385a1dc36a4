//! The scheduler on the mock hardware: jobs reach the ring only when their
//! dependencies signalled, complete when the queue's seqno in memory says
//! so, and a CS fault makes the group fatal.

use alloc::sync::Arc;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use crate::args::{GroupCreate, QueueSubmit};
use crate::csf_ring::JOB_BYTES;
use crate::device::Device;
use crate::file::File;
use crate::gpu_info::GpuReg;
use crate::hw::{CsFatal, CsSlot, CsStatus, Hardware};
use crate::testing::MockHw;
use crate::uapi::*;
use crate::wait::Waiter;
use crate::Errno;

struct TestWaiter {
    start: Instant,
    gen: Mutex<u64>,
    cv: Condvar,
}

impl Waiter for TestWaiter {
    fn now_ns(&self) -> i64 {
        self.start.elapsed().as_nanos() as i64
    }
    // The test clock is never slewed: raw and adjusted time agree.
    fn now_raw_ns(&self) -> i64 {
        self.now_ns()
    }
    fn generation(&self) -> u64 {
        *self.gen.lock().unwrap()
    }
    fn sleep(&self, seen: u64, deadline_ns: i64) {
        let g = self.gen.lock().unwrap();
        let left = (deadline_ns - self.now_ns()).max(0) as u64;
        let _ = self
            .cv
            .wait_timeout_while(g, std::time::Duration::from_nanos(left), |g| *g == seen);
    }
    fn wake_all(&self) {
        *self.gen.lock().unwrap() += 1;
        self.cv.notify_all();
    }
}

fn setup() -> (Arc<MockHw>, Arc<Device>, File, u32) {
    let hw = Arc::new(MockHw::new());
    hw.set_gpu_reg(GpuReg::MmuFeatures, 0x2830);
    hw.set_gpu_reg(GpuReg::ShaderPresentLo, 0x50005);
    hw.set_gpu_reg(GpuReg::TilerPresentLo, 1);
    hw.set_gpu_reg(GpuReg::AsPresent, 0xff);
    let waiter = Arc::new(TestWaiter {
        start: Instant::now(),
        gen: Mutex::new(0),
        cv: Condvar::new(),
    });
    let dev = Arc::new(Device::new(hw.clone(), waiter).unwrap());
    let file = File::open(dev.clone(), 1 << 47).unwrap();
    let mut vm = drm_panthor_vm_create::default();
    file.vm_create(&mut vm).unwrap();
    (hw, dev, file, vm.id)
}

fn group(file: &File, vm: u32) -> u32 {
    let queues = [drm_panthor_queue_create {
        ringbuf_size: 4096,
        ..Default::default()
    }];
    file.group_create(&GroupCreate {
        queues: &queues,
        compute_core_mask: 1,
        vm_id: vm,
        ..Default::default()
    })
    .unwrap()
}

fn sync(handle: u32, signal: bool) -> drm_panthor_sync_op {
    drm_panthor_sync_op {
        flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ
            | if signal {
                DRM_PANTHOR_SYNC_OP_SIGNAL
            } else {
                0
            },
        handle,
        timeline_value: 0,
    }
}

fn submit<'a>(syncs: &'a [drm_panthor_sync_op]) -> QueueSubmit<'a> {
    QueueSubmit {
        stream_addr: 0x10_0000,
        stream_size: 64,
        syncs,
        ..Default::default()
    }
}

const SLOT0: CsSlot = CsSlot { csg: 0, cs: 0 };

#[test]
fn a_job_waits_for_its_dependency_and_completes_by_seqno() {
    let (hw, dev, file, vm) = setup();
    let g = group(&file, vm);
    let a = file.syncobjs().create(0).unwrap();
    let b = file.syncobjs().create(0).unwrap();
    file.group_submit(g, 0, &[submit(&[sync(a, true)])])
        .unwrap();
    // The second job waits on the first's done fence through syncobj a.
    file.group_submit(g, 0, &[submit(&[sync(a, false), sync(b, true)])])
        .unwrap();
    dev.tick();
    let cs = hw.cs(SLOT0);
    assert!(cs.ring.is_some(), "the group was not made resident");
    assert_eq!(
        cs.insert, JOB_BYTES,
        "only the first job may be in the ring"
    );
    assert!(
        !file.syncobjs().get(a).unwrap().lock().has_fence() || {
            let set = file.syncobjs().find_fence(a, 0).unwrap();
            !set.is_signaled()
        }
    );

    // The GPU bumps the queue's seqno: the first job is done, the second
    // goes into the ring.
    let pa = file.group(g).unwrap().lock().sync_pa(0).unwrap();
    hw.write_u64(pa, 1);
    dev.tick();
    assert!(file.syncobjs().find_fence(a, 0).unwrap().is_signaled());
    assert!(!file.syncobjs().find_fence(b, 0).unwrap().is_signaled());
    assert_eq!(hw.cs(SLOT0).insert, 2 * JOB_BYTES);
    hw.write_u64(pa, 2);
    dev.tick();
    assert!(file.syncobjs().find_fence(b, 0).unwrap().is_signaled());
}

#[test]
fn a_cs_fault_makes_the_group_fatal_and_completes_its_jobs_with_an_error() {
    let (hw, dev, file, vm) = setup();
    let g = group(&file, vm);
    let a = file.syncobjs().create(0).unwrap();
    file.group_submit(g, 0, &[submit(&[sync(a, true)])])
        .unwrap();
    dev.tick();
    hw.set_cs_status(
        SLOT0,
        CsStatus {
            extract: 0,
            fatal: Some(CsFatal {
                exception_type: 0x49,
                info: 0x10_0000,
            }),
        },
    );
    dev.tick();
    let done = file.syncobjs().find_fence(a, 0).unwrap();
    assert!(done.is_signaled());
    assert_eq!(done.error(), -22);
    let mut state = drm_panthor_group_get_state {
        group_handle: g,
        ..Default::default()
    };
    file.group_get_state(&mut state).unwrap();
    assert_eq!(state.state, DRM_PANTHOR_GROUP_STATE_FATAL_FAULT);
    assert_eq!(state.fatal_queues, 1);
    assert_eq!(file.group_submit(g, 0, &[submit(&[])]), Err(Errno::EINVAL));
    assert!(hw.cs(SLOT0).ring.is_none(), "a fatal group stays resident");
}

#[test]
fn submits_are_checked_before_anything_is_queued() {
    let (hw, dev, file, vm) = setup();
    let g = group(&file, vm);
    let a = file.syncobjs().create(0).unwrap();
    let bad = [
        QueueSubmit {
            stream_addr: 0x10_0008,
            ..submit(&[])
        },
        QueueSubmit {
            stream_size: 12,
            ..submit(&[])
        },
        QueueSubmit {
            queue_index: 1,
            ..submit(&[])
        },
        QueueSubmit {
            latest_flush: 1 << 24,
            ..submit(&[])
        },
    ];
    for s in bad {
        // A good job first: the whole submission must still be refused.
        assert_eq!(
            file.group_submit(g, 0, &[submit(&[sync(a, true)]), s]),
            Err(Errno::EINVAL)
        );
    }
    // Unknown syncobjs: ENOENT to wait on, EINVAL to signal.
    assert_eq!(
        file.group_submit(g, 0, &[submit(&[sync(99, false)])]),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        file.group_submit(g, 0, &[submit(&[sync(99, true)])]),
        Err(Errno::EINVAL)
    );
    // A wait on a syncobj without a fence.
    assert_eq!(
        file.group_submit(g, 0, &[submit(&[sync(a, false)])]),
        Err(Errno::EINVAL)
    );
    dev.tick();
    assert!(!file.syncobjs().get(a).unwrap().lock().has_fence());
    assert_eq!(hw.cs(SLOT0).doorbells, 0);
}

#[test]
fn group_create_follows_panthors_rules() {
    let (_hw, _dev, file, vm) = setup();
    let q = drm_panthor_queue_create {
        ringbuf_size: 4096,
        ..Default::default()
    };
    let base = GroupCreate {
        queues: core::slice::from_ref(&q),
        compute_core_mask: 1,
        vm_id: vm,
        ..Default::default()
    };
    let many = [q; 33];
    let cases = [
        (
            GroupCreate {
                queues: &[],
                ..base
            },
            Errno::EINVAL,
        ),
        (
            GroupCreate {
                queues: &many,
                ..base
            },
            Errno::EINVAL,
        ),
        (
            GroupCreate {
                priority: 2,
                ..base
            },
            Errno::EACCES,
        ),
        (
            GroupCreate {
                priority: 4,
                ..base
            },
            Errno::EINVAL,
        ),
        (GroupCreate { pad: 1, ..base }, Errno::EINVAL),
        (
            GroupCreate {
                compute_core_mask: 2,
                ..base
            },
            Errno::EINVAL,
        ),
        (
            GroupCreate {
                max_compute_cores: 2,
                ..base
            },
            Errno::EINVAL,
        ),
        (
            GroupCreate {
                tiler_core_mask: 2,
                ..base
            },
            Errno::EINVAL,
        ),
        (GroupCreate { vm_id: 7, ..base }, Errno::EINVAL),
    ];
    for (args, errno) in cases {
        assert_eq!(file.group_create(&args), Err(errno), "{args:?}");
    }
    for ringbuf_size in [0, 2048, 4096 + 64, 1 << 17] {
        let q = [drm_panthor_queue_create {
            ringbuf_size,
            ..Default::default()
        }];
        let args = GroupCreate { queues: &q, ..base };
        assert_eq!(file.group_create(&args), Err(Errno::EINVAL));
    }
    let vms_before: usize = file.vm(vm).unwrap().lock().vmas().count();
    assert_eq!(vms_before, 0, "a refused group left kernel mappings");
    let g = file.group_create(&base).unwrap();
    assert_eq!(g, 1);
    assert_eq!(file.vm(vm).unwrap().lock().vmas().count(), 2);
    file.group_destroy(&drm_panthor_group_destroy {
        group_handle: g,
        pad: 0,
    })
    .unwrap();
    assert_eq!(file.vm(vm).unwrap().lock().vmas().count(), 0);
}

#[test]
fn a_queue_without_progress_times_its_group_out() {
    let (hw, dev, file, vm) = setup();
    let g = group(&file, vm);
    let a = file.syncobjs().create(0).unwrap();
    file.group_submit(g, 0, &[submit(&[sync(a, true)])])
        .unwrap();
    let t0 = 1_000_000_000;
    assert!(dev.sched.lock().tick(t0));
    // Just under the timeout: still running.
    dev.sched.lock().tick(t0 + crate::group::JOB_TIMEOUT_NS);
    assert!(!file.syncobjs().find_fence(a, 0).unwrap().is_signaled());
    dev.sched.lock().tick(t0 + crate::group::JOB_TIMEOUT_NS + 1);
    let done = file.syncobjs().find_fence(a, 0).unwrap();
    assert_eq!(done.error(), -110);
    let mut state = drm_panthor_group_get_state {
        group_handle: g,
        ..Default::default()
    };
    file.group_get_state(&mut state).unwrap();
    assert_eq!(state.state, DRM_PANTHOR_GROUP_STATE_TIMEDOUT);
    assert!(hw.cs(SLOT0).ring.is_none());
}
