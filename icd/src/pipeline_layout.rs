//! `VkPipelineLayout`: the set layouts a pipeline was built against
//! (shared: the application may destroy a set layout while pipelines built
//! on it live) and its push-constant block.

use std::sync::Arc;

use ash::vk;

use crate::descriptor_set_layout::DescriptorSetLayout;
use crate::guard::{guard, guard_void, VkResult};
use crate::{handle, vk_bail};

/// `maxBoundDescriptorSets`.
pub const MAX_SETS: u32 = 8;
/// `maxPushConstantsSize`: the bytes of the FAU block a dispatch gets.
pub const MAX_PUSH_CONSTANTS: u32 = 256;

pub struct PipelineLayout {
    /// One per set number; a VK_NULL_HANDLE set layout is an empty one.
    pub sets: Vec<Arc<DescriptorSetLayout>>,
    pub push_constant_size: u32,
}

impl PipelineLayout {
    /// # Safety
    /// `h` is null or a live pipeline layout of ours.
    pub unsafe fn from_handle<'a>(h: vk::PipelineLayout) -> VkResult<&'a PipelineLayout> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }
}

pub unsafe extern "system" fn create_pipeline_layout(
    _device: vk::Device,
    info: *const vk::PipelineLayoutCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::PipelineLayout,
) -> vk::Result {
    guard("vkCreatePipelineLayout", || {
        // SAFETY: info is a valid create info.
        let info = unsafe { &*info };
        if info.set_layout_count > MAX_SETS {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "{} set layouts; maxBoundDescriptorSets is {MAX_SETS}",
                info.set_layout_count
            );
        }
        // SAFETY: pSetLayouts holds setLayoutCount handles.
        let handles = unsafe { handle::slice(info.p_set_layouts, info.set_layout_count) };
        let sets = handles
            .iter()
            .map(|&h| {
                // SAFETY: a null handle is optional(); others are ours.
                unsafe { DescriptorSetLayout::optional(h) }
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        // SAFETY: pPushConstantRanges holds pushConstantRangeCount ranges.
        let ranges =
            unsafe { handle::slice(info.p_push_constant_ranges, info.push_constant_range_count) };
        let mut push_constant_size = 0;
        for r in ranges {
            let end = r
                .offset
                .checked_add(r.size)
                .filter(|&e| e <= MAX_PUSH_CONSTANTS);
            match end {
                Some(end) => push_constant_size = push_constant_size.max(end),
                None => vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "push constant range {}+{} exceeds maxPushConstantsSize {MAX_PUSH_CONSTANTS}",
                    r.offset,
                    r.size
                ),
            }
        }
        let layout = PipelineLayout {
            sets,
            push_constant_size,
        };
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(layout)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_pipeline_layout(
    _device: vk::Device,
    layout: vk::PipelineLayout,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyPipelineLayout", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<PipelineLayout, _>(layout) });
        Ok(())
    })
}
