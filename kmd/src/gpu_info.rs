//! GPU identification: the GPU_CONTROL registers panthor reads at probe time
//! and the DEV_QUERY objects built from them.
//!
//! [`read_gpu_info`] is `panthor_gpu_init_info()` (panthor_gpu.c): one read
//! per register, the 64-bit present masks glued from their LO/HI halves.
//! [`read_csif_info`] is what panthor_fw.c and panthor_sched.c store in
//! `ptdev->csif_info` from the firmware's global interface. The register
//! values are typed where someone decodes them ([`GpuId`], [`MmuFeatures`],
//! [`CsfId`]), so a field is named, never a shift at the call site.

use core::fmt;

use crate::hw::{CsfInterface, Hardware};
use crate::uapi::{drm_panthor_csif_info, drm_panthor_gpu_info, DRM_PANTHOR_GPU_COHERENCY_NONE};

/// GPU_CONTROL identification registers (offsets from `panthor_regs.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum GpuReg {
    GpuId = 0x0,
    L2Features = 0x4,
    CoreFeatures = 0x8,
    TilerFeatures = 0xc,
    MemFeatures = 0x10,
    MmuFeatures = 0x14,
    AsPresent = 0x18,
    CsfId = 0x1c,
    ThreadMaxThreads = 0xa0,
    ThreadMaxWorkgroupSize = 0xa4,
    ThreadMaxBarrierSize = 0xa8,
    ThreadFeatures = 0xac,
    TextureFeatures0 = 0xb0,
    TextureFeatures1 = 0xb4,
    TextureFeatures2 = 0xb8,
    TextureFeatures3 = 0xbc,
    ShaderPresentLo = 0x100,
    ShaderPresentHi = 0x104,
    TilerPresentLo = 0x110,
    TilerPresentHi = 0x114,
    L2PresentLo = 0x120,
    L2PresentHi = 0x124,
    /// `GPU_REVID`: what panthor reports as `gpu_rev`.
    GpuRevId = 0x280,
    CoherencyFeatures = 0x300,
}

impl GpuReg {
    /// Every identification register, by offset (for tables that must cover
    /// them all).
    pub const ALL: [GpuReg; 24] = [
        GpuReg::GpuId,
        GpuReg::L2Features,
        GpuReg::CoreFeatures,
        GpuReg::TilerFeatures,
        GpuReg::MemFeatures,
        GpuReg::MmuFeatures,
        GpuReg::AsPresent,
        GpuReg::CsfId,
        GpuReg::ThreadMaxThreads,
        GpuReg::ThreadMaxWorkgroupSize,
        GpuReg::ThreadMaxBarrierSize,
        GpuReg::ThreadFeatures,
        GpuReg::TextureFeatures0,
        GpuReg::TextureFeatures1,
        GpuReg::TextureFeatures2,
        GpuReg::TextureFeatures3,
        GpuReg::ShaderPresentLo,
        GpuReg::ShaderPresentHi,
        GpuReg::TilerPresentLo,
        GpuReg::TilerPresentHi,
        GpuReg::L2PresentLo,
        GpuReg::L2PresentHi,
        GpuReg::GpuRevId,
        GpuReg::CoherencyFeatures,
    ];

    /// `GPU_TEXTURE_FEATURES(n)`, `n` in 0..4.
    pub const fn texture_features(n: usize) -> GpuReg {
        [
            GpuReg::TextureFeatures0,
            GpuReg::TextureFeatures1,
            GpuReg::TextureFeatures2,
            GpuReg::TextureFeatures3,
        ][n]
    }
}

/// `GPU_ID`, field by field (`GPU_ARCH_MAJOR` .. `GPU_VER_STATUS` in
/// panthor_regs.h). Example: the RK3588's G610 reads `0xa867_0005`: arch
/// 10.8 rev 6, product major 7 (product id `0xa867`), r0p0, status 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpuId(pub u32);

impl GpuId {
    /// Builds the register from its fields; each is masked to its width.
    pub const fn new(
        arch_major: u32,
        arch_minor: u32,
        arch_rev: u32,
        product_major: u32,
        version_major: u32,
        version_minor: u32,
        version_status: u32,
    ) -> GpuId {
        GpuId(
            (arch_major & 0xf) << 28
                | (arch_minor & 0xf) << 24
                | (arch_rev & 0xf) << 20
                | (product_major & 0xf) << 16
                | (version_major & 0xf) << 12
                | (version_minor & 0xff) << 4
                | (version_status & 0xf),
        )
    }
    pub const fn arch_major(self) -> u32 {
        self.0 >> 28
    }
    pub const fn arch_minor(self) -> u32 {
        (self.0 >> 24) & 0xf
    }
    pub const fn arch_rev(self) -> u32 {
        (self.0 >> 20) & 0xf
    }
    pub const fn product_major(self) -> u32 {
        (self.0 >> 16) & 0xf
    }
    pub const fn version_major(self) -> u32 {
        (self.0 >> 12) & 0xf
    }
    pub const fn version_minor(self) -> u32 {
        (self.0 >> 4) & 0xff
    }
    pub const fn version_status(self) -> u32 {
        self.0 & 0xf
    }
    /// The upper half, what Mesa's model table and panthor's log call the
    /// id (`0xa867` for a G610).
    pub const fn product_id(self) -> u32 {
        self.0 >> 16
    }
    /// panthor's `gpu_models[]`, matched on (arch major, product major).
    pub const fn model_name(self) -> Option<&'static str> {
        match (self.arch_major(), self.product_major()) {
            (10, 7) => Some("g610"),
            _ => None,
        }
    }
}

/// `GPU_MMU_FEATURES`: input (VA) bits in 7:0, output (PA) bits in 15:8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmuFeatures(pub u32);

impl MmuFeatures {
    pub const fn va_bits(self) -> u32 {
        self.0 & 0xff
    }
    pub const fn pa_bits(self) -> u32 {
        (self.0 >> 8) & 0xff
    }
}

/// `GPU_MMU_FEATURES_VA_BITS`: how wide a GPU virtual address is.
pub const fn va_bits(mmu_features: u32) -> u32 {
    MmuFeatures(mmu_features).va_bits()
}

/// `GPU_MMU_FEATURES_PA_BITS`: how wide a physical address the MMU emits
/// (panthor sets its DMA mask from it).
pub const fn pa_bits(mmu_features: u32) -> u32 {
    MmuFeatures(mmu_features).pa_bits()
}

/// `GPU_CSF_ID`, decoded as the uAPI's `DRM_PANTHOR_CSHW_*` / `MCU_*` macros
/// do. Example: `0x040a_0412` is CSHW 1.0 rev 10, MCU 1.1 rev 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsfId(pub u32);

impl CsfId {
    pub const fn cshw_major(self) -> u32 {
        (self.0 >> 26) & 0x3f
    }
    pub const fn cshw_minor(self) -> u32 {
        (self.0 >> 20) & 0x3f
    }
    pub const fn cshw_rev(self) -> u32 {
        (self.0 >> 16) & 0xf
    }
    pub const fn mcu_major(self) -> u32 {
        (self.0 >> 10) & 0x3f
    }
    pub const fn mcu_minor(self) -> u32 {
        (self.0 >> 4) & 0x3f
    }
    pub const fn mcu_rev(self) -> u32 {
        self.0 & 0xf
    }
}

/// `DRM_PANTHOR_DEV_QUERY_GPU_INFO`, read from the hardware exactly as
/// `panthor_gpu_init_info()` does, in its order.
///
/// `selected_coherency` (driver 1.7) comes from `panthor_gpu_coherency_init()`
/// instead: it starts at NONE and only a device its device tree (or ACPI)
/// marks DMA-coherent selects ACE-Lite. The RK3588's GPU is not DMA-coherent, and
/// this kernel side programs non-coherent table walks, so it stays NONE.
pub fn read_gpu_info(hw: &dyn Hardware) -> drm_panthor_gpu_info {
    let rd = |reg: GpuReg| hw.gpu_read(reg);
    let rd64 = |lo: GpuReg, hi: GpuReg| u64::from(rd(lo)) | (u64::from(rd(hi)) << 32);
    // Struct fields are evaluated in the order written: panthor's order.
    drm_panthor_gpu_info {
        gpu_id: rd(GpuReg::GpuId),
        csf_id: rd(GpuReg::CsfId),
        gpu_rev: rd(GpuReg::GpuRevId),
        core_features: rd(GpuReg::CoreFeatures),
        l2_features: rd(GpuReg::L2Features),
        tiler_features: rd(GpuReg::TilerFeatures),
        mem_features: rd(GpuReg::MemFeatures),
        mmu_features: rd(GpuReg::MmuFeatures),
        thread_features: rd(GpuReg::ThreadFeatures),
        max_threads: rd(GpuReg::ThreadMaxThreads),
        thread_max_workgroup_size: rd(GpuReg::ThreadMaxWorkgroupSize),
        thread_max_barrier_size: rd(GpuReg::ThreadMaxBarrierSize),
        coherency_features: rd(GpuReg::CoherencyFeatures),
        texture_features: core::array::from_fn(|n| rd(GpuReg::texture_features(n))),
        as_present: rd(GpuReg::AsPresent),
        shader_present: rd64(GpuReg::ShaderPresentLo, GpuReg::ShaderPresentHi),
        tiler_present: rd64(GpuReg::TilerPresentLo, GpuReg::TilerPresentHi),
        l2_present: rd64(GpuReg::L2PresentLo, GpuReg::L2PresentHi),
        selected_coherency: DRM_PANTHOR_GPU_COHERENCY_NONE,
        pad: 0,
    }
}

/// `MAX_CSGS` (panthor_fw.h): JOB_IRQ has 31 bits for CSGs.
const MAX_CSGS: u32 = 31;
/// `MAX_CSG_PRIO` (panthor_sched.c): every CSG slot gets its own priority.
const MAX_CSG_PRIO: u32 = 0xf;
/// `CSF_UNPRESERVED_REG_COUNT` (panthor_fw.c): the last four CS registers
/// are the kernel's during GROUP_SUBMIT.
pub const CSF_UNPRESERVED_REG_COUNT: u32 = 4;

/// `DRM_PANTHOR_DEV_QUERY_CSIF_INFO` from the firmware's global interface.
///
/// Register and scoreboard counts come from the first CS's `CS_FEATURES`
/// (panthor_fw.c requires every CS to match); the CSG count is clamped as
/// `panthor_sched_init()` does, to `MAX_CSGS` and to one slot per priority
/// level (16): a G610's 8 slots pass unchanged.
pub fn read_csif_info(iface: CsfInterface) -> drm_panthor_csif_info {
    drm_panthor_csif_info {
        csg_slot_count: iface.csg_slots.min(MAX_CSGS).min(MAX_CSG_PRIO + 1),
        cs_slot_count: iface.cs_per_csg,
        cs_reg_count: iface.cs_reg_count(),
        scoreboard_slot_count: iface.scoreboard_count(),
        unpreserved_cs_reg_count: CSF_UNPRESERVED_REG_COUNT,
        pad: 0,
    }
}

/// The three lines `panthor_gpu_init_info()` logs at probe, formatted the
/// same way (so they compare against a real board's dmesg).
pub struct ProbeLog<'a>(pub &'a drm_panthor_gpu_info);

impl fmt::Display for ProbeLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// C's `%#x`: zero prints as `0`, without the prefix.
        struct AltHex(u32);
        impl fmt::Display for AltHex {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if self.0 == 0 {
                    f.write_str("0")
                } else {
                    write!(f, "{:#x}", self.0)
                }
            }
        }
        let g = self.0;
        let id = GpuId(g.gpu_id);
        writeln!(
            f,
            "mali-{} id 0x{:x} major 0x{:x} minor 0x{:x} status 0x{:x}",
            id.model_name().unwrap_or("unknown"),
            id.product_id(),
            id.version_major(),
            id.version_minor(),
            id.version_status()
        )?;
        writeln!(
            f,
            "Features: L2:{} Tiler:{} Mem:{} MMU:{} AS:{}",
            AltHex(g.l2_features),
            AltHex(g.tiler_features),
            AltHex(g.mem_features),
            AltHex(g.mmu_features),
            AltHex(g.as_present)
        )?;
        write!(
            f,
            "shader_present=0x{:x} l2_present=0x{:x} tiler_present=0x{:x}",
            g.shader_present, g.l2_present, g.tiler_present
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MockHw;
    use std::format;

    /// A register set where every value is distinct, high halves included,
    /// so a swapped or dropped read shows up as a wrong field.
    fn distinct_regs() -> MockHw {
        let hw = MockHw::new();
        for (i, reg) in GpuReg::ALL.iter().enumerate() {
            hw.set_gpu_reg(*reg, 0x1000_0000 + i as u32);
        }
        hw
    }

    #[test]
    fn gpu_info_reads_each_register_into_its_field() {
        let hw = distinct_regs();
        let v = |reg: GpuReg| hw.gpu_read(reg);
        let v64 = |lo, hi| u64::from(v(lo)) | u64::from(v(hi)) << 32;
        let g = read_gpu_info(&hw);
        assert_eq!(g.gpu_id, v(GpuReg::GpuId));
        assert_eq!(g.gpu_rev, v(GpuReg::GpuRevId));
        assert_eq!(g.csf_id, v(GpuReg::CsfId));
        assert_eq!(g.l2_features, v(GpuReg::L2Features));
        assert_eq!(g.tiler_features, v(GpuReg::TilerFeatures));
        assert_eq!(g.mem_features, v(GpuReg::MemFeatures));
        assert_eq!(g.mmu_features, v(GpuReg::MmuFeatures));
        assert_eq!(g.thread_features, v(GpuReg::ThreadFeatures));
        assert_eq!(g.max_threads, v(GpuReg::ThreadMaxThreads));
        assert_eq!(
            g.thread_max_workgroup_size,
            v(GpuReg::ThreadMaxWorkgroupSize)
        );
        assert_eq!(g.thread_max_barrier_size, v(GpuReg::ThreadMaxBarrierSize));
        assert_eq!(g.coherency_features, v(GpuReg::CoherencyFeatures));
        assert_eq!(
            g.texture_features,
            [
                v(GpuReg::TextureFeatures0),
                v(GpuReg::TextureFeatures1),
                v(GpuReg::TextureFeatures2),
                v(GpuReg::TextureFeatures3),
            ]
        );
        assert_eq!(g.as_present, v(GpuReg::AsPresent));
        assert_eq!(
            g.shader_present,
            v64(GpuReg::ShaderPresentLo, GpuReg::ShaderPresentHi)
        );
        assert_eq!(g.l2_present, v64(GpuReg::L2PresentLo, GpuReg::L2PresentHi));
        assert_eq!(
            g.tiler_present,
            v64(GpuReg::TilerPresentLo, GpuReg::TilerPresentHi)
        );
        assert_eq!(g.core_features, v(GpuReg::CoreFeatures));
        assert_eq!(g.selected_coherency, DRM_PANTHOR_GPU_COHERENCY_NONE);
        assert_eq!(g.pad, 0);
    }

    /// The G610 as an RK3588 board reports it (dmesg and Mesa's drm-shim
    /// dump): the struct panthor hands to userspace, field by field.
    #[test]
    fn g610_registers_give_the_g610_gpu_info() {
        let hw = MockHw::new();
        for (reg, value) in [
            (GpuReg::GpuId, 0xa867_0005),
            (GpuReg::L2Features, 0x0712_0306),
            (GpuReg::CoreFeatures, 0),
            (GpuReg::TilerFeatures, 0x809),
            (GpuReg::MemFeatures, 0x301),
            (GpuReg::MmuFeatures, 0x2830),
            (GpuReg::AsPresent, 0xff),
            (GpuReg::CsfId, 0x040a_0412),
            (GpuReg::ThreadMaxThreads, 2048),
            (GpuReg::ThreadMaxWorkgroupSize, 1024),
            (GpuReg::ThreadMaxBarrierSize, 1024),
            (GpuReg::ThreadFeatures, 0x0401_0000),
            (GpuReg::TextureFeatures0, 0xc1ff_ff9e),
            (GpuReg::ShaderPresentLo, 0x5_0005),
            (GpuReg::TilerPresentLo, 1),
            (GpuReg::L2PresentLo, 1),
        ] {
            hw.set_gpu_reg(reg, value);
        }
        let g = read_gpu_info(&hw);
        let expected = drm_panthor_gpu_info {
            gpu_id: 0xa867_0005,
            gpu_rev: 0,
            csf_id: 0x040a_0412,
            l2_features: 0x0712_0306,
            tiler_features: 0x809,
            mem_features: 0x301,
            mmu_features: 0x2830,
            thread_features: 0x0401_0000,
            max_threads: 2048,
            thread_max_workgroup_size: 1024,
            thread_max_barrier_size: 1024,
            coherency_features: 0,
            texture_features: [0xc1ff_ff9e, 0, 0, 0],
            as_present: 0xff,
            selected_coherency: DRM_PANTHOR_GPU_COHERENCY_NONE,
            shader_present: 0x5_0005,
            l2_present: 1,
            tiler_present: 1,
            core_features: 0,
            pad: 0,
        };
        assert_eq!(g, expected);
        assert_eq!(g.arch_major(), 10);
        assert_eq!(g.product_major(), 7);
        assert_eq!(va_bits(g.mmu_features), 48);
        assert_eq!(pa_bits(g.mmu_features), 40);
        assert_eq!(g.shader_present.count_ones(), 4, "MC4");
        // Byte for byte what panthor prints on a Rock 5B.
        assert_eq!(
            format!("{}", ProbeLog(&g)),
            "mali-g610 id 0xa867 major 0x0 minor 0x0 status 0x5\n\
             Features: L2:0x7120306 Tiler:0x809 Mem:0x301 MMU:0x2830 AS:0xff\n\
             shader_present=0x50005 l2_present=0x1 tiler_present=0x1"
        );
    }

    #[test]
    fn csif_info_comes_from_the_global_interface() {
        let hw = MockHw::new();
        // 8 CSGs of 8 streams; CS_FEATURES 0x85f: 95 + 1 registers, 8
        // scoreboards.
        let c = read_csif_info(hw.csf_interface());
        assert_eq!(
            c,
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

    #[test]
    fn csg_slots_are_clamped_to_one_per_priority() {
        let iface = CsfInterface {
            csg_slots: 20,
            cs_per_csg: 4,
            cs_features: 0x103f,
        };
        let c = read_csif_info(iface);
        assert_eq!(c.csg_slot_count, 16);
        assert_eq!(c.cs_slot_count, 4);
        assert_eq!(c.cs_reg_count, 64);
        assert_eq!(c.scoreboard_slot_count, 0x10);
    }

    #[test]
    fn gpu_id_fields_round_trip() {
        let id = GpuId::new(10, 8, 6, 7, 0, 0, 5);
        assert_eq!(id, GpuId(0xa867_0005));
        assert_eq!(id.product_id(), 0xa867);
        assert_eq!(id.model_name(), Some("g610"));
        assert_eq!(
            (
                id.arch_major(),
                id.arch_minor(),
                id.arch_rev(),
                id.product_major()
            ),
            (10, 8, 6, 7)
        );
        assert_eq!(
            (id.version_major(), id.version_minor(), id.version_status()),
            (0, 0, 5)
        );
        assert_eq!(GpuId(0x9093_0000).model_name(), None);
    }

    #[test]
    fn csf_id_decodes_like_the_uapi_macros() {
        let c = CsfId(0x040a_0412);
        assert_eq!((c.cshw_major(), c.cshw_minor(), c.cshw_rev()), (1, 0, 0xa));
        assert_eq!((c.mcu_major(), c.mcu_minor(), c.mcu_rev()), (1, 1, 2));
    }
}
