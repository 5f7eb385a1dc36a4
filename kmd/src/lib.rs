#![no_std]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub use panthor_uapi::errno::{self, Errno};
pub use panthor_uapi::uapi;

#[macro_use]
pub mod diag;
pub mod bo;
pub mod file;
pub mod hw;
pub mod lock_region;
pub mod pgtable;
pub mod pte;
pub mod shim;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod va;
pub mod vm;
#[cfg(test)]
mod vm_tests;
