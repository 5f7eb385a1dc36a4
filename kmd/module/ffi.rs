// SPDX-License-Identifier: MIT

//! The C half's helpers (vpanthor.h), and safe wrappers for the user copies.

use core::ffi::c_void;

use crate::Errno;

extern "C" {
    pub fn vpanthor_alloc_pages(count: u64, align: u64) -> u64;
    pub fn vpanthor_free_pages(pa: u64, count: u64);
    pub fn vpanthor_phys_to_virt(pa: u64) -> *mut c_void;
    fn vpanthor_copy_from_user(to: *mut c_void, from: u64, len: u64) -> i32;
    fn vpanthor_copy_to_user(to: u64, from: *const c_void, len: u64) -> i32;
    fn vpanthor_clear_user(to: u64, len: u64) -> i32;
    fn vpanthor_copy_struct_from_user(dst: *mut c_void, ksize: u64, src: u64, usize: u64) -> i32;
    pub fn vpanthor_now_ns() -> i64;
    pub fn vpanthor_now_raw_ns() -> i64;
    pub fn vpanthor_sleep(generation: *const u64, seen: u64, deadline_ns: i64);
    pub fn vpanthor_wake_all();
    fn vpanthor_signal_pending() -> bool;
    fn vpanthor_log(level: i32, msg: *const u8, len: u64);
    pub fn vpanthor_rust_allocations() -> u64;
}

fn check(ret: i32) -> Result<(), Errno> {
    if ret == 0 {
        Ok(())
    } else {
        Err(Errno(-ret))
    }
}

/// Plain data that any byte pattern is a valid value of (the uAPI structs:
/// integers only, explicit padding).
///
/// # Safety
/// Implementors must have no invalid bit patterns and no implicit padding.
pub unsafe trait Pod: Copy + Default {}

// SAFETY: plain integers: every bit pattern is valid, no padding.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}

/// Reads a `T` from user address `from`.
pub fn read_user<T: Pod>(from: u64) -> Result<T, Errno> {
    let mut v = T::default();
    read_user_bytes(as_bytes_mut(&mut v), from)?;
    Ok(v)
}

/// Writes `v` to user address `to`.
pub fn write_user<T: Pod>(to: u64, v: &T) -> Result<(), Errno> {
    write_user_bytes(to, as_bytes(v))
}

pub fn read_user_bytes(out: &mut [u8], from: u64) -> Result<(), Errno> {
    // SAFETY: `out` is a writable buffer of exactly out.len() bytes.
    check(unsafe { vpanthor_copy_from_user(out.as_mut_ptr().cast(), from, out.len() as u64) })
}

pub fn write_user_bytes(to: u64, data: &[u8]) -> Result<(), Errno> {
    // SAFETY: `data` is readable for data.len() bytes.
    check(unsafe { vpanthor_copy_to_user(to, data.as_ptr().cast(), data.len() as u64) })
}

pub fn clear_user(to: u64, len: u64) -> Result<(), Errno> {
    // SAFETY: only user memory is written, and clear_user checks it.
    check(unsafe { vpanthor_clear_user(to, len) })
}

/// `copy_struct_from_user`: a user struct of `usize` bytes into `T`, zero
/// extended when shorter, E2BIG when longer with non-zero trailing bytes.
pub fn read_user_struct<T: Pod>(from: u64, usize: u64) -> Result<T, Errno> {
    let mut v = T::default();
    let bytes = as_bytes_mut(&mut v);
    // SAFETY: `bytes` is writable for its length, which is passed as ksize.
    check(unsafe {
        vpanthor_copy_struct_from_user(bytes.as_mut_ptr().cast(), bytes.len() as u64, from, usize)
    })?;
    Ok(v)
}

pub fn as_bytes<T: Pod>(v: &T) -> &[u8] {
    // SAFETY: T: Pod has no padding, so all size_of::<T>() bytes are
    // initialised; the slice borrows `v`.
    unsafe { core::slice::from_raw_parts((v as *const T).cast(), core::mem::size_of::<T>()) }
}

pub fn as_bytes_mut<T: Pod>(v: &mut T) -> &mut [u8] {
    // SAFETY: T: Pod accepts any byte pattern, so writes through the slice
    // keep `v` valid; the slice borrows `v` exclusively.
    unsafe { core::slice::from_raw_parts_mut((v as *mut T).cast(), core::mem::size_of::<T>()) }
}

/// The bytes of a slice of plain data, for user copies of arrays.
pub fn slice_as_bytes_mut<T: Pod>(v: &mut [T]) -> &mut [u8] {
    // SAFETY: as in as_bytes_mut, element by element: `T: Pod` has no
    // padding and accepts any bytes, and the slice covers exactly the
    // elements' `size_of_val(v)` bytes, borrowed exclusively.
    unsafe { core::slice::from_raw_parts_mut(v.as_mut_ptr().cast(), core::mem::size_of_val(v)) }
}

/// Whether the current task has a signal pending (an interruptible wait
/// must end).
pub fn signal_pending() -> bool {
    // SAFETY: reads the current task's flags; no argument.
    unsafe { vpanthor_signal_pending() }
}

/// Logs a line (`level` 0: info, else warning).
pub fn log(level: i32, msg: &str) {
    // SAFETY: msg is valid for msg.len() bytes; the C side prints it with
    // an explicit length.
    unsafe { vpanthor_log(level, msg.as_ptr(), msg.len() as u64) }
}

/// A small formatting buffer for log lines (no allocation).
pub struct LineBuf {
    buf: [u8; 200],
    len: usize,
}

impl LineBuf {
    pub const fn new() -> Self {
        Self {
            buf: [0; 200],
            len: 0,
        }
    }
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

impl core::fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // Truncates at a char boundary when full.
        for c in s.chars() {
            let mut tmp = [0u8; 4];
            let e = c.encode_utf8(&mut tmp);
            if self.len + e.len() > self.buf.len() {
                return Ok(());
            }
            self.buf[self.len..self.len + e.len()].copy_from_slice(e.as_bytes());
            self.len += e.len();
        }
        Ok(())
    }
}

/// Logs formatted text.
macro_rules! vlog {
    ($level:expr, $($arg:tt)*) => {{
        let mut line = $crate::ffi::LineBuf::new();
        let _ = core::fmt::Write::write_fmt(&mut line, format_args!($($arg)*));
        $crate::ffi::log($level, line.as_str());
    }};
}
pub(crate) use vlog;
