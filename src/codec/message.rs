//! Message assembly (RFC 6455 §5.4, §5.5, §5.6) over a byte stream: the one streaming
//! decoder every reader in the kit runs.
//!
//! [`StreamDecoder`] parses headers ([`crate::codec::frame::parse_header_lenient`]),
//! unmasks payloads while copying them, enforces the continuation rules, lets control frames
//! interleave a fragmented message, limits message size, and validates text as UTF-8 while
//! the bytes arrive, so an invalid sequence is reported at the first impossible byte even in
//! the middle of a frame. Input may be split anywhere.
//!
//! How strict it is, is configuration ([`DecoderConfig`]): which role reads (masking), which
//! RSV bits an extension defined, the size limits, which violations are tolerated and
//! recorded rather than fatal ([`Leniency`]), and when text is validated ([`Utf8Check`]).
//! The reference server (strict, or bent by a fault switch), the wire peer (which records
//! every violation of a server and keeps reading, as Autobahn's client does) and the
//! property tests against tungstenite all run this decoder with different values.
//!
//! What a tolerated violation does to the stream ("as if the rule did not exist", except
//! where noted):
//!
//! | rule | when tolerated |
//! | --- | --- |
//! | RSV bits, masking, top bit of the 64-bit length, non-minimal length | ignored; the header is read as written |
//! | fragmented control frame | handled as if FIN were set |
//! | control frame over 125 bytes | buffered like any control frame (the frame size limit still applies) |
//! | reserved opcode | the frame is set aside: delivered without an event, message state untouched |
//! | continuation without a message, data frame inside a message | the frame is set aside, as above (Autobahn's client would instead start or continue a message with it; it records no message after failing the connection, so only the detection of a further violation can differ) |
//! | invalid UTF-8 | the message is kept as bytes ([`DecodedFrame::raw_text`]); the validator stays failed, so every later piece of the message and its end record the violation again, as Autobahn's client does |
//! | close payload of 1 byte | a close without a status code |
//! | invalid close code, close reason not UTF-8 | the close event carries the code and the reason (lossily decoded) |

use super::close::{is_valid_close_code, parse_close_payload};
use super::deflate::{received_rsv1, Decompressor, DeflateError, ALLOWED_RSV};
use super::error::{CapacityError, FrameError, Leniency, ProtocolError};
use super::frame::{
    parse_header_lenient, FrameHeader, HeaderRules, OpCode, Status, MAX_CONTROL_PAYLOAD,
};
use super::mask::apply_mask;
use super::utf8::{self, Utf8Validator};

/// A complete data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Text, validated as UTF-8.
    Text(String),
    /// Binary data (or text whose UTF-8 was not validated, see [`DecodedFrame::raw_text`]).
    Binary(Vec<u8>),
}

/// What a completed frame means at the message level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A data message completed (its last fragment arrived).
    Message(Message),
    /// A ping with its payload.
    Ping(Vec<u8>),
    /// A pong with its payload.
    Pong(Vec<u8>),
    /// A close frame: `None` when it carried no status code.
    Close(Option<(u16, String)>),
}

/// Limits of the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (sum of fragments) accepted.
    pub max_message_size: u64,
    /// Largest single frame payload accepted.
    pub max_frame_size: u64,
}

impl Limits {
    /// Whether a frame of `add` payload bytes may join a message that already holds `have`
    /// bytes (RFC 6455 §7.4.1: exceeding a limit is answered with 1009).
    pub fn check(&self, have: u64, add: u64) -> Result<(), FrameError> {
        if add > self.max_frame_size {
            return Err(CapacityError::FrameTooLarge {
                size: add,
                limit: self.max_frame_size,
            }
            .into());
        }
        let size = have.saturating_add(add);
        if size > self.max_message_size {
            return Err(CapacityError::MessageTooLarge {
                size,
                limit: self.max_message_size,
            }
            .into());
        }
        Ok(())
    }

    /// §5.4: the message-level rules for a data frame (text, binary, continuation) of `len`
    /// payload bytes, given the size of the fragmented message in progress (`open`), checked
    /// as soon as the header is known. The streaming decoder and the zero-copy
    /// [`crate::codec::fast::MessageReader`] both ask this.
    pub(crate) fn data_frame(
        &self,
        opcode: OpCode,
        open: Option<u64>,
        len: u64,
    ) -> Result<(), FrameError> {
        match (opcode, open) {
            (OpCode::Continuation, None) => Err(ProtocolError::ContinuationWithoutMessage.into()),
            (OpCode::Continuation, Some(have)) => self.check(have, len),
            (_, Some(_)) => Err(ProtocolError::DataFrameInsideMessage.into()),
            (_, None) => self.check(0, len),
        }
    }
}

impl Default for Limits {
    /// 64 MiB messages and frames: enough for Autobahn's 16 MiB limits cases.
    fn default() -> Self {
        Limits {
            max_message_size: 64 << 20,
            max_frame_size: 64 << 20,
        }
    }
}

/// When text is validated as UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Utf8Check {
    /// As the bytes arrive: an invalid sequence fails at its first impossible byte, even in
    /// the middle of a frame (the fail-fast of §8.1 that Autobahn 6.4.x grades).
    Streaming,
    /// At the end of each frame.
    FrameEnd,
    /// Once the whole message has arrived.
    MessageEnd,
    /// Never: text messages come out as bytes ([`DecodedFrame::raw_text`]).
    Off,
}

/// Everything that decides how strict a [`StreamDecoder`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Header rules: the reading role (masking) and the RSV bits an extension defined.
    pub rules: HeaderRules,
    /// Size limits (never tolerated: exceeding one fails the stream).
    pub limits: Limits,
    /// Violations recorded instead of failing the stream.
    pub lenient: Leniency,
    /// When text is validated.
    pub utf8: Utf8Check,
    /// Whether data messages are kept. Without, they are validated (text as it arrives,
    /// whatever `utf8` says) and counted, and come out empty with their length in
    /// [`DecodedFrame::message_len`]: for a reader that only needs a message's type and size.
    pub keep_data: bool,
}

impl DecoderConfig {
    /// A receiver as RFC 6455 asks for: every rule enforced but the sender-side minimal
    /// length ([`Leniency::RECEIVER`]), text validated as it arrives.
    pub const fn receiver(rules: HeaderRules, limits: Limits) -> Self {
        DecoderConfig {
            rules,
            limits,
            lenient: Leniency::RECEIVER,
            utf8: Utf8Check::Streaming,
            keep_data: true,
        }
    }

    /// A reader that judges its peer: every violation recorded ([`Leniency::ALL`]) and
    /// reading goes on, so what follows (a close frame, a pong) is still seen.
    pub const fn recording(rules: HeaderRules, limits: Limits) -> Self {
        DecoderConfig {
            lenient: Leniency::ALL,
            ..DecoderConfig::receiver(rules, limits)
        }
    }
}

#[derive(Debug)]
struct OpenMessage {
    text: bool,
    /// The message so far (empty when data is not kept).
    buf: Vec<u8>,
    /// Its length so far.
    len: u64,
    utf8: Utf8Validator,
    /// Bytes of `buf` fed to `utf8` so far.
    checked: usize,
    /// The first UTF-8 error, once there was one (the validator then stays failed).
    rejected: Option<u64>,
    /// RSV1 was set on its first frame under permessage-deflate: `buf` holds the inflated
    /// bytes and `len` their count.
    compressed: bool,
    /// Inflating failed (a tolerated violation): the rest of the message is not inflated.
    inflate_failed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text, binary or continuation, joining the open message.
    Data,
    /// Ping, pong or close, collected on its own.
    Control,
    /// A tolerated violation set the frame aside; its payload is skipped.
    Skip,
}

#[derive(Debug, Clone, Copy)]
struct OpenFrame {
    header: FrameHeader,
    received: u64,
    kind: Kind,
}

/// A frame fully read by [`StreamDecoder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedFrame {
    /// The header as received.
    pub header: FrameHeader,
    /// The first bytes of the unmasked payload (at most [`StreamDecoder::PREVIEW`]), for transcripts.
    pub preview: Vec<u8>,
    /// The message-level event the frame completed.
    pub event: Option<Event>,
    /// The message this frame completed is text whose UTF-8 was not validated
    /// ([`Utf8Check::Off`]) or was invalid and tolerated: [`Message::Text`] only holds valid
    /// UTF-8, so it comes as [`Message::Binary`] with this flag set.
    pub raw_text: bool,
    /// The length of the message this frame completed (0 when it completed none); the
    /// only trace of its bytes when [`DecoderConfig::keep_data`] is off.
    pub message_len: u64,
}

/// Header parsing, unmasking and assembly over a byte stream split at arbitrary points.
#[derive(Debug)]
pub struct StreamDecoder {
    cfg: DecoderConfig,
    message: Option<OpenMessage>,
    frame: Option<OpenFrame>,
    control: Vec<u8>,
    preview: Vec<u8>,
    violations: Vec<ProtocolError>,
    /// Unmasked payload bytes being validated when data is not kept, or inflated.
    scratch: Vec<u8>,
    /// permessage-deflate (RFC 7692) is in use: messages whose first frame has RSV1 are
    /// inflated by this, at most [`Limits::max_message_size`] bytes each.
    inflate: Option<Decompressor>,
    /// Compressed payload of the frame being read, inflated once the frame is complete.
    compressed_frame: Vec<u8>,
}

impl StreamDecoder {
    /// Bytes of each frame's payload kept for [`DecodedFrame::preview`].
    pub const PREVIEW: usize = 64;

    /// A receiver applying `rules` to headers and `limits` to messages
    /// ([`DecoderConfig::receiver`]).
    pub fn new(rules: HeaderRules, limits: Limits) -> Self {
        Self::with_config(DecoderConfig::receiver(rules, limits))
    }

    /// A decoder configured by `cfg`.
    pub fn with_config(cfg: DecoderConfig) -> Self {
        StreamDecoder {
            cfg,
            message: None,
            frame: None,
            control: Vec::new(),
            preview: Vec::new(),
            violations: Vec::new(),
            scratch: Vec::new(),
            inflate: None,
            compressed_frame: Vec::new(),
        }
    }

    /// Turns permessage-deflate on (RFC 7692 §6): RSV1 becomes allowed on the first frame of a
    /// data message, which then is compressed and inflated by `d` (its per-message limit
    /// follows [`Limits::max_message_size`]); RSV1 on a control or continuation frame is a
    /// violation. `None` turns it off again.
    pub fn set_inflate(&mut self, d: Option<Decompressor>) {
        if d.is_some() {
            self.cfg.rules.allowed_rsv |= ALLOWED_RSV;
        } else {
            self.cfg.rules.allowed_rsv &= !ALLOWED_RSV;
        }
        self.inflate = d;
    }

    /// Whether permessage-deflate is on ([`StreamDecoder::set_inflate`]).
    pub fn inflating(&self) -> bool {
        self.inflate.is_some()
    }

    /// The configuration in force.
    pub fn config(&self) -> &DecoderConfig {
        &self.cfg
    }

    /// Changes the header rules for the frames to come (e.g. RSV1 once deflate is agreed).
    pub fn set_rules(&mut self, rules: HeaderRules) {
        self.cfg.rules = rules;
    }

    /// Whether data messages are kept ([`DecoderConfig::keep_data`]), for the messages
    /// that start after the call.
    pub fn set_keep_data(&mut self, keep: bool) {
        self.cfg.keep_data = keep;
    }

    /// True while a fragmented message is open.
    pub fn in_message(&self) -> bool {
        self.message.is_some()
    }

    /// The header of the frame whose payload is being read, if any.
    pub fn open_frame(&self) -> Option<&FrameHeader> {
        self.frame.as_ref().map(|f| &f.header)
    }

    /// The violations the last [`StreamDecoder::decode`] call recorded (tolerated by the
    /// configuration), in the order they were found. They belong to the frame that call
    /// read: header violations as soon as the header is complete, UTF-8 ones as the bad
    /// bytes arrive, close payload ones when the frame ends, so a caller can react before
    /// the rest of a long frame arrives.
    pub fn violations(&self) -> &[ProtocolError] {
        &self.violations
    }

    /// Consumes bytes from `input` until one frame completes or the input runs out.
    ///
    /// Returns how many bytes were consumed and the completed frame, if any. Bytes of an
    /// incomplete header are not consumed: the caller keeps them and calls again with more.
    /// Payload bytes are consumed (and validated) as they come. After an error the stream
    /// is lost: the caller must stop feeding it.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, Option<DecodedFrame>), FrameError> {
        self.violations.clear();
        let mut used = 0;
        if self.frame.is_none() {
            let parsed = parse_header_lenient(
                input,
                self.cfg.rules,
                self.cfg.lenient,
                &mut self.violations,
            )?;
            match parsed {
                Status::Partial(_) => return Ok((0, None)),
                Status::Complete(h, n) => {
                    used = n;
                    self.preview.clear();
                    self.begin_frame(h)?;
                }
            }
        }
        let Some(mut frame) = self.frame else {
            return Ok((used, None));
        };
        let remaining = frame.header.payload_len - frame.received;
        let take = remaining.min((input.len() - used) as u64) as usize;
        let chunk = &input[used..used + take];
        let offset = frame.received as usize;
        if self.preview.len() < Self::PREVIEW {
            let n = take.min(Self::PREVIEW - self.preview.len());
            let start = self.preview.len();
            self.preview.extend_from_slice(&chunk[..n]);
            if let Some(key) = frame.header.mask {
                apply_mask(&mut self.preview[start..], key, offset);
            }
        }
        frame.received += take as u64;
        self.frame = Some(frame);
        self.payload(frame, chunk, offset)?;
        used += take;
        if frame.received < frame.header.payload_len {
            return Ok((used, None));
        }
        self.frame = None;
        let (event, raw_text, message_len) = self.end_frame(frame)?;
        Ok((
            used,
            Some(DecodedFrame {
                header: frame.header,
                preview: std::mem::take(&mut self.preview),
                event,
                raw_text,
                message_len,
            }),
        ))
    }

    /// Records `e` if the configuration tolerates it, else fails with it.
    fn tolerate(&mut self, e: ProtocolError) -> Result<(), FrameError> {
        if self.cfg.lenient.allows(e.rule()) {
            self.violations.push(e);
            Ok(())
        } else {
            Err(e.into())
        }
    }

    /// Starts a frame: the rules that depend on the message state.
    fn begin_frame(&mut self, header: FrameHeader) -> Result<(), FrameError> {
        let len = header.payload_len;
        let mut compressed = false;
        if self.inflate.is_some() {
            self.compressed_frame.clear();
            match received_rsv1(header.opcode, header.rsv & ALLOWED_RSV != 0) {
                Ok(c) => compressed = c,
                // Tolerated: the bit is ignored, as if the rule did not exist.
                Err(e) => self.tolerate(deflate_violation(&e))?,
            }
        }
        let kind = match header.opcode {
            // Reaching here, the header parser was told to tolerate it.
            OpCode::Reserved(_) => Kind::Skip,
            op if op.is_control() => {
                // Only a tolerated violation lets a long control frame through; its buffer
                // is still bounded.
                if len > MAX_CONTROL_PAYLOAD {
                    self.cfg.limits.check(0, len)?;
                }
                self.control.clear();
                Kind::Control
            }
            op => {
                let open = self.message.as_ref().map(|m| m.len);
                match self.cfg.limits.data_frame(op, open, len) {
                    Ok(()) => {
                        if op != OpCode::Continuation {
                            let keep = if self.cfg.keep_data { len } else { 0 };
                            self.message = Some(OpenMessage {
                                text: op == OpCode::Text,
                                buf: Vec::with_capacity(keep.min(1 << 20) as usize),
                                len: 0,
                                utf8: Utf8Validator::new(),
                                checked: 0,
                                rejected: None,
                                compressed,
                                inflate_failed: false,
                            });
                            if compressed {
                                if let Some(d) = self.inflate.as_mut() {
                                    d.set_limit(self.cfg.limits.max_message_size);
                                }
                            }
                        }
                        Kind::Data
                    }
                    Err(FrameError::Protocol(e)) => {
                        self.tolerate(e)?;
                        Kind::Skip
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        self.frame = Some(OpenFrame {
            header,
            received: 0,
            kind,
        });
        Ok(())
    }

    /// Payload bytes of `frame` as they are on the wire, starting at payload `offset`.
    fn payload(&mut self, frame: OpenFrame, chunk: &[u8], offset: usize) -> Result<(), FrameError> {
        if frame.kind == Kind::Data && self.message.as_ref().is_some_and(|m| m.compressed) {
            return self.inflate_chunk(frame, chunk, offset);
        }
        if frame.kind == Kind::Data && !self.cfg.keep_data {
            let Some(m) = self.message.as_mut() else {
                return Ok(());
            };
            m.len += chunk.len() as u64;
            if !m.text || chunk.is_empty() {
                return Ok(());
            }
            self.scratch.clear();
            self.scratch.extend_from_slice(chunk);
            if let Some(key) = frame.header.mask {
                apply_mask(&mut self.scratch, key, offset);
            }
            return match validate(m, &self.scratch, false) {
                Some(offset) => self.tolerate(ProtocolError::InvalidUtf8 { offset }),
                None => Ok(()),
            };
        }
        let target = match frame.kind {
            Kind::Skip => return Ok(()),
            Kind::Control => &mut self.control,
            Kind::Data => match self.message.as_mut() {
                Some(m) => {
                    m.len += chunk.len() as u64;
                    &mut m.buf
                }
                None => return Ok(()),
            },
        };
        let start = target.len();
        target.extend_from_slice(chunk);
        if let Some(key) = frame.header.mask {
            apply_mask(&mut target[start..], key, offset);
        }
        if frame.kind == Kind::Data && self.cfg.utf8 == Utf8Check::Streaming && !chunk.is_empty() {
            self.check_text(false)?;
        }
        Ok(())
    }

    /// Payload bytes of a compressed message: unmasked and collected; at the end of each frame
    /// inflated into the message (bounded by the message limit) and the text validated. Whole
    /// frames, as autobahn-python and most peers inflate, so that how zlib judges a
    /// back-reference never depends on how TCP split the frame.
    fn inflate_chunk(
        &mut self,
        frame: OpenFrame,
        chunk: &[u8],
        offset: usize,
    ) -> Result<(), FrameError> {
        let (Some(m), Some(d)) = (self.message.as_mut(), self.inflate.as_mut()) else {
            return Ok(());
        };
        if m.inflate_failed {
            return Ok(());
        }
        let start = self.compressed_frame.len();
        self.compressed_frame.extend_from_slice(chunk);
        if let Some(key) = frame.header.mask {
            apply_mask(&mut self.compressed_frame[start..], key, offset);
        }
        if frame.received < frame.header.payload_len || self.compressed_frame.is_empty() {
            return Ok(());
        }
        let r = d.inflate(&self.compressed_frame, &mut m.buf);
        self.compressed_frame.clear();
        m.len = m.buf.len() as u64;
        self.inflated(r)?;
        if self.cfg.utf8 == Utf8Check::Streaming {
            self.check_text(false)?;
        }
        Ok(())
    }

    /// The outcome of an inflate step: a limit fails the stream, corrupt data is a violation.
    fn inflated(&mut self, r: Result<(), DeflateError>) -> Result<(), FrameError> {
        match r {
            Ok(()) => Ok(()),
            Err(DeflateError::Capacity(c)) => Err(c.into()),
            Err(e) => {
                if let Some(m) = self.message.as_mut() {
                    m.inflate_failed = true;
                }
                self.tolerate(deflate_violation(&e))
            }
        }
    }

    /// Validates the open text message as far as it has arrived (and, with `end`, that it
    /// does not stop inside a sequence).
    fn check_text(&mut self, end: bool) -> Result<(), FrameError> {
        let Some(m) = self.message.as_mut().filter(|m| m.text) else {
            return Ok(());
        };
        let checked = m.checked;
        m.checked = m.buf.len();
        let fresh = std::mem::take(&mut m.buf);
        let error = validate(m, &fresh[checked..], end);
        m.buf = fresh;
        match error {
            Some(offset) => self.tolerate(ProtocolError::InvalidUtf8 { offset }),
            None => Ok(()),
        }
    }

    /// Ends `frame`; returns the event it completes, whether it is raw text, and the length
    /// of the message it completes.
    fn end_frame(&mut self, frame: OpenFrame) -> Result<(Option<Event>, bool, u64), FrameError> {
        let h = frame.header;
        match frame.kind {
            Kind::Skip => Ok((None, false, 0)),
            Kind::Control => {
                let payload = std::mem::take(&mut self.control);
                let event = match h.opcode {
                    OpCode::Ping => Event::Ping(payload),
                    OpCode::Pong => Event::Pong(payload),
                    _ => {
                        let close = self.close(&payload)?;
                        self.control = payload;
                        Event::Close(close)
                    }
                };
                Ok((Some(event), false, 0))
            }
            Kind::Data => {
                let compressed = self.message.as_ref().is_some_and(|m| m.compressed);
                if h.fin && compressed {
                    if let (Some(m), Some(d)) = (self.message.as_mut(), self.inflate.as_mut()) {
                        if !m.inflate_failed {
                            let r = d.finish_message(&mut m.buf);
                            m.len = m.buf.len() as u64;
                            self.inflated(r)?;
                        }
                    }
                }
                let kept = self.cfg.keep_data || compressed;
                if self.cfg.utf8 == Utf8Check::FrameEnd && !h.fin && kept {
                    self.check_text(false)?;
                }
                if !h.fin {
                    return Ok((None, false, 0));
                }
                if self.cfg.utf8 != Utf8Check::Off || !kept {
                    self.check_text(true)?;
                }
                let Some(m) = self.message.take() else {
                    return Ok((None, false, 0));
                };
                let len = m.len;
                if !m.text {
                    return Ok((Some(Event::Message(Message::Binary(m.buf))), false, len));
                }
                if (self.cfg.utf8 == Utf8Check::Off && kept) || m.rejected.is_some() {
                    return Ok((Some(Event::Message(Message::Binary(m.buf))), true, len));
                }
                // Validated above; from_utf8 only re-checks.
                let s = String::from_utf8(m.buf).map_err(|e| ProtocolError::InvalidUtf8 {
                    offset: e.utf8_error().valid_up_to() as u64,
                })?;
                Ok((Some(Event::Message(Message::Text(s))), false, len))
            }
        }
    }

    /// §5.5.1 and §7.4: a close payload, with whatever violations are tolerated recorded.
    fn close(&mut self, payload: &[u8]) -> Result<Option<(u16, String)>, FrameError> {
        match parse_close_payload(payload) {
            Ok(c) => return Ok(c.map(|c| (c.code, c.reason.to_owned()))),
            Err(e) if !self.cfg.lenient.allows(e.rule()) => return Err(e.into()),
            Err(_) => {}
        }
        if payload.len() < 2 {
            self.tolerate(ProtocolError::CloseLengthOne)?;
            return Ok(None);
        }
        let code = u16::from_be_bytes([payload[0], payload[1]]);
        if !is_valid_close_code(code) {
            self.tolerate(ProtocolError::InvalidCloseCode(code))?;
        }
        let reason = &payload[2..];
        if let Err(e) = utf8::validate(reason) {
            self.tolerate(ProtocolError::InvalidCloseReason { offset: e.offset })?;
        }
        Ok(Some((code, String::from_utf8_lossy(reason).into_owned())))
    }
}

/// The codec's violation for a permessage-deflate data error (capacity is not one).
fn deflate_violation(e: &DeflateError) -> ProtocolError {
    match e {
        DeflateError::Rsv1OnControlFrame { opcode } => {
            ProtocolError::Rsv1OnControlFrame { opcode: *opcode }
        }
        DeflateError::Rsv1OnContinuation => ProtocolError::Rsv1OnContinuation,
        _ => ProtocolError::InvalidCompressedData,
    }
}

/// Feeds `fresh` text to the message's validator (and, with `end`, checks it ends on a code
/// point); the offset to report when the text is, or already was, invalid. Autobahn's
/// validator stays failed, so every later piece fails again.
fn validate(m: &mut OpenMessage, fresh: &[u8], end: bool) -> Option<u64> {
    let error = match m.rejected {
        Some(offset) => (!fresh.is_empty() || end).then_some(offset),
        None => m
            .utf8
            .feed(fresh)
            .and_then(|()| if end { m.utf8.finish() } else { Ok(()) })
            .err()
            .map(|e| e.offset),
    };
    if error.is_some() {
        m.rejected = error;
    }
    error
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
