//! A session as one namespace sees it: what handlers get and emit through.

use std::sync::Arc;
use std::time::Duration;

use ferrio_protocol::{MessageId, Packet, PacketBody};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::oneshot;
use tracing::warn;

use crate::broadcast::{Broadcast, emitted_data, emitted_event};
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

    pub(crate) fn hub(&self) -> &HubInner {
        &self.hub
    }

    /// Queues `packet` for this socket's client; `false` if it was not accepted.
    pub(crate) fn push_packet(&self, packet: &Packet) -> bool {
        self.push(packet, false)
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

    fn emit_body(&self, body: Option<PacketBody>, volatile: bool) -> bool {
        body.is_some_and(|body| self.push(&self.packet(body), volatile))
    }

    /// Bounds the wait for the ack of the next emit (`socket.timeout(d)` in socket.io 4).
    pub fn timeout(&self, timeout: Duration) -> TimedEmit<'_> {
        TimedEmit {
            socket: self,
            timeout,
        }
    }

    /// Emits `event` to this client with `data`, any [`Serialize`] value, as its one
    /// argument. `false` when the session is gone or did not take the packet, or the name is
    /// reserved, or `data` has no JSON form (both logged).
    pub fn emit(&self, event: &str, data: impl Serialize) -> bool {
        self.emit_body(emitted_data(event, data), false)
    }

    /// Emits `event` with any number of arguments (`emit('e', a, b)`), as they are.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> bool {
        self.emit_body(emitted_event(event, args), false)
    }

    /// Emits `event` with `data` asking for an ack with data (`5:N+::…`), and waits for it:
    /// the client's reply read as `T` (its one argument; `null` for none, an array for
    /// several, as [`Data`](crate::Data) reads a client's event). The packet is queued when
    /// this is called, so emits keep their order whenever the reply is awaited. Without a
    /// deadline the wait ends only with the reply or the socket's disconnection; see
    /// [`Socket::timeout`].
    pub fn emit_with_ack<T>(
        &self,
        event: &str,
        data: impl Serialize,
    ) -> impl Future<Output = Result<T, AckError>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        let wait = self.emit_waiting(emitted_data(event, data));
        async move { wait?.reply().await }
    }

    /// Emits `event` with `args` asking for an ack with data; `callback` runs with the
    /// client's ack arguments, as they are.
    pub fn emit_args_with_ack(
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

    /// Emits `body` asking for an ack, and the wait for it.
    fn emit_waiting(&self, body: Option<PacketBody>) -> Result<AckWait, AckError> {
        let (answer, reply) = oneshot::channel();
        let on_ack: AckCallback = Box::new(move |args| {
            // The waiter may have gone: nobody wants the reply then.
            let _ = answer.send(args);
        });
        let id = body
            .and_then(|body| self.emit_asking(body, on_ack))
            .ok_or(AckError::NotSent)?;
        Ok(AckWait {
            session: Arc::clone(&self.session),
            namespace: self.namespace.name.clone(),
            id,
            reply: Some(reply),
        })
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
        if self.push(&packet, false) {
            return Some(id);
        }
        // Not sent (a name this client's generation reserves, a session ending): no ack comes.
        drop(self.session.take_ack(&self.namespace.name, id));
        None
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

    /// [`Socket::emit`] only if the client's transport is ready now; otherwise the packet is
    /// dropped, by design.
    pub fn volatile_emit(&self, event: &str, data: impl Serialize) -> bool {
        self.emit_body(emitted_data(event, data), true)
    }

    /// [`Socket::emit_args`] only if the client's transport is ready now.
    pub fn volatile_emit_args(&self, event: &str, args: Vec<Value>) -> bool {
        self.emit_body(emitted_event(event, args), true)
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

/// The application's answer to a client message that asked for an ack with data (`+`): the
/// client's callback runs with what is sent. Dropping it unanswered sends nothing, as in
/// Socket.IO.
#[derive(Debug)]
#[must_use = "the client gets its ack only when send is called"]
pub struct AckSender {
    hub: Arc<HubInner>,
    session: Arc<Session>,
    endpoint: String,
    id: u64,
}

impl AckSender {
    pub(crate) fn new(
        hub: Arc<HubInner>,
        session: Arc<Session>,
        endpoint: String,
        id: u64,
    ) -> Self {
        AckSender {
            hub,
            session,
            endpoint,
            id,
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Acknowledges with `data`, any [`Serialize`] value, as the callback's one argument.
    /// Data without a JSON form is not sent (logged): the client's callback does not run.
    pub fn send(self, data: impl Serialize) {
        match serde_json::to_value(data) {
            Ok(value) => self.send_args(vec![value]),
            Err(error) => {
                warn!(sid = %self.session.id, %error, "ack data has no JSON form; no ack sent");
            }
        }
    }

    /// Acknowledges with any number of arguments (`6:::id+[args]`), or without data when
    /// `args` is empty.
    pub fn send_args(self, args: Vec<Value>) {
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

/// Why an emit that waited for its ack got no reply it could use.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// No ack came within the deadline of [`Socket::timeout`].
    #[error("no ack within {0:?}")]
    Timeout(Duration),
    /// The socket disconnected, or left the namespace, before it acknowledged.
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
    /// The emit was not sent: the socket was gone, the event name is reserved or the data
    /// has no JSON form (the last two logged).
    #[error("the emit was not sent")]
    NotSent,
    /// The client's reply does not read as the type asked for.
    #[error("the ack does not read as the type asked for: {0}")]
    Decode(#[source] serde_json::Error),
}

/// The wait for one ack. Dropped before the reply, it forgets the ack, so an emit whose
/// reply nobody awaits holds nothing for the rest of the session.
struct AckWait {
    session: Arc<Session>,
    namespace: String,
    id: u64,
    reply: Option<oneshot::Receiver<Vec<Value>>>,
}

impl AckWait {
    /// The reply read as `T`, however long it takes.
    async fn reply<T: DeserializeOwned>(mut self) -> Result<T, AckError> {
        let reply = self.reply.as_mut().ok_or(AckError::Disconnected)?;
        let answered = reply.await;
        // Answered, or gone with its session: either way nothing is left to forget.
        self.reply = None;
        let args = answered.map_err(|_| AckError::Disconnected)?;
        crate::handler::from_args(args).map_err(AckError::Decode)
    }
}

impl Drop for AckWait {
    fn drop(&mut self) {
        // Only an ack still pending is ours to forget: once answered or gone with its
        // namespace, the same id may belong to a later emit (ids restart when a socket
        // joins a namespace again).
        let pending = self.reply.as_mut().is_some_and(|reply| {
            matches!(reply.try_recv(), Err(oneshot::error::TryRecvError::Empty))
        });
        if pending {
            drop(self.session.take_ack(&self.namespace, self.id));
        }
    }
}

/// An emit whose ack has a deadline: [`Socket::timeout`].
#[derive(Debug, Clone, Copy)]
#[must_use = "nothing is sent until emit_with_ack is called"]
pub struct TimedEmit<'a> {
    socket: &'a Socket,
    timeout: Duration,
}

impl TimedEmit<'_> {
    /// [`Socket::emit_with_ack`] with a deadline: [`AckError::Timeout`] when no ack came in
    /// time (a late ack then finds nothing waiting), [`AckError::Disconnected`] at once when
    /// the socket goes first.
    pub fn emit_with_ack<T>(
        self,
        event: &str,
        data: impl Serialize,
    ) -> impl Future<Output = Result<T, AckError>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        let wait = self.socket.emit_waiting(emitted_data(event, data));
        let timeout = self.timeout;
        async move {
            tokio::time::timeout(timeout, wait?.reply())
                .await
                .unwrap_or(Err(AckError::Timeout(timeout)))
        }
    }
}

#[cfg(test)]
mod tests {
    use ferrio_protocol::TransportKind;

    use crate::{AttachMode, ConnectInfo, Hub, HubConfig};

    #[tokio::test(start_paused = true)]
    async fn a_wait_dropped_before_its_reply_forgets_its_ack_and_a_held_one_keeps_it() {
        let hub = Hub::new(HubConfig::default()).expect("the default config is valid");
        let info = ConnectInfo {
            headers: vec![("host".to_owned(), "localhost".to_owned())],
            address: "127.0.0.1:4000".parse().expect("an address"),
            query: Vec::new(),
            secure: false,
        };
        let sid = hub.handshake(info).await.expect("accepted").sid;
        let _stream = hub
            .attach(&sid, TransportKind::Websocket, AttachMode::Stream)
            .expect("attached");
        let socket = hub.sockets().socket(&sid).expect("joined");
        drop(socket.emit_with_ack::<String>("dropped", 1));
        assert!(
            socket.session.take_ack("", 1).is_none(),
            "the dropped wait took its ack back"
        );
        let kept = socket.emit_with_ack::<String>("kept", 2);
        assert!(
            socket.session.take_ack("", 2).is_some(),
            "a wait still held keeps its ack"
        );
        drop(kept);
    }
}
