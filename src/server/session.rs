//! The echo server's protocol state after the opening handshake, without IO.
//!
//! [`Session::feed`] takes whatever bytes the socket delivered, consumes them frame by frame
//! (payload bytes as they arrive, so UTF-8 and size errors surface at the first bad byte),
//! appends the frames to send to `out` and says whether the connection must end. Keeping it
//! sans-IO lets the reference server, its tests and benchmarks share one implementation.
//!
//! Data frames go through the codec's [`MessageAssembler`]; control frames are handled here,
//! because the close and ping rules are what most [`Faults`] switches bend.

use crate::codec::close::{close_payload, is_valid_close_code};
use crate::codec::error::{CapacityError, FrameError, ProtocolError};
use crate::codec::frame::{
    encode_frame, parse_header, FrameHeader, HeaderRules, LengthEncoding, OpCode, Role, Status,
};
use crate::codec::mask::apply_mask;
use crate::codec::message::{Event, Limits, Message, MessageAssembler};
use crate::codec::utf8::{self, Utf8Validator};

use super::faults::Faults;

/// What the connection does after a [`Session::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Keep reading.
    Continue,
    /// A close frame was queued (or deliberately withheld under a fault); end the connection.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text, binary or continuation, fed to the assembler.
    Data,
    /// Ping, pong or close, collected here.
    Control,
    /// Ignored, only reachable under a fault.
    Skip,
}

#[derive(Debug)]
struct OpenFrame {
    header: FrameHeader,
    received: u64,
    kind: Kind,
}

/// UTF-8 state of a text message when a fault takes validation away from the assembler.
#[derive(Debug)]
struct TextCheck {
    validator: Utf8Validator,
    error: Option<u64>,
}

/// Server-side protocol state of one connection.
#[derive(Debug)]
pub(crate) struct Session {
    faults: Faults,
    limits: Limits,
    rules: HeaderRules,
    assembler: MessageAssembler,
    open: Option<OpenFrame>,
    control: Vec<u8>,
    /// `Some` while a text message is open and a fault does the UTF-8 checking.
    text: Option<TextCheck>,
    close_sent: bool,
    scratch: Vec<u8>,
}

impl Session {
    /// A session in the OPEN state.
    pub(crate) fn new(faults: Faults, limits: Limits) -> Self {
        let rules = HeaderRules {
            role: if faults.accept_unmasked_frames {
                None
            } else {
                Some(Role::Server)
            },
            allowed_rsv: if faults.accept_rsv_bits { 0x7 } else { 0 },
        };
        Session {
            faults,
            limits,
            rules,
            assembler: MessageAssembler::new(limits),
            open: None,
            control: Vec::with_capacity(125),
            text: None,
            close_sent: false,
            scratch: Vec::new(),
        }
    }

    /// Whether this side has sent its close frame.
    pub(crate) fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Consumes bytes of `input`, appends frames to send to `out`.
    ///
    /// Returns the number of bytes consumed; unconsumed bytes are an incomplete frame header
    /// the caller must present again with more data behind it.
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, Flow) {
        if self.close_sent && !self.faults.respond_after_close {
            // §5.5.1: after sending a close frame, no more data frames are processed.
            return (input.len(), Flow::Close);
        }
        let mut used = 0;
        loop {
            if self.open.is_none() {
                match self.parse_header(&input[used..]) {
                    Err(e) => return (used, self.fail(e.into(), out)),
                    Ok(Status::Partial(_)) => return (used, Flow::Continue),
                    Ok(Status::Complete(h, n)) => {
                        used += n;
                        if let Err(e) = self.begin(h) {
                            return (used, self.fail(e, out));
                        }
                    }
                }
            }
            let Some(open) = self.open.as_ref() else {
                // begin() always opens a frame on success; nothing to do otherwise.
                return (used, Flow::Continue);
            };
            let remaining = open.header.payload_len - open.received;
            let take = remaining.min((input.len() - used) as u64) as usize;
            if let Err(e) = self.payload(&input[used..used + take]) {
                return (used + take, self.fail(e, out));
            }
            used += take;
            if (take as u64) < remaining {
                return (used, Flow::Continue);
            }
            if self.end_frame(out) == Flow::Close {
                return (used, Flow::Close);
            }
        }
    }

    /// Starts a server-initiated close (shutdown, idle timeout); no-op if already closing.
    pub(crate) fn server_close(&mut self, code: u16, reason: &str, out: &mut Vec<u8>) {
        if !self.close_sent {
            self.send_close(Some(code), reason, out);
        }
    }

    fn parse_header(&self, buf: &[u8]) -> Result<Status<FrameHeader>, ProtocolError> {
        let strict = parse_header(buf, self.rules);
        if !self.faults.lenient_header() {
            return strict;
        }
        match strict {
            Err(ProtocolError::ReservedOpcode(_)) if self.faults.accept_reserved_opcodes => {}
            Err(ProtocolError::FragmentedControlFrame) if self.faults.accept_fragmented_control => {
            }
            Err(ProtocolError::ControlFrameTooLong(_)) if self.faults.accept_long_control => {}
            other => return other,
        }
        // A fault lets through what the codec rejects outright: decode by hand, keeping every
        // check the active faults do not switch off.
        lenient_header(buf, self.rules, &self.faults)
    }

    fn begin(&mut self, header: FrameHeader) -> Result<(), FrameError> {
        let kind = match header.opcode {
            OpCode::Reserved(_) => Kind::Skip,
            op if op.is_control() => {
                // Only a fault lets a long control frame reach here; still bound the buffer.
                if header.payload_len > self.limits.max_frame_size {
                    return Err(CapacityError::FrameTooLarge {
                        size: header.payload_len,
                        limit: self.limits.max_frame_size,
                    }
                    .into());
                }
                self.control.clear();
                Kind::Control
            }
            op => {
                let own_utf8 = self.faults.own_utf8();
                let mut h = header;
                if own_utf8 && op == OpCode::Text {
                    // Hide the text type from the assembler so it does not validate.
                    h.opcode = OpCode::Binary;
                }
                match self.assembler.begin_frame(&h) {
                    Ok(()) => {
                        if own_utf8 && op != OpCode::Continuation {
                            self.text = (op == OpCode::Text).then(|| TextCheck {
                                validator: Utf8Validator::new(),
                                error: None,
                            });
                        }
                        Kind::Data
                    }
                    Err(FrameError::Protocol(
                        ProtocolError::ContinuationWithoutMessage
                        | ProtocolError::DataFrameInsideMessage,
                    )) if self.faults.ignore_fragmentation_errors => Kind::Skip,
                    Err(e) => return Err(e),
                }
            }
        };
        self.open = Some(OpenFrame {
            header,
            received: 0,
            kind,
        });
        Ok(())
    }

    fn payload(&mut self, chunk: &[u8]) -> Result<(), FrameError> {
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        let offset = open.received as usize;
        open.received += chunk.len() as u64;
        let mask = open.header.mask;
        match open.kind {
            Kind::Skip => Ok(()),
            Kind::Control => {
                let start = self.control.len();
                self.control.extend_from_slice(chunk);
                if let Some(key) = mask {
                    apply_mask(&mut self.control[start..], key, offset);
                }
                Ok(())
            }
            Kind::Data => {
                self.assembler.payload_masked(chunk, mask)?;
                if let Some(t) = self.text.as_mut().filter(|t| t.error.is_none()) {
                    self.scratch.clear();
                    self.scratch.extend_from_slice(chunk);
                    if let Some(key) = mask {
                        apply_mask(&mut self.scratch, key, offset);
                    }
                    if let Err(e) = t.validator.feed(&self.scratch) {
                        t.error = Some(e.offset);
                    }
                }
                Ok(())
            }
        }
    }

    fn end_frame(&mut self, out: &mut Vec<u8>) -> Flow {
        let Some(open) = self.open.take() else {
            return Flow::Continue;
        };
        match open.kind {
            Kind::Skip => Flow::Continue,
            Kind::Control => {
                let payload = std::mem::take(&mut self.control);
                let flow = match open.header.opcode {
                    OpCode::Ping => {
                        self.on_ping(payload.clone(), out);
                        Flow::Continue
                    }
                    OpCode::Close => self.on_close(&payload, out),
                    _ => Flow::Continue,
                };
                self.control = payload;
                self.control.clear();
                flow
            }
            Kind::Data => {
                let event = match self.assembler.end_frame() {
                    Ok(ev) => ev,
                    Err(e) => return self.fail(e, out),
                };
                if let Some(e) = self.own_utf8_verdict(open.header.fin) {
                    return self.fail(e.into(), out);
                }
                match event {
                    Some(Event::Message(Message::Text(s))) => {
                        self.send(OpCode::Text, s.as_bytes(), out)
                    }
                    Some(Event::Message(Message::Binary(b))) => {
                        let op = if self.text.take().is_some() {
                            OpCode::Text
                        } else {
                            OpCode::Binary
                        };
                        self.send(op, &b, out)
                    }
                    _ => {}
                }
                Flow::Continue
            }
        }
    }

    /// Under a UTF-8 fault: the error to fail with at this frame end, if the fault says so.
    fn own_utf8_verdict(&self, message_end: bool) -> Option<ProtocolError> {
        let t = self.text.as_ref()?;
        if self.faults.no_utf8_validation {
            return None;
        }
        let checkpoint = message_end || self.faults.frame_utf8_validation;
        if !checkpoint {
            return None;
        }
        if let Some(offset) = t.error {
            return Some(ProtocolError::InvalidUtf8 { offset });
        }
        if message_end {
            if let Err(e) = t.validator.finish() {
                return Some(ProtocolError::InvalidUtf8 { offset: e.offset });
            }
        }
        None
    }

    fn on_ping(&mut self, mut payload: Vec<u8>, out: &mut Vec<u8>) {
        if self.faults.no_pong {
            return;
        }
        if self.faults.pong_wrong_payload {
            match payload.first_mut() {
                Some(b) => *b ^= 0x01,
                None => payload.push(b'x'),
            }
        }
        self.send(OpCode::Pong, &payload, out);
    }

    fn on_close(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Flow {
        if self.close_sent {
            // The reply to our own close, or a repeat under `respond_after_close`.
            return Flow::Close;
        }
        let f = self.faults;
        let code = match payload.len() {
            0 => None,
            1 if f.accept_1byte_close => Some(1000),
            1 => return self.fail(ProtocolError::CloseLengthOne.into(), out),
            _ => {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                if !is_valid_close_code(code) && !f.accept_invalid_close_codes {
                    return self.fail(ProtocolError::InvalidCloseCode(code).into(), out);
                }
                if let Err(e) = utf8::validate(&payload[2..]) {
                    if !f.accept_invalid_close_reason {
                        let e = ProtocolError::InvalidCloseReason { offset: e.offset };
                        return self.fail(e.into(), out);
                    }
                }
                Some(code)
            }
        };
        let code = if f.close_reply_1001 { Some(1001) } else { code };
        if f.no_close_reply {
            self.close_sent = true;
        } else {
            // §5.5.1: echo the status code; the reason is optional and left out.
            self.send_close(code, "", out);
        }
        Flow::Close
    }

    /// Fails the connection (§7.1.7): close frame with the code for `err`, then TCP close.
    fn fail(&mut self, err: FrameError, out: &mut Vec<u8>) -> Flow {
        let mut code = err.close_code();
        if code == 1007 && self.faults.utf8_error_close_1002 {
            code = 1002;
        }
        if !self.close_sent {
            let reason = err.to_string();
            self.send_close(Some(code), &reason, out);
        }
        // The frame that raised the error is abandoned; under `respond_after_close` later
        // frames are still parsed, so the assembler must not think it is still open.
        self.open = None;
        self.assembler.reset();
        self.text = None;
        Flow::Close
    }

    fn send_close(&mut self, code: Option<u16>, reason: &str, out: &mut Vec<u8>) {
        let payload = match code {
            Some(c) => close_payload(c, truncate_utf8(reason, 123).as_bytes()),
            None => Vec::new(),
        };
        self.send(OpCode::Close, &payload, out);
        self.close_sent = true;
    }

    fn send(&self, op: OpCode, payload: &[u8], out: &mut Vec<u8>) {
        let mask = self.faults.mask_server_frames.then(rand::random::<[u8; 4]>);
        let mut h = FrameHeader::new(op, true, payload.len() as u64, mask);
        if self.faults.non_minimal_lengths {
            h.length_encoding = LengthEncoding::U64;
        }
        encode_frame(&h, payload, out);
    }
}

/// Longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Decodes a frame header with only the checks the active faults leave on.
fn lenient_header(
    buf: &[u8],
    rules: HeaderRules,
    faults: &Faults,
) -> Result<Status<FrameHeader>, ProtocolError> {
    if buf.len() < 2 {
        return Ok(Status::Partial(2 - buf.len()));
    }
    let (b0, b1) = (buf[0], buf[1]);
    let fin = b0 & 0x80 != 0;
    let rsv = (b0 >> 4) & 0x07;
    let opcode = OpCode::from_u8(b0);
    if let OpCode::Reserved(v) = opcode {
        if !faults.accept_reserved_opcodes {
            return Err(ProtocolError::ReservedOpcode(v));
        }
    }
    if rsv & !rules.allowed_rsv != 0 {
        return Err(ProtocolError::ReservedBitsSet { rsv });
    }
    if opcode.is_control() && !fin && !faults.accept_fragmented_control {
        return Err(ProtocolError::FragmentedControlFrame);
    }
    let masked = b1 & 0x80 != 0;
    if rules.role == Some(Role::Server) && !masked {
        return Err(ProtocolError::UnmaskedClientFrame);
    }
    let (length_encoding, extra) = match b1 & 0x7f {
        126 => (LengthEncoding::U16, 2),
        127 => (LengthEncoding::U64, 8),
        _ => (LengthEncoding::Short, 0),
    };
    let total = 2 + extra + if masked { 4 } else { 0 };
    if buf.len() < total {
        return Ok(Status::Partial(total - buf.len()));
    }
    let payload_len = match length_encoding {
        LengthEncoding::Short => (b1 & 0x7f) as u64,
        LengthEncoding::U16 => u16::from_be_bytes([buf[2], buf[3]]) as u64,
        LengthEncoding::U64 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            u64::from_be_bytes(b)
        }
    };
    if payload_len >> 63 != 0 {
        return Err(ProtocolError::LengthTopBitSet);
    }
    if opcode.is_control() && payload_len > 125 && !faults.accept_long_control {
        return Err(ProtocolError::ControlFrameTooLong(payload_len));
    }
    let mask = masked.then(|| {
        let k = 2 + extra;
        [buf[k], buf[k + 1], buf[k + 2], buf[k + 3]]
    });
    Ok(Status::Complete(
        FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
            length_encoding,
        },
        total,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::frame::frame;

    const KEY: Option<[u8; 4]> = Some([0x11, 0x22, 0x33, 0x44]);

    /// Feeds `wire` in pieces of `chop` bytes; returns the server's frames and whether it closed.
    fn run(faults: Faults, wire: &[u8], chop: usize) -> (Vec<(OpCode, Vec<u8>)>, bool) {
        let mut s = Session::new(faults, Limits::default());
        let mut out = Vec::new();
        let mut pending = Vec::new();
        let mut closed = false;
        for piece in wire.chunks(chop.max(1)) {
            pending.extend_from_slice(piece);
            let (n, flow) = s.feed(&pending, &mut out);
            pending.drain(..n);
            if flow == Flow::Close {
                closed = true;
                break;
            }
        }
        let mut frames = Vec::new();
        let mut rest = &out[..];
        while let Ok(Status::Complete(h, n)) = parse_header(rest, HeaderRules::any_role()) {
            let len = h.payload_len as usize;
            let mut body = rest[n..n + len].to_vec();
            if let Some(k) = h.mask {
                apply_mask(&mut body, k, 0);
            }
            frames.push((h.opcode, body));
            rest = &rest[n + len..];
        }
        (frames, closed)
    }

    #[test]
    fn echo_ping_close() {
        let mut wire = frame(OpCode::Text, false, b"Hello, ", KEY);
        wire.extend(frame(OpCode::Ping, true, b"p", KEY));
        wire.extend(frame(OpCode::Continuation, true, b"world", KEY));
        wire.extend(frame(
            OpCode::Close,
            true,
            &close_payload(3000, b"bye"),
            KEY,
        ));
        for chop in [1, 3, 7, wire.len()] {
            let (frames, closed) = run(Faults::none(), &wire, chop);
            assert!(closed);
            assert_eq!(
                frames,
                vec![
                    (OpCode::Pong, b"p".to_vec()),
                    (OpCode::Text, b"Hello, world".to_vec()),
                    (OpCode::Close, 3000u16.to_be_bytes().to_vec()),
                ]
            );
        }
    }

    #[test]
    fn utf8_fails_at_first_bad_byte_mid_frame() {
        // 6.4.3 shape: one frame header announcing 21 bytes, payload arriving in parts.
        let payload: Vec<u8> = [
            &[
                0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5,
            ][..],
            &[0xf4, 0x90, 0x80, 0x80],
            b"edited",
        ]
        .concat();
        let wire = frame(OpCode::Text, false, &payload, KEY);
        let head = wire.len() - payload.len();
        let mut s = Session::new(Faults::none(), Limits::default());
        let mut out = Vec::new();
        assert_eq!(
            s.feed(&wire[..head + 12], &mut out),
            (head + 12, Flow::Continue)
        );
        assert!(out.is_empty());
        let (_, flow) = s.feed(&wire[head + 12..head + 13], &mut out);
        assert_eq!(flow, Flow::Close);
        assert_eq!(&out[2..4], &1007u16.to_be_bytes());

        // late validation only fails once the message ends.
        let f = Faults::parse("late_utf8_validation").unwrap();
        let mut s = Session::new(f, Limits::default());
        let mut out = Vec::new();
        assert_eq!(s.feed(&wire, &mut out).1, Flow::Continue);
        let end = frame(OpCode::Continuation, true, b"", KEY);
        assert_eq!(s.feed(&end, &mut out).1, Flow::Close);
        assert_eq!(&out[2..4], &1007u16.to_be_bytes());
    }

    #[test]
    fn lenient_header_keeps_unfaulted_checks() {
        let f = Faults::parse("accept_reserved_opcodes").unwrap();
        let unmasked = frame(OpCode::Reserved(3), true, b"", None);
        assert_eq!(
            lenient_header(&unmasked, HeaderRules::server(), &f),
            Err(ProtocolError::UnmaskedClientFrame)
        );
        let masked = frame(OpCode::Reserved(3), true, b"ab", KEY);
        assert!(matches!(
            lenient_header(&masked, HeaderRules::server(), &f),
            Ok(Status::Complete(_, 6))
        ));
    }

    #[test]
    fn truncate_on_char_boundary() {
        assert_eq!(truncate_utf8("aé", 2), "a");
        assert_eq!(truncate_utf8("abc", 5), "abc");
    }
}
