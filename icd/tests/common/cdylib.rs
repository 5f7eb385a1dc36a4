//! The cdylibs the loader tests load, checked to be fresh: `cargo test`
//! links the rlib but does not rebuild the cdylib the loader opens. Shared
//! by the ICD's and the layer's tests (the layer includes it by path).

use std::path::{Path, PathBuf};

/// `target/<profile>/`, where cargo puts the cdylibs.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .to_path_buf()
}

/// A cdylib cargo built, checked to be newer than its sources (`cargo test`
/// does not rebuild the cdylib the loader loads).
pub fn library(file: &str, package: &str, src: &Path) -> PathBuf {
    let lib = target_dir().join(file);
    let built = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let lib_time = built(&lib).unwrap_or_else(|| {
        panic!(
            "{} is missing: run `cargo build -p {package}` first",
            lib.display()
        )
    });
    // The sources the build used, from cargo's dep-info file beside the
    // library (a `#[cfg(test)]` file does not make the cdylib stale);
    // without one, everything under `src`.
    let deps = lib.with_extension("d");
    let newest = match std::fs::read_to_string(&deps) {
        Ok(text) => text
            .lines()
            .filter_map(|l| l.split_once(": "))
            .flat_map(|(_, files)| files.split_whitespace())
            .filter_map(|f| built(Path::new(f)))
            .max(),
        Err(_) => newest_mtime(src),
    };
    assert!(
        newest.is_none_or(|n| n <= lib_time),
        "{} is older than {}: run `cargo build -p {package}` (./scripts/test does)",
        lib.display(),
        src.display()
    );
    lib
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
