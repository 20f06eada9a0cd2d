//! The suite against the built-in reference server: the conforming server passes every
//! default case, and each fault switch is caught by the cases meant for it and by no
//! unrelated case (`required ⊆ deviating ⊆ allowed`, with `deviating` non-empty).
//!
//! The conforming server and the `deflate_*` switches run with permessage-deflate on (as
//! `wsspec run` without a URL does), so `pmd.*` runs; the other switches run without it,
//! where `pmd.*` is UNIMPLEMENTED (an optional feature not offered, not a deviation).

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::suite::show;
use wsspec::report::{CaseReport, CloseVerdict, RunReport, Verdict};
use wsspec::server::{bind, Faults, ServerConfig};
use wsspec::suite;

async fn run_against(faults: Faults, jobs: usize) -> RunReport {
    let deflate = faults.is_none() || faults.any_deflate();
    let server = bind(
        "127.0.0.1:0".parse().unwrap(),
        ServerConfig {
            deflate: deflate.then(Default::default),
            ..ServerConfig::with_faults(faults)
        },
    )
    .await
    .unwrap();
    let r = common::suite::run_default_small_deflate(
        &server.url(),
        jobs,
        Some(Duration::from_secs(120)),
    )
    .await;
    server.shutdown().await;
    r
}

/// A case deviates when its behaviour is not OK/INFORMATIONAL (UNIMPLEMENTED for `pmd.*`,
/// 12.x and 13.x without deflate) or its close verdict is bad.
fn deviates(c: &CaseReport) -> bool {
    !(matches!(c.verdict, Verdict::Ok | Verdict::Informational)
        || (c.verdict == Verdict::Unimplemented && any_deflate_case(c)))
        || matches!(
            c.close_verdict,
            Some(CloseVerdict::Failed)
                | Some(CloseVerdict::WrongCode)
                | Some(CloseVerdict::Unclean)
                | Some(CloseVerdict::FailedByClient)
                | Some(CloseVerdict::NotRun)
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_passes_every_default_case() {
    let t = Instant::now();
    let r = run_against(Faults::none(), 4).await;
    let took = t.elapsed();
    eprintln!(
        "reference server: {} cases in {:.1} s",
        r.cases.len(),
        took.as_secs_f64()
    );
    assert!(r.agent.starts_with("wsspec-reference/"), "{}", r.agent);
    let bad: Vec<String> = r.cases.iter().filter(|c| deviates(c)).map(show).collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // With deflate on, every pmd.* check runs and passes.
    let pmd: Vec<&CaseReport> = r
        .cases
        .iter()
        .filter(|c| c.id.starts_with("pmd."))
        .collect();
    assert_eq!(pmd.len(), 10);
    assert!(pmd.iter().all(|c| c.verdict == Verdict::Ok), "{pmd:#?}");
    // And so do Autobahn's deflate echoes (rows .1-.4 here; every row in `wsspec run`).
    let echoes = r
        .cases
        .iter()
        .filter(|c| c.id.starts_with("12.") || c.id.starts_with("13."))
        .count();
    assert_eq!(echoes, 48);
    let info: Vec<&str> = r
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::Informational)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(info, vec!["7.1.6", "7.13.1", "7.13.2"]);
    // The reference server validates UTF-8 per byte: the staged cases are OK, not NON-STRICT.
    assert!(r.cases.iter().all(|c| c.verdict != Verdict::NonStrict));
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

type Pred = fn(&CaseReport) -> bool;

fn invalid_utf8(c: &CaseReport) -> bool {
    c.id.starts_with("6.3.")
        || c.id.starts_with("6.4.")
        || suite::autobahn::cat6::GENERATED
            .iter()
            .any(|(id, valid, _)| !valid && *id == c.id)
}
fn fuzz_case(c: &CaseReport) -> bool {
    !c.id.starts_with("h.")
}
fn pmd_case(c: &CaseReport) -> bool {
    c.id.starts_with("pmd.")
}
/// pmd.* or an Autobahn permessage-deflate echo (12.x/13.x rows .1-.4 are in the run).
fn any_deflate_case(c: &CaseReport) -> bool {
    pmd_case(c) || c.id.starts_with("12.") || c.id.starts_with("13.")
}
/// The offers with `server_no_context_takeover` (13.2, 13.5-13.7) and its pmd.* check.
fn no_context_takeover_case(c: &CaseReport) -> bool {
    c.id == "pmd.3.1"
        || ["13.2.", "13.5.", "13.6.", "13.7."]
            .iter()
            .any(|p| c.id.starts_with(p))
}
/// The offers with `server_max_window_bits=9` (13.3, 13.5, 13.7) and its pmd.* check.
fn small_window_case(c: &CaseReport) -> bool {
    c.id == "pmd.3.2"
        || ["13.3.", "13.5.", "13.7."]
            .iter()
            .any(|p| c.id.starts_with(p))
}
fn not_rejection(c: &CaseReport) -> bool {
    !c.id.starts_with("h.2.")
}
fn kit_closes(c: &CaseReport) -> bool {
    // Every 12.x/13.x case ends with the kit's close 1000, also when the offer is refused.
    c.expected.contains("kit closes") || c.id.starts_with("12.") || c.id.starts_with("13.")
}

enum Allowed {
    Ids(&'static [&'static str]),
    Where(Pred),
}

struct Row {
    fault: &'static str,
    allowed: Allowed,
    /// Cases that must catch the fault (the ones its documentation names, or a sample).
    required: &'static [&'static str],
}

const PONG_CASES: &[&str] = &[
    "2.1", "2.2", "2.3", "2.4", "2.6", "2.9", "2.10", "2.11", "5.6", "5.7", "5.8", "5.19", "5.20",
    "x.5.1", "x.5.2", "x.5.3", "x.5.4", "x.5.5", "x.5.8", "x.6.5",
];

fn table() -> Vec<Row> {
    use Allowed::*;
    vec![
        // A broken 101 fails every case that needs an upgrade; the h.2.x requests are
        // refused before any 101 is built.
        Row {
            fault: "wrong_accept_key",
            allowed: Where(not_rejection),
            required: &["h.1.1", "1.1.1", "7.1.1", "x.1.1"],
        },
        Row {
            fault: "select_unoffered_protocol",
            allowed: Where(not_rejection),
            required: &["h.3.1", "h.3.2", "1.1.1"],
        },
        Row {
            fault: "accept_unoffered_extension",
            allowed: Where(not_rejection),
            required: &["h.4.1", "h.4.2", "1.1.1"],
        },
        Row {
            fault: "accept_any_version",
            allowed: Ids(&["h.2.1"]),
            required: &["h.2.1"],
        },
        Row {
            fault: "accept_unmasked_frames",
            allowed: Ids(&["x.1.1"]),
            required: &["x.1.1"],
        },
        // 3.7 cannot tell an ignored RSV on a close frame from a normal close.
        Row {
            fault: "accept_rsv_bits",
            allowed: Ids(&[
                "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "x.1.3", "x.1.4", "x.1.5",
            ]),
            required: &[
                "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "x.1.3", "x.1.4", "x.1.5",
            ],
        },
        Row {
            fault: "accept_reserved_opcodes",
            allowed: Ids(&[
                "4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.1.5", "4.2.1", "4.2.2", "4.2.3", "4.2.4",
                "4.2.5", "x.4.2",
            ]),
            required: &[
                "4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.1.5", "4.2.1", "4.2.2", "4.2.3", "4.2.4",
                "4.2.5", "x.4.2",
            ],
        },
        Row {
            fault: "accept_fragmented_control",
            allowed: Ids(&["5.1", "5.2"]),
            required: &["5.1"],
        },
        Row {
            fault: "accept_long_control",
            allowed: Ids(&["2.5", "7.3.6"]),
            required: &["2.5", "7.3.6"],
        },
        Row {
            fault: "ignore_fragmentation_errors",
            allowed: Ids(&[
                "5.9", "5.10", "5.11", "5.12", "5.13", "5.14", "5.15", "5.16", "5.17", "5.18",
            ]),
            required: &[
                "5.9", "5.10", "5.11", "5.12", "5.13", "5.14", "5.15", "5.16", "5.17", "5.18",
            ],
        },
        Row {
            fault: "no_utf8_validation",
            allowed: Where(invalid_utf8),
            required: &[
                "6.3.1", "6.3.2", "6.4.1", "6.4.3", "6.6.1", "6.11.5", "6.20.1", "6.21.8",
            ],
        },
        Row {
            fault: "late_utf8_validation",
            allowed: Ids(&["6.4.1", "6.4.2", "6.4.3", "6.4.4"]),
            required: &["6.4.1", "6.4.2", "6.4.3", "6.4.4"],
        },
        Row {
            fault: "frame_utf8_validation",
            allowed: Ids(&["6.4.3", "6.4.4"]),
            required: &["6.4.3", "6.4.4"],
        },
        Row {
            fault: "utf8_error_close_1002",
            allowed: Where(invalid_utf8),
            required: &["6.3.1", "6.4.2", "6.8.1", "6.21.1"],
        },
        Row {
            fault: "no_pong",
            allowed: Ids(PONG_CASES),
            required: PONG_CASES,
        },
        Row {
            fault: "pong_wrong_payload",
            allowed: Ids(PONG_CASES),
            required: PONG_CASES,
        },
        Row {
            fault: "close_reply_1001",
            allowed: Where(kit_closes),
            required: &["1.1.1", "7.1.1", "7.3.3", "7.7.1", "x.3.2"],
        },
        Row {
            fault: "no_close_reply",
            allowed: Where(kit_closes),
            required: &["1.1.1", "2.1", "7.1.1", "7.7.2"],
        },
        Row {
            fault: "keep_tcp_open_after_close",
            allowed: Where(fuzz_case),
            required: &["1.1.1", "2.5", "3.1", "7.1.1", "x.1.1"],
        },
        Row {
            fault: "accept_invalid_close_codes",
            allowed: Ids(&[
                "7.9.1", "7.9.2", "7.9.3", "7.9.4", "7.9.5", "7.9.6", "7.9.7", "7.9.8", "7.9.9",
                "x.3.5",
            ]),
            required: &[
                "7.9.1", "7.9.2", "7.9.3", "7.9.4", "7.9.5", "7.9.6", "7.9.7", "7.9.8", "7.9.9",
                "x.3.5",
            ],
        },
        Row {
            fault: "accept_1byte_close",
            allowed: Ids(&["7.3.2"]),
            required: &["7.3.2"],
        },
        Row {
            fault: "accept_invalid_close_reason",
            allowed: Ids(&["7.5.1", "x.3.1"]),
            required: &["7.5.1", "x.3.1"],
        },
        Row {
            fault: "respond_after_close",
            allowed: Ids(&["7.1.3", "7.1.4", "7.1.5", "x.2.4"]),
            required: &["7.1.3", "7.1.4", "7.1.5", "x.2.4"],
        },
        Row {
            fault: "mask_server_frames",
            allowed: Where(fuzz_case),
            required: &["1.1.1", "2.1", "3.1", "x.2.1", "x.2.2"],
        },
        Row {
            fault: "non_minimal_lengths",
            allowed: Where(fuzz_case),
            required: &["1.1.1", "1.2.6", "2.4", "x.2.1", "x.2.3"],
        },
        // Passes most "the server must fail the connection" cases (nothing arrives, TCP ends).
        Row {
            fault: "half_close_after_upgrade",
            allowed: Where(fuzz_case),
            required: &["1.1.1", "x.4.1", "x.4.2"],
        },
        Row {
            fault: "answer_pongs",
            allowed: Ids(&["2.7", "2.8", "2.9", "x.5.6", "x.5.7"]),
            required: &["2.7", "2.8", "2.9", "x.5.6", "x.5.7"],
        },
        // Legal behaviour (§5.5.2): nothing may deviate.
        Row {
            fault: "ping_client",
            allowed: Ids(&[]),
            required: &[],
        },
        // permessage-deflate: each switch is caught by the pmd.* check meant for it, and by
        // the Autobahn 12.x/13.x cases where Autobahn catches it too (the differential test
        // compares those). Those that break every compressed echo or the answer itself fail
        // every pmd.* check and every 12.x/13.x case.
        Row {
            fault: "deflate_compress_control",
            allowed: Where(any_deflate_case),
            required: &["pmd.2.1", "12.1.1", "13.1.1"],
        },
        Row {
            fault: "deflate_rsv1_on_continuation",
            allowed: Where(any_deflate_case),
            required: &["pmd.2.2", "12.2.2", "13.6.2"],
        },
        Row {
            fault: "deflate_ignore_no_context_takeover",
            allowed: Where(no_context_takeover_case),
            required: &["pmd.3.1", "13.2.2", "13.5.2"],
        },
        Row {
            fault: "deflate_exceed_window",
            allowed: Where(small_window_case),
            required: &["pmd.3.2", "13.3.2"],
        },
        // The strict checks offer no client_max_window_bits, so they all see the bad answer.
        Row {
            fault: "deflate_answer_unoffered",
            allowed: Ids(&["pmd.1.1", "pmd.3.1", "pmd.3.2"]),
            required: &["pmd.1.1"],
        },
        Row {
            fault: "deflate_two_answers",
            allowed: Where(any_deflate_case),
            required: &["pmd.1.1", "pmd.1.2", "12.1.1", "13.7.4"],
        },
        Row {
            fault: "deflate_never_compress",
            allowed: Ids(&["pmd.5.1"]),
            required: &["pmd.5.1"],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_is_caught_by_its_cases_and_no_other() {
    let rows = table();
    // Every fault switch has a row: a new switch must be added here.
    let names: BTreeSet<&str> = rows.iter().map(|r| r.fault).collect();
    assert_eq!(names, Faults::NAMES.iter().copied().collect());
    let mut problems = Vec::new();
    // Rows run three at a time, each against its own server: the cases are timer-bound,
    // not CPU-bound, and this keeps the matrix to about a minute on two cores.
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(3));
    let mut runs = tokio::task::JoinSet::new();
    for (i, row) in rows.iter().enumerate() {
        let gate = gate.clone();
        let faults = Faults::parse(row.fault).unwrap();
        runs.spawn(async move {
            let _slot = gate.acquire_owned().await.expect("semaphore open");
            let t = Instant::now();
            let r = run_against(faults, 8).await;
            (i, r, t.elapsed())
        });
    }
    let mut results: Vec<Option<(RunReport, Duration)>> = (0..rows.len()).map(|_| None).collect();
    while let Some(done) = runs.join_next().await {
        let (i, r, took) = done.expect("fault run task");
        results[i] = Some((r, took));
    }
    for (row, result) in rows.into_iter().zip(results) {
        let (r, took) = result.expect("every row ran");
        let deviating: Vec<&CaseReport> = r.cases.iter().filter(|c| deviates(c)).collect();
        let allowed = |c: &CaseReport| match &row.allowed {
            Allowed::Ids(ids) => ids.contains(&c.id.as_str()),
            Allowed::Where(p) => p(c),
        };
        eprintln!(
            "{}: {} deviating cases in {:.1} s",
            row.fault,
            deviating.len(),
            took.as_secs_f64()
        );
        if deviating.is_empty() && !row.required.is_empty() {
            problems.push(format!("{}: no case caught it", row.fault));
        }
        for c in deviating.iter().filter(|c| !allowed(c)) {
            problems.push(format!(
                "{}: unrelated case deviates: {}",
                row.fault,
                show(c)
            ));
        }
        for id in row.required {
            match r.cases.iter().find(|c| c.id == *id) {
                Some(c) if deviates(c) => {}
                Some(c) => {
                    problems.push(format!("{}: {id} did not catch it: {}", row.fault, show(c)))
                }
                None => problems.push(format!("{}: {id} not in the default selection", row.fault)),
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// `wsspec run --list --all | head -1`: the listing meets a closed pipe and ends quietly
/// (exit 0, no panic), as Unix tools do.
#[test]
fn list_into_a_closed_pipe_exits_quietly() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(["run", "--list", "--all"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the first line is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
