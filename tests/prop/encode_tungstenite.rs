//! Frames written by our encoder read back identically through tungstenite 0.30.
//!
//! Any opcode tungstenite's header parser accepts (it rejects the reserved ones by design),
//! FIN, any RSV bits, masked or not, payloads of 0 to ~70000 bytes weighted toward the
//! 125/126/65535/65536 length-form boundaries. `FrameHeader::parse` must report the same
//! fields and header length, and the payload unmasked with tungstenite's own masking (via
//! `Frame::format`, which XORs with the header's key) must equal what we encoded.
//! Minimal length encoding is the main case; a share of frames uses a non-minimal form,
//! which tungstenite must also read.

use std::io::Cursor;

use crate::common::{filled, payload_len};
use proptest::prelude::*;
use tungstenite::protocol::frame::coding::OpCode as TOpCode;
use tungstenite::protocol::frame::{Frame, FrameHeader as TFrameHeader};
use wsspec::codec::frame::{encode_frame, FrameHeader, LengthEncoding, OpCode};

fn opcode() -> impl Strategy<Value = OpCode> {
    prop::sample::select(vec![
        OpCode::Continuation,
        OpCode::Text,
        OpCode::Binary,
        OpCode::Close,
        OpCode::Ping,
        OpCode::Pong,
    ])
}

/// A length form able to carry `len`: mostly the minimal one.
fn encoding_for(len: usize, pick: u8) -> LengthEncoding {
    let min = LengthEncoding::minimal_for(len as u64);
    match pick % 8 {
        0 if min == LengthEncoding::Short => LengthEncoding::U16,
        1 if min != LengthEncoding::U64 => LengthEncoding::U64,
        _ => min,
    }
}

#[derive(Debug, Clone)]
struct Case {
    opcode: OpCode,
    fin: bool,
    rsv: u8,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
    enc_pick: u8,
}

fn case() -> impl Strategy<Value = Case> {
    (
        opcode(),
        any::<bool>(),
        0u8..8,
        any::<Option<[u8; 4]>>(),
        payload_len(),
        any::<u8>(),
        any::<u64>(),
    )
        .prop_map(|(opcode, fin, rsv, mask, len, enc_pick, seed)| Case {
            opcode,
            enc_pick,
            fin,
            rsv,
            mask,
            payload: filled(len, seed),
        })
}

fn t_opcode(op: TOpCode) -> u8 {
    u8::from(op)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn tungstenite_reads_what_we_write(c in case()) {
        let len = c.payload.len();
        let header = FrameHeader {
            fin: c.fin,
            rsv: c.rsv,
            opcode: c.opcode,
            mask: c.mask,
            payload_len: len as u64,
            length_encoding: encoding_for(len, c.enc_pick),
        };
        let mut wire = Vec::new();
        encode_frame(&header, &c.payload, &mut wire);
        prop_assert_eq!(wire.len(), header.encoded_len() + len);

        let mut cursor = Cursor::new(&wire[..]);
        let (th, tlen) = TFrameHeader::parse(&mut cursor)
            .map_err(|e| TestCaseError::fail(format!("tungstenite rejected our header: {e}")))?
            .ok_or_else(|| TestCaseError::fail("tungstenite wants more bytes"))?;
        prop_assert_eq!(cursor.position() as usize, header.encoded_len());
        prop_assert_eq!(tlen, len as u64);
        prop_assert_eq!(th.is_final, c.fin);
        prop_assert_eq!((th.rsv1, th.rsv2, th.rsv3), (c.rsv & 4 != 0, c.rsv & 2 != 0, c.rsv & 1 != 0));
        prop_assert_eq!(t_opcode(th.opcode), c.opcode.as_u8());
        prop_assert_eq!(th.mask, c.mask);

        let body = &wire[header.encoded_len()..];
        // tungstenite's Frame::format XORs the payload with the header's mask: applied to
        // the masked bytes it unmasks them with tungstenite's own apply_mask.
        let frame = Frame::from_payload(th.clone(), body.to_vec().into());
        let mut formatted = Vec::new();
        frame.format(&mut formatted).unwrap();
        let theirs_header_len = th.len(tlen);
        prop_assert_eq!(&formatted[theirs_header_len..], &c.payload[..]);
        if header.is_minimal_length() {
            // Minimal encodings are byte-for-byte the same as tungstenite's.
            prop_assert_eq!(&formatted[..theirs_header_len], &wire[..header.encoded_len()]);
        }
    }
}

#[test]
fn boundary_lengths_use_the_same_form_as_tungstenite() {
    for len in [0u64, 125, 126, 65535, 65536, 1 << 32] {
        let ours = FrameHeader::new(OpCode::Binary, true, len, None);
        let mut a = Vec::new();
        ours.encode_to(&mut a);
        let mut b = Vec::new();
        TFrameHeader {
            opcode: TOpCode::from(2u8),
            ..TFrameHeader::default()
        }
        .format(len, &mut b)
        .unwrap();
        assert_eq!(a, b, "length {len}");
    }
}
