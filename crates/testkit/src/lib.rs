//! Test helpers shared by ferrio's end-to-end tests: a gateway running the conformance app on
//! `127.0.0.1:0` ([`TestServer`]), a one-request-per-connection HTTP client that shows every
//! header ([`HttpResponse`]), and WebSocket clients over real TCP.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use ferrio_hub::{DisconnectReason, Hub};
use ferrio_server::apps::conformance::{self, Log, Observation};
use ferrio_server::{Server, ServerConfig};
use futures_util::{SinkExt, StreamExt};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// A WebSocket client connection.
pub type WsClient = WebSocketStream<TcpStream>;

/// Short timers for timer-dependent cases (docs/protocol.md §9): heartbeat interval 3 s, heartbeat
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

impl TestServer {
    /// Starts a gateway with `config` and the conformance application.
    pub async fn start(config: ServerConfig) -> Self {
        let server = Server::new(config).expect("test configuration is valid");
        let log = Log::default();
        conformance::install(server.hub(), &log);
        let hub = server.hub().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let policy_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let policy_addr = policy_listener.local_addr().expect("local address");
        let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let admin_addr = admin_listener.local_addr().expect("local address");
        let listeners = ferrio_server::Listeners {
            public: listener,
            flash_policy: Some(policy_listener),
            admin: Some(admin_listener),
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
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> HttpResponse {
        request(self.addr, method, path, headers, body).await
    }

    /// A GET on a fresh connection.
    pub async fn get(&self, path: &str) -> HttpResponse {
        self.request(Method::GET, path, &[], Bytes::new()).await
    }

    /// A POST of `body` on a fresh connection.
    pub async fn post(&self, path: &str, body: &str) -> HttpResponse {
        self.request(
            Method::POST,
            path,
            &[("content-type", "text/plain;charset=UTF-8")],
            body.to_owned(),
        )
        .await
    }

    /// A handshake; returns the session id.
    pub async fn handshake(&self) -> String {
        self.handshake_with_query("").await
    }

    /// A handshake with extra query pairs (`&`-joined, without leading `&`).
    pub async fn handshake_with_query(&self, query: &str) -> String {
        let path = if query.is_empty() {
            "/socket.io/1/?t=1".to_owned()
        } else {
            format!("/socket.io/1/?t=1&{query}")
        };
        let response = self.get(&path).await;
        assert_eq!(
            response.status,
            200,
            "handshake failed: {}",
            response.text()
        );
        let body = ferrio_protocol::HandshakeBody::parse(&response.text()).expect("handshake body");
        body.sid
    }

    /// A handshake sent with `Origin: {origin}` (for servers with a restrictive origins
    /// list); returns the session id.
    pub async fn handshake_from_origin(&self, origin: &str) -> String {
        let response = self
            .request(
                Method::GET,
                "/socket.io/1/?t=1",
                &[("origin", origin)],
                Bytes::new(),
            )
            .await;
        assert_eq!(
            response.status,
            200,
            "handshake failed: {}",
            response.text()
        );
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
        let (socket, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .expect("websocket upgrade");
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

/// The flashsocket URL of `sid`.
pub fn flashsocket_path(sid: &str) -> String {
    format!("/socket.io/1/flashsocket/{sid}")
}

/// Matches the application's record of `sid` leaving the default namespace for `reason`.
pub fn disconnected(sid: &str, reason: DisconnectReason) -> impl Fn(&Observation) -> bool {
    disconnected_from(sid, "", reason)
}

/// Matches the application's record of `sid` leaving `namespace` (`""` for the default one)
/// for `reason`.
pub fn disconnected_from(
    sid: &str,
    namespace: &str,
    reason: DisconnectReason,
) -> impl Fn(&Observation) -> bool {
    let (sid, namespace) = (sid.to_owned(), namespace.to_owned());
    move |o| {
        matches!(o, Observation::Disconnect { sid: s, namespace: n, reason: r }
            if *s == sid && *n == namespace && *r == reason)
    }
}

/// Matches the application's record of any disconnect of `sid`, from any namespace.
pub fn any_disconnect(sid: &str) -> impl Fn(&Observation) -> bool {
    let sid = sid.to_owned();
    move |o| matches!(o, Observation::Disconnect { sid: s, .. } if *s == sid)
}

/// Matches the application's record of `sid` connecting to any namespace.
pub fn any_connection(sid: &str) -> impl Fn(&Observation) -> bool {
    let sid = sid.to_owned();
    move |o| matches!(o, Observation::Connection { sid: s, .. } if *s == sid)
}

/// Whether the application recorded any disconnect of `sid`.
pub fn any_disconnect_of(log: &Log, sid: &str) -> bool {
    log.entries()
        .iter()
        .any(|o| matches!(o, Observation::Disconnect { sid: s, .. } if s == sid))
}

/// The text of an `echo` event whose packet is exactly `total` bytes long (at least 31).
pub fn echo_of_length(total: usize) -> String {
    let envelope = r#"5:::{"name":"echo","args":[""]}"#.len();
    let packet = format!(
        r#"5:::{{"name":"echo","args":["{}"]}}"#,
        "a".repeat(total - envelope)
    );
    assert_eq!(packet.len(), total);
    packet
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
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Sends one request to `addr` on a fresh connection and reads the whole response.
pub async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> HttpResponse {
    let stream = TcpStream::connect(addr).await.expect("tcp connect");
    exchange(stream, &addr.to_string(), method, path, headers, body).await
}

/// Sends one request over an already connected `io` and reads the whole response, with no
/// time limit of its own.
pub(crate) async fn exchange<I>(
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
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .expect("http handshake");
    tokio::spawn(connection);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(Full::new(body.into())).expect("request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status().as_u16();
    let headers = header_pairs(response.headers());
    let body = response
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// Every header as a `(name, value)` pair of strings, values decoded lossily.
pub(crate) fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
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
    tokio::time::timeout(timeout, next_text(socket))
        .await
        .ok()
        .flatten()
}

/// Sends a text message.
pub async fn send_text(socket: &mut WsClient, text: &str) {
    socket
        .send(Message::Text(text.into()))
        .await
        .expect("websocket send");
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

/// Reads from `stream` until it closes; `None` if it is still open after `timeout`.
pub async fn read_until_closed(stream: &mut TcpStream, timeout: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(out),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

/// Reads from `stream` until `out` holds at least `len` bytes, or `timeout` passes.
pub async fn read_at_least(
    stream: &mut TcpStream,
    out: &mut Vec<u8>,
    len: usize,
    timeout: Duration,
) -> bool {
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

impl TestServer {
    /// Starts a GET of `path` on a fresh connection in the background, for polls that must
    /// stay open while the test does something else.
    pub fn spawn_get(&self, path: &str) -> JoinHandle<HttpResponse> {
        let addr = self.addr;
        let path = path.to_owned();
        tokio::spawn(async move { request(addr, Method::GET, &path, &[], Bytes::new()).await })
    }

    /// Asserts that the application records an observation matching `predicate` within
    /// `timeout`, and returns it; the failure shows the whole log.
    pub async fn assert_observed(
        &self,
        timeout: Duration,
        predicate: impl Fn(&Observation) -> bool,
    ) -> Observation {
        match self.log.wait_for(timeout, predicate).await {
            Some(found) => found,
            None => panic!(
                "no matching observation within {timeout:?}: {:?}",
                self.log.entries()
            ),
        }
    }

    /// Asserts that the application records `sid` leaving `namespace` (`""` for the default
    /// one) for `reason` within `timeout`.
    pub async fn assert_disconnected(
        &self,
        timeout: Duration,
        sid: &str,
        namespace: &str,
        reason: DisconnectReason,
    ) {
        self.assert_observed(timeout, disconnected_from(sid, namespace, reason))
            .await;
    }
}

impl TestServer {
    /// Sends the CORS preflight (`OPTIONS`) a browser sends from `origin` before a `POST`
    /// with a `content-type` header to `path`.
    pub async fn post_preflight(&self, path: &str, origin: &str) -> HttpResponse {
        self.request(
            Method::OPTIONS,
            path,
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            "",
        )
        .await
    }
}

/// Asserts that `preflight` is a `204` with no body that allows `origin` with credentials.
pub fn assert_preflight_allows(preflight: &HttpResponse, origin: &str) {
    assert_eq!(preflight.status, 204);
    assert!(preflight.body.is_empty());
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(origin)
    );
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
}

/// Awaits the answer to a GET started by [`TestServer::spawn_get`]; panics when it does not
/// come within `timeout` or the task failed.
pub async fn await_answer(open: JoinHandle<HttpResponse>, timeout: Duration) -> HttpResponse {
    tokio::time::timeout(timeout, open)
        .await
        .expect("open GET answered")
        .expect("GET task")
}

/// The unanswered-heartbeat timeline under [`short_timers`] (interval 3 s, timeout 5 s),
/// timed from the call: `expect_heartbeat` must check that a heartbeat (`2::`) comes within
/// the timeout it is given (5 s), and it must come 2.5–4 s in; `expect_end` must wait for the
/// end of the connection within the timeout it is given (7 s), and the end must come
/// 7.5–9.5 s in. Returns what `expect_end` returned.
pub async fn assert_unanswered_heartbeat_timeline<S, T>(
    stream: &mut S,
    expect_heartbeat: impl AsyncFnOnce(&mut S, Duration),
    expect_end: impl AsyncFnOnce(&mut S, Duration) -> T,
) -> T {
    let opened = std::time::Instant::now();
    expect_heartbeat(stream, Duration::from_secs(5)).await;
    let heartbeat_at = opened.elapsed();
    assert!(
        heartbeat_at >= Duration::from_millis(2500) && heartbeat_at <= Duration::from_secs(4),
        "heartbeat after {heartbeat_at:?}, interval is 3 s"
    );
    let end = expect_end(stream, Duration::from_secs(7)).await;
    let ended_at = opened.elapsed();
    assert!(
        ended_at >= Duration::from_millis(7500) && ended_at <= Duration::from_millis(9500),
        "ended after {ended_at:?}, interval + timeout is 8 s"
    );
    end
}

impl TestServer {
    /// POSTs `body` (one packet or a framed payload) to the xhr-polling URL of `sid` and
    /// checks the answer is `200` with body `1`.
    pub async fn post_packets(&self, sid: &str, body: &str) {
        let response = self.post(&xhr_path(sid), body).await;
        assert_eq!(
            response.status,
            200,
            "POST {body:?} failed: {}",
            response.text()
        );
        assert_eq!(response.text(), "1", "POST {body:?}");
    }

    /// One xhr-polling GET of `sid`; returns its body.
    pub async fn poll(&self, sid: &str) -> String {
        let response = self.get(&xhr_path(sid)).await;
        assert_eq!(response.status, 200, "poll failed: {}", response.text());
        response.text()
    }

    /// One xhr-polling GET of `sid`; returns the packets of its body, unframed.
    pub async fn poll_packets(&self, sid: &str) -> Vec<String> {
        packets_of(&self.poll(sid).await)
    }

    /// A handshake followed by a raw WebSocket upgrade of its session; the first frame must
    /// be `1::`.
    pub async fn connected_raw_websocket(&self) -> (String, RawWs) {
        self.connected_raw_websocket_version("13").await
    }

    /// [`TestServer::connected_raw_websocket`] with `Sec-WebSocket-Version: {version}`.
    pub async fn connected_raw_websocket_version(&self, version: &str) -> (String, RawWs) {
        let sid = self.handshake().await;
        let upgrade = raw_upgrade_version(self.addr, &ws_path(&sid), version, &[]).await;
        assert_eq!(upgrade.status, 101, "upgrade refused: {}", upgrade.head);
        let mut ws = upgrade.ws;
        assert_eq!(
            ws.next_text(Duration::from_secs(2)).await.as_deref(),
            Some("1::")
        );
        (sid, ws)
    }

    /// A handshake followed by a WebSocket (tungstenite client) whose first message must be
    /// `1::`.
    pub async fn connected_websocket(&self) -> (String, WsClient) {
        let sid = self.handshake().await;
        let mut socket = self.websocket(&ws_path(&sid)).await;
        assert_eq!(
            next_text_within(&mut socket, Duration::from_secs(2))
                .await
                .as_deref(),
            Some("1::")
        );
        (sid, socket)
    }
}

/// The packets of a polling body: the body itself when it is one bare packet, else the
/// unframed payload. Panics on a body whose framing does not add up.
pub fn packets_of(body: &str) -> Vec<String> {
    ferrio_protocol::unframe(body)
        .unwrap_or_else(|error| panic!("body {body:?} is not a valid payload: {error}"))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The `Sec-WebSocket-Key` of RFC 6455's example, whose accept value is
/// `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
pub const SAMPLE_WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The mask every frame written by [`RawWs`] uses.
pub const SAMPLE_MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// WebSocket opcodes (RFC 6455 §5.2).
pub mod opcode {
    /// Continuation frame.
    pub const CONTINUATION: u8 = 0x0;
    /// Text frame.
    pub const TEXT: u8 = 0x1;
    /// Binary frame.
    pub const BINARY: u8 = 0x2;
    /// Close frame.
    pub const CLOSE: u8 = 0x8;
    /// Ping frame.
    pub const PING: u8 = 0x9;
    /// Pong frame.
    pub const PONG: u8 = 0xA;
}

/// Which of the three payload length encodings a frame header used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthForm {
    /// The length fits the 7 bits of the second byte (0–125).
    Short,
    /// `126` followed by a 16-bit length.
    Extended16,
    /// `127` followed by a 64-bit length.
    Extended64,
}

/// One WebSocket frame as it was on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The FIN bit.
    pub fin: bool,
    /// The three reserved bits.
    pub rsv: u8,
    /// The opcode.
    pub opcode: u8,
    /// Whether the frame was masked (the payload here is unmasked).
    pub masked: bool,
    /// The length encoding of the header.
    pub length_form: LengthForm,
    /// The header bytes exactly as received (first byte, length bytes, mask key).
    pub header: Vec<u8>,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The payload as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// Encodes one FIN frame; masked when `mask` is given (client frames must be), with the
/// shortest length form that fits.
pub fn encode_frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    encode_frame_with(0x80, opcode, payload, mask)
}

/// Encodes one frame whose first byte carries `flags` (FIN `0x80`, RSV1–3 `0x70`) besides the
/// opcode; otherwise as [`encode_frame`]. For fragments and deliberately broken frames.
pub fn encode_frame_with(flags: u8, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push((flags & 0xf0) | (opcode & 0x0f));
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        len @ 0..=125 => out.push(mask_bit | len as u8),
        len @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(
                payload
                    .iter()
                    .enumerate()
                    .map(|(i, byte)| byte ^ key[i % 4]),
            );
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// Parses the frame at the start of `buf`; `None` while it is incomplete. Returns the frame
/// and how many bytes it took.
pub fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    let (&first, rest) = buf.split_first()?;
    let (&second, _) = rest.split_first()?;
    let masked = second & 0x80 != 0;
    let (length_form, length, mut at) = match second & 0x7f {
        126 => (
            LengthForm::Extended16,
            u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (
            LengthForm::Extended64,
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?),
            10,
        ),
        short => (LengthForm::Short, u64::from(short), 2),
    };
    let key: Option<[u8; 4]> = if masked {
        let key = buf.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(key)
    } else {
        None
    };
    let length = usize::try_from(length).ok()?;
    let end = at.checked_add(length)?;
    let raw = buf.get(at..end)?;
    let payload = match key {
        Some(key) => raw
            .iter()
            .enumerate()
            .map(|(i, byte)| byte ^ key[i % 4])
            .collect(),
        None => raw.to_vec(),
    };
    let frame = Frame {
        fin: first & 0x80 != 0,
        rsv: (first >> 4) & 0x07,
        opcode: first & 0x0f,
        masked,
        length_form,
        header: buf[..at].to_vec(),
        payload,
    };
    Some((frame, end))
}

/// The outcome of a hand-made WebSocket upgrade request: the response head, and the
/// connection as a `W` (an RFC 6455 [`RawWs`] or a draft-76 [`HixieWs`]).
#[derive(Debug)]
pub struct RawUpgrade<W = RawWs> {
    /// The response status.
    pub status: u16,
    /// The response head as text (status line and headers).
    pub head: String,
    /// Response headers, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// The connection, positioned after the response head.
    pub ws: W,
}

impl<W> RawUpgrade<W> {
    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The status line, exactly as received.
    pub fn status_line(&self) -> &str {
        self.head.split("\r\n").next().unwrap_or_default()
    }
}

/// A WebSocket connection spoken byte by byte: masked frames out, raw frames in.
#[derive(Debug)]
pub struct RawWs {
    /// The TCP connection.
    pub stream: TcpStream,
    buffer: Vec<u8>,
}

/// Upgrades `path` by hand: writes an RFC 6455 request with [`SAMPLE_WS_KEY`], version 13
/// and `headers`, and reads the response head (the connection stays usable whatever the
/// status). `status` is 0 when the server closed without answering.
pub async fn raw_upgrade(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> RawUpgrade {
    raw_upgrade_version(addr, path, "13", headers).await
}

/// [`raw_upgrade`] with `Sec-WebSocket-Version: {version}` (`8` and `7` are the hybi drafts,
/// which read the origin from `Sec-WebSocket-Origin`).
pub async fn raw_upgrade_version(
    addr: SocketAddr,
    path: &str,
    version: &str,
    headers: &[(&str, &str)],
) -> RawUpgrade {
    let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {SAMPLE_WS_KEY}\r\nSec-WebSocket-Version: {version}\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write upgrade request");
    read_upgrade_response(stream)
        .await
        .map_ws(|stream, buffer| RawWs { stream, buffer })
}

/// The response head of an upgrade request already written to `stream`; the connection and
/// the bytes read past the head go to `ws` unparsed.
async fn read_upgrade_response(mut stream: TcpStream) -> RawUpgrade<(TcpStream, Vec<u8>)> {
    let mut buffer = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break Some(at);
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buffer.extend_from_slice(&chunk[..n]),
            _ => break None,
        }
    };
    let Some(head_end) = head_end else {
        let head = String::from_utf8_lossy(&buffer).into_owned();
        return RawUpgrade {
            status: 0,
            head,
            headers: Vec::new(),
            ws: (stream, Vec::new()),
        };
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let rest = buffer.split_off(head_end + 4);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    RawUpgrade {
        status,
        head,
        headers,
        ws: (stream, rest),
    }
}

impl RawUpgrade<(TcpStream, Vec<u8>)> {
    fn map_ws<W>(self, wrap: impl FnOnce(TcpStream, Vec<u8>) -> W) -> RawUpgrade<W> {
        let (stream, buffer) = self.ws;
        RawUpgrade {
            status: self.status,
            head: self.head,
            headers: self.headers,
            ws: wrap(stream, buffer),
        }
    }
}

impl RawWs {
    /// Writes `bytes` as they are.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("websocket write");
    }

    /// Writes one masked FIN frame.
    pub async fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        let frame = encode_frame(opcode, payload, Some(SAMPLE_MASK));
        self.write_raw(&frame).await;
    }

    /// Writes one masked text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.send_frame(opcode::TEXT, text.as_bytes()).await;
    }

    /// Reads the next frame; `None` when the connection ends or `timeout` passes first.
    pub async fn read_frame(&mut self, timeout: Duration) -> Option<Frame> {
        read_parsed(&mut self.stream, &mut self.buffer, timeout, parse_frame).await
    }

    /// Reads the next text frame, skipping pings and pongs; `None` on a close frame, the end of
    /// the connection, another kind of frame, or when `timeout` passes first.
    pub async fn next_text(&mut self, timeout: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.read_frame(left).await?;
            match frame.opcode {
                opcode::TEXT => return Some(frame.text()),
                opcode::PING | opcode::PONG => {}
                _ => return None,
            }
        }
    }

    /// Reads until the server closes the TCP connection; returns the frames that came before
    /// the end, or `None` if the connection is still open after `timeout`.
    pub async fn frames_until_closed(&mut self, timeout: Duration) -> Option<Vec<Frame>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut frames = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            while let Some((frame, used)) = parse_frame(&self.buffer) {
                self.buffer.drain(..used);
                frames.push(frame);
            }
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(0) | Err(_)) => return Some(frames),
                Ok(Ok(n)) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(_) => return None,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket draft 76 ("hixie-76"), spoken by the Flash WebSocket polyfill (docs/protocol.md §5.2).

/// `Sec-WebSocket-Key1` of draft 76's own test vector (C51).
pub const HIXIE_KEY1: &str = "4 @1  46546xW%0l 1 5";
/// `Sec-WebSocket-Key2` of draft 76's own test vector.
pub const HIXIE_KEY2: &str = "12998 5 Y3 1  .P00";
/// The 8 raw bytes ("key3") that follow the request head in draft 76's test vector.
pub const HIXIE_KEY3: &[u8; 8] = b"^n:ds[4U";
/// The 16 bytes the server must answer the test vector with.
pub const HIXIE_DIGEST: &[u8; 16] = b"8jKS'y:G*Co,Wxa-";

/// The headers of draft 76's test vector besides `Upgrade` and `Connection`: `Host:
/// example.com`, `Origin: http://example.com` and both keys. Tests drop or replace entries to
/// build malformed handshakes.
pub fn hixie_sample_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Host", "example.com"),
        ("Origin", "http://example.com"),
        ("Sec-WebSocket-Key1", HIXIE_KEY1),
        ("Sec-WebSocket-Key2", HIXIE_KEY2),
    ]
}

/// The head of a draft-76 upgrade request as the Flash client writes it: the request line,
/// `Upgrade: WebSocket`, `Connection: Upgrade`, then exactly `headers`, then the blank line.
pub fn hixie_request_head(path: &str, headers: &[(&str, &str)]) -> String {
    let mut head = format!("GET {path} HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Upgrades `path` with draft 76: writes [`hixie_request_head`] and then [`HIXIE_KEY3`] — in
/// the same write, or `key3_after` later in a write of its own — and reads the response head.
/// The 16 digest bytes are left on the connection ([`HixieWs::read_bytes`]).
pub async fn hixie_upgrade(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    key3_after: Option<Duration>,
) -> RawUpgrade<HixieWs> {
    let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
    let mut request = hixie_request_head(path, headers).into_bytes();
    match key3_after {
        None => {
            request.extend_from_slice(HIXIE_KEY3);
            stream.write_all(&request).await.expect("write upgrade");
        }
        Some(delay) => {
            stream.write_all(&request).await.expect("write upgrade");
            stream.flush().await.expect("flush");
            tokio::time::sleep(delay).await;
            stream.write_all(HIXIE_KEY3).await.expect("write key3");
        }
    }
    read_upgrade_response(stream)
        .await
        .map_ws(|stream, buffer| HixieWs { stream, buffer })
}

/// One draft-76 message as it was on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HixieMessage {
    /// `0x00`, these bytes, `0xFF`.
    Text(Vec<u8>),
    /// The closing handshake `0xFF 0x00`.
    Close,
    /// Bytes that are neither: everything left in the buffer from the bad byte on.
    Invalid(Vec<u8>),
}

impl HixieMessage {
    /// The text of a text message (lossy), `None` for anything else.
    pub fn text(&self) -> Option<String> {
        match self {
            HixieMessage::Text(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        }
    }
}

/// Encodes one draft-76 text message: `0x00`, the bytes, `0xFF`.
pub fn hixie_text(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(0x00);
    out.extend_from_slice(bytes);
    out.push(0xFF);
    out
}

/// Parses the draft-76 message at the start of `buf`; `None` while it is incomplete. Returns
/// the message and how many bytes it took.
pub fn parse_hixie(buf: &[u8]) -> Option<(HixieMessage, usize)> {
    match *buf.first()? {
        0x00 => {
            let end = buf.iter().position(|&b| b == 0xFF)?;
            Some((HixieMessage::Text(buf[1..end].to_vec()), end + 1))
        }
        0xFF => match *buf.get(1)? {
            0x00 => Some((HixieMessage::Close, 2)),
            _ => Some((HixieMessage::Invalid(buf.to_vec()), buf.len())),
        },
        _ => Some((HixieMessage::Invalid(buf.to_vec()), buf.len())),
    }
}

/// A draft-76 connection spoken byte by byte.
#[derive(Debug)]
pub struct HixieWs {
    /// The TCP connection.
    pub stream: TcpStream,
    buffer: Vec<u8>,
}

impl HixieWs {
    /// Writes `bytes` as they are.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("hixie write");
    }

    /// Writes one text message.
    pub async fn send_text(&mut self, text: &str) {
        self.write_raw(&hixie_text(text.as_bytes())).await;
    }

    /// Reads exactly `len` raw bytes (the digest after the head, say); `None` when the
    /// connection ends or `timeout` passes first.
    pub async fn read_bytes(&mut self, len: usize, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut chunk = vec![0u8; 64 * 1024];
        while self.buffer.len() < len {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => self.buffer.extend_from_slice(&chunk[..n]),
                _ => return None,
            }
        }
        Some(self.buffer.drain(..len).collect())
    }

    /// Reads the 16 digest bytes and checks they answer [`HIXIE_KEY1`]/[`HIXIE_KEY2`]/
    /// [`HIXIE_KEY3`].
    pub async fn expect_sample_digest(&mut self) {
        let digest = self.read_bytes(16, Duration::from_secs(2)).await;
        assert_eq!(
            digest.as_deref(),
            Some(&HIXIE_DIGEST[..]),
            "draft-76 digest"
        );
    }

    /// Reads the next message; `None` when the connection ends or `timeout` passes first.
    pub async fn read_message(&mut self, timeout: Duration) -> Option<HixieMessage> {
        read_parsed(&mut self.stream, &mut self.buffer, timeout, parse_hixie).await
    }

    /// Reads the next text message as text (lossy); `None` on anything else, the end of the
    /// connection, or when `timeout` passes first.
    pub async fn next_text(&mut self, timeout: Duration) -> Option<String> {
        self.read_message(timeout).await?.text()
    }

    /// Reads until the server closes the TCP connection; returns the messages that came
    /// before the end, or `None` if the connection is still open after `timeout`.
    pub async fn messages_until_closed(&mut self, timeout: Duration) -> Option<Vec<HixieMessage>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut messages = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            while let Some((message, used)) = parse_hixie(&self.buffer) {
                self.buffer.drain(..used);
                messages.push(message);
            }
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(0) | Err(_)) => {
                    if !self.buffer.is_empty() {
                        messages.push(HixieMessage::Invalid(std::mem::take(&mut self.buffer)));
                    }
                    return Some(messages);
                }
                Ok(Ok(n)) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(_) => return None,
            }
        }
    }
}

impl TestServer {
    /// A handshake followed by a draft-76 upgrade of its session on `/socket.io/1/{transport}/`
    /// (`websocket` or `flashsocket`) with the sample keys; the digest must be right and the
    /// first message `1::`.
    pub async fn connected_hixie(&self, transport: &str) -> (String, HixieWs) {
        let sid = self.handshake().await;
        let path = format!("/socket.io/1/{transport}/{sid}");
        let upgrade = hixie_upgrade(self.addr, &path, &hixie_sample_headers(), None).await;
        assert_eq!(upgrade.status, 101, "upgrade refused: {}", upgrade.head);
        let mut ws = upgrade.ws;
        ws.expect_sample_digest().await;
        assert_eq!(
            ws.next_text(Duration::from_secs(2)).await.as_deref(),
            Some("1::")
        );
        (sid, ws)
    }
}

/// Checks the answer to a draft-76 upgrade of `path` with [`hixie_sample_headers`] byte for
/// byte where C51 fixes it: the status line `HTTP/1.1 101 WebSocket Protocol Handshake`,
/// `Upgrade`/`Connection`, `Sec-WebSocket-Origin: http://example.com`,
/// `Sec-WebSocket-Location: ws://example.com{path}`, header lines the Flash client can parse
/// (`Name: value`), then exactly the 16 bytes `8jKS'y:G*Co,Wxa-` and `00 31 3A 3A FF`.
/// Returns the connection, positioned after the `1::` message.
pub async fn assert_c51_reply(upgrade: RawUpgrade<HixieWs>, path: &str) -> HixieWs {
    assert_eq!(
        upgrade.status_line(),
        "HTTP/1.1 101 WebSocket Protocol Handshake",
        "{}",
        upgrade.head
    );
    for line in upgrade.head.split("\r\n").skip(1) {
        let parsed = line
            .split_once(": ")
            .filter(|(name, _)| !name.is_empty() && !name.contains(char::is_whitespace));
        assert!(
            parsed.is_some(),
            "header line {line:?} is not `Name: value`"
        );
    }
    assert_eq!(
        upgrade.header("upgrade"),
        Some("WebSocket"),
        "{}",
        upgrade.head
    );
    assert_eq!(
        upgrade.header("connection"),
        Some("Upgrade"),
        "{}",
        upgrade.head
    );
    assert_eq!(
        upgrade.header("sec-websocket-origin"),
        Some("http://example.com"),
        "{}",
        upgrade.head
    );
    let location = format!("ws://example.com{path}");
    assert_eq!(
        upgrade.header("sec-websocket-location"),
        Some(location.as_str()),
        "{}",
        upgrade.head
    );
    for absent in [
        "sec-websocket-protocol",
        "sec-websocket-accept",
        "transfer-encoding",
    ] {
        assert_eq!(upgrade.header(absent), None, "{}", upgrade.head);
    }
    let mut ws = upgrade.ws;
    let mut expected = HIXIE_DIGEST.to_vec();
    expected.extend_from_slice(&[0x00, 0x31, 0x3A, 0x3A, 0xFF]);
    assert_eq!(
        ws.read_bytes(expected.len(), Duration::from_secs(2)).await,
        Some(expected),
        "the digest, then `1::`"
    );
    ws
}

// ---------------------------------------------------------------------------------------------
// Streaming and script-shaped HTTP transports (htmlfile, xhr-multipart, jsonp-polling).

mod streaming;

pub use streaming::{
    MultipartEvent, MultipartStream, StreamEvent, StreamingResponse, es3_string_literals,
    form_urlencode, htmlfile_path, htmlfile_payload, jsonp_form, jsonp_path, jsonp_payload,
    multipart_path,
};

// ---------------------------------------------------------------------------------------------
// Operations (issue #6): the admin listener and its metrics, a webhook backend, TLS clients.

mod ops;

pub use ops::{
    Backend, BackendCall, BackendReply, Metrics, Sample, SelfSigned, request_on, tls_connect,
    tls_request, within,
};

/// Reads from `stream` into `buffer` until `parse` finds a complete item (returned with the
/// bytes it used, which are consumed); `None` when the connection ends or `timeout` passes.
async fn read_parsed<S, T>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    timeout: Duration,
    parse: impl Fn(&[u8]) -> Option<(T, usize)>,
) -> Option<T>
where
    S: AsyncReadExt + Unpin,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if let Some((item, used)) = parse(buffer) {
            buffer.drain(..used);
            return Some(item);
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buffer.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}
