//! Scheduling groups and their queues (GROUP_CREATE / SUBMIT / GET_STATE).
//!
//! A group is a set of queues on one VM. Each queue owns a ring buffer and a
//! slot in the group's sync-object array (`{ u64 seqno; u32 status; u32
//! pad; }`), both kernel BOs mapped in the VM above the user range. A
//! submitted job waits in its queue until its dependencies signal; the
//! scheduler ([`crate::sched`]) then writes its ring sequence
//! ([`crate::csf_ring`]) and rings the doorbell. The job is done when the
//! queue's seqno in memory reaches the job's. A CS fault makes the group
//! fatal: its jobs complete with an error and it accepts no more.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::bo::{Backing, Bo, BoRef};
use crate::fence::{Fence, FenceSet};
use crate::hw::{CsSlot, Hardware, PhysAddr, PAGE_SIZE};
use crate::shim::{try_push, Lock, Shared};
use crate::uapi::*;
use crate::vm_pool::VmRef;
use crate::Errno;

/// `MAX_GROUPS_PER_POOL`: group handles per file.
pub const MAX_GROUPS_PER_FILE: u32 = 128;

/// `CSF_MAX_QUEUE_PRIO`.
const MAX_QUEUE_PRIORITY: u8 = 15;

/// Bytes per queue in the group's sync-object array (`panthor_syncobj_64b`).
const SYNCOBJ_BYTES: u64 = 16;

/// `-EINVAL` / `-ECANCELED` / `-ETIMEDOUT` as fence errors.
pub const FENCE_EFAULTED: i32 = -22;
pub const FENCE_ECANCELED: i32 = -125;
pub const FENCE_ETIMEDOUT: i32 = -110;

/// `JOB_TIMEOUT_MS`: a queue with work in the ring that makes no progress
/// for this long times its group out.
pub const JOB_TIMEOUT_NS: i64 = 5_000_000_000;

/// One submitted job.
pub struct Job {
    pub deps: FenceSet,
    /// `(stream_addr, stream_size)`; None for a job with no stream (it only
    /// orders: done once every earlier job of the queue is).
    pub call: Option<(u64, u32)>,
    pub latest_flush: u32,
    pub done: Fence,
    /// Sequence number the queue reaches when the job is done; set when
    /// the job is written to the ring.
    pub seqno: Option<u64>,
}

/// One queue of a group.
pub struct Queue {
    pub priority: u8,
    pub ring: BoRef,
    pub ring_va: u64,
    pub ring_size: u32,
    /// Jobs not yet done, oldest first; the ones with a seqno are in the
    /// ring.
    pub jobs: VecDeque<Job>,
    /// Seqno of the last job written to the ring.
    pub last_seqno: u64,
    /// Bytes written to the ring since the queue was last bound to a CS
    /// interface (the insert offset).
    pub insert: u64,
    /// When the queue last made progress (a job written or finished), in
    /// the waiter's clock: the job timeout counts from here.
    pub progress_ns: i64,
}

impl Queue {
    /// Jobs written to the ring and not yet done.
    pub fn in_flight(&self) -> usize {
        self.jobs.iter().filter(|j| j.seqno.is_some()).count()
    }
}

/// `DRM_PANTHOR_GROUP_STATE_*` as the group keeps them.
pub struct Group {
    pub vm: VmRef,
    pub priority: u8,
    pub queues: Vec<Queue>,
    pub syncobjs: BoRef,
    pub syncobjs_va: u64,
    /// Bit per queue that hit a fatal CS error.
    pub fatal_queues: u32,
    pub timedout: bool,
    /// GROUP_DESTROY ran; the group lingers until it is off the hardware.
    pub destroyed: bool,
    /// The CSG slot it runs on.
    pub csg: Option<u32>,
    /// The kernel BOs are unmapped.
    released: bool,
}

pub type GroupRef = Shared<Lock<Group>>;

impl Group {
    /// Creates the kernel BOs of a group (after [`GroupArgs::check`]) and
    /// maps them in `vm`.
    pub fn create(
        hw: &alloc::sync::Arc<dyn Hardware>,
        vm: VmRef,
        args: &GroupArgs<'_>,
    ) -> Result<Group, Errno> {
        let exclusive = Some(vm.lock().id());
        let syncobjs = kernel_bo(hw, args.queues.len() as u64 * SYNCOBJ_BYTES, exclusive)?;
        let syncobjs_va = vm.lock().map_kernel_bo(&syncobjs)?;
        // From here a failure drops the group, whose Drop unmaps what was
        // mapped so far.
        let mut group = Group {
            vm,
            priority: args.priority,
            queues: Vec::new(),
            syncobjs,
            syncobjs_va,
            fatal_queues: 0,
            timedout: false,
            destroyed: false,
            csg: None,
            released: false,
        };
        crate::shim::try_reserve(&mut group.queues, args.queues.len())?;
        for q in args.queues {
            let ring = kernel_bo(hw, q.ringbuf_size as u64, exclusive)?;
            let ring_va = group.vm.lock().map_kernel_bo(&ring)?;
            group.queues.push(Queue {
                priority: q.priority,
                ring,
                ring_va,
                ring_size: q.ringbuf_size,
                jobs: VecDeque::new(),
                last_seqno: 0,
                insert: 0,
                progress_ns: 0,
            });
        }
        Ok(group)
    }

    /// `group_can_run`: not faulted, timed out or destroyed.
    pub fn can_run(&self) -> bool {
        self.fatal_queues == 0 && !self.timedout && !self.destroyed
    }

    /// GROUP_GET_STATE's `state`.
    pub fn state_flags(&self) -> u32 {
        let mut s = 0;
        if self.timedout {
            s |= DRM_PANTHOR_GROUP_STATE_TIMEDOUT;
        }
        if self.fatal_queues != 0 {
            s |= DRM_PANTHOR_GROUP_STATE_FATAL_FAULT;
        }
        s
    }

    /// VA of queue `q`'s sync object.
    pub fn sync_va(&self, q: usize) -> u64 {
        self.syncobjs_va + q as u64 * SYNCOBJ_BYTES
    }

    /// Where the kernel reads queue `q`'s seqno.
    pub fn sync_pa(&self, q: usize) -> Option<PhysAddr> {
        self.syncobjs
            .backing
            .lookup(q as u64 * SYNCOBJ_BYTES)
            .map(|(pa, _)| pa)
    }

    /// True when some queue has a job not yet done.
    pub fn has_work(&self) -> bool {
        self.queues.iter().any(|q| !q.jobs.is_empty())
    }

    /// True when some queue has jobs in the ring.
    pub fn busy(&self) -> bool {
        self.queues.iter().any(|q| q.in_flight() != 0)
    }

    /// Completes every job with `error` (fault, destroy).
    pub fn cancel_all(&mut self, first_error: i32) {
        for q in &mut self.queues {
            let mut error = first_error;
            while let Some(job) = q.jobs.pop_front() {
                job.done.signal(error);
                error = FENCE_ECANCELED;
            }
        }
    }

    /// The CS interface queue `q` runs on while resident.
    pub fn slot(&self, q: usize) -> Option<CsSlot> {
        self.csg.map(|csg| CsSlot { csg, cs: q as u32 })
    }

    /// Unmaps the kernel BOs (the group is gone from the hardware).
    pub fn release(&mut self) {
        if core::mem::replace(&mut self.released, true) {
            return;
        }
        let mut vm = self.vm.lock();
        for q in &self.queues {
            vm.unmap_kernel_bo(q.ring_va);
        }
        vm.unmap_kernel_bo(self.syncobjs_va);
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.release();
    }
}

/// GROUP_CREATE's arguments (the trait's `GroupCreate` without its VM).
#[derive(Clone, Copy, Debug, Default)]
pub struct GroupArgs<'a> {
    pub queues: &'a [drm_panthor_queue_create],
    pub max_compute_cores: u8,
    pub max_fragment_cores: u8,
    pub max_tiler_cores: u8,
    pub priority: u8,
    pub pad: u32,
    pub compute_core_mask: u64,
    pub fragment_core_mask: u64,
    pub tiler_core_mask: u64,
}

impl GroupArgs<'_> {
    /// `panthor_group_create`'s checks, in its order. `shader_present` and
    /// `tiler_present` are GPU_INFO's masks; `max_queues` the firmware's
    /// streams per group.
    pub fn check(
        &self,
        shader_present: u64,
        tiler_present: u64,
        max_queues: u32,
    ) -> Result<(), Errno> {
        if self.pad != 0 || self.priority > PANTHOR_GROUP_PRIORITY_REALTIME {
            return Err(Errno::EINVAL);
        }
        if self.compute_core_mask & !shader_present != 0
            || self.fragment_core_mask & !shader_present != 0
            || self.tiler_core_mask & !tiler_present != 0
        {
            return Err(Errno::EINVAL);
        }
        if self.compute_core_mask.count_ones() < self.max_compute_cores as u32
            || self.fragment_core_mask.count_ones() < self.max_fragment_cores as u32
            || self.tiler_core_mask.count_ones() < self.max_tiler_cores as u32
        {
            return Err(Errno::EINVAL);
        }
        if self.queues.len() > max_queues as usize {
            return Err(Errno::EINVAL);
        }
        for q in self.queues {
            if q.pad != [0; 3]
                || !(0x1000..=0x10000).contains(&q.ringbuf_size)
                || !q.ringbuf_size.is_power_of_two()
                || q.priority > MAX_QUEUE_PRIORITY
            {
                return Err(Errno::EINVAL);
            }
        }
        Ok(())
    }
}

/// A zeroed kernel BO of `size` bytes (rounded up to pages).
fn kernel_bo(
    hw: &alloc::sync::Arc<dyn Hardware>,
    size: u64,
    exclusive: Option<crate::vm::VmId>,
) -> Result<BoRef, Errno> {
    let size = size.max(1).next_multiple_of(PAGE_SIZE);
    let backing = Backing::alloc(hw, size)?;
    for c in backing.chunks() {
        hw.zero_pages(c.pa, c.len / PAGE_SIZE);
    }
    Ok(Shared::try_new(Bo {
        backing,
        flags: DRM_PANTHOR_BO_NO_MMAP,
        exclusive_vm: exclusive,
    })?)
}

/// The groups of one open file, by handle (1..=128).
#[derive(Default)]
pub struct GroupPool {
    groups: Vec<(u32, GroupRef)>,
}

impl GroupPool {
    pub fn insert(&mut self, group: GroupRef) -> Result<u32, Errno> {
        let handle = (1..=MAX_GROUPS_PER_FILE)
            .find(|h| self.groups.iter().all(|(used, _)| used != h))
            .ok_or(Errno::EBUSY)?;
        try_push(&mut self.groups, (handle, group))?;
        Ok(handle)
    }

    pub fn get(&self, handle: u32) -> Option<GroupRef> {
        self.groups
            .iter()
            .find(|(h, _)| *h == handle)
            .map(|(_, g)| g.clone())
    }

    pub fn remove(&mut self, handle: u32) -> Option<GroupRef> {
        let i = self.groups.iter().position(|(h, _)| *h == handle)?;
        Some(self.groups.swap_remove(i).1)
    }

    /// Every group (the file is closing).
    pub fn drain(&mut self) -> Vec<GroupRef> {
        self.groups.drain(..).map(|(_, g)| g).collect()
    }
}
