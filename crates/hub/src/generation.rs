//! Which wire generation a session speaks, and the few packets the hub writes for it by
//! itself: the connect, the heartbeat, the farewell and the noop.

use ferrio_eio::Revision as EngineRevision;
use serde::{Deserialize, Serialize};

use crate::encoded::Encoded;

/// The wire generation of a session, fixed by the handshake that issued it. Between the
/// nodes of a cluster it travels as a number: 1 (Socket.IO 0.9's protocol), 3 or 4 (the
/// Engine.IO revision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
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
}

impl From<Generation> for u8 {
    fn from(generation: Generation) -> u8 {
        match generation {
            Generation::Legacy => 1,
            Generation::Engine(revision) => revision.number(),
        }
    }
}

impl TryFrom<u8> for Generation {
    type Error = String;

    fn try_from(number: u8) -> Result<Self, Self::Error> {
        match number {
            1 => Ok(Generation::Legacy),
            3 => Ok(Generation::Engine(EngineRevision::V3)),
            4 => Ok(Generation::Engine(EngineRevision::V4)),
            other => Err(format!("no wire generation {other}")),
        }
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
    }

    #[test]
    fn generations_travel_as_their_protocol_numbers() {
        for generation in [
            Generation::Legacy,
            Generation::Engine(EngineRevision::V3),
            Generation::Engine(EngineRevision::V4),
        ] {
            let json = serde_json::to_string(&generation).expect("serializes");
            assert_eq!(
                serde_json::from_str::<Generation>(&json).expect("reads back"),
                generation
            );
        }
        assert_eq!(serde_json::to_string(&Generation::Legacy).unwrap(), "1");
        assert!(serde_json::from_str::<Generation>("2").is_err());
    }
}
