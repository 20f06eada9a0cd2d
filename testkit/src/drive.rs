//! Drives our `StreamDecoder` over a byte stream cut at given points, the way a socket
//! reader would, and records everything it reports.
//!
//! Used by the fuzz targets and the property tests alike, so "decode this stream in these
//! chunks" means one thing everywhere.

use wsspec::codec::{DecodedFrame, FrameError, HeaderRules, Limits, StreamDecoder};

/// Everything a decoder reported over one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Frames completed, in order.
    pub frames: Vec<DecodedFrame>,
    /// The error that stopped decoding, if any.
    pub error: Option<FrameError>,
    /// Bytes the decoder consumed. After an error, only up to the end of the last
    /// completed frame: how much of the failing frame was consumed before the error depends
    /// on the chunking, and the decoder does not report it.
    pub consumed: usize,
    /// Bytes fed but not consumed (an incomplete header at the end), when no error.
    pub leftover: Vec<u8>,
}

/// Decodes `input` fed in pieces ending at each offset of `cuts` (sorted, de-duplicated
/// internally; out-of-range cuts are ignored) and then at the end of the input.
///
/// After each piece the decoder is called until it asks for more bytes, like a reader
/// loop does; decoding stops at the first error.
pub fn decode_chunked(rules: HeaderRules, limits: Limits, input: &[u8], cuts: &[usize]) -> Decoded {
    let mut cuts: Vec<usize> = cuts
        .iter()
        .copied()
        .filter(|&c| c > 0 && c < input.len())
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.push(input.len());
    let mut d = StreamDecoder::new(rules, limits);
    let mut out = Decoded {
        frames: Vec::new(),
        error: None,
        consumed: 0,
        leftover: Vec::new(),
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut start = 0;
    let mut frames_end = 0;
    for end in cuts {
        buf.extend_from_slice(&input[start..end]);
        start = end;
        // Each iteration either completes a frame (bounded by the input) or breaks.
        loop {
            match d.decode(&buf) {
                Ok((n, frame)) => {
                    assert!(n <= buf.len(), "decode consumed {n} of {} bytes", buf.len());
                    buf.drain(..n);
                    out.consumed += n;
                    match frame {
                        Some(f) => {
                            out.frames.push(f);
                            frames_end = out.consumed;
                        }
                        None => break,
                    }
                }
                Err(e) => {
                    out.error = Some(e);
                    out.consumed = frames_end;
                    return out;
                }
            }
        }
    }
    out.leftover = buf;
    out
}

/// A small deterministic PRNG (xorshift64*) so a seed from a fuzz input or a test case
/// reproduces the same cut points.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        XorShift(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Cut points for a stream of `len` bytes: pieces of 1 to `max_piece` bytes.
pub fn cuts_from_seed(len: usize, seed: u64, max_piece: usize) -> Vec<usize> {
    let mut rng = XorShift::new(seed);
    let mut cuts = Vec::new();
    let mut at = 0;
    while at < len {
        at += 1 + rng.below(max_piece.max(1) as u64) as usize;
        if at < len {
            cuts.push(at);
        }
    }
    cuts
}

/// Cut points for 1-byte pieces.
pub fn every_byte(len: usize) -> Vec<usize> {
    (1..len).collect()
}
