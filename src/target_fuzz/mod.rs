//! `wsspec fuzz`: fuzzing the *server under test* (its handshake, framing and
//! application messages), with crash detection, minimisation and a replayable scenario
//! per finding.
//!
//! Named `target_fuzz` because the crate already has a `fuzz/` directory (cargo-fuzz
//! targets that fuzz wsspec's own codec) and `suite::fuzzer` (Autobahn's
//! "fuzzingclient" state machine); this module fuzzes the target server.
//!
//! * [`target`]: the target (a `ws://` URL, a scenario file or a profile): connection
//!   templates and seed traffic from the scenarios, the server process when wsspec
//!   starts it (restarted after each crash);
//! * [`input`]: what one run sends; [`mutate`]: the mutators of the three levels, all
//!   drawn from one seeded RNG per run (run `n` of `--seed s` is reproducible alone);
//! * [`exec`]: one run and the oracles; [`minimise`]: shrinking a finding;
//!   [`replay`]: a finding as a scenario file.
//!
//! The loop: pick a seed or a kept input, mutate it, run it; an input whose answers
//! have a shape not seen before is kept (and written to `--corpus`); an input that
//! fires an oracle is run again from a fresh server to confirm it, minimised, and
//! written as `finding-N.toml`. One finding per oracle is kept (later inputs that fire
//! the same oracle are counted, not minimised).

pub mod cli;
pub mod exec;
pub mod input;
pub mod minimise;
pub mod mutate;
pub mod replay;
pub mod target;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::report::{CaseReport, RunReport, TranscriptEntry, Verdict};

pub use exec::{ExecConfig, Oracle};
pub use input::{Input, Send, What};
pub use mutate::{Dictionary, Levels};
pub use target::FuzzTarget;

/// Inputs kept for their new answer shapes, at most.
pub const MAX_KEPT: usize = 512;
/// Largest input (payload bytes) kept.
pub const MAX_KEPT_BYTES: usize = 64 * 1024;

/// How to fuzz.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// A `ws://` URL, a scenario file, a profile directory or a profile name.
    pub target: String,
    /// With a scenario or profile: the server already runs here (nothing is started).
    pub url: Option<String>,
    /// Scenario variables (`--var`).
    pub vars: Vec<(String, String)>,
    /// The seed every run's RNG derives from.
    pub seed: u64,
    /// Runs at most.
    pub runs: u64,
    /// Time box for the whole fuzzing (minimisation included).
    pub duration: Duration,
    /// Mutation levels.
    pub levels: Levels,
    /// Oracle limits.
    pub exec: ExecConfig,
    /// Stop after this many distinct findings.
    pub max_findings: usize,
    /// Directory of kept inputs, read at the start and written during the run.
    pub corpus: Option<PathBuf>,
    /// Where `finding-N.toml` files are written.
    pub findings_dir: Option<PathBuf>,
    /// Runs allowed for minimising one finding.
    pub minimise_runs: usize,
    /// Name of the server in reports.
    pub agent: Option<String>,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions {
            target: String::new(),
            url: None,
            vars: Vec::new(),
            seed: 1,
            runs: 1000,
            duration: Duration::from_secs(300),
            levels: Levels::default(),
            exec: ExecConfig::default(),
            max_findings: 8,
            corpus: None,
            findings_dir: None,
            minimise_runs: 120,
            agent: None,
        }
    }
}

/// One finding.
#[derive(Debug, Clone)]
pub struct Finding {
    /// 1-based number (the file is `finding-<number>.toml`).
    pub number: usize,
    /// The oracle that fired.
    pub oracle: Oracle,
    /// What was seen (for the minimised input).
    pub detail: String,
    /// The seed of the run.
    pub seed: u64,
    /// The run number (0-based) that found it.
    pub run: u64,
    /// The input as found.
    pub input: Input,
    /// The minimised input.
    pub minimised: Input,
    /// The replay scenario.
    pub scenario: String,
    /// Where the scenario was written.
    pub file: Option<PathBuf>,
    /// The transcript of the last run of the minimised input.
    pub transcript: Vec<TranscriptEntry>,
    /// Later runs that fired the same oracle.
    pub repeats: u64,
}

/// The result of a fuzzing session.
#[derive(Debug, Clone)]
pub struct FuzzRun {
    /// The report (one FAILED case per finding, one case for the session).
    pub report: RunReport,
    /// The findings.
    pub findings: Vec<Finding>,
    /// Runs done (minimisation runs not counted).
    pub runs: u64,
    /// Run number of the first finding.
    pub first_finding_run: Option<u64>,
    /// Oracles that fired once but not again from a fresh server (not reported).
    pub unconfirmed: u64,
    /// Inputs kept for their new answer shapes.
    pub kept: usize,
    /// Why nothing could be tested (exit 2), when so.
    pub untested: Option<String>,
}

/// The RNG of run `run`.
pub fn run_rng(seed: u64, run: u64) -> StdRng {
    StdRng::seed_from_u64(
        seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ run.wrapping_mul(0xbf58_476d_1ce4_e5b9),
    )
}

/// Inputs used when the target has no traffic of its own (a bare URL).
fn generic_seeds() -> Vec<Input> {
    let one = |w: What| Input {
        handshake: None,
        sends: vec![Send { conn: 0, what: w }],
    };
    vec![
        one(What::Text(
            r#"{"type":"hello","id":1,"data":{"name":"wsspec","items":[1,2]}}"#.into(),
        )),
        one(What::Text("hello".into())),
        one(What::Binary(vec![0, 1, 2, 3, 0xff])),
    ]
}

struct Session<'a> {
    opts: &'a FuzzOptions,
    target: FuzzTarget,
    server: Option<target::ServerCtl>,
    deadline: Instant,
}

impl Session<'_> {
    /// Brings the server back after a run that may have broken it. `Err` when it cannot
    /// be brought back (a server wsspec did not start and that no longer answers).
    async fn restore(&mut self) -> Result<(), String> {
        if let Some(s) = self.server.as_mut() {
            return s.start().await;
        }
        Ok(())
    }

    async fn run(&mut self, input: &Input) -> exec::Outcome {
        exec::execute(&self.target, self.server.as_ref(), input, &self.opts.exec).await
    }

    /// Runs `input` from a healthy server; restores the server afterwards when the run
    /// fired an oracle or found it unhealthy.
    async fn run_clean(&mut self, input: &Input) -> exec::Outcome {
        let o = self.run(input).await;
        if o.finding.is_some() || o.unhealthy_before.is_some() {
            let _ = self.restore().await;
        }
        o
    }

    async fn minimise(
        &mut self,
        input: Input,
        oracle: Oracle,
        last: exec::Outcome,
    ) -> (Input, exec::Outcome) {
        let mut best = input;
        let mut best_out = last;
        let mut budget = self.opts.minimise_runs;
        // Minimisation may run past the fuzzing time box by a bounded margin, so that a
        // finding made near the end is still shrunk a little.
        let deadline = self.deadline.max(Instant::now() + Duration::from_secs(20));
        'outer: loop {
            for c in minimise::candidates(&best) {
                if budget == 0 || Instant::now() >= deadline {
                    break 'outer;
                }
                if c.cost() >= best.cost() {
                    continue;
                }
                budget -= 1;
                let t = Instant::now();
                let o = self.run_clean(&c).await;
                if std::env::var_os("WSSPEC_FUZZ_DEBUG").is_some() {
                    eprintln!(
                        "minimise: cost {:?} -> {:?}: {:?} in {} ms",
                        best.cost(),
                        c.cost(),
                        o.finding.as_ref().map(|f| f.0),
                        t.elapsed().as_millis()
                    );
                }
                if o.finding.as_ref().map(|f| f.0) == Some(oracle) {
                    let mut c = c;
                    if let Some(h) = c.handshake.as_mut() {
                        h.observed_status = o.handshake_status;
                    }
                    best = c;
                    best_out = o;
                    continue 'outer;
                }
            }
            break;
        }
        (best, best_out)
    }
}

/// Runs a fuzzing session.
pub async fn fuzz(opts: &FuzzOptions) -> FuzzRun {
    let wall = SystemTime::now();
    let t0 = Instant::now();
    let agent_of = |t: Option<&FuzzTarget>| {
        opts.agent
            .clone()
            .unwrap_or_else(|| match t.and_then(|t| t.launch.as_ref()) {
                Some(l) => l.spec.command.join(" "),
                None => opts.url.clone().unwrap_or_else(|| opts.target.clone()),
            })
    };
    let untested = |why: String, t: Option<&FuzzTarget>| {
        let mut c = CaseReport::new("fuzz/session", "fuzzing session", "wsspec fuzz");
        c.verdict = Verdict::NotRun;
        c.observed = format!("could not test: {why}");
        FuzzRun {
            report: RunReport::new(
                "fuzz",
                agent_of(t),
                opts.target.clone(),
                wall,
                t0.elapsed(),
                vec![c],
            ),
            findings: Vec::new(),
            runs: 0,
            first_finding_run: None,
            unconfirmed: 0,
            kept: 0,
            untested: Some(why),
        }
    };
    let target = match target::load(&opts.target, opts.url.as_deref(), &opts.vars) {
        Ok(t) => t,
        Err(e) => return untested(e, None),
    };
    let server = target
        .launch
        .clone()
        .map(|l| target::ServerCtl::new(l, target.port));
    let mut s = Session {
        opts,
        target,
        server,
        deadline: t0 + opts.duration,
    };
    if let Err(e) = s.restore().await {
        let r = untested(format!("the server did not start: {e}"), Some(&s.target));
        if let Some(srv) = s.server.as_mut() {
            srv.stop().await;
        }
        return r;
    }
    let mut dict = Dictionary::default();
    let mut seeds = s.target.seeds.clone();
    if seeds.is_empty() {
        seeds = generic_seeds();
    }
    for i in &seeds {
        for snd in &i.sends {
            if let What::Text(t) = &snd.what {
                dict.learn(t);
            }
        }
    }
    let mut kept: Vec<Input> = Vec::new();
    if let Some(dir) = &opts.corpus {
        let _ = std::fs::create_dir_all(dir);
        if let Ok(rd) = std::fs::read_dir(dir) {
            let mut files: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            files.sort();
            for f in files.into_iter().take(1000) {
                let small =
                    std::fs::metadata(&f).is_ok_and(|m| m.len() <= 4 * MAX_KEPT_BYTES as u64);
                if !small {
                    continue;
                }
                if let Ok(txt) = std::fs::read_to_string(&f) {
                    if let Ok(i) = serde_json::from_str::<Input>(&txt) {
                        if i.sends.iter().all(|x| x.conn < s.target.conns.len()) {
                            kept.push(i);
                        }
                    }
                }
            }
        }
    }
    let mut seen: HashSet<u64> = HashSet::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut first_finding_run = None;
    let mut unconfirmed = 0;
    let mut runs = 0;
    let mut why_untested = None;
    let mut consecutive_unhealthy = 0;
    while runs < opts.runs && Instant::now() < s.deadline && findings.len() < opts.max_findings {
        let run = runs;
        runs += 1;
        // Two streams: which base is picked depends on what was kept (on the server's
        // answers), the mutation of a given base only on the seed and the run.
        let mut pick = run_rng(opts.seed ^ 0x5eed, run);
        let mut rng = run_rng(opts.seed, run);
        let base = if kept.is_empty() || pick.random_bool(0.6) {
            seeds.choose(&mut pick)
        } else {
            kept.choose(&mut pick)
        }
        .cloned()
        .unwrap_or_default();
        let mut input = mutate::mutate(&base, opts.levels, &dict, &mut rng);
        let out = s.run(&input).await;
        if let Some(why) = &out.unhealthy_before {
            consecutive_unhealthy += 1;
            if s.server.is_none() || consecutive_unhealthy > 3 {
                why_untested = Some(why.clone());
                break;
            }
            if let Err(e) = s.restore().await {
                why_untested = Some(format!("the server did not restart: {e}"));
                break;
            }
            continue;
        }
        consecutive_unhealthy = 0;
        for t in &out.texts {
            dict.learn(t);
        }
        // Kept inputs are bounded in number and size (memory stays bounded however
        // long the session runs).
        if seen.insert(out.signature) && kept.len() < MAX_KEPT && input.cost().1 <= MAX_KEPT_BYTES {
            if let Some(dir) = &opts.corpus {
                let _ = std::fs::write(
                    dir.join(format!("{:016x}.json", out.signature)),
                    serde_json::to_string_pretty(&input).unwrap_or_default(),
                );
            }
            kept.push(input.clone());
        }
        let Some((oracle, _)) = out.finding.clone() else {
            continue;
        };
        if let Some(h) = input.handshake.as_mut() {
            h.observed_status = out.handshake_status;
        }
        if let Err(e) = s.restore().await {
            why_untested = Some(format!("the server did not restart after a finding: {e}"));
            break;
        }
        if let Some(f) = findings.iter_mut().find(|f| f.oracle == oracle) {
            f.repeats += 1;
            continue;
        }
        // Confirm from a fresh server: a one-off (a busy machine) is no finding.
        let confirm = s.run_clean(&input).await;
        // A server wsspec did not start and that no longer answers cannot be asked
        // again: the finding stands as found (not minimised), and the session ends.
        let gone = s.server.is_none() && confirm.unhealthy_before.is_some();
        if !gone && confirm.finding.as_ref().map(|f| f.0) != Some(oracle) {
            unconfirmed += 1;
            continue;
        }
        first_finding_run.get_or_insert(run);
        let (small, last) = if gone {
            why_untested = confirm.unhealthy_before.clone();
            (input.clone(), out.clone())
        } else {
            s.minimise(input.clone(), oracle, confirm).await
        };
        let detail = last
            .finding
            .as_ref()
            .map(|f| f.1.clone())
            .unwrap_or_default();
        let number = findings.len() + 1;
        let about = replay::About {
            number,
            oracle,
            detail: detail.clone(),
            seed: opts.seed,
            run,
            minimised: !gone,
        };
        let scenario = replay::scenario_toml(&s.target, &about, &small, &opts.exec);
        let mut file = None;
        if let Some(dir) = &opts.findings_dir {
            let _ = std::fs::create_dir_all(dir);
            let p = dir.join(format!("finding-{number}.toml"));
            if std::fs::write(&p, &scenario).is_ok() {
                file = Some(p);
            }
        }
        findings.push(Finding {
            number,
            oracle,
            detail,
            seed: opts.seed,
            run,
            input,
            minimised: small,
            scenario,
            file,
            transcript: last.transcript,
            repeats: 0,
        });
        if gone {
            break;
        }
    }
    if let Some(srv) = s.server.as_mut() {
        srv.stop().await;
    }
    let mut cases = Vec::new();
    for f in &findings {
        let mut c = CaseReport::new(
            format!("fuzz/finding-{}-{}", f.number, f.oracle.id()),
            format!("finding {}: {}", f.number, f.oracle.expected()),
            "wsspec fuzz",
        );
        c.verdict = Verdict::Failed;
        c.sent = describe_input(&f.minimised);
        c.expected = f.oracle.expected().into();
        c.observed = format!(
            "{} (seed {}, run {}{}{})",
            f.detail,
            f.seed,
            f.run,
            f.file
                .as_ref()
                .map(|p| format!("; replay: wsspec scenario {}", p.display()))
                .unwrap_or_default(),
            if f.repeats > 0 {
                format!("; {} later runs fired the same oracle", f.repeats)
            } else {
                String::new()
            }
        );
        c.transcript = f.transcript.clone();
        cases.push(c);
    }
    let mut session = CaseReport::new("fuzz/session", "fuzzing session", "wsspec fuzz");
    session.verdict = if why_untested.is_some() && runs <= 1 {
        Verdict::NotRun
    } else {
        Verdict::Ok
    };
    session.sent = format!(
        "{runs} runs from --seed {} ({} seed inputs, levels {:?})",
        opts.seed,
        seeds.len(),
        opts.levels
    );
    session.expected = "no oracle fires".into();
    session.observed = format!(
        "{} finding(s); {} inputs kept for new answer shapes; {} unconfirmed one-offs{}{}",
        findings.len(),
        kept.len(),
        unconfirmed,
        first_finding_run
            .map(|r| format!("; first finding at run {r}"))
            .unwrap_or_default(),
        why_untested
            .as_ref()
            .map(|w| format!("; stopped early: {w}"))
            .unwrap_or_default()
    );
    session.duration_ms = t0.elapsed().as_secs_f64() * 1000.0;
    cases.push(session);
    let untested = if runs <= 1 { why_untested } else { None };
    FuzzRun {
        report: RunReport::new(
            "fuzz",
            agent_of(Some(&s.target)),
            opts.target.clone(),
            wall,
            t0.elapsed(),
            cases,
        ),
        kept: kept.len(),
        findings,
        runs,
        first_finding_run,
        unconfirmed,
        untested,
    }
}

/// One line describing an input.
pub fn describe_input(i: &Input) -> String {
    let mut parts = Vec::new();
    if let Some(h) = &i.handshake {
        parts.push(format!(
            "handshake on c{}: {}",
            h.conn,
            serde_json::to_string(h).unwrap_or_default()
        ));
    }
    for s in &i.sends {
        let w = match &s.what {
            What::Text(t) => format!("text {}", cut(t, 160)),
            What::Binary(b) => format!("binary {} bytes", b.len()),
            What::Frames { frames, chop } => format!(
                "{} raw frame(s) [{}]{}",
                frames.len(),
                frames
                    .iter()
                    .map(|f| format!(
                        "op={} fin={} rsv={} mask={} len={}",
                        f.opcode,
                        f.fin as u8,
                        f.rsv,
                        f.masked as u8,
                        f.payload.len()
                    ))
                    .collect::<Vec<_>>()
                    .join(", "),
                chop.map(|c| format!(" in {c}-byte writes"))
                    .unwrap_or_default()
            ),
        };
        parts.push(format!("c{}: {w}", s.conn));
    }
    parts.join("; ")
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}
