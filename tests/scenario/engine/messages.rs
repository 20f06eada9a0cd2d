//! The engine against WebSocket servers: the built-in reference echo server and small
//! scripted tungstenite servers. Connect, send, expect (ordered, unordered, ignore,
//! skip), silence, close codes (1000, 1005, 1006), captures and substitution, rpc and
//! expect_ack correlation, ping latency, the server's pings, NOT RUN after a failure.
//!
//! Each test is a scenario file in `tests/scenarios/messages/` with its expected
//! verdicts at the top (see `tests/common/scenario.rs`). `deflate_connect_and_compressed_echo`
//! offers permessage-deflate and sends compressed messages.

use crate::common::scenario::{check_scenario, scenario_tests};

scenario_tests!("messages":
    mismatch_stops_the_run,
    keep_going_runs_the_rest,
    unordered_sets_ignore_and_skip,
    ordered_set_out_of_order_fails,
    silence_holds_and_breaks,
    close_codes_1000_1005_1006,
    rpc_and_acks_correlate,
    a_server_that_never_acks,
    ping_latency_is_recorded,
    handshake_expectations,
    deadline_ends_a_wait,
    expect_ping_heartbeat,
    needs_runs_independent_checks,
    a_close_that_never_comes_counts_pings,
    keep_going_keeps_needs,
    deflate_connect_and_compressed_echo;
    echo_round_trip,
);

#[tokio::test]
async fn echo_round_trip() {
    let (r, _) = check_scenario("messages/echo_round_trip").await;
    // The transcript of the send or expect step shows the frame that came back.
    assert!(
        r.cases[1..3]
            .iter()
            .flat_map(|c| &c.transcript)
            .any(|e| e.conn == "a" && e.kind == "frame" && e.summary.contains("hello")),
        "{:#?}",
        r.cases.iter().map(|c| &c.transcript).collect::<Vec<_>>()
    );
}
