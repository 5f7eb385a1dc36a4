//! `Texture` descriptors, the `Generic Plane` descriptors they point to
//! (one per level and layer), and the 22-bit pixel format.

use super::bits::{get, set, ulod, ulod_value};
use super::{BadDescriptor, DescriptorType, DESCRIPTOR_SIZE};

/// genxml `Pixel Format` on v7 and later: component order in bits 0..11,
/// the `Format` enum value in bits 12..19, sRGB in bit 20 (bit 21 must be 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PixelFormat(pub u32);

impl PixelFormat {
    pub const fn new(format: u8, order: u16, srgb: bool) -> PixelFormat {
        PixelFormat((order as u32 & 0xfff) | (format as u32) << 12 | (srgb as u32) << 20)
    }

    /// The genxml `Format` enum value (e.g. 187 = RGBA8 UNORM).
    pub const fn format(self) -> u8 {
        (self.0 >> 12) as u8
    }

    /// The genxml `RGB Component Order` value (0 = RGBA, 4 = BGRA, 16 = RGB1).
    pub const fn order(self) -> u16 {
        (self.0 & 0xfff) as u16
    }

    pub const fn srgb(self) -> bool {
        self.0 & 1 << 20 != 0
    }
}

/// genxml enum `Texture Dimension`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextureDimension {
    Cube = 0,
    D1 = 1,
    D2 = 2,
    D3 = 3,
}

/// A `Texture` descriptor: a view of an image (the shape of its first
/// level, the levels and layers it has) whose surfaces are described by
/// an array of plane descriptors at `surfaces`, ordered layer-major:
/// plane `layer * levels + level` (cube faces count as layers).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Texture {
    /// 0:4, 3 bits.
    pub dimension: TextureDimension,
    /// 0:9.
    pub normalize_coordinates: bool,
    /// 0:10, 22 bits.
    pub format: PixelFormat,
    /// 1:0 and 1:16, stored minus one.
    pub width: u32,
    pub height: u32,
    /// 2:0: four 3-bit `Channel` codes (R=0, G=1, B=2, A=3, 0=4, 1=5).
    pub swizzle: [u8; 4],
    /// 2:12: set for every non-linear layout and for compressed formats.
    pub texel_interleave: bool,
    /// 2:16, 5 bits, stored minus one.
    pub levels: u32,
    /// 2:24, 5 bits.
    pub minimum_level: u32,
    /// 3:0 and 3:16: unsigned 5.8 fixed point LOD bounds.
    pub minimum_lod: f32,
    pub maximum_lod: f32,
    /// 3:13, log2.
    pub samples: u32,
    /// 4:0: the plane array.
    pub surfaces: u64,
    /// 6:0, stored minus one: layers (cubes: cube count).
    pub array_size: u32,
    /// 7:0, stored minus one.
    pub depth: u32,
}

pub const IDENTITY_SWIZZLE: [u8; 4] = [0, 1, 2, 3];

impl Texture {
    pub fn pack(&self) -> [u8; DESCRIPTOR_SIZE] {
        let mut d = [0; DESCRIPTOR_SIZE];
        set(&mut d, 0, 4, DescriptorType::Texture as u64);
        set(&mut d, 4, 3, self.dimension as u64);
        set(&mut d, 9, 1, self.normalize_coordinates as u64);
        set(&mut d, 10, 22, self.format.0 as u64);
        set(&mut d, 32, 16, self.width.saturating_sub(1) as u64);
        set(&mut d, 48, 16, self.height.saturating_sub(1) as u64);
        let swz = self
            .swizzle
            .iter()
            .enumerate()
            .fold(0u64, |a, (i, &c)| a | (c as u64 & 7) << (3 * i));
        set(&mut d, 64, 12, swz);
        set(&mut d, 76, 1, self.texel_interleave as u64);
        set(&mut d, 80, 5, self.levels.saturating_sub(1) as u64);
        set(&mut d, 88, 5, self.minimum_level as u64);
        set(&mut d, 96, 13, ulod(self.minimum_lod, 13));
        set(&mut d, 109, 3, self.samples.max(1).ilog2() as u64);
        set(&mut d, 112, 13, ulod(self.maximum_lod, 13));
        set(&mut d, 128, 64, self.surfaces);
        set(&mut d, 192, 16, self.array_size.saturating_sub(1) as u64);
        set(&mut d, 224, 16, self.depth.saturating_sub(1) as u64);
        d
    }

    pub fn unpack(d: &[u8; DESCRIPTOR_SIZE]) -> Result<Texture, BadDescriptor> {
        if DescriptorType::of(d) != Some(DescriptorType::Texture) {
            return Err(BadDescriptor {
                what: "texture descriptor type",
                value: get(d, 0, 4),
            });
        }
        let dimension = match get(d, 4, 3) {
            0 => TextureDimension::Cube,
            1 => TextureDimension::D1,
            2 => TextureDimension::D2,
            3 => TextureDimension::D3,
            v => {
                return Err(BadDescriptor {
                    what: "texture dimension",
                    value: v,
                })
            }
        };
        let swz = get(d, 64, 12);
        Ok(Texture {
            dimension,
            normalize_coordinates: get(d, 9, 1) != 0,
            format: PixelFormat(get(d, 10, 22) as u32),
            width: get(d, 32, 16) as u32 + 1,
            height: get(d, 48, 16) as u32 + 1,
            swizzle: [0, 1, 2, 3].map(|i| (swz >> (3 * i) & 7) as u8),
            texel_interleave: get(d, 76, 1) != 0,
            levels: get(d, 80, 5) as u32 + 1,
            minimum_level: get(d, 88, 5) as u32,
            minimum_lod: ulod_value(get(d, 96, 13)),
            samples: 1 << get(d, 109, 3),
            maximum_lod: ulod_value(get(d, 112, 13)),
            surfaces: get(d, 128, 64),
            array_size: get(d, 192, 16) as u32 + 1,
            depth: get(d, 224, 16) as u32 + 1,
        })
    }
}

/// genxml enum `Clump Ordering`: how texel blocks are laid out in a plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClumpOrdering {
    /// 16x16-block U-interleaved (`DRM_FORMAT_MOD_ARM_16X16_BLOCK_U_INTERLEAVED`).
    TiledUInterleaved = 1,
    Linear = 2,
    /// `DRM_FORMAT_MOD_ARM_INTERLEAVED_64K`: 64 KiB tiles in rows (row
    /// stride = bytes of a row of tiles), 16x16-block sub-tiles in rows
    /// inside a tile, U-order inside a sub-tile.
    Interleaved64K = 8,
}

/// genxml `Clump Format` values for uncompressed texel sizes.
pub const CLUMP_RAW8: u8 = 0;
pub const CLUMP_RAW16: u8 = 1;
pub const CLUMP_RAW32: u8 = 2;
pub const CLUMP_RAW64: u8 = 3;
pub const CLUMP_RAW128: u8 = 4;

/// A `Generic Plane`: one level of one layer (all depth slices of a 3D
/// level, all samples of a multisampled one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenericPlane {
    /// 0:8, 4 bits.
    pub ordering: ClumpOrdering,
    /// 0:24, 8 bits: the texel block's storage (RAW32, BC1 UNORM, ...).
    pub clump_format: u8,
    /// 1:0: bytes of the plane.
    pub size: u32,
    /// 2:0.
    pub pointer: u64,
    /// 4:0: bytes from one row of texel blocks (or of 16x16 blocks, for
    /// interleaved orderings) to the next.
    pub row_stride: u32,
    /// 6:0: bytes from one depth slice (or sample) to the next.
    pub slice_stride: u32,
    /// 7:0 and 7:16, stored minus one: the level's extent in texels.
    pub width: u32,
    pub height: u32,
}

impl GenericPlane {
    pub fn pack(&self) -> [u8; DESCRIPTOR_SIZE] {
        let mut d = [0; DESCRIPTOR_SIZE];
        set(&mut d, 0, 4, DescriptorType::Plane as u64);
        set(&mut d, 4, 4, 1); // Plane type: Generic
        set(&mut d, 8, 4, self.ordering as u64);
        set(&mut d, 24, 8, self.clump_format as u64);
        set(&mut d, 32, 32, self.size as u64);
        set(&mut d, 64, 64, self.pointer);
        set(&mut d, 128, 32, self.row_stride as u64);
        set(&mut d, 192, 32, self.slice_stride as u64);
        set(&mut d, 224, 16, self.width.saturating_sub(1) as u64);
        set(&mut d, 240, 16, self.height.saturating_sub(1) as u64);
        d
    }

    pub fn unpack(d: &[u8; DESCRIPTOR_SIZE]) -> Result<GenericPlane, BadDescriptor> {
        if DescriptorType::of(d) != Some(DescriptorType::Plane) || get(d, 4, 4) != 1 {
            return Err(BadDescriptor {
                what: "generic plane type",
                value: get(d, 0, 8),
            });
        }
        let ordering = match get(d, 8, 4) {
            1 => ClumpOrdering::TiledUInterleaved,
            2 => ClumpOrdering::Linear,
            8 => ClumpOrdering::Interleaved64K,
            v => {
                return Err(BadDescriptor {
                    what: "clump ordering",
                    value: v,
                })
            }
        };
        Ok(GenericPlane {
            ordering,
            clump_format: get(d, 24, 8) as u8,
            size: get(d, 32, 32) as u32,
            pointer: get(d, 64, 64),
            row_stride: get(d, 128, 32) as u32,
            slice_stride: get(d, 192, 32) as u32,
            width: get(d, 224, 16) as u32 + 1,
            height: get(d, 240, 16) as u32 + 1,
        })
    }
}
