#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vault::fuzzing::ssh_public_key(data));
