//! The entry points: `vkGetInstanceProcAddr` / `vkGetDeviceProcAddr` (ours
//! for what we intercept, the next element's pointer for everything else,
//! so other calls never pass through the layer), instance and device
//! creation (following and advancing the loader's link info), and the
//! calls that create, bind, free and destroy what sparse residency is made
//! of. Every entry point catches panics and returns a Vulkan error instead
//! of unwinding into the caller.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ash::vk::{self, Handle};

use crate::config::Config;
use crate::dispatch::{self, DeviceData, DeviceFns, InstanceData, InstanceFns, Messenger};
use crate::loader::{self, LayerDeviceLink, LayerInstanceLink};
use crate::messages;
use crate::tracker::{ImageBind, Message, OpaqueBind, Resource, Tracker};

/// Runs `f`; a panic becomes `fallback`.
fn guard<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// Casts one of our entry points to `PFN_vkVoidFunction`.
macro_rules! void_fn {
    ($f:expr, $ty:ty) => {{
        let f: $ty = $f;
        // SAFETY: a function pointer cast to the generic pointer type the
        // loader expects; the caller casts it back to `$ty` before calling.
        Some(unsafe { std::mem::transmute::<$ty, unsafe extern "system" fn()>(f) })
    }};
}

/// Looks `name` up with a `vkGet*ProcAddr` and casts it to `$ty`.
macro_rules! load {
    ($gpa:expr, $handle:expr, $name:literal, $ty:ty) => {{
        // SAFETY: asking the next element's vkGet*ProcAddr for a function by
        // its name, then casting the answer to that function's type.
        unsafe {
            std::mem::transmute::<vk::PFN_vkVoidFunction, Option<$ty>>($gpa(
                $handle,
                concat!($name, "\0").as_ptr().cast(),
            ))
        }
    }};
}

/// The device-level calls we intercept.
fn device_intercept(name: &[u8]) -> vk::PFN_vkVoidFunction {
    match name {
        b"vkGetDeviceProcAddr" => void_fn!(get_device_proc_addr, vk::PFN_vkGetDeviceProcAddr),
        b"vkDestroyDevice" => void_fn!(destroy_device, vk::PFN_vkDestroyDevice),
        b"vkCreateBuffer" => void_fn!(create_buffer, vk::PFN_vkCreateBuffer),
        b"vkDestroyBuffer" => void_fn!(destroy_buffer, vk::PFN_vkDestroyBuffer),
        b"vkCreateImage" => void_fn!(create_image, vk::PFN_vkCreateImage),
        b"vkDestroyImage" => void_fn!(destroy_image, vk::PFN_vkDestroyImage),
        b"vkAllocateMemory" => void_fn!(allocate_memory, vk::PFN_vkAllocateMemory),
        b"vkFreeMemory" => void_fn!(free_memory, vk::PFN_vkFreeMemory),
        b"vkQueueBindSparse" => void_fn!(queue_bind_sparse, vk::PFN_vkQueueBindSparse),
        b"vkSetDebugUtilsObjectNameEXT" => void_fn!(
            set_debug_utils_object_name,
            vk::PFN_vkSetDebugUtilsObjectNameEXT
        ),
        _ => None,
    }
}

/// The instance-level calls we intercept.
fn instance_intercept(name: &[u8]) -> vk::PFN_vkVoidFunction {
    match name {
        b"vkGetInstanceProcAddr" => {
            void_fn!(get_instance_proc_addr, vk::PFN_vkGetInstanceProcAddr)
        }
        b"vkCreateInstance" => void_fn!(create_instance, vk::PFN_vkCreateInstance),
        b"vkDestroyInstance" => void_fn!(destroy_instance, vk::PFN_vkDestroyInstance),
        b"vkCreateDevice" => void_fn!(create_device, vk::PFN_vkCreateDevice),
        b"vkCreateDebugUtilsMessengerEXT" => void_fn!(
            create_debug_utils_messenger,
            vk::PFN_vkCreateDebugUtilsMessengerEXT
        ),
        b"vkDestroyDebugUtilsMessengerEXT" => void_fn!(
            destroy_debug_utils_messenger,
            vk::PFN_vkDestroyDebugUtilsMessengerEXT
        ),
        _ => None,
    }
}

/// Our `vkGetInstanceProcAddr`.
pub unsafe extern "system" fn get_instance_proc_addr(
    instance: vk::Instance,
    name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    guard(None, || {
        if name.is_null() {
            return None;
        }
        let name_ptr = name;
        // SAFETY: the caller passes a NUL-terminated function name.
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        if name == b"vkCreateInstance" || name == b"vkGetInstanceProcAddr" {
            return instance_intercept(name);
        }
        if instance.is_null() {
            return None;
        }
        // SAFETY: a non-null instance passed to vkGetInstanceProcAddr is live.
        let data = dispatch::instance(unsafe { dispatch::key(instance.as_raw()) })?;
        let next = data.fns.get_instance_proc_addr;
        // SAFETY: forwarding the same query to the next element.
        let theirs = unsafe { next(instance, name_ptr) };
        let ours = instance_intercept(name).or_else(|| device_intercept(name));
        match ours {
            // Ours only where the next element has the function too.
            Some(f) if theirs.is_some() || name == b"vkGetDeviceProcAddr" => Some(f),
            Some(_) => None,
            None => theirs,
        }
    })
}

/// Our `vkGetDeviceProcAddr`.
pub unsafe extern "system" fn get_device_proc_addr(
    device: vk::Device,
    name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    guard(None, || {
        if name.is_null() || device.is_null() {
            return None;
        }
        // SAFETY: the caller passes a NUL-terminated function name.
        let name_b = unsafe { CStr::from_ptr(name) }.to_bytes();
        // SAFETY: a non-null device passed to vkGetDeviceProcAddr is live.
        let k = unsafe { dispatch::key(device.as_raw()) };
        let Some(data) = dispatch::device(k) else {
            let next = dispatch::passthrough(k)?;
            // SAFETY: forwarding the query for a device we do not track.
            return unsafe { next(device, name) };
        };
        let next = data.fns.get_device_proc_addr;
        // SAFETY: forwarding the same query to the next element.
        let theirs = unsafe { next(device, name) };
        match device_intercept(name_b) {
            Some(f) if theirs.is_some() => Some(f),
            _ => theirs,
        }
    })
}

/// Messengers chained into `VkInstanceCreateInfo`.
///
/// # Safety
/// `p_next` must be a valid structure chain.
unsafe fn chained_messengers(mut p_next: *const std::ffi::c_void) -> Vec<Messenger> {
    let mut out = Vec::new();
    while !p_next.is_null() {
        let base = p_next as *const vk::BaseInStructure<'_>;
        // SAFETY: every structure of a valid chain starts with sType/pNext;
        // the messenger info is read only when sType names it.
        unsafe {
            if (*base).s_type == vk::StructureType::DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT {
                let info = &*(p_next as *const vk::DebugUtilsMessengerCreateInfoEXT<'_>);
                out.push(Messenger {
                    handle: vk::DebugUtilsMessengerEXT::null(),
                    severity: info.message_severity,
                    types: info.message_type,
                    callback: info.pfn_user_callback,
                    user_data: info.p_user_data as usize,
                });
            }
            p_next = (*base).p_next.cast();
        }
    }
    out
}

unsafe extern "system" fn create_instance(
    info: *const vk::InstanceCreateInfo<'_>,
    allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Instance,
) -> vk::Result {
    guard(vk::Result::ERROR_INITIALIZATION_FAILED, || {
        // SAFETY: the loader passes a valid create info with its link info.
        let Some(link) = (unsafe {
            loader::find_link::<LayerInstanceLink>(
                (*info).p_next,
                loader::LOADER_INSTANCE_CREATE_INFO,
            )
        }) else {
            return vk::Result::ERROR_INITIALIZATION_FAILED;
        };
        // SAFETY: the link info is the loader's, valid for this call; we take
        // our element and advance the chain for the next layer.
        let next_gipa = unsafe {
            let element = (*link).p_layer_info;
            if element.is_null() {
                return vk::Result::ERROR_INITIALIZATION_FAILED;
            }
            (*link).p_layer_info = (*element).p_next;
            (*element).pfn_next_get_instance_proc_addr
        };
        let Some(create) = load!(
            next_gipa,
            vk::Instance::null(),
            "vkCreateInstance",
            vk::PFN_vkCreateInstance
        ) else {
            return vk::Result::ERROR_INITIALIZATION_FAILED;
        };
        // SAFETY: forwarding the application's arguments.
        let r = unsafe { create(info, allocator, out) };
        if r != vk::Result::SUCCESS {
            return r;
        }
        // SAFETY: creation succeeded, so `out` holds the instance.
        let instance = unsafe { *out };
        let Some(destroy_instance) = load!(
            next_gipa,
            instance,
            "vkDestroyInstance",
            vk::PFN_vkDestroyInstance
        ) else {
            return vk::Result::ERROR_INITIALIZATION_FAILED;
        };
        let fns = InstanceFns {
            get_instance_proc_addr: next_gipa,
            destroy_instance,
            create_debug_utils_messenger: load!(
                next_gipa,
                instance,
                "vkCreateDebugUtilsMessengerEXT",
                vk::PFN_vkCreateDebugUtilsMessengerEXT
            ),
            destroy_debug_utils_messenger: load!(
                next_gipa,
                instance,
                "vkDestroyDebugUtilsMessengerEXT",
                vk::PFN_vkDestroyDebugUtilsMessengerEXT
            ),
        };
        // SAFETY: the application's create info chain is valid.
        let messengers = unsafe { chained_messengers((*info).p_next) };
        let data = InstanceData {
            handle: instance,
            fns,
            config: Config::load(),
            messengers: Mutex::new(messengers),
        };
        // SAFETY: the instance was just created by the loader.
        let k = unsafe { dispatch::key(instance.as_raw()) };
        dispatch::add_instance(k, Arc::new(data));
        vk::Result::SUCCESS
    })
}

unsafe extern "system" fn destroy_instance(
    instance: vk::Instance,
    allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard((), || {
        if instance.is_null() {
            return;
        }
        // SAFETY: a live instance (the application is destroying it).
        let Some(data) = dispatch::remove_instance(unsafe { dispatch::key(instance.as_raw()) })
        else {
            return;
        };
        // SAFETY: forwarding the application's arguments.
        unsafe { (data.fns.destroy_instance)(instance, allocator) };
    })
}

unsafe extern "system" fn create_debug_utils_messenger(
    instance: vk::Instance,
    info: *const vk::DebugUtilsMessengerCreateInfoEXT<'_>,
    allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::DebugUtilsMessengerEXT,
) -> vk::Result {
    guard(vk::Result::ERROR_OUT_OF_HOST_MEMORY, || {
        // SAFETY: a live instance.
        let Some(data) = dispatch::instance(unsafe { dispatch::key(instance.as_raw()) }) else {
            return vk::Result::ERROR_INITIALIZATION_FAILED;
        };
        let Some(next) = data.fns.create_debug_utils_messenger else {
            return vk::Result::ERROR_EXTENSION_NOT_PRESENT;
        };
        // SAFETY: forwarding the application's arguments.
        let r = unsafe { next(instance, info, allocator, out) };
        if r == vk::Result::SUCCESS {
            // SAFETY: the create info is valid and `out` holds the handle.
            let m = unsafe {
                Messenger {
                    handle: *out,
                    severity: (*info).message_severity,
                    types: (*info).message_type,
                    callback: (*info).pfn_user_callback,
                    user_data: (*info).p_user_data as usize,
                }
            };
            data.messengers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(m);
        }
        r
    })
}

unsafe extern "system" fn destroy_debug_utils_messenger(
    instance: vk::Instance,
    messenger: vk::DebugUtilsMessengerEXT,
    allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard((), || {
        // SAFETY: a live instance.
        let Some(data) = dispatch::instance(unsafe { dispatch::key(instance.as_raw()) }) else {
            return;
        };
        data.messengers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|m| m.handle != messenger || messenger.is_null());
        if let Some(next) = data.fns.destroy_debug_utils_messenger {
            // SAFETY: forwarding the application's arguments.
            unsafe { next(instance, messenger, allocator) };
        }
    })
}

unsafe extern "system" fn create_device(
    physical_device: vk::PhysicalDevice,
    info: *const vk::DeviceCreateInfo<'_>,
    allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Device,
) -> vk::Result {
    guard(vk::Result::ERROR_INITIALIZATION_FAILED, || {
        // SAFETY: the loader passes a valid create info with its link info.
        let Some(link) = (unsafe {
            loader::find_link::<LayerDeviceLink>((*info).p_next, loader::LOADER_DEVICE_CREATE_INFO)
        }) else {
            return vk::Result::ERROR_INITIALIZATION_FAILED;
        };
        // SAFETY: the link info is the loader's, valid for this call; we take
        // our element and advance the chain for the next layer.
        let (next_gipa, next_gdpa) = unsafe {
            let element = (*link).p_layer_info;
            if element.is_null() {
                return vk::Result::ERROR_INITIALIZATION_FAILED;
            }
            (*link).p_layer_info = (*element).p_next;
            (
                (*element).pfn_next_get_instance_proc_addr,
                (*element).pfn_next_get_device_proc_addr,
            )
        };
        // SAFETY: the loader's physical devices carry their instance's key.
        let Some(instance) = dispatch::instance(unsafe { dispatch::key(physical_device.as_raw()) })
        else {
            return vk::Result::ERROR_INITIALIZATION_FAILED;
        };
        let Some(create) = load!(
            next_gipa,
            instance.handle,
            "vkCreateDevice",
            vk::PFN_vkCreateDevice
        ) else {
            return vk::Result::ERROR_INITIALIZATION_FAILED;
        };
        // SAFETY: forwarding the application's arguments.
        let r = unsafe { create(physical_device, info, allocator, out) };
        if r != vk::Result::SUCCESS {
            return r;
        }
        // SAFETY: creation succeeded, so `out` holds the device.
        let device = unsafe { *out };
        // SAFETY: the device was just created by the loader.
        let k = unsafe { dispatch::key(device.as_raw()) };
        let Some(fns) = device_fns(next_gdpa, device) else {
            eprintln!(
                "[VK_LAYER_PANTHOR_sparse] the driver lacks a core device entry point: this \
                 device is not tracked"
            );
            dispatch::add_passthrough(k, next_gdpa);
            return vk::Result::SUCCESS;
        };
        dispatch::remove_passthrough(k);
        let data = DeviceData {
            serial: dispatch::next_device_serial(),
            instance,
            fns,
            tracker: Mutex::new(Tracker::default()),
        };
        dispatch::add_device(k, Arc::new(data));
        vk::Result::SUCCESS
    })
}

fn device_fns(gdpa: vk::PFN_vkGetDeviceProcAddr, d: vk::Device) -> Option<DeviceFns> {
    Some(DeviceFns {
        get_device_proc_addr: gdpa,
        destroy_device: load!(gdpa, d, "vkDestroyDevice", vk::PFN_vkDestroyDevice)?,
        create_buffer: load!(gdpa, d, "vkCreateBuffer", vk::PFN_vkCreateBuffer)?,
        destroy_buffer: load!(gdpa, d, "vkDestroyBuffer", vk::PFN_vkDestroyBuffer)?,
        create_image: load!(gdpa, d, "vkCreateImage", vk::PFN_vkCreateImage)?,
        destroy_image: load!(gdpa, d, "vkDestroyImage", vk::PFN_vkDestroyImage)?,
        allocate_memory: load!(gdpa, d, "vkAllocateMemory", vk::PFN_vkAllocateMemory)?,
        free_memory: load!(gdpa, d, "vkFreeMemory", vk::PFN_vkFreeMemory)?,
        queue_bind_sparse: load!(gdpa, d, "vkQueueBindSparse", vk::PFN_vkQueueBindSparse)?,
        get_buffer_memory_requirements: load!(
            gdpa,
            d,
            "vkGetBufferMemoryRequirements",
            vk::PFN_vkGetBufferMemoryRequirements
        )?,
        get_image_memory_requirements: load!(
            gdpa,
            d,
            "vkGetImageMemoryRequirements",
            vk::PFN_vkGetImageMemoryRequirements
        )?,
        get_image_sparse_memory_requirements: load!(
            gdpa,
            d,
            "vkGetImageSparseMemoryRequirements",
            vk::PFN_vkGetImageSparseMemoryRequirements
        )?,
        set_debug_utils_object_name: load!(
            gdpa,
            d,
            "vkSetDebugUtilsObjectNameEXT",
            vk::PFN_vkSetDebugUtilsObjectNameEXT
        ),
    })
}

/// The layer's data of a device (or of a queue: same key).
fn device_of(raw: u64) -> Option<Arc<DeviceData>> {
    // SAFETY: callers pass a live dispatchable handle the application gave us.
    dispatch::device(unsafe { dispatch::key(raw) })
}

unsafe extern "system" fn destroy_device(
    device: vk::Device,
    allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard((), || {
        if device.is_null() {
            return;
        }
        // SAFETY: a live device (the application is destroying it).
        let Some(data) = dispatch::remove_device(unsafe { dispatch::key(device.as_raw()) }) else {
            return;
        };
        // SAFETY: forwarding the application's arguments.
        unsafe { (data.fns.destroy_device)(device, allocator) };
        write_report(&data, &data.tracker());
    })
}

/// Writes the device's report, when a report folder is configured.
fn write_report(data: &DeviceData, t: &Tracker) {
    let config = &data.instance.config;
    let Some(dir) = &config.report_dir else {
        return;
    };
    match crate::report::write(dir, data.serial, t, config.png_scale) {
        Ok(path) => messages::info(
            &data.instance,
            &format!("sparse report written to {}", path.display()),
        ),
        Err(e) => eprintln!(
            "[VK_LAYER_PANTHOR_sparse] cannot write the report into {}: {e}",
            dir.display()
        ),
    }
}

unsafe extern "system" fn create_buffer(
    device: vk::Device,
    info: *const vk::BufferCreateInfo<'_>,
    allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Buffer,
) -> vk::Result {
    guard(vk::Result::ERROR_OUT_OF_HOST_MEMORY, || {
        let Some(data) = device_of(device.as_raw()) else {
            return vk::Result::ERROR_DEVICE_LOST;
        };
        // SAFETY: forwarding the application's arguments.
        let r = unsafe { (data.fns.create_buffer)(device, info, allocator, out) };
        // SAFETY: the create info is valid for this call.
        let (flags, size) = unsafe { ((*info).flags, (*info).size) };
        if r == vk::Result::SUCCESS && flags.contains(vk::BufferCreateFlags::SPARSE_BINDING) {
            // SAFETY: `out` holds the new buffer.
            let buffer = unsafe { *out };
            let mut req = vk::MemoryRequirements::default();
            // SAFETY: a live buffer of this device.
            unsafe { (data.fns.get_buffer_memory_requirements)(device, buffer, &mut req) };
            data.tracker()
                .add_resource(Resource::buffer(buffer.as_raw(), flags, size, &req));
        }
        r
    })
}

unsafe extern "system" fn create_image(
    device: vk::Device,
    info: *const vk::ImageCreateInfo<'_>,
    allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Image,
) -> vk::Result {
    guard(vk::Result::ERROR_OUT_OF_HOST_MEMORY, || {
        let Some(data) = device_of(device.as_raw()) else {
            return vk::Result::ERROR_DEVICE_LOST;
        };
        // SAFETY: forwarding the application's arguments.
        let r = unsafe { (data.fns.create_image)(device, info, allocator, out) };
        // SAFETY: the create info is valid for this call.
        let info = unsafe { &*info };
        if r == vk::Result::SUCCESS && info.flags.contains(vk::ImageCreateFlags::SPARSE_BINDING) {
            // SAFETY: `out` holds the new image.
            let image = unsafe { *out };
            let mut req = vk::MemoryRequirements::default();
            let mut sparse = Vec::new();
            // SAFETY: a live image of this device; the two-call idiom with a
            // buffer of the size the first call reports.
            unsafe {
                (data.fns.get_image_memory_requirements)(device, image, &mut req);
                if info.flags.contains(vk::ImageCreateFlags::SPARSE_RESIDENCY) {
                    let mut n = 0;
                    let get = data.fns.get_image_sparse_memory_requirements;
                    get(device, image, &mut n, std::ptr::null_mut());
                    sparse.resize(n as usize, vk::SparseImageMemoryRequirements::default());
                    get(device, image, &mut n, sparse.as_mut_ptr());
                    sparse.truncate(n as usize);
                }
            }
            data.tracker()
                .add_resource(Resource::image(image.as_raw(), info, &req, &sparse));
        }
        r
    })
}

/// Destroys a tracked resource in the model; delivers the warnings.
fn untrack(data: &DeviceData, handle: u64) {
    if handle == 0 {
        return;
    }
    let mut out = Vec::new();
    data.tracker().destroy_resource(handle, &mut out);
    messages::deliver(&data.instance, &out);
}

unsafe extern "system" fn destroy_buffer(
    device: vk::Device,
    buffer: vk::Buffer,
    allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard((), || {
        let Some(data) = device_of(device.as_raw()) else {
            return;
        };
        untrack(&data, buffer.as_raw());
        // SAFETY: forwarding the application's arguments.
        unsafe { (data.fns.destroy_buffer)(device, buffer, allocator) };
    })
}

unsafe extern "system" fn destroy_image(
    device: vk::Device,
    image: vk::Image,
    allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard((), || {
        let Some(data) = device_of(device.as_raw()) else {
            return;
        };
        untrack(&data, image.as_raw());
        // SAFETY: forwarding the application's arguments.
        unsafe { (data.fns.destroy_image)(device, image, allocator) };
    })
}

unsafe extern "system" fn allocate_memory(
    device: vk::Device,
    info: *const vk::MemoryAllocateInfo<'_>,
    allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::DeviceMemory,
) -> vk::Result {
    guard(vk::Result::ERROR_OUT_OF_HOST_MEMORY, || {
        let Some(data) = device_of(device.as_raw()) else {
            return vk::Result::ERROR_DEVICE_LOST;
        };
        // SAFETY: forwarding the application's arguments.
        let r = unsafe { (data.fns.allocate_memory)(device, info, allocator, out) };
        if r == vk::Result::SUCCESS {
            // SAFETY: the allocate info is valid; `out` holds the memory.
            let (memory, size, ty) = unsafe {
                (
                    (*out).as_raw(),
                    (*info).allocation_size,
                    (*info).memory_type_index,
                )
            };
            data.tracker().add_memory(memory, size, ty);
        }
        r
    })
}

unsafe extern "system" fn free_memory(
    device: vk::Device,
    memory: vk::DeviceMemory,
    allocator: *const vk::AllocationCallbacks<'_>,
) {
    guard((), || {
        let Some(data) = device_of(device.as_raw()) else {
            return;
        };
        if !memory.is_null() {
            let mut out = Vec::new();
            data.tracker().free_memory(memory.as_raw(), &mut out);
            messages::deliver(&data.instance, &out);
        }
        // SAFETY: forwarding the application's arguments.
        unsafe { (data.fns.free_memory)(device, memory, allocator) };
    })
}

/// A `(pointer, count)` pair from a Vulkan structure as a slice.
///
/// # Safety
/// `p` must point to `n` valid elements when `n > 0`.
unsafe fn slice<'a, T>(p: *const T, n: u32) -> &'a [T] {
    if n == 0 || p.is_null() {
        &[]
    } else {
        // SAFETY: the caller guarantees `n` valid elements at `p`.
        unsafe { std::slice::from_raw_parts(p, n as usize) }
    }
}

/// Applies every bind of a `vkQueueBindSparse` call to the model.
///
/// # Safety
/// `infos` must be the application's valid bind infos.
unsafe fn track_binds(t: &mut Tracker, infos: &[vk::BindSparseInfo<'_>], out: &mut Vec<Message>) {
    for info in infos {
        // SAFETY: the arrays of a valid VkBindSparseInfo.
        unsafe {
            for bb in slice(info.p_buffer_binds, info.buffer_bind_count) {
                for b in slice(bb.p_binds, bb.bind_count) {
                    t.opaque_bind(bb.buffer.as_raw(), false, &OpaqueBind::from(b), out);
                }
            }
            for ob in slice(info.p_image_opaque_binds, info.image_opaque_bind_count) {
                for b in slice(ob.p_binds, ob.bind_count) {
                    t.opaque_bind(ob.image.as_raw(), true, &OpaqueBind::from(b), out);
                }
            }
            for ib in slice(info.p_image_binds, info.image_bind_count) {
                for b in slice(ib.p_binds, ib.bind_count) {
                    t.image_bind(ib.image.as_raw(), &ImageBind::from(b), out);
                }
            }
        }
    }
}

unsafe extern "system" fn queue_bind_sparse(
    queue: vk::Queue,
    count: u32,
    infos: *const vk::BindSparseInfo<'_>,
    fence: vk::Fence,
) -> vk::Result {
    guard(vk::Result::ERROR_OUT_OF_HOST_MEMORY, || {
        let Some(data) = device_of(queue.as_raw()) else {
            return vk::Result::ERROR_DEVICE_LOST;
        };
        let mut out = Vec::new();
        let mut t = data.tracker();
        t.begin_call();
        // SAFETY: the application's bind infos, valid for this call.
        unsafe { track_binds(&mut t, slice(infos, count), &mut out) };
        let start = Instant::now();
        // SAFETY: forwarding the application's arguments.
        let r = unsafe { (data.fns.queue_bind_sparse)(queue, count, infos, fence) };
        t.end_call(start.elapsed(), r == vk::Result::SUCCESS);
        let config = &data.instance.config;
        if config.report_every > 0 && t.totals.bind_calls % config.report_every == 0 {
            write_report(&data, &t);
        }
        drop(t);
        messages::deliver(&data.instance, &out);
        r
    })
}

unsafe extern "system" fn set_debug_utils_object_name(
    device: vk::Device,
    info: *const vk::DebugUtilsObjectNameInfoEXT<'_>,
) -> vk::Result {
    guard(vk::Result::ERROR_OUT_OF_HOST_MEMORY, || {
        let Some(data) = device_of(device.as_raw()) else {
            return vk::Result::ERROR_DEVICE_LOST;
        };
        // SAFETY: the name info is valid for this call.
        let i = unsafe { &*info };
        if (i.object_type == vk::ObjectType::BUFFER || i.object_type == vk::ObjectType::IMAGE)
            && !i.p_object_name.is_null()
        {
            // SAFETY: a NUL-terminated name.
            let name = unsafe { CStr::from_ptr(i.p_object_name) };
            data.tracker()
                .set_name(i.object_handle, name.to_string_lossy().into_owned());
        }
        match data.fns.set_debug_utils_object_name {
            // SAFETY: forwarding the application's arguments.
            Some(next) => unsafe { next(device, info) },
            None => vk::Result::SUCCESS,
        }
    })
}
