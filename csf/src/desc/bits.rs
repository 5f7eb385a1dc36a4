//! Field access on little-endian descriptor bytes, positions as genxml
//! gives them (absolute bit = word * 32 + bit).

/// Reads `width` (<= 64) bits at absolute bit `start`.
pub(crate) fn get(d: &[u8], start: usize, width: usize) -> u64 {
    let mut v = 0u64;
    for i in 0..width {
        let b = start + i;
        if d[b / 8] >> (b % 8) & 1 != 0 {
            v |= 1 << i;
        }
    }
    v
}

/// Writes the low `width` bits of `value` at absolute bit `start`.
pub(crate) fn set(d: &mut [u8], start: usize, width: usize, value: u64) {
    for i in 0..width {
        let b = start + i;
        let bit = 1u8 << (b % 8);
        if value >> i & 1 != 0 {
            d[b / 8] |= bit;
        } else {
            d[b / 8] &= !bit;
        }
    }
}

/// genxml `ulod`: unsigned fixed point with 8 fractional bits, clamped to
/// the field.
pub(crate) fn ulod(v: f32, width: usize) -> u64 {
    let max = ((1u64 << width) - 1) as f32;
    (v * 256.0).round().clamp(0.0, max) as u64
}

pub(crate) fn ulod_value(raw: u64) -> f32 {
    raw as f32 / 256.0
}

/// genxml `slod`: signed fixed point with 8 fractional bits (two's
/// complement in `width` bits), clamped.
pub(crate) fn slod(v: f32, width: usize) -> u64 {
    let max = ((1i64 << (width - 1)) - 1) as f32;
    let min = -(1i64 << (width - 1)) as f32;
    let raw = (v * 256.0).round().clamp(min, max) as i64;
    (raw as u64) & ((1u64 << width) - 1)
}

pub(crate) fn slod_value(raw: u64, width: usize) -> f32 {
    let shift = 64 - width;
    (((raw << shift) as i64) >> shift) as f32 / 256.0
}
