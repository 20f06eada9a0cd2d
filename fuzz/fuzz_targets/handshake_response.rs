#![no_main]
//! Fuzz target `handshake_response`: see `wsspec_testkit::targets::handshake_response` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_testkit::targets::handshake_response(data);
});
