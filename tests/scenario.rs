//! The scenario language and its engine, one binary (one link) for the whole area.
//!
//! * `scenario::{parse, matcher, vars}`: loading scenario files and their diagnostics,
//!   message matchers, variables and durations; pure.
//! * `scenario::engine::*`: runs against the reference server, scripted servers, server
//!   processes and the real `wsspec scenario` binary; the table-driven ones read
//!   `tests/scenarios/<area>/` (a scenario file next to its expected verdicts).
//!
//! `cargo test --test scenario engine::lifecycle::` runs one module. Tests of one binary
//! run side by side, so every server here binds an ephemeral 127.0.0.1 port and every time
//! bound leaves seconds of slack; heavier or tightly timed suites keep binaries of their own.

mod common;

mod scenario {
    mod matcher;
    mod parse;
    mod vars;

    mod engine {
        mod cli;
        mod flow;
        mod http;
        mod lifecycle;
        mod messages;
        mod server_role;
    }
}
