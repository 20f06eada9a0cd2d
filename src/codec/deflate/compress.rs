//! Message compression and bounded decompression (RFC 7692 §7.2), on `flate2` with the
//! zlib-rs backend (raw DEFLATE with window bits, no C toolchain).
//!
//! Sending (§7.2.1): each message is compressed with a sync flush, which ends the data with an
//! empty stored block `00 00 ff ff`; those 4 bytes are removed. Receiving (§7.2.2): the 4 bytes
//! are appended again and the data is inflated. With context takeover (the default) the LZ77
//! window carries over from message to message; `*_no_context_takeover` resets it after each
//! message.
//!
//! Decompression is bounded: output grows in steps (doubling, never past the limit), and a
//! message that inflates beyond the limit stops there with [`CapacityError::MessageTooLarge`],
//! so a deflate bomb costs at most the limit in memory.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::error::DeflateError;
use super::params::WindowBits;
use crate::codec::error::CapacityError;

/// The empty stored block a sync flush ends with; removed on send, appended on receive
/// (RFC 7692 §7.2.1, §7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Compresses the messages of one direction.
pub struct Compressor {
    inner: Compress,
    window: WindowBits,
    no_context_takeover: bool,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor")
            .field("window", &self.window)
            .field("no_context_takeover", &self.no_context_takeover)
            .finish()
    }
}

impl Compressor {
    /// A compressor at zlib's default level (6), as Autobahn|Testsuite and most peers use.
    pub fn new(window: WindowBits, no_context_takeover: bool) -> Self {
        Compressor::with_level(window, no_context_takeover, Compression::default().level())
    }

    /// A compressor at `level` (0 = stored blocks only, 9 = best).
    pub fn with_level(window: WindowBits, no_context_takeover: bool, level: u32) -> Self {
        Compressor {
            inner: Compress::new_with_window_bits(
                Compression::new(level.min(9)),
                false,
                window.zlib_bits(),
            ),
            window,
            no_context_takeover,
        }
    }

    /// The negotiated window this compressor honours.
    pub fn window(&self) -> WindowBits {
        self.window
    }

    /// Whether the context is reset after each message.
    pub fn no_context_takeover(&self) -> bool {
        self.no_context_takeover
    }

    /// Appends the compressed payload of one whole message to `out` (trailing `00 00 ff ff`
    /// removed). The empty message compresses to the single byte `00`.
    pub fn compress_message(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        let in_start = self.inner.total_in();
        out.reserve(data.len() / 2 + 64);
        loop {
            let done = (self.inner.total_in() - in_start) as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve((out.len() - start).max(1024));
            }
            // A deflate stream in a valid state only fails on misuse (flate2 docs), and this
            // type never misuses it: a failure here is a bug, not bad input.
            self.inner
                .compress_vec(&data[done..], out, FlushCompress::Sync)
                .expect("sync-flush deflate on a live stream cannot fail");
            let consumed_all = self.inner.total_in() - in_start == data.len() as u64;
            if consumed_all && out.len() < out.capacity() {
                break;
            }
        }
        if out.len() == start {
            // zlib skips a sync flush that directly follows another one (nothing new to
            // flush), so an empty message after a message yields no bytes. The stream is at a
            // block boundary there, so the empty stored block `00` (tail removed) is the
            // empty message, as it is at the start of a stream.
            out.push(0x00);
        } else {
            debug_assert!(
                out[start..].ends_with(&TAIL),
                "sync flush ends in 00 00 ff ff"
            );
            out.truncate(out.len() - TAIL.len());
        }
        if self.no_context_takeover {
            self.inner.reset();
        }
    }

    /// [`Compressor::compress_message`] into a new buffer.
    pub fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.compress_message(data, &mut out);
        out
    }
}

/// Inflates the messages of one direction, at most `limit` bytes per message.
///
/// Feed a message with [`Decompressor::inflate`] (any number of pieces, e.g. one per frame) and
/// end it with [`Decompressor::finish_message`], or do both with
/// [`Decompressor::decompress_message`].
///
/// Window: by default the decompressor accepts every back-reference DEFLATE allows (up to
/// 32 KiB, never before the start of the stream or, without context takeover, of the message),
/// whatever window was negotiated. zlib checks distances only against the window it keeps
/// between calls, so with the negotiated window a too-far reference would pass or fail
/// depending on how the input is split into frames, and a verdict must not depend on framing.
/// [`Decompressor::strict_window`] enforces the negotiated window exactly instead.
///
/// A message may end its DEFLATE data with a final block (BFINAL = 1, RFC 7692 §7.2.3.4);
/// what follows that block within the message is ignored, and the next message starts a new
/// DEFLATE stream whose window, under context takeover, is restored from the last window's
/// worth of output.
///
/// After an error the stream state is undefined: the caller fails the connection rather than
/// feeding it further messages.
pub struct Decompressor {
    inner: Decompress,
    window: WindowBits,
    no_context_takeover: bool,
    strict_window: bool,
    limit: u64,
    in_message: bool,
    produced: u64,
    ended: bool,
    used: bool,
    history: Vec<u8>,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor")
            .field("window", &self.window)
            .field("no_context_takeover", &self.no_context_takeover)
            .field("strict_window", &self.strict_window)
            .field("limit", &self.limit)
            .finish()
    }
}

/// First output step of a message; later steps double with the output.
const FIRST_STEP: u64 = 4096;

impl Decompressor {
    /// A decompressor for a peer compressing with `window`, resetting after each message if
    /// `no_context_takeover`, and stopping any message at `limit` inflated bytes.
    pub fn new(window: WindowBits, no_context_takeover: bool, limit: u64) -> Self {
        Decompressor {
            inner: Decompress::new_with_window_bits(false, WindowBits::MAX.get()),
            window,
            no_context_takeover,
            strict_window: false,
            limit,
            in_message: false,
            produced: 0,
            ended: false,
            used: false,
            history: Vec::new(),
        }
    }

    /// Enforces the negotiated window exactly: a back-reference further than the window (or
    /// than the data seen so far) is corrupt data. Call before the first message.
    ///
    /// zlib only checks distances against the window it keeps *between* calls, so a reference
    /// into output of the same call passes whatever its length. Strict mode inflates with the
    /// negotiated window and one output byte per call, which makes zlib's check exact and
    /// independent of framing; it is much slower and meant for checks that grade a peer's
    /// window, not for bulk traffic. A window of 8 is checked as 9 (512 bytes), the smallest
    /// zlib inflate window `flate2` offers.
    pub fn strict_window(mut self, strict: bool) -> Self {
        self.strict_window = strict;
        let bits = if strict {
            self.window.zlib_bits()
        } else {
            WindowBits::MAX.get()
        };
        self.inner = Decompress::new_with_window_bits(false, bits);
        self
    }

    /// Inflates with zlib's own window set to the negotiated one, as a plain zlib client
    /// (Autobahn|Testsuite's) does: a back-reference further than the window into data of an
    /// earlier call fails, one within the same call passes. Framing-dependent by nature; for
    /// reproducing such a client's verdicts, not for judging a peer. Call before the first
    /// message.
    pub fn zlib_window(mut self) -> Self {
        self.strict_window = false;
        self.inner = Decompress::new_with_window_bits(false, self.window.zlib_bits());
        self
    }

    /// The window this decompressor expects of the peer.
    pub fn window(&self) -> WindowBits {
        self.window
    }

    /// The per-message limit on inflated bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Changes the per-message limit (from the next call on).
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// Inflated bytes of the open message so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    fn begin_message(&mut self) {
        if self.ended {
            self.inner.reset(false);
            if !self.no_context_takeover && !self.history.is_empty() {
                let keep = self.history.len().min(HISTORY);
                let dict = &self.history[self.history.len() - keep..];
                // Raw inflate accepts a dictionary at the start of a stream; an error here
                // means the state is unusable, which the next inflate call reports.
                let _ = self.inner.set_dictionary(dict);
            }
        } else if self.no_context_takeover && self.used {
            self.inner.reset(false);
        }
        self.used = false;
        self.in_message = true;
        self.produced = 0;
        self.ended = false;
    }

    /// Inflates a piece of the open message (a message opens with its first piece), appending
    /// to `out`. Errors when the data is not DEFLATE or the message passes the limit.
    pub fn inflate(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        if !self.in_message {
            self.begin_message();
        }
        self.run(data, out)
    }

    /// Ends the open message: appends `00 00 ff ff` (RFC 7692 §7.2.2), inflates what it
    /// releases and checks that the data ended between blocks. The empty message is the one
    /// byte `00`; a compressed message with no data at all is [`DeflateError::IncompleteMessage`].
    pub fn finish_message(&mut self, out: &mut Vec<u8>) -> Result<(), DeflateError> {
        if !self.in_message {
            self.begin_message();
        }
        let r = self
            .run(&TAIL, out)
            .and_then(|()| self.check_block_boundary());
        self.in_message = false;
        r
    }

    /// After the tail, a conforming message leaves the inflater between blocks (§7.2.1: the
    /// data ends with an empty stored block once the tail is back). An empty stored block fed
    /// there is a no-op; fed anywhere else it yields output, an error or leftover input, which
    /// unmasks data cut short (an empty payload with RSV1, a truncated block). A cut that
    /// happens to swallow the probe silently can still escape; the next message then fails.
    fn check_block_boundary(&mut self) -> Result<(), DeflateError> {
        if self.ended {
            return Ok(());
        }
        const PROBE: [u8; 5] = [0x00, 0x00, 0x00, 0xff, 0xff];
        let (in_before, out_before) = (self.inner.total_in(), self.inner.total_out());
        let mut scratch = [0u8; 8];
        let status = self
            .inner
            .decompress(&PROBE, &mut scratch, FlushDecompress::None);
        let clean = matches!(status, Ok(Status::Ok))
            && self.inner.total_in() - in_before == PROBE.len() as u64
            && self.inner.total_out() == out_before;
        if clean {
            Ok(())
        } else {
            Err(DeflateError::IncompleteMessage)
        }
    }

    /// Inflates one whole message payload, appending to `out`.
    pub fn decompress_message(
        &mut self,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), DeflateError> {
        self.inflate(payload, out)?;
        self.finish_message(out)
    }

    /// [`Decompressor::decompress_message`] into a new buffer.
    pub fn decompress(&mut self, payload: &[u8]) -> Result<Vec<u8>, DeflateError> {
        let mut out = Vec::new();
        self.decompress_message(payload, &mut out)?;
        Ok(out)
    }

    fn run(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        while !self.ended {
            let start = out.len();
            let in_before = self.inner.total_in();
            let room = self.limit.saturating_sub(self.produced).saturating_add(1);
            // Grow `out` only when it is full, by doubling steps that never pass limit + 1, so
            // an over-long message is caught having allocated at most one byte more than the
            // limit, and strict mode's one-byte calls do not reallocate per byte.
            if out.len() == out.capacity() {
                let step = self.produced.max(FIRST_STEP).min(room);
                out.reserve_exact(step as usize);
            }
            let status = if self.strict_window {
                let out_before = self.inner.total_out();
                let mut byte = [0u8; 1];
                let s = self
                    .inner
                    .decompress(input, &mut byte, FlushDecompress::None);
                let n = (self.inner.total_out() - out_before) as usize;
                out.extend_from_slice(&byte[..n]);
                s
            } else {
                self.inner.decompress_vec(input, out, FlushDecompress::None)
            };
            self.used = true;
            let consumed = (self.inner.total_in() - in_before) as usize;
            input = &input[consumed..];
            let made = out.len() - start;
            self.produced += made as u64;
            if !self.no_context_takeover {
                remember(&mut self.history, &out[start..]);
            }
            match status {
                Err(e) => {
                    return Err(DeflateError::CorruptData {
                        detail: e.message().unwrap_or("invalid DEFLATE data").to_owned(),
                    })
                }
                Ok(Status::StreamEnd) => self.ended = true,
                Ok(Status::Ok | Status::BufError) => {}
            }
            if self.produced > self.limit {
                return Err(CapacityError::MessageTooLarge {
                    size: self.produced,
                    limit: self.limit,
                }
                .into());
            }
            let out_full = if self.strict_window {
                made == 1
            } else {
                out.len() == out.capacity()
            };
            if input.is_empty() && !out_full {
                break;
            }
            if consumed == 0 && made == 0 {
                if input.is_empty() {
                    break;
                }
                return Err(DeflateError::CorruptData {
                    detail: "inflater made no progress".to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// Output kept for a restart after a final block: DEFLATE's largest window, which a peer may
/// reach whatever it negotiated (see [`Decompressor`] on windows).
const HISTORY: usize = 32 << 10;

/// Keeps the last [`HISTORY`] bytes of output in `history`, copying at most that much per call.
fn remember(history: &mut Vec<u8>, bytes: &[u8]) {
    let w = HISTORY;
    if bytes.len() >= w {
        history.clear();
        history.extend_from_slice(&bytes[bytes.len() - w..]);
    } else {
        history.extend_from_slice(bytes);
        if history.len() > 2 * w {
            history.drain(..history.len() - w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_message_is_one_zero_byte() {
        let mut c = Compressor::new(WindowBits::MAX, false);
        assert_eq!(c.compress(b""), [0x00]);
        let mut d = Decompressor::new(WindowBits::MAX, false, 1 << 20);
        assert_eq!(d.decompress(&[0x00]).unwrap(), b"");
        // An empty payload is not the empty message: with the tail alone inflate stops inside
        // a stored block header (LEN 0xff00), which the boundary probe reports.
        let mut out = Vec::new();
        assert_eq!(
            d.finish_message(&mut out),
            Err(DeflateError::IncompleteMessage)
        );
    }

    /// Output grows geometrically in both modes: feeding a 20 000-byte stored block one
    /// input byte at a time (one output byte per call in strict mode) sees a handful of
    /// capacities, not one per byte (the `inflate_bounded` fuzz target ran out of memory on
    /// per-byte regrowth in strict mode).
    #[test]
    fn output_grows_in_few_steps() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let payload = Compressor::with_level(WindowBits::MAX, false, 0).compress(&data);
        for strict in [false, true] {
            let mut d = Decompressor::new(WindowBits::MAX, false, 1 << 20).strict_window(strict);
            let mut out = Vec::new();
            let mut capacities = std::collections::BTreeSet::new();
            for b in payload.chunks(1) {
                d.inflate(b, &mut out).unwrap();
                capacities.insert(out.capacity());
            }
            d.finish_message(&mut out).unwrap();
            assert_eq!(out, data);
            assert!(capacities.len() <= 8, "strict={strict}: {capacities:?}");
        }
    }

    #[test]
    fn history_keeps_the_last_window() {
        let mut h = Vec::new();
        let n = 3 * HISTORY as u32;
        for i in 0..n {
            remember(&mut h, &[(i % 251) as u8]);
        }
        assert!(h.len() >= HISTORY && h.len() <= 2 * HISTORY);
        let tail: Vec<u8> = (n - HISTORY as u32..n).map(|i| (i % 251) as u8).collect();
        assert_eq!(&h[h.len() - HISTORY..], &tail[..]);
        remember(&mut h, &vec![7u8; HISTORY + 5]);
        assert_eq!(h, vec![7u8; HISTORY]);
    }
}
