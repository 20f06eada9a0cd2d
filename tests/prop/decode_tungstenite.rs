//! Frames written by tungstenite 0.30 (`Frame::format`) read back identically through our
//! `parse_header` + `apply_mask`.
//!
//! tungstenite's writer does not validate, so it can produce frames RFC 6455 forbids:
//! reserved opcodes, fragmented control frames, control payloads over 125 bytes and RSV bits.
//! Those must be rejected by our parser with the matching typed error; everything else must
//! be read with the same fields, the same header length and the same payload.

use crate::common::{filled, payload_len};
use proptest::prelude::*;
use tungstenite::protocol::frame::coding::OpCode as TOpCode;
use tungstenite::protocol::frame::{Frame, FrameHeader as TFrameHeader};
use wsspec::codec::frame::{parse_header, HeaderRules, OpCode, Status};
use wsspec::codec::mask::apply_mask;
use wsspec::codec::ProtocolError;

#[derive(Debug, Clone)]
struct Case {
    opcode: u8,
    fin: bool,
    rsv: u8,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        // Mostly the six defined opcodes, sometimes a reserved one.
        prop_oneof![
            6 => prop::sample::select(vec![0u8, 1, 2, 8, 9, 10]),
            1 => 0u8..16,
        ],
        any::<bool>(),
        prop_oneof![4 => Just(0u8), 1 => 0u8..8],
        any::<Option<[u8; 4]>>(),
        payload_len(),
        any::<u64>(),
    )
        .prop_map(|(opcode, fin, rsv, mask, len, seed)| Case {
            opcode,
            fin,
            rsv,
            mask,
            payload: filled(len, seed),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn we_read_what_tungstenite_writes(c in case()) {
        let th = TFrameHeader {
            is_final: c.fin,
            rsv1: c.rsv & 4 != 0,
            rsv2: c.rsv & 2 != 0,
            rsv3: c.rsv & 1 != 0,
            opcode: TOpCode::from(c.opcode),
            mask: c.mask,
        };
        let header_len = th.len(c.payload.len() as u64);
        let mut wire = Vec::new();
        Frame::from_payload(th, c.payload.clone().into())
            .format(&mut wire)
            .unwrap();

        let op = OpCode::from_u8(c.opcode);
        let len = c.payload.len() as u64;
        // The violations tungstenite's writer lets through, in our parser's check order.
        let expected_err = if op.is_reserved() {
            Some(ProtocolError::ReservedOpcode(c.opcode))
        } else if op.is_control() && !c.fin {
            Some(ProtocolError::FragmentedControlFrame)
        } else if op.is_control() && len > 125 {
            Some(ProtocolError::ControlFrameTooLong(len))
        } else {
            None
        };
        // RSV bits are allowed here (as if an extension had been negotiated) so that they
        // are compared rather than rejected; the default rules must reject them.
        let rules = HeaderRules { role: None, allowed_rsv: 7 };
        let parsed = parse_header(&wire, rules);
        if let Some(e) = expected_err {
            prop_assert_eq!(parsed, Err(e));
            return Ok(());
        }
        let Ok(Status::Complete(h, n)) = parsed else {
            return Err(TestCaseError::fail(format!("parse gave {parsed:?}")));
        };
        prop_assert_eq!(n, header_len);
        prop_assert_eq!(h.fin, c.fin);
        prop_assert_eq!(h.rsv, c.rsv);
        prop_assert_eq!(h.opcode, op);
        prop_assert_eq!(h.mask, c.mask);
        prop_assert_eq!(h.payload_len, len);
        prop_assert!(h.is_minimal_length(), "tungstenite always writes the minimal form");
        let mut payload = wire[n..].to_vec();
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key, 0);
        }
        prop_assert_eq!(payload, c.payload);

        // Role and RSV rules on the same bytes.
        let strict = parse_header(&wire, HeaderRules::any_role());
        if c.rsv != 0 {
            prop_assert_eq!(strict, Err(ProtocolError::ReservedBitsSet { rsv: c.rsv }));
        } else {
            prop_assert_eq!(strict, Ok(Status::Complete(h, n)));
            let server = parse_header(&wire, HeaderRules::server());
            let client = parse_header(&wire, HeaderRules::client());
            if c.mask.is_some() {
                prop_assert_eq!(server, Ok(Status::Complete(h, n)));
                prop_assert_eq!(client, Err(ProtocolError::MaskedServerFrame));
            } else {
                prop_assert_eq!(server, Err(ProtocolError::UnmaskedClientFrame));
                prop_assert_eq!(client, Ok(Status::Complete(h, n)));
            }
        }
    }
}
