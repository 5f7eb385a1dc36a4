//! What the layer costs `vkQueueBindSparse`: the same batches with and
//! without `VK_LAYER_PANTHOR_sparse`, in one run, through the real loader
//! over our ICD on the virtual Mali. Run with
//!
//! ```sh
//! cargo build --release -p panthor-vk -p panthor-sparse-layer
//! cargo bench -p panthor-sparse-layer --bench bind_overhead
//! ```
//!
//! A batch is one `vkQueueBindSparse` of 4096 separate 64 KiB block binds
//! (memory blocks scattered, so every bind is its own driver op), then one
//! of 4096 unbinds. Rounds alternate between the two devices; the medians
//! are compared: the time of the call alone (what the layer adds to the
//! caller's thread) and of the call plus its fence (until the binds are
//! done). Goal: under 10 % (ratio < 1.10).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use ash::vk;
use common::*;

const BLOCKS: u64 = 4096;
const ROUNDS: usize = 30;
const WARMUP: usize = 3;

struct Side {
    ctx: Ctx,
    buffer: vk::Buffer,
    binds: Vec<vk::SparseMemoryBind>,
    unbinds: Vec<vk::SparseMemoryBind>,
    call: Vec<Duration>,
    total: Vec<Duration>,
}

impl Side {
    fn new(layer: bool) -> Side {
        let ctx = Ctx::with(layer, Messages::Created);
        let buffer = ctx.sparse_buffer(BLOCKS, false);
        let mem = ctx.memory(BLOCKS * BLOCK);
        let binds = (0..BLOCKS)
            .map(|i| bind(i * BLOCK, BLOCK, mem, (i * 1031) % BLOCKS * BLOCK))
            .collect();
        let unbinds = (0..BLOCKS).map(|i| unbind(i * BLOCK, BLOCK)).collect();
        Side {
            ctx,
            buffer,
            binds,
            unbinds,
            call: Vec::new(),
            total: Vec::new(),
        }
    }

    /// One call of `binds`; returns (call time, call + fence time).
    fn submit(&self, binds: &[vk::SparseMemoryBind]) -> (Duration, Duration) {
        let c = &self.ctx;
        let fence = c.fence();
        let bb = [vk::SparseBufferMemoryBindInfo::default()
            .buffer(self.buffer)
            .binds(binds)];
        let info = [vk::BindSparseInfo::default().buffer_binds(&bb)];
        let start = Instant::now();
        // SAFETY: valid bind info; we wait for the fence before reuse.
        unsafe {
            c.device
                .queue_bind_sparse(c.sparse, &info, fence)
                .expect("vkQueueBindSparse");
            let call = start.elapsed();
            c.device
                .wait_for_fences(&[fence], true, 10_000_000_000)
                .expect("bind fence");
            let total = start.elapsed();
            c.device.destroy_fence(fence, None);
            (call, total)
        }
    }

    fn round(&mut self, keep: bool) {
        for binds in [&self.binds, &self.unbinds] {
            let (call, total) = self.submit(binds);
            if keep {
                self.call.push(call);
                self.total.push(total);
            }
        }
    }
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is ignored.
    let mut plain = Side::new(false);
    let mut layered = Side::new(true);
    for r in 0..WARMUP + ROUNDS {
        let keep = r >= WARMUP;
        plain.round(keep);
        layered.round(keep);
    }
    let got = layered.ctx.take();
    assert!(got.is_empty(), "the layer reported good binds: {got:?}");
    let (pc, lc) = (median(&plain.call), median(&layered.call));
    let (pt, lt) = (median(&plain.total), median(&layered.total));
    println!(
        "vkQueueBindSparse, {BLOCKS} x 64 KiB binds or unbinds per call, median of {} calls:",
        2 * ROUNDS
    );
    println!(
        "  call only:     without layer {:8.3} ms, with layer {:8.3} ms, ratio {:.3}",
        ms(pc),
        ms(lc),
        ms(lc) / ms(pc)
    );
    println!(
        "  call + fence:  without layer {:8.3} ms, with layer {:8.3} ms, ratio {:.3}",
        ms(pt),
        ms(lt),
        ms(lt) / ms(pt)
    );
    println!(
        "  layer cost per block: {:.1} ns",
        (lc.as_secs_f64() - pc.as_secs_f64()) * 1e9 / BLOCKS as f64
    );
}
