//! `VkCommandPool`: owns its command buffers (destroying the pool frees
//! them).

use std::sync::Mutex;

use ash::vk;

use crate::command_buffer::CommandBuffer;
use crate::device::{Device, DeviceRef};
use crate::guard::{guard, guard_void, VkResult};
use crate::handle;

pub struct CommandPool {
    pub dev: DeviceRef,
    pub family: u32,
    buffers: Mutex<Vec<vk::CommandBuffer>>,
}

impl CommandPool {
    /// # Safety
    /// `h` is null or a live pool of ours.
    pub unsafe fn from_handle<'a>(h: vk::CommandPool) -> VkResult<&'a CommandPool> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    fn buffers(&self) -> std::sync::MutexGuard<'_, Vec<vk::CommandBuffer>> {
        self.buffers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for CommandPool {
    fn drop(&mut self) {
        for cb in std::mem::take(&mut *self.buffers()) {
            // SAFETY: the pool made these handles and still owns them.
            drop(unsafe { handle::free_dispatchable::<CommandBuffer, _>(cb) });
        }
    }
}

pub unsafe extern "system" fn create_command_pool(
    device: vk::Device,
    info: *const vk::CommandPoolCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::CommandPool,
) -> vk::Result {
    guard("vkCreateCommandPool", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pCreateInfo") }?;
        let pool = CommandPool {
            dev: dev.clone(),
            family: info.queue_family_index,
            buffers: Mutex::new(Vec::new()),
        };
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(pool)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_command_pool(
    _device: vk::Device,
    pool: vk::CommandPool,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyCommandPool", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<CommandPool, _>(pool) });
        Ok(())
    })
}

pub unsafe extern "system" fn reset_command_pool(
    _device: vk::Device,
    pool: vk::CommandPool,
    flags: vk::CommandPoolResetFlags,
) -> vk::Result {
    guard("vkResetCommandPool", || {
        // SAFETY: the handle is ours.
        let pool = unsafe { CommandPool::from_handle(pool) }?;
        for &cb in pool.buffers().iter() {
            // SAFETY: the pool's own command buffers.
            unsafe { CommandBuffer::from_handle(cb) }?
                .reset(flags.contains(vk::CommandPoolResetFlags::RELEASE_RESOURCES));
        }
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn trim_command_pool(
    _device: vk::Device,
    _pool: vk::CommandPool,
    _flags: vk::CommandPoolTrimFlags,
) {
    // Command buffers keep no pooled memory beyond their own stream.
}

pub unsafe extern "system" fn allocate_command_buffers(
    _device: vk::Device,
    info: *const vk::CommandBufferAllocateInfo<'_>,
    out: *mut vk::CommandBuffer,
) -> vk::Result {
    guard("vkAllocateCommandBuffers", || {
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pAllocateInfo") }?;
        // SAFETY: the pool is ours.
        let pool = unsafe { CommandPool::from_handle(info.command_pool) }?;
        let mut made = Vec::with_capacity(info.command_buffer_count as usize);
        for _ in 0..info.command_buffer_count {
            made.push(handle::new_dispatchable::<_, vk::CommandBuffer>(
                CommandBuffer::new(pool.dev.clone(), pool.family, info.level),
            ));
        }
        // SAFETY: out has room for commandBufferCount handles (valid usage).
        unsafe { std::ptr::copy_nonoverlapping(made.as_ptr(), out, made.len()) };
        pool.buffers().extend(made);
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn free_command_buffers(
    _device: vk::Device,
    pool: vk::CommandPool,
    count: u32,
    buffers: *const vk::CommandBuffer,
) {
    guard_void("vkFreeCommandBuffers", || {
        // SAFETY: the pool is ours.
        let pool = unsafe { CommandPool::from_handle(pool) }?;
        // SAFETY: buffers holds count handles (null ones are allowed).
        let free = unsafe { handle::slice(buffers, count) };
        let mut owned = pool.buffers();
        for &cb in free.iter().filter(|cb| **cb != vk::CommandBuffer::null()) {
            if let Some(i) = owned.iter().position(|&o| o == cb) {
                owned.swap_remove(i);
                // SAFETY: made by this pool and no longer listed in it.
                drop(unsafe { handle::free_dispatchable::<CommandBuffer, _>(cb) });
            }
        }
        Ok(())
    })
}
