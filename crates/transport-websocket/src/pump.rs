//! Moves packets between an upgraded connection and the hub, whatever WebSocket protocol the
//! connection speaks: the loop lives here once, each protocol only reads and writes messages.

use ferrio_hub::{Attachment, DisconnectReason, Encoded, Hub};
use ferrio_transport::NOT_HANDSHAKEN;
use tracing::debug;

/// What the peer did.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A complete text message: one packet (spec §3.10).
    Text(String),
    /// A message or frame the pump has nothing to do with (binary, ping, pong).
    Ignored,
    /// The peer's closing handshake; [`PacketSocket::answer_close`] answers it.
    Close,
    /// The connection ended without a closing handshake.
    End,
    /// The connection broke or spoke nonsense.
    Failed(String),
}

/// One WebSocket protocol on one connection: RFC 6455 (and hybi-07/08) or draft 76.
pub(crate) trait PacketSocket {
    /// Writes every packet as its own text message, in one write where possible.
    async fn send(&mut self, packets: &[Encoded]) -> std::io::Result<()>;

    /// The next thing the peer did. Must be cancel-safe: it is raced against outgoing packets.
    async fn receive(&mut self) -> Incoming;

    /// Closes the connection, starting the protocol's closing handshake.
    async fn close(&mut self);

    /// Answers the peer's closing handshake, then closes.
    async fn answer_close(&mut self) {
        self.close().await;
    }
}

/// Pumps packets until the session or the connection ends.
pub(crate) async fn pump<S: PacketSocket>(mut socket: S, hub: &Hub, attachment: Attachment) {
    let sid = attachment.session_id().to_owned();
    let kind = attachment.kind();
    let mut attachment = Some(attachment);
    loop {
        let outgoing = async {
            match attachment.as_mut() {
                Some(attachment) => attachment.next_batch().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            batch = outgoing => {
                let Some(batch) = batch else {
                    // The session ended (kick, heartbeat timeout, shutdown) or a newer
                    // transport took over: close the connection.
                    socket.close().await;
                    return;
                };
                if let Err(error) = socket.send(batch.packets()).await {
                    debug!(sid, %error, "websocket write failed");
                    end(&mut attachment, DisconnectReason::SocketError);
                    return;
                }
            }
            incoming = socket.receive() => match incoming {
                Incoming::Text(text) => {
                    hub.counters().bytes_in(kind, text.len());
                    match ferrio_protocol::decode(&text) {
                        Ok(packet) => {
                            let _ = hub.ingest(&sid, vec![packet]);
                        }
                        Err(error) => debug!(sid, %error, "undecodable websocket message ignored"),
                    }
                }
                Incoming::Ignored => {}
                Incoming::Close => {
                    end(&mut attachment, DisconnectReason::SocketClose);
                    socket.answer_close().await;
                    return;
                }
                Incoming::End => {
                    end(&mut attachment, DisconnectReason::SocketEnd);
                    return;
                }
                Incoming::Failed(why) => {
                    debug!(sid, why, "websocket connection failed");
                    end(&mut attachment, DisconnectReason::SocketError);
                    socket.close().await;
                    return;
                }
            }
        }
    }
}

fn end(attachment: &mut Option<Attachment>, reason: DisconnectReason) {
    if let Some(attachment) = attachment.take() {
        attachment.close(reason);
    }
}

/// Tells a client whose session does not exist to start over, then closes (spec §5.0).
pub(crate) async fn refuse_unknown_session<S: PacketSocket>(mut socket: S, sid: &str) {
    debug!(sid, "websocket for an unknown session");
    if socket
        .send(&[Encoded::from_static(NOT_HANDSHAKEN)])
        .await
        .is_ok()
    {
        socket.close().await;
    }
}
