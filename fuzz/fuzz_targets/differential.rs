#![no_main]
//! Fuzz target `differential`: see `wsspec_testkit::targets::differential` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_testkit::targets::differential(data);
});
