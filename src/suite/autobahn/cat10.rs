//! Category 10: auto-fragmentation, with the fuzzer's self-check of its own frames.

use super::super::case::{CaseDef, CaseInfo};
use super::super::spec::{op, Action, Expectation, ExpectedClose, FuzzSpec, Pacing, Rules};
use super::{echo, kill};

pub(crate) fn defs() -> Vec<CaseDef> {
    vec![CaseDef::fuzz(
        CaseInfo::new(
            "10.1.1",
            "Echo of a 64 KiB text message sent in 1300-byte fragments",
            "RFC 6455 §5.4",
        ),
        || {
            let payload = vec![b'*'; 65536];
            FuzzSpec::simple(
                vec![Action::Message {
                    opcode: op::TEXT,
                    payload: payload.clone(),
                    fragment: Some(1300),
                    mode: Pacing::Plain,
                }],
                kill(10.0),
                Expectation::ok(vec![echo(op::TEXT, &payload)], ExpectedClose::normal()).with_rules(
                    Rules {
                        self_check: Some((1, 50)),
                        ..Default::default()
                    },
                ),
            )
            .note("any fragmentation of the echo is fine; the kit checks it sent 1 text + 50 continuation frames")
        },
    )]
}
