//! Category 2: pings and pongs.

use super::super::case::{CaseDef, CaseInfo};
use super::super::spec::{op, Action, Expectation, ExpectedClose, FuzzSpec, Obs, Pacing};
use super::{close_after, kill};

const RFC: &str = "RFC 6455 §5.5.2, §5.5.3";
const PING8: [u8; 8] = [0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff];

fn ping_case(id: &str, title: &str, payload: Vec<u8>, mode: Pacing, timer: f64) -> CaseDef {
    CaseDef::fuzz(CaseInfo::new(id, title, RFC), move || {
        FuzzSpec::simple(
            vec![Action::frame_mode(op::PING, true, payload.clone(), mode)],
            close_after(timer),
            Expectation::ok(vec![Obs::pong(payload.clone())], ExpectedClose::normal()),
        )
    })
}

pub(crate) fn defs() -> Vec<CaseDef> {
    let p = Pacing::Plain;
    let mut v =
        vec![
        ping_case("2.1", "Ping with an empty payload is answered by a pong", vec![], p, 1.0),
        ping_case(
            "2.2",
            "Ping with a short text payload is answered by a pong with the same payload",
            b"Hello, world!".to_vec(),
            p,
            1.0,
        ),
        ping_case(
            "2.3",
            "Ping with a short binary payload is answered by a pong with the same payload",
            PING8.to_vec(),
            p,
            1.0,
        ),
        ping_case(
            "2.4",
            "Ping with a 125-byte payload (the control frame maximum) is answered",
            vec![0xfe; 125],
            p,
            1.0,
        ),
        CaseDef::fuzz(
            CaseInfo::new(
                "2.5",
                "Ping with a 126-byte payload (over the control frame limit) fails the connection",
                "RFC 6455 §5.5",
            ),
            || {
                FuzzSpec::simple(
                    vec![Action::frame(op::PING, true, vec![0xfe; 126])],
                    kill(1.0),
                    Expectation::ok(vec![], ExpectedClose::peer(&[1002])),
                )
            },
        ),
        ping_case(
            "2.6",
            "Ping with a 125-byte payload written in 1-byte chops is answered",
            vec![0xfe; 125],
            Pacing::chop(1),
            2.0,
        ),
    ];
    v.push(CaseDef::fuzz(
        CaseInfo::new(
            "2.7",
            "Unsolicited empty pong is ignored, then a normal close",
            RFC,
        ),
        || {
            FuzzSpec::simple(
                vec![
                    Action::frame(op::PONG, true, vec![]),
                    Action::close(1000, b""),
                ],
                close_after(1.0),
                Expectation::ok(vec![], ExpectedClose::normal()),
            )
        },
    ));
    v.push(CaseDef::fuzz(
        CaseInfo::new(
            "2.8",
            "Unsolicited pong with a payload is ignored, then a normal close",
            RFC,
        ),
        || {
            FuzzSpec::simple(
                vec![
                    Action::frame(op::PONG, true, b"unsolicited pong payload".to_vec()),
                    Action::close(1000, b""),
                ],
                close_after(1.0),
                Expectation::ok(vec![], ExpectedClose::normal()),
            )
        },
    ));
    v.push(CaseDef::fuzz(
        CaseInfo::new(
            "2.9",
            "Unsolicited pong, then a ping: only the ping is answered",
            RFC,
        ),
        || {
            FuzzSpec::simple(
                vec![
                    Action::frame(op::PONG, true, b"unsolicited pong payload".to_vec()),
                    Action::frame(op::PING, true, b"ping payload".to_vec()),
                ],
                close_after(1.0),
                Expectation::ok(vec![Obs::pong("ping payload")], ExpectedClose::normal()),
            )
        },
    ));
    for (id, mode, how) in [
        ("2.10", Pacing::Plain, "back to back"),
        ("2.11", Pacing::chop(1), "each in 1-byte chops"),
    ] {
        v.push(CaseDef::fuzz(
            CaseInfo::new(
                id,
                format!("Ten pings sent {how} are answered by ten pongs in order"),
                RFC,
            ),
            move || {
                let payloads: Vec<Vec<u8>> =
                    (0..10).map(|i| format!("payload-{i}").into_bytes()).collect();
                FuzzSpec::simple(
                    payloads
                        .iter()
                        .map(|p| Action::frame_mode(op::PING, true, p.clone(), mode))
                        .collect(),
                    close_after(3.0),
                    Expectation::ok(
                        payloads.iter().map(|p| Obs::pong(p.clone())).collect(),
                        ExpectedClose::normal(),
                    ),
                )
                .note("all ten pongs are required, as in Autobahn (RFC 6455 §5.5.3 would allow answering only the latest ping)")
            },
        ));
    }
    v
}
