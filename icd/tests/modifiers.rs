//! `VK_EXT_image_drm_format_modifier` through the real loader: the
//! modifier lists, image format queries per modifier, images made from a
//! list and from explicit plane layouts, and where texels land in memory.
//!
//! The Arm layout is computed here from its documented rule, independently
//! of the driver's `layout` module: 64 KiB tiles with 1:1 or 2:1 sides
//! (width >= height) laid out row-major, 16x16 u-blocks row-major in a tile,
//! U order inside a u-block (index bit 2k = x_k ^ y_k, bit 2k+1 = y_k, as
//! Mesa's pan_tiling.c describes).

mod common;

use ash::vk;
use common::*;

const LINEAR: u64 = 0;
/// `fourcc_mod_code(ARM, (DRM_FORMAT_MOD_ARM_TYPE_MISC << 52) | 2)`.
const INTERLEAVED_64K: u64 = (0x08 << 56) | (0x1 << 52) | 2;
/// `DRM_FORMAT_MOD_ARM_16X16_BLOCK_U_INTERLEAVED`: not supported.
const U_INTERLEAVED: u64 = (0x08 << 56) | (0x1 << 52) | 1;
const TILE: u64 = 64 << 10;

/// A device with the modifier extensions enabled (on `c`'s instance).
struct Dev {
    c: Ctx,
    device: ash::Device,
    queue: vk::Queue,
    pool: vk::CommandPool,
    drm: ash::ext::image_drm_format_modifier::Device,
}

impl Dev {
    fn new(validation: bool) -> Dev {
        let c = Ctx::with_validation(validation);
        let prio = [1.0f32];
        let queues = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(0)
            .queue_priorities(&prio)];
        let exts = [
            ash::khr::image_format_list::NAME.as_ptr(),
            ash::ext::image_drm_format_modifier::NAME.as_ptr(),
        ];
        let info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .enabled_extension_names(&exts);
        let loader = loader_lock();
        // SAFETY: valid create info; the queue and pool belong to the device.
        let (device, queue, pool) = unsafe {
            let device = c
                .instance
                .create_device(c.pd, &info, None)
                .expect("vkCreateDevice with the modifier extensions");
            let queue = device.get_device_queue(0, 0);
            let pool = device
                .create_command_pool(
                    &vk::CommandPoolCreateInfo::default().queue_family_index(0),
                    None,
                )
                .unwrap();
            (device, queue, pool)
        };
        let drm = ash::ext::image_drm_format_modifier::Device::new(&c.instance, &device);
        drop(loader);
        Dev {
            c,
            device,
            queue,
            pool,
            drm,
        }
    }

    fn memory(&self, size: u64) -> vk::DeviceMemory {
        let info = vk::MemoryAllocateInfo::default()
            .allocation_size(size)
            .memory_type_index(0);
        // SAFETY: valid allocate info.
        unsafe { self.device.allocate_memory(&info, None) }.unwrap()
    }

    /// A mapped view of `len` bytes of `mem` (kept mapped until freed).
    fn map(&self, mem: vk::DeviceMemory, len: u64) -> &[u8] {
        // SAFETY: mem is at least len bytes and host visible.
        unsafe {
            let p = self
                .device
                .map_memory(mem, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
                .unwrap() as *const u8;
            std::slice::from_raw_parts(p, len as usize)
        }
    }

    /// A transfer-source buffer holding `data`, with its memory.
    fn buffer_with(&self, data: &[u8]) -> (vk::Buffer, vk::DeviceMemory) {
        let info = vk::BufferCreateInfo::default()
            .size(data.len() as u64)
            .usage(vk::BufferUsageFlags::TRANSFER_SRC);
        // SAFETY: valid create info; the mapping covers data.
        unsafe {
            let buffer = self.device.create_buffer(&info, None).unwrap();
            let req = self.device.get_buffer_memory_requirements(buffer);
            let mem = self.memory(req.size);
            self.device.bind_buffer_memory(buffer, mem, 0).unwrap();
            let p = self
                .device
                .map_memory(mem, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
                .unwrap() as *mut u8;
            std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len());
            (buffer, mem)
        }
    }

    /// Copies `data` (tightly packed texels) to the whole of level 0 and
    /// waits.
    fn upload(&self, image: vk::Image, extent: [u32; 2], data: &[u8]) {
        let (buffer, mem) = self.buffer_with(data);
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
            image_offset: vk::Offset3D::default(),
            image_extent: vk::Extent3D {
                width: extent[0],
                height: extent[1],
                depth: 1,
            },
        };
        let barrier = vk::ImageMemoryBarrier::default()
            .dst_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .old_layout(vk::ImageLayout::UNDEFINED)
            .new_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
            .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .image(image)
            .subresource_range(vk::ImageSubresourceRange {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                base_mip_level: 0,
                level_count: 1,
                base_array_layer: 0,
                layer_count: 1,
            });
        let info = vk::CommandBufferAllocateInfo::default()
            .command_pool(self.pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: recording, submitting and waiting on valid objects.
        unsafe {
            let cb = self.device.allocate_command_buffers(&info).unwrap()[0];
            self.device
                .begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
                .unwrap();
            self.device.cmd_pipeline_barrier(
                cb,
                vk::PipelineStageFlags::TOP_OF_PIPE,
                vk::PipelineStageFlags::TRANSFER,
                vk::DependencyFlags::empty(),
                &[],
                &[],
                &[barrier],
            );
            self.device.cmd_copy_buffer_to_image(
                cb,
                buffer,
                image,
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                &[region],
            );
            self.device.end_command_buffer(cb).unwrap();
            let fence = self
                .device
                .create_fence(&vk::FenceCreateInfo::default(), None)
                .unwrap();
            let cbs = [cb];
            let submit = vk::SubmitInfo::default().command_buffers(&cbs);
            self.device
                .queue_submit(self.queue, &[submit], fence)
                .unwrap();
            self.device
                .wait_for_fences(&[fence], true, 10_000_000_000)
                .unwrap();
            self.device.destroy_fence(fence, None);
            self.device.free_command_buffers(self.pool, &cbs);
            self.device.destroy_buffer(buffer, None);
            self.device.free_memory(mem, None);
        }
    }

    fn modifier_of(&self, image: vk::Image) -> u64 {
        let mut p = vk::ImageDrmFormatModifierPropertiesEXT::default();
        // SAFETY: image was made with tiling DRM_FORMAT_MODIFIER_EXT.
        unsafe {
            self.drm
                .get_image_drm_format_modifier_properties(image, &mut p)
        }
        .unwrap();
        p.drm_format_modifier
    }

    fn plane_layout(&self, image: vk::Image) -> vk::SubresourceLayout {
        let sub = vk::ImageSubresource {
            aspect_mask: vk::ImageAspectFlags::MEMORY_PLANE_0_EXT,
            mip_level: 0,
            array_layer: 0,
        };
        // SAFETY: a modifier image, memory plane 0.
        unsafe { self.device.get_image_subresource_layout(image, sub) }
    }

    /// Binds new memory of the image's requirements; returns it.
    fn bind(&self, image: vk::Image) -> (vk::DeviceMemory, u64) {
        // SAFETY: valid image; memory of its requirements.
        unsafe {
            let req = self.device.get_image_memory_requirements(image);
            let mem = self.memory(req.size);
            self.device.bind_image_memory(image, mem, 0).unwrap();
            (mem, req.size)
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _loader = loader_lock();
        // SAFETY: teardown of what Dev made, device idle first.
        unsafe {
            let _ = self.device.device_wait_idle();
            self.device.destroy_command_pool(self.pool, None);
            self.device.destroy_device(None);
        }
    }
}

fn create_info(format: vk::Format, extent: [u32; 2]) -> vk::ImageCreateInfo<'static> {
    vk::ImageCreateInfo::default()
        .image_type(vk::ImageType::TYPE_2D)
        .format(format)
        .extent(vk::Extent3D {
            width: extent[0],
            height: extent[1],
            depth: 1,
        })
        .mip_levels(1)
        .array_layers(1)
        .samples(vk::SampleCountFlags::TYPE_1)
        .tiling(vk::ImageTiling::DRM_FORMAT_MODIFIER_EXT)
        .usage(vk::ImageUsageFlags::TRANSFER_SRC | vk::ImageUsageFlags::TRANSFER_DST)
}

/// An image with one explicit plane, or the error.
fn explicit(
    d: &Dev,
    format: vk::Format,
    extent: [u32; 2],
    modifier: u64,
    offset: u64,
    row_pitch: u64,
) -> Result<vk::Image, vk::Result> {
    let planes = [vk::SubresourceLayout {
        offset,
        size: 0,
        row_pitch,
        array_pitch: 0,
        depth_pitch: 0,
    }];
    let mut e = vk::ImageDrmFormatModifierExplicitCreateInfoEXT::default()
        .drm_format_modifier(modifier)
        .plane_layouts(&planes);
    let info = create_info(format, extent).push_next(&mut e);
    let mut image = vk::Image::null();
    // SAFETY: valid create info (raw call, to see the handle on failure).
    let r = unsafe {
        (d.device.fp_v1_0().create_image)(d.device.handle(), &info, std::ptr::null(), &mut image)
    };
    match r {
        vk::Result::SUCCESS => Ok(image),
        err => {
            assert_eq!(image, vk::Image::null(), "a refused create made a handle");
            Err(err)
        }
    }
}

fn modifier_list(c: &Ctx, format: vk::Format) -> Vec<vk::DrmFormatModifierPropertiesEXT> {
    let mut list = vk::DrmFormatModifierPropertiesListEXT::default();
    let mut props = vk::FormatProperties2::default().push_next(&mut list);
    // SAFETY: count query (null array).
    unsafe {
        c.instance
            .get_physical_device_format_properties2(c.pd, format, &mut props)
    };
    let n = list.drm_format_modifier_count as usize;
    let mut out = vec![vk::DrmFormatModifierPropertiesEXT::default(); n + 1];
    let mut list = vk::DrmFormatModifierPropertiesListEXT {
        drm_format_modifier_count: out.len() as u32,
        p_drm_format_modifier_properties: out.as_mut_ptr(),
        ..Default::default()
    };
    let mut props = vk::FormatProperties2::default().push_next(&mut list);
    // SAFETY: the array holds drmFormatModifierCount elements.
    unsafe {
        c.instance
            .get_physical_device_format_properties2(c.pd, format, &mut props)
    };
    assert_eq!(list.drm_format_modifier_count as usize, n, "fill count");
    out.truncate(n);
    out
}

fn image_format(
    c: &Ctx,
    format: vk::Format,
    modifier: u64,
    flags: vk::ImageCreateFlags,
) -> Result<vk::ImageFormatProperties, vk::Result> {
    let mut m = vk::PhysicalDeviceImageDrmFormatModifierInfoEXT::default()
        .drm_format_modifier(modifier)
        .sharing_mode(vk::SharingMode::EXCLUSIVE);
    let info = vk::PhysicalDeviceImageFormatInfo2::default()
        .format(format)
        .ty(vk::ImageType::TYPE_2D)
        .tiling(vk::ImageTiling::DRM_FORMAT_MODIFIER_EXT)
        .usage(vk::ImageUsageFlags::TRANSFER_SRC | vk::ImageUsageFlags::TRANSFER_DST)
        .flags(flags)
        .push_next(&mut m);
    let mut out = vk::ImageFormatProperties2::default();
    // SAFETY: valid query.
    unsafe {
        c.instance
            .get_physical_device_image_format_properties2(c.pd, &info, &mut out)
    }
    .map(|()| out.image_format_properties)
}

/// Tightly packed texels of `bytes` each, every one different.
fn texels(extent: [u32; 2], bytes: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(extent[0] as usize * extent[1] as usize * bytes);
    for y in 0..extent[1] {
        for x in 0..extent[0] {
            v.extend(texel(x, y, bytes));
        }
    }
    v
}

fn texel(x: u32, y: u32, bytes: usize) -> Vec<u8> {
    let w = ((y << 16) | x) ^ 0x5a00_0000;
    (0..bytes / 4)
        .flat_map(|i| (w.rotate_left(8 * i as u32) ^ i as u32).to_le_bytes())
        .collect()
}

/// U-order index of (x, y) in a 16x16 u-block, bit by bit.
fn u_index(x: u32, y: u32) -> u64 {
    let mut i = 0u64;
    for k in 0..4 {
        let (xk, yk) = ((x >> k) & 1, (y >> k) & 1);
        i |= u64::from(xk ^ yk) << (2 * k);
        i |= u64::from(yk) << (2 * k + 1);
    }
    i
}

/// Tile sides (texels) of a 64 KiB tile of `bytes`-byte texels: square when
/// the texel count is an even power of two, else twice as wide as high.
fn tile_sides(bytes: u64) -> (u64, u64) {
    let log = (TILE / bytes).trailing_zeros();
    let h = 1u64 << (log / 2);
    (1u64 << (log - log / 2), h)
}

/// Byte offset of texel (x, y) in an INTERLEAVED_64K plane `width` wide.
fn arm_offset(x: u32, y: u32, width: u32, bytes: u64) -> u64 {
    let (tw, th) = tile_sides(bytes);
    let (x, y) = (u64::from(x), u64::from(y));
    let tiles_per_row = u64::from(width).div_ceil(tw);
    let tile = (y / th) * tiles_per_row + x / tw;
    let (lx, ly) = (x % tw, y % th);
    let ublock = (ly / 16) * (tw / 16) + lx / 16;
    tile * TILE + (ublock * 256 + u_index((lx % 16) as u32, (ly % 16) as u32)) * bytes
}

#[test]
fn arm_layout_rule_worked_values() {
    assert_eq!(tile_sides(4), (128, 128));
    assert_eq!(tile_sides(8), (128, 64));
    assert_eq!(tile_sides(16), (64, 64));
    assert_eq!(u_index(1, 0), 1);
    assert_eq!(u_index(1, 1), 2);
    assert_eq!(u_index(0, 1), 3);
    assert_eq!(u_index(15, 15), 170);
    assert_eq!(arm_offset(17, 0, 256, 4), 1024 + 4);
    assert_eq!(arm_offset(0, 128, 256, 4), 2 * TILE);
}

#[test]
fn modifier_lists_name_linear_and_interleaved_64k() {
    let c = Ctx::new();
    for format in [vk::Format::R8G8B8A8_UNORM, vk::Format::R32G32B32A32_UINT] {
        let list = modifier_list(&c, format);
        // SAFETY: valid query.
        let f = unsafe {
            c.instance
                .get_physical_device_format_properties(c.pd, format)
        };
        let codes: Vec<u64> = list.iter().map(|p| p.drm_format_modifier).collect();
        assert_eq!(codes.len(), 2, "{format:?}: {codes:#x?}");
        for p in &list {
            assert_eq!(p.drm_format_modifier_plane_count, 1);
            let want = match p.drm_format_modifier {
                LINEAR => f.linear_tiling_features,
                INTERLEAVED_64K => f.optimal_tiling_features,
                other => panic!("{format:?}: unexpected modifier {other:#x}"),
            };
            assert_eq!(p.drm_format_modifier_tiling_features, want);
            assert!(!want.is_empty());
        }
    }
    // Formats images cannot hold have none (24-bit texels).
    assert!(modifier_list(&c, vk::Format::R8G8B8_UNORM).is_empty());
    // 8-bit texels have both on the virtual Mali (its shader cores copy them).
    assert_eq!(modifier_list(&c, vk::Format::R8_UNORM).len(), 2);
}

#[test]
fn image_format_properties_per_modifier() {
    let c = Ctx::new();
    let f = vk::Format::R8G8B8A8_UNORM;
    for m in [LINEAR, INTERLEAVED_64K] {
        let p = image_format(&c, f, m, vk::ImageCreateFlags::empty())
            .unwrap_or_else(|e| panic!("{m:#x}: {e:?}"));
        assert_eq!(p.max_mip_levels, 1);
        assert_eq!(p.max_array_layers, 1);
        assert_eq!(p.sample_counts, vk::SampleCountFlags::TYPE_1);
        assert!(p.max_extent.width >= 4096 && p.max_extent.height >= 4096);
        let sparse = vk::ImageCreateFlags::SPARSE_BINDING;
        assert_eq!(
            image_format(&c, f, m, sparse).err(),
            Some(vk::Result::ERROR_FORMAT_NOT_SUPPORTED)
        );
    }
    for unknown in [U_INTERLEAVED, 0x00ff_ffff_ffff_ffff, 0x0100_0000_0000_0001] {
        assert_eq!(
            image_format(&c, f, unknown, vk::ImageCreateFlags::empty()).err(),
            Some(vk::Result::ERROR_FORMAT_NOT_SUPPORTED),
            "{unknown:#x}"
        );
    }
    // A compressed format has the tiled layout only.
    let bc1 = vk::Format::BC1_RGBA_UNORM_BLOCK;
    assert!(image_format(&c, bc1, INTERLEAVED_64K, vk::ImageCreateFlags::empty()).is_ok());
    assert_eq!(
        image_format(&c, bc1, LINEAR, vk::ImageCreateFlags::empty()).err(),
        Some(vk::Result::ERROR_FORMAT_NOT_SUPPORTED)
    );
}

#[test]
fn list_create_picks_interleaved_64k() {
    let d = Dev::new(false);
    for (codes, want) in [
        (vec![LINEAR, INTERLEAVED_64K], INTERLEAVED_64K),
        (vec![U_INTERLEAVED, LINEAR], LINEAR),
        (vec![INTERLEAVED_64K], INTERLEAVED_64K),
    ] {
        let mut list =
            vk::ImageDrmFormatModifierListCreateInfoEXT::default().drm_format_modifiers(&codes);
        let info = create_info(vk::Format::R8G8B8A8_UNORM, [300, 200]).push_next(&mut list);
        // SAFETY: valid create info.
        let image = unsafe { d.device.create_image(&info, None) }.unwrap();
        assert_eq!(d.modifier_of(image), want, "{codes:#x?}");
        let l = d.plane_layout(image);
        // SAFETY: valid image.
        let req = unsafe { d.device.get_image_memory_requirements(image) };
        if want == INTERLEAVED_64K {
            // 3x2 tiles of 128x128; rowPitch = a row of tiles.
            assert_eq!((l.offset, l.size, l.row_pitch), (0, 6 * TILE, 3 * TILE));
            assert_eq!(req.size, 6 * TILE);
        } else {
            assert_eq!((l.offset, l.row_pitch), (0, 1216));
            assert_eq!(l.size, 1216 * 200);
        }
        // SAFETY: unused image.
        unsafe { d.device.destroy_image(image, None) };
    }
}

#[test]
fn explicit_linear_row_pitch_places_texels() {
    let d = Dev::new(false);
    let (extent, bytes) = ([100u32, 37u32], 4u64);
    let (offset, pitch) = (256u64, 512u64);
    let image = explicit(
        &d,
        vk::Format::R8G8B8A8_UNORM,
        extent,
        LINEAR,
        offset,
        pitch,
    )
    .expect("explicit LINEAR");
    assert_eq!(d.modifier_of(image), LINEAR);
    let l = d.plane_layout(image);
    assert_eq!((l.offset, l.row_pitch), (offset, pitch));
    let (mem, size) = d.bind(image);
    assert!(size >= offset + pitch * u64::from(extent[1]));
    let data = texels(extent, bytes as usize);
    d.upload(image, extent, &data);
    let bytes_of = d.map(mem, size);
    for y in 0..extent[1] {
        for x in 0..extent[0] {
            let at = (offset + u64::from(y) * pitch + u64::from(x) * bytes) as usize;
            assert_eq!(
                &bytes_of[at..at + bytes as usize],
                &texel(x, y, bytes as usize)[..],
                "texel ({x}, {y})"
            );
        }
    }
    // Nothing before the plane was written.
    assert!(bytes_of[..offset as usize].iter().all(|&b| b == 0));
    // SAFETY: idle; unused afterwards.
    unsafe {
        d.device.destroy_image(image, None);
        d.device.free_memory(mem, None);
    }
}

#[test]
fn explicit_interleaved_64k_places_texels_as_arm_layout() {
    let d = Dev::new(false);
    for (format, bytes, extent, offset) in [
        (vk::Format::R8G8B8A8_UNORM, 4u64, [300u32, 200u32], 0u64),
        (vk::Format::R32G32_UINT, 8, [200, 130], TILE),
        (vk::Format::R32G32B32A32_UINT, 16, [70, 90], 2 * TILE),
    ] {
        let (tw, th) = tile_sides(bytes);
        let tiles = [
            u64::from(extent[0]).div_ceil(tw),
            u64::from(extent[1]).div_ceil(th),
        ];
        let row_pitch = tiles[0] * TILE;
        let image = explicit(&d, format, extent, INTERLEAVED_64K, offset, row_pitch)
            .unwrap_or_else(|e| panic!("{format:?}: {e:?}"));
        assert_eq!(d.modifier_of(image), INTERLEAVED_64K);
        let l = d.plane_layout(image);
        assert_eq!(
            (l.offset, l.size, l.row_pitch),
            (offset, tiles[0] * tiles[1] * TILE, row_pitch)
        );
        let (mem, size) = d.bind(image);
        assert_eq!(size, offset + tiles[0] * tiles[1] * TILE);
        d.upload(image, extent, &texels(extent, bytes as usize));
        let mapped = d.map(mem, size);
        for y in 0..extent[1] {
            for x in 0..extent[0] {
                let at = (offset + arm_offset(x, y, extent[0], bytes)) as usize;
                assert_eq!(
                    &mapped[at..at + bytes as usize],
                    &texel(x, y, bytes as usize)[..],
                    "{format:?} texel ({x}, {y}) at {at:#x}"
                );
            }
        }
        // SAFETY: idle; unused afterwards.
        unsafe {
            d.device.destroy_image(image, None);
            d.device.free_memory(mem, None);
        }
    }
}

#[test]
fn wrong_explicit_plane_layouts_are_refused() {
    let d = Dev::new(false);
    let f = vk::Format::R8G8B8A8_UNORM;
    let bad = vk::Result::ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
    // 300x200: 3 tiles per row.
    for (offset, pitch) in [(0, 2 * TILE), (0, 1200), (4096, 3 * TILE)] {
        assert_eq!(
            explicit(&d, f, [300, 200], INTERLEAVED_64K, offset, pitch),
            Err(bad),
            "INTERLEAVED_64K offset {offset:#x} rowPitch {pitch:#x}"
        );
    }
    // 100 texels = 400 bytes per row: short, unaligned pitch, unaligned offset.
    for (offset, pitch) in [(0, 384), (0, 404), (32, 448)] {
        assert_eq!(
            explicit(&d, f, [100, 10], LINEAR, offset, pitch),
            Err(bad),
            "LINEAR offset {offset:#x} rowPitch {pitch}"
        );
    }
    // What we would produce is accepted.
    let ok = explicit(&d, f, [300, 200], INTERLEAVED_64K, 0, 3 * TILE).unwrap();
    // SAFETY: unused image.
    unsafe { d.device.destroy_image(ok, None) };
}

#[test]
fn modifier_image_passes_validation() {
    let d = Dev::new(true);
    let f = vk::Format::R8G8B8A8_UNORM;
    let list = modifier_list(&d.c, f);
    assert_eq!(list.len(), 2);
    let codes: Vec<u64> = list.iter().map(|p| p.drm_format_modifier).collect();
    let mut l = vk::ImageDrmFormatModifierListCreateInfoEXT::default().drm_format_modifiers(&codes);
    let info = create_info(f, [64, 64]).push_next(&mut l);
    // SAFETY: valid create info.
    let image = unsafe { d.device.create_image(&info, None) }.unwrap();
    assert_eq!(d.modifier_of(image), INTERLEAVED_64K);
    let layout = d.plane_layout(image);
    assert_eq!(layout.row_pitch, TILE);
    let (mem, size) = d.bind(image);
    d.upload(image, [64, 64], &texels([64, 64], 4));
    let mapped = d.map(mem, size);
    let at = arm_offset(5, 7, 64, 4) as usize;
    assert_eq!(&mapped[at..at + 4], &texel(5, 7, 4)[..]);
    // SAFETY: idle; unused afterwards.
    unsafe {
        d.device.destroy_image(image, None);
        d.device.free_memory(mem, None);
    }
    drop(d);
    // Only this test of the binary has a messenger.
    assert_eq!(
        VALIDATION_ERRORS.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "validation errors"
    );
}
