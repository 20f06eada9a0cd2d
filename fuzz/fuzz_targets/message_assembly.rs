#![no_main]
//! Fuzz target `message_assembly`: see `wsspec_testkit::targets::message_assembly` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_testkit::targets::message_assembly(data);
});
