//! Duration strings: `"250ms"`, `"2s"`, `"1.5s"`, `"1m30s"`.
//!
//! A tiny parser of our own because `humantime` rejects fractions like `1.5s`, which
//! are natural for latency budgets.

use std::fmt;
use std::time::Duration;

/// Longest duration a scenario may ask for. Every wait in the kit is bounded, and a
/// value beyond this is almost certainly a unit mistake.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    /// The offending input.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {}; expected a number with a unit (ms, s, m, h), e.g. \"250ms\", \"2s\", \"1.5s\", \"1m30s\"",
            self.input, self.reason
        )
    }
}

impl std::error::Error for DurationError {}

/// Parses a duration: one or more `<number><unit>` groups, optionally separated by
/// spaces. Units: `ms`, `s`, `m`, `h`. Numbers may have a fractional part.
///
/// ```
/// use std::time::Duration;
/// use wsspec::scenario::parse_duration;
/// assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
/// assert_eq!(parse_duration("1m 30s").unwrap(), Duration::from_secs(90));
/// assert!(parse_duration("5").is_err());
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason: &str| DurationError {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err("empty"));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    // Nanoseconds in u128 so that adding groups cannot overflow before the cap check.
    let mut total: u128 = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let num_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let num = &s[num_start..i];
        if num.is_empty() {
            return Err(err("a number must come before each unit"));
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[unit_start..i];
        let unit_ns: u128 = match unit {
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" if s[i..]
                .trim_start()
                .starts_with(|c: char| c.is_ascii_alphabetic()) =>
            {
                return Err(err(
                    "the unit must follow the number directly (\"2s\", not \"2 s\")",
                ))
            }
            "" => return Err(err("missing unit")),
            _ => return Err(err(&format!("unknown unit {unit:?}"))),
        };
        total += scaled(num, unit_ns).ok_or_else(|| err(&format!("bad number {num:?}")))?;
        if total > MAX_DURATION.as_nanos() {
            return Err(err("longer than 24h"));
        }
    }
    Ok(Duration::from_nanos(total as u64))
}

/// `num` (decimal, optional fraction) times `unit_ns`, exactly, truncated to whole ns.
fn scaled(num: &str, unit_ns: u128) -> Option<u128> {
    let (int, frac) = match num.split_once('.') {
        Some((a, b)) => (a, b),
        None => (num, ""),
    };
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return None;
    }
    if int.len() > 12 || frac.len() > 9 {
        return None;
    }
    let int_v: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut value = int_v * unit_ns;
    if !frac.is_empty() {
        let frac_v: u128 = frac.parse().ok()?;
        value += frac_v * unit_ns / 10u128.pow(frac.len() as u32);
    }
    Some(value)
}

/// Formats a duration the way scenario files write them (`1.5s`, `250ms`).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}us", d.as_micros())
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms >= 1000 && ms.is_multiple_of(100) {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_documented_forms() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("0.25s").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration(".5s").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h 2m").unwrap(), Duration::from_secs(3720));
        assert_eq!(parse_duration(" 3s ").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn rejects_bad_forms_with_reason() {
        for (bad, why) in [
            ("", "empty"),
            ("5", "missing unit"),
            ("5 s", "must follow the number directly"),
            ("2 seconds", "must follow the number directly"),
            ("2seconds", "unknown unit \"seconds\""),
            ("s", "a number must come before"),
            ("2sec", "unknown unit"),
            ("1.2.3s", "bad number"),
            ("-1s", "a number must come before"),
            ("25h", "longer than 24h"),
            ("99999999999999999999s", "bad number"),
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.reason.contains(why), "{bad:?}: {e}");
            assert!(e.to_string().contains("e.g. \"250ms\""), "{e}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for s in ["250ms", "2s", "1.5s", "90s"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
    }
}
