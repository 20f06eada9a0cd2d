//! The peer in the server role: a connection the kit accepted, for testing WebSocket
//! clients.
//!
//! Everything after the opening handshake is the client peer's machinery (the reader and
//! writer tasks, pacing, the transcript, the one decoder); only the direction of the
//! masking rule changes (§5.1): the kit sends unmasked frames and the decoder reports every
//! unmasked client frame as a violation, then goes on reading as the client role does.
//!
//! The opening handshake is split so that a caller can decide on the answer after seeing
//! the request (a case number in the query, a subprotocol): [`Peer::accepted`] wraps the
//! stream, [`Peer::read_request_head`] reads the request (bounded in size and time),
//! [`Peer::send_upgrade`] or [`Peer::send_refusal`] answers. [`Peer::accept`] does all
//! three with §4.2.1 validation.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::{Duration, Instant};
//! use wsspec::peer::{AcceptOptions, AcceptOutcome, Peer, PeerEvent};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (tcp, _) = listener.accept().await?;
//! let (mut peer, outcome) = Peer::accept(tcp, &AcceptOptions::default(), "client").await;
//! if let AcceptOutcome::Upgraded { valid, .. } = &outcome {
//!     println!("client asked for {}", valid.target);
//!     peer.send_text(b"hello");
//!     match peer.recv(Instant::now() + Duration::from_secs(1)).await {
//!         PeerEvent::Frame { frame, .. } => println!("{:?}", frame.event),
//!         other => println!("{other:?}"),
//!     }
//! }
//! # Ok(()) }
//! ```

use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::head::HeadRead;
use super::tasks::Stream;
use super::{Peer, Transcript};
use crate::codec::frame::{FrameSpec, OpCode, Role};
use crate::codec::handshake::{
    accept_response, reject_response, validate_request, HandshakeError, ValidRequest,
};
use crate::codec::http::{HeadLimits, Headers, HttpError, RequestHead};
use crate::codec::message::Limits;
use crate::report::Direction;

/// How the server role reads and answers a client's opening handshake.
#[derive(Debug, Clone)]
pub struct AcceptOptions {
    /// Limit for the whole request head to arrive, from the accept (Autobahn: 5 s).
    pub handshake_timeout: Duration,
    /// Size limits for the request head.
    pub head_limits: HeadLimits,
    /// Message and frame size limits for what the client sends.
    pub limits: Limits,
    /// Subprotocols the kit may select, in preference order; the first one the client
    /// offered is selected ([`Peer::accept`] only).
    pub protocols: Vec<String>,
    /// Extra headers of the 101 ([`Peer::accept`] only).
    pub headers: Vec<(String, String)>,
}

impl Default for AcceptOptions {
    fn default() -> Self {
        AcceptOptions {
            handshake_timeout: Duration::from_secs(5),
            head_limits: HeadLimits::default(),
            limits: Limits {
                max_message_size: 32 << 20,
                max_frame_size: 32 << 20,
            },
            protocols: Vec::new(),
            headers: Vec::new(),
        }
    }
}

/// What arrived as the client's request head.
#[derive(Debug, Clone)]
pub enum RequestOutcome {
    /// A complete request head (not yet judged against §4.2.1).
    Request(RequestHead),
    /// TCP closed before a complete head arrived; carries what did arrive.
    ClosedBeforeRequest {
        /// Bytes received before the close.
        received: Vec<u8>,
    },
    /// No complete head within the time allowed.
    Timeout {
        /// Bytes received so far.
        received: Vec<u8>,
    },
    /// Not HTTP, or over the head limits.
    Malformed(HttpError),
}

/// The result of [`Peer::accept`].
#[derive(Debug, Clone)]
pub enum AcceptOutcome {
    /// The request passed §4.2.1 and the kit answered 101.
    Upgraded {
        /// The request head as received.
        request: RequestHead,
        /// What the client asked for.
        valid: ValidRequest,
        /// The subprotocol the kit selected.
        protocol: Option<String>,
    },
    /// The request broke §4.2.1; the kit answered with the refusal of
    /// [`reject_response`] (400, 405 or 426).
    Refused {
        /// The request head as received.
        request: RequestHead,
        /// The rule it broke.
        error: HandshakeError,
    },
    /// No usable request head (the kit answered 400 to a malformed one).
    NoRequest(RequestOutcome),
}

impl AcceptOutcome {
    /// True when the connection is upgraded.
    pub fn is_upgraded(&self) -> bool {
        matches!(self, AcceptOutcome::Upgraded { .. })
    }

    /// One line for reports.
    pub fn describe(&self) -> String {
        match self {
            AcceptOutcome::Upgraded {
                valid, protocol, ..
            } => match protocol {
                Some(p) => format!("101 to GET {}, protocol {p}", valid.target),
                None => format!("101 to GET {}", valid.target),
            },
            AcceptOutcome::Refused { request, error } => format!(
                "refused {} {}: RFC 6455 §{}: {error}",
                request.method,
                request.target,
                error.rfc_section()
            ),
            AcceptOutcome::NoRequest(r) => r.describe(),
        }
    }
}

impl RequestOutcome {
    /// One line for reports.
    pub fn describe(&self) -> String {
        match self {
            RequestOutcome::Request(r) => format!("{} {}", r.method, r.target),
            RequestOutcome::ClosedBeforeRequest { received } if received.is_empty() => {
                "TCP closed without a request".into()
            }
            RequestOutcome::ClosedBeforeRequest { received } => format!(
                "TCP closed after {} bytes without a complete request head",
                received.len()
            ),
            RequestOutcome::Timeout { received } => format!(
                "no complete request head in time ({} bytes received)",
                received.len()
            ),
            RequestOutcome::Malformed(e) => format!("not an HTTP request: {e}"),
        }
    }
}

impl Peer {
    /// Wraps a TCP connection the kit accepted: the peer in the server role (unmasked
    /// frames out, masked frames expected in). Times in the transcript count from
    /// `started`. Nothing is read or written yet.
    pub fn accepted(tcp: TcpStream, limits: Limits, conn: &str, started: Instant) -> Peer {
        let _ = tcp.set_nodelay(true);
        let transcript = Transcript::new(conn, started);
        let from = tcp
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "an unknown address".into());
        transcript.push(
            Direction::Event,
            "tcp-accept",
            format!("accepted a connection from {from}"),
            None,
        );
        let stream: Box<dyn Stream> = Box::new(tcp);
        Peer::from_stream(
            stream,
            transcript,
            limits,
            started,
            super::Transport::Tcp,
            Role::Server,
        )
    }

    /// Accepts the opening handshake on `tcp`: reads the request head (bounded by
    /// `opts.head_limits` and `opts.handshake_timeout`), checks it against §4.2.1, and
    /// answers 101 (selecting the first of `opts.protocols` the client offered) or a
    /// refusal. The peer is returned in every case, with the transcript of what happened.
    pub async fn accept(tcp: TcpStream, opts: &AcceptOptions, conn: &str) -> (Peer, AcceptOutcome) {
        let started = Instant::now();
        let mut peer = Peer::accepted(tcp, opts.limits, conn, started);
        let head = peer
            .read_request_head(opts.head_limits, started + opts.handshake_timeout)
            .await;
        let request = match head {
            RequestOutcome::Request(r) => r,
            other => {
                if let RequestOutcome::Malformed(e) = &other {
                    peer.send_refusal(400, "Bad Request", &format!("{e}\n"));
                }
                return (peer, AcceptOutcome::NoRequest(other));
            }
        };
        match validate_request(&request) {
            Ok(valid) => {
                let protocol = opts
                    .protocols
                    .iter()
                    .find(|p| valid.protocols.iter().any(|o| o == *p))
                    .cloned();
                let extra = Headers(
                    opts.headers
                        .iter()
                        .map(|(n, v)| (n.clone(), v.clone().into_bytes()))
                        .collect(),
                );
                peer.send_upgrade(&valid, protocol.as_deref(), &extra);
                (
                    peer,
                    AcceptOutcome::Upgraded {
                        request,
                        valid,
                        protocol,
                    },
                )
            }
            Err(error) => {
                peer.transcript.note(format!(
                    "request refused (RFC 6455 §{}): {error}",
                    error.rfc_section()
                ));
                peer.send_http(reject_response(&error));
                (peer, AcceptOutcome::Refused { request, error })
            }
        }
    }

    /// Reads the client's request head without judging it, bounded by `limits` and
    /// `deadline`. Bytes after the head (frames the client sent at once) stay buffered for
    /// [`Peer::recv`].
    pub async fn read_request_head(
        &mut self,
        limits: HeadLimits,
        deadline: Instant,
    ) -> RequestOutcome {
        match self.read_head::<RequestHead>(limits, deadline).await {
            HeadRead::Head(head) => RequestOutcome::Request(head),
            HeadRead::Closed(received) => RequestOutcome::ClosedBeforeRequest { received },
            HeadRead::Timeout(received) => RequestOutcome::Timeout { received },
            HeadRead::Malformed(e) => RequestOutcome::Malformed(e),
        }
    }

    /// Answers a valid request with 101 (RFC 6455 §4.2.2), selecting `protocol` if the
    /// client offered it, plus `extra` headers.
    pub fn send_upgrade(&mut self, valid: &ValidRequest, protocol: Option<&str>, extra: &Headers) {
        self.send_http(accept_response(valid, protocol, extra));
    }

    /// Answers with an HTTP error (`status reason`, a text body, `Connection: close`) and
    /// half-closes TCP after it.
    pub fn send_refusal(&mut self, status: u16, reason: &str, body: &str) {
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.send_http(head.into_bytes());
        self.shutdown_write();
    }

    /// Queues raw HTTP answer bytes (for handshake tests that hand-craft the answer).
    pub fn send_http(&mut self, bytes: Vec<u8>) {
        self.send_request_bytes(bytes);
    }

    /// Queues one unfragmented text message, framed as this peer's role sends it.
    pub fn send_text(&mut self, text: &[u8]) {
        self.send_frame(
            &FrameSpec::new(OpCode::Text, true, text.to_vec()),
            super::Pacing::Plain,
        );
    }
}
