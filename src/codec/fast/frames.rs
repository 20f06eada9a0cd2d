//! Zero-copy frame iteration over a mutable input buffer.

use crate::codec::error::ProtocolError;
use crate::codec::frame::{
    parse_header, FrameHeader, HeaderRules, LengthEncoding, OpCode, Status, MAX_CONTROL_PAYLOAD,
    MAX_HEADER_LEN,
};

use crate::codec::simd::Masker;

/// The common case of [`parse_header`]: at least [`MAX_HEADER_LEN`] bytes available and no
/// rule broken. Anything else answers `None` and the caller defers to [`parse_header`],
/// so errors and partial results are exactly the reference parser's; the rules themselves
/// are the reference parser's predicates ([`HeaderRules::first_bytes_ok`]).
#[inline(always)]
pub(crate) fn fast_header(buf: &[u8], rules: HeaderRules) -> Option<(FrameHeader, usize)> {
    let h: &[u8; MAX_HEADER_LEN] = buf.get(..MAX_HEADER_LEN)?.try_into().ok()?;
    let (b0, b1) = (h[0], h[1]);
    if !rules.first_bytes_ok(b0, b1) {
        return None;
    }
    let op = b0 & 0x0f;
    let fin = b0 & 0x80 != 0;
    let rsv = (b0 >> 4) & 0x07;
    let control = op & 0x08 != 0;
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7f;
    let (payload_len, length_encoding, len_end) = match len7 {
        126 => (
            u16::from_be_bytes([h[2], h[3]]) as u64,
            LengthEncoding::U16,
            4,
        ),
        127 => {
            let l = u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]);
            if l >> 63 != 0 {
                return None;
            }
            (l, LengthEncoding::U64, 10)
        }
        _ => (len7 as u64, LengthEncoding::Short, 2),
    };
    if control && payload_len > MAX_CONTROL_PAYLOAD {
        return None;
    }
    let (mask, total) = if masked {
        (
            Some([h[len_end], h[len_end + 1], h[len_end + 2], h[len_end + 3]]),
            len_end + 4,
        )
    } else {
        (None, len_end)
    };
    Some((
        FrameHeader {
            fin,
            rsv,
            opcode: OpCode::from_u8(op),
            mask,
            payload_len,
            length_encoding,
        },
        total,
    ))
}

/// Outcome of reading one header: complete, incomplete, or a violation.
pub(crate) enum HeaderStep {
    Complete(FrameHeader, usize),
    Partial,
    Error(ProtocolError),
}

#[inline(always)]
pub(crate) fn read_header(buf: &[u8], rules: HeaderRules) -> HeaderStep {
    if let Some((h, n)) = fast_header(buf, rules) {
        return HeaderStep::Complete(h, n);
    }
    read_header_slow(buf, rules)
}

/// Short buffers, violations and partial headers: the reference parser, kept out of line
/// so that the fast path inlines into the caller's loop.
#[cold]
#[inline(never)]
fn read_header_slow(buf: &[u8], rules: HeaderRules) -> HeaderStep {
    match parse_header(buf, rules) {
        Ok(Status::Complete(h, n)) => HeaderStep::Complete(h, n),
        Ok(Status::Partial(_)) => HeaderStep::Partial,
        Err(e) => HeaderStep::Error(e),
    }
}

/// One frame handed out by [`FrameIter`]: its header and its payload, already unmasked,
/// borrowed from the input buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header exactly as [`parse_header`] would return it.
    pub header: FrameHeader,
    /// The payload, unmasked in place.
    pub payload: &'a mut [u8],
}

/// Iterates over the complete frames at the start of a buffer, unmasking each payload in
/// place and handing it out as a view into the buffer: no copy, no allocation.
///
/// Headers get the same validation as [`parse_header`] with the given rules (a fast path
/// for the common case, the reference parser for everything else, so errors are
/// identical). Iteration stops at the first frame that is not complete in the buffer
/// ([`FrameIter::consumed`] then tells where it starts) or after yielding the first
/// error. Message-level rules (continuations, UTF-8, size limits) are not applied here;
/// see [`super::MessageReader`].
#[derive(Debug)]
pub struct FrameIter<'a> {
    rest: &'a mut [u8],
    consumed: usize,
    rules: HeaderRules,
    failed: bool,
    masker: Masker,
}

impl<'a> FrameIter<'a> {
    /// Frames of `buf` read under `rules`.
    pub fn new(buf: &'a mut [u8], rules: HeaderRules) -> Self {
        FrameIter {
            rest: buf,
            consumed: 0,
            rules,
            failed: false,
            masker: Masker::current(),
        }
    }

    /// Bytes taken by the frames yielded so far; the next (incomplete) frame starts here.
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// The bytes not consumed yet (still masked).
    pub fn remainder(&self) -> &[u8] {
        self.rest
    }
}

impl<'a> Iterator for FrameIter<'a> {
    type Item = Result<Frame<'a>, ProtocolError>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let (header, hlen) = match read_header(self.rest, self.rules) {
            HeaderStep::Complete(h, n) => (h, n),
            HeaderStep::Partial => return None,
            HeaderStep::Error(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        };
        let avail = (self.rest.len() - hlen) as u64;
        if header.payload_len > avail {
            return None;
        }
        let total = hlen + header.payload_len as usize;
        let rest = std::mem::take(&mut self.rest);
        let (frame, tail) = rest.split_at_mut(total);
        self.rest = tail;
        self.consumed += total;
        let payload = &mut frame[hlen..];
        if let Some(key) = header.mask {
            self.masker.apply(payload, key, 0);
        }
        Some(Ok(Frame { header, payload }))
    }
}
