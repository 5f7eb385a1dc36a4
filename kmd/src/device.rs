//! The device: what all open files share (the hardware, the scheduler,
//! the identification the GPU gave at probe time).

use alloc::sync::Arc;

use crate::gpu_info::{read_csif_info, read_gpu_info, va_bits};
use crate::hw::Hardware;
use crate::pgtable::SparseLayout;
use crate::sched::Scheduler;
use crate::shim::Lock;
use crate::uapi::*;
use crate::wait::Waiter;
use crate::Errno;

/// Frequency of the GPU timestamp counter (the SoC's architected timer on
/// RK3588 boards).
pub const TIMESTAMP_FREQUENCY: u64 = 24_000_000;

/// Page sizes VM_BIND maps with: 4 KiB pages and 2 MiB blocks.
pub const PAGE_SIZE_BITMAP: u64 = (1 << 12) | (1 << 21);

/// Room for the largest DEV_QUERY object.
const QUERY_BUF: usize = 256;

/// One panthor device.
pub struct Device {
    pub hw: Arc<dyn Hardware>,
    pub waiter: Arc<dyn Waiter>,
    pub sched: Lock<Scheduler>,
    pub gpu_info: drm_panthor_gpu_info,
    pub csif_info: drm_panthor_csif_info,
    pub va_bits: u32,
    /// How sparse ranges are laid out in page tables (shared tables unless
    /// a benchmark asks for the seed's layout).
    pub layout: SparseLayout,
}

impl Device {
    /// Probes the GPU behind `hw`.
    pub fn new(hw: Arc<dyn Hardware>, waiter: Arc<dyn Waiter>) -> Result<Device, Errno> {
        let gpu_info = read_gpu_info(&*hw);
        let csif_info = read_csif_info(hw.csf_interface());
        let va_bits = va_bits(gpu_info.mmu_features);
        if !(32..=48).contains(&va_bits) {
            kwarn!("MMU_FEATURES gives {va_bits} VA bits");
            return Err(Errno::ENODEV);
        }
        let sched = Lock::new(Scheduler::new(hw.clone())?);
        Ok(Device {
            hw,
            waiter,
            sched,
            gpu_info,
            csif_info,
            va_bits,
            layout: SparseLayout::Shared,
        })
    }

    /// Runs the scheduler once; wakes waiters when anything changed.
    pub fn tick(&self) -> bool {
        let progress = self.sched.lock().tick(self.waiter.now_ns());
        if progress {
            self.waiter.wake_all();
        }
        progress
    }

    /// DEV_QUERY. With `out == None` returns the object's size; otherwise
    /// copies `min(out.len(), size)` bytes, zeroes the rest of `out`, and
    /// returns the bytes copied. EINVAL for an unknown type.
    pub fn dev_query(&self, ty: u32, out: Option<&mut [u8]>) -> Result<u32, Errno> {
        let mut buf = [0u8; QUERY_BUF];
        let len = match ty {
            DRM_PANTHOR_DEV_QUERY_GPU_INFO => put(&mut buf, &self.gpu_info),
            DRM_PANTHOR_DEV_QUERY_CSIF_INFO => put(&mut buf, &self.csif_info),
            DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO => {
                let flags = requested_timestamp_flags(out.as_deref());
                put(&mut buf, &self.timestamp_info(flags)?)
            }
            DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO => put(
                &mut buf,
                &drm_panthor_group_priorities_info {
                    // HIGH and REALTIME need CAP_SYS_NICE or DRM master,
                    // which an in-process client never has.
                    allowed_mask: (1 << PANTHOR_GROUP_PRIORITY_LOW)
                        | (1 << PANTHOR_GROUP_PRIORITY_MEDIUM),
                    pad: [0; 3],
                },
            ),
            DRM_PANTHOR_DEV_QUERY_MMU_INFO => put(
                &mut buf,
                &drm_panthor_mmu_info {
                    page_size_bitmap: PAGE_SIZE_BITMAP,
                },
            ),
            _ => return Err(Errno::EINVAL),
        };
        let Some(out) = out else {
            return Ok(len as u32);
        };
        if out.len() < min_size(ty) {
            return Err(Errno::EINVAL);
        }
        let n = out.len().min(len);
        out[..n].copy_from_slice(&buf[..n]);
        out[n..].fill(0);
        Ok(n as u32)
    }

    /// TIMESTAMP_INFO as driver 1.8 answers it: `flags` (the caller's, or
    /// GPU | GPU_OFFSET | FREQ when it passes 0 or an older, shorter
    /// struct) selects what is sampled; the rest reads 0. An unknown flag or
    /// CPU clock is EINVAL. `flags` goes back as the caller gave it.
    fn timestamp_info(&self, flags: u32) -> Result<drm_panthor_timestamp_info, Errno> {
        const VALID: u32 = DRM_PANTHOR_TIMESTAMP_GPU
            | DRM_PANTHOR_TIMESTAMP_CPU_TYPE_MASK
            | DRM_PANTHOR_TIMESTAMP_GPU_OFFSET
            | DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT
            | DRM_PANTHOR_TIMESTAMP_FREQ
            | DRM_PANTHOR_TIMESTAMP_DURATION;
        let asked = match flags {
            0 => {
                DRM_PANTHOR_TIMESTAMP_GPU
                    | DRM_PANTHOR_TIMESTAMP_GPU_OFFSET
                    | DRM_PANTHOR_TIMESTAMP_FREQ
            }
            f => f,
        };
        let cpu = asked & DRM_PANTHOR_TIMESTAMP_CPU_TYPE_MASK;
        if asked & !VALID != 0
            || !matches!(
                cpu,
                DRM_PANTHOR_TIMESTAMP_CPU_NONE
                    | DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC
                    | DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC_RAW
            )
        {
            // User input: refused quietly, as the kernel does.
            return Err(Errno::EINVAL);
        }
        let has = |f: u32| asked & f != 0;
        let mut info = drm_panthor_timestamp_info {
            flags,
            ..Default::default()
        };
        if has(DRM_PANTHOR_TIMESTAMP_FREQ) {
            info.timestamp_frequency = TIMESTAMP_FREQUENCY;
        }
        // GPU_OFFSET: the virtual GPU's TIMESTAMP_OFFSET register is 0.
        let start = self.waiter.now_ns();
        if has(DRM_PANTHOR_TIMESTAMP_GPU) {
            info.current_timestamp = self.hw.gpu_timestamp();
        }
        let cpu_ns = match cpu {
            DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC => Some(self.waiter.now_ns()),
            DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC_RAW => Some(self.waiter.now_raw_ns()),
            _ => None,
        };
        if has(DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT) {
            info.cycle_count = self.hw.gpu_cycle_count();
        }
        if has(DRM_PANTHOR_TIMESTAMP_DURATION) {
            info.duration_nsec = (self.waiter.now_ns() - start).clamp(0, u32::MAX as i64) as u32;
        }
        if let Some(ns) = cpu_ns {
            let ns = ns.max(0) as u64;
            info.cpu_timestamp_sec = ns / 1_000_000_000;
            info.cpu_timestamp_nsec = ns % 1_000_000_000;
        }
        Ok(info)
    }
}

/// The `flags` input of a TIMESTAMP_INFO query: 0 when the caller's struct
/// is too short to hold it (an older caller).
fn requested_timestamp_flags(out: Option<&[u8]>) -> u32 {
    let at = core::mem::offset_of!(drm_panthor_timestamp_info, flags);
    match out.and_then(|b| b.get(at..at + 4)) {
        Some(w) => u32::from_le_bytes([w[0], w[1], w[2], w[3]]),
        None => 0,
    }
}

/// `PANTHOR_UOBJ_MIN_SIZE`: the size of an object's first version (up to
/// its last mandatory field); a smaller user buffer is refused.
fn min_size(ty: u32) -> usize {
    use core::mem::{offset_of, size_of};
    match ty {
        DRM_PANTHOR_DEV_QUERY_GPU_INFO => offset_of!(drm_panthor_gpu_info, tiler_present) + 8,
        DRM_PANTHOR_DEV_QUERY_CSIF_INFO => size_of::<drm_panthor_csif_info>(),
        DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO => {
            offset_of!(drm_panthor_timestamp_info, current_timestamp) + 8
        }
        DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO => {
            size_of::<drm_panthor_group_priorities_info>()
        }
        _ => size_of::<drm_panthor_mmu_info>(),
    }
}

/// Copies a plain uAPI struct into `buf`; returns its size.
fn put<T: Copy>(buf: &mut [u8; QUERY_BUF], value: &T) -> usize {
    let size = core::mem::size_of::<T>();
    assert!(size <= buf.len(), "query object larger than the buffer");
    // SAFETY: T is one of the integer-only repr(C) uAPI structs above (any
    // byte is initialised, pads included since they are explicit fields),
    // and `size` bytes fit in `buf` (asserted).
    unsafe {
        core::ptr::copy_nonoverlapping(value as *const T as *const u8, buf.as_mut_ptr(), size)
    };
    size
}
