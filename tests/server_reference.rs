//! The reference server, driven by an independent client (tungstenite) and by raw bytes with
//! our codec; one test per fault switch showing that it changes what a client observes.
//!
//! Byte-level conversations run on the in-memory pair (`common::pair`) under paused time, so
//! waiting out a silence costs nothing; what needs a socket (the listener, shutdown, many
//! concurrent clients, the suite, tungstenite) runs over 127.0.0.1.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use wsspec::codec::close::close_payload;
use wsspec::codec::frame::{encode_frame, FrameHeader, LengthEncoding, OpCode, Status};
use wsspec::codec::handshake::{ClientRequest, HandshakeError};
use wsspec::codec::http::{parse_response, HeadLimits, ResponseHead};
use wsspec::codec::mask::apply_mask;
use wsspec::codec::message::Limits;
use wsspec::server::{bind, Faults, RunningServer, ServerConfig};

const LOCAL: &str = "127.0.0.1:0";
/// Silence after which a reader concludes that nothing more is coming.
const QUIET: Duration = Duration::from_millis(500);
/// Silence after a close frame after which the server is taken to keep TCP open.
const AFTER_CLOSE: Duration = Duration::from_secs(2);
/// Upper bound for any single conversation.
const CAP: Duration = Duration::from_secs(10);

async fn start(cfg: ServerConfig) -> RunningServer {
    bind(LOCAL.parse().unwrap(), cfg).await.unwrap()
}

fn faulty(names: &str) -> ServerConfig {
    ServerConfig::with_faults(Faults::parse(names).unwrap())
}

/// One masked frame as a client sends it.
fn cf(op: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(
        &FrameHeader::new(op, fin, payload.len() as u64, Some(rand::random())),
        payload,
        &mut out,
    );
    out
}

fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    cf(OpCode::Close, true, &close_payload(code, reason))
}

/// What a client saw, frame by frame.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Obs {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// Close frame with its code (None for an empty payload).
    Close(Option<u16>),
    Other(u8),
    /// The server closed TCP (FIN).
    Eof,
    /// The connection was reset.
    Reset,
    /// Nothing arrived for [`QUIET`].
    Quiet,
}

/// A raw frame as received: header plus unmasked payload.
#[derive(Debug, Clone)]
struct RawFrame {
    header: FrameHeader,
    payload: Vec<u8>,
}

impl RawFrame {
    fn obs(&self) -> Obs {
        let p = self.payload.clone();
        match self.header.opcode {
            OpCode::Text => Obs::Text(p),
            OpCode::Binary => Obs::Binary(p),
            OpCode::Ping => Obs::Ping(p),
            OpCode::Pong => Obs::Pong(p),
            OpCode::Close if p.len() >= 2 => Obs::Close(Some(u16::from_be_bytes([p[0], p[1]]))),
            OpCode::Close => Obs::Close(None),
            other => Obs::Other(other.as_u8()),
        }
    }
}

/// Decodes a header without judging it (the server under a fault sends illegal frames, and
/// the codec's parser rightly refuses those).
fn raw_header(b: &[u8]) -> Option<(FrameHeader, usize)> {
    let (b0, b1) = (*b.first()?, *b.get(1)?);
    let (len_bytes, encoding) = match b1 & 0x7f {
        126 => (2, LengthEncoding::U16),
        127 => (8, LengthEncoding::U64),
        _ => (0, LengthEncoding::Short),
    };
    let masked = b1 & 0x80 != 0;
    let n = 2 + len_bytes + if masked { 4 } else { 0 };
    if b.len() < n {
        return None;
    }
    let payload_len = match encoding {
        LengthEncoding::Short => (b1 & 0x7f) as u64,
        _ => b[2..2 + len_bytes]
            .iter()
            .fold(0u64, |acc, &x| (acc << 8) | x as u64),
    };
    let mask = masked.then(|| {
        let k = 2 + len_bytes;
        [b[k], b[k + 1], b[k + 2], b[k + 3]]
    });
    let header = FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 7,
        opcode: OpCode::from_u8(b0),
        mask,
        payload_len,
        length_encoding: encoding,
    };
    Some((header, n))
}

/// What a [`Raw`] client talks over: TCP or one end of the in-memory pair.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Raw {
    s: Box<dyn Io>,
    buf: Vec<u8>,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            s: Box::new(TcpStream::connect(addr).await.unwrap()),
            buf: Vec::new(),
        }
    }

    /// A client of the reference server with `cfg` over the in-memory pair.
    fn pair(cfg: ServerConfig) -> Raw {
        let (io, _server) = common::pair::serve(cfg);
        Raw {
            s: Box::new(io),
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).await.unwrap();
    }

    /// Reads an HTTP response head (bounded by [`CAP`]).
    async fn response(&mut self) -> ResponseHead {
        let deadline = Instant::now() + CAP;
        loop {
            if let Status::Complete(h, n) =
                parse_response(&self.buf, HeadLimits::default()).expect("HTTP response")
            {
                self.buf.drain(..n);
                return h;
            }
            let mut tmp = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.s.read(&mut tmp))
                .await
                .expect("response in time")
                .unwrap();
            assert!(n > 0, "EOF before the response head ended");
            self.buf.extend_from_slice(&tmp[..n]);
        }
    }

    /// Opens a WebSocket with a conforming request; panics unless the server accepts it.
    async fn upgraded(mut self) -> Raw {
        let req = ClientRequest::new("127.0.0.1", "/");
        self.send(&req.to_bytes()).await;
        let head = self.response().await;
        req.validate_response(&head).expect("valid 101");
        self
    }

    async fn open(addr: SocketAddr) -> Raw {
        Raw::connect(addr).await.upgraded().await
    }

    /// An upgraded client of the reference server with `faults` over the in-memory pair.
    async fn open_pair(faults: &str) -> Raw {
        Raw::pair(faulty(faults)).upgraded().await
    }

    /// The next frame, or the end of the stream, within `wait`.
    async fn next(&mut self, wait: Duration) -> Result<RawFrame, Obs> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some((h, n)) = raw_header(&self.buf) {
                let len = h.payload_len as usize;
                if self.buf.len() >= n + len {
                    let mut payload = self.buf[n..n + len].to_vec();
                    if let Some(k) = h.mask {
                        apply_mask(&mut payload, k, 0);
                    }
                    self.buf.drain(..n + len);
                    return Ok(RawFrame { header: h, payload });
                }
            }
            let mut tmp = [0u8; 65536];
            match tokio::time::timeout_at(deadline, self.s.read(&mut tmp)).await {
                Err(_) => return Err(Obs::Quiet),
                Ok(Ok(0)) => return Err(Obs::Eof),
                Ok(Err(_)) => return Err(Obs::Reset),
                Ok(Ok(n)) => self.buf.extend_from_slice(&tmp[..n]),
            }
        }
    }

    /// Everything until EOF or silence; the last element is `Eof`, `Reset` or `Quiet`.
    async fn observe(&mut self) -> Vec<Obs> {
        let end = Instant::now() + CAP;
        let mut v: Vec<Obs> = Vec::new();
        while Instant::now() < end {
            // Generous waits where something must come (the first answer, the FIN after a
            // close) keep a loaded machine from turning a slow answer into a false `Quiet`.
            let wait = match v.last() {
                None => CAP,
                Some(Obs::Close(_)) => AFTER_CLOSE,
                Some(_) => QUIET,
            };
            match self.next(wait).await {
                Ok(f) => v.push(f.obs()),
                Err(o) => {
                    v.push(o);
                    return v;
                }
            }
        }
        panic!("conversation exceeded {CAP:?}: {v:?}");
    }
}

/// Sends `wire` after the handshake to a server with `faults` and records the answer.
async fn converse(faults: &str, wire: &[u8]) -> Vec<Obs> {
    let mut c = Raw::open_pair(faults).await;
    c.send(wire).await;
    c.observe().await
}

/// The strict server's and the faulty server's answers to the same bytes; asserts they differ.
async fn contrast(fault: &str, wire: &[u8]) -> (Vec<Obs>, Vec<Obs>) {
    let strict = converse("", wire).await;
    let faulty = converse(fault, wire).await;
    assert_ne!(strict, faulty, "fault {fault} changed nothing");
    (strict, faulty)
}

// ---------------------------------------------------------------------------------------
// An independent client
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn tungstenite_echo_ping_close() {
    use tungstenite::protocol::frame::coding::CloseCode;
    use tungstenite::protocol::CloseFrame;
    use tungstenite::Message;

    let server = start(ServerConfig::default()).await;
    let url = server.url();
    let joined = tokio::task::spawn_blocking(move || {
        let (mut ws, resp) = tungstenite::connect(url.as_str()).expect("handshake");
        assert_eq!(resp.status().as_u16(), 101);
        let server_name = resp
            .headers()
            .get("server")
            .map(|v| v.to_str().unwrap().to_owned());
        ws.send(Message::text("Hello, κόσμε")).unwrap();
        let text = ws.read().unwrap();
        ws.send(Message::binary(vec![0u8, 0xfe, 0xff])).unwrap();
        let bin = ws.read().unwrap();
        ws.send(Message::Ping(b"are you there".to_vec().into()))
            .unwrap();
        let pong = ws.read().unwrap();
        let big = "x".repeat(200_000);
        ws.send(Message::text(big.clone())).unwrap();
        let big_echo = ws.read().unwrap();
        ws.close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "done".into(),
        }))
        .unwrap();
        let close = ws.read().unwrap();
        let after = ws.read();
        (
            server_name,
            text,
            bin,
            pong,
            big_echo == Message::text(big),
            close,
            after,
        )
    })
    .await
    .unwrap();
    let (server_name, text, bin, pong, big_ok, close, after) = joined;
    assert!(server_name.unwrap().starts_with("wsspec-reference"));
    assert_eq!(text, Message::text("Hello, κόσμε"));
    assert_eq!(bin, Message::binary(vec![0u8, 0xfe, 0xff]));
    assert_eq!(pong, Message::Pong(b"are you there".to_vec().into()));
    assert!(big_ok, "200 KB text echo differs");
    match close {
        Message::Close(Some(f)) => assert_eq!(u16::from(f.code), 1001),
        other => panic!("expected the close echo, got {other:?}"),
    }
    assert!(
        matches!(after, Err(tungstenite::Error::ConnectionClosed)),
        "{after:?}"
    );
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------

async fn handshake_status(cfg: ServerConfig, req: ClientRequest) -> ResponseHead {
    let mut c = Raw::pair(cfg);
    c.send(&req.to_bytes()).await;
    c.response().await
}

#[tokio::test(start_paused = true)]
async fn version_99_gets_426_with_version_header() {
    let mut req = ClientRequest::new("127.0.0.1", "/");
    req.version = Some("99".into());
    let head = handshake_status(ServerConfig::default(), req).await;
    assert_eq!(head.status, 426);
    assert_eq!(
        head.headers.get_str("sec-websocket-version").as_deref(),
        Some("13")
    );
}

#[tokio::test(start_paused = true)]
async fn other_handshake_errors_get_400_or_405() {
    let mut post = ClientRequest::new("127.0.0.1", "/");
    post.method = "POST".into();
    assert_eq!(
        handshake_status(ServerConfig::default(), post).await.status,
        405
    );
    let mut no_key = ClientRequest::new("127.0.0.1", "/");
    no_key.key = "short".into();
    assert_eq!(
        handshake_status(ServerConfig::default(), no_key)
            .await
            .status,
        400
    );
    let mut no_upgrade = ClientRequest::new("127.0.0.1", "/");
    no_upgrade.upgrade = None;
    assert_eq!(
        handshake_status(ServerConfig::default(), no_upgrade)
            .await
            .status,
        400
    );
}

#[tokio::test(start_paused = true)]
async fn garbage_request_gets_400_and_oversized_head_431() {
    let mut c = Raw::pair(ServerConfig::default());
    c.send(b"\x16\x03\x01 not http at all\r\n\r\n").await;
    assert_eq!(c.response().await.status, 400);
    let mut c = Raw::pair(ServerConfig::default());
    let mut big = b"GET / HTTP/1.1\r\n".to_vec();
    while big.len() < 40_000 {
        big.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    // The server stops reading at its limit; a write error on our side is acceptable.
    let _ = c.s.write_all(&big).await;
    assert_eq!(c.response().await.status, 431);
}

#[tokio::test(start_paused = true)]
async fn silent_client_is_dropped_after_handshake_timeout() {
    let cfg = ServerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let mut c = Raw::pair(cfg);
    let t0 = Instant::now();
    assert_eq!(c.response().await.status, 408);
    // Virtual time: the timeout is exact, not merely bounded.
    assert_eq!(t0.elapsed(), Duration::from_millis(300));
    assert_eq!(c.next(Duration::from_secs(3)).await.unwrap_err(), Obs::Eof);
}

#[tokio::test(start_paused = true)]
async fn subprotocol_is_first_offered_supported_and_no_extension() {
    let cfg = || ServerConfig {
        subprotocols: vec!["a".into(), "b".into()],
        ..ServerConfig::default()
    };
    let req = ClientRequest::new("127.0.0.1", "/")
        .protocol("zzz")
        .protocol("b")
        .protocol("a")
        .extension("permessage-deflate; client_max_window_bits");
    let head = handshake_status(cfg(), req.clone()).await;
    let accepted = req.validate_response(&head).unwrap();
    assert_eq!(accepted.protocol.as_deref(), Some("b"));
    assert!(accepted.extensions.is_empty());
    let none = ClientRequest::new("127.0.0.1", "/").protocol("zzz");
    let head = handshake_status(cfg(), none.clone()).await;
    assert_eq!(none.validate_response(&head).unwrap().protocol, None);
}

// ---------------------------------------------------------------------------------------
// Framing and closing, raw
// ---------------------------------------------------------------------------------------

/// The wsspec peer on the in-memory pair: two minutes of silence cost no real time.
#[tokio::test(start_paused = true)]
async fn idle_connection_is_closed_with_1001_after_the_idle_timeout() {
    use wsspec::codec::message::Event;
    use wsspec::peer::{ConnectOptions, PeerEvent};

    let mut p = common::pair::connect(ServerConfig::default(), &ConnectOptions::default()).await;
    assert!(p.outcome.is_upgraded(), "{}", p.outcome.describe());
    let t0 = Instant::now();
    let deadline = common::pair::within(Duration::from_secs(600));
    match p.peer.recv(deadline).await {
        PeerEvent::Frame { frame, .. } => assert_eq!(
            frame.event,
            Some(Event::Close(Some((1001, "idle timeout".into()))))
        ),
        other => panic!("expected the idle close, got {other:?}"),
    }
    let idle = ServerConfig::default().idle_timeout;
    assert!(t0.elapsed() >= idle && t0.elapsed() < idle + Duration::from_secs(1));
    assert!(matches!(p.peer.recv(deadline).await, PeerEvent::Eof { .. }));
    p.server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn unmasked_frame_gets_1002_then_eof() {
    let mut unmasked = Vec::new();
    encode_frame(
        &FrameHeader::new(OpCode::Text, true, 5, None),
        b"Hello",
        &mut unmasked,
    );
    let obs = converse("", &unmasked).await;
    assert_eq!(obs, vec![Obs::Close(Some(1002)), Obs::Eof]);
}

#[tokio::test(start_paused = true)]
async fn invalid_utf8_split_across_writes_fails_before_the_rest_arrives() {
    // 6.4.4 shape: κόσμε + f4 | 90 | 80 80 "edited", in one frame announcing 21 bytes.
    let payload: Vec<u8> = [
        &[
            0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4,
        ][..],
        &[0x90],
        &[0x80, 0x80],
        b"edited",
    ]
    .concat();
    let wire = cf(OpCode::Text, true, &payload);
    let head = wire.len() - payload.len();
    let mut c = Raw::open_pair("").await;
    c.send(&wire[..head + 12]).await;
    assert_eq!(
        c.next(QUIET).await.unwrap_err(),
        Obs::Quiet,
        "must wait: f4 can still start a valid sequence"
    );
    c.send(&wire[head + 12..head + 13]).await;
    let f = c
        .next(Duration::from_secs(2))
        .await
        .expect("close after 0x90");
    assert_eq!(f.obs(), Obs::Close(Some(1007)));
    assert_eq!(c.next(Duration::from_secs(2)).await.unwrap_err(), Obs::Eof);
}

#[tokio::test(start_paused = true)]
async fn invalid_utf8_in_a_fragment_fails_before_the_message_ends() {
    // 6.4.1 shape: the fragment with f4 90 80 80 must fail at once, without the final frame.
    let wire = [
        cf(OpCode::Text, false, &[0xce, 0xba, 0xe1, 0xbd, 0xb9]),
        cf(OpCode::Continuation, false, &[0xf4, 0x90, 0x80, 0x80]),
    ]
    .concat();
    assert_eq!(
        converse("", &wire).await,
        vec![Obs::Close(Some(1007)), Obs::Eof]
    );
}

#[tokio::test(start_paused = true)]
async fn valid_message_before_a_bad_frame_is_echoed_and_later_ping_ignored() {
    // 3.2 / 4.1.3 shapes: echo, then 1002, and the ping after the bad frame gets no pong.
    let mut bad = FrameHeader::new(OpCode::Text, true, 5, Some([1, 2, 3, 4]));
    bad.rsv = 2;
    let mut rsv = Vec::new();
    encode_frame(&bad, b"Hello", &mut rsv);
    for bad_frame in [rsv, cf(OpCode::Reserved(5), true, b"")] {
        let wire = [
            cf(OpCode::Text, true, b"Hello"),
            bad_frame,
            cf(OpCode::Ping, true, b""),
        ]
        .concat();
        assert_eq!(
            converse("", &wire).await,
            vec![
                Obs::Text(b"Hello".to_vec()),
                Obs::Close(Some(1002)),
                Obs::Eof
            ]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn sixteen_mib_message_in_small_chops_is_echoed_whole() {
    // 9.1.6 / 9.5 shape: one 16 MiB text frame written in 64 KiB pieces.
    let payload: Vec<u8> = b"BAsd7&jh23"
        .iter()
        .copied()
        .cycle()
        .take(16 << 20)
        .collect();
    let wire = cf(OpCode::Text, true, &payload);
    let mut c = Raw::open_pair("").await;
    let writer = {
        let (mut r, mut w) = tokio::io::split(c.s);
        let t = tokio::spawn(async move {
            for piece in wire.chunks(64 * 1024) {
                w.write_all(piece).await.unwrap();
            }
            w
        });
        let mut buf = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut tmp = vec![0u8; 1 << 16];
        while buf.len() < payload.len() + 10 {
            let n = tokio::time::timeout_at(deadline, r.read(&mut tmp))
                .await
                .expect("echo in time")
                .unwrap();
            assert!(n > 0, "EOF during echo");
            buf.extend_from_slice(&tmp[..n]);
        }
        let w = t.await.unwrap();
        c.s = Box::new(r.unsplit(w));
        buf
    };
    let (h, n) = raw_header(&writer).unwrap();
    assert_eq!(h.opcode, OpCode::Text);
    assert_eq!(h.payload_len, payload.len() as u64);
    assert!(h.mask.is_none());
    assert!(writer[n..] == payload[..], "echo differs");
    c.send(&close_frame(1000, b"")).await;
    assert_eq!(c.observe().await, vec![Obs::Close(Some(1000)), Obs::Eof]);
}

#[tokio::test(start_paused = true)]
async fn close_is_echoed_and_server_closes_tcp() {
    let cases: Vec<(Vec<u8>, Obs)> = vec![
        (close_frame(3000, b"bye"), Obs::Close(Some(3000))),
        (close_frame(1000, b""), Obs::Close(Some(1000))),
        (cf(OpCode::Close, true, b""), Obs::Close(None)),
        (cf(OpCode::Close, true, b"a"), Obs::Close(Some(1002))),
        (close_frame(1005, b""), Obs::Close(Some(1002))),
        (close_frame(999, b""), Obs::Close(Some(1002))),
        (close_frame(5000, b""), Obs::Close(Some(1002))),
        (
            close_frame(1000, &[0xce, 0xba, 0xed, 0xa0, 0x80]),
            Obs::Close(Some(1007)),
        ),
    ];
    for (wire, expect) in cases {
        let t0 = Instant::now();
        let obs = converse("", &wire).await;
        assert_eq!(obs, vec![expect, Obs::Eof], "for {wire:02x?}");
        assert!(t0.elapsed() < Duration::from_secs(2), "TCP close was slow");
    }
}

#[tokio::test(start_paused = true)]
async fn after_close_data_and_pings_are_ignored() {
    // 7.1.3 / 7.1.4 / 7.1.5 shapes in one write.
    let wire = [
        cf(OpCode::Text, false, b"fragment1"),
        close_frame(1000, b""),
        cf(OpCode::Ping, true, b""),
        cf(OpCode::Text, true, b"Hello World!"),
        cf(OpCode::Continuation, true, b"fragment2"),
    ]
    .concat();
    assert_eq!(
        converse("", &wire).await,
        vec![Obs::Close(Some(1000)), Obs::Eof]
    );
}

#[tokio::test(start_paused = true)]
async fn ten_pings_get_ten_pongs_in_order_and_fragments_interleave() {
    let mut wire = Vec::new();
    for i in 0..10 {
        wire.extend(cf(OpCode::Ping, true, format!("payload-{i}").as_bytes()));
    }
    wire.extend(cf(OpCode::Text, false, b"fragment1"));
    wire.extend(cf(OpCode::Ping, true, b"ping payload"));
    wire.extend(cf(OpCode::Continuation, true, b"fragment2"));
    wire.extend(cf(OpCode::Binary, true, &[0xfe; 300]));
    let mut expect: Vec<Obs> = (0..10)
        .map(|i| Obs::Pong(format!("payload-{i}").into_bytes()))
        .collect();
    expect.push(Obs::Pong(b"ping payload".to_vec()));
    expect.push(Obs::Text(b"fragment1fragment2".to_vec()));
    expect.push(Obs::Binary(vec![0xfe; 300]));
    expect.push(Obs::Quiet);
    assert_eq!(converse("", &wire).await, expect);
}

#[tokio::test(start_paused = true)]
async fn protocol_errors_fail_with_1002() {
    let cases: Vec<Vec<u8>> = vec![
        {
            let mut h = FrameHeader::new(OpCode::Text, true, 2, Some([1, 2, 3, 4]));
            h.rsv = 1;
            let mut v = Vec::new();
            encode_frame(&h, b"hi", &mut v);
            v
        },
        cf(OpCode::Reserved(3), true, b""),
        cf(OpCode::Reserved(0xb), true, b""),
        cf(OpCode::Ping, false, b"fragment1"),
        cf(OpCode::Ping, true, &[0xfe; 126]),
        cf(OpCode::Continuation, true, b"non-continuation payload"),
        [
            cf(OpCode::Text, false, b"fragment1"),
            cf(OpCode::Text, true, b"fragment2"),
        ]
        .concat(),
    ];
    for wire in cases {
        let obs = converse("", &wire).await;
        assert_eq!(obs, vec![Obs::Close(Some(1002)), Obs::Eof], "{wire:02x?}");
    }
}

#[tokio::test(start_paused = true)]
async fn message_over_the_limit_gets_1009() {
    let cfg = ServerConfig {
        limits: Limits {
            max_message_size: 1000,
            max_frame_size: 1000,
        },
        ..ServerConfig::default()
    };
    let mut c = Raw::pair(cfg).upgraded().await;
    c.send(&cf(OpCode::Binary, false, &[1; 600])).await;
    c.send(&cf(OpCode::Continuation, true, &[1; 600])).await;
    assert_eq!(c.observe().await, vec![Obs::Close(Some(1009)), Obs::Eof]);
}

#[tokio::test]
async fn shutdown_closes_open_connections_with_1001_and_stops_accepting() {
    let server = start(ServerConfig::default()).await;
    let addr = server.local_addr;
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(Raw::open(addr).await);
    }
    timeout(Duration::from_secs(5), server.shutdown())
        .await
        .expect("shutdown is bounded");
    for mut c in clients {
        assert_eq!(c.observe().await, vec![Obs::Close(Some(1001)), Obs::Eof]);
    }
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

#[tokio::test]
async fn many_servers_and_many_concurrent_clients() {
    let mut servers = Vec::new();
    for _ in 0..8 {
        servers.push(start(ServerConfig::default()).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, s) in servers.iter().enumerate() {
        for j in 0..16 {
            let addr = s.local_addr;
            tasks.spawn(async move {
                let mut c = Raw::open(addr).await;
                let msg = format!("server {i} client {j}");
                c.send(&cf(OpCode::Text, true, msg.as_bytes())).await;
                let f = c.next(CAP).await.expect("echo");
                assert_eq!(f.obs(), Obs::Text(msg.into_bytes()));
                c.send(&close_frame(1000, b"")).await;
                assert_eq!(c.observe().await, vec![Obs::Close(Some(1000)), Obs::Eof]);
            });
        }
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    assert_eq!(servers[0].connections_accepted(), 16);
    for s in servers {
        s.shutdown().await;
    }
}

// ---------------------------------------------------------------------------------------
// Fault switches: one observable difference each
// ---------------------------------------------------------------------------------------

async fn faulty_handshake(fault: &str, req: ClientRequest) -> ResponseHead {
    handshake_status(faulty(fault), req).await
}

#[tokio::test(start_paused = true)]
async fn fault_wrong_accept_key() {
    let req = ClientRequest::new("127.0.0.1", "/");
    let head = faulty_handshake("wrong_accept_key", req.clone()).await;
    assert!(matches!(
        req.validate_response(&head),
        Err(HandshakeError::AcceptMismatch { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn fault_select_unoffered_protocol() {
    let req = ClientRequest::new("127.0.0.1", "/");
    let head = faulty_handshake("select_unoffered_protocol", req.clone()).await;
    assert!(matches!(
        req.validate_response(&head),
        Err(HandshakeError::ProtocolNotOffered(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn fault_accept_unoffered_extension() {
    let req = ClientRequest::new("127.0.0.1", "/");
    let head = faulty_handshake("accept_unoffered_extension", req.clone()).await;
    assert!(matches!(
        req.validate_response(&head),
        Err(HandshakeError::ExtensionNotOffered(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn fault_accept_any_version() {
    let mut req = ClientRequest::new("127.0.0.1", "/");
    req.version = Some("99".into());
    assert_eq!(
        faulty_handshake("accept_any_version", req).await.status,
        101
    );
}

/// A row of [`one_write_faults`].
type FaultRow = (&'static str, Vec<u8>, Option<Vec<Obs>>, Vec<Obs>);

/// The faults whose whole effect is a different answer to one write after the handshake:
/// (fault, the bytes sent, the strict server's answer where it is worth pinning, the faulty
/// server's answer). Each row must also differ from the strict server's answer.
fn one_write_faults() -> Vec<FaultRow> {
    let unmasked = {
        let mut v = Vec::new();
        encode_frame(
            &FrameHeader::new(OpCode::Text, true, 2, None),
            b"hi",
            &mut v,
        );
        v
    };
    let rsv1 = {
        let mut h = FrameHeader::new(OpCode::Text, true, 2, Some([9, 8, 7, 6]));
        h.rsv = 4;
        let mut v = Vec::new();
        encode_frame(&h, b"hi", &mut v);
        v
    };
    let bad_utf8 = [0xce, 0xba, 0xed, 0xa0, 0x80];
    let text_t = cf(OpCode::Text, true, b"t");
    let echo_t = || vec![Obs::Text(b"t".to_vec()), Obs::Quiet];
    let normal_close = close_frame(1000, b"");
    vec![
        (
            "accept_unmasked_frames",
            unmasked,
            None,
            vec![Obs::Text(b"hi".to_vec()), Obs::Quiet],
        ),
        (
            "accept_rsv_bits",
            rsv1,
            None,
            vec![Obs::Text(b"hi".to_vec()), Obs::Quiet],
        ),
        (
            "accept_reserved_opcodes",
            [
                cf(OpCode::Reserved(5), true, b"x"),
                cf(OpCode::Reserved(0xd), true, b""),
                cf(OpCode::Ping, true, b""),
            ]
            .concat(),
            None,
            vec![Obs::Pong(vec![]), Obs::Quiet],
        ),
        (
            "accept_fragmented_control",
            cf(OpCode::Ping, false, b"fragment1"),
            None,
            vec![Obs::Pong(b"fragment1".to_vec()), Obs::Quiet],
        ),
        (
            "accept_long_control",
            cf(OpCode::Ping, true, &[0xfe; 126]),
            None,
            vec![Obs::Pong(vec![0xfe; 126]), Obs::Quiet],
        ),
        (
            "ignore_fragmentation_errors",
            [
                cf(OpCode::Continuation, true, b"non-continuation payload"),
                cf(OpCode::Text, true, b"Hello, world!"),
            ]
            .concat(),
            None,
            vec![Obs::Text(b"Hello, world!".to_vec()), Obs::Quiet],
        ),
        (
            "no_utf8_validation",
            cf(OpCode::Text, true, &bad_utf8),
            Some(vec![Obs::Close(Some(1007)), Obs::Eof]),
            vec![Obs::Text(bad_utf8.to_vec()), Obs::Quiet],
        ),
        (
            "utf8_error_close_1002",
            cf(OpCode::Text, true, &[0xff]),
            None,
            vec![Obs::Close(Some(1002)), Obs::Eof],
        ),
        (
            "no_pong",
            [cf(OpCode::Ping, true, b"abc"), text_t.clone()].concat(),
            Some(vec![
                Obs::Pong(b"abc".to_vec()),
                Obs::Text(b"t".to_vec()),
                Obs::Quiet,
            ]),
            echo_t(),
        ),
        // FIN right after the 101: the frame is never answered.
        (
            "half_close_after_upgrade",
            text_t.clone(),
            Some(echo_t()),
            vec![Obs::Eof],
        ),
        (
            "close_reply_1001",
            normal_close.clone(),
            None,
            vec![Obs::Close(Some(1001)), Obs::Eof],
        ),
        ("no_close_reply", normal_close.clone(), None, vec![Obs::Eof]),
        (
            "keep_tcp_open_after_close",
            normal_close.clone(),
            Some(vec![Obs::Close(Some(1000)), Obs::Eof]),
            vec![Obs::Close(Some(1000)), Obs::Quiet],
        ),
        (
            "accept_invalid_close_codes",
            close_frame(1005, b""),
            None,
            vec![Obs::Close(Some(1005)), Obs::Eof],
        ),
        (
            "accept_1byte_close",
            cf(OpCode::Close, true, b"a"),
            None,
            vec![Obs::Close(Some(1000)), Obs::Eof],
        ),
        (
            "accept_invalid_close_reason",
            close_frame(1000, &bad_utf8),
            None,
            vec![Obs::Close(Some(1000)), Obs::Eof],
        ),
        (
            "respond_after_close",
            [
                normal_close,
                cf(OpCode::Ping, true, b"late"),
                cf(OpCode::Text, true, b"Hello World!"),
            ]
            .concat(),
            None,
            vec![
                Obs::Close(Some(1000)),
                Obs::Pong(b"late".to_vec()),
                Obs::Text(b"Hello World!".to_vec()),
                Obs::Eof,
            ],
        ),
    ]
}

#[tokio::test(start_paused = true)]
async fn one_write_faults_change_the_answer() {
    let mut wrong = Vec::new();
    for (fault, wire, strict_want, faulty_want) in one_write_faults() {
        let (strict, faulty) = contrast(fault, &wire).await;
        if strict_want.is_some_and(|w| w != strict) || faulty != faulty_want {
            wrong.push(format!(
                "{fault}: strict {strict:?}, faulty {faulty:?} (want {faulty_want:?})"
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[tokio::test(start_paused = true)]
async fn fault_late_utf8_validation() {
    // 6.4.1 shape: the bad byte is in the second fragment; the message ends with the third.
    let mut c = Raw::open_pair("late_utf8_validation").await;
    c.send(&cf(OpCode::Text, false, &[0xce, 0xba])).await;
    c.send(&cf(OpCode::Continuation, false, &[0xf4, 0x90, 0x80, 0x80]))
        .await;
    assert_eq!(c.next(QUIET).await.unwrap_err(), Obs::Quiet);
    c.send(&cf(OpCode::Continuation, true, b"edited")).await;
    assert_eq!(c.observe().await, vec![Obs::Close(Some(1007)), Obs::Eof]);
}

#[tokio::test(start_paused = true)]
async fn fault_frame_utf8_validation() {
    // 6.4.3 shape: one streamed frame; strict fails inside it, this fault only at its end.
    let payload: Vec<u8> = [&[0xce, 0xba, 0xf4, 0x90][..], b"edited"].concat();
    let wire = cf(OpCode::Text, false, &payload);
    let head = wire.len() - payload.len();
    let mut c = Raw::open_pair("frame_utf8_validation").await;
    c.send(&wire[..head + 4]).await;
    assert_eq!(c.next(QUIET).await.unwrap_err(), Obs::Quiet);
    c.send(&wire[head + 4..]).await;
    assert_eq!(c.observe().await, vec![Obs::Close(Some(1007)), Obs::Eof]);
    // The strict server has already failed after the first write.
    let strict = converse("", &wire[..head + 4]).await;
    assert_eq!(strict, vec![Obs::Close(Some(1007)), Obs::Eof]);
}

#[tokio::test(start_paused = true)]
async fn fault_pong_wrong_payload() {
    let wire = [cf(OpCode::Ping, true, b"abc"), cf(OpCode::Ping, true, b"")].concat();
    let (_, faulty) = contrast("pong_wrong_payload", &wire).await;
    assert_eq!(faulty.len(), 3);
    assert!(!faulty.contains(&Obs::Pong(b"abc".to_vec())));
    assert!(!faulty.contains(&Obs::Pong(vec![])));
}

#[tokio::test(start_paused = true)]
async fn fault_answer_pongs() {
    let wire = [cf(OpCode::Pong, true, b"abc"), cf(OpCode::Text, true, b"t")].concat();
    let (strict, faulty) = contrast("answer_pongs", &wire).await;
    // RFC 6455 §5.5.3: an unsolicited pong needs no answer.
    assert_eq!(strict, vec![Obs::Text(b"t".to_vec()), Obs::Quiet]);
    assert_eq!(faulty[0], Obs::Pong(b"abc".to_vec()));
    assert!(faulty.contains(&Obs::Text(b"t".to_vec())), "{faulty:?}");
}

#[tokio::test(start_paused = true)]
async fn fault_ping_client() {
    let (strict, faulty) = contrast("ping_client", &cf(OpCode::Text, true, b"t")).await;
    assert_eq!(strict, vec![Obs::Text(b"t".to_vec()), Obs::Quiet]);
    // Legal (§5.5.2): pings, and the echo still arrives.
    assert!(matches!(faulty.first(), Some(Obs::Ping(_))), "{faulty:?}");
    assert!(faulty.contains(&Obs::Text(b"t".to_vec())), "{faulty:?}");
}

#[tokio::test(start_paused = true)]
async fn fault_mask_server_frames() {
    for (fault, masked) in [("", false), ("mask_server_frames", true)] {
        let mut c = Raw::open_pair(fault).await;
        c.send(&cf(OpCode::Text, true, b"hi")).await;
        let f = c.next(CAP).await.unwrap();
        assert_eq!(f.obs(), Obs::Text(b"hi".to_vec()));
        assert_eq!(f.header.mask.is_some(), masked, "fault {fault:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn fault_non_minimal_lengths() {
    for (fault, enc) in [
        ("", LengthEncoding::Short),
        ("non_minimal_lengths", LengthEncoding::U64),
    ] {
        let mut c = Raw::open_pair(fault).await;
        c.send(&cf(OpCode::Text, true, b"hi")).await;
        let f = c.next(CAP).await.unwrap();
        assert_eq!(f.obs(), Obs::Text(b"hi".to_vec()));
        assert_eq!(f.header.length_encoding, enc, "fault {fault:?}");
    }
}

#[test]
fn every_fault_has_a_test_here() {
    let src = include_str!("server_reference.rs");
    let rows = one_write_faults();
    for name in Faults::NAMES {
        assert!(
            src.contains(&format!("fn fault_{name}()")) || rows.iter().any(|r| r.0 == *name),
            "no test for fault {name}"
        );
    }
}

/// Runs the `pmd.*` check `id` (through the suite, as `wsspec run` does) against the server
/// with permessage-deflate and `fault`; its verdict.
async fn pmd_verdict(fault: &str, id: &str) -> wsspec::report::Verdict {
    let server = start(ServerConfig {
        deflate: Some(Default::default()),
        ..ServerConfig::with_faults(Faults::parse(fault).unwrap())
    })
    .await;
    let target = wsspec::peer::Target::parse(&server.url()).unwrap();
    let sel =
        wsspec::suite::select(&wsspec::suite::catalog(), &[id.to_string()], &[], false).unwrap();
    let r = wsspec::suite::run(
        &target,
        &wsspec::peer::ConnectOptions::default(),
        &sel,
        wsspec::suite::RunConfig {
            jobs: 1,
            deadline: Some(CAP * 3),
            ..Default::default()
        },
    )
    .await;
    server.shutdown().await;
    assert_eq!(r.cases.len(), 1);
    r.cases[0].verdict
}

/// Each deflate switch against the conforming server's verdict on the same check.
async fn deflate_fault_caught(fault: &str, id: &str, verdict: wsspec::report::Verdict) {
    assert_eq!(
        pmd_verdict("", id).await,
        wsspec::report::Verdict::Ok,
        "{id} without {fault}"
    );
    assert_eq!(pmd_verdict(fault, id).await, verdict, "{id} with {fault}");
}

#[tokio::test]
async fn fault_deflate_compress_control() {
    deflate_fault_caught(
        "deflate_compress_control",
        "pmd.2.1",
        wsspec::report::Verdict::Failed,
    )
    .await;
}

#[tokio::test]
async fn fault_deflate_rsv1_on_continuation() {
    deflate_fault_caught(
        "deflate_rsv1_on_continuation",
        "pmd.2.2",
        wsspec::report::Verdict::Failed,
    )
    .await;
}

#[tokio::test]
async fn fault_deflate_ignore_no_context_takeover() {
    deflate_fault_caught(
        "deflate_ignore_no_context_takeover",
        "pmd.3.1",
        wsspec::report::Verdict::Failed,
    )
    .await;
}

#[tokio::test]
async fn fault_deflate_exceed_window() {
    deflate_fault_caught(
        "deflate_exceed_window",
        "pmd.3.2",
        wsspec::report::Verdict::Failed,
    )
    .await;
}

#[tokio::test]
async fn fault_deflate_answer_unoffered() {
    deflate_fault_caught(
        "deflate_answer_unoffered",
        "pmd.1.1",
        wsspec::report::Verdict::Failed,
    )
    .await;
}

#[tokio::test]
async fn fault_deflate_two_answers() {
    deflate_fault_caught(
        "deflate_two_answers",
        "pmd.1.1",
        wsspec::report::Verdict::Failed,
    )
    .await;
}

#[tokio::test]
async fn fault_deflate_never_compress() {
    deflate_fault_caught(
        "deflate_never_compress",
        "pmd.5.1",
        wsspec::report::Verdict::NonStrict,
    )
    .await;
}
