//! Moves packets between an upgraded connection and the hub, whatever WebSocket protocol the
//! connection speaks: the loop lives here once, each protocol only reads and writes messages.

use ferrio_hub::{Attachment, Batch, DisconnectReason, Encoded, Hub};
use ferrio_protocol::TransportKind;
use ferrio_transport::NOT_HANDSHAKEN;
use tracing::debug;

use crate::reader::OnText;

/// Why the peer's side of a connection ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The peer's closing handshake; [`PacketSocket::answer_close`] answers it.
    Close,
    /// The connection ended without a closing handshake.
    Eof,
    /// The connection broke or spoke nonsense.
    Failed(String),
}

/// One WebSocket protocol on one connection: RFC 6455 (and hybi-07/08) or draft 76. The
/// futures are `Send` so the pump can run as a task of its own on any worker.
pub(crate) trait PacketSocket: Send {
    /// Writes every packet as its own text message, in one write where possible.
    fn send(&mut self, packets: &[Encoded]) -> impl Future<Output = std::io::Result<()>> + Send;

    /// Reads until the peer's side ends, handing each text message (one packet, docs/protocol.md
    /// §3.10) to `on_text` as it completes. Must be cancel-safe: it is raced against outgoing
    /// packets.
    fn receive(&mut self, on_text: &mut OnText<'_>) -> impl Future<Output = Ended> + Send;

    /// Closes the connection, starting the protocol's closing handshake.
    fn close(&mut self) -> impl Future<Output = ()> + Send;

    /// Answers the peer's closing handshake, then closes.
    fn answer_close(&mut self) -> impl Future<Output = ()> + Send {
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
        loop {
            match next_turn(&mut socket, &attachment, &hub, kind, &sid).await {
                Turn::Outgoing(Some(batch)) => {
                    if let Err(error) = socket.send(batch.packets()).await {
                        debug!(%sid, %error, "websocket write failed");
                        attachment.close(DisconnectReason::SocketError);
                        return;
                    }
                }
                Turn::Outgoing(None) => {
                    // The session ended (kick, heartbeat timeout, shutdown) or a newer transport
                    // took over: close the connection.
                    socket.close().await;
                    return;
                }
                Turn::Incoming(Ended::Close) => {
                    attachment.close(DisconnectReason::SocketClose);
                    socket.answer_close().await;
                    return;
                }
                Turn::Incoming(Ended::Eof) => {
                    attachment.close(DisconnectReason::SocketEnd);
                    return;
                }
                Turn::Incoming(Ended::Failed(why)) => {
                    debug!(%sid, why, "websocket connection failed");
                    attachment.close(DisconnectReason::SocketError);
                    socket.close().await;
                    return;
                }
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
    let mut on_text = |text: &str| ingest(attachment, hub, kind, sid, text);
    tokio::select! {
        batch = attachment.next_stream_batch() => Turn::Outgoing(batch),
        ended = socket.receive(&mut on_text) => Turn::Incoming(ended),
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
