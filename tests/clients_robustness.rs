//! The driver protocol where Autobahn's fuzzingserver is fragile: a `/runCase` without an
//! agent, with an unknown case or a bad query gets HTTP 400 with a reason and records
//! nothing; a driver that disconnects mid-case ends only that case; other agents' results
//! stay intact; `/updateReports` writes what it has; `/getCaseInfo` and `/stopServer`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsspec::clients::{self, ClientServer, ServeConfig};
use wsspec::report::{RunReport, Verdict};

async fn server(cases: &[&str], written: Arc<Mutex<Vec<RunReport>>>) -> ClientServer {
    let cases: Vec<String> = cases.iter().map(|s| s.to_string()).collect();
    let selection = wsspec::suite::select(&clients::catalog(), &cases, &[], false).unwrap();
    let cfg = ServeConfig {
        selection,
        deadline: Some(Duration::from_secs(60)),
        on_update_reports: Some(Arc::new(move |rs: &[RunReport]| {
            *written.lock().unwrap() = rs.to_vec();
            Ok(())
        })),
        ..Default::default()
    };
    clients::listen("127.0.0.1:0".parse().unwrap(), cfg)
        .await
        .unwrap()
}

/// Sends an upgrade request for `path` and returns everything the server sent until it
/// closed (bounded).
async fn raw(s: &ClientServer, path: &str) -> String {
    String::from_utf8_lossy(&raw_bytes(s, path).await).into_owned()
}

async fn raw_bytes(s: &ClientServer, path: &str) -> Vec<u8> {
    let mut t = TcpStream::connect(s.local_addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        s.local_addr
    );
    t.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), t.read_to_end(&mut out)).await;
    out
}

fn echo_case(url: String) {
    use tungstenite::{connect, Message};
    let Ok((mut ws, _)) = connect(url) else {
        return;
    };
    while let Ok(m) = ws.read() {
        if matches!(m, Message::Text(_) | Message::Binary(_)) && ws.send(m).is_err() {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_a_reason_and_record_nothing() {
    let s = server(&["1.1.1", "1.1.2"], Arc::default()).await;
    for (path, says) in [
        ("/runCase?case=1", "agent"),
        ("/runCase?case=3&agent=a", "from 1 to 2"),
        ("/runCase?case=0&agent=a", "from 1 to 2"),
        ("/runCase?casetuple=9.9.9&agent=a", "no such case"),
        ("/runCase?case=1&case=2&agent=a", "more than once"),
        ("/somewhere", "unknown path"),
    ] {
        let answer = raw(&s, path).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(answer.contains(says), "{path}: {answer}");
    }
    assert!(s.agents().is_empty(), "nothing recorded: {:?}", s.agents());
    let count = raw_bytes(&s, "/getCaseCount").await;
    assert!(count.starts_with(b"HTTP/1.1 101"), "{count:?}");
    // The text "2" unmasked, then an empty close.
    assert!(
        count.ends_with(&[0x81, 0x01, b'2', 0x88, 0x00]),
        "{count:?}"
    );
    let info = raw(&s, "/getCaseInfo?case=2").await;
    assert!(info.contains(r#""id":"1.1.2""#), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_that_disconnects_ends_only_its_case() {
    let written: Arc<Mutex<Vec<RunReport>>> = Arc::default();
    let s = server(&["1.1.1", "2.1"], written.clone()).await;
    let (u1, u2) = (s.case_url(1, "good"), s.case_url(2, "good"));
    tokio::task::spawn_blocking(move || {
        echo_case(u1);
        echo_case(u2);
    })
    .await
    .unwrap();
    // Agent "gone" opens case 1 and drops TCP right after the 101.
    let answer = raw_drop(&s, "/runCase?case=1&agent=gone").await;
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    let r = s
        .wait_result(
            "gone",
            0,
            std::time::Instant::now() + Duration::from_secs(5),
        )
        .await
        .expect("the dropped case has a result");
    assert_eq!(r.verdict, Verdict::Failed, "{}", r.observed);
    let good = s.report("good");
    assert!(
        good.cases.iter().all(|c| c.verdict == Verdict::Ok),
        "{:?}",
        good.cases
            .iter()
            .map(|c| (&c.id, c.verdict))
            .collect::<Vec<_>>()
    );
    // /updateReports writes every agent, cases without a result NOT RUN.
    let answer = raw(&s, "/updateReports?agent=good").await;
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    let w = written.lock().unwrap().clone();
    let agents: Vec<&str> = w.iter().map(|r| r.agent.as_str()).collect();
    assert_eq!(agents, vec!["gone", "good"]);
    assert_eq!(w[0].cases[1].verdict, Verdict::NotRun);
    assert!(w[0].cases[1].observed.contains("no client ran this case"));
}

async fn raw_drop(s: &ClientServer, path: &str) -> String {
    let mut t = TcpStream::connect(s.local_addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        s.local_addr
    );
    t.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = t.read(&mut buf).await.unwrap();
    drop(t);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_server_stops() {
    let s = server(&["1.1.1"], Arc::default()).await;
    let _ = raw(&s, "/stopServer").await;
    tokio::time::timeout(Duration::from_secs(2), s.stopped())
        .await
        .expect("stopped");
}
