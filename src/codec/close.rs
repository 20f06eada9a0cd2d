//! Close frame payloads (RFC 6455 §5.5.1) and close codes (§7.4, IANA registry).

use super::error::ProtocolError;
use super::utf8;

/// Whether an endpoint may send `code` in a close frame.
///
/// §7.4.1 and §7.4.2 with the IANA "WebSocket Close Code Number Registry":
/// * 1000-1003, 1007-1011 are defined by RFC 6455;
/// * 1012 (Service Restart), 1013 (Try Again Later), 1014 (Bad Gateway) are registered and valid;
/// * 1004 (reserved), 1005 (No Status Rcvd), 1006 (Abnormal Closure) and 1015 (TLS handshake)
///   MUST NOT be set in a close frame;
/// * the rest of 1000-2999 is reserved for future RFCs, so it is invalid today;
/// * 3000-3999 (registered) and 4000-4999 (private use) are valid;
/// * anything below 1000 or from 5000 up is not a close code.
pub const fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// A decoded close payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    /// Status code.
    pub code: u16,
    /// Reason, validated as UTF-8.
    pub reason: &'a str,
}

/// Parses and validates a close payload. An empty payload means "no status code" (`None`).
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<CloseFrame<'_>>, ProtocolError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(ProtocolError::CloseLengthOne),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            if !is_valid_close_code(code) {
                return Err(ProtocolError::InvalidCloseCode(code));
            }
            let raw = &payload[2..];
            utf8::validate(raw)
                .map_err(|e| ProtocolError::InvalidCloseReason { offset: e.offset })?;
            // Validated just above; from_utf8 cannot fail here.
            let reason = std::str::from_utf8(raw).unwrap_or_default();
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}

/// Builds a close payload (code then reason). Any code can be written, valid or not.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 + reason.len());
    v.extend_from_slice(&code.to_be_bytes());
    v.extend_from_slice(reason);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_ranges() {
        for c in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            assert!(is_valid_close_code(c), "{c}");
        }
        for c in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!is_valid_close_code(c), "{c}");
        }
    }

    #[test]
    fn payload_rules() {
        assert_eq!(parse_close_payload(&[]), Ok(None));
        assert_eq!(
            parse_close_payload(b"a"),
            Err(ProtocolError::CloseLengthOne)
        );
        assert_eq!(
            parse_close_payload(&close_payload(1005, b"")),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            parse_close_payload(&close_payload(1000, &[0xce, 0xba, 0xed, 0xa0, 0x80])),
            Err(ProtocolError::InvalidCloseReason { offset: 3 })
        );
        assert_eq!(
            parse_close_payload(&close_payload(1013, b"later")),
            Ok(Some(CloseFrame {
                code: 1013,
                reason: "later"
            }))
        );
    }
}
