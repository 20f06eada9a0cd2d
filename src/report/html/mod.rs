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

mod index;
mod pages;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use sha1::{Digest, Sha1};

use index::index_page;
use pages::{case_page, timeline_page};

use super::ids::{compare_ids, sorted_cases};
use super::model::{CaseReport, CloseVerdict, RunReport, Verdict, REPORT_BUDGET};
use super::policy::CLOSE_VERDICTS;
use super::text;

/// Bytes of hex dump shown per transcript entry.
const HEX_CAP: usize = 4096;
/// Transcript entries shown per case page.
const MAX_ENTRIES: usize = 2000;
/// Transcript entries shown per timeline page.
const MAX_TIMELINE_ENTRIES: usize = 10_000;
/// Characters of an observed text shown in the failing list and on timeline step rows.
const OBSERVED_SHORT: usize = 400;

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
    for v in Verdict::ALL {
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
