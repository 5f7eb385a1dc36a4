//! `vulkaninfo` (Debian's vulkan-tools) through the system loader with our
//! manifest: the device is listed with its sparse features.

mod common;

use std::process::Command;

#[test]
fn vulkaninfo_lists_the_device_with_sparse_features() {
    common::use_our_icd();
    let out = match Command::new("vulkaninfo")
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("vulkaninfo could not run ({e}): install vulkan-tools (.ci/run does)"),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "vulkaninfo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let has = |needle: &str| {
        text.lines().any(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(needle)
        })
    };
    assert!(
        has("deviceName = Mali-G610 (virtual Mali"),
        "device not listed:\n{text}"
    );
    assert!(has("vendorID = 0x13b5"));
    for f in [
        "sparseBinding",
        "sparseResidencyBuffer",
        "sparseResidencyImage2D",
        "sparseResidencyImage3D",
        "sparseResidencyAliased",
    ] {
        assert!(has(&format!("{f} = true")), "{f} is not true");
    }
    assert!(has("residencyStandard2DBlockShape = true"));
    assert!(
        has("queueFlags = QUEUE_SPARSE_BINDING"),
        "the sparse-only family"
    );
}
