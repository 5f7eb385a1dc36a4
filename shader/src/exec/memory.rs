//! Pointer values at run time: access chains, loads and stores in each
//! space, descriptor loads, OpArrayLength and atomics. Buffer accesses
//! follow robustBufferAccess: outside the descriptor's range loads give 0
//! and stores and atomics are dropped; inside, every access goes through
//! the environment (and may fault).

use super::lanes::{get64, put64, Lane};
use super::{descriptor_name, Workgroup};
use crate::env::{AtomicOp, Descriptor};
use crate::error::{ExecError, RuntimeError};
use crate::ir::{
    space, AtomicKind, Code, DescKind, Leaf, LeafKind, Ptr, Shape, Slot, Step, MAX_RUN_BYTES,
    PTR_WORDS,
};

type Result<T> = std::result::Result<T, ExecError>;

#[inline(always)]
pub(super) fn read_ptr(r: &[u32], at: Slot) -> Ptr {
    let at = at as usize;
    Ptr::from_words(&r[at..at + PTR_WORDS as usize])
}

#[inline(always)]
fn write_ptr(r: &mut [u32], at: usize, p: Ptr) {
    r[at..at + PTR_WORDS as usize].copy_from_slice(&p.to_words());
}

fn addressable(space: u32) -> bool {
    matches!(
        space,
        space::LOCAL
            | space::SHARED
            | space::BUFFER
            | space::PUSH
            | space::DESC
            | space::DESC_BUFFER
    )
}

/// The start of `[addr, addr + n)` as an index when it lies inside a
/// memory of `len` words (pointer values can be forged by bad modules).
#[inline(always)]
fn span(addr: u64, n: usize, len: usize) -> Option<usize> {
    let start = usize::try_from(addr).ok()?;
    (start.checked_add(n)? <= len).then_some(start)
}

/// Copies `n` registers from `from` to `to`: most locals are one or a few
/// words, which a plain loop moves faster than a `memmove` call.
#[inline(always)]
pub(super) fn move_words(r: &mut [u32], from: usize, to: usize, n: usize) {
    if n <= 4 && (from + n <= to || to + n <= from) {
        for i in 0..n {
            r[to + i] = r[from + i];
        }
    } else {
        r.copy_within(from..from + n, to);
    }
}

/// Whether `[va, va + len)` lies in a buffer pointer's range.
#[inline(always)]
fn in_range(p: &Ptr, va: u64, len: u64) -> bool {
    va >= p.lo && va.checked_add(len).is_some_and(|end| end <= p.hi)
}

pub(super) fn chain(
    code: &Code,
    r: &mut [u32],
    wg: &mut Workgroup,
    d: Slot,
    base: Slot,
    chain: u32,
) -> Result<()> {
    let mut p = read_ptr(r, base);
    let steps = code
        .chains
        .get(chain as usize)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for step in steps {
        match *step {
            Step::Add(v) => {
                if addressable(p.space) {
                    p.addr = p.addr.wrapping_add(v);
                }
            }
            Step::Index {
                slot,
                wide,
                stride,
                len,
            } => {
                let idx = if wide {
                    get64(r, slot) as i64
                } else {
                    i64::from(r[slot as usize] as i32)
                };
                if len != 0 && (idx < 0 || idx >= i64::from(len)) {
                    p = Ptr::NULL;
                } else if addressable(p.space) {
                    p.addr = p
                        .addr
                        .wrapping_add((idx as u64).wrapping_mul(u64::from(stride)));
                }
            }
            Step::Resolve => p = resolve_buffer(wg, p)?,
            Step::Null => p = Ptr::NULL,
        }
    }
    write_ptr(r, d as usize, p);
    Ok(())
}

/// A DESC_BUFFER element pointer becomes the buffer it names.
fn resolve_buffer(wg: &mut Workgroup, p: Ptr) -> Result<Ptr> {
    if p.space != space::DESC_BUFFER {
        return Ok(if p.space == space::POISON {
            p
        } else {
            Ptr::NULL
        });
    }
    let (set, binding) = (p.lo as u32, p.hi as u32);
    let Ok(index) = u32::try_from(p.addr) else {
        return Ok(Ptr::NULL);
    };
    match wg.descriptor(set, binding, index)? {
        Descriptor::Buffer { va, size } => Ok(Ptr {
            space: space::BUFFER,
            addr: va,
            lo: va,
            hi: va.saturating_add(size),
        }),
        other => Err(RuntimeError::DescriptorKind {
            set,
            binding,
            index,
            expected: "buffer",
            found: descriptor_name(&other),
        }
        .into()),
    }
}

fn leaf_words(leaf: &Leaf) -> usize {
    match (leaf.kind, leaf.bytes) {
        (LeafKind::Pointer, _) => PTR_WORDS as usize,
        (_, 8) => 2,
        _ => 1,
    }
}

fn put_leaf(r: &mut [u32], at: usize, leaf: &Leaf, bytes: &[u8]) {
    let mut v = [0u8; 8];
    let n = bytes.len().min(8);
    v[..n].copy_from_slice(&bytes[..n]);
    let v = u64::from_le_bytes(v);
    match leaf.kind {
        LeafKind::Plain if leaf.bytes == 8 => v.put(r, at),
        LeafKind::Plain => r[at] = v as u32,
        LeafKind::Bool => r[at] = u32::from(v != 0),
        LeafKind::Pointer => write_ptr(
            r,
            at,
            Ptr {
                space: space::BUFFER,
                addr: v,
                lo: 0,
                hi: u64::MAX,
            },
        ),
    }
}

fn leaf_bytes(r: &[u32], at: usize, leaf: &Leaf) -> [u8; 8] {
    let v = match leaf.kind {
        LeafKind::Pointer => {
            let p = Ptr::from_words(&r[at..at + PTR_WORDS as usize]);
            if p.space == space::BUFFER {
                p.addr
            } else {
                0
            }
        }
        _ if leaf.bytes == 8 => u64::get(r, at),
        _ => u64::from(r[at]),
    };
    v.to_le_bytes()
}

pub(super) fn load(
    code: &Code,
    r: &mut [u32],
    wg: &mut Workgroup,
    d: Slot,
    ptr: Slot,
    shape: u32,
) -> Result<()> {
    let p = read_ptr(r, ptr);
    let Some(shape) = code.shapes.get(shape as usize) else {
        return Err(RuntimeError::Internal("unknown shape").into());
    };
    let (d, n) = (d as usize, shape.words as usize);
    match p.space {
        space::LOCAL => match span(p.addr, n, r.len()) {
            Some(s) => move_words(r, s, d, n),
            None => r[d..d + n].fill(0),
        },
        space::SHARED => match span(p.addr, n, wg.shared.len()) {
            Some(s) => r[d..d + n].copy_from_slice(&wg.shared[s..s + n]),
            None => r[d..d + n].fill(0),
        },
        space::BUFFER | space::PUSH => explicit_load(r, wg, &p, shape, d)?,
        space::POISON => return Err(wg.deferred_error(&p)),
        _ => r[d..d + n].fill(0),
    }
    Ok(())
}

fn explicit_load(
    r: &mut [u32],
    wg: &mut Workgroup,
    p: &Ptr,
    shape: &Shape,
    d: usize,
) -> Result<()> {
    let push = p.space == space::PUSH;
    let mut buf = [0u8; MAX_RUN_BYTES as usize];
    for run in &shape.runs {
        let leaves = shape
            .leaves
            .get(run.first_leaf as usize..(run.first_leaf + run.leaves) as usize)
            .unwrap_or(&[]);
        let va = p.addr.wrapping_add(u64::from(run.mem));
        let bytes = (run.bytes as usize).min(buf.len());
        if push {
            match u32::try_from(va) {
                Ok(offset) => wg.env.push_constants(offset, &mut buf[..bytes])?,
                Err(_) => buf[..bytes].fill(0),
            }
        } else if in_range(p, va, bytes as u64) {
            wg.env.load(va, &mut buf[..bytes])?;
        } else {
            // Partly outside: each scalar on its own.
            for leaf in leaves {
                let lva = va.wrapping_add(u64::from(leaf.mem));
                let (m, lb) = (leaf.mem as usize, usize::from(leaf.bytes));
                let Some(slot) = buf.get_mut(m..m + lb) else {
                    continue;
                };
                if in_range(p, lva, lb as u64) {
                    wg.env.load(lva, slot)?;
                } else {
                    slot.fill(0);
                }
            }
        }
        for leaf in leaves {
            let (m, lb) = (leaf.mem as usize, usize::from(leaf.bytes));
            let at = d + leaf.reg as usize;
            match buf.get(m..m + lb) {
                Some(bytes) => put_leaf(r, at, leaf, bytes),
                None => r[at..at + leaf_words(leaf)].fill(0),
            }
        }
    }
    Ok(())
}

pub(super) fn store(
    code: &Code,
    r: &mut [u32],
    wg: &mut Workgroup,
    ptr: Slot,
    s: Slot,
    shape: u32,
) -> Result<()> {
    let p = read_ptr(r, ptr);
    let Some(shape) = code.shapes.get(shape as usize) else {
        return Err(RuntimeError::Internal("unknown shape").into());
    };
    let (s, n) = (s as usize, shape.words as usize);
    match p.space {
        space::LOCAL => {
            if let Some(dst) = span(p.addr, n, r.len()) {
                move_words(r, s, dst, n);
            }
        }
        space::SHARED => {
            if let Some(a) = span(p.addr, n, wg.shared.len()) {
                wg.shared[a..a + n].copy_from_slice(&r[s..s + n]);
            }
        }
        space::BUFFER => explicit_store(r, wg, &p, shape, s)?,
        space::POISON => return Err(wg.deferred_error(&p)),
        _ => {}
    }
    Ok(())
}

fn explicit_store(r: &[u32], wg: &mut Workgroup, p: &Ptr, shape: &Shape, s: usize) -> Result<()> {
    let mut buf = [0u8; MAX_RUN_BYTES as usize];
    for run in &shape.runs {
        let leaves = shape
            .leaves
            .get(run.first_leaf as usize..(run.first_leaf + run.leaves) as usize)
            .unwrap_or(&[]);
        let va = p.addr.wrapping_add(u64::from(run.mem));
        let bytes = (run.bytes as usize).min(buf.len());
        for leaf in leaves {
            let (m, lb) = (leaf.mem as usize, usize::from(leaf.bytes));
            if let Some(dst) = buf.get_mut(m..m + lb) {
                dst.copy_from_slice(&leaf_bytes(r, s + leaf.reg as usize, leaf)[..lb]);
            }
        }
        if in_range(p, va, bytes as u64) {
            wg.env.store(va, &buf[..bytes])?;
        } else {
            for leaf in leaves {
                let lva = va.wrapping_add(u64::from(leaf.mem));
                let (m, lb) = (leaf.mem as usize, usize::from(leaf.bytes));
                if in_range(p, lva, lb as u64) {
                    if let Some(src) = buf.get(m..m + lb) {
                        wg.env.store(lva, src)?;
                    }
                }
            }
        }
    }
    Ok(())
}

pub(super) fn array_length(
    r: &mut [u32],
    wg: &Workgroup,
    d: Slot,
    ptr: Slot,
    offset: u32,
    stride: u32,
) -> Result<()> {
    let p = read_ptr(r, ptr);
    let len = match p.space {
        space::BUFFER => {
            let start = p.addr.wrapping_add(u64::from(offset));
            if stride == 0 || start < p.lo || start >= p.hi {
                0
            } else {
                ((p.hi - start) / u64::from(stride)).min(u64::from(u32::MAX))
            }
        }
        space::POISON => return Err(wg.deferred_error(&p)),
        _ => 0,
    };
    r[d as usize] = len as u32;
    Ok(())
}

pub(super) fn load_descriptor(
    r: &mut [u32],
    wg: &mut Workgroup,
    kind: DescKind,
    d: Slot,
    ptr: Slot,
) -> Result<()> {
    let p = read_ptr(r, ptr);
    let d = d as usize;
    let words = match kind {
        DescKind::Image | DescKind::Sampler => 2,
        DescKind::Combined { .. } => 4,
    };
    if p.space != space::DESC {
        r[d..d + words].fill(0);
        return Ok(());
    }
    let (set, binding) = (p.lo as u32, p.hi as u32);
    let index = u32::try_from(p.addr).unwrap_or(u32::MAX);
    let desc = wg.descriptor(set, binding, index)?;
    let handles: Option<(u64, u64)> = match (kind, desc) {
        (DescKind::Image, Descriptor::Image(i)) => Some((i.0, 0)),
        (DescKind::Image, Descriptor::CombinedImageSampler { image, .. }) => Some((image.0, 0)),
        (DescKind::Sampler, Descriptor::Sampler(s)) => Some((s.0, 0)),
        (DescKind::Sampler, Descriptor::CombinedImageSampler { sampler, .. }) => {
            Some((sampler.0, 0))
        }
        (DescKind::Combined { .. }, Descriptor::CombinedImageSampler { image, sampler }) => {
            Some((image.0, sampler.0))
        }
        (DescKind::Combined { texel_buffer: true }, Descriptor::Image(i)) => Some((i.0, 0)),
        _ => None,
    };
    let Some((first, second)) = handles else {
        let expected = match kind {
            DescKind::Image => "image",
            DescKind::Sampler => "sampler",
            DescKind::Combined { .. } => "combined image sampler",
        };
        return Err(RuntimeError::DescriptorKind {
            set,
            binding,
            index,
            expected,
            found: descriptor_name(&desc),
        }
        .into());
    };
    put64(r, d as Slot, first);
    if words == 4 {
        put64(r, d as Slot + 2, second);
    }
    Ok(())
}

pub(super) fn ptr_from_u64(r: &mut [u32], d: Slot, a: Slot) {
    let addr = get64(r, a);
    write_ptr(
        r,
        d as usize,
        Ptr {
            space: space::BUFFER,
            addr,
            lo: 0,
            hi: u64::MAX,
        },
    );
}

pub(super) fn ptr_to_u64(r: &mut [u32], d: Slot, a: Slot) {
    let p = read_ptr(r, a);
    put64(r, d, if p.space == space::BUFFER { p.addr } else { 0 });
}

/// The new value of a read-modify-write done in core memory.
fn rmw(op: AtomicKind, old: u64, v: u64, cmp: u64, wide: bool) -> u64 {
    match op {
        AtomicKind::Load => old,
        AtomicKind::Store => v,
        _ => env_op(op, cmp).apply(old, v, if wide { 8 } else { 4 }),
    }
}

fn env_op(op: AtomicKind, cmp: u64) -> AtomicOp {
    match op {
        AtomicKind::Load | AtomicKind::Store | AtomicKind::Exchange => AtomicOp::Exchange,
        AtomicKind::CompareExchange => AtomicOp::CompareExchange { comparator: cmp },
        AtomicKind::Add => AtomicOp::IAdd,
        AtomicKind::Sub => AtomicOp::ISub,
        AtomicKind::SMin => AtomicOp::SMin,
        AtomicKind::UMin => AtomicOp::UMin,
        AtomicKind::SMax => AtomicOp::SMax,
        AtomicKind::UMax => AtomicOp::UMax,
        AtomicKind::And => AtomicOp::And,
        AtomicKind::Or => AtomicOp::Or,
        AtomicKind::Xor => AtomicOp::Xor,
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn atomic(
    r: &mut [u32],
    wg: &mut Workgroup,
    op: AtomicKind,
    wide: bool,
    d: Slot,
    ptr: Slot,
    v: Slot,
    c: Slot,
) -> Result<()> {
    let p = read_ptr(r, ptr);
    let words = if wide { 2 } else { 1 };
    let width = 4 * words as u64;
    let read = |r: &[u32], s: Slot| {
        if wide {
            get64(r, s)
        } else {
            u64::from(r[s as usize])
        }
    };
    let (value, cmp) = (read(r, v), read(r, c));
    let mask = if wide { u64::MAX } else { u64::from(u32::MAX) };
    let old = match p.space {
        space::BUFFER => {
            if !in_range(&p, p.addr, width) {
                0
            } else {
                match op {
                    AtomicKind::Load => {
                        let mut b = [0u8; 8];
                        wg.env.load(p.addr, &mut b[..width as usize])?;
                        u64::from_le_bytes(b)
                    }
                    AtomicKind::Store => {
                        wg.env
                            .store(p.addr, &value.to_le_bytes()[..width as usize])?;
                        0
                    }
                    _ => wg.env.atomic(p.addr, width as u8, env_op(op, cmp), value)? & mask,
                }
            }
        }
        space::SHARED | space::LOCAL => {
            let mem: &mut [u32] = if p.space == space::SHARED {
                &mut wg.shared
            } else {
                r
            };
            match span(p.addr, words, mem.len()) {
                Some(a) => {
                    let old = if wide {
                        u64::get(mem, a)
                    } else {
                        u64::from(mem[a])
                    };
                    let new = rmw(op, old, value, cmp, wide) & mask;
                    if wide {
                        new.put(mem, a);
                    } else {
                        mem[a] = new as u32;
                    }
                    old
                }
                None => 0,
            }
        }
        space::POISON => return Err(wg.deferred_error(&p)),
        _ => 0,
    };
    if wide {
        put64(r, d, old);
    } else {
        r[d as usize] = old as u32;
    }
    Ok(())
}
