//! The site's detail pages: one per case and agent (verdicts, expectation, observation,
//! the case's transcript with hex dumps) and one timeline per scenario and agent (every
//! step's transcript, all connections side by side, in time order).

use std::fmt::Write as _;

use super::{
    case_file, chip, close_class, counts_chips, foot, head, step_anchor, verdict_class, Key,
    Timeline, HEX_CAP, MAX_ENTRIES, MAX_TIMELINE_ENTRIES, OBSERVED_SHORT,
};
use crate::report::model::{CaseReport, RunReport};
use crate::report::policy::Policy;
use crate::report::text::{self, cut_middle, dir_label, entry_hex_dump, human_ms, ms};

/// One case of one agent: its verdicts, expectation, observation and transcript.
pub(super) fn case_page(
    report: &RunReport,
    key: &Key,
    case: &CaseReport,
    prev: Option<&(Key, &CaseReport)>,
    next: Option<&(Key, &CaseReport)>,
    timeline: Option<&Timeline>,
    slug: &str,
) -> String {
    let mut out = String::new();
    head(
        &mut out,
        &format!("{} · {} · wsspec", key.display(), report.agent),
    );
    out.push_str("<nav><a href=\"../../index.html\">index</a>");
    if let Some((k, _)) = prev {
        let _ = write!(
            out,
            " · <a href=\"{}\">previous ({})</a>",
            case_file(k),
            text::html(&k.display())
        );
    }
    if let Some((k, _)) = next {
        let _ = write!(
            out,
            " · <a href=\"{}\">next ({})</a>",
            case_file(k),
            text::html(&k.display())
        );
    }
    if let Some(t) = timeline {
        let _ = write!(
            out,
            " · <a href=\"../../timelines/{slug}/{}#{}\">timeline of {}</a>",
            t.file,
            step_anchor(key),
            text::html(t.name)
        );
    }
    out.push_str("</nav>\n");
    let _ = writeln!(
        out,
        "<h1>{} — {}</h1>",
        text::html(&key.display()),
        text::html(&case.title)
    );

    let policy = Policy::new(report.strict);
    let reasons = policy.fail_reasons(case);
    out.push_str("<table class=\"kv\">\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(out, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row("agent", text::html(&report.agent));
    row("target", text::html(&report.target));
    row("rule", text::html(&case.rfc));
    row(
        "verdict",
        chip(verdict_class(case.verdict), case.verdict.label()),
    );
    row(
        "close verdict",
        match case.close_verdict {
            Some(cv) => chip(close_class(cv), cv.label()),
            None => "— (no closing handshake)".to_string(),
        },
    );
    row(
        "remote close code",
        case.remote_close_code
            .map(|c| c.to_string())
            .unwrap_or_else(|| "—".to_string()),
    );
    row(
        "run result",
        if reasons.is_empty() {
            "does not fail the run".to_string()
        } else {
            format!(
                "fails the run ({}{})",
                text::html(&crate::report::policy::reasons_label(&reasons)),
                if report.strict { ", strict" } else { "" }
            )
        },
    );
    row("duration", human_ms(case.duration_ms));
    row(
        "sent",
        format!("<div class=\"long\">{}</div>", text::html(&case.sent)),
    );
    row(
        "expected",
        format!("<div class=\"long\">{}</div>", text::html(&case.expected)),
    );
    row(
        "observed",
        format!("<div class=\"long\">{}</div>", text::html(&case.observed)),
    );
    out.push_str("</table>\n");

    let _ = writeln!(
        out,
        "<h2>Transcript ({} entries)</h2>",
        case.transcript.len()
    );
    if case.transcript.is_empty() {
        out.push_str("<p>No transcript recorded.</p>\n");
    } else {
        out.push_str("<table class=\"transcript\">\n<tr><th>t (ms)</th><th>conn</th><th>dir</th><th>kind</th><th>decoded</th><th>hex</th></tr>\n");
        for e in case.transcript.iter().take(MAX_ENTRIES) {
            let dir = dir_label(e.dir);
            let _ = writeln!(
                out,
                "<tr class=\"d-{dir}\"><td class=\"num\">{}</td><td>{}</td><td>{dir}</td><td>{}</td><td class=\"summary\">{}</td><td><pre>{}</pre></td></tr>",
                ms(e.t_ms),
                text::html(&e.conn),
                text::html(&e.kind),
                text::html(&e.summary),
                entry_hex_dump(e, HEX_CAP)
                    .map(|d| text::html(&d))
                    .unwrap_or_default()
            );
        }
        out.push_str("</table>\n");
        if case.transcript.len() > MAX_ENTRIES {
            let _ = writeln!(
                out,
                "<p>… {} more entries not shown (see the JSON report).</p>",
                case.transcript.len() - MAX_ENTRIES
            );
        }
    }
    foot(&mut out);
    out
}

/// The lanes of a timeline: the scenario's own events first, then connections and HTTP
/// in order of appearance, server output last.
fn lanes<'a>(t: &Timeline<'a>) -> Vec<&'a str> {
    let mut lanes: Vec<&str> = Vec::new();
    for (_, c) in &t.steps {
        for e in &c.transcript {
            if !lanes.contains(&e.conn.as_str()) {
                lanes.push(&e.conn);
            }
        }
    }
    let rank = |l: &str| match l {
        "scenario" => 0,
        "server" => 2,
        _ => 1,
    };
    lanes.sort_by_key(|l| rank(l)); // stable: appearance order within a rank
    lanes
}

/// One scenario of one agent: every step's transcript in one time-ordered view.
pub(super) fn timeline_page(report: &RunReport, slug: &str, t: &Timeline) -> String {
    let mut out = String::new();
    head(
        &mut out,
        &format!("{} · timeline · {} · wsspec", t.name, report.agent),
    );
    out.push_str("<nav><a href=\"../../index.html\">index</a></nav>\n");
    let _ = writeln!(out, "<h1>Timeline — {}</h1>", text::html(t.name));
    let cases: Vec<&CaseReport> = t.steps.iter().map(|(_, c)| *c).collect();
    let entries: usize = cases.iter().map(|c| c.transcript.len()).sum();
    let _ = writeln!(
        out,
        "<p>agent {} · {} step{} {} · {} transcript entries. Times are milliseconds since the scenario started; each step's row is followed by what was recorded while it ran.</p>",
        text::html(&report.agent),
        cases.len(),
        if cases.len() == 1 { "" } else { "s" },
        counts_chips(&cases),
        entries
    );
    let lanes = lanes(t);
    out.push_str("<table class=\"timeline\">\n<tr><th>t (ms)</th>");
    for l in &lanes {
        let _ = write!(out, "<th>{}</th>", text::html(l));
    }
    out.push_str("</tr>\n");
    let policy = Policy::new(report.strict);
    let mut shown = 0usize;
    for (key, case) in &t.steps {
        let failing = !policy.fail_reasons(case).is_empty();
        let _ = writeln!(
            out,
            "<tr class=\"step{}\" id=\"{}\"><td></td><td colspan=\"{}\"><a href=\"../../cases/{slug}/{}\">{}</a> {} {} <span class=\"meta\">{}</span><div class=\"long\">{}</div></td></tr>",
            if failing { " failing" } else { "" },
            step_anchor(key),
            lanes.len().max(1),
            case_file(key),
            text::html(&key.display()),
            text::html(&case.title),
            chip(verdict_class(case.verdict), case.verdict.label()),
            human_ms(case.duration_ms),
            text::html(&cut_middle(&case.observed, OBSERVED_SHORT, 50)),
        );
        for e in &case.transcript {
            if shown == MAX_TIMELINE_ENTRIES {
                break;
            }
            shown += 1;
            let dir = dir_label(e.dir);
            let arrow = match e.dir {
                crate::report::model::Direction::Sent => "→",
                crate::report::model::Direction::Recv => "←",
                crate::report::model::Direction::Event => "•",
            };
            let _ = write!(
                out,
                "<tr class=\"d-{dir}\"><td class=\"num\">{}</td>",
                ms(e.t_ms)
            );
            for l in &lanes {
                if *l == e.conn {
                    let _ = write!(
                        out,
                        "<td class=\"lane\"><span class=\"arrow\" title=\"{dir}\">{arrow}</span> <b>{}</b> {}</td>",
                        text::html(&e.kind),
                        text::html(&e.summary)
                    );
                } else {
                    out.push_str("<td></td>");
                }
            }
            out.push_str("</tr>\n");
        }
    }
    out.push_str("</table>\n");
    if entries > shown {
        let _ = writeln!(
            out,
            "<p>… {} more entries not shown (see the step pages or the JSON report).</p>",
            entries - shown
        );
    }
    foot(&mut out);
    out
}
