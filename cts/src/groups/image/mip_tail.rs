//! Mip tails and the aligned-mip-size rule.
//!
//! `mip_tail.per_layer` / `mip_tail.single`: the driver reports one form per
//! image (SINGLE_MIPTAIL clear or set); the case for the other form ends
//! NotSupported saying which form the driver reports. Each case checks the
//! tail fields (done for every partially resident image by
//! [`sparse::residency`]: imageMipTailFirstLod exactly where the spec puts
//! it, size a multiple of the sparse block size, offsets and stride inside
//! the requirements size), binds only the tail(s), writes every level and
//! reads the tail levels back, then moves the tails to other memory,
//! overwrites, and moves them back (the data must come back). With per-layer tails, one layer's tail is
//! then moved to other memory and rewritten: the other layers' tails must
//! keep their data.
//!
//! `aligned_mip_size`: images of several sizes, non-powers of two among
//! them, whose first levels are or are not whole numbers of blocks; the
//! first LOD must follow ALIGNED_MIP_SIZE (which needs
//! residencyAlignedMipSize), the last level before the tail must be block
//! bindable, and the tail must hold the rest.

use ash::vk;

use super::binding::seed;
use super::formats::{
    Format, Kind, Shape, BC1_RGBA_UNORM, KINDS, R32_UINT, RG32_UINT, RGBA32_UINT,
};
use super::sparse::{self, Tail};
use super::transfer::TestImage;
use crate::case::{CaseResult, Group};
use crate::gpu::Vk;
use crate::{ensure, require};

fn tail_sizes(kind: Kind) -> [u32; 3] {
    match kind {
        Kind::D2 => [300, 200, 1],
        Kind::D2Array => [300, 200, 4],
        Kind::D3 => [80, 48, 24],
        Kind::Cube => [200, 200, 6],
    }
}

fn aligned_sizes(kind: Kind) -> Vec<[u32; 3]> {
    match kind {
        Kind::D2 => vec![
            [512, 512, 1],
            [640, 384, 1],
            [384, 640, 1],
            [300, 200, 1],
            [129, 1000, 1],
        ],
        Kind::D2Array => vec![[384, 256, 3], [200, 120, 2]],
        Kind::D3 => vec![[128, 96, 64], [96, 64, 48], [100, 60, 20]],
        Kind::Cube => vec![[384, 384, 6], [100, 100, 6]],
    }
}

pub fn add(g: &mut Group) {
    let mut tails = g.group("mip_tail");
    for single in [false, true] {
        let mut form = tails.group(if single { "single" } else { "per_layer" });
        for kind in KINDS {
            let mut k = form.group(kind.name());
            for format in [R32_UINT, RGBA32_UINT, BC1_RGBA_UNORM] {
                let shape = Shape::new(kind, tail_sizes(kind), None);
                k.group(format.name).case(&shape.size_name(), move |vk| {
                    mip_tail(vk, format, shape, single)
                });
            }
        }
    }
    let mut aligned = g.group("aligned_mip_size");
    for kind in KINDS {
        let mut k = aligned.group(kind.name());
        for format in [R32_UINT, RG32_UINT, RGBA32_UINT, BC1_RGBA_UNORM] {
            let mut f = k.group(format.name);
            for size in aligned_sizes(kind) {
                let shape = Shape::new(kind, size, None);
                f.case(&shape.size_name(), move |vk| {
                    aligned_mip_size(vk, format, shape)
                });
            }
        }
    }
}

fn form(single: bool) -> &'static str {
    if single {
        "a single mip tail for all layers (SINGLE_MIPTAIL set)"
    } else {
        "per-layer mip tails (SINGLE_MIPTAIL clear)"
    }
}

fn mip_tail(vk: &Vk, format: Format, shape: Shape, single: bool) -> CaseResult {
    let pd = sparse::require_residency(vk, &format, &shape, vk::ImageCreateFlags::empty())?;
    let gpu = vk.device()?;
    let (image, res) =
        sparse::create_resident(&gpu, &format, &shape, vk::ImageCreateFlags::empty(), &pd)?;
    require!(
        res.single_tail() == single,
        "the driver reports {} for {} as a {}; the other form cannot be tested",
        form(res.single_tail()),
        format.vk_name(),
        shape.kind.describe()
    );
    let g = res.granularity();
    require!(
        res.has_tail(),
        "{} ({}) with granularity {}x{}x{} has no mip tail",
        format.vk_name(),
        shape.describe(),
        g[0],
        g[1],
        g[2]
    );
    let tails = res.all_tails();
    let expected = if single { 1 } else { shape.layers as usize };
    ensure!(
        res.color_tails().len() == expected,
        "internal: {} colour tail binds for {} layers",
        res.color_tails().len(),
        shape.layers
    );
    // Only the tails (and metadata): the levels before the tail stay unbound.
    let placed = sparse::bind_in_one_allocation(&gpu, image, &res, &[], &tails)?;
    let img = TestImage::new(image, &format, &shape);
    let data = img.pattern(seed(&format, &shape) ^ 0x7a11);
    let all = img.packing.whole();
    img.write(&gpu, &data, &all)?;
    let got = img.read(&gpu, &all)?;
    let tail_regions = res.tail_regions(None);
    img.packing.compare(
        &got,
        &data,
        &tail_regions,
        None,
        "mip tail (only the tails bound)",
    )?;
    placed.round_trip(&gpu, &img, &res.reqs, &data, &tail_regions, None)?;
    if single || shape.layers < 2 {
        return Ok(());
    }
    // Move layer 0's tail to new memory and rewrite only it: the other
    // layers' tails are separate and keep their data.
    let first: Vec<Tail> = res
        .color_tails()
        .into_iter()
        .filter(|t| t.layer == Some(0))
        .collect();
    sparse::bind_in_one_allocation(&gpu, image, &res, &[], &first)?;
    let fresh = img.pattern(seed(&format, &shape) ^ 0x7a12);
    let layer0 = res.tail_regions(Some(0));
    img.write(&gpu, &fresh, &layer0)?;
    let got = img.read(&gpu, &img.packing.levels_from(res.first_lod()))?;
    img.packing.compare(
        &got,
        &fresh,
        &layer0,
        None,
        "layer 0's mip tail after rebinding it to new memory",
    )?;
    let others: Vec<_> = (1..shape.layers)
        .flat_map(|a| res.tail_regions(Some(a)))
        .collect();
    img.packing.compare(
        &got,
        &data,
        &others,
        None,
        "another layer's mip tail after layer 0's was rebound",
    )
}

fn aligned_mip_size(vk: &Vk, format: Format, shape: Shape) -> CaseResult {
    let pd = sparse::require_residency(vk, &format, &shape, vk::ImageCreateFlags::empty())?;
    let aligned_property = vk.props.sparse_properties.residency_aligned_mip_size == vk::TRUE;
    ensure!(
        aligned_property || !pd.flags.contains(vk::SparseImageFormatFlags::ALIGNED_MIP_SIZE),
        "vkGetPhysicalDeviceSparseImageFormatProperties sets ALIGNED_MIP_SIZE for {} but residencyAlignedMipSize is false",
        format.vk_name()
    );
    let gpu = vk.device()?;
    // The first LOD and tail fields are checked here, against the levels.
    let (image, res) =
        sparse::create_resident(&gpu, &format, &shape, vk::ImageCreateFlags::empty(), &pd)?;
    // The last level before the tail is block-bindable: bind its blocks and
    // the tails, and check both hold data.
    let first = res.first_lod();
    let last_blocks: Vec<_> = res
        .blocks()
        .into_iter()
        .filter(|b| first > 0 && b.region.level == first - 1)
        .collect();
    let placed = sparse::bind_in_one_allocation(&gpu, image, &res, &last_blocks, &res.all_tails())?;
    let img = TestImage::new(image, &format, &shape);
    let data = img.pattern(seed(&format, &shape) ^ 0xa11);
    let all = img.packing.whole();
    img.write(&gpu, &data, &all)?;
    let got = img.read(&gpu, &all)?;
    let regions: Vec<_> = last_blocks.iter().map(|b| b.region).collect();
    img.packing.compare(
        &got,
        &data,
        &regions,
        Some(res.granularity()),
        "last level before the mip tail",
    )?;
    img.packing
        .compare(&got, &data, &res.tail_regions(None), None, "mip tail")?;
    let mut regions = regions;
    regions.extend(res.tail_regions(None));
    placed.round_trip(
        &gpu,
        &img,
        &res.reqs,
        &data,
        &regions,
        Some(res.granularity()),
    )
}
