#![no_main]
//! A draft-76 client's byte stream (docs/protocol.md §5.2), read in pieces and whole.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrio_websocket::fuzzing::hixie76(data));
