//! Terminal summary table, failure lines and the progress wrapper.

mod common;
use common::reports as fixtures;

use fixtures::{case, mixed, report};
use wsspec::report::{failure_lines, summary_table, CloseVerdict, Progress, Verdict};

/// The table rows (between the title line and the trailing notes).
fn table_rows(s: &str) -> Vec<&str> {
    s.lines()
        .skip(1)
        .take_while(|l| !l.starts_with("close verdicts") && !l.starts_with("strict:"))
        .collect()
}

fn cells(row: &str) -> Vec<&str> {
    row.split_whitespace().collect()
}

#[test]
fn summary_counts_per_category() {
    let s = summary_table(&mixed("ws 8.18"), false);
    let rows = table_rows(&s);
    assert!(s.lines().next().unwrap().contains("ws 8.18"));
    // NON-STRICT etc. are single header cells thanks to the hyphen; NOT RUN has a space.
    assert_eq!(
        cells(rows[0]),
        [
            "category",
            "OK",
            "NON-STRICT",
            "INFORMATIONAL",
            "UNIMPLEMENTED",
            "FAILED",
            "NOT",
            "RUN",
            "total",
            "failing"
        ]
    );
    let names: Vec<&str> = rows[1..]
        .iter()
        .filter(|r| !r.starts_with('-'))
        .map(|r| cells(r)[0])
        .collect();
    assert_eq!(names, ["1", "3", "6", "7", "12", "h", "vite", "total"]);
    let find = |name: &str| cells(rows.iter().find(|r| cells(r)[0] == name).unwrap());
    assert_eq!(find("6"), ["6", "1", "-", "-", "-", "1", "-", "2", "1"]);
    assert_eq!(find("7"), ["7", "2", "-", "1", "-", "-", "-", "3", "1"]);
    assert_eq!(
        find("total"),
        ["total", "5", "1", "1", "1", "1", "1", "10", "2"]
    );
    // Aligned: every table row has the same width (numbers right-aligned).
    let widths: Vec<usize> = rows.iter().map(|r| r.chars().count()).collect();
    assert!(widths.windows(2).all(|w| w[0] == w[1]), "{s}");
    assert!(
        s.contains("close verdicts: INFORMATIONAL 1, WRONG CODE 1, UNCLEAN 1"),
        "{s}"
    );

    let strict = summary_table(&mixed("ws 8.18"), true);
    let rows = table_rows(&strict);
    let total = cells(rows.iter().find(|r| r.starts_with("total")).unwrap());
    assert_eq!(total.last(), Some(&"4"));
    assert!(strict.lines().next().unwrap().contains("strict"));
}

#[test]
fn failure_lines_one_per_failing_case() {
    let lax = failure_lines(&mixed("a"), false);
    let lines: Vec<&str> = lax.lines().collect();
    assert_eq!(lines.len(), 2, "{lax}");
    assert!(lines[0].starts_with("FAILED") && lines[0].contains("6.9"));
    assert!(lines[0].contains("sent: text message for 6.9"));
    assert!(lines[0].contains("expected: echo of the message"));
    assert!(lines[0].contains("observed: observed for 6.9"));
    assert!(lines[1].starts_with("close UNCLEAN") && lines[1].contains("7.5.1"));

    let strict = failure_lines(&mixed("a"), true);
    let ids: Vec<&str> = strict
        .lines()
        .map(|l| l.split_whitespace().find(|w| w.contains('.')).unwrap())
        .collect();
    assert_eq!(ids, ["3.2", "6.9", "7.5.1", "7.9.1"]);

    let clean = report(
        "a",
        vec![case("1.1.1", Verdict::Ok, Some(CloseVerdict::Ok))],
    );
    assert_eq!(failure_lines(&clean, true), "");
}

#[test]
fn failure_lines_are_bounded_and_neutralise_escapes() {
    let mut c = case("5.1", Verdict::Failed, None);
    c.observed = format!("\u{1b}]0;pwned\u{7}\u{1b}[2J{}", "y".repeat(10_000));
    c.title = "t\nnext line".into();
    c.sent = "s".repeat(10_000);
    let out = failure_lines(&report("a", vec![c]), false);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'));
    assert!(out.contains("\\x1b]0;pwned"));
    assert!(
        out.chars().count() < 400,
        "line too long: {}",
        out.chars().count()
    );
    assert!(out.contains('…'));
}

#[test]
fn progress_counts_even_when_hidden() {
    let p = Progress::new(3, false);
    assert!(p.is_hidden());
    p.start_case("1.1.1");
    p.finish_case("1.1.1", Verdict::Ok);
    p.start_case("\u{1b}[2J6.9");
    p.finish_case("6.9", Verdict::Failed);
    assert_eq!(p.position(), 2);
    assert_eq!(p.failed(), 1);
    p.finish();
    // Test harness stderr is captured, not a terminal: hidden even when enabled.
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        assert!(Progress::new(1, true).is_hidden());
    }
}
