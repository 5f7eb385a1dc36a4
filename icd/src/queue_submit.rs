//! The three ways work enters a queue, lowered to [`Work`]:
//! `vkQueueSubmit`/`vkQueueSubmit2` (command buffers become GROUP_SUBMIT
//! jobs) and `vkQueueBindSparse` (binds become async VM_BIND ops, see
//! `sparse.rs`).

use ash::vk;

use crate::command_buffer::CommandBuffer;
use crate::drm_sync::SyncPoint;
use crate::fence::Fence;
use crate::guard::{guard, VkResult};
use crate::queue::{Batch, Job, Queue, Work};
use crate::semaphore::SemaphoreOps;
use crate::{chain, handle, sparse, vk_bail};

/// Waits, command buffer streams and signals of one submit batch.
struct SubmitBatch {
    sems: SemaphoreOps,
    streams: Vec<(u64, u32)>,
}

/// Gives every batch its sync points, in order, and submits through
/// `submit`; a refused submission gives the binary signal points back.
fn with_points<T>(
    sems: impl Iterator<Item = (SemaphoreOps, T)>,
    submit: impl FnOnce(Vec<SyncPoint>, Vec<(Batch, T)>) -> VkResult<()>,
) -> VkResult<()> {
    let (ops, batches): (Vec<SemaphoreOps>, Vec<(Batch, T)>) = sems
        .map(|(s, t)| {
            let b = s.assign();
            (s, (b, t))
        })
        .unzip();
    // Kept to undo a refused submission (the batches move into `submit`).
    let signals: Vec<Vec<SyncPoint>> = batches.iter().map(|(b, _)| b.signals.clone()).collect();
    // Points an earlier batch of this submission signals need not exist
    // beforehand: the batches run in order.
    let mut waits = Vec::new();
    for (i, (b, _)) in batches.iter().enumerate() {
        waits.extend(b.waits.iter().copied().filter(|w| {
            !signals[..i]
                .iter()
                .flatten()
                .any(|s| s.syncobj == w.syncobj && s.point >= w.point)
        }));
    }
    let r = submit(waits, batches);
    if r.is_err() {
        for (o, points) in ops.iter().zip(&signals).rev() {
            o.release(points);
        }
    }
    r
}

fn stream_of(cb: vk::CommandBuffer, q: &Queue) -> VkResult<Option<(u64, u32)>> {
    // SAFETY: command buffers in a submission are ours (valid usage).
    let cb = unsafe { CommandBuffer::from_handle(cb) }?;
    if !q.can_run_commands() {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "command buffers submitted to queue family {}, which runs none",
            q.family
        );
    }
    cb.executable_stream()
}

/// What the last item of a submission signals besides the application's
/// semaphores: the queue's progress point and the fence, if any.
fn completion(progress: SyncPoint, fence: Option<SyncPoint>) -> Vec<SyncPoint> {
    std::iter::once(progress).chain(fence).collect()
}

/// Lowers batches of command buffers to GROUP_SUBMIT jobs and submits.
fn submit_batches(q: &Queue, batches: Vec<SubmitBatch>, fence: Option<&Fence>) -> VkResult<()> {
    let mut batches = batches;
    if batches.is_empty() && fence.is_some() {
        batches.push(SubmitBatch {
            sems: SemaphoreOps::default(),
            streams: Vec::new(),
        });
    }
    if batches.is_empty() {
        return Ok(());
    }
    let fence_point = fence.map(|f| SyncPoint::binary(f.syncobj()));
    let batches = batches.into_iter().map(|b| (b.sems, b.streams));
    with_points(batches, |waits, batches| {
        q.submit(waits, |progress| {
            let last = completion(progress, fence_point);
            let n = batches.len();
            let mut jobs = Vec::new();
            for (i, (batch, streams)) in batches.into_iter().enumerate() {
                let extra = if i == n - 1 { &last[..] } else { &[] };
                let syncs = batch.spread(streams.len(), extra);
                if streams.is_empty() {
                    jobs.push(Job {
                        stream: None,
                        syncs: syncs.into_iter().next().unwrap_or_default(),
                    });
                } else {
                    jobs.extend(streams.into_iter().zip(syncs).map(|(s, syncs)| Job {
                        stream: Some(s),
                        syncs,
                    }));
                }
            }
            Work::Jobs(jobs)
        })
    })
}

pub unsafe extern "system" fn queue_submit(
    queue: vk::Queue,
    count: u32,
    submits: *const vk::SubmitInfo<'_>,
    fence: vk::Fence,
) -> vk::Result {
    guard("vkQueueSubmit", || {
        // SAFETY: the queue and fence are ours (valid usage).
        let (q, fence) = unsafe {
            (
                Queue::from_handle(queue)?,
                handle::optional::<Fence, _>(fence),
            )
        };
        let mut batches = Vec::new();
        // SAFETY: submits holds count valid structs.
        for s in unsafe { handle::slice(submits, count) } {
            // SAFETY: the chain is valid.
            let tl = unsafe { chain::find::<vk::TimelineSemaphoreSubmitInfo<'_>>(s.p_next) };
            // SAFETY: the arrays hold the counts the struct gives.
            let (waits, signals, cbs, wait_values, signal_values) = unsafe {
                (
                    handle::slice(s.p_wait_semaphores, s.wait_semaphore_count),
                    handle::slice(s.p_signal_semaphores, s.signal_semaphore_count),
                    handle::slice(s.p_command_buffers, s.command_buffer_count),
                    tl.map_or(&[][..], |t| {
                        handle::slice(t.p_wait_semaphore_values, t.wait_semaphore_value_count)
                    }),
                    tl.map_or(&[][..], |t| {
                        handle::slice(t.p_signal_semaphore_values, t.signal_semaphore_value_count)
                    }),
                )
            };
            let mut streams = Vec::new();
            for &cb in cbs {
                streams.extend(stream_of(cb, q)?);
            }
            batches.push(SubmitBatch {
                sems: SemaphoreOps::new(waits, wait_values, signals, signal_values)?,
                streams,
            });
        }
        submit_batches(q, batches, fence)?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn queue_submit2(
    queue: vk::Queue,
    count: u32,
    submits: *const vk::SubmitInfo2<'_>,
    fence: vk::Fence,
) -> vk::Result {
    guard("vkQueueSubmit2", || {
        // SAFETY: the queue and fence are ours (valid usage).
        let (q, fence) = unsafe {
            (
                Queue::from_handle(queue)?,
                handle::optional::<Fence, _>(fence),
            )
        };
        let mut batches = Vec::new();
        // SAFETY: submits holds count valid structs.
        for s in unsafe { handle::slice(submits, count) } {
            // SAFETY: the arrays hold the counts the struct gives.
            let (waits, signals, cbs) = unsafe {
                (
                    handle::slice(s.p_wait_semaphore_infos, s.wait_semaphore_info_count),
                    handle::slice(s.p_signal_semaphore_infos, s.signal_semaphore_info_count),
                    handle::slice(s.p_command_buffer_infos, s.command_buffer_info_count),
                )
            };
            let split = |infos: &[vk::SemaphoreSubmitInfo<'_>]| {
                let sems: Vec<_> = infos.iter().map(|i| i.semaphore).collect();
                let values: Vec<_> = infos.iter().map(|i| i.value).collect();
                (sems, values)
            };
            let ((ws, wv), (ss, sv)) = (split(waits), split(signals));
            let mut streams = Vec::new();
            for cb in cbs {
                streams.extend(stream_of(cb.command_buffer, q)?);
            }
            batches.push(SubmitBatch {
                sems: SemaphoreOps::new(&ws, &wv, &ss, &sv)?,
                streams,
            });
        }
        submit_batches(q, batches, fence)?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn queue_bind_sparse(
    queue: vk::Queue,
    count: u32,
    infos: *const vk::BindSparseInfo<'_>,
    fence: vk::Fence,
) -> vk::Result {
    guard("vkQueueBindSparse", || {
        // SAFETY: the queue and fence are ours (valid usage).
        let (q, fence) = unsafe {
            (
                Queue::from_handle(queue)?,
                handle::optional::<Fence, _>(fence),
            )
        };
        // SAFETY: infos holds count valid structs.
        let infos = unsafe { handle::slice(infos, count) };
        // Everything is checked and lowered before anything is submitted:
        // a bad bind changes nothing.
        let mut lowered = Vec::new();
        for info in infos {
            // SAFETY: the chain is valid.
            let tl = unsafe { chain::find::<vk::TimelineSemaphoreSubmitInfo<'_>>(info.p_next) };
            // SAFETY: the arrays hold the counts the struct gives.
            let (waits, signals, wait_values, signal_values) = unsafe {
                (
                    handle::slice(info.p_wait_semaphores, info.wait_semaphore_count),
                    handle::slice(info.p_signal_semaphores, info.signal_semaphore_count),
                    tl.map_or(&[][..], |t| {
                        handle::slice(t.p_wait_semaphore_values, t.wait_semaphore_value_count)
                    }),
                    tl.map_or(&[][..], |t| {
                        handle::slice(t.p_signal_semaphore_values, t.signal_semaphore_value_count)
                    }),
                )
            };
            let sems = SemaphoreOps::new(waits, wait_values, signals, signal_values)?;
            // SAFETY: the bind arrays are valid (valid usage).
            let ops = unsafe { sparse::lower(info) }?;
            lowered.push((sems, ops));
        }
        if lowered.is_empty() {
            if fence.is_none() {
                return Ok(vk::Result::SUCCESS);
            }
            // Only a fence: one empty batch carries it.
            lowered.push((SemaphoreOps::default(), Vec::new()));
        }
        let fence_point = fence.map(|f| SyncPoint::binary(f.syncobj()));
        let sparse_maps = q.dev.sparse_residency;
        with_points(lowered.into_iter(), |waits, lowered| {
            q.submit(waits, |progress| {
                let last = completion(progress, fence_point);
                let n = lowered.len();
                let mut ops = Vec::new();
                for (i, (batch, binds)) in lowered.into_iter().enumerate() {
                    let extra = if i == n - 1 { &last[..] } else { &[] };
                    let syncs = batch.spread(binds.len(), extra);
                    if binds.is_empty() {
                        // SYNC_ONLY needs at least one sync.
                        let syncs = syncs.into_iter().next().unwrap_or_default();
                        if !syncs.is_empty() {
                            ops.push(sparse::sync_only(syncs));
                        }
                    } else {
                        ops.extend(
                            binds
                                .into_iter()
                                .zip(syncs)
                                .map(|(b, s)| b.op(sparse_maps, s)),
                        );
                    }
                }
                Work::Binds(ops)
            })
        })?;
        Ok(vk::Result::SUCCESS)
    })
}
