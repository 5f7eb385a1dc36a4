//! The suite can fail: each test wraps the virtual device in a file that
//! breaks one kernel rule on purpose and checks that the case written for
//! that rule now fails (and says why).

use std::ffi::CStr;
use std::os::fd::{BorrowedFd, OwnedFd};

use panthor_conformance::openers::{VirtualOpener, VIRTUAL_MEMORY};
use panthor_conformance::runner::{run_case, Outcome};
use panthor_conformance::{case, Opener};
use panthor_uapi::device::*;
use panthor_uapi::errno::Result;
use panthor_uapi::uapi::*;
use panthor_uapi::Errno;

#[derive(Clone, Copy, Debug)]
enum Bug {
    /// Asynchronous binds ignore their WAIT ops.
    AsyncBindIgnoresWaits,
    /// DEV_QUERY leaves garbage past the object in a larger buffer.
    QueryNoZeroFill,
    /// SYNCOBJ_SIGNAL signals the known handles before finding an unknown one.
    SignalBeforeLookup,
    /// Synchronous binds round unaligned addresses instead of refusing them.
    BindRoundsUnaligned,
    /// GROUP_GET_STATE never reports a fault.
    StateAlwaysHealthy,
    /// GROUP_SUBMIT drops every job after the first.
    SubmitDropsLaterJobs,
    /// A wait that times out reports success.
    WaitNeverTimesOut,
}

struct Mutant {
    inner: Box<dyn PanthorFile>,
    bug: Bug,
}

struct MutantOpener {
    inner: VirtualOpener,
    bug: Bug,
}

impl Opener for MutantOpener {
    fn open(&self) -> std::result::Result<Box<dyn PanthorFile>, String> {
        Ok(Box::new(Mutant {
            inner: self.inner.open()?,
            bug: self.bug,
        }))
    }

    fn describe(&self) -> String {
        format!("virtual device with {:?}", self.bug)
    }
}

/// Runs `name` with `bug` and expects a failure mentioning `why`.
fn must_fail(name: &str, bug: Bug, why: &str) {
    let case = case(name).expect("case");
    let opener = MutantOpener {
        inner: VirtualOpener::new(VIRTUAL_MEMORY).expect("virtual device"),
        bug,
    };
    match run_case(&case, &opener).outcome {
        Outcome::Fail(reason) => assert!(
            reason.contains(why),
            "{name} with {bug:?} failed for another reason: {reason}"
        ),
        other => panic!("{name} did not catch {bug:?}: {other:?}"),
    }
}

#[test]
fn async_bind_case_catches_ignored_waits() {
    must_fail(
        "async_bind_waits_for_its_syncobj",
        Bug::AsyncBindIgnoresWaits,
        "before its WAIT signalled",
    );
}

#[test]
fn dev_query_case_catches_missing_zero_fill() {
    must_fail(
        "dev_query_sizes_and_buffers",
        Bug::QueryNoZeroFill,
        "were not zeroed",
    );
}

#[test]
fn syncobj_errno_case_catches_partial_signal() {
    must_fail(
        "syncobj_errnos",
        Bug::SignalBeforeLookup,
        "the known syncobj of a refused SIGNAL",
    );
}

#[test]
fn vm_bind_errno_case_catches_rounding() {
    must_fail(
        "vm_bind_errnos_change_nothing",
        Bug::BindRoundsUnaligned,
        "MAP at an unaligned va",
    );
}

#[test]
fn fault_case_catches_a_silent_group_state() {
    must_fail(
        "unmapped_read_is_fatal_to_the_group",
        Bug::StateAlwaysHealthy,
        "lacks FATAL_FAULT",
    );
}

#[test]
fn group_case_catches_dropped_jobs() {
    must_fail(
        "group_create_submit_destroy",
        Bug::SubmitDropsLaterJobs,
        "queue 1's job",
    );
}

#[test]
fn etime_case_catches_waits_that_never_time_out() {
    must_fail(
        "syncobj_wait_times_out_with_etime",
        Bug::WaitNeverTimesOut,
        "expected ETIME",
    );
}

impl PanthorFile for Mutant {
    fn version(&self) -> Result<DrmVersion> {
        self.inner.version()
    }
    fn gem_close(&self, handle: u32) -> Result<()> {
        self.inner.gem_close(handle)
    }
    fn prime_handle_to_fd(&self, handle: u32, flags: u32) -> Result<OwnedFd> {
        self.inner.prime_handle_to_fd(handle, flags)
    }
    fn prime_fd_to_handle(&self, fd: BorrowedFd<'_>) -> Result<u32> {
        self.inner.prime_fd_to_handle(fd)
    }
    fn syncobj_create(&self, flags: u32) -> Result<u32> {
        self.inner.syncobj_create(flags)
    }
    fn syncobj_destroy(&self, handle: u32) -> Result<()> {
        self.inner.syncobj_destroy(handle)
    }
    fn syncobj_wait(
        &self,
        handles: &[u32],
        timeout: AbsTimeoutNs,
        flags: SyncobjWaitFlags,
    ) -> Result<u32> {
        match self.inner.syncobj_wait(handles, timeout, flags) {
            Err(Errno::ETIME) if matches!(self.bug, Bug::WaitNeverTimesOut) => Ok(0),
            r => r,
        }
    }
    fn syncobj_timeline_wait(
        &self,
        handles: &[u32],
        points: &[u64],
        timeout: AbsTimeoutNs,
        flags: SyncobjWaitFlags,
    ) -> Result<u32> {
        self.inner
            .syncobj_timeline_wait(handles, points, timeout, flags)
    }
    fn syncobj_reset(&self, handles: &[u32]) -> Result<()> {
        self.inner.syncobj_reset(handles)
    }
    fn syncobj_signal(&self, handles: &[u32]) -> Result<()> {
        if matches!(self.bug, Bug::SignalBeforeLookup) && !handles.is_empty() {
            for &h in handles {
                self.inner.syncobj_signal(&[h])?;
            }
            return Ok(());
        }
        self.inner.syncobj_signal(handles)
    }
    fn syncobj_timeline_signal(&self, handles: &[u32], points: &[u64]) -> Result<()> {
        self.inner.syncobj_timeline_signal(handles, points)
    }
    fn syncobj_query(&self, handles: &[u32], points: &mut [u64], flags: u32) -> Result<()> {
        self.inner.syncobj_query(handles, points, flags)
    }
    fn syncobj_transfer(
        &self,
        src: u32,
        src_point: u64,
        dst: u32,
        dst_point: u64,
        flags: u32,
    ) -> Result<()> {
        self.inner
            .syncobj_transfer(src, src_point, dst, dst_point, flags)
    }
    fn syncobj_handle_to_fd(&self, handle: u32, flags: u32) -> Result<OwnedFd> {
        self.inner.syncobj_handle_to_fd(handle, flags)
    }
    fn syncobj_fd_to_handle(&self, fd: BorrowedFd<'_>, flags: u32, handle: u32) -> Result<u32> {
        self.inner.syncobj_fd_to_handle(fd, flags, handle)
    }
    fn dev_query(&self, ty: u32, out: Option<&mut [u8]>) -> Result<u32> {
        match out {
            Some(buf) if matches!(self.bug, Bug::QueryNoZeroFill) => {
                let n = self.inner.dev_query(ty, Some(buf))?;
                buf[n as usize..].fill(0x5a);
                Ok(n)
            }
            out => self.inner.dev_query(ty, out),
        }
    }
    fn vm_create(&self, args: &mut drm_panthor_vm_create) -> Result<()> {
        self.inner.vm_create(args)
    }
    fn vm_destroy(&self, args: &drm_panthor_vm_destroy) -> Result<()> {
        self.inner.vm_destroy(args)
    }
    fn vm_bind(
        &self,
        vm_id: u32,
        flags: u32,
        ops: &[VmBindOp<'_>],
    ) -> std::result::Result<(), VmBindError> {
        let asynchronous = flags & DRM_PANTHOR_VM_BIND_ASYNC != 0;
        match self.bug {
            Bug::AsyncBindIgnoresWaits if asynchronous => {
                let syncs: Vec<Vec<drm_panthor_sync_op>> = ops
                    .iter()
                    .map(|op| {
                        op.syncs
                            .iter()
                            .filter(|s| s.flags & DRM_PANTHOR_SYNC_OP_SIGNAL != 0)
                            .copied()
                            .collect()
                    })
                    .collect();
                let ops: Vec<VmBindOp<'_>> = ops
                    .iter()
                    .zip(&syncs)
                    .map(|(op, s)| VmBindOp { syncs: s, ..*op })
                    .collect();
                self.inner.vm_bind(vm_id, flags, &ops)
            }
            Bug::BindRoundsUnaligned if !asynchronous => {
                let ops: Vec<VmBindOp<'_>> = ops
                    .iter()
                    .map(|op| VmBindOp {
                        va: op.va & !0xfff,
                        size: op.size.next_multiple_of(0x1000),
                        bo_offset: op.bo_offset & !0xfff,
                        ..*op
                    })
                    .collect();
                self.inner.vm_bind(vm_id, flags, &ops)
            }
            _ => self.inner.vm_bind(vm_id, flags, ops),
        }
    }
    fn vm_get_state(&self, args: &mut drm_panthor_vm_get_state) -> Result<()> {
        self.inner.vm_get_state(args)
    }
    fn bo_create(&self, args: &mut drm_panthor_bo_create) -> Result<()> {
        self.inner.bo_create(args)
    }
    fn bo_mmap_offset(&self, args: &mut drm_panthor_bo_mmap_offset) -> Result<()> {
        self.inner.bo_mmap_offset(args)
    }
    fn mmap(&self, offset: u64, len: usize) -> Result<CpuMapping> {
        self.inner.mmap(offset, len)
    }
    fn group_create(&self, args: &GroupCreate<'_>) -> Result<u32> {
        self.inner.group_create(args)
    }
    fn group_destroy(&self, args: &drm_panthor_group_destroy) -> Result<()> {
        self.inner.group_destroy(args)
    }
    fn group_submit(&self, group_handle: u32, pad: u32, submits: &[QueueSubmit<'_>]) -> Result<()> {
        if matches!(self.bug, Bug::SubmitDropsLaterJobs) && submits.len() > 1 {
            return self.inner.group_submit(group_handle, pad, &submits[..1]);
        }
        self.inner.group_submit(group_handle, pad, submits)
    }
    fn group_get_state(&self, args: &mut drm_panthor_group_get_state) -> Result<()> {
        self.inner.group_get_state(args)?;
        if matches!(self.bug, Bug::StateAlwaysHealthy) {
            args.state = 0;
            args.fatal_queues = 0;
        }
        Ok(())
    }
    fn tiler_heap_create(&self, args: &mut drm_panthor_tiler_heap_create) -> Result<()> {
        self.inner.tiler_heap_create(args)
    }
    fn tiler_heap_destroy(&self, args: &drm_panthor_tiler_heap_destroy) -> Result<()> {
        self.inner.tiler_heap_destroy(args)
    }
    fn bo_set_label(&self, handle: u32, label: Option<&CStr>) -> Result<()> {
        self.inner.bo_set_label(handle, label)
    }
    fn set_user_mmio_offset(&self, args: &drm_panthor_set_user_mmio_offset) -> Result<()> {
        self.inner.set_user_mmio_offset(args)
    }
    fn bo_sync(&self, ops: &[drm_panthor_bo_sync_op]) -> Result<()> {
        self.inner.bo_sync(ops)
    }
    fn bo_query_info(&self, args: &mut drm_panthor_bo_query_info) -> Result<()> {
        self.inner.bo_query_info(args)
    }
}
