//! The suite's texts in the client role.
//!
//! The case definitions, their descriptions and the verdict explanations are shared with
//! `wsspec run`, where the party under test is the server; in `wsspec clients` it is the
//! client. Rather than threading a role through every text of the suite, the client runner
//! rewrites what it shows: first the few phrases whose meaning changes with the role (who
//! closes TCP, what a 12.x/13.x case does with the offer), then the word "server" for the
//! party under test. Parameter names (`server_no_context_takeover`) and the `Server`
//! header are left alone. A test holds every text of the client catalog to it.

use crate::report::CaseReport;
use crate::suite::spec::{FuzzSpec, Handler};

/// Phrases whose meaning changes with the role: (as written for servers, for clients).
const PHRASES: &[(&str, &str)] = &[
    // Autobahn's server closes TCP itself after the closing handshake; a client never has to.
    (
        "(or no code) and closes TCP within 1 s",
        "(or no code); the kit then closes TCP",
    ),
    (
        "the server did not close TCP within 1 s after the closing handshake",
        "the kit closed TCP after the closing handshake",
    ),
    // The kit's own direction of permessage-deflate (the transcript note of the peer).
    ("in use: server window", "in use: the kit's window"),
    // 12.x/13.x: the client offers, the kit answers as the case prescribes.
    ("default offer", "the kit accepts the client's offer as is"),
    (
        "three offers in one header",
        "the kit accepts as in 13.5, else 13.2, else 13.1",
    ),
    (
        "offer with server_no_context_takeover and server_max_window_bits=",
        "the kit asks for client_no_context_takeover and client_max_window_bits=",
    ),
    (
        "offer with server_no_context_takeover",
        "the kit asks for client_no_context_takeover",
    ),
    (
        "offer with server_max_window_bits=",
        "the kit asks for client_max_window_bits=",
    ),
    (
        "UNIMPLEMENTED if the offer is refused",
        "UNIMPLEMENTED if the client offers none that fits",
    ),
];

/// `text` as it reads in the client role.
pub(crate) fn for_client(text: &str) -> String {
    let mut s = text.to_owned();
    for (from, to) in PHRASES {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    swap_word(&swap_word(&s, "server", "client"), "Server", "Client")
}

/// Replaces `word` where it stands alone: not inside a longer word, a parameter name
/// (`server_max_window_bits`) or a header name (`Server:`).
fn swap_word(s: &str, word: &str, with: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(word) {
        let (before, after) = (&rest[..i], &rest[i + word.len()..]);
        let alone = !before.chars().next_back().is_some_and(is_word)
            && !after.chars().next().is_some_and(|c| is_word(c) || c == ':');
        out.push_str(before);
        out.push_str(if alone { with } else { word });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// What a conforming client does in a fuzzing case: the suite's text, with the
/// permessage-deflate part told from the client's side (it offers, the kit answers).
pub(crate) fn expected(spec: &FuzzSpec) -> String {
    let text = crate::suite::describe::expected(spec);
    let text = match (&spec.expect.handler, text.split_once("), then ")) {
        (Some(Handler::Deflate(d)), Some((_, rest)))
            if text.starts_with("permessage-deflate accepted (") =>
        {
            format!(
                "the client offers permessage-deflate and takes the kit's answer ({}), then {rest}",
                super::deflate::answers(d)
            )
        }
        _ => text,
    };
    for_client(&text)
}

/// Rewrites the texts of a finished fuzzing case's report for the client role (the title
/// comes from the client catalog, already rewritten).
pub(crate) fn report_for_client(mut r: CaseReport, spec: &FuzzSpec) -> CaseReport {
    r.expected = expected(spec);
    r.observed = for_client(&r.observed);
    r.sent = for_client(&r.sent);
    for e in &mut r.transcript {
        if e.dir == crate::report::Direction::Event {
            e.summary = for_client(&e.summary);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_party_not_the_parameters() {
        assert_eq!(
            for_client("kit closes; server answers 1000 (or no code) and closes TCP within 1 s"),
            "kit closes; client answers 1000 (or no code); the kit then closes TCP"
        );
        assert_eq!(
            for_client("server_max_window_bits=9 and the Server: header, serverless"),
            "server_max_window_bits=9 and the Server: header, serverless"
        );
        assert_eq!(
            for_client("permessage-deflate in use: server window 15, client window 9"),
            "permessage-deflate in use: the kit's window 15, client window 9"
        );
        assert_eq!(
            for_client("NON-STRICT when the valid message is not echoed before the server fails"),
            "NON-STRICT when the valid message is not echoed before the client fails"
        );
    }

    /// No title or expectation of Autobahn's cases in the client catalog speaks of a
    /// server, except as a parameter name.
    #[test]
    fn client_catalog_texts_name_the_client() {
        let cat = super::super::catalog();
        for d in &cat.cases {
            let mut texts = vec![d.info.title.clone()];
            // 9.x builds messages of up to 16 MiB; its texts come from the same functions.
            // The c.* checks are written for the client role and speak of the kit's
            // (server) frames on purpose.
            if d.info.category == "9" || d.info.category == "c" {
                continue;
            }
            if let crate::suite::case::CaseKind::Fuzz(spec) = (d.make)() {
                texts.push(expected(&spec));
            }
            for t in texts {
                assert_eq!(swap_word(&t, "server", "?"), t, "{}: {t}", d.info.id);
            }
        }
    }
}
