//! Ioctl arguments that carry user pointers in C, with the pointed-to
//! arrays as slices (shared by the [`crate::device::PanthorFile`] trait and
//! the kernel side, so dependency-free like [`crate::uapi`]).

use crate::errno::Errno;
use crate::uapi::*;

/// One operation of a VM_BIND, [`drm_panthor_vm_bind_op`] with its sync
/// array as a slice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmBindOp<'a> {
    pub flags: u32,
    pub bo_handle: u32,
    pub bo_offset: u64,
    pub va: u64,
    pub size: u64,
    /// Only allowed on asynchronous binds.
    pub syncs: &'a [drm_panthor_sync_op],
}

/// A failed VM_BIND: the errno, and for a synchronous bind how many ops were
/// applied before the failing one (the kernel writes it back to
/// `ops.count`; an implementation that applies all-or-nothing reports 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmBindError {
    pub errno: Errno,
    pub ops_done: u32,
}

impl From<VmBindError> for Errno {
    fn from(e: VmBindError) -> Errno {
        e.errno
    }
}

impl From<Errno> for VmBindError {
    fn from(errno: Errno) -> VmBindError {
        VmBindError { errno, ops_done: 0 }
    }
}

/// [`drm_panthor_group_create`] with its queue array as a slice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCreate<'a> {
    pub queues: &'a [drm_panthor_queue_create],
    pub max_compute_cores: u8,
    pub max_fragment_cores: u8,
    pub max_tiler_cores: u8,
    pub priority: u8,
    pub pad: u32,
    pub compute_core_mask: u64,
    pub fragment_core_mask: u64,
    pub tiler_core_mask: u64,
    pub vm_id: u32,
}

/// [`drm_panthor_queue_submit`] with its sync array as a slice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueSubmit<'a> {
    pub queue_index: u32,
    pub stream_size: u32,
    pub stream_addr: u64,
    pub latest_flush: u32,
    pub pad: u32,
    pub syncs: &'a [drm_panthor_sync_op],
}
