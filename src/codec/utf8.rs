//! Incremental UTF-8 validation (RFC 3629, as RFC 6455 §8.1 requires for text).
//!
//! The validator is fed a message in pieces of any size (fragments, TCP chunks, single
//! bytes) and reports the exact byte offset, counted from the start of the message, at
//! which the input stopped being a prefix of any valid UTF-8 string. That offset is what
//! the fail-fast cases (Autobahn 6.4.x) need: `F4 90` is invalid at the `90`, before the
//! sequence would be complete.

use std::fmt;

/// Where and why a UTF-8 sequence became invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Utf8Error {
    /// Offset from the start of the message of the first byte that proves invalidity; for a
    /// truncated sequence at the end of the message, the message length.
    pub offset: u64,
    /// True when the message ended inside a multi-byte sequence.
    pub truncated: bool,
}

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.truncated {
            write!(
                f,
                "message ends inside a UTF-8 sequence (byte {})",
                self.offset
            )
        } else {
            write!(f, "invalid UTF-8 at byte {}", self.offset)
        }
    }
}

impl std::error::Error for Utf8Error {}

/// Streaming validator state: how many continuation bytes are still expected and the
/// allowed range of the next one (narrower right after E0, ED, F0, F4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Utf8Validator {
    need: u8,
    lo: u8,
    hi: u8,
    pos: u64,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Utf8Validator {
            need: 0,
            lo: 0x80,
            hi: 0xbf,
            pos: 0,
        }
    }

    /// Bytes fed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// True when the input so far ends on a code point boundary.
    pub fn at_boundary(&self) -> bool {
        self.need == 0
    }

    /// Validates the next piece of the message.
    ///
    /// After an error the validator stays failed in the sense that callers must stop: the
    /// state is not meaningful any more.
    ///
    /// Fast path first: a pending multi-byte sequence is finished by the exact machine,
    /// then the longest prefix ending on a code point boundary goes to the SIMD check
    /// ([`crate::codec::simd::utf8_valid`]: AVX-512/AVX2 kernels, simdutf8
    /// elsewhere; runtime-dispatched). Only when that prefix is invalid, or for the last partial
    /// sequence, does the byte-exact machine below run, so error offsets are always the
    /// exact fail-fast ones.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Utf8Error> {
        if self.need != 0 {
            let k = (self.need as usize).min(bytes.len());
            self.feed_exact(&bytes[..k])?;
            bytes = &bytes[k..];
        }
        if bytes.len() >= FAST_MIN {
            let cut = complete_prefix_len(bytes);
            if crate::codec::simd::utf8_valid(&bytes[..cut]) {
                self.pos += cut as u64;
                bytes = &bytes[cut..];
            }
        }
        self.feed_exact(bytes)
    }

    /// Records `n` bytes the caller has just proven to be ASCII (e.g. with
    /// [`crate::codec::mask::apply_mask_ascii`]) at a code point boundary.
    #[inline]
    pub(crate) fn advance_ascii(&mut self, n: usize) {
        debug_assert!(self.need == 0, "ASCII skip inside a sequence");
        self.pos += n as u64;
    }

    /// Sets the state after `text` (the whole message so far, starting at a code point
    /// boundary) was proven valid by a SIMD kernel, up to a sequence possibly left open
    /// at its end, which is replayed through the exact machine.
    ///
    /// The replay is also the check the kernel leaves to its caller in a non-final
    /// fragment (whether that open sequence is a valid prefix, e.g. `F5` or `F4 90` at
    /// the very end), so its error, with the exact offset, is returned.
    pub(crate) fn resync_valid(&mut self, text: &[u8]) -> Result<(), Utf8Error> {
        let cut = complete_prefix_len(text);
        *self = Utf8Validator::new();
        self.pos = cut as u64;
        self.feed_exact(&text[cut..])
    }

    /// The byte-exact state machine (with an 8-byte ASCII skip).
    fn feed_exact(&mut self, bytes: &[u8]) -> Result<(), Utf8Error> {
        let mut i = 0;
        let n = bytes.len();
        while i < n {
            if self.need == 0 {
                // ASCII fast path, 8 bytes at a time.
                while i + 8 <= n {
                    let w = u64::from_ne_bytes(bytes[i..i + 8].try_into().unwrap());
                    if w & 0x8080_8080_8080_8080 != 0 {
                        break;
                    }
                    i += 8;
                }
                if i >= n {
                    break;
                }
                let b = bytes[i];
                if b < 0x80 {
                    i += 1;
                    continue;
                }
                let (need, lo, hi) = match b {
                    0xc2..=0xdf => (1, 0x80, 0xbf),
                    0xe0 => (2, 0xa0, 0xbf),
                    0xe1..=0xec | 0xee..=0xef => (2, 0x80, 0xbf),
                    0xed => (2, 0x80, 0x9f),
                    0xf0 => (3, 0x90, 0xbf),
                    0xf1..=0xf3 => (3, 0x80, 0xbf),
                    0xf4 => (3, 0x80, 0x8f),
                    _ => return Err(self.fail_at(i)),
                };
                self.need = need;
                self.lo = lo;
                self.hi = hi;
            } else {
                let b = bytes[i];
                if b < self.lo || b > self.hi {
                    return Err(self.fail_at(i));
                }
                self.need -= 1;
                self.lo = 0x80;
                self.hi = 0xbf;
            }
            i += 1;
        }
        self.pos += n as u64;
        Ok(())
    }

    fn fail_at(&mut self, i: usize) -> Utf8Error {
        let offset = self.pos + i as u64;
        self.pos = offset;
        Utf8Error {
            offset,
            truncated: false,
        }
    }

    /// Declares the end of the message: valid only on a code point boundary.
    pub fn finish(&self) -> Result<(), Utf8Error> {
        if self.need == 0 {
            Ok(())
        } else {
            Err(Utf8Error {
                offset: self.pos,
                truncated: true,
            })
        }
    }

    /// Starts over for a new message.
    pub fn reset(&mut self) {
        *self = Utf8Validator::new();
    }
}

/// Inputs shorter than this go straight to the exact machine.
const FAST_MIN: usize = 8;

/// Length of the longest prefix of `b` that does not end inside a multi-byte sequence,
/// judging only by the last lead byte (validity is the validator's business: if the bytes
/// are invalid, whatever prefix this picks fails validation and the exact path runs).
#[inline]
fn complete_prefix_len(b: &[u8]) -> usize {
    let n = b.len();
    let lo = n.saturating_sub(4);
    let mut j = n;
    while j > lo {
        j -= 1;
        let c = b[j];
        if c & 0xc0 != 0x80 {
            let width = match c {
                0x00..=0x7f => 1,
                0xe0..=0xef => 3,
                0xf0..=0xff => 4,
                _ => 2,
            };
            return if j + width > n { j } else { n };
        }
    }
    n
}

/// Validates a complete byte string.
pub fn validate(bytes: &[u8]) -> Result<(), Utf8Error> {
    let mut v = Utf8Validator::new();
    v.feed(bytes)?;
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_at(bytes: &[u8]) -> Option<u64> {
        validate(bytes).err().map(|e| e.offset)
    }

    #[test]
    fn fail_fast_offsets() {
        // Autobahn 6.4.1 payload: kosme + F4 90 80 80 + "edited" → invalid at the 0x90.
        let mut p = hex("cebae1bdb9cf83cebcceb5f4908080656469746564");
        assert_eq!(err_at(&p), Some(12));
        p.truncate(12);
        assert_eq!(
            validate(&p).unwrap_err(),
            Utf8Error {
                offset: 12,
                truncated: true
            }
        );
        assert_eq!(
            err_at(&hex("cebae1bdb9cf83cebcceb5eda080656469746564")),
            Some(12)
        );
        assert_eq!(err_at(&hex("c0af")), Some(0));
        assert_eq!(err_at(&hex("e080af")), Some(1));
        assert_eq!(err_at(&hex("80")), Some(0));
        assert_eq!(err_at(&hex("f48fbfbf")), None);
        assert_eq!(err_at(&hex("efbfbf")), None);
    }

    #[test]
    fn agrees_with_std_on_every_split() {
        let samples = [
            hex("48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121"),
            hex("cebae1bdb9cf83cebcceb5eda080656469746564"),
            hex("f0908080f48fbfbfe0a080c280"),
            hex("c020c120c220c320"),
        ];
        for s in &samples {
            for split in 0..=s.len() {
                let mut v = Utf8Validator::new();
                let r = v
                    .feed(&s[..split])
                    .and_then(|_| v.feed(&s[split..]))
                    .and_then(|_| v.finish());
                assert_eq!(r.is_ok(), std::str::from_utf8(s).is_ok());
            }
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
