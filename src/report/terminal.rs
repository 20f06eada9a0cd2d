//! Terminal output: the per-category summary table, one line per failing case, and a
//! progress bar on stderr.
//!
//! All text from the server passes through `one_line`, which makes control characters
//! visible, so a hostile server cannot inject terminal escape sequences.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ids::{by_category, sorted_cases};
use super::model::{CaseReport, CloseVerdict, RunReport, Verdict};
use super::policy::{reasons_label, Policy, CLOSE_VERDICTS};
use super::text::{self, one_line};

/// Column order of the summary table.
const COLUMNS: [Verdict; 6] = [
    Verdict::Ok,
    Verdict::NonStrict,
    Verdict::Informational,
    Verdict::Unimplemented,
    Verdict::Failed,
    Verdict::NotRun,
];

/// Per-category counts per verdict, a total row, and a `failing` column, with the default
/// [`Policy`] for `strict`.
pub fn summary_table(report: &RunReport, strict: bool) -> String {
    summary_table_with(report, &Policy::new(strict))
}

/// [`summary_table`] with an explicit policy.
///
/// `failing` counts cases that fail the run under `policy` (FAILED behaviour, NON-STRICT
/// under strict, failing close verdicts); it can exceed the FAILED column. Zero counts are
/// shown as `-` so the eye finds the non-zero cells.
pub fn summary_table_with(report: &RunReport, policy: &Policy) -> String {
    let mut header: Vec<String> = vec!["category".into()];
    header.extend(COLUMNS.iter().map(|v| v.label().to_string()));
    header.push("total".into());
    header.push("failing".into());

    let row_for = |name: String, cases: &[&CaseReport]| -> Vec<String> {
        let mut row = vec![name];
        for v in COLUMNS {
            row.push(count(cases.iter().filter(|c| c.verdict == v).count()));
        }
        row.push(cases.len().to_string());
        row.push(count(
            cases
                .iter()
                .filter(|c| !policy.fail_reasons(c).is_empty())
                .count(),
        ));
        row
    };

    let mut rows = vec![header];
    for (cat, cases) in by_category(report) {
        let name = if cat.is_empty() {
            "(none)".to_string()
        } else {
            one_line(&cat, 24)
        };
        rows.push(row_for(name, &cases));
    }
    let all: Vec<&CaseReport> = report.cases.iter().collect();
    rows.push(row_for("total".into(), &all));

    let ncol = rows[0].len();
    let widths: Vec<usize> = (0..ncol)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();

    let mut out = String::new();
    let _ = writeln!(
        out,
        "wsspec {} · agent {} · target {}{}",
        one_line(&report.kind, 20),
        one_line(&report.agent, 60),
        one_line(&report.target, 100),
        if policy.strict { " · strict" } else { "" }
    );
    let last = rows.len() - 1;
    for (r, row) in rows.iter().enumerate() {
        if r == last {
            let total_width: usize = widths.iter().sum::<usize>() + 2 * (ncol - 1);
            let _ = writeln!(out, "{}", "-".repeat(total_width));
        }
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i] - cell.chars().count();
            if i == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }

    // Close verdicts are a second dimension; list the non-OK ones in one line.
    let close: Vec<String> = CLOSE_VERDICTS
        .iter()
        .filter(|v| **v != CloseVerdict::Ok)
        .filter_map(|v| {
            let n = report
                .cases
                .iter()
                .filter(|c| c.close_verdict == Some(*v))
                .count();
            (n > 0).then(|| format!("{} {n}", v.label()))
        })
        .collect();
    if !close.is_empty() {
        let _ = writeln!(out, "close verdicts: {}", close.join(", "));
    }
    if policy.strict {
        let _ = writeln!(
            out,
            "strict: NON-STRICT and {} close verdicts count as failing",
            policy
                .close_strict
                .iter()
                .map(|c| c.label())
                .collect::<Vec<_>>()
                .join("/")
        );
    }
    out
}

fn count(n: usize) -> String {
    if n == 0 {
        "-".into()
    } else {
        n.to_string()
    }
}

/// One line per failing case (id order) with the default [`Policy`] for `strict`:
/// reason, id, title, sent, expected, observed. Empty when nothing fails.
pub fn failure_lines(report: &RunReport, strict: bool) -> String {
    failure_lines_with(report, &Policy::new(strict))
}

/// [`failure_lines`] with an explicit policy.
pub fn failure_lines_with(report: &RunReport, policy: &Policy) -> String {
    let failing: Vec<(String, &CaseReport)> = sorted_cases(report)
        .into_iter()
        .filter_map(|c| {
            let r = policy.fail_reasons(c);
            (!r.is_empty()).then(|| (reasons_label(&r), c))
        })
        .collect();
    let reason_w = failing
        .iter()
        .map(|(r, _)| r.chars().count())
        .max()
        .unwrap_or(0);
    let ids: Vec<String> = failing.iter().map(|(_, c)| one_line(&c.id, 28)).collect();
    let id_w = ids.iter().map(|i| i.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for ((reason, case), id) in failing.iter().zip(ids) {
        let _ = writeln!(
            out,
            "{reason:<reason_w$}  {id:<id_w$}  {} | sent: {} | expected: {} | observed: {}",
            one_line(&case.title, 48),
            one_line(&case.sent, 60),
            one_line(&case.expected, 60),
            one_line(&case.observed, 80),
        );
    }
    out
}

/// The transcript of a case as plain terminal-safe text (for verbose output), at most
/// `max_entries` entries and `hex_cap` bytes of hex dump per entry.
pub fn transcript_text(case: &CaseReport, max_entries: usize, hex_cap: usize) -> String {
    text::transcript_text(case, max_entries, hex_cap)
}

/// A progress bar on stderr for a run of `total` cases.
///
/// Hidden when disabled or when stderr is not a terminal, so CI logs and pipes stay clean;
/// the counters still work when hidden. All methods take `&self`, so one `Progress` can be
/// shared (e.g. in an `Arc`) by concurrently running cases.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    failed: AtomicU64,
}

impl Progress {
    /// A bar for `total` cases; visible only if `enabled` and stderr is a terminal.
    pub fn new(total: usize, enabled: bool) -> Self {
        let visible = enabled && std::io::stderr().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        let style = ProgressStyle::with_template(
            "[{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} {prefix} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        Progress {
            bar,
            failed: AtomicU64::new(0),
        }
    }

    /// Marks `id` as the case now running.
    pub fn start_case(&self, id: &str) {
        self.bar.set_message(one_line(id, 40));
    }

    /// Counts `id` as done; a FAILED verdict is also printed above the bar.
    pub fn finish_case(&self, id: &str, verdict: Verdict) {
        if verdict == Verdict::Failed {
            let n = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_prefix(format!("failed {n}"));
            if !self.bar.is_hidden() {
                self.bar.println(format!("FAILED {}", one_line(id, 60)));
            }
        }
        self.bar.inc(1);
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// True when nothing is drawn.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    /// Cases finished so far.
    pub fn position(&self) -> u64 {
        self.bar.position()
    }

    /// FAILED verdicts seen so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // A run that errors out must not leave a half-drawn bar behind.
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}
