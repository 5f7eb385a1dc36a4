//! `VkSemaphore`: binary and timeline semaphores are both timeline DRM
//! syncobjs. A binary semaphore counts its signal operations: each signal
//! takes the next point, each wait waits for the point of the latest signal
//! submitted before it. That lets a queue defer work (wait-before-signal on
//! a timeline elsewhere) without a later wait on the same binary semaphore
//! seeing no fence or a stale one.
//!
//! A binary semaphore whose payload is shared with other devices (exported
//! or imported as an opaque syncobj fd, `external_sync`) cannot count:
//! the other side does not know our count. It switches to plain binary
//! syncobj waits and signals, as every driver on the syncobj does. An
//! import with temporary permanence is used by the next wait only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use ash::vk;
use panthor_uapi::device::SyncobjWaitFlags;
use panthor_uapi::Errno;

use crate::device::{Device, DeviceRef};
use crate::drm_sync::{deadline, SyncPoint};
use crate::guard::{guard, guard_void, ErrnoExt, VkResult};
use crate::queue::Batch;
use crate::{chain, handle, vk_bail};

pub struct Semaphore {
    pub dev: DeviceRef,
    pub timeline: bool,
    payload: Mutex<Payload>,
    /// Binary semaphores: the point of the latest signal handed out.
    binary_signals: AtomicU64,
}

/// The syncobjs behind a semaphore.
pub struct Payload {
    pub permanent: u32,
    /// Binary only: other devices see the payload, so no counting.
    pub shared: bool,
    /// Binary only: an imported payload for the next wait.
    pub temporary: Option<u32>,
    /// Temporary payloads already waited on: submissions (perhaps deferred)
    /// name them, so they live as long as the semaphore.
    retired: Vec<u32>,
}

impl Semaphore {
    /// # Safety
    /// `h` is null or a live semaphore of ours.
    pub unsafe fn from_handle<'a>(h: vk::Semaphore) -> VkResult<&'a Semaphore> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    pub fn payload(&self) -> MutexGuard<'_, Payload> {
        self.payload.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The permanent syncobj (timeline semaphores have no other).
    pub fn syncobj(&self) -> u32 {
        self.payload().permanent
    }

    /// The latest binary signal point handed out (0: none).
    pub fn last_binary_signal(&self) -> u64 {
        self.binary_signals.load(Ordering::Acquire)
    }

    /// Takes the next binary signal point (for an import that becomes the
    /// payload the next wait sees).
    pub fn next_binary_signal(&self) -> u64 {
        self.binary_signals.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Installs an imported syncobj: permanently (the old one is destroyed,
    /// a binary semaphore becomes shared) or for the next wait.
    pub fn replace(&self, syncobj: u32, temporary: bool) {
        let mut p = self.payload();
        if temporary {
            if let Some(old) = p.temporary.replace(syncobj) {
                self.destroy(old);
            }
        } else {
            let old = std::mem::replace(&mut p.permanent, syncobj);
            p.shared = !self.timeline;
            self.destroy(old);
        }
    }

    /// Marks a binary semaphore's payload as seen by other devices.
    pub fn share(&self) {
        if !self.timeline {
            self.payload().shared = true;
        }
    }

    /// Takes the temporary payload as consumed (it becomes retired).
    pub fn take_temporary(&self, p: &mut Payload) -> Option<u32> {
        let t = p.temporary.take()?;
        p.retired.push(t);
        Some(t)
    }

    /// The point a wait of `value` waits for (the value is ignored for
    /// binary semaphores, as the spec says).
    fn wait_point(&self, value: u64) -> SyncPoint {
        let mut p = self.payload();
        if let Some(t) = self.take_temporary(&mut p) {
            return SyncPoint::binary(t);
        }
        if self.timeline {
            return SyncPoint::timeline(p.permanent, value);
        }
        if p.shared {
            return SyncPoint::binary(p.permanent);
        }
        match self.binary_signals.load(Ordering::Acquire) {
            // Never signalled (invalid usage): the kernel refuses the wait.
            0 => SyncPoint::binary(p.permanent),
            last => SyncPoint::timeline(p.permanent, last),
        }
    }

    /// The point a signal of `value` signals; binary semaphores take their
    /// next point.
    fn signal_point(&self, value: u64) -> SyncPoint {
        let p = self.payload();
        if let Some(t) = p.temporary {
            return SyncPoint::binary(t);
        }
        if self.timeline {
            return SyncPoint::timeline(p.permanent, value);
        }
        if p.shared {
            return SyncPoint::binary(p.permanent);
        }
        SyncPoint::timeline(p.permanent, self.next_binary_signal())
    }

    /// Gives back a binary signal point whose submission was refused, if
    /// no later signal took a point since.
    fn unsignal(&self, point: SyncPoint) {
        if let (false, Some(p)) = (self.timeline, point.point) {
            let _ =
                self.binary_signals
                    .compare_exchange(p, p - 1, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    fn destroy(&self, syncobj: u32) {
        if let Err(e) = self.dev.file.syncobj_destroy(syncobj) {
            log::error!("SYNCOBJ_DESTROY({syncobj}): {e}");
        }
    }
}

/// The semaphore operations of one batch, checked but not yet given
/// points (that happens only once the whole submission is known good).
#[derive(Default)]
pub struct SemaphoreOps {
    waits: Vec<(&'static Semaphore, u64)>,
    signals: Vec<(&'static Semaphore, u64)>,
}

fn resolve(sems: &[vk::Semaphore], values: &[u64]) -> VkResult<Vec<(&'static Semaphore, u64)>> {
    sems.iter()
        .enumerate()
        .map(|(i, &s)| {
            // SAFETY: semaphores in a submission are ours (valid usage).
            let s = unsafe { Semaphore::from_handle(s) }?;
            Ok((s, values.get(i).copied().unwrap_or(0)))
        })
        .collect()
}

impl SemaphoreOps {
    /// Semaphore handles and their values (missing values are 0).
    pub fn new(
        waits: &[vk::Semaphore],
        wait_values: &[u64],
        signals: &[vk::Semaphore],
        signal_values: &[u64],
    ) -> VkResult<SemaphoreOps> {
        Ok(SemaphoreOps {
            waits: resolve(waits, wait_values)?,
            signals: resolve(signals, signal_values)?,
        })
    }

    /// The batch's sync points. Call in submission order, batch by batch,
    /// so a wait sees the signals of the batches before it.
    pub fn assign(&self) -> Batch {
        Batch {
            waits: self.waits.iter().map(|&(s, v)| s.wait_point(v)).collect(),
            signals: self
                .signals
                .iter()
                .map(|&(s, v)| s.signal_point(v))
                .collect(),
        }
    }

    /// Undoes [`assign`](Self::assign) for a refused submission.
    /// `points` are the signal points `assign` gave.
    pub fn release(&self, points: &[SyncPoint]) {
        for (&(s, _), &p) in self.signals.iter().zip(points).rev() {
            s.unsignal(p);
        }
    }
}

impl Drop for Semaphore {
    fn drop(&mut self) {
        let p = self.payload.get_mut().unwrap_or_else(|e| e.into_inner());
        let all: Vec<u32> = std::iter::once(p.permanent)
            .chain(p.temporary)
            .chain(p.retired.drain(..))
            .collect();
        for s in all {
            self.destroy(s);
        }
    }
}

pub unsafe extern "system" fn create_semaphore(
    device: vk::Device,
    info: *const vk::SemaphoreCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Semaphore,
) -> vk::Result {
    guard("vkCreateSemaphore", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pCreateInfo") }?;
        // SAFETY: the chain is valid.
        let ty = unsafe { chain::find::<vk::SemaphoreTypeCreateInfo<'_>>(info.p_next) };
        let (timeline, initial) = match ty {
            Some(t) if t.semaphore_type == vk::SemaphoreType::TIMELINE => (true, t.initial_value),
            _ => (false, 0),
        };
        let syncobj = dev.file.syncobj_create(0).vk("SYNCOBJ_CREATE")?;
        // SAFETY: the chain is valid.
        let export = unsafe { chain::find::<vk::ExportSemaphoreCreateInfo<'_>>(info.p_next) };
        let sem = Semaphore {
            dev: dev.clone(),
            timeline,
            payload: Mutex::new(Payload {
                permanent: syncobj,
                // Exportable binary semaphores never count (the payload
                // may be seen elsewhere before the first export).
                shared: !timeline && export.is_some_and(|e| !e.handle_types.is_empty()),
                temporary: None,
                retired: Vec::new(),
            }),
            binary_signals: AtomicU64::new(0),
        };
        if initial > 0 {
            dev.file
                .syncobj_timeline_signal(&[syncobj], &[initial])
                .vk("SYNCOBJ_TIMELINE_SIGNAL (initial value)")?;
        }
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(sem)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_semaphore(
    _device: vk::Device,
    semaphore: vk::Semaphore,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroySemaphore", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<Semaphore, _>(semaphore) });
        Ok(())
    })
}

fn timeline(h: vk::Semaphore) -> VkResult<&'static Semaphore> {
    // SAFETY: the handle is ours (valid usage).
    let s = unsafe { Semaphore::from_handle(h) }?;
    if !s.timeline {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "semaphore is binary, not timeline"
        );
    }
    Ok(s)
}

pub unsafe extern "system" fn get_semaphore_counter_value(
    _device: vk::Device,
    semaphore: vk::Semaphore,
    out: *mut u64,
) -> vk::Result {
    guard("vkGetSemaphoreCounterValue", || {
        let s = timeline(semaphore)?;
        let mut v = [0u64];
        s.dev
            .file
            .syncobj_query(&[s.syncobj()], &mut v, 0)
            .vk("SYNCOBJ_QUERY")?;
        s.dev.check_lost()?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, v[0]) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn wait_semaphores(
    device: vk::Device,
    info: *const vk::SemaphoreWaitInfo<'_>,
    timeout: u64,
) -> vk::Result {
    guard("vkWaitSemaphores", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pWaitInfo") }?;
        // SAFETY: the arrays hold semaphoreCount elements.
        let (sems, values) = unsafe {
            (
                handle::slice(info.p_semaphores, info.semaphore_count),
                handle::slice(info.p_values, info.semaphore_count),
            )
        };
        let handles = sems
            .iter()
            .map(|&s| timeline(s).map(|s| s.syncobj()))
            .collect::<VkResult<Vec<_>>>()?;
        if handles.is_empty() {
            return Ok(vk::Result::SUCCESS);
        }
        // Points not yet submitted are waited for (wait-before-signal).
        let mut flags = SyncobjWaitFlags::WAIT_FOR_SUBMIT;
        if !info.flags.contains(vk::SemaphoreWaitFlags::ANY) {
            flags |= SyncobjWaitFlags::WAIT_ALL;
        }
        match dev
            .file
            .syncobj_timeline_wait(&handles, values, deadline(timeout), flags)
        {
            Ok(_) => {
                dev.check_lost()?;
                Ok(vk::Result::SUCCESS)
            }
            Err(Errno::ETIME) => Ok(vk::Result::TIMEOUT),
            Err(e) => Err(e).vk("SYNCOBJ_TIMELINE_WAIT"),
        }
    })
}

pub unsafe extern "system" fn signal_semaphore(
    _device: vk::Device,
    info: *const vk::SemaphoreSignalInfo<'_>,
) -> vk::Result {
    guard("vkSignalSemaphore", || {
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pSignalInfo") }?;
        let s = timeline(info.semaphore)?;
        s.dev
            .file
            .syncobj_timeline_signal(&[s.syncobj()], &[info.value])
            .vk("SYNCOBJ_TIMELINE_SIGNAL")?;
        Ok(vk::Result::SUCCESS)
    })
}
