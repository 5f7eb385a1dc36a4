//! Sparse resources' VA: the reservation a sparse buffer or image owns
//! ([`SparseRange`]), and sparse binding: `VkBindSparseInfo` lowered to a flat list of VM_BIND
//! ops, merged where adjacent, all checked before any is submitted.
//!
//! A bind maps `[resource VA + resourceOffset, +size)` to the memory's BO
//! at `memoryOffset`; an unbind (memory = `VK_NULL_HANDLE`) maps the range
//! back over the sparse dummy page (`MAP_SPARSE`), or unmaps it on kernels
//! without sparse mappings. Aliasing needs nothing special: a BO range may
//! be mapped at any number of VAs.

use ash::vk;
use panthor_uapi::uapi::*;

use crate::buffer::Buffer;
use crate::device::Device;
use crate::guard::{VkError, VkResult};
use crate::image::Image;
use crate::memory::Memory;
use crate::physical_device::SPARSE_BLOCK;
use crate::queue::BindOp;
use crate::{handle, vk_bail};
use panthor_uapi::device::VmBindOp;

/// The flags every sparse reservation carries (`MAP_SPARSE` needs NOEXEC).
pub const SPARSE_MAP_FLAGS: u32 = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP
    | DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE
    | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;

/// A VA range a sparse resource owns.
pub struct SparseRange {
    pub va: u64,
    pub size: u64,
}

impl SparseRange {
    /// Reserves `size` bytes (a multiple of 64 KiB) of VA, mapped sparse
    /// when the kernel can.
    pub fn reserve(dev: &Device, size: u64) -> VkResult<SparseRange> {
        let va = dev.alloc_va(size, SPARSE_BLOCK)?;
        if dev.sparse_residency {
            let op = VmBindOp {
                flags: SPARSE_MAP_FLAGS,
                va,
                size,
                ..Default::default()
            };
            if let Err(e) = dev.bind_now(&[op], "VM_BIND sparse reservation") {
                dev.free_va(va, size);
                return Err(e);
            }
        }
        Ok(SparseRange { va, size })
    }

    /// Unmaps everything bound in the range and gives the VA back.
    pub fn release(&self, dev: &Device) {
        let op = VmBindOp {
            flags: DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP,
            va: self.va,
            size: self.size,
            ..Default::default()
        };
        match dev.bind_now(&[op], "VM_BIND unmap of a sparse resource") {
            Ok(()) => dev.free_va(self.va, self.size),
            Err(e) => log::error!("{}", e.why),
        }
    }
}

/// One VM range to (re)map, before syncs are attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedBind {
    pub va: u64,
    pub size: u64,
    /// BO and offset, or `None` for "back to sparse".
    pub target: Option<(u32, u64)>,
}

impl PlannedBind {
    /// Whether `next` continues this range (same BO, contiguous VA and
    /// offset; or both unbinds with contiguous VA).
    fn continued_by(&self, next: &PlannedBind) -> bool {
        self.va + self.size == next.va
            && match (self.target, next.target) {
                (None, None) => true,
                (Some((bo, off)), Some((nbo, noff))) => bo == nbo && off + self.size == noff,
                _ => false,
            }
    }

    /// The VM_BIND op (`sparse`: whether the kernel has MAP_SPARSE).
    pub fn op(self, sparse: bool, syncs: Vec<drm_panthor_sync_op>) -> BindOp {
        let (flags, bo, bo_offset) = match self.target {
            Some((bo, off)) => (
                DRM_PANTHOR_VM_BIND_OP_TYPE_MAP | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC,
                bo,
                off,
            ),
            None if sparse => (SPARSE_MAP_FLAGS, 0, 0),
            None => (DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP, 0, 0),
        };
        BindOp {
            flags,
            bo,
            bo_offset,
            va: self.va,
            size: self.size,
            syncs,
        }
    }
}

/// A SYNC_ONLY op carrying `syncs` (a batch with no binds).
pub fn sync_only(syncs: Vec<drm_panthor_sync_op>) -> BindOp {
    BindOp {
        flags: DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY,
        bo: 0,
        bo_offset: 0,
        va: 0,
        size: 0,
        syncs,
    }
}

/// Merges adjacent binds (in order: later binds of the same range win, so
/// only neighbours in submission order are merged).
pub fn merge(binds: Vec<PlannedBind>) -> Vec<PlannedBind> {
    let mut out: Vec<PlannedBind> = Vec::with_capacity(binds.len());
    for b in binds {
        match out.last_mut() {
            Some(last) if last.continued_by(&b) => last.size += b.size,
            _ => out.push(b),
        }
    }
    out
}

/// Checks one `VkSparseMemoryBind` against a resource at `base` of `size`
/// bytes (its VA reservation is `size` rounded up to whole blocks). A bind
/// whose size is not a whole number of blocks must reach the resource's
/// end; it then covers the last block entirely.
pub fn plan_bind(
    base: u64,
    size: u64,
    b: &vk::SparseMemoryBind,
    what: &str,
) -> VkResult<PlannedBind> {
    if b.flags.contains(vk::SparseMemoryBindFlags::METADATA) {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "{what}: no metadata aspect exists"
        );
    }
    let end = b.resource_offset.checked_add(b.size);
    if b.size == 0 || end.is_none_or(|end| end > size.next_multiple_of(SPARSE_BLOCK)) {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "{what}: range {:#x}+{:#x} leaves the {size:#x}-byte resource",
            b.resource_offset,
            b.size
        );
    }
    let reaches_end = end.is_some_and(|end| end >= size);
    if b.resource_offset % SPARSE_BLOCK != 0 || (b.size % SPARSE_BLOCK != 0 && !reaches_end) {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "{what}: resourceOffset {:#x} and size {:#x} must be multiples of the {SPARSE_BLOCK:#x}-byte block",
            b.resource_offset,
            b.size
        );
    }
    let bind_size = b.size.next_multiple_of(SPARSE_BLOCK);
    // SAFETY: the memory handle is null or ours (valid usage).
    let target = match unsafe { handle::optional::<crate::memory::MemoryRef, _>(b.memory) } {
        None => None,
        Some(mem) => Some(memory_target(mem, b.memory_offset, bind_size, what)?),
    };
    Ok(PlannedBind {
        va: base + b.resource_offset,
        size: bind_size,
        target,
    })
}

fn memory_target(mem: &Memory, offset: u64, size: u64, what: &str) -> VkResult<(u32, u64)> {
    if offset % SPARSE_BLOCK != 0 {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "{what}: memoryOffset {offset:#x} is not a multiple of the block size"
        );
    }
    match offset.checked_add(size) {
        Some(end) if end <= mem.size => Ok((mem.bo, offset)),
        _ => vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "{what}: memory range {offset:#x}+{size:#x} leaves the {:#x}-byte memory",
            mem.size
        ),
    }
}

fn sparse_range_of(image: &Image) -> VkResult<&SparseRange> {
    match &image.sparse {
        Some(r) => Ok(r),
        None => vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "vkQueueBindSparse on an image created without SPARSE_BINDING"
        ),
    }
}

/// Checks one `VkSparseImageMemoryBind` (a region of tiles of one level and
/// layer) and appends its VM ranges: the region's tiles take consecutive
/// 64 KiB blocks of the memory from `memoryOffset`, x fastest.
fn plan_image_bind(
    image: &Image,
    b: &vk::SparseImageMemoryBind,
    what: &str,
    out: &mut Vec<PlannedBind>,
) -> VkResult<()> {
    if !image.flags.contains(vk::ImageCreateFlags::SPARSE_RESIDENCY) {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "{what}: block binds need SPARSE_RESIDENCY"
        );
    }
    if b.subresource.aspect_mask != vk::ImageAspectFlags::COLOR {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "{what}: aspect {:?} (images have COLOR only)",
            b.subresource.aspect_mask
        );
    }
    let range = sparse_range_of(image)?;
    let o = b.offset;
    if o.x < 0 || o.y < 0 || o.z < 0 {
        vk_bail!(vk::Result::ERROR_UNKNOWN, "{what}: negative offset {o:?}");
    }
    let region = image
        .layout
        .sparse_region(
            b.subresource.mip_level,
            b.subresource.array_layer,
            [o.x as u32, o.y as u32, o.z as u32],
            [b.extent.width, b.extent.height, b.extent.depth],
        )
        .map_err(|e| VkError::new(vk::Result::ERROR_UNKNOWN, format!("{what}: {e}")))?;
    // SAFETY: the memory handle is null or ours (valid usage).
    let mem = unsafe { handle::optional::<crate::memory::MemoryRef, _>(b.memory) };
    if let Some(m) = mem {
        memory_target(m, b.memory_offset, region.len() * SPARSE_BLOCK, what)?;
    }
    for run in image.layout.bind_runs(&region) {
        out.push(PlannedBind {
            va: range.va + run.image_offset,
            size: run.size,
            target: mem.map(|m| (m.bo, b.memory_offset + run.memory_offset)),
        });
    }
    Ok(())
}

/// Every bind of one `VkBindSparseInfo`, checked, merged, as VM ops (no
/// syncs yet).
///
/// # Safety
/// The info's arrays are valid and its handles are ours.
pub unsafe fn lower(info: &vk::BindSparseInfo<'_>) -> VkResult<Vec<PlannedBind>> {
    let mut binds = Vec::new();
    // SAFETY: the caller's contract.
    for bb in unsafe { handle::slice(info.p_buffer_binds, info.buffer_bind_count) } {
        // SAFETY: the caller's contract.
        let buf = unsafe { Buffer::from_handle(bb.buffer) }?;
        let Some(range) = &buf.sparse else {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "vkQueueBindSparse on a buffer created without SPARSE_BINDING"
            );
        };
        // SAFETY: the caller's contract.
        for (i, b) in unsafe { handle::slice(bb.p_binds, bb.bind_count) }
            .iter()
            .enumerate()
        {
            binds.push(plan_bind(
                range.va,
                buf.size,
                b,
                &format!("buffer bind {i}"),
            )?);
        }
    }
    // SAFETY: the caller's contract.
    for ob in unsafe { handle::slice(info.p_image_opaque_binds, info.image_opaque_bind_count) } {
        // SAFETY: the caller's contract.
        let image = unsafe { Image::from_handle(ob.image) }?;
        let range = sparse_range_of(image)?;
        // SAFETY: the caller's contract.
        for (i, b) in unsafe { handle::slice(ob.p_binds, ob.bind_count) }
            .iter()
            .enumerate()
        {
            binds.push(plan_bind(
                range.va,
                range.size,
                b,
                &format!("image opaque bind {i}"),
            )?);
        }
    }
    // SAFETY: the caller's contract.
    for ib in unsafe { handle::slice(info.p_image_binds, info.image_bind_count) } {
        // SAFETY: the caller's contract.
        let image = unsafe { Image::from_handle(ib.image) }?;
        // SAFETY: the caller's contract.
        for (i, b) in unsafe { handle::slice(ib.p_binds, ib.bind_count) }
            .iter()
            .enumerate()
        {
            plan_image_bind(image, b, &format!("image bind {i}"), &mut binds)?;
        }
    }
    Ok(merge(binds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(va: u64, size: u64, target: Option<(u32, u64)>) -> PlannedBind {
        PlannedBind { va, size, target }
    }

    #[test]
    fn merges_contiguous_binds_of_one_bo() {
        let k = SPARSE_BLOCK;
        let m = merge(vec![
            b(0, k, Some((1, 0))),
            b(k, k, Some((1, k))),
            b(2 * k, k, Some((1, 5 * k))), // offset jumps: new op
            b(3 * k, k, Some((2, 6 * k))), // other BO: new op
            b(4 * k, k, None),
            b(5 * k, 2 * k, None),
        ]);
        assert_eq!(
            m,
            vec![
                b(0, 2 * k, Some((1, 0))),
                b(2 * k, k, Some((1, 5 * k))),
                b(3 * k, k, Some((2, 6 * k))),
                b(4 * k, 3 * k, None),
            ]
        );
    }

    #[test]
    fn rejects_misaligned_and_out_of_range() {
        let k = SPARSE_BLOCK;
        let bind = |off, size| vk::SparseMemoryBind {
            resource_offset: off,
            size,
            ..Default::default()
        };
        assert!(plan_bind(0x100000, 4 * k, &bind(0, k), "t").is_ok());
        assert!(plan_bind(0x100000, 4 * k, &bind(4096, k), "t").is_err());
        assert!(plan_bind(0x100000, 4 * k, &bind(0, 4096), "t").is_err());
        assert!(plan_bind(0x100000, 4 * k, &bind(3 * k, 2 * k), "t").is_err());
        assert!(plan_bind(0x100000, 4 * k, &bind(u64::MAX - k + 1, k), "t").is_err());
        // A partial last block is fine when the bind reaches the end.
        let tail = plan_bind(0x100000, 3 * k + 100, &bind(3 * k, 100), "t").unwrap();
        assert_eq!(tail.size, k);
        assert!(plan_bind(0x100000, 3 * k + 100, &bind(2 * k, 100), "t").is_err());
        assert_eq!(
            plan_bind(0x100000, 4 * k, &bind(k, k), "t").unwrap().va,
            0x100000 + k
        );
    }
}
