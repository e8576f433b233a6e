//! The `xhr-polling` transport (docs/protocol.md §5.4): each GET is one long poll answered with a
//! bare packet or a framed payload as `text/plain`; each POST carries the client's packets.
//! Everything but the framing lives in `ferrio-transport`.

mod wire;

pub use wire::XhrWire;
