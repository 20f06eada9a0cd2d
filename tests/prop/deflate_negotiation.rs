//! permessage-deflate negotiation (RFC 7692 §5, §7): the offers Autobahn|Testsuite sends in
//! 12.x/13.x, the offer/answer examples of RFC 7692 §5.2 and §7.1.3, every rule an answer can
//! break in strict and in Autobahn-lenient mode, and properties tying the two roles together.
//!
//! * The grammar: any list of elements written out (with random whitespace, quoting and empty
//!   elements) parses back to itself; arbitrary bytes never panic and errors point inside.
//! * Both roles agree: for any offers and any server policy, the answer the server builds is
//!   accepted by a strict client, the two configurations fit together (each side inflates what
//!   the other compresses) and messages really flow both ways with them.
//! * The Autobahn mode accepts everything strict mode accepts, with the same server settings.

use proptest::prelude::*;
use wsspec::codec::deflate::{
    format_extensions, offer_header, parse_extensions, validate_answer, AnswerCheck, DeflateConfig,
    DeflateParams, Extension, ExtensionError, ServerPolicy, WindowBits,
};
use wsspec::codec::frame::Role;

fn w(bits: u8) -> WindowBits {
    WindowBits::new(bits).unwrap()
}

/// The offers of Autobahn 12.x/13.x: every one carries `client_no_context_takeover` and a
/// bare `client_max_window_bits`, then the server parameters of its row
/// (../shared/reference/autobahn-cases.md §11).
fn autobahn_offer(server_nct: bool, server_window: Option<u8>) -> DeflateParams {
    let mut p = DeflateParams::new()
        .client_no_context_takeover()
        .client_max_window_bits(None);
    if server_nct {
        p = p.server_no_context_takeover();
    }
    if let Some(b) = server_window {
        p = p.server_max_window_bits(w(b));
    }
    p
}

const DEFAULT_OFFER: &str =
    "permessage-deflate; client_no_context_takeover; client_max_window_bits";

#[test]
fn autobahn_13_offers_byte_for_byte() {
    let rows: [(&str, Vec<DeflateParams>, String); 7] = [
        (
            "13.1",
            vec![autobahn_offer(false, None)],
            DEFAULT_OFFER.into(),
        ),
        (
            "13.2",
            vec![autobahn_offer(true, None)],
            format!("{DEFAULT_OFFER}; server_no_context_takeover"),
        ),
        (
            "13.3",
            vec![autobahn_offer(false, Some(9))],
            format!("{DEFAULT_OFFER}; server_max_window_bits=9"),
        ),
        (
            "13.4",
            vec![autobahn_offer(false, Some(15))],
            format!("{DEFAULT_OFFER}; server_max_window_bits=15"),
        ),
        (
            "13.5",
            vec![autobahn_offer(true, Some(9))],
            format!("{DEFAULT_OFFER}; server_no_context_takeover; server_max_window_bits=9"),
        ),
        (
            "13.6",
            vec![autobahn_offer(true, Some(15))],
            format!("{DEFAULT_OFFER}; server_no_context_takeover; server_max_window_bits=15"),
        ),
        (
            "13.7",
            vec![
                autobahn_offer(true, Some(9)),
                autobahn_offer(true, None),
                autobahn_offer(false, None),
            ],
            format!(
                "{DEFAULT_OFFER}; server_no_context_takeover; server_max_window_bits=9, \
                 {DEFAULT_OFFER}; server_no_context_takeover, {DEFAULT_OFFER}"
            ),
        ),
    ];
    for (case, offers, header) in rows {
        assert_eq!(offer_header(&offers), header, "{case}");
        // The server side reads the same offers back.
        let list = parse_extensions(header.as_bytes()).unwrap();
        let read: Vec<DeflateParams> = list
            .iter()
            .map(|e| {
                DeflateParams::from_params(&e.params, wsspec::codec::deflate::Side::Offer).unwrap()
            })
            .collect();
        assert_eq!(read, offers, "{case}");
    }
}

fn check(
    offers: &[DeflateParams],
    answer: &str,
    mode: AnswerCheck,
) -> Result<Option<DeflateConfig>, ExtensionError> {
    validate_answer(offers, [answer.as_bytes()], mode)
}

fn config(snct: bool, cnct: bool, s: u8, c: u8) -> DeflateConfig {
    DeflateConfig {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: w(s),
        client_max_window_bits: w(c),
    }
}

/// How the default server policy answers each 13.x offer, and that both client modes take it.
#[test]
fn default_server_answers_the_13_offers() {
    let policy = ServerPolicy::default();
    let cases = [
        (
            autobahn_offer(false, None),
            "permessage-deflate; client_no_context_takeover",
        ),
        (
            autobahn_offer(true, None),
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
        ),
        (
            autobahn_offer(false, Some(9)),
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=9",
        ),
        (
            autobahn_offer(false, Some(15)),
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=15",
        ),
        (
            autobahn_offer(true, Some(9)),
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=9",
        ),
    ];
    for (offer, answer) in cases {
        let list = parse_extensions(offer.to_string().as_bytes()).unwrap();
        let choice = policy.choose(&list);
        assert_eq!(choice.answer_header().as_deref(), Some(answer), "{offer}");
        for mode in [AnswerCheck::Strict, AnswerCheck::Autobahn] {
            let cfg = check(&[offer], answer, mode).unwrap().unwrap();
            let server = choice.accepted.as_ref().unwrap().config;
            assert_eq!(cfg.server_max_window_bits, server.server_max_window_bits);
            assert_eq!(
                cfg.server_no_context_takeover,
                server.server_no_context_takeover
            );
            // The offered client_no_context_takeover is taken up (as `ws` and `websockets`
            // do), so both modes reset the client's context.
            assert!(cfg.client_no_context_takeover);
        }
    }
}

/// A server that cannot compress below 1 KiB declines 13.7's first offer and takes the second.
#[test]
fn server_policy_declines_then_accepts_13_7() {
    let policy = ServerPolicy {
        lowest_server_window_bits: w(10),
        ..ServerPolicy::default()
    };
    let header = offer_header(&[
        autobahn_offer(true, Some(9)),
        autobahn_offer(true, None),
        autobahn_offer(false, None),
    ]);
    let choice = policy.choose_from_fields([header.as_bytes()]).unwrap();
    assert_eq!(
        choice.declined,
        vec![(
            0,
            ExtensionError::ServerWindowUnsupported {
                offered: 9,
                lowest: 10
            }
        )]
    );
    let accepted = choice.accepted.unwrap();
    assert_eq!(accepted.offer, 1);
    assert_eq!(
        accepted.answer.to_string(),
        "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
    );
    assert_eq!(accepted.config, config(true, true, 15, 15));
}

/// A policy that asks for everything it may: it answers `client_max_window_bits` only where
/// offered, caps its own window even unasked, and resets both contexts.
#[test]
fn server_policy_adds_parameters() {
    let policy = ServerPolicy {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: w(12),
        lowest_server_window_bits: w(8),
        client_max_window_bits: Some(w(11)),
    };
    let pick = |offer: &str| policy.choose(&parse_extensions(offer.as_bytes()).unwrap());
    let a = pick("permessage-deflate").accepted.unwrap();
    assert_eq!(
        a.answer.to_string(),
        "permessage-deflate; client_no_context_takeover; server_no_context_takeover; \
         server_max_window_bits=12"
    );
    assert_eq!(a.config, config(true, true, 12, 15));
    let b = pick("permessage-deflate; client_max_window_bits; server_max_window_bits=9")
        .accepted
        .unwrap();
    assert_eq!(
        b.answer.to_string(),
        "permessage-deflate; client_no_context_takeover; client_max_window_bits=11; \
         server_no_context_takeover; server_max_window_bits=9"
    );
    assert_eq!(b.config, config(true, true, 9, 11));
    let c = pick("permessage-deflate; client_max_window_bits=9")
        .accepted
        .unwrap();
    assert_eq!(c.config.client_max_window_bits, w(9));
    // Other extensions are skipped, broken offers declined with their rule.
    let d = pick(
        "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=16, \
         permessage-deflate; mystery, permessage-deflate",
    );
    assert_eq!(
        d.declined,
        vec![
            (
                0,
                ExtensionError::InvalidWindowBits {
                    name: "server_max_window_bits",
                    value: "16".into()
                }
            ),
            (
                1,
                ExtensionError::UnknownParameter {
                    name: "mystery".into()
                }
            ),
        ]
    );
    assert_eq!(d.accepted.unwrap().offer, 2);
}

/// RFC 7692 §7.1.3: the simplest offer and answer, a client that can take a window limit, and
/// an offer of `server_max_window_bits=10` with a fallback offer without it.
#[test]
fn rfc7692_7_1_3_examples() {
    let simplest = [DeflateParams::new()];
    assert_eq!(offer_header(&simplest), "permessage-deflate");
    assert_eq!(
        check(&simplest, "permessage-deflate", AnswerCheck::Strict).unwrap(),
        Some(DeflateConfig::default())
    );
    // No client_max_window_bits offered: the server must not answer it.
    assert_eq!(
        check(
            &simplest,
            "permessage-deflate; client_max_window_bits=10",
            AnswerCheck::Strict
        ),
        Err(ExtensionError::ClientWindowNotOffered)
    );
    let can_limit = [DeflateParams::new().client_max_window_bits(None)];
    assert_eq!(
        check(
            &can_limit,
            "permessage-deflate; client_max_window_bits=10",
            AnswerCheck::Strict
        )
        .unwrap()
        .unwrap()
        .client_max_window_bits,
        w(10)
    );
    let with_fallback = [
        DeflateParams::new()
            .client_max_window_bits(None)
            .server_max_window_bits(w(10)),
        DeflateParams::new().client_max_window_bits(None),
    ];
    assert_eq!(
        offer_header(&with_fallback),
        "permessage-deflate; client_max_window_bits; server_max_window_bits=10, \
         permessage-deflate; client_max_window_bits"
    );
    // The server takes the first offer ...
    let first = ServerPolicy::default()
        .choose(&parse_extensions(offer_header(&with_fallback).as_bytes()).unwrap());
    assert_eq!(first.accepted.as_ref().unwrap().offer, 0);
    assert_eq!(
        first.answer_header().unwrap(),
        "permessage-deflate; server_max_window_bits=10"
    );
    assert_eq!(
        check(
            &with_fallback,
            &first.answer_header().unwrap(),
            AnswerCheck::Strict
        )
        .unwrap()
        .unwrap()
        .server_max_window_bits,
        w(10)
    );
    // ... or, not supporting the limit, the fallback; both answers are valid.
    let fallback = ServerPolicy {
        lowest_server_window_bits: w(15),
        ..ServerPolicy::default()
    }
    .choose(&parse_extensions(offer_header(&with_fallback).as_bytes()).unwrap());
    assert_eq!(fallback.accepted.as_ref().unwrap().offer, 1);
    assert_eq!(
        check(&with_fallback, "permessage-deflate", AnswerCheck::Strict).unwrap(),
        Some(DeflateConfig::default())
    );
}

/// RFC 7692 §5.2: a list may offer other extensions and several variants of one; elements are
/// separate and the server only considers permessage-deflate.
#[test]
fn rfc7692_5_2_examples() {
    let list = parse_extensions(b"permessage-foo; use_y, permessage-foo").unwrap();
    assert_eq!(
        list,
        vec![
            Extension::new("permessage-foo").param("use_y", None),
            Extension::new("permessage-foo"),
        ]
    );
    let choice = ServerPolicy::default().choose(&list);
    assert!(choice.accepted.is_none() && choice.declined.is_empty());
    let mixed = parse_extensions(b"permessage-foo, permessage-deflate").unwrap();
    assert_eq!(
        ServerPolicy::default()
            .choose(&mixed)
            .accepted
            .unwrap()
            .offer,
        0
    );
}

/// (offers, answer, strict result, whether Autobahn mode accepts it)
type AnswerCase<'a> = (
    &'a [DeflateParams],
    &'a str,
    Result<(), ExtensionError>,
    bool,
);

/// Every rule an answer can break, and which of them the Autobahn mode still enforces (its
/// fuzzer rejects malformed, repeated or unknown parameters, windows outside 8-15, a bare
/// `client_max_window_bits`, several elements and unknown extensions, but checks nothing
/// against the offer).
#[test]
fn answer_rules_strict_and_autobahn() {
    use AnswerCheck::{Autobahn, Strict};
    let o133 = [autobahn_offer(false, Some(9))];
    let o132 = [autobahn_offer(true, None)];
    let plain = [DeflateParams::new()];
    let hinted = [DeflateParams::new().client_max_window_bits(Some(w(10)))];
    let cases: Vec<AnswerCase> = vec![
        // (offers, answer, strict result, autobahn accepts)
        (&o133, "permessage-deflate", Err(ExtensionError::ServerWindowMissing { offered: 9 }), true),
        (
            &o133,
            "permessage-deflate; server_max_window_bits=10",
            Err(ExtensionError::ServerWindowAboveOffer { offered: 9, answered: 10 }),
            true,
        ),
        (&o133, "permessage-deflate; server_max_window_bits=8", Ok(()), true),
        (&o132, "permessage-deflate", Err(ExtensionError::ServerNoContextTakeoverMissing), true),
        (&plain, "permessage-deflate; client_max_window_bits=9", Err(ExtensionError::ClientWindowNotOffered), true),
        (
            &hinted,
            "permessage-deflate; client_max_window_bits=11",
            Err(ExtensionError::ClientWindowAboveOffer { offered: 10, answered: 11 }),
            true,
        ),
        (&plain, "permessage-deflate; server_max_window_bits=12", Ok(()), true),
        (&plain, "permessage-deflate; client_no_context_takeover; server_no_context_takeover", Ok(()), true),
        (
            &o133,
            "permessage-deflate; client_max_window_bits",
            Err(ExtensionError::MissingValue { name: "client_max_window_bits" }),
            false,
        ),
        (
            &o133,
            "permessage-deflate; server_max_window_bits=7",
            Err(ExtensionError::InvalidWindowBits { name: "server_max_window_bits", value: "7".into() }),
            false,
        ),
        (
            &o133,
            "permessage-deflate; server_max_window_bits=9; server_max_window_bits=9",
            Err(ExtensionError::DuplicateParameter { name: "server_max_window_bits" }),
            false,
        ),
        (
            &o133,
            "permessage-deflate; server_max_window_bits=9; foo",
            Err(ExtensionError::UnknownParameter { name: "foo".into() }),
            false,
        ),
        (
            &o133,
            "permessage-deflate; server_max_window_bits=9, permessage-deflate; server_max_window_bits=9",
            Err(ExtensionError::MultipleAnswers { count: 2 }),
            false,
        ),
        (
            &o133,
            "x-webkit-deflate-frame",
            Err(ExtensionError::ExtensionNotOffered { name: "x-webkit-deflate-frame".into() }),
            false,
        ),
        (
            &o133,
            "permessage-deflate; server_max_window_bits=\"9",
            Err(ExtensionError::BadQuotedString { offset: 43 }),
            false,
        ),
    ];
    for (offers, answer, strict, lenient) in cases {
        let got = check(offers, answer, Strict).map(|_| ());
        assert_eq!(got, strict, "strict: {answer}");
        if let Err(e) = &got {
            assert!(e.to_string().contains(e.rfc_section()), "{e}");
        }
        assert_eq!(
            check(offers, answer, Autobahn).is_ok(),
            lenient,
            "autobahn: {answer}"
        );
    }
    // No extension header, or an offerless client: nothing negotiated, or not offered.
    assert_eq!(validate_answer(&o133, [], Strict), Ok(None));
    assert_eq!(
        check(&[], "permessage-deflate", Autobahn),
        Err(ExtensionError::ExtensionNotOffered {
            name: "permessage-deflate".into()
        })
    );
    // With several offers, the error lists why each one does not match.
    let three = [
        autobahn_offer(true, Some(9)),
        autobahn_offer(true, Some(12)),
        autobahn_offer(false, Some(10)),
    ];
    match check(
        &three,
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=13",
        Strict,
    ) {
        Err(ExtensionError::NoOfferMatches(reasons)) => assert_eq!(
            reasons,
            vec![
                ExtensionError::ServerWindowAboveOffer {
                    offered: 9,
                    answered: 13
                },
                ExtensionError::ServerWindowAboveOffer {
                    offered: 12,
                    answered: 13
                },
                ExtensionError::ServerWindowAboveOffer {
                    offered: 10,
                    answered: 13
                },
            ]
        ),
        other => panic!("{other:?}"),
    }
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn element() -> impl Strategy<Value = Extension> {
    (
        token(),
        prop::collection::vec((token(), prop::option::of(token())), 0..5),
    )
        .prop_map(|(name, params)| {
            params
                .into_iter()
                .fold(Extension::new(name), |e, (n, v)| e.param(n, v))
        })
}

/// Writes a list with random optional whitespace, quoting and empty elements.
fn write_loosely(list: &[Extension], noise: &[u8]) -> String {
    let mut k = 0;
    let mut pick = |n: u8| {
        k += 1;
        noise.get(k % noise.len().max(1)).copied().unwrap_or(0) % n
    };
    let ws = |n: u8| [" ", "", "\t", "  "][n as usize];
    let mut s = String::new();
    for (i, e) in list.iter().enumerate() {
        if i > 0 || pick(3) == 0 {
            s.push_str(ws(pick(4)));
            s.push(',');
            if pick(4) == 0 {
                s.push_str(" ,");
            }
        }
        s.push_str(ws(pick(4)));
        s.push_str(&e.name);
        for p in &e.params {
            s.push_str(ws(pick(4)));
            s.push(';');
            s.push_str(ws(pick(4)));
            s.push_str(&p.name);
            if let Some(v) = &p.value {
                s.push_str(ws(pick(4)));
                s.push('=');
                s.push_str(ws(pick(4)));
                if pick(2) == 0 {
                    s.push('"');
                    for c in v.chars() {
                        if pick(3) == 0 {
                            s.push('\\');
                        }
                        s.push(c);
                    }
                    s.push('"');
                } else {
                    s.push_str(v);
                }
            }
        }
    }
    s.push_str(ws(pick(4)));
    s
}

fn offer() -> impl Strategy<Value = DeflateParams> {
    let win = prop::option::of((8u8..=15).prop_map(w));
    let client = prop::option::of(prop::option::of((8u8..=15).prop_map(w)));
    (any::<bool>(), any::<bool>(), win, client).prop_map(|(s, c, sw, cw)| {
        let mut p = DeflateParams::new();
        p.server_no_context_takeover = s;
        p.client_no_context_takeover = c;
        p.server_max_window_bits = sw;
        if let Some(cw) = cw {
            p = p.client_max_window_bits(cw);
        }
        p
    })
}

fn policy() -> impl Strategy<Value = ServerPolicy> {
    (
        any::<bool>(),
        any::<bool>(),
        (8u8..=15).prop_map(w),
        (8u8..=15).prop_map(w),
        prop::option::of((8u8..=15).prop_map(w)),
    )
        .prop_map(|(s, c, own, lowest, client)| ServerPolicy {
            server_no_context_takeover: s,
            client_no_context_takeover: c,
            server_max_window_bits: own,
            lowest_server_window_bits: lowest,
            client_max_window_bits: client,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn grammar_round_trip(list in prop::collection::vec(element(), 1..5), noise in prop::collection::vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(&parse_extensions(format_extensions(&list).as_bytes()).unwrap(), &list);
        let loose = write_loosely(&list, &noise);
        prop_assert_eq!(&parse_extensions(loose.as_bytes()).unwrap(), &list, "{:?}", loose);
    }

    #[test]
    fn parser_total_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        match parse_extensions(&bytes) {
            Ok(list) => prop_assert!(!list.is_empty()),
            Err(ExtensionError::ExpectedToken { offset, .. })
            | Err(ExtensionError::UnexpectedByte { offset, .. })
            | Err(ExtensionError::BadQuotedString { offset }) => prop_assert!(offset <= bytes.len()),
            Err(_) => {}
        }
    }

    #[test]
    fn both_roles_agree(offers in prop::collection::vec(offer(), 1..4), pol in policy(), msgs in prop::collection::vec(prop::collection::vec(0u8..4, 0..3000), 1..4)) {
        let header = offer_header(&offers);
        let choice = pol.choose_from_fields([header.as_bytes()]).unwrap();
        let Some(accepted) = choice.accepted else {
            // Declined only for a window below the policy's lowest, with that reason.
            prop_assert_eq!(choice.declined.len(), offers.len());
            for (i, e) in &choice.declined {
                let offered = offers[*i].server_max_window_bits.unwrap();
                prop_assert!(offered < pol.lowest_server_window_bits);
                prop_assert_eq!(e, &ExtensionError::ServerWindowUnsupported { offered: offered.get(), lowest: pol.lowest_server_window_bits.get() });
            }
            return Ok(());
        };
        let answer = accepted.answer.to_string();
        let client = validate_answer(&offers, [answer.as_bytes()], AnswerCheck::Strict).unwrap().unwrap();
        let lenient = validate_answer(&offers, [answer.as_bytes()], AnswerCheck::Autobahn).unwrap().unwrap();
        let server = accepted.config;
        // What the server sends, the client inflates.
        prop_assert_eq!(client.server_max_window_bits, server.server_max_window_bits);
        prop_assert_eq!(client.server_no_context_takeover, server.server_no_context_takeover);
        prop_assert_eq!(lenient.server_max_window_bits, server.server_max_window_bits);
        prop_assert_eq!(lenient.server_no_context_takeover, server.server_no_context_takeover);
        // What the client sends, the server inflates.
        for c in [client, lenient] {
            prop_assert!(c.client_max_window_bits <= server.client_max_window_bits);
            prop_assert!(!server.client_no_context_takeover || c.client_no_context_takeover);
        }
        // The answer honours the accepted offer.
        let offer = offers[accepted.offer];
        if let Some(o) = offer.server_max_window_bits {
            prop_assert!(server.server_max_window_bits <= o);
        }
        prop_assert!(!offer.server_no_context_takeover || server.server_no_context_takeover);
        // And the messages flow.
        let (mut c_tx, mut s_rx) = (client.compressor(Role::Client), server.decompressor(Role::Server, 1 << 20));
        let (mut s_tx, mut c_rx) = (server.compressor(Role::Server), client.decompressor(Role::Client, 1 << 20));
        for m in &msgs {
            prop_assert_eq!(&s_rx.decompress(&c_tx.compress(m)).unwrap(), m);
            prop_assert_eq!(&c_rx.decompress(&s_tx.compress(m)).unwrap(), m);
        }
    }
}
