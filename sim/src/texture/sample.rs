//! Filtered sampling and gathers ([`TextureView::sample`]), following the
//! Vulkan spec's "Texel Input Operations" and "Texel Filtering":
//!
//! 1. Coordinates: (s, t, r) and the array layer `round_ties_even(a)`
//!    clamped to the view's layers; cube views project the direction onto
//!    a face (`cube.rs`) and use layer `cube * 6 + face`. Whether (s, t, r)
//!    are normalized is the sampler's flag (Vulkan's
//!    `unnormalizedCoordinates`); the Texture descriptor's own flag is not
//!    used. Cube views always take normalized face coordinates.
//! 2. LOD: λ = the explicit LOD, or log2 of the larger gradient length in
//!    texels of level 0 (ρmax; cube gradients projected onto the face);
//!    plus the sampler's bias; clamped to [max(sampler min, MinLod
//!    operand), sampler max]. The texture descriptor's own LOD fields are
//!    not used (Mesa sets them to the view's level range; the view's
//!    level count clamps the level below).
//! 3. Magnify when λ <= 0, else minify. Level: mipmap mode `None` uses
//!    level 0; `Nearest` uses ceil(d + 0.5) - 1; `Trilinear` blends
//!    floor(d) and the next level, d = clamp(λ, 0, levels - 1).
//! 4. Per level, nearest (1 tap per axis, floor(u)) or linear (2 taps,
//!    floor(u - 0.5), weights from the fraction), u = s * size + offset
//!    (no scaling for unnormalized coordinates), each tap wrapped by the
//!    sampler's wrap mode (`wrap.rs`); a tap outside with clamp-to-border
//!    is the sampler's border colour. Cube views clamp to the edge of the
//!    face: seamless filtering across faces is approximated this way.
//! 5. Depth comparison (a depth reference is given): each tap becomes 1.0
//!    if `texel FUNC dref` holds, else 0.0, before filtering; the result is
//!    (r, 0, 0, 1). The stored func is the hardware's (genxml `Func`:
//!    Never=0, Less=1, Equal=2, Lequal=3, Greater=4, NotEqual=5, Gequal=6,
//!    Always=7) with the texel on the left: panvk writes Vulkan's
//!    compareOp flipped (LESS <-> GREATER, LEQUAL <-> GEQUAL), so Vulkan's
//!    `dref OP texel` is exactly `texel FLIPPED_OP dref`. Fixed-point
//!    formats clamp dref to [0, 1].
//! 6. The view's swizzle applies last (also to border texels).
//!
//! Integer formats are never blended: they use nearest texels and the
//! nearest level whatever the sampler says. Gathers read the 2x2 linear
//! footprint of level 0 and return (i0,j1), (i1,j1), (i1,j0), (i0,j0).
//! Multisampled views are sampled at sample 0. Residency is the AND of
//! every tap read (border taps read nothing).

use mali_csf::desc::{Filter, MipmapMode, Sampler, TextureDimension, WrapMode};

use super::cube;
use super::format::Class;
use super::plane::Plane;
use super::view::TextureView;
use super::wrap::wrap;
use super::{TexelMemory, TextureFault};

/// Level of detail of a sampling operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lod {
    Explicit(f32),
    /// Explicit gradients (dP/dx, dP/dy), one lane per coordinate (the
    /// cube direction's for cube views).
    Grad {
        dx: [f32; 3],
        dy: [f32; 3],
    },
}

/// One filtered or gathered lookup (OpImageSample*ExplicitLod,
/// OpImage*Gather, and the Dref and sparse forms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleArgs {
    /// (s, t, r, array layer) for 1D/2D/3D views (unnormalized when the
    /// sampler says so); (x, y, z, cube array layer) for cube views.
    pub coord: [f32; 4],
    pub lod: Lod,
    /// ConstOffset / Offset, in texels.
    pub offset: [i32; 3],
    /// The MinLod image operand.
    pub min_lod: Option<f32>,
    /// Depth reference of the Dref forms.
    pub dref: Option<f32>,
    /// The component a gather returns (0..3, after the swizzle).
    pub gather_component: Option<u32>,
}

/// Where a lookup lands before the level is known.
struct Position {
    /// Normalized (or unnormalized) coordinates of the active axes.
    coord: [f32; 3],
    /// Active axes: 1 (1D), 2 (2D, cube), 3 (3D).
    dims: usize,
    /// Plane layer.
    layer: u32,
    normalized: bool,
    wrap: [WrapMode; 3],
    /// Gradients on the face for cube views, else as given.
    grads: Option<([f32; 3], [f32; 3])>,
}

/// The texels one axis contributes.
#[derive(Clone, Copy)]
struct Axis {
    idx: [Option<u32>; 2],
    weight: [f32; 2],
    taps: usize,
}

const FIXED: Axis = Axis {
    idx: [Some(0), None],
    weight: [1.0, 0.0],
    taps: 1,
};

fn axis(u: f32, size: u32, mode: WrapMode, linear: bool) -> Axis {
    if linear {
        let v = u - 0.5;
        let f = v.floor();
        let alpha = if (v - f).is_finite() { v - f } else { 0.0 };
        let i0 = f as i64; // saturating; NaN gives 0
        Axis {
            idx: [wrap(mode, i0, size), wrap(mode, i0.saturating_add(1), size)],
            weight: [1.0 - alpha, alpha],
            taps: 2,
        }
    } else {
        Axis {
            idx: [wrap(mode, u.floor() as i64, size), None],
            weight: [1.0, 0.0],
            taps: 1,
        }
    }
}

/// Array layer from a float coordinate: round to nearest even, clamp.
fn array_layer(a: f32, count: u32) -> u32 {
    let r = a.round_ties_even();
    if r >= 0.0 {
        r.min(count.saturating_sub(1) as f32) as u32
    } else {
        0
    }
}

/// genxml `Func` with the texel on the left.
fn compare(func: u8, texel: f32, dref: f32) -> bool {
    match func {
        1 => texel < dref,
        2 => texel == dref,
        3 => texel <= dref,
        4 => texel > dref,
        5 => texel != dref,
        6 => texel >= dref,
        7 => true,
        _ => false,
    }
}

fn length(v: [f32; 3], scale: [f32; 3], dims: usize) -> f32 {
    (0..dims)
        .map(|i| (v[i] * scale[i]).powi(2))
        .sum::<f32>()
        .sqrt()
}

impl TextureView {
    fn position(&self, sampler: &Sampler, args: &SampleArgs) -> Position {
        let c = args.coord;
        let grads = match args.lod {
            Lod::Grad { dx, dy } => Some((dx, dy)),
            Lod::Explicit(_) => None,
        };
        let array_size = self.desc.array_size;
        let (coord, dims, layer) = match self.desc.dimension {
            TextureDimension::Cube => {
                let dir = [c[0], c[1], c[2]];
                let f = cube::project(dir);
                let layer = array_layer(c[3], array_size) * 6 + f.face;
                let grads = grads.map(|(dx, dy)| {
                    let [a, b] = cube::project_derivative(dir, dx);
                    let [e, g] = cube::project_derivative(dir, dy);
                    ([a, b, 0.0], [e, g, 0.0])
                });
                return Position {
                    coord: [f.s, f.t, 0.0],
                    dims: 2,
                    layer,
                    normalized: true,
                    wrap: [WrapMode::ClampToEdge; 3],
                    grads,
                };
            }
            TextureDimension::D1 => ([c[0], 0.0, 0.0], 1, array_layer(c[3], array_size)),
            TextureDimension::D2 => ([c[0], c[1], 0.0], 2, array_layer(c[3], array_size)),
            TextureDimension::D3 => ([c[0], c[1], c[2]], 3, 0),
        };
        Position {
            coord,
            dims,
            layer,
            normalized: sampler.normalized_coordinates,
            wrap: sampler.wrap,
            grads,
        }
    }

    /// λ after bias and clamps.
    fn lambda(&self, sampler: &Sampler, args: &SampleArgs, pos: &Position) -> f32 {
        let base = match args.lod {
            Lod::Explicit(l) => l,
            Lod::Grad { dx, dy } => {
                let (dx, dy) = pos.grads.unwrap_or((dx, dy));
                let size = self.info(0).size;
                let scale = if pos.normalized {
                    size.map(|s| s as f32)
                } else {
                    [1.0; 3]
                };
                let rho = length(dx, scale, pos.dims).max(length(dy, scale, pos.dims));
                rho.log2()
            }
        };
        let lod_min = match args.min_lod {
            Some(m) => sampler.minimum_lod.max(m),
            None => sampler.minimum_lod,
        };
        (base + sampler.lod_bias)
            .max(lod_min)
            .min(sampler.maximum_lod)
    }

    /// One tap's logical texel (after depth comparison when asked).
    fn tap(
        &self,
        mem: &mut dyn TexelMemory,
        sampler: &Sampler,
        dref: Option<f32>,
        plane: &Plane,
        t: Option<[u32; 3]>,
    ) -> Result<([u32; 4], bool), TextureFault> {
        let (texel, resident) = match t {
            Some(t) => self.fetch(mem, plane, t, 0)?,
            None => (self.format.border(sampler.border_color), true),
        };
        let Some(dref) = dref else {
            return Ok((texel, resident));
        };
        let dref = if self.format.is_unorm() {
            dref.clamp(0.0, 1.0)
        } else {
            dref
        };
        let pass = compare(sampler.compare_func, f32::from_bits(texel[0]), dref);
        let v = if pass { 1.0f32 } else { 0.0 };
        Ok(([v.to_bits(), 0, 0, 1.0f32.to_bits()], resident))
    }

    /// The axes of the footprint at `plane`'s level.
    fn footprint(
        &self,
        pos: &Position,
        plane: &Plane,
        offset: [i32; 3],
        linear: bool,
    ) -> [Axis; 3] {
        let mut axes = [FIXED; 3];
        for (i, a) in axes.iter_mut().enumerate().take(pos.dims) {
            let size = plane.extent[i];
            let scaled = if pos.normalized {
                pos.coord[i] * size as f32
            } else {
                pos.coord[i]
            };
            *a = axis(scaled + offset[i] as f32, size, pos.wrap[i], linear);
        }
        axes
    }

    /// The filtered logical texel of one level.
    fn filter_level(
        &self,
        mem: &mut dyn TexelMemory,
        sampler: &Sampler,
        args: &SampleArgs,
        pos: &Position,
        level: u32,
        linear: bool,
    ) -> Result<([u32; 4], bool), TextureFault> {
        let plane = self.plane(mem, pos.layer, level)?;
        let [ax, ay, az] = self.footprint(pos, &plane, args.offset, linear);
        let mut acc = [0f32; 4];
        let mut first = None;
        let mut resident = true;
        for k in 0..az.taps {
            for j in 0..ay.taps {
                for i in 0..ax.taps {
                    let t = match (ax.idx[i], ay.idx[j], az.idx[k]) {
                        (Some(x), Some(y), Some(z)) => Some([x, y, z]),
                        _ => None,
                    };
                    let (v, r) = self.tap(mem, sampler, args.dref, &plane, t)?;
                    resident &= r;
                    first.get_or_insert(v);
                    let w = ax.weight[i] * ay.weight[j] * az.weight[k];
                    if w != 0.0 {
                        for c in 0..4 {
                            acc[c] += w * f32::from_bits(v[c]);
                        }
                    }
                }
            }
        }
        let value = if linear {
            acc.map(f32::to_bits)
        } else {
            first.unwrap_or([0; 4])
        };
        Ok((value, resident))
    }

    /// OpImageSample*ExplicitLod / OpImage*Gather (and Dref, sparse
    /// forms): the filtered, swizzled texel in the view's class, and
    /// whether every texel read was resident.
    pub fn sample(
        &self,
        mem: &mut dyn TexelMemory,
        sampler: &Sampler,
        args: &SampleArgs,
    ) -> Result<([u32; 4], bool), TextureFault> {
        let pos = self.position(sampler, args);
        if let Some(component) = args.gather_component {
            return self.gather(mem, sampler, args, &pos, component);
        }
        let blend = self.format.class() == Class::Float || args.dref.is_some();
        let lambda = self.lambda(sampler, args, &pos);
        let filter = if lambda <= 0.0 {
            sampler.magnify
        } else {
            sampler.minify
        };
        let linear = blend && filter == Filter::Linear;
        let q = self.levels().saturating_sub(1);
        let d = lambda.max(0.0).min(q as f32);
        let (lo, hi, frac) = match sampler.mipmap_mode {
            MipmapMode::None => (0, 0, 0.0),
            MipmapMode::Trilinear if blend => {
                let lo = d.floor();
                (lo as u32, (lo as u32 + 1).min(q), d - lo)
            }
            _ => {
                let l = ((d + 0.5).ceil() - 1.0).max(0.0) as u32;
                (l.min(q), l.min(q), 0.0)
            }
        };
        let (mut value, mut resident) = self.filter_level(mem, sampler, args, &pos, lo, linear)?;
        if hi != lo && frac > 0.0 {
            let (b, r) = self.filter_level(mem, sampler, args, &pos, hi, linear)?;
            resident &= r;
            for c in 0..4 {
                let (x, y) = (f32::from_bits(value[c]), f32::from_bits(b[c]));
                value[c] = (x * (1.0 - frac) + y * frac).to_bits();
            }
        }
        Ok((self.swizzle(value), resident))
    }

    fn gather(
        &self,
        mem: &mut dyn TexelMemory,
        sampler: &Sampler,
        args: &SampleArgs,
        pos: &Position,
        component: u32,
    ) -> Result<([u32; 4], bool), TextureFault> {
        let plane = self.plane(mem, pos.layer, 0)?;
        let [ax, ay, _] = self.footprint(pos, &plane, args.offset, true);
        let mut out = [0u32; 4];
        let mut resident = true;
        // (i0, j1), (i1, j1), (i1, j0), (i0, j0).
        for (lane, (i, j)) in [(0, 1), (1, 1), (1, 0), (0, 0)].into_iter().enumerate() {
            let j = j.min(ay.taps - 1);
            let t = match (ax.idx[i], ay.idx[j]) {
                (Some(x), Some(y)) => Some([x, y, 0]),
                _ => None,
            };
            let (v, r) = self.tap(mem, sampler, args.dref, &plane, t)?;
            resident &= r;
            out[lane] = if args.dref.is_some() {
                v[0]
            } else {
                self.swizzle(v)[(component & 3) as usize]
            };
        }
        Ok((out, resident))
    }
}
