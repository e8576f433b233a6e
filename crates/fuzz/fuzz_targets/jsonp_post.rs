#![no_main]
//! A jsonp-polling POST body (docs/protocol.md §5.5): the form field `d`, then its payload.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrio_jsonp_polling::fuzzing::post_body(data));
