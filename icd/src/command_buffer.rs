//! `VkCommandBuffer`: commands are lowered to a CSF command stream while
//! they are recorded (buffers are bound by then, so every address is
//! known); `vkEndCommandBuffer` uploads the stream to GPU memory, where
//! each submission runs it as one GROUP_SUBMIT job.

use std::ffi::c_void;
use std::sync::Mutex;

use ash::vk;
use mali_csf::CsBuilder;

use crate::buffer::Buffer;
use crate::clear_color;
use crate::cs_dispatch::ComputeState;
use crate::cs_image::{self, BufferLayout, CopyError, Region};
use crate::cs_transfer::{self, Unaligned};
use crate::device::DeviceRef;
use crate::event::{Event, EVENT_RESET, EVENT_SET};
use crate::guard::{guard, guard_void, VkError, VkResult};
use crate::image::Image;
use crate::memory::Memory;
use crate::meta_copy;
use crate::upload::Upload;
use crate::{handle, vk_bail};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Initial,
    Recording,
    Executable,
}

struct Recording {
    state: State,
    cs: CsBuilder,
    /// The first command that could not be recorded; `vkEndCommandBuffer`
    /// reports it.
    error: Option<VkError>,
    /// The uploaded stream (kept for reuse by the next recording).
    stream: Option<Memory>,
    stream_len: u32,
    /// Tables recorded with dispatches.
    upload: Upload,
    compute: ComputeState,
}

pub struct CommandBuffer {
    pub dev: DeviceRef,
    pub family: u32,
    /// Secondary command buffers run only from `vkCmdExecuteCommands`,
    /// which `CALL`s their stream from the primary's.
    pub level: vk::CommandBufferLevel,
    rec: Mutex<Recording>,
}

impl CommandBuffer {
    pub fn new(dev: DeviceRef, family: u32, level: vk::CommandBufferLevel) -> CommandBuffer {
        CommandBuffer {
            dev,
            family,
            level,
            rec: Mutex::new(Recording {
                state: State::Initial,
                cs: CsBuilder::new(),
                error: None,
                stream: None,
                stream_len: 0,
                upload: Upload::default(),
                compute: ComputeState::default(),
            }),
        }
    }

    /// # Safety
    /// `h` is null or a live command buffer of ours.
    pub unsafe fn from_handle<'a>(h: vk::CommandBuffer) -> VkResult<&'a CommandBuffer> {
        // SAFETY: forwarded contract.
        unsafe { handle::dispatchable(h) }
    }

    fn rec(&self) -> std::sync::MutexGuard<'_, Recording> {
        self.rec.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Back to the initial state; `release` also frees the stream memory.
    pub fn reset(&self, release: bool) {
        let mut r = self.rec();
        r.state = State::Initial;
        r.cs = CsBuilder::new();
        r.error = None;
        r.stream_len = 0;
        r.upload.reset();
        r.compute = ComputeState::default();
        if release {
            r.stream = None;
            r.upload = Upload::default();
        }
    }

    /// The stream a submission runs: `None` when the buffer recorded no
    /// GPU work (the job is then sync-only).
    pub fn executable_stream(&self) -> VkResult<Option<(u64, u32)>> {
        if self.level != vk::CommandBufferLevel::PRIMARY {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "submitted a secondary command buffer (VUID-VkSubmitInfo-pCommandBuffers-00075)"
            );
        }
        self.stream()
    }

    fn stream(&self) -> VkResult<Option<(u64, u32)>> {
        let r = self.rec();
        if r.state != State::Executable {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "the command buffer is not executable (never ended, or reset since)"
            );
        }
        Ok(match (&r.stream, r.stream_len) {
            (Some(m), len) if len > 0 => Some((m.va, len)),
            _ => None,
        })
    }

    /// Records with `f`, keeping the first error for `vkEndCommandBuffer`.
    pub(crate) fn record(
        &self,
        what: &str,
        f: impl FnOnce(&mut CsBuilder) -> VkResult<()>,
    ) -> VkResult<()> {
        self.record_compute(what, |cs, _, _| f(cs))
    }

    /// As [`CommandBuffer::record`], with the compute state and the upload
    /// memory.
    pub(crate) fn record_compute(
        &self,
        what: &str,
        f: impl FnOnce(&mut CsBuilder, &mut Upload, &mut ComputeState) -> VkResult<()>,
    ) -> VkResult<()> {
        let mut guard = self.rec();
        let r = &mut *guard;
        if r.state != State::Recording {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "{what} outside vkBegin/EndCommandBuffer"
            );
        }
        if let Err(e) = f(&mut r.cs, &mut r.upload, &mut r.compute) {
            log::error!("{what}: {}", e.why);
            r.error
                .get_or_insert(VkError::new(e.result, format!("{what}: {}", e.why)));
        }
        Ok(())
    }

    fn end(&self) -> VkResult<()> {
        let mut r = self.rec();
        if r.state != State::Recording {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "vkEndCommandBuffer without vkBeginCommandBuffer"
            );
        }
        if let Some(e) = r.error.take() {
            r.state = State::Initial;
            return Err(e);
        }
        let cs = std::mem::take(&mut r.cs);
        let bytes = cs.finish_bytes().map_err(|e| {
            VkError::new(
                vk::Result::ERROR_UNKNOWN,
                format!("building the command stream: {e}"),
            )
        })?;
        let len = u32::try_from(bytes.len()).map_err(|_| {
            VkError::new(
                vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
                "command stream over 4 GiB",
            )
        })?;
        if len > 0 {
            // Reuse the last stream's memory when it is big enough; else free
            // it before allocating the new one.
            let m = match r.stream.take() {
                Some(m) if m.size >= len as u64 => m,
                _ => Memory::new(&self.dev, len as u64)?,
            };
            let p = m.cpu_ptr()?;
            // SAFETY: the mapping holds at least len bytes; no GPU job reads this
            // stream now (re-recording a pending command buffer is invalid usage).
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
            r.stream = Some(m);
        }
        r.stream_len = len;
        r.state = State::Executable;
        Ok(())
    }
}

fn unaligned(e: Unaligned) -> VkError {
    VkError::new(
        vk::Result::ERROR_UNKNOWN,
        format!(
            "{} bytes at GPU VA {:#x}: the command stream moves whole 4-byte words, and \
             this device has no shader cores for byte-granular transfers",
            e.bytes, e.addr
        ),
    )
}

macro_rules! cb {
    ($h:expr) => {
        // SAFETY: the handle is a command buffer of ours (valid usage).
        unsafe { $crate::command_buffer::CommandBuffer::from_handle($h) }?
    };
}
pub(crate) use cb;

fn buffer<'a>(h: vk::Buffer) -> VkResult<&'a Buffer> {
    // SAFETY: buffers named by commands are ours (valid usage).
    unsafe { Buffer::from_handle(h) }
}

pub unsafe extern "system" fn begin_command_buffer(
    cb: vk::CommandBuffer,
    _info: *const vk::CommandBufferBeginInfo<'_>,
) -> vk::Result {
    guard("vkBeginCommandBuffer", || {
        let cb = cb!(cb);
        cb.reset(false);
        cb.rec().state = State::Recording;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn end_command_buffer(cb: vk::CommandBuffer) -> vk::Result {
    guard("vkEndCommandBuffer", || {
        cb!(cb).end()?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn reset_command_buffer(
    cb: vk::CommandBuffer,
    flags: vk::CommandBufferResetFlags,
) -> vk::Result {
    guard("vkResetCommandBuffer", || {
        cb!(cb).reset(flags.contains(vk::CommandBufferResetFlags::RELEASE_RESOURCES));
        Ok(vk::Result::SUCCESS)
    })
}

fn copy_regions(
    cb: &CommandBuffer,
    src: vk::Buffer,
    dst: vk::Buffer,
    regions: &[vk::BufferCopy],
) -> VkResult<()> {
    let dev = &cb.dev;
    cb.record_compute("vkCmdCopyBuffer", |cs, upload, _| {
        let (src, dst) = (buffer(src)?, buffer(dst)?);
        for r in regions {
            src.check_range(r.src_offset, r.size, "source")?;
            dst.check_range(r.dst_offset, r.size, "destination")?;
            let (s, d) = (src.address(r.src_offset)?, dst.address(r.dst_offset)?);
            match cs_transfer::copy(cs, s, d, r.size) {
                Ok(()) => {}
                // Bytes the CS cannot move: the shader cores can.
                Err(_) if dev.shader_core => {
                    meta_copy::Recorder { cs, upload, dev }.buffer_bytes(s, d, r.size)?
                }
                Err(e) => return Err(unaligned(e)),
            }
        }
        Ok(())
    })
}

pub unsafe extern "system" fn cmd_copy_buffer(
    cb: vk::CommandBuffer,
    src: vk::Buffer,
    dst: vk::Buffer,
    count: u32,
    regions: *const vk::BufferCopy,
) {
    guard_void("vkCmdCopyBuffer", || {
        // SAFETY: regions holds count elements.
        copy_regions(cb!(cb), src, dst, unsafe { handle::slice(regions, count) })
    })
}

pub unsafe extern "system" fn cmd_copy_buffer2(
    cb: vk::CommandBuffer,
    info: *const vk::CopyBufferInfo2<'_>,
) {
    guard_void("vkCmdCopyBuffer2", || {
        // SAFETY: info is valid (valid usage).
        let info = unsafe { handle::input(info, "pCopyBufferInfo") }?;
        // SAFETY: pRegions holds regionCount elements.
        let regions: Vec<vk::BufferCopy> =
            unsafe { handle::slice(info.p_regions, info.region_count) }
                .iter()
                .map(|r| vk::BufferCopy {
                    src_offset: r.src_offset,
                    dst_offset: r.dst_offset,
                    size: r.size,
                })
                .collect();
        copy_regions(cb!(cb), info.src_buffer, info.dst_buffer, &regions)
    })
}

pub unsafe extern "system" fn cmd_fill_buffer(
    cb: vk::CommandBuffer,
    dst: vk::Buffer,
    offset: vk::DeviceSize,
    size: vk::DeviceSize,
    data: u32,
) {
    guard_void("vkCmdFillBuffer", || {
        cb!(cb).record("vkCmdFillBuffer", |cs| {
            let dst = buffer(dst)?;
            // WHOLE_SIZE: to the end, rounded down to whole words (the spec).
            let size = if size == vk::WHOLE_SIZE {
                dst.size.saturating_sub(offset) & !3
            } else {
                size
            };
            dst.check_range(offset, size, "destination")?;
            cs_transfer::fill(cs, dst.address(offset)?, size, data).map_err(unaligned)
        })
    })
}

pub unsafe extern "system" fn cmd_update_buffer(
    cb: vk::CommandBuffer,
    dst: vk::Buffer,
    offset: vk::DeviceSize,
    size: vk::DeviceSize,
    data: *const c_void,
) {
    guard_void("vkCmdUpdateBuffer", || {
        cb!(cb).record("vkCmdUpdateBuffer", |cs| {
            let dst = buffer(dst)?;
            if size > 65536 {
                vk_bail!(vk::Result::ERROR_UNKNOWN, "dataSize {size} is over 65536");
            }
            dst.check_range(offset, size, "destination")?;
            // SAFETY: data points to dataSize bytes (valid usage).
            let bytes = unsafe { handle::slice(data as *const u8, size as u32) };
            cs_transfer::update(cs, dst.address(offset)?, bytes).map_err(unaligned)
        })
    })
}

fn barrier(cb: vk::CommandBuffer, what: &str) -> VkResult<()> {
    cb!(cb).record(what, |cs| {
        cs_transfer::barrier(cs);
        Ok(())
    })
}

#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn cmd_pipeline_barrier(
    cb: vk::CommandBuffer,
    _src_stages: vk::PipelineStageFlags,
    _dst_stages: vk::PipelineStageFlags,
    _deps: vk::DependencyFlags,
    _n_mem: u32,
    _mem: *const vk::MemoryBarrier<'_>,
    _n_buf: u32,
    _buf: *const vk::BufferMemoryBarrier<'_>,
    _n_img: u32,
    _img: *const vk::ImageMemoryBarrier<'_>,
) {
    guard_void("vkCmdPipelineBarrier", || {
        barrier(cb, "vkCmdPipelineBarrier")
    })
}

pub unsafe extern "system" fn cmd_pipeline_barrier2(
    cb: vk::CommandBuffer,
    _info: *const vk::DependencyInfo<'_>,
) {
    guard_void("vkCmdPipelineBarrier2", || {
        barrier(cb, "vkCmdPipelineBarrier2")
    })
}

fn event_write(cb: vk::CommandBuffer, event: vk::Event, value: u32, what: &str) -> VkResult<()> {
    cb!(cb).record(what, |cs| {
        // SAFETY: events named by commands are ours (valid usage).
        let ev = unsafe { Event::from_handle(event) }?;
        cs_transfer::set_event(cs, ev.va(), value);
        Ok(())
    })
}

fn event_waits(cb: vk::CommandBuffer, events: &[vk::Event], what: &str) -> VkResult<()> {
    cb!(cb).record(what, |cs| {
        for &e in events {
            // SAFETY: events named by commands are ours (valid usage).
            let ev = unsafe { Event::from_handle(e) }?;
            cs_transfer::wait_event(cs, ev.va());
        }
        Ok(())
    })
}

pub unsafe extern "system" fn cmd_set_event(
    cb: vk::CommandBuffer,
    event: vk::Event,
    _stage: vk::PipelineStageFlags,
) {
    guard_void("vkCmdSetEvent", || {
        event_write(cb, event, EVENT_SET, "vkCmdSetEvent")
    })
}

pub unsafe extern "system" fn cmd_reset_event(
    cb: vk::CommandBuffer,
    event: vk::Event,
    _stage: vk::PipelineStageFlags,
) {
    guard_void("vkCmdResetEvent", || {
        event_write(cb, event, EVENT_RESET, "vkCmdResetEvent")
    })
}

pub unsafe extern "system" fn cmd_set_event2(
    cb: vk::CommandBuffer,
    event: vk::Event,
    _info: *const vk::DependencyInfo<'_>,
) {
    guard_void("vkCmdSetEvent2", || {
        event_write(cb, event, EVENT_SET, "vkCmdSetEvent2")
    })
}

pub unsafe extern "system" fn cmd_reset_event2(
    cb: vk::CommandBuffer,
    event: vk::Event,
    _stage: vk::PipelineStageFlags2,
) {
    guard_void("vkCmdResetEvent2", || {
        event_write(cb, event, EVENT_RESET, "vkCmdResetEvent2")
    })
}

#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn cmd_wait_events(
    cb: vk::CommandBuffer,
    count: u32,
    events: *const vk::Event,
    _src_stages: vk::PipelineStageFlags,
    _dst_stages: vk::PipelineStageFlags,
    _n_mem: u32,
    _mem: *const vk::MemoryBarrier<'_>,
    _n_buf: u32,
    _buf: *const vk::BufferMemoryBarrier<'_>,
    _n_img: u32,
    _img: *const vk::ImageMemoryBarrier<'_>,
) {
    guard_void("vkCmdWaitEvents", || {
        // SAFETY: events holds count handles.
        event_waits(
            cb,
            unsafe { handle::slice(events, count) },
            "vkCmdWaitEvents",
        )
    })
}

pub unsafe extern "system" fn cmd_wait_events2(
    cb: vk::CommandBuffer,
    count: u32,
    events: *const vk::Event,
    _infos: *const vk::DependencyInfo<'_>,
) {
    guard_void("vkCmdWaitEvents2", || {
        // SAFETY: events holds count handles.
        event_waits(
            cb,
            unsafe { handle::slice(events, count) },
            "vkCmdWaitEvents2",
        )
    })
}

// ----- image transfers --------------------------------------------------------

fn image<'a>(h: vk::Image) -> VkResult<&'a Image> {
    // SAFETY: images named by commands are ours (valid usage).
    unsafe { Image::from_handle(h) }
}

fn copy_error(e: CopyError) -> VkError {
    VkError::new(vk::Result::ERROR_UNKNOWN, e.to_string())
}

fn region(
    sub: &vk::ImageSubresourceLayers,
    offset: vk::Offset3D,
    extent: vk::Extent3D,
) -> VkResult<Region> {
    if offset.x < 0 || offset.y < 0 || offset.z < 0 {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "negative image offset {offset:?}"
        );
    }
    let layer_count = if sub.layer_count == vk::REMAINING_ARRAY_LAYERS {
        u32::MAX
    } else {
        sub.layer_count
    };
    Ok(Region {
        level: sub.mip_level,
        base_layer: sub.base_array_layer,
        layer_count,
        offset: [offset.x as u32, offset.y as u32, offset.z as u32],
        extent: [extent.width, extent.height, extent.depth],
    })
}

/// Bytes of buffer a `VkBufferImageCopy` touches from `bufferOffset`.
fn buffer_span(img: &Image, c: &vk::BufferImageCopy, layers: u32) -> u64 {
    let b = img.block;
    let row_texels = if c.buffer_row_length == 0 {
        c.image_extent.width
    } else {
        c.buffer_row_length
    };
    let height_texels = if c.buffer_image_height == 0 {
        c.image_extent.height
    } else {
        c.buffer_image_height
    };
    let row_blocks = u64::from(row_texels.div_ceil(b.extent[0]));
    let height_blocks = u64::from(height_texels.div_ceil(b.extent[1]));
    let width_blocks = u64::from(c.image_extent.width.div_ceil(b.extent[0]));
    let rows = u64::from(c.image_extent.height.div_ceil(b.extent[1]));
    let slices = u64::from(c.image_extent.depth.div_ceil(b.extent[2]).max(layers));
    if width_blocks == 0 || rows == 0 || slices == 0 {
        return 0;
    }
    (((slices - 1) * height_blocks + rows - 1) * row_blocks + width_blocks) * u64::from(b.bytes)
}

fn buffer_image_copies(
    cb: &CommandBuffer,
    what: &str,
    buf: vk::Buffer,
    img: vk::Image,
    copies: &[vk::BufferImageCopy],
    to_image: bool,
) -> VkResult<()> {
    let dev = &cb.dev;
    cb.record_compute(what, |cs, upload, _| {
        let (buf, img) = (buffer(buf)?, image(img)?);
        let iref = img.transfer_ref()?;
        let via_shaders = meta_copy::needed(img);
        for c in copies {
            let r = region(&c.image_subresource, c.image_offset, c.image_extent)?;
            let layers = if r.layer_count == u32::MAX {
                img.layout.desc().layers.saturating_sub(r.base_layer)
            } else {
                r.layer_count
            };
            let r = Region {
                layer_count: layers,
                ..r
            };
            let span = buffer_span(img, c, layers);
            buf.check_range(c.buffer_offset, span, "buffer side")?;
            let bl = BufferLayout {
                va: buf.address(c.buffer_offset)?,
                row_length: c.buffer_row_length,
                image_height: c.buffer_image_height,
            };
            if via_shaders {
                let mut m = meta_copy::Recorder { cs, upload, dev };
                let side = meta_copy::BufferSide::new(bl, span, &r);
                if to_image {
                    m.buffer_to_image(side, img, &r)?;
                } else {
                    m.image_to_buffer(img, &r, side)?;
                }
                continue;
            }
            let done = if to_image {
                cs_image::buffer_to_image(cs, bl, iref, &r)
            } else {
                cs_image::image_to_buffer(cs, iref, &r, bl)
            };
            done.map_err(copy_error)?;
        }
        Ok(())
    })
}

pub unsafe extern "system" fn cmd_copy_buffer_to_image(
    cb: vk::CommandBuffer,
    src: vk::Buffer,
    dst: vk::Image,
    _layout: vk::ImageLayout,
    count: u32,
    regions: *const vk::BufferImageCopy,
) {
    guard_void("vkCmdCopyBufferToImage", || {
        // SAFETY: regions holds count elements.
        let regions = unsafe { handle::slice(regions, count) };
        buffer_image_copies(cb!(cb), "vkCmdCopyBufferToImage", src, dst, regions, true)
    })
}

pub unsafe extern "system" fn cmd_copy_image_to_buffer(
    cb: vk::CommandBuffer,
    src: vk::Image,
    _layout: vk::ImageLayout,
    dst: vk::Buffer,
    count: u32,
    regions: *const vk::BufferImageCopy,
) {
    guard_void("vkCmdCopyImageToBuffer", || {
        // SAFETY: regions holds count elements.
        let regions = unsafe { handle::slice(regions, count) };
        buffer_image_copies(cb!(cb), "vkCmdCopyImageToBuffer", dst, src, regions, false)
    })
}

pub unsafe extern "system" fn cmd_copy_image(
    cb: vk::CommandBuffer,
    src: vk::Image,
    _src_layout: vk::ImageLayout,
    dst: vk::Image,
    _dst_layout: vk::ImageLayout,
    count: u32,
    regions: *const vk::ImageCopy,
) {
    guard_void("vkCmdCopyImage", || {
        // SAFETY: regions holds count elements.
        let regions = unsafe { handle::slice(regions, count) };
        let cb = cb!(cb);
        let dev = &cb.dev;
        cb.record_compute("vkCmdCopyImage", |cs, upload, _| {
            let (src, dst) = (image(src)?, image(dst)?);
            let (sref, dref) = (src.transfer_ref()?, dst.transfer_ref()?);
            let via_shaders = meta_copy::needed(src) || meta_copy::needed(dst);
            for c in regions {
                let sr = region(&c.src_subresource, c.src_offset, c.extent)?;
                let dr = region(&c.dst_subresource, c.dst_offset, c.extent)?;
                if via_shaders {
                    meta_copy::Recorder { cs, upload, dev }.image_to_image(src, &sr, dst, &dr)?;
                } else {
                    cs_image::image_to_image(cs, sref, &sr, dref, &dr).map_err(copy_error)?;
                }
            }
            Ok(())
        })
    })
}

pub unsafe extern "system" fn cmd_clear_color_image(
    cb: vk::CommandBuffer,
    img: vk::Image,
    _layout: vk::ImageLayout,
    color: *const vk::ClearColorValue,
    count: u32,
    ranges: *const vk::ImageSubresourceRange,
) {
    guard_void("vkCmdClearColorImage", || {
        // SAFETY: color is valid; ranges holds count elements.
        let (color, ranges) = unsafe {
            (
                handle::input(color, "pColor")?,
                handle::slice(ranges, count),
            )
        };
        let cb = cb!(cb);
        let dev = &cb.dev;
        cb.record_compute("vkCmdClearColorImage", |cs, upload, _| {
            let img = image(img)?;
            let via_shaders = meta_copy::needed(img);
            let Some(block) = clear_color::pack(img.format, color) else {
                vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "clearing {:?} is not supported",
                    img.format
                );
            };
            let iref = img.transfer_ref()?;
            let desc = *img.layout.desc();
            for r in ranges {
                let levels = if r.level_count == vk::REMAINING_MIP_LEVELS {
                    desc.levels.saturating_sub(r.base_mip_level)
                } else {
                    r.level_count
                };
                let layers = if r.layer_count == vk::REMAINING_ARRAY_LAYERS {
                    desc.layers.saturating_sub(r.base_array_layer)
                } else {
                    r.layer_count
                };
                for level in r.base_mip_level..r.base_mip_level.saturating_add(levels) {
                    if via_shaders {
                        meta_copy::Recorder { cs, upload, dev }.clear(
                            img,
                            level,
                            r.base_array_layer,
                            layers,
                            &block,
                        )?;
                    } else {
                        cs_image::clear(cs, iref, level, r.base_array_layer, layers, &block)
                            .map_err(copy_error)?;
                    }
                }
            }
            Ok(())
        })
    })
}

/// Registers of the `CALL` that runs a secondary command buffer.
const CALL_ADDR: u8 = 12;
const CALL_LEN: u8 = 14;

pub unsafe extern "system" fn cmd_execute_commands(
    cb: vk::CommandBuffer,
    count: u32,
    secondaries: *const vk::CommandBuffer,
) {
    guard_void("vkCmdExecuteCommands", || {
        let primary = cb!(cb);
        // SAFETY: pCommandBuffers holds commandBufferCount handles.
        let secondaries = unsafe { handle::slice(secondaries, count) };
        primary.record("vkCmdExecuteCommands", |cs| {
            for &h in secondaries {
                // SAFETY: the handles are command buffers of ours (valid usage).
                let sec = unsafe { CommandBuffer::from_handle(h) }?;
                if std::ptr::eq(sec, primary) || sec.level != vk::CommandBufferLevel::SECONDARY {
                    vk_bail!(
                        vk::Result::ERROR_UNKNOWN,
                        "pCommandBuffers names a primary command buffer \
                         (VUID-vkCmdExecuteCommands-pCommandBuffers-00088)"
                    );
                }
                // The secondary's stream runs as a call: its commands load
                // every register they use, so the primary's state after the
                // call is whatever the next command sets.
                if let Some((va, len)) = sec.stream()? {
                    cs.mov48(CALL_ADDR, va)
                        .mov32(CALL_LEN, len)
                        .call(CALL_ADDR, CALL_LEN);
                }
            }
            Ok(())
        })
    })
}

pub unsafe extern "system" fn cmd_set_device_mask(cb: vk::CommandBuffer, mask: u32) {
    guard_void("vkCmdSetDeviceMask", || {
        cb!(cb).record("vkCmdSetDeviceMask", |_| {
            // One physical device per group: its mask is 1.
            if mask != 1 {
                vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "deviceMask {mask:#x} names devices outside the group of one"
                );
            }
            Ok(())
        })
    })
}
