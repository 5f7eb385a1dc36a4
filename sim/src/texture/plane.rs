//! One `Generic Plane` descriptor (one level of one layer) as the texture
//! unit uses it: unpacked, checked against the view's format, and turned
//! into an addressing [`Geometry`] plus the storage of its texel blocks
//! (raw texels, BC blocks, or a stencil byte inside a wider clump).

use mali_csf::desc::{ClumpOrdering, GenericPlane, DESCRIPTOR_SIZE};

use super::addressing::{tile_shape, Arrangement, Geometry, TILE_BYTES};
use super::bc::{BcKind, NotBc};
use super::format::{Class, TexelFormat};
use super::TextureFault;

/// What one texel block of a plane holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// One texel in the format's own layout.
    Raw,
    /// A 4x4 compressed block.
    Bc(BcKind),
    /// S8 stencil: the stencil value is byte `byte` of the clump.
    Stencil { byte: u8 },
}

/// The shape of the level a plane describes, from the Texture descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelShape {
    /// Width, height, depth in texels (1 where the dimension is absent).
    pub extent: [u32; 3],
    pub samples: u32,
    /// 3D texture (bricks in Interleaved 64K).
    pub volume: bool,
}

/// A plane ready for addressing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plane {
    /// The descriptor's VA, for faults.
    pub va: u64,
    pub storage: Storage,
    pub geometry: Geometry,
    /// The level's extent in texels: the Texture descriptor's, clipped to
    /// the plane's own width and height.
    pub extent: [u32; 3],
    /// Texels per block in x and y (1, or 4 for BC).
    pub block: [u32; 2],
}

/// Why a clump format cannot be used with the view's format.
enum Refusal {
    /// Format and clump disagree: a malformed descriptor.
    Mismatch,
    /// A clump format this unit does not implement.
    Unsupported,
}

/// Clump format -> (storage, bytes per block).
fn storage(clump: u8, format: &TexelFormat) -> Result<(Storage, u32), Refusal> {
    let raw = |bytes: u32| {
        if format.bytes() == Some(bytes) {
            Ok((Storage::Raw, bytes))
        } else if format.is_stencil() && bytes == 1 {
            Ok((Storage::Stencil { byte: 0 }, 1))
        } else {
            Err(Refusal::Mismatch)
        }
    };
    let stencil = |bytes: u32, byte: u8| {
        if format.is_stencil() {
            Ok((Storage::Stencil { byte }, bytes))
        } else {
            Err(Refusal::Mismatch)
        }
    };
    match clump {
        0..=4 => raw(1 << clump),
        18 => stencil(8, 4), // X32S8X24
        20 => stencil(4, 3), // X24S8
        21 => stencil(4, 0), // S8X24
        22 => stencil(1, 0), // S8
        _ => match BcKind::from_clump(clump) {
            Ok(kind) if format.class() == Class::Float => {
                Ok((Storage::Bc(kind), kind.block_bytes()))
            }
            Ok(_) => Err(Refusal::Mismatch),
            Err(NotBc::Unsupported | NotBc::Other) => Err(Refusal::Unsupported),
        },
    }
}

impl Plane {
    /// Unpacks and checks the plane descriptor `d` read at `va`.
    pub fn new(
        d: &[u8; DESCRIPTOR_SIZE],
        va: u64,
        format: &TexelFormat,
        shape: LevelShape,
    ) -> Result<Plane, TextureFault> {
        let bad = TextureFault::BadDescriptor { va };
        let unsupported = TextureFault::Unsupported { va };
        let p = GenericPlane::unpack(d).map_err(|_| bad)?;
        let (storage, bytes) = storage(p.clump_format, format).map_err(|e| match e {
            Refusal::Mismatch => bad,
            Refusal::Unsupported => unsupported,
        })?;
        let block = match storage {
            Storage::Bc(_) => [4, 4],
            _ => [1, 1],
        };
        let extent = [
            shape.extent[0].min(p.width),
            shape.extent[1].min(p.height),
            shape.extent[2],
        ];
        let blocks = [
            extent[0].div_ceil(block[0]),
            extent[1].div_ceil(block[1]),
            extent[2],
        ];
        let row_stride = u64::from(p.row_stride);
        let slice_stride = u64::from(p.slice_stride);
        let arrangement = match p.ordering {
            ClumpOrdering::Linear => Arrangement::Linear,
            ClumpOrdering::TiledUInterleaved => Arrangement::UInterleaved {
                dim: if block[0] == 1 { 16 } else { 4 },
            },
            ClumpOrdering::Interleaved64K => {
                let tile = tile_shape(shape.volume, bytes, shape.samples).ok_or(unsupported)?;
                // The strides must cover the level's tile grid.
                let tiles = [0, 1, 2].map(|i| u64::from(blocks[i].div_ceil(tile[i])));
                let row_ok = row_stride % TILE_BYTES == 0 && row_stride >= tiles[0] * TILE_BYTES;
                let slice_ok = tiles[2] <= 1 || slice_stride >= row_stride * tiles[1];
                if !row_ok || !slice_ok {
                    return Err(bad);
                }
                Arrangement::Interleaved64K { tile }
            }
        };
        Ok(Plane {
            va,
            storage,
            geometry: Geometry {
                arrangement,
                pointer: p.pointer,
                size: u64::from(p.size),
                row_stride,
                slice_stride,
                block_bytes: bytes,
                samples: shape.samples,
            },
            extent,
            block,
        })
    }

    /// Whether texel (x, y, z) lies in the level.
    pub fn contains(&self, t: [u32; 3]) -> bool {
        (0..3).all(|i| t[i] < self.extent[i])
    }

    /// VA of the block holding texel `t` (inside the level) of `sample`;
    /// a block outside the plane's bytes is a malformed descriptor.
    pub fn block_va(&self, t: [u32; 3], sample: u32) -> Result<u64, TextureFault> {
        let b = [t[0] / self.block[0], t[1] / self.block[1], t[2]];
        self.geometry
            .block_va(b, sample)
            .ok_or(TextureFault::BadDescriptor { va: self.va })
    }
}
