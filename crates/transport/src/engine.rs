//! What the Engine.IO transports share: the open packet a handshake is answered with, and the
//! reference server's JSON errors (`{"code":N,"message":"…"}`), whose statuses the codes
//! themselves carry ([`ErrorCode::http_status`]).

use bytes::Bytes;
use ferrio_eio::{ErrorCode, Handshake, Revision};
use ferrio_hub::{EngineOpen, Refusal};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};

use crate::body::{Body, full};

/// The `open` packet of a new session, announcing the upgrades it may make: the answer to a
/// polling handshake, or the first message of a WebSocket opened directly.
pub fn engine_open_packet(open: EngineOpen, revision: Revision, websocket_upgrade: bool) -> String {
    let upgrades: &[&str] = if websocket_upgrade {
        &["websocket"]
    } else {
        &[]
    };
    let millis =
        |duration: std::time::Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    let handshake = match revision {
        Revision::V3 => Handshake::v3(
            open.sid,
            upgrades.iter().copied(),
            millis(open.ping_interval),
            millis(open.ping_timeout),
        ),
        Revision::V4 => Handshake::v4(
            open.sid,
            upgrades.iter().copied(),
            millis(open.ping_interval),
            millis(open.ping_timeout),
            open.max_payload as u64,
        ),
    };
    // An `open` packet is text: every revision writes it as `0` and the JSON.
    format!("0{}", handshake.to_json())
}

/// The reference server's answer to a refused request: `{"code":N,"message":"…"}`.
pub fn engine_error(code: ErrorCode) -> Response<Body> {
    engine_error_with(code, code.message())
}

fn engine_error_with(code: ErrorCode, message: &str) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from(code.json_body_with_message(message))));
    *response.status_mut() =
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The answer to an Engine.IO handshake the hub refused: the origin or the authorization
/// hook as the reference's `Forbidden`, the node's limits as `503`.
pub fn engine_refusal(refusal: &Refusal) -> Response<Body> {
    match refusal {
        Refusal::BadOrigin | Refusal::Unauthorized | Refusal::AuthorizationError(_) => {
            engine_error(ErrorCode::Forbidden)
        }
        other => {
            let mut response = engine_error_with(ErrorCode::BadRequest, &other.to_string());
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response
        }
    }
}
