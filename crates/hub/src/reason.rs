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
    /// The peer sent a WebSocket close frame, or an Engine.IO client its `close` packet.
    SocketClose,
    /// The streaming connection failed (I/O or framing error).
    SocketError,
    /// The session's outbox reached its bound in packets or in bytes (`max_buffered_packets`,
    /// `max_buffer_bytes`): no transport drained it, or the attached one could not keep up.
    BufferOverflow,
    /// The server is shutting down.
    ServerShutdown,
    /// The client stopped taking what the server wrote: no write to its connection made
    /// progress for the write timeout.
    WriteTimeout,
    /// A WebSocket client began a message and did not finish it within the message timeout.
    ReadTimeout,
    /// A handshake was not followed by a transport request within the handshake expiry. The
    /// session never connected, so no disconnect handler runs; the metrics and logs count it.
    HandshakeExpired,
    /// The client kept sending more than twice its inbound budget (`inbound_packet_rate`,
    /// `inbound_byte_rate`).
    BudgetExceeded,
    /// The session's first transport request came when the node already held `max_sessions`
    /// connected sessions. It never connected, so no disconnect handler runs.
    NodeFull,
    /// The node found it had been stopped past its cluster registration's expiry: the other
    /// nodes may have taken it for dead, so it ended every session before serving again
    /// under a new node id.
    NodeFenced,
    /// An Engine.IO client broke the transport's rules: a second poll while one was pending,
    /// a second WebSocket, a malformed packet. The reference names it `transport error`.
    TransportError,
}

impl DisconnectReason {
    /// Whether the client lost its session without choosing to (its connection dropped or
    /// stalled, pings went unanswered, the server shut down): connection state recovery may
    /// give its sockets back, as the reference's recoverable reasons do.
    pub const fn is_recoverable(self) -> bool {
        matches!(
            self,
            DisconnectReason::HeartbeatTimeout
                | DisconnectReason::SocketEnd
                | DisconnectReason::SocketClose
                | DisconnectReason::SocketError
                | DisconnectReason::ServerShutdown
                | DisconnectReason::WriteTimeout
                | DisconnectReason::ReadTimeout
        )
    }

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
            DisconnectReason::HandshakeExpired => "handshake expired",
            DisconnectReason::BudgetExceeded => "budget exceeded",
            DisconnectReason::NodeFull => "node full",
            DisconnectReason::NodeFenced => "node fenced",
            DisconnectReason::TransportError => "transport error",
        }
    }
}

impl DisconnectReason {
    /// The reason as socket.io 4 names it to its `disconnect` handlers, for an application
    /// that speaks to Socket.IO clients in their own terms. socket.io 4 has fewer reasons:
    /// ferrio's own (a full outbox, a stalled writer, an exceeded budget) take the closest.
    pub const fn socket_io_reason(self) -> &'static str {
        match self {
            DisconnectReason::Booted => "server namespace disconnect",
            DisconnectReason::Packet => "client namespace disconnect",
            DisconnectReason::HeartbeatTimeout
            | DisconnectReason::CloseTimeout
            | DisconnectReason::WriteTimeout
            | DisconnectReason::ReadTimeout
            | DisconnectReason::HandshakeExpired => "ping timeout",
            DisconnectReason::SocketEnd | DisconnectReason::SocketClose => "transport close",
            DisconnectReason::SocketError | DisconnectReason::TransportError => "transport error",
            DisconnectReason::ServerShutdown | DisconnectReason::NodeFenced => {
                "server shutting down"
            }
            DisconnectReason::BufferOverflow
            | DisconnectReason::BudgetExceeded
            | DisconnectReason::NodeFull => "forced close",
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_io_clients_hear_socket_io_s_reasons() {
        assert_eq!(
            DisconnectReason::HeartbeatTimeout.socket_io_reason(),
            "ping timeout"
        );
        assert_eq!(
            DisconnectReason::SocketClose.socket_io_reason(),
            "transport close"
        );
        assert_eq!(
            DisconnectReason::Packet.socket_io_reason(),
            "client namespace disconnect"
        );
        assert_eq!(
            DisconnectReason::Booted.socket_io_reason(),
            "server namespace disconnect"
        );
        assert_eq!(
            DisconnectReason::ServerShutdown.socket_io_reason(),
            "server shutting down"
        );
    }
}
