//! Deliberate bugs for the reference server, one switch per class of defect the suite must catch.
//!
//! A conformance kit is only trustworthy if it fails broken servers. Each switch below turns
//! the otherwise strictly conforming [`crate::server::reference`] server into one with a single,
//! well-defined bug, so a test can run the suite against it and assert that the named cases
//! go red. The doc comment of each switch names the RFC 6455 rule it breaks and the
//! Autobahn-compatible case ids (see the case catalog) that are expected to catch it.
//!
//! [`Faults::parse`] reads a comma-separated list of switch names (as printed by
//! [`Faults::NAMES`]) so the CLI can offer `wsspec serve --fault no_pong,wrong_accept_key`.

use std::fmt;

/// Switches that break the reference server on purpose. All `false` (the default) means a
/// strictly conforming server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Faults {
    // ---- opening handshake (§4.2) ----
    /// §4.2.2 item 5.4: `Sec-WebSocket-Accept` is derived from a different key, so every
    /// client MUST fail the handshake (§4.1). Caught by every case (e.g. 1.1.1): the opening
    /// handshake never completes, behavior and close verdict FAILED.
    pub wrong_accept_key: bool,
    /// §4.2.2 item 5.5 / §4.1 client item 6: answers with a `Sec-WebSocket-Protocol` the
    /// client never offered. Caught by every case (Autobahn offers no subprotocol), e.g. 1.1.1,
    /// since a conforming client fails the handshake.
    pub select_unoffered_protocol: bool,
    /// §4.1 client item 5 / §9.1: accepts `permessage-deflate` although the client offered no
    /// extension. Caught by every case (e.g. 1.1.1): the client MUST fail the handshake.
    pub accept_unoffered_extension: bool,
    /// §4.2.1 item 6 / §4.4: upgrades a request whose `Sec-WebSocket-Version` is not 13
    /// instead of answering 426 with `Sec-WebSocket-Version: 13`. Not reachable by Autobahn
    /// cases (they always send 13); caught by the kit's own version-negotiation check.
    pub accept_any_version: bool,

    // ---- frames from the client (§5.1, §5.2, §5.4, §5.5) ----
    /// §5.1: processes unmasked client frames instead of failing with 1002. Autobahn never
    /// sends an unmasked frame; caught by the kit's own unmasked-frame check.
    pub accept_unmasked_frames: bool,
    /// §5.2: ignores RSV1-3 instead of failing with 1002 when no extension defines them.
    /// Caught by 3.1-3.6 (echo or pong arrives where none may). Not by 3.7: a close with RSV
    /// bits is then answered like a normal close, which that case cannot tell apart.
    pub accept_rsv_bits: bool,
    /// §5.2: silently skips frames with a reserved opcode (0x3-0x7, 0xB-0xF) instead of
    /// failing. Caught by 4.1.1-4.2.5 (the trailing ping is answered, or no close arrives and
    /// the fuzzer's kill timer makes it the closer).
    pub accept_reserved_opcodes: bool,
    /// §5.5: handles a control frame with FIN=0 as if complete. Caught by 5.1 (a pong comes
    /// back for a fragmented ping). Not by 5.2: an ignored fragmented pong leaves the same
    /// trace as a rejected one once the following continuation fails the connection.
    pub accept_fragmented_control: bool,
    /// §5.5: accepts control frames longer than 125 bytes (and answers a long ping with a
    /// long pong). Caught by 2.5 and 7.3.6.
    pub accept_long_control: bool,
    /// §5.4: skips a continuation frame with no open message and a new data frame inside an
    /// open message instead of failing. Caught by 5.9-5.18.
    pub ignore_fragmentation_errors: bool,

    // ---- UTF-8 (§5.6, §8.1) ----
    /// §8.1: never validates text, echoing invalid UTF-8 as a text message. Caught by 6.3.1,
    /// 6.3.2, 6.4.1-6.4.4 and every invalid 6.5-6.21 case (the client fails, wrong endpoint).
    pub no_utf8_validation: bool,
    /// §8.1 fail-fast: validates text only when the whole message has arrived. Caught by
    /// 6.4.1-6.4.4, which become NON-STRICT instead of OK.
    pub late_utf8_validation: bool,
    /// §8.1 fail-fast: validates text at the end of each frame, not per byte as it arrives.
    /// Passes 6.4.1/6.4.2 (parts are frames) but turns 6.4.3/6.4.4 (one streamed frame) into
    /// NON-STRICT.
    pub frame_utf8_validation: bool,
    /// §7.4.1: fails invalid UTF-8 with close code 1002 instead of 1007. Caught by the close
    /// verdict (WRONG CODE) of 6.3.x, 6.4.x and the invalid 6.5-6.21 cases.
    pub utf8_error_close_1002: bool,

    // ---- ping / pong (§5.5.2, §5.5.3) ----
    /// §5.5.2: never answers a ping. Caught by 2.1-2.4, 2.6, 2.9-2.11, 5.6-5.8, 5.19, 5.20.
    pub no_pong: bool,
    /// §5.5.3: the pong's payload differs from the ping's (first byte flipped, or one byte for
    /// an empty ping). Caught by 2.1-2.4, 2.6, 2.9-2.11, 5.6-5.8, 5.19, 5.20.
    pub pong_wrong_payload: bool,

    // ---- closing handshake (§5.5.1, §7) ----
    /// §5.5.1: answers a close with code 1001 instead of echoing the client's code (or
    /// sending none). Caught by 7.1.1-7.1.5, 7.3.1, 7.3.3-7.3.5, 7.7.1, 7.7.3-7.7.13 (WRONG
    /// CODE, behavior FAILED) and by the close verdict of every case closed with 1000. Not by
    /// 7.7.2, which allows 1001.
    pub close_reply_1001: bool,
    /// §5.5.1: drops TCP on a client close without sending a close frame back. Caught by the
    /// close verdict (UNCLEAN) of every case with `me [1000] clean`, e.g. 1.1.1, 2.1, 7.1.1.
    pub no_close_reply: bool,
    /// §7.1.1: after the close handshake the server waits for the client to drop TCP instead
    /// of closing first. Caught by every case: UNCLEAN when the fuzzer closed (1.1.1, 7.1.1),
    /// FAILED BY CLIENT when the server failed the connection (2.5, 3.1).
    pub keep_tcp_open_after_close: bool,
    /// §7.4: echoes close codes an endpoint may not send (0, 999, 1004-1006, 1016, 1100,
    /// 2000, 2999, 5000+) instead of failing with 1002. Caught by 7.9.1-7.9.9 (WRONG CODE).
    pub accept_invalid_close_codes: bool,
    /// §5.5.1: treats a 1-byte close payload as a normal close (replies 1000) instead of
    /// failing with 1002. Caught by 7.3.2 (WRONG CODE).
    pub accept_1byte_close: bool,
    /// §5.5.1: does not validate the close reason as UTF-8 (replies 1000). Caught by 7.5.1.
    pub accept_invalid_close_reason: bool,
    /// §5.5.1 / §1.4: after sending its close frame the server still answers pings and
    /// echoes data for a moment. Caught by 7.1.3, 7.1.4 and 7.1.5.
    pub respond_after_close: bool,

    // ---- frames to the client (§5.1, §5.2) ----
    /// §5.1: masks the frames the server sends. Caught by every case expecting an echo or
    /// pong (1.1.1-1.2.8, 2.1, ...): the client MUST fail the connection.
    pub mask_server_frames: bool,
    /// §5.2: writes every length in the 64-bit form, even when 7 or 16 bits suffice. Caught
    /// by 1.1.1-1.1.6, 1.2.1-1.2.6, 2.1-2.4 and every short echo.
    pub non_minimal_lengths: bool,

    // ---- connection lifetime and legal-but-unusual behaviour (x.* checks) ----
    /// §4.2.2 / §7.1.1: half-closes TCP (sends FIN) right after the 101 and never answers a
    /// frame. Most "the server must fail the connection" Autobahn cases grade this OK (the
    /// connection ends, no event arrives); caught by x.4.1 (an echo after an idle pause) and
    /// x.4.2 (a bad frame must be answered with a close frame), and by every echo case.
    pub half_close_after_upgrade: bool,
    /// §5.5.3: answers an unsolicited pong with a pong of the same payload instead of
    /// ignoring it. Caught by 2.7, 2.8, 2.9 and x.5.6, x.5.7.
    pub answer_pongs: bool,
    /// Not a bug: pings the client (§5.5.2 allows a ping at any time after the handshake)
    /// right after the 101 and before every echo. A conforming client answers and nothing
    /// else changes, so every case must still pass (the kit answers server pings).
    pub ping_client: bool,
}

/// A name given to [`Faults::parse`] that is not a known switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFault {
    /// The name as given.
    pub name: String,
}

impl fmt::Display for UnknownFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown fault {:?}; expected a comma-separated list of: {}",
            self.name,
            Faults::NAMES.join(", ")
        )
    }
}

impl std::error::Error for UnknownFault {}

macro_rules! fault_table {
    ($($name:ident),* $(,)?) => {
        impl Faults {
            /// Every switch name, in declaration order, as accepted by [`Faults::parse`].
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            fn slot(&mut self, name: &str) -> Option<&mut bool> {
                match name {
                    $(stringify!($name) => Some(&mut self.$name),)*
                    _ => None,
                }
            }

            /// Names of the switches that are on, in declaration order.
            pub fn enabled(&self) -> Vec<&'static str> {
                let mut v = Vec::new();
                $(if self.$name { v.push(stringify!($name)); })*
                v
            }
        }
    };
}

fault_table!(
    wrong_accept_key,
    select_unoffered_protocol,
    accept_unoffered_extension,
    accept_any_version,
    accept_unmasked_frames,
    accept_rsv_bits,
    accept_reserved_opcodes,
    accept_fragmented_control,
    accept_long_control,
    ignore_fragmentation_errors,
    no_utf8_validation,
    late_utf8_validation,
    frame_utf8_validation,
    utf8_error_close_1002,
    no_pong,
    pong_wrong_payload,
    close_reply_1001,
    no_close_reply,
    keep_tcp_open_after_close,
    accept_invalid_close_codes,
    accept_1byte_close,
    accept_invalid_close_reason,
    respond_after_close,
    mask_server_frames,
    non_minimal_lengths,
    half_close_after_upgrade,
    answer_pongs,
    ping_client,
);

impl Faults {
    /// No faults: a strictly conforming server.
    pub const fn none() -> Self {
        Faults {
            wrong_accept_key: false,
            select_unoffered_protocol: false,
            accept_unoffered_extension: false,
            accept_any_version: false,
            accept_unmasked_frames: false,
            accept_rsv_bits: false,
            accept_reserved_opcodes: false,
            accept_fragmented_control: false,
            accept_long_control: false,
            ignore_fragmentation_errors: false,
            no_utf8_validation: false,
            late_utf8_validation: false,
            frame_utf8_validation: false,
            utf8_error_close_1002: false,
            no_pong: false,
            pong_wrong_payload: false,
            close_reply_1001: false,
            no_close_reply: false,
            keep_tcp_open_after_close: false,
            accept_invalid_close_codes: false,
            accept_1byte_close: false,
            accept_invalid_close_reason: false,
            respond_after_close: false,
            mask_server_frames: false,
            non_minimal_lengths: false,
            half_close_after_upgrade: false,
            answer_pongs: false,
            ping_client: false,
        }
    }

    /// Parses a comma-separated list of switch names (whitespace around names is ignored,
    /// `-` is read as `_`, an empty string means no faults).
    pub fn parse(list: &str) -> Result<Faults, UnknownFault> {
        let mut f = Faults::none();
        for raw in list.split(',') {
            let name = raw.trim().replace('-', "_");
            if name.is_empty() {
                continue;
            }
            match f.slot(&name) {
                Some(b) => *b = true,
                None => {
                    return Err(UnknownFault {
                        name: raw.trim().to_owned(),
                    })
                }
            }
        }
        Ok(f)
    }

    /// Turns on the switch `name`; false if there is no such switch.
    pub fn set(&mut self, name: &str) -> bool {
        match self.slot(&name.replace('-', "_")) {
            Some(b) => {
                *b = true;
                true
            }
            None => false,
        }
    }

    /// True when no switch is on.
    pub fn is_none(&self) -> bool {
        *self == Faults::none()
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = self.enabled();
        if on.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&on.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_every_name() {
        for name in Faults::NAMES {
            let f = Faults::parse(name).unwrap();
            assert_eq!(f.enabled(), vec![*name]);
            assert_eq!(f.to_string(), *name);
        }
        let all = Faults::parse(&Faults::NAMES.join(",")).unwrap();
        assert_eq!(all.enabled().len(), Faults::NAMES.len());
    }

    #[test]
    fn parse_list_and_errors() {
        let f = Faults::parse(" no_pong , wrong-accept-key,").unwrap();
        assert!(f.no_pong && f.wrong_accept_key);
        assert_eq!(f.enabled().len(), 2);
        assert!(Faults::parse("").unwrap().is_none());
        let e = Faults::parse("no_pong,bogus").unwrap_err();
        assert_eq!(e.name, "bogus");
        assert!(e.to_string().contains("no_pong"));
    }
}
