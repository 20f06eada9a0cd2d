//! The default selection against an in-process tokio-tungstenite echo server.
//!
//! tungstenite is a conforming server for everything Autobahn checks, so every Autobahn
//! case must pass. Where it does not follow RFC 6455 in a way the extra checks see, the
//! test pins the exact outcome (with the reason, from tungstenite 0.30's source) so that a
//! change on either side is noticed.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::wire::tungstenite_echo_server as tungstenite_echo;
use wsspec::peer::{ConnectOptions, Target};
use wsspec::report::{CloseVerdict, RunReport, Verdict};
use wsspec::suite::{self, RunConfig};

fn summary(r: &RunReport) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for c in &r.cases {
        *m.entry(c.verdict.label().to_string()).or_default() += 1;
    }
    m
}

fn dump_bad(r: &RunReport, ids: &[&str]) -> String {
    r.cases
        .iter()
        .filter(|c| {
            !ids.contains(&c.id.as_str())
                && (c.verdict == Verdict::Failed
                    || c.verdict == Verdict::NotRun
                    || matches!(
                        c.close_verdict,
                        Some(CloseVerdict::Failed)
                            | Some(CloseVerdict::Unclean)
                            | Some(CloseVerdict::FailedByClient)
                            | Some(CloseVerdict::WrongCode)
                    ))
        })
        .map(|c| {
            format!(
                "{} {} / {:?}\n  sent: {}\n  expected: {}\n  observed: {}\n",
                c.id,
                c.verdict.label(),
                c.close_verdict,
                c.sent,
                c.expected,
                c.observed
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_selection_against_tungstenite() {
    let addr = tungstenite_echo().await;
    let target = Target::parse(&format!("ws://{addr}/")).unwrap();
    let catalog = suite::catalog();
    let selection = suite::select(&catalog, &[], &[], false).unwrap();
    let progress_count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let pc = progress_count.clone();
    let t = Instant::now();
    let report = suite::run(
        &target,
        &ConnectOptions::default(),
        &selection,
        RunConfig {
            jobs: 4,
            deadline: Some(Duration::from_secs(120)),
            strict: false,
            agent: "tokio-tungstenite 0.30".into(),
            progress: Some(std::sync::Arc::new(move |_c| {
                pc.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })),
        },
    )
    .await;
    let took = t.elapsed();
    if let Ok(path) = std::env::var("WSSPEC_DUMP") {
        std::fs::write(path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    }
    eprintln!(
        "default selection: {} cases in {:.1} s: {:?}",
        report.cases.len(),
        took.as_secs_f64(),
        summary(&report)
    );
    assert_eq!(report.cases.len(), selection.len());
    assert_eq!(
        progress_count.load(std::sync::atomic::Ordering::Relaxed),
        selection.len()
    );
    // Every case that is not plain OK, with the reason (tungstenite 0.30 source):
    let mut want: BTreeMap<&str, Verdict> = BTreeMap::new();
    // h.2.8: `create_parts` in handshake/server.rs never looks at Host, so a request
    // without Host is upgraded; RFC 6455 §4.2.1 item 2 asks for a 400, graded NON-STRICT
    // (see src/suite/extra.rs: Host belongs to the HTTP framing, the key exchange is intact).
    want.insert("h.2.8", Verdict::NonStrict);
    // h.2.1-h.2.7: handshake errors are returned before anything is written, so the server
    // closes TCP without an HTTP error response: NON-STRICT.
    for id in [
        "h.2.1", "h.2.2", "h.2.3", "h.2.4", "h.2.5", "h.2.6", "h.2.7",
    ] {
        want.insert(id, Verdict::NonStrict);
    }
    // 6.4.3/6.4.4: a frame is read whole before its UTF-8 is validated, so the server fails
    // only after part 3: NON-STRICT (what Autobahn reports for tungstenite too).
    want.insert("6.4.3", Verdict::NonStrict);
    want.insert("6.4.4", Verdict::NonStrict);
    // x.3.4: `CloseCode::from(1014)` falls into `Bad`, so close 1014 is answered with 1002.
    want.insert("x.3.4", Verdict::NonStrict);
    // x.4.2: on a reserved opcode `read` returns `Error::Protocol` and queues its 1002 close
    // frame, but the echo loop (like most tokio-tungstenite servers) stops on the error and
    // drops the stream, so TCP closes without a close frame: §7.1.7's SHOULD, NON-STRICT.
    want.insert("x.4.2", Verdict::NonStrict);
    for id in ["7.1.6", "7.13.1", "7.13.2"] {
        want.insert(id, Verdict::Informational);
    }
    // tungstenite's server accepts no permessage-deflate offer.
    for id in [
        "pmd.1.1", "pmd.1.2", "pmd.2.1", "pmd.2.2", "pmd.3.1", "pmd.3.2", "pmd.4.1", "pmd.4.2",
        "pmd.4.3", "pmd.5.1",
    ] {
        want.insert(id, Verdict::Unimplemented);
    }
    // Nor can it be compressed: every 12.x/13.x case is UNIMPLEMENTED, never OK.
    let refused: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| c.id.starts_with("12.") || c.id.starts_with("13."))
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(refused.len(), 216);
    for id in refused {
        want.insert(id, Verdict::Unimplemented);
    }
    let got: BTreeMap<&str, Verdict> = report
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Ok)
        .map(|c| (c.id.as_str(), c.verdict))
        .collect();
    let bad = dump_bad(&report, &["h.2.8", "x.3.4", "x.4.2"]);
    assert!(bad.is_empty(), "unexpected outcomes:\n{bad}");
    assert_eq!(got, want);
    for c in &report.cases {
        let want_close = match c.id.as_str() {
            "x.3.4" => Some(CloseVerdict::WrongCode),
            "x.4.2" => Some(CloseVerdict::Unclean),
            "7.1.6" | "7.13.1" | "7.13.2" => Some(CloseVerdict::Informational),
            id if id.starts_with("h.") || id.starts_with("pmd.") => None,
            // Run-level checks have no connection of their own.
            "x.2.2" | "x.2.3" | "x.2.4" => None,
            _ => Some(CloseVerdict::Ok),
        };
        assert_eq!(c.close_verdict, want_close, "{}: {}", c.id, c.observed);
    }
    for id in [
        "6.4.1", "6.4.2", "1.1.1", "2.10", "5.19", "7.7.13", "10.1.1", "x.2.1",
    ] {
        let c = report.cases.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, Verdict::Ok, "{id}: {}", c.observed);
        assert!(!c.transcript.is_empty(), "{id} has a transcript");
    }
    assert!(
        took < Duration::from_secs(30),
        "a default run against a fast local server must take seconds, took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_sample_and_deflate_cases_against_tungstenite() {
    let addr = tungstenite_echo().await;
    let cases = [
        "9.1.1", "9.2.4", "9.3.1", "9.4.9", "9.5.1", "9.6.6", "9.7.1", "9.8.3", "12.1.1", "13.7.18",
    ];
    let t = Instant::now();
    let url = format!("ws://{addr}/");
    let r = common::suite::run(&url, &cases, 4, Some(Duration::from_secs(120))).await;
    eprintln!("limits sample: {:.1} s", t.elapsed().as_secs_f64());
    for c in &r.cases {
        if c.id.starts_with("9.") {
            assert_eq!(
                (c.verdict, c.close_verdict),
                (Verdict::Ok, Some(CloseVerdict::Ok)),
                "{}: {}",
                c.id,
                c.observed
            );
        } else {
            // tungstenite accepts no permessage-deflate offer: UNIMPLEMENTED as in Autobahn
            // (the kit closes at once with 1000), never OK.
            assert_eq!(
                (c.verdict, c.close_verdict),
                (Verdict::Unimplemented, Some(CloseVerdict::Ok)),
                "{}: {}",
                c.id,
                c.observed
            );
        }
    }
}
