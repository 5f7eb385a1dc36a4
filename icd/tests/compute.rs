//! Compute through the real loader on the virtual Mali: SPIR-V compiled by
//! glslang, run by the shader cores behind `RUN_COMPUTE`, with buffers and
//! images in sparse resources.

mod common;

use ash::vk;
use common::*;

#[test]
fn the_universal_family_reports_compute() {
    let ctx = Ctx::new();
    // SAFETY: valid physical device.
    let families = unsafe {
        ctx.instance
            .get_physical_device_queue_family_properties(ctx.pd)
    };
    assert!(families[0].queue_flags.contains(vk::QueueFlags::COMPUTE));
    assert!(!families[1].queue_flags.contains(vk::QueueFlags::COMPUTE));
    // SAFETY: as above.
    let f = unsafe { ctx.instance.get_physical_device_features(ctx.pd) };
    assert_eq!(f.shader_resource_residency, vk::TRUE);
}

/// Storage buffers and push constants; the destination is a sparse buffer
/// with its second 64 KiB block unbound, so those writes land in the
/// dummy page and the bound blocks hold exactly the results.
#[test]
fn storage_buffers_and_push_constants_through_a_sparse_buffer() {
    let ctx = Ctx::new();
    const N: usize = 3 * 16384; // 3 blocks of 64 KiB of u32
    let src = ctx.dense((N * 4) as u64);
    let input: Vec<u32> = (0..N as u32).map(|i| i.wrapping_mul(2654435761)).collect();
    src.write(0, &bytes_of(&input));
    let dst = ctx.sparse_buffer((N * 4) as u64);
    let mem = ctx.memory(2 << 16);
    assert_eq!(
        ctx.bind(
            ctx.sparse,
            dst,
            &[
                bind(0, 1 << 16, mem, 0),
                bind(2 << 16, 1 << 16, mem, 1 << 16)
            ],
        ),
        vk::Result::SUCCESS
    );
    let readback = ctx.dense((N * 4) as u64);
    let k = Kernel::new(
        &ctx,
        "scale.comp",
        &[vk::DescriptorType::STORAGE_BUFFER; 2],
        8,
    );
    k.buffer(&ctx, 0, src.buffer);
    k.buffer(&ctx, 1, dst);
    let (mul, add) = (3u32, 17u32);
    ctx.run(|cb| {
        k.bind(&ctx, cb);
        let pc = bytes_of(&[mul, add]);
        // SAFETY: recording.
        unsafe {
            ctx.device
                .cmd_push_constants(cb, k.layout, vk::ShaderStageFlags::COMPUTE, 0, &pc);
            ctx.device.cmd_dispatch(cb, (N / 64) as u32, 1, 1);
        }
        ctx.transfer_barrier(cb);
        ctx.copy(cb, dst, 0, readback.buffer, 0, (N * 4) as u64);
    });
    let out = words(&readback.read(0, N * 4));
    for i in (0..N).filter(|i| !(16384..32768).contains(i)) {
        let want = input[i].wrapping_mul(mul) + add + (i / 64) as u32;
        assert_eq!(out[i], want, "element {i}");
    }
    k.destroy(&ctx);
}

/// Shared memory and barriers, vkCmdDispatchBase (the base shows in
/// gl_WorkGroupID, not in gl_NumWorkGroups) and vkCmdDispatchIndirect.
#[test]
fn shared_memory_reductions_with_base_and_indirect_dispatch() {
    let ctx = Ctx::new();
    const GROUPS: usize = 8;
    let src = ctx.dense((GROUPS * 256 * 4) as u64);
    let input: Vec<u32> = (0..(GROUPS * 256) as u32).map(|i| i % 1000 + 1).collect();
    src.write(0, &bytes_of(&input));
    let dst = ctx.dense((2 * GROUPS * 4) as u64);
    dst.write(0, &[0xff; 2 * GROUPS * 4]);
    let indirect = ctx.dense(12);
    indirect.write(0, &bytes_of(&[4, 1, 1]));
    let k = Kernel::new(
        &ctx,
        "reduce.comp",
        &[vk::DescriptorType::STORAGE_BUFFER; 2],
        0,
    );
    k.buffer(&ctx, 0, src.buffer);
    k.buffer(&ctx, 1, dst.buffer);
    ctx.run(|cb| {
        k.bind(&ctx, cb);
        // SAFETY: recording.
        unsafe {
            // Groups 4..8 through a base, then 0..4 indirectly.
            ctx.device.cmd_dispatch_base(cb, 4, 0, 0, 4, 1, 1);
            ctx.device.cmd_dispatch_indirect(cb, indirect.buffer, 0);
        }
    });
    let out = words(&dst.read(0, GROUPS * 4));
    for (g, &sum) in out.iter().enumerate() {
        let want: u32 = input[g * 256..(g + 1) * 256].iter().sum::<u32>() + 4 * 1_000_000;
        assert_eq!(sum, want, "group {g}");
    }
    k.destroy(&ctx);
}

/// Residency from the page tables: a sparse R32_UINT storage image with
/// two of its four 128x128 tiles bound. sparseImageLoadARB reports exactly
/// the bound tiles resident; writes to them land in the image.
#[test]
fn sparse_image_loads_report_residency_from_the_page_tables() {
    let ctx = Ctx::new();
    const W: u32 = 256;
    let d = &ctx.device;
    let info = vk::ImageCreateInfo::default()
        .image_type(vk::ImageType::TYPE_2D)
        .format(vk::Format::R32_UINT)
        .extent(vk::Extent3D {
            width: W,
            height: W,
            depth: 1,
        })
        .mip_levels(1)
        .array_layers(1)
        .samples(vk::SampleCountFlags::TYPE_1)
        .tiling(vk::ImageTiling::OPTIMAL)
        .usage(vk::ImageUsageFlags::STORAGE | vk::ImageUsageFlags::TRANSFER_SRC)
        .flags(vk::ImageCreateFlags::SPARSE_BINDING | vk::ImageCreateFlags::SPARSE_RESIDENCY);
    // SAFETY: valid create info.
    let image = unsafe { d.create_image(&info, None) }.expect("sparse storage image");
    let mem = ctx.memory(2 << 16);
    let tile = |x: i32, y: i32, off: u64| vk::SparseImageMemoryBind {
        subresource: vk::ImageSubresource {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            mip_level: 0,
            array_layer: 0,
        },
        offset: vk::Offset3D { x, y, z: 0 },
        extent: vk::Extent3D {
            width: 128,
            height: 128,
            depth: 1,
        },
        memory: mem,
        memory_offset: off,
        flags: vk::SparseMemoryBindFlags::empty(),
    };
    let binds = [tile(0, 0, 0), tile(128, 128, 1 << 16)];
    let ib = [vk::SparseImageMemoryBindInfo::default()
        .image(image)
        .binds(&binds)];
    let fence = ctx.fence();
    // SAFETY: valid bind; waited on below.
    unsafe {
        d.queue_bind_sparse(
            ctx.sparse,
            &[vk::BindSparseInfo::default().image_binds(&ib)],
            fence,
        )
        .unwrap();
        d.wait_for_fences(&[fence], true, u64::MAX).unwrap();
    }
    let view_info = vk::ImageViewCreateInfo::default()
        .image(image)
        .view_type(vk::ImageViewType::TYPE_2D)
        .format(vk::Format::R32_UINT)
        .subresource_range(vk::ImageSubresourceRange {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            base_mip_level: 0,
            level_count: 1,
            base_array_layer: 0,
            layer_count: 1,
        });
    // SAFETY: valid create info.
    let view = unsafe { d.create_image_view(&view_info, None) }.unwrap();
    let res = ctx.dense((W * W * 4) as u64);
    let texels = ctx.dense((W * W * 4) as u64);
    let k = Kernel::new(
        &ctx,
        "residency.comp",
        &[
            vk::DescriptorType::STORAGE_IMAGE,
            vk::DescriptorType::STORAGE_BUFFER,
        ],
        0,
    );
    let ii = [vk::DescriptorImageInfo {
        sampler: vk::Sampler::null(),
        image_view: view,
        image_layout: vk::ImageLayout::GENERAL,
    }];
    let w = vk::WriteDescriptorSet::default()
        .dst_set(k.set)
        .dst_binding(0)
        .descriptor_type(vk::DescriptorType::STORAGE_IMAGE)
        .image_info(&ii);
    // SAFETY: valid write.
    unsafe { d.update_descriptor_sets(&[w], &[]) };
    k.buffer(&ctx, 1, res.buffer);
    ctx.run(|cb| {
        k.bind(&ctx, cb);
        // SAFETY: recording.
        unsafe { d.cmd_dispatch(cb, W / 8, W / 8, 1) };
        ctx.transfer_barrier(cb);
        let region = vk::BufferImageCopy {
            buffer_offset: 0,
            buffer_row_length: 0,
            buffer_image_height: 0,
            image_subresource: vk::ImageSubresourceLayers {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                mip_level: 0,
                base_array_layer: 0,
                layer_count: 1,
            },
            image_offset: vk::Offset3D { x: 0, y: 0, z: 0 },
            image_extent: vk::Extent3D {
                width: W,
                height: W,
                depth: 1,
            },
        };
        // SAFETY: recording.
        unsafe {
            d.cmd_copy_image_to_buffer(
                cb,
                image,
                vk::ImageLayout::GENERAL,
                texels.buffer,
                &[region],
            )
        };
    });
    let resident = words(&res.read(0, (W * W * 4) as usize));
    let data = words(&texels.read(0, (W * W * 4) as usize));
    for y in 0..W {
        for x in 0..W {
            let i = (y * W + x) as usize;
            let bound = (x < 128) == (y < 128);
            assert_eq!(resident[i], bound as u32, "residency of ({x}, {y})");
            if bound {
                assert_eq!(data[i], x | y << 16, "texel ({x}, {y})");
            }
        }
    }
    k.destroy(&ctx);
    // SAFETY: the work completed.
    unsafe {
        d.destroy_image_view(view, None);
        d.destroy_image(image, None);
        d.destroy_fence(fence, None);
    }
}
