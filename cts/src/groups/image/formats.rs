//! The formats, image kinds and shapes the image cases use, and the support
//! queries that turn "the driver lacks this" into NotSupported naming the
//! exact format, image type and flags.

use ash::vk;

use crate::case::Stop;
use crate::gpu::{Gpu, Vk};
use crate::require;

/// A format as the cases see it: its size class and texel block.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    /// The name used in case names.
    pub name: &'static str,
    pub vk: vk::Format,
    /// Bytes per texel block (per texel for uncompressed formats).
    pub bytes: u32,
    /// Texels per texel block in x and y (1x1 for uncompressed formats).
    pub block: [u32; 2],
}

impl Format {
    const fn plain(name: &'static str, vk: vk::Format, bytes: u32) -> Format {
        Format {
            name,
            vk,
            bytes,
            block: [1, 1],
        }
    }

    const fn compressed(name: &'static str, vk: vk::Format, bytes: u32, w: u32, h: u32) -> Format {
        Format {
            name,
            vk,
            bytes,
            block: [w, h],
        }
    }

    pub fn is_compressed(&self) -> bool {
        self.block != [1, 1]
    }

    /// `VK_FORMAT_R32_UINT` style, for messages.
    pub fn vk_name(&self) -> String {
        format!("VK_FORMAT_{:?}", self.vk)
    }
}

pub const R8_UINT: Format = Format::plain("r8_uint", vk::Format::R8_UINT, 1);
pub const R16_UINT: Format = Format::plain("r16_uint", vk::Format::R16_UINT, 2);
pub const RG8_UINT: Format = Format::plain("rg8_uint", vk::Format::R8G8_UINT, 2);
pub const R32_UINT: Format = Format::plain("r32_uint", vk::Format::R32_UINT, 4);
pub const RGBA8_UNORM: Format = Format::plain("rgba8_unorm", vk::Format::R8G8B8A8_UNORM, 4);
pub const RGBA8_UINT: Format = Format::plain("rgba8_uint", vk::Format::R8G8B8A8_UINT, 4);
pub const RG32_UINT: Format = Format::plain("rg32_uint", vk::Format::R32G32_UINT, 8);
pub const RGBA16_UINT: Format = Format::plain("rgba16_uint", vk::Format::R16G16B16A16_UINT, 8);
pub const RGBA32_UINT: Format = Format::plain("rgba32_uint", vk::Format::R32G32B32A32_UINT, 16);
pub const BC1_RGBA_UNORM: Format =
    Format::compressed("bc1_rgba_unorm", vk::Format::BC1_RGBA_UNORM_BLOCK, 8, 4, 4);
pub const BC7_UNORM: Format =
    Format::compressed("bc7_unorm", vk::Format::BC7_UNORM_BLOCK, 16, 4, 4);
pub const ETC2_RGBA8_UNORM: Format = Format::compressed(
    "etc2_rgba8_unorm",
    vk::Format::ETC2_R8G8B8A8_UNORM_BLOCK,
    16,
    4,
    4,
);
pub const EAC_R11_UNORM: Format =
    Format::compressed("eac_r11_unorm", vk::Format::EAC_R11_UNORM_BLOCK, 8, 4, 4);
pub const ASTC_8X8_UNORM: Format =
    Format::compressed("astc_8x8_unorm", vk::Format::ASTC_8X8_UNORM_BLOCK, 16, 8, 8);

/// The data-path set: one format per texel size 8..128 bits, and a
/// compressed one.
pub const DATA_FORMATS: [Format; 6] = [
    R8_UINT,
    R16_UINT,
    R32_UINT,
    RG32_UINT,
    RGBA32_UINT,
    BC1_RGBA_UNORM,
];

/// The formats the block-shape and format-query cases check: one or more
/// per texel size (8..128 bits) and compressed ones of 64 and 128 bits
/// (BC, ETC2, EAC, ASTC 8x8).
pub const SHAPE_FORMATS: [Format; 14] = [
    R8_UINT,
    R16_UINT,
    RG8_UINT,
    R32_UINT,
    RGBA8_UNORM,
    RGBA8_UINT,
    RG32_UINT,
    RGBA16_UINT,
    RGBA32_UINT,
    BC1_RGBA_UNORM,
    BC7_UNORM,
    ETC2_RGBA8_UNORM,
    EAC_R11_UNORM,
    ASTC_8X8_UNORM,
];

/// What kind of image: the Vulkan image type plus array-ness and cube
/// compatibility.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    D2,
    D2Array,
    D3,
    /// A 2D array of 6 layers created CUBE_COMPATIBLE.
    Cube,
}

pub const KINDS: [Kind; 4] = [Kind::D2, Kind::D2Array, Kind::D3, Kind::Cube];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::D2 => "2d",
            Kind::D2Array => "2d_array",
            Kind::D3 => "3d",
            Kind::Cube => "cube",
        }
    }

    /// For messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::D2 => "2D image",
            Kind::D2Array => "2D array image",
            Kind::D3 => "3D image",
            Kind::Cube => "cube-compatible 2D array image",
        }
    }

    pub fn ty(self) -> vk::ImageType {
        match self {
            Kind::D3 => vk::ImageType::TYPE_3D,
            _ => vk::ImageType::TYPE_2D,
        }
    }

    pub fn create_flags(self) -> vk::ImageCreateFlags {
        match self {
            Kind::Cube => vk::ImageCreateFlags::CUBE_COMPATIBLE,
            _ => vk::ImageCreateFlags::empty(),
        }
    }

    /// NotSupported unless the residency feature that covers this kind is on.
    pub fn require_residency(self, vk: &Vk) -> Result<(), Stop> {
        vk.require_sparse_binding()?;
        if self == Kind::D3 {
            require!(
                vk.features.sparse_residency_image3_d == vk::TRUE,
                "sparseResidencyImage3D is false"
            );
        } else {
            require!(
                vk.features.sparse_residency_image2_d == vk::TRUE,
                "sparseResidencyImage2D is false"
            );
        }
        Ok(())
    }
}

/// An image's extent, layers and levels.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub kind: Kind,
    /// Width, height, depth in texels (depth 1 unless 3D).
    pub extent: [u32; 3],
    pub layers: u32,
    pub levels: u32,
}

impl Shape {
    /// `size` is width, height and depth (3D) or layer count (arrays, cube);
    /// `levels` None means the full mip chain.
    pub fn new(kind: Kind, size: [u32; 3], levels: Option<u32>) -> Shape {
        let (extent, layers) = match kind {
            Kind::D3 => (size, 1),
            Kind::D2 => ([size[0], size[1], 1], 1),
            Kind::D2Array | Kind::Cube => ([size[0], size[1], 1], size[2]),
        };
        let full = 32 - extent.iter().max().copied().unwrap_or(1).leading_zeros();
        Shape {
            kind,
            extent,
            layers,
            levels: levels.unwrap_or(full).min(full),
        }
    }

    /// The dEQP-style size part of a case name: `512_256_1`.
    pub fn size_name(&self) -> String {
        let third = if self.kind == Kind::D3 {
            self.extent[2]
        } else {
            self.layers
        };
        format!("{}_{}_{third}", self.extent[0], self.extent[1])
    }

    /// A level's extent in texels.
    pub fn level_extent(&self, level: u32) -> [u32; 3] {
        self.extent.map(|e| (e >> level).max(1))
    }

    pub fn vk_extent(&self) -> vk::Extent3D {
        vk::Extent3D {
            width: self.extent[0],
            height: self.extent[1],
            depth: self.extent[2],
        }
    }

    /// For messages: `503x137x1, 3 layers, 9 levels`.
    pub fn describe(&self) -> String {
        format!(
            "{}x{}x{}, {} layer(s), {} level(s)",
            self.extent[0], self.extent[1], self.extent[2], self.layers, self.levels
        )
    }
}

pub fn transfer_usage() -> vk::ImageUsageFlags {
    vk::ImageUsageFlags::TRANSFER_SRC | vk::ImageUsageFlags::TRANSFER_DST
}

/// `vkGetPhysicalDeviceImageFormatProperties` for an image of `format`,
/// `shape` and `flags` (sparse flags; the kind's flags are added) with the
/// transfer usages; NotSupported, naming all of it, when the driver refuses
/// it or its limits are too small for the shape or `samples`.
pub fn require_format(
    vk: &Vk,
    format: &Format,
    shape: &Shape,
    flags: vk::ImageCreateFlags,
    samples: vk::SampleCountFlags,
) -> Result<(), Stop> {
    let flags = flags | shape.kind.create_flags();
    let what = || {
        let flags = if flags.is_empty() {
            "no create flags".to_string()
        } else {
            format!("{flags:?}")
        };
        format!(
            "{} as a {} (OPTIMAL tiling, {:?} usage, {flags})",
            format.vk_name(),
            shape.kind.describe(),
            transfer_usage()
        )
    };
    // SAFETY: valid physical device; the arguments are plain values.
    let props = match unsafe {
        vk.instance.get_physical_device_image_format_properties(
            vk.pd,
            format.vk,
            shape.kind.ty(),
            vk::ImageTiling::OPTIMAL,
            transfer_usage(),
            flags,
        )
    } {
        Ok(p) => p,
        Err(vk::Result::ERROR_FORMAT_NOT_SUPPORTED) => {
            require!(
                false,
                "{} is not supported (vkGetPhysicalDeviceImageFormatProperties)",
                what()
            );
            unreachable!()
        }
        Err(e) => crate::fail!(
            "vkGetPhysicalDeviceImageFormatProperties({}) returned {e:?}",
            what()
        ),
    };
    let m = props.max_extent;
    require!(
        shape.extent[0] <= m.width && shape.extent[1] <= m.height && shape.extent[2] <= m.depth,
        "{}: maxExtent {}x{}x{} is smaller than {}",
        what(),
        m.width,
        m.height,
        m.depth,
        shape.describe()
    );
    require!(
        shape.layers <= props.max_array_layers,
        "{}: maxArrayLayers {} < {}",
        what(),
        props.max_array_layers,
        shape.layers
    );
    require!(
        shape.levels <= props.max_mip_levels,
        "{}: maxMipLevels {} < {}",
        what(),
        props.max_mip_levels,
        shape.levels
    );
    require!(
        props.sample_counts.contains(samples),
        "{}: sampleCounts {:?} lacks {samples:?}",
        what(),
        props.sample_counts
    );
    Ok(())
}

/// The COLOR entry of `vkGetPhysicalDeviceSparseImageFormatProperties` for
/// `format` as a `kind` image; NotSupported (naming the format) when there is
/// none. Call only after [`require_format`] succeeded for the same
/// arguments with SPARSE_RESIDENCY (the query's valid usage needs the sample
/// count to be supported).
pub fn require_sparse_properties(
    vk: &Vk,
    format: &Format,
    kind: Kind,
    samples: vk::SampleCountFlags,
) -> Result<vk::SparseImageFormatProperties, Stop> {
    let props = vk.sparse_image_format_properties(format.vk, kind.ty(), samples, transfer_usage());
    let color = props
        .iter()
        .find(|p| p.aspect_mask.contains(vk::ImageAspectFlags::COLOR));
    require!(
        color.is_some(),
        "vkGetPhysicalDeviceSparseImageFormatProperties has no COLOR entry for {} ({:?}, {samples:?}): no sparse residency for this format",
        format.vk_name(),
        kind.ty()
    );
    Ok(*color.expect("checked above"))
}

/// Creates an image of `format` and `shape` with `flags` (plus the kind's
/// flags), transfer usages, shared by all of the device's queue families.
pub fn create_image(
    gpu: &Gpu,
    format: &Format,
    shape: &Shape,
    flags: vk::ImageCreateFlags,
    samples: vk::SampleCountFlags,
) -> Result<vk::Image, Stop> {
    let families = gpu.sharing_families();
    let mut info = vk::ImageCreateInfo::default()
        .flags(flags | shape.kind.create_flags())
        .image_type(shape.kind.ty())
        .format(format.vk)
        .extent(shape.vk_extent())
        .mip_levels(shape.levels)
        .array_layers(shape.layers)
        .samples(samples)
        .tiling(vk::ImageTiling::OPTIMAL)
        .usage(transfer_usage())
        .initial_layout(vk::ImageLayout::UNDEFINED);
    if families.len() > 1 {
        info = info
            .sharing_mode(vk::SharingMode::CONCURRENT)
            .queue_family_indices(&families);
    }
    gpu.image(&info)
}

/// Memory requirements every sparse image must meet.
pub fn requirements(gpu: &Gpu, image: vk::Image) -> Result<vk::MemoryRequirements, Stop> {
    let reqs = gpu.image_requirements(image);
    crate::ensure!(reqs.size > 0, "vkGetImageMemoryRequirements: size is 0");
    crate::ensure!(
        reqs.alignment.is_power_of_two(),
        "vkGetImageMemoryRequirements: alignment {} (the sparse block size) is not a power of two",
        reqs.alignment
    );
    crate::ensure!(
        reqs.memory_type_bits != 0,
        "vkGetImageMemoryRequirements: memoryTypeBits is 0"
    );
    Ok(reqs)
}

/// Device memory able to back `reqs`, preferring device-local types.
pub fn memory(
    gpu: &Gpu,
    reqs: &vk::MemoryRequirements,
    size: u64,
) -> Result<vk::DeviceMemory, Stop> {
    gpu.memory_for(reqs, size.max(1), vk::MemoryPropertyFlags::DEVICE_LOCAL)
}

/// The queue image binds go to: the sparse-only family's when there is one
/// (as most real drivers expose), else the universal one.
pub fn bind_queue(gpu: &Gpu) -> crate::gpu::Queue {
    gpu.sparse_only.unwrap_or(gpu.universal)
}

/// One vkQueueBindSparse batch with image block binds and opaque binds
/// for `image`, waited on.
pub fn bind_image(
    gpu: &Gpu,
    queue: crate::gpu::Queue,
    image: vk::Image,
    blocks: &[vk::SparseImageMemoryBind],
    opaque: &[vk::SparseMemoryBind],
) -> Result<(), Stop> {
    let block_info = [vk::SparseImageMemoryBindInfo::default()
        .image(image)
        .binds(blocks)];
    let opaque_info = [vk::SparseImageOpaqueMemoryBindInfo::default()
        .image(image)
        .binds(opaque)];
    let mut info = vk::BindSparseInfo::default();
    if !blocks.is_empty() {
        info = info.image_binds(&block_info);
    }
    if !opaque.is_empty() {
        info = info.image_opaque_binds(&opaque_info);
    }
    gpu.bind_sparse_and_wait(queue, &[info])
}

/// The physical-device API version is at least 1.1 (for the `*2` queries).
pub fn require_vulkan_1_1(vk: &Vk) -> Result<(), Stop> {
    let v = vk.props.api_version;
    require!(
        vk::api_version_major(v) > 1 || vk::api_version_minor(v) >= 1,
        "the device reports Vulkan {}.{} (vkGetImageSparseMemoryRequirements2 / vkGetPhysicalDeviceSparseImageFormatProperties2 need 1.1)",
        vk::api_version_major(v),
        vk::api_version_minor(v)
    );
    Ok(())
}
