//! WebSockets over HTTP/2 through a proxy: nghttpx (Debian's `nghttp2-proxy`, installed by
//! `.ci/run`) turns each extended CONNECT into an HTTP/1.1 upgrade towards wsspec's own
//! reference server, and the 101 back into a 200 (RFC 8441 §5 on the front, RFC 6455 on
//! the back). A conforming backend behind a conforming proxy: the default suite and
//! `h2.*` over h2c must not FAIL. Outside CI, a machine without nghttpx skips loudly; in
//! CI (`CI` set) that fails.

mod common;
mod differential;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::h2::{not_ok, opts, run_cases, transcript_text};
use common::scenario::scratch;
use common::suite::case;
use wsspec::report::Verdict;

/// nghttpx, stopped by pid when dropped.
struct Nghttpx(Child);

impl Drop for Nghttpx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_through_nghttpx_in_front_of_the_reference_server() {
    if Command::new("nghttpx").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "nghttpx is missing in CI (.ci/run installs nghttp2-proxy)"
        );
        eprintln!("SKIPPED: nghttpx not installed (apt-get install nghttp2-proxy)");
        return;
    }
    let backend = wsspec::server::bind(
        "127.0.0.1:0".parse().unwrap(),
        wsspec::server::ServerConfig::default(),
    )
    .await
    .unwrap();
    let port = free_port();
    let log = scratch("h2-nghttpx").join("nghttpx.log");
    let child = Command::new("nghttpx")
        .args([
            "--conf=/dev/null",
            "--workers=1",
            "--accesslog-file=/dev/null",
        ])
        .arg(format!("--errorlog-file={}", log.display()))
        .arg(format!("--frontend=127.0.0.1,{port};no-tls"))
        .arg(format!("--backend=127.0.0.1,{}", backend.local_addr.port()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nghttpx starts");
    let _proxy = Nghttpx(child);
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "nghttpx did not listen on {port} (log: {})",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = opts();
    let report = run_cases(&format!("h2c://127.0.0.1:{port}/"), &[], 4, &o).await;
    for l in not_ok(&report) {
        println!("{l}");
    }
    let failed: Vec<String> = not_ok(&report)
        .into_iter()
        .filter(|l| l.contains(" FAILED "))
        .collect();
    assert!(
        failed.is_empty(),
        "failed through nghttpx:\n{}",
        failed.join("\n")
    );
    for id in [
        "h2.1.1", "h2.1.2", "h2.1.3", "h2.2.1", "h2.3.1", "h2.3.2", "h2.3.3", "h2.4.1",
    ] {
        let c = case(&report, id);
        assert_eq!(c.verdict, Verdict::Ok, "{id}: {}", c.observed);
    }
    // The proxy answers the unknown :protocol itself, and names itself in the 200.
    assert!(case(&report, "h2.2.1").observed.contains(":status 400"));
    assert!(transcript_text(case(&report, "1.1.1")).contains("via: 1.1 nghttpx"));
    assert_eq!(o.http2.connections_opened(), 1);
    backend.shutdown().await;
}
