//! panthor-vk: a Vulkan driver (ICD) for Arm Mali CSF GPUs whose purpose is
//! sparse resources, written only against the panthor uAPI trait
//! (`panthor-uapi`), so it runs unchanged on a real panthor render node or
//! on the in-process virtual Mali (`panthor-sim`).
//!
//! How a call flows: the Vulkan loader finds us through the manifest in
//! `manifests/` and the three `vk_icd*` exports (`loader.rs`); every other
//! entry point is handed out by `vkGet*ProcAddr` from the table in
//! `entry.rs`, filtered by the registry tables generated from vk.xml
//! (`vk_tables.rs`). Entry points are thin: they check their input, run
//! inside [`guard`] (no panic crosses the C ABI), and call into one file
//! per Vulkan object (`instance.rs`, `physical_device.rs`, `device.rs`,
//! `memory.rs`, `buffer.rs`, `queue.rs`, `command_buffer.rs`, ...).
//!
//! What reaches the kernel: memory objects are BOs mapped into the device's
//! one VM; sparse resources reserve VA mapped over the sparse dummy page
//! and `vkQueueBindSparse` becomes asynchronous VM_BIND ops (`sparse.rs`);
//! command buffers become CSF command streams (`cs_transfer.rs`) run by
//! GROUP_SUBMIT; fences and semaphores are DRM syncobjs.
//!
//! Environment: `PANTHOR_VK_DEVICES` (which devices, see `backend.rs`),
//! `PANTHOR_VK_VIRTUAL_MEMORY_MB`, `PANTHOR_VK_LOG` (log filter).

// Every Vulkan entry point is an `unsafe extern "system" fn` whose safety
// contract is the specification's valid usage for that command (live
// handles of ours, pointers to the structs and arrays the spec names); it is
// not restated on each of them.
#![allow(clippy::missing_safety_doc)]

pub mod backend;
pub mod buffer;
pub mod buffer_view;
pub mod chain;
pub mod clear_color;
pub mod command_buffer;
pub mod command_compute;
pub mod command_pool;
pub mod cs_dispatch;
pub mod cs_image;
pub mod cs_query;
pub mod cs_transfer;
pub mod descriptor_pool;
pub mod descriptor_set;
pub mod descriptor_set_layout;
pub mod device;
pub mod drm_sync;
pub mod entry;
pub mod event;
pub mod external_memory;
pub mod external_sync;
pub mod fence;
pub mod format;
pub mod guard;
pub mod handle;
pub mod image;
pub mod image_view_desc;
pub mod instance;
pub mod layout;
pub mod loader;
pub mod mali_format;
pub mod memory;
pub mod meta_copy;
pub mod modifier;
pub mod physical_device;
pub mod pipeline;
pub mod pipeline_cache;
pub mod pipeline_layout;
pub mod query;
pub mod queue;
mod queue_submit;
pub mod sampler;
pub mod semaphore;
pub mod shader_module;
pub mod sparse;
pub mod timestamp;
pub mod upload;
pub mod va;
pub mod vk_tables;

pub use loader::{
    vk_icdGetInstanceProcAddr, vk_icdGetPhysicalDeviceProcAddr,
    vk_icdNegotiateLoaderICDInterfaceVersion,
};
