//! Category 1: framing of unfragmented text and binary messages of every length class.

use super::super::case::{CaseDef, CaseInfo};
use super::super::spec::{op, Action, Expectation, ExpectedClose, FuzzSpec, Pacing};
use super::{echo, kill};

/// Payload lengths of 1.x.1-1.x.8 (7-bit, 16-bit and 64-bit length forms and their edges).
const SIZES: [usize; 8] = [0, 125, 126, 127, 128, 65535, 65536, 65536];

pub(crate) fn defs() -> Vec<CaseDef> {
    let mut v = Vec::new();
    for (sub, opcode) in [(1, op::TEXT), (2, op::BINARY)] {
        for (i, &n) in SIZES.iter().enumerate() {
            let chop = (i == 7).then_some(997);
            let timer = if i >= 5 { 10.0 } else { 1.0 };
            let kind = if opcode == op::TEXT { "text" } else { "binary" };
            let mut title = format!("Echo of a {kind} message with a {n}-byte payload");
            if let Some(c) = chop {
                title += &format!(", frame written in {c}-byte chops");
            }
            let info = CaseInfo::new(format!("1.{sub}.{}", i + 1), title, "RFC 6455 §5.2, §5.6");
            v.push(CaseDef::fuzz(info, move || {
                let byte = if opcode == op::TEXT { b'*' } else { 0xfe };
                let payload = vec![byte; n];
                FuzzSpec::simple(
                    vec![Action::Message {
                        opcode,
                        payload: payload.clone(),
                        fragment: None,
                        mode: chop.map(Pacing::chop).unwrap_or(Pacing::Plain),
                    }],
                    kill(timer),
                    Expectation::ok(vec![echo(opcode, &payload)], ExpectedClose::normal()),
                )
            }));
        }
    }
    v
}
