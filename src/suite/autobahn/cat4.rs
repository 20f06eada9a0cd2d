//! Category 4: reserved opcodes.

use super::super::case::{CaseDef, CaseInfo};
use super::super::spec::{op, Action, Expectation, ExpectedClose, FuzzSpec, RawFrame, WriteMode};
use super::{echo, kill};

const RFC: &str = "RFC 6455 §5.2";
const HELLO: &[u8] = b"Hello, world!";

fn alone(id: String, opcode: u8, payload: &'static [u8]) -> CaseDef {
    let what = if payload.is_empty() {
        "empty"
    } else {
        "with a payload"
    };
    CaseDef::fuzz(
        CaseInfo::new(
            id,
            format!("Frame with reserved opcode {opcode} ({what}) fails the connection"),
            RFC,
        ),
        move || {
            FuzzSpec::simple(
                vec![Action::frame(opcode, true, payload)],
                kill(1.0),
                Expectation::ok(vec![], ExpectedClose::peer(&[1002])),
            )
        },
    )
}

fn after_valid(id: String, opcode: u8, payload: &'static [u8], mode: WriteMode) -> CaseDef {
    let how = if mode == WriteMode::Chop(1) {
        " (1-byte chops)"
    } else {
        ""
    };
    CaseDef::fuzz(
        CaseInfo::new(
            id,
            format!(
                "Reserved opcode {opcode} after a valid text message fails the connection{how}"
            ),
            RFC,
        ),
        move || {
            FuzzSpec::simple(
                vec![
                    Action::Frame(RawFrame::new(op::TEXT, true, HELLO), mode),
                    Action::Frame(RawFrame::new(opcode, true, payload), mode),
                    Action::Frame(RawFrame::new(op::PING, true, vec![]), mode),
                ],
                kill(1.0),
                Expectation::ok_or_non_strict(
                    vec![echo(op::TEXT, HELLO)],
                    vec![],
                    ExpectedClose::peer(&[1002]),
                ),
            )
            .note("NON-STRICT when the valid message is not echoed before the server fails")
        },
    )
}

pub(crate) fn defs() -> Vec<CaseDef> {
    let mut v = Vec::new();
    for (sub, base) in [(1u8, 3u8), (2, 11)] {
        v.push(alone(format!("4.{sub}.1"), base, b""));
        v.push(alone(
            format!("4.{sub}.2"),
            base + 1,
            b"reserved opcode payload",
        ));
        v.push(after_valid(
            format!("4.{sub}.3"),
            base + 2,
            b"",
            WriteMode::Plain,
        ));
        v.push(after_valid(
            format!("4.{sub}.4"),
            base + 3,
            HELLO,
            WriteMode::Plain,
        ));
        v.push(after_valid(
            format!("4.{sub}.5"),
            base + 4,
            HELLO,
            WriteMode::Chop(1),
        ));
    }
    v
}
