//! What can be known before a run starts: a server given with `--url` that is not on
//! this machine or does not answer, a `[server]` command built from a variable nobody
//! set, and a server command that sets its port in a way the kit cannot be waiting on.
//! The first two make the run untestable (the CLI then writes a report of NOT RUN cases
//! and exits 2); the last is a warning printed before anything runs, since waiting for
//! a port the server never opens takes the whole `ready_timeout` of every file.

use std::collections::BTreeMap;
use std::time::Duration;

use super::EngineOptions;
use crate::peer::Target;
use crate::scenario::describe::short;
use crate::scenario::vars::{render_value, substitute_known, var_refs, VarName, Vars};
use crate::scenario::{Profile, Scenario};

/// How long the TCP connect to a `--url` server may take.
const REACH_TIMEOUT: Duration = Duration::from_secs(3);

/// Options that take a port, as command lines write them (`--port 5173`,
/// `--port=5173`, `PORT=5173 node ...`, `--listen 127.0.0.1:5173`).
const PORT_OPTIONS: &[&str] = &["--port", "--listen", "--http-port", "PORT"];

/// The outcome of [`preflight`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preflight {
    /// Things that look wrong but may be meant; shown before the run.
    pub warnings: Vec<String>,
    /// Why the run cannot test anything. The run should not start: its report is
    /// [`not_run_report`](super::not_run_report) and the exit code 2.
    pub untestable: Option<String>,
}

/// Checks `profile` and `opts` before anything runs (see the module docs).
pub async fn preflight(profile: &Profile, opts: &EngineOptions) -> Preflight {
    let mut out = Preflight::default();
    if let Some(u) = &opts.base_url {
        if let Err(why) = reach(u).await {
            out.untestable = Some(format!("--url {u}: {why}"));
        }
        return out;
    }
    let mut empty: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for scn in &profile.scenarios {
        let Some(server) = &scn.server else { continue };
        let vars = known_vars(scn, opts);
        for name in server.command.iter().flat_map(|c| var_names(c)) {
            if vars
                .get(&name)
                .is_some_and(|v| render_value(v).trim().is_empty())
            {
                let names = empty.entry(name).or_default();
                if !names.contains(&scn.name.as_str()) {
                    names.push(&scn.name);
                }
            }
        }
        let command: Vec<String> = server
            .command
            .iter()
            .map(|c| substitute_known(c, &vars).0)
            .collect();
        let kit_port = vars
            .get("port")
            .map(render_value)
            .filter(|p| !p.contains("${"));
        if let Some(w) = port_option_warning(&command.join(" "), kit_port.as_deref()) {
            if !out.warnings.contains(&w) {
                out.warnings.push(w);
            }
        }
    }
    if !empty.is_empty() {
        let parts: Vec<String> = empty
            .iter()
            .map(|(name, scenarios)| {
                let which = match scenarios.as_slice() {
                    [one] => format!("scenario {one}"),
                    many => format!("{} scenarios ({})", many.len(), many.join(", ")),
                };
                let (example, note) = if name == "server_cmd" {
                    (
                        "'node server.js'",
                        " (the command that starts your server; single quotes keep $PORT for the server)",
                    )
                } else {
                    ("'...'", "")
                };
                format!(
                    "${{{name}}} is empty, and the [server] command of {which} runs it: give it with --var {name}={example}{note}"
                )
            })
            .collect();
        out.untestable = Some(format!(
            "{}; or test a server you started with --url",
            parts.join("; ")
        ));
    }
    out
}

/// The variables known before a run: `--var`s, then each `[vars]` entry expanded as
/// far as they allow (built-ins such as `${port}` stay as written).
fn known_vars(scn: &Scenario, opts: &EngineOptions) -> Vars {
    let mut vars = Vars::new();
    for (k, v) in &opts.vars {
        vars.set(k.clone(), v.clone());
    }
    for def in &scn.vars {
        if !vars.contains(&def.name) {
            let value = substitute_known(&def.value, &vars).0;
            vars.set(def.name.clone(), value);
        }
    }
    vars
}

/// The scenario variables a template refers to.
fn var_names(template: &str) -> Vec<String> {
    var_refs(template)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| match r.name {
            VarName::Var(n) => Some(n),
            VarName::Env(_) => None,
        })
        .collect()
}

/// Whether a `--url` server can be tested: on this machine, and accepting TCP.
async fn reach(u: &str) -> Result<(), String> {
    let mut url = url::Url::parse(u).map_err(|e| e.to_string())?;
    let ws = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        s => return Err(format!("scheme {s:?}; expected ws, wss, http or https")),
    };
    url.set_scheme(ws)
        .map_err(|()| format!("cannot use {u} as a {ws}:// URL"))?;
    let target = Target::parse(url.as_str()).map_err(|e| e.to_string())?;
    let addrs = target.resolve().map_err(|e| e.to_string())?;
    let addr = addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(" or ");
    match tokio::time::timeout(REACH_TIMEOUT, tokio::net::TcpStream::connect(&addrs[..])).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("nothing accepts TCP at {addr} ({e})")),
        Err(_) => Err(format!(
            "{addr} did not accept TCP within {}s",
            REACH_TIMEOUT.as_secs()
        )),
    }
}

/// A warning when a server command sets its port itself in a way that cannot be the
/// port the kit waits on (`kit_port`, or a free one the kit picks when `None`): an
/// option without a value, which is what a shell leaves of `$PORT` written inside double
/// quotes, or another number.
///
/// ```
/// use wsspec::scenario::engine::port_option_warning;
/// assert!(port_option_warning("node server.js --port", None).unwrap().contains("single quotes"));
/// assert!(port_option_warning("node server.js --port 3000", None).unwrap().contains("--var port=3000"));
/// assert_eq!(port_option_warning("node server.js --port $PORT", None), None);
/// assert_eq!(port_option_warning("node server.js --port 3000", Some("3000")), None);
/// assert_eq!(port_option_warning("node server.js", None), None);
/// ```
pub fn port_option_warning(command: &str, kit_port: Option<&str>) -> Option<String> {
    let tokens: Vec<&str> = command.split_whitespace().collect();
    let cmd = short(command, 120);
    for (i, tok) in tokens.iter().enumerate() {
        let (opt, value) = match tok.split_once('=') {
            Some((o, v)) if PORT_OPTIONS.contains(&o) => (o, Some(v)),
            _ if PORT_OPTIONS.contains(tok) && *tok != "PORT" => (
                *tok,
                tokens.get(i + 1).copied().filter(|v| !v.starts_with('-')),
            ),
            _ => continue,
        };
        let value = value.unwrap_or("");
        if value.contains("PORT") || value.contains("${port}") || value.contains("$port") {
            continue;
        }
        if value.is_empty() {
            return Some(format!(
                "the server command {cmd} gives {opt} no value: if it had $PORT inside double quotes, your shell replaced it (with nothing) before wsspec saw it, and the kit would wait for a port the server never opens; put the command in single quotes ('... {opt} $PORT')"
            ));
        }
        let Ok(n) = value.rsplit(':').next().unwrap_or(value).parse::<u16>() else {
            continue;
        };
        if kit_port.is_some_and(|p| p == n.to_string()) {
            continue;
        }
        let waits = match kit_port {
            Some(p) => format!("the scenario waits for it on port {p}"),
            None => {
                "wsspec waits for it on a free port it picks (${port}, given to the server as PORT)"
                    .to_string()
            }
        };
        return Some(format!(
            "the server command {cmd} sets port {n} ({opt}), but {waits}: if your shell expanded $PORT there (double quotes), use single quotes; if the server must use {n}, add --var port={n}"
        ));
    }
    None
}
