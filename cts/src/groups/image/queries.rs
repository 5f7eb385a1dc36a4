//! The query side: `vkGetPhysicalDeviceSparseImageFormatProperties` agrees
//! with `vkGetPhysicalDeviceImageFormatProperties` (no entries exactly when
//! SPARSE_RESIDENCY is refused for the format and type) and with its Vulkan
//! 1.1 form `...2`; `vkGetImageSparseMemoryRequirements2` and
//! `vkGetImageMemoryRequirements2` agree with their 1.0 forms.

use ash::vk;

use super::binding::sizes;
use super::formats::{self, Format, Kind, Shape, DATA_FORMATS, KINDS, SHAPE_FORMATS};
use super::sparse;
use crate::case::{CaseResult, Group};
use crate::gpu::Vk;
use crate::{ensure, require};

pub fn add(g: &mut Group) {
    let mut query = g.group("query");
    let mut props = query.group("sparse_image_format_properties2");
    for kind in [Kind::D2, Kind::D3] {
        let mut k = props.group(kind.name());
        for format in SHAPE_FORMATS {
            k.case(format.name, move |vk| format_properties(vk, format, kind));
        }
    }
    let mut reqs = query.group("sparse_memory_requirements2");
    for kind in KINDS {
        let mut k = reqs.group(kind.name());
        for format in DATA_FORMATS {
            let shape = Shape::new(kind, sizes(kind)[1], None);
            k.case(format.name, move |vk| {
                memory_requirements(vk, format, shape)
            });
        }
    }
}

type FormatKey = (
    vk::ImageAspectFlags,
    vk::Extent3D,
    vk::SparseImageFormatFlags,
);

fn format_key(p: &vk::SparseImageFormatProperties) -> FormatKey {
    (p.aspect_mask, p.image_granularity, p.flags)
}

type ReqKey = (FormatKey, u32, u64, u64, Option<u64>);

fn req_key(r: &vk::SparseImageMemoryRequirements) -> ReqKey {
    let single = r
        .format_properties
        .flags
        .contains(vk::SparseImageFormatFlags::SINGLE_MIPTAIL);
    (
        format_key(&r.format_properties),
        r.image_mip_tail_first_lod,
        r.image_mip_tail_size,
        r.image_mip_tail_offset,
        // The stride is undefined with a single mip tail.
        (!single).then_some(r.image_mip_tail_stride),
    )
}

fn format_properties(vk: &Vk, format: Format, kind: Kind) -> CaseResult {
    kind.require_residency(vk)?;
    formats::require_vulkan_1_1(vk)?;
    // The sparse query's valid usage needs the format (and one sample)
    // supported for this type, tiling and usage.
    let shape = Shape::new(kind, [1, 1, 1], Some(1));
    formats::require_format(
        vk,
        &format,
        &shape,
        vk::ImageCreateFlags::empty(),
        vk::SampleCountFlags::TYPE_1,
    )?;
    let flags = sparse::residency_flags();
    // SAFETY: valid physical device; the arguments are plain values.
    let residency = match unsafe {
        vk.instance.get_physical_device_image_format_properties(
            vk.pd,
            format.vk,
            kind.ty(),
            vk::ImageTiling::OPTIMAL,
            formats::transfer_usage(),
            flags,
        )
    } {
        Ok(_) => true,
        Err(vk::Result::ERROR_FORMAT_NOT_SUPPORTED) => false,
        Err(e) => {
            crate::fail!("vkGetPhysicalDeviceImageFormatProperties with {flags:?} returned {e:?}")
        }
    };
    let what = format!("{} as a {}", format.vk_name(), kind.describe());
    let v1 = vk.sparse_image_format_properties(
        format.vk,
        kind.ty(),
        vk::SampleCountFlags::TYPE_1,
        formats::transfer_usage(),
    );
    if residency {
        ensure!(
            v1.iter().any(|p| p.aspect_mask.contains(vk::ImageAspectFlags::COLOR)),
            "{what}: vkGetPhysicalDeviceImageFormatProperties accepts SPARSE_RESIDENCY but vkGetPhysicalDeviceSparseImageFormatProperties returns no COLOR entry ({} entries)",
            v1.len()
        );
    } else {
        ensure!(
            v1.is_empty(),
            "{what}: vkGetPhysicalDeviceImageFormatProperties refuses SPARSE_RESIDENCY but vkGetPhysicalDeviceSparseImageFormatProperties returns {} entries (must be 0)",
            v1.len()
        );
    }
    let info = vk::PhysicalDeviceSparseImageFormatInfo2::default()
        .format(format.vk)
        .ty(kind.ty())
        .samples(vk::SampleCountFlags::TYPE_1)
        .usage(formats::transfer_usage())
        .tiling(vk::ImageTiling::OPTIMAL);
    // SAFETY: valid physical device (Vulkan 1.1, checked) and format info.
    let n = unsafe {
        vk.instance
            .get_physical_device_sparse_image_format_properties2_len(vk.pd, &info)
    };
    ensure!(
        n == v1.len(),
        "{what}: vkGetPhysicalDeviceSparseImageFormatProperties2 returns {n} entries, the 1.0 query {}",
        v1.len()
    );
    let mut v2 = vec![vk::SparseImageFormatProperties2::default(); n];
    // SAFETY: as above; `v2` has room for the count just returned.
    unsafe {
        vk.instance
            .get_physical_device_sparse_image_format_properties2(vk.pd, &info, &mut v2)
    };
    for (i, (a, b)) in v1.iter().zip(&v2).enumerate() {
        ensure!(
            format_key(a) == format_key(&b.properties),
            "{what}: entry {i}: vkGetPhysicalDeviceSparseImageFormatProperties gives {a:?}, the 1.1 query {:?}",
            b.properties
        );
    }
    require!(
        residency,
        "{what} does not support SPARSE_RESIDENCY (the queries agree on that)"
    );
    Ok(())
}

fn memory_requirements(vk: &Vk, format: Format, shape: Shape) -> CaseResult {
    formats::require_vulkan_1_1(vk)?;
    let pd = sparse::require_residency(vk, &format, &shape, vk::ImageCreateFlags::empty())?;
    let gpu = vk.device()?;
    let (image, res) =
        sparse::create_resident(&gpu, &format, &shape, vk::ImageCreateFlags::empty(), &pd)?;
    let what = format!(
        "{} {} ({})",
        format.vk_name(),
        shape.kind.describe(),
        shape.describe()
    );
    let v1 = gpu.image_sparse_requirements(image);
    let info = vk::ImageSparseMemoryRequirementsInfo2::default().image(image);
    // SAFETY: an image of this Vulkan 1.1 device.
    let n = unsafe { gpu.device.get_image_sparse_memory_requirements2_len(&info) };
    ensure!(
        n == v1.len(),
        "{what}: vkGetImageSparseMemoryRequirements2 returns {n} entries, the 1.0 query {}",
        v1.len()
    );
    let mut v2 = vec![vk::SparseImageMemoryRequirements2::default(); n];
    // SAFETY: as above; `v2` has room for the count just returned.
    unsafe {
        gpu.device
            .get_image_sparse_memory_requirements2(&info, &mut v2)
    };
    for (i, (a, b)) in v1.iter().zip(&v2).enumerate() {
        ensure!(
            req_key(a) == req_key(&b.memory_requirements),
            "{what}: entry {i}: vkGetImageSparseMemoryRequirements gives {a:?}, vkGetImageSparseMemoryRequirements2 {:?}",
            b.memory_requirements
        );
    }
    let info = vk::ImageMemoryRequirementsInfo2::default().image(image);
    let mut r2 = vk::MemoryRequirements2::default();
    // SAFETY: an image of this Vulkan 1.1 device; no pNext chain.
    unsafe { gpu.device.get_image_memory_requirements2(&info, &mut r2) };
    let (a, b) = (res.reqs, r2.memory_requirements);
    ensure!(
        (a.size, a.alignment, a.memory_type_bits) == (b.size, b.alignment, b.memory_type_bits),
        "{what}: vkGetImageMemoryRequirements gives {a:?}, vkGetImageMemoryRequirements2 {b:?}"
    );
    Ok(())
}
