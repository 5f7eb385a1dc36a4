//! Bad input, at volume: a seeded random driver for the in-process panthor
//! device, run in CI with a fixed budget.
//!
//! Every input is one uAPI call whose arguments are drawn towards the edges
//! (zero, `u64::MAX`, page / 2 MiB / 1 GiB boundaries give or take a page,
//! misaligned values, ranges that leave the VA space, random flag bits,
//! live, stale and random handles), or one CS stream run on a group. The
//! invariants, checked input by input:
//!
//! - nothing panics and nothing hangs: a watchdog bounds the whole run, and
//!   every GPU job the fuzzer waits for completes within [`HANG_NS`];
//! - a refused call returns an errno and changes nothing observable: BO
//!   handles, VM ids and states, group states, syncobj points and
//!   signalled-ness, and the VMA list and page-table translations of the
//!   VMs the call names (of every VM, every [`DEEP_EVERY`] inputs) are the
//!   same before and after it, and so are its out-parameters;
//! - an accepted call does what it says where that is cheap to see (a
//!   one-op synchronous bind translates as asked; a valid CS stream's last
//!   store lands and its group stays healthy);
//! - a CS stream that faults makes its group FATAL_FAULT, and its out-fence
//!   still signals;
//! - the kernel side raises no warning ([`panthor_kmd::diag`]: warnings
//!   are kernel bugs, and nothing here misuses the kernel's internal API);
//! - a second open file of the device, used with the first file's handles
//!   and mmap offsets, running its own GPU work, or closed with that work
//!   in flight, changes nothing the first file observes.
//!
//! GPU work runs concurrently with the fuzzer, so until everything submitted
//! has completed ("settled", see [`Fuzz::settle`]) the oracle allows what
//! completing work may change: pending fences signal, groups turn fatal,
//! VMs turn unusable after a GPU fault, and VMs with queued asynchronous
//! binds are not compared.
//!
//! Every CS stream the fuzzer sends is built to end quickly: no backward
//! branch, JUMP or SYNC_WAIT that can block, CALL only into short buffers it
//! wrote, and stores only of values whose every 32-bit word is a NOP or
//! MOVE48 when executed, so that running any memory the GPU can write ends
//! too. Streams that never end are the kernel's job timeout's business
//! (5 s each); [`a_stream_that_never_ends_is_timed_out`] checks it once.
//!
//! Environment: `FUZZ_SEED` (default [`DEFAULT_SEED`]), `FUZZ_INPUTS`
//! (default [`DEFAULT_INPUTS`]), `FUZZ_KEEP_GOING=1` to collect
//! every finding instead of stopping at the first, `FUZZ_TRACE=1` to print
//! every input and its result, `FUZZ_WATCHDOG_S` (default 300).
//! For example, with more inputs in an optimised build:
//! `FUZZ_SEED=7 FUZZ_INPUTS=100000 cargo test --release -p panthor-sim --test fuzz_uapi -- --nocapture`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::os::fd::AsFd;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use panthor_kmd::diag;
use panthor_kmd::hw::{Hardware, PhysAddr};
use panthor_kmd::pte::{Entry, Pte};
use panthor_sim::cs::{
    decode, encode, opcode, Async, Condition, CsBuilder, FlushMode, Instr, OtherFlushMode,
    SyncScope,
};
use panthor_sim::virtual_device::{monotonic_ns, VirtualDevice, VirtualFile};
use panthor_uapi::device::*;
use panthor_uapi::errno::Errno;
use panthor_uapi::uapi::*;

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// The CI seed ("panthor!").
const DEFAULT_SEED: u64 = 0x7061_6e74_686f_7221;
/// The CI budget: about 15 s in a debug build on 2 cores.
const DEFAULT_INPUTS: u64 = 4000;
/// GPU memory of the virtual device (sparse in host RAM). Small enough that
/// large BOs run it out and ENOMEM paths get exercised.
const DEVICE_MEMORY: u64 = 512 << 20;
/// How long a GPU job the fuzzer waits for may take before it is a hang.
const HANG_NS: i64 = 5_000_000_000;
/// Every this many inputs, every VM's page tables are compared (otherwise
/// only the VMs an input names).
const DEEP_EVERY: u64 = 16;
/// How many recent inputs a failure report quotes.
const LOG_INPUTS: usize = 24;

const PAGE: u64 = 4096;
const SZ_2M: u64 = 2 << 20;
const SZ_1G: u64 = 1 << 30;

/// Where the CS rig maps its buffers (see [`Rig`]). The low 32 bits of
/// every rig address are below 2^25, so storing an address never writes a
/// word that executes as anything but NOP or MOVE48.
const CODE_VA: u64 = 0x10_0000_0000;
const DATA_VA: u64 = 0x10_0100_0000;
/// The data BO again, read-only (stores there fault).
const RO_VA: u64 = 0x10_0200_0000;
const CODE_SIZE: u64 = 256 << 10;
const DATA_SIZE: u64 = 1 << 20;
/// Code bytes each CS input may use (main stream and its sub-buffers).
const CODE_SLOT: u64 = 4096;
/// Sentinel stores of valid streams go to the last page of the data BO;
/// every other store stays below it.
const SENTINEL_AREA: u64 = DATA_SIZE - PAGE;
/// Where plausible VM_BIND ops go: below the rig, so that they collide with
/// each other (splits, merges, remaps) and not with the rig.
const ARENA: u64 = CODE_VA;

/// Registers of the CS streams: d0..d14 hold addresses, r16..r63 values,
/// d80/r82 the CALL target and length (never written by random streams),
/// r64/d66 the sentinel; r92..r95 are the kernel's.
const VALUE_REGS: std::ops::Range<u8> = 16..64;
const CALL_ADDR: u8 = 80;
const CALL_LEN: u8 = 82;
const SENTINEL_VAL: u8 = 64;
const SENTINEL_ADDR: u8 = 66;
/// Random streams must not write these (call registers, kernel scratch).
const RESERVED_REGS: std::ops::Range<u8> = 80..96;

// ---------------------------------------------------------------------------
// Bugs found (fixed)
// ---------------------------------------------------------------------------

/// Inputs that triggered the bugs this fuzzer found. All are fixed and each
/// has a `regression_*` test below; the fuzzer sends them (the `all` switch
/// is on) and still counts them, so a new bug of the same shape can be held
/// back with `all: false` while it is being fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KnownBug {
    /// `VirtualFile::mmap` (sim/src/virtual_device.rs) rounds `len` up with
    /// `next_multiple_of(4096)`, which overflows for a length within a page
    /// of `usize::MAX`: a panic in debug builds instead of EINVAL.
    MmapLenOverflow,
    /// kmd/src/sched.rs: a group whose VM has no address space never
    /// becomes resident while resident idle groups hold all 7 user address
    /// spaces and a CSG slot is free (idle groups are only evicted for a
    /// CSG slot, never for an address space): its jobs never run.
    AddressSpaceStarvation,
    /// kmd/src/submit.rs: a job that waits on a point the same submission
    /// signals (in that job or a later one) when the point has no fence yet
    /// raised a kernel warning. Linux refuses it with EINVAL too (a
    /// `drm_WARN_ON(!sig_sync->fence)`), but user input must not warn here.
    WaitOnOwnSignal,
    /// kmd/src/syncobj.rs `add_point`: a timeline point not above the
    /// newest (TIMELINE_SIGNAL, TRANSFER, a job's SIGNAL) raises a kernel
    /// warning; Linux only logs it at debug level. User input must not
    /// raise kernel warnings.
    UnorderedTimelinePoint,
    /// sim/src/gpu_as.rs, sim/src/memory.rs: a LOAD_MULTIPLE or
    /// STORE_MULTIPLE at an address that is not 4-byte aligned reaches
    /// `PhysPage::read_u32`/`write_u32` (or the `read_u32s` fast path),
    /// which panic ("unaligned 32-bit physical access") on the GPU thread:
    /// the GPU is gone and every later job hangs. The interpreter checks
    /// the alignment of sync objects (`CsFault::MisalignedSync`), not of
    /// loads and stores.
    UnalignedGpuAccess,
    /// kmd/src/file.rs `File::group_submit`: `can_run()` is checked under
    /// one group lock and the jobs are queued under another, later; when
    /// the scheduler finds the group faulted (or timed out) in between, it
    /// cancels the jobs it has and the new ones are queued on a dead group,
    /// never run and never cancelled: their fences never signal (and every
    /// job waiting on them hangs). Racy; the fuzzer cannot avoid sending
    /// it, so with `all: false` it recognises it (a dead group with pending
    /// jobs), counts it and destroys the group to recover.
    SubmitRacesGroupDeath,
}

// ---------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------

/// SplitMix64: tiny, and the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        match (hi - lo).checked_add(1) {
            Some(n) => lo + self.below(n),
            None => self.next(),
        }
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn with the given weights.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// `x` moved by one of the deltas the kernel's range checks care about.
fn nudge(r: &mut Rng, x: u64) -> u64 {
    let delta = r.pick(&[
        0,
        0,
        0,
        PAGE,
        PAGE.wrapping_neg(),
        SZ_2M,
        SZ_2M.wrapping_neg(),
        1,
        8,
        2048,
        1u64.wrapping_neg(),
    ]);
    x.wrapping_add(delta)
}

/// An address or size at one of the edges: 0, the top of `u64`, powers of
/// two, page / 2 MiB / 1 GiB multiples, misaligned values.
fn edge_u64(r: &mut Rng) -> u64 {
    match r.below(12) {
        0 => 0,
        1 => u64::MAX - r.below(2) * (PAGE - 1),
        2 => !(PAGE - 1),
        3 => 1 << r.range(12, 63),
        4 => (1u64 << r.range(12, 63)) - PAGE,
        5 => (1u64 << r.range(12, 62)) + PAGE,
        6 => r.below(1 << 20) * PAGE,
        7 => {
            let x = r.below(1 << 12) * SZ_2M;
            nudge(r, x)
        }
        8 => {
            let x = r.below(1 << 9) * SZ_1G;
            nudge(r, x)
        }
        9 => r.next(),
        10 => r.next() & !(PAGE - 1),
        _ => r.below(PAGE),
    }
}

/// A VA for a VM whose user range is `range`, mostly near its edges.
fn wild_va(r: &mut Rng, range: u64) -> u64 {
    match r.below(6) {
        0 => nudge(r, range),
        1 => {
            let x = range.wrapping_sub(r.range(1, 16) * PAGE);
            nudge(r, x)
        }
        2 => {
            let x = r.below(range / SZ_1G + 1) * SZ_1G;
            nudge(r, x)
        }
        3 => {
            let x = r.below((range / SZ_2M).min(1 << 20) + 1) * SZ_2M;
            nudge(r, x)
        }
        4 => r.below(range.max(1)) & !(PAGE - 1),
        _ => edge_u64(r),
    }
}

/// A size, mostly near an edge of `bo_size` or of the VA range.
fn wild_size(r: &mut Rng, bo_size: u64, range: u64, va: u64) -> u64 {
    match r.below(6) {
        0 => nudge(r, bo_size),
        1 => nudge(r, range.wrapping_sub(va)),
        2 => {
            let x = r.pick(&[PAGE, SZ_2M, SZ_1G, 1 << 40, 1 << 47]);
            nudge(r, x)
        }
        3 => r.range(1, 64) * PAGE,
        _ => edge_u64(r),
    }
}

/// A 32-bit value no word of which executes as anything but NOP (opcode
/// 0) or MOVE48 (opcode 1): the top byte is 0 or 1.
fn safe_u32(r: &mut Rng) -> u32 {
    match r.below(4) {
        0 => 0,
        1 => r.below(256) as u32,
        _ => r.below(1 << 20) as u32,
    }
}

fn safe_u64(r: &mut Rng) -> u64 {
    safe_u32(r) as u64 | (safe_u32(r) as u64) << 32
}

// ---------------------------------------------------------------------------
// What the fuzzer believes exists
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct BoInfo {
    handle: u32,
    size: u64,
    mmap_offset: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct VmInfo {
    id: u32,
    range: u64,
}

#[derive(Clone, Copy, Debug)]
struct GroupInfo {
    handle: u32,
    /// 0 once the VM id was destroyed (the group keeps the VM alive).
    vm: u32,
    queues: u32,
}

/// Live objects (handles the fuzzer got and did not give back), and the
/// handles it gave back (stale, unless the kernel handed them out again).
#[derive(Default)]
struct Model {
    bos: Vec<BoInfo>,
    vms: Vec<VmInfo>,
    groups: Vec<GroupInfo>,
    syncobjs: Vec<u32>,
    gone_bos: Vec<u32>,
    gone_vms: Vec<u32>,
    gone_groups: Vec<u32>,
    gone_syncobjs: Vec<u32>,
    max_bo: u32,
    max_group: u32,
    max_syncobj: u32,
}

fn forget(list: &mut Vec<u32>, h: u32) {
    list.retain(|&x| x != h);
}

fn remember_gone(list: &mut Vec<u32>, h: u32) {
    if !list.contains(&h) {
        list.push(h);
        if list.len() > 32 {
            list.remove(0);
        }
    }
}

impl Model {
    fn add_bo(&mut self, bo: BoInfo) {
        forget(&mut self.gone_bos, bo.handle);
        self.max_bo = self.max_bo.max(bo.handle);
        self.bos.push(bo);
    }

    fn remove_bo(&mut self, handle: u32) {
        self.bos.retain(|b| b.handle != handle);
        remember_gone(&mut self.gone_bos, handle);
    }

    fn add_vm(&mut self, vm: VmInfo) {
        forget(&mut self.gone_vms, vm.id);
        self.vms.push(vm);
    }

    fn remove_vm(&mut self, id: u32) {
        self.vms.retain(|v| v.id != id);
        for g in &mut self.groups {
            if g.vm == id {
                g.vm = 0;
            }
        }
        remember_gone(&mut self.gone_vms, id);
    }

    fn vm(&self, id: u32) -> Option<VmInfo> {
        self.vms.iter().copied().find(|v| v.id == id)
    }

    fn add_group(&mut self, g: GroupInfo) {
        forget(&mut self.gone_groups, g.handle);
        self.max_group = self.max_group.max(g.handle);
        self.groups.push(g);
    }

    fn remove_group(&mut self, handle: u32) {
        self.groups.retain(|g| g.handle != handle);
        remember_gone(&mut self.gone_groups, handle);
    }

    fn group(&self, handle: u32) -> Option<GroupInfo> {
        self.groups.iter().copied().find(|g| g.handle == handle)
    }

    fn add_syncobj(&mut self, h: u32) {
        forget(&mut self.gone_syncobjs, h);
        self.max_syncobj = self.max_syncobj.max(h);
        self.syncobjs.push(h);
    }

    fn remove_syncobj(&mut self, h: u32) {
        self.syncobjs.retain(|&x| x != h);
        remember_gone(&mut self.gone_syncobjs, h);
    }

    /// Distinct VMs (ids, 0 for destroyed ones counted once per group)
    /// that live groups run on.
    fn group_vms(&self) -> usize {
        let mut seen = HashSet::new();
        let mut orphans = 0;
        for g in &self.groups {
            if g.vm == 0 {
                orphans += 1;
            } else {
                seen.insert(g.vm);
            }
        }
        seen.len() + orphans
    }
}

/// A handle for an input: mostly live, sometimes stale, sometimes not a
/// handle at all.
fn pick_handle(r: &mut Rng, live: &[u32], gone: &[u32]) -> u32 {
    match r.below(12) {
        0..=7 if !live.is_empty() => r.pick(live),
        8 | 9 if !gone.is_empty() => r.pick(gone),
        10 => r.pick(&[0, u32::MAX, 0x8000_0000, i32::MAX as u32, 1 << 16]),
        _ => r.below(40) as u32,
    }
}

// ---------------------------------------------------------------------------
// The oracle: observable state before and after a refused call
// ---------------------------------------------------------------------------

/// One VMA: start, size, flags, BO (first physical page) and BO offset.
type VmaKey = (u64, u64, u32, u64, u64);

/// A VM as the kernel keeps it: its VMAs and, per 1 GiB of VA, a hash of
/// what its page tables translate there.
#[derive(Clone, Debug, PartialEq, Eq)]
struct VmDeep {
    vmas: Vec<VmaKey>,
    translations: Vec<(u64, u64, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SyncobjState {
    point: Result<u64, Errno>,
    last: Result<u64, Errno>,
    /// SYNCOBJ_WAIT with a timeout in the past: Ok (signalled), ETIME
    /// (pending), EINVAL (no fence), ENOENT (no such handle).
    wait: Result<u32, Errno>,
}

#[derive(Clone, Debug)]
struct Snapshot {
    /// By handle - 1: the BO (first physical page, size, flags).
    bos: Vec<Option<(u64, u64, u32)>>,
    /// By id - 1: VM_GET_STATE.
    vms: Vec<Result<u32, Errno>>,
    /// By handle - 1: GROUP_GET_STATE (state, fatal queues).
    groups: Vec<Result<(u32, u32), Errno>>,
    /// By handle - 1.
    syncobjs: Vec<SyncobjState>,
    /// VMs compared in depth; None while asynchronous binds may change it.
    deep: Vec<(u32, Option<VmDeep>)>,
}

/// A multiply-rotate hasher for the memo below (SipHash dominated the
/// fuzzer's profile; keys are table addresses, not attacker-chosen).
#[derive(Default)]
struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix(self.0, b as u64);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = mix(self.0, v);
    }
    fn write_usize(&mut self, v: usize) {
        self.0 = mix(self.0, v as u64);
    }
}

type Memo = HashMap<(u64, usize), Option<u64>, std::hash::BuildHasherDefault<FastHasher>>;

fn mix(h: u64, v: u64) -> u64 {
    (h ^ v)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(29)
        .wrapping_add(0x632b_e59b_d9b4_e019)
}

/// What the page-table entry `pte` at `level` translates, hashed; None for
/// nothing (an invalid entry, or a table with no valid leaf under it, so
/// that an empty table left behind is not a change). Tables are memoised
/// by address and runs of equal entries hashed once: sparse ranges share
/// tables, so a huge sparse range costs a few table reads.
fn entry_hash(hw: &dyn Hardware, pte: Pte, level: usize, memo: &mut Memo) -> Option<u64> {
    match pte.decode(level) {
        Entry::Invalid => None,
        Entry::Leaf { pa, prot, af } => Some(mix(
            mix(mix(level as u64, pa.0), prot.index() as u64),
            af as u64,
        )),
        Entry::Table(pa) => {
            if let Some(&h) = memo.get(&(pa.0, level)) {
                return h;
            }
            let mut entries = [0u64; 512];
            hw.read_table(pa, &mut entries);
            let mut h = 0x243f_6a88_85a3_08d3;
            let mut any = false;
            let mut prev: Option<(u64, Option<u64>)> = None;
            for (i, &e) in entries.iter().enumerate() {
                // A leaf's hash depends on its address: only tables repeat.
                let c = match prev {
                    Some((p, c)) if p == e && level < 2 => c,
                    _ => entry_hash(hw, Pte(e), level + 1, memo),
                };
                prev = Some((e, c));
                if let Some(c) = c {
                    h = mix(mix(h, i as u64), c);
                    any = true;
                }
            }
            let h = any.then_some(h);
            memo.insert((pa.0, level), h);
            h
        }
    }
}

/// What the page tables under `root` translate, as runs of 1 GiB spans
/// with equal hashes: (first VA, GiB count, hash).
fn translations(hw: &dyn Hardware, root: PhysAddr) -> Vec<(u64, u64, u64)> {
    let mut memo = Memo::default();
    let mut out: Vec<(u64, u64, u64)> = Vec::new();
    let mut l0 = [0u64; 512];
    hw.read_table(root, &mut l0);
    for (i, &e0) in l0.iter().enumerate() {
        let Entry::Table(l1) = Pte(e0).decode(0) else {
            continue;
        };
        let mut t1 = [0u64; 512];
        hw.read_table(l1, &mut t1);
        if t1.iter().all(|&e| e == t1[0]) {
            // 512 GiB mapped one way (a huge sparse range): one run.
            let Some(h) = entry_hash(hw, Pte(t1[0]), 1, &mut memo) else {
                continue;
            };
            let va = (i as u64) << 39;
            match out.last_mut() {
                Some((start, n, last)) if *last == h && *start + (*n << 30) == va => *n += 512,
                _ => out.push((va, 512, h)),
            }
            continue;
        }
        let mut prev: Option<(u64, Option<u64>)> = None;
        for (j, &e1) in t1.iter().enumerate() {
            let h = match prev {
                Some((p, h)) if p == e1 && Pte(e1).decode(1) != Entry::Invalid => h,
                _ => entry_hash(hw, Pte(e1), 1, &mut memo),
            };
            prev = Some((e1, h));
            let Some(h) = h else { continue };
            let va = (i as u64) << 39 | (j as u64) << 30;
            match out.last_mut() {
                Some((start, n, last)) if *last == h && *start + (*n << 30) == va => *n += 1,
                _ => out.push((va, 1, h)),
            }
        }
    }
    out
}

fn bo_identity(bo: &panthor_kmd::bo::Bo) -> u64 {
    bo.backing.chunks().first().map_or(0, |c| c.pa.0)
}

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Stats {
    inputs: u64,
    accepted: u64,
    rejected: u64,
    by_errno: BTreeMap<String, u64>,
    /// Per ioctl: accepted, rejected, and the errnos.
    by_call: BTreeMap<&'static str, (u64, u64, BTreeMap<String, u64>)>,
    warnings: BTreeMap<&'static str, u64>,
    skipped: BTreeMap<KnownBug, u64>,
    /// How CS inputs ended, and setup that could not be done.
    outcomes: BTreeMap<String, u64>,
    settles: u64,
    deep_compares: u64,
    /// Time spent per kind of input.
    time: BTreeMap<&'static str, Duration>,
}

impl Stats {
    fn record(&mut self, call: &'static str, result: Result<(), Errno>) {
        let e = self.by_call.entry(call).or_default();
        match result {
            Ok(()) => {
                self.accepted += 1;
                e.0 += 1;
            }
            Err(errno) => {
                self.rejected += 1;
                e.1 += 1;
                *e.2.entry(format!("{errno:?}")).or_default() += 1;
                *self.by_errno.entry(format!("{errno:?}")).or_default() += 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The CS rig: a group, a VM and the buffers CS inputs run from
// ---------------------------------------------------------------------------

/// A VM with a code BO at [`CODE_VA`], a data BO at [`DATA_VA`] and again
/// read-only at [`RO_VA`], and a group on it. Rebuilt whenever a stream
/// faulted it or random inputs took part of it away.
struct Rig {
    vm: u32,
    group: u32,
    queues: u32,
    /// First physical page of the code and data BOs (to recognise their
    /// VMAs).
    code_id: u64,
    data_id: u64,
    code: CpuMapping,
    data: CpuMapping,
    next_slot: u64,
}

/// What a CS input sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StreamKind {
    /// Valid instructions only: must complete, group healthy, sentinel
    /// stored.
    Valid,
    /// Ends in the named fault: the group must become FATAL_FAULT.
    Fault(FaultKind),
    /// Random words and mutated instructions (made to end): must complete
    /// or fault, not hang.
    Random,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultKind {
    LoadUnmapped,
    StoreUnmapped,
    StoreReadOnly,
    InvalidOpcode,
    UnsupportedOpcode,
    InvalidRegister,
    MisalignedSync,
    BranchOutOfRange,
    CallStackOverflow,
    BadCallBuffer,
    CallUnmapped,
    JumpUnmapped,
    StreamUnmapped,
    RunOffTheEnd,
    MisalignedLoad,
    MisalignedStore,
}

impl FaultKind {
    const ALL: [FaultKind; 16] = [
        FaultKind::LoadUnmapped,
        FaultKind::StoreUnmapped,
        FaultKind::StoreReadOnly,
        FaultKind::InvalidOpcode,
        FaultKind::UnsupportedOpcode,
        FaultKind::InvalidRegister,
        FaultKind::MisalignedSync,
        FaultKind::BranchOutOfRange,
        FaultKind::CallStackOverflow,
        FaultKind::BadCallBuffer,
        FaultKind::CallUnmapped,
        FaultKind::JumpUnmapped,
        FaultKind::StreamUnmapped,
        FaultKind::RunOffTheEnd,
        FaultKind::MisalignedLoad,
        FaultKind::MisalignedStore,
    ];

    /// Faults the MMU reports (they make the VM unusable too).
    fn is_memory(self) -> bool {
        matches!(
            self,
            FaultKind::LoadUnmapped
                | FaultKind::StoreUnmapped
                | FaultKind::StoreReadOnly
                | FaultKind::CallUnmapped
                | FaultKind::JumpUnmapped
                | FaultKind::StreamUnmapped
                | FaultKind::RunOffTheEnd
        )
    }

    /// Faults whose kind (MMU or CS) the hardware documentation does not
    /// settle: the VM may or may not turn unusable.
    fn any_vm_state(self) -> bool {
        matches!(self, FaultKind::MisalignedLoad | FaultKind::MisalignedStore)
    }
}

/// Words of one instruction built with [`CsBuilder`] (operands are valid).
fn words(build: impl FnOnce(&mut CsBuilder)) -> Vec<u64> {
    let mut b = CsBuilder::new();
    build(&mut b);
    b.finish().expect("the fuzzer builds valid operands")
}

/// Makes a random word safe to run: anything that could loop, block, call
/// far, store, or write the call and kernel registers becomes a NOP (and,
/// unless `loads`, any load: its address may be misaligned, see
/// [`KnownBug::UnalignedGpuAccess`]).
fn sanitize(w: u64, loads: bool) -> u64 {
    let touches_reserved = |first: u8, count: usize| {
        let end = first as usize + count;
        (first as usize) < RESERVED_REGS.end as usize && end > RESERVED_REGS.start as usize
    };
    let unsafe_ = match decode(w) {
        Instr::Branch { offset, .. } => offset < 0,
        Instr::Jump { .. }
        | Instr::Call { .. }
        | Instr::SyncWait32(_)
        | Instr::SyncWait64(_)
        | Instr::StoreMultiple { .. }
        | Instr::SyncAdd32(_)
        | Instr::SyncSet32(_)
        | Instr::SyncAdd64(_)
        | Instr::SyncSet64(_) => true,
        Instr::Move48 { dst, .. } | Instr::AddImm64 { dst, .. } => touches_reserved(dst, 2),
        Instr::Move32 { dst, .. } | Instr::AddImm32 { dst, .. } => touches_reserved(dst, 1),
        Instr::LoadMultiple { base, mask, .. } => {
            !loads || touches_reserved(base, 16 - mask.leading_zeros() as usize)
        }
        _ => false,
    };
    if unsafe_ {
        0
    } else {
        w
    }
}

/// A second open file of the same device (another process, for the
/// kernel): a VM with a BO mapped at [`OTHER_VA`], a group on it and a
/// syncobj, so that the first file's handle numbers name objects here too.
/// Nothing done through it may change what the first file observes.
struct OtherFile {
    file: VirtualFile,
    vm: u32,
    group: u32,
    bo: u32,
    syncobj: u32,
}

/// Where the second file maps its BO.
const OTHER_VA: u64 = 0x100_0000;

// ---------------------------------------------------------------------------
// The fuzzer
// ---------------------------------------------------------------------------

struct Fuzz {
    rng: Rng,
    seed: u64,
    budget: u64,
    /// Send the inputs of [`KnownBug`] (all fixed, so always on).
    all: bool,
    keep_going: bool,
    /// FUZZ_TRACE=1: every input and its result on stderr.
    trace: bool,
    file: VirtualFile,
    model: Model,
    rig: Option<Rig>,
    /// A second open file of the device, opened on first use.
    other: Option<OtherFile>,
    /// Nothing submitted is still pending (see the module comment).
    settled: bool,
    /// VMs with asynchronous binds queued since the last settle.
    binding_vms: HashSet<u32>,
    stats: Stats,
    findings: Vec<String>,
    log: Arc<Mutex<VecDeque<String>>>,
    input: u64,
    shader_present: u64,
    tiler_present: u64,
}

/// What a run reports.
struct Report {
    stats: Stats,
    findings: Vec<String>,
    warnings: u64,
    elapsed: Duration,
}

impl Fuzz {
    fn new(seed: u64, budget: u64, log: Arc<Mutex<VecDeque<String>>>) -> Fuzz {
        let dev = VirtualDevice::new(DEVICE_MEMORY).expect("virtual device");
        let file = dev.open().expect("open");
        let info = file.gpu_info().expect("GPU_INFO");
        let env = |k: &str| std::env::var(k).is_ok_and(|v| v == "1");
        Fuzz {
            rng: Rng(seed),
            seed,
            budget,
            all: true,
            keep_going: env("FUZZ_KEEP_GOING"),
            trace: env("FUZZ_TRACE"),
            file,
            model: Model::default(),
            rig: None,
            other: None,
            settled: true,
            binding_vms: HashSet::new(),
            stats: Stats::default(),
            findings: Vec::new(),
            log,
            input: 0,
            shader_present: info.shader_present,
            tiler_present: info.tiler_present,
        }
    }

    fn note(&self, what: String) {
        if self.trace {
            eprintln!("fuzz #{}: {what}", self.input);
        }
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() == LOG_INPUTS {
            log.pop_front();
        }
        log.push_back(format!("#{}: {what}", self.input));
    }

    fn recent_inputs(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().map(|l| format!("  {l}\n")).collect()
    }

    /// A broken invariant: stop (or, with FUZZ_KEEP_GOING, collect it).
    fn finding(&mut self, what: String) {
        let report = format!(
            "input #{} (seed {:#x}, rerun with FUZZ_SEED={} FUZZ_INPUTS={}): {what}\nlast inputs:\n{}",
            self.input,
            self.seed,
            self.seed,
            self.budget,
            self.recent_inputs()
        );
        if !self.keep_going {
            panic!("{report}");
        }
        eprintln!("fuzz: FINDING {report}");
        if self.findings.len() < 64 {
            self.findings.push(report);
        }
    }

    /// Whether to send an input that triggers `bug` (counted either way).
    fn send_known(&mut self, bug: KnownBug) -> bool {
        *self.stats.skipped.entry(bug).or_default() += 1;
        self.all
    }

    // ----- the oracle ---------------------------------------------------

    fn snapshot(&self, deep_vms: &[u32]) -> Snapshot {
        let f = &self.file;
        let k = f.kernel();
        let bos = (1..=self.model.max_bo + 1)
            .map(|h| k.bo(h).map(|bo| (bo_identity(&bo), bo.size(), bo.flags)))
            .collect();
        let vms = (1..=33)
            .map(|id| {
                let mut a = drm_panthor_vm_get_state {
                    vm_id: id,
                    ..Default::default()
                };
                f.vm_get_state(&mut a).map(|()| a.state)
            })
            .collect();
        let groups = (1..=self.model.max_group + 1)
            .map(|h| {
                let mut a = drm_panthor_group_get_state {
                    group_handle: h,
                    ..Default::default()
                };
                f.group_get_state(&mut a)
                    .map(|()| (a.state, a.fatal_queues))
            })
            .collect();
        let syncobjs = (1..=self.model.max_syncobj + 1)
            .map(|h| {
                let mut p = [0u64];
                let point = f.syncobj_query(&[h], &mut p, 0).map(|()| p[0]);
                let last = f
                    .syncobj_query(&[h], &mut p, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)
                    .map(|()| p[0]);
                let wait = f.syncobj_wait(&[h], 0, SyncobjWaitFlags::empty());
                SyncobjState { point, last, wait }
            })
            .collect();
        let mut deep = Vec::new();
        for &id in deep_vms {
            if deep.iter().any(|&(d, _)| d == id) {
                continue;
            }
            let state = match k.vm(id) {
                Some(_) if !self.settled && self.binding_vms.contains(&id) => None,
                Some(vm) => {
                    let vm = vm.lock();
                    let vmas = vm
                        .vmas()
                        .map(|v| {
                            (
                                v.start,
                                v.size,
                                v.data.flags,
                                v.data.bo.as_ref().map_or(0, |b| bo_identity(b)),
                                v.data.bo_offset,
                            )
                        })
                        .collect();
                    let translations = translations(&**vm.hw(), vm.page_table().root());
                    Some(VmDeep { vmas, translations })
                }
                None => None,
            };
            deep.push((id, state));
        }
        Snapshot {
            bos,
            vms,
            groups,
            syncobjs,
            deep,
        }
    }

    /// What changed from `a` to `b` that pending work cannot explain.
    fn diff(&self, a: &Snapshot, b: &Snapshot) -> Option<String> {
        let strict = self.settled;
        let mut out = String::new();
        for (i, (x, y)) in a.bos.iter().zip(&b.bos).enumerate() {
            if x != y {
                let _ = writeln!(out, "  BO handle {}: {x:?} -> {y:?}", i + 1);
            }
        }
        for (i, (x, y)) in a.vms.iter().zip(&b.vms).enumerate() {
            let progress = !strict
                && *x == Ok(DRM_PANTHOR_VM_STATE_USABLE)
                && *y == Ok(DRM_PANTHOR_VM_STATE_UNUSABLE);
            if x != y && !progress {
                let _ = writeln!(out, "  VM {}: {x:?} -> {y:?}", i + 1);
            }
        }
        for (i, (x, y)) in a.groups.iter().zip(&b.groups).enumerate() {
            let progress = !strict
                && matches!((x, y), (Ok((s0, q0)), Ok((s1, q1)))
                    if s1 & s0 == *s0 && q1 & q0 == *q0);
            if x != y && !progress {
                let _ = writeln!(out, "  group {}: {x:?} -> {y:?}", i + 1);
            }
        }
        for (i, (x, y)) in a.syncobjs.iter().zip(&b.syncobjs).enumerate() {
            let progress = !strict
                && x.last == y.last
                && match (x.point, y.point, y.last) {
                    (Ok(p0), Ok(p1), Ok(l)) => p0 <= p1 && p1 <= l,
                    (p0, p1, _) => p0 == p1,
                }
                && (x.wait == y.wait || (x.wait == Err(Errno::ETIME) && y.wait.is_ok()));
            if x != y && !progress {
                let _ = writeln!(out, "  syncobj {}: {x:?} -> {y:?}", i + 1);
            }
        }
        for ((id, x), (_, y)) in a.deep.iter().zip(&b.deep) {
            let (Some(x), Some(y)) = (x, y) else { continue };
            if x.vmas != y.vmas {
                let _ = writeln!(
                    out,
                    "  VM {id} VMAs (start, size, flags, bo, offset):\n    before {:x?}\n    after  {:x?}",
                    x.vmas, y.vmas
                );
            }
            if x.translations != y.translations {
                let only = |a: &[(u64, u64, u64)], b: &[(u64, u64, u64)]| -> Vec<String> {
                    a.iter()
                        .filter(|r| !b.contains(r))
                        .map(|&(va, n, _)| format!("{va:#x}+{n}G"))
                        .collect()
                };
                let _ = writeln!(
                    out,
                    "  VM {id} page tables translate differently: before only {:?}, after only {:?}",
                    only(&x.translations, &y.translations),
                    only(&y.translations, &x.translations)
                );
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// Runs one uAPI call as an input: logs it, counts its result and
    /// kernel warnings, and on a refusal checks that nothing observable
    /// changed (the VMs in `vms` in depth; every VM every [`DEEP_EVERY`]
    /// inputs).
    fn call<T>(
        &mut self,
        name: &'static str,
        what: String,
        vms: &[u32],
        f: impl FnOnce(&VirtualFile) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        self.note(what);
        let mut deep: Vec<u32> = vms.iter().copied().filter(|&v| v != 0).collect();
        if self.input % DEEP_EVERY == 0 {
            deep.extend(self.model.vms.iter().map(|v| v.id));
        }
        let before = self.snapshot(&deep);
        let warnings = diag::warning_count();
        let result = f(&self.file);
        let raised = diag::warning_count() - warnings;
        if self.trace {
            eprintln!("fuzz #{}: -> {:?}", self.input, result.as_ref().map(|_| ()));
        }
        self.stats
            .record(name, result.as_ref().map(|_| ()).map_err(|e| *e));
        if raised != 0 {
            *self.stats.warnings.entry(name).or_default() += raised;
            self.finding(format!("{name} raised {raised} kernel warning(s)"));
        }
        if let Err(errno) = &result {
            let after = self.snapshot(&deep);
            self.stats.deep_compares += before.deep.len() as u64;
            if let Some(diff) = self.diff(&before, &after) {
                self.finding(format!(
                    "{name} failed with {errno:?} but changed what it must not:\n{diff}"
                ));
            }
        }
        result
    }

    // ----- driving ------------------------------------------------------

    fn run(mut self) -> Report {
        let start = Instant::now();
        let warnings = diag::warning_count();
        for i in 0..self.budget {
            self.input = i;
            self.stats.inputs += 1;
            self.step();
        }
        self.input = self.budget;
        self.settle();
        let elapsed = start.elapsed();
        let Fuzz {
            stats,
            findings,
            file,
            rig,
            other,
            ..
        } = self;
        // The device goes away cleanly with work, mappings and groups
        // around: the rig's mappings first, then the files, then the device
        // (joined threads; the watchdog catches a hang here too).
        drop(rig);
        drop(other);
        let dev = file.device().clone();
        drop(file);
        drop(dev);
        Report {
            stats,
            findings,
            warnings: diag::warning_count() - warnings,
            elapsed,
        }
    }

    fn step(&mut self) {
        const WEIGHTS: [u64; 20] = [
            8,  // bo_create
            3,  // gem_close
            3,  // bo_mmap_offset
            3,  // mmap
            3,  // vm_create
            2,  // vm_destroy
            1,  // vm_get_state
            20, // vm_bind, synchronous
            10, // vm_bind, asynchronous
            5,  // group_create
            2,  // group_destroy
            1,  // group_get_state
            8,  // group_submit
            12, // syncobj ioctls
            2,  // dev_query
            1,  // ioctls the virtual device does not offer
            6,  // a CS stream
            1,  // settle
            1,  // version
            4,  // a second file
        ];
        const KINDS: [&str; 20] = [
            "bo_create",
            "gem_close",
            "bo_mmap_offset",
            "mmap",
            "vm_create",
            "vm_destroy",
            "vm_get_state",
            "vm_bind(sync)",
            "vm_bind(async)",
            "group_create",
            "group_destroy",
            "group_get_state",
            "group_submit",
            "syncobj",
            "dev_query",
            "unsupported",
            "cs",
            "settle",
            "version",
            "other file",
        ];
        let kind = self.rng.weighted(&WEIGHTS);
        let start = Instant::now();
        self.run_input(kind);
        *self.stats.time.entry(KINDS[kind]).or_default() += start.elapsed();
    }

    fn run_input(&mut self, kind: usize) {
        match kind {
            0 => self.bo_create(),
            1 => self.gem_close(),
            2 => self.bo_mmap_offset(),
            3 => self.mmap(),
            4 => self.vm_create(),
            5 => self.vm_destroy(),
            6 => self.vm_get_state(),
            7 => self.vm_bind(false),
            8 => self.vm_bind(true),
            9 => self.group_create(),
            10 => self.group_destroy(),
            11 => self.group_get_state(),
            12 => self.group_submit(),
            13 => self.syncobj_op(),
            14 => self.dev_query(),
            15 => self.unsupported(),
            16 => self.cs_input(),
            17 => self.settle(),
            19 => self.other_file(),
            _ => {
                let v = self.call("version", "version()".into(), &[], |f| f.version());
                if !v.is_ok_and(|v| v.is_panthor_at_least(version::MINOR_MAP_SPARSE)) {
                    self.finding("VERSION is not panthor 1.9+".into());
                }
            }
        }
    }

    // ----- pickers ------------------------------------------------------

    fn pick_bo(&mut self) -> u32 {
        let live: Vec<u32> = self.model.bos.iter().map(|b| b.handle).collect();
        pick_handle(&mut self.rng, &live, &self.model.gone_bos)
    }

    fn pick_vm(&mut self) -> u32 {
        let live: Vec<u32> = self.model.vms.iter().map(|v| v.id).collect();
        pick_handle(&mut self.rng, &live, &self.model.gone_vms)
    }

    fn pick_group(&mut self) -> u32 {
        let live: Vec<u32> = self.model.groups.iter().map(|g| g.handle).collect();
        pick_handle(&mut self.rng, &live, &self.model.gone_groups)
    }

    fn pick_syncobj(&mut self) -> u32 {
        pick_handle(
            &mut self.rng,
            &self.model.syncobjs,
            &self.model.gone_syncobjs,
        )
    }

    fn pad32(&mut self) -> u32 {
        if self.rng.one_in(16) {
            1 << self.rng.below(32)
        } else {
            0
        }
    }

    /// The newest point of `h` (0 for a binary syncobj or no handle).
    fn last_point(&self, h: u32) -> u64 {
        let mut p = [0u64];
        self.file
            .syncobj_query(&[h], &mut p, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)
            .map_or(0, |()| p[0])
    }

    /// A timeline point to signal on `h`, above every point it has and
    /// every point this input already signals on it (unless `all`, which
    /// sends unordered points too).
    fn next_point(&mut self, h: u32, used: &mut HashMap<u32, u64>) -> u64 {
        let floor = self.last_point(h).max(used.get(&h).copied().unwrap_or(0));
        let unordered = self.rng.one_in(8);
        let p = if unordered {
            match self.rng.below(3) {
                0 => floor,
                1 => self.rng.range(1, floor.max(1)),
                _ => edge_u64(&mut self.rng).max(1),
            }
        } else {
            floor.saturating_add(self.rng.range(1, 3))
        };
        if p <= floor && floor != 0 && !self.send_known(KnownBug::UnorderedTimelinePoint) {
            return floor.saturating_add(1).max(1);
        }
        used.insert(h, p.max(floor));
        p
    }

    /// Sync operations for one job (`max` at most).
    fn sync_ops(&mut self, max: u64, used: &mut HashMap<u32, u64>) -> Vec<drm_panthor_sync_op> {
        let n = self.rng.below(max + 1);
        let mut ops = Vec::new();
        let fenced: Vec<u32> = self
            .model
            .syncobjs
            .iter()
            .copied()
            .filter(|&h| {
                matches!(
                    self.file.syncobj_wait(&[h], 0, SyncobjWaitFlags::empty()),
                    Ok(_) | Err(Errno::ETIME)
                )
            })
            .collect();
        for _ in 0..n {
            let signal = self.rng.coin();
            let handle = if !signal && !fenced.is_empty() && !self.rng.one_in(4) {
                self.rng.pick(&fenced)
            } else {
                self.pick_syncobj()
            };
            let timeline = self.rng.one_in(3);
            let mut flags = if timeline {
                DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ
            } else {
                DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ
            };
            if signal {
                flags |= DRM_PANTHOR_SYNC_OP_SIGNAL;
            }
            if self.rng.one_in(16) {
                flags ^= 1 << self.rng.below(32);
            }
            let timeline_value = match (timeline, signal) {
                (true, true) => self.next_point(handle, used),
                (true, false) => {
                    let last = self.last_point(handle);
                    self.rng.range(1, last.saturating_add(1))
                }
                (false, _) if self.rng.one_in(16) => edge_u64(&mut self.rng),
                (false, _) => 0,
            };
            ops.push(drm_panthor_sync_op {
                flags,
                handle,
                timeline_value,
            });
        }
        ops
    }

    /// True when some job waits on a (handle, point) that it or a later
    /// job of the same submission signals, and the point has no fence yet
    /// ([`KnownBug::WaitOnOwnSignal`]).
    fn waits_on_own_signal(&self, jobs: &[&[drm_panthor_sync_op]]) -> bool {
        let is_signal = |o: &drm_panthor_sync_op| o.flags & DRM_PANTHOR_SYNC_OP_SIGNAL != 0;
        for (j, ops) in jobs.iter().enumerate() {
            for w in ops.iter().filter(|o| !is_signal(o)) {
                let signalled_here = jobs[j..].iter().flat_map(|ops| ops.iter()).any(|s| {
                    is_signal(s) && s.handle == w.handle && s.timeline_value == w.timeline_value
                });
                if !signalled_here {
                    continue;
                }
                let found = if w.timeline_value == 0 {
                    self.file
                        .syncobj_wait(&[w.handle], 0, SyncobjWaitFlags::empty())
                        .map_or_else(|e| e != Errno::EINVAL && e != Errno::ENOENT, |_| true)
                } else {
                    w.timeline_value <= self.last_point(w.handle)
                };
                if !found {
                    return true;
                }
            }
        }
        false
    }

    // ----- GEM ----------------------------------------------------------

    fn bo_create(&mut self) {
        if self.model.bos.len() >= 48 {
            return self.gem_close();
        }
        let r = &mut self.rng;
        let size = match r.below(10) {
            0..=3 => r.range(1, 16) * PAGE,
            4 => r.range(1, 4) * SZ_2M,
            5 => nudge(r, SZ_2M),
            6 => r.range(1, 2 * PAGE),
            7 => r.pick(&[16 << 20, 64 << 20, 1 << 30]),
            _ => edge_u64(r),
        };
        let flags = match r.below(8) {
            0 => DRM_PANTHOR_BO_NO_MMAP,
            1 => DRM_PANTHOR_BO_WB_MMAP,
            2 => 1 << r.below(32),
            _ => 0,
        };
        let exclusive_vm_id = if r.one_in(4) { self.pick_vm() } else { 0 };
        let pad = self.pad32();
        let mut args = drm_panthor_bo_create {
            size,
            flags,
            exclusive_vm_id,
            pad,
            ..Default::default()
        };
        let before = args;
        let res = self.call(
            "bo_create",
            format!("bo_create({args:?})"),
            &[exclusive_vm_id],
            |f| f.bo_create(&mut args),
        );
        match res {
            Ok(()) => {
                let live = self.model.bos.iter().any(|b| b.handle == args.handle);
                if args.handle == 0
                    || live
                    || args.size < size
                    || args.size % PAGE != 0
                    || args.size - size >= PAGE
                {
                    self.finding(format!("BO_CREATE {before:?} gave {args:?}"));
                }
                self.model.add_bo(BoInfo {
                    handle: args.handle,
                    size: args.size,
                    mmap_offset: None,
                });
            }
            Err(_) if args != before => {
                self.finding(format!("failed BO_CREATE wrote {args:?} (was {before:?})"))
            }
            Err(_) => {}
        }
    }

    fn gem_close(&mut self) {
        let h = self.pick_bo();
        if self
            .call("gem_close", format!("gem_close({h})"), &[], |f| {
                f.gem_close(h)
            })
            .is_ok()
        {
            self.model.remove_bo(h);
        }
    }

    fn bo_mmap_offset(&mut self) {
        let handle = self.pick_bo();
        let pad = self.pad32();
        let mut args = drm_panthor_bo_mmap_offset {
            handle,
            pad,
            offset: self.rng.next(),
        };
        let before = args;
        match self.call(
            "bo_mmap_offset",
            format!("bo_mmap_offset({args:?})"),
            &[],
            |f| f.bo_mmap_offset(&mut args),
        ) {
            Ok(()) => {
                let old = self
                    .model
                    .bos
                    .iter()
                    .find(|b| b.handle == handle)
                    .and_then(|b| b.mmap_offset);
                if old.is_some_and(|o| o != args.offset) {
                    self.finding(format!(
                        "BO {handle}'s mmap offset moved from {old:x?} to {:#x}",
                        args.offset
                    ));
                }
                if let Some(b) = self.model.bos.iter_mut().find(|b| b.handle == handle) {
                    b.mmap_offset = Some(args.offset);
                }
            }
            Err(_) if args != before => self.finding(format!(
                "failed BO_MMAP_OFFSET wrote {args:?} (was {before:?})"
            )),
            Err(_) => {}
        }
    }

    fn mmap(&mut self) {
        let known: Vec<BoInfo> = self
            .model
            .bos
            .iter()
            .copied()
            .filter(|b| b.mmap_offset.is_some())
            .collect();
        let r = &mut self.rng;
        let bo = (!known.is_empty() && !r.one_in(5)).then(|| r.pick(&known));
        let offset = match bo {
            Some(b) => {
                let o = b.mmap_offset.unwrap_or(0);
                match r.below(4) {
                    0 => o,
                    1 => o + r.below(b.size / PAGE) * PAGE,
                    2 => nudge(r, o + b.size),
                    _ => nudge(r, o),
                }
            }
            None => edge_u64(r),
        };
        let size = bo.map_or(PAGE, |b| b.size);
        let len = match r.below(7) {
            0 => size as usize,
            1 => PAGE as usize,
            2 => r.range(1, PAGE) as usize,
            3 => nudge(r, size) as usize,
            4 => 0,
            5 => usize::MAX - r.below(2 * PAGE) as usize,
            _ => edge_u64(r) as usize,
        };
        // Rounding `len` up to a page overflows above the last page.
        if len as u64 > u64::MAX - (PAGE - 1) && !self.send_known(KnownBug::MmapLenOverflow) {
            return;
        }
        let res = self.call(
            "mmap",
            format!("mmap(offset {offset:#x}, len {len:#x})"),
            &[],
            |f| f.mmap(offset, len),
        );
        if let Ok(m) = res {
            if m.len() < len || m.len() % PAGE as usize != 0 {
                self.finding(format!("mmap of {len:#x} bytes gave {:#x}", m.len()));
            }
            let mut first = [0u8; 8];
            if m.read(0, &mut first).is_err() {
                self.finding("a new CPU mapping cannot be read".into());
            }
        }
    }

    // ----- VMs ----------------------------------------------------------

    fn vm_create(&mut self) {
        if self.model.vms.len() >= 28 {
            return self.vm_destroy();
        }
        let r = &mut self.rng;
        let user_va_range = match r.below(8) {
            0..=3 => 0,
            4 => r.pick(&[1 << 32, 1 << 40, 1 << 47, (1 << 48) - (256 << 20)]),
            5 => nudge(r, (1 << 48) - (256 << 20)),
            6 => r.pick(&[PAGE, 1, 1 << 48, u64::MAX, 256 << 20]),
            _ => edge_u64(r),
        };
        let flags = if r.one_in(12) { 1 << r.below(32) } else { 0 };
        let mut args = drm_panthor_vm_create {
            flags,
            id: self.rng.below(64) as u32,
            user_va_range,
        };
        let before = args;
        match self.call("vm_create", format!("vm_create({args:?})"), &[], |f| {
            f.vm_create(&mut args)
        }) {
            Ok(()) => {
                let live = self.model.vms.iter().any(|v| v.id == args.id);
                if args.id == 0
                    || args.id > 32
                    || live
                    || args.user_va_range == 0
                    || args.user_va_range < user_va_range
                {
                    self.finding(format!("VM_CREATE {before:?} gave {args:?}"));
                }
                self.model.add_vm(VmInfo {
                    id: args.id,
                    range: args.user_va_range,
                });
            }
            Err(_) if args != before => {
                self.finding(format!("failed VM_CREATE wrote {args:?} (was {before:?})"))
            }
            Err(_) => {}
        }
    }

    fn vm_destroy(&mut self) {
        let id = self.pick_vm();
        let pad = self.pad32();
        let args = drm_panthor_vm_destroy { id, pad };
        if self
            .call("vm_destroy", format!("vm_destroy({args:?})"), &[id], |f| {
                f.vm_destroy(&args)
            })
            .is_ok()
        {
            self.model.remove_vm(id);
        }
    }

    fn vm_get_state(&mut self) {
        let vm_id = self.pick_vm();
        let mut args = drm_panthor_vm_get_state {
            vm_id,
            state: self.rng.below(4) as u32,
        };
        let before = args;
        let res = self.call(
            "vm_get_state",
            format!("vm_get_state({args:?})"),
            &[],
            |f| f.vm_get_state(&mut args),
        );
        match res {
            Ok(()) if args.state > DRM_PANTHOR_VM_STATE_UNUSABLE => {
                self.finding(format!("VM_GET_STATE gave {args:?}"))
            }
            Err(_) if args != before => self.finding(format!(
                "failed VM_GET_STATE wrote {args:?} (was {before:?})"
            )),
            _ => {}
        }
    }

    /// One VM_BIND op for a VM with user range `range` (its syncs apart).
    fn bind_op(&mut self, vm: u32, range: u64) -> VmBindOp<'static> {
        let map_flags = |r: &mut Rng| {
            let mut f = 0;
            for bit in [
                DRM_PANTHOR_VM_BIND_OP_MAP_READONLY,
                DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC,
                DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED,
            ] {
                if r.coin() {
                    f |= bit;
                }
            }
            f
        };
        let arena = {
            let a = self.rng.pick(&[64 << 20, 4 * SZ_1G, ARENA]);
            a.min(range & !(SZ_2M - 1)).max(SZ_2M)
        };
        let mut op = match self.rng.below(20) {
            // A plausible MAP of a BO.
            0..=7 if !self.model.bos.is_empty() => {
                let r = &mut self.rng;
                let bo = r.pick(&self.model.bos);
                let bo_offset = if r.coin() {
                    0
                } else {
                    r.below(bo.size / PAGE) * PAGE
                };
                let max = bo.size - bo_offset;
                let size = match r.below(4) {
                    0 => max,
                    1 => r.range(1, max / PAGE) * PAGE,
                    2 => SZ_2M.min(max),
                    _ => PAGE,
                };
                let granule = if r.coin() { SZ_2M } else { PAGE };
                let va = r.below(arena.saturating_sub(size) / granule + 1) * granule;
                VmBindOp {
                    flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP | map_flags(r),
                    bo_handle: bo.handle,
                    bo_offset,
                    va,
                    size,
                    syncs: &[],
                }
            }
            // A plausible sparse MAP.
            8..=10 => {
                let r = &mut self.rng;
                let size = match r.below(6) {
                    0 => r.range(1, 16) * PAGE,
                    1 => r.range(1, 4) * SZ_2M,
                    2 => nudge(r, SZ_2M) & !(PAGE - 1),
                    3 => r.pick(&[SZ_1G, SZ_1G + SZ_2M, 4 * SZ_1G]),
                    4 => range.saturating_sub(SZ_1G) & !(PAGE - 1),
                    _ => r.range(1, 1 << 16) * PAGE,
                };
                let granule = r.pick(&[PAGE, SZ_2M, SZ_1G]);
                let room = if size <= arena { arena } else { range };
                let va = r.below(room.saturating_sub(size) / granule + 1) * granule;
                VmBindOp {
                    flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP
                        | DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE
                        | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC
                        | map_flags(r),
                    va,
                    size,
                    ..Default::default()
                }
            }
            // A plausible UNMAP: part of what is mapped, or an arena range.
            11..=13 => {
                let vmas: Vec<(u64, u64)> = self
                    .file
                    .kernel()
                    .vm(vm)
                    .map(|v| {
                        v.lock()
                            .vmas()
                            .filter(|v| v.start < range)
                            .map(|v| (v.start, v.size))
                            .collect()
                    })
                    .unwrap_or_default();
                let r = &mut self.rng;
                let (va, size) = if !vmas.is_empty() && r.coin() {
                    let (start, len) = r.pick(&vmas);
                    let pages = len / PAGE;
                    let skip = if r.coin() { 0 } else { r.below(pages) };
                    let take = r.range(1, pages - skip + 1);
                    (start + skip * PAGE, take * PAGE)
                } else {
                    let size = r.range(1, 1024) * PAGE;
                    (r.below(arena / PAGE) * PAGE, size)
                };
                VmBindOp {
                    flags: DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP,
                    va,
                    size,
                    ..Default::default()
                }
            }
            14 => VmBindOp {
                flags: DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY,
                ..Default::default()
            },
            // Anything.
            _ => {
                let ty = self.rng.pick(&[
                    DRM_PANTHOR_VM_BIND_OP_TYPE_MAP,
                    DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP,
                    DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY,
                    3 << 28,
                    0xf << 28,
                ]);
                let mut flags = ty | map_flags(&mut self.rng);
                if self.rng.coin() {
                    flags |= DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE;
                }
                if self.rng.one_in(4) {
                    flags |= 1 << self.rng.range(4, 27);
                }
                let bo_handle = if self.rng.coin() { self.pick_bo() } else { 0 };
                let bo_size = self
                    .model
                    .bos
                    .iter()
                    .find(|b| b.handle == bo_handle)
                    .map_or(PAGE, |b| b.size);
                let r = &mut self.rng;
                let va = wild_va(r, range);
                VmBindOp {
                    flags,
                    bo_handle,
                    bo_offset: if r.coin() {
                        0
                    } else {
                        wild_size(r, bo_size, range, 0)
                    },
                    va,
                    size: wild_size(r, bo_size, range, va),
                    syncs: &[],
                }
            }
        };
        // Now and then, one field of a plausible op pushed over an edge.
        if self.rng.one_in(6) {
            let r = &mut self.rng;
            match r.below(7) {
                0 => op.va = nudge(r, op.va),
                1 => op.size = nudge(r, op.size),
                2 => op.bo_offset = nudge(r, op.bo_offset),
                3 => op.flags ^= 1 << r.below(32),
                4 => op.va = op.va.wrapping_add(range),
                5 => op.size = op.size.wrapping_add(range),
                _ => op.bo_handle = r.pick(&[0, 1, u32::MAX]),
            }
        }
        op
    }

    fn vm_bind(&mut self, asynchronous: bool) {
        let vm = self.pick_vm();
        let range = self.model.vm(vm).map_or(1 << 47, |v| v.range);
        let mut flags = if asynchronous {
            DRM_PANTHOR_VM_BIND_ASYNC
        } else {
            0
        };
        if self.rng.one_in(16) {
            flags ^= 1 << self.rng.below(32);
        }
        let n = match self.rng.below(10) {
            0 => 0,
            1 => self.rng.range(5, 16),
            _ => self.rng.range(1, 3),
        };
        let mut used = HashMap::new();
        let mut specs: Vec<(VmBindOp<'static>, Vec<drm_panthor_sync_op>)> = Vec::new();
        for _ in 0..n {
            let op = self.bind_op(vm, range);
            let syncs = if asynchronous || self.rng.one_in(8) {
                let max = if op.flags & DRM_PANTHOR_VM_BIND_OP_TYPE_MASK
                    == DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY
                {
                    3
                } else {
                    2
                };
                self.sync_ops(max, &mut used)
            } else {
                Vec::new()
            };
            specs.push((op, syncs));
        }
        let jobs: Vec<&[drm_panthor_sync_op]> = specs.iter().map(|(_, s)| s.as_slice()).collect();
        if self.waits_on_own_signal(&jobs) && !self.send_known(KnownBug::WaitOnOwnSignal) {
            return;
        }
        let ops: Vec<VmBindOp<'_>> = specs
            .iter()
            .map(|(o, s)| VmBindOp { syncs: s, ..*o })
            .collect();
        let mut ops_done = 0;
        let res = self.call(
            if asynchronous {
                "vm_bind(async)"
            } else {
                "vm_bind(sync)"
            },
            format!("vm_bind(vm {vm}, flags {flags:#x}, {ops:x?})"),
            &[vm],
            |f| {
                f.vm_bind(vm, flags, &ops).map_err(|e| {
                    ops_done = e.ops_done;
                    e.errno
                })
            },
        );
        match res {
            Err(_) if ops_done != 0 => self.finding(format!(
                "a refused VM_BIND reports {ops_done} ops done (the virtual device applies all or none)"
            )),
            Ok(()) if flags & DRM_PANTHOR_VM_BIND_ASYNC != 0 && !ops.is_empty() => {
                self.settled = false;
                self.binding_vms.insert(vm);
            }
            Ok(()) if ops.len() == 1 => self.check_bound(vm, &ops[0]),
            _ => {}
        }
    }

    /// After an accepted one-op synchronous bind: the range translates as
    /// the op asked (first, middle and last page).
    fn check_bound(&mut self, vm: u32, op: &VmBindOp<'_>) {
        if op.size == 0 {
            return;
        }
        let Some(vm_ref) = self.file.kernel().vm(vm) else {
            return self.finding(format!("VM {vm} vanished after an accepted bind"));
        };
        let ty = op.flags & DRM_PANTHOR_VM_BIND_OP_TYPE_MASK;
        let sparse = op.flags & DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE != 0;
        let bo = (ty == DRM_PANTHOR_VM_BIND_OP_TYPE_MAP && !sparse)
            .then(|| self.file.kernel().bo(op.bo_handle))
            .flatten();
        let dummy = self.file.kernel().dummy();
        let mut wrong = Vec::new();
        {
            let v = vm_ref.lock();
            let hw = &**v.hw();
            for delta in [0, (op.size / 2) & !(PAGE - 1), op.size - PAGE] {
                let va = op.va + delta;
                let got = v.page_table().walk(hw, va);
                let want = match ty {
                    DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP => None,
                    _ if sparse => dummy.backing.lookup(va % SZ_2M).map(|(pa, _)| pa),
                    _ => bo
                        .as_ref()
                        .and_then(|b| b.backing.lookup(op.bo_offset + delta))
                        .map(|(pa, _)| pa),
                };
                let readonly = op.flags & DRM_PANTHOR_VM_BIND_OP_MAP_READONLY != 0;
                let ok = match (got, want) {
                    (None, None) => true,
                    (Some(t), Some(pa)) => t.pa == pa && t.prot.readonly == readonly,
                    _ => false,
                };
                if !ok {
                    wrong.push(format!("{va:#x}: {got:x?}, expected {want:x?}"));
                }
            }
        }
        if !wrong.is_empty() {
            self.finding(format!(
                "accepted bind {op:x?} on VM {vm} does not translate as asked: {wrong:?}"
            ));
        }
    }

    // ----- groups -------------------------------------------------------

    fn queue_specs(&mut self) -> Vec<drm_panthor_queue_create> {
        let r = &mut self.rng;
        let n = match r.below(12) {
            0 => 0,
            1 => r.pick(&[8, 9, 32, 33]),
            _ => r.range(1, 3),
        };
        (0..n)
            .map(|_| drm_panthor_queue_create {
                priority: if r.one_in(12) {
                    r.range(16, 255) as u8
                } else {
                    r.below(16) as u8
                },
                pad: if r.one_in(24) { [0, 1, 0] } else { [0; 3] },
                ringbuf_size: match r.below(10) {
                    0..=6 => r.pick(&[4096, 8192, 16384, 65536]),
                    7 => r.pick(&[0, 2048, 4097, 12288, 131072, u32::MAX]),
                    _ => r.next() as u32,
                },
            })
            .collect()
    }

    fn core_mask(&mut self, present: u64) -> u64 {
        let r = &mut self.rng;
        match r.below(8) {
            0..=4 => present,
            5 => present & r.next(),
            6 => 0,
            _ => {
                let x = r.next();
                r.pick(&[u64::MAX, present | 1 << 63, x])
            }
        }
    }

    fn group_create(&mut self) {
        if self.model.groups.len() >= 24 {
            return self.group_destroy();
        }
        if self.rng.coin() && !self.model.vms.is_empty() {
            return self.group_create_plausible();
        }
        let queues = self.queue_specs();
        let vm_id = self.pick_vm();
        let compute_core_mask = self.core_mask(self.shader_present);
        let fragment_core_mask = self.core_mask(self.shader_present);
        let tiler_core_mask = self.core_mask(self.tiler_present);
        let r = &mut self.rng;
        let cores = |mask: u64, r: &mut Rng| match r.below(8) {
            0 => mask.count_ones() as u8 + 1,
            1 => 255,
            _ => r.range(0, mask.count_ones() as u64) as u8,
        };
        let args = GroupCreate {
            queues: &queues,
            max_compute_cores: cores(compute_core_mask, r),
            max_fragment_cores: cores(fragment_core_mask, r),
            max_tiler_cores: cores(tiler_core_mask, r),
            priority: match r.below(10) {
                0..=6 => r.below(2) as u8,
                7 => r.range(2, 3) as u8,
                _ => r.range(4, 255) as u8,
            },
            pad: if r.one_in(16) { 1 << r.below(32) } else { 0 },
            compute_core_mask,
            fragment_core_mask,
            tiler_core_mask,
            vm_id,
        };
        self.send_group_create(args);
    }

    /// A GROUP_CREATE the kernel should accept, now and then with one
    /// field pushed over an edge.
    fn group_create_plausible(&mut self) {
        let r = &mut self.rng;
        let mut queues: Vec<drm_panthor_queue_create> = (0..r.range(1, 3))
            .map(|_| drm_panthor_queue_create {
                priority: r.below(16) as u8,
                pad: [0; 3],
                ringbuf_size: r.pick(&[4096, 8192, 16384, 32768, 65536]),
            })
            .collect();
        let vm_id = r.pick(&self.model.vms).id;
        let mut args = GroupCreate {
            queues: &[],
            max_compute_cores: 1,
            max_fragment_cores: 1,
            max_tiler_cores: 1,
            priority: r.below(2) as u8,
            pad: 0,
            compute_core_mask: self.shader_present,
            fragment_core_mask: self.shader_present,
            tiler_core_mask: self.tiler_present,
            vm_id,
        };
        if r.one_in(3) {
            match r.below(8) {
                0 => args.priority = r.range(2, 255) as u8,
                1 => args.pad = 1 << r.below(32),
                2 => args.max_compute_cores = self.shader_present.count_ones() as u8 + 1,
                3 => args.tiler_core_mask |= 1 << r.range(1, 63),
                4 => queues[0].ringbuf_size = r.pick(&[0, 2048, 4095, 4097, 1 << 17]),
                5 => queues[0].priority = r.range(16, 255) as u8,
                6 => queues[0].pad[r.below(3) as usize] = 1,
                _ => {
                    let n = r.pick(&[0, 8, 9, 33]);
                    queues.resize(n, queues[0]);
                }
            }
        }
        args.queues = &queues;
        self.send_group_create(args);
    }

    fn send_group_create(&mut self, args: GroupCreate<'_>) {
        let vm_id = args.vm_id;
        let new_vm =
            self.model.vm(vm_id).is_some() && !self.model.groups.iter().any(|g| g.vm == vm_id);
        if new_vm
            && self.model.group_vms() >= 7
            && !self.send_known(KnownBug::AddressSpaceStarvation)
        {
            return;
        }
        let res = self.call(
            "group_create",
            format!("group_create({args:?})"),
            &[vm_id],
            |f| f.group_create(&args),
        );
        if let Ok(handle) = res {
            if handle == 0 || self.model.group(handle).is_some() {
                self.finding(format!("GROUP_CREATE gave handle {handle}"));
            }
            self.model.add_group(GroupInfo {
                handle,
                vm: vm_id,
                queues: args.queues.len() as u32,
            });
        }
    }

    fn group_destroy(&mut self) {
        let group_handle = self.pick_group();
        let args = drm_panthor_group_destroy {
            group_handle,
            pad: self.pad32(),
        };
        let vm = self.model.group(group_handle).map_or(0, |g| g.vm);
        if self
            .call(
                "group_destroy",
                format!("group_destroy({args:?})"),
                &[vm],
                |f| f.group_destroy(&args),
            )
            .is_ok()
        {
            self.model.remove_group(group_handle);
        }
    }

    fn group_get_state(&mut self) {
        let group_handle = self.pick_group();
        let mut args = drm_panthor_group_get_state {
            group_handle,
            pad: self.pad32(),
            state: self.rng.below(8) as u32,
            fatal_queues: 0,
        };
        let before = args;
        match self.call(
            "group_get_state",
            format!("group_get_state({args:?})"),
            &[],
            |f| f.group_get_state(&mut args),
        ) {
            Ok(())
                if args.state
                    & !(DRM_PANTHOR_GROUP_STATE_TIMEDOUT
                        | DRM_PANTHOR_GROUP_STATE_FATAL_FAULT
                        | DRM_PANTHOR_GROUP_STATE_INNOCENT)
                    != 0 =>
            {
                self.finding(format!("GROUP_GET_STATE gave {args:?}"))
            }
            Err(_) if args != before => self.finding(format!(
                "failed GROUP_GET_STATE wrote {args:?} (was {before:?})"
            )),
            _ => {}
        }
    }

    /// A stream for a queue of `group` (address, size), mostly ones the
    /// kernel accepts; see the module comment for why every one ends.
    fn stream(&mut self, group: Option<GroupInfo>) -> (u64, u32) {
        let vm = group.and_then(|g| self.model.vm(g.vm));
        let on_rig = match (&self.rig, group) {
            (Some(rig), Some(g)) => g.vm == rig.vm,
            _ => false,
        };
        let r = &mut self.rng;
        let size = |r: &mut Rng| r.range(1, 8192) as u32 * 8;
        match r.below(10) {
            0..=2 => (0, 0),
            3 | 4 if on_rig => {
                let off = r.below(CODE_SIZE / 64) * 64;
                let max = (CODE_SIZE - off) / 8;
                (CODE_VA + off, r.range(1, max.min(4096)) as u32 * 8)
            }
            5 if vm.is_some() && !on_rig => {
                // The kernel's own objects above the user range: the
                // group's sync objects and ring buffers.
                let base = vm.map_or(0, |v| v.range).next_multiple_of(PAGE);
                (base + r.below(16) * PAGE, r.range(1, 512) as u32 * 8)
            }
            6 | 7 => {
                let range = vm.map_or(1 << 47, |v| v.range);
                (wild_va(r, range) & !63, size(r))
            }
            _ => {
                // Mostly refused: misaligned, one of the two zero, huge.
                let addr = match r.below(4) {
                    0 => 0,
                    1 => r.next() | 1,
                    2 => !63u64,
                    _ => (r.next() & !63) | r.pick(&[8, 32]),
                };
                let size = match r.below(4) {
                    0 => 0,
                    1 => r.next() as u32 | 1,
                    2 => r.pick(&[!7u32, 4, 12]),
                    _ => size(r),
                };
                (addr, size)
            }
        }
    }

    fn group_submit(&mut self) {
        let handle = self.pick_group();
        let group = self.model.group(handle);
        let queues = group.map_or(1, |g| g.queues);
        let pad = self.pad32();
        let n = match self.rng.below(10) {
            0 => 0,
            1 => self.rng.range(4, 8),
            _ => self.rng.range(1, 2),
        };
        let mut used = HashMap::new();
        let mut specs: Vec<(QueueSubmit<'static>, Vec<drm_panthor_sync_op>)> = Vec::new();
        for _ in 0..n {
            let (stream_addr, stream_size) = self.stream(group);
            let r = &mut self.rng;
            let queue_index = match r.below(10) {
                0 => queues,
                1 => {
                    let x = r.next() as u32;
                    r.pick(&[u32::MAX, 32, x])
                }
                _ => r.below(queues as u64) as u32,
            };
            let latest_flush = match r.below(8) {
                0 => r.next() as u32,
                1 => 1 << r.range(24, 30),
                _ => r.below(1 << 16) as u32,
            };
            let pad = self.pad32();
            let syncs = self.sync_ops(3, &mut used);
            specs.push((
                QueueSubmit {
                    queue_index,
                    stream_size,
                    stream_addr,
                    latest_flush,
                    pad,
                    syncs: &[],
                },
                syncs,
            ));
        }
        let jobs: Vec<&[drm_panthor_sync_op]> = specs.iter().map(|(_, s)| s.as_slice()).collect();
        if self.waits_on_own_signal(&jobs) && !self.send_known(KnownBug::WaitOnOwnSignal) {
            return;
        }
        let submits: Vec<QueueSubmit<'_>> = specs
            .iter()
            .map(|(q, s)| QueueSubmit { syncs: s, ..*q })
            .collect();
        let vm = group.map_or(0, |g| g.vm);
        let res = self.call(
            "group_submit",
            format!("group_submit(group {handle}, pad {pad:#x}, {submits:x?})"),
            &[vm],
            |f| f.group_submit(handle, pad, &submits),
        );
        if res.is_ok() && !submits.is_empty() {
            self.settled = false;
        }
    }

    // ----- syncobjs -----------------------------------------------------

    fn handles(&mut self, max: u64) -> Vec<u32> {
        let n = if self.rng.one_in(10) {
            0
        } else {
            self.rng.range(1, max)
        };
        let all_live = !self.model.syncobjs.is_empty() && self.rng.coin();
        (0..n)
            .map(|_| {
                if all_live {
                    self.rng.pick(&self.model.syncobjs)
                } else {
                    self.pick_syncobj()
                }
            })
            .collect()
    }

    /// A deadline that never sleeps: 0, or a time already past.
    fn past_deadline(&mut self) -> i64 {
        match self.rng.below(4) {
            0 => 0,
            1 => i64::MIN,
            2 => -1,
            _ => monotonic_ns() - 1,
        }
    }

    fn wait_flags(&mut self) -> SyncobjWaitFlags {
        let r = &mut self.rng;
        let bits = match r.below(6) {
            0 => 1 << r.below(32),
            _ => r.below(16) as u32,
        };
        SyncobjWaitFlags::from_bits_retain(bits)
    }

    fn syncobj_op(&mut self) {
        match self.rng.below(11) {
            0 | 1 => {
                if self.model.syncobjs.len() >= 32 {
                    return self.syncobj_destroy();
                }
                let flags = match self.rng.below(6) {
                    0 => 1 << self.rng.below(32),
                    1 | 2 => DRM_SYNCOBJ_CREATE_SIGNALED,
                    _ => 0,
                };
                let res = self.call(
                    "syncobj_create",
                    format!("syncobj_create({flags:#x})"),
                    &[],
                    |f| f.syncobj_create(flags),
                );
                if let Ok(h) = res {
                    if h == 0 || self.model.syncobjs.contains(&h) {
                        self.finding(format!("SYNCOBJ_CREATE gave handle {h}"));
                    }
                    self.model.add_syncobj(h);
                }
            }
            2 => self.syncobj_destroy(),
            3 => {
                let hs = self.handles(3);
                let _ = self.call(
                    "syncobj_signal",
                    format!("syncobj_signal({hs:?})"),
                    &[],
                    |f| f.syncobj_signal(&hs),
                );
            }
            4 => {
                let hs = self.handles(3);
                let mut used = HashMap::new();
                let mut points: Vec<u64> =
                    hs.iter().map(|&h| self.next_point(h, &mut used)).collect();
                if self.rng.one_in(8) {
                    points.push(1);
                }
                let _ = self.call(
                    "syncobj_timeline_signal",
                    format!("syncobj_timeline_signal({hs:?}, {points:?})"),
                    &[],
                    |f| f.syncobj_timeline_signal(&hs, &points),
                );
            }
            5 => {
                let hs = self.handles(3);
                let _ = self.call(
                    "syncobj_reset",
                    format!("syncobj_reset({hs:?})"),
                    &[],
                    |f| f.syncobj_reset(&hs),
                );
            }
            6 => {
                let hs = self.handles(3);
                let len = if self.rng.one_in(8) {
                    hs.len() + 1
                } else {
                    hs.len()
                };
                let flags = match self.rng.below(4) {
                    0 => DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED,
                    1 => 1 << self.rng.below(32),
                    _ => 0,
                };
                let mut points = vec![0x5a5a_5a5a_5a5a_5a5a; len];
                let res = self.call(
                    "syncobj_query",
                    format!("syncobj_query({hs:?}, {len} points, flags {flags:#x})"),
                    &[],
                    |f| f.syncobj_query(&hs, &mut points, flags),
                );
                if res.is_err() && points.iter().any(|&p| p != 0x5a5a_5a5a_5a5a_5a5a) {
                    self.finding(format!("a failed SYNCOBJ_QUERY wrote {points:?}"));
                }
            }
            7 => self.syncobj_transfer(),
            8 => {
                let hs = self.handles(3);
                let deadline = self.past_deadline();
                let flags = self.wait_flags();
                let res = self.call(
                    "syncobj_wait",
                    format!("syncobj_wait({hs:?}, {deadline}, {flags:?})"),
                    &[],
                    |f| f.syncobj_wait(&hs, deadline, flags),
                );
                if let Ok(i) = res {
                    if i as usize >= hs.len().max(1) && i != u32::MAX {
                        self.finding(format!("SYNCOBJ_WAIT on {hs:?} returned index {i}"));
                    }
                }
            }
            _ => {
                let hs = self.handles(3);
                let mut points: Vec<u64> = hs
                    .iter()
                    .map(|&h| {
                        let last = self.last_point(h);
                        self.rng.range(0, last.saturating_add(1))
                    })
                    .collect();
                if self.rng.one_in(8) {
                    points.pop();
                }
                let deadline = self.past_deadline();
                let flags = self.wait_flags();
                let _ = self.call(
                    "syncobj_timeline_wait",
                    format!("syncobj_timeline_wait({hs:?}, {points:?}, {deadline}, {flags:?})"),
                    &[],
                    |f| f.syncobj_timeline_wait(&hs, &points, deadline, flags),
                );
            }
        }
    }

    fn syncobj_destroy(&mut self) {
        let h = self.pick_syncobj();
        if self
            .call(
                "syncobj_destroy",
                format!("syncobj_destroy({h})"),
                &[],
                |f| f.syncobj_destroy(h),
            )
            .is_ok()
        {
            self.model.remove_syncobj(h);
        }
    }

    fn syncobj_transfer(&mut self) {
        let src = self.pick_syncobj();
        let dst = self.pick_syncobj();
        let last = self.last_point(src);
        let src_point = match self.rng.below(4) {
            0 | 1 => 0,
            2 => self.rng.range(1, last.saturating_add(1)),
            _ => edge_u64(&mut self.rng),
        };
        let dst_point = if self.rng.coin() {
            0
        } else {
            let mut used = HashMap::new();
            self.next_point(dst, &mut used)
        };
        // WAIT_FOR_SUBMIT on a point nobody submitted sleeps 5 s: only
        // where it would not wait.
        let submitted = if src_point == 0 {
            matches!(
                self.file.syncobj_wait(&[src], 0, SyncobjWaitFlags::empty()),
                Ok(_) | Err(Errno::ETIME)
            )
        } else {
            src_point <= last
        };
        let flags = match self.rng.below(6) {
            // Any bit but WAIT_FOR_SUBMIT's alone (refused at once).
            0 => 1 << self.rng.pick(&[0, 2, 3, 4, 7, 8, 16, 31]),
            1 if submitted => DRM_SYNCOBJ_WAIT_FOR_SUBMIT_BIT,
            _ => 0,
        };
        let _ = self.call(
            "syncobj_transfer",
            format!("syncobj_transfer({src}@{src_point} -> {dst}@{dst_point}, flags {flags:#x})"),
            &[],
            |f| f.syncobj_transfer(src, src_point, dst, dst_point, flags),
        );
    }

    // ----- queries and the rest -----------------------------------------

    fn dev_query(&mut self) {
        let r = &mut self.rng;
        let ty = match r.below(8) {
            0 => r.next() as u32,
            1 => 5,
            _ => r.below(5) as u32,
        };
        let len = r.pick(&[0, 1, 4, 8, 12, 24, 48, 64, 96, 112, 256, 4096]);
        let with_buf = !r.one_in(4);
        let mut buf = vec![0xa5u8; len];
        let res = self.call(
            "dev_query",
            format!("dev_query(type {ty}, {})", if with_buf { len } else { 0 }),
            &[],
            |f| f.dev_query(ty, with_buf.then_some(&mut buf[..])),
        );
        match res {
            Ok(n) if with_buf && n as usize > len => {
                self.finding(format!("DEV_QUERY({ty}) copied {n} bytes into {len}"))
            }
            Ok(n) if with_buf && buf[n as usize..].iter().any(|&b| b != 0) => self.finding(
                format!("DEV_QUERY({ty}) left bytes past the object unzeroed"),
            ),
            Err(_) if buf.iter().any(|&b| b != 0xa5) => {
                self.finding(format!("a failed DEV_QUERY({ty}) wrote its buffer"))
            }
            _ => {}
        }
    }

    /// PRIME within the file (drawn among the unsupported ioctls, which
    /// it once was, so the input stream stays the same): a live BO exports
    /// (or, having an exclusive VM, is EINVAL), its fd is as long as the BO
    /// and imports back as the same handle; an unknown handle is ENOENT.
    fn prime(&mut self, h: u32) {
        let size = self
            .model
            .bos
            .iter()
            .find(|b| b.handle == h)
            .map(|b| b.size);
        let res = self.call(
            "prime_handle_to_fd",
            format!("prime_handle_to_fd({h}, DRM_CLOEXEC)"),
            &[],
            |f| f.prime_handle_to_fd(h, DRM_CLOEXEC),
        );
        match (res, size) {
            (Ok(fd), Some(size)) => {
                let back = self.call(
                    "prime_fd_to_handle",
                    format!("prime_fd_to_handle(fd of {h})"),
                    &[],
                    |f| f.prime_fd_to_handle(fd.as_fd()),
                );
                if back != Ok(h) {
                    self.finding(format!("PRIME import of BO {h}'s own fd gave {back:?}"));
                }
                use std::io::Seek;
                let end = std::fs::File::from(fd).seek(std::io::SeekFrom::End(0));
                if end.as_ref().ok() != Some(&size) {
                    self.finding(format!("dma-buf of BO {h} ({size} bytes) ends at {end:?}"));
                }
            }
            (Err(Errno::ENOENT), None) | (Err(Errno::EINVAL), Some(_)) => {}
            (res, _) => self.finding(format!(
                "PRIME export of {} BO {h} gave {:?}",
                if size.is_some() { "live" } else { "unknown" },
                res.map(drop)
            )),
        }
    }

    /// The ioctls the in-process device does not implement: EOPNOTSUPP,
    /// nothing else.
    fn unsupported(&mut self) {
        let h = self.pick_bo();
        let res = match self.rng.below(6) {
            0 => {
                let mut a = drm_panthor_tiler_heap_create {
                    vm_id: self.pick_vm(),
                    ..Default::default()
                };
                self.call("tiler_heap_create", format!("{a:?}"), &[], |f| {
                    f.tiler_heap_create(&mut a)
                })
            }
            1 => self.call("bo_set_label", format!("bo_set_label({h})"), &[], |f| {
                f.bo_set_label(h, Some(c"fuzz"))
            }),
            2 => self.call("bo_sync", format!("bo_sync({h})"), &[], |f| {
                f.bo_sync(&[drm_panthor_bo_sync_op {
                    handle: h,
                    size: PAGE,
                    ..Default::default()
                }])
            }),
            3 => {
                let mut a = drm_panthor_bo_query_info {
                    handle: h,
                    ..Default::default()
                };
                self.call("bo_query_info", format!("{a:?}"), &[], |f| {
                    f.bo_query_info(&mut a)
                })
            }
            4 => return self.prime(h),
            _ => {
                let a = drm_panthor_set_user_mmio_offset {
                    offset: DRM_PANTHOR_USER_MMIO_OFFSET,
                };
                self.call("set_user_mmio_offset", format!("{a:?}"), &[], |f| {
                    f.set_user_mmio_offset(&a)
                })
            }
        };
        if res != Err(Errno::EOPNOTSUPP) {
            self.finding(format!("an unimplemented ioctl returned {res:?}"));
        }
    }

    // ----- a second file -----------------------------------------------

    fn open_other(&self) -> Result<OtherFile, Errno> {
        let file = self.file.device().open()?;
        let mut vm = drm_panthor_vm_create::default();
        file.vm_create(&mut vm)?;
        let mut bo = drm_panthor_bo_create {
            size: PAGE,
            ..Default::default()
        };
        file.bo_create(&mut bo)?;
        file.vm_bind(
            vm.id,
            0,
            &[VmBindOp {
                flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP,
                bo_handle: bo.handle,
                va: OTHER_VA,
                size: PAGE,
                ..Default::default()
            }],
        )
        .map_err(|e| e.errno)?;
        let group = file.group_create(&GroupCreate {
            queues: &[drm_panthor_queue_create {
                ringbuf_size: 4096,
                ..Default::default()
            }],
            max_compute_cores: 1,
            max_fragment_cores: 1,
            max_tiler_cores: 1,
            compute_core_mask: self.shader_present,
            fragment_core_mask: self.shader_present,
            tiler_core_mask: self.tiler_present,
            vm_id: vm.id,
            ..Default::default()
        })?;
        let syncobj = file.syncobj_create(DRM_SYNCOBJ_CREATE_SIGNALED)?;
        Ok(OtherFile {
            file,
            vm: vm.id,
            group,
            bo: bo.handle,
            syncobj,
        })
    }

    /// One input through the second file: the first file's handles and
    /// mmap offsets used there, the second file's own GPU work, or closing
    /// it with that work in flight. Whatever it returns, the first file
    /// must observe no change.
    fn other_file(&mut self) {
        let other = match self.other.take() {
            Some(o) => o,
            None => match self.open_other() {
                Ok(o) => o,
                Err(e) => {
                    *self
                        .stats
                        .outcomes
                        .entry(format!("second file not opened ({e:?})"))
                        .or_default() += 1;
                    return;
                }
            },
        };
        let bo = self.pick_bo();
        let vm = self.pick_vm();
        let group = self.pick_group();
        let sync = self.pick_syncobj();
        let offset = {
            let known: Vec<u64> = self
                .model
                .bos
                .iter()
                .filter_map(|b| b.mmap_offset)
                .collect();
            if known.is_empty() {
                edge_u64(&mut self.rng)
            } else {
                self.rng.pick(&known)
            }
        };
        let signal = [drm_panthor_sync_op {
            flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL,
            handle: if self.rng.coin() { sync } else { other.syncobj },
            timeline_value: 0,
        }];
        let unmapped = 0x7_0000_0000 + self.rng.below(1 << 16) * PAGE;
        let mut other = Some(other);
        let o = &other.as_ref().expect("second file").file;
        let (other_vm, other_group, other_bo) = {
            let x = other.as_ref().expect("second file");
            (x.vm, x.group, x.bo)
        };
        let kind = self.rng.below(13);
        let (what, res): (String, Result<(), Errno>) = {
            let deep: Vec<u32> = if self.rng.one_in(4) {
                self.model.vms.iter().map(|v| v.id).collect()
            } else {
                vec![vm]
            };
            self.note(format!("second file, input {kind}"));
            let before = self.snapshot(&deep);
            let (what, res) = match kind {
                0 => (format!("gem_close({bo})"), o.gem_close(bo)),
                1 => {
                    let mut a = drm_panthor_bo_mmap_offset {
                        handle: bo,
                        ..Default::default()
                    };
                    (format!("bo_mmap_offset({bo})"), o.bo_mmap_offset(&mut a))
                }
                2 => {
                    let r = o.mmap(offset, PAGE as usize).map(drop);
                    if r.is_ok() {
                        self.finding(format!(
                            "the second file mapped the first file's mmap offset {offset:#x}"
                        ));
                    }
                    (format!("mmap({offset:#x})"), r)
                }
                3 => (
                    format!("vm_destroy({vm})"),
                    o.vm_destroy(&drm_panthor_vm_destroy { id: vm, pad: 0 }),
                ),
                4 => (
                    format!("vm_bind(own VM {other_vm}, map BO {bo} at 0)"),
                    o.vm_bind(
                        other_vm,
                        0,
                        &[VmBindOp {
                            flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP,
                            bo_handle: bo,
                            va: 0,
                            size: PAGE,
                            ..Default::default()
                        }],
                    )
                    .map_err(|e| e.errno),
                ),
                5 => (
                    format!("vm_bind(VM {vm}, unmap everything)"),
                    o.vm_bind(
                        vm,
                        0,
                        &[VmBindOp {
                            flags: DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP,
                            size: 1 << 40,
                            ..Default::default()
                        }],
                    )
                    .map_err(|e| e.errno),
                ),
                6 => (
                    format!("group_destroy({group})"),
                    o.group_destroy(&drm_panthor_group_destroy {
                        group_handle: group,
                        pad: 0,
                    }),
                ),
                7 => (
                    format!("group_submit({group}, empty job, {signal:?})"),
                    o.group_submit(
                        group,
                        0,
                        &[QueueSubmit {
                            syncs: &signal,
                            ..Default::default()
                        }],
                    ),
                ),
                8 => (
                    format!("syncobj signal/reset/destroy({sync})"),
                    match self.rng.below(3) {
                        0 => o.syncobj_signal(&[sync]),
                        1 => o.syncobj_reset(&[sync]),
                        _ => o.syncobj_destroy(sync),
                    },
                ),
                9 | 10 => {
                    // Its own work: a stream of zeroes (NOPs) in its BO,
                    // or one that faults, signalling its syncobj.
                    let (addr, size) = if kind == 9 {
                        (OTHER_VA, PAGE as u32)
                    } else {
                        (unmapped, 64)
                    };
                    (
                        format!("own group_submit({addr:#x})"),
                        o.group_submit(
                            other_group,
                            0,
                            &[QueueSubmit {
                                stream_addr: addr,
                                stream_size: size,
                                syncs: &signal[..1],
                                ..Default::default()
                            }],
                        ),
                    )
                }
                11 => (
                    format!("own async vm_bind(unmap then map {OTHER_VA:#x})"),
                    o.vm_bind(
                        other_vm,
                        DRM_PANTHOR_VM_BIND_ASYNC,
                        &[
                            VmBindOp {
                                flags: DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP,
                                va: OTHER_VA,
                                size: PAGE,
                                ..Default::default()
                            },
                            VmBindOp {
                                flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP,
                                bo_handle: other_bo,
                                va: OTHER_VA,
                                size: PAGE,
                                syncs: &signal,
                                ..Default::default()
                            },
                        ],
                    )
                    .map_err(|e| e.errno),
                ),
                _ => {
                    // Closed with whatever it has in flight.
                    drop(other.take());
                    ("close".to_string(), Ok(()))
                }
            };
            let after = self.snapshot(&deep);
            self.stats.deep_compares += before.deep.len() as u64;
            if let Some(diff) = self.diff(&before, &after) {
                self.finding(format!(
                    "the second file's {what} ({res:?}) changed what the first file sees:\n{diff}"
                ));
            }
            (what, res)
        };
        let name = "second file";
        self.stats.record(name, res);
        if self.trace {
            eprintln!("fuzz #{}: second file {what} -> {res:?}", self.input);
        }
        self.other = other;
    }

    // ----- settling -----------------------------------------------------

    /// Waits until everything submitted has completed: an empty job on
    /// every queue of every group, a SYNC_ONLY bind on every VM (jobs run
    /// in order per queue and per VM), then a wait on all of them. Fails
    /// the run if that takes longer than [`HANG_NS`].
    fn settle(&mut self) {
        self.stats.settles += 1;
        let f = &self.file;
        let mut trackers = Vec::new();
        let mut what = Vec::new();
        let mut track =
            |f: &VirtualFile, desc: String, submit: &dyn Fn(u32) -> Result<(), Errno>| {
                let Ok(t) = f.syncobj_create(0) else { return };
                if submit(t).is_ok() {
                    trackers.push(t);
                    what.push(desc);
                } else {
                    let _ = f.syncobj_destroy(t);
                }
            };
        let signal = |t| drm_panthor_sync_op {
            flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL,
            handle: t,
            timeline_value: 0,
        };
        for g in &self.model.groups {
            for q in 0..g.queues {
                let mut gs = drm_panthor_group_get_state {
                    group_handle: g.handle,
                    ..Default::default()
                };
                let _ = f.group_get_state(&mut gs);
                let desc = format!("group {} (VM {}) queue {q}, {gs:?}", g.handle, g.vm);
                track(f, desc, &|t| {
                    f.group_submit(
                        g.handle,
                        0,
                        &[QueueSubmit {
                            queue_index: q,
                            syncs: &[signal(t)],
                            ..Default::default()
                        }],
                    )
                });
            }
        }
        for vm in &self.model.vms {
            track(f, format!("VM {} binds", vm.id), &|t| {
                f.vm_bind(
                    vm.id,
                    DRM_PANTHOR_VM_BIND_ASYNC,
                    &[VmBindOp {
                        flags: DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY,
                        syncs: &[signal(t)],
                        ..Default::default()
                    }],
                )
                .map_err(|e| e.errno)
            });
        }
        let deadline = monotonic_ns() + HANG_NS;
        let mut res = f.syncobj_wait(&trackers, deadline, SyncobjWaitFlags::WAIT_ALL);
        if res.is_err() && !trackers.is_empty() && !self.all {
            // A dead group with jobs still queued is KnownBug::
            // SubmitRacesGroupDeath: destroying the group cancels them
            // (and unblocks whatever waits on them).
            let dead: Vec<u32> = self
                .model
                .groups
                .iter()
                .map(|g| g.handle)
                .filter(|&h| {
                    let mut gs = drm_panthor_group_get_state {
                        group_handle: h,
                        ..Default::default()
                    };
                    f.group_get_state(&mut gs).is_ok()
                        && gs.state
                            & (DRM_PANTHOR_GROUP_STATE_FATAL_FAULT
                                | DRM_PANTHOR_GROUP_STATE_TIMEDOUT)
                            != 0
                })
                .collect();
            for &h in &dead {
                let _ = f.group_destroy(&drm_panthor_group_destroy {
                    group_handle: h,
                    pad: 0,
                });
            }
            res = f.syncobj_wait(
                &trackers,
                monotonic_ns() + HANG_NS,
                SyncobjWaitFlags::WAIT_ALL,
            );
            for h in dead {
                self.model.remove_group(h);
            }
            if res.is_ok() {
                *self
                    .stats
                    .skipped
                    .entry(KnownBug::SubmitRacesGroupDeath)
                    .or_default() += 1;
            }
        }
        let f = &self.file;
        if let Err(e) = res {
            if !trackers.is_empty() {
                let still = |f: &VirtualFile| -> Vec<String> {
                    trackers
                        .iter()
                        .zip(&what)
                        .filter(|(&t, _)| {
                            f.syncobj_wait(&[t], 0, SyncobjWaitFlags::empty()).is_err()
                        })
                        .map(|(_, w)| w.clone())
                        .collect()
                };
                let pending = still(f);
                // Slow, or stuck? A second chance as long as the first.
                let _ = f.syncobj_wait(
                    &trackers,
                    monotonic_ns() + HANG_NS,
                    SyncobjWaitFlags::WAIT_ALL,
                );
                let later = still(f);
                for &t in &trackers {
                    let _ = f.syncobj_destroy(t);
                }
                trackers.clear();
                let groups = self.model.group_vms();
                self.finding(format!(
                    "submitted work did not complete within {} s ({e:?}): a hang; \
                     pending (with the group state before): {pending:?}; \
                     {} s later: {later:?} ({groups} distinct group VMs)",
                    HANG_NS / 1_000_000_000,
                    HANG_NS / 1_000_000_000
                ));
            }
        }
        for &t in &trackers {
            let _ = self.file.syncobj_destroy(t);
        }
        self.settled = true;
        self.binding_vms.clear();
    }

    // ----- CS streams ---------------------------------------------------

    /// True when the rig is still what it was built as: VM usable, group
    /// healthy, buffers mapped where they were, nothing after the code.
    fn rig_intact(&self) -> bool {
        let Some(rig) = &self.rig else { return false };
        let f = &self.file;
        let mut vs = drm_panthor_vm_get_state {
            vm_id: rig.vm,
            ..Default::default()
        };
        let mut gs = drm_panthor_group_get_state {
            group_handle: rig.group,
            ..Default::default()
        };
        if f.vm_get_state(&mut vs).is_err()
            || vs.state != DRM_PANTHOR_VM_STATE_USABLE
            || f.group_get_state(&mut gs).is_err()
            || gs.state != 0
            // (The handle may name a newer group: any healthy group on
            // the rig's VM with as many queues will do.)
            || self
                .model
                .group(rig.group)
                .is_none_or(|g| g.vm != rig.vm || g.queues != rig.queues)
        {
            return false;
        }
        let Some(vm) = f.kernel().vm(rig.vm) else {
            return false;
        };
        let vm = vm.lock();
        let mapped = |va: u64, size: u64, id: u64, flags: u32| {
            vm.vmas().any(|v| {
                v.start == va
                    && v.size == size
                    && v.data.flags == flags
                    && v.data.bo_offset == 0
                    && v.data.bo.as_ref().is_some_and(|b| bo_identity(b) == id)
            })
        };
        let gap_free = !vm
            .vmas()
            .any(|v| v.start < CODE_VA + CODE_SIZE + PAGE && v.end() > CODE_VA + CODE_SIZE);
        mapped(CODE_VA, CODE_SIZE, rig.code_id, 0)
            && mapped(DATA_VA, DATA_SIZE, rig.data_id, 0)
            && mapped(
                RO_VA,
                DATA_SIZE,
                rig.data_id,
                DRM_PANTHOR_VM_BIND_OP_MAP_READONLY,
            )
            && gap_free
    }

    /// A BO created, mapped for the CPU and added to the model.
    fn rig_bo(&mut self, size: u64) -> Result<(u32, u64, CpuMapping), Errno> {
        let f = &self.file;
        let mut c = drm_panthor_bo_create {
            size,
            ..Default::default()
        };
        f.bo_create(&mut c)?;
        let mut o = drm_panthor_bo_mmap_offset {
            handle: c.handle,
            ..Default::default()
        };
        f.bo_mmap_offset(&mut o)?;
        let m = f.mmap(o.offset, size as usize)?;
        let id = f.kernel().bo(c.handle).map_or(0, |b| bo_identity(&b));
        self.model.add_bo(BoInfo {
            handle: c.handle,
            size: c.size,
            mmap_offset: Some(o.offset),
        });
        Ok((c.handle, id, m))
    }

    /// Builds a new rig, first giving back the old one and making room
    /// (VM ids, distinct group VMs).
    fn build_rig(&mut self) -> Result<(), Errno> {
        if let Some(old) = self.rig.take() {
            let f = &self.file;
            if self.model.group(old.group).is_some() {
                let _ = f.group_destroy(&drm_panthor_group_destroy {
                    group_handle: old.group,
                    pad: 0,
                });
                self.model.remove_group(old.group);
            }
            if self.model.vm(old.vm).is_some() {
                let _ = f.vm_destroy(&drm_panthor_vm_destroy { id: old.vm, pad: 0 });
                self.model.remove_vm(old.vm);
            }
        }
        while self.model.vms.len() >= 28 {
            let id = self.model.vms[0].id;
            let _ = self.file.vm_destroy(&drm_panthor_vm_destroy { id, pad: 0 });
            self.model.remove_vm(id);
        }
        while self.model.group_vms() >= 7 || self.model.groups.len() >= 24 {
            let h = self.model.groups[0].handle;
            let _ = self.file.group_destroy(&drm_panthor_group_destroy {
                group_handle: h,
                pad: 0,
            });
            self.model.remove_group(h);
        }
        let mut vm = drm_panthor_vm_create::default();
        self.file.vm_create(&mut vm)?;
        self.model.add_vm(VmInfo {
            id: vm.id,
            range: vm.user_va_range,
        });
        let (code, code_id, code_map) = self.rig_bo(CODE_SIZE)?;
        let (data, data_id, data_map) = self.rig_bo(DATA_SIZE)?;
        let map = |handle, va, size, flags| VmBindOp {
            flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP | flags,
            bo_handle: handle,
            va,
            size,
            ..Default::default()
        };
        self.file
            .vm_bind(
                vm.id,
                0,
                &[
                    map(code, CODE_VA, CODE_SIZE, 0),
                    map(data, DATA_VA, DATA_SIZE, 0),
                    map(data, RO_VA, DATA_SIZE, DRM_PANTHOR_VM_BIND_OP_MAP_READONLY),
                ],
            )
            .map_err(|e| e.errno)?;
        let queues: Vec<drm_panthor_queue_create> = (0..self.rng.range(1, 3))
            .map(|_| drm_panthor_queue_create {
                priority: self.rng.below(16) as u8,
                ringbuf_size: self.rng.pick(&[4096, 8192, 16384]),
                ..Default::default()
            })
            .collect();
        let group = self.file.group_create(&GroupCreate {
            queues: &queues,
            max_compute_cores: 1,
            max_fragment_cores: 1,
            max_tiler_cores: 1,
            compute_core_mask: self.shader_present,
            fragment_core_mask: self.shader_present,
            tiler_core_mask: self.tiler_present,
            vm_id: vm.id,
            ..Default::default()
        })?;
        self.model.add_group(GroupInfo {
            handle: group,
            vm: vm.id,
            queues: queues.len() as u32,
        });
        // The rig's BO handles go back (the VMAs and CPU mappings keep the
        // BOs), so that random inputs do not keep them all alive.
        for h in [code, data] {
            if self.rng.coin() && self.file.gem_close(h).is_ok() {
                self.model.remove_bo(h);
            }
        }
        self.rig = Some(Rig {
            vm: vm.id,
            group,
            queues: queues.len() as u32,
            code_id,
            data_id,
            code: code_map,
            data: data_map,
            next_slot: 0,
        });
        Ok(())
    }

    /// A VA of the rig's VM that nothing maps.
    fn unmapped_va(&mut self) -> u64 {
        let vm = self
            .rig
            .as_ref()
            .and_then(|rig| self.file.kernel().vm(rig.vm));
        loop {
            let va = 0x20_0000_0000 + self.rng.below(1 << 20) * PAGE;
            let taken = vm.as_ref().is_some_and(|vm| {
                vm.lock()
                    .vmas()
                    .any(|v| v.start < va + 2 * PAGE && v.end() > va)
            });
            if !taken {
                return va;
            }
        }
    }

    /// A value register, and one whose pair (`dN`, `N` even) holds two.
    fn vreg(&mut self, count: u8) -> u8 {
        self.rng
            .range(VALUE_REGS.start as u64, (VALUE_REGS.end - count) as u64) as u8
    }

    fn dreg(&mut self) -> u8 {
        self.vreg(2) & !1
    }

    fn areg(&mut self) -> u8 {
        self.rng.below(8) as u8 * 2
    }

    /// A data-BO offset for `bytes` bytes aligned to `align`, below the
    /// sentinel area.
    fn data_off(&mut self, bytes: u64, align: u64) -> u64 {
        self.rng.below((SENTINEL_AREA - bytes) / align) * align
    }

    fn async_op(&mut self) -> Async {
        if self.rng.coin() {
            return Async::NOW;
        }
        let slot = self.rng.below(8) as u8;
        let mask = (self.rng.below(256) as u16) & !(1 << slot);
        Async::defer(mask, slot)
    }

    /// One self-contained block of valid instructions (it sets every
    /// register it uses, so that a branch may skip it). `call` is the
    /// address and byte length of a sub-buffer the block may call.
    fn valid_block(&mut self, call: Option<(u64, u32)>) -> Vec<u64> {
        let kind = self.rng.below(if call.is_some() { 13 } else { 12 });
        match kind {
            0 => {
                let n = self.rng.range(1, 4) as u8;
                let base = self.vreg(n);
                let vals: Vec<u32> = (0..n).map(|_| safe_u32(&mut self.rng)).collect();
                words(|b| {
                    for (i, &v) in vals.iter().enumerate() {
                        b.mov32(base + i as u8, v);
                    }
                })
            }
            1 => {
                let (d, v) = (self.dreg(), safe_u64(&mut self.rng) & ((1 << 48) - 1));
                words(|b| {
                    b.mov48(d, v);
                })
            }
            2 => {
                let (d, s, imm) = (self.vreg(1), self.vreg(1), self.rng.below(256) as i32);
                words(|b| {
                    b.add32(d, s, imm);
                })
            }
            3 => {
                let (d, s, imm) = (self.dreg(), self.dreg(), self.rng.below(256) as i32);
                words(|b| {
                    b.add64(d, s, imm);
                })
            }
            4 | 5 => {
                // Load (and maybe store back elsewhere): loaded values are
                // safe, whatever they are.
                let n = self.rng.range(1, 16) as u8;
                let base = self.vreg(n);
                let mask = if self.rng.coin() {
                    ((1u32 << n) - 1) as u16
                } else {
                    (self.rng.next() as u16 & (((1u32 << n) - 1) as u16)) | 1 << (n - 1)
                };
                let (a, b2) = (self.areg(), self.areg());
                let from = DATA_VA + self.data_off(64, 4);
                let to = DATA_VA + self.data_off(64, 4);
                let off = self.rng.below(64) as i16 * 4 - 128;
                let store = kind == 5;
                words(|b| {
                    b.mov48(a, (from as i64 - off as i64) as u64)
                        .load_multiple(base, mask, a, off);
                    if store {
                        b.mov48(b2, to).store_multiple(base, mask, b2, 0);
                    }
                })
            }
            6 => {
                let n = self.rng.range(1, 4) as u8;
                let base = self.vreg(n);
                let vals: Vec<u32> = (0..n).map(|_| safe_u32(&mut self.rng)).collect();
                let a = self.areg();
                let to = DATA_VA + self.data_off(16, 4);
                words(|b| {
                    for (i, &v) in vals.iter().enumerate() {
                        b.mov32(base + i as u8, v);
                    }
                    b.mov48(a, to)
                        .store_multiple(base, ((1u32 << n) - 1) as u16, a, 0);
                })
            }
            7 => {
                // SYNC_ADD/SET, 32 or 64 bits, small values (sync objects
                // grow, but stay far below 2^24).
                let wide = self.rng.coin();
                let add = self.rng.coin();
                let a = self.areg();
                let at = DATA_VA + self.data_off(16, if wide { 8 } else { 4 });
                let v = self.rng.below(256);
                let reg = if wide { self.dreg() } else { self.vreg(1) };
                let scope = self.rng.pick(&[SyncScope::System, SyncScope::Csg]);
                let prop = self.rng.coin();
                let asy = self.async_op();
                words(|b| {
                    b.mov48(a, at);
                    if wide {
                        b.mov48(reg, v);
                    } else {
                        b.mov32(reg, v as u32);
                    }
                    match (wide, add) {
                        (false, true) => b.sync_add32(a, reg, scope, prop, asy),
                        (false, false) => b.sync_set32(a, reg, scope, prop, asy),
                        (true, true) => b.sync_add64(a, reg, scope, prop, asy),
                        (true, false) => b.sync_set64(a, reg, scope, prop, asy),
                    };
                })
            }
            8 => {
                // A SYNC_WAIT that always holds (unsigned >= 0, or ALWAYS).
                let wide = self.rng.coin();
                let a = self.areg();
                let at = DATA_VA + self.data_off(16, 8);
                let reg = if wide { self.dreg() } else { self.vreg(1) };
                let cond = self.rng.pick(&[Condition::Gequal, Condition::Always]);
                let reject = self.rng.coin();
                words(|b| {
                    b.mov48(a, at);
                    if wide {
                        b.mov48(reg, 0).sync_wait64(cond, a, reg, reject);
                    } else {
                        b.mov32(reg, 0).sync_wait32(cond, a, reg, reject);
                    }
                })
            }
            9 => {
                let modes = [
                    FlushMode::None,
                    FlushMode::Clean,
                    FlushMode::CleanInvalidate,
                ];
                let (l2, lsc) = (self.rng.pick(&modes), self.rng.pick(&modes));
                let other = self
                    .rng
                    .pick(&[OtherFlushMode::None, OtherFlushMode::Invalidate]);
                let (id, asy) = (self.vreg(1), self.async_op());
                words(|b| {
                    b.flush_cache2(l2, lsc, other, id, asy);
                })
            }
            10 => {
                let mask = self.rng.below(256) as u8;
                words(|b| {
                    b.wait(mask);
                })
            }
            11 => {
                let barrier = self.rng.coin();
                words(|b| {
                    if barrier {
                        b.error_barrier();
                    } else {
                        b.nop();
                    }
                })
            }
            _ => {
                let (addr, len) = call.unwrap_or((0, 0));
                words(|b| {
                    b.mov48(CALL_ADDR, addr)
                        .mov32(CALL_LEN, len)
                        .call(CALL_ADDR, CALL_LEN);
                })
            }
        }
    }

    /// Valid blocks, some preceded by a forward branch over whole blocks
    /// (to the start of a later block, its own branch included, or to the
    /// end).
    fn valid_blocks(&mut self, n: u64, call: Option<(u64, u32)>) -> Vec<u64> {
        let blocks: Vec<Vec<u64>> = (0..n).map(|_| self.valid_block(call)).collect();
        // Per block: whether a branch precedes it, and how many blocks it
        // skips (0 falls through).
        let branches: Vec<Option<usize>> = (0..blocks.len())
            .map(|i| {
                self.rng
                    .one_in(5)
                    .then(|| self.rng.below((blocks.len() - i) as u64 + 1) as usize)
            })
            .collect();
        const BRANCH_WORDS: usize = 2;
        let mut out = Vec::new();
        for (i, block) in blocks.iter().enumerate() {
            if let Some(k) = branches[i] {
                // The branch is the preamble's last word: skip this block,
                // then the next k - 1 blocks with their preambles.
                let skip: usize = (i..i + k)
                    .map(|j| {
                        let pre = if j > i && branches[j].is_some() {
                            BRANCH_WORDS
                        } else {
                            0
                        };
                        pre + blocks[j].len()
                    })
                    .sum();
                let (reg, v) = (self.vreg(1), safe_u32(&mut self.rng));
                let cond = self.rng.pick(&Condition::ALL);
                let pre = words(|b| {
                    b.mov32(reg, v).branch(cond, reg, skip as i16);
                });
                debug_assert_eq!(pre.len(), BRANCH_WORDS);
                out.extend(pre);
            }
            out.extend_from_slice(block);
        }
        out
    }

    /// A word that decodes as an invalid instruction.
    fn invalid_word(&mut self) -> u64 {
        loop {
            let w = self.rng.next();
            if decode(w) == Instr::Invalid {
                return w;
            }
        }
    }

    /// The fault block of a faulting stream placed at `at` (with a
    /// sub-buffer at `sub` it may use).
    fn fault_block(&mut self, kind: FaultKind, at_word: usize, sub: u64) -> (Vec<u64>, Vec<u64>) {
        let a = self.areg();
        let v = self.vreg(1);
        let mut sub_words = Vec::new();
        let block = match kind {
            FaultKind::LoadUnmapped => {
                let va = self.unmapped_va();
                words(|b| {
                    b.mov48(a, va).load32(v, a, 0);
                })
            }
            FaultKind::StoreUnmapped => {
                let va = self.unmapped_va();
                words(|b| {
                    b.mov32(v, 7).mov48(a, va).store32(v, a, 0);
                })
            }
            FaultKind::StoreReadOnly => {
                let at = RO_VA + self.data_off(8, 4);
                words(|b| {
                    b.mov32(v, 7).mov48(a, at).store32(v, a, 0);
                })
            }
            FaultKind::InvalidOpcode => vec![self.invalid_word()],
            FaultKind::UnsupportedOpcode => {
                let op = self.rng.pick(&opcode::UNSUPPORTED);
                vec![(op as u64) << 56 | (self.rng.next() & ((1 << 56) - 1))]
            }
            FaultKind::InvalidRegister => {
                let odd = self.rng.below(47) as u8 * 2 + 1;
                let big = self.rng.range(96, 255) as u8;
                vec![encode(&match self.rng.below(4) {
                    0 => Instr::Move48 { dst: odd, imm: 0 },
                    1 => Instr::Move32 { dst: big, imm: 0 },
                    2 => Instr::AddImm64 {
                        dst: 2,
                        src: odd,
                        imm: 1,
                    },
                    _ => Instr::LoadMultiple {
                        base: 90,
                        mask: 0xff,
                        addr: 0,
                        offset: 0,
                    },
                })]
            }
            FaultKind::MisalignedSync => {
                let wide = self.rng.coin();
                let at = DATA_VA + self.data_off(16, 8) + if wide { 4 } else { 2 };
                let d = self.dreg();
                words(|b| {
                    b.mov48(a, at);
                    if wide {
                        b.mov48(d, 1)
                            .sync_add64(a, d, SyncScope::System, false, Async::NOW);
                    } else {
                        b.mov32(v, 1)
                            .sync_set32(a, v, SyncScope::Csg, false, Async::NOW);
                    }
                })
            }
            FaultKind::BranchOutOfRange => {
                let back = self.rng.coin();
                let extra = self.rng.below(100) as i64;
                // Forward past the end: the stream ends right after this
                // block; backward before its start.
                let offset = if back {
                    -(at_word as i64 + 3 + extra)
                } else {
                    2 + extra
                };
                words(|b| {
                    b.mov32(v, 0).branch(Condition::Equal, v, offset as i16);
                })
            }
            FaultKind::CallStackOverflow => {
                sub_words = words(|b| {
                    b.mov48(CALL_ADDR, sub)
                        .mov32(CALL_LEN, 24)
                        .call(CALL_ADDR, CALL_LEN);
                });
                words(|b| {
                    b.mov48(CALL_ADDR, sub)
                        .mov32(CALL_LEN, 24)
                        .call(CALL_ADDR, CALL_LEN);
                })
            }
            FaultKind::BadCallBuffer => {
                let (addr, len) = if self.rng.coin() {
                    (sub + 4, 8)
                } else {
                    (sub, self.rng.pick(&[4, 12, 17]))
                };
                words(|b| {
                    b.mov48(CALL_ADDR, addr)
                        .mov32(CALL_LEN, len)
                        .call(CALL_ADDR, CALL_LEN);
                })
            }
            FaultKind::CallUnmapped | FaultKind::JumpUnmapped => {
                let va = self.unmapped_va();
                let jump = kind == FaultKind::JumpUnmapped;
                words(|b| {
                    b.mov48(CALL_ADDR, va).mov32(CALL_LEN, 64);
                    if jump {
                        b.jump(CALL_ADDR, CALL_LEN);
                    } else {
                        b.call(CALL_ADDR, CALL_LEN);
                    }
                })
            }
            FaultKind::MisalignedLoad | FaultKind::MisalignedStore => {
                let at = DATA_VA + self.data_off(16, 4) + self.rng.range(1, 3);
                let n = self.rng.range(1, 16) as u8;
                let base = self.vreg(n);
                let mask = ((1u32 << n) - 1) as u16;
                let store = kind == FaultKind::MisalignedStore;
                words(|b| {
                    b.mov48(a, at);
                    if store {
                        b.store_multiple(base, mask, a, 0);
                    } else {
                        b.load_multiple(base, mask, a, 0);
                    }
                })
            }
            FaultKind::StreamUnmapped | FaultKind::RunOffTheEnd => Vec::new(),
        };
        (block, sub_words)
    }

    /// Random words, sanitised so that they end (see [`sanitize`]).
    fn random_words(&mut self) -> Vec<u64> {
        let n = self.rng.range(1, 64);
        let mut out: Vec<u64> = Vec::new();
        for _ in 0..n {
            let r = &mut self.rng;
            let w = match r.below(4) {
                0 => r.next(),
                1 => {
                    let op = r.pick(&[
                        opcode::NOP,
                        opcode::MOVE48,
                        opcode::MOVE32,
                        opcode::WAIT,
                        opcode::ADD_IMMEDIATE32,
                        opcode::ADD_IMMEDIATE64,
                        opcode::LOAD_MULTIPLE,
                        opcode::BRANCH,
                        opcode::FLUSH_CACHE2,
                        opcode::ERROR_BARRIER,
                    ]);
                    (op as u64) << 56 | (r.next() & ((1 << 56) - 1))
                }
                2 if !out.is_empty() => r.pick(&out) ^ (1 << r.below(64)),
                _ => {
                    let vb = self.valid_block(None);
                    let r = &mut self.rng;
                    r.pick(&vb) ^ if r.coin() { 1 << r.below(56) } else { 0 }
                }
            };
            if !self.all && matches!(decode(w), Instr::LoadMultiple { .. }) {
                self.send_known(KnownBug::UnalignedGpuAccess);
            }
            out.push(sanitize(w, self.all));
        }
        out
    }

    /// One CS input: settle, make sure the rig is intact, build a stream
    /// of `kind`, run it on a rig queue and check how it ended.
    fn cs_input(&mut self) {
        self.settle();
        if !self.rig_intact() {
            if let Err(e) = self.build_rig() {
                *self
                    .stats
                    .outcomes
                    .entry(format!("rig not built ({e:?})"))
                    .or_default() += 1;
                return;
            }
        }
        let mut kind = match self.rng.below(20) {
            0..=7 => StreamKind::Valid,
            8..=14 => StreamKind::Fault(self.rng.pick(&FaultKind::ALL)),
            _ => StreamKind::Random,
        };
        if let StreamKind::Fault(f) = kind {
            if f.any_vm_state() && !self.send_known(KnownBug::UnalignedGpuAccess) {
                kind = StreamKind::Valid;
            }
        }
        let rig = self.rig.as_ref().expect("rig");
        let (group, vm_id, queue) = (rig.group, rig.vm, self.rng.below(rig.queues as u64) as u32);
        let slot = if kind == StreamKind::Fault(FaultKind::RunOffTheEnd) {
            CODE_SIZE / CODE_SLOT - 1
        } else {
            let rig = self.rig.as_mut().expect("rig");
            rig.next_slot = (rig.next_slot + 1) % (CODE_SIZE / CODE_SLOT - 1);
            rig.next_slot
        };
        let base = CODE_VA + slot * CODE_SLOT;
        // Layout of the slot: the main stream from its start, a sub-buffer
        // at +2048 (at most 1024 bytes).
        let sub = base + 2048;
        let n = self.rng.range(0, 6);
        let sub_words = self.valid_blocks(n, None);
        let sub_words: Vec<u64> = sub_words.into_iter().take(128).collect();
        let call = Some((sub, (sub_words.len() * 8) as u32));
        let sentinel = self.rng.range(1, 1 << 20) as u32;
        let sentinel_at = SENTINEL_AREA + self.rng.below(PAGE / 4) * 4;
        let (mut main, sub_words, stream_addr) = match kind {
            StreamKind::Valid => {
                let n = self.rng.range(0, 24);
                let mut w = self.valid_blocks(n, call);
                w.extend(words(|b| {
                    b.mov32(SENTINEL_VAL, sentinel)
                        .mov48(SENTINEL_ADDR, DATA_VA + sentinel_at)
                        .store32(SENTINEL_VAL, SENTINEL_ADDR, 0);
                }));
                (w, sub_words, base)
            }
            StreamKind::Fault(f) => {
                let n = self.rng.range(0, 8);
                let mut w = self.valid_blocks(n, call);
                // No branch may skip the fault: only blocks before it.
                let (block, own_sub) = self.fault_block(f, w.len() + 1, sub);
                w.extend(block);
                let sub_words = if own_sub.is_empty() {
                    sub_words
                } else {
                    own_sub
                };
                let addr = match f {
                    FaultKind::StreamUnmapped => self.unmapped_va(),
                    _ => base,
                };
                (w, sub_words, addr)
            }
            StreamKind::Random => (self.random_words(), sub_words, base),
        };
        if main.len() > 250 {
            main.truncate(250);
        }
        let mut stream_size = (main.len().max(1) * 8) as u32;
        if kind == StreamKind::Fault(FaultKind::RunOffTheEnd) {
            // The stream runs to the end of the code BO and on into the
            // unmapped page after it.
            stream_size = (CODE_SLOT + 64) as u32;
        }
        // Write the slot: main stream, zeroes, sub-buffer.
        let mut bytes = vec![0u8; CODE_SLOT as usize];
        for (i, w) in main.iter().enumerate() {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        for (i, w) in sub_words.iter().enumerate() {
            bytes[2048 + i * 8..2048 + i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        let rig = self.rig.as_ref().expect("rig");
        rig.code
            .write((slot * CODE_SLOT) as usize, &bytes)
            .expect("code slot");
        rig.data
            .write(sentinel_at as usize, &[0; 4])
            .expect("sentinel");

        let Ok(tracker) = self.file.syncobj_create(0) else {
            return;
        };
        let syncs = [drm_panthor_sync_op {
            flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL,
            handle: tracker,
            timeline_value: 0,
        }];
        let submit = QueueSubmit {
            queue_index: queue,
            stream_addr,
            stream_size,
            syncs: &syncs,
            ..Default::default()
        };
        let res = self.call(
            "group_submit(cs)",
            format!("cs {kind:?} on group {group} queue {queue}: {:x?}", main),
            &[vm_id],
            |f| f.group_submit(group, 0, &[submit]),
        );
        if let Err(e) = res {
            let _ = self.file.syncobj_destroy(tracker);
            return self.finding(format!("the rig refused a CS submit: {e:?}"));
        }
        let waited = self.file.syncobj_wait(
            &[tracker],
            monotonic_ns() + HANG_NS,
            SyncobjWaitFlags::empty(),
        );
        let _ = self.file.syncobj_destroy(tracker);
        if let Err(e) = waited {
            self.settled = false;
            return self.finding(format!(
                "CS stream {kind:?} did not complete within {} s ({e:?}): a hang",
                HANG_NS / 1_000_000_000
            ));
        }
        let mut gs = drm_panthor_group_get_state {
            group_handle: group,
            ..Default::default()
        };
        let _ = self.file.group_get_state(&mut gs);
        let fatal = gs.state & DRM_PANTHOR_GROUP_STATE_FATAL_FAULT != 0;
        let vm_usable = |f: &VirtualFile| {
            let mut vs = drm_panthor_vm_get_state {
                vm_id,
                ..Default::default()
            };
            f.vm_get_state(&mut vs).is_ok() && vs.state == DRM_PANTHOR_VM_STATE_USABLE
        };
        let outcome = match kind {
            StreamKind::Valid => {
                let mut got = [0u8; 4];
                let rig = self.rig.as_ref().expect("rig");
                rig.data
                    .read(sentinel_at as usize, &mut got)
                    .expect("sentinel");
                let got = u32::from_le_bytes(got);
                if gs.state != 0 || gs.fatal_queues != 0 {
                    self.finding(format!("a valid CS stream left its group in {gs:?}"));
                } else if got != sentinel {
                    self.finding(format!(
                        "a valid CS stream completed but its last store did not land ({got:#x}, expected {sentinel:#x})"
                    ));
                } else if !vm_usable(&self.file) {
                    self.finding("a valid CS stream made its VM unusable".into());
                }
                "cs valid: completed".to_string()
            }
            StreamKind::Fault(f) => {
                if !fatal || gs.fatal_queues != 1 << queue {
                    self.finding(format!(
                        "CS stream faulting with {f:?} left its group in {gs:?} (queue {queue})"
                    ));
                }
                // The MMU fault is taken by the same scheduler pass or the
                // next one.
                let deadline = monotonic_ns() + 1_000_000_000;
                while f.is_memory() && vm_usable(&self.file) && monotonic_ns() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if !f.any_vm_state() && f.is_memory() == vm_usable(&self.file) {
                    self.finding(format!(
                        "CS stream faulting with {f:?}: VM usable = {}",
                        vm_usable(&self.file)
                    ));
                }
                format!("cs fault {f:?}: FATAL_FAULT")
            }
            StreamKind::Random => {
                if gs.state & !DRM_PANTHOR_GROUP_STATE_FATAL_FAULT != 0 {
                    self.finding(format!("a random CS stream left its group in {gs:?}"));
                }
                format!("cs random: {}", if fatal { "faulted" } else { "completed" })
            }
        };
        *self.stats.outcomes.entry(outcome).or_default() += 1;
    }
}

/// `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT`, the one flag TRANSFER takes.
const DRM_SYNCOBJ_WAIT_FOR_SUBMIT_BIT: u32 = SyncobjWaitFlags::WAIT_FOR_SUBMIT.bits();

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        }
        Err(_) => default,
    }
}

fn summary(seed: u64, r: &Report) -> String {
    let s = &r.stats;
    let errnos: Vec<String> = s.by_errno.iter().map(|(e, n)| format!("{e} {n}")).collect();
    let mut out = format!(
        "fuzz: {} inputs, {} accepted, {} rejected by errno ({}), {} kernel warnings, seed {:#x} ({:.1} s)\n",
        s.inputs,
        s.accepted,
        s.rejected,
        errnos.join(", "),
        r.warnings,
        seed,
        r.elapsed.as_secs_f64()
    );
    for (call, (ok, err, errnos)) in &s.by_call {
        let errnos: Vec<String> = errnos.iter().map(|(e, n)| format!("{e} {n}")).collect();
        let _ = writeln!(
            out,
            "  {call:<24} {ok:>6} accepted {err:>6} rejected ({})",
            errnos.join(", ")
        );
    }
    for (what, n) in &s.outcomes {
        let _ = writeln!(out, "  {what}: {n}");
    }
    for (bug, n) in &s.skipped {
        let _ = writeln!(out, "  inputs shaped like (fixed) bug {bug:?}: {n}");
    }
    for (call, n) in &s.warnings {
        let _ = writeln!(out, "  kernel warnings during {call}: {n}");
    }
    let _ = writeln!(
        out,
        "  {} settles, {} VM page-table comparisons",
        s.settles, s.deep_compares
    );
    let mut slow: Vec<(&&str, &Duration)> = s.time.iter().collect();
    slow.sort_by(|a, b| b.1.cmp(a.1));
    let slow: Vec<String> = slow
        .iter()
        .take(5)
        .map(|(k, t)| format!("{k} {:.1} s", t.as_secs_f64()))
        .collect();
    let _ = writeln!(out, "  time by input kind: {}", slow.join(", "));
    out
}

/// Invariants of the module comment, over `FUZZ_INPUTS` seeded inputs.
#[test]
fn bad_input_at_volume_is_refused_and_changes_nothing() {
    let seed = env_u64("FUZZ_SEED", DEFAULT_SEED);
    let budget = env_u64("FUZZ_INPUTS", DEFAULT_INPUTS);
    let watchdog = Duration::from_secs(env_u64("FUZZ_WATCHDOG_S", 300));
    let log = Arc::new(Mutex::new(VecDeque::new()));
    let (tx, rx) = mpsc::channel();
    let thread_log = log.clone();
    let worker = std::thread::Builder::new()
        .name("fuzz".into())
        .spawn(move || {
            let report = Fuzz::new(seed, budget, thread_log).run();
            let _ = tx.send(report);
        })
        .expect("fuzz thread");
    let report = match rx.recv_timeout(watchdog) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The worker panicked: its message is the finding.
            let err = worker.join().expect_err("worker ended without a report");
            std::panic::resume_unwind(err);
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let log = log.lock().unwrap_or_else(|e| e.into_inner());
            let recent: String = log.iter().map(|l| format!("  {l}\n")).collect();
            panic!(
                "fuzz: no result after {watchdog:?} (seed {seed:#x}): a hang, last inputs:\n{recent}"
            );
        }
    };
    let _ = worker.join();
    println!("{}", summary(seed, &report));
    assert!(
        report.findings.is_empty(),
        "{} finding(s):\n{}",
        report.findings.len(),
        report.findings.join("\n")
    );
    assert_eq!(report.warnings, 0, "kernel warnings during the run");
    assert!(report.stats.accepted > 0 && report.stats.rejected > 0);
}

// ---------------------------------------------------------------------------
// Reproducers of the open bugs (see KnownBug); they fail until fixed
// ---------------------------------------------------------------------------

fn open() -> (Arc<VirtualDevice>, VirtualFile) {
    let dev = VirtualDevice::new(DEVICE_MEMORY).unwrap();
    let file = dev.open().unwrap();
    (dev, file)
}

fn group_on(file: &VirtualFile, vm: u32) -> u32 {
    let info = file.gpu_info().unwrap();
    file.group_create(&GroupCreate {
        queues: &[drm_panthor_queue_create {
            ringbuf_size: 4096,
            ..Default::default()
        }],
        max_compute_cores: 1,
        max_fragment_cores: 1,
        max_tiler_cores: 1,
        compute_core_mask: info.shader_present,
        fragment_core_mask: info.shader_present,
        tiler_core_mask: info.tiler_present,
        vm_id: vm,
        ..Default::default()
    })
    .unwrap()
}

/// Submits `stream` (0, 0 for an empty job) on queue 0 of `group`; returns
/// the out-syncobj.
fn submit(file: &VirtualFile, group: u32, stream: (u64, u32)) -> u32 {
    let out = file.syncobj_create(0).unwrap();
    file.group_submit(
        group,
        0,
        &[QueueSubmit {
            stream_addr: stream.0,
            stream_size: stream.1,
            syncs: &[drm_panthor_sync_op {
                flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL,
                handle: out,
                timeline_value: 0,
            }],
            ..Default::default()
        }],
    )
    .unwrap();
    out
}

fn wait_s(file: &VirtualFile, h: u32, s: i64) -> Result<u32, Errno> {
    file.syncobj_wait(
        &[h],
        monotonic_ns() + s * 1_000_000_000,
        SyncobjWaitFlags::empty(),
    )
}

/// [`KnownBug::MmapLenOverflow`]: EINVAL expected, a panic in debug builds.
#[test]
fn regression_mmap_of_a_huge_length_is_refused() {
    let (_dev, file) = open();
    let mut bo = drm_panthor_bo_create {
        size: PAGE,
        ..Default::default()
    };
    file.bo_create(&mut bo).unwrap();
    let mut off = drm_panthor_bo_mmap_offset {
        handle: bo.handle,
        ..Default::default()
    };
    file.bo_mmap_offset(&mut off).unwrap();
    assert_eq!(file.mmap(off.offset, usize::MAX).err(), Some(Errno::EINVAL));
}

/// [`KnownBug::AddressSpaceStarvation`]: seven groups on seven VMs run one
/// job each and stay resident, idle; a group on an eighth VM then never
/// runs its job.
#[test]
fn regression_a_group_on_an_eighth_vm_runs() {
    let (_dev, file) = open();
    for _ in 0..7 {
        let mut vm = drm_panthor_vm_create::default();
        file.vm_create(&mut vm).unwrap();
        let g = group_on(&file, vm.id);
        let out = submit(&file, g, (0, 0));
        wait_s(&file, out, 5).unwrap();
    }
    let mut vm = drm_panthor_vm_create::default();
    file.vm_create(&mut vm).unwrap();
    let g = group_on(&file, vm.id);
    let out = submit(&file, g, (0, 0));
    assert_eq!(
        wait_s(&file, out, 5),
        Ok(0),
        "the eighth VM's job never ran"
    );
}

/// [`KnownBug::WaitOnOwnSignal`]: panthor accepts a job that waits on a
/// point it signals itself (the dependency is skipped); here EINVAL and a
/// kernel warning.
#[test]
fn regression_a_job_waiting_on_its_own_signal_is_accepted_without_warning() {
    let (_dev, file) = open();
    let mut vm = drm_panthor_vm_create::default();
    file.vm_create(&mut vm).unwrap();
    let g = group_on(&file, vm.id);
    let s = file.syncobj_create(0).unwrap();
    let warnings = diag::warning_count();
    let res = file.group_submit(
        g,
        0,
        &[QueueSubmit {
            syncs: &[
                drm_panthor_sync_op {
                    flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_WAIT,
                    handle: s,
                    timeline_value: 0,
                },
                drm_panthor_sync_op {
                    flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL,
                    handle: s,
                    timeline_value: 0,
                },
            ],
            ..Default::default()
        }],
    );
    assert_eq!(
        diag::warning_count(),
        warnings,
        "user input raised a kernel warning"
    );
    // Linux refuses it too (panthor_submit_ctx_add_sync_deps_to_job finds
    // no fence for the point yet), only without our silence.
    assert_eq!(res, Err(Errno::EINVAL));
}

/// [`KnownBug::UnorderedTimelinePoint`]: signalling timeline point 1 after
/// point 5 is accepted (as in Linux) but must not raise a kernel warning.
#[test]
fn regression_an_unordered_timeline_point_raises_no_warning() {
    let (_dev, file) = open();
    let s = file.syncobj_create(0).unwrap();
    file.syncobj_timeline_signal(&[s], &[5]).unwrap();
    let warnings = diag::warning_count();
    file.syncobj_timeline_signal(&[s], &[1]).unwrap();
    assert_eq!(
        diag::warning_count(),
        warnings,
        "user input raised a kernel warning"
    );
}

/// A VM with one page-sized BO mapped at [`CODE_VA`], and its CPU mapping.
fn vm_with_code_page(file: &VirtualFile) -> (drm_panthor_vm_create, CpuMapping) {
    let mut vm = drm_panthor_vm_create::default();
    file.vm_create(&mut vm).unwrap();
    let mut bo = drm_panthor_bo_create {
        size: PAGE,
        ..Default::default()
    };
    file.bo_create(&mut bo).unwrap();
    let mut off = drm_panthor_bo_mmap_offset {
        handle: bo.handle,
        ..Default::default()
    };
    file.bo_mmap_offset(&mut off).unwrap();
    let code = file.mmap(off.offset, PAGE as usize).unwrap();
    file.vm_bind(
        vm.id,
        0,
        &[VmBindOp {
            flags: DRM_PANTHOR_VM_BIND_OP_TYPE_MAP,
            bo_handle: bo.handle,
            va: CODE_VA,
            size: PAGE,
            ..Default::default()
        }],
    )
    .unwrap();
    (vm, code)
}

/// [`KnownBug::UnalignedGpuAccess`]: a LOAD_MULTIPLE from a misaligned
/// address must fault the group (as a misaligned sync object does), not
/// kill the GPU thread.
#[test]
fn regression_an_unaligned_load_faults_its_group() {
    let (_dev, file) = open();
    let (vm, code) = vm_with_code_page(&file);
    let stream = words(|b| {
        b.mov48(0, CODE_VA + 2048 + 1).load_multiple(16, 1, 0, 0);
    });
    let bytes: Vec<u8> = stream.iter().flat_map(|w| w.to_le_bytes()).collect();
    code.write(0, &bytes).unwrap();
    let g = group_on(&file, vm.id);
    let out = submit(&file, g, (CODE_VA, bytes.len() as u32));
    assert_eq!(wait_s(&file, out, 5), Ok(0), "the job never completed");
    let mut gs = drm_panthor_group_get_state {
        group_handle: g,
        ..Default::default()
    };
    file.group_get_state(&mut gs).unwrap();
    assert_ne!(gs.state & DRM_PANTHOR_GROUP_STATE_FATAL_FAULT, 0);
}

/// The kernel's job timeout: a stream that branches to itself forever and
/// one blocked on a SYNC_WAIT nobody satisfies are both timed out (group
/// TIMEDOUT, out-fence signalled) within panthor's 5 s, with slack.
#[test]
fn a_stream_that_never_ends_is_timed_out() {
    let (_dev, file) = open();
    let (vm, code) = vm_with_code_page(&file);
    let forever = words(|b| {
        b.branch(Condition::Always, 0, -1);
    });
    // Waits for the zero at +2048 to become 1.
    let blocked = words(|b| {
        b.mov48(0, CODE_VA + 2048)
            .mov32(16, 1)
            .sync_wait32(Condition::Equal, 0, 16, false);
    });
    let mut bytes = vec![0u8; PAGE as usize];
    bytes[..8].copy_from_slice(&forever[0].to_le_bytes());
    for (i, w) in blocked.iter().enumerate() {
        bytes[1024 + 8 * i..1024 + 8 * i + 8].copy_from_slice(&w.to_le_bytes());
    }
    code.write(0, &bytes).unwrap();
    let streams = [(CODE_VA, 8), (CODE_VA + 1024, 8 * blocked.len() as u32)];
    let groups: Vec<u32> = streams.iter().map(|_| group_on(&file, vm.id)).collect();
    let outs: Vec<u32> = streams
        .iter()
        .zip(&groups)
        .map(|(&s, &g)| submit(&file, g, s))
        .collect();
    for (&out, &g) in outs.iter().zip(&groups) {
        assert_eq!(wait_s(&file, out, 10), Ok(0), "the job never timed out");
        let mut gs = drm_panthor_group_get_state {
            group_handle: g,
            ..Default::default()
        };
        file.group_get_state(&mut gs).unwrap();
        assert_ne!(gs.state & DRM_PANTHOR_GROUP_STATE_TIMEDOUT, 0, "{gs:?}");
    }
}

/// [`KnownBug::SubmitRacesGroupDeath`]: jobs submitted while the group
/// faults must complete (with an error) or be refused; none may be left
/// pending on a dead group. Racy by nature: each round faults a group with
/// an invalid instruction while submitting empty jobs to it as fast as
/// possible, until a submit is refused.
#[test]
fn regression_jobs_submitted_as_a_group_faults_complete() {
    let (_dev, file) = open();
    let (vm, code) = vm_with_code_page(&file);
    // Opcode 0xff is reserved: a CS fault, the VM stays usable.
    code.write(0, &(0xffu64 << 56).to_le_bytes()).unwrap();
    for round in 0..200 {
        let g = group_on(&file, vm.id);
        let mut outs = vec![submit(&file, g, (CODE_VA, 8))];
        loop {
            let out = file.syncobj_create(0).unwrap();
            let res = file.group_submit(
                g,
                0,
                &[QueueSubmit {
                    syncs: &[drm_panthor_sync_op {
                        flags: DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ | DRM_PANTHOR_SYNC_OP_SIGNAL,
                        handle: out,
                        timeline_value: 0,
                    }],
                    ..Default::default()
                }],
            );
            if res.is_err() {
                file.syncobj_destroy(out).unwrap();
                break;
            }
            outs.push(out);
        }
        let all = file.syncobj_wait(
            &outs,
            monotonic_ns() + 2_000_000_000,
            SyncobjWaitFlags::WAIT_ALL,
        );
        assert_eq!(
            all.map(|_| ()),
            Ok(()),
            "round {round}: a job accepted on a group that died never completed"
        );
        for o in outs {
            file.syncobj_destroy(o).unwrap();
        }
        file.group_destroy(&drm_panthor_group_destroy {
            group_handle: g,
            pad: 0,
        })
        .unwrap();
    }
}
