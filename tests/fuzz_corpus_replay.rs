//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) and crash regressions
//! (`fuzz/regressions/<target>/`) through the fuzz target bodies on stable `cargo test`.
//!
//! The bodies are the ones the libFuzzer binaries run (`wsspec_testkit::targets` and
//! `wsspec_testkit::deflate`, in `testkit/`), so a fixed crash stays fixed without nightly.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use wsspec_testkit::{deflate, targets};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

fn all_targets() -> impl Iterator<Item = (&'static str, fn(&[u8]))> {
    targets::TARGETS.into_iter().chain(deflate::DEFLATE_TARGETS)
}

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind);
    let mut count = 0;
    let mut failures = Vec::new();
    for (name, body) in all_targets() {
        for file in files_under(&root.join(name)) {
            let data = fs::read(&file).unwrap();
            count += 1;
            if panic::catch_unwind(|| body(&data)).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "inputs that fail their target: {failures:#?}"
    );
    count
}

#[test]
fn corpus_replays_cleanly() {
    let n = replay("corpus");
    // Every target has seeds; an empty corpus would make this test vacuous.
    for (name, _) in all_targets() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(name);
        assert!(!files_under(&dir).is_empty(), "no seeds for {name}");
    }
    assert!(n >= 5);
}

#[test]
fn regressions_replay_cleanly() {
    replay("regressions");
}
