//! Bodies of the fuzz targets. Each takes the raw fuzz input and panics on a broken
//! invariant. `fuzz/fuzz_targets/*.rs` call them under libFuzzer; the stable test
//! `tests/fuzz_corpus_replay.rs` replays the committed corpus and regressions through the
//! same functions.

use wsspec::codec::close::is_valid_close_code;
use wsspec::codec::frame::{
    parse_header, FrameHeader, HeaderRules, LengthEncoding, OpCode, Role, Status, MAX_HEADER_LEN,
};
use wsspec::codec::handshake::{accept_response, validate_request, ClientRequest};
use wsspec::codec::http::{parse_request, parse_response, HeadLimits, Headers, HttpError};
use wsspec::codec::mask::{apply_mask, apply_mask_scalar};
use wsspec::codec::{Event, FrameError, Limits, Message, ProtocolError};

use crate::drive::{cuts_from_seed, decode_chunked, every_byte, Decoded};

/// A target's name and body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target by name, for the corpus replay.
pub const TARGETS: [Target; 7] = [
    ("frame_parse", frame_parse),
    ("message_assembly", message_assembly),
    ("handshake_request", handshake_request),
    ("handshake_response", handshake_response),
    ("differential", differential),
    ("fast_vs_reference", crate::fast::fast_vs_reference),
    ("utf8_pieces", crate::fast::utf8_pieces),
];

/// The header rules the header-level targets try on every input.
const RULE_SETS: [HeaderRules; 5] = [
    HeaderRules::any_role(),
    HeaderRules::server(),
    HeaderRules::client(),
    HeaderRules {
        role: None,
        allowed_rsv: 7,
    },
    HeaderRules {
        role: Some(Role::Server),
        allowed_rsv: 4,
    },
];

/// `parse_header` invariants and the encode round trip, under several rule sets; plus the
/// word-at-a-time mask against its byte-at-a-time oracle.
pub fn frame_parse(data: &[u8]) {
    for rules in RULE_SETS {
        check_header(data, rules);
    }
    if data.len() >= 4 {
        let key = [data[0], data[1], data[2], data[3]];
        let offset = data.len() % 7;
        let mut fast = data[4..].to_vec();
        let mut slow = fast.clone();
        apply_mask(&mut fast, key, offset);
        apply_mask_scalar(&mut slow, key, offset);
        assert_eq!(fast, slow, "apply_mask disagrees with the scalar oracle");
    }
}

/// The header invariants for one rule set; public so property tests can reuse them.
pub fn check_header(data: &[u8], rules: HeaderRules) {
    let full = parse_header(data, rules);
    match full {
        Ok(Status::Complete(h, n)) => {
            assert!(
                (2..=MAX_HEADER_LEN).contains(&n) && n <= data.len(),
                "n={n}"
            );
            assert_eq!(n, h.encoded_len(), "consumed length vs encoded_len");
            // The parsed header re-encodes to exactly the bytes it was read from, because
            // it keeps the length form it was sent with.
            let mut out = [0u8; MAX_HEADER_LEN];
            let m = h.encode(&mut out);
            assert_eq!(&out[..m], &data[..n], "encode(parse(x)) != x");
            assert!(!h.opcode.is_reserved());
            assert_eq!(h.rsv & !rules.allowed_rsv, 0, "RSV bits not allowed");
            if h.opcode.is_control() {
                assert!(
                    h.fin && h.payload_len <= 125,
                    "invalid control header {h:?}"
                );
            }
            assert_eq!(h.payload_len >> 63, 0, "top bit of the length");
            assert!(h.length_encoding.can_hold(h.payload_len));
            assert_eq!(
                h.is_minimal_length(),
                h.length_encoding == LengthEncoding::minimal_for(h.payload_len)
            );
            match rules.role {
                Some(Role::Server) => assert!(h.mask.is_some()),
                Some(Role::Client) => assert!(h.mask.is_none()),
                None => {}
            }
            // The minimal re-encoding parses back to the same fields.
            let mut minimal = FrameHeader::new(h.opcode, h.fin, h.payload_len, h.mask);
            minimal.rsv = h.rsv;
            let mut buf = Vec::new();
            minimal.encode_to(&mut buf);
            match parse_header(&buf, rules) {
                Ok(Status::Complete(h2, n2)) => {
                    assert_eq!(n2, buf.len());
                    assert_eq!(h2, minimal);
                    assert!(h2.is_minimal_length());
                }
                other => panic!("minimal re-encoding of {h:?} parsed as {other:?}"),
            }
            // Every shorter prefix asks for more, never for more than the header needs.
            for p in 0..n {
                match parse_header(&data[..p], rules) {
                    Ok(Status::Partial(k)) => {
                        assert!(k >= 1 && p + k <= n, "prefix {p}: Partial({k}), header {n}")
                    }
                    other => panic!("prefix {p} of a complete header gave {other:?}"),
                }
            }
        }
        Ok(Status::Partial(k)) => {
            assert!(k >= 1 && data.len() + k <= MAX_HEADER_LEN, "Partial({k})");
            for p in 0..data.len() {
                match parse_header(&data[..p], rules) {
                    Ok(Status::Partial(k2)) => assert!(
                        p + k2 <= data.len() + k,
                        "need estimate shrank: prefix {p} Partial({k2}) vs {} Partial({k})",
                        data.len()
                    ),
                    other => panic!("prefix {p} of a partial header gave {other:?}"),
                }
            }
        }
        Err(e) => {
            // An error depends only on bytes already seen: more bytes cannot undo it.
            for fill in [0x00u8, 0xff] {
                let mut longer = data.to_vec();
                longer.extend_from_slice(&[fill; MAX_HEADER_LEN]);
                assert_eq!(parse_header(&longer, rules), Err(e), "error not stable");
            }
            // Shorter prefixes are incomplete or already the same error.
            let mut seen_error = false;
            for p in 0..data.len() {
                match parse_header(&data[..p], rules) {
                    Ok(Status::Partial(_)) => {
                        assert!(!seen_error, "error at a shorter prefix then Partial")
                    }
                    Err(e2) => {
                        assert_eq!(e2, e, "prefix {p} gave a different error");
                        seen_error = true;
                    }
                    Ok(Status::Complete(..)) => panic!("prefix {p} complete, full input {e:?}"),
                }
            }
        }
    }
}

/// `StreamDecoder` over arbitrary bytes.
///
/// Input layout: byte 0 selects the role (bit 0: server or client), the limits (bit 1:
/// default or tiny) and the chunking seed (bits 2-7); the rest is the stream. Checks:
/// no panic; the same result whole, in seeded random pieces and (for short inputs) byte by
/// byte; every reported frame obeys the header rules; previews and events match the bytes
/// on the wire, checked by a naive re-assembly from the headers.
pub fn message_assembly(data: &[u8]) {
    let Some((&cfg, stream)) = data.split_first() else {
        return;
    };
    let rules = if cfg & 1 == 0 {
        HeaderRules::server()
    } else {
        HeaderRules::client()
    };
    let limits = limits_for(cfg & 2 != 0);
    let whole = decode_chunked(rules, limits, stream, &[]);
    let pieces = decode_chunked(
        rules,
        limits,
        stream,
        &cuts_from_seed(stream.len(), u64::from(cfg >> 2), 9),
    );
    assert_eq!(whole, pieces, "result depends on chunking");
    if stream.len() <= 2048 {
        let bytes = decode_chunked(rules, limits, stream, &every_byte(stream.len()));
        assert_eq!(whole, bytes, "byte-by-byte result differs");
    }
    check_against_wire(stream, rules, limits, &whole);
}

/// The default limits, or tiny ones that small inputs can exceed.
pub fn limits_for(tiny: bool) -> Limits {
    if tiny {
        Limits {
            max_message_size: 300,
            max_frame_size: 200,
        }
    } else {
        Limits::default()
    }
}

/// Re-reads the stream frame by frame from the reported headers and checks the decoder's
/// previews and events against a naive assembly of the raw payloads.
fn check_against_wire(stream: &[u8], rules: HeaderRules, limits: Limits, d: &Decoded) {
    assert!(d.consumed <= stream.len());
    if d.error.is_none() {
        assert_eq!(d.consumed + d.leftover.len(), stream.len());
        assert!(d.leftover.len() < MAX_HEADER_LEN);
    }
    let mut pos = 0usize;
    let mut open: Option<(bool, Vec<u8>)> = None;
    for f in &d.frames {
        let h = f.header;
        let Ok(Status::Complete(h2, n)) = parse_header(&stream[pos..], rules) else {
            panic!("reported frame at {pos} does not parse");
        };
        assert_eq!(h, h2);
        assert!(h.payload_len <= limits.max_frame_size);
        let len = h.payload_len as usize;
        let mut payload = stream[pos + n..pos + n + len].to_vec();
        if let Some(key) = h.mask {
            apply_mask_scalar(&mut payload, key, 0);
        }
        pos += n + len;
        assert_eq!(f.preview, payload[..len.min(64)], "preview");
        let expected = match h.opcode {
            OpCode::Ping => Some(Event::Ping(payload)),
            OpCode::Pong => Some(Event::Pong(payload)),
            OpCode::Close => {
                let ev = f.event.clone();
                match &ev {
                    Some(Event::Close(None)) => assert!(payload.is_empty()),
                    Some(Event::Close(Some((code, reason)))) => {
                        assert!(is_valid_close_code(*code), "close code {code}");
                        assert_eq!(&payload[..2], code.to_be_bytes());
                        assert_eq!(&payload[2..], reason.as_bytes());
                    }
                    other => panic!("close frame gave {other:?}"),
                }
                ev
            }
            OpCode::Text | OpCode::Binary => {
                assert!(open.is_none(), "new message inside a message was accepted");
                open = Some((h.opcode == OpCode::Text, payload));
                finish(&mut open, h.fin)
            }
            OpCode::Continuation => {
                let Some((_, buf)) = open.as_mut() else {
                    panic!("continuation without a message was accepted");
                };
                buf.extend_from_slice(&payload);
                finish(&mut open, h.fin)
            }
            OpCode::Reserved(v) => panic!("reserved opcode {v} accepted"),
        };
        if let Some((_, buf)) = &open {
            assert!(buf.len() as u64 <= limits.max_message_size);
        }
        assert_eq!(f.event, expected, "event of frame ending at {pos}");
    }
    assert!(
        pos <= d.consumed,
        "frames end at {pos}, consumed {}",
        d.consumed
    );
    if let Some(FrameError::Protocol(ProtocolError::InvalidUtf8 { offset })) = d.error {
        check_utf8_offset(stream, pos, rules, open, offset);
    }
}

/// The frame at `pos` failed with InvalidUtf8 at message offset `offset`: recompute where
/// the text stopped being a prefix of valid UTF-8 (the fail-fast point of Autobahn 6.4.x)
/// from the wire bytes and std's validator.
fn check_utf8_offset(
    stream: &[u8],
    pos: usize,
    rules: HeaderRules,
    open: Option<(bool, Vec<u8>)>,
    offset: u64,
) {
    let Ok(Status::Complete(h, n)) = parse_header(&stream[pos..], rules) else {
        panic!("UTF-8 error reported without a frame header at {pos}");
    };
    let avail = (stream.len() - pos - n).min(h.payload_len as usize);
    let mut payload = stream[pos + n..pos + n + avail].to_vec();
    if let Some(key) = h.mask {
        apply_mask_scalar(&mut payload, key, 0);
    }
    let msg = match (h.opcode, open) {
        (OpCode::Text, None) => payload,
        (OpCode::Continuation, Some((true, mut buf))) => {
            buf.extend_from_slice(&payload);
            buf
        }
        (op, open) => panic!("UTF-8 error on {op:?} with open message {open:?}"),
    };
    match std::str::from_utf8(&msg) {
        Ok(_) => panic!("InvalidUtf8 at {offset} reported on valid text {msg:02x?}"),
        Err(e) => match e.error_len() {
            Some(len) => {
                let start = e.valid_up_to();
                // A byte that cannot start a sequence proves the error itself; otherwise
                // the first byte after the longest valid prefix of the sequence does.
                let proof = if matches!(msg[start], 0x80..=0xc1 | 0xf5..=0xff) {
                    start
                } else {
                    start + len
                };
                assert_eq!(offset, proof as u64, "UTF-8 offset in {msg:02x?}");
            }
            None => {
                assert!(
                    avail as u64 == h.payload_len && h.fin,
                    "truncated-sequence error before the message ended"
                );
                assert_eq!(offset, msg.len() as u64, "truncated UTF-8 offset");
            }
        },
    }
}

fn finish(open: &mut Option<(bool, Vec<u8>)>, fin: bool) -> Option<Event> {
    if !fin {
        return None;
    }
    let (text, buf) = open.take().expect("open message");
    Some(Event::Message(if text {
        Message::Text(String::from_utf8(buf).expect("text event from invalid UTF-8"))
    } else {
        Message::Binary(buf)
    }))
}

/// `parse_request` + `validate_request`; a valid request's `accept_response` must parse
/// back and satisfy a client holding the same key and offers.
pub fn handshake_request(data: &[u8]) {
    let limits = HeadLimits::default();
    let head = match parse_request(data, limits) {
        Ok(Status::Complete(head, n)) => {
            assert!(n <= data.len());
            // Every strictly shorter prefix is incomplete: the end of the head is the
            // first blank line, nowhere earlier.
            for p in [0, n / 3, n / 2, n.saturating_sub(1)] {
                if p < n {
                    assert!(
                        matches!(parse_request(&data[..p], limits), Ok(Status::Partial(_))),
                        "prefix {p} of a {n}-byte head is not Partial"
                    );
                }
            }
            head
        }
        Ok(Status::Partial(n)) => {
            assert!(n >= 1);
            assert!(data.len() <= limits.max_head);
            return;
        }
        Err(HttpError::Capacity(_)) => return,
        Err(_) => return,
    };
    let Ok(valid) = validate_request(&head) else {
        return;
    };
    let chosen = valid.protocols.first().cloned();
    let resp = accept_response(&valid, chosen.as_deref(), &Headers::default());
    let Ok(Status::Complete(rh, n)) = parse_response(&resp, limits) else {
        panic!(
            "our own 101 does not parse: {:?}",
            String::from_utf8_lossy(&resp)
        );
    };
    assert_eq!(n, resp.len());
    assert_eq!(rh.status, 101);
    let mut client = ClientRequest::new(valid.host.clone(), valid.target.clone());
    client.key = valid.key.clone();
    client.protocols = valid.protocols.clone();
    client.extensions = valid.extensions.clone();
    match client.validate_response(&rh) {
        Ok(acc) => {
            assert_eq!(acc.protocol, chosen, "negotiated subprotocol");
            assert!(acc.extensions.is_empty());
        }
        Err(e) => panic!(
            "our own 101 for {valid:?} fails validation: {e}; response {:?}",
            String::from_utf8_lossy(&resp)
        ),
    }
}

/// The fixed client the response target validates against.
pub fn response_client() -> ClientRequest {
    let mut c = ClientRequest::new("127.0.0.1:9001", "/");
    c.key = "dGhlIHNhbXBsZSBub25jZQ==".into();
    c.protocols = vec!["chat".into(), "superchat".into()];
    c.extensions = vec!["permessage-deflate; client_max_window_bits".into()];
    c
}

/// `parse_response` + `validate_response` against [`response_client`]; an accepted answer
/// must really satisfy §4.1.
pub fn handshake_response(data: &[u8]) {
    let limits = HeadLimits::default();
    let head = match parse_response(data, limits) {
        Ok(Status::Complete(head, n)) => {
            assert!(n <= data.len());
            head
        }
        Ok(Status::Partial(n)) => {
            assert!(n >= 1);
            return;
        }
        Err(_) => return,
    };
    let client = response_client();
    if let Ok(acc) = client.validate_response(&head) {
        assert_eq!(head.status, 101);
        assert_eq!(head.headers.count("sec-websocket-accept"), 1);
        assert_eq!(
            head.headers.get_str("sec-websocket-accept").as_deref(),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        if let Some(p) = &acc.protocol {
            assert!(client.protocols.contains(p), "protocol {p} not offered");
        }
        for e in &acc.extensions {
            assert!(e.to_ascii_lowercase().starts_with("permessage-deflate"));
        }
    }
}

/// Our header parser against tungstenite's, judged by the shared allow-list.
pub fn differential(data: &[u8]) {
    // A frame header is at most 14 bytes; look at every start offset of a short window so
    // one input exercises several headers.
    let window = &data[..data.len().min(64)];
    for start in 0..window.len().max(1) {
        let slice = &window[start.min(window.len())..];
        let slice = &slice[..slice.len().min(MAX_HEADER_LEN + 2)];
        for cut in 0..=slice.len() {
            if let Err(msg) = crate::differential::classify(&slice[..cut]) {
                panic!("{msg}");
            }
        }
    }
}
