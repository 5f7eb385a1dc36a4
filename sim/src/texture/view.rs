//! [`TextureView`]: one `Texture` descriptor and its plane array, and the
//! unfiltered operations on it (imageLoad / texelFetch, imageStore, the
//! texel address for image atomics, size queries). Filtered sampling is in
//! `sample.rs`.
//!
//! Coordinates are in texels of the asked level: (x, y, z) for 3D views,
//! (x, y, layer) for 2D and 2D-array views, (x, -, layer) for 1D views, and
//! (x, y, layer * 6 + face) for cube views (array layers always in the
//! third lane). `level` counts from the view's first level.

use mali_csf::desc::{Texture, TextureDimension, DESCRIPTOR_SIZE};

use super::format::{Class, TexelFormat};
use super::plane::{LevelShape, Plane, Storage};
use super::{bc, TexelMemory, TextureFault};

/// Plane arrays up to this many entries are read once at
/// [`TextureView::load`]; larger ones are read plane by plane on use.
const CACHED_PLANES: u64 = 256;

/// The shape of a view at one level, as `OpImageQuerySize*`,
/// `OpImageQueryLevels` and `OpImageQuerySamples` report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewInfo {
    /// Width, height, depth of the level (1 where the dimension is absent).
    pub size: [u32; 3],
    /// Array layers (cube views: 6 per cube).
    pub layers: u32,
    pub levels: u32,
    pub samples: u32,
}

/// A texture descriptor and what the texture unit derived from it.
#[derive(Clone, Debug)]
pub struct TextureView {
    pub desc: Texture,
    pub(crate) desc_va: u64,
    pub(crate) format: TexelFormat,
    /// genxml `Channel` per output lane: R=0 .. A=3, 0=4, 1=5.
    swizzle: [u8; 4],
    /// Planes per level: array layers, 6 per cube for cube views.
    layers: u32,
    /// Every plane, layer-major, when the array is small.
    planes: Option<Vec<Plane>>,
}

/// Reads the 32-byte descriptor at `va`.
pub(crate) fn read_descriptor(
    mem: &mut dyn TexelMemory,
    va: u64,
) -> Result<[u8; DESCRIPTOR_SIZE], TextureFault> {
    let mut d = [0u8; DESCRIPTOR_SIZE];
    mem.read(va, &mut d)?;
    Ok(d)
}

impl TextureView {
    /// Reads and checks the Texture descriptor at `desc_va` (and, for
    /// views of at most 256 planes, all its plane descriptors).
    pub fn load(mem: &mut dyn TexelMemory, desc_va: u64) -> Result<TextureView, TextureFault> {
        let bad = TextureFault::BadDescriptor { va: desc_va };
        let desc = Texture::unpack(&read_descriptor(mem, desc_va)?).map_err(|_| bad)?;
        if desc.format.0 >> 21 != 0 || desc.swizzle.iter().any(|&c| c > 5) {
            return Err(bad);
        }
        let format =
            TexelFormat::new(desc.format).ok_or(TextureFault::Unsupported { va: desc_va })?;
        let layers = match desc.dimension {
            TextureDimension::Cube => desc.array_size.checked_mul(6).ok_or(bad)?,
            TextureDimension::D3 => 1,
            _ => desc.array_size,
        };
        let mut view = TextureView {
            desc,
            desc_va,
            format,
            swizzle: desc.swizzle,
            layers,
            planes: None,
        };
        let count = u64::from(layers) * u64::from(desc.levels);
        if count <= CACHED_PLANES {
            let mut planes = Vec::with_capacity(count as usize);
            for layer in 0..layers {
                for level in 0..desc.levels {
                    planes.push(view.read_plane(mem, layer, level)?);
                }
            }
            view.planes = Some(planes);
        }
        Ok(view)
    }

    /// The view's numeric class (what `read` returns and `write` takes).
    pub fn class(&self) -> Class {
        self.format.class()
    }

    pub fn info(&self, level: u32) -> ViewInfo {
        ViewInfo {
            size: self.level_extent(level),
            layers: self.layers,
            levels: self.desc.levels,
            samples: self.desc.samples,
        }
    }

    /// Texture-descriptor extent of `level` (each at least 1).
    fn level_extent(&self, level: u32) -> [u32; 3] {
        let minify = |v: u32| v.checked_shr(level).unwrap_or(0).max(1);
        let depth = if self.desc.dimension == TextureDimension::D3 {
            minify(self.desc.depth)
        } else {
            1
        };
        let height = if self.desc.dimension == TextureDimension::D1 {
            1
        } else {
            minify(self.desc.height)
        };
        [minify(self.desc.width), height, depth]
    }

    pub(crate) fn levels(&self) -> u32 {
        self.desc.levels
    }

    fn read_plane(
        &self,
        mem: &mut dyn TexelMemory,
        layer: u32,
        level: u32,
    ) -> Result<Plane, TextureFault> {
        let index = u64::from(layer) * u64::from(self.desc.levels) + u64::from(level);
        let va = index
            .checked_mul(DESCRIPTOR_SIZE as u64)
            .and_then(|o| self.desc.surfaces.checked_add(o))
            .ok_or(TextureFault::BadDescriptor { va: self.desc_va })?;
        let d = read_descriptor(mem, va)?;
        let shape = LevelShape {
            extent: self.level_extent(level),
            samples: self.desc.samples,
            volume: self.desc.dimension == TextureDimension::D3,
        };
        Plane::new(&d, va, &self.format, shape)
    }

    /// The plane of (`layer`, `level`); both must be in range.
    pub(crate) fn plane(
        &self,
        mem: &mut dyn TexelMemory,
        layer: u32,
        level: u32,
    ) -> Result<Plane, TextureFault> {
        match &self.planes {
            Some(planes) => {
                let index = layer as usize * self.desc.levels as usize + level as usize;
                planes
                    .get(index)
                    .copied()
                    .ok_or(TextureFault::BadDescriptor { va: self.desc_va })
            }
            None => self.read_plane(mem, layer, level),
        }
    }

    /// Applies the view's swizzle to a logical texel.
    pub(crate) fn swizzle(&self, t: [u32; 4]) -> [u32; 4] {
        self.swizzle.map(|c| match c {
            0..=3 => t[c as usize],
            5 => self.format.class().one(),
            _ => 0,
        })
    }

    /// Logical (unswizzled) texel `t` of `plane`, which must lie in the
    /// level, and whether its memory is resident.
    pub(crate) fn fetch(
        &self,
        mem: &mut dyn TexelMemory,
        plane: &Plane,
        t: [u32; 3],
        sample: u32,
    ) -> Result<([u32; 4], bool), TextureFault> {
        let va = plane.block_va(t, sample)?;
        let mut raw = [0u8; 16];
        let len = plane.geometry.block_bytes.min(16) as usize;
        let resident = mem.read(va, &mut raw[..len])?;
        let texel = match plane.storage {
            Storage::Raw => self.format.decode(&raw[..len]),
            Storage::Bc(kind) => {
                let c = bc::decode(kind, &raw, t[0], t[1]);
                self.format.apply_order(c.map(f32::to_bits))
            }
            Storage::Stencil { byte } => self.format.stencil(raw[byte as usize & 15]),
        };
        Ok((texel, resident))
    }

    /// Splits an integer coordinate into texel (x, y, z) and plane layer;
    /// `None` when out of range.
    fn locate(&self, coord: [i32; 3]) -> Option<([u32; 3], u32)> {
        let [x, y, z] = coord.map(|c| u32::try_from(c).ok());
        let (x, y, z) = (x?, y?, z?);
        let (t, layer) = match self.desc.dimension {
            TextureDimension::D3 => ([x, y, z], 0),
            TextureDimension::D1 => ([x, 0, 0], z),
            _ => ([x, y, 0], z),
        };
        (layer < self.layers && (self.desc.dimension != TextureDimension::D1 || y == 0))
            .then_some((t, layer))
    }

    /// imageLoad / texelFetch: the texel at `coord` of `level`, swizzled,
    /// and whether it is resident. Out-of-range coordinates, levels or
    /// samples read the zero texel ((0, 0, 0, 1) for formats without
    /// alpha) without touching memory, and count as resident.
    pub fn read(
        &self,
        mem: &mut dyn TexelMemory,
        coord: [i32; 3],
        level: u32,
        sample: u32,
    ) -> Result<([u32; 4], bool), TextureFault> {
        let zero = Ok((self.swizzle(self.format.zero()), true));
        if level >= self.desc.levels || sample >= self.desc.samples {
            return zero;
        }
        let Some((t, layer)) = self.locate(coord) else {
            return zero;
        };
        let plane = self.plane(mem, layer, level)?;
        if !plane.contains(t) {
            return zero;
        }
        let (texel, resident) = self.fetch(mem, &plane, t, sample)?;
        Ok((self.swizzle(texel), resident))
    }

    /// The plane and texel a level-0 access at `coord` touches, if in range.
    fn level0(
        &self,
        mem: &mut dyn TexelMemory,
        coord: [i32; 3],
        sample: u32,
    ) -> Result<Option<(Plane, [u32; 3])>, TextureFault> {
        if sample >= self.desc.samples {
            return Ok(None);
        }
        let Some((t, layer)) = self.locate(coord) else {
            return Ok(None);
        };
        let plane = self.plane(mem, layer, 0)?;
        Ok(plane.contains(t).then_some((plane, t)))
    }

    /// imageStore to level 0 of the view (storage views have an identity
    /// swizzle, so none is applied). Out-of-range writes are dropped
    /// without touching memory. Compressed, stencil and RGB9E5 views
    /// cannot be written: `Unsupported`.
    pub fn write(
        &self,
        mem: &mut dyn TexelMemory,
        coord: [i32; 3],
        sample: u32,
        texel: [u32; 4],
    ) -> Result<(), TextureFault> {
        let Some((plane, t)) = self.level0(mem, coord, sample)? else {
            return Ok(());
        };
        let mut raw = [0u8; 16];
        let len = plane.geometry.block_bytes.min(16) as usize;
        if plane.storage != Storage::Raw || !self.format.encode(texel, &mut raw[..len]) {
            return Err(TextureFault::Unsupported { va: self.desc_va });
        }
        let va = plane.block_va(t, sample)?;
        mem.write(va, &raw[..len])
    }

    /// The VA of texel `coord` of level 0 (OpImageTexelPointer, for image
    /// atomics), or `None` when out of range or not a plain texel.
    pub fn texel_va(
        &self,
        mem: &mut dyn TexelMemory,
        coord: [i32; 3],
        sample: u32,
    ) -> Result<Option<u64>, TextureFault> {
        match self.level0(mem, coord, sample)? {
            Some((plane, t)) if plane.storage == Storage::Raw => {
                plane.block_va(t, sample).map(Some)
            }
            _ => Ok(None),
        }
    }
}
