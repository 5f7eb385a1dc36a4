//! Changing what backs an image: rebinding to other memory and back,
//! unbinding and binding again, aliasing (two blocks of one image, or two
//! images, on the same memory), and binds at non-zero offsets into memory
//! sub-allocated with gpu-allocator. Data goes through transfer commands.

use ash::vk;

use super::binding::{bound_image, opaque_halves, seed};
use super::formats::{self, Format, Kind, Shape, KINDS, R32_UINT, RGBA8_UINT};
use super::sparse::{self, Block};
use super::transfer::{Region, TestImage};
use crate::case::{CaseResult, Group, Stop};
use crate::gpu::{Gpu, Vk};
use crate::{ensure, require};

pub fn add(g: &mut Group) {
    let mut rebind = g.group("rebind");
    for kind in KINDS {
        let shape = shape_for(kind);
        let mut k = rebind.group(kind.name());
        k.case("binding", move |vk| rebind_opaque(vk, shape));
        k.case("residency", move |vk| rebind_blocks(vk, shape));
        k.case("unbind_rebind", move |vk| unbind_rebind(vk, shape));
    }
    let mut aliasing = g.group("aliasing");
    let mut blocks = aliasing.group("blocks");
    for (kind, size) in [
        (Kind::D2, [512, 512, 1]),
        (Kind::D2Array, [256, 256, 2]),
        (Kind::D3, [64, 64, 32]),
    ] {
        let shape = Shape::new(kind, size, Some(1));
        blocks.case(kind.name(), move |vk| alias_blocks(vk, shape));
    }
    let mut images = aliasing.group("images");
    for (kind, size) in [
        (Kind::D2, [256, 256, 1]),
        (Kind::D2Array, [256, 128, 3]),
        (Kind::D3, [64, 64, 32]),
        (Kind::Cube, [128, 128, 6]),
    ] {
        let shape = Shape::new(kind, size, None);
        images.case(kind.name(), move |vk| {
            alias_images(vk, shape, R32_UINT, R32_UINT)
        });
    }
    aliasing.group("images_compatible_format").case("2d", |vk| {
        alias_images(
            vk,
            Shape::new(Kind::D2, [256, 256, 1], None),
            R32_UINT,
            RGBA8_UINT,
        )
    });
    let mut offsets = g.group("memory_offset");
    for kind in KINDS {
        let shape = shape_for(kind);
        let mut k = offsets.group(kind.name());
        k.case("binding", move |vk| offsets_opaque(vk, shape));
        k.case("residency", move |vk| offsets_blocks(vk, shape));
    }
}

const FORMAT: Format = R32_UINT;

/// Sizes with whole and partial R32 blocks (128x128x1, 3D 32x32x16) and
/// a mip tail.
fn shape_for(kind: Kind) -> Shape {
    let size = match kind {
        Kind::D2 => [300, 200, 1],
        Kind::D2Array => [300, 200, 3],
        Kind::D3 => [80, 48, 24],
        Kind::Cube => [200, 200, 6],
    };
    Shape::new(kind, size, None)
}

fn require_bound(vk: &Vk, shape: &Shape) -> CaseResult {
    vk.require_sparse_binding()?;
    formats::require_format(
        vk,
        &FORMAT,
        shape,
        vk::ImageCreateFlags::SPARSE_BINDING,
        vk::SampleCountFlags::TYPE_1,
    )?;
    Ok(())
}

/// Opaque: bind to A, write; bind to B, write; bind back to A: A's data.
fn rebind_opaque(vk: &Vk, shape: Shape) -> CaseResult {
    require_bound(vk, &shape)?;
    let gpu = vk.device()?;
    let (image, reqs) = bound_image(&gpu, &FORMAT, &shape, vk::ImageCreateFlags::empty())?;
    let size = reqs.size.next_multiple_of(reqs.alignment);
    let (a, b) = (
        formats::memory(&gpu, &reqs, size)?,
        formats::memory(&gpu, &reqs, size)?,
    );
    let img = TestImage::new(image, &FORMAT, &shape);
    let all = img.packing.whole();
    let (da, db) = (img.pattern(21), img.pattern(22));
    formats::bind_image(&gpu, gpu.universal, image, &[], &opaque_halves(&reqs, a, 0))?;
    img.write(&gpu, &da, &all)?;
    formats::bind_image(&gpu, gpu.universal, image, &[], &opaque_halves(&reqs, b, 0))?;
    img.write(&gpu, &db, &all)?;
    let got = img.read(&gpu, &all)?;
    img.packing.compare(
        &got,
        &db,
        &all,
        None,
        "after rebinding to memory B and writing",
    )?;
    formats::bind_image(&gpu, gpu.universal, image, &[], &opaque_halves(&reqs, a, 0))?;
    let got = img.read(&gpu, &all)?;
    img.packing
        .compare(&got, &da, &all, None, "after binding back to memory A")
}

fn block_regions(blocks: &[Block]) -> Vec<Region> {
    blocks.iter().map(|b| b.region).collect()
}

/// Blocks and tails bound to A, written; the blocks rebound to B, written;
/// the blocks bound back to A: they show A's first data, while the tails
/// (never moved) show the second write.
fn rebind_blocks(vk: &Vk, shape: Shape) -> CaseResult {
    let pd = sparse::require_residency(vk, &FORMAT, &shape, vk::ImageCreateFlags::empty())?;
    let gpu = vk.device()?;
    let (image, res) =
        sparse::create_resident(&gpu, &FORMAT, &shape, vk::ImageCreateFlags::empty(), &pd)?;
    let blocks = res.blocks();
    require!(
        !blocks.is_empty(),
        "{} has no level outside the mip tail",
        shape.describe()
    );
    let in_a = sparse::bind_in_one_allocation(&gpu, image, &res, &blocks, &res.all_tails())?;
    let img = TestImage::new(image, &FORMAT, &shape);
    let all = img.packing.whole();
    let (da, db) = (img.pattern(31), img.pattern(32));
    img.write(&gpu, &da, &all)?;
    sparse::bind_in_one_allocation(&gpu, image, &res, &blocks, &[])?;
    img.write(&gpu, &db, &all)?;
    let got = img.read(&gpu, &all)?;
    let g = Some(res.granularity());
    let regions = block_regions(&blocks);
    img.packing.compare(
        &got,
        &db,
        &regions,
        g,
        "block after rebinding to memory B and writing",
    )?;
    let back = sparse::Placed {
        tails: Vec::new(),
        ..in_a
    };
    back.bind(&gpu, image)?;
    let got = img.read(&gpu, &all)?;
    img.packing.compare(
        &got,
        &da,
        &regions,
        g,
        "block after binding back to memory A",
    )?;
    img.packing.compare(
        &got,
        &db,
        &res.tail_regions(None),
        None,
        "mip tail (bound to A throughout)",
    )
}

/// Every other block unbound (memory = VK_NULL_HANDLE), the whole image
/// overwritten, the blocks bound again to the same memory: they show the
/// data from before (the overwrite went elsewhere and memory kept its
/// contents), while the blocks that stayed bound show the overwrite.
fn unbind_rebind(vk: &Vk, shape: Shape) -> CaseResult {
    let pd = sparse::require_residency(vk, &FORMAT, &shape, vk::ImageCreateFlags::empty())?;
    let gpu = vk.device()?;
    let (image, res) =
        sparse::create_resident(&gpu, &FORMAT, &shape, vk::ImageCreateFlags::empty(), &pd)?;
    let blocks = res.blocks();
    require!(
        blocks.len() >= 2,
        "{} has fewer than two sparse blocks",
        shape.describe()
    );
    let placed = sparse::bind_in_one_allocation(&gpu, image, &res, &blocks, &res.all_tails())?;
    let img = TestImage::new(image, &FORMAT, &shape);
    let all = img.packing.whole();
    let data = img.pattern(41);
    img.write(&gpu, &data, &all)?;
    let moved: Vec<_> = placed.blocks.iter().step_by(2).copied().collect();
    let unbind: Vec<_> = moved
        .iter()
        .map(|b| vk::SparseImageMemoryBind {
            memory: vk::DeviceMemory::null(),
            memory_offset: 0,
            ..*b
        })
        .collect();
    formats::bind_image(&gpu, formats::bind_queue(&gpu), image, &unbind, &[])?;
    let other: Vec<u8> = data.iter().map(|b| !b).collect();
    img.write(&gpu, &other, &all)?;
    formats::bind_image(&gpu, formats::bind_queue(&gpu), image, &moved, &[])?;
    let got = img.read(&gpu, &all)?;
    let g = Some(res.granularity());
    let (rebound, stayed): (Vec<_>, Vec<_>) =
        blocks.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let regions =
        |v: Vec<(usize, &Block)>| v.into_iter().map(|(_, b)| b.region).collect::<Vec<_>>();
    img.packing.compare(
        &got,
        &data,
        &regions(rebound),
        g,
        "block unbound during an overwrite and bound again (memory must keep its data)",
    )?;
    img.packing.compare(
        &got,
        &other,
        &regions(stayed),
        g,
        "block that stayed bound during the overwrite",
    )?;
    img.packing.compare(
        &got,
        &other,
        &res.tail_regions(None),
        None,
        "mip tail (stayed bound)",
    )
}

fn require_aliased(vk: &Vk) -> CaseResult {
    vk.require_sparse_binding()?;
    require!(
        vk.features.sparse_residency_aliased == vk::TRUE,
        "sparseResidencyAliased is false"
    );
    Ok(())
}

fn aliased() -> vk::ImageCreateFlags {
    vk::ImageCreateFlags::SPARSE_ALIASED
}

/// The first half of the image's blocks and the second half share memory,
/// the second half in reverse order: what one half writes, the other reads
/// texel for texel (at the same place inside the block). This takes a
/// block's texel layout to be the same wherever the block sits in a level
/// or layer (true of the standard shapes on every known layout; the spec's
/// data consistency for one block shape implies it but does not spell it
/// out).
fn alias_blocks(vk: &Vk, shape: Shape) -> CaseResult {
    require_aliased(vk)?;
    let pd = sparse::require_residency(vk, &FORMAT, &shape, aliased())?;
    let gpu = vk.device()?;
    let (image, res) = sparse::create_resident(&gpu, &FORMAT, &shape, aliased(), &pd)?;
    let blocks = res.blocks();
    let half = blocks.len() / 2;
    require!(
        half > 0,
        "{} has fewer than two sparse blocks",
        shape.describe()
    );
    // Only whole blocks alias texel for texel.
    let g = res.granularity();
    require!(
        blocks[..2 * half].iter().all(|b| b.region.extent == g),
        "{} has partial blocks at its edges",
        shape.describe()
    );
    let (first, second) = (&blocks[..half], &blocks[half..2 * half]);
    let align = res.reqs.alignment;
    let tails = res.all_tails();
    let memory = formats::memory(&gpu, &res.reqs, half as u64 * align)?;
    let mut binds: Vec<_> = first
        .iter()
        .enumerate()
        .map(|(i, b)| b.bind(memory, i as u64 * align))
        .collect();
    binds.extend(
        second
            .iter()
            .enumerate()
            .map(|(i, b)| b.bind(memory, (half - 1 - i) as u64 * align)),
    );
    formats::bind_image(&gpu, formats::bind_queue(&gpu), image, &binds, &[])?;
    if !tails.is_empty() {
        sparse::bind_in_one_allocation(&gpu, image, &res, &[], &tails)?;
    }
    let img = TestImage::new(image, &FORMAT, &shape);
    let partner = |i: usize| half - 1 - i;
    for (pass, (writer, reader)) in [(first, second), (second, first)].into_iter().enumerate() {
        let data = img.pattern(51 + pass as u64);
        img.write(&gpu, &data, &block_regions(writer))?;
        let got = img.read(&gpu, &block_regions(reader))?;
        let mut want = vec![0; img.packing.size];
        for (i, r) in reader.iter().enumerate() {
            img.packing
                .move_region(&data, &mut want, &writer[partner(i)].region, &r.region);
        }
        let what = if pass == 0 {
            "second-half block reading what its first-half alias wrote"
        } else {
            "first-half block reading what its second-half alias wrote"
        };
        img.packing
            .compare(&got, &want, &block_regions(reader), Some(g), what)?;
    }
    Ok(())
}

/// Two images bound block for block to the same memory (tails to memory of
/// their own: mip tails cannot alias consistently): what one writes the
/// other reads. `fb` may be a different format of the same texel size.
fn alias_images(vk: &Vk, shape: Shape, fa: Format, fb: Format) -> CaseResult {
    require_aliased(vk)?;
    let pa = sparse::require_residency(vk, &fa, &shape, aliased())?;
    let pb = sparse::require_residency(vk, &fb, &shape, aliased())?;
    require!(
        pa.image_granularity == pb.image_granularity,
        "{} and {} have different sparse block shapes, so they cannot alias consistently",
        fa.vk_name(),
        fb.vk_name()
    );
    let gpu = vk.device()?;
    let (ia, ra) = sparse::create_resident(&gpu, &fa, &shape, aliased(), &pa)?;
    let (ib, rb) = sparse::create_resident(&gpu, &fb, &shape, aliased(), &pb)?;
    ensure!(
        ra.reqs.alignment == rb.reqs.alignment,
        "two images of the same shape and texel size report sparse block sizes {:#x} and {:#x}",
        ra.reqs.alignment,
        rb.reqs.alignment
    );
    ensure!(
        ra.first_lod() == rb.first_lod(),
        "two images of the same shape and block shape report imageMipTailFirstLod {} and {}",
        ra.first_lod(),
        rb.first_lod()
    );
    let blocks = ra.blocks();
    require!(
        !blocks.is_empty(),
        "{} has no level outside the mip tail",
        shape.describe()
    );
    let placed = sparse::bind_in_one_allocation(&gpu, ia, &ra, &blocks, &[])?;
    let same: Vec<_> = placed.blocks.clone();
    formats::bind_image(&gpu, formats::bind_queue(&gpu), ib, &same, &[])?;
    for (image, res) in [(ia, &ra), (ib, &rb)] {
        let tails = res.all_tails();
        if !tails.is_empty() {
            sparse::bind_in_one_allocation(&gpu, image, res, &[], &tails)?;
        }
    }
    let (a, b) = (
        TestImage::new(ia, &fa, &shape),
        TestImage::new(ib, &fb, &shape),
    );
    let regions = block_regions(&blocks);
    let g = Some(ra.granularity());
    // B leaves UNDEFINED before A writes: that transition may discard.
    b.prepare(&gpu, vk::ImageLayout::TRANSFER_SRC_OPTIMAL)?;
    let da = a.pattern(61);
    a.write(&gpu, &da, &a.packing.whole())?;
    let got = b.read(&gpu, &b.packing.whole())?;
    b.packing.compare(
        &got,
        &da,
        &regions,
        g,
        "second image reading what the first wrote",
    )?;
    let db = b.pattern(62);
    b.write(&gpu, &db, &b.packing.whole())?;
    let got = a.read(&gpu, &a.packing.whole())?;
    a.packing.compare(
        &got,
        &db,
        &regions,
        g,
        "first image reading what the second wrote",
    )
}

/// The whole image bound in sparse-block pieces, each its own gpu-allocator
/// sub-allocation at a non-zero offset of a shared memory object.
fn offsets_opaque(vk: &Vk, shape: Shape) -> CaseResult {
    require_bound(vk, &shape)?;
    let gpu = vk.device()?;
    let (image, reqs) = bound_image(&gpu, &FORMAT, &shape, vk::ImageCreateFlags::empty())?;
    let align = reqs.alignment;
    let chunks = reqs.size.div_ceil(align) as usize;
    let mut pieces = gpu.sub_allocate(&reqs, align, chunks + 1)?;
    pieces.remove(0);
    ensure!(
        pieces.iter().any(|p| p.1 != 0),
        "gpu-allocator placed every piece at offset 0; the case cannot test offsets"
    );
    let binds: Vec<_> = pieces
        .iter()
        .enumerate()
        .map(|(i, &(memory, memory_offset))| {
            let resource_offset = i as u64 * align;
            vk::SparseMemoryBind {
                resource_offset,
                size: align.min(reqs.size - resource_offset),
                memory,
                memory_offset,
                flags: vk::SparseMemoryBindFlags::empty(),
            }
        })
        .collect();
    formats::bind_image(&gpu, gpu.universal, image, &[], &binds)?;
    let img = write_read_all(&gpu, image, &shape, None, 71)?;
    let other = formats::memory(&gpu, &reqs, reqs.size.next_multiple_of(align))?;
    img.0.round_trip(
        &gpu,
        || {
            formats::bind_image(
                &gpu,
                gpu.universal,
                image,
                &[],
                &opaque_halves(&reqs, other, 0),
            )
        },
        || formats::bind_image(&gpu, gpu.universal, image, &[], &binds),
        &img.1,
        &img.0.packing.whole(),
        None,
    )
}

/// Every block and tail bound to its own gpu-allocator sub-allocation at a
/// non-zero offset.
fn offsets_blocks(vk: &Vk, shape: Shape) -> CaseResult {
    let pd = sparse::require_residency(vk, &FORMAT, &shape, vk::ImageCreateFlags::empty())?;
    let gpu = vk.device()?;
    let (image, res) =
        sparse::create_resident(&gpu, &FORMAT, &shape, vk::ImageCreateFlags::empty(), &pd)?;
    let blocks = res.blocks();
    let tails = res.all_tails();
    let mut pieces = gpu.sub_allocate(&res.reqs, res.reqs.alignment, blocks.len() + 1)?;
    pieces.remove(0);
    let block_binds: Vec<_> = blocks
        .iter()
        .zip(&pieces)
        .map(|(b, &(memory, offset))| b.bind(memory, offset))
        .collect();
    let mut tail_binds = Vec::new();
    for t in &tails {
        let p = gpu.sub_allocate(&res.reqs, t.size, 1)?[0];
        tail_binds.push(t.bind(p.0, p.1));
    }
    ensure!(
        block_binds.iter().any(|b| b.memory_offset != 0)
            || tail_binds.iter().any(|b| b.memory_offset != 0),
        "gpu-allocator placed every piece at offset 0; the case cannot test offsets"
    );
    let placed = sparse::Placed {
        blocks: block_binds,
        tails: tail_binds,
    };
    placed.bind(&gpu, image)?;
    let g = Some(res.granularity());
    let (img, data) = write_read_all(&gpu, image, &shape, g, 72)?;
    placed.round_trip(&gpu, &img, &res.reqs, &data, &img.packing.whole(), g)
}

/// Writes a pattern to every level and layer, reads it back and compares;
/// returns the image and the pattern.
fn write_read_all(
    gpu: &Gpu,
    image: vk::Image,
    shape: &Shape,
    g: Option<[u32; 3]>,
    seed_: u64,
) -> Result<(TestImage, Vec<u8>), Stop> {
    let img = TestImage::new(image, &FORMAT, shape);
    let data = img.pattern(seed(&FORMAT, shape) ^ seed_);
    let all = img.packing.whole();
    img.write(gpu, &data, &all)?;
    let got = img.read(gpu, &all)?;
    img.packing.compare(&got, &data, &all, g, "read back")?;
    Ok((img, data))
}
