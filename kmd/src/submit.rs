//! The sync operations of a submission (GROUP_SUBMIT, asynchronous
//! VM_BIND), as panthor's `panthor_submit_ctx` handles them.
//!
//! Order matters and is the kernel's: first every SIGNAL op of every job is
//! looked up (an unknown syncobj is `EINVAL`), then job by job its WAIT ops
//! become dependencies (`ENOENT` for an unknown syncobj, `EINVAL` for one
//! with no fence at that point; a wait on a point an earlier job of the same
//! submission signals depends on that job), and the job's done fence
//! becomes the fence of the points it signals. Only when every job is
//! ready are the fences attached to the syncobjs, so a failed submission
//! changes no syncobj.

use alloc::vec::Vec;

use crate::fence::{Fence, FenceSet};
use crate::shim::try_push;
use crate::syncobj::{PointSlot, Syncobj, SyncobjRef, Syncobjs};
use crate::uapi::*;
use crate::Errno;

const SYNC_OP_FLAGS: u32 = DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK | DRM_PANTHOR_SYNC_OP_SIGNAL;

/// `panthor_check_sync_op`.
pub fn check_sync_op(op: &drm_panthor_sync_op) -> Result<(), Errno> {
    if op.flags & !SYNC_OP_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    match op.flags & DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK {
        DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ if op.timeline_value != 0 => Err(Errno::EINVAL),
        DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ
        | DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

fn is_signal(op: &drm_panthor_sync_op) -> bool {
    op.flags & DRM_PANTHOR_SYNC_OP_SIGNAL != 0
}

struct Signal {
    handle: u32,
    point: u64,
    syncobj: SyncobjRef,
    /// Memory for the timeline link (point > 0).
    slot: Option<PointSlot>,
    /// The fence the point will get: what it had, then the done fence of
    /// the last job of this submission that signals it.
    fence: Option<FenceSet>,
}

/// One submission's sync state.
pub struct SubmitCtx<'a> {
    syncobjs: &'a Syncobjs,
    signals: Vec<Signal>,
}

impl<'a> SubmitCtx<'a> {
    pub fn new(syncobjs: &'a Syncobjs) -> Self {
        SubmitCtx {
            syncobjs,
            signals: Vec::new(),
        }
    }

    /// Step 1, for every job: look up the syncobjs its SIGNAL ops name.
    pub fn collect_signals(&mut self, ops: &[drm_panthor_sync_op]) -> Result<(), Errno> {
        for op in ops.iter().filter(|op| is_signal(op)) {
            check_sync_op(op)?;
            if self.find(op.handle, op.timeline_value).is_some() {
                continue;
            }
            let syncobj = self.syncobjs.get(op.handle).ok_or(Errno::EINVAL)?;
            let slot = match op.timeline_value {
                0 => None,
                _ => Some(Syncobj::reserve()?),
            };
            let fence = self.syncobjs.find_fence(op.handle, op.timeline_value).ok();
            try_push(
                &mut self.signals,
                Signal {
                    handle: op.handle,
                    point: op.timeline_value,
                    syncobj,
                    slot,
                    fence,
                },
            )?;
        }
        Ok(())
    }

    fn find(&self, handle: u32, point: u64) -> Option<usize> {
        self.signals
            .iter()
            .position(|s| s.handle == handle && s.point == point)
    }

    /// Step 2, job by job: the job's dependencies from its WAIT ops.
    pub fn dependencies(&self, ops: &[drm_panthor_sync_op]) -> Result<FenceSet, Errno> {
        let mut deps = FenceSet::default();
        for op in ops.iter().filter(|op| !is_signal(op)) {
            check_sync_op(op)?;
            let fence = match self.find(op.handle, op.timeline_value) {
                // A wait on a point only this job signals: nothing to wait
                // for yet (Linux WARNs here; it is user input, not a bug).
                Some(i) => self.signals[i].fence.clone().ok_or(Errno::EINVAL)?,
                None => self.syncobjs.find_fence(op.handle, op.timeline_value)?,
            };
            deps.extend(&fence)?;
        }
        Ok(deps)
    }

    /// Step 3, after the job's dependencies: its done fence becomes the
    /// fence of the points it signals.
    pub fn job_done_fence(
        &mut self,
        ops: &[drm_panthor_sync_op],
        done: &Fence,
    ) -> Result<(), Errno> {
        for op in ops.iter().filter(|op| is_signal(op)) {
            let i = self
                .find(op.handle, op.timeline_value)
                .ok_or(Errno::EINVAL)?;
            self.signals[i].fence = Some(FenceSet::one(done.clone())?);
        }
        Ok(())
    }

    /// Step 4, when every job is queued: attach the fences. Cannot fail
    /// (space was reserved in step 1).
    pub fn push_fences(self) {
        for s in self.signals {
            let Some(fence) = s.fence else { continue };
            let mut obj = s.syncobj.lock();
            match s.slot {
                Some(slot) => obj.add_point(slot, s.point, fence),
                None => obj.replace(Some(fence)),
            }
        }
    }
}
