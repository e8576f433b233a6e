//! The handshake endpoint (docs/protocol.md §2): plain text, or JSONP for cross-domain pages
//! without CORS.

use ferrio_hub::{ConnectInfo, Hub, LogGate, Refusal};
use ferrio_protocol::js_string_literal;
use ferrio_protocol::route::callback_index;
use ferrio_transport::{Body, TransportError, allow_origin, full, refusal_status};
use http::header::{CONTENT_TYPE, HOST, HeaderValue, RETRY_AFTER};
use http::{Method, Request, Response, StatusCode, Version};
use tracing::info;

use crate::gateway::ConnectionInfo;

/// Handshakes refused for their method or their `Host`, logged a line a second at most: a
/// client can send as many as it likes.
static WRONG_METHOD: LogGate = LogGate::new();
static BAD_HOST: LogGate = LogGate::new();

/// Issues a session, or explains the refusal with the status and text of docs/protocol.md §2.5
/// (or `414`/`431` for a query or headers over the hub's bounds, `503` for the node's limits).
/// A request that is not a well-formed GET gets `405` or `400` before anything is looked at
/// ([`check_request`]).
pub(crate) async fn serve<B>(
    hub: &Hub,
    request: Request<B>,
    connection: ConnectionInfo,
) -> Response<Body> {
    if let Err(error) = check_request(&request) {
        let gate = match error {
            TransportError::HandshakeMethodNotAllowed => &WRONG_METHOD,
            _ => &BAD_HOST,
        };
        if let Some(suppressed) = gate.admit() {
            info!(peer = %connection.peer, method = %request.method(), version = ?request.version(), suppressed, "handshake refused: {error}");
        }
        return error.into_response();
    }
    let info = connect_info(request.headers(), request.uri().query(), connection);
    let jsonp = info
        .query
        .iter()
        .find(|(key, _)| key == "jsonp")
        .and_then(|(_, value)| callback_index(value));
    let outcome = hub.handshake(info).await;
    if let Some(index) = jsonp {
        // The script tag that asked sees neither status nor headers: failures are a JS Error.
        let call = match &outcome {
            Ok(body) => format!("io.j[{index}]({});", js_string_literal(&body.to_string())),
            Err(refusal) => format!(
                "io.j[{index}](new Error({}));",
                js_string_literal(&refusal.to_string())
            ),
        };
        let mut response = Response::new(full(call));
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/javascript"),
        );
        return response;
    }
    let (status, text) = match &outcome {
        Ok(body) => (StatusCode::OK, body.to_string()),
        Err(refusal) => (refusal_status(refusal), refusal.to_string()),
    };
    let mut response = Response::new(full(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    match outcome {
        // A bad origin gets no CORS headers, so the page cannot even read the refusal.
        Err(Refusal::BadOrigin) => {}
        Err(
            Refusal::Unavailable
            | Refusal::Full
            | Refusal::RateLimited(_)
            | Refusal::TooManyUnconnected(_),
        ) => {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
            allow_origin(request.headers(), headers);
        }
        _ => allow_origin(request.headers(), headers),
    }
    response
}

/// Whether a request may be a handshake at all. Only GET: the 0.9 client's XHR and its JSONP
/// script tag both GET the handshake and never need a preflight (no header of their own), and
/// any other method — HEAD included, whose answer nobody reads — would issue a session for
/// nothing. `Host` is required of HTTP/1.1 requests, as RFC 9112 §3.2 requires it (hyper
/// does not check it); every HTTP/1.1 client sends it, old browsers and Flash included. An
/// HTTP/1.0 request may come without one, as HTTP/1.0 defines none and old proxies still
/// speak it; refusing it would protect nothing, since any client can add the header. More
/// than one `Host` is refused whatever the version. HTTP/2, when the gateway is mounted in
/// such a server, names the host in `:authority` instead.
fn check_request<B>(request: &Request<B>) -> Result<(), TransportError> {
    if request.method() != Method::GET {
        return Err(TransportError::HandshakeMethodNotAllowed);
    }
    let hosts = request.headers().get_all(HOST).iter().count();
    if hosts > 1 || (hosts == 0 && request.version() == Version::HTTP_11) {
        return Err(TransportError::BadHost);
    }
    Ok(())
}

/// What the hub keeps of a handshake request: its headers, its query decoded, the client's
/// address and whether the connection is TLS. Every generation's handshake builds it here.
pub(crate) fn connect_info(
    headers: &http::HeaderMap,
    query: Option<&str>,
    connection: ConnectionInfo,
) -> ConnectInfo {
    ConnectInfo {
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        address: connection.peer,
        query: ferrio_protocol::parse_query(query.unwrap_or_default()),
        secure: connection.secure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, version: Version, hosts: &[&str]) -> Request<()> {
        let mut builder = Request::builder()
            .method(method)
            .version(version)
            .uri("/socket.io/1/");
        for host in hosts {
            builder = builder.header(HOST, *host);
        }
        builder.body(()).expect("request")
    }

    #[test]
    fn only_a_get_with_one_host_is_a_handshake() {
        let get = |version, hosts: &[&str]| check_request(&request(Method::GET, version, hosts));
        assert_eq!(get(Version::HTTP_11, &["example.com"]), Ok(()));
        assert_eq!(get(Version::HTTP_10, &[]), Ok(()), "HTTP/1.0 has no Host");
        assert_eq!(get(Version::HTTP_2, &[]), Ok(()), ":authority instead");
        assert_eq!(get(Version::HTTP_11, &[]), Err(TransportError::BadHost));
        assert_eq!(
            get(Version::HTTP_10, &["a.example", "b.example"]),
            Err(TransportError::BadHost)
        );
        for method in [
            Method::POST,
            Method::PUT,
            Method::TRACE,
            Method::HEAD,
            Method::OPTIONS,
            Method::DELETE,
        ] {
            assert_eq!(
                check_request(&request(method.clone(), Version::HTTP_11, &["example.com"])),
                Err(TransportError::HandshakeMethodNotAllowed),
                "{method}"
            );
        }
    }
}
