//! The raw system calls under [`super::RealFile`]: `ioctl(2)` with libdrm's
//! restart rule, errno conversion, and the request codes of the DRM core
//! ioctls that drm-ffi cannot issue with every argument we need.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use drm_ffi::{
    drm_syncobj_create, drm_syncobj_handle, drm_syncobj_timeline_array, drm_syncobj_timeline_wait,
    drm_syncobj_transfer, drm_syncobj_wait,
};

use crate::errno::{Errno, Result};
use crate::uapi::ioc;

/// DRM core request codes (`drm.h`), for the calls this backend issues
/// itself because drm-ffi 0.9 fixes an argument we must pass through
/// (flags it maps to booleans, the existing handle of an
/// `IMPORT_SYNC_FILE`). `tests/layout.rs` checks them against the C header.
pub mod drm_core {
    use super::*;

    /// `DRM_IOCTL_SYNCOBJ_CREATE`.
    pub const DRM_IOCTL_SYNCOBJ_CREATE: u32 =
        ioc::drm_iowr(0xBF, core::mem::size_of::<drm_syncobj_create>());
    /// `DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD`.
    pub const DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD: u32 =
        ioc::drm_iowr(0xC1, core::mem::size_of::<drm_syncobj_handle>());
    /// `DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE`.
    pub const DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE: u32 =
        ioc::drm_iowr(0xC2, core::mem::size_of::<drm_syncobj_handle>());
    /// `DRM_IOCTL_SYNCOBJ_WAIT`.
    pub const DRM_IOCTL_SYNCOBJ_WAIT: u32 =
        ioc::drm_iowr(0xC3, core::mem::size_of::<drm_syncobj_wait>());
    /// `DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT`.
    pub const DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT: u32 =
        ioc::drm_iowr(0xCA, core::mem::size_of::<drm_syncobj_timeline_wait>());
    /// `DRM_IOCTL_SYNCOBJ_QUERY`.
    pub const DRM_IOCTL_SYNCOBJ_QUERY: u32 =
        ioc::drm_iowr(0xCB, core::mem::size_of::<drm_syncobj_timeline_array>());
    /// `DRM_IOCTL_SYNCOBJ_TRANSFER`.
    pub const DRM_IOCTL_SYNCOBJ_TRANSFER: u32 =
        ioc::drm_iowr(0xCC, core::mem::size_of::<drm_syncobj_transfer>());
}

/// The errno of a failed call (`EIO` if the error carries none, which the
/// calls made here never do).
pub fn errno_of(err: &io::Error) -> Errno {
    Errno(err.raw_os_error().unwrap_or(libc::EIO))
}

/// True for the errors libdrm's `drmIoctl` restarts the call on.
fn is_restart(errno: Errno) -> bool {
    errno == Errno::EINTR || errno == Errno::EAGAIN
}

/// The argument size `_IOC` encoded in `request`.
const fn ioc_size(request: u32) -> usize {
    ((request >> 16) & 0x3fff) as usize
}

/// One `ioctl(fd, request, arg)`, no restart.
///
/// Panics if the argument size `request` encodes is not `size_of::<T>()`:
/// a DRM driver copies exactly that many bytes in and out of `arg`, so the
/// check is what keeps the kernel inside `*arg`.
///
/// # Safety
/// `fd` must be a DRM device (or a file that rejects the request), `request`
/// an ioctl whose argument is a `T`, and every user pointer inside `*arg`
/// must be valid for what the kernel does with it during the call.
pub unsafe fn ioctl_once<T>(fd: BorrowedFd<'_>, request: u32, arg: &mut T) -> Result<()> {
    assert_eq!(
        ioc_size(request),
        core::mem::size_of::<T>(),
        "ioctl {request:#x} does not take a {}",
        core::any::type_name::<T>()
    );
    // SAFETY: `arg` is a live, exclusive `T` of the size the request encodes
    // (asserted above) for the whole call; the caller vouches for the
    // pointers inside. `as _` adapts to the request type of the libc in use
    // (c_ulong on glibc, c_int on musl), keeping the bits.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg as *mut T) };
    if ret == -1 {
        Err(errno_of(&io::Error::last_os_error()))
    } else {
        Ok(())
    }
}

/// `ioctl(fd, request, arg)`, restarted on `EINTR`/`EAGAIN` like libdrm's
/// `drmIoctl`.
///
/// # Safety
/// As [`ioctl_once`]; in addition the request must be safe to reissue with
/// `*arg` as the kernel left it after an interrupted call (true of every
/// DRM ioctl except a synchronous VM_BIND, see `RealFile::vm_bind`).
pub unsafe fn ioctl<T>(fd: BorrowedFd<'_>, request: u32, arg: &mut T) -> Result<()> {
    loop {
        // SAFETY: forwarded from this function's contract.
        match unsafe { ioctl_once(fd, request, arg) } {
            Err(errno) if is_restart(errno) => continue,
            other => return other,
        }
    }
}

/// Runs a drm-ffi call, restarted on `EINTR`/`EAGAIN` (drm-ffi issues one
/// `ioctl` and returns the interruption), with the error as an [`Errno`].
pub fn retry<T>(mut call: impl FnMut() -> io::Result<T>) -> Result<T> {
    loop {
        match call() {
            Ok(value) => return Ok(value),
            Err(err) => {
                let errno = errno_of(&err);
                if !is_restart(errno) {
                    return Err(errno);
                }
            }
        }
    }
}

/// The `u32` count of a user array, `EINVAL` when it does not fit (the
/// kernel could not be told about the excess).
pub fn count_u32(len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| Errno::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::drm_core::*;
    use super::*;

    // Values of the C macros as `drm.h` defines them on the asm-generic
    // architectures (x86-64, arm64, riscv64); the layout test recomputes them
    // from the 6.12 header itself. The two `drm_syncobj_handle` codes encode
    // drm-sys's 24-byte struct (with the later `point` field); 6.12's header
    // has 16 bytes (0xC01064C1/2). Both work on every kernel: drm_ioctl()
    // finds the handler by number and copies min/max of the two sizes,
    // zero-filling, so the extra `point = 0` means "binary syncobj".
    #[test]
    fn syncobj_request_codes_match_drm_h() {
        assert_eq!(DRM_IOCTL_SYNCOBJ_CREATE, 0xC00864BF);
        assert_eq!(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, 0xC01864C1);
        assert_eq!(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, 0xC01864C2);
        assert_eq!(DRM_IOCTL_SYNCOBJ_WAIT, 0xC02864C3);
        assert_eq!(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, 0xC03064CA);
        assert_eq!(DRM_IOCTL_SYNCOBJ_QUERY, 0xC01864CB);
        assert_eq!(DRM_IOCTL_SYNCOBJ_TRANSFER, 0xC02064CC);
    }

    #[test]
    fn retry_restarts_on_eintr_and_eagain_only() {
        let mut calls = 0;
        let result = retry(|| {
            calls += 1;
            match calls {
                1 => Err(io::Error::from_raw_os_error(libc::EINTR)),
                2 => Err(io::Error::from_raw_os_error(libc::EAGAIN)),
                _ => Ok(calls),
            }
        });
        assert_eq!(result, Ok(3));

        let mut calls = 0;
        let result: Result<()> = retry(|| {
            calls += 1;
            Err(io::Error::from_raw_os_error(libc::ENOENT))
        });
        assert_eq!(result, Err(Errno::ENOENT));
        assert_eq!(calls, 1);
    }

    #[test]
    fn ioctl_on_a_non_drm_file_is_enotty() {
        let file = std::fs::File::open("/dev/null").expect("/dev/null");
        let mut arg = drm_syncobj_create::default();
        // SAFETY: the request takes a drm_syncobj_create, which holds no
        // pointers; /dev/null rejects it without touching it.
        let result = unsafe {
            ioctl(
                std::os::fd::AsFd::as_fd(&file),
                DRM_IOCTL_SYNCOBJ_CREATE,
                &mut arg,
            )
        };
        assert_eq!(result, Err(Errno::ENOTTY));
    }

    #[test]
    fn count_u32_rejects_what_the_kernel_cannot_hold() {
        assert_eq!(count_u32(7), Ok(7));
        assert_eq!(count_u32(u32::MAX as usize), Ok(u32::MAX));
        #[cfg(target_pointer_width = "64")]
        assert_eq!(count_u32(u32::MAX as usize + 1), Err(Errno::EINVAL));
    }
}
