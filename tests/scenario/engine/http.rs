//! `http` steps and captures: a Vite-like token flow (token published inside a
//! JavaScript module served chunked, required as a query parameter when an Origin is
//! sent, refusal = HTTP 400 "Bad Request"), Content-Length and close-delimited bodies,
//! header captures, the body size limit, and a server that never answers.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::Message;

use crate::common::scenario::*;
use wsspec::report::Verdict::{Failed, Ok as Pass};

const TOKEN: &str = "T0k-4xY_9";

/// A JavaScript module served chunked, with the token in the middle of a chunk
/// boundary.
fn client_js() -> Vec<u8> {
    let body = format!(
        "const hmrPort = null;\nconst wsToken = \"{TOKEN}\";\nconst base = \"/\";\n{}",
        "// filler\n".repeat(500)
    );
    let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\nTransfer-Encoding: chunked\r\nEtag: W/\"abc\"\r\n\r\n".to_vec();
    for c in body.as_bytes().chunks(37) {
        out.extend(format!("{:x}\r\n", c.len()).bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// A WebSocket server that, like Vite, refuses an upgrade that carries an Origin but
/// not the right token, with HTTP 400 "Bad Request"; otherwise greets.
async fn token_ws() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                #[allow(clippy::result_large_err)] // the callback type is tungstenite's
                let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                    let has_origin = req.headers().contains_key("origin");
                    let ok = req
                        .uri()
                        .query()
                        .is_some_and(|q| q.split('&').any(|kv| kv == format!("token={TOKEN}")));
                    if has_origin && !ok {
                        let mut e = ErrorResponse::new(Some("Bad Request".into()));
                        *e.status_mut() = http::StatusCode::BAD_REQUEST;
                        return Err(e);
                    }
                    Ok(resp)
                };
                if let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, check).await {
                    let _ = ws
                        .send(Message::text(r#"{"type":"connected"}"#.to_string()))
                        .await;
                    let _ = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn token_from_a_chunked_module_opens_the_socket() {
    let (http_addr, _h) = http_server(client_js()).await;
    let ws_addr = token_ws().await;
    let s = load(
        r#"
[scenario]
name = "token"

[vars]
http_port = "1"
origin = "http://127.0.0.1:${port}"

[[step]]
id = "token"
action = "http"
url = "http://127.0.0.1:${http_port}/@vite/client"
expect_status = 200
expect_headers = { "content-type" = "$regex:javascript", "x-nope" = "$absent" }
capture = { token = { regex = 'const wsToken = "([^"]+)"', group = 1 } }

[[step]]
action = "capture"
from = "http"
header = "etag"
into = "etag"

[[step]]
action = "connect"
conn = "hmr"
path = "/"
query = { token = "${token}" }
origin = "${origin}"
protocols = ["vite-hmr"]

[[step]]
action = "expect"
conn = "hmr"
match = { json = { type = "connected" } }

[[step]]
action = "connect"
conn = "no-token"
path = "/"
origin = "${origin}"
expect = { status = 400, body = "Bad Request" }

[[step]]
action = "connect"
conn = "wrong-token"
path = "/"
query = { token = "${etag}" }
origin = "${origin}"
expect = { status = 400, body = "$regex:^Bad" }
"#,
    );
    let mut o = opts_for(ws_addr);
    o.vars
        .push(("http_port".into(), http_addr.port().to_string()));
    let r = run(&s, &o).await;
    assert_eq!(vs(&r), vec![Pass; 6], "{}", dump(&r));
    assert!(
        r.cases[0]
            .observed
            .contains(&format!("token = \"{TOKEN}\"")),
        "{}",
        dump(&r)
    );
    assert!(
        r.cases[1].observed.contains(r#"etag = "W/\"abc\"""#),
        "{}",
        dump(&r)
    );
    // The token went out percent-encoded-safe and verbatim.
    assert!(
        r.cases[2].sent.contains(&format!("token={TOKEN}")),
        "{}",
        dump(&r)
    );
    assert!(r.cases[4].observed.contains("HTTP 400"), "{}", dump(&r));
}

#[tokio::test]
async fn body_framings_and_failures() {
    let (len_addr, _a) = http_server(
        b"HTTP/1.1 201 Created\r\nContent-Length: 11\r\nX-Id: 7\r\n\r\n{\"id\": 42}\nTRAILING"
            .to_vec(),
    )
    .await;
    let (eof_addr, _b) = http_server(b"HTTP/1.0 200 OK\r\n\r\nuntil the end".to_vec()).await;
    let (big_addr, _c) =
        http_server(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 9 << 20).into_bytes())
            .await;
    // Accepts and never answers.
    let mute = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mute_addr = mute.local_addr().unwrap();
    let _mute = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((t, _)) = mute.accept().await {
            held.push(t);
        }
    });
    let s = load(
        r#"
[scenario]
name = "bodies"

[vars]
len = "1"
eof = "1"
big = "1"
mute = "1"

[[step]]
action = "http"
method = "POST"
url = "http://127.0.0.1:${len}/api"
body = '{"q": 1}'
headers = { "Content-Type" = "application/json" }
expect_status = 201
capture = { id = { json = "id" }, xid = { header = "x-id" } }

[[step]]
action = "http"
url = "http://127.0.0.1:${eof}/"
expect_body = "until the end"

[[step]]
action = "http"
url = "http://127.0.0.1:${len}/again/${id}/${xid}"
expect_status = 200

[[step]]
action = "http"
url = "http://127.0.0.1:${big}/"

[[step]]
action = "http"
url = "http://127.0.0.1:${mute}/"
within = "300ms"
"#,
    );
    let mut o = opts_for("127.0.0.1:1".parse().unwrap());
    o.keep_going = true;
    for (k, a) in [
        ("len", len_addr),
        ("eof", eof_addr),
        ("big", big_addr),
        ("mute", mute_addr),
    ] {
        o.vars.push((k.into(), a.port().to_string()));
    }
    let t = Instant::now();
    let r = run(&s, &o).await;
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(
        vs(&r),
        vec![Pass, Pass, Failed, Failed, Failed],
        "{}",
        dump(&r)
    );
    assert!(r.cases[0].observed.contains("id = 42"), "{}", dump(&r));
    // A typed capture keeps its type; in a URL it renders as text.
    assert!(r.cases[2].sent.ends_with("/again/42/7"), "{}", dump(&r));
    assert!(r.cases[2].observed.contains("HTTP 201"), "{}", dump(&r));
    assert!(
        r.cases[3].observed.contains("larger than 8388608 bytes"),
        "{}",
        dump(&r)
    );
    assert!(r.cases[4].observed.contains("timed out"), "{}", dump(&r));
}

#[tokio::test]
async fn test_http_server_answers_fetch() {
    let (addr, _t) = http_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()).await;
    let r = wsspec::peer::http::fetch(
        &wsspec::peer::http::HttpRequest::get(format!("http://{addr}/")),
        std::time::Instant::now() + Duration::from_secs(5),
        None,
    )
    .await
    .unwrap();
    assert_eq!((r.head.status, r.body.as_slice()), (200, &b"ok"[..]));
}
