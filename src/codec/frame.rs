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
//! | non-minimal length encoding | [`ProtocolError::NonMinimalLength`], tolerated by [`parse_header`] |
//!
//! [`parse_header`] accepts non-minimal lengths because RFC 6455 §5.2 states the
//! minimal-encoding rule for senders only ("the minimal number of bytes MUST be used") and
//! most receivers tolerate it; [`FrameHeader::is_minimal_length`] tells. Which violations
//! are fatal is configuration: [`parse_header_lenient`] takes a [`Leniency`] and records the
//! violations it tolerates, so the strict reader, the fault-injecting reference server and
//! the judging client all run this one parser.
//!
//! Errors are reported as soon as the available bytes prove them: a reserved opcode is an
//! error after one byte, not after the whole header.

use super::error::{Leniency, ProtocolError};

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

/// Opcodes RFC 6455 defines (bit n set = opcode n defined): 0x0-0x2 and 0x8-0xA (§5.2).
const DEFINED_OPCODES: u16 = 0x0707;

/// §5.2: whether the 4-bit `opcode` is one the RFC defines.
#[inline(always)]
pub(crate) const fn opcode_defined(opcode: u8) -> bool {
    (DEFINED_OPCODES >> (opcode & 0x0f)) & 1 != 0
}

impl HeaderRules {
    /// §5.2: whether the 3-bit `rsv` field only uses bits an extension defined.
    #[inline(always)]
    pub(crate) const fn rsv_ok(self, rsv: u8) -> bool {
        rsv & !self.allowed_rsv == 0
    }

    /// §5.1: whether the MASK bit is what the reading role requires.
    #[inline(always)]
    pub(crate) const fn mask_ok(self, masked: bool) -> bool {
        match self.role {
            Some(Role::Server) => masked,
            Some(Role::Client) => !masked,
            None => true,
        }
    }

    /// Whether the first two header bytes break none of the rules they can prove broken:
    /// defined opcode, RSV, unfragmented control frame, masking. The zero-copy reader's fast
    /// path asks this and leaves everything else to [`parse_header`], so each rule is
    /// written once, here.
    #[inline(always)]
    pub(crate) const fn first_bytes_ok(self, b0: u8, b1: u8) -> bool {
        let control = b0 & 0x08 != 0;
        opcode_defined(b0)
            && self.rsv_ok((b0 >> 4) & 0x07)
            && !(control && b0 & 0x80 == 0)
            && self.mask_ok(b1 & 0x80 != 0)
    }
}

/// §5.5: a control frame's payload length limit.
pub const MAX_CONTROL_PAYLOAD: u64 = 125;

/// Parses a frame header from the start of `buf`, failing on every rule (except the
/// sender-side minimal length encoding, see [`crate::codec::Leniency::RECEIVER`]).
#[inline]
pub fn parse_header(buf: &[u8], rules: HeaderRules) -> Result<Status<FrameHeader>, ProtocolError> {
    parse_header_with(buf, rules, &mut |e: ProtocolError| {
        if Leniency::RECEIVER.allows(e.rule()) {
            Ok(())
        } else {
            Err(e)
        }
    })
}

/// Parses a frame header, recording in `found` the violations `lenient` tolerates (in the
/// order they are detected) and failing on the first one it does not.
///
/// A tolerated violation changes nothing about how the header is read: the frame is
/// described exactly as it is on the wire. Violations are recorded only once the header is
/// complete, so a caller retrying with more bytes never records one twice; errors (the
/// rules not tolerated) come as soon as the bytes prove them, as with [`parse_header`].
pub fn parse_header_lenient(
    buf: &[u8],
    rules: HeaderRules,
    lenient: Leniency,
    found: &mut Vec<ProtocolError>,
) -> Result<Status<FrameHeader>, ProtocolError> {
    let mark = found.len();
    let r = parse_header_with(buf, rules, &mut |e: ProtocolError| {
        if lenient.allows(e.rule()) {
            found.push(e);
            Ok(())
        } else {
            Err(e)
        }
    });
    if !matches!(r, Ok(Status::Complete(..))) {
        found.truncate(mark);
    }
    r
}

/// The one header parser: every rule of §5.1, §5.2 and §5.5 that a header can break is
/// checked here, in this order, and handed to `check`, which decides whether it is fatal.
#[inline(always)]
fn parse_header_with(
    buf: &[u8],
    rules: HeaderRules,
    check: &mut impl FnMut(ProtocolError) -> Result<(), ProtocolError>,
) -> Result<Status<FrameHeader>, ProtocolError> {
    let Some(&b0) = buf.first() else {
        return Ok(Status::Partial(2));
    };
    let fin = b0 & 0x80 != 0;
    let rsv = (b0 >> 4) & 0x07;
    let opcode = OpCode::from_u8(b0);
    if let OpCode::Reserved(v) = opcode {
        check(ProtocolError::ReservedOpcode(v))?;
    }
    if !rules.rsv_ok(rsv) {
        check(ProtocolError::ReservedBitsSet { rsv })?;
    }
    let control = opcode.is_control();
    if control && !fin {
        check(ProtocolError::FragmentedControlFrame)?;
    }
    let Some(&b1) = buf.get(1) else {
        return Ok(Status::Partial(1));
    };
    let masked = b1 & 0x80 != 0;
    if !rules.mask_ok(masked) {
        check(if masked {
            ProtocolError::MaskedServerFrame
        } else {
            ProtocolError::UnmaskedClientFrame
        })?;
    }
    let len7 = b1 & 0x7f;
    let length_encoding = match len7 {
        126 => LengthEncoding::U16,
        127 => LengthEncoding::U64,
        _ => LengthEncoding::Short,
    };
    let len_end = 2 + length_encoding.extra_bytes();
    let total = len_end + if masked { 4 } else { 0 };
    if buf.len() < len_end {
        return Ok(Status::Partial(total - buf.len()));
    }
    let payload_len = match length_encoding {
        LengthEncoding::Short => len7 as u64,
        enc => read_len(&buf[2..len_end], enc),
    };
    if control && payload_len > MAX_CONTROL_PAYLOAD {
        check(ProtocolError::ControlFrameTooLong(payload_len))?;
    }
    if length_encoding == LengthEncoding::U64 && payload_len >> 63 != 0 {
        check(ProtocolError::LengthTopBitSet)?;
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
    let header = FrameHeader {
        fin,
        rsv,
        opcode,
        mask,
        payload_len,
        length_encoding,
    };
    if !header.is_minimal_length() {
        check(ProtocolError::NonMinimalLength { len: payload_len })?;
    }
    Ok(Status::Complete(header, total))
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
    #[inline]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let (word, n) = self.encode_word();
        out.copy_from_slice(&word.to_le_bytes()[..MAX_HEADER_LEN]);
        n
    }

    /// The encoded header as the little-endian bytes of one word (bytes past the header's
    /// length are zero), and that length. Built in registers: a header assembled byte by
    /// byte in memory and then copied out as a whole waits on the store forwarding of its
    /// pieces, a tenth of a 16-byte frame's encoding.
    #[inline]
    pub(crate) fn encode_word(&self) -> (u128, usize) {
        let b0 = (u8::from(self.fin) << 7) | ((self.rsv & 0x07) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80u8 } else { 0 };
        let (b1, len_field, mut n) = match self.effective_encoding() {
            LengthEncoding::Short => (mask_bit | self.payload_len as u8, 0u128, 2),
            LengthEncoding::U16 => (
                mask_bit | 126,
                u16::from_le_bytes((self.payload_len as u16).to_be_bytes()) as u128,
                4,
            ),
            LengthEncoding::U64 => (
                mask_bit | 127,
                u64::from_le_bytes(self.payload_len.to_be_bytes()) as u128,
                10,
            ),
        };
        let mut word = b0 as u128 | (b1 as u128) << 8 | len_field << 16;
        if let Some(m) = self.mask {
            word |= (u32::from_le_bytes(m) as u128) << (8 * n);
            n += 4;
        }
        (word, n)
    }

    /// Appends the encoded header to `out`.
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        let (word, n) = self.encode_word();
        out.extend_from_slice(&word.to_le_bytes()[..n]);
    }
}

/// Appends a whole frame: the header as given, then `payload` masked with the header's key.
///
/// The header's `payload_len` is written as is, even when it differs from `payload.len()`,
/// so a case can announce one length and send another.
///
/// One reservation for header and payload, and inlinable: on 16-byte frames the send path
/// is otherwise dominated by calls and capacity checks (`benches/frame_encode.rs`).
#[inline]
pub fn encode_frame(header: &FrameHeader, payload: &[u8], out: &mut Vec<u8>) {
    let (word, n) = header.encode_word();
    out.reserve(16 + payload.len());
    // The whole word and then back to the header's length: a fixed-size store, where
    // `&h[..n]` called a variable-length copy (a tenth of a 16-byte frame's encoding).
    let start = out.len();
    out.extend_from_slice(&word.to_le_bytes());
    out.truncate(start + n);
    match header.mask {
        Some(key) => crate::codec::simd::extend_masked(out, payload, key),
        None => out.extend_from_slice(payload),
    }
}

/// How a frame to send is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Masking {
    /// A fresh random key for each encoding (what a client MUST do, §5.3).
    Random,
    /// No MASK bit (a violation for a client, the rule for a server).
    Unmasked,
    /// This key.
    Key([u8; 4]),
}

/// A frame to send, described once for every sender in the kit (the suite's cases, scenario
/// files, the peer's own frames): valid or not, since the suites send reserved opcodes, RSV
/// bits, unmasked frames, forced length forms and lying length fields on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSpec {
    /// The opcode, reserved values included.
    pub opcode: OpCode,
    /// FIN bit.
    pub fin: bool,
    /// RSV field as Autobahn numbers it (4 = RSV1, 2 = RSV2, 1 = RSV3).
    pub rsv: u8,
    /// Masking.
    pub mask: Masking,
    /// The unmasked payload.
    pub payload: Vec<u8>,
    /// The length form to write; `None` = the minimal one (§5.2). A form too short for the
    /// announced length falls back to the minimal one.
    pub length_encoding: Option<LengthEncoding>,
    /// The length written in the header when it must differ from the payload's (a frame
    /// that lies about its size).
    pub declared_len: Option<u64>,
}

impl FrameSpec {
    /// A conforming client frame: random mask, no RSV, minimal length.
    pub fn new(opcode: impl Into<OpCode>, fin: bool, payload: impl Into<Vec<u8>>) -> Self {
        FrameSpec {
            opcode: opcode.into(),
            fin,
            rsv: 0,
            mask: Masking::Random,
            payload: payload.into(),
            length_encoding: None,
            declared_len: None,
        }
    }

    /// The same frame with the RSV field set.
    pub fn rsv(mut self, rsv: u8) -> Self {
        self.rsv = rsv;
        self
    }

    /// The same frame with another masking.
    pub fn masked(mut self, mask: Masking) -> Self {
        self.mask = mask;
        self
    }

    /// The length the header announces.
    pub fn announced_len(&self) -> u64 {
        self.declared_len.unwrap_or(self.payload.len() as u64)
    }

    /// The header this frame is written with; `random_key` is used for [`Masking::Random`].
    pub fn header(&self, random_key: [u8; 4]) -> FrameHeader {
        self.header_for(self.payload.len(), random_key)
    }

    #[inline]
    fn header_for(&self, payload_len: usize, random_key: [u8; 4]) -> FrameHeader {
        let len = self.declared_len.unwrap_or(payload_len as u64);
        FrameHeader {
            fin: self.fin,
            rsv: self.rsv & 0x07,
            opcode: self.opcode,
            mask: match self.mask {
                Masking::Random => Some(random_key),
                Masking::Unmasked => None,
                Masking::Key(k) => Some(k),
            },
            payload_len: len,
            length_encoding: self
                .length_encoding
                .unwrap_or(LengthEncoding::minimal_for(len)),
        }
    }

    /// Appends the encoded frame (header, then the payload masked as asked) to `out`.
    pub fn encode_to(&self, random_key: [u8; 4], out: &mut Vec<u8>) {
        self.encode_payload_to(&self.payload, random_key, out);
    }

    /// Appends the frame carrying `payload` instead of [`FrameSpec::payload`], for a sender
    /// that keeps a large message elsewhere and must not copy it per frame.
    #[inline]
    pub fn encode_payload_to(&self, payload: &[u8], random_key: [u8; 4], out: &mut Vec<u8>) {
        encode_frame(&self.header_for(payload.len(), random_key), payload, out);
    }

    /// The encoded frame as a new buffer.
    pub fn encode(&self, random_key: [u8; 4]) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_HEADER_LEN + self.payload.len());
        self.encode_to(random_key, &mut out);
        out
    }
}

impl From<u8> for OpCode {
    /// The low 4 bits, as [`OpCode::from_u8`].
    fn from(b: u8) -> Self {
        OpCode::from_u8(b)
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
    fn frame_spec_writes_what_it_describes() {
        let key = [1, 2, 3, 4];
        // Conforming: random (here: given) key, minimal length.
        let f = FrameSpec::new(OpCode::Text, true, b"abc".to_vec());
        assert_eq!(f.encode(key), frame(OpCode::Text, true, b"abc", Some(key)));
        // Reserved opcode, RSV 7, no mask, a 16-bit form and a lying length.
        let mut f = FrameSpec::new(0xbu8, false, b"x".to_vec())
            .rsv(7)
            .masked(Masking::Unmasked);
        f.length_encoding = Some(LengthEncoding::U16);
        f.declared_len = Some(300);
        assert_eq!(f.encode(key), [0x7b, 126, 0x01, 0x2c, b'x']);
        // A fixed key wins over the random one; a form too short falls back to minimal.
        let mut f =
            FrameSpec::new(OpCode::Binary, true, vec![0u8; 200]).masked(Masking::Key([9; 4]));
        f.length_encoding = Some(LengthEncoding::Short);
        let h = f.header(key);
        assert_eq!(h.mask, Some([9; 4]));
        assert_eq!(h.encoded_len(), 8);
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
