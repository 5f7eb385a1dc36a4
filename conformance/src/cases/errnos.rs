//! The kernel's refusals: which errno each bad argument gets, and that a
//! refused call changes nothing (mappings read the same bytes through the
//! GPU, syncobjs keep their state, no handle appears).

use panthor_uapi::device::*;
use panthor_uapi::uapi::*;
use panthor_uapi::Errno;

use super::basics::QUERIES;
use crate::check::{expect_errno, Check, R};
use crate::fixture::*;
use crate::{ensure, ensure_eq, open, Opener};

const DATA_VA: u64 = 0x0100_0000;
const RES_VA: u64 = 0x0200_0000;
const OTHER_VA: u64 = 0x0300_0000;

/// `DEV_QUERY` with a buffer below the object's minimum size
/// (`panthor_set_uobj`: `usr_size < min_size` is `EINVAL`, checked before
/// anything is copied): `EINVAL`, and the buffer is left as it was.
pub fn dev_query_refuses_buffers_below_minimum(o: &dyn Opener) -> R {
    let f = open(o)?;
    require_minor(&*f, version::MINOR_MAP_SPARSE, "DEV_QUERY_MMU_INFO")?;
    for (ty, name, min) in QUERIES {
        for len in [1, min - 1] {
            let mut buf = vec![0xa5u8; len];
            expect_errno(
                f.dev_query(ty, Some(&mut buf)),
                Errno::EINVAL,
                &format!("DEV_QUERY({name}) into {len} bytes"),
            )?;
            ensure!(
                buf.iter().all(|&b| b == 0xa5),
                "DEV_QUERY({name}) wrote into a {len}-byte buffer it refused"
            );
        }
    }
    Ok(())
}

/// `VM_CREATE` / `VM_DESTROY` / `VM_GET_STATE` refusals
/// (`panthor_vm_create_check_args`: unknown flags or a user VA range the
/// MMU cannot hold are `EINVAL`; `panthor_ioctl_vm_destroy`: non-zero pad
/// `EINVAL`; unknown ids `EINVAL`). A refused create makes no VM (id 1 is
/// still unknown); a refused destroy keeps the VM.
pub fn vm_create_and_destroy_errnos(o: &dyn Opener) -> R {
    let f = open(o)?;
    let mut a = drm_panthor_vm_create {
        flags: 1,
        ..Default::default()
    };
    expect_errno(f.vm_create(&mut a), Errno::EINVAL, "VM_CREATE with flags 1")?;
    let mut a = drm_panthor_vm_create {
        user_va_range: 1 << 62,
        ..Default::default()
    };
    expect_errno(
        f.vm_create(&mut a),
        Errno::EINVAL,
        "VM_CREATE of a 2^62-byte range",
    )?;
    let mut st = drm_panthor_vm_get_state { vm_id: 1, state: 0 };
    expect_errno(
        f.vm_get_state(&mut st),
        Errno::EINVAL,
        "GET_STATE of id 1 after refused creates",
    )?;

    let vm = vm_create(&*f)?;
    expect_errno(
        f.vm_destroy(&drm_panthor_vm_destroy { id: vm, pad: 1 }),
        Errno::EINVAL,
        "VM_DESTROY with pad 1",
    )?;
    ensure_eq!(
        vm_state(&*f, vm)?,
        DRM_PANTHOR_VM_STATE_USABLE,
        "VM after a refused destroy"
    );
    expect_errno(
        f.vm_destroy(&drm_panthor_vm_destroy { id: vm + 7, pad: 0 }),
        Errno::EINVAL,
        "VM_DESTROY of an unknown id",
    )?;
    let mut st = drm_panthor_vm_get_state {
        vm_id: vm + 7,
        state: 0,
    };
    expect_errno(
        f.vm_get_state(&mut st),
        Errno::EINVAL,
        "GET_STATE of an unknown id",
    )?;
    ensure_eq!(
        vm_state(&*f, vm)?,
        DRM_PANTHOR_VM_STATE_USABLE,
        "VM at the end"
    );
    Ok(())
}

/// `PANTHOR_MAX_VMS_PER_FILE` (`panthor_vm_pool_create_vm`: `xa_alloc`
/// over ids 1..=32): 32 VMs per file, with distinct ids in 1..=32; the
/// 33rd is `EBUSY`; a destroyed id is free again; another file has its own
/// 32.
pub fn vm_ids_run_out_with_ebusy(o: &dyn Opener) -> R {
    let f = open(o)?;
    let mut ids = Vec::new();
    for _ in 0..32 {
        ids.push(vm_create(&*f)?);
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    ensure!(
        sorted.len() == 32 && sorted.iter().all(|id| (1..=32).contains(id)),
        "VM ids {ids:?}"
    );
    let mut args = drm_panthor_vm_create::default();
    expect_errno(f.vm_create(&mut args), Errno::EBUSY, "33rd VM_CREATE")?;
    f.vm_destroy(&drm_panthor_vm_destroy { id: ids[5], pad: 0 })
        .ctx("VM_DESTROY")?;
    let again = vm_create(&*f)?;
    ensure_eq!(again, ids[5], "id of the VM created after a destroy");
    expect_errno(
        f.vm_create(&mut args),
        Errno::EBUSY,
        "VM_CREATE when full again",
    )?;
    let g = open(o)?;
    vm_create(&*g)?;
    Ok(())
}

/// `BO_CREATE` / `BO_MMAP_OFFSET` / `GEM_CLOSE` / `mmap` refusals
/// (`panthor_ioctl_bo_create`: size 0, pad, unknown flags, unknown
/// exclusive VM are `EINVAL`, and no handle is made; `_bo_mmap_offset`:
/// pad `EINVAL`, unknown handle `ENOENT`; `drm_gem_close_ioctl`: unknown
/// handle `EINVAL`; `drm_gem_mmap`: an offset no BO covers, or a length
/// past the BO's end, `EINVAL`).
pub fn bo_errnos(o: &dyn Opener) -> R {
    let f = open(o)?;
    let bad = [
        ("size 0", drm_panthor_bo_create::default()),
        (
            "pad 1",
            drm_panthor_bo_create {
                size: PAGE,
                pad: 1,
                ..Default::default()
            },
        ),
        (
            "unknown flag 1<<7",
            drm_panthor_bo_create {
                size: PAGE,
                flags: 1 << 7,
                ..Default::default()
            },
        ),
        (
            "unknown exclusive VM",
            drm_panthor_bo_create {
                size: PAGE,
                exclusive_vm_id: 9,
                ..Default::default()
            },
        ),
    ];
    for (what, args) in bad {
        let mut args = args;
        expect_errno(
            f.bo_create(&mut args),
            Errno::EINVAL,
            &format!("BO_CREATE {what}"),
        )?;
    }
    expect_errno(
        f.gem_close(1),
        Errno::EINVAL,
        "GEM_CLOSE(1) after refused creates",
    )?;
    expect_errno(f.gem_close(0), Errno::EINVAL, "GEM_CLOSE(0)")?;

    let bo = Bo::new(&*f, 2 * PAGE)?;
    let mut off = drm_panthor_bo_mmap_offset {
        handle: bo.handle,
        pad: 1,
        offset: 0,
    };
    expect_errno(
        f.bo_mmap_offset(&mut off),
        Errno::EINVAL,
        "BO_MMAP_OFFSET with pad 1",
    )?;
    let mut off = drm_panthor_bo_mmap_offset {
        handle: bo.handle + 100,
        ..Default::default()
    };
    expect_errno(
        f.bo_mmap_offset(&mut off),
        Errno::ENOENT,
        "BO_MMAP_OFFSET of an unknown handle",
    )?;
    let mut off = drm_panthor_bo_mmap_offset {
        handle: bo.handle,
        ..Default::default()
    };
    f.bo_mmap_offset(&mut off).ctx("BO_MMAP_OFFSET")?;
    expect_errno(
        f.mmap(off.offset, 3 * PAGE as usize),
        Errno::EINVAL,
        "mmap past the BO's end",
    )?;
    expect_errno(
        f.mmap(off.offset + (1 << 30), PAGE as usize),
        Errno::EINVAL,
        "mmap at an offset no BO covers",
    )?;
    // The BO is untouched by all this.
    bo.write(0, b"still here")?;
    let m = f.mmap(off.offset, 2 * PAGE as usize).ctx("mmap")?;
    let mut got = [0u8; 10];
    m.read(0, &mut got).ctx("read")?;
    ensure_eq!(&got, b"still here", "BO contents through a new mapping");
    f.gem_close(bo.handle).ctx("GEM_CLOSE")?;
    Ok(())
}

/// `NO_MMAP` BOs cannot be CPU mapped. Since "drm/panthor: Don't create a
/// file offset for NO_MMAP BOs" (drm-misc-next, April 2025, long before
/// driver 1.9) `panthor_ioctl_bo_mmap_offset` refuses them with `EPERM`;
/// Linux 6.12 handed out an offset and `panthor_gem_mmap` refused the
/// `mmap` with `EINVAL`, which is accepted only from devices older than
/// 1.9.
pub fn no_mmap_bos_cannot_be_cpu_mapped(o: &dyn Opener) -> R {
    let f = open(o)?;
    let v = f.version().ctx("DRM_IOCTL_VERSION")?;
    let mut c = drm_panthor_bo_create {
        size: PAGE,
        flags: DRM_PANTHOR_BO_NO_MMAP,
        ..Default::default()
    };
    f.bo_create(&mut c).ctx("BO_CREATE(NO_MMAP)")?;
    let mut off = drm_panthor_bo_mmap_offset {
        handle: c.handle,
        ..Default::default()
    };
    match f.bo_mmap_offset(&mut off) {
        Err(e) => ensure_eq!(e, Errno::EPERM, "BO_MMAP_OFFSET of a NO_MMAP BO"),
        Ok(()) => {
            ensure!(
                !v.is_panthor_at_least(version::MINOR_MAP_SPARSE),
                "BO_MMAP_OFFSET of a NO_MMAP BO succeeded on panthor {}.{}; expected EPERM",
                v.major,
                v.minor
            );
            expect_errno(
                f.mmap(off.offset, PAGE as usize),
                Errno::EINVAL,
                "mmap of a NO_MMAP BO",
            )?;
        }
    }
    Ok(())
}

/// `drm_gem_mmap` looks the offset up with
/// `drm_vma_offset_exact_lookup_locked`: a mapping must start exactly at a
/// BO's fake offset (one page into a BO is `EINVAL`), may be shorter than
/// the BO (the first page alone maps, and shows the BO's first bytes), and
/// may not be longer (`drm_gem_mmap_obj`: `EINVAL`).
pub fn mmap_must_start_at_a_bo_offset(o: &dyn Opener) -> R {
    let f = open(o)?;
    let data = pattern(13, 2 * PAGE as usize);
    let bo = Bo::with(&*f, 2 * PAGE, &data)?;
    let mut off = drm_panthor_bo_mmap_offset {
        handle: bo.handle,
        ..Default::default()
    };
    f.bo_mmap_offset(&mut off).ctx("BO_MMAP_OFFSET")?;
    let first = f
        .mmap(off.offset, PAGE as usize)
        .ctx("mmap of the first page")?;
    let mut got = vec![0u8; PAGE as usize];
    first.read(0, &mut got).ctx("read")?;
    ensure_bytes(
        &got,
        &data[..PAGE as usize],
        "a one-page mapping of a two-page BO",
    )?;
    expect_errno(
        f.mmap(off.offset, 3 * PAGE as usize),
        Errno::EINVAL,
        "mmap longer than the BO",
    )?;
    expect_errno(
        f.mmap(off.offset + PAGE, PAGE as usize),
        Errno::EINVAL,
        "mmap starting one page into the BO",
    )?;
    Ok(())
}

/// `drm_gem_mmap`: the offset must belong to a BO this file has a handle
/// for (`drm_vma_node_is_allowed`, granted when a handle is made and
/// revoked at GEM_CLOSE): another file's BO offset is `EACCES` (fake
/// offsets are device-wide, so it never names one of this file's BOs), and
/// so is this file's own BO after GEM_CLOSE while a mapping keeps it alive.
pub fn mmap_needs_a_handle_in_this_file(o: &dyn Opener) -> R {
    let fa = open(o)?;
    let fb = open(o)?;
    let secret = pattern(14, PAGE as usize);
    let a = Bo::with(&*fa, PAGE, &secret)?;
    let mut oa = drm_panthor_bo_mmap_offset {
        handle: a.handle,
        ..Default::default()
    };
    fa.bo_mmap_offset(&mut oa).ctx("BO_MMAP_OFFSET in file A")?;
    let b = Bo::new(&*fb, PAGE)?;
    let mut ob = drm_panthor_bo_mmap_offset {
        handle: b.handle,
        ..Default::default()
    };
    fb.bo_mmap_offset(&mut ob).ctx("BO_MMAP_OFFSET in file B")?;
    match fb.mmap(oa.offset, PAGE as usize) {
        Err(e) => ensure_eq!(e, Errno::EACCES, "file B mapping file A's offset"),
        Ok(m) => {
            let mut got = vec![0u8; PAGE as usize];
            m.read(0, &mut got).ctx("read")?;
            let what = if got == secret {
                " and sees A's bytes"
            } else if oa.offset == ob.offset {
                " (its own BO has the same fake offset: offsets are not device-wide)"
            } else {
                ""
            };
            return Err(crate::check::CaseError::fail(format!(
                "file B mapped file A's offset {:#x}{what}; expected EACCES",
                oa.offset
            )));
        }
    }
    fa.gem_close(a.handle).ctx("GEM_CLOSE")?;
    expect_errno(
        fa.mmap(oa.offset, PAGE as usize),
        Errno::EACCES,
        "mmap of a closed handle's offset while a mapping keeps the BO",
    )?;
    let mut got = vec![0u8; PAGE as usize];
    a.map.read(0, &mut got).ctx("read")?;
    ensure_bytes(&got, &secret, "the existing mapping after GEM_CLOSE")?;
    Ok(())
}

/// A VM with BO `a` (2 pages, pattern) mapped at `DATA_VA`, a result BO at
/// `RES_VA`, and a second BO `b` with another pattern: bad binds target
/// `DATA_VA` with `b`, so an op accepted by mistake shows in
/// [`Mapped::intact`].
struct Mapped<'f> {
    ctx: Mover<'f>,
    /// The VM's user VA range, as VM_CREATE wrote it back.
    top: u64,
    a_data: Vec<u8>,
    a: Bo,
    b: Bo,
    res: Bo,
}

impl<'f> Mapped<'f> {
    fn new(f: &'f dyn PanthorFile) -> R<Mapped<'f>> {
        let mut vm = drm_panthor_vm_create {
            user_va_range: 1 << 32,
            ..Default::default()
        };
        f.vm_create(&mut vm).ctx("VM_CREATE(4 GiB)")?;
        let top = vm.user_va_range;
        let ctx = Mover::on_vm(f, vm.id, 1)?;
        let a_data = pattern(10, 2 * PAGE as usize);
        let a = Bo::with(f, 2 * PAGE, &a_data)?;
        let b = Bo::with(f, 2 * PAGE, &pattern(11, 2 * PAGE as usize))?;
        let res = Bo::new(f, 2 * PAGE)?;
        map(f, ctx.vm(), &a, 0, DATA_VA, 2 * PAGE)?;
        map(f, ctx.vm(), &res, 0, RES_VA, 2 * PAGE)?;
        let m = Mapped {
            ctx,
            top,
            a_data,
            a,
            b,
            res,
        };
        m.intact("before any refused bind")?;
        Ok(m)
    }

    /// The GPU (or on `/dev/vpanthor` the page-table walker) still reads
    /// `a` at `DATA_VA` and the VM is usable.
    #[track_caller]
    fn intact(&self, after: &str) -> R {
        self.res.write(0, &[0u8; 2 * PAGE as usize])?;
        self.ctx.copy(DATA_VA, RES_VA, 2 * PAGE as u32)?;
        ensure_bytes(
            &self.res.read(0, 2 * PAGE as usize)?,
            &self.a_data,
            &format!("GPU read of the mapping {after}"),
        )?;
        ensure_eq!(
            vm_state(self.ctx.file(), self.ctx.vm())?,
            DRM_PANTHOR_VM_STATE_USABLE,
            "VM state {after}"
        );
        Ok(())
    }
}

/// Synchronous `VM_BIND` refusals (`panthor_vm_bind_prepare_op_ctx`,
/// `panthor_vm_prepare_map_op_ctx`, `panthor_vm_bind_exec_sync_op`), all
/// `EINVAL`: va, size or bo_offset not page aligned; a range leaving the
/// user VA range; an unknown BO handle; a BO range outside the BO; unknown
/// op flags or op type; map flags, a BO handle or offset on an UNMAP; a BO
/// exclusive to another VM; sync ops on a synchronous bind; an unknown VM.
/// None of them changes the mapping the GPU reads, and the VM stays usable.
pub fn vm_bind_errnos_change_nothing(o: &dyn Opener) -> R {
    let f = open(o)?;
    let m = Mapped::new(&*f)?;
    let vm = m.ctx.vm();
    let b = m.b.handle;
    let other_vm = vm_create(&*f)?;
    let mut excl = drm_panthor_bo_create {
        size: 2 * PAGE,
        exclusive_vm_id: other_vm,
        ..Default::default()
    };
    f.bo_create(&mut excl).ctx("BO_CREATE(exclusive)")?;
    // `/dev/vpanthor` has no syncobjs: a synchronous bind refuses any sync
    // op before looking its handle up, so a made-up handle tests that there.
    let s = match f.syncobj_create(0) {
        Err(Errno::ENOTTY) => None,
        other => Some(other.ctx("SYNCOBJ_CREATE")?),
    };
    let sig = [signal_op(s.unwrap_or(1))];

    let with = |flags: u32, handle: u32, bo_offset: u64, va: u64, size: u64| VmBindOp {
        flags,
        bo_handle: handle,
        bo_offset,
        va,
        size,
        syncs: &[],
    };
    const MAP: u32 = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP;
    const UNMAP: u32 = DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP;
    let top = m.top;
    let bad: Vec<(&str, VmBindOp<'_>)> = vec![
        (
            "MAP at an unaligned va",
            with(MAP, b, 0, DATA_VA + 0x800, PAGE),
        ),
        ("MAP of an unaligned size", with(MAP, b, 0, DATA_VA, 0x1800)),
        (
            "MAP at an unaligned bo_offset",
            with(MAP, b, 0x800, DATA_VA, PAGE),
        ),
        (
            "UNMAP at an unaligned va",
            with(UNMAP, 0, 0, DATA_VA + 0x800, PAGE),
        ),
        (
            "UNMAP of an unaligned size",
            with(UNMAP, 0, 0, DATA_VA, 0x1800),
        ),
        (
            "MAP across the VA range end",
            with(MAP, b, 0, top - PAGE, 2 * PAGE),
        ),
        ("MAP at the VA range end", with(MAP, b, 0, top, PAGE)),
        (
            "UNMAP across the VA range end",
            with(UNMAP, 0, 0, top - PAGE, 2 * PAGE),
        ),
        (
            "MAP of an unknown BO",
            with(MAP, b + 1000, 0, DATA_VA, PAGE),
        ),
        ("MAP of handle 0", with(MAP, 0, 0, DATA_VA, PAGE)),
        ("MAP larger than the BO", with(MAP, b, 0, DATA_VA, 3 * PAGE)),
        (
            "MAP past the BO's end",
            with(MAP, b, 2 * PAGE, DATA_VA, PAGE),
        ),
        (
            "MAP with unknown flag 1<<4",
            with(MAP | 1 << 4, b, 0, DATA_VA, PAGE),
        ),
        ("op of unknown type 3", with(3 << 28, b, 0, DATA_VA, PAGE)),
        (
            "UNMAP with MAP_READONLY",
            with(
                UNMAP | DRM_PANTHOR_VM_BIND_OP_MAP_READONLY,
                0,
                0,
                DATA_VA,
                PAGE,
            ),
        ),
        ("UNMAP with a BO handle", with(UNMAP, b, 0, DATA_VA, PAGE)),
        (
            "UNMAP with a bo_offset",
            with(UNMAP, 0, PAGE, DATA_VA, PAGE),
        ),
        (
            "MAP of a BO exclusive to another VM",
            with(MAP, excl.handle, 0, DATA_VA, PAGE),
        ),
        (
            "synchronous MAP with a sync op",
            VmBindOp {
                syncs: &sig,
                ..with(MAP, b, 0, DATA_VA, PAGE)
            },
        ),
        (
            "synchronous UNMAP with a sync op",
            VmBindOp {
                syncs: &sig,
                ..with(UNMAP, 0, 0, DATA_VA, PAGE)
            },
        ),
    ];
    for (what, op) in &bad {
        let r = f.vm_bind(vm, 0, &[*op]);
        expect_errno(r, Errno::EINVAL, what)?;
        if let Err(e) = r {
            ensure_eq!(e.ops_done, 0, "{what}: ops_done of a refused single op");
        }
    }
    expect_errno(
        f.vm_bind(vm + 100, 0, &[with(MAP, b, 0, DATA_VA, PAGE)]),
        Errno::EINVAL,
        "VM_BIND on an unknown VM",
    )?;
    m.intact("after refused binds")?;
    if let Some(s) = s {
        expect_no_fence(&*f, s, "the sync op's syncobj after refused binds")?;
    }

    // The exclusive BO maps in its own VM.
    bind(
        &*f,
        other_vm,
        with(MAP, excl.handle, 0, DATA_VA, 2 * PAGE),
        "MAP of an exclusive BO in its VM",
    )?;
    Ok(())
}

/// A synchronous VM_BIND applies its ops one by one and stops at the first
/// bad one (`panthor_ioctl_vm_bind_sync` writes the index back to
/// `ops.count`); the trait reports it as `ops_done`, and an implementation
/// may refuse the whole call up front (`ops_done` 0). Either way exactly
/// the first `ops_done` ops took effect: here a valid remap followed by an
/// unaligned op leaves the GPU reading the new BO when `ops_done` is 1 and
/// the old one when it is 0.
pub fn sync_bind_reports_the_ops_it_applied(o: &dyn Opener) -> R {
    let f = open(o)?;
    let m = Mapped::new(&*f)?;
    let ops = [
        op_map(m.b.handle, 0, DATA_VA, 2 * PAGE),
        op_map(m.b.handle, 0, DATA_VA + 0x10, PAGE),
    ];
    let err = match f.vm_bind(m.ctx.vm(), 0, &ops) {
        Ok(()) => {
            return Err(crate::check::CaseError::fail(
                "a bind with an unaligned second op succeeded",
            ))
        }
        Err(e) => e,
    };
    ensure_eq!(err.errno, Errno::EINVAL, "errno of the refused second op");
    ensure!(
        err.ops_done <= 1,
        "ops_done {} of a two-op bind failing at op 1",
        err.ops_done
    );
    if err.ops_done == 0 {
        m.intact("after a bind that reports no op applied")?;
    } else {
        m.res.write(0, &[0u8; 2 * PAGE as usize])?;
        m.ctx.copy(DATA_VA, RES_VA, 2 * PAGE as u32)?;
        ensure_bytes(
            &m.res.read(0, 2 * PAGE as usize)?,
            &pattern(11, 2 * PAGE as usize),
            "GPU read after a bind that reports op 0 applied",
        )?;
    }
    Ok(())
}

/// Sparse MAP rules (seed patch, `panthor_vm_prepare_map_op_ctx`):
/// `MAP_SPARSE` needs `MAP_NOEXEC`, BO handle 0 and bo_offset 0, else
/// `EINVAL`; alignment rules hold as for any MAP. Refused sparse ops leave
/// the mapping below them alone. An accepted sparse MAP over a real
/// mapping replaces it: GPU writes there no longer reach the BO.
pub fn vm_bind_sparse_rules(o: &dyn Opener) -> R {
    let f = open(o)?;
    require_sparse(&*f)?;
    let m = Mapped::new(&*f)?;
    let vm = m.ctx.vm();
    let sparse = |flags: u32, handle: u32, bo_offset: u64, va: u64, size: u64| VmBindOp {
        flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP | DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE | flags,
        bo_handle: handle,
        bo_offset,
        va,
        size,
        syncs: &[],
    };
    const NOEXEC: u32 = DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
    let bad = [
        (
            "sparse MAP without NOEXEC",
            sparse(0, 0, 0, DATA_VA, 2 * PAGE),
        ),
        (
            "sparse MAP with a BO handle",
            sparse(NOEXEC, m.b.handle, 0, DATA_VA, 2 * PAGE),
        ),
        (
            "sparse MAP with a bo_offset",
            sparse(NOEXEC, 0, PAGE, DATA_VA, PAGE),
        ),
        (
            "sparse MAP of an unaligned size",
            sparse(NOEXEC, 0, 0, DATA_VA, 0x1800),
        ),
        (
            "sparse MAP at an unaligned va",
            sparse(NOEXEC, 0, 0, DATA_VA + 0x10, PAGE),
        ),
        (
            "sparse MAP past the VA range",
            sparse(NOEXEC, 0, 0, m.top - PAGE, 2 * PAGE),
        ),
    ];
    for (what, op) in bad {
        expect_errno(f.vm_bind(vm, 0, &[op]), Errno::EINVAL, what)?;
    }
    m.intact("after refused sparse binds")?;

    bind(&*f, vm, op_sparse(OTHER_VA, SZ_2M), "sparse MAP")?;
    bind(
        &*f,
        vm,
        op_sparse(DATA_VA, 2 * PAGE),
        "sparse MAP over a BO mapping",
    )?;
    // A GPU write at DATA_VA now lands in the dummy, not in the BO.
    let src = Bo::with(&*f, PAGE, &pattern(12, 64))?;
    map(&*f, vm, &src, 0, OTHER_VA + 4 * SZ_2M, PAGE)?;
    m.ctx.copy(OTHER_VA + 4 * SZ_2M, DATA_VA, 64)?;
    ensure_bytes(
        &m.a.read(0, 2 * PAGE as usize)?,
        &m.a_data,
        "BO contents after a GPU write to the range now sparse",
    )?;
    Ok(())
}

/// Sync-op rules of `VM_BIND` (`panthor_vm_bind_exec_sync_op`,
/// `panthor_vm_bind_prepare_op_ctx`, `panthor_check_sync_op`,
/// `panthor_submit_ctx_add_sync_signal`, `_add_sync_deps_to_job`):
/// SYNC_ONLY must be asynchronous with at least one sync and no
/// va/size/BO/offset (`EINVAL`); a WAIT on an unknown syncobj is `ENOENT`,
/// a SIGNAL of one `EINVAL`, a WAIT on a syncobj with no fence `EINVAL`;
/// sync ops with unknown flag bits, an unknown handle type or a timeline
/// value on a binary handle are `EINVAL`; an asynchronous bind with one
/// bad op queues none of its ops. Nothing refused signals or maps
/// anything.
pub fn vm_bind_sync_op_rules(o: &dyn Opener) -> R {
    let f = open(o)?;
    let m = Mapped::new(&*f)?;
    let vm = m.ctx.vm();
    let b = m.b.handle;
    let s = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let empty = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let missing = s + empty + 100;
    const ASYNC: u32 = DRM_PANTHOR_VM_BIND_ASYNC;
    const SYNC_ONLY: u32 = DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY;
    let sig = [signal_op(s)];
    let remap_b = |syncs| VmBindOp {
        syncs,
        ..op_map(b, 0, DATA_VA, 2 * PAGE)
    };
    let sync_only = |syncs, bo_handle, bo_offset, va, size| VmBindOp {
        flags: SYNC_ONLY,
        bo_handle,
        bo_offset,
        va,
        size,
        syncs,
    };

    expect_errno(
        f.vm_bind(vm, ASYNC, &[sync_only(&[], 0, 0, 0, 0)]),
        Errno::EINVAL,
        "SYNC_ONLY without syncs",
    )?;
    for (what, op) in [
        ("SYNC_ONLY with a va", sync_only(&sig, 0, 0, DATA_VA, 0)),
        ("SYNC_ONLY with a size", sync_only(&sig, 0, 0, 0, PAGE)),
        ("SYNC_ONLY with a BO", sync_only(&sig, b, 0, 0, 0)),
        ("SYNC_ONLY with a bo_offset", sync_only(&sig, 0, PAGE, 0, 0)),
    ] {
        expect_errno(f.vm_bind(vm, ASYNC, &[op]), Errno::EINVAL, what)?;
    }
    expect_errno(
        f.vm_bind(vm, 0, &[sync_only(&sig, 0, 0, 0, 0)]),
        Errno::EINVAL,
        "synchronous SYNC_ONLY with a sync op",
    )?;

    let wait_missing = [wait_op(missing), signal_op(s)];
    expect_errno(
        f.vm_bind(vm, ASYNC, &[remap_b(&wait_missing)]),
        Errno::ENOENT,
        "async MAP waiting on an unknown syncobj",
    )?;
    let signal_missing = [signal_op(missing)];
    expect_errno(
        f.vm_bind(vm, ASYNC, &[remap_b(&signal_missing)]),
        Errno::EINVAL,
        "async MAP signalling an unknown syncobj",
    )?;
    let wait_empty = [wait_op(empty), signal_op(s)];
    expect_errno(
        f.vm_bind(vm, ASYNC, &[remap_b(&wait_empty)]),
        Errno::EINVAL,
        "async MAP waiting on a syncobj with no fence",
    )?;
    let bad_flags = [drm_panthor_sync_op {
        flags: DRM_PANTHOR_SYNC_OP_SIGNAL | 1 << 8,
        handle: s,
        timeline_value: 0,
    }];
    let bad_type = [drm_panthor_sync_op {
        flags: DRM_PANTHOR_SYNC_OP_SIGNAL | 2,
        handle: s,
        timeline_value: 0,
    }];
    let binary_point = [drm_panthor_sync_op {
        timeline_value: 1,
        ..signal_op(s)
    }];
    for (what, syncs) in [
        ("sync op with unknown flag 1<<8", &bad_flags),
        ("sync op of handle type 2", &bad_type),
        ("binary sync op with a timeline value", &binary_point),
    ] {
        expect_errno(f.vm_bind(vm, ASYNC, &[remap_b(syncs)]), Errno::EINVAL, what)?;
    }
    // Two ops, the second bad: the first is not queued either.
    let two = [
        remap_b(&sig),
        VmBindOp {
            va: DATA_VA + 0x10,
            ..op_map(b, 0, DATA_VA, PAGE)
        },
    ];
    expect_errno(
        f.vm_bind(vm, ASYNC, &two),
        Errno::EINVAL,
        "async bind whose second op is unaligned",
    )?;

    expect_no_fence(&*f, s, "the SIGNAL syncobj of refused binds")?;
    expect_no_fence(&*f, empty, "the WAIT syncobj of refused binds")?;
    m.intact("after refused async binds")?;

    // The same op, valid, does map and signal.
    f.vm_bind(vm, ASYNC, &[remap_b(&sig)]).ctx("async MAP")?;
    wait_done(&*f, s, "the async MAP's syncobj")?;
    m.ctx.copy(DATA_VA, RES_VA, 2 * PAGE as u32)?;
    ensure_bytes(
        &m.res.read(0, 2 * PAGE as usize)?,
        &pattern(11, 2 * PAGE as usize),
        "GPU read after the valid async MAP",
    )?;
    Ok(())
}

/// Syncobj ioctl refusals (`drm_syncobj.c`): CREATE with unknown flags
/// `EINVAL`; DESTROY of an unknown handle `EINVAL`; WAIT / RESET / SIGNAL /
/// TIMELINE_SIGNAL / QUERY with an unknown handle anywhere in the list
/// `ENOENT`, before anything changes (`drm_syncobj_array_find`); an empty
/// list for RESET, SIGNAL, TIMELINE_SIGNAL and QUERY `EINVAL`;
/// `WAIT_AVAILABLE` on a binary wait, unknown wait or query flags
/// `EINVAL`; TRANSFER with an unknown destination or source `ENOENT`,
/// unknown flags or an unsubmitted source point `EINVAL`, leaving the
/// destination as it was.
pub fn syncobj_errnos(o: &dyn Opener) -> R {
    let f = open(o)?;
    expect_errno(
        f.syncobj_create(2),
        Errno::EINVAL,
        "SYNCOBJ_CREATE with flags 2",
    )?;
    let empty = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let done = f
        .syncobj_create(DRM_SYNCOBJ_CREATE_SIGNALED)
        .ctx("SYNCOBJ_CREATE(SIGNALED)")?;
    let t = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    f.syncobj_timeline_signal(&[t], &[2])
        .ctx("TIMELINE_SIGNAL")?;
    let missing = empty + done + t + 50;

    expect_errno(
        f.syncobj_destroy(missing),
        Errno::EINVAL,
        "DESTROY of an unknown handle",
    )?;
    expect_errno(f.syncobj_destroy(0), Errno::EINVAL, "DESTROY of handle 0")?;
    expect_errno(
        f.syncobj_wait(&[done, missing], in_ms(0), SyncobjWaitFlags::empty()),
        Errno::ENOENT,
        "WAIT on (signalled, unknown)",
    )?;
    expect_errno(
        f.syncobj_timeline_wait(&[missing], &[1], in_ms(0), SyncobjWaitFlags::empty()),
        Errno::ENOENT,
        "TIMELINE_WAIT on an unknown handle",
    )?;
    expect_errno(
        f.syncobj_wait(&[done], in_ms(0), SyncobjWaitFlags::WAIT_AVAILABLE),
        Errno::EINVAL,
        "binary WAIT with WAIT_AVAILABLE",
    )?;
    expect_errno(
        f.syncobj_timeline_wait(
            &[t],
            &[1],
            in_ms(0),
            SyncobjWaitFlags::from_bits_retain(1 << 6),
        ),
        Errno::EINVAL,
        "TIMELINE_WAIT with unknown flag 1<<6",
    )?;

    expect_errno(f.syncobj_signal(&[]), Errno::EINVAL, "SIGNAL of no handles")?;
    expect_errno(f.syncobj_reset(&[]), Errno::EINVAL, "RESET of no handles")?;
    expect_errno(
        f.syncobj_timeline_signal(&[], &[]),
        Errno::EINVAL,
        "TIMELINE_SIGNAL of no handles",
    )?;
    expect_errno(
        f.syncobj_query(&[], &mut [], 0),
        Errno::EINVAL,
        "QUERY of no handles",
    )?;
    let mut p = [0u64];
    expect_errno(
        f.syncobj_query(&[t], &mut p, 2),
        Errno::EINVAL,
        "QUERY with flags 2",
    )?;

    expect_errno(
        f.syncobj_signal(&[empty, missing]),
        Errno::ENOENT,
        "SIGNAL of (empty, unknown)",
    )?;
    expect_no_fence(&*f, empty, "the known syncobj of a refused SIGNAL")?;
    expect_errno(
        f.syncobj_reset(&[done, missing]),
        Errno::ENOENT,
        "RESET of (signalled, unknown)",
    )?;
    wait_done(&*f, done, "the known syncobj of a refused RESET")?;
    expect_errno(
        f.syncobj_timeline_signal(&[t, missing], &[5, 5]),
        Errno::ENOENT,
        "TIMELINE_SIGNAL of (known, unknown)",
    )?;
    ensure_eq!(
        query(&*f, t, 0)?,
        2,
        "QUERY after a refused TIMELINE_SIGNAL"
    );
    expect_errno(
        f.syncobj_query(&[t, missing], &mut [0, 0], 0),
        Errno::ENOENT,
        "QUERY of (known, unknown)",
    )?;

    expect_errno(
        f.syncobj_transfer(done, 0, missing, 0, 0),
        Errno::ENOENT,
        "TRANSFER to an unknown syncobj",
    )?;
    expect_errno(
        f.syncobj_transfer(missing, 0, empty, 0, 0),
        Errno::ENOENT,
        "TRANSFER from an unknown syncobj",
    )?;
    expect_errno(
        f.syncobj_transfer(t, 5, empty, 0, 0),
        Errno::EINVAL,
        "TRANSFER of unsubmitted point 5",
    )?;
    expect_errno(
        f.syncobj_transfer(done, 0, empty, 0, 1),
        Errno::EINVAL,
        "TRANSFER with flag 1 (WAIT_ALL's bit)",
    )?;
    expect_no_fence(&*f, empty, "the destination of refused TRANSFERs")?;
    expect_errno(
        f.syncobj_transfer(t, 5, t, 9, 0),
        Errno::EINVAL,
        "TRANSFER of point 5 to point 9",
    )?;
    ensure_eq!(query(&*f, t, 0)?, 2, "timeline after a refused TRANSFER");
    ensure_eq!(
        query(&*f, t, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)?,
        2,
        "last submitted point after a refused TRANSFER"
    );
    Ok(())
}

/// `ETIME` (`drm_syncobj_array_wait_timeout`): a wait on a fence that has
/// not signalled returns `ETIME` once the absolute timeout passes (not
/// before), with a timeout already past it polls; `WAIT_ALL` over a
/// pending and a signalled fence times out, a wait for any returns the
/// signalled one's index; once the fence signals the same wait succeeds.
pub fn syncobj_wait_times_out_with_etime(o: &dyn Opener) -> R {
    let f = open(o)?;
    let gate = Gate::new(&*f)?;
    let held = gate.held_syncobj()?;
    let done = f
        .syncobj_create(DRM_SYNCOBJ_CREATE_SIGNALED)
        .ctx("SYNCOBJ_CREATE(SIGNALED)")?;
    let start = now_ns();
    expect_errno(
        f.syncobj_wait(&[held], start + 20_000_000, SyncobjWaitFlags::empty()),
        Errno::ETIME,
        "wait on a held fence",
    )?;
    let waited = now_ns() - start;
    ensure!(
        waited >= 19_000_000,
        "ETIME after {} us, before the 20 ms timeout",
        waited / 1000
    );
    expect_errno(
        f.syncobj_wait(&[held], 0, SyncobjWaitFlags::empty()),
        Errno::ETIME,
        "wait with timeout 0 (poll)",
    )?;
    expect_errno(
        f.syncobj_wait(&[held, done], in_ms(PENDING_MS), SyncobjWaitFlags::WAIT_ALL),
        Errno::ETIME,
        "WAIT_ALL of (held, signalled)",
    )?;
    ensure_eq!(
        f.syncobj_wait(&[held, done], in_ms(DONE_MS), SyncobjWaitFlags::empty())
            .ctx("wait for any of (held, signalled)")?,
        1,
        "first_signaled"
    );
    expect_errno(
        f.syncobj_timeline_wait(&[held], &[0], in_ms(PENDING_MS), SyncobjWaitFlags::empty()),
        Errno::ETIME,
        "TIMELINE_WAIT point 0 of a held binary syncobj",
    )?;
    gate.release()?;
    wait_done(&*f, held, "the held syncobj after release")?;
    Ok(())
}

/// `GROUP_CREATE` refusals (`panthor_ioctl_group_create`,
/// `group_priority_permit`, `panthor_group_create`, `group_create_queue`):
/// 0 queues, more than 32 or more than CSIF_INFO's `cs_slot_count`; ring
/// sizes not a power of two in 4 KiB..64 KiB; queue priority above 15;
/// non-zero queue or group pad; a priority above REALTIME; core masks
/// naming cores GPU_INFO does not list, or fewer cores than the `max_*`
/// counts; an unknown VM: all `EINVAL` (and GET_STATE / DESTROY with a
/// non-zero pad, which leave the group alone). HIGH and REALTIME without the
/// privilege GROUP_PRIORITIES_INFO reports are `EACCES` (and succeed when
/// it says they are allowed). No refused create leaves a group behind.
pub fn group_create_errnos(o: &dyn Opener) -> R {
    let f = open(o)?;
    let vm = vm_create(&*f)?;
    let info = f.gpu_info().ctx("GPU_INFO")?;
    let csif = f.csif_info().ctx("CSIF_INFO")?;
    let prio: drm_panthor_group_priorities_info =
        query_object(&*f, DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO).ctx("PRIORITIES_INFO")?;
    let one = queue_args(1);
    let base = group_args(&info, vm, &one);

    let q33 = queue_args(33);
    let qmax = queue_args(csif.cs_slot_count as usize + 1);
    let ring = |size: u32| {
        vec![drm_panthor_queue_create {
            ringbuf_size: size,
            ..one[0]
        }]
    };
    let (r2k, r12k, r128k) = (ring(0x800), ring(0x3000), ring(0x2_0000));
    let qprio = vec![drm_panthor_queue_create {
        priority: 16,
        ..one[0]
    }];
    let qpad = vec![drm_panthor_queue_create {
        pad: [0, 1, 0],
        ..one[0]
    }];
    let absent_shader = (!info.shader_present) & (1 << 63 | 1 << 62);
    let absent_tiler = (!info.tiler_present) & (1 << 63 | 1 << 62);
    let mut bad: Vec<(&str, GroupCreate<'_>)> = vec![
        (
            "no queues",
            GroupCreate {
                queues: &[],
                ..base
            },
        ),
        (
            "33 queues",
            GroupCreate {
                queues: &q33,
                ..base
            },
        ),
        (
            "a 2 KiB ring",
            GroupCreate {
                queues: &r2k,
                ..base
            },
        ),
        (
            "a 12 KiB ring",
            GroupCreate {
                queues: &r12k,
                ..base
            },
        ),
        (
            "a 128 KiB ring",
            GroupCreate {
                queues: &r128k,
                ..base
            },
        ),
        (
            "queue priority 16",
            GroupCreate {
                queues: &qprio,
                ..base
            },
        ),
        (
            "non-zero queue pad",
            GroupCreate {
                queues: &qpad,
                ..base
            },
        ),
        ("non-zero group pad", GroupCreate { pad: 1, ..base }),
        (
            "group priority 4",
            GroupCreate {
                priority: 4,
                ..base
            },
        ),
        (
            "compute cores GPU_INFO does not list",
            GroupCreate {
                compute_core_mask: info.shader_present | absent_shader,
                ..base
            },
        ),
        (
            "fragment cores GPU_INFO does not list",
            GroupCreate {
                fragment_core_mask: info.shader_present | absent_shader,
                ..base
            },
        ),
        (
            "tiler cores GPU_INFO does not list",
            GroupCreate {
                tiler_core_mask: info.tiler_present | absent_tiler,
                ..base
            },
        ),
        (
            "more compute cores than the mask has",
            GroupCreate {
                max_compute_cores: info.shader_present.count_ones() as u8 + 1,
                ..base
            },
        ),
        (
            "more tiler cores than the mask has",
            GroupCreate {
                max_tiler_cores: info.tiler_present.count_ones() as u8 + 1,
                ..base
            },
        ),
        (
            "an unknown VM",
            GroupCreate {
                vm_id: vm + 9,
                ..base
            },
        ),
    ];
    if csif.cs_slot_count < 32 {
        bad.push((
            "more queues than CSIF_INFO.cs_slot_count",
            GroupCreate {
                queues: &qmax,
                ..base
            },
        ));
    }
    for (what, args) in &bad {
        expect_errno(
            f.group_create(args),
            Errno::EINVAL,
            &format!("GROUP_CREATE with {what}"),
        )?;
    }
    for p in [PANTHOR_GROUP_PRIORITY_HIGH, PANTHOR_GROUP_PRIORITY_REALTIME] {
        let args = GroupCreate {
            priority: p,
            ..base
        };
        if prio.allowed_mask & (1 << p) == 0 {
            expect_errno(
                f.group_create(&args),
                Errno::EACCES,
                &format!("GROUP_CREATE at priority {p} without privilege"),
            )?;
        } else {
            let g = f
                .group_create(&args)
                .ctx(&format!("GROUP_CREATE at allowed priority {p}"))?;
            f.group_destroy(&drm_panthor_group_destroy {
                group_handle: g,
                pad: 0,
            })
            .ctx("GROUP_DESTROY")?;
        }
    }
    for h in 1..=4 {
        let mut st = drm_panthor_group_get_state {
            group_handle: h,
            ..Default::default()
        };
        expect_errno(
            f.group_get_state(&mut st),
            Errno::EINVAL,
            &format!("GET_STATE of group {h} after refused creates"),
        )?;
    }
    let g = f.group_create(&base).ctx("GROUP_CREATE")?;
    let mut st = drm_panthor_group_get_state {
        group_handle: g,
        pad: 1,
        ..Default::default()
    };
    expect_errno(
        f.group_get_state(&mut st),
        Errno::EINVAL,
        "GET_STATE with pad 1",
    )?;
    expect_errno(
        f.group_destroy(&drm_panthor_group_destroy {
            group_handle: g,
            pad: 1,
        }),
        Errno::EINVAL,
        "GROUP_DESTROY with pad 1",
    )?;
    let st = group_state(&*f, g)?;
    ensure!(st.state == 0, "group after refused calls: {st:?}");
    Ok(())
}

/// `GROUP_SUBMIT` refusals (`panthor_ioctl_group_submit`,
/// `panthor_job_create`, the submit-ctx sync steps), all before any job is
/// queued: non-zero pads, an unknown group, a `stream_addr` not 64-byte
/// aligned, a `stream_size` not a multiple of 8, a size without an
/// address or the reverse, an unknown queue index, reserved
/// `latest_flush` bits (24..30), a SIGNAL of an unknown syncobj, a WAIT
/// on a syncobj with no fence, bad sync-op flags: `EINVAL`; a WAIT on an
/// unknown syncobj: `ENOENT`. A refused submit runs none of its jobs
/// (even the valid ones before the bad one) and signals none of its
/// syncobjs; the group stays usable.
pub fn group_submit_errnos(o: &dyn Opener) -> R {
    let f = open(o)?;
    let ctx = Ctx::new(&*f)?;
    let marker = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &marker, 0, DATA_VA, PAGE)?;
    let s = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let empty = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let missing = s + empty + 100;
    let sig = [signal_op(s)];
    let code = stream(|b| emit_store64(b, DATA_VA, 0x5eed))?;
    let good = ctx.job(0, &code, &sig)?;
    let job = |change: &dyn Fn(&mut QueueSubmit<'_>)| {
        let mut j = good;
        change(&mut j);
        j
    };

    let wait_missing = [wait_op(missing), signal_op(s)];
    let wait_empty = [wait_op(empty), signal_op(s)];
    let signal_missing = [signal_op(missing)];
    let bad_flags = [drm_panthor_sync_op {
        flags: DRM_PANTHOR_SYNC_OP_SIGNAL | 1 << 9,
        ..signal_op(s)
    }];
    let t = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    f.syncobj_timeline_signal(&[t], &[1])
        .ctx("TIMELINE_SIGNAL")?;
    let wait_unsubmitted = [wait_point(t, 2), signal_op(s)];
    let cases: Vec<(&str, u32, u32, Vec<QueueSubmit<'_>>, Errno)> = vec![
        ("group pad 1", ctx.group, 1, vec![good], Errno::EINVAL),
        (
            "an unknown group",
            ctx.group + 50,
            0,
            vec![good],
            Errno::EINVAL,
        ),
        (
            "stream_addr + 8",
            ctx.group,
            0,
            vec![job(&|j| j.stream_addr += 8)],
            Errno::EINVAL,
        ),
        (
            "stream_size - 4",
            ctx.group,
            0,
            vec![job(&|j| j.stream_size -= 4)],
            Errno::EINVAL,
        ),
        (
            "stream_size 0 with an address",
            ctx.group,
            0,
            vec![job(&|j| j.stream_size = 0)],
            Errno::EINVAL,
        ),
        (
            "a size without an address",
            ctx.group,
            0,
            vec![job(&|j| j.stream_addr = 0)],
            Errno::EINVAL,
        ),
        (
            "queue index 1 of a one-queue group",
            ctx.group,
            0,
            vec![job(&|j| j.queue_index = 1)],
            Errno::EINVAL,
        ),
        (
            "queue submit pad 1",
            ctx.group,
            0,
            vec![job(&|j| j.pad = 1)],
            Errno::EINVAL,
        ),
        (
            "latest_flush bit 24",
            ctx.group,
            0,
            vec![job(&|j| j.latest_flush = 1 << 24)],
            Errno::EINVAL,
        ),
        (
            "a WAIT on an unknown syncobj",
            ctx.group,
            0,
            vec![QueueSubmit {
                syncs: &wait_missing,
                ..good
            }],
            Errno::ENOENT,
        ),
        (
            "a WAIT on a syncobj with no fence",
            ctx.group,
            0,
            vec![QueueSubmit {
                syncs: &wait_empty,
                ..good
            }],
            Errno::EINVAL,
        ),
        (
            "a SIGNAL of an unknown syncobj",
            ctx.group,
            0,
            vec![QueueSubmit {
                syncs: &signal_missing,
                ..good
            }],
            Errno::EINVAL,
        ),
        (
            "a WAIT on a timeline point not yet submitted",
            ctx.group,
            0,
            vec![QueueSubmit {
                syncs: &wait_unsubmitted,
                ..good
            }],
            Errno::EINVAL,
        ),
        (
            "a sync op with flag 1<<9",
            ctx.group,
            0,
            vec![QueueSubmit {
                syncs: &bad_flags,
                ..good
            }],
            Errno::EINVAL,
        ),
        (
            "a good job then an unaligned one",
            ctx.group,
            0,
            vec![good, job(&|j| j.stream_addr += 16)],
            Errno::EINVAL,
        ),
    ];
    for (what, group, pad, jobs, errno) in &cases {
        expect_errno(
            f.group_submit(*group, *pad, jobs),
            *errno,
            &format!("GROUP_SUBMIT with {what}"),
        )?;
    }
    // Let anything wrongly queued run, then look.
    ctx.run(&stream(|b| {
        b.nop();
    })?)?;
    expect_no_fence(&*f, s, "the SIGNAL syncobj of refused submits")?;
    ensure_eq!(
        marker.read(0, 8)?,
        vec![0u8; 8],
        "marker a refused job would have written"
    );
    ctx.expect_healthy()?;
    f.group_submit(ctx.group, 0, &[good])
        .ctx("the valid submit")?;
    wait_done(&*f, s, "the valid submit")?;
    ensure_eq!(
        u64::from_le_bytes(marker.read(0, 8)?.try_into().unwrap()),
        0x5eed,
        "marker after the valid submit"
    );
    Ok(())
}
