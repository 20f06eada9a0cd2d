//! The sans-IO RFC 6455 codec: no sockets, no clock, no tungstenite code.
//!
//! * [`frame`]: streaming frame header parse and encode, and [`FrameSpec`], the one
//!   description of a frame to send (valid or deliberately invalid).
//! * [`mask`]: payload masking at any offset.
//! * [`close`]: close payloads and close code validity.
//! * [`utf8`]: incremental UTF-8 validation with exact failure offsets.
//! * [`message`]: the one streaming decoder (fragmentation, UTF-8, limits), its leniency
//!   as configuration.
//! * [`http`]: incremental HTTP head parsing with size limits.
//! * [`handshake`]: the opening handshake for both roles.
//! * [`error`]: the typed errors, each named after the rule it enforces.
//! * [`fast`]: zero-copy frame and message reading over a mutable buffer.
//! * [`simd`]: the masking and UTF-8 kernels (AVX-512, AVX2, SSE2, NEON, portable) that
//!   [`mask`], [`utf8`] and [`fast`] call down into.
//! * [`deflate`]: permessage-deflate (RFC 7692): extension grammar, negotiation, bounded inflate.

pub mod close;
pub mod deflate;
pub mod error;
pub mod fast;
pub mod frame;
pub mod handshake;
pub mod http;
pub mod mask;
pub mod message;
pub mod simd;
pub mod utf8;

pub use error::{CapacityError, FrameError, Leniency, ProtocolError, Rule};
pub use frame::{
    encode_frame, parse_header, parse_header_lenient, FrameHeader, FrameSpec, HeaderRules,
    LengthEncoding, Masking, OpCode, Role, Status,
};
pub use message::{DecodedFrame, DecoderConfig, Event, Limits, Message, StreamDecoder, Utf8Check};
