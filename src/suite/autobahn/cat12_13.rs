//! Categories 12 and 13: permessage-deflate (RFC 7692). Listed with their ids and titles so
//! that selections and reports line up with Autobahn, but reported NOT RUN: the kit does not
//! implement permessage-deflate yet, and a case it cannot run is never reported OK.

use super::super::case::{CaseDef, CaseInfo, CaseKind};

const REASON: &str = "permessage-deflate not implemented yet";

/// (message length, wait seconds, auto-fragment size) of the 18 rows.
const ROWS: [(usize, u32, usize); 18] = [
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
    "Goethe's Faust I, German plain text (sent as binary)",
    "large HTML page (text)",
    "larger PDF document (binary)",
];

const OFFERS: [&str; 7] = [
    "default offer",
    "offer with server_no_context_takeover",
    "offer with server_max_window_bits=9",
    "offer with server_max_window_bits=15",
    "offer with server_no_context_takeover and server_max_window_bits=9",
    "offer with server_no_context_takeover and server_max_window_bits=15",
    "three offers in one header",
];

fn row_text((len, _, frag): (usize, u32, usize)) -> String {
    if frag == 0 {
        format!("1000 messages of {len} units")
    } else {
        format!("1000 messages of {len} units, fragmented at {frag} bytes")
    }
}

pub(crate) fn defs() -> Vec<CaseDef> {
    let mut v = Vec::new();
    for (j, set) in DATA_SETS.iter().enumerate() {
        for (i, row) in ROWS.iter().enumerate() {
            let info = CaseInfo::new(
                format!("12.{}.{}", j + 1, i + 1),
                format!("permessage-deflate echo, {set}, {}", row_text(*row)),
                "RFC 7692",
            )
            .slow();
            v.push(CaseDef::new(info, || CaseKind::NotRun(REASON.into())));
        }
    }
    for (j, offer) in OFFERS.iter().enumerate() {
        for (i, row) in ROWS.iter().enumerate() {
            let info = CaseInfo::new(
                format!("13.{}.{}", j + 1, i + 1),
                format!(
                    "permessage-deflate echo of the JSON document, {offer}, {}",
                    row_text(*row)
                ),
                "RFC 7692",
            )
            .slow();
            v.push(CaseDef::new(info, || CaseKind::NotRun(REASON.into())));
        }
    }
    v
}
