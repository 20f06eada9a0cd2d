//! Zero-copy, SIMD-accelerated reading of frames and messages from a mutable buffer.
//!
//! The reference codec ([`crate::codec::frame`], [`crate::codec::message`]) is streaming
//! and copies payloads into owned messages. This module is for a caller that already has
//! the bytes in a buffer it may overwrite: payloads are unmasked in place and handed out
//! as views into that buffer.
//!
//! * [`FrameIter`]: frames, validated like [`crate::codec::parse_header`], payload unmasked.
//! * [`MessageReader`]: whole messages (fragments joined in place, UTF-8 validated) and
//!   control frames, with the rules of [`crate::codec::StreamDecoder`].
//!
//! Both are built on the SIMD kernels of [`crate::codec::simd`], which the reference codec
//! uses too. Nothing here is `unsafe`.

mod frames;
mod messages;

pub use frames::{Frame, FrameIter};
pub use messages::{FastEvent, MessageReader};
