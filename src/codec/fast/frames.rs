//! Zero-copy frame iteration over a mutable input buffer.

use crate::codec::error::ProtocolError;
use crate::codec::frame::{
    parse_header, FrameHeader, HeaderRules, LengthEncoding, OpCode, Role, Status,
    MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
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

/// The header size of [`short_masked`]'s frames: two bytes and the key.
pub(crate) const SHORT_MASKED_HEADER: usize = 6;

/// The commonest header of all, read from its first two bytes without [`fast_header`]'s
/// general parse: the frame at `buf[pos..]` is masked, has a 7-bit length below `limit` (at
/// most 126, where the 16-bit form begins; 0 when the rules forbid masks), and its whole
/// payload is present, and `takes` its first byte (opcode, FIN, RSV bits: what a reader may
/// skip the general rules for differs by reader). Answers the first byte, the key and
/// where the payload ends (it starts [`SHORT_MASKED_HEADER`] bytes after `pos`). The end is
/// checked against `buf` itself, so the caller's slicing needs no further bounds check.
#[inline(always)]
pub(crate) fn short_masked(
    buf: &[u8],
    pos: usize,
    limit: usize,
    takes: impl Fn(u8) -> bool,
) -> Option<(u8, [u8; 4], usize)> {
    // `pos + 6` cannot overflow: callers pass a position within `buf` (at most isize::MAX).
    let &[b0, b1, k0, k1, k2, k3] = buf.get(pos..pos + SHORT_MASKED_HEADER)? else {
        return None;
    };
    // An unmasked frame becomes a length of 128 or more here, above every limit.
    let len = (b1 ^ 0x80) as usize;
    let end = pos + SHORT_MASKED_HEADER + len;
    (takes(b0) && len < limit && end <= buf.len()).then_some((b0, [k0, k1, k2, k3], end))
}

/// The bound for [`short_masked`] under `rules` and a largest payload `max`.
pub(crate) fn short_limit(rules: HeaderRules, max: u64) -> usize {
    if rules.role == Some(Role::Client) {
        0
    } else {
        max.min(125) as usize + 1
    }
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
    /// The bound of the short-form path ([`short_masked`]).
    short_limit: usize,
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
            short_limit: short_limit(rules, u64::MAX),
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
        // The commonest frame: a masked data frame (any FIN, no RSV bits) with a 7-bit
        // length, decided from its first two bytes without the general header parse.
        if let Some((b0, key, end)) =
            short_masked(self.rest, 0, self.short_limit, |b0| b0 & 0x7f < 3)
        {
            let header = FrameHeader {
                fin: b0 & 0x80 != 0,
                rsv: 0,
                opcode: OpCode::from_u8(b0 & 0x0f),
                mask: Some(key),
                payload_len: (end - SHORT_MASKED_HEADER) as u64,
                length_encoding: LengthEncoding::Short,
            };
            return Some(Ok(self.take(header, SHORT_MASKED_HEADER)));
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
        Some(Ok(self.take(header, hlen)))
    }
}

impl<'a> FrameIter<'a> {
    /// Hands out the frame at the start of the rest, whose header (`hlen` bytes) has been
    /// read and whose payload is known to be complete, unmasking the payload in place.
    #[inline(always)]
    fn take(&mut self, header: FrameHeader, hlen: usize) -> Frame<'a> {
        let total = hlen + header.payload_len as usize;
        let rest = std::mem::take(&mut self.rest);
        let (frame, tail) = rest.split_at_mut(total);
        self.rest = tail;
        self.consumed += total;
        let payload = &mut frame[hlen..];
        if let Some(key) = header.mask {
            self.masker.apply(payload, key, 0);
        }
        Frame { header, payload }
    }
}
