//! The hub: the session registry, the namespaces, and the port transports call. What the
//! client's packets mean is decided in `dispatch`.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use dashmap::DashMap;
use ferrio_protocol::{HandshakeBody, Packet, PacketBody, TransportKind};
use parking_lot::RwLock;
use tracing::{debug, info, warn};

use crate::admission::Admission;
use crate::attachment::Attachment;
use crate::broadcast::apply_from_cluster;
use crate::budget::Budget;
use crate::cluster::{Cluster, ClusterMessage, could_be_held_elsewhere};
use crate::config::{ConfigError, HubConfig};
use crate::encoded::Batch;
use crate::gate::LogGate;
use crate::generation::Generation;
use crate::handshake::{Authorization, ConnectInfo, EngineOpen, HandshakeData, Refusal};
use crate::metrics::{
    HANDSHAKE_OUTCOMES, HubMetrics, MetricsSnapshot, handshake_slot, tally_sessions,
};
use crate::namespace::{Namespace, NamespaceInner};
use crate::occupancy::Occupancy;
use crate::reason::DisconnectReason;
use crate::recovery::Recovery;
use crate::session::{AttachMode, Closed, Expiry, Phase, Session, Upgrade};
use crate::shutdown::{Ingesting, Shutdown};
use crate::timers::Timers;
use crate::upgrade::EngineUpgrade;

/// What an asynchronous authorization hook returns: the handshake data, or the refusal.
pub type Authorized = Result<HandshakeData, Authorization>;

/// How long an authorization hook may take, at a handshake or a namespace join, before the
/// client is refused as for a failed hook: a hung dependency must not hold requests, counts
/// and held packets for ever.
pub(crate) const AUTHORIZATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a hook that took too long failed.
pub(crate) fn timed_out() -> String {
    format!(
        "the authorization hook did not decide within {}s",
        AUTHORIZATION_TIMEOUT.as_secs()
    )
}

/// An asynchronous authorization hook's decision, on its way.
type Deciding = Pin<Box<dyn Future<Output = Authorized> + Send>>;

/// The server-wide handshake authorization hook, in either form.
#[derive(Clone)]
enum AuthorizationHook {
    Now(Arc<dyn Fn(&mut HandshakeData) -> Authorization + Send + Sync>),
    Waiting(Arc<dyn Fn(HandshakeData) -> Deciding + Send + Sync>),
}

impl AuthorizationHook {
    /// The hook's decision on `data`: the data to keep, or the refusal. An asynchronous
    /// hook's `Err(Authorization::Accept)` refuses, as an `Err` always does.
    async fn decide(&self, mut data: HandshakeData) -> Authorized {
        match self {
            AuthorizationHook::Now(hook) => match hook(&mut data) {
                Authorization::Accept => Ok(data),
                refusal => Err(refusal),
            },
            AuthorizationHook::Waiting(hook) => {
                match tokio::time::timeout(AUTHORIZATION_TIMEOUT, hook(data)).await {
                    Ok(Err(Authorization::Accept)) => Err(Authorization::Refuse),
                    Ok(decided) => decided,
                    Err(_) => Err(Authorization::Error(timed_out())),
                }
            }
        }
    }
}

/// An address counted as holding an unconnected handshake, uncounted again if the handshake
/// goes no further: refused, or dropped while its authorization hook waits (its client
/// went away).
struct CountedUnconnected<'a> {
    occupancy: &'a Occupancy,
    peer: IpAddr,
}

impl CountedUnconnected<'_> {
    /// The count now belongs to the session being entered.
    fn hand_over(self) {
        std::mem::forget(self);
    }
}

impl Drop for CountedUnconnected<'_> {
    fn drop(&mut self) {
        self.occupancy.remove_unconnected(self.peer);
    }
}

/// Why a transport cannot attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    /// No live session has this id: the client gets `7:::1+0` (docs/protocol.md §5.0).
    #[error("client not handshaken")]
    UnknownSession,
}

/// Why an Engine.IO transport request got no [`Attachment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EngineAttachError {
    /// No live Engine.IO session has this id: `400` with the engine.io error `Session ID
    /// unknown`.
    #[error("session ID unknown")]
    UnknownSession,
    /// A poll came while another poll of the session was pending. The reference answers
    /// `400` and ends the session (`transport error`); so does the hub.
    #[error("overlapping polls")]
    OverlappingPoll,
    /// The session moved to a WebSocket for good: a poll, or another WebSocket, is refused
    /// (`400`, `Bad request`); the session goes on.
    #[error("the session was upgraded to a websocket")]
    Upgraded,
    /// Another WebSocket is upgrading the session: this one is refused (`400`, `Bad
    /// request`); the session goes on.
    #[error("the session is being upgraded")]
    Upgrading,
}

/// Why the hub did not take the packets a client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// No live session has this id (any more).
    #[error("client not handshaken")]
    UnknownSession,
    /// The server is shutting down ([`Hub::shutdown`]) and takes no more packets: none of
    /// them was handled (heartbeats aside), so nothing they asked for happens.
    #[error("server shutting down")]
    ShuttingDown,
    /// An Engine.IO session that moved to a WebSocket takes its packets there, not by POST.
    #[error("the session was upgraded to a websocket")]
    Upgraded,
}

/// What a shutdown's grace period left: the sessions [`Hub::abandon`] ended, and the packets
/// they still held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Undelivered {
    /// Sessions still open (their clients not told yet), or lingering with a farewell.
    pub sessions: usize,
    /// Packets those sessions held, undelivered.
    pub packets: usize,
}

pub(crate) struct HubInner {
    pub(crate) config: HubConfig,
    sessions: DashMap<Arc<str>, Arc<Session>>,
    namespaces: RwLock<HashMap<String, Arc<NamespaceInner>>>,
    authorization: RwLock<Option<AuthorizationHook>>,
    /// Shared with every attachment, which reads whether the flush has begun on each take.
    pub(crate) shutdown: Arc<Shutdown>,
    draining: AtomicBool,
    admission: Admission,
    pub(crate) occupancy: Occupancy,
    /// One per handshake outcome: refusals are logged by sample (a client can provoke them).
    refusal_logs: [LogGate; HANDSHAKE_OUTCOMES],
    /// Sessions ended by a limit: over their budget, outboxes overflowing, node full.
    pub(crate) limit_logs: LimitLogs,
    pub(crate) metrics: Arc<HubMetrics>,
    timers: Arc<Timers>,
    /// Sessions removed so far, to shrink the registry now and then.
    forgotten: AtomicUsize,
    /// The cluster this node belongs to, once it has joined one.
    cluster: OnceLock<Arc<dyn Cluster>>,
    /// The broadcast log and dropped sockets of connection state recovery, when it is on.
    pub(crate) recovery: Option<Recovery>,
    weak_self: Weak<HubInner>,
}

/// The sampled log lines of the limits a client can run into at will.
#[derive(Debug, Default)]
pub(crate) struct LimitLogs {
    pub(crate) refused_packets: LogGate,
    pub(crate) budget_exceeded: LogGate,
    pub(crate) overflow: LogGate,
    pub(crate) node_full: LogGate,
    pub(crate) invalid_arguments: LogGate,
}

impl std::fmt::Debug for HubInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("sessions", &self.sessions.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The session hub. Cheap to clone; every clone is the same hub.
///
/// The application side reads like Socket.IO:
///
/// ```
/// use ferrio_hub::{Data, Hub, HubConfig, Socket};
///
/// #[derive(serde::Deserialize)]
/// struct Chat {
///     nome: String,
///     msg: String,
/// }
///
/// let io = Hub::new(HubConfig::default()).unwrap();
/// io.sockets().on("toServer", |socket: Socket, Data(chat): Data<Chat>| async move {
///     let line = format!("{}:{}", chat.nome, chat.msg);
///     socket.emit("toClient", &line);
///     socket.broadcast().emit("toClient", &line);
/// });
/// ```
///
/// Transports use the other side, the port: [`Hub::handshake`], [`Hub::attach`],
/// [`Hub::ingest`] and [`Hub::disconnect`].
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

impl Hub {
    /// Creates a hub with the default namespace declared.
    pub fn new(config: HubConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let admission = Admission::new(config.handshake_rate, config.handshake_rate_per_address);
        let occupancy = Occupancy::new(config.max_unconnected, config.max_unconnected_per_address);
        let recovery = config.engine.recovery.map(Recovery::new);
        let inner = Arc::new_cyclic(|weak_self| HubInner {
            admission,
            occupancy,
            refusal_logs: std::array::from_fn(|_| LogGate::new()),
            limit_logs: LimitLogs::default(),
            config,
            sessions: DashMap::new(),
            namespaces: RwLock::new(HashMap::from([(
                String::new(),
                Arc::new(NamespaceInner::new(String::new())),
            )])),
            authorization: RwLock::new(None),
            shutdown: Arc::default(),
            draining: AtomicBool::new(false),
            metrics: Arc::new(HubMetrics::default()),
            timers: Arc::default(),
            forgotten: AtomicUsize::new(0),
            cluster: OnceLock::new(),
            recovery,
            weak_self: weak_self.clone(),
        });
        Ok(Hub { inner })
    }

    /// The settings.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// The default namespace (`io.sockets`).
    pub fn sockets(&self) -> Namespace {
        self.of("")
    }

    /// The namespace `name` (such as `/chat`), declared on first use (`io.of`).
    pub fn of(&self, name: &str) -> Namespace {
        let inner = {
            let mut namespaces = self.inner.namespaces.write();
            Arc::clone(
                namespaces
                    .entry(name.to_owned())
                    .or_insert_with(|| Arc::new(NamespaceInner::new(name.to_owned()))),
            )
        };
        Namespace::new(Arc::clone(&self.inner), inner)
    }

    /// Sets the server-wide handshake authorization hook (docs/protocol.md §2.7). It sees, and may
    /// add to, the handshake data that later becomes `socket.handshake()`. It replaces a hook
    /// set before, of either form.
    pub fn authorize(
        &self,
        hook: impl Fn(&mut HandshakeData) -> Authorization + Send + Sync + 'static,
    ) {
        *self.inner.authorization.write() = Some(AuthorizationHook::Now(Arc::new(hook)));
    }

    /// Sets an asynchronous handshake authorization hook, for a decision that waits on
    /// something (a database, a token service). It gets the handshake data and gives it
    /// back, with what it added to [`HandshakeData::data`], to admit the client, or an
    /// [`Authorization`] to refuse it (`Refuse` and `RefuseWith`: `403`; `Error`: `500`,
    /// logged; an `Err(Accept)` refuses too). The handshake request waits meanwhile, while the
    /// client's address counts as holding an unconnected handshake; a client that goes away
    /// uncounts it. A hook that has not decided within 10 seconds fails the handshake as
    /// `Error` does. The session's wire generation stays the handshake's, whatever the hook
    /// gives back. It replaces a hook set before, of either form.
    ///
    /// ```
    /// # use ferrio_hub::{Authorization, Hub, HubConfig};
    /// # async fn lookup(token: &str) -> Result<Option<String>, std::io::Error> { Ok(None) }
    /// # let io = Hub::new(HubConfig::default()).unwrap();
    /// io.authorize_async(|mut handshake| async move {
    ///     let token = handshake.query("token").unwrap_or_default().to_owned();
    ///     match lookup(&token).await {
    ///         Ok(Some(user)) => {
    ///             handshake.data.insert("user".to_owned(), user.into());
    ///             Ok(handshake)
    ///         }
    ///         Ok(None) => Err(Authorization::Refuse),
    ///         Err(error) => Err(Authorization::Error(error.to_string())),
    ///     }
    /// });
    /// ```
    pub fn authorize_async<F, Fut>(&self, hook: F)
    where
        F: Fn(HandshakeData) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Authorized> + Send + 'static,
    {
        let boxed = move |data| -> Deciding { Box::pin(hook(data)) };
        *self.inner.authorization.write() = Some(AuthorizationHook::Waiting(Arc::new(boxed)));
    }

    /// The timer queue, for the timers' own tests.
    #[cfg(test)]
    pub(crate) fn inner_timers(&self) -> &Timers {
        &self.inner.timers
    }

    /// How many sessions exist (issued, connected, or lingering to say goodbye).
    pub fn session_count(&self) -> usize {
        self.inner.sessions.len()
    }

    /// How many sessions are connected: what `max_sessions` bounds.
    pub fn connected_count(&self) -> usize {
        self.inner.occupancy.connected()
    }

    /// How many handshakes wait for their first transport request: what `max_unconnected`
    /// bounds.
    pub fn unconnected_count(&self) -> usize {
        self.inner.occupancy.unconnected()
    }

    /// Whether the hub is shutting down ([`Hub::shutdown`]): handshakes and client packets
    /// are refused while sessions deliver what they have queued.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutdown.has_begun()
    }

    /// Port: a handshake. Checks the sizes of what a session would keep, the origin, the node's
    /// limits (connected sessions, rates, unconnected handshakes) and the authorization hook,
    /// then issues a session.
    pub async fn handshake(&self, info: ConnectInfo) -> Result<HandshakeBody, Refusal> {
        let issued = self.inner.handshake(info).await;
        self.inner.metrics.handshake(issued.as_ref().map(|_| ()));
        issued
    }

    /// Port: the handshake of an Engine.IO client of `revision`, checked as
    /// [`Hub::handshake`] checks a 0.9 one. The session it opens has joined no namespace
    /// yet: it must within [`EngineConfig::connect_timeout`]. The caller writes the `open`
    /// packet from what this returns.
    ///
    /// [`EngineConfig::connect_timeout`]: crate::EngineConfig::connect_timeout
    pub async fn open_engine(
        &self,
        info: ConnectInfo,
        revision: ferrio_eio::Revision,
    ) -> Result<EngineOpen, Refusal> {
        let issued = self.inner.issue(info, Generation::Engine(revision)).await;
        self.inner.metrics.handshake(issued.as_ref().map(|_| ()));
        let sid = issued?;
        if revision == ferrio_eio::Revision::V3 {
            // Socket.IO 4 (socket.io-client 1.x–2.x) is in the default namespace from its
            // handshake on: the server connects it and tells it so (`40`) unasked.
            if let Some(session) = self.inner.session(&sid) {
                let connect = ferrio_protocol::Packet {
                    endpoint: String::new(),
                    id: None,
                    body: ferrio_protocol::PacketBody::Connect { query: None },
                };
                self.inner.ingest(&session, vec![connect]);
            }
        }
        let engine = &self.inner.config.engine;
        Ok(EngineOpen {
            sid: sid.to_string(),
            ping_interval: engine.ping_interval,
            ping_timeout: engine.ping_timeout,
            max_payload: engine.max_payload,
        })
    }

    /// Port: an Engine.IO handshake for a bare Engine.IO session, with no Socket.IO on it:
    /// every message its client sends comes back to it as it was, text as text and binary as
    /// binary (the fixture of the official Engine.IO protocol test suite, `--app suite`).
    pub async fn open_engine_echo(
        &self,
        info: ConnectInfo,
        revision: ferrio_eio::Revision,
    ) -> Result<EngineOpen, Refusal> {
        let open = self.open_engine(info, revision).await?;
        if let Some(session) = self.inner.session(&open.sid)
            && let Some(engine) = &session.engine
        {
            engine.echo.store(true, Ordering::Release);
            // Connected at once: it joins no namespace, so no connect timeout applies.
            self.inner.establish(&session);
        }
        Ok(open)
    }

    /// Port: an Engine.IO transport request for `sid` (a poll, or a WebSocket after its
    /// upgrade). Unlike a 0.9 one it joins no namespace (the client's `CONNECT` does), and a
    /// poll while another is pending ends the session rather than superseding the first.
    pub fn attach_engine(
        &self,
        sid: &str,
        kind: TransportKind,
        mode: AttachMode,
    ) -> Result<Attachment, EngineAttachError> {
        self.inner.attach_engine(sid, kind, mode)
    }

    /// Port: a WebSocket opened for Engine.IO session `sid`, which polls: the start of its
    /// upgrade. The [`EngineUpgrade`] carries it through the probe to the WebSocket's
    /// attachment; dropped before that, the session polls on.
    pub fn upgrade_engine(&self, sid: &str) -> Result<EngineUpgrade, EngineAttachError> {
        self.inner.upgrade_engine(sid)
    }

    /// Port: a transport request (GET or upgrade) for `sid`. The first transport request of a
    /// session connects it and queues `1::`. Whether `kind` is enabled is the caller's check,
    /// made once per request before any of its methods reaches the hub.
    pub fn attach(
        &self,
        sid: &str,
        kind: TransportKind,
        mode: AttachMode,
    ) -> Result<Attachment, AttachError> {
        self.inner.attach(sid, kind, mode)
    }

    /// Port: packets the client sent. Processed against the session whatever transport, if
    /// any, is attached (docs/protocol.md §4.2, §4.4), each spent from the session's inbound
    /// budget first. Once the hub is shutting down they are refused whole
    /// ([`IngestError::ShuttingDown`], for a session that no longer exists too), so a client
    /// is never told that a packet was taken that its session may not live to deliver.
    /// A connection that holds its [`Attachment`] hands them over with [`Attachment::ingest`]
    /// instead, which needs no lookup.
    pub fn ingest(&self, sid: &str, packets: Vec<Packet>) -> Result<(), IngestError> {
        match self.inner.session(sid) {
            Some(session) => self.inner.accept(&session, packets),
            None if self.is_shutting_down() => Err(IngestError::ShuttingDown),
            None => Err(IngestError::UnknownSession),
        }
    }

    /// Port: Engine.IO packets the client of `sid` sent (a poll's POST), as
    /// [`Hub::ingest`] takes a 0.9 client's. A connection that holds its [`Attachment`] hands
    /// them over with [`Attachment::ingest_engine`] instead.
    pub fn ingest_engine(
        &self,
        sid: &str,
        packets: Vec<ferrio_eio::Packet>,
    ) -> Result<(), IngestError> {
        match self.inner.session(sid) {
            Some(session) if session.upgrade() == Upgrade::Done => Err(IngestError::Upgraded),
            Some(session) => self.inner.accept_engine(&session, packets),
            None if self.is_shutting_down() => Err(IngestError::ShuttingDown),
            None => Err(IngestError::UnknownSession),
        }
    }

    /// Port: a forced disconnect (`?disconnect`). Ends the session whether or not a transport
    /// is open (docs/protocol.md §4.7, §8 #22); an open transport gets `0::` first.
    pub fn disconnect(&self, sid: &str) {
        if let Some(session) = self.inner.session(sid) {
            let farewell = session.is_attached();
            self.inner.end(&session, DisconnectReason::Booted, farewell);
        }
    }

    /// The hub's figures now: counters plus live sessions by transport and buffered packets
    /// and bytes.
    pub fn metrics(&self) -> MetricsSnapshot {
        let mut packets = 0u64;
        let mut bytes = 0u64;
        let sessions = tally_sessions(self.inner.sessions.iter().map(|entry| {
            let (transport, backlog, backlog_bytes) = entry.value().transport_and_backlog();
            packets += backlog as u64;
            bytes += backlog_bytes as u64;
            (transport, entry.value().generation)
        }));
        self.inner.metrics.snapshot(sessions, packets, bytes)
    }

    /// The counters, for transports to count the bytes they receive.
    pub fn counters(&self) -> &HubMetrics {
        &self.inner.metrics
    }

    /// Starts draining: new handshakes are refused while existing sessions go on, so a load
    /// balancer can move traffic away before [`Hub::shutdown`].
    pub fn drain(&self) {
        self.inner.draining.store(true, Ordering::Release);
    }

    /// Whether the hub accepts handshakes (not draining, not shutting down).
    pub fn is_ready(&self) -> bool {
        !self.inner.draining.load(Ordering::Acquire)
            && !self.is_shutting_down()
            && self
                .inner
                .cluster()
                .is_none_or(|cluster| cluster.is_ready())
    }

    /// The declared namespace `name`, without declaring it.
    pub fn namespace(&self, name: &str) -> Option<Namespace> {
        let inner = self.inner.namespace(name)?;
        Some(Namespace::new(Arc::clone(&self.inner), inner))
    }

    /// Every declared namespace.
    pub fn namespaces(&self) -> Vec<Namespace> {
        let declared: Vec<Arc<NamespaceInner>> =
            self.inner.namespaces.read().values().cloned().collect();
        declared
            .into_iter()
            .map(|inner| Namespace::new(Arc::clone(&self.inner), inner))
            .collect()
    }

    /// Kicks session `sid` as the application's `socket.disconnect()` does; `false` when no
    /// such session is live.
    pub fn kick(&self, sid: &str) -> bool {
        self.inner.kick(sid)
    }

    /// Starts a shutdown that loses nothing the hub accepted. From here on handshakes and
    /// client packets are refused ([`IngestError::ShuttingDown`]: a POST gets `503`, a
    /// WebSocket message goes unhandled and unacknowledged); the packets already being handled
    /// finish and queue what they emit. Then every session hands what it has queued to its
    /// transport and ends (reason `server shutdown`) when that transport finds nothing more:
    /// a stream writes its queue and closes, a poll is answered with the queue and the next
    /// one finds the session over (a transport answers it `503`). Sessions that never
    /// connected end at once. The application may still emit to a session that has not
    /// ended: the packet goes out with the queue; once the session has ended, the emit
    /// returns `false` (a broadcast does not count it).
    ///
    /// [`Hub::flushed`] says when every session has ended; [`Hub::abandon`] ends those still
    /// open when the program stops waiting. No session ends without its client being told,
    /// so the program keeps answering requests until then. Calling it again does nothing.
    pub fn shutdown(&self) {
        if self.inner.shutdown.begin() {
            self.inner.start_flushing();
        }
    }

    /// Resolves once every session has ended after [`Hub::shutdown`]: each one's queue went to
    /// its transport, and lingering farewells (`0::` of sessions kicked before) were picked up.
    /// Before a shutdown it waits for one.
    pub async fn flushed(&self) {
        loop {
            let emptied = self.inner.shutdown.emptied.notified();
            tokio::pin!(emptied);
            emptied.as_mut().enable();
            if self.is_shutting_down() && self.inner.sessions.is_empty() {
                return;
            }
            emptied.await;
        }
    }

    /// Ends every session still open, with whatever it still holds: for a shutdown whose
    /// grace period is over (clients that did not come back for their queue). Streams close
    /// and waiting polls are answered as at the end of a flush. Returns what was left
    /// undelivered; the disconnect handlers run as for any end (`server shutdown`).
    pub fn abandon(&self) -> Undelivered {
        self.end_all(DisconnectReason::ServerShutdown)
    }

    /// Makes this hub one node of `cluster`: session ids are minted by it from now on, and
    /// every broadcast is handed to it for the other nodes. A hub joins one cluster, once;
    /// joining again gives the cluster back as the error.
    pub fn join_cluster(&self, cluster: Arc<dyn Cluster>) -> Result<(), Arc<dyn Cluster>> {
        self.inner.cluster.set(cluster)
    }

    /// Does what another node of the cluster asked: delivers its broadcast to this node's
    /// sessions (encoded once here), or emits to or kicks a session of this node. Returns how
    /// many sessions took a packet or were ended (0 for a session this node does not hold).
    pub fn apply_from_cluster(&self, message: ClusterMessage) -> usize {
        apply_from_cluster(&self.inner, message)
    }

    /// Hands `message` (a [`ClusterMessage::Emit`] or [`ClusterMessage::Kick`] for a session
    /// this node does not hold) to the other nodes of the cluster; `false`, and nothing sent,
    /// on a single node or for an id no node can hold.
    pub fn send_to_cluster(&self, message: ClusterMessage) -> bool {
        let sid = match &message {
            ClusterMessage::Emit { sid, .. } | ClusterMessage::Kick { sid } => sid,
            ClusterMessage::Broadcast(_) => return false,
        };
        match self.inner.cluster() {
            Some(cluster) if could_be_held_elsewhere(sid) && self.inner.session(sid).is_none() => {
                cluster.publish(message);
                true
            }
            _ => false,
        }
    }

    /// Puts `batch`, taken by a transport of session `sid` and never delivered, back at the
    /// front of the session's outbox; `false` when this node holds no such session any more.
    pub fn requeue(&self, sid: &str, batch: Batch) -> bool {
        match self.inner.session(sid) {
            Some(session) if session.phase() != Phase::Closed => {
                session.requeue(batch);
                true
            }
            _ => false,
        }
    }

    /// Whether this node holds session `sid` (live or lingering with a farewell).
    pub fn holds(&self, sid: &str) -> bool {
        self.inner.session(sid).is_some()
    }

    /// Takes session `sid` out of this node for another node of the cluster, which its first
    /// transport request reached: only a session no transport request has reached yet
    /// (nothing queued, no namespace joined, no handler run, no transport waiting) moves,
    /// with its handshake data; `None` otherwise. No disconnect is counted or handled: the
    /// session lives on elsewhere.
    pub fn hand_over(&self, sid: &str) -> Option<HandshakeData> {
        let session = self.inner.session(sid)?;
        session.close_untouched()?;
        self.inner.occupancy.remove_unconnected(session.counted_as);
        self.inner.forget(&session);
        debug!(sid, "session handed over to another node");
        Some(session.handshake.clone())
    }

    /// Takes in session `sid`, issued by another node of the cluster and handed over by it
    /// ([`Hub::hand_over`]), unconnected and ready for its first transport request. Refused
    /// while shutting down or draining, when the node is full or the client's address holds
    /// too many unconnected handshakes, or when this node already holds the id.
    pub fn adopt(&self, sid: &str, data: HandshakeData) -> Result<(), Refusal> {
        self.inner.adopt(sid, data)
    }

    /// Ends every session at once with `reason`, as [`Hub::abandon`] does (streams close,
    /// waiting polls are answered); returns how many sessions there were and what they
    /// still held.
    pub fn end_all(&self, reason: DisconnectReason) -> Undelivered {
        let sessions: Vec<Arc<Session>> = self
            .inner
            .sessions
            .iter()
            .map(|e| Arc::clone(e.value()))
            .collect();
        let mut undelivered = Undelivered::default();
        for session in sessions {
            let (_, packets, _) = session.transport_and_backlog();
            if session.phase() == Phase::Closed {
                // A farewell nobody picked up.
                session.stop_lingering();
                self.inner.forget(&session);
            } else {
                self.inner.end(&session, reason, false);
            }
            undelivered.sessions += 1;
            undelivered.packets += packets;
        }
        undelivered
    }
}

impl HubInner {
    /// Ends session `sid` as the application's `disconnect()` does; `false` when this node
    /// holds no such live session.
    pub(crate) fn kick(&self, sid: &str) -> bool {
        match self.session(sid) {
            Some(session) if session.phase() != Phase::Closed => {
                self.end(&session, DisconnectReason::Booted, true);
                true
            }
            _ => false,
        }
    }

    /// The cluster this node belongs to, if any.
    pub(crate) fn cluster(&self) -> Option<&Arc<dyn Cluster>> {
        self.cluster.get()
    }

    pub(crate) fn arc(&self) -> Option<Arc<HubInner>> {
        self.weak_self.upgrade()
    }

    pub(crate) fn session(&self, sid: &str) -> Option<Arc<Session>> {
        self.sessions
            .get(sid)
            .map(|entry| Arc::clone(entry.value()))
    }

    pub(crate) fn namespace(&self, name: &str) -> Option<Arc<NamespaceInner>> {
        self.namespaces.read().get(name).cloned()
    }

    /// Whether a line about `refusal` may be logged now; with the lines held back since.
    fn log_refusal(&self, refusal: &Refusal) -> Option<u64> {
        self.refusal_logs[handshake_slot(Err(refusal))].admit()
    }

    async fn handshake(&self, info: ConnectInfo) -> Result<HandshakeBody, Refusal> {
        let sid = self.issue(info, Generation::Legacy).await?;
        Ok(HandshakeBody {
            sid: sid.to_string(),
            heartbeat_timeout_secs: self.config.heartbeat_timeout.as_secs(),
            close_timeout_secs: self.config.close_timeout.as_secs(),
            transports: self
                .config
                .transports
                .iter()
                .map(|t| t.name().to_owned())
                .collect(),
        })
    }

    /// Every generation's handshake: the sizes, the origin, the node's limits and the
    /// authorization hook, then a new unconnected session of `generation`; its id.
    async fn issue(&self, info: ConnectInfo, generation: Generation) -> Result<Arc<str>, Refusal> {
        if self.shutdown.has_begun() || self.draining.load(Ordering::Acquire) {
            return Err(Refusal::Unavailable);
        }
        let peer = info.address;
        // Sizes first: they decide what a session would keep, and cost nothing to check.
        let oversized = if info.query_bytes() > self.config.max_handshake_query_bytes {
            Some(Refusal::QueryTooLong)
        } else if info.header_bytes() > self.config.max_handshake_header_bytes {
            Some(Refusal::HeadersTooLarge)
        } else {
            None
        };
        if let Some(refusal) = oversized {
            if let Some(suppressed) = self.log_refusal(&refusal) {
                info!(
                    %peer,
                    query_bytes = info.query_bytes(),
                    header_bytes = info.header_bytes(),
                    suppressed,
                    "handshake refused: {refusal}"
                );
            }
            return Err(refusal);
        }
        if !self
            .config
            .origins
            .allows(info.header("origin"), info.header("referer"))
        {
            if let Some(suppressed) = self.log_refusal(&Refusal::BadOrigin) {
                info!(%peer, origin = ?info.header("origin"), suppressed, "handshake refused: bad origin");
            }
            return Err(Refusal::BadOrigin);
        }
        if self
            .config
            .max_sessions
            .is_some_and(|max| self.occupancy.connected() >= max)
        {
            if let Some(suppressed) = self.log_refusal(&Refusal::Full) {
                info!(%peer, suppressed, "handshake refused: node full");
            }
            return Err(Refusal::Full);
        }
        if let Err(limit) = self.admission.admit(peer.ip()) {
            let refusal = Refusal::RateLimited(limit);
            if let Some(suppressed) = self.log_refusal(&refusal) {
                info!(%peer, ?limit, suppressed, "handshake refused: rate limit");
            }
            return Err(refusal);
        }
        if let Err(limit) = self.occupancy.add_unconnected(peer.ip()) {
            let refusal = Refusal::TooManyUnconnected(limit);
            if let Some(suppressed) = self.log_refusal(&refusal) {
                info!(%peer, ?limit, suppressed, "handshake refused: too many unconnected handshakes");
            }
            return Err(refusal);
        }
        let counted = CountedUnconnected {
            occupancy: &self.occupancy,
            peer: peer.ip(),
        };
        let mut data = HandshakeData::new(info);
        data.generation = generation;
        let hook = self.authorization.read().clone();
        if let Some(hook) = hook {
            data = match hook.decide(data).await {
                Ok(mut decided) => {
                    // The session's wire side is the handshake's, whatever the hook gave back.
                    decided.generation = generation;
                    decided
                }
                Err(decision) => {
                    let refusal = match decision {
                        Authorization::Error(why) => Refusal::AuthorizationError(why),
                        _ => Refusal::Unauthorized,
                    };
                    if let Some(suppressed) = self.log_refusal(&refusal) {
                        match &refusal {
                            Refusal::AuthorizationError(why) => {
                                warn!(%peer, error = %why, suppressed, "handshake authorization failed");
                            }
                            _ => info!(%peer, suppressed, "handshake refused by authorization"),
                        }
                    }
                    return Err(refusal);
                }
            };
            // A hook that waited may have outlived the node's willingness to take sessions.
            if self.shutdown.has_begun() || self.draining.load(Ordering::Acquire) {
                return Err(Refusal::Unavailable);
            }
        }
        counted.hand_over();
        let sid: Arc<str> = match self.cluster() {
            Some(cluster) => cluster.mint_sid().into(),
            None => uuid::Uuid::new_v4().simple().to_string().into(),
        };
        // 122 random bits (or a node's 104) met again: refused rather than replaced.
        self.enter_unconnected(Arc::clone(&sid), data, peer.ip())?;
        debug!(%sid, ?generation, "session issued");
        Ok(sid)
    }

    fn adopt(&self, sid: &str, data: HandshakeData) -> Result<(), Refusal> {
        if self.shutdown.has_begun() || self.draining.load(Ordering::Acquire) {
            return Err(Refusal::Unavailable);
        }
        if self
            .config
            .max_sessions
            .is_some_and(|max| self.occupancy.connected() >= max)
        {
            return Err(Refusal::Full);
        }
        let peer = data.info.address.ip();
        self.occupancy
            .add_unconnected(peer)
            .map_err(Refusal::TooManyUnconnected)?;
        self.enter_unconnected(sid.into(), data, peer)?;
        debug!(sid, "session taken over from another node");
        Ok(())
    }

    /// A new unconnected session `sid`, with a full inbound budget, into the registry; its
    /// client address `peer` already counted as unconnected, and uncounted again when the id
    /// is taken.
    fn enter_unconnected(
        &self,
        sid: Arc<str>,
        data: HandshakeData,
        peer: IpAddr,
    ) -> Result<(), Refusal> {
        let budget = Budget::full(
            self.config.inbound_packets,
            self.config.inbound_bytes,
            tokio::time::Instant::now(),
        );
        let session = Session::new(sid, data, peer, Arc::clone(&self.timers), budget);
        if self.insert(session) {
            Ok(())
        } else {
            self.occupancy.remove_unconnected(peer);
            Err(Refusal::Unavailable)
        }
    }

    /// The one place sessions enter the registry; it also files their first deadline.
    /// `false`, and nothing inserted, when a session of the same id is already there.
    fn insert(&self, session: Arc<Session>) -> bool {
        self.timers.start(self.weak_self.clone());
        match self.sessions.entry(Arc::clone(&session.id)) {
            dashmap::Entry::Occupied(_) => return false,
            dashmap::Entry::Vacant(vacant) => {
                vacant.insert(Arc::clone(&session));
            }
        }
        session.deadlines_moved();
        true
    }

    /// The one place sessions leave the registry.
    pub(crate) fn forget(&self, session: &Session) {
        let removed = self.sessions.remove_if(&session.id, |_, stored| {
            std::ptr::eq(Arc::as_ptr(stored), session)
        });
        // Now and then, give back the room a burst of sessions left in the registry; looking
        // at every removal would lock every shard each time.
        if removed.is_some() && self.forgotten.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            let len = self.sessions.len();
            if self.sessions.capacity() > 4 * len.max(256) {
                self.sessions.shrink_to_fit();
            }
        }
        if removed.is_some() && self.shutdown.has_begun() && self.sessions.is_empty() {
            self.shutdown.emptied.notify_waiters();
        }
    }

    /// Client packets for `session`, whichever way they came: handled, or refused whole once
    /// a shutdown has begun. A refused heartbeat is still heard, so a stream still writing its
    /// queue is not ended for a heartbeat its client answered.
    pub(crate) fn accept(
        &self,
        session: &Arc<Session>,
        packets: Vec<Packet>,
    ) -> Result<(), IngestError> {
        let ingesting = Ingesting::enter(self);
        if ingesting.accepted() {
            self.ingest(session, packets);
            return Ok(());
        }
        drop(ingesting);
        let mut refused = 0usize;
        for packet in &packets {
            if matches!(packet.body, PacketBody::Heartbeat) {
                session.heartbeat_received(self.config.heartbeat_interval);
            } else {
                refused += 1;
            }
        }
        if refused == 0 {
            return Ok(());
        }
        debug!(sid = %session.id, refused, "client packets refused: shutting down");
        Err(IngestError::ShuttingDown)
    }

    /// The flush of a shutdown starts: no client packet accepted before is still being
    /// handled. Sessions that never connected end; every transport waiting for packets is
    /// woken, to end its session if nothing is queued for it.
    pub(crate) fn start_flushing(&self) {
        let sessions: Vec<Arc<Session>> = self
            .sessions
            .iter()
            .map(|e| Arc::clone(e.value()))
            .collect();
        for session in sessions {
            match session.close_unconnected() {
                Some(closed) => self.ended(&session, closed, DisconnectReason::ServerShutdown),
                None => session.wake.notify_waiters(),
            }
        }
        if self.sessions.is_empty() {
            self.shutdown.emptied.notify_waiters();
        }
    }

    fn attach(
        &self,
        sid: &str,
        kind: TransportKind,
        mode: AttachMode,
    ) -> Result<Attachment, AttachError> {
        let session = self
            .session(sid)
            .filter(|session| session.generation == Generation::Legacy)
            .ok_or(AttachError::UnknownSession)?;
        if self.ended_by_shutdown(&session) {
            return Err(AttachError::UnknownSession);
        }
        let generation = session
            .attach(kind, mode, self.config.heartbeat_interval)
            .ok_or(AttachError::UnknownSession)?;
        debug!(sid, transport = %kind, "transport attached");
        if !self.establish(&session) {
            return Err(AttachError::UnknownSession);
        }
        Ok(self.attachment(
            session,
            generation,
            mode,
            kind,
            self.config.polling_duration,
        ))
    }

    fn attach_engine(
        &self,
        sid: &str,
        kind: TransportKind,
        mode: AttachMode,
    ) -> Result<Attachment, EngineAttachError> {
        let session = self.engine_session(sid)?;
        if mode == AttachMode::Poll && session.upgrade() == Upgrade::Done {
            debug!(sid, "a poll after the upgrade to a websocket: refused");
            return Err(EngineAttachError::Upgraded);
        }
        self.attach_engine_session(session, kind, mode)
    }

    /// The live Engine.IO session `sid`.
    fn engine_session(&self, sid: &str) -> Result<Arc<Session>, EngineAttachError> {
        let session = self
            .session(sid)
            .filter(|session| session.generation != Generation::Legacy)
            .ok_or(EngineAttachError::UnknownSession)?;
        if self.ended_by_shutdown(&session) {
            return Err(EngineAttachError::UnknownSession);
        }
        Ok(session)
    }

    /// [`HubInner::attach_engine`] of a session already found.
    pub(crate) fn attach_engine_session(
        &self,
        session: Arc<Session>,
        kind: TransportKind,
        mode: AttachMode,
    ) -> Result<Attachment, EngineAttachError> {
        let sid = &*session.id;
        if mode == AttachMode::Poll && session.is_polled() {
            debug!(sid, "a second poll while one is pending: the session ends");
            self.end(&session, DisconnectReason::TransportError, false);
            return Err(EngineAttachError::OverlappingPoll);
        }
        let generation = session
            .attach(kind, mode, self.config.engine.ping_interval)
            .ok_or(EngineAttachError::UnknownSession)?;
        debug!(sid, transport = %kind, "transport attached");
        // A poll is answered by the next ping at the latest; the deadline only bounds a poll
        // the timers could not reach.
        let longest_poll = self.config.engine.ping_interval + self.config.engine.ping_timeout;
        Ok(self.attachment(session, generation, mode, kind, longest_poll))
    }

    fn upgrade_engine(&self, sid: &str) -> Result<EngineUpgrade, EngineAttachError> {
        let session = self.engine_session(sid)?;
        match session.begin_upgrade() {
            Upgrade::Polling => {
                debug!(sid, "websocket upgrade begun");
                Ok(EngineUpgrade::new(self.weak_self.clone(), session))
            }
            Upgrade::Probing | Upgrade::Probed => Err(EngineAttachError::Upgrading),
            Upgrade::Done => Err(EngineAttachError::Upgraded),
        }
    }

    /// Whether a transport request for `session` found the hub shutting down and the session
    /// unconnected, and ended it: nothing was queued for it, so its client hears of the
    /// shutdown at once.
    fn ended_by_shutdown(&self, session: &Arc<Session>) -> bool {
        if !self.shutdown.has_begun() {
            return false;
        }
        match session.close_unconnected() {
            Some(closed) => {
                self.ended(session, closed, DisconnectReason::ServerShutdown);
                true
            }
            None => false,
        }
    }

    fn attachment(
        &self,
        session: Arc<Session>,
        generation: u64,
        mode: AttachMode,
        kind: TransportKind,
        polling_duration: Duration,
    ) -> Attachment {
        Attachment {
            hub: self.weak_self.clone(),
            session,
            generation,
            mode,
            kind,
            metrics: Arc::clone(&self.metrics),
            shutdown: Arc::clone(&self.shutdown),
            polling_duration,
            finished: AtomicBool::new(false),
        }
    }

    /// Ends a session: every joined namespace's disconnect handler runs once. With
    /// `farewell`, the client gets `0::` — at once on an open transport, or on its next poll
    /// within the close timeout (docs/protocol.md §8 #15).
    pub(crate) fn end(&self, session: &Arc<Session>, reason: DisconnectReason, farewell: bool) {
        if let Some(closed) = session.close(farewell) {
            self.ended(session, closed, reason);
        }
    }

    /// The rest of a session's end, once the session itself has closed (`closed` is what it
    /// found): the counts, the registry, the metrics and the disconnect handlers.
    pub(crate) fn ended(&self, session: &Arc<Session>, closed: Closed, reason: DisconnectReason) {
        match closed.was {
            Phase::Issued => self.occupancy.remove_unconnected(session.counted_as),
            Phase::Connected => self.occupancy.release_connected(),
            Phase::Closed => {}
        }
        if !closed.lingering {
            self.forget(session);
        }
        self.metrics.disconnect(reason);
        debug!(sid = %session.id, %reason, "session ended");
        if let Some(cluster) = self.cluster() {
            cluster.session_ended(&session.id);
        }
        for (endpoint, state) in closed.endpoints {
            if let Some(recovery) = &self.recovery
                && reason.is_recoverable()
                && let Some((socket_id, Some(pid))) = session.engine_names()
            {
                recovery.persist(
                    pid,
                    &endpoint,
                    socket_id,
                    Arc::clone(&session.id),
                    state.rooms().iter().map(|room| room.to_string()).collect(),
                );
            }
            if let Some(namespace) = self.namespace(&endpoint) {
                self.fire_leaving(session, namespace, state.rooms(), reason);
            }
        }
    }

    /// Acts on a deadline that passed.
    pub(crate) fn expire(&self, session: &Arc<Session>, expiry: Expiry) {
        match expiry {
            Expiry::Handshake => {
                debug!(sid = %session.id, "unused handshake expired");
                self.end(session, DisconnectReason::HandshakeExpired, false);
            }
            Expiry::Heartbeat => self.end(session, DisconnectReason::HeartbeatTimeout, false),
            Expiry::Close => self.end(session, DisconnectReason::CloseTimeout, false),
            Expiry::Linger => {
                session.stop_lingering();
                self.forget(session);
            }
        }
    }
}
