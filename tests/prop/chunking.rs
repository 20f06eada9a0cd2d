//! Parse results do not depend on how the input is split.
//!
//! * `parse_header`: fed a growing buffer (random cut points, or one byte at a time) it
//!   answers `Partial` until the header is complete and then exactly what the one-shot
//!   parse says, error included; its "need n more" never overshoots.
//! * `StreamDecoder`: the frames, events, previews, final error (same value, offsets
//!   included) and leftover bytes are the same whole, in random pieces and byte by byte,
//!   for generated frame streams (valid and broken) and for arbitrary bytes, in both roles.

use crate::common::{encode_all, frame_stream};
use proptest::prelude::*;
use wsspec::codec::frame::{parse_header, HeaderRules, Role, Status};
use wsspec::codec::Limits;
use wsspec_testkit::drive::{decode_chunked, every_byte};

fn rules() -> impl Strategy<Value = HeaderRules> {
    prop::sample::select(vec![
        HeaderRules::any_role(),
        HeaderRules::server(),
        HeaderRules::client(),
        HeaderRules {
            role: Some(Role::Server),
            allowed_rsv: 4,
        },
    ])
}

fn cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..=len, 0..12)
}

/// Feeds `bytes` in pieces to `parse_header`, as a reader that retries on a growing buffer
/// would, and returns the first non-Partial answer (or the last Partial).
fn header_streamed(
    bytes: &[u8],
    rules: HeaderRules,
    cuts: &[usize],
) -> Result<Status<wsspec::codec::FrameHeader>, wsspec::codec::ProtocolError> {
    let mut points: Vec<usize> = cuts.iter().copied().filter(|&c| c <= bytes.len()).collect();
    points.push(bytes.len());
    points.sort_unstable();
    points.dedup();
    let mut last = parse_header(&[], rules);
    for end in points {
        last = parse_header(&bytes[..end], rules);
        match last {
            Ok(Status::Partial(_)) => continue,
            other => return other,
        }
    }
    last
}

fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..20),
        // Valid-looking second bytes, so the long forms and masks are reached often.
        (
            any::<u8>(),
            any::<bool>(),
            prop::sample::select(vec![0u8, 5, 125, 126, 127]),
            proptest::collection::vec(any::<u8>(), 0..14)
        )
            .prop_map(|(b0, m, l, rest)| {
                let mut v = vec![b0, (u8::from(m) << 7) | l];
                v.extend(rest);
                v
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn header_parse_is_split_independent(
        bytes in header_bytes(),
        rules in rules(),
        cuts in cuts(20),
    ) {
        let whole = parse_header(&bytes, rules);
        prop_assert_eq!(header_streamed(&bytes, rules, &cuts), whole);
        prop_assert_eq!(header_streamed(&bytes, rules, &every_byte(bytes.len())), whole);
        // Partial answers along the way never ask for more than the header needs.
        if let Ok(Status::Complete(_, n)) = whole {
            for p in 0..n {
                match parse_header(&bytes[..p], rules) {
                    Ok(Status::Partial(k)) => prop_assert!(k >= 1 && p + k <= n),
                    other => return Err(TestCaseError::fail(format!("prefix {p}: {other:?}"))),
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn stream_decoder_is_split_independent_on_frame_streams(
        frames in frame_stream(true),
        cut_idx in proptest::collection::vec(any::<prop::sample::Index>(), 0..24),
    ) {
        let (wire, _) = encode_all(&frames);
        let rules = HeaderRules::server();
        let limits = Limits::default();
        let whole = decode_chunked(rules, limits, &wire, &[]);
        let cuts: Vec<usize> = cut_idx.iter().map(|i| i.index(wire.len() + 1)).collect();
        prop_assert_eq!(&decode_chunked(rules, limits, &wire, &cuts), &whole);
        prop_assert_eq!(&decode_chunked(rules, limits, &wire, &every_byte(wire.len())), &whole);
    }

    #[test]
    fn stream_decoder_is_split_independent_on_client_streams(
        frames in frame_stream(false),
        cut_idx in proptest::collection::vec(any::<prop::sample::Index>(), 0..24),
        tiny in any::<bool>(),
    ) {
        let (wire, _) = encode_all(&frames);
        let rules = HeaderRules::client();
        let limits = if tiny {
            Limits { max_message_size: 100, max_frame_size: 60 }
        } else {
            Limits::default()
        };
        let whole = decode_chunked(rules, limits, &wire, &[]);
        let cuts: Vec<usize> = cut_idx.iter().map(|i| i.index(wire.len() + 1)).collect();
        prop_assert_eq!(&decode_chunked(rules, limits, &wire, &cuts), &whole);
        prop_assert_eq!(&decode_chunked(rules, limits, &wire, &every_byte(wire.len())), &whole);
    }

    #[test]
    fn stream_decoder_is_split_independent_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        server in any::<bool>(),
        cut_idx in proptest::collection::vec(any::<prop::sample::Index>(), 0..24),
    ) {
        let rules = if server { HeaderRules::server() } else { HeaderRules::client() };
        let limits = Limits::default();
        let whole = decode_chunked(rules, limits, &bytes, &[]);
        let cuts: Vec<usize> = cut_idx.iter().map(|i| i.index(bytes.len() + 1)).collect();
        prop_assert_eq!(&decode_chunked(rules, limits, &bytes, &cuts), &whole);
        prop_assert_eq!(&decode_chunked(rules, limits, &bytes, &every_byte(bytes.len())), &whole);
    }
}

/// The fail-fast UTF-8 error of Autobahn 6.4.3/6.4.4 (one frame, payload in pieces) is
/// reported at byte 12 however the frame is split, and before the frame is complete.
#[test]
fn utf8_error_offset_is_split_independent() {
    let payload = crate::common::hex("cebae1bdb9cf83cebcceb5f4908080656469746564");
    let (wire, _) = encode_all(&[crate::common::FrameSpec::new(
        0x1,
        true,
        payload,
        Some([1, 2, 3, 4]),
    )]);
    let header_len = 6;
    for cut in 1..wire.len() {
        let d = decode_chunked(HeaderRules::server(), Limits::default(), &wire, &[cut]);
        assert_eq!(
            d.error,
            Some(wsspec::codec::FrameError::Protocol(
                wsspec::codec::ProtocolError::InvalidUtf8 { offset: 12 }
            )),
            "cut at {cut}"
        );
    }
    // Only the first 13 payload bytes are needed to see the error.
    let d = decode_chunked(
        HeaderRules::server(),
        Limits::default(),
        &wire[..header_len + 13],
        &[],
    );
    assert!(d.error.is_some());
}
