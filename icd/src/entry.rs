//! Which commands `vkGet*ProcAddr` answers, and with what.
//!
//! [`IMPLEMENTED`] maps each command this driver implements to its function
//! (checked against ash's `PFN_*` type, so a wrong signature does not
//! compile). Whether a name is *answered* depends on the registry tables
//! (`vk_tables`, from vk.xml): its dispatch level and the core version or
//! extensions that provide it, against what the instance or device enabled.
//! Aliases (`vkGetPhysicalDeviceFeatures2KHR`) share their target's function.

use std::collections::HashMap;
use std::sync::OnceLock;

use ash::vk;

use crate::vk_tables::{self, Also, Dispatch, Requirement};

/// The level of a `vkGet*ProcAddr` query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `vkGetInstanceProcAddr(NULL, ..)`.
    Global,
    /// `vkGetInstanceProcAddr(instance, ..)`.
    Instance,
    /// `vk_icdGetPhysicalDeviceProcAddr`.
    PhysicalDevice,
    /// `vkGetDeviceProcAddr`.
    Device,
}

/// What a query may answer: the level, the effective API version, and the
/// extensions that count as enabled.
pub struct Scope<'a> {
    pub level: Level,
    pub version: u32,
    pub extensions: &'a [&'a str],
    /// Device extensions whose commands an instance-level query may
    /// return (all we support: a device may enable them later).
    pub device_extensions: &'a [&'a str],
}

impl Scope<'static> {
    /// Before an instance exists: the global commands of every version the
    /// driver implements (the loader asks for `vkEnumerateInstanceVersion`
    /// to learn it).
    pub fn global() -> Scope<'static> {
        Scope {
            level: Level::Global,
            version: crate::instance::DRIVER_API_VERSION,
            extensions: &[],
            device_extensions: &[],
        }
    }
}

impl Scope<'_> {
    fn enabled(&self, ext: &str) -> bool {
        self.extensions.contains(&ext) || self.device_extensions.contains(&ext)
    }

    fn satisfied(&self, r: &Requirement) -> bool {
        match *r {
            Requirement::Core(v) => v <= self.version,
            Requirement::Extension { name, also } => {
                self.enabled(name)
                    && match also {
                        None => true,
                        Some(Also::Core(v)) => v <= self.version,
                        Some(Also::Extension(e)) => self.enabled(e),
                    }
            }
        }
    }

    fn answers(&self, info: &vk_tables::CommandInfo) -> bool {
        let level_ok = match self.level {
            Level::Global => {
                info.dispatch == Dispatch::Global || info.name == "vkGetInstanceProcAddr"
            }
            Level::Instance => true,
            Level::PhysicalDevice => info.dispatch == Dispatch::PhysicalDevice,
            Level::Device => info.dispatch == Dispatch::Device,
        };
        level_ok && info.requires.iter().any(|r| self.satisfied(r))
    }
}

/// The function for `name` when the scope answers it and we implement it.
pub fn lookup(name: &str, scope: &Scope<'_>) -> vk::PFN_vkVoidFunction {
    let info = vk_tables::command(name)?;
    if !scope.answers(info) {
        return None;
    }
    // Aliases share their target's function (IMPLEMENTED lists targets only).
    implementation(info.alias_of.unwrap_or(info.name))
}

/// Our function for a command name, whether or not any scope answers it.
pub fn implementation(name: &str) -> vk::PFN_vkVoidFunction {
    static MAP: OnceLock<HashMap<&'static str, unsafe extern "system" fn()>> = OnceLock::new();
    MAP.get_or_init(|| IMPLEMENTED.iter().map(|&(n, f)| (&n[4..], f)).collect())
        .get(name)
        .copied()
}

/// Every command implemented, by its `PFN_` type name.
/// `PFN_x as "PFN_y" = f;` registers `f` (checked as ash's `PFN_x`) under
/// the name `y`: for registry names ash only has under another name.
macro_rules! implemented {
    ($($pfn:ident $(as $name:literal)? = $f:path;)*) => {
        pub static IMPLEMENTED: &[(&str, unsafe extern "system" fn())] = &[$(
            (implemented!(@name $pfn $($name)?), {
                const F: vk::$pfn = $f;
                // SAFETY: a function pointer is stored type-erased, as
                // vkGetInstanceProcAddr returns it; the application casts
                // it back to the PFN type checked above.
                unsafe { std::mem::transmute::<vk::$pfn, unsafe extern "system" fn()>(F) }
            }),
        )*];
    };
    (@name $pfn:ident) => { stringify!($pfn) };
    (@name $pfn:ident $name:literal) => { $name };
}

use crate::{
    buffer, buffer_view, command_buffer, command_compute, command_pool, descriptor_pool,
    descriptor_set, descriptor_set_layout, device, event, external_memory, external_sync, fence,
    format, image, instance, loader, memory, physical_device, pipeline, pipeline_cache,
    pipeline_layout, query, queue, sampler, semaphore, shader_module, timestamp,
};

implemented! {
    // Global and instance.
    PFN_vkGetInstanceProcAddr = loader::get_instance_proc_addr;
    PFN_vkCreateInstance = instance::create_instance;
    PFN_vkDestroyInstance = instance::destroy_instance;
    PFN_vkEnumerateInstanceVersion = instance::enumerate_instance_version;
    PFN_vkEnumerateInstanceExtensionProperties = instance::enumerate_instance_extension_properties;
    PFN_vkEnumerateInstanceLayerProperties = instance::enumerate_instance_layer_properties;
    PFN_vkEnumeratePhysicalDevices = instance::enumerate_physical_devices;
    PFN_vkEnumeratePhysicalDeviceGroups = instance::enumerate_physical_device_groups;
    // Physical device.
    PFN_vkGetPhysicalDeviceProperties = physical_device::get_properties;
    PFN_vkGetPhysicalDeviceProperties2 = physical_device::get_properties2;
    PFN_vkGetPhysicalDeviceFeatures = physical_device::get_features;
    PFN_vkGetPhysicalDeviceFeatures2 = physical_device::get_features2;
    PFN_vkGetPhysicalDeviceQueueFamilyProperties = physical_device::get_queue_family_properties;
    PFN_vkGetPhysicalDeviceQueueFamilyProperties2 = physical_device::get_queue_family_properties2;
    PFN_vkGetPhysicalDeviceMemoryProperties = physical_device::get_memory_properties;
    PFN_vkGetPhysicalDeviceMemoryProperties2 = physical_device::get_memory_properties2;
    PFN_vkGetPhysicalDeviceFormatProperties = format::get_format_properties;
    PFN_vkGetPhysicalDeviceFormatProperties2 = format::get_format_properties2;
    PFN_vkGetPhysicalDeviceImageFormatProperties = format::get_image_format_properties;
    PFN_vkGetPhysicalDeviceImageFormatProperties2 = format::get_image_format_properties2;
    PFN_vkGetPhysicalDeviceSparseImageFormatProperties = format::get_sparse_image_format_properties;
    PFN_vkGetPhysicalDeviceSparseImageFormatProperties2 = format::get_sparse_image_format_properties2;
    PFN_vkGetPhysicalDeviceExternalBufferProperties = physical_device::get_external_buffer_properties;
    PFN_vkGetPhysicalDeviceExternalFenceProperties = external_sync::get_external_fence_properties;
    PFN_vkGetPhysicalDeviceExternalSemaphoreProperties = external_sync::get_external_semaphore_properties;
    PFN_vkEnumerateDeviceExtensionProperties = physical_device::enumerate_device_extension_properties;
    PFN_vkEnumerateDeviceLayerProperties = physical_device::enumerate_device_layer_properties;
    PFN_vkGetPhysicalDeviceCalibrateableTimeDomainsKHR as "PFN_vkGetPhysicalDeviceCalibrateableTimeDomainsEXT" =
        timestamp::get_calibrateable_time_domains;
    // Device and queues.
    PFN_vkCreateDevice = device::create_device;
    PFN_vkDestroyDevice = device::destroy_device;
    PFN_vkGetDeviceProcAddr = device::get_device_proc_addr;
    PFN_vkGetDeviceQueue = device::get_device_queue;
    PFN_vkGetDeviceQueue2 = device::get_device_queue2;
    PFN_vkGetDeviceGroupPeerMemoryFeatures = device::get_device_group_peer_memory_features;
    PFN_vkDeviceWaitIdle = device::device_wait_idle;
    PFN_vkQueueSubmit = queue::queue_submit;
    PFN_vkQueueSubmit2 = queue::queue_submit2;
    PFN_vkQueueWaitIdle = queue::queue_wait_idle;
    PFN_vkQueueBindSparse = queue::queue_bind_sparse;
    // Memory.
    PFN_vkAllocateMemory = memory::allocate_memory;
    PFN_vkFreeMemory = memory::free_memory;
    PFN_vkMapMemory = memory::map_memory;
    PFN_vkUnmapMemory = memory::unmap_memory;
    PFN_vkFlushMappedMemoryRanges = memory::flush_mapped_memory_ranges;
    PFN_vkInvalidateMappedMemoryRanges = memory::invalidate_mapped_memory_ranges;
    PFN_vkGetDeviceMemoryCommitment = memory::get_device_memory_commitment;
    PFN_vkGetMemoryFdKHR = external_memory::get_memory_fd;
    PFN_vkGetMemoryFdPropertiesKHR = external_memory::get_memory_fd_properties;
    // Buffers.
    PFN_vkCreateBuffer = buffer::create_buffer;
    PFN_vkDestroyBuffer = buffer::destroy_buffer;
    PFN_vkGetBufferMemoryRequirements = buffer::get_buffer_memory_requirements;
    PFN_vkGetBufferMemoryRequirements2 = buffer::get_buffer_memory_requirements2;
    PFN_vkGetDeviceBufferMemoryRequirements = buffer::get_device_buffer_memory_requirements;
    PFN_vkBindBufferMemory = buffer::bind_buffer_memory;
    PFN_vkBindBufferMemory2 = buffer::bind_buffer_memory2;
    PFN_vkGetDeviceImageMemoryRequirements = image::get_device_image_memory_requirements;
    PFN_vkGetDeviceImageSparseMemoryRequirements = image::get_device_image_sparse_memory_requirements;
    // Images.
    PFN_vkCreateImage = image::create_image;
    PFN_vkDestroyImage = image::destroy_image;
    PFN_vkGetImageMemoryRequirements = image::get_image_memory_requirements;
    PFN_vkGetImageMemoryRequirements2 = image::get_image_memory_requirements2;
    PFN_vkGetImageSparseMemoryRequirements = image::get_image_sparse_memory_requirements;
    PFN_vkGetImageSparseMemoryRequirements2 = image::get_image_sparse_memory_requirements2;
    PFN_vkBindImageMemory = image::bind_image_memory;
    PFN_vkBindImageMemory2 = image::bind_image_memory2;
    PFN_vkGetImageSubresourceLayout = image::get_image_subresource_layout;
    PFN_vkGetImageDrmFormatModifierPropertiesEXT = image::get_image_drm_format_modifier_properties;
    PFN_vkCreateImageView = image::create_image_view;
    PFN_vkDestroyImageView = image::destroy_image_view;
    PFN_vkCreateBufferView = buffer_view::create_buffer_view;
    PFN_vkDestroyBufferView = buffer_view::destroy_buffer_view;
    PFN_vkCreateSampler = sampler::create_sampler;
    PFN_vkDestroySampler = sampler::destroy_sampler;
    // Shaders, descriptors and compute pipelines.
    PFN_vkCreateShaderModule = shader_module::create_shader_module;
    PFN_vkDestroyShaderModule = shader_module::destroy_shader_module;
    PFN_vkCreateDescriptorSetLayout = descriptor_set_layout::create_descriptor_set_layout;
    PFN_vkDestroyDescriptorSetLayout = descriptor_set_layout::destroy_descriptor_set_layout;
    PFN_vkGetDescriptorSetLayoutSupport = descriptor_set_layout::get_descriptor_set_layout_support;
    PFN_vkCreateDescriptorPool = descriptor_pool::create_descriptor_pool;
    PFN_vkDestroyDescriptorPool = descriptor_pool::destroy_descriptor_pool;
    PFN_vkResetDescriptorPool = descriptor_pool::reset_descriptor_pool;
    PFN_vkAllocateDescriptorSets = descriptor_pool::allocate_descriptor_sets;
    PFN_vkFreeDescriptorSets = descriptor_pool::free_descriptor_sets;
    PFN_vkUpdateDescriptorSets = descriptor_set::update_descriptor_sets;
    PFN_vkCreateDescriptorUpdateTemplate = descriptor_set::create_descriptor_update_template;
    PFN_vkDestroyDescriptorUpdateTemplate = descriptor_set::destroy_descriptor_update_template;
    PFN_vkUpdateDescriptorSetWithTemplate = descriptor_set::update_descriptor_set_with_template;
    PFN_vkCreatePipelineLayout = pipeline_layout::create_pipeline_layout;
    PFN_vkDestroyPipelineLayout = pipeline_layout::destroy_pipeline_layout;
    PFN_vkCreatePipelineCache = pipeline_cache::create_pipeline_cache;
    PFN_vkDestroyPipelineCache = pipeline_cache::destroy_pipeline_cache;
    PFN_vkGetPipelineCacheData = pipeline_cache::get_pipeline_cache_data;
    PFN_vkMergePipelineCaches = pipeline_cache::merge_pipeline_caches;
    PFN_vkCreateComputePipelines = pipeline::create_compute_pipelines;
    PFN_vkDestroyPipeline = pipeline::destroy_pipeline;
    // Synchronization.
    PFN_vkCreateFence = fence::create_fence;
    PFN_vkDestroyFence = fence::destroy_fence;
    PFN_vkResetFences = fence::reset_fences;
    PFN_vkGetFenceStatus = fence::get_fence_status;
    PFN_vkWaitForFences = fence::wait_for_fences;
    PFN_vkCreateSemaphore = semaphore::create_semaphore;
    PFN_vkDestroySemaphore = semaphore::destroy_semaphore;
    PFN_vkGetSemaphoreCounterValue = semaphore::get_semaphore_counter_value;
    PFN_vkWaitSemaphores = semaphore::wait_semaphores;
    PFN_vkSignalSemaphore = semaphore::signal_semaphore;
    PFN_vkGetFenceFdKHR = external_sync::get_fence_fd;
    PFN_vkImportFenceFdKHR = external_sync::import_fence_fd;
    PFN_vkGetSemaphoreFdKHR = external_sync::get_semaphore_fd;
    PFN_vkImportSemaphoreFdKHR = external_sync::import_semaphore_fd;
    PFN_vkCreateEvent = event::create_event;
    PFN_vkDestroyEvent = event::destroy_event;
    PFN_vkGetEventStatus = event::get_event_status;
    PFN_vkSetEvent = event::set_event;
    PFN_vkResetEvent = event::reset_event;
    // Command pools and buffers.
    PFN_vkCreateCommandPool = command_pool::create_command_pool;
    PFN_vkDestroyCommandPool = command_pool::destroy_command_pool;
    PFN_vkResetCommandPool = command_pool::reset_command_pool;
    PFN_vkTrimCommandPool = command_pool::trim_command_pool;
    PFN_vkAllocateCommandBuffers = command_pool::allocate_command_buffers;
    PFN_vkFreeCommandBuffers = command_pool::free_command_buffers;
    PFN_vkBeginCommandBuffer = command_buffer::begin_command_buffer;
    PFN_vkEndCommandBuffer = command_buffer::end_command_buffer;
    PFN_vkResetCommandBuffer = command_buffer::reset_command_buffer;
    PFN_vkCmdCopyBuffer = command_buffer::cmd_copy_buffer;
    PFN_vkCmdCopyBuffer2 = command_buffer::cmd_copy_buffer2;
    PFN_vkCmdFillBuffer = command_buffer::cmd_fill_buffer;
    PFN_vkCmdUpdateBuffer = command_buffer::cmd_update_buffer;
    PFN_vkCmdPipelineBarrier = command_buffer::cmd_pipeline_barrier;
    PFN_vkCmdPipelineBarrier2 = command_buffer::cmd_pipeline_barrier2;
    PFN_vkCmdCopyBufferToImage = command_buffer::cmd_copy_buffer_to_image;
    PFN_vkCmdCopyImageToBuffer = command_buffer::cmd_copy_image_to_buffer;
    PFN_vkCmdCopyImage = command_buffer::cmd_copy_image;
    PFN_vkCmdClearColorImage = command_buffer::cmd_clear_color_image;
    PFN_vkCmdSetEvent = command_buffer::cmd_set_event;
    PFN_vkCmdResetEvent = command_buffer::cmd_reset_event;
    PFN_vkCmdWaitEvents = command_buffer::cmd_wait_events;
    PFN_vkCmdSetEvent2 = command_buffer::cmd_set_event2;
    PFN_vkCmdResetEvent2 = command_buffer::cmd_reset_event2;
    PFN_vkCmdWaitEvents2 = command_buffer::cmd_wait_events2;
    PFN_vkCmdExecuteCommands = command_buffer::cmd_execute_commands;
    PFN_vkCmdBindPipeline = command_compute::cmd_bind_pipeline;
    PFN_vkCmdBindDescriptorSets = command_compute::cmd_bind_descriptor_sets;
    PFN_vkCmdPushConstants = command_compute::cmd_push_constants;
    PFN_vkCmdDispatch = command_compute::cmd_dispatch;
    PFN_vkCmdDispatchBase = command_compute::cmd_dispatch_base;
    PFN_vkCmdDispatchIndirect = command_compute::cmd_dispatch_indirect;
    PFN_vkCmdSetDeviceMask = command_buffer::cmd_set_device_mask;
    // Queries.
    PFN_vkCreateQueryPool = query::create_query_pool;
    PFN_vkDestroyQueryPool = query::destroy_query_pool;
    PFN_vkResetQueryPool = query::reset_query_pool;
    PFN_vkGetQueryPoolResults = query::get_query_pool_results;
    PFN_vkCmdResetQueryPool = query::cmd_reset_query_pool;
    PFN_vkCmdWriteTimestamp = query::cmd_write_timestamp;
    PFN_vkCmdWriteTimestamp2 = query::cmd_write_timestamp2;
    PFN_vkCmdCopyQueryPoolResults = query::cmd_copy_query_pool_results;
    PFN_vkCmdBeginQuery = query::cmd_begin_query;
    PFN_vkCmdEndQuery = query::cmd_end_query;
    PFN_vkGetCalibratedTimestampsKHR as "PFN_vkGetCalibratedTimestampsEXT" =
        timestamp::get_calibrated_timestamps;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::INSTANCE_EXTENSIONS;
    use crate::physical_device::DEVICE_EXTENSIONS_ALL;

    /// Advertising an extension promises all its commands: every command an
    /// extension we list provides (alone) must be implemented.
    #[test]
    fn every_advertised_extension_is_complete() {
        for ext in INSTANCE_EXTENSIONS.iter().chain(DEVICE_EXTENSIONS_ALL) {
            assert!(
                vk_tables::extension(ext).is_some(),
                "{ext} is not in vk.xml"
            );
            for cmd in vk_tables::commands() {
                let provided = cmd.requires.iter().any(
                    |r| matches!(r, Requirement::Extension { name, also: None } if name == ext),
                );
                if provided {
                    let target = cmd.alias_of.unwrap_or(cmd.name);
                    assert!(
                        implementation(target).is_some(),
                        "{ext} needs {} ({target})",
                        cmd.name
                    );
                }
            }
        }
    }

    #[test]
    fn implemented_names_are_registry_commands() {
        for (pfn, _) in IMPLEMENTED {
            let name = &pfn[4..];
            let info =
                vk_tables::command(name).unwrap_or_else(|| panic!("{name} is not in vk.xml"));
            assert_eq!(
                info.alias_of, None,
                "{name}: implement the core name, not an alias"
            );
        }
    }

    #[test]
    fn scopes_follow_version_and_extensions() {
        let exts = ["VK_KHR_timeline_semaphore"];
        let dev = Scope {
            level: Level::Device,
            version: vk::API_VERSION_1_1,
            extensions: &[],
            device_extensions: &exts,
        };
        assert!(lookup("vkWaitSemaphoresKHR", &dev).is_some());
        assert!(
            lookup("vkWaitSemaphores", &dev).is_none(),
            "1.2 core on a 1.1 device"
        );
        assert!(
            lookup("vkCreateInstance", &dev).is_none(),
            "global command at device level"
        );
        assert!(lookup("vkGetPhysicalDeviceFeatures", &dev).is_none());
        assert!(
            lookup("vkCmdPipelineBarrier2KHR", &dev).is_none(),
            "extension not enabled"
        );
        let global = Scope::global();
        assert!(lookup("vkCreateInstance", &global).is_some());
        assert!(
            lookup("vkEnumerateInstanceVersion", &global).is_some(),
            "the loader asks for it"
        );
        assert!(lookup("vkGetInstanceProcAddr", &global).is_some());
        assert!(lookup("vkDestroyInstance", &global).is_none());
        assert!(lookup("vkNoSuchCommand", &global).is_none());
    }
}
