//! Property tests: every SIMD kernel and fast path against its scalar reference.
//!
//! * masking kernels (each ISA this CPU runs): every length 0..=300 at every key offset
//!   and several buffer misalignments, plus random long buffers, against
//!   `apply_mask_scalar`; the ASCII flag against `<[u8]>::is_ascii` of the result;
//! * `Utf8Validator::feed` (simdutf8 fast path) against an oracle built from std's
//!   `Utf8Error`, one-shot and split at random points;
//! * `fast::FrameIter` against `parse_header` + `apply_mask_scalar`;
//! * `fast::MessageReader` against `StreamDecoder` on random frame sequences, valid and not.

use proptest::prelude::*;
use wsspec::codec::fast::{FastEvent, MessageReader};
use wsspec::codec::frame::{encode_frame, frame};
use wsspec::codec::mask::{apply_mask, apply_mask_ascii, apply_mask_scalar};
use wsspec::codec::simd::{
    apply_mask_ascii_with, apply_mask_with, available_isas, best_isa, cpu_kind, dispatch,
    force_dispatch, force_isa, preferred_order, unmask_move_validate_with, utf8_isa, utf8_valid,
    utf8_valid_with, CpuKind, Dispatch, Isa,
};
use wsspec::codec::utf8::{Utf8Error, Utf8Validator};
use wsspec::codec::{
    FrameError, FrameHeader, HeaderRules, Limits, OpCode, ProtocolError, StreamDecoder,
};
// The fail-fast UTF-8 answer derived from std, the one the `utf8_pieces` fuzz target uses,
// and the readers' checkers of the `fast_vs_reference` fuzz target.
use wsspec_testkit::fast::{check_frame_iter, check_message_reader, utf8_oracle as oracle};

/// Small deterministic generator for the exhaustive loops.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn check_mask_case(isa: Isa, data: &[u8], misalign: usize, key: [u8; 4], off: usize) {
    // Copy into a larger allocation at `misalign` so kernels see every alignment.
    let mut store = vec![0xAAu8; data.len() + 80];
    let buf = &mut store[misalign..misalign + data.len()];
    buf.copy_from_slice(data);
    let mut want = data.to_vec();
    apply_mask_scalar(&mut want, key, off);

    assert!(apply_mask_with(isa, buf, key, off));
    assert_eq!(
        buf,
        &want[..],
        "{isa:?} len {} off {off} misalign {misalign}",
        data.len()
    );
    buf.copy_from_slice(data);
    let ascii = apply_mask_ascii_with(isa, buf, key, off).unwrap();
    assert_eq!(buf, &want[..], "{isa:?} ascii variant, len {}", data.len());
    assert_eq!(
        ascii,
        want.is_ascii(),
        "{isa:?} ascii flag, len {}",
        data.len()
    );
    // Bytes around the slice are untouched (masked tails must not spill).
    assert!(store[..misalign].iter().all(|&b| b == 0xAA));
    assert!(store[misalign + data.len()..].iter().all(|&b| b == 0xAA));
}

/// Plaintext that is ASCII unless `high` places one byte >= 0x80, masked with `key`.
fn masked_input(
    rng: &mut Rng,
    len: usize,
    key: [u8; 4],
    off: usize,
    high: Option<usize>,
) -> Vec<u8> {
    let mut plain: Vec<u8> = (0..len).map(|_| (rng.next() % 0x80) as u8).collect();
    if let Some(h) = high {
        if len > 0 {
            plain[h % len] |= 0x80;
        }
    }
    apply_mask_scalar(&mut plain, key, off);
    plain
}

#[test]
fn every_kernel_every_length_0_to_300() {
    let isas = available_isas();
    assert!(isas.contains(&Isa::Portable));
    assert!(isas.contains(&best_isa()));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for &isa in &isas {
        for len in 0..=300usize {
            for off in 0..4 {
                let key = (rng.next() as u32).to_ne_bytes();
                let misalign = (rng.next() % 64) as usize;
                let random: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                check_mask_case(isa, &random, misalign, key, off);
                let ascii = masked_input(&mut rng, len, key, off, None);
                check_mask_case(isa, &ascii, misalign, key, off);
                let at = rng.next() as usize;
                let one_high = masked_input(&mut rng, len, key, off, Some(at));
                check_mask_case(isa, &one_high, misalign, key, off);
            }
        }
    }
}

#[test]
fn dispatching_entry_points_match_scalar() {
    let mut rng = Rng(7);
    for len in (0..=300).chain([511, 512, 513, 1000, 4096, 65_537]) {
        for off in 0..8 {
            let key = (rng.next() as u32).to_ne_bytes();
            let data = masked_input(
                &mut rng,
                len,
                key,
                off,
                if off % 2 == 0 { None } else { Some(len / 2) },
            );
            let mut want = data.clone();
            apply_mask_scalar(&mut want, key, off);
            let mut a = data.clone();
            apply_mask(&mut a, key, off);
            assert_eq!(a, want, "apply_mask len {len} off {off}");
            let mut b = data.clone();
            let ascii = apply_mask_ascii(&mut b, key, off);
            assert_eq!(b, want);
            assert_eq!(ascii, want.is_ascii(), "len {len} off {off}");
        }
    }
}

/// Around the lengths where a kernel changes strategy (from one vector width on, every
/// x86 kernel overlaps unaligned edge vectors around an aligned middle, whose split
/// depends on the misalignment; the middle runs four vectors per step), at every
/// misalignment.
#[test]
fn every_kernel_at_the_alignment_thresholds() {
    let mut rng = Rng(0x51ed_270b_27d4_eb2f);
    for isa in available_isas() {
        for len in [
            15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 575,
            4095, 4096, 4097, 4159, 4160,
        ] {
            for misalign in 0..64 {
                let key = (rng.next() as u32).to_ne_bytes();
                let off = (rng.next() % 4) as usize;
                let at = rng.next() as usize;
                let data = masked_input(&mut rng, len, key, off, Some(at));
                check_mask_case(isa, &data, misalign, key, off);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn kernels_on_long_random_buffers(
        data in proptest::collection::vec(any::<u8>(), 0..5000),
        key in any::<[u8; 4]>(),
        off in 0usize..64,
        misalign in 0usize..64,
    ) {
        for isa in available_isas() {
            check_mask_case(isa, &data, misalign, key, off);
        }
    }
}

// ---------------------------------------------------------------------------------------
// UTF-8
// ---------------------------------------------------------------------------------------

/// Every UTF-8 kernel, every length 0..=300: valid text of all widths, the same text cut
/// at the end (truncated sequences), and single-byte corruptions at every kind of spot.
#[test]
fn utf8_kernels_every_length_0_to_300() {
    const WIDE: [char; 7] = ['a', 'é', 'ж', '€', '中', '😀', '\u{10ffff}'];
    let mut rng = Rng(0xfeed);
    let specials = [
        0x80u8, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x90,
        0x8f, 0x00, 0x7f,
    ];
    for len in 0..=300usize {
        for variant in 0..6 {
            let mut s = String::new();
            while s.len() < len {
                let c = if variant == 0 {
                    'x'
                } else {
                    WIDE[(rng.next() % 7) as usize]
                };
                if s.len() + c.len_utf8() > len {
                    s.push('y');
                } else {
                    s.push(c);
                }
            }
            let mut bytes = s.into_bytes();
            match variant {
                2 if len > 0 => {
                    bytes.pop();
                }
                3..=5 if len > 0 => {
                    let at = (rng.next() as usize) % len;
                    bytes[at] = specials[(rng.next() as usize) % specials.len()];
                }
                _ => {}
            }
            let want = std::str::from_utf8(&bytes).is_ok();
            assert_eq!(
                utf8_valid(&bytes),
                want,
                "best kernel, len {len}: {bytes:02x?}"
            );
            for isa in available_isas() {
                assert_eq!(
                    utf8_valid_with(isa, &bytes),
                    Some(want),
                    "{isa:?} len {len}: {bytes:02x?}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn utf8_kernels_match_std(bytes in text_strategy(), start in 0usize..70) {
        let bytes = &bytes[start.min(bytes.len())..];
        let want = std::str::from_utf8(bytes).is_ok();
        for isa in available_isas() {
            prop_assert_eq!(utf8_valid_with(isa, bytes), Some(want), "{:?}", isa);
        }
    }
}

/// True when `b` is valid UTF-8 or a prefix of some valid UTF-8 string.
fn valid_prefix(b: &[u8]) -> bool {
    match std::str::from_utf8(b) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// The fused unmask + move + validate kernel, fragment by fragment, against scalar
/// unmasking, `copy_within` and std's verdict on the text so far.
fn check_fused(text: &[u8], cuts: &[usize], gap: usize, keys: &[[u8; 4]]) {
    if !Isa::Avx512.is_available() {
        assert_eq!(
            unmask_move_validate_with(Isa::Avx512, &mut [0u8; 4], 0, 0, 4, 0, [0; 4], true),
            None
        );
        return;
    }
    // Lay the fragments out masked with `gap` bytes of junk before each (the headers).
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied().filter(|&c| c > 0 && c < text.len()));
    bounds.sort_unstable();
    bounds.dedup();
    bounds.push(text.len());
    let mut buf = Vec::new();
    let mut srcs = Vec::new();
    for (n, w) in bounds.windows(2).enumerate() {
        buf.extend(std::iter::repeat_n(0xeeu8, gap));
        srcs.push(buf.len());
        let mut frag = text[w[0]..w[1]].to_vec();
        apply_mask_scalar(&mut frag, keys[n % keys.len()], 0);
        buf.extend(frag);
    }
    let msg_start = srcs[0];
    let mut dst = msg_start;
    let nfrag = srcs.len();
    for (n, w) in bounds.windows(2).enumerate() {
        let len = w[1] - w[0];
        let last = n + 1 == nfrag;
        let ok = unmask_move_validate_with(
            Isa::Avx512,
            &mut buf,
            srcs[n],
            dst,
            len,
            msg_start,
            keys[n % keys.len()],
            last,
        )
        .expect("AVX-512 available");
        dst += len;
        assert_eq!(
            &buf[msg_start..dst],
            &text[..w[1]],
            "moved bytes, fragment {n}"
        );
        let so_far = &text[..w[1]];
        let want = if last {
            std::str::from_utf8(so_far).is_ok()
        } else {
            valid_prefix(so_far)
        };
        // The documented split of work: in a non-final fragment the caller checks the
        // open tail (from the last lead byte among the final 4) as a prefix.
        let tail_ok = last || {
            let from = so_far.len().saturating_sub(4);
            match so_far[from..].iter().rposition(|&b| b & 0xc0 != 0x80) {
                Some(j) => valid_prefix(&so_far[from + j..]),
                None => true,
            }
        };
        let ok = ok && tail_ok;
        assert_eq!(
            ok,
            want,
            "verdict after fragment {n} of {bounds:?}: {:02x?}",
            &text[..w[1]]
        );
        if !ok {
            break;
        }
    }
}

#[test]
fn fused_kernel_every_length_0_to_300() {
    const WIDE: [char; 6] = ['a', 'é', '€', '😀', '中', 'ж'];
    let mut rng = Rng(0xabc);
    let specials = [
        0x80u8, 0xc0, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xa0, 0x90, 0x8f,
    ];
    for len in 0..=300usize {
        for variant in 0..4 {
            let mut s = String::new();
            while s.len() < len {
                let c = WIDE[(rng.next() % 6) as usize];
                if s.len() + c.len_utf8() > len {
                    s.push('z')
                } else {
                    s.push(c)
                }
            }
            let mut text = s.into_bytes();
            if variant == 2 && len > 0 {
                text.pop();
            }
            if variant == 3 && len > 0 {
                let at = rng.next() as usize % len;
                text[at] = specials[rng.next() as usize % specials.len()];
            }
            let cuts: Vec<usize> = (0..(rng.next() % 5))
                .map(|_| rng.next() as usize % (len + 1))
                .collect();
            let keys = [
                (rng.next() as u32).to_ne_bytes(),
                (rng.next() as u32).to_ne_bytes(),
            ];
            check_fused(&text, &cuts, 2 + (rng.next() % 13) as usize, &keys);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn fused_kernel_on_random_text(
        text in text_strategy(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        gap in 0usize..14,
        keys in proptest::collection::vec(any::<[u8; 4]>(), 1..4),
    ) {
        let cuts: Vec<usize> = cuts.iter().map(|c| c % (text.len() + 1)).collect();
        check_fused(&text, &cuts, gap, &keys);
    }
}

fn feed_pieces(bytes: &[u8], cuts: &[usize]) -> Result<(), Utf8Error> {
    let mut v = Utf8Validator::new();
    let mut prev = 0;
    for &c in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let c = c.clamp(prev, bytes.len());
        v.feed(&bytes[prev..c])?;
        prev = c;
    }
    v.finish()
}

/// Mostly valid text of all widths, sometimes corrupted.
fn text_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(
            prop_oneof![
                8 => any::<u8>().prop_map(|b| vec![b & 0x7f]),
                2 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
            ],
            0..400,
        ),
        proptest::option::of((any::<usize>(), any::<u8>())),
    )
        .prop_map(|(pieces, corrupt)| {
            let mut v: Vec<u8> = pieces.concat();
            if let Some((at, b)) = corrupt {
                if !v.is_empty() {
                    let i = at % v.len();
                    v[i] = b;
                }
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn utf8_fast_path_keeps_exact_offsets(
        bytes in text_strategy(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let want = oracle(&bytes);
        let mut one = Utf8Validator::new();
        let got = one.feed(&bytes).and_then(|_| one.finish());
        prop_assert_eq!(got, want);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(feed_pieces(&bytes, &cuts), want);
    }
}

// ---------------------------------------------------------------------------------------
// FrameIter and MessageReader
// ---------------------------------------------------------------------------------------

/// A random frame: mostly well-formed, sometimes with a bad first byte or no mask.
fn frame_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            6 => Just(0x1u8), 6 => Just(0x2u8), 8 => Just(0x0u8), 2 => Just(0x9u8), 1 => Just(0xau8),
            1 => Just(0x8u8), 1 => 0u8..16,
        ],
        any::<bool>(),
        prop_oneof![12 => Just(0u8), 1 => 0u8..8],
        prop_oneof![
            6 => text_strategy(),
            1 => proptest::collection::vec(any::<u8>(), 0..300),
            1 => Just(vec![0x03, 0xe8, b'o', b'k']),
        ],
        prop_oneof![12 => any::<[u8; 4]>().prop_map(Some), 1 => Just(None)],
        0u8..4,
    )
        .prop_map(|(op, fin, rsv, payload, mask, enc)| {
            let mut h = FrameHeader::new(OpCode::from_u8(op), fin, payload.len() as u64, mask);
            h.rsv = rsv;
            h.length_encoding = match enc {
                1 => wsspec::codec::LengthEncoding::U16,
                2 => wsspec::codec::LengthEncoding::U64,
                _ => h.length_encoding,
            };
            let mut out = Vec::new();
            encode_frame(&h, &payload, &mut out);
            out
        })
}

fn wire_strategy() -> impl Strategy<Value = (Vec<u8>, usize)> {
    (
        proptest::collection::vec(frame_strategy(), 0..12),
        any::<usize>(),
    )
        .prop_map(|(f, cut)| {
            let wire = f.concat();
            // Sometimes cut the last frame short.
            let keep = if cut % 3 == 0 && !wire.is_empty() {
                wire.len() - cut % wire.len().min(20)
            } else {
                wire.len()
            };
            (wire, keep)
        })
}

fn rules_strategy() -> impl Strategy<Value = HeaderRules> {
    prop_oneof![
        4 => Just(HeaderRules::server()),
        1 => Just(HeaderRules::any_role()),
        1 => Just(HeaderRules::client()),
    ]
}

/// Limits below 126 reach the bound of the readers' short-form path from both sides.
fn limits_strategy() -> impl Strategy<Value = Limits> {
    prop_oneof![
        4 => Just((2000u64, 1000u64)),
        1 => Just((20, 1000)),
        1 => Just((1000, 12)),
        1 => (0u64..130, 0u64..130),
    ]
    .prop_map(|(max_message_size, max_frame_size)| Limits {
        max_message_size,
        max_frame_size,
    })
}

/// One frame in the 7-bit short form with any first byte (every opcode, FIN and RSV
/// combination) and any second byte (masked or not, every 7-bit length), payload bytes
/// random (text or not), then a valid frame: the readers' short-form path must take
/// exactly the frames the general rules allow.
fn short_form_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u8>(),
        any::<u8>(),
        prop_oneof![
            text_strategy(),
            proptest::collection::vec(any::<u8>(), 0..130)
        ],
        any::<[u8; 4]>(),
        0usize..3,
    )
        .prop_map(|(b0, b1, body, key, cut)| {
            let mut wire = vec![b0, b1];
            if b1 & 0x80 != 0 {
                wire.extend_from_slice(&key);
            }
            let len = (b1 & 0x7f) as usize;
            let mut payload: Vec<u8> = body.into_iter().cycle().take(len).collect();
            payload.resize(len, b'a');
            if b1 & 0x80 != 0 {
                apply_mask_scalar(&mut payload, key, 0);
            }
            wire.extend(payload);
            wire.extend(frame(OpCode::Text, true, b"next", Some([1, 2, 3, 4])));
            // Sometimes cut inside the first frame.
            let keep = wire.len().saturating_sub(cut * 7);
            wire.truncate(keep);
            wire
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn frame_iter_matches_reference((wire, keep) in wire_strategy(), rules in rules_strategy()) {
        check_frame_iter(&wire[..keep], rules, best_isa());
    }

    #[test]
    fn message_reader_matches_stream_decoder(
        (wire, keep) in wire_strategy(),
        limits in limits_strategy(),
        rules in rules_strategy(),
    ) {
        check_message_reader(&wire[..keep], rules, limits, best_isa());
    }

    #[test]
    fn short_form_frames_under_every_rule(
        wire in short_form_strategy(),
        limits in limits_strategy(),
        rules in rules_strategy(),
    ) {
        check_frame_iter(&wire, rules, best_isa());
        check_message_reader(&wire, rules, limits, best_isa());
    }
}

#[test]
fn message_reader_joins_fragments_split_inside_characters() {
    let text = "añ€😀 straddles ".repeat(40);
    let bytes = text.as_bytes();
    for frag in [1usize, 2, 3, 5, 7, 64, 100] {
        let mut wire = Vec::new();
        let chunks: Vec<&[u8]> = bytes.chunks(frag).collect();
        for (i, c) in chunks.iter().enumerate() {
            let op = if i == 0 {
                OpCode::Text
            } else {
                OpCode::Continuation
            };
            wire.extend(frame(
                op,
                i + 1 == chunks.len(),
                c,
                Some([1, 2, 3, (i % 251) as u8]),
            ));
            if i == 2 {
                wire.extend(frame(OpCode::Ping, true, b"mid", Some([9, 8, 7, 6])));
            }
        }
        let mut r = MessageReader::new(&mut wire, HeaderRules::server(), Limits::default());
        assert_eq!(r.next_event(), Some(Ok(FastEvent::Ping(b"mid"))));
        match r.next_event() {
            Some(Ok(FastEvent::Text(t))) => assert_eq!(&t[..], bytes, "fragment size {frag}"),
            other => panic!("fragment size {frag}: {other:?}"),
        }
        assert_eq!(r.next_event(), None);
        assert!(!r.in_message());
    }
}

/// Fail-fast parity on the fused path: invalid bytes right at fragment ends (where the
/// kernel defers to its caller), followed by a frame with a protocol error, so that
/// reporting the UTF-8 error one fragment late would surface as the wrong error.
/// The reader's fused (AVX-512) and unfused (every other kernel set) paths, through the
/// public API: the fail-fast and joining checks below, once per available kernel set.
///
/// Masking and UTF-8 are dispatched separately, so every pairing is run: the fused path
/// (AVX-512 UTF-8) next to each masking set, and the unfused one under every combination.
#[test]
fn message_reader_under_every_kernel_set() {
    let before = dispatch();
    for isa in available_isas() {
        assert!(force_isa(isa));
        assert_eq!(best_isa(), isa);
        assert_eq!(
            dispatch(),
            Dispatch {
                mask: isa,
                utf8: isa
            }
        );
        for utf8 in available_isas() {
            assert!(force_dispatch(Dispatch { mask: isa, utf8 }));
            assert_eq!(utf8_isa(), utf8);
            fail_fast_at_fragment_ends();
            message_reader_joins_fragments_split_inside_characters();
        }
    }
    assert!(force_dispatch(before));
}

/// The per-CPU table keys masking and UTF-8 separately, as measured (README
/// "Benchmarks"): on the Intel Xeon a 256-bit masking kernel and AVX-512 UTF-8; and
/// forcing a set this CPU cannot run changes nothing.
#[test]
fn dispatch_keys_masking_and_utf8_separately() {
    let intel = preferred_order(&CpuKind {
        vendor: "GenuineIntel".into(),
        family: 6,
        model: 167,
    });
    assert!(matches!(intel.mask[0], Isa::Avx512Vl | Isa::Avx2));
    assert_eq!(intel.utf8[0], Isa::Avx512);
    let here = preferred_order(&cpu_kind());
    assert!(!here.mask.is_empty() && !here.utf8.is_empty());
    if let Some(missing) = [Isa::Neon, Isa::Avx512, Isa::Avx512Vl, Isa::Avx2]
        .into_iter()
        .find(|i| !i.is_available())
    {
        assert!(!force_dispatch(Dispatch {
            mask: Isa::Portable,
            utf8: missing,
        }));
    }
}

#[test]
fn message_reader_fail_fast_at_fragment_ends() {
    fail_fast_at_fragment_ends();
}

fn fail_fast_at_fragment_ends() {
    let specials: [&[u8]; 8] = [
        &[0xf5],
        &[0xf4, 0x90],
        &[0xe0, 0x80],
        &[0xed, 0xa0],
        &[0xc0],
        &[0xf0, 0x8f],
        &[0xf4],
        &[0xe2, 0x82],
    ];
    let body = "añ€😀 text ".repeat(12);
    for sp in specials {
        for at in [0usize, 1, 63, 64, 65, 100] {
            let mut text = body.as_bytes()[..at.min(body.len())].to_vec();
            // Keep the prefix on a character boundary so the special is the first bad byte.
            while std::str::from_utf8(&text).is_err() {
                text.pop();
            }
            let cut = text.len() + sp.len();
            text.extend_from_slice(sp);
            text.extend_from_slice(b"tail bytes");
            for frag_end in [cut - sp.len(), cut - 1, cut, cut + 1] {
                let mut wire = frame(OpCode::Text, false, &text[..frag_end], Some([3, 1, 4, 1]));
                wire.extend(frame(
                    OpCode::Continuation,
                    false,
                    &text[frag_end..],
                    Some([5, 9, 2, 6]),
                ));
                wire.extend([0x83, 0x80, 0, 0, 0, 0]); // reserved opcode 3
                let mut d = StreamDecoder::new(HeaderRules::server(), Limits::default());
                let mut pos = 0;
                let want = loop {
                    match d.decode(&wire[pos..]) {
                        Err(e) => break Some(e),
                        Ok((0, _)) => break None,
                        Ok((n, _)) => pos += n,
                    }
                };
                let mut buf = wire.clone();
                let mut r = MessageReader::new(&mut buf, HeaderRules::server(), Limits::default());
                let got = match r.next_event() {
                    Some(Err(e)) => Some(e),
                    Some(Ok(ev)) => panic!("unexpected event {ev:?}"),
                    None => None,
                };
                assert_eq!(
                    got, want,
                    "special {sp:02x?} at {at}, fragment end {frag_end}"
                );
            }
        }
    }
}

/// Texts of 0 to 20 bytes in one masked frame (the 8-16-byte ones are unmasked as two
/// words and validated from registers): the reader's answer equals std's, error offset
/// included, under every UTF-8 kernel set. The bytes are drawn mostly from lead and
/// continuation bytes, so cut, overlong, surrogate and out-of-range sequences all occur.
#[test]
fn short_texts_under_every_utf8_kernel_set() {
    const PICK: [u8; 16] = [
        b'a', 0x7f, 0x80, 0xbf, 0xc2, 0xc0, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0x9f, 0xa0,
        0x90,
    ];
    let before = dispatch();
    let mut rng = Rng(0x7e57);
    for utf8 in available_isas() {
        assert!(force_dispatch(Dispatch {
            mask: before.mask,
            utf8
        }));
        for len in 0..=20usize {
            for round in 0..1500 {
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = rng.next();
                        if round % 3 == 0 {
                            b'a' + (r % 26) as u8
                        } else {
                            PICK[(r % 16) as usize]
                        }
                    })
                    .collect();
                let key = (rng.next() as u32).to_le_bytes();
                let mut wire = frame(OpCode::Text, true, &text, Some(key));
                let mut r = MessageReader::new(&mut wire, HeaderRules::server(), Limits::default());
                let got = r.next_event();
                match oracle(&text) {
                    Ok(()) => assert!(
                        matches!(got, Some(Ok(FastEvent::Text(ref t))) if t[..] == text[..]),
                        "{utf8:?} {text:02x?}: {got:?}"
                    ),
                    Err(e) => assert!(
                        matches!(got, Some(Err(FrameError::Protocol(ProtocolError::InvalidUtf8 { offset })))
                            if offset == e.offset),
                        "{utf8:?} {text:02x?}: {got:?}, want offset {}",
                        e.offset
                    ),
                }
            }
        }
    }
    assert!(force_dispatch(before));
}
