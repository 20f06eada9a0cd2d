#![no_main]
//! Fuzz target `inflate_bounded`: see `wsspec_testkit::deflate::inflate_bounded` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_testkit::deflate::inflate_bounded(data);
});
