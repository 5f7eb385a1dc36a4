//! 64-bit integer images (`VK_EXT_shader_image_atomic_int64`) through the
//! real loader: a sparse R64_UINT storage image with one block unbound,
//! read by sparse loads, updated by 64-bit image atomics and written by
//! imageStore, every value checked with bits above 32 set.

mod common;

use ash::vk;
use common::*;

/// The standard 2D block of 8-byte texels.
const BW: u32 = 128;
const BH: u32 = 64;
const W: u32 = 2 * BW;
const H: u32 = 2 * BH;
const ADD: u64 = (1 << 33) + 5;

fn value(x: u32, y: u32) -> u64 {
    (u64::from(x) << 40) | (u64::from(y) << 20) | 0x0005_a5a5
}

fn u64s(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn feature_and_formats_are_reported() {
    let c = Ctx::new();
    let mut f = vk::PhysicalDeviceShaderImageAtomicInt64FeaturesEXT::default();
    let mut b = vk::PhysicalDeviceShaderAtomicInt64Features::default();
    let mut f2 = vk::PhysicalDeviceFeatures2::default()
        .push_next(&mut f)
        .push_next(&mut b);
    // SAFETY: valid query.
    unsafe { c.instance.get_physical_device_features2(c.pd, &mut f2) };
    assert_eq!(f.shader_image_int64_atomics, vk::TRUE);
    assert_eq!(f.sparse_image_int64_atomics, vk::TRUE);
    assert_eq!(b.shader_buffer_int64_atomics, vk::TRUE);
    assert_eq!(b.shader_shared_int64_atomics, vk::TRUE);
    for format in [vk::Format::R64_UINT, vk::Format::R64_SINT] {
        // SAFETY: valid query.
        let p = unsafe {
            c.instance
                .get_physical_device_format_properties(c.pd, format)
        };
        let need = vk::FormatFeatureFlags::STORAGE_IMAGE
            | vk::FormatFeatureFlags::STORAGE_IMAGE_ATOMIC
            | vk::FormatFeatureFlags::TRANSFER_SRC
            | vk::FormatFeatureFlags::TRANSFER_DST;
        assert!(p.optimal_tiling_features.contains(need), "{format:?}");
        let texel = vk::FormatFeatureFlags::STORAGE_TEXEL_BUFFER
            | vk::FormatFeatureFlags::STORAGE_TEXEL_BUFFER_ATOMIC;
        assert!(p.buffer_features.contains(texel), "{format:?}");
    }
}

#[test]
fn sparse_r64_storage_image_loads_atomics_and_stores() {
    let mut int64 = vk::PhysicalDeviceShaderImageAtomicInt64FeaturesEXT::default()
        .shader_image_int64_atomics(true)
        .sparse_image_int64_atomics(true);
    let ctx = Ctx::with_features(
        true,
        &[ash::ext::shader_image_atomic_int64::NAME],
        Some(&mut int64),
    );
    let d = &ctx.device;
    let usage = vk::ImageUsageFlags::STORAGE
        | vk::ImageUsageFlags::TRANSFER_SRC
        | vk::ImageUsageFlags::TRANSFER_DST;
    let make = |sparse: bool| {
        let flags = if sparse {
            vk::ImageCreateFlags::SPARSE_BINDING | vk::ImageCreateFlags::SPARSE_RESIDENCY
        } else {
            vk::ImageCreateFlags::empty()
        };
        let info = vk::ImageCreateInfo::default()
            .flags(flags)
            .image_type(vk::ImageType::TYPE_2D)
            .format(vk::Format::R64_UINT)
            .extent(vk::Extent3D {
                width: W,
                height: H,
                depth: 1,
            })
            .mip_levels(1)
            .array_layers(1)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(usage);
        // SAFETY: valid create info.
        unsafe { d.create_image(&info, None) }.unwrap()
    };
    let img = make(true);
    let inverted = make(false);
    // SAFETY: a valid image; memory of its requirements.
    let inv_mem = unsafe {
        let req = d.get_image_memory_requirements(inverted);
        let m = ctx.memory(req.size);
        d.bind_image_memory(inverted, m, 0).unwrap();
        m
    };
    // Blocks (0,0), (1,0), (0,1) bound; (1,1) left to the sparse dummy.
    let mem = ctx.memory(3 * BLOCK);
    let binds: Vec<_> = [(0, 0), (1, 0), (0, 1)]
        .into_iter()
        .enumerate()
        .map(|(i, (x, y))| {
            image_bind(
                0,
                [x * BW as i32, y * BH as i32, 0],
                [BW, BH, 1],
                mem,
                i as u64 * BLOCK,
            )
        })
        .collect();
    bind_image(&ctx, img, &binds, &[]);
    let bound = |x: u32, y: u32| !(x >= BW && y >= BH);

    let n = (W * H) as usize;
    let data: Vec<u8> = (0..n)
        .flat_map(|i| value(i as u32 % W, i as u32 / W).to_le_bytes())
        .collect();
    let src = ctx.dense(8 * n as u64);
    src.write(0, &data);
    let out_img = ctx.dense(8 * n as u64);
    let out_inv = ctx.dense(8 * n as u64);
    let loaded = ctx.dense(8 * n as u64);
    let old = ctx.dense(8 * n as u64);
    let resident = ctx.dense(4 * n as u64);
    let view = |image| {
        let info = vk::ImageViewCreateInfo::default()
            .image(image)
            .view_type(vk::ImageViewType::TYPE_2D)
            .format(vk::Format::R64_UINT)
            .subresource_range(vk::ImageSubresourceRange {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                base_mip_level: 0,
                level_count: 1,
                base_array_layer: 0,
                layer_count: 1,
            });
        // SAFETY: valid create info.
        unsafe { d.create_image_view(&info, None) }.unwrap()
    };
    let (v_img, v_inv) = (view(img), view(inverted));
    let st = vk::DescriptorType::STORAGE_IMAGE;
    let sb = vk::DescriptorType::STORAGE_BUFFER;
    let k = Kernel::new(&ctx, "int64_image.comp", &[st, st, sb, sb, sb], 0);
    let general = vk::ImageLayout::GENERAL;
    k.image(&ctx, 0, st, v_img, vk::Sampler::null(), general);
    k.image(&ctx, 1, st, v_inv, vk::Sampler::null(), general);
    k.buffer(&ctx, 2, loaded.buffer);
    k.buffer(&ctx, 3, old.buffer);
    k.buffer(&ctx, 4, resident.buffer);
    let whole = region(0, 0, [0, 0, 0], [W, H, 1]);
    let top = region(0, 0, [0, 0, 0], [W, BH, 1]);
    let bottom_left = vk::BufferImageCopy {
        buffer_offset: 8 * u64::from(W * BH),
        buffer_row_length: W,
        ..region(0, 0, [0, BH as i32, 0], [BW, BH, 1])
    };
    ctx.run(|cb| {
        to_layout(&ctx, cb, img, general);
        to_layout(&ctx, cb, inverted, general);
        // SAFETY: recording valid commands.
        unsafe {
            d.cmd_copy_buffer_to_image(cb, src.buffer, img, general, &[top, bottom_left]);
        }
        ctx.transfer_barrier(cb);
        k.bind(&ctx, cb);
        // SAFETY: recording valid commands.
        unsafe { d.cmd_dispatch(cb, W / 8, H / 8, 1) };
        ctx.transfer_barrier(cb);
        // SAFETY: recording valid commands.
        unsafe {
            d.cmd_copy_image_to_buffer(cb, img, general, out_img.buffer, &[whole]);
            d.cmd_copy_image_to_buffer(cb, inverted, general, out_inv.buffer, &[whole]);
        }
    });
    let (got, inv) = (u64s(&out_img.read(0, 8 * n)), u64s(&out_inv.read(0, 8 * n)));
    let (ld, od) = (u64s(&loaded.read(0, 8 * n)), u64s(&old.read(0, 8 * n)));
    let res = words(&resident.read(0, 4 * n));
    for y in 0..H {
        for x in 0..W {
            let i = (y * W + x) as usize;
            let v = value(x, y);
            let r = bound(x, y);
            assert_eq!(res[i], r as u32, "residency of ({x}, {y})");
            if r {
                assert_eq!(ld[i], v, "sparse load at ({x}, {y})");
                assert_eq!(od[i], v, "atomic add's old value at ({x}, {y})");
                assert_eq!(got[i], v.wrapping_add(ADD), "after the add at ({x}, {y})");
                assert_eq!(inv[i], !v, "imageStore at ({x}, {y})");
            }
        }
    }
    k.destroy(&ctx);
    // SAFETY: the work is done.
    unsafe {
        d.destroy_image_view(v_img, None);
        d.destroy_image_view(v_inv, None);
        d.destroy_image(img, None);
        d.destroy_image(inverted, None);
    }
    ctx.free_memory(inv_mem);
    assert_eq!(ctx.validation_errors(), 0);
}

#[test]
fn r64_storage_texel_buffers_take_64_bit_atomics() {
    let mut int64 = vk::PhysicalDeviceShaderImageAtomicInt64FeaturesEXT::default()
        .shader_image_int64_atomics(true);
    let ctx = Ctx::with_features(
        true,
        &[ash::ext::shader_image_atomic_int64::NAME],
        Some(&mut int64),
    );
    let d = &ctx.device;
    const N: u64 = 256;
    let start: Vec<u8> = (0..N)
        .flat_map(|i| ((i << 40) | 0x8000_0001).to_le_bytes())
        .collect();
    let counters = ctx.dense(8 * N);
    counters.write(0, &start);
    let olds = ctx.dense(8 * N);
    let view = |buffer| {
        let info = vk::BufferViewCreateInfo::default()
            .buffer(buffer)
            .format(vk::Format::R64_UINT)
            .range(vk::WHOLE_SIZE);
        // SAFETY: valid create info over a storage-texel buffer.
        unsafe { d.create_buffer_view(&info, None) }.unwrap()
    };
    let (vc, vo) = (view(counters.buffer), view(olds.buffer));
    let ty = vk::DescriptorType::STORAGE_TEXEL_BUFFER;
    let k = Kernel::new(&ctx, "int64_texel_buffer.comp", &[ty, ty], 0);
    k.texel_buffer(&ctx, 0, ty, vc);
    k.texel_buffer(&ctx, 1, ty, vo);
    ctx.run(|cb| {
        k.bind(&ctx, cb);
        // SAFETY: recording a dispatch with the kernel bound.
        unsafe { d.cmd_dispatch(cb, (N / 64) as u32, 1, 1) };
    });
    let got = u64s(&counters.read(0, 8 * N as usize));
    let old = u64s(&olds.read(0, 8 * N as usize));
    for i in 0..N {
        let before = (i << 40) | 0x8000_0001;
        assert_eq!(got[i as usize], before + ((i << 36) | 3), "counter {i}");
        assert_eq!(old[i as usize], before << 4, "old value {i}");
    }
    k.destroy(&ctx);
    // SAFETY: the work is done.
    unsafe {
        d.destroy_buffer_view(vc, None);
        d.destroy_buffer_view(vo, None);
    }
    assert_eq!(ctx.validation_errors(), 0);
}
