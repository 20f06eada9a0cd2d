//! The crate `cargo package` builds (what `cargo install wsspec` gets): the code, the
//! docs, the profiles and example scenarios with the helper scripts they use; no tests,
//! test kit (testkit/), fuzz corpus or benchmarks; nothing large.

use std::path::Path;
use std::process::Command;

/// Largest file and whole package (uncompressed) accepted.
const MAX_FILE: u64 = 512 << 10;
const MAX_TOTAL: u64 = 4 << 20;

fn packaged_files() -> Vec<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "package",
            "--list",
            "--locked",
            "--offline",
            "--allow-dirty",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo package --list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every `*.toml` under `dir` (relative to the crate root), recursively.
fn tomls(root: &Path, dir: &str, out: &mut Vec<String>) {
    for e in std::fs::read_dir(root.join(dir)).unwrap() {
        let e = e.unwrap();
        let rel = format!("{dir}/{}", e.file_name().to_string_lossy());
        if e.file_type().unwrap().is_dir() {
            tomls(root, &rel, out);
        } else if rel.ends_with(".toml") {
            out.push(rel);
        }
    }
}

#[test]
fn package_holds_what_install_needs_and_nothing_large() {
    let files = packaged_files();
    for must in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "src/main.rs",
        "src/lib.rs",
        "docs/report-schema.md",
        "docs/scenario-format.md",
        "conformance/servers/loopback-only.cjs",
        "conformance/servers/vite-app/vite.config.mjs",
    ] {
        assert!(files.iter().any(|f| f == must), "{must} is not packaged");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut profiles = Vec::new();
    tomls(root, "conformance/profiles", &mut profiles);
    tomls(root, "conformance/scenarios", &mut profiles);
    assert!(profiles.len() > 20, "{profiles:?}");
    for p in &profiles {
        assert!(files.contains(p), "{p} is not packaged");
    }
    // Every helper file a profile names through `${servers}/...` or `${clients}/...`
    // (except what `npm ci` installs into node_modules) travels with it.
    let named = regex::Regex::new(r"\$\{(servers|clients)\}/([A-Za-z0-9_./-]+)").unwrap();
    for p in &profiles {
        let text = std::fs::read_to_string(root.join(p)).unwrap();
        for c in named.captures_iter(&text) {
            let rel = format!("conformance/{}/{}", &c[1], &c[2]);
            if rel.contains("/node_modules/") {
                continue;
            }
            let path = root.join(&rel);
            assert!(path.exists(), "{p} names {rel}, which does not exist");
            if path.is_file() {
                assert!(
                    files.contains(&rel),
                    "{p} names {rel}, which is not packaged"
                );
            } else {
                let dir = format!("{rel}/");
                assert!(
                    files.iter().any(|f| f.starts_with(&dir)),
                    "{p} names the folder {rel}, of which nothing is packaged"
                );
            }
        }
    }
    for f in &files {
        for prefix in [
            "tests/", "fuzz/", "testkit/", "benches/", "target/", "scripts/", ".ci/",
        ] {
            assert!(!f.starts_with(prefix), "{f} should stay in the repository");
        }
        assert!(!f.contains("node_modules"), "{f}");
    }
    let mut total = 0;
    for f in files.iter().filter(|f| root.join(f).is_file()) {
        let len = std::fs::metadata(root.join(f)).unwrap().len();
        assert!(len <= MAX_FILE, "{f} is {len} bytes");
        total += len;
    }
    assert!(total <= MAX_TOTAL, "the package holds {total} bytes");
}
