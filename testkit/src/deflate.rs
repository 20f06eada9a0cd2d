//! Bodies of the permessage-deflate fuzz targets (`extension_header`, `inflate_bounded`).
//! Kept apart from `targets.rs` so the deflate codec's targets change independently; the
//! corpus replay (`tests/fuzz_corpus_replay.rs`) runs [`DEFLATE_TARGETS`] too.

use wsspec::codec::deflate::{
    format_extensions, parse_extensions, validate_answer, AnswerCheck, Decompressor, DeflateError,
    DeflateParams, ExtensionError, ServerPolicy, Side, WindowBits, PERMESSAGE_DEFLATE,
};
use wsspec::codec::CapacityError;

/// A target: its name and its body.
pub type Target = (&'static str, fn(&[u8]));

/// The deflate targets by name, for the corpus replay.
pub const DEFLATE_TARGETS: [Target; 2] = [
    ("extension_header", extension_header),
    ("inflate_bounded", inflate_bounded),
];

/// Fixed client offers the input is judged against as a server's answer: Autobahn 13.7's three.
fn autobahn_13_7() -> Vec<DeflateParams> {
    let base = DeflateParams::new()
        .client_no_context_takeover()
        .client_max_window_bits(None);
    vec![
        base.server_no_context_takeover()
            .server_max_window_bits(WindowBits::new(9).unwrap()),
        base.server_no_context_takeover(),
        base,
    ]
}

/// The `Sec-WebSocket-Extensions` parser and negotiation on arbitrary bytes:
/// * errors point inside the input; a parsed list is non-empty and survives
///   format → parse unchanged;
/// * every permessage-deflate element that reads as parameters (offer or answer rules)
///   writes back to the same parameters, and answer rules are never looser than offer rules;
/// * as an offer list: the server's choice only accepts a valid offer, and a strict client
///   that made exactly the valid offers accepts the server's answer;
/// * as an answer: whatever strict mode accepts, Autobahn mode accepts with the same server
///   settings.
pub fn extension_header(data: &[u8]) {
    let list = match parse_extensions(data) {
        Ok(list) => list,
        Err(e) => {
            match e {
                ExtensionError::ExpectedToken { offset, .. }
                | ExtensionError::UnexpectedByte { offset, .. }
                | ExtensionError::BadQuotedString { offset } => {
                    assert!(offset <= data.len(), "{e:?} outside {} bytes", data.len())
                }
                ExtensionError::EmptyList | ExtensionError::QuotedValueNotToken { .. } => {}
                other => panic!("the grammar raised a negotiation error: {other:?}"),
            }
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(!list.is_empty());
    let written = format_extensions(&list);
    assert_eq!(
        parse_extensions(written.as_bytes()).as_ref(),
        Ok(&list),
        "format/parse round trip of {written:?}"
    );

    let mut valid_offers = Vec::new();
    for ext in list.iter().filter(|e| e.name == PERMESSAGE_DEFLATE) {
        let offer = DeflateParams::from_params(&ext.params, Side::Offer);
        let answer = DeflateParams::from_params(&ext.params, Side::Answer);
        if let Ok(a) = &answer {
            assert_eq!(
                offer.as_ref(),
                Ok(a),
                "answer rules looser than offer rules"
            );
        }
        if let Ok(p) = offer {
            let again = parse_extensions(p.to_string().as_bytes()).unwrap();
            assert_eq!(
                DeflateParams::from_params(&again[0].params, Side::Offer),
                Ok(p)
            );
            valid_offers.push(p);
        }
    }

    for policy in [
        ServerPolicy::default(),
        ServerPolicy {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: WindowBits::new(11).unwrap(),
            lowest_server_window_bits: WindowBits::new(10).unwrap(),
            client_max_window_bits: Some(WindowBits::new(12).unwrap()),
        },
    ] {
        let choice = policy.choose(&list);
        if let Some(acc) = &choice.accepted {
            assert!(choice.declined.iter().all(|(i, _)| *i < acc.offer));
            let header = choice.answer_header().unwrap();
            let config = validate_answer(&valid_offers, [header.as_bytes()], AnswerCheck::Strict)
                .unwrap_or_else(|e| {
                    panic!("client rejects the server's own answer {header:?}: {e}")
                })
                .expect("an answer was given");
            assert_eq!(
                config.server_max_window_bits,
                acc.config.server_max_window_bits
            );
            assert!(config.client_max_window_bits <= acc.config.client_max_window_bits);
        } else {
            assert_eq!(
                choice.declined.len(),
                list.iter().filter(|e| e.name == PERMESSAGE_DEFLATE).count()
            );
        }
    }

    let offers = autobahn_13_7();
    let strict = validate_answer(&offers, [data], AnswerCheck::Strict);
    let lenient = validate_answer(&offers, [data], AnswerCheck::Autobahn);
    if let Ok(Some(s)) = &strict {
        let l = lenient
            .as_ref()
            .unwrap_or_else(|e| panic!("Autobahn mode rejects a strict-valid answer: {e}"))
            .expect("same answer");
        assert_eq!(s.server_max_window_bits, l.server_max_window_bits);
        assert_eq!(s.server_no_context_takeover, l.server_no_context_takeover);
    }
}

/// Limits the input's first byte selects (bits 5-7).
const LIMITS: [u64; 8] = [0, 1, 100, 1000, 4096, 65_536, 1 << 20, 1 << 24];

/// The decompressor on arbitrary data. Byte 0: bits 0-2 window (8 + n), bit 3
/// no_context_takeover, bit 4 strict window, bits 5-7 the per-message limit. The rest is a
/// stream of messages, each a 2-byte big-endian length and that many payload bytes.
/// * it never panics, and a message never yields more than the limit;
/// * over the limit it stops with `MessageTooLarge { size > limit }` having allocated at most
///   limit + 1 bytes;
/// * the same payload fed in 7-byte pieces gives the same verdict and bytes;
/// * after any error the stream is abandoned, as a connection would be.
pub fn inflate_bounded(data: &[u8]) {
    let Some((&cfg, mut rest)) = data.split_first() else {
        return;
    };
    let window = WindowBits::new(8 + (cfg & 7)).unwrap();
    let nct = cfg & 8 != 0;
    let strict = cfg & 16 != 0;
    let limit = LIMITS[(cfg >> 5) as usize];
    let mut whole = Decompressor::new(window, nct, limit).strict_window(strict);
    let mut pieces = Decompressor::new(window, nct, limit).strict_window(strict);
    while rest.len() >= 2 {
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        let payload = &rest[2..(2 + len).min(rest.len())];
        rest = &rest[(2 + len).min(rest.len())..];

        let mut out = Vec::new();
        let a = whole.decompress_message(payload, &mut out);
        assert!(
            out.capacity() as u64 <= limit + 1,
            "{} bytes allocated for a limit of {limit}",
            out.capacity()
        );
        match &a {
            Ok(()) => assert!(out.len() as u64 <= limit),
            Err(DeflateError::Capacity(CapacityError::MessageTooLarge { size, limit: l })) => {
                assert_eq!(*l, limit);
                assert!(*size > limit && *size == out.len() as u64);
            }
            Err(DeflateError::CorruptData { .. } | DeflateError::IncompleteMessage) => {}
            Err(other) => panic!("inflate raised {other:?}"),
        }

        let mut out2 = Vec::new();
        let b = payload
            .chunks(7)
            .try_for_each(|p| pieces.inflate(p, &mut out2))
            .and_then(|()| pieces.finish_message(&mut out2));
        assert_eq!(a.is_ok(), b.is_ok(), "whole {a:?} vs in pieces {b:?}");
        if a.is_ok() {
            assert_eq!(out, out2, "whole and piecewise inflation differ");
        } else {
            return;
        }
    }
}
