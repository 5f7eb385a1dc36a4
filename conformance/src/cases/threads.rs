//! Concurrency: several threads on several files submitting and waiting
//! at once.

use panthor_uapi::device::*;

use crate::check::{CaseError, Check, R};
use crate::fixture::*;
use crate::{ensure_eq, open, Opener};

const DATA_VA: u64 = 0x0100_0000;
const THREADS: u64 = 4;
const JOBS: u64 = 50;

/// One thread's work: its own VM and group on `f`, `JOBS` jobs each
/// storing `(thread << 32) | job` to its own slot and signalling timeline
/// point `job + 1`; every tenth job waits for the point just submitted.
fn worker(f: &dyn PanthorFile, thread: u64) -> R {
    let ctx = Ctx::new(f)?;
    let dst = Bo::new(f, PAGE)?;
    map(f, ctx.vm, &dst, 0, DATA_VA, PAGE)?;
    let t = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    for job in 0..JOBS {
        let code = stream(|b| emit_store64(b, DATA_VA + 8 * job, thread << 32 | job))?;
        ctx.submit(0, &code, &[signal_point(t, job + 1)])?;
        if job % 10 == 9 {
            wait_point_done(f, t, job + 1, &format!("thread {thread} job {job}"))?;
        }
    }
    wait_point_done(f, t, JOBS, &format!("thread {thread}'s last job"))?;
    ensure_eq!(query(f, t, 0)?, JOBS, "thread {thread}'s timeline");
    let got = dst.read(0, 8 * JOBS as usize)?;
    for job in 0..JOBS {
        let at = 8 * job as usize;
        ensure_eq!(
            u64::from_le_bytes(got[at..at + 8].try_into().unwrap()),
            thread << 32 | job,
            "thread {thread}, slot {job}"
        );
    }
    ctx.expect_healthy()
}

/// Per-file object pools and the scheduler are safe to use from many
/// threads (panthor's xarrays and locks, one drm_sched entity per queue,
/// drm_syncobj waits from any thread): 4 threads on 2 files, each with its
/// own VM and group, submit 50 jobs each, waiting as they go; every job
/// lands its value and every timeline reaches 50.
pub fn threads_submit_and_wait_concurrently(o: &dyn Opener) -> R {
    let files = [open(o)?, open(o)?];
    let results: Vec<R> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|thread| {
                let f: &dyn PanthorFile = &*files[(thread % 2) as usize];
                s.spawn(move || worker(f, thread))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(CaseError::fail("a worker thread panicked")))
            })
            .collect()
    });
    for r in results {
        r?;
    }
    Ok(())
}

const SCRATCH_VA: u64 = 0x0400_0000;
const RES_VA: u64 = 0x0200_0000;

/// VM_BIND and GPU work on one VM from two threads (`vm->op_lock`, the
/// AS lock region around page-table updates, `panthor_vm_lock_region` /
/// `unlock_region`): while one thread maps and unmaps a scratch BO 100
/// times next to a stable mapping, another runs 40 copies through the
/// stable mapping; every copy reads the right bytes and the VM stays
/// usable.
pub fn binds_race_gpu_work_on_one_vm(o: &dyn Opener) -> R {
    let f = open(o)?;
    let fr: &dyn PanthorFile = &*f;
    let ctx = Ctx::new(fr)?;
    let vm = ctx.vm;
    let data = pattern(60, 4 * PAGE as usize);
    let src = Bo::with(fr, 4 * PAGE, &data)?;
    map(fr, vm, &src, 0, DATA_VA, 4 * PAGE)?;
    let res = Bo::new(fr, 4 * PAGE)?;
    map(fr, vm, &res, 0, RES_VA, 4 * PAGE)?;
    let scratch = Bo::new(fr, SZ_2M)?;
    let binder = std::thread::scope(|s| -> R {
        let binder = s.spawn(move || -> R {
            for i in 0..100u64 {
                let size = if i % 2 == 0 { SZ_2M } else { 16 * PAGE };
                bind(
                    fr,
                    vm,
                    op_map(scratch.handle, 0, SCRATCH_VA, size),
                    "racing MAP",
                )?;
                bind(fr, vm, op_unmap(SCRATCH_VA, size), "racing UNMAP")?;
            }
            Ok(())
        });
        for i in 0..40 {
            res.write(0, &[0u8; 4 * PAGE as usize])?;
            ctx.copy(DATA_VA, RES_VA, 4 * PAGE as u32)?;
            ensure_bytes(
                &res.read(0, 4 * PAGE as usize)?,
                &data,
                &format!("copy {i} while another thread binds"),
            )?;
        }
        binder
            .join()
            .unwrap_or_else(|_| Err(CaseError::fail("the binding thread panicked")))
    });
    binder?;
    ensure_eq!(
        vm_state(fr, vm)?,
        panthor_uapi::uapi::DRM_PANTHOR_VM_STATE_USABLE,
        "VM state after racing binds"
    );
    Ok(())
}
