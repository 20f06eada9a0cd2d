//! Category 6: UTF-8 handling of text messages.
//!
//! 6.1-6.4 are hand-written (6.4.x are the staged fail-fast cases); 6.5-6.23 are the 132
//! generated payloads, each sent as one unfragmented text frame with a 0.5 s kill timer.

use std::time::Duration;

use super::super::case::{CaseDef, CaseInfo};
use super::super::spec::{
    op, Action, Expectation, ExpectedClose, FrameSpec, FuzzSpec, Obs, Pacing, Rules, Stage,
};
use super::{close_after, echo, hex, kill};
use crate::codec::frame::{encode_frame, FrameHeader, OpCode};

const RFC: &str = "RFC 6455 §5.6, §8.1";

/// "Hello-µ@ßöäüàá-UTF-8!!" (29 bytes).
const HELLO_UTF8: &str = "48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121";
/// "κόσμε" (11 bytes).
const KOSME: &str = "cebae1bdb9cf83cebcceb5";

/// The generated payloads of 6.5-6.23: id, valid, payload hex (reference section 7).
pub const GENERATED: &[(&str, bool, &str)] = &[
    ("6.5.1", true, "68656c6c6f24776f726c64"),
    ("6.5.2", true, "68656c6c6fc2a2776f726c64"),
    ("6.5.3", true, "68656c6c6fe282ac776f726c64"),
    ("6.5.4", true, "68656c6c6ff0a4ada2776f726c64"),
    ("6.5.5", true, "cebae1bdb9cf83cebcceb5"),
    ("6.6.1", false, "ce"),
    ("6.6.2", true, "ceba"),
    ("6.6.3", false, "cebae1"),
    ("6.6.4", false, "cebae1bd"),
    ("6.6.5", true, "cebae1bdb9"),
    ("6.6.6", false, "cebae1bdb9cf"),
    ("6.6.7", true, "cebae1bdb9cf83"),
    ("6.6.8", false, "cebae1bdb9cf83ce"),
    ("6.6.9", true, "cebae1bdb9cf83cebc"),
    ("6.6.10", false, "cebae1bdb9cf83cebcce"),
    ("6.6.11", true, "cebae1bdb9cf83cebcceb5"),
    ("6.7.1", true, "00"),
    ("6.7.2", true, "c280"),
    ("6.7.3", true, "e0a080"),
    ("6.7.4", true, "f0908080"),
    ("6.8.1", false, "f888808080"),
    ("6.8.2", false, "fc8480808080"),
    ("6.9.1", true, "7f"),
    ("6.9.2", true, "dfbf"),
    ("6.9.3", true, "efbfbf"),
    ("6.9.4", true, "f48fbfbf"),
    ("6.10.1", false, "f7bfbfbf"),
    ("6.10.2", false, "fbbfbfbfbf"),
    ("6.10.3", false, "fdbfbfbfbfbf"),
    ("6.11.1", true, "ed9fbf"),
    ("6.11.2", true, "ee8080"),
    ("6.11.3", true, "efbfbd"),
    ("6.11.4", true, "f48fbfbf"),
    ("6.11.5", false, "f4908080"),
    ("6.12.1", false, "80"),
    ("6.12.2", false, "bf"),
    ("6.12.3", false, "80bf"),
    ("6.12.4", false, "80bf80"),
    ("6.12.5", false, "80bf80bf"),
    ("6.12.6", false, "80bf80bf80"),
    ("6.12.7", false, "80bf80bf80bf"),
    ("6.12.8", false, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbe"),
    ("6.13.1", false, "c020c120c220c320c420c520c620c720c820c920ca20cb20cc20cd20ce20cf20d020d120d220d320d420d520d620d720d820d920da20db20dc20dd20de20"),
    ("6.13.2", false, "e020e120e220e320e420e520e620e720e820e920ea20eb20ec20ed20ee20"),
    ("6.13.3", false, "f020f120f220f320f420f520f620"),
    ("6.13.4", false, "f820f920fa20"),
    ("6.13.5", false, "fc20"),
    ("6.14.1", false, "c0"),
    ("6.14.2", false, "e080"),
    ("6.14.3", false, "f08080"),
    ("6.14.4", false, "f8808080"),
    ("6.14.5", false, "fc80808080"),
    ("6.14.6", false, "df"),
    ("6.14.7", false, "efbf"),
    ("6.14.8", false, "f7bfbf"),
    ("6.14.9", false, "fbbfbfbf"),
    ("6.14.10", false, "fdbfbfbfbf"),
    ("6.15.1", false, "c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf"),
    ("6.16.1", false, "fe"),
    ("6.16.2", false, "ff"),
    ("6.16.3", false, "fefeffff"),
    ("6.17.1", false, "c0af"),
    ("6.17.2", false, "e080af"),
    ("6.17.3", false, "f08080af"),
    ("6.17.4", false, "f8808080af"),
    ("6.17.5", false, "fc80808080af"),
    ("6.18.1", false, "c1bf"),
    ("6.18.2", false, "e09fbf"),
    ("6.18.3", false, "f08fbfbf"),
    ("6.18.4", false, "f887bfbfbf"),
    ("6.18.5", false, "fc83bfbfbfbf"),
    ("6.19.1", false, "c080"),
    ("6.19.2", false, "e08080"),
    ("6.19.3", false, "f0808080"),
    ("6.19.4", false, "f880808080"),
    ("6.19.5", false, "fc8080808080"),
    ("6.20.1", false, "eda080"),
    ("6.20.2", false, "edadbf"),
    ("6.20.3", false, "edae80"),
    ("6.20.4", false, "edafbf"),
    ("6.20.5", false, "edb080"),
    ("6.20.6", false, "edbe80"),
    ("6.20.7", false, "edbfbf"),
    ("6.21.1", false, "eda080edb080"),
    ("6.21.2", false, "eda080edbfbf"),
    ("6.21.3", false, "edadbfedb080"),
    ("6.21.4", false, "edadbfedbfbf"),
    ("6.21.5", false, "edae80edb080"),
    ("6.21.6", false, "edae80edbfbf"),
    ("6.21.7", false, "edafbfedb080"),
    ("6.21.8", false, "edafbfedbfbf"),
    ("6.22.1", true, "efbfbe"),
    ("6.22.2", true, "efbfbf"),
    ("6.22.3", true, "f09fbfbe"),
    ("6.22.4", true, "f09fbfbf"),
    ("6.22.5", true, "f0afbfbe"),
    ("6.22.6", true, "f0afbfbf"),
    ("6.22.7", true, "f0bfbfbe"),
    ("6.22.8", true, "f0bfbfbf"),
    ("6.22.9", true, "f18fbfbe"),
    ("6.22.10", true, "f18fbfbf"),
    ("6.22.11", true, "f19fbfbe"),
    ("6.22.12", true, "f19fbfbf"),
    ("6.22.13", true, "f1afbfbe"),
    ("6.22.14", true, "f1afbfbf"),
    ("6.22.15", true, "f1bfbfbe"),
    ("6.22.16", true, "f1bfbfbf"),
    ("6.22.17", true, "f28fbfbe"),
    ("6.22.18", true, "f28fbfbf"),
    ("6.22.19", true, "f29fbfbe"),
    ("6.22.20", true, "f29fbfbf"),
    ("6.22.21", true, "f2afbfbe"),
    ("6.22.22", true, "f2afbfbf"),
    ("6.22.23", true, "f2bfbfbe"),
    ("6.22.24", true, "f2bfbfbf"),
    ("6.22.25", true, "f38fbfbe"),
    ("6.22.26", true, "f38fbfbf"),
    ("6.22.27", true, "f39fbfbe"),
    ("6.22.28", true, "f39fbfbf"),
    ("6.22.29", true, "f3afbfbe"),
    ("6.22.30", true, "f3afbfbf"),
    ("6.22.31", true, "f3bfbfbe"),
    ("6.22.32", true, "f3bfbfbf"),
    ("6.22.33", true, "f48fbfbe"),
    ("6.22.34", true, "f48fbfbf"),
    ("6.23.1", true, "efbfb9"),
    ("6.23.2", true, "efbfba"),
    ("6.23.3", true, "efbfbb"),
    ("6.23.4", true, "efbfbc"),
    ("6.23.5", true, "efbfbd"),
    ("6.23.6", true, "efbfbe"),
    ("6.23.7", true, "efbfbf"),
];

fn group_title(id: &str) -> &'static str {
    let group: String = id.split('.').take(2).collect::<Vec<_>>().join(".");
    match group.as_str() {
        "6.5" => "text with 1- to 4-byte code points",
        "6.6" => "a prefix of κόσμε",
        "6.7" => "the smallest encoding of a length class",
        "6.8" => "the smallest 5- or 6-byte form (beyond U+10FFFF)",
        "6.9" => "the largest valid encoding of a length class",
        "6.10" => "the largest 4-, 5- or 6-byte form (beyond U+10FFFF)",
        "6.11" => "a code point at a boundary (U+D7FF, U+E000, U+FFFD, U+10FFFF, U+110000)",
        "6.12" => "stray continuation bytes",
        "6.13" => "lead bytes each followed by a space",
        "6.14" => "a sequence missing its last continuation byte",
        "6.15" => "all truncated sequences concatenated",
        "6.16" => "the bytes FE / FF",
        "6.17" => "an overlong encoding of '/'",
        "6.18" => "the largest overlong encoding of a length",
        "6.19" => "an overlong encoding of NUL",
        "6.20" => "a lone UTF-16 surrogate",
        "6.21" => "a UTF-16 surrogate pair as two 3-byte sequences",
        "6.22" => "a noncharacter (U+FFFE/U+FFFF of a plane)",
        "6.23" => "a special (U+FFF9-U+FFFF)",
        _ => "a generated payload",
    }
}

fn valid_case(
    id: &str,
    title: String,
    actions: impl Fn() -> (Vec<Action>, Vec<u8>) + Send + Sync + 'static,
    timer: super::super::spec::CaseTimer,
) -> CaseDef {
    CaseDef::fuzz(CaseInfo::new(id, title, RFC), move || {
        let (a, whole) = actions();
        FuzzSpec::simple(
            a,
            timer,
            Expectation::ok(vec![echo(op::TEXT, &whole)], ExpectedClose::normal()),
        )
    })
}

fn invalid_expectation() -> Expectation {
    Expectation::ok(vec![], ExpectedClose::peer(&[1007])).with_rules(Rules {
        wrong_endpoint_fatal: true,
        ..Default::default()
    })
}

fn invalid_case(
    id: &str,
    title: String,
    actions: impl Fn() -> Vec<Action> + Send + Sync + 'static,
    timer: super::super::spec::CaseTimer,
) -> CaseDef {
    CaseDef::fuzz(CaseInfo::new(id, title, RFC), move || {
        FuzzSpec::simple(actions(), timer, invalid_expectation())
    })
}

fn frames(list: Vec<(u8, bool, Vec<u8>)>) -> Vec<Action> {
    list.into_iter()
        .map(|(o, fin, p)| Action::Frame(FrameSpec::new(o, fin, p), Pacing::Plain))
        .collect()
}

fn one_byte_frames(payload: Vec<u8>) -> Vec<Action> {
    vec![Action::Message {
        opcode: op::TEXT,
        payload,
        fragment: Some(1),
        mode: Pacing::Plain,
    }]
}

/// The three parts of the 6.4.x payload: κόσμε + F4 90 80 80 + "edited".
fn staged_parts(split_in_sequence: bool) -> [Vec<u8>; 3] {
    let kosme = hex(KOSME);
    let edited = b"edited".to_vec();
    if split_in_sequence {
        let mut p1 = kosme;
        p1.push(0xf4);
        let mut p3 = vec![0x80, 0x80];
        p3.extend_from_slice(&edited);
        [p1, vec![0x90], p3]
    } else {
        [kosme, hex("f4908080"), edited]
    }
}

/// 6.4.x: part 1, pause 1 s, part 2 (if still OPEN, marker A), pause 1 s, part 3 (marker
/// B), kill after 1 s. `streamed`: one text frame announcing the full length with FIN=0,
/// whose payload goes out in three writes, then an empty FIN continuation.
fn staged(id: &str, split_in_sequence: bool, streamed: bool) -> CaseDef {
    let split = if split_in_sequence {
        "inside the invalid code point"
    } else {
        "at code-point boundaries"
    };
    let transport = if streamed {
        "one frame written in three pieces"
    } else {
        "three fragments"
    };
    let title = format!(
        "Fail fast on invalid UTF-8 (U+110000) sent as {transport} split {split}, one second apart"
    );
    CaseDef::fuzz(CaseInfo::new(id, title, RFC), move || {
        let parts = staged_parts(split_in_sequence);
        let acts: [Vec<Action>; 3] = if streamed {
            let whole: Vec<u8> = parts.concat();
            let h = FrameHeader::new(
                OpCode::Text,
                false,
                whole.len() as u64,
                Some(rand::random()),
            );
            let mut wire = Vec::new();
            encode_frame(&h, &whole, &mut wire);
            let hl = h.encoded_len();
            let (a, b) = (hl + parts[0].len(), hl + parts[0].len() + parts[1].len());
            [
                vec![Action::Bytes(wire[..a].to_vec())],
                vec![Action::Bytes(wire[a..b].to_vec())],
                vec![
                    Action::Bytes(wire[b..].to_vec()),
                    Action::frame(op::CONT, true, vec![]),
                ],
            ]
        } else {
            [
                vec![Action::frame(op::TEXT, false, parts[0].clone())],
                vec![Action::frame(op::CONT, false, parts[1].clone())],
                vec![Action::frame(op::CONT, true, parts[2].clone())],
            ]
        };
        let [a0, a1, a2] = acts;
        FuzzSpec {
            stages: vec![
                Stage {
                    at: Duration::ZERO,
                    tag: None,
                    actions: a0,
                    arm: None,
                },
                Stage {
                    at: Duration::from_secs(1),
                    tag: Some("A"),
                    actions: a1,
                    arm: None,
                },
                Stage {
                    at: Duration::from_secs(2),
                    tag: Some("B"),
                    actions: a2,
                    arm: Some(kill(1.0)),
                },
            ],
            expect: staged_utf8_expectation(),
            note: Some(
                "OK: fails after part 2 (marker A only); NON-STRICT: only after part 3 (A, B); \
                 FAILED: after part 1 or never"
                    .into(),
            ),
        }
    })
    .timed()
}

pub(crate) fn defs() -> Vec<CaseDef> {
    let c1 = close_after(1.0);
    let mut v = vec![
        valid_case(
            "6.1.1",
            "Empty text message is echoed".into(),
            || (vec![Action::message(op::TEXT, vec![])], vec![]),
            c1,
        ),
        valid_case(
            "6.1.2",
            "Text message of three empty fragments is echoed as one empty message".into(),
            || {
                (
                    frames(vec![
                        (op::TEXT, false, vec![]),
                        (op::CONT, false, vec![]),
                        (op::CONT, true, vec![]),
                    ]),
                    vec![],
                )
            },
            c1,
        ),
        valid_case(
            "6.1.3",
            "Text message with empty first and last fragments is echoed".into(),
            || {
                let mid = b"middle frame payload".to_vec();
                (
                    frames(vec![
                        (op::TEXT, false, vec![]),
                        (op::CONT, false, mid.clone()),
                        (op::CONT, true, vec![]),
                    ]),
                    mid,
                )
            },
            c1,
        ),
        valid_case(
            "6.2.1",
            "Valid UTF-8 text (Hello-µ@ßöäüàá-UTF-8!!) in one frame is echoed".into(),
            || {
                let p = hex(HELLO_UTF8);
                (vec![Action::message(op::TEXT, p.clone())], p)
            },
            c1,
        ),
        valid_case(
            "6.2.2",
            "Valid UTF-8 text in two fragments split at a code-point boundary is echoed".into(),
            || {
                let p = hex(HELLO_UTF8);
                (
                    frames(vec![
                        (op::TEXT, false, p[..15].to_vec()),
                        (op::CONT, true, p[15..].to_vec()),
                    ]),
                    p,
                )
            },
            c1,
        ),
        valid_case(
            "6.2.3",
            "Valid UTF-8 text in 1-byte fragments (splits inside code points) is echoed".into(),
            || {
                let p = hex(HELLO_UTF8);
                (one_byte_frames(p.clone()), p)
            },
            c1,
        ),
        valid_case(
            "6.2.4",
            "κόσμε in 1-byte fragments is echoed".into(),
            || {
                let p = hex(KOSME);
                (one_byte_frames(p.clone()), p)
            },
            c1,
        ),
        invalid_case(
            "6.3.1",
            "Invalid UTF-8 (a surrogate) in one text frame fails the connection with 1007".into(),
            || {
                vec![Action::message(
                    op::TEXT,
                    hex("cebae1bdb9cf83cebcceb5eda080656469746564"),
                )]
            },
            kill(1.0),
        ),
        invalid_case(
            "6.3.2",
            "Invalid UTF-8 (a surrogate) in 1-byte fragments fails the connection with 1007".into(),
            || one_byte_frames(hex("cebae1bdb9cf83cebcceb5eda080656469746564")),
            kill(1.0),
        ),
        staged("6.4.1", false, false),
        staged("6.4.2", true, false),
        staged("6.4.3", false, true),
        staged("6.4.4", true, true),
    ];
    for &(id, valid, payload) in GENERATED {
        let title = format!(
            "Text message with {} UTF-8: {} (0x{})",
            if valid { "valid" } else { "invalid" },
            group_title(id),
            if payload.len() > 24 {
                format!("{}…", &payload[..24])
            } else {
                payload.to_owned()
            }
        );
        if valid {
            v.push(valid_case(
                id,
                title,
                move || {
                    let p = hex(payload);
                    (vec![Action::message(op::TEXT, p.clone())], p)
                },
                kill(0.5),
            ));
        } else {
            v.push(invalid_case(
                id,
                title,
                move || vec![Action::message(op::TEXT, hex(payload))],
                kill(0.5),
            ));
        }
    }
    v
}

/// 6.4.x's verdict rule: failing after part 2 (marker A only) is OK, only after part 3
/// (A and B) NON-STRICT, and a connection the kit had to close is FAILED however the
/// markers fell (the server must fail it: `wrong_endpoint_fatal`).
pub(crate) fn staged_utf8_expectation() -> Expectation {
    Expectation::ok_or_non_strict(
        vec![Obs::Timeout("A".into())],
        vec![Obs::Timeout("A".into()), Obs::Timeout("B".into())],
        ExpectedClose::peer(&[1007]),
    )
    .with_rules(Rules {
        wrong_endpoint_fatal: true,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_flags_agree_with_the_codec() {
        for &(id, valid, payload) in GENERATED {
            let ok = crate::codec::utf8::validate(&hex(payload)).is_ok();
            assert_eq!(ok, valid, "{id}");
        }
        assert_eq!(GENERATED.iter().filter(|g| g.1).count(), 63);
        assert_eq!(GENERATED.len(), 132);
    }

    #[test]
    fn staged_parts_are_the_reference_payload() {
        let whole = hex("cebae1bdb9cf83cebcceb5f4908080656469746564");
        assert_eq!(staged_parts(false).concat(), whole);
        assert_eq!(staged_parts(true).concat(), whole);
        assert_eq!(staged_parts(true)[0].len(), 12);
    }
}
