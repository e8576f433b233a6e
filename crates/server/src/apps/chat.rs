//! The chat of the tutorial, exactly:
//!
//! ```js
//! socket.on('toServer', function (data) {
//!   var msg = data.nome + ":" + data.msg;
//!   socket.emit('toClient', msg);
//!   socket.broadcast.emit('toClient', msg);
//! });
//! ```
//!
//! plus: a line that carries `data` (binary data, say) hands it on as a second argument,
//! `toClient(msg, data)`; a `message` that asks for an ack with data is acked with its own
//! text.

use ferrio_hub::{Hub, Message};
use serde_json::Value;

use super::js_text;

/// Installs the chat on the default namespace.
pub fn install(hub: &Hub) {
    let sockets = hub.sockets();
    sockets.on("toServer", |socket, args, _ack| {
        let data = args.first();
        let line = format!(
            "{}:{}",
            js_text(data.and_then(|d| d.get("nome"))),
            js_text(data.and_then(|d| d.get("msg")))
        );
        let mut out = vec![Value::String(line)];
        if let Some(attached) = data.and_then(|d| d.get("data")) {
            out.push(attached.clone());
        }
        socket.emit("toClient", out.clone());
        socket.broadcast().emit("toClient", out);
    });
    sockets.on_message(|_socket, message, ack| {
        if let Some(ack) = ack {
            let text = match message {
                Message::Text(text) => text,
                Message::Json(value) => js_text(Some(&value)),
            };
            ack.send(vec![Value::String(text)]);
        }
    });
}
