//! Query pools through the real loader: timestamps written by the GPU
//! (`STORE_STATE` on the virtual Mali), reset on the GPU and on the host,
//! results read on the host and copied by the GPU with every flag
//! combination that changes what lands where.

mod common;

use ash::vk;
use common::*;

fn timestamp_pool(c: &Ctx, count: u32) -> vk::QueryPool {
    let info = vk::QueryPoolCreateInfo::default()
        .query_type(vk::QueryType::TIMESTAMP)
        .query_count(count);
    // SAFETY: valid create info.
    unsafe { c.device.create_query_pool(&info, None) }.expect("vkCreateQueryPool")
}

/// Runs a command buffer that takes one timestamp; returns it.
fn one_gpu_timestamp(c: &Ctx) -> u64 {
    let pool = timestamp_pool(c, 1);
    c.run(|cb| {
        // SAFETY: recording valid commands.
        unsafe {
            c.device.cmd_reset_query_pool(cb, pool, 0, 1);
            c.device
                .cmd_write_timestamp(cb, vk::PipelineStageFlags::ALL_COMMANDS, pool, 0);
        }
    });
    let mut ts = [0u64; 1];
    // SAFETY: valid handles; the command buffer has completed.
    unsafe {
        c.device
            .get_query_pool_results(pool, 0, &mut ts, vk::QueryResultFlags::TYPE_64)
            .expect("the timestamp is available");
        c.device.destroy_query_pool(pool, None);
    }
    ts[0]
}

fn u64s(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
        .collect()
}

fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
        .collect()
}

#[test]
fn queues_report_64_bit_timestamps_at_the_kernel_frequency() {
    let c = Ctx::new();
    // SAFETY: valid physical device.
    let (families, props) = unsafe {
        (
            c.instance.get_physical_device_queue_family_properties(c.pd),
            c.instance.get_physical_device_properties(c.pd),
        )
    };
    assert_eq!(families[0].timestamp_valid_bits, 64);
    assert_eq!(
        families[1].timestamp_valid_bits, 0,
        "the sparse-only family runs no commands"
    );
    // panthor's TIMESTAMP_INFO on the virtual Mali: 24 MHz.
    let period = props.limits.timestamp_period;
    assert!(
        (period - 1e9 / 24e6).abs() < 1e-3,
        "timestampPeriod {period}"
    );
}

/// Two timestamps around a 4 MiB copy: both available, ordered, and the
/// interval covers the copy (the second is sampled after it finished).
#[test]
fn timestamps_bracket_gpu_work() {
    let c = Ctx::new();
    let pool = timestamp_pool(&c, 2);
    let (src, dst) = (c.dense(4 << 20), c.dense(4 << 20));
    // SAFETY: valid handles.
    let host_before = unsafe {
        c.device
            .get_query_pool_results::<u64>(pool, 0, &mut [0; 2], vk::QueryResultFlags::TYPE_64)
    };
    assert_eq!(
        host_before,
        Err(vk::Result::NOT_READY),
        "fresh queries are unavailable"
    );
    c.run(|cb| {
        // SAFETY: recording valid commands.
        unsafe {
            c.device.cmd_reset_query_pool(cb, pool, 0, 2);
            c.device
                .cmd_write_timestamp(cb, vk::PipelineStageFlags::TOP_OF_PIPE, pool, 0);
            c.copy(cb, src.buffer, 0, dst.buffer, 0, 4 << 20);
            c.device
                .cmd_write_timestamp(cb, vk::PipelineStageFlags::BOTTOM_OF_PIPE, pool, 1);
        }
    });
    let mut ts = [0u64; 2];
    // SAFETY: valid handles; the work has completed.
    unsafe {
        c.device
            .get_query_pool_results(pool, 0, &mut ts, vk::QueryResultFlags::TYPE_64)
            .expect("both available");
    }
    assert!(ts[0] > 0 && ts[1] > ts[0], "timestamps {ts:?}");
    // SAFETY: valid handle.
    unsafe { c.device.destroy_query_pool(pool, None) };
}

/// A timestamp lies between two host readings of the same clock
/// (`vkGetQueryPoolResults` before submission and after the fence).
#[test]
fn timestamps_follow_the_kernels_counter() {
    let c = Ctx::new();
    // The device's counter ticks at 24 MHz from CLOCK_MONOTONIC zero.
    let now = || (monotonic_ns(libc::CLOCK_MONOTONIC) as u128 * 24 / 1000) as u64;
    let before = now();
    let ts = one_gpu_timestamp(&c);
    let after = now();
    assert!(before <= ts && ts <= after, "{before} <= {ts} <= {after}");
}

/// vkCmdCopyQueryPoolResults: 64- and 32-bit results with availability;
/// without WAIT an unavailable result leaves the destination alone but
/// still writes availability 0; PARTIAL writes 0 for it.
#[test]
fn copy_results_follow_the_flags() {
    let c = Ctx::new();
    let pool = timestamp_pool(&c, 3);
    let out = c.dense(4096);
    out.write(0, &[0xaa; 4096]);
    c.run(|cb| {
        // SAFETY: recording valid commands.
        unsafe {
            c.device.cmd_reset_query_pool(cb, pool, 0, 3);
            c.device
                .cmd_write_timestamp(cb, vk::PipelineStageFlags::TRANSFER, pool, 0);
            c.device
                .cmd_write_timestamp(cb, vk::PipelineStageFlags::TRANSFER, pool, 1);
            // Query 2 stays unavailable.
            let f = vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WITH_AVAILABILITY;
            c.device
                .cmd_copy_query_pool_results(cb, pool, 0, 3, out.buffer, 0, 32, f);
            c.device.cmd_copy_query_pool_results(
                cb,
                pool,
                0,
                3,
                out.buffer,
                1024,
                8,
                vk::QueryResultFlags::WITH_AVAILABILITY,
            );
            c.device.cmd_copy_query_pool_results(
                cb,
                pool,
                2,
                1,
                out.buffer,
                2048,
                16,
                vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::PARTIAL,
            );
        }
    });
    let mut host = [0u64; 2];
    // SAFETY: valid handles.
    unsafe {
        c.device
            .get_query_pool_results(pool, 0, &mut host, vk::QueryResultFlags::TYPE_64)
            .unwrap();
    }
    let wide = u64s(&out.read(0, 96));
    assert_eq!(&wide[0..2], &[host[0], 1]);
    assert_eq!(&wide[4..6], &[host[1], 1]);
    assert_eq!(
        &wide[8..10],
        &[0xaaaa_aaaa_aaaa_aaaa, 0],
        "unavailable: result untouched, availability 0"
    );
    let narrow = u32s(&out.read(1024, 24));
    assert_eq!(
        narrow[0], host[0] as u32,
        "32-bit results keep the low word"
    );
    assert_eq!(narrow[1], 1);
    assert_eq!(narrow[2], host[1] as u32);
    assert_eq!(narrow[3], 1);
    assert_eq!(&narrow[4..6], &[0xaaaa_aaaa, 0]);
    assert_eq!(
        u64s(&out.read(2048, 8))[0],
        0,
        "PARTIAL writes the (zero) intermediate result"
    );
    // SAFETY: valid handle.
    unsafe { c.device.destroy_query_pool(pool, None) };
}

/// The host side: NOT_READY and availability for unwritten queries,
/// PARTIAL, 32-bit results, and vkResetQueryPool (host query reset).
#[test]
fn host_results_and_host_reset() {
    let c = Ctx::new();
    let pool = timestamp_pool(&c, 2);
    c.run(|cb| {
        // SAFETY: recording valid commands.
        unsafe {
            c.device.cmd_reset_query_pool(cb, pool, 0, 2);
            c.device
                .cmd_write_timestamp(cb, vk::PipelineStageFlags::TRANSFER, pool, 0);
        }
    });
    let mut pairs = [[7u64; 2]; 2];
    // SAFETY: valid handles; the slice holds (result, availability) pairs.
    let r = unsafe {
        c.device.get_query_pool_results(
            pool,
            0,
            &mut pairs,
            vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WITH_AVAILABILITY,
        )
    };
    assert_eq!(r, Err(vk::Result::NOT_READY));
    assert!(pairs[0][0] > 0 && pairs[0][1] == 1, "{pairs:?}");
    assert_eq!(
        pairs[1],
        [7, 0],
        "unavailable: availability 0, result untouched"
    );
    let mut narrow = [[9u32; 2]; 2];
    // SAFETY: as above, 32-bit pairs.
    let r = unsafe {
        c.device.get_query_pool_results(
            pool,
            0,
            &mut narrow,
            vk::QueryResultFlags::WITH_AVAILABILITY | vk::QueryResultFlags::PARTIAL,
        )
    };
    assert_eq!(r, Err(vk::Result::NOT_READY));
    assert_eq!(narrow[0], [pairs[0][0] as u32, 1]);
    assert_eq!(narrow[1], [0, 0], "PARTIAL: the intermediate result 0");

    let host_reset = ash::ext::host_query_reset::Device::new(&c.instance, &c.device);
    // SAFETY: valid handles; no GPU work uses the pool now.
    unsafe { (host_reset.fp().reset_query_pool_ext)(c.device.handle(), pool, 0, 2) };
    let mut one = [0u64; 1];
    // SAFETY: valid handles.
    let r = unsafe {
        c.device
            .get_query_pool_results(pool, 0, &mut one, vk::QueryResultFlags::TYPE_64)
    };
    assert_eq!(
        r,
        Err(vk::Result::NOT_READY),
        "host reset made it unavailable"
    );
    // SAFETY: valid handle.
    unsafe { c.device.destroy_query_pool(pool, None) };
}

/// A copy with WAIT stalls its stream until another queue writes the
/// timestamp: the copy is submitted first, held back by nothing but the
/// query's availability.
#[test]
fn copy_with_wait_stalls_until_the_query_is_written() {
    let c = Ctx::new();
    let pool = timestamp_pool(&c, 1);
    let host_reset = ash::ext::host_query_reset::Device::new(&c.instance, &c.device);
    // SAFETY: valid handles; the host resets before any GPU use.
    unsafe { (host_reset.fp().reset_query_pool_ext)(c.device.handle(), pool, 0, 1) };
    let out = c.dense(4096);
    out.write(0, &[0; 16]);
    let copy = c.record(|cb| {
        // SAFETY: recording valid commands.
        unsafe {
            c.device.cmd_copy_query_pool_results(
                cb,
                pool,
                0,
                1,
                out.buffer,
                0,
                16,
                vk::QueryResultFlags::TYPE_64
                    | vk::QueryResultFlags::WAIT
                    | vk::QueryResultFlags::WITH_AVAILABILITY,
            )
        }
    });
    let fence = c.fence();
    let cbs = [copy];
    // SAFETY: valid submission.
    unsafe {
        c.device
            .queue_submit(
                c.universal2,
                &[vk::SubmitInfo::default().command_buffers(&cbs)],
                fence,
            )
            .unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    // SAFETY: valid handle.
    let status = unsafe { c.device.get_fence_status(fence) };
    assert_eq!(status, Ok(false), "the copy waits for the query");
    assert_eq!(u64s(&out.read(0, 16)), [0, 0]);
    c.run(|cb| {
        // SAFETY: recording a valid command.
        unsafe {
            c.device
                .cmd_write_timestamp(cb, vk::PipelineStageFlags::TRANSFER, pool, 0)
        }
    });
    // SAFETY: valid handles.
    unsafe {
        c.device
            .wait_for_fences(&[fence], true, 10_000_000_000)
            .expect("the copy ran once the timestamp landed");
        c.device.destroy_fence(fence, None);
        c.device.free_command_buffers(c.pool, &cbs);
    }
    let got = u64s(&out.read(0, 16));
    assert!(got[0] > 0 && got[1] == 1, "{got:?}");
    // SAFETY: valid handle.
    unsafe { c.device.destroy_query_pool(pool, None) };
}

/// Occlusion pools exist, but nothing can begin one on a transfer queue:
/// the recording fails at vkEndCommandBuffer with a reason.
#[test]
fn occlusion_queries_are_refused_at_record_time() {
    let c = Ctx::new();
    let info = vk::QueryPoolCreateInfo::default()
        .query_type(vk::QueryType::OCCLUSION)
        .query_count(1);
    // SAFETY: valid create info.
    let pool = unsafe { c.device.create_query_pool(&info, None) }.unwrap();
    let alloc = vk::CommandBufferAllocateInfo::default()
        .command_pool(c.pool)
        .command_buffer_count(1);
    // SAFETY: valid recording; the failed buffer is freed.
    unsafe {
        let cb = c.device.allocate_command_buffers(&alloc).unwrap()[0];
        c.device
            .begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
            .unwrap();
        c.device
            .cmd_begin_query(cb, pool, 0, vk::QueryControlFlags::empty());
        assert!(c.device.end_command_buffer(cb).is_err());
        c.device.free_command_buffers(c.pool, &[cb]);
        let stats = vk::QueryPoolCreateInfo::default()
            .query_type(vk::QueryType::PIPELINE_STATISTICS)
            .query_count(1);
        assert!(
            c.device.create_query_pool(&stats, None).is_err(),
            "pipelineStatisticsQuery is false"
        );
        c.device.destroy_query_pool(pool, None);
    }
}

fn monotonic_ns(clock: libc::clockid_t) -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: t is a valid timespec to write.
    unsafe { libc::clock_gettime(clock, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// VK_EXT_calibrated_timestamps: the three domains, host values between
/// host readings around the call, the device value on the same timeline
/// (the virtual Mali's counter runs from CLOCK_MONOTONIC at 24 MHz) within
/// the reported deviation, and a later GPU timestamp after it.
#[test]
fn calibrated_timestamps_line_up_with_host_clocks() {
    let c = Ctx::new();
    let cal_i = ash::ext::calibrated_timestamps::Instance::new(&c.entry, &c.instance);
    let cal_d = ash::ext::calibrated_timestamps::Device::new(&c.instance, &c.device);
    let (domains_fn, get_fn) = (
        cal_i
            .fp()
            .get_physical_device_calibrateable_time_domains_ext,
        cal_d.fp().get_calibrated_timestamps_ext,
    );
    let mut n = 0u32;
    // SAFETY: two-call idiom on a valid physical device.
    let domains = unsafe {
        let r = domains_fn(c.pd, &mut n, std::ptr::null_mut());
        assert_eq!(r, vk::Result::SUCCESS);
        let mut v = vec![vk::TimeDomainEXT::DEVICE; n as usize];
        let r = domains_fn(c.pd, &mut n, v.as_mut_ptr());
        assert_eq!(r, vk::Result::SUCCESS);
        v
    };
    assert_eq!(
        domains,
        [
            vk::TimeDomainEXT::DEVICE,
            vk::TimeDomainEXT::CLOCK_MONOTONIC,
            vk::TimeDomainEXT::CLOCK_MONOTONIC_RAW
        ]
    );
    let infos: Vec<_> = domains
        .iter()
        .map(|&d| vk::CalibratedTimestampInfoEXT::default().time_domain(d))
        .collect();
    let (mut values, mut deviation) = ([0u64; 3], 0u64);
    let (mono0, raw0) = (
        monotonic_ns(libc::CLOCK_MONOTONIC),
        monotonic_ns(libc::CLOCK_MONOTONIC_RAW),
    );
    // SAFETY: valid device, 3 infos, room for 3 values and the deviation.
    let r = unsafe {
        get_fn(
            c.device.handle(),
            3,
            infos.as_ptr(),
            values.as_mut_ptr(),
            &mut deviation,
        )
    };
    let (mono1, raw1) = (
        monotonic_ns(libc::CLOCK_MONOTONIC),
        monotonic_ns(libc::CLOCK_MONOTONIC_RAW),
    );
    assert_eq!(r, vk::Result::SUCCESS);
    let [device, mono, raw] = values;
    assert!(
        (mono0..=mono1).contains(&mono),
        "{mono0} <= {mono} <= {mono1}"
    );
    assert!((raw0..=raw1).contains(&raw), "{raw0} <= {raw} <= {raw1}");
    assert!(
        deviation > 0 && deviation < 50_000_000,
        "deviation {deviation} ns"
    );
    let device_ns = device as u128 * 1000 / 24;
    let gap = (device_ns as i128 - mono as i128).unsigned_abs();
    assert!(
        gap <= deviation as u128,
        "device {device_ns} ns vs monotonic {mono} ns: {gap} ns apart, deviation {deviation}"
    );
    // A GPU timestamp taken afterwards is later on the device timeline.
    let ts = one_gpu_timestamp(&c);
    assert!(
        ts >= device,
        "GPU timestamp {ts} before the calibration {device}"
    );
}
