#![no_main]
//! A request target (docs/protocol.md §1.2, §1.3): routing, and the query the handshake reads.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrio_protocol::fuzzing::route(data));
