//! Text helpers shared by the writers.
//!
//! Summaries, observed values and payload decodings come from servers under test, which
//! may be hostile: everything that reaches a terminal, XML or HTML goes through one of the
//! neutralising functions here first.

use std::fmt::Write as _;

use super::model::{CaseReport, Direction, TranscriptEntry};

/// True for characters that could move a terminal cursor, reorder text, or that XML 1.0
/// forbids: C0/C1 controls, DEL, bidi overrides/isolates, and the non-characters U+FFFE/F.
fn is_dangerous(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{fffe}' | '\u{ffff}')
}

/// Replaces dangerous characters by visible escapes (`\n`, `\x1b`, `\u{202e}`).
///
/// With `keep_newlines`, `\n` and `\t` pass through (for multi-line blocks).
pub fn neutralise(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !is_dangerous(c) || (keep_newlines && (c == '\n' || c == '\t')) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    out
}

/// Cuts `s` to at most `max` characters, ending with `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let keep = max.saturating_sub(1);
    let mut out: String = s.chars().take(keep).collect();
    out.push('…');
    out
}

/// One line, safe for a terminal, at most `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    truncate(&neutralise(s, false), max)
}

/// Escapes text for HTML element content and quoted attribute values, and makes
/// dangerous characters visible.
pub fn html(s: &str) -> String {
    let s = neutralise(s, true);
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Decodes a lowercase or uppercase hex string; `None` when malformed.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nib = |b: u8| -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    };
    s.chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// Classic hex dump (offset, 16 bytes, ASCII column), at most `cap` bytes, then
/// `… N more bytes`. The ASCII column only ever contains printable ASCII.
pub fn hex_dump(bytes: &[u8], cap: usize) -> String {
    let shown = &bytes[..bytes.len().min(cap)];
    let mut out = String::with_capacity(shown.len() * 4 + 32);
    for (i, row) in shown.chunks(16).enumerate() {
        let _ = write!(out, "{:08x} ", i * 16);
        for j in 0..16 {
            if j == 8 {
                out.push(' ');
            }
            match row.get(j) {
                Some(b) => {
                    let _ = write!(out, " {b:02x}");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        for &b in row {
            out.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        out.push_str("|\n");
    }
    if bytes.len() > shown.len() {
        let _ = writeln!(out, "… {} more bytes", bytes.len() - shown.len());
    }
    out
}

/// The hex dump of a transcript entry's bytes, or a note when the stored hex is malformed.
pub fn entry_hex_dump(entry: &TranscriptEntry, cap: usize) -> Option<String> {
    let hex = entry.hex.as_deref()?;
    Some(match hex_decode(hex) {
        Some(bytes) => hex_dump(&bytes, cap),
        None => format!("(stored hex is malformed: {})\n", one_line(hex, 200)),
    })
}

/// Short direction label.
pub fn dir_label(d: Direction) -> &'static str {
    match d {
        Direction::Sent => "sent",
        Direction::Recv => "recv",
        Direction::Event => "event",
    }
}

/// Formats a millisecond value, tolerating non-finite input.
pub fn ms(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "?".to_string()
    }
}

/// The transcript as plain text (one line per entry, optional hex dump below it), at most
/// `max_entries` entries and `hex_cap` bytes of hex per entry.
pub fn transcript_text(case: &CaseReport, max_entries: usize, hex_cap: usize) -> String {
    let mut out = String::new();
    for e in case.transcript.iter().take(max_entries) {
        let _ = writeln!(
            out,
            "[{:>10} ms] {:<8} {:<5} {:<9} {}",
            ms(e.t_ms),
            one_line(&e.conn, 24),
            dir_label(e.dir),
            one_line(&e.kind, 16),
            one_line(&e.summary, 400)
        );
        if let Some(dump) = entry_hex_dump(e, hex_cap) {
            for line in dump.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    if case.transcript.len() > max_entries {
        let _ = writeln!(
            out,
            "… {} more transcript entries",
            case.transcript.len() - max_entries
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises_terminal_escapes() {
        assert_eq!(neutralise("a\u{1b}[2Jb\nc", false), "a\\x1b[2Jb\\nc");
        assert_eq!(neutralise("a\nb", true), "a\nb");
        assert_eq!(neutralise("x\u{202e}y", true), "x\\u{202e}y");
    }

    #[test]
    fn truncates_on_chars() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 3), "hé…");
    }

    #[test]
    fn html_escapes_markup() {
        assert_eq!(
            html("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }

    #[test]
    fn hex_round_trip_and_dump() {
        assert_eq!(hex_decode("48656c6C6f"), Some(b"Hello".to_vec()));
        assert_eq!(hex_decode("4"), None);
        assert_eq!(hex_decode("zz"), None);
        let dump = hex_dump(b"Hello, <world>\x00\x01\x02", 4096);
        assert!(dump.starts_with("00000000  48 65 6c 6c 6f 2c 20 3c  77 6f 72 6c 64 3e 00 01"));
        assert!(dump.contains("|Hello, <world>..|"));
        assert!(dump.contains("00000010  02"));
        let big = vec![0u8; 5000];
        let dump = hex_dump(&big, 4096);
        assert!(dump.ends_with("… 904 more bytes\n"));
        assert_eq!(dump.lines().count(), 4096 / 16 + 1);
    }
}
