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

pub mod packet;

pub use packet::{EncodeError, Frame, Packet, PacketData, PacketError, PacketType, Revision};
