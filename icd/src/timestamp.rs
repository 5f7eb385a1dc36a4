//! VK_EXT_calibrated_timestamps: the GPU timestamp (the counter
//! `STORE_STATE` writes into query pools) sampled together with a host
//! clock by one `DEV_QUERY(TIMESTAMP_INFO)` with driver 1.8's flags, so an
//! application can place GPU timestamps on its CPU timeline.
//!
//! The kernel samples one CPU clock per query, next to the GPU counter,
//! and says how long the sampling took (`DURATION`). When both host clocks
//! are asked for, the second is read here right after the query and the
//! deviation grows to cover the whole call.

use ash::vk;
use panthor_uapi::device::clock_ns;
use panthor_uapi::uapi::*;

use crate::backend::File;
use crate::device::Device;
use crate::guard::{guard, ErrnoExt, VkResult};
use crate::physical_device::PhysicalDevice;
use crate::{handle, vk_bail};

/// The domains this device calibrates, in the order they are listed.
const DOMAINS: [vk::TimeDomainEXT; 3] = [
    vk::TimeDomainEXT::DEVICE,
    vk::TimeDomainEXT::CLOCK_MONOTONIC,
    vk::TimeDomainEXT::CLOCK_MONOTONIC_RAW,
];

fn host_ns(clock: libc::clockid_t) -> u64 {
    clock_ns(clock).max(0) as u64
}

/// The sampled values, one per asked domain, and the maximum deviation
/// between them in nanoseconds.
/// `tick_ns` is the GPU counter's period.
fn sample(file: &File, tick_ns: f32, domains: &[vk::TimeDomainEXT]) -> VkResult<(Vec<u64>, u64)> {
    if let Some(d) = domains.iter().find(|d| !DOMAINS.contains(d)) {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "time domain {d:?} is not one vkGetPhysicalDeviceCalibrateableTimeDomainsEXT lists"
        );
    }
    let wants = |d| domains.contains(&d);
    let (mono, raw) = (
        wants(vk::TimeDomainEXT::CLOCK_MONOTONIC),
        wants(vk::TimeDomainEXT::CLOCK_MONOTONIC_RAW),
    );
    // The kernel's CPU sample: monotonic when asked for, else raw.
    let kernel_cpu = match (mono, raw) {
        (true, _) => DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC,
        (false, true) => DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC_RAW,
        (false, false) => DRM_PANTHOR_TIMESTAMP_CPU_NONE,
    };
    let flags = DRM_PANTHOR_TIMESTAMP_GPU | DRM_PANTHOR_TIMESTAMP_DURATION | kernel_cpu;
    let start = host_ns(libc::CLOCK_MONOTONIC_RAW);
    let info = file
        .timestamp_sample(flags)
        .vk("DEV_QUERY(TIMESTAMP_INFO) with GPU | CPU | DURATION")?;
    let kernel_ns = info.cpu_timestamp_sec * 1_000_000_000 + info.cpu_timestamp_nsec;
    // Both host clocks: the raw one is read here, after the query.
    let late_raw = (mono && raw).then(|| host_ns(libc::CLOCK_MONOTONIC_RAW));
    let values = domains
        .iter()
        .map(|&d| match d {
            vk::TimeDomainEXT::DEVICE => info.current_timestamp,
            vk::TimeDomainEXT::CLOCK_MONOTONIC_RAW => late_raw.unwrap_or(kernel_ns),
            _ => kernel_ns,
        })
        .collect();
    let span = match late_raw {
        Some(end) => end.saturating_sub(start),
        None => info.duration_nsec as u64,
    };
    // A sample is only as fine as the coarsest clock's tick: the GPU's.
    let tick = tick_ns.ceil() as u64;
    Ok((values, span + tick))
}

pub unsafe extern "system" fn get_calibrateable_time_domains(
    pd: vk::PhysicalDevice,
    count: *mut u32,
    out: *mut vk::TimeDomainEXT,
) -> vk::Result {
    guard("vkGetPhysicalDeviceCalibrateableTimeDomainsEXT", || {
        // SAFETY: the handle is ours (valid usage).
        let pd = unsafe { PhysicalDevice::from_handle(pd) }?;
        let domains: &[vk::TimeDomainEXT] = if pd.calibrated_timestamps() {
            &DOMAINS
        } else {
            &[]
        };
        // SAFETY: count/out follow the two-call idiom.
        Ok(unsafe { handle::write_array(count, out, domains) })
    })
}

pub unsafe extern "system" fn get_calibrated_timestamps(
    device: vk::Device,
    count: u32,
    infos: *const vk::CalibratedTimestampInfoEXT<'_>,
    timestamps: *mut u64,
    max_deviation: *mut u64,
) -> vk::Result {
    guard("vkGetCalibratedTimestampsEXT", || {
        // SAFETY: the device is ours.
        let dev = unsafe { Device::from_handle(device) }?;
        // SAFETY: pTimestampInfos holds timestampCount structs.
        let infos = unsafe { handle::slice(infos, count) };
        let domains: Vec<_> = infos.iter().map(|i| i.time_domain).collect();
        let (values, deviation) = sample(&dev.file, dev.timestamp_period, &domains)?;
        // SAFETY: pTimestamps has room for timestampCount values and
        // pMaxDeviation for one (valid usage).
        unsafe {
            std::ptr::copy_nonoverlapping(values.as_ptr(), timestamps, values.len());
            handle::out(max_deviation, deviation)?;
        }
        Ok(vk::Result::SUCCESS)
    })
}
