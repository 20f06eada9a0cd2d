//! Message assembly (RFC 6455 §5.4, §5.5, §5.6) as a pure state machine, and a streaming
//! decoder that feeds it from raw bytes.
//!
//! [`MessageAssembler`] is fed frames: a header ([`MessageAssembler::begin_frame`]), payload
//! pieces of any size ([`MessageAssembler::payload`]) and the end of the frame
//! ([`MessageAssembler::end_frame`]). It enforces the continuation rules, lets control frames
//! interleave a fragmented message, limits message size, and validates text as UTF-8 while
//! the bytes arrive, so an invalid sequence is reported at the first impossible byte even in
//! the middle of a frame.
//!
//! [`StreamDecoder`] adds header parsing and unmasking over a byte stream split anywhere.

use super::close::parse_close_payload;
use super::error::{CapacityError, FrameError, ProtocolError};
use super::frame::{parse_header, FrameHeader, HeaderRules, OpCode, Status};
use super::mask::apply_mask;
use super::utf8::Utf8Validator;

/// A complete data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Text, validated as UTF-8.
    Text(String),
    /// Binary data.
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

/// Limits of the assembler.
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

#[derive(Debug)]
struct OpenMessage {
    text: bool,
    buf: Vec<u8>,
    utf8: Utf8Validator,
}

#[derive(Debug)]
struct OpenFrame {
    header: FrameHeader,
    received: u64,
}

/// The fragmentation state machine.
#[derive(Debug)]
pub struct MessageAssembler {
    limits: Limits,
    message: Option<OpenMessage>,
    frame: Option<OpenFrame>,
    control: Vec<u8>,
}

impl MessageAssembler {
    /// A new assembler with the given limits.
    pub fn new(limits: Limits) -> Self {
        MessageAssembler {
            limits,
            message: None,
            frame: None,
            control: Vec::new(),
        }
    }

    /// Forgets any open frame and message, e.g. after an error that failed the connection:
    /// the caller must not feed the rest of a frame whose payload raised an error.
    pub fn reset(&mut self) {
        self.message = None;
        self.frame = None;
        self.control.clear();
    }

    /// True while a fragmented message is open.
    pub fn in_message(&self) -> bool {
        self.message.is_some()
    }

    /// Bytes of UTF-8 validated so far in the open text message.
    pub fn text_position(&self) -> Option<u64> {
        self.message
            .as_ref()
            .filter(|m| m.text)
            .map(|m| m.utf8.position())
    }

    /// Starts a frame. Checks the rules that depend on the message state.
    pub fn begin_frame(&mut self, header: &FrameHeader) -> Result<(), FrameError> {
        debug_assert!(self.frame.is_none(), "begin_frame while a frame is open");
        let len = header.payload_len;
        match header.opcode {
            OpCode::Reserved(v) => return Err(ProtocolError::ReservedOpcode(v).into()),
            op if op.is_control() => {
                if !header.fin {
                    return Err(ProtocolError::FragmentedControlFrame.into());
                }
                if len > 125 {
                    return Err(ProtocolError::ControlFrameTooLong(len).into());
                }
                self.control.clear();
            }
            OpCode::Continuation => {
                let Some(msg) = self.message.as_ref() else {
                    return Err(ProtocolError::ContinuationWithoutMessage.into());
                };
                self.check_size(msg.buf.len() as u64, len)?;
            }
            op => {
                if self.message.is_some() {
                    return Err(ProtocolError::DataFrameInsideMessage.into());
                }
                self.check_size(0, len)?;
                self.message = Some(OpenMessage {
                    text: op == OpCode::Text,
                    buf: Vec::with_capacity(len.min(1 << 20) as usize),
                    utf8: Utf8Validator::new(),
                });
            }
        }
        self.frame = Some(OpenFrame {
            header: *header,
            received: 0,
        });
        Ok(())
    }

    fn check_size(&self, have: u64, add: u64) -> Result<(), FrameError> {
        self.limits.check(have, add)
    }

    /// Feeds unmasked payload bytes of the open frame.
    pub fn payload(&mut self, chunk: &[u8]) -> Result<(), FrameError> {
        self.payload_masked(chunk, None)
    }

    /// Feeds payload bytes as they are on the wire; they are unmasked with `mask` (key and
    /// payload offset taken from the open frame) while being copied, then validated.
    pub fn payload_masked(
        &mut self,
        chunk: &[u8],
        mask: Option<[u8; 4]>,
    ) -> Result<(), FrameError> {
        let Some(frame) = self.frame.as_mut() else {
            debug_assert!(false, "payload without begin_frame");
            return Ok(());
        };
        let room = frame.header.payload_len - frame.received;
        let chunk = &chunk[..chunk.len().min(room as usize)];
        let offset = frame.received as usize;
        frame.received += chunk.len() as u64;
        let target = if frame.header.opcode.is_control() {
            &mut self.control
        } else {
            match self.message.as_mut() {
                Some(m) => &mut m.buf,
                None => return Ok(()),
            }
        };
        let start = target.len();
        target.extend_from_slice(chunk);
        if let Some(key) = mask {
            apply_mask(&mut target[start..], key, offset);
        }
        if !frame.header.opcode.is_control() {
            if let Some(m) = self.message.as_mut().filter(|m| m.text) {
                m.utf8
                    .feed(&m.buf[start..])
                    .map_err(|e| ProtocolError::InvalidUtf8 { offset: e.offset })?;
            }
        }
        Ok(())
    }

    /// Ends the open frame; returns the event it completes, if any.
    pub fn end_frame(&mut self) -> Result<Option<Event>, FrameError> {
        let Some(frame) = self.frame.take() else {
            return Ok(None);
        };
        debug_assert_eq!(
            frame.received, frame.header.payload_len,
            "frame ended early"
        );
        let h = frame.header;
        match h.opcode {
            OpCode::Ping => Ok(Some(Event::Ping(std::mem::take(&mut self.control)))),
            OpCode::Pong => Ok(Some(Event::Pong(std::mem::take(&mut self.control)))),
            OpCode::Close => {
                let close = parse_close_payload(&self.control)?;
                Ok(Some(Event::Close(
                    close.map(|c| (c.code, c.reason.to_owned())),
                )))
            }
            _ if !h.fin => Ok(None),
            _ => {
                let Some(m) = self.message.take() else {
                    return Ok(None);
                };
                if m.text {
                    m.utf8
                        .finish()
                        .map_err(|e| ProtocolError::InvalidUtf8 { offset: e.offset })?;
                    // Validated incrementally; from_utf8 only re-checks.
                    let s = String::from_utf8(m.buf).map_err(|e| ProtocolError::InvalidUtf8 {
                        offset: e.utf8_error().valid_up_to() as u64,
                    })?;
                    Ok(Some(Event::Message(Message::Text(s))))
                } else {
                    Ok(Some(Event::Message(Message::Binary(m.buf))))
                }
            }
        }
    }

    /// Convenience: a whole frame with an unmasked payload of exactly `payload_len` bytes.
    pub fn push_frame(
        &mut self,
        header: &FrameHeader,
        payload: &[u8],
    ) -> Result<Option<Event>, FrameError> {
        self.begin_frame(header)?;
        self.payload(payload)?;
        self.end_frame()
    }
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
}

/// Header parsing, unmasking and assembly over a byte stream split at arbitrary points.
#[derive(Debug)]
pub struct StreamDecoder {
    rules: HeaderRules,
    assembler: MessageAssembler,
    open: Option<(FrameHeader, u64)>,
    preview: Vec<u8>,
}

impl StreamDecoder {
    /// Bytes of each frame's payload kept for [`DecodedFrame::preview`].
    pub const PREVIEW: usize = 64;

    /// A decoder applying `rules` to headers and `limits` to messages.
    pub fn new(rules: HeaderRules, limits: Limits) -> Self {
        StreamDecoder {
            rules,
            assembler: MessageAssembler::new(limits),
            open: None,
            preview: Vec::new(),
        }
    }

    /// The underlying assembler (e.g. to ask whether a message is open).
    pub fn assembler(&self) -> &MessageAssembler {
        &self.assembler
    }

    /// The header of the frame whose payload is being read, if any.
    pub fn open_frame(&self) -> Option<&FrameHeader> {
        self.open.as_ref().map(|(h, _)| h)
    }

    /// Consumes bytes from `input` until one frame completes or the input runs out.
    ///
    /// Returns how many bytes were consumed and the completed frame, if any. Bytes of an
    /// incomplete header are not consumed: the caller keeps them and calls again with more.
    /// Payload bytes are consumed (and validated) as they come.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, Option<DecodedFrame>), FrameError> {
        let mut used = 0;
        {
            let (header, received) = match self.open {
                Some(open) => open,
                None => match parse_header(&input[used..], self.rules)? {
                    Status::Partial(_) => return Ok((used, None)),
                    Status::Complete(h, n) => {
                        used += n;
                        self.assembler.begin_frame(&h)?;
                        self.preview.clear();
                        self.open = Some((h, 0));
                        (h, 0)
                    }
                },
            };
            let remaining = header.payload_len - received;
            let take = remaining.min((input.len() - used) as u64) as usize;
            let chunk = &input[used..used + take];
            if self.preview.len() < Self::PREVIEW {
                let n = take.min(Self::PREVIEW - self.preview.len());
                let start = self.preview.len();
                self.preview.extend_from_slice(&chunk[..n]);
                if let Some(key) = header.mask {
                    apply_mask(&mut self.preview[start..], key, received as usize);
                }
            }
            self.assembler.payload_masked(chunk, header.mask)?;
            used += take;
            if take as u64 == remaining {
                self.open = None;
                let event = self.assembler.end_frame()?;
                let preview = std::mem::take(&mut self.preview);
                return Ok((
                    used,
                    Some(DecodedFrame {
                        header,
                        preview,
                        event,
                    }),
                ));
            }
            self.open = Some((header, received + take as u64));
            Ok((used, None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::frame::frame;

    fn h(op: OpCode, fin: bool, len: usize) -> FrameHeader {
        FrameHeader::new(op, fin, len as u64, None)
    }

    #[test]
    fn fragments_with_interleaved_ping() {
        let mut a = MessageAssembler::new(Limits::default());
        assert_eq!(
            a.push_frame(&h(OpCode::Text, false, 9), b"fragment1"),
            Ok(None)
        );
        assert_eq!(
            a.push_frame(&h(OpCode::Ping, true, 4), b"ping"),
            Ok(Some(Event::Ping(b"ping".to_vec())))
        );
        assert_eq!(
            a.push_frame(&h(OpCode::Continuation, true, 9), b"fragment2"),
            Ok(Some(Event::Message(Message::Text(
                "fragment1fragment2".into()
            ))))
        );
    }

    #[test]
    fn continuation_rules() {
        let mut a = MessageAssembler::new(Limits::default());
        assert_eq!(
            a.push_frame(&h(OpCode::Continuation, true, 0), b""),
            Err(ProtocolError::ContinuationWithoutMessage.into())
        );
        let mut a = MessageAssembler::new(Limits::default());
        a.push_frame(&h(OpCode::Text, false, 1), b"a").unwrap();
        assert_eq!(
            a.push_frame(&h(OpCode::Text, true, 1), b"b"),
            Err(ProtocolError::DataFrameInsideMessage.into())
        );
    }

    #[test]
    fn utf8_fails_inside_a_frame() {
        let mut a = MessageAssembler::new(Limits::default());
        a.begin_frame(&h(OpCode::Text, true, 21)).unwrap();
        a.payload(&[
            0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4,
        ])
        .unwrap();
        assert_eq!(
            a.payload(&[0x90]),
            Err(ProtocolError::InvalidUtf8 { offset: 12 }.into())
        );
    }

    #[test]
    fn size_limit() {
        let mut a = MessageAssembler::new(Limits {
            max_message_size: 10,
            max_frame_size: 10,
        });
        a.push_frame(&h(OpCode::Binary, false, 6), &[0; 6]).unwrap();
        assert!(matches!(
            a.push_frame(&h(OpCode::Continuation, true, 6), &[0; 6]),
            Err(FrameError::Capacity(CapacityError::MessageTooLarge {
                size: 12,
                limit: 10
            }))
        ));
    }

    #[test]
    fn stream_decoder_any_split() {
        let mut wire = frame(OpCode::Text, false, b"Hello, ", Some([1, 2, 3, 4]));
        wire.extend(frame(OpCode::Ping, true, b"p", Some([5, 6, 7, 8])));
        wire.extend(frame(
            OpCode::Continuation,
            true,
            b"world!",
            Some([9, 9, 9, 9]),
        ));
        for chunk in 1..wire.len() {
            let mut d = StreamDecoder::new(HeaderRules::server(), Limits::default());
            let mut buf = Vec::new();
            let mut events = Vec::new();
            for piece in wire.chunks(chunk) {
                buf.extend_from_slice(piece);
                loop {
                    let (n, f) = d.decode(&buf).unwrap();
                    buf.drain(..n);
                    match f {
                        Some(f) => events.extend(f.event),
                        None => break,
                    }
                }
            }
            assert_eq!(
                events,
                vec![
                    Event::Ping(b"p".to_vec()),
                    Event::Message(Message::Text("Hello, world!".into()))
                ]
            );
        }
    }
}
