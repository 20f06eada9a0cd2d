#![no_main]
//! Fuzz target `utf8_pieces`: see `wsspec_testkit::fast::utf8_pieces` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_testkit::fast::utf8_pieces(data);
});
