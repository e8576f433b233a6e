//! [`Server`]: the gateway on its own listeners. The accept loop and each connection's
//! HTTP/1.1 service (plain or TLS), the Flash policy responder, the admin listener, webhooks,
//! and the drain-then-shutdown sequence.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrio_hub::{Hub, LogGate};
use ferrio_protocol::TransportKind;
use ferrio_transport::{StallSignal, TransportError};
use http::Request;
use hyper::body::Incoming;
use hyper::rt::{Read, Write};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
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

/// How long a refused connection is given to get its `503`: TLS handshake, request and
/// answer together. A client that sends nothing is closed then.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

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
    /// sequence: `/readyz` turns false and handshakes are refused for the drain period while
    /// sessions go on; then every session ends (streams close, waiting polls are answered, so
    /// clients reconnect elsewhere); then open requests get up to the grace period.
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
        let webhooks = self
            .config()
            .webhooks
            .clone()
            .map(|webhooks| ferrio_webhooks::install(self.hub(), webhooks));
        let admin = admin.map(|listener| self.start_admin(listener, webhooks));
        let policy = self
            .flash_enabled()
            .then(|| flash_policy::policy_document(&self.config().hub.origins));
        let policy_server = flash_policy
            .zip(policy.clone())
            .map(|(listener, policy)| start_policy_server(listener, policy));
        let connections = self.accept_until_drained(public, policy, shutdown).await;
        self.shut_down(connections, policy_server, admin).await;
        Ok(())
    }

    /// Spawns the admin listener: metrics (the hub's, the allocator's, the webhooks'), health
    /// and the publish API.
    fn start_admin(
        &self,
        listener: TcpListener,
        webhooks: Option<Arc<ferrio_webhooks::Webhooks>>,
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
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(ferrio_admin::serve(listener, admin, async move {
            let _ = stopped.await;
        }));
        AdminServer { stop, task }
    }

    /// Accepts connections on `public` until the drain period after `shutdown` is over. Gives
    /// back the signal that stops the connections, which also learns when all have ended.
    async fn accept_until_drained(
        &self,
        public: TcpListener,
        policy: Option<Arc<[u8]>>,
        shutdown: impl Future<Output = ()>,
    ) -> watch::Sender<bool> {
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
            .max_buf_size(64 * 1024)
            .title_case_headers(true);
        tokio::pin!(shutdown);
        let mut accepting = true;
        let mut drain_until = None;
        loop {
            let drained = async {
                match drain_until {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                accepted = public.accept(), if accepting => match accepted {
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
                () = &mut shutdown, if drain_until.is_none() => {
                    info!(drain = ?config.drain, "draining: readiness off, new handshakes refused");
                    self.hub().drain();
                    drain_until = Some(tokio::time::Instant::now() + config.drain);
                    // Keep accepting while draining: clients still poll and send.
                    accepting = !config.drain.is_zero();
                }
                () = drained => break,
            }
        }
        stop
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

    /// Ends every session, stops the connections (each finishes the request in flight) within
    /// the grace period, then stops the policy and admin listeners.
    async fn shut_down(
        &self,
        connections: watch::Sender<bool>,
        policy_server: Option<JoinHandle<()>>,
        admin: Option<AdminServer>,
    ) {
        if let Some(task) = policy_server {
            task.abort();
        }
        info!("shutting down: ending sessions");
        self.hub().shutdown();
        connections.send_replace(true);
        tokio::select! {
            () = connections.closed() => info!("all connections closed"),
            () = tokio::time::sleep(self.config().shutdown_grace) => warn!("shutdown grace period over; closing remaining connections"),
        }
        if let Some(AdminServer { stop, task }) = admin {
            let _ = stop.send(());
            let _ = task.await;
        }
    }
}

/// Spawns the Flash policy responder on its own port.
fn start_policy_server(listener: TcpListener, policy: Arc<[u8]>) -> JoinHandle<()> {
    tokio::spawn(flash_policy::serve_policy_port(listener, policy))
}

/// Serves a refused connection: whatever it asks gets `503` with `Retry-After`, then the
/// connection closes. The caller bounds the time it takes.
async fn answer_refusal(stream: TcpStream, tls: Option<TlsAcceptor>) {
    let io = ConnectionIo::new(stream, REFUSAL_TIMEOUT, None);
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
}

impl Connection {
    /// Serves the connection `slot` counts, until it ends.
    async fn run(self, stream: TcpStream, peer: SocketAddr, slot: Slot) {
        let _ = stream.set_nodelay(true);
        if self.tls.is_none()
            && let Some(policy) = &self.policy
            && flash_policy::is_policy_request(&stream).await
        {
            debug!(%peer, "flash policy request on the main port");
            flash_policy::answer(stream, policy).await;
            return;
        }
        // Below TLS, so that the write timeout sees the socket's own progress.
        let io = ConnectionIo::new(stream, self.write_timeout, Some(slot));
        let stall = io.stall_signal();
        if let Some(acceptor) = self.tls.clone() {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
                Ok(Ok(tls_stream)) => {
                    let peer_io = TokioIo::new(tls_stream);
                    self.serve(peer_io, peer, true, stall).await;
                }
                Ok(Err(error)) => debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => debug!(%peer, "TLS handshake timed out"),
            }
            return;
        }
        self.serve(TokioIo::new(io), peer, false, stall).await;
    }

    async fn serve<I>(mut self, io: I, peer: SocketAddr, secure: bool, stall: StallSignal)
    where
        I: Read + Write + Unpin + Send + 'static,
    {
        let gateway = self.gateway.clone();
        let info = ConnectionInfo { peer, secure };
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
