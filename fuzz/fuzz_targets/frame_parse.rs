#![no_main]
//! Fuzz target `frame_parse`: see `wsspec_testkit::targets::frame_parse` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_testkit::targets::frame_parse(data);
});
