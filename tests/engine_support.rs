//! Helpers shared by the `engine_*` tests: scenario files in a scratch directory, small
//! scripted WebSocket and HTTP servers on 127.0.0.1, report inspection.
//!
//! Included by the other `engine_*` test crates with `#[path]`; compiled on its own it
//! only checks that the helpers work.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use wsspec::report::{CaseReport, RunReport, Verdict};
use wsspec::scenario::{run_scenario, EngineOptions, Scenario};

pub type Ws = WebSocketStream<TcpStream>;

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh scratch directory under the system temp dir.
pub fn scratch(tag: &str) -> PathBuf {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("wsspec-engine-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `src` as `name` into `dir` and loads it (panics with the diagnostics if it
/// does not load: the tests' scenarios must be valid).
pub fn load_in(dir: &Path, name: &str, src: &str) -> Scenario {
    let p = dir.join(name);
    std::fs::write(&p, src).unwrap();
    match Scenario::from_file(&p) {
        Ok(s) => s,
        Err(e) => panic!("scenario does not load:\n{e}"),
    }
}

/// Loads `src` from a scratch directory.
pub fn load(src: &str) -> Scenario {
    load_in(&scratch("scn"), "t.toml", src)
}

/// Options pointing `${port}`/`${host}` at `addr`.
pub fn opts_for(addr: SocketAddr) -> EngineOptions {
    EngineOptions {
        base_url: Some(format!("ws://{addr}/")),
        ..Default::default()
    }
}

/// Runs with a hard outer bound, so a hanging engine fails the test instead of
/// hanging it.
pub async fn run(s: &Scenario, opts: &EngineOptions) -> RunReport {
    tokio::time::timeout(Duration::from_secs(60), run_scenario(s, opts))
        .await
        .expect("the engine must end on its own")
}

/// `(id, verdict)` of every case.
pub fn verdicts(r: &RunReport) -> Vec<(String, Verdict)> {
    r.cases.iter().map(|c| (c.id.clone(), c.verdict)).collect()
}

/// Verdicts only, in order.
pub fn vs(r: &RunReport) -> Vec<Verdict> {
    r.cases.iter().map(|c| c.verdict).collect()
}

/// The case with this id suffix (`#3`, `#cleanup`).
pub fn case<'a>(r: &'a RunReport, suffix: &str) -> &'a CaseReport {
    r.cases
        .iter()
        .find(|c| c.id.ends_with(suffix))
        .unwrap_or_else(|| panic!("no case ending in {suffix:?}: {:#?}", verdicts(r)))
}

/// Prints the report (for failing assertions).
pub fn dump(r: &RunReport) -> String {
    let mut s = String::new();
    for c in &r.cases {
        s += &format!(
            "{} [{}] {}\n   sent: {}\n   expected: {}\n   observed: {}\n",
            c.id,
            c.verdict.label(),
            c.title,
            c.sent,
            c.expected,
            c.observed
        );
    }
    s
}

/// A WebSocket server on 127.0.0.1 that runs `handler` for every connection
/// (tungstenite, an implementation independent of wsspec's codec).
pub async fn ws_server<F, Fut>(handler: F) -> (SocketAddr, JoinHandle<()>)
where
    F: Fn(Ws) -> Fut + Send + Sync + 'static + Clone,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = l.accept().await else {
                return;
            };
            let h = handler.clone();
            tokio::spawn(async move {
                if let Ok(Ok(ws)) = tokio::time::timeout(
                    Duration::from_secs(5),
                    tokio_tungstenite::accept_async(tcp),
                )
                .await
                {
                    let _ = tokio::time::timeout(Duration::from_secs(30), h(ws)).await;
                }
            });
        }
    });
    (addr, task)
}

/// Sends text messages.
pub async fn send_texts(ws: &mut Ws, texts: &[&str]) {
    for t in texts {
        ws.send(Message::text(t.to_string())).await.unwrap();
    }
}

/// A JSON RPC echo: every `{id, method}` text gets `{id, result: method}`; also
/// answers `{"type":"Action", "kind": K}` with an ack `{"type":"API","kind":K,"code":0}`.
pub async fn rpc_echo(mut ws: Ws) {
    while let Some(Ok(m)) = ws.next().await {
        let Message::Text(t) = m else { continue };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(t.as_str()) else {
            continue;
        };
        let reply = if let Some(k) = v.get("kind") {
            serde_json::json!({"type": "API", "kind": k, "code": 0})
        } else {
            serde_json::json!({"id": v.get("id").cloned().unwrap_or_default(), "result": v.get("method").cloned().unwrap_or_default()})
        };
        // Noise first, so correlation has to skip a message.
        let _ = ws
            .send(Message::text(r#"{"type":"noise"}"#.to_string()))
            .await;
        if ws.send(Message::text(reply.to_string())).await.is_err() {
            return;
        }
    }
}

/// A plain HTTP server answering every request with `response` (raw bytes), then
/// closing.
pub async fn http_server(response: Vec<u8>) -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = l.accept().await else {
                return;
            };
            let resp = response.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await {
                        Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                // Write in small pieces so the client has to reassemble.
                for piece in resp.chunks(7) {
                    if tcp.write_all(piece).await.is_err() {
                        return;
                    }
                }
                let _ = tcp.shutdown().await;
            });
        }
    });
    (addr, task)
}
