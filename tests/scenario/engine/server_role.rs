//! The server role of the scenario engine: `listen`, `accept` (handshake assertions,
//! refusals, key freshness), client violations, `expect_reconnect` findings and the
//! client lifecycle (`start_client`, `assert_client`, stop at cleanup). The client
//! under test in these files is wsspec itself, running a scenario of
//! `tests/scenarios/server_role/peers/` as a client, so both roles check each other.

use crate::common::scenario::scenario_tests;

scenario_tests!("server_role":
    accept_checks_the_handshake,
    accept_reports_a_mismatch,
    refuse_then_accept,
    stale_key_is_a_finding,
    unmasked_client_frame_is_reported,
    never_comes_back,
);
