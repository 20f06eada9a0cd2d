//! wsspec: a WebSocket (RFC 6455) conformance test kit.
//!
//! Data flows one way, from the command line to the report:
//!
//! * [`cli`]: the `wsspec` command line: arguments to options, one error type to exit codes.
//! * [`suite`]: the RFC 6455 server suite (Autobahn's cases and ids, plus wsspec's own checks).
//! * [`scenario`]: the scenario language of the scripted peer and its engine.
//! * [`server`]: the built-in reference echo server, its fault switches, hostile servers and
//!   the json-pubsub application `wsspec fuzz` proves itself on.
//! * [`peer`]: the tokio wire peer that sends exactly what a test asks for and records what
//!   comes back, and its small HTTP/1.1 client.
//! * [`codec`]: sans-IO opening handshake and frame codec (no IO, no clock).
//! * [`report`]: the report model and its writers (terminal, JSON, JUnit, HTML).
//! * [`clients`]: testing WebSocket clients (`wsspec clients`): the suite's cases played
//!   from the server side, driven by `--exec` or by Autobahn's driver protocol.
//! * [`target_fuzz`]: `wsspec fuzz`, mutation fuzzing of the server under test.

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod cli;
pub mod clients;
pub mod codec;
pub mod peer;
pub mod report;
pub mod scenario;
pub mod server;
pub mod suite;
pub mod target_fuzz;
