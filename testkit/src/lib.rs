//! Invariant checks shared by the wsspec fuzz targets and the stable test suite.
//!
//! The libFuzzer binaries (`fuzz/fuzz_targets/*.rs`) and the integration tests
//! (`tests/fuzz_corpus_replay.rs` and the property tests `tests/prop/differential.rs`,
//! `chunking.rs` and `assembly_tungstenite.rs`) link this one crate, so a fuzz target, the corpus
//! replay and the property tests judge an input by one implementation and one allow-list.
//! It has no libFuzzer dependency: a plain `cargo test` builds it on stable.
//!
//! Integration tests only: a unit test inside `wsspec` would see a second copy of the crate
//! (the one this crate links) whose types do not unify with its own.

pub mod deflate;
pub mod differential;
pub mod drive;
pub mod fast;
pub mod targets;
