//! What is fuzzed: the connection templates and the seed traffic taken from a URL, a
//! scenario file or a profile, and the server process when wsspec starts it.
//!
//! Seeds are the target's own valid traffic: every `send` (text, JSON, binary) and every
//! `rpc` request of a scenario, in file order, on the connection it was sent on; a
//! scenario is one seed sequence. Steps whose templates need values only a run produces
//! (captures) are left out. The connection templates keep what each `connect` step asks
//! for (path, query, subprotocols, headers, Origin), so that the fuzzer gets past the
//! server's own gate (a magic id, a subprotocol) the way the scenario does.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::peer::{ConnectOptions, Target};
use crate::scenario::engine::process::{LineProbe, OutStream, ProcessSpec, ServerProcess};
use crate::scenario::{
    Address, Profile, Ready, Scenario, SendPayload, ServerSpec, StepAction, Vars,
};

use super::input::{Input, Send, What};

/// A connection as the target's scenarios open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnTemplate {
    /// The scenario's connection name.
    pub name: String,
    /// Path, starting with `/` (without the `query` parameters).
    pub path: String,
    /// Query parameters appended to the path.
    pub query: Vec<(String, String)>,
    /// Offered subprotocols.
    pub protocols: Vec<String>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Origin header.
    pub origin: Option<String>,
}

impl ConnTemplate {
    /// A plain connection to `/`.
    pub fn root(path: &str) -> Self {
        ConnTemplate {
            name: "c0".into(),
            path: path.into(),
            query: Vec::new(),
            protocols: Vec::new(),
            headers: Vec::new(),
            origin: None,
        }
    }

    /// Whether both open the same request (names aside).
    pub fn same_request(&self, o: &ConnTemplate) -> bool {
        self.path == o.path
            && self.query == o.query
            && self.protocols == o.protocols
            && self.headers == o.headers
            && self.origin == o.origin
    }

    /// The peer's options for this template.
    pub fn options(&self, handshake_timeout: Duration) -> ConnectOptions {
        ConnectOptions {
            protocols: self.protocols.clone(),
            headers: self.headers.clone(),
            origin: self.origin.clone(),
            query: self.query.clone(),
            handshake_timeout,
            connect_timeout: handshake_timeout,
            ..Default::default()
        }
    }
}

/// How wsspec starts the server under test (from a scenario's `[server]`).
#[derive(Debug, Clone)]
pub struct Launch {
    /// The resolved spec (command, cwd, env, readiness).
    pub spec: ServerSpec,
    /// The resolved working directory.
    pub cwd: PathBuf,
    /// The scenario it came from (its `[server]` and `[vars]` are copied into findings).
    pub scenario: Scenario,
    /// Resolved values of the scenario's `[vars]`, for the finding files.
    pub vars: Vec<(String, String)>,
    /// Whether the port was chosen by wsspec (a finding then leaves it to the engine).
    pub free_port: bool,
    /// The scenario's directory (`${scenario_dir}`, the default cwd).
    pub cwd_default: PathBuf,
}

/// Everything the fuzzer needs to know about its target.
#[derive(Debug, Clone)]
pub struct FuzzTarget {
    /// Display name (the argument).
    pub name: String,
    /// Host and port the connections go to.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Connection templates; index 0 is also the bystander's and the probe's.
    pub conns: Vec<ConnTemplate>,
    /// Seed sequences (one per scenario), the traffic mutations start from.
    pub seeds: Vec<Input>,
    /// The server process wsspec starts, when it does.
    pub launch: Option<Launch>,
}

impl FuzzTarget {
    /// The peer target of a template.
    pub fn target(&self, t: &ConnTemplate, path: Option<&str>) -> Result<Target, String> {
        let url = format!(
            "ws://{}:{}{}",
            self.host,
            self.port,
            path.unwrap_or(&t.path)
        );
        Target::parse(&url).map_err(|e| format!("{url}: {e}"))
    }
}

/// Loads the target: a `ws://` URL, or a scenario file / profile (`url`: the server is
/// already running there; else its `[server]` is started by wsspec).
pub fn load(
    arg: &str,
    url: Option<&str>,
    cli_vars: &[(String, String)],
) -> Result<FuzzTarget, String> {
    if arg.starts_with("ws://") || arg.starts_with("wss://") {
        if arg.starts_with("wss://") {
            return Err(format!("{arg}: wss:// is not fuzzed yet; use ws://"));
        }
        let u = url::Url::parse(arg).map_err(|e| format!("{arg}: {e}"))?;
        let host = u
            .host_str()
            .ok_or(format!("{arg}: no host"))?
            .trim_matches(['[', ']'])
            .to_owned();
        let port = u.port_or_known_default().unwrap_or(80);
        let mut path = u.path().to_owned();
        if let Some(q) = u.query() {
            path = format!("{path}?{q}");
        }
        return Ok(FuzzTarget {
            name: arg.into(),
            host,
            port,
            conns: vec![ConnTemplate::root(&path)],
            seeds: Vec::new(),
            launch: None,
        });
    }
    let profile =
        Profile::load(arg, &crate::scenario::profile_dirs()).map_err(|e| e.to_string())?;
    from_profile(arg, &profile, url, cli_vars)
}

fn from_profile(
    arg: &str,
    profile: &Profile,
    url: Option<&str>,
    cli_vars: &[(String, String)],
) -> Result<FuzzTarget, String> {
    let mut host = "127.0.0.1".to_string();
    let mut fixed_port: Option<u16> = None;
    if let Some(u) = url {
        let p = url::Url::parse(u).map_err(|e| format!("--url {u:?}: {e}"))?;
        host = p
            .host_str()
            .unwrap_or("127.0.0.1")
            .trim_matches(['[', ']'])
            .to_owned();
        fixed_port = p.port_or_known_default();
    }
    let mut conns: Vec<ConnTemplate> = Vec::new();
    let mut seeds = Vec::new();
    let mut launch: Option<Launch> = None;
    let mut port: Option<u16> = fixed_port;
    for scn in &profile.scenarios {
        let mut builtins = Vars::new();
        builtins.set("host", host.clone());
        let defines_port =
            scn.vars.iter().any(|d| d.name == "port") || cli_vars.iter().any(|(k, _)| k == "port");
        let mut chosen = false;
        if port.is_none() && !defines_port {
            let p = free_port().map_err(|e| format!("cannot pick a free port: {e}"))?;
            port = Some(p);
            chosen = true;
        }
        if let Some(p) = port {
            builtins.set("port", p.to_string());
        }
        builtins.set(
            "scenario_dir",
            scenario_dir(&scn.file).display().to_string(),
        );
        for (k, v) in cli_vars {
            builtins.set(k.clone(), v.clone());
        }
        let vars = match scn.initial_vars(builtins) {
            Ok(v) => v,
            Err(_) => continue,
        };
        if port.is_none() {
            if let Some(p) = vars.get("port").map(crate::scenario::render_value) {
                port = p.parse().ok();
            }
        }
        if launch.is_none() && url.is_none() {
            if let Some(spec) = &scn.server {
                let spec = spec.resolve(&vars).map_err(|e| e.to_string())?;
                let cwd = match &spec.cwd {
                    Some(c) => PathBuf::from(c),
                    None => scenario_dir(&scn.file),
                };
                let var_values = scn
                    .vars
                    .iter()
                    .filter_map(|d| {
                        vars.get(&d.name)
                            .map(|v| (d.name.clone(), crate::scenario::render_value(v)))
                    })
                    .collect();
                launch = Some(Launch {
                    spec,
                    cwd,
                    scenario: scn.clone(),
                    vars: var_values,
                    free_port: chosen,
                    cwd_default: scenario_dir(&scn.file),
                });
            }
        }
        let mut seq = Vec::new();
        for step in &scn.steps {
            let Ok(step) = step.resolve(&vars) else {
                continue;
            };
            match &step.action {
                StepAction::Connect(c) => {
                    if !c.expect.opens() {
                        continue;
                    }
                    let path = match &c.target {
                        Address::Path(p) => p.clone(),
                        Address::Url(u) => url::Url::parse(u)
                            .map(|u| match u.query() {
                                Some(q) => format!("{}?{q}", u.path()),
                                None => u.path().to_owned(),
                            })
                            .unwrap_or_else(|_| "/".into()),
                    };
                    let t = ConnTemplate {
                        name: format!("{}-{}", scn.name, c.conn),
                        path,
                        query: c.query.clone(),
                        protocols: c.protocols.clone(),
                        headers: c.headers.clone(),
                        origin: c.origin.clone(),
                    };
                    let idx = match conns.iter().position(|x| x.same_request(&t)) {
                        Some(i) => i,
                        None => {
                            conns.push(t);
                            conns.len() - 1
                        }
                    };
                    seq.push((c.conn.clone(), None, Some(idx)));
                }
                StepAction::Send(s) => {
                    let what = match &s.payload {
                        SendPayload::Text(t) => What::Text(t.clone()),
                        SendPayload::Json(v) => What::Text(v.to_string()),
                        SendPayload::Binary(b) => What::Binary(b.clone()),
                        SendPayload::Raw(_) => continue,
                    };
                    seq.push((s.conn.clone(), Some(what), None));
                }
                StepAction::Rpc(r) => {
                    seq.push((
                        r.conn.clone(),
                        Some(What::Text(r.request.to_string())),
                        None,
                    ));
                }
                _ => {}
            }
        }
        // Connection names → template indexes, as the scenario opened them.
        let mut map: Vec<(String, usize)> = Vec::new();
        let mut sends = Vec::new();
        for (name, what, opened) in seq {
            match (what, opened) {
                (None, Some(idx)) => {
                    map.retain(|(n, _)| *n != name);
                    map.push((name, idx));
                }
                (Some(what), _) => {
                    let conn = map.iter().find(|(n, _)| *n == name).map_or(0, |(_, i)| *i);
                    sends.push(Send { conn, what });
                }
                _ => {}
            }
        }
        if !sends.is_empty() {
            seeds.push(Input {
                handshake: None,
                sends,
            });
        }
    }
    if conns.is_empty() {
        conns.push(ConnTemplate::root("/"));
    }
    let port = port.ok_or_else(|| {
        format!("{arg}: no port known; give --url ws://127.0.0.1:PORT/ or --var port=PORT")
    })?;
    Ok(FuzzTarget {
        name: arg.into(),
        host,
        port,
        conns,
        seeds,
        launch,
    })
}

/// A free TCP port on 127.0.0.1 (bound and released; the usual small race applies).
fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

fn scenario_dir(file: &str) -> PathBuf {
    let p = Path::new(file);
    let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// The server process under test, restarted after every crash or hang.
#[derive(Debug)]
pub struct ServerCtl {
    launch: Launch,
    port: u16,
    proc: Option<ServerProcess>,
    /// Starts so far.
    pub starts: u32,
}

impl ServerCtl {
    /// A controller for `launch` listening on `port`.
    pub fn new(launch: Launch, port: u16) -> Self {
        ServerCtl {
            launch,
            port,
            proc: None,
            starts: 0,
        }
    }

    /// The process, when started.
    pub fn process(&self) -> Option<&ServerProcess> {
        self.proc.as_ref()
    }

    /// Starts the server and waits (bounded by its `ready_timeout`) until it is ready.
    pub async fn start(&mut self) -> Result<(), String> {
        self.stop().await;
        let spec = &self.launch.spec;
        let probe = match &spec.ready {
            Ready::StdoutLine(re) => Some(LineProbe {
                stream: OutStream::Stdout,
                regex: regex::Regex::new(re).map_err(|e| e.to_string())?,
            }),
            Ready::StderrLine(re) => Some(LineProbe {
                stream: OutStream::Stderr,
                regex: regex::Regex::new(re).map_err(|e| e.to_string())?,
            }),
            _ => None,
        };
        let line_probe = probe.is_some();
        let p = ServerProcess::spawn(
            &ProcessSpec {
                command: spec.command.clone(),
                cwd: self.launch.cwd.clone(),
                env: spec.env.clone(),
                stdin: false,
            },
            probe,
        )
        .map_err(|e| e.to_string())?;
        self.starts += 1;
        let deadline = Instant::now() + spec.ready_timeout;
        if line_probe {
            let r = p.wait_probe(deadline).await;
            self.proc = Some(p);
            return match r {
                Ok(_) => Ok(()),
                Err(Some(e)) => Err(format!(
                    "the server exited before it was ready ({})",
                    e.describe()
                )),
                Err(None) => Err(format!(
                    "the server was not ready within {:?}",
                    spec.ready_timeout
                )),
            };
        }
        self.proc = Some(p);
        // tcp_port / http_probe readiness: the port accepts.
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if let Some(e) = self.proc.as_ref().and_then(|p| p.exit()) {
                return Err(format!(
                    "the server exited before it was ready ({})",
                    e.describe()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "the server was not ready within {:?}",
            spec.ready_timeout
        ))
    }

    /// Stops the server (its stop signal, then SIGKILL after its stop timeout).
    pub async fn stop(&mut self) {
        if let Some(p) = self.proc.take() {
            let t = self.launch.spec.stop_timeout.min(Duration::from_secs(3));
            p.stop(self.launch.spec.stop_signal, t).await;
        }
    }

    /// The output worth quoting (from the error line of a crash).
    pub fn last_output(&self) -> String {
        let Some(p) = &self.proc else {
            return String::new();
        };
        let lines = p.last_lines(200);
        let lines: Vec<(&str, &str)> = lines
            .iter()
            .map(|l| (l.stream.name(), l.text.as_str()))
            .collect();
        crate::report::text::output_summary(&lines)
    }
}
