//! The kernel side of panthor's GPU virtual memory, with sparse mappings.
//!
//! This is the logic the panthor sparse patches change, written the way
//! kernel code must be (`no_std` + `alloc`, fallible allocation, prepare then
//! commit, no panics on user input) so the same files can build into a Linux
//! module. Hosted in user space it backs the virtual Mali.
//!
//! Read in this order:
//! - [`hw`]: the narrow hardware surface (physical pages, MMU AS registers);
//! - [`pte`]: the AArch64 descriptor format, [`pgtable`]: one VM's page
//!   tables (2 MiB blocks, shared sparse tables, copy-on-write);
//! - [`lock_region`]: making an update atomic for the GPU;
//! - [`va`]: the VA manager (drm_gpuvm's split semantics);
//! - [`vm`]: VM_BIND: validation, preallocation, commit;
//! - [`file`]: per open file: VM ids and the sparse dummy BO; [`gem`]: its
//!   BO handles;
//! - [`bo`]: BO backing; [`shim`]: fallible allocation and locks.
//!
//! The uAPI types come from `panthor-uapi` without its std parts.

#![no_std]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub use panthor_uapi::args;
pub use panthor_uapi::errno::{self, Errno};
pub use panthor_uapi::uapi;

#[macro_use]
pub mod diag;
pub mod bo;
pub mod csf_ring;
pub mod device;
pub mod fence;
pub mod file;
pub mod gem;
pub mod gpu_info;
pub mod group;
pub mod hw;
pub mod lock_region;
pub mod pgtable;
pub mod pte;
pub mod sched;
#[cfg(test)]
mod sched_tests;
pub mod shim;
pub mod submit;
pub mod syncobj;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod va;
pub mod vm;
pub mod vm_pool;
#[cfg(test)]
mod vm_tests;
pub mod wait;
