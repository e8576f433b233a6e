//! Helpers for the operations tests (issue #6): the admin listener ([`TestServer::admin`],
//! [`TestServer::api`], [`TestServer::metrics`] and a Prometheus text parser, [`Metrics`]), a
//! real local HTTP backend for webhooks ([`Backend`]), and TLS clients trusting a self-signed
//! certificate generated for the test ([`SelfSigned`], [`tls_connect`], [`tls_request`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::{HttpResponse, TestServer, exchange, header_pairs, request};

/// How long one admin or TLS request may take before the test fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs a test's body, failing the test when it takes longer than `limit`: a request or poll
/// that hangs fails instead of hanging the run.
pub async fn within<F: std::future::Future>(limit: Duration, body: F) -> F::Output {
    tokio::time::timeout(limit, body)
        .await
        .unwrap_or_else(|_| panic!("the test took longer than {limit:?}"))
}

// ---------------------------------------------------------------------------------------------
// The admin listener.

impl TestServer {
    /// One request to the admin listener on a fresh connection.
    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> HttpResponse {
        tokio::time::timeout(
            REQUEST_TIMEOUT,
            request(self.admin_addr, method, path, headers, body),
        )
        .await
        .unwrap_or_else(|_| panic!("admin request to {path} timed out"))
    }

    /// A GET on the admin listener.
    pub async fn admin_get(&self, path: &str) -> HttpResponse {
        self.admin(Method::GET, path, &[], Bytes::new()).await
    }

    /// A publish API call with `Authorization: Bearer {token}` (none when `token` is `None`)
    /// and, when `body` is not empty, `Content-Type: application/json`.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> HttpResponse {
        let authorization = token.map(|token| format!("Bearer {token}"));
        let mut headers = Vec::new();
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization.as_str()));
        }
        if !body.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        self.admin(method, path, &headers, body.to_owned()).await
    }

    /// `GET /metrics`, checked to be `200` in the Prometheus text format, parsed.
    pub async fn metrics(&self) -> Metrics {
        let response = self.admin_get("/metrics").await;
        assert_eq!(response.status, 200, "/metrics: {}", response.text());
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        Metrics::parse(&response.text())
            .unwrap_or_else(|error| panic!("/metrics is not Prometheus text: {error}"))
    }

    /// Reads `/metrics` until `check` holds (counters move a moment after the packet that
    /// moves them); panics naming `what` with the last exposition after `timeout`.
    pub async fn metrics_until(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Metrics) -> bool,
    ) -> Metrics {
        let deadline = Instant::now() + timeout;
        loop {
            let metrics = self.metrics().await;
            if check(&metrics) {
                return metrics;
            }
            if Instant::now() >= deadline {
                let ferrio: Vec<String> = metrics
                    .samples
                    .iter()
                    .filter(|s| s.value != 0.0)
                    .map(|s| format!("{} {:?} {}", s.name, s.labels, s.value))
                    .collect();
                panic!("{what}: not seen in /metrics; non-zero samples:\n{ferrio:#?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// One sample of a Prometheus text exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name (for histograms, with its `_bucket`/`_sum`/`_count` suffix).
    pub name: String,
    /// Label pairs, in order.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    fn has_labels(&self, labels: &[(&str, &str)]) -> bool {
        labels
            .iter()
            .all(|(key, value)| self.labels.iter().any(|(k, v)| k == key && v == value))
    }
}

/// A parsed Prometheus text exposition (format 0.0.4): families with their `HELP` and `TYPE`,
/// and every sample. The parse is strict: a line that is neither a comment nor a well-formed
/// sample is an error, so a broken exposition fails the test that reads it.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// Family name → (type, help).
    pub families: BTreeMap<String, (String, String)>,
    /// Every sample, in order.
    pub samples: Vec<Sample>,
}

impl Metrics {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut metrics = Metrics::default();
        for (number, line) in text.lines().enumerate() {
            let number = number + 1;
            if line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                metrics.families.entry(name.to_owned()).or_default().1 = help.to_owned();
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest
                    .split_once(' ')
                    .ok_or_else(|| format!("line {number}: TYPE without a type: {line:?}"))?;
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                    return Err(format!("line {number}: unknown type {kind:?}"));
                }
                metrics.families.entry(name.to_owned()).or_default().0 = kind.to_owned();
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            metrics
                .samples
                .push(parse_sample(line).map_err(|why| format!("line {number} {line:?}: {why}"))?);
        }
        for sample in &metrics.samples {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|suffix| sample.name.strip_suffix(suffix))
                .find(|base| metrics.families.contains_key(*base))
                .unwrap_or(&sample.name);
            if !metrics.families.contains_key(family) {
                return Err(format!("sample {} has no TYPE line", sample.name));
            }
        }
        Ok(metrics)
    }

    /// The type of family `name` (`counter`, `gauge`, `histogram`…).
    pub fn kind(&self, name: &str) -> Option<&str> {
        self.families.get(name).map(|(kind, _)| kind.as_str())
    }

    /// The value of the sample `name` whose labels are exactly `labels` (in any order).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels.len() == labels.len() && s.has_labels(labels))
            .map(|s| s.value)
    }

    /// [`Metrics::get`], or 0 when there is no such sample.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// The sum of every sample `name` that has at least `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name && s.has_labels(labels))
            .map(|s| s.value)
            .sum()
    }

    /// The samples of `name`.
    pub fn samples_of(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut at = inner;
        loop {
            at = at.strip_prefix(',').unwrap_or(at);
            if let Some(after) = at.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = at.split_once("=\"").ok_or("label without =\"")?;
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("bad label name {key:?}"));
            }
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next().ok_or("unterminated label value")? {
                    (index, '"') => break index,
                    (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    (_, other) => value.push(other),
                }
            };
            labels.push((key.to_owned(), value));
            at = &after[end + 1..];
        }
    }
    let value_text = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let value_text = value_text.split(' ').next().unwrap_or_default();
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        text => text.parse().map_err(|_| format!("bad value {text:?}"))?,
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

// ---------------------------------------------------------------------------------------------
// A webhook backend.

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
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
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

// ---------------------------------------------------------------------------------------------
// TLS.

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM files into a
/// fresh temporary directory (removed on drop).
#[derive(Debug)]
pub struct SelfSigned {
    /// The directory holding the files.
    pub dir: PathBuf,
    /// The PEM certificate.
    pub cert_path: PathBuf,
    /// The PEM private key (PKCS#8).
    pub key_path: PathBuf,
    /// The certificate, DER, for clients to trust.
    pub cert_der: CertificateDer<'static>,
}

impl SelfSigned {
    /// Generates the certificate and writes `cert.pem` and `key.pem`.
    pub fn generate() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("generate a self-signed certificate");
        let dir = std::env::temp_dir().join(format!(
            "ferrio-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("create the certificate directory");
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        std::fs::write(&cert_path, certified.cert.pem()).expect("write cert.pem");
        std::fs::write(&key_path, certified.signing_key.serialize_pem()).expect("write key.pem");
        SelfSigned {
            dir,
            cert_path,
            key_path,
            cert_der: certified.cert.der().clone(),
        }
    }

    /// The gateway's TLS setting for these files.
    pub fn files(&self) -> ferrio_server::TlsFiles {
        ferrio_server::TlsFiles {
            cert: self.cert_path.clone(),
            key: self.key_path.clone(),
        }
    }

    /// A client connector that trusts only this certificate.
    pub fn connector(&self) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.cert_der.clone())
            .expect("trust the test certificate");
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }
}

impl Drop for SelfSigned {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connects to `addr` and completes a TLS handshake for the name `localhost`.
pub async fn tls_connect(addr: SocketAddr, connector: &TlsConnector) -> TlsStream<TcpStream> {
    let connect = async {
        let stream = TcpStream::connect(addr).await.expect("tcp connect");
        let name = ServerName::try_from("localhost").expect("server name");
        connector
            .connect(name, stream)
            .await
            .expect("TLS handshake")
    };
    tokio::time::timeout(REQUEST_TIMEOUT, connect)
        .await
        .expect("TLS connect timed out")
}

/// Sends one request over an already connected `io` (TLS or plain) and reads the whole
/// response.
pub async fn request_on<I>(
    io: I,
    host: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> HttpResponse
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let exchange = exchange(io, host, method, path, headers, body);
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| panic!("request {path} timed out"))
}

/// One HTTPS request to `addr` on a fresh TLS connection.
pub async fn tls_request(
    addr: SocketAddr,
    connector: &TlsConnector,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> HttpResponse {
    let stream = tls_connect(addr, connector).await;
    let host = format!("localhost:{}", addr.port());
    request_on(stream, &host, method, path, headers, body).await
}
