//! Category 7: the closing handshake. The kit always sends the first close; a WRONG CODE
//! close verdict fails the case (except the informational 7.1.6 and 7.13.x).

use super::super::case::{CaseDef, CaseInfo};
use super::super::spec::{op, Action, Expectation, ExpectedClose, FuzzSpec, Rules};
use super::{echo, hex, kill, repeat};
use crate::codec::close::close_payload;

const RFC: &str = "RFC 6455 §5.5.1, §7";

fn strict() -> Rules {
    Rules {
        wrong_code_fails: true,
        ..Default::default()
    }
}

fn case(
    id: &str,
    title: &str,
    rfc: &str,
    actions: impl Fn() -> Vec<Action> + Send + Sync + 'static,
    events: Vec<super::super::spec::Obs>,
    close: ExpectedClose,
) -> CaseDef {
    CaseDef::fuzz(CaseInfo::new(id, title, rfc), move || {
        FuzzSpec::simple(
            actions(),
            kill(1.0),
            Expectation::ok(events.clone(), close.clone()).with_rules(strict()),
        )
    })
}

fn informational(
    id: &str,
    title: &str,
    actions: impl Fn() -> Vec<Action> + Send + Sync + 'static,
) -> CaseDef {
    CaseDef::fuzz(CaseInfo::new(id, title, RFC), move || {
        FuzzSpec::simple(
            actions(),
            kill(1.0),
            Expectation::ok(vec![], ExpectedClose::normal()).with_rules(Rules {
                informational: true,
                ..Default::default()
            }),
        )
        .note("behaviour left open by the RFC; always INFORMATIONAL")
    })
}

/// Valid close codes of 7.7.1-7.7.13.
pub(crate) const VALID_CODES: [u16; 13] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
];
/// Invalid close codes of 7.9.1-7.9.9.
pub(crate) const INVALID_CODES: [u16; 9] = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

pub(crate) fn defs() -> Vec<CaseDef> {
    let hello = b"Hello World!";
    let mut v = vec![
        case(
            "7.1.1",
            "Echo of a text message, then a normal close",
            RFC,
            move || vec![Action::message(op::TEXT, hello.to_vec())],
            vec![echo(op::TEXT, hello)],
            ExpectedClose::normal(),
        ),
        case(
            "7.1.2",
            "A second close frame after the first one is ignored",
            RFC,
            || {
                vec![
                    Action::close(1000, b""),
                    Action::frame(op::CLOSE, true, vec![]),
                ]
            },
            vec![],
            ExpectedClose::normal(),
        ),
        case(
            "7.1.3",
            "A ping after the close frame is not answered",
            RFC,
            || {
                vec![
                    Action::close(1000, b""),
                    Action::frame(op::PING, true, vec![]),
                ]
            },
            vec![],
            ExpectedClose::normal(),
        ),
        case(
            "7.1.4",
            "A text message after the close frame is not echoed",
            RFC,
            move || {
                vec![
                    Action::close(1000, b""),
                    Action::frame(op::TEXT, true, hello.to_vec()),
                ]
            },
            vec![],
            ExpectedClose::normal(),
        ),
        case(
            "7.1.5",
            "The rest of a fragmented message after the close frame is not echoed",
            RFC,
            || {
                vec![
                    Action::frame(op::TEXT, false, b"fragment1".to_vec()),
                    Action::close(1000, b""),
                    Action::frame(op::CONT, true, b"fragment2".to_vec()),
                ]
            },
            vec![],
            ExpectedClose::normal(),
        ),
        informational(
            "7.1.6",
            "Close right behind a 256 KiB message, a short message and a ping",
            move || {
                vec![
                    Action::message(op::TEXT, repeat(b"BAsd7&jh23", 262_144)),
                    Action::message(op::TEXT, hello.to_vec()),
                    Action::close(1000, b""),
                    Action::frame(op::PING, true, vec![]),
                ]
            },
        ),
        case(
            "7.3.1",
            "Close with an empty payload",
            RFC,
            || vec![Action::Close(vec![])],
            vec![],
            ExpectedClose::normal(),
        ),
        case(
            "7.3.2",
            "Close with a 1-byte payload fails the connection",
            RFC,
            || vec![Action::Close(b"a".to_vec())],
            vec![],
            ExpectedClose::me(&[1002], false),
        ),
        case(
            "7.3.3",
            "Close with code 1000 and no reason",
            RFC,
            || vec![Action::close(1000, b"")],
            vec![],
            ExpectedClose::normal(),
        ),
        case(
            "7.3.4",
            "Close with code 1000 and a short reason",
            RFC,
            move || vec![Action::close(1000, hello)],
            vec![],
            ExpectedClose::normal(),
        ),
        case(
            "7.3.5",
            "Close with the maximum 125-byte payload",
            RFC,
            || vec![Action::close(1000, &[b'*'; 123])],
            vec![],
            ExpectedClose::normal(),
        ),
        case(
            "7.3.6",
            "Close with a 126-byte payload (over the control frame limit) fails the connection",
            "RFC 6455 §5.5",
            || vec![Action::close(1000, &[b'*'; 124])],
            vec![],
            ExpectedClose::me(&[1002], false),
        ),
        case(
            "7.5.1",
            "Close reason with invalid UTF-8 fails the connection",
            "RFC 6455 §5.5.1, §8.1",
            || {
                vec![Action::Close(close_payload(
                    1000,
                    &hex("cebae1bdb9cf83cebcceb5eda080656469746564"),
                ))]
            },
            vec![],
            ExpectedClose::me(&[1002, 1007], false),
        ),
    ];
    for (i, code) in VALID_CODES.into_iter().enumerate() {
        v.push(case(
            &format!("7.7.{}", i + 1),
            &format!("Close with the valid code {code} is answered"),
            "RFC 6455 §7.4",
            move || vec![Action::close(code, b"")],
            vec![],
            ExpectedClose::me(&[1000, code], true),
        ));
    }
    for (i, code) in INVALID_CODES.into_iter().enumerate() {
        v.push(case(
            &format!("7.9.{}", i + 1),
            &format!("Close with the invalid code {code} fails the connection"),
            "RFC 6455 §7.4",
            move || vec![Action::close(code, b"")],
            vec![],
            ExpectedClose::me(&[1002], false),
        ));
    }
    v.push(informational(
        "7.13.1",
        "Close with code 5000 (outside every range)",
        || vec![Action::close(5000, b"")],
    ));
    v.push(informational("7.13.2", "Close with code 65535", || {
        vec![Action::close(65535, b"")]
    }));
    v
}
