//! Fences: one-shot completion events (the kernel's `dma_fence`).
//!
//! A fence starts pending and is signalled once, possibly with an error (a
//! job that faulted still completes, with `-EINVAL` or `-ECANCELED`, so its
//! waiters wake). Whoever signals calls [`crate::wait::Waiter::wake_all`]
//! afterwards. A [`FenceSet`] is what a syncobj point stands for: a timeline
//! point is reached when its fence and every earlier one have signalled.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicI32, AtomicU8, Ordering};

use crate::shim::{try_push, AllocError, Shared};

const PENDING: u8 = 0;
const SIGNALED: u8 = 1;

struct FenceState {
    state: AtomicU8,
    /// 0 or a negative errno, written before `state` becomes SIGNALED.
    error: AtomicI32,
}

/// A reference to a fence.
#[derive(Clone)]
pub struct Fence(Shared<FenceState>);

impl Fence {
    /// A pending fence.
    pub fn pending() -> Result<Fence, AllocError> {
        Ok(Fence(Shared::try_new(FenceState {
            state: AtomicU8::new(PENDING),
            error: AtomicI32::new(0),
        })?))
    }

    /// An already signalled fence (`dma_fence_get_stub`).
    pub fn signaled() -> Result<Fence, AllocError> {
        let f = Fence::pending()?;
        f.signal(0);
        Ok(f)
    }

    /// Signals with `error` (0 or a negative errno). Only the first signal
    /// counts; returns whether this was it.
    pub fn signal(&self, error: i32) -> bool {
        if self.0.state.load(Ordering::Acquire) == SIGNALED {
            return false;
        }
        self.0.error.store(error, Ordering::Relaxed);
        self.0
            .state
            .compare_exchange(PENDING, SIGNALED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub fn is_signaled(&self) -> bool {
        self.0.state.load(Ordering::Acquire) == SIGNALED
    }

    /// The error it signalled with (0 when none or still pending).
    pub fn error(&self) -> i32 {
        if self.is_signaled() {
            self.0.error.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// Same fence object.
    pub fn ptr_eq(a: &Fence, b: &Fence) -> bool {
        Shared::ptr_eq(&a.0, &b.0)
    }
}

impl core::fmt::Debug for Fence {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match (self.is_signaled(), self.error()) {
            (false, _) => f.write_str("Fence(pending)"),
            (true, 0) => f.write_str("Fence(signaled)"),
            (true, e) => write!(f, "Fence(signaled, {e})"),
        }
    }
}

/// Fences that must all signal: what one syncobj point waits for.
#[derive(Clone, Debug, Default)]
pub struct FenceSet(Vec<Fence>);

impl FenceSet {
    pub fn one(fence: Fence) -> Result<FenceSet, AllocError> {
        let mut v = Vec::new();
        try_push(&mut v, fence)?;
        Ok(FenceSet(v))
    }

    /// Adds every fence of `other`.
    pub fn extend(&mut self, other: &FenceSet) -> Result<(), AllocError> {
        crate::shim::try_reserve(&mut self.0, other.0.len())?;
        self.0.extend(other.0.iter().cloned());
        Ok(())
    }

    pub fn push(&mut self, fence: Fence) -> Result<(), AllocError> {
        try_push(&mut self.0, fence)
    }

    /// All signalled (an empty set is).
    pub fn is_signaled(&self) -> bool {
        self.0.iter().all(Fence::is_signaled)
    }

    /// Drops the signalled fences (keeps the first error, if any, as a
    /// signalled fence so it is not forgotten).
    pub fn prune(&mut self) {
        let mut kept_error = false;
        self.0.retain(|f| {
            if !f.is_signaled() {
                return true;
            }
            if f.error() != 0 && !kept_error {
                kept_error = true;
                return true;
            }
            false
        });
    }

    /// The first error among the signalled fences (0 when none).
    pub fn error(&self) -> i32 {
        self.0
            .iter()
            .map(Fence::error)
            .find(|&e| e != 0)
            .unwrap_or(0)
    }

    pub fn fences(&self) -> &[Fence] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_signals_once_and_keeps_its_first_error() {
        let f = Fence::pending().unwrap();
        assert!(!f.is_signaled());
        assert_eq!(f.error(), 0);
        assert!(f.signal(-22));
        assert!(!f.signal(0));
        assert!(f.is_signaled());
        assert_eq!(f.error(), -22);
    }

    #[test]
    fn a_set_is_signaled_when_all_are_and_pruning_keeps_errors() {
        let a = Fence::pending().unwrap();
        let b = Fence::pending().unwrap();
        let mut s = FenceSet::one(a.clone()).unwrap();
        s.push(b.clone()).unwrap();
        assert!(!s.is_signaled());
        a.signal(-125);
        assert!(!s.is_signaled());
        b.signal(0);
        assert!(s.is_signaled());
        s.prune();
        assert_eq!(s.fences().len(), 1);
        assert_eq!(s.error(), -125);
        assert!(FenceSet::default().is_signaled());
    }
}
