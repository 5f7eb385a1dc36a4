//! Sparse buffers: full binding at sizes 2^10..2^24, residency with holes,
//! aliasing, rebinding, and binds into memory sub-allocated at non-zero
//! offsets. Data goes in and out through transfer commands.

use ash::vk;

use crate::case::{Call, CaseResult, Group};
use crate::gpu::{check_ranges, ensure_multiple, pattern, Gpu};
use crate::{ensure, require};

pub fn add(g: &mut Group) {
    let mut binding = g.group("sparse_binding");
    for log2 in 10..=24 {
        binding.case(&format!("buffer_size_2_{log2}"), move |vk| {
            full_binding(&vk.device()?, 1 << log2)
        });
    }
    let mut residency = g.group("sparse_residency");
    for log2 in [16, 18, 20, 22, 24] {
        residency.case(&format!("buffer_size_2_{log2}"), move |vk| {
            partial_residency(&vk.device()?, 1 << log2)
        });
    }
    residency.case("non_resident_strict", |vk| {
        non_resident_strict(&vk.device()?)
    });
    let mut aliased = g.group("sparse_aliased");
    for log2 in [17, 20, 24] {
        aliased.case(&format!("buffer_size_2_{log2}"), move |vk| {
            aliasing(&vk.device()?, 1 << log2)
        });
    }
    let mut rebind = g.group("rebind");
    rebind.case("other_memory", |vk| rebind_other_memory(&vk.device()?));
    rebind.case("unbind_rebind", |vk| unbind_rebind(&vk.device()?));
    let mut offsets = g.group("memory_offset");
    offsets.case("sub_allocated", |vk| sub_allocated(&vk.device()?, false));
    offsets.case("sub_allocated_residency", |vk| {
        sub_allocated(&vk.device()?, true)
    });
}

/// A sparse buffer with its requirements, checked against the spec's rules
/// for sparse buffers.
fn sparse_buffer(
    gpu: &Gpu,
    size: u64,
    flags: vk::BufferCreateFlags,
) -> Result<(vk::Buffer, vk::MemoryRequirements), crate::Stop> {
    let buffer = gpu.sparse_buffer(size, flags)?;
    let reqs = gpu.buffer_requirements(buffer);
    ensure!(
        reqs.size >= size,
        "memory requirements size {} < buffer size {size}",
        reqs.size
    );
    ensure!(
        reqs.alignment.is_power_of_two(),
        "alignment {} is not a power of two",
        reqs.alignment
    );
    ensure_multiple(reqs.size, reqs.alignment, "sparse buffer requirements size")?;
    ensure!(reqs.memory_type_bits != 0, "memoryTypeBits is 0");
    Ok((buffer, reqs))
}

fn bind(
    memory: vk::DeviceMemory,
    resource_offset: u64,
    size: u64,
    memory_offset: u64,
) -> vk::SparseMemoryBind {
    vk::SparseMemoryBind {
        resource_offset,
        size,
        memory,
        memory_offset,
        flags: vk::SparseMemoryBindFlags::empty(),
    }
}

/// Binds `binds` to `buffer` on the universal queue and waits.
fn bind_buffer(gpu: &Gpu, buffer: vk::Buffer, binds: &[vk::SparseMemoryBind]) -> CaseResult {
    let info = [vk::SparseBufferMemoryBindInfo::default()
        .buffer(buffer)
        .binds(binds)];
    let bind = vk::BindSparseInfo::default().buffer_binds(&info);
    gpu.bind_sparse_and_wait(gpu.universal, &[bind])
}

fn memory(
    gpu: &Gpu,
    reqs: &vk::MemoryRequirements,
    size: u64,
) -> Result<vk::DeviceMemory, crate::Stop> {
    gpu.memory_for(reqs, size, vk::MemoryPropertyFlags::DEVICE_LOCAL)
}

/// The whole buffer bound to one allocation; bytes in and out.
fn full_binding(gpu: &Gpu, size: u64) -> CaseResult {
    let (buffer, reqs) = sparse_buffer(gpu, size, vk::BufferCreateFlags::empty())?;
    let mem = memory(gpu, &reqs, reqs.size)?;
    bind_buffer(gpu, buffer, &[bind(mem, 0, reqs.size, 0)])?;
    let data = pattern(size, size as usize);
    gpu.upload(buffer, &data, &[(0, size)])?;
    let got = gpu.download(buffer, size, &[(0, size)])?;
    check_ranges(&got, &data, &[(0, size)], "read back")
}

/// Every other block bound (each to its own place in one allocation, in
/// reverse order so the driver cannot rely on identity placement); data
/// written everywhere, read back where bound.
fn partial_residency(gpu: &Gpu, size: u64) -> CaseResult {
    require!(
        gpu.vk.features.sparse_residency_buffer == vk::TRUE,
        "sparseResidencyBuffer is false"
    );
    let (buffer, reqs) = sparse_buffer(gpu, size, vk::BufferCreateFlags::SPARSE_RESIDENCY)?;
    let block = reqs.alignment;
    let blocks = reqs.size / block;
    let bound: Vec<u64> = (0..blocks).filter(|b| b % 2 == 0).collect();
    let mem = memory(gpu, &reqs, bound.len() as u64 * block)?;
    let binds: Vec<_> = bound
        .iter()
        .enumerate()
        .map(|(i, &b)| bind(mem, b * block, block, (bound.len() - 1 - i) as u64 * block))
        .collect();
    bind_buffer(gpu, buffer, &binds)?;
    let data = pattern(size ^ 7, size as usize);
    // Writes to unbound blocks are allowed and must not disturb bound ones.
    gpu.upload(buffer, &data, &[(0, size)])?;
    let ranges: Vec<(u64, u64)> = bound
        .iter()
        .map(|&b| (b * block, block.min(size - b * block)))
        .filter(|r| r.1 > 0)
        .collect();
    let got = gpu.download(buffer, size, &ranges)?;
    check_ranges(&got, &data, &ranges, "bound block")
}

/// With residencyNonResidentStrict, unbound blocks read zero even after
/// writes.
fn non_resident_strict(gpu: &Gpu) -> CaseResult {
    require!(
        gpu.vk.features.sparse_residency_buffer == vk::TRUE,
        "sparseResidencyBuffer is false"
    );
    require!(
        gpu.vk.props.sparse_properties.residency_non_resident_strict == vk::TRUE,
        "residencyNonResidentStrict is false (unbound reads are undefined)"
    );
    let size = 1 << 20;
    let (buffer, reqs) = sparse_buffer(gpu, size, vk::BufferCreateFlags::SPARSE_RESIDENCY)?;
    let block = reqs.alignment;
    let mem = memory(gpu, &reqs, block)?;
    bind_buffer(gpu, buffer, &[bind(mem, 0, block, 0)])?;
    let data = pattern(3, size as usize);
    gpu.upload(buffer, &data, &[(0, size)])?;
    let got = gpu.download(buffer, size, &[(0, size)])?;
    check_ranges(&got, &data, &[(0, block)], "bound block")?;
    let zeros = vec![0u8; size as usize];
    check_ranges(
        &got,
        &zeros,
        &[(block, size - block)],
        "unbound range (strict)",
    )
}

/// Two halves of the buffer bound to the same memory: what one half writes
/// the other reads.
fn aliasing(gpu: &Gpu, size: u64) -> CaseResult {
    require!(
        gpu.vk.features.sparse_residency_buffer == vk::TRUE,
        "sparseResidencyBuffer is false"
    );
    require!(
        gpu.vk.features.sparse_residency_aliased == vk::TRUE,
        "sparseResidencyAliased is false"
    );
    let flags = vk::BufferCreateFlags::SPARSE_RESIDENCY | vk::BufferCreateFlags::SPARSE_ALIASED;
    let (buffer, reqs) = sparse_buffer(gpu, size, flags)?;
    let half = reqs.size / 2 / reqs.alignment * reqs.alignment;
    require!(
        half > 0,
        "buffer of {size} bytes has fewer than two sparse blocks"
    );
    let mem = memory(gpu, &reqs, half)?;
    bind_buffer(
        gpu,
        buffer,
        &[bind(mem, 0, half, 0), bind(mem, half, half, 0)],
    )?;
    let data = pattern(size + 1, (2 * half) as usize);
    gpu.upload(buffer, &data, &[(0, half)])?;
    let got = gpu.download(buffer, 2 * half, &[(half, half)])?;
    let mut want = data.clone();
    want.copy_within(0..half as usize, half as usize);
    check_ranges(
        &got,
        &want,
        &[(half, half)],
        "second alias of the first half",
    )?;
    // And back the other way.
    gpu.upload(buffer, &data, &[(half, half)])?;
    let got = gpu.download(buffer, 2 * half, &[(0, half)])?;
    check_ranges(
        &got,
        &data[half as usize..].repeat(2),
        &[(0, half)],
        "first alias of the second half",
    )
}

/// Rebinding to other memory shows that memory's bytes; binding back shows
/// the first memory's bytes again (memory keeps its contents).
fn rebind_other_memory(gpu: &Gpu) -> CaseResult {
    let size = 1 << 20;
    let (buffer, reqs) = sparse_buffer(gpu, size, vk::BufferCreateFlags::empty())?;
    let (a, b) = (
        memory(gpu, &reqs, reqs.size)?,
        memory(gpu, &reqs, reqs.size)?,
    );
    let (da, db) = (pattern(10, size as usize), pattern(11, size as usize));
    let all = [(0, size)];
    bind_buffer(gpu, buffer, &[bind(a, 0, reqs.size, 0)])?;
    gpu.upload(buffer, &da, &all)?;
    bind_buffer(gpu, buffer, &[bind(b, 0, reqs.size, 0)])?;
    gpu.upload(buffer, &db, &all)?;
    check_ranges(
        &gpu.download(buffer, size, &all)?,
        &db,
        &all,
        "after rebind to B",
    )?;
    bind_buffer(gpu, buffer, &[bind(a, 0, reqs.size, 0)])?;
    check_ranges(
        &gpu.download(buffer, size, &all)?,
        &da,
        &all,
        "after binding back to A",
    )
}

/// Unbinding a block (memory = VK_NULL_HANDLE) and binding it again at a
/// different memory offset: the block shows the bytes at the new offset.
fn unbind_rebind(gpu: &Gpu) -> CaseResult {
    require!(
        gpu.vk.features.sparse_residency_buffer == vk::TRUE,
        "sparseResidencyBuffer is false"
    );
    let size = 1 << 20;
    let (buffer, reqs) = sparse_buffer(gpu, size, vk::BufferCreateFlags::SPARSE_RESIDENCY)?;
    let block = reqs.alignment;
    let mem = memory(gpu, &reqs, 2 * block)?;
    let data = pattern(12, size as usize);
    bind_buffer(
        gpu,
        buffer,
        &[bind(mem, 0, block, 0), bind(mem, block, block, block)],
    )?;
    gpu.upload(buffer, &data, &[(0, 2 * block)])?;
    bind_buffer(gpu, buffer, &[bind(vk::DeviceMemory::null(), 0, block, 0)])?;
    // Block 2 of the buffer now shows memory block 1 (written through
    // buffer block 1 above).
    bind_buffer(gpu, buffer, &[bind(mem, 2 * block, block, block)])?;
    let got = gpu.download(buffer, size, &[(block, 2 * block)])?;
    let mut want = data.clone();
    want.copy_within(block as usize..2 * block as usize, 2 * block as usize);
    check_ranges(&got, &want, &[(block, 2 * block)], "rebound block")
}

/// Every block bound to its own gpu-allocator sub-allocation (non-zero
/// offsets into shared memory objects); the bytes are then read through
/// ordinary buffers bound at the same memory and offset, which shows the
/// driver honoured the offsets.
fn sub_allocated(gpu: &Gpu, residency: bool) -> CaseResult {
    let flags = if residency {
        require!(
            gpu.vk.features.sparse_residency_buffer == vk::TRUE,
            "sparseResidencyBuffer is false"
        );
        vk::BufferCreateFlags::SPARSE_RESIDENCY
    } else {
        vk::BufferCreateFlags::empty()
    };
    let size = 1 << 20;
    let (buffer, reqs) = sparse_buffer(gpu, size, flags)?;
    let block = reqs.alignment;
    let blocks = (reqs.size / block) as usize;
    // One extra piece first so no block lands at offset 0 of its memory.
    let mut pieces = gpu.sub_allocate(&reqs, block, blocks + 1)?;
    pieces.remove(0);
    ensure!(
        pieces.iter().any(|p| p.1 != 0),
        "gpu-allocator placed every piece at offset 0; the case cannot test offsets"
    );
    let binds: Vec<_> = pieces
        .iter()
        .enumerate()
        .filter(|(i, _)| !residency || i % 3 != 1)
        .map(|(i, &(mem, off))| bind(mem, i as u64 * block, block, off))
        .collect();
    bind_buffer(gpu, buffer, &binds)?;
    let data = pattern(13, size as usize);
    gpu.upload(buffer, &data, &[(0, size)])?;
    for b in &binds {
        let window = vk::BufferCreateInfo::default()
            .size(block)
            .usage(vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST);
        let dense = gpu.buffer(&window)?;
        let dreqs = gpu.buffer_requirements(dense);
        require!(
            b.memory_offset % dreqs.alignment == 0,
            "a dense buffer cannot be bound at offset {:#x} (alignment {:#x})",
            b.memory_offset,
            dreqs.alignment
        );
        // SAFETY: memory and buffer of this device; offset aligned (checked above).
        unsafe {
            gpu.device
                .bind_buffer_memory(dense, b.memory, b.memory_offset)
        }
        .call("vkBindBufferMemory")?;
        let got = gpu.download(dense, block, &[(0, block)])?;
        let want = &data[b.resource_offset as usize..(b.resource_offset + block) as usize];
        check_ranges(
            &got,
            want,
            &[(0, block)],
            &format!("memory behind block at {:#x}", b.resource_offset),
        )?;
    }
    Ok(())
}
