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

/// Cuts `s` to at most `max` characters by leaving out its middle (marked `…`), keeping
/// `tail_percent` % of the room for the end: ids and observed texts often carry the
/// useful part (the step number, the error line) at the end.
pub fn cut_middle(s: &str, max: usize, tail_percent: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(1);
    let tail = room * tail_percent.min(100) / 100;
    let head = room - tail;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
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

/// A duration in milliseconds the way a person reads it: `0.42 ms`, `8.5 ms`, `850 ms`,
/// `21.1 s`, `2 min 5 s`; `?` for a non-finite value.
pub fn human_ms(v: f64) -> String {
    if !v.is_finite() || v < 0.0 {
        return "?".to_string();
    }
    // Round first, so 999.6 ms prints as `1.0 s`, not `1000 ms`.
    if v < 9.995 {
        format!("{v:.2} ms")
    } else if v < 99.95 {
        format!("{v:.1} ms")
    } else if v < 999.5 {
        format!("{v:.0} ms")
    } else if v < 59_950.0 {
        format!("{:.1} s", v / 1000.0)
    } else {
        let s = (v / 1000.0).round() as u64;
        format!("{} min {} s", s / 60, s % 60)
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

/// Items quoted by [`output_summary`].
const SUMMARY_ITEMS: usize = 8;
/// Longest output line quoted whole by [`output_summary`].
const SUMMARY_LINE: usize = 300;

/// True for a line that names an error, as runtimes print it when a process dies:
/// `TypeError: …`, `Error [ERR_X]: …`, `Uncaught RangeError …`, `java.io.IOException: …`,
/// Rust's `thread 'main' panicked at …`, Go's `panic: …` / `fatal error: …`.
fn is_error_headline(line: &str) -> bool {
    let t = line.trim_start();
    let t = t.strip_prefix("Uncaught ").unwrap_or(t);
    if t.contains("panicked at") || t.starts_with("panic: ") || t.starts_with("fatal error:") {
        return true;
    }
    let word_end = t
        .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '$' | '.')))
        .unwrap_or(t.len());
    let (word, rest) = t.split_at(word_end);
    (word.ends_with("Error") || word.ends_with("Exception"))
        && (rest.is_empty() || rest.starts_with(':') || rest.starts_with(" ["))
}

/// True for one frame of a stack trace (`    at f (file:1:2)`, Rust's `  12: name`).
fn is_stack_frame(line: &str) -> bool {
    let t = line.trim_start();
    t.len() < line.len()
        && (t.starts_with("at ")
            || t.split_once(": ")
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
}

/// The few lines of a process's output worth quoting in a one-line report, as
/// `[stderr] TypeError: … | at f (x.js:3:9) | … 6 more frames | Node.js v20`.
///
/// `lines` are (stream name, text), oldest first. Quoting starts at the last line that
/// names an error (a crash prints its stack after it, so the last lines alone are frames
/// without the error), or else covers the last lines; blank lines are skipped, a run of
/// stack frames keeps its first two, and the stream is named only when it changes.
pub fn output_summary(lines: &[(&str, &str)]) -> String {
    let lines: Vec<&(&str, &str)> = lines.iter().filter(|(_, t)| !t.trim().is_empty()).collect();
    let start = match lines.iter().rposition(|(_, t)| is_error_headline(t)) {
        Some(i) => i,
        None => lines.len().saturating_sub(SUMMARY_ITEMS),
    };
    let mut items: Vec<String> = Vec::new();
    let mut stream = "";
    let mut frames = 0usize;
    let mut hidden = 0usize;
    let flush = |items: &mut Vec<String>, hidden: &mut usize| {
        if *hidden > 0 {
            items.push(format!(
                "… {hidden} more frame{}",
                if *hidden == 1 { "" } else { "s" }
            ));
            *hidden = 0;
        }
    };
    for (name, text) in &lines[start..] {
        if is_stack_frame(text) {
            frames += 1;
            if frames > 2 {
                hidden += 1;
                continue;
            }
        } else {
            frames = 0;
            flush(&mut items, &mut hidden);
        }
        if items.len() >= SUMMARY_ITEMS {
            break;
        }
        let mut item = String::new();
        if *name != stream {
            stream = name;
            let _ = write!(item, "[{name}] ");
        }
        item.push_str(&cut_middle(text.trim(), SUMMARY_LINE, 50));
        items.push(item);
    }
    if items.len() < SUMMARY_ITEMS {
        flush(&mut items, &mut hidden);
    }
    items.join(" | ")
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
    fn cuts_the_middle() {
        assert_eq!(cut_middle("abcdef", 6, 50), "abcdef");
        assert_eq!(cut_middle("abcdefghij", 5, 50), "ab…ij");
        assert_eq!(cut_middle("abcdefghij", 5, 100), "…ghij");
        assert_eq!(cut_middle("abcdefghij", 5, 0), "abcd…");
        assert_eq!(cut_middle("ééééé", 3, 50), "é…é");
    }

    #[test]
    fn durations_read_humanly() {
        assert_eq!(human_ms(0.4234), "0.42 ms");
        assert_eq!(human_ms(8.54), "8.54 ms");
        assert_eq!(human_ms(42.25), "42.2 ms");
        assert_eq!(human_ms(850.2), "850 ms");
        assert_eq!(human_ms(999.6), "1.0 s");
        assert_eq!(human_ms(21_116.661), "21.1 s");
        assert_eq!(human_ms(125_000.0), "2 min 5 s");
        assert_eq!(human_ms(f64::NAN), "?");
    }

    #[test]
    fn node_crash_is_summarised_from_its_error_line() {
        let out = [
            ("stdout", "listening on 3000"),
            ("stderr", "/srv/app.js:12"),
            ("stderr", "    ws.send(JSON.stringify(state));"),
            ("stderr", "                 ^"),
            ("stderr", ""),
            ("stderr", "TypeError: Converting circular structure to JSON"),
            (
                "stderr",
                "    --> starting at object with constructor 'Object'",
            ),
            ("stderr", "    at JSON.stringify (<anonymous>)"),
            ("stderr", "    at broadcast (/srv/app.js:12:20)"),
            ("stderr", "    at onMessage (/srv/app.js:30:5)"),
            ("stderr", "    at Socket.emit (node:events:524:28)"),
            (
                "stderr",
                "    at addChunk (node:internal/streams/readable:561:12)",
            ),
            ("stderr", ""),
            ("stderr", "Node.js v20.20.2"),
        ];
        assert_eq!(
            output_summary(&out),
            "[stderr] TypeError: Converting circular structure to JSON \
             | --> starting at object with constructor 'Object' \
             | at JSON.stringify (<anonymous>) | at broadcast (/srv/app.js:12:20) \
             | … 3 more frames | Node.js v20.20.2"
        );
        let missing = [
            ("stderr", "Error: Cannot find module '/srv/missing.js'"),
            (
                "stderr",
                "    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)",
            ),
            (
                "stderr",
                "    at Module._load (node:internal/modules/cjs/loader:1051:27)",
            ),
            (
                "stderr",
                "    at node:internal/main/run_main_module:28:49 {",
            ),
            ("stderr", "  code: 'MODULE_NOT_FOUND',"),
            ("stderr", "  requireStack: []"),
            ("stderr", "}"),
        ];
        let s = output_summary(&missing);
        assert!(
            s.starts_with(
                "[stderr] Error: Cannot find module '/srv/missing.js' | at Module._resolveFilename"
            ),
            "{s}"
        );
        assert!(
            s.contains("… 1 more frame | code: 'MODULE_NOT_FOUND',"),
            "{s}"
        );
        // Without an error line: the last lines, oldest first, stream named on change.
        let plain: Vec<(&str, String)> = (0..20)
            .map(|i| {
                (
                    if i < 15 { "stdout" } else { "stderr" },
                    format!("line {i}"),
                )
            })
            .collect();
        let plain: Vec<(&str, &str)> = plain.iter().map(|(a, b)| (*a, b.as_str())).collect();
        assert_eq!(
            output_summary(&plain),
            "[stdout] line 12 | line 13 | line 14 | [stderr] line 15 | line 16 | line 17 | line 18 | line 19"
        );
        assert_eq!(output_summary(&[]), "");
        assert!(is_error_headline(
            "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'x'"
        ));
        assert!(is_error_headline(
            "thread 'main' panicked at src/main.rs:2:5:"
        ));
        assert!(is_error_headline("java.lang.IllegalStateException: closed"));
        assert!(!is_error_headline("no Error here"));
        assert!(!is_error_headline("ErrorBoundary mounted"));
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
