#![no_main]
//! Fuzz target `handshake_request`: see `wsspec_testkit::targets::handshake_request` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_testkit::targets::handshake_request(data);
});
