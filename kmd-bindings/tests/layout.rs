//! The Rust uAPI against the real C header: `panthor_drm.h` of Linux 6.12.
//!
//! Compiles `tests/layout/layout.c` with `cc` (or `$CC`) against the header
//! and compares, entry by entry: the size and alignment of every struct, the
//! offset and size of every field, the value of every `DRM_IOCTL_PANTHOR_*`
//! macro, enum constant and flag, and the gpu_id field macros on sample
//! values. A parser over the header checks that nothing in it escapes the
//! table (a new field, flag or ioctl fails the test until it is added).
//! Items newer than 6.12 cannot be compiled against it; they are checked
//! against their documented values below, with the ioctl codes recomputed
//! by an independent formula.
//!
//! Where the header comes from: `$PANTHOR_UAPI_INCLUDE` (a directory with
//! `drm/panthor_drm.h` and `drm/drm.h`; relative paths are taken from the
//! workspace root), else `<workspace>/target/linux-uapi/include`, which
//! `kmd-bindings/tests/layout/fetch-header.sh` fills from Debian's
//! `linux-source-6.12`. A missing header fails the test, unless
//! `PANTHOR_LAYOUT_SKIP=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use panthor_uapi::uapi::*;

// ---------------------------------------------------------------------------
// The table: what to ask C, and what Rust says
// ---------------------------------------------------------------------------

/// One comparison: `key` names it (and is what the C program prints),
/// `c_expr` computes it in C, `rust` is the Rust value.
struct Item {
    key: String,
    c_expr: String,
    rust: u64,
}

/// A struct of the table with its C field names in declaration order.
struct StructCheck {
    name: &'static str,
    fields: Vec<&'static str>,
}

#[derive(Default)]
struct Table {
    items: Vec<Item>,
    structs: Vec<StructCheck>,
    /// Enum constants and object-like macros of the header the table checks.
    values: BTreeSet<String>,
    /// Function-like macros of the header the table checks.
    macros: BTreeSet<String>,
}

/// A Rust constant's value and the C type to read the C value as (so that
/// `(int)(1u << 31)` compares as the `u32` it is).
trait CValue: Copy {
    const C_TYPE: &'static str;
    fn to_u64(self) -> u64;
}

impl CValue for u8 {
    // Read as __u32: a C value above 255 must not be truncated into a match.
    const C_TYPE: &'static str = "__u32";
    fn to_u64(self) -> u64 {
        self.into()
    }
}

impl CValue for u32 {
    const C_TYPE: &'static str = "__u32";
    fn to_u64(self) -> u64 {
        self.into()
    }
}

impl CValue for u64 {
    const C_TYPE: &'static str = "__u64";
    fn to_u64(self) -> u64 {
        self
    }
}

impl Table {
    fn item(&mut self, key: impl Into<String>, c_expr: impl Into<String>, rust: u64) {
        self.items.push(Item {
            key: key.into(),
            c_expr: c_expr.into(),
            rust,
        });
    }

    fn value<T: CValue>(&mut self, name: &str, rust: T) {
        self.values.insert(name.to_owned());
        self.item(name, format!("({})({name})", T::C_TYPE), rust.to_u64());
    }

    /// A function-like macro of `gpu_id`/`mmu_features`, on sample values.
    fn field_macro(&mut self, name: &str, rust: impl Fn(u32) -> u32) {
        self.macros.insert(name.to_owned());
        for sample in [0u32, 0xa867_0005, 0x1234_5678, 0xffff_ffff] {
            self.item(
                format!("{name}({sample:#x})"),
                format!("{name}({sample:#x}u)"),
                rust(sample).into(),
            );
        }
    }

    /// Size and alignment of `struct name`.
    fn sized(&mut self, name: &'static str, size: usize, align: usize) {
        self.item(
            format!("sizeof({name})"),
            format!("sizeof(struct {name})"),
            size as u64,
        );
        self.item(
            format!("alignof({name})"),
            format!("_Alignof(struct {name})"),
            align as u64,
        );
    }

    /// Offset and size of `name.field`.
    fn field(&mut self, name: &'static str, field: &'static str, offset: usize, size: usize) {
        self.item(
            format!("offsetof({name}.{field})"),
            format!("offsetof(struct {name}, {field})"),
            offset as u64,
        );
        self.item(
            format!("sizeof({name}.{field})"),
            format!("sizeof(((struct {name} *)0)->{field})"),
            size as u64,
        );
    }
}

/// `size_of` the field a projection returns (how the Rust side gets a
/// field's size without naming its type).
fn member_size<T, F>(_project: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// The C name of a Rust field: `r#type` is C's `type`.
fn c_field_name(rust: &'static str) -> &'static str {
    rust.strip_prefix("r#").unwrap_or(rust)
}

/// `layout!(table, drm_panthor_x { a, b, rust_name as c_name, .. })`: size,
/// alignment, and every field's offset and size, fields listed in C order.
macro_rules! layout {
    ($t:expr, $ty:ident { $($field:ident $(as $c:ident)?),* $(,)? }) => {{
        let name = stringify!($ty);
        $t.sized(name, size_of::<$ty>(), align_of::<$ty>());
        let mut fields = Vec::new();
        $(
            let c = layout!(@c $field $($c)?);
            $t.field(name, c, offset_of!($ty, $field), member_size(|s: &$ty| &s.$field));
            fields.push(c);
        )*
        $t.structs.push(StructCheck { name, fields });
    }};
    (@c $field:ident $c:ident) => { stringify!($c) };
    (@c $field:ident) => { c_field_name(stringify!($field)) };
}

macro_rules! values {
    ($t:expr, $($name:ident),* $(,)?) => {
        $($t.value(stringify!($name), $name);)*
    };
}

/// Everything of the 6.12 header, as Rust sees it.
fn table() -> Table {
    let mut t = Table::default();

    // MMIO regions.
    values!(
        t,
        DRM_PANTHOR_USER_MMIO_OFFSET_32BIT,
        DRM_PANTHOR_USER_MMIO_OFFSET_64BIT,
        DRM_PANTHOR_USER_MMIO_OFFSET,
        DRM_PANTHOR_USER_FLUSH_ID_MMIO_OFFSET,
    );

    // enum drm_panthor_ioctl_id and the request codes.
    values!(
        t,
        DRM_PANTHOR_DEV_QUERY,
        DRM_PANTHOR_VM_CREATE,
        DRM_PANTHOR_VM_DESTROY,
        DRM_PANTHOR_VM_BIND,
        DRM_PANTHOR_VM_GET_STATE,
        DRM_PANTHOR_BO_CREATE,
        DRM_PANTHOR_BO_MMAP_OFFSET,
        DRM_PANTHOR_GROUP_CREATE,
        DRM_PANTHOR_GROUP_DESTROY,
        DRM_PANTHOR_GROUP_SUBMIT,
        DRM_PANTHOR_GROUP_GET_STATE,
        DRM_PANTHOR_TILER_HEAP_CREATE,
        DRM_PANTHOR_TILER_HEAP_DESTROY,
    );
    values!(
        t,
        DRM_IOCTL_PANTHOR_DEV_QUERY,
        DRM_IOCTL_PANTHOR_VM_CREATE,
        DRM_IOCTL_PANTHOR_VM_DESTROY,
        DRM_IOCTL_PANTHOR_VM_BIND,
        DRM_IOCTL_PANTHOR_VM_GET_STATE,
        DRM_IOCTL_PANTHOR_BO_CREATE,
        DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET,
        DRM_IOCTL_PANTHOR_GROUP_CREATE,
        DRM_IOCTL_PANTHOR_GROUP_DESTROY,
        DRM_IOCTL_PANTHOR_GROUP_SUBMIT,
        DRM_IOCTL_PANTHOR_GROUP_GET_STATE,
        DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE,
        DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY,
    );
    // The helper macro behind them is checked through their values.
    t.macros.insert("DRM_IOCTL_PANTHOR".into());

    // Common objects.
    layout!(
        t,
        drm_panthor_obj_array {
            stride,
            count,
            array
        }
    );
    let three = [drm_panthor_sync_op::default(); 3];
    let array = drm_panthor_obj_array::from_slice(&three);
    let c_array = "((struct drm_panthor_obj_array)\
                   DRM_PANTHOR_OBJ_ARRAY(3, (struct drm_panthor_sync_op *)0))";
    t.item(
        "DRM_PANTHOR_OBJ_ARRAY(3, sync_op).stride",
        format!("{c_array}.stride"),
        array.stride.into(),
    );
    t.item(
        "DRM_PANTHOR_OBJ_ARRAY(3, sync_op).count",
        format!("{c_array}.count"),
        array.count.into(),
    );
    t.macros.insert("DRM_PANTHOR_OBJ_ARRAY".into());

    values!(
        t,
        DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK,
        DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ,
        DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ,
        DRM_PANTHOR_SYNC_OP_WAIT,
        DRM_PANTHOR_SYNC_OP_SIGNAL,
    );
    layout!(
        t,
        drm_panthor_sync_op {
            flags,
            handle,
            timeline_value
        }
    );

    // DEV_QUERY.
    values!(
        t,
        DRM_PANTHOR_DEV_QUERY_GPU_INFO,
        DRM_PANTHOR_DEV_QUERY_CSIF_INFO
    );
    layout!(
        t,
        drm_panthor_gpu_info {
            gpu_id,
            gpu_rev,
            csf_id,
            l2_features,
            tiler_features,
            mem_features,
            mmu_features,
            thread_features,
            max_threads,
            thread_max_workgroup_size,
            thread_max_barrier_size,
            coherency_features,
            texture_features,
            as_present,
            // `pad0` until driver 1.7 named it.
            selected_coherency as pad0,
            shader_present,
            l2_present,
            tiler_present,
            core_features,
            pad,
        }
    );
    let gpu = |gpu_id| drm_panthor_gpu_info {
        gpu_id,
        ..Default::default()
    };
    t.field_macro("DRM_PANTHOR_ARCH_MAJOR", |x| gpu(x).arch_major());
    t.field_macro("DRM_PANTHOR_ARCH_MINOR", |x| gpu(x).arch_minor());
    t.field_macro("DRM_PANTHOR_ARCH_REV", |x| gpu(x).arch_rev());
    t.field_macro("DRM_PANTHOR_PRODUCT_MAJOR", |x| gpu(x).product_major());
    t.field_macro("DRM_PANTHOR_VERSION_MAJOR", |x| gpu(x).version_major());
    t.field_macro("DRM_PANTHOR_VERSION_MINOR", |x| gpu(x).version_minor());
    t.field_macro("DRM_PANTHOR_VERSION_STATUS", |x| gpu(x).version_status());
    t.field_macro("DRM_PANTHOR_MMU_VA_BITS", |x| {
        drm_panthor_gpu_info {
            mmu_features: x,
            ..Default::default()
        }
        .mmu_va_bits()
    });
    // csf_id decoders with no Rust counterpart (nothing here reads csf_id).
    for name in [
        "DRM_PANTHOR_CSHW_MAJOR",
        "DRM_PANTHOR_CSHW_MINOR",
        "DRM_PANTHOR_CSHW_REV",
        "DRM_PANTHOR_MCU_MAJOR",
        "DRM_PANTHOR_MCU_MINOR",
        "DRM_PANTHOR_MCU_REV",
    ] {
        t.macros.insert(name.into());
    }
    layout!(
        t,
        drm_panthor_csif_info {
            csg_slot_count,
            cs_slot_count,
            cs_reg_count,
            scoreboard_slot_count,
            unpreserved_cs_reg_count,
            pad,
        }
    );
    layout!(
        t,
        drm_panthor_dev_query {
            r#type,
            size,
            pointer
        }
    );

    // VMs.
    layout!(
        t,
        drm_panthor_vm_create {
            flags,
            id,
            user_va_range
        }
    );
    layout!(t, drm_panthor_vm_destroy { id, pad });
    values!(
        t,
        DRM_PANTHOR_VM_BIND_OP_MAP_READONLY,
        DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC,
        DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED,
        DRM_PANTHOR_VM_BIND_OP_TYPE_MASK,
        DRM_PANTHOR_VM_BIND_OP_TYPE_MAP,
        DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP,
        DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY,
    );
    layout!(
        t,
        drm_panthor_vm_bind_op {
            flags,
            bo_handle,
            bo_offset,
            va,
            size,
            syncs
        }
    );
    values!(t, DRM_PANTHOR_VM_BIND_ASYNC);
    layout!(t, drm_panthor_vm_bind { vm_id, flags, ops });
    values!(
        t,
        DRM_PANTHOR_VM_STATE_USABLE,
        DRM_PANTHOR_VM_STATE_UNUSABLE
    );
    layout!(t, drm_panthor_vm_get_state { vm_id, state });

    // Buffer objects.
    values!(t, DRM_PANTHOR_BO_NO_MMAP);
    layout!(
        t,
        drm_panthor_bo_create {
            size,
            flags,
            exclusive_vm_id,
            handle,
            pad
        }
    );
    layout!(
        t,
        drm_panthor_bo_mmap_offset {
            handle,
            pad,
            offset
        }
    );

    // Groups.
    layout!(
        t,
        drm_panthor_queue_create {
            priority,
            pad,
            ringbuf_size
        }
    );
    values!(
        t,
        PANTHOR_GROUP_PRIORITY_LOW,
        PANTHOR_GROUP_PRIORITY_MEDIUM,
        PANTHOR_GROUP_PRIORITY_HIGH,
    );
    layout!(
        t,
        drm_panthor_group_create {
            queues,
            max_compute_cores,
            max_fragment_cores,
            max_tiler_cores,
            priority,
            pad,
            compute_core_mask,
            fragment_core_mask,
            tiler_core_mask,
            vm_id,
            group_handle,
        }
    );
    layout!(t, drm_panthor_group_destroy { group_handle, pad });
    layout!(
        t,
        drm_panthor_queue_submit {
            queue_index,
            stream_size,
            stream_addr,
            latest_flush,
            pad,
            syncs,
        }
    );
    layout!(
        t,
        drm_panthor_group_submit {
            group_handle,
            pad,
            queue_submits
        }
    );
    values!(
        t,
        DRM_PANTHOR_GROUP_STATE_TIMEDOUT,
        DRM_PANTHOR_GROUP_STATE_FATAL_FAULT,
    );
    layout!(
        t,
        drm_panthor_group_get_state {
            group_handle,
            state,
            fatal_queues,
            pad
        }
    );

    // Tiler heaps.
    layout!(
        t,
        drm_panthor_tiler_heap_create {
            vm_id,
            initial_chunk_count,
            chunk_size,
            max_chunks,
            target_in_flight,
            handle,
            tiler_heap_ctx_gpu_va,
            first_heap_chunk_gpu_va,
        }
    );
    layout!(t, drm_panthor_tiler_heap_destroy { handle, pad });

    #[cfg(feature = "std")]
    drm_core(&mut t);

    t
}

/// The DRM core request codes the real backend issues itself, and the
/// drm-sys structs it passes with them (drm.h, included by panthor_drm.h).
#[cfg(feature = "std")]
fn drm_core(t: &mut Table) {
    use drm_ffi::{
        drm_syncobj_create, drm_syncobj_handle, drm_syncobj_timeline_array,
        drm_syncobj_timeline_wait, drm_syncobj_transfer, drm_syncobj_wait,
    };
    use panthor_uapi::real::drm_core::*;

    // Same size as 6.12: the whole request code must match.
    for (name, ours) in [
        ("DRM_IOCTL_SYNCOBJ_CREATE", DRM_IOCTL_SYNCOBJ_CREATE),
        ("DRM_IOCTL_SYNCOBJ_WAIT", DRM_IOCTL_SYNCOBJ_WAIT),
        (
            "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT",
            DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT,
        ),
        ("DRM_IOCTL_SYNCOBJ_QUERY", DRM_IOCTL_SYNCOBJ_QUERY),
        ("DRM_IOCTL_SYNCOBJ_TRANSFER", DRM_IOCTL_SYNCOBJ_TRANSFER),
    ] {
        t.item(name, format!("(__u32)({name})"), ours.into());
    }
    // drm-sys's drm_syncobj_handle has the later `point` field (24 bytes,
    // 6.12: 16); drm_ioctl() accepts either size, so everything but the
    // size bits must match, and the 6.12 fields must sit where C has them.
    const SIZE_BITS: u32 = 0x3fff << 16;
    for (name, ours) in [
        (
            "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD",
            DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
        ),
        (
            "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE",
            DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
        ),
    ] {
        t.item(
            format!("{name} without size"),
            format!("(__u32)({name}) & ~{SIZE_BITS:#x}u"),
            (ours & !SIZE_BITS).into(),
        );
    }
    let name = "drm_syncobj_handle";
    t.field(name, "handle", offset_of!(drm_syncobj_handle, handle), 4);
    t.field(name, "flags", offset_of!(drm_syncobj_handle, flags), 4);
    t.field(name, "fd", offset_of!(drm_syncobj_handle, fd), 4);
    t.field(name, "pad", offset_of!(drm_syncobj_handle, pad), 4);

    // The other structs are the same in 6.12 and drm-sys. (Only
    // `drm_panthor_*` structs count for header completeness: drm.h is not
    // ours to mirror.)
    layout!(t, drm_syncobj_create { handle, flags });
    layout!(
        t,
        drm_syncobj_wait {
            handles,
            timeout_nsec,
            count_handles,
            flags,
            first_signaled,
            pad,
            deadline_nsec
        }
    );
    layout!(
        t,
        drm_syncobj_timeline_wait {
            handles,
            points,
            timeout_nsec,
            count_handles,
            flags,
            first_signaled,
            pad,
            deadline_nsec
        }
    );
    layout!(
        t,
        drm_syncobj_timeline_array {
            handles,
            points,
            count_handles,
            flags
        }
    );
    layout!(
        t,
        drm_syncobj_transfer {
            src_handle,
            dst_handle,
            src_point,
            dst_point,
            flags,
            pad
        }
    );
}

// ---------------------------------------------------------------------------
// Finding the header and running C
// ---------------------------------------------------------------------------

const FETCH_SCRIPT: &str = "kmd-bindings/tests/layout/fetch-header.sh";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("kmd-bindings has a parent directory")
        .to_owned()
}

/// The include directory, or `None` when the test is to be skipped.
/// Panics (fails the test) when the header is missing.
fn header_dir() -> Option<PathBuf> {
    if std::env::var("PANTHOR_LAYOUT_SKIP").as_deref() == Ok("1") {
        eprintln!("layout check against panthor_drm.h skipped (PANTHOR_LAYOUT_SKIP=1)");
        return None;
    }
    let dir = match std::env::var_os("PANTHOR_UAPI_INCLUDE") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target/linux-uapi/include"),
    };
    for file in ["drm/panthor_drm.h", "drm/drm.h"] {
        let path = dir.join(file);
        assert!(
            path.is_file(),
            "{} is missing: this test compares the Rust uAPI with the real header of \
             Linux 6.12. Run {FETCH_SCRIPT} (Debian: fetches linux-source-6.12 with \
             apt-get download and copies the header to target/linux-uapi/include), or \
             point PANTHOR_UAPI_INCLUDE at a directory holding drm/panthor_drm.h and \
             drm/drm.h; PANTHOR_LAYOUT_SKIP=1 skips the check.",
            path.display()
        );
    }
    Some(dir)
}

/// Compiles layout.c with the table's items and returns what it prints.
fn run_c(include: &Path, items: &[Item]) -> BTreeMap<String, u64> {
    // Per process: concurrent test runs must not share the generated files.
    let work = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("panthor-layout-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("create the test's work directory");
    let mut items_h = String::from("/* Generated by tests/layout.rs. */\n");
    for item in items {
        items_h.push_str(&format!(
            "\tshow(\"{}\", (unsigned long long)({}));\n",
            item.key, item.c_expr
        ));
    }
    std::fs::write(work.join("items.h"), items_h).expect("write items.h");

    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/layout/layout.c");
    let exe = work.join("layout");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg("-I")
        .arg(include)
        .arg("-I")
        .arg(&work)
        .arg(&source)
        .output()
        .unwrap_or_else(|err| {
            panic!("cannot run the C compiler `{cc}` ({err}); install gcc or set CC, or set PANTHOR_LAYOUT_SKIP=1")
        });
    assert!(
        output.status.success(),
        "compiling {} against {} failed (a table entry the header lacks?):\n{}",
        source.display(),
        include.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let output = Command::new(&exe).output().expect("run the layout program");
    assert!(output.status.success(), "the layout program failed");
    // Kept only when something failed above, for a look at items.h.
    let _ = std::fs::remove_dir_all(&work);
    String::from_utf8(output.stdout)
        .expect("ASCII output")
        .lines()
        .map(|line| {
            let (key, value) = line.rsplit_once(' ').expect("`key value` lines");
            (key.to_owned(), value.parse().expect("a decimal value"))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The header, parsed
// ---------------------------------------------------------------------------

/// What a C header declares, as far as this test cares.
#[derive(Debug, Default)]
struct Header {
    /// Struct name -> field names in order.
    structs: BTreeMap<String, Vec<String>>,
    /// Enum constants and object-like macros.
    values: BTreeSet<String>,
    /// Function-like macros.
    macros: BTreeSet<String>,
}

/// The text without `/* */` comments (kept line structure).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("*/")
            .map_or(rest.len(), |e| start + e + 2);
        out.extend(rest[start..end].chars().filter(|&c| c == '\n'));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn ident_prefix(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

fn parse_header(text: &str) -> Header {
    enum Block {
        None,
        Struct(String),
        Enum,
    }
    let mut header = Header::default();
    let mut block = Block::None;
    let mut continued = false;
    for line in strip_comments(text).lines() {
        let was_continued = continued;
        continued = line.trim_end().ends_with('\\');
        if was_continued {
            continue;
        }
        let line = line.trim();
        if let Some(def) = line.strip_prefix("#define") {
            let def = def.trim_start();
            let name = ident_prefix(def);
            if def[name.len()..].starts_with('(') {
                header.macros.insert(name.to_owned());
            } else if !name.starts_with('_') {
                // Not the include guard.
                header.values.insert(name.to_owned());
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match &block {
            Block::None => {
                if let Some(rest) = line.strip_prefix("struct ") {
                    if line.ends_with('{') {
                        let name = ident_prefix(rest).to_owned();
                        header.structs.insert(name.clone(), Vec::new());
                        block = Block::Struct(name);
                    }
                } else if line.starts_with("enum ") && line.ends_with('{') {
                    block = Block::Enum;
                }
            }
            Block::Struct(name) => {
                if line.starts_with('}') {
                    block = Block::None;
                } else if let Some(decl) = line.strip_suffix(';') {
                    let last = decl.split_whitespace().last().expect("a declarator");
                    let field = ident_prefix(last).to_owned();
                    header.structs.get_mut(name).unwrap().push(field);
                }
            }
            Block::Enum => {
                if line.starts_with('}') {
                    block = Block::None;
                } else {
                    let name = ident_prefix(line);
                    if !name.is_empty() {
                        header.values.insert(name.to_owned());
                    }
                }
            }
        }
    }
    header
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn rust_layout_matches_c_header_6_12() {
    let Some(include) = header_dir() else { return };
    let table = table();
    let c = run_c(&include, &table.items);

    let mut problems = Vec::new();
    for item in &table.items {
        match c.get(&item.key) {
            Some(&c_value) if c_value == item.rust => {}
            Some(&c_value) => problems.push(format!(
                "{}: C {c_value} ({c_value:#x}), Rust {} ({:#x})",
                item.key, item.rust, item.rust
            )),
            None => problems.push(format!("{}: not printed by the C program", item.key)),
        }
    }
    // No implicit padding on either side: with equal offsets, field sizes
    // and struct size, Rust then has no field C lacks.
    for s in &table.structs {
        let total: u64 = s
            .fields
            .iter()
            .map(|f| c[&format!("sizeof({}.{f})", s.name)])
            .sum();
        let size = c[&format!("sizeof({})", s.name)];
        if total != size {
            problems.push(format!(
                "{}: fields cover {total} of {size} bytes (implicit padding)",
                s.name
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} layout entries differ between Rust and {}:\n  {}",
        problems.len(),
        table.items.len(),
        include.join("drm/panthor_drm.h").display(),
        problems.join("\n  ")
    );
    eprintln!(
        "{} layout entries match {}",
        table.items.len(),
        include.join("drm/panthor_drm.h").display()
    );
}

#[test]
fn every_item_of_the_header_is_checked() {
    let Some(include) = header_dir() else { return };
    let path = include.join("drm/panthor_drm.h");
    let header = parse_header(&std::fs::read_to_string(&path).expect("read the header"));
    let table = table();

    // Sanity: the parser found the 6.12 header's contents.
    assert_eq!(header.structs.len(), 20, "structs of {}", path.display());
    assert!(header.values.contains("DRM_IOCTL_PANTHOR_VM_BIND"));
    assert!(header.values.contains("DRM_PANTHOR_SYNC_OP_SIGNAL"));

    let mut problems = Vec::new();
    let ours: BTreeMap<&str, &Vec<&str>> =
        table.structs.iter().map(|s| (s.name, &s.fields)).collect();
    for (name, fields) in &header.structs {
        match ours.get(name.as_str()) {
            None => problems.push(format!("struct {name} is not in the table")),
            Some(ours) if *ours != fields => problems.push(format!(
                "struct {name}: header fields {fields:?}, table {ours:?}"
            )),
            Some(_) => {}
        }
    }
    for name in ours.keys().filter(|n| n.starts_with("drm_panthor_")) {
        if !header.structs.contains_key(*name) {
            problems.push(format!("struct {name} of the table is not in the header"));
        }
    }
    for name in header.values.difference(&table.values) {
        problems.push(format!("{name} is not in the table"));
    }
    for name in table.values.difference(&header.values) {
        problems.push(format!("{name} of the table is not in the header"));
    }
    for name in header.macros.symmetric_difference(&table.macros) {
        let side = if header.macros.contains(name) {
            "header"
        } else {
            "table"
        };
        problems.push(format!("function-like macro {name} only in the {side}"));
    }
    assert!(
        problems.is_empty(),
        "{} and the table of tests/layout.rs disagree (this test is written for \
         Linux 6.12's header):\n  {}",
        path.display(),
        problems.join("\n  ")
    );
}

/// `DRM_IOWR(DRM_COMMAND_BASE + id, size)` written out from the asm-generic
/// `_IOC` layout (dir 2 bits at 30, size 14 bits at 16, type 'd' at 8, nr
/// at 0), independently of `uapi::ioc`.
fn panthor_iowr_formula(id: u32, size: usize) -> u32 {
    const READ_WRITE: u32 = 3;
    (READ_WRITE << 30) | ((size as u32) << 16) | ((b'd' as u32) << 8) | (0x40 + id)
}

/// Items newer than the 6.12 header, against the values of the driver
/// version that introduced them (`uapi::version`).
#[test]
fn items_newer_than_6_12_have_documented_values() {
    // The sparse seed patch (driver 1.9).
    assert_eq!(DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE, 1 << 3);
    let older_flags = DRM_PANTHOR_VM_BIND_OP_MAP_READONLY
        | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC
        | DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED
        | DRM_PANTHOR_VM_BIND_OP_TYPE_MASK;
    assert_eq!(DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE & older_flags, 0);
    assert_eq!(version::MINOR_MAP_SPARSE, 9);

    // ioctl ids: driver 1.4 (BO_SET_LABEL), 1.5 (SET_USER_MMIO_OFFSET),
    // 1.7 (BO_SYNC, BO_QUERY_INFO), after TILER_HEAP_DESTROY (12).
    assert_eq!(DRM_PANTHOR_BO_SET_LABEL, 13);
    assert_eq!(DRM_PANTHOR_SET_USER_MMIO_OFFSET, 14);
    assert_eq!(DRM_PANTHOR_BO_SYNC, 15);
    assert_eq!(DRM_PANTHOR_BO_QUERY_INFO, 16);

    // DEV_QUERY types: driver 1.1 (TIMESTAMP_INFO), 1.2
    // (GROUP_PRIORITIES_INFO), 1.9 (MMU_INFO), after CSIF_INFO (1).
    assert_eq!(DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, 2);
    assert_eq!(DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO, 3);
    assert_eq!(DRM_PANTHOR_DEV_QUERY_MMU_INFO, 4);

    // Flags: driver 1.2 (REALTIME after HIGH), 1.3 (INNOCENT), 1.7 (WB_MMAP).
    assert_eq!(PANTHOR_GROUP_PRIORITY_REALTIME, 3);
    assert_eq!(DRM_PANTHOR_GROUP_STATE_INNOCENT, 1 << 2);
    assert_eq!(DRM_PANTHOR_BO_WB_MMAP, 1 << 1);

    // Struct sizes.
    assert_eq!(size_of::<drm_panthor_bo_set_label>(), 16); // driver 1.4
    assert_eq!(size_of::<drm_panthor_set_user_mmio_offset>(), 8); // driver 1.5
    assert_eq!(size_of::<drm_panthor_bo_sync>(), 16); // driver 1.7
    assert_eq!(size_of::<drm_panthor_bo_sync_op>(), 24); // driver 1.7
    assert_eq!(size_of::<drm_panthor_bo_query_info>(), 16); // driver 1.7
    assert_eq!(size_of::<drm_panthor_mmu_info>(), 8); // driver 1.9
    assert_eq!(size_of::<drm_panthor_timestamp_info>(), 56); // driver 1.8 (24 in 1.1)
    assert_eq!(size_of::<drm_panthor_group_priorities_info>(), 4); // driver 1.2
                                                                   // Driver 1.7 renamed gpu_info's pad0; the slot is the same.
    assert_eq!(offset_of!(drm_panthor_gpu_info, selected_coherency), 68);
    // Driver 1.8 appended to timestamp_info after the 1.1 fields.
    assert_eq!(offset_of!(drm_panthor_timestamp_info, flags), 24);

    // Request codes, by the formula and as literals.
    let codes = [
        (
            "BO_SET_LABEL",
            DRM_IOCTL_PANTHOR_BO_SET_LABEL,
            DRM_PANTHOR_BO_SET_LABEL,
            size_of::<drm_panthor_bo_set_label>(),
            0xC010_644D,
        ),
        (
            "SET_USER_MMIO_OFFSET",
            DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET,
            DRM_PANTHOR_SET_USER_MMIO_OFFSET,
            size_of::<drm_panthor_set_user_mmio_offset>(),
            0xC008_644E,
        ),
        (
            "BO_SYNC",
            DRM_IOCTL_PANTHOR_BO_SYNC,
            DRM_PANTHOR_BO_SYNC,
            size_of::<drm_panthor_bo_sync>(),
            0xC010_644F,
        ),
        (
            "BO_QUERY_INFO",
            DRM_IOCTL_PANTHOR_BO_QUERY_INFO,
            DRM_PANTHOR_BO_QUERY_INFO,
            size_of::<drm_panthor_bo_query_info>(),
            0xC010_6450,
        ),
    ];
    for (name, code, id, size, literal) in codes {
        assert_eq!(
            code,
            panthor_iowr_formula(id, size),
            "DRM_IOCTL_PANTHOR_{name}"
        );
        assert_eq!(code, literal, "DRM_IOCTL_PANTHOR_{name}");
    }
}

#[test]
fn header_parser_reads_structs_enums_and_macros() {
    let header = parse_header(
        "#ifndef _X_H_\n#define _X_H_\n\
         #define A_VALUE (1ull << 3) /* c */\n\
         #define A_MACRO(x) ((x) & 1)\n\
         #define A_LONG \\\n\tA_MACRO(2)\n\
         enum e {\n\t/** @A: doc, with = and , */\n\tA = 0,\n\tB,\n};\n\
         struct s {\n\t/** @x: doc; */\n\t__u32 x;\n#define IN_STRUCT(x) (x)\n\
         \t__u8 pad[3];\n\tstruct t inner;\n};\n",
    );
    assert_eq!(header.structs["s"], ["x", "pad", "inner"]);
    assert_eq!(
        header.values.iter().collect::<Vec<_>>(),
        ["A", "A_LONG", "A_VALUE", "B"]
    );
    assert_eq!(
        header.macros.iter().collect::<Vec<_>>(),
        ["A_MACRO", "IN_STRUCT"]
    );
}
