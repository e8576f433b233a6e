//! Test helpers shared by ferrio's end-to-end tests: a gateway running the conformance app on
//! `127.0.0.1:0` ([`TestServer`]), a one-request-per-connection HTTP client that shows every
//! header ([`HttpResponse`]), and WebSocket clients over real TCP.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use ferrio_hub::Hub;
use ferrio_server::apps::conformance::{self, Log};
use ferrio_server::{Server, ServerConfig};
use futures_util::{SinkExt, StreamExt};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A WebSocket client connection.
pub type WsClient = WebSocketStream<TcpStream>;

/// Short timers for timer-dependent cases (spec §9): heartbeat interval 3 s, heartbeat
/// timeout 5 s, close timeout 4 s, polling duration 2 s.
pub fn short_timers(mut config: ServerConfig) -> ServerConfig {
    config.hub.heartbeat_interval = Duration::from_secs(3);
    config.hub.heartbeat_timeout = Duration::from_secs(5);
    config.hub.close_timeout = Duration::from_secs(4);
    config.hub.polling_duration = Duration::from_secs(2);
    config
}

/// A gateway running the conformance application on an ephemeral port.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What the application observed.
    pub log: Log,
    /// The hub.
    pub hub: Hub,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a gateway with `config` and the conformance application.
    pub async fn start(config: ServerConfig) -> Self {
        let server = Server::new(config).expect("test configuration is valid");
        let log = Log::default();
        conformance::install(server.hub(), &log);
        let hub = server.hub().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = server
                .serve(listener, async move {
                    let _ = rx.await;
                })
                .await;
        });
        TestServer {
            addr,
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

    /// Shuts the gateway down and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Sends one request on a fresh connection.
    pub async fn request(&self, method: Method, path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> HttpResponse {
        request(self.addr, method, path, headers, body).await
    }

    /// A GET on a fresh connection.
    pub async fn get(&self, path: &str) -> HttpResponse {
        self.request(Method::GET, path, &[], Bytes::new()).await
    }

    /// A POST of `body` on a fresh connection.
    pub async fn post(&self, path: &str, body: &str) -> HttpResponse {
        self.request(Method::POST, path, &[("content-type", "text/plain;charset=UTF-8")], body.to_owned())
            .await
    }

    /// A handshake; returns the session id.
    pub async fn handshake(&self) -> String {
        self.handshake_with_query("").await
    }

    /// A handshake with extra query pairs (`&`-joined, without leading `&`).
    pub async fn handshake_with_query(&self, query: &str) -> String {
        let path = if query.is_empty() { "/socket.io/1/?t=1".to_owned() } else { format!("/socket.io/1/?t=1&{query}") };
        let response = self.get(&path).await;
        assert_eq!(response.status, 200, "handshake failed: {}", response.text());
        let body = ferrio_protocol::HandshakeBody::parse(&response.text()).expect("handshake body");
        body.sid
    }

    /// A handshake followed by the first xhr-polling GET, which must be `1::`.
    pub async fn connected_polling_session(&self) -> String {
        let sid = self.handshake().await;
        let first = self.get(&xhr_path(&sid)).await;
        assert_eq!(first.text(), "1::");
        sid
    }

    /// Opens a WebSocket to `path`.
    pub async fn websocket(&self, path: &str) -> WsClient {
        let url = format!("ws://{}{}", self.addr, path);
        let stream = self.tcp().await;
        let (socket, _) = tokio_tungstenite::client_async(url, stream).await.expect("websocket upgrade");
        socket
    }

    /// Opens a raw TCP connection.
    pub async fn tcp(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.expect("tcp connect")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The xhr-polling URL of `sid`.
pub fn xhr_path(sid: &str) -> String {
    format!("/socket.io/1/xhr-polling/{sid}?t=2")
}

/// The websocket URL of `sid`.
pub fn ws_path(sid: &str) -> String {
    format!("/socket.io/1/websocket/{sid}")
}

/// A complete HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl HttpResponse {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Sends one request to `addr` on a fresh connection and reads the whole response.
pub async fn request(addr: SocketAddr, method: Method, path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> HttpResponse {
    let stream = TcpStream::connect(addr).await.expect("tcp connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("http handshake");
    tokio::spawn(connection);
    let mut builder = Request::builder().method(method).uri(path).header("host", addr.to_string());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(Full::new(body.into())).expect("request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let body = response.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    HttpResponse { status, headers, body }
}

/// Reads the next text message, skipping pings and pongs; `None` when the connection ends.
pub async fn next_text(socket: &mut WsClient) -> Option<String> {
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) => return Some(text.as_str().to_owned()),
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
            Ok(Message::Binary(_) | Message::Close(_)) | Err(_) => return None,
        }
    }
}

/// Reads the next text message within `timeout`; `None` on timeout or end.
pub async fn next_text_within(socket: &mut WsClient, timeout: Duration) -> Option<String> {
    tokio::time::timeout(timeout, next_text(socket)).await.ok().flatten()
}

/// Sends a text message.
pub async fn send_text(socket: &mut WsClient, text: &str) {
    socket.send(Message::Text(text.into())).await.expect("websocket send");
}

/// Writes `bytes` and reads what comes back until the peer closes or `timeout` passes.
pub async fn raw_exchange(stream: &mut TcpStream, bytes: &[u8], timeout: Duration) -> Vec<u8> {
    stream.write_all(bytes).await.expect("write");
    read_for(stream, timeout).await
}

/// Reads from `stream` until it closes or `timeout` passes.
pub async fn read_for(stream: &mut TcpStream, timeout: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads from `stream` until `out` holds at least `len` bytes, or `timeout` passes.
pub async fn read_at_least(stream: &mut TcpStream, out: &mut Vec<u8>, len: usize, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = [0u8; 8192];
    while out.len() < len {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => return false,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    true
}
