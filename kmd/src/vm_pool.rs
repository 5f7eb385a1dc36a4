//! What the kernel side keeps per open file: its VMs and its sparse dummy.
//!
//! The first seed patch gives every open file its own 2 MiB dummy BO:
//! sparse writes really land in it (Mali cannot discard them), so a dummy
//! shared between files would leak data from one process to another. Each
//! VM takes its own reference, because a VM can outlive the file (a group
//! still running on it); the dummy is freed when the file and the last VM
//! are gone.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::bo::{Backing, Bo, BoRef};
use crate::hw::{Hardware, SZ_2M};
use crate::pgtable::SparseLayout;
use crate::shim::{try_push, Lock, Shared};
use crate::uapi::{drm_panthor_vm_create, DRM_PANTHOR_BO_NO_MMAP};
use crate::vm::{user_va_range, Vm};
use crate::Errno;

/// `PANTHOR_MAX_VMS_PER_FILE`.
pub const MAX_VMS_PER_FILE: u32 = 32;

/// A VM shared between its file and the work that runs on it.
pub type VmRef = Shared<Lock<Vm>>;

/// The VMs of one open file, by id (1..=32).
pub struct VmPool {
    hw: Arc<dyn Hardware>,
    va_bits: u32,
    task_size: u64,
    layout: SparseLayout,
    dummy: BoRef,
    vms: Vec<(u32, VmRef)>,
}

impl VmPool {
    /// Opens the pool: allocates the file's dummy BO.
    pub fn new(
        hw: Arc<dyn Hardware>,
        va_bits: u32,
        task_size: u64,
        layout: SparseLayout,
    ) -> Result<VmPool, Errno> {
        let backing = Backing::alloc(&hw, SZ_2M)?;
        let dummy = Shared::try_new(Bo {
            backing,
            flags: DRM_PANTHOR_BO_NO_MMAP,
            exclusive_vm: None,
        })?;
        Ok(VmPool {
            hw,
            va_bits,
            task_size,
            layout,
            dummy,
            vms: Vec::new(),
        })
    }

    pub fn dummy(&self) -> &BoRef {
        &self.dummy
    }

    /// VM_CREATE: fills `id` and `user_va_range`.
    pub fn create(&mut self, args: &mut drm_panthor_vm_create) -> Result<(), Errno> {
        let range = user_va_range(args, self.va_bits, self.task_size)?;
        let id = (1..=MAX_VMS_PER_FILE)
            .find(|id| self.vms.iter().all(|(used, _)| used != id))
            .ok_or(Errno::EBUSY)?;
        self.vms.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let vm = Vm::new(
            self.hw.clone(),
            self.va_bits,
            range,
            self.dummy.clone(),
            self.layout,
        )?;
        let vm = Shared::try_new(Lock::new(vm))?;
        try_push(&mut self.vms, (id, vm))?;
        args.id = id;
        args.user_va_range = range;
        Ok(())
    }

    /// The VM with this id (a new reference).
    pub fn get(&self, id: u32) -> Option<VmRef> {
        self.vms
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, vm)| vm.clone())
    }

    /// VM_DESTROY: the id is gone at once and every user mapping with it
    /// (as `panthor_vm_destroy` unmaps the range), so work still running on
    /// the VM faults instead of writing to BOs; the VM itself lives on while
    /// referenced.
    pub fn destroy(&mut self, id: u32) -> Result<(), Errno> {
        let i = self
            .vms
            .iter()
            .position(|(i, _)| *i == id)
            .ok_or(Errno::EINVAL)?;
        let (_, vm) = self.vms.swap_remove(i);
        let mut vm = vm.lock();
        let size = vm.user_va_range();
        if let Err(e) = vm.bind(&[crate::vm::BindOp::Unmap { va: 0, size }]) {
            kwarn!("VM_DESTROY: unmapping the user range failed: {:?}", e.errno);
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.vms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vms.is_empty()
    }
}
