//! `VkEvent`: a 32-bit word in GPU memory, 1 when set. The host reads and
//! writes it through the CPU mapping; command streams set it with
//! `SYNC_SET32` and wait for it with `SYNC_WAIT32` (which real CSF
//! hardware re-evaluates when a SYNC_SET lands, as the virtual Mali does).

use std::sync::atomic::{AtomicU32, Ordering};

use ash::vk;

use crate::device::Device;
use crate::guard::{guard, guard_void, VkResult};
use crate::handle;
use crate::memory::Memory;

pub struct Event {
    mem: Memory,
}

pub const EVENT_SET: u32 = 1;
pub const EVENT_RESET: u32 = 0;

impl Event {
    /// # Safety
    /// `h` is null or a live event of ours.
    pub unsafe fn from_handle<'a>(h: vk::Event) -> VkResult<&'a Event> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    /// GPU VA of the event word.
    pub fn va(&self) -> u64 {
        self.mem.va
    }

    fn word(&self) -> VkResult<&AtomicU32> {
        let p = self.mem.cpu_ptr()? as *const AtomicU32;
        // SAFETY: the mapping is page aligned, lives as long as self.mem, and
        // the GPU and CPU only ever access this word atomically (32-bit).
        Ok(unsafe { &*p })
    }
}

pub unsafe extern "system" fn create_event(
    device: vk::Device,
    _info: *const vk::EventCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Event,
) -> vk::Result {
    guard("vkCreateEvent", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        let ev = Event {
            mem: Memory::new(dev, 4096)?,
        };
        ev.word()?.store(EVENT_RESET, Ordering::Release);
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(ev)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_event(
    _device: vk::Device,
    event: vk::Event,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyEvent", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<Event, _>(event) });
        Ok(())
    })
}

pub unsafe extern "system" fn get_event_status(
    _device: vk::Device,
    event: vk::Event,
) -> vk::Result {
    guard("vkGetEventStatus", || {
        // SAFETY: the handle is ours.
        let ev = unsafe { Event::from_handle(event) }?;
        ev.mem.dev.check_lost()?;
        Ok(if ev.word()?.load(Ordering::Acquire) == EVENT_SET {
            vk::Result::EVENT_SET
        } else {
            vk::Result::EVENT_RESET
        })
    })
}

fn host_write(event: vk::Event, value: u32) -> VkResult<vk::Result> {
    // SAFETY: the handle is ours.
    let ev = unsafe { Event::from_handle(event) }?;
    ev.word()?.store(value, Ordering::Release);
    Ok(vk::Result::SUCCESS)
}

pub unsafe extern "system" fn set_event(_device: vk::Device, event: vk::Event) -> vk::Result {
    guard("vkSetEvent", || host_write(event, EVENT_SET))
}

pub unsafe extern "system" fn reset_event(_device: vk::Device, event: vk::Event) -> vk::Result {
    guard("vkResetEvent", || host_write(event, EVENT_RESET))
}
