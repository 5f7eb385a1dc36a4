//! Our own Vulkan usage under `VK_LAYER_KHRONOS_validation`: the driver's
//! reported properties must let correct code pass with zero errors.
//! (A separate test binary: the messenger counts errors process-wide.)

mod common;

use ash::vk;
use common::*;

#[test]
fn sparse_bind_and_copies_pass_validation_with_no_errors() {
    let c = Ctx::with_validation(true);
    let sparse = c.sparse_buffer(4 * BLOCK);
    // SAFETY: valid handles.
    let req = unsafe { c.device.get_buffer_memory_requirements(sparse) };
    let mem = c.memory(req.size);
    let sem = c.semaphore();
    let fence = c.fence();
    let binds = [bind(0, BLOCK, mem, BLOCK), bind(2 * BLOCK, BLOCK, mem, 0)];
    let bb = [vk::SparseBufferMemoryBindInfo::default()
        .buffer(sparse)
        .binds(&binds)];
    let signal = [sem];
    let info = vk::BindSparseInfo::default()
        .buffer_binds(&bb)
        .signal_semaphores(&signal);
    let src = c.dense(BLOCK);
    let out = c.dense(BLOCK);
    let data = pattern(5, BLOCK as usize);
    src.write(0, &data);
    let cb = c.record(|cb| {
        c.copy(cb, src.buffer, 0, sparse, 2 * BLOCK, BLOCK);
        let barrier = vk::BufferMemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .dst_access_mask(vk::AccessFlags::TRANSFER_READ)
            .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .buffer(sparse)
            .offset(0)
            .size(vk::WHOLE_SIZE);
        // SAFETY: recording valid commands.
        unsafe {
            c.device.cmd_pipeline_barrier(
                cb,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::TRANSFER,
                vk::DependencyFlags::empty(),
                &[],
                &[barrier],
                &[],
            )
        };
        c.copy(cb, sparse, 2 * BLOCK, out.buffer, 0, BLOCK);
    });
    let cbs = [cb];
    let stages = [vk::PipelineStageFlags::TRANSFER];
    let submit = vk::SubmitInfo::default()
        .wait_semaphores(&signal)
        .wait_dst_stage_mask(&stages)
        .command_buffers(&cbs);
    // SAFETY: valid submissions, waited on.
    unsafe {
        c.device
            .queue_bind_sparse(c.sparse, &[info], vk::Fence::null())
            .unwrap();
        c.device
            .queue_submit(c.universal, &[submit], fence)
            .unwrap();
        c.device
            .wait_for_fences(&[fence], true, 10_000_000_000)
            .unwrap();
        assert_eq!(out.read(0, BLOCK as usize), data);
        c.device.destroy_fence(fence, None);
        c.device.destroy_semaphore(sem, None);
        c.device.free_command_buffers(c.pool, &cbs);
    }
    drop(c);
    assert_eq!(
        VALIDATION_ERRORS.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

/// synchronization2 end to end: a sparse bind signals a semaphore that a
/// vkQueueSubmit2 waits on at the COPY stage; the command buffer copies
/// through the sparse buffer with a vkCmdPipelineBarrier2 between, and
/// brackets the work with vkCmdWriteTimestamp2.
#[test]
fn synchronization2_and_timestamps_pass_validation_with_no_errors() {
    let c = Ctx::with_validation(true);
    let sync2 = ash::khr::synchronization2::Device::new(&c.instance, &c.device);
    let sparse = c.sparse_buffer(BLOCK);
    // SAFETY: valid handles.
    let req = unsafe { c.device.get_buffer_memory_requirements(sparse) };
    let mem = c.memory(req.size);
    let sem = c.semaphore();
    let binds = [bind(0, BLOCK, mem, 0)];
    let bb = [vk::SparseBufferMemoryBindInfo::default()
        .buffer(sparse)
        .binds(&binds)];
    let signal = [sem];
    let bind_info = vk::BindSparseInfo::default()
        .buffer_binds(&bb)
        .signal_semaphores(&signal);
    let pool_info = vk::QueryPoolCreateInfo::default()
        .query_type(vk::QueryType::TIMESTAMP)
        .query_count(2);
    // SAFETY: valid create info.
    let pool = unsafe { c.device.create_query_pool(&pool_info, None) }.unwrap();
    // vkCmdResetQueryPool needs a graphics or compute queue: a transfer
    // queue's user resets on the host (VK_EXT_host_query_reset).
    let host_reset = ash::ext::host_query_reset::Device::new(&c.instance, &c.device);
    // SAFETY: valid handles; the pool is not in use.
    unsafe { (host_reset.fp().reset_query_pool_ext)(c.device.handle(), pool, 0, 2) };
    let (src, out) = (c.dense(BLOCK), c.dense(BLOCK));
    let data = pattern(11, BLOCK as usize);
    src.write(0, &data);
    let cb = c.record(|cb| {
        let barrier = [vk::MemoryBarrier2::default()
            .src_stage_mask(vk::PipelineStageFlags2::COPY)
            .src_access_mask(vk::AccessFlags2::TRANSFER_WRITE)
            .dst_stage_mask(vk::PipelineStageFlags2::COPY)
            .dst_access_mask(vk::AccessFlags2::TRANSFER_READ)];
        let dep = vk::DependencyInfo::default().memory_barriers(&barrier);
        // SAFETY: recording valid commands.
        unsafe {
            sync2.cmd_write_timestamp2(cb, vk::PipelineStageFlags2::NONE, pool, 0);
            c.copy(cb, src.buffer, 0, sparse, 0, BLOCK);
            sync2.cmd_pipeline_barrier2(cb, &dep);
            c.copy(cb, sparse, 0, out.buffer, 0, BLOCK);
            sync2.cmd_write_timestamp2(cb, vk::PipelineStageFlags2::ALL_TRANSFER, pool, 1);
        }
    });
    let waits = [vk::SemaphoreSubmitInfo::default()
        .semaphore(sem)
        .stage_mask(vk::PipelineStageFlags2::COPY)];
    let cbs = [vk::CommandBufferSubmitInfo::default().command_buffer(cb)];
    let submit = vk::SubmitInfo2::default()
        .wait_semaphore_infos(&waits)
        .command_buffer_infos(&cbs);
    let fence = c.fence();
    let mut ts = [0u64; 2];
    // SAFETY: valid submissions, waited on.
    unsafe {
        c.device
            .queue_bind_sparse(c.sparse, &[bind_info], vk::Fence::null())
            .unwrap();
        sync2.queue_submit2(c.universal, &[submit], fence).unwrap();
        c.device
            .wait_for_fences(&[fence], true, 10_000_000_000)
            .unwrap();
        c.device
            .get_query_pool_results(pool, 0, &mut ts, vk::QueryResultFlags::TYPE_64)
            .expect("both timestamps written");
        assert_eq!(out.read(0, BLOCK as usize), data);
        c.device.destroy_fence(fence, None);
        c.device.destroy_semaphore(sem, None);
        c.device.free_command_buffers(c.pool, &[cb]);
        c.device.destroy_query_pool(pool, None);
    }
    assert!(ts[1] > ts[0], "{ts:?}");
    drop(c);
    assert_eq!(
        VALIDATION_ERRORS.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

/// Compute into a sparse buffer: a pipeline with push constants, a storage
/// buffer bound through a sparse resource, a compute -> transfer barrier,
/// and the results read back.
#[test]
fn compute_into_a_sparse_buffer_passes_validation_with_no_errors() {
    let c = Ctx::with_validation(true);
    const N: u64 = 2 * BLOCK / 4;
    let src = c.dense(N * 4);
    let input: Vec<u32> = (0..N as u32).map(|i| i ^ 0x5a5a).collect();
    src.write(0, &bytes_of(&input));
    let sparse = c.sparse_buffer(N * 4);
    let mem = c.memory(2 * BLOCK);
    assert_eq!(
        c.bind(c.sparse, sparse, &[bind(0, 2 * BLOCK, mem, 0)]),
        vk::Result::SUCCESS
    );
    let out = c.dense(N * 4);
    let k = Kernel::new(
        &c,
        "scale.comp",
        &[vk::DescriptorType::STORAGE_BUFFER; 2],
        8,
    );
    k.buffer(&c, 0, src.buffer);
    k.buffer(&c, 1, sparse);
    c.run(|cb| {
        k.bind(&c, cb);
        let to_transfer = vk::MemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::SHADER_WRITE)
            .dst_access_mask(vk::AccessFlags::TRANSFER_READ);
        // SAFETY: recording valid commands.
        unsafe {
            c.device.cmd_push_constants(
                cb,
                k.layout,
                vk::ShaderStageFlags::COMPUTE,
                0,
                &bytes_of(&[2, 1]),
            );
            c.device.cmd_dispatch(cb, (N / 64) as u32, 1, 1);
            c.device.cmd_pipeline_barrier(
                cb,
                vk::PipelineStageFlags::COMPUTE_SHADER,
                vk::PipelineStageFlags::TRANSFER,
                vk::DependencyFlags::empty(),
                &[to_transfer],
                &[],
                &[],
            );
        }
        c.copy(cb, sparse, 0, out.buffer, 0, N * 4);
    });
    let got = words(&out.read(0, (N * 4) as usize));
    for (i, (&g, &x)) in got.iter().zip(&input).enumerate() {
        assert_eq!(g, x * 2 + 1 + i as u32 / 64, "element {i}");
    }
    k.destroy(&c);
    drop(c);
    assert_eq!(
        VALIDATION_ERRORS.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}
