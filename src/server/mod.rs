//! Servers the kit runs itself, all on 127.0.0.1 and all bounded in time and size.
//!
//! * [`reference`](mod@reference): the strictly conforming RFC 6455 echo server (`wsspec serve`), with
//!   [`faults`] that break it on purpose so the suite can prove it catches each bug class.
//! * [`hostile`]: misbehaving servers for robustness tests of the kit's own client side.
//! * [`app_pubsub`]: a JSON publish/subscribe application with plantable faults, the
//!   target `wsspec fuzz` proves itself on.

pub mod app_pubsub;
pub mod faults;
pub mod hostile;
pub mod reference;
mod serving;
mod session;

pub use faults::{Faults, UnknownFault};
pub use hostile::{
    spawn_hostile, spawn_hostile_with, Hostile, HostileHandle, HostileLimits, HostileStats,
};
pub use reference::{bind, serve_stream, RunningServer, ServerConfig};
