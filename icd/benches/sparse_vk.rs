//! Sparse benchmarks through the real loader (run with
//! `cargo build --release -p panthor-vk && cargo bench -p panthor-vk --bench sparse_vk`):
//!
//! - `vkQueueBindSparse` throughput: 64 KiB block binds and unbinds per
//!   second, in batches of 1, 64 and 4096 blocks, with memory blocks
//!   scattered (every bind is its own VM op) and contiguous (the driver
//!   merges neighbours into one op);
//! - copy throughput into a fully bound sparse buffer vs a dense buffer of
//!   the same size, as a ratio measured in the same run, through the CS copy
//!   loop (`vkCmdCopyBuffer`) and through a compute kernel on the shader
//!   cores, with the ratio of the two.

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
    c.destroy_buffer(sparse);
    c.free_memory(mem);
    rate
}

/// Median seconds per run of each command buffer, run alternately so all
/// see the same machine state.
fn median_seconds<const N: usize>(c: &Ctx, cbs: [vk::CommandBuffer; N], reps: usize) -> [f64; N] {
    for cb in cbs {
        c.submit_wait(c.universal, &[cb]); // warm up: first touch of every page
    }
    let mut times = [(); N].map(|_| Vec::new());
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

/// A command buffer copying `size` bytes from `src` to `dst` with the
/// `copy.comp` kernel (16 bytes per invocation) on the shader cores.
fn compute_copy(
    c: &Ctx,
    k: &Kernel,
    src: vk::Buffer,
    dst: vk::Buffer,
    size: u64,
) -> vk::CommandBuffer {
    // One descriptor set per kernel, so each destination gets its own.
    k.buffer(c, 0, src);
    k.buffer(c, 1, dst);
    c.record(|cb| {
        k.bind(c, cb);
        // SAFETY: recording a dispatch over the bound set.
        unsafe { c.device.cmd_dispatch(cb, (size / 16 / 64) as u32, 1, 1) };
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
    let gbs = |t: f64| size as f64 / t / 1e9;
    let transfer =
        [dense.buffer, sparse].map(|dst| c.record(|cb| c.copy(cb, src.buffer, 0, dst, 0, size)));
    let [t_dense, t_sparse] = median_seconds(&c, transfer, reps);
    println!("vkCmdCopyBuffer of 16 MiB (CS copy loop; median of {reps}, alternating):");
    println!("  dense:  {:.2} GB/s", gbs(t_dense));
    println!(
        "  sparse: {:.2} GB/s (scattered 64 KiB blocks)",
        gbs(t_sparse)
    );
    println!("  sparse/dense throughput ratio: {:.2}", t_dense / t_sparse);

    let kernels =
        [(); 2].map(|_| Kernel::new(&c, "copy.comp", &[vk::DescriptorType::STORAGE_BUFFER; 2], 0));
    let compute = [
        compute_copy(&c, &kernels[0], src.buffer, dense.buffer, size),
        compute_copy(&c, &kernels[1], src.buffer, sparse, size),
    ];
    let [c_dense, c_sparse] = median_seconds(&c, compute, 5);
    assert_eq!(
        pattern(1, size as usize),
        sparse_contents(&c, sparse, size),
        "the compute copy must land in the sparse buffer's memory"
    );
    println!("Compute copy of 16 MiB (copy.comp, uvec4 per invocation; median of 5, alternating):");
    println!("  dense:  {:.3} GB/s", gbs(c_dense));
    println!("  sparse: {:.3} GB/s", gbs(c_sparse));
    println!("  sparse/dense throughput ratio: {:.2}", c_dense / c_sparse);
    println!(
        "  compute/CS copy throughput ratio (sparse): {:.3}",
        t_sparse / c_sparse
    );
    for k in kernels {
        k.destroy(&c);
    }
}

/// What `sparse` holds, read back through a CS copy.
fn sparse_contents(c: &Ctx, sparse: vk::Buffer, size: u64) -> Vec<u8> {
    let out = c.dense(size);
    c.run(|cb| c.copy(cb, sparse, 0, out.buffer, 0, size));
    out.read(0, size as usize)
}
