//! Tables generated at build time from the Vulkan registry (`vk.xml`) with
//! `vk-parse` (see `build.rs`): every Vulkan command with its dispatch level
//! and the core versions or extensions that provide it, every Vulkan
//! extension with its kind and spec version, and every format with its texel
//! block.
//!
//! Only the `api="vulkan"` side of the registry is here: Vulkan SC-only
//! items and `supported="disabled"` extensions are left out. The tables are
//! `'static` and sorted by their key (name, or raw format value), so the
//! lookups are binary searches.

use ash::vk;

/// Which dispatchable object a command is called on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// The first parameter is not a dispatchable handle (`vkCreateInstance`,
    /// `vkEnumerateInstance*`).
    Global,
    /// The first parameter is a `VkInstance`.
    Instance,
    /// The first parameter is a `VkPhysicalDevice`.
    PhysicalDevice,
    /// The first parameter is a `VkDevice`, `VkQueue` or `VkCommandBuffer`.
    Device,
}

/// One way a command becomes available: by a core version, or by an
/// extension (optionally only together with a further version or extension,
/// from the `<require feature=...>` / `<require extension=...>` or
/// `depends=` attributes of the block that lists it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Core in this API version (`vk::make_api_version(0, major, minor, 0)`).
    Core(u32),
    /// Provided by the extension `name`, when `also` (if any) is enabled too.
    Extension {
        /// The extension whose `<require>` block lists the command; or, for a
        /// block of a core version that depends on an extension, that
        /// extension (with the version in `also`).
        name: &'static str,
        /// The further condition of the block.
        also: Option<Also>,
    },
}

/// The further condition of [`Requirement::Extension`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Also {
    /// This API version (`vk::make_api_version(0, major, minor, 0)`) or later.
    Core(u32),
    /// This extension is enabled too.
    Extension(&'static str),
}

/// A Vulkan command.
#[derive(Debug)]
pub struct CommandInfo {
    /// `vkCreateInstance`, ...
    pub name: &'static str,
    /// The object the command is called on.
    pub dispatch: Dispatch,
    /// All the ways it becomes available, in registry order (core versions
    /// first). For an alias (`vkGetPhysicalDeviceFeatures2KHR` ->
    /// `vkGetPhysicalDeviceFeatures2`) the alias has its own entry with its
    /// own requirements.
    pub requires: &'static [Requirement],
    /// The command this name aliases, if any (its implementation is shared).
    /// Alias chains are resolved: this names a command that is no alias.
    pub alias_of: Option<&'static str>,
}

/// Whether a Vulkan extension is enabled on the instance or on a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtensionKind {
    /// Enabled in `VkInstanceCreateInfo`.
    Instance,
    /// Enabled in `VkDeviceCreateInfo`.
    Device,
}

/// A Vulkan extension.
#[derive(Debug)]
pub struct ExtensionInfo {
    /// `VK_KHR_timeline_semaphore`, ...
    pub name: &'static str,
    /// Where it is enabled.
    pub kind: ExtensionKind,
    /// The registry's `VK_*_SPEC_VERSION`.
    pub spec_version: u32,
    /// The registered extension number (`number=`).
    pub number: u32,
    /// The core version (`VK_VERSION_1_2`) or extension it was promoted to.
    pub promoted_to: Option<&'static str>,
}

/// A format and its texel block, from the registry's `<formats>`.
#[derive(Debug)]
pub struct FormatInfo {
    /// The format.
    pub format: vk::Format,
    /// `VK_FORMAT_R8G8B8A8_UNORM`, ...
    pub name: &'static str,
    /// The compatibility class: `32-bit`, `BC1_RGB`, ...
    pub class: &'static str,
    /// Bytes per texel block (`blockSize`).
    pub block_bytes: u32,
    /// Texels per block.
    pub texels_per_block: u32,
    /// Block width, height and depth in texels (`[1, 1, 1]` unless
    /// compressed).
    pub block_extent: [u32; 3],
    /// The compression scheme: `BC`, `ETC2`, `EAC`, `ASTC LDR`, ...
    pub compression: Option<&'static str>,
    /// Bits of the depth component; 0 without one.
    pub depth_bits: u8,
    /// Bits of the stencil component; 0 without one.
    pub stencil_bits: u8,
    /// Number of planes; 0 for a single-plane format.
    pub planes: u8,
    /// Bits of the packed word (`packed=`); 0 when not packed.
    pub packed: u8,
    /// Chroma subsampling (`420`, `422`, `444`), if any.
    pub chroma: Option<&'static str>,
    /// Numeric format of the first component: `UNORM`, `SFLOAT`, `UINT`,
    /// `SRGB`, ...
    pub numeric: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/vk_tables_gen.rs"));

/// Every Vulkan command, sorted by name.
pub fn commands() -> &'static [CommandInfo] {
    &COMMANDS
}

/// The Vulkan command called `name`.
pub fn command(name: &str) -> Option<&'static CommandInfo> {
    let i = COMMANDS.binary_search_by(|c| c.name.cmp(name)).ok()?;
    Some(&COMMANDS[i])
}

/// Every Vulkan extension, sorted by name.
pub fn extensions() -> &'static [ExtensionInfo] {
    &EXTENSIONS
}

/// The Vulkan extension called `name`.
pub fn extension(name: &str) -> Option<&'static ExtensionInfo> {
    let i = EXTENSIONS.binary_search_by(|e| e.name.cmp(name)).ok()?;
    Some(&EXTENSIONS[i])
}

/// Every format, sorted by raw value.
pub fn formats() -> &'static [FormatInfo] {
    &FORMATS
}

/// The texel block of `format`; `None` for `UNDEFINED` and unknown values.
pub fn format(format: vk::Format) -> Option<&'static FormatInfo> {
    let i = FORMATS
        .binary_search_by_key(&format.as_raw(), |f| f.format.as_raw())
        .ok()?;
    Some(&FORMATS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_0: u32 = vk::make_api_version(0, 1, 0, 0);
    const V1_1: u32 = vk::make_api_version(0, 1, 1, 0);
    const V1_2: u32 = vk::make_api_version(0, 1, 2, 0);
    const V1_3: u32 = vk::make_api_version(0, 1, 3, 0);

    fn ext(name: &'static str) -> Requirement {
        Requirement::Extension { name, also: None }
    }

    fn cmd(name: &str) -> &'static CommandInfo {
        command(name).unwrap_or_else(|| panic!("{name} missing"))
    }

    #[test]
    fn tables_are_sorted_and_unique() {
        assert!(commands().windows(2).all(|w| w[0].name < w[1].name));
        assert!(extensions().windows(2).all(|w| w[0].name < w[1].name));
        assert!(formats()
            .windows(2)
            .all(|w| w[0].format.as_raw() < w[1].format.as_raw()));
    }

    #[test]
    fn tables_are_plausibly_complete() {
        // 1.3.239 has ~500 Vulkan commands, ~250 supported extensions and
        // ~250 formats; newer registries only grow.
        assert!(commands().len() > 450, "{}", commands().len());
        assert!(extensions().len() > 200, "{}", extensions().len());
        assert!(formats().len() > 200, "{}", formats().len());
        assert!(commands().iter().all(|c| !c.requires.is_empty()));
    }

    #[test]
    fn every_lookup_finds_its_own_entry() {
        for c in commands() {
            assert!(std::ptr::eq(cmd(c.name), c));
        }
        for e in extensions() {
            assert!(std::ptr::eq(extension(e.name).unwrap(), e));
        }
        for f in formats() {
            assert!(std::ptr::eq(format(f.format).unwrap(), f));
        }
    }

    #[test]
    fn unknown_names_and_values_are_none() {
        assert!(command("vkDoesNotExist").is_none());
        assert!(command("").is_none());
        assert!(extension("VK_KHR_does_not_exist").is_none());
        assert!(format(vk::Format::UNDEFINED).is_none());
        assert!(format(vk::Format::from_raw(999_999)).is_none());
        assert!(format(vk::Format::from_raw(-1)).is_none());
    }

    #[test]
    fn global_instance_and_device_dispatch() {
        let create = cmd("vkCreateInstance");
        assert_eq!(create.dispatch, Dispatch::Global);
        assert_eq!(create.requires, &[Requirement::Core(V1_0)]);
        assert_eq!(create.alias_of, None);
        assert_eq!(cmd("vkEnumerateInstanceVersion").dispatch, Dispatch::Global);
        assert_eq!(
            cmd("vkEnumerateInstanceVersion").requires,
            &[Requirement::Core(V1_1)]
        );
        assert_eq!(
            cmd("vkEnumeratePhysicalDevices").dispatch,
            Dispatch::Instance
        );
        assert_eq!(cmd("vkGetDeviceQueue").dispatch, Dispatch::Device);
        assert_eq!(cmd("vkQueueBindSparse").dispatch, Dispatch::Device);
        assert_eq!(cmd("vkCmdDraw").dispatch, Dispatch::Device);
    }

    #[test]
    fn core_command_and_its_extension_alias() {
        let core = cmd("vkGetPhysicalDeviceSparseImageFormatProperties2");
        assert_eq!(core.dispatch, Dispatch::PhysicalDevice);
        assert_eq!(core.requires, &[Requirement::Core(V1_1)]);
        assert_eq!(core.alias_of, None);

        let khr = cmd("vkGetPhysicalDeviceSparseImageFormatProperties2KHR");
        assert_eq!(khr.dispatch, Dispatch::PhysicalDevice);
        assert_eq!(khr.alias_of, Some(core.name));
        assert_eq!(
            khr.requires,
            &[ext("VK_KHR_get_physical_device_properties2")]
        );
    }

    #[test]
    fn versions_of_recent_core_commands() {
        let sparse = cmd("vkGetDeviceImageSparseMemoryRequirements");
        assert_eq!(sparse.dispatch, Dispatch::Device);
        assert_eq!(sparse.requires, &[Requirement::Core(V1_3)]);
        let khr = cmd("vkGetDeviceImageSparseMemoryRequirementsKHR");
        assert_eq!(khr.alias_of, Some(sparse.name));
        assert_eq!(khr.requires, &[ext("VK_KHR_maintenance4")]);

        assert_eq!(
            cmd("vkCmdPipelineBarrier2").requires,
            &[Requirement::Core(V1_3)]
        );
        assert_eq!(cmd("vkWaitSemaphores").requires, &[Requirement::Core(V1_2)]);
        assert_eq!(
            cmd("vkWaitSemaphoresKHR").requires,
            &[ext("VK_KHR_timeline_semaphore")]
        );
    }

    #[test]
    fn conditional_require_blocks() {
        // VK_KHR_swapchain adds this with 1.1; VK_KHR_device_group adds it
        // with VK_KHR_surface.
        let r = cmd("vkGetPhysicalDevicePresentRectanglesKHR").requires;
        assert!(r.contains(&Requirement::Extension {
            name: "VK_KHR_swapchain",
            also: Some(Also::Core(V1_1))
        }));
        assert!(r.contains(&Requirement::Extension {
            name: "VK_KHR_device_group",
            also: Some(Also::Extension("VK_KHR_surface"))
        }));
        // `extension="VK_KHR_acceleration_structure,VK_NV_ray_tracing"`: either.
        let r = cmd("vkGetAccelerationStructureOpaqueCaptureDescriptorDataEXT").requires;
        for other in ["VK_KHR_acceleration_structure", "VK_NV_ray_tracing"] {
            let way = Requirement::Extension {
                name: "VK_EXT_descriptor_buffer",
                also: Some(Also::Extension(other)),
            };
            assert!(r.contains(&way), "{r:?}");
        }
    }

    #[test]
    fn extensions_kind_number_and_spec_version() {
        let timeline = extension("VK_KHR_timeline_semaphore").unwrap();
        assert_eq!(timeline.kind, ExtensionKind::Device);
        assert_eq!(timeline.spec_version, 2);
        assert_eq!(timeline.promoted_to, Some("VK_VERSION_1_2"));

        let modifiers = extension("VK_EXT_image_drm_format_modifier").unwrap();
        assert_eq!(modifiers.kind, ExtensionKind::Device);
        assert_eq!(modifiers.number, 159);

        let props2 = extension("VK_KHR_get_physical_device_properties2").unwrap();
        assert_eq!(props2.kind, ExtensionKind::Instance);
        assert_eq!(props2.number, 60);
        assert_eq!(
            extension("VK_KHR_surface").unwrap().kind,
            ExtensionKind::Instance
        );
    }

    #[test]
    fn every_extension_requirement_names_a_known_extension() {
        for c in commands() {
            for r in c.requires {
                if let Requirement::Extension { name, also } = r {
                    assert!(extension(name).is_some(), "{}: {name}", c.name);
                    if let Some(Also::Extension(other)) = also {
                        assert!(extension(other).is_some(), "{}: {other}", c.name);
                    }
                }
            }
            if let Some(target) = c.alias_of {
                let target = cmd(target);
                assert_eq!(target.alias_of, None);
                assert_eq!(target.dispatch, c.dispatch);
            }
        }
    }

    #[test]
    fn plain_and_compressed_formats() {
        let rgba = format(vk::Format::R8G8B8A8_UNORM).unwrap();
        assert_eq!(rgba.name, "VK_FORMAT_R8G8B8A8_UNORM");
        assert_eq!(
            (rgba.block_bytes, rgba.texels_per_block, rgba.block_extent),
            (4, 1, [1, 1, 1])
        );
        assert_eq!(rgba.class, "32-bit");
        assert_eq!(
            (rgba.compression, rgba.numeric, rgba.planes, rgba.packed),
            (None, "UNORM", 0, 0)
        );

        let bc1 = format(vk::Format::BC1_RGB_UNORM_BLOCK).unwrap();
        assert_eq!(
            (bc1.block_bytes, bc1.block_extent, bc1.compression),
            (8, [4, 4, 1], Some("BC"))
        );
        assert_eq!(bc1.class, "BC1_RGB");

        let astc = format(vk::Format::ASTC_12X12_UNORM_BLOCK).unwrap();
        assert_eq!((astc.block_bytes, astc.block_extent), (16, [12, 12, 1]));
        assert_eq!(astc.texels_per_block, 144);

        assert_eq!(format(vk::Format::R8G8B8A8_SRGB).unwrap().numeric, "SRGB");
        assert_eq!(format(vk::Format::R32_SFLOAT).unwrap().numeric, "SFLOAT");
    }

    #[test]
    fn depth_stencil_formats() {
        let ds = format(vk::Format::D32_SFLOAT_S8_UINT).unwrap();
        assert_eq!((ds.depth_bits, ds.stencil_bits), (32, 8));
        let d24 = format(vk::Format::D24_UNORM_S8_UINT).unwrap();
        assert_eq!((d24.depth_bits, d24.stencil_bits), (24, 8));
        let s8 = format(vk::Format::S8_UINT).unwrap();
        assert_eq!((s8.depth_bits, s8.stencil_bits), (0, 8));
        let rgba = format(vk::Format::R8G8B8A8_UNORM).unwrap();
        assert_eq!((rgba.depth_bits, rgba.stencil_bits), (0, 0));
    }

    #[test]
    fn extension_and_feature_added_formats() {
        // From VK_KHR_sampler_ycbcr_conversion (extension 157) / 1.1.
        let nv12 = format(vk::Format::G8_B8R8_2PLANE_420_UNORM).unwrap();
        assert_eq!(nv12.format.as_raw(), 1_000_156_003);
        assert_eq!((nv12.planes, nv12.chroma), (2, Some("420")));
        // Only the 1.3 feature block defines the value (`extnumber="341"`);
        // VK_EXT_4444_formats has just the `_EXT` alias.
        let argb = format(vk::Format::A4R4G4B4_UNORM_PACK16).unwrap();
        assert_eq!(argb.format.as_raw(), 1_000_340_000);
        assert_eq!((argb.block_bytes, argb.packed), (2, 16));
        // Packed formats from the core enum.
        assert_eq!(
            format(vk::Format::A2B10G10R10_UNORM_PACK32).unwrap().packed,
            32
        );
    }
}
