//! The in-process device's shareable fds: PRIME dma-bufs, syncobj fds and
//! sync_files (`sim/src/dma_buf.rs`, `syncobj_fd.rs`, `sync_file.rs`),
//! with the kernel's errnos, identities, lifetimes and poll behaviour.

use std::io::Seek;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use panthor_sim::cs::{Async, Condition, CsBuilder, SyncScope};
use panthor_sim::fds::{file_id, sealed_memfd, FileId};
use panthor_sim::virtual_device::{monotonic_ns, VirtualDevice, VirtualFile};
use panthor_sim::{dma_buf, sync_file, syncobj_fd};
use panthor_uapi::device::*;
use panthor_uapi::errno::Errno;
use panthor_uapi::uapi::*;

mod common;
use common::group_on;

const MEMORY: u64 = 256 << 20;
const PAGE: u64 = 4096;

fn device() -> Arc<VirtualDevice> {
    VirtualDevice::new(MEMORY).unwrap()
}

fn bo(f: &VirtualFile, size: u64) -> u32 {
    let mut args = drm_panthor_bo_create {
        size,
        ..Default::default()
    };
    f.bo_create(&mut args).unwrap();
    args.handle
}

fn cpu_map(f: &VirtualFile, handle: u32, size: u64) -> CpuMapping {
    let mut off = drm_panthor_bo_mmap_offset {
        handle,
        ..Default::default()
    };
    f.bo_mmap_offset(&mut off).unwrap();
    f.mmap(off.offset, size as usize).unwrap()
}

fn id(fd: &OwnedFd) -> FileId {
    file_id(fd.as_fd()).unwrap()
}

fn size_by_lseek(fd: &OwnedFd) -> u64 {
    let mut f = std::fs::File::from(fd.try_clone().unwrap());
    f.seek(std::io::SeekFrom::End(0)).unwrap()
}

fn cloexec(fd: &OwnedFd) -> bool {
    // SAFETY: F_GETFD on an open fd reads its flags only.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
    assert!(flags >= 0);
    flags & libc::FD_CLOEXEC != 0
}

/// `poll` for POLLIN, up to `ms` milliseconds.
fn readable(fd: &OwnedFd, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    assert_eq!(p.revents & !libc::POLLIN, 0, "revents {:#x}", p.revents);
    n == 1 && p.revents & libc::POLLIN != 0
}

/// A number that is no open fd (it was one a moment ago).
fn closed_fd_number() -> i32 {
    let f = sealed_memfd(c"t", 0).unwrap();
    f.as_raw_fd()
}

fn wait(f: &VirtualFile, h: u32, ms: i64) -> Result<u32, Errno> {
    f.syncobj_wait(
        &[h],
        monotonic_ns() + ms * 1_000_000,
        SyncobjWaitFlags::empty(),
    )
}

// ----- a GPU job that keeps a fence pending ---------------------------------

const CODE_VA: u64 = 0x10_0000;
const FLAG_VA: u64 = 0x80_0000;

/// A job on queue 0 that waits for a flag in memory; [`Gate::release`]
/// sets it from queue 1 (as the conformance suite's gate does).
struct Gate<'f> {
    f: &'f VirtualFile,
    group: u32,
    code: CpuMapping,
    next: std::cell::Cell<u64>,
}

impl<'f> Gate<'f> {
    fn new(f: &'f VirtualFile) -> Gate<'f> {
        let mut vm = drm_panthor_vm_create::default();
        f.vm_create(&mut vm).unwrap();
        let code = bo(f, 64 << 10);
        let flag = bo(f, PAGE);
        for (h, va, size) in [(code, CODE_VA, 64 << 10), (flag, FLAG_VA, PAGE)] {
            f.vm_bind(
                vm.id,
                0,
                &[VmBindOp {
                    flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP,
                    bo_handle: h,
                    va,
                    size,
                    ..Default::default()
                }],
            )
            .unwrap();
        }
        let group = group_on(f, vm.id, 2);
        Gate {
            f,
            group,
            code: cpu_map(f, code, 64 << 10),
            next: std::cell::Cell::new(0),
        }
    }

    fn submit(&self, queue: u32, build: impl FnOnce(&mut CsBuilder), signal: u32) {
        let mut b = CsBuilder::new();
        build(&mut b);
        let stream = b.finish_bytes().unwrap();
        let at = self.next.get();
        self.next
            .set(at + (stream.len() as u64).next_multiple_of(64));
        self.code.write(at as usize, &stream).unwrap();
        let syncs = [drm_panthor_sync_op {
            flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL,
            handle: signal,
            timeline_value: 0,
        }];
        self.f
            .group_submit(
                self.group,
                0,
                &[QueueSubmit {
                    queue_index: queue,
                    stream_size: stream.len() as u32,
                    stream_addr: CODE_VA + at,
                    syncs: &syncs,
                    ..Default::default()
                }],
            )
            .unwrap();
    }

    /// A new binary syncobj whose fence the gate holds.
    fn held_syncobj(&self) -> u32 {
        let h = self.f.syncobj_create(0).unwrap();
        self.submit(
            0,
            |b| {
                b.mov48(0, FLAG_VA)
                    .mov32(2, 0)
                    .sync_wait32(Condition::Greater, 0, 2, false);
            },
            h,
        );
        h
    }

    fn release(&self) {
        let done = self.f.syncobj_create(0).unwrap();
        self.submit(
            1,
            |b| {
                b.mov48(0, FLAG_VA)
                    .mov32(2, 1)
                    .sync_set32(0, 2, SyncScope::System, false, Async::NOW)
                    .wait(0xff);
            },
            done,
        );
        wait(self.f, done, 10_000).unwrap();
    }
}

// ----- PRIME ----------------------------------------------------------------

#[test]
fn a_dma_buf_fd_is_bo_sized_sealed_and_one_per_bo() {
    let dev = device();
    let f = dev.open().unwrap();
    let h = bo(&f, 5000);
    let fd = f.prime_handle_to_fd(h, DRM_CLOEXEC | DRM_RDWR).unwrap();
    assert_eq!(size_by_lseek(&fd), 8192, "lseek(SEEK_END) is the BO size");
    assert!(cloexec(&fd));
    // SAFETY: F_GET_SEALS on an open fd reads its seals only.
    let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    let all = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    assert_eq!(seals & all, all);
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
    assert!(
        link.to_string_lossy().contains("virtual-mali-dmabuf"),
        "{link:?}"
    );

    // The same dma-buf again, with or without close-on-exec.
    let again = f.prime_handle_to_fd(h, 0).unwrap();
    assert!(!cloexec(&again));
    assert_eq!(id(&again), id(&fd));
    let first = id(&fd);
    drop((fd, again));
    // Still the same while the BO has a handle (the kernel's obj->dma_buf).
    let fd = f.prime_handle_to_fd(h, DRM_CLOEXEC).unwrap();
    assert_eq!(id(&fd), first);
    let other = f.prime_handle_to_fd(bo(&f, PAGE), DRM_CLOEXEC).unwrap();
    assert_ne!(id(&other), first);
    assert_eq!(size_by_lseek(&other), PAGE);
}

#[test]
fn prime_export_errors_come_in_the_kernels_order() {
    let dev = device();
    let f = dev.open().unwrap();
    let h = bo(&f, PAGE);
    // Flags are checked before the handle.
    assert_eq!(f.prime_handle_to_fd(99, 1 << 3).err(), Some(Errno::EINVAL));
    assert_eq!(f.prime_handle_to_fd(h, 1).err(), Some(Errno::EINVAL));
    assert_eq!(
        f.prime_handle_to_fd(99, DRM_CLOEXEC).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(f.prime_handle_to_fd(0, 0).err(), Some(Errno::ENOENT));
    let mut vm = drm_panthor_vm_create::default();
    f.vm_create(&mut vm).unwrap();
    let mut excl = drm_panthor_bo_create {
        size: PAGE,
        exclusive_vm_id: vm.id,
        ..Default::default()
    };
    f.bo_create(&mut excl).unwrap();
    assert_eq!(
        f.prime_handle_to_fd(excl.handle, DRM_CLOEXEC).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(dma_buf::registered(dev.id()), 0);
}

#[test]
fn an_imported_dma_buf_is_one_handle_per_file_to_the_same_bo() {
    let dev = device();
    let (a, b) = (dev.open().unwrap(), dev.open().unwrap());
    let _before = bo(&a, PAGE); // so that the handles of a and b differ
    let ha = bo(&a, 2 * PAGE);
    let fd = a.prime_handle_to_fd(ha, DRM_CLOEXEC).unwrap();
    assert_eq!(a.prime_fd_to_handle(fd.as_fd()), Ok(ha));
    let hb = b.prime_fd_to_handle(fd.as_fd()).unwrap();
    assert_eq!(b.prime_fd_to_handle(fd.as_fd()), Ok(hb));
    assert_eq!(hb, 1, "the lowest free handle of file b");
    // Re-exported from b: the same dma-buf.
    let fd_b = b.prime_handle_to_fd(hb, DRM_CLOEXEC).unwrap();
    assert_eq!(id(&fd_b), id(&fd));

    // Bytes written through a's mapping are b's.
    let data: Vec<u8> = (0..2 * PAGE as usize).map(|i| (i * 13 + 1) as u8).collect();
    cpu_map(&a, ha, 2 * PAGE).write(0, &data).unwrap();
    let mut got = vec![0; data.len()];
    cpu_map(&b, hb, 2 * PAGE).read(0, &mut got).unwrap();
    assert!(got == data);

    // A closed handle in the exporting file: the import makes a new one.
    a.gem_close(ha).unwrap();
    let again = a.prime_fd_to_handle(fd.as_fd()).unwrap();
    assert_eq!(again, ha, "the lowest free handle");
    let mut got = vec![0; data.len()];
    cpu_map(&a, again, 2 * PAGE).read(0, &mut got).unwrap();
    assert!(got == data);
}

#[test]
fn foreign_fds_are_refused_with_the_kernels_errnos() {
    let dev = device();
    let other_dev = device();
    let f = dev.open().unwrap();
    let g = other_dev.open().unwrap();
    let sync = f.syncobj_create(DRM_SYNCOBJ_CREATE_SIGNALED).unwrap();
    let syncobj_fd = f.syncobj_handle_to_fd(sync, 0).unwrap();
    let sync_file = f
        .syncobj_handle_to_fd(sync, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE)
        .unwrap();
    let dma_buf = f.prime_handle_to_fd(bo(&f, PAGE), DRM_CLOEXEC).unwrap();
    let memfd = sealed_memfd(dma_buf::MEMFD_NAME, PAGE).unwrap();
    let (pipe_r, _pipe_w) = panthor_sim::fds::pipe().unwrap();
    let closed = closed_fd_number();
    // SAFETY: fstat (all the import does) on a number that is not open
    // fails with EBADF; nothing is read, written or closed through it.
    let closed = unsafe { BorrowedFd::borrow_raw(closed) };

    // PRIME: EBADF for a non-fd, EINVAL for anything but our dma-bufs.
    assert_eq!(f.prime_fd_to_handle(closed), Err(Errno::EBADF));
    for fd in [&memfd, &pipe_r, &syncobj_fd, &sync_file] {
        assert_eq!(f.prime_fd_to_handle(fd.as_fd()), Err(Errno::EINVAL));
    }
    assert_eq!(g.prime_fd_to_handle(dma_buf.as_fd()), Err(Errno::EINVAL));

    // Syncobj fds: EINVAL for a non-fd and any other kind.
    for fd in [closed, memfd.as_fd(), sync_file.as_fd(), dma_buf.as_fd()] {
        assert_eq!(f.syncobj_fd_to_handle(fd, 0, 0), Err(Errno::EINVAL));
    }
    assert_eq!(
        g.syncobj_fd_to_handle(syncobj_fd.as_fd(), 0, 0),
        Err(Errno::EINVAL)
    );

    // sync_files: EINVAL for the fd before ENOENT for the handle.
    let c = f.syncobj_create(0).unwrap();
    let import = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE;
    for fd in [closed, pipe_r.as_fd(), syncobj_fd.as_fd(), dma_buf.as_fd()] {
        assert_eq!(f.syncobj_fd_to_handle(fd, import, c), Err(Errno::EINVAL));
        assert_eq!(f.syncobj_fd_to_handle(fd, import, 99), Err(Errno::EINVAL));
    }
    assert_eq!(
        f.syncobj_fd_to_handle(sync_file.as_fd(), import, 99),
        Err(Errno::ENOENT)
    );
    let gc = g.syncobj_create(0).unwrap();
    assert_eq!(
        g.syncobj_fd_to_handle(sync_file.as_fd(), import, gc),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        f.syncobj_fd_to_handle(sync_file.as_fd(), 2, c),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        f.syncobj_wait(&[c], 0, SyncobjWaitFlags::empty()),
        Err(Errno::EINVAL)
    );
    assert_eq!(f.syncobj_fd_to_handle(sync_file.as_fd(), import, c), Ok(c));
    assert_eq!(f.syncobj_wait(&[c], 0, SyncobjWaitFlags::empty()), Ok(0));
}

#[test]
fn a_closed_dma_buf_frees_its_bo_at_the_next_export() {
    let dev = device();
    let f = dev.open().unwrap();
    let pages = || dev.gpu().mem.allocated_pages();
    let base = pages();
    let h = bo(&f, 1 << 20);
    let fd = f.prime_handle_to_fd(h, DRM_CLOEXEC).unwrap();
    drop(fd);
    f.gem_close(h).unwrap();
    let small = bo(&f, PAGE);
    let _fd = f.prime_handle_to_fd(small, DRM_CLOEXEC).unwrap();
    assert_eq!(pages(), base + 1, "the first BO's 256 pages are freed");
    assert_eq!(dma_buf::registered(dev.id()), 1);
}

#[test]
fn an_open_dma_buf_keeps_its_bo_alive() {
    let dev = device();
    let (a, b) = (dev.open().unwrap(), dev.open().unwrap());
    let pages = || dev.gpu().mem.allocated_pages();
    let h = bo(&a, 1 << 20);
    let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 + 5) as u8).collect();
    cpu_map(&a, h, 1 << 20).write(0, &data).unwrap();
    let fd = a.prime_handle_to_fd(h, DRM_CLOEXEC).unwrap();
    a.gem_close(h).unwrap();
    drop(a);
    // A sweep runs: the fd is open, so the BO stays.
    let _other = b.prime_handle_to_fd(bo(&b, PAGE), DRM_CLOEXEC).unwrap();
    let hb = b.prime_fd_to_handle(fd.as_fd()).unwrap();
    let mut got = vec![0; data.len()];
    cpu_map(&b, hb, 1 << 20).read(0, &mut got).unwrap();
    assert!(
        got == data,
        "the BO outlived its handles while its fd was open"
    );
    // Closing the fd and the last handle lets it go at the next export.
    let with_it = pages();
    drop(fd);
    b.gem_close(hb).unwrap();
    let _third = b.prime_handle_to_fd(bo(&b, PAGE), DRM_CLOEXEC).unwrap();
    assert_eq!(pages(), with_it - 256 + 1);
}

// ----- syncobj fds ----------------------------------------------------------

#[test]
fn a_syncobj_fd_is_the_syncobj_itself() {
    let dev = device();
    let (a, b) = (dev.open().unwrap(), dev.open().unwrap());
    let s = a.syncobj_create(0).unwrap();
    assert_eq!(a.syncobj_handle_to_fd(99, 0).err(), Some(Errno::EINVAL));
    assert_eq!(a.syncobj_handle_to_fd(s, 2).err(), Some(Errno::EINVAL));
    assert_eq!(a.syncobj_handle_to_fd(99, 3).err(), Some(Errno::EINVAL));
    let fd = a.syncobj_handle_to_fd(s, 0).unwrap();
    let fd2 = a.syncobj_handle_to_fd(s, 0).unwrap();
    assert!(cloexec(&fd));
    assert_ne!(id(&fd), id(&fd2), "every export is a new file");
    // Each import is a new handle, even in the exporting file.
    let s2 = a.syncobj_fd_to_handle(fd.as_fd(), 0, 0).unwrap();
    assert_ne!(s2, s);
    assert_ne!(a.syncobj_fd_to_handle(fd2.as_fd(), 0, 0).unwrap(), s2);
    let t = b.syncobj_fd_to_handle(fd.as_fd(), 0, 0).unwrap();
    // The fd keeps the syncobj alive without any handle.
    a.syncobj_destroy(s).unwrap();
    a.syncobj_destroy(s2).unwrap();
    b.syncobj_destroy(t).unwrap();
    let t = b.syncobj_fd_to_handle(fd.as_fd(), 0, 0).unwrap();
    let u = a.syncobj_fd_to_handle(fd2.as_fd(), 0, 0).unwrap();
    b.syncobj_timeline_signal(&[t], &[5]).unwrap();
    let mut points = [0];
    a.syncobj_query(&[u], &mut points, 0).unwrap();
    assert_eq!(points, [5], "file a sees file b's timeline point");
    a.syncobj_reset(&[u]).unwrap();
    assert_eq!(wait(&b, t, 0), Err(Errno::EINVAL));
}

#[test]
fn closed_syncobj_fds_and_sync_files_are_swept() {
    let dev = device();
    let f = dev.open().unwrap();
    let s = f.syncobj_create(DRM_SYNCOBJ_CREATE_SIGNALED).unwrap();
    for _ in 0..200 {
        drop(f.syncobj_handle_to_fd(s, 0).unwrap());
        drop(
            f.syncobj_handle_to_fd(s, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE)
                .unwrap(),
        );
    }
    // Other tests' entries count towards the thresholds: a bound, not 0.
    assert!(syncobj_fd::registered(dev.id()) <= 2 * syncobj_fd::SWEEP_MIN);
    assert!(sync_file::registered(dev.id()) <= 2 * sync_file::SWEEP_MIN);
    let kept = f.syncobj_handle_to_fd(s, 0).unwrap();
    for _ in 0..200 {
        drop(f.syncobj_handle_to_fd(s, 0).unwrap());
    }
    // The open one survived every sweep.
    assert!(f.syncobj_fd_to_handle(kept.as_fd(), 0, 0).is_ok());
}

// ----- sync_files -----------------------------------------------------------

#[test]
fn a_sync_file_polls_readable_once_its_fence_signals() {
    let dev = device();
    let (a, b) = (dev.open().unwrap(), dev.open().unwrap());
    let export = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE;
    let import = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE;
    let empty = a.syncobj_create(0).unwrap();
    assert_eq!(
        a.syncobj_handle_to_fd(empty, export).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        a.syncobj_handle_to_fd(99, export).err(),
        Some(Errno::ENOENT)
    );

    let done = a.syncobj_create(DRM_SYNCOBJ_CREATE_SIGNALED).unwrap();
    let fd = a.syncobj_handle_to_fd(done, export).unwrap();
    assert!(cloexec(&fd));
    assert!(
        readable(&fd, 0),
        "a signalled fence's sync_file is readable"
    );

    let gate = Gate::new(&a);
    let held = gate.held_syncobj();
    let pending = a.syncobj_handle_to_fd(held, export).unwrap();
    assert!(
        !readable(&pending, 50),
        "a pending sync_file is not readable"
    );
    // The sync_file is the fence, not the syncobj: a RESET does not reach it.
    a.syncobj_reset(&[held]).unwrap();
    let c = b.syncobj_create(0).unwrap();
    assert_eq!(b.syncobj_fd_to_handle(pending.as_fd(), import, c), Ok(c));
    assert_eq!(wait(&b, c, 30), Err(Errno::ETIME));
    let start = monotonic_ns();
    gate.release();
    assert!(
        readable(&pending, 10_000),
        "readable after the job completed"
    );
    assert!(monotonic_ns() - start < 10_000_000_000);
    assert_eq!(wait(&b, c, 10_000), Ok(0));
    // Imported again after signalling: still a signalled fence.
    let d = b.syncobj_create(0).unwrap();
    b.syncobj_fd_to_handle(pending.as_fd(), import, d).unwrap();
    assert_eq!(wait(&b, d, 0), Ok(0));
}

#[test]
fn a_timeline_exports_its_whole_payload() {
    let dev = device();
    let f = dev.open().unwrap();
    let gate = Gate::new(&f);
    let held = gate.held_syncobj();
    let t = f.syncobj_create(0).unwrap();
    // Point 1 waits for the gate, point 2 is signalled.
    f.syncobj_transfer(held, 0, t, 1, 0).unwrap();
    f.syncobj_timeline_signal(&[t], &[2]).unwrap();
    let fd = f
        .syncobj_handle_to_fd(t, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE)
        .unwrap();
    assert!(!readable(&fd, 30), "point 1 of the timeline is pending");
    let c = f.syncobj_create(0).unwrap();
    f.syncobj_fd_to_handle(
        fd.as_fd(),
        DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
        c,
    )
    .unwrap();
    gate.release();
    assert!(readable(&fd, 10_000));
    assert_eq!(wait(&f, c, 10_000), Ok(0));
}

#[test]
fn a_dropped_device_forgets_its_fds() {
    let dev = device();
    let id = dev.id();
    let f = dev.open().unwrap();
    let s = f.syncobj_create(DRM_SYNCOBJ_CREATE_SIGNALED).unwrap();
    let fds = [
        f.prime_handle_to_fd(bo(&f, PAGE), DRM_CLOEXEC).unwrap(),
        f.syncobj_handle_to_fd(s, 0).unwrap(),
        f.syncobj_handle_to_fd(s, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE)
            .unwrap(),
    ];
    assert_eq!(dma_buf::registered(id), 1);
    assert_eq!(syncobj_fd::registered(id), 1);
    assert_eq!(sync_file::registered(id), 1);
    drop(f);
    drop(dev);
    assert_eq!(dma_buf::registered(id), 0);
    assert_eq!(syncobj_fd::registered(id), 0);
    // A sync_file outlives its device (until its fd is closed).
    assert_eq!(sync_file::registered(id), 1);
    // The fds stay open; a new device does not take them.
    let dev = device();
    let g = dev.open().unwrap();
    assert_eq!(g.prime_fd_to_handle(fds[0].as_fd()), Err(Errno::EINVAL));
    assert_eq!(
        g.syncobj_fd_to_handle(fds[1].as_fd(), 0, 0),
        Err(Errno::EINVAL)
    );
    assert!(readable(&fds[2], 0));
    let c = g.syncobj_create(0).unwrap();
    assert_eq!(
        g.syncobj_fd_to_handle(
            fds[2].as_fd(),
            DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
            c
        ),
        Err(Errno::EINVAL)
    );
}
