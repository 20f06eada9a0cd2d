//! The in-memory pair: a client and a server joined by `tokio::io::duplex` instead of a
//! socket, in the spirit of quinn's `Pair` and h2's mock peer.
//!
//! The server end is the reference server's own connection code
//! ([`wsspec::server::serve_stream`], which drives the sans-IO `Session`); the client end is
//! either raw bytes ([`serve`]) or the wsspec [`Peer`] after its real opening handshake
//! ([`connect`]). Nothing binds a port, and under `#[tokio::test(start_paused = true)]` every
//! timer (handshake, idle and close timeouts, a reader's "nothing more is coming") is
//! virtual: tokio jumps the clock forward whenever both ends are waiting, so a test that
//! waits out a 2 s silence takes microseconds.
//!
//! Use it for tests that are about bytes and timing; tests about sockets (connect errors,
//! FIN versus RST, how writes split into reads) keep a real 127.0.0.1 connection.

use std::time::{Duration, Instant};

use tokio::io::{duplex, AsyncRead, AsyncWrite, DuplexStream};
use tokio::task::JoinHandle;
use wsspec::peer::{ConnectOptions, HandshakeOutcome, Peer, Target};
use wsspec::server::{serve_stream, ServerConfig};

/// Bytes each direction of the duplex holds before a writer waits: large enough that a
/// test's burst never waits for the reader, small enough to exercise back-pressure on the
/// 16 MiB cases.
pub const PIPE: usize = 256 * 1024;

/// The reference server with `cfg` on one end of a duplex stream; returns the other end and
/// the server's task (which ends when the connection does).
pub fn serve(cfg: ServerConfig) -> (DuplexStream, JoinHandle<()>) {
    serve_with(|io| serve_stream(io, cfg))
}

/// Any server written against a byte stream (tokio-tungstenite's `accept_async`, a scripted
/// one) on one end of a duplex stream; returns the other end and the server's task.
pub fn serve_with<F, Fut>(server: F) -> (DuplexStream, JoinHandle<Fut::Output>)
where
    F: FnOnce(DuplexStream) -> Fut,
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let (client, server_end) = duplex(PIPE);
    (client, tokio::spawn(server(server_end)))
}

/// The client end of a pair: the wsspec peer after its opening handshake.
pub struct Pair {
    /// The peer, exactly as [`Peer::connect`] would return it over TCP.
    pub peer: Peer,
    /// What the handshake came to.
    pub outcome: HandshakeOutcome,
    /// The server's task; it ends when the connection does.
    pub server: JoinHandle<()>,
}

/// The wsspec [`Peer`] against the reference server with `cfg`, after the peer's real
/// opening handshake with `opts`.
pub async fn connect(cfg: ServerConfig, opts: &ConnectOptions) -> Pair {
    let (io, server) = serve(cfg);
    let (peer, outcome) = handshake(io, opts).await;
    Pair {
        peer,
        outcome,
        server,
    }
}

/// The peer's opening handshake with `opts` over `io`, whatever is at its other end.
pub async fn handshake<S>(io: S, opts: &ConnectOptions) -> (Peer, HandshakeOutcome)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // The Host header of the request; nothing is resolved or dialled.
    let target = Target::parse("ws://127.0.0.1/").unwrap();
    let mut peer = Peer::over_stream(io, opts, "main");
    let deadline = Instant::now() + opts.handshake_timeout;
    let outcome = peer
        .handshake(&opts.request(&target), opts.head_limits, deadline)
        .await;
    (peer, outcome)
}

/// A deadline `d` from now, for [`Peer::recv`] (which takes `std` instants; tokio's paused
/// clock maps them onto virtual time).
pub fn within(d: Duration) -> Instant {
    Instant::now() + d
}
