//! The ICD through the real Vulkan loader (libvulkan1): what it reports,
//! and transfers through the GPU path checked byte by byte.

mod common;

use ash::vk;
use common::*;

#[test]
fn the_loader_lists_the_virtual_mali_with_sparse_features() {
    let c = Ctx::new();
    // SAFETY: valid physical device.
    let (props, features, families) = unsafe {
        (
            c.instance.get_physical_device_properties(c.pd),
            c.instance.get_physical_device_features(c.pd),
            c.instance.get_physical_device_queue_family_properties(c.pd),
        )
    };
    let name = props.device_name_as_c_str().unwrap().to_string_lossy();
    assert!(name.contains("virtual Mali"), "deviceName {name}");
    assert_eq!(props.vendor_id, 0x13b5);
    assert_eq!(vk::api_version_minor(props.api_version), 1);
    assert_eq!(features.sparse_binding, vk::TRUE);
    assert_eq!(features.sparse_residency_buffer, vk::TRUE);
    assert_eq!(features.sparse_residency_aliased, vk::TRUE);
    assert_eq!(
        props.sparse_properties.residency_non_resident_strict,
        vk::FALSE
    );
    assert_eq!(families.len(), 2);
    // The virtual Mali's shader cores run compute pipelines.
    assert_eq!(
        families[0].queue_flags,
        vk::QueueFlags::COMPUTE | vk::QueueFlags::TRANSFER | vk::QueueFlags::SPARSE_BINDING
    );
    assert_eq!(families[1].queue_flags, vk::QueueFlags::SPARSE_BINDING);
}

#[test]
fn get_proc_addr_answers_only_enabled_commands() {
    let c = Ctx::new();
    let gdpa = c.instance.fp_v1_0().get_device_proc_addr;
    let handle = c.device.handle();
    // SAFETY: valid device and NUL-terminated names.
    let has = |name: &std::ffi::CStr| unsafe { gdpa(handle, name.as_ptr()) }.is_some();
    assert!(has(c"vkQueueBindSparse"));
    assert!(has(c"vkWaitSemaphoresKHR"), "timeline_semaphore is enabled");
    assert!(
        !has(c"vkWaitSemaphores"),
        "core 1.2 command on a 1.1 device"
    );
    assert!(
        has(c"vkCmdPipelineBarrier2KHR") && has(c"vkCmdWriteTimestamp2KHR"),
        "synchronization2 is enabled"
    );
    assert!(
        !has(c"vkCmdPipelineBarrier2"),
        "core 1.3 name on a 1.1 device"
    );
    assert!(
        !has(c"vkGetDeviceBufferMemoryRequirementsKHR"),
        "maintenance4 is not enabled"
    );
    assert!(!has(c"vkCmdDraw"), "not implemented, never answered");
    assert!(!has(c"vkCreateInstance"), "not a device command");
}

#[test]
fn fill_update_and_copy_between_dense_buffers() {
    let c = Ctx::new();
    let a = c.dense(1 << 20);
    let b = c.dense(1 << 20);
    let data = pattern(1, (1 << 20) - 4096);
    a.write(0, &data);
    c.run(|cb| {
        // SAFETY: recording commands on valid buffers.
        unsafe {
            c.copy(cb, a.buffer, 0, b.buffer, 4096, data.len() as u64);
            c.transfer_barrier(cb);
            c.device.cmd_fill_buffer(cb, b.buffer, 0, 4092, 0xdead_beef);
            c.device
                .cmd_update_buffer(cb, b.buffer, 100 * 4, &[1, 2, 3, 4, 5, 6, 7, 8]);
        }
    });
    assert_eq!(b.read(4096, data.len()), data, "copied bytes");
    let head = b.read(0, 4096);
    assert_eq!(&head[0..4], &0xdead_beefu32.to_le_bytes());
    assert_eq!(&head[400..408], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(&head[4088..4092], &0xdead_beefu32.to_le_bytes());
    assert_eq!(
        &head[4092..4096],
        &[0, 0, 0, 0],
        "the fill stops at its size"
    );
}

#[test]
fn sparse_buffer_bind_copy_unbind_rebind_alias() {
    let c = Ctx::new();
    let sparse = c.sparse_buffer(8 * BLOCK);
    let mem = c.memory(4 * BLOCK);
    // SAFETY: valid handles.
    let req = unsafe { c.device.get_buffer_memory_requirements(sparse) };
    assert_eq!((req.size, req.alignment), (8 * BLOCK, BLOCK));
    // Block 0 -> memory block 2, block 5 -> memory block 1 (non-zero offsets).
    assert_eq!(
        c.bind(
            c.sparse,
            sparse,
            &[
                bind(0, BLOCK, mem, 2 * BLOCK),
                bind(5 * BLOCK, BLOCK, mem, BLOCK)
            ]
        ),
        vk::Result::SUCCESS
    );
    let src = c.dense(2 * BLOCK);
    let out = c.dense(2 * BLOCK);
    let data = pattern(7, 2 * BLOCK as usize);
    src.write(0, &data);
    c.run(|cb| {
        c.copy(cb, src.buffer, 0, sparse, 0, BLOCK);
        c.copy(cb, src.buffer, BLOCK, sparse, 5 * BLOCK, BLOCK);
    });
    // The bytes are in the memory at the bound offsets.
    // SAFETY: mapping the memory object.
    let mp = unsafe {
        c.device
            .map_memory(mem, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
    }
    .unwrap() as *const u8;
    // SAFETY: the mapping is 4 blocks long.
    let memory = unsafe { std::slice::from_raw_parts(mp, 4 * BLOCK as usize) };
    assert_eq!(
        &memory[2 * BLOCK as usize..3 * BLOCK as usize],
        &data[..BLOCK as usize]
    );
    assert_eq!(
        &memory[BLOCK as usize..2 * BLOCK as usize],
        &data[BLOCK as usize..]
    );
    // And come back out through the GPU.
    c.run(|cb| {
        c.copy(cb, sparse, 5 * BLOCK, out.buffer, 0, BLOCK);
        c.copy(cb, sparse, 0, out.buffer, BLOCK, BLOCK);
    });
    assert_eq!(out.read(0, BLOCK as usize), &data[BLOCK as usize..]);
    assert_eq!(out.read(BLOCK, BLOCK as usize), &data[..BLOCK as usize]);

    // Unbound blocks take writes without faulting (residency).
    c.run(|cb| c.copy(cb, src.buffer, 0, sparse, 3 * BLOCK, BLOCK));

    // Unbind block 0, rebind it to memory block 0: it no longer shows block 2.
    assert_eq!(
        c.bind(
            c.sparse,
            sparse,
            &[bind(0, BLOCK, vk::DeviceMemory::null(), 0)]
        ),
        vk::Result::SUCCESS
    );
    assert_eq!(
        c.bind(c.sparse, sparse, &[bind(0, BLOCK, mem, 0)]),
        vk::Result::SUCCESS
    );
    c.run(|cb| c.copy(cb, sparse, 0, out.buffer, 0, BLOCK));
    assert_eq!(out.read(0, BLOCK as usize), &memory[..BLOCK as usize]);

    // Aliasing: blocks 6 and 7 both map memory block 3.
    assert_eq!(
        c.bind(
            c.universal,
            sparse,
            &[
                bind(6 * BLOCK, BLOCK, mem, 3 * BLOCK),
                bind(7 * BLOCK, BLOCK, mem, 3 * BLOCK)
            ]
        ),
        vk::Result::SUCCESS
    );
    c.run(|cb| c.copy(cb, src.buffer, BLOCK, sparse, 6 * BLOCK, BLOCK));
    c.run(|cb| c.copy(cb, sparse, 7 * BLOCK, out.buffer, 0, BLOCK));
    assert_eq!(
        out.read(0, BLOCK as usize),
        &data[BLOCK as usize..],
        "write via block 6 reads back via block 7"
    );
}

#[test]
fn bind_outside_the_resource_fails_and_changes_nothing() {
    let c = Ctx::new();
    let sparse = c.sparse_buffer(2 * BLOCK);
    let mem = c.memory(2 * BLOCK);
    let src = c.dense(BLOCK);
    src.write(0, &pattern(3, BLOCK as usize));
    // A good bind and a bad one in one call: neither happens.
    let r = c.bind(
        c.sparse,
        sparse,
        &[bind(0, BLOCK, mem, 0), bind(2 * BLOCK, BLOCK, mem, BLOCK)],
    );
    assert_ne!(r, vk::Result::SUCCESS);
    let r = c.bind(c.sparse, sparse, &[bind(BLOCK, BLOCK, mem, 2 * BLOCK)]);
    assert_ne!(r, vk::Result::SUCCESS, "memory range past the end");
    let r = c.bind(c.sparse, sparse, &[bind(4096, BLOCK, mem, 0)]);
    assert_ne!(r, vk::Result::SUCCESS, "misaligned resource offset");
    // Block 0 is still unbound: a write to it does not reach the memory.
    c.run(|cb| c.copy(cb, src.buffer, 0, sparse, 0, BLOCK));
    // SAFETY: mapping the memory object.
    let mp = unsafe {
        c.device
            .map_memory(mem, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
    }
    .unwrap() as *const u8;
    // SAFETY: the mapping is 2 blocks long.
    let memory = unsafe { std::slice::from_raw_parts(mp, 2 * BLOCK as usize) };
    assert!(memory.iter().all(|&b| b == 0), "memory untouched");
}

#[test]
fn impossible_allocations_are_refused() {
    let c = Ctx::new();
    // SAFETY: invalid-but-harmless requests the driver must refuse.
    unsafe {
        let huge = vk::MemoryAllocateInfo::default()
            .allocation_size(1 << 44)
            .memory_type_index(0);
        assert_eq!(
            c.device.allocate_memory(&huge, None),
            Err(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY)
        );
        let bad_type = vk::MemoryAllocateInfo::default()
            .allocation_size(4096)
            .memory_type_index(3);
        assert!(c.device.allocate_memory(&bad_type, None).is_err());
    }
    // The device still works.
    let a = c.dense(4096);
    // SAFETY: recording a valid command.
    c.run(|cb| unsafe { c.device.cmd_fill_buffer(cb, a.buffer, 0, 4096, 7) });
    assert_eq!(a.read(0, 4), 7u32.to_le_bytes());
}

#[test]
fn semaphores_order_a_bind_on_the_sparse_queue_before_a_copy() {
    let c = Ctx::new();
    let sparse = c.sparse_buffer(BLOCK);
    let mem = c.memory(BLOCK);
    let src = c.dense(BLOCK);
    let data = pattern(11, BLOCK as usize);
    src.write(0, &data);
    let bound = c.semaphore();
    let fence = c.fence();
    let binds = [bind(0, BLOCK, mem, 0)];
    let bb = [vk::SparseBufferMemoryBindInfo::default()
        .buffer(sparse)
        .binds(&binds)];
    let signal = [bound];
    let info = vk::BindSparseInfo::default()
        .buffer_binds(&bb)
        .signal_semaphores(&signal);
    let cb = c.record(|cb| c.copy(cb, src.buffer, 0, sparse, 0, BLOCK));
    let cbs = [cb];
    let stages = [vk::PipelineStageFlags::TRANSFER];
    let submit = vk::SubmitInfo::default()
        .wait_semaphores(&signal)
        .wait_dst_stage_mask(&stages)
        .command_buffers(&cbs);
    // SAFETY: valid submissions; waited on before checking.
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
        let mp = c
            .device
            .map_memory(mem, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
            .unwrap() as *const u8;
        assert_eq!(std::slice::from_raw_parts(mp, BLOCK as usize), &data[..]);
    }
}

#[test]
fn timeline_wait_before_signal_runs_once_the_host_signals() {
    let c = Ctx::new();
    let a = c.dense(4096);
    let tl = c.timeline_semaphore(0);
    let fence = c.fence();
    // SAFETY: recording a valid command.
    let cb = c.record(|cb| unsafe { c.device.cmd_fill_buffer(cb, a.buffer, 0, 4096, 0x55) });
    let waits = [tl];
    let values = [5u64];
    let mut tinfo = vk::TimelineSemaphoreSubmitInfo::default().wait_semaphore_values(&values);
    let stages = [vk::PipelineStageFlags::TRANSFER];
    let cbs = [cb];
    let submit = vk::SubmitInfo::default()
        .wait_semaphores(&waits)
        .wait_dst_stage_mask(&stages)
        .command_buffers(&cbs)
        .push_next(&mut tinfo);
    // SAFETY: valid submissions.
    unsafe {
        c.device
            .queue_submit(c.universal, &[submit], fence)
            .unwrap();
        assert_eq!(
            c.device.wait_for_fences(&[fence], true, 50_000_000),
            Err(vk::Result::TIMEOUT)
        );
        assert_eq!(a.read(0, 4), [0, 0, 0, 0]);
        let sig = vk::SemaphoreSignalInfo::default().semaphore(tl).value(5);
        c.timeline.signal_semaphore(&sig).unwrap();
        c.device
            .wait_for_fences(&[fence], true, 10_000_000_000)
            .unwrap();
        assert_eq!(c.timeline.get_semaphore_counter_value(tl).unwrap(), 5);
    }
    assert_eq!(a.read(0, 4), 0x55u32.to_le_bytes());
}

#[test]
fn a_bind_waits_for_a_binary_semaphore_signalled_by_deferred_work() {
    let c = Ctx::new();
    let a = c.dense(4096);
    let sparse = c.sparse_buffer(BLOCK);
    let mem = c.memory(BLOCK);
    let gate = c.timeline_semaphore(0);
    let (filled, chained) = (c.semaphore(), c.semaphore());
    let fence = c.fence();
    // SAFETY: recording a valid command.
    let cb = c.record(|cb| unsafe { c.device.cmd_fill_buffer(cb, a.buffer, 0, 4096, 7) });
    let (waits, wait_values, signals) = ([gate], [1u64], [filled]);
    let mut values = vk::TimelineSemaphoreSubmitInfo::default()
        .wait_semaphore_values(&wait_values)
        .signal_semaphore_values(&[0]);
    let (stages, cbs) = ([vk::PipelineStageFlags::TRANSFER], [cb]);
    let submit = vk::SubmitInfo::default()
        .wait_semaphores(&waits)
        .wait_dst_stage_mask(&stages)
        .command_buffers(&cbs)
        .signal_semaphores(&signals)
        .push_next(&mut values);
    // Two batches in one call, chained by a binary semaphore: the second
    // must not wait for its point to exist before the call is issued.
    let binds = [bind(0, BLOCK, mem, 0)];
    let bb = [vk::SparseBufferMemoryBindInfo::default()
        .buffer(sparse)
        .binds(&binds)];
    let (first_waits, first_signals, second_waits) = ([filled], [chained], [chained]);
    let batches = [
        vk::BindSparseInfo::default()
            .wait_semaphores(&first_waits)
            .signal_semaphores(&first_signals),
        vk::BindSparseInfo::default()
            .wait_semaphores(&second_waits)
            .buffer_binds(&bb),
    ];
    // SAFETY: valid submissions; waited on before checking.
    unsafe {
        // The fill is deferred behind the host-signalled gate, so `filled`
        // has no fence yet when the bind that waits for it is submitted.
        c.device
            .queue_submit(c.universal, &[submit], vk::Fence::null())
            .unwrap();
        c.device
            .queue_bind_sparse(c.sparse, &batches, fence)
            .unwrap();
        assert_eq!(
            c.device.wait_for_fences(&[fence], true, 50_000_000),
            Err(vk::Result::TIMEOUT)
        );
        let sig = vk::SemaphoreSignalInfo::default().semaphore(gate).value(1);
        c.timeline.signal_semaphore(&sig).unwrap();
        c.device
            .wait_for_fences(&[fence], true, 10_000_000_000)
            .unwrap();
    }
    assert_eq!(a.read(0, 4), 7u32.to_le_bytes());
}

#[test]
fn a_command_stream_waits_for_an_event_the_host_sets() {
    let c = Ctx::new();
    let a = c.dense(4096);
    // SAFETY: valid create info.
    let ev = unsafe { c.device.create_event(&vk::EventCreateInfo::default(), None) }.unwrap();
    let fence = c.fence();
    // SAFETY: recording valid commands.
    let cb = c.record(|cb| unsafe {
        c.device.cmd_wait_events(
            cb,
            &[ev],
            vk::PipelineStageFlags::HOST,
            vk::PipelineStageFlags::TRANSFER,
            &[],
            &[],
            &[],
        );
        c.device.cmd_fill_buffer(cb, a.buffer, 0, 64, 9);
        c.device
            .cmd_reset_event(cb, ev, vk::PipelineStageFlags::TRANSFER);
    });
    let cbs = [cb];
    // SAFETY: valid submissions.
    unsafe {
        c.device
            .queue_submit(
                c.universal,
                &[vk::SubmitInfo::default().command_buffers(&cbs)],
                fence,
            )
            .unwrap();
        assert_eq!(
            c.device.wait_for_fences(&[fence], true, 50_000_000),
            Err(vk::Result::TIMEOUT)
        );
        assert_eq!(c.device.get_event_status(ev), Ok(false));
        c.device.set_event(ev).unwrap();
        c.device
            .wait_for_fences(&[fence], true, 10_000_000_000)
            .unwrap();
        assert_eq!(
            c.device.get_event_status(ev),
            Ok(false),
            "the stream reset it"
        );
    }
    assert_eq!(a.read(0, 4), 9u32.to_le_bytes());
}

#[test]
fn a_gpu_fault_loses_that_device_only() {
    let healthy = Ctx::new();
    let c = Ctx::new();
    let a = c.dense(BLOCK);
    let b = c.dense(BLOCK);
    let cb = c.record(|cb| c.copy(cb, a.buffer, 0, b.buffer, 0, BLOCK));
    // Free the memory behind the source: its VA is unmapped, the copy faults.
    // SAFETY: deliberately invalid use, to make the GPU fault.
    c.free_memory(a.memory);
    let fence = c.fence();
    let cbs = [cb];
    // SAFETY: the submission is valid apart from the freed memory.
    let r = unsafe {
        c.device
            .queue_submit(
                c.universal,
                &[vk::SubmitInfo::default().command_buffers(&cbs)],
                fence,
            )
            .unwrap();
        c.device.wait_for_fences(&[fence], true, 10_000_000_000)
    };
    assert_eq!(r, Err(vk::Result::ERROR_DEVICE_LOST));
    // SAFETY: valid queue.
    let idle = unsafe { c.device.queue_wait_idle(c.universal) };
    assert_eq!(idle, Err(vk::Result::ERROR_DEVICE_LOST));
    // The other device is unaffected.
    let h = healthy.dense(4096);
    // SAFETY: recording a valid command.
    healthy.run(|cb| unsafe { healthy.device.cmd_fill_buffer(cb, h.buffer, 0, 4096, 3) });
    assert_eq!(h.read(0, 4), 3u32.to_le_bytes());
}
