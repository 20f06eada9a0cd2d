//! A bounded, timestamped record of what crossed the wire.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::codec::frame::{FrameHeader, OpCode};
use crate::report::{Direction, TranscriptEntry};

/// Entries kept per connection; a flooding server cannot grow the record without bound.
pub const MAX_ENTRIES: usize = 4000;
/// Bytes of hex kept per entry.
pub const MAX_HEX: usize = 4096;

/// A shared transcript (the writer task and the reader both append).
#[derive(Debug, Clone)]
pub struct Transcript {
    inner: Arc<Mutex<Inner>>,
    start: Instant,
    conn: Arc<str>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<TranscriptEntry>,
    dropped: u64,
}

impl Transcript {
    /// A transcript whose times count from `start`.
    pub fn new(conn: &str, start: Instant) -> Self {
        Transcript {
            inner: Arc::default(),
            start,
            conn: conn.into(),
        }
    }

    /// Milliseconds since start.
    pub fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    /// Appends an entry stamped now.
    pub fn push(&self, dir: Direction, kind: &str, summary: String, bytes: Option<&[u8]>) {
        let t_ms = self.now_ms();
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.entries.len() >= MAX_ENTRIES {
            g.dropped += 1;
            return;
        }
        g.entries.push(TranscriptEntry {
            t_ms,
            conn: self.conn.to_string(),
            dir,
            kind: kind.to_owned(),
            summary,
            hex: bytes.map(hex_capped),
        });
    }

    /// Appends a note.
    pub fn note(&self, summary: impl Into<String>) {
        self.push(Direction::Event, "note", summary.into(), None);
    }

    /// A copy of the entries, with a final note if some were dropped.
    pub fn entries(&self) -> Vec<TranscriptEntry> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut v = g.entries.clone();
        if g.dropped > 0 {
            v.push(TranscriptEntry {
                t_ms: self.now_ms(),
                conn: self.conn.to_string(),
                dir: Direction::Event,
                kind: "note".into(),
                summary: format!(
                    "{} further entries not recorded (limit {MAX_ENTRIES})",
                    g.dropped
                ),
                hex: None,
            });
        }
        v
    }
}

/// Lowercase hex of at most [`MAX_HEX`] bytes.
pub fn hex_capped(b: &[u8]) -> String {
    let n = b.len().min(MAX_HEX);
    let mut s: String = b[..n].iter().map(|x| format!("{x:02x}")).collect();
    if b.len() > n {
        s += &format!("…(+{} bytes)", b.len() - n);
    }
    s
}

/// A short printable rendering of a payload: text when it is UTF-8, else hex.
pub fn payload_preview(p: &[u8], total: u64) -> String {
    const MAX: usize = 60;
    let cut = &p[..p.len().min(MAX)];
    let body = match std::str::from_utf8(cut) {
        Ok(s) => format!("{s:?}"),
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            format!(
                "{:?}",
                std::str::from_utf8(&cut[..e.valid_up_to()]).unwrap_or_default()
            )
        }
        Err(_) => format!(
            "0x{}",
            cut.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
    };
    if total as usize > cut.len() {
        format!("{body}…")
    } else {
        body
    }
}

/// One-line description of a frame.
pub fn describe_frame(h: &FrameHeader, preview: &[u8]) -> String {
    let mut s = format!("{} fin={} ", h.opcode.name(), u8::from(h.fin));
    if h.rsv != 0 {
        s += &format!("rsv={} ", h.rsv);
    }
    if h.mask.is_some() {
        s += "masked ";
    }
    if !h.is_minimal_length() {
        s += "non-minimal-length ";
    }
    s += &format!("len={}", h.payload_len);
    if h.opcode == OpCode::Close && preview.len() >= 2 {
        let code = u16::from_be_bytes([preview[0], preview[1]]);
        s += &format!(
            " code={code} reason={}",
            payload_preview(&preview[2..], h.payload_len.saturating_sub(2))
        );
    } else if h.payload_len > 0 {
        s += &format!(" {}", payload_preview(preview, h.payload_len));
    }
    s
}
