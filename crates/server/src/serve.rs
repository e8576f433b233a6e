//! [`Server`]: the gateway on its own listeners. The accept loop and each connection's
//! HTTP/1.1 service (plain or TLS), the Flash policy responder, the admin listener, webhooks,
//! and the drain-then-shutdown sequence.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio_http1::Ended;
use ferrio_hub::{Hub, LogGate};
use ferrio_protocol::TransportKind;
use ferrio_transport::{StallSignal, TransportError};
use http::Request;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::rt::{Read, Write};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::apps;
use crate::config::{ServerConfig, ServerConfigError};
use crate::connections::{Admission, ConnectionIo, Limit, Slot};
use crate::flash_policy;
use crate::gateway::{ConnectionInfo, Gateway};
use crate::tls;

/// How long a client may take over its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a shutdown looks whether every connection has closed.
const CLOSE_POLL: Duration = Duration::from_millis(20);

/// How long a refused connection is given to get its `503`: TLS handshake, request and
/// answer together. A client that sends nothing is closed then.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest request head the lean path reads; a longer one is answered `431`. Heads up
/// to this size reach the gateway, which answers them with its own bounds (a handshake's
/// query `414`, its headers `431`, each counted), as they did through hyper, whose buffer
/// grows in steps past its 64 KiB limit before it checks it.
const MAX_HEAD_BYTES: usize = 128 * 1024;

/// hyper's buffer limit, for the connections handed to it.
const HYPER_MAX_BUF_BYTES: usize = 64 * 1024;

/// The longest request body the lean path reads before calling the gateway: every POST a
/// transport takes in practice. Longer ones, and any over the configured POST limit, go to
/// hyper, which streams them to the gateway so that its body limit refuses them as they
/// arrive rather than after they have been read.
const LEAN_BODY_BYTES: usize = 64 * 1024;

/// Failed accepts (out of descriptors…) repeat as fast as the loop runs: a line a second.
static ACCEPT_ERRORS: LogGate = LogGate::new();
/// A client can open connections as fast as it likes: a line a second for the refused ones.
static REFUSED: LogGate = LogGate::new();

/// The sockets a gateway serves. [`Server::serve`] binds the configured ones; tests and
/// embedding programs can bind their own (port 0) and pass them to [`Server::serve_with`].
#[derive(Debug)]
pub struct Listeners {
    /// The public port: handshakes, transports, files.
    pub public: TcpListener,
    /// The Flash policy responder (used only when flashsocket is enabled).
    pub flash_policy: Option<TcpListener>,
    /// The admin listener: metrics, health, publish API.
    pub admin: Option<TcpListener>,
}

/// A gateway ready to serve on its own listeners: its hub is reachable so an embedding program
/// can install its own handlers before [`Server::serve`], and its [`Gateway`] can be mounted
/// in another HTTP server too.
pub struct Server {
    gateway: Gateway,
    tls: Option<TlsAcceptor>,
    admission: Arc<Admission>,
    /// This node's membership of the configured cluster, once joined.
    cluster: std::sync::OnceLock<Arc<ferrio_cluster::Node>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("gateway", &self.gateway)
            .field("tls", &self.tls.is_some())
            .field("max_connections", &self.admission.max())
            .finish()
    }
}

/// The admin listener's task and the way to stop it.
struct AdminServer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Server {
    /// Builds the gateway, with no application installed. Certificate files are read here,
    /// so a bad one is refused before anything listens.
    pub fn new(config: ServerConfig) -> Result<Self, ServerConfigError> {
        config.validate()?;
        let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
        let admission = Admission::new(&config.connections);
        let gateway = Gateway::from_validated(config)?;
        Ok(Server {
            gateway,
            tls,
            admission,
            cluster: std::sync::OnceLock::new(),
        })
    }

    /// The hub, to register namespaces and handlers.
    pub fn hub(&self) -> &Hub {
        self.gateway.hub()
    }

    /// The gateway every connection of this server is served by. A clone serves the same
    /// hub, so the gateway can also be mounted in another HTTP server of the program.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    fn config(&self) -> &ServerConfig {
        self.gateway.config()
    }

    fn flash_enabled(&self) -> bool {
        self.config().hub.enables(TransportKind::Flashsocket)
    }

    /// Serves `listener` and binds the other configured listeners (the Flash policy port on
    /// the same address when flashsocket is on, and the admin listener) until `shutdown`
    /// resolves; then drains and shuts down (see [`Server::serve_with`]).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let mut flash_policy = None;
        if let (true, Some(port)) = (self.flash_enabled(), self.config().flash_policy_port) {
            let ip = listener.local_addr()?.ip();
            match TcpListener::bind((ip, port)).await {
                Ok(bound) => flash_policy = Some(bound),
                // Flash can still read the policy inline on the main port.
                Err(error) => warn!(%ip, port, %error, "flash policy port unavailable"),
            }
        }
        let admin = match &self.config().admin {
            Some(admin) => Some(TcpListener::bind(admin.addr).await.map_err(|error| {
                std::io::Error::new(
                    error.kind(),
                    format!("admin listener on {}: {error}", admin.addr),
                )
            })?),
            None => None,
        };
        let listeners = Listeners {
            public: listener,
            flash_policy,
            admin,
        };
        self.serve_with(listeners, shutdown).await
    }

    /// Serves the given listeners until `shutdown` resolves. Webhooks, when configured, are
    /// installed first, over any application handler for the same events. Then the shutdown
    /// sequence, which loses nothing a client was told was accepted:
    ///
    /// 1. the drain period: `/readyz` turns false and handshakes are refused while sessions go
    ///    on as before;
    /// 2. then [`Hub::shutdown`]: client packets are refused (a POST gets `503`), and every
    ///    session delivers what it has queued and ends: a stream writes its queue and closes,
    ///    a poll gets the queue and the next one `503` (so clients reconnect elsewhere). The
    ///    public port keeps accepting and answering meanwhile, until every session has ended
    ///    or the grace period is over; sessions still open then are ended with what they hold
    ///    (counted in a warning);
    /// 3. then the port closes and open connections finish their request in flight, and
    ///    WebSockets their closing handshake, within what is left of the grace period.
    pub async fn serve_with(
        self,
        listeners: Listeners,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let Listeners {
            public,
            flash_policy,
            admin,
        } = listeners;
        self.join_cluster().await?;
        let cluster = self.cluster.get().cloned();
        let webhooks = self
            .config()
            .webhooks
            .clone()
            .map(|webhooks| ferrio_webhooks::install(self.hub(), webhooks));
        let admin = admin.map(|listener| self.start_admin(listener, webhooks, cluster.clone()));
        let policy = self
            .flash_enabled()
            .then(|| flash_policy::policy_document(&self.config().hub.origins));
        let policy_server = flash_policy
            .zip(policy.clone())
            .map(|(listener, policy)| start_policy_server(listener, policy));
        let (connections, deadline) = self.accept_until_flushed(public, policy, shutdown).await;
        self.shut_down(connections, deadline, policy_server, admin)
            .await;
        if let Some(node) = cluster {
            node.leave().await;
        }
        Ok(())
    }

    /// Joins the configured cluster, if any and not done yet; [`Server::serve_with`] does it
    /// before serving, and a program can do it earlier, before it says it listens. Session
    /// ids must name this node from the first handshake on, and a Redis that cannot be
    /// reached stops the start with an error rather than leaving a node that believes it is
    /// alone.
    pub async fn join_cluster(&self) -> std::io::Result<()> {
        let Some(config) = self.config().cluster.clone() else {
            return Ok(());
        };
        if self.cluster.get().is_some() {
            return Ok(());
        }
        let node = ferrio_cluster::Node::join(config, self.hub())
            .await
            .map_err(|error| std::io::Error::other(format!("cluster: {error}")))?;
        let node = Arc::new(node);
        self.gateway.join(&node);
        let _ = self.cluster.set(node);
        Ok(())
    }

    /// Spawns the admin listener: metrics (the hub's, the allocator's, the webhooks', the
    /// cluster's), health and the publish API.
    fn start_admin(
        &self,
        listener: TcpListener,
        webhooks: Option<Arc<ferrio_webhooks::Webhooks>>,
        cluster: Option<Arc<ferrio_cluster::Node>>,
    ) -> AdminServer {
        let api_token = self
            .config()
            .admin
            .as_ref()
            .and_then(|admin| admin.api_token.clone());
        let admission = Arc::clone(&self.admission);
        let mut admin = ferrio_admin::Admin::new(self.hub().clone(), api_token)
            .with_header_read_timeout(self.config().connections.header_read_timeout)
            .with_metrics(crate::allocator::render_metrics)
            .with_metrics(move |out| admission.render_metrics(out));
        if let Some(webhooks) = webhooks {
            admin = admin.with_metrics(move |out| webhooks.render_metrics(out));
        }
        if let Some(node) = cluster {
            let hub = self.hub().clone();
            node.set_local_stats(Arc::new(move || ferrio_admin::local_stats(&hub)));
            let asking = Arc::clone(&node);
            admin = admin
                .with_metrics(move |out| node.render_metrics(out))
                .with_cluster_stats(Arc::new(move |here| {
                    let node = Arc::clone(&asking);
                    Box::pin(async move { node.cluster_stats(here).await })
                }));
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(ferrio_admin::serve(listener, admin, async move {
            let _ = stopped.await;
        }));
        AdminServer { stop, task }
    }

    /// Accepts connections on `public` until the shutdown that `shutdown` starts is done with
    /// the sessions: through the drain period, then while the sessions deliver their queues,
    /// until every one has ended or the grace period is over. Gives back the signal that
    /// stops the connections, and the end of the grace period.
    async fn accept_until_flushed(
        &self,
        public: TcpListener,
        policy: Option<Arc<[u8]>>,
        shutdown: impl Future<Output = ()>,
    ) -> (watch::Sender<bool>, Instant) {
        let config = self.config();
        let limits = config.connections;
        info!(
            max_connections = self.admission.max(),
            per_address = ?limits.max_connections_per_address,
            header_read_timeout = ?limits.header_read_timeout,
            write_timeout = ?limits.write_timeout,
            "connection limits"
        );
        // Every connection task holds a receiver: the sender learns when all are gone.
        let (stop, _) = watch::channel(false);
        let mut builder = http1::Builder::new();
        // Title-Case header names, as old browsers and the Flash WebSocket client expect them.
        // The header read timeout runs whenever the connection waits for a request, so it
        // also closes kept-alive connections left idle.
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(true)
            .max_buf_size(HYPER_MAX_BUF_BYTES)
            .title_case_headers(true);
        tokio::pin!(shutdown);
        let mut stage = Stage::Serving;
        loop {
            let hub = self.hub();
            let next = async {
                match stage {
                    Stage::Serving => std::future::pending().await,
                    Stage::Draining { until } => {
                        tokio::time::sleep_until(until).await;
                        Next::Flush
                    }
                    Stage::Flushing { deadline } => tokio::select! {
                        () = hub.flushed() => Next::Done { deadline },
                        () = tokio::time::sleep_until(deadline) => Next::Done { deadline },
                    },
                }
            };
            tokio::select! {
                // Accepting goes on through the whole shutdown: a poller's next request must
                // find the port open to get its queue, and then its `503`, not a reset.
                accepted = public.accept() => match accepted {
                    Ok((stream, peer)) => match self.admission.admit(peer.ip()) {
                        Ok(slot) => {
                            let connection = Connection {
                                gateway: self.gateway.clone(),
                                builder: builder.clone(),
                                stopped: stop.subscribe(),
                                policy: policy.clone(),
                                tls: self.tls.clone(),
                                admission: Arc::clone(&self.admission),
                                write_timeout: limits.write_timeout,
                                header_read_timeout: limits.header_read_timeout,
                                body_read_timeout: config.post.body_read_timeout,
                                lean_body_bytes: LEAN_BODY_BYTES.min(config.post.max_body_bytes),
                            };
                            tokio::spawn(connection.run(stream, peer, slot));
                        }
                        Err(limit) => self.refuse(stream, peer, limit),
                    },
                    Err(error) => {
                        // Out of descriptors or similar: back off briefly instead of spinning.
                        self.admission.accept_failed();
                        if let Some(suppressed) = ACCEPT_ERRORS.admit() {
                            warn!(%error, suppressed, "accept failed");
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = &mut shutdown, if matches!(stage, Stage::Serving) => {
                    info!(drain = ?config.drain, "draining: readiness off, new handshakes refused");
                    self.hub().drain();
                    stage = Stage::Draining { until: Instant::now() + config.drain };
                }
                next = next => match next {
                    Next::Flush => {
                        info!(
                            sessions = self.hub().session_count(),
                            grace = ?config.shutdown_grace,
                            "shutting down: client packets refused; sessions deliver what they have queued, then end"
                        );
                        self.hub().shutdown();
                        stage = Stage::Flushing { deadline: Instant::now() + config.shutdown_grace };
                    }
                    Next::Done { deadline } => return (stop, deadline),
                },
            }
        }
    }

    /// Answers a connection over a limit with `503` and `Retry-After`, then closes it; when
    /// more refusals than [`crate::connections::REFUSALS_IN_FLIGHT`] are under way, closes it
    /// at once.
    fn refuse(&self, stream: TcpStream, peer: SocketAddr, limit: Limit) {
        if let Some(suppressed) = REFUSED.admit() {
            info!(%peer, limit = limit.label(), suppressed, "connection refused: too many connections");
        }
        let Some(permit) = self.admission.refusal() else {
            return;
        };
        let tls = self.tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let refusal = answer_refusal(stream, tls);
            if tokio::time::timeout(REFUSAL_TIMEOUT, refusal)
                .await
                .is_err()
            {
                debug!(%peer, "refused connection closed unanswered");
            }
        });
    }

    /// Ends the sessions the grace period left open, stops the connections (each finishes the
    /// request in flight; WebSockets their closing handshake) until every one is closed or the
    /// grace period is over, then stops the policy and admin listeners.
    async fn shut_down(
        &self,
        connections: watch::Sender<bool>,
        deadline: Instant,
        policy_server: Option<JoinHandle<()>>,
        admin: Option<AdminServer>,
    ) {
        if let Some(task) = policy_server {
            task.abort();
        }
        let left = self.hub().abandon();
        if left.sessions == 0 {
            info!("every session delivered its queue and ended");
        } else if left.packets == 0 {
            info!(
                sessions = left.sessions,
                "shutdown grace period over: sessions whose clients did not come back ended, nothing was left queued"
            );
        } else {
            warn!(
                sessions = left.sessions,
                packets = left.packets,
                "shutdown grace period over: sessions ended with packets undelivered"
            );
        }
        connections.send_replace(true);
        // Upgraded WebSockets have left hyper's connections but still hold their slots.
        let closed = async {
            while self.admission.open() > 0 {
                tokio::time::sleep(CLOSE_POLL).await;
            }
        };
        tokio::select! {
            () = closed => info!("all connections closed"),
            () = tokio::time::sleep_until(deadline) => warn!("shutdown grace period over; closing remaining connections"),
        }
        if let Some(AdminServer { stop, task }) = admin {
            let _ = stop.send(());
            let _ = task.await;
        }
    }
}

/// Where a server is on its way out.
#[derive(Debug, Clone, Copy)]
enum Stage {
    Serving,
    /// Handshakes refused, sessions going on, `until` the drain period is over.
    Draining {
        until: Instant,
    },
    /// Sessions delivering their queues, until every one has ended or the `deadline`.
    Flushing {
        deadline: Instant,
    },
}

/// What ends a stage of the shutdown.
#[derive(Debug, Clone, Copy)]
enum Next {
    /// The drain period is over: the sessions deliver their queues.
    Flush,
    /// Every session has ended, or the grace period (which ends at `deadline`) is over.
    Done { deadline: Instant },
}

/// Spawns the Flash policy responder on its own port.
fn start_policy_server(listener: TcpListener, policy: Arc<[u8]>) -> JoinHandle<()> {
    tokio::spawn(flash_policy::serve_policy_port(listener, policy))
}

/// Serves a refused connection: whatever it asks gets `503` with `Retry-After`, then the
/// connection closes. The caller bounds the time it takes.
async fn answer_refusal(stream: TcpStream, tls: Option<TlsAcceptor>) {
    let io = ConnectionIo::new(stream, REFUSAL_TIMEOUT, None, StallSignal::new());
    let mut builder = http1::Builder::new();
    builder.keep_alive(false).title_case_headers(true);
    let service = service_fn(|_request: Request<Incoming>| async {
        Ok::<_, Infallible>(TransportError::TooManyConnections.into_response())
    });
    let served = match tls {
        Some(acceptor) => match acceptor.accept(io).await {
            Ok(tls_stream) => {
                builder
                    .serve_connection(TokioIo::new(tls_stream), service)
                    .await
            }
            Err(_) => return,
        },
        None => builder.serve_connection(TokioIo::new(io), service).await,
    };
    if let Err(error) = served {
        debug!(%error, "refused connection ended with an error");
    }
}

/// One accepted TCP connection.
struct Connection {
    gateway: Gateway,
    builder: http1::Builder,
    stopped: watch::Receiver<bool>,
    policy: Option<Arc<[u8]>>,
    tls: Option<TlsAcceptor>,
    admission: Arc<Admission>,
    write_timeout: Duration,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    /// The longest body the lean path reads itself.
    lean_body_bytes: usize,
}

impl Connection {
    /// Serves the connection `slot` counts, until it ends.
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps its arguments twice in its future, the connection's task"
    )]
    fn run(
        mut self,
        stream: TcpStream,
        peer: SocketAddr,
        slot: Slot,
    ) -> impl Future<Output = ()> + Send + 'static {
        async move {
            let _ = stream.set_nodelay(true);
            if self.tls.is_none()
                && let Some(policy) = &self.policy
                && flash_policy::is_policy_request(&stream).await
            {
                debug!(%peer, "flash policy request on the main port");
                flash_policy::answer(stream, policy).await;
                return;
            }
            // Below TLS, so that the write timeout sees the socket's own progress. Its stall
            // signal is made apart: a local borrowed (to ask it for its signal) keeps its room
            // in the task after it has been moved on.
            let stall = StallSignal::new();
            let timeout = self.write_timeout;
            if let Some(acceptor) = self.tls.clone() {
                // Boxed: rustls' connection state is kilobytes, and a task is sized for the
                // largest of its states; plain connections should not pay for it.
                let io = ConnectionIo::new(stream, timeout, Some(slot), stall.clone());
                let tls = boxed(self.serve_tls(acceptor, io, peer, stall));
                tls.await;
                return;
            }
            let plain = ConnectionIo::new(stream, timeout, Some(slot), stall.clone());
            self.serve(plain, peer, false, stall).await;
        }
    }

    /// Serves a connection after its TLS handshake.
    async fn serve_tls(
        mut self,
        acceptor: TlsAcceptor,
        io: ConnectionIo<TcpStream>,
        peer: SocketAddr,
        stall: StallSignal,
    ) {
        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
            Ok(Ok(tls_stream)) => self.serve(tls_stream, peer, true, stall).await,
            Ok(Err(error)) => debug!(%peer, %error, "TLS handshake failed"),
            Err(_) => debug!(%peer, "TLS handshake timed out"),
        }
    }

    /// Serves `io` on the lean HTTP/1.1 path, which holds no buffer while a poll waits or a
    /// stream runs, and hands it to hyper at the first request the lean path leaves to it
    /// (an upgrade, a chunked body…).
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps its arguments twice in its future, the connection's task"
    )]
    fn serve<I>(
        &mut self,
        io: I,
        peer: SocketAddr,
        secure: bool,
        stall: StallSignal,
    ) -> impl Future<Output = ()> + Send + '_
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        async move {
            let info = ConnectionInfo { peer, secure };
            let gateway = self.gateway.clone();
            let signal = stall.clone();
            let service = move |mut request: Request<Full<Bytes>>| {
                request.extensions_mut().insert(info);
                // Streaming responses end their session as a write timeout when it fires.
                request.extensions_mut().insert(signal.clone());
                hyper::service::Service::call(&gateway, request)
            };
            let settings = ferrio_http1::Settings {
                header_read_timeout: Some(self.header_read_timeout),
                max_head_bytes: MAX_HEAD_BYTES,
                max_body_bytes: self.lean_body_bytes,
                body_read_timeout: self.body_read_timeout,
            };
            let stopped = self.stopped.clone();
            match ferrio_http1::serve(io, settings, service, stopped).await {
                Ended::HandOff(io) => {
                    let hyper = self.hyper_boxed(TokioIo::new(io), info, stall);
                    hyper.await;
                }
                Ended::Closed => {}
                Ended::HeaderTimeout => {
                    self.admission.header_timed_out();
                    debug!(%peer, "connection closed at the header read timeout");
                }
                Ended::Failed(error) => debug!(%peer, %error, "connection failed"),
                Ended::ServiceFailed(error) => debug!(%peer, %error, "response failed"),
            }
        }
    }

    /// [`Connection::serve_hyper`], boxed where the box is made: see [`boxed`].
    fn hyper_boxed<I>(
        &mut self,
        io: I,
        info: ConnectionInfo,
        stall: StallSignal,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>
    where
        I: Read + Write + Unpin + Send + 'static,
    {
        Box::pin(self.serve_hyper(io, info, stall))
    }

    /// Serves the rest of a connection with hyper.
    async fn serve_hyper<I>(&mut self, io: I, info: ConnectionInfo, stall: StallSignal)
    where
        I: Read + Write + Unpin + Send + 'static,
    {
        let gateway = self.gateway.clone();
        let peer = info.peer;
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(info);
            // Streaming responses end their session as a write timeout when it fires.
            request.extensions_mut().insert(stall.clone());
            hyper::service::Service::call(&gateway, request)
        });
        let connection = self.builder.serve_connection(io, service).with_upgrades();
        tokio::pin!(connection);
        let stopped = &mut self.stopped;
        let result = tokio::select! {
            result = connection.as_mut() => result,
            _ = async { stopped.wait_for(|stop| *stop).await.map(|_| ()) } => {
                // Finish the request in flight, then close.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = result {
            if error.is_timeout() {
                self.admission.header_timed_out();
            }
            debug!(%peer, %error, "connection ended with an error");
        }
    }
}

/// `future` in a box, so that the task awaiting it holds a pointer rather than the future: a
/// task is sized for the largest of its states. The box must be made in a statement of its
/// own: a temporary lives to the end of its statement, so `boxed(f()).await` would keep room
/// for `f()` across the await.
fn boxed<F: Future<Output = ()> + Send + 'static>(
    future: F,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(future)
}

/// Runs the gateway with the built-in application `config.app` on `listener` until
/// `shutdown` resolves.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let app = config.app;
    let server = Server::new(config)?;
    apps::install(app, server.hub());
    server.serve(listener, shutdown).await?;
    Ok(())
}
