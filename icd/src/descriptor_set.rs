//! `VkDescriptorSet`: a table of 32-byte Mali descriptors inside its pool's
//! GPU buffer, written by `vkUpdateDescriptorSets` (and templates) through
//! the CPU mapping; dynamic buffers are kept on the host until bind time.

use std::sync::{Arc, Mutex};

use ash::vk;
use mali_csf::desc::{Buffer as BufferDesc, NULL_DESCRIPTOR};

use crate::buffer::Buffer;
use crate::buffer_view::BufferView;
use crate::descriptor_pool::DescriptorPool;
use crate::descriptor_set_layout::{is_dynamic, DescriptorSetLayout, DESCRIPTOR_SIZE};
use crate::guard::{guard_void, VkResult};
use crate::image::ImageView;
use crate::sampler::Sampler;
use crate::{handle, vk_bail};

/// A dynamic uniform or storage buffer: address and range before the
/// bind-time offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DynamicBuffer {
    pub va: u64,
    pub range: u64,
}

pub struct DescriptorSet {
    pub layout: Arc<DescriptorSetLayout>,
    /// GPU VA of the table.
    pub va: u64,
    /// CPU address of the table (in the pool's mapping).
    cpu: usize,
    pub pool_offset: u64,
    table_bytes: u64,
    pub dynamic: Mutex<Vec<DynamicBuffer>>,
}

/// One descriptor's content, as a write or template entry gives it.
enum Item<'a> {
    Image(&'a vk::DescriptorImageInfo),
    Buffer(&'a vk::DescriptorBufferInfo),
    TexelBuffer(vk::BufferView),
}

impl DescriptorSet {
    /// # Safety
    /// `h` is null or a live set of ours.
    pub unsafe fn from_handle<'a>(h: vk::DescriptorSet) -> VkResult<&'a DescriptorSet> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    pub fn new(
        pool: &DescriptorPool,
        offset: u64,
        layout: Arc<DescriptorSetLayout>,
    ) -> VkResult<DescriptorSet> {
        let cpu = pool.mem.cpu_ptr()? as usize + offset as usize;
        let table_bytes = layout.slots as u64 * DESCRIPTOR_SIZE;
        let set = DescriptorSet {
            va: pool.mem.va + offset,
            cpu,
            pool_offset: offset,
            table_bytes,
            dynamic: Mutex::new(vec![
                DynamicBuffer::default();
                layout.dynamic_buffers as usize
            ]),
            layout,
        };
        // Start from null descriptors, with immutable samplers in place.
        for i in 0..set.layout.slots {
            set.put(i, &NULL_DESCRIPTOR);
        }
        for b in &set.layout.bindings {
            let sub = if b.ty == vk::DescriptorType::COMBINED_IMAGE_SAMPLER {
                1
            } else {
                0
            };
            for (e, s) in b.immutable_samplers.iter().enumerate() {
                set.put(b.first + e as u32 * b.slots_per_element() + sub, s);
            }
        }
        Ok(set)
    }

    pub fn table_size(&self) -> u64 {
        self.table_bytes
    }

    fn put(&self, slot: u32, d: &[u8; DESCRIPTOR_SIZE as usize]) {
        let off = slot as u64 * DESCRIPTOR_SIZE;
        if off + DESCRIPTOR_SIZE > self.table_bytes {
            return;
        }
        // SAFETY: the slot lies in this set's range of the pool's live
        // mapping; sets never overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                d.as_ptr(),
                (self.cpu + off as usize) as *mut u8,
                DESCRIPTOR_SIZE as usize,
            )
        };
    }

    fn get(&self, slot: u32) -> [u8; DESCRIPTOR_SIZE as usize] {
        let mut d = [0; DESCRIPTOR_SIZE as usize];
        let off = slot as u64 * DESCRIPTOR_SIZE;
        if off + DESCRIPTOR_SIZE <= self.table_bytes {
            // SAFETY: as in put().
            unsafe {
                std::ptr::copy_nonoverlapping(
                    (self.cpu + off as usize) as *const u8,
                    d.as_mut_ptr(),
                    d.len(),
                )
            };
        }
        d
    }

    /// Writes element `elem` of binding index `bi` (an index into the
    /// layout's sorted bindings).
    fn write(&self, bi: usize, elem: u32, item: Item<'_>) -> VkResult<()> {
        let b = &self.layout.bindings[bi];
        if is_dynamic(b.ty) {
            let Item::Buffer(info) = item else {
                vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "a dynamic buffer needs pBufferInfo"
                );
            };
            let d = buffer_range(info)?;
            let mut dy = self.dynamic.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(slot) = dy.get_mut((b.first + elem) as usize) {
                *slot = DynamicBuffer {
                    va: d.address,
                    range: d.size as u64,
                };
            }
            return Ok(());
        }
        let slot = b.first + elem * b.slots_per_element();
        match (b.ty, item) {
            (vk::DescriptorType::SAMPLER, Item::Image(i)) => {
                if b.immutable_samplers.is_empty() {
                    // SAFETY: the sampler is ours (valid usage).
                    self.put(
                        slot,
                        &unsafe { Sampler::from_handle(i.sampler) }?.descriptor,
                    );
                }
            }
            (vk::DescriptorType::COMBINED_IMAGE_SAMPLER, Item::Image(i)) => {
                self.put(slot, &view_desc(i.image_view, false)?);
                if b.immutable_samplers.is_empty() {
                    // SAFETY: the sampler is ours (valid usage).
                    let s = unsafe { Sampler::from_handle(i.sampler) }?;
                    self.put(slot + 1, &s.descriptor);
                }
            }
            (vk::DescriptorType::SAMPLED_IMAGE, Item::Image(i)) => {
                self.put(slot, &view_desc(i.image_view, false)?)
            }
            (vk::DescriptorType::STORAGE_IMAGE, Item::Image(i)) => {
                self.put(slot, &view_desc(i.image_view, true)?)
            }
            (
                vk::DescriptorType::UNIFORM_BUFFER | vk::DescriptorType::STORAGE_BUFFER,
                Item::Buffer(i),
            ) => self.put(slot, &buffer_range(i)?.pack()),
            (
                vk::DescriptorType::UNIFORM_TEXEL_BUFFER | vk::DescriptorType::STORAGE_TEXEL_BUFFER,
                Item::TexelBuffer(v),
            ) => {
                // SAFETY: the view is ours (valid usage).
                self.put(slot, &unsafe { BufferView::from_handle(v) }?.descriptor)
            }
            (ty, _) => vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "descriptor data does not match binding {} of type {ty:?}",
                b.binding
            ),
        }
        Ok(())
    }
}

fn view_desc(view: vk::ImageView, storage: bool) -> VkResult<[u8; DESCRIPTOR_SIZE as usize]> {
    // SAFETY: the view is ours (valid usage).
    let v = unsafe { ImageView::from_handle(view) }?;
    match &v.descs {
        Some(d) if storage => Ok(d.storage),
        Some(d) => Ok(d.sampled),
        None => vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "image view of {:?} was not made for sampling or storage",
            v.format
        ),
    }
}

fn buffer_range(i: &vk::DescriptorBufferInfo) -> VkResult<BufferDesc> {
    // SAFETY: the buffer is ours (valid usage).
    let buffer = unsafe { Buffer::from_handle(i.buffer) }?;
    let range = if i.range == vk::WHOLE_SIZE {
        buffer.size.saturating_sub(i.offset)
    } else {
        i.range
    };
    buffer.check_range(i.offset, range, "descriptor buffer range")?;
    Ok(BufferDesc::simple(
        buffer.address(i.offset)?,
        u32::try_from(range).unwrap_or(u32::MAX),
    ))
}

/// Visits `count` descriptors from (`binding`, `elem`), rolling over to the
/// next bindings as the spec's consecutive-binding rule says.
fn for_each_element(
    set: &DescriptorSet,
    binding: u32,
    elem: u32,
    count: u32,
    mut f: impl FnMut(usize, u32, u32) -> VkResult<()>,
) -> VkResult<()> {
    let bindings = &set.layout.bindings;
    let Some(mut bi) = bindings.iter().position(|b| b.binding == binding) else {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "binding {binding} is not in the set's layout"
        );
    };
    let mut elem = elem;
    for i in 0..count {
        while elem >= bindings[bi].count {
            elem -= bindings[bi].count;
            bi += 1;
            if bi >= bindings.len() {
                vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "update runs past the set's last binding"
                );
            }
        }
        f(bi, elem, i)?;
        elem += 1;
    }
    Ok(())
}

fn apply_write(w: &vk::WriteDescriptorSet<'_>) -> VkResult<()> {
    // SAFETY: the set is ours (valid usage).
    let set = unsafe { DescriptorSet::from_handle(w.dst_set) }?;
    for_each_element(
        set,
        w.dst_binding,
        w.dst_array_element,
        w.descriptor_count,
        |bi, e, i| {
            let i = i as usize;
            // SAFETY: the arrays the type names hold descriptorCount entries.
            let item = unsafe {
                match w.descriptor_type {
                    vk::DescriptorType::UNIFORM_TEXEL_BUFFER
                    | vk::DescriptorType::STORAGE_TEXEL_BUFFER => {
                        Item::TexelBuffer(*w.p_texel_buffer_view.add(i))
                    }
                    vk::DescriptorType::UNIFORM_BUFFER
                    | vk::DescriptorType::STORAGE_BUFFER
                    | vk::DescriptorType::UNIFORM_BUFFER_DYNAMIC
                    | vk::DescriptorType::STORAGE_BUFFER_DYNAMIC => {
                        Item::Buffer(&*w.p_buffer_info.add(i))
                    }
                    _ => Item::Image(&*w.p_image_info.add(i)),
                }
            };
            set.write(bi, e, item)
        },
    )
}

fn apply_copy(c: &vk::CopyDescriptorSet<'_>) -> VkResult<()> {
    // SAFETY: both sets are ours (valid usage).
    let (src, dst) = unsafe {
        (
            DescriptorSet::from_handle(c.src_set)?,
            DescriptorSet::from_handle(c.dst_set)?,
        )
    };
    let mut from = Vec::with_capacity(c.descriptor_count as usize);
    for_each_element(
        src,
        c.src_binding,
        c.src_array_element,
        c.descriptor_count,
        |bi, e, _| {
            let b = &src.layout.bindings[bi];
            from.push(if is_dynamic(b.ty) {
                let dy = src.dynamic.lock().unwrap_or_else(|e| e.into_inner());
                Err(dy.get((b.first + e) as usize).copied().unwrap_or_default())
            } else {
                let s = b.first + e * b.slots_per_element();
                Ok((0..b.slots_per_element())
                    .map(|k| src.get(s + k))
                    .collect::<Vec<_>>())
            });
            Ok(())
        },
    )?;
    let mut it = from.into_iter();
    for_each_element(
        dst,
        c.dst_binding,
        c.dst_array_element,
        c.descriptor_count,
        |bi, e, _| {
            let b = &dst.layout.bindings[bi];
            match it.next() {
                Some(Err(d)) if is_dynamic(b.ty) => {
                    let mut dy = dst.dynamic.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(slot) = dy.get_mut((b.first + e) as usize) {
                        *slot = d;
                    }
                }
                Some(Ok(descs)) if !is_dynamic(b.ty) => {
                    let s = b.first + e * b.slots_per_element();
                    for (k, d) in descs.iter().enumerate() {
                        dst.put(s + k as u32, d);
                    }
                }
                _ => vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "copy between bindings of different types"
                ),
            }
            Ok(())
        },
    )
}

pub unsafe extern "system" fn update_descriptor_sets(
    _device: vk::Device,
    write_count: u32,
    writes: *const vk::WriteDescriptorSet<'_>,
    copy_count: u32,
    copies: *const vk::CopyDescriptorSet<'_>,
) {
    guard_void("vkUpdateDescriptorSets", || {
        // SAFETY: the arrays hold the counts given.
        let (writes, copies) = unsafe {
            (
                handle::slice(writes, write_count),
                handle::slice(copies, copy_count),
            )
        };
        writes.iter().try_for_each(apply_write)?;
        copies.iter().try_for_each(apply_copy)
    })
}

/// A descriptor update template: where each entry's data sits in the
/// application's block.
pub struct UpdateTemplate {
    entries: Vec<vk::DescriptorUpdateTemplateEntry>,
}

pub unsafe extern "system" fn create_descriptor_update_template(
    _device: vk::Device,
    info: *const vk::DescriptorUpdateTemplateCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::DescriptorUpdateTemplate,
) -> vk::Result {
    crate::guard::guard("vkCreateDescriptorUpdateTemplate", || {
        // SAFETY: info is valid; its entry array holds the count given.
        let info = unsafe { &*info };
        // SAFETY: as above.
        let entries = unsafe {
            handle::slice(
                info.p_descriptor_update_entries,
                info.descriptor_update_entry_count,
            )
        }
        .to_vec();
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(UpdateTemplate { entries })) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_descriptor_update_template(
    _device: vk::Device,
    template: vk::DescriptorUpdateTemplate,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyDescriptorUpdateTemplate", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<UpdateTemplate, _>(template) });
        Ok(())
    })
}

pub unsafe extern "system" fn update_descriptor_set_with_template(
    _device: vk::Device,
    set: vk::DescriptorSet,
    template: vk::DescriptorUpdateTemplate,
    data: *const std::ffi::c_void,
) {
    guard_void("vkUpdateDescriptorSetWithTemplate", || {
        // SAFETY: both handles are ours (valid usage).
        let (set, t) = unsafe {
            (
                DescriptorSet::from_handle(set)?,
                handle::object::<UpdateTemplate, _>(template)?,
            )
        };
        for e in &t.entries {
            for_each_element(
                set,
                e.dst_binding,
                e.dst_array_element,
                e.descriptor_count,
                |bi, el, i| {
                    let at = data as usize + e.offset + i as usize * e.stride;
                    // SAFETY: the template's offsets and strides address the
                    // application's data block (valid usage).
                    let item = unsafe {
                        match e.descriptor_type {
                            vk::DescriptorType::UNIFORM_TEXEL_BUFFER
                            | vk::DescriptorType::STORAGE_TEXEL_BUFFER => {
                                Item::TexelBuffer(*(at as *const vk::BufferView))
                            }
                            vk::DescriptorType::UNIFORM_BUFFER
                            | vk::DescriptorType::STORAGE_BUFFER
                            | vk::DescriptorType::UNIFORM_BUFFER_DYNAMIC
                            | vk::DescriptorType::STORAGE_BUFFER_DYNAMIC => {
                                Item::Buffer(&*(at as *const vk::DescriptorBufferInfo))
                            }
                            _ => Item::Image(&*(at as *const vk::DescriptorImageInfo)),
                        }
                    };
                    set.write(bi, el, item)
                },
            )?;
        }
        Ok(())
    })
}
