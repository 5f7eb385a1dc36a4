//! The layer's settings: environment variables first, then the standard
//! layer settings file (`vk_layer_settings.txt`, found through
//! `VK_LAYER_SETTINGS_PATH` (a file, or a folder holding one) or in the
//! current directory), then defaults. Read when an instance is created.
//!
//! | setting | variable | settings-file key | default |
//! |---|---|---|---|
//! | report folder | `PANTHOR_SPARSE_LAYER_REPORT_DIR` | `panthor_sparse.report_dir` | none: no report |
//! | stderr level | `PANTHOR_SPARSE_LAYER_LOG` | `panthor_sparse.log` | `warn` |
//! | PNG pixels per block side | `PANTHOR_SPARSE_LAYER_PNG_SCALE` | `panthor_sparse.png_scale` | `8` |
//! | also report every N binds | `PANTHOR_SPARSE_LAYER_REPORT_EVERY` | `panthor_sparse.report_every` | `0`: only at device destruction |

use std::path::{Path, PathBuf};

/// What goes to stderr when the application has no messenger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Log {
    Off,
    Error,
    Warn,
    Info,
}

impl Log {
    fn parse(s: &str) -> Option<Log> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "0" => Some(Log::Off),
            "error" => Some(Log::Error),
            "warn" | "warning" => Some(Log::Warn),
            "info" | "debug" | "all" => Some(Log::Info),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Where reports go (JSON summary and PNG maps per device); `None`: no
    /// reports.
    pub report_dir: Option<PathBuf>,
    pub log: Log,
    /// Side of the square that one block is in the PNG maps, in pixels.
    pub png_scale: u32,
    /// Also write the report after every this many `vkQueueBindSparse`
    /// calls of a device (0: only at device destruction).
    pub report_every: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            report_dir: None,
            log: Log::Warn,
            png_scale: 8,
            report_every: 0,
        }
    }
}

/// The settings-file key and variable of each setting.
const SETTINGS: [(&str, &str); 4] = [
    (
        "panthor_sparse.report_dir",
        "PANTHOR_SPARSE_LAYER_REPORT_DIR",
    ),
    ("panthor_sparse.log", "PANTHOR_SPARSE_LAYER_LOG"),
    ("panthor_sparse.png_scale", "PANTHOR_SPARSE_LAYER_PNG_SCALE"),
    (
        "panthor_sparse.report_every",
        "PANTHOR_SPARSE_LAYER_REPORT_EVERY",
    ),
];

impl Config {
    /// From this process's environment and settings file.
    pub fn load() -> Config {
        let file = settings_file().and_then(|p| std::fs::read_to_string(p).ok());
        Config::from_sources(|var| std::env::var(var).ok(), file.as_deref())
    }

    /// From a variable lookup and a settings file's text; variables win.
    pub fn from_sources(env: impl Fn(&str) -> Option<String>, file: Option<&str>) -> Config {
        let file_values = file.map(parse_settings).unwrap_or_default();
        let get = |i: usize| {
            let (key, var) = SETTINGS[i];
            env(var).filter(|v| !v.is_empty()).or_else(|| {
                file_values
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            })
        };
        let mut c = Config::default();
        if let Some(d) = get(0) {
            c.report_dir = Some(PathBuf::from(d));
        }
        if let Some(l) = get(1).as_deref().and_then(Log::parse) {
            c.log = l;
        }
        if let Some(s) = get(2).and_then(|s| s.trim().parse::<u32>().ok()) {
            c.png_scale = s.clamp(1, 64);
        }
        if let Some(n) = get(3).and_then(|s| s.trim().parse::<u64>().ok()) {
            c.report_every = n;
        }
        c
    }
}

/// `VK_LAYER_SETTINGS_PATH` (file, or folder with `vk_layer_settings.txt`),
/// else `./vk_layer_settings.txt`, if it exists.
fn settings_file() -> Option<PathBuf> {
    let name = "vk_layer_settings.txt";
    let candidate = match std::env::var_os("VK_LAYER_SETTINGS_PATH") {
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_dir() {
                p.join(name)
            } else {
                p
            }
        }
        None => Path::new(name).to_path_buf(),
    };
    candidate.is_file().then_some(candidate)
}

/// `key = value` lines; `#` starts a comment.
pub fn parse_settings(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next()?.trim();
            let (k, v) = line.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_override_the_settings_file() {
        let file = "# comment\npanthor_sparse.report_dir = /tmp/a\n\
                    panthor_sparse.log = error # trailing\nkhronos_validation.x = 1\n\
                    panthor_sparse.png_scale = 2\npanthor_sparse.report_every = 100\n";
        let none = |_: &str| None;
        let c = Config::from_sources(none, Some(file));
        assert_eq!(c.report_dir, Some(PathBuf::from("/tmp/a")));
        assert_eq!(c.log, Log::Error);
        assert_eq!(c.png_scale, 2);
        assert_eq!(c.report_every, 100);
        let env = |v: &str| (v == "PANTHOR_SPARSE_LAYER_REPORT_DIR").then(|| "/tmp/b".to_string());
        let c = Config::from_sources(env, Some(file));
        assert_eq!(c.report_dir, Some(PathBuf::from("/tmp/b")));
        assert_eq!(Config::from_sources(none, None), Config::default());
    }
}
