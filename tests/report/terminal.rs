//! Terminal summary table, failure lines and the progress wrapper.

use crate::common::reports as fixtures;

use fixtures::{case, mixed, report};
use wsspec::report::terminal::failure_lines_for;
use wsspec::report::{failure_lines, summary_table, CloseVerdict, Policy, Progress, Verdict};

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

/// The head lines of the failure blocks (the lines that are not indented).
fn heads(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.starts_with(' ')).collect()
}

// Failures were one line per case with every field cut to a fixed width, which showed
// the start of each text and lost its end; they are a block per case now (head line, then
// sent/expected/observed), fitted to the terminal's width.
#[test]
fn failure_blocks_one_per_failing_case() {
    let lax = failure_lines_for(&mixed("a"), &Policy::new(false), 100);
    let heads_lax = heads(&lax);
    assert_eq!(heads_lax.len(), 2, "{lax}");
    assert!(heads_lax[0].starts_with("FAILED") && heads_lax[0].contains("6.9"));
    assert!(heads_lax[0].contains("title of 6.9"));
    assert!(heads_lax[1].starts_with("close UNCLEAN") && heads_lax[1].contains("7.5.1"));
    let block: Vec<&str> = lax.lines().skip(1).take(3).collect();
    assert_eq!(
        block,
        [
            "    sent:     text message for 6.9",
            "    expected: echo of the message",
            "    observed: observed for 6.9",
        ]
    );
    // The public entry point gives the same blocks.
    assert_eq!(heads(&failure_lines(&mixed("a"), false)).len(), 2);

    let strict = failure_lines_for(&mixed("a"), &Policy::new(true), 100);
    let ids: Vec<&str> = heads(&strict)
        .iter()
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
fn failure_blocks_fit_the_width_and_keep_both_ends() {
    let mut c = case(
        "mf-broker/stale-publisher#14-a-subscriber-that-joins-late-gets-the-update",
        Verdict::Failed,
        None,
    );
    c.observed = format!(
        "\u{1b}]0;pwned\u{7}\u{1b}[2J the broker said {} and then closed with 1005",
        "y".repeat(10_000)
    );
    c.title = "t\nnext line".into();
    c.sent = format!("BEGIN {} END", "s".repeat(10_000));
    c.expected = String::new();
    let r = report("a", vec![c]);
    for width in [60, 80, 132, 200] {
        let out = failure_lines_for(&r, &Policy::new(false), width);
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'));
        assert!(out.contains("\\x1b]0;pwned"), "{out}");
        for line in out.lines() {
            assert!(line.chars().count() <= width, "{width}: {line:?}");
        }
        // Ids keep their end (the step), sent texts both ends, observed texts their end.
        assert!(heads(&out)[0].contains("update"), "{out}");
        assert!(out.contains("BEGIN") && out.contains("END"), "{out}");
        assert!(out.contains("closed with 1005"), "{out}");
        assert!(out.contains('…'));
        // No `expected:` line for an empty text; observed takes at most six lines.
        assert!(!out.contains("expected:"));
        let observed = out.lines().skip_while(|l| !l.contains("observed:")).count();
        assert!((2..=6).contains(&observed), "{out}");
    }
}

#[test]
fn durations_in_the_summary_read_humanly() {
    let mut r = mixed("a");
    r.duration_ms = 21_116.661;
    let s = summary_table(&r, false);
    assert!(
        s.lines().next().unwrap().ends_with("10 cases in 21.1 s"),
        "{s}"
    );
    assert!(!s.contains("21116"), "{s}");
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

/// Runs `wsspec scenario` on a one-step scenario whose step fails, with `COLUMNS` set or
/// unset; stdout is a pipe, not a terminal.
fn cli_failure_output(columns: Option<&str>) -> String {
    let dir = fixtures::temp_dir(&format!("term-cli-{}", columns.unwrap_or("none")));
    // A single file's ids carry its directory's name as their profile prefix: keep it short,
    // so the category table (which may be wider than the terminal) stays under the bound.
    let dir = dir.join("w");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("width.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[scenario]
name = "width"
deadline = "20s"

[server]
command = ["sh", "-c", "echo started; exec sleep 30"]
ready = {{ stdout_line = "started" }}

[[step]]
title = "{}"
action = "assert_server"
state = "exited"
within = "100ms"
"#,
            "a very long step title that says what the step is about ".repeat(6)
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_wsspec"));
    cmd.arg("scenario").arg(&file).arg("--no-progress");
    match columns {
        Some(c) => cmd.env("COLUMNS", c),
        None => cmd.env_remove("COLUMNS"),
    };
    let out = cmd.output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cli_fits_columns_and_uses_a_wide_default_without_a_terminal() {
    let narrow = cli_failure_output(Some("70"));
    assert!(narrow.contains("still running"), "{narrow}");
    let head = narrow.lines().find(|l| l.starts_with("FAILED")).unwrap();
    assert!(head.contains("width#1") && head.ends_with('…'), "{narrow}");
    for line in narrow.lines().filter(|l| !l.starts_with("---")) {
        assert!(line.chars().count() <= 90, "{line:?}"); // the table may be wider
    }
    assert_eq!(head.chars().count(), 70, "{head:?}");

    let wide = cli_failure_output(None);
    let head = wide.lines().find(|l| l.starts_with("FAILED")).unwrap();
    assert_eq!(head.chars().count(), 200, "{head:?}");
}
