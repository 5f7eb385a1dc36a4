//! Vulkan handles as Rust objects.
//!
//! Dispatchable handles (instance, physical device, device, queue, command
//! buffer) point to a [`Dispatchable`], whose first word belongs to the
//! loader: the driver stores `ICD_LOADER_MAGIC` there when it creates the
//! object and the loader replaces it with its dispatch table pointer
//! (LoaderDriverInterface.md, "Driver Dispatchable Object Creation").
//! Non-dispatchable handles are the address of a boxed object.
//!
//! Handles come from the application; as in every driver, a handle that was
//! not made by us (or was already destroyed) is undefined behaviour by the
//! spec's valid-usage rules. Null handles are caught and reported.

use ash::vk::{self, Handle};

use crate::guard::{VkError, VkResult};

/// `ICD_LOADER_MAGIC` from `vk_icd.h`.
pub const ICD_LOADER_MAGIC: usize = 0x01CD_C0DE;

/// A dispatchable object: the loader's word, then ours.
#[repr(C)]
pub struct Dispatchable<T> {
    loader_data: usize,
    pub obj: T,
}

/// Makes a dispatchable handle owning `obj`.
pub fn new_dispatchable<T, H: Handle>(obj: T) -> H {
    let b = Box::new(Dispatchable {
        loader_data: ICD_LOADER_MAGIC,
        obj,
    });
    H::from_raw(Box::into_raw(b) as u64)
}

/// The object behind a dispatchable handle.
///
/// # Safety
/// `h` is null or was made by [`new_dispatchable`] with the same `T` and
/// not yet freed.
pub unsafe fn dispatchable<'a, T, H: Handle>(h: H) -> VkResult<&'a T> {
    let p = h.as_raw() as *const Dispatchable<T>;
    if p.is_null() {
        return Err(null::<H>());
    }
    // SAFETY: the caller guarantees p came from new_dispatchable::<T> and is live.
    Ok(unsafe { &(*p).obj })
}

/// Frees a dispatchable handle; `None` for null.
///
/// # Safety
/// As [`dispatchable`], and no reference to the object outlives this call.
pub unsafe fn free_dispatchable<T, H: Handle>(h: H) -> Option<T> {
    let p = h.as_raw() as *mut Dispatchable<T>;
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees p came from Box::into_raw in new_dispatchable::<T>.
    Some(unsafe { Box::from_raw(p) }.obj)
}

/// Makes a non-dispatchable handle owning `obj`.
pub fn new_handle<T, H: Handle>(obj: T) -> H {
    H::from_raw(Box::into_raw(Box::new(obj)) as u64)
}

/// The object behind a non-dispatchable handle.
///
/// # Safety
/// `h` is null or was made by [`new_handle`] with the same `T` and not yet
/// freed.
pub unsafe fn object<'a, T, H: Handle>(h: H) -> VkResult<&'a T> {
    let p = h.as_raw() as *const T;
    if p.is_null() {
        return Err(null::<H>());
    }
    // SAFETY: the caller guarantees p came from new_handle::<T> and is live.
    Ok(unsafe { &*p })
}

/// As [`object`], `None` for `VK_NULL_HANDLE` (optional handles).
///
/// # Safety
/// As [`object`].
pub unsafe fn optional<'a, T, H: Handle>(h: H) -> Option<&'a T> {
    let p = h.as_raw() as *const T;
    // SAFETY: the caller guarantees p is null or came from new_handle::<T> and is live.
    unsafe { p.as_ref() }
}

/// Frees a non-dispatchable handle; `None` for null.
///
/// # Safety
/// As [`object`], and no reference to the object outlives this call.
pub unsafe fn free_handle<T, H: Handle>(h: H) -> Option<T> {
    let p = h.as_raw() as *mut T;
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees p came from Box::into_raw in new_handle::<T>.
    Some(*unsafe { Box::from_raw(p) })
}

fn null<H: Handle>() -> VkError {
    VkError::new(
        vk::Result::ERROR_UNKNOWN,
        format!("{:?} is VK_NULL_HANDLE", H::TYPE),
    )
}

/// A slice from a Vulkan (count, pointer) pair; empty when count is 0
/// (the pointer may then be null).
///
/// # Safety
/// When `count > 0`, `ptr` points to `count` valid `T`s that live for `'a`.
pub unsafe fn slice<'a, T>(ptr: *const T, count: u32) -> &'a [T] {
    if count == 0 || ptr.is_null() {
        &[]
    } else {
        // SAFETY: the caller guarantees ptr points to count live elements.
        unsafe { std::slice::from_raw_parts(ptr, count as usize) }
    }
}

/// Writes `items` by the Vulkan two-call idiom: with a null `out`, reports
/// the count; else writes as many as fit and returns `VK_INCOMPLETE` when
/// some did not.
///
/// # Safety
/// `count` is valid; `out`, when not null, points to `*count` writable `T`s.
pub unsafe fn write_array<T: Copy>(count: *mut u32, out: *mut T, items: &[T]) -> vk::Result {
    // SAFETY: the caller guarantees count is a valid pointer.
    let count = unsafe { &mut *count };
    if out.is_null() {
        *count = items.len() as u32;
        return vk::Result::SUCCESS;
    }
    let n = (*count as usize).min(items.len());
    // SAFETY: the caller guarantees out has room for *count >= n elements.
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), out, n) };
    *count = n as u32;
    if n < items.len() {
        vk::Result::INCOMPLETE
    } else {
        vk::Result::SUCCESS
    }
}

/// As [`write_array`] for output structs that carry `sType`/`pNext`
/// (only the payload is written, so the application's chain survives).
///
/// # Safety
/// As [`write_array`].
pub unsafe fn fill_array<T>(
    count: *mut u32,
    out: *mut T,
    n_items: usize,
    mut fill: impl FnMut(usize, &mut T),
) -> vk::Result {
    // SAFETY: the caller guarantees count is a valid pointer.
    let count = unsafe { &mut *count };
    if out.is_null() {
        *count = n_items as u32;
        return vk::Result::SUCCESS;
    }
    let n = (*count as usize).min(n_items);
    for i in 0..n {
        // SAFETY: the caller guarantees out has room for *count >= n elements.
        fill(i, unsafe { &mut *out.add(i) });
    }
    *count = n as u32;
    if n < n_items {
        vk::Result::INCOMPLETE
    } else {
        vk::Result::SUCCESS
    }
}

/// Writes `value` to an out-pointer.
///
/// # Safety
/// `p` is valid for a write of `T`.
pub unsafe fn out<T>(p: *mut T, value: T) -> VkResult<()> {
    if p.is_null() {
        return Err(VkError::new(
            vk::Result::ERROR_UNKNOWN,
            "null output pointer",
        ));
    }
    // SAFETY: the caller guarantees p is valid for writes.
    unsafe { p.write(value) };
    Ok(())
}

/// A reference from a pointer the spec says is valid, or an error.
///
/// # Safety
/// `p` is null or points to a live `T` for `'a`.
pub unsafe fn input<'a, T>(p: *const T, what: &str) -> VkResult<&'a T> {
    // SAFETY: the caller guarantees p is null or valid.
    unsafe { p.as_ref() }
        .ok_or_else(|| VkError::new(vk::Result::ERROR_UNKNOWN, format!("{what} is null")))
}
