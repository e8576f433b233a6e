//! How packets look in a transport's responses, and how its POST bodies carry them.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

/// The framing of one HTTP transport: pure functions, no I/O.
pub trait Wire: Send + 'static {
    /// The `Content-Type` of the GET answer.
    fn content_type(&self) -> HeaderValue;

    /// What one write carries for `payload` — one packet, or a framed payload of several
    /// (docs/protocol.md §3.10): a whole poll answer, or one chunk of a stream.
    fn wrap(&self, payload: String) -> Bytes;

    /// The payload text of a POST body. Most transports carry it raw; jsonp-polling wraps it
    /// in a form field.
    fn unwrap_post(&self, body: Bytes) -> Result<String, String> {
        String::from_utf8(body.into()).map_err(|_| "body is not UTF-8".to_owned())
    }

    /// Headers the transport adds to its GET answers.
    fn headers(&self, _headers: &mut HeaderMap) {}
}

/// A transport whose GET stays open and carries every batch as it comes (htmlfile,
/// xhr-multipart).
pub trait StreamWire: Wire {
    /// What the stream starts with.
    fn prelude(&self) -> Bytes;

    /// What the stream ends with when the server ends it.
    fn epilogue(&self) -> Bytes {
        Bytes::new()
    }

    /// Whether `payload` can be written on this stream; if not, the stream ends and the
    /// packets wait for the next one (a multipart boundary that the text happens to contain).
    fn carries(&self, _payload: &str) -> bool {
        true
    }

    /// Whether the client closing the stream ends the session at once (htmlfile, as the
    /// reference does) rather than starting the close timeout (xhr-multipart).
    fn ends_session_when_closed(&self) -> bool;
}
