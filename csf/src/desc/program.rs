//! What a compute job runs and with what: the `Shader Program` descriptor
//! (`SPD`), the `Local Storage` descriptor (`TSD`: workgroup shared memory
//! and thread stacks), the push-constant (FAU) register and the packed
//! workgroup size (`WG_SIZE`).

use super::bits::{get, set};
use super::{BadDescriptor, DescriptorType, DESCRIPTOR_SIZE};

/// genxml `Shader stage` Compute.
const STAGE_COMPUTE: u64 = 1;

/// A `Shader Program` descriptor for a compute shader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShaderProgram {
    /// 0:30, `Shader Register Allocation`: 32 (value 2) or 64 (value 0)
    /// registers per thread.
    pub registers_32: bool,
    /// 1:0: bit `i` preloads `r(48 + i)` (local ID in r55-r56, workgroup
    /// ID in r57-r59, global ID in r60-r62).
    pub preload: u16,
    /// 2:0: the program's code.
    pub binary: u64,
}

impl ShaderProgram {
    pub fn pack(&self) -> [u8; DESCRIPTOR_SIZE] {
        let mut d = [0; DESCRIPTOR_SIZE];
        set(&mut d, 0, 4, DescriptorType::Shader as u64);
        set(&mut d, 4, 4, STAGE_COMPUTE);
        set(&mut d, 30, 2, if self.registers_32 { 2 } else { 0 });
        set(&mut d, 32, 16, self.preload as u64);
        set(&mut d, 64, 64, self.binary);
        d
    }

    pub fn unpack(d: &[u8; DESCRIPTOR_SIZE]) -> Result<ShaderProgram, BadDescriptor> {
        if DescriptorType::of(d) != Some(DescriptorType::Shader) {
            return Err(BadDescriptor {
                what: "shader program descriptor type",
                value: get(d, 0, 4),
            });
        }
        if get(d, 4, 4) != STAGE_COMPUTE {
            return Err(BadDescriptor {
                what: "shader stage for a compute job",
                value: get(d, 4, 4),
            });
        }
        Ok(ShaderProgram {
            registers_32: get(d, 30, 2) == 2,
            preload: get(d, 32, 16) as u16,
            binary: get(d, 64, 64),
        })
    }
}

/// A `Local Storage` descriptor (32 bytes, 64-byte aligned): where
/// workgroup-local (shared) memory and per-thread stacks live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalStorage {
    /// Bytes of shared memory per workgroup instance: a power of two of at
    /// least 128, or 0 for none.
    pub wls_size: u32,
    /// Workgroup instances the area holds (a power of two).
    pub wls_instances: u32,
    /// 4:0: 4 KiB aligned.
    pub wls_base: u64,
    /// Stack bytes per thread: 16 << (0:0, 5 bits), or 0 for none.
    pub tls_size: u32,
    /// 2:0 (48 bits, stored >> 8 in packed addressing mode).
    pub tls_base: u64,
}

/// `WLS Instances` value meaning "no workgroup memory".
const NO_WORKGROUP_MEM: u64 = 31;

impl LocalStorage {
    /// The shared-memory size an instance of `bytes` needs on the hardware.
    pub fn wls_adjust(bytes: u32) -> u32 {
        bytes.max(128).next_power_of_two()
    }

    pub fn pack(&self) -> [u8; DESCRIPTOR_SIZE] {
        let mut d = [0; DESCRIPTOR_SIZE];
        if self.tls_size > 0 {
            set(
                &mut d,
                0,
                5,
                (self.tls_size.div_ceil(16)).next_power_of_two().ilog2() as u64,
            );
            set(&mut d, 64, 48, self.tls_base >> 8);
            set(&mut d, 124, 4, 1); // packed addressing
        }
        if self.wls_size > 0 {
            let size = Self::wls_adjust(self.wls_size);
            set(&mut d, 32, 5, self.wls_instances.max(1).ilog2() as u64);
            set(&mut d, 40, 5, size.ilog2() as u64 + 1);
            set(&mut d, 128, 64, self.wls_base);
        } else {
            set(&mut d, 32, 5, NO_WORKGROUP_MEM);
        }
        d
    }

    pub fn unpack(d: &[u8; DESCRIPTOR_SIZE]) -> LocalStorage {
        let tls_shift = get(d, 0, 5);
        let instances = get(d, 32, 5);
        let scale = get(d, 40, 5);
        let has_wls = instances != NO_WORKGROUP_MEM && scale > 0;
        LocalStorage {
            wls_size: if has_wls { 1 << (scale - 1) } else { 0 },
            wls_instances: if has_wls { 1 << instances } else { 0 },
            wls_base: if has_wls { get(d, 128, 64) } else { 0 },
            tls_size: if get(d, 124, 4) != 0 {
                16 << tls_shift
            } else {
                0
            },
            tls_base: get(d, 64, 48) << 8,
        }
    }
}

/// genxml `Compute size workgroup`, the `WG_SIZE` register: 10 bits per
/// dimension, stored minus one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkgroupSize(pub [u32; 3]);

impl WorkgroupSize {
    /// Largest extent per dimension the 10-bit fields hold.
    pub const MAX: u32 = 1024;

    pub fn pack(self) -> u32 {
        let f = |v: u32| v.clamp(1, Self::MAX) - 1;
        f(self.0[0]) | f(self.0[1]) << 10 | f(self.0[2]) << 20
    }

    pub fn unpack(reg: u32) -> WorkgroupSize {
        WorkgroupSize([0, 10, 20].map(|s| (reg >> s & 0x3ff) + 1))
    }
}

/// The `FAU` register: a push-constant buffer of `words` 64-bit words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FauBuffer {
    pub address: u64,
    pub words: u8,
}

impl FauBuffer {
    pub fn pack(self) -> u64 {
        self.address & ((1 << 48) - 1) | (self.words as u64) << 56
    }

    pub fn unpack(reg: u64) -> FauBuffer {
        FauBuffer {
            address: reg & ((1 << 48) - 1),
            words: (reg >> 56) as u8,
        }
    }
}
