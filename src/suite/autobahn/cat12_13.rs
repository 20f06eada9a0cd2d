//! Categories 12 and 13: permessage-deflate (RFC 7692), with Autobahn's ids, parameters,
//! offers and verdict rules (reference section 11).
//!
//! Each case offers the extension; a server that does not accept it is UNIMPLEMENTED (the
//! kit closes at once with 1000), never OK. Otherwise the kit sends 1000 compressed messages
//! of a data set one after the other, each after the previous echo; every echo must have the
//! same type and content (an uncompressed echo is fine), and the case is OK after the last.
//! The close timer is Autobahn's WAITSECS. The offers' answers are judged as Autobahn's
//! fuzzer does ([`AnswerCheck::Autobahn`]): any well-formed single answer is accepted; the
//! strict RFC 7692 checks of the answer are wsspec's own `pmd.*` cases.
//!
//! The payloads come from generated stand-ins for Autobahn's data files
//! ([`super::deflate_data`]), with the same sizes and message types.

use super::super::case::{CaseDef, CaseInfo};
use super::super::spec::{DeflateEcho, Expectation, ExpectedClose, FuzzSpec, Handler, Rules};
use super::close_after;
use super::deflate_data::DataSet;
use crate::codec::deflate::{AnswerCheck, DeflateParams, WindowBits};

/// Recorded with each case; how the kit judges the answer to its offer.
pub const ANSWER_CHECK: AnswerCheck = AnswerCheck::Autobahn;

/// Messages per case.
pub const MESSAGES: usize = 1000;

/// (message length, wait seconds, auto-fragment size) of the 18 rows.
pub const ROWS: [(usize, u32, usize); 18] = [
    (16, 60, 0),
    (64, 60, 0),
    (256, 120, 0),
    (1024, 240, 0),
    (4096, 480, 0),
    (8192, 480, 0),
    (16384, 480, 0),
    (32768, 480, 0),
    (65536, 480, 0),
    (131072, 480, 0),
    (8192, 480, 256),
    (16384, 480, 256),
    (32768, 480, 256),
    (65536, 480, 256),
    (131072, 480, 256),
    (131072, 480, 1024),
    (131072, 480, 4096),
    (131072, 480, 32768),
];

const DATA_SETS: [&str; 5] = [
    "large JSON document (text)",
    "512x512 bitmap picture (binary)",
    "German plain text as in Goethe's Faust I (sent as binary)",
    "large HTML page (text)",
    "larger PDF document (binary)",
];

/// (server_no_context_takeover, server_max_window_bits) of each 13.j offer; 13.7 is three.
const OFFERS: [&[(bool, Option<u8>)]; 7] = [
    &[(false, None)],
    &[(true, None)],
    &[(false, Some(9))],
    &[(false, Some(15))],
    &[(true, Some(9))],
    &[(true, Some(15))],
    &[(true, Some(9)), (true, None), (false, None)],
];

const OFFER_TEXT: [&str; 7] = [
    "default offer",
    "offer with server_no_context_takeover",
    "offer with server_max_window_bits=9",
    "offer with server_max_window_bits=15",
    "offer with server_no_context_takeover and server_max_window_bits=9",
    "offer with server_no_context_takeover and server_max_window_bits=15",
    "three offers in one header",
];

/// Autobahn's offer: `client_no_context_takeover; client_max_window_bits`, then the server
/// parameters.
pub fn offer(server_no_context_takeover: bool, server_window: Option<u8>) -> DeflateParams {
    let mut p = DeflateParams::new()
        .client_no_context_takeover()
        .client_max_window_bits(None);
    if server_no_context_takeover {
        p = p.server_no_context_takeover();
    }
    if let Some(w) = server_window.and_then(WindowBits::new) {
        p = p.server_max_window_bits(w);
    }
    p
}

fn row_text((len, _, frag): (usize, u32, usize)) -> String {
    if frag == 0 {
        format!("{MESSAGES} messages of {len} units")
    } else {
        format!("{MESSAGES} messages of {len} units, fragmented at {frag} bytes")
    }
}

fn def(id: String, title: String, echo: DeflateEcho, wait: u32) -> CaseDef {
    // In the default set: a server that refuses the offer answers 216 handshakes at once
    // (UNIMPLEMENTED), one that accepts it is tested as Autobahn's full run would.
    let info = CaseInfo::new(id, title, "RFC 7692 §6, §7");
    let shares = Some((echo.len, echo.set as u8));
    let mut d = CaseDef::fuzz(info, move || {
        FuzzSpec::simple(
            Vec::new(),
            close_after(f64::from(wait)),
            Expectation {
                outcomes: vec![],
                close: ExpectedClose::normal(),
                rules: Rules::default(),
                handler: Some(Handler::Deflate(echo.clone())),
            },
        )
        .note(format!(
            "echo type and content checked; UNIMPLEMENTED if the offer is refused; the kit gives up after {wait} s"
        ))
    });
    d.shares = shares;
    d
}

pub(crate) fn defs() -> Vec<CaseDef> {
    let mut v = Vec::new();
    for (j, (set, text)) in DataSet::ALL.iter().zip(DATA_SETS).enumerate() {
        for (i, row) in ROWS.iter().enumerate() {
            let echo = DeflateEcho {
                offers: vec![offer(false, None)],
                set: *set,
                len: row.0,
                count: MESSAGES,
                fragment: (row.2 > 0).then_some(row.2),
            };
            v.push(def(
                format!("12.{}.{}", j + 1, i + 1),
                format!("permessage-deflate echo, {text}, {}", row_text(*row)),
                echo,
                row.1,
            ));
        }
    }
    for (j, (offers, text)) in OFFERS.iter().zip(OFFER_TEXT).enumerate() {
        for (i, row) in ROWS.iter().enumerate() {
            let echo = DeflateEcho {
                offers: offers.iter().map(|&(nct, w)| offer(nct, w)).collect(),
                set: DataSet::Json,
                len: row.0,
                count: MESSAGES,
                fragment: (row.2 > 0).then_some(row.2),
            };
            v.push(def(
                format!("13.{}.{}", j + 1, i + 1),
                format!(
                    "permessage-deflate echo of the JSON document, {text}, {}",
                    row_text(*row)
                ),
                echo,
                row.1,
            ));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_are_autobahns() {
        assert_eq!(
            offer(false, None).to_string(),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits"
        );
        let o = offer(true, Some(9)).to_string();
        assert!(o.contains("server_no_context_takeover") && o.contains("server_max_window_bits=9"));
        assert_eq!(defs().len(), 216);
    }
}
