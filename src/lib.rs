//! wsspec: a WebSocket (RFC 6455) conformance test kit.
//!
//! * [`codec`]: sans-IO opening handshake and frame codec (no IO, no clock).
//! * [`report`]: the report model and its writers (terminal, JSON, JUnit, HTML).

pub mod codec;
pub mod report;
pub mod scenario;
