//! Shared by `deqp-sparse` and its tests: where the workspace, its target
//! directory and deqp-runner are, and the summary of a deqp-runner run.
//!
//! We run deqp-runner's binary (installed with `scripts/install-deqp-runner`)
//! rather than linking its library: its CLI and output files are what Mesa's
//! CI relies on, its library API is not promised to be stable.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The deqp-runner release we use and document.
pub const DEQP_RUNNER_VERSION: &str = "0.24.0";

/// The workspace root (this crate lives in `cts/deqp/`).
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .unwrap_or(manifest_dir)
        .to_path_buf()
}

/// Cargo's target directory: the first ancestor of the running executable
/// that holds cargo's `CACHEDIR.TAG` (works for `target/debug/x`,
/// `target/<triple>/release/x`, test binaries in `deps/` and
/// `CARGO_TARGET_DIR`), else `<repo>/target`.
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .skip(1)
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| repo_root().join("target"))
}

/// Where `scripts/install-deqp-runner` puts deqp-runner.
pub fn tools_deqp_runner(target: &Path) -> PathBuf {
    target.join("tools/bin/deqp-runner")
}

/// How to install deqp-runner where we look for it.
pub fn install_hint(target: &Path) -> String {
    format!(
        "deqp-runner was not found in PATH nor at {}.\n\
         Install it (once, a few minutes) with:\n    \
         scripts/install-deqp-runner\n\
         or directly:\n    \
         cargo install --locked deqp-runner --version {DEQP_RUNNER_VERSION} --root {}",
        tools_deqp_runner(target).display(),
        target.join("tools").display()
    )
}

/// The first executable `name` in `PATH`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// deqp-runner from `PATH`, else from `<target>/tools/bin`; the error is the
/// install hint.
pub fn find_deqp_runner(target: &Path) -> Result<PathBuf, String> {
    find_in_path("deqp-runner")
        .or_else(|| Some(tools_deqp_runner(target)).filter(|p| is_executable(p)))
        .ok_or_else(|| install_hint(target))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Counts per status of a deqp-runner `results.csv` (`name,Status,seconds`
/// per line, as deqp-runner 0.24 writes it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Status (as deqp-runner spells it) to count.
    pub counts: BTreeMap<String, usize>,
    pub total: usize,
}

/// The order statuses are shown in: what needs attention first, then the
/// rest. Anything else deqp-runner writes (e.g. `UnexpectedImprovement(Pass)`)
/// follows, alphabetically.
const STATUS_ORDER: &[&str] = &[
    "Pass",
    "Fail",
    "Crash",
    "Timeout",
    "Missing",
    "ExpectedFail",
    "Flake",
    "KnownFlake",
    "Warn",
    "Skip",
];

impl Summary {
    pub fn parse_results_csv(text: &str) -> Result<Summary, String> {
        let mut summary = Summary::default();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // The name is everything before the last two fields.
            let mut fields = line.rsplitn(3, ',');
            let (_secs, status, _name) = match (fields.next(), fields.next(), fields.next()) {
                (Some(secs), Some(status), Some(name)) if !name.is_empty() => (secs, status, name),
                _ => return Err(format!("results.csv line {}: {line:?}", i + 1)),
            };
            *summary.counts.entry(status.to_string()).or_default() += 1;
            summary.total += 1;
        }
        Ok(summary)
    }

    pub fn count(&self, status: &str) -> usize {
        self.counts.get(status).copied().unwrap_or(0)
    }

    /// A table: Pass always, every other status that occurred.
    pub fn table(&self) -> String {
        let mut rows: Vec<(&str, usize)> = vec![("Pass", self.count("Pass"))];
        for status in &STATUS_ORDER[1..] {
            if self.count(status) > 0 {
                rows.push((status, self.count(status)));
            }
        }
        for (status, &n) in &self.counts {
            if !STATUS_ORDER.contains(&status.as_str()) {
                rows.push((status, n));
            }
        }
        let width = rows
            .iter()
            .map(|(s, _)| s.len())
            .fold("total".len(), usize::max);
        let mut out = String::new();
        for (status, n) in rows {
            let _ = writeln!(out, "  {status:<width$}  {n:>6}");
        }
        let _ = writeln!(out, "  {:<width$}  {:>6}", "total", self.total);
        out
    }
}

/// The non-empty, non-comment lines of a deqp-runner `failures.csv`
/// (`name,Status`): the unexpected results.
pub fn unexpected_results(failures_csv: &str) -> Vec<String> {
    failures_csv
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The `TEST:` lines under `prefix` of a dEQP `--deqp-runmode=txt-caselist`
/// export (which also has `GROUP:` lines).
pub fn caselist_from_txt_export(export: &str, prefix: &str) -> Vec<String> {
    export
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix("TEST: "))
        .map(str::trim)
        .filter(|name| name.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_orders_statuses() {
        let csv = "dEQP-VK.a,Pass,0.1\n\
                   dEQP-VK.b,Fail,0.2\n\
                   dEQP-VK.c,Pass,0\n\
                   dEQP-VK.d,UnexpectedImprovement(Pass),0\n\
                   dEQP-VK.e,Skip,0\n";
        let s = Summary::parse_results_csv(csv).unwrap();
        assert_eq!(s.total, 5);
        assert_eq!(s.count("Pass"), 2);
        assert_eq!(s.count("UnexpectedImprovement(Pass)"), 1);
        let table = s.table();
        let order: Vec<&str> = table
            .lines()
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(
            order,
            [
                "Pass",
                "Fail",
                "Skip",
                "UnexpectedImprovement(Pass)",
                "total"
            ]
        );
    }

    #[test]
    fn summary_shows_pass_even_when_zero_and_rejects_garbage() {
        let s = Summary::parse_results_csv("dEQP-VK.a,Crash,1.5\n").unwrap();
        assert!(s.table().contains("Pass"));
        assert!(s.table().contains("Crash"));
        // Counts line up, "total" included.
        let ends: Vec<usize> = s.table().lines().map(str::len).collect();
        assert!(ends.windows(2).all(|w| w[0] == w[1]), "{}", s.table());
        assert!(Summary::parse_results_csv("just-a-name\n").is_err());
    }

    #[test]
    fn caselist_keeps_only_tests_under_the_prefix() {
        let export = "GROUP: dEQP-VK\n\
                      GROUP: dEQP-VK.sparse_resources\n\
                      TEST: dEQP-VK.sparse_resources.buffer.a\n\
                      TEST: dEQP-VK.api.smoke.create_sampler\n\
                      TEST: dEQP-VK.sparse_resources.image.b\r\n";
        assert_eq!(
            caselist_from_txt_export(export, "dEQP-VK.sparse_resources."),
            [
                "dEQP-VK.sparse_resources.buffer.a",
                "dEQP-VK.sparse_resources.image.b"
            ]
        );
    }

    #[test]
    fn install_hint_names_the_command() {
        let hint = install_hint(Path::new("/t"));
        assert!(
            hint.contains("cargo install --locked deqp-runner --version 0.24.0 --root /t/tools")
        );
    }
}
