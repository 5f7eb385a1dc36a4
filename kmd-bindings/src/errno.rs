//! Kernel error numbers, as the ioctl interface returns them.
//!
//! One small type shared by every layer: the kernel side returns it, the
//! real backend reads it from `errno`, the ICD maps it to Vulkan results.
//! Depends only on `core` (the kernel module includes this file by path).

use core::fmt;

/// A positive Linux errno value (`EINVAL` is 22, not -22).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $val:expr, $text:expr;)*) => {
        impl Errno {
            $(pub const $name: Errno = Errno($val);)*

            /// The symbolic name (`"EINVAL"`), if this is a value we know.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($val => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// What the error means, in a few words.
            pub const fn description(self) -> &'static str {
                match self.0 {
                    $($val => $text,)*
                    _ => "unknown error",
                }
            }
        }
    };
}

// Values from include/uapi/asm-generic/errno-base.h and errno.h (the same on
// every architecture this project targets).
errnos! {
    EPERM = 1, "operation not permitted";
    ENOENT = 2, "no such object";
    EINTR = 4, "interrupted";
    EIO = 5, "I/O error";
    ENXIO = 6, "no such device or address";
    E2BIG = 7, "argument list too long";
    EBADF = 9, "bad file descriptor";
    EAGAIN = 11, "try again";
    ENOMEM = 12, "out of memory";
    EACCES = 13, "permission denied";
    EFAULT = 14, "bad address";
    EBUSY = 16, "device or resource busy";
    EEXIST = 17, "object exists";
    ENODEV = 19, "no such device";
    EINVAL = 22, "invalid argument";
    ENFILE = 23, "too many open files in the system";
    EMFILE = 24, "too many open files";
    ENOSPC = 28, "no space left";
    ENOTTY = 25, "inappropriate ioctl for device";
    ERANGE = 34, "result out of range";
    ENOSYS = 38, "function not implemented";
    EOVERFLOW = 75, "value too large";
    EOPNOTSUPP = 95, "operation not supported";
    ETIMEDOUT = 110, "timed out";
    ECANCELED = 125, "operation canceled";
    ETIME = 62, "timer expired";
}

impl Errno {
    /// The value a kernel function returns for this error (`-EINVAL`).
    pub const fn to_kernel(self) -> i32 {
        -self.0
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.description()),
            None => write!(f, "errno {}", self.0),
        }
    }
}

/// What every uAPI call returns.
pub type Result<T> = core::result::Result<T, Errno>;
