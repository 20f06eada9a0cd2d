//! The data a fuzzing case is made of: what to send and when, what to expect back.
//!
//! A case is a list of [`Stage`]s. Stage 0 runs when the opening handshake completes (the
//! case clock starts there, as in Autobahn); later stages run at their offset from case
//! start, and only if the connection is still OPEN, like Autobahn's `continue` timers. Each
//! stage may arm the case timer ([`CaseTimer`]). What comes back is compared with
//! [`Expectation`] by [`super::verdict`].

use std::time::Duration;

pub use crate::codec::frame::FrameSpec;
pub use crate::peer::Pacing;
use crate::report::Verdict;

/// Opcode values used by the case tables.
pub mod op {
    /// Continuation.
    pub const CONT: u8 = 0x0;
    /// Text.
    pub const TEXT: u8 = 0x1;
    /// Binary.
    pub const BINARY: u8 = 0x2;
    /// Close.
    pub const CLOSE: u8 = 0x8;
    /// Ping.
    pub const PING: u8 = 0x9;
    /// Pong.
    pub const PONG: u8 = 0xa;
}

/// Splits a message into frames the way Autobahn does: one frame if it fits, else frames of
/// `size` bytes, plus a final empty FIN continuation when the length is an exact multiple.
/// Each frame comes with an empty payload and the range of `payload` it carries, so a
/// sender can encode it without a copy ([`FrameSpec::encode_payload_to`]).
pub fn fragment_ranges(
    opcode: u8,
    len: usize,
    size: Option<usize>,
) -> Vec<(FrameSpec, std::ops::Range<usize>)> {
    let size = match size {
        Some(s) if s > 0 && len > s => s,
        _ => return vec![(FrameSpec::new(opcode, true, Vec::new()), 0..len)],
    };
    let n = len.div_ceil(size);
    let exact = len.is_multiple_of(size);
    let mut out = Vec::with_capacity(n + 1);
    for i in 0..n {
        let op = if i == 0 { opcode } else { op::CONT };
        let range = i * size..((i + 1) * size).min(len);
        out.push((FrameSpec::new(op, i + 1 == n && !exact, Vec::new()), range));
    }
    if exact {
        out.push((FrameSpec::new(op::CONT, true, Vec::new()), len..len));
    }
    out
}

/// [`fragment_ranges`] with each frame's payload filled in.
pub fn fragment(opcode: u8, payload: &[u8], size: Option<usize>) -> Vec<FrameSpec> {
    fragment_ranges(opcode, payload.len(), size)
        .into_iter()
        .map(|(mut f, r)| {
            f.payload = payload[r].to_vec();
            f
        })
        .collect()
}

/// Something a stage does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Write one frame. Raw frames never change the fuzzer state (a raw close included).
    Frame(FrameSpec, Pacing),
    /// Write a data message, fragmented at `fragment` bytes if given; `mode` applies to
    /// every frame.
    Message {
        /// Text or binary opcode.
        opcode: u8,
        /// The whole message.
        payload: Vec<u8>,
        /// Fragment size (Autobahn `fragmentSize`).
        fragment: Option<usize>,
        /// Write primitive for each frame.
        mode: Pacing,
    },
    /// Start the closing handshake through the protocol path with this exact payload (may
    /// be empty, one byte, over-long or invalid); ignored unless the connection is OPEN.
    Close(Vec<u8>),
    /// Pre-encoded wire bytes, one write (pieces of a streamed frame, 6.4.3/6.4.4).
    Bytes(Vec<u8>),
    /// One frame written in writes of `size` bytes, back to back at wire speed (9.5/9.6).
    /// Autobahn puts a reactor turn between the chops; the verdict (echo type and length)
    /// does not depend on it, and 16 384 turns of ~70 µs cost more than a second per case.
    Chunked {
        /// The frame.
        frame: FrameSpec,
        /// Bytes per write.
        size: usize,
    },
}

impl Action {
    /// A single masked frame written back-to-back.
    pub fn frame(opcode: u8, fin: bool, payload: impl Into<Vec<u8>>) -> Action {
        Action::Frame(FrameSpec::new(opcode, fin, payload), Pacing::Plain)
    }

    /// A single masked frame with a write mode.
    pub fn frame_mode(opcode: u8, fin: bool, payload: impl Into<Vec<u8>>, m: Pacing) -> Action {
        Action::Frame(FrameSpec::new(opcode, fin, payload), m)
    }

    /// An unfragmented message.
    pub fn message(opcode: u8, payload: impl Into<Vec<u8>>) -> Action {
        Action::Message {
            opcode,
            payload: payload.into(),
            fragment: None,
            mode: Pacing::Plain,
        }
    }

    /// A protocol close with a status code and reason.
    pub fn close(code: u16, reason: &[u8]) -> Action {
        Action::Close(crate::codec::close::close_payload(code, reason))
    }
}

/// The case timer (Autobahn's `killAfter` / `closeAfter`), relative to when it is armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseTimer {
    /// Fail the connection: close 1001 if OPEN, drop TCP if CLOSING.
    Kill(Duration),
    /// Start a normal close with an empty close payload; ignored if already CLOSING.
    Close(Duration),
}

impl CaseTimer {
    /// The delay.
    pub fn after(self) -> Duration {
        match self {
            CaseTimer::Kill(d) | CaseTimer::Close(d) => d,
        }
    }
}

/// A step of a case.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Offset from case start.
    pub at: Duration,
    /// Pseudo-event recorded when the stage runs (6.4.x `timeout A` / `timeout B`).
    pub tag: Option<&'static str>,
    /// What to send.
    pub actions: Vec<Action>,
    /// Timer armed after the actions.
    pub arm: Option<CaseTimer>,
}

impl Stage {
    /// The stage run at case start.
    pub fn start(actions: Vec<Action>, arm: CaseTimer) -> Stage {
        Stage {
            at: Duration::ZERO,
            tag: None,
            actions,
            arm: Some(arm),
        }
    }
}

/// One recorded observation (Autobahn's `received` list entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Obs {
    /// A complete data message.
    Message {
        /// Payload bytes.
        payload: Vec<u8>,
        /// Binary (true) or text.
        binary: bool,
    },
    /// A pong frame.
    Pong(Vec<u8>),
    /// A staged case's pause elapsed with the connection still OPEN.
    Timeout(String),
}

impl Obs {
    /// A text message.
    pub fn text(p: impl Into<Vec<u8>>) -> Obs {
        Obs::Message {
            payload: p.into(),
            binary: false,
        }
    }
    /// A binary message.
    pub fn binary(p: impl Into<Vec<u8>>) -> Obs {
        Obs::Message {
            payload: p.into(),
            binary: true,
        }
    }
    /// A pong.
    pub fn pong(p: impl Into<Vec<u8>>) -> Obs {
        Obs::Pong(p.into())
    }
}

/// Autobahn's `expectedClose`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedClose {
    /// Whether the kit is expected to send the first close frame.
    pub closed_by_me: bool,
    /// Close codes the server may send (a missing code is always accepted).
    pub codes: Vec<u16>,
    /// Whether a close frame from the server (and TCP close in time) is required.
    pub require_clean: bool,
}

impl ExpectedClose {
    /// `me [1000] clean`: the kit closes normally.
    pub fn normal() -> Self {
        ExpectedClose {
            closed_by_me: true,
            codes: vec![1000],
            require_clean: true,
        }
    }
    /// `peer [codes] any`: the server fails the connection.
    pub fn peer(codes: &[u16]) -> Self {
        ExpectedClose {
            closed_by_me: false,
            codes: codes.to_vec(),
            require_clean: false,
        }
    }
    /// `me [codes] clean|any`.
    pub fn me(codes: &[u16], require_clean: bool) -> Self {
        ExpectedClose {
            closed_by_me: true,
            codes: codes.to_vec(),
            require_clean,
        }
    }
}

/// Case-specific verdict overrides (Autobahn section 1.4 plus the extra checks' grading).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rules {
    /// `closedByWrongEndpointIsFatal`: the wrong closer makes the behaviour FAILED.
    pub wrong_endpoint_fatal: bool,
    /// Category 7: a WRONG CODE close verdict makes the behaviour FAILED.
    pub wrong_code_fails: bool,
    /// 7.1.6, 7.13.x: both verdicts are INFORMATIONAL whatever happened.
    pub informational: bool,
    /// Extra checks: the close verdict feeds the behaviour (FAILED, UNCLEAN and FAILED BY
    /// CLIENT become FAILED; WRONG CODE becomes `wrong_code_grade`).
    pub close_feeds_behavior: bool,
    /// With `close_feeds_behavior`: what a WRONG CODE close verdict turns the behaviour into.
    pub wrong_code_grade: Option<Verdict>,
    /// With `close_feeds_behavior`: what an UNCLEAN close verdict turns the behaviour into
    /// (FAILED when unset; NON-STRICT where the clean close is a SHOULD).
    pub unclean_grade: Option<Verdict>,
    /// 10.1.1: the kit must itself have sent exactly (text frames, continuation frames).
    pub self_check: Option<(usize, usize)>,
}

/// Message-driven behaviour of the limits cases (9.x), which replaces event matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handler {
    /// 9.1-9.6: the first message decides: OK iff type and length match; then close 1000.
    FirstMessage {
        /// Expected type.
        binary: bool,
        /// Expected byte length.
        len: usize,
    },
    /// 9.7/9.8: send `count` messages (Autobahn: each after the previous echo; the kit:
    /// all at once, pipelined, see [`super::fuzzer`]);
    /// every echo must match type and length.
    Sequential {
        /// Message type.
        binary: bool,
        /// Payload of every message.
        payload: Vec<u8>,
        /// Number of round trips.
        count: usize,
    },
}

/// What a conforming server produces, and how to grade deviations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// Outcome → event list, in evaluation order (OK first, then NON-STRICT).
    pub outcomes: Vec<(Verdict, Vec<Obs>)>,
    /// Closing handshake expectation.
    pub close: ExpectedClose,
    /// Overrides.
    pub rules: Rules,
    /// Set for 9.x: behaviour comes from the handler instead of event matching.
    pub handler: Option<Handler>,
}

impl Expectation {
    /// A single OK outcome.
    pub fn ok(events: Vec<Obs>, close: ExpectedClose) -> Self {
        Expectation {
            outcomes: vec![(Verdict::Ok, events)],
            close,
            rules: Rules::default(),
            handler: None,
        }
    }

    /// OK and NON-STRICT outcomes.
    pub fn ok_or_non_strict(ok: Vec<Obs>, non_strict: Vec<Obs>, close: ExpectedClose) -> Self {
        Expectation {
            outcomes: vec![(Verdict::Ok, ok), (Verdict::NonStrict, non_strict)],
            close,
            rules: Rules::default(),
            handler: None,
        }
    }

    /// Sets the overrides.
    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }
}

/// A complete fuzzing case.
#[derive(Debug, Clone)]
pub struct FuzzSpec {
    /// Steps; the first one runs at case start.
    pub stages: Vec<Stage>,
    /// What a conforming server does.
    pub expect: Expectation,
    /// Extra text for the report's `expected` line (why these outcomes).
    pub note: Option<String>,
}

impl FuzzSpec {
    /// A one-stage case.
    pub fn simple(actions: Vec<Action>, timer: CaseTimer, expect: Expectation) -> Self {
        FuzzSpec {
            stages: vec![Stage::start(actions, timer)],
            expect,
            note: None,
        }
    }

    /// Adds a note for the `expected` line.
    pub fn note(mut self, n: impl Into<String>) -> Self {
        self.note = Some(n.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragmentation_rule_matches_autobahn() {
        // 6.2.3: 29 one-byte frames with FIN=0 plus an empty FIN continuation.
        let f = fragment(op::TEXT, &[b'a'; 29], Some(1));
        assert_eq!(f.len(), 30);
        assert!(f[..29].iter().all(|x| !x.fin && x.payload.len() == 1));
        assert_eq!(f[0].opcode, op::TEXT.into());
        assert!(f[1..].iter().all(|x| x.opcode == op::CONT.into()));
        assert!(f[29].fin && f[29].payload.is_empty());
        // 10.1.1: 65536 at 1300: 1 text + 50 continuations, no trailing empty frame.
        let f = fragment(op::TEXT, &[b'*'; 65536], Some(1300));
        assert_eq!(f.len(), 51);
        assert_eq!(f[50].payload.len(), 536);
        assert!(f[50].fin);
        // 9.3.9: a message exactly one fragment long goes as one frame.
        let f = fragment(op::TEXT, &[b'*'; 64], Some(64));
        assert_eq!(f.len(), 1);
        assert!(f[0].fin);
    }
}
