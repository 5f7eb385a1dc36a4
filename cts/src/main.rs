//! `sparse-cts`: runs the sparse conformance suite on the Vulkan driver the
//! system loader finds (point VK_ICD_FILENAMES at one manifest to choose).

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use panthor_cts::{groups, report, run, Vk};

#[derive(Parser)]
#[command(about = "Sparse-resources conformance suite, through the system Vulkan loader")]
struct Args {
    /// Run only cases whose name matches (`*` matches any run of characters;
    /// without `*`, a substring). May repeat.
    #[arg(long, short)]
    filter: Vec<String>,
    /// Print the case names and exit.
    #[arg(long)]
    list: bool,
    /// Physical device index.
    #[arg(long, default_value_t = 0)]
    device: usize,
    /// Write JUnit XML here.
    #[arg(long)]
    junit: Option<std::path::PathBuf>,
    /// Write JSON results here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let all = groups::all();
    let cases: Vec<_> = all
        .iter()
        .filter(|c| {
            args.filter.is_empty() || args.filter.iter().any(|f| panthor_cts::matches(f, &c.name))
        })
        .collect();
    if args.list {
        cases.iter().for_each(|c| println!("{}", c.name));
        return ExitCode::SUCCESS;
    }
    let vk = match Vk::new(args.device) {
        Ok(vk) => vk,
        Err(e) => {
            eprintln!("sparse-cts: {e}");
            return ExitCode::from(2);
        }
    };
    let device = vk.device_name();
    let driver = vk.driver_version();
    eprintln!("sparse-cts: {} cases on {device} ({driver})", cases.len());
    let start = Instant::now();
    let reports = run::run_all(&vk, &cases, !args.no_progress);
    let elapsed = start.elapsed();
    print!("{}", report::table(&reports, &device, elapsed));
    let write = |path: &Option<std::path::PathBuf>, text: String| {
        if let Some(p) = path {
            if let Err(e) = std::fs::write(p, text) {
                eprintln!("sparse-cts: cannot write {}: {e}", p.display());
                return false;
            }
        }
        true
    };
    let written = write(&args.junit, report::junit(&reports, elapsed))
        & write(
            &args.json,
            report::json(&reports, &device, &driver, elapsed),
        );
    if report::Counts::of(&reports).fail > 0 || !written {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
