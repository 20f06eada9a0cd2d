//! Typed errors of the codec, one enum per layer.
//!
//! Each variant is named after the rule it enforces and cites the RFC 6455 section in its
//! doc comment, so that a report can say *which* rule a peer broke. Protocol violations
//! (the peer broke a MUST) are kept apart from capacity limits (the peer may be right but
//! we refuse to buffer that much), like tungstenite does, because a conformance kit grades
//! them differently: a 1002 versus a 1009.

use std::fmt;

/// A frame-level or message-level violation of RFC 6455.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolError {
    /// §5.2: RSV1, RSV2 and RSV3 MUST be 0 unless an extension defining them was negotiated.
    /// `rsv` is the 3-bit field as Autobahn numbers it (4 = RSV1, 2 = RSV2, 1 = RSV3).
    ReservedBitsSet {
        /// The RSV field of the offending frame.
        rsv: u8,
    },
    /// §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved; a receiver MUST fail the connection.
    ReservedOpcode(u8),
    /// §5.5: control frames MUST NOT be fragmented (FIN must be set).
    FragmentedControlFrame,
    /// §5.5: control frames MUST have a payload length of 125 bytes or less.
    ControlFrameTooLong(u64),
    /// §5.2: in the 64-bit length form the most significant bit MUST be 0.
    LengthTopBitSet,
    /// §5.1 and §5.3: a server MUST close the connection on an unmasked client frame.
    UnmaskedClientFrame,
    /// §5.1: a client MUST close the connection on a masked server frame.
    MaskedServerFrame,
    /// §5.2: "the minimal number of bytes MUST be used to encode the length". The rule is on
    /// the sender; whether a receiver fails the connection for it is configuration
    /// ([`Leniency::RECEIVER`] tolerates it, Autobahn's client does not).
    NonMinimalLength {
        /// The payload length that was encoded in a longer form than needed.
        len: u64,
    },
    /// §5.4: a continuation frame arrived with no fragmented message in progress.
    ContinuationWithoutMessage,
    /// §5.4: a new text/binary frame arrived while a fragmented message was still open.
    DataFrameInsideMessage,
    /// §5.6 and §8.1: a text message (or close reason, §5.5.1) is not valid UTF-8.
    /// `offset` is the byte offset within the message where it became invalid.
    InvalidUtf8 {
        /// Offset of the first byte that proves the sequence invalid.
        offset: u64,
    },
    /// §5.5.1: a close payload, if present, starts with a 2-byte code; 1 byte is invalid.
    CloseLengthOne,
    /// §7.4: the close code is not one an endpoint may send (see [`crate::codec::close`]).
    InvalidCloseCode(u16),
    /// §5.5.1: the close reason MUST be UTF-8.
    InvalidCloseReason {
        /// Offset within the reason where it became invalid.
        offset: u64,
    },
    /// RFC 7692 §6: with permessage-deflate in use, RSV1 ("Per-Message Compressed") MUST NOT
    /// be set on a control frame.
    Rsv1OnControlFrame {
        /// The frame's opcode.
        opcode: u8,
    },
    /// RFC 7692 §6: RSV1 is set on the first frame of a message only, never on a continuation.
    Rsv1OnContinuation,
    /// RFC 7692 §7.2.2: a compressed message (with `00 00 ff ff` appended) is not valid
    /// DEFLATE data, or stops inside a block (§7.2.1).
    InvalidCompressedData,
}

impl ProtocolError {
    /// The close code RFC 6455 §7.4.1 suggests when failing the connection for this error.
    pub fn close_code(self) -> u16 {
        match self {
            ProtocolError::InvalidUtf8 { .. }
            | ProtocolError::InvalidCloseReason { .. }
            | ProtocolError::InvalidCompressedData => 1007,
            _ => 1002,
        }
    }

    /// The RFC 6455 section this error enforces.
    pub fn rfc_section(self) -> &'static str {
        match self {
            ProtocolError::ReservedBitsSet { .. }
            | ProtocolError::ReservedOpcode(_)
            | ProtocolError::LengthTopBitSet
            | ProtocolError::NonMinimalLength { .. } => "5.2",
            ProtocolError::FragmentedControlFrame | ProtocolError::ControlFrameTooLong(_) => "5.5",
            ProtocolError::UnmaskedClientFrame | ProtocolError::MaskedServerFrame => "5.1",
            ProtocolError::ContinuationWithoutMessage | ProtocolError::DataFrameInsideMessage => {
                "5.4"
            }
            ProtocolError::InvalidUtf8 { .. } => "8.1",
            ProtocolError::CloseLengthOne | ProtocolError::InvalidCloseReason { .. } => "5.5.1",
            ProtocolError::InvalidCloseCode(_) => "7.4",
            ProtocolError::Rsv1OnControlFrame { .. } | ProtocolError::Rsv1OnContinuation => "6",
            ProtocolError::InvalidCompressedData => "7.2.2",
        }
    }

    /// The RFC whose section [`ProtocolError::rfc_section`] names: RFC 7692 for the
    /// permessage-deflate rules, RFC 6455 for the rest.
    pub fn rfc(self) -> &'static str {
        match self {
            ProtocolError::Rsv1OnControlFrame { .. }
            | ProtocolError::Rsv1OnContinuation
            | ProtocolError::InvalidCompressedData => "RFC 7692",
            _ => "RFC 6455",
        }
    }
}

/// The rule a [`ProtocolError`] enforces, without the details of the violation: what a
/// [`Leniency`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// [`ProtocolError::ReservedBitsSet`].
    ReservedBits,
    /// [`ProtocolError::ReservedOpcode`].
    ReservedOpcode,
    /// [`ProtocolError::FragmentedControlFrame`].
    FragmentedControl,
    /// [`ProtocolError::ControlFrameTooLong`].
    ControlTooLong,
    /// [`ProtocolError::LengthTopBitSet`].
    LengthTopBit,
    /// [`ProtocolError::UnmaskedClientFrame`] and [`ProtocolError::MaskedServerFrame`].
    Masking,
    /// [`ProtocolError::NonMinimalLength`].
    NonMinimalLength,
    /// [`ProtocolError::ContinuationWithoutMessage`].
    ContinuationWithoutMessage,
    /// [`ProtocolError::DataFrameInsideMessage`].
    DataFrameInsideMessage,
    /// [`ProtocolError::InvalidUtf8`].
    InvalidUtf8,
    /// [`ProtocolError::CloseLengthOne`].
    CloseLengthOne,
    /// [`ProtocolError::InvalidCloseCode`].
    InvalidCloseCode,
    /// [`ProtocolError::InvalidCloseReason`].
    InvalidCloseReason,
    /// [`ProtocolError::Rsv1OnControlFrame`] and [`ProtocolError::Rsv1OnContinuation`].
    Rsv1Placement,
    /// [`ProtocolError::InvalidCompressedData`].
    CompressedData,
}

impl ProtocolError {
    /// The rule this error enforces.
    pub const fn rule(self) -> Rule {
        match self {
            ProtocolError::ReservedBitsSet { .. } => Rule::ReservedBits,
            ProtocolError::ReservedOpcode(_) => Rule::ReservedOpcode,
            ProtocolError::FragmentedControlFrame => Rule::FragmentedControl,
            ProtocolError::ControlFrameTooLong(_) => Rule::ControlTooLong,
            ProtocolError::LengthTopBitSet => Rule::LengthTopBit,
            ProtocolError::UnmaskedClientFrame | ProtocolError::MaskedServerFrame => Rule::Masking,
            ProtocolError::NonMinimalLength { .. } => Rule::NonMinimalLength,
            ProtocolError::ContinuationWithoutMessage => Rule::ContinuationWithoutMessage,
            ProtocolError::DataFrameInsideMessage => Rule::DataFrameInsideMessage,
            ProtocolError::InvalidUtf8 { .. } => Rule::InvalidUtf8,
            ProtocolError::CloseLengthOne => Rule::CloseLengthOne,
            ProtocolError::InvalidCloseCode(_) => Rule::InvalidCloseCode,
            ProtocolError::InvalidCloseReason { .. } => Rule::InvalidCloseReason,
            ProtocolError::Rsv1OnControlFrame { .. } | ProtocolError::Rsv1OnContinuation => {
                Rule::Rsv1Placement
            }
            ProtocolError::InvalidCompressedData => Rule::CompressedData,
        }
    }
}

/// Which protocol rules a reader tolerates: a violation of a tolerated rule is recorded and
/// reading goes on as if the rule did not exist; any other violation fails the stream.
///
/// This is the decoder's leniency as configuration, in the spirit of httparse's
/// `ParserConfig`: the reference server's fault switches, the strict receiver and Autobahn's
/// client (which fails the connection but keeps reading to see the closing handshake) are
/// three values of this type over one decoder. Capacity limits are never tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Leniency(u16);

impl Leniency {
    /// Every rule enforced.
    pub const STRICT: Leniency = Leniency(0);
    /// What an RFC 6455 receiver enforces: every rule except the sender-side minimal length
    /// encoding (§5.2 states it for the sender; tungstenite and most servers accept it).
    pub const RECEIVER: Leniency = Leniency::STRICT.allow(Rule::NonMinimalLength);
    /// Every rule tolerated and recorded (a client that judges, like Autobahn's fuzzer).
    pub const ALL: Leniency = Leniency(u16::MAX);

    /// This leniency with `rule` tolerated as well.
    pub const fn allow(self, rule: Rule) -> Leniency {
        Leniency(self.0 | 1 << rule as u16)
    }

    /// Whether a violation of `rule` is recorded rather than failing the stream.
    pub const fn allows(self, rule: Rule) -> bool {
        self.0 & 1 << rule as u16 != 0
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedBitsSet { rsv } => {
                write!(
                    f,
                    "reserved bits set (RSV={rsv}) without a negotiated extension"
                )
            }
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode 0x{op:x}"),
            ProtocolError::FragmentedControlFrame => write!(f, "fragmented control frame"),
            ProtocolError::ControlFrameTooLong(n) => {
                write!(f, "control frame payload of {n} bytes (limit 125)")
            }
            ProtocolError::LengthTopBitSet => {
                write!(f, "64-bit payload length with the top bit set")
            }
            ProtocolError::UnmaskedClientFrame => write!(f, "unmasked frame from a client"),
            ProtocolError::MaskedServerFrame => write!(f, "masked frame from a server"),
            ProtocolError::NonMinimalLength { len } => {
                write!(f, "non-minimal length encoding (payload length {len})")
            }
            ProtocolError::ContinuationWithoutMessage => {
                write!(f, "continuation frame with no message in progress")
            }
            ProtocolError::DataFrameInsideMessage => {
                write!(f, "new data frame inside a fragmented message")
            }
            ProtocolError::InvalidUtf8 { offset } => {
                write!(f, "invalid UTF-8 in text message at byte {offset}")
            }
            ProtocolError::CloseLengthOne => write!(f, "close frame with a 1-byte payload"),
            ProtocolError::InvalidCloseCode(c) => write!(f, "invalid close code {c}"),
            ProtocolError::InvalidCloseReason { offset } => {
                write!(f, "close reason is not UTF-8 (byte {offset})")
            }
            ProtocolError::Rsv1OnControlFrame { opcode } => {
                write!(f, "RSV1 set on a control frame (opcode 0x{opcode:x})")
            }
            ProtocolError::Rsv1OnContinuation => write!(f, "RSV1 set on a continuation frame"),
            ProtocolError::InvalidCompressedData => {
                write!(f, "compressed message is not valid DEFLATE data")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// A limit this endpoint sets on what it buffers. Not a protocol violation by the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CapacityError {
    /// A frame's announced payload exceeds the configured frame limit (answer: 1009, §7.4.1).
    FrameTooLarge {
        /// Announced payload length.
        size: u64,
        /// Configured limit.
        limit: u64,
    },
    /// A (possibly fragmented) message grew beyond the configured limit (1009, §7.4.1).
    MessageTooLarge {
        /// Size the message would have reached.
        size: u64,
        /// Configured limit.
        limit: u64,
    },
    /// The HTTP head of the opening handshake did not end within the size limit (§4.1, §4.2.1).
    HeadTooLarge {
        /// Configured limit in bytes.
        limit: usize,
    },
    /// More header lines than the configured limit.
    TooManyHeaders {
        /// Configured limit.
        limit: usize,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityError::FrameTooLarge { size, limit } => {
                write!(
                    f,
                    "frame payload of {size} bytes exceeds the limit of {limit}"
                )
            }
            CapacityError::MessageTooLarge { size, limit } => {
                write!(f, "message of {size} bytes exceeds the limit of {limit}")
            }
            CapacityError::HeadTooLarge { limit } => {
                write!(f, "HTTP head larger than {limit} bytes")
            }
            CapacityError::TooManyHeaders { limit } => write!(f, "more than {limit} header lines"),
        }
    }
}

impl std::error::Error for CapacityError {}

/// Error of message assembly: either the peer broke a rule or a limit was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameError {
    /// The peer violated RFC 6455.
    Protocol(ProtocolError),
    /// A local limit was exceeded.
    Capacity(CapacityError),
}

impl FrameError {
    /// The close code to fail the connection with (§7.4.1: 1002, 1007 or 1009).
    pub fn close_code(self) -> u16 {
        match self {
            FrameError::Protocol(p) => p.close_code(),
            FrameError::Capacity(_) => 1009,
        }
    }
}

impl From<ProtocolError> for FrameError {
    fn from(e: ProtocolError) -> Self {
        FrameError::Protocol(e)
    }
}

impl From<CapacityError> for FrameError {
    fn from(e: CapacityError) -> Self {
        FrameError::Capacity(e)
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Protocol(p) => p.fmt(f),
            FrameError::Capacity(c) => c.fmt(f),
        }
    }
}

impl std::error::Error for FrameError {}
