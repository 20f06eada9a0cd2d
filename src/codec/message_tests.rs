//! Tests of the streaming decoder ([`super`]), kept apart so the decoder reads on its own.
use super::*;
use crate::codec::close::close_payload;
use crate::codec::frame::{encode_frame, frame, LengthEncoding};
use crate::codec::Rule;

fn unmasked(op: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    frame(op, fin, payload, None)
}

/// Feeds `wire` in one piece; the events, and every violation recorded on the way.
fn run(
    d: &mut StreamDecoder,
    wire: &[u8],
) -> (Vec<Event>, Vec<ProtocolError>, Result<(), FrameError>) {
    let (mut events, mut violations) = (Vec::new(), Vec::new());
    let mut pos = 0;
    loop {
        match d.decode(&wire[pos..]) {
            Err(e) => return (events, violations, Err(e)),
            Ok((n, f)) => {
                pos += n;
                violations.extend_from_slice(d.violations());
                match f {
                    Some(f) => events.extend(f.event),
                    None if n == 0 || pos == wire.len() => return (events, violations, Ok(())),
                    None => {}
                }
            }
        }
    }
}

/// Feeds `wire` in pieces of `chunk` bytes, as a socket might deliver it, decoding all
/// that each piece completes; the events.
fn in_pieces(d: &mut StreamDecoder, wire: &[u8], chunk: usize) -> Vec<Event> {
    let (mut buf, mut events) = (Vec::new(), Vec::new());
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
    events
}

fn client(lenient: Leniency) -> StreamDecoder {
    StreamDecoder::with_config(DecoderConfig {
        lenient,
        ..DecoderConfig::receiver(HeaderRules::client(), Limits::default())
    })
}

#[test]
fn fragments_with_interleaved_ping() {
    let mut wire = unmasked(OpCode::Text, false, b"fragment1");
    wire.extend(unmasked(OpCode::Ping, true, b"ping"));
    wire.extend(unmasked(OpCode::Continuation, true, b"fragment2"));
    let (events, v, r) = run(&mut client(Leniency::STRICT), &wire);
    assert_eq!(r, Ok(()));
    assert!(v.is_empty());
    assert_eq!(
        events,
        vec![
            Event::Ping(b"ping".to_vec()),
            Event::Message(Message::Text("fragment1fragment2".into()))
        ]
    );
}

#[test]
fn continuation_rules() {
    let wire = unmasked(OpCode::Continuation, true, b"");
    let (_, _, r) = run(&mut client(Leniency::STRICT), &wire);
    assert_eq!(r, Err(ProtocolError::ContinuationWithoutMessage.into()));
    let mut wire = unmasked(OpCode::Text, false, b"a");
    wire.extend(unmasked(OpCode::Text, true, b"b"));
    let (_, _, r) = run(&mut client(Leniency::STRICT), &wire);
    assert_eq!(r, Err(ProtocolError::DataFrameInsideMessage.into()));
}

#[test]
fn utf8_fails_inside_a_frame() {
    let mut d = client(Leniency::STRICT);
    let mut head = Vec::new();
    FrameHeader::new(OpCode::Text, true, 21, None).encode_to(&mut head);
    assert!(matches!(d.decode(&head), Ok((2, None))));
    let good = [
        0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4,
    ];
    assert_eq!(d.decode(&good), Ok((12, None)));
    assert_eq!(
        d.decode(&[0x90]),
        Err(ProtocolError::InvalidUtf8 { offset: 12 }.into())
    );
}

#[test]
fn size_limit() {
    let mut d = StreamDecoder::new(
        HeaderRules::client(),
        Limits {
            max_message_size: 10,
            max_frame_size: 10,
        },
    );
    let mut wire = unmasked(OpCode::Binary, false, &[0; 6]);
    wire.extend(unmasked(OpCode::Continuation, true, &[0; 6]));
    let (_, _, r) = run(&mut d, &wire);
    assert_eq!(
        r,
        Err(CapacityError::MessageTooLarge {
            size: 12,
            limit: 10
        }
        .into())
    );
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
        let events = in_pieces(&mut d, &wire, chunk);
        assert_eq!(
            events,
            vec![
                Event::Ping(b"p".to_vec()),
                Event::Message(Message::Text("Hello, world!".into()))
            ]
        );
    }
}

#[test]
fn recording_reader_sees_every_frame_after_a_violation() {
    // A masked, over-long pong, a reserved opcode, a text frame inside a message and a
    // close with an invalid code: each is recorded, and every frame still comes out.
    let mut wire = frame(OpCode::Pong, true, &[0xfe; 126], Some([1, 2, 3, 4]));
    wire.extend(unmasked(OpCode::Reserved(3), true, b"x"));
    wire.extend(unmasked(OpCode::Text, false, b"a"));
    wire.extend(unmasked(OpCode::Binary, true, b"b"));
    wire.extend(unmasked(OpCode::Continuation, true, b"c"));
    wire.extend(unmasked(OpCode::Close, true, &close_payload(999, b"")));
    let mut d = client(Leniency::ALL);
    let (events, v, r) = run(&mut d, &wire);
    assert_eq!(r, Ok(()));
    assert_eq!(
        v,
        vec![
            ProtocolError::MaskedServerFrame,
            ProtocolError::ControlFrameTooLong(126),
            ProtocolError::ReservedOpcode(3),
            ProtocolError::DataFrameInsideMessage,
            ProtocolError::InvalidCloseCode(999),
        ]
    );
    assert_eq!(
        events,
        vec![
            Event::Pong(vec![0xfe; 126]),
            Event::Message(Message::Text("ac".into())),
            Event::Close(Some((999, String::new()))),
        ]
    );
    // Strict, the first violation ends the stream.
    let (events, _, r) = run(&mut client(Leniency::STRICT), &wire);
    assert!(events.is_empty());
    assert_eq!(r, Err(ProtocolError::MaskedServerFrame.into()));
}

#[test]
fn non_minimal_length_is_a_violation_the_receiver_tolerates() {
    let mut h = FrameHeader::new(OpCode::Text, true, 2, None);
    h.length_encoding = LengthEncoding::U64;
    let mut wire = Vec::new();
    encode_frame(&h, b"hi", &mut wire);
    let (events, v, r) = run(&mut client(Leniency::RECEIVER), &wire);
    assert_eq!(r, Ok(()));
    assert_eq!(v, vec![ProtocolError::NonMinimalLength { len: 2 }]);
    assert_eq!(events, vec![Event::Message(Message::Text("hi".into()))]);
    let (_, _, r) = run(&mut client(Leniency::STRICT), &wire);
    assert_eq!(r, Err(ProtocolError::NonMinimalLength { len: 2 }.into()));
}

#[test]
fn tolerated_invalid_utf8_keeps_failing_like_autobahns_validator() {
    // One frame in two pieces: the bad byte in the first, more bytes and the end after.
    let payload = b"ab\xffcd";
    let wire = unmasked(OpCode::Text, true, payload);
    let mut d = client(Leniency::STRICT.allow(Rule::InvalidUtf8));
    let (n, f) = d.decode(&wire[..5]).unwrap();
    assert_eq!((n, f), (5, None));
    assert_eq!(d.violations(), [ProtocolError::InvalidUtf8 { offset: 2 }]);
    let (n, f) = d.decode(&wire[5..]).unwrap();
    assert_eq!(n, 2);
    // The later piece and the message end each record it again.
    assert_eq!(
        d.violations(),
        [
            ProtocolError::InvalidUtf8 { offset: 2 },
            ProtocolError::InvalidUtf8 { offset: 2 }
        ]
    );
    let f = f.unwrap();
    assert!(f.raw_text);
    assert_eq!(
        f.event,
        Some(Event::Message(Message::Binary(payload.to_vec())))
    );
}

#[test]
fn utf8_check_points() {
    // Text in two frames, the bad byte in the first.
    let mut wire = unmasked(OpCode::Text, false, b"a\xff");
    let first = wire.len();
    wire.extend(unmasked(OpCode::Continuation, true, b"b"));
    let with = |utf8| {
        StreamDecoder::with_config(DecoderConfig {
            utf8,
            ..DecoderConfig::receiver(HeaderRules::client(), Limits::default())
        })
    };
    let bad = Err(ProtocolError::InvalidUtf8 { offset: 1 }.into());
    // Streaming and per frame: fails with the first frame.
    for mode in [Utf8Check::Streaming, Utf8Check::FrameEnd] {
        let mut d = with(mode);
        assert_eq!(d.decode(&wire[..first]).map(|(n, _)| n), bad, "{mode:?}");
    }
    // Per message: only when the message ends.
    let mut d = with(Utf8Check::MessageEnd);
    assert!(d.decode(&wire[..first]).is_ok());
    assert_eq!(d.decode(&wire[first..]).map(|(n, _)| n), bad);
    // Off: the text comes out as raw bytes.
    let (events, v, r) = run(&mut with(Utf8Check::Off), &wire);
    assert_eq!((r, v), (Ok(()), vec![]));
    assert_eq!(
        events,
        vec![Event::Message(Message::Binary(b"a\xffb".to_vec()))]
    );
}

#[test]
fn tolerated_close_payload_violations() {
    let mut d = client(Leniency::ALL);
    let (events, v, _) = run(&mut d, &unmasked(OpCode::Close, true, b"a"));
    assert_eq!(events, vec![Event::Close(None)]);
    assert_eq!(v, vec![ProtocolError::CloseLengthOne]);
    let bad = close_payload(1000, &[0xce, 0xff]);
    let (events, v, _) = run(&mut d, &unmasked(OpCode::Close, true, &bad));
    assert_eq!(
        events,
        vec![Event::Close(Some((1000, "\u{fffd}\u{fffd}".into())))]
    );
    assert_eq!(v, vec![ProtocolError::InvalidCloseReason { offset: 1 }]);
}

fn deflating(lenient: Leniency, limit: u64) -> StreamDecoder {
    use crate::codec::deflate::{Decompressor, WindowBits};
    let mut d = StreamDecoder::with_config(DecoderConfig {
        lenient,
        ..DecoderConfig::receiver(
            HeaderRules::client(),
            Limits {
                max_message_size: limit,
                max_frame_size: limit,
            },
        )
    });
    d.set_inflate(Some(Decompressor::new(WindowBits::MAX, false, limit)));
    d
}

fn rsv1(op: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut h = FrameHeader::new(op, fin, payload.len() as u64, None);
    h.rsv = 4;
    let mut out = Vec::new();
    encode_frame(&h, payload, &mut out);
    out
}

#[test]
fn deflate_message_in_fragments_with_a_ping_between() {
    use crate::codec::deflate::{Compressor, WindowBits};
    let mut c = Compressor::new(WindowBits::MAX, false);
    let data = c.compress(b"Hello, Hello, Hello, deflate");
    let (a, b) = data.split_at(data.len() / 2);
    let mut wire = rsv1(OpCode::Text, false, a);
    wire.extend(unmasked(OpCode::Ping, true, b"p"));
    wire.extend(unmasked(OpCode::Continuation, true, b));
    // An uncompressed message is still allowed, and the context carries over.
    wire.extend(unmasked(OpCode::Binary, true, b"raw"));
    wire.extend(rsv1(OpCode::Text, true, &c.compress(b"Hello, deflate")));
    for chunk in [1, 3, wire.len()] {
        let mut d = deflating(Leniency::STRICT, 1 << 20);
        let events = in_pieces(&mut d, &wire, chunk);
        assert_eq!(
            events,
            vec![
                Event::Ping(b"p".to_vec()),
                Event::Message(Message::Text("Hello, Hello, Hello, deflate".into())),
                Event::Message(Message::Binary(b"raw".to_vec())),
                Event::Message(Message::Text("Hello, deflate".into())),
            ]
        );
    }
}

#[test]
fn deflate_rsv1_placement_and_corrupt_data() {
    let mut wire = rsv1(OpCode::Text, false, &[0xf2, 0x48]);
    wire.extend(rsv1(
        OpCode::Continuation,
        true,
        &[0xcd, 0xc9, 0xc9, 0x07, 0x00],
    ));
    let (_, _, r) = run(&mut deflating(Leniency::STRICT, 1 << 20), &wire);
    assert_eq!(r, Err(ProtocolError::Rsv1OnContinuation.into()));
    let (_, _, r) = run(
        &mut deflating(Leniency::STRICT, 1 << 20),
        &rsv1(OpCode::Ping, true, b"x"),
    );
    assert_eq!(
        r,
        Err(ProtocolError::Rsv1OnControlFrame { opcode: 9 }.into())
    );
    let (_, _, r) = run(
        &mut deflating(Leniency::STRICT, 1 << 20),
        &rsv1(OpCode::Text, true, &[0xff, 0xff, 0xff]),
    );
    assert_eq!(r, Err(ProtocolError::InvalidCompressedData.into()));
    // Recording: both are reported and reading goes on.
    let mut wire = rsv1(OpCode::Pong, true, b"x");
    wire.extend(rsv1(OpCode::Text, true, &[0xff, 0xff, 0xff]));
    wire.extend(unmasked(OpCode::Close, true, &close_payload(1000, b"")));
    let (events, v, r) = run(&mut deflating(Leniency::ALL, 1 << 20), &wire);
    assert_eq!(r, Ok(()));
    assert_eq!(
        v,
        vec![
            ProtocolError::Rsv1OnControlFrame { opcode: 10 },
            ProtocolError::InvalidCompressedData
        ]
    );
    assert_eq!(events.first(), Some(&Event::Pong(b"x".to_vec())));
    assert_eq!(
        events.last(),
        Some(&Event::Close(Some((1000, String::new()))))
    );
}

#[test]
fn deflate_bomb_stops_at_the_message_limit() {
    use crate::codec::deflate::{Compressor, WindowBits};
    let data = Compressor::new(WindowBits::MAX, false).compress(&vec![0u8; 1 << 20]);
    assert!(data.len() < 2048);
    let (events, _, r) = run(
        &mut deflating(Leniency::ALL, 64 << 10),
        &rsv1(OpCode::Binary, true, &data),
    );
    assert!(events.is_empty());
    assert!(matches!(
        r,
        Err(FrameError::Capacity(CapacityError::MessageTooLarge { .. }))
    ));
}
