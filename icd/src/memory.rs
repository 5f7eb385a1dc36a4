//! `VkDeviceMemory`: one panthor BO (made here, or imported from a dma-buf:
//! `external_memory`), mapped into the device's VM when it is allocated (so
//! binding a buffer is only an address computation), and into the CPU on
//! first `vkMapMemory`.

use std::ffi::c_void;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};

use ash::vk;
use panthor_uapi::device::{CpuMapping, VmBindOp};
use panthor_uapi::uapi::*;
use panthor_uapi::Errno;

use crate::device::{Device, DeviceRef};
use crate::guard::{guard, guard_void, VkError, VkResult};
use crate::{chain, external_memory, handle, vk_bail};

const PAGE: u64 = 4096;
const SZ_2M: u64 = 2 << 20;

pub struct Memory {
    pub dev: DeviceRef,
    pub bo: u32,
    /// Bytes, rounded up to whole pages.
    pub size: u64,
    /// Where the whole BO is mapped in the device's VM.
    pub va: u64,
    cpu: Mutex<Option<CpuMapping>>,
}

impl Memory {
    /// Creates a BO of at least `size` bytes and maps it.
    pub fn new(dev: &DeviceRef, size: u64) -> VkResult<Memory> {
        let size = page_round(size)?;
        let mut args = drm_panthor_bo_create {
            size,
            ..Default::default()
        };
        dev.file.bo_create(&mut args).map_err(|e| {
            VkError::from_errno_or(e, "BO_CREATE", vk::Result::ERROR_OUT_OF_DEVICE_MEMORY)
        })?;
        dev.bo_handles.created(args.handle);
        Memory::map_new(dev, args.handle, args.size)
    }

    /// Imports the dma-buf `fd` (which stays the caller's) as memory of
    /// `size` bytes, at most the dma-buf's size.
    pub fn import(dev: &DeviceRef, fd: BorrowedFd<'_>, size: u64) -> VkResult<Memory> {
        let size = page_round(size)?;
        let available = external_memory::dma_buf_size(fd)?;
        if size > available {
            vk_bail!(
                vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
                "allocationSize {size:#x} is larger than the {available:#x}-byte dma-buf"
            );
        }
        let handle = dev.bo_handles.import(dev, fd)?;
        Memory::map_new(dev, handle, size)
    }

    /// Maps `size` bytes of the counted handle `bo` at a fresh VA; on
    /// failure the handle loses this user again.
    fn map_new(dev: &DeviceRef, bo: u32, size: u64) -> VkResult<Memory> {
        // 2 MiB-aligned VA lets the kernel use 2 MiB blocks for big BOs.
        let align = if size >= SZ_2M { SZ_2M } else { PAGE };
        let va = match dev.alloc_va(size, align) {
            Ok(va) => va,
            Err(e) => {
                dev.bo_handles.close(dev, bo);
                return Err(e);
            }
        };
        let map = VmBindOp {
            flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP,
            bo_handle: bo,
            bo_offset: 0,
            va,
            size,
            syncs: &[],
        };
        if let Err(e) = dev.bind_now(&[map], "VM_BIND map of new memory") {
            dev.free_va(va, size);
            dev.bo_handles.close(dev, bo);
            return Err(e);
        }
        Ok(Memory {
            dev: dev.clone(),
            bo,
            size,
            va,
            cpu: Mutex::new(None),
        })
    }

    /// A BO holding `bytes` (then zeros to the page end), mapped.
    pub fn with_contents(dev: &DeviceRef, bytes: &[u8]) -> VkResult<Memory> {
        let m = Memory::new(dev, bytes.len() as u64)?;
        let p = m.cpu_ptr()?;
        // SAFETY: the fresh mapping holds at least bytes.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
        Ok(m)
    }

    /// # Safety
    /// `h` is null or a live memory object of ours.
    pub unsafe fn from_handle<'a>(h: vk::DeviceMemory) -> VkResult<&'a Memory> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    /// The GPU VA a resource with requirements `req` gets when bound at
    /// `offset` (checked: aligned, and inside the memory).
    pub fn bind_address(&self, offset: u64, req: &vk::MemoryRequirements) -> VkResult<u64> {
        if offset % req.alignment != 0
            || offset
                .checked_add(req.size)
                .is_none_or(|end| end > self.size)
        {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "binding {:#x} bytes at offset {offset:#x} of {:#x}-byte memory (alignment {:#x})",
                req.size,
                self.size,
                req.alignment
            );
        }
        Ok(self.va + offset)
    }

    /// The CPU address of the whole BO (mapped once, kept until freed).
    pub fn cpu_ptr(&self) -> VkResult<*mut u8> {
        let mut cpu = self.cpu.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = cpu.as_ref() {
            return Ok(m.as_ptr());
        }
        let mut off = drm_panthor_bo_mmap_offset {
            handle: self.bo,
            ..Default::default()
        };
        let map_err = |e: Errno, what: &str| {
            VkError::from_errno_or(e, what, vk::Result::ERROR_MEMORY_MAP_FAILED)
        };
        self.dev
            .file
            .bo_mmap_offset(&mut off)
            .map_err(|e| map_err(e, "BO_MMAP_OFFSET"))?;
        let m = self
            .dev
            .file
            .mmap(off.offset, self.size as usize)
            .map_err(|e| map_err(e, "mmap"))?;
        let p = m.as_ptr();
        *cpu = Some(m);
        Ok(p)
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        self.cpu.lock().unwrap_or_else(|e| e.into_inner()).take();
        let unmap = VmBindOp {
            flags: DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP,
            va: self.va,
            size: self.size,
            ..Default::default()
        };
        match self.dev.bind_now(&[unmap], "VM_BIND unmap of freed memory") {
            Ok(()) => self.dev.free_va(self.va, self.size),
            // Keep the VA reserved: something may still be mapped there.
            Err(e) => log::error!("{}", e.why),
        }
        self.dev.bo_handles.close(&self.dev, self.bo);
    }
}

/// `size` rounded up to whole pages.
fn page_round(size: u64) -> VkResult<u64> {
    size.checked_next_multiple_of(PAGE)
        .ok_or_else(|| VkError::new(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY, "size overflows"))
}

/// A `VkDeviceMemory` handle's object.
pub type MemoryRef = Arc<Memory>;

/// # Safety
/// `h` is null or a live memory object of ours.
pub unsafe fn memory_ref<'a>(h: vk::DeviceMemory) -> VkResult<&'a MemoryRef> {
    // SAFETY: forwarded contract.
    unsafe { handle::object(h) }
}

/// Fills a `VkMemoryRequirements2` and its dedicated-allocation struct.
///
/// # Safety
/// `out` is a valid output struct with a valid chain.
pub unsafe fn fill_requirements2(
    out: *mut vk::MemoryRequirements2<'_>,
    req: vk::MemoryRequirements,
) -> VkResult<()> {
    // SAFETY: the caller's contract.
    let out = unsafe { out.as_mut() }
        .ok_or_else(|| VkError::new(vk::Result::ERROR_UNKNOWN, "null output"))?;
    out.memory_requirements = req;
    // SAFETY: the chain is valid (the caller's contract).
    unsafe {
        chain::for_each_out(out.p_next, |o| {
            crate::fill_out!(o,
                vk::MemoryDedicatedRequirements<'_> => |d| {
                    d.prefers_dedicated_allocation = vk::FALSE;
                    d.requires_dedicated_allocation = vk::FALSE;
                }
            )
        })
    };
    Ok(())
}

/// The fd of an import (`VkImportMemoryFdInfoKHR` with a handle type),
/// after checking the export and import structs name handle types we have.
fn import_info(info: &vk::MemoryAllocateInfo<'_>) -> VkResult<Option<RawFd>> {
    // SAFETY: the chain is valid (valid usage).
    let export = unsafe { chain::find::<vk::ExportMemoryAllocateInfo<'_>>(info.p_next) };
    if let Some(e) = export.filter(|e| !e.handle_types.is_empty()) {
        external_memory::check_handle_type(e.handle_types)?;
    }
    // SAFETY: as above.
    let import = unsafe { chain::find::<vk::ImportMemoryFdInfoKHR<'_>>(info.p_next) };
    match import.filter(|i| !i.handle_type.is_empty()) {
        Some(i) => {
            external_memory::check_handle_type(i.handle_type)?;
            if i.fd < 0 {
                vk_bail!(
                    vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
                    "import of fd {}",
                    i.fd
                );
            }
            Ok(Some(i.fd))
        }
        None => Ok(None),
    }
}

pub unsafe extern "system" fn allocate_memory(
    device: vk::Device,
    info: *const vk::MemoryAllocateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::DeviceMemory,
) -> vk::Result {
    guard("vkAllocateMemory", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pAllocateInfo") }?;
        if info.memory_type_index != 0 {
            vk_bail!(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                "memory type {} does not exist (there is one, 0)",
                info.memory_type_index
            );
        }
        if info.allocation_size == 0 {
            vk_bail!(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                "allocationSize is 0"
            );
        }
        let mem = match import_info(info)? {
            Some(fd) => {
                // SAFETY: the application passes an open fd (valid usage);
                // it stays open until we take it below.
                let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
                let mem = Memory::import(dev, borrowed, info.allocation_size)?;
                // The import succeeded, so the fd is ours to close (the BO
                // lives on through the handle).
                // SAFETY: we own the fd from here and close it once.
                drop(unsafe { OwnedFd::from_raw_fd(fd) });
                mem
            }
            None => Memory::new(dev, info.allocation_size)?,
        };
        log::debug!(
            "memory: BO {} of {:#x} bytes at VA {:#x}",
            mem.bo,
            mem.size,
            mem.va
        );
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle::<MemoryRef, _>(Arc::new(mem))) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn free_memory(
    _device: vk::Device,
    memory: vk::DeviceMemory,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkFreeMemory", || {
        // Sparse resources that still map the BO keep it alive in the
        // kernel (a VM mapping holds a BO reference), so this cannot leave
        // GPU VA pointing at freed pages.
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<MemoryRef, _>(memory) });
        Ok(())
    })
}

pub unsafe extern "system" fn map_memory(
    _device: vk::Device,
    memory: vk::DeviceMemory,
    offset: vk::DeviceSize,
    size: vk::DeviceSize,
    _flags: vk::MemoryMapFlags,
    out: *mut *mut c_void,
) -> vk::Result {
    guard("vkMapMemory", || {
        // SAFETY: the handle is ours.
        let mem = unsafe { memory_ref(memory) }?;
        let end = if size == vk::WHOLE_SIZE {
            mem.size
        } else {
            offset.saturating_add(size)
        };
        if offset >= mem.size || end > mem.size {
            vk_bail!(
                vk::Result::ERROR_MEMORY_MAP_FAILED,
                "range {offset:#x}+{size:#x} is outside the {:#x}-byte memory",
                mem.size
            );
        }
        let p = mem.cpu_ptr()?;
        // SAFETY: offset < size, so the result stays inside the mapping; out is valid.
        unsafe { handle::out(out, p.add(offset as usize) as *mut c_void) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn unmap_memory(_device: vk::Device, _memory: vk::DeviceMemory) {
    // The CPU mapping stays until the memory is freed: mapping again is then
    // free, and pointers the application kept (wrongly) cannot fault.
}

pub unsafe extern "system" fn flush_mapped_memory_ranges(
    _device: vk::Device,
    _count: u32,
    _ranges: *const vk::MappedMemoryRange<'_>,
) -> vk::Result {
    // The only memory type is HOST_COHERENT.
    vk::Result::SUCCESS
}

pub unsafe extern "system" fn invalidate_mapped_memory_ranges(
    _device: vk::Device,
    _count: u32,
    _ranges: *const vk::MappedMemoryRange<'_>,
) -> vk::Result {
    vk::Result::SUCCESS
}

pub unsafe extern "system" fn get_device_memory_commitment(
    _device: vk::Device,
    memory: vk::DeviceMemory,
    out: *mut vk::DeviceSize,
) {
    guard_void("vkGetDeviceMemoryCommitment", || {
        // SAFETY: the handle is ours.
        let mem = unsafe { memory_ref(memory) }?;
        // BOs are backed at creation: all of it is committed.
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, mem.size) }
    })
}
