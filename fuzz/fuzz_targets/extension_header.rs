#![no_main]
//! Fuzz target `extension_header`: see `wsspec_testkit::deflate::extension_header` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_testkit::deflate::extension_header(data);
});
