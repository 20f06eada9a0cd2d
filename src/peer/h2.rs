//! WebSockets over HTTP/2 (RFC 8441): one HTTP/2 connection per run, one extended-CONNECT
//! stream per WebSocket, the stream's DATA as the byte stream below the one decoder.
//!
//! The HTTP/2 framing is the `h2` crate's; this module only decides what to ask of it and
//! records what it saw. The peer's reader and writer tasks see an [`H2Io`] where they would
//! otherwise see a TCP or TLS socket, so RFC 6455 frames go through exactly the same frame
//! encoder and decoder as over HTTP/1.1. The mapping of the transport's ends:
//!
//! | over TCP | over an h2 stream (RFC 8441 §5) |
//! | --- | --- |
//! | server closes TCP (FIN) | server sends END_STREAM |
//! | TCP reset / error | RST_STREAM (its code), GOAWAY or the connection lost |
//! | kit half-closes (FIN) | kit sends END_STREAM |
//! | kit drops TCP | kit sends RST_STREAM CANCEL |
//!
//! HTTP/3 (RFC 9220) would slot in the same way: another byte stream under [`super::Peer`].

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ::h2::client::SendRequest;
use ::h2::{Reason, RecvStream, SendStream};
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::{ConnectOptions, PeerError, Target, Transcript};
use crate::codec::http::{Headers, ResponseHead};
use crate::report::Direction;

/// HTTP/2 DATA frames listed per stream and direction; the rest are counted only (each
/// RFC 6455 frame inside them is still listed by the peer).
const LISTED_DATA_FRAMES: u32 = 200;

/// The HTTP/2 connection of a run, shared by every case's [`super::ConnectOptions`] clone.
///
/// Opened on first use; when it ends (a server that drops it, a GOAWAY), the next stream
/// opens a new one and says so in its transcript.
#[derive(Clone, Default)]
pub struct H2Pool {
    live: Arc<tokio::sync::Mutex<Option<Arc<Live>>>>,
    opened: Arc<AtomicUsize>,
}

impl fmt::Debug for H2Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("H2Pool")
            .field("opened", &self.opened.load(Ordering::Relaxed))
            .finish()
    }
}

impl H2Pool {
    /// How many HTTP/2 connections this pool has opened so far.
    pub fn connections_opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }
}

/// One open HTTP/2 connection.
struct Live {
    url: String,
    number: usize,
    send: SendRequest<Bytes>,
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL as received before the first request.
    connect_protocol: bool,
    /// How the connection ended, once it has.
    end: Arc<Mutex<Option<String>>>,
    /// The connection's PING handle (one PING in flight at a time).
    ping: tokio::sync::Mutex<Option<::h2::PingPong>>,
    task: JoinHandle<()>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Live {
    fn ended(&self) -> Option<String> {
        self.end.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Describes an `h2` error as the frame or event behind it.
pub fn describe_error(e: &::h2::Error) -> String {
    if e.is_go_away() {
        format!(
            "GOAWAY {} from the {}",
            reason_name(e.reason()),
            if e.is_remote() { "server" } else { "kit" }
        )
    } else if e.is_reset() {
        format!(
            "RST_STREAM {} from the {}",
            reason_name(e.reason()),
            if e.is_remote() { "server" } else { "kit" }
        )
    } else if let Some(io) = e.get_io() {
        format!("HTTP/2 connection lost: {io}")
    } else {
        format!("HTTP/2 error: {e}")
    }
}

fn reason_name(r: Option<Reason>) -> String {
    match r {
        Some(r) => format!("{r:?}"),
        None => "(no code)".into(),
    }
}

/// What the kit asks for on a new stream: RFC 8441 §4's extended CONNECT by default; the
/// `h2.*` checks change single fields to break it on purpose.
#[derive(Debug, Clone)]
pub struct StreamRequest {
    /// `:method`.
    pub method: http::Method,
    /// `:path` (path and query).
    pub path: String,
    /// `:protocol`; `None` sends a plain CONNECT-style request without it.
    pub protocol: Option<String>,
    /// Regular header fields (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Send the request even if the server did not enable SETTINGS_ENABLE_CONNECT_PROTOCOL
    /// (only for the check that a server refuses it).
    pub ignore_setting: bool,
}

impl StreamRequest {
    /// The conforming request for a WebSocket: CONNECT, `:protocol websocket`,
    /// `sec-websocket-version: 13`.
    pub fn websocket(path: impl Into<String>) -> Self {
        StreamRequest {
            method: http::Method::CONNECT,
            path: path.into(),
            protocol: Some("websocket".into()),
            headers: vec![("sec-websocket-version".into(), "13".into())],
            ignore_setting: false,
        }
    }
}

/// The server's answer on a new stream.
#[derive(Debug)]
pub enum StreamAnswer {
    /// Response HEADERS (any status); the stream stays open for DATA.
    Response(ResponseHead, H2Io),
    /// The stream or connection ended before a response (RST_STREAM, GOAWAY, drop).
    Refused(String),
    /// No response in time.
    Timeout,
}

/// What [`open_stream`] learned besides the answer.
#[derive(Debug, Clone, Copy)]
pub struct StreamInfo {
    /// Whether the server advertised SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    pub connect_protocol: bool,
    /// Which HTTP/2 connection of the pool carried the stream (1 = the first).
    pub connection: usize,
}

/// The HTTP/2 connection preface on `io` (TCP, or TLS after ALPN h2), then a task that
/// drives the connection and writes into `end` how it ended.
async fn handshake<T>(
    builder: ::h2::client::Builder,
    io: T,
    timeout: Duration,
    end: &Arc<Mutex<Option<String>>>,
) -> Result<(SendRequest<Bytes>, Option<::h2::PingPong>, JoinHandle<()>), PeerError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, mut conn) = tokio::time::timeout(timeout, builder.handshake(io))
        .await
        .map_err(|_| PeerError::ConnectTimeout(timeout))?
        .map_err(|e| PeerError::Http2(describe_error(&e)))?;
    let pp = conn.ping_pong();
    let e2 = end.clone();
    let task = tokio::spawn(async move {
        let r = conn.await;
        *e2.lock().unwrap_or_else(|p| p.into_inner()) = Some(match r {
            Ok(()) => "the HTTP/2 connection closed".into(),
            Err(e) => describe_error(&e),
        });
    });
    Ok((send, pp, task))
}

async fn dial(
    target: &Target,
    insecure: bool,
    max_head: usize,
    timeout: Duration,
    transcript: &Transcript,
    number: usize,
) -> Result<Live, PeerError> {
    let addrs = target.resolve().map_err(PeerError::Target)?;
    let tcp = tokio::time::timeout(timeout, TcpStream::connect(&addrs[..]))
        .await
        .map_err(|_| PeerError::ConnectTimeout(timeout))?
        .map_err(PeerError::Connect)?;
    let _ = tcp.set_nodelay(true);
    let addr = tcp.peer_addr().unwrap_or(addrs[0]);
    let end: Arc<Mutex<Option<String>>> = Arc::default();
    let mut builder = ::h2::client::Builder::new();
    builder.enable_push(false);
    // The same bound on a response's header block as on an HTTP/1.1 head.
    builder.max_header_list_size(u32::try_from(max_head).unwrap_or(u32::MAX));
    let (send, pp, task) = if target.tls {
        let mut cfg = (*super::tls::client_config(insecure)).clone();
        // RFC 8441 runs on HTTP/2 only: offer nothing else (RFC 9113 §3.2).
        cfg.alpn_protocols = vec![b"h2".to_vec()];
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| PeerError::Tls(e.to_string()))?;
        let tls = tokio::time::timeout(
            timeout,
            tokio_rustls::TlsConnector::from(Arc::new(cfg)).connect(name, tcp),
        )
        .await
        .map_err(|_| PeerError::ConnectTimeout(timeout))?
        .map_err(|e| PeerError::Tls(e.to_string()))?;
        if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(PeerError::Http2(
                "the server did not select ALPN h2 (RFC 9113 §3.2)".into(),
            ));
        }
        handshake(builder, tls, timeout, &end).await?
    } else {
        handshake(builder, tcp, timeout, &end).await?
    };
    // The server's SETTINGS must be its first frame (RFC 9113 §3.4), so once a PING is
    // answered they have been applied: only then is the setting known to be absent.
    let mut ping = pp;
    let settled = match ping.as_mut() {
        Some(p) => tokio::time::timeout(timeout, p.ping(::h2::Ping::opaque()))
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false),
        None => false,
    };
    if !settled {
        task.abort();
        let why = end.lock().unwrap_or_else(|p| p.into_inner()).clone();
        return Err(PeerError::Http2(format!(
            "no SETTINGS and no PING answer from {addr} within {timeout:?}{}: not an HTTP/2 server{}?",
            why.map(|w| format!(" ({w})")).unwrap_or_default(),
            if target.tls { "" } else { " with prior knowledge (h2c)" }
        )));
    }
    let connect_protocol = send.is_extended_connect_protocol_enabled();
    transcript.push(
        Direction::Event,
        "h2-open",
        format!(
            "HTTP/2 connection #{number} to {addr} ({}): server SETTINGS_ENABLE_CONNECT_PROTOCOL = {}",
            if target.tls { "TLS, ALPN h2" } else { "h2c, prior knowledge" },
            u8::from(connect_protocol),
        ),
        None,
    );
    Ok(Live {
        url: target.url.clone(),
        number,
        send,
        connect_protocol,
        end,
        ping: tokio::sync::Mutex::new(ping),
        task,
    })
}

/// Opens one stream on the connection of `opts.http2` (opening the connection first if
/// needed, with the connect limits, TLS setting and head limit of `opts`), sends `req` for
/// `target` and waits for the response HEADERS within the connect and handshake limits.
///
/// Refuses, without sending anything, a `:protocol` request to a server that did not
/// advertise SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §4), unless
/// `req.ignore_setting` says to send it anyway.
pub async fn open_stream(
    opts: &ConnectOptions,
    target: &Target,
    req: &StreamRequest,
    transcript: &Transcript,
) -> Result<(StreamInfo, StreamAnswer), PeerError> {
    let deadline = Instant::now() + opts.connect_timeout + opts.handshake_timeout;
    let pool = &opts.http2;
    let live = {
        let mut g = pool.live.lock().await;
        let reuse = match g.as_ref() {
            Some(l) if l.url == target.url => match l.ended() {
                None => true,
                Some(why) => {
                    transcript.note(format!(
                        "HTTP/2 connection #{} is gone ({why}); opening a new one",
                        l.number
                    ));
                    false
                }
            },
            _ => false,
        };
        if !reuse {
            let n = pool.opened.fetch_add(1, Ordering::Relaxed) + 1;
            *g = Some(Arc::new(
                dial(
                    target,
                    opts.insecure,
                    opts.head_limits.max_head,
                    opts.connect_timeout,
                    transcript,
                    n,
                )
                .await?,
            ));
        }
        g.as_ref().cloned().expect("set above")
    };
    let info = StreamInfo {
        connect_protocol: live.connect_protocol,
        connection: live.number,
    };
    if req.protocol.is_some() && !live.connect_protocol && !req.ignore_setting {
        return Err(PeerError::NoExtendedConnect);
    }
    let scheme = if target.tls { "https" } else { "http" };
    let uri = format!("{scheme}://{}{}", target.host_header(), req.path);
    let mut b = http::Request::builder()
        .method(req.method.clone())
        .uri(&uri);
    for (k, v) in &req.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let mut request = b
        .body(())
        .map_err(|e| PeerError::Http2(format!("cannot build the request: {e}")))?;
    if let Some(p) = &req.protocol {
        request
            .extensions_mut()
            .insert(::h2::ext::Protocol::from(p.as_str()));
    }
    let mut send = live.send.clone();
    let ready = tokio::time::timeout_at(
        deadline.into(),
        std::future::poll_fn(|cx| send.poll_ready(cx)),
    )
    .await;
    match ready {
        Err(_) => return Ok((info, StreamAnswer::Timeout)),
        Ok(Err(e)) => return Ok((info, StreamAnswer::Refused(describe_error(&e)))),
        Ok(Ok(())) => {}
    }
    let (resp, tx) = match send.send_request(request, false) {
        Ok(x) => x,
        Err(e) => return Ok((info, StreamAnswer::Refused(describe_error(&e)))),
    };
    let id = tx.stream_id().as_u32();
    let mut line = format!(
        "HEADERS stream {id} (connection #{}): :method {} ",
        live.number, req.method
    );
    if let Some(p) = &req.protocol {
        line.push_str(&format!(":protocol {p} "));
    }
    line.push_str(&format!(
        ":scheme {scheme} :authority {} :path {}",
        target.host_header(),
        req.path
    ));
    for (k, v) in &req.headers {
        line.push_str(&format!(", {k}: {v}"));
    }
    transcript.push(Direction::Sent, "h2", line, None);
    let resp = match tokio::time::timeout_at(deadline.into(), resp).await {
        Err(_) => {
            transcript.note(format!("no response HEADERS on stream {id} in time"));
            return Ok((info, StreamAnswer::Timeout));
        }
        Ok(Err(e)) => {
            let why = stream_end_reason(&e, &live);
            transcript.push(Direction::Recv, "h2", format!("stream {id}: {why}"), None);
            return Ok((info, StreamAnswer::Refused(why)));
        }
        Ok(Ok(r)) => r,
    };
    let (parts, recv) = resp.into_parts();
    let mut headers = Headers(Vec::new());
    for (k, v) in &parts.headers {
        headers
            .0
            .push((k.as_str().to_owned(), v.as_bytes().to_vec()));
    }
    let mut line = format!("HEADERS stream {id}: :status {}", parts.status.as_u16());
    for (k, v) in &headers.0 {
        line.push_str(&format!(", {k}: {}", String::from_utf8_lossy(v)));
    }
    if recv.is_end_stream() {
        line.push_str(" [END_STREAM]");
    }
    transcript.push(Direction::Recv, "h2", line, None);
    let head = ResponseHead {
        version: (2, 0),
        status: parts.status.as_u16(),
        reason: parts.status.canonical_reason().unwrap_or("").to_owned(),
        headers,
    };
    let io = H2Io {
        id,
        send: tx,
        recv,
        buf: Bytes::new(),
        transcript: transcript.clone(),
        recv_ended: false,
        recv_clean_end: false,
        send_ended: false,
        reset: false,
        listed_in: 0,
        listed_out: AtomicU32::new(0),
        live,
    };
    Ok((info, StreamAnswer::Response(head, io)))
}

/// The reason a stream ended with an error, naming the connection's end when that is what
/// ended it.
fn stream_end_reason(e: &::h2::Error, live: &Live) -> String {
    let mut why = describe_error(e);
    if !e.is_reset() || e.is_go_away() {
        if let Some(c) = live.ended() {
            if c != why {
                why = format!("{why} ({c})");
            }
        }
    }
    why
}

/// Whether HTTP/2 connection `number` of the pool still works: it has not ended and it
/// answers a PING within `timeout` (RFC 9113 §6.7).
pub async fn connection_alive(
    pool: &H2Pool,
    number: usize,
    timeout: Duration,
) -> Result<(), String> {
    let live = {
        let g = pool.live.lock().await;
        match g.as_ref() {
            Some(l) if l.number == number => l.clone(),
            Some(l) => {
                return Err(format!(
                    "connection #{number} was replaced by #{}",
                    l.number
                ))
            }
            None => return Err("no connection".into()),
        }
    };
    if let Some(why) = live.ended() {
        return Err(why);
    }
    let mut g = live.ping.lock().await;
    let Some(p) = g.as_mut() else {
        return Ok(());
    };
    match tokio::time::timeout(timeout, p.ping(::h2::Ping::opaque())).await {
        Err(_) => Err(format!("no PING answer within {timeout:?}")),
        Ok(Err(e)) => Err(live.ended().unwrap_or_else(|| describe_error(&e))),
        Ok(Ok(_)) => Ok(()),
    }
}

/// One WebSocket's byte stream: the DATA of an HTTP/2 stream, read and written as if it
/// were a socket. Reading releases flow-control capacity as the bytes are taken, so the
/// server's window only stays closed while the peer stops reading.
pub struct H2Io {
    id: u32,
    send: SendStream<Bytes>,
    recv: RecvStream,
    buf: Bytes,
    transcript: Transcript,
    recv_ended: bool,
    /// The server ended its side with END_STREAM (not a reset).
    recv_clean_end: bool,
    send_ended: bool,
    reset: bool,
    listed_in: u32,
    listed_out: AtomicU32,
    live: Arc<Live>,
}

impl fmt::Debug for H2Io {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("H2Io").field("stream", &self.id).finish()
    }
}

impl H2Io {
    /// The HTTP/2 stream id.
    pub fn stream_id(&self) -> u32 {
        self.id
    }

    /// Resets the stream (RST_STREAM with `reason`).
    pub fn reset(&mut self, reason: Reason) {
        if !self.reset {
            self.reset = true;
            self.send.send_reset(reason);
            self.transcript.push(
                Direction::Sent,
                "h2",
                format!("RST_STREAM stream {} {reason:?}", self.id),
                None,
            );
        }
    }
}

impl Drop for H2Io {
    fn drop(&mut self) {
        // Dropping an open stream makes `h2` send RST_STREAM CANCEL: the analogue of
        // dropping TCP (RFC 8441 §5); record it where it happens.
        // (The peer records what it does when it drops the stream on purpose.) After the
        // server's END_STREAM the orderly answer is ours (RFC 8441 §5), not a reset.
        if self.send_ended || self.reset {
            return;
        }
        if self.recv_clean_end {
            let _ = self.send.send_data(Bytes::new(), true);
        } else {
            self.send.send_reset(Reason::CANCEL);
        }
    }
}

impl AsyncRead for H2Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.buf.is_empty() {
                let n = this.buf.len().min(out.remaining());
                out.put_slice(&this.buf.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.recv_ended {
                return Poll::Ready(Ok(()));
            }
            match this.recv.poll_data(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.recv_ended = true;
                    this.recv_clean_end = true;
                    this.transcript.push(
                        Direction::Recv,
                        "h2",
                        format!("END_STREAM stream {} (the server ended its side)", this.id),
                        None,
                    );
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.recv_ended = true;
                    let why = stream_end_reason(&e, &this.live);
                    this.transcript.push(
                        Direction::Recv,
                        "h2",
                        format!("stream {}: {why}", this.id),
                        None,
                    );
                    // The stream is gone: nothing to reset when the peer drops it.
                    this.send_ended = true;
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionReset, why)));
                }
                Poll::Ready(Some(Ok(data))) => {
                    let _ = this.recv.flow_control().release_capacity(data.len());
                    if this.listed_in < LISTED_DATA_FRAMES {
                        this.transcript.push(
                            Direction::Recv,
                            "h2",
                            format!("DATA stream {}, {} bytes", this.id, data.len()),
                            None,
                        );
                    }
                    this.listed_in += 1;
                    this.buf = data;
                }
            }
        }
    }
}

impl AsyncWrite for H2Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.send_ended {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("stream {} is closed for sending", this.id),
            )));
        }
        // Ask for the whole write; send what the stream and connection windows allow now
        // (RFC 9113 §5.2), and wait for WINDOW_UPDATE when they allow nothing.
        this.send.reserve_capacity(buf.len());
        for _ in 0..4 {
            let cap = this.send.capacity();
            if cap > 0 {
                let n = cap.min(buf.len());
                if let Err(e) = this
                    .send
                    .send_data(Bytes::copy_from_slice(&buf[..n]), false)
                {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        describe_error(&e),
                    )));
                }
                let k = this.listed_out.fetch_add(1, Ordering::Relaxed);
                if k < LISTED_DATA_FRAMES {
                    this.transcript.push(
                        Direction::Sent,
                        "h2",
                        format!("DATA stream {}, {n} bytes", this.id),
                        None,
                    );
                }
                return Poll::Ready(Ok(n));
            }
            match this.send.poll_capacity(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        describe_error(&e),
                    )))
                }
                Poll::Ready(None) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        format!("stream {} was closed", this.id),
                    )))
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The connection task writes queued DATA as soon as it can.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.send_ended {
            return Poll::Ready(Ok(()));
        }
        this.send_ended = true;
        let r = this.send.send_data(Bytes::new(), true);
        this.transcript.push(
            Direction::Sent,
            "h2",
            format!("END_STREAM stream {} (empty DATA)", this.id),
            None,
        );
        Poll::Ready(r.map_err(|e| io::Error::new(io::ErrorKind::BrokenPipe, describe_error(&e))))
    }
}
