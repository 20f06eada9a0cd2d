//! A bounded, timestamped record of what crossed the wire.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::codec::frame::{FrameHeader, OpCode};
use crate::report::{Direction, TranscriptEntry};

/// Entries kept per connection; a flooding server cannot grow the record without bound.
pub const MAX_ENTRIES: usize = 4000;
/// Bytes of hex kept per entry.
pub const MAX_HEX: usize = 4096;
/// Bytes (summaries and hex) kept per connection: the first [`HEAD_BYTES`] of the
/// conversation and its last [`TAIL_BYTES`], with a note saying what was left out between.
/// A few hundred of these fill a report of a few MiB even against a server that floods every
/// connection, while a normal case records far less.
pub const MAX_BYTES: usize = HEAD_BYTES + TAIL_BYTES;
/// The part of [`MAX_BYTES`] for the start of the conversation.
pub const HEAD_BYTES: usize = 24 * 1024;
/// The part of [`MAX_BYTES`] for its end (how it ended is usually what matters).
pub const TAIL_BYTES: usize = 8 * 1024;
/// What an entry costs beyond its text: the other fields, and their JSON keys.
const ENTRY_OVERHEAD: usize = 96;

/// A shared transcript (the writer task and the reader both append).
#[derive(Debug, Clone)]
pub struct Transcript {
    inner: Arc<Mutex<Inner>>,
    start: Instant,
    conn: Arc<str>,
}

#[derive(Debug, Default)]
struct Inner {
    head: Vec<TranscriptEntry>,
    head_bytes: usize,
    /// Once the head is full: the most recent entries, oldest first.
    tail: VecDeque<TranscriptEntry>,
    tail_bytes: usize,
    /// Entries (and their bytes) that fell out between the head and the tail.
    dropped: u64,
    dropped_bytes: u64,
}

fn cost(e: &TranscriptEntry) -> usize {
    ENTRY_OVERHEAD + e.kind.len() + e.summary.len() + e.hex.as_ref().map_or(0, String::len)
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
        if g.tail.is_empty() && g.head.len() < MAX_ENTRIES / 2 && g.head_bytes < HEAD_BYTES {
            let e = self.entry(t_ms, dir, kind, summary, bytes);
            g.head_bytes += cost(&e);
            g.head.push(e);
            return;
        }
        let e = self.entry(t_ms, dir, kind, summary, bytes);
        g.tail_bytes += cost(&e);
        g.tail.push_back(e);
        while g.tail.len() > 1 && (g.tail_bytes > TAIL_BYTES || g.tail.len() > MAX_ENTRIES / 2) {
            let Some(old) = g.tail.pop_front() else { break };
            let c = cost(&old);
            g.tail_bytes -= c;
            g.dropped += 1;
            g.dropped_bytes += c as u64;
        }
    }

    fn entry(
        &self,
        t_ms: f64,
        dir: Direction,
        kind: &str,
        summary: String,
        bytes: Option<&[u8]>,
    ) -> TranscriptEntry {
        TranscriptEntry {
            t_ms,
            conn: self.conn.to_string(),
            dir,
            kind: kind.to_owned(),
            summary,
            hex: bytes.map(hex_capped),
        }
    }

    /// Appends a note.
    pub fn note(&self, summary: impl Into<String>) {
        self.push(Direction::Event, "note", summary.into(), None);
    }

    /// A copy of the entries: the start, a note saying what was left out if anything was,
    /// and the end.
    pub fn entries(&self) -> Vec<TranscriptEntry> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut v = g.head.clone();
        if g.dropped > 0 {
            let at = g.tail.front().map_or_else(|| self.now_ms(), |e| e.t_ms);
            v.push(TranscriptEntry {
                t_ms: at,
                conn: self.conn.to_string(),
                dir: Direction::Event,
                kind: "note".into(),
                summary: cut_note(g.dropped, g.dropped_bytes),
                hex: None,
            });
        }
        v.extend(g.tail.iter().cloned());
        v
    }
}

/// The note that stands for entries left out of a transcript.
pub fn cut_note(entries: u64, bytes: u64) -> String {
    format!(
        "{entries} entries ({} KiB) left out here: a transcript keeps its first {} KiB and last {} KiB",
        bytes.div_ceil(1024),
        HEAD_BYTES / 1024,
        TAIL_BYTES / 1024
    )
}

/// Lowercase hex of at most [`MAX_HEX`] bytes.
pub fn hex_capped(b: &[u8]) -> String {
    // Every frame of every case passes here (up to 16385 writes in 9.5.1): one allocation,
    // not one per byte.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let n = b.len().min(MAX_HEX);
    let mut s = String::with_capacity(2 * n + 24);
    for &x in &b[..n] {
        s.push(char::from(DIGITS[usize::from(x >> 4)]));
        s.push(char::from(DIGITS[usize::from(x & 15)]));
    }
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
        // `cut` is shorter than MAX_HEX, so nothing is capped.
        Err(_) => format!("0x{}", hex_capped(cut)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_keeps_the_start_the_end_and_says_what_was_cut() {
        let t = Transcript::new("main", Instant::now());
        for i in 0..100_000u32 {
            t.push(
                Direction::Recv,
                "frame",
                format!("ping {i}"),
                Some(&i.to_be_bytes()),
            );
        }
        let e = t.entries();
        let bytes: usize = e.iter().map(cost).sum();
        assert!(bytes <= MAX_BYTES + 1024, "{bytes}");
        assert_eq!(e[0].summary, "ping 0");
        assert_eq!(e.last().unwrap().summary, "ping 99999");
        let note = e.iter().find(|x| x.kind == "note").expect("a cut note");
        assert!(note.summary.contains("left out"), "{}", note.summary);
        // A short conversation is kept whole.
        let t = Transcript::new("main", Instant::now());
        for i in 0..10 {
            t.note(format!("n{i}"));
        }
        assert_eq!(t.entries().len(), 10);
    }

    #[test]
    fn hex_is_lowercase_two_digits_per_byte_and_capped() {
        assert_eq!(hex_capped(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex_capped(&[]), "");
        let long = vec![0xabu8; MAX_HEX + 3];
        let h = hex_capped(&long);
        assert!(h.starts_with("abab"));
        assert!(h.ends_with("ab…(+3 bytes)"), "{}", &h[h.len() - 20..]);
        assert_eq!(h.len(), 2 * MAX_HEX + "…(+3 bytes)".len());
        assert_eq!(payload_preview(&[0xff, 0x01], 2), "0xff01");
        assert_eq!(
            payload_preview(&[0xff; 61], 61),
            format!("0x{}…", "ff".repeat(60))
        );
    }
}
