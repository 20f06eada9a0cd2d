//! Which hosts wsspec talks to: loopback literals and `localhost`, decided from the URL
//! text before any name lookup (README: "any other address is refused before a packet is
//! sent").

mod common;

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::process::Command;
use std::time::Instant;

use common::wire;
use tokio::net::TcpListener;
use wsspec::peer::{ConnectOptions, HandshakeOutcome, Peer, PeerError, Target, TargetError};

/// Names other than `localhost` that this machine's `/etc/hosts` maps to a loopback
/// address (Debian has `ip6-localhost`; containers often add their host name).
fn loopback_names_in_hosts_file() -> Vec<String> {
    let Ok(text) = std::fs::read_to_string("/etc/hosts") else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) else {
            continue;
        };
        if !ip.is_loopback() {
            continue;
        }
        for w in words {
            if !w.eq_ignore_ascii_case("localhost") && !names.iter().any(|n| n == w) {
                names.push(w.to_string());
            }
        }
    }
    names
}

#[test]
fn names_that_resolve_to_loopback_are_still_refused() {
    let names = loopback_names_in_hosts_file();
    let mut checked = 0;
    for name in &names {
        // Precondition: the system resolver (which reads /etc/hosts, no DNS traffic) does
        // map this name to loopback, so a resolve-then-check rule would have accepted it.
        let resolved: Vec<SocketAddr> = match (name.as_str(), 80).to_socket_addrs() {
            Ok(a) => a.collect(),
            Err(_) => continue,
        };
        if resolved.is_empty() || !resolved.iter().all(|a| a.ip().is_loopback()) {
            continue;
        }
        let t = Target::parse(&format!("ws://{name}:9001/")).unwrap();
        match t.resolve() {
            Err(TargetError::NotLoopback(h)) => assert_eq!(&h, name),
            other => panic!("{name} resolves to {resolved:?} but was not refused: {other:?}"),
        }
        checked += 1;
    }
    eprintln!("refused {checked} loopback name(s) from /etc/hosts: {names:?}");

    // A name no resolver can answer is refused as "not on this machine", not as a failed
    // lookup, and at once: nothing asked a resolver.
    let t0 = Instant::now();
    let t = Target::parse("ws://wsspec-never-resolves.invalid:9001/").unwrap();
    let err = t.resolve().unwrap_err();
    assert_eq!(
        err,
        TargetError::NotLoopback("wsspec-never-resolves.invalid".into())
    );
    assert!(err.to_string().contains("looks up no host names"), "{err}");
    assert!(t0.elapsed().as_millis() < 50, "{:?}", t0.elapsed());
}

#[tokio::test]
async fn connect_refuses_a_name_without_opening_tcp() {
    // A listener on 127.0.0.1 that records whether anything connected.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let name = loopback_names_in_hosts_file()
        .into_iter()
        .next()
        .unwrap_or_else(|| "wsspec-never-resolves.invalid".into());
    let t = Target::parse(&format!("ws://{name}:{port}/")).unwrap();
    let Err(err) = Peer::connect(&t, &ConnectOptions::default(), "main").await else {
        panic!("{t:?} was not refused");
    };
    assert!(
        matches!(err, PeerError::Target(TargetError::NotLoopback(_))),
        "{err}"
    );
    let accepted = tokio::time::timeout(std::time::Duration::from_millis(200), l.accept()).await;
    assert!(accepted.is_err(), "something connected: {accepted:?}");
}

/// An echo server on `bind`; `None` when this machine cannot bind that address (no IPv6).
async fn echo_on(bind: &str) -> Option<u16> {
    let addr = wire::spawn_on(bind, wire::tungstenite_echo).await?;
    Some(addr.port())
}

/// `ws://localhost:<port>/` completes the opening handshake.
async fn upgrades_via_localhost(port: u16) {
    let t = Target::parse(&format!("ws://localhost:{port}/")).unwrap();
    let (_peer, outcome) = Peer::connect(&t, &ConnectOptions::default(), "main")
        .await
        .unwrap();
    assert!(
        matches!(outcome, HandshakeOutcome::Upgraded { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn localhost_reaches_a_server_on_either_loopback_family() {
    upgrades_via_localhost(echo_on("127.0.0.1:0").await.expect("bind 127.0.0.1")).await;
    // Node servers on `localhost` often bind ::1 only; `localhost` must find them too.
    match echo_on("[::1]:0").await {
        Some(v6) => upgrades_via_localhost(v6).await,
        None => eprintln!("no IPv6 loopback here: the ::1 half was not checked"),
    }
}

#[test]
fn cli_refuses_a_name_with_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args([
            "run",
            "ws://wsspec-never-resolves.invalid:9/",
            "--no-progress",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("wsspec-never-resolves.invalid is not an address on this machine"),
        "{stderr}"
    );
}
