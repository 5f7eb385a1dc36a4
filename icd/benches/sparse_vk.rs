//! Sparse benchmarks through the real loader (run with
//! `cargo build --release -p panthor-vk && cargo bench -p panthor-vk --bench sparse_vk`):
//!
//! - `vkQueueBindSparse` throughput: 64 KiB block binds and unbinds per
//!   second, in batches of 1, 64 and 4096 blocks, with memory blocks
//!   scattered (every bind is its own VM op) and contiguous (the driver
//!   merges neighbours into one op);
//! - copy throughput into a fully bound sparse buffer vs a dense buffer of
//!   the same size, as a ratio measured in the same run.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use ash::vk;
use common::*;

const BLOCKS: u64 = 4096;

fn bind_rate(c: &Ctx, batch: u64, scattered: bool) -> f64 {
    let sparse = c.sparse_buffer(BLOCKS * BLOCK);
    let mem = c.memory(BLOCKS * BLOCK);
    let target = |i: u64| if scattered { (i * 1031) % BLOCKS } else { i };
    let rounds = (BLOCKS / batch).clamp(1, 64);
    let start = Instant::now();
    let mut blocks = 0u64;
    for r in 0..rounds {
        let first = (r * batch) % BLOCKS;
        let binds: Vec<_> = (first..first + batch)
            .map(|i| bind(i * BLOCK, BLOCK, mem, target(i) * BLOCK))
            .collect();
        let unbinds: Vec<_> = (first..first + batch)
            .map(|i| bind(i * BLOCK, BLOCK, vk::DeviceMemory::null(), 0))
            .collect();
        assert_eq!(c.bind(c.sparse, sparse, &binds), vk::Result::SUCCESS);
        assert_eq!(c.bind(c.sparse, sparse, &unbinds), vk::Result::SUCCESS);
        blocks += 2 * batch;
    }
    let rate = blocks as f64 / start.elapsed().as_secs_f64();
    // SAFETY: idle objects.
    unsafe {
        c.device.destroy_buffer(sparse, None);
        c.device.free_memory(mem, None);
    }
    rate
}

/// Median seconds per copy of `size` bytes into each destination, the
/// destinations measured alternately so both see the same machine state.
fn copy_seconds(
    c: &Ctx,
    src: vk::Buffer,
    dsts: [vk::Buffer; 2],
    size: u64,
    reps: usize,
) -> [f64; 2] {
    let cbs = dsts.map(|dst| c.record(|cb| c.copy(cb, src, 0, dst, 0, size)));
    for cb in cbs {
        c.submit_wait(c.universal, &[cb]); // warm up: first touch of every page
    }
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..reps {
        for (i, cb) in cbs.iter().enumerate() {
            let start = Instant::now();
            c.submit_wait(c.universal, &[*cb]);
            times[i].push(start.elapsed().as_secs_f64());
        }
    }
    times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    })
}

fn main() {
    let c = Ctx::new();
    println!("vkQueueBindSparse, 64 KiB blocks (bind + unbind, fence-waited per call):");
    for batch in [1u64, 64, 4096] {
        let scattered = bind_rate(&c, batch, true);
        let contiguous = bind_rate(&c, batch, false);
        println!(
            "  batch {batch:>4}: {:>10.0} blocks/s scattered, {:>10.0} blocks/s contiguous",
            scattered, contiguous
        );
    }

    let size = 16u64 << 20;
    let blocks = size / BLOCK;
    let src = c.dense(size);
    src.write(0, &pattern(1, size as usize));
    let dense = c.dense(size);
    let sparse = c.sparse_buffer(size);
    let mem = c.memory(size);
    let binds: Vec<_> = (0..blocks)
        .map(|i| bind(i * BLOCK, BLOCK, mem, ((i * 7) % blocks) * BLOCK))
        .collect();
    assert_eq!(c.bind(c.sparse, sparse, &binds), vk::Result::SUCCESS);
    let reps = 15;
    let [t_dense, t_sparse] = copy_seconds(&c, src.buffer, [dense.buffer, sparse], size, reps);
    let gbs = |t: f64| size as f64 / t / 1e9;
    println!("vkCmdCopyBuffer of 16 MiB (median of {reps}, alternating):");
    println!("  dense:  {:.2} GB/s", gbs(t_dense));
    println!(
        "  sparse: {:.2} GB/s (scattered 64 KiB blocks)",
        gbs(t_sparse)
    );
    println!("  sparse/dense throughput ratio: {:.2}", t_dense / t_sparse);
}
