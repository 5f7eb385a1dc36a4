//! The virtual Mali: simulated hardware for the kernel side to drive.
//!
//! - [`memory`]: physical memory (one memfd), page allocation, CPU views;
//! - [`mmu`]: address-space registers, table walker, TLB, lock region, faults;
//! - [`device`]: [`device::VirtualMali`], memory + MMU as the kernel side's hardware;
//! - [`gpu_as`]: GPU accesses through one address space;
//! - [`gpu_id`]: the identification registers of a Mali-G610;
//! - [`csf`]: the CSF front end (CS interfaces running ring buffers);
//! - [`compute`]: the shader cores `RUN_COMPUTE` starts (SPIR-V programs,
//!   descriptors read as a v10 Mali reads them);
//! - [`texture`]: the texture unit (formats, layouts, filtering, residency);
//! - [`virtual_device`]: the kernel side on this GPU behind the
//!   `PanthorFile` trait: the in-process panthor device;
//! - [`dma_buf`], [`syncobj_fd`], [`sync_file`]: its shareable fds (PRIME
//!   dma-bufs, syncobj fds, pollable sync_files), recognised by inode
//!   through [`fds`];
//! - `cs`: the CSF command-stream instruction set (encoder, decoder,
//!   interpreter), encodings as on real CSF hardware.

pub mod compute;
pub mod cs;
pub mod csf;
pub mod device;
pub mod dma_buf;
pub mod fds;
pub mod gpu_as;
pub mod gpu_id;
pub mod memory;
pub mod mmu;
pub mod sync_file;
pub mod syncobj_fd;
pub mod texture;
pub mod virtual_device;
