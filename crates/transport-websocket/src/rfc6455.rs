//! RFC 6455 (and the hybi-07/08 drafts, which frame the same way) on tokio-tungstenite.

use ferrio_hub::Encoded;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use crate::pump::{Incoming, PacketSocket};

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
        // Frames of one batch gather in the write buffer and leave in one write at the
        // flush; the buffer only grows while a batch is being written.
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer_bytes)
            .write_buffer_size(64 * 1024)
            .max_message_size(Some(self.max_message_bytes))
            .max_frame_size(Some(self.max_message_bytes))
    }
}

/// An RFC 6455 connection.
#[derive(Debug)]
pub(crate) struct Rfc6455<S>(pub(crate) WebSocketStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> PacketSocket for Rfc6455<S> {
    async fn send(&mut self, packets: &[Encoded]) -> std::io::Result<()> {
        for packet in packets {
            // Shares the packet's bytes; the check cannot fail, packets are always text.
            let Ok(text) = Utf8Bytes::try_from(packet.bytes().clone()) else {
                continue;
            };
            self.0
                .feed(Message::Text(text))
                .await
                .map_err(std::io::Error::other)?;
        }
        self.0.flush().await.map_err(std::io::Error::other)
    }

    async fn receive(&mut self) -> Incoming {
        match self.0.next().await {
            Some(Ok(Message::Text(text))) => Incoming::Text(text.as_str().to_owned()),
            Some(Ok(Message::Close(_))) => Incoming::Close,
            Some(Ok(_)) => Incoming::Ignored,
            // A peer that closes TCP without a close frame is an end, not a failure (spec
            // §4.6 `socket end`); the library reports it as an error.
            Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)))
            | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed))
            | None => Incoming::End,
            Some(Err(error)) => Incoming::Failed(error.to_string()),
        }
    }

    async fn close(&mut self) {
        let _ = self.0.close(None).await;
    }

    async fn answer_close(&mut self) {
        // After the peer's close frame the library has only queued its answer; reading on
        // writes it and then reports the connection closed. Bounded, for peers that linger.
        let drain = async { while let Some(Ok(_)) = self.0.next().await {} };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
    }
}
