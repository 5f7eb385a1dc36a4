//! The program container the driver uploads to GPU memory and the shader
//! core reads back: entry-point name, specialization constants and the
//! SPIR-V words, in one little-endian word stream.
//!
//! Layout (u32 words): `[0]` magic [`MAGIC`], `[1]` version [`VERSION`],
//! `[2]` SPIR-V word count N, `[3]` entry-name byte length L, `[4]` spec
//! entry count S; then the entry name's bytes zero-padded to a word
//! multiple; then S entries of 4 words (constant id, byte size, value low
//! word, value high word); then the N SPIR-V words.

use thiserror::Error;

/// "MVSH" read as little-endian bytes.
pub const MAGIC: u32 = 0x4853_564D;
pub const VERSION: u32 = 1;
const HEADER_WORDS: usize = 5;
const SPEC_ENTRY_WORDS: usize = 4;

/// One `VkSpecializationMapEntry` resolved to its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecValue {
    /// The SpecId decoration value.
    pub id: u32,
    /// 1, 2, 4 or 8 bytes, little endian.
    pub bytes: Vec<u8>,
}

impl SpecValue {
    /// The value zero-extended to 64 bits.
    pub fn value(&self) -> u64 {
        let mut v = [0u8; 8];
        let n = self.bytes.len().min(8);
        v[..n].copy_from_slice(&self.bytes[..n]);
        u64::from_le_bytes(v)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShaderBinary {
    pub entry: String,
    pub spec: Vec<SpecValue>,
    pub spirv: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BinaryError {
    #[error("shader binary: bad magic {0:#010x} (expected {MAGIC:#010x})")]
    BadMagic(u32),
    #[error("shader binary: unsupported version {0} (this core reads version {VERSION})")]
    BadVersion(u32),
    #[error("shader binary: truncated: {needed} words needed, {available} present")]
    Truncated { needed: u64, available: u64 },
    #[error("shader binary: {extra} trailing words after the SPIR-V")]
    TrailingWords { extra: u64 },
    #[error("shader binary: spec constant {id} has byte size {size} (must be 1, 2, 4 or 8)")]
    BadSpecSize { id: u32, size: u32 },
    #[error("shader binary: spec constant {id}: value does not fit its {size} bytes")]
    SpecValueOverflow { id: u32, size: u32 },
    #[error("shader binary: entry-point name is not UTF-8")]
    NameNotUtf8,
    #[error("shader binary: entry-point name has padding bytes that are not zero")]
    NamePadding,
}

impl ShaderBinary {
    pub fn to_words(&self) -> Vec<u32> {
        let name = self.entry.as_bytes();
        let name_words = name.len().div_ceil(4);
        let mut out = Vec::with_capacity(
            HEADER_WORDS + name_words + self.spec.len() * SPEC_ENTRY_WORDS + self.spirv.len(),
        );
        out.extend_from_slice(&[
            MAGIC,
            VERSION,
            self.spirv.len() as u32,
            name.len() as u32,
            self.spec.len() as u32,
        ]);
        for chunk in name.chunks(4) {
            let mut w = [0u8; 4];
            w[..chunk.len()].copy_from_slice(chunk);
            out.push(u32::from_le_bytes(w));
        }
        for s in &self.spec {
            let v = s.value();
            out.extend_from_slice(&[s.id, s.bytes.len() as u32, v as u32, (v >> 32) as u32]);
        }
        out.extend_from_slice(&self.spirv);
        out
    }

    /// Parses a container; trailing words after the SPIR-V are refused so a
    /// wrong word count shows.
    pub fn parse(words: &[u32]) -> Result<ShaderBinary, BinaryError> {
        let available = words.len() as u64;
        let need = |needed: u64| -> Result<(), BinaryError> {
            if needed > available {
                Err(BinaryError::Truncated { needed, available })
            } else {
                Ok(())
            }
        };
        need(HEADER_WORDS as u64)?;
        if words[0] != MAGIC {
            return Err(BinaryError::BadMagic(words[0]));
        }
        if words[1] != VERSION {
            return Err(BinaryError::BadVersion(words[1]));
        }
        let spirv_len = u64::from(words[2]);
        let name_len = u64::from(words[3]);
        let spec_count = u64::from(words[4]);
        let name_words = name_len.div_ceil(4);
        let spec_start = HEADER_WORDS as u64 + name_words;
        let spirv_start = spec_start + spec_count * SPEC_ENTRY_WORDS as u64;
        let total = spirv_start + spirv_len;
        need(total)?;
        if total < available {
            return Err(BinaryError::TrailingWords {
                extra: available - total,
            });
        }
        // All offsets are now known to lie inside `words`.
        let (spec_start, spirv_start, total) =
            (spec_start as usize, spirv_start as usize, total as usize);

        let mut name = Vec::with_capacity(name_words as usize * 4);
        for w in &words[HEADER_WORDS..spec_start] {
            name.extend_from_slice(&w.to_le_bytes());
        }
        if name[name_len as usize..].iter().any(|&b| b != 0) {
            return Err(BinaryError::NamePadding);
        }
        name.truncate(name_len as usize);
        let entry = String::from_utf8(name).map_err(|_| BinaryError::NameNotUtf8)?;

        let mut spec = Vec::with_capacity(spec_count as usize);
        for e in words[spec_start..spirv_start].chunks_exact(SPEC_ENTRY_WORDS) {
            let (id, size) = (e[0], e[1]);
            if !matches!(size, 1 | 2 | 4 | 8) {
                return Err(BinaryError::BadSpecSize { id, size });
            }
            let value = u64::from(e[2]) | (u64::from(e[3]) << 32);
            if size < 8 && value >> (size * 8) != 0 {
                return Err(BinaryError::SpecValueOverflow { id, size });
            }
            spec.push(SpecValue {
                id,
                bytes: value.to_le_bytes()[..size as usize].to_vec(),
            });
        }
        Ok(ShaderBinary {
            entry,
            spec,
            spirv: words[spirv_start..total].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ShaderBinary {
        ShaderBinary {
            entry: "main_x".into(),
            spec: vec![
                SpecValue {
                    id: 0,
                    bytes: vec![7],
                },
                SpecValue {
                    id: 3,
                    bytes: vec![1, 2],
                },
                SpecValue {
                    id: 9,
                    bytes: 0xdead_beefu32.to_le_bytes().to_vec(),
                },
                SpecValue {
                    id: 12,
                    bytes: 0x0123_4567_89ab_cdefu64.to_le_bytes().to_vec(),
                },
            ],
            spirv: vec![0x0723_0203, 1, 2, 3],
        }
    }

    #[test]
    fn round_trip() {
        let b = sample();
        let w = b.to_words();
        assert_eq!(w[0], MAGIC);
        assert_eq!(w.len(), 5 + 2 + 16 + 4);
        assert_eq!(ShaderBinary::parse(&w).unwrap(), b);
    }

    #[test]
    fn round_trip_name_lengths() {
        for len in 0..9 {
            let b = ShaderBinary {
                entry: "m".repeat(len),
                spec: vec![],
                spirv: vec![5; len],
            };
            assert_eq!(ShaderBinary::parse(&b.to_words()).unwrap(), b);
        }
    }

    #[test]
    fn every_truncation_is_refused() {
        let w = sample().to_words();
        for n in 0..w.len() {
            assert!(
                matches!(
                    ShaderBinary::parse(&w[..n]),
                    Err(BinaryError::Truncated { .. })
                ),
                "length {n}"
            );
        }
    }

    #[test]
    fn malformed_headers() {
        let mut w = sample().to_words();
        w[0] ^= 1;
        assert_eq!(
            ShaderBinary::parse(&w),
            Err(BinaryError::BadMagic(MAGIC ^ 1))
        );
        let mut w = sample().to_words();
        w[1] = 2;
        assert_eq!(ShaderBinary::parse(&w), Err(BinaryError::BadVersion(2)));
        let mut w = sample().to_words();
        w.push(0);
        assert_eq!(
            ShaderBinary::parse(&w),
            Err(BinaryError::TrailingWords { extra: 1 })
        );
        let mut w = sample().to_words();
        w[2] = u32::MAX;
        assert!(matches!(
            ShaderBinary::parse(&w),
            Err(BinaryError::Truncated { .. })
        ));
        let mut w = sample().to_words();
        w[4] = u32::MAX;
        assert!(matches!(
            ShaderBinary::parse(&w),
            Err(BinaryError::Truncated { .. })
        ));
    }

    #[test]
    fn bad_spec_entries() {
        let mut w = sample().to_words();
        w[7 + 1] = 3; // first spec entry's size
        assert_eq!(
            ShaderBinary::parse(&w),
            Err(BinaryError::BadSpecSize { id: 0, size: 3 })
        );
        let mut w = sample().to_words();
        w[7 + 2] = 0x100; // 1-byte value too wide
        assert_eq!(
            ShaderBinary::parse(&w),
            Err(BinaryError::SpecValueOverflow { id: 0, size: 1 })
        );
    }

    #[test]
    fn bad_names() {
        let mut w = sample().to_words();
        w[5] = u32::from_le_bytes([0xff, 0xfe, b'a', b'b']);
        assert_eq!(ShaderBinary::parse(&w), Err(BinaryError::NameNotUtf8));
        let mut w = sample().to_words();
        w[6] |= 0xff00_0000; // a padding byte of "main_x"
        assert_eq!(ShaderBinary::parse(&w), Err(BinaryError::NamePadding));
    }
}
