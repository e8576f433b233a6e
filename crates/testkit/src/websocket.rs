//! WebSocket sessions through a real client library (tungstenite): connecting, sending text,
//! and reading the next text or the next packet that is not a heartbeat, over plain TCP or
//! any other stream (TLS).

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::{ECHO_PING, TestServer, ws_path};

/// A WebSocket client connection.
pub type WsClient = WebSocketStream<TcpStream>;

/// How long [`assert_websocket_echo`] waits for the echo.
const ECHO_WAIT: Duration = Duration::from_secs(3);

/// Reads the next text message, skipping pings and pongs; `None` when the connection ends.
pub async fn next_text<S>(socket: &mut WebSocketStream<S>) -> Option<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) => return Some(text.as_str().to_owned()),
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
            Ok(Message::Binary(_) | Message::Close(_)) | Err(_) => return None,
        }
    }
}

/// Reads the next text message within `timeout`; `None` on timeout or end.
pub async fn next_text_within<S>(
    socket: &mut WebSocketStream<S>,
    timeout: Duration,
) -> Option<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::time::timeout(timeout, next_text(socket))
        .await
        .ok()
        .flatten()
}

/// Reads the next packet that is not a heartbeat (`2::`) within `timeout`; `None` on timeout
/// or end.
pub async fn next_packet_within<S>(
    socket: &mut WebSocketStream<S>,
    timeout: Duration,
) -> Option<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let text = next_text_within(socket, left).await?;
        if text != "2::" {
            return Some(text);
        }
    }
}

/// Sends a text message.
pub async fn send_text<S>(socket: &mut WebSocketStream<S>, text: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    socket
        .send(Message::Text(text.into()))
        .await
        .expect("websocket send");
}

/// Checks the session on `socket` still works: [`ECHO_PING`] sent comes back as the next
/// packet that is not a heartbeat, within three seconds.
pub async fn assert_websocket_echo<S>(socket: &mut WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    send_text(socket, ECHO_PING).await;
    assert_eq!(
        next_packet_within(socket, ECHO_WAIT).await.as_deref(),
        Some(ECHO_PING)
    );
}

/// Opens a WebSocket to `path` at `addr`: any gateway, a process's as well as a
/// [`TestServer`]'s.
pub async fn websocket_at(addr: SocketAddr, path: &str) -> WsClient {
    let url = format!("ws://{addr}{path}");
    let stream = TcpStream::connect(addr).await.expect("tcp connect");
    let (socket, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("websocket upgrade");
    socket
}

impl TestServer {
    /// Opens a WebSocket to `path`.
    pub async fn websocket(&self, path: &str) -> WsClient {
        websocket_at(self.addr, path).await
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
