//! Vulkan formats as the Mali texture unit names them (genxml v10 `Pixel
//! Format`: `Format` enum, component order, sRGB) and the plane's clump
//! format (how one texel block is stored). Values from Mesa's panfrost
//! format table for v10 (`pan_format.c`), through `vk_format.c`'s
//! Vulkan-to-gallium mapping.

use ash::vk;
use mali_csf::desc::{
    PixelFormat, CLUMP_RAW128, CLUMP_RAW16, CLUMP_RAW32, CLUMP_RAW64, CLUMP_RAW8,
};

/// genxml `RGB Component Order` values used here.
const RGBA: u16 = 0;
const BGRA: u16 = 4;
const RGB1: u16 = 16;
const BGR1: u16 = 20;

/// genxml `Clump Format` values of the BC formats.
const CLUMP_BC1: u8 = 48;
const CLUMP_BC2: u8 = 49;
const CLUMP_BC3: u8 = 50;
const CLUMP_BC4_UNORM: u8 = 51;
const CLUMP_BC4_SNORM: u8 = 52;
const CLUMP_BC5_UNORM: u8 = 53;
const CLUMP_BC5_SNORM: u8 = 54;

/// How the hardware reads one format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaliFormat {
    pub pixel: PixelFormat,
    pub clump: u8,
    /// Storage images and texel buffers can be written in this format
    /// (compressed formats only sample).
    pub storage: bool,
}

impl MaliFormat {
    /// Integer formats (UI/I in genxml's `Format` names): never filtered.
    pub fn is_integer(&self) -> bool {
        matches!(self.pixel.format(), 71 | 131..=157 | 195..=221)
    }
}

/// The Mali description of `format`, for the formats the texture unit
/// reads: 8/16/32-bit-per-channel colour, packed 10/11-bit, 565, and BC1-5.
pub fn mali_format(format: vk::Format) -> Option<MaliFormat> {
    use vk::Format as F;
    let (fmt, order, srgb, clump): (u8, u16, bool, u8) = match format {
        F::R8_UNORM => (163, RGB1, false, CLUMP_RAW8),
        F::R8_SNORM => (99, RGB1, false, CLUMP_RAW8),
        F::R8_UINT => (131, RGB1, false, CLUMP_RAW8),
        F::R8_SINT => (195, RGB1, false, CLUMP_RAW8),
        F::R8_SRGB => (163, RGB1, true, CLUMP_RAW8),
        F::R8G8_UNORM => (171, RGB1, false, CLUMP_RAW16),
        F::R8G8_SNORM => (107, RGB1, false, CLUMP_RAW16),
        F::R8G8_UINT => (139, RGB1, false, CLUMP_RAW16),
        F::R8G8_SINT => (203, RGB1, false, CLUMP_RAW16),
        F::R8G8_SRGB => (171, RGB1, true, CLUMP_RAW16),
        F::R8G8B8A8_UNORM => (187, RGBA, false, CLUMP_RAW32),
        F::R8G8B8A8_SNORM => (123, RGBA, false, CLUMP_RAW32),
        F::R8G8B8A8_UINT => (155, RGBA, false, CLUMP_RAW32),
        F::R8G8B8A8_SINT => (219, RGBA, false, CLUMP_RAW32),
        F::R8G8B8A8_SRGB => (187, RGBA, true, CLUMP_RAW32),
        F::B8G8R8A8_UNORM => (187, BGRA, false, CLUMP_RAW32),
        F::B8G8R8A8_SRGB => (187, BGRA, true, CLUMP_RAW32),
        F::R16_UNORM => (164, RGB1, false, CLUMP_RAW16),
        F::R16_SNORM => (100, RGB1, false, CLUMP_RAW16),
        F::R16_UINT => (132, RGB1, false, CLUMP_RAW16),
        F::R16_SINT => (196, RGB1, false, CLUMP_RAW16),
        F::R16_SFLOAT => (199, RGB1, false, CLUMP_RAW16),
        F::R16G16_UNORM => (172, RGB1, false, CLUMP_RAW32),
        F::R16G16_SNORM => (108, RGB1, false, CLUMP_RAW32),
        F::R16G16_UINT => (140, RGB1, false, CLUMP_RAW32),
        F::R16G16_SINT => (204, RGB1, false, CLUMP_RAW32),
        F::R16G16_SFLOAT => (207, RGB1, false, CLUMP_RAW32),
        F::R16G16B16A16_UNORM => (188, RGBA, false, CLUMP_RAW64),
        F::R16G16B16A16_SNORM => (124, RGBA, false, CLUMP_RAW64),
        F::R16G16B16A16_UINT => (156, RGBA, false, CLUMP_RAW64),
        F::R16G16B16A16_SINT => (220, RGBA, false, CLUMP_RAW64),
        F::R16G16B16A16_SFLOAT => (223, RGBA, false, CLUMP_RAW64),
        F::R32_UINT => (133, RGB1, false, CLUMP_RAW32),
        F::R32_SINT => (197, RGB1, false, CLUMP_RAW32),
        F::R32_SFLOAT => (167, RGB1, false, CLUMP_RAW32),
        F::R32G32_UINT => (141, RGB1, false, CLUMP_RAW64),
        F::R32G32_SINT => (205, RGB1, false, CLUMP_RAW64),
        F::R32G32_SFLOAT => (175, RGB1, false, CLUMP_RAW64),
        // Mali has no 64-bit texel formats: R64 images are RG32 to the
        // texture unit, and the shader core joins the two halves of a
        // 64-bit texel (`VK_EXT_shader_image_atomic_int64`).
        F::R64_UINT => (141, RGB1, false, CLUMP_RAW64),
        F::R64_SINT => (205, RGB1, false, CLUMP_RAW64),
        F::R32G32B32A32_UINT => (157, RGBA, false, CLUMP_RAW128),
        F::R32G32B32A32_SINT => (221, RGBA, false, CLUMP_RAW128),
        F::R32G32B32A32_SFLOAT => (191, RGBA, false, CLUMP_RAW128),
        F::A2B10G10R10_UNORM_PACK32 => (67, RGBA, false, CLUMP_RAW32),
        F::A2B10G10R10_UINT_PACK32 => (71, RGBA, false, CLUMP_RAW32),
        F::B10G11R11_UFLOAT_PACK32 => (89, RGB1, false, CLUMP_RAW32),
        F::R5G6B5_UNORM_PACK16 => (64, BGR1, false, CLUMP_RAW16),
        F::B5G6R5_UNORM_PACK16 => (64, RGB1, false, CLUMP_RAW16),
        F::BC1_RGB_UNORM_BLOCK => (187, RGB1, false, CLUMP_BC1),
        F::BC1_RGB_SRGB_BLOCK => (187, RGB1, true, CLUMP_BC1),
        F::BC1_RGBA_UNORM_BLOCK => (187, RGBA, false, CLUMP_BC1),
        F::BC1_RGBA_SRGB_BLOCK => (187, RGBA, true, CLUMP_BC1),
        F::BC2_UNORM_BLOCK => (187, RGBA, false, CLUMP_BC2),
        F::BC2_SRGB_BLOCK => (187, RGBA, true, CLUMP_BC2),
        F::BC3_UNORM_BLOCK => (187, RGBA, false, CLUMP_BC3),
        F::BC3_SRGB_BLOCK => (187, RGBA, true, CLUMP_BC3),
        F::BC4_UNORM_BLOCK => (164, RGB1, false, CLUMP_BC4_UNORM),
        F::BC4_SNORM_BLOCK => (100, RGB1, false, CLUMP_BC4_SNORM),
        F::BC5_UNORM_BLOCK => (172, RGB1, false, CLUMP_BC5_UNORM),
        F::BC5_SNORM_BLOCK => (108, RGB1, false, CLUMP_BC5_SNORM),
        _ => return None,
    };
    Some(MaliFormat {
        pixel: PixelFormat::new(fmt, order, srgb),
        clump,
        storage: clump <= CLUMP_RAW128 && !srgb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 22-bit values Mesa's table gives (order | format << 12 | sRGB << 20).
    #[test]
    fn pixel_formats_match_the_hardware_table() {
        let hw = |f| mali_format(f).unwrap().pixel.0;
        assert_eq!(hw(vk::Format::R8_UNORM), 0x0A_3010);
        assert_eq!(hw(vk::Format::R8G8B8A8_SRGB), 0x1B_B000);
        assert_eq!(hw(vk::Format::B8G8R8A8_UNORM), 0x0B_B004);
        assert_eq!(hw(vk::Format::R16G16B16A16_SFLOAT), 0x0D_F000);
        assert_eq!(hw(vk::Format::R32_SFLOAT), 0x0A_7010);
        assert_eq!(hw(vk::Format::R5G6B5_UNORM_PACK16), 0x04_0014);
        assert_eq!(hw(vk::Format::BC4_UNORM_BLOCK), 0x0A_4010);
        assert!(mali_format(vk::Format::D16_UNORM).is_none());
    }
}
