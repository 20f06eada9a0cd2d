//! The `Sec-WebSocket-Extensions` grammar of RFC 6455 §9.1, for any extension.
//!
//! ```text
//! extension-list  = 1#extension
//! extension       = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! Whitespace (SP, HTAB) is allowed around `,`, `;` and `=`, and empty list elements are
//! skipped, as the HTTP list rule asks of recipients (RFC 7230 §7). A quoted value must be a
//! token once unescaped. Names are kept as received: RFC 6455 compares extension names and
//! parameters as they are registered, so `Permessage-Deflate` is a different (unknown)
//! extension.

use std::fmt;

use super::error::{ExtensionError, TokenKind};

/// One parameter of an extension element: `name` or `name=value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionParam {
    /// The parameter token.
    pub name: String,
    /// The value, unescaped if it was a quoted-string; `None` for a bare parameter.
    pub value: Option<String>,
}

/// One element of an extension list: a name and its parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extension {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in the order they appeared.
    pub params: Vec<ExtensionParam>,
}

impl Extension {
    /// An extension element without parameters.
    pub fn new(name: impl Into<String>) -> Self {
        Extension {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Appends a parameter (builder style).
    pub fn param(mut self, name: impl Into<String>, value: Option<String>) -> Self {
        self.params.push(ExtensionParam {
            name: name.into(),
            value,
        });
        self
    }
}

impl fmt::Display for Extension {
    /// The element as sent on the wire: `name; p; q=v`. A value that is not a token is quoted
    /// (it cannot come from the parser, which rejects such values, but a builder may hold one).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for p in &self.params {
            write!(f, "; {}", p.name)?;
            if let Some(v) = &p.value {
                if is_token(v.as_bytes()) {
                    write!(f, "={v}")?;
                } else {
                    f.write_str("=\"")?;
                    for c in v.chars() {
                        if c == '"' || c == '\\' {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                    f.write_str("\"")?;
                }
            }
        }
        Ok(())
    }
}

/// Joins elements into one header value, `a; x, b`.
pub fn format_extensions(list: &[Extension]) -> String {
    list.iter()
        .map(Extension::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `tchar` of RFC 7230 §3.2.6 (the token alphabet RFC 6455 refers to through RFC 2616).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn token(&mut self, what: TokenKind) -> Result<String, ExtensionError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(ExtensionError::ExpectedToken {
                offset: start,
                what,
            });
        }
        // tchar is ASCII, so the slice is UTF-8.
        Ok(String::from_utf8_lossy(&self.buf[start..self.pos]).into_owned())
    }

    /// A quoted-string starting at the opening quote; returns the unescaped content.
    fn quoted(&mut self) -> Result<String, ExtensionError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(ExtensionError::BadQuotedString { offset: open });
            };
            self.pos += 1;
            match b {
                b'"' => return Ok(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => match self.peek() {
                    // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                    Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => {
                        out.push(c);
                        self.pos += 1;
                    }
                    _ => return Err(ExtensionError::BadQuotedString { offset: self.pos }),
                },
                // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
                b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff => out.push(b),
                _ => {
                    return Err(ExtensionError::BadQuotedString {
                        offset: self.pos - 1,
                    })
                }
            }
        }
    }
}

/// Parses one `Sec-WebSocket-Extensions` header value into its elements.
pub fn parse_extensions(value: &[u8]) -> Result<Vec<Extension>, ExtensionError> {
    let mut list = Vec::new();
    parse_into(value, &mut list)?;
    if list.is_empty() {
        return Err(ExtensionError::EmptyList);
    }
    Ok(list)
}

/// Parses every `Sec-WebSocket-Extensions` field of a message as one list (several fields
/// with the same name form one comma-separated list, RFC 7230 §3.2.2). Offsets in errors are
/// relative to the field they occur in.
pub fn parse_extension_fields<'a, I>(values: I) -> Result<Vec<Extension>, ExtensionError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut list = Vec::new();
    for v in values {
        parse_into(v, &mut list)?;
    }
    if list.is_empty() {
        return Err(ExtensionError::EmptyList);
    }
    Ok(list)
}

fn parse_into(value: &[u8], list: &mut Vec<Extension>) -> Result<(), ExtensionError> {
    let mut c = Cursor { buf: value, pos: 0 };
    loop {
        c.skip_ows();
        match c.peek() {
            None => return Ok(()),
            Some(b',') => {
                c.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let mut ext = Extension::new(c.token(TokenKind::ExtensionName)?);
        loop {
            c.skip_ows();
            match c.peek() {
                None => {
                    list.push(ext);
                    return Ok(());
                }
                Some(b',') => {
                    c.pos += 1;
                    break;
                }
                Some(b';') => {
                    c.pos += 1;
                    c.skip_ows();
                    ext.params.push(param(&mut c)?);
                }
                Some(byte) => {
                    return Err(ExtensionError::UnexpectedByte {
                        offset: c.pos,
                        byte,
                    })
                }
            }
        }
        list.push(ext);
    }
}

fn param(c: &mut Cursor<'_>) -> Result<ExtensionParam, ExtensionError> {
    let name = c.token(TokenKind::ParamName)?;
    let save = c.pos;
    c.skip_ows();
    if c.peek() != Some(b'=') {
        c.pos = save;
        return Ok(ExtensionParam { name, value: None });
    }
    c.pos += 1;
    c.skip_ows();
    let value = if c.peek() == Some(b'"') {
        let v = c.quoted()?;
        if !is_token(v.as_bytes()) {
            return Err(ExtensionError::QuotedValueNotToken {
                param: name,
                value: v,
            });
        }
        v
    } else {
        c.token(TokenKind::ParamValue)?
    };
    Ok(ExtensionParam {
        name,
        value: Some(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Vec<Extension>, ExtensionError> {
        parse_extensions(s.as_bytes())
    }

    #[test]
    fn elements_params_and_whitespace() {
        let l = p(" foo ;a; b = 1 ,, bar;c=\"x\\y\" ,").unwrap();
        assert_eq!(
            l,
            vec![
                Extension::new("foo")
                    .param("a", None)
                    .param("b", Some("1".into())),
                Extension::new("bar").param("c", Some("xy".into())),
            ]
        );
        assert_eq!(format_extensions(&l), "foo; a; b=1, bar; c=xy");
    }

    #[test]
    fn grammar_errors_name_the_offset() {
        assert_eq!(p(""), Err(ExtensionError::EmptyList));
        assert_eq!(p(" , ,"), Err(ExtensionError::EmptyList));
        assert_eq!(
            p("foo;"),
            Err(ExtensionError::ExpectedToken {
                offset: 4,
                what: TokenKind::ParamName
            })
        );
        assert_eq!(
            p("foo; a="),
            Err(ExtensionError::ExpectedToken {
                offset: 7,
                what: TokenKind::ParamValue
            })
        );
        assert_eq!(
            p("foo bar"),
            Err(ExtensionError::UnexpectedByte {
                offset: 4,
                byte: b'b'
            })
        );
        assert_eq!(
            p("=x"),
            Err(ExtensionError::ExpectedToken {
                offset: 0,
                what: TokenKind::ExtensionName
            })
        );
        assert_eq!(
            p("foo; a=\"1"),
            Err(ExtensionError::BadQuotedString { offset: 7 })
        );
        assert_eq!(
            p("foo; a=\"1 2\""),
            Err(ExtensionError::QuotedValueNotToken {
                param: "a".into(),
                value: "1 2".into()
            })
        );
        assert!(matches!(
            p("foo; a=\"\x01\""),
            Err(ExtensionError::BadQuotedString { .. })
        ));
    }

    #[test]
    fn several_fields_form_one_list() {
        let l = parse_extension_fields([&b"a"[..], b"b; x=1", b""]).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(
            parse_extension_fields([&b""[..]]),
            Err(ExtensionError::EmptyList)
        );
    }
}
