//! The CSF front end: command-stream interfaces executing ring buffers.
//!
//! On a real Mali the firmware (MCU) owns the interfaces; the kernel sees
//! them through shared memory (CS_INPUT: ring base/size, insert offset;
//! CS_OUTPUT: extract offset, fatal status) and doorbells. Here each
//! interface is a [`CsState`] interpreter and one "GPU" thread executes every
//! interface with work: the bytes between extract and insert, fetched
//! through the MMU of the interface's address space. A fault stops the
//! interface and is latched in its CS_FATAL; the IRQ line is raised whenever
//! an interface progressed, stopped or faulted, so the kernel side looks.
//!
//! Streams blocked on a `SYNC_WAIT` are re-evaluated after every sync update
//! by any interface and, because the CPU may also write sync objects, every
//! [`POLL_BLOCKED`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use panthor_kmd::hw::{CsFatal, CsRing, CsSlot, CsStatus, CsfInterface};

use crate::cs::{ComputeFault, CsFault, CsState, Outcome};
use crate::device::VirtualMali;
use crate::gpu_as::GpuAs;
use crate::mmu::Fault;

/// `DRM_PANTHOR_EXCEPTION_*` codes a CS_FATAL carries.
pub mod exception {
    pub const CS_CONFIG_FAULT: u8 = 0x40;
    pub const CS_INSTR_INVALID: u8 = 0x49;
    pub const CS_CALL_STACK_OVERFLOW: u8 = 0x4a;
    pub const INSTR_INVALID_PC: u8 = 0x50;
    pub const INSTR_INVALID_ENC: u8 = 0x51;
    pub const INSTR_BARRIER_FAULT: u8 = 0x55;
    pub const DATA_INVALID_FAULT: u8 = 0x58;
}

/// Instructions one interface runs before the thread moves to the next.
const TIME_SLICE: u64 = 1 << 14;

/// How often blocked `SYNC_WAIT`s are re-read when nothing else happens.
pub const POLL_BLOCKED: Duration = Duration::from_micros(200);

/// The raised-interrupt callback (the kernel side's IRQ handler).
pub type IrqLine = Arc<dyn Fn() + Send + Sync>;

struct Interface {
    ring: Option<CsRing>,
    insert: u64,
    extract: u64,
    /// Bytes of the ring segment being executed (0: none started).
    segment: u64,
    cs: CsState,
    fatal: Option<CsFatal>,
}

impl Interface {
    fn new() -> Interface {
        Interface {
            ring: None,
            insert: 0,
            extract: 0,
            segment: 0,
            cs: CsState::new(),
            fatal: None,
        }
    }

    fn has_work(&self) -> bool {
        self.ring.is_some()
            && self.fatal.is_none()
            && (self.segment != 0 || self.extract < self.insert)
    }
}

/// What one time slice on one interface did.
#[derive(Clone, Copy, Default)]
struct Slice {
    progressed: bool,
    blocked: bool,
    syncs: bool,
    irq: bool,
}

/// The command-stream front end.
pub struct Csf {
    iface: CsfInterface,
    slots: Vec<Mutex<Interface>>,
    /// Bumped by doorbells and binds; the GPU thread sleeps on it.
    doorbell: Mutex<u64>,
    rung: Condvar,
    irq: Mutex<Option<IrqLine>>,
    stop: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Csf {
    pub fn new(iface: CsfInterface) -> Csf {
        let n = (iface.csg_slots * iface.cs_per_csg) as usize;
        Csf {
            iface,
            slots: (0..n).map(|_| Mutex::new(Interface::new())).collect(),
            doorbell: Mutex::new(0),
            rung: Condvar::new(),
            irq: Mutex::new(None),
            stop: AtomicBool::new(false),
            thread: Mutex::new(None),
        }
    }

    pub fn interface(&self) -> CsfInterface {
        self.iface
    }

    /// Connects the interrupt line.
    pub fn set_irq(&self, irq: IrqLine) {
        *lock(&self.irq) = Some(irq);
    }

    /// Starts the GPU thread for `gpu` (which owns this front end).
    pub(crate) fn start(&self, gpu: Weak<VirtualMali>) {
        let handle = std::thread::Builder::new()
            .name("vmali-csf".into())
            .spawn(move || gpu_thread(gpu))
            .ok();
        *lock(&self.thread) = handle;
    }

    /// True once the device is going away (running jobs stop early).
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Stops the GPU thread (the device is going away).
    pub(crate) fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        self.ring();
        let handle = lock(&self.thread).take();
        if let Some(h) = handle {
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }

    fn slot(&self, slot: CsSlot) -> Option<MutexGuard<'_, Interface>> {
        if slot.csg >= self.iface.csg_slots || slot.cs >= self.iface.cs_per_csg {
            return None;
        }
        let i = (slot.csg * self.iface.cs_per_csg + slot.cs) as usize;
        self.slots.get(i).map(lock)
    }

    fn ring(&self) {
        *lock(&self.doorbell) += 1;
        self.rung.notify_all();
    }

    pub fn bind(&self, slot: CsSlot, ring: CsRing) {
        let Some(mut s) = self.slot(slot) else { return };
        *s = Interface::new();
        s.ring = Some(ring);
        if !ring.size.is_power_of_two() || ring.size < 8 {
            s.fatal = Some(CsFatal {
                exception_type: exception::CS_CONFIG_FAULT,
                info: ring.size as u64,
            });
        }
        drop(s);
        self.ring();
    }

    pub fn doorbell(&self, slot: CsSlot, insert: u64) {
        let Some(mut s) = self.slot(slot) else { return };
        // The insert offset only grows; a smaller one is a kernel bug the
        // firmware would ignore.
        if insert > s.insert {
            s.insert = insert;
        }
        drop(s);
        self.ring();
    }

    pub fn status(&self, slot: CsSlot) -> CsStatus {
        self.slot(slot)
            .map(|s| CsStatus {
                extract: s.extract,
                fatal: s.fatal,
            })
            .unwrap_or_default()
    }

    pub fn unbind(&self, slot: CsSlot) {
        // Taking the slot's lock waits for a time slice in progress.
        if let Some(mut s) = self.slot(slot) {
            *s = Interface::new();
        }
    }

    /// Runs every interface with work for one time slice.
    fn step(&self, gpu: &VirtualMali) -> Slice {
        let mut all = Slice::default();
        for slot in &self.slots {
            let mut s = lock(slot);
            if !s.has_work() {
                continue;
            }
            let r = run_slice(gpu, &mut s);
            all.progressed |= r.progressed;
            all.blocked |= r.blocked;
            all.syncs |= r.syncs;
            all.irq |= r.irq;
        }
        all
    }

    fn raise_irq(&self) {
        let irq = lock(&self.irq).clone();
        if let Some(irq) = irq {
            irq();
        }
    }
}

/// Executes one interface until its time slice ends, it blocks, faults, or
/// runs out of ring.
fn run_slice(gpu: &VirtualMali, s: &mut Interface) -> Slice {
    let Some(ring) = s.ring else {
        return Slice::default();
    };
    let mut out = Slice::default();
    let mut budget = TIME_SLICE;
    let syncs_before = s.cs.sync_updates();
    let mut mem = GpuAs::new(gpu, ring.as_nr);
    while budget > 0 {
        if s.segment == 0 {
            if s.extract >= s.insert {
                break;
            }
            // Execute up to the ring's end; the rest wraps to its start.
            let offset = s.extract % ring.size as u64;
            let len = (s.insert - s.extract).min(ring.size as u64 - offset);
            s.segment = len;
            s.cs.start(ring.base + offset, len as u32);
        }
        let retired = s.cs.retired();
        let outcome = s.cs.run(&mut mem, budget);
        let ran = s.cs.retired() - retired;
        budget = budget.saturating_sub(ran.max(1));
        out.progressed |= ran > 0;
        match outcome {
            Outcome::Done => {
                s.extract += s.segment;
                s.segment = 0;
                out.irq = true;
            }
            Outcome::Blocked => {
                out.blocked = true;
                break;
            }
            Outcome::BudgetExhausted => {}
            Outcome::Fault(f) => {
                s.fatal = Some(fatal_of(gpu, ring.as_nr, f));
                s.segment = 0;
                out.irq = true;
                break;
            }
        }
    }
    out.syncs = s.cs.sync_updates() != syncs_before;
    out.irq |= out.syncs;
    out
}

/// CS_FATAL for an interpreter fault. Memory faults carry the MMU's
/// latched exception type (translation, permission, access flag).
fn fatal_of(gpu: &VirtualMali, as_nr: u32, f: CsFault) -> CsFatal {
    use exception::*;
    let (exception_type, info) = match f {
        CsFault::Memory(m) => {
            let mmu: Option<Fault> = gpu.mmu.peek_fault(as_nr);
            let ty = mmu.map(|f| f.exception_type() as u8).unwrap_or(0xc0);
            (ty, m.va)
        }
        CsFault::InvalidInstruction { va, .. } | CsFault::Unsupported { va, .. } => {
            (CS_INSTR_INVALID, va)
        }
        CsFault::CallStackOverflow => (CS_CALL_STACK_OVERFLOW, 0),
        CsFault::InvalidRegister { va, .. } => (CS_INSTR_INVALID, va),
        CsFault::BadBuffer { addr, .. } => (INSTR_INVALID_PC, addr),
        CsFault::MisalignedSync { addr, .. } | CsFault::MisalignedAccess { addr, .. } => {
            (DATA_INVALID_FAULT, addr)
        }
        CsFault::BranchOutOfRange { target, .. } => (INSTR_INVALID_PC, target),
        CsFault::Compute { va, fault } => match fault {
            ComputeFault::NoShaderCores => (CS_INSTR_INVALID, va),
            ComputeFault::InvalidProgram { va } => (INSTR_INVALID_ENC, va),
            ComputeFault::InvalidDescriptor { va } | ComputeFault::ShaderError { va } => {
                (DATA_INVALID_FAULT, va)
            }
            ComputeFault::Cancelled => (INSTR_BARRIER_FAULT, va),
        },
    };
    CsFatal {
        exception_type,
        info,
    }
}

fn gpu_thread(gpu: Weak<VirtualMali>) {
    loop {
        let Some(g) = gpu.upgrade() else { return };
        let csf = &g.csf;
        if csf.stop.load(Ordering::Acquire) {
            return;
        }
        let seen = *lock(&csf.doorbell);
        let r = csf.step(&g);
        if r.irq {
            csf.raise_irq();
        }
        if r.progressed {
            continue;
        }
        // Idle or only blocked: sleep until a doorbell, polling blocked
        // waits (the CPU may satisfy them).
        let timeout = if r.blocked {
            POLL_BLOCKED
        } else {
            Duration::from_millis(50)
        };
        let bell = lock(&csf.doorbell);
        if *bell == seen {
            let _ = csf.rung.wait_timeout(bell, timeout);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
