//! The payload data sets of categories 12 and 13 (permessage-deflate).
//!
//! Autobahn|Testsuite ships five real files (a JSON document, a 512×512 bitmap, Goethe's
//! *Faust I*, an HTML page, a PDF). wsspec does not ship or download them; it generates
//! deterministic stand-ins with the same sizes (bytes, and characters for the text sets), the
//! same message types and comparable compressibility: structured ASCII for the JSON and HTML
//! documents (the HTML with 26 non-ASCII characters, 263647 bytes for 263620 characters as in
//! the original), German-like prose with umlauts, an 8-bit grayscale bitmap with a palette,
//! and a PDF whose streams are incompressible like real Flate streams. Verdicts of 12.x/13.x
//! depend on echo equality and timing, not on the exact bytes, so they are comparable with
//! Autobahn's on the same server.

use std::sync::OnceLock;

/// One of the five data sets of category 12 (13.x all use [`DataSet::Json`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataSet {
    /// 12.1: a large JSON document, sent as text (194056 bytes, ASCII).
    Json,
    /// 12.2: a 512×512 8-bit bitmap picture, binary (263222 bytes).
    Bitmap,
    /// 12.3: German plain text, sent as binary (222218 bytes).
    Faust,
    /// 12.4: a large HTML page, text (263620 characters, 263647 bytes).
    Html,
    /// 12.5: a larger PDF document, binary (1042328 bytes).
    Pdf,
}

/// A data set's bytes and, for text sets, the byte offset of every character.
struct Data {
    bytes: Vec<u8>,
    /// Byte offset of each character (text sets only), plus the total length at the end.
    chars: Vec<usize>,
}

/// xorshift64*: deterministic, dependency-free, good enough for stand-in content.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "alpha", "beta", "gamma", "delta", "server", "client", "message", "frame", "window", "context",
    "stream", "socket", "value", "record", "index", "status", "update", "module", "export",
    "import", "default", "config", "handler", "request", "response", "payload",
];

const GERMAN: &[&str] = &[
    "und",
    "der",
    "die",
    "das",
    "ich",
    "nicht",
    "mit",
    "sich",
    "des",
    "auf",
    "für",
    "ist",
    "im",
    "dem",
    "Herz",
    "Geist",
    "Welt",
    "Natur",
    "über",
    "schön",
    "Gretchen",
    "Mephisto",
    "Faust",
    "Teufel",
    "Himmel",
    "Erde",
    "möcht",
    "müssen",
    "Glück",
    "Träume",
    "Nacht",
    "Gelehrter",
    "wahrhaftig",
    "Wissenschaft",
    "Augenblick",
    "verweile",
    "doch",
    "du",
    "bist",
    "so",
    "Grüße",
    "Mädchen",
    "hätte",
    "wär",
    "Büchern",
    "Stube",
    "Straße",
    "weiß",
];

fn json(size: usize) -> Vec<u8> {
    let mut r = Rng(0x1234_5678_9abc_def1);
    let mut s = String::from("{\"items\": [\n");
    let mut id = 0u32;
    while s.len() < size {
        id += 1;
        s += &format!(
            "  {{\"id\": {id}, \"name\": \"{} {}\", \"kind\": \"{}\", \"score\": {}.{:02}, \
             \"tags\": [\"{}\", \"{}\"], \"active\": {}, \"ref\": \"{:08x}\"}},\n",
            r.pick(WORDS),
            r.pick(WORDS),
            r.pick(WORDS),
            r.below(1000),
            r.below(100),
            r.pick(WORDS),
            r.pick(WORDS),
            r.below(2) == 0,
            r.next() as u32,
        );
    }
    let mut b = s.into_bytes();
    b.truncate(size);
    b
}

fn bitmap() -> Vec<u8> {
    const W: usize = 512;
    let mut b = Vec::with_capacity(263_222);
    let file_size: u32 = 263_222;
    let offset: u32 = 54 + 1024;
    b.extend_from_slice(b"BM");
    b.extend_from_slice(&file_size.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&offset.to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&(W as i32).to_le_bytes());
    b.extend_from_slice(&(W as i32).to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&((W * W) as u32).to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&256u32.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    for g in 0..=255u8 {
        b.extend_from_slice(&[g, g, g, 0]);
    }
    // A smooth picture with texture noise: like a photograph, DEFLATE gains little.
    let mut r = Rng(0xfeed_beef_0042_1337);
    for y in 0..W {
        for x in 0..W {
            let base = ((x * 3 + y * 5) / 8 + ((x * y) >> 12)) % 200;
            b.push((base + r.below(48)) as u8);
        }
    }
    debug_assert_eq!(b.len(), 263_222);
    b
}

fn faust(size: usize) -> Vec<u8> {
    let mut r = Rng(0x0f0f_1808_1832_0001);
    let mut s = String::new();
    while s.len() < size {
        let words = 4 + r.below(8);
        for i in 0..words {
            let w = r.pick(GERMAN);
            if i == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    s.extend(f.to_uppercase());
                    s += c.as_str();
                }
            } else {
                s += w;
            }
            s.push(if i + 1 == words { '.' } else { ' ' });
        }
        s += if r.below(3) == 0 { "\r\n" } else { " " };
    }
    let mut b = s.into_bytes();
    b.truncate(size);
    b
}

/// 263620 characters, 26 of them outside ASCII (25 of two bytes, one of three): 263647 bytes.
fn html() -> Vec<u8> {
    const CHARS: usize = 263_620;
    let mut r = Rng(0x7777_1234_abcd_0101);
    let mut s = String::from("<!DOCTYPE html>\n<html><head><title>wsspec</title></head><body>\n");
    while s.len() < CHARS {
        s += &format!(
            "<div class=\"{}\"><a href=\"/{}/{}.html\">{} {}</a><p>{} {} {} {}.</p></div>\n",
            r.pick(WORDS),
            r.pick(WORDS),
            r.below(10000),
            r.pick(WORDS),
            r.pick(WORDS),
            r.pick(WORDS),
            r.pick(WORDS),
            r.pick(WORDS),
            r.pick(WORDS),
        );
    }
    let ascii: Vec<u8> = s.into_bytes();
    let mut out = String::with_capacity(CHARS + 32);
    let step = (CHARS - 26) / 27;
    let mut taken = 0;
    for i in 0..26 {
        let chunk = &ascii[taken..taken + step];
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        taken += step;
        out.push(if i == 13 { '€' } else { 'ä' });
    }
    let rest = CHARS - 26 - taken;
    out.push_str(std::str::from_utf8(&ascii[taken..taken + rest]).unwrap_or_default());
    debug_assert_eq!(out.chars().count(), CHARS);
    out.into_bytes()
}

fn pdf(size: usize) -> Vec<u8> {
    let mut r = Rng(0x5044_462d_312e_3400);
    let mut b = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut obj = 1;
    while b.len() < size {
        let len = 2048 + r.below(30000);
        b.extend_from_slice(
            format!("{obj} 0 obj\n<< /Length {len} /Filter /FlateDecode >>\nstream\n").as_bytes(),
        );
        for _ in 0..len / 8 {
            b.extend_from_slice(&r.next().to_le_bytes());
        }
        b.extend_from_slice(b"\nendstream\nendobj\n");
        obj += 1;
        if obj % 5 == 0 {
            b.extend_from_slice(
                format!(
                    "{obj} 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>\nendobj\n"
                )
                .as_bytes(),
            );
            obj += 1;
        }
    }
    b.truncate(size);
    b
}

impl DataSet {
    /// The five sets in Autobahn's order (12.1 … 12.5).
    pub const ALL: [DataSet; 5] = [
        DataSet::Json,
        DataSet::Bitmap,
        DataSet::Faust,
        DataSet::Html,
        DataSet::Pdf,
    ];

    /// Whether messages are sent as text (units are characters) or binary (units are bytes).
    pub fn is_text(self) -> bool {
        matches!(self, DataSet::Json | DataSet::Html)
    }

    fn data(self) -> &'static Data {
        static SETS: [OnceLock<Data>; 5] = [const { OnceLock::new() }; 5];
        SETS[self as usize].get_or_init(|| {
            let bytes = match self {
                DataSet::Json => json(194_056),
                DataSet::Bitmap => bitmap(),
                DataSet::Faust => faust(222_218),
                DataSet::Html => html(),
                DataSet::Pdf => pdf(1_042_328),
            };
            let chars = if self.is_text() {
                let text = std::str::from_utf8(&bytes).unwrap_or_default();
                let mut c: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
                c.push(bytes.len());
                c
            } else {
                Vec::new()
            };
            Data { bytes, chars }
        })
    }

    /// The whole data set.
    pub fn bytes(self) -> &'static [u8] {
        &self.data().bytes
    }

    /// Length in units (characters for text sets, bytes otherwise).
    pub fn units(self) -> usize {
        let d = self.data();
        if self.is_text() {
            d.chars.len() - 1
        } else {
            d.bytes.len()
        }
    }

    /// Message `k` of `len` units: the cyclic window starting at unit `k·len mod N` (text is
    /// cut on characters, so a text message can be longer than `len` bytes).
    pub fn message(self, k: usize, len: usize) -> Vec<u8> {
        let d = self.data();
        let n = self.units();
        let start = (k * len) % n;
        let at = |u: usize| if self.is_text() { d.chars[u] } else { u };
        let mut out = Vec::with_capacity(len + 16);
        let mut u = start;
        let mut left = len;
        while left > 0 {
            let take = left.min(n - u);
            out.extend_from_slice(&d.bytes[at(u)..at(u + take)]);
            left -= take;
            u = 0;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_autobahns_files() {
        let want = [
            (DataSet::Json, 194_056, 194_056),
            (DataSet::Bitmap, 263_222, 263_222),
            (DataSet::Faust, 222_218, 222_218),
            (DataSet::Html, 263_647, 263_620),
            (DataSet::Pdf, 1_042_328, 1_042_328),
        ];
        for (set, bytes, units) in want {
            assert_eq!(set.bytes().len(), bytes, "{set:?}");
            assert_eq!(set.units(), units, "{set:?}");
        }
        assert!(DataSet::Json.bytes().is_ascii());
    }

    #[test]
    fn windows_wrap_and_cut_on_characters() {
        let n = DataSet::Html.units();
        let m = DataSet::Html.message(1, n - 3);
        assert!(std::str::from_utf8(&m).is_ok());
        assert_eq!(std::str::from_utf8(&m).unwrap().chars().count(), n - 3);
        let m = DataSet::Pdf.message(7, 131_072);
        assert_eq!(m.len(), 131_072);
        let m = DataSet::Json.message(999, 131_072);
        let start = (999 * 131_072) % 194_056;
        assert_eq!(&m[..16], &DataSet::Json.bytes()[start..start + 16]);
    }
}
