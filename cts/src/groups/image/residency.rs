//! Partially resident images (SPARSE_BINDING | SPARSE_RESIDENCY): every
//! other sparse block bound with image block binds (offsets and extents in
//! texels, clipped at the level edges), the mip tail(s) and any metadata
//! bound opaquely, then every level and layer written through transfer
//! commands and read back. Bound blocks and tails must hold what was
//! written; unbound blocks must read zero only with
//! residencyNonResidentStrict. Then the bound blocks and tails are moved to
//! other memory, the image overwritten, and the binds moved back: the first
//! data must show again (proof that the binds reached memory).
//!
//! `sparse_residency` uses one level, `mipmap_sparse_residency` the full
//! mip chain.

use ash::vk;

use super::binding::{seed, sizes};
use super::formats::{Format, Shape, DATA_FORMATS, KINDS};
use super::sparse::{self, Block};
use super::transfer::{Region, TestImage};
use crate::case::{CaseResult, Group};
use crate::gpu::Vk;

pub fn add(g: &mut Group) {
    for (name, levels) in [
        ("sparse_residency", Some(1)),
        ("mipmap_sparse_residency", None),
    ] {
        let mut group = g.group(name);
        for kind in KINDS {
            let mut k = group.group(kind.name());
            for format in DATA_FORMATS {
                let mut f = k.group(format.name);
                for size in sizes(kind) {
                    let shape = Shape::new(kind, size, levels);
                    f.case(&shape.size_name(), move |vk| {
                        every_other_block(vk, format, shape)
                    });
                }
            }
        }
    }
}

/// Checkerboard over blocks, flipping per level and layer.
fn is_bound(b: &Block) -> bool {
    (b.index.iter().sum::<u32>() + b.region.level + b.region.layer) % 2 == 0
}

fn every_other_block(vk: &Vk, format: Format, shape: Shape) -> CaseResult {
    let pd = sparse::require_residency(vk, &format, &shape, vk::ImageCreateFlags::empty())?;
    let gpu = vk.device()?;
    let (image, res) =
        sparse::create_resident(&gpu, &format, &shape, vk::ImageCreateFlags::empty(), &pd)?;
    let (bound, unbound): (Vec<Block>, Vec<Block>) = res.blocks().into_iter().partition(is_bound);
    let placed = sparse::bind_in_one_allocation(&gpu, image, &res, &bound, &res.all_tails())?;

    let img = TestImage::new(image, &format, &shape);
    let data = img.pattern(seed(&format, &shape) ^ 0x5e);
    // Writes to unbound blocks are allowed and must not disturb bound ones.
    let all = img.packing.whole();
    img.write(&gpu, &data, &all)?;
    let got = img.read(&gpu, &all)?;
    let g = Some(res.granularity());
    let regions: Vec<Region> = bound.iter().map(|b| b.region).collect();
    img.packing
        .compare(&got, &data, &regions, g, "bound block")?;
    img.packing
        .compare(&got, &data, &res.tail_regions(None), None, "mip tail")?;
    if vk.props.sparse_properties.residency_non_resident_strict == vk::TRUE {
        let zeros = vec![0; img.packing.size];
        let regions: Vec<Region> = unbound.iter().map(|b| b.region).collect();
        img.packing.compare(
            &got,
            &zeros,
            &regions,
            g,
            "unbound block (residencyNonResidentStrict: must read 0)",
        )?;
    }
    let mut regions: Vec<Region> = bound.iter().map(|b| b.region).collect();
    regions.extend(res.tail_regions(None));
    placed.round_trip(&gpu, &img, &res.reqs, &data, &regions, g)
}
