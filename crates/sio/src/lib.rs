//! The Socket.IO protocol, revisions 4 and 5 (`socket.io` 1.x–2.x and 3.x–4.x clients), as pure
//! functions.
//!
//! Text and bytes in, packets out, and back: no async code, no sockets, no HTTP types, no
//! Engine.IO framing. A packet's text is one Engine.IO message (the transport adds Engine.IO's
//! `4`) and each binary attachment one binary message after it. The contract is the official
//! socket.io-protocol document; where it is silent, `socket.io-parser`'s behaviour.
//!
//! Layout:
//! - [`packet`]: [`Packet`] and its parts ([`Namespace`], [`EventName`], [`ConnectErrorData`]),
//!   the seven wire types ([`PacketType`]) and the two [`Revision`]s.
//! - [`value`]: arguments as an application sees them ([`Value`], JSON with binary leaves) and
//!   as packets carry them ([`Arguments`]: serialized once, binaries as placeholders).
//! - [`encode()`](encode::encode): `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`
//!   plus the attachments.
//! - [`decode()`](decode::decode) and [`Reassembler`]: the text format read back, payloads
//!   validated per type and revision, binary packets rebuilt from their attachments.
//! - [`reserved`]: the event names the reference keeps for itself.
//!
//! Size limits are the caller's: the Engine.IO layer bounds each message (`maxPayload`) before
//! it gets here; this crate bounds the number of attachments per packet
//! ([`DecodeOptions::max_attachments`]).
//!
//! ```
//! use ferrio_sio::{Arguments, DecodeOptions, EventName, Namespace, Packet, Reassembler,
//!     Revision, Value, encode};
//!
//! let args = Arguments::from_values(&[Value::from("hi"), Value::from(vec![0xffu8])]);
//! let packet = Packet::Event {
//!     namespace: Namespace::new("/chat").unwrap(),
//!     ack_id: Some(7),
//!     name: EventName::from("msg"),
//!     args,
//! };
//! let (text, attachments) = encode(&packet);
//! assert_eq!(text, r#"51-/chat,7["msg","hi",{"_placeholder":true,"num":0}]"#);
//!
//! let mut reassembler = Reassembler::new(DecodeOptions::new(Revision::V5));
//! assert_eq!(reassembler.push_text(&text).unwrap(), None);
//! assert_eq!(reassembler.push_binary(attachments[0].clone()).unwrap(), Some(packet));
//! ```

pub mod decode;
pub mod encode;
pub mod error;
mod json;
pub mod packet;
pub mod reserved;
pub mod value;

pub use decode::{
    DEFAULT_MAX_ATTACHMENTS, DecodeOptions, Decoded, PendingPacket, Reassembler, decode,
};
pub use encode::{encode, encode_text};
pub use error::DecodeError;
pub use packet::{
    AckId, ConnectErrorData, EventName, InvalidNamespace, Namespace, Packet, PacketType, Revision,
};
pub use reserved::{RESERVED_EVENTS, is_reserved_event};
pub use value::{Arguments, Value};
