//! Transfers the command stream cannot make, run as compute jobs with the
//! driver's own kernel (`shaders/copy_texels.comp`) on the shader cores:
//! copies and clears of images whose texels are 1 or 2 bytes, and buffer
//! copies at offsets or sizes that are not whole words. The CS moves
//! whole aligned 32-bit words and has no byte masks; in `INTERLEAVED_64K`
//! two neighbouring 8-bit texels share a word only on even rows (U order),
//! so such images need byte-granular stores, which the texture unit makes.
//!
//! Each side is described to the texture unit with a UINT format of the
//! texel's size (R8_UINT, R16_UINT), so every format of that size copies
//! bit for bit: a texel buffer over the buffer side, or a storage `Texture`
//! over one level's planes (layers of 1D/2D images, slices of 3D ones). The
//! descriptors and planes go into the command buffer's upload memory.
//!
//! Only devices with shader cores (the virtual Mali) have this path; on
//! others images of these formats are not offered (`format::image_block`).

use std::sync::Arc;

use ash::vk;
use mali_csf::desc::{
    self, BufferType, Texture, TextureDimension, DESCRIPTOR_SIZE, IDENTITY_SWIZZLE, NULL_DESCRIPTOR,
};
use mali_csf::CsBuilder;
use panthor_shader::binary::ShaderBinary;

use crate::cs_dispatch::{self, BoundSet, ComputeState, Groups};
use crate::cs_image::{self, BufferLayout, Region, Span};
use crate::descriptor_set_layout::DescriptorSetLayout;
use crate::device::DeviceRef;
use crate::guard::{VkError, VkResult};
use crate::image::Image;
use crate::image_view_desc::{plane_array, texel_interleave};
use crate::layout::Dim;
use crate::mali_format::mali_format;
use crate::pipeline::ComputePipeline;
use crate::pipeline_layout::PipelineLayout;
use crate::vk_bail;

/// The kernel, compiled from `shaders/copy_texels.comp` by glslangValidator
/// and optimized by `spirv-opt -O` (a test checks that it matches its
/// source).
const COPY_TEXELS_SPV: &[u8] = include_bytes!("../shaders/copy_texels.spv");

/// The kernel's bindings, in set 0.
const SRC_TEXELS: usize = 0;
const DST_TEXELS: usize = 3;
const BINDINGS: usize = 6;
/// Invocations per workgroup in x and y (`local_size`).
const GROUP: u32 = 16;
/// Texels one invocation copies along x (`RUN` in the kernel).
const RUN: u32 = 8;
/// Bytes of the kernel's push constants (five vec4s).
const PUSH_BYTES: u32 = 80;

/// Whether transfers of `img` go through the shader cores.
pub fn needed(img: &Image) -> bool {
    matches!(img.layout.desc().block.bytes, 1 | 2)
}

/// One side of a texel copy.
enum Side<'a> {
    /// A buffer: texel (x, y, z) at `va + ((z * image_height + y) *
    /// row_length + x) * texel bytes`, `bytes` in all.
    Texels {
        va: u64,
        bytes: u64,
        row_length: u32,
        image_height: u32,
    },
    /// A checked region of an image.
    Image(&'a Image, Span),
    /// A clear's value, as the UINT texel the kernel stores.
    Color([u32; 4]),
}

/// Kinds as the kernel numbers them.
const TEXELS: i32 = 0;
const LAYERS: i32 = 1;
const VOLUME: i32 = 2;
const COLOR: i32 = 3;

/// The buffer side of a `vkCmdCopyBufferToImage`/`ImageToBuffer` region:
/// `bytes` from `layout.va`, rows and images as `layout` says (0 = packed).
#[derive(Clone, Copy, Debug)]
pub struct BufferSide {
    va: u64,
    bytes: u64,
    row_length: u32,
    image_height: u32,
}

impl BufferSide {
    pub fn new(layout: BufferLayout, bytes: u64, r: &Region) -> BufferSide {
        let or = |v: u32, packed: u32| if v == 0 { packed } else { v };
        BufferSide {
            va: layout.va,
            bytes,
            row_length: or(layout.row_length, r.extent[0]),
            image_height: or(layout.image_height, r.extent[1]),
        }
    }

    fn side<'a>(self) -> Side<'a> {
        Side::Texels {
            va: self.va,
            bytes: self.bytes,
            row_length: self.row_length,
            image_height: self.image_height,
        }
    }
}

/// The texel size of a single-sample image whose transfers run here.
fn texel_bytes(img: &Image) -> VkResult<u32> {
    let desc = img.layout.desc();
    if desc.samples != 1 {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "transfers of multisampled {}-byte texels are not supported",
            desc.block.bytes
        );
    }
    Ok(desc.block.bytes)
}

/// What recording a transfer through the shader cores needs.
pub struct Recorder<'r> {
    pub cs: &'r mut CsBuilder,
    pub upload: &'r mut crate::upload::Upload,
    pub dev: &'r DeviceRef,
}

impl Recorder<'_> {
    /// `vkCmdCopyBufferToImage` of one region.
    pub fn buffer_to_image(&mut self, buf: BufferSide, img: &Image, r: &Region) -> VkResult<()> {
        let span = checked(img, r)?;
        self.run(
            &buf.side(),
            &Side::Image(img, span),
            texel_bytes(img)?,
            span.shape,
        )
    }

    /// `vkCmdCopyImageToBuffer` of one region.
    pub fn image_to_buffer(&mut self, img: &Image, r: &Region, buf: BufferSide) -> VkResult<()> {
        let span = checked(img, r)?;
        self.run(
            &Side::Image(img, span),
            &buf.side(),
            texel_bytes(img)?,
            span.shape,
        )
    }

    /// `vkCmdCopyImage` of one region between images of the same texel size
    /// (2D-array <-> 3D copies map layers to slices).
    pub fn image_to_image(
        &mut self,
        src: &Image,
        src_r: &Region,
        dst: &Image,
        dst_r: &Region,
    ) -> VkResult<()> {
        let (sb, db) = (src.layout.desc().block, dst.layout.desc().block);
        if sb != db {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "vkCmdCopyImage between {}-byte and {}-byte texels",
                sb.bytes,
                db.bytes
            );
        }
        let (s, d) = (checked(src, src_r)?, checked(dst, dst_r)?);
        if s.shape != d.shape {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "source region {:?} and destination region {:?} differ",
                s.shape,
                d.shape
            );
        }
        self.run(
            &Side::Image(src, s),
            &Side::Image(dst, d),
            texel_bytes(dst)?,
            s.shape,
        )
    }

    /// `vkCmdClearColorImage` of `layers` layers of `level`: every texel gets
    /// `texel` (the packed clear value, little-endian).
    pub fn clear(
        &mut self,
        img: &Image,
        level: u32,
        base_layer: u32,
        layers: u32,
        texel: &[u8],
    ) -> VkResult<()> {
        let Some(extent) = img.layout.level_extent_texels(level) else {
            vk_bail!(vk::Result::ERROR_UNKNOWN, "clear of missing level {level}");
        };
        let volume = img.layout.desc().dim == Dim::D3;
        let r = Region {
            level,
            base_layer,
            layer_count: layers,
            offset: [0; 3],
            extent: if volume {
                extent
            } else {
                [extent[0], extent[1], 1]
            },
        };
        let span = checked(img, &r)?;
        let mut raw = [0u8; 4];
        raw[..texel.len().min(4)].copy_from_slice(&texel[..texel.len().min(4)]);
        let value = [u32::from_le_bytes(raw), 0, 0, 0];
        self.run(
            &Side::Color(value),
            &Side::Image(img, span),
            texel_bytes(img)?,
            span.shape,
        )
    }

    /// `vkCmdCopyBuffer` of `size` bytes at any alignment, as 8-bit texels
    /// (rows of 4 KiB, then the rest), for what the CS cannot move.
    pub fn buffer_bytes(&mut self, src: u64, dst: u64, size: u64) -> VkResult<()> {
        const ROW: u64 = 4096;
        let (rows, rest) = (size / ROW, size % ROW);
        for (at, shape) in [(0, [ROW, rows]), (rows * ROW, [rest, 1])] {
            let Ok(rows) = u32::try_from(shape[1]) else {
                vk_bail!(
                    vk::Result::ERROR_UNKNOWN,
                    "byte copy of {size} bytes is too long"
                );
            };
            if shape[0] == 0 || rows == 0 {
                continue;
            }
            let side = |va: u64| Side::Texels {
                va: va + at,
                bytes: shape[0] * shape[1],
                row_length: shape[0] as u32,
                image_height: rows,
            };
            self.run(&side(src), &side(dst), 1, [shape[0] as u32, rows, 1])?;
        }
        Ok(())
    }

    /// Records one dispatch of the kernel from `src` to `dst` over `shape`
    /// (texels in x, y and layers or slices) of `bytes`-byte texels.
    fn run(&mut self, src: &Side<'_>, dst: &Side<'_>, bytes: u32, shape: [u32; 3]) -> VkResult<()> {
        let format = match bytes {
            1 => vk::Format::R8_UINT,
            2 => vk::Format::R16_UINT,
            b => vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "no texel copy for {b}-byte texels"
            ),
        };
        let pipeline = kernel(self.dev)?;
        let mut table = [NULL_DESCRIPTOR; BINDINGS];
        let mut push = [0u32; (PUSH_BYTES / 4) as usize];
        push[8..11].copy_from_slice(&shape);
        for (side, first, is_dst) in [(src, SRC_TEXELS, false), (dst, DST_TEXELS, true)] {
            let (origin, kind) = match side {
                Side::Texels {
                    va,
                    bytes,
                    row_length,
                    image_height,
                } => {
                    table[first] = texel_buffer(*va, *bytes, format)?;
                    let at = if is_dst { 14 } else { 12 };
                    push[at] = *row_length;
                    push[at + 1] = *image_height;
                    ([0; 3], TEXELS)
                }
                Side::Image(image, span) => {
                    let volume = span.slices_are_z;
                    let slot = first + if volume { 2 } else { 1 };
                    table[slot] = self.texture(image, span, format)?;
                    let z = if volume { span.origin[2] } else { 0 };
                    (
                        [span.origin[0], span.origin[1], z],
                        if volume { VOLUME } else { LAYERS },
                    )
                }
                Side::Color(value) => {
                    push[16..20].copy_from_slice(value);
                    ([0; 3], COLOR)
                }
            };
            let at = if is_dst { 4 } else { 0 };
            push[at..at + 3].copy_from_slice(&origin);
            push[at + 3] = kind as u32;
        }
        let bytes: Vec<u8> = table.concat();
        let set_va = self.upload.push(self.dev, &bytes, DESCRIPTOR_SIZE as u64)?;
        let mut state = ComputeState {
            pipeline: Some(pipeline),
            ..Default::default()
        };
        state.sets[0] = Some(BoundSet {
            va: set_va,
            table_bytes: bytes.len() as u64,
            dynamic: Vec::new(),
        });
        for (d, w) in state.push.chunks_exact_mut(4).zip(push) {
            d.copy_from_slice(&w.to_le_bytes());
        }
        let groups = [
            shape[0].div_ceil(GROUP * RUN),
            shape[1].div_ceil(GROUP),
            shape[2],
        ];
        cs_dispatch::dispatch(
            self.cs,
            self.upload,
            self.dev,
            &state,
            [0; 3],
            Groups::Direct(groups),
        )
    }

    /// A storage `Texture` over the layers (or the whole level, for 3D) of
    /// `span`, in `format`; coordinates are level texels, z from the first
    /// layer of the span (or slice 0).
    fn texture(
        &mut self,
        img: &Image,
        span: &Span,
        format: vk::Format,
    ) -> VkResult<[u8; DESCRIPTOR_SIZE]> {
        let fmt = mali_format(format).ok_or_else(|| {
            VkError::new(
                vk::Result::ERROR_UNKNOWN,
                format!("{format:?} has no texture format"),
            )
        })?;
        let layout = &img.layout;
        let volume = span.slices_are_z;
        let layers = if volume {
            0..1
        } else {
            span.base_layer..span.base_layer + span.shape[2]
        };
        let count = layers.len() as u32;
        let planes = plane_array(
            layout,
            img.address()?,
            fmt.clump,
            span.level..span.level + 1,
            layers,
            volume,
        )?;
        let surfaces = self
            .upload
            .push(self.dev, &planes, DESCRIPTOR_SIZE as u64)?;
        let extent = layout.level_extent_texels(span.level).unwrap_or([1; 3]);
        Ok(Texture {
            dimension: if volume {
                TextureDimension::D3
            } else {
                TextureDimension::D2
            },
            normalize_coordinates: false,
            format: fmt.pixel,
            width: extent[0],
            height: extent[1],
            swizzle: IDENTITY_SWIZZLE,
            texel_interleave: texel_interleave(layout),
            levels: 1,
            minimum_level: 0,
            minimum_lod: 0.0,
            maximum_lod: 0.0,
            samples: 1,
            surfaces,
            array_size: count,
            depth: if volume { extent[2] } else { 1 },
        }
        .pack())
    }
}

/// A texel buffer of `bytes` bytes at `va` in `format`.
fn texel_buffer(va: u64, bytes: u64, format: vk::Format) -> VkResult<[u8; DESCRIPTOR_SIZE]> {
    let (Some(fmt), Some(f)) = (mali_format(format), crate::vk_tables::format(format)) else {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "{format:?} has no texel buffer format"
        );
    };
    let Ok(size) = u32::try_from(bytes) else {
        vk_bail!(
            vk::Result::ERROR_UNKNOWN,
            "buffer side of {bytes} bytes: texel copies reach 4 GiB at most"
        );
    };
    Ok(desc::Buffer {
        ty: BufferType::Structure,
        size,
        address: va,
        stride: f.block_bytes,
        format: Some(fmt.pixel),
    }
    .pack())
}

fn checked(img: &Image, r: &Region) -> VkResult<Span> {
    cs_image::check_region(img.transfer_ref()?, r)
        .map_err(|e| VkError::new(vk::Result::ERROR_UNKNOWN, e.to_string()))
}

/// The device's texel-copy pipeline, made on first use.
fn kernel(dev: &DeviceRef) -> VkResult<Arc<ComputePipeline>> {
    let mut slot = dev.meta_copy.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = slot.as_ref() {
        return Ok(p.clone());
    }
    use vk::DescriptorType as T;
    let types = [
        T::STORAGE_TEXEL_BUFFER,
        T::STORAGE_IMAGE,
        T::STORAGE_IMAGE,
        T::STORAGE_TEXEL_BUFFER,
        T::STORAGE_IMAGE,
        T::STORAGE_IMAGE,
    ];
    let bindings: Vec<_> = types
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            vk::DescriptorSetLayoutBinding::default()
                .binding(i as u32)
                .descriptor_type(t)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::COMPUTE)
        })
        .collect();
    // SAFETY: no binding has immutable samplers.
    let set = unsafe { DescriptorSetLayout::new(&bindings) }?;
    let layout = PipelineLayout {
        sets: vec![Arc::new(set)],
        push_constant_size: PUSH_BYTES,
    };
    let binary = ShaderBinary {
        entry: "main".into(),
        spec: Vec::new(),
        spirv: COPY_TEXELS_SPV
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    };
    let p = Arc::new(ComputePipeline::build(dev, None, &binary, &layout)?);
    *slot = Some(p.clone());
    Ok(p)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    fn run(cmd: &mut Command, what: &str) {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("{what} (Debian packages glslang-tools, spirv-tools): {e}"));
        assert!(
            out.status.success(),
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The committed SPIR-V is what glslangValidator and `spirv-opt -O` make
    /// of the source today (regenerate with the commands in the message).
    #[test]
    fn the_kernel_matches_its_glsl_source() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders");
        let tmp = std::env::temp_dir();
        let raw = tmp.join(format!("copy_texels-{}.spv", std::process::id()));
        let opt = tmp.join(format!("copy_texels-{}-opt.spv", std::process::id()));
        run(
            Command::new("glslangValidator")
                .args(["-V", "--target-env", "vulkan1.1", "-o"])
                .arg(&raw)
                .arg(format!("{dir}/copy_texels.comp")),
            "glslangValidator",
        );
        run(
            Command::new("spirv-opt")
                .arg("-O")
                .arg(&raw)
                .arg("-o")
                .arg(&opt),
            "spirv-opt",
        );
        let fresh = std::fs::read(&opt).unwrap();
        let _ = (std::fs::remove_file(&raw), std::fs::remove_file(&opt));
        assert!(
            fresh == super::COPY_TEXELS_SPV,
            "icd/shaders/copy_texels.spv is stale: run `glslangValidator -V --target-env \
             vulkan1.1 -o /tmp/copy_texels.spv icd/shaders/copy_texels.comp && spirv-opt -O \
             /tmp/copy_texels.spv -o icd/shaders/copy_texels.spv`"
        );
    }
}
