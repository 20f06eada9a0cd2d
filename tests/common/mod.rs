//! What the integration tests share, in one module (`mod common;` in a test file):
//! [`pair`], the in-memory client/server pair on paused time, for tests that need no
//! socket; [`wire`], scripted servers on 127.0.0.1 for those that do; [`suite`], suite runs
//! and their tables of expected verdicts; [`reports`], hand-built reports; [`scenario`],
//! scenario runs against small scripted servers, table-driven from `tests/scenarios/`;
//! [`broker`] and [`node`], the external programs some tests need; [`h2`], HTTP/2 runs;
//! [`deflate`], permessage-deflate message generators; and, here, the
//! generators of the property tests: frame sequences (valid and deliberately broken) and
//! the Autobahn 6.x UTF-8 payloads.

#![allow(dead_code)]

pub mod broker;
pub mod deflate;
pub mod h2;
pub mod node;
pub mod pair;
pub mod reports;
pub mod scenario;
pub mod suite;
pub mod wire;

use proptest::prelude::*;
use wsspec::codec::frame::{encode_frame, FrameHeader, LengthEncoding, OpCode};

/// Autobahn 6.x text payloads (hex, from the case catalogue in
/// `shared/reference/autobahn-cases.md`) with their validity as strict RFC 3629 UTF-8.
pub const AUTOBAHN_6X: &[(&str, bool)] = &[
    ("", true),
    ("48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121", true), // 6.2.x
    ("cebae1bdb9cf83cebcceb5eda080656469746564", false),                 // 6.3.x
    ("cebae1bdb9cf83cebcceb5f4908080656469746564", false),               // 6.4.x
    ("68656c6c6f24776f726c64", true),
    ("68656c6c6fc2a2776f726c64", true),
    ("68656c6c6fe282ac776f726c64", true),
    ("68656c6c6ff0a4ada2776f726c64", true),
    ("cebae1bdb9cf83cebcceb5", true),
    ("ce", false),
    ("ceba", true),
    ("cebae1", false),
    ("cebae1bd", false),
    ("cebae1bdb9", true),
    ("cebae1bdb9cf", false),
    ("cebae1bdb9cf83", true),
    ("cebae1bdb9cf83ce", false),
    ("cebae1bdb9cf83cebc", true),
    ("cebae1bdb9cf83cebcce", false),
    ("00", true),
    ("c280", true),
    ("e0a080", true),
    ("f0908080", true),
    ("f888808080", false),
    ("fc8480808080", false),
    ("7f", true),
    ("dfbf", true),
    ("efbfbf", true),
    ("f48fbfbf", true),
    ("f7bfbfbf", false),
    ("fbbfbfbfbf", false),
    ("fdbfbfbfbfbf", false),
    ("ed9fbf", true),
    ("ee8080", true),
    ("efbfbd", true),
    ("f4908080", false),
    ("80", false),
    ("bf", false),
    ("80bf", false),
    ("80bf80", false),
    ("80bf80bf", false),
    ("80bf80bf80", false),
    ("80bf80bf80bf", false),
    ("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbe", false),
    ("c020c120c220c320c420c520c620c720c820c920ca20cb20cc20cd20ce20cf20d020d120d220d320d420d520d620d720d820d920da20db20dc20dd20de20", false),
    ("e020e120e220e320e420e520e620e720e820e920ea20eb20ec20ed20ee20", false),
    ("f020f120f220f320f420f520f620", false),
    ("f820f920fa20", false),
    ("fc20", false),
    ("c0", false),
    ("e080", false),
    ("f08080", false),
    ("f8808080", false),
    ("fc80808080", false),
    ("df", false),
    ("efbf", false),
    ("f7bfbf", false),
    ("fbbfbfbf", false),
    ("fdbfbfbfbf", false),
    ("c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf", false),
    ("fe", false),
    ("ff", false),
    ("fefeffff", false),
    ("c0af", false),
    ("e080af", false),
    ("f08080af", false),
    ("f8808080af", false),
    ("fc80808080af", false),
    ("c1bf", false),
    ("e09fbf", false),
    ("f08fbfbf", false),
    ("f887bfbfbf", false),
    ("fc83bfbfbfbf", false),
    ("c080", false),
    ("e08080", false),
    ("f0808080", false),
    ("f880808080", false),
    ("fc8080808080", false),
    ("eda080", false),
    ("edadbf", false),
    ("edae80", false),
    ("edafbf", false),
    ("edb080", false),
    ("edbe80", false),
    ("edbfbf", false),
    ("eda080edb080", false),
    ("eda080edbfbf", false),
    ("edadbfedb080", false),
    ("edadbfedbfbf", false),
    ("edae80edb080", false),
    ("edae80edbfbf", false),
    ("edafbfedb080", false),
    ("edafbfedbfbf", false),
    ("efbfbe", true),
    ("f09fbfbe", true),
    ("f09fbfbf", true),
    ("f0afbfbe", true),
    ("f0bfbfbf", true),
    ("f18fbfbe", true),
    ("f2afbfbf", true),
    ("f3bfbfbe", true),
    ("f48fbfbe", true),
    ("efbfb9", true),
    ("efbfba", true),
    ("efbfbb", true),
    ("efbfbc", true),
];

/// Payload lengths around every boundary of the §5.2 length forms, plus anything below 70000.
pub fn payload_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => prop::sample::select(vec![
            0usize, 1, 124, 125, 126, 127, 128, 65534, 65535, 65536, 65537
        ]),
        3 => 0usize..300,
        2 => 0usize..70_000,
    ]
}

/// `len` bytes derived from `seed`: a cheap deterministic fill, since random content does
/// not matter byte by byte, the masking and copying do.
pub fn filled(len: usize, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (seed.rotate_left((i % 64) as u32) as u8) ^ (i as u8))
        .collect()
}

/// Decodes lowercase hex.
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// One frame as it will be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSpec {
    /// 4-bit opcode, reserved values included.
    pub opcode: u8,
    /// FIN bit.
    pub fin: bool,
    /// RSV bits (RSV1 = 4).
    pub rsv: u8,
    /// Masking key.
    pub mask: Option<[u8; 4]>,
    /// Payload bytes sent (unmasked form).
    pub payload: Vec<u8>,
    /// A length to announce instead of `payload.len()` (for oversized or top-bit frames,
    /// after which nothing else is readable), with the form to write it in.
    pub announce: Option<(u64, LengthEncoding)>,
}

impl FrameSpec {
    /// A conforming frame.
    pub fn new(opcode: u8, fin: bool, payload: Vec<u8>, mask: Option<[u8; 4]>) -> Self {
        FrameSpec {
            opcode,
            fin,
            rsv: 0,
            mask,
            payload,
            announce: None,
        }
    }

    /// Appends the frame's bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut h = FrameHeader::new(
            OpCode::from_u8(self.opcode),
            self.fin,
            self.payload.len() as u64,
            self.mask,
        );
        h.rsv = self.rsv;
        if let Some((len, enc)) = self.announce {
            h.payload_len = len;
            h.length_encoding = enc;
        }
        encode_frame(&h, &self.payload, out);
    }
}

/// Encodes a sequence of frames; returns the bytes and where each frame starts.
pub fn encode_all(frames: &[FrameSpec]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut starts = Vec::with_capacity(frames.len());
    for f in frames {
        starts.push(out.len());
        f.encode(&mut out);
    }
    (out, starts)
}

/// Text payloads: valid strings, Autobahn 6.x payloads (valid and not), random bytes.
pub fn text_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => any::<String>().prop_map(String::into_bytes),
        3 => prop::sample::select(AUTOBAHN_6X).prop_map(|(h, _)| hex(h)),
        1 => proptest::collection::vec(any::<u8>(), 0..40),
        1 => "[a-z ]{0,300}".prop_map(String::into_bytes),
    ]
}

/// Close payloads: none, valid and invalid codes, valid and invalid reasons, a lone byte.
pub fn close_payload() -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![
        4 => prop::sample::select(vec![
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 3000, 3999,
            4000, 4999,
        ]),
        3 => prop::sample::select(vec![
            0u16, 1, 999, 1004, 1005, 1006, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ]),
        1 => any::<u16>(),
    ];
    let reason = prop_oneof![
        4 => "[a-zA-Z ]{0,40}".prop_map(String::into_bytes),
        1 => prop::sample::select(AUTOBAHN_6X).prop_map(|(h, _)| {
            let mut v = hex(h);
            v.truncate(100);
            v
        }),
    ];
    prop_oneof![
        1 => Just(Vec::new()),
        1 => any::<u8>().prop_map(|b| vec![b]),
        8 => (code, reason).prop_map(|(c, r)| {
            let mut v = c.to_be_bytes().to_vec();
            v.extend_from_slice(&r);
            v
        }),
    ]
}

/// A unit of a generated stream.
#[derive(Debug, Clone)]
pub enum Item {
    /// A data message split into fragments, with control frames between them; `complete`
    /// false leaves the message open (the last fragment is not sent).
    Message {
        /// Text (0x1) or binary (0x2).
        text: bool,
        /// Whole payload.
        payload: Vec<u8>,
        /// Cut points (positions into the payload).
        cuts: Vec<usize>,
        /// Control frames inserted after fragment `i` (`i` taken modulo the count).
        controls: Vec<(usize, FrameSpec)>,
        /// Whether the final fragment is sent.
        complete: bool,
    },
    /// A single frame as is.
    Frame(FrameSpec),
    /// A valid data frame with the wrong masking for the stream's direction (§5.1).
    WrongMask(FrameSpec),
}

fn control_frame() -> impl Strategy<Value = FrameSpec> {
    prop_oneof![
        2 => proptest::collection::vec(any::<u8>(), 0..=125).prop_map(|p| FrameSpec::new(0x9, true, p, None)),
        2 => proptest::collection::vec(any::<u8>(), 0..=125).prop_map(|p| FrameSpec::new(0xa, true, p, None)),
        1 => close_payload().prop_map(|p| FrameSpec::new(0x8, true, p, None)),
    ]
}

/// A frame that breaks exactly one frame-level rule.
fn broken_frame() -> impl Strategy<Value = FrameSpec> {
    let data_op = prop::sample::select(vec![0x0u8, 0x1, 0x2]);
    let small = proptest::collection::vec(any::<u8>(), 0..20);
    prop_oneof![
        // §5.2 RSV bits without an extension.
        (data_op.clone(), 1u8..8, small.clone()).prop_map(|(op, rsv, p)| FrameSpec {
            rsv,
            ..FrameSpec::new(op, true, p, None)
        }),
        // §5.2 reserved opcode.
        (
            prop::sample::select(vec![3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]),
            small.clone()
        )
            .prop_map(|(op, p)| FrameSpec::new(op, true, p, None)),
        // §5.5 fragmented control frame.
        (prop::sample::select(vec![0x8u8, 0x9, 0xa]), small.clone())
            .prop_map(|(op, p)| FrameSpec::new(op, false, p, None)),
        // §5.5 control payload over 125.
        (prop::sample::select(vec![0x9u8, 0xa]), 126usize..200).prop_map(|(op, n)| FrameSpec::new(
            op,
            true,
            vec![0x61; n],
            None
        )),
        // §5.2 64-bit length with the top bit set (data opcodes only; see the allow-list).
        (data_op.clone(), any::<u64>()).prop_map(|(op, l)| FrameSpec {
            announce: Some((l | 1 << 63, LengthEncoding::U64)),
            ..FrameSpec::new(op, true, Vec::new(), None)
        }),
        // A length far above any frame limit.
        (data_op, (1u64 << 27)..(1u64 << 40)).prop_map(|(op, l)| FrameSpec {
            announce: Some((l, LengthEncoding::U64)),
            ..FrameSpec::new(op, true, Vec::new(), None)
        }),
    ]
}

/// Sorted positions into a payload of `len` bytes, one per index (repeats allowed).
fn cut_points(idx: &[prop::sample::Index], len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = idx.iter().map(|i| i.index(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

/// A stream item: mostly messages and control frames, sometimes a broken or stray frame.
pub fn item() -> impl Strategy<Value = Item> {
    let message = (
        any::<bool>(),
        text_payload(),
        proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
        proptest::collection::vec((0usize..6, control_frame()), 0..3),
        prop_oneof![6 => Just(true), 1 => Just(false)],
    )
        .prop_map(|(text, payload, idx, controls, complete)| {
            let cuts = cut_points(&idx, payload.len());
            Item::Message {
                text,
                payload,
                cuts,
                controls,
                complete,
            }
        });
    let binary_message = (
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
    )
        .prop_map(|(payload, idx)| {
            let cuts = cut_points(&idx, payload.len());
            Item::Message {
                text: false,
                payload,
                cuts,
                controls: Vec::new(),
                complete: true,
            }
        });
    prop_oneof![
        8 => message,
        2 => binary_message,
        3 => control_frame().prop_map(Item::Frame),
        1 => proptest::collection::vec(any::<u8>(), 0..10)
            .prop_map(|p| Item::Frame(FrameSpec::new(0x0, true, p, None))),
        1 => broken_frame().prop_map(Item::Frame),
        1 => (prop::sample::select(vec![0x1u8, 0x2]), "[a-z]{0,20}")
            .prop_map(|(op, p)| Item::WrongMask(FrameSpec::new(op, true, p.into_bytes(), None))),
    ]
}

/// Flattens items to frames, masking each with a key derived from `mask_seed` when `masked`.
pub fn frames_of(items: &[Item], masked: bool, mask_seed: u32) -> Vec<FrameSpec> {
    let mut out = Vec::new();
    let mut n = 0u32;
    let mut key = || {
        n = n.wrapping_add(1);
        masked.then(|| (mask_seed ^ n.wrapping_mul(0x9e37_79b9)).to_be_bytes())
    };
    for item in items {
        match item {
            Item::Frame(f) => {
                let mut f = f.clone();
                f.mask = key();
                out.push(f);
            }
            Item::WrongMask(f) => {
                let mut f = f.clone();
                f.mask = (!masked).then_some([0x37, 0xfa, 0x21, 0x3d]);
                out.push(f);
            }
            Item::Message {
                text,
                payload,
                cuts,
                controls,
                complete,
            } => {
                let mut bounds = vec![0];
                bounds.extend(cuts.iter().copied());
                bounds.push(payload.len());
                let pieces = bounds.len() - 1;
                let sent = if *complete {
                    pieces
                } else {
                    pieces.saturating_sub(1).max(1)
                };
                for i in 0..sent {
                    let op = if i == 0 {
                        if *text {
                            0x1
                        } else {
                            0x2
                        }
                    } else {
                        0x0
                    };
                    let fin = *complete && i + 1 == pieces;
                    let body = payload[bounds[i]..bounds[i + 1]].to_vec();
                    out.push(FrameSpec::new(op, fin, body, key()));
                    for (at, c) in controls {
                        if at % pieces == i && i + 1 < sent {
                            let mut c = c.clone();
                            c.mask = key();
                            out.push(c);
                        }
                    }
                }
            }
        }
    }
    out
}

/// A stream of frames for a given role.
pub fn frame_stream(masked: bool) -> impl Strategy<Value = Vec<FrameSpec>> {
    (proptest::collection::vec(item(), 0..8), any::<u32>())
        .prop_map(move |(items, seed)| frames_of(&items, masked, seed))
}
