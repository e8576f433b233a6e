//! The fixture of the official Socket.IO protocol test suite (socketio/socket.io-protocol,
//! `test-suite/`): on the default namespace and on `/custom`, each new socket is told the
//! payload of its `CONNECT` (`auth`, or `{}`), `message` is sent back as `message-back` with
//! the same arguments (binary ones included), and `message-with-ack` is acked with its
//! arguments. Every other namespace is refused as `Invalid namespace`, being undeclared. The
//! timers it expects are set by `--app suite` itself (`Settings::server_config`).

use ferrio_hub::{Hub, Message, Namespace};
use serde_json::{Value, json};

/// The namespaces the suite connects to.
const NAMESPACES: [&str; 2] = ["", "/custom"];

pub(super) fn install(hub: &Hub) {
    for name in NAMESPACES {
        install_on(&hub.of(name));
    }
}

fn install_on(namespace: &Namespace) {
    namespace.on_connection(|socket| {
        socket.emit_args("auth", vec![socket.auth().unwrap_or_else(|| json!({}))]);
    });
    namespace.on_raw("message", |socket, args, _ack| {
        socket.emit_args("message-back", args);
    });
    // One argument makes a `message` of the 0.9 model: sent back the same way.
    namespace.on_message(|socket, message, _ack| {
        let arg = match message {
            Message::Text(text) => Value::String(text),
            Message::Json(value) => value,
        };
        socket.emit_args("message-back", vec![arg]);
    });
    namespace.on_raw("message-with-ack", |_socket, args, ack| {
        if let Some(ack) = ack {
            ack.send_args(args);
        }
    });
}
