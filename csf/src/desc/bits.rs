//! Field access on little-endian descriptor bytes, positions as genxml
//! gives them (absolute bit = word * 32 + bit).

/// The byte range holding bits `start .. start + width` (at most 9 bytes
/// for 64 bits).
fn bytes(start: usize, width: usize) -> std::ops::Range<usize> {
    let first = start / 8;
    first..first + (start % 8 + width).div_ceil(8)
}

/// `d`'s bytes as one little-endian integer.
fn le(d: &[u8]) -> u128 {
    d.iter().rev().fold(0, |v, &b| v << 8 | b as u128)
}

fn mask(width: usize) -> u128 {
    (1u128 << width) - 1
}

/// Reads `width` (<= 64) bits at absolute bit `start`.
pub(crate) fn get(d: &[u8], start: usize, width: usize) -> u64 {
    (le(&d[bytes(start, width)]) >> (start % 8) & mask(width)) as u64
}

/// Writes the low `width` bits of `value` at absolute bit `start`.
pub(crate) fn set(d: &mut [u8], start: usize, width: usize, value: u64) {
    let range = bytes(start, width);
    let shift = start % 8;
    let m = mask(width) << shift;
    let new = le(&d[range.clone()]) & !m | (value as u128) << shift & m;
    for (i, b) in d[range].iter_mut().enumerate() {
        *b = (new >> (8 * i)) as u8;
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
