//! What the hub asks of a cluster of nodes, and what a cluster hands back: the hub mints
//! session ids through it and gives it every broadcast, in a form no wire generation owns, so
//! that each node encodes it for its own clients. The hub knows nothing of how the nodes meet
//! (Redis, links); `ferrio-cluster` implements [`Cluster`].

use std::fmt;

use ferrio_protocol::PacketBody;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The hub's side of a cluster. Its calls come from application handlers and transports, so
/// none may block: [`Cluster::publish`] queues.
pub trait Cluster: Send + Sync + fmt::Debug {
    /// A new session id, naming this node, in the shape of a single node's: 32 lowercase hex
    /// characters, unguessable.
    fn mint_sid(&self) -> String;

    /// Hands a message made on this node to the other nodes, in the order of the calls.
    fn publish(&self, message: ClusterMessage);

    /// Whether this node is a member in good standing, which [`Hub::is_ready`] reports
    /// (`/readyz`) alongside its own state.
    ///
    /// [`Hub::is_ready`]: crate::Hub::is_ready
    fn is_ready(&self) -> bool {
        true
    }

    /// Session `sid` has ended on this node (called once per session, after its disconnect
    /// handlers). Must not block.
    fn session_ended(&self, sid: &str) {
        let _ = sid;
    }
}

/// What one node asks of the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClusterMessage {
    /// Deliver a broadcast to your members.
    #[serde(rename = "B")]
    Broadcast(ClusterBroadcast),
    /// Whichever node holds session `sid`: emit to it in `namespace`.
    #[serde(rename = "E")]
    Emit {
        /// The session.
        sid: String,
        /// The namespace, `""` for the default one.
        #[serde(rename = "ns")]
        namespace: String,
        /// What is said.
        #[serde(rename = "b")]
        body: BroadcastBody,
    },
    /// Whichever node holds session `sid`: end it as the application's `disconnect()` does.
    #[serde(rename = "K")]
    Kick {
        /// The session.
        sid: String,
    },
}

/// Whether `sid` has the shape of a session id another node of a cluster may hold (32
/// lowercase hex characters): anything else is nobody's, and not worth a message.
pub(crate) fn could_be_held_elsewhere(sid: &str) -> bool {
    sid.len() == 32 && sid.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A broadcast as it travels between nodes: whom it is for and what it says, not its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterBroadcast {
    /// The namespace, `""` for the default one.
    #[serde(rename = "ns")]
    pub namespace: String,
    /// The room, `""` for every member of the namespace.
    #[serde(rename = "r", default, skip_serializing_if = "String::is_empty")]
    pub room: String,
    /// Sessions left out (the sender of a `socket.broadcast`).
    #[serde(rename = "x", default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
    /// Dropped for targets without a ready transport instead of buffered.
    #[serde(rename = "v", default, skip_serializing_if = "is_false")]
    pub volatile: bool,
    /// What is said.
    #[serde(rename = "b")]
    pub body: BroadcastBody,
}

/// What a broadcast says, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BroadcastBody {
    /// An event with its arguments.
    #[serde(rename = "e")]
    Event {
        /// The event name.
        name: String,
        /// Its arguments.
        args: Vec<Value>,
    },
    /// A text message.
    #[serde(rename = "m")]
    Message(String),
    /// A JSON message.
    #[serde(rename = "j")]
    Json(Value),
}

impl BroadcastBody {
    /// The body as a 0.9 packet says it.
    pub(crate) fn into_packet_body(self) -> PacketBody {
        match self {
            BroadcastBody::Event { name, args } => PacketBody::Event { name, args },
            BroadcastBody::Message(text) => PacketBody::Message(text),
            BroadcastBody::Json(value) => PacketBody::Json(value),
        }
    }

    /// The body of a 0.9 packet a broadcast carries; `None` for kinds no broadcast sends.
    pub(crate) fn from_packet_body(body: &PacketBody) -> Option<Self> {
        match body {
            PacketBody::Event { name, args } => Some(BroadcastBody::Event {
                name: name.clone(),
                args: args.clone(),
            }),
            PacketBody::Message(text) => Some(BroadcastBody::Message(text.clone())),
            PacketBody::Json(value) => Some(BroadcastBody::Json(value.clone())),
            _ => None,
        }
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn targeted_messages_read_back_as_they_were_written() {
        for message in [
            ClusterMessage::Kick {
                sid: "a".repeat(32),
            },
            ClusterMessage::Emit {
                sid: "b".repeat(32),
                namespace: "/chat".into(),
                body: BroadcastBody::Json(json!({"k": [1, 2]})),
            },
        ] {
            let text = serde_json::to_string(&message).unwrap();
            assert_eq!(
                serde_json::from_str::<ClusterMessage>(&text).unwrap(),
                message
            );
        }
        assert!(could_be_held_elsewhere(&"0f".repeat(16)));
        assert!(!could_be_held_elsewhere(&"0F".repeat(16)));
        assert!(!could_be_held_elsewhere("short"));
    }

    #[test]
    fn a_broadcast_reads_back_as_it_was_written() {
        let broadcast = ClusterBroadcast {
            namespace: "/chat".into(),
            room: "lobby".into(),
            except: vec!["a".repeat(32)],
            volatile: true,
            body: BroadcastBody::Event {
                name: "toClient".into(),
                args: vec![json!({"line": "é\u{2028}"}), json!(1.5)],
            },
        };
        let text = serde_json::to_string(&broadcast).unwrap();
        assert_eq!(
            serde_json::from_str::<ClusterBroadcast>(&text).unwrap(),
            broadcast
        );
        let plain = ClusterBroadcast {
            namespace: String::new(),
            room: String::new(),
            except: Vec::new(),
            volatile: false,
            body: BroadcastBody::Message("hi".into()),
        };
        let text = serde_json::to_string(&plain).unwrap();
        assert_eq!(text, r#"{"ns":"","b":{"m":"hi"}}"#);
        assert_eq!(
            serde_json::from_str::<ClusterBroadcast>(&text).unwrap(),
            plain
        );
    }
}
