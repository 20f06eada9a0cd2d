//! Connection control and hostile servers: ping policy, pause/resume reading, TCP
//! drop, step timeouts, and servers that flood pings, send endless fragments or a
//! frame of absurd length. Every run must end in bounded time with a report.

#[path = "engine_support.rs"]
mod support;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use support::*;
use wsspec::report::Verdict::{Failed, Ok as Pass};
use wsspec::server::{bind, spawn_hostile_with, Hostile, HostileLimits, ServerConfig};

/// Pings at once, then reports whether a pong came back within 400 ms.
async fn pinger(mut ws: Ws) {
    let _ = ws.send(Message::Ping(b"p1".to_vec().into())).await;
    let got = tokio::time::timeout(Duration::from_millis(400), async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Pong(p) = m {
                return p.as_ref() == b"p1";
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    let _ = ws
        .send(Message::text(
            if got { "pong:yes" } else { "pong:no" }.to_string(),
        ))
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn pings_are_answered_unless_the_policy_says_no() {
    let (addr, _t) = ws_server(pinger).await;
    let s = load(
        r#"
[scenario]
name = "pings"

[[step]]
action = "connect"
conn = "polite"
path = "/"

[[step]]
action = "connect"
conn = "silent"
path = "/"
answer_pings = false

[[step]]
action = "expect"
conn = "polite"
within = "2s"
match = { text = "pong:yes" }

[[step]]
action = "expect"
conn = "silent"
within = "2s"
match = { text = "pong:no" }
"#,
    );
    let r = run(&s, &opts_for(addr)).await;
    assert_eq!(vs(&r), vec![Pass; 4], "{}", dump(&r));
}

/// Waits for "go", then sends "late" 200 ms later.
async fn later(mut ws: Ws) {
    while let Some(Ok(m)) = ws.next().await {
        if m.is_text() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = ws.send(Message::text("late".to_string())).await;
        }
    }
}

#[tokio::test]
async fn paused_reading_holds_messages_back_until_resumed() {
    let (addr, _t) = ws_server(later).await;
    let s = load(
        r#"
[scenario]
name = "pause"

[[step]]
action = "connect"
conn = "p"
path = "/"

[[step]]
action = "connect"
conn = "control"
path = "/"

[[step]]
action = "send"
conn = "control"
text = "go"

[[step]]
title = "not paused: the late message breaks the silence"
action = "expect_silence"
conn = "control"
for = "600ms"

[[step]]
action = "send"
conn = "p"
text = "go"

[[step]]
action = "pause_reading"
conn = "p"

[[step]]
title = "paused: the same message is not read"
action = "expect_silence"
conn = "p"
for = "600ms"

[[step]]
action = "resume_reading"
conn = "p"

[[step]]
action = "expect"
conn = "p"
within = "1s"
match = { text = "late" }
"#,
    );
    let mut o = opts_for(addr);
    o.keep_going = true;
    let r = run(&s, &o).await;
    assert_eq!(
        vs(&r),
        vec![Pass, Pass, Pass, Failed, Pass, Pass, Pass, Pass, Pass],
        "{}",
        dump(&r)
    );
}

#[tokio::test]
async fn drop_tcp_and_step_timeout() {
    let srv = bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default())
        .await
        .unwrap();
    let s = load(
        r#"
[scenario]
name = "drop"

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "drop_tcp"
conn = "a"

[[step]]
action = "connect"
conn = "b"
path = "/"

[[step]]
action = "expect"
conn = "b"
within = "5s"
timeout = "300ms"
match = { text = "never" }
"#,
    );
    let t = Instant::now();
    let r = run(&s, &opts_for(srv.local_addr)).await;
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(vs(&r), vec![Pass, Pass, Pass, Failed], "{}", dump(&r));
    assert!(
        r.cases[1].transcript.iter().any(|e| e.kind == "tcp-drop"),
        "{:#?}",
        r.cases[1].transcript
    );
    assert!(r.cases[3].observed.contains("step timeout"), "{}", dump(&r));
    assert!(r.cases[3].duration_ms < 1000.0);
}

fn short_lived() -> HostileLimits {
    HostileLimits {
        lifetime: Duration::from_secs(8),
        max_bytes: 64 << 20,
        max_connections: 1,
    }
}

const HOSTILE_SCENARIO: &str = r#"
[scenario]
name = "hostile"
deadline = "6s"

[[step]]
action = "connect"
conn = "h"
path = "/"

[[step]]
action = "expect"
conn = "h"
within = "1s"
match = { text = "anything" }
"#;

#[tokio::test]
async fn ping_flood_does_not_stall_the_run() {
    let (addr, h) = spawn_hostile_with(Hostile::PingFlood, short_lived())
        .await
        .unwrap();
    let s = load(
        r#"
[scenario]
name = "flood"
deadline = "6s"

[[step]]
action = "connect"
conn = "h"
path = "/"

[[step]]
title = "pings are not messages"
action = "expect_silence"
conn = "h"
for = "1s"
"#,
    );
    let t = Instant::now();
    let r = run(&s, &opts_for(addr)).await;
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(vs(&r), vec![Pass, Pass], "{}", dump(&r));
    let stats = h.stop().await;
    assert!(stats.bytes_sent > 10_000, "{stats:?}");
}

#[tokio::test]
async fn endless_fragments_and_huge_frames_end_in_failed_steps() {
    for kind in [
        Hostile::EndlessFragments {
            bytes_per_sec: 1 << 20,
        },
        Hostile::HugeFrame { top_bit_set: false },
        Hostile::HugeFrame { top_bit_set: true },
    ] {
        let (addr, h) = spawn_hostile_with(kind, short_lived()).await.unwrap();
        let s = load(HOSTILE_SCENARIO);
        let t = Instant::now();
        let r = run(&s, &opts_for(addr)).await;
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{kind:?}: {:?}",
            t.elapsed()
        );
        assert_eq!(vs(&r), vec![Pass, Failed], "{kind:?}\n{}", dump(&r));
        h.stop().await;
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
        let (addr, h) = spawn_hostile_with(kind, short_lived()).await.unwrap();
        let s = load(
            r#"
[scenario]
name = "hs-hostile"

[[step]]
action = "connect"
conn = "h"
path = "/"
within = "1s"
"#,
        );
        let t = Instant::now();
        let r = run(&s, &opts_for(addr)).await;
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "{kind:?}: {:?}",
            t.elapsed()
        );
        assert_eq!(vs(&r), vec![Failed], "{kind:?}\n{}", dump(&r));
        h.stop().await;
    }
}
