//! `VkPhysicalDevice`: what a panthor device is and can do, as the
//! application queries it. Everything reported is true of this driver on
//! this device: features it cannot honour stay false.

use std::ffi::c_char;

use ash::vk;
use panthor_uapi::device::DrmVersion;
use panthor_uapi::uapi::{drm_panthor_gpu_info, version};

use crate::backend::{virtual_memory_bytes, Adapter, File};
use crate::guard::{guard, guard_void, ErrnoExt, VkResult};
use crate::handle;
use crate::instance::{extension_properties, DRIVER_API_VERSION};
use crate::{chain, external_memory, fill_out};

/// ARM's PCI vendor id (what Mali drivers report as `vendorID`).
pub const VENDOR_ID_ARM: u32 = 0x13b5;

/// Queue family 0: transfer work and sparse binding. COMPUTE joins it once
/// compute pipelines run.
pub const FAMILY_UNIVERSAL: u32 = 0;
/// Queue family 1: sparse binding only.
pub const FAMILY_SPARSE: u32 = 1;
/// Queues per family (each universal queue is one panthor group).
pub const UNIVERSAL_QUEUES: u32 = 2;
pub const SPARSE_QUEUES: u32 = 1;

/// Device extensions we support, in the order we list them.
pub const DEVICE_EXTENSIONS_ALL: &[&str] = &[
    "VK_KHR_bind_memory2",
    "VK_KHR_dedicated_allocation",
    "VK_KHR_external_fence",
    "VK_KHR_external_fence_fd",
    "VK_KHR_external_memory",
    "VK_KHR_external_memory_fd",
    "VK_KHR_external_semaphore",
    "VK_KHR_external_semaphore_fd",
    "VK_KHR_get_memory_requirements2",
    "VK_KHR_image_format_list",
    "VK_KHR_maintenance1",
    "VK_KHR_maintenance4",
    "VK_KHR_shader_atomic_int64",
    "VK_KHR_synchronization2",
    "VK_KHR_timeline_semaphore",
    "VK_EXT_calibrated_timestamps",
    "VK_EXT_external_memory_dma_buf",
    "VK_EXT_host_query_reset",
    "VK_EXT_image_drm_format_modifier",
    "VK_EXT_shader_image_atomic_int64",
];

/// Extensions only the shader cores back (the virtual Mali).
const SHADER_EXTENSIONS: &[&str] = &[
    "VK_KHR_shader_atomic_int64",
    "VK_EXT_shader_image_atomic_int64",
];

/// Sparse VA granule: one 64 KiB block per bind (the standard block size).
pub const SPARSE_BLOCK: u64 = 64 << 10;

/// The FNV-1a offset basis, the usual seed of [`fnv1a`].
pub const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes` from `seed`: a stable hash (unlike std's hashers,
/// the same in every build), for UUIDs and pipeline cache keys.
pub fn fnv1a(seed: u64, bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes
        .into_iter()
        .fold(seed, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// A stable UUID for this driver build on GPU model `gpu_id`, for `what`
/// (pipeline caches, device identity).
pub fn driver_uuid(gpu_id: u32, what: &[u8]) -> [u8; vk::UUID_SIZE] {
    // FNV-1a over (driver version, GPU id, purpose), twice with different
    // seeds for the two halves.
    let fnv = |seed: u64| {
        let parts: [&[u8]; 3] = [
            env!("CARGO_PKG_VERSION").as_bytes(),
            &gpu_id.to_le_bytes(),
            what,
        ];
        fnv1a(seed, parts.iter().flat_map(|p| p.iter().copied()))
    };
    let mut out = [0u8; vk::UUID_SIZE];
    out[..8].copy_from_slice(&fnv(FNV_BASIS).to_le_bytes());
    out[8..].copy_from_slice(&fnv(0x8422_2325_cbf2_9ce4).to_le_bytes());
    out
}

pub struct PhysicalDevice {
    pub adapter: Adapter,
    /// A file kept open for queries.
    pub file: File,
    pub drm: DrmVersion,
    pub gpu: drm_panthor_gpu_info,
    /// Ticks per second of the GPU timestamp counter (`STORE_STATE`
    /// samples it); 0 when the kernel does not say, and then queues report
    /// no timestamp support.
    pub timestamp_frequency: u64,
    /// The instance's effective API version (devices answer no newer
    /// commands than it) and its enabled extensions.
    pub instance_version: u32,
    pub instance_extensions: Vec<&'static str>,
    /// `MAP_SPARSE` exists (panthor 1.9): unbound sparse ranges read the
    /// dummy page instead of faulting, which residency needs.
    pub sparse_residency: bool,
    pub name: String,
    pub heap_size: u64,
}

impl PhysicalDevice {
    /// Opens the adapter and reads what it is.
    pub fn probe(
        adapter: Adapter,
        instance_version: u32,
        instance_extensions: Vec<&'static str>,
    ) -> VkResult<PhysicalDevice> {
        let file = adapter.open()?;
        let drm = file.version().vk("DRM_IOCTL_VERSION")?;
        let gpu = file.gpu_info().vk("DEV_QUERY(GPU_INFO)")?;
        let sparse_residency = drm.is_panthor_at_least(version::MINOR_MAP_SPARSE);
        let timestamp_frequency = match file.timestamp_info() {
            Ok(t) => t.timestamp_frequency,
            Err(e) => {
                log::warn!("DEV_QUERY(TIMESTAMP_INFO): {e}; timestamps are not offered");
                0
            }
        };
        let model = model_name(&gpu);
        let name = if adapter.is_virtual() {
            format!(
                "{model} (virtual Mali, panthor {}.{})",
                drm.major, drm.minor
            )
        } else {
            format!("{model} (panthor {}.{})", drm.major, drm.minor)
        };
        let heap_size = if adapter.is_virtual() {
            // The simulator's memory, less what page tables and the kernel's
            // own BOs need (an eighth, generously).
            virtual_memory_bytes() / 8 * 7
        } else {
            host_memory_bytes() / 4 * 3
        };
        Ok(PhysicalDevice {
            adapter,
            file,
            drm,
            gpu,
            timestamp_frequency,
            instance_version,
            instance_extensions,
            sparse_residency,
            name,
            heap_size,
        })
    }

    /// # Safety
    /// `h` is null or a live physical device of ours.
    pub unsafe fn from_handle<'a>(h: vk::PhysicalDevice) -> VkResult<&'a PhysicalDevice> {
        // SAFETY: forwarded contract.
        unsafe { handle::dispatchable(h) }
    }

    /// The version a device of this physical device runs at.
    pub fn device_version(&self) -> u32 {
        self.instance_version.min(DRIVER_API_VERSION)
    }

    pub fn properties(&self) -> vk::PhysicalDeviceProperties {
        let mut p = vk::PhysicalDeviceProperties {
            api_version: DRIVER_API_VERSION,
            driver_version: driver_version(),
            vendor_id: VENDOR_ID_ARM,
            device_id: self.gpu.gpu_id >> 16,
            device_type: if self.adapter.is_virtual() {
                // It runs on the host's CPUs.
                vk::PhysicalDeviceType::CPU
            } else {
                vk::PhysicalDeviceType::INTEGRATED_GPU
            },
            limits: self.limits(),
            sparse_properties: self.sparse_properties(),
            ..Default::default()
        };
        copy_str(&mut p.device_name, &self.name);
        p.pipeline_cache_uuid = self.uuid(b"cache");
        p
    }

    fn sparse_properties(&self) -> vk::PhysicalDeviceSparseProperties {
        vk::PhysicalDeviceSparseProperties {
            residency_standard2_d_block_shape: vk::TRUE,
            residency_standard2_d_multisample_block_shape: vk::TRUE,
            residency_standard3_d_block_shape: vk::TRUE,
            // Levels smaller than a block go to the mip tail; a level that
            // is at least one block but not a multiple of it is still bound
            // block by block (partial blocks at its edge).
            residency_aligned_mip_size: vk::FALSE,
            // Unbound blocks map the per-file dummy page: reads return
            // whatever was last written there, not zero.
            residency_non_resident_strict: vk::FALSE,
        }
    }

    fn limits(&self) -> vk::PhysicalDeviceLimits {
        // Sizes follow what the transfer paths and the shader core handle;
        // graphics limits are the spec's minimums (no graphics queue).
        vk::PhysicalDeviceLimits {
            max_image_dimension1_d: 16384,
            max_image_dimension2_d: 16384,
            max_image_dimension3_d: 2048,
            max_image_dimension_cube: 16384,
            max_image_array_layers: 2048,
            max_texel_buffer_elements: 1 << 27,
            max_uniform_buffer_range: 65536,
            max_storage_buffer_range: 1 << 27,
            max_push_constants_size: crate::pipeline_layout::MAX_PUSH_CONSTANTS,
            max_memory_allocation_count: 1 << 20,
            max_sampler_allocation_count: 4000,
            buffer_image_granularity: 1,
            sparse_address_space_size: self.sparse_address_space(),
            max_bound_descriptor_sets: crate::pipeline_layout::MAX_SETS,
            max_per_stage_descriptor_samplers: 1024,
            max_per_stage_descriptor_uniform_buffers: 1024,
            max_per_stage_descriptor_storage_buffers: 1024,
            max_per_stage_descriptor_sampled_images: 1024,
            max_per_stage_descriptor_storage_images: 1024,
            max_per_stage_descriptor_input_attachments: 4,
            max_per_stage_resources: 8192,
            max_descriptor_set_samplers: 8192,
            max_descriptor_set_uniform_buffers: 8192,
            max_descriptor_set_uniform_buffers_dynamic: 8,
            max_descriptor_set_storage_buffers: 8192,
            max_descriptor_set_storage_buffers_dynamic: 4,
            max_descriptor_set_sampled_images: 8192,
            max_descriptor_set_storage_images: 8192,
            max_descriptor_set_input_attachments: 4,
            max_vertex_input_attributes: 16,
            max_vertex_input_bindings: 16,
            max_vertex_input_attribute_offset: 2047,
            max_vertex_input_binding_stride: 2048,
            max_vertex_output_components: 64,
            max_fragment_input_components: 64,
            max_fragment_output_attachments: 4,
            max_fragment_combined_output_resources: 4,
            max_compute_shared_memory_size: 32768,
            max_compute_work_group_count: [65535; 3],
            // WG_SIZE holds 10 bits per dimension.
            max_compute_work_group_invocations: 1024,
            max_compute_work_group_size: [1024, 1024, 64],
            sub_pixel_precision_bits: 4,
            sub_texel_precision_bits: 4,
            mipmap_precision_bits: 4,
            max_draw_indexed_index_value: u32::MAX,
            max_draw_indirect_count: 1,
            max_sampler_lod_bias: 2.0,
            max_sampler_anisotropy: 1.0,
            max_viewports: 1,
            max_viewport_dimensions: [4096, 4096],
            viewport_bounds_range: [-8192.0, 8191.0],
            min_memory_map_alignment: 4096,
            min_texel_buffer_offset_alignment: 64,
            min_uniform_buffer_offset_alignment: 64,
            min_storage_buffer_offset_alignment: 64,
            max_texel_offset: 7,
            min_texel_offset: -8,
            max_texel_gather_offset: 7,
            min_texel_gather_offset: -8,
            max_framebuffer_width: 4096,
            max_framebuffer_height: 4096,
            max_framebuffer_layers: 256,
            max_color_attachments: 4,
            max_sample_mask_words: 1,
            max_clip_distances: 0,
            max_cull_distances: 0,
            max_combined_clip_and_cull_distances: 0,
            discrete_queue_priorities: 2,
            point_size_range: [1.0, 1.0],
            line_width_range: [1.0, 1.0],
            // 4 bytes: fills, updates and copies move whole words.
            optimal_buffer_copy_offset_alignment: 4,
            optimal_buffer_copy_row_pitch_alignment: 4,
            non_coherent_atom_size: 64,
            timestamp_period: self.timestamp_period(),
            // The universal queue (COMPUTE) writes STORE_STATE timestamps.
            timestamp_compute_and_graphics: vk::TRUE,
            ..Default::default()
        }
    }

    /// The device extensions this device offers: all we implement, less
    /// those its kernel cannot back.
    pub fn extensions(&self) -> Vec<&'static str> {
        DEVICE_EXTENSIONS_ALL
            .iter()
            .copied()
            .filter(|&e| e != "VK_EXT_calibrated_timestamps" || self.calibrated_timestamps())
            .filter(|&e| !SHADER_EXTENSIONS.contains(&e) || self.shader_core())
            .collect()
    }

    /// TIMESTAMP_INFO samples the GPU and a CPU clock together (driver 1.8
    /// flags) and the counter's frequency is known.
    pub fn calibrated_timestamps(&self) -> bool {
        self.timestamp_frequency > 0 && self.drm.is_panthor_at_least(version::MINOR_TIMESTAMP_FLAGS)
    }

    /// Nanoseconds per timestamp tick.
    pub fn timestamp_period(&self) -> f32 {
        match self.timestamp_frequency {
            0 => 1.0,
            f => (1e9 / f as f64) as f32,
        }
    }

    /// The VA the device can reserve for sparse resources: the user VA
    /// panthor gives a VM (48-bit GPU VA less the kernel's part), less a
    /// quarter kept for ordinary allocations.
    fn sparse_address_space(&self) -> u64 {
        let bits = self.gpu.mmu_va_bits().clamp(32, 48);
        (1u64 << (bits - 1)) / 4 * 3
    }

    /// Compute shaders run: the virtual Mali's shader cores execute
    /// SPIR-V. Real Malis need a Valhall compiler, which this driver does
    /// not have, so on them no COMPUTE is claimed.
    pub fn shader_core(&self) -> bool {
        self.adapter.is_virtual()
    }

    pub fn caps(&self) -> crate::format::Caps {
        crate::format::Caps {
            sparse_residency: self.sparse_residency,
            shaders: self.shader_core(),
        }
    }

    pub fn features(&self) -> vk::PhysicalDeviceFeatures {
        let sparse = self.sparse_residency as vk::Bool32;
        let shaders = self.shader_core() as vk::Bool32;
        vk::PhysicalDeviceFeatures {
            // The shader core bounds-checks every buffer access against its
            // descriptor (and without it no shader runs at all).
            robust_buffer_access: vk::TRUE,
            image_cube_array: shaders,
            shader_image_gather_extended: shaders,
            shader_storage_image_extended_formats: shaders,
            shader_storage_image_read_without_format: shaders,
            shader_storage_image_write_without_format: shaders,
            shader_uniform_buffer_array_dynamic_indexing: shaders,
            shader_sampled_image_array_dynamic_indexing: shaders,
            shader_storage_buffer_array_dynamic_indexing: shaders,
            shader_storage_image_array_dynamic_indexing: shaders,
            shader_float64: shaders,
            shader_int64: shaders,
            shader_int16: shaders,
            // Residency from the page tables (the sparse PTE bit).
            shader_resource_residency: shaders & sparse,
            shader_resource_min_lod: shaders,
            sparse_binding: vk::TRUE,
            sparse_residency_buffer: sparse,
            sparse_residency_image2_d: sparse,
            sparse_residency_image3_d: sparse,
            sparse_residency_aliased: sparse,
            ..Default::default()
        }
    }

    pub fn queue_families(&self) -> [vk::QueueFamilyProperties; 2] {
        [
            vk::QueueFamilyProperties {
                queue_flags: if self.shader_core() {
                    vk::QueueFlags::COMPUTE
                        | vk::QueueFlags::TRANSFER
                        | vk::QueueFlags::SPARSE_BINDING
                } else {
                    vk::QueueFlags::TRANSFER | vk::QueueFlags::SPARSE_BINDING
                },
                queue_count: UNIVERSAL_QUEUES,
                // STORE_STATE stores the whole 64-bit counter.
                timestamp_valid_bits: if self.timestamp_frequency > 0 { 64 } else { 0 },
                min_image_transfer_granularity: vk::Extent3D {
                    width: 1,
                    height: 1,
                    depth: 1,
                },
            },
            vk::QueueFamilyProperties {
                queue_flags: vk::QueueFlags::SPARSE_BINDING,
                queue_count: SPARSE_QUEUES,
                // Binds only: no command writes a timestamp here.
                timestamp_valid_bits: 0,
                min_image_transfer_granularity: vk::Extent3D::default(),
            },
        ]
    }

    pub fn memory_properties(&self) -> vk::PhysicalDeviceMemoryProperties {
        let mut p = vk::PhysicalDeviceMemoryProperties {
            memory_type_count: 1,
            memory_heap_count: 1,
            ..Default::default()
        };
        // One heap of system memory the GPU and CPU share coherently
        // (panthor's BOs are mapped write-combined; the virtual Mali's are
        // the same pages).
        p.memory_heaps[0] = vk::MemoryHeap {
            size: self.heap_size,
            flags: vk::MemoryHeapFlags::DEVICE_LOCAL,
        };
        p.memory_types[0] = vk::MemoryType {
            property_flags: vk::MemoryPropertyFlags::DEVICE_LOCAL
                | vk::MemoryPropertyFlags::HOST_VISIBLE
                | vk::MemoryPropertyFlags::HOST_COHERENT,
            heap_index: 0,
        };
        p
    }

    fn uuid(&self, what: &[u8]) -> [u8; vk::UUID_SIZE] {
        driver_uuid(self.gpu.gpu_id, what)
    }

    fn device_uuid(&self) -> [u8; vk::UUID_SIZE] {
        let path = match &self.adapter {
            Adapter::Real(p) => p.display().to_string(),
            Adapter::Virtual => "virtual".into(),
        };
        self.uuid(path.as_bytes())
    }
}

fn model_name(gpu: &drm_panthor_gpu_info) -> String {
    // panthor's gpu_models[] (Linux 6.12), keyed by (arch major, product major).
    match (gpu.arch_major(), gpu.product_major()) {
        (10, 7) => "Mali-G610".into(),
        _ => format!("Mali (GPU ID {:#010x})", gpu.gpu_id),
    }
}

fn driver_version() -> u32 {
    let v = |s: &str| s.parse::<u32>().unwrap_or(0);
    vk::make_api_version(
        0,
        v(env!("CARGO_PKG_VERSION_MAJOR")),
        v(env!("CARGO_PKG_VERSION_MINOR")),
        v(env!("CARGO_PKG_VERSION_PATCH")),
    )
}

fn host_memory_bytes() -> u64 {
    // SAFETY: sysinfo fills a struct we own.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: info is a valid out-pointer.
    if unsafe { libc::sysinfo(&mut info) } != 0 {
        return 1 << 30;
    }
    info.totalram as u64 * info.mem_unit as u64
}

pub fn copy_str(dst: &mut [c_char], s: &str) {
    let n = s.len().min(dst.len() - 1);
    for (d, b) in dst.iter_mut().zip(s.bytes().take(n)) {
        *d = b as c_char;
    }
    dst[n] = 0;
}

// ----- entry points ---------------------------------------------------------

macro_rules! pd {
    ($h:expr) => {
        // SAFETY: the handle is a physical device of ours (valid usage).
        unsafe { PhysicalDevice::from_handle($h) }?
    };
}

pub unsafe extern "system" fn get_properties(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceProperties,
) {
    guard_void("vkGetPhysicalDeviceProperties", || {
        let pd = pd!(pd);
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, pd.properties()) }
    })
}

pub unsafe extern "system" fn get_properties2(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceProperties2<'_>,
) {
    guard_void("vkGetPhysicalDeviceProperties2", || {
        let pd = pd!(pd);
        // SAFETY: out is valid (valid usage).
        let out = unsafe { &mut *out };
        out.properties = pd.properties();
        let uuid = pd.device_uuid();
        let driver_uuid = pd.uuid(b"driver");
        // SAFETY: the chain is the application's valid output chain.
        unsafe {
            chain::for_each_out(out.p_next, |o| {
                fill_out!(o,
                    vk::PhysicalDeviceIDProperties<'_> => |p| {
                        p.device_uuid = uuid;
                        p.driver_uuid = driver_uuid;
                        p.device_luid_valid = vk::FALSE;
                    }
                    vk::PhysicalDeviceMaintenance3Properties<'_> => |p| {
                        p.max_per_set_descriptors = 1024;
                        p.max_memory_allocation_size = pd.heap_size;
                    }
                    vk::PhysicalDeviceMaintenance4Properties<'_> => |p| {
                        p.max_buffer_size = 1 << 40;
                    }
                    vk::PhysicalDeviceTimelineSemaphoreProperties<'_> => |p| {
                        p.max_timeline_semaphore_value_difference = u64::MAX;
                    }
                    vk::PhysicalDeviceSubgroupProperties<'_> => |p| {
                        // The virtual shader core runs invocations one at a
                        // time: subgroups of one, truthfully.
                        p.subgroup_size = 1;
                        p.supported_stages = if pd.shader_core() {
                            vk::ShaderStageFlags::COMPUTE
                        } else {
                            vk::ShaderStageFlags::empty()
                        };
                        p.supported_operations = vk::SubgroupFeatureFlags::BASIC
                            | vk::SubgroupFeatureFlags::VOTE
                            | vk::SubgroupFeatureFlags::ARITHMETIC
                            | vk::SubgroupFeatureFlags::BALLOT
                            | vk::SubgroupFeatureFlags::SHUFFLE
                            | vk::SubgroupFeatureFlags::SHUFFLE_RELATIVE;
                        p.quad_operations_in_all_stages = vk::FALSE;
                    }
                    vk::PhysicalDevicePointClippingProperties<'_> => |p| {
                        p.point_clipping_behavior = vk::PointClippingBehavior::ALL_CLIP_PLANES;
                    }
                    vk::PhysicalDeviceMultiviewProperties<'_> => |p| {
                        p.max_multiview_view_count = 0;
                        p.max_multiview_instance_index = 0;
                    }
                    vk::PhysicalDeviceProtectedMemoryProperties<'_> => |p| {
                        p.protected_no_fault = vk::FALSE;
                    }
                )
            })
        };
        Ok(())
    })
}

pub unsafe extern "system" fn get_features(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceFeatures,
) {
    guard_void("vkGetPhysicalDeviceFeatures", || {
        let pd = pd!(pd);
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, pd.features()) }
    })
}

pub unsafe extern "system" fn get_features2(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceFeatures2<'_>,
) {
    guard_void("vkGetPhysicalDeviceFeatures2", || {
        let pd = pd!(pd);
        // SAFETY: out is valid (valid usage).
        let out = unsafe { &mut *out };
        out.features = pd.features();
        // SAFETY: the chain is the application's valid output chain.
        unsafe { chain::for_each_out(out.p_next, |o| fill_feature_structs(pd, o)) };
        Ok(())
    })
}

/// Fills the extension feature structs we know (what we support is true;
/// the rest false).
fn fill_feature_structs(pd: &PhysicalDevice, o: chain::Out<'_>) {
    let caps = pd.caps();
    fill_out!(o,
        vk::PhysicalDeviceShaderAtomicInt64Features<'_> => |f| {
            // 64-bit atomics on storage buffers and shared memory run on
            // the shader cores (shader/tests/memory.rs).
            f.shader_buffer_int64_atomics = caps.shaders.into();
            f.shader_shared_int64_atomics = caps.shaders.into();
        }
        vk::PhysicalDeviceShaderImageAtomicInt64FeaturesEXT<'_> => |f| {
            // R64 storage images on the shader cores (viewed as RG32 by the
            // texture unit; the shader core joins the halves).
            f.shader_image_int64_atomics = caps.shaders.into();
            f.sparse_image_int64_atomics = (caps.shaders && caps.sparse_residency).into();
        }
        vk::PhysicalDeviceTimelineSemaphoreFeatures<'_> => |f| {
            f.timeline_semaphore = vk::TRUE;
        }
        vk::PhysicalDeviceSynchronization2Features<'_> => |f| {
            f.synchronization2 = vk::TRUE;
        }
        vk::PhysicalDeviceHostQueryResetFeatures<'_> => |f| {
            f.host_query_reset = vk::TRUE;
        }
        vk::PhysicalDeviceMaintenance4Features<'_> => |f| {
            f.maintenance4 = vk::TRUE;
        }
        vk::PhysicalDevice16BitStorageFeatures<'_> => |f| {
            f.storage_buffer16_bit_access = vk::FALSE;
            f.uniform_and_storage_buffer16_bit_access = vk::FALSE;
            f.storage_push_constant16 = vk::FALSE;
            f.storage_input_output16 = vk::FALSE;
        }
        vk::PhysicalDeviceMultiviewFeatures<'_> => |f| {
            f.multiview = vk::FALSE;
            f.multiview_geometry_shader = vk::FALSE;
            f.multiview_tessellation_shader = vk::FALSE;
        }
        vk::PhysicalDeviceVariablePointersFeatures<'_> => |f| {
            f.variable_pointers_storage_buffer = vk::FALSE;
            f.variable_pointers = vk::FALSE;
        }
        vk::PhysicalDeviceProtectedMemoryFeatures<'_> => |f| {
            f.protected_memory = vk::FALSE;
        }
        vk::PhysicalDeviceSamplerYcbcrConversionFeatures<'_> => |f| {
            f.sampler_ycbcr_conversion = vk::FALSE;
        }
        vk::PhysicalDeviceShaderDrawParametersFeatures<'_> => |f| {
            f.shader_draw_parameters = vk::FALSE;
        }
    )
}

pub unsafe extern "system" fn get_queue_family_properties(
    pd: vk::PhysicalDevice,
    count: *mut u32,
    out: *mut vk::QueueFamilyProperties,
) {
    guard_void("vkGetPhysicalDeviceQueueFamilyProperties", || {
        let pd = pd!(pd);
        // SAFETY: count/out follow the two-call idiom.
        let _ = unsafe { handle::write_array(count, out, &pd.queue_families()) };
        Ok(())
    })
}

pub unsafe extern "system" fn get_queue_family_properties2(
    pd: vk::PhysicalDevice,
    count: *mut u32,
    out: *mut vk::QueueFamilyProperties2<'_>,
) {
    guard_void("vkGetPhysicalDeviceQueueFamilyProperties2", || {
        let pd = pd!(pd);
        let families = pd.queue_families();
        // SAFETY: count/out follow the two-call idiom.
        let _ = unsafe {
            handle::fill_array(count, out, families.len(), |i, f| {
                f.queue_family_properties = families[i]
            })
        };
        Ok(())
    })
}

pub unsafe extern "system" fn get_memory_properties(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceMemoryProperties,
) {
    guard_void("vkGetPhysicalDeviceMemoryProperties", || {
        let pd = pd!(pd);
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, pd.memory_properties()) }
    })
}

pub unsafe extern "system" fn get_memory_properties2(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceMemoryProperties2<'_>,
) {
    guard_void("vkGetPhysicalDeviceMemoryProperties2", || {
        let pd = pd!(pd);
        // SAFETY: out is valid (valid usage).
        unsafe { (*out).memory_properties = pd.memory_properties() };
        Ok(())
    })
}

pub unsafe extern "system" fn get_external_buffer_properties(
    _pd: vk::PhysicalDevice,
    info: *const vk::PhysicalDeviceExternalBufferInfo<'_>,
    out: *mut vk::ExternalBufferProperties<'_>,
) {
    guard_void("vkGetPhysicalDeviceExternalBufferProperties", || {
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pExternalBufferInfo") }?;
        let sparse = external_memory::is_sparse_buffer(info.flags);
        // SAFETY: out is valid (valid usage).
        unsafe {
            (*out).external_memory_properties =
                external_memory::properties(info.handle_type, sparse)
        };
        Ok(())
    })
}

pub unsafe extern "system" fn enumerate_device_extension_properties(
    pd: vk::PhysicalDevice,
    layer: *const c_char,
    count: *mut u32,
    props: *mut vk::ExtensionProperties,
) -> vk::Result {
    guard("vkEnumerateDeviceExtensionProperties", || {
        if !layer.is_null() {
            crate::vk_bail!(
                vk::Result::ERROR_LAYER_NOT_PRESENT,
                "the driver has no layers"
            );
        }
        // SAFETY: the handle is ours (valid usage).
        let pd = unsafe { PhysicalDevice::from_handle(pd) }?;
        let all = extension_properties(&pd.extensions());
        // SAFETY: count/props follow the two-call idiom.
        Ok(unsafe { handle::write_array(count, props, &all) })
    })
}

pub unsafe extern "system" fn enumerate_device_layer_properties(
    _pd: vk::PhysicalDevice,
    count: *mut u32,
    _props: *mut vk::LayerProperties,
) -> vk::Result {
    guard("vkEnumerateDeviceLayerProperties", || {
        // SAFETY: count is valid.
        unsafe { handle::out(count, 0) }?;
        Ok(vk::Result::SUCCESS)
    })
}
