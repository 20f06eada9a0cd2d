//! Incremental parsing of the HTTP/1.1 head of the opening handshake (RFC 6455 §4, RFC 9112).
//!
//! Only what the handshake needs: request line or status line, then header fields, up to the
//! empty line. Parsing is retried on a growing buffer; [`Status::Partial`] means "no empty
//! line yet", and a head that does not end within the size limit is a [`CapacityError`].
//! Header values are kept as bytes because servers under test send anything.

use std::fmt;

use super::error::CapacityError;
use super::frame::Status;

/// Default limit on the size of an HTTP head (request or response), in bytes.
pub const DEFAULT_MAX_HEAD: usize = 16 * 1024;
/// Default limit on the number of header lines.
pub const DEFAULT_MAX_HEADERS: usize = 128;

/// A malformed HTTP head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// RFC 9112 §3: the request line is not `METHOD SP target SP HTTP/x.y`.
    MalformedRequestLine,
    /// RFC 9112 §4: the status line is not `HTTP/x.y SP 3DIGIT SP reason`.
    MalformedStatusLine,
    /// RFC 9112 §5: a header line without a colon or with an empty or invalid name.
    MalformedHeader(String),
    /// A size limit was hit.
    Capacity(CapacityError),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::MalformedRequestLine => write!(f, "malformed HTTP request line"),
            HttpError::MalformedStatusLine => write!(f, "malformed HTTP status line"),
            HttpError::MalformedHeader(l) => write!(f, "malformed HTTP header line {l:?}"),
            HttpError::Capacity(c) => c.fmt(f),
        }
    }
}

impl std::error::Error for HttpError {}

/// Header fields in order of appearance; names compare case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, Vec<u8>)>);

impl Headers {
    /// All values of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name`.
    pub fn get<'a>(&'a self, name: &'a str) -> Option<&'a [u8]> {
        self.get_all(name).next()
    }

    /// The first value of `name` as text (lossy).
    pub fn get_str(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|v| String::from_utf8_lossy(v).trim().to_owned())
    }

    /// Number of lines named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// Whether any value of `name`, read as a comma-separated list, contains `token`
    /// (case-insensitive), as §4.1 and §4.2.1 require for `Upgrade` and `Connection`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|v| {
            String::from_utf8_lossy(v)
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        })
    }

    /// All comma-separated, trimmed elements of every `name` line.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get_all(name)
            .flat_map(|v| {
                String::from_utf8_lossy(v)
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// Method token, e.g. `GET`.
    pub method: String,
    /// Request target, e.g. `/?token=abc`.
    pub target: String,
    /// HTTP version as (major, minor).
    pub version: (u8, u8),
    /// Header fields.
    pub headers: Headers,
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// HTTP version as (major, minor).
    pub version: (u8, u8),
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header fields.
    pub headers: Headers,
}

/// Size limits for head parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Maximum bytes up to and including the empty line.
    pub max_head: usize,
    /// Maximum header lines.
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_head: DEFAULT_MAX_HEAD,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }
}

/// Finds the end of the head (after CRLFCRLF, or LFLF from lax peers).
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some(i + 2);
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

/// A head's lines (without their CRLF) and the length of the whole head.
type HeadLines<'a> = (Vec<&'a [u8]>, usize);

fn split_head(buf: &[u8], limits: HeadLimits) -> Result<Status<HeadLines<'_>>, HttpError> {
    let Some(end) = head_end(buf) else {
        if buf.len() > limits.max_head {
            return Err(HttpError::Capacity(CapacityError::HeadTooLarge {
                limit: limits.max_head,
            }));
        }
        return Ok(Status::Partial(1));
    };
    if end > limits.max_head {
        return Err(HttpError::Capacity(CapacityError::HeadTooLarge {
            limit: limits.max_head,
        }));
    }
    let lines: Vec<&[u8]> = buf[..end]
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() > limits.max_headers + 1 {
        return Err(HttpError::Capacity(CapacityError::TooManyHeaders {
            limit: limits.max_headers,
        }));
    }
    Ok(Status::Complete((lines, end), end))
}

fn parse_version(s: &str) -> Option<(u8, u8)> {
    let v = s.strip_prefix("HTTP/")?;
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

fn parse_headers(lines: &[&[u8]]) -> Result<Headers, HttpError> {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(HttpError::MalformedHeader(
                String::from_utf8_lossy(line).into_owned(),
            ));
        };
        let name = String::from_utf8_lossy(&line[..colon]).into_owned();
        if !is_token(&name) {
            return Err(HttpError::MalformedHeader(
                String::from_utf8_lossy(line).into_owned(),
            ));
        }
        let value = line[colon + 1..].trim_ascii().to_vec();
        out.push((name, value));
    }
    Ok(Headers(out))
}

/// Parses a request head from the start of `buf`.
pub fn parse_request(buf: &[u8], limits: HeadLimits) -> Result<Status<RequestHead>, HttpError> {
    let (lines, end) = match split_head(buf, limits)? {
        Status::Complete(v, _) => v,
        Status::Partial(n) => return Ok(Status::Partial(n)),
    };
    let first = lines.first().ok_or(HttpError::MalformedRequestLine)?;
    let first = std::str::from_utf8(first).map_err(|_| HttpError::MalformedRequestLine)?;
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::MalformedRequestLine);
    };
    let version = parse_version(version).ok_or(HttpError::MalformedRequestLine)?;
    if !is_token(method) || target.is_empty() {
        return Err(HttpError::MalformedRequestLine);
    }
    let headers = parse_headers(&lines[1..])?;
    Ok(Status::Complete(
        RequestHead {
            method: method.to_owned(),
            target: target.to_owned(),
            version,
            headers,
        },
        end,
    ))
}

/// Parses a response head from the start of `buf`.
pub fn parse_response(buf: &[u8], limits: HeadLimits) -> Result<Status<ResponseHead>, HttpError> {
    let (lines, end) = match split_head(buf, limits)? {
        Status::Complete(v, _) => v,
        Status::Partial(n) => {
            // Fail early on garbage instead of waiting for a head that will never end.
            let probe = &buf[..buf.len().min(5)];
            if !b"HTTP/".starts_with(probe) {
                return Err(HttpError::MalformedStatusLine);
            }
            return Ok(Status::Partial(n));
        }
    };
    let first = lines.first().ok_or(HttpError::MalformedStatusLine)?;
    let first = String::from_utf8_lossy(first);
    let mut parts = first.splitn(3, ' ');
    let version = parts
        .next()
        .and_then(parse_version)
        .ok_or(HttpError::MalformedStatusLine)?;
    let status = parts
        .next()
        .filter(|s| s.len() == 3)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(HttpError::MalformedStatusLine)?;
    let reason = parts.next().unwrap_or("").to_owned();
    let headers = parse_headers(&lines[1..])?;
    Ok(Status::Complete(
        ResponseHead {
            version,
            status,
            reason,
            headers,
        },
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_incremental_and_limits() {
        let req = b"GET /chat?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\nrest";
        for cut in 0..req.len() - 4 {
            assert!(matches!(
                parse_request(&req[..cut], HeadLimits::default()),
                Ok(Status::Partial(_))
            ));
        }
        let Status::Complete(r, n) = parse_request(req, HeadLimits::default()).unwrap() else {
            panic!()
        };
        assert_eq!(n, req.len() - 4);
        assert_eq!(r.target, "/chat?x=1");
        assert!(r.headers.has_token("upgrade", "WebSocket"));
        let big = vec![b'a'; 100];
        let lim = HeadLimits {
            max_head: 50,
            max_headers: 4,
        };
        assert!(matches!(
            parse_request(&big, lim),
            Err(HttpError::Capacity(_))
        ));
    }

    #[test]
    fn response_garbage_fails_fast() {
        assert_eq!(
            parse_response(b"\x00\x01garbage", HeadLimits::default()),
            Err(HttpError::MalformedStatusLine)
        );
        assert!(matches!(
            parse_response(b"HTT", HeadLimits::default()),
            Ok(Status::Partial(_))
        ));
    }
}
