//! `pNext` chains: finding the extension structs an application passes in,
//! and the output structs it asks the driver to fill.

use std::ffi::c_void;

use ash::vk::{self, TaggedStructure};

/// The first input struct of type `T` in a chain.
///
/// # Safety
/// `p_next` is null or the head of a valid Vulkan input chain.
pub unsafe fn find<'a, T: TaggedStructure>(mut p_next: *const c_void) -> Option<&'a T> {
    while !p_next.is_null() {
        let base = p_next as *const vk::BaseInStructure;
        // SAFETY: every chain element starts with sType/pNext (the caller's contract).
        let (s_type, next) = unsafe { ((*base).s_type, (*base).p_next) };
        if s_type == T::STRUCTURE_TYPE {
            // SAFETY: sType names the struct type, so the element is a T.
            return Some(unsafe { &*(p_next as *const T) });
        }
        p_next = next as *const c_void;
    }
    None
}

/// Calls `f` with every output struct of a chain (to fill the ones the
/// driver knows; unknown ones are left alone, as the spec requires).
///
/// # Safety
/// `p_next` is null or the head of a valid Vulkan output chain.
pub unsafe fn for_each_out(mut p_next: *mut c_void, mut f: impl FnMut(Out<'_>)) {
    while !p_next.is_null() {
        let base = p_next as *mut vk::BaseOutStructure;
        // SAFETY: every chain element starts with sType/pNext (the caller's contract).
        let next = unsafe { (*base).p_next };
        f(Out(p_next, std::marker::PhantomData));
        p_next = next as *mut c_void;
    }
}

/// One element of an output chain.
pub struct Out<'a>(*mut c_void, std::marker::PhantomData<&'a mut ()>);

impl Out<'_> {
    /// The element as a `T` when its sType says so.
    pub fn get<T: TaggedStructure>(&mut self) -> Option<&mut T> {
        // SAFETY: the element starts with an sType (for_each_out's contract).
        let s_type = unsafe { (*(self.0 as *const vk::BaseOutStructure)).s_type };
        if s_type == T::STRUCTURE_TYPE {
            // SAFETY: sType names the struct type, so the element is a T.
            Some(unsafe { &mut *(self.0 as *mut T) })
        } else {
            None
        }
    }
}

/// Runs `$body` with `$v: &mut $ty` for the chain element when it is a `$ty`.
#[macro_export]
macro_rules! fill_out {
    ($out:expr, $($ty:ty => |$v:ident| $body:block)*) => {{
        let mut out = $out;
        $(if let Some($v) = out.get::<$ty>() { $body })*
    }};
}
