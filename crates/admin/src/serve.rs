//! The admin listener: routes, and the connection loop.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferrio_hub::{Hub, LogGate};
use ferrio_transport::{Body, full};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use crate::api;
use crate::dashboard;
use crate::history::{History, SAMPLE_EVERY};

type ExtraMetrics = Arc<dyn Fn(&mut String) + Send + Sync>;

/// What the admin listener serves.
#[derive(Clone)]
pub struct Admin {
    pub(crate) hub: Hub,
    /// The bearer token of the publish API; `None` turns the API off.
    pub(crate) api_token: Option<String>,
    extra_metrics: Vec<ExtraMetrics>,
    header_read_timeout: Duration,
    /// Publish API calls refused for a missing or wrong token. Kept here, not in the hub: the
    /// hub knows nothing of the admin listener. Shared by the clones that serve connections.
    pub(crate) auth_failures: Arc<AtomicU64>,
    /// Whoever guesses tokens decides how often they fail: the log keeps a sample.
    pub(crate) auth_failure_log: Arc<LogGate>,
    /// Turns this node's `/api/stats` into the cluster's, when the node is clustered.
    pub(crate) cluster_stats: Option<StatsWidener>,
    /// The counters sampled for the dashboard's charts, while the API (its only reader) is on.
    pub(crate) history: Arc<History>,
}

/// Turns one node's stats ([`local_stats`](crate::local_stats)) into a cluster's: asks the
/// other nodes and merges their answers.
pub type StatsWidener = Arc<
    dyn Fn(serde_json::Value) -> Pin<Box<dyn Future<Output = serde_json::Value> + Send>>
        + Send
        + Sync,
>;

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("api", &self.api_token.is_some())
            .finish_non_exhaustive()
    }
}

impl Admin {
    /// The admin side of `hub`; the publish API is on when `api_token` is set (and not empty).
    pub fn new(hub: Hub, api_token: Option<String>) -> Self {
        Admin {
            hub,
            api_token: api_token.filter(|token| !token.is_empty()),
            extra_metrics: Vec::new(),
            header_read_timeout: Duration::from_secs(20),
            auth_failures: Arc::default(),
            auth_failure_log: Arc::default(),
            cluster_stats: None,
            history: Arc::default(),
        }
    }

    /// Makes `/api/stats` the cluster's: `widen` is given this node's stats and answers with
    /// every node's.
    #[must_use]
    pub fn with_cluster_stats(mut self, widen: StatsWidener) -> Self {
        self.cluster_stats = Some(widen);
        self
    }

    /// Sets how long a connection may take to send a request's headers, counted from when it
    /// is ready for one (so also how long a kept-alive connection may wait idle). Default 20 s.
    #[must_use]
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Adds metrics rendered by another component (already in the text format).
    #[must_use]
    pub fn with_metrics(mut self, render: impl Fn(&mut String) + Send + Sync + 'static) -> Self {
        self.extra_metrics.push(Arc::new(render));
        self
    }

    async fn handle<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let path = request.uri().path().to_owned();
        match (request.method().clone(), path.as_str()) {
            (Method::GET | Method::HEAD, "/metrics") => {
                let mut text = String::with_capacity(8 * 1024);
                crate::prometheus::render(&self.hub.metrics(), &mut text);
                crate::prometheus::render_admin(
                    self.auth_failures.load(Ordering::Relaxed),
                    &mut text,
                );
                for extra in &self.extra_metrics {
                    extra(&mut text);
                }
                plain(
                    StatusCode::OK,
                    text,
                    "text/plain; version=0.0.4; charset=utf-8",
                )
            }
            (Method::GET | Method::HEAD, "/healthz") => {
                plain(StatusCode::OK, "ok\n".to_owned(), "text/plain")
            }
            (Method::GET | Method::HEAD, "/readyz") => {
                if self.hub.is_ready() {
                    plain(StatusCode::OK, "ready\n".to_owned(), "text/plain")
                } else {
                    plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "draining\n".to_owned(),
                        "text/plain",
                    )
                }
            }
            (Method::GET | Method::HEAD, path) if dashboard::is_dashboard_path(path) => {
                dashboard::asset(path).unwrap_or_else(not_found)
            }
            (_, path) if path.starts_with("/api/") => api::handle(self, request).await,
            _ => not_found(),
        }
    }
}

fn not_found() -> Response<Body> {
    plain(
        StatusCode::NOT_FOUND,
        "not found\n".to_owned(),
        "text/plain",
    )
}

pub(crate) fn plain(
    status: StatusCode,
    body: String,
    content_type: &'static str,
) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Serves the admin listener until `shutdown` resolves; while the API is on, also samples the
/// hub's counters every second for the dashboard's charts.
pub async fn serve(listener: TcpListener, admin: Admin, shutdown: impl Future<Output = ()>) {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, api = admin.api_token.is_some(), "admin listener ready");
    }
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(admin.header_read_timeout);
    let admin = Arc::new(admin);
    let sampling = admin.api_token.is_some();
    let mut sample_tick = tokio::time::interval(SAMPLE_EVERY);
    // A late tick is taken late, not made up for in a burst: rates divide by the real time.
    sample_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = sample_tick.tick(), if sampling => dashboard::sample(&admin.hub, &admin.history),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let admin = Arc::clone(&admin);
                    let builder = builder.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request| {
                            let admin = Arc::clone(&admin);
                            async move { Ok::<_, Infallible>(admin.handle(request).await) }
                        });
                        if let Err(error) = builder.serve_connection(TokioIo::new(stream), service).await {
                            debug!(%peer, %error, "admin connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    warn!(%error, "admin accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            () = &mut shutdown => return,
        }
    }
}
