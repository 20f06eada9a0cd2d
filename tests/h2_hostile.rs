//! The HTTP/2 transport against servers that misbehave at the HTTP/2 level, built in-process
//! on the `h2` crate's server: every outcome is bounded in time and named in the result.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::TcpListener;
use wsspec::peer::{ConnectOptions, HandshakeOutcome, Peer, PeerError, PeerEvent, Target};

#[derive(Clone, Copy)]
enum Mode {
    /// SETTINGS without ENABLE_CONNECT_PROTOCOL.
    NoSetting,
    /// Accepts TCP and says nothing.
    Silent,
    /// Resets every stream with REFUSED_STREAM.
    Refuse,
    /// 200, one unmasked text frame, then RST_STREAM CANCEL.
    ResetAfterData,
    /// 404 for every extended CONNECT.
    NotFound,
}

async fn server(mode: Mode) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            tokio::spawn(async move {
                if let Mode::Silent = mode {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    drop(tcp);
                    return;
                }
                let mut b = h2::server::Builder::new();
                if !matches!(mode, Mode::NoSetting) {
                    b.enable_connect_protocol();
                }
                let Ok(mut conn) = b.handshake::<_, Bytes>(tcp).await else {
                    return;
                };
                while let Some(Ok((_req, mut respond))) = conn.accept().await {
                    match mode {
                        Mode::Refuse => respond.send_reset(h2::Reason::REFUSED_STREAM),
                        Mode::NotFound => {
                            let r = http::Response::builder().status(404).body(()).unwrap();
                            let _ = respond.send_response(r, true);
                        }
                        _ => {
                            let r = http::Response::builder().status(200).body(()).unwrap();
                            if let Ok(mut tx) = respond.send_response(r, false) {
                                let _ = tx.send_data(Bytes::from_static(b"\x81\x02hi"), false);
                                tokio::spawn(async move {
                                    tokio::time::sleep(Duration::from_millis(50)).await;
                                    tx.send_reset(h2::Reason::CANCEL);
                                });
                            }
                        }
                    }
                }
            });
        }
    });
    port
}

fn opts() -> ConnectOptions {
    ConnectOptions {
        connect_timeout: Duration::from_millis(800),
        handshake_timeout: Duration::from_millis(800),
        ..ConnectOptions::default()
    }
}

async fn connect(mode: Mode) -> (Result<(Peer, HandshakeOutcome), PeerError>, Duration) {
    let port = server(mode).await;
    let t = Target::parse(&format!("h2c://127.0.0.1:{port}/ws")).unwrap();
    let start = Instant::now();
    let r = Peer::connect(&t, &opts(), "main").await;
    (r, start.elapsed())
}

#[tokio::test]
async fn no_setting_means_no_protocol_sent() {
    let (r, took) = connect(Mode::NoSetting).await;
    assert!(
        matches!(r, Err(PeerError::NoExtendedConnect)),
        "{:?}",
        r.err()
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let (r, took) = connect(Mode::Silent).await;
    let e = r.expect_err("no connection");
    assert!(
        e.to_string().contains("no SETTINGS and no PING answer"),
        "{e}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn an_http1_server_is_not_mistaken_for_one_without_the_setting() {
    let s = wsspec::server::bind("127.0.0.1:0".parse().unwrap(), Default::default())
        .await
        .unwrap();
    let t = Target::parse(&format!("h2c://{}/", s.local_addr)).unwrap();
    let e = Peer::connect(&t, &opts(), "main")
        .await
        .expect_err("no HTTP/2");
    assert!(e.to_string().contains("not an HTTP/2 server"), "{e}");
    s.shutdown().await;
}

#[tokio::test]
async fn a_refused_stream_is_named() {
    let (r, _) = connect(Mode::Refuse).await;
    let e = r.expect_err("refused").to_string();
    assert!(
        e.contains("RST_STREAM REFUSED_STREAM from the server"),
        "{e}"
    );
}

#[tokio::test]
async fn a_non_200_is_a_rejection() {
    let (r, _) = connect(Mode::NotFound).await;
    let (_, outcome) = r.expect("a response");
    assert!(
        matches!(&outcome, HandshakeOutcome::Rejected { response } if response.status == 404),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_reset_ends_the_websocket_with_its_reason() {
    let (r, _) = connect(Mode::ResetAfterData).await;
    let (mut peer, outcome) = r.expect("a response");
    assert!(outcome.is_upgraded(), "{outcome:?}");
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut text = false;
    loop {
        match peer.recv(deadline).await {
            PeerEvent::Frame { .. } => text = true,
            PeerEvent::Eof { error, .. } => {
                let e = error.expect("a reset is not a clean end");
                assert!(e.contains("RST_STREAM CANCEL from the server"), "{e}");
                break;
            }
            PeerEvent::Violation { .. } => {}
            PeerEvent::Timeout => panic!("no end in time"),
        }
    }
    assert!(text, "the frame before the reset was delivered");
    let t: Vec<String> = peer
        .transcript_entries()
        .iter()
        .map(|e| e.summary.clone())
        .collect();
    assert!(
        t.iter().any(|s| s.contains("DATA stream 1, 4 bytes")),
        "{t:?}"
    );
}
