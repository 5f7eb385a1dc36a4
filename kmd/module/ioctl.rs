// SPDX-License-Identifier: MIT

//! The ioctls of `/dev/vpanthor`: DRM's argument handling (as `drm_ioctl`
//! does it: the user's struct size from the request code, zero-extended in,
//! copied back out even on error) and panthor's user-array rules
//! (`panthor_get_uobj_array`), in front of kmd's [`File`].
//!
//! Answered: DRM VERSION (name "vpanthor"), GEM_CLOSE, the DRM core
//! syncobj ioctls but the fd ones ([`crate::sync_ioctl`]), and panthor's
//! DEV_QUERY, VM_CREATE/DESTROY/BIND/GET_STATE, BO_CREATE, BO_MMAP_OFFSET,
//! plus the private VM_ACCESS. Every other request is ENOTTY: this device
//! has no GPU, so no groups or tiler heaps, and no PRIME or syncobj fds.

use alloc::vec::Vec;

use crate::args::{VmBindError, VmBindOp};
use crate::bo::BoRef;
use crate::device::Device;
use crate::ffi::{self, Pod};
use crate::file::File;
use crate::hw::PAGE_SIZE;
use crate::shim;
use crate::uapi::vpanthor::*;
use crate::uapi::*;
use crate::Errno;
use alloc::boxed::Box;
use alloc::sync::Arc;

// SAFETY: integer-only repr(C) structs (this one and those below) whose padding is
// explicit fields, so every byte pattern is valid and no byte is padding.
unsafe impl Pod for drm_panthor_dev_query {}
// SAFETY: as above.
unsafe impl Pod for drm_panthor_vm_create {}
// SAFETY: as above.
unsafe impl Pod for drm_panthor_vm_destroy {}
// SAFETY: as above.
unsafe impl Pod for drm_panthor_vm_bind {}
// SAFETY: as above.
unsafe impl Pod for drm_panthor_vm_bind_op {}
// SAFETY: as above.
unsafe impl Pod for drm_panthor_sync_op {}
// SAFETY: as above.
unsafe impl Pod for drm_panthor_vm_get_state {}
// SAFETY: as above.
unsafe impl Pod for drm_panthor_bo_create {}
// SAFETY: as above.
unsafe impl Pod for drm_panthor_bo_mmap_offset {}
// SAFETY: as above.
unsafe impl Pod for drm_vpanthor_vm_access {}
// SAFETY: as above.
unsafe impl Pod for DrmVersion {}
// SAFETY: as above.
unsafe impl Pod for DrmGemClose {}

/// `struct drm_version` on 64-bit Linux (the hole after `patchlevel` made
/// an explicit field).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct DrmVersion {
    pub major: i32,
    pub minor: i32,
    pub patchlevel: i32,
    pub pad: u32,
    pub name_len: u64,
    pub name: u64,
    pub date_len: u64,
    pub date: u64,
    pub desc_len: u64,
    pub desc: u64,
}

/// `struct drm_gem_close`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct DrmGemClose {
    pub handle: u32,
    pub pad: u32,
}

/// DRM core request numbers (`_IOC_NR`).
const DRM_NR_VERSION: u32 = 0x00;
const DRM_NR_GEM_CLOSE: u32 = 0x09;

const DRIVER_DESC: &str = "Panthor DRM driver (kmd core as a Linux module, no GPU)";
const DRIVER_DATE: &str = "20230801";

/// The largest VM_ACCESS transfer.
const VM_ACCESS_MAX: u64 = 1 << 20;

/// `_IOC_*` fields of a request code.
fn ioc_nr(cmd: u32) -> u32 {
    cmd & 0xff
}
fn ioc_type(cmd: u32) -> u32 {
    (cmd >> 8) & 0xff
}
fn ioc_size(cmd: u32) -> usize {
    ((cmd >> 16) & 0x3fff) as usize
}
fn ioc_dir(cmd: u32) -> u32 {
    cmd >> 30
}

/// One open file of /dev/vpanthor.
pub struct VFile {
    file: File,
}

impl VFile {
    pub fn open(dev: Arc<Device>, task_size: u64) -> Result<VFile, Errno> {
        Ok(VFile {
            file: File::open(dev, task_size)?,
        })
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// The BO `mmap(offset, len)` maps, boxed for the C half to hold.
    pub fn mmap_bo(&self, offset: u64, len: u64) -> Result<(Box<BoRef>, u64), Errno> {
        let (bo, inner) = self.file.mmap_target(offset, len)?;
        Ok((shim::try_box(bo)?, inner))
    }

    pub fn ioctl(&self, cmd: u32, arg: u64) -> Result<(), Errno> {
        if ioc_type(cmd) != ioc::DRM_BASE as u32 {
            return Err(Errno::ENOTTY);
        }
        let nr = ioc_nr(cmd);
        let driver = |id: u32| ioc::DRM_COMMAND_BASE + id;
        match nr {
            DRM_NR_VERSION => with_arg(cmd, arg, |v: &mut DrmVersion| version(v)),
            DRM_NR_GEM_CLOSE => with_arg(cmd, arg, |a: &mut DrmGemClose| {
                self.file.gem_close(a.handle)
            }),
            n if n == driver(DRM_PANTHOR_DEV_QUERY) => {
                with_arg(cmd, arg, |a: &mut drm_panthor_dev_query| self.dev_query(a))
            }
            n if n == driver(DRM_PANTHOR_VM_CREATE) => {
                with_arg(cmd, arg, |a: &mut drm_panthor_vm_create| {
                    self.file.vm_create(a)
                })
            }
            n if n == driver(DRM_PANTHOR_VM_DESTROY) => {
                with_arg(cmd, arg, |a: &mut drm_panthor_vm_destroy| {
                    self.file.vm_destroy(a)
                })
            }
            n if n == driver(DRM_PANTHOR_VM_BIND) => {
                with_arg(cmd, arg, |a: &mut drm_panthor_vm_bind| self.vm_bind(a))
            }
            n if n == driver(DRM_PANTHOR_VM_GET_STATE) => {
                with_arg(cmd, arg, |a: &mut drm_panthor_vm_get_state| {
                    self.file.vm_get_state(a)
                })
            }
            n if n == driver(DRM_PANTHOR_BO_CREATE) => {
                with_arg(cmd, arg, |a: &mut drm_panthor_bo_create| {
                    self.file.bo_create(a)
                })
            }
            n if n == driver(DRM_PANTHOR_BO_MMAP_OFFSET) => {
                with_arg(cmd, arg, |a: &mut drm_panthor_bo_mmap_offset| {
                    self.file.bo_mmap_offset(a)
                })
            }
            n if n == driver(DRM_VPANTHOR_VM_ACCESS) => {
                with_arg(cmd, arg, |a: &mut drm_vpanthor_vm_access| self.vm_access(a))
            }
            n if crate::sync_ioctl::handles(n) => crate::sync_ioctl::ioctl(&self.file, cmd, arg),
            _ => Err(Errno::ENOTTY),
        }
    }

    /// DEV_QUERY as panthor_ioctl_dev_query: a null pointer asks for the
    /// size; otherwise `min(size, object)` bytes go out and the rest of the
    /// user's buffer is cleared. The buffer is read first: TIMESTAMP_INFO
    /// takes its `flags` from it.
    fn dev_query(&self, a: &mut drm_panthor_dev_query) -> Result<(), Errno> {
        let dev = self.file.device();
        if a.pointer == 0 {
            a.size = dev.dev_query(a.r#type, None)?;
            return Ok(());
        }
        let mut buf = [0u8; 256];
        let n = (a.size as usize).min(buf.len());
        ffi::read_user_bytes(&mut buf[..n], a.pointer)?;
        dev.dev_query(a.r#type, Some(&mut buf[..n]))?;
        ffi::write_user_bytes(a.pointer, &buf[..n])?;
        if a.size as usize > n {
            ffi::clear_user(a.pointer.wrapping_add(n as u64), a.size as u64 - n as u64)?;
        }
        Ok(())
    }

    /// VM_BIND: the op array is read as panthor reads it; a failed
    /// synchronous bind reports how many ops it applied in `ops.count`.
    /// Asynchronous binds run on the scheduler, which is ticked here until
    /// idle (their WAIT sync ops can only name fences already signalled or
    /// of jobs this loop runs: no GPU job exists to wait for).
    fn vm_bind(&self, a: &mut drm_panthor_vm_bind) -> Result<(), Errno> {
        let raw: Vec<drm_panthor_vm_bind_op> =
            read_uobj_array(&a.ops, core::mem::size_of::<drm_panthor_vm_bind_op>())?;
        let asynchronous = a.flags & DRM_PANTHOR_VM_BIND_ASYNC != 0;
        // Sync ops: read for asynchronous binds; a synchronous bind only
        // needs to know there are some (panthor refuses them by count).
        let mut syncs: Vec<Vec<drm_panthor_sync_op>> = shim::try_with_capacity(raw.len())?;
        let placeholder = [drm_panthor_sync_op::default()];
        for op in &raw {
            let s = if asynchronous {
                read_uobj_array(&op.syncs, core::mem::size_of::<drm_panthor_sync_op>())?
            } else {
                Vec::new()
            };
            syncs.push(s);
        }
        let mut ops: Vec<VmBindOp<'_>> = shim::try_with_capacity(raw.len())?;
        for (op, s) in raw.iter().zip(&syncs) {
            let syncs: &[drm_panthor_sync_op] = if !asynchronous && op.syncs.count != 0 {
                &placeholder
            } else {
                s
            };
            ops.push(VmBindOp {
                flags: op.flags,
                bo_handle: op.bo_handle,
                bo_offset: op.bo_offset,
                va: op.va,
                size: op.size,
                syncs,
            });
        }
        match self.file.vm_bind(a.vm_id, a.flags, &ops) {
            Ok(()) => {
                if asynchronous {
                    while self.file.device().tick() {}
                }
                Ok(())
            }
            Err(VmBindError { errno, ops_done }) => {
                if !asynchronous {
                    a.ops.count = ops_done;
                }
                Err(errno)
            }
        }
    }

    /// VM_ACCESS from user space: page by page through a bounce buffer.
    /// User addresses wrap instead of overflowing (the kernel build checks
    /// overflow, and a bad pointer must be EFAULT, not a panic).
    fn vm_access(&self, a: &mut drm_vpanthor_vm_access) -> Result<(), Errno> {
        if a.op == VM_ACCESS_TRANSLATE {
            return self.translate(a);
        }
        if a.op > VM_ACCESS_WRITE || a.size == 0 || a.size > VM_ACCESS_MAX {
            return Err(Errno::EINVAL);
        }
        a.va.checked_add(a.size).ok_or(Errno::EINVAL)?;
        let mut page = [0u8; PAGE_SIZE as usize];
        let mut done = 0;
        while done < a.size {
            let va = a.va + done;
            let n = (PAGE_SIZE - va % PAGE_SIZE).min(a.size - done);
            let chunk = &mut page[..n as usize];
            if a.op == VM_ACCESS_WRITE {
                ffi::read_user_bytes(chunk, a.pointer.wrapping_add(done))?;
                self.access(a.vm_id, va, chunk, true)?;
            } else {
                self.access(a.vm_id, va, chunk, false)?;
                ffi::write_user_bytes(a.pointer.wrapping_add(done), chunk)?;
            }
            done += n;
        }
        Ok(())
    }

    fn translate(&self, a: &mut drm_vpanthor_vm_access) -> Result<(), Errno> {
        let vm = self.file.vm(a.vm_id).ok_or(Errno::EINVAL)?;
        let vm = vm.lock();
        let t = vm.page_table().walk(&**vm.hw(), a.va).ok_or(Errno::ENXIO)?;
        a.pa = t.pa.0;
        a.level = t.level as u32;
        a.flags = (t.prot.readonly as u32 * VM_ACCESS_READONLY)
            | (t.prot.noexec as u32 * VM_ACCESS_NOEXEC)
            | (t.prot.uncached as u32 * VM_ACCESS_UNCACHED)
            | (t.sparse as u32 * VM_ACCESS_SPARSE);
        Ok(())
    }

    /// Reads or writes `buf` at `va` (within one page) of VM `vm_id`,
    /// translating with the software walker. ENXIO when unmapped.
    pub fn access(&self, vm_id: u32, va: u64, buf: &mut [u8], write: bool) -> Result<(), Errno> {
        let vm = self.file.vm(vm_id).ok_or(Errno::EINVAL)?;
        let vm = vm.lock();
        let hw = vm.hw();
        let t = vm.page_table().walk(&**hw, va).ok_or(Errno::ENXIO)?;
        let page_off = va % PAGE_SIZE;
        if page_off + buf.len() as u64 > PAGE_SIZE {
            return Err(Errno::EINVAL);
        }
        // Word by word through the Hardware, so the access goes exactly
        // where the GPU's would.
        let base = t.pa.0 - page_off;
        let mut i = 0u64;
        while i < buf.len() as u64 {
            let off = page_off + i;
            let word_pa = crate::hw::PhysAddr(base + (off & !7));
            let mut word = hw.read_u64(word_pa).to_le_bytes();
            let lo = (off % 8) as usize;
            let n = (8 - lo).min(buf.len() - i as usize);
            let b = &mut buf[i as usize..i as usize + n];
            if write {
                word[lo..lo + n].copy_from_slice(b);
                hw.write_u64(word_pa, u64::from_le_bytes(word));
            } else {
                b.copy_from_slice(&word[lo..lo + n]);
            }
            i += n as u64;
        }
        Ok(())
    }
}

/// DRM_IOCTL_VERSION: each string as drm_copy_field copies it (truncated
/// to the user's length, which is then set to the full length).
fn version(v: &mut DrmVersion) -> Result<(), Errno> {
    v.major = version::MAJOR;
    v.minor = version::MINOR_MAP_SPARSE;
    v.patchlevel = 0;
    copy_field(&mut v.name_len, v.name, DRIVER_NAME)?;
    copy_field(&mut v.date_len, v.date, DRIVER_DATE)?;
    copy_field(&mut v.desc_len, v.desc, DRIVER_DESC)
}

fn copy_field(len: &mut u64, ptr: u64, value: &str) -> Result<(), Errno> {
    let n = (*len).min(value.len() as u64);
    *len = value.len() as u64;
    if n != 0 && ptr != 0 {
        ffi::write_user_bytes(ptr, &value.as_bytes()[..n as usize])?;
    }
    Ok(())
}

/// Runs `f` on the ioctl's argument as drm_ioctl passes it: the user's
/// `_IOC_SIZE` bytes copied in (zero-extended to `T`) when the request
/// writes, copied back out (even on error) when it reads.
pub(crate) fn with_arg<T: Pod>(
    cmd: u32,
    arg: u64,
    f: impl FnOnce(&mut T) -> Result<(), Errno>,
) -> Result<(), Errno> {
    let size = ioc_size(cmd).min(core::mem::size_of::<T>());
    let mut v = T::default();
    if ioc_dir(cmd) & ioc::WRITE != 0 {
        ffi::read_user_bytes(&mut ffi::as_bytes_mut(&mut v)[..size], arg)?;
    }
    let ret = f(&mut v);
    if ioc_dir(cmd) & ioc::READ != 0 {
        ffi::write_user_bytes(arg, &ffi::as_bytes(&v)[..size])?;
    }
    ret
}

/// `panthor_get_uobj_array`: `count` objects of `stride` bytes, each read
/// with copy_struct_from_user (zero-extended when shorter than `T`, E2BIG
/// when longer with non-zero tail bytes); EINVAL when `stride < min`.
fn read_uobj_array<T: Pod>(a: &drm_panthor_obj_array, min: usize) -> Result<Vec<T>, Errno> {
    if a.count == 0 {
        return Ok(Vec::new());
    }
    if (a.stride as usize) < min {
        return Err(Errno::EINVAL);
    }
    let mut out: Vec<T> = shim::try_with_capacity(a.count as usize)?;
    for i in 0..a.count as u64 {
        let at = a
            .array
            .checked_add(i * a.stride as u64)
            .ok_or(Errno::EFAULT)?;
        out.push(ffi::read_user_struct(at, a.stride as u64)?);
    }
    Ok(out)
}
