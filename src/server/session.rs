//! The echo server's protocol state after the opening handshake, without IO.
//!
//! [`Session::feed`] takes whatever bytes the socket delivered, consumes them frame by frame
//! (payload bytes as they arrive, so UTF-8 and size errors surface at the first bad byte),
//! appends the frames to send to `out` and says whether the connection must end. Keeping it
//! sans-IO lets the reference server, its tests and benchmarks share one implementation.
//!
//! Frames are read by the codec's one [`StreamDecoder`]. The [`Faults`] that make the server
//! accept what it must refuse are decoder configuration (a [`Leniency`] and a
//! [`Utf8Check`]); the ones that change what the server answers are handled here.

use crate::codec::close::close_payload;
use crate::codec::deflate::{sent_rsv, Compressor, DeflateConfig, WindowBits, ALLOWED_RSV};
use crate::codec::error::{FrameError, Leniency, ProtocolError, Rule};
use crate::codec::frame::{encode_frame, FrameHeader, HeaderRules, LengthEncoding, OpCode, Role};
use crate::codec::message::{DecoderConfig, Event, Limits, Message, StreamDecoder, Utf8Check};

use super::faults::Faults;

/// What the connection does after a [`Session::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Keep reading.
    Continue,
    /// A close frame was queued (or deliberately withheld under a fault); end the connection.
    Close,
}

/// Server-side protocol state of one connection.
#[derive(Debug)]
pub(crate) struct Session {
    faults: Faults,
    decoder: StreamDecoder,
    close_sent: bool,
    /// The stream broke a rule the server enforces: nothing after it is read.
    failed: bool,
    /// permessage-deflate was agreed: echoes are compressed with this.
    compressor: Option<Compressor>,
}

/// The decoder configuration a strict server reading client frames uses, bent by `faults`.
fn decoder_config(faults: &Faults, limits: Limits) -> DecoderConfig {
    let mut lenient = Leniency::RECEIVER;
    for (on, rule) in [
        (faults.accept_unmasked_frames, Rule::Masking),
        (faults.accept_rsv_bits, Rule::ReservedBits),
        (faults.accept_reserved_opcodes, Rule::ReservedOpcode),
        (faults.accept_fragmented_control, Rule::FragmentedControl),
        (faults.accept_long_control, Rule::ControlTooLong),
        (
            faults.ignore_fragmentation_errors,
            Rule::ContinuationWithoutMessage,
        ),
        (
            faults.ignore_fragmentation_errors,
            Rule::DataFrameInsideMessage,
        ),
        (faults.accept_1byte_close, Rule::CloseLengthOne),
        (faults.accept_invalid_close_codes, Rule::InvalidCloseCode),
        (faults.accept_invalid_close_reason, Rule::InvalidCloseReason),
    ] {
        if on {
            lenient = lenient.allow(rule);
        }
    }
    let utf8 = if faults.no_utf8_validation {
        Utf8Check::Off
    } else if faults.late_utf8_validation {
        Utf8Check::MessageEnd
    } else if faults.frame_utf8_validation {
        Utf8Check::FrameEnd
    } else {
        Utf8Check::Streaming
    };
    DecoderConfig {
        rules: HeaderRules {
            role: Some(Role::Server),
            allowed_rsv: 0,
        },
        limits,
        lenient,
        utf8,
        keep_data: true,
    }
}

/// zlib level of the reference server's compressed echoes.
const ECHO_LEVEL: u32 = 1;

impl Session {
    /// A session in the OPEN state; `deflate` is the permessage-deflate agreement, if any.
    pub(crate) fn new(faults: Faults, limits: Limits, deflate: Option<DeflateConfig>) -> Self {
        let mut decoder = StreamDecoder::with_config(decoder_config(&faults, limits));
        let compressor = deflate.map(|cfg| {
            decoder.set_inflate(Some(
                cfg.decompressor(Role::Server, limits.max_message_size),
            ));
            let window = if faults.deflate_exceed_window {
                WindowBits::MAX
            } else {
                cfg.server_max_window_bits
            };
            let reset =
                cfg.server_no_context_takeover && !faults.deflate_ignore_no_context_takeover;
            // The fastest level: any valid DEFLATE stream is a correct echo, and in a full
            // 12.x/13.x run the server's compressing is most of the CPU both sides spend.
            Compressor::with_level(window, reset, ECHO_LEVEL)
        });
        Session {
            faults,
            decoder,
            close_sent: false,
            failed: false,
            compressor,
        }
    }

    /// Whether this side has sent its close frame.
    pub(crate) fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Consumes bytes of `input`, appends frames to send to `out`.
    ///
    /// Returns the number of bytes consumed; unconsumed bytes are an incomplete frame header
    /// the caller must present again with more data behind it. After a violation everything
    /// is consumed, then and later.
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, Flow) {
        if self.failed || (self.close_sent && !self.faults.respond_after_close) {
            // §5.5.1: after sending a close frame, no more data frames are processed (and
            // after a violation, the stream cannot be framed any more).
            return (input.len(), Flow::Close);
        }
        let mut used = 0;
        loop {
            let (n, frame) = match self.decoder.decode(&input[used..]) {
                Ok(step) => step,
                Err(e) => return (input.len(), self.fail(e, out)),
            };
            used += n;
            let Some(f) = frame else {
                return (used, Flow::Continue);
            };
            let flow = match f.event {
                Some(Event::Message(Message::Text(s))) => {
                    self.ping_client(out);
                    self.send_data(OpCode::Text, s.as_bytes(), out);
                    Flow::Continue
                }
                Some(Event::Message(Message::Binary(b))) => {
                    let op = if f.raw_text {
                        OpCode::Text
                    } else {
                        OpCode::Binary
                    };
                    self.ping_client(out);
                    self.send_data(op, &b, out);
                    Flow::Continue
                }
                Some(Event::Ping(p)) => {
                    self.on_ping(p, out);
                    Flow::Continue
                }
                Some(Event::Close(c)) => {
                    let one_byte = self
                        .decoder
                        .violations()
                        .contains(&ProtocolError::CloseLengthOne);
                    self.on_close(c.map(|(code, _)| code), one_byte, out)
                }
                Some(Event::Pong(p)) => {
                    if self.faults.answer_pongs {
                        // Wrong on purpose (§5.5.3): an unsolicited pong is answered.
                        self.send(OpCode::Pong, &p, out);
                    }
                    Flow::Continue
                }
                None => Flow::Continue,
            };
            if flow == Flow::Close {
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

    /// Under `ping_client`: a ping to the client (legal at any time, §5.5.2).
    pub(crate) fn ping_client(&self, out: &mut Vec<u8>) {
        if self.faults.ping_client && !self.close_sent {
            self.send(OpCode::Ping, b"wsspec-server-ping", out);
        }
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

    fn on_close(&mut self, code: Option<u16>, one_byte: bool, out: &mut Vec<u8>) -> Flow {
        if self.close_sent {
            // The reply to our own close, or a repeat under `respond_after_close`.
            return Flow::Close;
        }
        let f = self.faults;
        // `accept_1byte_close` treats the 1-byte payload as a normal close.
        let code = if one_byte { Some(1000) } else { code };
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
        self.failed = true;
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

    /// An echo: compressed as one message when permessage-deflate is in use (RFC 7692 §6).
    fn send_data(&mut self, op: OpCode, payload: &[u8], out: &mut Vec<u8>) {
        let f = self.faults;
        let Some(c) = self
            .compressor
            .as_mut()
            .filter(|_| !f.deflate_never_compress)
        else {
            return self.send(op, payload, out);
        };
        let data = c.compress(payload);
        if f.deflate_rsv1_on_continuation {
            // Wrong on purpose: two frames, RSV1 on the continuation too.
            let cut = data.len() / 2;
            self.send_frame(op, false, ALLOWED_RSV, &data[..cut], out);
            self.send_frame(OpCode::Continuation, true, ALLOWED_RSV, &data[cut..], out);
            return;
        }
        self.send_frame(op, true, sent_rsv(op, true), &data, out);
    }

    fn send(&self, op: OpCode, payload: &[u8], out: &mut Vec<u8>) {
        if op.is_control() && self.faults.deflate_compress_control && self.compressor.is_some() {
            // Wrong on purpose: a control frame "compressed", with RSV1 (a fresh context, so
            // the data messages' context is untouched).
            let squeezed = Compressor::new(WindowBits::MAX, true).compress(payload);
            let body = if squeezed.len() <= 125 {
                &squeezed[..]
            } else {
                payload
            };
            return self.send_frame(op, true, ALLOWED_RSV, body, out);
        }
        self.send_frame(op, true, 0, payload, out);
    }

    fn send_frame(&self, op: OpCode, fin: bool, rsv: u8, payload: &[u8], out: &mut Vec<u8>) {
        let mask = self.faults.mask_server_frames.then(rand::random::<[u8; 4]>);
        let mut h = FrameHeader::new(op, fin, payload.len() as u64, mask);
        h.rsv = rsv;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::frame::{frame, parse_header, Status};
    use crate::codec::mask::apply_mask;

    const KEY: Option<[u8; 4]> = Some([0x11, 0x22, 0x33, 0x44]);

    /// Feeds `wire` in pieces of `chop` bytes; returns the server's frames and whether it closed.
    fn run(faults: Faults, wire: &[u8], chop: usize) -> (Vec<(OpCode, Vec<u8>)>, bool) {
        let mut s = Session::new(faults, Limits::default(), None);
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
        let mut s = Session::new(Faults::none(), Limits::default(), None);
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
        let mut s = Session::new(f, Limits::default(), None);
        let mut out = Vec::new();
        assert_eq!(s.feed(&wire, &mut out).1, Flow::Continue);
        let end = frame(OpCode::Continuation, true, b"", KEY);
        assert_eq!(s.feed(&end, &mut out).1, Flow::Close);
        assert_eq!(&out[2..4], &1007u16.to_be_bytes());
    }

    #[test]
    fn a_fault_tolerates_its_rule_only() {
        // accept_reserved_opcodes: a masked reserved frame is skipped and the ping behind it
        // answered; an unmasked one still fails the connection with 1002.
        let f = Faults::parse("accept_reserved_opcodes").unwrap();
        let mut wire = frame(OpCode::Reserved(3), true, b"ab", KEY);
        wire.extend(frame(OpCode::Ping, true, b"p", KEY));
        let (frames, closed) = run(f, &wire, wire.len());
        assert!(!closed);
        assert_eq!(frames, vec![(OpCode::Pong, b"p".to_vec())]);
        let (frames, closed) = run(f, &frame(OpCode::Reserved(3), true, b"", None), 64);
        assert!(closed);
        assert_eq!(frames[0].0, OpCode::Close);
        assert_eq!(&frames[0].1[..2], &1002u16.to_be_bytes());
    }

    #[test]
    fn close_faults() {
        let close = |payload: &[u8]| frame(OpCode::Close, true, payload, KEY);
        // Strict: a 1-byte close and an invalid code fail with 1002.
        for bad in [close(b"a"), close(&close_payload(1005, b""))] {
            let (frames, closed) = run(Faults::none(), &bad, 64);
            assert!(closed);
            assert_eq!(&frames[0].1[..2], &1002u16.to_be_bytes());
        }
        // accept_1byte_close answers 1000, accept_invalid_close_codes echoes the code.
        let f = Faults::parse("accept_1byte_close").unwrap();
        assert_eq!(
            run(f, &close(b"a"), 64).0,
            vec![(OpCode::Close, 1000u16.to_be_bytes().to_vec())]
        );
        let f = Faults::parse("accept_invalid_close_codes").unwrap();
        assert_eq!(
            run(f, &close(&close_payload(1005, b"")), 64).0,
            vec![(OpCode::Close, 1005u16.to_be_bytes().to_vec())]
        );
    }

    #[test]
    fn no_utf8_validation_echoes_invalid_text_as_text() {
        let f = Faults::parse("no_utf8_validation").unwrap();
        let wire = frame(OpCode::Text, true, &[b'a', 0xff], KEY);
        let (frames, closed) = run(f, &wire, 1);
        assert!(!closed);
        assert_eq!(frames, vec![(OpCode::Text, vec![b'a', 0xff])]);
    }

    #[test]
    fn truncate_on_char_boundary() {
        assert_eq!(truncate_utf8("aé", 2), "a");
        assert_eq!(truncate_utf8("abc", 5), "abc");
    }
}
