//! `VK_LAYER_PANTHOR_sparse`: a Vulkan API layer that shows and checks what
//! an application's sparse resources do, over any driver with sparse
//! support (our panthor ICD or another vendor's).
//!
//! The loader finds the layer through its manifest
//! (`manifests/panthor_sparse_layer.json.in`) and calls
//! [`vkNegotiateLoaderLayerInterfaceVersion`]; from then on the layer sits in
//! the instance and device dispatch chains (`entry.rs`, with the loader's
//! structures in `loader.rs` and the per-handle tables in `dispatch.rs`).
//! It intercepts only what sparse residency is made of: resource and memory
//! creation and destruction, `vkQueueBindSparse`, and debug-utils messengers
//! and object names; every other call goes straight to the next element.
//!
//! What it keeps per device is a model of every sparse buffer and image
//! (`tracker.rs`): requirements, which memory each block is bound to
//! (`blocks.rs`), what is bound on each memory object (`memory.rs`, which
//! answers the aliasing question), bind statistics, and the validation
//! rules (alignment, bounds, mip tails, memory types, aliasing, frees and
//! destroys while bound). Its maps use `rustc-hash`'s Fx hasher: keys are
//! handles and block indices, never adversarial, and the layer's cost per
//! bound block must stay small next to the driver's. Findings go to
//! the application's `VK_EXT_debug_utils` messengers, else to stderr
//! (`messages.rs`). On request the layer writes a JSON summary and PNG
//! residency maps at device destruction (`report.rs`), configured by
//! environment variables or `vk_layer_settings.txt` (`config.rs`). See
//! `layer/README.md`.

pub mod blocks;
pub mod config;
mod dispatch;
mod entry;
pub mod loader;
pub mod memory;
mod messages;
pub mod report;
pub mod tracker;

use ash::vk;

pub use messages::id_number;

/// The layer's name, as in its manifest.
pub const LAYER_NAME: &str = "VK_LAYER_PANTHOR_sparse";

/// The loader's first call: agree on the interface version (2) and hand
/// over our `vkGetInstanceProcAddr` / `vkGetDeviceProcAddr`.
///
/// # Safety
/// `version` must point to the loader's `VkNegotiateLayerInterface`.
#[no_mangle]
pub unsafe extern "system" fn vkNegotiateLoaderLayerInterfaceVersion(
    version: *mut loader::NegotiateLayerInterface,
) -> vk::Result {
    std::panic::catch_unwind(|| {
        pin_library();
        if version.is_null() {
            return vk::Result::ERROR_INITIALIZATION_FAILED;
        }
        // SAFETY: the loader passes its negotiation structure, ours to fill.
        let v = unsafe { &mut *version };
        if v.s_type != loader::NEGOTIATE_INTERFACE_STRUCT || v.loader_layer_interface_version < 2 {
            return vk::Result::ERROR_INITIALIZATION_FAILED;
        }
        v.loader_layer_interface_version = v
            .loader_layer_interface_version
            .min(loader::LAYER_INTERFACE_VERSION);
        v.pfn_get_instance_proc_addr = Some(entry::get_instance_proc_addr);
        v.pfn_get_device_proc_addr = Some(entry::get_device_proc_addr);
        v.pfn_get_physical_device_proc_addr = None;
        vk::Result::SUCCESS
    })
    .unwrap_or(vk::Result::ERROR_INITIALIZATION_FAILED)
}

/// Keeps this library loaded until the process exits. The loader unloads
/// a layer when the last instance using it is destroyed, but the Rust
/// runtime in it leaves per-thread destructors behind (registered with
/// pthread keys), which would then run unmapped code when a thread exits.
/// A `RTLD_NOLOAD | RTLD_NODELETE` open of ourselves marks the library
/// as never to be unloaded.
fn pin_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: Dl_info is plain data; all-zero is a valid value.
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        let here = vkNegotiateLoaderLayerInterfaceVersion as *const std::ffi::c_void;
        // SAFETY: dladdr only reads the address and fills `info`.
        let found = unsafe { libc::dladdr(here, &mut info) };
        if found != 0 && !info.dli_fname.is_null() {
            // SAFETY: opening the already-loaded library we run from, by the
            // path the dynamic linker gave; NOLOAD loads nothing new. The
            // handle is kept on purpose (never closed).
            unsafe {
                libc::dlopen(
                    info.dli_fname,
                    libc::RTLD_NOW | libc::RTLD_NOLOAD | libc::RTLD_NODELETE,
                )
            };
        }
    });
}
