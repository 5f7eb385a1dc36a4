//! Which panthor devices the driver offers, and how it opens them.
//!
//! Real panthor render nodes come first. The virtual Mali (the in-process
//! simulator, `panthor-sim`) is listed when no real node exists, or when
//! `PANTHOR_VK_DEVICES` asks for it:
//!
//! | `PANTHOR_VK_DEVICES` | devices listed                                |
//! |----------------------|-----------------------------------------------|
//! | unset or `auto`      | real panthor nodes; the virtual Mali if none  |
//! | `virtual`            | the virtual Mali only                         |
//! | `real`               | real panthor nodes only                       |
//! | `all`                | real nodes, then the virtual Mali             |
//!
//! `PANTHOR_VK_VIRTUAL_MEMORY_MB` sets the virtual Mali's memory (default
//! 2048 MiB; pages cost host memory only once used). The virtual Mali is one
//! per process, shared by every instance, like a real GPU.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use ash::vk;
use panthor_sim::virtual_device::VirtualDevice;
use panthor_uapi::real::{panthor_nodes, RealFile};
use panthor_uapi::PanthorFile;

use crate::guard::{VkError, VkResult};

/// An open panthor file, shared by the objects that use it.
pub type File = Arc<dyn PanthorFile>;

/// One device the driver can open.
#[derive(Clone, Debug)]
pub enum Adapter {
    Real(PathBuf),
    Virtual,
}

const DEFAULT_VIRTUAL_MB: u64 = 2048;

impl Adapter {
    /// The adapters to list, per `PANTHOR_VK_DEVICES`.
    pub fn discover() -> Vec<Adapter> {
        let choice = std::env::var("PANTHOR_VK_DEVICES").unwrap_or_default();
        let real = || panthor_nodes().into_iter().map(Adapter::Real);
        match choice.as_str() {
            "virtual" => vec![Adapter::Virtual],
            "real" => real().collect(),
            "all" => real().chain([Adapter::Virtual]).collect(),
            other => {
                if !other.is_empty() && other != "auto" {
                    log::warn!(
                        "PANTHOR_VK_DEVICES={other:?} is not auto/virtual/real/all; using auto"
                    );
                }
                let found: Vec<Adapter> = real().collect();
                if found.is_empty() {
                    vec![Adapter::Virtual]
                } else {
                    found
                }
            }
        }
    }

    /// Opens a new file on the device (each VkDevice has its own, so its
    /// own VMs, handles and sparse dummy page).
    pub fn open(&self) -> VkResult<File> {
        match self {
            Adapter::Real(path) => RealFile::open(path)
                .map(|f| Arc::new(f) as File)
                .map_err(|e| {
                    VkError::new(
                        vk::Result::ERROR_INITIALIZATION_FAILED,
                        format!("opening {}: {e}", path.display()),
                    )
                }),
            Adapter::Virtual => {
                let dev = virtual_mali()?;
                dev.open().map(|f| Arc::new(f) as File).map_err(|e| {
                    VkError::new(
                        vk::Result::ERROR_INITIALIZATION_FAILED,
                        format!("opening the virtual Mali: {e}"),
                    )
                })
            }
        }
    }

    pub fn is_virtual(&self) -> bool {
        matches!(self, Adapter::Virtual)
    }
}

/// The virtual Mali's memory in bytes, per `PANTHOR_VK_VIRTUAL_MEMORY_MB`.
pub fn virtual_memory_bytes() -> u64 {
    let mb = match std::env::var("PANTHOR_VK_VIRTUAL_MEMORY_MB") {
        Ok(v) => v.parse::<u64>().unwrap_or_else(|_| {
            log::warn!(
                "PANTHOR_VK_VIRTUAL_MEMORY_MB={v:?} is not a number; using {DEFAULT_VIRTUAL_MB}"
            );
            DEFAULT_VIRTUAL_MB
        }),
        Err(_) => DEFAULT_VIRTUAL_MB,
    };
    mb << 20
}

/// The process's virtual Mali, created on first use.
fn virtual_mali() -> VkResult<Arc<VirtualDevice>> {
    static DEV: OnceLock<Result<Arc<VirtualDevice>, String>> = OnceLock::new();
    DEV.get_or_init(|| {
        let bytes = virtual_memory_bytes();
        VirtualDevice::new(bytes)
            .map_err(|e| format!("creating the virtual Mali ({} MiB): {e}", bytes >> 20))
    })
    .clone()
    .map_err(|why| VkError::new(vk::Result::ERROR_INITIALIZATION_FAILED, why))
}
