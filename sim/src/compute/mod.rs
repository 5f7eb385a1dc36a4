//! The shader cores: what `RUN_COMPUTE` starts.
//!
//! A job is read as the hardware reads it: the `Shader Program` descriptor
//! (`SPD` register) points to the program image (`mali_csf::desc::code`),
//! fetched with execute permission; the `Local Storage` descriptor must
//! provide the shared memory the program declares; the workgroup size
//! comes from `WG_SIZE` and the grid from `JOB_SIZE`. Workgroups then run
//! one after another on [`panthor_shader`]'s interpreter, every access
//! through the MMU ([`mem`]), descriptors and textures through [`env`].
//!
//! Programs are decoded once and kept by content ([`ProgramCache`]), as a
//! real GPU keeps nothing but a driver caches its compiled shaders.

mod env;
mod mem;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mali_csf::desc::{
    FauBuffer, FauSysvals, LocalStorage, ProgramCode, ResourceTable, ShaderProgram, WorkgroupSize,
};
use panthor_shader::{ExecError, Program, WorkgroupParams};

use crate::cs::{ComputeError, ComputeFault, ComputeJob};
use crate::device::VirtualMali;
use crate::mmu::Access;
use env::JobEnv;
use mem::ShaderMem;

/// A job running longer than this is stopped (the kernel would have timed
/// it out long before and reset the GPU).
const WATCHDOG: Duration = Duration::from_secs(10);

/// Programs kept decoded.
const CACHED_PROGRAMS: usize = 256;

/// Decoded programs by (image VA, content hash).
#[derive(Default)]
pub struct ProgramCache {
    map: Mutex<HashMap<(u64, u64), Arc<Decoded>>>,
}

struct Decoded {
    code: ProgramCode,
    program: Program,
}

fn content_hash(words: &[u32]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    words.hash(&mut h);
    h.finish()
}

impl ProgramCache {
    fn get(&self, mem: &mut ShaderMem<'_>, va: u64) -> Result<Arc<Decoded>, ComputeError> {
        let invalid = ComputeError::Refused(ComputeFault::InvalidProgram { va });
        let mut header = [0u32; ProgramCode::HEADER_WORDS];
        mem.fetch_words(va, &mut header)
            .map_err(ComputeError::Memory)?;
        let total = ProgramCode::image_words(&header).map_err(|_| invalid)?;
        let mut words = vec![0u32; total];
        mem.fetch_words(va, &mut words)
            .map_err(ComputeError::Memory)?;
        let key = (va, content_hash(&words));
        if let Some(d) = lock(&self.map).get(&key) {
            return Ok(d.clone());
        }
        let code = ProgramCode::parse(&words).map_err(|_| invalid)?;
        let program = Program::from_words(&code.shader).map_err(|e| {
            log::warn!("virtual Mali: program at {va:#x} refused: {e}");
            invalid
        })?;
        let d = Arc::new(Decoded { code, program });
        let mut map = lock(&self.map);
        if map.len() >= CACHED_PROGRAMS {
            map.clear();
        }
        map.insert(key, d.clone());
        Ok(d)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `job` in address space `as_nr` to completion.
pub fn run(gpu: &VirtualMali, as_nr: u32, job: &ComputeJob) -> Result<(), ComputeError> {
    let mut mem = ShaderMem::new(gpu, as_nr);
    let bad = |va| ComputeError::Refused(ComputeFault::InvalidDescriptor { va });
    let spd = mem.descriptor(job.spd).map_err(ComputeError::Memory)?;
    let spd = ShaderProgram::unpack(&spd).map_err(|_| bad(job.spd))?;
    let tsd = LocalStorage::unpack(&mem.descriptor(job.tsd).map_err(ComputeError::Memory)?);
    let decoded = gpu.programs.get(&mut mem, spd.binary)?;
    let info = decoded.program.info();
    if info.shared_memory_bytes > 0 && tsd.wls_size < info.shared_memory_bytes {
        // The hardware would run off the end of the area it was given.
        return Err(bad(job.tsd));
    }
    let fau = FauBuffer::unpack(job.fau);
    let mut sysvals = [0u8; FauSysvals::SIZE as usize];
    if (fau.words as u32) * 8 >= FauSysvals::SIZE {
        mem.read(fau.address, &mut sysvals, Access::Read)
            .map_err(ComputeError::Memory)?;
    }
    let word = |i: u32| {
        let o = i as usize;
        u32::from_le_bytes([sysvals[o], sysvals[o + 1], sysvals[o + 2], sysvals[o + 3]])
    };
    let base = [0, 1, 2].map(|i| word(FauSysvals::BASE_WORKGROUP + 4 * i));
    let num_workgroups = [0, 1, 2].map(|i| word(FauSysvals::NUM_WORKGROUPS + 4 * i));
    let local_size = WorkgroupSize::unpack(job.wg_size).0;
    let mut env = JobEnv::new(
        mem,
        &decoded.code,
        ResourceTable::unpack(job.srt),
        fau,
        Instant::now() + WATCHDOG,
    );
    let [nx, ny, nz] = job.job_size;
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let params = WorkgroupParams {
                    local_size,
                    workgroup_id: [
                        x.wrapping_add(base[0]),
                        y.wrapping_add(base[1]),
                        z.wrapping_add(base[2]),
                    ],
                    num_workgroups,
                };
                if let Err(e) = decoded.program.run_workgroup(&mut env, &params) {
                    return Err(job_error(&env, e, spd.binary));
                }
            }
        }
    }
    Ok(())
}

/// What a stopped workgroup means for the job.
fn job_error(env: &JobEnv<'_, '_>, e: ExecError, program: u64) -> ComputeError {
    if let Some(why) = env.refused {
        return ComputeError::Refused(why);
    }
    match e {
        ExecError::Fault(f) => ComputeError::Memory(crate::cs::MemFault {
            va: f.va,
            write: f.write,
        }),
        ExecError::Cancelled => ComputeError::Refused(ComputeFault::Cancelled),
        other => {
            log::warn!("virtual Mali: shader at {program:#x} stopped: {other}");
            ComputeError::Refused(ComputeFault::ShaderError { va: program })
        }
    }
}
