//! The `mf-devserver` profile (the kit plays the Module Federation broker on port
//! 16322) against the real `ModuleFederationDevServer` of @module-federation/dts-plugin
//! 2.9.2, from the lockfile of `conformance/servers`, driven by
//! `conformance/clients/mf-devserver.js` (loopback only; the DevServer's own fork of a
//! background broker is blocked, so nothing outlives the test).
//!
//! Pinned verdicts, as established in shared/protocols/mf-dts-broker.md: registration
//! and a restart of its own broker work (the subscriber socket comes back because the
//! publisher socket's reconnect reopens it); when the remote's broker (another machine,
//! played on 127.0.0.2) restarts, the subscriber socket never comes back: FAILED at
//! `subscriber-reconnect#8-subscriber-back`, with nothing else failing.
//!
//! Port 16322 is fixed, so the run holds the same lock as the broker tests of
//! `profile_real_servers.rs`. Without `node` the test prints NOT RUN, except under CI.

use std::path::PathBuf;
use std::time::Duration;

mod common;

use common::broker::broker_lock;
use common::node::node_ready;
use common::scenario::only_failure;
use wsspec::scenario::{EngineOptions, Profile};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_real_devserver_loses_its_subscription_when_the_remote_broker_restarts() {
    if !node_ready("the mf-devserver profile") {
        return;
    }
    let _lock = broker_lock();
    let profile = Profile::from_path(&repo().join("conformance/profiles/mf-devserver"))
        .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(180),
            wsspec::scenario::run_profile(&profile, &EngineOptions::default()),
        )
        .await
        .expect("the profile ends within 180 s")
        .report
    });
    let mut dump = String::new();
    for c in &report.cases {
        dump += &format!("{:<55} {:<8} {}\n", c.id, c.verdict.label(), c.observed);
    }
    let failed = "mf-devserver/subscriber-reconnect#8-subscriber-back";
    let after_it = "mf-devserver/subscriber-reconnect#9";
    let f = only_failure(&report, failed, after_it, &dump);
    assert!(
        f.observed.contains("the client never came back"),
        "{}\n{dump}",
        f.observed
    );
    assert!(
        f.transcript
            .iter()
            .any(|e| e.summary.contains("no connection to 127.0.0.2:16322")),
        "the transcript shows that nothing connected: {:#?}",
        f.transcript
    );
    // The subscriber's end is in the transcript of the restart step before it.
    let restart = report
        .cases
        .iter()
        .find(|c| c.id == "mf-devserver/subscriber-reconnect#7")
        .unwrap();
    assert!(
        restart
            .transcript
            .iter()
            .any(|e| e.conn == "sub" && e.summary.contains("dropped")),
        "{:#?}",
        restart.transcript
    );
    assert_eq!(report.cases.len(), 12 + 11 + 11, "{dump}");
}
