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
        c.device.destroy_buffer(sparse, None);
        c.device.free_memory(mem, None);
        for d in [&src, &out] {
            c.device.destroy_buffer(d.buffer, None);
            c.device.free_memory(d.memory, None);
        }
    }
    drop(c);
    assert_eq!(
        VALIDATION_ERRORS.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}
