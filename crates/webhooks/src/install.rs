//! Hub handlers that turn client events, connects and disconnects into webhook calls.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use ferrio_hub::{AckSender, Args, HandshakeData, Hub, Socket};
use serde_json::{Map, Value, json};

use crate::client::{CallKind, Webhooks};
use crate::config::WebhookConfig;

/// Registers the webhook handlers on `hub` and returns the client (for its metrics). For the
/// events it names, they replace any handler an application registered; connect and
/// disconnect notifications run after the application's handlers, which stay.
pub fn install(hub: &Hub, config: WebhookConfig) -> Arc<Webhooks> {
    let webhooks = Arc::new(Webhooks::new(config));
    for name in &webhooks.config.namespaces {
        let namespace = hub.of(name);
        for event in &webhooks.config.events {
            let hooks = Arc::clone(&webhooks);
            let event_name: Arc<str> = event.as_str().into();
            namespace.on(
                event,
                move |socket: Socket, Args(args): Args, ack: Option<AckSender>| {
                    let body = describe(
                        &socket,
                        CallKind::Event,
                        json!({ "event": &*event_name, "args": args, "ack": ack.is_some() }),
                    );
                    let hooks = Arc::clone(&hooks);
                    async move {
                        let reply = hooks.call(CallKind::Event, &body).await;
                        answer(ack, reply);
                    }
                },
            );
        }
        if webhooks.config.connect {
            let hooks = Arc::clone(&webhooks);
            // Notifications observe: the application's own handlers keep running.
            namespace.also_on_connection(move |socket| {
                let body = describe(socket, CallKind::Connect, json!({}));
                let hooks = Arc::clone(&hooks);
                tokio::spawn(async move { hooks.call(CallKind::Connect, &body).await });
            });
        }
        if webhooks.config.disconnect {
            let hooks = Arc::clone(&webhooks);
            namespace.also_on_disconnect(move |socket, reason| {
                let body = describe(
                    socket,
                    CallKind::Disconnect,
                    json!({ "reason": reason.as_str() }),
                );
                let hooks = Arc::clone(&hooks);
                tokio::spawn(async move { hooks.call(CallKind::Disconnect, &body).await });
            });
        }
    }
    webhooks
}

/// The client's ack: the backend's JSON array as its arguments; any other reply acks without
/// data; no reply (every attempt failed) sends no ack, as an application that never answers.
fn answer(ack: Option<AckSender>, reply: Option<Value>) {
    match (ack, reply) {
        (Some(ack), Some(Value::Array(args))) => ack.send_args(args),
        (Some(ack), Some(_)) => ack.send_args(Vec::new()),
        _ => {}
    }
}

/// The JSON body of a call: what happened, to which session, with its handshake data.
fn describe(socket: &Socket, kind: CallKind, extra: Value) -> Value {
    let mut body = Map::new();
    body.insert("type".into(), json!(kind.label()));
    body.insert("sid".into(), json!(socket.id()));
    let namespace = if socket.namespace().is_empty() {
        "/"
    } else {
        socket.namespace()
    };
    body.insert("namespace".into(), json!(namespace));
    body.insert("handshake".into(), handshake(socket.handshake()));
    if let Value::Object(extra) = extra {
        body.extend(extra);
    }
    Value::Object(body)
}

fn handshake(data: &HandshakeData) -> Value {
    let query: Map<String, Value> = data
        .info
        .query
        .iter()
        .map(|(key, value)| (key.clone(), json!(value)))
        .collect();
    let headers: Map<String, Value> = data
        .info
        .headers
        .iter()
        .map(|(key, value)| (key.clone(), json!(value)))
        .collect();
    let time = data
        .time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    json!({
        "query": query,
        "headers": headers,
        "address": data.info.address.to_string(),
        "xdomain": data.xdomain,
        "secure": data.info.secure,
        "time": u64::try_from(time).unwrap_or(u64::MAX),
        "data": data.data,
    })
}
