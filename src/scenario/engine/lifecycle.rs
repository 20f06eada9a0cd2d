//! The two ends of a scenario run: setup (built-in variables, the project directory, the
//! `[server]` start and its readiness) before the first step, and teardown (connections,
//! listeners, clients, the server, edited files) into the `#cleanup` case after the last,
//! also after a failure or the deadline.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::files::FileGuard;
use super::runner::{Outcome, Runner};
use super::server::{self, ServerCtl};
use crate::scenario::{is_var_name, substitute, Vars};

impl Runner<'_> {
    /// Variables, project directory, server; `Ok(Some(..))` when there is a setup case
    /// to report.
    pub(super) async fn setup(&mut self) -> Result<Option<Outcome>, String> {
        let scn = self.scn;
        let opts = self.opts;
        let mut builtins = Vars::new();
        let mut host = "127.0.0.1".to_string();
        let mut port: Option<String> = None;
        if let Some(u) = &opts.base_url {
            let url = url::Url::parse(u)
                .map_err(|e| format!("--url {u:?}: {e} (expected e.g. ws://127.0.0.1:5173/)"))?;
            self.tls = match url.scheme() {
                "ws" | "http" => false,
                "wss" | "https" => true,
                s => {
                    return Err(format!(
                        "--url {u:?}: scheme {s:?}; expected ws, wss, http or https"
                    ))
                }
            };
            host = match url.host() {
                Some(url::Host::Ipv6(a)) => a.to_string(),
                Some(h) => h.to_string(),
                None => return Err(format!("--url {u:?}: no host")),
            };
            port = url.port_or_known_default().map(|p| p.to_string());
            self.external = scn.server.is_some();
        }
        for (k, v) in &opts.vars {
            if !is_var_name(k) {
                return Err(format!(
                    "--var {k:?}: not a variable name; expected letters, digits and '_', not starting with a digit"
                ));
            }
            if k == "port" {
                port = Some(v.clone());
            }
            if k == "host" {
                host = v.clone();
            }
        }
        let port_in_vars = scn.vars.iter().any(|d| d.name == "port");
        let mut free_port = None;
        if port.is_none() && !port_in_vars && scn.server.is_some() && !self.external {
            let p = server::free_port().map_err(|e| format!("cannot pick a free port: {e}"))?;
            free_port = Some(p);
            port = Some(p.to_string());
        }
        builtins.set("host", host);
        if let Some(p) = &port {
            builtins.set("port", p.clone());
        }
        let scenario_dir = scenario_dir(&scn.file);
        builtins.set("scenario_dir", scenario_dir.display().to_string());
        for (k, v) in &opts.vars {
            builtins.set(k.clone(), v.clone());
        }
        let mut project_dir = None;
        if let Some(spec) = &scn.server {
            let resolve_cwd = |vars: &Vars| -> Result<PathBuf, String> {
                let s = match &spec.cwd {
                    Some(t) => substitute(t, vars).map_err(|e| e.to_string())?,
                    None => String::new(),
                };
                Ok(if s.is_empty() {
                    scenario_dir.clone()
                } else if Path::new(&s).is_absolute() {
                    PathBuf::from(s)
                } else {
                    scenario_dir.join(s)
                })
            };
            let dir = match &opts.project_dir {
                Some(d) => d.clone(),
                None => match resolve_cwd(&builtins) {
                    Ok(d) => d,
                    // `cwd` may use `[vars]` entries: expand those first.
                    Err(first) => {
                        let v = scn
                            .initial_vars(builtins.clone())
                            .map_err(|e| e.to_string())?;
                        resolve_cwd(&v)
                            .map_err(|_| format!("{}: [server] cwd: {first}", spec.location))?
                    }
                },
            };
            let dir = std::fs::canonicalize(&dir).map_err(|e| {
                format!("the project directory {} is not usable: {e}", dir.display())
            })?;
            if !dir.is_dir() {
                return Err(format!(
                    "the project directory {} is not a directory",
                    dir.display()
                ));
            }
            builtins.set("project_dir", dir.display().to_string());
            project_dir = Some(dir);
        }
        self.vars = scn.initial_vars(builtins).map_err(|e| e.to_string())?;
        let Some(spec) = &scn.server else {
            return Ok(None);
        };
        let dir = project_dir.unwrap_or(scenario_dir);
        self.files = Some(FileGuard::new(dir.clone()));
        let resolved = spec.resolve(&self.vars).map_err(|e| e.to_string())?;
        let stdin = scn.steps.iter().any(|s| s.action.uses().stdin);
        let mut ctl = ServerCtl::new(resolved, dir, self.events.clone(), stdin);
        if self.external {
            self.server = Some(ctl);
            return Ok(None);
        }
        if let Some(p) = free_port {
            self.events
                .note(format!("picked free port {p} on 127.0.0.1 for ${{port}}"));
        }
        if !spec.autostart {
            self.server = Some(ctl);
            return Ok(None);
        }
        let started = ctl.start(&mut self.vars, self.deadline).await;
        let sent = ctl.command_line();
        self.server = Some(ctl);
        match started {
            Ok(obs) => Ok(Some(Outcome::ok(sent, "the server becomes ready", obs))),
            Err(why) => Err(why),
        }
    }

    /// Closes connections, stops the server, restores files; reports a cleanup case
    /// when there was a server or an edited file.
    pub(super) async fn teardown(&mut self) {
        let t0 = Instant::now();
        self.conns.clear();
        for l in self.listeners.values_mut() {
            l.close().await;
        }
        self.listeners.clear();
        let mut problems: Vec<String> = Vec::new();
        let had_clients = !self.clients.is_empty();
        let mut notes: Vec<String> = self.stop_clients().await;
        if had_clients && notes.is_empty() {
            notes.push("every client had exited".into());
        }
        let had_server = self.server.is_some() && !self.external;
        if let Some(s) = &mut self.server {
            if !self.external {
                match s.teardown().await {
                    Ok(n) => notes.push(n),
                    Err(p) => problems.push(p),
                }
            }
        }
        let mut touched = 0;
        if let Some(g) = &mut self.files {
            touched = g.touched();
            if touched > 0 {
                match g.restore() {
                    Ok(n) => notes.push(format!("{n} edited file(s) restored")),
                    Err(ps) => problems.extend(ps),
                }
            }
        }
        if !had_server && touched == 0 && !had_clients {
            return;
        }
        let out = if problems.is_empty() {
            Outcome::ok(
                "stop the server, restore files",
                "the server stops on its stop signal; every file is restored",
                notes.join("; "),
            )
        } else {
            let mut all = problems;
            all.extend(notes);
            Outcome::failed(
                "stop the server, restore files",
                "the server stops on its stop signal and never exits on its own; every file is restored",
                all.join("; "),
            )
        };
        let rfc = match &self.scn.server {
            Some(s) => format!("scenario cleanup ({})", s.location),
            None => format!("scenario cleanup ({})", self.scn.file),
        };
        let case = self.make_case(
            format!("{}#cleanup", self.prefix),
            "cleanup: stop the server and restore edited files".into(),
            rfc,
            out,
            t0,
        );
        self.cases.push(case);
    }
}

/// The absolute directory of a scenario file (the current directory for a bare name or
/// an in-memory label).
fn scenario_dir(file: &str) -> PathBuf {
    let parent = Path::new(file)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::canonicalize(&parent)
        .or_else(|_| std::env::current_dir())
        .unwrap_or(parent)
}
