//! `VkShaderModule`: the application's SPIR-V, kept as words. Nothing is
//! compiled here: a compute pipeline specializes and checks one entry point
//! (`pipeline.rs`), which is where a module's unsupported parts surface.

use ash::vk;

use crate::guard::{guard, guard_void, VkResult};
use crate::{handle, vk_bail};

/// SPIR-V's first word.
const SPIRV_MAGIC: u32 = 0x0723_0203;

pub struct ShaderModule {
    pub words: Vec<u32>,
}

impl ShaderModule {
    /// # Safety
    /// `h` is null or a live shader module of ours.
    pub unsafe fn from_handle<'a>(h: vk::ShaderModule) -> VkResult<&'a ShaderModule> {
        // SAFETY: forwarded contract.
        unsafe { handle::object(h) }
    }

    /// Copies and checks the module's code (`codeSize` bytes at `code`).
    ///
    /// # Safety
    /// `code` points to `size` readable bytes, 4-byte aligned (the spec's
    /// valid usage for `pCode`).
    pub unsafe fn from_code(code: *const u32, size: usize) -> VkResult<ShaderModule> {
        if code.is_null() || size == 0 || size % 4 != 0 {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "codeSize {size} is not a non-zero multiple of 4"
            );
        }
        // SAFETY: the caller guarantees size bytes of aligned u32s.
        let words = unsafe { std::slice::from_raw_parts(code, size / 4) }.to_vec();
        if words.len() < 5 || words[0] != SPIRV_MAGIC {
            vk_bail!(
                vk::Result::ERROR_UNKNOWN,
                "not SPIR-V: no 5-word header with magic {SPIRV_MAGIC:#x}"
            );
        }
        Ok(ShaderModule { words })
    }
}

pub unsafe extern "system" fn create_shader_module(
    _device: vk::Device,
    info: *const vk::ShaderModuleCreateInfo<'_>,
    _alloc: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::ShaderModule,
) -> vk::Result {
    guard("vkCreateShaderModule", || {
        // SAFETY: info is a valid create info.
        let info = unsafe { &*info };
        // SAFETY: pCode holds codeSize bytes (valid usage).
        let module = unsafe { ShaderModule::from_code(info.p_code, info.code_size) }?;
        // SAFETY: out is valid for a write.
        unsafe { handle::out(out, handle::new_handle(module)) }?;
        Ok(vk::Result::SUCCESS)
    })
}

pub unsafe extern "system" fn destroy_shader_module(
    _device: vk::Device,
    module: vk::ShaderModule,
    _alloc: *const vk::AllocationCallbacks<'_>,
) {
    guard_void("vkDestroyShaderModule", || {
        // SAFETY: the handle is ours and the application is done with it.
        drop(unsafe { handle::free_handle::<ShaderModule, _>(module) });
        Ok(())
    })
}
