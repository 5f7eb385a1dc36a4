//! Secondary command buffers through the real loader: recorded like
//! primaries, run by `vkCmdExecuteCommands` (a `CALL` of their stream),
//! in order with the primary's own commands, reusable from several
//! primaries, and refused where the spec forbids them.

mod common;

use ash::vk;
use common::*;

fn secondary(c: &Ctx, f: impl FnOnce(vk::CommandBuffer)) -> vk::CommandBuffer {
    let info = vk::CommandBufferAllocateInfo::default()
        .command_pool(c.pool)
        .level(vk::CommandBufferLevel::SECONDARY)
        .command_buffer_count(1);
    let inherit = vk::CommandBufferInheritanceInfo::default();
    let begin = vk::CommandBufferBeginInfo::default().inheritance_info(&inherit);
    // SAFETY: valid allocate info; recording follows the rules.
    unsafe {
        let cb = c.device.allocate_command_buffers(&info).unwrap()[0];
        c.device.begin_command_buffer(cb, &begin).unwrap();
        f(cb);
        c.device.end_command_buffer(cb).expect("vkEndCommandBuffer");
        cb
    }
}

/// Primary: fill A; execute [copy A -> B, fill A again]; copy A -> C. The
/// secondaries' work lands between the primary's, in order.
#[test]
fn secondaries_run_in_order_inside_the_primary() {
    let c = Ctx::new();
    let (a, b, out) = (c.dense(BLOCK), c.dense(BLOCK), c.dense(BLOCK));
    let copy_ab = secondary(&c, |cb| {
        c.copy(cb, a.buffer, 0, b.buffer, 0, BLOCK);
        c.transfer_barrier(cb);
    });
    let refill = secondary(&c, |cb| {
        // SAFETY: recording a valid command.
        unsafe {
            c.device
                .cmd_fill_buffer(cb, a.buffer, 0, BLOCK, 0x2222_2222)
        };
        c.transfer_barrier(cb);
    });
    let empty = secondary(&c, |_| {});
    c.run(|cb| {
        // SAFETY: recording valid commands.
        unsafe {
            c.device
                .cmd_fill_buffer(cb, a.buffer, 0, BLOCK, 0x1111_1111);
            c.transfer_barrier(cb);
            c.device.cmd_execute_commands(cb, &[copy_ab, empty, refill]);
            c.copy(cb, a.buffer, 0, out.buffer, 0, BLOCK);
        }
    });
    assert!(b.read(0, BLOCK as usize).iter().all(|&x| x == 0x11));
    assert!(out.read(0, BLOCK as usize).iter().all(|&x| x == 0x22));

    // The same secondary again, from another primary.
    c.run(|cb| {
        // SAFETY: recording valid commands.
        unsafe {
            c.device
                .cmd_fill_buffer(cb, a.buffer, 0, BLOCK, 0x3333_3333);
            c.transfer_barrier(cb);
            c.device.cmd_execute_commands(cb, &[copy_ab]);
        }
    });
    assert!(b.read(0, BLOCK as usize).iter().all(|&x| x == 0x33));
    // SAFETY: no work is pending.
    unsafe {
        c.device
            .free_command_buffers(c.pool, &[copy_ab, refill, empty])
    };
}

/// A secondary that moves data through a sparse buffer: binds made before
/// the primary is submitted are what the secondary's copies see.
#[test]
fn a_secondary_copies_through_sparse_memory() {
    let c = Ctx::new();
    let sparse = c.sparse_buffer(2 * BLOCK);
    // SAFETY: valid handle.
    let req = unsafe { c.device.get_buffer_memory_requirements(sparse) };
    let mem = c.memory(req.size);
    assert_eq!(
        c.bind(
            c.sparse,
            sparse,
            &[bind(0, BLOCK, mem, BLOCK), bind(BLOCK, BLOCK, mem, 0)]
        ),
        vk::Result::SUCCESS
    );
    let (src, out) = (c.dense(2 * BLOCK), c.dense(2 * BLOCK));
    let data = pattern(3, 2 * BLOCK as usize);
    src.write(0, &data);
    let sec = secondary(&c, |cb| {
        c.copy(cb, src.buffer, 0, sparse, 0, 2 * BLOCK);
        c.transfer_barrier(cb);
        c.copy(cb, sparse, 0, out.buffer, 0, 2 * BLOCK);
    });
    c.run(|cb| {
        // SAFETY: recording a valid command.
        unsafe { c.device.cmd_execute_commands(cb, &[sec]) }
    });
    assert_eq!(out.read(0, 2 * BLOCK as usize), data);
    // SAFETY: no work is pending.
    unsafe { c.device.free_command_buffers(c.pool, &[sec]) };
    c.destroy_buffer(sparse);
    c.free_memory(mem);
}

/// Submitting a secondary, or executing a primary, is refused (the
/// submission fails without running anything; the recording fails at
/// vkEndCommandBuffer).
#[test]
fn secondaries_are_not_submitted_and_primaries_not_executed() {
    let c = Ctx::new();
    let out = c.dense(4096);
    out.write(0, &[0; 4096]);
    let sec = secondary(&c, |cb| {
        // SAFETY: recording a valid command.
        unsafe { c.device.cmd_fill_buffer(cb, out.buffer, 0, 4096, !0) };
    });
    let cbs = [sec];
    // SAFETY: deliberately invalid submission; the driver refuses it.
    let r = unsafe {
        c.device.queue_submit(
            c.universal,
            &[vk::SubmitInfo::default().command_buffers(&cbs)],
            vk::Fence::null(),
        )
    };
    assert!(r.is_err());
    // SAFETY: valid handle.
    unsafe { c.device.queue_wait_idle(c.universal) }.unwrap();
    assert!(out.read(0, 4096).iter().all(|&x| x == 0), "nothing ran");

    let primary = c.record(|_| {});
    let alloc = vk::CommandBufferAllocateInfo::default()
        .command_pool(c.pool)
        .command_buffer_count(1);
    // SAFETY: deliberately invalid recording; the buffers are freed.
    unsafe {
        let cb = c.device.allocate_command_buffers(&alloc).unwrap()[0];
        c.device
            .begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
            .unwrap();
        c.device.cmd_execute_commands(cb, &[primary]);
        assert!(c.device.end_command_buffer(cb).is_err());
        c.device.free_command_buffers(c.pool, &[cb, primary, sec]);
    }
}
