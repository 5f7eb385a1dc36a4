//! vkQueueBindSparse as a queue operation: fences, binary and timeline
//! semaphores, a dedicated sparse queue, several batches in one call, and
//! binds ordered against transfer work on another queue. Where the order
//! matters, a host-signalled timeline semaphore holds the first operation
//! back, so a driver that ignored a wait would be caught every time, not
//! only when it happened to be slow.

use std::time::Duration;

use ash::vk;

use crate::case::{Call, CaseResult, Group, Stop};
use crate::gpu::{check_ranges, pattern, Gpu, Queue, Sync};
use crate::{ensure, require};

pub fn add(g: &mut Group) {
    let mut q = g.group("bind_sparse");
    q.case("no_binds_fence", |vk| no_binds_fence(&vk.device()?));
    q.case("fence", |vk| fence(&vk.device()?));
    q.case("binary_semaphore_signal", |vk| {
        let gpu = vk.device()?;
        binary_signal(&gpu, gpu.universal)
    });
    q.case("dedicated_sparse_queue", |vk| {
        let gpu = vk.device()?;
        let Some(sparse) = gpu.sparse_only else {
            require!(false, "no queue family with SPARSE_BINDING alone");
            unreachable!()
        };
        binary_signal(&gpu, sparse)
    });
    q.case("timeline_wait_and_signal", |vk| {
        timeline_wait_and_signal(&vk.device()?)
    });
    q.case("timeline_wait_before_signal", |vk| {
        wait_before_signal(&vk.device()?)
    });
    q.case("multiple_batches", |vk| multiple_batches(&vk.device()?));
    q.case("semaphore_only_batches", |vk| {
        semaphore_only_batches(&vk.device()?)
    });
    q.case("ordered_after_transfer", |vk| {
        ordered_after_transfer(&vk.device()?)
    });
}

/// How long a case waits to see that held-back work has not run.
const HOLD: Duration = Duration::from_millis(50);

/// A fully bindable sparse buffer of four blocks and memory for it.
struct Target {
    buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    size: u64,
    block: u64,
}

fn target(gpu: &Gpu) -> Result<Target, Stop> {
    let probe = gpu.sparse_buffer(1, vk::BufferCreateFlags::empty())?;
    let block = gpu.buffer_requirements(probe).alignment;
    let size = 4 * block;
    let buffer = gpu.sparse_buffer(size, vk::BufferCreateFlags::empty())?;
    let reqs = gpu.buffer_requirements(buffer);
    let memory = gpu.memory_for(&reqs, reqs.size, vk::MemoryPropertyFlags::DEVICE_LOCAL)?;
    Ok(Target {
        buffer,
        memory,
        size: reqs.size,
        block,
    })
}

impl Target {
    fn bind(&self, memory: vk::DeviceMemory) -> vk::SparseMemoryBind {
        self.bind_block(memory, 0, self.size / self.block)
    }

    /// Blocks `first..first + count` at the same offsets in `memory`.
    fn bind_block(&self, memory: vk::DeviceMemory, first: u64, count: u64) -> vk::SparseMemoryBind {
        vk::SparseMemoryBind {
            resource_offset: first * self.block,
            size: count * self.block,
            memory,
            memory_offset: first * self.block,
            flags: vk::SparseMemoryBindFlags::empty(),
        }
    }

    /// A command buffer for `queue` that copies pattern `seed` into the
    /// whole buffer, and the pattern.
    fn write_command(
        &self,
        gpu: &Gpu,
        queue: Queue,
        seed: u64,
    ) -> Result<(Vec<u8>, vk::CommandBuffer), Stop> {
        let data = pattern(seed, self.size as usize);
        // The staging buffer lives as long as the device (Gpu owns it).
        let staging = gpu.staging(self.size)?;
        staging.write(0, &data);
        let region = [vk::BufferCopy {
            src_offset: 0,
            dst_offset: 0,
            size: self.size,
        }];
        // SAFETY: both buffers are of this device and the region fits them.
        let cmd = gpu.record(queue, |d, cmd| unsafe {
            d.cmd_copy_buffer(cmd, staging.buffer, self.buffer, &region)
        })?;
        Ok((data, cmd))
    }

    /// Fails unless the whole buffer reads back as `want`.
    fn expect(&self, gpu: &Gpu, want: &[u8], what: &str) -> CaseResult {
        let all = [(0, self.size)];
        let got = gpu.download(self.buffer, self.size, &all)?;
        check_ranges(&got, want, &all, what)
    }

    /// Writes a pattern through the buffer and reads it back.
    fn round_trip(&self, gpu: &Gpu, seed: u64) -> CaseResult {
        let data = pattern(seed, self.size as usize);
        gpu.upload(self.buffer, &data, &[(0, self.size)])?;
        self.expect(gpu, &data, "read back")
    }
}

/// Calls vkQueueBindSparse without waiting.
fn bind_sparse(
    gpu: &Gpu,
    queue: Queue,
    infos: &[vk::BindSparseInfo<'_>],
    fence: vk::Fence,
) -> CaseResult {
    // SAFETY: every handle belongs to this device; the arrays outlive the call.
    unsafe { gpu.device.queue_bind_sparse(queue.queue, infos, fence) }.call("vkQueueBindSparse")
}

fn host_signal(gpu: &Gpu, sem: vk::Semaphore, value: u64) -> CaseResult {
    let tl = gpu.timeline.as_ref().expect("timeline semaphores enabled");
    let info = vk::SemaphoreSignalInfo::default()
        .semaphore(sem)
        .value(value);
    // SAFETY: a timeline semaphore of this device; the value increases.
    unsafe { tl.signal_semaphore(&info) }.call("vkSignalSemaphore")
}

/// Fails if `fence` signalled while its work was being held back.
fn ensure_held(gpu: &Gpu, fence: vk::Fence, what: &str) -> CaseResult {
    std::thread::sleep(HOLD);
    ensure!(
        !gpu.fence_signaled(fence)?,
        "{what} completed before the semaphore it waits on was signalled"
    );
    Ok(())
}

/// A call with no batches still signals its fence.
fn no_binds_fence(gpu: &Gpu) -> CaseResult {
    let fence = gpu.fence()?;
    bind_sparse(gpu, gpu.universal, &[], fence)?;
    gpu.wait(fence)
}

/// The fence signals once the binds are done: data round-trips after it.
fn fence(gpu: &Gpu) -> CaseResult {
    let t = target(gpu)?;
    let binds = [t.bind(t.memory)];
    let info = [vk::SparseBufferMemoryBindInfo::default()
        .buffer(t.buffer)
        .binds(&binds)];
    let fence = gpu.fence()?;
    bind_sparse(
        gpu,
        gpu.universal,
        &[vk::BindSparseInfo::default().buffer_binds(&info)],
        fence,
    )?;
    gpu.wait(fence)?;
    t.round_trip(gpu, 1)
}

/// A bind on `queue` signals a binary semaphore that a copy on the
/// universal queue waits for.
fn binary_signal(gpu: &Gpu, queue: Queue) -> CaseResult {
    let t = target(gpu)?;
    let sem = gpu.semaphore()?;
    let binds = [t.bind(t.memory)];
    let info = [vk::SparseBufferMemoryBindInfo::default()
        .buffer(t.buffer)
        .binds(&binds)];
    let signals = [sem];
    let bind = vk::BindSparseInfo::default()
        .buffer_binds(&info)
        .signal_semaphores(&signals);
    bind_sparse(gpu, queue, &[bind], vk::Fence::null())?;
    let (data, cmd) = t.write_command(gpu, gpu.universal, 2)?;
    let fence = gpu.fence()?;
    let sync = Sync {
        waits: vec![sem],
        ..Default::default()
    };
    gpu.submit(gpu.universal, cmd, &sync, fence)?;
    gpu.wait(fence)?;
    t.expect(gpu, &data, "copied after the bind")
}

/// The bind waits for a timeline value the host signals later and signals
/// a higher value; its fence must not signal before the host does.
fn timeline_wait_and_signal(gpu: &Gpu) -> CaseResult {
    let t = target(gpu)?;
    let sem = gpu.timeline_semaphore(0)?;
    let binds = [t.bind(t.memory)];
    let info = [vk::SparseBufferMemoryBindInfo::default()
        .buffer(t.buffer)
        .binds(&binds)];
    let (waits, wait_values, signals, signal_values) = ([sem], [1u64], [sem], [5u64]);
    let mut values = vk::TimelineSemaphoreSubmitInfo::default()
        .wait_semaphore_values(&wait_values)
        .signal_semaphore_values(&signal_values);
    let bind = vk::BindSparseInfo::default()
        .buffer_binds(&info)
        .wait_semaphores(&waits)
        .signal_semaphores(&signals)
        .push_next(&mut values);
    let fence = gpu.fence()?;
    bind_sparse(gpu, gpu.universal, &[bind], fence)?;
    ensure_held(gpu, fence, "the bind")?;
    host_signal(gpu, sem, 1)?;
    gpu.wait(fence)?;
    let value = gpu.timeline_value(sem)?;
    ensure!(
        value == 5,
        "the timeline reads {value} after the bind, expected 5"
    );
    t.round_trip(gpu, 3)
}

/// A copy that waits for a timeline point is submitted before the bind
/// that signals it (wait-before-signal): the copy must see the bound memory.
fn wait_before_signal(gpu: &Gpu) -> CaseResult {
    let t = target(gpu)?;
    let sem = gpu.timeline_semaphore(0)?;
    let (data, cmd) = t.write_command(gpu, gpu.universal, 4)?;
    let copied = gpu.fence()?;
    let sync = Sync {
        waits: vec![sem],
        wait_values: vec![1],
        ..Default::default()
    };
    gpu.submit(gpu.universal, cmd, &sync, copied)?;
    ensure_held(gpu, copied, "the copy")?;
    let binds = [t.bind(t.memory)];
    let info = [vk::SparseBufferMemoryBindInfo::default()
        .buffer(t.buffer)
        .binds(&binds)];
    let (signals, signal_values) = ([sem], [1u64]);
    let mut values =
        vk::TimelineSemaphoreSubmitInfo::default().signal_semaphore_values(&signal_values);
    let bind = vk::BindSparseInfo::default()
        .buffer_binds(&info)
        .signal_semaphores(&signals)
        .push_next(&mut values);
    let queue = gpu.sparse_only.unwrap_or(gpu.universal);
    bind_sparse(gpu, queue, &[bind], vk::Fence::null())?;
    gpu.wait(copied)?;
    t.expect(gpu, &data, "copied after the bind")
}

/// Four batches in one call, each binding one block and chained by binary
/// semaphores; the last signals a semaphore the copy waits for.
fn multiple_batches(gpu: &Gpu) -> CaseResult {
    let t = target(gpu)?;
    let sems = [
        gpu.semaphore()?,
        gpu.semaphore()?,
        gpu.semaphore()?,
        gpu.semaphore()?,
    ];
    let binds: Vec<[vk::SparseMemoryBind; 1]> =
        (0..4).map(|b| [t.bind_block(t.memory, b, 1)]).collect();
    let infos: Vec<[vk::SparseBufferMemoryBindInfo; 1]> = binds
        .iter()
        .map(|b| {
            [vk::SparseBufferMemoryBindInfo::default()
                .buffer(t.buffer)
                .binds(b)]
        })
        .collect();
    let batches: Vec<vk::BindSparseInfo> = (0..4)
        .map(|i| {
            let mut b = vk::BindSparseInfo::default()
                .buffer_binds(&infos[i])
                .signal_semaphores(&sems[i..i + 1]);
            if i > 0 {
                b = b.wait_semaphores(&sems[i - 1..i]);
            }
            b
        })
        .collect();
    let fence = gpu.fence()?;
    bind_sparse(gpu, gpu.universal, &batches, fence)?;
    let (data, cmd) = t.write_command(gpu, gpu.universal, 5)?;
    let copied = gpu.fence()?;
    let sync = Sync {
        waits: vec![sems[3]],
        ..Default::default()
    };
    gpu.submit(gpu.universal, cmd, &sync, copied)?;
    gpu.wait(fence)?;
    gpu.wait(copied)?;
    t.expect(gpu, &data, "all four blocks")
}

/// Batches with no binds still wait and signal: a chain of three such
/// batches behind a host-signalled timeline value.
fn semaphore_only_batches(gpu: &Gpu) -> CaseResult {
    let gate = gpu.timeline_semaphore(0)?;
    let (a, b) = (gpu.semaphore()?, gpu.semaphore()?);
    let end = gpu.timeline_semaphore(0)?;
    let (w0, wv0, s0) = ([gate], [1u64], [a]);
    let mut v0 = vk::TimelineSemaphoreSubmitInfo::default()
        .wait_semaphore_values(&wv0)
        .signal_semaphore_values(&[0]);
    let (w1, s1) = ([a], [b]);
    let (w2, s2, sv2) = ([b], [end], [7u64]);
    let mut v2 = vk::TimelineSemaphoreSubmitInfo::default()
        .wait_semaphore_values(&[0])
        .signal_semaphore_values(&sv2);
    let batches = [
        vk::BindSparseInfo::default()
            .wait_semaphores(&w0)
            .signal_semaphores(&s0)
            .push_next(&mut v0),
        vk::BindSparseInfo::default()
            .wait_semaphores(&w1)
            .signal_semaphores(&s1),
        vk::BindSparseInfo::default()
            .wait_semaphores(&w2)
            .signal_semaphores(&s2)
            .push_next(&mut v2),
    ];
    let fence = gpu.fence()?;
    bind_sparse(gpu, gpu.universal, &batches, fence)?;
    ensure_held(gpu, fence, "the batches")?;
    ensure!(
        gpu.timeline_value(end)? == 0,
        "the last batch signalled before the first one's wait was met"
    );
    host_signal(gpu, gate, 1)?;
    gpu.wait(fence)?;
    let value = gpu.timeline_value(end)?;
    ensure!(
        value == 7,
        "the last batch's timeline reads {value}, expected 7"
    );
    Ok(())
}

/// A copy on a second queue writes through the buffer bound to memory A;
/// a bind that waits for it moves the buffer to memory B; a copy after the
/// bind writes B. The first copy is held back by a host-signalled timeline
/// value, so a bind that did not wait would redirect it into B.
fn ordered_after_transfer(gpu: &Gpu) -> CaseResult {
    let Some(second) = gpu.second else {
        require!(false, "the device has only one queue that can transfer");
        unreachable!()
    };
    let t = target(gpu)?;
    let reqs = gpu.buffer_requirements(t.buffer);
    let b_mem = gpu.memory_for(&reqs, reqs.size, vk::MemoryPropertyFlags::DEVICE_LOCAL)?;
    let gate = gpu.timeline_semaphore(0)?;
    let written = gpu.semaphore()?;
    let rebound = gpu.semaphore()?;
    // Bind to A, no ordering needed yet.
    let binds_a = [t.bind(t.memory)];
    let info_a = [vk::SparseBufferMemoryBindInfo::default()
        .buffer(t.buffer)
        .binds(&binds_a)];
    gpu.bind_sparse_and_wait(
        gpu.universal,
        &[vk::BindSparseInfo::default().buffer_binds(&info_a)],
    )?;

    let (da, copy_a) = t.write_command(gpu, second, 6)?;
    let (db, copy_b) = t.write_command(gpu, gpu.universal, 7)?;
    let sync_a = Sync {
        waits: vec![gate],
        wait_values: vec![1],
        signals: vec![written],
        signal_values: vec![0],
    };
    gpu.submit(second, copy_a, &sync_a, vk::Fence::null())?;

    let binds_b = [t.bind(b_mem)];
    let info_b = [vk::SparseBufferMemoryBindInfo::default()
        .buffer(t.buffer)
        .binds(&binds_b)];
    let (w, s) = ([written], [rebound]);
    let bind = vk::BindSparseInfo::default()
        .buffer_binds(&info_b)
        .wait_semaphores(&w)
        .signal_semaphores(&s);
    let bound = gpu.fence()?;
    bind_sparse(
        gpu,
        gpu.sparse_only.unwrap_or(gpu.universal),
        &[bind],
        bound,
    )?;
    ensure_held(gpu, bound, "the rebind")?;

    let done = gpu.fence()?;
    gpu.submit(
        gpu.universal,
        copy_b,
        &Sync {
            waits: vec![rebound],
            ..Default::default()
        },
        done,
    )?;
    host_signal(gpu, gate, 1)?;
    gpu.wait(bound)?;
    gpu.wait(done)?;

    // Read A and B through the buffer itself by binding each in turn.
    t.expect(gpu, &db, "memory B (bound now)")?;
    gpu.bind_sparse_and_wait(
        gpu.universal,
        &[vk::BindSparseInfo::default().buffer_binds(&info_a)],
    )?;
    t.expect(gpu, &da, "memory A (the held-back copy's target)")
}
