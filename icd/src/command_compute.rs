//! The compute commands of a command buffer: binding pipelines, descriptor
//! sets and push constants, and dispatches (`cs_dispatch.rs` lowers them).

use std::sync::Arc;

use ash::vk;

use crate::buffer::Buffer;
use crate::command_buffer::cb;
use crate::cs_dispatch::{self, BoundSet, Groups};
use crate::descriptor_set::{DescriptorSet, DynamicBuffer};
use crate::guard::{guard_void, VkResult};
use crate::pipeline::ComputePipeline;
use crate::pipeline_layout::{MAX_PUSH_CONSTANTS, MAX_SETS};
use crate::{handle, vk_bail};

fn compute_only(bind_point: vk::PipelineBindPoint) -> VkResult<()> {
    if bind_point != vk::PipelineBindPoint::COMPUTE {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "bind point {bind_point:?}: only compute exists"
        );
    }
    Ok(())
}

pub unsafe extern "system" fn cmd_bind_pipeline(
    cb: vk::CommandBuffer,
    bind_point: vk::PipelineBindPoint,
    pipeline: vk::Pipeline,
) {
    guard_void("vkCmdBindPipeline", || {
        cb!(cb).record_compute("vkCmdBindPipeline", |_, _, state| {
            compute_only(bind_point)?;
            // SAFETY: the pipeline is ours (valid usage).
            let p: &Arc<ComputePipeline> = unsafe { ComputePipeline::from_handle(pipeline) }?;
            state.pipeline = Some(p.clone());
            Ok(())
        })
    })
}

#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn cmd_bind_descriptor_sets(
    cb: vk::CommandBuffer,
    bind_point: vk::PipelineBindPoint,
    _layout: vk::PipelineLayout,
    first: u32,
    count: u32,
    sets: *const vk::DescriptorSet,
    dyn_count: u32,
    dyn_offsets: *const u32,
) {
    guard_void("vkCmdBindDescriptorSets", || {
        cb!(cb).record_compute("vkCmdBindDescriptorSets", |_, _, state| {
            compute_only(bind_point)?;
            if first.checked_add(count).is_none_or(|end| end > MAX_SETS) {
                vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "sets {first}+{count} exceed {MAX_SETS}"
                );
            }
            // SAFETY: the arrays hold the counts given.
            let (sets, offsets) = unsafe {
                (
                    handle::slice(sets, count),
                    handle::slice(dyn_offsets, dyn_count),
                )
            };
            let mut offsets = offsets.iter();
            for (i, &h) in sets.iter().enumerate() {
                // SAFETY: a null set is optional(); others are ours.
                let Some(set) = (unsafe { handle::optional::<DescriptorSet, _>(h) }) else {
                    state.sets[first as usize + i] = None;
                    continue;
                };
                let dynamic = set
                    .dynamic
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .map(|d| {
                        let off = offsets.next().copied().unwrap_or(0) as u64;
                        DynamicBuffer {
                            va: d.va + off,
                            range: d.range,
                        }
                    })
                    .collect();
                state.sets[first as usize + i] = Some(BoundSet {
                    va: set.va,
                    table_bytes: set.table_size(),
                    dynamic,
                });
            }
            Ok(())
        })
    })
}

pub unsafe extern "system" fn cmd_push_constants(
    cb: vk::CommandBuffer,
    _layout: vk::PipelineLayout,
    _stages: vk::ShaderStageFlags,
    offset: u32,
    size: u32,
    values: *const std::ffi::c_void,
) {
    guard_void("vkCmdPushConstants", || {
        cb!(cb).record_compute("vkCmdPushConstants", |_, _, state| {
            if offset
                .checked_add(size)
                .is_none_or(|e| e > MAX_PUSH_CONSTANTS)
            {
                vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "push constants {offset}+{size} out of range"
                );
            }
            // SAFETY: values holds size bytes (valid usage).
            let data = unsafe { handle::slice(values as *const u8, size) };
            state.push[offset as usize..(offset + size) as usize].copy_from_slice(data);
            Ok(())
        })
    })
}

fn dispatch(cb: vk::CommandBuffer, what: &str, base: [u32; 3], groups: Groups) -> VkResult<()> {
    let c = cb!(cb);
    let dev = c.dev.clone();
    c.record_compute(what, |cs, upload, state| {
        cs_dispatch::dispatch(cs, upload, &dev, state, base, groups)
    })
}

pub unsafe extern "system" fn cmd_dispatch(cb: vk::CommandBuffer, x: u32, y: u32, z: u32) {
    guard_void("vkCmdDispatch", || {
        dispatch(cb, "vkCmdDispatch", [0; 3], Groups::Direct([x, y, z]))
    })
}

#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn cmd_dispatch_base(
    cb: vk::CommandBuffer,
    bx: u32,
    by: u32,
    bz: u32,
    x: u32,
    y: u32,
    z: u32,
) {
    guard_void("vkCmdDispatchBase", || {
        dispatch(
            cb,
            "vkCmdDispatchBase",
            [bx, by, bz],
            Groups::Direct([x, y, z]),
        )
    })
}

pub unsafe extern "system" fn cmd_dispatch_indirect(
    cb: vk::CommandBuffer,
    buffer: vk::Buffer,
    offset: vk::DeviceSize,
) {
    guard_void("vkCmdDispatchIndirect", || {
        // SAFETY: the buffer is ours (valid usage).
        let b = unsafe { Buffer::from_handle(buffer) }?;
        b.check_range(offset, 12, "indirect dispatch")?;
        dispatch(
            cb,
            "vkCmdDispatchIndirect",
            [0; 3],
            Groups::Indirect(b.address(offset)?),
        )
    })
}
