//! One open file of the device: the ioctl entry points.
//!
//! Each method is one ioctl with panthor's checks and errnos, over the
//! per-file tables (GEM handles, VMs, syncobjs, groups) and the device's
//! scheduler. Every check that can fail runs before anything changes, so a
//! refused call leaves everything as it was. Locks are taken in the order
//! scheduler, group, VM, and the file's tables one at a time.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::args::{GroupCreate, QueueSubmit, VmBindError, VmBindOp};
use crate::bo::BoRef;
use crate::device::Device;
use crate::fence::Fence;
use crate::gem::Handles;
use crate::group::{Group, GroupArgs, GroupPool, Job};
use crate::sched::BindJob;
use crate::shim::{try_push, Lock, Shared};
use crate::submit::SubmitCtx;
use crate::syncobj::Syncobjs;
use crate::uapi::*;
use crate::vm::{BindOp, RawOp};
use crate::vm_pool::VmPool;
use crate::Errno;

/// `MAX_CS_PER_CSG`: queues per group.
const MAX_QUEUES_PER_GROUP: usize = 32;

/// `latest_flush` bits that must be zero (`GENMASK(30, 24)`).
const LATEST_FLUSH_RESERVED: u32 = 0x7f00_0000;

/// One open file.
pub struct File {
    dev: Arc<Device>,
    gem: Lock<Handles>,
    vms: Lock<VmPool>,
    syncobjs: Syncobjs,
    groups: Lock<GroupPool>,
}

impl File {
    /// Opens the device. `task_size` is the user address-space size of the
    /// opening process (the default user VA range of its VMs is capped by
    /// it).
    pub fn open(dev: Arc<Device>, task_size: u64) -> Result<File, Errno> {
        let vms = VmPool::new(dev.hw.clone(), dev.va_bits, task_size, dev.layout)?;
        Ok(File {
            gem: Lock::new(Handles::new(dev.hw.clone())),
            vms: Lock::new(vms),
            syncobjs: Syncobjs::new(),
            groups: Lock::new(GroupPool::default()),
            dev,
        })
    }

    pub fn device(&self) -> &Arc<Device> {
        &self.dev
    }

    pub fn syncobjs(&self) -> &Syncobjs {
        &self.syncobjs
    }

    /// The file's sparse dummy BO.
    pub fn dummy(&self) -> BoRef {
        self.vms.lock().dummy().clone()
    }

    // ----- GEM ----------------------------------------------------------

    pub fn bo_create(&self, args: &mut drm_panthor_bo_create) -> Result<(), Errno> {
        let vms = self.vms.lock();
        self.gem.lock().bo_create(&vms, args)
    }

    pub fn gem_close(&self, handle: u32) -> Result<(), Errno> {
        self.gem.lock().close(handle)
    }

    pub fn bo_mmap_offset(&self, args: &mut drm_panthor_bo_mmap_offset) -> Result<(), Errno> {
        self.gem.lock().mmap_offset(args)
    }

    /// The BO and byte offset `mmap(offset, len)` maps.
    pub fn mmap_target(&self, offset: u64, len: u64) -> Result<(BoRef, u64), Errno> {
        self.gem.lock().mmap_target(offset, len)
    }

    /// The BO behind a handle.
    pub fn bo(&self, handle: u32) -> Option<BoRef> {
        self.gem.lock().lookup(handle)
    }

    /// The handle of an imported BO (PRIME_FD_TO_HANDLE once the dma-buf is
    /// resolved to `bo`): the handle this file already has for it, else a
    /// new one (`drm_gem_prime_fd_to_handle`: the prime cache answers for
    /// a BO this file exported or imported before, otherwise
    /// `drm_gem_handle_create_tail`). One lock, so two racing imports get
    /// the same handle.
    pub fn gem_import(&self, bo: BoRef) -> Result<u32, Errno> {
        let mut gem = self.gem.lock();
        match gem.handle_of(&bo) {
            Some(handle) => Ok(handle),
            None => gem.insert(bo),
        }
    }

    // ----- VMs ----------------------------------------------------------

    pub fn vm_create(&self, args: &mut drm_panthor_vm_create) -> Result<(), Errno> {
        if args.flags != 0 {
            return Err(Errno::EINVAL);
        }
        self.vms.lock().create(args)
    }

    pub fn vm_destroy(&self, args: &drm_panthor_vm_destroy) -> Result<(), Errno> {
        if args.pad != 0 {
            return Err(Errno::EINVAL);
        }
        self.vms.lock().destroy(args.id)
    }

    pub fn vm_get_state(&self, args: &mut drm_panthor_vm_get_state) -> Result<(), Errno> {
        let vm = self.vms.lock().get(args.vm_id).ok_or(Errno::EINVAL)?;
        args.state = if vm.lock().is_unusable() {
            DRM_PANTHOR_VM_STATE_UNUSABLE
        } else {
            DRM_PANTHOR_VM_STATE_USABLE
        };
        Ok(())
    }

    /// The VM with this id (tests and the in-process device's helpers).
    pub fn vm(&self, id: u32) -> Option<crate::vm_pool::VmRef> {
        self.vms.lock().get(id)
    }

    /// VM_BIND. Synchronous binds apply all ops or none. Asynchronous ones
    /// are checked now (errors are returned and nothing is queued), then run
    /// in order on the scheduler once their WAIT syncs signal; each op is one
    /// job whose done fence its SIGNAL syncs get.
    pub fn vm_bind(&self, vm_id: u32, flags: u32, ops: &[VmBindOp<'_>]) -> Result<(), VmBindError> {
        if flags & !DRM_PANTHOR_VM_BIND_ASYNC != 0 {
            return Err(Errno::EINVAL.into());
        }
        let asynchronous = flags & DRM_PANTHOR_VM_BIND_ASYNC != 0;
        let vm = self.vms.lock().get(vm_id).ok_or(Errno::EINVAL)?;
        let bos = self.lookup_bos(ops)?;
        let mut checked: Vec<Option<BindOp>> = Vec::new();
        crate::shim::try_reserve(&mut checked, ops.len()).map_err(Errno::from)?;
        {
            let vm = vm.lock();
            for (op, bo) in ops.iter().zip(&bos) {
                let raw = RawOp {
                    flags: op.flags,
                    bo_handle: op.bo_handle,
                    bo: bo.as_ref(),
                    bo_offset: op.bo_offset,
                    va: op.va,
                    size: op.size,
                    sync_count: op.syncs.len() as u32,
                };
                checked.push(vm.check_op(&raw, asynchronous)?);
            }
        }
        if !asynchronous {
            let ops: Vec<BindOp> = checked.into_iter().flatten().collect();
            return vm.lock().bind(&ops).map_err(|e| VmBindError {
                errno: e.errno,
                ops_done: e.ops_done,
            });
        }
        self.vm_bind_async(&vm, ops, checked).map_err(Into::into)
    }

    fn lookup_bos(&self, ops: &[VmBindOp<'_>]) -> Result<Vec<Option<BoRef>>, Errno> {
        let gem = self.gem.lock();
        let mut bos = Vec::new();
        crate::shim::try_reserve(&mut bos, ops.len())?;
        for op in ops {
            bos.push(match op.bo_handle {
                0 => None,
                h => gem.lookup(h),
            });
        }
        Ok(bos)
    }

    fn vm_bind_async(
        &self,
        vm: &crate::vm_pool::VmRef,
        ops: &[VmBindOp<'_>],
        checked: Vec<Option<BindOp>>,
    ) -> Result<(), Errno> {
        let mut ctx = SubmitCtx::new(&self.syncobjs);
        for op in ops {
            ctx.collect_signals(op.syncs)?;
        }
        let mut jobs = Vec::new();
        crate::shim::try_reserve(&mut jobs, ops.len())?;
        for (op, bind) in ops.iter().zip(checked) {
            let deps = ctx.dependencies(op.syncs)?;
            let done = Fence::pending()?;
            ctx.job_done_fence(op.syncs, &done)?;
            let mut bind_ops = Vec::new();
            if let Some(b) = bind {
                try_push(&mut bind_ops, b)?;
            }
            jobs.push(BindJob {
                vm: vm.clone(),
                ops: bind_ops,
                deps,
                done,
            });
        }
        {
            let mut sched = self.dev.sched.lock();
            sched.reserve_bind_jobs(jobs.len())?;
            for job in jobs {
                sched.push_bind(job);
            }
            sched.run_bind_jobs();
        }
        ctx.push_fences();
        self.dev.waiter.wake_all();
        Ok(())
    }

    // ----- groups -------------------------------------------------------

    pub fn group_create(&self, args: &GroupCreate<'_>) -> Result<u32, Errno> {
        if args.queues.is_empty() || args.queues.len() > MAX_QUEUES_PER_GROUP {
            return Err(Errno::EINVAL);
        }
        // group_priority_permit: HIGH and REALTIME need CAP_SYS_NICE or
        // DRM master, which an in-process client never has.
        match args.priority {
            p if p > PANTHOR_GROUP_PRIORITY_REALTIME => return Err(Errno::EINVAL),
            p if p > PANTHOR_GROUP_PRIORITY_MEDIUM => return Err(Errno::EACCES),
            _ => {}
        }
        let vm = self.vms.lock().get(args.vm_id);
        let info = &self.dev.gpu_info;
        let group_args = GroupArgs {
            queues: args.queues,
            max_compute_cores: args.max_compute_cores,
            max_fragment_cores: args.max_fragment_cores,
            max_tiler_cores: args.max_tiler_cores,
            priority: args.priority,
            pad: args.pad,
            compute_core_mask: args.compute_core_mask,
            fragment_core_mask: args.fragment_core_mask,
            tiler_core_mask: args.tiler_core_mask,
        };
        group_args.check(
            info.shader_present,
            info.tiler_present,
            self.dev.csif_info.cs_slot_count,
        )?;
        let vm = vm.ok_or(Errno::EINVAL)?;
        // From here on a failure drops the group, which unmaps its kernel
        // BOs again.
        let group = Shared::try_new(Lock::new(Group::create(&self.dev.hw, vm, &group_args)?))?;
        let mut sched = self.dev.sched.lock();
        sched.reserve_group()?;
        let handle = self.groups.lock().insert(group.clone())?;
        sched.add_group(group);
        Ok(handle)
    }

    /// The group behind a handle (tests and the in-process device).
    pub fn group(&self, handle: u32) -> Option<crate::group::GroupRef> {
        self.groups.lock().get(handle)
    }

    pub fn group_destroy(&self, args: &drm_panthor_group_destroy) -> Result<(), Errno> {
        if args.pad != 0 {
            return Err(Errno::EINVAL);
        }
        let mut sched = self.dev.sched.lock();
        let group = self
            .groups
            .lock()
            .remove(args.group_handle)
            .ok_or(Errno::EINVAL)?;
        sched.destroy_group(&group);
        drop(sched);
        self.dev.waiter.wake_all();
        Ok(())
    }

    pub fn group_get_state(&self, args: &mut drm_panthor_group_get_state) -> Result<(), Errno> {
        if args.pad != 0 {
            return Err(Errno::EINVAL);
        }
        let group = self
            .groups
            .lock()
            .get(args.group_handle)
            .ok_or(Errno::EINVAL)?;
        let g = group.lock();
        // panthor clears the whole struct, handle included, before filling.
        *args = drm_panthor_group_get_state {
            state: g.state_flags(),
            fatal_queues: g.fatal_queues,
            ..Default::default()
        };
        Ok(())
    }

    /// GROUP_SUBMIT: all jobs are queued, or none.
    pub fn group_submit(
        &self,
        group_handle: u32,
        pad: u32,
        submits: &[QueueSubmit<'_>],
    ) -> Result<(), Errno> {
        if pad != 0 {
            return Err(Errno::EINVAL);
        }
        let group = self.groups.lock().get(group_handle).ok_or(Errno::EINVAL)?;
        {
            let g = group.lock();
            for s in submits {
                check_submit(s)?;
                if !g.can_run() || s.queue_index as usize >= g.queues.len() {
                    return Err(Errno::EINVAL);
                }
            }
        }
        let mut ctx = SubmitCtx::new(&self.syncobjs);
        for s in submits {
            ctx.collect_signals(s.syncs)?;
        }
        let mut jobs = Vec::new();
        crate::shim::try_reserve(&mut jobs, submits.len())?;
        for s in submits {
            let deps = ctx.dependencies(s.syncs)?;
            let done = Fence::pending()?;
            ctx.job_done_fence(s.syncs, &done)?;
            jobs.push((
                s.queue_index as usize,
                Job {
                    deps,
                    call: (s.stream_size != 0).then_some((s.stream_addr, s.stream_size)),
                    latest_flush: s.latest_flush,
                    done,
                    seqno: None,
                },
            ));
        }
        {
            let _sched = self.dev.sched.lock();
            let mut g = group.lock();
            for (q, _) in &jobs {
                g.queues[*q]
                    .jobs
                    .try_reserve(jobs.len())
                    .map_err(|_| Errno::ENOMEM)?;
            }
            // The group may have died since the checks above: its new jobs
            // complete at once with -ECANCELED, as panthor's run_job does.
            let can_run = g.can_run();
            for (q, job) in jobs {
                if can_run {
                    g.queues[q].jobs.push_back(job);
                } else {
                    job.done.signal(crate::group::FENCE_ECANCELED);
                }
            }
        }
        ctx.push_fences();
        self.dev.waiter.wake_all();
        Ok(())
    }

    // ----- file close ---------------------------------------------------

    /// Closes the file: its groups are destroyed (their jobs cancelled);
    /// VMs and BOs go away with their last reference.
    pub fn close(&self) {
        let groups = self.groups.lock().drain();
        if groups.is_empty() {
            return;
        }
        let mut sched = self.dev.sched.lock();
        for g in &groups {
            sched.destroy_group(g);
        }
        drop(sched);
        self.dev.waiter.wake_all();
    }
}

impl Drop for File {
    fn drop(&mut self) {
        self.close();
    }
}

/// `panthor_job_create`'s checks of one queue submit.
fn check_submit(s: &QueueSubmit<'_>) -> Result<(), Errno> {
    if s.pad != 0
        || (s.stream_size == 0) != (s.stream_addr == 0)
        || s.stream_addr & 63 != 0
        || s.stream_size & 7 != 0
        || s.latest_flush & LATEST_FLUSH_RESERVED != 0
    {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
