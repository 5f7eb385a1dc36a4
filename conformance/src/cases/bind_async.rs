//! Asynchronous VM_BIND: binds wait for their WAIT syncobjs, run in order
//! per VM, signal their SIGNAL syncobjs when applied; SYNC_ONLY ops relay
//! fences.

use panthor_uapi::device::*;
use panthor_uapi::uapi::*;

use crate::check::{CaseError, Check, R};
use crate::fixture::*;
use crate::{ensure, ensure_eq, open, Opener};

const DATA_VA: u64 = 0x0100_0000;
const DATA2_VA: u64 = 0x0110_0000;
const RES_VA: u64 = 0x0200_0000;
const ASYNC: u32 = DRM_PANTHOR_VM_BIND_ASYNC;

fn sync_only(syncs: &[drm_panthor_sync_op]) -> VmBindOp<'_> {
    VmBindOp {
        flags: DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY,
        syncs,
        ..Default::default()
    }
}

/// What the GPU reads at `va` (one page), through `res` mapped at RES_VA.
fn gpu_page(ctx: &Ctx<'_>, res: &Bo, va: u64) -> R<Vec<u8>> {
    res.write(0, &[0u8; PAGE as usize])?;
    ctx.copy(va, RES_VA, PAGE as u32)?;
    res.read(0, PAGE as usize)
}

/// `panthor_ioctl_vm_bind_async` + the VM's drm_sched entity: an
/// asynchronous bind runs only after the fences of its WAIT ops signal.
/// Until then its SIGNAL syncobj is pending and the GPU still reads the old
/// mapping (GROUP_SUBMIT jobs do not wait for pending binds: explicit
/// sync, `panthor_vm_bind_job_update_resvs` uses BOOKKEEP fences); after,
/// the syncobj signals and the GPU reads the new BO.
pub fn async_bind_waits_for_its_syncobj(o: &dyn Opener) -> R {
    let f = open(o)?;
    let gate = Gate::new(&*f)?;
    let ctx = Ctx::new(&*f)?;
    let (a_data, b_data) = (pattern(20, PAGE as usize), pattern(21, PAGE as usize));
    let a = Bo::with(&*f, PAGE, &a_data)?;
    let b = Bo::with(&*f, PAGE, &b_data)?;
    let res = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &res, 0, RES_VA, PAGE)?;
    map(&*f, ctx.vm, &a, 0, DATA_VA, PAGE)?;

    let w = gate.held_syncobj()?;
    let s = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let syncs = [wait_op(w), signal_op(s)];
    f.vm_bind(
        ctx.vm,
        ASYNC,
        &[VmBindOp {
            syncs: &syncs,
            ..op_map(b.handle, 0, DATA_VA, PAGE)
        }],
    )
    .ctx("async MAP waiting on a held syncobj")?;
    expect_pending(
        &*f,
        s,
        "the bind's SIGNAL syncobj before its WAIT signalled",
    )?;
    ensure_bytes(
        &gpu_page(&ctx, &res, DATA_VA)?,
        &a_data,
        "GPU read while the bind waits",
    )?;
    expect_pending(&*f, s, "the bind's SIGNAL syncobj after a GPU job")?;

    gate.release()?;
    wait_done(&*f, s, "the bind's SIGNAL syncobj after release")?;
    ensure_bytes(
        &gpu_page(&ctx, &res, DATA_VA)?,
        &b_data,
        "GPU read after the bind ran",
    )?;
    ensure_eq!(
        vm_state(&*f, ctx.vm)?,
        DRM_PANTHOR_VM_STATE_USABLE,
        "VM state"
    );
    Ok(())
}

/// Polls binary syncobjs newest first and checks that whenever one has
/// signalled, every older one had too (polling in reverse order makes a
/// later look at an older syncobj never miss a signal that came first).
fn check_prefix_order(f: &dyn PanthorFile, handles: &[u32]) -> R<bool> {
    let mut seen_later = false;
    let mut all = true;
    for (i, &h) in handles.iter().enumerate().rev() {
        let done = f.syncobj_wait(&[h], 0, SyncobjWaitFlags::empty()).is_ok();
        if seen_later && !done {
            return Err(CaseError::fail(format!(
                "bind {} signalled before bind {i} of the same VM",
                i + 1
            )));
        }
        seen_later |= done;
        all &= done;
    }
    Ok(all)
}

/// drm_sched runs one VM's bind jobs in submission order
/// (`panthor_vm_bind_job_create` queues on the VM's entity): a bind with no
/// WAIT queued behind a held bind does not run (its syncobj stays pending
/// and the GPU still reads the old mapping), nor does a SYNC_ONLY behind
/// them; a bind on another VM is not held back. After release the binds
/// signal in order and all took effect.
pub fn async_binds_on_a_vm_run_in_order(o: &dyn Opener) -> R {
    let f = open(o)?;
    let gate = Gate::new(&*f)?;
    let ctx = Ctx::new(&*f)?;
    let other_vm = vm_create(&*f)?;
    let a_data = pattern(22, PAGE as usize);
    let a = Bo::with(&*f, PAGE, &a_data)?;
    let b = Bo::with(&*f, PAGE, &pattern(23, PAGE as usize))?;
    let c_data = pattern(24, PAGE as usize);
    let c = Bo::with(&*f, PAGE, &c_data)?;
    let res = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &res, 0, RES_VA, PAGE)?;
    map(&*f, ctx.vm, &a, 0, DATA_VA, PAGE)?;
    map(&*f, ctx.vm, &a, 0, DATA2_VA, PAGE)?;

    let w = gate.held_syncobj()?;
    let s: Vec<u32> = (0..4)
        .map(|_| f.syncobj_create(0).ctx("SYNCOBJ_CREATE"))
        .collect::<R<_>>()?;
    let first = [wait_op(w), signal_op(s[0])];
    f.vm_bind(
        ctx.vm,
        ASYNC,
        &[VmBindOp {
            syncs: &first,
            ..op_map(b.handle, 0, DATA_VA, PAGE)
        }],
    )
    .ctx("held async MAP")?;
    let second = [signal_op(s[1])];
    f.vm_bind(
        ctx.vm,
        ASYNC,
        &[VmBindOp {
            syncs: &second,
            ..op_map(c.handle, 0, DATA2_VA, PAGE)
        }],
    )
    .ctx("async MAP without waits")?;
    let third = [signal_op(s[2])];
    f.vm_bind(ctx.vm, ASYNC, &[sync_only(&third)])
        .ctx("SYNC_ONLY without waits")?;
    let elsewhere = [signal_op(s[3])];
    f.vm_bind(other_vm, ASYNC, &[sync_only(&elsewhere)])
        .ctx("SYNC_ONLY on another VM")?;

    wait_done(&*f, s[3], "a bind on another VM")?;
    expect_pending(&*f, s[0], "the held bind")?;
    expect_pending(&*f, s[1], "a bind queued behind the held one")?;
    expect_pending(&*f, s[2], "a SYNC_ONLY queued behind the held one")?;
    ensure_bytes(
        &gpu_page(&ctx, &res, DATA2_VA)?,
        &a_data,
        "GPU read of the range the second bind remaps, while it waits",
    )?;

    gate.release()?;
    let deadline = now_ns() + DONE_MS * 1_000_000;
    while !check_prefix_order(&*f, &s[..3])? {
        ensure!(
            now_ns() < deadline,
            "binds did not all signal after release"
        );
        std::thread::yield_now();
    }
    ensure_bytes(
        &gpu_page(&ctx, &res, DATA2_VA)?,
        &c_data,
        "GPU read after the second bind",
    )?;
    ensure_bytes(
        &gpu_page(&ctx, &res, DATA_VA)?,
        &pattern(23, PAGE as usize),
        "GPU read after the first bind",
    )?;
    Ok(())
}

/// One asynchronous VM_BIND of several ops (`panthor_ioctl_vm_bind_async`,
/// `panthor_submit_ctx_collect_jobs_signal_ops`,
/// `panthor_submit_ctx_add_sync_deps_to_job`): every op is a job, in order;
/// signal ops of all jobs are collected first, so an op may WAIT on a
/// timeline point an earlier op of the same call SIGNALs (not yet
/// submitted: accepted, and it depends on that op); the points are
/// submitted at once (QUERY `LAST_SUBMITTED`) and reached in order.
pub fn async_bind_ops_chain_within_one_call(o: &dyn Opener) -> R {
    let f = open(o)?;
    let gate = Gate::new(&*f)?;
    let ctx = Ctx::new(&*f)?;
    let a = Bo::with(&*f, PAGE, &pattern(25, PAGE as usize))?;
    let b_data = pattern(26, PAGE as usize);
    let b = Bo::with(&*f, PAGE, &b_data)?;
    let c_data = pattern(27, PAGE as usize);
    let c = Bo::with(&*f, PAGE, &c_data)?;
    let res = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &res, 0, RES_VA, PAGE)?;
    map(&*f, ctx.vm, &a, 0, DATA_VA, PAGE)?;

    let w = gate.held_syncobj()?;
    let t = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let op1 = [wait_op(w), signal_point(t, 1)];
    let op2 = [wait_point(t, 1), signal_point(t, 2)];
    let op3 = [signal_point(t, 3)];
    f.vm_bind(
        ctx.vm,
        ASYNC,
        &[
            VmBindOp {
                syncs: &op1,
                ..op_map(b.handle, 0, DATA_VA, PAGE)
            },
            sync_only(&op2),
            VmBindOp {
                syncs: &op3,
                ..op_map(c.handle, 0, DATA2_VA, PAGE)
            },
        ],
    )
    .ctx("three-op async bind whose op 2 waits on op 1's point")?;
    ensure_eq!(
        query(&*f, t, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)?,
        3,
        "last submitted point"
    );
    ensure_eq!(query(&*f, t, 0)?, 0, "signalled point while op 1 is held");
    expect_point_pending(&*f, t, 1, "point 1 while held")?;
    expect_point_pending(&*f, t, 3, "point 3 while op 1 is held")?;

    gate.release()?;
    wait_point_done(&*f, t, 3, "point 3 after release")?;
    ensure_eq!(query(&*f, t, 0)?, 3, "signalled point after release");
    ensure_bytes(&gpu_page(&ctx, &res, DATA_VA)?, &b_data, "op 1's mapping")?;
    ensure_bytes(&gpu_page(&ctx, &res, DATA2_VA)?, &c_data, "op 3's mapping")?;
    Ok(())
}
