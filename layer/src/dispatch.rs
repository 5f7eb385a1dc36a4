//! The dispatch side of the layer: what we keep per instance and per device
//! (the next element's entry points, the application's messengers, the
//! residency tracker), and the global maps that find it from a dispatchable
//! handle.
//!
//! The key of a dispatchable handle is the first pointer-sized word it
//! points to: the loader's dispatch table pointer. A device's queues share
//! the device's table, so a queue finds its device by the same key; the
//! loader's physical devices carry their instance's table, so a physical
//! device finds its instance.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use ash::vk;

use crate::config::Config;
use crate::tracker::Tracker;

/// An application messenger (`vkCreateDebugUtilsMessengerEXT`, or chained
/// into `VkInstanceCreateInfo`, then with a null handle).
#[derive(Clone, Copy)]
pub struct Messenger {
    pub handle: vk::DebugUtilsMessengerEXT,
    pub severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    pub types: vk::DebugUtilsMessageTypeFlagsEXT,
    pub callback: vk::PFN_vkDebugUtilsMessengerCallbackEXT,
    pub user_data: usize,
}

/// The next element's instance entry points we call.
pub struct InstanceFns {
    pub get_instance_proc_addr: vk::PFN_vkGetInstanceProcAddr,
    pub destroy_instance: vk::PFN_vkDestroyInstance,
    pub create_debug_utils_messenger: Option<vk::PFN_vkCreateDebugUtilsMessengerEXT>,
    pub destroy_debug_utils_messenger: Option<vk::PFN_vkDestroyDebugUtilsMessengerEXT>,
}

pub struct InstanceData {
    pub handle: vk::Instance,
    pub fns: InstanceFns,
    pub config: Config,
    pub messengers: Mutex<Vec<Messenger>>,
}

/// The next element's device entry points we call.
pub struct DeviceFns {
    pub get_device_proc_addr: vk::PFN_vkGetDeviceProcAddr,
    pub destroy_device: vk::PFN_vkDestroyDevice,
    pub create_buffer: vk::PFN_vkCreateBuffer,
    pub destroy_buffer: vk::PFN_vkDestroyBuffer,
    pub create_image: vk::PFN_vkCreateImage,
    pub destroy_image: vk::PFN_vkDestroyImage,
    pub allocate_memory: vk::PFN_vkAllocateMemory,
    pub free_memory: vk::PFN_vkFreeMemory,
    pub queue_bind_sparse: vk::PFN_vkQueueBindSparse,
    pub get_buffer_memory_requirements: vk::PFN_vkGetBufferMemoryRequirements,
    pub get_image_memory_requirements: vk::PFN_vkGetImageMemoryRequirements,
    pub get_image_sparse_memory_requirements: vk::PFN_vkGetImageSparseMemoryRequirements,
    pub set_debug_utils_object_name: Option<vk::PFN_vkSetDebugUtilsObjectNameEXT>,
}

pub struct DeviceData {
    /// The layer's number for the device in this process (report folders).
    pub serial: u64,
    pub instance: Arc<InstanceData>,
    pub fns: DeviceFns,
    pub tracker: Mutex<Tracker>,
}

impl DeviceData {
    pub fn tracker(&self) -> MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub static NEXT_DEVICE: AtomicU64 = AtomicU64::new(0);

pub fn next_device_serial() -> u64 {
    NEXT_DEVICE.fetch_add(1, Ordering::Relaxed)
}

static INSTANCES: RwLock<Option<HashMap<usize, Arc<InstanceData>>>> = RwLock::new(None);
static DEVICES: RwLock<Option<HashMap<usize, Arc<DeviceData>>>> = RwLock::new(None);
/// Devices the layer does not track (the next element lacks a core entry
/// point we call): only their next `vkGetDeviceProcAddr`, to pass through.
static PASSTHROUGH: RwLock<Option<HashMap<usize, Arc<vk::PFN_vkGetDeviceProcAddr>>>> =
    RwLock::new(None);

/// The dispatch key of a dispatchable handle.
///
/// # Safety
/// `raw` must be a live dispatchable handle made by the loader (a pointer
/// to an object whose first word is the loader's dispatch table pointer).
pub unsafe fn key(raw: u64) -> usize {
    // SAFETY: the caller passes a live loader object; its first word is
    // readable and pointer-sized.
    unsafe { *(raw as usize as *const usize) }
}

fn get<T>(map: &RwLock<Option<HashMap<usize, Arc<T>>>>, k: usize) -> Option<Arc<T>> {
    let m = map.read().unwrap_or_else(|e| e.into_inner());
    m.as_ref()?.get(&k).cloned()
}

fn put<T>(map: &RwLock<Option<HashMap<usize, Arc<T>>>>, k: usize, v: Arc<T>) {
    let mut m = map.write().unwrap_or_else(|e| e.into_inner());
    m.get_or_insert_with(HashMap::new).insert(k, v);
}

fn take<T>(map: &RwLock<Option<HashMap<usize, Arc<T>>>>, k: usize) -> Option<Arc<T>> {
    let mut m = map.write().unwrap_or_else(|e| e.into_inner());
    m.as_mut()?.remove(&k)
}

pub fn instance(k: usize) -> Option<Arc<InstanceData>> {
    get(&INSTANCES, k)
}

pub fn add_instance(k: usize, d: Arc<InstanceData>) {
    put(&INSTANCES, k, d)
}

pub fn remove_instance(k: usize) -> Option<Arc<InstanceData>> {
    take(&INSTANCES, k)
}

pub fn device(k: usize) -> Option<Arc<DeviceData>> {
    get(&DEVICES, k)
}

pub fn add_device(k: usize, d: Arc<DeviceData>) {
    put(&DEVICES, k, d)
}

pub fn remove_device(k: usize) -> Option<Arc<DeviceData>> {
    take(&DEVICES, k)
}

pub fn passthrough(k: usize) -> Option<vk::PFN_vkGetDeviceProcAddr> {
    get(&PASSTHROUGH, k).map(|f| *f)
}

pub fn add_passthrough(k: usize, gdpa: vk::PFN_vkGetDeviceProcAddr) {
    put(&PASSTHROUGH, k, Arc::new(gdpa))
}

pub fn remove_passthrough(k: usize) {
    take(&PASSTHROUGH, k);
}
