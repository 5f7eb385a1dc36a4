//! Sparse images: full binding, partial residency with and without mip
//! chains, mip tails (per layer and single), standard block shapes, the
//! aligned-mip-size rule, rebinding, aliasing, binds at non-zero memory
//! offsets, and the Vulkan 1.1 query forms. All data goes in and out
//! through transfer commands (buffer <-> image copies); case names follow
//! dEQP-VK.sparse_resources (`<group>.<type>.<format>.<width>_<height>_<depth
//! or layers>`).
//!
//! - [`formats`]: formats, image kinds and shapes, support queries;
//! - [`transfer`]: the host-side packing, copies and texel comparison;
//! - [`sparse`]: sparse requirements (checked against the spec), blocks,
//!   mip tails, binds;
//! - the groups: [`binding`], [`residency`], [`mip_tail`], [`shapes`],
//!   [`rebind`], [`queries`].

use crate::case::Group;

mod binding;
mod formats;
mod mip_tail;
mod queries;
mod rebind;
mod residency;
mod shapes;
mod sparse;
mod transfer;

pub fn add(g: &mut Group) {
    binding::add(g);
    residency::add(g);
    mip_tail::add(g);
    shapes::add(g);
    rebind::add(g);
    queries::add(g);
}
