//! Engine.IO's HTTP long-polling, revisions 3 (socket.io-client 1.x–2.x) and 4 (3.x–4.x):
//! the handshake GET answered with the `open` packet, a GET held until the session has
//! packets for it (a ping comes within the ping interval at the latest on revision 4), and a
//! POST of a payload answered `ok`. Refusals carry the reference server's JSON error bodies.
//!
//! Payloads are joined by `\x1e` on revision 4 and length-prefixed on revision 3 (lengths in
//! UTF-16 units; a POST may also come as an XHR2 binary payload). With `j=<index>` in the
//! query the request is JSONP: the answer is a script calling `___eio[<index>]` with the
//! payload, and the POST is a form whose field `d` holds it.
//!
//! A second GET while one is pending ends the session (`400`), as the protocol requires;
//! a POST over `max_payload` is `413`.

use bytes::Bytes;
use std::borrow::Cow;

use ferrio_eio::{ErrorCode, JsonpIndex, Packet, PacketType, Revision};
use ferrio_hub::{AttachMode, ConnectInfo, Encoded, EngineAttachError, Hub, IngestError};
use ferrio_protocol::TransportKind;
pub use ferrio_transport::engine_error;
use ferrio_transport::{
    Body, PostLimits, TransportError, Unconfirmed, allow_origin, engine_open_packet,
    engine_refusal, full, preflight, read_body,
};
use http::header::{CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{Method, Request, Response};
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
    /// The Engine.IO revision the query names.
    pub revision: Revision,
    /// The JSONP index (`j`), when the request is JSONP.
    pub jsonp: Option<JsonpIndex>,
    /// The session id, `None` for the handshake.
    pub sid: Option<&'a str>,
    /// The most bytes a POST may carry (`max_payload`) and how long it may stall.
    pub limits: PostLimits,
    /// Whether the session may upgrade to a WebSocket (announced in the `open` packet).
    pub websocket_enabled: bool,
    /// Whether a handshake opens a bare Engine.IO session that echoes its messages
    /// ([`Hub::open_engine_echo`]) rather than a Socket.IO one.
    pub echo: bool,
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
        // Boxed: a handshake may wait on the authorization hook, and inline it would size
        // every held poll by it.
        (&Method::GET, None) => Box::pin(handshake(&ctx, info(&parts))).await,
        (_, None) => engine_error(ErrorCode::BadHandshakeMethod),
        (&Method::GET, Some(sid)) => {
            let unconfirmed = parts.extensions.get::<Unconfirmed>();
            poll(&ctx, sid, unconfirmed).await
        }
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
async fn handshake(ctx: &PollingRequest<'_>, info: ConnectInfo) -> Response<Body> {
    let opened = if ctx.echo {
        ctx.hub.open_engine_echo(info, ctx.revision).await
    } else {
        ctx.hub.open_engine(info, ctx.revision).await
    };
    match opened {
        Ok(open) => {
            let open = engine_open_packet(open, ctx.revision, ctx.websocket_enabled);
            answer(ctx, payload(ctx, [open.as_str()]))
        }
        Err(refusal) => engine_refusal(&refusal),
    }
}

/// A GET of session `sid`: what it has queued, or the first packet to come. A poll another
/// node of the cluster forwarded here keeps the batch it answers with in `unconfirmed`, until
/// that node confirms its client took it.
async fn poll(
    ctx: &PollingRequest<'_>,
    sid: &str,
    unconfirmed: Option<&Unconfirmed>,
) -> Response<Body> {
    let attached = ctx
        .hub
        .attach_engine(sid, TransportKind::XhrPolling, AttachMode::Poll);
    let mut attachment = match attached {
        Ok(attachment) => attachment,
        Err(EngineAttachError::UnknownSession) => return engine_error(ErrorCode::SessionIdUnknown),
        Err(
            EngineAttachError::OverlappingPoll
            | EngineAttachError::Upgraded
            | EngineAttachError::Upgrading,
        ) => return engine_error(ErrorCode::BadRequest),
    };
    match attachment.next_batch().await {
        Some(batch) => {
            let texts: Vec<Cow<'_, str>> = batch
                .packets()
                .iter()
                .map(|packet| packet_text(packet, ctx.revision))
                .collect();
            let body = payload(ctx, texts.iter().map(AsRef::as_ref));
            if let Some(unconfirmed) = unconfirmed
                && !batch.is_noop()
                && let Err(batch) = unconfirmed.record(body.len(), Some(batch))
            {
                // The forwarding node stopped listening before the batch came: nobody would
                // relay it.
                attachment.unread(batch);
                return answer(ctx, payload(ctx, ["6"]));
            }
            answer(ctx, body)
        }
        // The session ended while the poll waited: the client's next request learns it is
        // unknown; this one is told to close.
        None => answer(ctx, payload(ctx, ["1"])),
    }
}

/// An outbox packet as a packet of a text payload: a binary message in base64 (`b…`).
fn packet_text(packet: &Encoded, revision: Revision) -> Cow<'_, str> {
    match packet.binary_data() {
        Some(data) => {
            let binary = Packet::binary(PacketType::Message, data.to_vec());
            // Revision 3 and 4 both write a binary packet as text: this cannot fail.
            Cow::Owned(binary.encode_text(revision).unwrap_or_default())
        }
        None => Cow::Borrowed(packet.as_str()),
    }
}

/// `packets` (each already an Engine.IO packet's text) as a payload of the request's
/// revision, in a script when the request is JSONP.
fn payload<'a>(ctx: &PollingRequest<'_>, packets: impl IntoIterator<Item = &'a str>) -> Bytes {
    let payload = match ctx.revision {
        Revision::V4 => {
            let packets: Vec<&str> = packets.into_iter().collect();
            packets.join(SEPARATOR)
        }
        Revision::V3 => ferrio_eio::v3::frame_text_payload(packets),
    };
    Bytes::from(match ctx.jsonp {
        Some(index) => ferrio_eio::jsonp::wrap_response(index, &payload),
        None => payload,
    })
}

/// The answer carrying `body`, a payload of [`payload`].
fn answer(ctx: &PollingRequest<'_>, body: Bytes) -> Response<Body> {
    let content_type = if ctx.jsonp.is_some() {
        "text/javascript; charset=UTF-8"
    } else {
        "text/plain; charset=UTF-8"
    };
    with_type(body, content_type)
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
    let packets = decode_post(ctx, &parts.headers, &bytes);
    let packets: Vec<Packet> = match packets {
        Ok(packets) => packets,
        Err(why) => {
            debug!(sid, why, "unusable Engine.IO payload: the session ends");
            ctx.hub.disconnect(sid);
            return engine_error(ErrorCode::BadRequest);
        }
    };
    match ctx.hub.ingest_engine(sid, packets) {
        // A JSONP POST is a form submitted into a hidden frame: the reference answers it
        // as a page.
        Ok(()) if ctx.jsonp.is_some() => {
            with_type(Bytes::from_static(b"ok"), "text/html; charset=UTF-8")
        }
        Ok(()) => text("ok"),
        Err(IngestError::UnknownSession) => engine_error(ErrorCode::SessionIdUnknown),
        Err(IngestError::ShuttingDown) => TransportError::ShuttingDown.into_response(),
        Err(IngestError::Upgraded) => engine_error(ErrorCode::BadRequest),
    }
}

/// The packets a POST body carries: a payload of the request's revision, in the form field
/// `d` when the request is JSONP, and on revision 3 possibly an XHR2 binary payload.
fn decode_post(
    ctx: &PollingRequest<'_>,
    headers: &http::HeaderMap,
    bytes: &[u8],
) -> Result<Vec<Packet>, String> {
    let max = ctx.limits.max_body_bytes;
    let binary = headers
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/octet-stream"));
    match (ctx.revision, binary) {
        (Revision::V3, true) if ctx.jsonp.is_none() => {
            return ferrio_eio::v3::decode_binary_payload(bytes, max)
                .map_err(|error| error.to_string());
        }
        // Revision 4 payloads are text, binary packets in base64: the reference refuses one
        // sent as binary.
        (Revision::V4, true) => return Err("a binary payload on revision 4".to_owned()),
        _ => {}
    }
    let text = match ctx.jsonp {
        Some(_) => ferrio_eio::jsonp::unwrap_post(bytes, max).map_err(|error| error.to_string())?,
        None => std::str::from_utf8(bytes)
            .map_err(|_| "not UTF-8".to_owned())?
            .to_owned(),
    };
    match ctx.revision {
        Revision::V4 => ferrio_eio::v4::decode_payload(&text, max),
        Revision::V3 => ferrio_eio::v3::decode_text_payload(&text, max),
    }
    .map_err(|error| error.to_string())
}

fn text(body: &'static str) -> Response<Body> {
    with_type(
        Bytes::from_static(body.as_bytes()),
        "text/plain; charset=UTF-8",
    )
}

fn with_type(body: Bytes, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(full(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
