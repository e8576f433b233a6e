//! Moves packets between an upgraded connection and the hub, whatever WebSocket protocol the
//! connection speaks: the loop lives here once, each protocol only reads and writes messages.

use std::time::Duration;

use ferrio_eio::{Packet as EnginePacket, Revision};
use ferrio_hub::{Attachment, Batch, DisconnectReason, Encoded, Generation, Hub, LogGate};
use ferrio_protocol::TransportKind;
use ferrio_transport::{NOT_HANDSHAKEN, is_write_stall};
use tracing::{debug, info};

use crate::reader::{Message, OnMessage};

/// Why the peer's side of a connection ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The peer's closing handshake; [`PacketSocket::answer_close`] answers it.
    Close,
    /// The connection ended without a closing handshake.
    Eof,
    /// The connection broke, spoke nonsense or stalled.
    Failed(Failure),
}

/// Why a connection is given up: what its session's end is called, how the connection is
/// closed (RFC 6455 close codes, §7.4.1) and how it is logged.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The connection broke, or a write made no progress for the write timeout.
    Io(std::io::Error),
    /// The client broke the protocol: close code 1002.
    Protocol(String),
    /// A text message, or a close reason, that is not UTF-8: close code 1007.
    NotUtf8,
    /// A message over the size limit: close code 1009.
    TooBig(usize),
    /// A message begun and not finished within the message timeout: close code 1008.
    Stalled(Duration),
}

/// Connections closed for what the client sent or failed to send, logged a line a second at
/// most: a client can open as many as it likes.
static PROTOCOL_ERRORS: LogGate = LogGate::new();
static TOO_BIG: LogGate = LogGate::new();
static STALLED_MESSAGES: LogGate = LogGate::new();
static STALLED_WRITES: LogGate = LogGate::new();

impl Failure {
    /// The close code the server's close frame carries; `None` when the connection is beyond
    /// writing one.
    pub(crate) fn close_code(&self) -> Option<u16> {
        match self {
            Failure::Io(_) => None,
            Failure::Protocol(_) => Some(1002),
            Failure::NotUtf8 => Some(1007),
            Failure::Stalled(_) => Some(1008),
            Failure::TooBig(_) => Some(1009),
        }
    }

    /// The reason the session ends with.
    fn reason(&self) -> DisconnectReason {
        match self {
            Failure::Io(error) if is_write_stall(error) => DisconnectReason::WriteTimeout,
            Failure::Stalled(_) => DisconnectReason::ReadTimeout,
            _ => DisconnectReason::SocketError,
        }
    }

    fn log(&self, sid: &str) {
        let code = self.close_code();
        match self {
            Failure::Io(error) if is_write_stall(error) => {
                if let Some(suppressed) = STALLED_WRITES.admit() {
                    info!(sid, %error, suppressed, "websocket client stopped reading; connection closed");
                }
            }
            Failure::Io(error) => debug!(sid, %error, "websocket connection failed"),
            Failure::Protocol(_) | Failure::NotUtf8 => {
                if let Some(suppressed) = PROTOCOL_ERRORS.admit() {
                    info!(sid, why = %self, code, suppressed, "websocket protocol error; connection closed");
                }
            }
            Failure::TooBig(_) => {
                if let Some(suppressed) = TOO_BIG.admit() {
                    info!(sid, why = %self, code, suppressed, "websocket message too big; connection closed");
                }
            }
            Failure::Stalled(_) => {
                if let Some(suppressed) = STALLED_MESSAGES.admit() {
                    info!(sid, why = %self, code, suppressed, "websocket message stalled; connection closed");
                }
            }
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Io(error) => write!(f, "{error}"),
            Failure::Protocol(why) => f.write_str(why),
            Failure::NotUtf8 => f.write_str("text is not UTF-8"),
            Failure::TooBig(limit) => write!(f, "message over the {limit}-byte limit"),
            Failure::Stalled(timeout) => write!(f, "message not finished within {timeout:?}"),
        }
    }
}

/// One WebSocket protocol on one connection: RFC 6455 (and hybi-07/08) or draft 76. The
/// futures are `Send` so the pump can run as a task of its own on any worker.
pub(crate) trait PacketSocket: Send {
    /// Writes every packet as its own text message.
    fn send(&mut self, packets: &[Encoded]) -> impl Future<Output = std::io::Result<()>> + Send;

    /// Writes an Engine.IO session's packets, each its own message: text packets as text,
    /// binary ones as binary (revision 3 keeps the type byte before the data, revision 4
    /// sends the data alone). Only RFC 6455 carries binary; the default writes text.
    fn send_engine(
        &mut self,
        packets: &[Encoded],
        _revision: Revision,
    ) -> impl Future<Output = std::io::Result<()>> + Send {
        self.send(packets)
    }

    /// Reads until the peer's side ends, handing each message to `on_message` as it
    /// completes. Must be cancel-safe: it is raced against outgoing packets.
    fn receive(&mut self, on_message: &mut OnMessage<'_>) -> impl Future<Output = Ended> + Send;

    /// Closes the connection, starting the protocol's closing handshake.
    fn close(&mut self) -> impl Future<Output = ()> + Send;

    /// Answers the peer's closing handshake, then closes.
    fn answer_close(&mut self) -> impl Future<Output = ()> + Send {
        self.close()
    }

    /// Closes a connection given up for `failure` (never an I/O failure), saying why where
    /// the protocol can (RFC 6455's close code).
    fn fail(&mut self, _failure: &Failure) -> impl Future<Output = ()> + Send {
        self.close()
    }
}

/// What ended one turn of the pump.
enum Turn {
    /// The hub has packets to write; `None` when the session is over or superseded.
    Outgoing(Option<Batch>),
    /// The peer's side ended.
    Incoming(Ended),
}

/// Pumps packets until the session or the connection ends. Spawned as a task of its own, so
/// that a connection held open for hours keeps nothing of its upgrade. Not an `async fn`:
/// an async block uses what it captures in place, where an `async fn` would keep its
/// arguments twice in the future, once as arguments and once as locals.
#[allow(clippy::manual_async_fn)] // on purpose, see above
pub(crate) fn pump<S: PacketSocket>(
    mut socket: S,
    hub: Hub,
    attachment: Attachment,
) -> impl Future<Output = ()> + Send {
    async move {
        let kind = attachment.kind();
        let sid: Box<str> = attachment.session_id().into();
        let ended = loop {
            match next_turn(&mut socket, &attachment, &hub, kind, &sid).await {
                Turn::Outgoing(Some(batch)) => {
                    let sent = match attachment.generation() {
                        Generation::Legacy => socket.send(batch.packets()).await,
                        Generation::Engine(revision) => {
                            socket.send_engine(batch.packets(), revision).await
                        }
                    };
                    if let Err(error) = sent {
                        break Ended::Failed(Failure::Io(error));
                    }
                }
                Turn::Outgoing(None) => {
                    // The session ended (kick, heartbeat timeout, shutdown) or a newer transport
                    // took over: close the connection. Everything queued for it has been written:
                    // its session ends only when the pump comes back and finds nothing more.
                    socket.close().await;
                    linger(&mut socket).await;
                    return;
                }
                Turn::Incoming(ended) => break ended,
            }
        };
        peer_ended(&mut socket, attachment, ended).await;
    }
}

/// Starts a connection's long-lived task. It is a task of its own rather than the rest of the
/// one that opened the connection, so it holds only the pump's state: what the opening needed
/// (a draft-76 key, an Engine.IO upgrade's probe) would otherwise stay in memory for as long
/// as the connection lives.
pub(crate) fn spawn_pump<S>(socket: S, hub: Hub, attachment: Attachment)
where
    S: PacketSocket + Send + 'static,
{
    drop(tokio::spawn(pump(socket, hub, attachment)));
}

/// Ends the session as the connection ended: a close frame is answered, the end of the stream
/// taken as the client gone, a failure logged and, unless the connection is broken, closed
/// with its code.
pub(crate) async fn peer_ended<S: PacketSocket>(
    socket: &mut S,
    attachment: Attachment,
    ended: Ended,
) {
    match ended {
        Ended::Close => {
            attachment.close(DisconnectReason::SocketClose);
            socket.answer_close().await;
        }
        Ended::Eof => attachment.close(DisconnectReason::SocketEnd),
        Ended::Failed(failure) => {
            failure.log(attachment.session_id());
            attachment.close(failure.reason());
            // A broken or stalled connection takes no close frame: it is dropped.
            if !matches!(failure, Failure::Io(_)) {
                socket.fail(&failure).await;
            }
        }
    }
}

/// Waits for whichever comes first: packets to write, or the end of the peer's side; the
/// messages that arrive meanwhile go to the hub through the attachment, which holds the
/// session. A function of its own so that its state and that of the writes after it share
/// memory in the pump's future.
async fn next_turn<S: PacketSocket>(
    socket: &mut S,
    attachment: &Attachment,
    hub: &Hub,
    kind: TransportKind,
    sid: &str,
) -> Turn {
    // A text message is one packet (docs/protocol.md §3.10); Socket.IO 0.9 sends nothing in
    // binary, so a binary message carries nothing for a 0.9 session and is dropped. An
    // Engine.IO message is one packet of either kind.
    let generation = attachment.generation();
    let mut on_message = |message: Message<'_>| match (generation, message) {
        (Generation::Legacy, Message::Text(text)) => ingest(attachment, hub, kind, sid, text),
        (Generation::Legacy, Message::Binary(_)) => {}
        (Generation::Engine(revision), message) => {
            ingest_engine(attachment, hub, kind, revision, message);
        }
    };
    tokio::select! {
        batch = attachment.next_stream_batch() => Turn::Outgoing(batch),
        ended = socket.receive(&mut on_message) => Turn::Incoming(ended),
    }
}

/// Hands one received message to the hub, straight from the bytes it arrived in.
fn ingest(attachment: &Attachment, hub: &Hub, kind: TransportKind, sid: &str, text: &str) {
    hub.counters().bytes_in(kind, text.len());
    match ferrio_protocol::decode(text) {
        Ok(packet) => attachment.ingest(vec![packet]),
        Err(error) => debug!(sid, %error, "undecodable websocket message ignored"),
    }
}

/// Hands one received Engine.IO message to the hub. A message that is no Engine.IO packet
/// ends the session, as the reference's parser error does.
pub(crate) fn ingest_engine(
    attachment: &Attachment,
    hub: &Hub,
    kind: TransportKind,
    revision: Revision,
    message: Message<'_>,
) {
    let decoded = match message {
        Message::Text(text) => {
            hub.counters().bytes_in(kind, text.len());
            EnginePacket::decode_text(revision, text)
        }
        Message::Binary(bytes) => {
            hub.counters().bytes_in(kind, bytes.len());
            EnginePacket::decode_binary(revision, bytes)
        }
    };
    match decoded {
        Ok(packet) => attachment.ingest_engine(vec![packet]),
        Err(error) => {
            debug!(sid = attachment.session_id(), %error, "undecodable Engine.IO message: the session ends");
            attachment.fail(DisconnectReason::TransportError);
        }
    }
}

/// How long a connection the server closed is still read, waiting for the peer to answer the
/// close.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Reads, and drops, what the peer still sends after the server closed, until it answers the
/// close or ends the connection, for [`CLOSE_LINGER`] at most. A socket closed with unread
/// data sends a reset instead of a clean end, and a reset may throw away the last packets
/// written before the client has read them: a client that chats on while the server shuts
/// down would lose the end of its queue.
async fn linger<S: PacketSocket>(socket: &mut S) {
    let mut dropped = |_: Message<'_>| {};
    let _ = tokio::time::timeout(CLOSE_LINGER, socket.receive(&mut dropped)).await;
}

/// Tells a client whose session does not exist to start over, then closes (docs/protocol.md §5.0).
pub(crate) async fn refuse_unknown_session<S: PacketSocket>(mut socket: S, sid: String) {
    debug!(sid, "websocket for an unknown session");
    if socket
        .send(&[Encoded::from_static(NOT_HANDSHAKEN)])
        .await
        .is_ok()
    {
        socket.close().await;
    }
}
