//! The virtual Mali's command-stream interpreter ([`CsState`]), over the
//! instruction set of the `mali-csf` crate (re-exported here).
//!
//! The interpreter executes instructions in order: every asynchronous
//! operation (loads, stores, sync updates, cache flushes) completes before the
//! next instruction starts, so scoreboard waits are always satisfied at once.
//! Only `SYNC_WAIT` can stall a stream (see [`Outcome::Blocked`]).
//!
//! Execution semantics follow Mesa's CSF interpreter in
//! `src/panfrost/genxml/decode_csf.c` (branch offsets relative to the next
//! instruction, signed compare of the branch register with zero, CALL/JUMP
//! buffers given as address pair + byte length, return at the end of a called
//! buffer, call depth) and panthor's evaluation of sync waits (unsigned
//! `value <= ref` / `value > ref`). Choices the sources do not settle:
//!
//! - `LOAD/STORE_MULTIPLE` with a mask that has holes: mask bit `i` uses the
//!   word at `address + offset + 4*i` (Mesa's decoder). Mesa's register
//!   save/restore in `cs_builder.h` instead advances its offset by the number
//!   of set bits, which suggests packed slots. Masks of the form `2^n - 1`
//!   (all the ICD needs) mean the same under both readings.
//! - Faults this crate adds where hardware behaviour is unknown: odd 64-bit
//!   register pairs and indexes above r95 ([`CsFault::InvalidRegister`]),
//!   branches leaving the current buffer, misaligned sync objects, reserved
//!   enum values (decoded as [`Instr::Invalid`]).
//! - `error_propagate` writes the stream's error state (always 0, NO_FAULT:
//!   execution stops at the first fault) next to the sync value; genxml only
//!   says the status is written at `[Address + 4]` / `[Address + 8]`.
//!   `error_reject` on `SYNC_WAIT` is decoded but has no effect (no error
//!   state is inherited).
//! - `JUMP` is accepted in the top-level buffer (Mesa's decoder refuses it
//!   there because it cannot follow the kernel's ring buffer).
//! - `SYNC_WAIT` with conditions other than LEQUAL/GREATER (Mesa never emits
//!   them, panthor's `CS_STATUS_WAIT` names only those two) compares the
//!   natural unsigned way.

mod interp;

#[cfg(test)]
mod tests;

pub use interp::{
    ComputeError, ComputeFault, ComputeJob, CsFault, CsMemory, CsState, MemFault, Outcome,
    SyncWaitStatus,
};
pub use mali_csf::*;
