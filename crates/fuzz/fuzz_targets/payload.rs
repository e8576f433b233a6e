#![no_main]
//! A POST body (docs/protocol.md §3.9): unframing, then decoding every packet.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrio_protocol::fuzzing::payload(data));
