//! The two verdicts of a fuzzing case, computed from what the fuzzer observed.
//!
//! This is Autobahn's grading (reference sections 1.4 and 1.5) as pure functions so that
//! every rule can be unit-tested on synthetic observations:
//!
//! * behaviour: the received events must equal one expected list exactly (an unsolicited
//!   pong or a second echo matches nothing), then the case overrides apply;
//! * close: first matching rule of "handshake never completed → FAILED", "wrong closer →
//!   FAILED", "clean required but not clean → UNCLEAN", "server code present and not
//!   allowed → WRONG CODE" (a missing code always passes), "kit had to drop TCP → FAILED BY
//!   CLIENT", else OK.
//!
//! The extra checks (`x.*`) reuse this with [`Rules::close_feeds_behavior`], which makes a
//! failed close a failed check, since they have no separate close column to show it in.

use super::spec::{Expectation, ExpectedClose, Obs};
use crate::report::{CloseVerdict, Verdict};

/// What the fuzzer saw on one connection (Autobahn's protocol state at connection loss).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// The opening handshake completed.
    pub opened: bool,
    /// Recorded events in arrival order.
    pub received: Vec<Obs>,
    /// The server sent more than the kit records; the list is incomplete and matches nothing.
    pub overflow: bool,
    /// The kit sent the first close frame.
    pub closed_by_me: bool,
    /// A close frame came from the server and TCP ended without a kit timeout.
    pub was_clean: bool,
    /// The kit closed TCP itself.
    pub dropped_by_me: bool,
    /// Code in the server's close frame.
    pub remote_close_code: Option<u16>,
    /// Behaviour set by a 9.x message handler.
    pub handler_verdict: Option<Verdict>,
    /// Text frames the kit itself transmitted (10.1.1 self-check).
    pub sent_text_frames: usize,
    /// Continuation frames the kit itself transmitted.
    pub sent_cont_frames: usize,
}

/// Both verdicts and the reasons behind them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// Autobahn `behavior`.
    pub behavior: Verdict,
    /// Autobahn `behaviorClose`.
    pub close: CloseVerdict,
    /// Short explanations, most important first.
    pub why: Vec<String>,
}

/// The close verdict (reference section 1.5).
pub fn close_verdict(exp: &ExpectedClose, obs: &Observation) -> CloseVerdict {
    if !obs.opened {
        return CloseVerdict::Failed;
    }
    if obs.closed_by_me != exp.closed_by_me {
        return CloseVerdict::Failed;
    }
    if exp.require_clean && !obs.was_clean {
        return CloseVerdict::Unclean;
    }
    if let Some(code) = obs.remote_close_code {
        if !exp.codes.contains(&code) {
            return CloseVerdict::WrongCode;
        }
    }
    if obs.dropped_by_me {
        return CloseVerdict::FailedByClient;
    }
    CloseVerdict::Ok
}

fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Ok | Verdict::Informational | Verdict::Unimplemented => 0,
        Verdict::NonStrict => 1,
        Verdict::Failed => 2,
        Verdict::NotRun => 3,
    }
}

fn worse(a: Verdict, b: Verdict) -> Verdict {
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

fn closer(me: bool) -> &'static str {
    if me {
        "the kit"
    } else {
        "the server"
    }
}

/// Both verdicts (reference sections 1.4 and 1.5, in that order of overrides).
pub fn judge(exp: &Expectation, obs: &Observation) -> Judgement {
    let mut why = Vec::new();
    if exp.rules.informational {
        why.push("the RFC leaves this behaviour open; recorded only".into());
        return Judgement {
            behavior: Verdict::Informational,
            close: CloseVerdict::Informational,
            why,
        };
    }
    if !obs.opened {
        why.push("the opening handshake did not complete".into());
        return Judgement {
            behavior: Verdict::Failed,
            close: CloseVerdict::Failed,
            why,
        };
    }
    let close = close_verdict(&exp.close, obs);
    let mut behavior = Verdict::Failed;
    if exp.handler.is_some() {
        match obs.handler_verdict {
            Some(v) => behavior = v,
            None => why.push("no complete echo before the case timer fired".into()),
        }
    } else if obs.overflow {
        why.push("the server sent more events than the kit records".into());
    } else {
        match exp.outcomes.iter().find(|(_, list)| *list == obs.received) {
            Some((v, _)) => behavior = *v,
            None => why.push("received events match no expected list".into()),
        }
    }
    if exp.rules.wrong_endpoint_fatal && obs.closed_by_me != exp.close.closed_by_me {
        behavior = Verdict::Failed;
        why.push(format!(
            "{} sent the first close, {} was expected to (fatal in this case)",
            closer(obs.closed_by_me),
            closer(exp.close.closed_by_me)
        ));
    }
    if exp.rules.wrong_code_fails && close == CloseVerdict::WrongCode {
        behavior = Verdict::Failed;
        why.push(format!(
            "close code {} not in {:?} (WRONG CODE fails close-handling cases)",
            obs.remote_close_code.unwrap_or_default(),
            exp.close.codes
        ));
    }
    if exp.rules.close_feeds_behavior {
        match close {
            CloseVerdict::Unclean if exp.rules.unclean_grade.is_some() => {
                let g = exp.rules.unclean_grade.unwrap_or(Verdict::Failed);
                behavior = worse(behavior, g);
                why.push(format!("closing handshake {}", close.label()));
            }
            CloseVerdict::Failed | CloseVerdict::Unclean | CloseVerdict::FailedByClient => {
                behavior = Verdict::Failed;
                why.push(format!("closing handshake {}", close.label()));
            }
            CloseVerdict::WrongCode => {
                let g = exp.rules.wrong_code_grade.unwrap_or(Verdict::Failed);
                behavior = worse(behavior, g);
                why.push(format!(
                    "close code {} not in {:?}",
                    obs.remote_close_code.unwrap_or_default(),
                    exp.close.codes
                ));
            }
            _ => {}
        }
    }
    if let Some((text, cont)) = exp.rules.self_check {
        if (obs.sent_text_frames, obs.sent_cont_frames) != (text, cont) {
            behavior = Verdict::Failed;
            why.push(format!(
                "kit self-check: sent {} text and {} continuation frames, expected {text} and {cont}",
                obs.sent_text_frames, obs.sent_cont_frames
            ));
        }
    }
    if why.is_empty() && close != CloseVerdict::Ok {
        why.push(close_reason(&exp.close, obs, close));
    }
    Judgement {
        behavior,
        close,
        why,
    }
}

fn close_reason(exp: &ExpectedClose, obs: &Observation, close: CloseVerdict) -> String {
    match close {
        CloseVerdict::Failed => format!(
            "{} sent the first close, {} was expected to",
            closer(obs.closed_by_me),
            closer(exp.closed_by_me)
        ),
        CloseVerdict::Unclean => {
            "no clean close: no close frame from the server, or TCP not closed in time".into()
        }
        CloseVerdict::WrongCode => format!(
            "close code {} not in {:?}",
            obs.remote_close_code.unwrap_or_default(),
            exp.codes
        ),
        CloseVerdict::FailedByClient => {
            "the kit had to close TCP; the server should have (RFC 6455 §7.1.1)".into()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::spec::{ExpectedClose, Handler, Rules};
    use super::*;

    fn clean_normal() -> Observation {
        Observation {
            opened: true,
            closed_by_me: true,
            was_clean: true,
            remote_close_code: Some(1000),
            ..Default::default()
        }
    }

    fn fail_fast_ok() -> Observation {
        Observation {
            opened: true,
            closed_by_me: false,
            was_clean: true,
            remote_close_code: Some(1002),
            ..Default::default()
        }
    }

    #[test]
    fn exact_event_match() {
        let e = Expectation::ok(vec![Obs::text("Hello")], ExpectedClose::normal());
        let mut o = clean_normal();
        o.received = vec![Obs::text("Hello")];
        let j = judge(&e, &o);
        assert_eq!((j.behavior, j.close), (Verdict::Ok, CloseVerdict::Ok));
        // Same bytes but binary: no match.
        o.received = vec![Obs::binary("Hello")];
        assert_eq!(judge(&e, &o).behavior, Verdict::Failed);
        // Extra pong: no match (pitfall 2).
        o.received = vec![Obs::text("Hello"), Obs::pong("")];
        assert_eq!(judge(&e, &o).behavior, Verdict::Failed);
        // Second echo: no match.
        o.received = vec![Obs::text("Hello"), Obs::text("Hello")];
        assert_eq!(judge(&e, &o).behavior, Verdict::Failed);
        // Overflowed list never matches.
        o.received = vec![Obs::text("Hello")];
        o.overflow = true;
        assert_eq!(judge(&e, &o).behavior, Verdict::Failed);
    }

    #[test]
    fn non_strict_list() {
        let e = Expectation::ok_or_non_strict(
            vec![Obs::text("Hello, world!")],
            vec![],
            ExpectedClose::peer(&[1002]),
        );
        let mut o = fail_fast_ok();
        o.received = vec![Obs::text("Hello, world!")];
        assert_eq!(judge(&e, &o).behavior, Verdict::Ok);
        o.received = vec![];
        assert_eq!(judge(&e, &o).behavior, Verdict::NonStrict);
        o.received = vec![Obs::text("Hello, world!"), Obs::pong("")];
        assert_eq!(judge(&e, &o).behavior, Verdict::Failed);
    }

    #[test]
    fn missing_close_code_always_passes() {
        let e = ExpectedClose::peer(&[1002]);
        let mut o = fail_fast_ok();
        o.remote_close_code = None;
        assert_eq!(close_verdict(&e, &o), CloseVerdict::Ok);
        // Abrupt TCP drop by the server in a fail-fast case is fine.
        o.was_clean = false;
        assert_eq!(close_verdict(&e, &o), CloseVerdict::Ok);
        // A present, unlisted code is WRONG CODE.
        o.remote_close_code = Some(1000);
        assert_eq!(close_verdict(&e, &o), CloseVerdict::WrongCode);
    }

    #[test]
    fn close_rule_order() {
        let normal = ExpectedClose::normal();
        // Rule 0: never opened.
        assert_eq!(
            close_verdict(&normal, &Observation::default()),
            CloseVerdict::Failed
        );
        // Rule 1: wrong endpoint beats everything after it.
        let mut o = clean_normal();
        o.closed_by_me = false;
        o.remote_close_code = Some(4321);
        o.dropped_by_me = true;
        assert_eq!(close_verdict(&normal, &o), CloseVerdict::Failed);
        // Rule 2: unclean before wrong code.
        let mut o = clean_normal();
        o.was_clean = false;
        o.remote_close_code = Some(1002);
        assert_eq!(close_verdict(&normal, &o), CloseVerdict::Unclean);
        // Rule 3 before rule 4.
        let mut o = clean_normal();
        o.remote_close_code = Some(1002);
        o.dropped_by_me = true;
        assert_eq!(close_verdict(&normal, &o), CloseVerdict::WrongCode);
        // Rule 4: clean but the kit had to drop TCP.
        let mut o = clean_normal();
        o.dropped_by_me = true;
        assert_eq!(close_verdict(&normal, &o), CloseVerdict::FailedByClient);
    }

    #[test]
    fn server_keeping_tcp_open_after_its_close_is_failed_by_client() {
        // Fail-fast case: the server sent close 1002, the kit replied, the server never
        // closed TCP, the kill timer made the kit drop it.
        let e = Expectation::ok(vec![], ExpectedClose::peer(&[1002]));
        let mut o = fail_fast_ok();
        o.dropped_by_me = true;
        let j = judge(&e, &o);
        assert_eq!(j.behavior, Verdict::Ok);
        assert_eq!(j.close, CloseVerdict::FailedByClient);
    }

    #[test]
    fn non_reacting_server_is_wrong_endpoint() {
        // Pitfall 4: the kill timer makes the kit the closer.
        let e = Expectation::ok(vec![], ExpectedClose::peer(&[1002]));
        let o = Observation {
            opened: true,
            closed_by_me: true,
            was_clean: true,
            remote_close_code: Some(1001),
            ..Default::default()
        };
        let j = judge(&e, &o);
        assert_eq!(j.close, CloseVerdict::Failed);
        // Without the fatal flag the behaviour stays as the events say (Autobahn).
        assert_eq!(j.behavior, Verdict::Ok);
        let fatal = e.clone().with_rules(Rules {
            wrong_endpoint_fatal: true,
            ..Default::default()
        });
        assert_eq!(judge(&fatal, &o).behavior, Verdict::Failed);
    }

    #[test]
    fn utf8_fail_fast_wrong_code_is_not_fatal_for_behaviour() {
        // 6.x invalid payload answered with 1002 instead of 1007: behaviour OK, close WRONG CODE.
        let e = Expectation::ok(vec![], ExpectedClose::peer(&[1007])).with_rules(Rules {
            wrong_endpoint_fatal: true,
            ..Default::default()
        });
        let j = judge(&e, &fail_fast_ok());
        assert_eq!(
            (j.behavior, j.close),
            (Verdict::Ok, CloseVerdict::WrongCode)
        );
    }

    #[test]
    fn wrong_code_fails_category_7() {
        let e = Expectation::ok(vec![], ExpectedClose::me(&[1002], false)).with_rules(Rules {
            wrong_code_fails: true,
            ..Default::default()
        });
        let j = judge(&e, &clean_normal()); // server answered 1000
        assert_eq!(
            (j.behavior, j.close),
            (Verdict::Failed, CloseVerdict::WrongCode)
        );
        let mut o = clean_normal();
        o.remote_close_code = Some(1002);
        assert_eq!(judge(&e, &o).behavior, Verdict::Ok);
        // Empty close reply or a TCP drop is fine.
        o.remote_close_code = None;
        o.was_clean = false;
        assert_eq!(judge(&e, &o).close, CloseVerdict::Ok);
    }

    #[test]
    fn informational_overrides_everything() {
        let e = Expectation::ok(vec![Obs::text("x")], ExpectedClose::normal()).with_rules(Rules {
            informational: true,
            ..Default::default()
        });
        let j = judge(&e, &Observation::default());
        assert_eq!(
            (j.behavior, j.close),
            (Verdict::Informational, CloseVerdict::Informational)
        );
    }

    #[test]
    fn staged_utf8_markers() {
        // 6.4.x: OK = [timeout A], NON-STRICT = [A, B], fatal wrong endpoint.
        let e = crate::suite::autobahn::cat6::staged_utf8_expectation();
        let mut o = fail_fast_ok();
        o.remote_close_code = Some(1007);
        o.received = vec![Obs::Timeout("A".into())];
        assert_eq!(judge(&e, &o).behavior, Verdict::Ok);
        o.received = vec![Obs::Timeout("A".into()), Obs::Timeout("B".into())];
        assert_eq!(judge(&e, &o).behavior, Verdict::NonStrict);
        o.received = vec![];
        assert_eq!(judge(&e, &o).behavior, Verdict::Failed);
        // Never failed: the kit's kill timer closed, events [A, B] match NON-STRICT, but the
        // wrong endpoint is fatal.
        o.received = vec![Obs::Timeout("A".into()), Obs::Timeout("B".into())];
        o.closed_by_me = true;
        o.remote_close_code = Some(1001);
        let j = judge(&e, &o);
        assert_eq!(
            (j.behavior, j.close),
            (Verdict::Failed, CloseVerdict::Failed)
        );
    }

    #[test]
    fn limits_cases_use_the_handler_verdict() {
        let e = Expectation {
            outcomes: vec![],
            close: ExpectedClose::normal(),
            rules: Rules::default(),
            handler: Some(Handler::FirstMessage {
                binary: false,
                len: 65536,
            }),
        };
        let mut o = clean_normal();
        assert_eq!(judge(&e, &o).behavior, Verdict::Failed);
        o.handler_verdict = Some(Verdict::Ok);
        assert_eq!(judge(&e, &o).behavior, Verdict::Ok);
        // A server refusing big messages with 1009 closes first: behaviour stays FAILED and
        // the close verdict is FAILED (wrong endpoint).
        let o = fail_fast_ok();
        let j = judge(&e, &o);
        assert_eq!(
            (j.behavior, j.close),
            (Verdict::Failed, CloseVerdict::Failed)
        );
    }

    #[test]
    fn self_check_of_the_kit() {
        let e = Expectation::ok(vec![Obs::text("x")], ExpectedClose::normal()).with_rules(Rules {
            self_check: Some((1, 50)),
            ..Default::default()
        });
        let mut o = clean_normal();
        o.received = vec![Obs::text("x")];
        o.sent_text_frames = 1;
        o.sent_cont_frames = 50;
        assert_eq!(judge(&e, &o).behavior, Verdict::Ok);
        o.sent_cont_frames = 49;
        assert_eq!(judge(&e, &o).behavior, Verdict::Failed);
    }

    #[test]
    fn extra_checks_feed_the_close_into_the_behaviour() {
        let e = Expectation::ok(vec![], ExpectedClose::peer(&[1002])).with_rules(Rules {
            close_feeds_behavior: true,
            wrong_code_grade: Some(Verdict::NonStrict),
            ..Default::default()
        });
        let mut o = fail_fast_ok();
        assert_eq!(judge(&e, &o).behavior, Verdict::Ok);
        o.remote_close_code = Some(1000);
        assert_eq!(judge(&e, &o).behavior, Verdict::NonStrict);
        o.remote_close_code = Some(1002);
        o.dropped_by_me = true;
        assert_eq!(judge(&e, &o).behavior, Verdict::Failed);
        let mut o = fail_fast_ok();
        o.closed_by_me = true;
        assert_eq!(judge(&e, &o).behavior, Verdict::Failed);
    }
}
