//! The property tests of the codec, one binary (one link) for the whole area: each module
//! checks one part against an independent reference (tungstenite 0.30, Python's zlib, the
//! scalar kernels, or a naive model of the wire), over generated inputs.
//!
//! `cargo test --test prop` runs them all; `cargo test --test prop differential::` one
//! module. A module's proptest regressions sit next to it (`prop/<module>.proptest-regressions`).
//!
//! Only CPU-bound tests with no wall-clock bounds belong here: tests of one binary run side
//! by side. `kernels` forces SIMD kernel sets process-wide while the others run; every set
//! computes the same results, so the others only take another code path meanwhile.

mod common;

mod prop {
    mod accept_key;
    mod assembly_tungstenite;
    mod chunking;
    mod decode_tungstenite;
    mod deflate_negotiation;
    mod deflate_python;
    mod deflate_roundtrip;
    mod differential;
    mod encode_tungstenite;
    mod handshake_tungstenite;
    mod kernels;
}
