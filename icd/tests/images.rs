//! Images through the real loader: sparse image queries, block binds and
//! opaque mip-tail binds, uploads and readbacks through the GPU path, the
//! bytes' place in the INTERLEAVED_64K layout, 3D bricks, dense copies and
//! clears.

mod common;

use ash::vk;
use common::*;
use panthor_vk::layout::{ImageDesc, ImageLayout, MipTailMode, TexelBlock, Tiling};

fn sparse_props(
    c: &Ctx,
    format: vk::Format,
    ty: vk::ImageType,
) -> Vec<vk::SparseImageFormatProperties> {
    // SAFETY: valid physical device.
    unsafe {
        c.instance
            .get_physical_device_sparse_image_format_properties(
                c.pd,
                format,
                ty,
                vk::SampleCountFlags::TYPE_1,
                vk::ImageUsageFlags::TRANSFER_SRC | vk::ImageUsageFlags::TRANSFER_DST,
                vk::ImageTiling::OPTIMAL,
            )
    }
}

#[test]
fn sparse_image_format_properties_use_the_standard_shapes() {
    let c = Ctx::new();
    let g = |f, t| {
        sparse_props(&c, f, t).first().map(|p| {
            (
                p.image_granularity.width,
                p.image_granularity.height,
                p.image_granularity.depth,
            )
        })
    };
    assert_eq!(
        g(vk::Format::R8G8B8A8_UNORM, vk::ImageType::TYPE_2D),
        Some((128, 128, 1))
    );
    assert_eq!(
        g(vk::Format::R16G16B16A16_SFLOAT, vk::ImageType::TYPE_2D),
        Some((128, 64, 1))
    );
    assert_eq!(
        g(vk::Format::R32G32B32A32_SFLOAT, vk::ImageType::TYPE_2D),
        Some((64, 64, 1))
    );
    assert_eq!(
        g(vk::Format::R32_SFLOAT, vk::ImageType::TYPE_3D),
        Some((32, 32, 16))
    );
    assert_eq!(
        g(vk::Format::R32G32B32A32_UINT, vk::ImageType::TYPE_3D),
        Some((16, 16, 16))
    );
    // BC1: 8-byte blocks of 4x4 texels, 128x64 blocks.
    assert_eq!(
        g(vk::Format::BC1_RGBA_UNORM_BLOCK, vk::ImageType::TYPE_2D),
        Some((512, 256, 1))
    );
    // 8 and 16-bit texels (copied by the shader cores).
    assert_eq!(
        g(vk::Format::R8_UNORM, vk::ImageType::TYPE_2D),
        Some((256, 256, 1))
    );
    assert_eq!(
        g(vk::Format::R8G8_UNORM, vk::ImageType::TYPE_2D),
        Some((256, 128, 1))
    );
    assert_eq!(
        g(vk::Format::R16_UNORM, vk::ImageType::TYPE_3D),
        Some((32, 32, 32))
    );
    // 24-bit texels have no standard shape.
    assert_eq!(g(vk::Format::R8G8B8_UNORM, vk::ImageType::TYPE_2D), None);
    assert_eq!(g(vk::Format::R8G8B8A8_UNORM, vk::ImageType::TYPE_1D), None);
}

#[test]
fn sparse_2d_image_block_binds_mip_tail_and_the_tiled_bytes() {
    let c = Ctx::new();
    let img = image(
        &c,
        vk::ImageType::TYPE_2D,
        vk::Format::R8G8B8A8_UNORM,
        [512, 512, 1],
        4,
        1,
        true,
    );
    // SAFETY: valid image.
    let (req, sreq) = unsafe {
        (
            c.device.get_image_memory_requirements(img),
            c.device.get_image_sparse_memory_requirements(img),
        )
    };
    assert_eq!(req.alignment, BLOCK);
    assert_eq!(sreq.len(), 1);
    let s = sreq[0];
    assert_eq!(s.format_properties.aspect_mask, vk::ImageAspectFlags::COLOR);
    assert_eq!(
        s.image_mip_tail_first_lod, 3,
        "64x64 is smaller than a 128x128 block"
    );
    assert!(s.image_mip_tail_size > 0 && s.image_mip_tail_size % BLOCK == 0);
    assert_eq!(s.image_mip_tail_offset % BLOCK, 0);

    let mem = c.memory(8 * BLOCK);
    bind_image(
        &c,
        img,
        &[
            image_bind(0, [128, 0, 0], [128, 128, 1], mem, 0),
            image_bind(2, [0, 0, 0], [128, 128, 1], mem, BLOCK),
        ],
        &[bind(
            s.image_mip_tail_offset,
            s.image_mip_tail_size,
            mem,
            2 * BLOCK,
        )],
    );

    // Upload level 0's tile (1, 0), level 2 and level 3 (in the tail).
    let texels0 = 128 * 128 * 4;
    let up = c.dense(3 * BLOCK);
    let data = pattern(21, (2 * texels0 + 64 * 64 * 4) as usize);
    up.write(0, &data);
    let out = c.dense(3 * BLOCK);
    let regions = [
        region(0, 0, [128, 0, 0], [128, 128, 1]),
        region(texels0, 2, [0, 0, 0], [128, 128, 1]),
        region(2 * texels0, 3, [0, 0, 0], [64, 64, 1]),
    ];
    c.run(|cb| unsafe {
        // SAFETY: recording valid commands.
        c.device.cmd_copy_buffer_to_image(
            cb,
            up.buffer,
            img,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            &regions,
        );
    });
    c.run(|cb| unsafe {
        // SAFETY: recording valid commands.
        c.device.cmd_copy_image_to_buffer(
            cb,
            img,
            vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
            out.buffer,
            &regions,
        );
    });
    assert_eq!(
        out.read(0, data.len()),
        data,
        "round trip through the sparse image"
    );

    // The tile's bytes sit in memory block 0 in the INTERLEAVED_64K layout.
    let layout = ImageLayout::new(&ImageDesc {
        dim: panthor_vk::layout::Dim::D2,
        extent: [512, 512, 1],
        levels: 4,
        layers: 1,
        samples: 1,
        block: TexelBlock::texel(4),
        tiling: Tiling::Interleaved64K,
        mip_tail: MipTailMode::PerLayer,
    })
    .unwrap();
    let tile = layout.sparse_tile_offset(0, 0, [1, 0, 0]).unwrap();
    let memory = mapped(&c, mem, 8 * BLOCK);
    for (x, y) in [(128u32, 0u32), (129, 0), (128, 1), (200, 77), (255, 127)] {
        let at = (layout.block_offset(0, 0, 0, [x, y, 0]).unwrap() - tile) as usize;
        let src = (((y * 128) + (x - 128)) * 4) as usize;
        assert_eq!(&memory[at..at + 4], &data[src..src + 4], "texel ({x}, {y})");
    }
    // SAFETY: the image is idle.
    unsafe { c.device.destroy_image(img, None) };
}

#[test]
fn unbound_sparse_image_tiles_take_writes_harmlessly() {
    let c = Ctx::new();
    let img = image(
        &c,
        vk::ImageType::TYPE_2D,
        vk::Format::R32_UINT,
        [256, 256, 1],
        1,
        1,
        true,
    );
    let mem = c.memory(BLOCK);
    bind_image(
        &c,
        img,
        &[image_bind(0, [128, 128, 0], [128, 128, 1], mem, 0)],
        &[],
    );
    let up = c.dense(256 * 256 * 4);
    up.write(0, &pattern(4, 256 * 256 * 4));
    // The whole image: three of four tiles are unbound.
    c.run(|cb| unsafe {
        // SAFETY: recording a valid command.
        c.device.cmd_copy_buffer_to_image(
            cb,
            up.buffer,
            img,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            &[region(0, 0, [0, 0, 0], [256, 256, 1])],
        );
    });
    // The bound tile got exactly its texels; the device is healthy.
    let out = c.dense(128 * 128 * 4);
    c.run(|cb| unsafe {
        // SAFETY: recording a valid command.
        c.device.cmd_copy_image_to_buffer(
            cb,
            img,
            vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
            out.buffer,
            &[region(0, 0, [128, 128, 0], [128, 128, 1])],
        );
    });
    let all = up.read(0, 256 * 256 * 4);
    let got = out.read(0, 128 * 128 * 4);
    for y in 0..128usize {
        let src = ((128 + y) * 256 + 128) * 4;
        assert_eq!(
            &got[y * 512..y * 512 + 512],
            &all[src..src + 512],
            "row {y}"
        );
    }
    // Unbind it: the memory keeps its bytes, the image no longer reaches them.
    bind_image(
        &c,
        img,
        &[image_bind(
            0,
            [128, 128, 0],
            [128, 128, 1],
            vk::DeviceMemory::null(),
            0,
        )],
        &[],
    );
    let before = mapped(&c, mem, BLOCK).to_vec();
    c.run(|cb| unsafe {
        // SAFETY: recording a valid command.
        c.device.cmd_clear_color_image(
            cb,
            img,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            &vk::ClearColorValue { uint32: [7; 4] },
            &[vk::ImageSubresourceRange {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                base_mip_level: 0,
                level_count: 1,
                base_array_layer: 0,
                layer_count: 1,
            }],
        );
    });
    assert_eq!(mapped(&c, mem, BLOCK), &before[..]);
}

#[test]
fn sparse_3d_image_binds_a_brick() {
    let c = Ctx::new();
    let img = image(
        &c,
        vk::ImageType::TYPE_3D,
        vk::Format::R32_SFLOAT,
        [64, 64, 32],
        1,
        1,
        true,
    );
    let mem = c.memory(BLOCK);
    // Brick (1, 0, 1) of 32x32x16 texels.
    bind_image(
        &c,
        img,
        &[image_bind(0, [32, 0, 16], [32, 32, 16], mem, 0)],
        &[],
    );
    let n = 32 * 32 * 16 * 4;
    let up = c.dense(n);
    let data = pattern(9, n as usize);
    up.write(0, &data);
    let out = c.dense(n);
    let r = [region(0, 0, [32, 0, 16], [32, 32, 16])];
    c.run(|cb| unsafe {
        // SAFETY: recording valid commands.
        c.device.cmd_copy_buffer_to_image(
            cb,
            up.buffer,
            img,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            &r,
        );
        c.transfer_barrier(cb);
        c.device.cmd_copy_image_to_buffer(
            cb,
            img,
            vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
            out.buffer,
            &r,
        );
    });
    assert_eq!(out.read(0, n as usize), data);
    // All 64 KiB of the memory block belong to the brick.
    let mut in_memory = mapped(&c, mem, BLOCK).to_vec();
    let mut want = data.clone();
    in_memory.sort_unstable();
    want.sort_unstable();
    assert_eq!(in_memory, want, "the brick fills its block exactly");
}

#[test]
fn dense_images_copy_and_clear() {
    let c = Ctx::new();
    for (format, texel, extent) in [
        (vk::Format::R32G32B32A32_SFLOAT, 16u64, [100u32, 60u32]),
        (vk::Format::BC1_RGBA_UNORM_BLOCK, 8, [64, 32]), // 16x8 blocks of 8 bytes
    ] {
        let a = image(
            &c,
            vk::ImageType::TYPE_2D,
            format,
            [extent[0], extent[1], 1],
            1,
            1,
            false,
        );
        let b = image(
            &c,
            vk::ImageType::TYPE_2D,
            format,
            [extent[0], extent[1], 1],
            1,
            1,
            false,
        );
        let mut mems = Vec::new();
        for img in [a, b] {
            // SAFETY: valid image, then binding fresh memory to it.
            unsafe {
                let req = c.device.get_image_memory_requirements(img);
                let mem = c.memory(req.size);
                c.device.bind_image_memory(img, mem, 0).unwrap();
                mems.push(mem);
            }
        }
        let blocks = if texel == 8 {
            (extent[0] as u64 / 4) * (extent[1] as u64 / 4)
        } else {
            (extent[0] * extent[1]) as u64
        };
        let bytes = (blocks * texel) as usize;
        let up = c.dense(bytes as u64);
        let out = c.dense(bytes as u64);
        let data = pattern(33, bytes);
        up.write(0, &data);
        let r = [region(0, 0, [0, 0, 0], [extent[0], extent[1], 1])];
        let copy = vk::ImageCopy {
            src_subresource: layers(0, 0, 1),
            src_offset: vk::Offset3D::default(),
            dst_subresource: layers(0, 0, 1),
            dst_offset: vk::Offset3D::default(),
            extent: vk::Extent3D {
                width: extent[0],
                height: extent[1],
                depth: 1,
            },
        };
        c.run(|cb| unsafe {
            // SAFETY: recording valid commands.
            c.device.cmd_copy_buffer_to_image(
                cb,
                up.buffer,
                a,
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                &r,
            );
            c.transfer_barrier(cb);
            c.device.cmd_copy_image(
                cb,
                a,
                vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                b,
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                &[copy],
            );
            c.transfer_barrier(cb);
            c.device.cmd_copy_image_to_buffer(
                cb,
                b,
                vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                out.buffer,
                &r,
            );
        });
        assert_eq!(
            out.read(0, bytes),
            data,
            "{format:?} buffer -> image -> image -> buffer"
        );
    }
    // Clear an RGBA32F image to (1, 0.5, 0, -2).
    let img = image(
        &c,
        vk::ImageType::TYPE_2D,
        vk::Format::R32G32B32A32_SFLOAT,
        [40, 30, 1],
        1,
        1,
        false,
    );
    // SAFETY: binding fresh memory.
    unsafe {
        let req = c.device.get_image_memory_requirements(img);
        let mem = c.memory(req.size);
        c.device.bind_image_memory(img, mem, 0).unwrap();
    }
    let out = c.dense(40 * 30 * 16);
    let range = vk::ImageSubresourceRange {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        base_mip_level: 0,
        level_count: 1,
        base_array_layer: 0,
        layer_count: 1,
    };
    c.run(|cb| unsafe {
        // SAFETY: recording valid commands.
        c.device.cmd_clear_color_image(
            cb,
            img,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            &vk::ClearColorValue {
                float32: [1.0, 0.5, 0.0, -2.0],
            },
            &[range],
        );
        c.transfer_barrier(cb);
        c.device.cmd_copy_image_to_buffer(
            cb,
            img,
            vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
            out.buffer,
            &[region(0, 0, [0, 0, 0], [40, 30, 1])],
        );
    });
    let texel: Vec<u8> = [1.0f32, 0.5, 0.0, -2.0]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    let got = out.read(0, 40 * 30 * 16);
    assert!(got.chunks(16).all(|t| t == texel), "every texel cleared");
}
