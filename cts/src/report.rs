//! The results as a terminal table, JUnit XML and JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::case::Outcome;
use crate::run::CaseReport;

/// How many distinct NotSupported reasons the table lists.
const MISSING_SHOWN: usize = 12;

/// Pass / Fail / NotSupported counts.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub not_supported: usize,
}

impl Counts {
    fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Pass => self.pass += 1,
            Outcome::Fail(_) => self.fail += 1,
            Outcome::NotSupported(_) => self.not_supported += 1,
        }
    }

    pub fn of(reports: &[CaseReport]) -> Counts {
        let mut c = Counts::default();
        reports.iter().for_each(|r| c.add(&r.outcome));
        c
    }
}

/// Components of a case name that make its group in the table and JUnit
/// (`sparse_resources.image.sparse_residency`): a screenful of rows.
const GROUP_DEPTH: usize = 3;

/// The group a case belongs to: its first [`GROUP_DEPTH`] components, and
/// never the whole name.
fn group_of(name: &str) -> &str {
    let ends = name.match_indices('.').map(|(i, _)| i);
    let mut cut = None;
    for (n, i) in ends.enumerate() {
        cut = Some(i);
        if n + 1 == GROUP_DEPTH {
            break;
        }
    }
    cut.map_or(name, |i| &name[..i])
}

/// Per-group counts, then every Fail and every distinct NotSupported reason.
pub fn table(reports: &[CaseReport], device: &str, elapsed: Duration) -> String {
    let mut groups: BTreeMap<&str, Counts> = BTreeMap::new();
    for r in reports {
        groups.entry(group_of(&r.name)).or_default().add(&r.outcome);
    }
    let width = groups.keys().map(|g| g.len()).max().unwrap_or(5).max(5);
    let mut out = format!("Sparse conformance on {device}\n\n");
    out += &format!(
        "{:width$}  {:>5}  {:>5}  {:>12}\n",
        "Group", "Pass", "Fail", "NotSupported"
    );
    out += &format!("{}\n", "-".repeat(width + 30));
    for (g, c) in &groups {
        out += &format!(
            "{g:width$}  {:>5}  {:>5}  {:>12}\n",
            c.pass, c.fail, c.not_supported
        );
    }
    let t = Counts::of(reports);
    out += &format!("{}\n", "-".repeat(width + 30));
    out += &format!(
        "{:width$}  {:>5}  {:>5}  {:>12}\n",
        "Total", t.pass, t.fail, t.not_supported
    );
    let fails: Vec<_> = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
        .collect();
    if !fails.is_empty() {
        out += "\nFailures:\n";
        for r in fails {
            out += &format!("  {}: {}\n", r.name, r.outcome.reason().unwrap_or(""));
        }
    }
    let mut missing: BTreeMap<&str, usize> = BTreeMap::new();
    for r in reports {
        if let Outcome::NotSupported(why) = &r.outcome {
            *missing.entry(why).or_default() += 1;
        }
    }
    if !missing.is_empty() {
        // Most common first; the JSON file has every case's reason.
        let mut missing: Vec<_> = missing.into_iter().collect();
        missing.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        out += "\nNot supported (cases: missing feature):\n";
        for (why, n) in missing.iter().take(MISSING_SHOWN) {
            out += &format!("  {n:4}: {why}\n");
        }
        if missing.len() > MISSING_SHOWN {
            let rest: usize = missing[MISSING_SHOWN..].iter().map(|m| m.1).sum();
            out += &format!(
                "  {rest:4}: {} other reasons (each case's reason is in the JSON results)\n",
                missing.len() - MISSING_SHOWN
            );
        }
    }
    out += &format!(
        "\n{} cases in {:.1} s: {} pass, {} fail, {} not supported\n",
        reports.len(),
        elapsed.as_secs_f64(),
        t.pass,
        t.fail,
        t.not_supported
    );
    out
}

/// JUnit XML: one suite per group; NotSupported cases are skipped ones.
pub fn junit(reports: &[CaseReport], elapsed: Duration) -> String {
    let mut report = Report::new("panthor-sparse-cts");
    report.set_time(elapsed);
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for r in reports {
        let group = group_of(&r.name);
        let status = match &r.outcome {
            Outcome::Pass => TestCaseStatus::success(),
            Outcome::Fail(why) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(why.as_str());
                s
            }
            Outcome::NotSupported(why) => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!("not supported: {why}"));
                s
            }
        };
        let mut case = TestCase::new(&r.name[group.len() + 1..], status);
        case.set_classname(group).set_time(r.time);
        suites
            .entry(group)
            .or_insert_with(|| TestSuite::new(group))
            .add_test_case(case);
    }
    report.add_test_suites(suites.into_values());
    report.to_string().expect("JUnit XML serialises")
}

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    device: &'a str,
    driver: &'a str,
    seconds: f64,
    counts: Counts,
    cases: &'a [CaseReport],
}

pub fn json(reports: &[CaseReport], device: &str, driver: &str, elapsed: Duration) -> String {
    serde_json::to_string_pretty(&JsonReport {
        device,
        driver,
        seconds: elapsed.as_secs_f64(),
        counts: Counts::of(reports),
        cases: reports,
    })
    .expect("results serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reports() -> Vec<CaseReport> {
        let r = |name: &str, outcome| CaseReport {
            name: name.into(),
            outcome,
            time: Duration::from_millis(5),
        };
        vec![
            r("s.buffer.x.a", Outcome::Pass),
            r(
                "s.buffer.x.b",
                Outcome::Fail("byte 7 is 0x00, expected 0x2a".into()),
            ),
            r(
                "s.image.y.c.d",
                Outcome::NotSupported("sparseResidencyImage3D is false".into()),
            ),
            r(
                "s.image.y.e",
                Outcome::NotSupported("sparseResidencyImage3D is false".into()),
            ),
        ]
    }

    #[test]
    fn the_table_counts_per_group_and_names_failures_and_missing_features() {
        let t = table(&reports(), "dev", Duration::from_secs(1));
        let row = |g: &str| {
            t.lines()
                .find(|l| l.starts_with(g))
                .unwrap()
                .split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
        };
        assert_eq!(row("s.buffer.x"), ["1", "1", "0"]);
        assert_eq!(row("s.image.y"), ["0", "0", "2"]);
        assert_eq!(row("Total"), ["1", "1", "2"]);
        assert!(t.contains("s.buffer.x.b: byte 7 is 0x00, expected 0x2a"));
        assert!(t.contains("   2: sparseResidencyImage3D is false"));
    }

    #[test]
    fn junit_marks_failures_and_skips() {
        let x = junit(&reports(), Duration::from_secs(1));
        assert!(
            x.contains(
                r#"<testsuite name="s.buffer.x" tests="2" disabled="0" errors="0" failures="1""#
            ),
            "{x}"
        );
        assert!(
            x.contains(r#"<failure message="byte 7 is 0x00, expected 0x2a""#),
            "{x}"
        );
        assert!(
            x.contains(r#"<skipped message="not supported: sparseResidencyImage3D is false""#),
            "{x}"
        );
    }

    #[test]
    fn json_carries_status_and_reason() {
        let j: serde_json::Value = serde_json::from_str(&json(
            &reports(),
            "dev",
            "Vulkan 1.1",
            Duration::from_secs(1),
        ))
        .unwrap();
        assert_eq!(j["counts"]["fail"], 1);
        assert_eq!(j["cases"][1]["status"], "Fail");
        assert_eq!(j["cases"][2]["reason"], "sparseResidencyImage3D is false");
        assert!(j["cases"][0].get("reason").is_none());
    }
}
