//! The handshake level: the opening handshake of one connection changed: method,
//! versions, keys, subprotocols, extensions, Origin/Host, missing Upgrade/Connection,
//! the path.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::Dictionary;
use crate::target_fuzz::input::HandshakeMut;

pub(super) fn mutate_handshake(
    prev: Option<HandshakeMut>,
    conn: usize,
    dict: &Dictionary,
    rng: &mut StdRng,
) -> HandshakeMut {
    let mut h = prev.unwrap_or(HandshakeMut {
        conn,
        ..Default::default()
    });
    let set = |h: &mut HandshakeMut, n: &str, v: String| {
        h.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(n));
        h.headers.push((n.to_owned(), v));
    };
    match rng.random_range(0..12u8) {
        0 => {
            h.method = Some(
                (*["POST", "HEAD", "PUT", "get", "CONNECT", "OPTIONS"]
                    .choose(rng)
                    .unwrap_or(&"POST"))
                .into(),
            )
        }
        1 => set(
            &mut h,
            "Sec-WebSocket-Version",
            (*["8", "99", "", "13, 8", "-1", "13 13"]
                .choose(rng)
                .unwrap_or(&"8"))
            .into(),
        ),
        2 => set(
            &mut h,
            "Sec-WebSocket-Key",
            (*[
                "",
                "short",
                "AAAAAAAAAAAAAAAAAAAAAAAA====",
                "dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ==",
                "!!!!",
            ]
            .choose(rng)
            .unwrap_or(&""))
            .into(),
        ),
        3 => {
            let mut p: Vec<String> = dict.strings.iter().take(3).cloned().collect();
            p.push(
                (*["", "a,b", " ", "x".repeat(300).as_str()]
                    .choose(rng)
                    .unwrap_or(&""))
                .to_owned(),
            );
            h.protocols = Some(p);
        }
        4 => set(
            &mut h,
            "Sec-WebSocket-Extensions",
            (*[
                "permessage-deflate; client_max_window_bits=99",
                "x-unknown",
                "permessage-deflate; server_max_window_bits",
                ";;;",
            ]
            .choose(rng)
            .unwrap_or(&"x-unknown"))
            .into(),
        ),
        5 => set(
            &mut h,
            "Origin",
            (*[
                "null",
                "http://evil.example",
                "",
                "file://",
                "http://127.0.0.1:1",
            ]
            .choose(rng)
            .unwrap_or(&"null"))
            .into(),
        ),
        6 => set(
            &mut h,
            "Host",
            (*["", "evil.example", "127.0.0.1:0", "[::1", "a b"]
                .choose(rng)
                .unwrap_or(&""))
            .into(),
        ),
        7 => {
            let n = *["Upgrade", "Connection", "Sec-WebSocket-Version", "Host"]
                .choose(rng)
                .unwrap_or(&"Upgrade");
            if !h.omit.iter().any(|o| o == n) {
                h.omit.push(n.into());
            }
        }
        8 => set(
            &mut h,
            "Upgrade",
            (*["h2c", "websocket, h2c", "WebSocket2", ""]
                .choose(rng)
                .unwrap_or(&"h2c"))
            .into(),
        ),
        9 => set(
            &mut h,
            "Connection",
            (*["keep-alive", "close", "upgrade, close", ""]
                .choose(rng)
                .unwrap_or(&"close"))
            .into(),
        ),
        10 => {
            h.path = Some(
                (*[
                    "/%00",
                    "/../../etc/passwd",
                    "//",
                    "/?a=%zz",
                    "/?x=1&x=2",
                    "*",
                ]
                .choose(rng)
                .unwrap_or(&"//"))
                .into(),
            )
        }
        _ => set(
            &mut h,
            "X-Fuzz",
            "A".repeat(*[10usize, 8000, 70_000].choose(rng).unwrap_or(&10)),
        ),
    }
    h
}
