//! The residency model of one device: every sparse buffer and image (its
//! requirements and, per block, the memory bound there), every memory
//! object (size, type, and which blocks of which resources sit on which of
//! its ranges), the bind statistics, and the validation rules that a bind,
//! a free or a destroy is checked against.
//!
//! This file knows nothing about the dispatch chain: the entry points hand
//! it plain values and get back [`Message`]s to deliver. That keeps every
//! rule testable without a driver (see the tests at the bottom).
//!
//! Two address spaces are tracked per resource:
//! - the *opaque* range, in blocks of `VkMemoryRequirements::alignment`
//!   (all of a buffer; for an image, what `VkSparseImageOpaqueMemoryBindInfo`
//!   binds, including the mip tails);
//! - for images with residency, a *grid* per aspect, mip level and array
//!   layer, in blocks of `imageGranularity` texels, which
//!   `VkSparseImageMemoryBindInfo` binds.
//!
//! The layer cannot know where the driver places grid blocks inside the
//! opaque range, so the two are counted side by side.

use std::collections::BTreeMap;
use std::time::Duration;

use ash::vk;

use rustc_hash::FxHashMap as Map;

use crate::blocks::Blocks;
use crate::memory::{Memory, Owner};

/// Per resource, how many per-call entries the history keeps.
pub const HISTORY: usize = 256;

/// The rules, by the `messageIdName` the application sees.
pub mod rule {
    pub const OFFSET_ALIGNMENT: &str = "PANTHOR-sparse-offset-alignment";
    pub const SIZE_ALIGNMENT: &str = "PANTHOR-sparse-size-alignment";
    pub const OUT_OF_BOUNDS: &str = "PANTHOR-sparse-out-of-bounds";
    pub const MEMORY_OUT_OF_BOUNDS: &str = "PANTHOR-sparse-memory-out-of-bounds";
    pub const MIP_TAIL: &str = "PANTHOR-sparse-mip-tail";
    pub const MEMORY_TYPE: &str = "PANTHOR-sparse-memory-type";
    pub const MEMORY_FREED_WHILE_BOUND: &str = "PANTHOR-sparse-memory-freed-while-bound";
    pub const DESTROYED_WHILE_BOUND: &str = "PANTHOR-sparse-resource-destroyed-while-bound";
    pub const ALIASING: &str = "PANTHOR-sparse-aliasing";
    pub const NOT_SPARSE: &str = "PANTHOR-sparse-not-sparse";
    pub const UNKNOWN_MEMORY: &str = "PANTHOR-sparse-unknown-memory";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One finding: what (`text`), where (`objects`), and the rule (`id`).
#[derive(Clone, Debug)]
pub struct Message {
    pub severity: Severity,
    pub id: &'static str,
    pub text: String,
    pub objects: Vec<(vk::ObjectType, u64)>,
}

/// What one block is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The `VkDeviceMemory` handle, as a raw value.
    pub memory: u64,
    /// The layer's allocation number of that memory (a handle may be reused
    /// after a free; the serial never is). It picks the palette colour.
    pub serial: u64,
    /// Byte offset of the block in the memory.
    pub offset: u64,
}

/// A block of a resource: one of the opaque range, or one of a grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlockKey {
    Opaque(u64),
    /// Subresource index (into [`Resource::grids`]) and block index in it
    /// (x fastest, then y, then z).
    Grid(u32, u64),
}

/// The shape of one aspect's sparse requirements
/// (`VkSparseImageMemoryRequirements`).
#[derive(Clone, Debug, PartialEq)]
pub struct Aspect {
    pub aspect: vk::ImageAspectFlags,
    pub granularity: [u32; 3],
    pub flags: vk::SparseImageFormatFlags,
    pub mip_tail_first_lod: u32,
    pub mip_tail_size: u64,
    pub mip_tail_offset: u64,
    pub mip_tail_stride: u64,
}

impl Aspect {
    pub fn from_vk(r: &vk::SparseImageMemoryRequirements) -> Aspect {
        let g = r.format_properties.image_granularity;
        Aspect {
            aspect: r.format_properties.aspect_mask,
            granularity: [g.width.max(1), g.height.max(1), g.depth.max(1)],
            flags: r.format_properties.flags,
            mip_tail_first_lod: r.image_mip_tail_first_lod,
            mip_tail_size: r.image_mip_tail_size,
            mip_tail_offset: r.image_mip_tail_offset,
            mip_tail_stride: r.image_mip_tail_stride,
        }
    }

    pub fn single_mip_tail(&self) -> bool {
        self.flags
            .contains(vk::SparseImageFormatFlags::SINGLE_MIPTAIL)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Buffer {
        size: u64,
    },
    Image {
        image_type: vk::ImageType,
        format: vk::Format,
        extent: [u32; 3],
        mip_levels: u32,
        array_layers: u32,
        aspects: Vec<Aspect>,
    },
}

/// One grid: the blocks of one aspect / mip level / array layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub aspect: usize,
    pub mip: u32,
    pub layer: u32,
    /// Texel extent of the mip level.
    pub extent: [u32; 3],
    /// Blocks per axis.
    pub blocks: [u32; 3],
}

impl Grid {
    pub fn count(&self) -> u64 {
        self.blocks.iter().map(|&b| b as u64).product()
    }
}

/// Bind statistics of a resource.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// `vkQueueBindSparse` calls that touched the resource.
    pub bind_calls: u64,
    /// Bind structures (`VkSparseMemoryBind` / `VkSparseImageMemoryBind`).
    pub binds: u64,
    pub blocks_bound: u64,
    pub blocks_unbound: u64,
    /// Time of the calls that touched it (a call's whole time counts for
    /// every resource it touched).
    pub bind_time: Duration,
    /// Blocks bound and unbound per call, the last [`HISTORY`] calls.
    pub history: Vec<(u64, u64)>,
    /// Calls that touched it and that the driver refused (not counted
    /// above; their binds were rolled back in the model).
    pub failed_calls: u64,
}

/// A sparse buffer or image.
#[derive(Clone, Debug)]
pub struct Resource {
    pub handle: u64,
    pub serial: u64,
    pub name: Option<String>,
    pub kind: Kind,
    pub flags: u32,
    pub aliased: bool,
    pub residency: bool,
    /// `VkMemoryRequirements`: the opaque range is `size` bytes in blocks of
    /// `alignment` bytes, bindable to memory types in `memory_type_bits`.
    pub size: u64,
    pub block: u64,
    pub memory_type_bits: u32,
    pub grids: Vec<Grid>,
    /// Per aspect: the index of its first grid and its levels before the
    /// mip tail (grids go aspect by aspect, layer by layer, mip by mip).
    grid_base: Vec<(usize, u32)>,
    pub bound: Blocks,
    pub stats: Stats,
    /// What the call under way did to it, applied to `stats` when the
    /// driver accepts the call.
    call: CallCounts,
    in_call: bool,
}

/// Binds, blocks bound and blocks unbound by one call.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct CallCounts {
    binds: u64,
    bound: u64,
    unbound: u64,
}

impl Resource {
    /// A sparse buffer of `size` bytes with its memory requirements.
    pub fn buffer(
        handle: u64,
        flags: vk::BufferCreateFlags,
        size: u64,
        req: &vk::MemoryRequirements,
    ) -> Resource {
        Resource::new(
            handle,
            Kind::Buffer { size },
            flags.as_raw(),
            flags.contains(vk::BufferCreateFlags::SPARSE_ALIASED),
            flags.contains(vk::BufferCreateFlags::SPARSE_RESIDENCY),
            req,
        )
    }

    /// A sparse image from its create info and requirements.
    pub fn image(
        handle: u64,
        info: &vk::ImageCreateInfo,
        req: &vk::MemoryRequirements,
        sparse: &[vk::SparseImageMemoryRequirements],
    ) -> Resource {
        let aspects: Vec<Aspect> = sparse.iter().map(Aspect::from_vk).collect();
        let extent = [info.extent.width, info.extent.height, info.extent.depth];
        let mut r = Resource::new(
            handle,
            Kind::Image {
                image_type: info.image_type,
                format: info.format,
                extent,
                mip_levels: info.mip_levels.max(1),
                array_layers: info.array_layers.max(1),
                aspects: aspects.clone(),
            },
            info.flags.as_raw(),
            info.flags.contains(vk::ImageCreateFlags::SPARSE_ALIASED),
            info.flags.contains(vk::ImageCreateFlags::SPARSE_RESIDENCY),
            req,
        );
        if r.residency {
            for (a, asp) in aspects.iter().enumerate() {
                if asp.aspect.contains(vk::ImageAspectFlags::METADATA) {
                    r.grid_base.push((r.grids.len(), 0));
                    continue;
                }
                let levels = asp.mip_tail_first_lod.min(info.mip_levels.max(1));
                r.grid_base.push((r.grids.len(), levels));
                for layer in 0..info.array_layers.max(1) {
                    for mip in 0..levels {
                        let e = mip_extent(extent, mip);
                        let blocks = [0, 1, 2].map(|i| e[i].div_ceil(asp.granularity[i]));
                        r.grids.push(Grid {
                            aspect: a,
                            mip,
                            layer,
                            extent: e,
                            blocks,
                        });
                    }
                }
            }
        }
        r
    }

    fn new(
        handle: u64,
        kind: Kind,
        flags: u32,
        aliased: bool,
        residency: bool,
        req: &vk::MemoryRequirements,
    ) -> Resource {
        Resource {
            handle,
            serial: 0,
            name: None,
            kind,
            flags,
            aliased,
            residency,
            size: req.size,
            block: req.alignment.max(1),
            memory_type_bits: req.memory_type_bits,
            grids: Vec::new(),
            grid_base: Vec::new(),
            bound: Blocks::new(req.size.div_ceil(req.alignment.max(1))),
            stats: Stats::default(),
            call: CallCounts::default(),
            in_call: false,
        }
    }

    pub fn is_image(&self) -> bool {
        matches!(self.kind, Kind::Image { .. })
    }

    pub fn object_type(&self) -> vk::ObjectType {
        if self.is_image() {
            vk::ObjectType::IMAGE
        } else {
            vk::ObjectType::BUFFER
        }
    }

    /// How the messages and reports call it: its debug name, else
    /// `buffer#N` / `image#N`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None if self.is_image() => format!("image#{}", self.serial),
            None => format!("buffer#{}", self.serial),
        }
    }

    /// Blocks of the opaque range.
    pub fn opaque_blocks(&self) -> u64 {
        self.size.div_ceil(self.block)
    }

    /// Every block there is to bind: the opaque range plus the grids.
    pub fn total_blocks(&self) -> u64 {
        self.opaque_blocks() + self.grids.iter().map(Grid::count).sum::<u64>()
    }

    pub fn bytes_committed(&self) -> u64 {
        self.bound.len() as u64 * self.block
    }

    fn grid_index(&self, aspect: usize, mip: u32, layer: u32) -> Option<usize> {
        let &(base, levels) = self.grid_base.get(aspect)?;
        let i = base + layer as usize * levels as usize + mip as usize;
        (mip < levels && self.grids.get(i)?.layer == layer).then_some(i)
    }

    /// The mip-tail regions of the opaque range, per aspect:
    /// (first offset, size, stride, count).
    fn tails(&self) -> impl Iterator<Item = (u64, u64, u64, u64)> + '_ {
        let (aspects, layers): (&[Aspect], u64) = match &self.kind {
            Kind::Image {
                aspects,
                array_layers,
                ..
            } => (aspects, *array_layers as u64),
            Kind::Buffer { .. } => (&[], 0),
        };
        aspects
            .iter()
            .filter(|a| a.mip_tail_size > 0)
            .map(move |a| {
                let n = if a.single_mip_tail() { 1 } else { layers };
                (a.mip_tail_offset, a.mip_tail_size, a.mip_tail_stride, n)
            })
    }
}

/// The extent of mip level `mip`.
pub fn mip_extent(e: [u32; 3], mip: u32) -> [u32; 3] {
    e.map(|v| v.checked_shr(mip).unwrap_or(0).max(1))
}

/// Device-wide totals.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub bind_calls: u64,
    /// Calls the driver refused (their binds are not in the model).
    pub failed_calls: u64,
    pub bind_time: Duration,
    pub messages: BTreeMap<&'static str, u64>,
}

/// An opaque bind (`VkSparseMemoryBind`), as plain values.
#[derive(Clone, Copy, Debug)]
pub struct OpaqueBind {
    pub resource_offset: u64,
    pub size: u64,
    pub memory: u64,
    pub memory_offset: u64,
    pub flags: vk::SparseMemoryBindFlags,
}

impl From<&vk::SparseMemoryBind> for OpaqueBind {
    fn from(b: &vk::SparseMemoryBind) -> Self {
        OpaqueBind {
            resource_offset: b.resource_offset,
            size: b.size,
            memory: vk::Handle::as_raw(b.memory),
            memory_offset: b.memory_offset,
            flags: b.flags,
        }
    }
}

/// An image block bind (`VkSparseImageMemoryBind`), as plain values.
#[derive(Clone, Copy, Debug)]
pub struct ImageBind {
    pub aspect: vk::ImageAspectFlags,
    pub mip: u32,
    pub layer: u32,
    pub offset: [i32; 3],
    pub extent: [u32; 3],
    pub memory: u64,
    pub memory_offset: u64,
}

impl From<&vk::SparseImageMemoryBind> for ImageBind {
    fn from(b: &vk::SparseImageMemoryBind) -> Self {
        ImageBind {
            aspect: b.subresource.aspect_mask,
            mip: b.subresource.mip_level,
            layer: b.subresource.array_layer,
            offset: [b.offset.x, b.offset.y, b.offset.z],
            extent: [b.extent.width, b.extent.height, b.extent.depth],
            memory: vk::Handle::as_raw(b.memory),
            memory_offset: b.memory_offset,
        }
    }
}

/// What the checks of a bind need to know of its resource.
#[derive(Clone, Copy)]
struct Shape {
    block: u64,
    size: u64,
    is_image: bool,
    residency: bool,
    memory_type_bits: u32,
}

/// The first aliasing conflict of a bind, and how many blocks had one.
#[derive(Default)]
struct Aliases {
    count: u64,
    first: Option<(u64, BlockKey, u64)>,
}

/// The model of one device.
#[derive(Debug, Default)]
pub struct Tracker {
    pub resources: Map<u64, Resource>,
    pub memories: Map<u64, Memory>,
    /// Resources destroyed so far, kept for the report (without blocks).
    pub destroyed: Vec<Resource>,
    pub totals: Totals,
    next_resource: u64,
    next_memory: u64,
    /// Resources touched by the call under way.
    touched: Vec<u64>,
    /// The blocks the call under way changed, with what they were bound to
    /// before, to roll back when the driver refuses the call.
    undo: Vec<(u64, BlockKey, Option<Binding>)>,
}

fn msg(
    severity: Severity,
    id: &'static str,
    text: String,
    objects: Vec<(vk::ObjectType, u64)>,
) -> Message {
    Message {
        severity,
        id,
        text,
        objects,
    }
}

fn mem_obj(m: u64) -> (vk::ObjectType, u64) {
    (vk::ObjectType::DEVICE_MEMORY, m)
}

/// Binds (or unbinds, `binding == None`) block `key` of `r` (handle `res`)
/// in the model: the resource's map, the memory's index, the undo log;
/// counts conflicts with what is already on that memory range.
fn set_block(
    r: &mut Resource,
    memories: &mut Map<u64, Memory>,
    undo: &mut Vec<(u64, BlockKey, Option<Binding>)>,
    res: u64,
    key: BlockKey,
    binding: Option<Binding>,
    aliases: &mut Aliases,
) {
    let len = r.block;
    let old = match binding {
        Some(b) => r.bound.insert(key, b),
        None => r.bound.remove(&key),
    };
    if binding.is_some() {
        r.call.bound += 1;
    } else if old.is_some() {
        r.call.unbound += 1;
    } else {
        return;
    }
    undo.push((res, key, old));
    if let Some(o) = old {
        if let Some(mem) = memories.get_mut(&o.memory) {
            if mem.serial == o.serial {
                mem.remove(o.offset, len, res, key);
            }
        }
    }
    let Some(b) = binding else {
        return;
    };
    let Some(mem) = memories.get_mut(&b.memory) else {
        return;
    };
    let aliased = r.aliased;
    mem.overlapping(b.offset, len, |off, other| {
        if !(aliased && other.aliased) {
            aliases.count += 1;
            if aliases.first.is_none() {
                aliases.first = Some((other.res, other.key, off));
            }
        }
    });
    mem.insert(
        b.offset,
        Owner {
            res,
            key,
            len,
            aliased,
        },
    );
}

impl Tracker {
    pub fn add_memory(&mut self, handle: u64, size: u64, type_index: u32) {
        let serial = self.next_memory;
        self.next_memory += 1;
        self.memories
            .insert(handle, Memory::new(serial, size, type_index));
    }

    /// `vkFreeMemory`: warns when sparse blocks are still bound to it. The
    /// blocks keep their binding (to a dead memory object) in the model,
    /// as they do on the GPU until rebound.
    pub fn free_memory(&mut self, handle: u64, out: &mut Vec<Message>) {
        let Some(mem) = self.memories.remove(&handle) else {
            return;
        };
        if mem.is_empty() {
            return;
        }
        let mut per_resource: BTreeMap<u64, u64> = BTreeMap::new();
        for (_, o) in mem.owners() {
            *per_resource.entry(o.res).or_default() += 1;
        }
        let mut objects = vec![mem_obj(handle)];
        let mut names = Vec::new();
        for (res, n) in &per_resource {
            if let Some(r) = self.resources.get(res) {
                objects.push((r.object_type(), *res));
                names.push(format!("{} ({} blocks)", r.label(), n));
            }
        }
        self.emit(
            out,
            msg(
                Severity::Warning,
                rule::MEMORY_FREED_WHILE_BOUND,
                format!(
                    "vkFreeMemory: memory #{} (0x{:x}) is still bound to sparse blocks of {}; \
                     rule: unbind (or rebind) every sparse block on a memory object before \
                     freeing it, or accesses to those blocks use freed memory",
                    mem.serial,
                    handle,
                    names.join(", ")
                ),
                objects,
            ),
        );
    }

    pub fn add_resource(&mut self, mut r: Resource) {
        r.serial = self.next_resource;
        self.next_resource += 1;
        self.resources.insert(r.handle, r);
    }

    /// `vkSetDebugUtilsObjectNameEXT` on a tracked resource.
    pub fn set_name(&mut self, handle: u64, name: String) {
        if let Some(r) = self.resources.get_mut(&handle) {
            r.name = Some(name);
        }
    }

    /// `vkDestroyBuffer` / `vkDestroyImage`: warns when blocks are still
    /// bound, and releases their memory ranges.
    pub fn destroy_resource(&mut self, handle: u64, out: &mut Vec<Message>) {
        let Some(mut r) = self.resources.remove(&handle) else {
            return;
        };
        if !r.bound.is_empty() {
            let mut per_memory: BTreeMap<u64, u64> = BTreeMap::new();
            for (_, b) in r.bound.iter() {
                *per_memory.entry(b.memory).or_default() += 1;
            }
            let mut objects = vec![(r.object_type(), handle)];
            objects.extend(per_memory.keys().map(|&m| mem_obj(m)));
            self.emit(
                out,
                msg(
                    Severity::Warning,
                    rule::DESTROYED_WHILE_BOUND,
                    format!(
                        "{}: {} is destroyed with {} blocks still bound (on {} memory objects); \
                         rule: unbind sparse blocks (vkQueueBindSparse with VK_NULL_HANDLE memory) \
                         before destroying the resource, so that the memory's use is explicit",
                        if r.is_image() {
                            "vkDestroyImage"
                        } else {
                            "vkDestroyBuffer"
                        },
                        r.label(),
                        r.bound.len(),
                        per_memory.len()
                    ),
                    objects,
                ),
            );
            for (key, b) in r.bound.take_all() {
                if let Some(mem) = self.memories.get_mut(&b.memory) {
                    if mem.serial == b.serial {
                        mem.remove(b.offset, r.block, handle, key);
                    }
                }
            }
        }
        self.destroyed.push(r);
    }

    fn emit(&mut self, out: &mut Vec<Message>, m: Message) {
        *self.totals.messages.entry(m.id).or_default() += 1;
        out.push(m);
    }

    /// Starts a `vkQueueBindSparse` call.
    pub fn begin_call(&mut self) {
        self.touched.clear();
        self.undo.clear();
    }

    /// Ends the call: when the driver accepted it (`accepted`), the
    /// per-resource statistics take it; otherwise its binds are rolled
    /// back, as the driver applied none of them.
    pub fn end_call(&mut self, elapsed: Duration, accepted: bool) {
        self.totals.bind_calls += 1;
        self.totals.bind_time += elapsed;
        if !accepted {
            self.totals.failed_calls += 1;
            for (res, key, old) in std::mem::take(&mut self.undo).into_iter().rev() {
                self.restore(res, key, old);
            }
        }
        self.undo.clear();
        for h in std::mem::take(&mut self.touched) {
            if let Some(r) = self.resources.get_mut(&h) {
                let c = std::mem::take(&mut r.call);
                r.in_call = false;
                if !accepted {
                    r.stats.failed_calls += 1;
                    continue;
                }
                r.stats.bind_calls += 1;
                r.stats.binds += c.binds;
                r.stats.blocks_bound += c.bound;
                r.stats.blocks_unbound += c.unbound;
                r.stats.bind_time += elapsed;
                if r.stats.history.len() == HISTORY {
                    r.stats.history.remove(0);
                }
                r.stats.history.push((c.bound, c.unbound));
            }
        }
    }

    /// Puts block `key` of `res` back to `old` (rollback).
    fn restore(&mut self, res: u64, key: BlockKey, old: Option<Binding>) {
        let Some(r) = self.resources.get_mut(&res) else {
            return;
        };
        let current = match old {
            Some(o) => r.bound.insert(key, o),
            None => r.bound.remove(&key),
        };
        if let Some(c) = current {
            if let Some(mem) = self.memories.get_mut(&c.memory) {
                if mem.serial == c.serial {
                    mem.remove(c.offset, r.block, res, key);
                }
            }
        }
        if let Some(o) = old {
            if let Some(mem) = self.memories.get_mut(&o.memory) {
                if mem.serial == o.serial {
                    let owner = Owner {
                        res,
                        key,
                        len: r.block,
                        aliased: r.aliased,
                    };
                    mem.insert(o.offset, owner);
                }
            }
        }
    }

    /// Counts a bind of `res` in the call under way; returns what the
    /// checks need of it, or `None` (and a message) when the resource is
    /// not a live sparse one.
    fn touch(
        &mut self,
        handle: u64,
        image: bool,
        what: &str,
        out: &mut Vec<Message>,
    ) -> Option<Shape> {
        let Some(r) = self.resources.get_mut(&handle) else {
            let ty = if image {
                vk::ObjectType::IMAGE
            } else {
                vk::ObjectType::BUFFER
            };
            self.emit(
                out,
                msg(
                    Severity::Error,
                    rule::NOT_SPARSE,
                    format!(
                        "vkQueueBindSparse: {what} binds {} 0x{handle:x}, which was not created \
                         with VK_{}_CREATE_SPARSE_BINDING_BIT (or was destroyed); rule: only live \
                         sparse resources take sparse binds",
                        if image { "image" } else { "buffer" },
                        if image { "IMAGE" } else { "BUFFER" },
                    ),
                    vec![(ty, handle)],
                ),
            );
            return None;
        };
        r.call.binds += 1;
        if !r.in_call {
            r.in_call = true;
            self.touched.push(handle);
        }
        Some(Shape {
            block: r.block,
            size: r.size,
            is_image: r.is_image(),
            residency: r.residency,
            memory_type_bits: r.memory_type_bits,
        })
    }

    /// Checks the memory range `(memory, offset, len)` a bind of `res`
    /// (allowed memory types `bits`) uses: known, range inside, type
    /// allowed. Returns the memory's serial, or `None` when the bind cannot
    /// be applied (unknown memory, range outside it). `where_` describes the
    /// bind, for messages only.
    fn check_memory(
        &mut self,
        res: u64,
        bits: u32,
        (memory, offset, len): (u64, u64, u64),
        where_: &dyn Fn() -> String,
        out: &mut Vec<Message>,
    ) -> Option<u64> {
        let mem = self.memories.get(&memory);
        let inside = mem.is_some_and(|m| offset.checked_add(len).is_some_and(|e| e <= m.size));
        let type_ok = mem.is_some_and(|m| bits & 1u32.checked_shl(m.type_index).unwrap_or(0) != 0);
        if inside && type_ok {
            return mem.map(|m| m.serial);
        }
        let r = &self.resources[&res];
        let (label, ty) = (r.label(), r.object_type());
        let objects = vec![(ty, res), mem_obj(memory)];
        let Some(mem) = mem else {
            self.emit(
                out,
                msg(
                    Severity::Error,
                    rule::UNKNOWN_MEMORY,
                    format!(
                        "vkQueueBindSparse: {} of {label} binds memory 0x{memory:x}, which is not \
                         a live VkDeviceMemory of this device; rule: bind only allocated memory",
                        where_()
                    ),
                    objects,
                ),
            );
            return None;
        };
        let (serial, size, type_index) = (mem.serial, mem.size, mem.type_index);
        if !inside {
            self.emit(
                out,
                msg(
                    Severity::Error,
                    rule::MEMORY_OUT_OF_BOUNDS,
                    format!(
                        "vkQueueBindSparse: {} of {label} uses memory #{serial} bytes \
                         [0x{offset:x}, +0x{len:x}) but the memory is 0x{size:x} bytes; rule: \
                         memoryOffset + size must not exceed the allocation size",
                        where_()
                    ),
                    objects.clone(),
                ),
            );
        }
        if !type_ok {
            self.emit(
                out,
                msg(
                    Severity::Error,
                    rule::MEMORY_TYPE,
                    format!(
                        "vkQueueBindSparse: {} of {label} binds memory #{serial} of memory type \
                         {type_index}, but the resource's memoryTypeBits are 0x{bits:x}; rule: the \
                         memory type must be one that VkMemoryRequirements allows",
                        where_()
                    ),
                    objects,
                ),
            );
        }
        inside.then_some(serial)
    }

    fn alias_message(
        &mut self,
        res: u64,
        where_: &dyn Fn() -> String,
        memory: u64,
        aliases: Aliases,
        out: &mut Vec<Message>,
    ) {
        let Some((other, okey, off)) = aliases.first else {
            return;
        };
        let r = &self.resources[&res];
        let (label, ty, aliased) = (r.label(), r.object_type(), r.aliased);
        let (olabel, oty) = self
            .resources
            .get(&other)
            .map(|o| (o.label(), o.object_type()))
            .unwrap_or_else(|| (format!("0x{other:x}"), vk::ObjectType::UNKNOWN));
        let serial = self.memories.get(&memory).map_or(0, |m| m.serial);
        let whose = if other == res {
            format!("another block ({}) of the same resource", describe(okey))
        } else {
            format!("{olabel} ({})", describe(okey))
        };
        let missing = if other == res || !aliased {
            label.clone()
        } else {
            olabel.clone()
        };
        self.emit(
            out,
            msg(
                Severity::Error,
                rule::ALIASING,
                format!(
                    "vkQueueBindSparse: {} of {label} binds {} block(s) on memory #{serial} \
                     ranges already bound to {whose} at memory offset 0x{off:x}, but {missing} \
                     was not created with SPARSE_ALIASED; rule: sparse blocks may share memory \
                     only when every resource involved has the SPARSE_ALIASED flag",
                    where_(),
                    aliases.count
                ),
                vec![(ty, res), (oty, other), mem_obj(memory)],
            ),
        );
    }

    /// Reports a rule broken by the bind of `res` described by `where_`.
    fn report(
        &mut self,
        res: u64,
        id: &'static str,
        where_: &dyn Fn() -> String,
        what: String,
        out: &mut Vec<Message>,
    ) {
        let r = &self.resources[&res];
        let (label, obj) = (r.label(), vec![(r.object_type(), res)]);
        let text = format!("vkQueueBindSparse: {} of {label} {what}", where_());
        self.emit(out, msg(Severity::Error, id, text, obj));
    }

    /// One `VkSparseMemoryBind` of a buffer (`image == false`) or an
    /// image's opaque range.
    pub fn opaque_bind(&mut self, res: u64, image: bool, b: &OpaqueBind, out: &mut Vec<Message>) {
        let what = if image {
            "VkSparseImageOpaqueMemoryBindInfo"
        } else {
            "VkSparseBufferMemoryBindInfo"
        };
        let Some(shape) = self.touch(res, image, what, out) else {
            return;
        };
        let Shape {
            block,
            size,
            is_image,
            residency,
            memory_type_bits: bits,
        } = shape;
        let where_ = || format!("bind [0x{:x}, +0x{:x})", b.resource_offset, b.size);
        let end = b.resource_offset.checked_add(b.size);
        let misaligned = b.resource_offset % block != 0 || b.memory_offset % block != 0;
        let reaches_end = is_image && end == Some(size);
        let bad_size = b.size == 0 || (b.size % block != 0 && !reaches_end);
        let outside = end.is_none_or(|e| e > size);
        let end = end.unwrap_or(u64::MAX).min(size);
        // A bind of the wrong shape is reported and not applied: what the
        // driver makes of it is undefined.
        if misaligned {
            let what = format!(
                "has resourceOffset 0x{:x} and memoryOffset 0x{:x}, which must be multiples of \
                 the sparse block size 0x{block:x} (VkMemoryRequirements::alignment); rule: \
                 sparse binds cover whole blocks",
                b.resource_offset, b.memory_offset
            );
            self.report(res, rule::OFFSET_ALIGNMENT, &where_, what, out);
        }
        if bad_size {
            let what = format!(
                "has size 0x{:x}, not a non-zero multiple of the sparse block size 0x{block:x}; \
                 rule: sparse binds cover whole blocks",
                b.size
            );
            self.report(res, rule::SIZE_ALIGNMENT, &where_, what, out);
        }
        if outside {
            let what = format!(
                "ends past the resource's 0x{size:x} bytes (VkMemoryRequirements::size); rule: \
                 resourceOffset + size must lie inside the resource"
            );
            self.report(res, rule::OUT_OF_BOUNDS, &where_, what, out);
        }
        if residency {
            let problems: Vec<String> = self.resources[&res]
                .tails()
                .filter_map(|(first, tsize, stride, n)| {
                    let p = tail_problem(b.resource_offset, end, first, tsize, stride, n)?;
                    Some(format!(
                        "{p}; the mip tails are at imageMipTailOffset 0x{first:x} + layer * \
                         imageMipTailStride 0x{stride:x}, each 0x{tsize:x} bytes, for {n} \
                         layer(s); rule: a mip-tail bind must lie inside one mip tail"
                    ))
                })
                .collect();
            for what in problems {
                self.report(res, rule::MIP_TAIL, &where_, what, out);
            }
        }
        if b.flags.contains(vk::SparseMemoryBindFlags::METADATA) && is_image {
            let has_metadata = match &self.resources[&res].kind {
                Kind::Image { aspects, .. } => aspects
                    .iter()
                    .any(|a| a.aspect.contains(vk::ImageAspectFlags::METADATA)),
                Kind::Buffer { .. } => false,
            };
            if !has_metadata {
                let what = "has VK_SPARSE_MEMORY_BIND_METADATA_BIT but the image has no metadata \
                            aspect; rule: metadata binds go to the metadata mip tail"
                    .to_string();
                self.report(res, rule::MIP_TAIL, &where_, what, out);
            }
        }
        if misaligned || bad_size || outside {
            return;
        }
        let serial = if b.memory == 0 {
            None
        } else {
            let len = end - b.resource_offset;
            match self.check_memory(res, bits, (b.memory, b.memory_offset, len), &where_, out) {
                Some(s) => Some(s),
                None => return,
            }
        };
        let first = b.resource_offset / block;
        let last = end.div_ceil(block);
        let mut aliases = Aliases::default();
        let Tracker {
            resources,
            memories,
            undo,
            ..
        } = self;
        let r = resources.get_mut(&res).expect("touched resource");
        match serial {
            Some(serial) => {
                for i in first..last {
                    let binding = Binding {
                        memory: b.memory,
                        serial,
                        offset: b.memory_offset + (i - first) * block,
                    };
                    let key = BlockKey::Opaque(i);
                    set_block(r, memories, undo, res, key, Some(binding), &mut aliases);
                }
                self.alias_message(res, &where_, b.memory, aliases, out);
            }
            // Unbinding a range no larger than what is bound: block by
            // block (unbound ones cost a lookup); else only the bound ones.
            None if last - first <= r.bound.len() as u64 => {
                for i in first..last {
                    let key = BlockKey::Opaque(i);
                    set_block(r, memories, undo, res, key, None, &mut aliases);
                }
            }
            None => {
                for key in r.bound.opaque_in(first, last) {
                    set_block(r, memories, undo, res, key, None, &mut aliases);
                }
            }
        }
    }

    /// One `VkSparseImageMemoryBind`.
    pub fn image_bind(&mut self, res: u64, b: &ImageBind, out: &mut Vec<Message>) {
        let Some(Shape {
            memory_type_bits: bits,
            ..
        }) = self.touch(res, true, "VkSparseImageMemoryBindInfo", out)
        else {
            return;
        };
        let r = &self.resources[&res];
        let block = r.block;
        let where_ = || {
            format!(
                "image bind (aspect {:?}, mip {}, layer {}, offset {:?}, extent {:?})",
                b.aspect, b.mip, b.layer, b.offset, b.extent
            )
        };
        let Kind::Image {
            mip_levels,
            array_layers,
            aspects,
            ..
        } = &r.kind
        else {
            return;
        };
        let (mip_levels, array_layers) = (*mip_levels, *array_layers);
        if !r.residency {
            let what = "is an image block bind, but the image was not created with \
                        VK_IMAGE_CREATE_SPARSE_RESIDENCY_BIT; rule: image block binds need sparse \
                        residency (bind opaquely otherwise)"
                .to_string();
            self.report(res, rule::NOT_SPARSE, &where_, what, out);
            return;
        }
        let Some(a) = aspects.iter().position(|a| a.aspect.intersects(b.aspect)) else {
            let what = "names an aspect without sparse requirements; rule: the subresource must \
                        exist"
                .to_string();
            self.report(res, rule::OUT_OF_BOUNDS, &where_, what, out);
            return;
        };
        let (g, tail_lod) = (aspects[a].granularity, aspects[a].mip_tail_first_lod);
        if b.mip >= mip_levels || b.layer >= array_layers {
            let what = format!(
                "names a subresource the image does not have ({mip_levels} mip levels, \
                 {array_layers} layers); rule: the subresource must exist"
            );
            self.report(res, rule::OUT_OF_BOUNDS, &where_, what, out);
            return;
        }
        if b.mip >= tail_lod {
            let what = format!(
                "binds mip {} block by block, but it is in the mip tail (imageMipTailFirstLod \
                 {tail_lod}); rule: mip-tail levels are bound with an opaque bind at \
                 imageMipTailOffset + layer * imageMipTailStride",
                b.mip
            );
            self.report(res, rule::MIP_TAIL, &where_, what, out);
            return;
        }
        let Some(gi) = r.grid_index(a, b.mip, b.layer) else {
            return;
        };
        let (extent, blocks) = (r.grids[gi].extent, r.grids[gi].blocks);
        let neg = b.offset.iter().any(|&o| o < 0);
        let off = b.offset.map(|o| o.max(0) as u64);
        let ext = extent.map(u64::from);
        let bext = b.extent.map(u64::from);
        let misaligned =
            neg || (0..3).any(|i| off[i] % g[i] as u64 != 0) || b.memory_offset % block != 0;
        let bad_size = (0..3)
            .any(|i| bext[i] == 0 || (bext[i] % g[i] as u64 != 0 && off[i] + bext[i] != ext[i]));
        let outside = (0..3).any(|i| off[i] + bext[i] > ext[i]);
        if misaligned {
            let what = format!(
                "has an offset that is not a multiple of the sparse block shape {g:?} \
                 (imageGranularity), or a memoryOffset 0x{:x} that is not a multiple of the block \
                 size 0x{block:x}; rule: sparse binds cover whole blocks",
                b.memory_offset
            );
            self.report(res, rule::OFFSET_ALIGNMENT, &where_, what, out);
        }
        if bad_size {
            let what = format!(
                "has an extent that is not a non-zero multiple of the sparse block shape {g:?} \
                 and does not reach the edge of the mip level {extent:?}; rule: sparse binds \
                 cover whole blocks"
            );
            self.report(res, rule::SIZE_ALIGNMENT, &where_, what, out);
        }
        if outside {
            let what = format!(
                "ends past the mip level's extent {extent:?}; rule: offset + extent must lie \
                 inside the subresource"
            );
            self.report(res, rule::OUT_OF_BOUNDS, &where_, what, out);
        }
        if misaligned || bad_size || outside {
            return;
        }
        let lo = [0, 1, 2].map(|i| off[i] / g[i] as u64);
        let hi = [0, 1, 2].map(|i| (off[i] + bext[i]).div_ceil(g[i] as u64));
        let n: u64 = (0..3).map(|i| hi[i] - lo[i]).product();
        let serial = if b.memory == 0 {
            None
        } else {
            let len = n.saturating_mul(block);
            match self.check_memory(res, bits, (b.memory, b.memory_offset, len), &where_, out) {
                Some(s) => Some(s),
                None => return,
            }
        };
        let mut aliases = Aliases::default();
        let Tracker {
            resources,
            memories,
            undo,
            ..
        } = self;
        let r = resources.get_mut(&res).expect("touched resource");
        let mut i = 0u64;
        let [bw, bh, _] = blocks.map(u64::from);
        for z in lo[2]..hi[2] {
            for y in lo[1]..hi[1] {
                for x in lo[0]..hi[0] {
                    let key = BlockKey::Grid(gi as u32, (z * bh + y) * bw + x);
                    let binding = serial.map(|serial| Binding {
                        memory: b.memory,
                        serial,
                        offset: b.memory_offset + i * block,
                    });
                    set_block(r, memories, undo, res, key, binding, &mut aliases);
                    i += 1;
                }
            }
        }
        self.alias_message(res, &where_, b.memory, aliases, out);
    }
}

/// Describes a block for a message.
fn describe(k: BlockKey) -> String {
    match k {
        BlockKey::Opaque(i) => format!("opaque block {i}"),
        BlockKey::Grid(g, i) => format!("grid {g} block {i}"),
    }
}

/// Whether the bind `[start, end)` of an image with per-aspect mip tails at
/// `first + l * stride` (`size` bytes each, `n` of them) hits the tails
/// area without fitting the tails: part of it in a gap between two tails,
/// or past the last tail. Binding several tails at once is fine where they
/// are contiguous.
///
/// Worked example: tails of 0x10000 bytes at 0x100000 with a stride of
/// 0x20000 for 2 layers: the area is [0x100000, 0x130000); a bind at
/// 0x110000 (layer 0's tail + one tail size, a stride mistaken for the size)
/// lands in the gap [0x110000, 0x120000) and is reported.
fn tail_problem(
    start: u64,
    end: u64,
    first: u64,
    size: u64,
    stride: u64,
    n: u64,
) -> Option<String> {
    if n == 0 || size == 0 {
        return None;
    }
    let stride = if n == 1 { size.max(stride) } else { stride };
    let area_end = first + (n - 1) * stride + size;
    let (a, b) = (start.max(first), end.min(area_end));
    if a >= b {
        return None;
    }
    // A bind that starts before the tails covers the image opaquely.
    if start < first {
        return None;
    }
    let l0 = (a - first) / stride;
    let l1 = (b - 1 - first) / stride;
    for l in l0..=l1.min(n - 1) {
        let tail_end = first + l * stride + size;
        let next = first + (l + 1) * stride;
        if l + 1 < n && b > tail_end && a < next && tail_end < next {
            return Some(format!(
                "reaches the gap [0x{tail_end:x}, 0x{next:x}) after layer {l}'s mip tail"
            ));
        }
    }
    if end > area_end {
        return Some("runs past the last mip tail".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: u64 = 64 << 10;

    fn req(size: u64) -> vk::MemoryRequirements {
        vk::MemoryRequirements {
            size,
            alignment: B,
            memory_type_bits: 0b11,
        }
    }

    fn buffer(t: &mut Tracker, h: u64, blocks: u64, flags: vk::BufferCreateFlags) {
        t.add_resource(Resource::buffer(h, flags, blocks * B, &req(blocks * B)));
    }

    fn bind(off: u64, size: u64, mem: u64, mo: u64) -> OpaqueBind {
        OpaqueBind {
            resource_offset: off,
            size,
            memory: mem,
            memory_offset: mo,
            flags: vk::SparseMemoryBindFlags::empty(),
        }
    }

    fn ids(out: &[Message]) -> Vec<&'static str> {
        out.iter().map(|m| m.id).collect()
    }

    const SPARSE: vk::BufferCreateFlags = vk::BufferCreateFlags::from_raw(
        vk::BufferCreateFlags::SPARSE_BINDING.as_raw()
            | vk::BufferCreateFlags::SPARSE_RESIDENCY.as_raw(),
    );

    #[test]
    fn good_binds_are_silent_and_counted() {
        let mut t = Tracker::default();
        buffer(&mut t, 1, 16, SPARSE);
        t.add_memory(100, 8 * B, 0);
        let mut out = Vec::new();
        t.begin_call();
        t.opaque_bind(1, false, &bind(0, 4 * B, 100, 0), &mut out);
        t.opaque_bind(1, false, &bind(8 * B, 4 * B, 100, 4 * B), &mut out);
        t.end_call(Duration::from_micros(5), true);
        t.begin_call();
        t.opaque_bind(1, false, &bind(2 * B, B, 0, 0), &mut out);
        t.end_call(Duration::from_micros(5), true);
        assert!(out.is_empty(), "{out:?}");
        let r = &t.resources[&1];
        assert_eq!(r.bound.len(), 7);
        assert_eq!(r.stats.bind_calls, 2);
        assert_eq!(r.stats.history, vec![(8, 0), (0, 1)]);
        assert_eq!(r.bound.get(&BlockKey::Opaque(9)).unwrap().offset, 5 * B);
        assert_eq!(t.memories[&100].len(), 7);
    }

    #[test]
    fn calls_the_driver_refuses_are_rolled_back() {
        let mut t = Tracker::default();
        buffer(&mut t, 1, 8, SPARSE);
        t.add_memory(100, 8 * B, 0);
        let mut out = Vec::new();
        t.begin_call();
        t.opaque_bind(1, false, &bind(0, 2 * B, 100, 0), &mut out);
        t.end_call(Duration::from_micros(1), true);
        t.begin_call();
        t.opaque_bind(1, false, &bind(B, 2 * B, 100, 4 * B), &mut out);
        t.opaque_bind(1, false, &bind(0, B, 0, 0), &mut out);
        t.end_call(Duration::from_micros(1), false);
        assert!(out.is_empty(), "{out:?}");
        let r = &t.resources[&1];
        let bound: Vec<_> = (0..8)
            .filter_map(|i| r.bound.get(&BlockKey::Opaque(i)).map(|b| (i, b.offset)))
            .collect();
        assert_eq!(bound, [(0, 0), (1, B)]);
        assert_eq!(t.memories[&100].len(), 2);
        assert_eq!((r.stats.bind_calls, r.stats.failed_calls), (1, 1));
        assert_eq!(r.stats.history, [(2, 0)]);
        assert_eq!((t.totals.bind_calls, t.totals.failed_calls), (2, 1));
        // The memory index is back too: rebinding block 1's memory elsewhere
        // in an unaliased buffer is reported.
        t.opaque_bind(1, false, &bind(5 * B, B, 100, B), &mut out);
        assert_eq!(ids(&out), [rule::ALIASING]);
    }

    #[test]
    fn misaligned_and_out_of_bounds_binds_are_reported() {
        let mut t = Tracker::default();
        // Aliased, so that reusing memory offsets below is not a finding.
        buffer(&mut t, 1, 4, SPARSE | vk::BufferCreateFlags::SPARSE_ALIASED);
        t.add_memory(100, 4 * B, 0);
        let mut out = Vec::new();
        t.opaque_bind(1, false, &bind(4096, B, 100, 0), &mut out);
        assert_eq!(ids(&out), [rule::OFFSET_ALIGNMENT]);
        out.clear();
        t.opaque_bind(1, false, &bind(0, B + 4096, 100, 0), &mut out);
        assert_eq!(ids(&out), [rule::SIZE_ALIGNMENT]);
        out.clear();
        t.opaque_bind(1, false, &bind(3 * B, 2 * B, 100, 0), &mut out);
        assert_eq!(ids(&out), [rule::OUT_OF_BOUNDS]);
        out.clear();
        t.opaque_bind(1, false, &bind(0, 2 * B, 100, 3 * B), &mut out);
        assert_eq!(ids(&out), [rule::MEMORY_OUT_OF_BOUNDS]);
    }

    #[test]
    fn memory_type_must_be_allowed() {
        let mut t = Tracker::default();
        buffer(&mut t, 1, 4, SPARSE);
        t.add_memory(100, 4 * B, 2);
        let mut out = Vec::new();
        t.opaque_bind(1, false, &bind(0, B, 100, 0), &mut out);
        assert_eq!(ids(&out), [rule::MEMORY_TYPE]);
    }

    #[test]
    fn aliasing_needs_the_flag_on_both() {
        let mut t = Tracker::default();
        buffer(&mut t, 1, 4, SPARSE);
        buffer(&mut t, 2, 4, SPARSE | vk::BufferCreateFlags::SPARSE_ALIASED);
        buffer(&mut t, 3, 4, SPARSE | vk::BufferCreateFlags::SPARSE_ALIASED);
        t.add_memory(100, 4 * B, 0);
        let mut out = Vec::new();
        t.opaque_bind(2, false, &bind(0, 2 * B, 100, 0), &mut out);
        t.opaque_bind(3, false, &bind(0, 2 * B, 100, B), &mut out);
        assert!(out.is_empty(), "{out:?}");
        t.opaque_bind(1, false, &bind(0, B, 100, B), &mut out);
        assert_eq!(ids(&out), [rule::ALIASING]);
        out.clear();
        // Two blocks of the same unaliased resource on one memory block.
        t.opaque_bind(1, false, &bind(2 * B, B, 100, 3 * B), &mut out);
        t.opaque_bind(1, false, &bind(3 * B, B, 100, 3 * B), &mut out);
        assert_eq!(ids(&out), [rule::ALIASING]);
        out.clear();
        // Rebinding a block to where it already is is not aliasing.
        t.opaque_bind(1, false, &bind(3 * B, B, 100, 3 * B), &mut out);
        assert_eq!(ids(&out), [rule::ALIASING], "block 2 is still there");
    }

    #[test]
    fn free_and_destroy_while_bound_warn() {
        let mut t = Tracker::default();
        buffer(&mut t, 1, 4, SPARSE);
        buffer(&mut t, 2, 4, SPARSE);
        t.add_memory(100, 4 * B, 0);
        t.add_memory(101, 4 * B, 0);
        let mut out = Vec::new();
        t.opaque_bind(1, false, &bind(0, B, 100, 0), &mut out);
        t.opaque_bind(2, false, &bind(0, B, 101, 0), &mut out);
        t.free_memory(100, &mut out);
        assert_eq!(ids(&out), [rule::MEMORY_FREED_WHILE_BOUND]);
        out.clear();
        t.destroy_resource(2, &mut out);
        assert_eq!(ids(&out), [rule::DESTROYED_WHILE_BOUND]);
        assert!(t.memories[&101].is_empty());
        out.clear();
        t.opaque_bind(1, false, &bind(0, B, 0, 0), &mut out);
        t.destroy_resource(1, &mut out);
        t.free_memory(101, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    fn image(t: &mut Tracker, h: u64, layers: u32, tail_stride: u64, single: bool) {
        let info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(vk::Format::R8G8B8A8_UNORM)
            .extent(vk::Extent3D {
                width: 512,
                height: 256,
                depth: 1,
            })
            .mip_levels(4)
            .array_layers(layers)
            .flags(
                // Aliased, so that reusing memory offsets is not a finding.
                vk::ImageCreateFlags::SPARSE_BINDING
                    | vk::ImageCreateFlags::SPARSE_RESIDENCY
                    | vk::ImageCreateFlags::SPARSE_ALIASED,
            );
        let sparse = vk::SparseImageMemoryRequirements {
            format_properties: vk::SparseImageFormatProperties {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                image_granularity: vk::Extent3D {
                    width: 128,
                    height: 128,
                    depth: 1,
                },
                flags: if single {
                    vk::SparseImageFormatFlags::SINGLE_MIPTAIL
                } else {
                    vk::SparseImageFormatFlags::empty()
                },
            },
            image_mip_tail_first_lod: 2,
            image_mip_tail_size: B,
            image_mip_tail_offset: 10 * B,
            image_mip_tail_stride: tail_stride,
        };
        t.add_resource(Resource::image(h, &info, &req(16 * B), &[sparse]));
    }

    fn ibind(mip: u32, layer: u32, off: [i32; 3], ext: [u32; 3], mem: u64, mo: u64) -> ImageBind {
        ImageBind {
            aspect: vk::ImageAspectFlags::COLOR,
            mip,
            layer,
            offset: off,
            extent: ext,
            memory: mem,
            memory_offset: mo,
        }
    }

    #[test]
    fn image_grids_and_block_binds() {
        let mut t = Tracker::default();
        image(&mut t, 1, 2, 3 * B, false);
        t.add_memory(100, 16 * B, 0);
        let r = &t.resources[&1];
        // mips 0 and 1 of 2 layers: 4x2 and 2x1 blocks.
        assert_eq!(r.grids.len(), 4);
        assert_eq!(r.grids[0].blocks, [4, 2, 1]);
        assert_eq!(r.grids[1].blocks, [2, 1, 1]);
        let mut out = Vec::new();
        t.image_bind(
            1,
            &ibind(0, 0, [128, 0, 0], [256, 256, 1], 100, 0),
            &mut out,
        );
        t.image_bind(
            1,
            &ibind(1, 1, [0, 0, 0], [256, 128, 1], 100, 4 * B),
            &mut out,
        );
        t.opaque_bind(1, true, &bind(13 * B, B, 100, 6 * B), &mut out);
        assert!(out.is_empty(), "{out:?}");
        let r = &t.resources[&1];
        assert_eq!(r.bound.len(), 7);
        assert_eq!(r.bound.get(&BlockKey::Grid(0, 5)).unwrap().offset, 2 * B);
        assert_eq!(r.bound.get(&BlockKey::Grid(3, 1)).unwrap().offset, 5 * B);
    }

    #[test]
    fn image_rules() {
        let mut t = Tracker::default();
        image(&mut t, 1, 2, 3 * B, false);
        t.add_memory(100, 16 * B, 0);
        let mut out = Vec::new();
        t.image_bind(1, &ibind(0, 0, [64, 0, 0], [128, 128, 1], 100, 0), &mut out);
        assert_eq!(ids(&out), [rule::OFFSET_ALIGNMENT]);
        out.clear();
        t.image_bind(1, &ibind(0, 0, [0, 0, 0], [100, 128, 1], 100, 0), &mut out);
        assert_eq!(ids(&out), [rule::SIZE_ALIGNMENT]);
        out.clear();
        t.image_bind(1, &ibind(1, 0, [0, 0, 0], [256, 128, 1], 100, 0), &mut out);
        assert!(out.is_empty(), "edge of the mip: {out:?}");
        t.image_bind(
            1,
            &ibind(0, 0, [384, 0, 0], [256, 128, 1], 100, 0),
            &mut out,
        );
        assert_eq!(ids(&out), [rule::OUT_OF_BOUNDS]);
        out.clear();
        t.image_bind(1, &ibind(2, 0, [0, 0, 0], [128, 64, 1], 100, 0), &mut out);
        assert_eq!(ids(&out), [rule::MIP_TAIL]);
        out.clear();
        // Layer 1's tail is at 10 + 3 blocks; 11 is in the gap.
        t.opaque_bind(1, true, &bind(13 * B, B, 100, 0), &mut out);
        assert!(out.is_empty(), "{out:?}");
        t.opaque_bind(1, true, &bind(11 * B, B, 100, 0), &mut out);
        assert_eq!(ids(&out), [rule::MIP_TAIL]);
        out.clear();
        // The whole image at once is fine.
        t.opaque_bind(1, true, &bind(0, 16 * B, 0, 0), &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn single_mip_tail_has_one_tail() {
        let mut t = Tracker::default();
        image(&mut t, 1, 2, 0, true);
        t.add_memory(100, 16 * B, 0);
        let mut out = Vec::new();
        t.opaque_bind(1, true, &bind(10 * B, B, 100, 0), &mut out);
        assert!(out.is_empty(), "{out:?}");
        t.opaque_bind(1, true, &bind(11 * B, B, 100, 0), &mut out);
        assert!(
            out.is_empty(),
            "past the single tail is not a tail: {out:?}"
        );
        t.opaque_bind(1, true, &bind(10 * B, 2 * B, 100, 0), &mut out);
        assert_eq!(ids(&out), [rule::MIP_TAIL]);
    }

    #[test]
    fn unknown_resources_and_memory() {
        let mut t = Tracker::default();
        buffer(&mut t, 1, 4, SPARSE);
        let mut out = Vec::new();
        t.opaque_bind(7, false, &bind(0, B, 100, 0), &mut out);
        t.opaque_bind(1, false, &bind(0, B, 100, 0), &mut out);
        assert_eq!(ids(&out), [rule::NOT_SPARSE, rule::UNKNOWN_MEMORY]);
        assert_eq!(t.totals.messages[rule::NOT_SPARSE], 1);
    }
}
