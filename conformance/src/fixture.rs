//! What the cases build on, all through [`PanthorFile`]: BOs with their CPU
//! mappings, VMs and binds, groups, a [`Ctx`] that runs CS streams on one
//! VM, and a [`Gate`], a GPU job that holds a fence pending until the case
//! lets it go.
//!
//! Nothing here knows which implementation is under test. Streams are real
//! CSF v10 instructions (`panthor_sim::cs::CsBuilder` is only the encoder),
//! so the same bytes run on a Mali-G610.
//!
//! Why a gate: the kernel refuses a WAIT sync op on a syncobj with no fence
//! (`EINVAL`), so "a bind that waits for something not yet signalled" needs
//! a real pending fence. The gate's job on queue 0 blocks on `SYNC_WAIT32`
//! until a flag in memory becomes non-zero; [`Gate::release`] submits a job
//! on queue 1 of the same group that sets it (`SYNC_SET32`, which wakes
//! blocked waits on hardware as in the simulator). Its fence is pending for
//! exactly as long as the case wants.

use std::cell::Cell;

use panthor_sim::cs::{Async, Condition, CsBuilder, SyncScope};
use panthor_uapi::device::*;
use panthor_uapi::uapi::*;
use panthor_uapi::Errno;

use crate::check::{expect_errno, CaseError, Check, R};
use crate::{ensure, ensure_eq};

pub const PAGE: u64 = 4096;
pub const SZ_2M: u64 = 2 << 20;

/// How long a case waits for work that must complete.
pub const DONE_MS: i64 = 10_000;
/// How long a case waits to show that work has *not* completed yet (the
/// thing waited for is gated, so a short wait is enough and not racy).
pub const PENDING_MS: i64 = 30;

/// Where [`Ctx`] puts its streams in the VM.
pub const CODE_VA: u64 = 0x0010_0000;
const CODE_SIZE: u64 = 256 << 10;
/// Where [`Gate`] keeps its flag in its own VM.
const FLAG_VA: u64 = 0x0080_0000;

pub use panthor_uapi::device::monotonic_ns as now_ns;

/// An absolute syncobj timeout `ms` from now.
pub fn in_ms(ms: i64) -> AbsTimeoutNs {
    now_ns() + ms * 1_000_000
}

/// A byte pattern without long runs of one value, different per `seed`.
pub fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as u8
        })
        .collect()
}

// ----- sync ops ------------------------------------------------------------

pub fn wait_op(handle: u32) -> drm_panthor_sync_op {
    drm_panthor_sync_op {
        flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_WAIT,
        handle,
        timeline_value: 0,
    }
}

pub fn signal_op(handle: u32) -> drm_panthor_sync_op {
    drm_panthor_sync_op {
        flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL,
        handle,
        timeline_value: 0,
    }
}

pub fn wait_point(handle: u32, point: u64) -> drm_panthor_sync_op {
    drm_panthor_sync_op {
        flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_WAIT,
        handle,
        timeline_value: point,
    }
}

pub fn signal_point(handle: u32, point: u64) -> drm_panthor_sync_op {
    drm_panthor_sync_op {
        flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL,
        handle,
        timeline_value: point,
    }
}

/// Waits until the binary syncobj signals (at most [`DONE_MS`]).
#[track_caller]
pub fn wait_done(f: &dyn PanthorFile, handle: u32, what: &str) -> R {
    f.syncobj_wait(&[handle], in_ms(DONE_MS), SyncobjWaitFlags::empty())
        .ctx(what)
        .map(drop)
}

/// Waits until timeline point `point` signals (at most [`DONE_MS`]).
#[track_caller]
pub fn wait_point_done(f: &dyn PanthorFile, handle: u32, point: u64, what: &str) -> R {
    f.syncobj_timeline_wait(
        &[handle],
        &[point],
        in_ms(DONE_MS),
        SyncobjWaitFlags::empty(),
    )
    .ctx(what)
    .map(drop)
}

/// Shows that the binary syncobj has a fence that has not signalled: a
/// short wait times out with `ETIME`.
#[track_caller]
pub fn expect_pending(f: &dyn PanthorFile, handle: u32, what: &str) -> R {
    expect_errno(
        f.syncobj_wait(&[handle], in_ms(PENDING_MS), SyncobjWaitFlags::empty()),
        Errno::ETIME,
        what,
    )
}

/// As [`expect_pending`] for a submitted timeline point.
#[track_caller]
pub fn expect_point_pending(f: &dyn PanthorFile, handle: u32, point: u64, what: &str) -> R {
    expect_errno(
        f.syncobj_timeline_wait(
            &[handle],
            &[point],
            in_ms(PENDING_MS),
            SyncobjWaitFlags::empty(),
        ),
        Errno::ETIME,
        what,
    )
}

/// Shows that the syncobj holds no fence at all: a wait without
/// `WAIT_FOR_SUBMIT` is `EINVAL` (drm_syncobj_array_wait_timeout).
#[track_caller]
pub fn expect_no_fence(f: &dyn PanthorFile, handle: u32, what: &str) -> R {
    expect_errno(
        f.syncobj_wait(&[handle], in_ms(0), SyncobjWaitFlags::empty()),
        Errno::EINVAL,
        what,
    )
}

/// `SYNCOBJ_QUERY` of one handle.
#[track_caller]
pub fn query(f: &dyn PanthorFile, handle: u32, flags: u32) -> R<u64> {
    let mut p = [0u64];
    f.syncobj_query(&[handle], &mut p, flags)
        .ctx("SYNCOBJ_QUERY")?;
    Ok(p[0])
}

// ----- BOs -----------------------------------------------------------------

/// A BO with a CPU mapping of all of it.
pub struct Bo {
    pub handle: u32,
    pub map: CpuMapping,
}

impl Bo {
    /// BO_CREATE + BO_MMAP_OFFSET + mmap.
    #[track_caller]
    pub fn new(f: &dyn PanthorFile, size: u64) -> R<Bo> {
        let mut args = drm_panthor_bo_create {
            size,
            ..Default::default()
        };
        f.bo_create(&mut args).ctx("BO_CREATE")?;
        let mut off = drm_panthor_bo_mmap_offset {
            handle: args.handle,
            ..Default::default()
        };
        f.bo_mmap_offset(&mut off).ctx("BO_MMAP_OFFSET")?;
        let map = f.mmap(off.offset, args.size as usize).ctx("mmap")?;
        Ok(Bo {
            handle: args.handle,
            map,
        })
    }

    /// A BO holding `data` at offset 0.
    #[track_caller]
    pub fn with(f: &dyn PanthorFile, size: u64, data: &[u8]) -> R<Bo> {
        let bo = Bo::new(f, size)?;
        bo.write(0, data)?;
        Ok(bo)
    }

    #[track_caller]
    pub fn read(&self, offset: u64, len: usize) -> R<Vec<u8>> {
        let mut out = vec![0u8; len];
        self.map
            .read(offset as usize, &mut out)
            .ctx("read through the CPU mapping")?;
        Ok(out)
    }

    #[track_caller]
    pub fn write(&self, offset: u64, data: &[u8]) -> R {
        self.map
            .write(offset as usize, data)
            .ctx("write through the CPU mapping")
    }
}

// ----- VMs -----------------------------------------------------------------

#[track_caller]
pub fn vm_create(f: &dyn PanthorFile) -> R<u32> {
    let mut args = drm_panthor_vm_create::default();
    f.vm_create(&mut args).ctx("VM_CREATE")?;
    ensure!(args.id != 0, "VM_CREATE returned id 0");
    Ok(args.id)
}

#[track_caller]
pub fn vm_state(f: &dyn PanthorFile, vm: u32) -> R<u32> {
    let mut args = drm_panthor_vm_get_state {
        vm_id: vm,
        state: 0xdead,
    };
    f.vm_get_state(&mut args).ctx("VM_GET_STATE")?;
    Ok(args.state)
}

pub fn op_map(handle: u32, bo_offset: u64, va: u64, size: u64) -> VmBindOp<'static> {
    VmBindOp {
        flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP,
        bo_handle: handle,
        bo_offset,
        va,
        size,
        syncs: &[],
    }
}

/// The flags a sparse MAP must carry (seed patch: SPARSE needs NOEXEC).
pub const SPARSE_FLAGS: u32 = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP
    | DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE
    | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;

pub fn op_sparse(va: u64, size: u64) -> VmBindOp<'static> {
    VmBindOp {
        flags: SPARSE_FLAGS,
        va,
        size,
        ..Default::default()
    }
}

pub fn op_unmap(va: u64, size: u64) -> VmBindOp<'static> {
    VmBindOp {
        flags: DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP,
        va,
        size,
        ..Default::default()
    }
}

/// A synchronous VM_BIND of one op that must succeed.
#[track_caller]
pub fn bind(f: &dyn PanthorFile, vm: u32, op: VmBindOp<'_>, what: &str) -> R {
    f.vm_bind(vm, 0, &[op]).ctx(what)
}

#[track_caller]
pub fn map(f: &dyn PanthorFile, vm: u32, bo: &Bo, bo_offset: u64, va: u64, size: u64) -> R {
    bind(f, vm, op_map(bo.handle, bo_offset, va, size), "VM_BIND map")
}

/// Skips the case when the device is older than panthor 1.`minor`.
pub fn require_minor(f: &dyn PanthorFile, minor: i32, what: &str) -> R {
    let v = f.version().ctx("DRM_IOCTL_VERSION")?;
    if v.is_panthor_at_least(minor) {
        Ok(())
    } else {
        Err(CaseError::skip(format!(
            "{what} needs panthor 1.{minor}; the device is {} {}.{}",
            v.name, v.major, v.minor
        )))
    }
}

/// Skips the case on devices without sparse mappings (driver 1.9).
pub fn require_sparse(f: &dyn PanthorFile) -> R {
    require_minor(f, version::MINOR_MAP_SPARSE, "MAP_SPARSE")
}

// ----- groups --------------------------------------------------------------

/// Queue creation arguments every case uses: priority 0, 16 KiB rings.
pub fn queue_args(n: usize) -> Vec<drm_panthor_queue_create> {
    vec![
        drm_panthor_queue_create {
            priority: 0,
            pad: [0; 3],
            ringbuf_size: 16 << 10,
        };
        n
    ]
}

/// GROUP_CREATE arguments naming every present core, priority LOW.
pub fn group_args<'a>(
    info: &drm_panthor_gpu_info,
    vm: u32,
    queues: &'a [drm_panthor_queue_create],
) -> GroupCreate<'a> {
    GroupCreate {
        queues,
        max_compute_cores: info.shader_present.count_ones() as u8,
        max_fragment_cores: info.shader_present.count_ones() as u8,
        max_tiler_cores: info.tiler_present.count_ones() as u8,
        priority: PANTHOR_GROUP_PRIORITY_LOW,
        pad: 0,
        compute_core_mask: info.shader_present,
        fragment_core_mask: info.shader_present,
        tiler_core_mask: info.tiler_present,
        vm_id: vm,
    }
}

#[track_caller]
pub fn group_create(f: &dyn PanthorFile, vm: u32, queues: usize) -> R<u32> {
    let info = f.gpu_info().ctx("DEV_QUERY(GPU_INFO)")?;
    let q = queue_args(queues);
    let g = f
        .group_create(&group_args(&info, vm, &q))
        .ctx("GROUP_CREATE")?;
    ensure!(g != 0, "GROUP_CREATE returned handle 0");
    Ok(g)
}

#[track_caller]
pub fn group_state(f: &dyn PanthorFile, group: u32) -> R<drm_panthor_group_get_state> {
    let mut s = drm_panthor_group_get_state {
        group_handle: group,
        ..Default::default()
    };
    f.group_get_state(&mut s).ctx("GROUP_GET_STATE")?;
    Ok(s)
}

// ----- streams -------------------------------------------------------------

/// A finished stream from `build`.
pub fn stream(build: impl FnOnce(&mut CsBuilder)) -> R<Vec<u8>> {
    let mut b = CsBuilder::new();
    build(&mut b);
    b.finish_bytes()
        .map_err(|e| CaseError::fail(format!("building a CS stream: {e}")))
}

/// The copy loop a driver lowers a transfer to (64 bytes an iteration).
pub fn copy_stream(src: u64, dst: u64, bytes: u32) -> R<Vec<u8>> {
    stream(|b| {
        b.copy(src, dst, bytes);
    })
}

/// Appends "store the 64-bit `value` at `va`" (clobbers d0, d2).
pub fn emit_store64(b: &mut CsBuilder, va: u64, value: u64) {
    b.mov48(0, va).mov64(2, value).store64(2, 0, 0).wait(1);
}

/// Appends "copy 64 bytes from `src` to `dst`" without a loop (clobbers
/// d0, d2, r16..r31).
pub fn emit_copy64(b: &mut CsBuilder, src: u64, dst: u64) {
    b.mov48(0, src)
        .mov48(2, dst)
        .load_multiple(16, 0xffff, 0, 0)
        .wait(1)
        .store_multiple(16, 0xffff, 2, 0)
        .wait(1);
}

/// One group on one VM with a code BO mapped at [`CODE_VA`]: runs streams.
pub struct Ctx<'f> {
    pub f: &'f dyn PanthorFile,
    pub vm: u32,
    pub group: u32,
    code: Bo,
    next: Cell<u64>,
}

impl<'f> Ctx<'f> {
    /// A new VM with a one-queue group.
    #[track_caller]
    pub fn new(f: &'f dyn PanthorFile) -> R<Ctx<'f>> {
        let vm = vm_create(f)?;
        Ctx::on_vm(f, vm, 1)
    }

    /// A group of `queues` queues on an existing VM (which must leave
    /// [`CODE_VA`] free for the code BO).
    #[track_caller]
    pub fn on_vm(f: &'f dyn PanthorFile, vm: u32, queues: usize) -> R<Ctx<'f>> {
        let code = Bo::new(f, CODE_SIZE)?;
        map(f, vm, &code, 0, CODE_VA, CODE_SIZE)?;
        let group = group_create(f, vm, queues)?;
        Ok(Ctx {
            f,
            vm,
            group,
            code,
            next: Cell::new(0),
        })
    }

    /// Moves to a new group of `queues` queues on the same VM (the old one
    /// faulted, say); the code mapping is shared.
    #[track_caller]
    pub fn new_group(&mut self, queues: usize) -> R {
        self.group = group_create(self.f, self.vm, queues)?;
        Ok(())
    }

    /// Writes `stream` to the code BO; returns its GPU VA (64-byte aligned,
    /// as GROUP_SUBMIT requires).
    pub fn place(&self, stream: &[u8]) -> R<u64> {
        let len = (stream.len() as u64).next_multiple_of(64).max(64);
        ensure!(len <= CODE_SIZE / 4, "stream of {len} bytes is too long");
        let mut at = self.next.get();
        if at + len > CODE_SIZE {
            // Wrap around: the streams there are long done (callers keep
            // far fewer than CODE_SIZE bytes of jobs in flight).
            at = 0;
        }
        self.next.set(at + len);
        self.code.write(at, stream)?;
        Ok(CODE_VA + at)
    }

    /// The QueueSubmit for `stream` placed in the code BO.
    pub fn job<'s>(
        &self,
        queue: u32,
        stream: &[u8],
        syncs: &'s [drm_panthor_sync_op],
    ) -> R<QueueSubmit<'s>> {
        let addr = self.place(stream)?;
        Ok(QueueSubmit {
            queue_index: queue,
            stream_size: stream.len() as u32,
            stream_addr: addr,
            latest_flush: 0,
            pad: 0,
            syncs,
        })
    }

    /// GROUP_SUBMIT of one stream on `queue` that must be accepted.
    #[track_caller]
    pub fn submit(&self, queue: u32, stream: &[u8], syncs: &[drm_panthor_sync_op]) -> R {
        let job = self.job(queue, stream, syncs)?;
        self.f
            .group_submit(self.group, 0, &[job])
            .ctx("GROUP_SUBMIT")
    }

    /// Runs `stream` on queue 0 to completion and checks that the group is
    /// still healthy.
    #[track_caller]
    pub fn run(&self, stream: &[u8]) -> R {
        let done = self.f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
        let result = (|| {
            self.submit(0, stream, &[signal_op(done)])?;
            wait_done(self.f, done, "waiting for a job")?;
            self.expect_healthy()
        })();
        let _ = self.f.syncobj_destroy(done);
        result
    }

    /// Copies `bytes` (a multiple of 64) from GPU VA `src` to `dst`.
    #[track_caller]
    pub fn copy(&self, src: u64, dst: u64, bytes: u32) -> R {
        self.run(&copy_stream(src, dst, bytes)?)
    }

    /// The group reports no fault and no timeout.
    #[track_caller]
    pub fn expect_healthy(&self) -> R {
        let s = group_state(self.f, self.group)?;
        ensure!(
            s.state == 0 && s.fatal_queues == 0,
            "group {} is not healthy: state {:#x}, fatal_queues {:#x}",
            self.group,
            s.state,
            s.fatal_queues
        );
        Ok(())
    }
}

/// Moves bytes between GPU VAs of one VM, the way the device can: CS copy
/// streams on a group, or on `/dev/vpanthor`, which has no groups,
/// VM_ACCESS through the page tables (the kernel side's software walker
/// translates each access as the MMU would). Cases about mappings use it,
/// so they run inside a real kernel too.
pub enum Mover<'f> {
    Gpu(Ctx<'f>),
    Walk { f: &'f dyn PanthorFile, vm: u32 },
}

impl<'f> Mover<'f> {
    /// A new VM, with a group where the device has them.
    #[track_caller]
    pub fn new(f: &'f dyn PanthorFile) -> R<Mover<'f>> {
        let vm = vm_create(f)?;
        Mover::on_vm(f, vm, 1)
    }

    /// On an existing VM (leaving [`CODE_VA`] free), with a group of
    /// `queues` queues where the device has them.
    #[track_caller]
    pub fn on_vm(f: &'f dyn PanthorFile, vm: u32, queues: usize) -> R<Mover<'f>> {
        if f.version().is_ok_and(|v| v.is_virtual_kernel_device()) {
            Ok(Mover::Walk { f, vm })
        } else {
            Ctx::on_vm(f, vm, queues).map(Mover::Gpu)
        }
    }

    pub fn vm(&self) -> u32 {
        match self {
            Mover::Gpu(c) => c.vm,
            Mover::Walk { vm, .. } => *vm,
        }
    }

    pub fn file(&self) -> &'f dyn PanthorFile {
        match self {
            Mover::Gpu(c) => c.f,
            Mover::Walk { f, .. } => *f,
        }
    }

    /// Each `(src, dst, bytes)` in order (`bytes` a multiple of 64), as
    /// one stream on the GPU.
    #[track_caller]
    pub fn copies(&self, list: &[(u64, u64, u32)]) -> R {
        match self {
            Mover::Gpu(c) => c.run(&stream(|b| {
                for &(src, dst, bytes) in list {
                    b.copy(src, dst, bytes);
                }
            })?),
            Mover::Walk { f, vm } => {
                // VM_ACCESS moves at most 1 MiB per call.
                const CHUNK: u64 = 1 << 20;
                for &(src, dst, bytes) in list {
                    let mut buf = vec![0u8; bytes as usize];
                    for (i, piece) in buf.chunks_mut(CHUNK as usize).enumerate() {
                        let at = i as u64 * CHUNK;
                        f.vpanthor_vm_access(*vm, src + at, piece, false)
                            .ctx("VM_ACCESS read")?;
                        f.vpanthor_vm_access(*vm, dst + at, piece, true)
                            .ctx("VM_ACCESS write")?;
                    }
                }
                Ok(())
            }
        }
    }

    #[track_caller]
    pub fn copy(&self, src: u64, dst: u64, bytes: u32) -> R {
        self.copies(&[(src, dst, bytes)])
    }
}

/// A GPU job that keeps fences pending until [`Gate::release`] (see the
/// module comment). Lives on its own VM of the file.
pub struct Gate<'f> {
    ctx: Ctx<'f>,
    _flag: Bo,
}

impl<'f> Gate<'f> {
    #[track_caller]
    pub fn new(f: &'f dyn PanthorFile) -> R<Gate<'f>> {
        let vm = vm_create(f)?;
        let ctx = Ctx::on_vm(f, vm, 2)?;
        let flag = Bo::new(f, PAGE)?;
        map(f, vm, &flag, 0, FLAG_VA, PAGE)?;
        Ok(Gate { ctx, _flag: flag })
    }

    /// Submits, on queue 0, a job that waits for the flag and then signals
    /// `signals`.
    #[track_caller]
    pub fn hold(&self, signals: &[drm_panthor_sync_op]) -> R {
        let s = stream(|b| {
            b.mov48(0, FLAG_VA)
                .mov32(2, 0)
                .sync_wait32(Condition::Greater, 0, 2, false);
        })?;
        self.ctx.submit(0, &s, signals)
    }

    /// A new binary syncobj whose fence is held by the gate.
    #[track_caller]
    pub fn held_syncobj(&self) -> R<u32> {
        let h = self.ctx.f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
        self.hold(&[signal_op(h)])?;
        Ok(h)
    }

    /// Sets the flag from queue 1 and waits until that job is done (the
    /// held jobs then finish on their own).
    #[track_caller]
    pub fn release(&self) -> R {
        let s = stream(|b| {
            b.mov48(0, FLAG_VA)
                .mov32(2, 1)
                .sync_set32(0, 2, SyncScope::System, false, Async::NOW)
                .wait(0xff);
        })?;
        let done = self.ctx.f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
        self.ctx.submit(1, &s, &[signal_op(done)])?;
        wait_done(self.ctx.f, done, "waiting for the gate's release job")?;
        let _ = self.ctx.f.syncobj_destroy(done);
        Ok(())
    }
}

/// Compares two byte strings, reporting the first difference.
#[track_caller]
pub fn ensure_bytes(got: &[u8], want: &[u8], what: &str) -> R {
    ensure_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        return Err(CaseError::fail(format!(
            "{what}: byte {i} is {:#04x}, expected {:#04x} ({} of {} bytes differ)",
            got[i],
            want[i],
            got.iter().zip(want).filter(|(a, b)| a != b).count(),
            got.len()
        )));
    }
    Ok(())
}
