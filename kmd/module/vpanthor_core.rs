// SPDX-License-Identifier: MIT

//! vpanthor's Rust half: kmd/'s core, compiled from the very files the
//! hosted `panthor-kmd` crate builds (mounted here with `#[path]`, since a
//! kernel build links no crates.io crate), plus the dependency-free uAPI
//! files of kmd-bindings, over a [`khw::KernelHw`] whose physical pages are
//! real kernel pages. The C half (vpanthor_main.c) calls the `vpanthor_rs_*`
//! entry points below; `ioctl` answers the panthor uAPI, `ktests` holds the
//! KUnit cases.
//!
//! Allocation: Linux 6.12 ships no `alloc` crate, so the module builds
//! Rust's own `alloc` from rust-web-src (see Kbuild) on top of kmalloc. The
//! core allocates only through `shim`'s fallible helpers (`try_reserve` and
//! friends), which report ENOMEM instead of aborting, exactly as hosted.

#![allow(missing_docs, unreachable_pub, dead_code, clippy::all)]
#![allow(unused_imports, unused_macros, rust_2018_idioms)]

extern crate alloc;

// The uAPI types the core uses (kmd-bindings without its std parts).
#[path = "../../kmd-bindings/src/args.rs"]
pub mod args;
#[path = "../../kmd-bindings/src/errno.rs"]
pub mod errno;
#[path = "../../kmd-bindings/src/uapi.rs"]
pub mod uapi;
pub use errno::Errno;

// kmd/'s core, file for file as kmd/src/lib.rs lists it (tests and the
// std-only MockHw excepted).
#[macro_use]
#[path = "../src/diag.rs"]
pub mod diag;
#[path = "../src/bo.rs"]
pub mod bo;
#[path = "../src/csf_ring.rs"]
pub mod csf_ring;
#[path = "../src/device.rs"]
pub mod device;
#[path = "../src/fence.rs"]
pub mod fence;
#[path = "../src/file.rs"]
pub mod file;
#[path = "../src/gem.rs"]
pub mod gem;
#[path = "../src/gpu_info.rs"]
pub mod gpu_info;
#[path = "../src/group.rs"]
pub mod group;
#[path = "../src/hw.rs"]
pub mod hw;
#[path = "../src/lock_region.rs"]
pub mod lock_region;
#[path = "../src/pgtable.rs"]
pub mod pgtable;
#[path = "../src/pte.rs"]
pub mod pte;
#[path = "../src/sched.rs"]
pub mod sched;
#[path = "../src/shim.rs"]
pub mod shim;
#[path = "../src/submit.rs"]
pub mod submit;
#[path = "../src/syncobj.rs"]
pub mod syncobj;
#[path = "../src/va.rs"]
pub mod va;
#[path = "../src/vm.rs"]
pub mod vm;
#[path = "../src/vm_pool.rs"]
pub mod vm_pool;
#[path = "../src/wait.rs"]
pub mod wait;

// The module's own parts.
mod ffi;
mod ioctl;
mod khw;
mod ktests;
mod sync_ioctl;

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::ffi::{c_int, c_long, c_uint, c_ulong, c_void};
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::device::Device;
use crate::ioctl::VFile;

/// The one device, made at module load, dropped at unload (after the misc
/// device is gone, so no file can still reach it).
static DEVICE: AtomicPtr<Arc<Device>> = AtomicPtr::new(core::ptr::null_mut());

/// The device, for a file being opened.
fn device() -> Option<Arc<Device>> {
    let p = DEVICE.load(Ordering::Acquire);
    // SAFETY: DEVICE holds a pointer from Box::into_raw in vpanthor_rs_init
    // and is only freed in vpanthor_rs_exit, after misc_deregister, so no
    // open() runs concurrently with the free.
    (!p.is_null()).then(|| unsafe { (*p).clone() })
}

/// Makes a fresh device over kernel memory (also used by the KUnit cases).
pub(crate) fn new_device() -> Result<Arc<Device>, Errno> {
    let hw: Arc<dyn hw::Hardware> = Arc::new(khw::KernelHw::new());
    let waiter: Arc<dyn wait::Waiter> = Arc::new(khw::KernelWaiter::new());
    Ok(Arc::new(Device::new(hw, waiter)?))
}

#[no_mangle]
pub extern "C" fn vpanthor_rs_init() -> c_int {
    let dev = match new_device() {
        Ok(d) => d,
        Err(e) => return e.to_kernel(),
    };
    let Ok(b) = shim::try_box(dev) else {
        return Errno::ENOMEM.to_kernel();
    };
    DEVICE.store(Box::into_raw(b), Ordering::Release);
    0
}

#[no_mangle]
pub extern "C" fn vpanthor_rs_exit() {
    let p = DEVICE.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if !p.is_null() {
        // SAFETY: p came from Box::into_raw in vpanthor_rs_init and was
        // swapped out, so this is the only owner.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// Opens a file; `*out` gets the pointer the other calls take.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn vpanthor_rs_open(task_size: u64, out: *mut *mut c_void) -> c_int {
    let Some(dev) = device() else {
        return Errno::ENODEV.to_kernel();
    };
    match VFile::open(dev, task_size).and_then(|f| shim::try_box(f).map_err(Errno::from)) {
        Ok(b) => {
            // SAFETY: the caller passes a writable pointer.
            unsafe { *out = Box::into_raw(b).cast() };
            0
        }
        Err(e) => e.to_kernel(),
    }
}

/// # Safety
/// `file` comes from vpanthor_rs_open and is not used again.
#[no_mangle]
pub unsafe extern "C" fn vpanthor_rs_release(file: *mut c_void) {
    // SAFETY: per the contract, `file` is our Box<VFile>, released once.
    drop(unsafe { Box::from_raw(file.cast::<VFile>()) });
}

/// # Safety
/// `file` comes from vpanthor_rs_open and is still open.
#[no_mangle]
pub unsafe extern "C" fn vpanthor_rs_ioctl(file: *mut c_void, cmd: c_uint, arg: c_ulong) -> c_long {
    // SAFETY: per the contract, a live VFile (shared: ioctls may run
    // concurrently, VFile's state is behind the core's locks).
    let f = unsafe { &*file.cast::<VFile>() };
    match f.ioctl(cmd, arg as u64) {
        Ok(()) => 0,
        Err(e) => e.to_kernel() as c_long,
    }
}

/// # Safety
/// `file` as for vpanthor_rs_ioctl; `bo` and `bo_offset` writable.
#[no_mangle]
pub unsafe extern "C" fn vpanthor_rs_mmap_bo(
    file: *mut c_void,
    offset: u64,
    len: u64,
    bo: *mut *mut c_void,
    bo_offset: *mut u64,
) -> c_int {
    // SAFETY: as in vpanthor_rs_ioctl.
    let f = unsafe { &*file.cast::<VFile>() };
    match f.mmap_bo(offset, len) {
        Ok((b, off)) => {
            // SAFETY: the caller passes writable pointers.
            unsafe {
                *bo = Box::into_raw(b).cast();
                *bo_offset = off;
            }
            0
        }
        Err(e) => e.to_kernel(),
    }
}

/// # Safety
/// `bo` comes from vpanthor_rs_mmap_bo and is live.
#[no_mangle]
pub unsafe extern "C" fn vpanthor_rs_bo_pa(bo: *mut c_void, offset: u64) -> u64 {
    // SAFETY: per the contract.
    let bo = unsafe { &*bo.cast::<bo::BoRef>() };
    bo.backing.lookup(offset).map_or(0, |(pa, _)| pa.0)
}

/// # Safety
/// `bo` is null or a live reference that is not used again.
#[no_mangle]
pub unsafe extern "C" fn vpanthor_rs_bo_put(bo: *mut c_void) {
    if !bo.is_null() {
        // SAFETY: per the contract, our Box<BoRef>, dropped once.
        drop(unsafe { Box::from_raw(bo.cast::<bo::BoRef>()) });
    }
}
