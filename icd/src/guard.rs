//! The C ABI boundary: every entry point runs its body through [`guard`],
//! which turns a Rust panic into a Vulkan error (a panic must never unwind
//! into the application), and logs why a call failed.
//!
//! Bodies return `VkResult<T>`; [`VkError`] carries the `vk::Result` the
//! spec names plus the reason, which is logged once at the boundary.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use ash::vk;
use panthor_uapi::Errno;

/// A failed call: the result code the application sees and why.
#[derive(Debug)]
pub struct VkError {
    pub result: vk::Result,
    pub why: String,
}

pub type VkResult<T> = Result<T, VkError>;

impl VkError {
    pub fn new(result: vk::Result, why: impl Into<String>) -> VkError {
        VkError {
            result,
            why: why.into(),
        }
    }

    /// `VK_ERROR_OUT_OF_HOST_MEMORY` for a failed host allocation.
    pub fn host_oom(why: impl Into<String>) -> VkError {
        VkError::new(vk::Result::ERROR_OUT_OF_HOST_MEMORY, why)
    }

    /// The error a kernel errno becomes: out-of-memory from the kernel side
    /// is device memory (BOs, page tables); anything else means the device
    /// can no longer be trusted to have done what was asked.
    pub fn from_errno(e: Errno, what: &str) -> VkError {
        let result = match e {
            Errno::ENOMEM | Errno::ENOSPC => vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
            _ => vk::Result::ERROR_DEVICE_LOST,
        };
        VkError::new(result, format!("{what}: {e}"))
    }

    /// As [`VkError::from_errno`], but errors other than out-of-memory are
    /// `otherwise` (for calls where the spec names a softer failure).
    pub fn from_errno_or(e: Errno, what: &str, otherwise: vk::Result) -> VkError {
        match e {
            Errno::ENOMEM | Errno::ENOSPC => VkError::from_errno(e, what),
            _ => VkError::new(otherwise, format!("{what}: {e}")),
        }
    }
}

/// Adds a reason to an errno result.
pub trait ErrnoExt<T> {
    fn vk(self, what: &str) -> VkResult<T>;
}

impl<T> ErrnoExt<T> for Result<T, Errno> {
    fn vk(self, what: &str) -> VkResult<T> {
        self.map_err(|e| VkError::from_errno(e, what))
    }
}

/// Starts logging once per process. `PANTHOR_VK_LOG` takes `env_logger`
/// filters (`warn` by default, `debug`, `panthor_vk=trace`, ...).
pub fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let env = env_logger::Env::new()
            .filter_or("PANTHOR_VK_LOG", "warn")
            .write_style("PANTHOR_VK_LOG_STYLE");
        let _ = env_logger::Builder::from_env(env)
            .format_timestamp(None)
            .try_init();
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// Runs an entry point that returns a `VkResult`.
pub fn guard(name: &str, body: impl FnOnce() -> VkResult<vk::Result>) -> vk::Result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            if e.result == vk::Result::ERROR_DEVICE_LOST {
                log::error!("{name}: {}: {}", e.result, e.why);
            } else {
                log::warn!("{name}: {}: {}", e.result, e.why);
            }
            e.result
        }
        Err(p) => {
            log::error!("{name}: internal error (panic): {}", panic_message(&*p));
            vk::Result::ERROR_UNKNOWN
        }
    }
}

/// Runs an entry point that returns nothing (errors can only be logged).
pub fn guard_void(name: &str, body: impl FnOnce() -> VkResult<()>) {
    let _ = guard(name, || body().map(|()| vk::Result::SUCCESS));
}

/// Runs an entry point that returns a plain value; `fallback` on panic or
/// error.
pub fn guard_value<T>(name: &str, fallback: T, body: impl FnOnce() -> VkResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            log::warn!("{name}: {}: {}", e.result, e.why);
            fallback
        }
        Err(p) => {
            log::error!("{name}: internal error (panic): {}", panic_message(&*p));
            fallback
        }
    }
}

/// `Err(VkError)` with a formatted reason.
#[macro_export]
macro_rules! vk_bail {
    ($result:expr, $($fmt:tt)+) => {
        return Err($crate::guard::VkError::new($result, format!($($fmt)+)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors() {
        let r = guard("test", || panic!("boom"));
        assert_eq!(r, vk::Result::ERROR_UNKNOWN);
        assert_eq!(guard_value("test", 7, || panic!("boom")), 7);
    }

    #[test]
    fn errors_pass_through() {
        let r = guard("test", || {
            Err(VkError::new(vk::Result::ERROR_FORMAT_NOT_SUPPORTED, "x"))
        });
        assert_eq!(r, vk::Result::ERROR_FORMAT_NOT_SUPPORTED);
        assert_eq!(
            guard("test", || Ok(vk::Result::INCOMPLETE)),
            vk::Result::INCOMPLETE
        );
    }

    #[test]
    fn errno_mapping() {
        assert_eq!(
            VkError::from_errno(Errno::ENOMEM, "x").result,
            vk::Result::ERROR_OUT_OF_DEVICE_MEMORY
        );
        assert_eq!(
            VkError::from_errno(Errno::EINVAL, "x").result,
            vk::Result::ERROR_DEVICE_LOST
        );
    }
}
