//! permessage-deflate (RFC 7692), sans-IO: the extension header grammar, negotiation for both
//! roles, message compression and bounded decompression.
//!
//! * [`header`]: the `Sec-WebSocket-Extensions` grammar of RFC 6455 §9.1, any extension.
//! * [`params`]: the four permessage-deflate parameters of RFC 7692 §7.1, typed.
//! * [`negotiate`]: client offers, the server's choice, the client's check of the answer.
//! * [`compress`]: [`Compressor`] and [`Decompressor`] (context takeover, window, the
//!   `00 00 ff ff` tail, inflation bounded by the message limit).
//! * [`error`]: [`ExtensionError`] (handshake) and [`DeflateError`] (data), each naming its rule.
//!
//! A connection that negotiated the extension parses frame headers with RSV1 allowed
//! ([`ALLOWED_RSV`] in [`crate::codec::frame::HeaderRules`]), then asks [`received_rsv1`]
//! whether each frame may carry it and whether a message is compressed, and inflates the
//! payload of compressed messages with the [`Decompressor`] of
//! [`DeflateConfig::decompressor`].
//!
//! ```
//! use wsspec::codec::deflate::*;
//! use wsspec::codec::frame::{OpCode, Role};
//!
//! // Client: two offers, preferred first.
//! let offers = [
//!     DeflateParams::new()
//!         .server_no_context_takeover()
//!         .server_max_window_bits(WindowBits::new(9).unwrap()),
//!     DeflateParams::new(),
//! ];
//! let request_header = offer_header(&offers);
//! // Server: accept the first acceptable offer.
//! let choice = ServerPolicy::default()
//!     .choose_from_fields([request_header.as_bytes()])
//!     .unwrap();
//! let accepted = choice.accepted.unwrap();
//! let response_header = accepted.answer.to_string();
//! assert_eq!(
//!     response_header,
//!     "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"
//! );
//! // Client: check the answer against the offers.
//! let client = validate_answer(&offers, [response_header.as_bytes()], AnswerCheck::Strict)
//!     .unwrap()
//!     .unwrap();
//! // Data: the server compresses, the client inflates at most 1 MiB per message.
//! let mut tx = accepted.config.compressor(Role::Server);
//! let mut rx = client.decompressor(Role::Client, 1 << 20);
//! let payload = tx.compress(b"Hello");
//! assert_eq!(sent_rsv(OpCode::Text, true), ALLOWED_RSV);
//! assert_eq!(received_rsv1(OpCode::Text, true), Ok(true));
//! assert_eq!(rx.decompress(&payload).unwrap(), b"Hello");
//! ```

pub mod compress;
pub mod error;
pub mod header;
pub mod negotiate;
pub mod params;

pub use compress::{Compressor, Decompressor, TAIL};
pub use error::{DeflateError, ExtensionError};
pub use header::{format_extensions, parse_extension_fields, parse_extensions, Extension};
pub use negotiate::{
    offer_header, validate_answer, validate_answer_list, Accepted, AnswerCheck, DeflateConfig,
    ServerChoice, ServerPolicy,
};
pub use params::{ClientWindowBits, DeflateParams, Side, WindowBits, PERMESSAGE_DEFLATE};

use crate::codec::frame::OpCode;

/// The RSV bits permessage-deflate defines: RSV1, the "Per-Message Compressed" bit (RFC 7692
/// §6), as the 3-bit RSV field of [`crate::codec::frame::FrameHeader`] numbers it.
pub const ALLOWED_RSV: u8 = 0b100;

/// RFC 7692 §6 for a received frame once the extension is in use: RSV1 may be set on the first
/// frame of a data message only. Returns whether the frame starts a compressed message
/// (`false` for continuation and control frames without RSV1, and for uncompressed messages,
/// which the extension still allows).
pub fn received_rsv1(opcode: OpCode, rsv1: bool) -> Result<bool, DeflateError> {
    match opcode {
        OpCode::Text | OpCode::Binary => Ok(rsv1),
        _ if !rsv1 => Ok(false),
        OpCode::Continuation => Err(DeflateError::Rsv1OnContinuation),
        op => Err(DeflateError::Rsv1OnControlFrame { opcode: op.as_u8() }),
    }
}

/// The RSV field a sender sets on a frame: RSV1 on the first frame (text or binary opcode) of
/// a compressed message, nothing on continuations and control frames (RFC 7692 §6).
pub fn sent_rsv(opcode: OpCode, compressed: bool) -> u8 {
    match opcode {
        OpCode::Text | OpCode::Binary if compressed => ALLOWED_RSV,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsv1_placement() {
        assert_eq!(received_rsv1(OpCode::Text, true), Ok(true));
        assert_eq!(received_rsv1(OpCode::Binary, false), Ok(false));
        assert_eq!(received_rsv1(OpCode::Continuation, false), Ok(false));
        assert_eq!(
            received_rsv1(OpCode::Continuation, true),
            Err(DeflateError::Rsv1OnContinuation)
        );
        for op in [OpCode::Ping, OpCode::Pong, OpCode::Close] {
            assert_eq!(received_rsv1(op, false), Ok(false));
            assert_eq!(
                received_rsv1(op, true),
                Err(DeflateError::Rsv1OnControlFrame { opcode: op.as_u8() })
            );
            assert_eq!(sent_rsv(op, true), 0);
        }
        assert_eq!(sent_rsv(OpCode::Text, true), ALLOWED_RSV);
        assert_eq!(sent_rsv(OpCode::Binary, false), 0);
        assert_eq!(sent_rsv(OpCode::Continuation, true), 0);
    }
}
