//! The listeners of the server-role actions: a TCP listener on 127.0.0.1 whose background
//! task takes every connection as it comes, time-stamped, into a bounded queue, from which
//! `accept` and `expect_reconnect` ([`super::listen`]) take them. A listener can stop and
//! listen again on the same port (`restart_listener`), and keeps what the reconnect checks
//! need: the keys seen, the connections it accepted, when the kit last ended them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::peer::transcript::Transcript;
use crate::peer::Peer;
use crate::report::Direction;

/// Connections taken by a listener but not yet handled by a step; more wait in the
/// kernel's backlog, so a client that floods connections cannot grow memory.
const INCOMING_QUEUE: usize = 64;

/// Refused attempts kept open per listener.
const MAX_PARKED: usize = 16;

/// One TCP connection a listener took.
#[derive(Debug)]
pub(super) struct Incoming {
    pub stream: TcpStream,
    pub at: Instant,
}

/// A named listener on 127.0.0.1.
#[derive(Debug)]
pub(super) struct Listener {
    /// Its loopback address.
    pub host: std::net::Ipv4Addr,
    /// Its port (fixed once bound, so a restart listens on the same one).
    pub port: u16,
    incoming: mpsc::Receiver<Incoming>,
    task: Option<JoinHandle<()>>,
    /// Listener events: bound, closed, every TCP connection taken.
    pub tr: Transcript,
    /// `Sec-WebSocket-Key`s seen so far (key freshness, RFC 6455 4.1).
    pub keys: HashSet<String>,
    /// Names of the connections accepted on it (closed by `restart_listener`).
    pub conns: Vec<String>,
    /// Handshake attempts so far (numbering the refused ones' transcripts).
    pub attempts: u64,
    /// When the kit last ended its connections (`restart_listener`): the start of the
    /// next reconnect delay.
    pub last_end: Option<Instant>,
    /// Refused attempts, kept open until the client closes them (the latest few).
    parked: Vec<Peer>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Listener {
    /// Binds `host`:`port` (0: a free port) and starts taking connections.
    pub async fn bind(
        name: &str,
        host: std::net::Ipv4Addr,
        port: u16,
        started: Instant,
    ) -> std::io::Result<Listener> {
        let tr = Transcript::new(&format!("listener {name}"), started);
        let (task, incoming, port) = Self::start(host, port, &tr).await?;
        Ok(Listener {
            host,
            port,
            incoming,
            task: Some(task),
            tr,
            keys: HashSet::new(),
            conns: Vec::new(),
            attempts: 0,
            last_end: None,
            parked: Vec::new(),
        })
    }

    async fn start(
        host: std::net::Ipv4Addr,
        port: u16,
        tr: &Transcript,
    ) -> std::io::Result<(JoinHandle<()>, mpsc::Receiver<Incoming>, u16)> {
        // Only loopback: the reader refuses any other host.
        debug_assert!(host.is_loopback());
        let l = TcpListener::bind((host, port)).await?;
        let port = l.local_addr()?.port();
        tr.push(
            Direction::Event,
            "listen",
            format!("listening on {host}:{port}"),
            None,
        );
        let (tx, rx) = mpsc::channel(INCOMING_QUEUE);
        let tr2 = tr.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, addr)) = l.accept().await else {
                    // EMFILE and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tr2.push(
                    Direction::Event,
                    "tcp-open",
                    format!("TCP connection from {addr}"),
                    None,
                );
                let inc = Incoming {
                    stream,
                    at: Instant::now(),
                };
                if tx.send(inc).await.is_err() {
                    return;
                }
            }
        });
        Ok((task, rx, port))
    }

    /// Stops listening: the port refuses connections until [`Listener::relisten`];
    /// connections taken but not handled are closed.
    pub async fn close(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            // The socket is closed when the task is dropped: wait for that, so the
            // port is free for the next bind (bounded: an aborted task ends at once).
            let _ = tokio::time::timeout(Duration::from_secs(1), t).await;
        }
        self.incoming.close();
        while self.incoming.try_recv().is_ok() {}
        self.parked.clear();
        self.tr.push(
            Direction::Event,
            "listen",
            format!("stopped listening on {}:{}", self.host, self.port),
            None,
        );
    }

    /// Listens again on the same port.
    pub async fn relisten(&mut self) -> std::io::Result<()> {
        let (task, incoming, _) = Self::start(self.host, self.port, &self.tr).await?;
        self.task = Some(task);
        self.incoming = incoming;
        Ok(())
    }

    /// Keeps a refused attempt's peer (its writer) alive while the client reads the
    /// refusal; the oldest goes once there are [`MAX_PARKED`].
    pub fn park(&mut self, peer: Peer) {
        if self.parked.len() >= MAX_PARKED {
            self.parked.remove(0);
        }
        self.parked.push(peer);
    }

    /// The next connection, or `None` at `until`.
    pub async fn next(&mut self, until: Instant) -> Option<Incoming> {
        tokio::time::timeout_at(until.into(), self.incoming.recv())
            .await
            .ok()
            .flatten()
    }
}
