//! Sparse residency bookkeeping shared by the image cases: the image's
//! sparse memory requirements, checked against the spec's rules; its sparse
//! blocks; its mip tails (per layer or single, plus metadata); and the bind
//! structures for them.

use ash::vk;

use super::formats::{self, Format, Shape};
use super::transfer::{Region, TestImage};
use crate::case::Stop;
use crate::gpu::{ensure_multiple, Gpu};
use crate::{ensure, fail};

/// A partially resident image's requirements, validated.
pub struct Residency {
    pub reqs: vk::MemoryRequirements,
    pub color: vk::SparseImageMemoryRequirements,
    pub metadata: Option<vk::SparseImageMemoryRequirements>,
    pub shape: Shape,
}

/// One sparse block of a level outside the mip tail.
#[derive(Clone, Copy, Debug)]
pub struct Block {
    /// Block coordinates in the level.
    pub index: [u32; 3],
    /// The texels it covers (clipped at the level's edge).
    pub region: Region,
}

impl Block {
    pub fn bind(&self, memory: vk::DeviceMemory, memory_offset: u64) -> vk::SparseImageMemoryBind {
        let r = &self.region;
        vk::SparseImageMemoryBind {
            subresource: vk::ImageSubresource {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                mip_level: r.level,
                array_layer: r.layer,
            },
            offset: vk::Offset3D {
                x: r.offset[0] as i32,
                y: r.offset[1] as i32,
                z: r.offset[2] as i32,
            },
            extent: vk::Extent3D {
                width: r.extent[0],
                height: r.extent[1],
                depth: r.extent[2],
            },
            memory,
            memory_offset,
            flags: vk::SparseMemoryBindFlags::empty(),
        }
    }
}

/// One opaque range to bind for a mip tail (one layer's, or the single one)
/// or the metadata aspect.
#[derive(Clone, Copy, Debug)]
pub struct Tail {
    pub offset: u64,
    pub size: u64,
    pub metadata: bool,
    /// The layer whose tail this is; None for a single mip tail.
    pub layer: Option<u32>,
}

impl Tail {
    pub fn bind(&self, memory: vk::DeviceMemory, memory_offset: u64) -> vk::SparseMemoryBind {
        vk::SparseMemoryBind {
            resource_offset: self.offset,
            size: self.size,
            memory,
            memory_offset,
            flags: if self.metadata {
                vk::SparseMemoryBindFlags::METADATA
            } else {
                vk::SparseMemoryBindFlags::empty()
            },
        }
    }
}

pub fn extent3(e: vk::Extent3D) -> [u32; 3] {
    [e.width, e.height, e.depth]
}

/// The first level that the spec puts in the mip tail: the first one
/// smaller than a sparse block in some dimension, or (ALIGNED_MIP_SIZE) the
/// first one that is not a whole number of blocks in some dimension;
/// `shape.levels` when no level is.
pub fn expected_first_lod(shape: &Shape, g: [u32; 3], aligned: bool) -> u32 {
    (0..shape.levels)
        .find(|&l| {
            let e = shape.level_extent(l);
            (0..3).any(|i| e[i] < g[i] || (aligned && e[i] % g[i] != 0))
        })
        .unwrap_or(shape.levels)
}

fn dims(e: [u32; 3]) -> String {
    format!("{}x{}x{}", e[0], e[1], e[2])
}

/// Checks one aspect's mip tail fields against the spec: size a non-zero
/// multiple of the sparse block size (alignment), offset and stride
/// multiples of it, the tail(s) inside [0, size), per-layer tails not
/// overlapping (the spec's recipe binds them all in one batch).
fn check_tail(
    req: &vk::SparseImageMemoryRequirements,
    reqs: &vk::MemoryRequirements,
    layers: u32,
    what: &str,
) -> Result<(), Stop> {
    let align = reqs.alignment;
    ensure!(
        req.image_mip_tail_size > 0,
        "{what}: the image has a mip tail but imageMipTailSize is 0"
    );
    ensure_multiple(
        req.image_mip_tail_size,
        align,
        &format!("{what}: imageMipTailSize"),
    )?;
    ensure_multiple(
        req.image_mip_tail_offset,
        align,
        &format!("{what}: imageMipTailOffset"),
    )?;
    let single = req
        .format_properties
        .flags
        .contains(vk::SparseImageFormatFlags::SINGLE_MIPTAIL);
    let end = if single || layers == 1 {
        req.image_mip_tail_offset + req.image_mip_tail_size
    } else {
        ensure_multiple(
            req.image_mip_tail_stride,
            align,
            &format!("{what}: imageMipTailStride"),
        )?;
        ensure!(
            req.image_mip_tail_stride >= req.image_mip_tail_size,
            "{what}: per-layer mip tails overlap: imageMipTailStride {:#x} < imageMipTailSize {:#x}",
            req.image_mip_tail_stride,
            req.image_mip_tail_size
        );
        req.image_mip_tail_offset
            + (layers as u64 - 1) * req.image_mip_tail_stride
            + req.image_mip_tail_size
    };
    ensure!(
        end <= reqs.size,
        "{what}: the mip tail{} end at {end:#x}, beyond the memory requirements size {:#x} (offset {:#x}, size {:#x}, stride {:#x}, {layers} layer(s))",
        if single { "" } else { "s" },
        reqs.size,
        req.image_mip_tail_offset,
        req.image_mip_tail_size,
        req.image_mip_tail_stride
    );
    Ok(())
}

/// Checks the COLOR entry's imageMipTailFirstLod against the level sizes
/// (see [`expected_first_lod`]) and, when there is a tail, its fields.
pub fn check_mip_tail(
    vk: &crate::gpu::Vk,
    color: &vk::SparseImageMemoryRequirements,
    reqs: &vk::MemoryRequirements,
    shape: &Shape,
    what: &str,
) -> Result<(), Stop> {
    let g = extent3(color.format_properties.image_granularity);
    let aligned = color
        .format_properties
        .flags
        .contains(vk::SparseImageFormatFlags::ALIGNED_MIP_SIZE);
    ensure!(
        !aligned || vk.props.sparse_properties.residency_aligned_mip_size == vk::TRUE,
        "{what}: ALIGNED_MIP_SIZE is set but residencyAlignedMipSize is false"
    );
    let expected = expected_first_lod(shape, g, aligned);
    let first = color.image_mip_tail_first_lod;
    let rule = if aligned {
        "not a whole number of sparse blocks (ALIGNED_MIP_SIZE)"
    } else {
        "smaller than a sparse block"
    };
    if expected < shape.levels {
        if first > expected {
            fail!(
                "{what}: imageMipTailFirstLod = {first}, expected {expected}: level {expected} is {} texels, {rule} ({}), so it must be in the mip tail",
                dims(shape.level_extent(expected)),
                dims(g)
            );
        }
        if first < expected {
            fail!(
                "{what}: imageMipTailFirstLod = {first}, expected {expected}: level {first} is {} texels, not {rule} ({}), so it must not be in the mip tail",
                dims(shape.level_extent(first)),
                dims(g)
            );
        }
        check_tail(color, reqs, shape.layers, what)?;
    } else {
        ensure!(
            first >= shape.levels,
            "{what}: imageMipTailFirstLod = {first} but every level ({} levels, smallest {} texels) is at least one sparse block ({}){}; no level belongs in the mip tail",
            shape.levels,
            dims(shape.level_extent(shape.levels - 1)),
            dims(g),
            if aligned { " and a whole number of blocks" } else { "" }
        );
    }
    Ok(())
}

/// The sparse requirements of a SPARSE_RESIDENCY image, checked against
/// the spec: the memory requirements, one COLOR entry whose granularity and
/// aspect agree with `vkGetPhysicalDeviceSparseImageFormatProperties`
/// (`pd`), only COLOR or METADATA aspects, the mip tail rules for COLOR,
/// and the tail fields of METADATA.
pub fn residency(
    gpu: &Gpu,
    image: vk::Image,
    format: &Format,
    shape: &Shape,
    pd: &vk::SparseImageFormatProperties,
) -> Result<Residency, Stop> {
    let what = format!(
        "{} {} ({})",
        format.vk_name(),
        shape.kind.describe(),
        shape.describe()
    );
    let reqs = formats::requirements(gpu, image)?;
    let all = gpu.image_sparse_requirements(image);
    let mut color = None;
    let mut metadata = None;
    for r in &all {
        let aspect = r.format_properties.aspect_mask;
        if aspect == vk::ImageAspectFlags::COLOR {
            ensure!(
                color.is_none(),
                "{what}: vkGetImageSparseMemoryRequirements returned two COLOR entries"
            );
            color = Some(*r);
        } else if aspect == vk::ImageAspectFlags::METADATA {
            ensure!(
                metadata.is_none(),
                "{what}: vkGetImageSparseMemoryRequirements returned two METADATA entries"
            );
            metadata = Some(*r);
        } else {
            fail!("{what}: vkGetImageSparseMemoryRequirements returned an entry for aspects {aspect:?} (a color format has only COLOR and METADATA)");
        }
    }
    let Some(color) = color else {
        fail!(
            "{what}: vkGetImageSparseMemoryRequirements returned no COLOR entry ({} entries) for a SPARSE_RESIDENCY image",
            all.len()
        )
    };
    let g = color.format_properties.image_granularity;
    ensure!(
        g.width > 0 && g.height > 0 && g.depth > 0,
        "{what}: imageGranularity {}x{}x{} has a zero dimension",
        g.width,
        g.height,
        g.depth
    );
    ensure!(
        g == pd.image_granularity,
        "{what}: vkGetImageSparseMemoryRequirements granularity {} differs from vkGetPhysicalDeviceSparseImageFormatProperties {}",
        dims(extent3(g)),
        dims(extent3(pd.image_granularity))
    );
    if format.is_compressed() {
        ensure!(
            g.width % format.block[0] == 0 && g.height % format.block[1] == 0,
            "{what}: imageGranularity {} texels is not a whole number of {}x{} texel blocks",
            dims(extent3(g)),
            format.block[0],
            format.block[1]
        );
    }
    check_mip_tail(gpu.vk, &color, &reqs, shape, &what)?;
    if let Some(m) = &metadata {
        check_tail(m, &reqs, shape.layers, &format!("{what}, METADATA aspect"))?;
    }
    Ok(Residency {
        reqs,
        color,
        metadata,
        shape: *shape,
    })
}

impl Residency {
    pub fn granularity(&self) -> [u32; 3] {
        extent3(self.color.format_properties.image_granularity)
    }

    pub fn single_tail(&self) -> bool {
        self.color
            .format_properties
            .flags
            .contains(vk::SparseImageFormatFlags::SINGLE_MIPTAIL)
    }

    /// The first level in the mip tail (`levels` when there is none).
    pub fn first_lod(&self) -> u32 {
        self.color.image_mip_tail_first_lod.min(self.shape.levels)
    }

    pub fn has_tail(&self) -> bool {
        self.first_lod() < self.shape.levels
    }

    /// Every sparse block of every level before the mip tail, level by
    /// level, layer by layer, row-major.
    pub fn blocks(&self) -> Vec<Block> {
        let g = self.granularity();
        let mut out = Vec::new();
        for level in 0..self.first_lod() {
            let e = self.shape.level_extent(level);
            let n = [0, 1, 2].map(|i| e[i].div_ceil(g[i]));
            for layer in 0..self.shape.layers {
                for z in 0..n[2] {
                    for y in 0..n[1] {
                        for x in 0..n[0] {
                            let index = [x, y, z];
                            let offset = [0, 1, 2].map(|i| index[i] * g[i]);
                            let extent = [0, 1, 2].map(|i| g[i].min(e[i] - offset[i]));
                            out.push(Block {
                                index,
                                region: Region {
                                    level,
                                    layer,
                                    offset,
                                    extent,
                                },
                            });
                        }
                    }
                }
            }
        }
        out
    }

    /// The opaque ranges that bind the COLOR mip tail(s): one per layer, or
    /// one for a single mip tail; none without a tail.
    pub fn color_tails(&self) -> Vec<Tail> {
        if !self.has_tail() {
            return Vec::new();
        }
        tails_of(&self.color, self.shape.layers, false)
    }

    /// The METADATA aspect's tail(s), which must be bound before use.
    pub fn metadata_tails(&self) -> Vec<Tail> {
        match &self.metadata {
            Some(m) if m.image_mip_tail_size > 0 => tails_of(m, self.shape.layers, true),
            _ => Vec::new(),
        }
    }

    /// Colour and metadata tails.
    pub fn all_tails(&self) -> Vec<Tail> {
        let mut t = self.color_tails();
        t.extend(self.metadata_tails());
        t
    }

    /// The subresources in the mip tail, for `layer` (None: all layers).
    pub fn tail_regions(&self, layer: Option<u32>) -> Vec<Region> {
        let mut out = Vec::new();
        for level in self.first_lod()..self.shape.levels {
            for a in 0..self.shape.layers {
                if layer.is_none_or(|l| l == a) {
                    out.push(Region {
                        level,
                        layer: a,
                        offset: [0; 3],
                        extent: self.shape.level_extent(level),
                    });
                }
            }
        }
        out
    }
}

fn tails_of(req: &vk::SparseImageMemoryRequirements, layers: u32, metadata: bool) -> Vec<Tail> {
    let single = req
        .format_properties
        .flags
        .contains(vk::SparseImageFormatFlags::SINGLE_MIPTAIL);
    if single {
        return vec![Tail {
            offset: req.image_mip_tail_offset,
            size: req.image_mip_tail_size,
            metadata,
            layer: None,
        }];
    }
    (0..layers)
        .map(|a| Tail {
            offset: req.image_mip_tail_offset + a as u64 * req.image_mip_tail_stride,
            size: req.image_mip_tail_size,
            metadata,
            layer: Some(a),
        })
        .collect()
}

/// Binds for some blocks and tails of one image, all in one allocation.
pub struct Placed {
    pub blocks: Vec<vk::SparseImageMemoryBind>,
    pub tails: Vec<vk::SparseMemoryBind>,
}

impl Placed {
    /// Submits the binds in one batch on the bind queue and waits.
    pub fn bind(&self, gpu: &Gpu, image: vk::Image) -> Result<(), Stop> {
        formats::bind_image(
            gpu,
            formats::bind_queue(gpu),
            image,
            &self.blocks,
            &self.tails,
        )
    }

    /// The same blocks and tails placed one after another in a fresh
    /// allocation (not bound yet).
    pub fn moved(&self, gpu: &Gpu, reqs: &vk::MemoryRequirements) -> Result<Placed, Stop> {
        let total = self.blocks.len() as u64 * reqs.alignment
            + self.tails.iter().map(|t| t.size).sum::<u64>();
        let memory = formats::memory(gpu, reqs, total)?;
        let mut next = 0;
        let mut take = |size: u64| {
            next += size;
            next - size
        };
        Ok(Placed {
            blocks: self
                .blocks
                .iter()
                .map(|b| vk::SparseImageMemoryBind {
                    memory,
                    memory_offset: take(reqs.alignment),
                    ..*b
                })
                .collect(),
            tails: self
                .tails
                .iter()
                .map(|t| vk::SparseMemoryBind {
                    memory,
                    memory_offset: take(t.size),
                    ..*t
                })
                .collect(),
        })
    }

    /// [`TestImage::round_trip`] through [`Placed::moved`]: proves these
    /// binds reached their memory.
    pub fn round_trip(
        &self,
        gpu: &Gpu,
        img: &TestImage,
        reqs: &vk::MemoryRequirements,
        data: &[u8],
        regions: &[Region],
        g: Option<[u32; 3]>,
    ) -> Result<(), Stop> {
        let away = self.moved(gpu, reqs)?;
        img.round_trip(
            gpu,
            || away.bind(gpu, img.image),
            || self.bind(gpu, img.image),
            data,
            regions,
            g,
        )
    }
}

/// Places `blocks` and `tails` in one fresh allocation, each at its own
/// offset, assigned in reverse order (so the driver cannot get away with
/// identity placement). Nothing is bound yet.
pub fn place(gpu: &Gpu, res: &Residency, blocks: &[Block], tails: &[Tail]) -> Result<Placed, Stop> {
    let align = res.reqs.alignment;
    let total = blocks.len() as u64 * align + tails.iter().map(|t| t.size).sum::<u64>();
    let memory = formats::memory(gpu, &res.reqs, total)?;
    let mut next = total;
    let mut take = |size: u64| {
        next -= size;
        next
    };
    let blocks = blocks.iter().map(|b| b.bind(memory, take(align))).collect();
    let tails = tails.iter().map(|t| t.bind(memory, take(t.size))).collect();
    Ok(Placed { blocks, tails })
}

/// [`place`], then bind.
pub fn bind_in_one_allocation(
    gpu: &Gpu,
    image: vk::Image,
    res: &Residency,
    blocks: &[Block],
    tails: &[Tail],
) -> Result<Placed, Stop> {
    let placed = place(gpu, res, blocks, tails)?;
    placed.bind(gpu, image)?;
    Ok(placed)
}

/// Feature, format and sparse-format checks for a partially resident image
/// of `format` and `shape` with `extra` create flags (beyond
/// SPARSE_BINDING | SPARSE_RESIDENCY); returns the physical-device sparse
/// properties of the COLOR aspect.
pub fn require_residency(
    vk: &crate::gpu::Vk,
    format: &Format,
    shape: &Shape,
    extra: vk::ImageCreateFlags,
) -> Result<vk::SparseImageFormatProperties, Stop> {
    shape.kind.require_residency(vk)?;
    let flags = residency_flags() | extra;
    formats::require_format(vk, format, shape, flags, vk::SampleCountFlags::TYPE_1)?;
    formats::require_sparse_properties(vk, format, shape.kind, vk::SampleCountFlags::TYPE_1)
}

pub fn residency_flags() -> vk::ImageCreateFlags {
    vk::ImageCreateFlags::SPARSE_BINDING | vk::ImageCreateFlags::SPARSE_RESIDENCY
}

/// A checked partially resident image: created, with requirements validated.
pub fn create_resident(
    gpu: &Gpu,
    format: &Format,
    shape: &Shape,
    extra: vk::ImageCreateFlags,
    pd: &vk::SparseImageFormatProperties,
) -> Result<(vk::Image, Residency), Stop> {
    let image = formats::create_image(
        gpu,
        format,
        shape,
        residency_flags() | extra,
        vk::SampleCountFlags::TYPE_1,
    )?;
    let res = residency(gpu, image, format, shape, pd)?;
    Ok((image, res))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::image::formats::Kind;

    #[test]
    fn first_lod_follows_the_spec() {
        let shape = Shape::new(Kind::D2, [300, 200, 1], None);
        // 300x200, 150x100: the second is smaller than 128x128.
        assert_eq!(expected_first_lod(&shape, [128, 128, 1], false), 1);
        // Aligned: 300 is not a multiple of 128.
        assert_eq!(expected_first_lod(&shape, [128, 128, 1], true), 0);
        let shape = Shape::new(Kind::D2, [512, 256, 1], None);
        assert_eq!(expected_first_lod(&shape, [128, 128, 1], true), 2);
        assert_eq!(expected_first_lod(&shape, [128, 128, 1], false), 2);
        let shape = Shape::new(Kind::D3, [80, 48, 24], None);
        assert_eq!(expected_first_lod(&shape, [32, 32, 16], false), 1);
        let shape = Shape::new(Kind::D2, [512, 512, 1], Some(2));
        assert_eq!(expected_first_lod(&shape, [128, 128, 1], false), 2);
    }
}
