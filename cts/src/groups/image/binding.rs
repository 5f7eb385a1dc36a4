//! Fully resident sparse images (SPARSE_BINDING only): the whole image is
//! bound opaquely over its memory requirements size with
//! `VkSparseImageOpaqueMemoryBindInfo`, then every level and layer is
//! written and read back through transfer commands.

use ash::vk;

use super::formats::{self, Format, Kind, Shape, DATA_FORMATS, KINDS};
use super::transfer::TestImage;
use crate::case::{CaseResult, Group, Stop};
use crate::ensure;
use crate::gpu::Vk;

/// Two sizes per kind: one a whole number of standard sparse blocks for
/// most formats, one not a multiple of any block shape.
pub fn sizes(kind: Kind) -> [[u32; 3]; 2] {
    match kind {
        Kind::D2 => [[512, 256, 1], [503, 137, 1]],
        Kind::D2Array => [[256, 128, 4], [137, 97, 3]],
        Kind::D3 => [[128, 64, 32], [59, 37, 11]],
        Kind::Cube => [[256, 256, 6], [137, 137, 6]],
    }
}

pub fn add(g: &mut Group) {
    let mut binding = g.group("sparse_binding");
    for kind in KINDS {
        let mut k = binding.group(kind.name());
        for format in DATA_FORMATS {
            let mut f = k.group(format.name);
            for size in sizes(kind) {
                let shape = Shape::new(kind, size, None);
                f.case(&shape.size_name(), move |vk| {
                    full_binding(vk, format, shape)
                });
            }
        }
    }
}

/// A seed that differs per format and shape.
pub fn seed(format: &Format, shape: &Shape) -> u64 {
    (format.vk.as_raw() as u64) << 32
        ^ (shape.extent[0] as u64) << 16
        ^ (shape.extent[1] as u64) << 4
        ^ shape.layers as u64
}

/// Opaque binds covering [0, size) of a resource with requirements `reqs`
/// from `memory` at `base` (which holds the size rounded up to the
/// alignment): the two halves are swapped in memory, so an implementation
/// that ignored resourceOffset or memoryOffset shows wrong data.
pub fn opaque_halves(
    reqs: &vk::MemoryRequirements,
    memory: vk::DeviceMemory,
    base: u64,
) -> Vec<vk::SparseMemoryBind> {
    let align = reqs.alignment;
    let total = reqs.size.next_multiple_of(align);
    let bind = |resource_offset, size, memory_offset| vk::SparseMemoryBind {
        resource_offset,
        size,
        memory,
        memory_offset,
        flags: vk::SparseMemoryBindFlags::empty(),
    };
    if total <= align {
        return vec![bind(0, reqs.size, base)];
    }
    let half = (reqs.size / 2).next_multiple_of(align).min(total - align);
    vec![
        bind(0, half, base + total - half),
        bind(half, reqs.size - half, base),
    ]
}

/// A SPARSE_BINDING image and its memory requirements, checked: no sparse
/// image memory requirements without SPARSE_RESIDENCY.
pub fn bound_image(
    gpu: &crate::gpu::Gpu,
    format: &Format,
    shape: &Shape,
    extra: vk::ImageCreateFlags,
) -> Result<(vk::Image, vk::MemoryRequirements), Stop> {
    let image = formats::create_image(
        gpu,
        format,
        shape,
        vk::ImageCreateFlags::SPARSE_BINDING | extra,
        vk::SampleCountFlags::TYPE_1,
    )?;
    let reqs = formats::requirements(gpu, image)?;
    let sparse = gpu.image_sparse_requirements(image);
    ensure!(
        sparse.is_empty(),
        "vkGetImageSparseMemoryRequirements returned {} entries for an image without SPARSE_RESIDENCY (must return 0)",
        sparse.len()
    );
    Ok((image, reqs))
}

/// The whole image bound opaquely (two swapped halves), every level and
/// layer written and read back; then the round trip through other memory
/// ([`TestImage::round_trip`]).
fn full_binding(vk: &Vk, format: Format, shape: Shape) -> CaseResult {
    vk.require_sparse_binding()?;
    formats::require_format(
        vk,
        &format,
        &shape,
        vk::ImageCreateFlags::SPARSE_BINDING,
        vk::SampleCountFlags::TYPE_1,
    )?;
    let gpu = vk.device()?;
    let (image, reqs) = bound_image(&gpu, &format, &shape, vk::ImageCreateFlags::empty())?;
    let memory = formats::memory(&gpu, &reqs, reqs.size.next_multiple_of(reqs.alignment))?;
    formats::bind_image(
        &gpu,
        gpu.universal,
        image,
        &[],
        &opaque_halves(&reqs, memory, 0),
    )?;
    let img = TestImage::new(image, &format, &shape);
    let data = img.pattern(seed(&format, &shape));
    let all = img.packing.whole();
    img.write(&gpu, &data, &all)?;
    let got = img.read(&gpu, &all)?;
    img.packing.compare(&got, &data, &all, None, "read back")?;
    let other = formats::memory(&gpu, &reqs, reqs.size.next_multiple_of(reqs.alignment))?;
    let bind =
        |m| formats::bind_image(&gpu, gpu.universal, image, &[], &opaque_halves(&reqs, m, 0));
    img.round_trip(&gpu, || bind(other), || bind(memory), &data, &all, None)
}
