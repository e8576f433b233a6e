//! The link between nodes: one HTTP/2 connection per peer, dialed on first use at the address
//! the peer registered, multiplexing every request forwarded to it (its flow control carries
//! the relayed streams), each authenticated by the cluster secret.
//!
//! Over it travel the client requests a node forwards to the node that owns their session,
//! unchanged but for the link's headers (the client's address, whether its connection is TLS,
//! the hops so far); WebSocket and Flash socket upgrades among them, as extended `CONNECT`
//! streams that then carry the upgraded connection's bytes (`crate::tunnel`); and requests of
//! the cluster's own:
//! - `POST /_ferrio/take/<sid>`: the node a session's first transport request reached asks the
//!   node that minted it for it. Answered `{"taken": handshake}` (the session moves, and the
//!   minting node remembers where), `{"owner": node}` (it is served there) or
//!   `{"unknown": true}`.
//! - `POST /_ferrio/gone/<sid>`: a session taken over has ended; the minting node forgets
//!   where it went.
//! - `POST /_ferrio/has/<sid>`: whether the node serves a session, asked of every live node
//!   when the node that minted it cannot be reached (it died after handing it over).
//!   Answered `{"has": bool}`.
//! - `GET /_ferrio/stats`: the node's own `/api/stats`, for a cluster-wide answer.
//!
//! A forwarded GET (a poll, a stream) keeps its request body open as the way back: the
//! forwarding node writes receipts on it ([`Receipts`]), each the offset up to which the
//! client's connection has taken the answer's body, and ends it when the relay ends. The
//! serving node keeps every batch the answer carries until a receipt covers it; what is not
//! covered when the receipts end or the link breaks goes back to the front of its session's
//! queue: no packet is lost between nodes. (One the client got just before the link broke,
//! unreceipted, comes again.)

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use ferrio_hub::{HandshakeData, Hub};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use parking_lot::Mutex;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::Shared;
use crate::metrics::ClusterMetrics;

/// An error a relayed body can end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of a request or response on the link.
pub type LinkBody = UnsyncBoxBody<Bytes, BoxError>;

/// The cluster secret, on every request of the link.
pub const SECRET_HEADER: &str = "x-ferrio-cluster-secret";
/// The node a link request comes from.
pub const NODE_HEADER: &str = "x-ferrio-node";
/// The address of the client a forwarded request comes from.
pub const CLIENT_HEADER: &str = "x-ferrio-client";
/// `1` when the client's own connection is TLS.
pub const SECURE_HEADER: &str = "x-ferrio-secure";
/// How many nodes a forwarded request has crossed.
pub const HOPS_HEADER: &str = "x-ferrio-hops";

/// Most nodes a request may cross: the first node, the minting node, the owner.
pub const MAX_HOPS: u32 = 2;

const TAKE_PREFIX: &str = "/_ferrio/take/";
const GONE_PREFIX: &str = "/_ferrio/gone/";
const HAS_PREFIX: &str = "/_ferrio/has/";
const STATS_PATH: &str = "/_ferrio/stats";

/// How long a cluster-wide query waits for the other nodes; those that have not answered by
/// then are named as missing.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(1);
/// How long dialing a peer may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a take may take before the session is treated as nobody's.
const TAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// How often each end of a quiet link pings the other, and how long it waits for the pong
/// before it drops the link: a peer stopped dead (paused, cut off) is noticed in seconds,
/// and what its forwarded answers carried goes back to the sessions.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most requests in flight on one link. Every forwarded poll, stream and WebSocket is one
/// for as long as it lasts, so the bound is the sessions a node serves, not HTTP/2's usual
/// 100–200.
const MAX_STREAMS_PER_LINK: u32 = 1 << 20;

/// The HTTP/2 settings of the dialing end of a link (pings), in one place for the link and
/// for what its benchmark measures.
pub fn client_builder() -> hyper::client::conn::http2::Builder<TokioExecutor> {
    let mut builder = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(true);
    builder
}

/// The HTTP/2 settings of the serving end of a link (pings, as many streams as sessions,
/// extended `CONNECT` for relayed upgrades), in one place for the link and for what its
/// benchmark measures.
pub fn server_builder() -> hyper::server::conn::http2::Builder<TokioExecutor> {
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .enable_connect_protocol()
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .max_concurrent_streams(MAX_STREAMS_PER_LINK);
    builder
}

/// Why a request could not cross the link.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The peer is not registered (it left or died) or has no link address.
    #[error("node {0} is not registered")]
    Unregistered(String),
    /// The peer could not be reached or the connection broke.
    #[error("link to node {node}: {why}")]
    Broken {
        /// The peer.
        node: String,
        /// What happened.
        why: String,
    },
}

/// Open links to the other nodes, by node id.
#[derive(Debug, Default)]
pub(crate) struct Links {
    peers: Mutex<HashMap<String, (String, SendRequest<LinkBody>)>>,
    /// One dial at a time, so that requests racing to a peer share one connection.
    dialing: tokio::sync::Mutex<()>,
}

impl Links {
    /// A ready sender to `node`, dialing it when there is no open link.
    async fn sender(
        &self,
        shared: &Shared,
        node: &str,
    ) -> Result<(String, SendRequest<LinkBody>), LinkError> {
        let open = || {
            self.peers
                .lock()
                .get(node)
                .filter(|(_, sender)| !sender.is_closed())
                .cloned()
        };
        if let Some(open) = open() {
            return Ok(open);
        }
        let _dialing = self.dialing.lock().await;
        if let Some(open) = open() {
            return Ok(open);
        }
        let addr = crate::registry::link_address(shared, node)
            .await
            .ok_or_else(|| LinkError::Unregistered(node.to_owned()))?;
        let broken = |why: String| LinkError::Broken {
            node: node.to_owned(),
            why,
        };
        let stream = tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(addr.as_str()))
            .await
            .map_err(|_| broken("dial timed out".into()))?
            .map_err(|error| broken(error.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = client_builder()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|error| broken(error.to_string()))?;
        let peer = node.to_owned();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!(node = %peer, %error, "link closed");
            }
        });
        self.peers
            .lock()
            .insert(node.to_owned(), (addr.clone(), sender.clone()));
        debug!(node, %addr, "link open");
        Ok((addr, sender))
    }

    /// Sends `request` (its URI a path and query) to `node` with the link's own headers.
    pub(crate) async fn send(
        &self,
        shared: &Shared,
        node: &str,
        mut request: Request<LinkBody>,
    ) -> Result<Response<Incoming>, LinkError> {
        let (addr, mut sender) = self.sender(shared, node).await?;
        let broken = |why: String| LinkError::Broken {
            node: node.to_owned(),
            why,
        };
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .to_owned();
        *request.uri_mut() = Uri::try_from(format!("http://{addr}{path}"))
            .map_err(|error| broken(error.to_string()))?;
        let headers = request.headers_mut();
        headers.insert(SECRET_HEADER, shared.link_secret.clone());
        if let Ok(id) = HeaderValue::from_str(&shared.node_id()) {
            headers.insert(NODE_HEADER, id);
        }
        let sent = async {
            sender.ready().await?;
            sender.send_request(request).await
        };
        let control = path.starts_with("/_ferrio/");
        let started = std::time::Instant::now();
        match sent.await {
            Ok(response) => {
                // The cluster's own requests are answered at once: their time is the link's
                // round trip. A forwarded poll's is the poll's.
                if control {
                    shared.metrics.round_trip(started.elapsed());
                }
                Ok(response)
            }
            Err(error) => {
                self.peers.lock().remove(node);
                Err(broken(error.to_string()))
            }
        }
    }

    /// Drops every open link.
    pub(crate) fn close_all(&self) {
        self.peers.lock().clear();
    }
}

/// What the node a session was minted by answered to a take.
#[derive(Debug)]
pub(crate) enum TakeAnswer {
    /// The session moved here.
    Taken(Box<HandshakeData>),
    /// Another node serves it.
    Owner(String),
    /// No node has it.
    Unknown,
}

/// Asks `node` for session `sid`.
pub(crate) async fn take(shared: &Shared, node: &str, sid: &str) -> Result<TakeAnswer, LinkError> {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("{TAKE_PREFIX}{sid}"))
        .body(empty())
        .map_err(|error| LinkError::Broken {
            node: node.to_owned(),
            why: error.to_string(),
        })?;
    let asked = async {
        let response = shared.links.send(shared, node, request).await?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| LinkError::Broken {
                node: node.to_owned(),
                why: error.to_string(),
            })?
            .to_bytes();
        if status != StatusCode::OK {
            return Err(LinkError::Broken {
                node: node.to_owned(),
                why: format!("take answered {status}"),
            });
        }
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if let Some(taken) = answer.get("taken") {
            return serde_json::from_value::<HandshakeData>(taken.clone())
                .map(|data| TakeAnswer::Taken(Box::new(data)))
                .map_err(|error| LinkError::Broken {
                    node: node.to_owned(),
                    why: format!("take answer: {error}"),
                });
        }
        Ok(match answer.get("owner").and_then(Value::as_str) {
            Some(owner) => TakeAnswer::Owner(owner.to_owned()),
            None => TakeAnswer::Unknown,
        })
    };
    tokio::time::timeout(TAKE_TIMEOUT, asked)
        .await
        .unwrap_or_else(|_| {
            Err(LinkError::Broken {
                node: node.to_owned(),
                why: "take timed out".into(),
            })
        })
}

/// The live node (other than this one and `skip`) that serves session `sid`, asked of every
/// live node at once; `None` when none does or answers in time.
pub(crate) async fn who_has(shared: &Arc<Shared>, sid: &str, skip: &str) -> Option<String> {
    let nodes = crate::registry::live_nodes(shared).await;
    let mut asking = tokio::task::JoinSet::new();
    for node in nodes {
        if node == skip || shared.is_own(&node) {
            continue;
        }
        let shared = Arc::clone(shared);
        let sid = sid.to_owned();
        asking.spawn(async move {
            let request = Request::builder()
                .method(Method::POST)
                .uri(format!("{HAS_PREFIX}{sid}"))
                .body(empty())
                .ok()?;
            let response = shared.links.send(&shared, &node, request).await.ok()?;
            let body = response.into_body().collect().await.ok()?.to_bytes();
            let answer: Value = serde_json::from_slice(&body).ok()?;
            answer["has"].as_bool()?.then_some(node)
        });
    }
    let found = tokio::time::timeout(TAKE_TIMEOUT, async {
        while let Some(answered) = asking.join_next().await {
            if let Ok(Some(node)) = answered {
                return Some(node);
            }
        }
        None
    })
    .await;
    found.ok().flatten()
}

/// Tells `node`, which minted session `sid`, that the session has ended here.
pub(crate) async fn gone(shared: &Shared, node: &str, sid: &str) {
    let Ok(request) = Request::builder()
        .method(Method::POST)
        .uri(format!("{GONE_PREFIX}{sid}"))
        .body(empty())
    else {
        return;
    };
    if let Err(error) = shared.links.send(shared, node, request).await {
        debug!(node, sid, %error, "could not tell the minting node a session ended");
    }
}

/// An empty link body.
pub fn empty() -> LinkBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

fn json_answer(value: &Value) -> Response<LinkBody> {
    let mut response = Response::new(
        Full::new(Bytes::from(value.to_string()))
            .map_err(|never: Infallible| match never {})
            .boxed_unsync(),
    );
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn status(status: StatusCode) -> Response<LinkBody> {
    let mut response = Response::new(empty());
    *response.status_mut() = status;
    response
}

/// What serves the client requests other nodes forward here: the gateway.
pub type Forwarded = Arc<
    dyn Fn(Request<Incoming>) -> Pin<Box<dyn Future<Output = Response<LinkBody>> + Send>>
        + Send
        + Sync,
>;

/// Serves the link on `listener` until `stopped`: authenticates every request, answers the
/// cluster's own, and hands forwarded client requests to `forwarded`.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    hub: Hub,
    forwarded: Forwarded,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(%error, "link accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let hub = hub.clone();
        let forwarded = Arc::clone(&forwarded);
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let shared = Arc::clone(&shared);
                let hub = hub.clone();
                let forwarded = Arc::clone(&forwarded);
                async move {
                    let answer = answer(&shared, &hub, &forwarded, peer, request);
                    Ok::<_, Infallible>(answer.await)
                }
            });
            let connection = server_builder().serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        debug!(%peer, %error, "link connection ended");
                    }
                }
                () = async { let _ = stopped.wait_for(|stop| *stop).await; } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
}

async fn answer(
    shared: &Shared,
    hub: &Hub,
    forwarded: &Forwarded,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Response<LinkBody> {
    let secret_ok = request
        .headers()
        .get(SECRET_HEADER)
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(shared.link_secret.as_bytes())));
    if !secret_ok {
        ClusterMetrics::add(&shared.metrics.link_refused, 1);
        if let Some(suppressed) = shared.link_refused_log.admit() {
            warn!(%peer, suppressed, "link request without the cluster secret refused");
        }
        return status(StatusCode::UNAUTHORIZED);
    }
    let from = request
        .headers()
        .get(NODE_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let path = request.uri().path().to_owned();
    if let Some(sid) = path.strip_prefix(TAKE_PREFIX) {
        return json_answer(&answer_take(shared, hub, sid, &from));
    }
    if path == STATS_PATH {
        return match shared.local_stats.get() {
            Some(stats) => json_answer(&(stats.0)()),
            None => status(StatusCode::NOT_FOUND),
        };
    }
    if let Some(sid) = path.strip_prefix(HAS_PREFIX) {
        return json_answer(&json!({ "has": hub.holds(sid) }));
    }
    if let Some(sid) = path.strip_prefix(GONE_PREFIX) {
        shared.moved.remove(sid);
        return status(StatusCode::NO_CONTENT);
    }
    ClusterMetrics::add(&shared.metrics.forwarded_in, 1);
    forwarded(request).await
}

/// A take of session `sid` by node `taker`.
fn answer_take(shared: &Shared, hub: &Hub, sid: &str, taker: &str) -> Value {
    if taker.is_empty() {
        return json!({ "unknown": true });
    }
    if let Some(data) = hub.hand_over(sid) {
        shared.moved.insert(sid.to_owned(), taker.to_owned());
        ClusterMetrics::add(&shared.metrics.handed_over, 1);
        return match serde_json::to_value(&data) {
            Ok(data) => json!({ "taken": data }),
            Err(_) => json!({ "unknown": true }),
        };
    }
    if hub.holds(sid) {
        return json!({ "owner": &*shared.node_id() });
    }
    match shared.moved.get(sid) {
        Some(owner) => json!({ "owner": owner.value() }),
        None => json!({ "unknown": true }),
    }
}

/// A relayed body that ends, instead of failing, when the link breaks under it: the client
/// sees its response cut short, as when any connection drops. A forwarded GET's carries the
/// [`Receipts`] back to the serving node: each time it is asked for more, the client's
/// connection has taken everything before.
#[derive(Debug)]
pub struct Relayed {
    inner: Incoming,
    receipts: Option<Receipts>,
    /// The body's length when the answer said it: a server stops polling a body once it has
    /// that many bytes, before the link's end of stream may have arrived.
    expected: Option<u64>,
    yielded: u64,
}

impl Relayed {
    /// A body relayed as it is.
    pub fn new(inner: Incoming) -> Self {
        Relayed {
            inner,
            receipts: None,
            expected: None,
            yielded: 0,
        }
    }

    /// Whether the whole body has been handed on.
    fn finished(&self) -> bool {
        hyper::body::Body::is_end_stream(&self.inner)
            || self
                .expected
                .is_some_and(|expected| self.yielded >= expected)
    }

    /// Sends `receipts` as the body is handed on; `expected` is the body's length, when known.
    pub(crate) fn with_receipts(&mut self, receipts: Receipts, expected: Option<u64>) {
        self.receipts = Some(receipts);
        self.expected = expected;
    }

    /// The whole body was handed on: the last receipt, then the end of them.
    fn finish(&mut self) {
        if let Some(mut receipts) = self.receipts.take() {
            receipts.taken(self.yielded);
        }
    }
}

impl Drop for Relayed {
    fn drop(&mut self) {
        // A server stops polling a body it knows has ended: handed over whole, then. Anything
        // else dropped midway was not confirmed, and the receipts end without it.
        if self.finished() {
            self.finish();
        }
    }
}

impl hyper::body::Body for Relayed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let yielded = self.yielded;
        if let Some(receipts) = self.receipts.as_mut() {
            receipts.taken(yielded);
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.yielded += data.len() as u64;
                }
                if self.finished() {
                    self.finish();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                debug!(%error, "relayed body cut short by the link");
                self.receipts = None;
                Poll::Ready(None)
            }
            Poll::Ready(None) => {
                self.finish();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

/// The forwarding end of a forwarded GET's way back: the offsets up to which the client's
/// connection has taken the answer's body, written on the request body ([`receipt_body`]).
/// Dropping it ends them.
#[derive(Debug)]
pub struct Receipts {
    sender: tokio::sync::mpsc::UnboundedSender<Bytes>,
    sent: u64,
}

impl Receipts {
    /// The client's connection has taken the body up to `offset`.
    fn taken(&mut self, offset: u64) {
        if offset > self.sent {
            self.sent = offset;
            // The request is gone when nobody reads them any more: nothing to tell.
            let _ = self.sender.send(Bytes::from(format!("{offset}\n")));
        }
    }
}

/// A forwarded GET's request body: the receipts, then its end when they are dropped.
struct ReceiptBody(tokio::sync::mpsc::UnboundedReceiver<Bytes>);

impl hyper::body::Body for ReceiptBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0
            .poll_recv(cx)
            .map(|receipt| receipt.map(|receipt| Ok(Frame::data(receipt))))
    }
}

/// A new way back for a forwarded GET: the body to send the request with, and the receipts
/// to relay its answer with ([`Node::relay`](crate::Node::relay)).
pub fn receipt_body() -> (LinkBody, Receipts) {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    (
        ReceiptBody(receiver).boxed_unsync(),
        Receipts { sender, sent: 0 },
    )
}

/// Reads the receipts of a GET forwarded here (its request body) until they end or the link
/// breaks, calling `taken` with each offset the forwarding node's client took the answer's
/// body up to.
pub async fn read_receipts(mut body: Incoming, mut taken: impl FnMut(u64)) {
    let mut pending = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            // The link broke: no more receipts.
            return;
        };
        let Some(data) = frame.data_ref() else {
            continue;
        };
        pending.extend_from_slice(data);
        while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            match std::str::from_utf8(&line[..end])
                .ok()
                .and_then(|text| text.parse().ok())
            {
                Some(offset) => taken(offset),
                None => debug!("a malformed receipt on the link ignored"),
            }
        }
    }
}

/// Every live node's stats, this node's (`here`) among them, merged: sessions and sockets
/// summed, rooms summed by name, each node listed, and the nodes that did not answer within
/// [`QUERY_TIMEOUT`] named under `missing` instead of failing the whole answer.
pub(crate) async fn cluster_stats(shared: &Arc<Shared>, here: Value) -> Value {
    let own = shared.node_id();
    let mut asking = tokio::task::JoinSet::new();
    let mut missing: Vec<String> = Vec::new();
    for node in crate::registry::live_nodes(shared).await {
        if shared.is_own(&node) {
            continue;
        }
        missing.push(node.clone());
        let shared = Arc::clone(shared);
        asking.spawn(async move {
            let request = Request::builder()
                .method(Method::GET)
                .uri(STATS_PATH)
                .body(empty())
                .ok()?;
            let response = shared.links.send(&shared, &node, request).await.ok()?;
            if response.status() != StatusCode::OK {
                return None;
            }
            let body = response.into_body().collect().await.ok()?.to_bytes();
            Some((node, serde_json::from_slice::<Value>(&body).ok()?))
        });
    }
    let mut answers = vec![(own.to_string(), here)];
    let deadline = tokio::time::Instant::now() + QUERY_TIMEOUT;
    while let Ok(Some(answered)) = tokio::time::timeout_at(deadline, asking.join_next()).await {
        if let Ok(Some((node, stats))) = answered {
            missing.retain(|id| *id != node);
            answers.push((node, stats));
        }
    }
    merge_stats(&own, answers, missing)
}

fn merge_stats(own: &str, answers: Vec<(String, Value)>, mut missing: Vec<String>) -> Value {
    let mut sessions = 0;
    let mut nodes = Vec::new();
    let mut namespaces: std::collections::BTreeMap<
        String,
        (u64, std::collections::BTreeMap<String, u64>),
    > = std::collections::BTreeMap::new();
    let mut ready = true;
    for (node, stats) in &answers {
        let node_sessions = stats["sessions"].as_u64().unwrap_or(0);
        sessions += node_sessions;
        if node == own {
            ready = stats["ready"].as_bool().unwrap_or(false);
        }
        nodes.push(json!({ "node": node, "sessions": node_sessions, "ready": stats["ready"] }));
        for namespace in stats["namespaces"].as_array().into_iter().flatten() {
            let Some(name) = namespace["name"].as_str() else {
                continue;
            };
            let entry = namespaces.entry(name.to_owned()).or_default();
            entry.0 += namespace["sockets"].as_u64().unwrap_or(0);
            for (room, size) in namespace["rooms"].as_object().into_iter().flatten() {
                *entry.1.entry(room.clone()).or_default() += size.as_u64().unwrap_or(0);
            }
        }
    }
    nodes.sort_by(|a, b| a["node"].as_str().cmp(&b["node"].as_str()));
    missing.sort();
    let namespaces: Vec<Value> = namespaces
        .into_iter()
        .map(|(name, (sockets, rooms))| json!({ "name": name, "sockets": sockets, "rooms": rooms }))
        .collect();
    json!({
        "sessions": sessions,
        "ready": ready,
        "namespaces": namespaces,
        "node": own,
        "nodes": nodes,
        "missing": missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_several_nodes_add_up_and_name_the_missing() {
        let a = json!({"sessions": 2, "ready": true, "namespaces": [
            {"name": "/", "sockets": 2, "rooms": {"lobby": 1}},
        ]});
        let b = json!({"sessions": 3, "ready": false, "namespaces": [
            {"name": "/", "sockets": 3, "rooms": {"lobby": 2, "vip": 1}},
            {"name": "/chat", "sockets": 1, "rooms": {}},
        ]});
        let merged = merge_stats(
            "aaaaaa",
            vec![("aaaaaa".into(), a), ("bbbbbb".into(), b)],
            vec!["cccccc".into()],
        );
        assert_eq!(merged["sessions"], 5);
        assert_eq!(merged["ready"], true);
        assert_eq!(merged["missing"], json!(["cccccc"]));
        assert_eq!(
            merged["namespaces"],
            json!([
                {"name": "/", "sockets": 5, "rooms": {"lobby": 3, "vip": 1}},
                {"name": "/chat", "sockets": 1, "rooms": {}},
            ])
        );
        assert_eq!(
            merged["nodes"][1],
            json!({"node": "bbbbbb", "sessions": 3, "ready": false})
        );
    }
}
