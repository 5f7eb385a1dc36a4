//! Standard sparse image block shapes (the spec's "Standard Sparse Image
//! Block Shapes" tables, single sample and MSAA) and the cases that hold a
//! driver to them: when `residencyStandard2DBlockShape`,
//! `residencyStandard3DBlockShape` or
//! `residencyStandard2DMultisampleBlockShape` is true, imageGranularity
//! (from the physical-device query and from the image) must equal the
//! table's shape for the format's texel (block) size, scaled by the texel
//! block extent for compressed formats; NONSTANDARD_BLOCK_SIZE must be
//! clear; and the sparse block size (memory requirements alignment) must be
//! 64 KiB, the size of every standard shape.

use ash::vk;

use super::formats::{self, Format, Kind, Shape, SHAPE_FORMATS};
use super::sparse;
use crate::case::{CaseResult, Group};
use crate::ensure;
use crate::gpu::Vk;
use crate::require;

/// Bytes in every standard sparse block.
pub const STANDARD_BLOCK_BYTES: u64 = 65536;

/// The standard block shape, in texel blocks, for a texel (block) size of
/// `bytes`: 2D or 3D single sample, or 2D with `samples` > 1 (the MSAA
/// table). None for sizes the tables do not list.
pub fn standard_shape(bytes: u32, three_d: bool, samples: u32) -> Option<[u32; 3]> {
    let row = match bytes {
        1 => 0,
        2 => 1,
        4 => 2,
        8 => 3,
        16 => 4,
        _ => return None,
    };
    const SINGLE_2D: [[u32; 3]; 5] = [
        [256, 256, 1],
        [256, 128, 1],
        [128, 128, 1],
        [128, 64, 1],
        [64, 64, 1],
    ];
    const SINGLE_3D: [[u32; 3]; 5] = [
        [64, 32, 32],
        [32, 32, 32],
        [32, 32, 16],
        [32, 16, 16],
        [16, 16, 16],
    ];
    // Columns: 2, 4, 8, 16 samples.
    const MSAA: [[[u32; 3]; 4]; 5] = [
        [[128, 256, 1], [128, 128, 1], [64, 128, 1], [64, 64, 1]],
        [[128, 128, 1], [128, 64, 1], [64, 64, 1], [64, 32, 1]],
        [[64, 128, 1], [64, 64, 1], [32, 64, 1], [32, 32, 1]],
        [[64, 64, 1], [64, 32, 1], [32, 32, 1], [32, 16, 1]],
        [[32, 64, 1], [32, 32, 1], [16, 32, 1], [16, 16, 1]],
    ];
    match (three_d, samples) {
        (false, 1) => Some(SINGLE_2D[row]),
        (true, 1) => Some(SINGLE_3D[row]),
        (false, 2) => Some(MSAA[row][0]),
        (false, 4) => Some(MSAA[row][1]),
        (false, 8) => Some(MSAA[row][2]),
        (false, 16) => Some(MSAA[row][3]),
        _ => None,
    }
}

/// The standard shape of `format` in texels.
pub fn standard_texels(format: &Format, three_d: bool, samples: u32) -> Option<[u32; 3]> {
    let s = standard_shape(format.bytes, three_d, samples)?;
    Some([s[0] * format.block[0], s[1] * format.block[1], s[2]])
}

pub fn add(g: &mut Group) {
    let mut shapes = g.group("block_shape");
    for kind in [Kind::D2, Kind::D3] {
        let mut k = shapes.group(kind.name());
        for format in SHAPE_FORMATS {
            k.case(format.name, move |vk| block_shape(vk, format, kind, 1));
        }
    }
    for samples in [2, 4, 8, 16] {
        let mut k = shapes.group(&format!("2d_ms{samples}"));
        for format in SHAPE_FORMATS.iter().filter(|f| !f.is_compressed()) {
            let format = *format;
            k.case(format.name, move |vk| {
                block_shape(vk, format, Kind::D2, samples)
            });
        }
    }
}

fn samples_flag(samples: u32) -> vk::SampleCountFlags {
    vk::SampleCountFlags::from_raw(samples)
}

/// NotSupported unless the features and the standard-shape property for
/// this image type and sample count are true.
fn require_standard(vk: &Vk, kind: Kind, samples: u32) -> CaseResult {
    kind.require_residency(vk)?;
    let (f, p) = (&vk.features, &vk.props.sparse_properties);
    let (feature, name) = match samples {
        1 => (vk::TRUE, ""),
        2 => (f.sparse_residency2_samples, "sparseResidency2Samples"),
        4 => (f.sparse_residency4_samples, "sparseResidency4Samples"),
        8 => (f.sparse_residency8_samples, "sparseResidency8Samples"),
        _ => (f.sparse_residency16_samples, "sparseResidency16Samples"),
    };
    require!(feature == vk::TRUE, "{name} is false");
    let (standard, name) = match (kind, samples) {
        (Kind::D3, _) => (
            p.residency_standard3_d_block_shape,
            "residencyStandard3DBlockShape",
        ),
        (_, 1) => (
            p.residency_standard2_d_block_shape,
            "residencyStandard2DBlockShape",
        ),
        _ => (
            p.residency_standard2_d_multisample_block_shape,
            "residencyStandard2DMultisampleBlockShape",
        ),
    };
    require!(
        standard == vk::TRUE,
        "{name} is false (the driver may use its own block shapes)"
    );
    Ok(())
}

fn block_shape(vk: &Vk, format: Format, kind: Kind, samples: u32) -> CaseResult {
    require_standard(vk, kind, samples)?;
    let want = standard_texels(&format, kind == Kind::D3, samples).expect("table formats only");
    // Two blocks in each dimension (one level: multisample images have one).
    let size = [
        want[0] * 2,
        want[1] * 2,
        if kind == Kind::D3 { want[2] * 2 } else { 1 },
    ];
    let levels = if samples == 1 { None } else { Some(1) };
    let shape = Shape::new(kind, size, levels);
    let flag = samples_flag(samples);
    formats::require_format(vk, &format, &shape, sparse::residency_flags(), flag)?;
    let pd = formats::require_sparse_properties(vk, &format, kind, flag)?;
    let what = format!(
        "{} {}{}",
        format.vk_name(),
        kind.describe(),
        if samples > 1 {
            format!(", {samples} samples")
        } else {
            String::new()
        }
    );
    let g = sparse::extent3(pd.image_granularity);
    ensure!(
        g == want,
        "{what}: vkGetPhysicalDeviceSparseImageFormatProperties imageGranularity is {}x{}x{}, the standard block shape is {}x{}x{} texels",
        g[0],
        g[1],
        g[2],
        want[0],
        want[1],
        want[2]
    );
    ensure!(
        !pd.flags
            .contains(vk::SparseImageFormatFlags::NONSTANDARD_BLOCK_SIZE),
        "{what}: NONSTANDARD_BLOCK_SIZE is set although the standard shape is claimed"
    );
    let gpu = vk.device()?;
    let image = formats::create_image(&gpu, &format, &shape, sparse::residency_flags(), flag)?;
    // Checks the image's granularity against `pd`, hence the table.
    let res = sparse::residency(&gpu, image, &format, &shape, &pd)?;
    ensure!(
        !res.color
            .format_properties
            .flags
            .contains(vk::SparseImageFormatFlags::NONSTANDARD_BLOCK_SIZE),
        "{what}: vkGetImageSparseMemoryRequirements sets NONSTANDARD_BLOCK_SIZE although the standard shape is claimed"
    );
    ensure!(
        res.reqs.alignment == STANDARD_BLOCK_BYTES,
        "{what}: memory requirements alignment (the sparse block size) is {:#x}; standard block shapes are {STANDARD_BLOCK_BYTES:#x} bytes",
        res.reqs.alignment
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_shape_is_64_kib() {
        for bytes in [1u32, 2, 4, 8, 16] {
            for (three_d, samples) in [
                (false, 1),
                (true, 1),
                (false, 2),
                (false, 4),
                (false, 8),
                (false, 16),
            ] {
                let s = standard_shape(bytes, three_d, samples).unwrap();
                let total =
                    s.iter().map(|&d| d as u64).product::<u64>() * bytes as u64 * samples as u64;
                assert_eq!(
                    total, STANDARD_BLOCK_BYTES,
                    "{bytes} bytes, 3d {three_d}, {samples} samples"
                );
            }
        }
        assert_eq!(standard_shape(4, true, 1), Some([32, 32, 16]));
        assert_eq!(standard_shape(4, false, 1), Some([128, 128, 1]));
        assert_eq!(standard_shape(3, false, 1), None);
    }
}
