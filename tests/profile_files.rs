//! Static checks of the scenario files the kit ships: every file under `conformance/`
//! loads; the examples have the documented shape and are embedded verbatim in
//! `docs/scenario-format.md`, which documents every action; the profiles
//! (`conformance/profiles/*`) are named after their files, carry the step ids the
//! real-server tests and `docs/profiles.md` refer to, edit only files that exist in the
//! probe projects, and never aim at anything but 127.0.0.1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use wsspec::scenario::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// Every profile, scenario name -> parsed scenario.
fn profile(name: &str) -> BTreeMap<String, Scenario> {
    let dir = root().join("profiles").join(name);
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let s = Scenario::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            s.name,
            stem,
            "{}: [scenario] name must equal the file name, so case ids read profile/file#step",
            path.display()
        );
        assert!(
            s.description.as_deref().is_some_and(|d| !d.is_empty()),
            "{}: needs a description (reports show it)",
            path.display()
        );
        out.insert(stem, s);
    }
    out
}

const PROFILES: &[&str] = &["vite", "webpack-dev-server", "mf-broker", "generic"];

/// The (scenario, step id) pairs that tests/profile_real_servers.rs and
/// docs/profiles.md name; renaming one must break here first.
const IDS: &[(&str, &str, &str)] = &[
    ("vite", "handshake", "greeting"),
    ("vite", "origin-token", "foreign-no-token"),
    ("vite", "origin-token", "foreign-wrong-token"),
    ("vite", "origin-token", "right-token-accepted"),
    ("vite", "hmr-update", "update-accepted"),
    ("vite", "hmr-css", "css-update"),
    ("vite", "hmr-full-reload", "full-reload-html"),
    ("vite", "hmr-full-reload", "full-reload-plain"),
    ("vite", "hmr-error", "error-pushed"),
    ("vite", "ping", "vite-ping-closed-1000"),
    ("vite", "restart", "old-token-refused"),
    ("vite", "restart", "new-token-accepted"),
    ("vite", "custom-events", "invoke-rpc"),
    ("vite", "survive-invalidate-null", "server-survives"),
    ("vite", "survive-invalidate-shape", "server-survives"),
    ("vite", "survive-invoke-null", "server-survives"),
    ("vite", "survive-invoke-shape", "server-survives"),
    ("webpack-dev-server", "greeting", "greeting"),
    ("webpack-dev-server", "rebuild", "invalid-hash-ok"),
    ("webpack-dev-server", "rebuild", "still-ok"),
    ("webpack-dev-server", "static-changed", "static-changed"),
    ("webpack-dev-server", "heartbeat", "silent-peer-terminated"),
    ("webpack-dev-server", "heartbeat", "polite-peer-kept"),
    ("webpack-dev-server", "origin-policy", "no-origin-closed"),
    (
        "webpack-dev-server",
        "origin-policy",
        "foreign-origin-closed",
    ),
    (
        "webpack-dev-server",
        "origin-policy",
        "cve-2025-30360-closed",
    ),
    (
        "webpack-dev-server",
        "origin-policy",
        "dns-rebinding-closed",
    ),
    ("webpack-dev-server", "origin-policy", "same-host-greeting"),
    ("mf-broker", "flow-attach", "attach"),
    ("mf-broker", "flow-attach", "fan-out-1"),
    ("mf-broker", "flow-web-client", "reload-web-client"),
    ("mf-broker", "flow-shelter", "attached-on-register"),
    (
        "mf-broker",
        "flow-restart-reattach",
        "reattached-after-restart",
    ),
    ("mf-broker", "registration-ack", "publisher-acknowledged"),
    (
        "mf-broker",
        "identity-mismatch",
        "subscription-state-reported",
    ),
    (
        "mf-broker",
        "stale-publisher",
        "fetch-types-reaches-new-socket",
    ),
    ("mf-broker", "close-cleanup", "subscriber-told"),
    ("mf-broker", "heartbeat", "dead-peer-dropped"),
    ("mf-broker", "shutdown-notice", "notice-is-json-object"),
    ("mf-broker", "shutdown-close", "close-1001"),
    ("mf-broker", "survive-null", "server-survives"),
    ("mf-broker", "survive-schema", "server-survives"),
    ("mf-broker", "exit-subscriber", "publisher-kept"),
    (
        "mf-broker",
        "identity-ownership",
        "forged-update-not-forwarded",
    ),
    ("mf-broker", "identity-unknown", "unknown-identity-reported"),
    ("mf-broker", "http-answers", "plain-get-answered"),
    ("generic", "restart", "upgrade-after-restart"),
    ("generic", "restart", "upgrade-after-stop-start"),
    ("generic", "malformed", "server-survives"),
];

#[test]
fn every_profile_loads_and_names_match_files() {
    for p in PROFILES {
        let scenarios = profile(p);
        assert!(!scenarios.is_empty(), "profile {p} has no scenario files");
    }
}

#[test]
fn referenced_step_ids_exist() {
    let all: BTreeMap<&str, BTreeMap<String, Scenario>> =
        PROFILES.iter().map(|p| (*p, profile(p))).collect();
    for (p, file, id) in IDS {
        let s = all[p]
            .get(*file)
            .unwrap_or_else(|| panic!("profile {p} has no scenario {file}"));
        assert!(
            s.step_by_id(id).is_some(),
            "{p}/{file} has no step with id {id:?}"
        );
    }
}

/// Checks that the host of a `ws://`/`http://` template is 127.0.0.1 or `${host}`.
fn assert_loopback(url: &str, what: &str) {
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("{what}: {url:?} has no scheme"));
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    assert!(
        host == "127.0.0.1" || host == "${host}",
        "{what}: {url:?} aims at {host:?}; profiles may only reach 127.0.0.1"
    );
}

#[test]
fn profiles_only_reach_loopback() {
    for p in PROFILES {
        for (name, s) in profile(p) {
            for step in &s.steps {
                let what = format!("{p}/{name} {}", step.label());
                match &step.action {
                    StepAction::Connect(Connect {
                        target: Address::Url(u),
                        ..
                    })
                    | StepAction::Http(Http {
                        target: Address::Url(u),
                        ..
                    }) => assert_loopback(u, &what),
                    _ => {}
                }
            }
            if let Some(server) = &s.server {
                if let Ready::HttpProbe { url, .. } = &server.ready {
                    assert_loopback(url, &format!("{p}/{name} [server] ready"));
                }
            }
        }
    }
}

#[test]
fn edited_files_exist_in_the_probe_projects() {
    for (p, app) in [("vite", "vite-app"), ("webpack-dev-server", "wds-app")] {
        let app_dir = root().join("servers").join(app);
        for (name, s) in profile(p) {
            for step in &s.steps {
                let path = match &step.action {
                    StepAction::WriteFile(w) => &w.path,
                    StepAction::AppendFile(w) => &w.path,
                    StepAction::DeleteFile(d) => &d.path,
                    _ => continue,
                };
                assert!(
                    app_dir.join(path).is_file(),
                    "{p}/{name} {} edits {path}, which {app}/ does not have",
                    step.label()
                );
            }
        }
    }
}

/// Every profile that starts a server must be runnable from a copy of the probe
/// project and from any working directory: the command refers to conformance/servers
/// through `${servers}`, and the project directory is a variable the caller can
/// point at a copy.
#[test]
fn server_sections_are_relocatable() {
    for p in ["vite", "webpack-dev-server"] {
        for (name, s) in profile(p) {
            let server = s
                .server
                .as_ref()
                .unwrap_or_else(|| panic!("{p}/{name}: no [server]"));
            assert_eq!(server.cwd.as_deref(), Some("${app}"), "{p}/{name}");
            assert!(
                server
                    .command
                    .iter()
                    .skip(1)
                    .all(|a| !a.contains("node_modules")
                        || a.starts_with("${servers}/node_modules/")),
                "{p}/{name}: command must reach node_modules through ${{servers}}"
            );
        }
    }
}

/// A weakness check that could never fail proves nothing: each one must wait for
/// something the server has to do within a bound.
#[test]
fn broker_weakness_checks_are_bounded_expectations() {
    let broker = profile("mf-broker");
    for (file, id) in [
        ("registration-ack", "publisher-acknowledged"),
        ("identity-mismatch", "subscription-state-reported"),
        ("identity-unknown", "unknown-identity-reported"),
    ] {
        let step = broker[file].step_by_id(id).unwrap();
        // `expect`, not `expect_ack`: an ack that arrives within microseconds of the
        // send must still count.
        let StepAction::Expect(e) = &step.action else {
            panic!("{file}#{id} must be an expect")
        };
        assert!(e.within <= std::time::Duration::from_secs(1), "{file}#{id}");
        assert!(
            !e.skip_unmatched,
            "{file}#{id}: any message counts as the ack"
        );
    }
    let step = broker["heartbeat"].step_by_id("dead-peer-dropped").unwrap();
    let StepAction::ExpectClose(c) = &step.action else {
        panic!("heartbeat#dead-peer-dropped must be an expect_close")
    };
    assert_eq!(c.within, std::time::Duration::from_secs(10));
    let conn = broker["heartbeat"]
        .steps
        .iter()
        .find_map(|s| match &s.action {
            StepAction::Connect(c) if c.conn == "stalled" => Some(c),
            _ => None,
        })
        .unwrap();
    assert!(
        !conn.answer_pings,
        "the stalled peer must refuse pings from its first frame on"
    );
}

// ---------------------------------------------------------------------------------
// The shipped files and the examples.

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read conformance dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

#[test]
fn every_scenario_toml_under_conformance_parses() {
    // Scenario files live under profiles/ and scenarios/; conformance/autobahn/ holds the
    // differential test's allow-list, which is TOML but not a scenario.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let mut files = Vec::new();
    toml_files(&root.join("profiles"), &mut files);
    toml_files(&root.join("scenarios"), &mut files);
    assert!(
        files.len() >= 3,
        "expected the examples at least, found {files:?}"
    );
    for f in &files {
        if let Err(e) = Scenario::from_file(f) {
            panic!("{} failed to parse:\n{e}", f.display());
        }
    }
}

fn example(name: &str) -> Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance/scenarios/examples")
        .join(name);
    Scenario::from_file(&p).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn vite_example_shape() {
    let s = example("vite-token-handshake.toml");
    assert_eq!(s.name, "vite-token-handshake");
    assert_eq!(s.deadline, Duration::from_secs(30));
    assert!(s.file.ends_with("vite-token-handshake.toml"));
    let server = s.server.as_ref().expect("server");
    assert_eq!(server.command[0], "npx");
    assert!(matches!(
        &server.ready,
        Ready::HttpProbe {
            status: Some(200),
            ..
        }
    ));
    assert!(server.autostart);
    let StepAction::Http(h) = &s.steps[0].action else {
        panic!("step 1 is http")
    };
    assert_eq!(h.method, "GET");
    assert_eq!(h.target, Address::Path("/@vite/client".into()));
    assert!(matches!(
        &h.captures[0].source,
        CaptureSource::Regex { group: 1, .. }
    ));
    assert_eq!(h.captures[0].var, "token");
    let StepAction::Connect(c) = &s.steps[1].action else {
        panic!("step 2 is connect")
    };
    assert_eq!(c.conn, "hmr");
    assert_eq!(c.query, vec![("token".to_string(), "${token}".to_string())]);
    assert_eq!(c.protocols, vec!["vite-hmr".to_string()]);
    assert_eq!(c.within, Duration::from_secs(2));
    let ConnectExpect::Upgrade { protocol, headers } = &c.expect else {
        panic!("upgrade")
    };
    assert_eq!(protocol.as_ref().unwrap(), "vite-hmr");
    assert_eq!(
        headers.as_ref().unwrap()["sec-websocket-extensions"],
        "$absent"
    );
    let StepAction::Connect(c) = &s.steps[3].action else {
        panic!("connect")
    };
    assert!(matches!(
        &c.expect,
        ConnectExpect::Status {
            status: StatusExpect::Exact(400),
            body: Some(_),
            ..
        }
    ));
    assert_eq!(s.step_by_id("greeting").unwrap().index, 3);
    assert_eq!(s.steps[2].location.line, 45);
    assert_eq!(s.steps[2].label(), "step 3 (action \"expect\")");
}

#[test]
fn wds_example_shape() {
    let s = example("wds-heartbeat-silent-peer.toml");
    let StepAction::Connect(c) = &s.steps[0].action else {
        panic!()
    };
    assert!(!c.answer_pings);
    let StepAction::Expect(e) = &s.steps[1].action else {
        panic!()
    };
    let ExpectWhat::All { items, ordered } = &e.what else {
        panic!()
    };
    assert!(*ordered);
    assert_eq!(items.len(), 6);
    assert_eq!(e.ignore.len(), 1);
    let StepAction::ExpectClose(ec) = &s.steps[2].action else {
        panic!()
    };
    assert_eq!(ec.codes, vec![1006]);
    assert_eq!(ec.within, Duration::from_millis(2500));
    let StepAction::Ping(p) = &s.steps.last().unwrap().action else {
        panic!()
    };
    assert_eq!(p.record_latency_as.as_deref(), Some("pong_ms"));
    assert_eq!(p.payload, Bytes::Text("still-there".into()));
}

#[test]
fn broker_example_shape() {
    let s = example("mf-broker-attach.toml");
    assert_eq!(
        s.vars.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["magic", "broker", "tar"]
    );
    assert_eq!(
        s.server.as_ref().unwrap().ready,
        Ready::TcpPort("16322".into())
    );
    let StepAction::Send(send) = &s.steps[1].action else {
        panic!()
    };
    let SendPayload::Json(j) = &send.payload else {
        panic!()
    };
    assert_eq!(j["payload"]["remoteTypeTarPath"], "${tar}");
    assert_eq!(j["time"], 0);
    let StepAction::ExpectAck(a) = &s.steps[5].action else {
        panic!()
    };
    assert_eq!(a.after, AckAfter::Step("add-subscriber".into()));
    assert_eq!(a.captures[0].var, "attached_at");
    assert!(matches!(
        s.steps[9].action,
        StepAction::StopServer(StopServer {
            signal: Some(Signal::TERM)
        })
    ));
    let StepAction::Expect(e) = &s.steps[10].action else {
        panic!()
    };
    let ExpectWhat::One(item) = &e.what else {
        panic!()
    };
    assert!(item.matcher.double_encoded);
    assert!(matches!(
        s.steps.last().unwrap().action,
        StepAction::AssertServer(AssertServer {
            state: ServerState::Exited,
            exit_code: Some(0),
            ..
        })
    ));
}

// ---------------------------------------------------------------------------------
// The reference page stays in sync with the code.

fn doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-format.md"))
        .expect("docs/scenario-format.md")
}

#[test]
fn docs_embed_the_example_files_verbatim() {
    let doc = doc();
    for name in [
        "vite-token-handshake.toml",
        "wds-heartbeat-silent-peer.toml",
        "mf-broker-attach.toml",
    ] {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("conformance/scenarios/examples")
            .join(name);
        let body = std::fs::read_to_string(&p).unwrap();
        assert!(
            doc.contains(&format!("```toml\n{}\n```", body.trim_end())),
            "{name} is not embedded verbatim in the doc"
        );
    }
}

#[test]
fn docs_toml_scenarios_parse_and_every_action_is_documented() {
    let doc = doc();
    let mut n = 0;
    for block in doc.split("```toml\n").skip(1) {
        let block = block.split("```").next().unwrap();
        if block.starts_with("[scenario]") || block.starts_with('#') {
            Scenario::from_str(block, "doc")
                .unwrap_or_else(|e| panic!("doc block does not parse:\n{e}\n{block}"));
            n += 1;
        }
    }
    assert!(
        n >= 4,
        "expected the intro and the three examples, parsed {n}"
    );
    for action in action_names() {
        assert!(
            doc.contains(&format!("### `{action}`"))
                || doc.contains(&format!("`{action}` /"))
                || doc.contains(&format!("/ `{action}`")),
            "action {action} has no section"
        );
    }
    for w in WILDCARDS {
        let w = w.trim_end_matches("<re>");
        assert!(doc.contains(w), "wildcard {w} undocumented");
    }
}
