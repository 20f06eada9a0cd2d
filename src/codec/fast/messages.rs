//! In-place message assembly over a mutable input buffer.

use crate::codec::close::{parse_close_payload, CloseFrame};
use crate::codec::error::{FrameError, ProtocolError};
use crate::codec::frame::{HeaderRules, OpCode};
use crate::codec::message::Limits;
use crate::codec::utf8::{validate, Utf8Validator};

use super::frames::{
    fast_header, read_header, short_limit, short_masked, HeaderStep, SHORT_MASKED_HEADER,
};
use crate::codec::simd::{unmask_move_validate, utf8_valid, Masker, Span};

/// Where a text the yes/no kernels rejected first breaks §8.1's UTF-8 rule, by the exact
/// validator (which has the last word); out of line, off the fast path.
#[cold]
#[inline(never)]
fn exact_utf8_error(text: &[u8]) -> Option<u64> {
    validate(text).err().map(|e| e.offset)
}

/// What [`MessageReader::next_event`] hands out; every slice borrows the input buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum FastEvent<'b> {
    /// A complete text message, all fragments joined, validated as UTF-8.
    Text(&'b mut [u8]),
    /// A complete binary message, all fragments joined.
    Binary(&'b mut [u8]),
    /// A ping and its payload.
    Ping(&'b [u8]),
    /// A pong and its payload.
    Pong(&'b [u8]),
    /// A close frame, with its status code and reason when it carried one.
    Close(Option<CloseFrame<'b>>),
}

#[derive(Debug)]
struct Open {
    /// Assembled message bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    text: bool,
    utf8: Utf8Validator,
}

/// Reads whole messages out of a buffer without copying them out of it.
///
/// Each frame's payload is unmasked in place; the fragments of a message are moved down
/// over the headers between them (a `memmove` within the buffer) so that the message ends
/// up contiguous, and text is validated incrementally as each fragment lands, with the
/// exact offsets and error order of [`crate::codec::StreamDecoder`], whose rules it shares
/// (continuation rules, interleaved control frames, close payloads, size limits,
/// fail-fast UTF-8). No allocation.
///
/// The buffer is consumed destructively: once a fragment has been read its wire bytes are
/// gone. [`MessageReader::next_event`] returns `None` at the end of the buffer or at the
/// first incomplete frame; if a fragmented message was open then ([`Self::in_message`]),
/// its fragments cannot be re-read, so a caller streaming from a socket should hand whole
/// messages to this reader or use [`crate::codec::StreamDecoder`].
#[derive(Debug)]
pub struct MessageReader<'a> {
    buf: &'a mut [u8],
    pos: usize,
    done: usize,
    rules: HeaderRules,
    limits: Limits,
    open: Option<Open>,
    failed: bool,
    masker: Masker,
    /// The largest payload the fast path takes: the smaller of the frame and message
    /// limits, so that it checks one bound instead of two.
    fast_max: u64,
    /// The bound of the short-form path ([`short_masked`]), the limits folded in: a single
    /// compare then stands for the masking rule, the size limits and the length form.
    short_limit: usize,
}

impl<'a> MessageReader<'a> {
    /// A reader of `buf` applying `rules` to headers and `limits` to messages.
    pub fn new(buf: &'a mut [u8], rules: HeaderRules, limits: Limits) -> Self {
        let fast_max = limits.max_frame_size.min(limits.max_message_size);
        MessageReader {
            buf,
            pos: 0,
            done: 0,
            rules,
            limits,
            open: None,
            failed: false,
            masker: Masker::current(),
            fast_max,
            short_limit: short_limit(rules, fast_max),
        }
    }

    /// True while a fragmented message is open.
    pub fn in_message(&self) -> bool {
        self.open.is_some()
    }

    /// Wire bytes fully accounted for by the events returned so far.
    pub fn consumed(&self) -> usize {
        self.done
    }

    fn fail<T>(&mut self, e: impl Into<FrameError>) -> Option<Result<T, FrameError>> {
        self.failed = true;
        Some(Err(e.into()))
    }

    /// The buffer ends inside a data frame. The streaming assembler would already have
    /// validated the text bytes that did arrive, so do the same (fail-fast offsets must
    /// not depend on where the input was cut), then restore the masked bytes so that the
    /// frame can still be read from a longer buffer.
    fn partial_text_check<T>(
        &mut self,
        h: &crate::codec::FrameHeader,
        pstart: usize,
    ) -> Option<Result<T, FrameError>> {
        let mut v = match (&self.open, h.opcode) {
            (Some(o), OpCode::Continuation) if o.text => o.utf8,
            (None, OpCode::Text) => Utf8Validator::new(),
            _ => return None,
        };
        let avail = &mut self.buf[pstart..];
        if let Some(key) = h.mask {
            self.masker.apply(avail, key, 0);
        }
        let r = v.feed(avail);
        if let Some(key) = h.mask {
            self.masker.apply(avail, key, 0);
        }
        match r {
            Ok(()) => None,
            Err(e) => self.fail(ProtocolError::InvalidUtf8 { offset: e.offset }),
        }
    }

    /// A whole single-frame message at `buf[pstart..pend]`, within the limits: unmasked,
    /// and checked with the yes/no kernels first, the exact validator only to locate an
    /// error.
    #[inline(always)]
    fn whole(
        &mut self,
        pstart: usize,
        pend: usize,
        text: bool,
        mask: Option<[u8; 4]>,
    ) -> Result<FastEvent<'_>, FrameError> {
        let payload = &mut self.buf[pstart..pend];
        let valid = match mask {
            Some(key) if text => self.masker.unmask_valid_text(payload, key),
            Some(key) => {
                self.masker.apply(payload, key, 0);
                true
            }
            None => !text || payload.is_ascii() || utf8_valid(payload),
        };
        if !valid {
            if let Some(offset) = exact_utf8_error(payload) {
                self.failed = true;
                return Err(ProtocolError::InvalidUtf8 { offset }.into());
            }
        }
        self.pos = pend;
        self.done = pend;
        let payload = &mut self.buf[pstart..pend];
        Ok(if text {
            FastEvent::Text(payload)
        } else {
            FastEvent::Binary(payload)
        })
    }

    /// The next message or control frame; `None` at the end of the buffer, at an
    /// incomplete frame, or after an error has been returned.
    #[inline(always)]
    pub fn next_event(&mut self) -> Option<Result<FastEvent<'_>, FrameError>> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        // Fast path: a complete unfragmented data message while none is open, within
        // the limits. Everything else (and every error) takes the general path, which
        // re-reads the header.
        if self.open.is_none() {
            // The commonest frame of all: a whole masked text or binary message under 126
            // bytes (FIN, no RSV bits, 7-bit length). Its first two bytes decide it alone,
            // without the general header parse (Zen 4, 16-byte texts: 1.3x faster).
            let pos = self.pos;
            // Whole text (0x81) or binary (0x82) messages only.
            let whole = |b0: u8| b0.wrapping_sub(0x81) < 2;
            if let Some((b0, key, pend)) = short_masked(self.buf, pos, self.short_limit, whole) {
                let pstart = pos + SHORT_MASKED_HEADER;
                return Some(self.whole(pstart, pend, b0 == 0x81, Some(key)));
            }
            if let Some((h, hlen)) = fast_header(&self.buf[self.pos..], self.rules) {
                let pstart = self.pos + hlen;
                let text = h.opcode == OpCode::Text;
                if h.fin
                    && (text || h.opcode == OpCode::Binary)
                    && h.payload_len <= self.fast_max
                    && h.payload_len <= (self.buf.len() - pstart) as u64
                {
                    let pend = pstart + h.payload_len as usize;
                    return Some(self.whole(pstart, pend, text, h.mask));
                }
            }
        }
        self.next_event_general()
    }

    /// Fragments, control frames, limits, partial frames and errors.
    #[inline(never)]
    fn next_event_general(&mut self) -> Option<Result<FastEvent<'_>, FrameError>> {
        loop {
            if self.failed || self.pos >= self.buf.len() {
                return None;
            }
            let (h, hlen) = match read_header(&self.buf[self.pos..], self.rules) {
                HeaderStep::Complete(h, n) => (h, n),
                HeaderStep::Partial => return None,
                HeaderStep::Error(e) => return self.fail(e),
            };
            let pstart = self.pos + hlen;
            // Message-level rules apply as soon as the header is known, before the
            // payload is complete, with the streaming decoder's rule (`Limits::data_frame`).
            if !h.opcode.is_control() {
                let open = self.open.as_ref().map(|o| (o.end - o.start) as u64);
                if let Err(e) = self.limits.data_frame(h.opcode, open, h.payload_len) {
                    return self.fail(e);
                }
            }
            if h.payload_len > (self.buf.len() - pstart) as u64 {
                return self.partial_text_check(&h, pstart);
            }
            let plen = h.payload_len as usize;
            let pend = pstart + plen;

            if h.opcode.is_control() {
                // Header parsing already enforced FIN and the 125-byte limit.
                if let Some(key) = h.mask {
                    self.masker.apply(&mut self.buf[pstart..pend], key, 0);
                }
                self.pos = pend;
                if self.open.is_none() {
                    self.done = pend;
                }
                let payload = &self.buf[pstart..pend];
                return Some(match h.opcode {
                    OpCode::Ping => Ok(FastEvent::Ping(payload)),
                    OpCode::Pong => Ok(FastEvent::Pong(payload)),
                    _ => match parse_close_payload(payload) {
                        Ok(c) => Ok(FastEvent::Close(c)),
                        Err(e) => {
                            self.failed = true;
                            Err(e.into())
                        }
                    },
                });
            }

            // The rules above guarantee: continuation <=> a message is open.
            let mut open = self.open.take().unwrap_or(Open {
                start: pstart,
                end: pstart,
                text: h.opcode == OpCode::Text,
                utf8: Utf8Validator::new(),
            });

            if let (true, Some(key)) = (open.text, h.mask) {
                // One pass: unmask, join, validate (AVX-512). On failure, the exact
                // machine re-reads the joined fragment for the fail-fast offset.
                let span = Span {
                    src: pstart,
                    dst: open.end,
                    len: plen,
                    msg_start: open.start,
                };
                if let Some(ok) = unmask_move_validate(self.buf, span, key, h.fin) {
                    let frag = open.end..open.end + plen;
                    open.end += plen;
                    self.pos = pend;
                    if ok {
                        if let Err(e) = open.utf8.resync_valid(&self.buf[open.start..open.end]) {
                            return self.fail(ProtocolError::InvalidUtf8 { offset: e.offset });
                        }
                    } else {
                        // The exact machine has the last word (and the exact offset).
                        let r = open.utf8.feed(&self.buf[frag]).and_then(|_| {
                            if h.fin {
                                open.utf8.finish()
                            } else {
                                Ok(())
                            }
                        });
                        if let Err(e) = r {
                            return self.fail(ProtocolError::InvalidUtf8 { offset: e.offset });
                        }
                    }
                    if !h.fin {
                        self.open = Some(open);
                        continue;
                    }
                    self.done = pend;
                    return Some(Ok(FastEvent::Text(&mut self.buf[open.start..open.end])));
                }
            }
            let ascii = match h.mask {
                Some(key) if open.text => {
                    self.masker.apply_ascii(&mut self.buf[pstart..pend], key, 0)
                }
                Some(key) => {
                    self.masker.apply(&mut self.buf[pstart..pend], key, 0);
                    false
                }
                None => open.text && self.buf[pstart..pend].is_ascii(),
            };
            if open.end != pstart {
                // Close the gap left by the headers: the message stays contiguous.
                self.buf.copy_within(pstart..pend, open.end);
            }
            let frag = open.end..open.end + plen;
            open.end += plen;
            self.pos = pend;
            if open.text {
                if ascii && open.utf8.at_boundary() {
                    open.utf8.advance_ascii(plen);
                } else if let Err(e) = open.utf8.feed(&self.buf[frag]) {
                    return self.fail(ProtocolError::InvalidUtf8 { offset: e.offset });
                }
            }
            if !h.fin {
                self.open = Some(open);
                continue;
            }
            if open.text {
                if let Err(e) = open.utf8.finish() {
                    return self.fail(ProtocolError::InvalidUtf8 { offset: e.offset });
                }
            }
            self.done = pend;
            let msg = &mut self.buf[open.start..open.end];
            return Some(Ok(if open.text {
                FastEvent::Text(msg)
            } else {
                FastEvent::Binary(msg)
            }));
        }
    }
}
