//! The reference client: a conforming echo client on the kit's own peer (client role), with
//! fault switches that mirror the reference server's, so tests can show which client
//! cases catch which client bug.
//!
//! Without faults it does what the client side of Autobahn's cases asks: it echoes every
//! data message once with its type, answers each ping with one pong, sends nothing else,
//! answers the server's close with a close echoing its code (empty for an empty close),
//! fails the connection with the code of the rule the server broke (1002, 1007 for invalid
//! UTF-8, 1009 for a size limit), and leaves closing TCP to the server.

use std::fmt;
use std::time::Instant;

use crate::codec::error::{FrameError, ProtocolError};
use crate::codec::frame::{FrameSpec, Masking, OpCode};
use crate::codec::message::{Event, Message};
use crate::peer::{ConnectOptions, HandshakeOutcome, Pacing, Peer, PeerEvent, Target};

/// Deliberate client bugs. Each flag breaks one rule of RFC 6455.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientFaults {
    /// Send frames without a mask (§5.1, §5.3).
    pub unmasked_frames: bool,
    /// Mask every frame with the same key (§5.3: a fresh unpredictable key per frame).
    pub constant_mask: bool,
    /// Mask every frame with the key 0 (masking that masks nothing; §5.3).
    pub zero_mask: bool,
    /// Never answer the server's close frame (§5.5.1).
    pub no_close_reply: bool,
    /// Accept text messages that are not valid UTF-8 and echo them (§8.1).
    pub accept_invalid_utf8: bool,
    /// Answer the server's close with code 3000 instead of echoing its code (§5.5.1).
    pub wrong_close_code: bool,
    /// Go on with a 101 whose `Sec-WebSocket-Accept` is wrong (§4.1).
    pub ignore_bad_accept: bool,
    /// Never answer pings (§5.5.2).
    pub no_pong: bool,
    /// Send one pong nobody asked for right after the opening handshake (allowed by
    /// §5.5.3, but every exact-match Autobahn case records it).
    pub unsolicited_pong: bool,
}

/// A fault name [`ClientFaults::parse`] does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFault(pub String);

impl fmt::Display for UnknownFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown client fault {:?}; known: {}",
            self.0,
            ClientFaults::NAMES.join(", ")
        )
    }
}

impl std::error::Error for UnknownFault {}

impl ClientFaults {
    /// Every fault name, as [`ClientFaults::parse`] takes them.
    pub const NAMES: &'static [&'static str] = &[
        "unmasked_frames",
        "constant_mask",
        "zero_mask",
        "no_close_reply",
        "accept_invalid_utf8",
        "wrong_close_code",
        "ignore_bad_accept",
        "no_pong",
        "unsolicited_pong",
    ];

    /// Comma-separated names (empty = none).
    pub fn parse(s: &str) -> Result<ClientFaults, UnknownFault> {
        let mut f = ClientFaults::default();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "unmasked_frames" => f.unmasked_frames = true,
                "constant_mask" => f.constant_mask = true,
                "zero_mask" => f.zero_mask = true,
                "no_close_reply" => f.no_close_reply = true,
                "accept_invalid_utf8" => f.accept_invalid_utf8 = true,
                "wrong_close_code" => f.wrong_close_code = true,
                "ignore_bad_accept" => f.ignore_bad_accept = true,
                "no_pong" => f.no_pong = true,
                "unsolicited_pong" => f.unsolicited_pong = true,
                other => return Err(UnknownFault(other.to_owned())),
            }
        }
        Ok(f)
    }

    fn masking(&self) -> Masking {
        if self.unmasked_frames {
            Masking::Unmasked
        } else if self.zero_mask {
            Masking::Key([0; 4])
        } else if self.constant_mask {
            Masking::Key([0x37, 0xfa, 0x21, 0x3d])
        } else {
            Masking::Random
        }
    }
}

/// What one connection of the reference client did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRun {
    /// The opening handshake's outcome, one line.
    pub handshake: String,
    /// Messages echoed.
    pub echoed: usize,
}

/// Connects to `url` (loopback only), plays the echo client until the server closes TCP or
/// `deadline` passes.
pub async fn run(url: &str, faults: ClientFaults, deadline: Instant) -> Result<ClientRun, String> {
    let target = Target::parse(url).map_err(|e| e.to_string())?;
    let connected = tokio::time::timeout_at(
        deadline.into(),
        Peer::connect(&target, &ConnectOptions::default(), "client"),
    )
    .await
    .map_err(|_| "deadline reached while connecting".to_string())?;
    let (mut peer, outcome) = connected.map_err(|e| e.to_string())?;
    match &outcome {
        HandshakeOutcome::Upgraded { .. } => {}
        HandshakeOutcome::Invalid { .. } if faults.ignore_bad_accept => {}
        other => return Err(format!("opening handshake failed: {}", other.describe())),
    }
    let mask = faults.masking();
    let send = |peer: &mut Peer, op: OpCode, payload: Vec<u8>| {
        peer.send_frame(
            &FrameSpec::new(op, true, payload).masked(mask),
            Pacing::Plain,
        );
    };
    if faults.unsolicited_pong {
        send(&mut peer, OpCode::Pong, b"unsolicited".to_vec());
    }
    let mut closing = false;
    let mut echoed = 0;
    loop {
        match peer.recv(deadline).await {
            PeerEvent::Timeout => {
                peer.drop_tcp();
                break;
            }
            PeerEvent::Eof { .. } => break,
            PeerEvent::Violation { error, .. } => {
                if closing || (faults.accept_invalid_utf8 && is_utf8(&error)) {
                    continue;
                }
                closing = true;
                let code = error.close_code();
                send(&mut peer, OpCode::Close, code.to_be_bytes().to_vec());
            }
            PeerEvent::Frame { frame, .. } => match frame.event {
                Some(Event::Message(m)) if !closing => {
                    let (op, payload) = match m {
                        Message::Text(s) => (OpCode::Text, s.into_bytes()),
                        Message::Binary(b) if frame.raw_text => (OpCode::Text, b),
                        Message::Binary(b) => (OpCode::Binary, b),
                    };
                    send(&mut peer, op, payload);
                    echoed += 1;
                }
                Some(Event::Ping(p)) if !closing && !faults.no_pong => {
                    send(&mut peer, OpCode::Pong, p);
                }
                Some(Event::Close(c)) if !closing => {
                    closing = true;
                    if faults.no_close_reply {
                        continue;
                    }
                    let payload = match (c, faults.wrong_close_code) {
                        (_, true) => 3000u16.to_be_bytes().to_vec(),
                        (Some((code, _)), false) => code.to_be_bytes().to_vec(),
                        (None, false) => Vec::new(),
                    };
                    send(&mut peer, OpCode::Close, payload);
                }
                _ => {}
            },
        }
    }
    Ok(ClientRun {
        handshake: outcome.describe(),
        echoed,
    })
}

fn is_utf8(e: &FrameError) -> bool {
    matches!(
        e,
        FrameError::Protocol(
            ProtocolError::InvalidUtf8 { .. } | ProtocolError::InvalidCloseReason { .. }
        )
    )
}
