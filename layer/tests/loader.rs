//! The layer through the real Vulkan loader over our ICD: it loads as an
//! explicit layer, forwards what it does not intercept, and its reports
//! (JSON summary, PNG residency maps) match the binds made.

mod common;

use std::ffi::{c_void, CStr};

use ash::vk;
use common::*;
use panthor_sparse_layer::report::palette;

#[test]
fn the_layer_is_listed_and_loads() {
    setup();
    // SAFETY: loading the system loader.
    let entry = unsafe { ash::Entry::load() }.unwrap();
    // SAFETY: a global query.
    let layers = unsafe { entry.enumerate_instance_layer_properties() }.unwrap();
    let ours = layers
        .iter()
        .find(|l| l.layer_name_as_c_str().unwrap() == LAYER)
        .expect("VK_LAYER_PANTHOR_sparse is listed");
    assert!(ours
        .description_as_c_str()
        .unwrap()
        .to_bytes()
        .starts_with(b"Panthor sparse"));
    let c = Ctx::new();
    let buffer = c.sparse_buffer(4, false);
    let mem = c.memory(4 * BLOCK);
    assert_eq!(
        c.bind(buffer, &[bind(0, 4 * BLOCK, mem, 0)]),
        vk::Result::SUCCESS
    );
    assert_eq!(c.bind(buffer, &[unbind(0, 4 * BLOCK)]), vk::Result::SUCCESS);
    c.destroy_buffer(buffer);
    c.free(mem);
    assert!(c.take().is_empty());
}

/// The shared object a function pointer lies in.
fn library_of(f: vk::PFN_vkVoidFunction) -> String {
    let f = f.expect("function pointer");
    let mut info = libc::Dl_info {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    // SAFETY: dladdr only reads the address and fills `info`.
    let ok = unsafe { libc::dladdr(f as *const c_void, &mut info) };
    assert_ne!(ok, 0, "dladdr");
    // SAFETY: dladdr succeeded, so dli_fname is a C string.
    unsafe { CStr::from_ptr(info.dli_fname) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn calls_not_intercepted_go_straight_to_the_driver() {
    let c = Ctx::new();
    let _loader = loader_lock();
    let gdpa = c.instance.fp_v1_0().get_device_proc_addr;
    let get = |name: &CStr| {
        // SAFETY: a live device and a function name.
        unsafe { gdpa(c.device.handle(), name.as_ptr()) }
    };
    let driver = library_of(get(c"vkCmdCopyBuffer"));
    assert!(driver.ends_with("libpanthor_vk.so"), "{driver}");
    let driver = library_of(get(c"vkQueueSubmit"));
    assert!(driver.ends_with("libpanthor_vk.so"), "{driver}");
    let layer = library_of(get(c"vkQueueBindSparse"));
    assert!(layer.ends_with("libpanthor_sparse_layer.so"), "{layer}");
    // Without the layer, the same call is the driver's.
    drop(_loader);
    let plain = Ctx::with(false, Messages::Created);
    let _loader = loader_lock();
    let gdpa = plain.instance.fp_v1_0().get_device_proc_addr;
    // SAFETY: a live device and a function name.
    let f = unsafe { gdpa(plain.device.handle(), c"vkQueueBindSparse".as_ptr()) };
    assert!(library_of(f).ends_with("libpanthor_vk.so"));
    drop(_loader);
}

#[test]
fn buffer_report_counts_blocks_and_draws_them() {
    let c = Ctx::new();
    let buffer = c.sparse_buffer(16, false);
    c.name(buffer, c"report-buffer");
    let a = c.memory(4 * BLOCK);
    let b = c.memory(4 * BLOCK);
    let binds = [
        bind(0, 4 * BLOCK, a, 0),
        bind(8 * BLOCK, 2 * BLOCK, b, 0),
        bind(10 * BLOCK, 2 * BLOCK, b, 2 * BLOCK),
    ];
    assert_eq!(c.bind(buffer, &binds), vk::Result::SUCCESS);
    assert_eq!(
        c.bind(buffer, &[unbind(2 * BLOCK, BLOCK)]),
        vk::Result::SUCCESS
    );
    assert!(c.take().is_empty());
    // The report is written when the device is destroyed.
    drop(c);
    let (r, dir) = find_report("report-buffer");
    assert_eq!(r.kind, "buffer");
    assert_eq!(r.block_size, BLOCK);
    assert_eq!(r.reserved_bytes, 16 * BLOCK);
    assert_eq!(r.blocks_total, 16);
    assert_eq!(r.blocks_bound, 7);
    assert_eq!(r.committed_bytes, 7 * BLOCK);
    assert_eq!(r.bind_calls, 2);
    assert_eq!(r.binds, 4);
    assert_eq!(r.blocks_bound_total, 8);
    assert_eq!(r.blocks_unbound_total, 1);
    assert_eq!(r.calls, [[8, 0], [0, 1]]);
    assert_eq!(
        r.blocks_per_memory.into_iter().collect::<Vec<_>>(),
        [(0, 3), (1, 4)]
    );
    assert!(r.bind_time_us > 0.0);
    let runs: Vec<_> = r
        .runs
        .iter()
        .map(|run| {
            (
                run.space.as_str(),
                run.first,
                run.count,
                run.memory,
                run.memory_offset,
            )
        })
        .collect();
    assert_eq!(
        runs,
        [
            ("opaque", 0, 2, 0, 0),
            ("opaque", 3, 1, 0, 3 * BLOCK),
            ("opaque", 8, 4, 1, 0)
        ]
    );
    assert_eq!(r.maps, ["report-buffer-opaque.png"]);
    let png = Png::load(&dir.join(&r.maps[0]));
    assert_eq!((png.width, png.height), (16 * 4, 4));
    for i in 0..16 {
        let want = match i {
            0 | 1 | 3 => palette(0),
            8..=11 => palette(1),
            _ => CLEAR,
        };
        assert_eq!(png.block(i, 0, 4), want, "block {i}");
    }
}

#[test]
fn image_report_has_a_map_per_mip_and_layer() {
    let c = Ctx::new();
    let image = c.sparse_image(vk::Format::R8G8B8A8_UNORM, 512, 512, 4, 2);
    c.name(image, c"report-image");
    let (req, sparse) = c.image_requirements(image);
    assert_eq!(sparse.len(), 1);
    let s = sparse[0];
    let g = s.format_properties.image_granularity;
    assert_eq!((g.width, g.height, req.alignment), (128, 128, BLOCK));
    let (bw, bh) = (512 / g.width, 512 / g.height);
    let a = c.memory(16 * BLOCK);
    let b = c.memory(16 * BLOCK);
    // A checkerboard on layer 0's mip 0: even blocks in a, odd in b.
    let mut binds = Vec::new();
    for y in 0..bh {
        for x in 0..bw {
            let i = (y * bw + x) as u64;
            binds.push(vk::SparseImageMemoryBind {
                subresource: vk::ImageSubresource {
                    aspect_mask: vk::ImageAspectFlags::COLOR,
                    mip_level: 0,
                    array_layer: 0,
                },
                offset: vk::Offset3D {
                    x: (x * g.width) as i32,
                    y: (y * g.height) as i32,
                    z: 0,
                },
                extent: g,
                memory: if (x + y) % 2 == 0 { a } else { b },
                memory_offset: i / 2 * BLOCK,
                flags: vk::SparseMemoryBindFlags::empty(),
            });
        }
    }
    // Layer 1's mip 1 whole in b, past the checkerboard's memory.
    binds.push(vk::SparseImageMemoryBind {
        subresource: vk::ImageSubresource {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            mip_level: 1,
            array_layer: 1,
        },
        offset: vk::Offset3D::default(),
        extent: vk::Extent3D {
            width: 256,
            height: 256,
            depth: 1,
        },
        memory: b,
        memory_offset: 8 * BLOCK,
        flags: vk::SparseMemoryBindFlags::empty(),
    });
    let ib = [vk::SparseImageMemoryBindInfo::default()
        .image(image)
        .binds(&binds)];
    // Layer 0's mip tail, opaquely, in a.
    let tail = [bind(
        s.image_mip_tail_offset,
        s.image_mip_tail_size,
        a,
        8 * BLOCK,
    )];
    let ob = [vk::SparseImageOpaqueMemoryBindInfo::default()
        .image(image)
        .binds(&tail)];
    let info = vk::BindSparseInfo::default()
        .image_binds(&ib)
        .image_opaque_binds(&ob);
    assert_eq!(c.bind_sparse(&info), vk::Result::SUCCESS);
    assert!(c.take().is_empty());
    drop(c);
    let (r, dir) = find_report("report-image");
    let tail_blocks = s.image_mip_tail_size.div_ceil(BLOCK);
    assert_eq!(r.kind, "image");
    assert_eq!(r.blocks_bound, 16 + 4 + tail_blocks);
    assert_eq!(r.calls, [[16 + 4 + tail_blocks, 0]]);
    let img = r.image.as_ref().unwrap();
    assert_eq!(img.sparse_requirements[0].block_shape, [128, 128, 1]);
    assert_eq!(
        img.sparse_requirements[0].mip_tail_first_lod,
        s.image_mip_tail_first_lod
    );
    let levels = s.image_mip_tail_first_lod.min(4);
    assert_eq!(img.grids.len() as u32, levels * 2);
    let mip0 = Png::load(&dir.join("report-image-aspect0-mip0-layer0.png"));
    assert_eq!((mip0.width, mip0.height), (bw * 4, bh * 4));
    for y in 0..bh {
        for x in 0..bw {
            let want = palette(((x + y) % 2) as u64);
            assert_eq!(mip0.block(x, y, 4), want, "block ({x}, {y})");
        }
    }
    let layer1 = Png::load(&dir.join("report-image-aspect0-mip0-layer1.png"));
    for y in 0..bh {
        for x in 0..bw {
            assert_eq!(layer1.block(x, y, 4), CLEAR);
        }
    }
    let mip1 = Png::load(&dir.join("report-image-aspect0-mip1-layer1.png"));
    assert_eq!((mip1.width, mip1.height), (2 * 4, 2 * 4));
    for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        assert_eq!(mip1.block(x, y, 4), palette(1));
    }
    assert!(r.maps.contains(&"report-image-opaque.png".to_string()));
}

/// Run in a child process by `reports_can_be_written_every_n_calls` (with
/// `PANTHOR_SPARSE_LAYER_REPORT_EVERY=2`) and
/// `the_settings_file_configures_the_layer` (with a `vk_layer_settings.txt`
/// that says so): the layer reads its settings when an instance is created,
/// so they cannot differ between the threads of one process.
#[test]
#[ignore = "run as a child process by reports_can_be_written_every_n_calls"]
fn report_every_child() {
    let from_env = std::env::var("PANTHOR_SPARSE_LAYER_REPORT_EVERY").is_ok();
    assert!(from_env || std::env::var("VK_LAYER_SETTINGS_PATH").is_ok());
    let c = Ctx::new();
    let buffer = c.sparse_buffer(8, false);
    c.name(buffer, c"every-buffer");
    let mem = c.memory(8 * BLOCK);
    for i in 0..3 {
        assert_eq!(
            c.bind(buffer, &[bind(i * BLOCK, BLOCK, mem, i * BLOCK)]),
            vk::Result::SUCCESS
        );
    }
    // Written after the second call, not the third; the device is alive.
    let (r, dir) = find_report("every-buffer");
    assert_eq!((r.bind_calls, r.blocks_bound), (2, 2));
    let png = Png::load(&dir.join("every-buffer-opaque.png"));
    assert_eq!(png.block(1, 0, 4), palette(0));
    assert_eq!(png.block(2, 0, 4), CLEAR);
    drop(c);
    let (r, _) = find_report("every-buffer");
    assert_eq!((r.bind_calls, r.blocks_bound), (3, 3));
}

fn run_report_every_child(env: (&str, &std::path::Path)) {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--ignored", "--exact", "report_every_child"])
        .env(env.0, env.1)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

#[test]
fn reports_can_be_written_every_n_calls() {
    run_report_every_child(("PANTHOR_SPARSE_LAYER_REPORT_EVERY", "2".as_ref()));
}

#[test]
fn the_settings_file_configures_the_layer() {
    let dir = setup().join("settings");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("vk_layer_settings.txt"),
        "# VK_LAYER_PANTHOR_sparse\npanthor_sparse.report_every = 2\n\
         khronos_validation.enables = \n",
    )
    .unwrap();
    run_report_every_child(("VK_LAYER_SETTINGS_PATH", &dir));
}

#[test]
fn the_layer_chains_with_the_validation_layer() {
    let validation = c"VK_LAYER_KHRONOS_validation";
    setup();
    // SAFETY: loading the system loader; a global query.
    let present = unsafe {
        ash::Entry::load()
            .unwrap()
            .enumerate_instance_layer_properties()
    }
    .unwrap()
    .iter()
    .any(|l| l.layer_name_as_c_str().unwrap() == validation);
    if !present {
        eprintln!("skipped: VK_LAYER_KHRONOS_validation is not installed");
        return;
    }
    // Ours nearest the application, then below the validation layer.
    for order in [[LAYER, validation], [validation, LAYER]] {
        let c = Ctx::with_layers(&order, Messages::Created);
        let buffer = c.sparse_buffer(4, false);
        // SAFETY: a live buffer (the validation layer wants the query).
        let req = unsafe { c.device.get_buffer_memory_requirements(buffer) };
        assert_eq!(req.alignment, BLOCK);
        let mem = c.memory(4 * BLOCK);
        assert_eq!(
            c.bind(buffer, &[bind(0, 2 * BLOCK, mem, 0)]),
            vk::Result::SUCCESS
        );
        assert_eq!(c.take_ours(), Vec::<String>::new());
        let _ = c.bind(buffer, &[bind(4096, BLOCK, mem, 2 * BLOCK)]);
        assert_eq!(c.take_ours(), ["PANTHOR-sparse-offset-alignment"]);
        assert_eq!(c.bind(buffer, &[unbind(0, 4 * BLOCK)]), vk::Result::SUCCESS);
        c.destroy_buffer(buffer);
        c.free(mem);
        assert_eq!(c.take_ours(), Vec::<String>::new());
    }
}

/// Run by `the_layer_runs_over_another_driver` in a child process whose
/// loader sees only lavapipe (`PANTHOR_LAYER_TEST_ICD`).
#[test]
#[ignore = "run as a child process by the_layer_runs_over_another_driver"]
fn other_driver_child() {
    setup();
    let _loader = loader_lock();
    // SAFETY: loading the system loader.
    let entry = unsafe { ash::Entry::load() }.unwrap();
    let layers = [LAYER.as_ptr()];
    let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_1);
    let info = vk::InstanceCreateInfo::default()
        .application_info(&app)
        .enabled_layer_names(&layers);
    // SAFETY: valid create info; everything is destroyed below, in order.
    unsafe {
        let instance = entry
            .create_instance(&info, None)
            .expect("vkCreateInstance");
        let pd = instance.enumerate_physical_devices().unwrap()[0];
        let prio = [1.0f32];
        let queues = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(0)
            .queue_priorities(&prio)];
        let info = vk::DeviceCreateInfo::default().queue_create_infos(&queues);
        let device = instance
            .create_device(pd, &info, None)
            .expect("vkCreateDevice");
        let gdpa = instance.fp_v1_0().get_device_proc_addr;
        let driver = library_of(gdpa(device.handle(), c"vkCmdCopyBuffer".as_ptr()));
        assert!(driver.contains("lvp"), "{driver}");
        let layer = library_of(gdpa(device.handle(), c"vkQueueBindSparse".as_ptr()));
        assert!(layer.ends_with("libpanthor_sparse_layer.so"), "{layer}");
        // Dense resources and memory pass through.
        let info = vk::BufferCreateInfo::default()
            .size(BLOCK)
            .usage(vk::BufferUsageFlags::TRANSFER_SRC);
        let buffer = device.create_buffer(&info, None).unwrap();
        let req = device.get_buffer_memory_requirements(buffer);
        let ty = req.memory_type_bits.trailing_zeros();
        let info = vk::MemoryAllocateInfo::default()
            .allocation_size(req.size)
            .memory_type_index(ty);
        let mem = device.allocate_memory(&info, None).unwrap();
        device.bind_buffer_memory(buffer, mem, 0).unwrap();
        device.destroy_buffer(buffer, None);
        device.free_memory(mem, None);
        device.destroy_device(None);
        instance.destroy_instance(None);
    }
}

#[test]
fn the_layer_runs_over_another_driver() {
    let lavapipe = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";
    if !std::path::Path::new(lavapipe).exists() {
        eprintln!("skipped: lavapipe (mesa-vulkan-drivers) is not installed");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--ignored", "--exact", "other_driver_child"])
        .env("PANTHOR_LAYER_TEST_ICD", lavapipe)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
