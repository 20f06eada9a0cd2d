//! How `http` runs, and the header and body checks it shares with a refused `connect`.

use serde_json::Value;

use super::expect::CapInput;
use super::runner::{Outcome, RunStep, Runner, StepCx, Window};
use crate::peer::http::{self, HttpRequest, HttpResponse};
use crate::scenario::actions::Http;
use crate::scenario::describe::{self, ms, short};
use crate::scenario::matcher::JsonPattern;

impl RunStep for Http {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let h = self;
        let t0 = cx.t0;
        let url = match r.url_of(&h.target, ("http", "https")) {
            Ok(u) => u,
            Err(e) => return Outcome::failed("", "", e),
        };
        let sent = format!("{} {url}", h.method);
        let mut expected = match h.expect_status {
            Some(s) => format!("HTTP {s}"),
            None => "an HTTP response".into(),
        };
        if let Some(x) = &h.expect_headers {
            expected += &format!(", headers {}", describe::json(x));
        }
        if let Some(b) = &h.expect_body {
            expected += &format!(", body {}", describe::json(b));
        }
        let req = HttpRequest {
            method: h.method.clone(),
            url,
            headers: h.headers.clone(),
            body: h.body.as_ref().map(|b| b.as_bytes().to_vec()),
            insecure: r.opts.connect.insecure,
        };
        let Window {
            until: deadline,
            cut,
        } = r.window(t0, h.within);
        let resp = match http::fetch(&req, deadline, Some(&r.http_tr)).await {
            Ok(resp) => resp,
            Err(e) => return Outcome::failed(sent, expected, format!("{e}{cut}")),
        };
        let got = format!(
            "HTTP {} {}, {} body bytes, {}",
            resp.head.status,
            resp.head.reason,
            resp.body.len(),
            ms(resp.elapsed)
        );
        let verdict = (|| {
            if let Some(s) = h.expect_status {
                if resp.head.status != s {
                    return Err(String::new());
                }
            }
            if let Some(x) = &h.expect_headers {
                check_headers(x, &resp).map_err(|m| format!("; header {m}"))?;
            }
            if let Some(b) = &h.expect_body {
                check_string(b, Some(resp.body_text()))
                    .map_err(|m| format!("; body {m}: {}", short(&resp.body_text(), 80)))?;
            }
            Ok(())
        })();
        if let Err(why) = verdict {
            r.last_http = Some(resp);
            return Outcome::failed(sent, expected, format!("{got}{why}"));
        }
        let res = r.apply_captures(&h.captures, &CapInput::Http(&resp));
        r.last_http = Some(resp);
        match res {
            Ok(c) if c.is_empty() => Outcome::ok(sent, expected, got),
            Ok(c) => Outcome::ok(sent, expected, format!("{got}; captured {}", c.join(", "))),
            Err(e) => Outcome::failed(sent, expected, format!("{got}; {e}")),
        }
    }
}

/// Checks response headers against a pattern table.
pub(super) fn check_headers(pattern: &Value, resp: &HttpResponse) -> Result<(), String> {
    let pat = JsonPattern::compile_optional(pattern).map_err(|e| e.to_string())?;
    pat.check(&resp.headers_json()).map_err(|m| m.to_string())
}

/// Checks a string (or its absence) against a string pattern.
pub(super) fn check_string(pattern: &Value, actual: Option<String>) -> Result<(), String> {
    let pat = JsonPattern::compile_optional(pattern).map_err(|e| e.to_string())?;
    pat.check_optional(actual.map(Value::String).as_ref())
        .map_err(|m| m.reason)
}
