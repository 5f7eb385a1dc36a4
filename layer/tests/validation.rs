//! Each validation rule through the real loader over our ICD: a bad bind
//! (or free, or destroy) sends exactly that rule's message to the
//! application's messenger, with the severity, type and objects it should
//! have, and the good version of the same call sends nothing.
//!
//! Not here: `PANTHOR-sparse-memory-type` (our ICD has one memory type, so
//! no allocation can have a type the requirements exclude; the rule is
//! tested in `tracker.rs`), and binds of memory handles that were freed
//! (the driver below would be handed a dangling handle).

mod common;

use ash::vk::{self, Handle};
use common::*;

const OFFSET: &str = "PANTHOR-sparse-offset-alignment";
const SIZE: &str = "PANTHOR-sparse-size-alignment";
const BOUNDS: &str = "PANTHOR-sparse-out-of-bounds";
const MEMORY_BOUNDS: &str = "PANTHOR-sparse-memory-out-of-bounds";
const MIP_TAIL: &str = "PANTHOR-sparse-mip-tail";
const FREED: &str = "PANTHOR-sparse-memory-freed-while-bound";
const DESTROYED: &str = "PANTHOR-sparse-resource-destroyed-while-bound";
const ALIASING: &str = "PANTHOR-sparse-aliasing";
const NOT_SPARSE: &str = "PANTHOR-sparse-not-sparse";

/// Checks that exactly one message came, of rule `id`, as an ERROR or
/// WARNING validation message naming `object`; returns its text.
fn one(c: &Ctx, id: &str, severity: vk::DebugUtilsMessageSeverityFlagsEXT, object: u64) -> String {
    let got = c.take();
    assert_eq!(got.len(), 1, "{got:#?}");
    let m = &got[0];
    assert_eq!(m.id, id, "{}", m.text);
    assert_eq!(m.severity, severity, "{}", m.text);
    assert!(
        m.objects.iter().any(|&(_, h)| h == object),
        "{:?} does not name 0x{object:x}",
        m.objects
    );
    m.text.clone()
}

fn error(c: &Ctx, id: &str, object: u64) -> String {
    one(c, id, vk::DebugUtilsMessageSeverityFlagsEXT::ERROR, object)
}

fn good(r: vk::Result) {
    assert_eq!(r, vk::Result::SUCCESS);
}

fn silent(c: &Ctx) {
    let got = c.take();
    assert!(got.is_empty(), "{got:#?}");
}

#[test]
fn offsets_must_be_block_aligned() {
    let c = Ctx::new();
    let buffer = c.sparse_buffer(8, false);
    let mem = c.memory(8 * BLOCK);
    let _ = c.bind(buffer, &[bind(4096, BLOCK, mem, 0)]);
    let text = error(&c, OFFSET, buffer.as_raw());
    assert!(text.contains("resourceOffset 0x1000"), "{text}");
    assert!(text.contains("rule:"), "{text}");
    let _ = c.bind(buffer, &[bind(0, BLOCK, mem, 4096)]);
    error(&c, OFFSET, buffer.as_raw());
    good(c.bind(buffer, &[bind(BLOCK, BLOCK, mem, 2 * BLOCK)]));
    silent(&c);
    good(c.bind(buffer, &[unbind(0, 8 * BLOCK)]));
    silent(&c);
}

#[test]
fn sizes_must_be_whole_blocks() {
    let c = Ctx::new();
    let buffer = c.sparse_buffer(8, false);
    let mem = c.memory(8 * BLOCK);
    let _ = c.bind(buffer, &[bind(0, BLOCK + 4096, mem, 0)]);
    error(&c, SIZE, buffer.as_raw());
    good(c.bind(buffer, &[bind(0, 2 * BLOCK, mem, 0)]));
    silent(&c);
    good(c.bind(buffer, &[unbind(0, 8 * BLOCK)]));
    silent(&c);
}

#[test]
fn binds_must_stay_inside_the_resource_and_the_memory() {
    let c = Ctx::new();
    let buffer = c.sparse_buffer(4, false);
    let mem = c.memory(2 * BLOCK);
    let _ = c.bind(buffer, &[bind(3 * BLOCK, 2 * BLOCK, mem, 0)]);
    error(&c, BOUNDS, buffer.as_raw());
    let _ = c.bind(buffer, &[bind(0, 2 * BLOCK, mem, BLOCK)]);
    error(&c, MEMORY_BOUNDS, mem.as_raw());
    good(c.bind(buffer, &[bind(2 * BLOCK, 2 * BLOCK, mem, 0)]));
    silent(&c);
    good(c.bind(buffer, &[unbind(0, 4 * BLOCK)]));
    silent(&c);
}

#[test]
fn image_blocks_must_be_aligned_inside_and_outside_the_mip_tail() {
    let c = Ctx::new();
    let image = c.sparse_image(vk::Format::R8G8B8A8_UNORM, 512, 512, 6, 2);
    let (_, sparse) = c.image_requirements(image);
    let s = sparse[0];
    let g = s.format_properties.image_granularity;
    let mem = c.memory(16 * BLOCK);
    let block = |mip, x: i32, w: u32, h: u32| vk::SparseImageMemoryBind {
        subresource: vk::ImageSubresource {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            mip_level: mip,
            array_layer: 0,
        },
        offset: vk::Offset3D { x, y: 0, z: 0 },
        extent: vk::Extent3D {
            width: w,
            height: h,
            depth: 1,
        },
        memory: mem,
        memory_offset: 0,
        flags: vk::SparseMemoryBindFlags::empty(),
    };
    let run = |b: vk::SparseImageMemoryBind| {
        let binds = [b];
        let ib = [vk::SparseImageMemoryBindInfo::default()
            .image(image)
            .binds(&binds)];
        c.bind_sparse(&vk::BindSparseInfo::default().image_binds(&ib))
    };
    let img = image.as_raw();
    let _ = run(block(0, (g.width / 2) as i32, g.width, g.height));
    error(&c, OFFSET, img);
    let _ = run(block(0, 0, g.width / 2, g.height));
    error(&c, SIZE, img);
    let _ = run(block(0, 512 - g.width as i32, 2 * g.width, g.height));
    error(&c, BOUNDS, img);
    let tail_mip = s.image_mip_tail_first_lod;
    assert!(tail_mip < 6, "the image has a mip tail");
    let _ = run(block(tail_mip, 0, 512 >> tail_mip, 512 >> tail_mip));
    let text = error(&c, MIP_TAIL, img);
    assert!(text.contains("imageMipTailFirstLod"), "{text}");
    good(run(block(0, 0, g.width, g.height)));
    silent(&c);
    // The tails: layer 1's at offset + stride is good; one tail size after
    // layer 0's is in the gap when the tails are not packed.
    let opaque = |offset, memory_offset| {
        let binds = [bind(offset, s.image_mip_tail_size, mem, memory_offset)];
        let ob = [vk::SparseImageOpaqueMemoryBindInfo::default()
            .image(image)
            .binds(&binds)];
        c.bind_sparse(&vk::BindSparseInfo::default().image_opaque_binds(&ob))
    };
    good(opaque(
        s.image_mip_tail_offset + s.image_mip_tail_stride,
        BLOCK,
    ));
    silent(&c);
    if s.image_mip_tail_stride > s.image_mip_tail_size {
        let _ = opaque(s.image_mip_tail_offset + s.image_mip_tail_size, 8 * BLOCK);
        error(&c, MIP_TAIL, img);
    }
    // Whole-image unbind: fine.
    let (req, _) = c.image_requirements(image);
    let binds = [unbind(0, req.size)];
    let ob = [vk::SparseImageOpaqueMemoryBindInfo::default()
        .image(image)
        .binds(&binds)];
    good(c.bind_sparse(&vk::BindSparseInfo::default().image_opaque_binds(&ob)));
    silent(&c);
}

#[test]
fn aliasing_needs_sparse_aliased() {
    let c = Ctx::new();
    let plain = c.sparse_buffer(4, false);
    let (x, y) = (c.sparse_buffer(4, true), c.sparse_buffer(4, true));
    let mem = c.memory(4 * BLOCK);
    good(c.bind(x, &[bind(0, 2 * BLOCK, mem, 0)]));
    good(c.bind(y, &[bind(0, 2 * BLOCK, mem, BLOCK)]));
    silent(&c);
    let _ = c.bind(plain, &[bind(0, BLOCK, mem, 0)]);
    let text = error(&c, ALIASING, plain.as_raw());
    assert!(text.contains("SPARSE_ALIASED"), "{text}");
    // Two blocks of one unaliased buffer on the same memory.
    good(c.bind(plain, &[bind(2 * BLOCK, BLOCK, mem, 3 * BLOCK)]));
    silent(&c);
    let _ = c.bind(plain, &[bind(3 * BLOCK, BLOCK, mem, 3 * BLOCK)]);
    error(&c, ALIASING, plain.as_raw());
    for b in [plain, x, y] {
        good(c.bind(b, &[unbind(0, 4 * BLOCK)]));
    }
    silent(&c);
}

#[test]
fn freeing_bound_memory_and_destroying_bound_resources_warn() {
    let c = Ctx::new();
    let warning = vk::DebugUtilsMessageSeverityFlagsEXT::WARNING;
    let buffer = c.sparse_buffer(4, false);
    let mem = c.memory(4 * BLOCK);
    good(c.bind(buffer, &[bind(0, BLOCK, mem, 0)]));
    c.free(mem);
    one(&c, FREED, warning, mem.as_raw());
    good(c.bind(buffer, &[unbind(0, BLOCK)]));
    silent(&c);
    let mem = c.memory(4 * BLOCK);
    good(c.bind(buffer, &[bind(0, BLOCK, mem, 0)]));
    c.destroy_buffer(buffer);
    one(&c, DESTROYED, warning, buffer.as_raw());
    c.free(mem);
    silent(&c);
    // The good order: unbind, destroy, free.
    let buffer = c.sparse_buffer(4, false);
    let mem = c.memory(4 * BLOCK);
    good(c.bind(buffer, &[bind(0, 2 * BLOCK, mem, 0)]));
    good(c.bind(buffer, &[unbind(0, 4 * BLOCK)]));
    c.destroy_buffer(buffer);
    c.free(mem);
    silent(&c);
}

#[test]
fn binds_of_resources_that_are_not_sparse_are_reported() {
    let c = Ctx::new();
    let info = vk::BufferCreateInfo::default()
        .size(BLOCK)
        .usage(vk::BufferUsageFlags::TRANSFER_SRC);
    // SAFETY: valid create info.
    let dense = unsafe { c.device.create_buffer(&info, None) }.unwrap();
    let mem = c.memory(BLOCK);
    let _ = c.bind(dense, &[bind(0, BLOCK, mem, 0)]);
    error(&c, NOT_SPARSE, dense.as_raw());
    c.destroy_buffer(dense);
    silent(&c);
}

#[test]
fn messengers_chained_into_instance_creation_get_messages() {
    let c = Ctx::with(true, Messages::Chained);
    let buffer = c.sparse_buffer(2, false);
    let mem = c.memory(2 * BLOCK);
    let _ = c.bind(buffer, &[bind(0, BLOCK + 1, mem, 0)]);
    error(&c, SIZE, buffer.as_raw());
    good(c.bind(buffer, &[unbind(0, 2 * BLOCK)]));
    silent(&c);
}

/// Run by `without_a_messenger_messages_go_to_stderr` in a child process
/// (the layer writes to the process's stderr, which the test harness
/// cannot capture in process).
#[test]
#[ignore = "run as a child process by without_a_messenger_messages_go_to_stderr"]
fn stderr_child() {
    let c = Ctx::with(true, Messages::None);
    let buffer = c.sparse_buffer(2, false);
    let mem = c.memory(2 * BLOCK);
    let _ = c.bind(buffer, &[bind(4096, BLOCK, mem, 0)]);
    good(c.bind(buffer, &[unbind(0, 2 * BLOCK)]));
}

#[test]
fn without_a_messenger_messages_go_to_stderr() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--ignored", "--exact", "stderr_child", "--nocapture"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[VK_LAYER_PANTHOR_sparse] ERROR PANTHOR-sparse-offset-alignment"),
        "{err}"
    );
    assert_eq!(err.matches("VK_LAYER_PANTHOR_sparse").count(), 1, "{err}");
}
