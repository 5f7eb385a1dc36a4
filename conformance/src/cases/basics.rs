//! Every ioctl's success path: version, device queries, BOs and their CPU
//! mappings, VMs, synchronous binds as the GPU sees them, groups and
//! submits, binary and timeline syncobjs.

use panthor_uapi::device::*;
use panthor_uapi::uapi::*;
use panthor_uapi::Errno;

use panthor_sim::cs::{Async, StateKind};

use crate::check::{expect_errno, Check, R};
use crate::fixture::*;
use crate::{ensure, ensure_eq, open, Opener};

/// `DRM_IOCTL_VERSION` (`drm_version()`, panthor's `drm_driver`): name
/// "panthor", major 1, minor at least 9 (the minor that adds
/// `VM_BIND_OP_MAP_SPARSE` and `DEV_QUERY_MMU_INFO`); every file of the
/// device answers the same. The virtual kernel device (kmd/module) answers
/// "vpanthor" instead, so reports can tell it from a GPU.
pub fn version_is_panthor_1_9(o: &dyn Opener) -> R {
    let f = open(o)?;
    let v = f.version().ctx("DRM_IOCTL_VERSION")?;
    if !v.is_virtual_kernel_device() {
        ensure_eq!(v.name.as_str(), version::DRIVER_NAME, "driver name");
    }
    ensure_eq!(v.major, version::MAJOR, "major version");
    ensure!(
        v.minor >= version::MINOR_MAP_SPARSE,
        "panthor {}.{} is older than 1.{} (no MAP_SPARSE)",
        v.major,
        v.minor,
        version::MINOR_MAP_SPARSE
    );
    let g = open(o)?;
    ensure_eq!(
        g.version().ctx("DRM_IOCTL_VERSION")?,
        v,
        "second file's version"
    );
    Ok(())
}

/// The query types with the minimum buffer size the kernel accepts
/// (`PANTHOR_UOBJ_MIN_SIZE`: up to the last field the struct had when it
/// was added: `gpu_info.tiler_present`, `csif_info.pad`,
/// `timestamp_info.current_timestamp`, `group_priorities_info.pad`,
/// `mmu_info.page_size_bitmap`).
pub(crate) const QUERIES: [(u32, &str, usize); 5] = [
    (DRM_PANTHOR_DEV_QUERY_GPU_INFO, "GPU_INFO", 96),
    (DRM_PANTHOR_DEV_QUERY_CSIF_INFO, "CSIF_INFO", 24),
    (DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, "TIMESTAMP_INFO", 16),
    (
        DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO,
        "GROUP_PRIORITIES_INFO",
        4,
    ),
    (DRM_PANTHOR_DEV_QUERY_MMU_INFO, "MMU_INFO", 8),
];

/// Bytes of a query answer that may differ between two queries (the
/// timestamps of TIMESTAMP_INFO); the rest must be stable.
fn stable(ty: u32, i: usize) -> bool {
    ty != DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO || i < 8
}

/// `DEV_QUERY` (`panthor_ioctl_dev_query`, `panthor_set_uobj`): with no
/// pointer the kernel writes the object's size; with a buffer it copies
/// `min(buffer, object)` bytes and zero-fills a buffer larger than the
/// object; a buffer of the minimum size gets the object's first bytes; an
/// unknown type is `EINVAL`. The objects hold plausible values (cores and
/// address spaces present, 4 KiB pages, LOW and MEDIUM priorities allowed,
/// a timestamp that does not go backwards).
pub fn dev_query_sizes_and_buffers(o: &dyn Opener) -> R {
    let f = open(o)?;
    require_minor(&*f, version::MINOR_MAP_SPARSE, "DEV_QUERY_MMU_INFO")?;
    for (ty, name, min) in QUERIES {
        let size = f
            .dev_query(ty, None)
            .ctx(&format!("DEV_QUERY({name}) size"))? as usize;
        ensure!(
            size >= min,
            "{name}: size {size} below the minimum object size {min}"
        );
        let mut full = vec![0u8; size];
        let n = f
            .dev_query(ty, Some(&mut full))
            .ctx(&format!("DEV_QUERY({name})"))?;
        ensure_eq!(
            n as usize,
            size,
            "{name}: bytes copied into an exact buffer"
        );

        // Larger than the object: the object, then zeroes. TIMESTAMP_INFO
        // is also an input from driver 1.8 (its `flags`), and the kernel
        // refuses non-zero bytes past what it knows in an input
        // (`copy_struct_from_user`: E2BIG), so its tail starts zeroed.
        let mut big = vec![0u8; size + 24];
        if ty != DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO {
            big[size..].fill(0xa5);
        }
        let n = f
            .dev_query(ty, Some(&mut big))
            .ctx(&format!("DEV_QUERY({name}) oversize"))?;
        ensure_eq!(
            n as usize,
            size,
            "{name}: bytes copied into a larger buffer"
        );
        ensure!(
            big[size..].iter().all(|&b| b == 0),
            "{name}: the {} bytes past the object were not zeroed: {:02x?}",
            big.len() - size,
            &big[size..]
        );
        for i in (0..size).filter(|&i| stable(ty, i)) {
            ensure_eq!(big[i], full[i], "{name}: byte {i} of the oversize answer");
        }

        // The minimum size: the object's first bytes.
        let mut part = vec![0u8; min];
        let n = f
            .dev_query(ty, Some(&mut part))
            .ctx(&format!("DEV_QUERY({name}) with a {min}-byte buffer"))?;
        ensure_eq!(
            n as usize,
            min,
            "{name}: bytes copied into a minimum buffer"
        );
        for i in (0..min).filter(|&i| stable(ty, i)) {
            ensure_eq!(part[i], full[i], "{name}: byte {i} of the partial answer");
        }
    }
    expect_errno(
        f.dev_query(0xdead, None),
        Errno::EINVAL,
        "DEV_QUERY(unknown) size",
    )?;
    let mut buf = [0u8; 64];
    expect_errno(
        f.dev_query(0xdead, Some(&mut buf)),
        Errno::EINVAL,
        "DEV_QUERY(unknown)",
    )?;

    let gpu = f.gpu_info().ctx("GPU_INFO")?;
    ensure!(gpu.gpu_id != 0, "GPU_INFO.gpu_id is 0");
    ensure!(
        gpu.shader_present != 0 && gpu.tiler_present != 0 && gpu.l2_present != 0,
        "GPU_INFO names no shader/tiler/L2 cores: {gpu:?}"
    );
    ensure!(gpu.as_present & !1 != 0, "no user address space: {gpu:?}");
    ensure!(
        (32..=48).contains(&gpu.mmu_va_bits()),
        "GPU_INFO VA bits {}",
        gpu.mmu_va_bits()
    );
    let csif = f.csif_info().ctx("CSIF_INFO")?;
    ensure!(
        csif.csg_slot_count >= 1
            && csif.cs_slot_count >= 1
            && csif.unpreserved_cs_reg_count < csif.cs_reg_count,
        "CSIF_INFO: {csif:?}"
    );
    let mmu = f.mmu_info().ctx("MMU_INFO")?;
    ensure!(
        mmu.page_size_bitmap & (1 << 12) != 0,
        "MMU_INFO has no 4 KiB pages: {:#x}",
        mmu.page_size_bitmap
    );
    let prio: drm_panthor_group_priorities_info =
        query_object(&*f, DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO).ctx("PRIORITIES_INFO")?;
    let always = (1 << PANTHOR_GROUP_PRIORITY_LOW) | (1 << PANTHOR_GROUP_PRIORITY_MEDIUM);
    ensure!(
        prio.allowed_mask & always == always,
        "LOW and MEDIUM are always allowed, allowed_mask {:#x}",
        prio.allowed_mask
    );
    let t1: drm_panthor_timestamp_info =
        query_object(&*f, DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO).ctx("TIMESTAMP_INFO")?;
    let t2: drm_panthor_timestamp_info =
        query_object(&*f, DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO).ctx("TIMESTAMP_INFO")?;
    ensure!(
        t2.current_timestamp >= t1.current_timestamp,
        "GPU timestamp went backwards: {} then {}",
        t1.current_timestamp,
        t2.current_timestamp
    );
    Ok(())
}

/// `DEV_QUERY(TIMESTAMP_INFO)` from driver 1.8: `flags` is an input
/// naming what to sample (0 means GPU | GPU_OFFSET | FREQ); with
/// `TIMESTAMP_CPU_MONOTONIC` the kernel samples `CLOCK_MONOTONIC` into
/// `cpu_timestamp_sec/nsec` (the time lies between two `clock_gettime`
/// calls around the query), with `TIMESTAMP_GPU` the GPU timestamp.
pub fn timestamp_query_honours_flags(o: &dyn Opener) -> R {
    let f = open(o)?;
    require_minor(&*f, version::MINOR_TIMESTAMP_FLAGS, "TIMESTAMP_INFO flags")?;
    let mut buf = [0u8; 56];
    let flags = DRM_PANTHOR_TIMESTAMP_GPU | DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC;
    buf[24..28].copy_from_slice(&flags.to_le_bytes());
    let before = now_ns();
    f.dev_query(DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, Some(&mut buf))
        .ctx("DEV_QUERY(TIMESTAMP_INFO) with GPU | CPU_MONOTONIC")?;
    let after = now_ns();
    let word = |at: usize| u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
    let cpu = word(40) as i64 * 1_000_000_000 + word(48) as i64;
    ensure!(
        (before..=after).contains(&cpu),
        "cpu_timestamp {}.{:09} is not between the CLOCK_MONOTONIC readings around the query \
         ({before} .. {after} ns)",
        word(40),
        word(48)
    );
    ensure!(
        word(8) != 0,
        "GPU timestamp 0 although TIMESTAMP_GPU was asked for"
    );
    // Only what is asked for is sampled: the cycle count alone.
    let mut buf = [0u8; 56];
    buf[24..28].copy_from_slice(&DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT.to_le_bytes());
    f.dev_query(DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, Some(&mut buf))
        .ctx("DEV_QUERY(TIMESTAMP_INFO) with GPU_CYCLE_COUNT")?;
    let word = |at: usize| u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
    ensure!(
        word(0) == 0 && word(8) == 0 && word(32) != 0,
        "GPU_CYCLE_COUNT alone: frequency {}, timestamp {}, cycle count {}",
        word(0),
        word(8),
        word(32)
    );
    for bad in [1u32 << 8, 3 << 1, DRM_PANTHOR_TIMESTAMP_GPU | 1 << 31] {
        let mut buf = [0u8; 56];
        buf[24..28].copy_from_slice(&bad.to_le_bytes());
        expect_errno(
            f.dev_query(DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, Some(&mut buf)),
            Errno::EINVAL,
            &format!("TIMESTAMP_INFO with flags {bad:#x}"),
        )?;
    }
    Ok(())
}

/// A command stream's `STORE_STATE.timestamp` samples the counter that
/// `TIMESTAMP_INFO.current_timestamp` reads: a GPU timestamp lies between
/// two queries around the job, and two in one stream are ordered.
pub fn store_state_timestamp_is_the_query_clock(o: &dyn Opener) -> R {
    let f = open(o)?;
    let ctx = Ctx::new(&*f)?;
    let dst = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm, &dst, 0, DATA_VA, PAGE)?;
    let before = f.timestamp_info().ctx("TIMESTAMP_INFO")?.current_timestamp;
    ctx.run(&stream(|b| {
        b.mov48(2, DATA_VA)
            .store_state(StateKind::Timestamp, 2, 0, Async::NOW)
            .wait(1)
            .store_state(StateKind::Timestamp, 2, 8, Async::NOW)
            .wait(1);
    })?)?;
    let after = f.timestamp_info().ctx("TIMESTAMP_INFO")?.current_timestamp;
    let got = dst.read(0, 16)?;
    let t0 = u64::from_le_bytes(got[..8].try_into().unwrap());
    let t1 = u64::from_le_bytes(got[8..].try_into().unwrap());
    ensure!(
        before <= t0 && t0 <= t1 && t1 <= after,
        "GPU timestamps {t0}, {t1} are not ordered between the queries around the job \
         ({before} .. {after})"
    );
    Ok(())
}

/// `BO_CREATE` (`panthor_gem_create_with_handle`): the size is rounded up
/// to the page size and written back, the pages are zeroed (shmem), each
/// BO gets its own handle; `BO_MMAP_OFFSET` gives a stable page-aligned
/// fake offset per BO; two CPU mappings of a BO share its pages; a mapping
/// outlives `GEM_CLOSE`, after which the handle is gone (`GEM_CLOSE` again
/// `EINVAL`, `BO_MMAP_OFFSET` `ENOENT`).
pub fn bo_create_rounds_zeroes_and_maps(o: &dyn Opener) -> R {
    let f = open(o)?;
    let mut a = drm_panthor_bo_create {
        size: 5000,
        ..Default::default()
    };
    f.bo_create(&mut a).ctx("BO_CREATE(5000)")?;
    ensure_eq!(a.size, 8192, "size of a 5000-byte BO");
    let mut b = drm_panthor_bo_create {
        size: PAGE,
        ..Default::default()
    };
    f.bo_create(&mut b).ctx("BO_CREATE(4096)")?;
    ensure_eq!(b.size, PAGE, "size of a 4096-byte BO");
    ensure!(
        a.handle != 0 && b.handle != 0 && a.handle != b.handle,
        "handles {} and {}",
        a.handle,
        b.handle
    );

    let offset = |h: u32| -> R<u64> {
        let mut args = drm_panthor_bo_mmap_offset {
            handle: h,
            ..Default::default()
        };
        f.bo_mmap_offset(&mut args).ctx("BO_MMAP_OFFSET")?;
        Ok(args.offset)
    };
    let (oa, oa2, ob) = (offset(a.handle)?, offset(a.handle)?, offset(b.handle)?);
    ensure_eq!(oa, oa2, "BO_MMAP_OFFSET of one BO twice");
    ensure!(
        oa % PAGE == 0 && ob % PAGE == 0 && oa != ob,
        "offsets {oa:#x} and {ob:#x}"
    );

    let m1 = f.mmap(oa, a.size as usize).ctx("mmap")?;
    let mut bytes = vec![0xffu8; a.size as usize];
    m1.read(0, &mut bytes).ctx("read")?;
    ensure!(bytes.iter().all(|&x| x == 0), "a new BO is not zeroed");
    let data = pattern(1, a.size as usize);
    m1.write(0, &data).ctx("write")?;
    let m2 = f.mmap(oa, a.size as usize).ctx("second mmap")?;
    m2.read(0, &mut bytes).ctx("read")?;
    ensure_bytes(&bytes, &data, "second mapping of the BO")?;

    f.gem_close(a.handle).ctx("GEM_CLOSE")?;
    expect_errno(f.gem_close(a.handle), Errno::EINVAL, "GEM_CLOSE twice")?;
    let mut closed = drm_panthor_bo_mmap_offset {
        handle: a.handle,
        ..Default::default()
    };
    expect_errno(
        f.bo_mmap_offset(&mut closed),
        Errno::ENOENT,
        "BO_MMAP_OFFSET after close",
    )?;
    m1.read(0, &mut bytes).ctx("read after close")?;
    ensure_bytes(&bytes, &data, "mapping after GEM_CLOSE")?;
    ensure!(
        f.gem_close(b.handle).is_ok(),
        "the other BO's handle was closed too"
    );

    Ok(())
}

/// `VM_CREATE` / `VM_GET_STATE` / `VM_DESTROY`
/// (`panthor_vm_pool_create_vm`, `panthor_vm_create_check_args`,
/// `panthor_ioctl_vm_get_state`, `panthor_vm_pool_destroy_vm`): ids are
/// non-zero and distinct, the user VA range written back is non-empty and
/// at least what was asked for, VM_BIND accepts a page just below it and
/// refuses one at it (`range_overflows`), a new VM is USABLE, and a
/// destroyed id is unknown (`EINVAL`) to GET_STATE, DESTROY and BIND.
pub fn vm_create_get_state_destroy(o: &dyn Opener) -> R {
    let f = open(o)?;
    let mut a = drm_panthor_vm_create::default();
    f.vm_create(&mut a).ctx("VM_CREATE")?;
    ensure!(
        a.id != 0 && a.user_va_range > 0,
        "VM_CREATE gave id {} range {:#x}",
        a.id,
        a.user_va_range
    );
    let mut b = drm_panthor_vm_create {
        user_va_range: 1 << 32,
        ..Default::default()
    };
    f.vm_create(&mut b).ctx("VM_CREATE(4 GiB)")?;
    ensure!(
        b.user_va_range >= 1 << 32,
        "user VA range {:#x} is below the 4 GiB asked for",
        b.user_va_range
    );
    ensure!(b.id != 0 && b.id != a.id, "ids {} and {}", a.id, b.id);
    ensure_eq!(vm_state(&*f, a.id)?, DRM_PANTHOR_VM_STATE_USABLE, "new VM");

    let bo = Bo::new(&*f, PAGE)?;
    let top = b.user_va_range;
    expect_errno(
        f.vm_bind(b.id, 0, &[op_map(bo.handle, 0, top, PAGE)]),
        Errno::EINVAL,
        "MAP at the end of the user VA range",
    )?;
    map(&*f, b.id, &bo, 0, top - PAGE, PAGE)?;

    f.vm_destroy(&drm_panthor_vm_destroy { id: a.id, pad: 0 })
        .ctx("VM_DESTROY")?;
    let mut st = drm_panthor_vm_get_state {
        vm_id: a.id,
        state: 0,
    };
    expect_errno(
        f.vm_get_state(&mut st),
        Errno::EINVAL,
        "GET_STATE of a destroyed VM",
    )?;
    expect_errno(
        f.vm_destroy(&drm_panthor_vm_destroy { id: a.id, pad: 0 }),
        Errno::EINVAL,
        "VM_DESTROY twice",
    )?;
    expect_errno(
        f.vm_bind(a.id, 0, &[op_map(bo.handle, 0, 0x10_0000, PAGE)]),
        Errno::EINVAL,
        "VM_BIND on a destroyed VM",
    )?;
    ensure_eq!(
        vm_state(&*f, b.id)?,
        DRM_PANTHOR_VM_STATE_USABLE,
        "the other VM"
    );
    Ok(())
}

/// The largest power of two not above `x` (`rounddown_pow_of_two`).
fn rounddown_pow2(x: u64) -> u64 {
    1 << (63 - x.leading_zeros())
}

/// `panthor_vm_create_check_args` / `panthor_vm_pool_create_vm`: the kernel
/// keeps a power-of-two VA range at the top of the GPU's VA space,
/// `rounddown_pow_of_two(full - requested)`, and gives the user everything
/// below it: VM_CREATE writes back `full - rounddown_pow_of_two(full -
/// requested)` (`args->user_va_range = kernel_va_start`), which can be
/// more than was asked for, and VM_BIND accepts maps up to exactly there.
pub fn vm_create_user_va_range_is_the_kernel_split(o: &dyn Opener) -> R {
    let f = open(o)?;
    let full = 1u64 << f.gpu_info().ctx("GPU_INFO")?.mmu_va_bits();
    let bo = Bo::new(&*f, PAGE)?;
    for asked in [1 << 32, full / 2 + full / 4, full - (256 << 20)] {
        let mut args = drm_panthor_vm_create {
            user_va_range: asked,
            ..Default::default()
        };
        f.vm_create(&mut args)
            .ctx(&format!("VM_CREATE({asked:#x})"))?;
        let want = full - rounddown_pow2(full - asked);
        ensure_eq!(
            args.user_va_range,
            want,
            "user VA range written back for a request of {asked:#x} (GPU VA {full:#x})"
        );
        map(&*f, args.id, &bo, 0, want - PAGE, PAGE)?;
        expect_errno(
            f.vm_bind(args.id, 0, &[op_map(bo.handle, 0, want, PAGE)]),
            Errno::EINVAL,
            "MAP at the end of the user VA range",
        )?;
    }
    Ok(())
}

const DATA_VA: u64 = 0x0100_0000;
const RES_VA: u64 = 0x0200_0000;

/// Synchronous `VM_BIND` (`panthor_vm_bind_exec_sync_op`,
/// `drm_gpuvm_sm_map` / `sm_unmap`): a MAP is in the page tables when the
/// ioctl returns and the GPU reads the BO through it, at a BO offset too;
/// an UNMAP of one page in the middle keeps the pages around it (remap);
/// a page mapped into the hole is read from its new BO; GEM_CLOSE of a
/// mapped BO leaves the mapping working; a MAP over part of a mapping
/// replaces that part; unmapping a range with nothing mapped succeeds; a
/// range can be mapped again after unmap.
pub fn vm_bind_sync_map_and_unmap(o: &dyn Opener) -> R {
    let f = open(o)?;
    let ctx = Mover::new(&*f)?;
    let a_data = pattern(2, 4 * PAGE as usize);
    let a = Bo::with(&*f, 4 * PAGE, &a_data)?;
    let b_data = pattern(3, PAGE as usize);
    let b = Bo::with(&*f, PAGE, &b_data)?;
    let res = Bo::new(&*f, 4 * PAGE)?;
    map(&*f, ctx.vm(), &res, 0, RES_VA, 4 * PAGE)?;

    map(&*f, ctx.vm(), &a, 0, DATA_VA, 4 * PAGE)?;
    ctx.copy(DATA_VA, RES_VA, 4 * PAGE as u32)?;
    ensure_bytes(
        &res.read(0, 4 * PAGE as usize)?,
        &a_data,
        "GPU read of a mapped BO",
    )?;

    bind(
        &*f,
        ctx.vm(),
        op_unmap(DATA_VA + PAGE, PAGE),
        "UNMAP one page",
    )?;
    map(&*f, ctx.vm(), &b, 0, DATA_VA + PAGE, PAGE)?;
    ctx.copy(DATA_VA, RES_VA, 4 * PAGE as u32)?;
    let mut want = a_data.clone();
    want[PAGE as usize..2 * PAGE as usize].copy_from_slice(&b_data);
    ensure_bytes(
        &res.read(0, 4 * PAGE as usize)?,
        &want,
        "GPU read after replacing page 1",
    )?;

    // A mapping at a BO offset.
    map(&*f, ctx.vm(), &a, 2 * PAGE, DATA_VA + 0x10_0000, 2 * PAGE)?;
    ctx.copy(DATA_VA + 0x10_0000, RES_VA, 2 * PAGE as u32)?;
    ensure_bytes(
        &res.read(0, 2 * PAGE as usize)?,
        &a_data[2 * PAGE as usize..],
        "GPU read of a mapping at BO offset 8 KiB",
    )?;

    // A mapping holds the BO: closing the handle changes nothing the GPU
    // sees (panthor_vma_link keeps a drm_gpuvm_bo reference).
    f.gem_close(a.handle).ctx("GEM_CLOSE of a mapped BO")?;
    ctx.copy(DATA_VA, RES_VA, 4 * PAGE as u32)?;
    ensure_bytes(
        &res.read(0, 4 * PAGE as usize)?,
        &want,
        "GPU read after closing the mapped BO's handle",
    )?;
    // A MAP over part of a mapping replaces just that part.
    map(&*f, ctx.vm(), &b, 0, DATA_VA + 3 * PAGE, PAGE)?;
    ctx.copy(DATA_VA, RES_VA, 4 * PAGE as u32)?;
    want[3 * PAGE as usize..].copy_from_slice(&b_data);
    ensure_bytes(
        &res.read(0, 4 * PAGE as usize)?,
        &want,
        "GPU read after a MAP over page 3",
    )?;

    bind(
        &*f,
        ctx.vm(),
        op_unmap(DATA_VA + 0x40_0000, 0x10_0000),
        "UNMAP of nothing",
    )?;
    bind(&*f, ctx.vm(), op_unmap(DATA_VA, 4 * PAGE), "UNMAP all")?;
    map(&*f, ctx.vm(), &b, 0, DATA_VA + 2 * PAGE, PAGE)?;
    ctx.copy(DATA_VA + 2 * PAGE, RES_VA, PAGE as u32)?;
    ensure_bytes(
        &res.read(0, PAGE as usize)?,
        &b_data,
        "GPU read after remapping",
    )?;
    ensure_eq!(
        vm_state(&*f, ctx.vm())?,
        DRM_PANTHOR_VM_STATE_USABLE,
        "VM state"
    );
    Ok(())
}

/// `GROUP_CREATE` / `GROUP_SUBMIT` / `GROUP_GET_STATE` / `GROUP_DESTROY`
/// (`panthor_group_create`, `panthor_job_create`, `queue_run_job`,
/// `panthor_group_get_state`, `panthor_group_destroy`): a new group's state
/// is 0; one submit can carry jobs for two queues and both run; a MEDIUM
/// priority group (always allowed) runs too; a job
/// without a stream (`stream_size` 0, `stream_addr` 0) signals once the
/// queue's earlier job is done; a destroyed handle is unknown (`EINVAL`)
/// to GET_STATE, SUBMIT and DESTROY.
pub fn group_create_submit_destroy(o: &dyn Opener) -> R {
    let f = open(o)?;
    let vm = vm_create(&*f)?;
    let ctx = Ctx::on_vm(&*f, vm, 2)?;
    let st = group_state(&*f, ctx.group)?;
    ensure!(
        st.state == 0 && st.fatal_queues == 0,
        "new group state {st:?}"
    );
    let dst = Bo::new(&*f, PAGE)?;
    map(&*f, vm, &dst, 0, DATA_VA, PAGE)?;

    let (s0, s1) = (
        f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?,
        f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?,
    );
    let j0 = stream(|b| emit_store64(b, DATA_VA, 0x1111_2222_3333_4444))?;
    let j1 = stream(|b| emit_store64(b, DATA_VA + 8, 0x5555_6666_7777_8888))?;
    let (sig0, sig1) = ([signal_op(s0)], [signal_op(s1)]);
    let jobs = [ctx.job(0, &j0, &sig0)?, ctx.job(1, &j1, &sig1)?];
    f.group_submit(ctx.group, 0, &jobs)
        .ctx("GROUP_SUBMIT of two queues")?;
    wait_done(&*f, s0, "queue 0's job")?;
    wait_done(&*f, s1, "queue 1's job")?;
    let got = dst.read(0, 16)?;
    ensure_eq!(
        u64::from_le_bytes(got[..8].try_into().unwrap()),
        0x1111_2222_3333_4444,
        "queue 0's store"
    );
    ensure_eq!(
        u64::from_le_bytes(got[8..].try_into().unwrap()),
        0x5555_6666_7777_8888,
        "queue 1's store"
    );

    let (sa, sb) = (
        f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?,
        f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?,
    );
    ctx.submit(
        0,
        &stream(|b| emit_store64(b, DATA_VA + 16, 0xabcd))?,
        &[signal_op(sa)],
    )?;
    let empty = QueueSubmit {
        queue_index: 0,
        syncs: &[signal_op(sb)],
        ..Default::default()
    };
    f.group_submit(ctx.group, 0, &[empty])
        .ctx("GROUP_SUBMIT of a job without a stream")?;
    wait_done(&*f, sb, "the job without a stream")?;
    ensure_eq!(
        u64::from_le_bytes(dst.read(16, 8)?.try_into().unwrap()),
        0xabcd,
        "the earlier job's store when the empty job signalled"
    );
    ctx.expect_healthy()?;

    // MEDIUM is always allowed (group_priority_permit) and runs work.
    let info = f.gpu_info().ctx("GPU_INFO")?;
    let q = queue_args(1);
    let medium = f
        .group_create(&GroupCreate {
            priority: PANTHOR_GROUP_PRIORITY_MEDIUM,
            ..group_args(&info, vm, &q)
        })
        .ctx("GROUP_CREATE at MEDIUM priority")?;
    let sm = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let jm = stream(|b| emit_store64(b, DATA_VA + 24, 0x3e3e))?;
    let sigm = [signal_op(sm)];
    f.group_submit(medium, 0, &[ctx.job(0, &jm, &sigm)?])
        .ctx("GROUP_SUBMIT to the MEDIUM group")?;
    wait_done(&*f, sm, "the MEDIUM group's job")?;
    ensure_eq!(
        u64::from_le_bytes(dst.read(24, 8)?.try_into().unwrap()),
        0x3e3e,
        "the MEDIUM group's store"
    );

    f.group_destroy(&drm_panthor_group_destroy {
        group_handle: ctx.group,
        pad: 0,
    })
    .ctx("GROUP_DESTROY")?;
    let mut st = drm_panthor_group_get_state {
        group_handle: ctx.group,
        ..Default::default()
    };
    expect_errno(
        f.group_get_state(&mut st),
        Errno::EINVAL,
        "GET_STATE after destroy",
    )?;
    expect_errno(
        f.group_submit(ctx.group, 0, &[ctx.job(0, &j0, &[])?]),
        Errno::EINVAL,
        "SUBMIT after destroy",
    )?;
    expect_errno(
        f.group_destroy(&drm_panthor_group_destroy {
            group_handle: ctx.group,
            pad: 0,
        }),
        Errno::EINVAL,
        "GROUP_DESTROY twice",
    )?;
    Ok(())
}

/// drm_sched holds jobs a queue's ring cannot take yet (the queue's
/// scheduler has `credit_limit = ringbuf_size / 8`, `group_create_queue`):
/// 100 jobs submitted back to back on a queue with a 4 KiB ring all run,
/// in order, and their timeline reaches 100.
pub fn more_jobs_than_the_ring_holds(o: &dyn Opener) -> R {
    let f = open(o)?;
    let vm = vm_create(&*f)?;
    let info = f.gpu_info().ctx("GPU_INFO")?;
    let small_ring = [drm_panthor_queue_create {
        priority: 0,
        pad: [0; 3],
        ringbuf_size: 4096,
    }];
    let ctx = Ctx::on_vm(&*f, vm, 1)?;
    let group = f
        .group_create(&group_args(&info, vm, &small_ring))
        .ctx("GROUP_CREATE with a 4 KiB ring")?;
    let dst = Bo::new(&*f, PAGE)?;
    map(&*f, vm, &dst, 0, DATA_VA, PAGE)?;
    let t = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    const JOBS: u64 = 100;
    for i in 0..JOBS {
        // Each job adds its index to the running total in slot 0 and
        // stores the total so far in slot i + 1, so order shows.
        let code = stream(|b| {
            b.mov48(0, DATA_VA)
                .load64(2, 0, 0)
                .wait(1)
                .add64(2, 2, i as i32)
                .store64(2, 0, 0)
                .store64(2, 0, 8 * (i as i16 + 1))
                .wait(1);
        })?;
        let sig = [signal_point(t, i + 1)];
        let job = ctx.job(0, &code, &sig)?;
        f.group_submit(group, 0, &[job])
            .ctx(&format!("GROUP_SUBMIT of job {i}"))?;
    }
    wait_point_done(&*f, t, JOBS, "the last of 100 jobs")?;
    let got = dst.read(0, 8 * (JOBS as usize + 1))?;
    let word = |k: usize| u64::from_le_bytes(got[8 * k..8 * k + 8].try_into().unwrap());
    let mut total = 0;
    for i in 0..JOBS {
        total += i;
        ensure_eq!(word(i as usize + 1), total, "running total after job {i}");
    }
    ensure_eq!(word(0), total, "final total");
    let st = group_state(&*f, group)?;
    ensure!(st.state == 0, "group state {st:?}");
    Ok(())
}

/// Binary syncobjs (`drm_syncobj_create_ioctl`, `_signal_ioctl`,
/// `_reset_ioctl`, `_wait_ioctl`, `drm_syncobj_array_wait_timeout`,
/// `_destroy_ioctl`): a new syncobj has no fence (a wait is `EINVAL`, with
/// `WAIT_FOR_SUBMIT` it times out with `ETIME`); `CREATE_SIGNALED` and
/// SIGNAL attach a signalled fence; RESET removes it; a wait returns the
/// index of the first signalled handle; `WAIT_ALL` needs all; QUERY of a
/// binary syncobj is 0; DESTROY makes the handle unknown (`ENOENT` for
/// waits and queries, `EINVAL` for a second DESTROY).
pub fn syncobj_binary_ops(o: &dyn Opener) -> R {
    let f = open(o)?;
    let a = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    let b = f
        .syncobj_create(DRM_SYNCOBJ_CREATE_SIGNALED)
        .ctx("SYNCOBJ_CREATE(SIGNALED)")?;
    ensure!(a != 0 && b != 0 && a != b, "handles {a} and {b}");
    expect_no_fence(&*f, a, "wait on a new syncobj")?;
    expect_errno(
        f.syncobj_wait(&[a], in_ms(5), SyncobjWaitFlags::WAIT_FOR_SUBMIT),
        Errno::ETIME,
        "WAIT_FOR_SUBMIT on a new syncobj",
    )?;
    ensure_eq!(
        f.syncobj_wait(&[b], in_ms(DONE_MS), SyncobjWaitFlags::empty())
            .ctx("wait on a SIGNALED syncobj")?,
        0,
        "first_signaled"
    );
    ensure_eq!(
        f.syncobj_wait(
            &[a, b],
            in_ms(PENDING_MS),
            SyncobjWaitFlags::WAIT_FOR_SUBMIT
        )
        .ctx("wait for any of (empty, signalled)")?,
        1,
        "index of the signalled handle"
    );
    expect_errno(
        f.syncobj_wait(
            &[a, b],
            in_ms(PENDING_MS),
            SyncobjWaitFlags::WAIT_FOR_SUBMIT | SyncobjWaitFlags::WAIT_ALL,
        ),
        Errno::ETIME,
        "WAIT_ALL of (empty, signalled)",
    )?;

    f.syncobj_signal(&[a]).ctx("SYNCOBJ_SIGNAL")?;
    f.syncobj_wait(&[a, b], in_ms(DONE_MS), SyncobjWaitFlags::WAIT_ALL)
        .ctx("WAIT_ALL after SIGNAL")?;
    ensure_eq!(query(&*f, a, 0)?, 0, "QUERY of a binary syncobj");
    f.syncobj_reset(&[a]).ctx("SYNCOBJ_RESET")?;
    expect_no_fence(&*f, a, "wait after RESET")?;
    f.syncobj_wait(&[b], in_ms(DONE_MS), SyncobjWaitFlags::empty())
        .ctx("the other syncobj after RESET")?;

    f.syncobj_destroy(a).ctx("SYNCOBJ_DESTROY")?;
    expect_errno(
        f.syncobj_wait(&[a], in_ms(0), SyncobjWaitFlags::empty()),
        Errno::ENOENT,
        "wait on a destroyed syncobj",
    )?;
    let mut p = [0u64];
    expect_errno(
        f.syncobj_query(&[a], &mut p, 0),
        Errno::ENOENT,
        "QUERY of a destroyed syncobj",
    )?;
    expect_errno(f.syncobj_destroy(a), Errno::EINVAL, "SYNCOBJ_DESTROY twice")?;
    Ok(())
}

/// Timeline syncobjs (`drm_syncobj_timeline_signal_ioctl`,
/// `drm_syncobj_add_point`, `drm_syncobj_query_ioctl`,
/// `drm_syncobj_timeline_wait_ioctl`, `drm_syncobj_transfer_ioctl`):
/// signalled points raise QUERY (and `LAST_SUBMITTED`) to the newest one;
/// a wait on any point up to it returns at once; a point above it is not
/// submitted (`EINVAL`, or `ETIME` with `WAIT_FOR_SUBMIT`); TRANSFER copies
/// a point into a binary syncobj (`dst_point` 0) and a binary fence into a
/// timeline point; one TIMELINE_SIGNAL call signals several syncobjs.
pub fn syncobj_timeline_ops(o: &dyn Opener) -> R {
    let f = open(o)?;
    let t = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    ensure_eq!(query(&*f, t, 0)?, 0, "QUERY of a new syncobj");
    f.syncobj_timeline_signal(&[t], &[1])
        .ctx("TIMELINE_SIGNAL 1")?;
    ensure_eq!(query(&*f, t, 0)?, 1, "QUERY after point 1");
    f.syncobj_timeline_signal(&[t], &[3])
        .ctx("TIMELINE_SIGNAL 3")?;
    ensure_eq!(query(&*f, t, 0)?, 3, "QUERY after point 3");
    ensure_eq!(
        query(&*f, t, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)?,
        3,
        "QUERY(LAST_SUBMITTED)"
    );
    for p in [1, 2, 3] {
        wait_point_done(&*f, t, p, &format!("wait for point {p}"))?;
    }
    expect_errno(
        f.syncobj_timeline_wait(&[t], &[4], in_ms(0), SyncobjWaitFlags::empty()),
        Errno::EINVAL,
        "wait for point 4, not submitted",
    )?;
    expect_errno(
        f.syncobj_timeline_wait(&[t], &[4], in_ms(5), SyncobjWaitFlags::WAIT_FOR_SUBMIT),
        Errno::ETIME,
        "WAIT_FOR_SUBMIT for point 4",
    )?;

    let b = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    f.syncobj_transfer(t, 3, b, 0, 0)
        .ctx("TRANSFER point 3 -> binary")?;
    wait_done(&*f, b, "binary syncobj after TRANSFER")?;
    let t2 = f.syncobj_create(0).ctx("SYNCOBJ_CREATE")?;
    f.syncobj_transfer(b, 0, t2, 5, 0)
        .ctx("TRANSFER binary -> point 5")?;
    ensure_eq!(query(&*f, t2, 0)?, 5, "QUERY after TRANSFER to point 5");
    wait_point_done(&*f, t2, 5, "point 5 after TRANSFER")?;

    f.syncobj_timeline_signal(&[t, t2], &[10, 6])
        .ctx("TIMELINE_SIGNAL of two syncobjs")?;
    let mut points = [0u64; 2];
    f.syncobj_query(&[t, t2], &mut points, 0)
        .ctx("QUERY of two syncobjs")?;
    ensure_eq!(points, [10, 6], "QUERY after signalling 10 and 6");
    Ok(())
}
