//! The `reliable-client` profile (the kit plays the server) against the reference
//! reliable-messaging client of `conformance/clients/reliable-client.js`, correct and
//! with each of its fault switches. The correct client passes every check; each fault
//! is FAILED by the check meant for it, and by no other.
//!
//! The profile starts the client itself (`start_client`, on 127.0.0.1, stopped by its
//! process group at cleanup); the runs go in parallel, each scenario on its own
//! kit-chosen port. The client needs the `ws` package of `conformance/servers`
//! (installed once from the lockfile). Without `node` on PATH the tests print NOT RUN
//! and return, except under CI.

use std::path::PathBuf;
use std::time::Duration;

mod common;

use common::node::node_ready;
use wsspec::report::{RunReport, Verdict};
use wsspec::scenario::{EngineOptions, Profile};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the whole profile with `faults` (comma-separated, empty for the correct client).
async fn run(faults: &str) -> RunReport {
    let profile = Profile::from_path(&repo().join("conformance/profiles/reliable-client"))
        .unwrap_or_else(|e| panic!("{e}"));
    let opts = EngineOptions {
        vars: vec![("faults".into(), faults.into())],
        ..EngineOptions::default()
    };
    let fut = wsspec::scenario::run_profile(&profile, &opts);
    tokio::time::timeout(Duration::from_secs(120), fut)
        .await
        .expect("the profile run ends within 120 s")
        .report
}

/// Every case, one line each, with the transcript of the failed ones.
fn dump(r: &RunReport) -> String {
    let mut s = String::new();
    for c in &r.cases {
        s += &format!("{:<50} {:<8} {}\n", c.id, c.verdict.label(), c.observed);
        if c.verdict == Verdict::Failed {
            s += &wsspec::report::terminal::transcript_text(c, 40, 60);
            s += "\n";
        }
    }
    s
}

/// The ids of the FAILED cases.
fn failed(r: &RunReport) -> Vec<String> {
    r.cases
        .iter()
        .filter(|c| c.verdict == Verdict::Failed)
        .map(|c| c.id.clone())
        .collect()
}

/// Runs with `faults` and requires that exactly the scenarios named in `want` have a
/// failure, each at the step whose id ends with one of its suffixes, and that nothing
/// else failed or was left NOT RUN outside those scenarios.
async fn check(faults: &str, want: &[(&str, &[&str])]) {
    if !node_ready("the reliable-client profile") {
        return;
    }
    let r = run(faults).await;
    let failed = failed(&r);
    for c in &r.cases {
        let scenario =
            c.id.split_once('/')
                .map_or(c.id.as_str(), |(_, s)| s)
                .split('#')
                .next()
                .unwrap_or("");
        let expected = want.iter().find(|(s, _)| *s == scenario);
        match expected {
            None => assert!(
                c.verdict == Verdict::Ok,
                "faults={faults:?}: {} should be OK\n{}",
                c.id,
                dump(&r)
            ),
            Some((_, steps)) => {
                if c.verdict == Verdict::Failed {
                    assert!(
                        steps.iter().any(|s| c.id.ends_with(s)),
                        "faults={faults:?}: {} failed, expected only {steps:?}\n{}",
                        c.id,
                        dump(&r)
                    );
                }
            }
        }
    }
    for (s, _) in want {
        assert!(
            failed.iter().any(|id| id.contains(&format!("/{s}#"))),
            "faults={faults:?}: scenario {s} should have FAILED\n{}",
            dump(&r)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_client_passes_every_check() {
    check("", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_heartbeat_is_caught_by_the_heartbeat_check_only() {
    check("no_heartbeat", &[("heartbeat", &["-heartbeat"])]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_retry_is_caught_by_the_ack_retry_check_only() {
    check("no_retry", &[("ack-retry", &["-retries"])]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_backoff_is_caught_by_the_backoff_check_only() {
    check("no_backoff", &[("reconnect-backoff", &["-backoff"])]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_replay_is_caught_by_the_replay_check_only() {
    check("no_replay", &[("replay", &["-m2"])]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_replay_is_caught_by_the_replay_check_only() {
    check("duplicate_replay", &[("replay", &["#11", "-once"])]).await;
}
