//! The test application of docs/protocol.md (§9), which the end-to-end tests and
//! the interop suites run against:
//!
//! - default namespace: `echo` (ack with the same arguments when asked, else emit `echo`
//!   back), `message` (send the text back; ack with `('x', 2)` when asked), `bcast`
//!   (`broadcast.emit('bmsg', arg)`), `join` (join room `arg`), `toroom` (`in(room).emit(
//!   'roommsg', msg)`), `kick` (`socket.disconnect()`), `askack` (`emit('q', 1, fn)` then
//!   `send('hello', fn)`), `multi` (emit `a(1)`, emit `b('é€😀')`, send `x`), `volatile`
//!   (a volatile `vol` and a normal `nonvol` emit with the same arguments);
//! - namespace `/chat`: emits `hi('chat')` on connection and acks `echo`; its authorization
//!   refuses sessions whose handshake query has `chat_auth=deny` (and fails for
//!   `chat_auth=error`);
//! - namespace `/private`: lets in only a Socket.IO 5 client whose `auth` carries
//!   `{"token":"secret"}`, refusing others with the message `not allowed` and the data
//!   `{"reason":"token"}`, then acks `echo`; its authorization is asynchronous and takes a
//!   few milliseconds, as a token service would;
//! - the handshake authorization refuses `auth=deny` and fails for `auth=error`.
//!
//! Everything observable only on the server — connections, disconnect reasons, ack callbacks —
//! is recorded in a [`Log`].

use std::sync::Arc;
use std::time::Duration;

use ferrio_hub::{Authorization, DisconnectReason, Hub, Message};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::js_text;

/// Something the application saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// The authorization hook saw a handshake with this `token` query value.
    Authorized {
        /// The query's `token`, if any.
        token: Option<String>,
    },
    /// A socket joined a namespace.
    Connection {
        /// Session id.
        sid: String,
        /// Namespace.
        namespace: String,
        /// The handshake query's `token`, if any.
        token: Option<String>,
        /// Whether the handshake had an `Origin`.
        xdomain: bool,
    },
    /// A socket left a namespace.
    Disconnect {
        /// Session id.
        sid: String,
        /// Namespace.
        namespace: String,
        /// Why.
        reason: DisconnectReason,
    },
    /// The client acked `q` with these arguments.
    AckedQuestion {
        /// Session id.
        sid: String,
        /// The ack's arguments.
        args: Vec<Value>,
    },
    /// The client acked the `hello` message.
    AckedHello {
        /// Session id.
        sid: String,
    },
}

/// What the conformance application observed, in order. Cheap to clone; clones share.
#[derive(Debug, Clone, Default)]
pub struct Log {
    entries: Arc<Mutex<Vec<Observation>>>,
    changed: Arc<Notify>,
}

impl Log {
    fn record(&self, observation: Observation) {
        self.entries.lock().push(observation);
        self.changed.notify_waiters();
    }

    /// Everything observed so far.
    pub fn entries(&self) -> Vec<Observation> {
        self.entries.lock().clone()
    }

    /// Waits up to `timeout` for an observation matching `predicate`; returns it.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        predicate: impl Fn(&Observation) -> bool,
    ) -> Option<Observation> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(found) = self.entries.lock().iter().find(|o| predicate(o)).cloned() {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return None;
            }
        }
    }
}

/// Installs the application on `hub`, recording into `log`.
pub fn install(hub: &Hub, log: &Log) {
    let auth_log = log.clone();
    hub.authorize(move |handshake| {
        auth_log.record(Observation::Authorized {
            token: handshake.query("token").map(str::to_owned),
        });
        match handshake.query("auth") {
            Some("deny") => Authorization::Refuse,
            Some("error") => Authorization::Error("authorization backend failed".to_owned()),
            _ => Authorization::Accept,
        }
    });
    install_default(hub, log);
    install_chat(hub, log);
    install_private(hub);
}

fn record_lifecycle(namespace: &ferrio_hub::Namespace, log: &Log) {
    let connection_log = log.clone();
    namespace.on_connection(move |socket| {
        connection_log.record(Observation::Connection {
            sid: socket.id().to_owned(),
            namespace: socket.namespace().to_owned(),
            token: socket.handshake().query("token").map(str::to_owned),
            xdomain: socket.handshake().xdomain,
        });
        if socket.namespace() == "/chat" {
            socket.emit_args("hi", vec![json!("chat")]);
        }
    });
    let disconnect_log = log.clone();
    namespace.on_disconnect(move |socket, reason| {
        disconnect_log.record(Observation::Disconnect {
            sid: socket.id().to_owned(),
            namespace: socket.namespace().to_owned(),
            reason,
        });
    });
}

fn install_default(hub: &Hub, log: &Log) {
    let sockets = hub.sockets();
    record_lifecycle(&sockets, log);
    sockets.on_raw("echo", |socket, args, ack| match ack {
        Some(ack) => ack.send_args(args),
        None => {
            socket.emit_args("echo", args);
        }
    });
    sockets.on_message(|socket, message, ack| {
        let text = match message {
            Message::Text(text) => text,
            Message::Json(value) => js_text(Some(&value)),
        };
        socket.send(&text);
        if let Some(ack) = ack {
            ack.send_args(vec![json!("x"), json!(2)]);
        }
    });
    sockets.on_raw("bcast", |socket, args, _ack| {
        let arg = args.into_iter().next().unwrap_or(Value::Null);
        socket.broadcast().emit_args("bmsg", vec![arg]);
    });
    sockets.on_raw("join", |socket, args, _ack| {
        socket.join(&js_text(args.first()));
    });
    let hub_for_rooms = hub.clone();
    sockets.on_raw("toroom", move |_socket, args, _ack| {
        let room = js_text(args.first());
        let message = args.get(1).cloned().unwrap_or(Value::Null);
        hub_for_rooms
            .sockets()
            .to(&room)
            .emit_args("roommsg", vec![message]);
    });
    sockets.on_raw("kick", |socket, _args, _ack| socket.disconnect());
    let ack_log = log.clone();
    sockets.on_raw("askack", move |socket, _args, _ack| {
        let question_log = ack_log.clone();
        let sid = socket.id().to_owned();
        socket.emit_args_with_ack("q", vec![json!(1)], move |args| {
            question_log.record(Observation::AckedQuestion { sid, args });
        });
        let hello_log = ack_log.clone();
        let sid = socket.id().to_owned();
        socket.send_with_ack("hello", move || {
            hello_log.record(Observation::AckedHello { sid })
        });
    });
    sockets.on_raw("multi", |socket, _args, _ack| {
        socket.emit_args("a", vec![json!(1)]);
        socket.emit_args("b", vec![json!("é€😀")]);
        socket.send("x");
    });
    sockets.on_raw("volatile", |socket, args, _ack| {
        socket.volatile_emit_args("vol", args.clone());
        socket.emit_args("nonvol", args);
    });
}

/// How long `/private`'s authorization takes to check a token.
const TOKEN_CHECK: Duration = Duration::from_millis(5);

fn install_private(hub: &Hub) {
    let private = hub.of("/private");
    // Asynchronous, as a token service would be: the client's packets for the namespace are
    // held while it decides.
    private.authorize_join_async(|_handshake, join| async move {
        tokio::time::sleep(TOKEN_CHECK).await;
        let token = join.auth.as_ref().and_then(|auth| auth.get("token"));
        if token.and_then(Value::as_str) == Some("secret") {
            Authorization::Accept
        } else {
            Authorization::RefuseWith {
                message: "not allowed".to_owned(),
                data: Some(json!({"reason": "token"})),
            }
        }
    });
    private.on_raw("echo", |_socket, args, ack| {
        if let Some(ack) = ack {
            ack.send_args(args);
        }
    });
}

fn install_chat(hub: &Hub, log: &Log) {
    let chat = hub.of("/chat");
    chat.authorize(|handshake, _query| match handshake.query("chat_auth") {
        Some("deny") => Authorization::Refuse,
        Some("error") => Authorization::Error("chat authorization backend failed".to_owned()),
        _ => Authorization::Accept,
    });
    record_lifecycle(&chat, log);
    chat.on_raw("echo", |socket, args, ack| match ack {
        Some(ack) => ack.send_args(args),
        None => {
            socket.emit_args("echo", args);
        }
    });
}
