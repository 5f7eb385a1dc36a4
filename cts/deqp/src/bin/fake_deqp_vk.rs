//! `fake-deqp-vk`: a stand-in for VK-GL-CTS's `deqp-vk`, so the tests can
//! run deqp-runner (and `deqp-sparse`) without the CTS. It speaks just what
//! those use of dEQP's interface:
//!
//! - `--deqp-runmode=txt-caselist`: writes `TEST:`/`GROUP:` lines to
//!   `--deqp-caselist-export-file` (default `dEQP-VK-cases.txt` in the
//!   working directory). It lists a fixed set of sparse cases plus two
//!   non-sparse ones and ignores `--deqp-case` here, so the tests see
//!   `deqp-sparse`'s own filter at work.
//! - running the cases of `--deqp-caselist-file` or `--deqp-case` (a
//!   comma-separated list of names): dEQP's stdout lines (`Test case
//!   '<name>'..` then `  Pass (...)` etc.) and a QPA log in
//!   `--deqp-log-filename`. `dEQP-VK.info.device`, which deqp-runner runs
//!   first to print the device name, always passes.
//!
//! Other `--deqp-*` options are accepted and ignored; anything else is an
//! error, as in dEQP.
//!
//! Results are steered by the environment:
//! - `FAKE_DEQP_RESULTS=pattern=Status,...`: the first pattern that is a
//!   substring of the case name decides; Status is Pass, Fail, NotSupported
//!   or Crash (abort after printing the case line, as a driver crash would).
//!   Default Pass.
//! - `FAKE_DEQP_REQUIRE_ICD`: if set, a case fails unless `VK_ICD_FILENAMES`
//!   and `VK_DRIVER_FILES` name the same existing file (and, unless the value
//!   is `1`, that file is the value).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const SPARSE_CASES: &[&str] = &[
    "dEQP-VK.sparse_resources.buffer.transfer.sparse_binding.buffer_size_2_10",
    "dEQP-VK.sparse_resources.buffer.transfer.sparse_binding.buffer_size_2_12",
    "dEQP-VK.sparse_resources.buffer.transfer.sparse_binding.buffer_size_2_16",
    "dEQP-VK.sparse_resources.buffer.transfer.sparse_binding.buffer_size_2_17",
    "dEQP-VK.sparse_resources.buffer.ssbo.sparse_residency.buffer_size_2_10",
    "dEQP-VK.sparse_resources.image_sparse_binding.2d.r32i.128_128_1",
    "dEQP-VK.sparse_resources.image_sparse_binding.2d.rgba8ui.512_256_1",
    "dEQP-VK.sparse_resources.image_sparse_residency.2d.r32i.512_256_1",
    "dEQP-VK.sparse_resources.image_sparse_residency.3d.rgba32f.64_64_8",
    "dEQP-VK.sparse_resources.mipmap_sparse_residency.2d.r32i.512_256_1",
    "dEQP-VK.sparse_resources.aliasing.2d.r32i.128_128_1",
    "dEQP-VK.sparse_resources.queue_bind_sparse.no_dependency.1_queue_1_bind",
];

/// Listed but not sparse: `deqp-sparse` must drop them.
const OTHER_CASES: &[&str] = &[
    "dEQP-VK.api.smoke.create_sampler",
    "dEQP-VK.memory.allocation.basic.size_64.forward.count_1",
];

const INFO_DEVICE: &str = "dEQP-VK.info.device";

#[derive(Default)]
struct Args {
    caselist_mode: bool,
    export_file: Option<PathBuf>,
    caselist_file: Option<PathBuf>,
    cases: Option<String>,
    log_file: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args::default();
    for arg in std::env::args().skip(1) {
        let (key, value) = arg.split_once('=').unwrap_or((&arg, ""));
        match key {
            "--deqp-runmode" => match value {
                "execute" => args.caselist_mode = false,
                "txt-caselist" => args.caselist_mode = true,
                other => return Err(format!("unsupported --deqp-runmode={other}")),
            },
            "--deqp-caselist-export-file" => args.export_file = Some(value.into()),
            "--deqp-caselist-file" => args.caselist_file = Some(value.into()),
            "--deqp-case" => args.cases = Some(value.to_string()),
            "--deqp-log-filename" => args.log_file = Some(value.into()),
            k if k.starts_with("--deqp-") => {}
            _ => return Err(format!("unknown option {arg:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|args| {
        if args.caselist_mode {
            write_caselist(&args)
        } else {
            execute(&args)
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-deqp-vk: {e}");
            ExitCode::from(2)
        }
    }
}

fn write_caselist(args: &Args) -> Result<(), String> {
    let pattern = args
        .export_file
        .clone()
        .unwrap_or_else(|| "${packageName}-cases.${typeExtension}".into());
    let path = PathBuf::from(
        pattern
            .to_string_lossy()
            .replace("${packageName}", "dEQP-VK")
            .replace("${typeExtension}", "txt"),
    );
    let mut text = String::from("GROUP: dEQP-VK\n");
    let mut last_group = String::new();
    for case in SPARSE_CASES.iter().chain(OTHER_CASES) {
        let group = &case[..case.rfind('.').unwrap_or(0)];
        if group != last_group {
            text += &format!("GROUP: {group}\n");
            last_group = group.to_string();
        }
        text += &format!("TEST: {case}\n");
    }
    println!(
        "Writing test cases from 'dEQP-VK' to file '{}'..",
        path.display()
    );
    std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Pass,
    Fail,
    NotSupported,
    Crash,
}

/// `FAKE_DEQP_RESULTS` as (substring, outcome) pairs.
fn requested_outcomes() -> Result<Vec<(String, Outcome)>, String> {
    let spec = std::env::var("FAKE_DEQP_RESULTS").unwrap_or_default();
    spec.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| {
            let (pattern, status) = item
                .rsplit_once('=')
                .ok_or_else(|| format!("FAKE_DEQP_RESULTS item {item:?} is not pattern=Status"))?;
            let outcome = match status.trim() {
                "Pass" => Outcome::Pass,
                "Fail" => Outcome::Fail,
                "NotSupported" => Outcome::NotSupported,
                "Crash" => Outcome::Crash,
                other => return Err(format!("FAKE_DEQP_RESULTS: unknown status {other:?}")),
            };
            Ok((pattern.trim().to_string(), outcome))
        })
        .collect()
}

/// Why the ICD environment is wrong, if `FAKE_DEQP_REQUIRE_ICD` asks.
fn icd_problem() -> Option<String> {
    let want = std::env::var("FAKE_DEQP_REQUIRE_ICD").ok()?;
    let icd = std::env::var("VK_ICD_FILENAMES").unwrap_or_default();
    let driver_files = std::env::var("VK_DRIVER_FILES").unwrap_or_default();
    if icd.is_empty() || !Path::new(&icd).is_file() {
        Some(format!("VK_ICD_FILENAMES={icd:?} names no file"))
    } else if driver_files != icd {
        Some(format!(
            "VK_DRIVER_FILES={driver_files:?} differs from VK_ICD_FILENAMES={icd:?}"
        ))
    } else if want != "1" && want != icd {
        Some(format!("VK_ICD_FILENAMES={icd:?}, expected {want:?}"))
    } else {
        None
    }
}

fn cases_to_run(args: &Args) -> Result<Vec<String>, String> {
    if let Some(path) = &args.caselist_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading caselist {}: {e}", path.display()))?;
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    } else if let Some(cases) = &args.cases {
        Ok(cases.split(',').map(str::to_string).collect())
    } else {
        Err("no --deqp-caselist-file or --deqp-case".to_string())
    }
}

/// Writes the QPA log as it goes, so a crash leaves it cut short as dEQP's.
struct Qpa(BufWriter<File>);

impl Qpa {
    fn create(path: &Path) -> Result<Qpa, String> {
        let file = File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        let mut qpa = Qpa(BufWriter::new(file));
        qpa.write("#sessionInfo releaseName fake-deqp-vk\n#beginSession\n");
        Ok(qpa)
    }

    fn write(&mut self, text: &str) {
        // A log we cannot write is not worth failing the fake run over: the
        // stdout lines are what deqp-runner's verdicts come from.
        let _ = self.0.write_all(text.as_bytes());
        let _ = self.0.flush();
    }

    /// What follows a case's `#beginTestCaseResult` line once it finished.
    fn case_body(&mut self, name: &str, texts: &[String], code: &str, detail: &str) {
        let mut xml = format!(
            "<?xml version=\"1.0\"?>\n\
             <TestCaseResult Version=\"0.3.4\" CasePath=\"{}\" CaseType=\"SelfValidate\">\n",
            escape(name)
        );
        for text in texts {
            xml += &format!("<Text>{}</Text>\n", escape(text));
        }
        xml += &format!(
            "<Result StatusCode=\"{code}\">{}</Result>\n</TestCaseResult>\n\n#endTestCaseResult\n",
            escape(detail)
        );
        self.write(&xml);
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn execute(args: &Args) -> Result<(), String> {
    let cases = cases_to_run(args)?;
    let outcomes = requested_outcomes()?;
    let log_path = args
        .log_file
        .clone()
        .unwrap_or_else(|| "TestResults.qpa".into());
    let mut qpa = Qpa::create(&log_path)?;
    let out = std::io::stdout();
    let mut out = out.lock();
    // Flushed line by line: a crash must not lose what was printed.
    let mut say = |line: &str| {
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    say(&format!("Writing test log into {}", log_path.display()));
    say("dEQP Core fake-deqp-vk (0x00000000) starting..");
    say("  target implementation = 'fake'");

    for name in &cases {
        say("");
        say(&format!("Test case '{name}'.."));
        // Written first: a crash leaves the case open, as in dEQP's logs.
        qpa.write(&format!("#beginTestCaseResult {name}\n"));
        if name == INFO_DEVICE {
            let icd = std::env::var("VK_ICD_FILENAMES").unwrap_or_else(|_| "(unset)".into());
            let texts = vec![
                format!("deviceName: fake Mali (VK_ICD_FILENAMES={icd})"),
                "apiVersion: 1.1.0".to_string(),
            ];
            qpa.case_body(name, &texts, "Pass", "Pass");
            say("  Pass (Pass)");
            continue;
        }
        let outcome = outcomes
            .iter()
            .find(|(pattern, _)| name.contains(pattern.as_str()))
            .map_or(Outcome::Pass, |&(_, o)| o);
        let (code, detail) = match (icd_problem(), outcome) {
            (_, Outcome::Crash) => {
                // As a segfault in a driver would: mid-case, no result line.
                std::process::abort();
            }
            (Some(problem), _) => ("Fail", format!("ICD environment: {problem}")),
            (None, Outcome::Pass) => ("Pass", "Pass".to_string()),
            (None, Outcome::Fail) => ("Fail", "fake failure (FAKE_DEQP_RESULTS)".to_string()),
            (None, Outcome::NotSupported) => (
                "NotSupported",
                "fake: feature not supported at fake_deqp_vk.rs:1".to_string(),
            ),
        };
        qpa.case_body(name, &[], code, &detail);
        say(&format!("  {code} ({detail})"));
    }

    qpa.write("#endSession\n");
    say("");
    say("DONE!");
    Ok(())
}
