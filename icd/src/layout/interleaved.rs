//! Addressing inside one 64 KiB tile of `DRM_FORMAT_MOD_ARM_INTERLEAVED_64K`,
//! and this driver's extensions of it to 3D and multisample images.
//!
//! # The modifier (2D, single sample)
//!
//! Linux `include/uapi/drm/drm_fourcc.h`, `DRM_FORMAT_MOD_ARM_INTERLEAVED_64K`:
//! the plane is divided into 64 KiB tiles with 1:1 or 2:1 sides, laid out
//! linearly; each tile is divided into 16x16 blocks of texel blocks
//! ("u-blocks" here), laid out linearly (row-major) within the tile; within a
//! u-block texel blocks are in U order, as for
//! `DRM_FORMAT_MOD_ARM_16X16_BLOCK_U_INTERLEAVED`. Unlike that modifier the
//! layout does not change for compressed formats: a BC1 "texel block" is one
//! 4x4 block of 8 bytes. Tiles have width >= height and are exactly the Vulkan
//! standard 2D sparse block shapes ([`super::shapes`]): 8-byte blocks give
//! 128x64 tiles, that is 8x4 u-blocks.
//!
//! # U order
//!
//! Source of the bit pattern: Mesa, `src/panfrost/shared/pan_tiling.c`
//! (formerly `src/panfrost/lib/pan_tiling.c`), whose comment gives the index of
//! texel block (x, y) within a 16x16 u-block as, most significant bit first,
//!
//! ```text
//! | y3 | (x3 ^ y3) | y2 | (y2 ^ x2) | y1 | (y1 ^ x1) | y0 | (y0 ^ x0) |
//! ```
//!
//! and computes it as `bit_duplication[y] ^ space_4[x]` (y's bits each doubled,
//! x's bits spread to the even positions). So bit `2k` is `x_k ^ y_k` and bit
//! `2k + 1` is `y_k`. The first four indices walk a "U": (0,0), (1,0), (1,1),
//! (0,1). Worked values (checked in the tests): (1,0) -> 1, (0,1) -> 3,
//! (1,1) -> 2, (2,0) -> 4, (15,0) -> 0b0101_0101 = 85, (0,15) -> 255,
//! (15,15) -> 0b1010_1010 = 170.
//!
//! # Our extensions (the modifier defines 2D single-sample planes only)
//!
//! **3D images**: a tile is a 64 KiB *brick* of the standard 3D sparse block
//! shape (32-bit texels: 32x32x16). Inside a brick the z-slices follow one
//! another; each slice is the brick's width x height made of u-blocks laid out
//! row-major, in U order inside (every standard 3D shape has width and height
//! multiples of 16). Bricks are laid out x, then y, then z over the level. One
//! sparse block bind therefore maps exactly one brick.
//!
//! **Multisample 2D images**: a tile has the standard multisample shape (4x
//! 32-bit: 64x64 texels), so that shape x bytes x samples = 64 KiB. Inside a
//! tile the u-blocks are row-major as for one sample, but each u-block holds
//! `samples` consecutive planes: sample 0 of its 256 texel blocks in U order,
//! then sample 1, and so on. One bind maps one tile with all its samples, and
//! one sample of one u-block is a contiguous, single-sample-shaped 16x16 block.
//!
//! Both reduce to the single formula of [`TileGeometry::offset`]:
//! `((ublock_index * samples + sample) * 256 + u_order(x % 16, y % 16)) * bytes`
//! with `ublock_index = z * ublocks_per_slice + (y / 16) * ublocks_per_row + x / 16`.

use super::TILE_BYTES;

/// Texel blocks along each side of a u-block.
pub const UBLOCK_DIM: u32 = 16;

/// Texel blocks in one u-block.
pub const UBLOCK_TEXEL_BLOCKS: u32 = UBLOCK_DIM * UBLOCK_DIM;

/// Spreads the low 4 bits of `v` to the even bit positions 0, 2, 4, 6
/// (Mesa's `space_4` table).
const fn spread4(v: u32) -> u32 {
    (v & 1) | ((v & 2) << 1) | ((v & 4) << 2) | ((v & 8) << 3)
}

/// Gathers bits 0, 2, 4, 6 of `v` into bits 0..4 (inverse of [`spread4`]).
const fn gather4(v: u32) -> u32 {
    (v & 1) | ((v >> 1) & 2) | ((v >> 2) & 4) | ((v >> 3) & 8)
}

/// Index (0..256) of texel block (`x`, `y`) inside a 16x16 u-block in U order.
/// Only the low 4 bits of `x` and `y` are used.
///
/// `spread4(y) * 3` doubles every bit of y (Mesa's `bit_duplication`: the
/// spread bits sit at even positions, so `* 3` = `| << 1` without carries);
/// XOR with `spread4(x)` puts `x_k ^ y_k` at bit `2k` and leaves `y_k` at bit
/// `2k + 1`.
pub const fn u_order(x: u32, y: u32) -> u32 {
    (spread4(y & 15) * 3) ^ spread4(x & 15)
}

/// The (x, y) position inside a u-block of U-order index `index` (only its
/// low 8 bits are used): the inverse of [`u_order`].
pub const fn u_order_inverse(index: u32) -> (u32, u32) {
    let index = index & 0xff;
    let y = gather4(index >> 1);
    let x = gather4(index) ^ y;
    (x, y)
}

/// The shape of one 64 KiB tile and how texel blocks are arranged in it.
///
/// Invariant (checked by [`TileGeometry::new`]): `shape[0]` and `shape[1]` are
/// multiples of 16 and `shape product x block_bytes x samples = TILE_BYTES`,
/// so [`TileGeometry::offset`] of an in-tile position is below `TILE_BYTES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileGeometry {
    shape: [u32; 3],
    block_bytes: u32,
    samples: u32,
}

impl TileGeometry {
    /// The tile geometry for `shape` (in texel blocks), or `None` if the shape
    /// is not a whole number of u-blocks or is not exactly 64 KiB.
    pub fn new(shape: [u32; 3], block_bytes: u32, samples: u32) -> Option<TileGeometry> {
        let bytes = u64::from(shape[0])
            * u64::from(shape[1])
            * u64::from(shape[2])
            * u64::from(block_bytes)
            * u64::from(samples);
        let whole_ublocks = shape[0] % UBLOCK_DIM == 0 && shape[1] % UBLOCK_DIM == 0;
        (bytes == TILE_BYTES && whole_ublocks && shape[2] > 0).then_some(TileGeometry {
            shape,
            block_bytes,
            samples,
        })
    }

    /// Tile shape in texel blocks (x, y, z).
    pub fn shape(&self) -> [u32; 3] {
        self.shape
    }

    /// Byte offset inside the tile of the texel block at `local` (relative to
    /// the tile's origin, each coordinate below the tile shape) and `sample`
    /// (below the sample count). Out-of-range inputs give offsets that are
    /// meaningless but do not panic; callers check ranges first.
    pub fn offset(&self, local: [u32; 3], sample: u32) -> u64 {
        let ublocks_per_row = u64::from(self.shape[0] / UBLOCK_DIM);
        let ublocks_per_slice = ublocks_per_row * u64::from(self.shape[1] / UBLOCK_DIM);
        let ublock = u64::from(local[2]) * ublocks_per_slice
            + u64::from(local[1] / UBLOCK_DIM) * ublocks_per_row
            + u64::from(local[0] / UBLOCK_DIM);
        let plane = ublock * u64::from(self.samples) + u64::from(sample);
        let index = plane * u64::from(UBLOCK_TEXEL_BLOCKS) + u64::from(u_order(local[0], local[1]));
        index * u64::from(self.block_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u_order_is_a_permutation_of_the_ublock() {
        let mut seen = [false; 256];
        for y in 0..16 {
            for x in 0..16 {
                let i = u_order(x, y) as usize;
                assert!(i < 256);
                assert!(!seen[i], "index {i} twice");
                seen[i] = true;
                assert_eq!(u_order_inverse(i as u32), (x, y));
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    /// Values worked by hand from Mesa pan_tiling.c: index = bit_duplication[y]
    /// ^ space_4[x], bit_duplication[1] = 0b11, [15] = 0b1111_1111,
    /// space_4[1] = 0b1, [2] = 0b100, [3] = 0b101, [15] = 0b101_0101.
    #[test]
    fn u_order_matches_mesa_tables() {
        assert_eq!(u_order(0, 0), 0);
        assert_eq!(u_order(1, 0), 0b1); // space_4[1]
        assert_eq!(u_order(1, 1), 0b10); // 0b11 ^ 0b01
        assert_eq!(u_order(0, 1), 0b11); // bit_duplication[1]
        assert_eq!(u_order(2, 0), 0b100); // space_4[2]
        assert_eq!(u_order(3, 1), 0b110); // 0b11 ^ 0b101
        assert_eq!(u_order(0, 2), 0b1100); // bit_duplication[2]
        assert_eq!(u_order(15, 0), 0b0101_0101); // space_4[15] = 85
        assert_eq!(u_order(0, 15), 0b1111_1111); // bit_duplication[15] = 255
        assert_eq!(u_order(15, 15), 0b1010_1010); // 255 ^ 85 = 170
        assert_eq!(u_order(5, 10), 0b1100_1100 ^ 0b0001_0001); // = 221
    }

    #[test]
    fn u_order_uses_low_bits_only() {
        assert_eq!(u_order(17, 33), u_order(1, 1));
        assert_eq!(u_order_inverse(0x1ff), u_order_inverse(0xff));
    }

    #[test]
    fn tile_geometry_rejects_wrong_sizes() {
        assert!(TileGeometry::new([128, 128, 1], 4, 1).is_some());
        assert!(TileGeometry::new([128, 64, 1], 4, 1).is_none()); // 32 KiB
        assert!(TileGeometry::new([8, 8, 256], 4, 1).is_none()); // not u-blocks
        assert!(TileGeometry::new([64, 64, 1], 4, 4).is_some());
    }

    #[test]
    fn tile_geometry_worked_offsets() {
        // 4-byte texels, 128x128 tile = 8x8 u-blocks of 1 KiB.
        let g = TileGeometry::new([128, 128, 1], 4, 1).unwrap();
        assert_eq!(g.offset([1, 0, 0], 0), 4);
        assert_eq!(g.offset([16, 0, 0], 0), 1024);
        assert_eq!(g.offset([17, 0, 0], 0), 1028);
        assert_eq!(g.offset([0, 16, 0], 0), 8 * 1024);
        assert_eq!(g.offset([0, 15, 0], 0), 255 * 4);
        assert_eq!(g.offset([112, 127, 0], 0), 63 * 1024 + 255 * 4);
        // 8-byte blocks, 2:1 tile 128x64 = 8x4 u-blocks of 2 KiB.
        let g = TileGeometry::new([128, 64, 1], 8, 1).unwrap();
        assert_eq!(g.offset([0, 16, 0], 0), 8 * 2048);
        assert_eq!(g.offset([127, 63, 0], 0), 31 * 2048 + 170 * 8);
        // 3D brick of 32-bit texels 32x32x16: slices of 2x2 u-blocks (4 KiB).
        let g = TileGeometry::new([32, 32, 16], 4, 1).unwrap();
        assert_eq!(g.offset([16, 0, 0], 0), 1024);
        assert_eq!(g.offset([0, 16, 0], 0), 2048);
        assert_eq!(g.offset([0, 0, 1], 0), 4096);
        assert_eq!(g.offset([0, 0, 15], 0), 15 * 4096);
        // 4x MSAA 32-bit 64x64 tile: 4x4 u-blocks, each 4 sample planes of 1 KiB.
        let g = TileGeometry::new([64, 64, 1], 4, 4).unwrap();
        assert_eq!(g.offset([0, 0, 0], 1), 1024);
        assert_eq!(g.offset([0, 0, 0], 3), 3072);
        assert_eq!(g.offset([16, 0, 0], 0), 4096);
        assert_eq!(g.offset([0, 16, 0], 2), 4 * 4096 + 2048);
    }
}
