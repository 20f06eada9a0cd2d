//! Variables, JSON paths, durations, and execution-time resolution of steps.

use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use wsspec::scenario::*;

fn env(pairs: &[(&str, &str)]) -> Vars {
    Vars::with_env(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    )
}

#[test]
fn substitution_rules() {
    let mut v = env(&[("HOME", "/home/u")]);
    v.set("port", "5173");
    v.set("obj", json!({"a": [1, {"b": "x"}]}));
    assert_eq!(
        substitute("ws://127.0.0.1:${port}/?t=${env:HOME}", &v).unwrap(),
        "ws://127.0.0.1:5173/?t=/home/u"
    );
    assert_eq!(
        substitute("${obj.a[1].b}|${obj.a}", &v).unwrap(),
        "x|[1,{\"b\":\"x\"}]"
    );
    assert_eq!(substitute("$${port} $any $", &v).unwrap(), "${port} $any $");
    assert_eq!(
        substitute("${missing}", &v).unwrap_err(),
        VarError::Undefined {
            name: "missing".into()
        }
    );
    assert_eq!(
        substitute("${env:NOPE}", &v).unwrap_err(),
        VarError::EnvUnset {
            name: "NOPE".into()
        }
    );
    assert_eq!(
        substitute("${obj.a[5]}", &v).unwrap_err().to_string(),
        "variable \"obj\" has no .a[5]: $.a: index 5 out of range (length 2)"
    );
    assert!(matches!(
        substitute("${1x}", &v),
        Err(VarError::Syntax { .. })
    ));
    assert!(matches!(
        substitute("tail ${", &v),
        Err(VarError::Syntax { offset: 5, .. })
    ));
    assert!(is_var_name("_a1") && !is_var_name("1a") && !is_var_name("a-b") && !is_var_name(""));
}

#[test]
fn typed_json_substitution() {
    let mut v = Vars::new();
    v.set("id", 42);
    v.set("s", "42");
    let out = substitute_json(
        &json!({"id": "${id}", "sid": "${s}", "label": "#${id}", "${s}": ["${id}"]}),
        &v,
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"id": 42, "sid": "42", "label": "#42", "42": [42]})
    );
}

#[test]
fn paths() {
    let doc =
        json!({"updates": [{"type": "js-update", "path": "/src/dep.js"}], "a.b": {"c": true}});
    let p = JsonPath::parse("$.updates[0].type").unwrap();
    assert_eq!(p.get(&doc), Some(&json!("js-update")));
    assert_eq!(
        JsonPath::parse("updates[0].path").unwrap().get(&doc),
        Some(&json!("/src/dep.js"))
    );
    assert_eq!(
        JsonPath::parse("[\"a.b\"].c").unwrap().get(&doc),
        Some(&json!(true))
    );
    assert_eq!(JsonPath::parse("").unwrap().get(&doc), Some(&doc));
    assert_eq!(
        JsonPath::parse("updates[1]")
            .unwrap()
            .lookup(&doc)
            .unwrap_err()
            .to_string(),
        "$.updates: index 1 out of range (length 1)"
    );
    let e = JsonPath::parse("a[b]").unwrap_err();
    assert_eq!(e.offset, 2);
    assert!(e.to_string().contains("expected an array index"), "{e}");
}

#[test]
fn durations() {
    assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
    assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
    assert!(parse_duration("1.5").is_err());
    assert!(parse_duration("25h").is_err());
    assert_eq!(format_duration(Duration::from_millis(2500)), "2.5s");
}

const SRC: &str = r#"
[scenario]
name = "resolve"

[vars]
port = "1111"
origin = "http://127.0.0.1:${port}"
dir = "src"

[server]
command = ["node", "server.js", "--port", "${port}"]
cwd = "${env:PROJ}"
env = { ORIGIN = "${origin}" }
ready = { tcp_port = "${port}" }

[[step]]
action = "connect"
conn = "a"
path = "/?x=${origin}"
origin = "${origin}"
headers = { "X-Port" = "${port}" }
query = { token = "${token}" }
expect = { status = 101, protocol = "$absent" }

[[step]]
id = "req"
action = "send"
conn = "a"
json = { id = "${n}", name = "${dir}" }

[[step]]
action = "expect_ack"
conn = "a"
after = "req"
match = { json = { id = "${last_sent.id}" } }
capture = { reply = "result" }

[[step]]
action = "write_file"
path = "${dir}/${file}"
content = "export const v = ${n};"

[[step]]
action = "ping"
conn = "a"
payload = "${big}"

[[step]]
title = "reply was ${reply}"
action = "close"
conn = "a"
code = 1000
reason = "${reply}"
"#;

fn scenario() -> Scenario {
    let mut s = SRC.to_string();
    // token, n, file, big are provided by the caller in this test.
    s = s.replace(
        "[vars]\n",
        "[vars]\ntoken = \"\"\nn = \"\"\nfile = \"\"\nbig = \"\"\n",
    );
    Scenario::from_str(&s, "r.toml").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn initial_vars_expand_in_order_and_caller_wins() {
    let s = scenario();
    let mut builtins = env(&[("PROJ", "/p")]);
    builtins.set("host", "127.0.0.1");
    builtins.set("port", "5173");
    let vars = s.initial_vars(builtins).unwrap();
    assert_eq!(vars.get("port"), Some(&json!("5173")));
    assert_eq!(vars.get("origin"), Some(&json!("http://127.0.0.1:5173")));
    // Without a caller port, the [vars] default is used.
    let vars = s.initial_vars(env(&[])).unwrap();
    assert_eq!(vars.get("origin"), Some(&json!("http://127.0.0.1:1111")));
    // An env reference that fails names the var and its line.
    let bad = Scenario::from_str("[scenario]\nname = \"x\"\n[vars]\nh = \"${env:NOPE}\"\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\n", "v.toml").unwrap();
    let e = bad.initial_vars(env(&[])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "v.toml:4:1: [vars]: variable \"h\": environment variable \"NOPE\" is not set"
    );
}

#[test]
fn server_spec_resolves() {
    let s = scenario();
    let vars = s.initial_vars(env(&[("PROJ", "/p")])).unwrap();
    let server = s.server.as_ref().unwrap().resolve(&vars).unwrap();
    assert_eq!(server.command, ["node", "server.js", "--port", "1111"]);
    assert_eq!(server.cwd.as_deref(), Some("/p"));
    assert_eq!(
        server.env,
        vec![("ORIGIN".to_string(), "http://127.0.0.1:1111".to_string())]
    );
    assert_eq!(server.ready, Ready::TcpPort("1111".into()));
    let mut v2 = vars.clone();
    v2.set("port", "not-a-port");
    let e = s.server.as_ref().unwrap().resolve(&v2).unwrap_err();
    assert!(
        e.to_string()
            .contains("[server]: ready.tcp_port is \"not-a-port\"; expected a port number"),
        "{e}"
    );
}

#[test]
fn steps_resolve_every_template() {
    let s = scenario();
    let mut vars = s.initial_vars(env(&[("PROJ", "/p")])).unwrap();
    vars.set("token", "T0K");
    vars.set("n", 7);
    vars.set("file", "dep.js");
    vars.set("big", "x".repeat(10));

    let StepAction::Connect(c) = s.steps[0].resolve(&vars).unwrap().action else {
        panic!()
    };
    assert_eq!(c.target, Address::Path("/?x=http://127.0.0.1:1111".into()));
    assert_eq!(c.origin.as_deref(), Some("http://127.0.0.1:1111"));
    assert_eq!(c.headers, vec![("X-Port".to_string(), "1111".to_string())]);
    assert_eq!(c.query, vec![("token".to_string(), "T0K".to_string())]);

    let StepAction::Send(send) = s.steps[1].resolve(&vars).unwrap().action else {
        panic!()
    };
    assert_eq!(
        send.payload,
        SendPayload::Json(json!({"id": 7, "name": "src"}))
    );

    // expect_ack: the engine binds last_sent to the referenced send.
    let mut ack_vars = vars.clone();
    ack_vars.set("last_sent", r#"{"id":7,"name":"src"}"#);
    let StepAction::ExpectAck(a) = s.steps[2].resolve(&ack_vars).unwrap().action else {
        panic!()
    };
    assert_eq!(a.matcher.json, Some(json!({"id": 7})));
    let e = s.steps[2].resolve(&vars).unwrap_err();
    assert_eq!(
        e.to_string(),
        "r.toml:35:1: step 3 (action \"expect_ack\"): undefined variable \"last_sent\""
    );

    let StepAction::WriteFile(w) = s.steps[3].resolve(&vars).unwrap().action else {
        panic!()
    };
    assert_eq!(w.path, "src/dep.js");
    assert_eq!(w.content, "export const v = 7;");

    // A variable cannot smuggle a path out of the project.
    let mut evil = vars.clone();
    evil.set("file", "../../etc/passwd");
    let e = s.steps[3].resolve(&evil).unwrap_err();
    assert!(matches!(e.error, ResolveError::Invalid(_)));
    assert!(
        e.to_string()
            .contains("step 4 (action \"write_file\"): \"src/../../etc/passwd\" contains \"..\""),
        "{e}"
    );

    // Payload limits are re-checked after substitution.
    assert!(s.steps[4].resolve(&vars).is_ok());
    let mut big = vars.clone();
    big.set("big", "x".repeat(126));
    let e = s.steps[4].resolve(&big).unwrap_err();
    assert!(
        e.to_string()
            .contains("the ping payload is 126 bytes after substitution"),
        "{e}"
    );

    // Titles are templates; captured values flow into later steps.
    let mut later = vars.clone();
    later.set("reply", "done");
    let step = s.steps[5].resolve(&later).unwrap();
    assert_eq!(step.title.as_deref(), Some("reply was done"));
    let StepAction::Close(c) = step.action else {
        panic!()
    };
    assert_eq!(c.reason, "done");
    assert_eq!(c.code, Some(1000));
}

#[test]
fn action_helpers() {
    let s = scenario();
    assert_eq!(s.steps[0].action.conn(), Some("a"));
    assert_eq!(s.steps[3].action.conn(), None);
    assert_eq!(s.steps[2].action.defines(), vec!["reply"]);
    assert_eq!(s.steps[1].action.name(), "send");
    assert_eq!(s.steps[1].display_name(), "req");
    assert_eq!(s.steps[5].display_name(), "reply was ${reply}");
    assert_eq!(s.steps[3].display_name(), "step 4 (action \"write_file\")");
    assert_eq!(ACTIONS.len(), 35);
    assert_eq!(s.to_string(), "resolve (6 steps, deadline 60s)");
}
