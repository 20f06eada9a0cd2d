#![no_main]
//! Fuzz target `fast_vs_reference`: see `wsspec_testkit::fast::fast_vs_reference` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_testkit::fast::fast_vs_reference(data);
});
