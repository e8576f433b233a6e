//! Fuzz targets for the text clients send this crate: packets, framed payloads, request paths
//! and queries. Each target takes arbitrary bytes, must not panic on any of them, and asserts
//! what the codec promises beyond that. The libFuzzer targets in `crates/fuzz` and the corpus
//! replay in `tests/fuzz_corpus.rs` both call these functions, so what CI replays is exactly
//! what ran under the fuzzer.
//!
//! Bytes become text with `from_utf8_lossy`: the transports refuse bodies and messages that are
//! not UTF-8 before this crate sees them, and the lossy conversion turns the fuzzer's invalid
//! bytes into U+FFFD, the payload framing's own mark, instead of wasting the input.

use crate::payload::utf16_len;
use crate::route::callback_index;
use crate::{Route, TransportKind, decode, frame, parse_query, unframe};

/// A fuzz target: the name of its libFuzzer binary and corpus folder, and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target of this crate.
pub const TARGETS: &[Target] = &[("packet", packet), ("payload", payload), ("route", route)];

/// The resource the route target parses paths under: the default one.
const RESOURCE: &str = "/socket.io";

const MARK: char = '\u{FFFD}';

/// One packet, as a WebSocket message or one part of a POST body carries it.
pub fn packet(data: &[u8]) {
    check_packet(&String::from_utf8_lossy(data));
}

/// A POST body: a bare packet or a `U+FFFD length U+FFFD` framed payload.
pub fn payload(data: &[u8]) {
    check_payload(&String::from_utf8_lossy(data));
}

/// A request target, `path[?query]`, as the gateway routes it and the handshake reads its
/// query.
pub fn route(data: &[u8]) {
    check_route(&String::from_utf8_lossy(data));
}

/// Decodes `text`; a packet that decodes must decode the same after the server re-encodes it,
/// since every packet the server relays is re-encoded (docs/protocol.md §3).
pub fn check_packet(text: &str) {
    let packet = match decode(text) {
        Ok(packet) => packet,
        Err(error) => {
            // Receivers log the error: writing it must not fail either.
            let _ = error.to_string();
            return;
        }
    };
    let wire = packet.encode();
    assert_eq!(
        decode(&wire).as_ref(),
        Ok(&packet),
        "{text:?} decodes to {packet:?}, whose encoding {wire:?} decodes to something else"
    );
}

/// Unframes `body` as a POST's payload, then decodes every packet in it. Framing the parts
/// again must give them back wherever the encoder may be handed them: several parts, or one
/// that does not start with the mark (an encoded packet starts with its type digit).
pub fn check_payload(body: &str) {
    let parts = match unframe(body) {
        Ok(parts) => parts,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    for part in &parts {
        assert!(is_within(body, part), "{part:?} is not a slice of the body");
        assert_eq!(utf16_len(part), part.encode_utf16().count(), "{part:?}");
        check_packet(part);
    }
    if parts.len() != 1 || parts[0].starts_with(|c: char| c != MARK) {
        let framed = frame(&parts);
        assert_eq!(
            unframe(&framed).as_ref(),
            Ok(&parts),
            "{body:?} unframes to {parts:?}, which frame to {framed:?}"
        );
    }
}

/// Routes `target` (`path[?query]`) under the default resource and reads its query as the
/// handshake and jsonp-polling do.
pub fn check_route(target: &str) {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let has_disconnect_key =
        || query.is_some_and(|q| parse_query(q).iter().any(|(key, _)| key == "disconnect"));
    match Route::parse(RESOURCE, path, query) {
        Route::Foreign => assert!(
            path.strip_prefix(RESOURCE)
                .is_none_or(|rest| !rest.is_empty() && !rest.starts_with('/')),
            "{path:?} is under {RESOURCE} but routed as foreign"
        ),
        Route::ForcedDisconnect { sid } => {
            assert!(is_segment_of(path, sid), "{sid:?} in {path:?}");
            assert!(has_disconnect_key(), "{target:?} has no disconnect key");
        }
        Route::Transport { transport, sid } => {
            assert!(is_segment_of(path, sid), "{sid:?} in {path:?}");
            assert!(!has_disconnect_key(), "{target:?} has a disconnect key");
            let name = transport.name();
            assert!(
                path.contains(&format!("/{name}/{sid}")),
                "{path:?} does not name {name}"
            );
        }
        Route::UnknownTransport { name, sid } => {
            assert!(is_segment_of(path, sid), "{sid:?} in {path:?}");
            assert!(name.parse::<TransportKind>().is_err(), "{name:?} is known");
        }
        Route::Welcome | Route::Static(_) | Route::UnsupportedProtocol | Route::Handshake => {}
    }
    for (_, value) in parse_query(query.unwrap_or_default()) {
        if let Some(index) = callback_index(&value) {
            // The index is reflected into script: only the digits it was read from may pass.
            let digits = value.trim_start_matches('0');
            let digits = if digits.is_empty() { "0" } else { digits };
            assert_eq!(index.to_string(), digits, "callback index of {value:?}");
        }
    }
}

/// Whether `inner` is a slice of `outer`, not a copy.
fn is_within(outer: &str, inner: &str) -> bool {
    let outer = outer.as_bytes().as_ptr_range();
    let inner = inner.as_bytes().as_ptr_range();
    outer.start <= inner.start && inner.end <= outer.end
}

/// Whether `sid` is a non-empty path segment sliced from `path`.
fn is_segment_of(path: &str, sid: &str) -> bool {
    !sid.is_empty() && !sid.contains('/') && is_within(path, sid)
}
