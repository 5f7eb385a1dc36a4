//! Timeline syncobjs driven by GPU work: points signalled out of order,
//! QUERY, `WAIT_FOR_SUBMIT` / `WAIT_AVAILABLE`, TRANSFER between binary
//! and timeline syncobjs, GROUP_SUBMIT jobs signalling and waiting points.

use std::time::Duration;

use panthor_uapi::device::*;
use panthor_uapi::uapi::*;
use panthor_uapi::Errno;

use crate::check::{expect_errno, Check, R};
use crate::fixture::*;
use crate::{ensure, ensure_eq, open, Opener};

const DATA_VA: u64 = 0x0100_0000;
const ASYNC: u32 = DRM_PANTHOR_VM_BIND_ASYNC;

fn sync_only(syncs: &[drm_panthor_sync_op]) -> VmBindOp<'_> {
    VmBindOp {
        flags: DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY,
        syncs,
        ..Default::default()
    }
}

/// `dma_fence_chain` semantics of timeline points
/// (`drm_syncobj_add_point`, `dma_fence_chain_find_seqno`,
/// `drm_syncobj_query_ioctl`): point 2's job finishing before point 1's
/// does not reach point 2: waits on points 1 and 2 still time out, QUERY
/// stays 0 (the point below the lowest pending link), `LAST_SUBMITTED` is
/// 2; once point 1's job finishes both are reached and QUERY is 2. A CPU
/// TIMELINE_SIGNAL of a point below the newest ("unordered point") leaves
/// the timeline at its newest point.
pub fn timeline_points_signalled_out_of_order(o: &dyn Opener) -> R {
    let f = open(o)?;
    let (gate1, gate2) = (Gate::new(&*f)?, Gate::new(&*f)?);
    let (vm1, vm2) = (vm_create(&*f)?, vm_create(&*f)?);
    let (w1, w2) = (gate1.held_syncobj()?, gate2.held_syncobj()?);
    let t = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let s2 = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    // Two VMs: two bind queues that do not order each other.
    let p1 = [wait_op(w1), signal_point(t, 1)];
    f.vm_bind(vm1, ASYNC, &[sync_only(&p1)])
        .ctx("SYNC_ONLY for point 1")?;
    let p2 = [wait_op(w2), signal_point(t, 2), signal_op(s2)];
    f.vm_bind(vm2, ASYNC, &[sync_only(&p2)])
        .ctx("SYNC_ONLY for point 2")?;
    ensure_eq!(
        query(&*f, t, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)?,
        2,
        "last submitted point"
    );

    gate2.release()?;
    wait_done(&*f, s2, "point 2's job")?;
    ensure_eq!(query(&*f, t, 0)?, 0, "QUERY with only point 2's job done");
    expect_point_pending(&*f, t, 2, "point 2 while point 1 is pending")?;
    expect_point_pending(&*f, t, 1, "point 1 while its job is held")?;

    gate1.release()?;
    wait_point_done(&*f, t, 2, "point 2 after both jobs")?;
    wait_point_done(&*f, t, 1, "point 1 after both jobs")?;
    ensure_eq!(query(&*f, t, 0)?, 2, "QUERY after both jobs");

    let u = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    f.syncobj_timeline_signal(&[u], &[5])
        .ctx("TIMELINE_SIGNAL 5")?;
    f.syncobj_timeline_signal(&[u], &[3])
        .ctx("TIMELINE_SIGNAL 3 after 5")?;
    ensure_eq!(query(&*f, u, 0)?, 5, "QUERY after signalling 5 then 3");
    ensure_eq!(
        query(&*f, u, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)?,
        5,
        "last submitted after 5 then 3"
    );
    wait_point_done(&*f, u, 4, "point 4")?;
    expect_errno(
        f.syncobj_timeline_wait(&[u], &[6], in_ms(0), SyncobjWaitFlags::empty()),
        Errno::EINVAL,
        "point 6, never submitted",
    )?;
    Ok(())
}

/// `drm_syncobj_timeline_wait_ioctl` flags: `WAIT_FOR_SUBMIT` waits for a
/// point that has no fence yet and returns once a later GROUP_SUBMIT
/// signals it (its job's store is then visible); `WAIT_AVAILABLE` returns
/// as soon as the point has a fence, signalled or not, while a plain wait
/// on it times out, and for a point not submitted it waits (`ETIME`).
pub fn timeline_wait_for_submit_and_available(o: &dyn Opener) -> R {
    let f = open(o)?;
    let ctx = Ctx::new(&*f)?;
    let dst = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &dst, 0, DATA_VA, PAGE)?;
    let t = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let fr: &dyn PanthorFile = &*f;
    let waited = std::thread::scope(|s| -> R<Result<u32, Errno>> {
        let waiter = s.spawn(move || {
            fr.syncobj_timeline_wait(
                &[t],
                &[7],
                in_ms(DONE_MS),
                SyncobjWaitFlags::WAIT_FOR_SUBMIT,
            )
        });
        std::thread::sleep(Duration::from_millis(30));
        let job = stream(|b| emit_store64(b, DATA_VA, 0x77))?;
        ctx.submit(0, &job, &[signal_point(t, 7)])?;
        Ok(waiter.join().expect("waiter thread"))
    })?;
    waited.ctx("WAIT_FOR_SUBMIT on point 7, submitted later")?;
    ensure_eq!(
        u64::from_le_bytes(dst.read(0, 8)?.try_into().unwrap()),
        0x77,
        "the job's store when its point was reached"
    );

    let gate = Gate::new(&*f)?;
    let w = gate.held_syncobj()?;
    let t2 = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let ops = [wait_op(w), signal_point(t2, 1)];
    f.vm_bind(ctx.vm, ASYNC, &[sync_only(&ops)])
        .ctx("held SYNC_ONLY signalling point 1")?;
    let start = now_ns();
    f.syncobj_timeline_wait(
        &[t2],
        &[1],
        in_ms(DONE_MS),
        SyncobjWaitFlags::WAIT_AVAILABLE,
    )
    .ctx("WAIT_AVAILABLE on a submitted, pending point")?;
    ensure!(
        now_ns() - start < 1_000_000_000,
        "WAIT_AVAILABLE waited {} ms for a point that was already submitted",
        (now_ns() - start) / 1_000_000
    );
    expect_point_pending(&*f, t2, 1, "plain wait on the pending point")?;
    expect_errno(
        f.syncobj_timeline_wait(
            &[t2],
            &[2],
            in_ms(PENDING_MS),
            SyncobjWaitFlags::WAIT_AVAILABLE,
        ),
        Errno::ETIME,
        "WAIT_AVAILABLE on point 2, not submitted",
    )?;
    ensure_eq!(query(&*f, t2, 0)?, 0, "QUERY of the pending point");
    gate.release()?;
    wait_point_done(&*f, t2, 1, "point 1 after release")?;
    Ok(())
}

/// `drm_syncobj_transfer_to_timeline` / `_to_binary`: TRANSFER moves the
/// fence itself, so a pending binary fence becomes a pending timeline point
/// (`LAST_SUBMITTED` shows it, QUERY and waits do not) and back into a
/// binary syncobj, and all signal together when the fence does; with
/// `WAIT_FOR_SUBMIT` TRANSFER waits for a source point submitted later.
pub fn timeline_transfer_between_binary_and_timeline(o: &dyn Opener) -> R {
    let f = open(o)?;
    let gate = Gate::new(&*f)?;
    let w = gate.held_syncobj()?;
    let t = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    f.syncobj_transfer(w, 0, t, 3, 0)
        .ctx("TRANSFER held binary -> point 3")?;
    ensure_eq!(
        query(&*f, t, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)?,
        3,
        "last submitted after TRANSFER"
    );
    ensure_eq!(
        query(&*f, t, 0)?,
        0,
        "signalled point after TRANSFER of a pending fence"
    );
    expect_point_pending(&*f, t, 3, "point 3 holding the pending fence")?;
    let b = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    f.syncobj_transfer(t, 3, b, 0, 0)
        .ctx("TRANSFER point 3 -> binary")?;
    expect_pending(&*f, b, "binary syncobj holding the pending fence")?;
    gate.release()?;
    wait_done(&*f, b, "binary syncobj after release")?;
    wait_point_done(&*f, t, 3, "point 3 after release")?;
    ensure_eq!(query(&*f, t, 0)?, 3, "QUERY after release");

    let b2 = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let fr: &dyn PanthorFile = &*f;
    std::thread::scope(|s| -> R {
        let signaller = s.spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            fr.syncobj_timeline_signal(&[t], &[9])
        });
        let r = f.syncobj_transfer(t, 9, b2, 0, SyncobjWaitFlags::WAIT_FOR_SUBMIT.bits());
        signaller
            .join()
            .expect("signaller thread")
            .ctx("TIMELINE_SIGNAL 9")?;
        r.ctx("TRANSFER(WAIT_FOR_SUBMIT) of point 9, signalled later")
    })?;
    wait_done(&*f, b2, "binary syncobj after the waiting TRANSFER")?;
    Ok(())
}

/// GROUP_SUBMIT with timeline sync ops (`panthor_submit_ctx_*`): a job's
/// SIGNAL of point N attaches its done fence at N; a job of the same
/// submit on another queue can WAIT on a point an earlier job signals and
/// runs after it; points are reached as their jobs complete.
pub fn group_submit_signals_and_waits_timeline_points(o: &dyn Opener) -> R {
    let f = open(o)?;
    let vm = vm_create(&*f)?;
    let ctx = Ctx::on_vm(&*f, vm, 2)?;
    let dst = Bo::new(&*f, PAGE)?;
    map(&*f, vm, &dst, 0, DATA_VA, PAGE)?;
    let t = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let j1 = stream(|b| emit_store64(b, DATA_VA, 0x1111))?;
    let j2 = stream(|b| emit_store64(b, DATA_VA + 8, 0x2222))?;
    let j3 = stream(|b| emit_copy64(b, DATA_VA, DATA_VA + 64))?;
    let (s1, s2, s3) = (
        [signal_point(t, 1)],
        [signal_point(t, 2)],
        [wait_point(t, 2), signal_point(t, 3)],
    );
    let jobs = [
        ctx.job(0, &j1, &s1)?,
        ctx.job(0, &j2, &s2)?,
        ctx.job(1, &j3, &s3)?,
    ];
    f.group_submit(ctx.group, 0, &jobs)
        .ctx("GROUP_SUBMIT of three jobs on a timeline")?;
    wait_point_done(&*f, t, 3, "point 3")?;
    ensure_eq!(query(&*f, t, 0)?, 3, "QUERY after the jobs");
    let got = dst.read(64, 16)?;
    ensure_eq!(
        (
            u64::from_le_bytes(got[..8].try_into().unwrap()),
            u64::from_le_bytes(got[8..].try_into().unwrap())
        ),
        (0x1111, 0x2222),
        "what job 3 copied after waiting on point 2"
    );
    ctx.expect_healthy()?;
    Ok(())
}
