//! Mip level extents and the mip tail rule.
//!
//! # Which levels form the mip tail
//!
//! The Vulkan spec (Sparse Resources, "Sparse Image Layout"): "Within each
//! array layer, the set of mip levels that have a smaller size than the sparse
//! block size in bytes are grouped together into a mip tail region", and
//! without `VK_SPARSE_IMAGE_FORMAT_ALIGNED_MIP_SIZE_BIT` "each array layer
//! contains a mip tail region containing texel data for all mip levels smaller
//! than the sparse image block in any dimension. Mip levels that are as large
//! or larger than a sparse image block in all dimensions can be bound
//! individually. Right-edges and bottom-edges of each level are allowed to have
//! partially used sparse blocks."
//!
//! Our layout rounds every level up to whole tiles, so partially used blocks at
//! the right and bottom edges are real, separately bindable 64 KiB tiles. So:
//!
//! - `imageMipTailFirstLod` is the first level whose extent **in texels** is
//!   smaller than the sparse block granularity (tile shape x block extent) in
//!   some dimension ([`first_tail_level`]); all later levels are in the tail
//!   too (extents only shrink).
//! - The ICD does **not** report `VK_SPARSE_IMAGE_FORMAT_ALIGNED_MIP_SIZE_BIT`
//!   (it would force levels that merely are not multiples of the block shape
//!   into the tail, which we do not need) and reports
//!   `residencyAlignedMipSize = false`.
//!
//! Comparing in texels rather than in texel blocks follows the spec's words:
//! a BC1 level 511 texels wide is 128 blocks wide, one full tile of blocks,
//! but it is smaller than the 512-texel granularity, so it is in the tail.

/// The largest valid mip level count for `extent` (texels):
/// `floor(log2(max(width, height, depth))) + 1`, and 0 for an all-zero extent.
pub fn max_levels(extent: [u32; 3]) -> u32 {
    let largest = extent[0].max(extent[1]).max(extent[2]);
    u32::BITS - largest.leading_zeros()
}

/// Extent in texels of mip level `level` of an image whose level 0 is
/// `extent`: each dimension halved `level` times, at least 1. Levels of 32 and
/// more give 1 in every dimension.
pub fn level_extent(extent: [u32; 3], level: u32) -> [u32; 3] {
    extent.map(|e| e.checked_shr(level).unwrap_or(0).max(1))
}

/// Whether a level of extent `level_texels` is in the mip tail for sparse
/// block granularity `granularity_texels`: smaller in some dimension.
pub fn in_tail(level_texels: [u32; 3], granularity_texels: [u32; 3]) -> bool {
    (0..3).any(|i| level_texels[i] < granularity_texels[i])
}

/// The first mip level of the tail (`imageMipTailFirstLod`) among `levels`
/// levels, or `levels` if no level is in the tail.
pub fn first_tail_level(extent: [u32; 3], levels: u32, granularity_texels: [u32; 3]) -> u32 {
    (0..levels)
        .find(|&l| in_tail(level_extent(extent, l), granularity_texels))
        .unwrap_or(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_counts() {
        assert_eq!(max_levels([1, 1, 1]), 1);
        assert_eq!(max_levels([256, 256, 1]), 9);
        assert_eq!(max_levels([257, 3, 1]), 9);
        assert_eq!(max_levels([1, 1, 4096]), 13);
        assert_eq!(max_levels([u32::MAX, 1, 1]), 32);
    }

    #[test]
    fn extents() {
        assert_eq!(level_extent([300, 20, 1], 0), [300, 20, 1]);
        assert_eq!(level_extent([300, 20, 1], 3), [37, 2, 1]);
        assert_eq!(level_extent([300, 20, 1], 8), [1, 1, 1]);
        assert_eq!(level_extent([300, 20, 1], 40), [1, 1, 1]);
    }

    #[test]
    fn tail_rule() {
        // 32-bit 2D: granularity 128x128. 1000x300: levels 1000x300, 500x150,
        // 250x75 (tail).
        assert_eq!(first_tail_level([1000, 300, 1], 10, [128, 128, 1]), 2);
        assert_eq!(first_tail_level([1000, 300, 1], 2, [128, 128, 1]), 2);
        assert_eq!(first_tail_level([100, 300, 1], 5, [128, 128, 1]), 0);
        // BC1 granularity 512x256 texels: 511 texels is in the tail.
        assert_eq!(first_tail_level([511, 256, 1], 1, [512, 256, 1]), 0);
        assert_eq!(first_tail_level([512, 256, 1], 2, [512, 256, 1]), 1);
    }
}
