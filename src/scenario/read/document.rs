//! The sections of a scenario file: `[scenario]`, `[vars]`, `[server]` and the
//! `[[step]]` tables with their common keys; each action's own keys are read by its type
//! (see `scenario::actions`).

use std::time::Duration;

use toml::de::{DeTable, DeValue};

use super::check::Scope;
use super::fields::{is_step_id, kind_name};
use super::suggest::did_you_mean;
use super::{Fields, Reader, Schema, Semantic, V};
use crate::scenario::actions::{action_info, action_names, StepAction, COMMON_STEP_KEYS};
use crate::scenario::model::{
    Ready, Scenario, ServerSpec, Signal, Step, VarDef, DEFAULT_DEADLINE, DEFAULT_READY_TIMEOUT,
    DEFAULT_STOP_TIMEOUT,
};

impl Reader<'_> {
    pub(super) fn document(&mut self, root: &DeTable<'_>) -> Option<Scenario> {
        let top = Fields::new(root, 0..0);
        self.finish(&top, &["scenario", "vars", "server", "step"]);

        // [scenario] first: its deadline bounds every other duration.
        let Some(meta) = self.table(&top, "scenario") else {
            if !top.has("scenario") {
                self.err(
                    Schema,
                    &(0..0),
                    "missing table [scenario] (with at least name = \"...\")",
                );
            }
            return None;
        };
        self.ctx = "[scenario]".into();
        self.deadline = Duration::from_secs(24 * 3600);
        let deadline = self.duration(&meta, "deadline").unwrap_or(DEFAULT_DEADLINE);
        self.deadline = deadline;
        let name = self
            .req_string(&meta, "name", "a short name for reports")
            .map(|s| s.0);
        let description = self.string(&meta, "description").map(|s| s.0);
        self.finish(&meta, &["name", "description", "deadline"]);

        let vars = self.vars(&top);
        let server = if top.has("server") {
            self.ctx = "[server]".into();
            self.checks.scope = Scope::Server;
            self.server_table(&top)
        } else {
            None
        };
        self.start_server_track(server.as_ref().map(|s| s.autostart));

        self.ctx.clear();
        let mut steps = Vec::new();
        match top.get("step") {
            None => self.err(
                Schema,
                &(0..0),
                "no steps; expected at least one [[step]] table",
            ),
            Some(v) => match v.get_ref() {
                DeValue::Array(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        self.checks.scope = Scope::Step(i);
                        if let Some(step) = self.step(i + 1, item) {
                            steps.push(step);
                        }
                    }
                }
                DeValue::Array(_) => self.err(
                    Schema,
                    &v.span(),
                    "no steps; expected at least one [[step]] table",
                ),
                _ => self.err(
                    Schema,
                    &v.span(),
                    "\"step\" must be an array of tables: write [[step]], not [step]",
                ),
            },
        }
        self.ctx.clear();
        self.check_vars(&vars, &steps);
        Some(Scenario {
            file: self.file.clone(),
            name: name?,
            description,
            deadline,
            vars,
            server,
            steps,
        })
    }

    fn vars(&mut self, top: &Fields<'_, '_>) -> Vec<VarDef> {
        let Some(t) = self.table(top, "vars") else {
            return Vec::new();
        };
        self.ctx = "[vars]".into();
        let mut entries: Vec<_> = t.table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        let mut out = Vec::new();
        for (i, (k, v)) in entries.into_iter().enumerate() {
            self.checks.scope = Scope::Vars(i);
            let name = k.get_ref().to_string();
            if !self.check_var_target(&name, &k.span()) {
                continue;
            }
            match v.get_ref() {
                DeValue::String(s) => {
                    self.note_template(s, &v.span());
                    out.push(VarDef {
                        name,
                        value: s.to_string(),
                        location: self.loc(&k.span()),
                    });
                }
                other => {
                    let got = kind_name(other);
                    self.err(
                        Schema,
                        &v.span(),
                        format!("variable {name:?}: expected a string (quote numbers, e.g. port = \"5173\"), got {got}"),
                    );
                }
            }
        }
        out
    }

    fn server_table(&mut self, top: &Fields<'_, '_>) -> Option<ServerSpec> {
        let t = self.table(top, "server")?;
        let location = self.loc(&t.span);
        let mut command = Vec::new();
        if !t.has("command") {
            self.missing(
                &t,
                "command",
                "the program and its arguments, e.g. [\"npx\", \"vite\"]",
            );
        } else {
            command = self
                .string_list(&t, "command", true)
                .into_iter()
                .map(|s| s.0)
                .collect();
            if command.is_empty() || command[0].is_empty() {
                let span = t.get("command").map_or(t.span.clone(), |v| v.span());
                self.err(Semantic, &span, "field \"command\": expected a non-empty array whose first element is the program");
            }
        }
        let cwd = self.template(&t, "cwd").map(|s| s.0);
        let env = self
            .string_map(&t, "env", true)
            .into_iter()
            .map(|(k, v, _)| (k, v))
            .collect();
        let ready = self.ready(&t);
        let ready_timeout = self
            .duration(&t, "ready_timeout")
            .unwrap_or(DEFAULT_READY_TIMEOUT.min(self.deadline));
        let stop_timeout = self
            .duration(&t, "stop_timeout")
            .unwrap_or(DEFAULT_STOP_TIMEOUT.min(self.deadline));
        let stop_signal = self.signal(&t, "stop_signal").unwrap_or(Signal::TERM);
        let autostart = self.boolean(&t, "autostart").unwrap_or(true);
        self.finish(
            &t,
            &[
                "command",
                "cwd",
                "env",
                "ready",
                "ready_timeout",
                "stop_signal",
                "stop_timeout",
                "autostart",
            ],
        );
        Some(ServerSpec {
            command,
            cwd,
            env,
            ready: ready?,
            ready_timeout,
            stop_signal,
            stop_timeout,
            autostart,
            location,
        })
    }

    fn ready(&mut self, t: &Fields<'_, '_>) -> Option<Ready> {
        if !t.has("ready") {
            self.missing(t, "ready", "{tcp_port = ...}, {http_probe = \"...\"}, {stdout_line = \"regex\"} or {stderr_line = \"regex\"}");
            return None;
        }
        let r = self.table(t, "ready")?;
        let mut known = vec!["tcp_port", "http_probe", "stdout_line", "stderr_line"];
        if r.has("http_probe") {
            known.push("status");
        }
        self.finish(&r, &known);
        let which = self.exactly_one(
            &r,
            &["tcp_port", "http_probe", "stdout_line", "stderr_line"],
            true,
        );
        let out = match which? {
            "tcp_port" => {
                let v = r.get("tcp_port")?;
                match v.get_ref() {
                    DeValue::String(s) => {
                        self.note_template(s, &v.span());
                        Some(Ready::TcpPort(s.to_string()))
                    }
                    _ => self
                        .int(&r, "tcp_port", 1, 65535)
                        .map(|p| Ready::TcpPort(p.to_string())),
                }
            }
            "http_probe" => {
                let (url, span) = self.template(&r, "http_probe")?;
                self.check_url(&url, &span, "http_probe", &["http://", "https://"]);
                let status = self.status(&r, "status");
                Some(Ready::HttpProbe { url, status })
            }
            "stdout_line" => self
                .regex_field(&r, "stdout_line")
                .map(|s| Ready::StdoutLine(s.0)),
            "stderr_line" => self
                .regex_field(&r, "stderr_line")
                .map(|s| Ready::StderrLine(s.0)),
            _ => None,
        };
        out
    }

    pub(crate) fn signal(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<Signal> {
        let (s, span) = self.string(f, key)?;
        let sig = Signal::parse(&s);
        if sig.is_none() {
            let hint = did_you_mean(s.strip_prefix("SIG").unwrap_or(&s), Signal::names());
            self.err(
                Semantic,
                &span,
                format!(
                    "field {key:?}: unknown signal {s:?}{hint}; expected a name from `kill -l` (SIG prefix optional): {}",
                    Signal::names().collect::<Vec<_>>().join(", ")
                ),
            );
        }
        sig
    }

    // ----- steps ------------------------------------------------------------------

    fn step(&mut self, index: usize, v: &V<'_>) -> Option<Step> {
        let span = v.span();
        self.ctx = format!("step {index}");
        let DeValue::Table(t) = v.get_ref() else {
            self.err(Schema, &span, "expected a table");
            return None;
        };
        let f = Fields::new(t, span.clone());
        let Some(av) = f.get("action") else {
            self.err(
                Schema,
                &span,
                format!(
                    "missing field \"action\"; expected one of {}",
                    action_names().collect::<Vec<_>>().join(", ")
                ),
            );
            return None;
        };
        let DeValue::String(name) = av.get_ref() else {
            self.type_err("action", av, "a string (the action name)");
            return None;
        };
        let name: &str = name;
        let Some(info) = action_info(name) else {
            let hint = did_you_mean(name, action_names());
            self.err(
                Schema,
                &av.span(),
                format!(
                    "unknown action {name:?}{hint}; expected one of {}",
                    action_names().collect::<Vec<_>>().join(", ")
                ),
            );
            return None;
        };
        let name = info.name;
        self.ctx = format!("step {index} (action {name:?})");

        let id = self.string(&f, "id").and_then(|(id, s)| {
            if !is_step_id(&id) {
                self.err(Semantic, &s, format!("field \"id\": {id:?} is not a valid step id; expected letters, digits, '_', '-', '.'"));
                return None;
            }
            if let Some(prev) = self.step_with_id(&id) {
                let (line, step) = (prev.line, prev.step);
                self.err(Semantic, &s, format!("duplicate step id {id:?}; step {step} at line {line} already uses it"));
                return None;
            }
            Some((id, s))
        });
        let title = self.template(&f, "title").map(|s| s.0);
        let timeout = self.duration(&f, "timeout");
        let needs = self.needs(&f);

        let action = StepAction::read(name, self, &f);
        let mut known: Vec<&str> = COMMON_STEP_KEYS.to_vec();
        known.extend_from_slice(info.keys);
        self.finish(&f, &known);
        let action = action?;
        self.track(index, &f, &span, &action, needs.as_deref());
        if let Some((id, _)) = &id {
            self.note_step_id(id, index, &span, &action);
        }
        Some(Step {
            index,
            location: self.loc(&span),
            id: id.map(|i| i.0),
            title,
            timeout,
            needs,
            action,
        })
    }

    /// `needs = ["id", ...]`: ids of earlier steps.
    fn needs(&mut self, f: &Fields<'_, '_>) -> Option<Vec<String>> {
        f.get("needs")?;
        let mut out = Vec::new();
        for (id, span) in self.string_list(f, "needs", false) {
            if self.step_with_id(&id).is_none() {
                let hint = did_you_mean(&id, self.step_ids());
                self.err(
                    Semantic,
                    &span,
                    format!("field \"needs\": no earlier step has id {id:?}{hint}; expected the ids of earlier steps"),
                );
                continue;
            }
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Some(out)
    }
}
