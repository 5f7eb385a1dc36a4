// SPDX-License-Identifier: MIT

//! The DRM core syncobj ioctls of `/dev/vpanthor`: CREATE, DESTROY, WAIT,
//! RESET, SIGNAL, TIMELINE_WAIT, QUERY, TRANSFER and TIMELINE_SIGNAL, with
//! drm_syncobj.c's argument checks in its order (pad/flags, then a zero
//! count, then the user arrays, then unknown handles), in front of kmd's
//! [`Syncobjs`] exactly as the in-process device calls it. The fd ioctls
//! (HANDLE_TO_FD, FD_TO_HANDLE) and EVENTFD stay ENOTTY.
//!
//! Waits sleep on the device's [`KernelWaiter`](crate::khw::KernelWaiter)
//! through [`Interruptible`], which ends a sleep when a signal is pending
//! and then fails the ioctl with ERESTARTSYS, as
//! drm_syncobj_array_wait_timeout does: no wait outlives a kill.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::ffi::{self, Pod};
use crate::file::File;
use crate::shim;
use crate::syncobj::{Syncobjs, QUERY_LAST_SUBMITTED, WAIT_ALL, WAIT_AVAILABLE};
use crate::syncobj::{WAIT_DEADLINE, WAIT_FOR_SUBMIT};
use crate::wait::Waiter;
use crate::Errno;

/// `ERESTARTSYS`: the kernel-internal "interrupted, restart the syscall".
/// Only returned with a signal pending, so the signal code turns it into a
/// restart or EINTR before user space sees it.
const ERESTARTSYS: Errno = Errno(512);

/// DRM core request numbers (`_IOC_NR`) of the syncobj ioctls answered.
pub const NR_CREATE: u32 = 0xbf;
pub const NR_DESTROY: u32 = 0xc0;
pub const NR_WAIT: u32 = 0xc3;
pub const NR_RESET: u32 = 0xc4;
pub const NR_SIGNAL: u32 = 0xc5;
pub const NR_TIMELINE_WAIT: u32 = 0xca;
pub const NR_QUERY: u32 = 0xcb;
pub const NR_TRANSFER: u32 = 0xcc;
pub const NR_TIMELINE_SIGNAL: u32 = 0xcd;

/// `struct drm_syncobj_create`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct DrmSyncobjCreate {
    pub handle: u32,
    pub flags: u32,
}

/// `struct drm_syncobj_destroy`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct DrmSyncobjDestroy {
    pub handle: u32,
    pub pad: u32,
}

/// `struct drm_syncobj_transfer`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct DrmSyncobjTransfer {
    pub src_handle: u32,
    pub dst_handle: u32,
    pub src_point: u64,
    pub dst_point: u64,
    pub flags: u32,
    pub pad: u32,
}

/// `struct drm_syncobj_wait` (Linux 6.12, with `deadline_nsec`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct DrmSyncobjWait {
    pub handles: u64,
    pub timeout_nsec: i64,
    pub count_handles: u32,
    pub flags: u32,
    pub first_signaled: u32,
    pub pad: u32,
    pub deadline_nsec: u64,
}

/// `struct drm_syncobj_timeline_wait` (Linux 6.12, with `deadline_nsec`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct DrmSyncobjTimelineWait {
    pub handles: u64,
    pub points: u64,
    pub timeout_nsec: i64,
    pub count_handles: u32,
    pub flags: u32,
    pub first_signaled: u32,
    pub pad: u32,
    pub deadline_nsec: u64,
}

/// `struct drm_syncobj_array`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct DrmSyncobjArray {
    pub handles: u64,
    pub count_handles: u32,
    pub pad: u32,
}

/// `struct drm_syncobj_timeline_array`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct DrmSyncobjTimelineArray {
    pub handles: u64,
    pub points: u64,
    pub count_handles: u32,
    pub flags: u32,
}

const _: () = {
    use core::mem::size_of;
    assert!(size_of::<DrmSyncobjCreate>() == 8);
    assert!(size_of::<DrmSyncobjDestroy>() == 8);
    assert!(size_of::<DrmSyncobjTransfer>() == 32);
    assert!(size_of::<DrmSyncobjWait>() == 40);
    assert!(size_of::<DrmSyncobjTimelineWait>() == 48);
    assert!(size_of::<DrmSyncobjArray>() == 16);
    assert!(size_of::<DrmSyncobjTimelineArray>() == 24);
};

// SAFETY: integer-only repr(C) structs (this one and those below) whose
// padding is explicit fields (the sizes are asserted above), so every byte
// pattern is valid and no byte is padding.
unsafe impl Pod for DrmSyncobjCreate {}
// SAFETY: as above.
unsafe impl Pod for DrmSyncobjDestroy {}
// SAFETY: as above.
unsafe impl Pod for DrmSyncobjTransfer {}
// SAFETY: as above.
unsafe impl Pod for DrmSyncobjWait {}
// SAFETY: as above.
unsafe impl Pod for DrmSyncobjTimelineWait {}
// SAFETY: as above.
unsafe impl Pod for DrmSyncobjArray {}
// SAFETY: as above.
unsafe impl Pod for DrmSyncobjTimelineArray {}

/// Whether `nr` is one of the syncobj requests answered here.
pub fn handles(nr: u32) -> bool {
    matches!(
        nr,
        NR_CREATE
            | NR_DESTROY
            | NR_WAIT
            | NR_RESET
            | NR_SIGNAL
            | NR_TIMELINE_WAIT
            | NR_QUERY
            | NR_TRANSFER
            | NR_TIMELINE_SIGNAL
    )
}

/// Runs syncobj request `cmd` (one [`handles`] accepts) on `file`.
pub fn ioctl(file: &File, cmd: u32, arg: u64) -> Result<(), Errno> {
    use crate::ioctl::with_arg;
    let objs = file.syncobjs();
    match cmd & 0xff {
        NR_CREATE => with_arg(cmd, arg, |a: &mut DrmSyncobjCreate| {
            a.handle = objs.create(a.flags)?;
            Ok(())
        }),
        NR_DESTROY => with_arg(cmd, arg, |a: &mut DrmSyncobjDestroy| {
            if a.pad != 0 {
                return Err(Errno::EINVAL);
            }
            objs.destroy(a.handle)
        }),
        NR_WAIT => with_arg(cmd, arg, |a: &mut DrmSyncobjWait| {
            let allowed = WAIT_ALL | WAIT_FOR_SUBMIT | WAIT_DEADLINE;
            let first = wait(
                file,
                a.flags,
                allowed,
                a.handles,
                None,
                a.count_handles,
                a.timeout_nsec,
            )?;
            if let Some(first) = first {
                a.first_signaled = first;
            }
            Ok(())
        }),
        NR_TIMELINE_WAIT => with_arg(cmd, arg, |a: &mut DrmSyncobjTimelineWait| {
            let allowed = WAIT_ALL | WAIT_FOR_SUBMIT | WAIT_AVAILABLE | WAIT_DEADLINE;
            let first = wait(
                file,
                a.flags,
                allowed,
                a.handles,
                Some(a.points),
                a.count_handles,
                a.timeout_nsec,
            )?;
            if let Some(first) = first {
                a.first_signaled = first;
            }
            Ok(())
        }),
        NR_RESET | NR_SIGNAL => with_arg(cmd, arg, |a: &mut DrmSyncobjArray| {
            if a.pad != 0 || a.count_handles == 0 {
                return Err(Errno::EINVAL);
            }
            let handles = find_all(objs, a.handles, a.count_handles)?;
            if cmd & 0xff == NR_RESET {
                objs.reset(&handles)
            } else {
                objs.signal(&*file.device().waiter, &handles)
            }
        }),
        NR_TIMELINE_SIGNAL => with_arg(cmd, arg, |a: &mut DrmSyncobjTimelineArray| {
            if a.flags != 0 || a.count_handles == 0 {
                return Err(Errno::EINVAL);
            }
            let handles = find_all(objs, a.handles, a.count_handles)?;
            let points = read_points(a.points, a.count_handles)?;
            objs.timeline_signal(&*file.device().waiter, &handles, &points)
        }),
        NR_QUERY => with_arg(cmd, arg, |a: &mut DrmSyncobjTimelineArray| {
            if a.flags & !QUERY_LAST_SUBMITTED != 0 || a.count_handles == 0 {
                return Err(Errno::EINVAL);
            }
            let handles = find_all(objs, a.handles, a.count_handles)?;
            let mut points: Vec<u64> = zeroed(handles.len())?;
            objs.query(&handles, &mut points, a.flags)?;
            // Point by point, as drm_syncobj_query_ioctl stores them: a
            // fault keeps the points already written.
            for (i, p) in points.iter().enumerate() {
                ffi::write_user(a.points.wrapping_add(8 * i as u64), p)?;
            }
            Ok(())
        }),
        NR_TRANSFER => with_arg(cmd, arg, |a: &mut DrmSyncobjTransfer| {
            if a.pad != 0 {
                return Err(Errno::EINVAL);
            }
            let w = Interruptible::new(&*file.device().waiter);
            let r = objs.transfer(
                &w,
                a.src_handle,
                a.src_point,
                a.dst_handle,
                a.dst_point,
                a.flags,
            );
            w.finish(r)
        }),
        _ => Err(Errno::ENOTTY),
    }
}

/// WAIT and TIMELINE_WAIT (`points` the user's points array for the
/// latter) as drm_syncobj_{,timeline_}wait_ioctl: flags, then a zero count
/// succeeding with `first_signaled` untouched (None), then the handles
/// (ENOENT), then the points (a null array reads as zeros), then the wait.
/// The WAIT_DEADLINE hint is accepted and has nothing to speed up here.
fn wait(
    file: &File,
    flags: u32,
    allowed: u32,
    user_handles: u64,
    user_points: Option<u64>,
    count: u32,
    timeout_nsec: i64,
) -> Result<Option<u32>, Errno> {
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    if count == 0 {
        return Ok(None);
    }
    let objs = file.syncobjs();
    let handles = find_all(objs, user_handles, count)?;
    let points = match user_points {
        Some(p) => Some(read_points(p, count)?),
        None => None,
    };
    let w = Interruptible::new(&*file.device().waiter);
    let r = objs.wait(&w, &handles, points.as_deref(), timeout_nsec, flags);
    w.finish(r).map(Some)
}

/// drm_syncobj_array_find: `count` handles from user memory (ENOMEM when
/// the array cannot be allocated, EFAULT when it cannot be read), each of
/// which must name a syncobj (ENOENT).
fn find_all(objs: &Syncobjs, user: u64, count: u32) -> Result<Vec<u32>, Errno> {
    let handles: Vec<u32> = read_array(user, count)?;
    // Linux then allocates its array of syncobj pointers: fail the same way
    // when one that size cannot be had.
    drop(shim::try_with_capacity::<usize>(handles.len())?);
    if handles.iter().any(|&h| objs.get(h).is_none()) {
        return Err(Errno::ENOENT);
    }
    Ok(handles)
}

/// A user points array of `count` entries; a null pointer reads as zeros.
fn read_points(user: u64, count: u32) -> Result<Vec<u64>, Errno> {
    if user == 0 {
        return zeroed(count as usize);
    }
    read_array(user, count)
}

/// `count` zeros, fallibly allocated.
fn zeroed<T: Pod>(count: usize) -> Result<Vec<T>, Errno> {
    let mut v = shim::try_with_capacity(count)?;
    v.resize(count, T::default());
    Ok(v)
}

/// `count` elements from user address `user`: kmalloc_array then
/// copy_from_user, so ENOMEM for a count too large to allocate (the kmalloc
/// limit under both) before EFAULT for an unreadable array.
fn read_array<T: Pod>(user: u64, count: u32) -> Result<Vec<T>, Errno> {
    let mut v: Vec<T> = zeroed(count as usize)?;
    ffi::read_user_bytes(ffi::slice_as_bytes_mut(&mut v), user)?;
    Ok(v)
}

/// The device's waiter, with sleeps that end when a signal is pending
/// (drm_syncobj_array_wait_timeout checks `signal_pending` after the
/// timeout, before each sleep). [`Interruptible::finish`] turns the
/// resulting timeout into ERESTARTSYS.
struct Interruptible<'a> {
    inner: &'a dyn Waiter,
    interrupted: AtomicBool,
}

impl<'a> Interruptible<'a> {
    fn new(inner: &'a dyn Waiter) -> Self {
        Self {
            inner,
            interrupted: AtomicBool::new(false),
        }
    }

    /// `r`, with the ETIME of a wait a signal ended as ERESTARTSYS.
    fn finish<T>(&self, r: Result<T, Errno>) -> Result<T, Errno> {
        match r {
            Err(Errno::ETIME) if self.interrupted.load(Ordering::Relaxed) => Err(ERESTARTSYS),
            r => r,
        }
    }
}

impl Waiter for Interruptible<'_> {
    fn now_ns(&self) -> i64 {
        self.inner.now_ns()
    }

    fn now_raw_ns(&self) -> i64 {
        self.inner.now_raw_ns()
    }

    fn generation(&self) -> u64 {
        self.inner.generation()
    }

    fn sleep(&self, seen: u64, deadline_ns: i64) {
        self.inner.sleep(seen, deadline_ns)
    }

    fn wake_all(&self) {
        self.inner.wake_all()
    }

    fn wait_until(&self, deadline_ns: i64, ready: &mut dyn FnMut() -> bool) -> bool {
        loop {
            let seen = self.inner.generation();
            if ready() {
                return true;
            }
            if self.inner.now_ns() >= deadline_ns {
                return false;
            }
            if ffi::signal_pending() {
                self.interrupted.store(true, Ordering::Relaxed);
                return false;
            }
            self.inner.sleep(seen, deadline_ns);
        }
    }
}
