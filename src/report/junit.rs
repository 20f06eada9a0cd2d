//! JUnit XML for CI systems: one `<testsuite>` per category, one `<testcase>` per case.
//!
//! Mapping (decided by [`Policy::standing`], the same rule as the exit code):
//! failing cases become `<failure>` with sent/expected/observed in the message and the
//! transcript in `<system-out>`; NOT RUN and UNIMPLEMENTED become `<skipped>` (never a
//! success); INFORMATIONAL, and NON-STRICT without `--strict`, are successes whose
//! `<system-out>` carries a note.

use std::io;
use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::ids::by_category;
use super::json::write_atomic;
use super::model::{CaseReport, RunReport, Verdict, REPORT_BUDGET};
use super::policy::{reasons_label, Policy, Standing};
use super::text::{neutralise, one_line, transcript_text, truncate};

/// Longest value of sent/expected/observed quoted in a failure message.
const FIELD_CAP: usize = 500;
/// Transcript entries copied into `<system-out>` per failing case.
const MAX_ENTRIES: usize = 500;
/// Bytes of hex dumped per transcript entry in `<system-out>`.
const HEX_CAP: usize = 1024;

/// Writes `report` as JUnit XML with the default [`Policy`] for `strict`.
pub fn write_junit(report: &RunReport, path: &Path, strict: bool) -> io::Result<()> {
    write_junit_with(report, path, &Policy::new(strict))
}

/// Writes `report` as JUnit XML, deciding failures with `policy`.
pub fn write_junit_with(report: &RunReport, path: &Path, policy: &Policy) -> io::Result<()> {
    let xml = junit_string(report, policy)?;
    write_atomic(path, xml.as_bytes())
}

/// The JUnit XML document for `report` as a string (transcripts cut as for the JSON
/// report, [`RunReport::fit_transcripts`]).
pub fn junit_string(report: &RunReport, policy: &Policy) -> io::Result<String> {
    let fitted = report.fit_transcripts(REPORT_BUDGET);
    let report = fitted.as_ref();
    let mut junit = Report::new(format!(
        "wsspec {} {}",
        one_line(&report.kind, 40),
        one_line(&report.agent, 120)
    ));
    junit.set_time(duration(report.duration_ms));
    for (cat, cases) in by_category(report) {
        let mut suite = TestSuite::new(if cat.is_empty() {
            "(no category)".to_string()
        } else {
            one_line(&cat, 120)
        });
        suite.add_properties([
            Property::new("agent", one_line(&report.agent, 200)),
            Property::new("target", one_line(&report.target, 500)),
            Property::new("started", one_line(&report.started, 64)),
            Property::new("strict", policy.strict.to_string()),
        ]);
        suite.set_time(duration(cases.iter().map(|c| safe_ms(c.duration_ms)).sum()));
        for case in cases {
            suite.add_test_case(test_case(report, &cat, case, policy));
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().map_err(io::Error::other)
}

fn test_case(report: &RunReport, cat: &str, case: &CaseReport, policy: &Policy) -> TestCase {
    let status = policy.standing(case);
    let detail = details(case);
    let tc_status = match status {
        Standing::Failed => {
            let reasons = policy.fail_reasons(case);
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type(reasons_label(&reasons));
            s.set_message(format!(
                "{}: sent: {}; expected: {}; observed: {}",
                reasons_label(&reasons),
                one_line(&case.sent, FIELD_CAP),
                one_line(&case.expected, FIELD_CAP),
                one_line(&case.observed, FIELD_CAP),
            ));
            s.set_description(detail.clone());
            s
        }
        Standing::Skipped => {
            let mut s = TestCaseStatus::skipped();
            s.set_type(case.verdict.label());
            s.set_message(format!(
                "{}: {}",
                case.verdict.label(),
                one_line(&case.observed, FIELD_CAP)
            ));
            s
        }
        Standing::Passed | Standing::Noted => TestCaseStatus::success(),
    };
    let mut tc = TestCase::new(
        format!("{} {}", one_line(&case.id, 200), one_line(&case.title, 200)),
        tc_status,
    );
    tc.set_classname(format!(
        "wsspec.{}.{}",
        one_line(&report.kind, 40),
        one_line(cat, 120)
    ));
    tc.set_time(duration(case.duration_ms));
    tc.add_properties([
        Property::new("id", one_line(&case.id, 200)),
        Property::new("rfc", one_line(&case.rfc, 200)),
        Property::new("verdict", case.verdict.label()),
        Property::new(
            "close_verdict",
            case.close_verdict.map(|c| c.label()).unwrap_or("-"),
        ),
    ]);
    match status {
        Standing::Failed => {
            tc.set_system_out(format!(
                "{detail}\n--- transcript ---\n{}",
                neutralise(&transcript_text(case, MAX_ENTRIES, HEX_CAP), true)
            ));
        }
        Standing::Noted => {
            let why = if case.verdict == Verdict::NonStrict {
                "NON-STRICT (passes without --strict)".to_string()
            } else if case.verdict == Verdict::Informational {
                "INFORMATIONAL (behaviour left open by the RFC)".to_string()
            } else {
                format!(
                    "close {}",
                    case.close_verdict.map(|c| c.label()).unwrap_or("-")
                )
            };
            tc.set_system_out(format!("note: {why}\n{detail}"));
        }
        Standing::Skipped | Standing::Passed => {}
    }
    tc
}

/// The multi-line description shared by failures and notes.
fn details(case: &CaseReport) -> String {
    let code = case
        .remote_close_code
        .map(|c| c.to_string())
        .unwrap_or_else(|| "-".to_string());
    neutralise(
        &format!(
            "verdict: {}\nclose verdict: {} (remote close code {code})\nrule: {}\nsent: {}\nexpected: {}\nobserved: {}",
            case.verdict.label(),
            case.close_verdict.map(|c| c.label()).unwrap_or("-"),
            truncate(&case.rfc, FIELD_CAP),
            truncate(&case.sent, 4 * FIELD_CAP),
            truncate(&case.expected, 4 * FIELD_CAP),
            truncate(&case.observed, 4 * FIELD_CAP),
        ),
        true,
    )
}

fn safe_ms(ms: f64) -> f64 {
    if ms.is_finite() && ms > 0.0 {
        ms
    } else {
        0.0
    }
}

/// Milliseconds to a `Duration`, mapping negative, non-finite and absurd values to zero
/// instead of panicking.
fn duration(ms: f64) -> Duration {
    Duration::try_from_secs_f64(safe_ms(ms) / 1000.0).unwrap_or(Duration::ZERO)
}
