//! Test support: `HostEnv`, a [`ShaderEnv`] over host memory (buffers at
//! fake GPU VAs, unmapped ranges that fault, linear images with a
//! per-texel residency map and a nearest/linear sampler), and helpers that
//! compile GLSL with glslangValidator and dispatch whole grids.
#![allow(dead_code)]

use panthor_shader::{
    AtomicOp, Descriptor, Fault, ImageHandle, ImageInfo, Lod, Program, RunStats, SampleArgs,
    SamplerHandle, ShaderBinary, ShaderEnv, SpecValue, Texel, WorkgroupParams,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Compiles a GLSL compute shader to SPIR-V words (Vulkan 1.1).
pub fn compile(src: &str) -> Vec<u32> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("panthor-shader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input: PathBuf = dir.join(format!("s{n}.comp"));
    let output: PathBuf = dir.join(format!("s{n}.spv"));
    std::fs::write(&input, src).expect("write shader source");
    let result = Command::new("glslangValidator")
        .args(["-V", "--target-env", "vulkan1.1", "-S", "comp", "-o"])
        .arg(&output)
        .arg(&input)
        .output();
    let out = match result {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run glslangValidator ({e}); install the Debian package glslang-tools (apt-get install glslang-tools)"
        ),
    };
    if !out.status.success() {
        panic!(
            "glslangValidator failed:\n{}{}\n--- source ---\n{src}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bytes = std::fs::read(&output).expect("read SPIR-V");
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&output);
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Runs a spirv-tools program (glslang-tools depends on spirv-tools).
fn spirv_tool(tool: &str, args: &[&str], input: &[u8], input_name: &str) -> Vec<u32> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("panthor-shader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input_path = dir.join(format!("t{n}-{input_name}"));
    let output = dir.join(format!("t{n}.out.spv"));
    std::fs::write(&input_path, input).expect("write tool input");
    let out = Command::new(tool)
        .args(args)
        .arg("-o")
        .arg(&output)
        .arg(&input_path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {tool} ({e}); install the Debian package spirv-tools")
        });
    if !out.status.success() {
        panic!(
            "{tool} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bytes = std::fs::read(&output).expect("read SPIR-V");
    let _ = std::fs::remove_file(&input_path);
    let _ = std::fs::remove_file(&output);
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// GLSL compiled, then optimised by spirv-opt -O (SSA form: phis, no
/// Function variables, inlined calls).
pub fn compile_optimized(src: &str) -> Vec<u32> {
    let words = compile(src);
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    spirv_tool(
        "spirv-opt",
        &["-O", "--target-env=vulkan1.1"],
        &bytes,
        "in.spv",
    )
}

/// SPIR-V assembly (spirv-as syntax) to words.
pub fn assemble(asm: &str) -> Vec<u32> {
    spirv_tool(
        "spirv-as",
        &["--target-env", "vulkan1.1"],
        asm.as_bytes(),
        "in.spvasm",
    )
}

pub fn program_words(spirv: Vec<u32>) -> Result<Program, panthor_shader::DecodeError> {
    Program::new(&ShaderBinary {
        entry: "main".into(),
        spec: vec![],
        spirv,
    })
}

pub fn binary(src: &str, spec: &[(u32, u32)]) -> ShaderBinary {
    ShaderBinary {
        entry: "main".into(),
        spec: spec
            .iter()
            .map(|&(id, v)| SpecValue {
                id,
                bytes: v.to_le_bytes().to_vec(),
            })
            .collect(),
        spirv: compile(src),
    }
}

pub fn program(src: &str) -> Program {
    program_spec(src, &[])
}

pub fn program_spec(src: &str, spec: &[(u32, u32)]) -> Program {
    match Program::new(&binary(src, spec)) {
        Ok(p) => p,
        Err(e) => panic!("decode failed: {e}\n--- source ---\n{src}"),
    }
}

/// Runs every workgroup of a `groups` grid with the program's local size.
pub fn dispatch(
    p: &Program,
    env: &mut HostEnv,
    groups: [u32; 3],
) -> Result<RunStats, panthor_shader::ExecError> {
    let mut total = RunStats::default();
    for z in 0..groups[2] {
        for y in 0..groups[1] {
            for x in 0..groups[0] {
                let params = WorkgroupParams {
                    local_size: p.info().workgroup_size,
                    workgroup_id: [x, y, z],
                    num_workgroups: groups,
                };
                total.instructions += p.run_workgroup(env, &params)?.instructions;
            }
        }
    }
    Ok(total)
}

struct Region {
    va: u64,
    data: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Rgba32f,
    R32ui,
    R32i,
    Rgba8,
}

impl Format {
    fn texel_bytes(self) -> u64 {
        match self {
            Format::Rgba32f => 16,
            _ => 4,
        }
    }
}

/// A linear image whose texels live in a HostEnv buffer (so texel
/// pointers and atomics work through the ordinary memory path).
#[derive(Clone, Debug)]
pub struct HostImage {
    pub format: Format,
    pub size: [u32; 3],
    pub layers: u32,
    pub levels: u32,
    pub va: u64,
    /// Per texel of every level and layer: false = not resident.
    pub resident: Vec<bool>,
}

impl HostImage {
    fn level_size(&self, level: u32) -> [u32; 3] {
        self.size.map(|s| (s >> level).max(1))
    }
    fn level_texels(&self, level: u32) -> u64 {
        let [w, h, d] = self.level_size(level);
        u64::from(w) * u64::from(h) * u64::from(d) * u64::from(self.layers)
    }
    pub fn total_texels(&self) -> u64 {
        (0..self.levels).map(|l| self.level_texels(l)).sum()
    }
    /// Texel index of (x, y, z-or-layer) at `level`, None out of bounds.
    fn index(&self, coord: [i32; 3], level: u32) -> Option<u64> {
        if level >= self.levels {
            return None;
        }
        let [w, h, d] = self.level_size(level);
        let [x, y, z] = coord;
        let depth = if d > 1 { d } else { self.layers };
        if x < 0 || y < 0 || z < 0 || x as u32 >= w || y as u32 >= h || z as u32 >= depth {
            return None;
        }
        let before: u64 = (0..level).map(|l| self.level_texels(l)).sum();
        Some(
            before
                + (u64::from(z as u32) * u64::from(h) + u64::from(y as u32)) * u64::from(w)
                + u64::from(x as u32),
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Nearest,
    Linear,
}

pub struct HostEnv {
    regions: Vec<Region>,
    next_va: u64,
    pub descriptors: HashMap<(u32, u32, u32), Descriptor>,
    pub push: Vec<u8>,
    pub images: Vec<HostImage>,
    pub samplers: Vec<Filter>,
    /// Returns true from `cancelled` once this many polls happened.
    pub cancel_after: Option<u32>,
    pub polls: u32,
    pub loads: u64,
}

/// Where a HostEnv places its first buffer; the page below it is
/// unmapped.
pub const BASE_VA: u64 = 0x1_0000_0000;

impl Default for HostEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl HostEnv {
    pub fn new() -> Self {
        HostEnv {
            regions: Vec::new(),
            next_va: BASE_VA,
            descriptors: HashMap::new(),
            push: Vec::new(),
            images: Vec::new(),
            samplers: Vec::new(),
            cancel_after: None,
            polls: 0,
            loads: 0,
        }
    }

    /// Maps `bytes` at a fresh VA, followed by an unmapped 64 KiB gap.
    pub fn alloc(&mut self, bytes: &[u8]) -> u64 {
        let va = self.next_va;
        self.regions.push(Region {
            va,
            data: bytes.to_vec(),
        });
        self.next_va = (va + bytes.len() as u64 + 0xffff + 0x1_0000) & !0xffff;
        va
    }

    pub fn alloc_words(&mut self, words: &[u32]) -> u64 {
        self.alloc(
            &words
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect::<Vec<_>>(),
        )
    }

    /// A storage/uniform buffer at (set, binding) holding `words`.
    pub fn bind_buffer(&mut self, set: u32, binding: u32, words: &[u32]) -> u64 {
        let va = self.alloc_words(words);
        self.descriptors.insert(
            (set, binding, 0),
            Descriptor::Buffer {
                va,
                size: words.len() as u64 * 4,
            },
        );
        va
    }

    pub fn bind_buffer_index(&mut self, set: u32, binding: u32, index: u32, words: &[u32]) -> u64 {
        let va = self.alloc_words(words);
        self.descriptors.insert(
            (set, binding, index),
            Descriptor::Buffer {
                va,
                size: words.len() as u64 * 4,
            },
        );
        va
    }

    fn region(&self, va: u64, len: usize) -> Option<(usize, usize)> {
        self.regions.iter().enumerate().find_map(|(i, r)| {
            let off = va.checked_sub(r.va)? as usize;
            (off.checked_add(len)? <= r.data.len()).then_some((i, off))
        })
    }

    pub fn read_bytes(&self, va: u64, len: usize) -> Vec<u8> {
        let (i, off) = self.region(va, len).expect("read of unmapped host memory");
        self.regions[i].data[off..off + len].to_vec()
    }

    pub fn read_words(&self, va: u64, n: usize) -> Vec<u32> {
        self.read_bytes(va, n * 4)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    pub fn write_words(&mut self, va: u64, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let (i, off) = self
            .region(va, bytes.len())
            .expect("write of unmapped host memory");
        self.regions[i].data[off..off + bytes.len()].copy_from_slice(&bytes);
    }

    /// Creates an image (all texels resident) and returns its handle.
    pub fn add_image(
        &mut self,
        format: Format,
        size: [u32; 3],
        layers: u32,
        levels: u32,
    ) -> ImageHandle {
        let mut img = HostImage {
            format,
            size,
            layers,
            levels,
            va: 0,
            resident: Vec::new(),
        };
        let texels = img.total_texels();
        img.va = self.alloc(&vec![0u8; (texels * format.texel_bytes()) as usize]);
        img.resident = vec![true; texels as usize];
        self.images.push(img);
        ImageHandle(self.images.len() as u64 - 1)
    }

    pub fn add_sampler(&mut self, filter: Filter) -> SamplerHandle {
        self.samplers.push(filter);
        SamplerHandle(self.samplers.len() as u64 - 1)
    }

    fn image(&self, h: ImageHandle) -> Result<&HostImage, Fault> {
        self.images.get(h.0 as usize).ok_or(Fault {
            va: 0xbad0_0000 + h.0,
            write: false,
        })
    }

    /// Sets texel (x, y, z-or-layer) of `level` to its four lanes.
    pub fn set_texel(&mut self, h: ImageHandle, coord: [i32; 3], level: u32, value: [u32; 4]) {
        let img = self.images[h.0 as usize].clone();
        let i = img.index(coord, level).expect("texel in bounds");
        let va = img.va + i * img.format.texel_bytes();
        let words = match img.format {
            Format::Rgba32f => value.to_vec(),
            Format::R32ui | Format::R32i => vec![value[0]],
            Format::Rgba8 => {
                let b = value.map(|v| (f32::from_bits(v).clamp(0.0, 1.0) * 255.0).round() as u32);
                vec![b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24]
            }
        };
        self.write_words(va, &words);
    }

    pub fn texel(&self, h: ImageHandle, coord: [i32; 3], level: u32) -> [u32; 4] {
        let img = &self.images[h.0 as usize];
        let i = img.index(coord, level).expect("texel in bounds");
        self.decode(img, img.va + i * img.format.texel_bytes())
    }

    pub fn set_resident(&mut self, h: ImageHandle, coord: [i32; 3], level: u32, resident: bool) {
        let img = &mut self.images[h.0 as usize];
        let i = img.index(coord, level).expect("texel in bounds");
        img.resident[i as usize] = resident;
    }

    fn decode(&self, img: &HostImage, va: u64) -> [u32; 4] {
        let w = self.read_words(va, (img.format.texel_bytes() / 4) as usize);
        match img.format {
            Format::Rgba32f => [w[0], w[1], w[2], w[3]],
            Format::R32ui | Format::R32i => [w[0], 0, 0, 1],
            Format::Rgba8 => {
                std::array::from_fn(|i| (((w[0] >> (8 * i)) & 0xff) as f32 / 255.0).to_bits())
            }
        }
    }

    fn fetch(&self, img: &HostImage, coord: [i32; 3], level: u32) -> Texel {
        match img.index(coord, level) {
            Some(i) if img.resident[i as usize] => Texel {
                value: self.decode(img, img.va + i * img.format.texel_bytes()),
                resident: true,
            },
            // Non-resident texels read as zero.
            Some(_) => Texel {
                value: [0; 4],
                resident: false,
            },
            None => Texel {
                value: [0; 4],
                resident: true,
            },
        }
    }
}

impl ShaderEnv for HostEnv {
    fn load(&mut self, va: u64, out: &mut [u8]) -> Result<(), Fault> {
        self.loads += 1;
        let (i, off) = self
            .region(va, out.len())
            .ok_or(Fault { va, write: false })?;
        out.copy_from_slice(&self.regions[i].data[off..off + out.len()]);
        Ok(())
    }

    fn store(&mut self, va: u64, data: &[u8]) -> Result<(), Fault> {
        let (i, off) = self
            .region(va, data.len())
            .ok_or(Fault { va, write: true })?;
        self.regions[i].data[off..off + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn atomic(&mut self, va: u64, width: u8, op: AtomicOp, value: u64) -> Result<u64, Fault> {
        let w = usize::from(width);
        let (i, off) = self.region(va, w).ok_or(Fault { va, write: true })?;
        let data = &mut self.regions[i].data[off..off + w];
        let mut b = [0u8; 8];
        b[..w].copy_from_slice(data);
        let old = u64::from_le_bytes(b);
        let new = op.apply(old, value, width);
        data.copy_from_slice(&new.to_le_bytes()[..w]);
        Ok(old)
    }

    fn descriptor(&mut self, set: u32, binding: u32, index: u32) -> Result<Descriptor, Fault> {
        self.descriptors
            .get(&(set, binding, index))
            .copied()
            .ok_or(Fault {
                va: 0xdead_0000_0000 | u64::from(set) << 16 | u64::from(binding),
                write: false,
            })
    }

    fn push_constants(&mut self, offset: u32, out: &mut [u8]) -> Result<(), Fault> {
        let o = offset as usize;
        match self.push.get(o..o + out.len()) {
            Some(src) => out.copy_from_slice(src),
            None => out.fill(0),
        }
        Ok(())
    }

    fn image_read(
        &mut self,
        image: ImageHandle,
        coord: [i32; 3],
        lod: u32,
        _sample: u32,
    ) -> Result<Texel, Fault> {
        let img = self.image(image)?.clone();
        Ok(self.fetch(&img, coord, lod))
    }

    fn image_write(
        &mut self,
        image: ImageHandle,
        coord: [i32; 3],
        _sample: u32,
        texel: [u32; 4],
    ) -> Result<(), Fault> {
        let img = self.image(image)?.clone();
        if img.index(coord, 0).is_some() {
            self.set_texel(image, coord, 0, texel);
        }
        Ok(())
    }

    fn image_texel_va(
        &mut self,
        image: ImageHandle,
        coord: [i32; 3],
        _sample: u32,
    ) -> Result<Option<u64>, Fault> {
        let img = self.image(image)?;
        Ok(img
            .index(coord, 0)
            .map(|i| img.va + i * img.format.texel_bytes()))
    }

    fn image_sample(
        &mut self,
        image: ImageHandle,
        sampler: SamplerHandle,
        args: &SampleArgs,
    ) -> Result<Texel, Fault> {
        let img = self.image(image)?.clone();
        let filter = *self.samplers.get(sampler.0 as usize).ok_or(Fault {
            va: 0xbad1_0000,
            write: false,
        })?;
        let level = match args.lod {
            Lod::Explicit(l) => l
                .max(args.min_lod.unwrap_or(0.0))
                .round()
                .clamp(0.0, (img.levels - 1) as f32) as u32,
            Lod::Grad { .. } => 0,
        };
        let [w, h, _] = img.level_size(level);
        let layer = args.coord[3].round().clamp(0.0, (img.layers - 1) as f32) as i32;
        let clamp = |v: i32, max: u32| v.clamp(0, max as i32 - 1);
        let (fx, fy) = (args.coord[0] * w as f32, args.coord[1] * h as f32);
        let at = |s: &Self, x: i32, y: i32| {
            let x = clamp(x.saturating_add(args.offset[0]), w);
            let y = clamp(y.saturating_add(args.offset[1]), h);
            s.fetch(&img, [x, y, layer], level)
        };
        if let Some(c) = args.gather_component {
            let (x0, y0) = ((fx - 0.5).floor() as i32, (fy - 0.5).floor() as i32);
            let (x1, y1) = (x0.saturating_add(1), y0.saturating_add(1));
            let quad = [
                at(self, x0, y1),
                at(self, x1, y1),
                at(self, x1, y0),
                at(self, x0, y0),
            ];
            let mut t = Texel {
                value: [0; 4],
                resident: quad.iter().all(|t| t.resident),
            };
            for (i, q) in quad.iter().enumerate() {
                t.value[i] = match args.dref {
                    Some(d) => if d <= f32::from_bits(q.value[0]) {
                        1.0f32
                    } else {
                        0.0
                    }
                    .to_bits(),
                    None => q.value[(c as usize).min(3)],
                };
            }
            return Ok(t);
        }
        let mut t = match filter {
            Filter::Nearest => at(self, fx.floor() as i32, fy.floor() as i32),
            Filter::Linear => {
                let (ux, uy) = (fx - 0.5, fy - 0.5);
                let (x0, y0) = (ux.floor() as i32, uy.floor() as i32);
                let (ax, ay) = (ux - ux.floor(), uy - uy.floor());
                let (x1, y1) = (x0.saturating_add(1), y0.saturating_add(1));
                let q = [
                    at(self, x0, y0),
                    at(self, x1, y0),
                    at(self, x0, y1),
                    at(self, x1, y1),
                ];
                let wts = [
                    (1.0 - ax) * (1.0 - ay),
                    ax * (1.0 - ay),
                    (1.0 - ax) * ay,
                    ax * ay,
                ];
                let mut v = [0f32; 4];
                for (t, wt) in q.iter().zip(wts) {
                    for (o, lane) in v.iter_mut().zip(t.value) {
                        *o += f32::from_bits(lane) * wt;
                    }
                }
                Texel {
                    value: v.map(f32::to_bits),
                    resident: q.iter().all(|t| t.resident),
                }
            }
        };
        if let Some(d) = args.dref {
            t.value = [
                if d <= f32::from_bits(t.value[0]) {
                    1.0f32
                } else {
                    0.0
                }
                .to_bits(),
                0,
                0,
                0,
            ];
        }
        Ok(t)
    }

    fn image_info(&mut self, image: ImageHandle, lod: u32) -> Result<ImageInfo, Fault> {
        let img = self.image(image)?;
        Ok(ImageInfo {
            size: img.level_size(lod),
            layers: img.layers,
            levels: img.levels,
            samples: 1,
        })
    }

    fn cancelled(&mut self) -> bool {
        self.polls += 1;
        self.cancel_after.is_some_and(|n| self.polls > n)
    }
}

pub fn f32s(words: &[u32]) -> Vec<f32> {
    words.iter().map(|&w| f32::from_bits(w)).collect()
}

pub fn words_of_f32(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}
