//! Delivery of the tracker's findings: to every application messenger
//! (`VK_EXT_debug_utils`) whose severity and type filters take them, as
//! `VALIDATION` messages with the rule as `messageIdName` and the objects
//! involved; or, when the application has no messenger, to stderr at the
//! configured level.

use std::ffi::CString;

use ash::vk;

use crate::config::Log;
use crate::dispatch::InstanceData;
use crate::tracker::{Message, Severity};

/// A stable `messageIdNumber` from the rule name (FNV-1a, folded to 32 bits).
pub fn id_number(id: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h as i32
}

fn severity(s: Severity) -> vk::DebugUtilsMessageSeverityFlagsEXT {
    match s {
        Severity::Error => vk::DebugUtilsMessageSeverityFlagsEXT::ERROR,
        Severity::Warning => vk::DebugUtilsMessageSeverityFlagsEXT::WARNING,
    }
}

/// Sends `messages` to the application of `instance`.
pub fn deliver(instance: &InstanceData, messages: &[Message]) {
    if messages.is_empty() {
        return;
    }
    let messengers = instance
        .messengers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    for m in messages {
        if messengers.is_empty() {
            let level = match m.severity {
                Severity::Error => Log::Error,
                Severity::Warning => Log::Warn,
            };
            if instance.config.log >= level {
                let s = if m.severity == Severity::Error {
                    "ERROR"
                } else {
                    "WARNING"
                };
                eprintln!("[VK_LAYER_PANTHOR_sparse] {s} {}: {}", m.id, m.text);
            }
            continue;
        }
        let sev = severity(m.severity);
        let ty = vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION;
        let id = CString::new(m.id).unwrap_or_default();
        let text = CString::new(m.text.replace('\0', " ")).unwrap_or_default();
        let objects: Vec<vk::DebugUtilsObjectNameInfoEXT<'_>> = m
            .objects
            .iter()
            .map(|&(t, h)| vk::DebugUtilsObjectNameInfoEXT {
                object_type: t,
                object_handle: h,
                ..Default::default()
            })
            .collect();
        let data = vk::DebugUtilsMessengerCallbackDataEXT {
            p_message_id_name: id.as_ptr(),
            message_id_number: id_number(m.id),
            p_message: text.as_ptr(),
            object_count: objects.len() as u32,
            p_objects: objects.as_ptr(),
            ..Default::default()
        };
        for messenger in &messengers {
            if !messenger.severity.contains(sev) || !messenger.types.contains(ty) {
                continue;
            }
            if let Some(cb) = messenger.callback {
                // SAFETY: the application registered this callback with this
                // user data; `data` and what it points to live until it returns.
                unsafe { cb(sev, ty, &data, messenger.user_data as *mut _) };
            }
        }
    }
}

/// An informational line on stderr (level `info`).
pub fn info(instance: &InstanceData, text: &str) {
    if instance.config.log >= Log::Info {
        eprintln!("[VK_LAYER_PANTHOR_sparse] {text}");
    }
}
