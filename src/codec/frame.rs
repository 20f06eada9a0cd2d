//! Frame headers (RFC 6455 §5.2): streaming parse and encode.
//!
//! Parsing follows httparse: [`parse_header`] looks at a byte slice and answers
//! [`Status::Complete`] with the header and its encoded length, [`Status::Partial`] with the
//! number of bytes still missing, or a [`ProtocolError`]. It never allocates and keeps no
//! state, so a caller can retry with a longer slice.
//!
//! Which violations are errors and which are reported:
//!
//! | condition | reported as |
//! | --- | --- |
//! | reserved opcode (0x3-0x7, 0xB-0xF) | [`ProtocolError::ReservedOpcode`] |
//! | RSV bit not allowed by [`HeaderRules::allowed_rsv`] | [`ProtocolError::ReservedBitsSet`] |
//! | control frame with FIN=0 | [`ProtocolError::FragmentedControlFrame`] |
//! | control frame payload > 125 | [`ProtocolError::ControlFrameTooLong`] |
//! | 64-bit length with the top bit set | [`ProtocolError::LengthTopBitSet`] |
//! | unmasked frame read by a server | [`ProtocolError::UnmaskedClientFrame`] |
//! | masked frame read by a client | [`ProtocolError::MaskedServerFrame`] |
//! | non-minimal length encoding | **accepted**; [`FrameHeader::is_minimal_length`] is false |
//!
//! Non-minimal lengths are accepted because RFC 6455 §5.2 states the minimal-encoding rule
//! for senders only ("the minimal number of bytes MUST be used") and most servers tolerate
//! it; the suites grade it (INFORMATIONAL or NON-STRICT) from the flag instead of the codec
//! rejecting it silently.
//!
//! Errors are reported as soon as the available bytes prove them: a reserved opcode is an
//! error after one byte, not after the whole header.

use super::error::ProtocolError;

/// A frame opcode (RFC 6455 §5.2), including the reserved values so that any byte round-trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continuation of a fragmented message.
    Continuation,
    /// 0x1: text data.
    Text,
    /// 0x2: binary data.
    Binary,
    /// 0x8: connection close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
    /// Any reserved value: 0x3-0x7 (data) or 0xB-0xF (control).
    Reserved(u8),
}

impl OpCode {
    /// Decodes the low 4 bits of `b`.
    #[inline]
    pub const fn from_u8(b: u8) -> OpCode {
        match b & 0x0f {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xa => OpCode::Pong,
            other => OpCode::Reserved(other),
        }
    }

    /// The 4-bit wire value.
    #[inline]
    pub const fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xa,
            OpCode::Reserved(v) => v & 0x0f,
        }
    }

    /// Control frames have the high bit of the opcode set (§5.5), reserved ones included.
    #[inline]
    pub const fn is_control(self) -> bool {
        self.as_u8() & 0x08 != 0
    }

    /// True for 0x3-0x7 and 0xB-0xF.
    #[inline]
    pub const fn is_reserved(self) -> bool {
        matches!(self, OpCode::Reserved(_))
    }

    /// Short lowercase name used in transcripts.
    pub fn name(self) -> String {
        match self {
            OpCode::Continuation => "cont".into(),
            OpCode::Text => "text".into(),
            OpCode::Binary => "binary".into(),
            OpCode::Close => "close".into(),
            OpCode::Ping => "ping".into(),
            OpCode::Pong => "pong".into(),
            OpCode::Reserved(v) => format!("reserved-0x{v:x}"),
        }
    }
}

/// How the payload length is written on the wire (§5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthEncoding {
    /// 7-bit length in the second byte (0-125).
    Short,
    /// 126 followed by a 16-bit big-endian length.
    U16,
    /// 127 followed by a 64-bit big-endian length.
    U64,
}

impl LengthEncoding {
    /// The encoding a conforming sender must use for `len` (§5.2, "the minimal number of bytes").
    #[inline]
    pub const fn minimal_for(len: u64) -> LengthEncoding {
        if len <= 125 {
            LengthEncoding::Short
        } else if len <= 0xffff {
            LengthEncoding::U16
        } else {
            LengthEncoding::U64
        }
    }

    /// Bytes following the second header byte for this encoding.
    #[inline]
    pub const fn extra_bytes(self) -> usize {
        match self {
            LengthEncoding::Short => 0,
            LengthEncoding::U16 => 2,
            LengthEncoding::U64 => 8,
        }
    }

    /// Whether this encoding can carry `len` at all.
    #[inline]
    pub const fn can_hold(self, len: u64) -> bool {
        match self {
            LengthEncoding::Short => len <= 125,
            LengthEncoding::U16 => len <= 0xffff,
            LengthEncoding::U64 => true,
        }
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// FIN bit: last fragment of a message.
    pub fin: bool,
    /// RSV1-3 as a 3-bit number: 4 = RSV1 (0x40), 2 = RSV2 (0x20), 1 = RSV3 (0x10).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// Masking key, when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length as announced by the header.
    pub payload_len: u64,
    /// How the length was (or will be) encoded.
    pub length_encoding: LengthEncoding,
}

/// Which endpoint is reading; decides the masking rule of §5.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We are the client: frames we read come from a server and MUST NOT be masked.
    Client,
    /// We are the server: frames we read come from a client and MUST be masked.
    Server,
}

/// The rules [`parse_header`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeaderRules {
    /// Our role, for the masking rule; `None` accepts both (for tools that inspect traffic).
    pub role: Option<Role>,
    /// RSV bits an extension negotiated (e.g. 4 for permessage-deflate's RSV1); 0 by default.
    pub allowed_rsv: u8,
}

impl HeaderRules {
    /// Rules for a server reading client frames: masked, no RSV bits.
    pub const fn server() -> Self {
        HeaderRules {
            role: Some(Role::Server),
            allowed_rsv: 0,
        }
    }
    /// Rules for a client reading server frames: unmasked, no RSV bits.
    pub const fn client() -> Self {
        HeaderRules {
            role: Some(Role::Client),
            allowed_rsv: 0,
        }
    }
    /// Structural rules only: masking is not checked.
    pub const fn any_role() -> Self {
        HeaderRules {
            role: None,
            allowed_rsv: 0,
        }
    }
}

/// Result of a streaming parse, in the style of httparse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// The value and the number of input bytes it used.
    Complete(T, usize),
    /// At least this many more bytes are needed.
    Partial(usize),
}

/// Maximum encoded header size: 2 + 8 (length) + 4 (mask).
pub const MAX_HEADER_LEN: usize = 14;

/// Parses a frame header from the start of `buf`.
#[inline]
pub fn parse_header(buf: &[u8], rules: HeaderRules) -> Result<Status<FrameHeader>, ProtocolError> {
    let Some(&b0) = buf.first() else {
        return Ok(Status::Partial(2));
    };
    let fin = b0 & 0x80 != 0;
    let rsv = (b0 >> 4) & 0x07;
    let opcode = OpCode::from_u8(b0);
    if let OpCode::Reserved(v) = opcode {
        return Err(ProtocolError::ReservedOpcode(v));
    }
    if rsv & !rules.allowed_rsv != 0 {
        return Err(ProtocolError::ReservedBitsSet { rsv });
    }
    let control = opcode.is_control();
    if control && !fin {
        return Err(ProtocolError::FragmentedControlFrame);
    }
    let Some(&b1) = buf.get(1) else {
        return Ok(Status::Partial(1));
    };
    let masked = b1 & 0x80 != 0;
    match (rules.role, masked) {
        (Some(Role::Server), false) => return Err(ProtocolError::UnmaskedClientFrame),
        (Some(Role::Client), true) => return Err(ProtocolError::MaskedServerFrame),
        _ => {}
    }
    let len7 = b1 & 0x7f;
    let length_encoding = match len7 {
        126 => LengthEncoding::U16,
        127 => LengthEncoding::U64,
        _ => LengthEncoding::Short,
    };
    if control && len7 > 125 {
        // The 16/64-bit form alone proves the payload is longer than 125, unless the sender
        // used a non-minimal encoding; read the length to report the real value when we can.
        let need = 2 + length_encoding.extra_bytes();
        if buf.len() >= need {
            let len = read_len(&buf[2..need], length_encoding);
            if len > 125 {
                return Err(ProtocolError::ControlFrameTooLong(len));
            }
        }
    }
    let len_end = 2 + length_encoding.extra_bytes();
    let total = len_end + if masked { 4 } else { 0 };
    if buf.len() < len_end {
        return Ok(Status::Partial(total - buf.len()));
    }
    let payload_len = match length_encoding {
        LengthEncoding::Short => len7 as u64,
        enc => read_len(&buf[2..len_end], enc),
    };
    if length_encoding == LengthEncoding::U64 && payload_len >> 63 != 0 {
        return Err(ProtocolError::LengthTopBitSet);
    }
    if control && payload_len > 125 {
        return Err(ProtocolError::ControlFrameTooLong(payload_len));
    }
    if buf.len() < total {
        return Ok(Status::Partial(total - buf.len()));
    }
    let mask = if masked {
        Some([
            buf[len_end],
            buf[len_end + 1],
            buf[len_end + 2],
            buf[len_end + 3],
        ])
    } else {
        None
    };
    Ok(Status::Complete(
        FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
            length_encoding,
        },
        total,
    ))
}

#[inline]
fn read_len(bytes: &[u8], enc: LengthEncoding) -> u64 {
    match enc {
        LengthEncoding::Short => 0,
        LengthEncoding::U16 => u16::from_be_bytes([bytes[0], bytes[1]]) as u64,
        LengthEncoding::U64 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[..8]);
            u64::from_be_bytes(b)
        }
    }
}

impl FrameHeader {
    /// A header for a conforming frame: minimal length encoding, no RSV bits.
    pub fn new(opcode: OpCode, fin: bool, payload_len: u64, mask: Option<[u8; 4]>) -> Self {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload_len,
            length_encoding: LengthEncoding::minimal_for(payload_len),
        }
    }

    /// Whether the length uses the minimal encoding a sender MUST use (§5.2).
    #[inline]
    pub fn is_minimal_length(&self) -> bool {
        self.length_encoding == LengthEncoding::minimal_for(self.payload_len)
    }

    /// Encoded size of this header.
    #[inline]
    pub fn encoded_len(&self) -> usize {
        2 + self.effective_encoding().extra_bytes() + if self.mask.is_some() { 4 } else { 0 }
    }

    /// The requested encoding if it can carry the length, else the minimal one.
    #[inline]
    fn effective_encoding(&self) -> LengthEncoding {
        if self.length_encoding.can_hold(self.payload_len) {
            self.length_encoding
        } else {
            LengthEncoding::minimal_for(self.payload_len)
        }
    }

    /// Writes the header exactly as described, valid or not, into `out`.
    ///
    /// Nothing is validated: reserved opcodes, RSV bits, fragmented control frames, a
    /// 64-bit length with the top bit set and non-minimal encodings are all written as
    /// asked, because the suites must be able to send them. The one thing that cannot be
    /// honoured, a length that does not fit the requested encoding, falls back to the
    /// minimal encoding. Returns the number of bytes written.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let enc = self.effective_encoding();
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x07) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = 2;
        match enc {
            LengthEncoding::Short => out[1] = mask_bit | self.payload_len as u8,
            LengthEncoding::U16 => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
                n = 4;
            }
            LengthEncoding::U64 => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
                n = 10;
            }
        }
        if let Some(m) = self.mask {
            out[n..n + 4].copy_from_slice(&m);
            n += 4;
        }
        n
    }

    /// Appends the encoded header to `out`.
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = self.encode(&mut buf);
        out.extend_from_slice(&buf[..n]);
    }
}

/// Appends a whole frame: the header as given, then `payload` masked with the header's key.
///
/// The header's `payload_len` is written as is, even when it differs from `payload.len()`,
/// so a case can announce one length and send another.
pub fn encode_frame(header: &FrameHeader, payload: &[u8], out: &mut Vec<u8>) {
    header.encode_to(out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = header.mask {
        super::mask::apply_mask(&mut out[start..], key, 0);
    }
}

/// Convenience: one conforming frame (minimal length, no RSV) as a new buffer.
pub fn frame(opcode: OpCode, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let header = FrameHeader::new(opcode, fin, payload.len() as u64, mask);
    let mut out = Vec::with_capacity(header.encoded_len() + payload.len());
    encode_frame(&header, payload, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_masked_text_frame() {
        let bytes = frame(OpCode::Text, true, b"Hello", Some([1, 2, 3, 4]));
        let Status::Complete(h, n) = parse_header(&bytes, HeaderRules::server()).unwrap() else {
            panic!("incomplete")
        };
        assert_eq!(n, 6);
        assert_eq!(h.payload_len, 5);
        assert_eq!(h.mask, Some([1, 2, 3, 4]));
        assert!(h.fin && h.opcode == OpCode::Text && h.is_minimal_length());
    }

    #[test]
    fn partial_reports_missing_bytes() {
        let bytes = frame(OpCode::Binary, true, &[0u8; 300], Some([9, 9, 9, 9]));
        assert_eq!(
            parse_header(&bytes[..1], HeaderRules::server()),
            Ok(Status::Partial(1))
        );
        assert_eq!(
            parse_header(&bytes[..2], HeaderRules::server()),
            Ok(Status::Partial(6))
        );
        assert_eq!(
            parse_header(&bytes[..5], HeaderRules::server()),
            Ok(Status::Partial(3))
        );
        assert!(matches!(
            parse_header(&bytes[..8], HeaderRules::server()),
            Ok(Status::Complete(_, 8))
        ));
    }

    #[test]
    fn violations_are_typed() {
        let r = HeaderRules::client();
        assert_eq!(
            parse_header(&[0x83], r),
            Err(ProtocolError::ReservedOpcode(3))
        );
        assert_eq!(
            parse_header(&[0xc1], r),
            Err(ProtocolError::ReservedBitsSet { rsv: 4 })
        );
        assert_eq!(
            parse_header(&[0x09], r),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            parse_header(&[0x89, 126, 0, 126], r),
            Err(ProtocolError::ControlFrameTooLong(126))
        );
        assert_eq!(
            parse_header(&[0x81, 0x80], r),
            Err(ProtocolError::MaskedServerFrame)
        );
        assert_eq!(
            parse_header(&[0x81, 0x00], HeaderRules::server()),
            Err(ProtocolError::UnmaskedClientFrame)
        );
        let top = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_header(&top, r), Err(ProtocolError::LengthTopBitSet));
    }

    #[test]
    fn non_minimal_length_is_flagged_not_rejected() {
        let Status::Complete(h, 4) =
            parse_header(&[0x81, 126, 0, 5], HeaderRules::client()).unwrap()
        else {
            panic!()
        };
        assert_eq!(h.payload_len, 5);
        assert!(!h.is_minimal_length());
        // A control frame may use a non-minimal form as long as the length is <= 125.
        assert!(parse_header(&[0x89, 126, 0, 5], HeaderRules::client()).is_ok());
    }

    #[test]
    fn encodes_deliberately_invalid_headers() {
        let mut h = FrameHeader::new(OpCode::Reserved(5), false, 5, None);
        h.rsv = 7;
        h.length_encoding = LengthEncoding::U64;
        let mut out = Vec::new();
        h.encode_to(&mut out);
        assert_eq!(out, [0x75, 127, 0, 0, 0, 0, 0, 0, 0, 5]);
    }
}
