//! The engine against WebSocket servers: the built-in reference echo server and small
//! scripted tungstenite servers. Connect, send, expect (ordered, unordered, ignore,
//! skip), silence, close codes (1000, 1005, 1006), captures and substitution, rpc and
//! expect_ack correlation, ping latency, NOT RUN after a failure.

#[path = "engine_support.rs"]
mod support;

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use support::*;
use wsspec::report::Verdict::{Failed, NotRun, Ok as Pass};
use wsspec::server::{bind, ServerConfig};

async fn echo() -> wsspec::server::RunningServer {
    bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn echo_round_trip_passes() {
    let srv = echo().await;
    let s = load(
        r#"
[scenario]
name = "echo"

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "send"
conn = "a"
json = { type = "hello", n = 1 }

[[step]]
action = "expect"
conn = "a"
within = "2s"
match = { type = "json", json = { type = "hello", n = 1.0 } }

[[step]]
action = "send"
conn = "a"
binary_hex = "00ff10"
fragment_size = 1

[[step]]
action = "expect"
conn = "a"
match = { type = "binary", binary_hex = "00ff10" }
"#,
    );
    let r = run(&s, &opts_for(srv.local_addr)).await;
    assert_eq!(vs(&r), vec![Pass; 5], "{}", dump(&r));
    assert_eq!(r.kind, "scenario");
    assert_eq!(r.cases[0].id, "echo#1");
    assert!(r.cases[0].observed.starts_with("101"), "{}", dump(&r));
    assert!(
        r.cases[2].observed.contains(r#"{"n":1,"type":"hello"}"#),
        "{}",
        dump(&r)
    );
    // The transcript of the expect step shows the frame that came back.
    assert!(
        r.cases[1..3]
            .iter()
            .flat_map(|c| &c.transcript)
            .any(|e| e.conn == "a" && e.kind == "frame" && e.summary.contains("hello")),
        "{:#?}",
        r.cases.iter().map(|c| &c.transcript).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn mismatch_fails_with_explanation_and_stops_the_run() {
    let srv = echo().await;
    let s = load(
        r#"
[scenario]
name = "mismatch"

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "send"
conn = "a"
text = '{"updates":[{"type":"css-update"}]}'

[[step]]
id = "upd"
action = "expect"
conn = "a"
match = { json = { updates = [{ type = "js-update" }] } }

[[step]]
action = "send"
conn = "a"
text = "never sent"
"#,
    );
    let r = run(&s, &opts_for(srv.local_addr)).await;
    assert_eq!(vs(&r), vec![Pass, Pass, Failed, NotRun], "{}", dump(&r));
    let c = &r.cases[2];
    assert_eq!(c.id, "mismatch#3-upd");
    assert!(
        c.observed
            .contains(r#"$.updates[0].type: expected "js-update", got "css-update""#),
        "{}",
        c.observed
    );
    assert!(
        r.cases[3].observed.contains("step 3 failed"),
        "{}",
        dump(&r)
    );
}

#[tokio::test]
async fn keep_going_runs_the_rest() {
    let srv = echo().await;
    let s = load(
        r#"
[scenario]
name = "kg"

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "send"
conn = "a"
text = "x"

[[step]]
action = "expect"
conn = "a"
match = { text = "y" }

[[step]]
action = "send"
conn = "a"
text = "z"

[[step]]
action = "expect"
conn = "a"
match = { text = "z" }
"#,
    );
    let mut o = opts_for(srv.local_addr);
    o.keep_going = true;
    let r = run(&s, &o).await;
    assert_eq!(vs(&r), vec![Pass, Pass, Failed, Pass, Pass], "{}", dump(&r));
}

#[tokio::test]
async fn unordered_sets_ignore_and_skip() {
    let (addr, _t) = ws_server(|mut ws| async move {
        send_texts(
            &mut ws,
            &[
                r#"{"type":"hot"}"#,
                r#"{"action":"sync"}"#,
                r#"{"type":"hash","data":"0123456789abcdef0123"}"#,
                r#"{"type":"ok"}"#,
                r#"{"type":"later"}"#,
                r#"{"type":"wanted","v":2}"#,
            ],
        )
        .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let s = load(
        r#"
[scenario]
name = "sets"

[[step]]
action = "connect"
conn = "a"
path = "/ws"

[[step]]
action = "expect"
conn = "a"
ordered = false
messages = [
  { json = { type = "ok" } },
  { json = { type = "hash", data = "$regex:^[0-9a-f]{20}$" }, capture = { h = "data" } },
  { json = { type = "hot" } },
]
ignore = [{ json = { action = "$string" } }]

[[step]]
action = "expect"
conn = "a"
skip_unmatched = true
match = { json = { type = "wanted" } }
capture = { v = "v" }

[[step]]
action = "send"
conn = "a"
text = "${h}/${v}"
"#,
    );
    let r = run(&s, &opts_for(addr)).await;
    assert_eq!(vs(&r), vec![Pass; 4], "{}", dump(&r));
    assert!(r.cases[1].observed.contains("1 ignored"), "{}", dump(&r));
    assert!(r.cases[2].observed.contains("1 skipped"), "{}", dump(&r));
    assert_eq!(
        r.cases[3].sent,
        r#"text "0123456789abcdef0123/2""#,
        "{}",
        dump(&r)
    );
}

#[tokio::test]
async fn ordered_set_out_of_order_fails() {
    let (addr, _t) = ws_server(|mut ws| async move {
        send_texts(&mut ws, &[r#"{"type":"b"}"#, r#"{"type":"a"}"#]).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let s = load(
        r#"
[scenario]
name = "order"

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "expect"
conn = "a"
messages = [{ json = { type = "a" } }, { json = { type = "b" } }]
"#,
    );
    let r = run(&s, &opts_for(addr)).await;
    assert_eq!(vs(&r), vec![Pass, Failed], "{}", dump(&r));
    assert!(
        r.cases[1]
            .observed
            .contains(r#"$.type: expected "a", got "b""#)
            && r.cases[1].observed.contains("0 of 2 matched"),
        "{}",
        dump(&r)
    );
}

#[tokio::test]
async fn silence_holds_and_breaks() {
    let (addr, _t) = ws_server(|mut ws| async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        send_texts(&mut ws, &[r#"{"type":"late"}"#]).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let s = load(
        r#"
[scenario]
name = "quiet"

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "expect_silence"
conn = "a"
for = "300ms"

[[step]]
action = "expect_silence"
conn = "a"
for = "1s"
"#,
    );
    let r = run(&s, &opts_for(addr)).await;
    assert_eq!(vs(&r), vec![Pass, Pass, Failed], "{}", dump(&r));
    assert!(r.cases[2].observed.contains("late"), "{}", dump(&r));
    // The failing step did not wait for its whole window.
    assert!(r.cases[2].duration_ms < 900.0, "{}", r.cases[2].duration_ms);
}

#[tokio::test]
async fn close_codes_1000_1005_1006() {
    let srv = echo().await;
    // Server-side behaviours, chosen by the request path.
    let (addr, _t) = ws_server(|mut ws| async move {
        // tungstenite hides the path; use the first message to choose.
        use futures_util::StreamExt;
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            return;
        };
        match t.as_str() {
            "nocode" => {
                let _ = ws.send(Message::Close(None)).await;
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
            }
            "drop" => drop(ws),
            "going" => {
                let _ = ws
                    .send(Message::Close(Some(CloseFrame {
                        code: CloseCode::Away,
                        reason: "bye now".into(),
                    })))
                    .await;
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
            }
            _ => {}
        }
    })
    .await;
    let s = load(
        r#"
[scenario]
name = "closes"

[vars]
ref = "ws://127.0.0.1:1/"

[[step]]
action = "connect"
conn = "ref"
url = "${ref}"

[[step]]
action = "close"
conn = "ref"
code = 1000
reason = "done"

[[step]]
action = "expect_close"
conn = "ref"
codes = [1000]

[[step]]
action = "connect"
conn = "n"
path = "/"

[[step]]
action = "send"
conn = "n"
text = "nocode"

[[step]]
action = "expect_close"
conn = "n"
codes = [1005]

[[step]]
action = "connect"
conn = "d"
path = "/"

[[step]]
action = "send"
conn = "d"
text = "drop"

[[step]]
action = "expect_close"
conn = "d"
codes = [1006]

[[step]]
action = "connect"
conn = "g"
path = "/"

[[step]]
action = "send"
conn = "g"
text = "going"

[[step]]
action = "expect_close"
conn = "g"
codes = [1001]
reason = "bye now"

[[step]]
action = "connect"
conn = "w"
path = "/"

[[step]]
action = "send"
conn = "w"
text = "going"

[[step]]
action = "expect_close"
conn = "w"
codes = [1000, 1006]
"#,
    );
    let mut o = opts_for(addr);
    o.vars.push(("ref".into(), srv.url()));
    o.keep_going = true;
    let r = run(&s, &o).await;
    let mut want = vec![Pass; 14];
    want.push(Failed);
    assert_eq!(vs(&r), want, "{}", dump(&r));
    assert_eq!(r.cases[2].remote_close_code, Some(1000));
    assert!(r.cases[5].observed.contains("(1005)"), "{}", dump(&r));
    assert!(r.cases[8].observed.contains("(1006)"), "{}", dump(&r));
    assert!(
        r.cases[11].observed.contains("1001 \"bye now\""),
        "{}",
        dump(&r)
    );
    assert_eq!(r.cases[11].remote_close_code, Some(1001));
    assert!(r.cases[14].observed.contains("1001"), "{}", dump(&r));
}

#[tokio::test]
async fn rpc_and_acks_correlate() {
    let (addr, _t) = ws_server(rpc_echo).await;
    let s = load(
        r#"
[scenario]
name = "rpc"

[[step]]
action = "connect"
conn = "c"
path = "/"

[[step]]
action = "rpc"
conn = "c"
request = { id = 41, method = "ping" }
expect = { json = { result = "ping" } }
capture = { r = "result" }

[[step]]
id = "reg"
action = "send"
conn = "c"
json = { type = "Action", kind = "ADD", payload = { name = "remote" } }

[[step]]
action = "expect_ack"
conn = "c"
after = "reg"
within = "1s"
match = { json = { type = "API", kind = "${last_sent.kind}", code = 0 } }

[[step]]
action = "rpc"
conn = "c"
request = { id = "x-${r}", method = "again" }
within = "1s"
"#,
    );
    let r = run(&s, &opts_for(addr)).await;
    assert_eq!(vs(&r), vec![Pass; 5], "{}", dump(&r));
    assert!(
        r.cases[1].observed.contains("captured r = \"ping\""),
        "{}",
        dump(&r)
    );
    assert!(
        r.cases[3].observed.contains("after the send"),
        "{}",
        dump(&r)
    );
    assert!(r.cases[4].sent.contains("x-ping"), "{}", dump(&r));
}

#[tokio::test]
async fn a_server_that_never_acks_fails_the_ack_step() {
    let (addr, _t) = ws_server(|mut ws| async move {
        use futures_util::StreamExt;
        while let Some(Ok(_)) = ws.next().await {
            let _ = ws
                .send(Message::text(r#"{"type":"unrelated"}"#.to_string()))
                .await;
        }
    })
    .await;
    let s = load(
        r#"
[scenario]
name = "noack"

[[step]]
action = "connect"
conn = "c"
path = "/"

[[step]]
action = "send"
conn = "c"
json = { type = "Action", kind = "ADD_PUBLISHER" }

[[step]]
title = "broker acknowledges registration"
action = "expect_ack"
conn = "c"
within = "500ms"
match = { json = { kind = "ADD_PUBLISHER" } }
"#,
    );
    let t = Instant::now();
    let r = run(&s, &opts_for(addr)).await;
    assert_eq!(vs(&r), vec![Pass, Pass, Failed], "{}", dump(&r));
    let c = &r.cases[2];
    assert_eq!(c.title, "broker acknowledges registration");
    assert!(
        c.observed.contains("no acknowledgement within 500ms") && c.observed.contains("unrelated"),
        "{}",
        c.observed
    );
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn ping_latency_is_recorded() {
    let srv = echo().await;
    let s = load(
        r#"
[scenario]
name = "ping"

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "ping"
conn = "a"
payload = "hi"
expect_pong_within = "1s"
record_latency_as = "lat"

[[step]]
action = "send"
conn = "a"
text = "${lat}"

[[step]]
action = "expect"
conn = "a"
match = { regex = '^[0-9]+(\.[0-9]+)?$' }
"#,
    );
    let r = run(&s, &opts_for(srv.local_addr)).await;
    assert_eq!(vs(&r), vec![Pass; 4], "{}", dump(&r));
    assert!(r.cases[1].observed.contains("pong after"), "{}", dump(&r));
}

#[tokio::test]
async fn handshake_expectations() {
    let srv = echo().await;
    // A port with nothing listening: bind, note the port, release it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = load(
        r#"
[scenario]
name = "hs"

[vars]
closed = "1"

[[step]]
action = "connect"
conn = "v"
path = "/"
headers = { "Sec-WebSocket-Version" = "12" }
expect = { status = 426, headers = { "sec-websocket-version" = "13" } }

[[step]]
action = "connect"
conn = "r"
url = "ws://127.0.0.1:${closed}/"
expect = { refused = true }

[[step]]
action = "connect"
conn = "p"
path = "/"
protocols = ["chat"]
expect = { status = 101, protocol = "$absent", headers = { "sec-websocket-extensions" = "$absent" } }

[[step]]
action = "connect"
conn = "q"
path = "/"
expect = { status = 101, protocol = "chat" }
"#,
    );
    let mut o = opts_for(srv.local_addr);
    o.vars.push(("closed".into(), closed.to_string()));
    o.keep_going = true;
    let r = run(&s, &o).await;
    assert_eq!(vs(&r), vec![Pass, Pass, Pass, Failed], "{}", dump(&r));
    assert!(r.cases[3].observed.contains("subprotocol"), "{}", dump(&r));
}

#[tokio::test]
async fn deadline_ends_a_wait_on_a_silent_server() {
    let (addr, _t) = ws_server(|ws| async move {
        let _keep_open = ws;
        tokio::time::sleep(Duration::from_secs(20)).await;
    })
    .await;
    let s = load(
        r#"
[scenario]
name = "stuck"
deadline = "30s"

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "expect"
conn = "a"
within = "20s"
match = { json = { type = "connected" } }

[[step]]
action = "send"
conn = "a"
text = "x"
"#,
    );
    let mut o = opts_for(addr);
    o.deadline = Some(Duration::from_millis(800));
    let t = Instant::now();
    let r = run(&s, &o).await;
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(vs(&r), vec![Pass, Failed, NotRun], "{}", dump(&r));
    assert!(
        r.cases[1].observed.contains("scenario deadline"),
        "{}",
        dump(&r)
    );
}

#[tokio::test]
async fn expect_ping_sees_a_heartbeat_and_misses_a_silent_server() {
    let (addr, _t) = ws_server(|mut ws| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = ws.send(Message::Ping(b"hb".to_vec().into())).await;
        // Keep reading so tungstenite sees our pong; then stay quiet.
        use futures_util::StreamExt;
        let _ = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let s = load(
        r#"
[scenario]
name = "heartbeat"

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "expect_ping"
conn = "a"
within = "2s"
payload = "hb"

[[step]]
action = "expect_ping"
conn = "a"
within = "300ms"
"#,
    );
    let r = run(&s, &opts_for(addr)).await;
    assert_eq!(vs(&r), vec![Pass, Pass, Failed], "{}", dump(&r));
    assert!(
        r.cases[1].observed.starts_with("ping 6862 after"),
        "{}",
        dump(&r)
    );
    assert_eq!(r.cases[1].title, "expect a ping on a");
    assert!(
        r.cases[2].observed.contains("no ping within 300ms"),
        "{}",
        dump(&r)
    );
}
