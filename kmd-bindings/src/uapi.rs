//! The panthor uAPI, as `include/uapi/drm/panthor_drm.h` defines it.
//!
//! Names follow the C header one to one, so a reader can put this file beside
//! the header and check it line by line (and `tests/layout.rs` does so by
//! compiling the real header). This file depends on nothing but `core`: the
//! kernel module includes it by `#[path]`, where no crate can be linked.
//!
//! What is here, by origin:
//! - Linux 6.12 (driver version 1.0..1.2): every ioctl, struct and flag;
//! - later minors (see [`version`]): the additions that are established facts;
//! - the sparse seed patch: [`DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE`].

#![allow(non_camel_case_types)]

/// DRM ioctl numbers: `_IOC(dir, 'd', nr, size)` as asm-generic encodes it
/// (the same on x86-64, arm64 and riscv64).
pub mod ioc {
    const NRBITS: u32 = 8;
    const TYPEBITS: u32 = 8;
    const SIZEBITS: u32 = 14;
    const NRSHIFT: u32 = 0;
    const TYPESHIFT: u32 = NRSHIFT + NRBITS;
    const SIZESHIFT: u32 = TYPESHIFT + TYPEBITS;
    const DIRSHIFT: u32 = SIZESHIFT + SIZEBITS;

    pub const NONE: u32 = 0;
    pub const WRITE: u32 = 1;
    pub const READ: u32 = 2;

    /// `DRM_IOCTL_BASE`.
    pub const DRM_BASE: u32 = b'd' as u32;
    /// `DRM_COMMAND_BASE`: driver ioctls start here.
    pub const DRM_COMMAND_BASE: u32 = 0x40;

    /// `_IOC(dir, type, nr, size)`. `size` must fit in 14 bits, checked at
    /// compile time where this is used in a `const`.
    pub const fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
        assert!(size < (1 << SIZEBITS));
        (dir << DIRSHIFT) | ((size as u32) << SIZESHIFT) | (ty << TYPESHIFT) | (nr << NRSHIFT)
    }

    /// `DRM_IOWR(nr, type)`.
    pub const fn drm_iowr(nr: u32, size: usize) -> u32 {
        ioc(READ | WRITE, DRM_BASE, nr, size)
    }

    /// `DRM_IOW(nr, type)`.
    pub const fn drm_iow(nr: u32, size: usize) -> u32 {
        ioc(WRITE, DRM_BASE, nr, size)
    }
}

/// Driver versions reported by `DRM_IOCTL_VERSION` (major is always 1), and
/// the minor that first offers each feature user space may probe for.
/// Linux 6.12 is 1.0; 1.9 (sparse) is queued for Linux 7.3.
pub mod version {
    /// `drm_version.name` of panthor.
    pub const DRIVER_NAME: &str = "panthor";
    /// The only major version panthor has had.
    pub const MAJOR: i32 = 1;
    /// 1.1: `DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO`.
    pub const MINOR_TIMESTAMP_INFO: i32 = 1;
    /// 1.2: `DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO`, realtime priority.
    pub const MINOR_GROUP_PRIORITIES_INFO: i32 = 2;
    /// 1.3: `DRM_PANTHOR_GROUP_STATE_INNOCENT`.
    pub const MINOR_GROUP_STATE_INNOCENT: i32 = 3;
    /// 1.4: `DRM_IOCTL_PANTHOR_BO_SET_LABEL`.
    pub const MINOR_BO_SET_LABEL: i32 = 4;
    /// 1.5: `DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET`.
    pub const MINOR_SET_USER_MMIO_OFFSET: i32 = 5;
    /// 1.6: device-coherent timestamps (no new uAPI object).
    pub const MINOR_TIMESTAMP_COHERENT: i32 = 6;
    /// 1.7: `DRM_PANTHOR_BO_WB_MMAP`, `BO_SYNC`, `BO_QUERY_INFO`,
    /// `drm_panthor_gpu_info::selected_coherency`.
    pub const MINOR_BO_SYNC: i32 = 7;
    /// 1.8: `drm_panthor_timestamp_info::flags` and the fields after it.
    pub const MINOR_TIMESTAMP_FLAGS: i32 = 8;
    /// 1.9: `DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE` and the
    /// `DRM_PANTHOR_DEV_QUERY_MMU_INFO` page-size query (Mesa gates both on it).
    pub const MINOR_MAP_SPARSE: i32 = 9;
}

// ---------------------------------------------------------------------------
// MMIO regions
// ---------------------------------------------------------------------------

pub const DRM_PANTHOR_USER_MMIO_OFFSET_32BIT: u64 = 1 << 43;
pub const DRM_PANTHOR_USER_MMIO_OFFSET_64BIT: u64 = 1 << 56;
/// The header picks by `sizeof(unsigned long)`; `usize` is that width on Linux.
pub const DRM_PANTHOR_USER_MMIO_OFFSET: u64 = if core::mem::size_of::<usize>() < 8 {
    DRM_PANTHOR_USER_MMIO_OFFSET_32BIT
} else {
    DRM_PANTHOR_USER_MMIO_OFFSET_64BIT
};
pub const DRM_PANTHOR_USER_FLUSH_ID_MMIO_OFFSET: u64 = DRM_PANTHOR_USER_MMIO_OFFSET;

// ---------------------------------------------------------------------------
// ioctl ids and request codes
// ---------------------------------------------------------------------------

pub const DRM_PANTHOR_DEV_QUERY: u32 = 0;
pub const DRM_PANTHOR_VM_CREATE: u32 = 1;
pub const DRM_PANTHOR_VM_DESTROY: u32 = 2;
pub const DRM_PANTHOR_VM_BIND: u32 = 3;
pub const DRM_PANTHOR_VM_GET_STATE: u32 = 4;
pub const DRM_PANTHOR_BO_CREATE: u32 = 5;
pub const DRM_PANTHOR_BO_MMAP_OFFSET: u32 = 6;
pub const DRM_PANTHOR_GROUP_CREATE: u32 = 7;
pub const DRM_PANTHOR_GROUP_DESTROY: u32 = 8;
pub const DRM_PANTHOR_GROUP_SUBMIT: u32 = 9;
pub const DRM_PANTHOR_GROUP_GET_STATE: u32 = 10;
pub const DRM_PANTHOR_TILER_HEAP_CREATE: u32 = 11;
pub const DRM_PANTHOR_TILER_HEAP_DESTROY: u32 = 12;
/// Driver 1.4.
pub const DRM_PANTHOR_BO_SET_LABEL: u32 = 13;
/// Driver 1.5.
pub const DRM_PANTHOR_SET_USER_MMIO_OFFSET: u32 = 14;
/// Driver 1.7.
pub const DRM_PANTHOR_BO_SYNC: u32 = 15;
/// Driver 1.7.
pub const DRM_PANTHOR_BO_QUERY_INFO: u32 = 16;

const fn panthor_iowr(id: u32, size: usize) -> u32 {
    ioc::drm_iowr(ioc::DRM_COMMAND_BASE + id, size)
}

macro_rules! panthor_ioctl {
    ($name:ident, $id:ident, $ty:ty) => {
        pub const $name: u32 = panthor_iowr($id, core::mem::size_of::<$ty>());
    };
}

panthor_ioctl!(
    DRM_IOCTL_PANTHOR_DEV_QUERY,
    DRM_PANTHOR_DEV_QUERY,
    drm_panthor_dev_query
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_VM_CREATE,
    DRM_PANTHOR_VM_CREATE,
    drm_panthor_vm_create
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_VM_DESTROY,
    DRM_PANTHOR_VM_DESTROY,
    drm_panthor_vm_destroy
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_VM_BIND,
    DRM_PANTHOR_VM_BIND,
    drm_panthor_vm_bind
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_VM_GET_STATE,
    DRM_PANTHOR_VM_GET_STATE,
    drm_panthor_vm_get_state
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_BO_CREATE,
    DRM_PANTHOR_BO_CREATE,
    drm_panthor_bo_create
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET,
    DRM_PANTHOR_BO_MMAP_OFFSET,
    drm_panthor_bo_mmap_offset
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_GROUP_CREATE,
    DRM_PANTHOR_GROUP_CREATE,
    drm_panthor_group_create
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_GROUP_DESTROY,
    DRM_PANTHOR_GROUP_DESTROY,
    drm_panthor_group_destroy
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_GROUP_SUBMIT,
    DRM_PANTHOR_GROUP_SUBMIT,
    drm_panthor_group_submit
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_GROUP_GET_STATE,
    DRM_PANTHOR_GROUP_GET_STATE,
    drm_panthor_group_get_state
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE,
    DRM_PANTHOR_TILER_HEAP_CREATE,
    drm_panthor_tiler_heap_create
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY,
    DRM_PANTHOR_TILER_HEAP_DESTROY,
    drm_panthor_tiler_heap_destroy
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_BO_SET_LABEL,
    DRM_PANTHOR_BO_SET_LABEL,
    drm_panthor_bo_set_label
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET,
    DRM_PANTHOR_SET_USER_MMIO_OFFSET,
    drm_panthor_set_user_mmio_offset
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_BO_SYNC,
    DRM_PANTHOR_BO_SYNC,
    drm_panthor_bo_sync
);
panthor_ioctl!(
    DRM_IOCTL_PANTHOR_BO_QUERY_INFO,
    DRM_PANTHOR_BO_QUERY_INFO,
    drm_panthor_bo_query_info
);

// ---------------------------------------------------------------------------
// Common objects
// ---------------------------------------------------------------------------

/// An array of objects in user memory. `stride` is the element size user
/// space was built with; the kernel copies `min(stride, its own size)` bytes
/// of each element and zero-fills (older user space) or rejects non-zero
/// extra bytes (newer user space).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_obj_array {
    pub stride: u32,
    pub count: u32,
    pub array: u64,
}

impl drm_panthor_obj_array {
    /// `DRM_PANTHOR_OBJ_ARRAY(cnt, ptr)` for a slice. The result holds a raw
    /// address: the slice must outlive every use of the array.
    pub fn from_slice<T>(items: &[T]) -> Self {
        Self {
            stride: core::mem::size_of::<T>() as u32,
            count: items.len() as u32,
            array: if items.is_empty() {
                0
            } else {
                items.as_ptr() as usize as u64
            },
        }
    }
}

pub const DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK: u32 = 0xff;
pub const DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ: u32 = 0;
pub const DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ: u32 = 1;
pub const DRM_PANTHOR_SYNC_OP_WAIT: u32 = 0;
pub const DRM_PANTHOR_SYNC_OP_SIGNAL: u32 = 1 << 31;

/// A wait on, or signal of, a (timeline) syncobj attached to a job.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_sync_op {
    pub flags: u32,
    pub handle: u32,
    /// Must be zero unless the handle type is `TIMELINE_SYNCOBJ`.
    pub timeline_value: u64,
}

// ---------------------------------------------------------------------------
// DEV_QUERY
// ---------------------------------------------------------------------------

pub const DRM_PANTHOR_DEV_QUERY_GPU_INFO: u32 = 0;
pub const DRM_PANTHOR_DEV_QUERY_CSIF_INFO: u32 = 1;
/// Driver 1.1.
pub const DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO: u32 = 2;
/// Driver 1.2.
pub const DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO: u32 = 3;
/// Driver 1.9: supported MMU page sizes.
pub const DRM_PANTHOR_DEV_QUERY_MMU_INFO: u32 = 4;

/// `DRM_PANTHOR_DEV_QUERY_GPU_INFO`. The field-extraction macros of the
/// header are the methods below.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_gpu_info {
    pub gpu_id: u32,
    pub gpu_rev: u32,
    pub csf_id: u32,
    pub l2_features: u32,
    pub tiler_features: u32,
    pub mem_features: u32,
    pub mmu_features: u32,
    pub thread_features: u32,
    pub max_threads: u32,
    pub thread_max_workgroup_size: u32,
    pub thread_max_barrier_size: u32,
    pub coherency_features: u32,
    pub texture_features: [u32; 4],
    pub as_present: u32,
    /// `pad0` in 6.12; `selected_coherency` from driver 1.7.
    pub selected_coherency: u32,
    pub shader_present: u64,
    pub l2_present: u64,
    pub tiler_present: u64,
    pub core_features: u32,
    pub pad: u32,
}

impl drm_panthor_gpu_info {
    pub const fn arch_major(&self) -> u32 {
        self.gpu_id >> 28
    }
    pub const fn arch_minor(&self) -> u32 {
        (self.gpu_id >> 24) & 0xf
    }
    pub const fn arch_rev(&self) -> u32 {
        (self.gpu_id >> 20) & 0xf
    }
    pub const fn product_major(&self) -> u32 {
        (self.gpu_id >> 16) & 0xf
    }
    pub const fn version_major(&self) -> u32 {
        (self.gpu_id >> 12) & 0xf
    }
    pub const fn version_minor(&self) -> u32 {
        (self.gpu_id >> 4) & 0xff
    }
    pub const fn version_status(&self) -> u32 {
        self.gpu_id & 0xf
    }
    /// `DRM_PANTHOR_MMU_VA_BITS`.
    pub const fn mmu_va_bits(&self) -> u32 {
        self.mmu_features & 0xff
    }
}

/// `drm_panthor_gpu_info::selected_coherency` values (driver 1.7).
pub const DRM_PANTHOR_GPU_COHERENCY_ACE_LITE: u32 = 0;
pub const DRM_PANTHOR_GPU_COHERENCY_ACE: u32 = 1;
pub const DRM_PANTHOR_GPU_COHERENCY_NONE: u32 = 31;

/// `DRM_PANTHOR_DEV_QUERY_CSIF_INFO`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_csif_info {
    pub csg_slot_count: u32,
    pub cs_slot_count: u32,
    pub cs_reg_count: u32,
    pub scoreboard_slot_count: u32,
    /// The last `unpreserved_cs_reg_count` registers are the kernel's during
    /// GROUP_SUBMIT.
    pub unpreserved_cs_reg_count: u32,
    pub pad: u32,
}

/// `DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO` (driver 1.1; the fields from
/// `flags` on are driver 1.8, where `flags` is an input: 0 means
/// `GPU | GPU_OFFSET | FREQ`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_timestamp_info {
    /// Hz, or 0 when unknown.
    pub timestamp_frequency: u64,
    pub current_timestamp: u64,
    pub timestamp_offset: u64,
    pub flags: u32,
    pub duration_nsec: u32,
    pub cycle_count: u64,
    pub cpu_timestamp_sec: u64,
    pub cpu_timestamp_nsec: u64,
}

pub const DRM_PANTHOR_TIMESTAMP_GPU: u32 = 1 << 0;
pub const DRM_PANTHOR_TIMESTAMP_CPU_NONE: u32 = 0 << 1;
pub const DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC: u32 = 1 << 1;
pub const DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC_RAW: u32 = 2 << 1;
pub const DRM_PANTHOR_TIMESTAMP_CPU_TYPE_MASK: u32 = 7 << 1;
pub const DRM_PANTHOR_TIMESTAMP_GPU_OFFSET: u32 = 1 << 4;
pub const DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT: u32 = 1 << 5;
pub const DRM_PANTHOR_TIMESTAMP_FREQ: u32 = 1 << 6;
pub const DRM_PANTHOR_TIMESTAMP_DURATION: u32 = 1 << 7;

/// `DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO` (driver 1.2).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_group_priorities_info {
    /// Bit N set: priority N may be used by this file.
    pub allowed_mask: u8,
    pub pad: [u8; 3],
}

/// `DRM_PANTHOR_DEV_QUERY_MMU_INFO` (driver 1.9).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_mmu_info {
    /// Bit N set: pages of 2^N bytes can be mapped (4 KiB | 2 MiB | 1 GiB on
    /// a 4 KiB-granule MMU).
    pub page_size_bitmap: u64,
}

/// Arguments of `DRM_IOCTL_PANTHOR_DEV_QUERY`. With `pointer == 0` the kernel
/// only writes the size of the queried object to `size`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_dev_query {
    pub r#type: u32,
    pub size: u32,
    pub pointer: u64,
}

// ---------------------------------------------------------------------------
// VMs
// ---------------------------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_vm_create {
    /// Must be zero.
    pub flags: u32,
    /// Out: the VM id (never 0).
    pub id: u32,
    /// In: size of the user VA range starting at 0 (0 = kernel's choice).
    /// Out: the range chosen.
    pub user_va_range: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_vm_destroy {
    pub id: u32,
    pub pad: u32,
}

pub const DRM_PANTHOR_VM_BIND_OP_MAP_READONLY: u32 = 1 << 0;
pub const DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC: u32 = 1 << 1;
pub const DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED: u32 = 1 << 2;
/// From the sparse seed patch: map the range cyclically over the file's
/// 2 MiB dummy BO. Requires `MAP_NOEXEC`, `bo_handle == 0`, `bo_offset == 0`.
pub const DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE: u32 = 1 << 3;
pub const DRM_PANTHOR_VM_BIND_OP_TYPE_MASK: u32 = 0xf << 28;
pub const DRM_PANTHOR_VM_BIND_OP_TYPE_MAP: u32 = 0;
pub const DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP: u32 = 1 << 28;
/// Only valid in an asynchronous bind with at least one sync op.
pub const DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY: u32 = 2 << 28;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_vm_bind_op {
    pub flags: u32,
    pub bo_handle: u32,
    pub bo_offset: u64,
    pub va: u64,
    pub size: u64,
    /// Array of [`drm_panthor_sync_op`]; only allowed on asynchronous binds.
    pub syncs: drm_panthor_obj_array,
}

pub const DRM_PANTHOR_VM_BIND_ASYNC: u32 = 1 << 0;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_vm_bind {
    pub vm_id: u32,
    pub flags: u32,
    /// Array of [`drm_panthor_vm_bind_op`]. On a failed synchronous bind the
    /// kernel writes back, in `count`, how many ops were applied.
    pub ops: drm_panthor_obj_array,
}

pub const DRM_PANTHOR_VM_STATE_USABLE: u32 = 0;
pub const DRM_PANTHOR_VM_STATE_UNUSABLE: u32 = 1;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_vm_get_state {
    pub vm_id: u32,
    pub state: u32,
}

// ---------------------------------------------------------------------------
// Buffer objects
// ---------------------------------------------------------------------------

pub const DRM_PANTHOR_BO_NO_MMAP: u32 = 1 << 0;
/// Driver 1.7: CPU mappings are write-back cached (then BO_SYNC is needed
/// on non-coherent systems).
pub const DRM_PANTHOR_BO_WB_MMAP: u32 = 1 << 1;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_bo_create {
    /// In: requested size. Out: the size allocated (page-aligned).
    pub size: u64,
    pub flags: u32,
    /// Non-zero: the BO can only ever be mapped in this VM.
    pub exclusive_vm_id: u32,
    pub handle: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_bo_mmap_offset {
    pub handle: u32,
    pub pad: u32,
    pub offset: u64,
}

/// `DRM_IOCTL_PANTHOR_BO_SET_LABEL` (driver 1.4).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_bo_set_label {
    pub handle: u32,
    pub pad: u32,
    /// User pointer to a NUL-terminated string (at most 4096 bytes), or 0 to
    /// clear the label.
    pub label: u64,
}

/// `DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET` (driver 1.5).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_set_user_mmio_offset {
    /// Either `DRM_PANTHOR_USER_MMIO_OFFSET_32BIT` or `_64BIT`.
    pub offset: u64,
}

pub const DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH: u32 = 0;
pub const DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE: u32 = 1;
pub const DRM_PANTHOR_BO_SYNC_OP_TYPE_MASK: u32 = 0xf;

/// One range of a `DRM_IOCTL_PANTHOR_BO_SYNC` (driver 1.7).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_bo_sync_op {
    pub handle: u32,
    pub r#type: u32,
    pub offset: u64,
    pub size: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_bo_sync {
    /// Array of [`drm_panthor_bo_sync_op`].
    pub ops: drm_panthor_obj_array,
}

/// `drm_panthor_bo_query_info::extra_flags`: the BO was imported.
pub const DRM_PANTHOR_BO_IS_IMPORTED: u32 = 1 << 0;

/// `DRM_IOCTL_PANTHOR_BO_QUERY_INFO` (driver 1.7).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_bo_query_info {
    pub handle: u32,
    pub extra_flags: u32,
    /// The flags the BO was created with.
    pub create_flags: u32,
    pub pad: u32,
}

// ---------------------------------------------------------------------------
// Scheduling groups
// ---------------------------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_queue_create {
    /// 0..=15, higher runs first inside the group.
    pub priority: u8,
    pub pad: [u8; 3],
    /// Power of two, 4 KiB to 64 KiB.
    pub ringbuf_size: u32,
}

pub const PANTHOR_GROUP_PRIORITY_LOW: u8 = 0;
pub const PANTHOR_GROUP_PRIORITY_MEDIUM: u8 = 1;
/// Needs CAP_SYS_NICE or DRM master.
pub const PANTHOR_GROUP_PRIORITY_HIGH: u8 = 2;
/// Driver 1.2. Needs CAP_SYS_NICE or DRM master.
pub const PANTHOR_GROUP_PRIORITY_REALTIME: u8 = 3;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_group_create {
    /// Array of [`drm_panthor_queue_create`], 1..=MAX_CS_PER_CSG (32) entries.
    pub queues: drm_panthor_obj_array,
    pub max_compute_cores: u8,
    pub max_fragment_cores: u8,
    pub max_tiler_cores: u8,
    pub priority: u8,
    pub pad: u32,
    pub compute_core_mask: u64,
    pub fragment_core_mask: u64,
    pub tiler_core_mask: u64,
    pub vm_id: u32,
    /// Out.
    pub group_handle: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_group_destroy {
    pub group_handle: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_queue_submit {
    pub queue_index: u32,
    /// Bytes; a multiple of 8 (one CS instruction), may be 0 (sync only).
    pub stream_size: u32,
    /// GPU VA of the stream, 64-byte aligned.
    pub stream_addr: u64,
    /// Value of the LATEST_FLUSH_ID register when the stream was built.
    pub latest_flush: u32,
    pub pad: u32,
    /// Array of [`drm_panthor_sync_op`].
    pub syncs: drm_panthor_obj_array,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_group_submit {
    pub group_handle: u32,
    pub pad: u32,
    /// Array of [`drm_panthor_queue_submit`].
    pub queue_submits: drm_panthor_obj_array,
}

pub const DRM_PANTHOR_GROUP_STATE_TIMEDOUT: u32 = 1 << 0;
pub const DRM_PANTHOR_GROUP_STATE_FATAL_FAULT: u32 = 1 << 1;
/// Driver 1.3: the group was stopped by someone else's fault.
pub const DRM_PANTHOR_GROUP_STATE_INNOCENT: u32 = 1 << 2;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_group_get_state {
    pub group_handle: u32,
    pub state: u32,
    /// Bit N set: queue N hit a fatal fault.
    pub fatal_queues: u32,
    pub pad: u32,
}

// ---------------------------------------------------------------------------
// Tiler heaps
// ---------------------------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_tiler_heap_create {
    pub vm_id: u32,
    pub initial_chunk_count: u32,
    /// Power of two, 128 KiB to 8 MiB.
    pub chunk_size: u32,
    pub max_chunks: u32,
    pub target_in_flight: u32,
    /// Out: `(vm_id << 16) | heap index`.
    pub handle: u32,
    pub tiler_heap_ctx_gpu_va: u64,
    pub first_heap_chunk_gpu_va: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_panthor_tiler_heap_destroy {
    pub handle: u32,
    pub pad: u32,
}

// ---------------------------------------------------------------------------
// vpanthor: kmd/'s core as a kernel module (kmd/module, /dev/vpanthor)
// ---------------------------------------------------------------------------

/// The virtual kernel device: kmd/'s core built into a Linux module that
/// answers the panthor uAPI for memory and VMs on `/dev/vpanthor` (no GPU
/// behind it, so no groups or syncobjs). Not part of panthor: its DRM name
/// and its one private ioctl, a debugger's access through a VM's page
/// tables, so tests can check translations from user space.
pub mod vpanthor {
    use super::ioc;

    /// `drm_version.name` of the virtual kernel device.
    pub const DRIVER_NAME: &str = "vpanthor";

    /// Reads `size` bytes at GPU VA `va` into `pointer`.
    pub const VM_ACCESS_READ: u32 = 0;
    /// Writes `size` bytes from `pointer` to GPU VA `va`.
    pub const VM_ACCESS_WRITE: u32 = 1;
    /// Translates `va` only: fills `pa`, `level` and `flags`.
    pub const VM_ACCESS_TRANSLATE: u32 = 2;

    /// `flags` out of a translation.
    pub const VM_ACCESS_READONLY: u32 = 1 << 0;
    pub const VM_ACCESS_NOEXEC: u32 = 1 << 1;
    pub const VM_ACCESS_UNCACHED: u32 = 1 << 2;
    /// The leaf maps the file's sparse dummy BO.
    pub const VM_ACCESS_SPARSE: u32 = 1 << 3;

    /// Access through the page tables as the GPU's MMU walks them (ignoring
    /// READONLY: a debugger's view). ENXIO when some byte of the range is
    /// unmapped (nothing after it is accessed), EINVAL for an unknown VM or
    /// op, a zero size, or a range that wraps.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct drm_vpanthor_vm_access {
        pub vm_id: u32,
        /// `VM_ACCESS_*`.
        pub op: u32,
        pub va: u64,
        /// Bytes to read or write (at most 1 MiB); unused by TRANSLATE.
        pub size: u64,
        /// User buffer of `size` bytes.
        pub pointer: u64,
        /// Out (TRANSLATE): the physical address `va` translates to.
        pub pa: u64,
        /// Out (TRANSLATE): level of the leaf (2: 2 MiB block, 3: 4 KiB page).
        pub level: u32,
        /// Out (TRANSLATE): `VM_ACCESS_READONLY` and friends.
        pub flags: u32,
    }

    /// Its number: the last of the driver range, far from panthor's.
    pub const DRM_VPANTHOR_VM_ACCESS: u32 = 0x5f;

    pub const DRM_IOCTL_VPANTHOR_VM_ACCESS: u32 = ioc::drm_iowr(
        ioc::DRM_COMMAND_BASE + DRM_VPANTHOR_VM_ACCESS,
        core::mem::size_of::<drm_vpanthor_vm_access>(),
    );
}
