//! A session as one namespace sees it: what handlers get and emit through.

use std::sync::Arc;
use std::time::Duration;

use ferrio_protocol::{MessageId, Packet, PacketBody};
use parking_lot::Mutex;
use serde_json::Value;

use crate::broadcast::{Broadcast, emitted_event};
use crate::endpoint::AckCallback;
use crate::generation::Generation;
use crate::handshake::HandshakeData;
use crate::hub::HubInner;
use crate::namespace::NamespaceInner;
use crate::reason::DisconnectReason;
use crate::session::{Phase, Session};

/// One session in one namespace (Socket.IO's `socket`). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Socket {
    hub: Arc<HubInner>,
    session: Arc<Session>,
    namespace: Arc<NamespaceInner>,
    /// While its `disconnecting` handler runs: the rooms the socket is leaving, which the
    /// session no longer lists.
    leaving: Option<Arc<[String]>>,
}

impl Socket {
    pub(crate) fn new(
        hub: Arc<HubInner>,
        session: Arc<Session>,
        namespace: Arc<NamespaceInner>,
    ) -> Self {
        Socket {
            hub,
            session,
            namespace,
            leaving: None,
        }
    }

    /// This socket as its `disconnecting` handler sees it: still in `rooms`.
    pub(crate) fn leaving(&self, rooms: &[Box<str>]) -> Socket {
        Socket {
            leaving: Some(rooms.iter().map(|room| room.to_string()).collect()),
            ..self.clone()
        }
    }

    pub(crate) fn namespace_inner(&self) -> &NamespaceInner {
        &self.namespace
    }

    /// The session id (the same in every namespace of the session): what the hub's
    /// broadcasts, [`Namespace::socket`](crate::Namespace::socket) and the admin API name it by.
    pub fn id(&self) -> &str {
        &self.session.id
    }

    /// The id this socket's client knows itself by, as each generation's reference assigns
    /// it: a 0.9 client, the session id; a Socket.IO 4 client (`socket.io-client` 1.x–2.x),
    /// the Engine.IO id, written `/ns#<id>` outside the default namespace; a Socket.IO 5
    /// client, the id its `CONNECT` answer carried (`40{"sid":…}`), which is not the
    /// Engine.IO id. ferrio gives a session one such id for all its namespaces, where
    /// socket.io 4 mints one per namespace.
    pub fn client_id(&self) -> String {
        match (self.session.generation, self.session.engine_names()) {
            (Generation::Engine(ferrio_eio::Revision::V4), Some((socket_id, _))) => {
                socket_id.to_string()
            }
            (Generation::Engine(_), _) if !self.namespace.name.is_empty() => {
                format!("{}#{}", self.namespace.name, self.session.id)
            }
            _ => self.session.id.to_string(),
        }
    }

    /// The namespace: empty for the default one.
    pub fn namespace(&self) -> &str {
        &self.namespace.name
    }

    /// What the handshake carried: headers, query, peer address (docs/protocol.md §2.8).
    pub fn handshake(&self) -> &HandshakeData {
        &self.session.handshake
    }

    /// The wire generation of this client: 0.9, or the Engine.IO revision (3 for
    /// socket.io-client 1.x–2.x, 4 for 3.x–4.x).
    pub fn protocol(&self) -> Generation {
        self.session.generation
    }

    /// What the client's `CONNECT` to this namespace carried: Socket.IO 5's `auth`
    /// (`io(url, { auth })`); `None` for 0.9 and Socket.IO 4 clients, and when it carried
    /// nothing.
    pub fn auth(&self) -> Option<Value> {
        self.session.connect_payload(&self.namespace.name)
    }

    /// Whether the session is still up and in this namespace.
    pub fn connected(&self) -> bool {
        self.session.phase() == Phase::Connected && self.session.has_joined(&self.namespace.name)
    }

    fn packet(&self, body: PacketBody) -> Packet {
        Packet::on(self.namespace.name.clone(), body)
    }

    fn push(&self, packet: &Packet, volatile: bool) -> bool {
        self.hub.push_packet(&self.session, packet, volatile)
    }

    fn event(&self, event: &str, args: Vec<Value>, volatile: bool) -> bool {
        emitted_event(event, args).is_some_and(|body| self.push(&self.packet(body), volatile))
    }

    /// Bounds the wait for the ack of the next emit (`socket.timeout(d)` in socket.io 4).
    pub fn timeout(&self, timeout: Duration) -> TimedEmit<'_> {
        TimedEmit {
            socket: self,
            timeout,
        }
    }

    /// Emits `event` to this client; `false` when the session is gone or the name reserved.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> bool {
        self.event(event, args, false)
    }

    /// Emits `event` asking for an ack with data (`5:N+::…`); `callback` runs with the
    /// client's ack arguments.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        callback: impl FnOnce(Vec<Value>) + Send + 'static,
    ) -> bool {
        let Some(body) = emitted_event(event, args) else {
            return false;
        };
        self.emit_asking(body, Box::new(callback)).is_some()
    }

    /// Emits `body` with a new message id whose ack runs `callback`; the id, or `None` when
    /// the session is gone or did not take the packet.
    fn emit_asking(&self, body: PacketBody, callback: AckCallback) -> Option<u64> {
        let id = self
            .session
            .register_ack(&self.namespace.name, Some(callback))?;
        let packet = self.packet(body).with_id(MessageId {
            value: id,
            data: true,
        });
        self.push(&packet, false).then_some(id)
    }

    /// Sends a text message (type 3).
    pub fn send(&self, text: &str) -> bool {
        self.push(&self.packet(PacketBody::Message(text.to_owned())), false)
    }

    /// Sends a text message the client library acks without data (`3:N::…`); `callback` runs
    /// when it does.
    pub fn send_with_ack(&self, text: &str, callback: impl FnOnce() + Send + 'static) -> bool {
        let Some(id) = self
            .session
            .register_ack(&self.namespace.name, Some(Box::new(move |_| callback())))
        else {
            return false;
        };
        let packet = self
            .packet(PacketBody::Message(text.to_owned()))
            .with_id(MessageId {
                value: id,
                data: false,
            });
        self.push(&packet, false)
    }

    /// Sends a JSON message (type 4).
    pub fn json(&self, value: Value) -> bool {
        self.push(&self.packet(PacketBody::Json(value)), false)
    }

    /// Emits to this client only if its transport is ready now; otherwise drops the packet.
    pub fn volatile_emit(&self, event: &str, args: Vec<Value>) -> bool {
        self.event(event, args, true)
    }

    /// Everyone in the namespace but this socket (`socket.broadcast`).
    pub fn broadcast(&self) -> Broadcast {
        Broadcast::new(
            Arc::clone(&self.hub),
            Arc::clone(&self.namespace),
            Some(Arc::clone(&self.session.id)),
        )
    }

    /// Everyone in `room` but this socket (`socket.broadcast.to(room)`). Unlike 0.9, where
    /// `socket.to(room)` without `broadcast` ignored the room, this always targets it.
    pub fn to(&self, room: &str) -> Broadcast {
        self.broadcast().to(room)
    }

    /// Joins `room` of this namespace. Nothing goes on the wire.
    pub fn join(&self, room: &str) {
        if room.is_empty() {
            return;
        }
        if self.session.add_room(&self.namespace.name, room) {
            self.namespace.join_room(&self.session, room);
        }
    }

    /// Leaves `room`; leaving twice is harmless.
    pub fn leave(&self, room: &str) {
        if room.is_empty() {
            return;
        }
        self.session.remove_room(&self.namespace.name, room);
        self.namespace.leave_room(&self.session.id, room);
    }

    /// The rooms this socket joined (in its `disconnecting` handler, those it is leaving).
    pub fn rooms(&self) -> Vec<String> {
        match &self.leaving {
            Some(rooms) => rooms.to_vec(),
            None => self.session.rooms(&self.namespace.name),
        }
    }

    /// Kicks the client. On the default namespace the whole session ends (`booted`) and the
    /// client gets `0::` — at once, or on its next poll — so it does not reconnect. On another
    /// namespace only that namespace is left, with `0::/ns`.
    pub fn disconnect(&self) {
        if self.namespace.name.is_empty() {
            self.hub.end(&self.session, DisconnectReason::Booted, true);
        } else {
            self.hub.leave_namespace(
                &self.session,
                &self.namespace.name,
                DisconnectReason::Booted,
                true,
            );
        }
    }
}

/// The application's answer to a client message that asked for an ack with data (`+`).
/// Dropping it unanswered sends nothing, as in Socket.IO.
#[derive(Debug)]
#[must_use = "the client gets its ack only when send is called"]
pub struct AckReply {
    hub: Arc<HubInner>,
    session: Arc<Session>,
    endpoint: String,
    id: u64,
}

impl AckReply {
    pub(crate) fn new(
        hub: Arc<HubInner>,
        session: Arc<Session>,
        endpoint: String,
        id: u64,
    ) -> Self {
        AckReply {
            hub,
            session,
            endpoint,
            id,
        }
    }

    /// Acknowledges with `args` (`6:::id+[args]`), or without data when `args` is empty.
    pub fn send(self, args: Vec<Value>) {
        let args = (!args.is_empty()).then_some(args);
        let packet = Packet::on(
            self.endpoint,
            PacketBody::Ack {
                acked: self.id,
                args,
            },
        );
        self.hub.push_packet(&self.session, &packet, false);
    }
}

/// An ack that did not come in time (or whose session ended first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no ack within {0:?}")]
pub struct AckTimeout(pub Duration);

/// An emit whose ack has a deadline: [`Socket::timeout`].
#[derive(Debug, Clone, Copy)]
#[must_use = "nothing is sent until emit_with_ack is called"]
pub struct TimedEmit<'a> {
    socket: &'a Socket,
    timeout: Duration,
}

/// The callback of a timed emit, until either the ack or the deadline takes it.
type TimedCallback = Box<dyn FnOnce(Result<Vec<Value>, AckTimeout>) + Send>;

impl TimedEmit<'_> {
    /// Emits `event` asking for an ack with data; `callback` runs exactly once, with the
    /// client's ack arguments or, when none came within the timeout, with [`AckTimeout`]. A
    /// session that ends first gets its callback at the deadline. `false`, and the callback
    /// never runs, when the session is gone or the name reserved, or outside a Tokio runtime
    /// (which the deadline needs).
    pub fn emit_with_ack(
        self,
        event: &str,
        args: Vec<Value>,
        callback: impl FnOnce(Result<Vec<Value>, AckTimeout>) + Send + 'static,
    ) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let Some(body) = emitted_event(event, args) else {
            return false;
        };
        let pending: Arc<Mutex<Option<TimedCallback>>> =
            Arc::new(Mutex::new(Some(Box::new(callback))));
        let answered = Arc::clone(&pending);
        let on_ack: AckCallback = Box::new(move |args| {
            let callback = answered.lock().take();
            if let Some(callback) = callback {
                callback(Ok(args));
            }
        });
        let Some(id) = self.socket.emit_asking(body, on_ack) else {
            return false;
        };
        let (session, namespace) = (
            Arc::clone(&self.socket.session),
            self.socket.namespace.name.clone(),
        );
        let timeout = self.timeout;
        runtime.spawn(async move {
            tokio::time::sleep(timeout).await;
            let callback = pending.lock().take();
            if let Some(callback) = callback {
                // A late ack finds nothing to run.
                drop(session.take_ack(&namespace, id));
                callback(Err(AckTimeout(timeout)));
            }
        });
        true
    }
}
