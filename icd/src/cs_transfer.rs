//! Transfer commands lowered to CSF instructions: copies, fills and
//! updates move 32-bit words with `LOAD_MULTIPLE`/`STORE_MULTIPLE` (16
//! registers, 64 bytes, an iteration), barriers drain the scoreboard and
//! flush caches, events are `SYNC_SET32`/`SYNC_WAIT32` on a word in memory.
//!
//! Register use (the stream is the whole job, nothing else owns registers):
//! d0 source, d2 destination, r4 loop count, r6 flush id, d8 event address,
//! r10 event value, r16..r31 data.

use mali_csf::{Async, Condition, CsBuilder, FlushMode, OtherFlushMode, SyncScope};

const SRC: u8 = 0;
const DST: u8 = 2;
const COUNT: u8 = 4;
const FLUSH_ID: u8 = 6;
const EVENT_ADDR: u8 = 8;
const EVENT_VALUE: u8 = 10;
const DATA: u8 = 16;
/// Bytes moved per full iteration (16 registers).
pub const CHUNK: u64 = 64;

/// A transfer the CS cannot express: bytes not in whole aligned words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unaligned {
    pub addr: u64,
    pub bytes: u64,
}

fn check_words(addrs: &[u64], bytes: u64) -> Result<(), Unaligned> {
    match addrs.iter().find(|&&a| a % 4 != 0) {
        Some(&addr) => Err(Unaligned { addr, bytes }),
        None if bytes % 4 != 0 => Err(Unaligned {
            addr: addrs[0],
            bytes,
        }),
        None => Ok(()),
    }
}

fn mask(words: u64) -> u16 {
    ((1u32 << words) - 1) as u16
}

/// Emits a loop of `iterations` (at most 2^32 - 1) running `body`, which
/// must advance its own addresses.
fn emit_loop(b: &mut CsBuilder, iterations: u64, body: impl Fn(&mut CsBuilder)) {
    let mut left = iterations;
    while left > 0 {
        let n = left.min(u32::MAX as u64);
        b.mov32(COUNT, n as u32);
        let top = b.new_label();
        b.bind(top);
        body(b);
        b.add32(COUNT, COUNT, -1)
            .branch_to(Condition::Nequal, COUNT, top);
        left -= n;
    }
}

/// Copies `bytes` from `src` to `dst` (word-aligned addresses and size).
pub fn copy(b: &mut CsBuilder, src: u64, dst: u64, bytes: u64) -> Result<(), Unaligned> {
    check_words(&[src, dst], bytes)?;
    if bytes == 0 {
        return Ok(());
    }
    b.mov48(SRC, src).mov48(DST, dst);
    emit_loop(b, bytes / CHUNK, |b| {
        b.load_multiple(DATA, 0xffff, SRC, 0)
            .wait(1)
            .store_multiple(DATA, 0xffff, DST, 0)
            .add64(SRC, SRC, CHUNK as i32)
            .add64(DST, DST, CHUNK as i32);
    });
    let tail = (bytes % CHUNK) / 4;
    if tail > 0 {
        b.load_multiple(DATA, mask(tail), SRC, 0)
            .wait(1)
            .store_multiple(DATA, mask(tail), DST, 0);
    }
    b.wait(1);
    Ok(())
}

/// Fills `bytes` at `dst` with the 32-bit `value` (word-aligned).
pub fn fill(b: &mut CsBuilder, dst: u64, bytes: u64, value: u32) -> Result<(), Unaligned> {
    check_words(&[dst], bytes)?;
    if bytes == 0 {
        return Ok(());
    }
    for r in 0..16 {
        b.mov32(DATA + r, value);
    }
    b.mov48(DST, dst);
    emit_loop(b, bytes / CHUNK, |b| {
        b.store_multiple(DATA, 0xffff, DST, 0)
            .add64(DST, DST, CHUNK as i32);
    });
    let tail = (bytes % CHUNK) / 4;
    if tail > 0 {
        b.store_multiple(DATA, mask(tail), DST, 0);
    }
    b.wait(1);
    Ok(())
}

/// Writes `data` (whole words) at `dst`, the words carried as immediates.
pub fn update(b: &mut CsBuilder, dst: u64, data: &[u8]) -> Result<(), Unaligned> {
    check_words(&[dst], data.len() as u64)?;
    b.mov48(DST, dst);
    for chunk in data.chunks(CHUNK as usize) {
        let words = chunk.len() / 4;
        for (i, w) in chunk.chunks_exact(4).enumerate() {
            b.mov32(DATA + i as u8, u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        }
        b.store_multiple(DATA, mask(words as u64), DST, 0)
            .add64(DST, DST, CHUNK as i32);
    }
    b.wait(1);
    Ok(())
}

/// A full barrier: everything before has completed and is visible to
/// everything after (caches cleaned and invalidated).
pub fn barrier(b: &mut CsBuilder) {
    b.wait(0xff)
        .mov32(FLUSH_ID, 0)
        .flush_cache2(
            FlushMode::CleanInvalidate,
            FlushMode::CleanInvalidate,
            OtherFlushMode::Invalidate,
            FLUSH_ID,
            Async::defer(0, 0),
        )
        .wait(1);
}

/// Sets the event word at `va` to `value` once earlier work is done.
pub fn set_event(b: &mut CsBuilder, va: u64, value: u32) {
    barrier(b);
    b.mov48(EVENT_ADDR, va)
        .mov32(EVENT_VALUE, value)
        .sync_set32(
            EVENT_ADDR,
            EVENT_VALUE,
            SyncScope::System,
            false,
            Async::NOW,
        );
}

/// Stalls the stream until the event word at `va` is non-zero (set).
pub fn wait_event(b: &mut CsBuilder, va: u64) {
    b.mov48(EVENT_ADDR, va).mov32(EVENT_VALUE, 0).sync_wait32(
        Condition::Greater,
        EVENT_ADDR,
        EVENT_VALUE,
        false,
    );
    barrier(b);
}
