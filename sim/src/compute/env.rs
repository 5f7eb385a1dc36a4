//! One compute job's view of the world for the shader core
//! ([`panthor_shader::env::ShaderEnv`]): GPU memory through the MMU, the
//! descriptors its resource table points to (Mali v10 formats, located by
//! the program image's binding map), its FAU buffer, and the texture unit.

use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap as HashMap;
use std::time::Instant;

use mali_csf::desc::{
    Buffer, BufferType, DescriptorType, FauBuffer, ProgramCode, Resource, ResourceTable, Sampler,
    DESCRIPTOR_SIZE, RESOURCE_SIZE,
};
use panthor_shader::env::{
    AtomicOp, Descriptor, Fault, ImageHandle, ImageInfo, Lod, SampleArgs, SamplerHandle, ShaderEnv,
    Texel,
};

use super::mem::ShaderMem;
use crate::cs::{ComputeFault, MemFault};
use crate::mmu::Access;
use crate::texture::{self, load_sampler, ImageResource, TexelMemory, TextureFault};

pub struct JobEnv<'a, 'c> {
    pub mem: ShaderMem<'a>,
    code: &'c ProgramCode,
    srt: ResourceTable,
    fau: FauBuffer,
    /// The first refusal that is not an MMU fault; it decides the job's
    /// fault once the shader core stops on the `Fault` it was handed.
    pub refused: Option<ComputeFault>,
    /// Descriptors by (set, binding, index): the tables do not change
    /// while a job runs, and every workgroup asks again.
    descriptors: HashMap<(u32, u32, u32), Descriptor>,
    views: HashMap<u64, ImageResource>,
    samplers: HashMap<u64, Sampler>,
    /// The push constants, read from the FAU buffer once per job.
    push: Option<Vec<u8>>,
    deadline: Instant,
}

fn mem_fault(f: MemFault) -> Fault {
    Fault {
        va: f.va,
        write: f.write,
    }
}

impl<'a, 'c> JobEnv<'a, 'c> {
    pub fn new(
        mem: ShaderMem<'a>,
        code: &'c ProgramCode,
        srt: ResourceTable,
        fau: FauBuffer,
        deadline: Instant,
    ) -> Self {
        JobEnv {
            mem,
            code,
            srt,
            fau,
            refused: None,
            descriptors: HashMap::default(),
            views: HashMap::default(),
            samplers: HashMap::default(),
            push: None,
            deadline,
        }
    }

    /// Records why the job must stop and gives the core a fault to stop on.
    fn refuse(&mut self, why: ComputeFault, va: u64) -> Fault {
        self.refused.get_or_insert(why);
        Fault { va, write: false }
    }

    fn texture_fault(&mut self, f: TextureFault) -> Fault {
        match f {
            TextureFault::Memory { va, write } => Fault { va, write },
            TextureFault::BadDescriptor { va } | TextureFault::Unsupported { va } => {
                self.refuse(ComputeFault::InvalidDescriptor { va }, va)
            }
        }
    }

    /// The VA of entry `index` of resource table `table`, or None when the
    /// table or the entry does not exist (a null descriptor).
    fn slot_va(&mut self, table: u32, index: u32) -> Result<Option<u64>, Fault> {
        if table >= self.srt.count {
            return Ok(None);
        }
        let mut r = [0; RESOURCE_SIZE];
        let at = self.srt.address + table as u64 * RESOURCE_SIZE as u64;
        self.mem.read(at, &mut r, Access::Read).map_err(mem_fault)?;
        let res = Resource::unpack(&r);
        let end = (index as u64 + 1) * DESCRIPTOR_SIZE as u64;
        Ok((res.contains_descriptors && end <= res.size)
            .then(|| res.address + index as u64 * DESCRIPTOR_SIZE as u64))
    }

    fn decode(&mut self, va: u64) -> Result<Descriptor, Fault> {
        let d = self.mem.descriptor(va).map_err(mem_fault)?;
        match DescriptorType::of(&d) {
            Some(DescriptorType::Buffer) => match Buffer::unpack(&d) {
                Ok(b) if b.ty == BufferType::Simple => Ok(Descriptor::Buffer {
                    va: b.address,
                    size: b.size as u64,
                }),
                Ok(_) => Ok(Descriptor::Image(ImageHandle(va))),
                Err(_) => Err(self.refuse(ComputeFault::InvalidDescriptor { va }, va)),
            },
            Some(DescriptorType::Texture) => Ok(Descriptor::Image(ImageHandle(va))),
            Some(DescriptorType::Sampler) => Ok(Descriptor::Sampler(SamplerHandle(va))),
            // A null descriptor: an empty buffer (robust accesses read 0).
            Some(DescriptorType::Null) => Ok(Descriptor::Buffer { va: 0, size: 0 }),
            _ => Err(self.refuse(ComputeFault::InvalidDescriptor { va }, va)),
        }
    }

    /// The descriptor of (`set`, `binding`, `index`) through the program's
    /// binding map and the resource tables; absent ones are null buffers.
    fn resolve(&mut self, set: u32, binding: u32, index: u32) -> Result<Descriptor, Fault> {
        let Some(&slot) = self.code.binding(set, binding) else {
            return Ok(Descriptor::Buffer { va: 0, size: 0 });
        };
        let first = index
            .checked_mul(slot.stride)
            .and_then(|i| i.checked_add(slot.first));
        let Some(first) = first else {
            return Ok(Descriptor::Buffer { va: 0, size: 0 });
        };
        let Some(va) = self.slot_va(slot.table, first)? else {
            return Ok(Descriptor::Buffer { va: 0, size: 0 });
        };
        let d = self.decode(va)?;
        if slot.stride < 2 {
            return Ok(d);
        }
        // A combined image sampler: the sampler follows the texture.
        let sampler = match self.slot_va(slot.table, first + 1)? {
            Some(sva) => self.decode(sva)?,
            None => Descriptor::Buffer { va: 0, size: 0 },
        };
        match (d, sampler) {
            (Descriptor::Image(image), Descriptor::Sampler(sampler)) => {
                Ok(Descriptor::CombinedImageSampler { image, sampler })
            }
            _ => Err(self.refuse(ComputeFault::InvalidDescriptor { va }, va)),
        }
    }

    fn sampler(&mut self, h: SamplerHandle) -> Result<Sampler, Fault> {
        if let Some(s) = self.samplers.get(&h.0) {
            return Ok(*s);
        }
        let s = load_sampler(&mut self.mem, h.0).map_err(|f| self.texture_fault(f))?;
        self.samplers.insert(h.0, s);
        Ok(s)
    }

    /// Runs `f` on the image behind `h` (loaded once per job) with the
    /// memory.
    fn with_image<T>(
        &mut self,
        h: ImageHandle,
        f: impl FnOnce(&ImageResource, &mut dyn TexelMemory) -> Result<T, TextureFault>,
    ) -> Result<T, Fault> {
        let loaded = match self.views.entry(h.0) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => ImageResource::load(&mut self.mem, h.0).map(|r| e.insert(r)),
        };
        let view = match loaded {
            Ok(v) => v,
            Err(err) => return Err(self.texture_fault(err)),
        };
        let r = f(view, &mut self.mem);
        r.map_err(|e| self.texture_fault(e))
    }
}

impl ShaderEnv for JobEnv<'_, '_> {
    fn load(&mut self, va: u64, out: &mut [u8]) -> Result<(), Fault> {
        self.mem.read(va, out, Access::Read).map_err(mem_fault)?;
        Ok(())
    }

    fn store(&mut self, va: u64, data: &[u8]) -> Result<(), Fault> {
        self.mem.write(va, data).map_err(mem_fault)
    }

    fn atomic(&mut self, va: u64, width: u8, op: AtomicOp, value: u64) -> Result<u64, Fault> {
        let n = if width == 8 { 8 } else { 4 };
        let mut b = [0u8; 8];
        self.mem
            .read(va, &mut b[..n], Access::Write)
            .map_err(mem_fault)?;
        let old = u64::from_le_bytes(b);
        let mask = if n == 8 { u64::MAX } else { u32::MAX as u64 };
        let new = op.apply(old, value & mask, n as u8) & mask;
        self.mem
            .write(va, &new.to_le_bytes()[..n])
            .map_err(mem_fault)?;
        Ok(old)
    }

    fn descriptor(&mut self, set: u32, binding: u32, index: u32) -> Result<Descriptor, Fault> {
        let key = (set, binding, index);
        if let Some(&d) = self.descriptors.get(&key) {
            return Ok(d);
        }
        let d = self.resolve(set, binding, index)?;
        self.descriptors.insert(key, d);
        Ok(d)
    }

    fn push_constants(&mut self, offset: u32, out: &mut [u8]) -> Result<(), Fault> {
        if self.push.is_none() {
            let fau_bytes = self.fau.words as u64 * 8;
            let start = (self.code.push_offset as u64).min(fau_bytes);
            let mut push = vec![0; (fau_bytes - start) as usize];
            self.mem
                .read(self.fau.address + start, &mut push, Access::Read)
                .map_err(mem_fault)?;
            self.push = Some(push);
        }
        let push = self.push.as_deref().unwrap_or_default();
        out.fill(0);
        let from = (offset as usize).min(push.len());
        let n = out.len().min(push.len() - from);
        out[..n].copy_from_slice(&push[from..from + n]);
        Ok(())
    }

    fn image_read(
        &mut self,
        image: ImageHandle,
        coord: [i32; 3],
        lod: u32,
        sample: u32,
    ) -> Result<Texel, Fault> {
        let (value, resident) = self.with_image(image, |r, mem| r.read(mem, coord, lod, sample))?;
        Ok(Texel { value, resident })
    }

    fn image_write(
        &mut self,
        image: ImageHandle,
        coord: [i32; 3],
        sample: u32,
        texel: [u32; 4],
    ) -> Result<(), Fault> {
        self.with_image(image, |r, mem| r.write(mem, coord, sample, texel))
    }

    fn image_texel_va(
        &mut self,
        image: ImageHandle,
        coord: [i32; 3],
        sample: u32,
    ) -> Result<Option<u64>, Fault> {
        self.with_image(image, |r, mem| r.texel_va(mem, coord, sample))
    }

    fn image_sample(
        &mut self,
        image: ImageHandle,
        sampler: SamplerHandle,
        args: &SampleArgs,
    ) -> Result<Texel, Fault> {
        let s = self.sampler(sampler)?;
        let args = texture::SampleArgs {
            coord: args.coord,
            lod: match args.lod {
                Lod::Explicit(l) => texture::Lod::Explicit(l),
                Lod::Grad { dx, dy } => texture::Lod::Grad { dx, dy },
            },
            offset: args.offset,
            min_lod: args.min_lod,
            dref: args.dref,
            gather_component: args.gather_component,
        };
        let (value, resident) = self.with_image(image, |r, mem| r.sample(mem, &s, &args))?;
        Ok(Texel { value, resident })
    }

    fn image_info(&mut self, image: ImageHandle, lod: u32) -> Result<ImageInfo, Fault> {
        let v = self.with_image(image, |r, _| Ok(r.info(lod)))?;
        Ok(ImageInfo {
            size: v.size,
            layers: v.layers,
            levels: v.levels,
            samples: v.samples,
        })
    }

    fn cancelled(&mut self) -> bool {
        self.mem.gpu().csf.stopping() || Instant::now() > self.deadline
    }
}
