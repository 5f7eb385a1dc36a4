//! The Vulkan side of the suite: the instance and physical device the whole
//! run shares ([`Vk`]), and a fresh logical device per case ([`Gpu`]) that
//! owns everything the case creates, so a failing case leaks nothing into
//! the next one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::time::Duration;

use ash::vk;
use gpu_allocator::vulkan::{Allocation, AllocationCreateDesc, AllocationScheme, Allocator};
use gpu_allocator::{AllocationSizes, AllocatorDebugSettings, MemoryLocation};

use crate::case::{Call, Stop};
use crate::{ensure, require};

/// How long a case waits for a fence before calling the driver hung.
pub const WAIT: Duration = Duration::from_secs(20);

/// The loader, the instance and the physical device under test.
pub struct Vk {
    pub entry: ash::Entry,
    pub instance: ash::Instance,
    pub pd: vk::PhysicalDevice,
    pub props: vk::PhysicalDeviceProperties,
    pub features: vk::PhysicalDeviceFeatures,
    pub families: Vec<vk::QueueFamilyProperties>,
    pub memory: vk::PhysicalDeviceMemoryProperties,
    pub timeline: bool,
    device_extensions: Vec<String>,
}

impl Vk {
    /// Loads the system loader (it honours VK_ICD_FILENAMES / VK_DRIVER_FILES)
    /// and picks physical device `index`.
    pub fn new(index: usize) -> Result<Vk, String> {
        // SAFETY: loading libvulkan.so.1 runs its initialisers, which have no
        // preconditions.
        let entry = unsafe { ash::Entry::load() }.map_err(|e| {
            format!("cannot load the Vulkan loader ({e}); install libvulkan1 (apt-get install libvulkan1)")
        })?;
        let app = vk::ApplicationInfo::default()
            .application_name(c"panthor-sparse-cts")
            .api_version(vk::API_VERSION_1_1);
        let info = vk::InstanceCreateInfo::default().application_info(&app);
        // SAFETY: the create info and what it points to outlive the call.
        let instance = unsafe { entry.create_instance(&info, None) }.map_err(|e| {
            format!("vkCreateInstance returned {e:?} (is a Vulkan driver installed?)")
        })?;
        // SAFETY: the instance is valid.
        let pds = unsafe { instance.enumerate_physical_devices() }
            .map_err(|e| format!("vkEnumeratePhysicalDevices returned {e:?}"))?;
        let Some(&pd) = pds.get(index) else {
            // SAFETY: no objects were created from the instance.
            unsafe { instance.destroy_instance(None) };
            return Err(format!("no physical device {index} ({} found)", pds.len()));
        };
        // SAFETY: pd came from this instance.
        let (props, features, families, memory, exts) = unsafe {
            (
                instance.get_physical_device_properties(pd),
                instance.get_physical_device_features(pd),
                instance.get_physical_device_queue_family_properties(pd),
                instance.get_physical_device_memory_properties(pd),
                instance
                    .enumerate_device_extension_properties(pd)
                    .unwrap_or_default(),
            )
        };
        let device_extensions: Vec<String> = exts
            .iter()
            .map(|e| {
                e.extension_name_as_c_str()
                    .unwrap_or(c"")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let timeline = device_extensions
            .iter()
            .any(|e| e == "VK_KHR_timeline_semaphore")
            && {
                let mut tl = vk::PhysicalDeviceTimelineSemaphoreFeatures::default();
                let mut f2 = vk::PhysicalDeviceFeatures2::default().push_next(&mut tl);
                // SAFETY: valid physical device and a well-formed pNext chain.
                unsafe { instance.get_physical_device_features2(pd, &mut f2) };
                tl.timeline_semaphore == vk::TRUE
            };
        Ok(Vk {
            entry,
            instance,
            pd,
            props,
            features,
            families,
            memory,
            timeline,
            device_extensions,
        })
    }

    pub fn device_name(&self) -> String {
        self.props
            .device_name_as_c_str()
            .unwrap_or(c"?")
            .to_string_lossy()
            .into_owned()
    }

    pub fn driver_version(&self) -> String {
        let v = self.props.api_version;
        format!(
            "Vulkan {}.{}.{}",
            vk::api_version_major(v),
            vk::api_version_minor(v),
            vk::api_version_patch(v)
        )
    }

    pub fn has_extension(&self, name: &CStr) -> bool {
        let name = name.to_string_lossy();
        self.device_extensions.iter().any(|e| *e == name)
    }

    /// NotSupported unless `sparseBinding` is true.
    pub fn require_sparse_binding(&self) -> Result<(), Stop> {
        require!(
            self.features.sparse_binding == vk::TRUE,
            "sparseBinding is false"
        );
        Ok(())
    }

    /// `vkGetPhysicalDeviceSparseImageFormatProperties` for one image shape.
    pub fn sparse_image_format_properties(
        &self,
        format: vk::Format,
        ty: vk::ImageType,
        samples: vk::SampleCountFlags,
        usage: vk::ImageUsageFlags,
    ) -> Vec<vk::SparseImageFormatProperties> {
        // SAFETY: valid physical device; the arguments are plain values.
        unsafe {
            self.instance
                .get_physical_device_sparse_image_format_properties(
                    self.pd,
                    format,
                    ty,
                    samples,
                    usage,
                    vk::ImageTiling::OPTIMAL,
                )
        }
    }

    /// A fresh device with every sparse feature the driver has, and the
    /// queues the suite uses.
    pub fn device(&self) -> Result<Gpu<'_>, Stop> {
        Gpu::new(self)
    }
}

impl Drop for Vk {
    fn drop(&mut self) {
        // SAFETY: every device was destroyed by its Gpu's drop.
        unsafe { self.instance.destroy_instance(None) };
    }
}

/// A queue and the family it belongs to.
#[derive(Clone, Copy, Debug)]
pub struct Queue {
    pub family: u32,
    pub queue: vk::Queue,
}

enum Object {
    Buffer(vk::Buffer),
    Image(vk::Image),
    Memory(vk::DeviceMemory),
    Semaphore(vk::Semaphore),
    Fence(vk::Fence),
}

/// Which queue families a case's device gets.
struct Families {
    /// SPARSE_BINDING and able to copy (TRANSFER, GRAPHICS or COMPUTE).
    universal: u32,
    universal_count: u32,
    /// SPARSE_BINDING and nothing else that runs commands.
    sparse_only: Option<u32>,
    /// Able to copy, not the universal family (for cross-family ordering).
    other_transfer: Option<u32>,
}

fn pick_families(families: &[vk::QueueFamilyProperties]) -> Option<Families> {
    let work = vk::QueueFlags::TRANSFER | vk::QueueFlags::GRAPHICS | vk::QueueFlags::COMPUTE;
    let find = |pred: &dyn Fn(vk::QueueFlags) -> bool| {
        families
            .iter()
            .position(|f| f.queue_count > 0 && pred(f.queue_flags))
            .map(|i| i as u32)
    };
    let universal = find(&|f| f.contains(vk::QueueFlags::SPARSE_BINDING) && f.intersects(work))?;
    Some(Families {
        universal,
        universal_count: families[universal as usize].queue_count,
        sparse_only: find(&|f| f.contains(vk::QueueFlags::SPARSE_BINDING) && !f.intersects(work)),
        other_transfer: families
            .iter()
            .enumerate()
            .position(|(i, f)| {
                i as u32 != universal && f.queue_count > 0 && f.queue_flags.intersects(work)
            })
            .map(|i| i as u32),
    })
}

/// A logical device for one case. Every object made through it is destroyed
/// when it drops, after the device is idle.
pub struct Gpu<'v> {
    pub vk: &'v Vk,
    pub device: ash::Device,
    /// Sparse binding and transfer.
    pub universal: Queue,
    /// A second queue that can copy: another queue of the universal family,
    /// or of another family; None when the device has only one.
    pub second: Option<Queue>,
    /// A queue of a sparse-binding-only family, when the device has one.
    pub sparse_only: Option<Queue>,
    pub timeline: Option<ash::khr::timeline_semaphore::Device>,
    pools: RefCell<HashMap<u32, vk::CommandPool>>,
    objects: RefCell<Vec<Object>>,
    allocator: RefCell<Option<Allocator>>,
    allocations: RefCell<Vec<Allocation>>,
}

impl<'v> Gpu<'v> {
    fn new(vk: &'v Vk) -> Result<Gpu<'v>, Stop> {
        vk.require_sparse_binding()?;
        let Some(fam) = pick_families(&vk.families) else {
            require!(
                false,
                "no queue family with SPARSE_BINDING that can also transfer"
            );
            unreachable!()
        };
        let prio = [1.0f32; 2];
        let mut infos = vec![vk::DeviceQueueCreateInfo::default()
            .queue_family_index(fam.universal)
            .queue_priorities(&prio[..fam.universal_count.min(2) as usize])];
        for f in [fam.sparse_only, fam.other_transfer].into_iter().flatten() {
            infos.push(
                vk::DeviceQueueCreateInfo::default()
                    .queue_family_index(f)
                    .queue_priorities(&prio[..1]),
            );
        }
        let f = &vk.features;
        let features = vk::PhysicalDeviceFeatures {
            sparse_binding: f.sparse_binding,
            sparse_residency_buffer: f.sparse_residency_buffer,
            sparse_residency_image2_d: f.sparse_residency_image2_d,
            sparse_residency_image3_d: f.sparse_residency_image3_d,
            sparse_residency2_samples: f.sparse_residency2_samples,
            sparse_residency4_samples: f.sparse_residency4_samples,
            sparse_residency8_samples: f.sparse_residency8_samples,
            sparse_residency16_samples: f.sparse_residency16_samples,
            sparse_residency_aliased: f.sparse_residency_aliased,
            ..Default::default()
        };
        let exts = [ash::khr::timeline_semaphore::NAME.as_ptr()];
        let mut tl =
            vk::PhysicalDeviceTimelineSemaphoreFeatures::default().timeline_semaphore(true);
        let mut info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&infos)
            .enabled_features(&features);
        if vk.timeline {
            info = info.enabled_extension_names(&exts).push_next(&mut tl);
        }
        // SAFETY: the create info and everything it points to outlive the call.
        let device =
            unsafe { vk.instance.create_device(vk.pd, &info, None) }.call("vkCreateDevice")?;
        let queue = |family: u32, index: u32| Queue {
            family,
            // SAFETY: every (family, index) asked for below was requested above.
            queue: unsafe { device.get_device_queue(family, index) },
        };
        let universal = queue(fam.universal, 0);
        let second = if fam.universal_count >= 2 {
            Some(queue(fam.universal, 1))
        } else {
            fam.other_transfer.map(|f| queue(f, 0))
        };
        let sparse_only = fam.sparse_only.map(|f| queue(f, 0));
        let timeline = vk
            .timeline
            .then(|| ash::khr::timeline_semaphore::Device::new(&vk.instance, &device));
        Ok(Gpu {
            vk,
            device,
            universal,
            second,
            sparse_only,
            timeline,
            pools: RefCell::default(),
            objects: RefCell::default(),
            allocator: RefCell::default(),
            allocations: RefCell::default(),
        })
    }

    fn track(&self, o: Object) {
        self.objects.borrow_mut().push(o);
    }

    /// The first memory type in `type_bits` with all of `props`.
    pub fn memory_type(&self, type_bits: u32, props: vk::MemoryPropertyFlags) -> Option<u32> {
        let m = &self.vk.memory;
        (0..m.memory_type_count).find(|&i| {
            type_bits & (1 << i) != 0 && m.memory_types[i as usize].property_flags.contains(props)
        })
    }

    pub fn allocate(&self, size: u64, type_index: u32) -> Result<vk::DeviceMemory, Stop> {
        let info = vk::MemoryAllocateInfo::default()
            .allocation_size(size)
            .memory_type_index(type_index);
        // SAFETY: valid device and create info.
        let mem = unsafe { self.device.allocate_memory(&info, None) }.call("vkAllocateMemory")?;
        self.track(Object::Memory(mem));
        Ok(mem)
    }

    /// Memory that can back `reqs`, preferring `props`.
    pub fn memory_for(
        &self,
        reqs: &vk::MemoryRequirements,
        size: u64,
        props: vk::MemoryPropertyFlags,
    ) -> Result<vk::DeviceMemory, Stop> {
        let ty = self
            .memory_type(reqs.memory_type_bits, props)
            .or_else(|| self.memory_type(reqs.memory_type_bits, vk::MemoryPropertyFlags::empty()));
        let Some(ty) = ty else {
            crate::fail!(
                "memoryTypeBits {:#x} names no memory type",
                reqs.memory_type_bits
            )
        };
        self.allocate(size, ty)
    }

    pub fn buffer(&self, info: &vk::BufferCreateInfo) -> Result<vk::Buffer, Stop> {
        // SAFETY: valid device and create info.
        let b = unsafe { self.device.create_buffer(info, None) }.call("vkCreateBuffer")?;
        self.track(Object::Buffer(b));
        Ok(b)
    }

    /// A sparse buffer on the universal (and, when there is one, the
    /// sparse-only) family.
    pub fn sparse_buffer(
        &self,
        size: u64,
        flags: vk::BufferCreateFlags,
    ) -> Result<vk::Buffer, Stop> {
        let families = self.sharing_families();
        let mut info = vk::BufferCreateInfo::default()
            .size(size)
            .flags(vk::BufferCreateFlags::SPARSE_BINDING | flags)
            .usage(vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST);
        if families.len() > 1 {
            info = info
                .sharing_mode(vk::SharingMode::CONCURRENT)
                .queue_family_indices(&families);
        }
        self.buffer(&info)
    }

    /// The distinct families of this device's queues (for CONCURRENT sharing).
    pub fn sharing_families(&self) -> Vec<u32> {
        let mut f = vec![self.universal.family];
        for q in [self.second, self.sparse_only].into_iter().flatten() {
            if !f.contains(&q.family) {
                f.push(q.family);
            }
        }
        f
    }

    pub fn image(&self, info: &vk::ImageCreateInfo) -> Result<vk::Image, Stop> {
        // SAFETY: valid device and create info.
        let i = unsafe { self.device.create_image(info, None) }.call("vkCreateImage")?;
        self.track(Object::Image(i));
        Ok(i)
    }

    pub fn buffer_requirements(&self, buffer: vk::Buffer) -> vk::MemoryRequirements {
        // SAFETY: the buffer belongs to this device.
        unsafe { self.device.get_buffer_memory_requirements(buffer) }
    }

    pub fn image_requirements(&self, image: vk::Image) -> vk::MemoryRequirements {
        // SAFETY: the image belongs to this device.
        unsafe { self.device.get_image_memory_requirements(image) }
    }

    pub fn image_sparse_requirements(
        &self,
        image: vk::Image,
    ) -> Vec<vk::SparseImageMemoryRequirements> {
        // SAFETY: the image belongs to this device.
        unsafe { self.device.get_image_sparse_memory_requirements(image) }
    }

    /// A host-visible, coherent buffer for moving bytes in and out.
    pub fn staging(&self, size: u64) -> Result<Staging, Stop> {
        let info = vk::BufferCreateInfo::default()
            .size(size)
            .usage(vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST);
        let buffer = self.buffer(&info)?;
        let reqs = self.buffer_requirements(buffer);
        let host = vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT;
        let Some(ty) = self.memory_type(reqs.memory_type_bits, host) else {
            crate::fail!("no HOST_VISIBLE|HOST_COHERENT memory type for a transfer buffer")
        };
        let memory = self.allocate(reqs.size, ty)?;
        // SAFETY: fresh buffer and memory of this device, offset 0 fits.
        unsafe { self.device.bind_buffer_memory(buffer, memory, 0) }.call("vkBindBufferMemory")?;
        // SAFETY: host-visible memory, mapped once for its whole size.
        let ptr = unsafe {
            self.device
                .map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
        }
        .call("vkMapMemory")? as *mut u8;
        Ok(Staging { buffer, ptr, size })
    }

    pub fn fence(&self) -> Result<vk::Fence, Stop> {
        // SAFETY: valid device and create info.
        let f = unsafe {
            self.device
                .create_fence(&vk::FenceCreateInfo::default(), None)
        }
        .call("vkCreateFence")?;
        self.track(Object::Fence(f));
        Ok(f)
    }

    pub fn semaphore(&self) -> Result<vk::Semaphore, Stop> {
        // SAFETY: valid device and create info.
        let s = unsafe {
            self.device
                .create_semaphore(&vk::SemaphoreCreateInfo::default(), None)
        }
        .call("vkCreateSemaphore")?;
        self.track(Object::Semaphore(s));
        Ok(s)
    }

    /// A timeline semaphore, or NotSupported.
    pub fn timeline_semaphore(&self, initial: u64) -> Result<vk::Semaphore, Stop> {
        require!(
            self.timeline.is_some(),
            "timelineSemaphore (VK_KHR_timeline_semaphore) is missing"
        );
        let mut ty = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(initial);
        let info = vk::SemaphoreCreateInfo::default().push_next(&mut ty);
        // SAFETY: valid device; the timeline extension is enabled.
        let s = unsafe { self.device.create_semaphore(&info, None) }.call("vkCreateSemaphore")?;
        self.track(Object::Semaphore(s));
        Ok(s)
    }

    pub fn timeline_value(&self, sem: vk::Semaphore) -> Result<u64, Stop> {
        let tl = self.timeline.as_ref().expect("timeline semaphores enabled");
        // SAFETY: a timeline semaphore of this device.
        unsafe { tl.get_semaphore_counter_value(sem) }.call("vkGetSemaphoreCounterValue")
    }

    /// Waits for a fence; a timeout fails the case.
    pub fn wait(&self, fence: vk::Fence) -> Result<(), Stop> {
        // SAFETY: a fence of this device.
        match unsafe {
            self.device
                .wait_for_fences(&[fence], true, WAIT.as_nanos() as u64)
        } {
            Ok(()) => Ok(()),
            Err(vk::Result::TIMEOUT) => crate::fail!("the fence did not signal within {WAIT:?}"),
            Err(e) => crate::fail!("vkWaitForFences returned {e:?}"),
        }
    }

    pub fn fence_signaled(&self, fence: vk::Fence) -> Result<bool, Stop> {
        // SAFETY: a fence of this device.
        unsafe { self.device.get_fence_status(fence) }.call("vkGetFenceStatus")
    }

    fn pool(&self, family: u32) -> Result<vk::CommandPool, Stop> {
        if let Some(&p) = self.pools.borrow().get(&family) {
            return Ok(p);
        }
        let info = vk::CommandPoolCreateInfo::default().queue_family_index(family);
        // SAFETY: valid device and create info.
        let p =
            unsafe { self.device.create_command_pool(&info, None) }.call("vkCreateCommandPool")?;
        self.pools.borrow_mut().insert(family, p);
        Ok(p)
    }

    /// Records a one-time command buffer for `queue`'s family.
    pub fn record(
        &self,
        queue: Queue,
        body: impl FnOnce(&ash::Device, vk::CommandBuffer),
    ) -> Result<vk::CommandBuffer, Stop> {
        let info = vk::CommandBufferAllocateInfo::default()
            .command_pool(self.pool(queue.family)?)
            .command_buffer_count(1);
        // SAFETY: valid device and pool.
        let cmd = unsafe { self.device.allocate_command_buffers(&info) }
            .call("vkAllocateCommandBuffers")?[0];
        let begin = vk::CommandBufferBeginInfo::default()
            .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
        // SAFETY: a fresh command buffer in the initial state.
        unsafe { self.device.begin_command_buffer(cmd, &begin) }.call("vkBeginCommandBuffer")?;
        body(&self.device, cmd);
        // SAFETY: the command buffer is recording.
        unsafe { self.device.end_command_buffer(cmd) }.call("vkEndCommandBuffer")?;
        Ok(cmd)
    }

    /// Submits `cmd` on `queue` with `sync`, signalling `fence`.
    pub fn submit(
        &self,
        queue: Queue,
        cmd: vk::CommandBuffer,
        sync: &Sync,
        fence: vk::Fence,
    ) -> Result<(), Stop> {
        let cmds = [cmd];
        let stages = vec![vk::PipelineStageFlags::ALL_COMMANDS; sync.waits.len()];
        let mut tl = sync.timeline_info();
        let mut info = vk::SubmitInfo::default()
            .command_buffers(&cmds)
            .wait_semaphores(&sync.waits)
            .wait_dst_stage_mask(&stages)
            .signal_semaphores(&sync.signals);
        if sync.has_timeline_values() {
            info = info.push_next(&mut tl);
        }
        // SAFETY: every handle belongs to this device; the arrays outlive the call.
        unsafe { self.device.queue_submit(queue.queue, &[info], fence) }.call("vkQueueSubmit")
    }

    /// Records, submits and waits for a one-off command buffer.
    pub fn run(
        &self,
        queue: Queue,
        body: impl FnOnce(&ash::Device, vk::CommandBuffer),
    ) -> Result<(), Stop> {
        let cmd = self.record(queue, body)?;
        let fence = self.fence()?;
        self.submit(queue, cmd, &Sync::default(), fence)?;
        self.wait(fence)
    }

    /// Copies `data` into `dst` at each `(dst_offset, len)` through a
    /// staging buffer; `data` is indexed by the destination offsets.
    pub fn upload(&self, dst: vk::Buffer, data: &[u8], ranges: &[(u64, u64)]) -> Result<(), Stop> {
        let staging = self.staging(data.len() as u64)?;
        staging.write(0, data);
        let regions: Vec<vk::BufferCopy> = ranges
            .iter()
            .map(|&(off, len)| vk::BufferCopy {
                src_offset: off,
                dst_offset: off,
                size: len,
            })
            .collect();
        // SAFETY: both buffers are of this device and the regions fit them.
        self.run(self.universal, |d, cmd| unsafe {
            d.cmd_copy_buffer(cmd, staging.buffer, dst, &regions)
        })
    }

    /// Reads `src` back at `ranges` into a vector of `len` bytes (zeros
    /// outside the ranges).
    pub fn download(
        &self,
        src: vk::Buffer,
        len: u64,
        ranges: &[(u64, u64)],
    ) -> Result<Vec<u8>, Stop> {
        let staging = self.staging(len)?;
        staging.fill(0);
        let regions: Vec<vk::BufferCopy> = ranges
            .iter()
            .map(|&(off, len)| vk::BufferCopy {
                src_offset: off,
                dst_offset: off,
                size: len,
            })
            .collect();
        let to_host = [vk::MemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .dst_access_mask(vk::AccessFlags::HOST_READ)];
        // SAFETY: both buffers are of this device and the regions fit them.
        self.run(self.universal, |d, cmd| unsafe {
            d.cmd_copy_buffer(cmd, src, staging.buffer, &regions);
            // The host reads the staging memory after the fence.
            d.cmd_pipeline_barrier(
                cmd,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::HOST,
                vk::DependencyFlags::empty(),
                &to_host,
                &[],
                &[],
            );
        })?;
        Ok(staging.read(0, len as usize))
    }

    /// Calls vkQueueBindSparse with `infos` and waits on `fence` (made here
    /// when null).
    pub fn bind_sparse_and_wait(
        &self,
        queue: Queue,
        infos: &[vk::BindSparseInfo<'_>],
    ) -> Result<(), Stop> {
        let fence = self.fence()?;
        // SAFETY: every handle belongs to this device; the arrays outlive the call.
        unsafe { self.device.queue_bind_sparse(queue.queue, infos, fence) }
            .call("vkQueueBindSparse")?;
        self.wait(fence)
    }

    /// `count` pieces of memory of `size` bytes each, sub-allocated with
    /// gpu-allocator from larger blocks, so they sit at non-zero offsets.
    pub fn sub_allocate(
        &self,
        reqs: &vk::MemoryRequirements,
        size: u64,
        count: usize,
    ) -> Result<Vec<(vk::DeviceMemory, u64)>, Stop> {
        let mut slot = self.allocator.borrow_mut();
        if slot.is_none() {
            let desc = gpu_allocator::vulkan::AllocatorCreateDesc {
                instance: self.vk.instance.clone(),
                device: self.device.clone(),
                physical_device: self.vk.pd,
                debug_settings: AllocatorDebugSettings::default(),
                buffer_device_address: false,
                // Small blocks: the suite's resources are a few MiB.
                allocation_sizes: AllocationSizes::new(8 << 20, 8 << 20),
            };
            *slot =
                Some(Allocator::new(&desc).map_err(|e| Stop::Fail(format!("gpu-allocator: {e}")))?);
        }
        let allocator = slot.as_mut().expect("allocator made above");
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let desc = AllocationCreateDesc {
                name: "sparse block",
                requirements: vk::MemoryRequirements { size, ..*reqs },
                location: MemoryLocation::GpuOnly,
                linear: true,
                allocation_scheme: AllocationScheme::GpuAllocatorManaged,
            };
            let a = allocator
                .allocate(&desc)
                .map_err(|e| Stop::Fail(format!("gpu-allocator: allocation {i}: {e}")))?;
            // SAFETY: the allocation stays alive (kept below) until drop.
            out.push((unsafe { a.memory() }, a.offset()));
            self.allocations.borrow_mut().push(a);
        }
        Ok(out)
    }
}

impl Drop for Gpu<'_> {
    fn drop(&mut self) {
        // SAFETY: the device is valid; idle before anything it uses is freed.
        let _ = unsafe { self.device.device_wait_idle() };
        if let Some(mut a) = self.allocator.borrow_mut().take() {
            for alloc in self.allocations.borrow_mut().drain(..) {
                let _ = a.free(alloc);
            }
        }
        for o in self.objects.borrow_mut().drain(..).rev() {
            // SAFETY: each object was made by this device and is idle.
            unsafe {
                match o {
                    Object::Buffer(b) => self.device.destroy_buffer(b, None),
                    Object::Image(i) => self.device.destroy_image(i, None),
                    Object::Memory(m) => self.device.free_memory(m, None),
                    Object::Semaphore(s) => self.device.destroy_semaphore(s, None),
                    Object::Fence(f) => self.device.destroy_fence(f, None),
                }
            }
        }
        for (_, p) in self.pools.borrow_mut().drain() {
            // SAFETY: the pool's command buffers are idle.
            unsafe { self.device.destroy_command_pool(p, None) };
        }
        // SAFETY: every child object was destroyed above.
        unsafe { self.device.destroy_device(None) };
    }
}

/// Semaphore waits and signals for one submission or bind batch; values are
/// used when any semaphore is a timeline.
#[derive(Default)]
pub struct Sync {
    pub waits: Vec<vk::Semaphore>,
    pub wait_values: Vec<u64>,
    pub signals: Vec<vk::Semaphore>,
    pub signal_values: Vec<u64>,
}

impl Sync {
    fn has_timeline_values(&self) -> bool {
        !self.wait_values.is_empty() || !self.signal_values.is_empty()
    }

    fn timeline_info(&self) -> vk::TimelineSemaphoreSubmitInfo<'_> {
        vk::TimelineSemaphoreSubmitInfo::default()
            .wait_semaphore_values(&self.wait_values)
            .signal_semaphore_values(&self.signal_values)
    }
}

/// A mapped host-visible buffer.
pub struct Staging {
    pub buffer: vk::Buffer,
    ptr: *mut u8,
    size: u64,
}

impl Staging {
    pub fn write(&self, offset: usize, data: &[u8]) {
        assert!(offset + data.len() <= self.size as usize);
        // SAFETY: the mapping covers `size` bytes and the range is inside it.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.add(offset), data.len()) };
    }

    pub fn fill(&self, byte: u8) {
        // SAFETY: the mapping covers `size` bytes.
        unsafe { std::ptr::write_bytes(self.ptr, byte, self.size as usize) };
    }

    pub fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        assert!(offset + len <= self.size as usize);
        // SAFETY: the mapping covers `size` bytes and the range is inside it.
        unsafe { std::slice::from_raw_parts(self.ptr.add(offset), len) }.to_vec()
    }
}

/// Deterministic bytes that differ per seed and per position.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Compares `got` with `want` over `ranges`; the failure names the first
/// differing byte.
pub fn check_ranges(
    got: &[u8],
    want: &[u8],
    ranges: &[(u64, u64)],
    what: &str,
) -> Result<(), Stop> {
    for &(off, len) in ranges {
        let (o, l) = (off as usize, len as usize);
        if let Some(i) = (o..o + l).find(|&i| got[i] != want[i]) {
            crate::fail!(
                "{what}: byte {i} (range {off:#x}+{len:#x}) is {:#04x}, expected {:#04x}",
                got[i],
                want[i]
            );
        }
    }
    Ok(())
}

/// Fails unless `value` is a multiple of `of`.
pub fn ensure_multiple(value: u64, of: u64, what: &str) -> Result<(), Stop> {
    ensure!(
        of != 0 && value % of == 0,
        "{what} = {value} is not a multiple of {of}"
    );
    Ok(())
}
