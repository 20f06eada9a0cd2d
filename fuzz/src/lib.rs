//! Shared bodies of the wsspec fuzz targets.
//!
//! The same files are compiled into the stable test suite through `#[path]`
//! (`tests/fuzz_corpus_replay.rs`, `tests/prop_differential.rs`, ...), so the fuzz targets,
//! the corpus replay and the property tests share one implementation and one allow-list.

pub mod deflate;
pub mod differential;
pub mod drive;
pub mod fast;
pub mod targets;
