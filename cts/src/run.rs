//! Runs cases one after another, each under catch_unwind, timing each.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::case::{Case, CaseResult, Outcome};
use crate::gpu::Vk;

/// One case's result.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CaseReport {
    pub name: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(serialize_with = "seconds")]
    pub time: Duration,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Runs `cases` in order; `progress` draws a bar on stderr.
pub fn run_all(vk: &Vk, cases: &[&Case], progress: bool) -> Vec<CaseReport> {
    let bar = if progress {
        ProgressBar::new(cases.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {wide_msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut reports = Vec::with_capacity(cases.len());
    for case in cases {
        bar.set_message(case.name.clone());
        let start = Instant::now();
        let outcome = outcome_of(|| case.run(vk));
        if let Outcome::Fail(reason) = &outcome {
            bar.suspend(|| eprintln!("FAIL {}: {reason}", case.name));
        }
        reports.push(CaseReport {
            name: case.name.clone(),
            outcome,
            time: start.elapsed(),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    reports
}

/// Runs a case body; a panic is a Fail that quotes the panic message.
pub fn outcome_of(body: impl FnOnce() -> CaseResult) -> Outcome {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => Outcome::from(r),
        Err(panic) => Outcome::Fail(format!("panicked: {}", panic_message(&panic))),
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

#[cfg(test)]
mod tests {
    use super::outcome_of;
    use crate::case::{Outcome, Stop};

    #[test]
    fn bodies_end_in_the_outcome_they_report() {
        assert_eq!(outcome_of(|| Ok(())), Outcome::Pass);
        assert_eq!(
            outcome_of(|| Err(Stop::Fail("byte 3".into()))),
            Outcome::Fail("byte 3".into())
        );
        assert_eq!(
            outcome_of(|| Err(Stop::NotSupported("sparseBinding is false".into()))),
            Outcome::NotSupported("sparseBinding is false".into())
        );
        let panicked = outcome_of(|| panic!("index {} out of range", 9));
        assert_eq!(
            panicked,
            Outcome::Fail("panicked: index 9 out of range".into())
        );
    }
}
