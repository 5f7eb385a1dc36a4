//! Compute dispatches lowered to a CSF stream: the tables a job reads are
//! recorded into the command buffer's upload memory, the compute staging
//! registers loaded (genxml v10 `COMPUTE SR`), then `RUN_COMPUTE`.
//!
//! Per dispatch: the driver table (dummy sampler, dynamic buffers with
//! their bind-time offsets), the resource table (driver table, then one
//! entry per set, padded to a multiple of 4 entries as v10 wants), the FAU
//! buffer (system values, then push constants), and a `Local Storage`
//! descriptor with the shared memory the program declares.

use std::sync::Arc;

use mali_csf::desc::{
    Buffer, FauBuffer, FauSysvals, LocalStorage, Resource, ResourceTable, Sampler, WorkgroupSize,
    DESCRIPTOR_SIZE,
};
use mali_csf::{compute_sr as sr, CsBuilder, ResourceSelect, TaskAxis};

use crate::descriptor_set::DynamicBuffer;
use crate::device::DeviceRef;
use crate::guard::VkResult;
use crate::pipeline::ComputePipeline;
use crate::pipeline_layout::{MAX_PUSH_CONSTANTS, MAX_SETS};
use crate::upload::Upload;
use crate::vk_bail;
use ash::vk;

/// A scratch register pair past the compute staging registers.
const SCRATCH: u8 = 40;

/// A descriptor set as bound: its table and its dynamic buffers with the
/// bind-time offsets applied.
#[derive(Clone, Debug, Default)]
pub struct BoundSet {
    pub va: u64,
    pub table_bytes: u64,
    pub dynamic: Vec<DynamicBuffer>,
}

/// What `vkCmdBindPipeline`, `vkCmdBindDescriptorSets` and
/// `vkCmdPushConstants` set.
pub struct ComputeState {
    pub pipeline: Option<Arc<ComputePipeline>>,
    pub sets: [Option<BoundSet>; MAX_SETS as usize],
    pub push: [u8; MAX_PUSH_CONSTANTS as usize],
}

impl Default for ComputeState {
    fn default() -> Self {
        ComputeState {
            pipeline: None,
            sets: Default::default(),
            push: [0; MAX_PUSH_CONSTANTS as usize],
        }
    }
}

/// Where the workgroup counts come from.
#[derive(Clone, Copy, Debug)]
pub enum Groups {
    Direct([u32; 3]),
    /// A `VkDispatchIndirectCommand` at this GPU VA.
    Indirect(u64),
}

fn to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

pub fn dispatch(
    cs: &mut CsBuilder,
    upload: &mut Upload,
    dev: &DeviceRef,
    state: &ComputeState,
    base: [u32; 3],
    groups: Groups,
) -> VkResult<()> {
    let Some(p) = state.pipeline.as_ref() else {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "dispatch without a bound compute pipeline"
        );
    };
    if let Groups::Direct(g) = groups {
        if g.contains(&0) {
            return Ok(());
        }
    }

    // Driver table: dummy sampler, then each set's dynamic buffers.
    let mut driver = Vec::from(Sampler::default().pack());
    for (s, layout) in p.sets.iter().enumerate() {
        for i in 0..layout.dynamic_buffers as usize {
            let d = state.sets[s]
                .as_ref()
                .and_then(|b| b.dynamic.get(i).copied())
                .unwrap_or_default();
            let size = u32::try_from(d.range).unwrap_or(u32::MAX);
            driver.extend_from_slice(&Buffer::simple(d.va, size).pack());
        }
    }
    let driver_va = upload.push(dev, &driver, DESCRIPTOR_SIZE as u64)?;

    // Resource table.
    let entries = (1 + p.sets.len()).next_multiple_of(4);
    let mut table = Vec::with_capacity(entries * 16);
    table.extend_from_slice(
        &Resource {
            address: driver_va,
            contains_descriptors: true,
            size: driver.len() as u64,
        }
        .pack(),
    );
    for s in 0..entries - 1 {
        let r = match state.sets.get(s).and_then(|b| b.as_ref()) {
            Some(b) if s < p.sets.len() && b.table_bytes > 0 => Resource {
                address: b.va,
                contains_descriptors: true,
                size: b.table_bytes,
            },
            _ => Resource::default(),
        };
        table.extend_from_slice(&r.pack());
    }
    let srt = ResourceTable {
        address: upload.push(dev, &table, 64)?,
        count: entries as u32,
    };

    // FAU: system values, then the push constants, whole 64-bit words.
    let counts = match groups {
        Groups::Direct(g) => g,
        Groups::Indirect(_) => [0; 3],
    };
    let mut fau = to_bytes(&[base[0], base[1], base[2], counts[0], counts[1], counts[2]]);
    debug_assert_eq!(fau.len() as u32, FauSysvals::SIZE);
    fau.extend_from_slice(&state.push[..p.push_constant_size as usize]);
    fau.resize(fau.len().next_multiple_of(8), 0);
    let fau_va = upload.push(dev, &fau, 8)?;
    let fau_reg = FauBuffer {
        address: fau_va,
        words: (fau.len() / 8) as u8,
    };

    // Local storage: one instance of shared memory (the shader cores run
    // one workgroup at a time).
    let mut ls = LocalStorage::default();
    if p.shared_bytes > 0 {
        let size = LocalStorage::wls_adjust(p.shared_bytes);
        ls.wls_size = size;
        ls.wls_instances = 1;
        // The shader cores keep shared memory themselves; the area is
        // reserved as the hardware needs it, never written.
        ls.wls_base = upload.reserve(dev, size as u64, 4096)?.0;
    }
    let tsd = upload.push(dev, &ls.pack(), 64)?;

    cs.mov64(sr::SRT, srt.pack())
        .mov64(sr::FAU, fau_reg.pack())
        .mov64(sr::SPD, p.spd)
        .mov64(sr::TSD, tsd)
        .mov32(sr::GLOBAL_ATTRIBUTE_OFFSET, 0)
        .mov32(sr::WG_SIZE, WorkgroupSize(p.local_size).pack());
    for i in 0..3 {
        cs.mov32(sr::JOB_OFFSET + i, 0);
    }
    match groups {
        Groups::Direct(g) => {
            for (i, &n) in g.iter().enumerate() {
                cs.mov32(sr::JOB_SIZE + i as u8, n);
            }
        }
        Groups::Indirect(va) => {
            // The counts into JOB_SIZE, and into the FAU's NumWorkgroups.
            cs.mov64(SCRATCH, va)
                .load_multiple(sr::JOB_SIZE, 0b111, SCRATCH, 0)
                .wait(1)
                .mov64(SCRATCH, fau_va)
                .store_multiple(
                    sr::JOB_SIZE,
                    0b111,
                    SCRATCH,
                    FauSysvals::NUM_WORKGROUPS as i16,
                )
                .wait(1);
        }
    }
    let threads: u32 = p.local_size.iter().product();
    let task_increment = (256 / threads.max(1)).clamp(1, (1 << 14) - 1) as u16;
    cs.run_compute(task_increment, TaskAxis::X, ResourceSelect::default());
    Ok(())
}
