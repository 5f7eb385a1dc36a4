//! What the layer's loader tests share: the loader pointed at our ICD (the
//! virtual Mali, or another driver a child process asks for) and given the
//! layer's manifest (both written into a temp folder, naming the `.so`
//! files cargo built), an instance and device with or without
//! `VK_LAYER_PANTHOR_sparse` (and other layers), a messenger that collects
//! the messages per context, and the report folder.

#![allow(dead_code)]

use std::ffi::{c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ash::vk;

pub const BLOCK: u64 = 64 << 10;
pub const LAYER: &CStr = c"VK_LAYER_PANTHOR_sparse";

#[path = "../../../icd/tests/common/cdylib.rs"]
mod cdylib;
use cdylib::library;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn layer_library() -> PathBuf {
    library(
        "libpanthor_sparse_layer.so",
        "panthor-sparse-layer",
        &manifest_dir().join("src"),
    )
}

pub fn icd_library() -> PathBuf {
    library(
        "libpanthor_vk.so",
        "panthor-vk",
        &manifest_dir().join("../icd/src"),
    )
}

/// The folder of this process's reports.
pub fn report_root() -> PathBuf {
    setup().join("reports")
}

/// Points the loader at our ICD only and adds the layer's manifest (once
/// per process, before any instance); sets the layer's report folder.
/// Returns the temp folder.
pub fn setup() -> PathBuf {
    static ONCE: OnceLock<PathBuf> = OnceLock::new();
    ONCE.get_or_init(|| {
        // Under the target folder (cargo's temp dir for integration tests),
        // not /tmp, where every run would leave one behind.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("panthor-layer-test-{}", std::process::id()));
        let layers = dir.join("layers");
        // A folder of an earlier process with the same id goes first.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&layers).unwrap();
        let icd = dir.join("panthor_vk_icd.json");
        let text = include_str!("../../../manifests/panthor_vk_icd.json.in")
            .replace("@LIBRARY_PATH@", icd_library().to_str().unwrap());
        std::fs::write(&icd, text).unwrap();
        let text = include_str!("../../../manifests/panthor_sparse_layer.json.in")
            .replace("@LIBRARY_PATH@", layer_library().to_str().unwrap());
        std::fs::write(layers.join("panthor_sparse_layer.json"), text).unwrap();
        // Set before any thread reads the environment (the loader reads it
        // when the first instance is created, the layer at each instance).
        // Another driver when a test asks for one (in a child process).
        match std::env::var_os("PANTHOR_LAYER_TEST_ICD") {
            Some(other) => std::env::set_var("VK_ICD_FILENAMES", other),
            None => std::env::set_var("VK_ICD_FILENAMES", &icd),
        }
        // Added to the system's layers (the validation layer stays visible).
        std::env::set_var("VK_ADD_LAYER_PATH", &layers);
        std::env::remove_var("VK_LAYER_PATH");
        std::env::remove_var("VK_INSTANCE_LAYERS");
        std::env::remove_var("VK_LOADER_LAYERS_ENABLE");
        std::env::set_var("PANTHOR_VK_DEVICES", "virtual");
        std::env::set_var("PANTHOR_VK_VIRTUAL_MEMORY_MB", "1024");
        std::env::set_var("PANTHOR_SPARSE_LAYER_REPORT_DIR", dir.join("reports"));
        std::env::set_var("PANTHOR_SPARSE_LAYER_PNG_SCALE", "4");
        dir
    })
    .clone()
}

/// A message the layer sent: severity, `messageIdName`, text, and the
/// objects it names.
#[derive(Clone, Debug)]
pub struct Got {
    pub severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    pub id: String,
    pub text: String,
    pub objects: Vec<(vk::ObjectType, u64)>,
}

pub type Collector = Arc<Mutex<Vec<Got>>>;

/// Held while instances and devices are made or destroyed and while
/// device functions are looked up. The loader (1.3.239) answers a layer's
/// `vkGetDeviceProcAddr` for a name it does not know by walking its list
/// of instances without its lock, so a lookup in one thread can read an
/// instance that another thread is destroying (without layers the loader
/// answers from its dispatch table). Its terminator of
/// `vkSetDebugUtilsObjectNameEXT` walks the same list.
pub static LOADER: Mutex<()> = Mutex::new(());

pub fn loader_lock() -> std::sync::MutexGuard<'static, ()> {
    LOADER.lock().unwrap_or_else(|e| e.into_inner())
}

unsafe extern "system" fn collect(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _ty: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user: *mut c_void,
) -> vk::Bool32 {
    // SAFETY: the layer passes valid callback data; `user` is the
    // collector's `Mutex` that the context keeps alive.
    unsafe {
        let d = &*data;
        let text = |p: *const std::ffi::c_char| {
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        let objects = if d.object_count == 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(d.p_objects, d.object_count as usize)
                .iter()
                .map(|o| (o.object_type, o.object_handle))
                .collect()
        };
        let got = Got {
            severity,
            id: text(d.p_message_id_name),
            text: text(d.p_message),
            objects,
        };
        let sink = &*(user as *const Mutex<Vec<Got>>);
        sink.lock().unwrap().push(got);
    }
    vk::FALSE
}

/// How the context's messenger is attached.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Messages {
    /// No messenger: the layer writes to stderr.
    None,
    /// `vkCreateDebugUtilsMessengerEXT`.
    Created,
    /// Chained into `VkInstanceCreateInfo`.
    Chained,
}

pub struct Ctx {
    pub entry: ash::Entry,
    pub instance: ash::Instance,
    pub pd: vk::PhysicalDevice,
    pub device: ash::Device,
    /// Family 1 (sparse only).
    pub sparse: vk::Queue,
    pub debug: ash::ext::debug_utils::Device,
    pub got: Collector,
    messenger: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
}

impl Ctx {
    /// With the layer and a created messenger.
    pub fn new() -> Ctx {
        Ctx::with(true, Messages::Created)
    }

    pub fn with(layer: bool, messages: Messages) -> Ctx {
        let layers: &[&CStr] = if layer { &[LAYER] } else { &[] };
        Ctx::with_layers(layers, messages)
    }

    /// With the layers named, in that order (the first is nearest the
    /// application).
    pub fn with_layers(layer_names: &[&CStr], messages: Messages) -> Ctx {
        setup();
        let _loader = loader_lock();
        // SAFETY: loading the system loader.
        let entry = unsafe { ash::Entry::load() }.expect("libvulkan.so.1");
        let got: Collector = Arc::new(Mutex::new(Vec::new()));
        let user = Arc::as_ptr(&got) as *mut c_void;
        let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_1);
        let layers: Vec<_> = layer_names.iter().map(|l| l.as_ptr()).collect();
        let exts = [ash::ext::debug_utils::NAME.as_ptr()];
        let messenger_info = vk::DebugUtilsMessengerCreateInfoEXT::default()
            .message_severity(
                vk::DebugUtilsMessageSeverityFlagsEXT::ERROR
                    | vk::DebugUtilsMessageSeverityFlagsEXT::WARNING,
            )
            .message_type(vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION)
            .pfn_user_callback(Some(collect))
            .user_data(user);
        let mut chained = messenger_info;
        let mut info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_extension_names(&exts);
        info = info.enabled_layer_names(&layers);
        if messages == Messages::Chained {
            info = info.push_next(&mut chained);
        }
        // SAFETY: valid create info.
        let instance = unsafe { entry.create_instance(&info, None) }.expect("vkCreateInstance");
        let messenger = (messages == Messages::Created).then(|| {
            let du = ash::ext::debug_utils::Instance::new(&entry, &instance);
            // SAFETY: valid create info.
            let m = unsafe { du.create_debug_utils_messenger(&messenger_info, None) }.unwrap();
            (du, m)
        });
        // SAFETY: valid instance.
        let pd = unsafe { instance.enumerate_physical_devices() }.unwrap()[0];
        let prio = [1.0f32];
        let queues = [
            vk::DeviceQueueCreateInfo::default()
                .queue_family_index(0)
                .queue_priorities(&prio),
            vk::DeviceQueueCreateInfo::default()
                .queue_family_index(1)
                .queue_priorities(&prio),
        ];
        // SAFETY: valid physical device.
        let features = unsafe { instance.get_physical_device_features(pd) };
        let info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .enabled_features(&features);
        // SAFETY: valid create info.
        let device = unsafe { instance.create_device(pd, &info, None) }.expect("vkCreateDevice");
        // SAFETY: the queue was created above.
        let sparse = unsafe { device.get_device_queue(1, 0) };
        let debug = ash::ext::debug_utils::Device::new(&instance, &device);
        Ctx {
            entry,
            instance,
            pd,
            device,
            sparse,
            debug,
            got,
            messenger,
        }
    }

    /// The messages so far, and forgets them.
    pub fn take(&self) -> Vec<Got> {
        std::mem::take(&mut *self.got.lock().unwrap())
    }

    /// The `messageIdName`s so far, and forgets them.
    pub fn take_ids(&self) -> Vec<String> {
        self.take().into_iter().map(|g| g.id).collect()
    }

    /// This layer's `messageIdName`s so far (other layers' are dropped),
    /// and forgets them.
    pub fn take_ours(&self) -> Vec<String> {
        self.take_ids()
            .into_iter()
            .filter(|id| id.starts_with("PANTHOR-sparse-"))
            .collect()
    }

    pub fn memory(&self, size: u64) -> vk::DeviceMemory {
        let info = vk::MemoryAllocateInfo::default()
            .allocation_size(size)
            .memory_type_index(0);
        // SAFETY: valid allocate info.
        unsafe { self.device.allocate_memory(&info, None) }.expect("vkAllocateMemory")
    }

    pub fn free(&self, memory: vk::DeviceMemory) {
        // SAFETY: the memory is ours and idle.
        unsafe { self.device.free_memory(memory, None) };
    }

    pub fn name<H: vk::Handle>(&self, object: H, name: &CStr) {
        let info = vk::DebugUtilsObjectNameInfoEXT::default()
            .object_handle(object)
            .object_name(name);
        // The loader's terminator of this call walks its instance list too.
        let _loader = loader_lock();
        // SAFETY: a live object of this device.
        unsafe { self.debug.set_debug_utils_object_name(&info) }.expect("object name");
    }

    /// A sparse buffer of `blocks` blocks, with residency, aliased or not.
    pub fn sparse_buffer(&self, blocks: u64, aliased: bool) -> vk::Buffer {
        let mut flags =
            vk::BufferCreateFlags::SPARSE_BINDING | vk::BufferCreateFlags::SPARSE_RESIDENCY;
        if aliased {
            flags |= vk::BufferCreateFlags::SPARSE_ALIASED;
        }
        let info = vk::BufferCreateInfo::default()
            .size(blocks * BLOCK)
            .usage(vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST)
            .flags(flags);
        // SAFETY: valid create info.
        unsafe { self.device.create_buffer(&info, None) }.expect("sparse vkCreateBuffer")
    }

    pub fn destroy_buffer(&self, buffer: vk::Buffer) {
        // SAFETY: the buffer is ours and idle.
        unsafe { self.device.destroy_buffer(buffer, None) };
    }

    /// A 2D sparse-residency image.
    pub fn sparse_image(
        &self,
        format: vk::Format,
        width: u32,
        height: u32,
        mips: u32,
        layers: u32,
    ) -> vk::Image {
        let info = vk::ImageCreateInfo::default()
            .flags(vk::ImageCreateFlags::SPARSE_BINDING | vk::ImageCreateFlags::SPARSE_RESIDENCY)
            .image_type(vk::ImageType::TYPE_2D)
            .format(format)
            .extent(vk::Extent3D {
                width,
                height,
                depth: 1,
            })
            .mip_levels(mips)
            .array_layers(layers)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(vk::ImageUsageFlags::TRANSFER_SRC | vk::ImageUsageFlags::TRANSFER_DST)
            .initial_layout(vk::ImageLayout::UNDEFINED);
        // SAFETY: valid create info.
        unsafe { self.device.create_image(&info, None) }.expect("sparse vkCreateImage")
    }

    pub fn image_requirements(
        &self,
        image: vk::Image,
    ) -> (
        vk::MemoryRequirements,
        Vec<vk::SparseImageMemoryRequirements>,
    ) {
        // SAFETY: a live image of this device.
        unsafe {
            (
                self.device.get_image_memory_requirements(image),
                self.device.get_image_sparse_memory_requirements(image),
            )
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

    /// One `vkQueueBindSparse` on the sparse queue, waited for.
    pub fn bind_sparse(&self, info: &vk::BindSparseInfo<'_>) -> vk::Result {
        let fence = self.fence();
        // SAFETY: valid bind info; we wait before returning.
        unsafe {
            let r = self
                .device
                .queue_bind_sparse(self.sparse, std::slice::from_ref(info), fence);
            if r.is_ok() {
                self.device
                    .wait_for_fences(&[fence], true, 10_000_000_000)
                    .expect("bind fence");
            }
            self.device.destroy_fence(fence, None);
            r.err().unwrap_or(vk::Result::SUCCESS)
        }
    }

    /// Binds `binds` of `buffer`.
    pub fn bind(&self, buffer: vk::Buffer, binds: &[vk::SparseMemoryBind]) -> vk::Result {
        let bb = [vk::SparseBufferMemoryBindInfo::default()
            .buffer(buffer)
            .binds(binds)];
        self.bind_sparse(&vk::BindSparseInfo::default().buffer_binds(&bb))
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        let _loader = loader_lock();
        // SAFETY: teardown in reverse order of creation, device idle first.
        unsafe {
            let _ = self.device.device_wait_idle();
            self.device.destroy_device(None);
            if let Some((du, m)) = self.messenger.take() {
                du.destroy_debug_utils_messenger(m, None);
            }
            self.instance.destroy_instance(None);
        }
    }
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

pub fn unbind(offset: u64, size: u64) -> vk::SparseMemoryBind {
    bind(offset, size, vk::DeviceMemory::null(), 0)
}

/// The report entry of the resource labelled `label` (written when its
/// device was destroyed), and the folder it is in.
pub fn find_report(label: &str) -> (panthor_sparse_layer::report::ResourceReport, PathBuf) {
    let root = report_root();
    for dir in std::fs::read_dir(&root).expect("report folder").flatten() {
        let summary = dir.path().join("summary.json");
        let Ok(text) = std::fs::read_to_string(&summary) else {
            continue;
        };
        let rep: panthor_sparse_layer::report::DeviceReport =
            serde_json::from_str(&text).expect("summary.json parses");
        if let Some(r) = rep.resources.into_iter().find(|r| r.label == label) {
            return (r, dir.path());
        }
    }
    panic!("no report names {label} under {}", root.display());
}

/// A decoded RGBA PNG: width, height, pixels.
pub struct Png {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl Png {
    pub fn load(path: &Path) -> Png {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut reader = png::Decoder::new(file).read_info().expect("PNG header");
        let mut rgba = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut rgba).expect("PNG data");
        assert_eq!(info.color_type, png::ColorType::Rgba);
        Png {
            width: info.width,
            height: info.height,
            rgba,
        }
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        self.rgba[i..i + 4].try_into().unwrap()
    }

    /// The colour of block (bx, by) at `scale` pixels per block, checked
    /// to be uniform over the block's square.
    pub fn block(&self, bx: u32, by: u32, scale: u32) -> [u8; 4] {
        let c = self.pixel(bx * scale, by * scale);
        for y in by * scale..(by + 1) * scale {
            for x in bx * scale..(bx + 1) * scale {
                assert_eq!(self.pixel(x, y), c, "block ({bx}, {by}) is not uniform");
            }
        }
        c
    }
}

pub const CLEAR: [u8; 4] = [0, 0, 0, 0];
