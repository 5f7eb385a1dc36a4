//! `panthor-conformance`: runs the uAPI conformance suite and prints a
//! results table. Without `--device` it runs on the in-process virtual
//! Mali (a fresh device per case); `--device /dev/dri/renderD128` runs the
//! same cases on a real panthor render node, `--device auto` on the first
//! one found.

use std::process::ExitCode;

use panthor_conformance::openers::{RealOpener, VirtualOpener, VIRTUAL_MEMORY};
use panthor_conformance::runner::{run_cases, table, Outcome};
use panthor_conformance::{cases, Case, Opener};

const USAGE: &str = "\
usage: panthor-conformance [--device PATH|auto] [--case NAME]... [--list] [--quiet]

Runs the panthor uAPI conformance suite and prints one line per case
(pass / FAIL / skip, time, reason).

  --device PATH   a panthor render node, e.g. /dev/dri/renderD128
  --device auto   the first panthor render node under /dev/dri
                  (default: the in-process virtual Mali, one per case)
  --case NAME     run only this case (repeatable; a NAME ending in '*'
                  selects every case starting with the rest)
  --list          list the cases and the rule each checks, then exit
  --quiet         no progress lines, only the table

Exit status: 0 when no case failed, 1 when one did, 2 on bad arguments.";

struct Args {
    device: Option<String>,
    cases: Vec<String>,
    list: bool,
    quiet: bool,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        device: None,
        cases: Vec::new(),
        list: false,
        quiet: false,
    };
    while let Some(a) = argv.next() {
        match a.as_str() {
            "--device" => args.device = Some(argv.next().ok_or("--device needs a path")?),
            "--case" => args.cases.push(argv.next().ok_or("--case needs a name")?),
            "--list" => args.list = true,
            "--quiet" => args.quiet = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn selected(all: Vec<Case>, names: &[String]) -> Result<Vec<Case>, String> {
    if names.is_empty() {
        return Ok(all);
    }
    let matches = |c: &Case, n: &str| match n.strip_suffix('*') {
        Some(prefix) => c.name.starts_with(prefix),
        None => c.name == n,
    };
    for n in names {
        if !all.iter().any(|c| matches(c, n)) {
            return Err(format!("no case matches {n:?} (see --list)"));
        }
    }
    Ok(all
        .into_iter()
        .filter(|c| names.iter().any(|n| matches(c, n)))
        .collect())
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("panthor-conformance: {e}\n");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(if e.is_empty() { 0 } else { 2 });
        }
    };
    let cases = match selected(cases(), &args.cases) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("panthor-conformance: {e}");
            return ExitCode::from(2);
        }
    };
    if args.list {
        let width = cases.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &cases {
            println!("{:<width$}  {}", c.name, c.rule);
        }
        return ExitCode::SUCCESS;
    }

    let device: Box<dyn Fn() -> Result<Box<dyn Opener>, String>> = match args.device.as_deref() {
        None => {
            Box::new(|| VirtualOpener::new(VIRTUAL_MEMORY).map(|o| Box::new(o) as Box<dyn Opener>))
        }
        Some(spec) => {
            let path = if spec == "auto" {
                match panthor_uapi::real::panthor_nodes().into_iter().next() {
                    Some(p) => p,
                    None => {
                        eprintln!("panthor-conformance: no panthor render node under /dev/dri");
                        return ExitCode::from(2);
                    }
                }
            } else {
                spec.into()
            };
            match RealOpener::new(&path) {
                Ok(o) => println!("device: {}", o.describe()),
                Err(e) => {
                    eprintln!("panthor-conformance: {e}");
                    return ExitCode::from(2);
                }
            }
            Box::new(move || RealOpener::new(&path).map(|o| Box::new(o) as Box<dyn Opener>))
        }
    };
    if args.device.is_none() {
        println!("device: in-process virtual Mali (panthor-sim), a fresh one per case");
    }

    let quiet = args.quiet;
    let reports = run_cases(&cases, &*device, |r| {
        if !quiet {
            eprintln!("{:<6} {}", r.outcome.label(), r.name);
        }
    });
    print!("\n{}", table(&reports));
    if reports
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Fail(_)))
    {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
