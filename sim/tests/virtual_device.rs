//! The in-process panthor device end to end: a CS stream submitted through
//! GROUP_SUBMIT copies through the MMU and signals a syncobj.

use panthor_sim::cs::CsBuilder;
use panthor_sim::virtual_device::{monotonic_ns, VirtualDevice};
use panthor_uapi::device::*;
use panthor_uapi::uapi::*;

mod common;
use common::group_on;

fn bo(file: &dyn PanthorFile, size: u64) -> (u32, CpuMapping) {
    let mut args = drm_panthor_bo_create {
        size,
        ..Default::default()
    };
    file.bo_create(&mut args).unwrap();
    let mut off = drm_panthor_bo_mmap_offset {
        handle: args.handle,
        ..Default::default()
    };
    file.bo_mmap_offset(&mut off).unwrap();
    (args.handle, file.mmap(off.offset, size as usize).unwrap())
}

fn map(file: &dyn PanthorFile, vm: u32, handle: u32, va: u64, size: u64) {
    file.vm_bind(
        vm,
        0,
        &[VmBindOp {
            flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP,
            bo_handle: handle,
            va,
            size,
            ..Default::default()
        }],
    )
    .unwrap();
}

#[test]
fn a_submitted_copy_lands_and_signals_its_syncobj() {
    let dev = VirtualDevice::new(1 << 30).unwrap();
    let file = dev.open().unwrap();
    let mut vm = drm_panthor_vm_create::default();
    file.vm_create(&mut vm).unwrap();

    let (src, src_map) = bo(&file, 1 << 20);
    let (dst, dst_map) = bo(&file, 1 << 20);
    let (code, code_map) = bo(&file, 1 << 16);
    map(&file, vm.id, src, 0x100_0000, 1 << 20);
    map(&file, vm.id, dst, 0x200_0000, 1 << 20);
    map(&file, vm.id, code, 0x300_0000, 1 << 16);
    let pattern: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 + 3) as u8).collect();
    src_map.write(0, &pattern).unwrap();

    let mut b = CsBuilder::new();
    b.copy(0x100_0000, 0x200_0000, 1 << 20);
    let stream = b.finish_bytes().unwrap();
    code_map.write(0, &stream).unwrap();

    let group = group_on(&file, vm.id, 1);
    let syncobj = file.syncobj_create(0).unwrap();
    let signal = [drm_panthor_sync_op {
        flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL,
        handle: syncobj,
        ..Default::default()
    }];
    file.group_submit(
        group,
        0,
        &[QueueSubmit {
            stream_addr: 0x300_0000,
            stream_size: stream.len() as u32,
            syncs: &signal,
            ..Default::default()
        }],
    )
    .unwrap();
    file.syncobj_wait(
        &[syncobj],
        monotonic_ns() + 10_000_000_000,
        SyncobjWaitFlags::empty(),
    )
    .unwrap();
    let mut out = vec![0u8; 1 << 20];
    dst_map.read(0, &mut out).unwrap();
    assert!(out == pattern, "copy did not land");
    let mut state = drm_panthor_group_get_state {
        group_handle: group,
        ..Default::default()
    };
    file.group_get_state(&mut state).unwrap();
    assert_eq!(state.state, 0);
}

#[test]
fn the_kernel_ring_job_decodes_as_panthors_sequence() {
    use panthor_kmd::csf_ring::RingJob;
    use panthor_sim::cs::decode;
    let words = RingJob {
        stream_addr: 0x1234_5000,
        stream_size: 0x180,
        latest_flush: 5,
        sync_addr: 0x8000_0010,
        scratch_reg: 92,
    }
    .encode();
    let text: Vec<String> = words.iter().map(|&w| decode(w).to_string()).collect();
    assert_eq!(text[0], "MOVE32 r94, #0x5");
    assert_eq!(
        text[1],
        "FLUSH_CACHE2.clean_inv_l2.clean_inv_lsc.invalidate_other r94, #0x0, #0"
    );
    assert_eq!(text[2], "MOVE48 d92, #0x12345000");
    assert_eq!(text[3], "MOVE32 r94, #0x180");
    assert_eq!(text[5], "CALL d92, r94");
    assert_eq!(text[6], "MOVE48 d92, #0x80000010");
    assert_eq!(text[9], "SYNC_ADD64.system.propagate [d92], d94, #0x0, #0");
    assert_eq!(text[10], "ERROR_BARRIER");
    assert!(text[11..].iter().all(|t| t == "NOP"));
}
