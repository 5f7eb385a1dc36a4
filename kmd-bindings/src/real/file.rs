//! [`RealFile`]: one open panthor render node, and [`PanthorFile`] over it
//! with real ioctls.
//!
//! DRM core calls go through drm-ffi where it can express the arguments,
//! otherwise (and for every panthor ioctl) through `libc::ioctl` with the
//! uAPI structs. Every call restarts on `EINTR`/`EAGAIN` as libdrm's
//! `drmIoctl` does. Features newer than the running kernel are refused here,
//! before any ioctl, with `EOPNOTSUPP` and a log line (see [`check_minor`]).

use std::ffi::CStr;
use std::fmt;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use drm_ffi::{
    drm_syncobj_create, drm_syncobj_handle, drm_syncobj_timeline_array, drm_syncobj_timeline_wait,
    drm_syncobj_transfer, drm_syncobj_wait,
};

use super::sys::{self, count_u32, drm_core::*, retry};
use crate::device::*;
use crate::errno::{Errno, Result};
use crate::uapi::{self, *};

// ---------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------

/// Why a file could not become a [`RealFile`].
#[derive(Debug)]
pub enum OpenError {
    /// `open(2)` failed (missing node, no permission, ...).
    Io { path: PathBuf, source: io::Error },
    /// `DRM_IOCTL_VERSION` failed, so this is not a DRM device. Regular
    /// files, `/dev/null` and other character devices answer `ENOTTY`.
    NotDrm { path: Option<PathBuf>, errno: Errno },
    /// A DRM device of another driver (`driver` is its
    /// `DRM_IOCTL_VERSION` name, e.g. `"amdgpu"`).
    NotPanthor {
        path: Option<PathBuf>,
        driver: String,
    },
    /// panthor, but a major version other than [`version::MAJOR`]: its uAPI
    /// is not the one this crate speaks.
    UnsupportedMajor {
        path: Option<PathBuf>,
        version: DrmVersion,
    },
}

impl OpenError {
    /// The path that was opened (`None` for [`RealFile::from_fd`]).
    pub fn path(&self) -> Option<&Path> {
        match self {
            OpenError::Io { path, .. } => Some(path),
            OpenError::NotDrm { path, .. }
            | OpenError::NotPanthor { path, .. }
            | OpenError::UnsupportedMajor { path, .. } => path.as_deref(),
        }
    }
}

/// Names the file in messages: its path, or what it is.
struct Subject<'a>(Option<&'a Path>);

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str("the file descriptor"),
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subject = Subject(self.path());
        match self {
            OpenError::Io { source, .. } => {
                write!(f, "cannot open {subject} read-write: {source}")
            }
            OpenError::NotDrm { errno, .. } => write!(
                f,
                "{subject} is not a DRM device (DRM_IOCTL_VERSION: {errno:?}, {})",
                errno.description()
            ),
            OpenError::NotPanthor { driver, .. } => write!(
                f,
                "{subject} is a DRM device of driver \"{driver}\", not panthor"
            ),
            OpenError::UnsupportedMajor { version, .. } => write!(
                f,
                "{subject} is panthor {}.{}, but only major version {} is supported",
                version.major,
                version.minor,
                version::MAJOR
            ),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `DRM_IOCTL_VERSION` through drm-ffi (two calls: sizes, then strings).
fn query_version(fd: BorrowedFd<'_>) -> Result<DrmVersion> {
    let mut name = Vec::new();
    let mut date = Vec::new();
    let mut desc = Vec::new();
    let raw = retry(|| {
        name.clear();
        date.clear();
        desc.clear();
        drm_ffi::get_version(fd, Some(&mut name), Some(&mut date), Some(&mut desc))
    })?;
    let text = |chars: &[i8]| {
        let bytes: Vec<u8> = chars.iter().map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok(DrmVersion {
        major: raw.version_major,
        minor: raw.version_minor,
        patchlevel: raw.version_patchlevel,
        name: text(&name),
        date: text(&date),
        desc: text(&desc),
    })
}

/// One open panthor render node.
///
/// Created only for panthor 1.x ([`RealFile::open`] refuses anything else),
/// and remembers the driver version so calls a kernel is too old for fail
/// with `EOPNOTSUPP` instead of reaching it.
#[derive(Debug)]
pub struct RealFile {
    fd: OwnedFd,
    version: DrmVersion,
}

impl RealFile {
    /// Opens `path` (normally a `/dev/dri/renderD*` node) read-write and
    /// close-on-exec, and checks that panthor (or the virtual kernel device,
    /// `vpanthor`) drives it.
    pub fn open(path: impl AsRef<Path>) -> std::result::Result<RealFile, OpenError> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|source| OpenError::Io {
                path: path.to_owned(),
                source,
            })?;
        Self::check(OwnedFd::from(file), Some(path))
    }

    /// Takes an already open DRM file (e.g. from a compositor), checking that
    /// panthor drives it. The descriptor is closed on error.
    pub fn from_fd(fd: OwnedFd) -> std::result::Result<RealFile, OpenError> {
        Self::check(fd, None)
    }

    fn check(fd: OwnedFd, path: Option<&Path>) -> std::result::Result<RealFile, OpenError> {
        let path = || path.map(Path::to_owned);
        let version = query_version(fd.as_fd()).map_err(|errno| OpenError::NotDrm {
            path: path(),
            errno,
        })?;
        if !version.is_panthor() {
            return Err(OpenError::NotPanthor {
                path: path(),
                driver: version.name,
            });
        }
        if version.major != version::MAJOR {
            return Err(OpenError::UnsupportedMajor {
                path: path(),
                version,
            });
        }
        Ok(RealFile { fd, version })
    }

    /// The driver version read when the file was opened.
    pub fn drm_version(&self) -> &DrmVersion {
        &self.version
    }

    /// Ok when the kernel has the feature `what`, first offered by panthor
    /// 1.`minor`; otherwise logs why and returns `EOPNOTSUPP`.
    fn require_minor(&self, minor: i32, what: &str) -> Result<()> {
        check_minor(&self.version, minor, what)
    }

    /// `/dev/vpanthor`'s VM_ACCESS: reads `buf.len()` bytes at GPU VA `va`
    /// of VM `vm_id` into `buf` (`write == false`) or writes `buf` there,
    /// through the VM's page tables. Other devices refuse it (ENOTTY or
    /// EINVAL, as an unknown ioctl).
    pub fn vpanthor_vm_access(
        &self,
        vm_id: u32,
        va: u64,
        buf: &mut [u8],
        write: bool,
    ) -> Result<()> {
        use crate::uapi::vpanthor::*;
        let mut args = drm_vpanthor_vm_access {
            vm_id,
            op: if write {
                VM_ACCESS_WRITE
            } else {
                VM_ACCESS_READ
            },
            va,
            size: buf.len() as u64,
            pointer: buf.as_mut_ptr() as usize as u64,
            ..Default::default()
        };
        // SAFETY: the kernel reads or writes at most `size` bytes at
        // `pointer`, which is `buf`, exclusively borrowed for the call.
        unsafe { sys::ioctl(self.fd.as_fd(), DRM_IOCTL_VPANTHOR_VM_ACCESS, &mut args) }
    }

    /// `/dev/vpanthor`'s VM_ACCESS translation of `va`: `pa`, `level` and
    /// `flags` of the answer are filled. ENXIO when unmapped.
    pub fn vpanthor_translate(
        &self,
        vm_id: u32,
        va: u64,
    ) -> Result<uapi::vpanthor::drm_vpanthor_vm_access> {
        let mut args = uapi::vpanthor::drm_vpanthor_vm_access {
            vm_id,
            op: uapi::vpanthor::VM_ACCESS_TRANSLATE,
            va,
            ..Default::default()
        };
        // SAFETY: TRANSLATE reads no user memory (`pointer` is 0) and
        // writes only the argument struct.
        unsafe {
            sys::ioctl(
                self.fd.as_fd(),
                uapi::vpanthor::DRM_IOCTL_VPANTHOR_VM_ACCESS,
                &mut args,
            )
        }?;
        Ok(args)
    }

    /// An ioctl whose argument holds no user pointer.
    fn ioctl<T: PlainArg>(&self, request: u32, arg: &mut T) -> Result<()> {
        // SAFETY: the fd is a DRM device (checked at open), T holds no user
        // pointer (PlainArg), and sys::ioctl_once asserts that the request
        // moves exactly size_of::<T>() bytes, so the kernel touches nothing
        // but `*arg`.
        unsafe { sys::ioctl(self.fd.as_fd(), request, arg) }
    }
}

impl AsFd for RealFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// An ioctl argument with no user pointer in it, which [`RealFile::ioctl`]
/// can pass without an `unsafe` at the call site.
///
/// # Safety
/// The type must be `repr(C)` integers only, none of which the kernel reads
/// as an address.
unsafe trait PlainArg {}

macro_rules! plain_args {
    ($($ty:ty),* $(,)?) => {
        // SAFETY: integer-only uAPI structs with no `pointer`/`array`/`label`
        // style address fields (checked by reading each definition).
        $(unsafe impl PlainArg for $ty {})*
    };
}

plain_args!(
    drm_syncobj_create,
    drm_syncobj_transfer,
    drm_syncobj_handle,
    drm_panthor_vm_create,
    drm_panthor_vm_destroy,
    drm_panthor_vm_get_state,
    drm_panthor_bo_create,
    drm_panthor_bo_mmap_offset,
    drm_panthor_group_destroy,
    drm_panthor_group_get_state,
    drm_panthor_tiler_heap_create,
    drm_panthor_tiler_heap_destroy,
    drm_panthor_set_user_mmio_offset,
    drm_panthor_bo_query_info,
);

// ---------------------------------------------------------------------------
// Version gating
// ---------------------------------------------------------------------------

/// What a sparse VM_BIND needs.
const SPARSE: (i32, &str) = (
    version::MINOR_MAP_SPARSE,
    "sparse mappings (DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE)",
);
const MMU_INFO: (i32, &str) = (
    version::MINOR_MAP_SPARSE,
    "MMU page-size query (DRM_PANTHOR_DEV_QUERY_MMU_INFO)",
);
const BO_SET_LABEL: (i32, &str) = (
    version::MINOR_BO_SET_LABEL,
    "BO labels (DRM_IOCTL_PANTHOR_BO_SET_LABEL)",
);
const SET_USER_MMIO_OFFSET: (i32, &str) = (
    version::MINOR_SET_USER_MMIO_OFFSET,
    "DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET",
);
const BO_SYNC: (i32, &str) = (
    version::MINOR_BO_SYNC,
    "BO cache maintenance (DRM_IOCTL_PANTHOR_BO_SYNC)",
);
const BO_QUERY_INFO: (i32, &str) = (version::MINOR_BO_SYNC, "DRM_IOCTL_PANTHOR_BO_QUERY_INFO");

/// Why `kernel` lacks `what`, a feature panthor first offered in 1.`minor`;
/// `None` when it has it.
pub fn missing_feature(kernel: &DrmVersion, minor: i32, what: &str) -> Option<String> {
    if kernel.is_panthor_at_least(minor) {
        return None;
    }
    let (major, have) = (kernel.major, kernel.minor);
    Some(if !kernel.is_panthor() {
        format!(
            "kernel driver \"{}\" {major}.{have} is not panthor, so it has no {what} \
             (needs panthor {}.{minor}); returning EOPNOTSUPP without calling the kernel",
            kernel.name,
            version::MAJOR
        )
    } else {
        format!(
            "kernel panthor {major}.{have} has no {what} (needs {}.{minor}); \
             returning EOPNOTSUPP without calling the kernel",
            version::MAJOR
        )
    })
}

/// The gating rule of [`RealFile`]: Ok when `kernel` is panthor 1.`minor`
/// or newer, else a `log::warn!` saying what is missing and `EOPNOTSUPP`.
pub fn check_minor(kernel: &DrmVersion, minor: i32, what: &str) -> Result<()> {
    match missing_feature(kernel, minor, what) {
        None => Ok(()),
        Some(why) => {
            log::warn!("{why}");
            Err(Errno::EOPNOTSUPP)
        }
    }
}

// ---------------------------------------------------------------------------
// CPU mappings
// ---------------------------------------------------------------------------

/// Unmaps a `mmap` of the render node when dropped.
struct Munmap {
    /// The address as an integer: a raw pointer would make this neither
    /// Send nor Sync, and nothing dereferences it here.
    addr: usize,
    len: usize,
}

impl MappingOwner for Munmap {}

impl Drop for Munmap {
    fn drop(&mut self) {
        // SAFETY: addr/len are exactly what a successful mmap returned, and
        // this owner is the only one to unmap them, once; the CpuMapping
        // that hands out the pointer dies with (before) its owner.
        let ret = unsafe { libc::munmap(self.addr as *mut libc::c_void, self.len) };
        if ret != 0 {
            log::error!(
                "munmap({:#x}, {}) failed: {}",
                self.addr,
                self.len,
                io::Error::last_os_error()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The uAPI
// ---------------------------------------------------------------------------

/// `DRM_SYNCOBJ_WAIT_FLAGS_*` drm-ffi's binary wait can express.
const FFI_WAIT_FLAGS: SyncobjWaitFlags =
    SyncobjWaitFlags::WAIT_ALL.union(SyncobjWaitFlags::WAIT_FOR_SUBMIT);
/// `DRM_SYNCOBJ_WAIT_FLAGS_*` drm-ffi's timeline wait can express.
const FFI_TIMELINE_WAIT_FLAGS: SyncobjWaitFlags =
    FFI_WAIT_FLAGS.union(SyncobjWaitFlags::WAIT_AVAILABLE);

/// Wraps a descriptor the kernel just returned.
fn owned_fd(raw: i32) -> Result<OwnedFd> {
    if raw < 0 {
        // Never after a successful ioctl; do not wrap -1.
        return Err(Errno::EIO);
    }
    // SAFETY: the kernel installed this descriptor for us in the ioctl that
    // just succeeded, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

impl PanthorFile for RealFile {
    // ----- DRM core -----------------------------------------------------

    fn version(&self) -> Result<DrmVersion> {
        query_version(self.fd.as_fd())
    }

    fn gem_close(&self, handle: u32) -> Result<()> {
        retry(|| drm_ffi::gem::close(self.fd.as_fd(), handle)).map(drop)
    }

    fn prime_handle_to_fd(&self, handle: u32, flags: u32) -> Result<OwnedFd> {
        let prime = retry(|| drm_ffi::gem::handle_to_fd(self.fd.as_fd(), handle, flags))?;
        owned_fd(prime.fd)
    }

    fn prime_fd_to_handle(&self, fd: BorrowedFd<'_>) -> Result<u32> {
        retry(|| drm_ffi::gem::fd_to_handle(self.fd.as_fd(), fd)).map(|prime| prime.handle)
    }

    fn syncobj_create(&self, flags: u32) -> Result<u32> {
        if flags & !DRM_SYNCOBJ_CREATE_SIGNALED == 0 {
            let signaled = flags & DRM_SYNCOBJ_CREATE_SIGNALED != 0;
            return retry(|| drm_ffi::syncobj::create(self.fd.as_fd(), signaled))
                .map(|args| args.handle);
        }
        // Flags drm-ffi cannot pass: let the kernel judge them.
        let mut args = drm_syncobj_create { handle: 0, flags };
        self.ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &mut args)?;
        Ok(args.handle)
    }

    fn syncobj_destroy(&self, handle: u32) -> Result<()> {
        retry(|| drm_ffi::syncobj::destroy(self.fd.as_fd(), handle)).map(drop)
    }

    fn syncobj_wait(
        &self,
        handles: &[u32],
        timeout: AbsTimeoutNs,
        flags: SyncobjWaitFlags,
    ) -> Result<u32> {
        if FFI_WAIT_FLAGS.contains(flags) {
            let wait_all = flags.contains(SyncobjWaitFlags::WAIT_ALL);
            let wait_for_submit = flags.contains(SyncobjWaitFlags::WAIT_FOR_SUBMIT);
            return retry(|| {
                drm_ffi::syncobj::wait(self.fd.as_fd(), handles, timeout, wait_all, wait_for_submit)
            })
            .map(|args| args.first_signaled);
        }
        // WAIT_AVAILABLE (which the kernel rejects on binary waits) or bits
        // beyond the known ones: pass them through.
        let mut args = drm_syncobj_wait {
            handles: handles.as_ptr() as usize as u64,
            timeout_nsec: timeout,
            count_handles: count_u32(handles.len())?,
            flags: flags.bits(),
            ..Default::default()
        };
        // SAFETY: `handles` points to count_handles u32s that the kernel
        // reads during the call and that the borrow keeps alive.
        unsafe { sys::ioctl(self.fd.as_fd(), DRM_IOCTL_SYNCOBJ_WAIT, &mut args) }?;
        Ok(args.first_signaled)
    }

    fn syncobj_timeline_wait(
        &self,
        handles: &[u32],
        points: &[u64],
        timeout: AbsTimeoutNs,
        flags: SyncobjWaitFlags,
    ) -> Result<u32> {
        if handles.len() != points.len() {
            return Err(Errno::EINVAL);
        }
        if FFI_TIMELINE_WAIT_FLAGS.contains(flags) {
            return retry(|| {
                drm_ffi::syncobj::timeline_wait(
                    self.fd.as_fd(),
                    handles,
                    points,
                    timeout,
                    flags.contains(SyncobjWaitFlags::WAIT_ALL),
                    flags.contains(SyncobjWaitFlags::WAIT_FOR_SUBMIT),
                    flags.contains(SyncobjWaitFlags::WAIT_AVAILABLE),
                )
            })
            .map(|args| args.first_signaled);
        }
        let mut args = drm_syncobj_timeline_wait {
            handles: handles.as_ptr() as usize as u64,
            points: points.as_ptr() as usize as u64,
            timeout_nsec: timeout,
            count_handles: count_u32(handles.len())?,
            flags: flags.bits(),
            ..Default::default()
        };
        // SAFETY: `handles` and `points` point to count_handles elements
        // each (lengths checked equal), borrowed for the call.
        unsafe { sys::ioctl(self.fd.as_fd(), DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &mut args) }?;
        Ok(args.first_signaled)
    }

    fn syncobj_reset(&self, handles: &[u32]) -> Result<()> {
        count_u32(handles.len())?;
        retry(|| drm_ffi::syncobj::reset(self.fd.as_fd(), handles)).map(drop)
    }

    fn syncobj_signal(&self, handles: &[u32]) -> Result<()> {
        count_u32(handles.len())?;
        retry(|| drm_ffi::syncobj::signal(self.fd.as_fd(), handles)).map(drop)
    }

    fn syncobj_timeline_signal(&self, handles: &[u32], points: &[u64]) -> Result<()> {
        if handles.len() != points.len() {
            return Err(Errno::EINVAL);
        }
        count_u32(handles.len())?;
        retry(|| drm_ffi::syncobj::timeline_signal(self.fd.as_fd(), handles, points)).map(drop)
    }

    fn syncobj_query(&self, handles: &[u32], points: &mut [u64], flags: u32) -> Result<()> {
        if handles.len() != points.len() {
            return Err(Errno::EINVAL);
        }
        let count_handles = count_u32(handles.len())?;
        if flags & !DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED == 0 {
            let last_submitted = flags != 0;
            return retry(|| {
                drm_ffi::syncobj::query(self.fd.as_fd(), handles, points, last_submitted)
            })
            .map(drop);
        }
        let mut args = drm_syncobj_timeline_array {
            handles: handles.as_ptr() as usize as u64,
            points: points.as_mut_ptr() as usize as u64,
            count_handles,
            flags,
        };
        // SAFETY: the kernel reads count_handles u32s at `handles` and
        // writes as many u64s at `points`, exclusively borrowed, same length.
        unsafe { sys::ioctl(self.fd.as_fd(), DRM_IOCTL_SYNCOBJ_QUERY, &mut args) }
    }

    fn syncobj_transfer(
        &self,
        src: u32,
        src_point: u64,
        dst: u32,
        dst_point: u64,
        flags: u32,
    ) -> Result<()> {
        if flags == 0 {
            return retry(|| {
                drm_ffi::syncobj::transfer(self.fd.as_fd(), src, dst, src_point, dst_point)
            })
            .map(drop);
        }
        // drm-ffi always sends flags = 0 (no WAIT_FOR_SUBMIT).
        let mut args = drm_syncobj_transfer {
            src_handle: src,
            dst_handle: dst,
            src_point,
            dst_point,
            flags,
            pad: 0,
        };
        self.ioctl(DRM_IOCTL_SYNCOBJ_TRANSFER, &mut args)
    }

    fn syncobj_handle_to_fd(&self, handle: u32, flags: u32) -> Result<OwnedFd> {
        let raw = if flags & !DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE == 0 {
            let sync_file = flags != 0;
            retry(|| drm_ffi::syncobj::handle_to_fd(self.fd.as_fd(), handle, sync_file))?.fd
        } else {
            let mut args = drm_syncobj_handle {
                handle,
                flags,
                ..Default::default()
            };
            self.ioctl(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &mut args)?;
            args.fd
        };
        owned_fd(raw)
    }

    fn syncobj_fd_to_handle(&self, fd: BorrowedFd<'_>, flags: u32, handle: u32) -> Result<u32> {
        if flags == 0 {
            return retry(|| drm_ffi::syncobj::fd_to_handle(self.fd.as_fd(), fd, false))
                .map(|args| args.handle);
        }
        // IMPORT_SYNC_FILE targets an existing syncobj, whose handle drm-ffi
        // cannot pass (it sends 0).
        let mut args = drm_syncobj_handle {
            handle,
            flags,
            fd: fd.as_raw_fd(),
            ..Default::default()
        };
        self.ioctl(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &mut args)?;
        Ok(args.handle)
    }

    // ----- panthor ------------------------------------------------------

    fn dev_query(&self, ty: u32, out: Option<&mut [u8]>) -> Result<u32> {
        if ty == DRM_PANTHOR_DEV_QUERY_MMU_INFO {
            self.require_minor(MMU_INFO.0, MMU_INFO.1)?;
        }
        // The kernel only reports the object size when asked without a
        // buffer, so that comes first in both cases.
        let mut args = drm_panthor_dev_query {
            r#type: ty,
            ..Default::default()
        };
        // SAFETY: pointer 0 asks for the size only; nothing is dereferenced.
        unsafe { sys::ioctl(self.fd.as_fd(), DRM_IOCTL_PANTHOR_DEV_QUERY, &mut args) }?;
        let object_size = args.size;
        let Some(out) = out else {
            return Ok(object_size);
        };
        let size = count_u32(out.len())?;
        let mut args = drm_panthor_dev_query {
            r#type: ty,
            size,
            pointer: out.as_mut_ptr() as usize as u64,
        };
        // SAFETY: the kernel writes at most `size` bytes at `pointer`, which
        // is `out`, exclusively borrowed for the call and `size` long.
        unsafe { sys::ioctl(self.fd.as_fd(), DRM_IOCTL_PANTHOR_DEV_QUERY, &mut args) }?;
        Ok(size.min(object_size))
    }

    fn vm_create(&self, args: &mut drm_panthor_vm_create) -> Result<()> {
        self.ioctl(DRM_IOCTL_PANTHOR_VM_CREATE, args)
    }

    fn vm_destroy(&self, args: &drm_panthor_vm_destroy) -> Result<()> {
        self.ioctl(DRM_IOCTL_PANTHOR_VM_DESTROY, &mut { *args })
    }

    /// Restart rule: an interrupted *synchronous* bind may have applied some
    /// ops (the kernel reports how many in `ops.count`), so it is reissued
    /// for the remaining ops only; an asynchronous bind is all-or-nothing and
    /// reissued whole.
    fn vm_bind(
        &self,
        vm_id: u32,
        flags: u32,
        ops: &[VmBindOp<'_>],
    ) -> std::result::Result<(), VmBindError> {
        if ops
            .iter()
            .any(|op| op.flags & DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE != 0)
        {
            self.require_minor(SPARSE.0, SPARSE.1)?;
        }
        count_u32(ops.len())?;
        let raw_ops = ops
            .iter()
            .map(|op| {
                Ok(drm_panthor_vm_bind_op {
                    flags: op.flags,
                    bo_handle: op.bo_handle,
                    bo_offset: op.bo_offset,
                    va: op.va,
                    size: op.size,
                    syncs: obj_array(op.syncs)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let asynchronous = flags & DRM_PANTHOR_VM_BIND_ASYNC != 0;

        let mut done = 0usize;
        loop {
            let remaining = &raw_ops[done..];
            let mut args = drm_panthor_vm_bind {
                vm_id,
                flags,
                ops: drm_panthor_obj_array::from_slice(remaining),
            };
            // SAFETY: DRM_IOCTL_PANTHOR_VM_BIND takes a drm_panthor_vm_bind;
            // its ops array points into `raw_ops` and each op's syncs into
            // the caller's slices, all alive and unchanged across the call.
            let result =
                unsafe { sys::ioctl_once(self.fd.as_fd(), DRM_IOCTL_PANTHOR_VM_BIND, &mut args) };
            let Err(errno) = result else {
                return Ok(());
            };
            // A synchronous bind that fails at op i writes i (< count) back
            // to ops.count. Failures before the first op (unknown VM, bad
            // array) leave count as sent: nothing was applied then.
            let applied = if asynchronous || args.ops.count as usize >= remaining.len() {
                0
            } else {
                args.ops.count as usize
            };
            done += applied;
            if errno != Errno::EINTR && errno != Errno::EAGAIN {
                return Err(VmBindError {
                    errno,
                    ops_done: done as u32,
                });
            }
        }
    }

    fn vm_get_state(&self, args: &mut drm_panthor_vm_get_state) -> Result<()> {
        self.ioctl(DRM_IOCTL_PANTHOR_VM_GET_STATE, args)
    }

    fn bo_create(&self, args: &mut drm_panthor_bo_create) -> Result<()> {
        self.ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, args)
    }

    fn bo_mmap_offset(&self, args: &mut drm_panthor_bo_mmap_offset) -> Result<()> {
        self.ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, args)
    }

    fn mmap(&self, offset: u64, len: usize) -> Result<CpuMapping> {
        let offset = libc::off_t::try_from(offset).map_err(|_| Errno::EOVERFLOW)?;
        // SAFETY: a fresh shared mapping chosen by the kernel (addr = NULL)
        // cannot overlap memory Rust already uses; the fd is open for the
        // call.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.fd.as_raw_fd(),
                offset,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(sys::errno_of(&io::Error::last_os_error()));
        }
        let owner = Box::new(Munmap {
            addr: addr as usize,
            len,
        });
        let ptr = NonNull::new(addr.cast::<u8>()).ok_or(Errno::EIO)?;
        // SAFETY: the kernel mapped len bytes read-write at ptr; they stay
        // mapped until `owner` (the only munmap of them) is dropped, which
        // CpuMapping does last.
        Ok(unsafe { CpuMapping::new(ptr, len, owner) })
    }

    fn group_create(&self, args: &GroupCreate<'_>) -> Result<u32> {
        let mut raw = drm_panthor_group_create {
            queues: obj_array(args.queues)?,
            max_compute_cores: args.max_compute_cores,
            max_fragment_cores: args.max_fragment_cores,
            max_tiler_cores: args.max_tiler_cores,
            priority: args.priority,
            pad: args.pad,
            compute_core_mask: args.compute_core_mask,
            fragment_core_mask: args.fragment_core_mask,
            tiler_core_mask: args.tiler_core_mask,
            vm_id: args.vm_id,
            group_handle: 0,
        };
        // SAFETY: `queues` describes the caller's slice (stride = element
        // size, count = length), borrowed for the call.
        unsafe { sys::ioctl(self.fd.as_fd(), DRM_IOCTL_PANTHOR_GROUP_CREATE, &mut raw) }?;
        Ok(raw.group_handle)
    }

    fn group_destroy(&self, args: &drm_panthor_group_destroy) -> Result<()> {
        self.ioctl(DRM_IOCTL_PANTHOR_GROUP_DESTROY, &mut { *args })
    }

    fn group_submit(&self, group_handle: u32, pad: u32, submits: &[QueueSubmit<'_>]) -> Result<()> {
        let raw_submits = submits
            .iter()
            .map(|s| {
                Ok(drm_panthor_queue_submit {
                    queue_index: s.queue_index,
                    stream_size: s.stream_size,
                    stream_addr: s.stream_addr,
                    latest_flush: s.latest_flush,
                    pad: s.pad,
                    syncs: obj_array(s.syncs)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut args = drm_panthor_group_submit {
            group_handle,
            pad,
            queue_submits: obj_array(&raw_submits)?,
        };
        // SAFETY: `queue_submits` describes raw_submits, whose `syncs`
        // describe the caller's slices; all outlive the call unchanged.
        unsafe { sys::ioctl(self.fd.as_fd(), DRM_IOCTL_PANTHOR_GROUP_SUBMIT, &mut args) }
    }

    fn group_get_state(&self, args: &mut drm_panthor_group_get_state) -> Result<()> {
        self.ioctl(DRM_IOCTL_PANTHOR_GROUP_GET_STATE, args)
    }

    fn tiler_heap_create(&self, args: &mut drm_panthor_tiler_heap_create) -> Result<()> {
        self.ioctl(DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE, args)
    }

    fn tiler_heap_destroy(&self, args: &drm_panthor_tiler_heap_destroy) -> Result<()> {
        self.ioctl(DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY, &mut { *args })
    }

    fn bo_set_label(&self, handle: u32, label: Option<&CStr>) -> Result<()> {
        self.require_minor(BO_SET_LABEL.0, BO_SET_LABEL.1)?;
        let mut args = drm_panthor_bo_set_label {
            handle,
            pad: 0,
            label: label.map_or(0, |l| l.as_ptr() as usize as u64),
        };
        // SAFETY: `label` is 0 or a NUL-terminated string (CStr) borrowed
        // for the call; the kernel reads up to the NUL.
        unsafe { sys::ioctl(self.fd.as_fd(), DRM_IOCTL_PANTHOR_BO_SET_LABEL, &mut args) }
    }

    fn set_user_mmio_offset(&self, args: &drm_panthor_set_user_mmio_offset) -> Result<()> {
        self.require_minor(SET_USER_MMIO_OFFSET.0, SET_USER_MMIO_OFFSET.1)?;
        self.ioctl(DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET, &mut { *args })
    }

    fn bo_sync(&self, ops: &[drm_panthor_bo_sync_op]) -> Result<()> {
        self.require_minor(BO_SYNC.0, BO_SYNC.1)?;
        let mut args = drm_panthor_bo_sync {
            ops: obj_array(ops)?,
        };
        // SAFETY: `ops` describes the caller's slice, borrowed for the call.
        unsafe { sys::ioctl(self.fd.as_fd(), DRM_IOCTL_PANTHOR_BO_SYNC, &mut args) }
    }

    fn bo_query_info(&self, args: &mut drm_panthor_bo_query_info) -> Result<()> {
        self.require_minor(BO_QUERY_INFO.0, BO_QUERY_INFO.1)?;
        self.ioctl(DRM_IOCTL_PANTHOR_BO_QUERY_INFO, args)
    }

    fn vpanthor_vm_access(&self, vm_id: u32, va: u64, buf: &mut [u8], write: bool) -> Result<()> {
        if !self.version.is_virtual_kernel_device() {
            // Not this device's ioctl number: never send it to panthor.
            return Err(Errno::ENOTTY);
        }
        RealFile::vpanthor_vm_access(self, vm_id, va, buf, write)
    }
}

/// `drm_panthor_obj_array::from_slice`, `EINVAL` when the count does not
/// fit the kernel's `u32`. The slice must outlive the ioctl.
fn obj_array<T>(items: &[T]) -> Result<drm_panthor_obj_array> {
    count_u32(items.len())?;
    Ok(drm_panthor_obj_array::from_slice(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::real::test_util::TempDir;

    fn panthor(minor: i32) -> DrmVersion {
        DrmVersion {
            major: 1,
            minor,
            patchlevel: 0,
            name: "panthor".into(),
            date: "20230801".into(),
            desc: "Panthor DRM driver".into(),
        }
    }

    #[test]
    fn dev_null_is_not_drm() {
        let err = RealFile::open("/dev/null").unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::NotDrm {
                    errno: Errno::ENOTTY,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.path(), Some(Path::new("/dev/null")));
        let text = err.to_string();
        assert_eq!(
            text,
            "/dev/null is not a DRM device (DRM_IOCTL_VERSION: ENOTTY, \
             inappropriate ioctl for device)"
        );
    }

    #[test]
    fn regular_file_is_not_drm() {
        let dir = TempDir::new("file-regular");
        let path = dir.path().join("renderD128");
        std::fs::write(&path, b"not a device").unwrap();
        let err = RealFile::open(&path).unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::NotDrm {
                    errno: Errno::ENOTTY,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("is not a DRM device"), "{text}");
        assert!(text.contains("DRM_IOCTL_VERSION: ENOTTY"), "{text}");
    }

    #[test]
    fn from_fd_of_a_non_drm_file_is_not_drm() {
        let fd = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let err = RealFile::from_fd(fd).unwrap_err();
        assert!(
            matches!(err, OpenError::NotDrm { path: None, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "the file descriptor is not a DRM device (DRM_IOCTL_VERSION: ENOTTY, \
             inappropriate ioctl for device)"
        );
    }

    #[test]
    fn missing_path_is_io_error() {
        let dir = TempDir::new("file-missing");
        let path = dir.path().join("renderD200");
        let err = RealFile::open(&path).unwrap_err();
        match &err {
            OpenError::Io { path: p, source } => {
                assert_eq!(p, &path);
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("expected Io, got {other:?}"),
        }
        let text = err.to_string();
        assert!(text.starts_with(&format!("cannot open {} read-write: ", path.display())));
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn directory_is_io_error() {
        let dir = TempDir::new("file-dir");
        let err = RealFile::open(dir.path()).unwrap_err();
        assert!(
            matches!(&err, OpenError::Io { source, .. } if source.raw_os_error() == Some(libc::EISDIR)),
            "{err:?}"
        );
    }

    #[test]
    fn not_panthor_and_major_messages() {
        let err = OpenError::NotPanthor {
            path: Some("/dev/dri/renderD128".into()),
            driver: "amdgpu".into(),
        };
        assert_eq!(
            err.to_string(),
            "/dev/dri/renderD128 is a DRM device of driver \"amdgpu\", not panthor"
        );
        let err = OpenError::UnsupportedMajor {
            path: None,
            version: DrmVersion {
                major: 2,
                ..panthor(0)
            },
        };
        assert_eq!(
            err.to_string(),
            "the file descriptor is panthor 2.0, but only major version 1 is supported"
        );
    }

    #[test]
    fn sparse_needs_1_9() {
        assert_eq!(
            check_minor(&panthor(8), SPARSE.0, SPARSE.1),
            Err(Errno::EOPNOTSUPP)
        );
        assert_eq!(
            check_minor(&panthor(0), SPARSE.0, SPARSE.1),
            Err(Errno::EOPNOTSUPP)
        );
        assert_eq!(check_minor(&panthor(9), SPARSE.0, SPARSE.1), Ok(()));
        assert_eq!(check_minor(&panthor(12), SPARSE.0, SPARSE.1), Ok(()));
        assert_eq!(
            missing_feature(&panthor(8), SPARSE.0, SPARSE.1).unwrap(),
            "kernel panthor 1.8 has no sparse mappings (DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE) \
             (needs 1.9); returning EOPNOTSUPP without calling the kernel"
        );
        assert_eq!(missing_feature(&panthor(9), SPARSE.0, SPARSE.1), None);
    }

    #[test]
    fn gating_refuses_other_drivers_and_majors() {
        let msm = DrmVersion {
            name: "msm".into(),
            ..panthor(12)
        };
        assert_eq!(
            check_minor(&msm, SPARSE.0, SPARSE.1),
            Err(Errno::EOPNOTSUPP)
        );
        let why = missing_feature(&msm, SPARSE.0, SPARSE.1).unwrap();
        assert!(
            why.starts_with("kernel driver \"msm\" 1.12 is not panthor"),
            "{why}"
        );
        let major2 = DrmVersion {
            major: 2,
            ..panthor(12)
        };
        assert_eq!(check_minor(&major2, 0, "anything"), Err(Errno::EOPNOTSUPP));
    }

    #[test]
    fn every_gate_has_its_documented_minor() {
        for (gate, minor) in [
            (SPARSE, 9),
            (MMU_INFO, 9),
            (BO_SET_LABEL, 4),
            (SET_USER_MMIO_OFFSET, 5),
            (BO_SYNC, 7),
            (BO_QUERY_INFO, 7),
        ] {
            assert_eq!(gate.0, minor, "{}", gate.1);
            assert_eq!(
                check_minor(&panthor(minor - 1), gate.0, gate.1),
                Err(Errno::EOPNOTSUPP)
            );
            assert_eq!(check_minor(&panthor(minor), gate.0, gate.1), Ok(()));
        }
    }

    #[test]
    fn obj_array_keeps_address_stride_and_count() {
        let syncs = [drm_panthor_sync_op::default(); 3];
        let array = obj_array(&syncs).unwrap();
        assert_eq!(array.stride, 16);
        assert_eq!(array.count, 3);
        assert_eq!(array.array, syncs.as_ptr() as usize as u64);
        assert_eq!(obj_array::<drm_panthor_sync_op>(&[]).unwrap().array, 0);
    }
}
