//! The in-process panthor device: the kernel side (`panthor-kmd`) on the
//! virtual Mali, behind the same [`PanthorFile`] trait as a real render
//! node.
//!
//! [`VirtualDevice`] owns the simulated GPU, the kernel side's device and a
//! scheduler thread (the kernel's workqueues and IRQ handlers in one): it
//! runs [`Device::tick`] whenever the GPU raises its interrupt or a file
//! queues work or signals a fence. [`VirtualFile`] is one open file.
//!
//! Sharing through fds (PRIME dma-bufs, syncobj fds, sync_files) lives in
//! [`crate::dma_buf`], [`crate::syncobj_fd`] and [`crate::sync_file`];
//! an fd exported by one `VirtualDevice` is `EINVAL` on import into
//! another.

use std::ffi::CStr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use panthor_kmd::device::Device;
use panthor_kmd::file::File;
use panthor_kmd::hw::{Hardware, PhysAddr};
use panthor_kmd::wait::Waiter;
pub use panthor_uapi::device::monotonic_ns;
use panthor_uapi::device::*;
use panthor_uapi::errno::{Errno, Result};
use panthor_uapi::uapi::*;

use crate::device::VirtualMali;
use crate::memory::CpuView;

/// The user address-space size of a 64-bit Linux process (caps VM_CREATE's
/// default user VA range, as the kernel's TASK_SIZE does).
const TASK_SIZE: u64 = 1 << 47;

/// How long the scheduler sleeps when nothing wakes it (it re-checks
/// anyway; interrupts and submissions wake it at once).
const IDLE_TICK_NS: i64 = 20_000_000;

/// What `DRM_IOCTL_VERSION` says: panthor 1.9, named so that a user can
/// tell the virtual device from a real one.
pub const DRIVER_DESC: &str = "Panthor DRM driver (virtual Mali-G610, in process)";

/// Wake-ups for the kernel side: a generation counter under a mutex.
pub struct HostWaiter {
    generation: Mutex<u64>,
    changed: Condvar,
}

impl HostWaiter {
    pub fn new() -> HostWaiter {
        HostWaiter {
            generation: Mutex::new(0),
            changed: Condvar::new(),
        }
    }
}

impl Default for HostWaiter {
    fn default() -> Self {
        Self::new()
    }
}

impl Waiter for HostWaiter {
    fn now_ns(&self) -> i64 {
        monotonic_ns()
    }

    fn now_raw_ns(&self) -> i64 {
        panthor_uapi::device::clock_ns(libc::CLOCK_MONOTONIC_RAW)
    }

    fn generation(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep(&self, seen: u64, deadline_ns: i64) {
        let mut g = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        while *g == seen {
            let left = deadline_ns.saturating_sub(monotonic_ns());
            if left <= 0 {
                return;
            }
            let timeout = std::time::Duration::from_nanos(left as u64);
            g = match self.changed.wait_timeout(g, timeout) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    fn wake_all(&self) {
        *self.generation.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.changed.notify_all();
    }
}

/// The virtual Mali with the kernel side running on it.
pub struct VirtualDevice {
    /// Unique in the process: what the fd registries record as exporter.
    id: u64,
    gpu: Arc<VirtualMali>,
    dev: Arc<Device>,
    waiter: Arc<HostWaiter>,
    stop: Arc<AtomicBool>,
    scheduler: Mutex<Option<JoinHandle<()>>>,
}

impl VirtualDevice {
    /// A device with `memory` bytes of GPU memory.
    pub fn new(memory: u64) -> std::io::Result<Arc<VirtualDevice>> {
        let gpu = VirtualMali::new(memory)?;
        let waiter = Arc::new(HostWaiter::new());
        let irq_waiter = waiter.clone();
        gpu.csf.set_irq(Arc::new(move || irq_waiter.wake_all()));
        let hw: Arc<dyn Hardware> = gpu.clone();
        let dev = Device::new(hw, waiter.clone())
            .map(Arc::new)
            .map_err(|e| std::io::Error::from_raw_os_error(e.0))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (dev, waiter, stop) = (dev.clone(), waiter.clone(), stop.clone());
            std::thread::Builder::new()
                .name("vmali-sched".into())
                .spawn(move || loop {
                    let seen = waiter.generation();
                    if stop.load(Ordering::Acquire) {
                        return;
                    }
                    let busy = dev.tick();
                    // Fences signal in tick or before a wake-up: make
                    // their sync_files readable.
                    crate::sync_file::signal_ready();
                    if !busy {
                        waiter.sleep(seen, monotonic_ns() + IDLE_TICK_NS);
                    }
                })?
        };
        Ok(Arc::new(VirtualDevice {
            id: crate::fds::next_device_id(),
            gpu,
            dev,
            waiter,
            stop,
            scheduler: Mutex::new(Some(thread)),
        }))
    }

    /// This device's identity in the process (never reused).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The simulated GPU (tests look at its memory and registers).
    pub fn gpu(&self) -> &Arc<VirtualMali> {
        &self.gpu
    }

    /// The kernel side's device.
    pub fn kernel(&self) -> &Arc<Device> {
        &self.dev
    }

    /// Opens a file, like `open("/dev/dri/renderD128")`.
    pub fn open(self: &Arc<Self>) -> Result<VirtualFile> {
        Ok(VirtualFile {
            file: File::open(self.dev.clone(), TASK_SIZE)?,
            dev: self.clone(),
        })
    }
}

impl Drop for VirtualDevice {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.waiter.wake_all();
        let thread = self
            .scheduler
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(t) = thread {
            let _ = t.join();
        }
        crate::dma_buf::forget_device(self.id);
        crate::syncobj_fd::forget_device(self.id);
        crate::sync_file::device_gone();
    }
}

/// One open file of the virtual device.
pub struct VirtualFile {
    file: File,
    dev: Arc<VirtualDevice>,
}

impl VirtualFile {
    /// The kernel side's file (tests inspect VMs and page tables through it).
    pub fn kernel(&self) -> &File {
        &self.file
    }

    pub fn device(&self) -> &Arc<VirtualDevice> {
        &self.dev
    }
}

/// Keeps a CPU view and its BO alive for a [`CpuMapping`].
struct MappedBo {
    _view: CpuView,
    _bo: panthor_kmd::bo::BoRef,
}

impl MappingOwner for MappedBo {}

fn unsupported(what: &str) -> Errno {
    log_unsupported(what);
    Errno::EOPNOTSUPP
}

fn log_unsupported(what: &str) {
    eprintln!("panthor-sim: {what} is not implemented by the in-process device");
}

impl PanthorFile for VirtualFile {
    fn version(&self) -> Result<DrmVersion> {
        Ok(DrmVersion {
            major: version::MAJOR,
            minor: version::MINOR_MAP_SPARSE,
            patchlevel: 0,
            name: version::DRIVER_NAME.into(),
            date: "20230801".into(),
            desc: DRIVER_DESC.into(),
        })
    }

    fn gem_close(&self, handle: u32) -> Result<()> {
        self.file.gem_close(handle)
    }

    fn prime_handle_to_fd(&self, handle: u32, flags: u32) -> Result<OwnedFd> {
        // drm_prime_handle_to_fd_ioctl, then drm_gem_prime_handle_to_dmabuf.
        if flags & !(DRM_CLOEXEC | DRM_RDWR) != 0 {
            return Err(Errno::EINVAL);
        }
        let bo = self.file.bo(handle).ok_or(Errno::ENOENT)?;
        crate::dma_buf::export(self.dev.id, bo, flags)
    }

    fn prime_fd_to_handle(&self, fd: BorrowedFd<'_>) -> Result<u32> {
        let bo = crate::dma_buf::import(self.dev.id, fd)?;
        self.file.gem_import(bo)
    }

    fn syncobj_create(&self, flags: u32) -> Result<u32> {
        self.file.syncobjs().create(flags)
    }

    fn syncobj_destroy(&self, handle: u32) -> Result<()> {
        self.file.syncobjs().destroy(handle)
    }

    fn syncobj_wait(
        &self,
        handles: &[u32],
        timeout: AbsTimeoutNs,
        flags: SyncobjWaitFlags,
    ) -> Result<u32> {
        self.file
            .syncobjs()
            .wait(&*self.dev.waiter, handles, None, timeout, flags.bits())
    }

    fn syncobj_timeline_wait(
        &self,
        handles: &[u32],
        points: &[u64],
        timeout: AbsTimeoutNs,
        flags: SyncobjWaitFlags,
    ) -> Result<u32> {
        self.file.syncobjs().wait(
            &*self.dev.waiter,
            handles,
            Some(points),
            timeout,
            flags.bits(),
        )
    }

    fn syncobj_reset(&self, handles: &[u32]) -> Result<()> {
        self.file.syncobjs().reset(handles)
    }

    fn syncobj_signal(&self, handles: &[u32]) -> Result<()> {
        self.file.syncobjs().signal(&*self.dev.waiter, handles)
    }

    fn syncobj_timeline_signal(&self, handles: &[u32], points: &[u64]) -> Result<()> {
        self.file
            .syncobjs()
            .timeline_signal(&*self.dev.waiter, handles, points)
    }

    fn syncobj_query(&self, handles: &[u32], points: &mut [u64], flags: u32) -> Result<()> {
        self.file.syncobjs().query(handles, points, flags)
    }

    fn syncobj_transfer(
        &self,
        src: u32,
        src_point: u64,
        dst: u32,
        dst_point: u64,
        flags: u32,
    ) -> Result<()> {
        self.file
            .syncobjs()
            .transfer(&*self.dev.waiter, src, src_point, dst, dst_point, flags)
    }

    fn syncobj_handle_to_fd(&self, handle: u32, flags: u32) -> Result<OwnedFd> {
        let syncobjs = self.file.syncobjs();
        match flags {
            // drm_syncobj_handle_to_fd: an unknown handle is EINVAL here.
            0 => {
                let obj = syncobjs.get(handle).ok_or(Errno::EINVAL)?;
                crate::syncobj_fd::export(self.dev.id, obj)
            }
            // drm_syncobj_export_sync_file: drm_syncobj_find_fence at point
            // 0 (ENOENT for an unknown handle, EINVAL without a fence).
            DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE => {
                let fence = syncobjs.find_fence(handle, 0)?;
                crate::sync_file::export(self.dev.id, fence)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn syncobj_fd_to_handle(&self, fd: BorrowedFd<'_>, flags: u32, handle: u32) -> Result<u32> {
        let syncobjs = self.file.syncobjs();
        match flags {
            0 => {
                let obj = crate::syncobj_fd::import(self.dev.id, fd)?;
                syncobjs.insert(obj)
            }
            // The fd is checked before the handle, as in
            // drm_syncobj_import_sync_file_fence; `handle` is returned
            // unchanged, as the kernel leaves it.
            DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE => {
                let fence = crate::sync_file::import(self.dev.id, fd)?;
                syncobjs.replace_fence(&*self.dev.waiter, handle, fence)?;
                Ok(handle)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn dev_query(&self, ty: u32, out: Option<&mut [u8]>) -> Result<u32> {
        self.dev.dev.dev_query(ty, out)
    }

    fn vm_create(&self, args: &mut drm_panthor_vm_create) -> Result<()> {
        self.file.vm_create(args)
    }

    fn vm_destroy(&self, args: &drm_panthor_vm_destroy) -> Result<()> {
        self.file.vm_destroy(args)
    }

    fn vm_bind(
        &self,
        vm_id: u32,
        flags: u32,
        ops: &[VmBindOp<'_>],
    ) -> std::result::Result<(), VmBindError> {
        self.file.vm_bind(vm_id, flags, ops)
    }

    fn vm_get_state(&self, args: &mut drm_panthor_vm_get_state) -> Result<()> {
        self.file.vm_get_state(args)
    }

    fn bo_create(&self, args: &mut drm_panthor_bo_create) -> Result<()> {
        self.file.bo_create(args)
    }

    fn bo_mmap_offset(&self, args: &mut drm_panthor_bo_mmap_offset) -> Result<()> {
        self.file.bo_mmap_offset(args)
    }

    fn mmap(&self, offset: u64, len: usize) -> Result<CpuMapping> {
        if offset % 4096 != 0 || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = (len as u64)
            .checked_next_multiple_of(4096)
            .ok_or(Errno::EINVAL)?;
        let (bo, inner) = self.file.mmap_target(offset, len)?;
        let end = inner + len;
        let mut ranges: Vec<(PhysAddr, u64)> = Vec::new();
        for c in bo.backing.chunks() {
            let (start, stop) = (c.offset.max(inner), (c.offset + c.len).min(end));
            if start < stop {
                ranges.push((PhysAddr(c.pa.0 + (start - c.offset)), stop - start));
            }
        }
        let view = self
            .dev
            .gpu
            .mem
            .map_cpu(&ranges)
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(Errno::ENOMEM.0)))?;
        let ptr = NonNull::new(view.as_ptr()).ok_or(Errno::ENOMEM)?;
        let owner = Box::new(MappedBo {
            _view: view,
            _bo: bo,
        });
        // SAFETY: the view maps `len` bytes read-write and stays mapped
        // until `owner` (which holds it) is dropped.
        Ok(unsafe { CpuMapping::new(ptr, len as usize, owner) })
    }

    fn group_create(&self, args: &GroupCreate<'_>) -> Result<u32> {
        self.file.group_create(args)
    }

    fn group_destroy(&self, args: &drm_panthor_group_destroy) -> Result<()> {
        self.file.group_destroy(args)
    }

    fn group_submit(&self, group_handle: u32, pad: u32, submits: &[QueueSubmit<'_>]) -> Result<()> {
        self.file.group_submit(group_handle, pad, submits)
    }

    fn group_get_state(&self, args: &mut drm_panthor_group_get_state) -> Result<()> {
        self.file.group_get_state(args)
    }

    fn tiler_heap_create(&self, _args: &mut drm_panthor_tiler_heap_create) -> Result<()> {
        Err(unsupported("TILER_HEAP_CREATE"))
    }

    fn tiler_heap_destroy(&self, _args: &drm_panthor_tiler_heap_destroy) -> Result<()> {
        Err(unsupported("TILER_HEAP_DESTROY"))
    }

    fn bo_set_label(&self, _handle: u32, _label: Option<&CStr>) -> Result<()> {
        Err(unsupported("BO_SET_LABEL"))
    }

    fn set_user_mmio_offset(&self, _args: &drm_panthor_set_user_mmio_offset) -> Result<()> {
        Err(unsupported("SET_USER_MMIO_OFFSET"))
    }

    fn bo_sync(&self, _ops: &[drm_panthor_bo_sync_op]) -> Result<()> {
        Err(unsupported("BO_SYNC"))
    }

    fn bo_query_info(&self, _args: &mut drm_panthor_bo_query_info) -> Result<()> {
        Err(unsupported("BO_QUERY_INFO"))
    }
}
