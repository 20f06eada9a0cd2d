//! A static, self-contained HTML site: `index.html` with the failing cases first, then a
//! verdict matrix (one column per report, i.e. per agent, as in Autobahn's multi-agent
//! comparison); one page per case and agent under `cases/<agent-slug>/<case>.html`; and
//! for scenario reports one timeline per scenario under
//! `timelines/<agent-slug>/<scenario>.html`, which puts every step's transcript (all
//! connections, HTTP exchanges, file edits, server output) in one time-ordered view,
//! since a sequence failure (a stale publisher, a subscriber never re-attached) is only
//! visible across steps.
//!
//! No JavaScript, no external assets: CSS is inlined in every page so a single page can be
//! attached to a bug report. Every string from a report goes through `text::html`:
//! summaries and observed values come from servers under test and may be hostile.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use sha1::{Digest, Sha1};

use super::ids::{category, compare_ids, sorted_cases};
use super::model::{CaseReport, CloseVerdict, RunReport, Verdict, REPORT_BUDGET};
use super::policy::{Policy, CLOSE_VERDICTS};
use super::text::{self, cut_middle, dir_label, entry_hex_dump, human_ms, ms};

/// Bytes of hex dump shown per transcript entry.
const HEX_CAP: usize = 4096;
/// Transcript entries shown per case page.
const MAX_ENTRIES: usize = 2000;
/// Transcript entries shown per timeline page.
const MAX_TIMELINE_ENTRIES: usize = 10_000;
/// Characters of an observed text shown in the failing list and on timeline step rows.
const OBSERVED_SHORT: usize = 400;

/// Matrix column order (and legend order) of behaviour verdicts.
const VERDICT_ORDER: [Verdict; 6] = [
    Verdict::Ok,
    Verdict::NonStrict,
    Verdict::Informational,
    Verdict::Unimplemented,
    Verdict::Failed,
    Verdict::NotRun,
];

const CSS: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.5em;margin:0 0 .5em}h2{font-size:1.2em;margin:1.5em 0 .5em}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f4f4f4}
a{color:inherit}
.num{text-align:right;font-variant-numeric:tabular-nums}
.matrix td{min-width:8em;white-space:nowrap}
.matrix td a{display:block;text-decoration:none;font-weight:600}
.matrix th.id{white-space:nowrap;font-weight:normal}
.matrix .title{color:#555;font-size:.9em;white-space:normal}
.matrix tr.cat th,.matrix tr.cat td{background:#e8eaf6;font-weight:600}
.meta{color:#444;font-size:.85em;font-weight:normal}
.chip{display:inline-block;padding:0 .4em;margin:1px;border-radius:3px;font-size:.85em;font-weight:600;white-space:nowrap}
.v-ok{background:#a5d6a7}.v-non-strict{background:#fff176}.v-informational{background:#90caf9}
.v-unimplemented{background:#ce93d8}.v-failed{background:#ef5350;color:#fff}
.v-not-run{background:repeating-linear-gradient(45deg,#e0e0e0,#e0e0e0 6px,#f5f5f5 6px,#f5f5f5 12px);color:#555}
.v-absent{background:#fff;color:#aaa;text-align:center}
.c-ok{background:#a5d6a7}.c-informational{background:#90caf9}.c-wrong-code{background:#fff176}
.c-failed-by-client{background:#ffb74d}.c-unclean{background:#ef5350;color:#fff}.c-failed{background:#c62828;color:#fff}
.c-not-run{background:#e0e0e0;color:#555}
.kv th{width:11em}
.transcript td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.transcript pre{margin:0;white-space:pre}
.summary{white-space:pre-wrap;word-break:break-all;max-width:60em}
tr.d-sent td{background:#f1f8e9}tr.d-recv td{background:#e3f2fd}tr.d-event td{background:#fafafa}
.long{white-space:pre-wrap;word-break:break-all;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
nav{margin-bottom:1em}
.failing td.obs{max-width:50em;word-break:break-word;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
p.none{color:#2e7d32;font-weight:600}
.timeline td{vertical-align:top}
.timeline td.lane{max-width:36em;word-break:break-word;white-space:pre-wrap;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.timeline tr.step td{background:#eceff1;border-top:2px solid #90a4ae}
.timeline tr.step.failing td{background:#ffebee;border-top:2px solid #c62828}
.timeline .arrow{font-weight:700}
"#;

/// Writes the site for `reports` into `dir` (created if missing): `index.html` and
/// `cases/<agent-slug>/<case>.html`. Existing unrelated files in `dir` are left alone.
/// Transcripts are cut to [`REPORT_BUDGET`] per report as in the JSON and JUnit writers, so
/// a hostile server cannot make the site larger than the reports the kit promises.
pub fn write_html(reports: &[RunReport], dir: &Path) -> io::Result<()> {
    let fitted: Vec<RunReport> = reports
        .iter()
        .map(|r| r.fit_transcripts(REPORT_BUDGET).into_owned())
        .collect();
    let reports = fitted.as_slice();
    let slugs = agent_slugs(reports);
    let keyed: Vec<Vec<(Key, &CaseReport)>> = reports.iter().map(keyed_cases).collect();
    let timelines: Vec<Vec<Timeline>> = reports
        .iter()
        .zip(&keyed)
        .map(|(r, cases)| scenario_timelines(r, cases))
        .collect();

    for (((report, slug), cases), tls) in reports.iter().zip(&slugs).zip(&keyed).zip(&timelines) {
        let agent_dir = dir.join("cases").join(slug);
        std::fs::create_dir_all(&agent_dir)?;
        for (i, (key, case)) in cases.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| &cases[j]);
            let next = cases.get(i + 1);
            let timeline = tls.iter().find(|t| t.steps.iter().any(|(k, _)| *k == key));
            let page = case_page(report, key, case, prev, next, timeline, slug);
            std::fs::write(agent_dir.join(case_file(key)), page)?;
        }
        if !tls.is_empty() {
            let tl_dir = dir.join("timelines").join(slug);
            std::fs::create_dir_all(&tl_dir)?;
            for t in tls {
                std::fs::write(tl_dir.join(&t.file), timeline_page(report, slug, t))?;
            }
        }
    }

    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("index.html"),
        index_page(reports, &slugs, &keyed, &timelines),
    )?;
    Ok(())
}

/// One scenario of a scenario report: its steps in execution order.
struct Timeline<'a> {
    /// The scenario part of the step ids (`vite/token-policy` of `vite/token-policy#3`).
    name: &'a str,
    /// File name under `timelines/<agent-slug>/`.
    file: String,
    steps: Vec<(&'a Key, &'a CaseReport)>,
}

/// The scenario a step belongs to: its id up to the last `#` (step ids are
/// `profile/scenario#step` or `scenario#step`, and the step part never contains `#`).
fn scenario_of(id: &str) -> Option<&str> {
    id.rsplit_once('#').map(|(s, _)| s)
}

/// The scenarios of a `scenario` report, in the order they ran; none for other kinds.
fn scenario_timelines<'a>(
    report: &'a RunReport,
    keyed: &'a [(Key, &'a CaseReport)],
) -> Vec<Timeline<'a>> {
    if report.kind != "scenario" {
        return Vec::new();
    }
    let mut out: Vec<Timeline<'a>> = Vec::new();
    // The JSON keeps execution order; `keyed` is sorted by id, so map back by identity.
    for case in &report.cases {
        let Some(name) = scenario_of(&case.id) else {
            continue;
        };
        let Some((key, _)) = keyed.iter().find(|(_, c)| std::ptr::eq(*c, case)) else {
            continue;
        };
        match out.iter_mut().find(|t| t.name == name) {
            Some(t) => t.steps.push((key, case)),
            None => out.push(Timeline {
                name,
                file: format!("{}.html", encode_id(name)),
                steps: vec![(key, case)],
            }),
        }
    }
    out
}

/// The anchor of a step's row on its timeline page.
fn step_anchor(key: &Key) -> String {
    let file = case_file(key);
    format!("s-{}", file.trim_end_matches(".html"))
}

/// A case's identity in the matrix: its id and which occurrence of that id in its report
/// (duplicates get their own row instead of silently overwriting each other).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    id: String,
    occurrence: usize,
}

impl Key {
    fn display(&self) -> String {
        if self.occurrence == 0 {
            self.id.clone()
        } else {
            format!("{} (#{})", self.id, self.occurrence + 1)
        }
    }
}

fn keyed_cases(report: &RunReport) -> Vec<(Key, &CaseReport)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    sorted_cases(report)
        .into_iter()
        .map(|c| {
            let n = seen.entry(c.id.as_str()).or_insert(0);
            let key = Key {
                id: c.id.clone(),
                occurrence: *n,
            };
            *n += 1;
            (key, c)
        })
        .collect()
}

fn compare_keys(a: &Key, b: &Key) -> std::cmp::Ordering {
    compare_ids(&a.id, &b.id).then(a.occurrence.cmp(&b.occurrence))
}

/// Unique, filesystem- and URL-safe directory names for the agents.
pub fn agent_slugs(reports: &[RunReport]) -> Vec<String> {
    let mut used: Vec<String> = Vec::new();
    for r in reports {
        let mut base = String::new();
        for c in r.agent.chars() {
            if c.is_ascii_alphanumeric() {
                base.push(c.to_ascii_lowercase());
            } else if !base.ends_with('-') {
                base.push('-');
            }
        }
        let mut base: String = base.trim_matches('-').chars().take(40).collect();
        base = base.trim_end_matches('-').to_string();
        if base.is_empty() {
            base = "agent".into();
        }
        let mut slug = base.clone();
        let mut n = 2;
        while used.contains(&slug) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        used.push(slug);
    }
    used
}

/// Injective encoding of an id into a safe file-name stem: ASCII letters, digits, `.`
/// and `-` stay; every other byte becomes `_xx`. Very long ids are cut and suffixed with
/// a hash so names stay within file-system limits.
fn encode_id(id: &str) -> String {
    let mut name = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
            name.push(b as char);
        } else {
            let _ = write!(name, "_{b:02x}");
        }
    }
    // A leading dot would make a hidden file (or `..`); `_.` cannot come out of the
    // encoding above, so the prefix keeps names unique.
    if name.is_empty() || name.starts_with('.') {
        name.insert(0, '_');
    }
    if name.len() > 120 {
        let digest = Sha1::digest(id.as_bytes());
        let mut h = String::new();
        for b in &digest[..8] {
            let _ = write!(h, "{b:02x}");
        }
        name.truncate(80);
        let _ = write!(name, "~h{h}");
    }
    name
}

fn case_file(key: &Key) -> String {
    let mut name = encode_id(&key.id);
    if key.occurrence > 0 {
        let _ = write!(name, "~{}", key.occurrence + 1);
    }
    name.push_str(".html");
    name
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "v-ok",
        Verdict::NonStrict => "v-non-strict",
        Verdict::Informational => "v-informational",
        Verdict::Unimplemented => "v-unimplemented",
        Verdict::Failed => "v-failed",
        Verdict::NotRun => "v-not-run",
    }
}

fn close_class(v: CloseVerdict) -> &'static str {
    match v {
        CloseVerdict::Ok => "c-ok",
        CloseVerdict::Failed => "c-failed",
        CloseVerdict::WrongCode => "c-wrong-code",
        CloseVerdict::Unclean => "c-unclean",
        CloseVerdict::FailedByClient => "c-failed-by-client",
        CloseVerdict::Informational => "c-informational",
        CloseVerdict::NotRun => "c-not-run",
    }
}

fn head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        text::html(title)
    );
}

fn foot(out: &mut String) {
    out.push_str("</body>\n</html>\n");
}

fn chip(class: &str, label: &str) -> String {
    format!("<span class=\"chip {class}\">{}</span>", text::html(label))
}

fn counts_chips(cases: &[&CaseReport]) -> String {
    let mut parts = Vec::new();
    for v in VERDICT_ORDER {
        let n = cases.iter().filter(|c| c.verdict == v).count();
        if n > 0 {
            parts.push(chip(verdict_class(v), &format!("{n} {}", v.label())));
        }
    }
    for v in CLOSE_VERDICTS {
        if v == CloseVerdict::Ok {
            continue;
        }
        let n = cases.iter().filter(|c| c.close_verdict == Some(v)).count();
        if n > 0 {
            parts.push(chip(close_class(v), &format!("{n} close {}", v.label())));
        }
    }
    parts.join(" ")
}

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
                match super::policy::reasons_label(reasons) {
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

fn index_page(
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
    for v in VERDICT_ORDER {
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
        for v in VERDICT_ORDER {
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
    for v in VERDICT_ORDER {
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

fn case_page(
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
                text::html(&super::policy::reasons_label(&reasons)),
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

fn timeline_page(report: &RunReport, slug: &str, t: &Timeline) -> String {
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
                super::model::Direction::Sent => "→",
                super::model::Direction::Recv => "←",
                super::model::Direction::Event => "•",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_id_is_safe_and_injective_on_examples() {
        let ids = [
            "6.4.3",
            "vite/token-policy#3",
            "vite_2ftoken-policy_233",
            "..",
            "",
            "a b",
            "a_20b",
            "../../etc/passwd",
        ];
        let names: Vec<String> = ids.iter().map(|i| encode_id(i)).collect();
        for n in &names {
            assert!(n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-~".contains(c)));
            assert!(!n.starts_with('.'));
            assert!(!n.contains('/'));
        }
        let mut dedup = names.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), names.len(), "{names:?}");
        assert_eq!(encode_id("6.4.3"), "6.4.3");
        assert!(encode_id(&"x/".repeat(200)).len() <= 120);
    }

    #[test]
    fn slugs_are_unique() {
        let mk = |a: &str| RunReport {
            tool: "wsspec".into(),
            version: "0".into(),
            schema: 1,
            kind: "rfc6455".into(),
            agent: a.into(),
            target: String::new(),
            started: String::new(),
            duration_ms: 0.0,
            strict: false,
            transport: "http/1.1".into(),
            cases: vec![],
        };
        let s = agent_slugs(&[mk("ws 8.18"), mk("WS 8.18"), mk("<>"), mk("")]);
        assert_eq!(s, ["ws-8-18", "ws-8-18-2", "agent", "agent-2"]);
    }
}
