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
//! text. The line is read into `Line` by the rule of [`Data`]: an object `{nome, msg}` (or
//! an array `[nome, msg]`, as serde reads a struct), each field written as JavaScript writes
//! it; a line that does not read so (a bare string or number, where the original would say
//! `undefined:undefined`) is refused as arguments that do not fit, and a second argument is
//! read as part of the line, where the original ignored it.

use ferrio_hub::{Data, Hub, Message, Socket};
use serde::Deserialize;
use serde_json::Value;

use super::js_text;

/// A line of the chat, as the demo page sends it: `{ nome, msg }`, and `data` when the
/// line carries some (binary data, say).
#[derive(Debug, Deserialize)]
struct Line {
    #[serde(default)]
    nome: JsText,
    #[serde(default)]
    msg: JsText,
    /// Handed on whenever it is there, `null` included, as the original does.
    #[serde(default, deserialize_with = "present")]
    data: Option<Value>,
}

/// A field that is there, whatever its value: `Some(Value::Null)` for `null`.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// A JSON value as JavaScript writes it into a string (`undefined` when absent), so
/// `nome + ":" + msg` reads as the original's whatever a client sends.
#[derive(Debug)]
struct JsText(String);

impl Default for JsText {
    fn default() -> Self {
        JsText(js_text(None))
    }
}

impl<'de> Deserialize<'de> for JsText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A string, by far the most common, is kept as it came rather than copied.
        Ok(JsText(match Value::deserialize(deserializer)? {
            Value::String(text) => text,
            other => js_text(Some(&other)),
        }))
    }
}

/// Installs the chat on the default namespace.
pub fn install(hub: &Hub) {
    let sockets = hub.sockets();
    sockets.on(
        "toServer",
        |socket: Socket, Data(line): Data<Line>| async move {
            let text = format!("{}:{}", line.nome.0, line.msg.0);
            match line.data {
                None => {
                    socket.emit("toClient", &text);
                    socket.broadcast().emit("toClient", &text);
                }
                Some(attached) => {
                    let args = vec![Value::String(text), attached];
                    socket.emit_args("toClient", args.clone());
                    socket.broadcast().emit_args("toClient", args);
                }
            }
        },
    );
    sockets.on_message(|_socket, message, ack| {
        if let Some(ack) = ack {
            let text = match message {
                Message::Text(text) => text,
                Message::Json(value) => js_text(Some(&value)),
            };
            ack.send(text);
        }
    });
}
