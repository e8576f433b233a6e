//! The publish API: a backend emits to a namespace, a room or one session, disconnects a
//! session, or reads statistics. Every call needs `Authorization: Bearer <token>`.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrio_hub::{BroadcastBody, ClusterMessage, Hub, is_reserved_event};
use ferrio_transport::Body;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tracing::warn;

use crate::dashboard;
use crate::serve::{Admin, plain};

/// API request bodies are small JSON documents.
const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmitRequest {
    event: String,
    #[serde(default)]
    args: Vec<Value>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    room: Option<String>,
    #[serde(default)]
    sid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisconnectRequest {
    sid: String,
}

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = plain(status, value.to_string(), "application/json");
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn bad_request(reason: impl Into<String>) -> Response<Body> {
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": reason.into() }))
}

/// Whether the request carries the token, compared in constant time.
fn authorized(admin: &Admin, header: Option<&HeaderValue>) -> bool {
    let (Some(token), Some(header)) = (admin.api_token.as_deref(), header) else {
        return false;
    };
    let Some(given) = header.as_bytes().strip_prefix(b"Bearer ") else {
        return false;
    };
    bool::from(given.ct_eq(token.as_bytes()))
}

/// The namespace name of the API (`/` or empty is the default namespace).
fn namespace_name(name: Option<&str>) -> &str {
    match name {
        None | Some("/" | "") => "",
        Some(name) => name,
    }
}

pub(crate) async fn handle<B>(admin: &Admin, request: Request<B>) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    if admin.api_token.is_none() {
        return plain(
            StatusCode::NOT_FOUND,
            "the publish API is off (no API token configured)\n".to_owned(),
            "text/plain",
        );
    }
    if !authorized(admin, request.headers().get(AUTHORIZATION)) {
        admin.auth_failures.fetch_add(1, Ordering::Relaxed);
        if let Some(suppressed) = admin.auth_failure_log.admit() {
            warn!(
                path = request.uri().path(),
                suppressed, "publish API call without a valid token"
            );
        }
        let mut response = json_response(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": "missing or wrong bearer token" }),
        );
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let path = request.uri().path().to_owned();
    match (request.method().clone(), path.as_str()) {
        (Method::GET, "/api/stats") => json_response(StatusCode::OK, &stats(admin).await),
        (Method::GET, "/api/dashboard") => {
            let stats = stats(admin).await;
            json_response(
                StatusCode::OK,
                &dashboard::answer(&admin.hub, &admin.history, &stats),
            )
        }
        (Method::POST, "/api/emit") => match read_json::<EmitRequest, B>(request).await {
            Ok(body) => emit(admin, body),
            Err(response) => *response,
        },
        (Method::POST, "/api/disconnect") => match read_json::<DisconnectRequest, B>(request).await
        {
            Ok(body) => {
                let answer = if admin.hub.kick(&body.sid) {
                    json!({ "disconnected": true })
                } else if admin
                    .hub
                    .send_to_cluster(ClusterMessage::Kick { sid: body.sid })
                {
                    json!({ "disconnected": false, "forwarded": true })
                } else {
                    json!({ "disconnected": false })
                };
                json_response(StatusCode::OK, &answer)
            }
            Err(response) => *response,
        },
        (_, "/api/stats" | "/api/dashboard" | "/api/emit" | "/api/disconnect") => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({ "error": "method not allowed" }),
        ),
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": "no such API call" }),
        ),
    }
}

async fn read_json<T, B>(request: Request<B>) -> Result<T, Box<Response<Body>>>
where
    T: for<'de> Deserialize<'de>,
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let bytes = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(Box::new(bad_request("body unreadable or over 1 MiB"))),
    };
    serde_json::from_slice(&bytes)
        .map_err(|error| Box::new(bad_request(format!("malformed JSON body: {error}"))))
}

fn emit(admin: &Admin, body: EmitRequest) -> Response<Body> {
    if body.event.is_empty() || is_reserved_event(&body.event) {
        return bad_request(format!(
            "`{}` cannot be emitted (empty or reserved name)",
            body.event
        ));
    }
    let name = namespace_name(body.namespace.as_deref());
    let Some(namespace) = admin.hub.namespace(name) else {
        return bad_request(format!("unknown namespace `{name}`"));
    };
    let sessions = match (body.sid.as_deref(), body.room.as_deref()) {
        (Some(_), Some(_)) => return bad_request("give `sid` or `room`, not both"),
        (Some(sid), None) => match namespace.socket(sid) {
            Some(socket) => usize::from(socket.emit_args(&body.event, body.args)),
            None => {
                let forwarded = admin.hub.send_to_cluster(ClusterMessage::Emit {
                    sid: sid.to_owned(),
                    namespace: namespace.name().to_owned(),
                    body: BroadcastBody::Event {
                        name: body.event,
                        args: body.args,
                    },
                });
                let answer = if forwarded {
                    json!({ "sessions": 0, "forwarded": true })
                } else {
                    json!({ "sessions": 0 })
                };
                return json_response(StatusCode::OK, &answer);
            }
        },
        (None, Some(room)) => namespace.to(room).emit_args(&body.event, body.args),
        (None, None) => namespace.emit_args(&body.event, body.args),
    };
    json_response(StatusCode::OK, &json!({ "sessions": sessions }))
}

/// What `/api/stats` answers: this node's stats, or the cluster's when the node is clustered.
async fn stats(admin: &Admin) -> Value {
    let here = local_stats(&admin.hub);
    match &admin.cluster_stats {
        Some(widen) => widen(here).await,
        None => here,
    }
}

/// What `/api/stats` says of one node: its sessions, readiness, and every namespace with its
/// sockets and rooms.
pub fn local_stats(hub: &Hub) -> Value {
    let mut namespaces: Vec<Value> = hub
        .namespaces()
        .into_iter()
        .map(|namespace| {
            let mut rooms = namespace.rooms();
            rooms.sort();
            let rooms: serde_json::Map<String, Value> = rooms
                .into_iter()
                .map(|(room, size)| (room, json!(size)))
                .collect();
            let name = if namespace.name().is_empty() {
                "/"
            } else {
                namespace.name()
            };
            json!({ "name": name, "sockets": namespace.size(), "rooms": rooms })
        })
        .collect();
    namespaces.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    json!({ "sessions": hub.session_count(), "ready": hub.is_ready(), "namespaces": namespaces })
}
