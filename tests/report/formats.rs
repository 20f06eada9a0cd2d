//! JSON round trip, JUnit structure and HTML site, on hand-built reports.

use crate::common::reports as fixtures;

use fixtures::{case, mixed, report, temp_dir};
use quick_junit::TestCaseStatus;
use wsspec::report::{
    read_json, write_html, write_json, write_junit, CloseVerdict, ReportError, Verdict,
};

#[test]
fn json_round_trip_is_lossless_and_stable() {
    let dir = temp_dir("json");
    let mut r = mixed("ws 8.18");
    r.strict = true;
    r.cases[0].transcript[0].summary = "quote \" backslash \\ nul \u{0} é".into();
    let path = dir.join("nested/report.json");
    write_json(&r, &path).unwrap();
    let back = read_json(&path).unwrap();
    assert_eq!(back, r);

    // Writing the same report twice gives byte-identical, pretty output.
    let first = std::fs::read_to_string(&path).unwrap();
    write_json(&back, &path).unwrap();
    let second = std::fs::read_to_string(&path).unwrap();
    assert_eq!(first, second);
    assert!(first.starts_with("{\n  \"tool\": \"wsspec\",\n"));
    assert!(first.ends_with("}\n"));
    assert!(first.contains("\"verdict\": \"NOT RUN\""));
    assert!(first.contains("\"close_verdict\": \"WRONG CODE\""));
    // Fields that are absent stay absent (schema: hex and remote_close_code are optional).
    assert!(!first.contains("\"hex\": null"));
    // No temporary file left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("nested"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn json_non_finite_times_still_read_back() {
    let dir = temp_dir("json-nan");
    let mut r = mixed("a");
    r.duration_ms = f64::NAN;
    r.cases[1].duration_ms = f64::INFINITY;
    let path = dir.join("r.json");
    write_json(&r, &path).unwrap();
    let back = read_json(&path).unwrap();
    assert_eq!(back.duration_ms, 0.0);
    assert_eq!(back.cases[1].duration_ms, 0.0);
    assert_eq!(back.cases[0].duration_ms, 12.5);
}

#[test]
fn json_read_errors_name_the_file() {
    let dir = temp_dir("json-err");
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"tool\": \"wsspec\",\n  \"schema\": 1,\n  oops\n}",
    )
    .unwrap();
    let err = read_json(&bad).unwrap_err();
    assert!(matches!(err, ReportError::Parse { line: 4, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("bad.json") && msg.contains("line 4"), "{msg}");

    let other = dir.join("other.json");
    std::fs::write(&other, r#"{"tool":"autobahn","schema":1}"#).unwrap();
    let err = read_json(&other).unwrap_err();
    assert!(matches!(err, ReportError::WrongTool { .. }), "{err:?}");
    assert!(err.to_string().contains("other.json"));

    let newer = dir.join("newer.json");
    std::fs::write(&newer, r#"{"tool":"wsspec","schema":99}"#).unwrap();
    let err = read_json(&newer).unwrap_err();
    assert!(
        matches!(err, ReportError::UnsupportedSchema { found: 99, .. }),
        "{err:?}"
    );

    let missing = dir.join("missing.json");
    let err = read_json(&missing).unwrap_err();
    assert!(matches!(err, ReportError::Io { .. }));
    assert!(err.to_string().contains("missing.json"));

    let incomplete = dir.join("incomplete.json");
    std::fs::write(
        &incomplete,
        r#"{"tool":"wsspec","schema":1,"kind":"rfc6455"}"#,
    )
    .unwrap();
    let err = read_json(&incomplete).unwrap_err();
    assert!(err.to_string().contains("missing field"), "{err}");
}

/// Counts (failures, skipped, successes) over all test cases of a parsed JUnit document.
fn statuses(xml: &str) -> (usize, usize, usize, quick_junit::Report) {
    let parsed = quick_junit::Report::deserialize_from_str(xml).expect("valid JUnit XML");
    let (mut f, mut s, mut ok) = (0, 0, 0);
    for suite in &parsed.test_suites {
        for tc in &suite.test_cases {
            match tc.status {
                TestCaseStatus::NonSuccess { .. } => f += 1,
                TestCaseStatus::Skipped { .. } => s += 1,
                TestCaseStatus::Success { .. } => ok += 1,
            }
        }
    }
    (f, s, ok, parsed)
}

#[test]
fn junit_counts_and_mapping() {
    let dir = temp_dir("junit");
    let r = mixed("ws 8.18");

    let lax = dir.join("lax.xml");
    write_junit(&r, &lax, false).unwrap();
    let xml = std::fs::read_to_string(&lax).unwrap();
    let (f, s, ok, parsed) = statuses(&xml);
    // FAILED 6.9 and close UNCLEAN 7.5.1 fail; UNIMPLEMENTED 12.1.1 and NOT RUN h.1 skip.
    assert_eq!((f, s, ok), (2, 2, 6), "{xml}");
    assert_eq!(parsed.failures, 2);
    assert_eq!(parsed.skipped, 2);
    assert_eq!(parsed.tests, 10);
    assert_eq!(xml.matches("<failure").count(), 2);
    assert_eq!(xml.matches("<skipped").count(), 2);

    // One suite per category, in id order.
    let names: Vec<&str> = parsed.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["1", "3", "6", "7", "12", "h", "vite"]);
    let six: Vec<&str> = parsed.test_suites[2]
        .test_cases
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(six, ["6.9 title of 6.9", "6.10 title of 6.10"]);

    // The failure message carries sent/expected/observed; system-out carries the transcript.
    let failed = &parsed.test_suites[2].test_cases[0];
    match &failed.status {
        TestCaseStatus::NonSuccess { message, .. } => {
            let m = message.as_ref().unwrap().as_str();
            assert!(m.starts_with("FAILED"), "{m}");
            assert!(m.contains("sent: text message for 6.9"), "{m}");
            assert!(m.contains("expected: echo of the message"), "{m}");
            assert!(m.contains("observed: observed for 6.9"), "{m}");
        }
        other => panic!("6.9 should fail, got {other:?}"),
    }
    let out = failed.system_out.as_ref().unwrap().as_str();
    assert!(out.contains("text fin=1 len=5"), "{out}");
    assert!(out.contains("81 85 48 65 6c 6c 6f"), "{out}");
    assert!(out.contains("server closed TCP"), "{out}");

    // INFORMATIONAL is a success with a note.
    let seven = &parsed.test_suites[3];
    let info = seven
        .test_cases
        .iter()
        .find(|t| t.name.as_str().starts_with("7.13.1"))
        .unwrap();
    assert!(matches!(info.status, TestCaseStatus::Success { .. }));
    assert!(info
        .system_out
        .as_ref()
        .unwrap()
        .as_str()
        .contains("INFORMATIONAL"));

    // Under strict, NON-STRICT 3.2 and close WRONG CODE 7.9.1 fail too.
    let strict = dir.join("strict.xml");
    write_junit(&r, &strict, true).unwrap();
    let (f, s, ok, _) = statuses(&std::fs::read_to_string(&strict).unwrap());
    assert_eq!((f, s, ok), (4, 2, 4));
}

#[test]
fn junit_survives_hostile_text() {
    let dir = temp_dir("junit-hostile");
    let mut c = case("9.1.1", Verdict::Failed, Some(CloseVerdict::Failed));
    c.observed = "]]></failure><script>\u{1b}[31m\u{0}\u{fffe} & \"".into();
    c.transcript[0].summary = "</system-out><evil/>".into();
    c.duration_ms = -5.0;
    let r = report("x", vec![c]);
    let path = dir.join("j.xml");
    write_junit(&r, &path, false).unwrap();
    let xml = std::fs::read_to_string(&path).unwrap();
    let (f, s, ok, parsed) = statuses(&xml);
    assert_eq!((f, s, ok), (1, 0, 0));
    assert!(!xml.contains("<script>"));
    assert!(!xml.contains("<evil/>"));
    let tc = &parsed.test_suites[0].test_cases[0];
    assert!(tc
        .system_out
        .as_ref()
        .unwrap()
        .as_str()
        .contains("</system-out><evil/>"));
}

#[test]
fn html_escapes_hostile_payloads() {
    let dir = temp_dir("html-escape");
    let mut c = case("1.1.1", Verdict::Failed, Some(CloseVerdict::Ok));
    let evil = "<script>alert(1)</script>";
    c.title = format!("title {evil}");
    c.observed = format!("observed {evil}");
    c.transcript[0].summary = format!("text \"{evil}\"");
    c.transcript[0].hex = Some("3c7363726970743e".into()); // "<script>"
    c.transcript[1].conn = "<img src=x onerror=alert(1)>".into();
    let mut r = report("<b>agent</b>", vec![c]);
    r.target = evil.into();
    write_html(&[r], &dir).unwrap();

    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let page_path = dir.join("cases/b-agent-b/1.1.1.html");
    let page = std::fs::read_to_string(&page_path).unwrap();
    for (name, html) in [("index", &index), ("case", &page)] {
        assert!(!html.contains("<script"), "{name} contains a raw <script");
        assert!(!html.contains("<img"), "{name} contains a raw <img");
        assert!(
            !html.contains("<b>agent"),
            "{name} contains raw agent markup"
        );
        assert!(
            html.contains("&lt;script&gt;"),
            "{name} lacks the escaped payload"
        );
    }
    // The hex dump's ASCII column is escaped too.
    assert!(page.contains("|&lt;script&gt;|"), "{page}");
    assert!(page.contains("3c 73 63 72 69 70 74 3e"));
    // Self-contained: inline style, no external references, no scripts.
    for html in [&index, &page] {
        assert!(html.contains("<style>"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<link"));
    }
    // The index links to the case page.
    assert!(index.contains("href=\"cases/b-agent-b/1.1.1.html\""));
}

#[test]
fn html_matrix_has_one_column_per_agent() {
    let dir = temp_dir("html-matrix");
    let a = mixed("autobahn-ref");
    let mut b = mixed("ws 8.18");
    b.cases.retain(|c| c.id != "6.9"); // b lacks 6.9
    b.cases.push(case("6.11", Verdict::Failed, None)); // only b has 6.11
    let c = report("third", vec![case("1.1.1", Verdict::NotRun, None)]);
    write_html(&[a, b, c], &dir).unwrap();
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();

    let thead = index
        .split("<thead>")
        .nth(1)
        .unwrap()
        .split("</thead>")
        .next()
        .unwrap();
    assert_eq!(thead.matches("<th>").count(), 4, "{thead}"); // case + 3 agents
    assert!(thead.contains("autobahn-ref") && thead.contains("ws 8.18") && thead.contains("third"));

    // Every case row has exactly one cell per agent.
    let tbody = index
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .split("</tbody>")
        .next()
        .unwrap();
    let rows: Vec<&str> = tbody.lines().filter(|l| l.starts_with("<tr")).collect();
    for row in &rows {
        assert_eq!(row.matches("<td").count(), 3, "{row}");
    }
    // 11 distinct ids and 8 categories (1, 3, 6, 7, 12, h, vite... plus none new) -> rows.
    let case_rows = rows.iter().filter(|r| r.contains("class=\"id\"")).count();
    assert_eq!(case_rows, 11);
    let cat_rows = rows.iter().filter(|r| r.contains("class=\"cat\"")).count();
    assert_eq!(cat_rows, 7);

    // Row order is numeric: 6.9 before 6.10 before 6.11 (in the matrix: the failing
    // list above it names failing cases only).
    let p9 = tbody.find(">6.9<").unwrap();
    let p10 = tbody.find(">6.10<").unwrap();
    let p11 = tbody.find(">6.11<").unwrap();
    assert!(p9 < p10 && p10 < p11);

    // Missing cells are marked absent; present ones link to per-agent pages that exist.
    let row_69 = rows.iter().find(|r| r.contains(">6.9<")).unwrap();
    assert_eq!(row_69.matches("v-absent").count(), 2, "{row_69}");
    assert!(index.contains("href=\"cases/ws-8-18/6.11.html\""));
    assert!(dir.join("cases/autobahn-ref/6.9.html").exists());
    assert!(dir.join("cases/ws-8-18/6.11.html").exists());
    assert!(!dir.join("cases/ws-8-18/6.9.html").exists());
    assert!(dir.join("cases/third/1.1.1.html").exists());
    // Scenario ids get a safe file name.
    assert!(dir
        .join("cases/ws-8-18/vite_2ftoken-policy_233.html")
        .exists());
    // Per-category counts appear in the category rows.
    let cat6 = rows.iter().find(|r| r.contains("id=\"cat-6\"")).unwrap();
    assert!(cat6.contains("1 FAILED") && cat6.contains("1 OK"), "{cat6}");
}

#[test]
fn html_case_page_shows_details_and_caps_hex() {
    let dir = temp_dir("html-page");
    let mut c = case("9.1.6", Verdict::Failed, Some(CloseVerdict::WrongCode));
    c.remote_close_code = Some(1002);
    c.transcript[0].hex = Some("ab".repeat(5000));
    let r = report("srv", vec![c]);
    write_html(&[r], &dir).unwrap();
    let page = std::fs::read_to_string(dir.join("cases/srv/9.1.6.html")).unwrap();
    for needle in [
        "title of 9.1.6",
        "RFC 6455 §5.2",
        "FAILED",
        "WRONG CODE",
        "1002",
        "text message for 9.1.6",
        "echo of the message",
        "observed for 9.1.6",
        "tcp-eof",
        "… 904 more bytes",
        "00000ff0",
    ] {
        assert!(page.contains(needle), "missing {needle:?}");
    }
    assert!(!page.contains("00001000"), "hex dump not capped at 4 KiB");
}

/// The JSON blocks in docs/report-schema.md, in order.
fn doc_json_blocks() -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/report-schema.md"
    ))
    .unwrap();
    doc.split("```json\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .collect()
}

#[test]
fn documented_examples_parse() {
    let blocks = doc_json_blocks();
    assert_eq!(blocks.len(), 2, "expected a baseline and a report example");
    let dir = temp_dir("doc-examples");

    let baseline = dir.join("baseline.json");
    std::fs::write(&baseline, &blocks[0]).unwrap();
    let b = wsspec::report::Baseline::load(&baseline).unwrap();
    assert_eq!(b.cases.len(), 4);

    let report = dir.join("report.json");
    std::fs::write(&report, &blocks[1]).unwrap();
    let r = read_json(&report).unwrap();
    assert_eq!(r.cases.len(), 2);
    assert_eq!(r.cases[0].verdict, Verdict::Failed);
    assert_eq!(r.cases[1].close_verdict, None);
    assert_eq!(r.cases[0].transcript[1].hex, None);
}
