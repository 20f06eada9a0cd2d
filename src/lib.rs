//! wsspec: a WebSocket (RFC 6455) conformance test kit.
//!
//! * [`codec`]: sans-IO opening handshake and frame codec (no IO, no clock).
//! * [`peer`]: the tokio wire peer that sends exactly what a test asks for and records what comes back.
//! * [`server`]: the built-in reference echo server, its fault switches and hostile servers.
//! * [`scenario`]: the scenario language of the scripted peer.
//! * [`report`]: the report model and its writers (terminal, JSON, JUnit, HTML).

pub mod cli;
pub mod codec;
pub mod peer;
pub mod report;
pub mod scenario;
pub mod server;
pub mod suite;
