//! `deqp-sparse` end to end: the real deqp-runner binary over `fake-deqp-vk`.
//!
//! deqp-runner must be installed (`scripts/install-deqp-runner`); without it
//! these tests fail with the install command rather than skip, so a CI run
//! cannot pass without having exercised the runner.

use panthor_deqp::{find_deqp_runner, target_dir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const DEQP_SPARSE: &str = env!("CARGO_BIN_EXE_deqp-sparse");
const FAKE_DEQP: &str = env!("CARGO_BIN_EXE_fake-deqp-vk");

/// How many sparse cases the fake lists.
const FAKE_SPARSE_CASES: usize = 12;
const FAILING: &str = "dEQP-VK.sparse_resources.buffer.transfer.sparse_binding.buffer_size_2_12";
const CRASHING: &str = "dEQP-VK.sparse_resources.image_sparse_residency.2d.r32i.512_256_1";

fn deqp_runner() -> PathBuf {
    find_deqp_runner(&target_dir()).unwrap_or_else(|hint| panic!("{hint}"))
}

/// A temp dir with a dummy ICD manifest and an expectations dir (`test-*`
/// files, empty unless a test writes them).
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("icd.json"),
            r#"{"file_format_version": "1.0.0", "ICD": {"library_path": "/nonexistent/libdummy.so", "api_version": "1.1.0"}}"#,
        )
        .unwrap();
        let exp = dir.path().join("expectations");
        std::fs::create_dir(&exp).unwrap();
        for file in ["test-fails.csv", "test-skips.txt", "test-flakes.txt"] {
            std::fs::write(exp.join(file), "# empty\n").unwrap();
        }
        Fixture { dir }
    }

    fn icd(&self) -> PathBuf {
        self.dir.path().join("icd.json").canonicalize().unwrap()
    }

    fn expectation(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join("expectations").join(file), text).unwrap();
    }

    fn output(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// `deqp-sparse` with the fixture's ICD, expectations (unless `extra`
    /// names others) and output; `env` steers the fake.
    fn run(&self, extra: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut cmd = Command::new(DEQP_SPARSE);
        cmd.arg("--deqp")
            .arg(FAKE_DEQP)
            .arg("--deqp-runner")
            .arg(deqp_runner())
            .arg("--icd")
            .arg(self.icd())
            .arg("--output")
            .arg(self.output())
            .args(["--jobs", "2"]);
        if !extra.contains(&"--expectations") {
            cmd.arg("--expectations")
                .arg(self.dir.path().join("expectations"))
                .args(["--expectations-name", "test"]);
        }
        cmd.args(extra);
        for var in [
            "DEQP_VK",
            "FAKE_DEQP_RESULTS",
            "FAKE_DEQP_REQUIRE_ICD",
            "VK_ICD_FILENAMES",
            "VK_DRIVER_FILES",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        let out = cmd.output().expect("running deqp-sparse");
        let outcome = Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            results: read_results(&self.output().join("results.csv")),
        };
        eprintln!(
            "--- deqp-sparse exit {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            outcome.code, outcome.stdout, outcome.stderr
        );
        outcome
    }
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// results.csv: test name to status.
    results: BTreeMap<String, String>,
}

impl Outcome {
    fn status(&self, test: &str) -> &str {
        self.results
            .get(test)
            .map_or("(not in results.csv)", |s| s.as_str())
    }

    /// The summary table's count for `status` (0 if absent).
    fn summary_count(&self, status: &str) -> usize {
        let summary = self
            .stdout
            .split("== deqp-sparse summary")
            .nth(1)
            .expect("no summary in stdout");
        summary
            .lines()
            .find_map(|l| {
                let mut words = l.split_whitespace();
                (words.next() == Some(status)).then(|| words.next()?.parse().ok())?
            })
            .unwrap_or(0)
    }
}

fn read_results(path: &Path) -> BTreeMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut f = l.rsplitn(3, ',');
            let (_secs, status, name) = (f.next()?, f.next()?, f.next()?);
            Some((name.to_string(), status.to_string()))
        })
        .collect()
}

#[test]
fn all_pass_runs_only_the_sparse_cases() {
    let fx = Fixture::new();
    let run = fx.run(&[], &[]);
    assert_eq!(run.code, Some(0));
    assert_eq!(run.results.len(), FAKE_SPARSE_CASES, "{:?}", run.results);
    for (name, status) in &run.results {
        assert!(name.starts_with("dEQP-VK.sparse_resources."), "{name}");
        assert_eq!(status, "Pass", "{name}");
    }
    assert_eq!(run.summary_count("Pass"), FAKE_SPARSE_CASES);
    assert_eq!(run.summary_count("total"), FAKE_SPARSE_CASES);
    assert!(run.stdout.contains("No unexpected results."));
    // The generated caselist is kept next to the results.
    let caselist = std::fs::read_to_string(fx.output().join("sparse-caselist.txt")).unwrap();
    assert_eq!(caselist.lines().count(), FAKE_SPARSE_CASES);
    assert!(!caselist.contains("dEQP-VK.api."));
}

#[test]
fn unexpected_failure_fails_the_run_and_is_named() {
    let fx = Fixture::new();
    let run = fx.run(
        &[],
        &[(
            "FAKE_DEQP_RESULTS",
            "buffer_size_2_12=Fail,3d.rgba32f=NotSupported",
        )],
    );
    assert_eq!(run.code, Some(1));
    assert_eq!(run.status(FAILING), "Fail");
    // NotSupported is a skip, not a failure.
    assert_eq!(
        run.status("dEQP-VK.sparse_resources.image_sparse_residency.3d.rgba32f.64_64_8"),
        "Skip"
    );
    assert_eq!(run.summary_count("Fail"), 1);
    assert_eq!(run.summary_count("Skip"), 1);
    assert_eq!(run.summary_count("Pass"), FAKE_SPARSE_CASES - 2);
    assert!(
        run.stdout.contains(&format!("  {FAILING},Fail")),
        "failing case not listed as unexpected"
    );
    let failures = std::fs::read_to_string(fx.output().join("failures.csv")).unwrap();
    assert_eq!(failures.trim(), format!("{FAILING},Fail"));
}

#[test]
fn baselined_failure_is_an_expected_fail() {
    let fx = Fixture::new();
    fx.expectation(
        "test-fails.csv",
        &format!("# known failure\n{FAILING},Fail\n"),
    );
    // An explicit caselist is used as given.
    let caselist = fx.dir.path().join("caselist.txt");
    std::fs::write(
        &caselist,
        format!(
            "{FAILING}\n\
             dEQP-VK.sparse_resources.aliasing.2d.r32i.128_128_1\n\
             dEQP-VK.api.smoke.create_sampler\n"
        ),
    )
    .unwrap();
    let run = fx.run(
        &["--caselist", caselist.to_str().unwrap()],
        &[("FAKE_DEQP_RESULTS", "buffer_size_2_12=Fail")],
    );
    assert_eq!(run.code, Some(0));
    assert_eq!(run.results.len(), 3);
    assert_eq!(run.status(FAILING), "ExpectedFail");
    assert_eq!(run.summary_count("ExpectedFail"), 1);
    assert_eq!(run.summary_count("Pass"), 2);
    assert!(run.stdout.contains("No unexpected results."));
}

#[test]
fn crash_is_reported_as_a_crash() {
    let fx = Fixture::new();
    let run = fx.run(
        &[],
        &[("FAKE_DEQP_RESULTS", "image_sparse_residency.2d.r32i=Crash")],
    );
    assert_eq!(run.code, Some(1));
    assert_eq!(run.status(CRASHING), "Crash");
    // deqp-runner restarts the fake after the crash for the cases left.
    assert_eq!(run.results.len(), FAKE_SPARSE_CASES);
    assert_eq!(run.summary_count("Crash"), 1);
    assert_eq!(run.summary_count("Pass"), FAKE_SPARSE_CASES - 1);
    assert!(run.stdout.contains(&format!("  {CRASHING},Crash")));
}

#[test]
fn skips_file_keeps_a_case_from_running() {
    let fx = Fixture::new();
    fx.expectation(
        "test-skips.txt",
        "# too slow\ndEQP-VK.sparse_resources.image_sparse_residency.2d.r32i.512_256_1\n",
    );
    // The case would crash if it ran.
    let run = fx.run(
        &[],
        &[("FAKE_DEQP_RESULTS", "image_sparse_residency.2d.r32i=Crash")],
    );
    assert_eq!(run.code, Some(0));
    assert_eq!(run.status(CRASHING), "Skip");
    assert_eq!(run.summary_count("Skip"), 1);
    assert_eq!(run.summary_count("Pass"), FAKE_SPARSE_CASES - 1);
}

#[test]
fn icd_manifest_reaches_deqp() {
    let fx = Fixture::new();
    let icd = fx.icd();
    // A stale VK_ICD_FILENAMES of the caller must not win.
    let run = fx.run(
        &[],
        &[
            ("FAKE_DEQP_REQUIRE_ICD", icd.to_str().unwrap()),
            ("VK_ICD_FILENAMES", "/nonexistent/other_icd.json"),
        ],
    );
    assert_eq!(run.code, Some(0));
    assert_eq!(run.summary_count("Pass"), FAKE_SPARSE_CASES);
    // deqp-runner prints the device name from dEQP-VK.info.device, where the
    // fake reports the manifest it was given.
    assert!(
        run.stdout
            .contains(&format!("VK_ICD_FILENAMES={}", icd.display())),
        "device name line does not show the manifest"
    );
}

/// The check above must be able to fail: the fake with no ICD environment.
#[test]
fn fake_fails_cases_without_the_icd_environment() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.qpa");
    let out = Command::new(FAKE_DEQP)
        .arg(format!("--deqp-case={FAILING}"))
        .arg(format!("--deqp-log-filename={}", log.display()))
        .arg("--deqp-surface-type=pbuffer")
        .env("FAKE_DEQP_REQUIRE_ICD", "1")
        .env_remove("VK_ICD_FILENAMES")
        .env_remove("VK_DRIVER_FILES")
        .env_remove("FAKE_DEQP_RESULTS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains(&format!("Test case '{FAILING}'..")));
    assert!(stdout.contains("  Fail (ICD environment"), "{stdout}");
    let qpa = std::fs::read_to_string(&log).unwrap();
    assert!(qpa.contains(&format!("#beginTestCaseResult {FAILING}\n")));
    assert!(qpa.contains("<Result StatusCode=\"Fail\">"));
    assert!(qpa.trim_end().ends_with("#endSession"));
}

/// Our real expectation files parse in deqp-runner (a typo in them would
/// otherwise only show on a machine with the CTS).
#[test]
fn repo_expectations_are_accepted_by_deqp_runner() {
    let fx = Fixture::new();
    let repo_expectations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../expectations");
    let run = fx.run(
        &["--expectations", repo_expectations.to_str().unwrap()],
        &[],
    );
    // 2 would be a fake name listed as failing in panthor-fails.csv.
    assert!(matches!(run.code, Some(0 | 2)), "exit {:?}", run.code);
    assert!(!run.results.is_empty());
    assert!(
        !run.stderr.contains("note: no "),
        "an expectation file is missing"
    );
}

#[test]
fn no_deqp_is_a_setup_error_that_says_what_to_do() {
    let out = Command::new(DEQP_SPARSE)
        .args(["--icd", "/nonexistent.json"])
        .env_remove("DEQP_VK")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--deqp PATH or set DEQP_VK"), "{stderr}");
}
