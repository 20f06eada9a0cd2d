//! Each hostile server starts, does what it promises to a raw client, and stops by itself.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

use wsspec::codec::error::CapacityError;
use wsspec::codec::frame::{parse_header, HeaderRules, OpCode, Status};
use wsspec::codec::handshake::ClientRequest;
use wsspec::codec::http::{parse_response, HeadLimits, HttpError};
use wsspec::codec::ProtocolError;
use wsspec::server::hostile::HostileStats;
use wsspec::server::{spawn_hostile, spawn_hostile_with, Hostile, HostileHandle, HostileLimits};

/// Bound on every wait in this file.
const CAP: Duration = Duration::from_secs(10);

struct Client {
    s: TcpStream,
    req: ClientRequest,
    buf: Vec<u8>,
}

impl Client {
    /// Connects and sends a conforming upgrade request.
    async fn request(addr: SocketAddr) -> Client {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = ClientRequest::new(addr.to_string(), "/");
        s.write_all(&req.to_bytes()).await.unwrap();
        Client {
            s,
            req,
            buf: Vec::new(),
        }
    }

    /// Reads until `buf` holds at least `n` bytes; false on EOF or after `wait`.
    async fn fill(&mut self, n: usize, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let mut tmp = vec![0u8; 64 * 1024];
        while self.buf.len() < n {
            match timeout_at(deadline, self.s.read(&mut tmp)).await {
                Ok(Ok(k)) if k > 0 => self.buf.extend_from_slice(&tmp[..k]),
                _ => return false,
            }
        }
        true
    }

    /// Reads and validates a 101 response, leaving what follows in `buf`.
    async fn upgraded(&mut self) {
        loop {
            match parse_response(&self.buf, HeadLimits::default()).unwrap() {
                Status::Complete(head, n) => {
                    self.req.validate_response(&head).expect("valid 101");
                    self.buf.drain(..n);
                    return;
                }
                Status::Partial(_) => {
                    let want = self.buf.len() + 1;
                    assert!(self.fill(want, CAP).await, "101 never completed");
                }
            }
        }
    }

    /// Reads until EOF (true) or `wait` elapses (false), discarding.
    async fn until_eof(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let mut tmp = vec![0u8; 64 * 1024];
        loop {
            match timeout_at(deadline, self.s.read(&mut tmp)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => {}
                Err(_) => return false,
            }
        }
    }
}

/// The server must stop by itself once its (only) client has gone.
async fn stops_by_itself(handle: HostileHandle) -> HostileStats {
    timeout(CAP, handle.wait())
        .await
        .expect("hostile server did not stop by itself")
}

#[tokio::test]
async fn huge_frame_announces_2_pow_63_minus_1_and_trickles() {
    let (addr, handle) = spawn_hostile(Hostile::HugeFrame { top_bit_set: false })
        .await
        .unwrap();
    let mut c = Client::request(addr).await;
    c.upgraded().await;
    assert!(c.fill(10, CAP).await);
    let Status::Complete(h, n) = parse_header(&c.buf, HeaderRules::client()).unwrap() else {
        panic!("incomplete header")
    };
    assert_eq!(n, 10);
    assert_eq!(h.opcode, OpCode::Binary);
    assert_eq!(h.payload_len, (1u64 << 63) - 1);
    // Trickled: some payload arrives, but nowhere near line speed.
    c.buf.drain(..n);
    c.fill(usize::MAX, Duration::from_millis(500)).await;
    assert!(!c.buf.is_empty(), "no payload trickled");
    assert!(c.buf.len() < 200_000, "{} bytes in 0.5 s", c.buf.len());
    drop(c);
    let stats = stops_by_itself(handle).await;
    assert_eq!(stats.connections, 1);
}

#[tokio::test]
async fn huge_frame_with_top_bit_is_rejected_by_the_codec() {
    let (addr, handle) = spawn_hostile(Hostile::HugeFrame { top_bit_set: true })
        .await
        .unwrap();
    let mut c = Client::request(addr).await;
    c.upgraded().await;
    assert!(c.fill(10, CAP).await);
    assert_eq!(
        parse_header(&c.buf, HeaderRules::client()),
        Err(ProtocolError::LengthTopBitSet)
    );
    drop(c);
    stops_by_itself(handle).await;
}

#[tokio::test]
async fn endless_fragments_never_finish_and_respect_the_rate() {
    let (addr, handle) = spawn_hostile(Hostile::EndlessFragments {
        bytes_per_sec: 100_000,
    })
    .await
    .unwrap();
    let mut c = Client::request(addr).await;
    c.upgraded().await;
    let t0 = Instant::now();
    c.fill(usize::MAX, Duration::from_millis(600)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let mut frames = Vec::new();
    let mut rest = &c.buf[..];
    while let Ok(Status::Complete(h, n)) = parse_header(rest, HeaderRules::client()) {
        let end = n + h.payload_len as usize;
        if rest.len() < end {
            break;
        }
        frames.push(h);
        rest = &rest[end..];
    }
    assert!(frames.len() > 5, "only {} frames", frames.len());
    assert_eq!(frames[0].opcode, OpCode::Text);
    assert!(frames[1..].iter().all(|h| h.opcode == OpCode::Continuation));
    assert!(frames.iter().all(|h| !h.fin), "a fragment had FIN set");
    // 100 KB/s for ~0.6 s, with generous slack for scheduling.
    let limit = (100_000.0 * (elapsed + 0.3)) as usize;
    assert!(c.buf.len() <= limit, "{} bytes > {limit}", c.buf.len());
    drop(c);
    stops_by_itself(handle).await;
}

#[tokio::test]
async fn no_handshake_answer_stays_silent() {
    let (addr, handle) = spawn_hostile(Hostile::NoHandshakeAnswer).await.unwrap();
    let mut c = Client::request(addr).await;
    assert!(!c.fill(1, Duration::from_millis(700)).await);
    assert!(c.buf.is_empty(), "it answered: {:?}", c.buf);
    drop(c);
    let stats = stops_by_itself(handle).await;
    assert_eq!(stats.bytes_sent, 0);
    assert!(stats.bytes_read > 0);
}

#[tokio::test]
async fn ping_flood_sends_only_pings_fast() {
    let (addr, handle) = spawn_hostile(Hostile::PingFlood).await.unwrap();
    let mut c = Client::request(addr).await;
    c.upgraded().await;
    let t0 = Instant::now();
    assert!(c.fill(1 << 20, CAP).await);
    assert!(t0.elapsed() < Duration::from_secs(5), "flood too slow");
    let mut rest = &c.buf[..];
    let mut pings = 0;
    while let Ok(Status::Complete(h, n)) = parse_header(rest, HeaderRules::client()) {
        let end = n + h.payload_len as usize;
        if rest.len() < end {
            break;
        }
        assert_eq!(h.opcode, OpCode::Ping);
        pings += 1;
        rest = &rest[end..];
    }
    assert!(pings > 100_000, "{pings} pings in 1 MiB");
    drop(c);
    stops_by_itself(handle).await;
}

#[tokio::test]
async fn garbage_http_is_not_http_and_ends() {
    let (addr, handle) = spawn_hostile(Hostile::GarbageHttp).await.unwrap();
    let mut c = Client::request(addr).await;
    assert!(c.fill(5, CAP).await);
    assert_eq!(
        parse_response(&c.buf, HeadLimits::default()),
        Err(HttpError::MalformedStatusLine)
    );
    assert!(c.until_eof(CAP).await, "garbage server kept the connection");
    drop(c);
    let stats = stops_by_itself(handle).await;
    assert_eq!(stats.bytes_sent, 4096);
}

#[tokio::test]
async fn slow_loris_sends_one_byte_per_100ms() {
    let (addr, handle) = spawn_hostile(Hostile::SlowLoris101).await.unwrap();
    let mut c = Client::request(addr).await;
    c.fill(usize::MAX, Duration::from_millis(550)).await;
    let n = c.buf.len();
    assert!((3..=8).contains(&n), "{n} bytes after 550 ms");
    assert!(b"HTTP/1.1 101".starts_with(&c.buf[..n.min(12)]));
    drop(c);
    stops_by_itself(handle).await;
}

#[tokio::test]
async fn headers_forever_exceed_any_head_limit() {
    let (addr, handle) = spawn_hostile(Hostile::HeadersForever).await.unwrap();
    let mut c = Client::request(addr).await;
    assert!(c.fill(1 << 20, CAP).await, "header stream ended");
    assert_eq!(
        parse_response(&c.buf, HeadLimits::default()),
        Err(HttpError::Capacity(CapacityError::HeadTooLarge {
            limit: HeadLimits::default().max_head
        }))
    );
    assert!(!c.buf.windows(4).any(|w| w == b"\r\n\r\n"), "head ended");
    drop(c);
    stops_by_itself(handle).await;
}

// ---------------------------------------------------------------------------------------
// Caps
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn lifetime_cap_ends_a_connection_the_client_keeps_open() {
    for kind in Hostile::ALL {
        let limits = HostileLimits {
            lifetime: Duration::from_millis(800),
            max_connections: 4,
            ..HostileLimits::default()
        };
        let (addr, handle) = spawn_hostile_with(kind, limits).await.unwrap();
        let t0 = Instant::now();
        let mut c = Client::request(addr).await;
        assert!(c.until_eof(CAP).await, "{kind:?}: no EOF");
        let stats = stops_by_itself(handle).await;
        assert!(t0.elapsed() < Duration::from_secs(4), "{kind:?}");
        assert_eq!(stats.connections, 1, "{kind:?}");
        assert!(TcpStream::connect(addr).await.is_err(), "{kind:?} listens");
    }
}

#[tokio::test]
async fn byte_cap_ends_the_flood() {
    let limits = HostileLimits {
        max_bytes: 100_000,
        ..HostileLimits::default()
    };
    let (addr, handle) = spawn_hostile_with(Hostile::PingFlood, limits)
        .await
        .unwrap();
    let mut c = Client::request(addr).await;
    c.fill(usize::MAX, CAP).await;
    assert!(
        c.buf.len() <= 100_000 && c.buf.len() > 90_000,
        "{}",
        c.buf.len()
    );
    drop(c);
    // The cap counts everything written, the 101 included.
    assert_eq!(stops_by_itself(handle).await.bytes_sent, 100_000);
}

#[tokio::test]
async fn stop_and_drop_end_the_server_while_a_client_is_connected() {
    let (addr, handle) = spawn_hostile(Hostile::SlowLoris101).await.unwrap();
    let mut c = Client::request(addr).await;
    // The first byte proves the connection was accepted before we stop the server.
    assert!(c.fill(1, CAP).await);
    let stats = timeout(Duration::from_secs(3), handle.stop())
        .await
        .expect("stop is bounded");
    assert_eq!(stats.connections, 1);
    assert!(c.until_eof(CAP).await);

    let (addr, handle) = spawn_hostile(Hostile::NoHandshakeAnswer).await.unwrap();
    let mut c = Client::request(addr).await;
    drop(handle);
    assert!(
        c.until_eof(CAP).await,
        "dropping the handle left it running"
    );
}

#[tokio::test]
async fn second_connection_is_refused_by_default() {
    let (addr, handle) = spawn_hostile(Hostile::GarbageHttp).await.unwrap();
    let mut c = Client::request(addr).await;
    assert!(c.until_eof(CAP).await);
    drop(c);
    stops_by_itself(handle).await;
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn echo_amplifier_answers_a_read_with_64_mib_in_1_mib_fragments() {
    use wsspec::server::hostile::AMPLIFIED_MESSAGE;
    let (addr, handle) = spawn_hostile(Hostile::EchoAmplifier).await.unwrap();
    let mut c = Client::request(addr).await;
    c.upgraded().await;
    // Nothing comes before the client sends something.
    assert!(!c.fill(1, Duration::from_millis(300)).await);
    let f = wsspec::codec::frame::frame(OpCode::Text, true, b"x", Some([1, 2, 3, 4]));
    c.s.write_all(&f).await.unwrap();
    let mut frames = Vec::new();
    let mut total = 0u64;
    while total < AMPLIFIED_MESSAGE as u64 {
        assert!(c.fill(14, CAP).await, "stream ended after {total} bytes");
        let Status::Complete(h, n) = parse_header(&c.buf, HeaderRules::client()).unwrap() else {
            panic!("incomplete header")
        };
        assert!(c.fill(n + h.payload_len as usize, CAP).await);
        c.buf.drain(..n + h.payload_len as usize);
        total += h.payload_len;
        frames.push(h);
    }
    assert_eq!(total, AMPLIFIED_MESSAGE as u64);
    assert_eq!(frames[0].opcode, OpCode::Binary);
    assert!(frames[1..].iter().all(|h| h.opcode == OpCode::Continuation));
    assert!(frames.last().unwrap().fin && frames.iter().rev().skip(1).all(|h| !h.fin));
    drop(c);
    stops_by_itself(handle).await;
}

#[tokio::test]
async fn ping_flood_without_reading_never_reads_after_the_request() {
    let (addr, handle) = spawn_hostile(Hostile::PingFloodNoRead).await.unwrap();
    let mut c = Client::request(addr).await;
    c.upgraded().await;
    assert!(c.fill(64 * 1024, CAP).await);
    let read_before = handle.stats().bytes_read;
    // Pongs (any bytes) go unread by the server.
    c.s.write_all(&[0x8a, 0x80, 1, 2, 3, 4].repeat(1000))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(handle.stats().bytes_read, read_before);
    let Status::Complete(h, _) = parse_header(&c.buf, HeaderRules::client()).unwrap() else {
        panic!("incomplete header")
    };
    assert_eq!(h.opcode, OpCode::Ping);
    drop(c);
    stops_by_itself(handle).await;
}

#[tokio::test]
async fn garbage_after_101_then_silence() {
    let (addr, handle) = spawn_hostile(Hostile::GarbageAfter101).await.unwrap();
    let mut c = Client::request(addr).await;
    c.upgraded().await;
    assert!(c.fill(4096, CAP).await);
    // Then nothing more, and TCP stays open.
    assert!(!c.fill(4097, Duration::from_millis(300)).await);
    assert_eq!(c.buf.len(), 4096);
    drop(c);
    stops_by_itself(handle).await;
}

#[tokio::test]
async fn reset_before_handshake_resets() {
    let (addr, handle) = spawn_hostile(Hostile::ResetBeforeHandshake).await.unwrap();
    // The reset may already fail the connect, or the first read after it.
    if let Ok(mut s) = TcpStream::connect(addr).await {
        let mut b = [0u8; 16];
        let r = timeout(CAP, s.read(&mut b)).await.expect("bounded");
        match r {
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
            Ok(n) => assert_eq!(n, 0, "it answered"),
        }
    }
    let stats = stops_by_itself(handle).await;
    assert_eq!(stats.bytes_sent, 0);
}
