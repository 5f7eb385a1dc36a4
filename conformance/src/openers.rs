//! The two devices the suite runs on: the in-process virtual Mali
//! ([`VirtualOpener`], one device per opener) and a real panthor render
//! node ([`RealOpener`]).

use std::path::PathBuf;
use std::sync::Arc;

use panthor_sim::virtual_device::VirtualDevice;
use panthor_uapi::real::RealFile;
use panthor_uapi::PanthorFile;

use crate::Opener;

/// GPU memory of a virtual device made for one case.
pub const VIRTUAL_MEMORY: u64 = 1 << 30;

/// Files on one in-process virtual device.
pub struct VirtualOpener {
    dev: Arc<VirtualDevice>,
}

impl VirtualOpener {
    /// A fresh virtual device with `memory` bytes of GPU memory.
    pub fn new(memory: u64) -> Result<VirtualOpener, String> {
        let dev = VirtualDevice::new(memory).map_err(|e| format!("virtual device: {e}"))?;
        Ok(VirtualOpener { dev })
    }
}

impl Opener for VirtualOpener {
    fn open(&self) -> Result<Box<dyn PanthorFile>, String> {
        self.dev
            .open()
            .map(|f| Box::new(f) as Box<dyn PanthorFile>)
            .map_err(|e| format!("opening the virtual device: {e}"))
    }

    fn describe(&self) -> String {
        "in-process virtual Mali (panthor-sim)".into()
    }
}

/// Files on a real render node, opened anew for every call.
pub struct RealOpener {
    path: PathBuf,
}

impl RealOpener {
    /// Checks once that `path` opens as a panthor node.
    pub fn new(path: impl Into<PathBuf>) -> Result<RealOpener, String> {
        let path = path.into();
        RealFile::open(&path).map_err(|e| e.to_string())?;
        Ok(RealOpener { path })
    }
}

impl Opener for RealOpener {
    fn open(&self) -> Result<Box<dyn PanthorFile>, String> {
        RealFile::open(&self.path)
            .map(|f| Box::new(f) as Box<dyn PanthorFile>)
            .map_err(|e| e.to_string())
    }

    fn open_real(&self) -> Option<Result<RealFile, String>> {
        Some(RealFile::open(&self.path).map_err(|e| e.to_string()))
    }

    fn describe(&self) -> String {
        match RealFile::open(&self.path) {
            Ok(f) => {
                let v = f.drm_version();
                format!(
                    "{} ({} {}.{}.{})",
                    self.path.display(),
                    v.name,
                    v.major,
                    v.minor,
                    v.patchlevel
                )
            }
            Err(e) => format!("{} ({e})", self.path.display()),
        }
    }
}
