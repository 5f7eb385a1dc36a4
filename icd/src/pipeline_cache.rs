//! `VkPipelineCache`: what compiling a compute shader found out, by the
//! hash of everything that went in (SPIR-V, entry point, specialization):
//! the workgroup size and shared memory the shader core's decoder reported.
//! A hit skips the decode (the expensive part of pipeline creation).
//!
//! Data layout: the spec's header (header size 32, version ONE, vendor and
//! device ID, `pipelineCacheUUID`), then entries of six little-endian u32:
//! key (2 words), workgroup size x, y, z, shared bytes.

use std::collections::HashMap;
use std::sync::Mutex;

use ash::vk;

use crate::device::Device;
use crate::guard::{guard, guard_void, VkResult};
use crate::handle;
use crate::physical_device::{driver_uuid, fnv1a, FNV_BASIS, VENDOR_ID_ARM};

const HEADER_BYTES: usize = 32;
const ENTRY_BYTES: usize = 24;

/// What a cache remembers of one compiled shader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compiled {
    pub local_size: [u32; 3],
    pub shared_bytes: u32,
}

pub struct PipelineCache {
    header: [u8; HEADER_BYTES],
    entries: Mutex<HashMap<u64, Compiled>>,
}

/// The cache key of a compilation's inputs (each part ended by a marker
/// word, so moving words between parts changes the key).
pub fn key_of(parts: &[&[u32]]) -> u64 {
    let words = parts
        .iter()
        .flat_map(|p| p.iter().chain(std::iter::once(&u32::MAX)));
    fnv1a(FNV_BASIS, words.flat_map(|w| w.to_le_bytes()))
}

impl PipelineCache {
    /// # Safety
    /// `h` is null or a live cache of ours.
    pub unsafe fn optional<'a>(h: vk::PipelineCache) -> Option<&'a PipelineCache> {
        // SAFETY: forwarded contract.
        unsafe { handle::optional(h) }
    }

    fn new(gpu_id: u32, initial: &[u8]) -> PipelineCache {
        let mut header = [0u8; HEADER_BYTES];
        header[0..4].copy_from_slice(&(HEADER_BYTES as u32).to_le_bytes());
        header[4..8].copy_from_slice(&1u32.to_le_bytes());
        header[8..12].copy_from_slice(&VENDOR_ID_ARM.to_le_bytes());
        header[12..16].copy_from_slice(&(gpu_id >> 16).to_le_bytes());
        header[16..32].copy_from_slice(&driver_uuid(gpu_id, b"cache"));
        let mut entries = HashMap::new();
        // Data from another driver, device or build is ignored, as the
        // spec allows.
        if initial.len() >= HEADER_BYTES && initial[..HEADER_BYTES] == header {
            for e in initial[HEADER_BYTES..].chunks_exact(ENTRY_BYTES) {
                let w = |i: usize| {
                    u32::from_le_bytes([e[4 * i], e[4 * i + 1], e[4 * i + 2], e[4 * i + 3]])
                };
                let key = w(0) as u64 | (w(1) as u64) << 32;
                entries.insert(
                    key,
                    Compiled {
                        local_size: [w(2), w(3), w(4)],
                        shared_bytes: w(5),
                    },
                );
            }
        }
        PipelineCache {
            header,
            entries: Mutex::new(entries),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Compiled>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: u64) -> Option<Compiled> {
        self.lock().get(&key).copied()
    }

    pub fn insert(&self, key: u64, c: Compiled) {
        self.lock().insert(key, c);
    }

    fn data(&self) -> Vec<u8> {
        let mut out = self.header.to_vec();
        let mut entries: Vec<_> = self.lock().iter().map(|(&k, &c)| (k, c)).collect();
        entries.sort_by_key(|e| e.0);
        for (k, c) in entries {
            for w in [
                k as u32,
                (k >> 32) as u32,
                c.local_size[0],
                c.local_size[1],
                c.local_size[2],
                c.shared_bytes,
            ] {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out
    }
}

pub unsafe extern "system" fn create_pipeline_cache(
    device: vk::Device,
    info: *const vk::PipelineCacheCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::PipelineCache,
) -> vk::Result {
    guard("vkCreatePipelineCache", || {
        // SAFETY: the device is ours; info is valid with initialDataSize bytes.
        let (dev, info) = unsafe { (Device::from_handle(device)?, &*info) };
        // SAFETY: as above.
        let initial = unsafe {
            handle::slice(
                info.p_initial_data as *const u8,
                info.initial_data_size as u32,
            )
        };
        let cache = PipelineCache::new(dev.gpu.gpu_id, initial);
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(cache)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_pipeline_cache(
    _device: vk::Device,
    cache: vk::PipelineCache,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyPipelineCache", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<PipelineCache, _>(cache) });
        Ok(())
    })
}

pub unsafe extern "system" fn get_pipeline_cache_data(
    _device: vk::Device,
    cache: vk::PipelineCache,
    size: *mut usize,
    data: *mut std::ffi::c_void,
) -> vk::Result {
    guard("vkGetPipelineCacheData", || {
        // SAFETY: the handle is ours.
        let bytes = unsafe { handle::object::<PipelineCache, _>(cache) }?.data();
        if data.is_null() {
            // SAFETY: size is valid for a write.
            unsafe { *size = bytes.len() };
            return Ok(vk::Result::SUCCESS);
        }
        // SAFETY: size is valid; data holds *size bytes.
        let room = unsafe { *size };
        // Whole entries only; INCOMPLETE when some did not fit.
        let fit = if room >= bytes.len() {
            bytes.len()
        } else if room < HEADER_BYTES {
            0
        } else {
            HEADER_BYTES + (room - HEADER_BYTES) / ENTRY_BYTES * ENTRY_BYTES
        };
        // SAFETY: as above.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), data as *mut u8, fit);
            *size = fit;
        }
        Ok(if fit < bytes.len() {
            vk::Result::INCOMPLETE
        } else {
            vk::Result::SUCCESS
        })
    })
}

pub unsafe extern "system" fn merge_pipeline_caches(
    _device: vk::Device,
    dst: vk::PipelineCache,
    count: u32,
    srcs: *const vk::PipelineCache,
) -> vk::Result {
    guard("vkMergePipelineCaches", || {
        // SAFETY: the handles are ours; srcs holds count handles.
        let (dst, srcs) = unsafe {
            (
                handle::object::<PipelineCache, _>(dst)?,
                handle::slice(srcs, count),
            )
        };
        for &s in srcs {
            // SAFETY: as above.
            let src: VkResult<&PipelineCache> = unsafe { handle::object(s) };
            let copy: Vec<_> = src?.lock().iter().map(|(&k, &c)| (k, c)).collect();
            for (k, c) in copy {
                dst.insert(k, c);
            }
        }
        Ok(vk::Result::SUCCESS)
    })
}
