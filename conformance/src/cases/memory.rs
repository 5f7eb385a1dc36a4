//! GPU reads and writes through the MMU, end to end: 4 KiB pages, 2 MiB
//! blocks, sparse ranges over the per-file dummy, huge mappings split by
//! partial unmaps, BOs bound inside sparse ranges. Every access is a CS
//! stream (on `/dev/vpanthor`, which has no groups, a VM_ACCESS through the
//! page tables: [`Mover`]); every check reads BO memory through the CPU or
//! copies into a BO first.

use crate::check::R;
use crate::fixture::*;
use crate::{ensure, open, Opener};

const SRC_VA: u64 = 0x0100_0000;
const SMALL_VA: u64 = 0x0180_0000;
const RES_VA: u64 = 0x0200_0000;
/// 2 MiB aligned (1 GiB), so a 4 MiB BO can be mapped with 2 MiB blocks.
const HUGE_VA: u64 = 0x4000_0000;
const SPARSE_VA: u64 = 0x8000_0000;

/// Page tables put every GPU access where VM_BIND said
/// (`panthor_vm_map_pages` over io-pgtable-arm's AArch64 4K-granule
/// format, 2 MiB blocks where VA, BO offset and physical contiguity allow;
/// the seed's `panthor_vm_map_sparse`): one stream copies a 4 KiB BO into
/// a 2 MiB-aligned 4 MiB BO, from there into a sparse range, from there
/// into a result BO, and into a 4 KiB-page mapping at a BO offset. The
/// bytes arrive, and land in the big and the offset BO exactly at the
/// offsets the binds name and nowhere else. A 2 MiB-aligned VA over a BO
/// offset that is not 2 MiB aligned reads the right bytes too (no block
/// may be used there).
pub fn gpu_copies_through_4k_2m_and_sparse_mappings(o: &dyn Opener) -> R {
    let f = open(o)?;
    require_sparse(&*f)?;
    let ctx = Mover::new(&*f)?;
    let p = pattern(40, PAGE as usize);
    let src = Bo::with(&*f, PAGE, &p)?;
    map(&*f, ctx.vm(), &src, 0, SRC_VA, PAGE)?;
    let huge = Bo::new(&*f, 2 * SZ_2M)?;
    map(&*f, ctx.vm(), &huge, 0, HUGE_VA, 2 * SZ_2M)?;
    bind(&*f, ctx.vm(), op_sparse(SPARSE_VA, 4 * SZ_2M), "sparse MAP")?;
    let res = Bo::new(&*f, PAGE)?;
    map(&*f, ctx.vm(), &res, 0, RES_VA, PAGE)?;
    let small = Bo::new(&*f, 4 * PAGE)?;
    map(&*f, ctx.vm(), &small, 2 * PAGE, SMALL_VA, 2 * PAGE)?;

    let in_huge = SZ_2M + 0x3000;
    let in_sparse = SPARSE_VA + 0x5000;
    ctx.copies(&[
        (SRC_VA, HUGE_VA + in_huge, PAGE as u32),
        (HUGE_VA + in_huge, in_sparse, PAGE as u32),
        (in_sparse, RES_VA, PAGE as u32),
        (SRC_VA, SMALL_VA + PAGE, PAGE as u32),
    ])?;

    ensure_bytes(
        &res.read(0, PAGE as usize)?,
        &p,
        "bytes after the copy chain",
    )?;
    let big = huge.read(0, 2 * SZ_2M as usize)?;
    let window = in_huge as usize..(in_huge + PAGE) as usize;
    ensure_bytes(&big[window.clone()], &p, "the 4 MiB BO at 2 MiB + 12 KiB")?;
    let stray = big
        .iter()
        .enumerate()
        .position(|(i, &x)| x != 0 && !window.contains(&i));
    ensure!(
        stray.is_none(),
        "the 4 MiB BO has a byte written outside the copied window, at {:#x}",
        stray.unwrap_or(0)
    );
    let s = small.read(0, 4 * PAGE as usize)?;
    ensure_bytes(&s[3 * PAGE as usize..], &p, "offset BO page 3 (VA page 1)")?;
    ensure!(
        s[..3 * PAGE as usize].iter().all(|&x| x == 0),
        "offset BO pages 0..3 were written"
    );

    // A 2 MiB-aligned VA over a BO offset that is not 2 MiB aligned: no
    // block can be used, and every page still reads its own BO bytes.
    let q = pattern(48, 2 * SZ_2M as usize);
    huge.write(0, &q)?;
    let shifted = HUGE_VA + 2 * SZ_2M;
    map(&*f, ctx.vm(), &huge, PAGE, shifted, SZ_2M)?;
    let res2 = Bo::new(&*f, SZ_2M)?;
    map(&*f, ctx.vm(), &res2, 0, RES_VA + SZ_2M, SZ_2M)?;
    ctx.copy(shifted, RES_VA + SZ_2M, SZ_2M as u32)?;
    ensure_bytes(
        &res2.read(0, SZ_2M as usize)?,
        &q[PAGE as usize..(SZ_2M + PAGE) as usize],
        "2 MiB at an aligned VA over BO offset 4 KiB",
    )?;
    Ok(())
}

/// Seed patch (`panthor_vm_map_sparse`, `panthor_vm_pool_create`): a
/// 2 MiB-aligned sparse range maps cyclically over the file's 2 MiB dummy
/// BO, so a GPU write at sparse VA X is read back at X + 2 MiB, X + 4 MiB
/// and X + 6 MiB; the dummy belongs to the file, so another VM of the same
/// file sees it through its own sparse range too.
pub fn sparse_range_aliases_every_2mib(o: &dyn Opener) -> R {
    let f = open(o)?;
    require_sparse(&*f)?;
    let ctx = Mover::new(&*f)?;
    let p = pattern(41, PAGE as usize);
    let src = Bo::with(&*f, PAGE, &p)?;
    map(&*f, ctx.vm(), &src, 0, SRC_VA, PAGE)?;
    bind(&*f, ctx.vm(), op_sparse(SPARSE_VA, 4 * SZ_2M), "sparse MAP")?;
    let res = Bo::new(&*f, 3 * PAGE)?;
    map(&*f, ctx.vm(), &res, 0, RES_VA, 3 * PAGE)?;
    let x = SPARSE_VA + 0x1000;
    let mut list = vec![(SRC_VA, x, PAGE as u32)];
    list.extend((1..4).map(|k| (x + k * SZ_2M, RES_VA + (k - 1) * PAGE, PAGE as u32)));
    ctx.copies(&list)?;
    let got = res.read(0, 3 * PAGE as usize)?;
    for k in 1..4u64 {
        let page = &got[((k - 1) * PAGE) as usize..(k * PAGE) as usize];
        ensure_bytes(page, &p, &format!("sparse read at X + {} MiB", 2 * k))?;
    }

    let other = Mover::new(&*f)?;
    let other_va = 0xa000_0000;
    bind(
        &*f,
        other.vm(),
        op_sparse(other_va, SZ_2M),
        "sparse MAP in a second VM",
    )?;
    let res2 = Bo::new(&*f, PAGE)?;
    map(&*f, other.vm(), &res2, 0, RES_VA, PAGE)?;
    other.copy(other_va + 0x1000, RES_VA, PAGE as u32)?;
    ensure_bytes(
        &res2.read(0, PAGE as usize)?,
        &p,
        "the same dummy offset through another VM of the file",
    )?;
    Ok(())
}

/// Counts the 64-byte chunks of `got` equal to the chunk of `secret` at the
/// same offset.
fn leaked_chunks(got: &[u8], secret: &[u8]) -> usize {
    got.chunks(64)
        .zip(secret.chunks(64))
        .filter(|(a, b)| a == b)
        .count()
}

/// Seed patch: each open file has its own dummy BO ("a dummy shared
/// between files would leak data from one process to another"). Bytes one
/// file writes through its sparse range (all 2 MiB of its dummy, read back
/// through the alias to prove the write happened) never show through
/// another file's sparse range, in either direction. (What a never-written
/// sparse range reads is undefined, so only the absence of the other
/// file's bytes is checked.)
pub fn sparse_dummy_is_private_to_each_file(o: &dyn Opener) -> R {
    let fa = open(o)?;
    let fb = open(o)?;
    require_sparse(&*fa)?;
    let mut sides = Vec::new();
    for (seed, f) in [(42, &fa), (43, &fb)] {
        let ctx = Mover::new(&**f)?;
        bind(
            &**f,
            ctx.vm(),
            op_sparse(SPARSE_VA, 2 * SZ_2M),
            "sparse MAP",
        )?;
        let secret = pattern(seed, SZ_2M as usize);
        let src = Bo::with(&**f, SZ_2M, &secret)?;
        map(&**f, ctx.vm(), &src, 0, SRC_VA, SZ_2M)?;
        let res = Bo::new(&**f, SZ_2M)?;
        map(&**f, ctx.vm(), &res, 0, RES_VA, SZ_2M)?;
        sides.push((ctx, secret, src, res));
    }
    let (a, b) = (&sides[0], &sides[1]);

    a.0.copy(SRC_VA, SPARSE_VA, SZ_2M as u32)?;
    a.0.copy(SPARSE_VA + SZ_2M, RES_VA, SZ_2M as u32)?;
    ensure_bytes(
        &a.3.read(0, SZ_2M as usize)?,
        &a.1,
        "file A's own write read back through its alias",
    )?;
    b.0.copy(SPARSE_VA, RES_VA, SZ_2M as u32)?;
    let seen = leaked_chunks(&b.3.read(0, SZ_2M as usize)?, &a.1);
    ensure!(
        seen == 0,
        "file B's sparse range shows {seen} of 32768 64-byte chunks file A wrote"
    );

    b.0.copy(SRC_VA, SPARSE_VA + SZ_2M, SZ_2M as u32)?;
    a.0.copy(SPARSE_VA, RES_VA, SZ_2M as u32)?;
    let back = a.3.read(0, SZ_2M as usize)?;
    let seen = leaked_chunks(&back, &b.1);
    ensure!(
        seen == 0,
        "file A's sparse range shows {seen} of 32768 64-byte chunks file B wrote"
    );
    ensure_bytes(&back, &a.1, "file A's dummy after file B's write")?;
    Ok(())
}

/// Partial unmaps of a 2 MiB-block mapping (drm_gpuvm remap;
/// `panthor_gpuva_sm_step_remap` and `unmap_hugepage_align`, which must
/// test each remaining half at its own address, as the seeds fix): after
/// unmapping one 4 KiB page inside the second 2 MiB block and the first
/// page of the first block, every other page still reads its own bytes of
/// the BO, and a page mapped into the hole reads its new BO.
pub fn partial_unmap_splits_a_huge_mapping(o: &dyn Opener) -> R {
    let f = open(o)?;
    let ctx = Mover::new(&*f)?;
    let p = pattern(44, 2 * SZ_2M as usize);
    let huge = Bo::with(&*f, 2 * SZ_2M, &p)?;
    map(&*f, ctx.vm(), &huge, 0, HUGE_VA, 2 * SZ_2M)?;
    let q = pattern(45, PAGE as usize);
    let patch = Bo::with(&*f, PAGE, &q)?;
    let hole = SZ_2M + 0x5000;
    bind(
        &*f,
        ctx.vm(),
        op_unmap(HUGE_VA + hole, PAGE),
        "UNMAP a page in block 1",
    )?;
    map(&*f, ctx.vm(), &patch, 0, HUGE_VA + hole, PAGE)?;
    bind(
        &*f,
        ctx.vm(),
        op_unmap(HUGE_VA, PAGE),
        "UNMAP block 0's first page",
    )?;
    let res = Bo::new(&*f, SZ_2M)?;
    map(&*f, ctx.vm(), &res, 0, RES_VA, SZ_2M)?;

    ctx.copy(HUGE_VA + SZ_2M, RES_VA, SZ_2M as u32)?;
    let mut want = p[SZ_2M as usize..].to_vec();
    want[0x5000..0x6000].copy_from_slice(&q);
    ensure_bytes(
        &res.read(0, SZ_2M as usize)?,
        &want,
        "block 1 after replacing one page",
    )?;
    ctx.copy(HUGE_VA + PAGE, RES_VA, (SZ_2M - PAGE) as u32)?;
    ensure_bytes(
        &res.read(0, (SZ_2M - PAGE) as usize)?,
        &p[PAGE as usize..SZ_2M as usize],
        "block 0 after unmapping its first page",
    )?;
    ensure_bytes(
        &huge.read(0, 2 * SZ_2M as usize)?,
        &p,
        "the BO itself (partial unmaps write nothing)",
    )?;
    Ok(())
}

/// Sparse residency: a BO mapped over part of a sparse range (drm_gpuvm
/// remap of the sparse VMA; the seed's remap keeps the sparse halves on
/// the dummy) takes GPU reads and writes there, while the rest of the
/// range still aliases the dummy; unmapping the BO and mapping the part
/// sparse again sends it back to the dummy.
pub fn bo_bound_inside_a_sparse_range(o: &dyn Opener) -> R {
    let f = open(o)?;
    require_sparse(&*f)?;
    let ctx = Mover::new(&*f)?;
    bind(&*f, ctx.vm(), op_sparse(SPARSE_VA, 2 * SZ_2M), "sparse MAP")?;
    let q = pattern(46, 0x10000);
    let r = Bo::with(&*f, 0x10000, &q)?;
    map(&*f, ctx.vm(), &r, 0, SPARSE_VA + 0x10000, 0x10000)?;
    let p = pattern(47, PAGE as usize);
    let src = Bo::with(&*f, PAGE, &p)?;
    map(&*f, ctx.vm(), &src, 0, SRC_VA, PAGE)?;
    let res = Bo::new(&*f, 2 * PAGE)?;
    map(&*f, ctx.vm(), &res, 0, RES_VA, 2 * PAGE)?;

    ctx.copies(&[
        (SRC_VA, SPARSE_VA + 0x1000, PAGE as u32),
        (SRC_VA, SPARSE_VA + 0x12000, PAGE as u32),
        (SPARSE_VA + SZ_2M + 0x1000, RES_VA, PAGE as u32),
    ])?;
    let mut want = q.clone();
    want[0x2000..0x3000].copy_from_slice(&p);
    ensure_bytes(
        &r.read(0, 0x10000)?,
        &want,
        "the BO bound inside the sparse range",
    )?;
    ensure_bytes(
        &res.read(0, PAGE as usize)?,
        &p,
        "the sparse part around the BO, through its alias",
    )?;

    bind(
        &*f,
        ctx.vm(),
        op_unmap(SPARSE_VA + 0x10000, 0x10000),
        "UNMAP the BO",
    )?;
    bind(
        &*f,
        ctx.vm(),
        op_sparse(SPARSE_VA + 0x10000, 0x10000),
        "sparse MAP over the hole",
    )?;
    ctx.copies(&[
        (SRC_VA, SPARSE_VA + 0x12000, PAGE as u32),
        (SPARSE_VA + SZ_2M + 0x12000, RES_VA + PAGE, PAGE as u32),
    ])?;
    ensure_bytes(
        &res.read(PAGE, PAGE as usize)?,
        &p,
        "the re-sparsed part, through its alias",
    )?;
    ensure_bytes(
        &r.read(0, 0x10000)?,
        &want,
        "the unbound BO (no longer written)",
    )?;
    Ok(())
}
