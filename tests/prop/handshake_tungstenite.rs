//! Opening handshake interoperability with tungstenite 0.30, both directions, over
//! in-memory streams (no sockets).
//!
//! * Our `ClientRequest` (random path, query, subprotocols, extension offers, extra headers,
//!   Origin) is accepted by tungstenite's server (`accept_hdr`), which sees the same
//!   target, Host, offers and headers; the 101 tungstenite writes passes our
//!   `parse_response` + `validate_response` with the subprotocol its callback selected.
//! * tungstenite's client request (`tungstenite::client`) passes our `parse_request` +
//!   `validate_request` with the same target, Host and offers; our `accept_response` is
//!   accepted by tungstenite's client, which sees the subprotocol we selected.
//!
//! Known differences (checked by `documented_differences` below, not hidden):
//! * tungstenite's client fails when it offered subprotocols and the 101 selects none
//!   (`SubProtocolError::NoSubProtocol`); RFC 6455 §4.1 only forbids selecting one that was
//!   not offered, so our `validate_response` accepts that answer.
//! * tungstenite's server does not require `Host`; RFC 6455 §4.2.1 item 2 does, and our
//!   `validate_request` rejects a request without it.

use std::cell::RefCell;
use std::io::{self, Cursor, Read, Write};

use proptest::prelude::*;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::HeaderValue;
use wsspec::codec::frame::Status;
use wsspec::codec::handshake::{accept_response, validate_request, ClientRequest, ValidRequest};
use wsspec::codec::http::{parse_request, parse_response, HeadLimits, Headers};

/// Reads a fixed input, records everything written.
struct Mem {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Plays our server: on the first read after the client wrote its request, validates it
/// with our codec and serves our `accept_response`.
struct OurServer {
    written: Vec<u8>,
    response: Option<Cursor<Vec<u8>>>,
    pick: prop::sample::Index,
    extra: Headers,
    seen: Option<ValidRequest>,
    chosen: Option<String>,
}

impl Write for OurServer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for OurServer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.response.is_none() {
            let fail = |m: String| io::Error::other(m);
            let head = match parse_request(&self.written, HeadLimits::default()) {
                Ok(Status::Complete(head, n)) if n == self.written.len() => head,
                other => return Err(fail(format!("request did not parse: {other:?}"))),
            };
            let valid = validate_request(&head)
                .map_err(|e| fail(format!("our validate_request rejected it: {e}")))?;
            self.chosen = (!valid.protocols.is_empty())
                .then(|| valid.protocols[self.pick.index(valid.protocols.len())].clone());
            let resp = accept_response(&valid, self.chosen.as_deref(), &self.extra);
            self.seen = Some(valid);
            self.response = Some(Cursor::new(resp));
        }
        self.response.as_mut().unwrap().read(buf)
    }
}

#[derive(Debug, Clone)]
struct Case {
    port: u16,
    path: String,
    query: Vec<(String, String)>,
    protocols: Vec<String>,
    extensions: bool,
    headers: Vec<(String, String)>,
    origin: bool,
    pick: prop::sample::Index,
}

impl Case {
    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
    fn target(&self) -> String {
        let mut t = self.path.clone();
        for (i, (k, v)) in self.query.iter().enumerate() {
            t += if i == 0 { "?" } else { "&" };
            t += &format!("{k}={v}");
        }
        t
    }
    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn case() -> impl Strategy<Value = Case> {
    let segment = "[a-zA-Z0-9._~-]{1,8}";
    let value = prop_oneof!["[a-zA-Z0-9._~-]{0,10}", "(%[0-9A-F]{2}){1,3}"];
    (
        1024u16..,
        proptest::collection::vec(segment, 0..3).prop_map(|s| format!("/{}", s.join("/"))),
        proptest::collection::vec(("[a-z]{1,6}", value), 0..3),
        proptest::collection::btree_set("[a-z][a-z0-9.-]{0,10}", 0..4)
            .prop_map(|s| s.into_iter().collect::<Vec<_>>()),
        any::<bool>(),
        proptest::collection::vec(("X-[A-Za-z0-9-]{1,10}", "[!-~]([ !-~]{0,20}[!-~])?"), 0..4),
        any::<bool>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(
            |(port, path, query, protocols, extensions, headers, origin, pick)| Case {
                port,
                path,
                query,
                protocols,
                extensions,
                headers,
                origin,
                pick,
            },
        )
}

fn our_request(c: &Case) -> ClientRequest {
    let mut r = ClientRequest::new(c.host(), c.path.clone());
    for (k, v) in &c.query {
        r = r.query(k, v);
    }
    for p in &c.protocols {
        r = r.protocol(p.clone());
    }
    if c.extensions {
        r = r.extension("permessage-deflate; client_max_window_bits");
    }
    if c.origin {
        r = r.origin(c.origin());
    }
    for (n, v) in &c.headers {
        r = r.header(n.clone(), v.clone());
    }
    r
}

/// What tungstenite's server callback saw.
#[derive(Debug, Default)]
struct Seen {
    target: String,
    host: Vec<u8>,
    protocols: Option<Vec<u8>>,
    origin: Option<Vec<u8>>,
    headers: Vec<(String, Vec<Vec<u8>>)>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn our_client_tungstenite_server(c in case()) {
        let req = our_request(&c);
        prop_assert_eq!(req.target.clone(), c.target());
        let chosen = (!c.protocols.is_empty())
            .then(|| c.protocols[c.pick.index(c.protocols.len())].clone());
        let seen = RefCell::new(Seen::default());
        // The callback's type is tungstenite's (`Callback`), large error variant and all.
        #[allow(clippy::result_large_err)]
        let callback = |r: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
            let h = r.headers();
            let mut s = seen.borrow_mut();
            s.target = r.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
            s.host = h.get("host").map(|v| v.as_bytes().to_vec()).unwrap_or_default();
            s.protocols = h.get("sec-websocket-protocol").map(|v| v.as_bytes().to_vec());
            s.origin = h.get("origin").map(|v| v.as_bytes().to_vec());
            for (n, _) in &c.headers {
                let vals = h.get_all(n.as_str()).iter().map(|v| v.as_bytes().to_vec()).collect();
                s.headers.push((n.clone(), vals));
            }
            if let Some(p) = &chosen {
                resp.headers_mut()
                    .insert("Sec-WebSocket-Protocol", HeaderValue::from_str(p).unwrap());
            }
            Ok(resp)
        };
        let stream = Mem { input: Cursor::new(req.to_bytes()), output: Vec::new() };
        let ws = tungstenite::accept_hdr(stream, callback)
            .map_err(|e| TestCaseError::fail(format!("tungstenite server rejected our request: {e}")))?;

        let s = seen.into_inner();
        prop_assert_eq!(&s.target, &c.target());
        prop_assert_eq!(s.host, c.host().into_bytes());
        prop_assert_eq!(
            s.protocols,
            (!c.protocols.is_empty()).then(|| c.protocols.join(", ").into_bytes())
        );
        prop_assert_eq!(s.origin, c.origin.then(|| c.origin().into_bytes()));
        for (name, vals) in &s.headers {
            let sent: Vec<Vec<u8>> = c.headers.iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone().into_bytes())
                .collect();
            prop_assert_eq!(vals, &sent, "header {}", name);
        }

        let out = &ws.get_ref().output;
        let Ok(Status::Complete(head, n)) = parse_response(out, HeadLimits::default()) else {
            return Err(TestCaseError::fail(format!(
                "tungstenite's 101 did not parse: {:?}", String::from_utf8_lossy(out))));
        };
        prop_assert_eq!(n, out.len());
        let acc = req.validate_response(&head)
            .map_err(|e| TestCaseError::fail(format!("tungstenite's 101 failed our validation: {e}")))?;
        prop_assert_eq!(acc.protocol, chosen);
        prop_assert!(acc.extensions.is_empty());
    }

    #[test]
    fn tungstenite_client_our_server(
        c in case(),
        extra in proptest::collection::vec(("X-[A-Za-z0-9-]{1,10}", "[!-~]{1,20}"), 0..3),
    ) {
        let uri = format!("ws://{}{}", c.host(), c.target());
        let mut request = uri.as_str().into_client_request()
            .map_err(|e| TestCaseError::fail(format!("tungstenite cannot build {uri}: {e}")))?;
        let h = request.headers_mut();
        if !c.protocols.is_empty() {
            h.insert("Sec-WebSocket-Protocol", HeaderValue::from_str(&c.protocols.join(", ")).unwrap());
        }
        if c.origin {
            h.insert("Origin", HeaderValue::from_str(&c.origin()).unwrap());
        }
        for (n, v) in &c.headers {
            h.append(
                tungstenite::http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let extra_headers = Headers(
            extra.iter().map(|(n, v)| (n.clone(), v.clone().into_bytes())).collect(),
        );
        let server = OurServer {
            written: Vec::new(),
            response: None,
            pick: c.pick,
            extra: extra_headers,
            seen: None,
            chosen: None,
        };
        let (ws, resp) = tungstenite::client(request, server)
            .map_err(|e| TestCaseError::fail(format!("handshake failed: {e}")))?;
        let ours = ws.get_ref();
        let valid = ours.seen.clone().expect("our server validated the request");
        prop_assert_eq!(&valid.target, &c.target());
        prop_assert_eq!(&valid.host, &c.host());
        prop_assert_eq!(&valid.protocols, &c.protocols);
        prop_assert_eq!(valid.origin, c.origin.then(|| c.origin()));
        prop_assert!(valid.extensions.is_empty());
        let got = resp.headers().get("sec-websocket-protocol").map(|v| v.to_str().unwrap().to_owned());
        prop_assert_eq!(&got, &ours.chosen);
        prop_assert_eq!(got.is_some(), !c.protocols.is_empty());
        for (n, v) in &extra {
            prop_assert!(
                resp.headers().get_all(n.as_str()).iter().any(|x| x.as_bytes() == v.as_bytes()),
                "extra header {} missing", n
            );
        }
    }
}

#[test]
fn documented_differences() {
    // 1. Offered subprotocols, none selected: RFC-valid, tungstenite's client refuses it.
    let req = ClientRequest::new("127.0.0.1:9", "/").protocol("chat");
    let Status::Complete(head, _) = parse_request(&req.to_bytes(), HeadLimits::default()).unwrap()
    else {
        panic!("request does not parse")
    };
    let valid = validate_request(&head).unwrap();
    let resp = accept_response(&valid, None, &Headers::default());
    let Status::Complete(rh, _) = parse_response(&resp, HeadLimits::default()).unwrap() else {
        panic!("response does not parse")
    };
    assert_eq!(req.validate_response(&rh).unwrap().protocol, None);

    let mut request = "ws://127.0.0.1:9/".into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("chat"));
    // Answers every request with our 101 selecting no subprotocol.
    struct NoProtocol {
        written: Vec<u8>,
        response: Option<Cursor<Vec<u8>>>,
    }
    impl Read for NoProtocol {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.response.is_none() {
                let Ok(Status::Complete(head, _)) =
                    parse_request(&self.written, HeadLimits::default())
                else {
                    return Err(io::Error::other("request incomplete"));
                };
                let valid = validate_request(&head).map_err(io::Error::other)?;
                let resp = accept_response(&valid, None, &Headers::default());
                self.response = Some(Cursor::new(resp));
            }
            self.response.as_mut().unwrap().read(buf)
        }
    }
    impl Write for NoProtocol {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let server = NoProtocol {
        written: Vec::new(),
        response: None,
    };
    let err = tungstenite::client(request, server)
        .err()
        .expect("tungstenite accepts a 101 without a subprotocol");
    assert!(err.to_string().contains("ubprotocol"), "{err}");

    // 2. No Host header: we reject (§4.2.1 item 2), tungstenite's server accepts.
    let mut no_host = ClientRequest::new("h", "/");
    no_host.host = None;
    let Status::Complete(head, _) =
        parse_request(&no_host.to_bytes(), HeadLimits::default()).unwrap()
    else {
        panic!()
    };
    assert!(validate_request(&head).is_err());
    let stream = Mem {
        input: Cursor::new(no_host.to_bytes()),
        output: Vec::new(),
    };
    assert!(tungstenite::accept(stream).is_ok());
}

/// Broken requests: both servers reject them (each reason is a §4.2.1 rule).
#[test]
fn both_servers_reject_broken_requests() {
    let base = || ClientRequest::new("127.0.0.1:9", "/");
    let mut cases: Vec<(&str, ClientRequest)> = Vec::new();
    let mut r = base();
    r.method = "POST".into();
    cases.push(("method", r));
    let mut r = base();
    r.http_version = "HTTP/1.0".into();
    cases.push(("http version", r));
    let mut r = base();
    r.version = Some("12".into());
    cases.push(("ws version", r));
    let mut r = base();
    r.version = None;
    cases.push(("no ws version", r));
    let mut r = base();
    r.upgrade = None;
    cases.push(("no upgrade", r));
    let mut r = base();
    r.connection = Some("keep-alive".into());
    cases.push(("connection", r));
    let mut r = base();
    r.key = "c2hvcnQ=".into();
    cases.push(("short key", r));
    for (what, r) in cases {
        let bytes = r.to_bytes();
        let ours = match parse_request(&bytes, HeadLimits::default()) {
            Ok(Status::Complete(head, _)) => validate_request(&head).is_ok(),
            _ => false,
        };
        let theirs = tungstenite::accept(Mem {
            input: Cursor::new(bytes),
            output: Vec::new(),
        })
        .is_ok();
        assert!(!ours, "{what}: we accepted");
        assert!(!theirs, "{what}: tungstenite accepted");
    }
}
