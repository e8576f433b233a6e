//! Which wire generation a session speaks, and the few packets the hub writes for it by
//! itself: the connect, the heartbeat, the farewell and the noop.

use ferrio_eio::Revision as EngineRevision;

use crate::encoded::Encoded;

/// The wire generation of a session, fixed by the handshake that issued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// Socket.IO 0.9 (protocol 1) on `/socket.io/1/…` (docs/protocol.md).
    Legacy,
    /// Engine.IO, revision 3 (socket.io-client 1.x–2.x) or 4 (3.x–4.x), on `/socket.io/?EIO=…`.
    Engine(EngineRevision),
}

impl Generation {
    /// What the hub queues first when a transport request connects the session: `1::` for
    /// 0.9. An Engine.IO session's `open` packet is the handshake's answer itself, and its
    /// namespaces are joined by the client's own `CONNECT`, so nothing is queued.
    pub(crate) fn connect_packet(self) -> Option<Encoded> {
        match self {
            Generation::Legacy => Some(Encoded::from_static("1::")),
            Generation::Engine(_) => None,
        }
    }

    /// The server's heartbeat: `2::` for 0.9, Engine.IO's `ping` (`2`).
    pub(crate) fn heartbeat(self) -> Encoded {
        match self {
            Generation::Legacy => Encoded::from_static("2::"),
            Generation::Engine(_) => Encoded::from_static("2"),
        }
    }

    /// The last packet of a session the server ends: `0::` for 0.9, Engine.IO's `close`
    /// (`1`).
    pub(crate) fn farewell(self) -> Encoded {
        match self {
            Generation::Legacy => Encoded::from_static("0::"),
            Generation::Engine(_) => Encoded::from_static("1"),
        }
    }

    /// The answer to a poll with nothing to deliver: `8::` for 0.9, Engine.IO's `noop`
    /// (`6`).
    pub fn noop(self) -> Encoded {
        match self {
            Generation::Legacy => Encoded::from_static("8::"),
            Generation::Engine(_) => Encoded::from_static("6"),
        }
    }

    /// Whether the server sends heartbeats to polling transports too. 0.9 heartbeats only
    /// streams (a poll is answered `8::` at its deadline instead); Engine.IO revision 4 pings
    /// whatever transport is attached, or queues the ping for the next one.
    pub(crate) fn pings_polls(self) -> bool {
        matches!(self, Generation::Engine(EngineRevision::V4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_generation_writes_its_own_control_packets() {
        let legacy = Generation::Legacy;
        let v4 = Generation::Engine(EngineRevision::V4);
        assert_eq!(
            legacy.connect_packet().map(|p| p.as_str().to_owned()),
            Some("1::".to_owned())
        );
        assert_eq!(v4.connect_packet(), None);
        assert_eq!(legacy.heartbeat().as_str(), "2::");
        assert_eq!(v4.heartbeat().as_str(), "2");
        assert_eq!(legacy.farewell().as_str(), "0::");
        assert_eq!(v4.farewell().as_str(), "1");
        assert_eq!(legacy.noop().as_str(), "8::");
        assert_eq!(v4.noop().as_str(), "6");
        assert!(!legacy.pings_polls());
        assert!(v4.pings_polls());
        assert!(!Generation::Engine(EngineRevision::V3).pings_polls());
    }
}
