//! Baseline file format, the pass/fail rule, regressions, NOT RUN handling, id ordering.

use crate::common::reports as fixtures;

use fixtures::{case, mixed, report, temp_dir};
use wsspec::report::{
    compare_ids, evaluate, evaluate_with, exit_code, Baseline, BaselineEntry, CloseVerdict, Policy,
    ReportError, Standing, Verdict,
};

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn without_baseline_strict_fails_non_strict_and_close_problems() {
    let r = mixed("a");
    let lax = evaluate(&r, false, None);
    assert_eq!(lax.failed, ids(&["6.9", "7.5.1"]));
    assert!(lax.regressions.is_empty() && lax.accepted.is_empty());
    assert_eq!(lax.not_run, ids(&["h.1"]));
    assert_eq!(lax.total, 10);
    assert_eq!(exit_code(&lax), 1);

    let strict = evaluate(&r, true, None);
    assert_eq!(strict.failed, ids(&["3.2", "6.9", "7.5.1", "7.9.1"]));
    assert_eq!(exit_code(&strict), 1);
}

#[test]
fn from_report_records_only_non_ok_non_failing_outcomes() {
    let b = Baseline::from_report(&mixed("a"));
    assert_eq!(
        b.accepted("3.2"),
        &[BaselineEntry::Verdict(Verdict::NonStrict)]
    );
    assert_eq!(
        b.accepted("7.13.1"),
        &[
            BaselineEntry::Verdict(Verdict::Informational),
            BaselineEntry::Close(CloseVerdict::Informational)
        ]
    );
    assert_eq!(
        b.accepted("12.1.1"),
        &[BaselineEntry::Verdict(Verdict::Unimplemented)]
    );
    assert_eq!(
        b.accepted("h.1"),
        &[BaselineEntry::Verdict(Verdict::NotRun)]
    );
    assert_eq!(
        b.accepted("7.9.1"),
        &[BaselineEntry::Close(CloseVerdict::WrongCode)]
    );
    // Failures and OK cases are not recorded.
    for id in ["6.9", "7.5.1", "1.1.1", "6.10", "vite/token-policy#3"] {
        assert!(
            b.accepted(id).is_empty(),
            "{id} should not be in the baseline"
        );
    }
    assert_eq!(b.cases.len(), 5);
}

#[test]
fn baseline_accepts_listed_non_strict_under_strict_and_flags_regression() {
    let mut r = mixed("a");
    r.cases.retain(|c| c.id != "6.9" && c.id != "7.5.1"); // a run with no hard failures
    let baseline = Baseline::from_report(&r);

    // Same run, strict, with the baseline: NON-STRICT 3.2 and WRONG CODE 7.9.1 accepted.
    let out = evaluate(&r, true, Some(&baseline));
    assert!(out.failed.is_empty(), "{out:?}");
    assert_eq!(out.accepted, ids(&["3.2", "7.9.1"]));
    assert!(out.regressions.is_empty(), "{out:?}");
    assert_eq!(exit_code(&out), 0);
    // Without the baseline the same strict run fails.
    assert_eq!(exit_code(&evaluate(&r, true, None)), 1);

    // Next run: 3.2 got worse (FAILED), 12.1.1 is no longer run, 1.1.1 became NON-STRICT.
    let mut next = r.clone();
    for c in &mut next.cases {
        match c.id.as_str() {
            "3.2" => c.verdict = Verdict::Failed,
            "12.1.1" => c.verdict = Verdict::NotRun,
            "1.1.1" => c.verdict = Verdict::NonStrict,
            _ => {}
        }
    }
    let out = evaluate(&next, false, Some(&baseline));
    // Only the exact listed verdict excuses a failure: NON-STRICT listed, FAILED observed.
    assert_eq!(out.failed, ids(&["3.2"]));
    assert_eq!(out.regressions, ids(&["1.1.1", "3.2", "12.1.1"]));
    assert_eq!(out.not_run, ids(&["12.1.1", "h.1"]));
    assert_eq!(exit_code(&out), 1);

    // Strict: 1.1.1 (NON-STRICT, not listed) fails as well.
    let out = evaluate(&next, true, Some(&baseline));
    assert_eq!(out.failed, ids(&["1.1.1", "3.2"]));
}

#[test]
fn improvements_and_hand_listed_failures() {
    let r = report(
        "a",
        vec![
            case("3.2", Verdict::Ok, Some(CloseVerdict::Ok)),
            case("6.9", Verdict::Failed, Some(CloseVerdict::Ok)),
            case("7.5.1", Verdict::Ok, Some(CloseVerdict::Unclean)),
        ],
    );
    let mut b = Baseline::new();
    b.insert("3.2", BaselineEntry::Verdict(Verdict::NonStrict));
    b.insert("6.9", BaselineEntry::Verdict(Verdict::Failed));
    b.insert("7.5.1", BaselineEntry::Verdict(Verdict::Failed)); // wrong dimension
    let out = evaluate(&r, false, Some(&b));
    assert_eq!(out.improved, ids(&["3.2"]));
    assert_eq!(out.accepted, ids(&["6.9"]));
    // The close UNCLEAN is not excused by a behaviour entry.
    assert_eq!(out.failed, ids(&["7.5.1"]));
    b.insert("7.5.1", BaselineEntry::Close(CloseVerdict::Unclean));
    let out = evaluate(&r, false, Some(&b));
    assert!(out.failed.is_empty());
    assert_eq!(exit_code(&out), 0);
}

#[test]
fn caller_can_mark_close_verdicts_failing() {
    let r = report(
        "a",
        vec![case("7.9.1", Verdict::Ok, Some(CloseVerdict::WrongCode))],
    );
    assert!(evaluate(&r, false, None).failed.is_empty());
    let mut policy = Policy::new(false);
    policy.close_always.push(CloseVerdict::WrongCode);
    assert_eq!(evaluate_with(&r, &policy, None).failed, ids(&["7.9.1"]));
}

#[test]
fn not_run_is_never_a_pass_but_does_not_fail_alone() {
    let r = report(
        "a",
        vec![
            case("12.1.1", Verdict::NotRun, None),
            case("12.1.2", Verdict::NotRun, Some(CloseVerdict::NotRun)),
        ],
    );
    let out = evaluate(&r, true, None);
    assert!(out.failed.is_empty());
    assert_eq!(out.not_run, ids(&["12.1.1", "12.1.2"]));
    assert_eq!(exit_code(&out), 0);
    let policy = Policy::new(true);
    for c in &r.cases {
        assert_eq!(policy.standing(c), Standing::Skipped);
    }
    // A NOT RUN case that was expected to run is a regression against a baseline.
    let out = evaluate(&r, false, Some(&Baseline::new()));
    assert_eq!(out.regressions, ids(&["12.1.1", "12.1.2"]));
}

#[test]
fn baseline_file_round_trip_and_format() {
    let dir = temp_dir("baseline");
    let b = Baseline::from_report(&mixed("a"));
    let path = dir.join("sub/baseline.json");
    b.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("{\n  \"tool\": \"wsspec\",\n  \"schema\": 1,\n  \"cases\": {\n"));
    assert!(text.contains("    \"3.2\": [\"NON-STRICT\"],\n"));
    assert!(text.contains("\"7.13.1\": [\"INFORMATIONAL\", \"close:INFORMATIONAL\"]"));
    // Numeric id order in the file: 3.2, 7.9.1, 7.13.1, 12.1.1, h.1.
    let order: Vec<usize> = [
        "\"3.2\"",
        "\"7.9.1\"",
        "\"7.13.1\"",
        "\"12.1.1\"",
        "\"h.1\"",
    ]
    .iter()
    .map(|k| text.find(k).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert_eq!(Baseline::load(&path).unwrap(), b);

    // The brief's minimal form (no schema) loads too.
    let min = dir.join("min.json");
    std::fs::write(&min, r#"{"tool":"wsspec","cases":{"3.2":["NON-STRICT"]}}"#).unwrap();
    let m = Baseline::load(&min).unwrap();
    assert_eq!(
        m.accepted("3.2"),
        &[BaselineEntry::Verdict(Verdict::NonStrict)]
    );

    // An empty baseline is valid JSON and loads back empty.
    let empty = dir.join("empty.json");
    Baseline::new().save(&empty).unwrap();
    assert!(Baseline::load(&empty).unwrap().cases.is_empty());
}

#[test]
fn baseline_errors_name_file_and_entry() {
    let dir = temp_dir("baseline-err");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"tool":"wsspec","cases":{"3.2":["NONSTRICT"]}}"#).unwrap();
    let err = Baseline::load(&bad).unwrap_err();
    assert!(
        matches!(err, ReportError::BadBaselineEntry { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("bad.json") && msg.contains("3.2") && msg.contains("NONSTRICT"),
        "{msg}"
    );

    let tool = dir.join("tool.json");
    std::fs::write(&tool, r#"{"tool":"other","cases":{}}"#).unwrap();
    assert!(matches!(
        Baseline::load(&tool),
        Err(ReportError::WrongTool { .. })
    ));

    let typo = dir.join("typo.json");
    std::fs::write(&typo, "{\"tool\":\"wsspec\",\n\"casez\":{}}").unwrap();
    let err = Baseline::load(&typo).unwrap_err();
    assert!(matches!(err, ReportError::Parse { line: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("casez"));
}

#[test]
fn ids_sort_numerically_per_component() {
    let mut v = ids(&[
        "6.10",
        "6.9",
        "10.1",
        "9.1.6",
        "h.2",
        "1.1.10",
        "1.1.2",
        "x.1",
        "vite/a#10",
        "vite/a#2",
        "12.1.1",
        "h.10",
    ]);
    v.sort_by(|a, b| compare_ids(a, b));
    assert_eq!(
        v,
        ids(&[
            "1.1.2",
            "1.1.10",
            "6.9",
            "6.10",
            "9.1.6",
            "10.1",
            "12.1.1",
            "h.2",
            "h.10",
            "vite/a#2",
            "vite/a#10",
            "x.1"
        ])
    );
    // Evaluation output follows the same order regardless of execution order.
    let r = report(
        "a",
        vec![
            case("6.10", Verdict::Failed, None),
            case("h.1", Verdict::Failed, None),
            case("6.9", Verdict::Failed, None),
            case("10.1.1", Verdict::Failed, None),
        ],
    );
    assert_eq!(
        evaluate(&r, false, None).failed,
        ids(&["6.9", "6.10", "10.1.1", "h.1"])
    );
}
