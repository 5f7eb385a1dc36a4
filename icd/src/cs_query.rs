//! Query commands lowered to CSF instructions: timestamps are
//! `STORE_STATE.timestamp` into a query slot, availability is a
//! `SYNC_SET32` of its word (so a `SYNC_WAIT32` on it, from a copy with
//! `VK_QUERY_RESULT_WAIT_BIT`, wakes when it lands), resets are fills and
//! result copies are word moves with a branch over unavailable results.
//!
//! Slot layout: see `query.rs` (result u64 at +0, availability u32 at +8).
//! Register use (the stream is the whole job; every command loads what it
//! uses): d0 slot address, d2 destination, d8 availability address,
//! r10 constant 0/1, r16..r19 the slot's words as loaded.

use mali_csf::{Async, Condition, CsBuilder, StateKind, SyncScope};

use crate::cs_transfer;
use crate::query::{ResultFlags, AVAILABLE, SLOT};

const SLOT_ADDR: u8 = 0;
const DST: u8 = 2;
const AVAIL_ADDR: u8 = 8;
const CONST: u8 = 10;
/// r16 result low, r17 result high, r18 availability, r19 zero.
const DATA: u8 = 16;

/// Clears `count` slots from `va`: results 0, unavailable.
pub fn reset(b: &mut CsBuilder, va: u64, count: u32) {
    // Slots are 16-byte aligned and sized, so the fill is whole words.
    let _ = cs_transfer::fill(b, va, count as u64 * SLOT, 0);
}

/// Writes the timestamp into the slot at `va` and marks it available.
/// `after_prior_work`: sample once earlier commands are complete (every
/// stage but TOP_OF_PIPE), as the spec's "all previous commands have
/// completed the stage" asks.
pub fn write_timestamp(b: &mut CsBuilder, va: u64, after_prior_work: bool) {
    if after_prior_work {
        cs_transfer::barrier(b);
    }
    b.mov48(SLOT_ADDR, va)
        .store_state(StateKind::Timestamp, SLOT_ADDR, 0, Async::NOW)
        // The result must land before its availability does.
        .wait(1)
        .mov48(AVAIL_ADDR, va + AVAILABLE)
        .mov32(CONST, 1)
        .sync_set32(AVAIL_ADDR, CONST, SyncScope::System, false, Async::NOW);
}

/// Copies the slot at `va` to `dst` as `how` says.
pub fn copy_result(b: &mut CsBuilder, va: u64, dst: u64, how: &ResultFlags) {
    if how.wait {
        b.mov48(AVAIL_ADDR, va + AVAILABLE)
            .mov32(CONST, 0)
            .sync_wait32(Condition::Greater, AVAIL_ADDR, CONST, false);
    }
    let words: u16 = if how.wide { 0b11 } else { 0b1 };
    let word_bytes = how.word() as i16;
    b.mov48(SLOT_ADDR, va)
        .mov48(DST, dst)
        .load_multiple(DATA, 0b111, SLOT_ADDR, 0)
        .wait(1)
        .mov32(DATA + 3, 0);
    if how.wait || how.partial {
        b.store_multiple(DATA, words, DST, 0).wait(1);
    } else {
        // Unavailable: leave the destination's result untouched.
        let skip = b.new_label();
        b.branch_to(Condition::Equal, DATA + 2, skip)
            .store_multiple(DATA, words, DST, 0)
            .wait(1);
        b.bind(skip);
    }
    if how.with_availability {
        b.store_multiple(DATA + 2, words, DST, word_bytes).wait(1);
    }
}
