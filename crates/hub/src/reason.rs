//! Why a session or a namespace socket ended (docs/protocol.md §4.6). Lifecycle, not errors.

use std::fmt;

/// The reason passed to disconnect handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The client sent `0::`, a forced-disconnect request arrived, or the application kicked
    /// the socket.
    Booted,
    /// The client left one namespace with `0::/ns`.
    Packet,
    /// A streaming client did not answer a heartbeat within the heartbeat timeout.
    HeartbeatTimeout,
    /// No transport came back within the close timeout.
    CloseTimeout,
    /// The peer closed a streaming connection without a close frame.
    SocketEnd,
    /// The peer sent a WebSocket close frame.
    SocketClose,
    /// The streaming connection failed (I/O or framing error).
    SocketError,
    /// The session's outbox reached its bound while no transport drained it.
    BufferOverflow,
    /// The server is shutting down.
    ServerShutdown,
    /// The client stopped taking what the server wrote: no write to its connection made
    /// progress for the write timeout.
    WriteTimeout,
    /// A WebSocket client began a message and did not finish it within the message timeout.
    ReadTimeout,
}

impl DisconnectReason {
    /// The reason text, as the reference server names it where it has one.
    pub const fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::Booted => "booted",
            DisconnectReason::Packet => "packet",
            DisconnectReason::HeartbeatTimeout => "heartbeat timeout",
            DisconnectReason::CloseTimeout => "close timeout",
            DisconnectReason::SocketEnd => "socket end",
            DisconnectReason::SocketClose => "socket close",
            DisconnectReason::SocketError => "socket error",
            DisconnectReason::BufferOverflow => "buffer overflow",
            DisconnectReason::ServerShutdown => "server shutdown",
            DisconnectReason::WriteTimeout => "write timeout",
            DisconnectReason::ReadTimeout => "read timeout",
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
