//! The rules that depend on more than one field: what earlier steps did to connections
//! and to the server, step ids, fixed waits against the deadline, and where each
//! `${variable}` is defined. They see a step only through the action table
//! ([`StepAction::uses`], [`StepAction::defines`]), so a new action needs nothing here.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::suggest::did_you_mean;
use super::{Fields, Reader, Semantic, Span};
use crate::scenario::actions::{ConnUse, ServerUse, StepAction};
use crate::scenario::duration::format_duration;
use crate::scenario::error::Diagnostic;
use crate::scenario::model::{Step, VarDef, BUILTIN_VARS};

/// Which variables a `${...}` use may see.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scope {
    /// `[vars]` entry number n in file order: built-ins and entries before it.
    Vars(usize),
    /// `[server]`: built-ins and all `[vars]`.
    Server,
    /// Step n (0-based): also everything earlier steps define.
    Step(usize),
}

/// One `${name}` in the file.
struct VarUse {
    name: String,
    span: Span,
    ctx: String,
    scope: Scope,
}

#[derive(Debug, Clone)]
struct ConnInfo {
    /// Why the connection is unusable, if it is.
    not_open: Option<String>,
    /// The step that opened it last.
    opened_by: usize,
}

/// A step that has an `id`.
#[derive(Debug, Clone)]
pub(crate) struct IdInfo {
    /// Its number.
    pub step: usize,
    /// Its line.
    pub line: u32,
    /// The connection it sends on, for a step that sends.
    pub send_conn: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ServerTrack {
    None,
    Running,
    /// Stopped by step n (0 = never started).
    Stopped(usize),
}

/// What the checks know so far.
pub(super) struct Checks {
    pub(super) scope: Scope,
    uses: Vec<VarUse>,
    fixed_wait: Duration,
    conns: HashMap<String, ConnInfo>,
    ids: HashMap<String, IdInfo>,
    sent_on: HashSet<String>,
    server: ServerTrack,
    /// For each step so far (0-based), the steps (1-based) that must have been OK for
    /// it to run: `None` for every earlier step, else what its `needs` name, with
    /// what those steps need in turn.
    deps: Vec<Option<HashSet<usize>>>,
}

impl Checks {
    /// Whether step `step` (1-based) only runs after step `other` was OK.
    fn depends_on(&self, step: usize, other: usize) -> bool {
        match self.deps.get(step - 1) {
            Some(Some(set)) => set.contains(&other),
            _ => other < step,
        }
    }

    /// The dependencies of a step with `needs` naming `needed` (1-based).
    fn closure(&self, needed: &[usize]) -> HashSet<usize> {
        let mut set = HashSet::new();
        for &n in needed {
            set.insert(n);
            match self.deps.get(n - 1) {
                Some(Some(d)) => set.extend(d),
                _ => set.extend(1..n),
            }
        }
        set
    }
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            scope: Scope::Vars(0),
            uses: Vec::new(),
            fixed_wait: Duration::ZERO,
            conns: HashMap::new(),
            ids: HashMap::new(),
            sent_on: HashSet::new(),
            server: ServerTrack::None,
            deps: Vec::new(),
        }
    }
}

impl Reader<'_> {
    /// Records a `${name}` for [`Reader::check_vars`], in the current scope.
    pub(super) fn note_var_use(&mut self, name: String, span: &Span) {
        let scope = self.checks.scope;
        self.checks.uses.push(VarUse {
            name,
            span: span.clone(),
            ctx: self.ctx.clone(),
            scope,
        });
    }

    /// The server's state before step 1: `None` without `[server]`, else whether it
    /// starts on its own.
    pub(super) fn start_server_track(&mut self, autostart: Option<bool>) {
        self.checks.server = match autostart {
            None => ServerTrack::None,
            Some(true) => ServerTrack::Running,
            Some(false) => ServerTrack::Stopped(0),
        };
    }

    /// The earlier step with this id.
    pub(crate) fn step_with_id(&self, id: &str) -> Option<&IdInfo> {
        self.checks.ids.get(id)
    }

    /// The ids of the earlier steps, for hints.
    pub(crate) fn step_ids(&self) -> impl Iterator<Item = &str> {
        self.checks.ids.keys().map(String::as_str)
    }

    /// Whether an earlier step sent on `conn`.
    pub(crate) fn sent_before(&self, conn: &str) -> bool {
        self.checks.sent_on.contains(conn)
    }

    pub(super) fn note_step_id(&mut self, id: &str, index: usize, span: &Span, a: &StepAction) {
        let uses = a.uses();
        let send_conn = uses
            .sends
            .then(|| uses.conn.name().map(str::to_owned))
            .flatten();
        let line = self.loc(span).line;
        self.checks.ids.insert(
            id.to_owned(),
            IdInfo {
                step: index,
                line,
                send_conn,
            },
        );
    }

    /// Connection, server and timing rules that depend on earlier steps.
    pub(super) fn track(
        &mut self,
        index: usize,
        f: &Fields<'_, '_>,
        span: &Span,
        a: &StepAction,
        needs: Option<&[String]>,
    ) {
        let uses = a.uses();
        let conn_span = f.get("conn").map_or(span.clone(), |v| v.span());
        let deps = needs.map(|ids| {
            let steps: Vec<usize> = ids
                .iter()
                .filter_map(|id| self.checks.ids.get(id).map(|i| i.step))
                .collect();
            self.checks.closure(&steps)
        });
        self.checks.deps.resize(index - 1, None);
        self.checks.deps.push(deps);
        // Connections.
        match uses.conn {
            ConnUse::None => {}
            ConnUse::Opens { conn, stays_open } => {
                let not_open = (!stays_open).then(|| {
                    format!(
                        "its {} (step {index}) expects the upgrade to fail",
                        a.name()
                    )
                });
                self.checks.conns.insert(
                    conn.to_owned(),
                    ConnInfo {
                        not_open,
                        opened_by: index,
                    },
                );
            }
            ConnUse::Uses(conn) | ConnUse::Reads(conn) | ConnUse::Closes { conn, .. } => {
                match self.checks.conns.get(conn) {
                    None => {
                        let hint = did_you_mean(conn, self.checks.conns.keys().map(String::as_str));
                        self.err(
                            Semantic,
                            &conn_span,
                            format!("connection {conn:?} is used before any connect step{hint}; expected a connect step with conn = {conn:?} earlier"),
                        );
                    }
                    Some(ConnInfo {
                        not_open: Some(why),
                        ..
                    }) if !matches!(uses.conn, ConnUse::Reads(_)) => {
                        let why = why.clone();
                        self.err(
                            Semantic,
                            &conn_span,
                            format!("connection {conn:?} is not open here: {why}; connect it again first"),
                        );
                    }
                    Some(ConnInfo { opened_by, .. })
                        if !self.checks.depends_on(index, *opened_by) =>
                    {
                        let opener = *opened_by;
                        self.err(
                            Semantic,
                            &f.key_span("needs"),
                            format!("connection {conn:?} is opened by step {opener}, which this step's needs do not include (directly or through the steps they need); expected the id of step {opener} (or of a step that needs it) in needs"),
                        );
                    }
                    _ => {}
                }
            }
        }
        if let ConnUse::Closes { conn, why } = uses.conn {
            if let Some(info) = self.checks.conns.get_mut(conn) {
                info.not_open = Some(format!("step {index} {why}"));
            }
        }
        if uses.sends {
            if let Some(conn) = uses.conn.name() {
                self.checks.sent_on.insert(conn.to_owned());
            }
        }
        self.track_server(index, span, uses.server, uses.files);
        // Fixed waits add up; more than the deadline can never pass.
        if !uses.fixed_wait.is_zero() {
            let before = self.checks.fixed_wait;
            self.checks.fixed_wait += uses.fixed_wait;
            let total = self.checks.fixed_wait;
            if before <= self.deadline && total > self.deadline {
                self.err(
                    Semantic,
                    span,
                    format!(
                        "the fixed waits (sleep, expect_silence) up to this step add up to {}, more than the scenario deadline {}",
                        format_duration(total),
                        format_duration(self.deadline)
                    ),
                );
            }
        }
    }

    /// Server lifecycle and file actions: they need `[server]`, and the server must be
    /// in the right state for each.
    fn track_server(&mut self, index: usize, span: &Span, server: Option<ServerUse>, files: bool) {
        if self.checks.server == ServerTrack::None {
            if server.is_some() {
                self.err(
                    Semantic,
                    span,
                    "this action needs a [server] table describing the server to run",
                );
            } else if files {
                self.err(
                    Semantic,
                    span,
                    "file actions need a [server] table: paths are relative to its cwd (the project directory)",
                );
            }
            return;
        }
        let Some(server) = server else {
            return;
        };
        let stopped_by = |s: usize| {
            if s == 0 {
                "it is not started yet (autostart = false)".to_string()
            } else {
                format!("step {s} stopped it")
            }
        };
        match (server, self.checks.server) {
            (ServerUse::Start, ServerTrack::Running) => self.err(
                Semantic,
                span,
                "the server is already running (autostart or an earlier start_server); if it exits on its own, add an assert_server step with state = \"exited\" first",
            ),
            (ServerUse::Start, _) => self.checks.server = ServerTrack::Running,
            (ServerUse::Stop, ServerTrack::Stopped(s)) => self.err(
                Semantic,
                span,
                format!("the server is not running here: {}", stopped_by(s)),
            ),
            (ServerUse::Stop, _) => self.checks.server = ServerTrack::Stopped(index),
            (ServerUse::Restart, ServerTrack::Stopped(s)) => self.err(
                Semantic,
                span,
                format!(
                    "the server is not running here ({}); use start_server",
                    stopped_by(s)
                ),
            ),
            (ServerUse::ExpectAlive, ServerTrack::Stopped(s)) => self.err(
                Semantic,
                span,
                format!("the server cannot be alive here: {}", stopped_by(s)),
            ),
            (ServerUse::ExpectExit, _) => self.checks.server = ServerTrack::Stopped(index),
            _ => {}
        }
    }

    /// Every `${name}` must be defined where it is used: a built-in, a `[vars]` entry
    /// (earlier ones only, inside `[vars]`), or a capture of an earlier step.
    pub(super) fn check_vars(&mut self, vars: &[VarDef], steps: &[Step]) {
        let builtins: HashSet<&str> = BUILTIN_VARS
            .iter()
            .copied()
            .filter(|v| *v != "last_sent")
            .collect();
        // What step i (0-based, by position in the file) sees: the names earlier steps
        // define, and whether an earlier step sent.
        // A step with `needs` sees only what the steps it depends on define.
        let mut by_pos: Vec<(usize, HashSet<String>, bool)> = Vec::new();
        let mut first_def: HashMap<String, usize> = HashMap::new();
        for s in steps {
            let mut defined: HashSet<String> = HashSet::new();
            let mut sent = false;
            for e in steps
                .iter()
                .filter(|e| self.checks.depends_on(s.index, e.index))
            {
                defined.extend(e.action.defines().into_iter().map(str::to_string));
                sent |= e.action.uses().sends;
            }
            by_pos.push((s.index - 1, defined, sent));
            for d in s.action.defines() {
                first_def.entry(d.to_string()).or_insert(s.index);
            }
        }
        let var_names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        let uses = std::mem::take(&mut self.checks.uses);
        for u in uses {
            let name = u.name.as_str();
            if builtins.contains(name) {
                continue;
            }
            let (ok, candidates): (bool, Vec<String>) = match u.scope {
                Scope::Vars(i) => {
                    let before = &var_names[..i.min(var_names.len())];
                    (
                        before.contains(&name),
                        before.iter().map(|s| s.to_string()).collect(),
                    )
                }
                Scope::Server => (
                    var_names.contains(&name),
                    var_names.iter().map(|s| s.to_string()).collect(),
                ),
                Scope::Step(i) => {
                    let entry = by_pos.iter().find(|(p, _, _)| *p == i);
                    let (caps, sent_before) =
                        entry.map_or((HashSet::new(), false), |(_, d, s)| (d.clone(), *s));
                    let acks = steps
                        .iter()
                        .any(|s| s.index - 1 == i && s.action.uses().acks);
                    let ok = var_names.contains(&name)
                        || caps.contains(name)
                        || (name == "last_sent" && (sent_before || acks));
                    let mut c: Vec<String> = var_names.iter().map(|s| s.to_string()).collect();
                    c.extend(caps);
                    (ok, c)
                }
            };
            if ok {
                continue;
            }
            let mut msg = format!("undefined variable {name:?}");
            if name == "last_sent" {
                msg.push_str(" (it refers to the last message sent, and no send or rpc step comes before this one)");
            } else if let Some(step) = first_def.get(name) {
                let here = match u.scope {
                    Scope::Step(i) => i + 1,
                    _ => 0,
                };
                msg.push_str(&if *step < here {
                    format!(" (step {step} captures it, but this step's needs do not include that step)")
                } else {
                    format!(" (step {step} captures it, but that step has not run yet here)")
                });
            } else if matches!(u.scope, Scope::Vars(_)) && var_names.contains(&name) {
                msg.push_str(" ([vars] entries may only use entries defined above them)");
            } else {
                let mut all: Vec<&str> = candidates.iter().map(String::as_str).collect();
                all.extend(builtins.iter().copied());
                msg.push_str(&did_you_mean(name, all));
            }
            msg.push_str("; expected a [vars] entry, a built-in (");
            msg.push_str(&BUILTIN_VARS.join(", "));
            msg.push_str("), ${env:NAME}, or a capture of an earlier step");
            self.diags.push(Diagnostic {
                kind: Semantic,
                location: self.loc(&u.span),
                context: u.ctx,
                message: msg,
            });
        }
    }
}
