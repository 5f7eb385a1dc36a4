//! External memory through the real loader (`VK_KHR_external_memory_fd`,
//! `VK_EXT_external_memory_dma_buf`): memory exported as a dma-buf by one
//! Vulkan device and imported by another (two instances in this process, on
//! one GPU, as two APIs or two libraries would share it), with bytes written
//! on one side's GPU read back through the other's, buffers and a
//! DRM-modifier image alike; imports of our own exports; refused imports
//! that leave the application's fd open.

mod common;

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};

use ash::vk;
use common::*;

const EXTS: &[&CStr] = &[
    ash::khr::external_memory::NAME,
    ash::khr::external_memory_fd::NAME,
    ash::ext::external_memory_dma_buf::NAME,
    ash::khr::image_format_list::NAME,
    ash::ext::image_drm_format_modifier::NAME,
];

const DMA_BUF: vk::ExternalMemoryHandleTypeFlags = vk::ExternalMemoryHandleTypeFlags::DMA_BUF_EXT;
const SIZE: u64 = 256 << 10;
/// `fourcc_mod_code(ARM, (DRM_FORMAT_MOD_ARM_TYPE_MISC << 52) | 2)`.
const INTERLEAVED_64K: u64 = (0x08 << 56) | (0x1 << 52) | 2;

fn ctx(validation: bool) -> Ctx {
    Ctx::with_extensions(validation, EXTS)
}

fn fd_api(c: &Ctx) -> ash::khr::external_memory_fd::Device {
    ash::khr::external_memory_fd::Device::new(&c.instance, &c.device)
}

/// Memory that may be exported as a dma-buf, optionally dedicated to `image`.
fn exportable(c: &Ctx, size: u64, image: Option<vk::Image>) -> vk::DeviceMemory {
    let mut export = vk::ExportMemoryAllocateInfo::default().handle_types(DMA_BUF);
    let mut dedicated = vk::MemoryDedicatedAllocateInfo::default().image(image.unwrap_or_default());
    let mut info = vk::MemoryAllocateInfo::default()
        .allocation_size(size)
        .memory_type_index(0)
        .push_next(&mut export);
    if image.is_some() {
        info = info.push_next(&mut dedicated);
    }
    // SAFETY: valid allocate info.
    unsafe { c.device.allocate_memory(&info, None) }.expect("exportable vkAllocateMemory")
}

/// Exports `mem` as a dma-buf fd.
fn export(c: &Ctx, mem: vk::DeviceMemory) -> OwnedFd {
    let info = vk::MemoryGetFdInfoKHR::default()
        .memory(mem)
        .handle_type(DMA_BUF);
    // SAFETY: valid info; the fd returned is ours.
    let fd = unsafe { fd_api(c).get_memory_fd(&info) }.expect("vkGetMemoryFdKHR");
    assert!(fd >= 0);
    // SAFETY: vkGetMemoryFdKHR hands us a new fd to own.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Imports `fd` (a dma-buf) as `size` bytes of memory; on success the
/// driver owns the fd, on failure it is given back.
fn import(
    c: &Ctx,
    fd: OwnedFd,
    size: u64,
    image: Option<vk::Image>,
) -> Result<vk::DeviceMemory, (vk::Result, OwnedFd)> {
    let raw = fd.into_raw_fd();
    let mut import = vk::ImportMemoryFdInfoKHR::default()
        .handle_type(DMA_BUF)
        .fd(raw);
    let mut dedicated = vk::MemoryDedicatedAllocateInfo::default().image(image.unwrap_or_default());
    let mut info = vk::MemoryAllocateInfo::default()
        .allocation_size(size)
        .memory_type_index(0)
        .push_next(&mut import);
    if image.is_some() {
        info = info.push_next(&mut dedicated);
    }
    // SAFETY: valid allocate info.
    unsafe { c.device.allocate_memory(&info, None) }
        // SAFETY: a failed import leaves the fd with us (the spec's rule).
        .map_err(|e| (e, unsafe { OwnedFd::from_raw_fd(raw) }))
}

fn dup(fd: &OwnedFd) -> OwnedFd {
    fd.try_clone().expect("dup")
}

/// A transfer buffer of `size` bytes bound at the start of `mem`.
fn buffer_on(c: &Ctx, mem: vk::DeviceMemory, size: u64) -> vk::Buffer {
    let mut ext = vk::ExternalMemoryBufferCreateInfo::default().handle_types(DMA_BUF);
    let info = vk::BufferCreateInfo::default()
        .size(size)
        .usage(vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST)
        .push_next(&mut ext);
    // SAFETY: valid create info; memory large enough.
    unsafe {
        let b = c.device.create_buffer(&info, None).unwrap();
        c.device.bind_buffer_memory(b, mem, 0).unwrap();
        b
    }
}

/// `buf`'s `len` bytes at `offset`, read back through `c`'s GPU.
fn gpu_read(c: &Ctx, buf: vk::Buffer, offset: u64, len: u64) -> Vec<u8> {
    let out = c.dense(len);
    c.run(|cb| c.copy(cb, buf, offset, out.buffer, 0, len));
    let bytes = out.read(0, len as usize);
    c.destroy_buffer(out.buffer);
    c.free_memory(out.memory);
    bytes
}

/// Writes `data` to `buf` at `offset` through `c`'s GPU.
fn gpu_write(c: &Ctx, buf: vk::Buffer, offset: u64, data: &[u8]) {
    let src = c.dense(data.len() as u64);
    src.write(0, data);
    c.run(|cb| c.copy(cb, src.buffer, 0, buf, offset, data.len() as u64));
    c.destroy_buffer(src.buffer);
    c.free_memory(src.memory);
}

/// Destroys `buf` and frees `mem` (their work is done).
fn free(c: &Ctx, mem: vk::DeviceMemory, buf: vk::Buffer) {
    // SAFETY: the caller's work with both has completed.
    unsafe {
        c.device.destroy_buffer(buf, None);
        c.device.free_memory(mem, None);
    }
}

fn lseek_end(fd: &OwnedFd) -> i64 {
    // SAFETY: lseek on an fd we own.
    unsafe { libc::lseek(fd.as_raw_fd(), 0, libc::SEEK_END) }
}

fn is_open(raw: i32) -> bool {
    // SAFETY: F_GETFD only asks about the descriptor.
    unsafe { libc::fcntl(raw, libc::F_GETFD) >= 0 }
}

#[test]
fn dma_buf_carries_bytes_both_ways_between_devices() {
    let a = ctx(true);
    let b = ctx(true);
    let mem_a = exportable(&a, SIZE, None);
    let buf_a = buffer_on(&a, mem_a, SIZE);
    let data = pattern(41, SIZE as usize);
    gpu_write(&a, buf_a, 0, &data);

    let fd = export(&a, mem_a);
    assert_eq!(lseek_end(&fd), SIZE as i64, "the dma-buf's size");
    let mut props = vk::MemoryFdPropertiesKHR::default();
    // SAFETY: a valid dma-buf fd, borrowed for the call.
    unsafe { fd_api(&b).get_memory_fd_properties(DMA_BUF, fd.as_raw_fd(), &mut props) }
        .expect("vkGetMemoryFdPropertiesKHR");
    assert_eq!(props.memory_type_bits, 1);

    let raw = fd.as_raw_fd();
    let mem_b = import(&b, fd, SIZE, None).map_err(|e| e.0).expect("import");
    assert!(!is_open(raw), "a successful import takes (closes) the fd");
    let buf_b = buffer_on(&b, mem_b, SIZE);
    assert!(
        gpu_read(&b, buf_b, 0, SIZE) == data,
        "B's GPU reads A's bytes"
    );
    assert!(mapped(&b, mem_b, SIZE) == data.as_slice(), "B's mapping");

    let stamp = pattern(7, 64 << 10);
    gpu_write(&b, buf_b, 64 << 10, &stamp);
    let back = gpu_read(&a, buf_a, 0, SIZE);
    assert!(
        back[64 << 10..128 << 10] == stamp[..],
        "A sees B's GPU write"
    );
    assert!(back[..64 << 10] == data[..64 << 10] && back[128 << 10..] == data[128 << 10..]);

    // The BO outlives the exporter's memory object: B still has it.
    // SAFETY: A's work on these is done.
    unsafe {
        a.device.destroy_buffer(buf_a, None);
        a.device.free_memory(mem_a, None);
    }
    assert!(gpu_read(&b, buf_b, 64 << 10, 64 << 10) == stamp);
    // SAFETY: B's work on these is done.
    unsafe {
        b.device.destroy_buffer(buf_b, None);
        b.device.free_memory(mem_b, None);
    }
    assert_eq!(a.validation_errors(), 0);
    assert_eq!(b.validation_errors(), 0);
}

#[test]
fn importing_our_own_export_shares_one_bo() {
    let c = ctx(false);
    let mem = exportable(&c, SIZE, None);
    let fd = export(&c, mem);
    // Twice: the kernel gives the same GEM handle each time, so the
    // driver must count its users.
    let again = import(&c, dup(&fd), SIZE, None).map_err(|e| e.0).unwrap();
    let third = import(&c, fd, 64 << 10, None).map_err(|e| e.0).unwrap();
    let data = pattern(3, SIZE as usize);
    let buf = buffer_on(&c, mem, SIZE);
    gpu_write(&c, buf, 0, &data);
    free(&c, mem, buf);
    let buf2 = buffer_on(&c, again, SIZE);
    assert!(
        gpu_read(&c, buf2, 0, SIZE) == data,
        "after the original is freed"
    );
    free(&c, again, buf2);
    let buf3 = buffer_on(&c, third, 64 << 10);
    assert!(
        gpu_read(&c, buf3, 0, 64 << 10) == data[..64 << 10],
        "the last import"
    );
    free(&c, third, buf3);
}

#[test]
fn refused_imports_leave_the_fd_open() {
    let c = ctx(false);
    let mut fds = [0i32; 2];
    // SAFETY: pipe writes two new fds into our array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both were just opened and are owned here.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let (e, r) = import(&c, r, SIZE, None).unwrap_err();
    assert_eq!(e, vk::Result::ERROR_INVALID_EXTERNAL_HANDLE, "a pipe");
    assert!(is_open(r.as_raw_fd()));
    let mut props = vk::MemoryFdPropertiesKHR::default();
    // SAFETY: an open fd, borrowed for the call.
    let e = unsafe { fd_api(&c).get_memory_fd_properties(DMA_BUF, r.as_raw_fd(), &mut props) };
    assert_eq!(e, Err(vk::Result::ERROR_INVALID_EXTERNAL_HANDLE));
    drop((r, w));

    let mem = exportable(&c, SIZE, None);
    let fd = export(&c, mem);
    let (e, fd) = import(&c, fd, 2 * SIZE, None).unwrap_err();
    assert_eq!(
        e,
        vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
        "larger than the dma-buf"
    );
    assert!(is_open(fd.as_raw_fd()));
    let e = unsafe {
        // SAFETY: an open fd, borrowed for the call.
        fd_api(&c).get_memory_fd_properties(
            vk::ExternalMemoryHandleTypeFlags::OPAQUE_FD,
            fd.as_raw_fd(),
            &mut props,
        )
    };
    assert_eq!(
        e,
        Err(vk::Result::ERROR_INVALID_EXTERNAL_HANDLE),
        "OPAQUE_FD properties"
    );
    // SAFETY: nothing uses the memory.
    unsafe { c.device.free_memory(mem, None) };
}

#[test]
fn external_properties_exclude_sparse_resources() {
    let c = ctx(false);
    let query = |flags: vk::BufferCreateFlags, ty| {
        let info = vk::PhysicalDeviceExternalBufferInfo::default()
            .flags(flags)
            .usage(vk::BufferUsageFlags::TRANSFER_SRC)
            .handle_type(ty);
        let mut out = vk::ExternalBufferProperties::default();
        // SAFETY: valid query.
        unsafe {
            c.instance
                .get_physical_device_external_buffer_properties(c.pd, &info, &mut out)
        };
        out.external_memory_properties
    };
    let both =
        vk::ExternalMemoryFeatureFlags::EXPORTABLE | vk::ExternalMemoryFeatureFlags::IMPORTABLE;
    for ty in [DMA_BUF, vk::ExternalMemoryHandleTypeFlags::OPAQUE_FD] {
        let p = query(vk::BufferCreateFlags::empty(), ty);
        assert_eq!(p.external_memory_features, both, "{ty:?}");
        assert!(p.compatible_handle_types.contains(ty));
    }
    let sparse = query(vk::BufferCreateFlags::SPARSE_BINDING, DMA_BUF);
    assert!(sparse.external_memory_features.is_empty());
    let opaque_win32 = query(
        vk::BufferCreateFlags::empty(),
        vk::ExternalMemoryHandleTypeFlags::OPAQUE_WIN32,
    );
    assert!(opaque_win32.external_memory_features.is_empty());

    let image = |flags: vk::ImageCreateFlags| {
        let mut ext = vk::PhysicalDeviceExternalImageFormatInfo::default().handle_type(DMA_BUF);
        let info = vk::PhysicalDeviceImageFormatInfo2::default()
            .format(vk::Format::R8G8B8A8_UNORM)
            .ty(vk::ImageType::TYPE_2D)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(vk::ImageUsageFlags::TRANSFER_SRC)
            .flags(flags)
            .push_next(&mut ext);
        let mut ext_out = vk::ExternalImageFormatProperties::default();
        let mut out = vk::ImageFormatProperties2::default().push_next(&mut ext_out);
        // SAFETY: valid query.
        let r = unsafe {
            c.instance
                .get_physical_device_image_format_properties2(c.pd, &info, &mut out)
        };
        r.map(|()| ext_out.external_memory_properties.external_memory_features)
    };
    assert_eq!(image(vk::ImageCreateFlags::empty()), Ok(both));
    assert_eq!(
        image(vk::ImageCreateFlags::SPARSE_BINDING),
        Err(vk::Result::ERROR_FORMAT_NOT_SUPPORTED)
    );
}

/// An `INTERLEAVED_64K` image made by one device travels as a dma-buf plus
/// its modifier and plane layout; the other device rebuilds it with an
/// explicit modifier and reads the same texels through its GPU.
#[test]
fn modifier_image_travels_as_a_dma_buf() {
    let a = ctx(true);
    let b = ctx(true);
    let format = vk::Format::R8G8B8A8_UNORM;
    let (w, h) = (300u32, 200u32);
    let make = |c: &Ctx, explicit: Option<vk::SubresourceLayout>| {
        let mods = [INTERLEAVED_64K];
        let mut list =
            vk::ImageDrmFormatModifierListCreateInfoEXT::default().drm_format_modifiers(&mods);
        let planes = explicit.map(|p| [p]);
        let mut exp = vk::ImageDrmFormatModifierExplicitCreateInfoEXT::default()
            .drm_format_modifier(INTERLEAVED_64K);
        if let Some(p) = planes.as_ref() {
            exp = exp.plane_layouts(p);
        }
        let mut ext = vk::ExternalMemoryImageCreateInfo::default().handle_types(DMA_BUF);
        let mut info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(format)
            .extent(vk::Extent3D {
                width: w,
                height: h,
                depth: 1,
            })
            .mip_levels(1)
            .array_layers(1)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::DRM_FORMAT_MODIFIER_EXT)
            .usage(vk::ImageUsageFlags::TRANSFER_SRC | vk::ImageUsageFlags::TRANSFER_DST)
            .push_next(&mut ext);
        info = match explicit {
            Some(_) => info.push_next(&mut exp),
            None => info.push_next(&mut list),
        };
        // SAFETY: valid create info.
        unsafe { c.device.create_image(&info, None) }.expect("modifier vkCreateImage")
    };
    let region = vk::BufferImageCopy {
        image_subresource: layers(0, 0, 1),
        image_extent: vk::Extent3D {
            width: w,
            height: h,
            depth: 1,
        },
        ..Default::default()
    };
    let bytes = (w * h * 4) as u64;
    let data = pattern(99, bytes as usize);

    let img_a = make(&a, None);
    // SAFETY: a valid image.
    let req = unsafe { a.device.get_image_memory_requirements(img_a) };
    let mem_a = exportable(&a, req.size, Some(img_a));
    // SAFETY: memory of the image's requirements.
    unsafe { a.device.bind_image_memory(img_a, mem_a, 0) }.unwrap();
    let src = a.dense(bytes);
    src.write(0, &data);
    a.run(|cb| {
        to_layout(&a, cb, img_a, vk::ImageLayout::TRANSFER_DST_OPTIMAL);
        // SAFETY: recording a copy between valid objects.
        unsafe {
            a.device.cmd_copy_buffer_to_image(
                cb,
                src.buffer,
                img_a,
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                &[region],
            )
        };
    });
    let drm = ash::ext::image_drm_format_modifier::Device::new(&a.instance, &a.device);
    let mut mp = vk::ImageDrmFormatModifierPropertiesEXT::default();
    // SAFETY: a modifier image.
    unsafe { drm.get_image_drm_format_modifier_properties(img_a, &mut mp) }.unwrap();
    assert_eq!(mp.drm_format_modifier, INTERLEAVED_64K);
    let sub = vk::ImageSubresource {
        aspect_mask: vk::ImageAspectFlags::MEMORY_PLANE_0_EXT,
        mip_level: 0,
        array_layer: 0,
    };
    // SAFETY: memory plane 0 of a modifier image.
    let mut plane = unsafe { a.device.get_image_subresource_layout(img_a, sub) };
    let fd = export(&a, mem_a);
    let size = lseek_end(&fd) as u64;

    plane.size = 0; // an explicit layout gives no size (VUID-...-size-02267)
    let img_b = make(&b, Some(plane));
    let mem_b = import(&b, fd, size, Some(img_b)).map_err(|e| e.0).unwrap();
    // SAFETY: imported memory as large as the exporter's image.
    unsafe { b.device.bind_image_memory(img_b, mem_b, 0) }.unwrap();
    let out = b.dense(bytes);
    b.run(|cb| {
        to_layout(&b, cb, img_b, vk::ImageLayout::TRANSFER_SRC_OPTIMAL);
        // SAFETY: recording a copy between valid objects.
        unsafe {
            b.device.cmd_copy_image_to_buffer(
                cb,
                img_b,
                vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                out.buffer,
                &[region],
            )
        };
    });
    assert!(
        out.read(0, bytes as usize) == data,
        "B's GPU reads A's texels"
    );
    // SAFETY: teardown after the work completed.
    unsafe {
        a.device.destroy_image(img_a, None);
        a.device.free_memory(mem_a, None);
        b.device.destroy_image(img_b, None);
        b.device.free_memory(mem_b, None);
    }
    assert_eq!(a.validation_errors(), 0);
    assert_eq!(b.validation_errors(), 0);
}
