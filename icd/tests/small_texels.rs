//! Byte-granular transfers through the real loader: images of 8 and 16-bit
//! texels and buffer copies at odd offsets run on the virtual Mali's shader
//! cores (the command stream moves only whole words). Bytes must land where
//! the `INTERLEAVED_64K` layout puts them, so sparse block binds map exactly
//! the texels they name.

mod common;

use ash::vk;
use common::*;
use panthor_vk::layout::{Dim, ImageDesc, ImageLayout, MipTailMode, TexelBlock, Tiling};

fn buffer_image_copy(
    c: &Ctx,
    cb: vk::CommandBuffer,
    buffer: vk::Buffer,
    img: vk::Image,
    regions: &[vk::BufferImageCopy],
    to_image: bool,
) {
    // SAFETY: recording valid copies.
    unsafe {
        if to_image {
            c.device
                .cmd_copy_buffer_to_image(cb, buffer, img, vk::ImageLayout::GENERAL, regions)
        } else {
            c.device
                .cmd_copy_image_to_buffer(cb, img, vk::ImageLayout::GENERAL, buffer, regions)
        }
    }
}

/// A sparse R8 image of 2x2 tiles (256x256 texels each) with tiles (1, 0)
/// and (0, 1) bound: a full upload keeps exactly the bound tiles' bytes,
/// at the places the layout gives, and reads back through the GPU.
#[test]
fn sparse_r8_tiles_hold_their_bytes_in_the_tiled_layout() {
    let c = Ctx::new();
    const W: u32 = 512;
    let img = image(
        &c,
        vk::ImageType::TYPE_2D,
        vk::Format::R8_UNORM,
        [W, W, 1],
        1,
        1,
        true,
    );
    let mem = c.memory(2 * BLOCK);
    bind_image(
        &c,
        img,
        &[
            image_bind(0, [256, 0, 0], [256, 256, 1], mem, BLOCK),
            image_bind(0, [0, 256, 0], [256, 256, 1], mem, 0),
        ],
        &[],
    );
    let data = pattern(21, (W * W) as usize);
    let up = c.dense((W * W) as u64);
    up.write(0, &data);
    let down = c.dense((W * W) as u64);
    c.run(|cb| {
        buffer_image_copy(
            &c,
            cb,
            up.buffer,
            img,
            &[region(0, 0, [0; 3], [W, W, 1])],
            true,
        );
        c.transfer_barrier(cb);
        buffer_image_copy(
            &c,
            cb,
            down.buffer,
            img,
            &[region(0, 0, [0; 3], [W, W, 1])],
            false,
        );
    });
    let got = down.read(0, (W * W) as usize);
    for y in 0..W {
        for x in 0..W {
            let i = (y * W + x) as usize;
            if (x >= 256) != (y >= 256) {
                assert_eq!(got[i], data[i], "texel ({x}, {y})");
            }
        }
    }

    let layout = ImageLayout::new(&ImageDesc {
        dim: Dim::D2,
        extent: [W, W, 1],
        levels: 1,
        layers: 1,
        samples: 1,
        block: TexelBlock::texel(1),
        tiling: Tiling::Interleaved64K,
        mip_tail: MipTailMode::PerLayer,
    })
    .unwrap();
    let memory = mapped(&c, mem, 2 * BLOCK);
    for (tile, at_memory) in [([1, 0, 0], BLOCK), ([0, 1, 0], 0)] {
        let base = layout.sparse_tile_offset(0, 0, tile).unwrap();
        for (dx, dy) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (1, 1),
            (17, 3),
            (200, 255),
            (255, 255),
        ] {
            let (x, y) = (tile[0] * 256 + dx, tile[1] * 256 + dy);
            let off = layout.block_offset(0, 0, 0, [x, y, 0]).unwrap() - base + at_memory;
            assert_eq!(
                memory[off as usize],
                data[(y * W + x) as usize],
                "texel ({x}, {y}) in memory"
            );
        }
    }
}

/// Sub-regions with odd offsets and extents, buffer rows longer than the
/// region, 16-bit texels in a layered image, and a dense -> sparse
/// vkCmdCopyImage; unwritten texels keep their clear value.
#[test]
fn r16_layers_take_odd_regions_copies_and_clears() {
    let c = Ctx::new();
    const W: u32 = 64;
    let mk = |sparse| {
        image(
            &c,
            vk::ImageType::TYPE_2D,
            vk::Format::R16_UINT,
            [W, W, 1],
            2,
            3,
            sparse,
        )
    };
    let (dense, sparse) = (mk(false), mk(true));
    // SAFETY: valid handles.
    let req = unsafe { c.device.get_image_memory_requirements(dense) };
    let dmem = c.memory(req.size);
    // SAFETY: a fresh image bound once.
    unsafe { c.device.bind_image_memory(dense, dmem, 0) }.unwrap();
    // The sparse image, whole: every level lies in its mip tail.
    // SAFETY: valid handles.
    let sreq = unsafe { c.device.get_image_memory_requirements(sparse) };
    let smem = c.memory(sreq.size);
    bind_image(&c, sparse, &[], &[bind(0, sreq.size, smem, 0)]);

    // Region: x 3..20, y 5..14, layers 1..3 of level 0; buffer rows of 32.
    let (ox, oy, w, h) = (3u32, 5u32, 17u32, 9u32);
    let row = 32u32;
    let data = pattern(7, (row * h * 2 * 2) as usize);
    let up = c.dense(data.len() as u64);
    up.write(0, &data);
    let out = c.dense((W * W * 2 * 3) as u64);
    let clear = vk::ClearColorValue {
        uint32: [0xbeef, 0, 0, 0],
    };
    let all = vk::ImageSubresourceRange {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        base_mip_level: 0,
        level_count: 2,
        base_array_layer: 0,
        layer_count: 3,
    };
    let mut up_region = region(0, 0, [ox as i32, oy as i32, 0], [w, h, 1]);
    up_region.buffer_row_length = row;
    up_region.image_subresource = layers(0, 1, 2);
    let whole = vk::ImageCopy {
        src_subresource: layers(0, 0, 3),
        src_offset: vk::Offset3D::default(),
        dst_subresource: layers(0, 0, 3),
        dst_offset: vk::Offset3D::default(),
        extent: vk::Extent3D {
            width: W,
            height: W,
            depth: 1,
        },
    };
    let mut down_region = region(0, 0, [0; 3], [W, W, 1]);
    down_region.image_subresource = layers(0, 0, 3);
    c.run(|cb| {
        // SAFETY: recording valid commands.
        unsafe {
            c.device
                .cmd_clear_color_image(cb, dense, vk::ImageLayout::GENERAL, &clear, &[all]);
        }
        c.transfer_barrier(cb);
        buffer_image_copy(&c, cb, up.buffer, dense, &[up_region], true);
        c.transfer_barrier(cb);
        // SAFETY: recording a valid copy.
        unsafe {
            c.device.cmd_copy_image(
                cb,
                dense,
                vk::ImageLayout::GENERAL,
                sparse,
                vk::ImageLayout::GENERAL,
                &[whole],
            )
        };
        c.transfer_barrier(cb);
        buffer_image_copy(&c, cb, out.buffer, sparse, &[down_region], false);
    });
    let got = out.read(0, (W * W * 2 * 3) as usize);
    let texel = |b: &[u8], i: usize| u16::from_le_bytes([b[2 * i], b[2 * i + 1]]);
    for layer in 0..3 {
        for y in 0..W {
            for x in 0..W {
                let i = ((layer * W + y) * W + x) as usize;
                let inside = layer >= 1 && (ox..ox + w).contains(&x) && (oy..oy + h).contains(&y);
                let want = if inside {
                    let j = (((layer - 1) * h + y - oy) * row + x - ox) as usize;
                    texel(&data, j)
                } else {
                    0xbeef
                };
                assert_eq!(texel(&got, i), want, "layer {layer} texel ({x}, {y})");
            }
        }
    }
}

/// A 3D R8G8 image: a brick-crossing region written and read back, the
/// rest cleared.
#[test]
fn rg8_volume_round_trips_a_region() {
    let c = Ctx::new();
    let ext = [40u32, 36, 20];
    let img = image(
        &c,
        vk::ImageType::TYPE_3D,
        vk::Format::R8G8_UNORM,
        ext,
        1,
        1,
        false,
    );
    // SAFETY: valid handles.
    let req = unsafe { c.device.get_image_memory_requirements(img) };
    let mem = c.memory(req.size);
    // SAFETY: a fresh image bound once.
    unsafe { c.device.bind_image_memory(img, mem, 0) }.unwrap();
    let (o, e) = ([30u32, 2, 1], [10u32, 33, 17]);
    let data = pattern(3, (e[0] * e[1] * e[2] * 2) as usize);
    let up = c.dense(data.len() as u64);
    up.write(0, &data);
    let texels = (ext[0] * ext[1] * ext[2]) as usize;
    let out = c.dense(texels as u64 * 2);
    let clear = vk::ClearColorValue {
        float32: [1.0, 0.0, 0.0, 0.0],
    };
    let range = vk::ImageSubresourceRange {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        base_mip_level: 0,
        level_count: 1,
        base_array_layer: 0,
        layer_count: 1,
    };
    c.run(|cb| {
        // SAFETY: recording a valid clear.
        unsafe {
            c.device
                .cmd_clear_color_image(cb, img, vk::ImageLayout::GENERAL, &clear, &[range]);
        }
        c.transfer_barrier(cb);
        let r = region(0, 0, o.map(|v| v as i32), e);
        buffer_image_copy(&c, cb, up.buffer, img, &[r], true);
        c.transfer_barrier(cb);
        buffer_image_copy(&c, cb, out.buffer, img, &[region(0, 0, [0; 3], ext)], false);
    });
    let got = out.read(0, texels * 2);
    for z in 0..ext[2] {
        for y in 0..ext[1] {
            for x in 0..ext[0] {
                let i = 2 * ((z * ext[1] + y) * ext[0] + x) as usize;
                let p = [x, y, z];
                let inside = (0..3).all(|k| (o[k]..o[k] + e[k]).contains(&p[k]));
                let want = if inside {
                    let j = 2 * (((z - o[2]) * e[1] + y - o[1]) * e[0] + x - o[0]) as usize;
                    [data[j], data[j + 1]]
                } else {
                    [0xff, 0x00]
                };
                assert_eq!(got[i..i + 2], want, "texel ({x}, {y}, {z})");
            }
        }
    }
}

/// vkCmdCopyBuffer at offsets and sizes that are not whole words, into a
/// sparse buffer and back: exactly the named bytes change.
#[test]
fn buffer_copies_at_odd_offsets_move_exact_bytes() {
    let c = Ctx::new();
    let src = c.dense(4 * BLOCK);
    let data = pattern(9, 4 * BLOCK as usize);
    src.write(0, &data);
    let sparse = c.sparse_buffer(2 * BLOCK);
    let mem = c.memory(2 * BLOCK);
    assert_eq!(
        c.bind(c.sparse, sparse, &[bind(0, 2 * BLOCK, mem, 0)]),
        vk::Result::SUCCESS
    );
    let out = c.dense(2 * BLOCK);
    out.write(0, &vec![0xa5; 2 * BLOCK as usize]);
    // (source offset, destination offset, size): a long run across rows of
    // the kernel's dispatch, a short one, and single bytes.
    let copies = [
        (1u64, 6u64, 70_001u64),
        (80_003, 90_001, 3),
        (5, 100_000, 1),
    ];
    c.run(|cb| {
        let zero = vk::BufferCopy {
            src_offset: 2 * BLOCK,
            dst_offset: 0,
            size: 2 * BLOCK,
        };
        let regions: Vec<_> = copies
            .iter()
            .map(|&(s, d, n)| vk::BufferCopy {
                src_offset: s,
                dst_offset: d,
                size: n,
            })
            .collect();
        // SAFETY: recording valid copies.
        unsafe {
            c.device.cmd_copy_buffer(cb, src.buffer, sparse, &[zero]);
            c.transfer_barrier(cb);
            c.device.cmd_copy_buffer(cb, src.buffer, sparse, &regions);
            c.transfer_barrier(cb);
            c.device.cmd_copy_buffer(cb, sparse, out.buffer, &regions);
        }
    });
    let got = out.read(0, 2 * BLOCK as usize);
    // The second copy reads the sparse buffer at the regions' source
    // offsets, where the first wrote the destination offsets' bytes.
    let mut sparse_bytes = data[2 * BLOCK as usize..].to_vec();
    for &(s, d, n) in &copies {
        let (s, d, n) = (s as usize, d as usize, n as usize);
        sparse_bytes[d..d + n].copy_from_slice(&data[s..s + n]);
    }
    let mut want = vec![0xa5; 2 * BLOCK as usize];
    for &(s, d, n) in &copies {
        let (s, d, n) = (s as usize, d as usize, n as usize);
        want[d..d + n].copy_from_slice(&sparse_bytes[s..s + n]);
    }
    assert!(
        got == want,
        "first difference at byte {:?}",
        got.iter().zip(&want).position(|(a, b)| a != b)
    );
}
