//! The wire peer against tokio-tungstenite: handshake, echo, chopped writes, close, EOF.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use wsspec::codec::frame::{FrameSpec, OpCode};
use wsspec::codec::message::{Event, Message};
use wsspec::peer::{ConnectOptions, HandshakeOutcome, Pacing, Peer, PeerEvent, Target};

async fn tungstenite_echo() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(s).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    if m.is_text() || m.is_binary() {
                        if ws.send(m).await.is_err() {
                            break;
                        }
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn echo_close_and_eof() {
    let addr = tungstenite_echo().await;
    let target = Target::local(addr, "/");
    let (mut peer, outcome) = Peer::connect(&target, &ConnectOptions::default(), "main")
        .await
        .unwrap();
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

#[tokio::test]
async fn unreachable_and_timeouts_are_bounded() {
    // A listener that never answers the upgrade.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let opts = ConnectOptions {
        handshake_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let t0 = Instant::now();
    let (_p, outcome) = Peer::connect(&Target::local(addr, "/"), &opts, "main")
        .await
        .unwrap();
    assert!(matches!(outcome, HandshakeOutcome::Timeout { .. }));
    assert!(t0.elapsed() < Duration::from_secs(2));
    // A port nobody listens on: connect error, not a hang.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert!(Peer::connect(&Target::local(dead, "/"), &opts, "main")
        .await
        .is_err());
}
