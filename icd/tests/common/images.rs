//! Image helpers for the loader tests: transfer images, copy regions, block
//! binds, `vkQueueBindSparse` of image blocks and opaque ranges, and host
//! views of memory.

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

/// A transfer image (sparse: binding, residency and aliased).
pub fn image(
    c: &Ctx,
    ty: vk::ImageType,
    format: vk::Format,
    extent: [u32; 3],
    levels: u32,
    layers: u32,
    sparse: bool,
) -> vk::Image {
    let flags = if sparse {
        vk::ImageCreateFlags::SPARSE_BINDING
            | vk::ImageCreateFlags::SPARSE_RESIDENCY
            | vk::ImageCreateFlags::SPARSE_ALIASED
    } else {
        vk::ImageCreateFlags::empty()
    };
    let info = vk::ImageCreateInfo::default()
        .image_type(ty)
        .format(format)
        .extent(vk::Extent3D {
            width: extent[0],
            height: extent[1],
            depth: extent[2],
        })
        .mip_levels(levels)
        .array_layers(layers)
        .samples(vk::SampleCountFlags::TYPE_1)
        .tiling(vk::ImageTiling::OPTIMAL)
        .usage(vk::ImageUsageFlags::TRANSFER_SRC | vk::ImageUsageFlags::TRANSFER_DST)
        .flags(flags);
    // SAFETY: valid create info.
    unsafe { c.device.create_image(&info, None) }.expect("vkCreateImage")
}

/// Host view of `len` bytes of `mem`, mapped for the rest of the test.
pub fn mapped(c: &Ctx, mem: vk::DeviceMemory, len: u64) -> &'static [u8] {
    // SAFETY: mapping a memory object of at least len bytes; kept mapped.
    unsafe {
        let p = c
            .device
            .map_memory(mem, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
            .unwrap() as *const u8;
        std::slice::from_raw_parts(p, len as usize)
    }
}

/// Records UNDEFINED -> `layout` for level 0, layer 0 of a color image.
pub fn to_layout(c: &Ctx, cb: vk::CommandBuffer, image: vk::Image, layout: vk::ImageLayout) {
    to_layout_levels(c, cb, image, layout, 1);
}

/// Records UNDEFINED -> `layout` for the first `levels` levels of layer 0
/// of a color image, before transfer work.
pub fn to_layout_levels(
    c: &Ctx,
    cb: vk::CommandBuffer,
    image: vk::Image,
    layout: vk::ImageLayout,
    levels: u32,
) {
    let b = vk::ImageMemoryBarrier::default()
        .dst_access_mask(vk::AccessFlags::TRANSFER_READ | vk::AccessFlags::TRANSFER_WRITE)
        .old_layout(vk::ImageLayout::UNDEFINED)
        .new_layout(layout)
        .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
        .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
        .image(image)
        .subresource_range(vk::ImageSubresourceRange {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            base_mip_level: 0,
            level_count: levels,
            base_array_layer: 0,
            layer_count: 1,
        });
    // SAFETY: recording into a command buffer in the recording state.
    unsafe {
        c.device.cmd_pipeline_barrier(
            cb,
            vk::PipelineStageFlags::TOP_OF_PIPE,
            vk::PipelineStageFlags::TRANSFER,
            vk::DependencyFlags::empty(),
            &[],
            &[],
            &[b],
        )
    };
}
