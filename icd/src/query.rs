//! `VkQueryPool`: one 16-byte slot per query in GPU memory, the 64-bit
//! result at +0 and a 32-bit availability word at +8 (non-zero once the
//! result is written). Command streams write timestamps with `STORE_STATE`
//! and availability with `SYNC_SET32` (`cs_query.rs`); the host reads both
//! through the CPU mapping.
//!
//! The spec allows `vkCmdWriteTimestamp` on transfer queues but
//! `vkCmdResetQueryPool` and `vkCmdCopyQueryPoolResults` only on graphics or
//! compute ones: until the universal family reports COMPUTE, applications
//! reset with `vkResetQueryPool` (VK_EXT_host_query_reset) and read with
//! `vkGetQueryPoolResults`. The GPU-side forms are implemented regardless.
//!
//! Timestamp pools are the ones that get results: the queues are transfer
//! queues, and occlusion and pipeline-statistics queries need graphics or
//! compute work to count. Occlusion pools can be created, reset and read
//! (they stay unavailable); `vkCmdBeginQuery` on them is refused at record
//! time with the reason.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use ash::vk;

use crate::command_buffer::cb;
use crate::cs_query;
use crate::device::{Device, DeviceRef};
use crate::guard::{guard, guard_void, VkError, VkResult};
use crate::memory::Memory;
use crate::{handle, vk_bail};

/// Bytes per query: result (u64), availability (u32), padding.
pub const SLOT: u64 = 16;
/// Offset of the availability word in a slot.
pub const AVAILABLE: u64 = 8;

/// What `VkQueryResultFlags` ask of a host read or a GPU copy.
pub struct ResultFlags {
    /// 64-bit values (`VK_QUERY_RESULT_64_BIT`), else the low 32 bits.
    pub wide: bool,
    /// Append the availability value after the result.
    pub with_availability: bool,
    /// Wait until the query is available.
    pub wait: bool,
    /// Write unavailable results too (there are no intermediate values:
    /// the slot's 0).
    pub partial: bool,
}

impl ResultFlags {
    pub fn new(flags: vk::QueryResultFlags) -> ResultFlags {
        ResultFlags {
            wide: flags.contains(vk::QueryResultFlags::TYPE_64),
            with_availability: flags.contains(vk::QueryResultFlags::WITH_AVAILABILITY),
            wait: flags.contains(vk::QueryResultFlags::WAIT),
            partial: flags.contains(vk::QueryResultFlags::PARTIAL),
        }
    }

    /// Bytes of one value (result or availability).
    pub fn word(&self) -> u64 {
        if self.wide {
            8
        } else {
            4
        }
    }

    /// Bytes `count` queries `stride` apart cover.
    pub fn span(&self, count: u32, stride: u64) -> u64 {
        match count {
            0 => 0,
            n => (n as u64 - 1) * stride + self.word() * (1 + self.with_availability as u64),
        }
    }
}

pub struct QueryPool {
    pub ty: vk::QueryType,
    pub count: u32,
    mem: Memory,
}

impl QueryPool {
    /// # Safety
    /// `h` is null or a live query pool of ours.
    pub unsafe fn from_handle<'a>(h: vk::QueryPool) -> VkResult<&'a QueryPool> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    fn new(dev: &DeviceRef, ty: vk::QueryType, count: u32) -> VkResult<QueryPool> {
        match ty {
            vk::QueryType::TIMESTAMP | vk::QueryType::OCCLUSION => {}
            _ => vk_bail!(
                vk::Result::ERROR_FEATURE_NOT_PRESENT,
                "query type {ty:?}: only TIMESTAMP and OCCLUSION pools exist on this device \
                 (pipelineStatisticsQuery is false, no query extension is enabled)"
            ),
        }
        if count == 0 {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "queryCount is 0 (VUID-VkQueryPoolCreateInfo-queryCount-02763)"
            );
        }
        let pool = QueryPool {
            ty,
            count,
            mem: Memory::new(dev, count as u64 * SLOT)?,
        };
        pool.host_reset(0, count)?;
        Ok(pool)
    }

    /// GPU VA of query `q`'s slot.
    pub fn slot_va(&self, q: u32) -> u64 {
        self.mem.va + q as u64 * SLOT
    }

    /// Checks that `[first, first + count)` names queries of this pool.
    pub fn check_range(&self, first: u32, count: u32, what: &str) -> VkResult<()> {
        match first.checked_add(count) {
            Some(end) if end <= self.count => Ok(()),
            _ => vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "{what}: queries {first}..{first}+{count} outside a pool of {}",
                self.count
            ),
        }
    }

    /// The slot's result and availability words, as the GPU writes them.
    fn words(&self, q: u32) -> VkResult<(&AtomicU64, &AtomicU32)> {
        let base = self.mem.cpu_ptr()?;
        let off = (q as u64 * SLOT) as usize;
        // SAFETY: the mapping covers every slot (count * SLOT bytes, page
        // aligned, living as long as self.mem); slots are 16-byte aligned
        // and the GPU and host access these words only whole.
        Ok(unsafe {
            (
                &*(base.add(off) as *const AtomicU64),
                &*(base.add(off + AVAILABLE as usize) as *const AtomicU32),
            )
        })
    }

    fn host_reset(&self, first: u32, count: u32) -> VkResult<()> {
        for q in first..first + count {
            let (value, avail) = self.words(q)?;
            avail.store(0, Ordering::Release);
            value.store(0, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Query `q`'s result once available; `wait` polls until it is.
    fn read(&self, dev: &Device, q: u32, wait: bool) -> VkResult<Option<u64>> {
        let (value, avail) = self.words(q)?;
        loop {
            if avail.load(Ordering::Acquire) != 0 {
                return Ok(Some(value.load(Ordering::Relaxed)));
            }
            if !wait {
                return Ok(None);
            }
            dev.check_lost()?;
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

pub unsafe extern "system" fn create_query_pool(
    device: vk::Device,
    info: *const vk::QueryPoolCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::QueryPool,
) -> vk::Result {
    guard("vkCreateQueryPool", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pCreateInfo") }?;
        let pool = QueryPool::new(dev, info.query_type, info.query_count)?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(pool)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_query_pool(
    _device: vk::Device,
    pool: vk::QueryPool,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyQueryPool", || {
        // SAFETY: the handle is ours and no pending work uses it (valid usage).
        drop(unsafe { handle::free_handle::<QueryPool, _>(pool) });
        Ok(())
    })
}

pub unsafe extern "system" fn reset_query_pool(
    _device: vk::Device,
    pool: vk::QueryPool,
    first: u32,
    count: u32,
) {
    guard_void("vkResetQueryPool", || {
        // SAFETY: the handle is ours.
        let pool = unsafe { QueryPool::from_handle(pool) }?;
        pool.check_range(first, count, "vkResetQueryPool")?;
        pool.host_reset(first, count)
    })
}

#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn get_query_pool_results(
    device: vk::Device,
    pool: vk::QueryPool,
    first: u32,
    count: u32,
    data_size: usize,
    data: *mut std::ffi::c_void,
    stride: vk::DeviceSize,
    flags: vk::QueryResultFlags,
) -> vk::Result {
    guard("vkGetQueryPoolResults", || {
        // SAFETY: the device and pool are ours.
        let (dev, pool) = unsafe { (Device::from_handle(device)?, QueryPool::from_handle(pool)?) };
        pool.check_range(first, count, "vkGetQueryPoolResults")?;
        let how = ResultFlags::new(flags);
        let word = how.word();
        if count > 0 && (stride % word != 0 || (data as usize) % word as usize != 0) {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "pData and stride must be multiples of {word} bytes"
            );
        }
        let needed = how.span(count, stride);
        if needed > data_size as u64 {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "dataSize {data_size} is less than the {needed} bytes {count} queries need"
            );
        }
        let mut result = vk::Result::SUCCESS;
        for i in 0..count {
            let got = pool.read(dev, first + i, how.wait)?;
            let at = (i as u64 * stride) as usize;
            let put = |off: usize, v: u64| {
                // SAFETY: at + off + word <= needed <= dataSize bytes of
                // pData, aligned to `word` (both checked above).
                unsafe {
                    let p = (data as *mut u8).add(at + off);
                    if how.wide {
                        (p as *mut u64).write(v);
                    } else {
                        // 32-bit results keep the low word (they wrap).
                        (p as *mut u32).write(v as u32);
                    }
                }
            };
            match got {
                Some(v) => put(0, v),
                // No intermediate results exist: a partial one is 0.
                None if how.partial => put(0, 0),
                None => {}
            }
            if got.is_none() {
                result = vk::Result::NOT_READY;
            }
            if how.with_availability {
                put(word as usize, got.is_some() as u64);
            }
        }
        Ok(result)
    })
}

fn pool_of<'a>(h: vk::QueryPool) -> VkResult<&'a QueryPool> {
    // SAFETY: pools named by commands are ours (valid usage).
    unsafe { QueryPool::from_handle(h) }
}

pub unsafe extern "system" fn cmd_reset_query_pool(
    cb: vk::CommandBuffer,
    pool: vk::QueryPool,
    first: u32,
    count: u32,
) {
    guard_void("vkCmdResetQueryPool", || {
        cb!(cb).record("vkCmdResetQueryPool", |cs| {
            let pool = pool_of(pool)?;
            pool.check_range(first, count, "vkCmdResetQueryPool")?;
            cs_query::reset(cs, pool.slot_va(first), count);
            Ok(())
        })
    })
}

fn write_timestamp(
    cb: vk::CommandBuffer,
    pool: vk::QueryPool,
    query: u32,
    after_prior_work: bool,
    what: &str,
) -> VkResult<()> {
    cb!(cb).record(what, |cs| {
        let pool = pool_of(pool)?;
        pool.check_range(query, 1, what)?;
        if pool.ty != vk::QueryType::TIMESTAMP {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "{what}: the pool holds {:?} queries, not timestamps",
                pool.ty
            );
        }
        cs_query::write_timestamp(cs, pool.slot_va(query), after_prior_work);
        Ok(())
    })
}

/// Stages at which a timestamp may be taken before earlier commands finish.
fn samples_at_top(stages: vk::PipelineStageFlags2) -> bool {
    stages == vk::PipelineStageFlags2::TOP_OF_PIPE || stages == vk::PipelineStageFlags2::NONE
}

pub unsafe extern "system" fn cmd_write_timestamp(
    cb: vk::CommandBuffer,
    stage: vk::PipelineStageFlags,
    pool: vk::QueryPool,
    query: u32,
) {
    guard_void("vkCmdWriteTimestamp", || {
        let stages = vk::PipelineStageFlags2::from_raw(stage.as_raw() as u64);
        write_timestamp(
            cb,
            pool,
            query,
            !samples_at_top(stages),
            "vkCmdWriteTimestamp",
        )
    })
}

pub unsafe extern "system" fn cmd_write_timestamp2(
    cb: vk::CommandBuffer,
    stage: vk::PipelineStageFlags2,
    pool: vk::QueryPool,
    query: u32,
) {
    guard_void("vkCmdWriteTimestamp2", || {
        write_timestamp(
            cb,
            pool,
            query,
            !samples_at_top(stage),
            "vkCmdWriteTimestamp2",
        )
    })
}

#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn cmd_copy_query_pool_results(
    cb: vk::CommandBuffer,
    pool: vk::QueryPool,
    first: u32,
    count: u32,
    dst: vk::Buffer,
    dst_offset: vk::DeviceSize,
    stride: vk::DeviceSize,
    flags: vk::QueryResultFlags,
) {
    guard_void("vkCmdCopyQueryPoolResults", || {
        let what = "vkCmdCopyQueryPoolResults";
        cb!(cb).record(what, |cs| {
            let pool = pool_of(pool)?;
            pool.check_range(first, count, what)?;
            // SAFETY: buffers named by commands are ours (valid usage).
            let buf = unsafe { crate::buffer::Buffer::from_handle(dst) }?;
            let how = ResultFlags::new(flags);
            let word = how.word();
            if dst_offset % word != 0 || (count > 1 && stride % word != 0) {
                vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "{what}: dstOffset {dst_offset} and stride {stride} must be multiples of {word}"
                );
            }
            buf.check_range(dst_offset, how.span(count, stride), what)?;
            let base = buf.address(dst_offset)?;
            for i in 0..count {
                cs_query::copy_result(cs, pool.slot_va(first + i), base + i as u64 * stride, &how);
            }
            Ok(())
        })
    })
}

pub unsafe extern "system" fn cmd_begin_query(
    cb: vk::CommandBuffer,
    _pool: vk::QueryPool,
    _query: u32,
    _flags: vk::QueryControlFlags,
) {
    guard_void("vkCmdBeginQuery", || {
        cb!(cb).record("vkCmdBeginQuery", |_| {
            Err(VkError::new(
                vk::Result::ERROR_UNKNOWN,
                "occlusion queries count graphics work: this device has no graphics queue \
                 (VUID-vkCmdBeginQuery-queryType-00803)",
            ))
        })
    })
}

pub unsafe extern "system" fn cmd_end_query(
    cb: vk::CommandBuffer,
    _pool: vk::QueryPool,
    _query: u32,
) {
    guard_void("vkCmdEndQuery", || {
        cb!(cb).record("vkCmdEndQuery", |_| {
            Err(VkError::new(
                vk::Result::ERROR_UNKNOWN,
                "vkCmdEndQuery without an active query (no query can begin on this device)",
            ))
        })
    })
}
