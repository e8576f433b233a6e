#![no_main]
//! One packet (docs/protocol.md §3.1): decoding, and re-encoding what decodes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrio_protocol::fuzzing::packet(data));
