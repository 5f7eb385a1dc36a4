//! Kernel-style warnings (`drm_WARN`): counted always, printed in hosted
//! builds. A kernel build maps [`kwarn!`] onto `pr_warn!`.

use core::sync::atomic::{AtomicU64, Ordering};

static WARNINGS: AtomicU64 = AtomicU64::new(0);

/// How many warnings the kernel side has raised in this process (tests use
/// it to check that misuse is reported, not only refused).
pub fn warning_count() -> u64 {
    WARNINGS.load(Ordering::Relaxed)
}

#[doc(hidden)]
pub fn warn(args: core::fmt::Arguments<'_>) {
    WARNINGS.fetch_add(1, Ordering::Relaxed);
    #[cfg(feature = "std")]
    std::eprintln!("panthor-kmd: WARNING: {args}");
    #[cfg(not(feature = "std"))]
    let _ = args;
}

/// Raises a kernel warning: something the kernel side refused because its
/// caller broke a rule (never user input).
#[macro_export]
macro_rules! kwarn {
    ($($arg:tt)*) => {
        $crate::diag::warn(format_args!($($arg)*))
    };
}
