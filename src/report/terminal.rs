//! Terminal output: the per-category summary table, a short block per failing case, and
//! a progress bar on stderr.
//!
//! All text from the server passes through `neutralise`, which makes control characters
//! visible, so a hostile server cannot inject terminal escape sequences. Lines fit the
//! terminal's width ([`terminal_width`]); what does not fit loses its middle, never its
//! end, because ids end with the step and observed texts often end with the reason.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ids::{by_category, sorted_cases};
use super::model::{CaseReport, CloseVerdict, RunReport, Verdict};
use super::policy::{reasons_label, Policy, CLOSE_VERDICTS};
use super::text::{self, cut_middle, human_ms, neutralise, one_line};

/// Width used when stdout is not a terminal and `COLUMNS` is unset: CI logs wrap long
/// lines themselves, and the JSON and HTML reports keep every text whole.
pub const DEFAULT_WIDTH: usize = 200;
/// Narrowest layout (a narrower terminal wraps lines instead).
const MIN_WIDTH: usize = 60;
/// Lines an observed text may take before its middle is left out.
const OBSERVED_LINES: usize = 6;
/// Indent of the sent/expected/observed lines under a failing case.
const FIELD_INDENT: usize = 4;

/// Columns for the terminal summary: `COLUMNS` when it is set to a number, else the
/// width of the terminal on stdout, else [`DEFAULT_WIDTH`]; never less than 60.
pub fn terminal_width() -> usize {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|w| *w > 0);
    from_env
        .or_else(stdout_columns)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// The terminal's column count when stdout is a terminal.
#[cfg(unix)]
fn stdout_columns() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the pointer we pass, which lives
    // for the whole call; the fd is this process's stdout.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

#[cfg(not(unix))]
fn stdout_columns() -> Option<usize> {
    None
}

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
    header.extend(Verdict::ALL.iter().map(|v| v.label().to_string()));
    header.push("total".into());
    header.push("failing".into());

    let row_for = |name: String, cases: &[&CaseReport]| -> Vec<String> {
        let mut row = vec![name];
        for v in Verdict::ALL {
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
            cut_middle(&neutralise(&cat, false), 32, 50)
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
    let width = terminal_width();
    let kind = one_line(&report.kind, 20);
    let tail = format!(
        "{} case{} in {}{}",
        report.cases.len(),
        if report.cases.len() == 1 { "" } else { "s" },
        human_ms(report.duration_ms),
        if policy.strict { " · strict" } else { "" }
    );
    // Agent and target share what the fixed words leave of the line, so the title fits the
    // terminal however long the command or the scenario ids are.
    let fixed = format!("wsspec {kind} · agent  · target  · {tail}")
        .chars()
        .count();
    let share = (width.saturating_sub(fixed) / 2).max(12);
    let _ = writeln!(
        out,
        "wsspec {kind} · agent {} · target {} · {tail}",
        cut_middle(&neutralise(&report.agent, false), share, 50),
        cut_middle(&neutralise(&report.target, false), share, 50),
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

/// A block per failing case (id order) with the default [`Policy`] for `strict`, fitted
/// to [`terminal_width`]. Empty when nothing fails.
pub fn failure_lines(report: &RunReport, strict: bool) -> String {
    failure_lines_with(report, &Policy::new(strict))
}

/// [`failure_lines`] with an explicit policy.
pub fn failure_lines_with(report: &RunReport, policy: &Policy) -> String {
    failure_lines_for(report, policy, terminal_width())
}

/// [`failure_lines_with`] for a terminal of `width` columns (at least 60 are used).
///
/// Each failing case gets a head line (`reason  id  title`) and, indented below it, the
/// non-empty `sent:`, `expected:` and `observed:` texts. No line is wider than `width`:
/// an id or a sent/expected text that does not fit loses its middle, a title its end,
/// and an observed text wraps onto up to six lines before its middle is left out.
pub fn failure_lines_for(report: &RunReport, policy: &Policy, width: usize) -> String {
    let width = width.max(MIN_WIDTH);
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
    let id_cap = (width - reason_w - 4) * 3 / 4;
    let ids: Vec<String> = failing
        .iter()
        .map(|(_, c)| cut_middle(&neutralise(&c.id, false), id_cap, 50))
        .collect();
    let id_w = ids.iter().map(|i| i.chars().count()).max().unwrap_or(0);
    // A field's text starts after the indent and the widest label.
    let text_w = width - FIELD_INDENT - "expected: ".len();
    let mut out = String::new();
    for ((reason, case), id) in failing.iter().zip(ids) {
        let head = format!("{reason:<reason_w$}  {id:<id_w$}  ");
        let room = width.saturating_sub(head.chars().count());
        let _ = writeln!(
            out,
            "{head}{}",
            text::truncate(&neutralise(&case.title, false), room.max(1))
        );
        for (label, value) in [
            ("sent", &case.sent),
            ("expected", &case.expected),
            ("observed", &case.observed),
        ] {
            let value = neutralise(value.trim(), false);
            if value.is_empty() {
                continue;
            }
            let lines = if label == "observed" {
                // Breaking at spaces wastes a little room per line; shrink until it fits.
                let mut budget = text_w * OBSERVED_LINES;
                loop {
                    let lines = wrap(&cut_middle(&value, budget, 40), text_w);
                    if lines.len() <= OBSERVED_LINES || budget <= text_w {
                        break lines;
                    }
                    budget -= text_w / 4;
                }
            } else {
                vec![cut_middle(&value, text_w, 50)]
            };
            for (i, line) in lines.iter().enumerate() {
                let tag = if i == 0 {
                    format!("{label}:")
                } else {
                    String::new()
                };
                let _ = writeln!(out, "{:FIELD_INDENT$}{tag:<10}{line}", "");
            }
        }
    }
    out
}

/// Splits `s` into lines of at most `w` characters, at a space when one is near the end.
fn wrap(s: &str, w: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut lines = Vec::new();
    let mut at = 0;
    while chars.len() - at > w {
        let window = &chars[at..at + w];
        let cut = match window.iter().rposition(|c| *c == ' ') {
            Some(p) if p >= w * 2 / 3 => p + 1,
            _ => w,
        };
        lines.push(
            chars[at..at + cut]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        at += cut;
    }
    lines.push(chars[at..].iter().collect());
    lines
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
        self.bar
            .set_message(cut_middle(&neutralise(id, false), 40, 60));
    }

    /// Counts `id` as done; a FAILED verdict is also printed above the bar.
    pub fn finish_case(&self, id: &str, verdict: Verdict) {
        if verdict == Verdict::Failed {
            let n = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_prefix(format!("failed {n}"));
            if !self.bar.is_hidden() {
                self.bar.println(format!(
                    "FAILED {}",
                    cut_middle(&neutralise(id, false), 60, 60)
                ));
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
