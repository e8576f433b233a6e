//! Moves packets between an upgraded connection and the hub.

use ferrio_hub::{Attachment, DisconnectReason, Hub};
use ferrio_transport::NOT_HANDSHAKEN;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tracing::debug;

/// Per-connection WebSocket limits.
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    /// The largest message a client may send, in bytes (per message, not per connection,
    /// spec §8 #12). Default 1 MiB.
    pub max_message_bytes: usize,
    /// The read buffer each connection allocates up front. Default 4 KiB rather than the
    /// library's 128 KiB, which idle connections would pay for nothing.
    pub read_buffer_bytes: usize,
}

impl Default for WsLimits {
    fn default() -> Self {
        WsLimits {
            max_message_bytes: 1024 * 1024,
            read_buffer_bytes: 4096,
        }
    }
}

impl WsLimits {
    pub(crate) fn tungstenite(self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer_bytes)
            .write_buffer_size(0)
            .max_message_size(Some(self.max_message_bytes))
            .max_frame_size(Some(self.max_message_bytes))
    }
}

/// Pumps packets until the session or the connection ends: each text message the client
/// sends is one packet for the hub; each packet the hub queues is one text message.
pub async fn pump<S>(socket: WebSocketStream<S>, hub: &Hub, attachment: Attachment)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let sid = attachment.session_id().to_owned();
    let (mut sink, mut stream) = socket.split();
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
                    let _ = sink.close().await;
                    return;
                };
                let mut failed = false;
                for packet in batch.packets() {
                    let Ok(text) = Utf8Bytes::try_from(packet.bytes().clone()) else { continue };
                    if sink.feed(Message::Text(text)).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed || sink.flush().await.is_err() {
                    if let Some(attachment) = attachment.take() {
                        attachment.close(DisconnectReason::SocketError);
                    }
                    return;
                }
            }
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => match ferrio_protocol::decode(text.as_str()) {
                    Ok(packet) => {
                        let _ = hub.ingest(&sid, vec![packet]);
                    }
                    Err(error) => debug!(sid, %error, "undecodable websocket message ignored"),
                },
                Some(Ok(Message::Close(_))) => {
                    // The library queues the answering close frame; the session ends now and
                    // reading on flushes that frame until the peer closes.
                    if let Some(attachment) = attachment.take() {
                        attachment.close(DisconnectReason::SocketClose);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    debug!(sid, %error, "websocket connection failed");
                    // A peer that closes TCP without a close frame is an end, not a failure
                    // (spec §4.6 `socket end`); the library reports it as an error.
                    let reason = match error {
                        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => DisconnectReason::SocketEnd,
                        _ => DisconnectReason::SocketError,
                    };
                    if let Some(attachment) = attachment.take() {
                        attachment.close(reason);
                    }
                    return;
                }
                None => {
                    if let Some(attachment) = attachment.take() {
                        attachment.close(DisconnectReason::SocketEnd);
                    }
                    return;
                }
            }
        }
    }
}

/// Tells a client whose session does not exist to start over, then closes (spec §5.0).
pub(crate) async fn refuse_unknown_session<S>(mut socket: WebSocketStream<S>, sid: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    debug!(sid, "websocket for an unknown session");
    if socket
        .send(Message::Text(Utf8Bytes::from_static(NOT_HANDSHAKEN)))
        .await
        .is_ok()
    {
        let _ = socket.close(None).await;
    }
}
