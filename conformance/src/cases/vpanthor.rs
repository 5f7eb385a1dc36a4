//! The virtual kernel device's own ioctl: `/dev/vpanthor` (kmd/module, kmd's
//! core inside a real Linux kernel, no GPU) has no groups to run CS streams,
//! so what the GPU would see is checked with VM_ACCESS, which reads and
//! writes through a VM's page tables with the kernel side's software walker.
//! Skipped on every other device.

use panthor_uapi::real::RealFile;
use panthor_uapi::uapi::vpanthor::*;
use panthor_uapi::Errno;

use crate::check::{expect_errno, CaseError, Check, R};
use crate::fixture::*;
use crate::{ensure, ensure_eq, Opener};

const SZ_2M: u64 = 2 << 20;
const BO_VA: u64 = 0x0100_0000;
const SPARSE_VA: u64 = 0x4000_0000;

fn vpanthor_file(o: &dyn Opener) -> R<RealFile> {
    let Some(f) = o.open_real() else {
        return Err(CaseError::skip(
            "VM_ACCESS is /dev/vpanthor's; this device is in process",
        ));
    };
    let f = f.map_err(CaseError::fail)?;
    if !f.drm_version().is_virtual_kernel_device() {
        return Err(CaseError::skip(format!(
            "VM_ACCESS is /dev/vpanthor's; this device is {}",
            f.drm_version().name
        )));
    }
    Ok(f)
}

/// VM_ACCESS (kmd/module/ioctl.rs) over synchronous VM_BIND: a mapped BO's
/// bytes read back through the VM and a write through the VM lands in the
/// BO (seen through its CPU mapping); a sparse range maps the file's dummy
/// cyclically, so a write at one 2 MiB alias reads back at another and both
/// translate to the same physical address with SPARSE and NOEXEC set;
/// unmapped VAs, and VAs after UNMAP, are ENXIO.
pub fn vm_access_walks_the_page_tables(o: &dyn Opener) -> R {
    let f = vpanthor_file(o)?;
    let data = pattern(9, 0x4000);
    let bo = Bo::with(&f, 0x4000, &data)?;
    let vm = vm_create(&f)?;
    map(&f, vm, &bo, 0, BO_VA, 0x4000)?;
    bind(&f, vm, op_sparse(SPARSE_VA, 4 * SZ_2M), "VM_BIND sparse")?;

    let mut got = vec![0u8; data.len()];
    f.vpanthor_vm_access(vm, BO_VA, &mut got, false)
        .ctx("VM_ACCESS read of the BO mapping")?;
    ensure!(
        got == data,
        "the BO's bytes through the VM differ from its CPU view"
    );

    // Crosses a page boundary inside the BO.
    let mut msg = *b"written through the page tables";
    f.vpanthor_vm_access(vm, BO_VA + 0x1ff0, &mut msg, true)
        .ctx("VM_ACCESS write")?;
    ensure_eq!(
        bo.read(0x1ff0, msg.len())?,
        msg.to_vec(),
        "BO bytes after a write through the VM"
    );
    let t = f
        .vpanthor_translate(vm, BO_VA + 0x2000)
        .ctx("VM_ACCESS translate")?;
    ensure_eq!(
        (t.level, t.flags & VM_ACCESS_SPARSE),
        (3, 0),
        "a BO page's leaf"
    );

    f.vpanthor_vm_access(vm, SPARSE_VA + 0x1230, &mut msg, true)
        .ctx("VM_ACCESS write to a sparse range")?;
    let mut alias = vec![0u8; msg.len()];
    f.vpanthor_vm_access(vm, SPARSE_VA + 3 * SZ_2M + 0x1230, &mut alias, false)
        .ctx("VM_ACCESS read of a 2 MiB alias")?;
    ensure_eq!(alias, msg.to_vec(), "the sparse dummy seen 6 MiB further");
    let a = f
        .vpanthor_translate(vm, SPARSE_VA + 0x1230)
        .ctx("translate sparse")?;
    let b = f
        .vpanthor_translate(vm, SPARSE_VA + SZ_2M + 0x1230)
        .ctx("translate alias")?;
    ensure_eq!(a.pa, b.pa, "physical address of two 2 MiB aliases");
    ensure_eq!(
        a.flags & (VM_ACCESS_SPARSE | VM_ACCESS_NOEXEC),
        VM_ACCESS_SPARSE | VM_ACCESS_NOEXEC,
        "sparse leaf flags"
    );

    let mut one = [0u8; 8];
    expect_errno(
        f.vpanthor_vm_access(vm, BO_VA + 0x4000, &mut one, false),
        Errno::ENXIO,
        "VM_ACCESS past the BO mapping",
    )?;
    bind(&f, vm, op_unmap(BO_VA, 0x4000), "VM_BIND unmap")?;
    expect_errno(
        f.vpanthor_vm_access(vm, BO_VA, &mut one, false),
        Errno::ENXIO,
        "VM_ACCESS after UNMAP",
    )?;
    expect_errno(
        f.vpanthor_vm_access(vm + 100, BO_VA, &mut one, false),
        Errno::EINVAL,
        "VM_ACCESS on an unknown VM",
    )
}
