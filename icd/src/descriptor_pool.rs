//! `VkDescriptorPool`: one GPU buffer of descriptor tables, carved into
//! sets first-fit; freeing returns a set's range, reset returns them all.

use std::sync::{Mutex, MutexGuard};

use ash::vk;

use crate::descriptor_set::DescriptorSet;
use crate::descriptor_set_layout::{DescriptorSetLayout, DESCRIPTOR_SIZE};
use crate::device::Device;
use crate::guard::{guard, guard_void, VkError, VkResult};
use crate::memory::Memory;
use crate::{handle, vk_bail};

pub struct DescriptorPool {
    pub mem: Memory,
    free_individual: bool,
    max_sets: u32,
    state: Mutex<PoolState>,
}

struct PoolState {
    /// Free byte ranges (offset, len), sorted by offset, never adjacent.
    free: Vec<(u64, u64)>,
    /// Live sets, freed with the pool or at reset.
    sets: Vec<vk::DescriptorSet>,
}

impl DescriptorPool {
    /// # Safety
    /// `h` is null or a live pool of ours.
    pub unsafe fn from_handle<'a>(h: vk::DescriptorPool) -> VkResult<&'a DescriptorPool> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    fn state(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self, len: u64) -> Option<u64> {
        if len == 0 {
            return Some(0);
        }
        let mut st = self.state();
        let i = st.free.iter().position(|&(_, l)| l >= len)?;
        let (off, l) = st.free[i];
        if l == len {
            st.free.remove(i);
        } else {
            st.free[i] = (off + len, l - len);
        }
        Some(off)
    }

    fn give_back(st: &mut PoolState, off: u64, len: u64) {
        if len == 0 {
            return;
        }
        let i = st.free.partition_point(|&(o, _)| o < off);
        st.free.insert(i, (off, len));
        // Merge with the next range, then with the previous one.
        if i + 1 < st.free.len() && st.free[i].0 + st.free[i].1 == st.free[i + 1].0 {
            st.free[i].1 += st.free[i + 1].1;
            st.free.remove(i + 1);
        }
        if i > 0 && st.free[i - 1].0 + st.free[i - 1].1 == st.free[i].0 {
            st.free[i - 1].1 += st.free[i].1;
            st.free.remove(i);
        }
    }

    /// Frees every set of the pool.
    fn reset(&self) {
        let mut st = self.state();
        for h in std::mem::take(&mut st.sets) {
            // SAFETY: the pool made these sets and they are live.
            drop(unsafe { handle::free_handle::<DescriptorSet, _>(h) });
        }
        st.free = vec![(0, self.mem.size)];
    }
}

impl Drop for DescriptorPool {
    fn drop(&mut self) {
        self.reset();
    }
}

pub unsafe extern "system" fn create_descriptor_pool(
    device: vk::Device,
    info: *const vk::DescriptorPoolCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::DescriptorPool,
) -> vk::Result {
    guard("vkCreateDescriptorPool", || {
        // SAFETY: the device is ours; info is a valid create info.
        let (dev, info) = unsafe { (Device::from_handle(device)?, &*info) };
        // SAFETY: pPoolSizes holds poolSizeCount entries.
        let sizes = unsafe { handle::slice(info.p_pool_sizes, info.pool_size_count) };
        let slots: u64 = sizes
            .iter()
            .map(|s| {
                let per = if s.ty == vk::DescriptorType::COMBINED_IMAGE_SAMPLER {
                    2
                } else {
                    1
                };
                s.descriptor_count as u64 * per
            })
            .sum();
        let bytes = (slots * DESCRIPTOR_SIZE).max(DESCRIPTOR_SIZE);
        let mem = Memory::new(dev, bytes)?;
        let size = mem.size;
        let pool = DescriptorPool {
            mem,
            free_individual: info
                .flags
                .contains(vk::DescriptorPoolCreateFlags::FREE_DESCRIPTOR_SET),
            max_sets: info.max_sets,
            state: Mutex::new(PoolState {
                free: vec![(0, size)],
                sets: Vec::new(),
            }),
        };
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(pool)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_descriptor_pool(
    _device: vk::Device,
    pool: vk::DescriptorPool,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyDescriptorPool", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<DescriptorPool, _>(pool) });
        Ok(())
    })
}

pub unsafe extern "system" fn reset_descriptor_pool(
    _device: vk::Device,
    pool: vk::DescriptorPool,
    _flags: vk::DescriptorPoolResetFlags,
) -> vk::Result {
    guard("vkResetDescriptorPool", || {
        // SAFETY: the handle is ours.
        unsafe { DescriptorPool::from_handle(pool) }?.reset();
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn allocate_descriptor_sets(
    _device: vk::Device,
    info: *const vk::DescriptorSetAllocateInfo<'_>,
    out: *mut vk::DescriptorSet,
) -> vk::Result {
    guard("vkAllocateDescriptorSets", || {
        // SAFETY: info is valid; the pool is ours.
        let info = unsafe { &*info };
        // SAFETY: as above.
        let pool = unsafe { DescriptorPool::from_handle(info.descriptor_pool) }?;
        // SAFETY: pSetLayouts holds descriptorSetCount handles.
        let layouts = unsafe { handle::slice(info.p_set_layouts, info.descriptor_set_count) };
        let mut made: Vec<vk::DescriptorSet> = Vec::with_capacity(layouts.len());
        let result = layouts.iter().try_for_each(|&l| {
            // SAFETY: the layouts are ours (valid usage).
            let layout = unsafe { DescriptorSetLayout::from_handle(l) }?;
            if pool.state().sets.len() as u32 >= pool.max_sets {
                return Err(VkError::new(
                    vk::Result::ERROR_OUT_OF_POOL_MEMORY,
                    format!("the pool's {} sets are allocated", pool.max_sets),
                ));
            }
            let len = layout.table_size();
            let off = pool.take(len).ok_or_else(|| {
                VkError::new(
                    vk::Result::ERROR_OUT_OF_POOL_MEMORY,
                    format!("no {len} bytes of descriptors left in the pool"),
                )
            })?;
            let set = DescriptorSet::new(pool, off, layout.clone())?;
            let h: vk::DescriptorSet = handle::new_handle(set);
            pool.state().sets.push(h);
            made.push(h);
            Ok(())
        });
        if let Err(e) = result {
            free_sets(pool, &made);
            return Err(e);
        }
        // SAFETY: out holds descriptorSetCount handles.
        unsafe { std::ptr::copy_nonoverlapping(made.as_ptr(), out, made.len()) };
        Ok(vk::Result::SUCCESS)
    })
}

fn free_sets(pool: &DescriptorPool, sets: &[vk::DescriptorSet]) {
    let mut st = pool.state();
    for &h in sets {
        let Some(i) = st.sets.iter().position(|&s| s == h) else {
            continue;
        };
        st.sets.swap_remove(i);
        // SAFETY: the set was made by this pool and is live.
        if let Some(set) = unsafe { handle::free_handle::<DescriptorSet, _>(h) } {
            DescriptorPool::give_back(&mut st, set.pool_offset, set.table_size());
        }
    }
}

pub unsafe extern "system" fn free_descriptor_sets(
    _device: vk::Device,
    pool: vk::DescriptorPool,
    count: u32,
    sets: *const vk::DescriptorSet,
) -> vk::Result {
    guard("vkFreeDescriptorSets", || {
        // SAFETY: the pool is ours; sets holds count handles.
        let (pool, sets) = unsafe {
            (
                DescriptorPool::from_handle(pool)?,
                handle::slice(sets, count),
            )
        };
        if !pool.free_individual {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "the pool was created without FREE_DESCRIPTOR_SET_BIT"
            );
        }
        free_sets(pool, sets);
        Ok(vk::Result::SUCCESS)
    })
}
