//! Reports of one device's sparse resources: a JSON summary
//! (`summary.json`, one entry per resource, see [`DeviceReport`]) and PNG
//! residency maps, written into `<report dir>/device-<pid>-<n>/`.
//!
//! Maps: one PNG per grid (aspect, mip level, array layer) of an image with
//! residency, named `<resource>-aspect<a>-mip<m>-layer<l>.png`, one square of
//! `png_scale` pixels per block, block (x, y) at pixels
//! `[x * scale, (x + 1) * scale) x [y * scale, (y + 1) * scale)`, the depth
//! slices of a 3D image stacked downwards; and per resource
//! `<resource>-opaque.png` for the opaque range (all of a buffer; an image's
//! opaque binds and mip tails): block `i` at column `i % 64`, row `i / 64`.
//! A bound block has the colour of its memory object ([`palette`] of the
//! memory's allocation number); an unbound block is transparent.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ash::vk;
use serde::{Deserialize, Serialize};

use crate::tracker::{BlockKey, Kind, Resource, Tracker};

/// Blocks per row of the opaque maps.
pub const OPAQUE_COLUMNS: u64 = 64;
/// Maps with more blocks than this are not drawn (the JSON still counts).
pub const MAX_MAP_BLOCKS: u64 = 1 << 22;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeviceReport {
    /// The layer's number for the device in this process.
    pub device: u64,
    pub bind_sparse_calls: u64,
    /// Calls the driver refused (not in the model).
    pub bind_sparse_failed_calls: u64,
    /// Time spent in the driver's `vkQueueBindSparse`, all calls.
    pub bind_sparse_time_us: f64,
    /// Messages sent, by rule.
    pub messages: BTreeMap<String, u64>,
    /// Live resources at the time of the report.
    pub resources: Vec<ResourceReport>,
    /// Resources destroyed earlier (their statistics; no blocks).
    pub destroyed: Vec<ResourceReport>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResourceReport {
    /// Debug name, else `buffer#N` / `image#N`.
    pub label: String,
    pub kind: String,
    pub handle: String,
    /// `VkBufferCreateFlags` / `VkImageCreateFlags`.
    pub flags: u32,
    pub aliased: bool,
    pub residency: bool,
    /// `VkMemoryRequirements`: `size`, `alignment` (the block size) and
    /// `memoryTypeBits`.
    pub reserved_bytes: u64,
    pub block_size: u64,
    pub memory_type_bits: u32,
    pub committed_bytes: u64,
    pub blocks_total: u64,
    pub blocks_bound: u64,
    /// Bound blocks per memory object, by the memory's allocation number.
    pub blocks_per_memory: BTreeMap<u64, u64>,
    /// Accepted `vkQueueBindSparse` calls that bound or unbound it.
    pub bind_calls: u64,
    /// Calls the driver refused (not counted elsewhere).
    pub failed_calls: u64,
    pub binds: u64,
    pub blocks_bound_total: u64,
    pub blocks_unbound_total: u64,
    pub bind_time_us: f64,
    /// Blocks [bound, unbound] per call, the most recent calls.
    pub calls: Vec<[u64; 2]>,
    pub image: Option<ImageReport>,
    /// Every bound block, as runs of consecutive blocks bound to
    /// consecutive ranges of one memory object (at most [`MAX_RUNS`]).
    pub runs: Vec<Run>,
    /// Whether `runs` was cut at [`MAX_RUNS`].
    pub runs_truncated: bool,
    /// The PNG files drawn for it, in the report folder.
    pub maps: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImageReport {
    pub image_type: i32,
    pub format: i32,
    pub extent: [u32; 3],
    pub mip_levels: u32,
    pub array_layers: u32,
    pub sparse_requirements: Vec<AspectReport>,
    pub grids: Vec<GridReport>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AspectReport {
    pub aspect_mask: u32,
    pub block_shape: [u32; 3],
    pub single_mip_tail: bool,
    pub aligned_mip_size: bool,
    pub mip_tail_first_lod: u32,
    pub mip_tail_size: u64,
    pub mip_tail_offset: u64,
    pub mip_tail_stride: u64,
}

/// `count` blocks from block `first` of `space` (`"opaque"`, or the grid's
/// index in `image.grids`), bound to memory `memory` (allocation number;
/// handle `memory_handle`) from byte `memory_offset` on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub space: String,
    pub first: u64,
    pub count: u64,
    pub memory: u64,
    pub memory_handle: String,
    pub memory_offset: u64,
}

/// The most runs listed per resource.
pub const MAX_RUNS: usize = 1 << 16;

/// The bound blocks of `r` as runs, sorted by space and block.
pub fn runs(r: &Resource) -> (Vec<Run>, bool) {
    let mut blocks: Vec<(BlockKey, crate::tracker::Binding)> = r.bound.iter().collect();
    blocks.sort_by_key(|(k, _)| *k);
    let mut out: Vec<Run> = Vec::new();
    let mut last: Option<(BlockKey, crate::tracker::Binding)> = None;
    for (k, b) in blocks {
        let follows = last.is_some_and(|(lk, lb)| {
            let next = match (lk, k) {
                (BlockKey::Opaque(a), BlockKey::Opaque(c)) => c == a + 1,
                (BlockKey::Grid(g, a), BlockKey::Grid(h, c)) => g == h && c == a + 1,
                _ => false,
            };
            next && lb.serial == b.serial && b.offset == lb.offset + r.block
        });
        if follows {
            out.last_mut().expect("a run").count += 1;
        } else {
            if out.len() == MAX_RUNS {
                return (out, true);
            }
            let (space, first) = match k {
                BlockKey::Opaque(i) => ("opaque".to_string(), i),
                BlockKey::Grid(g, i) => (g.to_string(), i),
            };
            out.push(Run {
                space,
                first,
                count: 1,
                memory: b.serial,
                memory_handle: format!("0x{:x}", b.memory),
                memory_offset: b.offset,
            });
        }
        last = Some((k, b));
    }
    (out, false)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GridReport {
    pub aspect: usize,
    pub mip: u32,
    pub layer: u32,
    pub blocks: [u32; 3],
    pub blocks_bound: u64,
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A stable colour per memory allocation number: twelve distinct colours,
/// then hues spread by the golden ratio. Alpha is always 255.
pub fn palette(serial: u64) -> [u8; 4] {
    const FIRST: [[u8; 3]; 12] = [
        [230, 25, 75],
        [60, 180, 75],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [0, 128, 128],
        [170, 110, 40],
        [128, 0, 0],
        [0, 0, 128],
    ];
    if let Some(c) = FIRST.get(serial as usize) {
        return [c[0], c[1], c[2], 255];
    }
    let hue = (serial as f64 * 0.618_033_988_749_895).fract() * 6.0;
    let x = 1.0 - (hue % 2.0 - 1.0).abs();
    let (r, g, b) = match hue as u32 {
        0 => (1.0, x, 0.0),
        1 => (x, 1.0, 0.0),
        2 => (0.0, 1.0, x),
        3 => (0.0, x, 1.0),
        4 => (x, 0.0, 1.0),
        _ => (1.0, 0.0, x),
    };
    let v = |c: f64| (40.0 + c * 200.0) as u8;
    [v(r), v(g), v(b), 255]
}

/// The JSON entry of one resource (`maps` left empty).
pub fn resource_report(r: &Resource) -> ResourceReport {
    let (runs, runs_truncated) = runs(r);
    let mut per_memory = BTreeMap::new();
    let mut per_grid = vec![0u64; r.grids.len()];
    for (k, b) in r.bound.iter() {
        *per_memory.entry(b.serial).or_default() += 1;
        if let BlockKey::Grid(g, _) = k {
            per_grid[g as usize] += 1;
        }
    }
    let image = match &r.kind {
        Kind::Buffer { .. } => None,
        Kind::Image {
            image_type,
            format,
            extent,
            mip_levels,
            array_layers,
            aspects,
        } => Some(ImageReport {
            image_type: image_type.as_raw(),
            format: format.as_raw(),
            extent: *extent,
            mip_levels: *mip_levels,
            array_layers: *array_layers,
            sparse_requirements: aspects
                .iter()
                .map(|a| AspectReport {
                    aspect_mask: a.aspect.as_raw(),
                    block_shape: a.granularity,
                    single_mip_tail: a.single_mip_tail(),
                    aligned_mip_size: a
                        .flags
                        .contains(vk::SparseImageFormatFlags::ALIGNED_MIP_SIZE),
                    mip_tail_first_lod: a.mip_tail_first_lod,
                    mip_tail_size: a.mip_tail_size,
                    mip_tail_offset: a.mip_tail_offset,
                    mip_tail_stride: a.mip_tail_stride,
                })
                .collect(),
            grids: r
                .grids
                .iter()
                .enumerate()
                .map(|(i, g)| GridReport {
                    aspect: g.aspect,
                    mip: g.mip,
                    layer: g.layer,
                    blocks: g.blocks,
                    blocks_bound: per_grid[i],
                })
                .collect(),
        }),
    };
    ResourceReport {
        label: r.label(),
        kind: if r.is_image() { "image" } else { "buffer" }.to_string(),
        handle: format!("0x{:x}", r.handle),
        flags: r.flags,
        aliased: r.aliased,
        residency: r.residency,
        reserved_bytes: r.size,
        block_size: r.block,
        memory_type_bits: r.memory_type_bits,
        committed_bytes: r.bytes_committed(),
        blocks_total: r.total_blocks(),
        blocks_bound: r.bound.len() as u64,
        blocks_per_memory: per_memory,
        bind_calls: r.stats.bind_calls,
        failed_calls: r.stats.failed_calls,
        binds: r.stats.binds,
        blocks_bound_total: r.stats.blocks_bound,
        blocks_unbound_total: r.stats.blocks_unbound,
        bind_time_us: us(r.stats.bind_time),
        calls: r.stats.history.iter().map(|&(b, u)| [b, u]).collect(),
        image,
        runs,
        runs_truncated,
        maps: Vec::new(),
    }
}

/// An RGBA picture of `w` x `h` blocks, `scale` pixels per block side.
struct Picture {
    w: u64,
    scale: u64,
    pixels: Vec<u8>,
}

impl Picture {
    fn new(w: u64, h: u64, scale: u64) -> Picture {
        Picture {
            w,
            scale,
            pixels: vec![0; (w * h * scale * scale * 4) as usize],
        }
    }

    fn fill(&mut self, x: u64, y: u64, c: [u8; 4]) {
        let row = self.w * self.scale;
        for py in y * self.scale..(y + 1) * self.scale {
            for px in x * self.scale..(x + 1) * self.scale {
                let i = ((py * row + px) * 4) as usize;
                self.pixels[i..i + 4].copy_from_slice(&c);
            }
        }
    }

    fn write(&self, path: &Path) -> io::Result<()> {
        let width = (self.w * self.scale) as u32;
        let height = (self.pixels.len() as u64 / 4 / (self.w * self.scale).max(1)) as u32;
        let file = io::BufWriter::new(std::fs::File::create(path)?);
        let mut enc = png::Encoder::new(file, width, height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(io::Error::other)?;
        w.write_image_data(&self.pixels).map_err(io::Error::other)?;
        w.finish().map_err(io::Error::other)
    }
}

/// A file-name-safe form of a label.
pub fn file_stem(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Draws the maps of `r` into `dir`; returns their file names.
pub fn draw_maps(r: &Resource, dir: &Path, scale: u32) -> io::Result<Vec<String>> {
    let scale = scale.max(1) as u64;
    let stem = file_stem(&r.label());
    let opaque = r.opaque_blocks();
    let columns = opaque.clamp(1, OPAQUE_COLUMNS);
    let mut opaque_map = (opaque > 0 && opaque <= MAX_MAP_BLOCKS)
        .then(|| Picture::new(columns, opaque.div_ceil(columns), scale));
    let mut grid_maps: Vec<Option<Picture>> = r
        .grids
        .iter()
        .map(|g| {
            let [bw, bh, bd] = g.blocks.map(u64::from);
            (g.count() > 0 && g.count() <= MAX_MAP_BLOCKS).then(|| Picture::new(bw, bh * bd, scale))
        })
        .collect();
    for (k, b) in r.bound.iter() {
        let colour = palette(b.serial);
        match k {
            BlockKey::Opaque(i) if i < opaque => {
                if let Some(p) = &mut opaque_map {
                    p.fill(i % columns, i / columns, colour);
                }
            }
            BlockKey::Opaque(_) => {}
            BlockKey::Grid(g, i) => {
                if let Some(p) = grid_maps.get_mut(g as usize).and_then(Option::as_mut) {
                    p.fill(i % p.w, i / p.w, colour);
                }
            }
        }
    }
    let mut names = Vec::new();
    if let Some(p) = opaque_map {
        let name = format!("{stem}-opaque.png");
        p.write(&dir.join(&name))?;
        names.push(name);
    }
    for (g, p) in r.grids.iter().zip(grid_maps) {
        if let Some(p) = p {
            let name = format!(
                "{stem}-aspect{}-mip{}-layer{}.png",
                g.aspect, g.mip, g.layer
            );
            p.write(&dir.join(&name))?;
            names.push(name);
        }
    }
    Ok(names)
}

/// The whole report of a device as JSON, without drawing.
pub fn device_report(device: u64, t: &Tracker) -> DeviceReport {
    let mut live: Vec<&Resource> = t.resources.values().collect();
    live.sort_by_key(|r| r.serial);
    DeviceReport {
        device,
        bind_sparse_calls: t.totals.bind_calls,
        bind_sparse_failed_calls: t.totals.failed_calls,
        bind_sparse_time_us: us(t.totals.bind_time),
        messages: t
            .totals
            .messages
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        resources: live.into_iter().map(resource_report).collect(),
        destroyed: t.destroyed.iter().map(resource_report).collect(),
    }
}

/// Writes `summary.json` and the maps into `<root>/device-<pid>-<device>/`;
/// the summary is written last (by rename), so a reader that sees it sees
/// the maps too. Returns the folder.
pub fn write(root: &Path, device: u64, t: &Tracker, scale: u32) -> io::Result<PathBuf> {
    let dir = root.join(format!("device-{}-{}", std::process::id(), device));
    std::fs::create_dir_all(&dir)?;
    let mut report = device_report(device, t);
    let mut live: Vec<&Resource> = t.resources.values().collect();
    live.sort_by_key(|r| r.serial);
    for (entry, r) in report.resources.iter_mut().zip(live) {
        entry.maps = draw_maps(r, &dir, scale)?;
    }
    let text = serde_json::to_string_pretty(&report).map_err(io::Error::other)?;
    let tmp = dir.join("summary.json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join("summary.json"))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::OpaqueBind;

    #[test]
    fn palette_is_stable_and_distinct() {
        let colours: Vec<_> = (0..64).map(palette).collect();
        for (i, c) in colours.iter().enumerate() {
            assert_eq!(c[3], 255);
            assert_eq!(*c, palette(i as u64));
        }
        assert_ne!(colours[0], colours[1]);
        assert_ne!(colours[12], colours[13]);
    }

    #[test]
    fn depth_slices_of_3d_images_stack_downwards() {
        use crate::tracker::ImageBind;
        let b = 64 << 10;
        let mut t = Tracker::default();
        let info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_3D)
            .format(vk::Format::R8G8B8A8_UNORM)
            .extent(vk::Extent3D {
                width: 64,
                height: 64,
                depth: 32,
            })
            .mip_levels(1)
            .array_layers(1)
            .flags(vk::ImageCreateFlags::SPARSE_BINDING | vk::ImageCreateFlags::SPARSE_RESIDENCY);
        let req = vk::MemoryRequirements {
            size: 8 * b,
            alignment: b,
            memory_type_bits: 1,
        };
        let sparse = vk::SparseImageMemoryRequirements {
            format_properties: vk::SparseImageFormatProperties {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                image_granularity: vk::Extent3D {
                    width: 32,
                    height: 32,
                    depth: 16,
                },
                flags: vk::SparseImageFormatFlags::empty(),
            },
            image_mip_tail_first_lod: 1,
            ..Default::default()
        };
        t.add_resource(Resource::image(1, &info, &req, &[sparse]));
        t.add_memory(10, 8 * b, 0);
        let mut out = Vec::new();
        // Block (x 1, y 0, z 1).
        let bind = ImageBind {
            aspect: vk::ImageAspectFlags::COLOR,
            mip: 0,
            layer: 0,
            offset: [32, 0, 16],
            extent: [32, 32, 16],
            memory: 10,
            memory_offset: 0,
        };
        t.image_bind(1, &bind, &mut out);
        assert!(out.is_empty(), "{out:?}");
        let r = &t.resources[&1];
        assert_eq!(r.grids[0].blocks, [2, 2, 2]);
        assert!(r.bound.get(&BlockKey::Grid(0, 5)).is_some());
        let root =
            std::env::temp_dir().join(format!("panthor-layer-unit3d-{}", std::process::id()));
        let dir = write(&root, 1, &t, 1).unwrap();
        let dec = png::Decoder::new(
            std::fs::File::open(dir.join("image_0-aspect0-mip0-layer0.png")).unwrap(),
        );
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        // Two slices of 2 x 2 blocks: z = 1, y = 0 is row 2.
        assert_eq!((info.width, info.height), (2, 4));
        let px = |x: usize, y: usize| &buf[(y * 2 + x) * 4..][..4];
        for y in 0..4 {
            for x in 0..2 {
                let want = if (x, y) == (1, 2) { palette(0) } else { [0; 4] };
                assert_eq!(px(x, y), want, "({x}, {y})");
            }
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn buffer_map_and_summary() {
        let b = 64 << 10;
        let mut t = Tracker::default();
        let req = vk::MemoryRequirements {
            size: 100 * b,
            alignment: b,
            memory_type_bits: 1,
        };
        t.add_resource(Resource::buffer(
            1,
            vk::BufferCreateFlags::SPARSE_BINDING,
            100 * b,
            &req,
        ));
        t.add_memory(10, 4 * b, 0);
        t.add_memory(11, 4 * b, 0);
        let mut out = Vec::new();
        let bind = |off, mem| OpaqueBind {
            resource_offset: off * b,
            size: b,
            memory: mem,
            memory_offset: 0,
            flags: vk::SparseMemoryBindFlags::empty(),
        };
        t.opaque_bind(1, false, &bind(0, 10), &mut out);
        t.opaque_bind(1, false, &bind(65, 11), &mut out);
        assert!(out.is_empty());
        let root = std::env::temp_dir().join(format!("panthor-layer-unit-{}", std::process::id()));
        let dir = write(&root, 7, &t, 2).unwrap();
        let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
        let rep: DeviceReport = serde_json::from_str(&text).unwrap();
        assert_eq!(rep.resources[0].blocks_bound, 2);
        assert_eq!(rep.resources[0].maps, ["buffer_0-opaque.png"]);
        let dec = png::Decoder::new(std::fs::File::open(dir.join("buffer_0-opaque.png")).unwrap());
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (128, 4));
        let px = |x: usize, y: usize| &buf[(y * 128 + x) * 4..][..4];
        assert_eq!(px(0, 0), palette(0));
        assert_eq!(px(1, 1), palette(0));
        assert_eq!(px(2, 0), [0, 0, 0, 0]);
        // Block 65: column 1, row 1 -> pixels (2..4, 2..4).
        assert_eq!(px(3, 3), palette(1));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
