//! Pointer values as the register file holds them.

/// Pointer values: [`PTR_WORDS`] words `[space, addr lo, addr hi, lo lo,
/// lo hi, hi lo, hi hi]`. `addr` is the position in the space (register
/// word, shared word, GPU VA, push-constant byte, descriptor array index);
/// `[lo, hi)` is the accessible byte range of a buffer pointer (robust
/// buffer access), or (set, binding) for descriptor pointers.
pub const PTR_WORDS: u32 = 7;

/// The address spaces a pointer value can name.
pub mod space {
    /// Null: loads give zero, stores are dropped (out-of-range indexes).
    pub const NULL: u32 = 0;
    /// The invocation's register file (Function, Private, Input variables).
    pub const LOCAL: u32 = 1;
    /// Workgroup memory, in words.
    pub const SHARED: u32 = 2;
    /// GPU memory by VA, bounded by `[lo, hi)`.
    pub const BUFFER: u32 = 3;
    /// Push-constant bytes.
    pub const PUSH: u32 = 4;
    /// An element of a descriptor binding (images, samplers).
    pub const DESC: u32 = 5;
    /// An element of an array of buffer descriptors, not yet resolved.
    pub const DESC_BUFFER: u32 = 6;
    /// A buffer binding whose descriptor failed to resolve; `addr` indexes
    /// the workgroup's deferred errors, raised on first access.
    pub const POISON: u32 = 7;
}

/// A pointer value in its unpacked form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Ptr {
    pub space: u32,
    pub addr: u64,
    pub lo: u64,
    pub hi: u64,
}

impl Ptr {
    pub const NULL: Ptr = Ptr {
        space: space::NULL,
        addr: 0,
        lo: 0,
        hi: 0,
    };

    pub fn to_words(self) -> [u32; PTR_WORDS as usize] {
        [
            self.space,
            self.addr as u32,
            (self.addr >> 32) as u32,
            self.lo as u32,
            (self.lo >> 32) as u32,
            self.hi as u32,
            (self.hi >> 32) as u32,
        ]
    }

    pub fn from_words(w: &[u32]) -> Ptr {
        let get = |i: usize| u64::from(w.get(i).copied().unwrap_or(0));
        Ptr {
            space: w.first().copied().unwrap_or(space::NULL),
            addr: get(1) | get(2) << 32,
            lo: get(3) | get(4) << 32,
            hi: get(5) | get(6) << 32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_words_round_trip() {
        let p = Ptr {
            space: space::BUFFER,
            addr: 0x1234_5678_9abc,
            lo: 7,
            hi: u64::MAX,
        };
        assert_eq!(Ptr::from_words(&p.to_words()), p);
    }
}
