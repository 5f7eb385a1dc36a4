//! DRM sync objects (`drm_syncobj`): binary and timeline, and one file's
//! handle table with the SYNCOBJ_* ioctls.
//!
//! A [`Syncobj`] holds nothing, a plain fence (a binary syncobj), or a
//! timeline: a chain of links, newest first, each a point number with the
//! fences attached for it. A point is reached when the fences of its link
//! and of every older link, plus the plain fence the chain was started over,
//! have signalled. Linux builds this from `dma_fence_chain`; this file keeps
//! the same rules in a plain singly linked list:
//!
//! - Attaching a point above the newest one continues the chain (the link
//!   remembers the previous point, `prev_point`). Attaching one that is not
//!   above (out of order) is accepted, but the link is renumbered to the
//!   newest point and starts a new *context* with `prev_point` 0: it now
//!   stands for every point up to the newest one, so the query answer drops
//!   to 0 until everything signals.
//! - Looking up point `p` walks from the newest link down and stops at the
//!   first link whose `prev_point` is below `p` (or that belongs to an older
//!   context); the answer is that link and everything older.
//! - Links other than the newest whose own fences have signalled are
//!   dropped when a point is attached (an error they carry moves up one
//!   link), so a long timeline costs memory only for its pending points.
//!
//! Worked example: attach points 1, 2, 3 with pending fences f1, f2, f3.
//! The links are 3 (prev 2) -> 2 (prev 1) -> 1 (prev 0). Looking up point 2
//! stops at link 2 (its prev_point 1 < 2) and answers {f2, f1}. Signal f3:
//! the query stays 0 (link 1 is pending). Signal f1: the query is 1 (the
//! lowest pending link is 2, whose prev_point is 1). Signal f2: everything
//! signalled, the query is the newest point, 3.
//!
//! [`Syncobjs`] is the per-file handle table (handles from 1, lowest free
//! first, like DRM's idr). Every list operation looks up all handles before
//! changing anything, allocates before committing, and releases every lock
//! before calling [`Waiter::wake_all`]. Lock order: the table lock is never
//! held while a syncobj lock is taken, and at most one syncobj lock is held
//! at a time.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::fence::{Fence, FenceSet};
use crate::shim::{try_box, try_push, try_with_capacity, AllocError, Lock, Shared};
use crate::wait::Waiter;
use crate::Errno;

/// `DRM_SYNCOBJ_CREATE_SIGNALED`: create with a signalled fence attached.
pub const CREATE_SIGNALED: u32 = 1 << 0;
/// `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL`: wait for every handle, not the first.
pub const WAIT_ALL: u32 = 1 << 0;
/// `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT`: wait for a fence to be attached
/// instead of failing with `EINVAL`.
pub const WAIT_FOR_SUBMIT: u32 = 1 << 1;
/// `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE` (timeline waits only): wait until
/// the point is submitted, not until it signals.
pub const WAIT_AVAILABLE: u32 = 1 << 2;
/// `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE`: a deadline hint for the fences;
/// accepted and ignored (no fence here has a clock to boost).
pub const WAIT_DEADLINE: u32 = 1 << 3;
/// `DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED`: query the newest point instead
/// of the last signalled one.
pub const QUERY_LAST_SUBMITTED: u32 = 1 << 0;
/// How long TRANSFER with `WAIT_FOR_SUBMIT` waits for the source point to be
/// submitted before `ETIME` (`DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT`, 5 s).
pub const SUBMIT_TIMEOUT_NS: i64 = 5_000_000_000;

/// The idr's largest id: handles are positive `int`s.
const MAX_HANDLE: usize = i32::MAX as usize;

/// Chain length below which attaching does not prune.
const MIN_PRUNE_AT: usize = 8;

/// One timeline point (a `dma_fence_chain` node).
#[derive(Default)]
struct Link {
    /// The point this link signals (renumbered to the newest point when it
    /// was attached out of order).
    point: u64,
    /// The newest point when this link was attached in order; 0 when it
    /// started a context.
    prev_point: u64,
    /// Links attached in order share their predecessor's context.
    ctx: u64,
    /// This link's own fences.
    fences: FenceSet,
    /// A failed fence of an older, dropped link (so its error is not lost).
    carried_error: Option<Fence>,
    /// The next older link.
    prev: Option<Box<Link>>,
}

impl Link {
    /// Own fences signalled (a carried error is a signalled fence).
    fn is_signaled(&self) -> bool {
        self.fences.is_signaled()
    }

    /// The first failed fence this link holds, if any.
    fn error_fence(&self) -> Option<Fence> {
        if let Some(e) = &self.carried_error {
            return Some(e.clone());
        }
        self.fences
            .fences()
            .iter()
            .find(|f| f.error() != 0)
            .cloned()
    }
}

impl Drop for Link {
    /// Unlinks the older links one by one: a recursive drop of a long chain
    /// would overflow the kernel stack.
    fn drop(&mut self) {
        let mut next = self.prev.take();
        while let Some(mut link) = next {
            next = link.prev.take();
        }
    }
}

/// Memory for one timeline link, allocated before a submit commits so that
/// [`Syncobj::add_point`] cannot fail (Linux's `dma_fence_chain_alloc`).
/// Dropping it unused just frees it.
pub struct PointSlot(Box<Link>);

/// What a syncobj holds for a point.
#[derive(Debug)]
pub enum Lookup {
    /// No fence attached, or the point is not submitted yet.
    NotSubmitted,
    /// The fences the point waits for: the pending ones plus at most one
    /// that failed (empty when everything already signalled).
    Fence(FenceSet),
}

/// A sync object. Shared between files and jobs as a [`SyncobjRef`].
#[derive(Default)]
pub struct Syncobj {
    /// The newest timeline link, when this is a timeline.
    head: Option<Box<Link>>,
    /// Without `head`: the plain fence (None: nothing attached). With
    /// `head`: the plain fence the chain was started over, if any.
    base: Option<FenceSet>,
    /// Context numbers handed out so far.
    contexts: u64,
    /// Links in the chain.
    links: usize,
    /// Prune when `links` reaches this: twice what the last pruning kept,
    /// so a chain stays within twice its pending links (plus a few) and
    /// attaching costs O(1) amortized rather than a walk of every pending
    /// link each time.
    prune_at: usize,
}

/// A reference to a syncobj: handles, jobs and exported fds each hold one.
pub type SyncobjRef = Shared<Lock<Syncobj>>;

impl Syncobj {
    /// An empty syncobj (no fence).
    pub const fn new() -> Syncobj {
        Syncobj {
            head: None,
            base: None,
            contexts: 0,
            links: 0,
            prune_at: 0,
        }
    }

    /// Replaces the payload with a plain fence, or with nothing (`None`):
    /// binary signal, reset, a job's binary SIGNAL op, a timeline dropped
    /// (`drm_syncobj_replace_fence`). The caller wakes waiters afterwards.
    pub fn replace(&mut self, fence: Option<FenceSet>) {
        self.head = None;
        self.base = fence;
        self.links = 0;
        self.prune_at = 0;
    }

    /// Allocates the memory one [`Syncobj::add_point`] needs, so that the
    /// attach itself cannot fail.
    pub fn reserve() -> Result<PointSlot, AllocError> {
        Ok(PointSlot(try_box(Link::default())?))
    }

    /// Attaches `fence` as timeline point `point` (`drm_syncobj_add_point`),
    /// on top of whatever the syncobj holds. A point not above the newest
    /// one is accepted, as Linux does, with a warning; it then stands for
    /// every point up to the newest. The caller wakes waiters afterwards.
    pub fn add_point(&mut self, slot: PointSlot, point: u64, fence: FenceSet) {
        let mut link = slot.0;
        match &self.head {
            Some(head) if point > head.point => {
                link.point = point;
                link.prev_point = head.point;
                link.ctx = head.ctx;
            }
            other => {
                // Linux only logs this at debug level: user space may do it.
                link.point = other.as_ref().map_or(point, |h| h.point.max(point));
                link.prev_point = 0;
                self.contexts = self.contexts.wrapping_add(1);
                link.ctx = self.contexts;
            }
        }
        link.fences = fence;
        link.carried_error = None;
        link.prev = self.head.take();
        self.head = Some(link);
        self.links += 1;
        if self.links >= self.prune_at {
            self.prune();
            self.prune_at = self.links.saturating_mul(2).max(MIN_PRUNE_AT);
        }
    }

    /// The fences point `point` waits for (`drm_syncobj_find_fence`'s
    /// lookup). Point 0 is the whole current payload, plain or timeline. A
    /// timeline point is the first link at or above it plus every older one;
    /// a point above the newest, or any non-zero point of a plain fence, is
    /// not submitted.
    pub fn find(&self, point: u64) -> Result<Lookup, AllocError> {
        let Some(head) = self.head.as_deref() else {
            return match &self.base {
                Some(fence) if point == 0 => Ok(Lookup::Fence(collect(None, fence)?)),
                _ => Ok(Lookup::NotSubmitted),
            };
        };
        if point > head.point {
            return Ok(Lookup::NotSubmitted);
        }
        let mut from = Some(head);
        if point != 0 {
            while let Some(link) = from {
                if link.ctx != head.ctx || link.prev_point < point {
                    break;
                }
                from = link.prev.as_deref();
            }
        }
        let empty = FenceSet::default();
        let base = self.base.as_ref().unwrap_or(&empty);
        Ok(Lookup::Fence(collect(from, base)?))
    }

    /// `DRM_IOCTL_SYNCOBJ_QUERY` for this syncobj: 0 for a plain fence or
    /// nothing; with `last_submitted` the newest point; otherwise the
    /// highest point already reached (the newest when everything signalled).
    ///
    /// Linux reports the point below the lowest pending link of the newest
    /// context even when an older context or the plain fence under the
    /// chain is still pending, a point whose wait would still block; here
    /// the answer is then 0, so that a queried point is always reached.
    pub fn query(&self, last_submitted: bool) -> u64 {
        let Some(head) = self.head.as_deref() else {
            return 0;
        };
        if last_submitted {
            return head.point;
        }
        // The lowest link of the newest context whose own fences are
        // pending: every point up to its prev_point is reached, its own
        // point is not.
        let mut lowest_pending = None;
        let mut link = Some(head);
        while let Some(l) = link {
            if l.ctx != head.ctx {
                break;
            }
            if !l.is_signaled() {
                lowest_pending = Some(l);
            }
            link = l.prev.as_deref();
        }
        let mut below_done = self.base.as_ref().is_none_or(FenceSet::is_signaled);
        while let Some(l) = link {
            below_done &= l.is_signaled();
            link = l.prev.as_deref();
        }
        match (below_done, lowest_pending) {
            (false, _) => 0,
            (true, None) => head.point,
            (true, Some(l)) => l.prev_point,
        }
    }

    /// Whether anything is attached (for point 0: a wait would not fail).
    pub fn has_fence(&self) -> bool {
        self.head.is_some() || self.base.is_some()
    }

    /// How many timeline links are kept (memory bound checks).
    pub fn link_count(&self) -> usize {
        self.links
    }

    /// Drops the signalled links below the newest one (the newest stays: it
    /// holds the timeline's point numbers) and the signalled part of the
    /// plain fence under the chain. Allocates nothing.
    fn prune(&mut self) {
        let Some(mut cur) = self.head.as_deref_mut() else {
            return;
        };
        loop {
            match cur.prev.take() {
                None => break,
                Some(mut old) if old.is_signaled() => {
                    cur.prev = old.prev.take();
                    self.links -= 1;
                    if cur.carried_error.is_none() {
                        cur.carried_error = old.error_fence();
                    }
                }
                Some(old) => {
                    cur = &mut **cur.prev.insert(old);
                }
            }
        }
        if let Some(base) = &mut self.base {
            base.prune();
        }
    }
}

/// Pending fences (and the first failed one) of `from` and every older
/// link, and of `base`.
fn collect(from: Option<&Link>, base: &FenceSet) -> Result<FenceSet, AllocError> {
    let mut out = FenceSet::default();
    let mut has_error = false;
    let mut add = |out: &mut FenceSet, f: &Fence| -> Result<(), AllocError> {
        if !f.is_signaled() {
            out.push(f.clone())?;
        } else if f.error() != 0 && !has_error {
            has_error = true;
            out.push(f.clone())?;
        }
        Ok(())
    };
    let mut link = from;
    while let Some(l) = link {
        for f in l.fences.fences() {
            add(&mut out, f)?;
        }
        if let Some(e) = &l.carried_error {
            add(&mut out, e)?;
        }
        link = l.prev.as_deref();
    }
    for f in base.fences() {
        add(&mut out, f)?;
    }
    Ok(out)
}

/// The syncobj handle table of one open file (`syncobj_idr`). Internally
/// locked: waits sleep without holding it.
pub struct Syncobjs {
    slots: Lock<Vec<Option<SyncobjRef>>>,
}

impl Default for Syncobjs {
    fn default() -> Syncobjs {
        Syncobjs::new()
    }
}

impl Syncobjs {
    /// An empty table.
    pub const fn new() -> Syncobjs {
        Syncobjs {
            slots: Lock::new(Vec::new()),
        }
    }

    /// SYNCOBJ_CREATE: a new syncobj, empty or (with [`CREATE_SIGNALED`])
    /// holding a signalled fence. `EINVAL` for any other flag.
    pub fn create(&self, flags: u32) -> Result<u32, Errno> {
        if flags & !CREATE_SIGNALED != 0 {
            return Err(Errno::EINVAL);
        }
        let mut obj = Syncobj::new();
        if flags & CREATE_SIGNALED != 0 {
            obj.replace(Some(FenceSet::one(Fence::signaled()?)?));
        }
        self.insert(Shared::try_new(Lock::new(obj))?)
    }

    /// Installs `obj` under the lowest free handle (create, FD_TO_HANDLE).
    /// `ENOSPC` when the handle space is exhausted.
    pub fn insert(&self, obj: SyncobjRef) -> Result<u32, Errno> {
        let mut slots = self.slots.lock();
        let i = match slots.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                if slots.len() >= MAX_HANDLE {
                    return Err(Errno::ENOSPC);
                }
                try_push(&mut slots, None)?;
                slots.len() - 1
            }
        };
        if let Some(slot) = slots.get_mut(i) {
            *slot = Some(obj);
        }
        Ok(i as u32 + 1)
    }

    /// SYNCOBJ_DESTROY: drops the handle (the syncobj lives on while jobs
    /// or fds hold it). `EINVAL` for an unknown handle.
    pub fn destroy(&self, handle: u32) -> Result<(), Errno> {
        let obj = {
            let mut slots = self.slots.lock();
            let i = (handle as usize).checked_sub(1).ok_or(Errno::EINVAL)?;
            let obj = slots
                .get_mut(i)
                .and_then(Option::take)
                .ok_or(Errno::EINVAL)?;
            while slots.last().is_some_and(Option::is_none) {
                slots.pop();
            }
            obj
        };
        drop(obj);
        Ok(())
    }

    /// The syncobj behind `handle` (a new reference).
    pub fn get(&self, handle: u32) -> Option<SyncobjRef> {
        let i = (handle as usize).checked_sub(1)?;
        self.slots.lock().get(i)?.clone()
    }

    /// What a job's WAIT sync op waits for (`drm_syncobj_find_fence` without
    /// flags). `ENOENT` for an unknown handle, `EINVAL` when nothing is
    /// attached or the point is not submitted.
    pub fn find_fence(&self, handle: u32, point: u64) -> Result<FenceSet, Errno> {
        let obj = self.get(handle).ok_or(Errno::ENOENT)?;
        let found = obj.lock().find(point)?;
        match found {
            Lookup::Fence(f) => Ok(f),
            Lookup::NotSubmitted => Err(Errno::EINVAL),
        }
    }

    /// SYNCOBJ_WAIT (`points` None) and SYNCOBJ_TIMELINE_WAIT. Returns the
    /// index of the first handle found signalled; with [`WAIT_ALL`] that is
    /// the first one already signalled at the start, or `u32::MAX` when none
    /// was (as Linux fills `first_signaled`).
    ///
    /// `deadline_ns` is absolute `CLOCK_MONOTONIC`; 0 or a time already past
    /// polls once. Errors, all before any sleep: `EINVAL` for unknown flags
    /// ([`WAIT_AVAILABLE`] only on timeline waits) or a `points` length
    /// other than the handle count, `ENOENT` for an unknown handle, `EINVAL`
    /// for a handle without a fence (or point) unless [`WAIT_FOR_SUBMIT`] or
    /// [`WAIT_AVAILABLE`] is set; then `ETIME` when the deadline passes. An
    /// empty handle list succeeds at once with 0 (Linux 6.12 returns 0).
    ///
    /// A fence is captured once it is attached and waited on even if the
    /// syncobj is reset later. Linux captures it from inside the attach;
    /// this wait looks at each wake-up, so a fence attached and removed
    /// again between two wake-ups is not seen.
    pub fn wait(
        &self,
        waiter: &dyn Waiter,
        handles: &[u32],
        points: Option<&[u64]>,
        deadline_ns: i64,
        flags: u32,
    ) -> Result<u32, Errno> {
        let mut allowed = WAIT_ALL | WAIT_FOR_SUBMIT | WAIT_DEADLINE;
        if points.is_some() {
            allowed |= WAIT_AVAILABLE;
        }
        if flags & !allowed != 0 {
            return Err(Errno::EINVAL);
        }
        if points.is_some_and(|p| p.len() != handles.len()) {
            return Err(Errno::EINVAL);
        }
        if handles.is_empty() {
            return Ok(0);
        }
        let objs = self.lookup_all(handles)?;
        let point_of = |i: usize| points.and_then(|p| p.get(i)).copied().unwrap_or(0);
        let for_submit = flags & (WAIT_FOR_SUBMIT | WAIT_AVAILABLE) != 0;
        let available = flags & WAIT_AVAILABLE != 0;
        let all = flags & WAIT_ALL != 0;

        // First pass: capture what is attached, fail on missing fences.
        let mut fences: Vec<Option<FenceSet>> = try_with_capacity(objs.len())?;
        let mut first = u32::MAX;
        let mut done = 0;
        for (i, obj) in objs.iter().enumerate() {
            let found = obj.lock().find(point_of(i))?;
            let fence = match found {
                Lookup::Fence(f) => f,
                Lookup::NotSubmitted if for_submit => {
                    fences.push(None);
                    continue;
                }
                Lookup::NotSubmitted => return Err(Errno::EINVAL),
            };
            if available || fence.is_signaled() {
                if done == 0 {
                    first = i as u32;
                }
                done += 1;
            }
            fences.push(Some(fence));
        }
        if done == objs.len() || (done > 0 && !all) {
            return Ok(first);
        }

        let mut error = None;
        let mut any = None;
        let ready = waiter.wait_until(deadline_ns, &mut || {
            let mut done = 0;
            for (i, (slot, obj)) in fences.iter_mut().zip(objs.iter()).enumerate() {
                if slot.is_none() {
                    match obj.lock().find(point_of(i)) {
                        Ok(Lookup::Fence(f)) => *slot = Some(f),
                        Ok(Lookup::NotSubmitted) => {}
                        Err(e) => {
                            error = Some(e);
                            return true;
                        }
                    }
                }
                if slot.as_ref().is_some_and(|f| available || f.is_signaled()) {
                    if !all {
                        any = Some(i as u32);
                        return true;
                    }
                    done += 1;
                }
            }
            done == objs.len()
        });
        if let Some(e) = error {
            return Err(e.into());
        }
        if !ready {
            return Err(Errno::ETIME);
        }
        Ok(any.unwrap_or(first))
    }

    /// SYNCOBJ_SIGNAL: attaches a signalled fence to each syncobj (a
    /// timeline becomes a plain fence). `EINVAL` for an empty list,
    /// `ENOENT` for an unknown handle; nothing changes on error.
    pub fn signal(&self, waiter: &dyn Waiter, handles: &[u32]) -> Result<(), Errno> {
        if handles.is_empty() {
            return Err(Errno::EINVAL);
        }
        let objs = self.lookup_all(handles)?;
        let stub = Fence::signaled()?;
        let mut sets = try_with_capacity(objs.len())?;
        for _ in &objs {
            sets.push(FenceSet::one(stub.clone())?);
        }
        for (obj, set) in objs.iter().zip(sets) {
            obj.lock().replace(Some(set));
        }
        waiter.wake_all();
        Ok(())
    }

    /// SYNCOBJ_TIMELINE_SIGNAL: attaches a signalled point to each syncobj.
    /// As in Linux, point 0 is attached like any point, on top of what the
    /// syncobj holds (it does not signal a pending plain fence). `EINVAL`
    /// for an empty list or `points.len() != handles.len()`, `ENOENT` for
    /// an unknown handle; nothing changes on error.
    pub fn timeline_signal(
        &self,
        waiter: &dyn Waiter,
        handles: &[u32],
        points: &[u64],
    ) -> Result<(), Errno> {
        if handles.is_empty() || points.len() != handles.len() {
            return Err(Errno::EINVAL);
        }
        let objs = self.lookup_all(handles)?;
        let stub = Fence::signaled()?;
        let mut prepared = try_with_capacity(objs.len())?;
        for _ in &objs {
            prepared.push((Syncobj::reserve()?, FenceSet::one(stub.clone())?));
        }
        for ((obj, (slot, set)), &point) in objs.iter().zip(prepared).zip(points) {
            obj.lock().add_point(slot, point, set);
        }
        waiter.wake_all();
        Ok(())
    }

    /// SYNCOBJ_RESET: removes every fence. `EINVAL` for an empty list,
    /// `ENOENT` for an unknown handle; nothing changes on error.
    pub fn reset(&self, handles: &[u32]) -> Result<(), Errno> {
        if handles.is_empty() {
            return Err(Errno::EINVAL);
        }
        for obj in self.lookup_all(handles)? {
            obj.lock().replace(None);
        }
        Ok(())
    }

    /// SYNCOBJ_QUERY: each handle's [`Syncobj::query`] into `out_points`.
    /// `EINVAL` for flags other than [`QUERY_LAST_SUBMITTED`], an empty
    /// list or `out_points.len() != handles.len()`; `ENOENT` for an unknown
    /// handle. Nothing is written on error.
    pub fn query(&self, handles: &[u32], out_points: &mut [u64], flags: u32) -> Result<(), Errno> {
        if flags & !QUERY_LAST_SUBMITTED != 0 {
            return Err(Errno::EINVAL);
        }
        if handles.is_empty() || out_points.len() != handles.len() {
            return Err(Errno::EINVAL);
        }
        let objs = self.lookup_all(handles)?;
        let last_submitted = flags & QUERY_LAST_SUBMITTED != 0;
        for (obj, out) in objs.iter().zip(out_points.iter_mut()) {
            *out = obj.lock().query(last_submitted);
        }
        Ok(())
    }

    /// SYNCOBJ_TRANSFER: attaches what `src` holds for `src_point` to `dst`,
    /// as point `dst_point`, or replacing its payload when `dst_point` is 0.
    /// Checks in Linux's order: `ENOENT` for an unknown `dst`, then an
    /// unknown `src`, `EINVAL` for flags other than [`WAIT_FOR_SUBMIT`],
    /// `EINVAL` when the source point is not submitted; with
    /// `WAIT_FOR_SUBMIT` it waits up to [`SUBMIT_TIMEOUT_NS`] for it, then
    /// `ETIME`. Nothing changes on error.
    pub fn transfer(
        &self,
        waiter: &dyn Waiter,
        src: u32,
        src_point: u64,
        dst: u32,
        dst_point: u64,
        flags: u32,
    ) -> Result<(), Errno> {
        let dst_obj = self.get(dst).ok_or(Errno::ENOENT)?;
        let src_obj = self.get(src).ok_or(Errno::ENOENT)?;
        if flags & !WAIT_FOR_SUBMIT != 0 {
            return Err(Errno::EINVAL);
        }
        let first = src_obj.lock().find(src_point)?;
        let fence = match first {
            Lookup::Fence(f) => f,
            Lookup::NotSubmitted if flags & WAIT_FOR_SUBMIT == 0 => return Err(Errno::EINVAL),
            Lookup::NotSubmitted => {
                let deadline = waiter.now_ns().saturating_add(SUBMIT_TIMEOUT_NS);
                let mut found: Result<Option<FenceSet>, AllocError> = Ok(None);
                let ready = waiter.wait_until(deadline, &mut || {
                    found = match src_obj.lock().find(src_point) {
                        Ok(Lookup::Fence(f)) => Ok(Some(f)),
                        Ok(Lookup::NotSubmitted) => return false,
                        Err(e) => Err(e),
                    };
                    true
                });
                match found? {
                    Some(f) if ready => f,
                    _ => return Err(Errno::ETIME),
                }
            }
        };
        if dst_point == 0 {
            dst_obj.lock().replace(Some(fence));
        } else {
            let slot = Syncobj::reserve()?;
            dst_obj.lock().add_point(slot, dst_point, fence);
        }
        waiter.wake_all();
        Ok(())
    }

    /// Replaces the payload of `handle` with `fence`, the fence of an
    /// imported sync_file (`drm_syncobj_import_sync_file_fence` once the fd
    /// is resolved): a timeline becomes a plain fence. `ENOENT` for an
    /// unknown handle, and then nothing changes.
    pub fn replace_fence(
        &self,
        waiter: &dyn Waiter,
        handle: u32,
        fence: FenceSet,
    ) -> Result<(), Errno> {
        let obj = self.get(handle).ok_or(Errno::ENOENT)?;
        obj.lock().replace(Some(fence));
        waiter.wake_all();
        Ok(())
    }

    /// References to every syncobj in `handles`, or `ENOENT` if one is
    /// unknown (`drm_syncobj_array_find`).
    fn lookup_all(&self, handles: &[u32]) -> Result<Vec<SyncobjRef>, Errno> {
        let mut objs = try_with_capacity(handles.len())?;
        let slots = self.slots.lock();
        for &h in handles {
            let obj = (h as usize)
                .checked_sub(1)
                .and_then(|i| slots.get(i))
                .and_then(Option::as_ref)
                .ok_or(Errno::ENOENT)?;
            objs.push(obj.clone());
        }
        Ok(objs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, Mutex};
    use std::thread;
    use std::time::{Duration, Instant};

    /// A wait queue over a std condvar, with `Instant` as the monotonic
    /// clock (offset by 1 s so that "now" is never 0, as on a real clock).
    struct TestWaiter {
        generation: Mutex<u64>,
        cv: Condvar,
        start: Instant,
    }

    impl TestWaiter {
        fn new() -> TestWaiter {
            TestWaiter {
                generation: Mutex::new(0),
                cv: Condvar::new(),
                start: Instant::now(),
            }
        }

        fn in_ms(&self, ms: i64) -> i64 {
            self.now_ns() + ms * 1_000_000
        }
    }

    impl Waiter for TestWaiter {
        fn now_ns(&self) -> i64 {
            1_000_000_000 + self.start.elapsed().as_nanos() as i64
        }

        fn now_raw_ns(&self) -> i64 {
            self.now_ns()
        }

        fn generation(&self) -> u64 {
            *self.generation.lock().unwrap()
        }

        fn sleep(&self, seen: u64, deadline_ns: i64) {
            let mut g = self.generation.lock().unwrap();
            while *g == seen {
                let now = self.now_ns();
                if now >= deadline_ns {
                    return;
                }
                let left = Duration::from_nanos((deadline_ns - now) as u64);
                g = self.cv.wait_timeout(g, left).unwrap().0;
            }
        }

        fn wake_all(&self) {
            *self.generation.lock().unwrap() += 1;
            self.cv.notify_all();
        }
    }

    const EINVAL: Errno = Errno::EINVAL;
    const ENOENT: Errno = Errno::ENOENT;
    const ETIME: Errno = Errno::ETIME;

    fn set(f: &Fence) -> FenceSet {
        FenceSet::one(f.clone()).unwrap()
    }

    /// Attaches a new pending plain fence to `h` (a job's binary SIGNAL).
    fn attach_plain(s: &Syncobjs, h: u32) -> Fence {
        let f = Fence::pending().unwrap();
        s.get(h).unwrap().lock().replace(Some(set(&f)));
        f
    }

    /// Attaches a new pending fence to `h` as `point` (a job's timeline
    /// SIGNAL).
    fn attach_point(s: &Syncobjs, h: u32, point: u64) -> Fence {
        let f = Fence::pending().unwrap();
        let slot = Syncobj::reserve().unwrap();
        s.get(h).unwrap().lock().add_point(slot, point, set(&f));
        f
    }

    fn signal(w: &TestWaiter, f: &Fence, error: i32) {
        f.signal(error);
        w.wake_all();
    }

    fn query(s: &Syncobjs, h: u32, flags: u32) -> u64 {
        let mut out = [u64::MAX];
        s.query(&[h], &mut out, flags).unwrap();
        out[0]
    }

    /// Links reachable from the head (checks the `links` counter).
    fn walk_count(obj: &Syncobj) -> usize {
        let mut n = 0;
        let mut link = obj.head.as_deref();
        while let Some(l) = link {
            n += 1;
            link = l.prev.as_deref();
        }
        n
    }

    fn contains(set: &FenceSet, f: &Fence) -> bool {
        set.fences().iter().any(|g| Fence::ptr_eq(f, g))
    }

    #[test]
    fn handles_start_at_one_and_reuse_the_lowest_free() {
        let s = Syncobjs::new();
        assert_eq!(s.create(0), Ok(1));
        assert_eq!(s.create(CREATE_SIGNALED), Ok(2));
        assert_eq!(s.create(0), Ok(3));
        s.destroy(2).unwrap();
        assert!(s.get(2).is_none());
        assert_eq!(s.destroy(2), Err(EINVAL));
        assert_eq!(s.destroy(0), Err(EINVAL));
        assert_eq!(s.destroy(u32::MAX), Err(EINVAL));
        assert_eq!(s.create(0), Ok(2));
        // Unknown flags create nothing.
        assert_eq!(s.create(2), Err(EINVAL));
        assert_eq!(s.create(CREATE_SIGNALED | 1 << 31), Err(EINVAL));
        assert_eq!(s.create(0), Ok(4));
        assert!(s.get(0).is_none());
    }

    #[test]
    fn a_destroyed_handle_keeps_the_syncobj_alive_for_other_holders() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let h = s.create(0).unwrap();
        let obj = s.get(h).unwrap();
        let f = attach_plain(&s, h);
        s.destroy(h).unwrap();
        assert_eq!(Shared::ref_count(&obj), 1);
        signal(&w, &f, 0);
        assert!(matches!(obj.lock().find(0), Ok(Lookup::Fence(f)) if f.is_signaled()));
    }

    #[test]
    fn an_imported_sync_file_fence_replaces_the_payload() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let h = s.create(0).unwrap();
        s.timeline_signal(&w, &[h], &[3]).unwrap();
        let f = Fence::pending().unwrap();
        assert_eq!(s.replace_fence(&w, 99, set(&f)), Err(ENOENT));
        assert_eq!(query(&s, h, QUERY_LAST_SUBMITTED), 3, "ENOENT changed h");
        s.replace_fence(&w, h, set(&f)).unwrap();
        // A plain fence now: no points, and waits see the pending fence.
        assert_eq!(query(&s, h, QUERY_LAST_SUBMITTED), 0);
        assert_eq!(s.wait(&w, &[h], None, 0, 0), Err(ETIME));
        signal(&w, &f, 0);
        assert_eq!(s.wait(&w, &[h], None, 0, 0), Ok(0));
    }

    #[test]
    fn binary_create_signal_reset_and_wait() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let a = s.create(0).unwrap();
        let b = s.create(CREATE_SIGNALED).unwrap();

        // No fence: EINVAL, even next to a signalled one, even polling.
        assert_eq!(s.wait(&w, &[a], None, 0, 0), Err(EINVAL));
        assert_eq!(s.wait(&w, &[b, a], None, 0, 0), Err(EINVAL));
        assert_eq!(s.find_fence(a, 0).unwrap_err(), EINVAL);
        assert_eq!(s.wait(&w, &[b], None, 0, 0), Ok(0));
        assert!(s.find_fence(b, 0).unwrap().is_signaled());
        // A plain fence has no timeline points.
        assert_eq!(s.find_fence(b, 1).unwrap_err(), EINVAL);
        assert_eq!(s.find_fence(77, 0).unwrap_err(), ENOENT);

        s.signal(&w, &[a]).unwrap();
        assert_eq!(s.wait(&w, &[a, b], None, 0, WAIT_ALL), Ok(0));

        s.reset(&[a, b]).unwrap();
        assert_eq!(s.wait(&w, &[b], None, 0, 0), Err(EINVAL));
        assert_eq!(s.wait(&w, &[b], None, 0, WAIT_FOR_SUBMIT), Err(ETIME));
        assert_eq!(query(&s, b, 0), 0);

        // A pending plain fence: polling times out, then it signals.
        let f = attach_plain(&s, a);
        assert_eq!(s.wait(&w, &[a], None, 0, 0), Err(ETIME));
        assert!(contains(&s.find_fence(a, 0).unwrap(), &f));
        signal(&w, &f, 0);
        assert_eq!(s.wait(&w, &[a], None, 0, 0), Ok(0));
        assert_eq!(query(&s, a, 0), 0);
        assert_eq!(query(&s, a, QUERY_LAST_SUBMITTED), 0);
    }

    #[test]
    fn wait_any_returns_the_first_signalled_index_and_wait_all_waits_for_all() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let a = s.create(0).unwrap();
        let b = s.create(0).unwrap();
        let fa = attach_plain(&s, a);
        let fb = attach_plain(&s, b);

        thread::scope(|sc| {
            sc.spawn(|| {
                thread::sleep(Duration::from_millis(30));
                signal(&w, &fb, 0);
            });
            assert_eq!(s.wait(&w, &[a, b], None, w.in_ms(10_000), 0), Ok(1));
        });
        assert!(!fa.is_signaled());

        // WAIT_ALL: b is already signalled, so first_signaled is 1; the
        // wait returns only once a signals too.
        thread::scope(|sc| {
            let t0 = Instant::now();
            sc.spawn(|| {
                thread::sleep(Duration::from_millis(30));
                signal(&w, &fa, 0);
            });
            assert_eq!(s.wait(&w, &[a, b], None, w.in_ms(10_000), WAIT_ALL), Ok(1));
            assert!(fa.is_signaled());
            assert!(t0.elapsed() >= Duration::from_millis(30));
        });

        // WAIT_ALL where nothing was signalled at the start: Linux leaves
        // first_signaled at ~0.
        let fa = attach_plain(&s, a);
        let fb = attach_plain(&s, b);
        thread::scope(|sc| {
            sc.spawn(|| {
                thread::sleep(Duration::from_millis(20));
                signal(&w, &fa, 0);
                thread::sleep(Duration::from_millis(20));
                signal(&w, &fb, 0);
            });
            let r = s.wait(&w, &[a, b], None, w.in_ms(10_000), WAIT_ALL);
            assert_eq!(r, Ok(u32::MAX));
            assert!(fb.is_signaled());
        });
    }

    #[test]
    fn timeouts_give_etime() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let a = s.create(0).unwrap();
        let f = attach_plain(&s, a);

        let deadline = w.in_ms(30);
        assert_eq!(s.wait(&w, &[a], None, deadline, 0), Err(ETIME));
        assert!(w.now_ns() >= deadline);
        // 0 and past deadlines poll once.
        let t0 = Instant::now();
        assert_eq!(s.wait(&w, &[a], None, 0, 0), Err(ETIME));
        assert_eq!(s.wait(&w, &[a], None, -5, WAIT_ALL), Err(ETIME));
        assert_eq!(s.wait(&w, &[a], None, w.now_ns() - 1, 0), Err(ETIME));
        assert!(t0.elapsed() < Duration::from_secs(1));

        let t = s.create(0).unwrap();
        attach_point(&s, t, 1);
        assert_eq!(s.wait(&w, &[t], Some(&[1]), w.in_ms(10), 0), Err(ETIME));
        assert!(!f.is_signaled());
    }

    #[test]
    fn wait_for_submit_blocks_until_a_fence_is_attached() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let a = s.create(0).unwrap();

        // Without the flag a missing fence fails at once, before sleeping.
        let t0 = Instant::now();
        assert_eq!(s.wait(&w, &[a], None, w.in_ms(10_000), 0), Err(EINVAL));
        assert!(t0.elapsed() < Duration::from_secs(5));

        thread::scope(|sc| {
            let t0 = Instant::now();
            sc.spawn(|| {
                thread::sleep(Duration::from_millis(30));
                s.signal(&w, &[a]).unwrap();
            });
            let r = s.wait(&w, &[a], None, w.in_ms(10_000), WAIT_FOR_SUBMIT);
            assert_eq!(r, Ok(0));
            assert!(t0.elapsed() >= Duration::from_millis(30));
        });

        // Timeline: attached pending first, then signalled.
        let t = s.create(0).unwrap();
        thread::scope(|sc| {
            sc.spawn(|| {
                thread::sleep(Duration::from_millis(20));
                let f = attach_point(&s, t, 3);
                w.wake_all();
                thread::sleep(Duration::from_millis(20));
                signal(&w, &f, 0);
            });
            let r = s.wait(&w, &[t], Some(&[3]), w.in_ms(10_000), WAIT_FOR_SUBMIT);
            assert_eq!(r, Ok(0));
            assert_eq!(query(&s, t, 0), 3);
        });
    }

    #[test]
    fn a_captured_fence_is_waited_on_even_after_a_reset() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let a = s.create(0).unwrap();
        let f = attach_plain(&s, a);
        thread::scope(|sc| {
            sc.spawn(|| {
                thread::sleep(Duration::from_millis(20));
                s.reset(&[a]).unwrap();
                w.wake_all();
                thread::sleep(Duration::from_millis(20));
                signal(&w, &f, 0);
            });
            assert_eq!(s.wait(&w, &[a], None, w.in_ms(10_000), 0), Ok(0));
        });
        assert_eq!(s.wait(&w, &[a], None, 0, 0), Err(EINVAL));
    }

    #[test]
    fn timeline_signalled_out_of_order_reports_the_highest_point_with_all_earlier_done() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let t = s.create(0).unwrap();
        let f1 = attach_point(&s, t, 1);
        let f2 = attach_point(&s, t, 2);
        let f3 = attach_point(&s, t, 3);
        assert_eq!(query(&s, t, 0), 0);
        assert_eq!(query(&s, t, QUERY_LAST_SUBMITTED), 3);

        // Point 2 waits for its own fence and the earlier ones only.
        let p2 = s.find_fence(t, 2).unwrap();
        assert!(contains(&p2, &f1) && contains(&p2, &f2) && !contains(&p2, &f3));
        assert_eq!(s.find_fence(t, 4).unwrap_err(), EINVAL);

        signal(&w, &f3, 0);
        assert_eq!(query(&s, t, 0), 0);
        assert_eq!(s.wait(&w, &[t], Some(&[3]), 0, 0), Err(ETIME));
        signal(&w, &f1, 0);
        assert_eq!(query(&s, t, 0), 1);
        assert_eq!(s.wait(&w, &[t], Some(&[1]), 0, 0), Ok(0));
        assert_eq!(s.wait(&w, &[t, t], Some(&[2, 1]), 0, 0), Ok(1));
        signal(&w, &f2, 0);
        assert_eq!(query(&s, t, 0), 3);
        assert_eq!(s.wait(&w, &[t, t], Some(&[3, 1]), 0, WAIT_ALL), Ok(0));
        // Point 0 is the whole timeline.
        assert_eq!(s.wait(&w, &[t], Some(&[0]), 0, 0), Ok(0));
        assert_eq!(s.wait(&w, &[t], None, 0, 0), Ok(0));

        // TIMELINE_SIGNAL on top: point 5 is reached at once.
        s.timeline_signal(&w, &[t], &[5]).unwrap();
        assert_eq!(query(&s, t, 0), 5);
        assert_eq!(query(&s, t, QUERY_LAST_SUBMITTED), 5);
        // Point 4 was never attached but lies under 5: reached.
        assert_eq!(s.wait(&w, &[t], Some(&[4]), 0, 0), Ok(0));
    }

    #[test]
    fn a_point_not_above_the_last_covers_every_point_up_to_the_newest() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let t = s.create(0).unwrap();
        s.timeline_signal(&w, &[t], &[5]).unwrap();
        let f = attach_point(&s, t, 3);
        // Renumbered to 5, in a new context: nothing reached until it signals.
        assert_eq!(query(&s, t, QUERY_LAST_SUBMITTED), 5);
        assert_eq!(query(&s, t, 0), 0);
        assert_eq!(s.wait(&w, &[t], Some(&[5]), 0, 0), Err(ETIME));
        assert_eq!(s.wait(&w, &[t], Some(&[1]), 0, 0), Err(ETIME));
        assert_eq!(s.find_fence(t, 6).unwrap_err(), EINVAL);
        signal(&w, &f, 0);
        assert_eq!(query(&s, t, 0), 5);
        assert_eq!(s.wait(&w, &[t], Some(&[5]), 0, 0), Ok(0));
    }

    #[test]
    fn timeline_signal_of_point_zero_chains_on_top_like_linux() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let a = s.create(0).unwrap();
        // On an empty syncobj it is a signalled payload.
        s.timeline_signal(&w, &[a], &[0]).unwrap();
        assert_eq!(s.wait(&w, &[a], None, 0, 0), Ok(0));
        // Over a pending plain fence it does not signal that fence.
        let f = attach_plain(&s, a);
        s.timeline_signal(&w, &[a], &[0]).unwrap();
        assert_eq!(s.wait(&w, &[a], None, 0, 0), Err(ETIME));
        signal(&w, &f, 0);
        assert_eq!(s.wait(&w, &[a], None, 0, 0), Ok(0));
    }

    #[test]
    fn wait_available_waits_for_submission_not_for_signalling() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let t = s.create(0).unwrap();
        // Not submitted: no EINVAL, a timeout.
        assert_eq!(s.wait(&w, &[t], Some(&[5]), 0, WAIT_AVAILABLE), Err(ETIME));
        let f5 = attach_point(&s, t, 5);
        assert_eq!(s.wait(&w, &[t], Some(&[5]), 0, WAIT_AVAILABLE), Ok(0));
        assert_eq!(s.wait(&w, &[t], Some(&[5]), 0, 0), Err(ETIME));
        assert!(!f5.is_signaled());

        thread::scope(|sc| {
            sc.spawn(|| {
                thread::sleep(Duration::from_millis(30));
                attach_point(&s, t, 7);
                w.wake_all();
            });
            let r = s.wait(&w, &[t], Some(&[7]), w.in_ms(10_000), WAIT_AVAILABLE);
            assert_eq!(r, Ok(0));
        });
        assert_eq!(query(&s, t, 0), 0);
        // Binary waits do not take the flag.
        assert_eq!(s.wait(&w, &[t], None, 0, WAIT_AVAILABLE), Err(EINVAL));
    }

    #[test]
    fn transfer_binary_to_timeline_and_back() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let bin = s.create(0).unwrap();
        let tl = s.create(0).unwrap();
        let f = attach_plain(&s, bin);

        s.transfer(&w, bin, 0, tl, 4, 0).unwrap();
        assert_eq!(query(&s, tl, QUERY_LAST_SUBMITTED), 4);
        assert_eq!(query(&s, tl, 0), 0);
        assert!(contains(&s.find_fence(tl, 4).unwrap(), &f));
        assert_eq!(s.wait(&w, &[tl], Some(&[4]), 0, 0), Err(ETIME));
        signal(&w, &f, 0);
        assert_eq!(query(&s, tl, 0), 4);
        assert_eq!(s.wait(&w, &[tl], Some(&[4]), 0, 0), Ok(0));

        // Timeline point -> binary: the binary syncobj waits for that point
        // (and everything before it) only.
        let g6 = attach_point(&s, tl, 6);
        let g8 = attach_point(&s, tl, 8);
        let other = s.create(CREATE_SIGNALED).unwrap();
        s.transfer(&w, tl, 6, other, 0, 0).unwrap();
        let got = s.find_fence(other, 0).unwrap();
        assert!(contains(&got, &g6) && !contains(&got, &g8));
        assert_eq!(s.find_fence(other, 6).unwrap_err(), EINVAL);
        assert_eq!(s.wait(&w, &[other], None, 0, 0), Err(ETIME));
        signal(&w, &g6, 0);
        assert_eq!(s.wait(&w, &[other], None, 0, 0), Ok(0));
        assert_eq!(query(&s, tl, 0), 6);
        assert!(!g8.is_signaled());
    }

    #[test]
    fn transfer_with_wait_for_submit_waits_for_the_source_point() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let src = s.create(0).unwrap();
        let dst = s.create(0).unwrap();
        thread::scope(|sc| {
            sc.spawn(|| {
                thread::sleep(Duration::from_millis(30));
                s.timeline_signal(&w, &[src], &[2]).unwrap();
            });
            s.transfer(&w, src, 2, dst, 1, WAIT_FOR_SUBMIT).unwrap();
        });
        assert_eq!(query(&s, dst, 0), 1);
    }

    #[test]
    fn transfer_errors_follow_linux_order_and_change_nothing() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let src = s.create(0).unwrap();
        let dst = s.create(0).unwrap();
        // Unknown dst first, then unknown src, then flags.
        assert_eq!(s.transfer(&w, 99, 0, 98, 0, 1), Err(ENOENT));
        assert_eq!(s.transfer(&w, 99, 0, dst, 0, WAIT_ALL), Err(ENOENT));
        assert_eq!(s.transfer(&w, src, 0, dst, 0, WAIT_ALL), Err(EINVAL));
        assert_eq!(s.transfer(&w, src, 0, dst, 0, WAIT_AVAILABLE), Err(EINVAL));
        // Source has nothing / not that point.
        assert_eq!(s.transfer(&w, src, 0, dst, 3, 0), Err(EINVAL));
        s.timeline_signal(&w, &[src], &[2]).unwrap();
        assert_eq!(s.transfer(&w, src, 3, dst, 0, 0), Err(EINVAL));
        assert!(!s.get(dst).unwrap().lock().has_fence());
        assert_eq!(query(&s, dst, QUERY_LAST_SUBMITTED), 0);
    }

    #[test]
    fn list_errors_change_nothing() {
        let w = TestWaiter::new();
        let s = Syncobjs::new();
        let a = s.create(0).unwrap();
        let b = s.create(CREATE_SIGNALED).unwrap();

        assert_eq!(s.signal(&w, &[a, 99]), Err(ENOENT));
        assert_eq!(s.wait(&w, &[a], None, 0, 0), Err(EINVAL));
        assert_eq!(s.signal(&w, &[]), Err(EINVAL));

        assert_eq!(s.reset(&[b, 0]), Err(ENOENT));
        assert_eq!(s.wait(&w, &[b], None, 0, 0), Ok(0));
        assert_eq!(s.reset(&[]), Err(EINVAL));

        assert_eq!(s.timeline_signal(&w, &[a], &[1, 2]), Err(EINVAL));
        assert_eq!(s.timeline_signal(&w, &[a, 99], &[1, 1]), Err(ENOENT));
        assert_eq!(s.timeline_signal(&w, &[], &[]), Err(EINVAL));
        assert!(!s.get(a).unwrap().lock().has_fence());

        let mut out = [7, 7];
        assert_eq!(s.query(&[b, a], &mut out, 2), Err(EINVAL));
        assert_eq!(s.query(&[b, 99], &mut out, 0), Err(ENOENT));
        assert_eq!(s.query(&[b], &mut out, 0), Err(EINVAL));
        assert_eq!(s.query(&[], &mut [], 0), Err(EINVAL));
        assert_eq!(out, [7, 7]);

        // Waits: flags first, then the (empty) count, then handles, and
        // only then missing fences.
        assert_eq!(s.wait(&w, &[], None, 0, 1 << 4), Err(EINVAL));
        assert_eq!(s.wait(&w, &[], None, 0, 0), Ok(0));
        assert_eq!(s.wait(&w, &[a, 99], None, 0, 0), Err(ENOENT));
        assert_eq!(s.wait(&w, &[b], Some(&[0, 0]), 0, 0), Err(EINVAL));
        assert_eq!(s.wait(&w, &[b], Some(&[0]), 0, WAIT_DEADLINE), Ok(0));
        assert_eq!(s.wait(&w, &[b], None, 0, WAIT_ALL | WAIT_DEADLINE), Ok(0));
    }

    #[test]
    fn signalled_links_are_dropped_so_long_timelines_stay_small() {
        let mut obj = Syncobj::new();
        let stuck = Fence::pending().unwrap();
        obj.add_point(Syncobj::reserve().unwrap(), 1, set(&stuck));
        let done = Fence::signaled().unwrap();
        for p in 2..=10_000 {
            obj.add_point(Syncobj::reserve().unwrap(), p, set(&done));
            assert!(obj.link_count() <= MIN_PRUNE_AT);
            assert_eq!(obj.link_count(), walk_count(&obj));
        }
        assert_eq!(obj.query(false), 0);
        assert_eq!(obj.query(true), 10_000);
        stuck.signal(0);
        assert_eq!(obj.query(false), 10_000);
        for p in 10_001..10_001 + MIN_PRUNE_AT as u64 {
            obj.add_point(Syncobj::reserve().unwrap(), p, set(&done));
        }
        assert!(obj.link_count() < MIN_PRUNE_AT);
        assert_eq!(obj.query(false), 10_000 + MIN_PRUNE_AT as u64);
    }

    #[test]
    fn dropping_a_long_pending_chain_does_not_recurse() {
        let mut obj = Syncobj::new();
        let pending = Fence::pending().unwrap();
        for p in 1..=200_000 {
            obj.add_point(Syncobj::reserve().unwrap(), p, set(&pending));
        }
        assert_eq!(obj.link_count(), 200_000);
        drop(obj);
    }

    #[test]
    fn an_error_survives_pruning_of_its_link() {
        let mut obj = Syncobj::new();
        let bad = Fence::pending().unwrap();
        let later = Fence::pending().unwrap();
        obj.add_point(Syncobj::reserve().unwrap(), 1, set(&bad));
        obj.add_point(Syncobj::reserve().unwrap(), 2, set(&later));
        bad.signal(-125);
        // Attaching prunes link 1; point 2 still reports its error.
        obj.add_point(Syncobj::reserve().unwrap(), 3, set(&later));
        obj.prune();
        assert_eq!(obj.link_count(), 2);
        let Ok(Lookup::Fence(p2)) = obj.find(2) else {
            panic!("point 2 is submitted")
        };
        assert_eq!(p2.error(), -125);
        assert!(!p2.is_signaled());
        later.signal(0);
        assert_eq!(obj.query(false), 3);
        let Ok(Lookup::Fence(p3)) = obj.find(3) else {
            panic!("point 3 is submitted")
        };
        assert!(p3.is_signaled());
        assert_eq!(p3.error(), -125);
    }

    mod model {
        //! The invariant: pruning and the query shortcut never change an
        //! answer. A reference timeline that keeps every link and applies
        //! Linux's chain rules literally (renumbering, contexts, the walk
        //! of `dma_fence_chain_find_seqno`) must give the same `find` (same
        //! pending fences) for every point, and a query equal to the highest
        //! point whose `find` has signalled.

        use super::*;
        use proptest::prelude::*;

        struct RefLink {
            point: u64,
            prev_point: u64,
            ctx: u64,
            fence: Fence,
        }

        #[derive(Default)]
        struct RefTimeline {
            /// Oldest first.
            links: Vec<RefLink>,
            base: Option<Fence>,
            contexts: u64,
        }

        impl RefTimeline {
            fn add(&mut self, point: u64, fence: Fence) {
                let (point, prev_point, ctx) = match self.links.last() {
                    Some(h) if point > h.point => (point, h.point, h.ctx),
                    h => {
                        self.contexts += 1;
                        (h.map_or(point, |h| h.point.max(point)), 0, self.contexts)
                    }
                };
                self.links.push(RefLink {
                    point,
                    prev_point,
                    ctx,
                    fence,
                });
            }

            fn replace(&mut self, fence: Option<Fence>) {
                self.links.clear();
                self.base = fence;
            }

            /// The pending fences point `p` waits for, None when not submitted.
            fn find(&self, p: u64) -> Option<Vec<Fence>> {
                let base = self.base.iter().filter(|f| !f.is_signaled()).cloned();
                let Some(head) = self.links.last() else {
                    return (p == 0 && self.base.is_some()).then(|| base.collect());
                };
                if p > head.point {
                    return None;
                }
                let mut stop = if p == 0 { self.links.len() } else { 0 };
                let mut i = self.links.len();
                while p != 0 && i > 0 {
                    let l = &self.links[i - 1];
                    if l.ctx != head.ctx || l.prev_point < p {
                        stop = i;
                        break;
                    }
                    i -= 1;
                }
                let mut out: Vec<Fence> = self.links[..stop]
                    .iter()
                    .map(|l| l.fence.clone())
                    .filter(|f| !f.is_signaled())
                    .collect();
                out.extend(base);
                Some(out)
            }

            fn query(&self, last_submitted: bool) -> u64 {
                let Some(head) = self.links.last() else {
                    return 0;
                };
                if last_submitted || self.find(0).is_some_and(|f| f.is_empty()) {
                    return head.point;
                }
                (1..=head.point)
                    .filter(|&p| self.find(p).is_some_and(|f| f.is_empty()))
                    .max()
                    .unwrap_or(0)
            }
        }

        #[derive(Clone, Debug)]
        enum Op {
            Add { point: u64, signalled: bool },
            Signal(usize),
            Replace(Option<bool>),
            Prune,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                6 => (0u64..12, any::<bool>())
                    .prop_map(|(point, signalled)| Op::Add { point, signalled }),
                4 => any::<usize>().prop_map(Op::Signal),
                1 => proptest::option::of(any::<bool>()).prop_map(Op::Replace),
                1 => Just(Op::Prune),
            ]
        }

        fn same_fences(got: &FenceSet, want: &[Fence]) -> bool {
            got.fences().len() == want.len()
                && want
                    .iter()
                    .all(|f| got.fences().iter().any(|g| Fence::ptr_eq(f, g)))
        }

        proptest! {
            #[test]
            fn pruned_timeline_answers_like_the_full_chain(
                ops in proptest::collection::vec(op(), 1..60)
            ) {
                let mut obj = Syncobj::new();
                let mut reference = RefTimeline::default();
                let mut fences: Vec<Fence> = Vec::new();
                let new_fence = |signalled: bool, fences: &mut Vec<Fence>| {
                    let f = Fence::pending().unwrap();
                    if signalled {
                        f.signal(0);
                    }
                    fences.push(f.clone());
                    f
                };
                for op in ops {
                    match op {
                        Op::Add { point, signalled } => {
                            let f = new_fence(signalled, &mut fences);
                            obj.add_point(Syncobj::reserve().unwrap(), point, set(&f));
                            reference.add(point, f);
                        }
                        Op::Signal(i) => {
                            if !fences.is_empty() {
                                fences[i % fences.len()].signal(0);
                            }
                        }
                        Op::Replace(kind) => {
                            let f = kind.map(|signalled| new_fence(signalled, &mut fences));
                            obj.replace(f.as_ref().map(set));
                            reference.replace(f);
                        }
                        Op::Prune => obj.prune(),
                    }
                    prop_assert_eq!(obj.link_count(), walk_count(&obj));
                    prop_assert_eq!(obj.query(true), reference.query(true));
                    prop_assert_eq!(obj.query(false), reference.query(false));
                    for p in 0..14 {
                        match (obj.find(p).unwrap(), reference.find(p)) {
                            (Lookup::NotSubmitted, None) => {}
                            (Lookup::Fence(got), Some(want)) => {
                                prop_assert!(same_fences(&got, &want), "point {}", p);
                            }
                            (got, want) => {
                                prop_assert!(false, "point {}: {:?} vs {:?}", p, got, want);
                            }
                        }
                    }
                }
            }
        }
    }
}
