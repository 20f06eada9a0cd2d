//! What one fuzz run sends: the [`Input`] model, shared by the mutators, the executor,
//! the minimiser, the corpus files and the scenario writer.
//!
//! An input is a list of sends over the target's connections (by index into the target's
//! connection templates), optionally preceded by one opening handshake that is mutated.
//! Frames are described with the codec's one frame description ([`FrameSpec`]), converted
//! here from a serialisable form so that corpus files and findings keep the exact input.

use serde::{Deserialize, Serialize};

use crate::codec::frame::{FrameSpec, LengthEncoding, Masking, OpCode};

/// One fuzz input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Input {
    /// A mutated opening handshake, sent on a connection of its own before the sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake: Option<HandshakeMut>,
    /// The sends, in order.
    pub sends: Vec<Send>,
}

/// One send on one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    /// Index of the connection template.
    pub conn: usize,
    /// What is sent.
    pub what: What,
}

/// The payload of a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum What {
    /// A text message (one frame).
    Text(String),
    /// A binary message (one frame).
    Binary(#[serde(with = "hex_bytes")] Vec<u8>),
    /// Hand-built frames, written back to back (each possibly in `chop`-byte writes).
    Frames {
        /// The frames.
        frames: Vec<FuzzFrame>,
        /// Write each frame in pieces of this many bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chop: Option<usize>,
    },
}

impl What {
    /// Payload bytes this send carries (for "smaller" comparisons).
    pub fn size(&self) -> usize {
        match self {
            What::Text(s) => s.len(),
            What::Binary(b) => b.len(),
            What::Frames { frames, .. } => frames.iter().map(|f| f.payload.len() + 2).sum(),
        }
    }
}

/// A frame in serialisable form; [`FuzzFrame::spec`] makes the codec's [`FrameSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuzzFrame {
    /// Opcode 0..=15.
    pub opcode: u8,
    /// FIN bit.
    pub fin: bool,
    /// RSV bits (4 = RSV1).
    pub rsv: u8,
    /// Masked with a random key (a client MUST mask).
    pub masked: bool,
    /// The payload.
    #[serde(with = "hex_bytes")]
    pub payload: Vec<u8>,
    /// A length field that lies about the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_len: Option<u64>,
    /// Force the 64-bit length form (non-minimal).
    #[serde(default)]
    pub long_form: bool,
}

impl FuzzFrame {
    /// A conforming masked frame.
    pub fn new(opcode: u8, fin: bool, payload: Vec<u8>) -> Self {
        FuzzFrame {
            opcode,
            fin,
            rsv: 0,
            masked: true,
            payload,
            declared_len: None,
            long_form: false,
        }
    }

    /// The codec's description of this frame.
    pub fn spec(&self) -> FrameSpec {
        let mut f = FrameSpec::new(
            OpCode::from(self.opcode & 0x0f),
            self.fin,
            self.payload.clone(),
        );
        f.rsv = self.rsv & 7;
        f.mask = if self.masked {
            Masking::Random
        } else {
            Masking::Unmasked
        };
        if self.long_form {
            f.length_encoding = Some(LengthEncoding::U64);
        }
        f.declared_len = self.declared_len;
        f
    }
}

/// Changes to the conforming upgrade request of a connection template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HandshakeMut {
    /// The template it starts from.
    pub conn: usize,
    /// Another method than `GET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Headers set (replacing the default of the same name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// Default headers left out (`Host`, `Upgrade`, `Connection`, `Sec-WebSocket-Version`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub omit: Vec<String>,
    /// Subprotocols offered instead of the template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocols: Option<Vec<String>>,
    /// Path instead of the template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How the server answered it when the finding was made: `Some(Some(status))`,
    /// `Some(None)` for no HTTP answer (recorded, not sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_status: Option<Option<u16>>,
}

impl HandshakeMut {
    /// Number of changes (for "smaller" comparisons).
    pub fn size(&self) -> usize {
        self.method.is_some() as usize
            + self.headers.len()
            + self.omit.len()
            + self.protocols.is_some() as usize
            + self.path.is_some() as usize
    }
}

impl Input {
    /// A measure the minimiser makes smaller: sends first, then bytes.
    pub fn cost(&self) -> (usize, usize) {
        let hs = self.handshake.as_ref().map_or(0, |h| h.size());
        (
            self.sends.len() + hs,
            self.sends.iter().map(|s| s.what.size()).sum::<usize>() + hs,
        )
    }

    /// The connection templates the input uses, in order of first use.
    pub fn conns_used(&self) -> Vec<usize> {
        let mut v = Vec::new();
        for s in &self.sends {
            if !v.contains(&s.conn) {
                v.push(s.conn);
            }
        }
        v
    }
}

/// Hex strings for byte payloads in corpus and finding files.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::hex(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        crate::scenario::parse_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// Lower-case hex without separators.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let i = Input {
            handshake: Some(HandshakeMut {
                conn: 0,
                method: Some("POST".into()),
                ..Default::default()
            }),
            sends: vec![
                Send {
                    conn: 0,
                    what: What::Text("{}".into()),
                },
                Send {
                    conn: 1,
                    what: What::Frames {
                        frames: vec![FuzzFrame::new(1, true, vec![0xff, 0])],
                        chop: Some(1),
                    },
                },
            ],
        };
        let s = serde_json::to_string(&i).unwrap();
        assert_eq!(serde_json::from_str::<Input>(&s).unwrap(), i);
    }
}
