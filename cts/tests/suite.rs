//! The suite binary end to end through the system loader: on our ICD (the
//! debug build cargo made, on the virtual Mali) the chosen cases pass and
//! the JSON and JUnit files say so; on lavapipe every case is NotSupported
//! with the missing feature named, and none fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn target_dir() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_sparse-cts"));
    exe.parent().expect("target/<profile>").to_path_buf()
}

fn newest_mtime(dir: &Path) -> Option<std::time::SystemTime> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            if p.is_dir() {
                newest_mtime(&p)
            } else {
                e.metadata().and_then(|m| m.modified()).ok()
            }
        })
        .max()
}

/// A manifest for the cdylib cargo built beside the suite (refusing a
/// stale one, since `cargo test` does not rebuild it).
fn our_manifest(dir: &Path) -> PathBuf {
    let lib = target_dir().join("libpanthor_vk.so");
    let built = std::fs::metadata(&lib)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing: run `cargo build -p panthor-vk`",
                lib.display()
            )
        });
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../icd/src");
    assert!(
        newest_mtime(&src).is_none_or(|n| n <= built),
        "{} is older than icd/src: run `cargo build -p panthor-vk` (./scripts/test does)",
        lib.display()
    );
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/panthor_vk_icd.json.in"),
    )
    .unwrap();
    let manifest = dir.join("panthor_vk_icd.json");
    std::fs::write(
        &manifest,
        template.replace("@LIBRARY_PATH@", lib.to_str().unwrap()),
    )
    .unwrap();
    manifest
}

struct Run {
    status: i32,
    stdout: String,
    json: serde_json::Value,
    junit: String,
}

fn run_suite(manifest: &Path, dir: &Path, filters: &[&str]) -> Run {
    let (json, junit) = (dir.join("results.json"), dir.join("junit.xml"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sparse-cts"));
    cmd.arg("--no-progress")
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit);
    for f in filters {
        cmd.arg("--filter").arg(f);
    }
    let out = cmd
        .env("VK_ICD_FILENAMES", manifest)
        .env("VK_DRIVER_FILES", manifest)
        .env_remove("VK_ADD_DRIVER_FILES")
        .env("PANTHOR_VK_DEVICES", "virtual")
        .env("PANTHOR_VK_VIRTUAL_MEMORY_MB", "512")
        .output()
        .expect("run sparse-cts");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        json.exists(),
        "no JSON written; stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout,
        json: serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap(),
        junit: std::fs::read_to_string(&junit).unwrap(),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sparse-cts-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn selected_cases_pass_on_our_driver() {
    let dir = temp_dir("ours");
    let manifest = our_manifest(&dir);
    let filters = [
        "sparse_resources.buffer.sparse_binding.buffer_size_2_1*",
        "sparse_resources.buffer.sparse_aliased.*",
        "sparse_resources.queue.*",
        "sparse_resources.image.sparse_residency.2d.*",
    ];
    let r = run_suite(&manifest, &dir, &filters);
    assert_eq!(r.status, 0, "{}", r.stdout);
    assert!(r.json["device"].as_str().unwrap().contains("virtual Mali"));
    let cases = r.json["cases"].as_array().unwrap();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    assert_eq!(r.json["counts"]["fail"], 0, "{}", r.stdout);
    // What our driver lacks is named: 1- and 2-byte texels.
    for c in cases.iter().filter(|c| c["status"] == "NotSupported") {
        let why = c["reason"].as_str().unwrap();
        assert!(
            why.contains("R8") || why.contains("R16") || why.contains("R8G8"),
            "{}: {why}",
            c["name"]
        );
    }
    assert!(r.json["counts"]["pass"].as_u64().unwrap() >= 20);
    assert!(r
        .junit
        .contains(r#"<testsuite name="sparse_resources.queue.bind_sparse""#));
    assert!(r.stdout.contains("Total"));
}

#[test]
fn every_case_is_not_supported_on_lavapipe() {
    let manifest = Path::new("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json");
    assert!(
        manifest.exists(),
        "lavapipe is not installed: sudo apt-get install mesa-vulkan-drivers (./scripts/test installs it as root)"
    );
    let dir = temp_dir("lavapipe");
    let r = run_suite(manifest, &dir, &[]);
    assert_eq!(r.status, 0, "{}", r.stdout);
    assert!(r.json["device"].as_str().unwrap().contains("llvmpipe"));
    let cases = r.json["cases"].as_array().unwrap();
    assert!(cases.len() > 300);
    for c in cases {
        assert_eq!(c["status"], "NotSupported", "{c}");
        assert_eq!(c["reason"], "sparseBinding is false", "{c}");
    }
}
