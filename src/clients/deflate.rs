//! permessage-deflate in the client role (12.x, 13.x): the kit, as server, answers the
//! client's offer with each case's parameters, as Autobahn's fuzzingserver does.
//!
//! A case's [`DeflateEcho::offers`] are what the kit offers when it is the client (`wsspec
//! run`): (`server_no_context_takeover`, `server_max_window_bits`) per offer. Autobahn's
//! server side of the same case asks the client for the mirror image: each entry becomes
//! (`client_no_context_takeover`, `client_max_window_bits`), tried in order (13.7 tries
//! three), each against the client's permessage-deflate offers in the client's order. A
//! window can only be asked of an offer that has `client_max_window_bits` (RFC 7692
//! §7.1.2.2); the answer repeats the `server_*` parameters the client asked for. No offer,
//! or none that fits: the case is UNIMPLEMENTED (the executor closes with 1000 at once).

use crate::codec::deflate::{
    parse_extension_fields, ClientWindowBits, DeflateConfig, DeflateParams, ExtensionError, Side,
    WindowBits, PERMESSAGE_DEFLATE,
};
use crate::suite::spec::DeflateEcho;

/// The kit's acceptance of a client's offer: the answer element and the agreed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Acceptance {
    /// The `Sec-WebSocket-Extensions` answer.
    pub answer: DeflateParams,
    /// What both sides compress with.
    pub config: DeflateConfig,
}

/// Answers the client's `Sec-WebSocket-Extensions` fields for `case`: `Ok(None)` when it
/// offered no permessage-deflate that fits, `Err` when an offer is malformed (Autobahn then
/// refuses the handshake with 400).
pub(crate) fn accept<'a, I>(
    case: &DeflateEcho,
    fields: I,
) -> Result<Option<Acceptance>, ExtensionError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let fields: Vec<&[u8]> = fields.into_iter().collect();
    if fields.is_empty() {
        return Ok(None);
    }
    let offers = parse_extension_fields(fields)?
        .into_iter()
        .filter(|e| e.name == PERMESSAGE_DEFLATE)
        .map(|e| DeflateParams::from_params(&e.params, Side::Offer))
        .collect::<Result<Vec<_>, _>>()?;
    for want in &case.offers {
        let (nct, window) = (want.server_no_context_takeover, want.server_max_window_bits);
        let fit = offers
            .iter()
            .find(|o| window.is_none() || o.client_max_window_bits.is_some());
        if let Some(offer) = fit {
            let answer = DeflateParams {
                server_no_context_takeover: offer.server_no_context_takeover,
                server_max_window_bits: offer.server_max_window_bits,
                client_no_context_takeover: nct,
                client_max_window_bits: window.map(ClientWindowBits::Bits),
            };
            let config = DeflateConfig {
                server_no_context_takeover: offer.server_no_context_takeover,
                server_max_window_bits: offer.server_max_window_bits.unwrap_or(WindowBits::MAX),
                client_no_context_takeover: nct,
                client_max_window_bits: window.unwrap_or(WindowBits::MAX),
            };
            return Ok(Some(Acceptance { answer, config }));
        }
    }
    Ok(None)
}

/// The answers a case gives, in the order it tries them (`permessage-deflate;
/// client_max_window_bits=9, else permessage-deflate`), for the report.
pub(crate) fn answers(case: &DeflateEcho) -> String {
    case.offers
        .iter()
        .map(|want| {
            DeflateParams {
                client_no_context_takeover: want.server_no_context_takeover,
                client_max_window_bits: want.server_max_window_bits.map(ClientWindowBits::Bits),
                ..DeflateParams::new()
            }
            .to_string()
        })
        .collect::<Vec<_>>()
        .join(", else ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::autobahn::cat12_13::offer;
    use crate::suite::autobahn::deflate_data::DataSet;

    fn case(offers: &[(bool, Option<u8>)]) -> DeflateEcho {
        DeflateEcho {
            offers: offers.iter().map(|&(n, w)| offer(n, w)).collect(),
            set: DataSet::Json,
            len: 16,
            count: 1,
            fragment: None,
        }
    }

    fn answer(c: &DeflateEcho, header: &str) -> Option<String> {
        accept(c, [header.as_bytes()])
            .unwrap()
            .map(|a| a.answer.to_string())
    }

    #[test]
    fn answers_as_autobahns_server() {
        // `ws`'s default offer.
        let ws = "permessage-deflate; client_max_window_bits";
        assert_eq!(
            answer(&case(&[(false, None)]), ws).as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            answer(&case(&[(true, Some(9))]), ws).as_deref(),
            Some("permessage-deflate; client_no_context_takeover; client_max_window_bits=9")
        );
        // A window is never asked of an offer without client_max_window_bits; 13.7 then
        // falls back to client_no_context_takeover alone.
        let bare = "permessage-deflate; server_no_context_takeover";
        assert_eq!(answer(&case(&[(false, Some(15))]), bare), None);
        assert_eq!(
            answer(&case(&[(true, Some(9)), (true, None), (false, None)]), bare).as_deref(),
            Some("permessage-deflate; client_no_context_takeover; server_no_context_takeover")
        );
        // Other extensions are passed over; no offer at all is no acceptance.
        assert_eq!(answer(&case(&[(false, None)]), "x-foo"), None);
        assert!(accept(&case(&[(false, None)]), std::iter::empty())
            .unwrap()
            .is_none());
        // A malformed offer is an error (Autobahn answers 400).
        assert!(accept(&case(&[(false, None)]), [&b"permessage-deflate; foo"[..]]).is_err());
    }
}
