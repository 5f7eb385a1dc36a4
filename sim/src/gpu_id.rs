//! The identification registers of the simulated GPU: a Mali-G610 MC4 as in
//! the RK3588, reading what panthor reads from a real board at probe time,
//! and the counts its CSF firmware advertises.
//!
//! Every value names its source. The ones printed by panthor's probe log
//! come from RK3588 boards' dmesg ("[dmesg]" below):
//!
//! ```text
//! panthor fb000000.gpu: [drm] mali-g610 id 0xa867 major 0x0 minor 0x0 status 0x5
//! panthor fb000000.gpu: [drm] Features: L2:0x7120306 Tiler:0x809 Mem:0x301 MMU:0x2830 AS:0xff
//! panthor fb000000.gpu: [drm] shader_present=0x50005 l2_present=0x1 tiler_present=0x1
//! ```
//!
//! (Rock 5 ITX on Armbian, linux-rockchip list, Feb 2025; the same lines on
//! Rock 5A / Rock 5B / Orange Pi 5 reports, and Tyr's log on an Orange Pi 5
//! prints the masks 64 bits wide, so their HI halves are 0.) The rest come
//! from Mesa's `src/panfrost/drm-shim/panfrost_noop.c`, whose panthor
//! DEV_QUERY answers are commented "Dumped from a G610" ("[mesa-shim]").

use panthor_kmd::gpu_info::{GpuId, GpuReg};
use panthor_kmd::hw::CsfInterface;

/// Every identification register of the RK3588's G610 and what it reads.
pub const G610: [(GpuReg, u32); GpuReg::ALL.len()] = [
    // [dmesg] "id 0xa867 major 0x0 minor 0x0 status 0x5": arch 10.8 rev 6,
    // product major 7 (panthor's gpu_models: g610 = arch 10, product 7),
    // r0p0, status 5. panthor loads arm/mali/arch10.8/mali_csffw.bin.
    (GpuReg::GpuId, GpuId::new(10, 8, 6, 7, 0, 0, 5).0),
    // [dmesg] L2:0x7120306. Line 2^6 = 64 B, associativity 2^3, slice
    // 2^0x12 = 256 KiB, bus 2^7 = 128 bits.
    (GpuReg::L2Features, 0x0712_0306),
    // No dump prints it. 0: Mesa takes the variant from CORE_FEATURES 7:0
    // (panthor_kmod.c) and its model table knows the G610 only as variant 0.
    (GpuReg::CoreFeatures, 0),
    // [dmesg] Tiler:0x809: bin size 2^9 = 512 B, 8 hierarchy levels.
    (GpuReg::TilerFeatures, 0x809),
    // [dmesg] Mem:0x301: core groups L2-coherent (bit 0), L2 slices - 1 = 3
    // in 11:8.
    (GpuReg::MemFeatures, 0x301),
    // [dmesg] MMU:0x2830: 48 VA bits (7:0), 40 PA bits (15:8).
    (GpuReg::MmuFeatures, 0x2830),
    // [dmesg] AS:0xff: eight address spaces (AS0 is the MCU's).
    (GpuReg::AsPresent, 0xff),
    // [mesa-shim] csf_id 0x40a0412: CSHW 1.0 rev 10, MCU 1.1 rev 2.
    (GpuReg::CsfId, 0x040a_0412),
    // [mesa-shim] max_threads 2048 (per core).
    (GpuReg::ThreadMaxThreads, 2048),
    // [mesa-shim] thread_max_workgroup_size 1024.
    (GpuReg::ThreadMaxWorkgroupSize, 1024),
    // [mesa-shim] thread_max_barrier_size 1024.
    (GpuReg::ThreadMaxBarrierSize, 1024),
    // [mesa-shim] thread_features 0x4010000: 0x10000 registers per core in
    // 21:0, 4 in 31:24 (max task queue).
    (GpuReg::ThreadFeatures, 0x0401_0000),
    // [mesa-shim] texture_features[0] 0xc1ffff9e (Mesa's kbase no-op shim
    // for the RK3588 G610, pan_base_noop.h, has the same value).
    (GpuReg::TextureFeatures0, 0xc1ff_ff9e),
    // Not in the dumps (the shim leaves [1..3] zeroed); 0: no extra
    // compressed-format support.
    (GpuReg::TextureFeatures1, 0),
    (GpuReg::TextureFeatures2, 0),
    (GpuReg::TextureFeatures3, 0),
    // [dmesg] shader_present=0x50005: cores 0, 2, 16, 18 (MC4).
    (GpuReg::ShaderPresentLo, 0x0005_0005),
    // [dmesg] Tyr prints shader_present=0x0000000000050005.
    (GpuReg::ShaderPresentHi, 0),
    // [dmesg] tiler_present=0x1.
    (GpuReg::TilerPresentLo, 1),
    (GpuReg::TilerPresentHi, 0),
    // [dmesg] l2_present=0x1.
    (GpuReg::L2PresentLo, 1),
    (GpuReg::L2PresentHi, 0),
    // No public dump of GPU_REVID; 0, what Mesa's shim reports as gpu_rev.
    (GpuReg::GpuRevId, 0),
    // [mesa-shim] coherency_features 0: neither ACE-Lite nor ACE offered.
    (GpuReg::CoherencyFeatures, 0),
];

/// What `reg` reads as.
pub fn read(reg: GpuReg) -> u32 {
    G610.iter()
        .find(|(r, _)| *r == reg)
        .map_or(0, |(_, value)| *value)
}

/// What the G610's CSF firmware advertises: 8 CSG slots of 8 streams each,
/// and per stream 96 work registers and 8 scoreboards ([mesa-shim]
/// csif_info: csg_slot_count 8, cs_slot_count 8, cs_reg_count 96,
/// scoreboard_slot_count 8).
///
/// `CS_FEATURES` is built from the fields panthor decodes: work registers
/// minus one in 7:0, scoreboards in 15:8. Its raw value was never published,
/// so the COMPUTE/FRAGMENT/TILER capability bits (16..18), which panthor
/// does not read, are left clear.
pub const CSF_INTERFACE: CsfInterface = CsfInterface {
    csg_slots: 8,
    cs_per_csg: 8,
    cs_features: (8 << 8) | (96 - 1),
};

#[cfg(test)]
mod tests {
    use super::*;
    use panthor_kmd::gpu_info::{read_csif_info, read_gpu_info, va_bits, ProbeLog};
    use panthor_kmd::uapi::drm_panthor_csif_info;

    #[test]
    fn table_covers_every_register_once() {
        for reg in GpuReg::ALL {
            let n = G610.iter().filter(|(r, _)| *r == reg).count();
            assert_eq!(n, 1, "{reg:?} appears {n} times");
        }
    }

    #[test]
    fn gpu_id_decodes_to_a_g610() {
        let id = GpuId(read(GpuReg::GpuId));
        assert_eq!(id.0, 0xa867_0005);
        assert_eq!(id.product_id(), 0xa867);
        assert_eq!(id.arch_major(), 10);
        assert_eq!(id.arch_minor(), 8);
        assert_eq!(id.model_name(), Some("g610"));
    }

    #[test]
    fn mmu_features_give_48_va_bits() {
        assert_eq!(va_bits(read(GpuReg::MmuFeatures)), 48);
    }

    #[test]
    fn csif_info_matches_the_g610_dump() {
        assert_eq!(CSF_INTERFACE.cs_features, 0x85f);
        assert_eq!(
            read_csif_info(CSF_INTERFACE),
            drm_panthor_csif_info {
                csg_slot_count: 8,
                cs_slot_count: 8,
                cs_reg_count: 96,
                scoreboard_slot_count: 8,
                unpreserved_cs_reg_count: 4,
                pad: 0,
            }
        );
    }

    /// The kernel side probing the virtual Mali logs what panthor logs on a
    /// real RK3588.
    #[test]
    fn kernel_side_sees_the_boards_probe_log() {
        let gpu = crate::device::VirtualMali::new(1 << 20).unwrap();
        let info = read_gpu_info(&*gpu);
        assert_eq!(
            std::format!("{}", ProbeLog(&info)),
            "mali-g610 id 0xa867 major 0x0 minor 0x0 status 0x5\n\
             Features: L2:0x7120306 Tiler:0x809 Mem:0x301 MMU:0x2830 AS:0xff\n\
             shader_present=0x50005 l2_present=0x1 tiler_present=0x1"
        );
        assert_eq!(info.csf_id, 0x040a_0412);
        assert_eq!(info.texture_features, [0xc1ff_ff9e, 0, 0, 0]);
    }
}
