//! `VkSampler`: a Mali `Sampler` descriptor, written into descriptor sets
//! (and immutable-sampler layouts) as is.

use ash::vk;
use mali_csf::desc::{self, Filter, MipmapMode, WrapMode, DESCRIPTOR_SIZE};

use crate::guard::{guard, guard_void, VkResult};
use crate::{handle, vk_bail};

/// `maxSamplerAnisotropy`.
pub const MAX_ANISOTROPY: f32 = 16.0;

pub struct Sampler {
    pub descriptor: [u8; DESCRIPTOR_SIZE],
}

impl Sampler {
    /// # Safety
    /// `h` is null or a live sampler of ours.
    pub unsafe fn from_handle<'a>(h: vk::Sampler) -> VkResult<&'a Sampler> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    pub fn new(info: &vk::SamplerCreateInfo<'_>) -> VkResult<Sampler> {
        let wrap = |m: vk::SamplerAddressMode| {
            Ok(match m {
                vk::SamplerAddressMode::REPEAT => WrapMode::Repeat,
                vk::SamplerAddressMode::MIRRORED_REPEAT => WrapMode::MirroredRepeat,
                vk::SamplerAddressMode::CLAMP_TO_EDGE => WrapMode::ClampToEdge,
                vk::SamplerAddressMode::CLAMP_TO_BORDER => WrapMode::ClampToBorder,
                vk::SamplerAddressMode::MIRROR_CLAMP_TO_EDGE => WrapMode::MirroredClampToEdge,
                m => vk_bail!(vk::Result::ERROR_UNKNOWN, "address mode {m:?}"),
            })
        };
        let filter = |f: vk::Filter| {
            Ok(match f {
                vk::Filter::NEAREST => Filter::Nearest,
                vk::Filter::LINEAR => Filter::Linear,
                f => vk_bail!(vk::Result::ERROR_UNKNOWN, "filter {f:?} is not supported"),
            })
        };
        let s = desc::Sampler {
            wrap: [
                wrap(info.address_mode_u)?,
                wrap(info.address_mode_v)?,
                wrap(info.address_mode_w)?,
            ],
            normalized_coordinates: info.unnormalized_coordinates == vk::FALSE,
            minify: filter(info.min_filter)?,
            magnify: filter(info.mag_filter)?,
            mipmap_mode: match info.mipmap_mode {
                vk::SamplerMipmapMode::LINEAR => MipmapMode::Trilinear,
                _ => MipmapMode::Nearest,
            },
            minimum_lod: info.min_lod.max(0.0),
            maximum_lod: info.max_lod.max(0.0),
            compare_func: if info.compare_enable != vk::FALSE {
                flipped_compare(info.compare_op)
            } else {
                0
            },
            lod_bias: info.mip_lod_bias,
            max_anisotropy: if info.anisotropy_enable != vk::FALSE {
                info.max_anisotropy.clamp(1.0, MAX_ANISOTROPY) as u32
            } else {
                1
            },
            border_color: border(info.border_color),
        };
        Ok(Sampler {
            descriptor: s.pack(),
        })
    }
}

/// genxml `Func` for a Vulkan compare op: the values match, but the
/// hardware compares with the operands swapped (reference vs texel), so
/// LESS and GREATER (and their -OR-EQUAL forms) trade places, as panvk
/// writes them.
fn flipped_compare(op: vk::CompareOp) -> u8 {
    match op {
        vk::CompareOp::LESS => vk::CompareOp::GREATER.as_raw() as u8,
        vk::CompareOp::GREATER => vk::CompareOp::LESS.as_raw() as u8,
        vk::CompareOp::LESS_OR_EQUAL => vk::CompareOp::GREATER_OR_EQUAL.as_raw() as u8,
        vk::CompareOp::GREATER_OR_EQUAL => vk::CompareOp::LESS_OR_EQUAL.as_raw() as u8,
        op => (op.as_raw() & 7) as u8,
    }
}

/// The border colour lanes: f32 bits for the float colours, integers for
/// the integer ones.
fn border(c: vk::BorderColor) -> [u32; 4] {
    let one = 1.0f32.to_bits();
    match c {
        vk::BorderColor::FLOAT_OPAQUE_BLACK => [0, 0, 0, one],
        vk::BorderColor::FLOAT_OPAQUE_WHITE => [one; 4],
        vk::BorderColor::INT_OPAQUE_BLACK => [0, 0, 0, 1],
        vk::BorderColor::INT_OPAQUE_WHITE => [1; 4],
        _ => [0; 4],
    }
}

pub unsafe extern "system" fn create_sampler(
    _device: vk::Device,
    info: *const vk::SamplerCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Sampler,
) -> vk::Result {
    guard("vkCreateSampler", || {
        // SAFETY: info is a valid create info.
        let sampler = Sampler::new(unsafe { &*info })?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(sampler)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_sampler(
    _device: vk::Device,
    sampler: vk::Sampler,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroySampler", || {
        // SAFETY: the handle is ours and the application is done with it.
        let _ = unsafe { handle::free_handle::<Sampler, _>(sampler) };
        Ok(())
    })
}
