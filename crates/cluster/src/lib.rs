//! Several ferrio nodes as one cluster, met through Redis: a registry of live nodes, session
//! ids that name the node that minted them, and a bus that carries every broadcast to every
//! node.
//!
//! The hub knows nothing of this crate: a [`Node`] joins the hub through its
//! [`Cluster`] port, and feeds the messages of the other nodes back
//! through [`Hub::apply_from_cluster`](ferrio_hub::Hub::apply_from_cluster).
//!
//! Layout:
//! - `registry`: joining (a node id unique in the cluster), heartbeats, leaving, and fencing
//!   after a pause past the registration's expiry.
//! - `link`: the HTTP/2 connections between nodes: requests forwarded to the node that owns
//!   their session, and the take of a session by the node its first transport request reached.
//! - `tunnel`: WebSocket and Flash socket upgrades relayed over the link as extended
//!   `CONNECT` streams.
//! - `bus`: the Redis Stream broadcasts travel on: appending in order with retries, reading
//!   from the last position, skipping duplicates and counting gaps.
//! - `sequence`: the per-origin bookkeeping behind that (pure).
//! - `redis_conn`: one Redis or a Redis Cluster, behind one connection type.
//! - `keys`, `node_id`: the Redis key names and the ids (pure).
//! - `metrics`: the counters and their Prometheus form.

mod bus;
mod keys;
pub mod link;
mod metrics;
mod node_id;
mod redis_conn;
mod registry;
mod sequence;
pub mod tunnel;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use http::{HeaderValue, Request, Response};
use hyper::body::Incoming;

use ferrio_hub::{Cluster, ClusterMessage, Hub, LogGate};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

pub use metrics::{ClusterMetrics, ClusterSnapshot};
pub use node_id::{NODE_ID_LEN, SID_LEN, minting_node};

use crate::bus::Outgoing;
use crate::keys::Keys;

/// How a node joins its cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// The Redis every node of the cluster shares (`redis://…`, `rediss://…`).
    pub redis_url: String,
    /// The cluster's name: the hash tag of its keys, so that clusters of other names share
    /// one Redis without meeting.
    pub name: String,
    /// How long a node's registration lives without a heartbeat. A node that finds it was
    /// stopped longer than this ends its sessions and joins again under a new id.
    pub node_ttl: Duration,
    /// Time between heartbeats; well under `node_ttl`.
    pub heartbeat: Duration,
    /// The bus keeps about this many entries (`XADD … MAXLEN ~`): how far behind a node
    /// may fall, briefly cut off from Redis, and still catch up.
    pub bus_maxlen: usize,
    /// How long a broadcast waits for Redis to take it before it is given up (counted, and
    /// seen as a gap by every other node).
    pub publish_retry: Duration,
    /// Most broadcasts waiting to be appended; more are given up at once, counted.
    pub max_pending: usize,
    /// Where the node-to-node link listens.
    pub listen: SocketAddr,
    /// The address other nodes dial for the link; the listener's own address when `None`.
    pub advertise: Option<String>,
    /// The secret every link request carries; the same on every node.
    pub secret: String,
}

impl ClusterConfig {
    /// A cluster named `ferrio` on the Redis at `redis_url`, with the default timers.
    pub fn new(redis_url: impl Into<String>) -> Self {
        ClusterConfig {
            redis_url: redis_url.into(),
            name: "ferrio".to_owned(),
            node_ttl: Duration::from_secs(10),
            heartbeat: Duration::from_secs(3),
            bus_maxlen: 100_000,
            publish_retry: Duration::from_secs(5),
            max_pending: 100_000,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            secret: String::new(),
        }
    }

    /// A pattern (`SCAN … MATCH`) for every Redis key of this cluster.
    pub fn key_pattern(&self) -> String {
        Keys::new(&self.name).pattern()
    }

    /// Checks the settings that need no Redis to check.
    pub fn validate(&self) -> Result<(), ClusterError> {
        redis_conn::Endpoint::parse(&self.redis_url)?;
        if self.name.is_empty() || self.name.contains(['{', '}']) || self.name.len() > 64 {
            return Err(ClusterError::config(
                "cluster_name",
                "must be 1 to 64 characters without braces",
            ));
        }
        if self.heartbeat.is_zero() || self.heartbeat * 2 > self.node_ttl {
            return Err(ClusterError::config(
                "cluster_heartbeat",
                "must be above zero and at most half of cluster_node_ttl",
            ));
        }
        if self.bus_maxlen == 0 {
            return Err(ClusterError::config(
                "cluster_bus_maxlen",
                "must be at least 1",
            ));
        }
        if self.secret.len() < 16 {
            return Err(ClusterError::config(
                "cluster_secret",
                "is required with cluster_redis, at least 16 characters, the same on every node",
            ));
        }
        if let Some(advertise) = &self.advertise
            && advertise
                .rsplit_once(':')
                .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
        {
            return Err(ClusterError::config(
                "cluster_advertise",
                "must be a host and port, such as ferrio1:7000 or 10.0.0.5:7000",
            ));
        }
        if self.listen.ip().is_unspecified() && self.advertise.is_none() {
            return Err(ClusterError::config(
                "cluster_advertise",
                "is required when cluster_listen binds every address: say what other nodes dial",
            ));
        }
        if self.max_pending == 0 {
            return Err(ClusterError::config("max_pending", "must be at least 1"));
        }
        Ok(())
    }
}

/// Why a node could not join its cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The Redis URL does not parse.
    #[error("not a Redis URL: {0}")]
    Url(String),
    /// A setting is out of range.
    #[error("{setting}: {why}")]
    Config {
        /// The setting, as the gateway's configuration names it.
        setting: &'static str,
        /// What is wrong.
        why: String,
    },
    /// Redis did not answer.
    #[error("cannot reach the cluster's Redis: {0}")]
    Unreachable(String),
    /// Redis answered with an error.
    #[error("the cluster's Redis refused: {0}")]
    Refused(String),
    /// The link's port cannot be bound.
    #[error("cluster_listen: {0}")]
    Listen(String),
}

impl ClusterError {
    fn config(setting: &'static str, why: &str) -> Self {
        ClusterError::Config {
            setting,
            why: why.to_owned(),
        }
    }
}

impl From<redis::RedisError> for ClusterError {
    fn from(error: redis::RedisError) -> Self {
        if error.is_io_error() || error.is_timeout() || error.is_connection_refusal() {
            ClusterError::Unreachable(error.to_string())
        } else {
            ClusterError::Refused(error.to_string())
        }
    }
}

/// This node's membership of a cluster: what the hub calls ([`Cluster`]) and the tasks that
/// keep it registered and carry the bus. Dropping it leaves the tasks running until the
/// runtime ends; [`Node::leave`] ends them and deregisters.
#[derive(Debug)]
pub struct Node {
    shared: Arc<Shared>,
    commands: redis_conn::Commands,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    link_listener: Mutex<Option<tokio::net::TcpListener>>,
}

/// What the hub's calls and the node's tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ClusterConfig,
    pub(crate) keys: Keys,
    /// The id this node is registered under now; it changes when the node fences itself.
    node_id: RwLock<Arc<str>>,
    /// Every id this process has been registered under: its own entries on the bus.
    own_ids: RwLock<Vec<Arc<str>>>,
    pub(crate) metrics: ClusterMetrics,
    /// False while the node is fencing itself.
    ready: AtomicBool,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    pub(crate) started_ms: u64,
    pub(crate) next_seq: AtomicU64,
    pub(crate) dropped_log: LogGate,
    /// Commands for lookups outside the tasks (a peer's link address).
    pub(crate) commands: redis_conn::Commands,
    pub(crate) links: link::Links,
    pub(crate) link_secret: HeaderValue,
    /// Where the link listens, as other nodes dial it.
    pub(crate) link_addr: String,
    pub(crate) link_refused_log: LogGate,
    /// Sessions this node minted and handed over: where each went.
    pub(crate) moved: DashMap<String, String>,
    /// Sessions this node took over: the node that minted each.
    pub(crate) adopted: DashMap<String, String>,
    /// Sessions other nodes serve, as learned when a request for one was forwarded: the next
    /// request goes straight there, without asking the minting node again. A session never
    /// moves once taken, so an entry is only ever stale when its node is gone (a forward then
    /// fails and drops it) or the session has ended (its node answers as for any unknown
    /// session); old entries are swept at the heartbeat.
    pub(crate) owners: DashMap<String, (String, std::time::Instant)>,
    /// Batches of forwarded polls not yet confirmed by the forwarding node, by id.
    /// This node's own `/api/stats`, for the other nodes' cluster-wide answers.
    pub(crate) local_stats: std::sync::OnceLock<StatsSource>,
}

/// [`LocalStats`], shown by name only.
pub(crate) struct StatsSource(pub(crate) LocalStats);

impl std::fmt::Debug for StatsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatsSource")
    }
}

/// What answers a node's own stats.
pub type LocalStats = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

impl Shared {
    pub(crate) fn node_id(&self) -> Arc<str> {
        Arc::clone(&self.node_id.read())
    }

    pub(crate) fn is_own(&self, origin: &str) -> bool {
        self.own_ids.read().iter().any(|id| &**id == origin)
    }

    pub(crate) fn set_node_id(&self, id: Arc<str>) {
        self.own_ids.write().push(Arc::clone(&id));
        *self.node_id.write() = id;
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }
}

/// The hub's view of the node.
#[derive(Debug)]
struct Member(Arc<Shared>);

impl Cluster for Member {
    fn mint_sid(&self) -> String {
        node_id::mint_sid(&self.0.node_id())
    }

    fn publish(&self, message: ClusterMessage) {
        bus::enqueue(&self.0, &message);
    }

    fn is_ready(&self) -> bool {
        self.0.is_ready()
    }

    fn session_ended(&self, sid: &str) {
        self.0.moved.remove(sid);
        if let Some((sid, minted_by)) = self.0.adopted.remove(sid) {
            let shared = Arc::clone(&self.0);
            tokio::spawn(async move { link::gone(&shared, &minted_by, &sid).await });
        }
    }
}

/// Where a request for a session this node does not hold goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// This node serves it: it holds the session (it may just have taken it over).
    Here,
    /// Forward it to this node, which serves the session.
    Forward(String),
    /// No live node has the session: answer it as an unknown session, so the client
    /// handshakes again.
    Nobody,
}

impl Node {
    /// Joins the cluster `config` names with `hub`: connects to Redis, registers under a
    /// node id no live node has, starts the heartbeat and the bus, and makes the hub mint its
    /// session ids and hand its broadcasts here. Fails when Redis cannot be reached, so a
    /// node never serves believing it is clustered when it is alone.
    pub async fn join(config: ClusterConfig, hub: &Hub) -> Result<Node, ClusterError> {
        config.validate()?;
        let endpoint = redis_conn::Endpoint::parse(&config.redis_url)?;
        let mut commands = endpoint.commands().await?;
        let link_listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|error| ClusterError::Listen(format!("{}: {error}", config.listen)))?;
        let link_addr = match &config.advertise {
            Some(advertise) => advertise.clone(),
            None => link_listener
                .local_addr()
                .map_err(|error| ClusterError::Listen(error.to_string()))?
                .to_string(),
        };
        let link_secret = HeaderValue::from_str(&config.secret)
            .map_err(|_| ClusterError::config("cluster_secret", "must be printable ASCII"))?;
        let keys = Keys::new(&config.name);
        let started_ms = registry::now_ms();
        let (outgoing, queue) = mpsc::unbounded_channel();
        let provisional: Arc<str> = Arc::from("");
        let shared = Arc::new(Shared {
            keys,
            node_id: RwLock::new(provisional),
            own_ids: RwLock::new(Vec::new()),
            metrics: ClusterMetrics::default(),
            ready: AtomicBool::new(false),
            outgoing,
            started_ms,
            next_seq: AtomicU64::new(1),
            dropped_log: LogGate::new(),
            commands: commands.clone(),
            links: link::Links::default(),
            link_secret,
            link_addr,
            link_refused_log: LogGate::new(),
            moved: DashMap::new(),
            adopted: DashMap::new(),
            owners: DashMap::new(),
            local_stats: std::sync::OnceLock::new(),
            config,
        });
        let id = registry::register(&shared, &mut commands, hub).await?;
        shared.set_node_id(id);
        let position = bus::tail(&shared, &mut commands).await?;
        let reader = bus::Reader::connect(&endpoint).await?;
        if hub
            .join_cluster(Arc::new(Member(Arc::clone(&shared))))
            .is_err()
        {
            return Err(ClusterError::config(
                "cluster_redis",
                "this hub has already joined a cluster",
            ));
        }
        shared.metrics.redis_up.store(true, Ordering::Relaxed);
        shared.set_ready(true);
        info!(
            node = %shared.node_id(),
            cluster = %shared.config.name,
            "joined the cluster"
        );
        let (stop, stopped) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(registry::heartbeats(
                Arc::clone(&shared),
                commands.clone(),
                hub.clone(),
                stopped.clone(),
            )),
            tokio::spawn(bus::publish(
                Arc::clone(&shared),
                commands.clone(),
                queue,
                stopped.clone(),
            )),
            tokio::spawn(bus::read(
                Arc::clone(&shared),
                endpoint,
                reader,
                position,
                hub.clone(),
                stopped,
            )),
        ];
        Ok(Node {
            shared,
            commands,
            stop,
            tasks: Mutex::new(tasks),
            link_listener: Mutex::new(Some(link_listener)),
        })
    }

    /// Gives the link what answers this node's own stats (the admin listener's), so other
    /// nodes can answer cluster-wide. Once; later calls do nothing.
    pub fn set_local_stats(&self, stats: LocalStats) {
        let _ = self.shared.local_stats.set(StatsSource(stats));
    }

    /// Every live node's stats merged with `here` (this node's): sessions and sockets summed,
    /// rooms summed by name, each node listed, and those that did not answer within
    /// [`link::QUERY_TIMEOUT`] named under `missing`.
    pub async fn cluster_stats(&self, here: serde_json::Value) -> serde_json::Value {
        link::cluster_stats(&self.shared, here).await
    }

    /// Where the node-to-node link is dialed.
    pub fn link_addr(&self) -> &str {
        &self.shared.link_addr
    }

    /// Starts serving the link: other nodes' takes and gones, and the client requests they
    /// forward here, which `forwarded` serves (the gateway). Once; later calls do nothing.
    pub fn serve_link(&self, hub: &Hub, forwarded: link::Forwarded) {
        let Some(listener) = self.link_listener.lock().take() else {
            return;
        };
        let task = tokio::spawn(link::serve(
            Arc::clone(&self.shared),
            listener,
            hub.clone(),
            forwarded,
            self.stop.subscribe(),
        ));
        self.tasks.lock().push(task);
    }

    /// Where a request for session `sid`, which `hub` does not hold, goes. A session minted
    /// by another node and never connected is taken over here (its first transport request
    /// came here); one connected elsewhere is forwarded to the node serving it; one whose
    /// nodes are gone or do not answer is nobody's.
    pub async fn route(&self, hub: &Hub, sid: &str) -> Route {
        if hub.holds(sid) {
            return Route::Here;
        }
        let Some(minted_by) = minting_node(sid) else {
            return Route::Nobody;
        };
        let shared = &self.shared;
        if let Some(owner) = shared.owners.get(sid) {
            return Route::Forward(owner.0.clone());
        }
        let route = self.resolve(hub, sid, minted_by).await;
        if let Route::Forward(owner) = &route {
            shared
                .owners
                .insert(sid.to_owned(), (owner.clone(), std::time::Instant::now()));
        }
        route
    }

    /// [`Node::route`] without the cache: asks the minting node (or, when it is gone, every
    /// live node).
    async fn resolve(&self, hub: &Hub, sid: &str, minted_by: &str) -> Route {
        let shared = &self.shared;
        if shared.is_own(minted_by) {
            return match shared.moved.get(sid) {
                Some(owner) => Route::Forward(owner.value().clone()),
                None => Route::Nobody,
            };
        }
        match link::take(shared, minted_by, sid).await {
            Ok(link::TakeAnswer::Taken(data)) => match hub.adopt(sid, *data) {
                Ok(()) => {
                    shared.adopted.insert(sid.to_owned(), minted_by.to_owned());
                    ClusterMetrics::add(&shared.metrics.taken, 1);
                    Route::Here
                }
                Err(refusal) => {
                    warn!(sid, %refusal, "a session taken over could not be adopted");
                    Route::Nobody
                }
            },
            Ok(link::TakeAnswer::Owner(owner)) if !shared.is_own(&owner) => Route::Forward(owner),
            Ok(_) => Route::Nobody,
            Err(error) => {
                // The minting node is gone, but it may have handed the session over first.
                ClusterMetrics::add(&shared.metrics.link_failures, 1);
                match link::who_has(shared, sid, minted_by).await {
                    Some(owner) => Route::Forward(owner),
                    None => {
                        debug!(sid, %error, "the minting node cannot be asked and no live node serves the session");
                        Route::Nobody
                    }
                }
            }
        }
    }

    /// Puts `batches` of session `sid` (oldest first), which an answer to a request forwarded
    /// here carried and the forwarding node did not confirm, back at the front of the
    /// session's queue.
    pub fn requeue(&self, hub: &Hub, sid: &str, batches: Vec<ferrio_hub::Batch>) {
        if batches.is_empty() {
            return;
        }
        let packets = batches
            .iter()
            .flat_map(|batch| batch.packets().iter().cloned())
            .collect::<Vec<_>>();
        if hub.requeue(sid, ferrio_hub::Batch::from(packets)) {
            ClusterMetrics::add(&self.shared.metrics.requeued, batches.len() as u64);
            debug!(
                sid,
                batches = batches.len(),
                "unconfirmed batches went back to their session"
            );
        }
    }

    /// The body of `response`, an answer a node gave to a request forwarded to it, to relay
    /// to the client; a forwarded GET's `receipts` go back as the client's connection takes
    /// it.
    pub fn relay(
        &self,
        response: Response<Incoming>,
        receipts: Option<link::Receipts>,
    ) -> Response<link::Relayed> {
        let expected = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let (parts, body) = response.into_parts();
        let mut relayed = link::Relayed::new(body);
        if let Some(receipts) = receipts {
            relayed.with_receipts(receipts, expected);
        }
        Response::from_parts(parts, relayed)
    }

    /// Forwards a client request to `node` and gives back its answer, streamed.
    /// `transport` labels it in the metrics.
    pub async fn forward(
        &self,
        node: &str,
        transport: &'static str,
        request: Request<link::LinkBody>,
    ) -> Result<Response<Incoming>, link::LinkError> {
        self.shared.metrics.forwarded(transport);
        let sid = request
            .uri()
            .path()
            .rsplit('/')
            .find(|segment| !segment.is_empty())
            .map(str::to_owned);
        let result = self.shared.links.send(&self.shared, node, request).await;
        if result.is_err() {
            ClusterMetrics::add(&self.shared.metrics.link_failures, 1);
            if let Some(sid) = sid {
                self.shared.owners.remove(&sid);
            }
        }
        result
    }

    /// The id this node is registered under now.
    pub fn node_id(&self) -> Arc<str> {
        self.shared.node_id()
    }

    /// The node's counters.
    pub fn metrics(&self) -> &ClusterMetrics {
        &self.shared.metrics
    }

    /// Appends the node's counters in Prometheus text form.
    pub fn render_metrics(&self, out: &mut String) {
        self.shared.metrics.render(&self.shared.node_id(), out);
    }

    /// Leaves the cluster: appends the broadcasts still waiting (for at most the publish
    /// retry time), stops reading the bus and deregisters, so the other nodes see this one
    /// gone at once rather than at its expiry.
    pub async fn leave(&self) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock());
        for task in tasks {
            if let Err(error) = task.await {
                warn!(%error, "a cluster task failed");
            }
        }
        registry::deregister(&self.shared, &mut self.commands.clone()).await;
        self.shared.links.close_all();
        info!(node = %self.shared.node_id(), "left the cluster");
    }
}
