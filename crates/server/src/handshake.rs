//! The handshake endpoint (docs/protocol.md §2): plain text, or JSONP for cross-domain pages
//! without CORS.

use ferrio_hub::{ConnectInfo, Hub, Refusal};
use ferrio_protocol::js_string_literal;
use ferrio_protocol::route::callback_index;
use ferrio_transport::{Body, allow_origin, full, refusal_status};
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Request, Response, StatusCode};

use crate::gateway::ConnectionInfo;

/// Issues a session, or explains the refusal with the status and text of docs/protocol.md §2.5
/// (or `414`/`431` for a query or headers over the hub's bounds, `503` for the node's limits).
pub(crate) fn serve<B>(
    hub: &Hub,
    request: &Request<B>,
    connection: ConnectionInfo,
) -> Response<Body> {
    let query = ferrio_protocol::parse_query(request.uri().query().unwrap_or_default());
    let jsonp = query
        .iter()
        .find(|(key, _)| key == "jsonp")
        .and_then(|(_, value)| callback_index(value));
    let info = ConnectInfo {
        headers: request
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        address: connection.peer,
        query,
        secure: connection.secure,
    };
    let outcome = hub.handshake(info);
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
