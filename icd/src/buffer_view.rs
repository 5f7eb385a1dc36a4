//! `VkBufferView`: a texel buffer, as a structured `Buffer` descriptor
//! (address, bytes, element stride and format) the texture unit reads.

use ash::vk;
use mali_csf::desc::{self, BufferType, DESCRIPTOR_SIZE};

use crate::buffer::Buffer;
use crate::guard::{guard, guard_void, VkResult};
use crate::mali_format::mali_format;
use crate::{handle, vk_bail, vk_tables};

/// `maxTexelBufferElements`.
pub const MAX_TEXEL_BUFFER_ELEMENTS: u64 = 1 << 27;

pub struct BufferView {
    pub descriptor: [u8; DESCRIPTOR_SIZE],
}

impl BufferView {
    /// # Safety
    /// `h` is null or a live buffer view of ours.
    pub unsafe fn from_handle<'a>(h: vk::BufferView) -> VkResult<&'a BufferView> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    pub fn new(info: &vk::BufferViewCreateInfo<'_>) -> VkResult<BufferView> {
        // SAFETY: the buffer is ours (valid usage).
        let buffer = unsafe { Buffer::from_handle(info.buffer) }?;
        let (Some(fmt), Some(f)) = (mali_format(info.format), vk_tables::format(info.format))
        else {
            vk_bail!(
                vk::Result::ERROR_FORMAT_NOT_SUPPORTED,
                "{:?} has no texel buffer support",
                info.format
            );
        };
        let range = if info.range == vk::WHOLE_SIZE {
            buffer.size.saturating_sub(info.offset)
        } else {
            info.range
        };
        buffer.check_range(info.offset, range, "buffer view")?;
        let stride = f.block_bytes as u64;
        let elements = range / stride;
        if elements > MAX_TEXEL_BUFFER_ELEMENTS {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "{elements} elements; maxTexelBufferElements is {MAX_TEXEL_BUFFER_ELEMENTS}"
            );
        }
        let d = desc::Buffer {
            ty: BufferType::Structure,
            size: (elements * stride) as u32,
            address: buffer.address(info.offset)?,
            stride: stride as u32,
            format: Some(fmt.pixel),
        };
        Ok(BufferView {
            descriptor: d.pack(),
        })
    }
}

pub unsafe extern "system" fn create_buffer_view(
    _device: vk::Device,
    info: *const vk::BufferViewCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::BufferView,
) -> vk::Result {
    guard("vkCreateBufferView", || {
        // SAFETY: info is a valid create info.
        let view = BufferView::new(unsafe { &*info })?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(view)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_buffer_view(
    _device: vk::Device,
    view: vk::BufferView,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyBufferView", || {
        // SAFETY: the handle is ours and the application is done with it.
        let _ = unsafe { handle::free_handle::<BufferView, _>(view) };
        Ok(())
    })
}
