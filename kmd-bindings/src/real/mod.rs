//! The real backend: [`PanthorFile`](crate::PanthorFile) over a Linux
//! `panthor` render node (`/dev/dri/renderD*`).
//!
//! What it needs: Linux with the panthor driver bound to a Mali CSF GPU
//! (Linux 6.10+; Debian's 6.12 is driver 1.0), and read-write access to the
//! render node (usually membership of the `render` group). Without those,
//! [`panthor_nodes`] is simply empty and the virtual Mali is the device.
//!
//! - [`render_nodes`], [`panthor_nodes`]: listing render nodes and picking the
//!   panthor ones by their `DRM_IOCTL_VERSION` name;
//! - [`RealFile`]: one open node. DRM core ioctls go through drm-ffi (raw
//!   ioctls where drm-ffi cannot pass an argument), panthor's through
//!   `libc::ioctl` with the [`uapi`](crate::uapi) structs, restarted on
//!   `EINTR`/`EAGAIN` like libdrm's `drmIoctl`;
//! - version gating: a call that needs a newer driver than the kernel's
//!   (sparse VM_BIND ops and `DEV_QUERY_MMU_INFO` need 1.9, BO labels 1.4,
//!   `SET_USER_MMIO_OFFSET` 1.5, `BO_SYNC`/`BO_QUERY_INFO` 1.7) fails with
//!   `EOPNOTSUPP` and a warning, without reaching the kernel
//!   ([`check_minor`]).
//!
//! Nothing here is used by the kernel side, so the module exists only with
//! the `std` feature.

mod enumerate;
mod file;
mod sys;

pub use enumerate::{panthor_nodes, panthor_nodes_in, render_nodes, render_nodes_in, DRI_DIR};
pub use file::{check_minor, missing_feature, OpenError, RealFile};
pub use sys::drm_core;

#[cfg(test)]
pub(crate) mod test_util {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temp dir, removed when dropped.
    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(tag: &str) -> TempDir {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("panthor-uapi-{tag}-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&path).expect("create temp dir");
            TempDir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
