//! Image instructions at run time: coordinates mapped to the texture
//! unit's conventions (integer (x, y, z-or-layer); float (s, t, r, layer)),
//! image operands gathered into [`SampleArgs`], results written back with
//! the sparse residency code (0 resident, 1 not) first when asked.

use super::lanes::get64;
use super::memory::read_ptr;
use super::Workgroup;
use crate::env::{Descriptor, ImageHandle, Lod, SampleArgs, SamplerHandle, Texel};
use crate::error::{ExecError, RuntimeError};
use crate::ir::{space, Code, ImageDim, ImageInst, ImageOp, Ptr, PTR_WORDS};

type Result<T> = std::result::Result<T, ExecError>;

fn lanes<const N: usize>(r: &[u32], slot: u32, n: u32) -> [u32; N] {
    std::array::from_fn(|i| {
        if (i as u32) < n {
            r[slot as usize + i]
        } else {
            0
        }
    })
}

fn f(v: u32) -> f32 {
    f32::from_bits(v)
}

/// Integer coordinates as (x, y, z-or-layer).
fn int_coord(ii: &ImageInst, r: &[u32]) -> [i32; 3] {
    let c: [u32; 4] = lanes(r, ii.coord, ii.coord_lanes);
    let c = c.map(|v| v as i32);
    match (ii.dim, ii.arrayed) {
        (ImageDim::Buffer, _) | (ImageDim::D1, false) => [c[0], 0, 0],
        (ImageDim::D1, true) => [c[0], 0, c[1]],
        (ImageDim::D2 | ImageDim::Rect, false) => [c[0], c[1], 0],
        _ => [c[0], c[1], c[2]],
    }
}

/// Float coordinates as (s, t, r, layer), after the projective divide.
fn float_coord(ii: &ImageInst, r: &[u32]) -> [f32; 4] {
    let raw: [u32; 4] = lanes(r, ii.coord, ii.coord_lanes);
    let mut c = raw.map(f);
    if ii.proj && ii.coord_lanes > 1 {
        let q = c[ii.coord_lanes as usize - 1];
        for v in c.iter_mut().take(ii.coord_lanes as usize - 1) {
            *v /= q;
        }
    }
    match (ii.dim, ii.arrayed) {
        (ImageDim::D1, false) => [c[0], 0.0, 0.0, 0.0],
        (ImageDim::D1, true) => [c[0], 0.0, 0.0, c[1]],
        (ImageDim::D2 | ImageDim::Rect, false) => [c[0], c[1], 0.0, 0.0],
        (ImageDim::D2 | ImageDim::Rect, true) => [c[0], c[1], 0.0, c[2]],
        (ImageDim::Cube, true) => c,
        _ => [c[0], c[1], c[2], 0.0],
    }
}

fn offset(ii: &ImageInst, r: &[u32]) -> [i32; 3] {
    match ii.offset {
        Some((s, n)) => lanes::<3>(r, s, n).map(|v| v as i32),
        None => [0; 3],
    }
}

fn write_texel(r: &mut [u32], ii: &ImageInst, t: &Texel) {
    let mut d = ii.d as usize;
    if ii.sparse {
        r[d] = u32::from(!t.resident);
        d += 1;
    }
    let words = if ii.wide {
        // Component 0 is (low, high); the missing ones read (0, 0, 1).
        [t.value[0], t.value[1], 0, 0, 0, 0, 1, 0]
    } else {
        [t.value[0], t.value[1], t.value[2], t.value[3], 0, 0, 0, 0]
    };
    let n = (ii.d_lanes as usize).min(if ii.wide { 8 } else { 4 });
    r[d..d + n].copy_from_slice(&words[..n]);
}

pub(super) fn run(code: &Code, r: &mut [u32], wg: &mut Workgroup, idx: u32) -> Result<()> {
    let Some(ii) = code.images.get(idx as usize) else {
        return Err(RuntimeError::Internal("unknown image instruction").into());
    };
    let handle = ImageHandle(get64(r, ii.image));
    let sample = ii.sample.map_or(0, |s| r[s as usize]);
    match ii.op {
        ImageOp::Read | ImageOp::Fetch => {
            let mut coord = int_coord(ii, r);
            let off = offset(ii, r);
            for (c, o) in coord.iter_mut().zip(off) {
                *c = c.wrapping_add(o);
            }
            let lod = ii.lod.map_or(0, |s| r[s as usize]);
            let t = wg.env.image_read(handle, coord, lod, sample)?;
            write_texel(r, ii, &t);
        }
        ImageOp::Write => {
            let coord = int_coord(ii, r);
            let mut texel = [0, 0, 0, 1f32.to_bits()];
            match ii.texel {
                // Component 0's two words become the low and high 32-bit
                // components the texture unit stores.
                Some((s, _)) if ii.wide => {
                    texel = [r[s as usize], r[s as usize + 1], 0, 1];
                }
                Some((s, n)) => {
                    for (i, v) in texel.iter_mut().enumerate().take(n as usize) {
                        *v = r[s as usize + i];
                    }
                }
                None => {}
            }
            wg.env.image_write(handle, coord, sample, texel)?;
        }
        ImageOp::Sample | ImageOp::Gather => sample_op(r, wg, ii, handle)?,
        ImageOp::QuerySize => {
            let lod = ii.lod.map_or(0, |s| r[s as usize]);
            let info = wg.env.image_info(handle, lod)?;
            let [w, h, depth] = info.size;
            let layers = info.layers;
            let v: ([u32; 4], usize) = match (ii.dim, ii.arrayed) {
                (ImageDim::D1, false) | (ImageDim::Buffer, _) => ([w, 0, 0, 0], 1),
                (ImageDim::D1, true) => ([w, layers, 0, 0], 2),
                (ImageDim::D2 | ImageDim::Rect | ImageDim::Cube, false) => ([w, h, 0, 0], 2),
                (ImageDim::D2 | ImageDim::Rect, true) => ([w, h, layers, 0], 3),
                (ImageDim::Cube, true) => ([w, h, layers / 6, 0], 3),
                (ImageDim::D3, _) => ([w, h, depth, 0], 3),
            };
            let n = (ii.d_lanes as usize).min(4);
            let d = ii.d as usize;
            for i in 0..n {
                r[d + i] = if i < v.1 { v.0[i] } else { 0 };
            }
        }
        ImageOp::QueryLevels | ImageOp::QuerySamples => {
            let info = wg.env.image_info(handle, 0)?;
            r[ii.d as usize] = if ii.op == ImageOp::QueryLevels {
                info.levels
            } else {
                info.samples
            };
        }
        ImageOp::TexelPointer => {
            let p = read_ptr(r, ii.image);
            let result = if p.space == space::DESC {
                let (set, binding) = (p.lo as u32, p.hi as u32);
                let index = u32::try_from(p.addr).unwrap_or(u32::MAX);
                let image = match wg.descriptor(set, binding, index)? {
                    Descriptor::Image(i) => i,
                    Descriptor::CombinedImageSampler { image, .. } => image,
                    other => {
                        return Err(RuntimeError::DescriptorKind {
                            set,
                            binding,
                            index,
                            expected: "image",
                            found: super::descriptor_name(&other),
                        }
                        .into())
                    }
                };
                let coord = int_coord(ii, r);
                match wg.env.image_texel_va(image, coord, sample)? {
                    Some(va) => Ptr {
                        space: space::BUFFER,
                        addr: va,
                        lo: va,
                        hi: va.saturating_add(u64::from(ii.texel_bytes)),
                    },
                    None => Ptr::NULL,
                }
            } else {
                Ptr::NULL
            };
            let d = ii.d as usize;
            r[d..d + PTR_WORDS as usize].copy_from_slice(&result.to_words());
        }
    }
    Ok(())
}

fn sample_op(r: &mut [u32], wg: &mut Workgroup, ii: &ImageInst, image: ImageHandle) -> Result<()> {
    let sampler = SamplerHandle(get64(r, ii.image + 2));
    let lod = match (ii.grad, ii.lod) {
        (Some((dx, dy, n)), _) => Lod::Grad {
            dx: lanes::<3>(r, dx, n).map(f),
            dy: lanes::<3>(r, dy, n).map(f),
        },
        (None, Some(l)) => Lod::Explicit(f(r[l as usize])),
        (None, None) => Lod::Explicit(0.0),
    };
    let mut dref = ii.dref.map(|s| f(r[s as usize]));
    if ii.proj && ii.coord_lanes > 0 {
        let q = f(r[(ii.coord + ii.coord_lanes - 1) as usize]);
        dref = dref.map(|v| v / q);
    }
    let gather_component = match ii.op {
        ImageOp::Gather => Some(ii.component.map_or(0, |s| r[s as usize])),
        _ => None,
    };
    let mut args = SampleArgs {
        coord: float_coord(ii, r),
        lod,
        offset: offset(ii, r),
        min_lod: ii.min_lod.map(|s| f(r[s as usize])),
        dref,
        gather_component,
    };
    let t = match ii.offsets {
        // ConstOffsets: texel i of the result comes from a gather at offset i.
        Some(s) => {
            let mut out = Texel {
                value: [0; 4],
                resident: true,
            };
            for i in 0..4 {
                let o: [u32; 2] = lanes(r, s + 2 * i as u32, 2);
                args.offset = [o[0] as i32, o[1] as i32, 0];
                let t = wg.env.image_sample(image, sampler, &args)?;
                out.value[i] = t.value[i];
                out.resident &= t.resident;
            }
            out
        }
        None => wg.env.image_sample(image, sampler, &args)?,
    };
    write_texel(r, ii, &t);
    Ok(())
}
