//! What the loader tests share: an instance that loads only our ICD (the
//! manifest is written next to the test binary, pointing at the
//! `libpanthor_vk.so` cargo built), a device with both queue families,
//! buffers with memory, and one-shot command submission.

#![allow(dead_code)]

use std::ffi::{c_void, CStr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use ash::vk;

pub const BLOCK: u64 = 64 << 10;

/// What the tests' buffers are used for: copies, shader storage, indirect
/// dispatch arguments and texel buffer views.
pub const BUFFER_USAGE: vk::BufferUsageFlags = vk::BufferUsageFlags::from_raw(
    vk::BufferUsageFlags::TRANSFER_SRC.as_raw()
        | vk::BufferUsageFlags::TRANSFER_DST.as_raw()
        | vk::BufferUsageFlags::STORAGE_BUFFER.as_raw()
        | vk::BufferUsageFlags::INDIRECT_BUFFER.as_raw()
        | vk::BufferUsageFlags::UNIFORM_TEXEL_BUFFER.as_raw()
        | vk::BufferUsageFlags::STORAGE_TEXEL_BUFFER.as_raw(),
);

mod cdylib;
mod images;
mod kernel;
// Not every test binary uses every helper.
#[allow(unused_imports)]
pub use images::*;
#[allow(unused_imports)]
pub use kernel::*;

/// The ICD cargo built, checked against every source its build used.
fn library() -> PathBuf {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    cdylib::library("libpanthor_vk.so", "panthor-vk", &src)
}

/// Points the loader at our ICD only (once per process, before any load).
pub fn use_our_icd() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("panthor-vk-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = dir.join("panthor_vk_icd.json");
        let text = include_str!("../../../manifests/panthor_vk_icd.json.in")
            .replace("@LIBRARY_PATH@", library().to_str().unwrap());
        std::fs::write(&manifest, text).unwrap();
        // Safe here: set before any thread reads the environment (the
        // loader reads it when the first instance is created).
        std::env::set_var("VK_ICD_FILENAMES", &manifest);
        std::env::set_var("PANTHOR_VK_DEVICES", "virtual");
        std::env::set_var("PANTHOR_VK_VIRTUAL_MEMORY_MB", "1024");
    });
}

pub static VALIDATION_ERRORS: AtomicUsize = AtomicUsize::new(0);

/// Held while instances and devices are made or destroyed. When the ICD
/// returns NULL for a device command (the core commands it does not
/// implement yet, e.g. vkCmdDraw), the loader (1.3.239) looks the name up
/// again by walking its list of instances without its lock, so a test
/// creating a device can read an instance another test is destroying.
static LOADER: Mutex<()> = Mutex::new(());

pub fn loader_lock() -> MutexGuard<'static, ()> {
    LOADER.lock().unwrap_or_else(|e| e.into_inner())
}

unsafe extern "system" fn count_errors(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _ty: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    _user: *mut c_void,
) -> vk::Bool32 {
    // SAFETY: the loader passes valid callback data.
    let msg = unsafe { CStr::from_ptr((*data).p_message) }.to_string_lossy();
    if severity.contains(vk::DebugUtilsMessageSeverityFlagsEXT::ERROR) {
        VALIDATION_ERRORS.fetch_add(1, Ordering::SeqCst);
        eprintln!("VALIDATION ERROR: {msg}");
    } else if severity.contains(vk::DebugUtilsMessageSeverityFlagsEXT::WARNING) {
        eprintln!("validation warning: {msg}");
    }
    vk::FALSE
}

pub struct Ctx {
    pub entry: ash::Entry,
    pub instance: ash::Instance,
    pub pd: vk::PhysicalDevice,
    pub device: ash::Device,
    /// Family 0 (transfer + sparse), queue 0 and 1; family 1 (sparse only).
    pub universal: vk::Queue,
    pub universal2: vk::Queue,
    pub sparse: vk::Queue,
    pub pool: vk::CommandPool,
    pub timeline: ash::khr::timeline_semaphore::Device,
    messenger: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    /// Buffers and memory made by the helpers below, destroyed with the
    /// device (so tests under validation leak nothing).
    owned: Mutex<Owned>,
}

#[derive(Default)]
struct Owned {
    buffers: Vec<vk::Buffer>,
    memories: Vec<vk::DeviceMemory>,
}

impl Ctx {
    pub fn new() -> Ctx {
        Ctx::with_validation(false)
    }

    /// With `VK_LAYER_KHRONOS_validation` and a messenger that counts errors.
    pub fn with_validation(validation: bool) -> Ctx {
        Ctx::with_extensions(validation, &[])
    }

    /// As [`with_validation`](Self::with_validation), with more device
    /// extensions enabled.
    pub fn with_extensions(validation: bool, extra: &[&std::ffi::CStr]) -> Ctx {
        Ctx::with_features(validation, extra, None)
    }

    /// As [`with_extensions`](Self::with_extensions), with one more feature
    /// struct in the device's create info.
    pub fn with_features(
        validation: bool,
        extra: &[&std::ffi::CStr],
        more: Option<&mut dyn vk::ExtendsDeviceCreateInfo>,
    ) -> Ctx {
        use_our_icd();
        let _loader = loader_lock();
        // SAFETY: loading the system loader.
        let entry = unsafe { ash::Entry::load() }.expect("libvulkan.so.1");
        let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_1);
        let layers = [c"VK_LAYER_KHRONOS_validation".as_ptr()];
        let exts = [ash::ext::debug_utils::NAME.as_ptr()];
        let mut info = vk::InstanceCreateInfo::default().application_info(&app);
        if validation {
            info = info
                .enabled_layer_names(&layers)
                .enabled_extension_names(&exts);
        }
        // SAFETY: valid create info.
        let instance = unsafe { entry.create_instance(&info, None) }.expect("vkCreateInstance");
        let messenger = validation.then(|| {
            let du = ash::ext::debug_utils::Instance::new(&entry, &instance);
            let info = vk::DebugUtilsMessengerCreateInfoEXT::default()
                .message_severity(
                    vk::DebugUtilsMessageSeverityFlagsEXT::ERROR
                        | vk::DebugUtilsMessageSeverityFlagsEXT::WARNING,
                )
                .message_type(
                    vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                        | vk::DebugUtilsMessageTypeFlagsEXT::GENERAL,
                )
                .pfn_user_callback(Some(count_errors));
            // SAFETY: valid create info.
            let m = unsafe { du.create_debug_utils_messenger(&info, None) }.unwrap();
            (du, m)
        });
        // SAFETY: valid instance.
        let pd = unsafe { instance.enumerate_physical_devices() }.unwrap()[0];
        // SAFETY: valid physical device (the count must be known before
        // vkCreateDevice names a family, as validation checks).
        let families = unsafe { instance.get_physical_device_queue_family_properties(pd) };
        assert_eq!(families.len(), 2);
        let prio = [1.0f32, 1.0];
        let queues = [
            vk::DeviceQueueCreateInfo::default()
                .queue_family_index(0)
                .queue_priorities(&prio),
            vk::DeviceQueueCreateInfo::default()
                .queue_family_index(1)
                .queue_priorities(&prio[..1]),
        ];
        // SAFETY: valid physical device.
        let features = unsafe { instance.get_physical_device_features(pd) };
        let dev_exts: Vec<_> = [
            ash::khr::timeline_semaphore::NAME,
            ash::khr::synchronization2::NAME,
            ash::ext::host_query_reset::NAME,
            ash::ext::calibrated_timestamps::NAME,
        ]
        .iter()
        .chain(extra)
        .map(|n| n.as_ptr())
        .collect();
        let mut tl =
            vk::PhysicalDeviceTimelineSemaphoreFeatures::default().timeline_semaphore(true);
        let mut sync2 =
            vk::PhysicalDeviceSynchronization2Features::default().synchronization2(true);
        let mut reset = vk::PhysicalDeviceHostQueryResetFeatures::default().host_query_reset(true);
        let info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .enabled_extension_names(&dev_exts)
            .enabled_features(&features)
            .push_next(&mut tl)
            .push_next(&mut sync2)
            .push_next(&mut reset);
        let info = match more {
            Some(f) => info.push_next(f),
            None => info,
        };
        // SAFETY: valid create info.
        let device = unsafe { instance.create_device(pd, &info, None) }.expect("vkCreateDevice");
        // SAFETY: the queues were created above.
        let (universal, universal2, sparse) = unsafe {
            (
                device.get_device_queue(0, 0),
                device.get_device_queue(0, 1),
                device.get_device_queue(1, 0),
            )
        };
        let pool_info = vk::CommandPoolCreateInfo::default().queue_family_index(0);
        // SAFETY: valid create info.
        let pool = unsafe { device.create_command_pool(&pool_info, None) }.unwrap();
        let timeline = ash::khr::timeline_semaphore::Device::new(&instance, &device);
        Ctx {
            entry,
            instance,
            pd,
            device,
            universal,
            universal2,
            sparse,
            pool,
            timeline,
            messenger,
            owned: Mutex::default(),
        }
    }

    pub fn memory(&self, size: u64) -> vk::DeviceMemory {
        let info = vk::MemoryAllocateInfo::default()
            .allocation_size(size)
            .memory_type_index(0);
        // SAFETY: valid allocate info.
        let memory = unsafe { self.device.allocate_memory(&info, None) }.expect("vkAllocateMemory");
        self.owned().memories.push(memory);
        memory
    }

    fn owned(&self) -> MutexGuard<'_, Owned> {
        self.owned.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Destroys a buffer made by `dense` or `sparse_buffer` before the device.
    pub fn destroy_buffer(&self, buffer: vk::Buffer) {
        self.owned().buffers.retain(|&b| b != buffer);
        // SAFETY: the caller's work with it is done; it leaves our list.
        unsafe { self.device.destroy_buffer(buffer, None) };
    }

    /// Frees memory made by `memory` or `dense` before the device.
    pub fn free_memory(&self, memory: vk::DeviceMemory) {
        self.owned().memories.retain(|&m| m != memory);
        // SAFETY: the caller's work with it is done; it leaves our list.
        unsafe { self.device.free_memory(memory, None) };
    }

    /// A buffer bound to its own memory, plus a CPU pointer to it.
    pub fn dense(&self, size: u64) -> Dense {
        let info = vk::BufferCreateInfo::default()
            .size(size)
            .usage(BUFFER_USAGE);
        // SAFETY: valid create info; then bind and map what was made.
        unsafe {
            let buffer = self.device.create_buffer(&info, None).unwrap();
            self.owned().buffers.push(buffer);
            let req = self.device.get_buffer_memory_requirements(buffer);
            let memory = self.memory(req.size);
            self.device.bind_buffer_memory(buffer, memory, 0).unwrap();
            let ptr = self
                .device
                .map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
                .unwrap() as *mut u8;
            Dense {
                buffer,
                memory,
                ptr,
                size,
            }
        }
    }

    /// A sparse buffer (binding + residency + aliased) of `size` bytes.
    pub fn sparse_buffer(&self, size: u64) -> vk::Buffer {
        let info = vk::BufferCreateInfo::default()
            .size(size)
            .usage(BUFFER_USAGE)
            .flags(
                vk::BufferCreateFlags::SPARSE_BINDING
                    | vk::BufferCreateFlags::SPARSE_RESIDENCY
                    | vk::BufferCreateFlags::SPARSE_ALIASED,
            );
        // SAFETY: valid create info.
        let buffer =
            unsafe { self.device.create_buffer(&info, None) }.expect("sparse vkCreateBuffer");
        self.owned().buffers.push(buffer);
        buffer
    }

    /// Records with `f` and runs on the universal queue; waits.
    pub fn run(&self, f: impl FnOnce(vk::CommandBuffer)) {
        let cb = self.record(f);
        self.submit_wait(self.universal, &[cb]);
        // SAFETY: the command buffer has completed.
        unsafe { self.device.free_command_buffers(self.pool, &[cb]) };
    }

    pub fn record(&self, f: impl FnOnce(vk::CommandBuffer)) -> vk::CommandBuffer {
        let info = vk::CommandBufferAllocateInfo::default()
            .command_pool(self.pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: valid allocate info; recording follows the rules.
        unsafe {
            let cb = self.device.allocate_command_buffers(&info).unwrap()[0];
            self.device
                .begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
                .unwrap();
            f(cb);
            self.device
                .end_command_buffer(cb)
                .expect("vkEndCommandBuffer");
            cb
        }
    }

    pub fn submit_wait(&self, queue: vk::Queue, cbs: &[vk::CommandBuffer]) {
        let fence = self.fence();
        let submit = vk::SubmitInfo::default().command_buffers(cbs);
        // SAFETY: valid submission; we wait before returning.
        unsafe {
            self.device
                .queue_submit(queue, &[submit], fence)
                .expect("vkQueueSubmit");
            self.device
                .wait_for_fences(&[fence], true, 10_000_000_000)
                .expect("vkWaitForFences");
            self.device.destroy_fence(fence, None);
        }
    }

    pub fn fence(&self) -> vk::Fence {
        // SAFETY: valid create info.
        unsafe {
            self.device
                .create_fence(&vk::FenceCreateInfo::default(), None)
        }
        .unwrap()
    }

    pub fn semaphore(&self) -> vk::Semaphore {
        // SAFETY: valid create info.
        unsafe {
            self.device
                .create_semaphore(&vk::SemaphoreCreateInfo::default(), None)
        }
        .unwrap()
    }

    pub fn timeline_semaphore(&self, initial: u64) -> vk::Semaphore {
        let mut ty = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(initial);
        let info = vk::SemaphoreCreateInfo::default().push_next(&mut ty);
        // SAFETY: valid create info.
        unsafe { self.device.create_semaphore(&info, None) }.unwrap()
    }

    /// Binds `binds` of `buffer` on `queue` and waits with a fence.
    pub fn bind(
        &self,
        queue: vk::Queue,
        buffer: vk::Buffer,
        binds: &[vk::SparseMemoryBind],
    ) -> vk::Result {
        let fence = self.fence();
        let bb = [vk::SparseBufferMemoryBindInfo::default()
            .buffer(buffer)
            .binds(binds)];
        let info = vk::BindSparseInfo::default().buffer_binds(&bb);
        // SAFETY: valid bind info; we wait before returning.
        unsafe {
            let r = self.device.queue_bind_sparse(queue, &[info], fence);
            if r.is_ok() {
                self.device
                    .wait_for_fences(&[fence], true, 10_000_000_000)
                    .expect("bind fence");
            }
            self.device.destroy_fence(fence, None);
            r.err().unwrap_or(vk::Result::SUCCESS)
        }
    }

    pub fn copy(
        &self,
        cb: vk::CommandBuffer,
        src: vk::Buffer,
        so: u64,
        dst: vk::Buffer,
        d: u64,
        size: u64,
    ) {
        let region = vk::BufferCopy {
            src_offset: so,
            dst_offset: d,
            size,
        };
        // SAFETY: recording into a command buffer in the recording state.
        unsafe { self.device.cmd_copy_buffer(cb, src, dst, &[region]) };
    }

    /// A transfer -> transfer execution and memory barrier.
    pub fn transfer_barrier(&self, cb: vk::CommandBuffer) {
        let m = vk::MemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .dst_access_mask(vk::AccessFlags::TRANSFER_READ | vk::AccessFlags::TRANSFER_WRITE);
        // SAFETY: recording into a command buffer in the recording state.
        unsafe {
            self.device.cmd_pipeline_barrier(
                cb,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::TRANSFER,
                vk::DependencyFlags::empty(),
                &[m],
                &[],
                &[],
            )
        };
    }

    pub fn validation_errors(&self) -> usize {
        VALIDATION_ERRORS.load(Ordering::SeqCst)
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        let _loader = loader_lock();
        // SAFETY: teardown in reverse order of creation, device idle first.
        unsafe {
            let _ = self.device.device_wait_idle();
            let owned = std::mem::take(&mut *self.owned());
            for b in owned.buffers {
                self.device.destroy_buffer(b, None);
            }
            for m in owned.memories {
                self.device.free_memory(m, None);
            }
            self.device.destroy_command_pool(self.pool, None);
            self.device.destroy_device(None);
            if let Some((du, m)) = self.messenger.take() {
                du.destroy_debug_utils_messenger(m, None);
            }
            self.instance.destroy_instance(None);
        }
    }
}

pub struct Dense {
    pub buffer: vk::Buffer,
    pub memory: vk::DeviceMemory,
    pub ptr: *mut u8,
    pub size: u64,
}

impl Dense {
    pub fn write(&self, offset: u64, data: &[u8]) {
        assert!(offset + data.len() as u64 <= self.size);
        // SAFETY: inside the mapping (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.add(offset as usize), data.len())
        };
    }

    pub fn read(&self, offset: u64, len: usize) -> Vec<u8> {
        assert!(offset + len as u64 <= self.size);
        let mut out = vec![0; len];
        // SAFETY: inside the mapping (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.add(offset as usize), out.as_mut_ptr(), len)
        };
        out
    }
}

/// A byte pattern without long runs, different per seed.
pub fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as u8
        })
        .collect()
}

pub fn bind(
    offset: u64,
    size: u64,
    memory: vk::DeviceMemory,
    memory_offset: u64,
) -> vk::SparseMemoryBind {
    vk::SparseMemoryBind {
        resource_offset: offset,
        size,
        memory,
        memory_offset,
        flags: vk::SparseMemoryBindFlags::empty(),
    }
}
