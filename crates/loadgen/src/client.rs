//! Socket.IO client sessions: 0.9 over websocket, xhr-polling and jsonp-polling (the handshake,
//! docs/protocol.md §2; the connect packet; heartbeats answered, docs/protocol.md §4.3), and
//! the modern generations over websocket and Engine.IO polling ([`crate::modern`]), all
//! speaking 0.9 packets to the scenarios. A session is used from one task ([`Session`]) or
//! split into a writer and a reader that run side by side ([`Session::split`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use ferrio_eio::Revision as EioRevision;
use ferrio_protocol::{HandshakeBody, Packet, PacketBody, decode, unframe};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, Stream, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::error::{Error, Result};
use crate::http::{FORM, HttpConn, TEXT_PLAIN};
use crate::modern::{self, Frame, Heard, Listener, Protocol, Speaker};
use crate::net::Net;
use crate::route::{Route, Targets};

/// Packets a poller may hold for a session that has not read them yet.
const POLL_QUEUE: usize = 1024;

/// How long a polite close may take before the connection is simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Packets the writer of a split session may have queued before its sender waits.
const WRITE_QUEUE: usize = 256;

/// The jsonp-polling callback index the loadgen asks for (`i=0`).
const JSONP_INDEX: u32 = 0;

/// The transports the loadgen speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Transport {
    /// RFC 6455 WebSocket, one packet per message (docs/protocol.md §5.1).
    Websocket,
    /// Long-polling GETs and POSTs (docs/protocol.md §5.4).
    XhrPolling,
    /// Long-polling GETs answered as `io.j[0]("…");` and form POSTs (docs/protocol.md §5.5).
    JsonpPolling,
}

impl Transport {
    /// The name on the wire.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Transport::Websocket => "websocket",
            Transport::XhrPolling => "xhr-polling",
            Transport::JsonpPolling => "jsonp-polling",
        }
    }
}

/// What every session and request of a run shares.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// Source addresses and connection counting.
    pub(crate) net: Arc<Net>,
    /// The server this context talks to: the first of `servers` unless [`Ctx::nodes`] made it.
    pub(crate) server: SocketAddr,
    /// Every server of the run (the nodes of a cluster), in the order given.
    pub(crate) servers: Arc<[SocketAddr]>,
    /// How each session's requests are spread over `servers`.
    pub(crate) route: Route,
    /// The generations sessions speak: session i the i-th mod their number (the first is a
    /// single session's, such as a fanout's sender).
    pub(crate) protocols: Arc<[Protocol]>,
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
    /// One context per server of the run, in order, each talking to its server and sharing
    /// everything else (source addresses, timers, the time origin).
    pub(crate) fn nodes(self: &Arc<Self>) -> Vec<Arc<Ctx>> {
        if self.servers.len() == 1 && self.servers[0] == self.server {
            return vec![Arc::clone(self)];
        }
        self.servers
            .iter()
            .map(|&server| {
                Arc::new(Ctx {
                    net: Arc::clone(&self.net),
                    server,
                    servers: Arc::clone(&self.servers),
                    route: self.route,
                    protocols: Arc::clone(&self.protocols),
                    resource: self.resource.clone(),
                    op_timeout: self.op_timeout,
                    deadline: self.deadline,
                    epoch: self.epoch,
                })
            })
            .collect()
    }

    /// The index in `servers` of the server session `index` opens on: round-robin.
    pub(crate) fn node_of(&self, index: usize) -> usize {
        index % self.servers.len().max(1)
    }

    /// The generation session `index` speaks.
    pub(crate) fn protocol_of(&self, index: usize) -> Protocol {
        self.protocols
            .get(index % self.protocols.len().max(1))
            .copied()
            .unwrap_or(Protocol::Legacy)
    }

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
        self.http_to(self.server).await
    }

    /// A keep-alive HTTP connection to `server`.
    pub(crate) async fn http_to(&self, server: SocketAddr) -> Result<HttpConn> {
        self.within(
            "connecting",
            HttpConn::connect(Arc::clone(&self.net), server),
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

    /// Asks for an Engine.IO session of `revision` by polling on `http`: its open packet.
    pub(crate) async fn engine_handshake(
        &self,
        http: &mut HttpConn,
        revision: EioRevision,
    ) -> Result<ferrio_eio::Handshake> {
        let path = modern::engine_path(&self.resource, revision, "polling", None);
        let response = self
            .within(
                "a handshake",
                http.get(&format!("{path}&t={}", self.micros())),
            )
            .await?;
        if response.status != 200 {
            return Err(Error::Http(format!(
                "handshake answered {} {}",
                response.status,
                excerpt(&response.body)
            )));
        }
        let open = response
            .body
            .split(ferrio_eio::v4::SEPARATOR)
            .next()
            .unwrap_or_default();
        modern::open_packet(revision, &Frame::Text(open.to_owned()))
    }

    /// Opens the WebSocket of session `sid`.
    pub(crate) async fn websocket(&self, sid: &str) -> Result<WebSocketStream<TcpStream>> {
        self.websocket_at(self.server, sid).await
    }

    /// Opens the WebSocket of session `sid` on `server`.
    pub(crate) async fn websocket_at(
        &self,
        server: SocketAddr,
        sid: &str,
    ) -> Result<WebSocketStream<TcpStream>> {
        self.websocket_path(server, &format!("{}/1/websocket/{sid}", self.resource))
            .await
    }

    /// Opens a WebSocket on `path` of `server`.
    pub(crate) async fn websocket_path(
        &self,
        server: SocketAddr,
        path: &str,
    ) -> Result<WebSocketStream<TcpStream>> {
        self.within("a websocket upgrade", async {
            let stream = self.net.connect(server).await?;
            let url = format!("ws://{server}{path}");
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
    /// How a modern session translates, and its pings; `None` for 0.9.
    modern: Option<Modern>,
}

/// What a modern session adds to its link.
#[derive(Debug)]
struct Modern {
    speaker: Speaker,
    listener: Listener,
    /// Revision 3, where the client pings: how often, and when next.
    pings: Option<Pings>,
}

/// A revision 3 client's own pings (the server only answers them).
#[derive(Debug, Clone, Copy)]
struct Pings {
    every: Duration,
    next: Instant,
}

impl Pings {
    /// The pings a session of `revision` sends, every `interval_ms` as its open packet says.
    fn of(revision: EioRevision, interval_ms: u64) -> Option<Pings> {
        let every = Duration::from_millis(interval_ms.max(1));
        (revision == EioRevision::V3).then(|| Pings {
            every,
            next: Instant::now() + every,
        })
    }
}

#[derive(Debug)]
enum Link {
    Ws(Box<WebSocketStream<TcpStream>>),
    Poll(Box<Polling>),
}

/// How a polling transport frames what it carries: 0.9's (docs/protocol.md §5.4, §5.5), or
/// Engine.IO 4's (`\x1e` between packets, binary as `b<base64>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PollWire {
    Xhr,
    Jsonp,
    Engine,
}

impl PollWire {
    /// The URL of the GET numbered `number`.
    fn get_path(self, base: &str, number: u64) -> String {
        match self {
            PollWire::Xhr => format!("{base}?t={number}"),
            PollWire::Jsonp => format!("{base}?t={number}&i={JSONP_INDEX}"),
            PollWire::Engine => format!("{base}&t={number}"),
        }
    }

    /// The URL of the POST numbered `number`.
    fn post_path(self, base: &str, number: u64) -> String {
        match self {
            PollWire::Xhr => format!("{base}?t=p{number}"),
            PollWire::Jsonp => format!("{base}?t=p{number}&i={JSONP_INDEX}"),
            PollWire::Engine => format!("{base}&t=p{number}"),
        }
    }

    /// The frames of a GET's payload, and whether they end the session.
    fn frames(self, payload: &str) -> Result<(Vec<Frame>, bool)> {
        if self == PollWire::Engine {
            let packets = ferrio_eio::v4::decode_payload(payload, usize::MAX).map_err(|error| {
                Error::protocol(format!("bad payload ({error}) in {}", excerpt(payload)))
            })?;
            let ended = packets
                .iter()
                .any(|packet| packet.packet_type == ferrio_eio::PacketType::Close);
            return Ok((packets.into_iter().map(Frame::Packet).collect(), ended));
        }
        let packets = unframe(payload).map_err(|error| {
            Error::protocol(format!(
                "bad payload framing ({error}) in {}",
                excerpt(payload)
            ))
        })?;
        let ended = packets
            .iter()
            .any(|packet| *packet == "0::" || packet.starts_with("7:"));
        let frames = packets
            .into_iter()
            .map(|packet| Frame::Text(packet.to_owned()))
            .collect();
        Ok((frames, ended))
    }

    /// The payload a GET's answer carries.
    fn payload(self, body: String) -> Result<String> {
        match self {
            PollWire::Xhr | PollWire::Engine => Ok(body),
            PollWire::Jsonp => {
                let prefix = format!("io.j[{JSONP_INDEX}](");
                let literal = body
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix(");"))
                    .ok_or_else(|| {
                        Error::protocol(format!("not a JSONP answer: {}", excerpt(&body)))
                    })?;
                // The literal is JSON with extra escapes that JSON also allows (§5.5).
                serde_json::from_str(literal).map_err(|error| {
                    Error::protocol(format!("bad JSONP literal ({error}) in {}", excerpt(&body)))
                })
            }
        }
    }

    /// The content type and body of a POST carrying `payload`.
    fn post_body(self, payload: &str) -> (&'static str, String) {
        match self {
            PollWire::Xhr | PollWire::Engine => (TEXT_PLAIN, payload.to_owned()),
            PollWire::Jsonp => {
                // The 0.9 client sends the payload as a JSON string literal in the form field `d`.
                let literal = serde_json::Value::String(payload.to_owned()).to_string();
                let form = form_urlencoded::Serializer::new(String::new())
                    .append_pair("d", &literal)
                    .finish();
                (FORM, form)
            }
        }
    }
}

/// Keep-alive connections of one kind (GETs or POSTs) of a polling session, one per server its
/// requests go to, each opened when first needed.
#[derive(Debug)]
struct Conns {
    open: Vec<HttpConn>,
}

impl Conns {
    /// Starts with `first`, the connection to the server of the first request.
    fn new(first: HttpConn) -> Conns {
        Conns { open: vec![first] }
    }

    /// The connection to `server`, opened now if there is none yet.
    async fn to(&mut self, ctx: &Ctx, server: SocketAddr) -> Result<&mut HttpConn> {
        let index = match self.open.iter().position(|conn| conn.target() == server) {
            Some(index) => index,
            None => {
                self.open.push(ctx.http_to(server).await?);
                self.open.len() - 1
            }
        };
        Ok(&mut self.open[index])
    }

    /// How many times these connections were reopened after the server closed them.
    fn reconnects(&self) -> u64 {
        self.open.iter().map(HttpConn::reconnects).sum()
    }
}

/// What a polling session sends on: keep-alive connections of its own for POSTs.
#[derive(Debug)]
struct Poster {
    ctx: Arc<Ctx>,
    conns: Conns,
    targets: Arc<Targets>,
    path: String,
    wire: PollWire,
    posts: u64,
}

impl Poster {
    /// POSTs one payload; anything but `200` is an error. POST n (from 0) goes to the n-th
    /// of the session's later servers, in turn.
    async fn post(&mut self, packet: &str) -> Result<()> {
        let server = self.targets.later(self.posts);
        self.posts += 1;
        let path = self.wire.post_path(&self.path, self.posts);
        let (content_type, body) = self.wire.post_body(packet);
        let conn = self.conns.to(&self.ctx, server).await?;
        let response = conn.post(&path, content_type, &body).await?;
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

/// The task that keeps one GET open at a time and queues what arrives; aborted when dropped.
#[derive(Debug)]
struct Poller {
    inbox: mpsc::Receiver<Result<Frame>>,
    task: JoinHandle<()>,
    /// Set to stop polling: the GET in flight is answered, no other is sent, and the
    /// connection is held open until the poller is dropped.
    stop: watch::Sender<bool>,
    /// Set by the poller once it has stopped: no GET of its own is in flight any more.
    paused: watch::Receiver<bool>,
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How a poller is told to stop, and tells that it has.
#[derive(Debug)]
struct PollControl {
    stopped: watch::Receiver<bool>,
    paused: watch::Sender<bool>,
}

/// The client side of a polling transport: GETs on one connection, POSTs on another.
#[derive(Debug)]
struct Polling {
    poster: Poster,
    poller: Poller,
}

impl Polling {
    /// Starts polling `path`: the first GET to `targets.owner`, later GETs and the POSTs to
    /// `targets.later` in turn.
    async fn start(ctx: &Arc<Ctx>, wire: PollWire, path: String, targets: Targets) -> Result<Self> {
        let get = ctx.http_to(targets.owner).await?;
        let post = ctx.http_to(targets.later(0)).await?;
        let targets = Arc::new(targets);
        let (tx, inbox) = mpsc::channel(POLL_QUEUE);
        let (stop, stopped) = watch::channel(false);
        let (pause, paused) = watch::channel(false);
        let task = tokio::spawn(poll_loop(
            Arc::clone(ctx),
            Conns::new(get),
            Arc::clone(&targets),
            path.clone(),
            wire,
            tx,
            PollControl {
                stopped,
                paused: pause,
            },
        ));
        Ok(Polling {
            poster: Poster {
                ctx: Arc::clone(ctx),
                conns: Conns::new(post),
                targets,
                path,
                wire,
                posts: 0,
            },
            poller: Poller {
                inbox,
                task,
                stop,
                paused,
            },
        })
    }
}

/// The next frame from a polling session's inbox.
async fn next_polled(inbox: &mut mpsc::Receiver<Result<Frame>>) -> Result<Frame> {
    inbox
        .recv()
        .await
        .ok_or_else(|| Error::Closed("the poller stopped without saying why".to_owned()))?
}

/// What one packet from the server asks of the client.
enum Meaning {
    /// A heartbeat (a 0.9 `2::`, an Engine.IO 4 ping), to be answered.
    Heartbeat,
    /// A noop, a pong or an attachment still awaited: skipped.
    Noop,
    /// Anything else, in 0.9 form.
    Packet(Packet),
}

fn meaning(text: &str) -> Result<Meaning> {
    let packet = decode(text).map_err(|error| {
        Error::protocol(format!("undecodable packet {}: {error}", excerpt(text)))
    })?;
    Ok(match packet.body {
        PacketBody::Heartbeat => Meaning::Heartbeat,
        PacketBody::Noop => Meaning::Noop,
        _ => Meaning::Packet(packet),
    })
}

/// What `frame` means: heard by a modern session's `listener`, or read as 0.9.
fn understand(listener: Option<&mut Listener>, frame: Frame) -> Result<Meaning> {
    match (listener, frame) {
        (None, Frame::Text(text)) => meaning(&text),
        (None, Frame::Binary(_) | Frame::Packet(_)) => {
            Err(Error::protocol("the server sent a binary frame"))
        }
        (Some(listener), frame) => Ok(match listener.hear(frame)? {
            Heard::Ping => Meaning::Heartbeat,
            Heard::Nothing => Meaning::Noop,
            Heard::Packet(packet) => Meaning::Packet(packet),
        }),
    }
}

/// `packet` unless it ends the session (`0::`) or is an error packet: no scenario expects either
/// from a well-behaved server.
fn expected(sid: &str, packet: Packet) -> Result<Packet> {
    match &packet.body {
        PacketBody::Disconnect if packet.endpoint.is_empty() => Err(Error::Closed(format!(
            "the server ended session {sid} (0::)"
        ))),
        PacketBody::Error { .. } => Err(Error::protocol(format!(
            "the server sent an error packet {}",
            excerpt(&packet.encode())
        ))),
        _ => Ok(packet),
    }
}

/// The next frame of a link.
async fn next_frame(link: &mut Link) -> Result<Frame> {
    match link {
        Link::Ws(socket) => next_ws_frame(socket.as_mut()).await,
        Link::Poll(polling) => next_polled(&mut polling.poller.inbox).await,
    }
}

/// Waits until `due`, or forever when there is nothing due.
async fn until_due(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

fn encode_error(error: ferrio_eio::EncodeError) -> Error {
    Error::Setup(format!("the loadgen cannot encode what it says: {error}"))
}

/// Writes the 0.9 packet `text` on a WebSocket, translated by `speaker` for a modern session.
async fn write_ws<S>(sink: &mut S, speaker: Option<Speaker>, text: &str) -> Result<()>
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    let Some(speaker) = speaker else {
        return sink.send(Message::text(text)).await.map_err(Error::from);
    };
    for packet in speaker.packets(text)? {
        let message = match packet
            .encode_frame(speaker.revision())
            .map_err(encode_error)?
        {
            ferrio_eio::Frame::Text(text) => Message::text(text),
            ferrio_eio::Frame::Binary(bytes) => Message::binary(bytes),
        };
        sink.feed(message).await?;
    }
    sink.flush().await.map_err(Error::from)
}

/// POSTs the 0.9 packet `text`, translated by `speaker` for a modern session.
async fn write_poll(poster: &mut Poster, speaker: Option<Speaker>, text: &str) -> Result<()> {
    let Some(speaker) = speaker else {
        return poster.post(text).await;
    };
    let payload = ferrio_eio::v4::encode_payload(&speaker.packets(text)?).map_err(encode_error)?;
    poster.post(&payload).await
}

impl Session {
    /// Opens a session speaking the run's first generation on `http`: for 0.9, handshakes,
    /// opens `transport` and waits for `1::` (docs/protocol.md §4.2); for a modern one, see
    /// [`Session::open_as`].
    pub(crate) async fn open(
        ctx: &Arc<Ctx>,
        transport: Transport,
        http: &mut HttpConn,
    ) -> Result<Session> {
        Session::open_as(ctx, ctx.protocol_of(0), transport, http).await
    }

    /// Opens a session speaking `protocol`. A modern session opens its WebSocket directly,
    /// or handshakes by polling on `http`, and waits for the answer to its `CONNECT` to `/`
    /// (which revision 3 sends unasked).
    pub(crate) async fn open_as(
        ctx: &Arc<Ctx>,
        protocol: Protocol,
        transport: Transport,
        http: &mut HttpConn,
    ) -> Result<Session> {
        match protocol.revision() {
            None => {
                let handshake = ctx.handshake(http).await?;
                Session::attach(ctx, transport, handshake).await
            }
            Some(revision) => Session::open_modern(ctx, revision, transport, http).await,
        }
    }

    async fn open_modern(
        ctx: &Arc<Ctx>,
        revision: EioRevision,
        transport: Transport,
        http: &mut HttpConn,
    ) -> Result<Session> {
        let (link, handshake) = match transport {
            Transport::Websocket => {
                let path = modern::engine_path(&ctx.resource, revision, "websocket", None);
                let mut socket = ctx.websocket_path(ctx.server, &path).await?;
                let first = ctx
                    .within("waiting for the open packet", next_ws_frame(&mut socket))
                    .await?;
                let handshake = modern::open_packet(revision, &first)?;
                (Link::Ws(Box::new(socket)), handshake)
            }
            Transport::XhrPolling if revision == EioRevision::V4 => {
                let handshake = ctx.engine_handshake(http, revision).await?;
                let base =
                    modern::engine_path(&ctx.resource, revision, "polling", Some(&handshake.sid));
                let polling =
                    Polling::start(ctx, PollWire::Engine, base, Targets::fixed(ctx.server)).await?;
                (Link::Poll(Box::new(polling)), handshake)
            }
            other => {
                return Err(Error::Setup(format!(
                    "the loadgen speaks Engine.IO {} over websocket{}, not {}",
                    revision.number(),
                    if revision == EioRevision::V4 {
                        " and xhr-polling"
                    } else {
                        ""
                    },
                    other.name()
                )));
            }
        };
        let mut session = Session {
            sid: handshake.sid,
            heartbeats: 0,
            link,
            modern: Some(Modern {
                speaker: Speaker::new(revision),
                listener: Listener::new(revision),
                pings: Pings::of(revision, handshake.ping_interval),
            }),
        };
        if revision == EioRevision::V4 {
            session.send("1::").await?;
        }
        let first = ctx
            .within("waiting for the CONNECT answer", session.recv())
            .await?;
        if !matches!(first.body, PacketBody::Connect { .. }) || !first.endpoint.is_empty() {
            return Err(Error::protocol(format!(
                "expected the CONNECT answer to / first, got {} (in 0.9 form)",
                excerpt(&first.encode())
            )));
        }
        Ok(session)
    }

    /// Opens `transport` for a handshaken session on the server of `ctx` and waits for `1::`.
    pub(crate) async fn attach(
        ctx: &Arc<Ctx>,
        transport: Transport,
        handshake: HandshakeBody,
    ) -> Result<Session> {
        Session::attach_to(ctx, transport, handshake, Targets::fixed(ctx.server)).await
    }

    /// Opens `transport` for a handshaken session and waits for `1::`: the websocket or the
    /// first GET on `targets.owner`, later GETs and every POST on `targets.later` in turn.
    pub(crate) async fn attach_to(
        ctx: &Arc<Ctx>,
        transport: Transport,
        handshake: HandshakeBody,
        targets: Targets,
    ) -> Result<Session> {
        if !handshake.transports.iter().any(|t| t == transport.name()) {
            return Err(Error::Setup(format!(
                "the server does not offer {} (it offers {})",
                transport.name(),
                handshake.transports.join(",")
            )));
        }
        let wire = match transport {
            Transport::Websocket => None,
            Transport::XhrPolling => Some(PollWire::Xhr),
            Transport::JsonpPolling => Some(PollWire::Jsonp),
        };
        let link = match wire {
            None => Link::Ws(Box::new(
                ctx.websocket_at(targets.owner, &handshake.sid).await?,
            )),
            Some(wire) => {
                let path = format!("{}/1/{}/{}", ctx.resource, transport.name(), handshake.sid);
                Link::Poll(Box::new(Polling::start(ctx, wire, path, targets).await?))
            }
        };
        let mut session = Session {
            sid: handshake.sid,
            heartbeats: 0,
            link,
            modern: None,
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

    /// Upgrades a modern polling session to a WebSocket as `socket.io-client` does: polling
    /// stops once the GET in flight is answered (the server answers it with a noop when the
    /// probe arrives), `2probe` is answered `3probe`, and once no GET is in flight, `5` hands
    /// the session over (the reference closes a GET still pending then). A packet the last
    /// polls brought is an error: no scenario sends anything while one upgrades.
    pub(crate) async fn upgrade(&mut self, ctx: &Ctx) -> Result<()> {
        let (Some(modern), Link::Poll(polling)) = (&mut self.modern, &mut self.link) else {
            return Err(Error::Setup(
                "only a modern polling session upgrades".to_owned(),
            ));
        };
        let revision = modern.speaker.revision();
        let path = modern::engine_path(&ctx.resource, revision, "websocket", Some(&self.sid));
        let mut socket = ctx.websocket_path(ctx.server, &path).await?;
        polling.poller.stop.send_replace(true);
        socket.send(Message::text("2probe")).await?;
        let answer = ctx
            .within("waiting for 3probe", next_ws_frame(&mut socket))
            .await?;
        if answer != Frame::Text("3probe".to_owned()) {
            return Err(Error::protocol(format!(
                "the probe was answered {answer:?}, not 3probe"
            )));
        }
        let mut paused = polling.poller.paused.clone();
        ctx.within("waiting for the GET in flight", async move {
            paused
                .wait_for(|paused| *paused)
                .await
                .map(|_| ())
                .map_err(|_| Error::Closed("the poller stopped".to_owned()))
        })
        .await?;
        socket.send(Message::text("5")).await?;
        while let Ok(frame) = polling.poller.inbox.try_recv() {
            if let Meaning::Packet(packet) = understand(Some(&mut modern.listener), frame?)? {
                return Err(Error::protocol(format!(
                    "a packet came by polling during the upgrade: {}",
                    excerpt(&packet.encode())
                )));
            }
        }
        self.link = Link::Ws(Box::new(socket));
        Ok(())
    }

    /// The session id.
    pub(crate) fn sid(&self) -> &str {
        &self.sid
    }

    /// Heartbeats the server sent and this session answered.
    pub(crate) fn heartbeats(&self) -> u64 {
        self.heartbeats
    }

    /// Sends one packet (a 0.9 packet, translated for a modern session).
    pub(crate) async fn send(&mut self, text: &str) -> Result<()> {
        let speaker = self.modern.as_ref().map(|modern| modern.speaker);
        match &mut self.link {
            Link::Ws(socket) => write_ws(socket.as_mut(), speaker, text).await,
            Link::Poll(polling) => write_poll(&mut polling.poster, speaker, text).await,
        }
    }

    /// The next packet that means something: heartbeats are answered and noops skipped here
    /// (and a revision 3 session pings when it is time). A `0::` or an error packet ends the
    /// session with an error, since no scenario expects one. Not bounded in time: callers wrap
    /// it in [`Ctx::within`] or [`Ctx::until`].
    pub(crate) async fn recv(&mut self) -> Result<Packet> {
        loop {
            let ping_due = self
                .modern
                .as_ref()
                .and_then(|modern| modern.pings)
                .map(|pings| pings.next);
            let frame = tokio::select! {
                frame = next_frame(&mut self.link) => Some(frame?),
                () = until_due(ping_due) => None,
            };
            let Some(frame) = frame else {
                if let Some(pings) = self.modern.as_mut().and_then(|m| m.pings.as_mut()) {
                    pings.next = Instant::now() + pings.every;
                }
                self.send("2::").await?;
                continue;
            };
            let listener = self.modern.as_mut().map(|modern| &mut modern.listener);
            match understand(listener, frame)? {
                Meaning::Heartbeat => {
                    self.send("2::").await?;
                    self.heartbeats += 1;
                }
                Meaning::Noop => {}
                Meaning::Packet(packet) => return expected(&self.sid, packet),
            }
        }
    }

    /// Ends the session politely (close frame; a `0::` POST, or Engine.IO's close packet
    /// `1`), within a short grace.
    pub(crate) async fn close(self) {
        let goodbye = if self.modern.is_some() { "1" } else { "0::" };
        let _ = tokio::time::timeout(CLOSE_GRACE, async move {
            match self.link {
                Link::Ws(mut socket) => close_websocket(&mut socket).await,
                Link::Poll(mut polling) => {
                    let _ = polling.poster.post(goodbye).await;
                }
            }
        })
        .await;
    }

    /// Leaves as the 0.9 client's `socket.disconnect()` does: `0::`, then the transport is
    /// closed (a close frame; a polling client just stops), within a short grace. Fails if
    /// the `0::` could not be sent.
    pub(crate) async fn leave(mut self) -> Result<()> {
        let sent = tokio::time::timeout(CLOSE_GRACE, self.send("0::"))
            .await
            .unwrap_or_else(|_| Err(Error::Timeout("sending 0::".to_owned())));
        if let Link::Ws(socket) = &mut self.link {
            let _ = tokio::time::timeout(CLOSE_GRACE, close_websocket(socket)).await;
        }
        sent
    }

    /// Stops reading without telling the server: a websocket is simply not read any more; a
    /// polling session lets the GET in flight be answered and sends no other, its connections
    /// held open until the session is dropped.
    pub(crate) fn stop_reading(&mut self) {
        if let Link::Poll(polling) = &self.link {
            polling.poller.stop.send_replace(true);
        }
    }

    /// How many times this session's HTTP connections were reopened (polling).
    pub(crate) fn reconnects(&self) -> u64 {
        match &self.link {
            Link::Ws(_) => 0,
            Link::Poll(polling) => polling.poster.conns.reconnects(),
        }
    }

    /// Splits the session into a writer task fed by a queue and a reader that answers
    /// heartbeats through that writer, so one task can send while another waits for packets.
    pub(crate) fn split(self) -> (Outbound, Inbound) {
        let (queue, queued) = mpsc::channel(WRITE_QUEUE);
        let (heartbeats, heartbeat_answers) = mpsc::unbounded_channel();
        let (sink, source) = match self.link {
            Link::Ws(socket) => {
                let (sink, stream) = (*socket).split();
                (Sink::Ws(sink), Source::Ws(stream))
            }
            Link::Poll(polling) => {
                let Polling { poster, poller } = *polling;
                (Sink::Poll(poster), Source::Poll(poller))
            }
        };
        let (speaker, listener, pings) = match self.modern {
            Some(modern) => (Some(modern.speaker), Some(modern.listener), modern.pings),
            None => (None, None, None),
        };
        let writer = tokio::spawn(write_loop(sink, speaker, pings, queued, heartbeat_answers));
        (
            Outbound { queue, writer },
            Inbound {
                sid: self.sid,
                source,
                listener,
                heartbeats,
                answered: self.heartbeats,
            },
        )
    }
}

/// Sends a close frame and reads until the server closes.
async fn close_websocket(socket: &mut WebSocketStream<TcpStream>) {
    if socket.close(None).await.is_ok() {
        // Read until the server closes; callers bound this in time.
        while let Some(Ok(_)) = socket.next().await {}
    }
}

/// The sending half of a split session: packets queued here are written in order by a task
/// of their own.
#[derive(Debug)]
pub(crate) struct Outbound {
    queue: mpsc::Sender<String>,
    writer: JoinHandle<Result<u64>>,
}

impl Outbound {
    /// Queues one packet; waits while the queue is full. Fails if the writer has stopped,
    /// whose reason [`Outbound::finish`] gives.
    pub(crate) async fn send(&self, packet: String) -> Result<()> {
        self.queue
            .send(packet)
            .await
            .map_err(|_| Error::Closed("the session's writer has stopped".to_owned()))
    }

    /// Stops queueing, waits for what is queued to be written and returns how many packets
    /// were (heartbeat answers not counted), or why writing failed. A websocket gets a close
    /// frame after the last one.
    pub(crate) async fn finish(self) -> Result<u64> {
        drop(self.queue);
        self.writer
            .await
            .map_err(|error| Error::Setup(format!("a writer task failed: {error}")))?
    }
}

/// Where a split session writes.
enum Sink {
    Ws(SplitSink<WebSocketStream<TcpStream>, Message>),
    Poll(Poster),
}

async fn write_loop(
    mut sink: Sink,
    speaker: Option<Speaker>,
    mut pings: Option<Pings>,
    mut queue: mpsc::Receiver<String>,
    mut heartbeats: mpsc::UnboundedReceiver<String>,
) -> Result<u64> {
    let mut written = 0;
    loop {
        let ping_due = pings.map(|pings| pings.next);
        let (packet, counted) = tokio::select! {
            biased;
            Some(answer) = heartbeats.recv() => (answer, false),
            () = until_due(ping_due) => {
                if let Some(pings) = pings.as_mut() {
                    pings.next = Instant::now() + pings.every;
                }
                ("2::".to_owned(), false)
            }
            next = queue.recv() => match next {
                Some(packet) => (packet, true),
                None => break,
            },
        };
        match &mut sink {
            Sink::Ws(sink) => write_ws(sink, speaker, &packet).await?,
            Sink::Poll(poster) => write_poll(poster, speaker, &packet).await?,
        }
        if counted {
            written += 1;
        }
    }
    if let Sink::Ws(sink) = &mut sink {
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
    }
    Ok(written)
}

/// Where a split session reads.
#[derive(Debug)]
enum Source {
    Ws(SplitStream<WebSocketStream<TcpStream>>),
    Poll(Poller),
}

/// The receiving half of a split session. Every wait in it can be cancelled without losing
/// a packet (heartbeats are answered by queueing `2::` to the writer, which never waits), so
/// it may sit in a `select!` beside a timer.
#[derive(Debug)]
pub(crate) struct Inbound {
    sid: String,
    source: Source,
    listener: Option<Listener>,
    heartbeats: mpsc::UnboundedSender<String>,
    answered: u64,
}

impl Inbound {
    /// Heartbeats the server sent and this session answered.
    pub(crate) fn heartbeats(&self) -> u64 {
        self.answered
    }

    /// The next packet that means something, `0::` and error packets included: heartbeats
    /// are answered and noops skipped. An error when the transport ends.
    pub(crate) async fn next_packet(&mut self) -> Result<Packet> {
        loop {
            let frame = match &mut self.source {
                Source::Ws(stream) => next_ws_frame(stream).await?,
                Source::Poll(poller) => next_polled(&mut poller.inbox).await?,
            };
            match understand(self.listener.as_mut(), frame)? {
                Meaning::Heartbeat => {
                    // The writer outlives the reader unless it failed, which its owner learns
                    // from `Outbound::finish`.
                    let _ = self.heartbeats.send("2::".to_owned());
                    self.answered += 1;
                }
                Meaning::Noop => {}
                Meaning::Packet(packet) => return Ok(packet),
            }
        }
    }

    /// As [`Session::recv`]: `0::` and error packets are errors.
    pub(crate) async fn recv(&mut self) -> Result<Packet> {
        let packet = self.next_packet().await?;
        expected(&self.sid, packet)
    }
}

/// The next text or binary message of a WebSocket.
async fn next_ws_frame<S>(socket: &mut S) -> Result<Frame>
where
    S: Stream<Item = std::result::Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match socket.next().await {
            None => return Err(Error::Closed("the server closed the websocket".to_owned())),
            Some(Err(error)) => return Err(error.into()),
            Some(Ok(Message::Text(text))) => return Ok(Frame::Text(text.as_str().to_owned())),
            Some(Ok(Message::Binary(bytes))) => return Ok(Frame::Binary(bytes)),
            Some(Ok(Message::Close(frame))) => {
                return Err(Error::Closed(format!(
                    "the server sent a close frame ({frame:?})"
                )));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
        }
    }
}

/// One GET at a time (docs/protocol.md §4.4) until the session reader goes away, the session ends,
/// an error occurs, polling is stopped or the scenario's deadline passes. Stopped, it holds its
/// connections open until it is aborted. The first GET goes to `targets.owner`, GET n after it
/// (from 0) to the n-th of `targets.later`, in turn.
async fn poll_loop(
    ctx: Arc<Ctx>,
    mut conns: Conns,
    targets: Arc<Targets>,
    path: String,
    wire: PollWire,
    tx: mpsc::Sender<Result<Frame>>,
    control: PollControl,
) {
    let mut polls: u64 = 0;
    loop {
        if *control.stopped.borrow() {
            control.paused.send_replace(true);
            std::future::pending::<()>().await;
        }
        if Instant::now() >= ctx.deadline {
            let _ = tx
                .send(Err(Error::Timeout(
                    "polling: the scenario's --timeout ran out".to_owned(),
                )))
                .await;
            return;
        }
        let server = match polls {
            0 => targets.owner,
            later => targets.later(later - 1),
        };
        polls += 1;
        let request = wire.get_path(&path, polls);
        let conn = match conns.to(&ctx, server).await {
            Ok(conn) => conn,
            Err(error) => {
                let _ = tx.send(Err(error)).await;
                return;
            }
        };
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
        let payload = match wire.payload(response.body) {
            Ok(payload) => payload,
            Err(error) => {
                let _ = tx.send(Err(error)).await;
                return;
            }
        };
        if payload.is_empty() {
            let _ = tx
                .send(Err(Error::protocol(
                    "a poll was answered with an empty payload",
                )))
                .await;
            return;
        }
        let (frames, ended) = match wire.frames(&payload) {
            Ok(framed) => framed,
            Err(error) => {
                let _ = tx.send(Err(error)).await;
                return;
            }
        };
        for frame in frames {
            if tx.send(Ok(frame)).await.is_err() {
                return;
            }
        }
        if ended {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(servers: &[&str]) -> Arc<Ctx> {
        let servers: Vec<SocketAddr> = servers
            .iter()
            .map(|server| server.parse().expect("an address"))
            .collect();
        let now = Instant::now();
        Arc::new(Ctx {
            net: Arc::new(Net::new(0).expect("no sources")),
            server: servers[0],
            servers: servers.into(),
            route: Route::Owner,
            protocols: [Protocol::Legacy].as_slice().into(),
            resource: "/socket.io".to_owned(),
            op_timeout: Duration::from_secs(1),
            deadline: now + Duration::from_secs(10),
            epoch: now,
        })
    }

    #[test]
    fn sessions_go_round_robin_over_the_servers() {
        let ctx = ctx(&["127.0.0.1:3000", "127.0.0.1:3100", "127.0.0.1:3200"]);
        let spread: Vec<usize> = (0..7).map(|index| ctx.node_of(index)).collect();
        assert_eq!(spread, [0, 1, 2, 0, 1, 2, 0]);
        let nodes = ctx.nodes();
        let servers: Vec<SocketAddr> = nodes.iter().map(|node| node.server).collect();
        assert_eq!(servers, *ctx.servers);
        assert!(nodes.iter().all(|node| node.epoch == ctx.epoch
            && node.deadline == ctx.deadline
            && Arc::ptr_eq(&node.net, &ctx.net)));
    }

    #[test]
    fn one_server_is_the_context_itself() {
        let ctx = ctx(&["127.0.0.1:3000"]);
        assert_eq!(ctx.node_of(5), 0);
        let nodes = ctx.nodes();
        assert_eq!(nodes.len(), 1);
        assert!(Arc::ptr_eq(&nodes[0], &ctx));
    }

    #[test]
    fn jsonp_answers_are_unwrapped() {
        let body = r#"io.j[0]("\ufffd5\ufffd1::\ufffd8\ufffd5:::{\"a\":\"\u003c\/b\"}");"#;
        let payload = PollWire::Jsonp
            .payload(body.to_owned())
            .expect("a JSONP answer");
        assert_eq!(
            payload,
            "\u{fffd}5\u{fffd}1::\u{fffd}8\u{fffd}5:::{\"a\":\"</b\"}"
        );
        assert!(
            PollWire::Jsonp
                .payload("io.j[1](\"1::\");".to_owned())
                .is_err()
        );
        assert!(PollWire::Jsonp.payload("1::".to_owned()).is_err());
    }

    #[test]
    fn jsonp_posts_are_forms_with_a_json_literal() {
        let (content_type, body) = PollWire::Jsonp.post_body("5:::{\"a\":\"x y&\"}");
        assert_eq!(content_type, FORM);
        let field: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(field.len(), 1);
        assert_eq!(field[0].0, "d");
        let back: String = serde_json::from_str(&field[0].1).expect("a JSON string");
        assert_eq!(back, "5:::{\"a\":\"x y&\"}");
    }

    #[test]
    fn xhr_bodies_pass_through() {
        assert_eq!(
            PollWire::Xhr.payload("1::".to_owned()).expect("plain"),
            "1::"
        );
        assert_eq!(
            PollWire::Xhr.post_body("2::"),
            (TEXT_PLAIN, "2::".to_owned())
        );
    }
}
