//! `wsspec serve --app json-pubsub`: the reference server playing a small JSON
//! publish/subscribe application, with faults that can be planted on purpose so that
//! `wsspec fuzz` has known bugs to find (and the correct application, with none planted,
//! to find nothing in).
//!
//! The protocol (text frames, one JSON object per message):
//!
//! | client sends | server answers |
//! | --- | --- |
//! | `{"op":"subscribe","topic":T}` | `{"op":"subscribed","topic":T}` |
//! | `{"op":"unsubscribe","topic":T}` | `{"op":"unsubscribed","topic":T}` |
//! | `{"op":"publish","topic":T,"data":D}` | `{"op":"message","topic":T,"data":D}` to every subscriber of T, then `{"op":"published","topic":T,"receivers":N}` to the sender |
//! | `{"op":"ping"}` | `{"op":"pong"}` |
//! | anything else (not JSON, not an object, unknown `op`, `topic` not a string, ...) | `{"op":"error","reason":...}`; the connection stays open |
//!
//! Planted faults ([`Plants`], `--plant a,b`), each a bug class real servers have:
//!
//! * `crash`: a `subscribe` or `unsubscribe` whose `topic` is not a string exits the
//!   process with status 70, after printing a Node-style `TypeError` line (an unchecked
//!   field type).
//! * `hang`: a message nested deeper than [`HANG_DEPTH`] blocks the whole server for
//!   [`HANG_FOR`]: no connection is served and no upgrade answered (a CPU-bound parser on
//!   an event loop).
//! * `drop_bystander`: a `publish` whose `data` is `null` drops the TCP connection of
//!   every *other* client (an exception in the broadcast loop).
//! * `violation`: an object key `__proto__` or `constructor` anywhere in a message is
//!   answered with a frame that has RSV1 set although no extension was negotiated
//!   (RFC 6455 §5.2).
//!
//! Everything else is the strict reference server's behaviour: the handshake per §4.2,
//! close 1002/1007/1009 on violations, every read bounded in size and time.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::{timeout, Instant};

use super::serving::{read_head, HeadError, Serving};
use crate::codec::close::close_payload;
use crate::codec::error::Leniency;
use crate::codec::frame::{encode_frame, FrameHeader, HeaderRules, OpCode, Role};
use crate::codec::handshake::{accept_response, reject_response, validate_request};
use crate::codec::http::{HeadLimits, Headers};
use crate::codec::message::{DecoderConfig, Event, Limits, Message, StreamDecoder, Utf8Check};

/// Nesting depth beyond which the `hang` plant blocks the server.
pub const HANG_DEPTH: usize = 24;
/// How long the `hang` plant blocks the server.
pub const HANG_FOR: Duration = Duration::from_secs(60);
/// Exit status of the `crash` plant.
pub const CRASH_STATUS: i32 = 70;
/// Topics one connection may subscribe to.
const MAX_TOPICS: usize = 256;
/// Longest topic name.
const MAX_TOPIC_LEN: usize = 1024;
/// Largest message accepted (close 1009 beyond).
const MAX_MESSAGE: u64 = 1 << 20;
/// Time from accept to a complete request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Silence after which a connection is closed with 1001.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Time one write may block.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Concurrent connections.
const MAX_CONNECTIONS: usize = 512;

/// The faults planted in the application (all off: the correct application).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plants {
    /// Exit the process on a `subscribe`/`unsubscribe` whose topic is not a string.
    pub crash: bool,
    /// Block the whole server on a message nested deeper than [`HANG_DEPTH`].
    pub hang: bool,
    /// Drop every other connection on a `publish` with `data: null`.
    pub drop_bystander: bool,
    /// Answer a message with a `__proto__`/`constructor` key with an RSV1 frame.
    pub violation: bool,
}

/// The names `--plant` accepts.
pub const PLANT_NAMES: &[&str] = &["crash", "hang", "drop_bystander", "violation"];

impl Plants {
    /// Parses `crash,hang`; an empty string or `none` is no plant; `all` is every plant.
    pub fn parse(list: &str) -> Result<Plants, String> {
        let mut p = Plants::default();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "none" => {}
                "crash" => p.crash = true,
                "hang" => p.hang = true,
                "drop_bystander" => p.drop_bystander = true,
                "violation" => p.violation = true,
                "all" => {
                    p = Plants {
                        crash: true,
                        hang: true,
                        drop_bystander: true,
                        violation: true,
                    }
                }
                other => {
                    return Err(format!(
                        "unknown plant {other:?}; expected one of {} or all",
                        PLANT_NAMES.join(", ")
                    ))
                }
            }
        }
        Ok(p)
    }
}

/// What one connection's writer is asked to do.
enum Out {
    /// Send these frame bytes.
    Bytes(Vec<u8>),
    /// Drop TCP without a close frame.
    Drop,
}

#[derive(Default)]
struct Hub {
    next_id: u64,
    conns: BTreeMap<u64, mpsc::UnboundedSender<Out>>,
    topics: BTreeMap<String, BTreeSet<u64>>,
}

struct Shared {
    plants: Plants,
    hub: Mutex<Hub>,
    /// Set by the `hang` plant: until then nothing is served.
    hung_until: Mutex<Option<Instant>>,
    hung: AtomicBool,
}

impl Shared {
    fn hub(&self) -> std::sync::MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits while the `hang` plant blocks the server.
    async fn wait_if_hung(&self) {
        if !self.hung.load(Ordering::Relaxed) {
            return;
        }
        let until = *self.hung_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = until {
            tokio::time::sleep_until(t).await;
        }
        self.hung.store(false, Ordering::Relaxed);
    }
}

/// A running json-pubsub server.
#[derive(Debug)]
pub struct RunningApp {
    /// Where it listens.
    pub local_addr: SocketAddr,
    serving: Serving,
}

impl RunningApp {
    /// Connections accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.serving.accepted()
    }

    /// Stops accepting and ends every connection task.
    pub async fn shutdown(mut self) {
        self.serving.stop(true).await;
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        // Unlike the reference server, nothing here closes its connections gracefully.
        self.serving.abort();
    }
}

/// Binds `addr` and serves the json-pubsub application with `plants`.
pub async fn bind_pubsub(addr: SocketAddr, plants: Plants) -> io::Result<RunningApp> {
    let shared = Arc::new(Shared {
        plants,
        hub: Mutex::new(Hub::default()),
        hung_until: Mutex::new(None),
        hung: AtomicBool::new(false),
    });
    let serving = Serving::bind(addr, |l, stop, accepted| {
        accept_loop(l, shared, stop, accepted)
    })
    .await?;
    Ok(RunningApp {
        local_addr: serving.local_addr,
        serving,
    })
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    accepted: Arc<AtomicU64>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        tokio::select! {
            _ = stop.changed() => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    accepted.fetch_add(1, Ordering::Relaxed);
                    if conns.len() < MAX_CONNECTIONS {
                        conns.spawn(serve(stream, shared.clone()));
                    }
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
    conns.shutdown().await;
}

fn encode(op: OpCode, rsv: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = FrameHeader::new(op, true, payload.len() as u64, None);
    h.rsv = rsv;
    let mut out = Vec::with_capacity(payload.len() + 10);
    encode_frame(&h, payload, &mut out);
    out
}

fn text(v: &Value) -> Vec<u8> {
    encode(OpCode::Text, 0, v.to_string().as_bytes())
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(4096);
    let limits = HeadLimits::default();
    let head = timeout(HANDSHAKE_TIMEOUT, read_head(&mut stream, &mut buf, limits)).await;
    // A hung server reads the request but never answers it.
    shared.wait_if_hung().await;
    let (head, used) = match head {
        Ok(Ok(h)) => h,
        Ok(Err(HeadError::Http(e))) => {
            let body = format!("{e}\n");
            let resp = format!(
                "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = timeout(WRITE_TIMEOUT, stream.write_all(resp.as_bytes())).await;
            return;
        }
        _ => return,
    };
    let valid = match validate_request(&head) {
        Ok(v) => v,
        Err(e) => {
            let _ = timeout(WRITE_TIMEOUT, stream.write_all(&reject_response(&e))).await;
            return;
        }
    };
    let mut extra = Headers::default();
    extra.0.push((
        "Server".into(),
        format!("wsspec-json-pubsub/{}", env!("CARGO_PKG_VERSION")).into_bytes(),
    ));
    let resp = accept_response(&valid, None, &extra);
    if !matches!(
        timeout(WRITE_TIMEOUT, stream.write_all(&resp)).await,
        Ok(Ok(()))
    ) {
        return;
    }
    buf.drain(..used);
    session(stream, buf, shared).await;
}

async fn session(stream: TcpStream, mut rbuf: Vec<u8>, shared: Arc<Shared>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
    let id = {
        let mut hub = shared.hub();
        hub.next_id += 1;
        let id = hub.next_id;
        hub.conns.insert(id, tx.clone());
        id
    };
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            match out {
                Out::Bytes(b) => {
                    if !matches!(timeout(WRITE_TIMEOUT, wr.write_all(&b)).await, Ok(Ok(()))) {
                        return;
                    }
                }
                Out::Drop => return,
            }
        }
        let _ = wr.shutdown().await;
    });
    let mut decoder = StreamDecoder::with_config(DecoderConfig {
        rules: HeaderRules {
            role: Some(Role::Server),
            allowed_rsv: 0,
        },
        limits: Limits {
            max_message_size: MAX_MESSAGE,
            max_frame_size: MAX_MESSAGE,
        },
        lenient: Leniency::RECEIVER,
        utf8: Utf8Check::Streaming,
        keep_data: true,
    });
    'conn: loop {
        loop {
            shared.wait_if_hung().await;
            let (n, frame) = match decoder.decode(&rbuf) {
                Ok(step) => step,
                Err(e) => {
                    let reason = e.to_string();
                    let cut = &reason.as_bytes()[..reason.len().min(100)];
                    let cut = String::from_utf8_lossy(cut);
                    let _ = tx.send(Out::Bytes(encode(
                        OpCode::Close,
                        0,
                        &close_payload(e.close_code(), cut.trim_end_matches('\u{fffd}').as_bytes()),
                    )));
                    break 'conn;
                }
            };
            rbuf.drain(..n);
            let Some(f) = frame else { break };
            match f.event {
                Some(Event::Message(Message::Text(s))) => on_text(&shared, id, &tx, &s),
                Some(Event::Message(Message::Binary(_))) => {
                    let _ = tx.send(Out::Bytes(text(
                        &json!({"op": "error", "reason": "binary messages are not supported"}),
                    )));
                }
                Some(Event::Ping(p)) => {
                    let _ = tx.send(Out::Bytes(encode(OpCode::Pong, 0, &p)));
                }
                Some(Event::Close(c)) => {
                    let payload = match c {
                        Some((code, _)) => code.to_be_bytes().to_vec(),
                        None => Vec::new(),
                    };
                    let _ = tx.send(Out::Bytes(encode(OpCode::Close, 0, &payload)));
                    break 'conn;
                }
                Some(Event::Pong(_)) | None => {}
            }
        }
        if rbuf.capacity() - rbuf.len() < 4096 {
            rbuf.reserve(16 * 1024);
        }
        match timeout(IDLE_TIMEOUT, rd.read_buf(&mut rbuf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(_)) => {}
            Err(_) => {
                let _ = tx.send(Out::Bytes(encode(
                    OpCode::Close,
                    0,
                    &close_payload(1001, b"idle"),
                )));
                break;
            }
        }
    }
    {
        let mut hub = shared.hub();
        hub.conns.remove(&id);
        for subs in hub.topics.values_mut() {
            subs.remove(&id);
        }
        hub.topics.retain(|_, s| !s.is_empty());
    }
    drop(tx);
    let _ = timeout(WRITE_TIMEOUT, writer).await;
}

/// Deepest nesting of arrays and objects in `s`, counted on the raw text (strings
/// skipped), so that it works where a parser would give up.
fn nesting_depth(s: &str) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for b in s.bytes() {
        if in_str {
            match b {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn has_prototype_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k == "__proto__" || k == "constructor" || has_prototype_key(v)),
        Value::Array(a) => a.iter().any(has_prototype_key),
        _ => false,
    }
}

fn on_text(shared: &Shared, id: u64, tx: &mpsc::UnboundedSender<Out>, s: &str) {
    let p = shared.plants;
    let reply = |v: Value| {
        let _ = tx.send(Out::Bytes(text(&v)));
    };
    let error = |why: &str| reply(json!({"op": "error", "reason": why}));
    if p.hang && nesting_depth(s) > HANG_DEPTH {
        *shared.hung_until.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + HANG_FOR);
        shared.hung.store(true, Ordering::Relaxed);
        return;
    }
    let v: Value = match serde_json::from_str(s) {
        Ok(v) => v,
        Err(e) => return error(&format!("not JSON: {e}")),
    };
    if p.violation && has_prototype_key(&v) {
        let _ = tx.send(Out::Bytes(encode(OpCode::Text, 4, br#"{"op":"error"}"#)));
        return;
    }
    let Some(obj) = v.as_object() else {
        return error("a message is a JSON object");
    };
    let Some(op) = obj.get("op").and_then(Value::as_str) else {
        return error("\"op\" must be a string");
    };
    let topic = obj.get("topic");
    match op {
        "ping" => reply(json!({"op": "pong"})),
        "subscribe" | "unsubscribe" => {
            let Some(t) = topic.and_then(Value::as_str) else {
                if p.crash {
                    eprintln!(
                        "TypeError: topic.startsWith is not a function (topic = {})",
                        topic.map(|t| t.to_string()).unwrap_or("undefined".into())
                    );
                    eprintln!("    at onSubscribe (json-pubsub/app.js:42:17)");
                    std::process::exit(CRASH_STATUS);
                }
                return error("\"topic\" must be a string");
            };
            if t.is_empty() || t.len() > MAX_TOPIC_LEN {
                return error("\"topic\" must be 1-1024 bytes");
            }
            let mut hub = shared.hub();
            if op == "subscribe" {
                let count = hub.topics.values().filter(|s| s.contains(&id)).count();
                if count >= MAX_TOPICS {
                    drop(hub);
                    return error("too many topics");
                }
                hub.topics.entry(t.to_owned()).or_default().insert(id);
            } else if let Some(s) = hub.topics.get_mut(t) {
                s.remove(&id);
            }
            drop(hub);
            reply(json!({"op": format!("{op}d"), "topic": t}));
        }
        "publish" => {
            let Some(t) = topic.and_then(Value::as_str) else {
                return error("\"topic\" must be a string");
            };
            let data = obj.get("data").cloned().unwrap_or(Value::Null);
            let hub = shared.hub();
            if p.drop_bystander && data.is_null() {
                for (other, conn) in &hub.conns {
                    if *other != id {
                        let _ = conn.send(Out::Drop);
                    }
                }
            }
            let msg = text(&json!({"op": "message", "topic": t, "data": data}));
            let mut n = 0;
            if let Some(subs) = hub.topics.get(t) {
                for s in subs {
                    if let Some(c) = hub.conns.get(s) {
                        let _ = c.send(Out::Bytes(msg.clone()));
                        n += 1;
                    }
                }
            }
            drop(hub);
            reply(json!({"op": "published", "topic": t, "receivers": n}));
        }
        _ => error("unknown \"op\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_skips_strings() {
        assert_eq!(nesting_depth(r#"{"a":[[1]],"b":"[[[[[["}"#), 3);
        assert_eq!(nesting_depth("[[[[]]]]"), 4);
    }

    #[test]
    fn plants_parse() {
        assert_eq!(Plants::parse("").unwrap(), Plants::default());
        assert!(Plants::parse("crash,hang").unwrap().hang);
        assert!(Plants::parse("all").unwrap().violation);
        assert!(Plants::parse("nope").is_err());
    }

    #[test]
    fn prototype_keys_anywhere() {
        assert!(has_prototype_key(&json!({"a": [{"__proto__": 1}]})));
        assert!(!has_prototype_key(&json!({"proto": 1})));
    }
}
