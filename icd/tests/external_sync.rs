//! External fences and semaphores through the real loader
//! (`VK_KHR_external_fence_fd`, `VK_KHR_external_semaphore_fd`): syncobj
//! fds shared by two Vulkan devices, sync_files copied out of a payload and
//! into another, and GPU work on one device ordered after GPU work on the
//! other through a shared semaphore and shared memory.

mod common;

use std::ffi::CStr;
use std::os::fd::{FromRawFd, OwnedFd};

use ash::vk;
use common::*;

const EXTS: &[&CStr] = &[
    ash::khr::external_memory::NAME,
    ash::khr::external_memory_fd::NAME,
    ash::ext::external_memory_dma_buf::NAME,
    ash::khr::external_fence::NAME,
    ash::khr::external_fence_fd::NAME,
    ash::khr::external_semaphore::NAME,
    ash::khr::external_semaphore_fd::NAME,
];

const OPAQUE: vk::ExternalFenceHandleTypeFlags = vk::ExternalFenceHandleTypeFlags::OPAQUE_FD;
const SYNC: vk::ExternalFenceHandleTypeFlags = vk::ExternalFenceHandleTypeFlags::SYNC_FD;
const SEM_OPAQUE: vk::ExternalSemaphoreHandleTypeFlags =
    vk::ExternalSemaphoreHandleTypeFlags::OPAQUE_FD;
const SEM_SYNC: vk::ExternalSemaphoreHandleTypeFlags =
    vk::ExternalSemaphoreHandleTypeFlags::SYNC_FD;
const SECOND: u64 = 1_000_000_000;

fn ctx(validation: bool) -> Ctx {
    Ctx::with_extensions(validation, EXTS)
}

fn fence_api(c: &Ctx) -> ash::khr::external_fence_fd::Device {
    ash::khr::external_fence_fd::Device::new(&c.instance, &c.device)
}

fn sem_api(c: &Ctx) -> ash::khr::external_semaphore_fd::Device {
    ash::khr::external_semaphore_fd::Device::new(&c.instance, &c.device)
}

fn exportable_fence(c: &Ctx, types: vk::ExternalFenceHandleTypeFlags) -> vk::Fence {
    let mut export = vk::ExportFenceCreateInfo::default().handle_types(types);
    let info = vk::FenceCreateInfo::default().push_next(&mut export);
    // SAFETY: valid create info.
    unsafe { c.device.create_fence(&info, None) }.unwrap()
}

fn exportable_semaphore(c: &Ctx, types: vk::ExternalSemaphoreHandleTypeFlags) -> vk::Semaphore {
    let mut export = vk::ExportSemaphoreCreateInfo::default().handle_types(types);
    let info = vk::SemaphoreCreateInfo::default().push_next(&mut export);
    // SAFETY: valid create info.
    unsafe { c.device.create_semaphore(&info, None) }.unwrap()
}

fn fence_fd(c: &Ctx, fence: vk::Fence, ty: vk::ExternalFenceHandleTypeFlags) -> i32 {
    let info = vk::FenceGetFdInfoKHR::default()
        .fence(fence)
        .handle_type(ty);
    // SAFETY: valid info.
    unsafe { fence_api(c).get_fence_fd(&info) }.expect("vkGetFenceFdKHR")
}

fn import_fence(
    c: &Ctx,
    fence: vk::Fence,
    ty: vk::ExternalFenceHandleTypeFlags,
    fd: i32,
    flags: vk::FenceImportFlags,
) -> Result<(), vk::Result> {
    let info = vk::ImportFenceFdInfoKHR::default()
        .fence(fence)
        .handle_type(ty)
        .fd(fd)
        .flags(flags);
    // SAFETY: valid info.
    unsafe { fence_api(c).import_fence_fd(&info) }
}

fn semaphore_fd(c: &Ctx, sem: vk::Semaphore, ty: vk::ExternalSemaphoreHandleTypeFlags) -> i32 {
    let info = vk::SemaphoreGetFdInfoKHR::default()
        .semaphore(sem)
        .handle_type(ty);
    // SAFETY: valid info.
    unsafe { sem_api(c).get_semaphore_fd(&info) }.expect("vkGetSemaphoreFdKHR")
}

fn import_semaphore(
    c: &Ctx,
    sem: vk::Semaphore,
    ty: vk::ExternalSemaphoreHandleTypeFlags,
    fd: i32,
    flags: vk::SemaphoreImportFlags,
) -> Result<(), vk::Result> {
    let info = vk::ImportSemaphoreFdInfoKHR::default()
        .semaphore(sem)
        .handle_type(ty)
        .fd(fd)
        .flags(flags);
    // SAFETY: valid info.
    unsafe { sem_api(c).import_semaphore_fd(&info) }
}

fn status(c: &Ctx, fence: vk::Fence) -> vk::Result {
    // SAFETY: a fence of c's device.
    match unsafe { c.device.get_fence_status(fence) } {
        Ok(true) => vk::Result::SUCCESS,
        Ok(false) => vk::Result::NOT_READY,
        Err(e) => e,
    }
}

fn wait(c: &Ctx, fence: vk::Fence) {
    // SAFETY: a fence of c's device.
    unsafe { c.device.wait_for_fences(&[fence], true, 10 * SECOND) }.expect("fence wait");
}

/// Submits `cbs` to `c`'s universal queue with the given semaphores.
fn submit(
    c: &Ctx,
    cbs: &[vk::CommandBuffer],
    waits: &[(vk::Semaphore, u64)],
    signals: &[vk::Semaphore],
    fence: vk::Fence,
) {
    let sems: Vec<_> = waits.iter().map(|w| w.0).collect();
    let values: Vec<_> = waits.iter().map(|w| w.1).collect();
    let stages = vec![vk::PipelineStageFlags::TRANSFER; waits.len()];
    let signal_values = vec![0; signals.len()];
    let mut tl = vk::TimelineSemaphoreSubmitInfo::default()
        .wait_semaphore_values(&values)
        .signal_semaphore_values(&signal_values);
    let info = vk::SubmitInfo::default()
        .command_buffers(cbs)
        .wait_semaphores(&sems)
        .wait_dst_stage_mask(&stages)
        .signal_semaphores(signals)
        .push_next(&mut tl);
    // SAFETY: a valid submission of c's objects.
    unsafe { c.device.queue_submit(c.universal, &[info], fence) }.expect("vkQueueSubmit");
}

/// A command buffer that waits for `ev` (set by the host): work that the
/// kernel has, held pending on the GPU until the test releases it.
fn gate(c: &Ctx, ev: vk::Event) -> vk::CommandBuffer {
    // SAFETY: recording a wait on a valid event.
    c.record(|cb| unsafe {
        c.device.cmd_wait_events(
            cb,
            &[ev],
            vk::PipelineStageFlags::HOST,
            vk::PipelineStageFlags::TRANSFER,
            &[],
            &[],
            &[],
        )
    })
}

fn event(c: &Ctx) -> vk::Event {
    // SAFETY: valid create info.
    unsafe { c.device.create_event(&vk::EventCreateInfo::default(), None) }.unwrap()
}

/// True when `fd` polls readable (POLLIN) within `ms` milliseconds.
fn poll_in(fd: i32, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll reads and writes one pollfd we own.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    n == 1 && p.revents & libc::POLLIN != 0
}

fn close(fd: i32) {
    // SAFETY: the test owns fd and closes it once.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
}

#[test]
fn opaque_fence_fd_is_one_payload_on_two_devices() {
    let a = ctx(true);
    let b = ctx(true);
    let fa = exportable_fence(&a, OPAQUE);
    let fd = fence_fd(&a, fa, OPAQUE);
    let fb = b.fence();
    import_fence(&b, fb, OPAQUE, fd, vk::FenceImportFlags::empty()).expect("permanent import");
    assert_eq!(status(&b, fb), vk::Result::NOT_READY);

    let buf = a.dense(4096);
    let cb = a.record(|cb| {
        // SAFETY: recording a fill of a valid buffer.
        unsafe {
            a.device
                .cmd_fill_buffer(cb, buf.buffer, 0, 4096, 0x1234_5678)
        }
    });
    submit(&a, &[cb], &[], &[], fa);
    wait(&b, fb);
    assert_eq!(status(&a, fa), vk::Result::SUCCESS);
    assert_eq!(buf.read(0, 4), 0x1234_5678u32.to_le_bytes());
    // SAFETY: B's fence is idle.
    unsafe { b.device.reset_fences(&[fb]) }.unwrap();
    assert_eq!(status(&a, fa), vk::Result::NOT_READY, "B's reset seen by A");
    // SAFETY: teardown of idle objects.
    unsafe {
        a.device.free_command_buffers(a.pool, &[cb]);
        a.device.destroy_fence(fa, None);
        b.device.destroy_fence(fb, None);
    }
    assert_eq!(a.validation_errors() + b.validation_errors(), 0);
}

#[test]
fn sync_fd_fence_export_copies_the_fence_and_resets() {
    let a = ctx(true);
    let b = ctx(true);
    let fa = exportable_fence(&a, SYNC);
    let ev = event(&a);
    // Work held back on the GPU: the sync_file stays pending until then.
    let held = gate(&a, ev);
    submit(&a, &[held], &[], &[], fa);
    let fd = fence_fd(&a, fa, SYNC);
    assert!(fd >= 0);
    assert_eq!(status(&a, fa), vk::Result::NOT_READY, "reset by the export");
    assert!(!poll_in(fd, 0), "pending sync_file polls not ready");
    // SAFETY: a dup of an fd we own.
    let dup = unsafe { libc::dup(fd) };

    let fb = b.fence();
    import_fence(&b, fb, SYNC, fd, vk::FenceImportFlags::TEMPORARY).expect("sync_fd import");
    assert_eq!(status(&b, fb), vk::Result::NOT_READY);
    // SAFETY: an event of A.
    unsafe { a.device.set_event(ev) }.unwrap();
    wait(&b, fb);
    assert!(
        poll_in(dup, 10_000),
        "the sync_file polls ready once signalled"
    );
    close(dup);
    // The reset restores B's own (unsignalled) payload.
    // SAFETY: B's fence is idle.
    unsafe { b.device.reset_fences(&[fb]) }.unwrap();
    assert_eq!(status(&b, fb), vk::Result::NOT_READY);
    // -1 is an already-signalled sync_file.
    import_fence(&b, fb, SYNC, -1, vk::FenceImportFlags::TEMPORARY).unwrap();
    assert_eq!(status(&b, fb), vk::Result::SUCCESS);
    // A permanent sync_fd import is refused and changes nothing.
    // SAFETY: B's fence is idle.
    unsafe { b.device.reset_fences(&[fb]) }.unwrap();
    assert_eq!(
        import_fence(&b, fb, SYNC, -1, vk::FenceImportFlags::empty()),
        Err(vk::Result::ERROR_INVALID_EXTERNAL_HANDLE)
    );
    assert_eq!(status(&b, fb), vk::Result::NOT_READY);
    // SAFETY: teardown of idle objects.
    unsafe {
        a.device.queue_wait_idle(a.universal).unwrap();
        a.device.destroy_fence(fa, None);
        a.device.free_command_buffers(a.pool, &[held]);
        a.device.destroy_event(ev, None);
        b.device.destroy_fence(fb, None);
    }
}

/// Device A writes shared memory behind a gate and signals a shared binary
/// semaphore; device B's copy waits on that semaphore, so it must see A's
/// bytes, and it cannot finish before the gate opens.
#[test]
fn shared_semaphore_orders_gpu_work_across_devices() {
    let a = ctx(false);
    let b = ctx(false);
    let sa = exportable_semaphore(&a, SEM_OPAQUE);
    let fd = semaphore_fd(&a, sa, SEM_OPAQUE);
    let sb = b.semaphore();
    import_semaphore(&b, sb, SEM_OPAQUE, fd, vk::SemaphoreImportFlags::empty()).unwrap();

    const SIZE: u64 = 64 << 10;
    let mut export = vk::ExportMemoryAllocateInfo::default()
        .handle_types(vk::ExternalMemoryHandleTypeFlags::DMA_BUF_EXT);
    let info = vk::MemoryAllocateInfo::default()
        .allocation_size(SIZE)
        .memory_type_index(0)
        .push_next(&mut export);
    // SAFETY: valid allocate info.
    let mem_a = unsafe { a.device.allocate_memory(&info, None) }.unwrap();
    let mfd_info = vk::MemoryGetFdInfoKHR::default()
        .memory(mem_a)
        .handle_type(vk::ExternalMemoryHandleTypeFlags::DMA_BUF_EXT);
    let mem_fd = ash::khr::external_memory_fd::Device::new(&a.instance, &a.device);
    // SAFETY: valid info.
    let mfd = unsafe { mem_fd.get_memory_fd(&mfd_info) }.unwrap();
    let mut import = vk::ImportMemoryFdInfoKHR::default()
        .handle_type(vk::ExternalMemoryHandleTypeFlags::DMA_BUF_EXT)
        .fd(mfd);
    let info = vk::MemoryAllocateInfo::default()
        .allocation_size(SIZE)
        .memory_type_index(0)
        .push_next(&mut import);
    // SAFETY: valid allocate info.
    let mem_b = unsafe { b.device.allocate_memory(&info, None) }.unwrap();
    let on = |c: &Ctx, mem| {
        let info = vk::BufferCreateInfo::default()
            .size(SIZE)
            .usage(vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST);
        // SAFETY: valid create info; memory large enough.
        unsafe {
            let buf = c.device.create_buffer(&info, None).unwrap();
            c.device.bind_buffer_memory(buf, mem, 0).unwrap();
            buf
        }
    };
    let (buf_a, buf_b) = (on(&a, mem_a), on(&b, mem_b));

    let data = pattern(17, SIZE as usize);
    let src = a.dense(SIZE);
    src.write(0, &data);
    let gate = a.timeline_semaphore(0);
    let cb_a = a.record(|cb| a.copy(cb, src.buffer, 0, buf_a, 0, SIZE));
    submit(&a, &[cb_a], &[(gate, 1)], &[sa], vk::Fence::null());

    let out = b.dense(SIZE);
    let fb = b.fence();
    let cb_b = b.record(|cb| b.copy(cb, buf_b, 0, out.buffer, 0, SIZE));
    submit(&b, &[cb_b], &[(sb, 0)], &[], fb);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        status(&b, fb),
        vk::Result::NOT_READY,
        "B ran before A's gate opened"
    );

    let signal = vk::SemaphoreSignalInfo::default().semaphore(gate).value(1);
    // SAFETY: a timeline semaphore of A.
    unsafe { a.timeline.signal_semaphore(&signal) }.unwrap();
    wait(&b, fb);
    assert!(out.read(0, SIZE as usize) == data, "B's copy saw A's bytes");
    // SAFETY: teardown after both queues are idle.
    unsafe {
        a.device.queue_wait_idle(a.universal).unwrap();
        a.device.free_command_buffers(a.pool, &[cb_a]);
        b.device.free_command_buffers(b.pool, &[cb_b]);
        a.device.destroy_buffer(buf_a, None);
        b.device.destroy_buffer(buf_b, None);
        a.device.free_memory(mem_a, None);
        b.device.free_memory(mem_b, None);
        a.device.destroy_semaphore(sa, None);
        a.device.destroy_semaphore(gate, None);
        b.device.destroy_semaphore(sb, None);
        b.device.destroy_fence(fb, None);
    }
}

/// A sync_file exported from a binary semaphore's pending signal, imported
/// temporarily into a counting semaphore of another device: B's next wait
/// waits for A's work, the wait after that needs a signal again.
#[test]
fn sync_fd_semaphore_payload_moves_to_a_counting_semaphore() {
    let a = ctx(false);
    let b = ctx(false);
    let sa = exportable_semaphore(&a, SEM_SYNC);
    let ev = event(&a);
    let held = gate(&a, ev);
    submit(&a, &[held], &[], &[sa], vk::Fence::null());
    let fd = semaphore_fd(&a, sa, SEM_SYNC);
    assert!(fd >= 0 && !poll_in(fd, 0));

    let sb = b.semaphore();
    // B's semaphore has counted signals of its own before the import.
    submit(&b, &[], &[], &[sb], vk::Fence::null());
    submit(&b, &[], &[(sb, 0)], &[], vk::Fence::null());
    import_semaphore(&b, sb, SEM_SYNC, fd, vk::SemaphoreImportFlags::TEMPORARY).unwrap();
    let fb = b.fence();
    submit(&b, &[], &[(sb, 0)], &[], fb);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        status(&b, fb),
        vk::Result::NOT_READY,
        "B's wait ran ahead of A"
    );
    // SAFETY: an event of A.
    unsafe { a.device.set_event(ev) }.unwrap();
    wait(&b, fb);

    // Bad handle types are refused: SYNC_FD from a timeline semaphore.
    let timeline = a.timeline_semaphore(0);
    let tl_info = vk::SemaphoreGetFdInfoKHR::default()
        .semaphore(timeline)
        .handle_type(SEM_SYNC);
    // SAFETY: valid info naming a live semaphore.
    let r = unsafe { sem_api(&a).get_semaphore_fd(&tl_info) };
    assert_eq!(r, Err(vk::Result::ERROR_INVALID_EXTERNAL_HANDLE));
    // SAFETY: teardown after both queues are idle.
    unsafe {
        a.device.queue_wait_idle(a.universal).unwrap();
        b.device.queue_wait_idle(b.universal).unwrap();
        a.device.destroy_semaphore(sa, None);
        a.device.free_command_buffers(a.pool, &[held]);
        a.device.destroy_event(ev, None);
        a.device.destroy_semaphore(timeline, None);
        b.device.destroy_semaphore(sb, None);
        b.device.destroy_fence(fb, None);
    }
}

#[test]
fn external_sync_properties() {
    let c = ctx(false);
    let fence = |ty| {
        let info = vk::PhysicalDeviceExternalFenceInfo::default().handle_type(ty);
        let mut out = vk::ExternalFenceProperties::default();
        // SAFETY: valid query.
        unsafe {
            c.instance
                .get_physical_device_external_fence_properties(c.pd, &info, &mut out)
        };
        out.external_fence_features
    };
    let both =
        vk::ExternalFenceFeatureFlags::EXPORTABLE | vk::ExternalFenceFeatureFlags::IMPORTABLE;
    assert_eq!(fence(OPAQUE), both);
    assert_eq!(fence(SYNC), both);
    assert!(fence(vk::ExternalFenceHandleTypeFlags::OPAQUE_WIN32).is_empty());
    let sem = |ty, timeline: bool| {
        let mut t = vk::SemaphoreTypeCreateInfo::default().semaphore_type(if timeline {
            vk::SemaphoreType::TIMELINE
        } else {
            vk::SemaphoreType::BINARY
        });
        let info = vk::PhysicalDeviceExternalSemaphoreInfo::default()
            .handle_type(ty)
            .push_next(&mut t);
        let mut out = vk::ExternalSemaphoreProperties::default();
        // SAFETY: valid query.
        unsafe {
            c.instance
                .get_physical_device_external_semaphore_properties(c.pd, &info, &mut out)
        };
        out.external_semaphore_features
    };
    assert!(!sem(SEM_OPAQUE, false).is_empty());
    assert!(!sem(SEM_SYNC, false).is_empty());
    assert!(!sem(SEM_OPAQUE, true).is_empty());
    assert!(sem(SEM_SYNC, true).is_empty(), "no sync_file of a timeline");
}
