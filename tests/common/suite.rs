//! Suite runs against servers the tests start, and the table of verdicts a run must come to.

use std::time::Duration;

use wsspec::peer::{ConnectOptions, Target};
use wsspec::report::{CaseReport, CloseVerdict, RunReport, Verdict};
use wsspec::suite::{self, RunConfig};

/// Runs the cases matching `patterns` (the default selection when empty) against `url`,
/// `jobs` at a time, within `deadline`.
pub async fn run(
    url: &str,
    patterns: &[&str],
    jobs: usize,
    deadline: Option<Duration>,
) -> RunReport {
    run_with(url, patterns, jobs, deadline, &ConnectOptions::default()).await
}

/// [`run`] with connection options (the catalog is the one for the URL's scheme, so
/// `h2c://` and `h2://` get the HTTP/2 cases).
pub async fn run_with(
    url: &str,
    patterns: &[&str],
    jobs: usize,
    deadline: Option<Duration>,
    opts: &ConnectOptions,
) -> RunReport {
    run_selected(url, patterns, &[], jobs, deadline, opts).await
}

/// The default selection but the large permessage-deflate rows (.5-.18 of every 12.j and
/// 13.j: 1000 messages of 4 KiB-128 KiB each, minutes for all of them), for tests that
/// run the default selection against a server with deflate on; rows .1-.4 stay in.
pub async fn run_default_small_deflate(
    url: &str,
    jobs: usize,
    deadline: Option<Duration>,
) -> RunReport {
    let mut large = Vec::new();
    for (group, sets) in [("12", 5), ("13", 7)] {
        for j in 1..=sets {
            for i in 5..=18 {
                large.push(format!("{group}.{j}.{i}"));
            }
        }
    }
    let large: Vec<&str> = large.iter().map(String::as_str).collect();
    run_selected(url, &[], &large, jobs, deadline, &ConnectOptions::default()).await
}

async fn run_selected(
    url: &str,
    patterns: &[&str],
    exclude: &[&str],
    jobs: usize,
    deadline: Option<Duration>,
    opts: &ConnectOptions,
) -> RunReport {
    let target = Target::parse(url).unwrap();
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let sel = suite::select(
        &suite::catalog_for(&target),
        &owned(patterns),
        &owned(exclude),
        false,
    )
    .unwrap();
    let cfg = RunConfig {
        jobs,
        deadline,
        ..Default::default()
    };
    suite::run(&target, opts, &sel, cfg).await
}

/// The case `id` of `r`; panics naming the ids there are when it is missing.
pub fn case<'a>(r: &'a RunReport, id: &str) -> &'a CaseReport {
    r.cases.iter().find(|c| c.id == id).unwrap_or_else(|| {
        let ids: Vec<&str> = r.cases.iter().map(|c| c.id.as_str()).collect();
        panic!("no case {id} in the report: {ids:?}")
    })
}

/// One line about a case for assertion messages: id, verdicts and what was observed.
pub fn show(c: &CaseReport) -> String {
    format!(
        "{} {} {:?}: {}",
        c.id,
        c.verdict.label(),
        c.close_verdict,
        c.observed
    )
}

/// A row of expectations: a case, the behaviour verdict it must get, its close verdict
/// (`None`: not checked) and a phrase its observation must contain (`""`: not checked).
pub type Want<'a> = (&'a str, Verdict, Option<CloseVerdict>, &'a str);

/// The case ids of `want`, to select exactly the cases a table speaks of.
pub fn ids<'a>(want: &[Want<'a>]) -> Vec<&'a str> {
    want.iter().map(|w| w.0).collect()
}

/// Asserts every row of `want` against `r`, listing all the rows that do not hold at once.
pub fn expect(r: &RunReport, want: &[Want<'_>]) {
    let wrong: Vec<String> = want
        .iter()
        .filter_map(|&(id, verdict, close, says)| {
            let c = case(r, id);
            let holds = c.verdict == verdict
                && close.is_none_or(|v| c.close_verdict == Some(v))
                && c.observed.contains(says);
            let wanted = format!("{} {close:?} \"{says}\"", verdict.label());
            (!holds).then(|| format!("want {wanted}, got {}", show(c)))
        })
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
