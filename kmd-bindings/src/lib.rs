//! The panthor uAPI in Rust: what user space sees of the Linux `panthor`
//! kernel driver (Arm Mali CSF GPUs).
//!
//! - [`uapi`]: the `#[repr(C)]` ioctl structs, flags and request codes of
//!   `panthor_drm.h`, plus the sparse-mapping flag of the seed patch.
//!   Dependency-free, so the kernel module can include the file by path.
//! - [`args`]: ioctl arguments whose C arrays are slices here;
//! - [`errno`]: the [`Errno`] every call fails with.
//! - [`device`]: [`PanthorFile`], one method per ioctl: the only surface the
//!   Vulkan driver talks to.
//! - [`real`]: the backend over a real `/dev/dri/renderD*` node (drm-rs and
//!   raw ioctls), with render-node enumeration.
//!
//! The in-process virtual Mali (`kmd` + `sim`) implements the same trait.

#![cfg_attr(not(feature = "std"), no_std)]

pub mod args;
#[cfg(feature = "std")]
pub mod device;
pub mod errno;
#[cfg(feature = "std")]
pub mod real;
pub mod uapi;

#[cfg(feature = "std")]
pub use device::PanthorFile;
pub use errno::Errno;
