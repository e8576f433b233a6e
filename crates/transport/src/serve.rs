//! Method dispatch for HTTP transport requests: GET polls, POST sends, OPTIONS preflights.

use bytes::Bytes;
use ferrio_hub::{Hub, IngestError};
use ferrio_protocol::TransportKind;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{Method, Request, Response};
use http_body::Body as HttpBody;
use tracing::{debug, info};

use crate::body::{Body, full};
use crate::cors::{allow_origin, preflight};
use crate::poll::next_payload;
use crate::post::{PostLimits, decode_payload, read_body};
use crate::response::TransportError;
use crate::stall::StallSignal;
use crate::stream;
use crate::unconfirmed::Unconfirmed;
use crate::wire::{StreamWire, Wire};

/// What the server resolved before handing a request to a polling transport.
#[derive(Debug, Clone)]
pub struct TransportRequest<'a> {
    /// The hub.
    pub hub: &'a Hub,
    /// The session id from the path.
    pub sid: &'a str,
    /// Which transport the path names; the caller has refused it already if it is not
    /// enabled, or if the request names an origin outside the list
    /// ([`refuse_foreign_origin`](crate::refuse_foreign_origin)).
    pub kind: TransportKind,
    /// POST limits: size and stall timeout.
    pub limits: PostLimits,
}

/// Serves one request of a polling transport (xhr-polling, jsonp-polling) with `wire`'s
/// framing: a GET is one long poll.
pub async fn serve<B, W>(ctx: TransportRequest<'_>, request: Request<B>, wire: W) -> Response<Body>
where
    B: HttpBody<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
    W: Wire,
{
    let (parts, body) = request.into_parts();
    let result = match parts.method {
        Method::GET => {
            let unconfirmed = parts.extensions.get::<Unconfirmed>();
            next_payload(ctx.hub, ctx.sid, ctx.kind, &wire, unconfirmed)
                .await
                .map(full)
        }
        Method::POST => post(&ctx, &parts, body, &wire).await,
        Method::OPTIONS => return preflight(&parts.headers),
        _ => Err(TransportError::MethodNotAllowed),
    };
    respond(&parts, &wire, result)
}

/// Serves one request of a streaming transport (htmlfile, xhr-multipart): a GET opens the
/// stream that carries every batch as it comes.
pub async fn serve_stream<B, W>(
    ctx: TransportRequest<'_>,
    request: Request<B>,
    wire: W,
) -> Response<Body>
where
    B: HttpBody<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
    W: StreamWire + Clone,
{
    let (parts, body) = request.into_parts();
    let result = match parts.method {
        Method::GET => {
            let stall = parts.extensions.get::<StallSignal>().cloned();
            let unconfirmed = parts.extensions.get::<Unconfirmed>().cloned();
            stream::open(ctx.hub, ctx.sid, ctx.kind, wire.clone(), stall, unconfirmed)
        }
        Method::POST => post(&ctx, &parts, body, &wire).await,
        Method::OPTIONS => return preflight(&parts.headers),
        _ => Err(TransportError::MethodNotAllowed),
    };
    respond(&parts, &wire, result)
}

/// The answer: GETs with the transport's content type and headers, POSTs with `1` as plain
/// text, both with CORS for cross-domain pages (docs/protocol.md §5.0), and every one with the
/// common headers.
fn respond<W: Wire>(
    parts: &http::request::Parts,
    wire: &W,
    result: Result<Body, TransportError>,
) -> Response<Body> {
    let mut response = match result {
        Ok(body) => {
            let is_post = parts.method == Method::POST;
            let mut response = Response::new(body);
            let headers = response.headers_mut();
            let content_type = if is_post {
                HeaderValue::from_static("text/plain; charset=UTF-8")
            } else {
                wire.content_type()
            };
            headers.insert(CONTENT_TYPE, content_type);
            allow_origin(&parts.headers, headers);
            if is_post && parts.headers.contains_key(http::header::ORIGIN) {
                headers.insert("x-xss-protection", HeaderValue::from_static("0"));
            }
            if !is_post {
                wire.headers(headers);
            }
            response
        }
        Err(error) => {
            let mut response = error.into_response();
            allow_origin(&parts.headers, response.headers_mut());
            response
        }
    };
    common_headers(response.headers_mut());
    response
}

async fn post<B, W>(
    ctx: &TransportRequest<'_>,
    parts: &http::request::Parts,
    body: B,
    wire: &W,
) -> Result<Body, TransportError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
    W: Wire,
{
    let bytes = read_body(parts, body, ctx.limits).await?;
    ctx.hub.counters().bytes_in(ctx.kind, bytes.len());
    // Dropped bodies are logged where operators see them (docs/protocol.md §5.5, §8 #4): sid,
    // reason and the start of the body.
    let preview = bytes.slice(..bytes.len().min(64));
    let text = wire.unwrap_post(bytes).map_err(|why| {
        info!(sid = ctx.sid, why, body = %String::from_utf8_lossy(&preview), "unusable POST body dropped");
        TransportError::BadRequest(why)
    })?;
    let packets = decode_payload(ctx.sid, &text, ctx.limits.max_packets)?;
    match ctx.hub.ingest(ctx.sid, packets) {
        Ok(()) => {}
        // An unknown session's POST is answered like any other and has no effect (docs/protocol.md
        // §5.0). `Upgraded` is an Engine.IO session's, which no 0.9 POST reaches.
        Err(IngestError::UnknownSession | IngestError::Upgraded) => {
            debug!(sid = ctx.sid, "POST for an unknown session discarded");
        }
        // `1` would tell the client its packets were taken; they were not.
        Err(IngestError::ShuttingDown) => return Err(TransportError::ShuttingDown),
    }
    Ok(full(Bytes::from_static(b"1")))
}

/// Headers every transport response carries, answer or error: `X-Content-Type-Options:
/// nosniff`, so that no browser reads a payload (text the clients wrote) as another type than
/// the one given, such as HTML or script opened directly.
pub(crate) fn common_headers(headers: &mut HeaderMap) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}
