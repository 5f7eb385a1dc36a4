//! Sharing between files through file descriptors: BOs as dma-bufs
//! (PRIME), syncobjs as syncobj fds and their fences as sync_files.

use std::os::fd::AsFd;

use panthor_uapi::device::*;
use panthor_uapi::uapi::*;
use panthor_uapi::Errno;

use crate::check::{expect_errno, Check, R};
use crate::fixture::*;
use crate::{ensure, ensure_eq, open, Opener};

const DATA_VA: u64 = 0x0100_0000;
const RES_VA: u64 = 0x0200_0000;

/// PRIME (`drm_prime_handle_to_fd_ioctl`, `drm_gem_prime_fd_to_handle`,
/// `panthor_gem_prime_export`): flags other than `DRM_CLOEXEC | DRM_RDWR`
/// are `EINVAL`, an unknown handle `ENOENT`, a BO with an exclusive VM
/// cannot be exported (`EINVAL`); importing the dma-buf into the exporting
/// file gives back the same handle, into another file a handle to the same
/// BO (again the same one on a second import): bytes written through file
/// A's CPU mapping are what file B's GPU reads, and what B's GPU writes A
/// sees.
pub fn prime_export_import_shares_the_bo(o: &dyn Opener) -> R {
    let fa = open(o)?;
    let fb = open(o)?;
    let data = pattern(70, PAGE as usize);
    let a = Bo::with(&*fa, PAGE, &data)?;
    expect_errno(
        fa.prime_handle_to_fd(a.handle, 1 << 3),
        Errno::EINVAL,
        "PRIME export with flag 1<<3",
    )?;
    expect_errno(
        fa.prime_handle_to_fd(a.handle + 100, DRM_CLOEXEC),
        Errno::ENOENT,
        "PRIME export of an unknown handle",
    )?;
    let vm = vm_create(&*fa)?;
    let mut excl = drm_panthor_bo_create {
        size: PAGE,
        exclusive_vm_id: vm,
        ..Default::default()
    };
    fa.bo_create(&mut excl).ctx("BO_CREATE(exclusive)")?;
    expect_errno(
        fa.prime_handle_to_fd(excl.handle, DRM_CLOEXEC),
        Errno::EINVAL,
        "PRIME export of a BO with an exclusive VM",
    )?;

    let fd = fa
        .prime_handle_to_fd(a.handle, DRM_CLOEXEC | DRM_RDWR)
        .ctx("PRIME export")?;
    ensure_eq!(
        fa.prime_fd_to_handle(fd.as_fd())
            .ctx("PRIME import into the exporting file")?,
        a.handle,
        "handle of a BO imported back into its own file"
    );
    let hb = fb.prime_fd_to_handle(fd.as_fd()).ctx("PRIME import")?;
    ensure_eq!(
        fb.prime_fd_to_handle(fd.as_fd())
            .ctx("second PRIME import")?,
        hb,
        "handle of a second import into the same file"
    );

    let ctx = Ctx::new(&*fb)?;
    bind(
        &*fb,
        ctx.vm,
        op_map(hb, 0, DATA_VA, PAGE),
        "MAP of the imported BO",
    )?;
    let res = Bo::new(&*fb, PAGE)?;
    map(&*fb, ctx.vm, &res, 0, RES_VA, PAGE)?;
    ctx.copy(DATA_VA, RES_VA, PAGE as u32)?;
    ensure_bytes(
        &res.read(0, PAGE as usize)?,
        &data,
        "file B's GPU read of file A's bytes",
    )?;
    ctx.run(&stream(|b| emit_store64(b, DATA_VA + 8, 0x5a5a_a5a5))?)?;
    ensure_eq!(
        u64::from_le_bytes(a.read(8, 8)?.try_into().unwrap()),
        0x5a5a_a5a5,
        "file A's view of file B's GPU write"
    );
    Ok(())
}

/// Syncobj fds (`drm_syncobj_handle_to_fd_ioctl`,
/// `drm_syncobj_fd_to_handle_ioctl`, `drm_syncobj_export_sync_file`,
/// `drm_syncobj_import_sync_file_fence`): an exported syncobj imported in
/// another file is the same object (a SIGNAL in one is seen by waits in
/// the other, a RESET too); export flags other than `EXPORT_SYNC_FILE`
/// and unknown handles are `EINVAL`; exporting the fence of a syncobj with
/// none is `EINVAL`; a sync_file carries the fence itself (pending until
/// its job finishes) into another file's syncobj; importing a sync_file
/// into an unknown handle is `ENOENT`, and an fd of the wrong kind
/// `EINVAL`.
pub fn syncobj_fds_cross_files(o: &dyn Opener) -> R {
    let fa = open(o)?;
    let fb = open(o)?;
    let a = fa.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    expect_errno(
        fa.syncobj_handle_to_fd(a + 100, 0),
        Errno::EINVAL,
        "export of an unknown syncobj",
    )?;
    expect_errno(
        fa.syncobj_handle_to_fd(a, 2),
        Errno::EINVAL,
        "export with flags 2",
    )?;
    expect_errno(
        fa.syncobj_handle_to_fd(a, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE),
        Errno::EINVAL,
        "sync_file export of a syncobj with no fence",
    )?;
    let fd = fa.syncobj_handle_to_fd(a, 0).ctx("syncobj export")?;
    let b = fb
        .syncobj_fd_to_handle(fd.as_fd(), 0, 0)
        .ctx("syncobj import")?;
    expect_no_fence(&*fb, b, "imported syncobj before any signal")?;
    fa.syncobj_signal(&[a]).ctx("SIGNAL in file A")?;
    wait_done(&*fb, b, "file B's handle after file A's SIGNAL")?;
    fb.syncobj_reset(&[b]).ctx("RESET in file B")?;
    expect_no_fence(&*fa, a, "file A's handle after file B's RESET")?;

    let gate = Gate::new(&*fa)?;
    let held = gate.held_syncobj()?;
    let sync_file = fa
        .syncobj_handle_to_fd(held, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE)
        .ctx("sync_file export of a pending fence")?;
    let c = fb.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    fb.syncobj_fd_to_handle(
        sync_file.as_fd(),
        DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
        c,
    )
    .ctx("sync_file import")?;
    expect_pending(&*fb, c, "file B's syncobj holding the pending sync_file")?;
    expect_errno(
        fb.syncobj_fd_to_handle(
            sync_file.as_fd(),
            DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
            c + 100,
        ),
        Errno::ENOENT,
        "sync_file import into an unknown syncobj",
    )?;
    expect_errno(
        fb.syncobj_fd_to_handle(sync_file.as_fd(), 0, 0),
        Errno::EINVAL,
        "a sync_file imported as a syncobj fd",
    )?;
    expect_errno(
        fb.syncobj_fd_to_handle(
            fd.as_fd(),
            DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
            c,
        ),
        Errno::EINVAL,
        "a syncobj fd imported as a sync_file",
    )?;
    gate.release()?;
    wait_done(&*fb, c, "file B's syncobj after the job finished")?;
    ensure!(
        fb.syncobj_wait(&[b], 0, SyncobjWaitFlags::empty()).is_err(),
        "the first imported syncobj gained a fence from elsewhere"
    );
    Ok(())
}
