//! WebSocket upgrades of `/socket.io/1/websocket/{sid}` and `/socket.io/1/flashsocket/{sid}`.
//! The protocol is picked per request as the reference does (docs/protocol.md §5.1): a
//! `Sec-WebSocket-Version` of 13, 8 or 7 means RFC 6455 framing; no version but
//! `Sec-WebSocket-Key1/Key2` means draft 76.

use std::time::Duration;

use ferrio_hub::{AttachMode, Attachment, Hub, LogGate};
use ferrio_protocol::TransportKind;
use ferrio_transport::{Body, TransportError, empty};
use http::header::{
    CONNECTION, HOST, HeaderMap, HeaderValue, ORIGIN, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tracing::{debug, info};

use crate::hixie::{Hixie76, challenge_response, key_number};
use crate::pump::{PacketSocket, refuse_unknown_session, spawn_pump};
use crate::rfc6455::{Rfc6455, WsLimits};

/// How long a draft-76 client may take to send the 8 bytes that follow its headers.
const KEY3_TIMEOUT: Duration = Duration::from_secs(10);

/// The protocol a request asked for.
#[derive(Debug)]
enum Protocol {
    Rfc6455 {
        accept: String,
    },
    Hixie76 {
        key1: String,
        key2: String,
        location: String,
        origin: String,
        subprotocol: Option<HeaderValue>,
    },
}

/// Answers a WebSocket upgrade for session `sid` with `101` and spawns the pump on the
/// upgraded connection. An unknown session still gets its `101`, then `7:::1+0` and a close
/// (docs/protocol.md §5.0). A request that is not a valid upgrade, or comes from a refused origin,
/// gets `400`/`403` instead of the reference's bare TCP close (docs/protocol.md §8 #8). `secure`
/// says whether the connection is TLS (draft 76 names the scheme in its `Location`).
pub fn upgrade<B>(
    hub: &Hub,
    sid: &str,
    mut request: Request<B>,
    kind: TransportKind,
    limits: WsLimits,
    secure: bool,
) -> Response<Body>
where
    B: Send + 'static,
{
    let headers = request.headers();
    if request.method() == Method::OPTIONS {
        return ferrio_transport::preflight(headers);
    }
    if let Err(error) = check_request(&request) {
        return error.into_response();
    }
    let origin = headers
        .get(ORIGIN)
        .or_else(|| headers.get("sec-websocket-origin"))
        .and_then(|v| v.to_str().ok());
    let protocol = match negotiate(&request, origin, secure) {
        Ok(protocol) => protocol,
        Err(error) => return error.into_response(),
    };
    if !hub.config().origins.allows(origin, None) {
        // Reached by an upgrade that names no origin under a list (a named foreign origin is
        // refused by the gateway before): the client decides how often, so the log samples.
        static REFUSED_LOG: LogGate = LogGate::new();
        hub.counters().origin_refused(Some(kind));
        if let Some(suppressed) = REFUSED_LOG.admit() {
            info!(
                sid,
                origin, suppressed, "websocket upgrade refused: bad origin"
            );
        }
        return TransportError::BadOrigin.into_response();
    }
    // An unknown session still gets its `101`, then `7:::1+0` (docs/protocol.md §5.0) — except
    // during a shutdown, when it gets the `503` every other transport answers then, so the
    // client reconnects (elsewhere) instead of handshaking again here.
    let attachment = hub.attach(sid, kind, AttachMode::Stream).ok();
    if attachment.is_none() && hub.is_shutting_down() {
        return TransportError::ShuttingDown.into_response();
    }
    let response = switching_protocols(&protocol);
    let on_upgrade = hyper::upgrade::on(&mut request);
    let hub = hub.clone();
    let sid = sid.to_owned();
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => TokioIo::new(upgraded),
            Err(error) => {
                debug!(sid, %error, "websocket upgrade did not complete");
                return;
            }
        };
        match protocol {
            Protocol::Rfc6455 { .. } => {
                spawn_connection(Rfc6455::new(upgraded, limits), hub, attachment, sid);
            }
            Protocol::Hixie76 { key1, key2, .. } => {
                let mut io = upgraded;
                let mut key3 = [0u8; 8];
                // The reference waits for key3 when a proxy delays it past the headers.
                match tokio::time::timeout(KEY3_TIMEOUT, io.read_exact(&mut key3)).await {
                    Ok(Ok(_)) => {}
                    _ => {
                        debug!(sid, "draft-76 client sent no key3");
                        return;
                    }
                }
                let Some(digest) = challenge_response(&key1, &key2, &key3) else {
                    return;
                };
                if io.write_all(&digest).await.is_err() {
                    return;
                }
                let socket = Hixie76::new(io, limits);
                spawn_connection(socket, hub, attachment, sid);
            }
        }
    });
    response
}

/// Starts the connection's long-lived task: the pump of its session, or the refusal of an
/// unknown one.
fn spawn_connection<S>(socket: S, hub: Hub, attachment: Option<Attachment>, sid: String)
where
    S: PacketSocket + Send + 'static,
{
    match attachment {
        Some(attachment) => spawn_pump(socket, hub, attachment),
        None => drop(tokio::spawn(refuse_unknown_session(socket, sid))),
    }
}

/// What every upgrade is before its protocol is picked: a `GET` that asks for WebSocket.
fn check_request<B>(request: &Request<B>) -> Result<(), TransportError> {
    if request.method() != Method::GET {
        return Err(TransportError::MethodNotAllowed);
    }
    if !is_websocket_upgrade(request.headers()) {
        return Err(TransportError::UpgradeRequired);
    }
    Ok(())
}

/// The `Sec-WebSocket-Accept` of an RFC 6455 (or hybi-07/08) request; `None` when the request
/// names no version, as draft 76 does.
fn rfc6455_accept(headers: &HeaderMap) -> Option<Result<String, TransportError>> {
    let version = headers.get(SEC_WEBSOCKET_VERSION)?;
    let version_ok = version
        .to_str()
        .is_ok_and(|v| matches!(v.trim(), "13" | "8" | "7"));
    Some(
        match headers.get(SEC_WEBSOCKET_KEY).filter(|_| version_ok) {
            Some(key) => Ok(derive_accept_key(key.as_bytes())),
            None => Err(TransportError::UnsupportedWebSocketVersion),
        },
    )
}

/// The `101` for an RFC 6455 upgrade that attaches no session (the conformance echo): the
/// checks of a session's upgrade, but for the origin's.
pub(crate) fn rfc6455_switch<B>(request: &Request<B>) -> Result<Response<Body>, TransportError> {
    check_request(request)?;
    let accept = rfc6455_accept(request.headers())
        .unwrap_or(Err(TransportError::UnsupportedWebSocketVersion))?;
    Ok(switching_protocols(&Protocol::Rfc6455 { accept }))
}

/// Picks the protocol from the request headers; an unusable request gets its answer.
fn negotiate<B>(
    request: &Request<B>,
    origin: Option<&str>,
    secure: bool,
) -> Result<Protocol, TransportError> {
    let headers = request.headers();
    if let Some(accept) = rfc6455_accept(headers) {
        return accept.map(|accept| Protocol::Rfc6455 { accept });
    }
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (Some(key1), Some(key2)) = (text("sec-websocket-key1"), text("sec-websocket-key2")) else {
        return Err(TransportError::UpgradeRequired);
    };
    let (Some(host), Some(origin)) = (text(HOST.as_str()), origin) else {
        return Err(TransportError::BadRequest(
            "draft 76 needs Host and Origin".to_owned(),
        ));
    };
    if key_number(&key1).is_none() || key_number(&key2).is_none() {
        return Err(TransportError::BadRequest(
            "malformed Sec-WebSocket-Key1/Key2".to_owned(),
        ));
    }
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    Ok(Protocol::Hixie76 {
        key1,
        key2,
        location: format!("{}://{host}{path}", if secure { "wss" } else { "ws" }),
        origin: origin.to_owned(),
        subprotocol: headers.get(SEC_WEBSOCKET_PROTOCOL).cloned(),
    })
}

fn switching_protocols(protocol: &Protocol) -> Response<Body> {
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    match protocol {
        Protocol::Rfc6455 { accept } => {
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
            if let Ok(accept) = HeaderValue::from_str(accept) {
                headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
            }
        }
        Protocol::Hixie76 {
            location,
            origin,
            subprotocol,
            ..
        } => {
            response
                .extensions_mut()
                .insert(hyper::ext::ReasonPhrase::from_static(
                    b"WebSocket Protocol Handshake",
                ));
            let headers = response.headers_mut();
            headers.insert(UPGRADE, HeaderValue::from_static("WebSocket"));
            headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
            // Both come from request headers, so they are valid header values.
            if let Ok(origin) = HeaderValue::from_str(origin) {
                headers.insert("sec-websocket-origin", origin);
            }
            if let Ok(location) = HeaderValue::from_str(location) {
                headers.insert("sec-websocket-location", location);
            }
            if let Some(subprotocol) = subprotocol {
                headers.insert(SEC_WEBSOCKET_PROTOCOL, subprotocol.clone());
            }
        }
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
