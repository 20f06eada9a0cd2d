//! Header-level differential between our `parse_header` and tungstenite's `FrameHeader::parse`.
//!
//! This file is the single allow-list of legitimate differences. The `differential` fuzz
//! target, `tests/prop/differential.rs` and `tests/fuzz_corpus_replay.rs` all use it, so
//! the property test and the fuzz target judge a mismatch by the same rules.
//!
//! How an input is judged:
//!
//! 1. Both parsers run on the same bytes (ours with [`HeaderRules::any_role`], so the
//!    masking rule of §5.1 is out of the picture) and their answers are normalised into an
//!    [`Outcome`]: a header, "need more bytes", or a rejection.
//! 2. Independently of both parsers, the raw bytes are read by [`Wire`], a deliberately
//!    naive model of the §5.2 layout. Each [`Allowed`] entry has a predicate over `Wire`
//!    only (never over a parser's answer); the predicates are mutually exclusive and
//!    [`classify`] checks that at most one holds.
//! 3. No predicate holds: both outcomes must be equal. One holds: each side must give
//!    exactly the outcome the entry documents (ours a specific rejection, tungstenite
//!    "need more" or the header the raw bytes describe). Anything else is an error, so an
//!    entry cannot silently hide a different bug.
//!
//! tungstenite 0.30's header parser (`protocol/frame/frame.rs`, `parse_internal`) reads
//! two bytes, the extended length and the mask, returns `None` if any of these is missing,
//! and only then rejects a reserved opcode (`InvalidOpcode`). It checks nothing else: RSV
//! bits, fragmented or oversized control frames and the length's top bit are left to its
//! read path (`protocol/mod.rs`) or not checked at all. Our parser enforces those rules at
//! the header, as soon as the bytes that prove them are present.

use std::fmt;
use std::io::Cursor;

use wsspec::codec::frame::{parse_header, HeaderRules, Status};
use wsspec::codec::ProtocolError;

/// What a header parser said about a byte string, in a form both parsers map to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A complete header and the number of bytes it occupies.
    Header(Fields),
    /// More bytes are needed.
    Incomplete,
    /// The bytes can never start a valid frame.
    Reject(Reject),
}

/// The header fields both parsers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    /// FIN bit.
    pub fin: bool,
    /// RSV1..3 as a 3-bit number (RSV1 = 4).
    pub rsv: u8,
    /// 4-bit opcode.
    pub opcode: u8,
    /// Masking key.
    pub mask: Option<[u8; 4]>,
    /// Announced payload length.
    pub len: u64,
    /// Bytes consumed by the header.
    pub header_len: usize,
}

/// Why a parser rejected a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// Opcode 0x3-0x7 or 0xB-0xF.
    ReservedOpcode(u8),
    /// RSV bits set.
    ReservedBits(u8),
    /// Control frame with FIN=0.
    FragmentedControl,
    /// Control frame longer than 125.
    ControlTooLong(u64),
    /// 64-bit length with the most significant bit set.
    LengthTopBit,
    /// Any other error; never expected with these rules.
    Other(String),
}

/// Our parser's answer, normalised.
pub fn ours(input: &[u8]) -> Outcome {
    match parse_header(input, HeaderRules::any_role()) {
        Ok(Status::Complete(h, n)) => Outcome::Header(Fields {
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode.as_u8(),
            mask: h.mask,
            len: h.payload_len,
            header_len: n,
        }),
        Ok(Status::Partial(_)) => Outcome::Incomplete,
        Err(e) => Outcome::Reject(match e {
            ProtocolError::ReservedOpcode(op) => Reject::ReservedOpcode(op),
            ProtocolError::ReservedBitsSet { rsv } => Reject::ReservedBits(rsv),
            ProtocolError::FragmentedControlFrame => Reject::FragmentedControl,
            ProtocolError::ControlFrameTooLong(n) => Reject::ControlTooLong(n),
            ProtocolError::LengthTopBitSet => Reject::LengthTopBit,
            other => Reject::Other(format!("{other:?}")),
        }),
    }
}

/// tungstenite's answer, normalised.
pub fn theirs(input: &[u8]) -> Outcome {
    use tungstenite::error::{Error, ProtocolError as TProto};
    let mut cursor = Cursor::new(input);
    match tungstenite::protocol::frame::FrameHeader::parse(&mut cursor) {
        Ok(Some((h, len))) => Outcome::Header(Fields {
            fin: h.is_final,
            rsv: (u8::from(h.rsv1) << 2) | (u8::from(h.rsv2) << 1) | u8::from(h.rsv3),
            opcode: u8::from(h.opcode),
            mask: h.mask,
            len,
            header_len: cursor.position() as usize,
        }),
        Ok(None) => Outcome::Incomplete,
        Err(Error::Protocol(TProto::InvalidOpcode(op))) => {
            Outcome::Reject(Reject::ReservedOpcode(op))
        }
        Err(e) => Outcome::Reject(Reject::Other(format!("{e:?}"))),
    }
}

/// A naive reading of the raw bytes per the §5.2 diagram, used by the allow-list predicates.
#[derive(Debug, Clone, Copy)]
pub struct Wire<'a>(pub &'a [u8]);

impl Wire<'_> {
    fn b0(&self) -> Option<u8> {
        self.0.first().copied()
    }
    fn b1(&self) -> Option<u8> {
        self.0.get(1).copied()
    }
    /// The 4-bit opcode, once byte 0 is present.
    pub fn opcode(&self) -> Option<u8> {
        self.b0().map(|b| b & 0x0f)
    }
    /// Whether the opcode is one of the reserved values (§5.2).
    pub fn reserved_opcode(&self) -> bool {
        matches!(self.opcode(), Some(0x3..=0x7 | 0xb..=0xf))
    }
    /// Control opcodes have the high opcode bit set (§5.5).
    pub fn control(&self) -> bool {
        self.opcode().is_some_and(|o| o & 0x08 != 0)
    }
    /// FIN bit.
    pub fn fin(&self) -> bool {
        self.b0().is_some_and(|b| b & 0x80 != 0)
    }
    /// RSV1..3.
    pub fn rsv(&self) -> u8 {
        self.b0().map_or(0, |b| (b >> 4) & 0x07)
    }
    /// The 7-bit length field, once byte 1 is present.
    pub fn len7(&self) -> Option<u8> {
        self.b1().map(|b| b & 0x7f)
    }
    fn masked(&self) -> bool {
        self.b1().is_some_and(|b| b & 0x80 != 0)
    }
    fn ext_bytes(&self) -> Option<usize> {
        self.len7().map(|l| match l {
            126 => 2,
            127 => 8,
            _ => 0,
        })
    }
    /// The full header length, once byte 1 is present.
    pub fn header_len(&self) -> Option<usize> {
        Some(2 + self.ext_bytes()? + if self.masked() { 4 } else { 0 })
    }
    /// Whether every header byte is present.
    pub fn header_complete(&self) -> bool {
        self.header_len().is_some_and(|n| self.0.len() >= n)
    }
    /// The payload length, once the length field (with its extension) is present.
    pub fn length(&self) -> Option<u64> {
        let ext = self.ext_bytes()?;
        let len7 = self.len7()?;
        if self.0.len() < 2 + ext {
            return None;
        }
        Some(match ext {
            0 => u64::from(len7),
            _ => self.0[2..2 + ext]
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        })
    }
    /// Whether the 64-bit form is used.
    pub fn uses_u64(&self) -> bool {
        self.len7() == Some(127)
    }
    /// The header these bytes describe, once complete.
    pub fn fields(&self) -> Option<Fields> {
        if !self.header_complete() {
            return None;
        }
        let hl = self.header_len()?;
        Some(Fields {
            fin: self.fin(),
            rsv: self.rsv(),
            opcode: self.opcode()?,
            mask: self.masked().then(|| {
                [
                    self.0[hl - 4],
                    self.0[hl - 3],
                    self.0[hl - 2],
                    self.0[hl - 1],
                ]
            }),
            len: self.length()?,
            header_len: hl,
        })
    }
    /// What tungstenite's header parser must say when it does not reject: the header or
    /// "need more".
    fn lenient(&self) -> Outcome {
        self.fields().map_or(Outcome::Incomplete, Outcome::Header)
    }
}

/// The allow-list: every way our header parser may legitimately differ from tungstenite's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Allowed {
    /// Early rejection of a reserved opcode.
    EarlyReservedOpcode,
    /// RSV bits without a negotiated extension.
    RsvWithoutExtension,
    /// Control frame with FIN=0.
    FragmentedControlFrame,
    /// Control frame whose announced length exceeds 125.
    ControlFrameTooLong,
    /// 64-bit length with the most significant bit set.
    LengthTopBitSet,
}

impl Allowed {
    /// Every entry, in the order their predicates are documented.
    pub const ALL: [Allowed; 5] = [
        Allowed::EarlyReservedOpcode,
        Allowed::RsvWithoutExtension,
        Allowed::FragmentedControlFrame,
        Allowed::ControlFrameTooLong,
        Allowed::LengthTopBitSet,
    ];

    /// The RFC 6455 rule that justifies the difference.
    pub fn rfc(self) -> &'static str {
        match self {
            Allowed::EarlyReservedOpcode => {
                "§5.2: opcodes 0x3-0x7/0xB-0xF are reserved and the receiver MUST fail the \
                 connection; byte 0 alone proves it, so we reject at once while tungstenite \
                 waits for the whole header (2-14 bytes) before returning InvalidOpcode"
            }
            Allowed::RsvWithoutExtension => {
                "§5.2: RSV1-3 MUST be 0 unless a negotiated extension defines them; with no \
                 extension we reject at the header, tungstenite's header parser accepts them \
                 (its read path rejects later with NonZeroReservedBits)"
            }
            Allowed::FragmentedControlFrame => {
                "§5.5: control frames MUST NOT be fragmented; we reject FIN=0 on a control \
                 opcode at the header, tungstenite checks it after reading the payload"
            }
            Allowed::ControlFrameTooLong => {
                "§5.5: control frames MUST have a payload length <= 125; we reject as soon as \
                 the length field proves it, tungstenite checks it after reading the payload"
            }
            Allowed::LengthTopBitSet => {
                "§5.2: in the 64-bit length form the most significant bit MUST be 0; we \
                 reject it, tungstenite's header parser returns the length as is (its read \
                 path then reports a capacity error against max_frame_size)"
            }
        }
    }

    /// The predicate over the raw bytes. Mutually exclusive by construction: each entry
    /// excludes the conditions of the entries before it, in the order our parser checks them.
    pub fn applies(self, w: &Wire<'_>) -> bool {
        if w.0.is_empty() {
            return false;
        }
        let valid_op = !w.reserved_opcode();
        match self {
            Allowed::EarlyReservedOpcode => w.reserved_opcode() && !w.header_complete(),
            Allowed::RsvWithoutExtension => valid_op && w.rsv() != 0,
            Allowed::FragmentedControlFrame => valid_op && w.rsv() == 0 && w.control() && !w.fin(),
            Allowed::ControlFrameTooLong => {
                valid_op
                    && w.rsv() == 0
                    && w.control()
                    && w.fin()
                    && w.length().is_some_and(|l| l > 125)
            }
            Allowed::LengthTopBitSet => {
                valid_op
                    && w.rsv() == 0
                    && !w.control()
                    && w.uses_u64()
                    && w.length().is_some_and(|l| l >> 63 == 1)
            }
        }
    }

    /// The exact pair of outcomes (ours, tungstenite's) this entry permits for `w`.
    pub fn expected(self, w: &Wire<'_>) -> (Outcome, Outcome) {
        let ours = match self {
            Allowed::EarlyReservedOpcode => {
                Reject::ReservedOpcode(w.opcode().expect("predicate needs byte 0"))
            }
            Allowed::RsvWithoutExtension => Reject::ReservedBits(w.rsv()),
            Allowed::FragmentedControlFrame => Reject::FragmentedControl,
            Allowed::ControlFrameTooLong => {
                Reject::ControlTooLong(w.length().expect("predicate needs the length"))
            }
            Allowed::LengthTopBitSet => Reject::LengthTopBit,
        };
        let theirs = match self {
            Allowed::EarlyReservedOpcode => Outcome::Incomplete,
            _ => w.lenient(),
        };
        (Outcome::Reject(ours), theirs)
    }
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}: {}", self.rfc())
    }
}

/// The verdict on one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Both parsers gave the same outcome.
    Agree,
    /// A documented difference, exactly as documented.
    Allowed(Allowed),
}

/// Runs both parsers on `input` and judges the result; `Err` describes an unexplained
/// mismatch (a bug in one parser or a missing allow-list entry).
pub fn classify(input: &[u8]) -> Result<Verdict, String> {
    let w = Wire(input);
    let a = ours(input);
    let b = theirs(input);
    let matching: Vec<Allowed> = Allowed::ALL.into_iter().filter(|e| e.applies(&w)).collect();
    match matching.as_slice() {
        [] if a == b => Ok(Verdict::Agree),
        [] => Err(format!(
            "unexplained mismatch on {input:02x?}: ours {a:?}, tungstenite {b:?}"
        )),
        [entry] => {
            let (ea, eb) = entry.expected(&w);
            if a == ea && b == eb {
                Ok(Verdict::Allowed(*entry))
            } else {
                Err(format!(
                    "input {input:02x?} falls under {entry:?} but the outcomes differ from it: \
                     ours {a:?} (expected {ea:?}), tungstenite {b:?} (expected {eb:?})"
                ))
            }
        }
        many => Err(format!(
            "allow-list predicates overlap on {input:02x?}: {many:?}"
        )),
    }
}

/// One hand-made witness per entry, so tests can prove each entry is reachable.
pub fn witnesses() -> Vec<(Allowed, Vec<u8>)> {
    vec![
        (Allowed::EarlyReservedOpcode, vec![0x83]),
        (Allowed::RsvWithoutExtension, vec![0xc1, 0x00]),
        (Allowed::FragmentedControlFrame, vec![0x09, 0x00]),
        (Allowed::ControlFrameTooLong, vec![0x89, 126, 0x00, 0x7e]),
        (
            Allowed::LengthTopBitSet,
            vec![0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]
}
