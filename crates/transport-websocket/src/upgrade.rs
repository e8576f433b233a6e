//! RFC 6455 upgrade of `/socket.io/1/websocket/{sid}`.

use ferrio_hub::{AttachError, AttachMode, Hub};
use ferrio_protocol::TransportKind;
use ferrio_transport::{Body, TransportError, empty};
use http::header::{
    CONNECTION, HeaderMap, HeaderValue, ORIGIN, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tracing::{debug, info};

use crate::pump::{WsLimits, pump, refuse_unknown_session};

/// Answers a WebSocket upgrade for session `sid` with `101` and spawns the pump on the
/// upgraded connection. An unknown session still gets its `101`, then `7:::1+0` and a close
/// (spec §5.0). A request that is not a valid upgrade, or comes from a refused origin, gets
/// `400`/`403` instead of the reference's bare TCP close (spec §8 #8).
pub fn upgrade<B>(
    hub: &Hub,
    sid: &str,
    mut request: Request<B>,
    kind: TransportKind,
    limits: WsLimits,
) -> Response<Body>
where
    B: Send + 'static,
{
    let headers = request.headers();
    if request.method() == Method::OPTIONS {
        return ferrio_transport::preflight(headers);
    }
    if request.method() != Method::GET {
        return TransportError::MethodNotAllowed.into_response();
    }
    if !is_websocket_upgrade(headers) {
        return TransportError::UpgradeRequired.into_response();
    }
    let version_ok = headers
        .get(SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches!(v.trim(), "13" | "8" | "7"));
    let Some(key) = headers.get(SEC_WEBSOCKET_KEY).filter(|_| version_ok) else {
        let mut response = TransportError::UpgradeRequired.into_response();
        response
            .headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return response;
    };
    let origin = headers
        .get(ORIGIN)
        .or_else(|| headers.get("sec-websocket-origin"))
        .and_then(|v| v.to_str().ok());
    if !hub.config().origins.allows(origin, None) {
        info!(sid, origin, "websocket upgrade refused: bad origin");
        return TransportError::BadOrigin.into_response();
    }
    let accept = derive_accept_key(key.as_bytes());
    let attachment = match hub.attach(sid, kind, AttachMode::Stream) {
        Ok(attachment) => Some(attachment),
        Err(AttachError::UnknownSession) => None,
        Err(AttachError::TransportDisabled) => {
            return TransportError::TransportDisabled.into_response();
        }
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let hub = hub.clone();
    let sid = sid.to_owned();
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                debug!(sid, %error, "websocket upgrade did not complete");
                return;
            }
        };
        let socket = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(limits.tungstenite()),
        )
        .await;
        match attachment {
            Some(attachment) => pump(socket, &hub, attachment).await,
            None => refuse_unknown_session(socket, &sid).await,
        }
    });
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Whether the request asks to switch to WebSocket (`Upgrade: websocket`, any case).
pub fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
        })
}
