//! What the kernel writes into a queue's ring buffer for one job: the
//! instruction sequence panthor's `queue_run_job` emits (flush caches, call
//! the user's stream, bump the queue's sequence number, error barrier).
//!
//! The kernel encodes these few instructions itself (it cannot depend on a
//! user-space CS builder); the virtual Mali's decoder checks them in its
//! tests. Opcodes and field positions are genxml v10's.

/// Bytes one job takes in the ring (16 instructions, as panthor pads it).
pub const JOB_BYTES: u64 = 128;

/// Registers panthor leaves to the kernel at the top of the register file
/// (`PANTHOR_UNPRESERVED_CS_REG_COUNT`).
pub const UNPRESERVED_REGS: u32 = 4;

const MOVE48: u64 = 1;
const MOVE32: u64 = 2;
const WAIT: u64 = 3;
const CALL: u64 = 32;
const FLUSH_CACHE2: u64 = 36;
const ERROR_BARRIER: u64 = 47;
const SYNC_ADD64: u64 = 51;

/// FLUSH_CACHE2 modes: clean+invalidate L2 and LSC, invalidate "other".
const FLUSH_CLEAN_INV_ALL: u64 = 0x233;

const fn op(o: u64) -> u64 {
    o << 56
}

/// One job's ring contents.
#[derive(Clone, Copy, Debug)]
pub struct RingJob {
    /// The user stream (`stream_addr`, `stream_size`).
    pub stream_addr: u64,
    pub stream_size: u32,
    /// `latest_flush` from the submit: the flush ID the stream was built at.
    pub latest_flush: u32,
    /// VA of the queue's `{ u64 seqno; u32 status; u32 pad; }` sync object.
    pub sync_addr: u64,
    /// First register of the kernel's scratch (`cs_reg_count - 4`).
    pub scratch_reg: u32,
}

impl RingJob {
    /// The 16 instruction words.
    pub fn encode(&self) -> [u64; 16] {
        let addr = self.scratch_reg as u64;
        let val = addr + 2;
        let mut w = [0u64; 16];
        let seq = [
            op(MOVE32) | val << 48 | self.latest_flush as u64,
            op(FLUSH_CACHE2) | val << 40 | FLUSH_CLEAN_INV_ALL,
            op(MOVE48) | addr << 48 | (self.stream_addr & 0xffff_ffff_ffff),
            op(MOVE32) | val << 48 | self.stream_size as u64,
            // Wait for the flush (scoreboard slot 0).
            op(WAIT) | 1 << 16,
            op(CALL) | addr << 40 | val << 32,
            op(MOVE48) | addr << 48 | (self.sync_addr & 0xffff_ffff_ffff),
            op(MOVE48) | val << 48 | 1,
            // Wait for everything the stream started.
            op(WAIT) | 0xff << 16,
            // System scope, propagate errors into the status word.
            op(SYNC_ADD64) | addr << 40 | val << 32 | 1,
            op(ERROR_BARRIER),
        ];
        w[..seq.len()].copy_from_slice(&seq);
        w
    }
}
