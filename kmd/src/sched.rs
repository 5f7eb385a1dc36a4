//! The scheduler: what runs when (panthor's drm_sched entities, its CSG
//! slot scheduler and its IRQ handlers, in one place).
//!
//! [`Scheduler::tick`] is called whenever something may have changed (a
//! job was queued, a fence signalled, the GPU raised its interrupt). It
//! 1. runs asynchronous VM_BIND jobs whose dependencies signalled, in
//!    submission order per VM;
//! 2. takes MMU faults: the VM becomes unusable (VM_GET_STATE says so);
//! 3. collects finished GPU jobs (queue seqnos in memory) and CS faults
//!    (the group becomes fatal, its jobs complete with an error);
//! 4. makes groups with ready jobs resident (a CSG slot, an address space
//!    for their VM; idle groups are evicted when slots run out), writes the
//!    ready jobs into their rings and rings the doorbells.
//!
//! It never sleeps; the caller waits on its [`crate::wait::Waiter`].

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::csf_ring::{RingJob, JOB_BYTES, UNPRESERVED_REGS};
use crate::fence::{Fence, FenceSet};
use crate::group::{
    Group, GroupRef, FENCE_ECANCELED, FENCE_EFAULTED, FENCE_ETIMEDOUT, JOB_TIMEOUT_NS,
};
use crate::hw::{AsReg, CsRing, CsfInterface, Hardware};
use crate::shim::{try_push, AllocError, Shared};
use crate::vm::BindOp;
use crate::vm_pool::VmRef;

/// An asynchronous VM_BIND.
pub struct BindJob {
    pub vm: VmRef,
    pub ops: Vec<BindOp>,
    pub deps: FenceSet,
    pub done: Fence,
}

/// One hardware address space and the VM it holds.
#[derive(Default)]
struct AsSlot {
    vm: Option<VmRef>,
    /// Resident groups using it.
    users: u32,
}

pub struct Scheduler {
    hw: Arc<dyn Hardware>,
    iface: CsfInterface,
    bind_jobs: VecDeque<BindJob>,
    /// Every live group (handle held, or still on the hardware).
    groups: Vec<GroupRef>,
    csgs: Vec<Option<GroupRef>>,
    /// Index = AS number; AS 0 belongs to the firmware, as in panthor.
    ases: Vec<AsSlot>,
    /// VM faults seen so far (for tests and logs).
    mmu_faults: u64,
}

impl Scheduler {
    pub fn new(hw: Arc<dyn Hardware>) -> Result<Scheduler, AllocError> {
        let iface = hw.csf_interface();
        let mut csgs = Vec::new();
        crate::shim::try_reserve(&mut csgs, iface.csg_slots as usize)?;
        csgs.resize_with(iface.csg_slots as usize, || None);
        let mut ases = Vec::new();
        crate::shim::try_reserve(&mut ases, hw.as_count() as usize)?;
        ases.resize_with(hw.as_count() as usize, AsSlot::default);
        Ok(Scheduler {
            hw,
            iface,
            bind_jobs: VecDeque::new(),
            groups: Vec::new(),
            csgs,
            ases,
            mmu_faults: 0,
        })
    }

    pub fn mmu_faults(&self) -> u64 {
        self.mmu_faults
    }

    /// Room for `n` more asynchronous binds.
    pub fn reserve_bind_jobs(&mut self, n: usize) -> Result<(), AllocError> {
        self.bind_jobs.try_reserve(n).map_err(|_| AllocError)
    }

    /// Queues an asynchronous bind (after [`Scheduler::reserve_bind_jobs`]).
    pub fn push_bind(&mut self, job: BindJob) {
        self.bind_jobs.push_back(job);
    }

    /// Room for one more group (checked before GROUP_CREATE commits).
    pub fn reserve_group(&mut self) -> Result<(), AllocError> {
        crate::shim::try_reserve(&mut self.groups, 1)
    }

    /// Starts scheduling `group` (after [`Scheduler::reserve_group`]).
    pub fn add_group(&mut self, group: GroupRef) {
        self.groups.push(group);
    }

    /// GROUP_DESTROY (or file close): the group's jobs complete with
    /// `-ECANCELED`, it leaves the hardware and its kernel BOs are unmapped.
    pub fn destroy_group(&mut self, group: &GroupRef) {
        {
            let mut g = group.lock();
            g.destroyed = true;
            g.cancel_all(FENCE_ECANCELED);
        }
        self.evict(group);
        group.lock().release();
        self.groups.retain(|g| !Shared::ptr_eq(g, group));
    }

    /// One scheduling pass at time `now_ns`; true when anything changed.
    pub fn tick(&mut self, now_ns: i64) -> bool {
        let mut progress = self.run_bind_jobs();
        progress |= self.take_mmu_faults();
        progress |= self.collect(now_ns);
        progress |= self.dispatch(now_ns);
        progress
    }

    /// Runs the queued binds whose dependencies signalled, in order per VM.
    /// VM_BIND calls it right after queuing, so a bind with nothing to
    /// wait for is done before the ioctl returns (allowed: asynchronous
    /// only means it may complete later).
    pub fn run_bind_jobs(&mut self) -> bool {
        let mut progress = false;
        let mut blocked: Vec<crate::vm::VmId> = Vec::new();
        let mut i = 0;
        while i < self.bind_jobs.len() {
            let job = &self.bind_jobs[i];
            let vm_id = job.vm.lock().id();
            if blocked.contains(&vm_id) || !job.deps.is_signaled() {
                // Later jobs on this VM wait behind this one.
                if try_push(&mut blocked, vm_id).is_err() {
                    break;
                }
                i += 1;
                continue;
            }
            let Some(job) = self.bind_jobs.remove(i) else {
                break;
            };
            let result = job.vm.lock().bind(&job.ops);
            job.done.signal(match result {
                Ok(()) => 0,
                Err(e) => e.errno.to_kernel(),
            });
            progress = true;
        }
        progress
    }

    fn take_mmu_faults(&mut self) -> bool {
        let mut progress = false;
        for (as_nr, slot) in self.ases.iter().enumerate().skip(1) {
            let Some(vm) = &slot.vm else { continue };
            let status = self.hw.as_read(as_nr as u32, AsReg::FaultStatus);
            if status == 0 {
                continue;
            }
            // An unhandled fault: the VM can no longer be trusted (panthor
            // has no fault handler for user VMs).
            vm.lock().mark_unusable();
            self.hw.mmu_irq_clear(as_nr as u32);
            self.mmu_faults += 1;
            progress = true;
        }
        progress
    }

    /// Finished jobs, CS faults and timeouts of resident groups.
    fn collect(&mut self, now_ns: i64) -> bool {
        let mut progress = false;
        let mut faulted = Vec::new();
        for group in self.csgs.iter().flatten() {
            let mut g = group.lock();
            for qi in 0..g.queues.len() {
                if let Some(slot) = g.slot(qi) {
                    if self.hw.cs_status(slot).fatal.is_some() {
                        g.fatal_queues |= 1 << qi;
                    }
                }
                let Some(pa) = g.sync_pa(qi) else { continue };
                let seqno = self.hw.read_u64(pa);
                let q = &mut g.queues[qi];
                while q
                    .jobs
                    .front()
                    .is_some_and(|j| j.seqno.is_some_and(|s| s <= seqno))
                {
                    if let Some(job) = q.jobs.pop_front() {
                        job.done.signal(0);
                        q.progress_ns = now_ns;
                        progress = true;
                    }
                }
                if q.in_flight() != 0 && now_ns - q.progress_ns > JOB_TIMEOUT_NS {
                    g.timedout = true;
                }
            }
            let error = if g.timedout {
                FENCE_ETIMEDOUT
            } else if g.fatal_queues != 0 {
                FENCE_EFAULTED
            } else {
                continue;
            };
            // A dead group completes its jobs with the error and leaves the
            // hardware.
            g.cancel_all(error);
            drop(g);
            if faulted.try_reserve(1).is_ok() {
                faulted.push(group.clone());
            }
            progress = true;
        }
        for group in &faulted {
            self.evict(group);
        }
        progress
    }

    fn dispatch(&mut self, now_ns: i64) -> bool {
        let mut progress = false;
        // Higher priority first, then creation order.
        let mut order: Vec<(u8, usize)> = Vec::new();
        if order.try_reserve(self.groups.len()).is_err() {
            return false;
        }
        for (i, g) in self.groups.iter().enumerate() {
            order.push((g.lock().priority, i));
        }
        order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in order {
            let group = self.groups[i].clone();
            let ready = {
                let g = group.lock();
                g.can_run() && g.queues.iter().any(|q| first_ready(q).is_some())
            };
            if !ready {
                continue;
            }
            if group.lock().csg.is_none() && !self.make_resident(&group) {
                continue;
            }
            progress |= self.write_ready_jobs(&mut group.lock(), now_ns);
        }
        progress
    }

    /// Gives `group` a CSG slot and an address space; false when none can
    /// be freed now.
    fn make_resident(&mut self, group: &GroupRef) -> bool {
        let csg = match self.csgs.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                let idle = self
                    .csgs
                    .iter()
                    .flatten()
                    .find(|g| !g.lock().busy())
                    .cloned();
                let Some(idle) = idle else { return false };
                self.evict(&idle);
                match self.csgs.iter().position(Option::is_none) {
                    Some(i) => i,
                    None => return false,
                }
            }
        };
        let vm = group.lock().vm.clone();
        let as_nr = match self.address_space_for(&vm) {
            Some(a) => a,
            None => {
                // Every AS is held by resident groups: idle ones give theirs up.
                let mut idle: Vec<GroupRef> = Vec::new();
                if idle.try_reserve(self.csgs.len()).is_err() {
                    return false;
                }
                idle.extend(
                    self.csgs
                        .iter()
                        .flatten()
                        .filter(|g| !g.lock().busy())
                        .cloned(),
                );
                for g in &idle {
                    self.evict(g);
                }
                match self.address_space_for(&vm) {
                    Some(a) => a,
                    None => return false,
                }
            }
        };
        self.ases[as_nr].users += 1;
        self.csgs[csg] = Some(group.clone());
        let mut g = group.lock();
        g.csg = Some(csg as u32);
        for qi in 0..g.queues.len() {
            let Some(slot) = g.slot(qi) else { continue };
            let q = &mut g.queues[qi];
            q.insert = 0;
            self.hw.cs_bind(
                slot,
                CsRing {
                    as_nr: as_nr as u32,
                    base: q.ring_va,
                    size: q.ring_size,
                },
            );
        }
        true
    }

    /// The AS holding `vm`, or a free one (an idle VM loses its AS).
    fn address_space_for(&mut self, vm: &VmRef) -> Option<usize> {
        let id = vm.lock().id();
        if let Some(i) = (1..self.ases.len()).find(|&i| {
            self.ases[i]
                .vm
                .as_ref()
                .is_some_and(|v| v.lock().id() == id)
        }) {
            return Some(i);
        }
        let free = (1..self.ases.len())
            .find(|&i| self.ases[i].vm.is_none())
            .or_else(|| (1..self.ases.len()).find(|&i| self.ases[i].users == 0))?;
        if let Some(old) = self.ases[free].vm.take() {
            if let Err(e) = old.lock().deactivate() {
                kwarn!("AS{free}: deactivation failed: {e:?}");
            }
        }
        if let Err(e) = vm.lock().activate(free as u32) {
            kwarn!("AS{free}: activation failed: {e:?}");
            return None;
        }
        self.ases[free].vm = Some(vm.clone());
        Some(free)
    }

    /// Takes `group` off its CSG slot (its streams stop).
    fn evict(&mut self, group: &GroupRef) {
        let mut g = group.lock();
        let Some(csg) = g.csg.take() else { return };
        for qi in 0..g.queues.len() {
            self.hw.cs_unbind(crate::hw::CsSlot { csg, cs: qi as u32 });
            // Jobs still in the ring will never finish there.
            let q = &mut g.queues[qi];
            for job in q.jobs.iter_mut() {
                job.seqno = None;
            }
        }
        if let Some(slot) = self.csgs.get_mut(csg as usize) {
            *slot = None;
        }
        let id = g.vm.lock().id();
        drop(g);
        if let Some(a) = self
            .ases
            .iter_mut()
            .find(|a| a.vm.as_ref().is_some_and(|v| v.lock().id() == id))
        {
            a.users = a.users.saturating_sub(1);
        }
    }

    /// Writes every ready job (in queue order) into the rings of a
    /// resident group; true when any was written.
    fn write_ready_jobs(&self, g: &mut Group, now_ns: i64) -> bool {
        let mut progress = false;
        let scratch_reg = self.iface.cs_reg_count() - UNPRESERVED_REGS;
        for qi in 0..g.queues.len() {
            let Some(slot) = g.slot(qi) else { continue };
            let sync_addr = g.sync_va(qi);
            let q = &mut g.queues[qi];
            let mut wrote = false;
            while let Some(j) = first_ready(q) {
                let Some((stream_addr, stream_size)) = q.jobs[j].call else {
                    // Nothing to run: done with the job before it.
                    q.jobs[j].seqno = Some(q.last_seqno);
                    progress = true;
                    continue;
                };
                let in_flight = q.in_flight() as u64;
                if (in_flight + 1) * JOB_BYTES > q.ring_size as u64 {
                    break;
                }
                let words = RingJob {
                    stream_addr,
                    stream_size,
                    latest_flush: q.jobs[j].latest_flush,
                    sync_addr,
                    scratch_reg,
                }
                .encode();
                let base = q.insert % q.ring_size as u64;
                for (k, w) in words.iter().enumerate() {
                    if let Some((pa, _)) = q.ring.backing.lookup(base + 8 * k as u64) {
                        self.hw.write_u64(pa, *w);
                    }
                }
                q.insert += JOB_BYTES;
                q.last_seqno += 1;
                q.jobs[j].seqno = Some(q.last_seqno);
                wrote = true;
            }
            if wrote {
                q.progress_ns = now_ns;
                self.hw.cs_ring_doorbell(slot, q.insert);
                progress = true;
            }
        }
        progress
    }
}

/// The first job not yet in the ring, if its dependencies have signalled
/// (jobs run in order, so a waiting job holds back the ones behind it).
fn first_ready(q: &crate::group::Queue) -> Option<usize> {
    let j = q.jobs.iter().position(|j| j.seqno.is_none())?;
    q.jobs[j].deps.is_signaled().then_some(j)
}
