//! The suite's cases, one module per area. [`all`] is the registry: the
//! order here is the order of the run and of the results table.

use crate::Case;

mod basics;
mod bind_async;
mod errnos;
mod faults;
mod memory;
mod sharing;
mod threads;
mod timelines;
mod vpanthor;

macro_rules! case {
    ($module:ident :: $name:ident, $rule:expr) => {
        Case {
            name: stringify!($name),
            rule: $rule,
            run: $module::$name,
        }
    };
}

pub fn all() -> Vec<Case> {
    vec![
        case!(
            basics::version_is_panthor_1_9,
            "DRM_IOCTL_VERSION names panthor 1.9+"
        ),
        case!(
            basics::dev_query_sizes_and_buffers,
            "DEV_QUERY sizes, partial and oversize buffers"
        ),
        case!(
            basics::timestamp_query_honours_flags,
            "TIMESTAMP_INFO flags select what is sampled"
        ),
        case!(
            basics::store_state_timestamp_is_the_query_clock,
            "STORE_STATE timestamps read the TIMESTAMP_INFO clock"
        ),
        case!(
            basics::bo_create_rounds_zeroes_and_maps,
            "BO_CREATE rounds and zeroes; mmap and GEM_CLOSE"
        ),
        case!(
            basics::vm_create_get_state_destroy,
            "VM_CREATE/GET_STATE/DESTROY"
        ),
        case!(
            basics::vm_create_user_va_range_is_the_kernel_split,
            "VM_CREATE's user range is the kernel's split"
        ),
        case!(
            basics::vm_bind_sync_map_and_unmap,
            "synchronous MAP/UNMAP as the GPU sees them"
        ),
        case!(
            basics::group_create_submit_destroy,
            "GROUP_CREATE/SUBMIT/GET_STATE/DESTROY"
        ),
        case!(
            basics::more_jobs_than_the_ring_holds,
            "100 jobs through a 4 KiB ring, in order"
        ),
        case!(
            basics::syncobj_binary_ops,
            "binary syncobj create/signal/reset/wait/destroy"
        ),
        case!(
            basics::syncobj_timeline_ops,
            "timeline signal/query/wait/transfer"
        ),
        case!(
            errnos::dev_query_refuses_buffers_below_minimum,
            "DEV_QUERY below the minimum size: EINVAL"
        ),
        case!(
            errnos::vm_create_and_destroy_errnos,
            "VM_CREATE/DESTROY/GET_STATE refusals"
        ),
        case!(
            errnos::vm_ids_run_out_with_ebusy,
            "32 VMs per file, then EBUSY"
        ),
        case!(
            errnos::bo_errnos,
            "BO_CREATE/MMAP_OFFSET/GEM_CLOSE/mmap refusals"
        ),
        case!(
            errnos::no_mmap_bos_cannot_be_cpu_mapped,
            "NO_MMAP BOs: BO_MMAP_OFFSET is EPERM"
        ),
        case!(
            errnos::mmap_must_start_at_a_bo_offset,
            "mmap starts exactly at a BO's offset"
        ),
        case!(
            errnos::mmap_needs_a_handle_in_this_file,
            "mmap of a BO without a handle here: EACCES"
        ),
        case!(
            errnos::vm_bind_errnos_change_nothing,
            "VM_BIND refusals change no mapping"
        ),
        case!(
            errnos::sync_bind_reports_the_ops_it_applied,
            "a failed sync bind applied exactly ops_done ops"
        ),
        case!(
            errnos::vm_bind_sparse_rules,
            "MAP_SPARSE needs NOEXEC, handle 0, offset 0"
        ),
        case!(
            errnos::vm_bind_sync_op_rules,
            "VM_BIND sync ops and SYNC_ONLY rules"
        ),
        case!(
            errnos::syncobj_errnos,
            "syncobj ioctl refusals change nothing"
        ),
        case!(
            errnos::syncobj_wait_times_out_with_etime,
            "waits on pending fences end in ETIME"
        ),
        case!(
            errnos::group_create_errnos,
            "GROUP_CREATE refusals, EACCES for HIGH"
        ),
        case!(
            errnos::group_submit_errnos,
            "GROUP_SUBMIT refusals queue nothing"
        ),
        case!(
            bind_async::async_bind_waits_for_its_syncobj,
            "async VM_BIND waits for its WAIT syncobjs"
        ),
        case!(
            bind_async::async_binds_on_a_vm_run_in_order,
            "async binds of one VM run in order"
        ),
        case!(
            bind_async::async_bind_ops_chain_within_one_call,
            "ops of one async bind chain through points"
        ),
        case!(
            timelines::timeline_points_signalled_out_of_order,
            "a point is reached when all below it are"
        ),
        case!(
            timelines::timeline_wait_for_submit_and_available,
            "WAIT_FOR_SUBMIT and WAIT_AVAILABLE"
        ),
        case!(
            timelines::timeline_transfer_between_binary_and_timeline,
            "TRANSFER moves pending fences"
        ),
        case!(
            timelines::group_submit_signals_and_waits_timeline_points,
            "GROUP_SUBMIT signals and waits points"
        ),
        case!(
            faults::unmapped_read_is_fatal_to_the_group,
            "MMU fault: FATAL_FAULT, fence signals, others run"
        ),
        case!(
            faults::invalid_instruction_is_fatal_but_vm_stays_usable,
            "CS fault: FATAL_FAULT, VM usable"
        ),
        case!(
            faults::mmu_fault_leaves_the_vm_usable,
            "MMU fault does not make the VM unusable"
        ),
        case!(
            faults::vm_destroy_unmaps_everything,
            "VM_DESTROY removes every mapping at once"
        ),
        case!(
            faults::readonly_mapping_faults_on_gpu_write,
            "GPU write to a READONLY mapping faults"
        ),
        case!(
            faults::destroying_a_group_completes_its_jobs,
            "GROUP_DESTROY/close complete jobs in flight"
        ),
        case!(
            memory::gpu_copies_through_4k_2m_and_sparse_mappings,
            "GPU bytes land where the binds say"
        ),
        case!(
            memory::sparse_range_aliases_every_2mib,
            "sparse ranges alias the dummy every 2 MiB"
        ),
        case!(
            memory::sparse_dummy_is_private_to_each_file,
            "each file has its own sparse dummy"
        ),
        case!(
            memory::partial_unmap_splits_a_huge_mapping,
            "partial unmaps of 2 MiB blocks keep the rest"
        ),
        case!(
            memory::bo_bound_inside_a_sparse_range,
            "a BO bound inside a sparse range"
        ),
        case!(
            sharing::prime_export_import_shares_the_bo,
            "PRIME export/import shares the BO"
        ),
        case!(
            sharing::syncobj_fds_cross_files,
            "syncobj fds and sync_files cross files"
        ),
        case!(
            threads::threads_submit_and_wait_concurrently,
            "4 threads x 50 submits on 2 files"
        ),
        case!(
            threads::binds_race_gpu_work_on_one_vm,
            "binds and GPU copies race on one VM"
        ),
        case!(
            vpanthor::vm_access_walks_the_page_tables,
            "vpanthor VM_ACCESS: BO bytes, sparse aliases, holes"
        ),
    ]
}
