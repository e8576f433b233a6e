//! Namespaces (`io.of('/chat')`), their handlers and their rooms (docs/protocol.md §4.10, §4.11).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::Value;
use tracing::debug;

use crate::broadcast::Broadcast;
use crate::handler::{EventCall, EventHandler};
use crate::handshake::{Authorization, HandshakeData};
use crate::hub::HubInner;
use crate::reason::DisconnectReason;
use crate::session::Session;
use crate::socket::{AckSender, Socket};

/// A `message` from the client: type 3 (text) or type 4 (JSON).
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A plain string message (`socket.send`).
    Text(String),
    /// A JSON message (`socket.json.send`).
    Json(Value),
}

type ConnectionHandler = Arc<dyn Fn(&Socket) + Send + Sync>;
type RawEventHandler = Arc<dyn Fn(&Socket, Vec<Value>, Option<AckSender>) + Send + Sync>;
type MessageHandler = Arc<dyn Fn(&Socket, Message, Option<AckSender>) + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(&Socket, DisconnectReason) + Send + Sync>;
type DisconnectingHandler = Arc<dyn Fn(&Socket, DisconnectReason) + Send + Sync>;
/// A namespace's authorization hook, in either form.
#[derive(Clone)]
pub(crate) enum NamespaceAuthorization {
    /// Decides at once.
    Now(Arc<DecideJoin>),
    /// Decides after waiting on something.
    Waiting(Arc<dyn Fn(HandshakeData, Join) -> DecidingJoin + Send + Sync>),
}

/// A join hook that decides at once.
pub(crate) type DecideJoin = dyn Fn(&HandshakeData, JoinRequest<'_>) -> Authorization + Send + Sync;

/// An asynchronous join hook's decision, on its way.
pub(crate) type DecidingJoin = Pin<Box<dyn Future<Output = Authorization> + Send>>;

/// What an asynchronous join hook gets besides the handshake data: the join request, owned,
/// since the hook may keep it across its waits.
#[derive(Debug, Clone, Default)]
pub struct Join {
    /// The query of a 0.9 `1::/ns:?a=b` or of a Socket.IO 4 `40/ns?a=b,`.
    pub query: Option<String>,
    /// The payload of a Socket.IO 5 `CONNECT` (`io(url, { auth })`).
    pub auth: Option<Value>,
}

/// What a client's request to join a namespace carries, for the namespace's authorization
/// hook ([`Namespace::authorize_join`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct JoinRequest<'a> {
    /// The query of a 0.9 `1::/ns:?a=b` or of a Socket.IO 4 `40/ns?a=b,`.
    pub query: Option<&'a str>,
    /// The payload of a Socket.IO 5 `CONNECT` (`io(url, { auth })`).
    pub auth: Option<&'a Value>,
}

#[derive(Default)]
struct Handlers {
    authorization: Option<NamespaceAuthorization>,
    connection: Option<ConnectionHandler>,
    events: HashMap<String, RawEventHandler>,
    message: Option<MessageHandler>,
    disconnecting: Option<DisconnectingHandler>,
    disconnect: Option<DisconnectHandler>,
}

/// The members of one room, by session id.
type Members = HashMap<Arc<str>, Arc<Session>>;

pub(crate) struct NamespaceInner {
    pub(crate) name: String,
    handlers: RwLock<Handlers>,
    /// Room name → members. The empty room is the namespace itself: every joined session.
    rooms: RwLock<HashMap<String, Members>>,
}

impl std::fmt::Debug for NamespaceInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl NamespaceInner {
    pub(crate) fn new(name: String) -> Self {
        NamespaceInner {
            name,
            handlers: RwLock::new(Handlers::default()),
            rooms: RwLock::new(HashMap::new()),
        }
    }

    /// The namespace's authorization hook, if it has one.
    pub(crate) fn authorization(&self) -> Option<NamespaceAuthorization> {
        self.handlers.read().authorization.clone()
    }

    pub(crate) fn add_member(&self, session: &Arc<Session>) {
        self.join_room(session, "");
    }

    pub(crate) fn join_room(&self, session: &Arc<Session>, room: &str) {
        self.rooms
            .write()
            .entry(room.to_owned())
            .or_default()
            .insert(Arc::clone(&session.id), Arc::clone(session));
    }

    pub(crate) fn leave_room(&self, sid: &str, room: &str) {
        let mut rooms = self.rooms.write();
        if let Some(members) = rooms.get_mut(room) {
            members.remove(sid);
            if members.is_empty() && !room.is_empty() {
                rooms.remove(room);
            } else {
                shrink_when_sparse(members);
            }
        }
    }

    /// Removes a session from the namespace and every room it joined there.
    pub(crate) fn remove_member(&self, sid: &str, rooms: &[Box<str>]) {
        self.leave_room(sid, "");
        for room in rooms {
            self.leave_room(sid, room);
        }
    }

    pub(crate) fn members(&self, room: &str) -> Vec<Arc<Session>> {
        self.rooms
            .read()
            .get(room)
            .map(|members| members.values().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn fire_connection(&self, socket: &Socket) {
        let handler = self.handlers.read().connection.clone();
        if let Some(handler) = handler {
            handler(socket);
        }
    }

    pub(crate) fn fire_event(
        &self,
        socket: &Socket,
        name: &str,
        args: Vec<Value>,
        ack: Option<AckSender>,
    ) {
        let handler = self.handlers.read().events.get(name).cloned();
        match handler {
            Some(handler) => handler(socket, args, ack),
            None => {
                debug!(sid = socket.id(), namespace = %self.name, event = name, "event without handler")
            }
        }
    }

    pub(crate) fn fire_message(&self, socket: &Socket, message: Message, ack: Option<AckSender>) {
        let handler = self.handlers.read().message.clone();
        if let Some(handler) = handler {
            handler(socket, message, ack);
        }
    }

    /// Runs the `disconnecting` handler, if any, with the socket's `rooms` (which it has
    /// already left in the session, but not yet in the namespace).
    pub(crate) fn fire_disconnecting(
        &self,
        socket: &Socket,
        rooms: &[Box<str>],
        reason: DisconnectReason,
    ) {
        let handler = self.handlers.read().disconnecting.clone();
        if let Some(handler) = handler {
            handler(&socket.leaving(rooms), reason);
        }
    }

    pub(crate) fn fire_disconnect(&self, socket: &Socket, reason: DisconnectReason) {
        let handler = self.handlers.read().disconnect.clone();
        if let Some(handler) = handler {
            handler(socket, reason);
        }
    }
}

/// A namespace: `io.sockets` for the default one, `io.of("/chat")` for others. Registers
/// handlers and emits to its members or its rooms.
#[derive(Debug, Clone)]
pub struct Namespace {
    hub: Arc<HubInner>,
    inner: Arc<NamespaceInner>,
}

impl Namespace {
    pub(crate) fn new(hub: Arc<HubInner>, inner: Arc<NamespaceInner>) -> Self {
        Namespace { hub, inner }
    }

    /// The namespace's name: empty for the default namespace, else such as `/chat`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Decides whether a session may join this namespace (`1::/ns`, docs/protocol.md §2.7). The
    /// hook gets the session's handshake data and the connect packet's query (`1::/ns:?a=b`).
    pub fn authorize(
        &self,
        hook: impl Fn(&HandshakeData, Option<&str>) -> Authorization + Send + Sync + 'static,
    ) -> &Self {
        self.authorize_join(move |handshake, request| hook(handshake, request.query))
    }

    /// [`Namespace::authorize`] with all the join request carries: the query, and a Socket.IO
    /// 5 client's `auth` payload. [`Authorization::RefuseWith`] tells a Socket.IO client why.
    pub fn authorize_join(
        &self,
        hook: impl Fn(&HandshakeData, JoinRequest<'_>) -> Authorization + Send + Sync + 'static,
    ) -> &Self {
        self.inner.handlers.write().authorization =
            Some(NamespaceAuthorization::Now(Arc::new(hook)));
        self
    }

    /// [`Namespace::authorize_join`] for a decision that waits on something (a database, a
    /// token service checking a Socket.IO 5 client's `auth`), as socket.io 4's `io.use`
    /// middleware may. The hook gets the session's handshake data and the join request,
    /// owned. Meanwhile the client's packets for this namespace are held, and handled in
    /// their order once it has joined (dropped if it is refused, as they would be for a
    /// namespace it never joined); its other namespaces go on. A hook that has not decided
    /// within 10 seconds refuses the join as `Error` does. It replaces a hook set before, of
    /// either form.
    ///
    /// ```
    /// # use ferrio_hub::{Authorization, Hub, HubConfig};
    /// # async fn token_is_valid(token: &str) -> bool { !token.is_empty() }
    /// # let io = Hub::new(HubConfig::default()).unwrap();
    /// io.of("/admin").authorize_join_async(|_handshake, join| async move {
    ///     let token = join.auth.as_ref().and_then(|auth| auth["token"].as_str());
    ///     match token {
    ///         Some(token) if token_is_valid(token).await => Authorization::Accept,
    ///         _ => Authorization::RefuseWith {
    ///             message: "not allowed".to_owned(),
    ///             data: None,
    ///         },
    ///     }
    /// });
    /// ```
    pub fn authorize_join_async<F, Fut>(&self, hook: F) -> &Self
    where
        F: Fn(HandshakeData, Join) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Authorization> + Send + 'static,
    {
        let boxed = move |handshake, join| -> DecidingJoin { Box::pin(hook(handshake, join)) };
        self.inner.handlers.write().authorization =
            Some(NamespaceAuthorization::Waiting(Arc::new(boxed)));
        self
    }

    /// Runs `handler` for every socket that joins the namespace (`connection`).
    pub fn on_connection(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) -> &Self {
        self.inner.handlers.write().connection = Some(Arc::new(handler));
        self
    }

    /// Runs `handler` for every socket that joins the namespace, after the connection handler
    /// already registered (which [`Namespace::on_connection`] would replace). For observers,
    /// such as webhook notifications, that must not take the application's place.
    pub fn also_on_connection(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) -> &Self {
        let mut handlers = self.inner.handlers.write();
        let previous = handlers.connection.take();
        handlers.connection = Some(Arc::new(move |socket: &Socket| {
            if let Some(previous) = &previous {
                previous(socket);
            }
            handler(socket);
        }));
        self
    }

    /// Runs `handler` when a socket of this namespace disconnects, after the disconnect
    /// handler already registered (which [`Namespace::on_disconnect`] would replace).
    pub fn also_on_disconnect(
        &self,
        handler: impl Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    ) -> &Self {
        let mut handlers = self.inner.handlers.write();
        let previous = handlers.disconnect.take();
        handlers.disconnect = Some(Arc::new(move |socket: &Socket, reason| {
            if let Some(previous) = &previous {
                previous(socket, reason);
            }
            handler(socket, reason);
        }));
        self
    }

    /// Runs `handler` for the client event `event`: an `async` function whose arguments
    /// are each taken from the event ([`FromEvent`](crate::FromEvent)): the [`Socket`], the
    /// arguments read as a type ([`Data`](crate::Data), [`TryData`](crate::TryData)) or as
    /// they are ([`Args`](crate::Args)), and `Option<AckSender>` when the client asked for an
    /// ack with data (dropping it unanswered sends no ack).
    ///
    /// ```
    /// # use ferrio_hub::{AckSender, Data, Hub, HubConfig, Socket};
    /// #[derive(serde::Deserialize)]
    /// struct Chat {
    ///     nome: String,
    ///     msg: String,
    /// }
    ///
    /// # let io = Hub::new(HubConfig::default()).unwrap();
    /// io.sockets().on(
    ///     "toServer",
    ///     |socket: Socket, Data(chat): Data<Chat>, ack: Option<AckSender>| async move {
    ///         let line = format!("{}:{}", chat.nome, chat.msg);
    ///         socket.emit("toClient", &line);
    ///         let others = socket.broadcast().emit("toClient", &line);
    ///         if let Some(ack) = ack {
    ///             ack.send(others);
    ///         }
    ///     },
    /// );
    /// ```
    ///
    /// The handler runs at once, on the task of the request that carried the event, up to
    /// its first `.await` that waits; from there it goes on as a task of its own. So what it
    /// does before waiting keeps the order of the client's events. Arguments that do not
    /// read as its types refuse the event ([`Data`](crate::Data) says how).
    pub fn on<T>(&self, event: &str, handler: impl EventHandler<T>) -> &Self {
        let name: Arc<str> = event.into();
        self.on_raw(event, move |socket, args, ack| {
            handler.call(EventCall::new(socket.clone(), Arc::clone(&name), args, ack));
        })
    }

    /// Runs `handler`, a plain closure, for the client event `event`, with the arguments as
    /// they came: the form for a handler that needs the raw JSON values and never waits.
    /// When the client asked for an ack with data, the handler gets an [`AckSender`].
    pub fn on_raw(
        &self,
        event: &str,
        handler: impl Fn(&Socket, Vec<Value>, Option<AckSender>) + Send + Sync + 'static,
    ) -> &Self {
        self.inner
            .handlers
            .write()
            .events
            .insert(event.to_owned(), Arc::new(handler));
        self
    }

    /// Runs `handler` for `message` packets (types 3 and 4).
    pub fn on_message(
        &self,
        handler: impl Fn(&Socket, Message, Option<AckSender>) + Send + Sync + 'static,
    ) -> &Self {
        self.inner.handlers.write().message = Some(Arc::new(handler));
        self
    }

    /// Runs `handler` once when a socket of this namespace is about to disconnect, before
    /// `disconnect` (socket.io 4's `disconnecting`): [`Socket::rooms`] still lists its rooms,
    /// and a broadcast to them still reaches their other members, so a handler can tell
    /// them who left. Nothing more reaches the client itself.
    pub fn on_disconnecting(
        &self,
        handler: impl Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    ) -> &Self {
        self.inner.handlers.write().disconnecting = Some(Arc::new(handler));
        self
    }

    /// Runs `handler` once when a socket of this namespace disconnects, with the reason.
    pub fn on_disconnect(
        &self,
        handler: impl Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    ) -> &Self {
        self.inner.handlers.write().disconnect = Some(Arc::new(handler));
        self
    }

    fn broadcast(&self) -> Broadcast {
        Broadcast::new(Arc::clone(&self.hub), Arc::clone(&self.inner), None)
    }

    /// Emits `event` with `data`, any [`serde::Serialize`] value, as its one argument, to
    /// every member of the namespace; returns how many sessions took it.
    pub fn emit(&self, event: &str, data: impl serde::Serialize) -> usize {
        self.broadcast().emit(event, data)
    }

    /// Emits `event` with any number of arguments, as they are, to every member.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> usize {
        self.broadcast().emit_args(event, args)
    }

    /// Sends a text message to every member.
    pub fn send(&self, text: &str) -> usize {
        self.broadcast().send(text)
    }

    /// Targets the members of `room` (`io.sockets.in(room)`).
    pub fn to(&self, room: &str) -> Broadcast {
        self.broadcast().to(room)
    }

    /// Targets every member but `sid`.
    pub fn except(&self, sid: &str) -> Broadcast {
        self.broadcast().except(sid)
    }

    /// Targets every member, dropping the packet for those without a ready transport.
    pub fn volatile(&self) -> Broadcast {
        self.broadcast().volatile()
    }

    /// The session ids in `room`, or in the whole namespace for `None`.
    pub fn clients(&self, room: Option<&str>) -> Vec<String> {
        self.inner
            .members(room.unwrap_or(""))
            .iter()
            .map(|session| session.id.to_string())
            .collect()
    }

    /// The rooms of this namespace with their member counts (the namespace itself excluded).
    pub fn rooms(&self) -> Vec<(String, usize)> {
        self.inner
            .rooms
            .read()
            .iter()
            .filter(|(room, _)| !room.is_empty())
            .map(|(room, members)| (room.clone(), members.len()))
            .collect()
    }

    /// How many sessions joined this namespace.
    pub fn size(&self) -> usize {
        self.inner.rooms.read().get("").map_or(0, HashMap::len)
    }

    /// The socket of session `sid` in this namespace, if it joined.
    pub fn socket(&self, sid: &str) -> Option<Socket> {
        let session = self
            .hub
            .session(sid)
            .filter(|s| s.has_joined(&self.inner.name))?;
        Some(Socket::new(
            Arc::clone(&self.hub),
            session,
            Arc::clone(&self.inner),
        ))
    }
}

/// Gives back a map's memory once it holds under a quarter of what it has room for, as after
/// a burst of sessions has gone: amortised, since halving again takes as many removals.
fn shrink_when_sparse<K: Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) {
    const SMALL: usize = 64;
    if map.capacity() > SMALL && map.len() * 4 < map.capacity() {
        map.shrink_to(map.len() * 2);
    }
}
