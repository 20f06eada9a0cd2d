//! The wire peer against tokio-tungstenite: handshake, echo, chopped writes, close, EOF.
//! Byte-level behaviour runs on the in-memory pair under paused time; what is about
//! sockets (connect errors, how paced writes reach a reader) over 127.0.0.1.

mod common;

use std::time::{Duration, Instant};

use common::{pair, wire};
use wsspec::codec::frame::{FrameSpec, OpCode};
use wsspec::codec::message::{Event, Message};
use wsspec::peer::{ConnectOptions, HandshakeOutcome, Pacing, Peer, PeerEvent, Target};

#[tokio::test(start_paused = true)]
async fn echo_close_and_eof() {
    let (io, _server) = pair::serve_with(wire::tungstenite_echo);
    let (mut peer, outcome) = pair::handshake(io, &ConnectOptions::default()).await;
    assert!(
        matches!(outcome, HandshakeOutcome::Upgraded { .. }),
        "{outcome:?}"
    );
    let msg = b"Hello, world!".to_vec();
    peer.send_paced(Peer::frame_bytes(OpCode::Text, true, &msg), Pacing::chop(1));
    let deadline = Instant::now() + Duration::from_secs(5);
    match peer.recv(deadline).await {
        PeerEvent::Frame { frame, .. } => {
            assert_eq!(
                frame.event,
                Some(Event::Message(Message::Text("Hello, world!".into())))
            )
        }
        other => panic!("{other:?}"),
    }
    peer.send_frame(
        &FrameSpec::new(OpCode::Ping, true, b"abc".to_vec()),
        Pacing::Plain,
    );
    match peer.recv(deadline).await {
        PeerEvent::Frame { frame, .. } => {
            assert_eq!(frame.event, Some(Event::Pong(b"abc".to_vec())))
        }
        other => panic!("{other:?}"),
    }
    peer.send_close(Some(1000), b"bye");
    match peer.recv(deadline).await {
        PeerEvent::Frame { frame, .. } => {
            assert_eq!(frame.event, Some(Event::Close(Some((1000, "bye".into())))))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(peer.recv(deadline).await, PeerEvent::Eof { .. }));
    assert!(peer.transcript_entries().len() >= 6);
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_the_handshake_out() {
    // Holds its end of the stream open and never answers the upgrade.
    let (io, _server) = pair::serve_with(|io| async move {
        let _held = io;
        std::future::pending::<()>().await
    });
    let opts = ConnectOptions {
        handshake_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let t0 = tokio::time::Instant::now();
    let (_p, outcome) = pair::handshake(io, &opts).await;
    assert!(
        matches!(outcome, HandshakeOutcome::Timeout { .. }),
        "{outcome:?}"
    );
    // Virtual time: the handshake timeout, give or take the real time the test took (the
    // peer's deadlines are `std` instants, which paused tokio time maps onto its clock).
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(400),
        "{took:?}"
    );
}

#[tokio::test]
async fn unreachable_port_is_a_connect_error() {
    let opts = ConnectOptions {
        handshake_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    // A port nobody listens on: connect error, not a hang.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert!(Peer::connect(&Target::local(dead, "/"), &opts, "main")
        .await
        .is_err());
}

/// The read sizes a [`read_recorder`] saw, and the time from the first to the last byte.
type Reads = (Vec<usize>, Duration);

/// Accepts one connection on a plain thread and records the size of every read() until EOF
/// or 5 s, the way a server that parses what has arrived so far sees the bytes. Returns the
/// address, a signal that the connection was accepted, and the recording.
fn read_recorder() -> (
    std::net::SocketAddr,
    std::sync::mpsc::Receiver<()>,
    std::thread::JoinHandle<Reads>,
) {
    use std::io::Read;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (ready, is_ready) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = ready.send(());
        let mut sizes = Vec::new();
        let mut buf = [0u8; 65536];
        let mut first = None;
        let mut last = Instant::now();
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            last = Instant::now();
            first.get_or_insert(last);
            sizes.push(n);
        }
        (sizes, last.duration_since(first.unwrap_or(last)))
    });
    (addr, is_ready, h)
}

/// Writes `writes` with `pacing` to a read recorder; the read sizes and the time from the
/// first to the last byte.
async fn paced_reads(pacing: Pacing, writes: &[Vec<u8>]) -> Reads {
    let (addr, ready, rec) = read_recorder();
    let mut peer = Peer::open(
        &Target::local(addr, "/"),
        &ConnectOptions::default(),
        "main",
        Instant::now(),
    )
    .await
    .unwrap();
    tokio::task::spawn_blocking(move || ready.recv().unwrap())
        .await
        .unwrap();
    if pacing == Pacing::Plain {
        peer.send_paced(writes.concat(), pacing);
    } else {
        for w in writes {
            peer.send_paced(w.clone(), pacing);
        }
    }
    peer.shutdown_write();
    tokio::task::spawn_blocking(move || rec.join().unwrap())
        .await
        .unwrap()
}

/// Autobahn writes each chop (and each `sync` frame) on its own with a reactor turn in
/// between, so a server reading as data arrives sees the pieces one by one; back-to-back
/// writes would reach it as one read. The peer's pacing must give the same picture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_writes_arrive_as_separate_reads() {
    let frame = Peer::frame_bytes(OpCode::Text, true, b"Hello, world!"); // 19 bytes
    let cases: [(Pacing, Vec<Vec<u8>>, usize); 3] = [
        // Octet-wise: one read per byte.
        (Pacing::chop(1), vec![frame.clone(), frame.clone()], 38),
        // Frame-wise: one read per frame.
        (Pacing::Sync, vec![frame.clone(); 8], 8),
        // Plain: everything in one go.
        (Pacing::Plain, vec![frame.clone(); 8], 1),
    ];
    for (pacing, writes, pieces) in cases {
        let total: usize = writes.iter().map(Vec::len).sum();
        let looks_right = |sizes: &[usize]| match pacing {
            Pacing::Plain => sizes.len() <= 2,
            // A few pieces may still be read together.
            _ => sizes.len() * 4 >= pieces * 3,
        };
        // The reader is a thread on a machine that may be busy with other work: when it
        // misses its turns it reads several pieces at once, whatever the writer did. The
        // pieces must arrive as paced in one of five tries.
        let mut tries = Vec::new();
        for _ in 0..5 {
            let (sizes, span) = paced_reads(pacing, &writes).await;
            eprintln!("{pacing:?}: {} reads over {span:?}: {sizes:?}", sizes.len());
            assert_eq!(sizes.iter().sum::<usize>(), total, "{pacing:?}");
            let ok = looks_right(&sizes);
            tries.push(sizes);
            if ok {
                break;
            }
        }
        assert!(
            looks_right(tries.last().unwrap()),
            "{pacing:?}: the reads never showed the pacing: {tries:?}"
        );
    }
}
