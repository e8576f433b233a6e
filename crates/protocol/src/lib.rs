//! The Socket.IO 0.9 wire protocol ("protocol 1"), as pure functions.
//!
//! Text in, packets out, and back: this crate has no async code, no sockets and no HTTP types,
//! so every rule of the protocol can be unit-tested against the byte-exact examples of the
//! specification (`docs/protocol.md`) and fuzzed without a runtime.
//!
//! Layout:
//! - [`packet`]: the nine packet types, [`decode`] and [`Packet::encode`] (docs/protocol.md
//!   §3.1–§3.8).
//! - [`payload`]: the `U+FFFD length U+FFFD` framing of several packets in one body, with
//!   lengths counted in UTF-16 code units (docs/protocol.md §3.9).
//! - [`handshake`]: the `sid:heartbeat:close:transports` handshake body (docs/protocol.md §2.2).
//! - [`reserved`]: the event names the client keeps for its own lifecycle (docs/protocol.md
//!   §3.8).
//! - [`route`](mod@route): what a request path and query ask for (docs/protocol.md §1.2).
//! - [`escape`]: JavaScript string literals that are safe in ES3 engines and inside HTML,
//!   used by the jsonp-polling and htmlfile transports (docs/protocol.md §5.3, §5.5).
//! - [`transport`]: the transport names of the wire.
//! - `fuzzing` (cargo feature `fuzzing`): the bodies of the fuzz targets in `crates/fuzz`.

pub mod escape;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod handshake;
pub mod packet;
pub mod payload;
pub mod reserved;
pub mod route;
pub mod transport;

pub use escape::js_string_literal;
pub use handshake::HandshakeBody;
pub use packet::{
    AckId, DecodeError, ErrorAdvice, ErrorReason, MessageId, Packet, PacketBody, decode,
};
pub use payload::{FrameError, frame, unframe};
pub use reserved::{RESERVED_EVENTS, is_reserved_event};
pub use route::{Route, StaticAsset, parse_query};
pub use transport::TransportKind;
