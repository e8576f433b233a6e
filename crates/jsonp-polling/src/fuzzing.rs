//! The fuzz target for the body of a jsonp-polling POST: a form whose field `d` holds the
//! payload as a JSON string literal (docs/protocol.md §5.5). The libFuzzer target in
//! `crates/fuzz` and the corpus replay in `tests/fuzz_corpus.rs` both call it.

use bytes::Bytes;
use ferrio_protocol::fuzzing::{Target, check_payload};
use ferrio_transport::Wire;

use crate::JsonpWire;

/// Every target of this crate.
pub const TARGETS: &[Target] = &[("jsonp_post", post_body)];

/// A POST body. The payload it carries must come back from the form the 0.9 client would
/// write for it, and then goes the way of every POST's payload: unframed and decoded.
pub fn post_body(data: &[u8]) {
    let wire = JsonpWire::default();
    let Ok(payload) = wire.unwrap_post(Bytes::copy_from_slice(data)) else {
        return;
    };
    let literal = serde_json::Value::String(payload.clone()).to_string();
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("d", &literal)
        .finish();
    assert_eq!(
        wire.unwrap_post(Bytes::from(form)).as_ref(),
        Ok(&payload),
        "{payload:?} does not come back from its own form"
    );
    check_payload(&payload);
}
