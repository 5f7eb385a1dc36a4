//! Sampled images, samplers and texel buffers through the real loader: the
//! virtual Mali's texture unit reached through the ICD's descriptors, with
//! results checked against a host model of the filters, and residency
//! reported by sparse sampling. Every test runs under
//! `VK_LAYER_KHRONOS_validation` and must cause no validation error.

mod common;

use ash::vk;
use common::*;

const LINEAR: vk::Filter = vk::Filter::LINEAR;
const NEAREST: vk::Filter = vk::Filter::NEAREST;

/// A 2D RGBA8_UNORM image for sampling, in GENERAL layout once `cb` runs.
fn sampled_image(c: &Ctx, size: u32, levels: u32, sparse: bool) -> vk::Image {
    let flags = if sparse {
        vk::ImageCreateFlags::SPARSE_BINDING | vk::ImageCreateFlags::SPARSE_RESIDENCY
    } else {
        vk::ImageCreateFlags::empty()
    };
    let info = vk::ImageCreateInfo::default()
        .image_type(vk::ImageType::TYPE_2D)
        .format(vk::Format::R8G8B8A8_UNORM)
        .extent(vk::Extent3D {
            width: size,
            height: size,
            depth: 1,
        })
        .mip_levels(levels)
        .array_layers(1)
        .samples(vk::SampleCountFlags::TYPE_1)
        .tiling(vk::ImageTiling::OPTIMAL)
        .usage(vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST)
        .flags(flags);
    // SAFETY: valid create info.
    let image = unsafe { c.device.create_image(&info, None) }.expect("sampled vkCreateImage");
    if !sparse {
        // SAFETY: a fresh image bound once to its own memory.
        unsafe {
            let req = c.device.get_image_memory_requirements(image);
            let mem = c.memory(req.size);
            c.device.bind_image_memory(image, mem, 0).unwrap();
        }
    }
    image
}

/// Transfer writes -> compute shader reads.
fn transfer_to_compute(c: &Ctx, cb: vk::CommandBuffer) {
    let m = vk::MemoryBarrier::default()
        .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
        .dst_access_mask(vk::AccessFlags::SHADER_READ);
    // SAFETY: recording.
    unsafe {
        c.device.cmd_pipeline_barrier(
            cb,
            vk::PipelineStageFlags::TRANSFER,
            vk::PipelineStageFlags::COMPUTE_SHADER,
            vk::DependencyFlags::empty(),
            &[m],
            &[],
            &[],
        )
    };
}

fn view(c: &Ctx, image: vk::Image, levels: u32) -> vk::ImageView {
    let info = vk::ImageViewCreateInfo::default()
        .image(image)
        .view_type(vk::ImageViewType::TYPE_2D)
        .format(vk::Format::R8G8B8A8_UNORM)
        .subresource_range(vk::ImageSubresourceRange {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            base_mip_level: 0,
            level_count: levels,
            base_array_layer: 0,
            layer_count: 1,
        });
    // SAFETY: valid create info.
    unsafe { c.device.create_image_view(&info, None) }.expect("vkCreateImageView")
}

/// A clamp-to-edge sampler filtering with `filter` within and between levels.
fn sampler(c: &Ctx, filter: vk::Filter) -> vk::Sampler {
    let mip = if filter == LINEAR {
        vk::SamplerMipmapMode::LINEAR
    } else {
        vk::SamplerMipmapMode::NEAREST
    };
    let info = vk::SamplerCreateInfo::default()
        .mag_filter(filter)
        .min_filter(filter)
        .mipmap_mode(mip)
        .address_mode_u(vk::SamplerAddressMode::CLAMP_TO_EDGE)
        .address_mode_v(vk::SamplerAddressMode::CLAMP_TO_EDGE)
        .address_mode_w(vk::SamplerAddressMode::CLAMP_TO_EDGE)
        .max_lod(vk::LOD_CLAMP_NONE);
    // SAFETY: valid create info.
    unsafe { c.device.create_sampler(&info, None) }.expect("vkCreateSampler")
}

/// One mip level of RGBA texels as floats in [0, 1], row-major.
struct Level {
    size: usize,
    texels: Vec<[u8; 4]>,
}

impl Level {
    fn new(size: usize, f: impl Fn(usize, usize) -> [u8; 4]) -> Level {
        let texels = (0..size * size).map(|i| f(i % size, i / size)).collect();
        Level { size, texels }
    }

    fn bytes(&self) -> Vec<u8> {
        self.texels.iter().flatten().copied().collect()
    }

    fn texel(&self, x: i64, y: i64) -> [f32; 4] {
        let clamp = |v: i64| v.clamp(0, self.size as i64 - 1) as usize;
        self.texels[clamp(y) * self.size + clamp(x)].map(|b| b as f32 / 255.0)
    }

    /// Bilinear filtering at normalized (u, v), clamped to the edge.
    fn linear(&self, u: f32, v: f32) -> [f32; 4] {
        let (x, y) = (u * self.size as f32 - 0.5, v * self.size as f32 - 0.5);
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let [a, b, c, d] = [
            self.texel(x0, y0),
            self.texel(x0 + 1, y0),
            self.texel(x0, y0 + 1),
            self.texel(x0 + 1, y0 + 1),
        ];
        std::array::from_fn(|i| {
            let top = a[i] * (1.0 - fx) + b[i] * fx;
            let bottom = c[i] * (1.0 - fx) + d[i] * fx;
            top * (1.0 - fy) + bottom * fy
        })
    }

    fn nearest(&self, u: f32, v: f32) -> [f32; 4] {
        let at = |t: f32| (t * self.size as f32).floor() as i64;
        self.texel(at(u), at(v))
    }
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    words(bytes).into_iter().map(f32::from_bits).collect()
}

fn assert_close(got: &[f32], want: [f32; 4], what: &str) {
    // UNORM8 filtering: within one unit in the last place of 8 bits.
    let ok = got
        .iter()
        .zip(want)
        .all(|(g, w)| (g - w).abs() <= 1.5 / 255.0);
    assert!(ok, "{what}: got {got:?}, want {want:?}");
}

/// A combined image sampler (bilinear, trilinear between two levels), the
/// same image as a separate texture with a nearest sampler, and a uniform
/// texel buffer, in one dispatch.
#[test]
fn sampled_images_samplers_and_texel_buffers_filter_as_specified() {
    let c = Ctx::with_validation(true);
    let d = &c.device;
    let levels = [
        Level::new(8, |x, y| {
            [
                (x * 36) as u8,
                (y * 36) as u8,
                (x * y * 4) as u8,
                (255 - x - y) as u8,
            ]
        }),
        Level::new(4, |x, y| {
            [200 - x as u8 * 40, 10 + y as u8 * 50, 7 * x as u8 + 3, 100]
        }),
    ];
    let image = sampled_image(&c, 8, 2, false);
    let upload = c.dense(8 * 8 * 4 + 4 * 4 * 4);
    upload.write(0, &levels[0].bytes());
    upload.write(8 * 8 * 4, &levels[1].bytes());
    let values: Vec<f32> = (0..64).map(|i| i as f32 * 1.5 - 7.0).collect();
    let texels = c.dense(64 * 4);
    texels.write(
        0,
        &bytes_of(&values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()),
    );
    let out = c.dense(64 * 5 * 16);

    let image_view = view(&c, image, 2);
    let (linear, nearest) = (sampler(&c, LINEAR), sampler(&c, NEAREST));
    let bv_info = vk::BufferViewCreateInfo::default()
        .buffer(texels.buffer)
        .format(vk::Format::R32_SFLOAT)
        .offset(0)
        .range(vk::WHOLE_SIZE);
    // SAFETY: valid create info.
    let buffer_view = unsafe { d.create_buffer_view(&bv_info, None) }.expect("vkCreateBufferView");
    use vk::DescriptorType as T;
    let k = Kernel::new(
        &c,
        "sample.comp",
        &[
            T::COMBINED_IMAGE_SAMPLER,
            T::SAMPLED_IMAGE,
            T::SAMPLER,
            T::UNIFORM_TEXEL_BUFFER,
            T::STORAGE_BUFFER,
        ],
        0,
    );
    let general = vk::ImageLayout::GENERAL;
    k.image(
        &c,
        0,
        T::COMBINED_IMAGE_SAMPLER,
        image_view,
        linear,
        general,
    );
    k.image(
        &c,
        1,
        T::SAMPLED_IMAGE,
        image_view,
        vk::Sampler::null(),
        general,
    );
    k.image(&c, 2, T::SAMPLER, vk::ImageView::null(), nearest, general);
    k.texel_buffer(&c, 3, T::UNIFORM_TEXEL_BUFFER, buffer_view);
    k.buffer(&c, 4, out.buffer);
    c.run(|cb| {
        to_layout_levels(&c, cb, image, vk::ImageLayout::GENERAL, 2);
        let regions = [
            region(0, 0, [0; 3], [8, 8, 1]),
            region(8 * 8 * 4, 1, [0; 3], [4, 4, 1]),
        ];
        // SAFETY: recording.
        unsafe { d.cmd_copy_buffer_to_image(cb, upload.buffer, image, general, &regions) };
        transfer_to_compute(&c, cb);
        k.bind(&c, cb);
        // SAFETY: recording.
        unsafe { d.cmd_dispatch(cb, 1, 1, 1) };
    });

    let got = floats(&out.read(0, 64 * 5 * 16));
    for i in 0..64 {
        let (x, y) = (i % 8, i / 8);
        let (u, v) = ((x as f32 + 0.25) / 8.0, (y as f32 + 0.25) / 8.0);
        let at = |n: usize| &got[(i * 5 + n) * 4..(i * 5 + n + 1) * 4];
        let (l0, l1) = (levels[0].linear(u, v), levels[1].linear(u, v));
        assert_close(at(0), l0, &format!("bilinear level 0 at {x},{y}"));
        assert_close(at(1), l1, &format!("bilinear level 1 at {x},{y}"));
        let tri = std::array::from_fn(|j| (l0[j] + l1[j]) / 2.0);
        assert_close(at(2), tri, &format!("trilinear lod 0.5 at {x},{y}"));
        assert_close(
            at(3),
            levels[1].nearest(u, v),
            &format!("nearest level 1 at {x},{y}"),
        );
        assert_eq!(at(4)[0], values[i], "texel buffer element {i}");
        let fetched = levels[1].texel(x as i64 / 2, y as i64 / 2)[0];
        assert_close(
            &at(4)[1..2],
            [fetched; 4],
            &format!("texelFetch level 1 at {x},{y}"),
        );
    }
    k.destroy(&c);
    // SAFETY: the work completed.
    unsafe {
        d.destroy_buffer_view(buffer_view, None);
        d.destroy_sampler(linear, None);
        d.destroy_sampler(nearest, None);
        d.destroy_image_view(image_view, None);
        d.destroy_image(image, None);
    }
    assert_eq!(c.validation_errors(), 0);
}

/// A sparse 256x256 RGBA8 image with only its top-right 128x128 block
/// bound: `sparseTextureLodARB` reports residency per sample from the page
/// tables (a linear sample is non-resident when any tap is), and resident
/// samples return what was uploaded.
#[test]
fn sparse_sampling_reports_residency_per_block() {
    let c = Ctx::with_validation(true);
    let d = &c.device;
    let image = sampled_image(&c, 256, 1, true);
    let mem = c.memory(BLOCK);
    bind_image(
        &c,
        image,
        &[image_bind(0, [128, 0, 0], [128, 128, 1], mem, 0)],
        &[],
    );
    let texel = |x: usize, y: usize| [x as u8, y as u8, (x ^ y) as u8, 255];
    let block = Level::new(128, |x, y| texel(x + 128, y));
    let upload = c.dense(BLOCK);
    upload.write(0, &block.bytes());
    let out = c.dense(258 * 16);
    let image_view = view(&c, image, 1);
    let (linear, nearest) = (sampler(&c, LINEAR), sampler(&c, NEAREST));
    use vk::DescriptorType as T;
    let k = Kernel::new(
        &c,
        "sparse_sample.comp",
        &[
            T::COMBINED_IMAGE_SAMPLER,
            T::COMBINED_IMAGE_SAMPLER,
            T::STORAGE_BUFFER,
        ],
        0,
    );
    let general = vk::ImageLayout::GENERAL;
    k.image(
        &c,
        0,
        T::COMBINED_IMAGE_SAMPLER,
        image_view,
        nearest,
        general,
    );
    k.image(
        &c,
        1,
        T::COMBINED_IMAGE_SAMPLER,
        image_view,
        linear,
        general,
    );
    k.buffer(&c, 2, out.buffer);
    c.run(|cb| {
        to_layout_levels(&c, cb, image, vk::ImageLayout::GENERAL, 1);
        let regions = [region(0, 0, [128, 0, 0], [128, 128, 1])];
        // SAFETY: recording.
        unsafe { d.cmd_copy_buffer_to_image(cb, upload.buffer, image, general, &regions) };
        transfer_to_compute(&c, cb);
        k.bind(&c, cb);
        // SAFETY: recording.
        unsafe { d.cmd_dispatch(cb, 1, 1, 1) };
    });

    let got = words(&out.read(0, 258 * 16));
    let result = |n: usize| &got[n * 4..n * 4 + 4];
    for n in 0..256 {
        let (x, y) = (n % 16 * 16 + 8, n / 16 * 16 + 8);
        let bound = x >= 128 && y < 128;
        assert_eq!(result(n)[0], bound as u32, "residency at texel ({x}, {y})");
        if bound {
            let want = texel(x, y).map(u32::from);
            assert_eq!(result(n)[1..], want[..3], "value at texel ({x}, {y})");
        }
    }
    assert_eq!(result(256)[0], 0, "a linear sample with a tap at x = 127");
    assert_eq!(
        result(257)[0],
        1,
        "a linear sample with taps at x = 129, 130"
    );
    k.destroy(&c);
    // SAFETY: the work completed.
    unsafe {
        d.destroy_sampler(linear, None);
        d.destroy_sampler(nearest, None);
        d.destroy_image_view(image_view, None);
        d.destroy_image(image, None);
    }
    assert_eq!(c.validation_errors(), 0);
}
