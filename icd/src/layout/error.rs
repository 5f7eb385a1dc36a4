//! Why an image descriptor or a sparse bind region was rejected.
//!
//! [`LayoutError`] names the rule an [`ImageDesc`](super::ImageDesc) broke
//! (the ICD logs it and returns the Vulkan error the spec names, usually
//! `VK_ERROR_FORMAT_NOT_SUPPORTED` or `VK_ERROR_OUT_OF_DEVICE_MEMORY` for
//! [`LayoutError::Overflow`]). [`RegionError`] names the rule a sparse image
//! block bind broke.

use std::fmt;

use super::Dim;

/// An image descriptor that has no layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutError {
    /// Some extent is zero (`extent` in texels).
    ZeroExtent {
        /// The offending extent.
        extent: [u32; 3],
    },
    /// `levels` is zero.
    ZeroLevels,
    /// `layers` is zero.
    ZeroLayers,
    /// The texel block has zero bytes or a zero extent.
    ZeroBlock,
    /// Height or depth is not 1 where the image type requires it (1D: height
    /// and depth; 2D: depth).
    ExtentForDim {
        /// The image type.
        dim: Dim,
        /// The offending extent.
        extent: [u32; 3],
    },
    /// A 3D image with more than one layer (Vulkan requires `arrayLayers` = 1).
    VolumeArray {
        /// The requested layer count.
        layers: u32,
    },
    /// More mip levels than the extent allows (`floor(log2(max extent)) + 1`).
    TooManyLevels {
        /// The requested level count.
        levels: u32,
        /// The largest valid level count for this extent.
        max: u32,
    },
    /// The sample count is not 1, 2, 4, 8 or 16.
    SampleCount {
        /// The requested sample count.
        samples: u32,
    },
    /// More than one sample where it is not supported: only single-level,
    /// optimal 2D images may be multisampled.
    MultisampleUnsupported {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// Optimal tiling needs a texel block of 1, 2, 4, 8 or 16 bytes: only those
    /// have a 64 KiB tile shape (a 3-byte `R8G8B8` or 6-byte `R16G16B16` texel
    /// has none). Such formats can only be linear.
    UnsupportedBlockBytes {
        /// The requested block size.
        bytes: u32,
    },
    /// The image is larger than a `u64` can describe.
    Overflow,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::ZeroExtent { extent } => {
                write!(f, "image extent {extent:?} has a zero dimension")
            }
            LayoutError::ZeroLevels => write!(f, "image has zero mip levels"),
            LayoutError::ZeroLayers => write!(f, "image has zero array layers"),
            LayoutError::ZeroBlock => write!(f, "texel block has zero bytes or a zero extent"),
            LayoutError::ExtentForDim { dim, extent } => write!(
                f,
                "extent {extent:?} is invalid for a {dim:?} image (unused dimensions must be 1)"
            ),
            LayoutError::VolumeArray { layers } => {
                write!(f, "3D image with {layers} layers (must be 1)")
            }
            LayoutError::TooManyLevels { levels, max } => {
                write!(f, "{levels} mip levels requested, the extent allows at most {max}")
            }
            LayoutError::SampleCount { samples } => {
                write!(f, "sample count {samples} is not 1, 2, 4, 8 or 16")
            }
            LayoutError::MultisampleUnsupported { reason } => {
                write!(f, "multisample image not supported: {reason}")
            }
            LayoutError::UnsupportedBlockBytes { bytes } => write!(
                f,
                "{bytes}-byte texel blocks have no 64 KiB tile shape (optimal tiling needs 1, 2, 4, 8 or 16 bytes)"
            ),
            LayoutError::Overflow => write!(f, "image size overflows 64 bits"),
        }
    }
}

impl std::error::Error for LayoutError {}

/// A sparse image block bind region (`VkSparseImageMemoryBind`) that does not
/// name whole sparse blocks of a non-tail level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionError {
    /// The image is linear: it has no sparse blocks.
    NotTiled,
    /// The level or layer does not exist.
    NoSuchSubresource {
        /// Requested mip level.
        level: u32,
        /// Requested array layer.
        layer: u32,
    },
    /// The level is in the mip tail, which is bound opaquely
    /// (`VkSparseImageOpaqueMemoryBindInfo`), never by blocks.
    InMipTail {
        /// Requested mip level.
        level: u32,
        /// First level of the mip tail.
        first_lod: u32,
    },
    /// The region is empty in some dimension.
    EmptyExtent,
    /// The offset is not a multiple of the sparse block granularity, or the
    /// extent is neither a multiple of it nor reaches the level's edge.
    Unaligned {
        /// Region offset in texels.
        offset: [u32; 3],
        /// Region extent in texels.
        extent: [u32; 3],
        /// Sparse block granularity in texels.
        granularity: [u32; 3],
    },
    /// The region extends past the level's extent.
    OutOfBounds {
        /// Region offset in texels.
        offset: [u32; 3],
        /// Region extent in texels.
        extent: [u32; 3],
        /// Level extent in texels.
        level_extent: [u32; 3],
    },
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionError::NotTiled => write!(f, "linear images have no sparse blocks"),
            RegionError::NoSuchSubresource { level, layer } => {
                write!(f, "no subresource at level {level}, layer {layer}")
            }
            RegionError::InMipTail { level, first_lod } => write!(
                f,
                "level {level} is in the mip tail (first tail level {first_lod}); bind it opaquely"
            ),
            RegionError::EmptyExtent => write!(f, "sparse bind region has a zero extent"),
            RegionError::Unaligned {
                offset,
                extent,
                granularity,
            } => write!(
                f,
                "sparse bind region offset {offset:?} extent {extent:?} is not aligned to the \
                 granularity {granularity:?} (extents may only be partial at the level's edge)"
            ),
            RegionError::OutOfBounds {
                offset,
                extent,
                level_extent,
            } => write!(
                f,
                "sparse bind region offset {offset:?} extent {extent:?} exceeds the level extent \
                 {level_extent:?}"
            ),
        }
    }
}

impl std::error::Error for RegionError {}
