#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vault::fuzzing::payload_roundtrip(data));
