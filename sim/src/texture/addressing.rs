//! Where a texel block of one plane lives: byte offsets for the three clump
//! orderings (genxml `Clump Ordering`), written from the layout rules, not
//! shared with the driver.
//!
//! - **Linear** (2): block (x, y, z) of sample s at
//!   `(z + s) * slice_stride + y * row_stride + x * bytes` (a plane is
//!   either 3D or multisampled, never both).
//! - **Tiled U-interleaved** (1, `DRM_FORMAT_MOD_ARM_16X16_BLOCK_U_INTERLEAVED`):
//!   u-blocks of 16x16 blocks (4x4 blocks for compressed formats, as Mesa's
//!   `pan_u_interleaved_tile_size_el`) row-major, `row_stride` = bytes of
//!   one row of u-blocks, U order inside; slices/samples `slice_stride`
//!   apart.
//! - **Interleaved 64K** (8, `DRM_FORMAT_MOD_ARM_INTERLEAVED_64K`): 64 KiB
//!   tiles of the Vulkan standard sparse block shape for the block size,
//!   row-major (`row_stride` = bytes of one row of tiles); inside a tile,
//!   16x16-block u-blocks row-major, U order inside. The driver's
//!   extensions are followed exactly: a 3D plane's tile is a 64 KiB brick
//!   of the standard 3D shape (its z-slices one after another, bricks x,
//!   then y, then z, `slice_stride` = bytes of one xy-layer of bricks); a
//!   multisampled plane's tile has the standard MSAA shape and each u-block
//!   holds one 256-block plane per sample. 1D planes use the 2D shape.
//!
//! U order (Mesa `pan_tiling.c`): inside a u-block, the index of block
//! (x, y) has `x_k ^ y_k` at bit 2k and `y_k` at bit 2k + 1.

/// Bytes of one Interleaved 64K tile.
pub const TILE_BYTES: u64 = 65536;

fn spread(v: u32) -> u32 {
    (v & 1) | (v & 2) << 1 | (v & 4) << 2 | (v & 8) << 3
}

/// U-order index of (x, y) in a 16x16 u-block (low 4 bits of each used;
/// with coordinates below 4 the index is below 16, the 4x4 u-block order).
pub fn u_order(x: u32, y: u32) -> u32 {
    (spread(y & 15) * 3) ^ spread(x & 15)
}

fn size_class(bytes: u32) -> Option<usize> {
    Some(match bytes {
        1 => 0,
        2 => 1,
        4 => 2,
        8 => 3,
        16 => 4,
        _ => return None,
    })
}

/// Vulkan spec, "Standard Sparse Image Block Shapes", in texel blocks.
const SHAPE_2D: [[u32; 2]; 5] = [[256, 256], [256, 128], [128, 128], [128, 64], [64, 64]];
const SHAPE_3D: [[u32; 3]; 5] = [
    [64, 32, 32],
    [32, 32, 32],
    [32, 32, 16],
    [32, 16, 16],
    [16, 16, 16],
];
/// Rows: 2, 4, 8, 16 samples.
const SHAPE_MSAA: [[[u32; 2]; 5]; 4] = [
    [[128, 256], [128, 128], [64, 128], [64, 64], [32, 64]],
    [[128, 128], [128, 64], [64, 64], [64, 32], [32, 32]],
    [[64, 128], [64, 64], [32, 64], [32, 32], [16, 32]],
    [[64, 64], [64, 32], [32, 32], [32, 16], [16, 16]],
];

/// The Interleaved 64K tile shape in blocks for `bytes`-byte blocks, or
/// `None` where the layout defines none.
pub fn tile_shape(volume: bool, bytes: u32, samples: u32) -> Option<[u32; 3]> {
    let class = size_class(bytes)?;
    match (volume, samples) {
        (false, 1) => Some([SHAPE_2D[class][0], SHAPE_2D[class][1], 1]),
        (true, 1) => Some(SHAPE_3D[class]),
        (false, s) => {
            let row = match s {
                2 => 0,
                4 => 1,
                8 => 2,
                16 => 3,
                _ => return None,
            };
            let [w, h] = SHAPE_MSAA[row][class];
            Some([w, h, 1])
        }
        (true, _) => None,
    }
}

/// How a plane's blocks are arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrangement {
    Linear,
    /// `dim` x `dim` blocks per u-block (16, or 4 for compressed formats).
    UInterleaved {
        dim: u32,
    },
    /// Tile shape in blocks.
    Interleaved64K {
        tile: [u32; 3],
    },
}

/// Everything needed to find a block of one plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub arrangement: Arrangement,
    pub pointer: u64,
    /// Bytes of the plane: every access must lie inside.
    pub size: u64,
    pub row_stride: u64,
    pub slice_stride: u64,
    pub block_bytes: u32,
    pub samples: u32,
}

impl Geometry {
    /// Byte offset in the plane of block `b` (x, y, z in blocks) of
    /// `sample`; `None` if the arithmetic overflows (only with absurd
    /// descriptor values). Callers check coordinates against the extent.
    pub fn offset(&self, b: [u32; 3], sample: u32) -> Option<u64> {
        let [x, y, z] = b.map(u64::from);
        let bytes = u64::from(self.block_bytes);
        match self.arrangement {
            Arrangement::Linear => (z + u64::from(sample))
                .checked_mul(self.slice_stride)?
                .checked_add(y.checked_mul(self.row_stride)?)?
                .checked_add(x * bytes),
            Arrangement::UInterleaved { dim } => {
                let d = u64::from(dim);
                let in_block = u64::from(u_order(b[0] % dim, b[1] % dim));
                (z + u64::from(sample))
                    .checked_mul(self.slice_stride)?
                    .checked_add((y / d).checked_mul(self.row_stride)?)?
                    .checked_add((x / d) * d * d * bytes)?
                    .checked_add(in_block * bytes)
            }
            Arrangement::Interleaved64K { tile } => {
                let t = tile.map(u64::from);
                let tile_base = (z / t[2])
                    .checked_mul(self.slice_stride)?
                    .checked_add((y / t[1]).checked_mul(self.row_stride)?)?
                    .checked_add((x / t[0]) * TILE_BYTES)?;
                let local = [x % t[0], y % t[1], z % t[2]];
                let per_row = t[0] / 16;
                let per_slice = per_row * (t[1] / 16);
                let ublock = local[2] * per_slice + (local[1] / 16) * per_row + local[0] / 16;
                let samples = u64::from(self.samples);
                let plane = ublock * samples + u64::from(sample);
                let in_ublock = u64::from(u_order(local[0] as u32, local[1] as u32));
                tile_base.checked_add((plane * 256 + in_ublock) * bytes)
            }
        }
    }

    /// GPU VA of block `b` of `sample`, or `None` when the block does not
    /// lie entirely inside the plane's `size` bytes (or overflows).
    pub fn block_va(&self, b: [u32; 3], sample: u32) -> Option<u64> {
        let offset = self.offset(b, sample)?;
        let end = offset.checked_add(u64::from(self.block_bytes))?;
        if end > self.size {
            return None;
        }
        self.pointer.checked_add(offset)
    }
}
