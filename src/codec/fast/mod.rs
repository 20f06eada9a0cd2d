//! Zero-copy, SIMD-accelerated reading of frames and messages from a mutable buffer.
//!
//! The reference codec ([`crate::codec::frame`], [`crate::codec::message`]) is streaming
//! and copies payloads into owned messages. This module is for a caller that already has
//! the bytes in a buffer it may overwrite: payloads are unmasked in place and handed out
//! as views into that buffer.
//!
//! * [`FrameIter`]: frames, validated like [`crate::codec::parse_header`], payload unmasked.
//! * [`MessageReader`]: whole messages (fragments joined in place, UTF-8 validated) and
//!   control frames, with the rules of [`crate::codec::MessageAssembler`].
//! * [`kernels`]: the masking kernels and their runtime CPU dispatch (AVX-512, AVX2, SSE2,
//!   NEON, portable), which [`crate::codec::mask::apply_mask`] also uses, and the UTF-8
//!   validity kernels (AVX-512, AVX2; simdutf8 elsewhere) behind
//!   [`crate::codec::utf8::Utf8Validator`]'s fast path.
//!
//! `unsafe` appears only inside the `#[target_feature]` kernels (`x86`, `neon`), each
//! with its safety contract; everything public here is safe.

mod frames;
pub mod kernels;
mod messages;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod utf8_x86;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86;

pub use frames::{Frame, FrameIter};
pub use messages::{FastEvent, MessageReader};
