//! The virtual Mali: simulated hardware for the kernel side to drive.
//!
//! - [`memory`]: physical memory (one memfd), page allocation, CPU views;
//! - `cs`: the CSF command-stream instruction set (encoder, decoder,
//!   interpreter), encodings as on real CSF hardware.

pub mod cs;
pub mod memory;
