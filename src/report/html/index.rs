//! The site's `index.html`: the failing cases of every report first (what a reader came
//! for), then one row per scenario with its timeline, then the verdict matrix with one
//! column per agent.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{
    case_file, chip, close_class, compare_keys, counts_chips, encode_id, foot, head, verdict_class,
    Key, Timeline, OBSERVED_SHORT,
};
use crate::report::ids::category;
use crate::report::model::{CaseReport, CloseVerdict, RunReport, Verdict};
use crate::report::policy::{Policy, CLOSE_VERDICTS};
use crate::report::text::{self, cut_middle, human_ms};

/// The failing cases of every report, first thing on the index: what a reader came for.
/// NOT RUN cases follow in a closed list, since they are never passes either.
fn failing_section(
    out: &mut String,
    reports: &[RunReport],
    slugs: &[String],
    keyed: &[Vec<(Key, &CaseReport)>],
) {
    let several = reports.len() > 1;
    let mut failing = Vec::new();
    let mut not_run = Vec::new();
    for ((r, slug), cases) in reports.iter().zip(slugs).zip(keyed) {
        let policy = Policy::new(r.strict);
        for (k, c) in cases {
            let reasons = policy.fail_reasons(c);
            if !reasons.is_empty() {
                failing.push((r, slug, k, *c, reasons));
            } else if c.verdict == Verdict::NotRun {
                not_run.push((r, slug, k, *c));
            }
        }
    }
    let agent_th = if several { "<th>agent</th>" } else { "" };
    let agent_td = |r: &RunReport| {
        if several {
            format!("<td>{}</td>", text::html(&r.agent))
        } else {
            String::new()
        }
    };
    let _ = writeln!(out, "<h2 id=\"failing\">Failing ({})</h2>", failing.len());
    if failing.is_empty() {
        out.push_str("<p class=\"none\">No case fails the run.</p>\n");
    } else {
        let _ = writeln!(
            out,
            "<table class=\"failing\">\n<tr>{agent_th}<th>case</th><th>result</th><th>title</th><th>observed</th></tr>"
        );
        for (r, slug, k, c, reasons) in &failing {
            let mut result = chip(verdict_class(c.verdict), c.verdict.label());
            if let Some(cv) = c.close_verdict.filter(|v| *v != CloseVerdict::Ok) {
                let _ = write!(
                    result,
                    " {}",
                    chip(close_class(cv), &format!("close {}", cv.label()))
                );
            }
            let _ = writeln!(
                out,
                "<tr class=\"fail\">{}<td><a href=\"cases/{slug}/{}\">{}</a></td><td>{result}{}</td><td>{}</td><td class=\"obs\">{}</td></tr>",
                agent_td(r),
                case_file(k),
                text::html(&k.display()),
                match crate::report::policy::reasons_label(reasons) {
                    l if l == c.verdict.label() => String::new(),
                    l => format!("<div class=\"meta\">fails as {}</div>", text::html(&l)),
                },
                text::html(&c.title),
                text::html(&cut_middle(&c.observed, OBSERVED_SHORT, 50)),
            );
        }
        out.push_str("</table>\n");
    }
    if !not_run.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Not run ({}): never a pass</summary>\n<table class=\"failing\">\n<tr>{agent_th}<th>case</th><th>title</th><th>why</th></tr>",
            not_run.len()
        );
        for (r, slug, k, c) in &not_run {
            let _ = writeln!(
                out,
                "<tr>{}<td><a href=\"cases/{slug}/{}\">{}</a></td><td>{}</td><td class=\"obs\">{}</td></tr>",
                agent_td(r),
                case_file(k),
                text::html(&k.display()),
                text::html(&c.title),
                text::html(&cut_middle(&c.observed, OBSERVED_SHORT, 50)),
            );
        }
        out.push_str("</table>\n</details>\n");
    }
}

/// One row per scenario with its step verdicts and a link to its timeline.
fn scenarios_section(
    out: &mut String,
    reports: &[RunReport],
    slugs: &[String],
    timelines: &[Vec<Timeline>],
) {
    if timelines.iter().all(|t| t.is_empty()) {
        return;
    }
    out.push_str("<h2 id=\"scenarios\">Scenarios</h2>\n<p class=\"meta\">Each timeline shows every step's connections, HTTP exchanges, file edits and server output in one time-ordered view.</p>\n<table class=\"scenarios\">\n<tr><th>agent</th><th>scenario</th><th>steps</th><th>timeline</th></tr>\n");
    for ((r, slug), tls) in reports.iter().zip(slugs).zip(timelines) {
        for t in tls {
            let cases: Vec<&CaseReport> = t.steps.iter().map(|(_, c)| *c).collect();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"timelines/{slug}/{}\">timeline</a></td></tr>",
                text::html(&r.agent),
                text::html(t.name),
                counts_chips(&cases),
                t.file
            );
        }
    }
    out.push_str("</table>\n");
}

/// `index.html`: the failing cases, the scenarios, then the verdict matrix.
pub(super) fn index_page(
    reports: &[RunReport],
    slugs: &[String],
    keyed: &[Vec<(Key, &CaseReport)>],
    timelines: &[Vec<Timeline>],
) -> String {
    let mut out = String::new();
    head(&mut out, "wsspec conformance report");
    out.push_str("<h1>wsspec conformance report</h1>\n");
    failing_section(&mut out, reports, slugs, keyed);
    scenarios_section(&mut out, reports, slugs, timelines);

    // Agents.
    out.push_str("<h2>Agents</h2>\n<table class=\"agents\">\n<tr><th>agent</th><th>kind</th><th>target</th><th>started</th><th>duration</th><th>strict</th>");
    for v in Verdict::ALL {
        let _ = write!(out, "<th>{}</th>", text::html(v.label()));
    }
    out.push_str("<th>total</th><th>failing</th></tr>\n");
    for r in reports {
        let policy = Policy::new(r.strict);
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td>",
            text::html(&r.agent),
            text::html(&format!("{} over {}", r.kind, r.transport)),
            text::html(&r.target),
            text::html(&r.started),
            human_ms(r.duration_ms),
            if r.strict { "yes" } else { "no" }
        );
        for v in Verdict::ALL {
            let n = r.cases.iter().filter(|c| c.verdict == v).count();
            let _ = write!(out, "<td class=\"num\">{n}</td>");
        }
        let failing = r
            .cases
            .iter()
            .filter(|c| !policy.fail_reasons(c).is_empty())
            .count();
        let _ = writeln!(
            out,
            "<td class=\"num\">{}</td><td class=\"num\">{failing}</td></tr>",
            r.cases.len()
        );
    }
    out.push_str("</table>\n");

    // Legend.
    out.push_str("<h2>Legend</h2>\n<p>");
    for v in Verdict::ALL {
        out.push_str(&chip(verdict_class(v), v.label()));
        out.push(' ');
    }
    out.push_str("&nbsp; close: ");
    for v in CLOSE_VERDICTS {
        out.push_str(&chip(close_class(v), v.label()));
        out.push(' ');
    }
    out.push_str(
        "</p>\n<p class=\"meta\">NON-STRICT passes unless the run was strict; \
                  NOT RUN and UNIMPLEMENTED are never passes. Each cell links to the case page \
                  with the wire transcript.</p>\n",
    );

    // Rows: the union of all reports' keys, grouped by category.
    let lookups: Vec<HashMap<&Key, &CaseReport>> = keyed
        .iter()
        .map(|cases| cases.iter().map(|(k, c)| (k, *c)).collect())
        .collect();
    let mut seen: std::collections::HashSet<&Key> = std::collections::HashSet::new();
    let mut keys: Vec<&Key> = Vec::new();
    for cases in keyed {
        for (k, _) in cases {
            if seen.insert(k) {
                keys.push(k);
            }
        }
    }
    keys.sort_by(|a, b| compare_keys(a, b));
    let mut groups: Vec<(&str, Vec<&Key>)> = Vec::new();
    for k in keys {
        let cat = category(&k.id);
        match groups.last_mut() {
            Some((c, v)) if *c == cat => v.push(k),
            _ => groups.push((cat, vec![k])),
        }
    }
    // Sorting by id keeps a category contiguous, except that a category name and an id
    // can interleave (e.g. `vite/x` vs `vite.y`); merge such splits.
    let mut merged: Vec<(&str, Vec<&Key>)> = Vec::new();
    for (c, v) in groups {
        match merged.iter_mut().find(|(m, _)| *m == c) {
            Some((_, mv)) => mv.extend(v),
            None => merged.push((c, v)),
        }
    }

    out.push_str("<h2>Cases</h2>\n<p>");
    for (cat, v) in &merged {
        let _ = write!(
            out,
            "<a href=\"#cat-{}\">{}</a> ({}) &nbsp; ",
            encode_id(cat),
            text::html(if cat.is_empty() { "(none)" } else { cat }),
            v.len()
        );
    }
    out.push_str("</p>\n<table class=\"matrix\">\n<thead><tr><th>case</th>");
    for r in reports {
        // An HTTP/1.1 and an HTTP/2 run of one server sit side by side; say which is which.
        let over = if r.transport == "http/1.1" {
            String::new()
        } else {
            format!(
                " <span class=\"meta\">over {}</span>",
                text::html(&r.transport)
            )
        };
        let _ = write!(out, "<th>{}{over}</th>", text::html(&r.agent));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (cat, cat_keys) in &merged {
        let _ = write!(
            out,
            "<tr class=\"cat\"><th id=\"cat-{}\">{} <span class=\"meta\">({} case{})</span></th>",
            encode_id(cat),
            text::html(if cat.is_empty() { "(none)" } else { cat }),
            cat_keys.len(),
            if cat_keys.len() == 1 { "" } else { "s" }
        );
        for lookup in &lookups {
            let present: Vec<&CaseReport> = cat_keys
                .iter()
                .filter_map(|k| lookup.get(*k).copied())
                .collect();
            let _ = write!(out, "<td>{}</td>", counts_chips(&present));
        }
        out.push_str("</tr>\n");
        for k in cat_keys {
            let title = lookups
                .iter()
                .find_map(|l| l.get(*k))
                .map(|c| c.title.as_str())
                .unwrap_or("");
            let _ = write!(
                out,
                "<tr><th class=\"id\">{}<div class=\"title\">{}</div></th>",
                text::html(&k.display()),
                text::html(&text::truncate(title, 120))
            );
            for (lookup, slug) in lookups.iter().zip(slugs) {
                match lookup.get(*k) {
                    None => out.push_str("<td class=\"v-absent\">—</td>"),
                    Some(c) => {
                        let _ = write!(
                            out,
                            "<td class=\"{}\"><a href=\"cases/{}/{}\" title=\"{}\">{}</a>",
                            verdict_class(c.verdict),
                            slug,
                            case_file(k),
                            text::html(&text::truncate(&c.observed, 300)),
                            text::html(c.verdict.label())
                        );
                        let mut meta = vec![human_ms(c.duration_ms)];
                        if let Some(code) = c.remote_close_code {
                            meta.push(code.to_string());
                        }
                        let _ = write!(out, "<span class=\"meta\">{}</span>", meta.join(" · "));
                        if let Some(cv) = c.close_verdict.filter(|v| *v != CloseVerdict::Ok) {
                            let _ = write!(out, " {}", chip(close_class(cv), cv.label()));
                        }
                        out.push_str("</td>");
                    }
                }
            }
            out.push_str("</tr>\n");
        }
    }
    out.push_str("</tbody>\n</table>\n");
    foot(&mut out);
    out
}
