//! The Vulkan standard sparse image block shapes, which are also the tile
//! shapes of the optimal layout.
//!
//! Source: Vulkan specification, chapter "Sparse Resources", section
//! "Standard Sparse Image Block Shapes", tables "Standard Sparse Image Block
//! Shapes (Single Sample)" and "(MSAA)". All are 64 KiB. For block-compressed
//! formats the "texel size" is the compressed block size and the shapes count
//! compressed blocks (a BC1 block of 64 bits gives 128x64 blocks = 512x256
//! texels); [`standard_block_shape_texels`] does that multiplication.
//!
//! The ICD reports `residencyStandard2DBlockShape`,
//! `residencyStandard2DMultisampleBlockShape` and
//! `residencyStandard3DBlockShape` as true and never
//! `VK_SPARSE_IMAGE_FORMAT_NONSTANDARD_BLOCK_SIZE_BIT`: every sparse image
//! uses one of these shapes as its granularity.

use super::{blocks_to_texels, Dim, TexelBlock};

/// Index into the tables for a texel block of `bytes` bytes: 8, 16, 32, 64 and
/// 128-bit texels. Other sizes have no standard shape.
fn size_class(bytes: u32) -> Option<usize> {
    match bytes {
        1 => Some(0),
        2 => Some(1),
        4 => Some(2),
        8 => Some(3),
        16 => Some(4),
        _ => None,
    }
}

/// "Block Shape (2D)" column, in texel blocks.
const SHAPE_2D: [[u32; 2]; 5] = [[256, 256], [256, 128], [128, 128], [128, 64], [64, 64]];

/// "Block Shape (3D)" column, in texel blocks.
const SHAPE_3D: [[u32; 3]; 5] = [
    [64, 32, 32],
    [32, 32, 32],
    [32, 32, 16],
    [32, 16, 16],
    [16, 16, 16],
];

/// MSAA table, one row per sample count (2X, 4X, 8X, 16X), one entry per texel
/// size (8 to 128 bits), in texel blocks.
const SHAPE_MSAA: [[[u32; 2]; 5]; 4] = [
    [[128, 256], [128, 128], [64, 128], [64, 64], [32, 64]],
    [[128, 128], [128, 64], [64, 64], [64, 32], [32, 32]],
    [[64, 128], [64, 64], [32, 64], [32, 32], [16, 32]],
    [[64, 64], [64, 32], [32, 32], [32, 16], [16, 16]],
];

/// The standard sparse image block shape, in texel blocks (x, y, z), for an
/// image of type `dim` with `block_bytes`-byte texel blocks and `samples`
/// samples; `None` where the spec defines none: 1D images, block sizes other
/// than 1, 2, 4, 8, 16 bytes, sample counts other than 1, 2, 4, 8, 16, and
/// multisample 3D images.
pub fn standard_block_shape(dim: Dim, block_bytes: u32, samples: u32) -> Option<[u32; 3]> {
    let class = size_class(block_bytes)?;
    match (dim, samples) {
        (Dim::D1, _) => None,
        (Dim::D2, 1) => {
            let [w, h] = SHAPE_2D[class];
            Some([w, h, 1])
        }
        (Dim::D2, _) => {
            let row = match samples {
                2 => 0,
                4 => 1,
                8 => 2,
                16 => 3,
                _ => return None,
            };
            let [w, h] = SHAPE_MSAA[row][class];
            Some([w, h, 1])
        }
        (Dim::D3, 1) => Some(SHAPE_3D[class]),
        (Dim::D3, _) => None,
    }
}

/// [`standard_block_shape`] in texels: the shape in blocks times the block
/// extent. This is `VkSparseImageFormatProperties::imageGranularity`.
pub fn standard_block_shape_texels(dim: Dim, block: TexelBlock, samples: u32) -> Option<[u32; 3]> {
    standard_block_shape(dim, block.bytes, samples).map(|s| blocks_to_texels(s, block))
}

/// The tile shape (in texel blocks) of the optimal layout: the standard shape,
/// with 1D images laid out as 2D images of height 1.
pub(crate) fn tile_shape(dim: Dim, block_bytes: u32, samples: u32) -> Option<[u32; 3]> {
    let dim = if dim == Dim::D1 { Dim::D2 } else { dim };
    standard_block_shape(dim, block_bytes, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BYTES: [u32; 5] = [1, 2, 4, 8, 16];
    const SAMPLES: [u32; 5] = [1, 2, 4, 8, 16];

    /// Invariant: every standard shape is exactly one 64 KiB tile, is a whole
    /// number of 16x16 u-blocks and, for single-sample 2D, has 1:1 or 2:1 sides
    /// (width at least height).
    #[test]
    fn every_shape_is_64k() {
        for bytes in BYTES {
            for samples in SAMPLES {
                let s = standard_block_shape(Dim::D2, bytes, samples).unwrap();
                let total = u64::from(s[0] * s[1] * s[2]) * u64::from(bytes * samples);
                assert_eq!(total, 65536, "2D {bytes} B x{samples}");
                assert_eq!(s[0] % 16 + s[1] % 16, 0);
                if samples == 1 {
                    assert!(s[0] == s[1] || s[0] == 2 * s[1]);
                }
            }
            let s = standard_block_shape(Dim::D3, bytes, 1).unwrap();
            assert_eq!(u64::from(s[0] * s[1] * s[2]) * u64::from(bytes), 65536);
            assert_eq!(s[0] % 16 + s[1] % 16, 0);
        }
    }

    #[test]
    fn spec_values() {
        assert_eq!(standard_block_shape(Dim::D2, 1, 1), Some([256, 256, 1]));
        assert_eq!(standard_block_shape(Dim::D2, 2, 1), Some([256, 128, 1]));
        assert_eq!(standard_block_shape(Dim::D2, 4, 1), Some([128, 128, 1]));
        assert_eq!(standard_block_shape(Dim::D2, 8, 1), Some([128, 64, 1]));
        assert_eq!(standard_block_shape(Dim::D2, 16, 1), Some([64, 64, 1]));
        assert_eq!(standard_block_shape(Dim::D3, 1, 1), Some([64, 32, 32]));
        assert_eq!(standard_block_shape(Dim::D3, 4, 1), Some([32, 32, 16]));
        assert_eq!(standard_block_shape(Dim::D3, 16, 1), Some([16, 16, 16]));
        assert_eq!(standard_block_shape(Dim::D2, 1, 2), Some([128, 256, 1]));
        assert_eq!(standard_block_shape(Dim::D2, 16, 2), Some([32, 64, 1]));
        assert_eq!(standard_block_shape(Dim::D2, 2, 4), Some([128, 64, 1]));
        assert_eq!(standard_block_shape(Dim::D2, 4, 8), Some([32, 64, 1]));
        assert_eq!(standard_block_shape(Dim::D2, 16, 8), Some([16, 32, 1]));
        assert_eq!(standard_block_shape(Dim::D2, 8, 16), Some([32, 16, 1]));
        assert_eq!(standard_block_shape(Dim::D2, 1, 16), Some([64, 64, 1]));
    }

    #[test]
    fn no_shape() {
        assert_eq!(standard_block_shape(Dim::D2, 3, 1), None);
        assert_eq!(standard_block_shape(Dim::D2, 6, 1), None);
        assert_eq!(standard_block_shape(Dim::D2, 12, 1), None);
        assert_eq!(standard_block_shape(Dim::D2, 32, 1), None);
        assert_eq!(standard_block_shape(Dim::D2, 0, 1), None);
        assert_eq!(standard_block_shape(Dim::D2, 4, 3), None);
        assert_eq!(standard_block_shape(Dim::D2, 4, 32), None);
        assert_eq!(standard_block_shape(Dim::D3, 4, 2), None);
        assert_eq!(standard_block_shape(Dim::D1, 4, 1), None);
        assert_eq!(tile_shape(Dim::D1, 4, 1), Some([128, 128, 1]));
    }

    #[test]
    fn compressed_in_texels() {
        let bc1 = TexelBlock::compressed(8, [4, 4, 1]);
        assert_eq!(
            standard_block_shape_texels(Dim::D2, bc1, 1),
            Some([512, 256, 1])
        );
        let bc7 = TexelBlock::compressed(16, [4, 4, 1]);
        assert_eq!(
            standard_block_shape_texels(Dim::D2, bc7, 1),
            Some([256, 256, 1])
        );
        assert_eq!(
            standard_block_shape_texels(Dim::D3, bc7, 1),
            Some([64, 64, 16])
        );
    }
}
