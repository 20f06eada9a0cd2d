//! What the peer reports: why no connection could be made, the server's answer to the
//! upgrade request, and the events [`Peer::recv`](super::Peer::recv) delivers.

use std::fmt;
use std::io;
use std::time::Duration;

use super::TargetError;
use crate::codec::error::FrameError;
use crate::codec::handshake::{Accepted, HandshakeError};
use crate::codec::http::{HttpError, ResponseHead};
use crate::codec::message::DecodedFrame;

/// Why no connection could be made (the server under test was not reachable at all).
#[derive(Debug)]
pub enum PeerError {
    /// The URL is unusable.
    Target(TargetError),
    /// TCP connect failed.
    Connect(io::Error),
    /// TCP (or TLS) connect took longer than allowed.
    ConnectTimeout(Duration),
    /// TLS handshake failed.
    Tls(String),
    /// The HTTP/2 connection could not carry a WebSocket (no ALPN h2, no
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL, a raw HTTP/1.1 request over HTTP/2, ...).
    Http2(String),
    /// The HTTP/2 server did not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL = 1, so no
    /// `:protocol` may be sent (RFC 8441 §4).
    NoExtendedConnect,
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Target(t) => t.fmt(f),
            PeerError::Connect(e) => write!(f, "cannot connect: {e}"),
            PeerError::ConnectTimeout(d) => write!(f, "connect timed out after {d:?}"),
            PeerError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            PeerError::Http2(e) => write!(f, "HTTP/2: {e}"),
            PeerError::NoExtendedConnect => write!(
                f,
                "the HTTP/2 server did not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL = 1, so no WebSocket can be opened (RFC 8441 §4)"
            ),
        }
    }
}

impl std::error::Error for PeerError {}

/// The server's answer to the upgrade request.
#[derive(Debug, Clone)]
pub enum HandshakeOutcome {
    /// 101 that passes §4.1.
    Upgraded {
        /// The response head.
        response: ResponseHead,
        /// What was negotiated.
        accepted: Accepted,
    },
    /// A status other than 101.
    Rejected {
        /// The response head.
        response: ResponseHead,
    },
    /// A 101 that violates §4.1 (bad accept key, unoffered protocol or extension, ...).
    Invalid {
        /// The response head.
        response: ResponseHead,
        /// The rule it broke.
        error: HandshakeError,
    },
    /// TCP closed before a complete head arrived; carries what did arrive.
    ClosedBeforeResponse {
        /// Bytes received before the close.
        received: Vec<u8>,
    },
    /// No complete answer within the handshake timeout.
    Timeout {
        /// Bytes received so far.
        received: Vec<u8>,
    },
    /// The answer is not HTTP, or exceeds the head limits.
    Malformed(HttpError),
}

impl HandshakeOutcome {
    /// True for a valid upgrade.
    pub fn is_upgraded(&self) -> bool {
        matches!(self, HandshakeOutcome::Upgraded { .. })
    }

    /// Status code, when a head was parsed.
    pub fn status(&self) -> Option<u16> {
        match self {
            HandshakeOutcome::Upgraded { response, .. }
            | HandshakeOutcome::Rejected { response }
            | HandshakeOutcome::Invalid { response, .. } => Some(response.status),
            _ => None,
        }
    }

    /// One line for reports.
    pub fn describe(&self) -> String {
        match self {
            HandshakeOutcome::Upgraded { accepted, response } => match &accepted.protocol {
                Some(p) => format!("{}, protocol {p}", response.status),
                None => response.status.to_string(),
            },
            HandshakeOutcome::Rejected { response } => {
                format!("HTTP {} {}", response.status, response.reason)
            }
            HandshakeOutcome::Invalid { response, error } => {
                format!(
                    "HTTP {} violating RFC 6455 §{}: {error}",
                    response.status,
                    error.rfc_section()
                )
            }
            HandshakeOutcome::ClosedBeforeResponse { received } if received.is_empty() => {
                "TCP closed without any answer".into()
            }
            HandshakeOutcome::ClosedBeforeResponse { received } => {
                format!(
                    "TCP closed after {} bytes without a complete HTTP head",
                    received.len()
                )
            }
            HandshakeOutcome::Timeout { received } => {
                format!(
                    "no complete answer in time ({} bytes received)",
                    received.len()
                )
            }
            HandshakeOutcome::Malformed(e) => format!("not an HTTP answer: {e}"),
        }
    }
}

/// Something the peer observed.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerEvent {
    /// A complete frame (and the message-level event it completed, if any).
    Frame {
        /// Arrival time, ms since the peer was opened.
        t_ms: f64,
        /// The frame.
        frame: DecodedFrame,
    },
    /// The server broke a rule (reported before the frame it belongs to, which is still
    /// delivered), or a capacity limit was exceeded (then nothing more is decoded). Every
    /// violation is reported, in the order found.
    Violation {
        /// Detection time.
        t_ms: f64,
        /// The rule.
        error: FrameError,
    },
    /// The server closed TCP (or it was reset).
    Eof {
        /// Time the end was seen.
        t_ms: f64,
        /// An IO error, when the end was not a clean FIN.
        error: Option<String>,
    },
    /// The deadline passed first.
    Timeout,
}
