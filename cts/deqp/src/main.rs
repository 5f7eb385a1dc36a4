//! `deqp-sparse`: runs the real dEQP-VK sparse tests (VK-GL-CTS's `deqp-vk`)
//! on our ICD with Mesa's deqp-runner, against our expectation files, and
//! prints a summary.
//!
//! deqp-runner does the real work (parallel groups, crash recovery, flake
//! re-runs, baseline comparison); this command only assembles its arguments
//! and environment: our ICD's manifest, the sparse caselist, and
//! `cts/expectations/`.

use clap::Parser;
use panthor_deqp::{
    caselist_from_txt_export, find_deqp_runner, find_in_path, repo_root, target_dir,
    unexpected_results, Summary, DEQP_RUNNER_VERSION,
};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// Cases kept from the generated caselist.
const SPARSE_PREFIX: &str = "dEQP-VK.sparse_resources.";

/// Exit status when the run could not start (no deqp-vk, no deqp-runner, no
/// ICD, empty caselist, bad options); 0-2 are deqp-runner's.
const SETUP_ERROR: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "deqp-sparse",
    about = "Runs dEQP-VK's sparse tests on the panthor ICD with deqp-runner",
    after_help = "\
Exit status: deqp-runner's: 0 = every result as expected, 1 = unexpected \
failures/crashes/timeouts (or a deqp-runner error), 2 = only unexpected \
improvements (remove them from the fails file); 3 = the run could not start.

Example:
  cargo run --release -p panthor-deqp --bin deqp-sparse -- \\
      --deqp ~/VK-GL-CTS/build/external/vulkancts/modules/vulkan/deqp-vk"
)]
struct Cli {
    /// deqp-vk binary (built from VK-GL-CTS) [default: $DEQP_VK]
    #[arg(long, value_name = "PATH")]
    deqp: Option<PathBuf>,

    /// Vulkan ICD manifest to test [default: our ICD, built and written by
    /// `manifests/install --to <target>/deqp-sparse/icd`]
    #[arg(long, value_name = "PATH")]
    icd: Option<PathBuf>,

    /// Caselist (one test name per line) [default: the dEQP-VK.sparse_resources
    /// cases that deqp-vk lists with --deqp-runmode=txt-caselist]
    #[arg(long, value_name = "PATH")]
    caselist: Option<PathBuf>,

    /// Output directory for deqp-runner (results.csv, failures.csv, logs)
    /// [default: <target>/deqp-sparse/run, emptied first]
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,

    /// Parallel deqp-vk processes [default: number of CPUs]
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,

    /// deqp-runner binary [default: deqp-runner in PATH, else
    /// <target>/tools/bin/deqp-runner (scripts/install-deqp-runner)]
    #[arg(long = "deqp-runner", value_name = "PATH")]
    deqp_runner: Option<PathBuf>,

    /// Directory of the expectation files <name>-fails.csv, <name>-skips.txt,
    /// <name>-flakes.txt [default: cts/expectations]
    #[arg(long, value_name = "DIR")]
    expectations: Option<PathBuf>,

    /// The <name> of the expectation files
    #[arg(long, value_name = "NAME", default_value = "panthor")]
    expectations_name: String,

    /// Only run tests matching this regex (deqp-runner --include-tests; repeatable)
    #[arg(long = "include-tests", short = 't', value_name = "REGEX")]
    include_tests: Vec<String>,

    /// Per-test timeout in seconds. The virtual Mali's shader cores
    /// interpret SPIR-V: the 16 MiB buffer cases dispatch 4096 x 4096
    /// workgroups and take about 2 minutes, over deqp-runner's 60 s default
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    timeout: f64,

    /// Run one case in every N (deqp-runner --fraction): a sample of the
    /// 19402 cases, which take hours in full on two cores
    #[arg(long, value_name = "N", default_value_t = 1)]
    fraction: u32,

    /// Extra deqp-runner option, e.g. --runner-arg=--fraction-start=2 (repeatable)
    #[arg(long = "runner-arg", value_name = "ARG", allow_hyphen_values = true)]
    runner_args: Vec<String>,

    /// Arguments after `--` go to deqp-vk
    #[arg(last = true, value_name = "DEQP_ARGS")]
    deqp_args: Vec<String>,
}

/// A setup failure: the message says what to do.
struct SetupError(String);

impl<E: std::fmt::Display> From<E> for SetupError {
    fn from(e: E) -> Self {
        SetupError(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { SETUP_ERROR } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(SetupError(msg)) => {
            eprintln!("deqp-sparse: {msg}");
            ExitCode::from(SETUP_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, SetupError> {
    let root = repo_root();
    let target = target_dir();

    let deqp = resolve_deqp(cli.deqp)?;
    let runner = match cli.deqp_runner {
        Some(path) => resolve_executable(&path, "--deqp-runner")?,
        None => find_deqp_runner(&target)?,
    };
    check_runner_version(&runner);

    let expectations = Expectations::find(
        cli.expectations
            .unwrap_or_else(|| root.join("cts/expectations")),
        &cli.expectations_name,
    )?;

    let output = prepare_output(cli.output, &target)?;

    let icd = match cli.icd {
        Some(path) => {
            if !path.is_file() {
                return Err(SetupError(format!(
                    "--icd {}: no such file",
                    path.display()
                )));
            }
            path.canonicalize()?
        }
        None => install_our_icd(&root, &target.join("deqp-sparse/icd"))?,
    };
    let env = IcdEnv::new(&icd);

    let caselist = match cli.caselist {
        Some(path) => {
            if !path.is_file() {
                return Err(SetupError(format!(
                    "--caselist {}: no such file",
                    path.display()
                )));
            }
            path.canonicalize()?
        }
        None => generate_caselist(&deqp, &cli.deqp_args, &env, &output)?,
    };

    let jobs = cli
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    let mut cmd = Command::new(&runner);
    cmd.arg("run")
        .arg("--deqp")
        .arg(&deqp)
        .arg("--caselist")
        .arg(&caselist)
        .arg("--output")
        .arg(&output)
        .arg("--jobs")
        .arg(jobs.to_string())
        .arg("--timeout")
        .arg(cli.timeout.to_string())
        .arg("--fraction")
        .arg(cli.fraction.max(1).to_string());
    expectations.add_args(&mut cmd);
    for regex in &cli.include_tests {
        cmd.arg("--include-tests").arg(regex);
    }
    cmd.args(&cli.runner_args).arg("--").args(&cli.deqp_args);
    env.apply(&mut cmd);

    eprintln!("deqp-sparse: running: {}", describe_with(&cmd, &env));
    let status = cmd
        .status()
        .map_err(|e| format!("running {}: {e}", runner.display()))?;
    // deqp-runner exits 0, 1 or 2; a signal or a panic (101) counts as 1.
    let code = match status.code() {
        Some(c @ 0..=2) => c as u8,
        _ => 1,
    };
    if !output.join("results.csv").is_file() {
        println!(
            "\ndeqp-sparse: deqp-runner wrote no results ({status}); see its messages above{}",
            if cli.include_tests.is_empty() {
                ""
            } else {
                " (deqp-runner 0.24 panics when --include-tests leaves no test to run)"
            }
        );
        return Ok(ExitCode::from(1));
    }

    print_summary(&output, &expectations, code);
    Ok(ExitCode::from(code))
}

/// `--deqp`, else `$DEQP_VK`, as an absolute path: deqp-runner runs deqp-vk
/// in the binary's own directory (where its data files are), which needs a
/// real parent directory.
fn resolve_deqp(arg: Option<PathBuf>) -> Result<PathBuf, SetupError> {
    let path = arg
        .or_else(|| std::env::var_os("DEQP_VK").map(PathBuf::from))
        .ok_or_else(|| {
            SetupError(
                "no deqp-vk: pass --deqp PATH or set DEQP_VK.\n\
                 deqp-vk is built from VK-GL-CTS (https://github.com/KhronosGroup/VK-GL-CTS): \
                 `python3 external/fetch_sources.py`, then cmake and build the `deqp-vk` target; \
                 the binary is <build>/external/vulkancts/modules/vulkan/deqp-vk"
                    .to_string(),
            )
        })?;
    resolve_executable(&path, "--deqp")
}

/// An absolute path for `path`, looked up in PATH if it is a bare name.
fn resolve_executable(path: &Path, what: &str) -> Result<PathBuf, SetupError> {
    let found = if path.components().count() == 1 && !path.exists() {
        path.to_str().and_then(find_in_path)
    } else {
        Some(path.to_path_buf())
    };
    match found.filter(|p| p.is_file()) {
        Some(p) => Ok(p.canonicalize()?),
        None => Err(SetupError(format!(
            "{what} {}: no such file",
            path.display()
        ))),
    }
}

/// Warns (only) if the deqp-runner found is not the version we document:
/// its CLI and output formats have been stable, but results may differ.
fn check_runner_version(runner: &Path) {
    let version = Command::new(runner)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if version != format!("deqp-runner {DEQP_RUNNER_VERSION}") {
        eprintln!(
            "deqp-sparse: warning: {} reports {version:?}, tested with deqp-runner {DEQP_RUNNER_VERSION}",
            runner.display()
        );
    }
}

/// The expectation files that exist (deqp-runner refuses missing ones).
struct Expectations {
    fails: Option<PathBuf>,
    skips: Option<PathBuf>,
    flakes: Option<PathBuf>,
}

impl Expectations {
    fn find(dir: PathBuf, name: &str) -> Result<Expectations, SetupError> {
        if !dir.is_dir() {
            return Err(SetupError(format!(
                "--expectations {}: no such directory",
                dir.display()
            )));
        }
        let dir = dir.canonicalize()?;
        let file = |suffix: &str| {
            let path = dir.join(format!("{name}-{suffix}"));
            if path.is_file() {
                Some(path)
            } else {
                eprintln!(
                    "deqp-sparse: note: no {}; running without it",
                    path.display()
                );
                None
            }
        };
        Ok(Expectations {
            fails: file("fails.csv"),
            skips: file("skips.txt"),
            flakes: file("flakes.txt"),
        })
    }

    fn add_args(&self, cmd: &mut Command) {
        for (flag, path) in [
            ("--baseline", &self.fails),
            ("--skips", &self.skips),
            ("--flakes", &self.flakes),
        ] {
            if let Some(path) = path {
                cmd.arg(flag).arg(path);
            }
        }
    }
}

/// Creates the output directory. Our default one is emptied (old logs would
/// mix with the new run's); a user-chosen one only loses the files we read,
/// so a run that dies early never shows the previous summary.
fn prepare_output(arg: Option<PathBuf>, target: &Path) -> Result<PathBuf, SetupError> {
    let (dir, ours) = match arg {
        Some(dir) => (dir, false),
        None => (target.join("deqp-sparse/run"), true),
    };
    if ours && dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("emptying {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for stale in ["results.csv", "failures.csv", "failures-all.csv"] {
        let path = dir.join(stale);
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| format!("removing {}: {e}", path.display()))?;
        }
    }
    Ok(dir.canonicalize()?)
}

/// Builds our ICD (release) and writes its manifest into `dir` with
/// `manifests/install`, which prints the manifest's path.
fn install_our_icd(root: &Path, dir: &Path) -> Result<PathBuf, SetupError> {
    eprintln!(
        "deqp-sparse: building the ICD (manifests/install --to {})",
        dir.display()
    );
    let out = Command::new(root.join("manifests/install"))
        .arg("--to")
        .arg(dir)
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running manifests/install: {e}"))?;
    if !out.status.success() {
        return Err(SetupError(format!(
            "manifests/install failed ({}); pass --icd MANIFEST to use another build",
            out.status
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let manifest = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .ok_or_else(|| format!("manifests/install printed no manifest path: {stdout:?}"))?;
    Ok(manifest)
}

/// The environment that points the Vulkan loader (in deqp-vk) at one ICD.
struct IcdEnv {
    vars: Vec<(&'static str, OsString)>,
}

impl IcdEnv {
    fn new(manifest: &Path) -> IcdEnv {
        let mut vars = vec![
            // VK_DRIVER_FILES for loaders since 1.3.207, VK_ICD_FILENAMES
            // for older ones; both replace the system's drivers.
            ("VK_ICD_FILENAMES", manifest.as_os_str().to_owned()),
            ("VK_DRIVER_FILES", manifest.as_os_str().to_owned()),
        ];
        // The virtual Mali unless the user picked devices: the run must not
        // depend on what hardware the machine has.
        if std::env::var_os("PANTHOR_VK_DEVICES").is_none() {
            vars.push(("PANTHOR_VK_DEVICES", "virtual".into()));
        }
        IcdEnv { vars }
    }

    fn apply(&self, cmd: &mut Command) {
        // Would add other drivers next to ours, and deqp-vk tests device 1.
        cmd.env_remove("VK_ADD_DRIVER_FILES");
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
    }

    fn describe(&self) -> String {
        self.vars
            .iter()
            .map(|(k, v)| format!("{k}={} ", v.to_string_lossy()))
            .collect()
    }
}

/// Lists deqp-vk's sparse cases into `<output>/sparse-caselist.txt`. deqp-vk
/// runs in its own directory (as under deqp-runner: some groups read data
/// files while being listed) and exports to a file we name.
fn generate_caselist(
    deqp: &Path,
    deqp_args: &[String],
    env: &IcdEnv,
    output: &Path,
) -> Result<PathBuf, SetupError> {
    let export = output.join("dEQP-VK-cases.txt");
    let log = output.join("caselist.qpa");
    let mut cmd = Command::new(deqp);
    cmd.current_dir(deqp.parent().unwrap_or(Path::new("/")))
        .args(deqp_args)
        .arg("--deqp-runmode=txt-caselist")
        .arg(format!("--deqp-case={SPARSE_PREFIX}*"))
        .arg(format!("--deqp-caselist-export-file={}", export.display()))
        .arg(format!("--deqp-log-filename={}", log.display()))
        .stdin(Stdio::null());
    env.apply(&mut cmd);
    eprintln!("deqp-sparse: listing cases: {}", describe_with(&cmd, env));
    let out = cmd
        .output()
        .map_err(|e| format!("running {}: {e}", deqp.display()))?;
    let text = std::fs::read_to_string(&export).map_err(|e| {
        format!(
            "{} --deqp-runmode=txt-caselist wrote no {} ({e}; {}):\n{}{}",
            deqp.display(),
            export.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let cases = caselist_from_txt_export(&text, SPARSE_PREFIX);
    if cases.is_empty() {
        return Err(SetupError(format!(
            "{} lists no {SPARSE_PREFIX}* cases (see {})",
            deqp.display(),
            export.display()
        )));
    }
    let caselist = output.join("sparse-caselist.txt");
    std::fs::write(&caselist, cases.join("\n") + "\n")
        .map_err(|e| format!("writing {}: {e}", caselist.display()))?;
    // Only the filtered list is worth keeping.
    let _ = std::fs::remove_file(&export);
    let _ = std::fs::remove_file(&log);
    eprintln!(
        "deqp-sparse: {} {SPARSE_PREFIX}* cases in {}",
        cases.len(),
        caselist.display()
    );
    Ok(caselist)
}

/// A shell-like rendering of `cmd`, to rerun it by hand.
fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

fn describe_with(cmd: &Command, env: &IcdEnv) -> String {
    format!("{}{}", env.describe(), describe(cmd))
}

fn print_summary(output: &Path, expectations: &Expectations, code: u8) {
    let results = output.join("results.csv");
    println!();
    println!("== deqp-sparse summary ({}) ==", output.display());
    let summary = std::fs::read_to_string(&results)
        .map_err(|e| format!("reading {}: {e}", results.display()))
        .and_then(|text| Summary::parse_results_csv(&text));
    match summary {
        Ok(summary) => print!("{}", summary.table()),
        Err(e) => println!("(no table: {e})"),
    }
    let failures = output.join("failures.csv");
    let unexpected = std::fs::read_to_string(&failures)
        .map(|t| unexpected_results(&t))
        .unwrap_or_default();
    if unexpected.is_empty() {
        println!("No unexpected results.");
    } else {
        println!("Unexpected results ({}):", failures.display());
        for line in &unexpected {
            println!("  {line}");
        }
        println!("Logs: the c*.log files and *.qpa next to failures.csv.");
    }
    let baseline = expectations
        .fails
        .as_ref()
        .map_or("no fails file".to_string(), |p| p.display().to_string());
    match code {
        0 => println!("Result: as expected (baseline: {baseline})"),
        2 => println!("Result: only unexpected improvements: remove them from {baseline}"),
        _ => println!("Result: REGRESSIONS or runner errors (exit status {code})"),
    }
}
