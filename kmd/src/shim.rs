//! Fallible allocation, the way kernel code must allocate.
//!
//! The kernel's `alloc` has no infallible `Vec::push` or `Box::new`; every
//! allocation can fail and the failure must be returned, not aborted on. The
//! core allocates only through these helpers, so a kernel build can map them
//! onto `KVec`/`KBox` and a hosted build onto `alloc`'s `try_reserve`.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::Errno;

/// An allocation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocError;

impl From<AllocError> for Errno {
    fn from(_: AllocError) -> Errno {
        Errno::ENOMEM
    }
}

/// Appends `value`, growing the vector fallibly.
pub fn try_push<T>(v: &mut Vec<T>, value: T) -> Result<(), AllocError> {
    v.try_reserve(1).map_err(|_| AllocError)?;
    v.push(value);
    Ok(())
}

/// Makes room for `additional` more elements, so that that many pushes
/// cannot fail.
pub fn try_reserve<T>(v: &mut Vec<T>, additional: usize) -> Result<(), AllocError> {
    v.try_reserve(additional).map_err(|_| AllocError)
}

/// A vector of `len` copies of `value`.
pub fn try_vec_filled<T: Clone>(len: usize, value: T) -> Result<Vec<T>, AllocError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| AllocError)?;
    v.resize(len, value);
    Ok(v)
}

/// An empty vector with room for `cap` elements.
pub fn try_with_capacity<T>(cap: usize) -> Result<Vec<T>, AllocError> {
    let mut v = Vec::new();
    v.try_reserve_exact(cap).map_err(|_| AllocError)?;
    Ok(v)
}

/// Boxes `value`. Goes through a one-element vector because stable `alloc`
/// has no `Box::try_new`; the conversion reuses that allocation.
pub fn try_box<T>(value: T) -> Result<Box<T>, AllocError> {
    let mut v = try_with_capacity(1)?;
    v.push(value);
    let mut slice = v.into_boxed_slice();
    debug_assert_eq!(slice.len(), 1);
    let ptr = slice.as_mut_ptr();
    core::mem::forget(slice);
    // SAFETY: `ptr` came from a boxed slice of exactly one T allocated by the
    // global allocator with T's layout, which is the layout Box<T> frees with.
    Ok(unsafe { Box::from_raw(ptr) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_box_holds_the_value_and_frees_it() {
        let b = try_box(alloc::string::String::from("dummy")).unwrap();
        assert_eq!(b.as_str(), "dummy");
    }

    #[test]
    fn impossible_reservation_is_an_error_not_an_abort() {
        let mut v: Vec<u64> = Vec::new();
        assert_eq!(try_reserve(&mut v, usize::MAX / 4), Err(AllocError));
        assert!(v.is_empty());
        assert_eq!(Errno::from(AllocError), Errno::ENOMEM);
    }
}

/// A reference-counted pointer whose creation can fail, like the kernel's
/// `Arc::new(value, GFP_KERNEL)` (stable `alloc::sync::Arc` has no fallible
/// constructor). Clone and drop are atomic; the value is dropped with the
/// last reference.
pub struct Shared<T> {
    ptr: core::ptr::NonNull<SharedInner<T>>,
}

struct SharedInner<T> {
    refs: core::sync::atomic::AtomicUsize,
    value: T,
}

// SAFETY: like Arc: the value is shared across threads, so T must be Send + Sync.
unsafe impl<T: Send + Sync> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Shared<T> {}

impl<T> Shared<T> {
    pub fn try_new(value: T) -> Result<Self, AllocError> {
        let b = try_box(SharedInner {
            refs: core::sync::atomic::AtomicUsize::new(1),
            value,
        })?;
        Ok(Self {
            ptr: core::ptr::NonNull::from(Box::leak(b)),
        })
    }

    /// Number of references now (for lifetime tests).
    pub fn ref_count(this: &Self) -> usize {
        this.inner()
            .refs
            .load(core::sync::atomic::Ordering::Acquire)
    }

    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.ptr == b.ptr
    }

    fn inner(&self) -> &SharedInner<T> {
        // SAFETY: ptr stays valid while any Shared (self included) exists.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        self.inner()
            .refs
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        Self { ptr: self.ptr }
    }
}

impl<T> core::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        use core::sync::atomic::Ordering;
        if self.inner().refs.fetch_sub(1, Ordering::Release) == 1 {
            core::sync::atomic::fence(Ordering::Acquire);
            // SAFETY: this was the last reference; the pointer came from
            // Box::leak in try_new and nobody else can reach it now.
            drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
        }
    }
}

impl<T: core::fmt::Debug> core::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod shared_tests {
    use super::*;
    use core::sync::atomic::{AtomicUsize, Ordering};

    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn value_dropped_with_last_reference() {
        let a = Shared::try_new(Counted).unwrap();
        let b = a.clone();
        assert_eq!(Shared::ref_count(&a), 2);
        drop(a);
        assert_eq!(DROPS.load(Ordering::SeqCst), 0);
        drop(b);
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
    }
}

/// A mutual-exclusion lock for kernel-side state: `std::sync::Mutex` in
/// hosted builds, a spin lock without std (a kernel build maps it onto the
/// kernel's `Mutex`).
pub struct Lock<T> {
    #[cfg(feature = "std")]
    inner: std::sync::Mutex<T>,
    #[cfg(not(feature = "std"))]
    inner: spin::SpinLock<T>,
}

impl<T> Lock<T> {
    pub const fn new(value: T) -> Self {
        #[cfg(feature = "std")]
        let inner = std::sync::Mutex::new(value);
        #[cfg(not(feature = "std"))]
        let inner = spin::SpinLock::new(value);
        Self { inner }
    }

    /// Locks; a poisoned std mutex is taken over (kernel state has no
    /// unwinding, and a panicking holder already reported its bug).
    #[cfg(feature = "std")]
    pub fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(not(feature = "std"))]
    pub fn lock(&self) -> spin::SpinGuard<'_, T> {
        self.inner.lock()
    }
}

#[cfg(not(feature = "std"))]
mod spin {
    use core::cell::UnsafeCell;
    use core::ops::{Deref, DerefMut};
    use core::sync::atomic::{AtomicBool, Ordering};

    pub struct SpinLock<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: access to `value` is serialized by `locked`.
    unsafe impl<T: Send> Sync for SpinLock<T> {}
    // SAFETY: moving the lock moves the value; T: Send allows that.
    unsafe impl<T: Send> Send for SpinLock<T> {}

    impl<T> SpinLock<T> {
        pub const fn new(value: T) -> Self {
            Self {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }
        pub fn lock(&self) -> SpinGuard<'_, T> {
            while self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                core::hint::spin_loop();
            }
            SpinGuard { lock: self }
        }
    }

    pub struct SpinGuard<'a, T> {
        lock: &'a SpinLock<T>,
    }

    impl<T> Deref for SpinGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: the guard holds the lock, so no other reference exists.
            unsafe { &*self.lock.value.get() }
        }
    }
    impl<T> DerefMut for SpinGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: the guard holds the lock exclusively.
            unsafe { &mut *self.lock.value.get() }
        }
    }
    impl<T> Drop for SpinGuard<'_, T> {
        fn drop(&mut self) {
            self.lock.locked.store(false, Ordering::Release);
        }
    }
}
