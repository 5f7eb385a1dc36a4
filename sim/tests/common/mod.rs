//! Helpers the in-process device's integration tests share.

use panthor_uapi::device::*;
use panthor_uapi::uapi::*;

/// A group of `queues` 4 KiB-ring queues on VM `vm_id`, using every core
/// the GPU reports.
pub fn group_on(f: &dyn PanthorFile, vm_id: u32, queues: usize) -> u32 {
    let info = f.gpu_info().unwrap();
    let queues = vec![
        drm_panthor_queue_create {
            ringbuf_size: 4096,
            ..Default::default()
        };
        queues
    ];
    f.group_create(&GroupCreate {
        queues: &queues,
        max_compute_cores: 1,
        max_fragment_cores: 1,
        max_tiler_cores: 1,
        compute_core_mask: info.shader_present,
        fragment_core_mask: info.shader_present,
        tiler_core_mask: info.tiler_present,
        vm_id,
        ..Default::default()
    })
    .unwrap()
}
