//! Typed errors of the permessage-deflate layer, each named after the rule it enforces.
//!
//! [`ExtensionError`] covers the opening handshake: the `Sec-WebSocket-Extensions` grammar of
//! RFC 6455 §9.1, the parameters of RFC 7692 §7 and the negotiation rules that tie an answer
//! to its offer. [`DeflateError`] covers the data phase: where RSV1 may appear (RFC 7692 §6),
//! compressed data that does not inflate (§7.2.2) and the local limit on inflated size.

use std::fmt;

use crate::codec::error::CapacityError;

/// Which token the extension grammar expected (RFC 6455 §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An extension name (`extension-token`).
    ExtensionName,
    /// A parameter name (the token of `extension-param`).
    ParamName,
    /// A parameter value (token or quoted-string after `=`).
    ParamValue,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::ExtensionName => "an extension name",
            TokenKind::ParamName => "a parameter name",
            TokenKind::ParamValue => "a parameter value",
        })
    }
}

/// A `Sec-WebSocket-Extensions` header or a permessage-deflate negotiation that breaks a rule.
///
/// A server that meets one of these in an offer declines that offer (RFC 7692 §7); a client
/// that meets one in the answer fails the connection (RFC 7692 §7, RFC 6455 §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExtensionError {
    /// RFC 6455 §9.1: `extension-list = 1#extension`; the header holds no extension at all.
    EmptyList,
    /// RFC 6455 §9.1: a token was required here (`extension-token`, `extension-param`).
    ExpectedToken {
        /// Byte offset in the header value.
        offset: usize,
        /// What the grammar expected.
        what: TokenKind,
    },
    /// RFC 6455 §9.1: after an extension or parameter only `;`, `,` or the end may follow.
    UnexpectedByte {
        /// Byte offset in the header value.
        offset: usize,
        /// The byte found.
        byte: u8,
    },
    /// RFC 6455 §9.1 (quoted-string of RFC 2616 §2.2): the closing quote is missing or a byte
    /// inside the quotes is not allowed there.
    BadQuotedString {
        /// Byte offset in the header value where the quoted string went wrong.
        offset: usize,
    },
    /// RFC 6455 §9.1: a quoted parameter value MUST be a token once unescaped.
    QuotedValueNotToken {
        /// The parameter.
        param: String,
        /// The unescaped value.
        value: String,
    },
    /// RFC 7692 §7: a parameter not defined for permessage-deflate (an offer is declined, an
    /// answer fails the connection).
    UnknownParameter {
        /// Name as received.
        name: String,
    },
    /// RFC 7692 §7: the same parameter appears twice in one element.
    DuplicateParameter {
        /// Name of the repeated parameter.
        name: &'static str,
    },
    /// RFC 7692 §7.1.1.1, §7.1.1.2: `*_no_context_takeover` has no value.
    UnexpectedValue {
        /// The parameter.
        name: &'static str,
        /// The value it carried.
        value: String,
    },
    /// RFC 7692 §7.1.2.1 (`server_max_window_bits` always), §7.1.2.2 (`client_max_window_bits`
    /// in an answer): the parameter needs a value.
    MissingValue {
        /// The parameter.
        name: &'static str,
    },
    /// RFC 7692 §7.1.2.1, §7.1.2.2: a window size is a decimal integer from 8 to 15 without
    /// leading zeroes.
    InvalidWindowBits {
        /// The parameter.
        name: &'static str,
        /// The value as received (unescaped).
        value: String,
    },
    /// RFC 7692 §7.1.2.2: the answer carries `client_max_window_bits` but the offer did not.
    ClientWindowNotOffered,
    /// RFC 7692 §7.1.2.2: the answer's `client_max_window_bits` exceeds the offered value.
    ClientWindowAboveOffer {
        /// Value in the offer.
        offered: u8,
        /// Value in the answer.
        answered: u8,
    },
    /// RFC 7692 §7.1.2.1: the offer limited `server_max_window_bits`; an accepting answer must
    /// repeat the parameter.
    ServerWindowMissing {
        /// Value in the offer.
        offered: u8,
    },
    /// RFC 7692 §7.1.2.1: the answer's `server_max_window_bits` exceeds the offered value.
    ServerWindowAboveOffer {
        /// Value in the offer.
        offered: u8,
        /// Value in the answer.
        answered: u8,
    },
    /// RFC 7692 §7.1.2.1: the server cannot compress with a window as small as offered, so it
    /// declines the offer (a server-side policy outcome, never sent on the wire).
    ServerWindowUnsupported {
        /// Value in the offer.
        offered: u8,
        /// Smallest window the server's policy accepts.
        lowest: u8,
    },
    /// RFC 7692 §7.1.1.1: the offer asked for `server_no_context_takeover`; an accepting
    /// answer must contain it.
    ServerNoContextTakeoverMissing,
    /// RFC 7692 §5: a server accepts at most one permessage-deflate offer, so the answer holds at
    /// most one permessage-deflate element.
    MultipleAnswers {
        /// Number of permessage-deflate elements in the answer.
        count: usize,
    },
    /// RFC 6455 §9.1 and §4.1: the server answered with an extension the client never offered.
    ExtensionNotOffered {
        /// Name of the extension.
        name: String,
    },
    /// RFC 7692 §5: the answer matches none of several offers; one reason per offer, in order.
    NoOfferMatches(Vec<ExtensionError>),
}

impl ExtensionError {
    /// The RFC section the error enforces, e.g. `RFC 7692 §7.1.2.1`.
    pub fn rfc_section(&self) -> &'static str {
        use ExtensionError::*;
        match self {
            EmptyList
            | ExpectedToken { .. }
            | UnexpectedByte { .. }
            | BadQuotedString { .. }
            | QuotedValueNotToken { .. } => "RFC 6455 §9.1",
            UnknownParameter { .. } | DuplicateParameter { .. } => "RFC 7692 §7",
            UnexpectedValue { name, .. } => section_of(name),
            MissingValue { name } | InvalidWindowBits { name, .. } => section_of(name),
            ClientWindowNotOffered | ClientWindowAboveOffer { .. } => "RFC 7692 §7.1.2.2",
            ServerWindowMissing { .. }
            | ServerWindowAboveOffer { .. }
            | ServerWindowUnsupported { .. } => "RFC 7692 §7.1.2.1",
            ServerNoContextTakeoverMissing => "RFC 7692 §7.1.1.1",
            MultipleAnswers { .. } | NoOfferMatches(_) => "RFC 7692 §5",
            ExtensionNotOffered { .. } => "RFC 6455 §9.1",
        }
    }
}

/// The section that defines a permessage-deflate parameter.
pub(crate) fn section_of(param: &str) -> &'static str {
    match param {
        "server_no_context_takeover" => "RFC 7692 §7.1.1.1",
        "client_no_context_takeover" => "RFC 7692 §7.1.1.2",
        "server_max_window_bits" => "RFC 7692 §7.1.2.1",
        "client_max_window_bits" => "RFC 7692 §7.1.2.2",
        _ => "RFC 7692 §7",
    }
}

impl fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ExtensionError::*;
        match self {
            EmptyList => write!(f, "Sec-WebSocket-Extensions lists no extension"),
            ExpectedToken { offset, what } => write!(f, "expected {what} at byte {offset}"),
            UnexpectedByte { offset, byte } => write!(
                f,
                "unexpected byte 0x{byte:02x} at {offset} (expected ';', ',' or the end)"
            ),
            BadQuotedString { offset } => write!(f, "malformed quoted string at byte {offset}"),
            QuotedValueNotToken { param, value } => {
                write!(f, "quoted value {value:?} of {param} is not a token")
            }
            UnknownParameter { name } => write!(f, "unknown parameter {name:?}"),
            DuplicateParameter { name } => write!(f, "parameter {name} appears twice"),
            UnexpectedValue { name, value } => {
                write!(f, "{name} takes no value (got {value:?})")
            }
            MissingValue { name } => write!(f, "{name} needs a value"),
            InvalidWindowBits { name, value } => {
                write!(f, "{name}={value:?} is not an integer from 8 to 15")
            }
            ClientWindowNotOffered => {
                write!(f, "answer has client_max_window_bits that was not offered")
            }
            ClientWindowAboveOffer { offered, answered } => write!(
                f,
                "answer has client_max_window_bits={answered}, above the offered {offered}"
            ),
            ServerWindowMissing { offered } => write!(
                f,
                "offer had server_max_window_bits={offered}, the answer omits it"
            ),
            ServerWindowAboveOffer { offered, answered } => write!(
                f,
                "answer has server_max_window_bits={answered}, above the offered {offered}"
            ),
            ServerWindowUnsupported { offered, lowest } => write!(
                f,
                "offered server_max_window_bits={offered} is below the supported {lowest}"
            ),
            ServerNoContextTakeoverMissing => write!(
                f,
                "offer had server_no_context_takeover, the answer omits it"
            ),
            MultipleAnswers { count } => {
                write!(f, "answer holds {count} permessage-deflate elements")
            }
            ExtensionNotOffered { name } => {
                write!(f, "answer accepts extension {name:?} that was not offered")
            }
            NoOfferMatches(reasons) => {
                write!(f, "answer matches none of the {} offers", reasons.len())?;
                for (i, r) in reasons.iter().enumerate() {
                    write!(f, "; offer {}: {r}", i + 1)?;
                }
                Ok(())
            }
        }?;
        write!(f, " ({})", self.rfc_section())
    }
}

impl std::error::Error for ExtensionError {}

/// A compressed message (or a frame of one) that breaks RFC 7692, or one that inflates beyond
/// the local limit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeflateError {
    /// RFC 7692 §6: RSV1 ("Per-Message Compressed") MUST NOT be set on control frames.
    Rsv1OnControlFrame {
        /// The frame's opcode.
        opcode: u8,
    },
    /// RFC 7692 §6: RSV1 is set on the first frame of a message only, never on a continuation.
    Rsv1OnContinuation,
    /// RFC 7692 §7.2.2: the payload (with `00 00 ff ff` appended) is not valid DEFLATE data.
    CorruptData {
        /// What the inflater reported.
        detail: String,
    },
    /// RFC 7692 §7.2.1: with `00 00 ff ff` appended, a message's data ends with an empty stored
    /// block; this one stops inside a block (e.g. an empty payload with RSV1, or cut short).
    IncompleteMessage,
    /// The message inflates beyond the local message limit: not a protocol violation, a limit
    /// (RFC 6455 §7.4.1, 1009). Inflation stopped at the limit.
    Capacity(CapacityError),
}

impl DeflateError {
    /// The close code to fail the connection with (RFC 6455 §7.4.1).
    ///
    /// RSV1 misuse is a framing error (1002). Corrupt compressed data gets 1007, "data within a
    /// message that was not consistent with the type of the message", as Node's `ws` sends;
    /// Python's `websockets` sends 1002, so a check that grades a peer must accept both.
    pub fn close_code(&self) -> u16 {
        match self {
            DeflateError::Rsv1OnControlFrame { .. } | DeflateError::Rsv1OnContinuation => 1002,
            DeflateError::CorruptData { .. } | DeflateError::IncompleteMessage => 1007,
            DeflateError::Capacity(_) => 1009,
        }
    }

    /// The RFC section the error enforces.
    pub fn rfc_section(&self) -> &'static str {
        match self {
            DeflateError::Rsv1OnControlFrame { .. } | DeflateError::Rsv1OnContinuation => {
                "RFC 7692 §6"
            }
            DeflateError::CorruptData { .. } => "RFC 7692 §7.2.2",
            DeflateError::IncompleteMessage => "RFC 7692 §7.2.1",
            DeflateError::Capacity(_) => "RFC 6455 §7.4.1",
        }
    }
}

impl From<CapacityError> for DeflateError {
    fn from(e: CapacityError) -> Self {
        DeflateError::Capacity(e)
    }
}

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeflateError::Rsv1OnControlFrame { opcode } => {
                write!(f, "RSV1 set on control frame (opcode 0x{opcode:x})")
            }
            DeflateError::Rsv1OnContinuation => write!(f, "RSV1 set on a continuation frame"),
            DeflateError::CorruptData { detail } => {
                write!(f, "compressed payload does not inflate: {detail}")
            }
            DeflateError::IncompleteMessage => {
                write!(f, "compressed message ends inside a DEFLATE block")
            }
            DeflateError::Capacity(c) => write!(f, "inflated {c}"),
        }?;
        write!(f, " ({})", self.rfc_section())
    }
}

impl std::error::Error for DeflateError {}
