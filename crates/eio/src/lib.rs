//! The Engine.IO protocol, revisions 3 and 4, as pure functions.
//!
//! Text and bytes in, values out: no sockets, no HTTP types, no runtime. The contract is the
//! engine.io-protocol documents (v4 on its default branch, v3 on its `v3` branch), with the
//! reference implementation (engine.io, engine.io-parser) deciding what the documents leave
//! open. Where this crate is stricter than the reference, the item's documentation says so.
//!
//! Layout:
//! - [`packet`]: the seven packet types, [`Packet`] with its text, websocket-frame and
//!   base64 forms per [`Revision`].
//! - [`v4`]: v4 polling payloads, packets joined by `\x1e`.
//! - [`v3`]: v3 polling payloads, text (`<UTF-16 length>:<packet>`) and XHR2 binary.
//! - [`payload`]: what both share: the size limit and [`PayloadError`].
//! - [`jsonp`]: the `___eio[j]("…");` answer and the `d=…` post body of JSONP polling.
//! - [`handshake`](mod@handshake): the JSON of the `open` packet.
//! - [`query`]: `EIO`, `transport`, `sid`, `j`, `b64` from a query string.
//! - [`error_code`]: the reference server's error codes 0–5, their bodies and statuses.

pub mod error_code;
pub mod handshake;
pub mod jsonp;
pub mod packet;
pub mod payload;
pub mod query;
pub mod v3;
pub mod v4;

pub use error_code::ErrorCode;
pub use handshake::Handshake;
pub use jsonp::{JsonpError, JsonpIndex};
pub use packet::{EncodeError, Frame, Packet, PacketData, PacketError, PacketType, Revision};
pub use payload::{Body, PayloadError};
pub use query::{Query, QueryError, TransportName, parse_query};
