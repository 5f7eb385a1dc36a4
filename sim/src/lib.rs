//! The virtual Mali: simulated hardware for the kernel side to drive.
//!
//! - [`memory`]: physical memory (one memfd), page allocation, CPU views;
//! - [`mmu`]: address-space registers, table walker, TLB, lock region, faults;
//! - [`device`]: [`device::VirtualMali`], memory + MMU as the kernel side's hardware;
//! - `cs`: the CSF command-stream instruction set (encoder, decoder,
//!   interpreter), encodings as on real CSF hardware.

pub mod cs;
pub mod device;
pub mod memory;
pub mod mmu;
