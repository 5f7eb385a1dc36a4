//! External memory (`VK_KHR_external_memory_fd`,
//! `VK_EXT_external_memory_dma_buf`): a `VkDeviceMemory` is one panthor BO,
//! so sharing it is PRIME. Exporting gives a dma-buf fd of the BO; importing
//! turns a dma-buf fd into a GEM handle in this device's file and maps it in
//! the device's VM like any allocation. Both handle types are dma-bufs here:
//! `OPAQUE_FD` is the same fd, for applications that share between Vulkan
//! devices of this driver only.
//!
//! The kernel gives back the handle a file already has for a BO (importing
//! our own export, or one dma-buf twice), so several memory objects can share
//! one handle: [`BoHandles`] counts them and closes the handle with the last.
//!
//! Sparse resources do not take external memory at creation (their binding
//! state is per device and cannot travel with an fd), but memory imported
//! from an fd binds to sparse resources like any other.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Mutex;

use ash::vk;
use panthor_uapi::device::{DRM_CLOEXEC, DRM_RDWR};
use panthor_uapi::Errno;

use crate::device::Device;
use crate::guard::{guard, VkError, VkResult};
use crate::memory::memory_ref;
use crate::{handle, vk_bail};

/// The handle types memory can be shared as.
pub const HANDLE_TYPES: vk::ExternalMemoryHandleTypeFlags =
    vk::ExternalMemoryHandleTypeFlags::from_raw(
        vk::ExternalMemoryHandleTypeFlags::OPAQUE_FD.as_raw()
            | vk::ExternalMemoryHandleTypeFlags::DMA_BUF_EXT.as_raw(),
    );

/// What a resource with `sparse` creation flags (or not) can do with
/// `handle_type`: exportable and importable unless sparse or unknown.
pub fn properties(
    handle_type: vk::ExternalMemoryHandleTypeFlags,
    sparse: bool,
) -> vk::ExternalMemoryProperties {
    if sparse || handle_type.is_empty() || !HANDLE_TYPES.contains(handle_type) {
        log::debug!("external memory {handle_type:?} (sparse: {sparse}) is not supported");
        return vk::ExternalMemoryProperties::default();
    }
    vk::ExternalMemoryProperties {
        external_memory_features: vk::ExternalMemoryFeatureFlags::EXPORTABLE
            | vk::ExternalMemoryFeatureFlags::IMPORTABLE,
        export_from_imported_handle_types: HANDLE_TYPES,
        compatible_handle_types: HANDLE_TYPES,
    }
}

/// True for buffer creation flags that make a sparse buffer.
pub fn is_sparse_buffer(flags: vk::BufferCreateFlags) -> bool {
    flags.intersects(
        vk::BufferCreateFlags::SPARSE_BINDING
            | vk::BufferCreateFlags::SPARSE_RESIDENCY
            | vk::BufferCreateFlags::SPARSE_ALIASED,
    )
}

/// True for image creation flags that make a sparse image.
pub fn is_sparse_image(flags: vk::ImageCreateFlags) -> bool {
    flags.intersects(
        vk::ImageCreateFlags::SPARSE_BINDING
            | vk::ImageCreateFlags::SPARSE_RESIDENCY
            | vk::ImageCreateFlags::SPARSE_ALIASED,
    )
}

/// Refuses a handle type we cannot import or export.
pub fn check_handle_type(handle_type: vk::ExternalMemoryHandleTypeFlags) -> VkResult<()> {
    if handle_type.is_empty() || !HANDLE_TYPES.contains(handle_type) {
        vk_bail!(
            vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
            "external memory handle type {handle_type:?} is not supported (only OPAQUE_FD and DMA_BUF)"
        );
    }
    Ok(())
}

/// The size of the dma-buf behind `fd` (what `lseek(SEEK_END)` says, as
/// for any dma-buf).
pub fn dma_buf_size(fd: BorrowedFd<'_>) -> VkResult<u64> {
    // SAFETY: lseek on a borrowed, open fd touches no memory of ours.
    let end = unsafe { libc::lseek(fd.as_raw_fd(), 0, libc::SEEK_END) };
    if end < 0 {
        vk_bail!(
            vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
            "fd {} is not a dma-buf (lseek: {})",
            fd.as_raw_fd(),
            std::io::Error::last_os_error()
        );
    }
    Ok(end as u64)
}

/// GEM handles of memory objects, each with how many memory objects use it.
#[derive(Default)]
pub struct BoHandles(Mutex<HashMap<u32, u32>>);

impl BoHandles {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<u32, u32>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a handle BO_CREATE just made.
    pub fn created(&self, handle: u32) {
        self.table().insert(handle, 1);
    }

    /// PRIME-imports `fd` and counts one more user of the handle. The table
    /// stays locked across the ioctl so a concurrent [`close`](Self::close)
    /// of the same handle cannot slip between the kernel's answer and the
    /// count.
    pub fn import(&self, dev: &Device, fd: BorrowedFd<'_>) -> VkResult<u32> {
        let mut table = self.table();
        let handle = dev.file.prime_fd_to_handle(fd).map_err(|e| {
            let what = format!("PRIME import of fd {}", fd.as_raw_fd());
            VkError::from_errno_or(e, &what, vk::Result::ERROR_INVALID_EXTERNAL_HANDLE)
        })?;
        *table.entry(handle).or_insert(0) += 1;
        Ok(handle)
    }

    /// One user fewer; the last closes the handle.
    pub fn close(&self, dev: &Device, handle: u32) {
        let mut table = self.table();
        match table.get_mut(&handle) {
            Some(n) if *n > 1 => *n -= 1,
            _ => {
                table.remove(&handle);
                if let Err(e) = dev.file.gem_close(handle) {
                    log::error!("GEM_CLOSE({handle}): {e}");
                }
            }
        }
    }
}

pub unsafe extern "system" fn get_memory_fd(
    _device: vk::Device,
    info: *const vk::MemoryGetFdInfoKHR<'_>,
    out: *mut i32,
) -> vk::Result {
    guard("vkGetMemoryFdKHR", || {
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pGetFdInfo") }?;
        check_handle_type(info.handle_type)?;
        // SAFETY: the memory is ours (valid usage).
        let mem = unsafe { memory_ref(info.memory) }?;
        let fd = mem
            .dev
            .file
            .prime_handle_to_fd(mem.bo, DRM_CLOEXEC | DRM_RDWR)
            .map_err(|e| {
                let result = match e {
                    Errno::ENOMEM => vk::Result::ERROR_OUT_OF_HOST_MEMORY,
                    _ => vk::Result::ERROR_TOO_MANY_OBJECTS,
                };
                VkError::new(result, format!("PRIME export of BO {}: {e}", mem.bo))
            })?;
        log::debug!("memory: BO {} exported as fd {}", mem.bo, fd.as_raw_fd());
        // SAFETY: out is valid for a write; the application owns the fd now.
        unsafe { handle::out(out, std::os::fd::IntoRawFd::into_raw_fd(fd)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn get_memory_fd_properties(
    _device: vk::Device,
    handle_type: vk::ExternalMemoryHandleTypeFlags,
    fd: i32,
    out: *mut vk::MemoryFdPropertiesKHR<'_>,
) -> vk::Result {
    guard("vkGetMemoryFdPropertiesKHR", || {
        if handle_type != vk::ExternalMemoryHandleTypeFlags::DMA_BUF_EXT {
            vk_bail!(
                vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
                "fd properties are for DMA_BUF fds, not {handle_type:?}"
            );
        }
        if fd < 0 {
            vk_bail!(
                vk::Result::ERROR_INVALID_EXTERNAL_HANDLE,
                "fd {fd} is not open"
            );
        }
        // SAFETY: the application passes an open fd and keeps it open
        // during the call (valid usage); we only borrow it.
        dma_buf_size(unsafe { BorrowedFd::borrow_raw(fd) })?;
        // SAFETY: out is valid (valid usage).
        unsafe { (*out).memory_type_bits = 1 };
        Ok(vk::Result::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_and_unknown_handle_types_have_no_features() {
        let dma = vk::ExternalMemoryHandleTypeFlags::DMA_BUF_EXT;
        assert_eq!(
            properties(dma, false).external_memory_features,
            vk::ExternalMemoryFeatureFlags::EXPORTABLE | vk::ExternalMemoryFeatureFlags::IMPORTABLE
        );
        assert!(properties(dma, true).external_memory_features.is_empty());
        let host = vk::ExternalMemoryHandleTypeFlags::HOST_ALLOCATION_EXT;
        assert!(properties(host, false).external_memory_features.is_empty());
        assert!(check_handle_type(host).is_err());
        assert!(check_handle_type(vk::ExternalMemoryHandleTypeFlags::OPAQUE_FD).is_ok());
    }

    #[test]
    fn a_pipe_is_not_a_dma_buf() {
        let mut fds = [0i32; 2];
        // SAFETY: pipe writes two fds into our array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both fds were just opened and are owned here.
        let (r, w) = unsafe {
            use std::os::fd::FromRawFd;
            (
                std::os::fd::OwnedFd::from_raw_fd(fds[0]),
                std::os::fd::OwnedFd::from_raw_fd(fds[1]),
            )
        };
        use std::os::fd::AsFd;
        let e = dma_buf_size(r.as_fd()).unwrap_err();
        assert_eq!(e.result, vk::Result::ERROR_INVALID_EXTERNAL_HANDLE);
        drop(w);
    }
}
