//! A webhook backend for the gateway to call: a real HTTP/1.1 server on `127.0.0.1:0` that
//! records every request and answers as the test's responder says ([`Backend`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::http::{header_pairs, header_value};

/// One request the [`Backend`] received.
#[derive(Debug, Clone)]
pub struct BackendCall {
    /// The method.
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    pub body: Value,
    /// The body as received.
    pub raw: String,
    /// When it arrived.
    pub at: Instant,
}

impl BackendCall {
    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The `type` field of the body (`event`, `connect`, `disconnect`).
    pub fn kind(&self) -> &str {
        self.body["type"].as_str().unwrap_or_default()
    }
}

/// What the [`Backend`] answers one request with.
#[derive(Debug, Clone)]
pub struct BackendReply {
    /// The status.
    pub status: u16,
    /// The body (sent as `application/json`).
    pub body: String,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl BackendReply {
    /// `200` with `body`, at once.
    pub fn json(body: &str) -> Self {
        BackendReply {
            status: 200,
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }

    /// `status` with an empty body, at once.
    pub fn status(status: u16) -> Self {
        BackendReply {
            status,
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    /// This reply, after `delay`.
    #[must_use]
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Responder = Arc<dyn Fn(&BackendCall, usize) -> BackendReply + Send + Sync>;

/// A real HTTP/1.1 server on `127.0.0.1:0` that records every request and answers with what
/// its responder says. The responder gets the call and its index (0 for the first request).
pub struct Backend {
    /// Where it listens.
    pub addr: SocketAddr,
    calls: Arc<Mutex<Vec<BackendCall>>>,
    changed: Arc<Notify>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("addr", &self.addr)
            .field("calls", &self.calls.lock().len())
            .finish()
    }
}

impl Backend {
    /// Starts a backend answering with `responder`.
    pub async fn start(
        responder: impl Fn(&BackendCall, usize) -> BackendReply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind backend");
        let addr = listener.local_addr().expect("backend address");
        let calls: Arc<Mutex<Vec<BackendCall>>> = Arc::default();
        let changed = Arc::new(Notify::new());
        let responder: Responder = Arc::new(responder);
        let counter = Arc::new(AtomicUsize::new(0));
        let task = {
            let calls = Arc::clone(&calls);
            let changed = Arc::clone(&changed);
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let calls = Arc::clone(&calls);
                    let changed = Arc::clone(&changed);
                    let responder = Arc::clone(&responder);
                    let counter = Arc::clone(&counter);
                    tokio::spawn(async move {
                        let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                            let calls = Arc::clone(&calls);
                            let changed = Arc::clone(&changed);
                            let responder = Arc::clone(&responder);
                            let counter = Arc::clone(&counter);
                            async move {
                                let call = record(request).await;
                                let index = counter.fetch_add(1, Ordering::SeqCst);
                                let reply = responder(&call, index);
                                calls.lock().push(call);
                                changed.notify_waiters();
                                if !reply.delay.is_zero() {
                                    tokio::time::sleep(reply.delay).await;
                                }
                                let mut response =
                                    Response::new(Full::new(Bytes::from(reply.body)));
                                *response.status_mut() = StatusCode::from_u16(reply.status)
                                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                                response.headers_mut().insert(
                                    http::header::CONTENT_TYPE,
                                    http::HeaderValue::from_static("application/json"),
                                );
                                Ok::<_, Infallible>(response)
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            })
        };
        Backend {
            addr,
            calls,
            changed,
            task,
        }
    }

    /// `http://{addr}{path}` as a URI, for the webhook configuration.
    pub fn url(&self, path: &str) -> http::Uri {
        format!("http://{}{path}", self.addr)
            .parse()
            .expect("backend URL")
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<BackendCall> {
        self.calls.lock().clone()
    }

    /// Waits up to `timeout` until at least `count` recorded requests match `predicate`;
    /// returns the matching ones (possibly fewer when the time ran out).
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
        predicate: impl Fn(&BackendCall) -> bool,
    ) -> Vec<BackendCall> {
        let deadline = Instant::now() + timeout;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let matching: Vec<BackendCall> = self
                .calls
                .lock()
                .iter()
                .filter(|call| predicate(call))
                .cloned()
                .collect();
            if matching.len() >= count {
                return matching;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return matching;
            }
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(request: Request<hyper::body::Incoming>) -> BackendCall {
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    let headers = header_pairs(request.headers());
    let bytes = request
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    BackendCall {
        method,
        path,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        raw,
        at: Instant::now(),
    }
}
