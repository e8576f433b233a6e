#![no_main]
//! An RFC 6455 client's byte stream (docs/protocol.md §5.1), read in pieces and whole.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrio_websocket::fuzzing::rfc6455(data));
