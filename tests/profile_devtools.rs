//! The `devtools` profile against node-network-devtools 1.0.30 (from the lockfile of
//! `conformance/servers`): the kit plays the package's fork on the core port and the
//! client under test is an app main process with `register()`
//! (`conformance/clients/devtools-app.js`). Ports are kit-chosen on 127.0.0.1, so the
//! scenarios run in parallel with anything else.
//!
//! Pinned verdicts, as established in shared/protocols/devtools-cdp.md: the main
//! connects and sends healthchecks every ~2 s (OK); two mains started at once against a
//! listening fork are both served (OK); after the fork dies the main never comes back
//! (check 17): FAILED at `main-reconnect#7-main-back` with nothing else failing.
//! Without `node` the test prints NOT RUN, except under CI.

use std::path::PathBuf;
use std::time::Duration;

mod common;

use common::node::node_ready;
use wsspec::report::{CaseReport, Verdict};
use wsspec::scenario::{EngineOptions, Profile};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the profile's files named `names` (without `.toml`) one after the other with
/// `vars`; all their cases, and a dump of them for messages.
async fn run_files(names: &[&str], vars: &[(&str, &str)]) -> (Vec<CaseReport>, String) {
    let opts = EngineOptions {
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..EngineOptions::default()
    };
    let mut cases = Vec::new();
    for n in names {
        let path = repo().join(format!("conformance/profiles/devtools/{n}.toml"));
        let profile = Profile::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
        let run = tokio::time::timeout(
            Duration::from_secs(60),
            wsspec::scenario::run_profile(&profile, &opts),
        )
        .await
        .expect("a scenario ends within 60 s");
        cases.extend(run.report.cases);
    }
    let mut dump = String::new();
    for c in &cases {
        dump += &format!("{:<50} {:<8} {}\n", c.id, c.verdict.label(), c.observed);
    }
    (cases, dump)
}

const CDP_FILES: &[&str] = &[
    "cdp-unknown-method",
    "cdp-malformed-json",
    "cdp-one-reply",
    "cdp-host-policy",
    "cdp-ping",
    "cdp-shutdown-close",
    "cdp-loopback",
    "cdp-origin-policy",
    "cdp-file-read",
    "cdp-bad-frame",
];

/// Runs the CDP checks against `cdp` and requires exactly the steps `failing` to FAIL
/// (every other case OK).
async fn cdp_checks(cdp: &str, failing: &[&str]) {
    if !node_ready("the devtools profile") {
        return;
    }
    let (cases, dump) = run_files(CDP_FILES, &[("cdp", cdp)]).await;
    assert_eq!(
        cases.len(),
        5 + 5 + 5 + 4 + 4 + 5 + 3 + 4 + 8 + 11,
        "{dump}"
    );
    for c in &cases {
        let want = if failing.iter().any(|f| c.id.ends_with(f)) {
            Verdict::Failed
        } else {
            Verdict::Ok
        };
        assert_eq!(c.verdict, want, "cdp={cdp}: {}\n{dump}", c.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdp_checks_on_the_node_network_devtools_fork() {
    cdp_checks(
        "nnd",
        &[
            "cdp-unknown-method#3-error-reply",
            "cdp-malformed-json#3-parse-error",
            "cdp-host-policy#2-foreign-host-refused",
            "cdp-shutdown-close#3-close-frame",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdp_checks_on_nodes_inspector_the_reference() {
    cdp_checks(
        "inspector",
        &["cdp-ping#2-pong", "cdp-shutdown-close#3-close-frame"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_process_never_comes_back_after_the_fork_dies() {
    if !node_ready("the devtools profile") {
        return;
    }
    let (cases, dump) = run_files(&["main-healthcheck", "main-reconnect", "two-mains"], &[]).await;
    let report = wsspec::report::RunReport::new(
        "scenario",
        "devtools".into(),
        "devtools".into(),
        std::time::SystemTime::now(),
        Duration::ZERO,
        cases,
    );
    let failed = "devtools/main-reconnect#7-main-back";
    let after_it = "devtools/main-reconnect#8";
    for c in &report.cases {
        let want = if c.id == failed {
            Verdict::Failed
        } else if c.id == after_it {
            Verdict::NotRun
        } else {
            Verdict::Ok
        };
        assert_eq!(c.verdict, want, "{}\n{dump}", c.id);
    }
    let f = report.cases.iter().find(|c| c.id == failed).expect(failed);
    assert!(
        f.observed.contains("the client never came back within 8s"),
        "{dump}"
    );
    assert!(
        f.transcript
            .iter()
            .any(|e| e.conn == "listener core" && e.summary.contains("no connection to")),
        "{:#?}",
        f.transcript
    );
    let interval = report
        .cases
        .iter()
        .find(|c| c.id == "devtools/main-healthcheck#6-healthcheck-interval")
        .expect("the interval case");
    assert!(interval.observed.contains("gaps ["), "{dump}");
    assert_eq!(report.cases.len(), 7 + 10 + 9, "{dump}");
}
