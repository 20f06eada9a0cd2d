//! Delivering an in-process restart trigger (`restart_server trigger = "..."`): a signal
//! to the server process, a control request, a line on its stdin, or a shell command.
//! What happens before and after (the ready probe, the process that must keep running)
//! is [`ServerCtl`](super::server::ServerCtl)'s; this file only knows how each kind of
//! trigger reaches the server and what counts as delivered.

use std::process::Stdio;
use std::time::Instant;

use tokio::io::AsyncReadExt;

use super::runner::Runner;
use crate::peer::http::{fetch, HttpRequest};
use crate::report::Direction;
use crate::scenario::actions::{Trigger, TRIGGER_FORMS};
use crate::scenario::describe::short;
use crate::scenario::vars::{render_value, var_refs, VarName};

/// Output of a trigger command kept for a report.
const COMMAND_OUTPUT: usize = 4096;

/// Why an empty trigger cannot run, naming the variable it came from when it is one.
pub(super) fn empty_trigger(written: &str) -> String {
    let refs = var_refs(written).unwrap_or_default();
    match refs.as_slice() {
        [r] if r.path.is_none() => match &r.name {
            VarName::Var(name) => format!(
                "no in-process restart trigger: ${{{name}}} is empty; give one with --var {name}=signal:USR2 (forms: {TRIGGER_FORMS})"
            ),
            VarName::Env(name) => format!(
                "no in-process restart trigger: the environment variable {name} is empty (forms: {TRIGGER_FORMS})"
            ),
        },
        _ => format!("no in-process restart trigger: {written:?} is empty here (forms: {TRIGGER_FORMS})"),
    }
}

impl Runner<'_> {
    /// Delivers `t`, all before `deadline`; `Ok` says what was done, for `sent`.
    pub(super) async fn deliver(
        &mut self,
        t: &Trigger,
        deadline: Instant,
    ) -> Result<String, String> {
        let proc = self.server.as_ref().and_then(|s| s.process());
        let done = match t {
            Trigger::Signal(sig) => {
                let p = proc.ok_or("no server process to signal")?;
                if !p.signal_leader(sig.number()) {
                    return Err(format!("could not send {sig} to pid {}", p.pid()));
                }
                format!("{sig} to pid {}", p.pid())
            }
            Trigger::Stdin(text) => {
                let p = proc.ok_or("no server process to write to")?;
                p.write_stdin(format!("{text}\n").as_bytes(), deadline)
                    .await?;
                format!("{:?} and a newline to the server's stdin", text)
            }
            Trigger::Http { method, target } => {
                let url = self.url_of(target, ("http", "https"))?;
                let body = (method != "GET" && method != "HEAD").then(Vec::new);
                let req = HttpRequest {
                    method: method.clone(),
                    url: url.clone(),
                    headers: Vec::new(),
                    body,
                    insecure: self.opts.connect.insecure,
                };
                let resp = fetch(&req, deadline, Some(&self.http_tr))
                    .await
                    .map_err(|e| {
                        format!("the control request {method} {url} got no answer: {e}")
                    })?;
                let status = resp.head.status;
                let got = format!("HTTP {status} {}", resp.head.reason);
                if !(200..400).contains(&status) {
                    return Err(format!(
                        "the control request {method} {url} answered {got}; expected 2xx or 3xx"
                    ));
                }
                format!("{method} {url}: {got}")
            }
            Trigger::Command(cmd) => self.run_trigger_command(cmd, deadline).await?,
        };
        self.events.push(
            Direction::Sent,
            "process",
            format!("restart trigger: {done}"),
            None,
        );
        Ok(done)
    }

    /// `sh -c <cmd>` in the project directory with `PORT` and `SERVER_PID` set; it must
    /// exit 0 before `deadline` (else its process group is killed).
    async fn run_trigger_command(&self, cmd: &str, deadline: Instant) -> Result<String, String> {
        let mut c = tokio::process::Command::new("sh");
        c.arg("-c")
            .arg(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(s) = &self.server {
            c.current_dir(s.cwd());
            if let Some(p) = s.process() {
                c.env("SERVER_PID", p.pid().to_string());
            }
        }
        if let Some(port) = self.vars.get("port") {
            c.env("PORT", render_value(port));
        }
        let mut child = c
            .spawn()
            .map_err(|e| format!("cannot run the trigger command {cmd:?}: {e}"))?;
        let pid = child.id().map(|p| p as i32);
        // Both pipes are read to the end while waiting, so a chatty command cannot
        // block on a full pipe; what is kept is bounded.
        let (out, err) = (child.stdout.take(), child.stderr.take());
        let collect = async {
            let (o, e, status) = tokio::join!(drain(out), drain(err), child.wait());
            (status, format!("{o} {e}"))
        };
        match tokio::time::timeout_at(deadline.into(), collect).await {
            Err(_) => {
                if let Some(pid) = pid {
                    // SAFETY: kill(2) on the process group created by process_group(0)
                    // above; no memory-safety preconditions.
                    unsafe {
                        libc::kill(-pid, libc::SIGKILL);
                    }
                }
                Err(format!(
                    "the trigger command {cmd:?} did not finish in time; killed"
                ))
            }
            Ok((Err(e), _)) => Err(format!("the trigger command {cmd:?}: {e}")),
            Ok((Ok(status), output)) if !status.success() => Err(format!(
                "the trigger command {cmd:?} failed ({status}){}",
                quoted(&output)
            )),
            Ok((Ok(_), output)) => Ok(format!("command {cmd:?} exited 0{}", quoted(&output))),
        }
    }
}

/// Reads a pipe to its end, keeping the first [`COMMAND_OUTPUT`] bytes.
async fn drain<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> String {
    let Some(mut pipe) = pipe else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = pipe.read(&mut buf).await {
        let room = COMMAND_OUTPUT.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// `: <output>` on one line, or nothing for no output.
fn quoted(output: &str) -> String {
    let one = output.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.is_empty() {
        String::new()
    } else {
        format!(": {}", short(&one, 200))
    }
}
