//! `VkQueue`: work reaches the kernel in submission order, either as
//! GROUP_SUBMIT jobs on the queue's own panthor group (command buffers) or
//! as asynchronous VM_BIND ops on the device's VM (sparse binds).
//!
//! Every submission also signals the next point of the queue's *progress*
//! timeline syncobj, so "idle" is one wait on the last point.
//!
//! Semaphore waits are timeline points (binary semaphores count their
//! signals, see `semaphore.rs`), or binary syncobjs for payloads shared with
//! other devices. A timeline may be waited on before anything
//! signals it (wait-before-signal), and a binary semaphore's signal may sit
//! in another queue's deferred work, but the kernel refuses a wait on a
//! point with no fence yet. Such a submission is *deferred*: a worker thread waits until
//! its points are submitted and then issues it, and every later submission
//! of the queue queues up behind it to keep the order.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use ash::vk;
use panthor_uapi::device::{
    GroupCreate, QueueSubmit, SyncobjWaitFlags, VmBindOp, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED,
};
use panthor_uapi::uapi::*;
use panthor_uapi::Errno;

use crate::device::DeviceRef;
use crate::drm_sync::{deadline, SyncPoint};
use crate::guard::{guard, ErrnoExt, VkError, VkResult};
use crate::handle;
use crate::physical_device::FAMILY_UNIVERSAL;

/// Ring buffer per queue: room for many jobs (each is 128 bytes of ring).
const RINGBUF_SIZE: u32 = 64 << 10;

/// One GROUP_SUBMIT job: a stream (or none: a sync-only job) and its syncs.
#[derive(Debug)]
pub struct Job {
    pub stream: Option<(u64, u32)>,
    pub syncs: Vec<drm_panthor_sync_op>,
}

/// One VM_BIND op with its syncs.
#[derive(Debug)]
pub struct BindOp {
    pub flags: u32,
    pub bo: u32,
    pub bo_offset: u64,
    pub va: u64,
    pub size: u64,
    pub syncs: Vec<drm_panthor_sync_op>,
}

/// What one submission asks of the kernel.
#[derive(Debug)]
pub enum Work {
    Jobs(Vec<Job>),
    Binds(Vec<BindOp>),
}

/// A batch as the application describes it, before lowering.
#[derive(Default)]
pub struct Batch {
    pub waits: Vec<SyncPoint>,
    pub signals: Vec<SyncPoint>,
}

impl Batch {
    /// Puts the waits on the first of `n` items and the signals (plus
    /// `extra`) on the last: items run in order, so that is the whole
    /// batch's dependency and completion.
    pub fn spread(&self, n: usize, extra: &[SyncPoint]) -> Vec<Vec<drm_panthor_sync_op>> {
        let mut out = vec![Vec::new(); n.max(1)];
        out[0].extend(self.waits.iter().map(|w| w.wait_op()));
        let last = out.len() - 1;
        out[last].extend(self.signals.iter().chain(extra).map(|s| s.signal_op()));
        out
    }
}

struct Pending {
    /// The progress point this submission signals.
    point: u64,
    work: Work,
    /// Points the work waits on (they must have fences first).
    timeline_waits: Vec<SyncPoint>,
}

#[derive(Default)]
struct State {
    /// The last progress point handed out.
    last_point: u64,
    deferred: VecDeque<Pending>,
    /// The worker holds a popped item it has not issued yet.
    worker_busy: bool,
}

struct Shared {
    dev: DeviceRef,
    group: Mutex<Option<u32>>,
    progress: u32,
    state: Mutex<State>,
    wake: Condvar,
    stop: AtomicBool,
}

pub struct Queue {
    pub dev: DeviceRef,
    pub family: u32,
    pub index: u32,
    pub flags: vk::DeviceQueueCreateFlags,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Queue {
    pub fn new(
        dev: DeviceRef,
        family: u32,
        index: u32,
        flags: vk::DeviceQueueCreateFlags,
    ) -> VkResult<Queue> {
        let progress = dev.file.syncobj_create(0).vk("SYNCOBJ_CREATE")?;
        Ok(Queue {
            shared: Arc::new(Shared {
                dev: dev.clone(),
                group: Mutex::new(None),
                progress,
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
                stop: AtomicBool::new(false),
            }),
            dev,
            family,
            index,
            flags,
            worker: Mutex::new(None),
        })
    }

    /// # Safety
    /// `h` is null or a live queue of ours.
    pub unsafe fn from_handle<'a>(h: vk::Queue) -> VkResult<&'a Queue> {
        // SAFETY: forwarded contract.
        unsafe { handle::dispatchable(h) }
    }

    pub fn can_run_commands(&self) -> bool {
        self.family == FAMILY_UNIVERSAL
    }

    /// Submits `work` after its waits have fences, in queue order.
    /// `make` gets the progress point this submission signals.
    pub fn submit(
        &self,
        timeline_waits: Vec<SyncPoint>,
        make: impl FnOnce(SyncPoint) -> Work,
    ) -> VkResult<()> {
        // The sticky flag only: querying every group per submission would
        // cost ioctls on the hot path, and a refused submission to a dead
        // group or VM marks the device lost anyway (`Shared::failed`).
        if self.dev.is_lost() {
            crate::vk_bail!(vk::Result::ERROR_DEVICE_LOST, "the device was lost earlier");
        }
        let sh = &self.shared;
        let mut st = sh.state.lock().unwrap_or_else(|e| e.into_inner());
        st.last_point += 1;
        let progress = SyncPoint::timeline(sh.progress, st.last_point);
        let p = Pending {
            point: st.last_point,
            work: make(progress),
            timeline_waits,
        };
        let direct = st.deferred.is_empty() && !st.worker_busy;
        let ready = if direct {
            sh.available(&p.timeline_waits)
        } else {
            Ok(false)
        };
        if direct && !matches!(ready, Ok(false)) {
            // Issued under the state lock, so it cannot overtake or be
            // overtaken by another submission of this queue.
            let issued = ready.and_then(|_| sh.issue(p.work));
            if issued.is_err() {
                // Nothing will ever signal the point: give it back.
                st.last_point -= 1;
            }
            return issued;
        }
        log::debug!("deferring a submission until its timeline waits are submitted");
        st.deferred.push_back(p);
        drop(st);
        self.ensure_worker();
        sh.wake.notify_all();
        Ok(())
    }

    fn ensure_worker(&self) {
        let mut w = self.worker.lock().unwrap_or_else(|e| e.into_inner());
        if w.is_none() {
            let sh = self.shared.clone();
            *w = std::thread::Builder::new()
                .name("panthor-vk-queue".into())
                .spawn(move || sh.work_loop())
                .map_err(|e| log::error!("cannot start the queue worker: {e}"))
                .ok();
        }
    }

    /// Waits until everything submitted so far has completed.
    pub fn wait_idle(&self) -> VkResult<()> {
        let sh = &self.shared;
        let last = sh
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_point;
        if last > 0 {
            match sh.dev.file.syncobj_timeline_wait(
                &[sh.progress],
                &[last],
                i64::MAX,
                SyncobjWaitFlags::WAIT_FOR_SUBMIT,
            ) {
                Ok(_) => {}
                Err(e) => return Err(e).vk("SYNCOBJ_TIMELINE_WAIT (queue idle)"),
            }
        }
        sh.dev.check_lost()
    }
}

impl Shared {
    /// True when every wait has a fence (or has signalled).
    fn available(&self, waits: &[SyncPoint]) -> VkResult<bool> {
        for w in waits {
            let Some(point) = w.point else {
                // A binary payload (shared with other devices, or imported):
                // EINVAL means no fence yet, WAIT_AVAILABLE that one exists.
                match self
                    .dev
                    .file
                    .syncobj_wait(&[w.syncobj], 0, SyncobjWaitFlags::WAIT_AVAILABLE)
                {
                    Ok(_) => continue,
                    Err(Errno::EINVAL) | Err(Errno::ETIME) => return Ok(false),
                    Err(e) => return Err(e).vk("SYNCOBJ_WAIT (is a fence attached?)"),
                }
            };
            let mut last = [0u64];
            self.dev
                .file
                .syncobj_query(
                    &[w.syncobj],
                    &mut last,
                    DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED,
                )
                .vk("SYNCOBJ_QUERY")?;
            if last[0] < point {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn group(&self) -> VkResult<u32> {
        let mut g = self.group.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = *g {
            return Ok(h);
        }
        let gpu = &self.dev.gpu;
        let queues = [drm_panthor_queue_create {
            priority: 0,
            pad: [0; 3],
            ringbuf_size: RINGBUF_SIZE,
        }];
        let args = GroupCreate {
            queues: &queues,
            max_compute_cores: gpu.shader_present.count_ones() as u8,
            max_fragment_cores: gpu.shader_present.count_ones() as u8,
            max_tiler_cores: gpu.tiler_present.count_ones() as u8,
            priority: PANTHOR_GROUP_PRIORITY_MEDIUM,
            pad: 0,
            compute_core_mask: gpu.shader_present,
            fragment_core_mask: gpu.shader_present,
            tiler_core_mask: gpu.tiler_present,
            vm_id: self.dev.vm,
        };
        let h = self.dev.file.group_create(&args).map_err(|e| {
            VkError::from_errno_or(e, "GROUP_CREATE", vk::Result::ERROR_INITIALIZATION_FAILED)
        })?;
        self.dev.register_group(h);
        *g = Some(h);
        Ok(h)
    }

    fn issue(&self, work: Work) -> VkResult<()> {
        match work {
            Work::Jobs(jobs) => {
                let group = self.group()?;
                let submits: Vec<QueueSubmit<'_>> = jobs
                    .iter()
                    .map(|j| QueueSubmit {
                        queue_index: 0,
                        stream_size: j.stream.map_or(0, |s| s.1),
                        stream_addr: j.stream.map_or(0, |s| s.0),
                        latest_flush: 0,
                        pad: 0,
                        syncs: &j.syncs,
                    })
                    .collect();
                self.dev
                    .file
                    .group_submit(group, 0, &submits)
                    .map_err(|e| self.failed(e, "GROUP_SUBMIT"))
            }
            Work::Binds(ops) => {
                let ops: Vec<VmBindOp<'_>> = ops
                    .iter()
                    .map(|o| VmBindOp {
                        flags: o.flags,
                        bo_handle: o.bo,
                        bo_offset: o.bo_offset,
                        va: o.va,
                        size: o.size,
                        syncs: &o.syncs,
                    })
                    .collect();
                self.dev
                    .file
                    .vm_bind(self.dev.vm, DRM_PANTHOR_VM_BIND_ASYNC, &ops)
                    .map_err(|e| self.failed(e.errno, "VM_BIND (async)"))
            }
        }
    }

    /// A refused submission: out of memory is reported as such; anything
    /// else means our own bookkeeping and the kernel disagree, so the
    /// device is lost (its queue's progress would never complete).
    fn failed(&self, e: Errno, what: &str) -> VkError {
        let err = VkError::from_errno(e, what);
        if err.result == vk::Result::ERROR_DEVICE_LOST {
            self.dev.set_lost(&err.why);
        }
        err
    }

    fn work_loop(self: Arc<Self>) {
        loop {
            let p = {
                let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if self.stop.load(Ordering::Acquire) {
                        return;
                    }
                    if let Some(p) = st.deferred.pop_front() {
                        st.worker_busy = true;
                        break p;
                    }
                    st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            };
            // Wait (in slices, to notice a stop) until the points exist.
            let handles: Vec<u32> = p.timeline_waits.iter().map(|w| w.syncobj).collect();
            let points: Vec<u64> = p
                .timeline_waits
                .iter()
                .map(|w| w.point.unwrap_or(0))
                .collect();
            let ready = loop {
                if self.stop.load(Ordering::Acquire) {
                    return;
                }
                let flags = SyncobjWaitFlags::WAIT_ALL
                    | SyncobjWaitFlags::WAIT_FOR_SUBMIT
                    | SyncobjWaitFlags::WAIT_AVAILABLE;
                match self.dev.file.syncobj_timeline_wait(
                    &handles,
                    &points,
                    deadline(100_000_000),
                    flags,
                ) {
                    Ok(_) => break true,
                    Err(Errno::ETIME) => continue,
                    Err(e) => {
                        self.dev
                            .set_lost(&format!("waiting for deferred timeline points: {e}"));
                        break false;
                    }
                }
            };
            // Issued under the state lock, as direct submissions are.
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let issued = if ready {
                self.issue(p.work).map_err(|e| e.why)
            } else {
                Err("never ready".into())
            };
            if let Err(why) = issued {
                log::error!("deferred submission failed: {why}");
                self.dev.set_lost(&why);
                // Wake whoever waits for this submission's progress point;
                // the device is lost, so they will report that.
                let _ = self
                    .dev
                    .file
                    .syncobj_timeline_signal(&[self.progress], &[p.point]);
            }
            st.worker_busy = false;
        }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_all();
        if let Some(w) = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = w.join();
        }
        let sh = &self.shared;
        if let Some(g) = sh.group.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = sh.dev.file.group_destroy(&drm_panthor_group_destroy {
                group_handle: g,
                pad: 0,
            });
        }
        let _ = sh.dev.file.syncobj_destroy(sh.progress);
    }
}

pub unsafe extern "system" fn queue_wait_idle(queue: vk::Queue) -> vk::Result {
    guard("vkQueueWaitIdle", || {
        // SAFETY: the queue is ours.
        let q = unsafe { Queue::from_handle(queue) }?;
        q.wait_idle()?;
        Ok(vk::Result::SUCCESS)
    })
}

pub use crate::queue_submit::{queue_bind_sparse, queue_submit, queue_submit2};
