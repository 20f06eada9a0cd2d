//! A finding as a scenario file: `wsspec scenario finding-1.toml` sends the minimised
//! input again and fails the same way while the bug is there (and passes once it is
//! fixed), so a CI failure comes with its own regression test.
//!
//! The file holds the target's `[vars]` (resolved) and `[server]` (resolved, with the
//! port the fuzzer chose written back as `${port}`), a bystander connection, the
//! mutated handshake if any, the input's connections and sends (raw frames as `raw`
//! sends), a short settle, and the oracle's check: a new connection that must upgrade
//! and answer a ping (crash, not accepting, unresponsive, slow), the bystander's ping
//! (bystander dropped), or `expect_conforming` on each connection (protocol violation).

use toml::{Table, Value};

use super::exec::{ExecConfig, Oracle};
use super::input::{hex, Input, What};
use super::target::{ConnTemplate, FuzzTarget};
use crate::scenario::{format_duration, Ready};

/// What the file header says about the finding.
#[derive(Debug, Clone)]
pub struct About {
    /// Finding number (1-based).
    pub number: usize,
    /// The oracle.
    pub oracle: Oracle,
    /// What was seen.
    pub detail: String,
    /// The run's seed.
    pub seed: u64,
    /// The run number.
    pub run: u64,
    /// Whether the input was minimised (a server that no longer answers cannot be asked).
    pub minimised: bool,
}

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

/// Replaces the port the fuzzer chose by `${port}` where it stands alone as a number.
fn unport(text: &str, port: Option<u16>) -> String {
    let Some(p) = port else {
        return text.to_owned();
    };
    let p = p.to_string();
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(&p) {
        let before = rest[..i].chars().last();
        let after = rest[i + p.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(|c| c.is_ascii_digit()) || after.is_some_and(|c| c.is_ascii_digit()) {
            out.push_str(&p);
        } else {
            out.push_str("${port}");
        }
        rest = &rest[i + p.len()..];
    }
    out.push_str(rest);
    out
}

fn connect(conn: &str, t: &ConnTemplate, within: &str) -> Table {
    let mut c = Table::new();
    c.insert("action".into(), s("connect"));
    c.insert("conn".into(), s(conn));
    c.insert("path".into(), s(t.path.clone()));
    if !t.query.is_empty() {
        let mut q = Table::new();
        for (k, v) in &t.query {
            q.insert(k.clone(), s(v.clone()));
        }
        c.insert("query".into(), Value::Table(q));
    }
    if !t.protocols.is_empty() {
        c.insert(
            "protocols".into(),
            Value::Array(t.protocols.iter().cloned().map(s).collect()),
        );
    }
    if !t.headers.is_empty() {
        let mut h = Table::new();
        for (k, v) in &t.headers {
            h.insert(k.clone(), s(v.clone()));
        }
        c.insert("headers".into(), Value::Table(h));
    }
    if let Some(o) = &t.origin {
        c.insert("origin".into(), s(o.clone()));
    }
    c.insert("within".into(), s(within));
    c
}

/// The scenario file of a finding.
pub fn scenario_toml(t: &FuzzTarget, about: &About, input: &Input, cfg: &ExecConfig) -> String {
    let free_port = t.launch.as_ref().filter(|l| l.free_port).map(|_| t.port);
    let within = format_duration(cfg.probe_timeout);
    let mut doc = Table::new();
    let mut scn = Table::new();
    scn.insert("name".into(), s(format!("finding-{}", about.number)));
    scn.insert(
        "description".into(),
        s(format!(
            "wsspec fuzz finding {} ({}): {}",
            about.number,
            about.oracle.id(),
            one_line(&about.detail, 300)
        )),
    );
    scn.insert("deadline".into(), s("60s"));
    doc.insert("scenario".into(), Value::Table(scn));
    if let Some(l) = &t.launch {
        if !l.vars.is_empty() {
            let mut vars = Table::new();
            for (k, v) in &l.vars {
                if free_port.is_some() && k == "port" {
                    continue;
                }
                vars.insert(k.clone(), s(unport(v, free_port)));
            }
            doc.insert("vars".into(), Value::Table(vars));
        }
        // The [server] section as the scenario wrote it (templates over the [vars]
        // above, so `--var` still changes it), with `${scenario_dir}` pinned to the
        // scenario's own directory: the finding file lives elsewhere.
        let dir = l.cwd_default.display().to_string();
        let pin = |t: &str| t.replace("${scenario_dir}", &dir);
        let spec = match &l.scenario.server {
            Some(s) => s,
            None => &l.spec,
        };
        let mut srv = Table::new();
        srv.insert(
            "command".into(),
            Value::Array(spec.command.iter().map(|c| s(pin(c))).collect()),
        );
        srv.insert(
            "cwd".into(),
            s(spec.cwd.as_deref().map(pin).unwrap_or_else(|| dir.clone())),
        );
        if !spec.env.is_empty() {
            let mut env = Table::new();
            for (k, v) in &spec.env {
                env.insert(k.clone(), s(pin(v)));
            }
            srv.insert("env".into(), Value::Table(env));
        }
        let mut ready = Table::new();
        match &spec.ready {
            Ready::StdoutLine(re) => {
                ready.insert("stdout_line".into(), s(pin(re)));
            }
            Ready::StderrLine(re) => {
                ready.insert("stderr_line".into(), s(pin(re)));
            }
            Ready::TcpPort(p) => {
                ready.insert("tcp_port".into(), s(pin(p)));
            }
            Ready::HttpProbe { url, status } => {
                ready.insert("http_probe".into(), s(pin(url)));
                if let Some(st) = status {
                    ready.insert("status".into(), Value::Integer(*st as i64));
                }
            }
        }
        srv.insert("ready".into(), Value::Table(ready));
        srv.insert(
            "ready_timeout".into(),
            s(format_duration(spec.ready_timeout)),
        );
        srv.insert("stop_timeout".into(), s(format_duration(spec.stop_timeout)));
        doc.insert("server".into(), Value::Table(srv));
    }
    let mut steps: Vec<Value> = Vec::new();
    let mut step = |t: Table| steps.push(Value::Table(t));
    let mut by = connect("bystander", &t.conns[0], &within);
    by.insert(
        "title".into(),
        s("a bystander connection that sends nothing unusual"),
    );
    step(by);
    if let Some(h) = &input.handshake {
        let tpl = &t.conns[h.conn.min(t.conns.len() - 1)];
        let mut tpl = tpl.clone();
        if let Some(p) = &h.protocols {
            tpl.protocols = p.clone();
        }
        if let Some(p) = &h.path {
            tpl.path = p.clone();
            tpl.query.clear();
        }
        for (k, v) in &h.headers {
            tpl.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(k));
            tpl.headers.push((k.clone(), v.clone()));
        }
        let mut c = connect("handshake", &tpl, &within);
        c.insert("title".into(), s("the mutated opening handshake"));
        if let Some(m) = &h.method {
            c.insert("method".into(), s(m.clone()));
        }
        if !h.omit.is_empty() {
            c.insert(
                "omit_headers".into(),
                Value::Array(h.omit.iter().cloned().map(s).collect()),
            );
        }
        let mut e = Table::new();
        match about_status(input) {
            Some(Some(101)) => {}
            Some(Some(st)) => {
                e.insert("status".into(), Value::Integer(st as i64));
            }
            _ => {
                e.insert("closed_before_data".into(), Value::Boolean(true));
            }
        }
        if !e.is_empty() {
            c.insert("expect".into(), Value::Table(e));
        }
        step(c);
    }
    for idx in input.conns_used() {
        step(connect(&format!("c{idx}"), &t.conns[idx], &within));
    }
    for snd in &input.sends {
        let conn = format!("c{}", snd.conn);
        let mut base = Table::new();
        base.insert("action".into(), s("send"));
        base.insert("conn".into(), s(conn.clone()));
        match &snd.what {
            What::Text(x) => {
                base.insert("text".into(), s(x.clone()));
                step(base);
            }
            What::Binary(b) => {
                base.insert("binary_hex".into(), s(hex(b)));
                step(base);
            }
            What::Frames { frames, chop } => {
                for f in frames {
                    let mut raw = Table::new();
                    raw.insert("opcode".into(), Value::Integer(f.opcode as i64));
                    raw.insert("fin".into(), Value::Boolean(f.fin));
                    if f.rsv != 0 {
                        raw.insert("rsv".into(), Value::Integer(f.rsv as i64));
                    }
                    raw.insert("mask".into(), Value::Boolean(f.masked));
                    raw.insert("payload_hex".into(), s(hex(&f.payload)));
                    if f.long_form {
                        raw.insert("length_encoding".into(), s("64bit"));
                    }
                    if let Some(d) = f.declared_len {
                        raw.insert(
                            "declared_length".into(),
                            Value::Integer(d.min(i64::MAX as u64) as i64),
                        );
                    }
                    if let Some(c) = chop {
                        raw.insert("chop".into(), Value::Integer(*c as i64));
                    }
                    let mut st = base.clone();
                    st.insert("raw".into(), Value::Table(raw));
                    step(st);
                }
            }
        }
    }
    let mut sleep = Table::new();
    sleep.insert("action".into(), s("sleep"));
    sleep.insert("for".into(), s(format_duration(cfg.settle_max)));
    step(sleep);
    match about.oracle {
        Oracle::BystanderDropped => {
            let mut p = Table::new();
            p.insert("id".into(), s("oracle"));
            p.insert("title".into(), s(Oracle::BystanderDropped.expected()));
            p.insert("action".into(), s("ping"));
            p.insert("conn".into(), s("bystander"));
            p.insert("payload".into(), s("alive"));
            p.insert("expect_pong_within".into(), s(within.clone()));
            step(p);
        }
        Oracle::ProtocolViolation => {
            let mut conns = vec!["bystander".to_string()];
            if input.handshake.is_some() && about_status(input) == Some(Some(101)) {
                conns.push("handshake".into());
            }
            conns.extend(input.conns_used().iter().map(|i| format!("c{i}")));
            for c in conns {
                let mut p = Table::new();
                p.insert("title".into(), s(Oracle::ProtocolViolation.expected()));
                p.insert("action".into(), s("expect_conforming"));
                p.insert("conn".into(), s(c));
                step(p);
            }
        }
        o => {
            let mut c = connect("probe", &t.conns[0], &within);
            c.insert("id".into(), s("oracle-upgrade"));
            c.insert("title".into(), s(Oracle::NotAccepting.expected()));
            step(c);
            let mut p = Table::new();
            p.insert("id".into(), s("oracle-pong"));
            p.insert("title".into(), s(o.expected()));
            p.insert("action".into(), s("ping"));
            p.insert("conn".into(), s("probe"));
            p.insert("payload".into(), s("alive"));
            let bound = if o == Oracle::Slow {
                cfg.latency_bound
            } else {
                cfg.probe_timeout
            };
            p.insert("expect_pong_within".into(), s(format_duration(bound)));
            step(p);
        }
    }
    doc.insert("step".into(), Value::Array(steps));
    let body = toml::to_string(&doc).unwrap_or_default();
    let mut head = format!(
        "# wsspec fuzz finding {}: {} (oracle {}).\n# Found with --seed {} at run {}; {}. Replay: wsspec scenario <this file>\n# (fails while the bug is there, passes once it is fixed).\n",
        about.number,
        one_line(&about.detail, 200),
        about.oracle.id(),
        about.seed,
        about.run,
        if about.minimised {
            "minimised"
        } else {
            "not minimised (the server no longer answered)"
        }
    );
    if t.launch.is_none() {
        head.push_str(&format!(
            "# The server was already running: pass --url ws://{}:{}/ when replaying.\n",
            t.host, t.port
        ));
    }
    head + "\n" + &body
}

fn about_status(input: &Input) -> Option<Option<u16>> {
    input.handshake.as_ref().and_then(|h| h.observed_status)
}

fn one_line(s: &str, max: usize) -> String {
    let line: String = s.chars().map(|c| if c == '\n' { ' ' } else { c }).collect();
    if line.chars().count() <= max {
        line
    } else {
        line.chars().take(max).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_replaced_only_standing_alone() {
        assert_eq!(unport("127.0.0.1:41234", Some(41234)), "127.0.0.1:${port}");
        assert_eq!(unport("1412345", Some(41234)), "1412345");
        assert_eq!(unport("--port", Some(41234)), "--port");
        assert_eq!(unport("41234", None), "41234");
    }
}
