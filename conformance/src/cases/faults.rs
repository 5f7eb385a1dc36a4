//! Faults: a stream that touches an unmapped address or executes an
//! invalid instruction kills its group (FATAL_FAULT), its jobs still
//! complete, and nothing else is affected.

use panthor_uapi::uapi::*;
use panthor_uapi::Errno;

use crate::check::{expect_errno, Check, R};
use crate::fixture::*;
use crate::{ensure, ensure_eq, open, Opener};
use panthor_uapi::device::*;

const RES_VA: u64 = 0x0200_0000;
/// Where [`expect_copy_works`] maps its BOs.
const CHECK_SRC_VA: u64 = 0x0500_0000;
const CHECK_RES_VA: u64 = 0x0600_0000;
/// Never mapped in any case's VM.
const UNMAPPED_VA: u64 = 0x4000_0000;

/// The `0xff` opcode is reserved in CSF v10: executing it is
/// `CS_INSTR_INVALID`.
const INVALID_INSTRUCTION: u64 = 0xff00_0000_0000_0000;

/// Submits `code` on queue 0 of `ctx`, waits for its SIGNAL syncobj (a
/// faulting job still completes) and returns the group's state once it
/// reports the fault (the state can lag the fence by a scheduler tick).
fn run_faulting(ctx: &Ctx<'_>, code: &[u8]) -> R<drm_panthor_group_get_state> {
    let s = ctx.f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    ctx.submit(0, code, &[signal_op(s)])?;
    wait_done(ctx.f, s, "the faulting job's SIGNAL syncobj")?;
    let deadline = now_ns() + 1_000_000_000;
    loop {
        let st = group_state(ctx.f, ctx.group)?;
        if st.state != 0 || now_ns() > deadline {
            return Ok(st);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// A group whose queue 0 faulted: FATAL_FAULT with bit 0 in
/// `fatal_queues`, and GROUP_SUBMIT refused (`panthor_job_create`:
/// `!group_can_run` is `EINVAL`).
fn expect_fatal(ctx: &Ctx<'_>, st: drm_panthor_group_get_state) -> R {
    ensure!(
        st.state & DRM_PANTHOR_GROUP_STATE_FATAL_FAULT != 0,
        "group state {:#x} after a fault lacks FATAL_FAULT",
        st.state
    );
    ensure!(
        st.fatal_queues & 1 != 0,
        "fatal_queues {:#x} lacks queue 0",
        st.fatal_queues
    );
    let nop = stream(|b| {
        b.nop();
    })?;
    let job = ctx.job(0, &nop, &[])?;
    expect_errno(
        ctx.f.group_submit(ctx.group, 0, &[job]),
        Errno::EINVAL,
        "GROUP_SUBMIT to a faulted group",
    )
}

/// A copy on a fresh context works (other VMs are not affected).
fn expect_copy_works(ctx: &Ctx<'_>, seed: u32) -> R {
    let data = pattern(seed, 256);
    let src = Bo::with(ctx.f, PAGE, &data)?;
    let res = Bo::new(ctx.f, PAGE)?;
    map(ctx.f, ctx.vm, &src, 0, CHECK_SRC_VA, PAGE)?;
    map(ctx.f, ctx.vm, &res, 0, CHECK_RES_VA, PAGE)?;
    ctx.copy(CHECK_SRC_VA, CHECK_RES_VA, 256)?;
    ensure_bytes(&res.read(0, 256)?, &data, "copy on another VM")
}

/// An MMU fault (`panthor_mmu_irq_handler` flags the VM's
/// `unhandled_fault`; `tick_ctx_init` then marks every queue of its groups
/// fatal; `panthor_job_create` refuses `!group_can_run`): a stream reading
/// an unmapped VA leaves its group with FATAL_FAULT and `fatal_queues` bit
/// 0; the job's SIGNAL syncobj still signals (its fence completes with an
/// error, a wait does not hang); further submits to the group are
/// `EINVAL`; groups on other VMs, of this file and of another, keep
/// running.
pub fn unmapped_read_is_fatal_to_the_group(o: &dyn Opener) -> R {
    let f = open(o)?;
    let g = open(o)?;
    let ctx = Ctx::new(&*f)?;
    let res = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &res, 0, RES_VA, PAGE)?;
    let bystander = Ctx::new(&*f)?;
    let other_file = Ctx::new(&*g)?;

    let st = run_faulting(&ctx, &copy_stream(UNMAPPED_VA, RES_VA, 64)?)?;
    expect_fatal(&ctx, st)?;
    expect_copy_works(&bystander, 30)?;
    expect_copy_works(&other_file, 31)?;
    Ok(())
}

/// A CS fatal error (`cs_slot_process_fatal_event_locked`: the faulting
/// queue's bit in `fatal_queues`, nothing else; the VM is not involved):
/// an invalid instruction word on queue 1 of a two-queue group gives
/// FATAL_FAULT with `fatal_queues` exactly bit 1, the job's syncobj
/// signals, the group takes no more work on either queue; the VM stays
/// USABLE: VM_BIND still maps and a new group on it runs a copy.
pub fn invalid_instruction_is_fatal_but_vm_stays_usable(o: &dyn Opener) -> R {
    let f = open(o)?;
    let vm = vm_create(&*f)?;
    let mut ctx = Ctx::on_vm(&*f, vm, 2)?;
    let s = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    ctx.submit(1, &INVALID_INSTRUCTION.to_le_bytes(), &[signal_op(s)])?;
    wait_done(&*f, s, "the faulting job's SIGNAL syncobj")?;
    let deadline = now_ns() + 1_000_000_000;
    let mut st = group_state(&*f, ctx.group)?;
    while st.state == 0 && now_ns() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
        st = group_state(&*f, ctx.group)?;
    }
    ensure!(
        st.state & DRM_PANTHOR_GROUP_STATE_FATAL_FAULT != 0,
        "group state {:#x} after an invalid instruction lacks FATAL_FAULT",
        st.state
    );
    ensure_eq!(st.fatal_queues, 0b10, "fatal_queues after queue 1 faulted");
    let nop = stream(|b| {
        b.nop();
    })?;
    expect_errno(
        f.group_submit(ctx.group, 0, &[ctx.job(0, &nop, &[])?]),
        Errno::EINVAL,
        "GROUP_SUBMIT to the healthy queue of a faulted group",
    )?;
    ensure_eq!(
        vm_state(&*f, ctx.vm)?,
        DRM_PANTHOR_VM_STATE_USABLE,
        "VM state after a CS fault"
    );
    ctx.new_group(1)?;
    expect_copy_works(&ctx, 32)?;
    Ok(())
}

/// `panthor_vm_pool_destroy_vm` → `panthor_vm_destroy`: the id goes away
/// and every mapping of the VM is removed at once
/// (`panthor_vm_unmap_range(vm, mm_start, mm_range)`), even while a group
/// still holds the VM; work that runs on it afterwards faults instead of
/// reaching the BOs. So a job submitted to a group on a destroyed VM
/// (accepted, or refused with `EINVAL`) never writes the BO that was
/// mapped there, and if accepted its syncobj still signals.
pub fn vm_destroy_unmaps_everything(o: &dyn Opener) -> R {
    let f = open(o)?;
    let ctx = Ctx::new(&*f)?;
    let dst = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &dst, 0, RES_VA, PAGE)?;
    ctx.run(&stream(|b| emit_store64(b, RES_VA, 1))?)?;
    f.vm_destroy(&drm_panthor_vm_destroy { id: ctx.vm, pad: 0 })
        .ctx("VM_DESTROY with a group on the VM")?;
    let s = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let code = stream(|b| emit_store64(b, RES_VA, 0xbad))?;
    let sig = [signal_op(s)];
    let job = ctx.job(0, &code, &sig)?;
    match f.group_submit(ctx.group, 0, &[job]) {
        Err(e) => ensure_eq!(e, Errno::EINVAL, "GROUP_SUBMIT on a destroyed VM"),
        Ok(()) => wait_done(&*f, s, "a job on a destroyed VM")?,
    }
    ensure_eq!(
        u64::from_le_bytes(dst.read(0, 8)?.try_into().unwrap()),
        1,
        "BO that was mapped in the destroyed VM"
    );
    Ok(())
}

/// Linux marks a VM unusable only when an asynchronous VM_BIND fails
/// (`panthor_vm_exec_op(.., flag_vm_unusable_on_failure = true)`, later
/// kernels' `panthor_vm_declare_unusable` on failed page-table updates);
/// a GPU page fault only sets `unhandled_fault`, which `panthor_vm_active`
/// clears when the VM next gets an address space. So after an MMU fault
/// VM_GET_STATE still says USABLE, synchronous MAP works, and a new group
/// on the VM runs.
pub fn mmu_fault_leaves_the_vm_usable(o: &dyn Opener) -> R {
    let f = open(o)?;
    let mut ctx = Ctx::new(&*f)?;
    let res = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &res, 0, RES_VA, PAGE)?;
    let st = run_faulting(&ctx, &copy_stream(UNMAPPED_VA, RES_VA, 64)?)?;
    expect_fatal(&ctx, st)?;
    ensure_eq!(
        vm_state(&*f, ctx.vm)?,
        DRM_PANTHOR_VM_STATE_USABLE,
        "VM_GET_STATE after a GPU page fault"
    );
    let fresh = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &fresh, 0, UNMAPPED_VA, PAGE)?;
    ctx.new_group(1)?;
    expect_copy_works(&ctx, 33)?;
    Ok(())
}

/// `MAP_READONLY` (`flags_to_prot` drops `IOMMU_WRITE`; the page-table
/// entry is read-only): the GPU reads through a read-only mapping, and a
/// GPU write through it is a permission fault: FATAL_FAULT, the BO keeps
/// its bytes.
pub fn readonly_mapping_faults_on_gpu_write(o: &dyn Opener) -> R {
    let f = open(o)?;
    let ctx = Ctx::new(&*f)?;
    let data = pattern(34, PAGE as usize);
    let ro = Bo::with(&*f, PAGE, &data)?;
    bind(
        &*f,
        ctx.vm,
        VmBindOp {
            flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP | DRM_PANTHOR_VM_BIND_OP_MAP_READONLY,
            ..op_map(ro.handle, 0, CHECK_SRC_VA, PAGE)
        },
        "read-only MAP",
    )?;
    let res = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &res, 0, RES_VA, PAGE)?;
    ctx.copy(CHECK_SRC_VA, RES_VA, PAGE as u32)?;
    ensure_bytes(
        &res.read(0, PAGE as usize)?,
        &data,
        "GPU read of a read-only mapping",
    )?;

    let st = run_faulting(&ctx, &copy_stream(RES_VA, CHECK_SRC_VA, 64)?)?;
    expect_fatal(&ctx, st)?;
    ensure_bytes(
        &ro.read(0, PAGE as usize)?,
        &data,
        "the read-only BO after a GPU write to it",
    )?;
    Ok(())
}

/// Destroying a group completes its jobs (`panthor_group_destroy`: group
/// termination signals the fences of jobs in flight with an error;
/// `drm_sched_entity_destroy` kills the queued ones): a job blocked on a
/// `SYNC_WAIT` that will never be satisfied and a job queued behind it
/// both signal their syncobjs. A file closed with such a job in flight
/// closes, and the device keeps running other files' work.
pub fn destroying_a_group_completes_its_jobs(o: &dyn Opener) -> R {
    let f = open(o)?;
    let ctx = Ctx::new(&*f)?;
    let flag = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &flag, 0, CHECK_SRC_VA, PAGE)?;
    let blocked = stream(|b| {
        b.mov48(0, CHECK_SRC_VA).mov32(2, 0).sync_wait32(
            panthor_sim::cs::Condition::Greater,
            0,
            2,
            false,
        );
    })?;
    let (s1, s2) = (
        f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?,
        f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?,
    );
    ctx.submit(0, &blocked, &[signal_op(s1)])?;
    ctx.submit(
        0,
        &stream(|b| {
            b.nop();
        })?,
        &[signal_op(s2)],
    )?;
    expect_pending(&*f, s1, "the blocked job before GROUP_DESTROY")?;
    expect_pending(&*f, s2, "the job behind it")?;
    f.group_destroy(&drm_panthor_group_destroy {
        group_handle: ctx.group,
        pad: 0,
    })
    .ctx("GROUP_DESTROY with jobs in flight")?;
    wait_done(&*f, s1, "the blocked job after GROUP_DESTROY")?;
    wait_done(&*f, s2, "the queued job after GROUP_DESTROY")?;

    // A file closed with a blocked job in flight: close returns and the
    // device keeps working for others.
    let g = open(o)?;
    let gctx = Ctx::new(&*g)?;
    let gflag = Bo::new(&*g, PAGE)?;
    map(&*g, gctx.vm, &gflag, 0, CHECK_SRC_VA, PAGE)?;
    gctx.submit(0, &blocked, &[])?;
    drop(gctx);
    drop(gflag);
    drop(g);
    let other = Ctx::new(&*f)?;
    expect_copy_works(&other, 35)?;
    Ok(())
}
