//! A small, bounded HTTP/1.1 client for servers on this machine, beside the WebSocket
//! peer: the same wire, the same transcript.
//!
//! The scenario engine needs plain HTTP for three things: fetching what a browser would
//! fetch (Vite publishes its HMR token inside `/@vite/client`), probing a dev server for
//! readiness, and reading the body of a refused WebSocket upgrade (`400 Bad Request`).
//! Everything it does is bounded: the head by [`HeadLimits`], the body by
//! [`MAX_BODY`], every read by one deadline, and only loopback addresses are contacted.
//! Bodies may be `Content-Length`-delimited, chunked, or delimited by the server
//! closing the connection; every request says `Connection: close`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::codec::frame::Status;
use crate::codec::http::{parse_response, HeadLimits, HttpError, ResponseHead};
use crate::peer::transcript::Transcript;
use crate::report::Direction;

/// Largest response body accepted (8 MiB); a larger body is an error, not a truncation,
/// so a capture never silently works on half a document.
pub const MAX_BODY: usize = 8 << 20;

/// Longest chunk-size line (with extensions) accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 1024;

/// Interim (1xx) responses skipped before the final one; a server that sends an
/// endless stream of `100 Continue` cannot keep the client busy.
const MAX_INTERIM: usize = 8;

/// Where a request goes: a URL taken apart, host checked to be on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// TLS (`https://`, `wss://`).
    pub tls: bool,
    /// Host as written (no brackets for IPv6).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path plus query, at least `/`.
    pub resource: String,
}

impl Endpoint {
    /// Parses an `http://` or `https://` URL.
    pub fn parse_http(url: &str) -> Result<Endpoint, HttpClientError> {
        let u = url::Url::parse(url).map_err(|e| HttpClientError::Url(format!("{url}: {e}")))?;
        let tls = match u.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(HttpClientError::Url(format!(
                    "{url}: scheme {other:?}; expected http or https"
                )))
            }
        };
        let (host, port, resource) = crate::peer::target::url_parts(&u, tls)
            .ok_or_else(|| HttpClientError::Url(format!("{url}: no host")))?;
        Ok(Endpoint {
            tls,
            host,
            port,
            resource,
        })
    }

    /// The `Host` header value (port left out when it is the scheme's default).
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.tls { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The addresses to try, refusing anything that is not loopback before any lookup
    /// (the rule of [`crate::peer::target::loopback_addrs`]).
    pub fn resolve(&self) -> Result<Vec<SocketAddr>, HttpClientError> {
        crate::peer::target::loopback_addrs(&self.host, self.port)
            .map_err(|_| HttpClientError::NotLoopback(self.host.clone()))
    }
}

/// A request for [`fetch`].
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Method, e.g. `GET`.
    pub method: String,
    /// `http://` or `https://` URL on this machine.
    pub url: String,
    /// Extra headers; a name equal (case-insensitively) to a default header
    /// (`Host`, `Accept`, `User-Agent`, `Connection`) replaces it.
    pub headers: Vec<(String, String)>,
    /// Request body (sent with `Content-Length`).
    pub body: Option<Vec<u8>>,
    /// Skip certificate verification for `https://` (self-signed dev certificates).
    pub insecure: bool,
}

impl HttpRequest {
    /// A plain `GET`.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            insecure: false,
        }
    }

    /// The request bytes for `ep`.
    pub fn to_bytes(&self, ep: &Endpoint) -> Vec<u8> {
        let mut defaults: Vec<(String, String)> = vec![
            ("Host".into(), ep.host_header()),
            (
                "User-Agent".into(),
                concat!("wsspec/", env!("CARGO_PKG_VERSION")).into(),
            ),
            ("Accept".into(), "*/*".into()),
            ("Connection".into(), "close".into()),
        ];
        let mut extra = Vec::new();
        for (n, v) in &self.headers {
            match defaults.iter_mut().find(|(d, _)| d.eq_ignore_ascii_case(n)) {
                Some(slot) => *slot = (n.clone(), v.clone()),
                None => extra.push((n.clone(), v.clone())),
            }
        }
        let mut s = format!("{} {} HTTP/1.1\r\n", self.method, ep.resource);
        for (n, v) in defaults.iter().chain(extra.iter()) {
            s += &format!("{n}: {v}\r\n");
        }
        let has_len = self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
        if let Some(b) = &self.body {
            if !has_len {
                s += &format!("Content-Length: {}\r\n", b.len());
            }
        }
        s += "\r\n";
        let mut out = s.into_bytes();
        if let Some(b) = &self.body {
            out.extend_from_slice(b);
        }
        out
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status line and headers.
    pub head: ResponseHead,
    /// The body, de-chunked (empty for HEAD, 1xx, 204, 304).
    pub body: Vec<u8>,
    /// From the start of the connect to the end of the body.
    pub elapsed: Duration,
}

impl HttpResponse {
    /// The body as text (lossy UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// All headers as a JSON object, names lower-cased, repeated headers joined with
    /// `", "`: the form header patterns are matched against.
    pub fn headers_json(&self) -> serde_json::Value {
        headers_json(&self.head)
    }
}

/// A response head's headers as a JSON object (names lower-cased, repeats joined).
pub fn headers_json(head: &ResponseHead) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (n, v) in &head.headers.0 {
        let name = n.to_ascii_lowercase();
        let v = String::from_utf8_lossy(v).into_owned();
        match m.get_mut(&name) {
            Some(serde_json::Value::String(s)) => {
                s.push_str(", ");
                s.push_str(&v);
            }
            _ => {
                m.insert(name, serde_json::Value::String(v));
            }
        }
    }
    serde_json::Value::Object(m)
}

/// Why an exchange failed.
#[derive(Debug)]
pub enum HttpClientError {
    /// The URL is unusable.
    Url(String),
    /// The host is not on this machine.
    NotLoopback(String),
    /// TCP connect failed (refused, ...).
    Connect(io::Error),
    /// TLS handshake failed.
    Tls(String),
    /// The deadline passed; `what` says in which phase, `received` how many bytes came.
    Timeout {
        /// `connect`, `head` or `body`.
        what: &'static str,
        /// Bytes received so far.
        received: usize,
    },
    /// The server closed the connection before a complete head or body.
    Closed {
        /// `head` or `body`.
        what: &'static str,
        /// Bytes received so far.
        received: usize,
    },
    /// The answer is not HTTP, or the head is too large.
    Malformed(HttpError),
    /// The body is larger than [`MAX_BODY`] (or its declared length is).
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A chunked body that breaks the chunk syntax.
    BadChunk(String),
    /// A read or write failed.
    Io(io::Error),
}

impl fmt::Display for HttpClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpClientError::Url(m) => write!(f, "bad URL: {m}"),
            HttpClientError::NotLoopback(h) => write!(
                f,
                "{h} is not an address on this machine; wsspec only talks to loopback"
            ),
            HttpClientError::Connect(e) => write!(f, "cannot connect: {e}"),
            HttpClientError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            HttpClientError::Timeout { what, received } => {
                write!(f, "timed out waiting for the {what} ({received} bytes received)")
            }
            HttpClientError::Closed { what, received } => write!(
                f,
                "the server closed the connection before the {what} was complete ({received} bytes received)"
            ),
            HttpClientError::Malformed(e) => write!(f, "not an HTTP answer: {e}"),
            HttpClientError::BodyTooLarge { limit } => {
                write!(f, "the body is larger than {limit} bytes")
            }
            HttpClientError::BadChunk(m) => write!(f, "bad chunked body: {m}"),
            HttpClientError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for HttpClientError {}

impl HttpClientError {
    /// True when TCP connect was refused (nothing listens on the port).
    pub fn is_refused(&self) -> bool {
        matches!(self, HttpClientError::Connect(e) if e.kind() == io::ErrorKind::ConnectionRefused)
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn open(
    ep: &Endpoint,
    insecure: bool,
    deadline: Instant,
) -> Result<Box<dyn Stream>, HttpClientError> {
    let addrs = ep.resolve()?;
    let tcp = tokio::time::timeout_at(deadline.into(), TcpStream::connect(&addrs[..]))
        .await
        .map_err(|_| HttpClientError::Timeout {
            what: "connect",
            received: 0,
        })?
        .map_err(HttpClientError::Connect)?;
    let _ = tcp.set_nodelay(true);
    if !ep.tls {
        return Ok(Box::new(tcp));
    }
    let cfg = crate::peer::tls::client_config(insecure);
    let name = rustls::pki_types::ServerName::try_from(ep.host.clone())
        .map_err(|e| HttpClientError::Tls(e.to_string()))?;
    let tls = tokio::time::timeout_at(
        deadline.into(),
        tokio_rustls::TlsConnector::from(cfg).connect(name, tcp),
    )
    .await
    .map_err(|_| HttpClientError::Timeout {
        what: "connect",
        received: 0,
    })?
    .map_err(|e| HttpClientError::Tls(e.to_string()))?;
    Ok(Box::new(tls))
}

/// Sends `req` and reads the whole response, all before `deadline`. When `transcript`
/// is given, the request line, the status line and the body size are recorded in it.
pub async fn fetch(
    req: &HttpRequest,
    deadline: Instant,
    transcript: Option<&Transcript>,
) -> Result<HttpResponse, HttpClientError> {
    let ep = Endpoint::parse_http(&req.url)?;
    let bytes = req.to_bytes(&ep);
    exchange(
        &ep,
        &bytes,
        req.method.eq_ignore_ascii_case("HEAD"),
        req.insecure,
        deadline,
        transcript,
    )
    .await
}

/// Connects to `ep`, writes `request` as is, and reads one response: head, then the
/// body unless `head_request` (the request was `HEAD`) or the status has none. A `101`
/// answer ends after the head. Used by [`fetch`] and for WebSocket upgrades whose
/// refusal body matters.
pub async fn exchange(
    ep: &Endpoint,
    request: &[u8],
    head_request: bool,
    insecure: bool,
    deadline: Instant,
    transcript: Option<&Transcript>,
) -> Result<HttpResponse, HttpClientError> {
    let t0 = Instant::now();
    let note = |dir: Direction, kind: &str, s: String, b: Option<&[u8]>| {
        if let Some(t) = transcript {
            t.push(dir, kind, s, b);
        }
    };
    let mut stream = match open(ep, insecure, deadline).await {
        Ok(s) => s,
        Err(e) => {
            note(Direction::Event, "tcp-error", e.to_string(), None);
            return Err(e);
        }
    };
    let first_line = request
        .split(|&b| b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).trim_end().to_owned())
        .unwrap_or_default();
    note(
        Direction::Sent,
        "http",
        format!("{first_line} (to {}:{})", ep.host, ep.port),
        Some(request),
    );
    let write = async {
        stream.write_all(request).await?;
        stream.flush().await
    };
    match tokio::time::timeout_at(deadline.into(), write).await {
        Err(_) => {
            return Err(HttpClientError::Timeout {
                what: "request write",
                received: 0,
            })
        }
        Ok(Err(e)) => return Err(HttpClientError::Io(e)),
        Ok(Ok(())) => {}
    }
    let result = read_response(&mut stream, head_request, deadline).await;
    match &result {
        Ok((head, body)) => note(
            Direction::Recv,
            "http",
            format!(
                "HTTP/{}.{} {} {} ({} body bytes)",
                head.version.0,
                head.version.1,
                head.status,
                head.reason,
                body.len()
            ),
            Some(&body[..body.len().min(256)]),
        ),
        Err(e) => note(Direction::Event, "http", e.to_string(), None),
    }
    let (head, body) = result?;
    Ok(HttpResponse {
        head,
        body,
        elapsed: t0.elapsed(),
    })
}

async fn read_more<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    deadline: Instant,
    what: &'static str,
    received: usize,
) -> Result<usize, HttpClientError> {
    let mut chunk = [0u8; 16 * 1024];
    match tokio::time::timeout_at(deadline.into(), stream.read(&mut chunk)).await {
        Err(_) => Err(HttpClientError::Timeout { what, received }),
        Ok(Err(e)) if buf.is_empty() && received == 0 => Err(HttpClientError::Io(e)),
        // A reset after some data: treat like a close so callers report what they have.
        Ok(Err(_)) => Ok(0),
        Ok(Ok(n)) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
    }
}

/// Reads one response from `stream`: the head (skipping interim 1xx answers other than
/// 101) and the body as framed by the headers.
pub async fn read_response<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    head_request: bool,
    deadline: Instant,
) -> Result<(ResponseHead, Vec<u8>), HttpClientError> {
    let limits = HeadLimits::default();
    let mut buf = Vec::new();
    let mut total = 0usize;
    let mut interim = 0;
    let head = loop {
        match parse_response(&buf, limits).map_err(HttpClientError::Malformed)? {
            Status::Complete(head, n) => {
                buf.drain(..n);
                if (100..200).contains(&head.status) && head.status != 101 && interim < MAX_INTERIM
                {
                    interim += 1;
                    continue;
                }
                break head;
            }
            Status::Partial(_) => {
                let n = read_more(stream, &mut buf, deadline, "response head", total).await?;
                if n == 0 {
                    return Err(HttpClientError::Closed {
                        what: "response head",
                        received: total + buf.len(),
                    });
                }
                total += n;
            }
        }
    };
    let no_body = head_request
        || (100..200).contains(&head.status)
        || head.status == 204
        || head.status == 304;
    if no_body {
        return Ok((head, Vec::new()));
    }
    let chunked = head
        .headers
        .list("transfer-encoding")
        .iter()
        .any(|t| t.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut dec = ChunkedDecoder::new(MAX_BODY);
        let mut pending = std::mem::take(&mut buf);
        loop {
            if dec.feed(&pending)? {
                return Ok((head, dec.body));
            }
            pending.clear();
            let n = read_more(stream, &mut pending, deadline, "body", dec.body.len()).await?;
            if n == 0 {
                return Err(HttpClientError::Closed {
                    what: "chunked body",
                    received: dec.body.len(),
                });
            }
        }
    }
    if let Some(len) = head.headers.get_str("content-length") {
        let len: u64 = len.trim().parse().map_err(|_| {
            HttpClientError::Malformed(HttpError::MalformedHeader(format!("Content-Length: {len}")))
        })?;
        if len > MAX_BODY as u64 {
            return Err(HttpClientError::BodyTooLarge { limit: MAX_BODY });
        }
        let len = len as usize;
        while buf.len() < len {
            let have = buf.len();
            let n = read_more(stream, &mut buf, deadline, "body", have).await?;
            if n == 0 {
                return Err(HttpClientError::Closed {
                    what: "body",
                    received: buf.len(),
                });
            }
        }
        buf.truncate(len);
        return Ok((head, buf));
    }
    // Delimited by the server closing the connection.
    loop {
        if buf.len() > MAX_BODY {
            return Err(HttpClientError::BodyTooLarge { limit: MAX_BODY });
        }
        let have = buf.len();
        let n = read_more(stream, &mut buf, deadline, "body", have).await?;
        if n == 0 {
            return Ok((head, buf));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Size,
    Data(usize),
    DataEnd,
    Trailer,
    Done,
}

/// Incremental decoder for `Transfer-Encoding: chunked` (RFC 9112 §7.1), bounded in
/// body size and line length.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: ChunkState,
    line: Vec<u8>,
    /// The decoded body so far.
    pub body: Vec<u8>,
    limit: usize,
}

impl ChunkedDecoder {
    /// A decoder that refuses bodies over `limit` bytes.
    pub fn new(limit: usize) -> Self {
        ChunkedDecoder {
            state: ChunkState::Size,
            line: Vec::new(),
            body: Vec::new(),
            limit,
        }
    }

    /// Feeds bytes; true once the last chunk and the trailer have been read. Bytes after
    /// the end are ignored.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<bool, HttpClientError> {
        while !data.is_empty() && self.state != ChunkState::Done {
            match self.state {
                ChunkState::Size | ChunkState::Trailer | ChunkState::DataEnd => {
                    let Some(nl) = data.iter().position(|&b| b == b'\n') else {
                        self.push_line(data)?;
                        return Ok(false);
                    };
                    self.push_line(&data[..nl])?;
                    data = &data[nl + 1..];
                    let line = std::mem::take(&mut self.line);
                    let line = line.strip_suffix(b"\r").unwrap_or(&line);
                    self.state = match self.state {
                        ChunkState::Size => {
                            let text = String::from_utf8_lossy(line);
                            let size_txt = text.split(';').next().unwrap_or("").trim();
                            let size = usize::from_str_radix(size_txt, 16).map_err(|_| {
                                HttpClientError::BadChunk(format!(
                                    "chunk size line {text:?}; expected hex digits"
                                ))
                            })?;
                            if size == 0 {
                                ChunkState::Trailer
                            } else {
                                if self.body.len().saturating_add(size) > self.limit {
                                    return Err(HttpClientError::BodyTooLarge {
                                        limit: self.limit,
                                    });
                                }
                                ChunkState::Data(size)
                            }
                        }
                        ChunkState::DataEnd => {
                            if !line.is_empty() {
                                return Err(HttpClientError::BadChunk(
                                    "chunk data not followed by CRLF".into(),
                                ));
                            }
                            ChunkState::Size
                        }
                        _ => {
                            if line.is_empty() {
                                ChunkState::Done
                            } else {
                                ChunkState::Trailer
                            }
                        }
                    };
                }
                ChunkState::Data(rest) => {
                    let n = rest.min(data.len());
                    self.body.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    self.state = if n == rest {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(rest - n)
                    };
                }
                ChunkState::Done => {}
            }
        }
        Ok(self.state == ChunkState::Done)
    }

    fn push_line(&mut self, part: &[u8]) -> Result<(), HttpClientError> {
        if self.line.len() + part.len() > MAX_CHUNK_LINE {
            return Err(HttpClientError::BadChunk(format!(
                "a chunk-size or trailer line longer than {MAX_CHUNK_LINE} bytes"
            )));
        }
        self.line.extend_from_slice(part);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_in_any_split() {
        let wire =
            b"4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nrest";
        for split in 1..wire.len() {
            let mut d = ChunkedDecoder::new(1000);
            let mut done = false;
            for part in wire.chunks(split) {
                done = d.feed(part).unwrap();
                if done {
                    break;
                }
            }
            assert!(done, "split {split}");
            assert_eq!(d.body, b"Wikipedia in\r\n\r\nchunks.");
        }
    }

    #[test]
    fn chunked_limits() {
        let mut d = ChunkedDecoder::new(10);
        assert!(matches!(
            d.feed(b"b\r\n"),
            Err(HttpClientError::BodyTooLarge { .. })
        ));
        let mut d = ChunkedDecoder::new(10);
        assert!(matches!(
            d.feed(b"zz\r\n"),
            Err(HttpClientError::BadChunk(_))
        ));
        let mut d = ChunkedDecoder::new(10);
        assert!(matches!(
            d.feed(&[b'1'; 2000]),
            Err(HttpClientError::BadChunk(_))
        ));
    }

    #[test]
    fn endpoint_and_request_bytes() {
        let ep = Endpoint::parse_http("http://127.0.0.1:8080/@vite/client?x=1").unwrap();
        assert_eq!(ep.resource, "/@vite/client?x=1");
        let mut r = HttpRequest::get("http://127.0.0.1:8080/");
        r.headers.push(("accept".into(), "text/html".into()));
        let s = String::from_utf8(r.to_bytes(&ep)).unwrap();
        assert!(s.starts_with("GET /@vite/client?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert!(s.contains("accept: text/html\r\n") && !s.contains("Accept: */*"));
        assert!(Endpoint::parse_http("ws://127.0.0.1/").is_err());
        let remote = Endpoint::parse_http("http://192.0.2.1/").unwrap();
        assert!(matches!(
            remote.resolve(),
            Err(HttpClientError::NotLoopback(_))
        ));
    }
}
