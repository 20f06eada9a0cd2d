//! Node.js and the npm packages of `conformance/servers` (from the committed lockfile), for
//! the tests that start real servers or clients.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// True when `node` is on PATH and the packages are installed (once per test binary).
/// Without node it prints a loud NOT RUN naming `what` and returns false, except under
/// `CI`, where a missing reference is a failure; a failed install always fails.
pub fn node_ready(what: &str) -> bool {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let node_ok = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !node_ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "node is not on PATH, but CI is set"
        );
        eprintln!("NOT RUN: node is not on PATH; {what} needs Node.js >= 20.19");
        return false;
    }
    let r = INSTALLED.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("conformance/servers/ensure-installed.sh");
        let status = Command::new("timeout")
            .arg("900")
            .arg("bash")
            .arg(&script)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{} failed: {status}", script.display()))
        }
    });
    if let Err(e) = r {
        panic!("{e}");
    }
    true
}
