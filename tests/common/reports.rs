//! Hand-built reports for the `report_*` tests.

use wsspec::report::{CaseReport, CloseVerdict, Direction, RunReport, TranscriptEntry, Verdict};

/// A case with the given id and verdicts and a two-entry transcript.
pub fn case(id: &str, verdict: Verdict, close: Option<CloseVerdict>) -> CaseReport {
    CaseReport {
        id: id.to_string(),
        title: format!("title of {id}"),
        rfc: "RFC 6455 §5.2".to_string(),
        verdict,
        close_verdict: close,
        remote_close_code: close.map(|_| 1000),
        duration_ms: 12.5,
        sent: format!("text message for {id}"),
        expected: "echo of the message".to_string(),
        observed: format!("observed for {id}"),
        transcript: vec![
            TranscriptEntry {
                t_ms: 0.25,
                conn: "main".to_string(),
                dir: Direction::Sent,
                kind: "frame".to_string(),
                summary: "text fin=1 len=5 \"Hello\"".to_string(),
                hex: Some("818548656c6c6f".to_string()),
            },
            TranscriptEntry {
                t_ms: 1.5,
                conn: "main".to_string(),
                dir: Direction::Event,
                kind: "tcp-eof".to_string(),
                summary: "server closed TCP".to_string(),
                hex: None,
            },
        ],
    }
}

/// A report for `agent` holding `cases`.
pub fn report(agent: &str, cases: Vec<CaseReport>) -> RunReport {
    RunReport {
        tool: "wsspec".to_string(),
        version: "0.1.0".to_string(),
        schema: wsspec::report::SCHEMA_VERSION,
        kind: "rfc6455".to_string(),
        agent: agent.to_string(),
        target: "ws://127.0.0.1:9001".to_string(),
        started: "2025-01-01T00:00:00Z".to_string(),
        duration_ms: 1234.5,
        strict: false,
        transport: "http/1.1".into(),
        cases,
    }
}

/// A mixed report covering every verdict, several categories and out-of-order ids.
pub fn mixed(agent: &str) -> RunReport {
    use CloseVerdict as C;
    use Verdict as V;
    report(
        agent,
        vec![
            case("6.10", V::Ok, Some(C::Ok)),
            case("6.9", V::Failed, Some(C::Ok)),
            case("1.1.1", V::Ok, Some(C::Ok)),
            case("3.2", V::NonStrict, Some(C::Ok)),
            case("7.13.1", V::Informational, Some(C::Informational)),
            case("12.1.1", V::Unimplemented, None),
            case("h.1", V::NotRun, None),
            case("7.5.1", V::Ok, Some(C::Unclean)),
            case("7.9.1", V::Ok, Some(C::WrongCode)),
            case("vite/token-policy#3", V::Ok, None),
        ],
    )
}

/// A temporary directory under the target dir, removed and recreated.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let base = option_env!("CARGO_TARGET_TMPDIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("wsspec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
