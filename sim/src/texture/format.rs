//! Texel formats: which 22-bit `Pixel Format` values (genxml v10: component
//! order in bits 0..11, Mali `Format` enum in bits 12..19, sRGB in bit 20)
//! the texture unit understands, and the conversion of one stored texel to
//! the shader's numeric class and back.
//!
//! A texel goes through three steps, in the Vulkan spec's order:
//! 1. the stored bits become *memory components* c0..c3 (c0 in the lowest
//!    bits), each converted to the class (f32 bits for UNORM, SNORM and
//!    float formats, u32/i32 for integer ones); components the format does
//!    not store read 0, except c3 which reads 1;
//! 2. the component order maps them to R, G, B, A: each letter of the order
//!    names what the memory component at that position is (BGRA: c0 is B,
//!    so R comes from c2), `1`/`0` positions are constants; `R001` and
//!    `RG01` are the `RGB1` order of a one- or two-component format;
//! 3. sRGB formats decode R, G and B (not A) to linear.
//!
//! Writes run the same steps backwards. Depth formats (Z16, Z24X8, Z32)
//! read as one-component UNORM/float; the stencil format S8 reads as "X8S8"
//! (c1 is the stencil value), as Mesa describes Valhall's behaviour, the
//! byte itself being picked by the plane's clump format.

use super::numeric::{
    f32_to_half, f32_to_minifloat, f32_to_snorm, f32_to_unorm, half_to_f32, linear_to_srgb, mask,
    minifloat_to_f32, rgb9e5_to_f32, sign_extend, snorm_to_f32, srgb_to_linear, unorm_to_f32,
};
use mali_csf::desc::PixelFormat;

/// The shader-side numeric class of a format's texels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// f32 bits: float, UNORM, SNORM and sRGB formats.
    Float,
    Uint,
    Sint,
}

impl Class {
    /// The "1" of missing alpha in this class.
    pub fn one(self) -> u32 {
        match self {
            Class::Float => 1.0f32.to_bits(),
            Class::Uint | Class::Sint => 1,
        }
    }
}

/// How each stored component is interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Num {
    Unorm,
    Snorm,
    Uint,
    Sint,
    /// IEEE half (16 bits) or single (32 bits).
    Float,
    /// Unsigned 5-bit-exponent floats (11 or 10 bits).
    UFloat,
    /// RGB9E5.
    SharedExp,
    /// S8: no stored bits here, the plane's clump format locates the byte.
    Stencil,
}

/// Stored layout: `n` components of `widths` bits from bit 0 up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    bytes: u8,
    n: u8,
    widths: [u8; 4],
    num: Num,
}

const fn width(i: u8, n: u8, bits: u8) -> u8 {
    if i < n {
        bits
    } else {
        0
    }
}

const fn array(n: u8, bits: u8, num: Num) -> Layout {
    Layout {
        bytes: n * bits / 8,
        n,
        widths: [
            width(0, n, bits),
            width(1, n, bits),
            width(2, n, bits),
            width(3, n, bits),
        ],
        num,
    }
}

const fn packed(bytes: u8, widths: [u8; 4], n: u8, num: Num) -> Layout {
    Layout {
        bytes,
        n,
        widths,
        num,
    }
}

/// Mali `Format` enum values (genxml v10) and their layouts.
const FORMATS: &[(u8, Layout)] = &[
    (163, array(1, 8, Num::Unorm)),
    (171, array(2, 8, Num::Unorm)),
    (187, array(4, 8, Num::Unorm)),
    (99, array(1, 8, Num::Snorm)),
    (107, array(2, 8, Num::Snorm)),
    (123, array(4, 8, Num::Snorm)),
    (131, array(1, 8, Num::Uint)),
    (139, array(2, 8, Num::Uint)),
    (155, array(4, 8, Num::Uint)),
    (195, array(1, 8, Num::Sint)),
    (203, array(2, 8, Num::Sint)),
    (219, array(4, 8, Num::Sint)),
    (164, array(1, 16, Num::Unorm)),
    (172, array(2, 16, Num::Unorm)),
    (188, array(4, 16, Num::Unorm)),
    (100, array(1, 16, Num::Snorm)),
    (108, array(2, 16, Num::Snorm)),
    (124, array(4, 16, Num::Snorm)),
    (132, array(1, 16, Num::Uint)),
    (140, array(2, 16, Num::Uint)),
    (156, array(4, 16, Num::Uint)),
    (196, array(1, 16, Num::Sint)),
    (204, array(2, 16, Num::Sint)),
    (220, array(4, 16, Num::Sint)),
    (199, array(1, 16, Num::Float)),
    (207, array(2, 16, Num::Float)),
    (223, array(4, 16, Num::Float)),
    (133, array(1, 32, Num::Uint)),
    (141, array(2, 32, Num::Uint)),
    (157, array(4, 32, Num::Uint)),
    (197, array(1, 32, Num::Sint)),
    (205, array(2, 32, Num::Sint)),
    (221, array(4, 32, Num::Sint)),
    (167, array(1, 32, Num::Float)),
    (175, array(2, 32, Num::Float)),
    (191, array(4, 32, Num::Float)),
    // RGB10_A2 UNORM / UI
    (67, packed(4, [10, 10, 10, 2], 4, Num::Unorm)),
    (71, packed(4, [10, 10, 10, 2], 4, Num::Uint)),
    // R11F_G11F_B10F, R9F_G9F_B9F_E5F, RGB565
    (89, packed(4, [11, 11, 10, 0], 3, Num::UFloat)),
    (91, packed(4, [9, 9, 9, 0], 3, Num::SharedExp)),
    (64, packed(2, [5, 6, 5, 0], 3, Num::Unorm)),
    // Z16_UNORM, Z32 (float), Z24X8_UNORM
    (75, array(1, 16, Num::Unorm)),
    (76, array(1, 32, Num::Float)),
    (77, packed(4, [24, 0, 0, 0], 1, Num::Unorm)),
    // S8 ("X8S8": c0 = X, c1 = stencil)
    (93, packed(1, [0, 8, 0, 0], 2, Num::Stencil)),
];

/// Where a logical channel comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    Comp(u8),
    Zero,
    One,
}

/// genxml `RGB Component Order` values this unit implements.
fn order(value: u16) -> Option<[Src; 4]> {
    use Src::{Comp as C, One, Zero};
    Some(match value {
        0 => [C(0), C(1), C(2), C(3)],   // RGBA
        2 => [C(1), C(0), C(2), C(3)],   // GRBA
        4 => [C(2), C(1), C(0), C(3)],   // BGRA
        8 => [C(1), C(2), C(3), C(0)],   // ARGB
        10 => [C(2), C(1), C(3), C(0)],  // AGRB
        12 => [C(3), C(2), C(1), C(0)],  // ABGR
        16 => [C(0), C(1), C(2), One],   // RGB1 (= R001, RG01)
        18 => [C(1), C(0), C(2), One],   // GRB1
        20 => [C(2), C(1), C(0), One],   // BGR1
        24 => [C(1), C(2), C(3), One],   // 1RGB
        26 => [C(2), C(1), C(3), One],   // 1GRB
        28 => [C(3), C(2), C(1), One],   // 1BGR
        226 => [C(0), C(0), C(0), C(0)], // RRRR
        227 => [C(0), C(0), C(0), One],  // RRR1
        230 => [Zero, Zero, Zero, One],  // 0001
        231 => [Zero, Zero, Zero, Zero], // 0000
        _ => return None,
    })
}

/// A pixel format the texture unit can convert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TexelFormat {
    layout: Layout,
    order: [Src; 4],
    srgb: bool,
    class: Class,
}

impl TexelFormat {
    /// The format named by `pf`, or `None` when this unit does not
    /// implement it (unknown enum value or order, sRGB on a format that is
    /// not 8-bit UNORM, bit 21 set).
    pub fn new(pf: PixelFormat) -> Option<TexelFormat> {
        if pf.0 >> 21 != 0 {
            return None;
        }
        let layout = FORMATS.iter().find(|(f, _)| *f == pf.format())?.1;
        let srgb = pf.srgb();
        let srgb_ok = layout.num == Num::Unorm && layout.widths[0] == 8;
        if srgb && !srgb_ok {
            return None;
        }
        let class = match layout.num {
            Num::Uint | Num::Stencil => Class::Uint,
            Num::Sint => Class::Sint,
            _ => Class::Float,
        };
        Some(TexelFormat {
            layout,
            order: order(pf.order())?,
            srgb,
            class,
        })
    }

    pub fn class(&self) -> Class {
        self.class
    }

    /// Bytes of one stored texel; `None` for S8, whose byte the plane's
    /// clump format locates.
    pub fn bytes(&self) -> Option<u32> {
        (self.layout.num != Num::Stencil).then_some(self.layout.bytes as u32)
    }

    pub fn is_stencil(&self) -> bool {
        self.layout.num == Num::Stencil
    }

    /// Whether depth references are clamped to [0, 1] for this format
    /// (fixed-point formats, per the spec's depth comparison rule).
    pub fn is_unorm(&self) -> bool {
        self.layout.num == Num::Unorm
    }

    /// Whether [`TexelFormat::encode`] can store this format.
    pub fn writable(&self) -> bool {
        !matches!(self.layout.num, Num::SharedExp | Num::Stencil)
    }

    /// Missing memory component `i`: 0, or 1 for c3.
    fn missing(&self, i: usize) -> u32 {
        if i == 3 {
            self.class.one()
        } else {
            0
        }
    }

    /// Stored bits (little endian, `raw.len() >= bytes`) to logical RGBA in
    /// the format's class.
    pub fn decode(&self, raw: &[u8]) -> [u32; 4] {
        let mut word = 0u128;
        for (i, &b) in raw.iter().take(16).enumerate() {
            word |= (b as u128) << (8 * i);
        }
        let mut mem = [0, 0, 0, self.class.one()];
        if self.layout.num == Num::SharedExp {
            let f = rgb9e5_to_f32(word as u32);
            mem = [
                f[0].to_bits(),
                f[1].to_bits(),
                f[2].to_bits(),
                1.0f32.to_bits(),
            ];
            return self.apply_order(mem);
        }
        let mut shift = 0u32;
        for (i, lane) in mem.iter_mut().enumerate() {
            let bits = self.layout.widths[i] as u32;
            if i >= self.layout.n as usize {
                *lane = self.missing(i);
                continue;
            }
            let v = ((word >> shift) as u32) & mask(bits);
            shift += bits;
            *lane = match self.layout.num {
                Num::Unorm => unorm_to_f32(v, bits).to_bits(),
                Num::Snorm => snorm_to_f32(v, bits).to_bits(),
                Num::Uint | Num::Stencil => v,
                Num::Sint => sign_extend(v, bits) as u32,
                Num::Float if bits == 16 => half_to_f32(v).to_bits(),
                Num::Float => v,
                Num::UFloat => minifloat_to_f32(v, bits - 5, false).to_bits(),
                Num::SharedExp => 0,
            };
        }
        self.apply_order(mem)
    }

    /// Memory components (already in the class, missing ones filled) to
    /// logical RGBA: component order, then sRGB decoding. Used directly
    /// for texels that do not come from [`TexelFormat::decode`] (BC blocks,
    /// stencil bytes).
    pub fn apply_order(&self, mem: [u32; 4]) -> [u32; 4] {
        let mut out = self.order.map(|s| match s {
            Src::Comp(i) => mem[i as usize],
            Src::Zero => 0,
            Src::One => self.class.one(),
        });
        if self.srgb {
            for lane in &mut out[..3] {
                *lane = srgb_to_linear(f32::from_bits(*lane)).to_bits();
            }
        }
        out
    }

    /// The S8 texel of stencil value `s`.
    pub fn stencil(&self, s: u8) -> [u32; 4] {
        self.apply_order([0, s as u32, 0, 1])
    }

    /// What an out-of-bounds read returns: a texel whose stored bits are
    /// all zero, so components the format lacks still read (0, 0, 0, 1)
    /// (`robustImageAccess2`).
    pub fn zero(&self) -> [u32; 4] {
        let mem = [0, 1, 2, 3].map(|i| {
            if i < self.layout.n as usize && self.layout.num != Num::Stencil {
                0
            } else {
                self.missing(i)
            }
        });
        self.apply_order(mem)
    }

    /// The sampler's border colour (raw lanes, already in the class) as
    /// this format returns it: channels that the format does not store
    /// take their constant, as the spec's "Conversion to RGBA" step does
    /// after texel replacement.
    pub fn border(&self, border: [u32; 4]) -> [u32; 4] {
        let n = if self.is_stencil() {
            2
        } else {
            self.layout.n as usize
        };
        let mut out = border;
        for (j, lane) in out.iter_mut().enumerate() {
            match self.order[j] {
                Src::Comp(i) if (i as usize) < n => {}
                Src::Comp(i) => *lane = self.missing(i as usize),
                Src::Zero => *lane = 0,
                Src::One => *lane = self.class.one(),
            }
        }
        out
    }

    /// Logical RGBA (in the class) to stored bits in `out[..bytes]`.
    /// Returns false for formats that cannot be written
    /// ([`TexelFormat::writable`]). Integer values keep their low bits.
    pub fn encode(&self, texel: [u32; 4], out: &mut [u8]) -> bool {
        if !self.writable() {
            return false;
        }
        let mut logical = texel;
        if self.srgb {
            for lane in &mut logical[..3] {
                *lane = linear_to_srgb(f32::from_bits(*lane)).to_bits();
            }
        }
        // Inverse order: a memory component takes the first channel that
        // reads it; unread components store 0.
        let mut word = 0u128;
        let mut shift = 0u32;
        for i in 0..self.layout.n as usize {
            let bits = self.layout.widths[i] as u32;
            let src = (0..4).find(|&j| self.order[j] == Src::Comp(i as u8));
            let v = src.map_or(0, |j| logical[j]);
            let f = f32::from_bits(v);
            let stored = match self.layout.num {
                Num::Unorm => f32_to_unorm(f, bits),
                Num::Snorm => f32_to_snorm(f, bits),
                Num::Uint | Num::Sint => v & mask(bits),
                Num::Float if bits == 16 => f32_to_half(f),
                Num::Float => v,
                Num::UFloat => f32_to_minifloat(f, bits - 5, false),
                Num::SharedExp | Num::Stencil => 0,
            };
            word |= (stored as u128) << shift;
            shift += bits;
        }
        let bytes = self.layout.bytes as usize;
        for (i, b) in out.iter_mut().take(bytes).enumerate() {
            *b = (word >> (8 * i)) as u8;
        }
        true
    }
}
