//! The built-in reference server: a strictly conforming RFC 6455 echo server on tokio.
//!
//! It is what `wsspec serve` runs and what `wsspec run` without a URL starts in-process, so
//! the suite always has a known-good target, and with [`Faults`] switched on, known-bad ones.
//!
//! Behaviour (the Autobahn fuzzingclient contract):
//! * every text or binary message is echoed with the same type and payload, as one frame;
//! * every ping is answered with a pong carrying the same payload, in order;
//! * a protocol violation is answered with close 1002 (1007 for invalid UTF-8, 1009 for a
//!   message above [`Limits::max_message_size`]) and the TCP connection is closed at once;
//!   UTF-8 is checked per byte as payload arrives, so a bad byte inside a frame that is still
//!   arriving fails the connection before the rest of the frame is sent;
//! * a client close is answered by a close echoing its code (empty if it had none), and the
//!   server then closes TCP first (§7.1.1);
//! * the handshake follows §4.2: 426 with `Sec-WebSocket-Version: 13` for another version,
//!   405 for a method other than GET, 400 for other errors; a subprotocol is selected only
//!   if offered; no extension is accepted unless [`ServerConfig::deflate`] is set, which
//!   accepts permessage-deflate (RFC 7692) and compresses every echo.
//!
//! "Closes TCP" means a FIN is sent immediately (`shutdown(Write)`), then the socket is
//! drained for at most [`ServerConfig::close_linger`] before it is dropped, so that a client
//! still writing does not get an RST that could destroy the close frame in its receive buffer.
//!
//! Every read is bounded: the HTTP head by [`ServerConfig::head_limits`] and
//! [`ServerConfig::handshake_timeout`], frames by the codec limits, silence after the handshake
//! by [`ServerConfig::idle_timeout`]; every write by [`ServerConfig::write_timeout`].

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{timeout, Instant};

use crate::codec::deflate::{DeflateConfig, ServerPolicy};
use crate::codec::handshake::{
    accept_response, reject_response, validate_request, HandshakeError, ValidRequest,
};
use crate::codec::http::{HeadLimits, Headers, HttpError, RequestHead};
use crate::codec::message::Limits;

use super::faults::Faults;
use super::serving::{read_head, HeadError, Serving};
use super::session::{Flow, Session};

/// Configuration of the reference server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Deliberate bugs; [`Faults::none`] for the conforming server.
    pub faults: Faults,
    /// Frame and message size limits; beyond them the connection is failed with 1009.
    pub limits: Limits,
    /// Subprotocols we support; the first one the client offers (in its order) that is in
    /// this list is selected.
    pub subprotocols: Vec<String>,
    /// Size limits of the HTTP request head.
    pub head_limits: HeadLimits,
    /// Time allowed from TCP accept to a complete request head.
    pub handshake_timeout: Duration,
    /// Silence after the handshake before the server closes with 1001.
    pub idle_timeout: Duration,
    /// Time a single write may block (a client that stops reading) before the TCP is dropped.
    pub write_timeout: Duration,
    /// How long to drain the socket after sending FIN, waiting for the client's FIN.
    pub close_linger: Duration,
    /// Concurrent connections; further ones get `503 Service Unavailable`.
    pub max_connections: usize,
    /// Value of the `Server` header (Autobahn names the agent after it); `None` omits it.
    pub server_name: Option<String>,
    /// Accept permessage-deflate (RFC 7692) offers with this policy; `None` accepts no
    /// extension.
    pub deflate: Option<ServerPolicy>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            faults: Faults::none(),
            limits: Limits::default(),
            subprotocols: Vec::new(),
            head_limits: HeadLimits::default(),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            write_timeout: Duration::from_secs(30),
            close_linger: Duration::from_secs(1),
            max_connections: 1024,
            server_name: Some(format!("wsspec-reference/{}", env!("CARGO_PKG_VERSION"))),
            deflate: None,
        }
    }
}

impl ServerConfig {
    /// The conforming server with the given faults switched on.
    pub fn with_faults(faults: Faults) -> Self {
        ServerConfig {
            faults,
            ..ServerConfig::default()
        }
    }
}

/// How long `respond_after_close` keeps answering after its close frame.
const RESPOND_AFTER_CLOSE: Duration = Duration::from_millis(300);
/// Upper bound for `keep_tcp_open_after_close`: waits this long for the client to close.
const KEEP_OPEN_CAP: Duration = Duration::from_secs(10);
/// Bytes drained after FIN before giving up on a client that keeps sending.
const LINGER_MAX_BYTES: usize = 1 << 20;
/// Read buffer growth step; also the largest single read.
const READ_CHUNK: usize = 64 * 1024;

/// A server started by [`bind`].
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (with the real port when bound to port 0).
    pub local_addr: SocketAddr,
    serving: Serving,
}

impl RunningServer {
    /// `ws://` URL of the server.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.local_addr)
    }

    /// Number of TCP connections accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.serving.accepted()
    }

    /// Stops accepting, sends close 1001 on every open connection, closes them, and returns
    /// once all connection tasks ended (or were aborted after a short grace period).
    pub async fn shutdown(mut self) {
        self.serving.stop(false).await;
    }
}

/// Binds `addr` (use `127.0.0.1:0` for a free port) and starts serving in the background.
///
/// Must be called inside a tokio runtime. The server runs until [`RunningServer::shutdown`]
/// or until the [`RunningServer`] is dropped.
pub async fn bind(addr: SocketAddr, cfg: ServerConfig) -> io::Result<RunningServer> {
    let cfg = Arc::new(cfg);
    let serving = Serving::bind(addr, |l, stop, accepted| {
        accept_loop(l, cfg, stop, accepted)
    })
    .await?;
    Ok(RunningServer {
        local_addr: serving.local_addr,
        serving,
    })
}

async fn accept_loop(
    listener: TcpListener,
    cfg: Arc<ServerConfig>,
    mut stop: watch::Receiver<bool>,
    accepted: Arc<AtomicU64>,
) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        tokio::select! {
            _ = stop.changed() => break,
            r = listener.accept() => match r {
                Ok((stream, _peer)) => {
                    accepted.fetch_add(1, Ordering::Relaxed);
                    let _ = stream.set_nodelay(true);
                    if conns.len() >= cfg.max_connections {
                        conns.spawn(refuse(stream, cfg.clone()));
                    } else {
                        conns.spawn(serve(stream, cfg.clone(), stop.clone()));
                    }
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
    drop(listener);
    let grace = cfg.close_linger + Duration::from_millis(500);
    let drained = timeout(grace, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        conns.shutdown().await;
    }
}

async fn refuse(mut stream: TcpStream, cfg: Arc<ServerConfig>) {
    let msg = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    let _ = timeout(cfg.write_timeout, stream.write_all(msg)).await;
    close_tcp(stream, &cfg).await;
}

/// The first offered subprotocol (client order) that we support.
fn select_protocol<'a>(offered: &'a [String], supported: &[String]) -> Option<&'a str> {
    offered
        .iter()
        .find(|p| supported.iter().any(|s| s == *p))
        .map(String::as_str)
}

/// The permessage-deflate answer header and agreement for `valid`'s offers, bent by the
/// deflate faults. A malformed offer header only declines the extension.
fn answer_deflate(valid: &ValidRequest, cfg: &ServerConfig) -> Option<(String, DeflateConfig)> {
    let policy = cfg.deflate?;
    let f = cfg.faults;
    let choice = policy
        .choose_from_fields(valid.extensions.iter().map(|e| e.as_bytes()))
        .ok()?;
    let accepted = choice.accepted?;
    let mut answer = accepted.answer.to_string();
    if f.deflate_answer_unoffered && accepted.answer.client_max_window_bits.is_none() {
        let offered_client_window = valid
            .extensions
            .iter()
            .filter(|e| e.trim_start().starts_with("permessage-deflate"))
            .nth(accepted.offer)
            .is_some_and(|e| e.contains("client_max_window_bits"));
        if !offered_client_window {
            answer += "; client_max_window_bits=10";
        }
    }
    if f.deflate_two_answers {
        answer = format!("{answer}, {answer}");
    }
    Some((answer, accepted.config))
}

/// The handshake answer: `Ok(response)` to upgrade, `Err(response)` to refuse.
fn answer_handshake(
    head: &RequestHead,
    cfg: &ServerConfig,
) -> Result<(Vec<u8>, Option<DeflateConfig>), Vec<u8>> {
    let f = cfg.faults;
    let valid: ValidRequest = match validate_request(head) {
        Ok(v) => v,
        Err(HandshakeError::UnsupportedVersion(_)) if f.accept_any_version => {
            let mut patched = head.clone();
            patched
                .headers
                .0
                .retain(|(n, _)| !n.eq_ignore_ascii_case("sec-websocket-version"));
            patched
                .headers
                .0
                .push(("Sec-WebSocket-Version".into(), b"13".to_vec()));
            validate_request(&patched).map_err(|e| reject_response(&e))?
        }
        Err(e) => return Err(reject_response(&e)),
    };
    let mut extra = Headers::default();
    if let Some(name) = &cfg.server_name {
        extra.0.push(("Server".into(), name.clone().into_bytes()));
    }
    let mut protocol = select_protocol(&valid.protocols, &cfg.subprotocols);
    if f.select_unoffered_protocol {
        protocol = None;
        extra.0.push((
            "Sec-WebSocket-Protocol".into(),
            b"wsspec-not-offered".to_vec(),
        ));
    }
    let deflate = answer_deflate(&valid, cfg);
    if let Some((answer, _)) = &deflate {
        extra.0.push((
            "Sec-WebSocket-Extensions".into(),
            answer.clone().into_bytes(),
        ));
    } else if f.accept_unoffered_extension {
        extra.0.push((
            "Sec-WebSocket-Extensions".into(),
            b"permessage-deflate".to_vec(),
        ));
    }
    let mut keyed = valid.clone();
    if f.wrong_accept_key {
        // Any other key gives a different SHA-1, so the accept value cannot match.
        keyed.key.push('x');
    }
    Ok((
        accept_response(&keyed, protocol, &extra),
        deflate.map(|(_, c)| c),
    ))
}

fn http_error_response(e: &HttpError) -> Vec<u8> {
    let (status, reason) = match e {
        HttpError::Capacity(_) => (431, "Request Header Fields Too Large"),
        _ => (400, "Bad Request"),
    };
    let body = format!("{e}\n");
    format!(
        "HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves one connection over a byte stream that is already open, from the request head to
/// the close, exactly as [`bind`] serves each accepted TCP connection.
///
/// What tests and benchmarks use to run the server over an in-process duplex stream
/// (`tokio::io::duplex`), with no socket and, under paused tokio time, no real waiting.
pub async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(stream: S, cfg: ServerConfig) {
    // A stop signal that never fires: the connection ends on its own terms only.
    let (_keep, stop) = watch::channel(false);
    serve(stream, Arc::new(cfg), stop).await;
}

/// One connection, from TCP accept to TCP close.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    cfg: Arc<ServerConfig>,
    mut stop: watch::Receiver<bool>,
) {
    if *stop.borrow() {
        return;
    }
    let mut buf = Vec::with_capacity(4096);
    let head = tokio::select! {
        _ = stop.changed() => return,
        r = timeout(cfg.handshake_timeout, read_head(&mut stream, &mut buf, cfg.head_limits)) => r,
    };
    let (head, used) = match head {
        Ok(Ok(h)) => h,
        Ok(Err(HeadError::Http(e))) => {
            let _ = timeout(
                cfg.write_timeout,
                stream.write_all(&http_error_response(&e)),
            )
            .await;
            return close_tcp(stream, &cfg).await;
        }
        Ok(Err(HeadError::Eof | HeadError::Io)) => return,
        Err(_elapsed) => {
            let msg =
                b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
            let _ = timeout(cfg.write_timeout, stream.write_all(msg)).await;
            return close_tcp(stream, &cfg).await;
        }
    };
    let deflate = match answer_handshake(&head, &cfg) {
        Ok((resp, deflate)) => {
            if !write_out(&mut stream, &resp, &cfg).await {
                return;
            }
            deflate
        }
        Err(resp) => {
            let _ = timeout(cfg.write_timeout, stream.write_all(&resp)).await;
            return close_tcp(stream, &cfg).await;
        }
    };
    buf.drain(..used);
    if cfg.faults.half_close_after_upgrade {
        // Wrong on purpose: FIN right after the 101, nothing read is ever answered.
        return close_tcp(stream, &cfg).await;
    }
    run_session(stream, buf, cfg, stop, deflate).await;
}

/// Writes `bytes` within the write timeout; false if the connection is unusable.
async fn write_out<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    cfg: &ServerConfig,
) -> bool {
    if bytes.is_empty() {
        return true;
    }
    matches!(
        timeout(cfg.write_timeout, stream.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

async fn run_session<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    mut rbuf: Vec<u8>,
    cfg: Arc<ServerConfig>,
    mut stop: watch::Receiver<bool>,
    deflate: Option<DeflateConfig>,
) {
    let mut session = Session::new(cfg.faults, cfg.limits, deflate);
    let mut out = Vec::new();
    session.ping_client(&mut out);
    loop {
        // Everything decoded from one read is answered with one write: pongs and echoes keep
        // their order, and a burst of small frames costs one syscall.
        let (used, flow) = session.feed(&rbuf, &mut out);
        rbuf.drain(..used);
        if !write_out(&mut stream, &out, &cfg).await {
            return;
        }
        out.clear();
        if flow == Flow::Close {
            break;
        }
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            rbuf.reserve(READ_CHUNK);
        }
        tokio::select! {
            _ = stop.changed() => {
                session.server_close(1001, "server shutting down", &mut out);
                let _ = write_out(&mut stream, &out, &cfg).await;
                break;
            }
            r = timeout(cfg.idle_timeout, stream.read_buf(&mut rbuf)) => match r {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(_)) => {}
                Err(_elapsed) => {
                    session.server_close(1001, "idle timeout", &mut out);
                    let _ = write_out(&mut stream, &out, &cfg).await;
                    break;
                }
            },
        }
    }
    if cfg.faults.respond_after_close && session.close_sent() {
        // Wrong on purpose: frames that followed the close (often in the same read) are
        // still answered for a while.
        let deadline = Instant::now() + RESPOND_AFTER_CLOSE;
        loop {
            let (used, _) = session.feed(&rbuf, &mut out);
            rbuf.drain(..used);
            if !write_out(&mut stream, &out, &cfg).await {
                return;
            }
            out.clear();
            rbuf.reserve(READ_CHUNK);
            match tokio::time::timeout_at(deadline, stream.read_buf(&mut rbuf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => break,
            }
        }
    }
    if cfg.faults.keep_tcp_open_after_close {
        // Wrong on purpose (§7.1.1): wait for the client to close TCP first.
        drain(&mut stream, KEEP_OPEN_CAP, usize::MAX).await;
        return;
    }
    close_tcp(stream, &cfg).await;
}

/// Sends FIN at once, then drains briefly so the peer reads everything we sent.
async fn close_tcp<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, cfg: &ServerConfig) {
    let _ = timeout(cfg.write_timeout, stream.shutdown()).await;
    drain(&mut stream, cfg.close_linger, LINGER_MAX_BYTES).await;
}

/// Reads and discards until EOF, `max_bytes`, or `limit` time.
async fn drain<S: AsyncRead + Unpin>(stream: &mut S, limit: Duration, max_bytes: usize) {
    let deadline = Instant::now() + limit;
    let mut sink = [0u8; 8192];
    let mut total = 0usize;
    while total < max_bytes {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => total += n,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_selection_follows_client_order() {
        let offered = vec!["b".to_string(), "a".to_string()];
        let ours = vec!["a".to_string(), "b".to_string()];
        assert_eq!(select_protocol(&offered, &ours), Some("b"));
        assert_eq!(select_protocol(&offered, &[]), None);
        assert_eq!(select_protocol(&[], &ours), None);
    }
}
