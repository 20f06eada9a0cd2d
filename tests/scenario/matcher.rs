//! JSON patterns and message matchers: every wildcard, the subset/array/contains
//! rules, and the mismatch explanations reports print.

use serde_json::{json, Value};
use wsspec::scenario::*;

fn pat(p: Value) -> JsonPattern {
    JsonPattern::compile(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn why(p: Value, actual: Value) -> String {
    pat(p)
        .check(&actual)
        .expect_err("expected a mismatch")
        .to_string()
}

#[test]
fn objects_match_as_subsets() {
    assert!(pat(json!({})).matches(&json!({"a": 1})));
    assert!(pat(json!({"a": 1})).matches(&json!({"a": 1, "b": 2})));
    assert!(pat(json!({"a": {"b": "x"}})).matches(&json!({"a": {"b": "x", "c": null}})));
    assert_eq!(
        why(json!({"a": 1}), json!({"b": 1})),
        "$.a: missing key (expected 1)"
    );
    assert_eq!(
        why(json!({"a": {"b": 1}}), json!({"a": 5})),
        "$.a: expected an object, got 5"
    );
    // Key order and extra keys never matter.
    assert!(pat(json!({"b": 2, "a": 1})).matches(&json!({"a": 1, "c": 3, "b": 2})));
}

#[test]
fn arrays_match_element_wise_with_equal_length() {
    assert!(pat(json!([1, "a"])).matches(&json!([1, "a"])));
    assert_eq!(why(json!([1, 2]), json!([2, 1])), "$[0]: expected 1, got 2");
    assert_eq!(
        why(json!(["remote"]), json!(["remote", "host"])),
        "$: expected an array of 1 element, got 2: [\"remote\",\"host\"]"
    );
    assert_eq!(why(json!([]), json!({})), "$: expected an array, got {}");
    assert!(pat(json!([{"a": 1}])).matches(&json!([{"a": 1, "b": 2}])));
}

#[test]
fn contains_matches_distinct_elements_in_any_order() {
    let p = pat(json!({"$contains": ["host", "remote"]}));
    assert!(p.matches(&json!(["remote", "x", "host"])));
    assert!(!p.matches(&json!(["remote"])));
    assert!(pat(json!({"$contains": []})).matches(&json!([])));
    // A wildcard must not steal the only element a literal needs.
    let p = pat(json!({"$contains": ["$string", "a"]}));
    assert!(p.matches(&json!(["a", "b"])));
    assert!(!p.matches(&json!(["a"])));
    let e = why(json!({"$contains": [{"t": "x"}]}), json!([{"t": "y"}]));
    assert!(
        e.starts_with(
            "$: no distinct element matches $contains[0] (an object); got [{\"t\":\"y\"}]"
        ),
        "{e}"
    );
    assert_eq!(
        why(json!({"$contains": [1]}), json!("s")),
        "$: expected an array, got \"s\""
    );
    assert!(JsonPattern::compile(&json!({"$contains": 1}))
        .unwrap_err()
        .message
        .contains("must be an array"));
    assert!(JsonPattern::compile(&json!({"$contains": [], "x": 1}))
        .unwrap_err()
        .message
        .contains("only key"));
}

#[test]
fn scalars_compare_by_value() {
    assert!(pat(json!(1)).matches(&json!(1.0)));
    assert!(pat(json!(0)).matches(&json!(-0.0)));
    assert!(pat(json!(u64::MAX)).matches(&json!(u64::MAX)));
    assert!(!pat(json!(1)).matches(&json!("1")));
    assert!(!pat(json!(true)).matches(&json!(1)));
    assert_eq!(
        why(json!("js-update"), json!("css-update")),
        "$: expected \"js-update\", got \"css-update\""
    );
}

#[test]
fn type_wildcards() {
    let cases = [
        (
            "$any",
            vec![json!(null), json!(1), json!("s"), json!([]), json!({})],
            vec![],
        ),
        ("$string", vec![json!("")], vec![json!(1), json!(null)]),
        ("$number", vec![json!(1), json!(1.5)], vec![json!("1")]),
        ("$bool", vec![json!(false)], vec![json!(0)]),
        ("$null", vec![json!(null)], vec![json!(0), json!("")]),
        ("$object", vec![json!({})], vec![json!([])]),
        ("$array", vec![json!([1])], vec![json!({})]),
    ];
    for (w, good, bad) in cases {
        let p = pat(json!(w));
        for g in good {
            assert!(p.matches(&g), "{w} should match {g}");
        }
        for b in bad {
            assert!(!p.matches(&b), "{w} should not match {b}");
        }
    }
    assert_eq!(
        why(json!({"data": "$number"}), json!({"data": "ten"})),
        "$.data: expected a number, got \"ten\""
    );
    // "$any" still requires the key.
    assert_eq!(
        why(json!({"k": "$any"}), json!({})),
        "$.k: missing key (expected any value)"
    );
}

#[test]
fn regex_wildcard() {
    let p = pat(json!({"hash": "$regex:^[0-9a-f]{20}$"}));
    assert!(p.matches(&json!({"hash": "4c5b106bc8f238124b4d"})));
    assert_eq!(
        why(
            json!({"hash": "$regex:^[0-9a-f]{20}$"}),
            json!({"hash": "xyz"})
        ),
        "$.hash: expected a string matching /^[0-9a-f]{20}$/, got \"xyz\""
    );
    // Unanchored patterns search.
    assert!(pat(json!("$regex:ready")).matches(&json!("VITE ready in 170 ms")));
    assert!(!pat(json!("$regex:1")).matches(&json!(1)));
    let e = JsonPattern::compile(&json!({"a": ["$regex:("]})).unwrap_err();
    assert_eq!(e.path, "$.a[0]");
    assert!(e.message.starts_with("invalid regex \"(\""), "{e}");
}

#[test]
fn absent_wildcard() {
    let p = pat(json!({"triggeredBy": "$absent", "path": "/index.html"}));
    assert!(p.matches(&json!({"type": "full-reload", "path": "/index.html"})));
    assert_eq!(
        why(
            json!({"triggeredBy": "$absent"}),
            json!({"triggeredBy": "<root>/src/plain.js"})
        ),
        "$.triggeredBy: expected no such key, got \"<root>/src/plain.js\""
    );
    // Only as an object member (or for optional values).
    assert!(JsonPattern::compile(&json!("$absent")).is_err());
    assert!(JsonPattern::compile(&json!(["$absent"])).is_err());
    let opt = JsonPattern::compile_optional(&json!("$absent")).unwrap();
    assert!(opt.check_optional(None).is_ok());
    assert_eq!(
        opt.check_optional(Some(&json!("vite-hmr")))
            .unwrap_err()
            .to_string(),
        "$: expected no such key, got \"vite-hmr\""
    );
    let opt = JsonPattern::compile_optional(&json!("vite-hmr")).unwrap();
    assert_eq!(
        opt.check_optional(None).unwrap_err().to_string(),
        "$: missing (expected \"vite-hmr\")"
    );
}

#[test]
fn dollar_escapes_and_unknown_wildcards() {
    assert!(pat(json!("$$any")).matches(&json!("$any")));
    assert!(!pat(json!("$$any")).matches(&json!("other")));
    let e = JsonPattern::compile(&json!({"n": "$nubmer"})).unwrap_err();
    assert_eq!(e.path, "$.n");
    assert!(
        e.message
            .contains("unknown wildcard \"$nubmer\"; expected one of $any, $string, $number"),
        "{e}"
    );
    assert!(
        e.message.contains("write \"$$nubmer\" for a literal"),
        "{e}"
    );
    // Strings with '$' elsewhere are literal.
    assert!(pat(json!("a$b")).matches(&json!("a$b")));
}

#[test]
fn mismatch_paths_quote_odd_keys_and_truncate_values() {
    assert_eq!(
        why(json!({"a.b": 1}), json!({"a.b": 2})),
        "$[\"a.b\"]: expected 1, got 2"
    );
    let long = "x".repeat(500);
    let e = why(json!("short"), json!(long));
    assert!(e.len() < 200, "{e}");
    assert!(e.contains("… (502 bytes)"), "{e}");
}

// ----- message-level matchers -----------------------------------------------------

fn m(matcher: MessageMatcher) -> CompiledMatcher {
    matcher.compile().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn message_type_conditions() {
    let text = m(MessageMatcher {
        kind: Some(MessageType::Text),
        ..Default::default()
    });
    assert!(text.matches(MessageRef::Text("x")));
    assert_eq!(
        text.check(MessageRef::Binary(&[1, 2]))
            .unwrap_err()
            .to_string(),
        "message: expected a text message, got binary (2 bytes)"
    );
    let bin = m(MessageMatcher {
        kind: Some(MessageType::Binary),
        ..Default::default()
    });
    assert!(bin.matches(MessageRef::Binary(b"")));
    assert!(bin
        .check(MessageRef::Text("x"))
        .unwrap_err()
        .reason
        .starts_with("expected a binary message, got text \"x\""));
    let js = m(MessageMatcher {
        kind: Some(MessageType::Json),
        ..Default::default()
    });
    assert!(js.matches(MessageRef::Text("[1]")));
    assert!(js
        .check(MessageRef::Text("Invalid CONNECT ID."))
        .unwrap_err()
        .reason
        .starts_with("expected JSON, got \"Invalid CONNECT ID.\""));
    assert!(!js.matches(MessageRef::Binary(b"{}")));
    // An empty matcher matches anything.
    assert!(m(MessageMatcher::default()).matches(MessageRef::Binary(&[0xff])));
}

#[test]
fn text_regex_bytes_json_conditions() {
    let t = m(MessageMatcher {
        text: Some("Invalid CONNECT ID.".into()),
        ..Default::default()
    });
    assert!(t.matches(MessageRef::Text("Invalid CONNECT ID.")));
    assert_eq!(
        t.check(MessageRef::Text("ok")).unwrap_err().to_string(),
        "message: expected text \"Invalid CONNECT ID.\", got \"ok\""
    );
    // Text conditions read binary payloads as UTF-8 unless the type forbids it.
    assert!(t.matches(MessageRef::Binary(b"Invalid CONNECT ID.")));
    assert!(t
        .check(MessageRef::Binary(&[0xff]))
        .unwrap_err()
        .reason
        .starts_with("expected UTF-8 text"));
    let r = m(MessageMatcher {
        regex: Some("^\\{\"type\":\"(hot|ok)\"".into()),
        ..Default::default()
    });
    assert!(r.matches(MessageRef::Text("{\"type\":\"ok\"}")));
    assert!(!r.matches(MessageRef::Text("{\"type\":\"hash\"}")));
    let b = m(MessageMatcher {
        bytes: Some(vec![0xde, 0xad]),
        ..Default::default()
    });
    assert!(b.matches(MessageRef::Binary(&[0xde, 0xad])));
    assert_eq!(
        b.check(MessageRef::Binary(&[0xde]))
            .unwrap_err()
            .to_string(),
        "message: expected bytes dead, got de"
    );
    let j = m(MessageMatcher::json(
        json!({"type": "update", "updates": [{"type": "js-update"}]}),
    ));
    let got = r#"{"type":"update","updates":[{"type":"css-update","timestamp":1,"path":"/src/linked.css?direct"}]}"#;
    assert_eq!(
        j.check(MessageRef::Text(got)).unwrap_err().to_string(),
        "$.updates[0].type: expected \"js-update\", got \"css-update\""
    );
    assert!(j
        .check(MessageRef::Text("{"))
        .unwrap_err()
        .reason
        .starts_with("expected JSON, got \"{\""));
    // All conditions must hold.
    let both = m(MessageMatcher {
        kind: Some(MessageType::Text),
        json: Some(json!({"a": 1})),
        ..Default::default()
    });
    assert!(both.matches(MessageRef::Text("{\"a\":1}")));
    assert!(!both.matches(MessageRef::Binary(b"{\"a\":1}")));
}

#[test]
fn double_encoded_json() {
    // The broker's exit notice: a JSON string literal whose content is JSON.
    let frame = r#""{\"type\":\"Log\",\"kind\":\"BrokerExitLog\",\"time\":1,\"ignoreVerbose\":false,\"level\":\"LOG\"}""#;
    let d = m(MessageMatcher {
        double_encoded: true,
        json: Some(json!({"type": "Log", "kind": "BrokerExitLog"})),
        ..Default::default()
    });
    assert!(d.matches(MessageRef::Text(frame)));
    assert!(d
        .check(MessageRef::Text(r#"{"type":"Log"}"#))
        .unwrap_err()
        .reason
        .starts_with("expected a JSON string holding JSON (double-encoded)"));
    assert!(d
        .check(MessageRef::Text(r#""not json""#))
        .unwrap_err()
        .reason
        .starts_with("expected the JSON string to hold JSON"));
    // Without the flag the same frame is just a string.
    let plain = m(MessageMatcher::json(json!("$string")));
    assert!(plain.matches(MessageRef::Text(frame)));
}

#[test]
fn matchers_resolve_variables_with_types() {
    let mut vars = Vars::new();
    vars.set(
        "last_sent",
        r#"{"type":"custom","event":"vite:invoke","data":{"id":"send:1","n":7}}"#,
    );
    vars.set("tar", "http://127.0.0.1:40001/@mf-types.zip");
    let mm = MessageMatcher {
        regex: Some("^\\{".into()),
        json: Some(
            json!({"data": {"n": "${last_sent.data.n}", "tar": "${tar}", "label": "n=${last_sent.data.n}"}}),
        ),
        ..Default::default()
    };
    let c = mm.resolve(&vars).unwrap();
    assert!(c.matches(MessageRef::Text(
        r#"{"data":{"n":7,"tar":"http://127.0.0.1:40001/@mf-types.zip","label":"n=7"}}"#
    )));
    // The typed substitution means "7" (a string) no longer matches.
    assert!(!c.matches(MessageRef::Text(
        r#"{"data":{"n":"7","tar":"http://127.0.0.1:40001/@mf-types.zip","label":"n=7"}}"#
    )));
    let missing = MessageMatcher::json(json!({"id": "${nope}"}));
    assert_eq!(
        missing.resolve(&vars).unwrap_err().to_string(),
        "undefined variable \"nope\""
    );
    // A substitution that produces a bad pattern is reported as such.
    vars.set("w", "$nubmer");
    let bad = MessageMatcher::json(json!({"n": "${w}"}));
    assert!(matches!(bad.resolve(&vars), Err(MatcherError::Pattern(_))));
}
