//! The session hub of ferrio: sessions, namespaces, rooms, emits, broadcasts, acks in both
//! directions, heartbeats, close timeouts and per-session buffering.
//!
//! The hub knows nothing of HTTP. Transports reach it through a small port — [`Hub::handshake`],
//! [`Hub::attach`], [`Hub::ingest`], [`Hub::disconnect`] — with plain data ([`ConnectInfo`],
//! decoded [`ferrio_protocol::Packet`]s) and take already-encoded packets back from an
//! [`Attachment`]. What a packet *means* is decided here alone.
//!
//! Layout:
//! - `hub`: the registry (the only code that inserts or removes sessions and ends them) and
//!   the port.
//! - `dispatch`: what the client's packets mean (heartbeats, namespaces joined and left, acks,
//!   the application's handlers) and the queueing of every packet for a client.
//! - `timers`: every session's deadlines, on one task per hub.
//! - `shutdown`: where a shutdown stands, and the cut between the client packets accepted
//!   before it (delivered) and those after (refused).
//! - `session`: one session's state machine, behind one short-held lock.
//! - `endpoint`: what a session keeps per joined namespace (message ids, pending acks, rooms).
//! - `attachment`: how a transport awaits its batches and hands over what its connection
//!   received.
//! - `namespace`, `socket`, `broadcast`: the Socket.IO-shaped application API.
//! - `handler`: typed, async event handlers and what they take from an event.
//! - `cluster`: what a cluster of nodes is asked for (session ids, carrying broadcasts) and
//!   the form a broadcast travels in between nodes.
//! - `admission`, `occupancy`, `budget`: handshake rate limits, the counts of connected
//!   sessions and unconnected handshakes with their caps, and what one session may send.
//! - `metrics`, `gate`: counters, and the sampling of log lines a client can provoke.
//! - `origin`, `handshake`, `config`, `reason`, `encoded`: plain data.
//!
//! One circle of calls is intended, among `hub`, `dispatch`, `socket`, `namespace` and
//! `broadcast`: `dispatch` hands the application's handlers a `Socket`, and a handler may emit,
//! broadcast or disconnect from inside, as in Socket.IO; those calls come back to `dispatch`
//! (queueing) and `hub` (ending a session), which runs the disconnect handlers through
//! `dispatch` again. Outside it, `attachment` and `timers` call into the hub only to hand over
//! packets, end or forget a session; `session` and `endpoint` call none of them (a session
//! only tells the timer queue that its deadlines moved).
//!
//! Application handlers run on the task of the request that carried the packet. A typed
//! handler ([`Namespace::on`], `handler`) is `async`: it runs there up to its first `.await`
//! that waits, then goes on as a task of its own; nothing a handler does may block the
//! thread.

mod admission;
mod attachment;
mod binary;
mod broadcast;
mod budget;
mod cluster;
mod config;
mod dispatch;
mod encoded;
mod endpoint;
mod engine;
mod gate;
mod generation;
mod handler;
mod handshake;
mod hub;
mod metrics;
mod namespace;
mod occupancy;
mod origin;
mod reason;
mod recovery;
mod session;
mod shutdown;
mod socket;
mod timers;
mod translate;
mod upgrade;

pub use admission::Rate;
pub use attachment::Attachment;
pub use binary::{binary, binary_data};
pub use broadcast::Broadcast;
pub use cluster::{BroadcastBody, Cluster, ClusterBroadcast, ClusterMessage};
pub use config::{ConfigError, EngineConfig, HubConfig};
pub use encoded::{Batch, Encoded};
pub use ferrio_protocol::{RESERVED_EVENTS, is_reserved_event};
pub use gate::LogGate;
pub use generation::Generation;
pub use handler::{Args, ArgumentError, Data, EventCall, EventHandler, FromEvent, TryData};
pub use handshake::{
    Authorization, ConnectInfo, EngineOpen, HandshakeData, RateLimit, Refusal, UnconnectedLimit,
};
pub use hub::{AttachError, Authorized, EngineAttachError, Hub, IngestError, Undelivered};
pub use metrics::{HubMetrics, MetricsSnapshot, NO_TRANSPORT};
pub use namespace::{Join, JoinRequest, Message, Namespace};
pub use origin::{Origins, OriginsParseError};
pub use reason::DisconnectReason;
pub use recovery::RecoveryConfig;
pub use session::AttachMode;
pub use socket::{AckError, AckSender, Socket, TimedEmit};
pub use upgrade::EngineUpgrade;
