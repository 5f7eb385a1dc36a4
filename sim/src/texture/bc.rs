//! Block-compressed texels: decoding one texel of a 4x4 BC1..BC5 block
//! (genxml `Clump Format` BC1 UNORM = 48 .. BC5 SNORM = 54). BC6H and BC7
//! (55..57) are not implemented and refused as unsupported.
//!
//! The block formats are those of the Khronos Data Format Specification,
//! "S3TC compressed texture image formats" and "RGTC": colour endpoints are
//! RGB565, interpolated in float (2/3 c0 + 1/3 c1 ...); BC1 with c0 <= c1
//! has a three-colour mode whose fourth entry is transparent black; BC2/BC3
//! colour blocks always use four colours; BC4 channels have 8- or 6-point
//! palettes, SNORM endpoints clamp -128 to -127.
//!
//! Output is the block's memory components (R, G, B, A as f32) with the
//! missing ones already 0 / 1: the pixel format's component order and sRGB
//! flag then apply as for any texel.

/// Which block format a plane holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BcKind {
    Bc1,
    Bc2,
    Bc3,
    Bc4 { signed: bool },
    Bc5 { signed: bool },
}

/// Why a clump format is not a decodable block format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotBc {
    /// Not a BC clump format at all.
    Other,
    /// BC6H / BC7: known, not implemented.
    Unsupported,
}

impl BcKind {
    pub fn from_clump(clump: u8) -> Result<BcKind, NotBc> {
        Ok(match clump {
            48 => BcKind::Bc1,
            49 => BcKind::Bc2,
            50 => BcKind::Bc3,
            51 => BcKind::Bc4 { signed: false },
            52 => BcKind::Bc4 { signed: true },
            53 => BcKind::Bc5 { signed: false },
            54 => BcKind::Bc5 { signed: true },
            55..=57 => return Err(NotBc::Unsupported),
            _ => return Err(NotBc::Other),
        })
    }

    /// Bytes of one 4x4 block.
    pub fn block_bytes(self) -> u32 {
        match self {
            BcKind::Bc1 | BcKind::Bc4 { .. } => 8,
            _ => 16,
        }
    }
}

fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .enumerate()
        .fold(0, |acc, (i, &b)| acc | (b as u64) << (8 * i))
}

fn rgb565(c: u16) -> [f32; 3] {
    [
        ((c >> 11) & 0x1f) as f32 / 31.0,
        ((c >> 5) & 0x3f) as f32 / 63.0,
        (c & 0x1f) as f32 / 31.0,
    ]
}

fn mix(a: [f32; 3], b: [f32; 3], wa: f32, wb: f32, div: f32) -> [f32; 3] {
    [0, 1, 2].map(|i| (a[i] * wa + b[i] * wb) / div)
}

/// Colour of texel `i` (0..16, row-major) of the 8-byte colour block `b`;
/// `four` forces four-colour mode (BC2, BC3).
fn color(b: &[u8], i: u32, four: bool) -> [f32; 4] {
    let c0 = u16::from_le_bytes([b[0], b[1]]);
    let c1 = u16::from_le_bytes([b[2], b[3]]);
    let index = (le(&b[4..8]) >> (2 * i)) & 3;
    let (e0, e1) = (rgb565(c0), rgb565(c1));
    let rgb = match (index, four || c0 > c1) {
        (0, _) => e0,
        (1, _) => e1,
        (2, true) => mix(e0, e1, 2.0, 1.0, 3.0),
        (3, true) => mix(e0, e1, 1.0, 2.0, 3.0),
        (2, false) => mix(e0, e1, 1.0, 1.0, 2.0),
        _ => return [0.0; 4], // three-colour mode: transparent black
    };
    [rgb[0], rgb[1], rgb[2], 1.0]
}

/// Channel value of texel `i` of the 8-byte BC4 block `b`.
fn channel(b: &[u8], i: u32, signed: bool) -> f32 {
    let endpoint = |v: u8| {
        if signed {
            ((v as i8) as f32).max(-127.0)
        } else {
            v as f32
        }
    };
    let (r0, r1) = (endpoint(b[0]), endpoint(b[1]));
    let index = ((le(&b[2..8]) >> (3 * i)) & 7) as u32;
    let scale = if signed { 127.0 } else { 255.0 };
    let v = match index {
        0 => r0,
        1 => r1,
        k if r0 > r1 => ((8 - k) as f32 * r0 + (k - 1) as f32 * r1) / 7.0,
        6 => {
            return if signed { -1.0 } else { 0.0 };
        }
        7 => return 1.0,
        k => ((6 - k) as f32 * r0 + (k - 1) as f32 * r1) / 5.0,
    };
    v / scale
}

/// Texel (`x`, `y`) (low two bits of each) of `block` (its first
/// [`BcKind::block_bytes`] bytes) as memory components.
pub fn decode(kind: BcKind, block: &[u8; 16], x: u32, y: u32) -> [f32; 4] {
    let i = (y & 3) * 4 + (x & 3);
    match kind {
        BcKind::Bc1 => color(block, i, false),
        BcKind::Bc2 => {
            let a = ((le(&block[0..8]) >> (4 * i)) & 0xf) as f32 / 15.0;
            let c = color(&block[8..16], i, true);
            [c[0], c[1], c[2], a]
        }
        BcKind::Bc3 => {
            let a = channel(&block[0..8], i, false);
            let c = color(&block[8..16], i, true);
            [c[0], c[1], c[2], a]
        }
        BcKind::Bc4 { signed } => [channel(block, i, signed), 0.0, 0.0, 1.0],
        BcKind::Bc5 { signed } => [
            channel(&block[0..8], i, signed),
            channel(&block[8..16], i, signed),
            0.0,
            1.0,
        ],
    }
}
