//! Transport errors and THE map from error to HTTP status: no other code in ferrio picks an
//! error status for a transport request.

use http::header::{ALLOW, CONNECTION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};

use crate::body::{Body, full};

/// Why a transport request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The transport segment names no transport ferrio has.
    #[error("unknown transport")]
    UnknownTransport,
    /// The transport exists but this server does not offer it (docs/protocol.md §8 #8: answered,
    /// not a bare TCP close).
    #[error("transport not enabled")]
    TransportDisabled,
    /// A method other than GET, POST or OPTIONS (docs/protocol.md §8 #9: answered, not left
    /// hanging).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than the configured limit (docs/protocol.md §8 #23).
    #[error("request body too large")]
    PayloadTooLarge,
    /// No byte of the body arrived for the body read timeout; what had arrived is let go and
    /// the connection closed.
    #[error("request body timed out")]
    BodyTimeout,
    /// The body frames more packets than one POST may carry (`max_packets_per_post`).
    #[error("too many packets in one request")]
    TooManyPackets,
    /// The body could not be read or is not a usable payload; the reason is logged.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The page's origin is not allowed to connect (WebSocket upgrades).
    #[error("origin not allowed")]
    BadOrigin,
    /// A WebSocket URL requested without a valid upgrade.
    #[error("websocket upgrade required")]
    UpgradeRequired,
    /// A WebSocket version ferrio does not speak; the answer names the one it prefers.
    #[error("unsupported websocket version")]
    UnsupportedWebSocketVersion,
    /// The server is shutting down: its sessions are over and it takes no new ones.
    #[error("server shutting down")]
    ShuttingDown,
    /// The node, or the client's address, has as many connections open as it may: this one is
    /// answered and closed.
    #[error("too many connections")]
    TooManyConnections,
}

impl TransportError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            TransportError::UnknownTransport
            | TransportError::TransportDisabled
            | TransportError::BadRequest(_)
            | TransportError::UpgradeRequired
            | TransportError::UnsupportedWebSocketVersion => StatusCode::BAD_REQUEST,
            TransportError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            TransportError::PayloadTooLarge | TransportError::TooManyPackets => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            TransportError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            TransportError::BadOrigin => StatusCode::FORBIDDEN,
            TransportError::ShuttingDown | TransportError::TooManyConnections => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The response: the status, and the error text as a short plain-text body. A stalled
    /// body and a refused connection also close the connection (the body's rest is never
    /// read; the connection must not be kept), and a refused connection says when to retry.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let version_hint = self == TransportError::UnsupportedWebSocketVersion;
        let closes = matches!(
            self,
            TransportError::BodyTimeout | TransportError::TooManyConnections
        );
        let retry_after = self == TransportError::TooManyConnections;
        let mut response = Response::new(full(self.to_string()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=UTF-8"),
        );
        if version_hint {
            headers.insert("sec-websocket-version", HeaderValue::from_static("13"));
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(ALLOW, HeaderValue::from_static("GET, POST, OPTIONS"));
        }
        if closes {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        if retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// The HTTP status of a refused handshake (docs/protocol.md §2.5): bad origin and refusal `403`, a
/// failed authorization hook `500`; a draining, full or rate-limited node, or one with too many
/// unconnected handshakes, `503` (with `Retry-After`); a query or headers over the bounds of
/// what a session keeps `414` and `431`.
pub fn refusal_status(refusal: &ferrio_hub::Refusal) -> StatusCode {
    match refusal {
        ferrio_hub::Refusal::BadOrigin | ferrio_hub::Refusal::Unauthorized => StatusCode::FORBIDDEN,
        ferrio_hub::Refusal::AuthorizationError(_) => StatusCode::INTERNAL_SERVER_ERROR,
        ferrio_hub::Refusal::Unavailable
        | ferrio_hub::Refusal::Full
        | ferrio_hub::Refusal::RateLimited(_)
        | ferrio_hub::Refusal::TooManyUnconnected(_) => StatusCode::SERVICE_UNAVAILABLE,
        ferrio_hub::Refusal::QueryTooLong => StatusCode::URI_TOO_LONG,
        ferrio_hub::Refusal::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    }
}
