//! `VkBuffer`: a range of the device's GPU VA.
//!
//! An ordinary buffer gets its address when it is bound (memory VA +
//! offset). A sparse buffer reserves its own VA at creation, 64 KiB
//! aligned, and — when the kernel has `MAP_SPARSE` — maps all of it over
//! the sparse dummy page, so unbound blocks read and write harmlessly;
//! `vkQueueBindSparse` then maps memory into it block by block.

use std::sync::atomic::{AtomicU64, Ordering};

use ash::vk;

use crate::device::{Device, DeviceRef};
use crate::guard::{guard, guard_void, VkResult};
use crate::memory::{fill_requirements2, memory_ref};
use crate::physical_device::SPARSE_BLOCK;
use crate::sparse::SparseRange;
use crate::{handle, vk_bail};

/// Alignment of ordinary buffers (the strictest offset alignment limit).
pub const BUFFER_ALIGN: u64 = 64;

pub struct Buffer {
    pub dev: DeviceRef,
    pub size: u64,
    pub usage: vk::BufferUsageFlags,
    pub flags: vk::BufferCreateFlags,
    pub sparse: Option<SparseRange>,
    /// GPU VA of byte 0 once bound (0 = not bound).
    address: AtomicU64,
}

impl Buffer {
    /// # Safety
    /// `h` is null or a live buffer of ours.
    pub unsafe fn from_handle<'a>(h: vk::Buffer) -> VkResult<&'a Buffer> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    /// GPU VA of byte `offset`.
    pub fn address(&self, offset: u64) -> VkResult<u64> {
        let base = self.address.load(Ordering::Acquire);
        if base == 0 {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "buffer used before memory was bound"
            );
        }
        Ok(base + offset)
    }

    /// Checks that `[offset, offset + len)` lies in the buffer.
    pub fn check_range(&self, offset: u64, len: u64, what: &str) -> VkResult<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "{what}: range {offset:#x}+{len:#x} leaves the {:#x}-byte buffer",
                self.size
            ),
        }
    }

    pub fn requirements(&self) -> vk::MemoryRequirements {
        requirements_for(self.size, self.flags)
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        if let Some(s) = &self.sparse {
            s.release(&self.dev);
        }
    }
}

fn requirements_for(size: u64, flags: vk::BufferCreateFlags) -> vk::MemoryRequirements {
    if flags.contains(vk::BufferCreateFlags::SPARSE_BINDING) {
        vk::MemoryRequirements {
            size: size.next_multiple_of(SPARSE_BLOCK),
            alignment: SPARSE_BLOCK,
            memory_type_bits: 1,
        }
    } else {
        vk::MemoryRequirements {
            size: size.next_multiple_of(BUFFER_ALIGN),
            alignment: BUFFER_ALIGN,
            memory_type_bits: 1,
        }
    }
}

fn check_create(dev: &Device, info: &vk::BufferCreateInfo<'_>) -> VkResult<()> {
    let f = info.flags;
    if f.intersects(vk::BufferCreateFlags::SPARSE_RESIDENCY | vk::BufferCreateFlags::SPARSE_ALIASED)
        && !dev.sparse_residency
    {
        vk_bail!(
            vk::Result::ERROR_FEATURE_NOT_PRESENT,
            "sparse residency needs panthor 1.9 (MAP_SPARSE)"
        );
    }
    if info.size == 0 {
        vk_bail!(vk::Result::ERROR_UNKNOWN, "buffer size is 0");
    }
    if info.size > 1 << 40 {
        vk_bail!(
            vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
            "buffer of {:#x} bytes is over maxBufferSize",
            info.size
        );
    }
    Ok(())
}

pub unsafe extern "system" fn create_buffer(
    device: vk::Device,
    info: *const vk::BufferCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Buffer,
) -> vk::Result {
    guard("vkCreateBuffer", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pCreateInfo") }?;
        check_create(dev, info)?;
        let sparse = if info.flags.contains(vk::BufferCreateFlags::SPARSE_BINDING) {
            let size = requirements_for(info.size, info.flags).size;
            Some(SparseRange::reserve(dev, size)?)
        } else {
            None
        };
        let buf = Buffer {
            dev: dev.clone(),
            size: info.size,
            usage: info.usage,
            flags: info.flags,
            address: AtomicU64::new(sparse.as_ref().map_or(0, |s| s.va)),
            sparse,
        };
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(buf)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_buffer(
    _device: vk::Device,
    buffer: vk::Buffer,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyBuffer", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<Buffer, _>(buffer) });
        Ok(())
    })
}

pub unsafe extern "system" fn get_buffer_memory_requirements(
    _device: vk::Device,
    buffer: vk::Buffer,
    out: *mut vk::MemoryRequirements,
) {
    guard_void("vkGetBufferMemoryRequirements", || {
        // SAFETY: the handle is ours.
        let buf = unsafe { Buffer::from_handle(buffer) }?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, buf.requirements()) }
    })
}

pub unsafe extern "system" fn get_buffer_memory_requirements2(
    _device: vk::Device,
    info: *const vk::BufferMemoryRequirementsInfo2<'_>,
    out: *mut vk::MemoryRequirements2<'_>,
) {
    guard_void("vkGetBufferMemoryRequirements2", || {
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pInfo") }?;
        // SAFETY: the handle is ours.
        let buf = unsafe { Buffer::from_handle(info.buffer) }?;
        // SAFETY: out is valid.
        unsafe { fill_requirements2(out, buf.requirements()) }
    })
}

pub unsafe extern "system" fn get_device_buffer_memory_requirements(
    _device: vk::Device,
    info: *const vk::DeviceBufferMemoryRequirements<'_>,
    out: *mut vk::MemoryRequirements2<'_>,
) {
    guard_void("vkGetDeviceBufferMemoryRequirements", || {
        // SAFETY: info and its create info are valid (valid usage).
        let create =
            unsafe { handle::input(handle::input(info, "pInfo")?.p_create_info, "pCreateInfo") }?;
        // SAFETY: out is valid.
        unsafe { fill_requirements2(out, requirements_for(create.size, create.flags)) }
    })
}

fn bind(buffer: vk::Buffer, memory: vk::DeviceMemory, offset: u64) -> VkResult<()> {
    // SAFETY: the handles are ours (valid usage).
    let (buf, mem) = unsafe { (Buffer::from_handle(buffer)?, memory_ref(memory)?) };
    if buf.sparse.is_some() {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "sparse buffers are bound with vkQueueBindSparse"
        );
    }
    let va = mem.bind_address(offset, &buf.requirements())?;
    buf.address.store(va, Ordering::Release);
    Ok(())
}

pub unsafe extern "system" fn bind_buffer_memory(
    _device: vk::Device,
    buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    offset: vk::DeviceSize,
) -> vk::Result {
    guard("vkBindBufferMemory", || {
        bind(buffer, memory, offset)?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn bind_buffer_memory2(
    _device: vk::Device,
    count: u32,
    infos: *const vk::BindBufferMemoryInfo<'_>,
) -> vk::Result {
    guard("vkBindBufferMemory2", || {
        // SAFETY: infos holds count valid structs.
        for i in unsafe { handle::slice(infos, count) } {
            bind(i.buffer, i.memory, i.memory_offset)?;
        }
        Ok(vk::Result::SUCCESS)
    })
}
