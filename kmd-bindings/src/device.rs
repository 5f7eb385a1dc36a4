//! [`PanthorFile`]: what a panthor kernel offers to one open file.
//!
//! One method per ioctl (the DRM core ioctls user space needs, then
//! panthor's), in the kernel's terms: handles are the kernel's `u32`s, errors
//! are [`Errno`]s, out-parameters come back as return values. Arguments that
//! carry user pointers in C (object arrays, query buffers, labels) are slices
//! here, so an implementation never dereferences a raw address; everything
//! else is the uAPI struct itself, pad fields included, so "pad must be zero"
//! rules stay testable. The ICD is written against this trait only; the real
//! backend (`real`) and the in-process virtual Mali implement it.

use std::ffi::CStr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::ptr::NonNull;

pub use crate::args::*;
use crate::errno::{Errno, Result};
use crate::uapi::*;

/// `DRM_IOCTL_VERSION`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrmVersion {
    pub major: i32,
    pub minor: i32,
    pub patchlevel: i32,
    pub name: String,
    pub date: String,
    pub desc: String,
}

impl DrmVersion {
    /// True when this is panthor at `minor` or newer. The virtual kernel
    /// device (`vpanthor`, kmd's core as a Linux module) speaks the same
    /// uAPI and counts as panthor.
    pub fn is_panthor_at_least(&self, minor: i32) -> bool {
        self.is_panthor() && self.major == version::MAJOR && self.minor >= minor
    }

    /// True for panthor and for the virtual kernel device.
    pub fn is_panthor(&self) -> bool {
        self.name == version::DRIVER_NAME || self.is_virtual_kernel_device()
    }

    /// True for `/dev/vpanthor` (kmd/module): the panthor uAPI for memory
    /// and VMs, answered by kmd's core inside a real kernel, no GPU.
    pub fn is_virtual_kernel_device(&self) -> bool {
        self.name == vpanthor::DRIVER_NAME
    }
}

bitflags::bitflags! {
    /// `DRM_SYNCOBJ_WAIT_FLAGS_*`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct SyncobjWaitFlags: u32 {
        /// Wait for all handles, not the first one.
        const WAIT_ALL = 1 << 0;
        /// Wait for a fence to be attached before waiting on it (else an
        /// unsubmitted point is `EINVAL`).
        const WAIT_FOR_SUBMIT = 1 << 1;
        /// Timeline only: wait for the point to be submitted, not signalled.
        const WAIT_AVAILABLE = 1 << 2;
    }
}

/// `DRM_SYNCOBJ_CREATE_SIGNALED`.
pub const DRM_SYNCOBJ_CREATE_SIGNALED: u32 = 1 << 0;
/// `DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED`.
pub const DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED: u32 = 1 << 0;
/// `DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE`.
pub const DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE: u32 = 1 << 0;
/// `DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE`.
pub const DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE: u32 = 1 << 0;
/// `DRM_CLOEXEC` (= `O_CLOEXEC`), for PRIME exports.
pub const DRM_CLOEXEC: u32 = 0o2000000;
/// `DRM_RDWR` (= `O_RDWR`), for PRIME exports.
pub const DRM_RDWR: u32 = 0o2;

/// A wait timeout for the syncobj waits: an absolute `CLOCK_MONOTONIC` time
/// in nanoseconds, as the DRM ioctls take it.
pub type AbsTimeoutNs = i64;

/// `CLOCK_MONOTONIC` now, in nanoseconds: the clock [`AbsTimeoutNs`]
/// deadlines are measured on.
pub fn monotonic_ns() -> AbsTimeoutNs {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// `clock` (a `CLOCK_*` id) now, in nanoseconds.
pub fn clock_ns(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec to a pointer we own.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// Something that keeps a CPU mapping alive and unmaps it when dropped.
pub trait MappingOwner: Send + Sync {}

/// A CPU mapping of (part of) a BO, from `mmap` at a `BO_MMAP_OFFSET`
/// offset. Unmapped when dropped.
pub struct CpuMapping {
    ptr: NonNull<u8>,
    len: usize,
    _owner: Box<dyn MappingOwner>,
}

// SAFETY: the mapping is plain shared memory (like any mmap of a GEM object);
// the owner that unmaps it is itself Send + Sync.
unsafe impl Send for CpuMapping {}
// SAFETY: as above; concurrent access to the bytes is the user's to order,
// exactly as for GPU-shared memory.
unsafe impl Sync for CpuMapping {}

impl CpuMapping {
    /// Wraps `len` bytes at `ptr`, kept mapped as long as `owner` lives.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be readable and writable memory that stays mapped
    /// until `owner` is dropped.
    pub unsafe fn new(ptr: NonNull<u8>, len: usize, owner: Box<dyn MappingOwner>) -> Self {
        Self {
            ptr,
            len,
            _owner: owner,
        }
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `out.len()` bytes from `offset` (the GPU may be writing: this
    /// is a volatile-free plain copy, ordered by the caller's fences).
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result<()> {
        let end = offset.checked_add(out.len()).ok_or(Errno::EINVAL)?;
        if end > self.len {
            return Err(Errno::EINVAL);
        }
        // SAFETY: offset..end is inside the mapping (checked above), which is
        // valid for reads while self lives; `out` cannot overlap a mapping we own.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(offset),
                out.as_mut_ptr(),
                out.len(),
            )
        };
        Ok(())
    }

    /// Copies `data` to `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<()> {
        let end = offset.checked_add(data.len()).ok_or(Errno::EINVAL)?;
        if end > self.len {
            return Err(Errno::EINVAL);
        }
        // SAFETY: offset..end is inside the mapping (checked above), which is
        // valid for writes while self lives.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.as_ptr().add(offset), data.len())
        };
        Ok(())
    }
}

impl std::fmt::Debug for CpuMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuMapping")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .finish()
    }
}

/// What a panthor kernel offers to one open file (`/dev/dri/renderD*`).
///
/// Every method is one ioctl (or `mmap`) with the kernel's semantics: the same
/// input gives the same result and the same errno on every implementation.
/// An error changes nothing observable unless the method says otherwise.
pub trait PanthorFile: Send + Sync {
    // ----- DRM core -----------------------------------------------------

    /// `DRM_IOCTL_VERSION`: driver name and uAPI version.
    fn version(&self) -> Result<DrmVersion>;

    /// `DRM_IOCTL_GEM_CLOSE`: drops this file's handle to a BO (mappings in
    /// VMs keep the BO alive). `EINVAL` for an unknown handle or non-zero pad.
    fn gem_close(&self, handle: u32) -> Result<()>;

    /// `DRM_IOCTL_PRIME_HANDLE_TO_FD`: exports a BO as a dma-buf.
    /// `flags` may hold [`DRM_CLOEXEC`] | [`DRM_RDWR`], else `EINVAL`;
    /// `ENOENT` for an unknown handle.
    fn prime_handle_to_fd(&self, handle: u32, flags: u32) -> Result<OwnedFd>;

    /// `DRM_IOCTL_PRIME_FD_TO_HANDLE`: imports a dma-buf (returns the
    /// existing handle when it is one of ours).
    fn prime_fd_to_handle(&self, fd: BorrowedFd<'_>) -> Result<u32>;

    /// `DRM_IOCTL_SYNCOBJ_CREATE`. `flags`: [`DRM_SYNCOBJ_CREATE_SIGNALED`]
    /// or 0, else `EINVAL`.
    fn syncobj_create(&self, flags: u32) -> Result<u32>;

    /// `DRM_IOCTL_SYNCOBJ_DESTROY`. `EINVAL` for an unknown handle.
    fn syncobj_destroy(&self, handle: u32) -> Result<()>;

    /// `DRM_IOCTL_SYNCOBJ_WAIT` on binary syncobjs. Returns the index of the
    /// first signalled handle (0 at once for an empty list, as Linux 6.12
    /// does). `EINVAL` for unknown flags, `ENOENT` for an unknown handle, `EINVAL` for a syncobj with no fence
    /// without `WAIT_FOR_SUBMIT`, `ETIME` when the timeout passes.
    fn syncobj_wait(
        &self,
        handles: &[u32],
        timeout: AbsTimeoutNs,
        flags: SyncobjWaitFlags,
    ) -> Result<u32>;

    /// `DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT`: like [`Self::syncobj_wait`] for
    /// the given points (`points.len() == handles.len()`, else `EINVAL`).
    fn syncobj_timeline_wait(
        &self,
        handles: &[u32],
        points: &[u64],
        timeout: AbsTimeoutNs,
        flags: SyncobjWaitFlags,
    ) -> Result<u32>;

    /// `DRM_IOCTL_SYNCOBJ_RESET`: removes the fences. `ENOENT` for an
    /// unknown handle (and then nothing is reset).
    fn syncobj_reset(&self, handles: &[u32]) -> Result<()>;

    /// `DRM_IOCTL_SYNCOBJ_SIGNAL`: attaches a signalled fence.
    fn syncobj_signal(&self, handles: &[u32]) -> Result<()>;

    /// `DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL`: signals the given points.
    fn syncobj_timeline_signal(&self, handles: &[u32], points: &[u64]) -> Result<()>;

    /// `DRM_IOCTL_SYNCOBJ_QUERY`: the last signalled point of each handle
    /// (or the last submitted one with
    /// [`DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED`]) into `points`.
    fn syncobj_query(&self, handles: &[u32], points: &mut [u64], flags: u32) -> Result<()>;

    /// `DRM_IOCTL_SYNCOBJ_TRANSFER`: copies the fence at `src_point` of `src`
    /// to `dst_point` of `dst` (point 0: binary syncobj). `flags` may hold
    /// `WAIT_FOR_SUBMIT`'s bit only.
    fn syncobj_transfer(
        &self,
        src: u32,
        src_point: u64,
        dst: u32,
        dst_point: u64,
        flags: u32,
    ) -> Result<()>;

    /// `DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD`: exports a syncobj (or its fence as a
    /// sync_file with [`DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE`]).
    fn syncobj_handle_to_fd(&self, handle: u32, flags: u32) -> Result<OwnedFd>;

    /// `DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE`: imports a syncobj fd (or a sync_file
    /// into an existing syncobj `handle` with
    /// [`DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE`]; otherwise
    /// `handle` is ignored). Returns the handle.
    fn syncobj_fd_to_handle(&self, fd: BorrowedFd<'_>, flags: u32, handle: u32) -> Result<u32>;

    // ----- panthor ------------------------------------------------------

    /// `DRM_IOCTL_PANTHOR_DEV_QUERY`. With `out == None` returns the size of
    /// the queried object; otherwise copies `min(out.len(), size)` bytes and
    /// returns that count (bytes past the object are zeroed). `EINVAL` for
    /// an unknown type or a buffer shorter than the object's first version.
    fn dev_query(&self, ty: u32, out: Option<&mut [u8]>) -> Result<u32>;

    /// `DRM_IOCTL_PANTHOR_VM_CREATE`: fills `id` and `user_va_range`.
    /// `EINVAL` for non-zero flags or a `user_va_range` the MMU cannot hold.
    fn vm_create(&self, args: &mut drm_panthor_vm_create) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_VM_DESTROY`. `EINVAL` for non-zero pad or an
    /// unknown id.
    fn vm_destroy(&self, args: &drm_panthor_vm_destroy) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_VM_BIND`. `flags`: [`DRM_PANTHOR_VM_BIND_ASYNC`]
    /// or 0. Per op, `EINVAL` when: va/size/bo_offset are not page aligned;
    /// the range leaves the user VA; a MAP's BO range is outside the BO or
    /// the BO is exclusive to another VM; flags hold unknown bits or
    /// map-only bits on an UNMAP; a sparse MAP lacks NOEXEC or has a BO
    /// handle or offset; a synchronous bind carries syncs; SYNC_ONLY is not
    /// async. `EINVAL` for an unknown BO handle (panthor looks the handle up and refuses a missing BO as any other bad MAP).
    fn vm_bind(
        &self,
        vm_id: u32,
        flags: u32,
        ops: &[VmBindOp<'_>],
    ) -> std::result::Result<(), VmBindError>;

    /// `DRM_IOCTL_PANTHOR_VM_GET_STATE`: fills `state`. `EINVAL` for an
    /// unknown VM.
    fn vm_get_state(&self, args: &mut drm_panthor_vm_get_state) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_BO_CREATE`: fills `handle` and the rounded `size`.
    /// `EINVAL` for size 0, non-zero pad, unknown flags, or an unknown
    /// exclusive VM.
    fn bo_create(&self, args: &mut drm_panthor_bo_create) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET`: fills `offset`. `EINVAL` for
    /// non-zero pad, `ENOENT` for an unknown handle, `EPERM` for a
    /// `NO_MMAP` BO.
    fn bo_mmap_offset(&self, args: &mut drm_panthor_bo_mmap_offset) -> Result<()>;

    /// `mmap(2)` of this file at an offset from [`Self::bo_mmap_offset`],
    /// shared, read-write. `EINVAL` for an offset that names no BO or a
    /// length past its end.
    fn mmap(&self, offset: u64, len: usize) -> Result<CpuMapping>;

    /// `DRM_IOCTL_PANTHOR_GROUP_CREATE`: returns the group handle. `EINVAL`
    /// for 0 or more than 32 queues, bad ring sizes or priorities, core masks
    /// naming absent cores, an unknown VM; `EACCES` for a priority above
    /// MEDIUM without privilege.
    fn group_create(&self, args: &GroupCreate<'_>) -> Result<u32>;

    /// `DRM_IOCTL_PANTHOR_GROUP_DESTROY`. `EINVAL` for non-zero pad or an
    /// unknown handle.
    fn group_destroy(&self, args: &drm_panthor_group_destroy) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_GROUP_SUBMIT`: queues the streams (all or none).
    /// `EINVAL` for non-zero pads, an unknown group or queue, a stream not
    /// 64-byte aligned or not a multiple of 8 bytes; `ENOENT` for an unknown
    /// syncobj.
    fn group_submit(&self, group_handle: u32, pad: u32, submits: &[QueueSubmit<'_>]) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_GROUP_GET_STATE`: fills `state` and `fatal_queues`.
    fn group_get_state(&self, args: &mut drm_panthor_group_get_state) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE`: fills the handle and GPU VAs.
    fn tiler_heap_create(&self, args: &mut drm_panthor_tiler_heap_create) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY`.
    fn tiler_heap_destroy(&self, args: &drm_panthor_tiler_heap_destroy) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_BO_SET_LABEL` (driver 1.4): `None` clears it.
    fn bo_set_label(&self, handle: u32, label: Option<&CStr>) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET` (driver 1.5).
    fn set_user_mmio_offset(&self, args: &drm_panthor_set_user_mmio_offset) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_BO_SYNC` (driver 1.7): CPU cache maintenance on BO
    /// ranges.
    fn bo_sync(&self, ops: &[drm_panthor_bo_sync_op]) -> Result<()>;

    /// `DRM_IOCTL_PANTHOR_BO_QUERY_INFO` (driver 1.7).
    fn bo_query_info(&self, args: &mut drm_panthor_bo_query_info) -> Result<()>;

    // ----- the virtual kernel device -------------------------------------

    /// `/dev/vpanthor`'s VM_ACCESS (kmd/module): reads `buf.len()` bytes at
    /// GPU VA `va` of VM `vm_id` into `buf` (`write == false`), or writes
    /// `buf` there, through the VM's page tables with the kernel side's
    /// software walker; ENXIO where nothing is mapped. It stands in for
    /// GPU accesses on that device, which has no groups. Panthor has no
    /// such ioctl: ENOTTY, as for any unknown ioctl.
    fn vpanthor_vm_access(&self, vm_id: u32, va: u64, buf: &mut [u8], write: bool) -> Result<()> {
        let _ = (vm_id, va, buf, write);
        Err(Errno::ENOTTY)
    }

    // ----- typed conveniences over the ioctls above --------------------

    /// `DEV_QUERY(GPU_INFO)`.
    fn gpu_info(&self) -> Result<drm_panthor_gpu_info> {
        query_object(self, DRM_PANTHOR_DEV_QUERY_GPU_INFO)
    }

    /// `DEV_QUERY(CSIF_INFO)`.
    fn csif_info(&self) -> Result<drm_panthor_csif_info> {
        query_object(self, DRM_PANTHOR_DEV_QUERY_CSIF_INFO)
    }

    /// `DEV_QUERY(TIMESTAMP_INFO)` (driver 1.1).
    fn timestamp_info(&self) -> Result<drm_panthor_timestamp_info> {
        query_object(self, DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO)
    }

    /// `DEV_QUERY(TIMESTAMP_INFO)` sampling what `flags` names
    /// (`DRM_PANTHOR_TIMESTAMP_*`, driver 1.8; older kernels ignore it and
    /// answer as [`PanthorFile::timestamp_info`]).
    fn timestamp_sample(&self, flags: u32) -> Result<drm_panthor_timestamp_info> {
        let asked = drm_panthor_timestamp_info {
            flags,
            ..Default::default()
        };
        query_object_from(self, DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, asked)
    }

    /// `DEV_QUERY(MMU_INFO)` (driver 1.9).
    fn mmu_info(&self) -> Result<drm_panthor_mmu_info> {
        query_object(self, DRM_PANTHOR_DEV_QUERY_MMU_INFO)
    }
}

/// Marker for the plain-old-data uAPI objects [`PanthorFile::dev_query`]
/// copies into.
///
/// # Safety
/// Every bit pattern must be a valid value (only integer fields).
pub unsafe trait QueryObject: Copy + Default {}
// SAFETY: integer-only repr(C) struct.
unsafe impl QueryObject for drm_panthor_gpu_info {}
// SAFETY: integer-only repr(C) struct.
unsafe impl QueryObject for drm_panthor_csif_info {}
// SAFETY: integer-only repr(C) struct.
unsafe impl QueryObject for drm_panthor_timestamp_info {}
// SAFETY: integer-only repr(C) struct.
unsafe impl QueryObject for drm_panthor_group_priorities_info {}
// SAFETY: integer-only repr(C) struct.
unsafe impl QueryObject for drm_panthor_mmu_info {}

/// Runs a DEV_QUERY into a `T` (fields the kernel does not know stay zero).
pub fn query_object<T: QueryObject, F: PanthorFile + ?Sized>(file: &F, ty: u32) -> Result<T> {
    query_object_from(file, ty, T::default())
}

/// Runs a DEV_QUERY into `value`, whose input fields (TIMESTAMP_INFO's
/// `flags`) the caller has set.
pub fn query_object_from<T: QueryObject, F: PanthorFile + ?Sized>(
    file: &F,
    ty: u32,
    mut value: T,
) -> Result<T> {
    // SAFETY: T is plain integers (QueryObject), so any bytes written are a
    // valid T; the slice covers exactly the value and lives no longer.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(&mut value as *mut T as *mut u8, std::mem::size_of::<T>())
    };
    file.dev_query(ty, Some(bytes))?;
    Ok(value)
}
