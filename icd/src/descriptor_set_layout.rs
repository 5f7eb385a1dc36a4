//! `VkDescriptorSetLayout`: where each binding's descriptors sit in a set's
//! descriptor table.
//!
//! A set is one table of 32-byte Mali descriptors in GPU memory, which the
//! resource table of a dispatch points to. Each array element takes one
//! slot, except combined image samplers, which take two (the texture
//! descriptor, then the sampler descriptor). Dynamic uniform and storage
//! buffers are not in the table: their final address depends on the
//! offsets given at bind time, so the command buffer writes them into a
//! per-dispatch table (`cs_dispatch.rs`).

use std::sync::Arc;

use ash::vk;

use crate::guard::{guard, guard_void, VkError, VkResult};
use crate::sampler::Sampler;
use crate::{handle, vk_bail};

/// Bytes of one descriptor slot (every Valhall descriptor is 32 bytes).
pub const DESCRIPTOR_SIZE: u64 = 32;

/// Descriptors a set may hold (`maxPerSetDescriptors`).
pub const MAX_SET_DESCRIPTORS: u32 = 1024;

#[derive(Clone, Debug)]
pub struct Binding {
    pub binding: u32,
    pub ty: vk::DescriptorType,
    pub count: u32,
    pub stages: vk::ShaderStageFlags,
    /// First slot in the set's table, or, for dynamic buffers, first index
    /// among the set's dynamic buffers.
    pub first: u32,
    /// Sampler descriptors fixed at layout creation.
    pub immutable_samplers: Vec<[u8; DESCRIPTOR_SIZE as usize]>,
}

impl Binding {
    /// Slots each array element takes in the table (0 for dynamic buffers).
    pub fn slots_per_element(&self) -> u32 {
        match self.ty {
            vk::DescriptorType::COMBINED_IMAGE_SAMPLER => 2,
            t if is_dynamic(t) => 0,
            _ => 1,
        }
    }
}

pub fn is_dynamic(ty: vk::DescriptorType) -> bool {
    matches!(
        ty,
        vk::DescriptorType::UNIFORM_BUFFER_DYNAMIC | vk::DescriptorType::STORAGE_BUFFER_DYNAMIC
    )
}

/// Shared by the handle, the pipeline layouts and the sets made with it:
/// the application may destroy the handle while they live.
#[derive(Default)]
pub struct DescriptorSetLayout {
    /// Sorted by binding number.
    pub bindings: Vec<Binding>,
    /// Slots of the table.
    pub slots: u32,
    pub dynamic_buffers: u32,
}

impl DescriptorSetLayout {
    /// # Safety
    /// `h` is null or a live layout of ours.
    pub unsafe fn from_handle<'a>(
        h: vk::DescriptorSetLayout,
    ) -> VkResult<&'a Arc<DescriptorSetLayout>> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    /// # Safety
    /// `h` is null or a live layout of ours.
    pub unsafe fn optional<'a>(h: vk::DescriptorSetLayout) -> Option<&'a Arc<DescriptorSetLayout>> {
        // SAFETY: forwarded contract.
        unsafe { handle::optional(h) }
    }

    pub fn binding(&self, n: u32) -> Option<&Binding> {
        self.bindings
            .binary_search_by_key(&n, |b| b.binding)
            .ok()
            .map(|i| &self.bindings[i])
    }

    /// Bytes of the set's descriptor table.
    pub fn table_size(&self) -> u64 {
        self.slots as u64 * DESCRIPTOR_SIZE
    }

    /// Lays out `bindings` (as the create info gives them).
    ///
    /// # Safety
    /// Each binding's `pImmutableSamplers` is null or holds
    /// `descriptorCount` live samplers of ours.
    pub unsafe fn new(bindings: &[vk::DescriptorSetLayoutBinding<'_>]) -> VkResult<Self> {
        let mut sorted: Vec<_> = bindings.iter().collect();
        sorted.sort_by_key(|b| b.binding);
        if sorted.windows(2).any(|w| w[0].binding == w[1].binding) {
            vk_bail!(vk::Result::ERROR_UNKNOWN, "two bindings share a number");
        }
        let (mut slots, mut dynamic) = (0u32, 0u32);
        let mut out = Vec::with_capacity(sorted.len());
        for b in sorted {
            check_type(b.descriptor_type)?;
            let immutable_samplers = if has_samplers(b.descriptor_type)
                && !b.p_immutable_samplers.is_null()
            {
                // SAFETY: the caller guarantees descriptorCount samplers.
                let handles = unsafe { handle::slice(b.p_immutable_samplers, b.descriptor_count) };
                handles
                    .iter()
                    // SAFETY: the caller guarantees live samplers of ours.
                    .map(|&s| unsafe { Sampler::from_handle(s) }.map(|s| s.descriptor))
                    .collect::<VkResult<Vec<_>>>()?
            } else {
                Vec::new()
            };
            let mut binding = Binding {
                binding: b.binding,
                ty: b.descriptor_type,
                count: b.descriptor_count,
                stages: b.stage_flags,
                first: 0,
                immutable_samplers,
            };
            if is_dynamic(b.descriptor_type) {
                binding.first = dynamic;
                dynamic = add(dynamic, b.descriptor_count)?;
            } else {
                binding.first = slots;
                let n = b.descriptor_count.checked_mul(binding.slots_per_element());
                slots = add(slots, n.ok_or_else(too_many)?)?;
            }
            out.push(binding);
        }
        Ok(DescriptorSetLayout {
            bindings: out,
            slots,
            dynamic_buffers: dynamic,
        })
    }
}

fn too_many() -> VkError {
    VkError::new(
        vk::Result::ERROR_UNKNOWN,
        format!("more than {MAX_SET_DESCRIPTORS} descriptors in one set"),
    )
}

fn add(a: u32, b: u32) -> VkResult<u32> {
    a.checked_add(b)
        .filter(|&n| n <= MAX_SET_DESCRIPTORS)
        .ok_or_else(too_many)
}

fn has_samplers(ty: vk::DescriptorType) -> bool {
    matches!(
        ty,
        vk::DescriptorType::SAMPLER | vk::DescriptorType::COMBINED_IMAGE_SAMPLER
    )
}

/// The descriptor types of Vulkan 1.1 compute; input attachments need a
/// render pass, which this device does not have.
fn check_type(ty: vk::DescriptorType) -> VkResult<()> {
    match ty {
        vk::DescriptorType::SAMPLER
        | vk::DescriptorType::COMBINED_IMAGE_SAMPLER
        | vk::DescriptorType::SAMPLED_IMAGE
        | vk::DescriptorType::STORAGE_IMAGE
        | vk::DescriptorType::UNIFORM_TEXEL_BUFFER
        | vk::DescriptorType::STORAGE_TEXEL_BUFFER
        | vk::DescriptorType::UNIFORM_BUFFER
        | vk::DescriptorType::STORAGE_BUFFER
        | vk::DescriptorType::UNIFORM_BUFFER_DYNAMIC
        | vk::DescriptorType::STORAGE_BUFFER_DYNAMIC => Ok(()),
        t => vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "descriptor type {t:?} is not supported"
        ),
    }
}

pub unsafe extern "system" fn create_descriptor_set_layout(
    _device: vk::Device,
    info: *const vk::DescriptorSetLayoutCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::DescriptorSetLayout,
) -> vk::Result {
    guard("vkCreateDescriptorSetLayout", || {
        // SAFETY: info is a valid create info.
        let info = unsafe { &*info };
        // SAFETY: pBindings holds bindingCount entries.
        let bindings = unsafe { handle::slice(info.p_bindings, info.binding_count) };
        // SAFETY: immutable samplers are live samplers of ours (valid usage).
        let layout = unsafe { DescriptorSetLayout::new(bindings) }?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(Arc::new(layout))) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_descriptor_set_layout(
    _device: vk::Device,
    layout: vk::DescriptorSetLayout,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyDescriptorSetLayout", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<Arc<DescriptorSetLayout>, _>(layout) });
        Ok(())
    })
}

pub unsafe extern "system" fn get_descriptor_set_layout_support(
    _device: vk::Device,
    info: *const vk::DescriptorSetLayoutCreateInfo<'_>,
    out: *mut vk::DescriptorSetLayoutSupport<'_>,
) {
    guard_void("vkGetDescriptorSetLayoutSupport", || {
        // SAFETY: info is a valid create info.
        let info = unsafe { &*info };
        // SAFETY: pBindings holds bindingCount entries.
        let bindings = unsafe { handle::slice(info.p_bindings, info.binding_count) };
        // SAFETY: immutable samplers are live samplers of ours (valid usage).
        let supported = unsafe { DescriptorSetLayout::new(bindings) }.is_ok();
        // SAFETY: out is a valid output struct.
        unsafe { (*out).supported = supported.into() };
        Ok(())
    })
}
