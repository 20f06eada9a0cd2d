//! permessage-deflate negotiation for both roles (RFC 7692 §5, §7).
//!
//! * Client: [`offer_header`] writes one or several offers in preference order;
//!   [`validate_answer`] checks the server's answer against them and yields the connection's
//!   [`DeflateConfig`]. [`AnswerCheck`] selects the rules: RFC 7692 as written, or
//!   Autobahn|Testsuite's leniency, which accepts any well-formed single answer whatever was
//!   offered. One parser serves both; only the offer-matching step differs.
//! * Server: [`ServerPolicy::choose`] accepts the first acceptable offer, declines the others
//!   with their reasons, and builds the answer.

use super::compress::{Compressor, Decompressor};
use super::error::ExtensionError;
use super::header::{parse_extension_fields, Extension};
use super::params::{ClientWindowBits, DeflateParams, Side, WindowBits, PERMESSAGE_DEFLATE};
use crate::codec::frame::Role;

/// What both endpoints agreed on: the compression settings of each direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeflateConfig {
    /// The server resets its compressor (and the client its decompressor) after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor (and the server its decompressor) after each message.
    pub client_no_context_takeover: bool,
    /// Window of the server-to-client direction.
    pub server_max_window_bits: WindowBits,
    /// Window of the client-to-server direction.
    pub client_max_window_bits: WindowBits,
}

impl Default for DeflateConfig {
    /// What a bare `permessage-deflate` answer means: context takeover, 32 KiB windows.
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: WindowBits::MAX,
            client_max_window_bits: WindowBits::MAX,
        }
    }
}

impl DeflateConfig {
    /// (window, no_context_takeover) of what `role` sends.
    fn sending(&self, role: Role) -> (WindowBits, bool) {
        match role {
            Role::Server => (self.server_max_window_bits, self.server_no_context_takeover),
            Role::Client => (self.client_max_window_bits, self.client_no_context_takeover),
        }
    }

    /// The compressor for messages `role` sends.
    pub fn compressor(&self, role: Role) -> Compressor {
        let (w, nct) = self.sending(role);
        Compressor::new(w, nct)
    }

    /// The decompressor for messages `role` receives, stopping at `max_message_size` inflated
    /// bytes per message.
    pub fn decompressor(&self, role: Role, max_message_size: u64) -> Decompressor {
        let peer = match role {
            Role::Server => Role::Client,
            Role::Client => Role::Server,
        };
        let (w, nct) = self.sending(peer);
        Decompressor::new(w, nct, max_message_size)
    }
}

/// The `Sec-WebSocket-Extensions` value offering `offers` in preference order (RFC 7692 §5).
pub fn offer_header(offers: &[DeflateParams]) -> String {
    offers
        .iter()
        .map(DeflateParams::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a client judges the server's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AnswerCheck {
    /// RFC 7692 as written: the answer must match one of the offers (§7.1.1.1, §7.1.2.1,
    /// §7.1.2.2). An offered `client_no_context_takeover` is honoured even if the answer does
    /// not repeat it, as the client announced (§7.1.1.2), and an offered
    /// `client_max_window_bits=N` caps the client's window.
    #[default]
    Strict,
    /// Autobahn|Testsuite's fuzzer: any syntactically valid single answer is accepted
    /// (unknown or repeated parameters, window values outside 8-15, a bare
    /// `client_max_window_bits`, several elements or other extensions still fail), and the
    /// configuration follows the answer alone.
    Autobahn,
}

/// Checks the server's `Sec-WebSocket-Extensions` fields against the offers the client sent.
///
/// `Ok(None)`: the server did not accept permessage-deflate (no field, or no such element).
/// `Ok(Some(config))`: the settings to compress and inflate with.
pub fn validate_answer<'a, I>(
    offers: &[DeflateParams],
    fields: I,
    check: AnswerCheck,
) -> Result<Option<DeflateConfig>, ExtensionError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let fields: Vec<&[u8]> = fields.into_iter().collect();
    if fields.is_empty() {
        return Ok(None);
    }
    let list = parse_extension_fields(fields)?;
    validate_answer_list(offers, &list, check)
}

/// [`validate_answer`] on an already parsed list.
pub fn validate_answer_list(
    offers: &[DeflateParams],
    list: &[Extension],
    check: AnswerCheck,
) -> Result<Option<DeflateConfig>, ExtensionError> {
    if let Some(other) = list.iter().find(|e| e.name != PERMESSAGE_DEFLATE) {
        return Err(ExtensionError::ExtensionNotOffered {
            name: other.name.clone(),
        });
    }
    let answer = match list {
        [] => return Ok(None),
        [one] => DeflateParams::from_params(&one.params, Side::Answer)?,
        many => return Err(ExtensionError::MultipleAnswers { count: many.len() }),
    };
    if offers.is_empty() {
        return Err(ExtensionError::ExtensionNotOffered {
            name: PERMESSAGE_DEFLATE.to_owned(),
        });
    }
    match check {
        AnswerCheck::Autobahn => Ok(Some(DeflateConfig {
            server_no_context_takeover: answer.server_no_context_takeover,
            client_no_context_takeover: answer.client_no_context_takeover,
            server_max_window_bits: answer.server_max_window_bits.unwrap_or(WindowBits::MAX),
            client_max_window_bits: answer_client_window(&answer).unwrap_or(WindowBits::MAX),
        })),
        AnswerCheck::Strict => {
            let mut reasons = Vec::new();
            for offer in offers {
                match match_offer(offer, &answer) {
                    Ok(config) => return Ok(Some(config)),
                    Err(e) => reasons.push(e),
                }
            }
            Err(if reasons.len() == 1 {
                reasons.remove(0)
            } else {
                ExtensionError::NoOfferMatches(reasons)
            })
        }
    }
}

fn answer_client_window(answer: &DeflateParams) -> Option<WindowBits> {
    answer
        .client_max_window_bits
        .and_then(ClientWindowBits::bits)
}

/// The configuration if `answer` is a valid acceptance of `offer` (RFC 7692 §7.1).
fn match_offer(
    offer: &DeflateParams,
    answer: &DeflateParams,
) -> Result<DeflateConfig, ExtensionError> {
    if offer.server_no_context_takeover && !answer.server_no_context_takeover {
        return Err(ExtensionError::ServerNoContextTakeoverMissing);
    }
    if let Some(offered) = offer.server_max_window_bits {
        match answer.server_max_window_bits {
            None => {
                return Err(ExtensionError::ServerWindowMissing {
                    offered: offered.get(),
                })
            }
            Some(a) if a > offered => {
                return Err(ExtensionError::ServerWindowAboveOffer {
                    offered: offered.get(),
                    answered: a.get(),
                })
            }
            Some(_) => {}
        }
    }
    let answered_client = answer_client_window(answer);
    let client_window = match (offer.client_max_window_bits, answered_client) {
        (None, Some(_)) => return Err(ExtensionError::ClientWindowNotOffered),
        (Some(ClientWindowBits::Bits(o)), Some(a)) if a > o => {
            return Err(ExtensionError::ClientWindowAboveOffer {
                offered: o.get(),
                answered: a.get(),
            })
        }
        (_, Some(a)) => a,
        (Some(ClientWindowBits::Bits(o)), None) => o,
        _ => WindowBits::MAX,
    };
    Ok(DeflateConfig {
        server_no_context_takeover: answer.server_no_context_takeover,
        client_no_context_takeover: answer.client_no_context_takeover
            || offer.client_no_context_takeover,
        server_max_window_bits: answer.server_max_window_bits.unwrap_or(WindowBits::MAX),
        client_max_window_bits: client_window,
    })
}

/// How a server answers permessage-deflate offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerPolicy {
    /// Always reset the server's own compressor, announcing `server_no_context_takeover`
    /// even when not offered (§7.1.1.1 allows it).
    pub server_no_context_takeover: bool,
    /// Ask the client to reset its compressor (`client_no_context_takeover`, §7.1.1.2) even
    /// when the offer does not say it can; an offer that has the parameter is always
    /// answered with it, as `ws` and `websockets` do.
    pub client_no_context_takeover: bool,
    /// Compress with at most this window; announced as `server_max_window_bits` when smaller
    /// than an offered limit or than 15 (§7.1.2.1 allows it unoffered).
    pub server_max_window_bits: WindowBits,
    /// Decline offers whose `server_max_window_bits` is below this (§7.1.2.1: a server that
    /// cannot honour the limit declines).
    pub lowest_server_window_bits: WindowBits,
    /// Ask the client for at most this window, when the offer has `client_max_window_bits`
    /// (§7.1.2.2 forbids it otherwise; the server then inflates with 32 KiB).
    pub client_max_window_bits: Option<WindowBits>,
}

impl Default for ServerPolicy {
    /// Accept what is offered (an offered `client_no_context_takeover` included), add
    /// nothing: the behaviour of most servers (`ws`, `websockets`).
    fn default() -> Self {
        ServerPolicy {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: WindowBits::MAX,
            lowest_server_window_bits: WindowBits::MIN,
            client_max_window_bits: None,
        }
    }
}

/// The offer a server accepted, its answer and the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Index of the accepted offer among the permessage-deflate offers.
    pub offer: usize,
    /// The answer element to send.
    pub answer: DeflateParams,
    /// The agreed settings.
    pub config: DeflateConfig,
}

/// The outcome of [`ServerPolicy::choose`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerChoice {
    /// The accepted offer, if any.
    pub accepted: Option<Accepted>,
    /// Offers declined before the accepted one (or all of them), with the reason.
    pub declined: Vec<(usize, ExtensionError)>,
}

impl ServerChoice {
    /// The `Sec-WebSocket-Extensions` value to answer with, if an offer was accepted.
    pub fn answer_header(&self) -> Option<String> {
        self.accepted.as_ref().map(|a| a.answer.to_string())
    }
}

impl ServerPolicy {
    /// Reads the client's `Sec-WebSocket-Extensions` fields and picks the first acceptable
    /// permessage-deflate offer. A malformed header is an `Err`: the caller decides whether
    /// that rejects the handshake (400) or only declines the extension.
    pub fn choose_from_fields<'a, I>(&self, fields: I) -> Result<ServerChoice, ExtensionError>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let fields: Vec<&[u8]> = fields.into_iter().collect();
        if fields.is_empty() {
            return Ok(ServerChoice::default());
        }
        Ok(self.choose(&parse_extension_fields(fields)?))
    }

    /// Picks the first acceptable permessage-deflate offer of `list` (other extensions are
    /// skipped); invalid or unsupported offers are declined (RFC 7692 §7).
    pub fn choose(&self, list: &[Extension]) -> ServerChoice {
        let mut choice = ServerChoice::default();
        let offers = list.iter().filter(|e| e.name == PERMESSAGE_DEFLATE);
        for (i, ext) in offers.enumerate() {
            match DeflateParams::from_params(&ext.params, Side::Offer)
                .and_then(|offer| self.accept(&offer))
            {
                Ok((answer, config)) => {
                    choice.accepted = Some(Accepted {
                        offer: i,
                        answer,
                        config,
                    });
                    break;
                }
                Err(e) => choice.declined.push((i, e)),
            }
        }
        choice
    }

    /// The answer and configuration for one valid offer.
    pub fn accept(
        &self,
        offer: &DeflateParams,
    ) -> Result<(DeflateParams, DeflateConfig), ExtensionError> {
        let mut answer = DeflateParams::new();
        answer.server_no_context_takeover =
            offer.server_no_context_takeover || self.server_no_context_takeover;
        // §7.1.1.2: the offer's parameter says the client can reset; taking it up costs the
        // server nothing and saves it the client's window per connection.
        answer.client_no_context_takeover =
            offer.client_no_context_takeover || self.client_no_context_takeover;
        let own = self.server_max_window_bits;
        answer.server_max_window_bits = match offer.server_max_window_bits {
            Some(o) if o < self.lowest_server_window_bits => {
                return Err(ExtensionError::ServerWindowUnsupported {
                    offered: o.get(),
                    lowest: self.lowest_server_window_bits.get(),
                })
            }
            Some(o) => Some(o.min(own)),
            None if own < WindowBits::MAX => Some(own),
            None => None,
        };
        let client_window = match (offer.client_max_window_bits, self.client_max_window_bits) {
            (Some(c), Some(wanted)) => {
                let w = c.bits().map_or(wanted, |o| o.min(wanted));
                answer.client_max_window_bits = Some(ClientWindowBits::Bits(w));
                w
            }
            // An unanswered hint does not bind the client (§7.1.2.2): inflate with 32 KiB.
            _ => WindowBits::MAX,
        };
        let config = DeflateConfig {
            server_no_context_takeover: answer.server_no_context_takeover,
            client_no_context_takeover: answer.client_no_context_takeover,
            server_max_window_bits: answer.server_max_window_bits.unwrap_or(WindowBits::MAX),
            client_max_window_bits: client_window,
        };
        Ok((answer, config))
    }
}
