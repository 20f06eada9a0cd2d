//! The `http` action: one HTTP request to the server under test (tokens, probes, asset
//! fetches), with expectations on status, headers and body, and captures.

use std::time::Duration;

use serde_json::Value;

use super::ActionSpec;
use crate::scenario::model::{Address, Capture};
use crate::scenario::read::{Fields, Reader};
use crate::scenario::resolve::{
    sub_address, sub_captures, sub_opt, sub_pairs, sub_pattern, ResolveError,
};
use crate::scenario::vars::Vars;

/// This family's rows of the action table (see `actions/mod.rs`).
macro_rules! http_actions {
    ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
        $crate::scenario::actions::collect_families! { $consumer [$($done)*
            /// An HTTP request to the server.
            Http(Http),
        ] $($rest)* }
    };
}
pub(crate) use http_actions;

/// `http`.
#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    /// `method` (default GET).
    pub method: String,
    /// `url` (`http://`/`https://`) or `path`.
    pub target: Address,
    /// `headers` (values are templates).
    pub headers: Vec<(String, String)>,
    /// `body` (template).
    pub body: Option<String>,
    /// `within`.
    pub within: Duration,
    /// `expect_status`.
    pub expect_status: Option<u16>,
    /// `expect_headers`: patterns per response header (names lower-cased).
    pub expect_headers: Option<Value>,
    /// `expect_body`: string pattern for the body.
    pub expect_body: Option<Value>,
    /// `capture`.
    pub captures: Vec<Capture>,
}

impl ActionSpec for Http {
    const NAME: &'static str = "http";
    const KEYS: &'static [&'static str] = &[
        "method",
        "url",
        "path",
        "headers",
        "body",
        "within",
        "expect_status",
        "expect_headers",
        "expect_body",
        "capture",
    ];
    const CHECK: &'static str = "HTTP";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let method = r.method(f);
        let target = r.target(f, &["http://", "https://"]);
        let headers = r.headers(f, "headers");
        let body = r.template(f, "body").map(|s| s.0);
        let within = r.within(f);
        let expect_status = r.status(f, "expect_status");
        let expect_headers = if f.has("expect_headers") {
            r.header_patterns(f, "expect_headers")
        } else {
            None
        };
        let expect_body = r.string_pattern(f, "expect_body", false);
        let captures = r.captures(f, true);
        Some(Http {
            method,
            target: target?,
            headers,
            body,
            within,
            expect_status,
            expect_headers,
            expect_body,
            captures,
        })
    }

    fn defines(&self) -> Vec<&str> {
        self.captures.iter().map(|c| c.var.as_str()).collect()
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub_address(&mut self.target, vars)?;
        sub_pairs(&mut self.headers, vars)?;
        sub_opt(&mut self.body, vars)?;
        sub_pattern(&mut self.expect_headers, vars)?;
        sub_pattern(&mut self.expect_body, vars)?;
        sub_captures(&mut self.captures, vars)
    }

    fn title(&self) -> String {
        let to = match &self.target {
            Address::Url(u) => u,
            Address::Path(p) => p,
        };
        format!("HTTP {} {to}", self.method)
    }
}
