//! Texture-unit tests: a host [`TexelMemory`] over a `Vec` with a
//! per-4 KiB-page residency map and access counters, and builders that
//! write Texture / plane descriptors the way the driver does.

mod access;
mod addressing;
mod formats;
mod robustness;
mod sampling;

use mali_csf::desc::{
    ClumpOrdering, GenericPlane, PixelFormat, Texture, TextureDimension, IDENTITY_SWIZZLE,
};

use super::{TexelMemory, TextureFault, TextureView};

pub const PAGE: u64 = 4096;
pub const BASE: u64 = 0x100_0000;
/// Where the test builders put Texture descriptors and plane arrays.
pub const DESC_VA: u64 = BASE;
pub const PLANES_VA: u64 = BASE + 0x1000;
/// Where image data starts (64 KiB aligned).
pub const DATA_VA: u64 = BASE + 0x10_0000;

/// GPU memory `[BASE, BASE + len)`: non-resident pages read zero and drop
/// writes; anything outside faults.
pub struct HostMem {
    bytes: Vec<u8>,
    resident: Vec<bool>,
    pub reads: usize,
    pub writes: usize,
}

impl HostMem {
    pub fn new(len: usize) -> HostMem {
        HostMem {
            bytes: vec![0; len],
            resident: vec![true; len.div_ceil(PAGE as usize)],
            reads: 0,
            writes: 0,
        }
    }

    fn range(&self, va: u64, len: usize) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(va.checked_sub(BASE)?).ok()?;
        let end = start.checked_add(len)?;
        (end <= self.bytes.len()).then_some(start..end)
    }

    fn pages(&self, r: &std::ops::Range<usize>) -> std::ops::RangeInclusive<usize> {
        r.start / PAGE as usize..=(r.end.max(r.start + 1) - 1) / PAGE as usize
    }

    pub fn set_resident(&mut self, va: u64, resident: bool) {
        let page = ((va - BASE) / PAGE) as usize;
        self.resident[page] = resident;
    }

    /// Host-side store (not counted, ignores residency).
    pub fn put(&mut self, va: u64, data: &[u8]) {
        let r = self.range(va, data.len()).expect("put inside memory");
        self.bytes[r].copy_from_slice(data);
    }

    pub fn get(&self, va: u64, len: usize) -> Vec<u8> {
        self.bytes[self.range(va, len).expect("get inside memory")].to_vec()
    }

    pub fn put_u32(&mut self, va: u64, v: u32) {
        self.put(va, &v.to_le_bytes());
    }

    pub fn put_f32(&mut self, va: u64, v: f32) {
        self.put(va, &v.to_le_bytes());
    }

    pub fn snapshot(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

impl TexelMemory for HostMem {
    fn read(&mut self, va: u64, out: &mut [u8]) -> Result<bool, TextureFault> {
        self.reads += 1;
        let r = self
            .range(va, out.len())
            .ok_or(TextureFault::Memory { va, write: false })?;
        let resident = self.pages(&r).all(|p| self.resident[p]);
        if resident {
            out.copy_from_slice(&self.bytes[r]);
        } else {
            for (i, b) in out.iter_mut().enumerate() {
                let page = (r.start + i) / PAGE as usize;
                *b = if self.resident[page] {
                    self.bytes[r.start + i]
                } else {
                    0
                };
            }
        }
        Ok(resident)
    }

    fn write(&mut self, va: u64, data: &[u8]) -> Result<(), TextureFault> {
        self.writes += 1;
        let r = self
            .range(va, data.len())
            .ok_or(TextureFault::Memory { va, write: true })?;
        for (i, &b) in data.iter().enumerate() {
            if self.resident[(r.start + i) / PAGE as usize] {
                self.bytes[r.start + i] = b;
            }
        }
        Ok(())
    }
}

/// Common Pixel Format values (facts table, `hw` column).
pub mod pf {
    use mali_csf::desc::PixelFormat;
    pub const RGBA8_UNORM: PixelFormat = PixelFormat(0x0BB000);
    pub const RGBA8_SRGB: PixelFormat = PixelFormat(0x1BB000);
    pub const BGRA8_UNORM: PixelFormat = PixelFormat(0x0BB004);
    pub const R8_UNORM: PixelFormat = PixelFormat(0x0A3010);
    pub const R32_UINT: PixelFormat = PixelFormat(0x085010);
    pub const R32_FLOAT: PixelFormat = PixelFormat(0x0A7010);
    pub const D32_FLOAT: PixelFormat = PixelFormat(0x04C000);
    pub const BC1_RGBA: PixelFormat = PixelFormat(0x0BB000);
    pub const BC1_RGB: PixelFormat = PixelFormat(0x0BB010);
}

/// A view to build: the Texture descriptor's fields plus one plane per
/// (layer, level), written at [`DESC_VA`] / [`PLANES_VA`].
pub struct Build {
    pub dim: TextureDimension,
    pub format: PixelFormat,
    pub size: [u32; 3],
    pub levels: u32,
    /// Array size as the descriptor stores it (cubes for cube views).
    pub array_size: u32,
    pub samples: u32,
    pub swizzle: [u8; 4],
    pub planes: Vec<GenericPlane>,
}

impl Build {
    pub fn new(dim: TextureDimension, format: PixelFormat, size: [u32; 3]) -> Build {
        Build {
            dim,
            format,
            size,
            levels: 1,
            array_size: 1,
            samples: 1,
            swizzle: IDENTITY_SWIZZLE,
            planes: Vec::new(),
        }
    }

    /// Adds a linear plane of `width` x `height` texel blocks of `bytes`,
    /// rows `row_stride` apart, at `pointer`.
    pub fn linear(mut self, pointer: u64, w: u32, h: u32, bytes: u32, row_stride: u32) -> Build {
        let clump = bytes.trailing_zeros() as u8;
        self.planes.push(plane(
            ClumpOrdering::Linear,
            clump,
            pointer,
            w,
            h,
            row_stride,
            0,
            row_stride * h,
        ));
        self
    }

    pub fn plane(mut self, p: GenericPlane) -> Build {
        self.planes.push(p);
        self
    }

    pub fn texture(&self) -> Texture {
        Texture {
            dimension: self.dim,
            normalize_coordinates: false,
            format: self.format,
            width: self.size[0],
            height: self.size[1],
            swizzle: self.swizzle,
            texel_interleave: false,
            levels: self.levels,
            minimum_level: 0,
            minimum_lod: 0.0,
            maximum_lod: 0.0,
            samples: self.samples,
            surfaces: PLANES_VA,
            array_size: self.array_size,
            depth: self.size[2],
        }
    }

    /// Writes the descriptors and loads the view.
    pub fn load(&self, mem: &mut HostMem) -> Result<TextureView, TextureFault> {
        mem.put(DESC_VA, &self.texture().pack());
        for (i, p) in self.planes.iter().enumerate() {
            mem.put(PLANES_VA + 32 * i as u64, &p.pack());
        }
        TextureView::load(mem, DESC_VA)
    }
}

#[allow(clippy::too_many_arguments)]
pub fn plane(
    ordering: ClumpOrdering,
    clump_format: u8,
    pointer: u64,
    width: u32,
    height: u32,
    row_stride: u32,
    slice_stride: u32,
    size: u32,
) -> GenericPlane {
    GenericPlane {
        ordering,
        clump_format,
        size,
        pointer,
        row_stride,
        slice_stride,
        width,
        height,
    }
}

pub fn f(v: [u32; 4]) -> [f32; 4] {
    v.map(f32::from_bits)
}

pub fn assert_close(got: [f32; 4], want: [f32; 4]) {
    for i in 0..4 {
        assert!(
            (got[i] - want[i]).abs() <= 1e-5 || (got[i].is_nan() && want[i].is_nan()),
            "lane {i}: got {got:?}, want {want:?}"
        );
    }
}
