//! The suite against hostile servers: every run ends by its deadline with a report saying
//! what happened, no case passes that cannot, and memory stays bounded.

use std::time::{Duration, Instant};

use wsspec::peer::{ConnectOptions, Target};
use wsspec::report::{RunReport, Verdict};
use wsspec::server::{spawn_hostile_with, Hostile, HostileLimits};
use wsspec::suite::{self, RunConfig};

const CASES: [&str; 5] = ["h.1.1", "1.1.1", "2.1", "7.1.1", "9.1.6"];
const DEADLINE: Duration = Duration::from_secs(12);

/// Peak resident memory of this process (Linux `VmHWM`), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn run(kind: Hostile) -> (RunReport, Duration) {
    let (addr, handle) = spawn_hostile_with(
        kind,
        HostileLimits {
            lifetime: Duration::from_secs(40),
            max_connections: 16,
            ..HostileLimits::default()
        },
    )
    .await
    .unwrap();
    let target = Target::parse(&format!("ws://{addr}/")).unwrap();
    let cases: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    let sel = suite::select(&suite::catalog(), &cases, &[], false).unwrap();
    let t = Instant::now();
    let r = suite::run(
        &target,
        &ConnectOptions::default(),
        &sel,
        RunConfig {
            jobs: 2,
            deadline: Some(DEADLINE),
            ..Default::default()
        },
    )
    .await;
    let took = t.elapsed();
    handle.stop().await;
    (r, took)
}

/// What the report must say happened, per kind.
fn telltale(kind: Hostile) -> &'static str {
    match kind {
        Hostile::HugeFrame { top_bit_set: false } => "exceeds the limit",
        Hostile::HugeFrame { top_bit_set: true } => "top bit set",
        Hostile::EndlessFragments { .. } => "data frame(s) without completing a message",
        Hostile::NoHandshakeAnswer | Hostile::SlowLoris101 => "no complete answer in time",
        Hostile::PingFlood => "ping(s), kit answered",
        Hostile::GarbageHttp => "not an HTTP answer",
        Hostile::HeadersForever => "HTTP head larger than",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_end_by_the_deadline_with_a_report() {
    let mut problems = Vec::new();
    // All hostile servers at once: each run is bounded by its own deadline, so the whole
    // test takes one deadline rather than seven.
    let mut runs = tokio::task::JoinSet::new();
    for (i, kind) in Hostile::ALL.into_iter().enumerate() {
        runs.spawn(async move { (i, run(kind).await) });
    }
    let mut results: Vec<Option<(RunReport, Duration)>> =
        (0..Hostile::ALL.len()).map(|_| None).collect();
    while let Some(done) = runs.join_next().await {
        let (i, r) = done.expect("hostile run task");
        results[i] = Some(r);
    }
    for (kind, result) in Hostile::ALL.into_iter().zip(results) {
        let (r, took) = result.expect("every kind ran");
        eprintln!("{kind:?}: {:.1} s", took.as_secs_f64());
        if took > DEADLINE + Duration::from_secs(2) {
            problems.push(format!("{kind:?}: the run took {took:?}"));
        }
        assert_eq!(r.cases.len(), CASES.len());
        let valid_101 = matches!(
            kind,
            Hostile::HugeFrame { .. } | Hostile::EndlessFragments { .. } | Hostile::PingFlood
        );
        for c in &r.cases {
            eprintln!("   {} {}: {}", c.id, c.verdict.label(), c.observed);
            let ok_allowed = c.id == "h.1.1" && valid_101;
            let fine = match c.verdict {
                Verdict::Ok => ok_allowed,
                Verdict::Failed => !ok_allowed,
                // Only the deadline may leave a case unrun, and it says so.
                Verdict::NotRun => c.observed.contains("deadline"),
                _ => false,
            };
            if !fine {
                problems.push(format!(
                    "{kind:?}: {} {}: {}",
                    c.id,
                    c.verdict.label(),
                    c.observed
                ));
            }
        }
        // The first fuzzing case always completes within the deadline and says what the
        // server did.
        let first = r.cases.iter().find(|c| c.id == "1.1.1").unwrap();
        if first.verdict != Verdict::Failed || !first.observed.contains(telltale(kind)) {
            problems.push(format!(
                "{kind:?}: 1.1.1 does not say what happened: {}",
                first.observed
            ));
        }
        if first.transcript.is_empty() {
            problems.push(format!("{kind:?}: 1.1.1 has no transcript"));
        }
    }
    // The largest buffers are the 16 MiB message of 9.1.6 and its encoded frame; a kit that
    // buffered what the hostile servers send (up to 256 MiB per connection) would exceed this.
    if let Some(peak) = peak_rss_kib() {
        eprintln!("peak RSS {peak} KiB");
        if peak > 256 * 1024 {
            problems.push(format!("peak RSS {peak} KiB"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
