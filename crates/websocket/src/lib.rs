//! The `websocket` and `flashsocket` transports (docs/protocol.md §5.1, §5.2): validates upgrades,
//! answers `101`, and pumps packets both ways on the upgraded connection — one packet per text
//! message, never framed (docs/protocol.md §3.10).
//!
//! Three protocols are served, picked per request: RFC 6455, the hybi-07/08 drafts (same
//! framing, origin in `Sec-WebSocket-Origin`), and draft 76 ("hixie-76"), which old Safari,
//! iOS 4–5, early Chrome and Opera and the Flash WebSocket polyfill speak.
//!
//! Layout:
//! - `upgrade`: the handshake checks, protocol choice and the `101` response.
//! - `engine`: Engine.IO's WebSocket, opened directly or to upgrade a polling session.
//! - `pump`: the one loop that moves packets between a connection and the hub.
//! - `reader`, `writer`: read a connection through a per-thread buffer, so idle ones hold
//!   none; write each batch in one go.
//! - `rfc6455`: RFC 6455 framing (headers by tungstenite, buffering ours).
//! - `hixie`: draft 76, parsed as bytes.
//! - `echo`: the same RFC 6455 reader and writer driven by an echo instead of the pump, for
//!   the Autobahn conformance run (`tests/autobahn.rs`); hidden, not part of the gateway.
//! - `fuzzing` (cargo feature `fuzzing`): the bodies of the fuzz targets in `crates/fuzz`.

#[doc(hidden)]
pub mod echo;
mod engine;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod hixie;
mod pump;
mod reader;
mod rfc6455;
mod upgrade;
mod writer;

pub use engine::{EngineSocketRequest, engine_upgrade};
pub use rfc6455::WsLimits;
pub use upgrade::{is_websocket_upgrade, upgrade};
