//! How one batch of packets looks in a transport's response.

use bytes::Bytes;
use http::HeaderMap;

/// The framing of one HTTP transport: pure functions, no I/O.
pub trait Wire: Send + 'static {
    /// The response `Content-Type`.
    fn content_type(&self) -> &'static str;

    /// The response body for `payload`: one packet, or a framed payload of several
    /// (spec §3.10).
    fn wrap(&self, payload: String) -> Bytes;

    /// The packet text of a POST body. Most transports carry it raw; jsonp-polling wraps it
    /// in a form field.
    fn unwrap_post(&self, body: Bytes) -> Result<String, String> {
        String::from_utf8(body.into()).map_err(|_| "body is not UTF-8".to_owned())
    }

    /// Headers the transport adds to every answer.
    fn headers(&self, _headers: &mut HeaderMap) {}
}
