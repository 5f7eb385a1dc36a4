//! Mali page-table descriptors: AArch64 stage-1 (what panthor asks of
//! io-pgtable with `ARM_64_LPAE_S1`), 4 KiB granule, 48-bit VA, 4 levels.
//!
//! Level 0 and 1 entries point to tables; level 1 and 2 entries may be
//! blocks (panthor maps only 4 KiB pages and 2 MiB blocks, so only level 2
//! blocks are made); level 3 entries are pages. Bits, as the architecture
//! defines them:
//!
//! | bits  | meaning                                                       |
//! |-------|---------------------------------------------------------------|
//! | 1:0   | 0b11 table (levels 0-2) or page (level 3); 0b01 block; x0 invalid |
//! | 4:2   | AttrIndx: AS_MEMATTR byte (0 uncached, 1 write-back)          |
//! | 6     | AP[1]: accessible unprivileged (always set for GPU work)      |
//! | 7     | AP[2]: read-only                                              |
//! | 9:8   | shareability: inner (cached) or outer (uncached)              |
//! | 10    | AF, access flag: clear means an access-flag fault             |
//! | 11    | nG                                                            |
//! | 47:12 | output address                                                |
//! | 54:53 | PXN/UXN: execute-never                                        |
//! | 56    | software: this leaf maps the sparse dummy (see [`SW_SPARSE`]) |

use crate::hw::PhysAddr;
use crate::uapi::{
    DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC, DRM_PANTHOR_VM_BIND_OP_MAP_READONLY,
    DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED,
};

pub const ENTRIES: usize = 512;
/// Bytes covered by one entry at each level.
pub const LEVEL_SPAN: [u64; 4] = [1 << 39, 1 << 30, 1 << 21, 1 << 12];
/// The VA bit where each level's 9-bit index starts.
pub const LEVEL_SHIFT: [u32; 4] = [39, 30, 21, 12];

/// AS_MEMATTR index of uncached memory.
pub const ATTR_IDX_NC: u64 = 0;
/// AS_MEMATTR index of write-back cached memory.
pub const ATTR_IDX_CACHE: u64 = 1;

const TYPE_MASK: u64 = 0b11;
const TYPE_BLOCK: u64 = 0b01;
const TYPE_TABLE_OR_PAGE: u64 = 0b11;
const ATTR_IDX_SHIFT: u32 = 2;
const ATTR_IDX_MASK: u64 = 0b111 << ATTR_IDX_SHIFT;
const AP_UNPRIV: u64 = 1 << 6;
const AP_RDONLY: u64 = 1 << 7;
const SH_MASK: u64 = 0b11 << 8;
const SH_OS: u64 = 0b10 << 8;
const SH_IS: u64 = 0b11 << 8;
const AF: u64 = 1 << 10;
const NG: u64 = 1 << 11;
const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;
const XN: u64 = 0b11 << 53;

/// A software bit (bits 55..58 are ignored by the MMU and left to software;
/// io-pgtable uses 55) marking leaves that map the sparse dummy BO. The MMU
/// translates them like any leaf; the virtual Mali's texture unit reads
/// the bit to answer residency queries (`OpImageSparseTexelsResident`), so
/// residency comes from the page tables themselves.
pub const SW_SPARSE: u64 = 1 << 56;

/// How a mapping may be accessed: the three VM_BIND map flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Prot {
    pub readonly: bool,
    pub noexec: bool,
    pub uncached: bool,
}

impl Prot {
    /// From `DRM_PANTHOR_VM_BIND_OP_MAP_*` flags (other bits ignored).
    pub const fn from_bind_flags(flags: u32) -> Prot {
        Prot {
            readonly: flags & DRM_PANTHOR_VM_BIND_OP_MAP_READONLY != 0,
            noexec: flags & DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC != 0,
            uncached: flags & DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED != 0,
        }
    }

    /// A small index (0..8) for tables kept per protection.
    pub const fn index(self) -> usize {
        (self.readonly as usize) | (self.noexec as usize) << 1 | (self.uncached as usize) << 2
    }

    /// The attribute bits of a leaf with this protection (as io-pgtable's
    /// `arm_lpae_prot_to_pte` makes them for panthor's prot).
    const fn leaf_attrs(self) -> u64 {
        let mut v = NG | AF | AP_UNPRIV;
        if self.readonly {
            v |= AP_RDONLY;
        }
        if self.uncached {
            v |= (ATTR_IDX_NC << ATTR_IDX_SHIFT) | SH_OS;
        } else {
            v |= (ATTR_IDX_CACHE << ATTR_IDX_SHIFT) | SH_IS;
        }
        if self.noexec {
            v |= XN;
        }
        v
    }
}

/// One 64-bit descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pte(pub u64);

/// A descriptor decoded for its level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Invalid,
    /// Points to the next level's table.
    Table(PhysAddr),
    /// Translates the entry's whole span (a page at level 3).
    Leaf {
        pa: PhysAddr,
        prot: Prot,
        af: bool,
    },
}

impl Pte {
    pub const INVALID: Pte = Pte(0);

    pub const fn table(pa: PhysAddr) -> Pte {
        Pte((pa.0 & ADDR_MASK) | TYPE_TABLE_OR_PAGE)
    }

    /// A page (level 3) or block (levels 1, 2) descriptor.
    pub const fn leaf(level: usize, pa: PhysAddr, prot: Prot) -> Pte {
        let ty = if level == 3 {
            TYPE_TABLE_OR_PAGE
        } else {
            TYPE_BLOCK
        };
        Pte((pa.0 & ADDR_MASK) | prot.leaf_attrs() | ty)
    }

    pub const fn is_valid(self) -> bool {
        self.0 & 1 != 0
    }

    /// This leaf, marked as mapping the sparse dummy when `sparse`.
    pub const fn sparse_if(self, sparse: bool) -> Pte {
        if sparse {
            Pte(self.0 | SW_SPARSE)
        } else {
            self
        }
    }

    pub const fn addr(self) -> PhysAddr {
        PhysAddr(self.0 & ADDR_MASK)
    }

    /// Decodes for `level` (0..=3) with the architecture's rules: level 0
    /// has no blocks, level 3 has no tables (0b01 there is reserved, so
    /// invalid).
    pub const fn decode(self, level: usize) -> Entry {
        match (self.0 & TYPE_MASK, level) {
            (TYPE_TABLE_OR_PAGE, 0..=2) => Entry::Table(self.addr()),
            (TYPE_TABLE_OR_PAGE, _) | (TYPE_BLOCK, 1 | 2) => Entry::Leaf {
                pa: self.addr(),
                prot: Prot {
                    readonly: self.0 & AP_RDONLY != 0,
                    noexec: self.0 & XN != 0,
                    uncached: (self.0 & ATTR_IDX_MASK) >> ATTR_IDX_SHIFT == ATTR_IDX_NC,
                },
                af: self.0 & AF != 0,
            },
            _ => Entry::Invalid,
        }
    }

    /// The AS_MEMATTR index of a leaf.
    pub const fn attr_index(self) -> u32 {
        ((self.0 & ATTR_IDX_MASK) >> ATTR_IDX_SHIFT) as u32
    }

    /// The shareability field of a leaf (2 outer, 3 inner).
    pub const fn shareability(self) -> u64 {
        (self.0 & SH_MASK) >> 8
    }

    /// The same leaf moved to another physical address and level (used to
    /// split a block into pages with identical attributes).
    pub const fn with_addr_at_level(self, pa: PhysAddr, level: usize) -> Pte {
        let ty = if level == 3 {
            TYPE_TABLE_OR_PAGE
        } else {
            TYPE_BLOCK
        };
        Pte((self.0 & !(ADDR_MASK | TYPE_MASK)) | (pa.0 & ADDR_MASK) | ty)
    }
}

/// The index of `va` in a table at `level`.
pub const fn index(va: u64, level: usize) -> usize {
    ((va >> LEVEL_SHIFT[level]) & 0x1ff) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_bits_match_io_pgtable_for_panthor_prot() {
        let pa = PhysAddr(0x8000_1000);
        // Cached, RW, exec: nG | AF | SH_IS | AP_UNPRIV | AttrIndx 1 | page.
        let p = Pte::leaf(3, pa, Prot::default());
        assert_eq!(
            p.0,
            0x8000_1000 | (1 << 11) | (1 << 10) | (3 << 8) | (1 << 6) | (1 << 2) | 0b11
        );
        // Read-only, noexec, uncached 2 MiB block.
        let prot = Prot {
            readonly: true,
            noexec: true,
            uncached: true,
        };
        let b = Pte::leaf(2, PhysAddr(0x8020_0000), prot);
        assert_eq!(
            b.0,
            0x8020_0000 | (3 << 53) | (1 << 11) | (1 << 10) | (2 << 8) | (1 << 7) | (1 << 6) | 0b01
        );
        assert_eq!(
            b.decode(2),
            Entry::Leaf {
                pa: PhysAddr(0x8020_0000),
                prot,
                af: true
            }
        );
        assert_eq!(b.attr_index(), 0);
        assert_eq!(b.shareability(), 2);
    }

    #[test]
    fn decode_follows_level_rules() {
        let t = Pte::table(PhysAddr(0x4000_0000));
        assert_eq!(t.decode(0), Entry::Table(PhysAddr(0x4000_0000)));
        assert_eq!(t.decode(2), Entry::Table(PhysAddr(0x4000_0000)));
        assert!(
            matches!(t.decode(3), Entry::Leaf { .. }),
            "0b11 at level 3 is a page"
        );
        let blk = Pte(0x4000_0000 | 0b01);
        assert_eq!(blk.decode(0), Entry::Invalid, "no blocks at level 0");
        assert_eq!(blk.decode(3), Entry::Invalid, "0b01 is reserved at level 3");
        assert_eq!(Pte(0x4000_0000 | 0b10).decode(2), Entry::Invalid);
    }

    #[test]
    fn prot_round_trips_through_bind_flags() {
        for flags in 0..8u32 {
            let prot = Prot::from_bind_flags(flags);
            let Entry::Leaf { prot: back, .. } = Pte::leaf(3, PhysAddr(0x1000), prot).decode(3)
            else {
                panic!("not a leaf")
            };
            assert_eq!(back, prot);
            assert_eq!(prot.index(), flags as usize);
        }
    }

    #[test]
    fn index_per_level() {
        let va = (3u64 << 39) | (5 << 30) | (7 << 21) | (9 << 12) | 0x123;
        assert_eq!(
            [index(va, 0), index(va, 1), index(va, 2), index(va, 3)],
            [3, 5, 7, 9]
        );
    }
}
