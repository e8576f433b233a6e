#![no_main]
//! The draft-76 handshake keys and the Upgrade header (docs/protocol.md §5.1, §5.2).

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrio_websocket::fuzzing::handshake(data));
