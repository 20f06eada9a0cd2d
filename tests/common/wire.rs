//! Scripted WebSocket servers for end-to-end tests: a listener on 127.0.0.1, the opening
//! handshake, and bounded reads. What a server does after the 101 is the test's.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsspec::codec::handshake::{accept_response, reject_response, validate_request};
use wsspec::codec::http::{parse_request, HeadLimits, Headers};
use wsspec::codec::Status;

/// Listens on a free port of 127.0.0.1 and runs `serve` for every connection (the listener
/// lives as long as the test's runtime).
pub async fn spawn<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    spawn_on("127.0.0.1:0", serve)
        .await
        .expect("bind 127.0.0.1")
}

/// [`spawn`] on `bind` (a loopback address with port 0); `None` when this machine cannot
/// bind it (no IPv6, say).
pub async fn spawn_on<F, Fut>(bind: &str, serve: F) -> Option<SocketAddr>
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind(bind).await.ok()?;
    let addr = l.local_addr().ok()?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            tokio::spawn(serve(tcp));
        }
    });
    Some(addr)
}

/// tokio-tungstenite's echo on one connection: text and binary messages go back as they
/// came. An implementation independent of wsspec's codec, over TCP or the in-memory pair.
pub async fn tungstenite_echo<S: AsyncRead + AsyncWrite + Unpin>(io: S) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(io).await else {
        return;
    };
    while let Some(Ok(m)) = ws.next().await {
        if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
            break;
        }
    }
}

/// A [`tungstenite_echo`] server on a free port of 127.0.0.1.
pub async fn tungstenite_echo_server() -> SocketAddr {
    spawn(tungstenite_echo).await
}

/// A port of 127.0.0.1 that was free a moment ago (for servers whose Origin or command
/// line must name their port before they start).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Appends what arrives next (within `wait`) to `buf`; false on EOF, error or timeout.
pub async fn read_more(tcp: &mut TcpStream, buf: &mut Vec<u8>, wait: Duration) -> bool {
    let mut chunk = vec![0u8; 64 * 1024];
    match tokio::time::timeout(wait, tcp.read(&mut chunk)).await {
        Ok(Ok(n)) if n > 0 => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
        _ => false,
    }
}

/// Reads the upgrade request (5 s at most) and answers it: 101 when it is valid, the
/// refusal otherwise. True when upgraded; the bytes that followed the request stay in `buf`.
pub async fn upgrade(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let head = loop {
        match parse_request(buf, HeadLimits::default()) {
            Ok(Status::Complete(h, n)) => {
                buf.drain(..n);
                break h;
            }
            Ok(Status::Partial(_)) => {}
            Err(_) => return false,
        }
        if !read_more(tcp, buf, Duration::from_secs(5)).await {
            return false;
        }
    };
    match validate_request(&head) {
        Ok(valid) => tcp
            .write_all(&accept_response(&valid, None, &Headers(Vec::new())))
            .await
            .is_ok(),
        Err(e) => {
            let _ = tcp.write_all(&reject_response(&e)).await;
            false
        }
    }
}
