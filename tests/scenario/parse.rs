//! Loading scenario files: each class of error names file, line, column and what was
//! expected, and the defaults are applied. (The shipped files, the examples and the
//! reference page are checked in `profile_files.rs`.)

use std::path::Path;
use wsspec::scenario::*;

// ---------------------------------------------------------------------------------
// Error classes.

fn errors(src: &str) -> ScenarioError {
    match Scenario::from_str(src, "t.toml") {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e,
    }
}

/// Asserts that some diagnostic is at `line:col` and contains every fragment.
#[track_caller]
fn assert_diag(src: &str, line: u32, col: u32, fragments: &[&str]) -> Diagnostic {
    let e = errors(src);
    let found = e.diagnostics().iter().find(|d| {
        d.location.line == line
            && d.location.column == col
            && fragments.iter().all(|f| d.to_string().contains(f))
    });
    match found {
        Some(d) => {
            assert!(
                d.to_string().starts_with(&format!("t.toml:{line}:{col}: ")),
                "{d}"
            );
            d.clone()
        }
        None => panic!("no diagnostic at {line}:{col} containing {fragments:?}; got:\n{e}"),
    }
}

const HEAD: &str = "[scenario]\nname = \"t\"\n";

/// HEAD plus a connect step (lines 3-6) plus `rest`.
fn with_conn(rest: &str) -> String {
    format!(
        "{HEAD}[[step]]\naction = \"connect\"\nconn = \"a\"\nurl = \"ws://127.0.0.1:1/\"\n{rest}"
    )
}

#[test]
fn brief_example_missing_conn_on_step_3() {
    // Step 3 header on line 14, as in the format reference.
    let src = "\
[scenario]
name = \"t\"

[[step]]
action = \"connect\"
conn = \"a\"
url = \"ws://127.0.0.1:1/\"

[[step]]
action = \"send\"
conn = \"a\"
text = \"hi\"

[[step]]
action = \"expect\"
match = { text = \"hi\" }
";
    let d = assert_diag(src, 14, 1, &[]);
    assert_eq!(
        d.to_string(),
        "t.toml:14:1: step 3 (action \"expect\"): missing field \"conn\" (the connection name)"
    );
    assert_eq!(d.kind, DiagnosticKind::Schema);
}

#[test]
fn toml_syntax_error_has_position() {
    let d = assert_diag("[scenario]\nname = \n", 2, 8, &["TOML syntax error"]);
    assert_eq!(d.kind, DiagnosticKind::Syntax);
    assert_diag(
        "[scenario]\nname = \"a\"\nname = \"b\"\n",
        3,
        1,
        &["TOML syntax error", "duplicate key"],
    );
}

#[test]
fn top_level_structure_errors() {
    assert_diag(
        "[[step]]\naction = \"sleep\"\nfor = \"1s\"\n",
        1,
        1,
        &["missing table [scenario]"],
    );
    assert_diag(
        "[scenario]\ndescription = \"x\"\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\n",
        1,
        1,
        &["[scenario]", "missing field \"name\""],
    );
    assert_diag(HEAD, 1, 1, &["no steps; expected at least one [[step]]"]);
    assert_diag(
        &format!("{HEAD}[step]\naction = \"sleep\"\n"),
        3,
        1,
        &["write [[step]], not [step]"],
    );
    assert_diag(
        &format!("{HEAD}[setup]\nx = 1\n"),
        3,
        2,
        &[
            "unknown field \"setup\"",
            "expected one of: scenario, vars, server, step",
        ],
    );
    assert_diag(
        &format!("{HEAD}nmae = \"x\"\n"),
        3,
        1,
        &[
            "[scenario]",
            "unknown field \"nmae\" (did you mean \"name\"?)",
        ],
    );
}

#[test]
fn action_errors() {
    assert_diag(
        &format!("{HEAD}[[step]]\nconn = \"a\"\n"),
        3,
        1,
        &["step 1: missing field \"action\"; expected one of connect, close"],
    );
    let d = assert_diag(
        &format!("{HEAD}[[step]]\naction = \"expct\"\n"),
        4,
        10,
        &["unknown action \"expct\" (did you mean \"expect\"?)"],
    );
    assert!(
        d.message
            .contains("expected one of connect, close, drop_tcp,"),
        "{d}"
    );
    assert!(d.message.ends_with("assert_server, assert_listening, expect_output, sleep, listen, accept, restart_listener, expect_reconnect, start_client, stop_client, assert_client, expect_series"), "{d}");
    assert_diag(
        &format!("{HEAD}[[step]]\naction = 3\n"),
        4,
        10,
        &["field \"action\": expected a string (the action name), got an integer"],
    );
}

#[test]
fn unknown_and_mistyped_fields() {
    let src = with_conn("[[step]]\naction = \"sleep\"\nfor = \"1s\"\ntiemout = \"2s\"\n");
    assert_diag(
        &src,
        10,
        1,
        &[
            "step 2 (action \"sleep\")",
            "unknown field \"tiemout\" (did you mean \"timeout\"?)",
            "expected one of: action, id, title, timeout, needs, for",
        ],
    );
    let src = with_conn(
        "[[step]]\naction = \"send\"\nconn = \"a\"\nraw = { opcode = 1, chop = \"x\" }\n",
    );
    assert_diag(
        &src,
        10,
        28,
        &["field \"chop\": expected an integer from 1 to"],
    );
    let src = with_conn("[[step]]\naction = \"expect\"\nconn = 5\nmatch = {}\n");
    assert_diag(
        &src,
        9,
        8,
        &["field \"conn\": expected a string, got an integer"],
    );
    let src =
        with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\ntext = \"x\"\njson = { a = 1 }\n");
    assert_diag(
        &src,
        11,
        1,
        &["fields \"text\" and \"json\" cannot be combined"],
    );
    let src = with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\n");
    assert_diag(
        &src,
        7,
        1,
        &["missing field: expected one of \"text\" or \"json\" or \"binary_hex\" or \"raw\""],
    );
    let src = with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\njson = \"{}\"\n");
    assert_diag(&src, 10, 8, &["expected an inline table or array"]);
}

#[test]
fn bad_durations() {
    let src = with_conn(
        "[[step]]\naction = \"expect\"\nconn = \"a\"\nwithin = \"2 seconds\"\nmatch = {}\n",
    );
    assert_diag(
        &src,
        10,
        10,
        &[
            "step 2 (action \"expect\")",
            "field \"within\": invalid duration \"2 seconds\"",
            "e.g. \"250ms\", \"2s\", \"1.5s\"",
        ],
    );
    let src = with_conn("[[step]]\naction = \"sleep\"\nfor = 2\n");
    assert_diag(
        &src,
        9,
        7,
        &[
            "field \"for\": expected a duration string like \"250ms\"",
            "got an integer",
        ],
    );
    let src = "[scenario]\nname = \"t\"\ndeadline = \"10s\"\n[[step]]\naction = \"sleep\"\nfor = \"11s\"\n";
    assert_diag(src, 6, 7, &["11s is longer than the scenario deadline 10s"]);
    let src = "[scenario]\nname = \"t\"\ndeadline = \"3s\"\n[[step]]\naction = \"sleep\"\nfor = \"2s\"\n[[step]]\naction = \"sleep\"\nfor = \"2s\"\n";
    assert_diag(
        src,
        7,
        1,
        &[
            "step 2 (action \"sleep\")",
            "add up to 4s, more than the scenario deadline 3s",
        ],
    );
    assert_diag("[scenario]\nname = \"t\"\ndeadline = \"forever\"\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\n", 3, 12, &["[scenario]", "invalid duration \"forever\""]);
}

#[test]
fn bad_regexes() {
    let src = with_conn(
        "[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = { regex = \"(unclosed\" }\n",
    );
    assert_diag(
        &src,
        10,
        19,
        &["field \"regex\": invalid regex \"(unclosed\""],
    );
    let src = with_conn("[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = { json = { t = \"$regex:[z-a]\" } }\n");
    assert_diag(
        &src,
        10,
        18,
        &["field \"match.json\": at $.t: invalid regex \"[z-a]\""],
    );
    let src = format!("{HEAD}[server]\ncommand = [\"x\"]\nready = {{ stdout_line = \"*oops\" }}\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\n");
    assert_diag(
        &src,
        5,
        25,
        &["[server]", "field \"stdout_line\": invalid regex"],
    );
    let src = format!("{HEAD}[[step]]\naction = \"http\"\npath = \"/\"\ncapture = {{ t = {{ regex = \"a(b)\", group = 2 }} }}\n");
    assert_diag(
        &src,
        6,
        27,
        &["the regex has 1 capture group(s) but group = 2"],
    );
}

#[test]
fn bad_hex_and_frame_fields() {
    let src = with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\nbinary_hex = \"abc\"\n");
    assert_diag(
        &src,
        10,
        14,
        &["field \"binary_hex\": odd number of hex digits (3)"],
    );
    let src = with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\nbinary_hex = \"0g\"\n");
    assert_diag(&src, 10, 14, &["invalid hex digit 'g' at offset 1"]);
    let src = with_conn(
        "[[step]]\naction = \"send\"\nconn = \"a\"\nraw = { opcode = \"text\", mask = \"0102\" }\n",
    );
    assert_diag(
        &src,
        10,
        33,
        &["a mask key is 4 bytes (8 hex digits), got 2"],
    );
    let src = with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\nraw = { opcode = \"txt\" }\n");
    assert_diag(
        &src,
        10,
        18,
        &["unknown opcode \"txt\"; expected 0-15 or continuation, text"],
    );
    let src = with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\nraw = { opcode = 16 }\n");
    assert_diag(
        &src,
        10,
        18,
        &["field \"opcode\": 16 is out of range; expected an integer from 0 to 15"],
    );
    let src = with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\nraw = { opcode = 1, payload_text = \"x\", length_encoding = \"7bit\", declared_length = 200 }\n");
    assert_diag(
        &src,
        10,
        41,
        &["a length of 200 does not fit the 7-bit length field (at most 125)"],
    );
    let src = with_conn(
        "[[step]]\naction = \"send\"\nconn = \"a\"\nraw = { opcode = 1, delay_ms = 5 }\n",
    );
    assert_diag(
        &src,
        10,
        21,
        &["\"delay_ms\" is the pause between chopped pieces; it needs \"chop\""],
    );
}

#[test]
fn chop_zero_is_rejected() {
    let src = with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\nraw = { opcode = 1, payload_text = \"hi\", chop = 0 }\n");
    let d = assert_diag(&src, 10, 49, &["field \"chop\": 0 would never write anything; expected a chunk size of at least 1 byte"]);
    assert_eq!(d.kind, DiagnosticKind::Semantic);
}

#[test]
fn file_paths_may_not_escape_the_project() {
    let server = "[server]\ncommand = [\"x\"]\nready = { tcp_port = 1 }\n";
    let src = format!("{HEAD}{server}[[step]]\naction = \"write_file\"\npath = \"/etc/passwd\"\ncontent = \"x\"\n");
    assert_diag(&src, 8, 8, &["step 1 (action \"write_file\")", "field \"path\": \"/etc/passwd\" is absolute; expected a path relative to the project directory"]);
    let src = format!("{HEAD}{server}[[step]]\naction = \"delete_file\"\npath = \"src/../../x\"\n");
    assert_diag(
        &src,
        8,
        8,
        &["contains \"..\"; file actions may not leave the project directory"],
    );
    let src = format!("{HEAD}[vars]\nd = \"src\"\n{server}[[step]]\naction = \"append_file\"\npath = \"${{d}}/../..\"\ncontent = \"\"\n");
    assert_diag(&src, 10, 8, &["contains \"..\""]);
    let src =
        format!("{HEAD}[[step]]\naction = \"write_file\"\npath = \"a.js\"\ncontent = \"x\"\n");
    assert_diag(&src, 3, 1, &["file actions need a [server] table"]);
}

#[test]
fn connections_must_be_connected_and_open() {
    let src = format!("{HEAD}[[step]]\naction = \"send\"\nconn = \"hmr\"\ntext = \"x\"\n");
    assert_diag(&src, 5, 8, &["step 1 (action \"send\")", "connection \"hmr\" is used before any connect step; expected a connect step with conn = \"hmr\" earlier"]);
    let src = format!("{HEAD}[[step]]\naction = \"connect\"\nconn = \"hmr\"\npath = \"/\"\n[[step]]\naction = \"expect\"\nconn = \"hrm\"\nmatch = {{}}\n");
    assert_diag(
        &src,
        9,
        8,
        &["connection \"hrm\" is used before any connect step (did you mean \"hmr\"?)"],
    );
    let src = format!("{HEAD}[[step]]\naction = \"connect\"\nconn = \"a\"\npath = \"/\"\nexpect = {{ status = 400 }}\n[[step]]\naction = \"send\"\nconn = \"a\"\ntext = \"x\"\n");
    assert_diag(
        &src,
        10,
        8,
        &["connection \"a\" is not open here: its connect (step 1) expects the upgrade to fail"],
    );
    let src = with_conn("[[step]]\naction = \"drop_tcp\"\nconn = \"a\"\n[[step]]\naction = \"ping\"\nconn = \"a\"\n");
    assert_diag(
        &src,
        12,
        8,
        &["not open here: step 2 dropped its TCP connection; connect it again first"],
    );
    // Reconnecting makes it usable again, and capture may read a closed connection.
    let ok = with_conn("[[step]]\naction = \"expect_close\"\nconn = \"a\"\n[[step]]\naction = \"capture\"\nfrom = \"message\"\nconn = \"a\"\nwhole = true\ninto = \"m\"\n[[step]]\naction = \"connect\"\nconn = \"a\"\nurl = \"ws://127.0.0.1:1/\"\n[[step]]\naction = \"send\"\nconn = \"a\"\ntext = \"${m}\"\n");
    Scenario::from_str(&ok, "t.toml").unwrap();
}

#[test]
fn variables_must_be_defined_where_used() {
    let src = with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\ntext = \"${token}\"\n");
    let d = assert_diag(&src, 10, 8, &["step 2 (action \"send\")", "undefined variable \"token\"", "expected a [vars] entry, a built-in (host, port, project_dir, scenario_dir, last_sent), ${env:NAME}, or a capture of an earlier step"]);
    assert_eq!(d.kind, DiagnosticKind::Semantic);
    // Captured only by a later step.
    let src = with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\ntext = \"${tok}\"\n[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = {}\ncapture = { tok = \"t\" }\n");
    assert_diag(
        &src,
        10,
        8,
        &["undefined variable \"tok\" (step 3 captures it, but that step has not run yet here)"],
    );
    // Captured in the same step: not yet defined when the step's strings are expanded.
    let src = with_conn("[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = { text = \"${t}\" }\ncapture = { t = \"x\" }\n");
    assert_diag(&src, 10, 18, &["undefined variable \"t\""]);
    // Typo of a defined var.
    let src = format!(
        "{HEAD}[vars]\norigin = \"http://x\"\n[[step]]\naction = \"http\"\nurl = \"${{orgin}}\"\n"
    );
    assert_diag(
        &src,
        7,
        7,
        &["undefined variable \"orgin\" (did you mean \"origin\"?)"],
    );
    // [vars] may only use entries above them.
    let src = format!(
        "{HEAD}[vars]\na = \"${{b}}\"\nb = \"x\"\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\n"
    );
    assert_diag(
        &src,
        4,
        5,
        &[
            "[vars]",
            "undefined variable \"b\" ([vars] entries may only use entries defined above them)",
        ],
    );
    // last_sent needs an earlier send.
    let src = with_conn("[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = { json = { id = \"${last_sent.id}\" } }\n");
    assert_diag(
        &src,
        10,
        25,
        &["undefined variable \"last_sent\" (it refers to the last message sent"],
    );
    // Malformed reference.
    let src = with_conn("[[step]]\naction = \"send\"\nconn = \"a\"\ntext = \"${port\"\n");
    assert_diag(
        &src,
        10,
        8,
        &["bad variable reference at offset 0: unclosed \"${\""],
    );
    // Built-ins, env, [vars] and earlier captures are fine.
    let ok = format!("{HEAD}[vars]\nbase = \"ws://${{host}}:${{port}}\"\nurl = \"${{base}}/x\"\n[[step]]\naction = \"connect\"\nconn = \"a\"\nurl = \"${{url}}?h=${{env:HOME}}\"\n[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = {{}}\ncapture = {{ t = \"x\" }}\n[[step]]\naction = \"send\"\nconn = \"a\"\njson = {{ id = \"${{t}}\" }}\n[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = {{ json = {{ id = \"${{last_sent.id}}\" }} }}\n");
    Scenario::from_str(&ok, "t.toml").unwrap();
}

#[test]
fn var_names_are_checked() {
    assert_diag(
        &format!("{HEAD}[vars]\nhost = \"x\"\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\n"),
        4,
        1,
        &["variable \"host\" is reserved"],
    );
    assert_diag(
        &format!("{HEAD}[vars]\nport = 5173\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\n"),
        4,
        8,
        &["expected a string (quote numbers, e.g. port = \"5173\"), got an integer"],
    );
    assert_diag(
        &format!("{HEAD}[vars]\n\"a-b\" = \"x\"\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\n"),
        4,
        1,
        &["\"a-b\" is not a valid variable name"],
    );
    let src =
        with_conn("[[step]]\naction = \"ping\"\nconn = \"a\"\nrecord_latency_as = \"last_sent\"\n");
    assert_diag(&src, 10, 21, &["variable \"last_sent\" is reserved"]);
}

#[test]
fn step_ids_and_ack_references() {
    let src = format!("{HEAD}[[step]]\nid = \"x\"\naction = \"sleep\"\nfor = \"1s\"\n[[step]]\nid = \"x\"\naction = \"sleep\"\nfor = \"1s\"\n");
    assert_diag(
        &src,
        8,
        6,
        &["duplicate step id \"x\"; step 1 at line 3 already uses it"],
    );
    let src = with_conn("[[step]]\naction = \"expect_ack\"\nconn = \"a\"\nmatch = {}\n");
    assert_diag(
        &src,
        9,
        8,
        &["expect_ack needs an earlier send or rpc on connection \"a\""],
    );
    let src = with_conn(
        "[[step]]\naction = \"expect_ack\"\nconn = \"a\"\nafter = \"nope\"\nmatch = {}\n",
    );
    assert_diag(
        &src,
        10,
        9,
        &["field \"after\": no earlier step has id \"nope\""],
    );
    let src = with_conn("[[step]]\nid = \"s\"\naction = \"sleep\"\nfor = \"1s\"\n[[step]]\naction = \"expect_ack\"\nconn = \"a\"\nafter = \"s\"\nmatch = {}\n");
    assert_diag(&src, 14, 9, &["step 2 (\"s\") is not a send or rpc step"]);
    let src = format!("{HEAD}[[step]]\naction = \"connect\"\nconn = \"a\"\npath = \"/\"\n[[step]]\naction = \"connect\"\nconn = \"b\"\npath = \"/\"\n[[step]]\nid = \"s\"\naction = \"send\"\nconn = \"a\"\ntext = \"x\"\n[[step]]\naction = \"expect_ack\"\nconn = \"b\"\nafter = \"s\"\nmatch = {{}}\n");
    assert_diag(
        &src,
        19,
        9,
        &["sends on connection \"a\", not on this step's connection"],
    );
}

#[test]
fn server_lifecycle_rules() {
    assert_diag(
        &format!("{HEAD}[[step]]\naction = \"start_server\"\n"),
        3,
        1,
        &["this action needs a [server] table"],
    );
    let server = "[server]\ncommand = [\"x\"]\nready = { tcp_port = 1 }\n";
    assert_diag(
        &format!("{HEAD}{server}[[step]]\naction = \"start_server\"\n"),
        6,
        1,
        &["the server is already running (autostart"],
    );
    assert_diag(
        &format!("{HEAD}{server}[[step]]\naction = \"stop_server\"\n[[step]]\naction = \"stop_server\"\n"),
        8,
        1,
        &["step 2 (action \"stop_server\")", "the server is not running here: step 1 stopped it"],
    );
    assert_diag(
        &format!("{HEAD}{server}[[step]]\naction = \"stop_server\"\n[[step]]\naction = \"assert_server\"\nstate = \"alive\"\n"),
        8,
        1,
        &["the server cannot be alive here: step 1 stopped it"],
    );
    let manual = "[server]\ncommand = [\"x\"]\nready = { tcp_port = 1 }\nautostart = false\n";
    assert_diag(
        &format!("{HEAD}{manual}[[step]]\naction = \"restart_server\"\n"),
        7,
        1,
        &["not running here (it is not started yet (autostart = false)); use start_server"],
    );
    // After an observed exit the server may be started again.
    let ok = format!("{HEAD}{server}[[step]]\naction = \"assert_server\"\nstate = \"exited\"\nexit_code = 1\n[[step]]\naction = \"start_server\"\n[[step]]\naction = \"restart_server\"\nsignal = \"SIGKILL\"\n");
    let s = Scenario::from_str(&ok, "t.toml").unwrap();
    assert!(matches!(
        s.steps[2].action,
        StepAction::RestartServer(RestartServer {
            signal: Some(Signal::KILL),
            trigger: None,
            settle: None,
        })
    ));
    assert_diag(
        &format!("{HEAD}{server}[[step]]\naction = \"stop_server\"\nsignal = \"SIGQUITE\"\n"),
        8,
        10,
        &["unknown signal \"SIGQUITE\" (did you mean \"QUIT\"?); expected a name from `kill -l`"],
    );
    assert_diag(&format!("{HEAD}[server]\ncommand = []\nready = {{ tcp_port = 1 }}\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\n"), 4, 11, &["expected a non-empty array"]);
    assert_diag(
        &format!("{HEAD}[server]\ncommand = [\"x\"]\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\n"),
        3,
        1,
        &["[server]", "missing field \"ready\""],
    );
    assert_diag(&format!("{HEAD}[server]\ncommand = [\"x\"]\nready = {{ tcp_port = 70000 }}\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\n"), 5, 22, &["70000 is out of range; expected an integer from 1 to 65535"]);
}

#[test]
fn assert_listening_fields() {
    let server = "[server]\ncommand = [\"x\"]\nready = { tcp_port = 1 }\n";
    let ok = format!("{HEAD}{server}[[step]]\naction = \"assert_listening\"\non = \"loopback\"\n");
    let s = Scenario::from_str(&ok, "t.toml").unwrap();
    assert_eq!(
        s.steps[0].action,
        StepAction::AssertListening(AssertListening {
            on: ListenScope::Loopback
        })
    );
    assert_diag(
        &format!("{HEAD}{server}[[step]]\naction = \"assert_listening\"\non = \"public\"\n"),
        8,
        6,
        &["field \"on\": unknown scope \"public\"; expected \"loopback\""],
    );
    assert_diag(
        &format!("{HEAD}{server}[[step]]\naction = \"assert_listening\"\n"),
        6,
        1,
        &["missing field \"on\"", "\"loopback\""],
    );
    assert_diag(
        &format!("{HEAD}[[step]]\naction = \"assert_listening\"\non = \"loopback\"\n"),
        3,
        1,
        &["this action needs a [server] table"],
    );
    assert_diag(
        &format!("{HEAD}{server}[[step]]\naction = \"stop_server\"\n[[step]]\naction = \"assert_listening\"\non = \"loopback\"\n"),
        8,
        1,
        &["the server cannot be alive here: step 1 stopped it"],
    );
}

#[test]
fn expect_output_fields() {
    let server = "[server]\ncommand = [\"x\"]\nready = { tcp_port = 1 }\n";
    let ok = format!("{HEAD}{server}[[step]]\naction = \"expect_output\"\nregex = \"skip it\"\nabsent = true\n[[step]]\naction = \"expect_output\"\nregex = \"ready\"\nwithin = \"2s\"\n");
    let s = Scenario::from_str(&ok, "t.toml").unwrap();
    assert_eq!(
        s.steps[0].action,
        StepAction::ExpectOutput(ExpectOutput {
            regex: "skip it".into(),
            absent: true,
            within: std::time::Duration::ZERO,
        })
    );
    assert_eq!(
        s.steps[1].action,
        StepAction::ExpectOutput(ExpectOutput {
            regex: "ready".into(),
            absent: false,
            within: std::time::Duration::from_secs(2),
        })
    );
    assert_diag(
        &format!("{HEAD}{server}[[step]]\naction = \"expect_output\"\nregex = \"(unclosed\"\n"),
        8,
        9,
        &["field \"regex\""],
    );
    assert_diag(
        &format!("{HEAD}{server}[[step]]\naction = \"expect_output\"\nabsent = true\n"),
        6,
        1,
        &["missing field \"regex\""],
    );
    assert_diag(
        &format!("{HEAD}[[step]]\naction = \"expect_output\"\nregex = \"x\"\n"),
        3,
        1,
        &["this action needs a [server] table"],
    );
}

#[test]
fn protocol_limits() {
    let src = with_conn("[[step]]\naction = \"close\"\nconn = \"a\"\ncode = 1006\n");
    assert_diag(&src, 10, 8, &["1006 is reserved and must not be sent"]);
    let src = with_conn(&format!(
        "[[step]]\naction = \"close\"\nconn = \"a\"\ncode = 1000\nreason = \"{}\"\n",
        "r".repeat(124)
    ));
    assert_diag(
        &src,
        11,
        10,
        &["a close reason is at most 123 bytes, got 124"],
    );
    let src = with_conn(&format!(
        "[[step]]\naction = \"ping\"\nconn = \"a\"\npayload = \"{}\"\n",
        "p".repeat(126)
    ));
    assert_diag(
        &src,
        10,
        1,
        &["a ping payload is at most 125 bytes (RFC 6455 5.5), got 126"],
    );
    let src = with_conn("[[step]]\naction = \"expect_close\"\nconn = \"a\"\ncodes = [999]\n");
    assert_diag(&src, 10, 10, &["expected close codes from 1000 to 4999"]);
}

#[test]
fn connect_and_http_fields() {
    let src = format!(
        "{HEAD}[[step]]\naction = \"connect\"\nconn = \"a\"\nurl = \"http://127.0.0.1/\"\n"
    );
    assert_diag(&src, 6, 7, &["field \"url\": \"http://127.0.0.1/\" is not a valid URL here; expected it to start with ws:// or wss://"]);
    let src = format!("{HEAD}[[step]]\naction = \"connect\"\nconn = \"a\"\npath = \"/\"\nexpect = {{ status = 400, refused = true }}\n");
    assert_diag(
        &src,
        7,
        26,
        &["fields \"status\" and \"refused\" cannot be combined"],
    );
    let src = format!("{HEAD}[[step]]\naction = \"connect\"\nconn = \"a\"\npath = \"/\"\nexpect = {{ status = 400, protocol = \"x\" }}\n");
    assert_diag(
        &src,
        7,
        26,
        &["field \"protocol\" only applies to status 101"],
    );
    // A refusal may name a status class (RFC 6455 §4.2.2 leaves the exact status open).
    let src = format!("{HEAD}[[step]]\naction = \"connect\"\nconn = \"a\"\npath = \"/\"\nexpect = {{ status = \"4xx\" }}\n");
    let sc = Scenario::from_str(&src, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let StepAction::Connect(c) = &sc.steps[0].action else {
        panic!("connect")
    };
    match &c.expect {
        ConnectExpect::Status { status, .. } => {
            assert_eq!(*status, StatusExpect::Class(4));
            assert!(status.matches(403) && status.matches(400) && !status.matches(101));
            assert_eq!(status.to_string(), "4xx");
        }
        other => panic!("{other:?}"),
    }
    let src = format!("{HEAD}[[step]]\naction = \"connect\"\nconn = \"a\"\npath = \"/\"\nexpect = {{ status = \"4x\" }}\n");
    assert_diag(&src, 7, 21, &["\"4x\" is not a status class; expected an integer from 100 to 599 or one of \"1xx\" .. \"5xx\""]);
    let src = format!("{HEAD}[[step]]\naction = \"connect\"\nconn = \"a\"\npath = \"/\"\nexpect = {{ status = \"1xx\" }}\n");
    assert_diag(&src, 7, 12, &["\"1xx\" is not a refusal"]);
    let src = format!("{HEAD}[[step]]\naction = \"connect\"\nconn = \"a\"\npath = \"ws\"\n");
    assert_diag(&src, 6, 8, &["field \"path\": \"ws\" must start with '/'"]);
    let src = format!("{HEAD}[[step]]\naction = \"connect\"\nconn = \"a b\"\npath = \"/\"\n");
    assert_diag(&src, 5, 8, &["\"a b\" is not a valid connection name"]);
    let src = format!("{HEAD}[[step]]\naction = \"connect\"\nconn = \"a\"\npath = \"/\"\nheaders = {{ \"X-A\" = \"1\\r\\nX-B: 2\" }}\n");
    assert_diag(&src, 7, 13, &["header values may not contain CR or LF"]);
    let src = format!("{HEAD}[[step]]\naction = \"http\"\npath = \"/\"\nmethod = \"get\"\n");
    assert_diag(&src, 6, 10, &["\"get\" is not an HTTP method"]);
    let src = format!("{HEAD}[[step]]\naction = \"http\"\npath = \"/\"\ncapture = {{ t = {{ header = \"x\", group = 1 }} }}\n");
    assert_diag(
        &src,
        6,
        33,
        &["field \"group\" only applies to a regex capture"],
    );
    let src = with_conn("[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = {}\ncapture = { t = { header = \"x\" } }\n");
    assert_diag(
        &src,
        11,
        19,
        &["header captures only apply to HTTP responses"],
    );
    let src = with_conn(
        "[[step]]\naction = \"expect\"\nconn = \"a\"\nmessages = [{}]\ncapture = { t = \"x\" }\n",
    );
    assert_diag(
        &src,
        11,
        1,
        &["put capture = {...} inside the message entry"],
    );
}

#[test]
fn matcher_errors() {
    let src = with_conn(
        "[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = { type = \"connected\" }\n",
    );
    assert_diag(&src, 10, 18, &["unknown message type \"connected\"; expected text, binary or json (to match a JSON field named \"type\", write json = {type = \"connected\"})"]);
    let src = with_conn(
        "[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = { json = { n = \"$nubmer\" } }\n",
    );
    assert_diag(
        &src,
        10,
        18,
        &["at $.n: unknown wildcard \"$nubmer\"; expected one of $any, $string"],
    );
    let src = with_conn(
        "[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = { json = [\"$absent\"] }\n",
    );
    assert_diag(
        &src,
        10,
        18,
        &["at $[0]: \"$absent\" is only allowed as the value of an object key"],
    );
    let src = with_conn("[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = { jsn = {} }\n");
    assert_diag(&src, 10, 11, &["unknown field \"jsn\" (did you mean \"json\"?); expected one of: type, text, regex, binary_hex, json, double_encoded"]);
    let src = with_conn(
        "[[step]]\naction = \"expect\"\nconn = \"a\"\nmatch = { json = { t = 2024-01-01 } }\n",
    );
    assert_diag(
        &src,
        10,
        24,
        &["TOML datetimes have no JSON form; quote it as a string"],
    );
    let src = with_conn("[[step]]\naction = \"rpc\"\nconn = \"a\"\nrequest = { method = \"x\" }\n");
    assert_diag(
        &src,
        10,
        11,
        &["the request has no id at $.id ($: no key \"id\")"],
    );
}

#[test]
fn all_problems_are_reported_in_file_order() {
    let src = format!("{HEAD}[[step]]\naction = \"sleep\"\nfor = \"x\"\n[[step]]\naction = \"nope\"\n[[step]]\naction = \"send\"\nconn = \"z\"\ntext = \"${{u}}\"\n");
    let e = errors(&src);
    let lines: Vec<u32> = e.diagnostics().iter().map(|d| d.location.line).collect();
    assert_eq!(lines, vec![5, 7, 10, 11], "{e}");
    assert_eq!(e.first().location.line, 5);
    assert_eq!(e.to_string().lines().count(), 4);
}

#[test]
fn io_errors_name_the_file() {
    let e = Scenario::from_file(Path::new("/nonexistent/dir/x.toml")).unwrap_err();
    assert_eq!(e.first().kind, DiagnosticKind::Io);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/dir/x.toml: cannot read the file"),
        "{e}"
    );
    let dir = std::env::temp_dir().join(format!("wsspec-scenario-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("latin1.toml");
    std::fs::write(&bad, b"[scenario]\nname = \"caf\xe9\"\n").unwrap();
    let e = Scenario::from_file(&bad).unwrap_err();
    assert!(
        e.to_string()
            .contains("the file is not UTF-8 (byte offset 22)"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn defaults_are_applied() {
    let src = with_conn("[[step]]\naction = \"expect\"\nconn = \"a\"\nmessages = [{ text = \"x\" }]\n[[step]]\naction = \"expect_close\"\nconn = \"a\"\n");
    let s = Scenario::from_str(&src, "t.toml").unwrap();
    assert_eq!(s.deadline, DEFAULT_DEADLINE);
    let StepAction::Connect(c) = &s.steps[0].action else {
        panic!()
    };
    assert_eq!(c.method, "GET");
    assert!(c.answer_pings);
    assert_eq!(c.within, DEFAULT_WITHIN);
    assert_eq!(
        c.expect,
        ConnectExpect::Upgrade {
            protocol: None,
            headers: None
        }
    );
    let StepAction::Expect(e) = &s.steps[1].action else {
        panic!()
    };
    assert!(matches!(e.what, ExpectWhat::All { ordered: true, .. }));
    assert!(!e.skip_unmatched);
    let StepAction::ExpectClose(ec) = &s.steps[2].action else {
        panic!()
    };
    assert!(ec.codes.is_empty() && ec.allow_messages);
}

#[test]
fn docs_error_examples_are_real() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-format.md"),
    )
    .expect("docs/scenario-format.md");
    let head = "[scenario]\nname = \"t\"\n";
    let cases = [
        with_conn(
            "[[step]]\naction = \"expect\"\nconn = \"a\"\nwithin = \"2 seconds\"\nmatch = {}\n",
        ),
        format!("{head}[[step]]\naction = \"send\"\nconn = \"hmr\"\ntext = \"x\"\n"),
    ];
    for src in cases {
        let e = errors(&src).to_string();
        assert!(doc.contains(&e), "doc lacks the real message:\n{e}");
    }
}

#[test]
fn send_repeat_builds_large_messages_and_rejects_misuse() {
    use wsspec::scenario::{Scenario, SendPayload, StepAction};
    let ok = "[scenario]\nname = \"r\"\n\n[[step]]\naction = \"connect\"\nconn = \"a\"\nurl = \"ws://127.0.0.1:1/\"\n\n[[step]]\naction = \"send\"\nconn = \"a\"\ntext = \"ab\"\nrepeat = 3\n";
    let scn = Scenario::from_str(ok, "r.toml").unwrap();
    match &scn.steps[1].action {
        StepAction::Send(s) => assert_eq!(s.payload, SendPayload::Text("ababab".into())),
        other => panic!("{other:?}"),
    }
    let json = ok.replace("text = \"ab\"", "json = { a = 1 }");
    let err = Scenario::from_str(&json, "r.toml").unwrap_err().to_string();
    assert!(
        err.contains("r.toml:13:1") && err.contains("applies to text and binary_hex only"),
        "{err}"
    );
    let huge = ok.replace("repeat = 3", "repeat = 40000000");
    let err = Scenario::from_str(&huge, "r.toml").unwrap_err().to_string();
    assert!(err.contains("larger than 64 MiB"), "{err}");
}

#[test]
fn in_process_restart_triggers_and_any_signal() {
    let server = "[server]\ncommand = [\"x\"]\nready = { tcp_port = 1 }\n";
    let step = |body: &str| format!("{HEAD}{server}[[step]]\naction = \"restart_server\"\n{body}");
    // Every form parses; a template is checked when the step runs.
    for (text, want) in [
        ("signal:SIGUSR2", Trigger::Signal(Signal::USR2)),
        (
            "http:/__restart",
            Trigger::Http {
                method: "POST".into(),
                target: Address::Path("/__restart".into()),
            },
        ),
        (
            "http:GET http://127.0.0.1:9/x",
            Trigger::Http {
                method: "GET".into(),
                target: Address::Url("http://127.0.0.1:9/x".into()),
            },
        ),
        ("stdin:rs", Trigger::Stdin("rs".into())),
        ("command:touch a b", Trigger::Command("touch a b".into())),
    ] {
        assert_eq!(Trigger::parse(text), Ok(want));
        let s = Scenario::from_str(&step(&format!("trigger = {text:?}\n")), "t.toml").unwrap();
        let StepAction::RestartServer(r) = &s.steps[0].action else {
            panic!()
        };
        assert_eq!(r.trigger.as_ref().unwrap().written, text);
        assert_eq!(r.settle, None);
        // Only a stdin trigger (or one not known until it runs) needs a pipe.
        assert_eq!(
            s.steps[0].action.uses().stdin,
            text.starts_with("stdin:"),
            "{text}"
        );
    }
    let s = Scenario::from_str(
        &format!(
            "{HEAD}[vars]\nt = \"\"\n{server}[[step]]\naction = \"restart_server\"\ntrigger = \"${{t}}\"\nsettle = \"2s\"\n"
        ),
        "t.toml",
    )
    .unwrap();
    assert!(s.steps[0].action.uses().stdin);
    assert_diag(
        &step("trigger = \"signal:USR3\"\n"),
        8,
        11,
        &["field \"trigger\": trigger \"signal:USR3\": unknown signal \"USR3\"; expected signal:USR2, http:POST /path"],
    );
    assert_diag(
        &step("trigger = \"http:post /x\"\n"),
        8,
        11,
        &["method \"post\" is not an upper-case HTTP method"],
    );
    assert_diag(
        &step("trigger = \"reload\"\n"),
        8,
        11,
        &["trigger \"reload\": no kind before ':'"],
    );
    assert_diag(
        &step("signal = \"USR2\"\ntrigger = \"stdin:rs\"\n"),
        9,
        1,
        &["fields \"signal\" and \"trigger\" cannot be combined"],
    );
    assert_diag(
        &step("settle = \"1s\"\n"),
        8,
        1,
        &["field \"settle\" only applies with \"trigger\""],
    );
    // Any signal by name, for stop_server and [server] stop_signal too.
    let s = Scenario::from_str(
        &format!("{HEAD}[server]\ncommand = [\"x\"]\nready = {{ tcp_port = 1 }}\nstop_signal = \"SIGWINCH\"\n[[step]]\naction = \"stop_server\"\nsignal = \"USR1\"\n"),
        "t.toml",
    )
    .unwrap();
    assert_eq!(s.server.as_ref().unwrap().stop_signal, Signal::WINCH);
    assert!(matches!(
        s.steps[0].action,
        StepAction::StopServer(StopServer {
            signal: Some(Signal::USR1)
        })
    ));
    assert_eq!(Signal::USR2.to_string(), "SIGUSR2");
    assert_eq!(
        Signal::from_number(Signal::TERM.number()),
        Some(Signal::TERM)
    );
}

#[test]
fn needs_names_earlier_steps_and_what_they_open() {
    // A step with needs runs when exactly those were OK: they must be earlier steps,
    // and the connection it uses must be opened by one of them (or by a step they
    // need in turn).
    let two = format!("{HEAD}[[step]]\nid = \"first\"\naction = \"connect\"\nconn = \"a\"\nurl = \"ws://127.0.0.1:1/\"\n[[step]]\nid = \"second\"\naction = \"connect\"\nconn = \"b\"\nurl = \"ws://127.0.0.1:1/\"\n");
    let s = Scenario::from_str(
        &format!("{two}[[step]]\naction = \"send\"\nconn = \"a\"\ntext = \"x\"\nneeds = [\"first\"]\n[[step]]\naction = \"sleep\"\nfor = \"1s\"\nneeds = []\n"),
        "t.toml",
    )
    .unwrap();
    assert_eq!(s.steps[2].needs, Some(vec!["first".to_string()]));
    assert_eq!(s.steps[3].needs, Some(vec![]));
    assert_eq!(s.steps[0].needs, None);
    // Step 2 (no needs) depends on every step before it, so needing it covers step 1.
    Scenario::from_str(
        &format!(
            "{two}[[step]]\naction = \"send\"\nconn = \"a\"\ntext = \"x\"\nneeds = [\"second\"]\n"
        ),
        "t.toml",
    )
    .unwrap();
    assert_diag(
        &format!(
            "{two}[[step]]\naction = \"send\"\nconn = \"b\"\ntext = \"x\"\nneeds = [\"first\"]\n"
        ),
        17,
        1,
        &["connection \"b\" is opened by step 2, which this step's needs do not include"],
    );
    assert_diag(
        &format!("{two}[[step]]\naction = \"sleep\"\nfor = \"1s\"\nneeds = [\"secnd\", \"c\"]\n[[step]]\nid = \"c\"\naction = \"sleep\"\nfor = \"1s\"\n"),
        16,
        10,
        &["field \"needs\": no earlier step has id \"secnd\" (did you mean \"second\"?)"],
    );
    assert_diag(
        &format!("{two}[[step]]\naction = \"sleep\"\nfor = \"1s\"\nneeds = [\"secnd\", \"c\"]\n[[step]]\nid = \"c\"\naction = \"sleep\"\nfor = \"1s\"\n"),
        16,
        19,
        &["no earlier step has id \"c\""],
    );
    // A capture seen by a step with needs comes from a step it needs.
    assert_diag(
        &format!("{two}[[step]]\nid = \"cap\"\naction = \"capture\"\nfrom = \"message\"\nconn = \"a\"\nwhole = true\ninto = \"v\"\n[[step]]\naction = \"send\"\nconn = \"b\"\ntext = \"${{v}}\"\nneeds = [\"second\"]\n"),
        23,
        8,
        &["undefined variable \"v\" (step 3 captures it, but this step's needs do not include that step)"],
    );
}
