//! The gateway under test: [`TestServer`] runs the conformance application on `127.0.0.1:0`
//! inside the test's runtime, with its observation log and hub at hand; handshakes; the short
//! timers of the timer cases; and the URL of every transport.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use ferrio_hub::Hub;
use ferrio_server::apps::conformance::{self, Log};
use ferrio_server::{ClusterConfig, Server, ServerConfig};
use http::Method;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::HttpResponse;

/// Short timers for timer-dependent cases (docs/protocol.md §9): heartbeat interval 3 s, heartbeat
/// timeout 5 s, close timeout 4 s, polling duration 2 s.
pub fn short_timers(mut config: ServerConfig) -> ServerConfig {
    config.hub.heartbeat_interval = Duration::from_secs(3);
    config.hub.heartbeat_timeout = Duration::from_secs(5);
    config.hub.close_timeout = Duration::from_secs(4);
    config.hub.polling_duration = Duration::from_secs(2);
    config
}

/// `config` as a node of the cluster `name` on the Redis at `redis_url`: a heartbeat a second,
/// an expiry of three, a publish retry of ten seconds (longer than any Redis outage a test
/// makes), the link on a free port of 127.0.0.1 and the tests' cluster secret.
pub fn clustered(mut config: ServerConfig, redis_url: &str, name: &str) -> ServerConfig {
    let mut cluster = ClusterConfig::new(redis_url);
    cluster.name = name.to_owned();
    cluster.heartbeat = Duration::from_secs(1);
    cluster.node_ttl = Duration::from_secs(3);
    cluster.publish_retry = Duration::from_secs(10);
    cluster.secret = "a cluster secret for tests".to_owned();
    config.cluster = Some(cluster);
    config
}

/// A gateway running the conformance application on an ephemeral port.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where its Flash policy responder listens (answers only when flashsocket is enabled).
    pub policy_addr: SocketAddr,
    /// Where its admin listener (metrics, health, publish API) listens.
    pub admin_addr: SocketAddr,
    /// What the application observed.
    pub log: Log,
    /// The hub.
    pub hub: Hub,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// A listener on `127.0.0.1:0` and the address the system gave it.
async fn bind_port_zero() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local address");
    (listener, addr)
}

impl TestServer {
    /// Starts a gateway with `config` and the conformance application. Every listener is
    /// bound before this returns, so a test never races the gateway's start.
    pub async fn start(config: ServerConfig) -> Self {
        let server = Server::new(config).expect("test configuration is valid");
        // Before the first handshake, so every session id names its node.
        server
            .join_cluster()
            .await
            .expect("the node joins its cluster");
        let log = Log::default();
        conformance::install(server.hub(), &log);
        let hub = server.hub().clone();
        let (public, addr) = bind_port_zero().await;
        let (flash_policy, policy_addr) = bind_port_zero().await;
        let (admin, admin_addr) = bind_port_zero().await;
        let listeners = ferrio_server::Listeners {
            public,
            flash_policy: Some(flash_policy),
            admin: Some(admin),
        };
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = server
                .serve_with(listeners, async move {
                    let _ = rx.await;
                })
                .await;
        });
        TestServer {
            addr,
            policy_addr,
            admin_addr,
            log,
            hub,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Starts a gateway with the default configuration.
    pub async fn start_default() -> Self {
        Self::start(ServerConfig::default()).await
    }

    /// Starts a gateway with the default configuration under [`short_timers`].
    pub async fn start_short_timers() -> Self {
        Self::start_short_timers_with(|_| {}).await
    }

    /// Starts a gateway with the default configuration under [`short_timers`], then
    /// `configure` applied.
    pub async fn start_short_timers_with(configure: impl FnOnce(&mut ServerConfig)) -> Self {
        let mut config = short_timers(ServerConfig::default());
        configure(&mut config);
        Self::start(config).await
    }

    /// Shuts the gateway down and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// A handshake; returns the session id.
    pub async fn handshake(&self) -> String {
        self.handshake_with_query("").await
    }

    /// A handshake with extra query pairs (`&`-joined, without leading `&`).
    pub async fn handshake_with_query(&self, query: &str) -> String {
        let path = if query.is_empty() {
            HANDSHAKE_PATH.to_owned()
        } else {
            format!("{HANDSHAKE_PATH}&{query}")
        };
        session_of(self.get(&path).await)
    }

    /// A handshake sent with `Origin: {origin}` (for servers with a restrictive origins
    /// list); returns the session id.
    pub async fn handshake_from_origin(&self, origin: &str) -> String {
        let response = self
            .request(
                Method::GET,
                HANDSHAKE_PATH,
                &[("origin", origin)],
                Bytes::new(),
            )
            .await;
        session_of(response)
    }
}

/// The session id of a handshake answer, which must be a `200`.
fn session_of(response: HttpResponse) -> String {
    assert_eq!(
        response.status,
        200,
        "handshake failed: {}",
        response.text()
    );
    let body = ferrio_protocol::HandshakeBody::parse(&response.text()).expect("handshake body");
    body.sid
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// URLs.

/// A handshake URL, with the cache-busting `t` query the 0.9 client adds.
pub const HANDSHAKE_PATH: &str = "/socket.io/1/?t=1";

/// The xhr-polling URL of `sid`.
pub fn xhr_path(sid: &str) -> String {
    format!("/socket.io/1/xhr-polling/{sid}?t=2")
}

/// The websocket URL of `sid`.
pub fn ws_path(sid: &str) -> String {
    format!("/socket.io/1/websocket/{sid}")
}

/// The flashsocket URL of `sid`.
pub fn flashsocket_path(sid: &str) -> String {
    format!("/socket.io/1/flashsocket/{sid}")
}

/// The htmlfile URL of `sid`.
pub fn htmlfile_path(sid: &str) -> String {
    format!("/socket.io/1/htmlfile/{sid}?t=3")
}

/// The xhr-multipart URL of `sid`.
pub fn multipart_path(sid: &str) -> String {
    format!("/socket.io/1/xhr-multipart/{sid}?t=4")
}

/// The jsonp-polling URL of `sid` with the callback index query `i={index}`.
pub fn jsonp_path(sid: &str, index: &str) -> String {
    format!("/socket.io/1/jsonp-polling/{sid}?t=5&i={index}")
}

/// The URL a client GETs to end `sid` whatever its transport (`sync disconnect on unload`,
/// docs/protocol.md §4.7): no transport segment, `?disconnect=1`.
pub fn forced_disconnect_path(sid: &str) -> String {
    format!("/socket.io/1//{sid}/?disconnect=1")
}
