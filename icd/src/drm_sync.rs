//! The kernel's synchronisation vocabulary as the driver uses it:
//! `drm_panthor_sync_op`s for waits and signals on syncobjs, and absolute
//! `CLOCK_MONOTONIC` deadlines from Vulkan's relative timeouts.

use panthor_uapi::device::monotonic_ns;
use panthor_uapi::uapi::*;

/// A syncobj wait or signal, binary or at a timeline point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncPoint {
    pub syncobj: u32,
    /// `None` for a binary syncobj.
    pub point: Option<u64>,
}

impl SyncPoint {
    pub fn binary(syncobj: u32) -> SyncPoint {
        SyncPoint {
            syncobj,
            point: None,
        }
    }

    pub fn timeline(syncobj: u32, point: u64) -> SyncPoint {
        SyncPoint {
            syncobj,
            point: Some(point),
        }
    }

    fn op(self, dir: u32) -> drm_panthor_sync_op {
        let ty = match self.point {
            None => DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ,
            Some(_) => DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ,
        };
        drm_panthor_sync_op {
            flags: ty | dir,
            handle: self.syncobj,
            timeline_value: self.point.unwrap_or(0),
        }
    }

    pub fn wait_op(self) -> drm_panthor_sync_op {
        self.op(DRM_PANTHOR_SYNC_OP_WAIT)
    }

    pub fn signal_op(self) -> drm_panthor_sync_op {
        self.op(DRM_PANTHOR_SYNC_OP_SIGNAL)
    }
}

/// The absolute deadline of a Vulkan timeout (`u64::MAX` waits forever).
pub fn deadline(timeout_ns: u64) -> i64 {
    let rel = i64::try_from(timeout_ns).unwrap_or(i64::MAX);
    monotonic_ns().saturating_add(rel)
}
