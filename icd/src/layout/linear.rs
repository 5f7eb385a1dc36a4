//! The linear layout (`VK_IMAGE_TILING_LINEAR`, `DRM_FORMAT_MOD_LINEAR`).
//!
//! One level is `depth` slices of `height` rows of `width` texel blocks (all in
//! blocks): `row_pitch = align_up(width x bytes, 64)`, `depth_pitch =
//! row_pitch x height`, `level size = depth_pitch x depth`. Levels follow one
//! another inside a layer; every level size is a multiple of 64, so every
//! level offset is 64-byte aligned. Layers are `layer_stride` = sum of the
//! level sizes apart. Linear images are never sparse and never multisampled.
//!
//! Worked example: a 2D `R8G8B8` (3-byte) image of 10x4 texels, 2 levels:
//! level 0 row pitch `align_up(30, 64) = 64`, size `64 x 4 = 256`; level 1 is
//! 5x2, row pitch 64, size 128 at offset 256; layer stride 384.

use super::LINEAR_ALIGNMENT;

/// Pitches and size of one linear level, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearLevel {
    /// Bytes between the starts of vertically adjacent rows of blocks.
    pub row_pitch: u64,
    /// Bytes between the starts of adjacent z slices.
    pub depth_pitch: u64,
    /// Bytes of the whole level (a multiple of 64).
    pub size: u64,
}

/// Rounds `v` up to a multiple of the power of two `align`, or `None` on
/// overflow.
pub(crate) fn align_up(v: u64, align: u64) -> Option<u64> {
    debug_assert!(align.is_power_of_two());
    Some(v.checked_add(align - 1)? & !(align - 1))
}

/// The linear layout of a level of `extent_blocks` texel blocks of
/// `block_bytes` bytes, or `None` if it overflows 64 bits.
pub fn linear_level(extent_blocks: [u32; 3], block_bytes: u32) -> Option<LinearLevel> {
    let row_bytes = u64::from(extent_blocks[0]).checked_mul(u64::from(block_bytes))?;
    let row_pitch = align_up(row_bytes, LINEAR_ALIGNMENT)?;
    let depth_pitch = row_pitch.checked_mul(u64::from(extent_blocks[1]))?;
    let size = depth_pitch.checked_mul(u64::from(extent_blocks[2]))?;
    Some(LinearLevel {
        row_pitch,
        depth_pitch,
        size,
    })
}

impl LinearLevel {
    /// Offset inside the level of texel block `block` (x, y, z in blocks).
    pub fn offset(&self, block: [u32; 3], block_bytes: u32) -> u64 {
        u64::from(block[2]) * self.depth_pitch
            + u64::from(block[1]) * self.row_pitch
            + u64::from(block[0]) * u64::from(block_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example() {
        let l0 = linear_level([10, 4, 1], 3).unwrap();
        assert_eq!(l0.row_pitch, 64);
        assert_eq!(l0.size, 256);
        let l1 = linear_level([5, 2, 1], 3).unwrap();
        assert_eq!(l1.size, 128);
        assert_eq!(l0.offset([9, 3, 0], 3), 3 * 64 + 27);
    }

    #[test]
    fn pitches() {
        assert_eq!(linear_level([16, 1, 1], 4).unwrap().row_pitch, 64);
        assert_eq!(linear_level([17, 1, 1], 4).unwrap().row_pitch, 128);
        let l = linear_level([100, 7, 3], 16).unwrap();
        assert_eq!(l.row_pitch, 1600);
        assert_eq!(l.depth_pitch, 1600 * 7);
        assert_eq!(l.size, 1600 * 21);
        assert_eq!(l.offset([1, 2, 1], 16), 11200 + 3200 + 16);
    }

    #[test]
    fn overflow() {
        assert!(linear_level([u32::MAX, u32::MAX, u32::MAX], 16).is_none());
        assert!(align_up(u64::MAX, 64).is_none());
    }
}
