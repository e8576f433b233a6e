//! The session hub of ferrio: sessions, namespaces, rooms, emits, broadcasts, acks in both
//! directions, heartbeats, close timeouts and per-session buffering.
//!
//! The hub knows nothing of HTTP. Transports reach it through a small port — [`Hub::handshake`],
//! [`Hub::attach`], [`Hub::ingest`], [`Hub::disconnect`] — with plain data ([`ConnectInfo`],
//! decoded [`ferrio_protocol::Packet`]s) and take already-encoded packets back from an
//! [`Attachment`]. What a packet *means* is decided here alone.
//!
//! Layout:
//! - `hub`: the registry (the only code that inserts or removes sessions), the port, packet
//!   handling.
//! - `timers`: every session's deadlines, on one task per hub.
//! - `session`: one session's state machine, behind one short-held lock.
//! - `endpoint`: what a session keeps per joined namespace (message ids, pending acks, rooms).
//! - `attachment`: how a transport awaits its batches.
//! - `namespace`, `socket`, `broadcast`: the Socket.IO-shaped application API.
//! - `origin`, `handshake`, `config`, `reason`: plain data.
//!
//! Application handlers run on the task of the request that carried the packet; they must not
//! block (spawn a task for slow work).

mod admission;
mod attachment;
mod broadcast;
mod config;
mod encoded;
mod endpoint;
mod handshake;
mod hub;
mod metrics;
mod namespace;
mod origin;
mod reason;
mod session;
mod socket;
mod timers;

pub use admission::Rate;
pub use attachment::Attachment;
pub use broadcast::Broadcast;
pub use config::{ConfigError, HubConfig};
pub use encoded::{Batch, Encoded};
pub use ferrio_protocol::{RESERVED_EVENTS, is_reserved_event};
pub use handshake::{Authorization, ConnectInfo, HandshakeData, Refusal};
pub use hub::{AttachError, Hub, UnknownSession};
pub use metrics::{HandshakeOutcome, HubMetrics, MetricsSnapshot, NO_TRANSPORT};
pub use namespace::{Message, Namespace};
pub use origin::{Origins, OriginsParseError};
pub use reason::DisconnectReason;
pub use session::AttachMode;
pub use socket::{AckReply, Socket};
