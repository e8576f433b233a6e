//! CORS for cross-domain pages (docs/protocol.md §2.3, §5.0) and the origin check of every
//! request on an issued session (§2.6). The 0.9 client sends credentials, so an allowed
//! origin is echoed, never `*`; an origin outside the list gets `403` and no CORS header at
//! all, so the page cannot even read the refusal.

use std::net::SocketAddr;

use ferrio_hub::{HubMetrics, LogGate, Origins};
use ferrio_protocol::TransportKind;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, HeaderMap, HeaderValue, ORIGIN, REFERER,
};
use http::{Response, StatusCode};
use tracing::info;

use crate::body::{Body, empty};
use crate::response::TransportError;
use crate::serve::common_headers;

/// The methods a transport answers across origins.
const ALLOWED_METHODS: &str = "GET, POST";

/// The one request header the clients set that is not always CORS-safelisted: the 0.9 client
/// and ours send `Content-Type: text/plain;charset=UTF-8` on xhr-polling POSTs, and a client
/// that sends another type needs the preflight to name it. Nothing else is ever allowed, so
/// a preflight no longer lets a page send headers of its choosing.
const ALLOWED_HEADERS: &str = "Content-Type";

/// How much of a refused origin a log line shows: the header is the client's, of any length.
const LOGGED_ORIGIN_BYTES: usize = 128;

/// A client decides how often it is refused: the log keeps a sample.
static REFUSED_LOG: LogGate = LogGate::new();

/// Adds `Access-Control-Allow-Origin: <origin>` and `…-Allow-Credentials: true` when the
/// request had an `Origin`. Only for a request whose origin passed the check: the handshake's
/// ([`Origins::allows`]) or [`refuse_foreign_origin`].
pub fn allow_origin(request: &HeaderMap, response: &mut HeaderMap) {
    if let Some(origin) = request.get(ORIGIN) {
        response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        response.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// The answer to a CORS preflight: `204` allowing the origin (already checked), `GET` and
/// `POST`, and the `Content-Type` header, whatever the request asked for. It never touches
/// session state (docs/protocol.md §1.5).
pub fn preflight(request: &HeaderMap) -> Response<Body> {
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    allow_origin(request, headers);
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    common_headers(headers);
    response
}

/// The origin check of a request on an issued session — every method of every transport, the
/// preflight and `?disconnect` — made once, before the request reaches its transport
/// (docs/protocol.md §2.6). `Some` is the answer for a request that names an origin outside
/// `origins`: `403`, no CORS headers; the refusal is counted and logged by sample
/// ([`LogGate`]).
/// `transport` is `None` for a request that names none (`?disconnect`).
///
/// The origin named is `Origin`, else `Sec-WebSocket-Origin` (the hybi-07…12 drafts), else
/// `Referer` (a JSONP `<script>` or an iframe sends only that). A request that names none is
/// let through ([`Origins::refuses`]); a header that is not text names an origin no list has.
pub fn refuse_foreign_origin(
    origins: &Origins,
    counters: &HubMetrics,
    transport: Option<TransportKind>,
    peer: SocketAddr,
    request: &HeaderMap,
) -> Option<Response<Body>> {
    let named = request
        .get(ORIGIN)
        .or_else(|| request.get("sec-websocket-origin"))
        .or_else(|| request.get(REFERER))
        .map(|value| value.to_str().unwrap_or_default());
    if !origins.refuses(named, None) {
        return None;
    }
    counters.origin_refused(transport);
    if let Some(suppressed) = REFUSED_LOG.admit() {
        let origin = named.map(|named| shortened(named, LOGGED_ORIGIN_BYTES));
        info!(
            %peer,
            transport = transport.map_or(ferrio_hub::NO_TRANSPORT, TransportKind::name),
            origin,
            suppressed,
            "request refused: origin not allowed"
        );
    }
    let mut response = TransportError::BadOrigin.into_response();
    common_headers(response.headers_mut());
    Some(response)
}

/// `text` cut to at most `max` bytes on a character boundary.
fn shortened(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 1);

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn preflight_allows_only_get_post_and_content_type() {
        let request = headers(&[
            ("origin", "http://a.example"),
            ("access-control-request-method", "DELETE"),
            (
                "access-control-request-headers",
                "x-evil, content-type, cookie",
            ),
        ]);
        let response = preflight(&request);
        let headers = response.headers();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(headers["access-control-allow-origin"], "http://a.example");
        assert_eq!(headers["access-control-allow-credentials"], "true");
        assert_eq!(headers["access-control-allow-methods"], "GET, POST");
        assert_eq!(headers["access-control-allow-headers"], "Content-Type");
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }

    #[test]
    fn a_foreign_origin_is_refused_with_403_and_no_cors_and_counted() {
        let origins: Origins = "good.example:*".parse().unwrap();
        let hub = ferrio_hub::Hub::new(ferrio_hub::HubConfig::default()).unwrap();
        for request in [
            headers(&[("origin", "http://evil.example")]),
            headers(&[("sec-websocket-origin", "http://evil.example")]),
            headers(&[("referer", "http://evil.example/page")]),
            headers(&[("origin", "null"), ("referer", "http://good.example/")]),
        ] {
            let refusal = refuse_foreign_origin(
                &origins,
                hub.counters(),
                Some(TransportKind::Htmlfile),
                PEER,
                &request,
            )
            .expect("refused");
            assert_eq!(refusal.status(), StatusCode::FORBIDDEN);
            assert!(
                !refusal
                    .headers()
                    .keys()
                    .any(|name| name.as_str().starts_with("access-control-")),
                "{request:?}"
            );
            assert_eq!(refusal.headers()["x-content-type-options"], "nosniff");
        }
        let refused = hub.metrics().origin_refusals;
        assert!(refused.contains(&("htmlfile", 4)), "{refused:?}");
        assert!(refused.contains(&("none", 0)), "{refused:?}");
        assert_eq!(refused.len(), 1 + TransportKind::ALL.len());
        for request in [
            headers(&[]),
            headers(&[("origin", "http://good.example:8080")]),
            headers(&[("referer", "https://good.example/page")]),
        ] {
            assert!(
                refuse_foreign_origin(
                    &origins,
                    &HubMetrics::default(),
                    Some(TransportKind::Htmlfile),
                    PEER,
                    &request
                )
                .is_none(),
                "{request:?}"
            );
        }
        assert!(
            refuse_foreign_origin(
                &Origins::any(),
                &HubMetrics::default(),
                None,
                PEER,
                &headers(&[("origin", "null")])
            )
            .is_none()
        );
    }

    #[test]
    fn long_origins_are_cut_on_a_character_boundary() {
        assert_eq!(shortened("abc", 2), "ab");
        assert_eq!(shortened("é", 1), "");
        assert_eq!(shortened("ab", 5), "ab");
    }
}
