//! Running cases and reporting: [`run_case`] runs one (a panic is a
//! failure, not the end of the run), [`run_cases`] runs a list with a fresh
//! opener per case, [`table`] formats the results.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::{Case, CaseError, Opener};

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skip(_) => "skip",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Outcome::Pass => "",
            Outcome::Fail(r) | Outcome::Skip(r) => r,
        }
    }
}

/// One row of the results table.
#[derive(Clone, Debug)]
pub struct Report {
    pub name: &'static str,
    pub outcome: Outcome,
    pub time: Duration,
}

/// Runs `case` on `opener`. A panic inside the case is reported as a
/// failure with its message.
pub fn run_case(case: &Case, opener: &dyn Opener) -> Report {
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| (case.run)(opener)));
    let outcome = match result {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(CaseError::Fail(m))) => Outcome::Fail(m),
        Ok(Err(CaseError::Skip(m))) => Outcome::Skip(m),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".into());
            Outcome::Fail(format!("panicked: {msg}"))
        }
    };
    Report {
        name: case.name,
        outcome,
        time: start.elapsed(),
    }
}

/// Runs every case with an opener from `device` (called once per case, so
/// a factory that makes a new device gives every case a fresh one). When
/// the factory fails, the case fails with its message.
pub fn run_cases(
    cases: &[Case],
    device: &dyn Fn() -> Result<Box<dyn Opener>, String>,
    mut progress: impl FnMut(&Report),
) -> Vec<Report> {
    let mut reports = Vec::with_capacity(cases.len());
    for case in cases {
        let report = match device() {
            Ok(opener) => run_case(case, &*opener),
            Err(e) => Report {
                name: case.name,
                outcome: Outcome::Fail(format!("cannot open the device: {e}")),
                time: Duration::ZERO,
            },
        };
        progress(&report);
        reports.push(report);
    }
    reports
}

/// The results as a text table: case, result, time, reason; then totals.
pub fn table(reports: &[Report]) -> String {
    let width = reports
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:<width$}  {:<6} {:>8}  reason\n",
        "case", "result", "time"
    );
    out.push_str(&format!("{}\n", "-".repeat(width + 26)));
    for r in reports {
        out.push_str(&format!(
            "{:<width$}  {:<6} {:>6}ms  {}\n",
            r.name,
            r.outcome.label(),
            r.time.as_millis(),
            r.outcome.reason()
        ));
    }
    let count = |label: &str| {
        reports
            .iter()
            .filter(|r| r.outcome.label() == label)
            .count()
    };
    out.push_str(&format!(
        "\n{} cases: {} passed, {} failed, {} skipped\n",
        reports.len(),
        count("pass"),
        count("FAIL"),
        count("skip")
    ));
    out
}
