//! The `devtools` profile against node-network-devtools 1.0.30 (from the lockfile of
//! `conformance/servers`): the kit plays the package's fork on the core port and the
//! client under test is an app main process with `register()`
//! (`conformance/clients/devtools-app.js`). Ports are kit-chosen on 127.0.0.1, so the
//! scenarios run in parallel with anything else.
//!
//! Pinned verdicts, as established in shared/protocols/devtools-cdp.md: the main
//! connects and sends healthchecks every ~2 s (OK); two mains started at once against a
//! listening fork are both served (OK); after the fork dies the main never comes back
//! (check 17): FAILED at `main-reconnect#7-main-back` with nothing else failing; two
//! mains started at once before any fork listens (check 18, the package forks its own
//! server, kept on loopback): the second is never served (`two-mains-race`).
//! The CDP checks run against the package's fork and against Node's inspector; see
//! docs/profiles.md for the table they pin.
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

/// Runs the CDP checks against `cdp` and requires exactly the steps of `failing` to
/// FAIL (every other case OK), each with its evidence in the observed text.
async fn cdp_checks(cdp: &str, failing: &[(&str, &str)]) {
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
        let evidence = failing
            .iter()
            .find(|(f, _)| c.id.ends_with(f))
            .map(|(_, e)| e);
        let want = if evidence.is_some() {
            Verdict::Failed
        } else {
            Verdict::Ok
        };
        assert_eq!(c.verdict, want, "cdp={cdp}: {}\n{dump}", c.id);
        if let Some(e) = evidence {
            assert!(c.observed.contains(e), "cdp={cdp}: {}: {e:?}\n{dump}", c.id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdp_checks_on_the_node_network_devtools_fork() {
    cdp_checks(
        "nnd",
        &[
            ("cdp-unknown-method#3-error-reply", ""),
            ("cdp-malformed-json#3-parse-error", ""),
            ("cdp-host-policy#2-foreign-host-refused", "HTTP 101"),
            ("cdp-shutdown-close#3-close-frame", "1006"),
            // Both ports asked for every interface; the preload kept them on loopback.
            (
                "cdp-loopback#1-loopback-only",
                "asked for no host (every interface)",
            ),
            ("cdp-origin-policy#2-foreign-origin-refused", "HTTP 101"),
            // Debugger.getScriptSource for scriptId "1" hands out .env.local.
            (
                "cdp-file-read#6-no-file-contents",
                "1 × matching /wsspec-canary-/",
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdp_checks_on_nodes_inspector_the_reference() {
    cdp_checks(
        "inspector",
        &[
            ("cdp-ping#2-pong", ""),
            ("cdp-shutdown-close#3-close-frame", "1006"),
            ("cdp-origin-policy#2-foreign-origin-refused", "HTTP 101"),
        ],
    )
    .await;
}

/// Check 18, the real defect: two mains started at once (100 ms apart) while no fork
/// listens yet; the package forks its own server (kept on loopback by the preload),
/// and the second main skips itself for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_main_started_at_once_is_never_served() {
    if !node_ready("the devtools profile") {
        return;
    }
    let (cases, dump) = run_files(&["two-mains-race"], &[]).await;
    assert_eq!(cases.len(), 7, "{dump}");
    for c in &cases {
        let want = if c.id.ends_with("#2-main-a-served") || c.id.ends_with("#4-no-main-skipped") {
            Verdict::Failed
        } else {
            Verdict::Ok
        };
        assert_eq!(c.verdict, want, "{}\n{dump}", c.id);
    }
    let skipped = cases
        .iter()
        .find(|c| c.id.ends_with("#4-no-main-skipped"))
        .expect("the output case");
    assert!(
        skipped
            .observed
            .contains("The main process with same options is already running, skip it."),
        "{dump}"
    );
    let served_b = cases
        .iter()
        .find(|c| c.id.ends_with("#3-main-b-served"))
        .expect("the first main's case");
    assert!(served_b.observed.contains("main=b"), "{dump}");
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
    let f = common::scenario::only_failure(&report, failed, after_it, &dump);
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
