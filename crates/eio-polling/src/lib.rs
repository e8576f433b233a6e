//! Engine.IO's HTTP long-polling, revision 4 (socket.io-client 3.x–4.x): the handshake GET
//! answered with the `open` packet, a GET held until the session has packets for it (joined
//! by `\x1e`; a ping comes within the ping interval at the latest), and a POST of a payload
//! answered `ok`. Refusals carry the reference server's JSON error bodies.
//!
//! A second GET while one is pending ends the session (`400`), as the protocol requires;
//! a POST over `max_payload` is `413`.

use bytes::Bytes;
use ferrio_eio::{ErrorCode, Handshake, Packet, Revision};
use ferrio_hub::{AttachMode, ConnectInfo, EngineAttachError, Hub, IngestError, Refusal};
use ferrio_protocol::TransportKind;
use ferrio_transport::{
    Body, PostLimits, TransportError, allow_origin, full, preflight, read_body,
};
use http::header::{CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{Method, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use tracing::debug;

/// The separator of a revision 4 payload. The packets the hub queues are Socket.IO text
/// written by serde_json, which escapes every control character, and Engine.IO control
/// packets: none can hold one.
const SEPARATOR: &str = "\u{1e}";

/// What the server resolved before handing a polling request over.
#[derive(Debug, Clone)]
pub struct PollingRequest<'a> {
    /// The hub.
    pub hub: &'a Hub,
    /// The Engine.IO revision the query names (only 4 is served by this transport yet).
    pub revision: Revision,
    /// The session id, `None` for the handshake.
    pub sid: Option<&'a str>,
    /// The most bytes a POST may carry (`max_payload`) and how long it may stall.
    pub limits: PostLimits,
    /// Whether the session may upgrade to a WebSocket (announced in the `open` packet).
    pub websocket_enabled: bool,
}

/// Serves one Engine.IO polling request. `info` builds the handshake data when the request is
/// a handshake.
pub async fn serve<B>(
    ctx: PollingRequest<'_>,
    request: Request<B>,
    info: impl FnOnce(&http::request::Parts) -> ConnectInfo,
) -> Response<Body>
where
    B: HttpBody<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let (parts, body) = request.into_parts();
    let mut response = match (&parts.method, ctx.sid) {
        (&Method::OPTIONS, _) => return preflight(&parts.headers),
        (&Method::GET, None) => handshake(&ctx, info(&parts)),
        (_, None) => engine_error(ErrorCode::BadHandshakeMethod),
        (&Method::GET, Some(sid)) => poll(ctx.hub, sid).await,
        (&Method::POST, Some(sid)) => post(&ctx, sid, &parts, body).await,
        (_, Some(_)) => engine_error(ErrorCode::BadRequest),
    };
    allow_origin(&parts.headers, response.headers_mut());
    response
        .headers_mut()
        .insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The handshake: a new session, answered with its `open` packet.
fn handshake(ctx: &PollingRequest<'_>, info: ConnectInfo) -> Response<Body> {
    match ctx.hub.open_engine(info, ctx.revision) {
        Ok(open) => {
            let upgrades: &[&str] = if ctx.websocket_enabled {
                &["websocket"]
            } else {
                &[]
            };
            let open = Handshake::v4(
                open.sid,
                upgrades.iter().copied(),
                millis(open.ping_interval),
                millis(open.ping_timeout),
                open.max_payload as u64,
            );
            match open.open_packet().encode_text(ctx.revision) {
                Ok(packet) => text(packet),
                Err(_) => engine_error(ErrorCode::BadRequest),
            }
        }
        Err(refusal) => refused(&refusal),
    }
}

/// A handshake the hub refused: the origin or the authorization hook as the reference's
/// `Forbidden`, the node's limits as `503`.
fn refused(refusal: &Refusal) -> Response<Body> {
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

/// A GET of session `sid`: what it has queued, or the first packet to come.
async fn poll(hub: &Hub, sid: &str) -> Response<Body> {
    let mut attachment = match hub.attach_engine(sid, TransportKind::XhrPolling, AttachMode::Poll) {
        Ok(attachment) => attachment,
        Err(EngineAttachError::UnknownSession) => return engine_error(ErrorCode::SessionIdUnknown),
        Err(EngineAttachError::OverlappingPoll) => return engine_error(ErrorCode::BadRequest),
    };
    match attachment.next_batch().await {
        Some(batch) => {
            let payload: Vec<&str> = batch.texts().collect();
            text(payload.join(SEPARATOR))
        }
        // The session ended while the poll waited: the client's next request learns it is
        // unknown; this one is told to close.
        None => text("1".to_owned()),
    }
}

/// A POST of session `sid`: its payload's packets handed to the hub, answered `ok`.
async fn post<B>(
    ctx: &PollingRequest<'_>,
    sid: &str,
    parts: &http::request::Parts,
    body: B,
) -> Response<Body>
where
    B: HttpBody<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let bytes = match read_body(parts, body, ctx.limits).await {
        Ok(bytes) => bytes,
        Err(error) => return error.into_response(),
    };
    ctx.hub
        .counters()
        .bytes_in(TransportKind::XhrPolling, bytes.len());
    let packets = std::str::from_utf8(&bytes)
        .map_err(|_| "not UTF-8".to_owned())
        .and_then(|text| {
            ferrio_eio::v4::decode_payload(text, ctx.limits.max_body_bytes)
                .map_err(|error| error.to_string())
        });
    let packets: Vec<Packet> = match packets {
        Ok(packets) => packets,
        Err(why) => {
            debug!(sid, why, "unusable Engine.IO payload: the session ends");
            ctx.hub.disconnect(sid);
            return engine_error(ErrorCode::BadRequest);
        }
    };
    match ctx.hub.ingest_engine(sid, packets) {
        Ok(()) => text("ok".to_owned()),
        Err(IngestError::UnknownSession) => engine_error(ErrorCode::SessionIdUnknown),
        Err(IngestError::ShuttingDown) => TransportError::ShuttingDown.into_response(),
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn text(body: String) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from(body)));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    response
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
