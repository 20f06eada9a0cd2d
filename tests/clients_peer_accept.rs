//! The peer in the server role (`Peer::accept`) against tokio-tungstenite's client and a raw
//! TCP client: 101 to a valid request, unmasked frames out (tungstenite refuses masked
//! server frames), masked frames in, an unmasked client frame reported, refusals.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message as TMessage;
use wsspec::codec::error::{FrameError, ProtocolError};
use wsspec::codec::frame::{FrameSpec, Masking, OpCode};
use wsspec::codec::message::{Event, Message};
use wsspec::peer::{AcceptOptions, AcceptOutcome, Pacing, Peer, PeerEvent, Role};

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[tokio::test]
async fn echo_with_a_tungstenite_client() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let client = tokio::spawn(async move {
        let (mut ws, resp) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/runCase?case=1&agent=t"))
                .await
                .unwrap();
        assert_eq!(resp.status(), 101);
        // tungstenite fails the connection on a masked server frame: this proves the
        // kit's frames are unmasked.
        let m = ws.next().await.unwrap().unwrap();
        assert_eq!(m, TMessage::Text("hello".into()));
        ws.send(TMessage::Text("back".into())).await.unwrap();
        // Read on until the kit's close (tungstenite answers it).
        while let Some(Ok(_)) = ws.next().await {}
    });
    let (tcp, _) = l.accept().await.unwrap();
    let opts = AcceptOptions {
        protocols: vec!["chat".into()],
        ..Default::default()
    };
    let (mut peer, outcome) = Peer::accept(tcp, &opts, "client").await;
    assert_eq!(peer.role(), Role::Server);
    match &outcome {
        AcceptOutcome::Upgraded {
            valid, protocol, ..
        } => {
            assert_eq!(valid.target, "/runCase?case=1&agent=t");
            assert_eq!(*protocol, None, "tungstenite offered no subprotocol");
        }
        other => panic!("{other:?}"),
    }
    peer.send_text(b"hello");
    match peer.recv(soon()).await {
        PeerEvent::Frame { frame, .. } => {
            assert!(frame.header.mask.is_some(), "client frames are masked");
            assert_eq!(
                frame.event,
                Some(Event::Message(Message::Text("back".into())))
            );
        }
        other => panic!("{other:?}"),
    }
    peer.send_close(Some(1000), b"");
    match peer.recv(soon()).await {
        PeerEvent::Frame { frame, .. } => {
            assert!(matches!(frame.event, Some(Event::Close(Some((1000, _))))))
        }
        other => panic!("{other:?}"),
    }
    peer.drop_tcp();
    client.await.unwrap();
    let t = peer.transcript_entries();
    assert!(t.iter().any(|e| e.kind == "tcp-accept"), "{t:?}");
}

async fn raw_handshake(addr: std::net::SocketAddr, extra: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /x HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{extra}Sec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s
}

#[tokio::test]
async fn an_unmasked_client_frame_is_a_violation_and_still_delivered() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let client = tokio::spawn(async move {
        let mut s = raw_handshake(addr, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n").await;
        let frame = FrameSpec::new(OpCode::Text, true, b"plain".to_vec())
            .masked(Masking::Unmasked)
            .encode([0; 4]);
        s.write_all(&frame).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    let (tcp, _) = l.accept().await.unwrap();
    let (mut peer, outcome) = Peer::accept(tcp, &AcceptOptions::default(), "c").await;
    assert!(outcome.is_upgraded(), "{}", outcome.describe());
    match peer.recv(soon()).await {
        PeerEvent::Violation { error, .. } => assert!(
            matches!(
                error,
                FrameError::Protocol(ProtocolError::UnmaskedClientFrame)
            ),
            "{error:?}"
        ),
        other => panic!("{other:?}"),
    }
    match peer.recv(soon()).await {
        PeerEvent::Frame { frame, .. } => assert_eq!(
            frame.event,
            Some(Event::Message(Message::Text("plain".into())))
        ),
        other => panic!("{other:?}"),
    }
    // The kit's own frame goes out unmasked, right after the 101.
    peer.send_frame(
        &FrameSpec::new(OpCode::Close, true, vec![0x03, 0xea]),
        Pacing::Plain,
    );
    peer.shutdown_write();
    let got = client.await.unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    assert!(
        text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{text}"
    );
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        &got[head_end..],
        &[0x88, 0x02, 0x03, 0xea],
        "unmasked close"
    );
}

#[tokio::test]
async fn a_request_without_a_key_is_refused() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let client = tokio::spawn(async move {
        let mut s = raw_handshake(addr, "").await;
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut got)).await;
        String::from_utf8_lossy(&got).into_owned()
    });
    let (tcp, _) = l.accept().await.unwrap();
    let (_peer, outcome) = Peer::accept(tcp, &AcceptOptions::default(), "c").await;
    assert!(
        matches!(outcome, AcceptOutcome::Refused { .. }),
        "{outcome:?}"
    );
    let answer = client.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

#[tokio::test]
async fn a_silent_client_times_out() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let _c = TcpStream::connect(addr).await.unwrap();
    let (tcp, _) = l.accept().await.unwrap();
    let opts = AcceptOptions {
        handshake_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let t0 = Instant::now();
    let (_peer, outcome) = Peer::accept(tcp, &opts, "c").await;
    assert!(
        matches!(
            outcome,
            AcceptOutcome::NoRequest(wsspec::peer::RequestOutcome::Timeout { .. })
        ),
        "{outcome:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(2));
}
