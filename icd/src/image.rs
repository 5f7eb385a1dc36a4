//! `VkImage`: a format, an extent and an [`ImageLayout`] (where every texel
//! block lives, see `layout/`). An ordinary image gets its GPU address when
//! bound; a sparse image reserves its VA at creation, like a sparse buffer,
//! and binds map 64 KiB tiles (block binds) or byte ranges (opaque binds).
//!
//! An image with tiling `DRM_FORMAT_MODIFIER_EXT` has one of the modifiers
//! of `modifier.rs`, chosen from a list or given with an explicit plane
//! layout, and its one memory plane starts `plane_offset` bytes into its
//! memory binding.

use std::sync::atomic::{AtomicU64, Ordering};

use ash::vk;

use crate::device::{Device, DeviceRef};
use crate::format::{check_image, dim_of, image_block, single_miptail, sparse_format_properties};
use crate::guard::{guard, guard_void, VkError, VkResult};
use crate::layout::{Dim, ImageDesc, ImageLayout, MipTailMode, TexelBlock, Tiling};
use crate::memory::{fill_requirements2, memory_ref};
use crate::modifier::{self, Modifier};
use crate::physical_device::SPARSE_BLOCK;
use crate::sparse::SparseRange;
use crate::{chain, handle, vk_bail};

pub struct Image {
    pub dev: DeviceRef,
    pub format: vk::Format,
    pub ty: vk::ImageType,
    pub usage: vk::ImageUsageFlags,
    pub flags: vk::ImageCreateFlags,
    pub tiling: vk::ImageTiling,
    pub block: TexelBlock,
    pub layout: ImageLayout,
    pub sparse: Option<SparseRange>,
    /// The DRM format modifier (tiling `DRM_FORMAT_MODIFIER_EXT` only).
    pub modifier: Option<Modifier>,
    /// Where the layout's byte 0 (the memory plane) sits in the image's
    /// memory binding: an explicit plane layout's `offset`, else 0.
    plane_offset: u64,
    /// GPU VA of byte 0 once bound (0 = not bound).
    address: AtomicU64,
}

/// The layout an image create info describes (for tiling
/// `DRM_FORMAT_MODIFIER_EXT` see [`plan`]).
pub fn layout_for(info: &vk::ImageCreateInfo<'_>, block: TexelBlock) -> VkResult<ImageLayout> {
    layout_of(&desc_for(info, block)?)
}

fn desc_for(info: &vk::ImageCreateInfo<'_>, block: TexelBlock) -> VkResult<ImageDesc> {
    let dim = dim_of(info.image_type)
        .ok_or_else(|| VkError::new(vk::Result::ERROR_UNKNOWN, "bad image type"))?;
    let tiling = match (info.tiling, dim) {
        // 1D images are never sparse; rows are their natural layout.
        (vk::ImageTiling::OPTIMAL, Dim::D1) => Tiling::Linear,
        (vk::ImageTiling::OPTIMAL, _) => Tiling::Interleaved64K,
        _ => Tiling::Linear,
    };
    let desc = ImageDesc {
        dim,
        extent: [info.extent.width, info.extent.height, info.extent.depth],
        levels: info.mip_levels,
        layers: info.array_layers,
        samples: info.samples.as_raw(),
        block,
        tiling,
        mip_tail: if single_miptail() {
            MipTailMode::Single
        } else {
            MipTailMode::PerLayer
        },
    };
    Ok(desc)
}

fn layout_of(desc: &ImageDesc) -> VkResult<ImageLayout> {
    ImageLayout::new(desc)
        .map_err(|e| VkError::new(vk::Result::ERROR_UNKNOWN, format!("image layout: {e}")))
}

fn is_sparse(flags: vk::ImageCreateFlags) -> bool {
    flags.contains(vk::ImageCreateFlags::SPARSE_BINDING)
}

/// What an image create info makes: its texel block, layout, modifier and
/// plane offset.
struct Plan {
    block: TexelBlock,
    layout: ImageLayout,
    modifier: Option<Modifier>,
    plane_offset: u64,
}

impl Plan {
    fn requirements(&self, flags: vk::ImageCreateFlags) -> vk::MemoryRequirements {
        requirements(&self.layout, flags, self.plane_offset)
    }
}

/// Checks a create info and works out its layout; for tiling
/// `DRM_FORMAT_MODIFIER_EXT`, also which modifier and where the plane is.
///
/// # Safety
/// `info`'s chain is valid.
unsafe fn plan(caps: crate::format::Caps, info: &vk::ImageCreateInfo<'_>) -> VkResult<Plan> {
    // SAFETY: the chain is valid (the caller's contract). The view formats
    // of a format list are accepted: views are only recorded so far.
    let _formats = unsafe { chain::find::<vk::ImageFormatListCreateInfo<'_>>(info.p_next) };
    if info.tiling != vk::ImageTiling::DRM_FORMAT_MODIFIER_EXT {
        let block = check_image(caps, info)?;
        let layout = layout_for(info, block)?;
        return Ok(Plan {
            block,
            layout,
            modifier: None,
            plane_offset: 0,
        });
    }
    // SAFETY: as above.
    let (list, explicit) = unsafe {
        (
            chain::find::<vk::ImageDrmFormatModifierListCreateInfoEXT<'_>>(info.p_next),
            chain::find::<vk::ImageDrmFormatModifierExplicitCreateInfoEXT<'_>>(info.p_next),
        )
    };
    let usable = |m: Modifier| modifier::check_create(caps, info, m);
    let block = |m: Modifier| {
        image_block(info.format, caps).ok_or_else(|| {
            VkError::new(
                vk::Result::ERROR_UNKNOWN,
                format!("{m:?}: unsupported format"),
            )
        })
    };
    match (list, explicit) {
        (Some(list), None) => {
            // SAFETY: the list holds drmFormatModifierCount codes.
            let codes = unsafe {
                handle::slice(list.p_drm_format_modifiers, list.drm_format_modifier_count)
            };
            let mut why = Vec::new();
            for m in Modifier::ALL {
                if !codes.contains(&m.code()) {
                    continue;
                }
                match usable(m) {
                    Ok(()) => {
                        let block = block(m)?;
                        let mut desc = desc_for(info, block)?;
                        desc.tiling = m.layout_tiling();
                        return Ok(Plan {
                            block,
                            layout: layout_of(&desc)?,
                            modifier: Some(m),
                            plane_offset: 0,
                        });
                    }
                    Err(e) => why.push(e.why),
                }
            }
            // Every listed modifier must be compatible (VUID-VkImage
            // DrmFormatModifierListCreateInfoEXT-pDrmFormatModifiers-02263),
            // so no error code is specified: refused like other invalid
            // create infos.
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "vkCreateImage: no usable modifier in {codes:#x?} ({})",
                why.join("; ")
            );
        }
        (None, Some(e)) => {
            let Some(m) = Modifier::from_code(e.drm_format_modifier) else {
                vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "vkCreateImage: modifier {:#018x} is not supported",
                    e.drm_format_modifier
                );
            };
            if let Err(err) = usable(m) {
                vk_bail!(vk::Result::ERROR_UNKNOWN, "vkCreateImage: {}", err.why);
            }
            // SAFETY: pPlaneLayouts holds drmFormatModifierPlaneCount layouts.
            let planes =
                unsafe { handle::slice(e.p_plane_layouts, e.drm_format_modifier_plane_count) };
            let [plane] = planes else {
                vk_bail!(
                    vk::Result::ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT,
                    "{m:?} has one memory plane, not {}",
                    planes.len()
                );
            };
            let block = block(m)?;
            let mut desc = desc_for(info, block)?;
            desc.tiling = m.layout_tiling();
            let natural = layout_of(&desc)?;
            let ours = natural
                .subresource(0, 0)
                .ok_or_else(|| VkError::new(vk::Result::ERROR_UNKNOWN, "image without level 0"))?;
            let layout = match m {
                Modifier::Interleaved64K => {
                    modifier::check_interleaved_plane(plane, ours.row_pitch, ours.size)?;
                    natural
                }
                Modifier::Linear => {
                    let pitch =
                        modifier::check_linear_plane(info.format, info.extent.width, plane)?;
                    if pitch == ours.row_pitch {
                        natural
                    } else {
                        // The layout module has no pitch parameter: a linear
                        // image whose rows are `pitch` bytes apart is laid
                        // out as one `pitch / texel bytes` texels wide (a
                        // multiple of 64 bytes, so its natural pitch is
                        // exactly `pitch`). Transfers address it the same;
                        // the extra texels are the row padding.
                        desc.extent[0] = (pitch / u64::from(block.bytes)) as u32;
                        let wide = layout_of(&desc)?;
                        if wide.subresource(0, 0).map(|s| s.row_pitch) != Some(pitch) {
                            vk_bail!(
                                vk::Result::ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT,
                                "LINEAR rowPitch {pitch} cannot be laid out"
                            );
                        }
                        wide
                    }
                }
            };
            if plane.offset.checked_add(layout.size()).is_none() {
                vk_bail!(
                    vk::Result::ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT,
                    "plane offset {:#x} overflows",
                    plane.offset
                );
            }
            Ok(Plan {
                block,
                layout,
                modifier: Some(m),
                plane_offset: plane.offset,
            })
        }
        _ => vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "tiling DRM_FORMAT_MODIFIER_EXT needs exactly one of \
             VkImageDrmFormatModifierListCreateInfoEXT and \
             VkImageDrmFormatModifierExplicitCreateInfoEXT"
        ),
    }
}

/// Memory requirements of an image of `layout` whose plane starts
/// `plane_offset` bytes into its binding.
fn requirements(
    layout: &ImageLayout,
    flags: vk::ImageCreateFlags,
    plane_offset: u64,
) -> vk::MemoryRequirements {
    let align = if is_sparse(flags) {
        SPARSE_BLOCK
    } else {
        layout.alignment()
    };
    vk::MemoryRequirements {
        size: (plane_offset + layout.size()).next_multiple_of(align),
        alignment: align,
        memory_type_bits: 1,
    }
}

/// `VkSparseImageMemoryRequirements` of a sparse image.
fn sparse_requirements(
    layout: &ImageLayout,
    dim: Dim,
    block: TexelBlock,
) -> Option<vk::SparseImageMemoryRequirements> {
    let format_properties = sparse_format_properties(dim, block)?;
    let tail = layout.mip_tail();
    Some(vk::SparseImageMemoryRequirements {
        format_properties,
        image_mip_tail_first_lod: layout.mip_tail_first_lod(),
        image_mip_tail_size: tail.map_or(0, |t| t.size),
        image_mip_tail_offset: tail.map_or(0, |t| t.offset),
        image_mip_tail_stride: tail.map_or(0, |t| t.stride),
    })
}

impl Image {
    /// # Safety
    /// `h` is null or a live image of ours.
    pub unsafe fn from_handle<'a>(h: vk::Image) -> VkResult<&'a Image> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    /// GPU VA of the image's byte 0.
    pub fn address(&self) -> VkResult<u64> {
        match self.address.load(Ordering::Acquire) {
            0 => vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "image used before memory was bound"
            ),
            va => Ok(va),
        }
    }

    pub fn requirements(&self) -> vk::MemoryRequirements {
        requirements(&self.layout, self.flags, self.plane_offset)
    }

    pub fn sparse_requirements(&self) -> Option<vk::SparseImageMemoryRequirements> {
        if !self.flags.contains(vk::ImageCreateFlags::SPARSE_RESIDENCY) {
            return None;
        }
        sparse_requirements(&self.layout, dim_of(self.ty)?, self.block)
    }

    /// The image as transfers see it.
    pub fn transfer_ref(&self) -> VkResult<crate::cs_image::ImageRef<'_>> {
        Ok(crate::cs_image::ImageRef {
            layout: &self.layout,
            va: self.address()?,
        })
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        if let Some(s) = &self.sparse {
            s.release(&self.dev);
        }
    }
}

/// # Safety
/// `info`'s chain is valid.
unsafe fn create(dev: &DeviceRef, info: &vk::ImageCreateInfo<'_>) -> VkResult<Image> {
    // SAFETY: the caller's contract.
    let Plan {
        block,
        layout,
        modifier,
        plane_offset,
    } = unsafe { plan(dev.caps(), info) }?;
    let sparse = if is_sparse(info.flags) {
        Some(SparseRange::reserve(
            dev,
            requirements(&layout, info.flags, plane_offset).size,
        )?)
    } else {
        None
    };
    Ok(Image {
        dev: dev.clone(),
        format: info.format,
        ty: info.image_type,
        usage: info.usage,
        flags: info.flags,
        tiling: info.tiling,
        block,
        address: AtomicU64::new(sparse.as_ref().map_or(0, |s| s.va)),
        sparse,
        modifier,
        plane_offset,
        layout,
    })
}

pub unsafe extern "system" fn create_image(
    device: vk::Device,
    info: *const vk::ImageCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Image,
) -> vk::Result {
    guard("vkCreateImage", || {
        // SAFETY: the device is ours; info is valid (valid usage).
        let (dev, info) = unsafe {
            (
                Device::from_handle(device)?,
                handle::input(info, "pCreateInfo")?,
            )
        };
        // SAFETY: info's chain is valid (valid usage).
        let image = unsafe { create(dev, info) }?;
        log::debug!(
            "image {:?} {:?} {:?}: {:#x} bytes{}{}",
            info.image_type,
            info.format,
            info.extent,
            image.layout.size(),
            if image.sparse.is_some() {
                ", sparse"
            } else {
                ""
            },
            match image.modifier {
                Some(m) => format!(", {m:?} at plane offset {:#x}", image.plane_offset),
                None => String::new(),
            }
        );
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(image)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_image(
    _device: vk::Device,
    image: vk::Image,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyImage", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<Image, _>(image) });
        Ok(())
    })
}

pub unsafe extern "system" fn get_image_memory_requirements(
    _device: vk::Device,
    image: vk::Image,
    out: *mut vk::MemoryRequirements,
) {
    guard_void("vkGetImageMemoryRequirements", || {
        // SAFETY: the handle is ours.
        let image = unsafe { Image::from_handle(image) }?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, image.requirements()) }
    })
}

pub unsafe extern "system" fn get_image_memory_requirements2(
    _device: vk::Device,
    info: *const vk::ImageMemoryRequirementsInfo2<'_>,
    out: *mut vk::MemoryRequirements2<'_>,
) {
    guard_void("vkGetImageMemoryRequirements2", || {
        // SAFETY: info is valid; the image is ours.
        let image = unsafe { Image::from_handle(handle::input(info, "pInfo")?.image) }?;
        // SAFETY: out is valid.
        unsafe { fill_requirements2(out, image.requirements()) }
    })
}

/// Writes sparse requirements by the two-call idiom.
///
/// # Safety
/// `count`/`out` follow the two-call idiom; `fill` writes one element.
unsafe fn write_sparse<T>(
    req: Option<vk::SparseImageMemoryRequirements>,
    count: *mut u32,
    out: *mut T,
    fill: impl Fn(&mut T, vk::SparseImageMemoryRequirements),
) {
    let reqs: Vec<_> = req.into_iter().collect();
    // SAFETY: the caller's contract.
    let _ = unsafe { handle::fill_array(count, out, reqs.len(), |i, o| fill(o, reqs[i])) };
}

pub unsafe extern "system" fn get_image_sparse_memory_requirements(
    _device: vk::Device,
    image: vk::Image,
    count: *mut u32,
    out: *mut vk::SparseImageMemoryRequirements,
) {
    guard_void("vkGetImageSparseMemoryRequirements", || {
        // SAFETY: the handle is ours.
        let image = unsafe { Image::from_handle(image) }?;
        // SAFETY: two-call idiom.
        unsafe { write_sparse(image.sparse_requirements(), count, out, |o, r| *o = r) };
        Ok(())
    })
}

pub unsafe extern "system" fn get_image_sparse_memory_requirements2(
    _device: vk::Device,
    info: *const vk::ImageSparseMemoryRequirementsInfo2<'_>,
    count: *mut u32,
    out: *mut vk::SparseImageMemoryRequirements2<'_>,
) {
    guard_void("vkGetImageSparseMemoryRequirements2", || {
        // SAFETY: info is valid; the image is ours.
        let image = unsafe { Image::from_handle(handle::input(info, "pInfo")?.image) }?;
        // SAFETY: two-call idiom.
        unsafe {
            write_sparse(image.sparse_requirements(), count, out, |o, r| {
                o.memory_requirements = r
            })
        };
        Ok(())
    })
}

/// What a `VkDeviceImageMemoryRequirements` describes (no image is made),
/// with the create flags and image type.
///
/// # Safety
/// `info` is valid with a valid create info.
unsafe fn described(
    dev: &Device,
    info: *const vk::DeviceImageMemoryRequirements<'_>,
) -> VkResult<(Plan, vk::ImageCreateFlags, vk::ImageType)> {
    // SAFETY: the caller's contract.
    let create =
        unsafe { handle::input(handle::input(info, "pInfo")?.p_create_info, "pCreateInfo") }?;
    // SAFETY: the create info's chain is valid (the caller's contract).
    let plan = unsafe { plan(dev.caps(), create) }?;
    Ok((plan, create.flags, create.image_type))
}

pub unsafe extern "system" fn get_device_image_memory_requirements(
    device: vk::Device,
    info: *const vk::DeviceImageMemoryRequirements<'_>,
    out: *mut vk::MemoryRequirements2<'_>,
) {
    guard_void("vkGetDeviceImageMemoryRequirements", || {
        // SAFETY: the device is ours; info is valid.
        let (plan, flags, _) = unsafe { described(Device::from_handle(device)?, info) }?;
        // SAFETY: out is valid.
        unsafe { fill_requirements2(out, plan.requirements(flags)) }
    })
}

pub unsafe extern "system" fn get_device_image_sparse_memory_requirements(
    device: vk::Device,
    info: *const vk::DeviceImageMemoryRequirements<'_>,
    count: *mut u32,
    out: *mut vk::SparseImageMemoryRequirements2<'_>,
) {
    guard_void("vkGetDeviceImageSparseMemoryRequirements", || {
        // SAFETY: the device is ours; info is valid.
        let (plan, flags, ty) = unsafe { described(Device::from_handle(device)?, info) }?;
        let req = if flags.contains(vk::ImageCreateFlags::SPARSE_RESIDENCY) {
            dim_of(ty).and_then(|d| sparse_requirements(&plan.layout, d, plan.block))
        } else {
            None
        };
        // SAFETY: two-call idiom.
        unsafe { write_sparse(req, count, out, |o, r| o.memory_requirements = r) };
        Ok(())
    })
}

fn bind(image: vk::Image, memory: vk::DeviceMemory, offset: u64) -> VkResult<()> {
    // SAFETY: the handles are ours (valid usage).
    let (image, mem) = unsafe { (Image::from_handle(image)?, memory_ref(memory)?) };
    if image.sparse.is_some() {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "sparse images are bound with vkQueueBindSparse"
        );
    }
    let va = mem.bind_address(offset, &image.requirements())?;
    image
        .address
        .store(va + image.plane_offset, Ordering::Release);
    Ok(())
}

pub unsafe extern "system" fn bind_image_memory(
    _device: vk::Device,
    image: vk::Image,
    memory: vk::DeviceMemory,
    offset: vk::DeviceSize,
) -> vk::Result {
    guard("vkBindImageMemory", || {
        bind(image, memory, offset)?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn bind_image_memory2(
    _device: vk::Device,
    count: u32,
    infos: *const vk::BindImageMemoryInfo<'_>,
) -> vk::Result {
    guard("vkBindImageMemory2", || {
        // SAFETY: infos holds count valid structs.
        for i in unsafe { handle::slice(infos, count) } {
            bind(i.image, i.memory, i.memory_offset)?;
        }
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn get_image_subresource_layout(
    _device: vk::Device,
    image: vk::Image,
    sub: *const vk::ImageSubresource,
    out: *mut vk::SubresourceLayout,
) {
    guard_void("vkGetImageSubresourceLayout", || {
        // SAFETY: the handle is ours; sub is valid.
        let (image, sub) = unsafe {
            (
                Image::from_handle(image)?,
                handle::input(sub, "pSubresource")?,
            )
        };
        let Some(l) = image.layout.subresource(sub.mip_level, sub.array_layer) else {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "no subresource level {} layer {}",
                sub.mip_level,
                sub.array_layer
            );
        };
        let layout = match image.modifier {
            None => vk::SubresourceLayout {
                offset: l.offset,
                size: l.size,
                row_pitch: l.row_pitch,
                array_pitch: l.array_pitch,
                depth_pitch: l.depth_pitch,
            },
            // The one memory plane of a single-layer 2D image (pitches
            // an explicit create info must give as 0 are reported as 0,
            // so the layout can be passed back as it is).
            Some(_) => {
                let plane0 = vk::ImageAspectFlags::MEMORY_PLANE_0_EXT;
                if sub.aspect_mask != plane0 && sub.aspect_mask != vk::ImageAspectFlags::COLOR {
                    vk_bail!(
                        vk::Result::ERROR_UNKNOWN,
                        "modifier images have one memory plane, not {:?}",
                        sub.aspect_mask
                    );
                }
                vk::SubresourceLayout {
                    offset: image.plane_offset + l.offset,
                    size: l.size,
                    row_pitch: l.row_pitch,
                    array_pitch: 0,
                    depth_pitch: 0,
                }
            }
        };
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, layout) }
    })
}

pub unsafe extern "system" fn get_image_drm_format_modifier_properties(
    _device: vk::Device,
    image: vk::Image,
    out: *mut vk::ImageDrmFormatModifierPropertiesEXT<'_>,
) -> vk::Result {
    guard("vkGetImageDrmFormatModifierPropertiesEXT", || {
        // SAFETY: the handle is ours.
        let image = unsafe { Image::from_handle(image) }?;
        let Some(m) = image.modifier else {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "image was not made with tiling DRM_FORMAT_MODIFIER_EXT"
            );
        };
        // SAFETY: out is null or valid (valid usage); only the payload is written.
        let Some(out) = (unsafe { out.as_mut() }) else {
            vk_bail!(vk::Result::ERROR_UNKNOWN, "pProperties is null");
        };
        out.drm_format_modifier = m.code();
        Ok(vk::Result::SUCCESS)
    })
}

/// `VkImageView`: which part of an image, as what. Nothing reads views
/// until shaders or attachments exist; they are kept for their parameters.
pub struct ImageView {
    pub image: vk::Image,
    pub view_type: vk::ImageViewType,
    pub format: vk::Format,
    pub range: vk::ImageSubresourceRange,
    /// Texture descriptors, for views shaders can use.
    pub descs: Option<crate::image_view_desc::ViewDescriptors>,
}

impl ImageView {
    /// # Safety
    /// `h` is null or a live image view of ours.
    pub unsafe fn from_handle<'a>(h: vk::ImageView) -> VkResult<&'a ImageView> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }
}

pub unsafe extern "system" fn create_image_view(
    _device: vk::Device,
    info: *const vk::ImageViewCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::ImageView,
) -> vk::Result {
    guard("vkCreateImageView", || {
        // SAFETY: info is valid; the image is ours.
        let info = unsafe { handle::input(info, "pCreateInfo") }?;
        // SAFETY: as above.
        let image = unsafe { Image::from_handle(info.image) }?;
        let range = info.subresource_range;
        let levels = image.layout.desc().levels;
        if range.base_mip_level >= levels {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "view of level {} of a {levels}-level image",
                range.base_mip_level
            );
        }
        // Resolve REMAINING_* counts once, for the descriptors.
        let mut range = range;
        if range.level_count == vk::REMAINING_MIP_LEVELS {
            range.level_count = levels - range.base_mip_level;
        }
        if range.layer_count == vk::REMAINING_ARRAY_LAYERS {
            range.layer_count = image
                .layout
                .desc()
                .layers
                .saturating_sub(range.base_array_layer);
        }
        // SAFETY: the chain is valid.
        let usage = unsafe { chain::find::<vk::ImageViewUsageCreateInfo<'_>>(info.p_next) }
            .map_or(image.usage, |u| u.usage);
        let shader_usage = vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::STORAGE;
        let descs = if usage.intersects(shader_usage) {
            crate::image_view_desc::ViewDescriptors::new(&image.dev, image, info, range)?
        } else {
            None
        };
        let view = ImageView {
            image: info.image,
            view_type: info.view_type,
            format: info.format,
            range,
            descs,
        };
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(view)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_image_view(
    _device: vk::Device,
    view: vk::ImageView,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyImageView", || {
        // SAFETY: the handle is ours and the application is done with it.
        let _ = unsafe { handle::free_handle::<ImageView, _>(view) };
        Ok(())
    })
}
