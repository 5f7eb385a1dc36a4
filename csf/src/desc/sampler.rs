//! `Sampler` descriptors: filtering, addressing and LOD clamps.

use super::bits::{get, set, slod, slod_value, ulod, ulod_value};
use super::{BadDescriptor, DescriptorType, DESCRIPTOR_SIZE};

/// genxml enum `Wrap Mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WrapMode {
    Repeat = 8,
    ClampToEdge = 9,
    ClampToBorder = 11,
    MirroredRepeat = 12,
    MirroredClampToEdge = 13,
}

impl WrapMode {
    fn from_bits(v: u64) -> Option<WrapMode> {
        Some(match v {
            8 => WrapMode::Repeat,
            9 => WrapMode::ClampToEdge,
            11 => WrapMode::ClampToBorder,
            12 => WrapMode::MirroredRepeat,
            13 => WrapMode::MirroredClampToEdge,
            _ => return None,
        })
    }
}

/// genxml enum `Mipmap Mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MipmapMode {
    Nearest = 0,
    None = 1,
    Trilinear = 3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Filter {
    Nearest,
    Linear,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampler {
    /// 0:16 (S), 0:12 (T), 0:8 (R).
    pub wrap: [WrapMode; 3],
    /// 0:25.
    pub normalized_coordinates: bool,
    /// 0:27 / 0:28: nearest when set.
    pub minify: Filter,
    pub magnify: Filter,
    /// 0:30, 2 bits.
    pub mipmap_mode: MipmapMode,
    /// 1:0 / 1:16: unsigned 5.8 fixed point.
    pub minimum_lod: f32,
    pub maximum_lod: f32,
    /// 1:13, genxml `Func` (0 = Never: no comparison).
    pub compare_func: u8,
    /// 2:0: signed 8.8 fixed point.
    pub lod_bias: f32,
    /// 2:16, stored minus one.
    pub max_anisotropy: u32,
    /// 4:0..7:0, raw 32-bit lanes.
    pub border_color: [u32; 4],
}

impl Default for Sampler {
    /// genxml's defaults: clamp to edge, normalized, linear filters,
    /// nearest mipmaps, LOD range [0, 0].
    fn default() -> Sampler {
        Sampler {
            wrap: [WrapMode::ClampToEdge; 3],
            normalized_coordinates: true,
            minify: Filter::Linear,
            magnify: Filter::Linear,
            mipmap_mode: MipmapMode::Nearest,
            minimum_lod: 0.0,
            maximum_lod: 0.0,
            compare_func: 0,
            lod_bias: 0.0,
            max_anisotropy: 1,
            border_color: [0; 4],
        }
    }
}

impl Sampler {
    pub fn pack(&self) -> [u8; DESCRIPTOR_SIZE] {
        let mut d = [0; DESCRIPTOR_SIZE];
        set(&mut d, 0, 4, DescriptorType::Sampler as u64);
        set(&mut d, 16, 4, self.wrap[0] as u64);
        set(&mut d, 12, 4, self.wrap[1] as u64);
        set(&mut d, 8, 4, self.wrap[2] as u64);
        let nearest = self.minify == Filter::Nearest && self.magnify == Filter::Nearest;
        set(&mut d, 21, 1, !nearest as u64); // round to nearest even
        set(&mut d, 23, 1, 1); // seamless cube maps (Vulkan's rule)
        set(&mut d, 25, 1, self.normalized_coordinates as u64);
        set(&mut d, 27, 1, (self.minify == Filter::Nearest) as u64);
        set(&mut d, 28, 1, (self.magnify == Filter::Nearest) as u64);
        set(&mut d, 30, 2, self.mipmap_mode as u64);
        set(&mut d, 32, 13, ulod(self.minimum_lod, 13));
        set(&mut d, 45, 3, self.compare_func as u64);
        set(&mut d, 48, 13, ulod(self.maximum_lod, 13));
        set(&mut d, 64, 16, slod(self.lod_bias, 16));
        set(&mut d, 80, 5, self.max_anisotropy.saturating_sub(1) as u64);
        for (i, &c) in self.border_color.iter().enumerate() {
            set(&mut d, 128 + 32 * i, 32, c as u64);
        }
        d
    }

    pub fn unpack(d: &[u8; DESCRIPTOR_SIZE]) -> Result<Sampler, BadDescriptor> {
        if DescriptorType::of(d) != Some(DescriptorType::Sampler) {
            return Err(BadDescriptor {
                what: "sampler descriptor type",
                value: get(d, 0, 4),
            });
        }
        let wrap = |start| {
            WrapMode::from_bits(get(d, start, 4)).ok_or(BadDescriptor {
                what: "wrap mode",
                value: get(d, start, 4),
            })
        };
        let mipmap_mode = match get(d, 30, 2) {
            0 => MipmapMode::Nearest,
            1 => MipmapMode::None,
            3 => MipmapMode::Trilinear,
            v => {
                return Err(BadDescriptor {
                    what: "mipmap mode",
                    value: v,
                })
            }
        };
        let filter = |bit| {
            if get(d, bit, 1) != 0 {
                Filter::Nearest
            } else {
                Filter::Linear
            }
        };
        Ok(Sampler {
            wrap: [wrap(16)?, wrap(12)?, wrap(8)?],
            normalized_coordinates: get(d, 25, 1) != 0,
            minify: filter(27),
            magnify: filter(28),
            mipmap_mode,
            minimum_lod: ulod_value(get(d, 32, 13)),
            compare_func: get(d, 45, 3) as u8,
            maximum_lod: ulod_value(get(d, 48, 13)),
            lod_bias: slod_value(get(d, 64, 16), 16),
            max_anisotropy: get(d, 80, 5) as u32 + 1,
            border_color: [0, 1, 2, 3].map(|i| get(d, 128 + 32 * i, 32) as u32),
        })
    }
}
