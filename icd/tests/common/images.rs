//! Image helpers for the loader tests: copy regions, block binds and
//! `vkQueueBindSparse` of image blocks and opaque ranges.

use ash::vk;

use super::Ctx;

pub fn layers(level: u32, base: u32, count: u32) -> vk::ImageSubresourceLayers {
    vk::ImageSubresourceLayers {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        mip_level: level,
        base_array_layer: base,
        layer_count: count,
    }
}

pub fn region(
    buffer_offset: u64,
    level: u32,
    offset: [i32; 3],
    extent: [u32; 3],
) -> vk::BufferImageCopy {
    vk::BufferImageCopy {
        buffer_offset,
        buffer_row_length: 0,
        buffer_image_height: 0,
        image_subresource: layers(level, 0, 1),
        image_offset: vk::Offset3D {
            x: offset[0],
            y: offset[1],
            z: offset[2],
        },
        image_extent: vk::Extent3D {
            width: extent[0],
            height: extent[1],
            depth: extent[2],
        },
    }
}

pub fn image_bind(
    level: u32,
    offset: [i32; 3],
    extent: [u32; 3],
    memory: vk::DeviceMemory,
    memory_offset: u64,
) -> vk::SparseImageMemoryBind {
    vk::SparseImageMemoryBind {
        subresource: vk::ImageSubresource {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            mip_level: level,
            array_layer: 0,
        },
        offset: vk::Offset3D {
            x: offset[0],
            y: offset[1],
            z: offset[2],
        },
        extent: vk::Extent3D {
            width: extent[0],
            height: extent[1],
            depth: extent[2],
        },
        memory,
        memory_offset,
        flags: vk::SparseMemoryBindFlags::empty(),
    }
}

pub fn bind_image(
    c: &Ctx,
    img: vk::Image,
    blocks: &[vk::SparseImageMemoryBind],
    opaque: &[vk::SparseMemoryBind],
) {
    let ib = [vk::SparseImageMemoryBindInfo::default()
        .image(img)
        .binds(blocks)];
    let ob = [vk::SparseImageOpaqueMemoryBindInfo::default()
        .image(img)
        .binds(opaque)];
    let mut info = vk::BindSparseInfo::default();
    if !blocks.is_empty() {
        info = info.image_binds(&ib);
    }
    if !opaque.is_empty() {
        info = info.image_opaque_binds(&ob);
    }
    let fence = c.fence();
    // SAFETY: valid bind; waited on.
    unsafe {
        c.device
            .queue_bind_sparse(c.sparse, &[info], fence)
            .expect("vkQueueBindSparse");
        c.device
            .wait_for_fences(&[fence], true, 10_000_000_000)
            .unwrap();
        c.device.destroy_fence(fence, None);
    }
}
