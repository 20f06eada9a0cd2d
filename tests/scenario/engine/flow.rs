//! Connection control and hostile servers: ping policy, pause/resume reading, TCP
//! drop, step timeouts (scenario files in `tests/scenarios/flow/`), and servers that
//! flood pings, send endless fragments or a frame of absurd length. Every run must end
//! in bounded time with a report.

use std::time::{Duration, Instant};

use crate::common::scenario::scenario_tests;
use crate::common::scenario::*;
use wsspec::report::Verdict::{self, Failed, Ok as Pass};
use wsspec::server::{spawn_hostile_with, Hostile, HostileLimits};

scenario_tests!("flow":
    pings_answered_unless_told_not_to,
    paused_reading_holds_messages_back,
    drop_tcp_and_step_timeout,
);

fn short_lived() -> HostileLimits {
    HostileLimits {
        lifetime: Duration::from_secs(8),
        max_bytes: 64 << 20,
        max_connections: 1,
    }
}

/// One step on the hostile connection `h`: its keys (TOML lines) besides `conn`.
fn on_h(keys: &str) -> String {
    format!("\n[[step]]\nconn = \"h\"\n{keys}\n")
}

/// Connects `h` (within 1 s) to a hostile server of `kind`, then runs the steps of
/// `then` (TOML); the run must end within `max` with these verdicts. Returns the bytes
/// the server sent.
async fn against_hostile(kind: Hostile, then: &str, want: &[Verdict], max: Duration) -> u64 {
    let (addr, h) = spawn_hostile_with(kind, short_lived()).await.unwrap();
    let s = load(&format!(
        "[scenario]\nname = \"hostile\"\ndeadline = \"6s\"\n\n\
         [[step]]\naction = \"connect\"\nconn = \"h\"\npath = \"/\"\nwithin = \"1s\"\n{then}"
    ));
    let t = Instant::now();
    let r = run(&s, &opts_for(addr)).await;
    assert!(t.elapsed() < max, "{kind:?}: {:?}", t.elapsed());
    assert_eq!(vs(&r), want, "{kind:?}\n{}", dump(&r));
    h.stop().await.bytes_sent
}

#[tokio::test]
async fn ping_flood_does_not_stall_the_run() {
    let then =
        on_h("title = \"pings are not messages\"\naction = \"expect_silence\"\nfor = \"1s\"");
    let sent = against_hostile(
        Hostile::PingFlood,
        &then,
        &[Pass, Pass],
        Duration::from_secs(5),
    )
    .await;
    assert!(sent > 10_000, "{sent} bytes");
}

#[tokio::test]
async fn endless_fragments_and_huge_frames_end_in_failed_steps() {
    let then = on_h("action = \"expect\"\nwithin = \"1s\"\nmatch = { text = \"anything\" }");
    for kind in [
        Hostile::EndlessFragments {
            bytes_per_sec: 1 << 20,
        },
        Hostile::HugeFrame { top_bit_set: false },
        Hostile::HugeFrame { top_bit_set: true },
    ] {
        against_hostile(kind, &then, &[Pass, Failed], Duration::from_secs(5)).await;
    }
}

#[tokio::test]
async fn handshake_hostiles_fail_the_connect_in_time() {
    for kind in [
        Hostile::NoHandshakeAnswer,
        Hostile::GarbageHttp,
        Hostile::SlowLoris101,
        Hostile::HeadersForever,
    ] {
        against_hostile(kind, "", &[Failed], Duration::from_secs(4)).await;
    }
}
