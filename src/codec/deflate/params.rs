//! The four permessage-deflate parameters of RFC 7692 §7.1, typed, with the per-parameter
//! rules of offers and answers.

use std::fmt;

use super::error::ExtensionError;
use super::header::{Extension, ExtensionParam};

/// The registered extension name (RFC 7692 §7).
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

const SERVER_NCT: &str = "server_no_context_takeover";
const CLIENT_NCT: &str = "client_no_context_takeover";
const SERVER_MWB: &str = "server_max_window_bits";
const CLIENT_MWB: &str = "client_max_window_bits";

/// The base-2 logarithm of an LZ77 window, 8 to 15 (RFC 7692 §7.1.2).
///
/// zlib cannot deflate with a 256-byte window (8): it refuses raw deflate with 8. wsspec
/// compresses with 9 in that case, which is still honest: zlib's matcher never reaches back
/// further than the window minus its 262-byte lookahead (`MAX_DIST`), 250 bytes for a 512-byte
/// window, so every distance it emits fits a 256-byte window. `tests/prop/deflate_python.rs`
/// checks this with an independent inflater that enforces the 256-byte window byte by byte.
/// Inflating with 9 accepts every stream made for 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WindowBits(u8);

impl WindowBits {
    /// The smallest window, 256 bytes.
    pub const MIN: WindowBits = WindowBits(8);
    /// The largest and default window, 32 KiB.
    pub const MAX: WindowBits = WindowBits(15);

    /// `bits` if it is within 8..=15.
    pub const fn new(bits: u8) -> Option<WindowBits> {
        if bits >= 8 && bits <= 15 {
            Some(WindowBits(bits))
        } else {
            None
        }
    }

    /// The value, 8..=15.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Window size in bytes.
    pub const fn size(self) -> usize {
        1 << self.0
    }

    /// The window bits handed to zlib for deflate and inflate (9 for 8, see the type docs).
    pub(crate) const fn zlib_bits(self) -> u8 {
        if self.0 < 9 {
            9
        } else {
            self.0
        }
    }

    /// Parses a parameter value: a decimal integer 8..=15 without leading zeroes.
    fn parse(name: &'static str, value: &str) -> Result<WindowBits, ExtensionError> {
        let bad = || ExtensionError::InvalidWindowBits {
            name,
            value: value.to_owned(),
        };
        if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        value
            .parse::<u8>()
            .ok()
            .and_then(WindowBits::new)
            .ok_or_else(bad)
    }
}

impl fmt::Display for WindowBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `client_max_window_bits` in an offer: bare ("I can honour a limit") or with a value (a hint
/// that the client will use at most that window), RFC 7692 §7.1.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientWindowBits {
    /// The bare parameter (offers only).
    Any,
    /// The parameter with a value.
    Bits(WindowBits),
}

impl ClientWindowBits {
    /// The value, if any.
    pub fn bits(self) -> Option<WindowBits> {
        match self {
            ClientWindowBits::Any => None,
            ClientWindowBits::Bits(b) => Some(b),
        }
    }
}

/// Where a parameter list appears: the rules differ (RFC 7692 §7.1.2.2: a bare
/// `client_max_window_bits` is allowed in an offer only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// A client's offer.
    Offer,
    /// A server's answer.
    Answer,
}

/// One permessage-deflate element: the parameters as they are on the wire, in an offer or an
/// answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DeflateParams {
    /// §7.1.1.1: the server resets its compression context after each message.
    pub server_no_context_takeover: bool,
    /// §7.1.1.2: the client resets its compression context after each message.
    pub client_no_context_takeover: bool,
    /// §7.1.2.1: the largest window the server may compress with.
    pub server_max_window_bits: Option<WindowBits>,
    /// §7.1.2.2: the largest window the client may compress with (bare in offers only).
    pub client_max_window_bits: Option<ClientWindowBits>,
}

impl DeflateParams {
    /// `permessage-deflate` without parameters.
    pub fn new() -> Self {
        DeflateParams::default()
    }

    /// Adds `server_no_context_takeover`.
    pub fn server_no_context_takeover(mut self) -> Self {
        self.server_no_context_takeover = true;
        self
    }

    /// Adds `client_no_context_takeover`.
    pub fn client_no_context_takeover(mut self) -> Self {
        self.client_no_context_takeover = true;
        self
    }

    /// Adds `server_max_window_bits=bits`.
    pub fn server_max_window_bits(mut self, bits: WindowBits) -> Self {
        self.server_max_window_bits = Some(bits);
        self
    }

    /// Adds `client_max_window_bits`, bare for `None`.
    pub fn client_max_window_bits(mut self, bits: Option<WindowBits>) -> Self {
        self.client_max_window_bits =
            Some(bits.map_or(ClientWindowBits::Any, ClientWindowBits::Bits));
        self
    }

    /// Reads the parameters of one permessage-deflate element, with the rules of `side`:
    /// unknown and repeated parameters, values on `*_no_context_takeover`, missing or
    /// malformed window sizes are errors naming their section.
    pub fn from_params(params: &[ExtensionParam], side: Side) -> Result<Self, ExtensionError> {
        let mut out = DeflateParams::default();
        let mut seen = [false; 4];
        for p in params {
            let (idx, name) = match p.name.as_str() {
                SERVER_NCT => (0, SERVER_NCT),
                CLIENT_NCT => (1, CLIENT_NCT),
                SERVER_MWB => (2, SERVER_MWB),
                CLIENT_MWB => (3, CLIENT_MWB),
                _ => {
                    return Err(ExtensionError::UnknownParameter {
                        name: p.name.clone(),
                    })
                }
            };
            if std::mem::replace(&mut seen[idx], true) {
                return Err(ExtensionError::DuplicateParameter { name });
            }
            match (idx, &p.value) {
                (0 | 1, Some(v)) => {
                    return Err(ExtensionError::UnexpectedValue {
                        name,
                        value: v.clone(),
                    })
                }
                (0, None) => out.server_no_context_takeover = true,
                (1, None) => out.client_no_context_takeover = true,
                (2, Some(v)) => out.server_max_window_bits = Some(WindowBits::parse(name, v)?),
                (_, Some(v)) => {
                    out.client_max_window_bits =
                        Some(ClientWindowBits::Bits(WindowBits::parse(name, v)?))
                }
                (3, None) if side == Side::Offer => {
                    out.client_max_window_bits = Some(ClientWindowBits::Any)
                }
                (_, None) => return Err(ExtensionError::MissingValue { name }),
            }
        }
        Ok(out)
    }

    /// The element on the wire. Parameters come in the order Autobahn|Testsuite writes them
    /// (`client_no_context_takeover`, `client_max_window_bits`, `server_no_context_takeover`,
    /// `server_max_window_bits`), so its offers are reproduced byte for byte.
    pub fn to_extension(&self) -> Extension {
        let mut e = Extension::new(PERMESSAGE_DEFLATE);
        if self.client_no_context_takeover {
            e = e.param(CLIENT_NCT, None);
        }
        if let Some(c) = self.client_max_window_bits {
            e = e.param(CLIENT_MWB, c.bits().map(|b| b.to_string()));
        }
        if self.server_no_context_takeover {
            e = e.param(SERVER_NCT, None);
        }
        if let Some(b) = self.server_max_window_bits {
            e = e.param(SERVER_MWB, Some(b.to_string()));
        }
        e
    }
}

impl fmt::Display for DeflateParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_extension().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::deflate::header::parse_extensions;

    fn read(s: &str, side: Side) -> Result<DeflateParams, ExtensionError> {
        let l = parse_extensions(s.as_bytes()).unwrap();
        DeflateParams::from_params(&l[0].params, side)
    }

    #[test]
    fn window_values() {
        for ok in 8..=15u8 {
            let s = format!("permessage-deflate; server_max_window_bits={ok}");
            assert_eq!(
                read(&s, Side::Answer).unwrap().server_max_window_bits,
                WindowBits::new(ok)
            );
        }
        for bad in ["7", "16", "08", "010", "1a", "+9", "255", "99999999999"] {
            let s = format!("permessage-deflate; client_max_window_bits={bad}");
            assert_eq!(
                read(&s, Side::Offer),
                Err(ExtensionError::InvalidWindowBits {
                    name: "client_max_window_bits",
                    value: bad.into()
                }),
                "{bad}"
            );
        }
        // A quoted value is unescaped first (RFC 6455 §9.1).
        assert_eq!(
            read(
                "permessage-deflate; server_max_window_bits=\"10\"",
                Side::Offer
            )
            .unwrap()
            .server_max_window_bits,
            WindowBits::new(10)
        );
    }

    #[test]
    fn parameter_rules_per_side() {
        assert_eq!(
            read("permessage-deflate; client_max_window_bits", Side::Offer)
                .unwrap()
                .client_max_window_bits,
            Some(ClientWindowBits::Any)
        );
        assert_eq!(
            read("permessage-deflate; client_max_window_bits", Side::Answer),
            Err(ExtensionError::MissingValue {
                name: "client_max_window_bits"
            })
        );
        assert_eq!(
            read("permessage-deflate; server_max_window_bits", Side::Offer),
            Err(ExtensionError::MissingValue {
                name: "server_max_window_bits"
            })
        );
        assert_eq!(
            read(
                "permessage-deflate; server_no_context_takeover=1",
                Side::Offer
            ),
            Err(ExtensionError::UnexpectedValue {
                name: "server_no_context_takeover",
                value: "1".into()
            })
        );
        assert_eq!(
            read(
                "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                Side::Answer
            ),
            Err(ExtensionError::DuplicateParameter {
                name: "client_no_context_takeover"
            })
        );
        assert_eq!(
            read("permessage-deflate; x_window_bits=9", Side::Offer),
            Err(ExtensionError::UnknownParameter {
                name: "x_window_bits".into()
            })
        );
    }

    #[test]
    fn serialization_round_trips() {
        let p = DeflateParams::new()
            .server_no_context_takeover()
            .client_no_context_takeover()
            .server_max_window_bits(WindowBits::MIN)
            .client_max_window_bits(None);
        let s = p.to_string();
        assert_eq!(
            s,
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
             server_no_context_takeover; server_max_window_bits=8"
        );
        assert_eq!(read(&s, Side::Offer).unwrap(), p);
    }
}
