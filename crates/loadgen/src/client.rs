//! Socket.IO 0.9 client sessions over websocket and xhr-polling: the handshake (docs/protocol.md
//! §2), the connect packet, heartbeats answered (docs/protocol.md §4.3), and packets in and out.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use ferrio_protocol::{HandshakeBody, Packet, PacketBody, decode, unframe};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::error::{Error, Result};
use crate::http::HttpConn;
use crate::net::Net;

/// Packets a poller may hold for a session that has not read them yet.
const POLL_QUEUE: usize = 1024;

/// How long a polite close may take before the connection is simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The transports the loadgen speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Transport {
    /// RFC 6455 WebSocket, one packet per message (docs/protocol.md §5.1).
    Websocket,
    /// Long-polling GETs and POSTs (docs/protocol.md §5.4).
    XhrPolling,
}

impl Transport {
    /// The name on the wire.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Transport::Websocket => "websocket",
            Transport::XhrPolling => "xhr-polling",
        }
    }
}

/// What every session and request of a run shares.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// Source addresses and connection counting.
    pub(crate) net: Arc<Net>,
    /// The server under load.
    pub(crate) server: SocketAddr,
    /// The resource prefix, such as `/socket.io`.
    pub(crate) resource: String,
    /// The longest any single operation (a request, a wait for a packet) may take.
    pub(crate) op_timeout: Duration,
    /// When the whole scenario must be over.
    pub(crate) deadline: Instant,
    /// The time origin of the timestamps carried in messages.
    pub(crate) epoch: Instant,
}

impl Ctx {
    /// Microseconds since the run began.
    pub(crate) fn micros(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Runs `future` with the operation timeout (capped by the scenario deadline).
    pub(crate) async fn within<T>(
        &self,
        what: &str,
        future: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let deadline = (Instant::now() + self.op_timeout).min(self.deadline);
        self.until(deadline, what, future).await
    }

    /// Runs `future` until `deadline`.
    pub(crate) async fn until<T>(
        &self,
        deadline: Instant,
        what: &str,
        future: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout_at(deadline, future).await {
            Ok(result) => result,
            Err(_) if deadline >= self.deadline => Err(Error::Timeout(format!(
                "{what}: the scenario's --timeout ran out"
            ))),
            Err(_) => Err(Error::Timeout(format!(
                "{what}: nothing within --op-timeout ({:?})",
                self.op_timeout
            ))),
        }
    }

    /// A keep-alive HTTP connection to the server.
    pub(crate) async fn http(&self) -> Result<HttpConn> {
        self.within(
            "connecting",
            HttpConn::connect(Arc::clone(&self.net), self.server),
        )
        .await
    }

    /// Asks for a session on `http` (docs/protocol.md §2.1).
    pub(crate) async fn handshake(&self, http: &mut HttpConn) -> Result<HandshakeBody> {
        let path = format!("{}/1/?t={}", self.resource, self.micros());
        let response = self.within("a handshake", http.get(&path)).await?;
        if response.status != 200 {
            return Err(Error::Http(format!(
                "handshake answered {} {}",
                response.status,
                excerpt(&response.body)
            )));
        }
        HandshakeBody::parse(&response.body)
            .map_err(|error| Error::protocol(format!("{error} in {}", excerpt(&response.body))))
    }

    /// Opens the WebSocket of session `sid`.
    pub(crate) async fn websocket(&self, sid: &str) -> Result<WebSocketStream<TcpStream>> {
        self.within("a websocket upgrade", async {
            let stream = self.net.connect(self.server).await?;
            let url = format!("ws://{}{}/1/websocket/{sid}", self.server, self.resource);
            let config = WebSocketConfig::default()
                .read_buffer_size(4096)
                .write_buffer_size(0);
            let (socket, _response) =
                tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
            Ok(socket)
        })
        .await
    }
}

/// At most 200 characters of `text`, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(200).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    format!("{out:?}")
}

/// One connected Socket.IO session.
#[derive(Debug)]
pub(crate) struct Session {
    sid: String,
    heartbeats: u64,
    link: Link,
}

#[derive(Debug)]
enum Link {
    Ws(Box<WebSocketStream<TcpStream>>),
    Xhr(Xhr),
}

/// The client side of xhr-polling: a task keeps one GET open at a time on its own
/// connection and queues what arrives; POSTs go out on another connection.
#[derive(Debug)]
struct Xhr {
    post: HttpConn,
    path: String,
    posts: u64,
    inbox: mpsc::Receiver<Result<String>>,
    poller: JoinHandle<()>,
}

impl Drop for Xhr {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

impl Session {
    /// Handshakes on `http`, opens `transport` and waits for `1::` (docs/protocol.md §4.2).
    pub(crate) async fn open(
        ctx: &Arc<Ctx>,
        transport: Transport,
        http: &mut HttpConn,
    ) -> Result<Session> {
        let handshake = ctx.handshake(http).await?;
        Session::attach(ctx, transport, handshake).await
    }

    /// Opens `transport` for a handshaken session and waits for `1::`.
    pub(crate) async fn attach(
        ctx: &Arc<Ctx>,
        transport: Transport,
        handshake: HandshakeBody,
    ) -> Result<Session> {
        if !handshake.transports.iter().any(|t| t == transport.name()) {
            return Err(Error::Setup(format!(
                "the server does not offer {} (it offers {})",
                transport.name(),
                handshake.transports.join(",")
            )));
        }
        let link = match transport {
            Transport::Websocket => Link::Ws(Box::new(ctx.websocket(&handshake.sid).await?)),
            Transport::XhrPolling => Link::Xhr(Xhr::start(ctx, &handshake.sid).await?),
        };
        let mut session = Session {
            sid: handshake.sid,
            heartbeats: 0,
            link,
        };
        let first = ctx.within("waiting for 1::", session.recv()).await?;
        if !matches!(first.body, PacketBody::Connect { .. }) || !first.endpoint.is_empty() {
            return Err(Error::protocol(format!(
                "expected 1:: first, got {}",
                excerpt(&first.encode())
            )));
        }
        Ok(session)
    }

    /// The session id.
    pub(crate) fn sid(&self) -> &str {
        &self.sid
    }

    /// Heartbeats the server sent and this session answered.
    pub(crate) fn heartbeats(&self) -> u64 {
        self.heartbeats
    }

    /// Sends one packet.
    pub(crate) async fn send(&mut self, text: &str) -> Result<()> {
        match &mut self.link {
            Link::Ws(socket) => socket.send(Message::text(text)).await.map_err(Error::from),
            Link::Xhr(xhr) => {
                xhr.posts += 1;
                let path = format!("{}?t={}", xhr.path, xhr.posts);
                let response = xhr.post.post(&path, text).await?;
                if response.status != 200 {
                    return Err(Error::Http(format!(
                        "POST answered {} {}",
                        response.status,
                        excerpt(&response.body)
                    )));
                }
                Ok(())
            }
        }
    }

    /// The next packet that means something: heartbeats are answered and noops skipped here.
    /// A `0::` or an error packet ends the session with an error, since no scenario expects
    /// one. Not bounded in time: callers wrap it in [`Ctx::within`] or [`Ctx::until`].
    pub(crate) async fn recv(&mut self) -> Result<Packet> {
        loop {
            let text = match &mut self.link {
                Link::Ws(socket) => next_text(socket).await?,
                Link::Xhr(xhr) => xhr.inbox.recv().await.ok_or_else(|| {
                    Error::Closed("the poller stopped without saying why".to_owned())
                })??,
            };
            let packet = decode(&text).map_err(|error| {
                Error::protocol(format!("undecodable packet {}: {error}", excerpt(&text)))
            })?;
            match &packet.body {
                PacketBody::Heartbeat => {
                    self.send("2::").await?;
                    self.heartbeats += 1;
                }
                PacketBody::Noop => {}
                PacketBody::Disconnect if packet.endpoint.is_empty() => {
                    return Err(Error::Closed(format!(
                        "the server ended session {} (0::)",
                        self.sid
                    )));
                }
                PacketBody::Error { .. } => {
                    return Err(Error::protocol(format!(
                        "the server sent an error packet {}",
                        excerpt(&text)
                    )));
                }
                _ => return Ok(packet),
            }
        }
    }

    /// Ends the session politely (close frame, or a `0::` POST), within a short grace.
    pub(crate) async fn close(self) {
        let _ = tokio::time::timeout(CLOSE_GRACE, async move {
            match self.link {
                Link::Ws(mut socket) => {
                    if socket.close(None).await.is_ok() {
                        // Read until the server closes; bounded by the grace timeout.
                        while let Some(Ok(_)) = socket.next().await {}
                    }
                }
                Link::Xhr(mut xhr) => {
                    let path = format!("{}?t=close", xhr.path);
                    let _ = xhr.post.post(&path, "0::").await;
                }
            }
        })
        .await;
    }

    /// How many times this session's HTTP connections were reopened (xhr-polling).
    pub(crate) fn reconnects(&self) -> u64 {
        match &self.link {
            Link::Ws(_) => 0,
            Link::Xhr(xhr) => xhr.post.reconnects(),
        }
    }
}

/// The next text message of a WebSocket.
async fn next_text(socket: &mut WebSocketStream<TcpStream>) -> Result<String> {
    loop {
        match socket.next().await {
            None => return Err(Error::Closed("the server closed the websocket".to_owned())),
            Some(Err(error)) => return Err(error.into()),
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(frame))) => {
                return Err(Error::Closed(format!(
                    "the server sent a close frame ({frame:?})"
                )));
            }
            Some(Ok(Message::Binary(_))) => {
                return Err(Error::protocol("the server sent a binary frame"));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
        }
    }
}

impl Xhr {
    async fn start(ctx: &Arc<Ctx>, sid: &str) -> Result<Xhr> {
        let path = format!("{}/1/xhr-polling/{sid}", ctx.resource);
        let get = ctx.http().await?;
        let post = ctx.http().await?;
        let (tx, inbox) = mpsc::channel(POLL_QUEUE);
        let poller = tokio::spawn(poll_loop(Arc::clone(ctx), get, path.clone(), tx));
        Ok(Xhr {
            post,
            path,
            posts: 0,
            inbox,
            poller,
        })
    }
}

/// One GET at a time (docs/protocol.md §4.4) until the session reader goes away, the session ends,
/// an error occurs or the scenario's deadline passes.
async fn poll_loop(
    ctx: Arc<Ctx>,
    mut conn: HttpConn,
    path: String,
    tx: mpsc::Sender<Result<String>>,
) {
    let mut polls: u64 = 0;
    loop {
        if Instant::now() >= ctx.deadline {
            let _ = tx
                .send(Err(Error::Timeout(
                    "polling: the scenario's --timeout ran out".to_owned(),
                )))
                .await;
            return;
        }
        polls += 1;
        let request = format!("{path}?t={polls}");
        let response = match ctx.within("a poll", conn.get(&request)).await {
            Ok(response) => response,
            Err(error) => {
                let _ = tx.send(Err(error)).await;
                return;
            }
        };
        if response.status != 200 {
            let _ = tx
                .send(Err(Error::Http(format!(
                    "poll answered {} {}",
                    response.status,
                    excerpt(&response.body)
                ))))
                .await;
            return;
        }
        if response.body.is_empty() {
            let _ = tx
                .send(Err(Error::protocol(
                    "a poll was answered with an empty body",
                )))
                .await;
            return;
        }
        let packets = match unframe(&response.body) {
            Ok(packets) => packets,
            Err(error) => {
                let _ = tx
                    .send(Err(Error::protocol(format!(
                        "bad payload framing ({error}) in {}",
                        excerpt(&response.body)
                    ))))
                    .await;
                return;
            }
        };
        let mut ended = false;
        for packet in packets {
            ended |= packet == "0::" || packet.starts_with("7:");
            if tx.send(Ok(packet.to_owned())).await.is_err() {
                return;
            }
        }
        if ended {
            return;
        }
    }
}
