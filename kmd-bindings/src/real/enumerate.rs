//! Finding panthor devices: the render nodes under `/dev/dri`, and the ones
//! whose driver (as `DRM_IOCTL_VERSION` names it) is panthor.

use std::io;
use std::path::{Path, PathBuf};

use super::file::{OpenError, RealFile};

/// Where Linux puts DRM device nodes.
pub const DRI_DIR: &str = "/dev/dri";

/// The `renderD<N>` entries of `/dev/dri`, by increasing `N`; empty when
/// the directory does not exist or cannot be read.
pub fn render_nodes() -> Vec<PathBuf> {
    render_nodes_in(Path::new(DRI_DIR))
}

/// The `renderD<N>` entries of `dir` (any file type: opening them decides
/// what they are), by increasing `N`; empty when `dir` cannot be read.
pub fn render_nodes_in(dir: &Path) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            if err.kind() != io::ErrorKind::NotFound {
                log::debug!("cannot list {}: {err}", dir.display());
            }
            return Vec::new();
        }
    };
    let mut nodes: Vec<(u32, PathBuf)> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let minor = render_minor(entry.file_name().to_str()?)?;
            Some((minor, entry.path()))
        })
        .collect();
    nodes.sort();
    nodes.into_iter().map(|(_, path)| path).collect()
}

/// `N` of a `renderD<N>` name (decimal digits only), else `None`.
fn render_minor(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("renderD")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The render nodes of `/dev/dri` whose `DRM_IOCTL_VERSION` name is
/// panthor (any version: [`RealFile::open`] refuses a major other than 1
/// with a clear error), in [`render_nodes`] order. Nodes that cannot be
/// opened read-write or are not panthor are skipped, with a log line saying
/// why.
pub fn panthor_nodes() -> Vec<PathBuf> {
    panthor_nodes_in(Path::new(DRI_DIR))
}

/// [`panthor_nodes`] over the render nodes of `dir`.
pub fn panthor_nodes_in(dir: &Path) -> Vec<PathBuf> {
    render_nodes_in(dir)
        .into_iter()
        .filter(|path| match RealFile::open(path) {
            Ok(file) => {
                let v = file.drm_version();
                log::debug!(
                    "{}: panthor {}.{}.{}",
                    path.display(),
                    v.major,
                    v.minor,
                    v.patchlevel
                );
                true
            }
            Err(err @ OpenError::UnsupportedMajor { .. }) => {
                // Named panthor, so listed; opening it reports the mismatch.
                log::warn!("{err}");
                true
            }
            Err(err @ OpenError::Io { .. }) if is_permission_error(&err) => {
                // The usual reason a Mali board "has no GPU": the user is
                // not in the group that owns the node (`render`).
                log::warn!("skipping {err} (is the user in the node's group, usually `render`?)");
                false
            }
            Err(err) => {
                log::debug!("skipping {err}");
                false
            }
        })
        .collect()
}

fn is_permission_error(err: &OpenError) -> bool {
    matches!(err, OpenError::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::real::test_util::TempDir;

    #[test]
    fn missing_directory_has_no_nodes() {
        let dir = TempDir::new("enum-missing");
        let missing = dir.path().join("no-such-dir");
        assert_eq!(render_nodes_in(&missing), Vec::<PathBuf>::new());
        assert_eq!(panthor_nodes_in(&missing), Vec::<PathBuf>::new());
    }

    #[test]
    fn directory_without_render_nodes_is_empty() {
        let dir = TempDir::new("enum-empty");
        assert!(render_nodes_in(dir.path()).is_empty());
        // Names that only look like render nodes do not count.
        for name in ["card0", "renderD", "renderDx1", "renderD12a", "xrenderD128"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        assert_eq!(render_nodes_in(dir.path()), Vec::<PathBuf>::new());
        assert_eq!(panthor_nodes_in(dir.path()), Vec::<PathBuf>::new());
    }

    #[test]
    fn render_nodes_sort_by_minor_and_non_drm_files_are_not_panthor() {
        let dir = TempDir::new("enum-files");
        for name in ["renderD1000", "renderD129", "renderD128", "card1"] {
            std::fs::write(dir.path().join(name), b"not a device").unwrap();
        }
        let expected: Vec<PathBuf> = ["renderD128", "renderD129", "renderD1000"]
            .iter()
            .map(|name| dir.path().join(name))
            .collect();
        assert_eq!(render_nodes_in(dir.path()), expected);
        // Regular files open fine but DRM_IOCTL_VERSION fails on them.
        assert_eq!(panthor_nodes_in(dir.path()), Vec::<PathBuf>::new());
    }

    #[test]
    fn panthor_nodes_of_this_machine() {
        let nodes = panthor_nodes();
        if Path::new(DRI_DIR).exists() {
            // With hardware: every panthor node is one of the render nodes.
            let all = render_nodes();
            assert!(
                nodes.iter().all(|n| all.contains(n)),
                "{nodes:?} vs {all:?}"
            );
        } else {
            assert_eq!(render_nodes(), Vec::<PathBuf>::new());
            assert_eq!(nodes, Vec::<PathBuf>::new());
        }
    }

    #[test]
    fn render_minor_parses_only_render_names() {
        assert_eq!(render_minor("renderD128"), Some(128));
        assert_eq!(render_minor("renderD0"), Some(0));
        assert_eq!(render_minor("renderD"), None);
        assert_eq!(render_minor("renderD+1"), None);
        assert_eq!(render_minor("card0"), None);
        assert_eq!(render_minor("renderD99999999999"), None);
    }
}
