//! The virtual Mali: simulated hardware for the kernel side to drive.
//!
//! - `cs`: the CSF command-stream instruction set (encoder, decoder,
//!   interpreter), encodings as on real CSF hardware.

pub mod cs;
