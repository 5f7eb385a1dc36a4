//! Sleeping until something happens: the one OS service the uAPI semantics
//! need beyond memory (a kernel build maps it onto a wait queue and
//! `ktime_get`).
//!
//! Every state change another thread may wait for (a fence signalled, a CS
//! slot finished, a job queued) ends with [`Waiter::wake_all`]. Waiters take
//! a [`Waiter::generation`] snapshot *before* checking their condition and
//! sleep only while the generation is unchanged, so a wake-up between the
//! check and the sleep is never lost, and the condition is evaluated without
//! the waiter's own lock held (it may take any other lock).

/// A wake-up source with a monotonic clock.
pub trait Waiter: Send + Sync {
    /// `CLOCK_MONOTONIC` now, in nanoseconds (the clock DRM wait timeouts use).
    fn now_ns(&self) -> i64;

    /// `CLOCK_MONOTONIC_RAW` now, in nanoseconds (TIMESTAMP_INFO samples
    /// it on request).
    fn now_raw_ns(&self) -> i64;

    /// A counter that [`Waiter::wake_all`] increments.
    fn generation(&self) -> u64;

    /// Sleeps until the generation differs from `seen` or `deadline_ns`
    /// passes (returns at once when either already holds).
    fn sleep(&self, seen: u64, deadline_ns: i64);

    /// Wakes every sleeper. Must not be called with a lock held that a
    /// waiter's condition takes.
    fn wake_all(&self);

    /// Sleeps until `ready()` holds (true) or the deadline passes (false).
    fn wait_until(&self, deadline_ns: i64, ready: &mut dyn FnMut() -> bool) -> bool {
        loop {
            let seen = self.generation();
            if ready() {
                return true;
            }
            if self.now_ns() >= deadline_ns {
                return false;
            }
            self.sleep(seen, deadline_ns);
        }
    }
}
