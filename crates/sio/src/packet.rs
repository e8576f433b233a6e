//! The packet model: types, namespaces, event names and the five packet shapes.

use std::fmt;

use serde_json::{Map, Number, Value as JsonValue};

use crate::value::Arguments;

/// The revision of the Socket.IO protocol a connection speaks.
///
/// Revision 4 is `socket.io` 1.x–2.x over Engine.IO 3 (`EIO=3`); revision 5 is `socket.io` 3.x
/// and later over Engine.IO 4 (`EIO=4`). The text encoding is the same; they differ in:
/// - CONNECT: in 4 it has no payload and a client passes its query string after the namespace
///   (`0/admin?token=1,`), and the server's answer is a bare CONNECT; in 5 the client may send
///   an auth object and the server answers with `{"sid":"…"}`;
/// - CONNECT_ERROR: a plain string in 4, `{"message":…,"data":…}` in 5;
/// - decoding: revision 5 refuses events named with a [reserved name](crate::RESERVED_EVENTS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Revision {
    /// Revision 4 (`socket.io-parser` 3.x).
    V4,
    /// Revision 5 (`socket.io-parser` 4.x).
    V5,
}

/// The wire type of a packet, its first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: a client asks to join a namespace; the server accepts.
    Connect,
    /// `1`: either side leaves a namespace.
    Disconnect,
    /// `2`: an event with JSON arguments.
    Event,
    /// `3`: the answer to an event that asked for one.
    Ack,
    /// `4`: the server refuses a namespace (called ERROR in revision 4).
    ConnectError,
    /// `5`: an event whose arguments carry binary attachments.
    BinaryEvent,
    /// `6`: an ack whose arguments carry binary attachments.
    BinaryAck,
}

impl PacketType {
    /// The type's digit on the wire.
    pub fn code(self) -> u8 {
        match self {
            PacketType::Connect => 0,
            PacketType::Disconnect => 1,
            PacketType::Event => 2,
            PacketType::Ack => 3,
            PacketType::ConnectError => 4,
            PacketType::BinaryEvent => 5,
            PacketType::BinaryAck => 6,
        }
    }

    /// The type written as `digit`, if there is one.
    pub fn from_digit(digit: u8) -> Option<PacketType> {
        Some(match digit {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// Whether the type announces binary attachments (`5`, `6`).
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            PacketType::Connect => "CONNECT",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Event => "EVENT",
            PacketType::Ack => "ACK",
            PacketType::ConnectError => "CONNECT_ERROR",
            PacketType::BinaryEvent => "BINARY_EVENT",
            PacketType::BinaryAck => "BINARY_ACK",
        })
    }
}

/// A namespace: `/` or a name starting with `/`, never containing `,` (which ends it on the
/// wire).
///
/// ```
/// use ferrio_sio::Namespace;
///
/// assert!(Namespace::root().is_root());
/// assert_eq!(Namespace::new("/admin").unwrap().as_str(), "/admin");
/// assert!(Namespace::new("admin").is_err());
/// assert!(Namespace::new("/a,b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace(String);

/// A namespace name that cannot be written on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid namespace {0:?}: it must start with '/' and contain no ','")]
pub struct InvalidNamespace(pub String);

impl Namespace {
    /// The main namespace, `/`.
    pub fn root() -> Self {
        Namespace("/".to_owned())
    }

    /// Checks `name`: it must start with `/` and contain no `,`.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidNamespace> {
        let name = name.into();
        if name.starts_with('/') && !name.contains(',') {
            Ok(Namespace(name))
        } else {
            Err(InvalidNamespace(name))
        }
    }

    /// A name read from the wire, which the decoder has checked.
    pub(crate) fn from_wire(name: &str) -> Self {
        Namespace(name.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the main namespace, which the wire leaves out.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Namespace::root()
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for Namespace {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An event's name: the first element of an EVENT's array, a string or (the reference accepts
/// it in both revisions) a number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventName {
    /// A string name, the usual case.
    Text(String),
    /// A numeric name, as `socket.emit(7, …)` sends it.
    Number(Number),
}

impl EventName {
    /// The name as a string, if it is one.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            EventName::Text(text) => Some(text),
            EventName::Number(_) => None,
        }
    }
}

impl fmt::Display for EventName {
    /// The name as text: a number as JavaScript's `String(n)` writes an integer.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventName::Text(text) => formatter.write_str(text),
            EventName::Number(number) => fmt::Display::fmt(number, formatter),
        }
    }
}

impl From<&str> for EventName {
    fn from(text: &str) -> Self {
        EventName::Text(text.to_owned())
    }
}

impl From<String> for EventName {
    fn from(text: String) -> Self {
        EventName::Text(text)
    }
}

impl From<u64> for EventName {
    fn from(number: u64) -> Self {
        EventName::Number(Number::from(number))
    }
}

impl From<i64> for EventName {
    fn from(number: i64) -> Self {
        EventName::Number(Number::from(number))
    }
}

/// The payload of a CONNECT_ERROR: a string (revision 4) or an object (revision 5's
/// `{"message":…,"data":…}`). The decoder accepts either in both revisions, as the reference
/// does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectErrorData {
    /// A plain message, revision 4's form.
    Text(String),
    /// An object, revision 5's form.
    Object(Map<String, JsonValue>),
}

impl ConnectErrorData {
    /// The human-readable reason: the string itself, or the object's `message` string.
    pub fn message(&self) -> Option<&str> {
        match self {
            ConnectErrorData::Text(text) => Some(text),
            ConnectErrorData::Object(map) => map.get("message").and_then(JsonValue::as_str),
        }
    }
}

/// An ack id: the sender's number for an event that wants an answer, repeated by the ACK.
pub type AckId = u64;

/// A Socket.IO packet, whole: a binary packet's attachments are in its [`Arguments`].
///
/// EVENT and BINARY_EVENT are one variant, as are ACK and BINARY_ACK: the wire type follows
/// from whether the arguments have attachments (the reference's encoder picks it the same way,
/// and its decoder gives back EVENT and ACK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0`: join a namespace (client), or accept it (server).
    Connect {
        /// The namespace.
        namespace: Namespace,
        /// Revision 4 only: the query string a client appends to the namespace
        /// (`0/admin?token=1,`), without the `?`. Revision 5 has no such field: its decoder
        /// keeps a `?` as part of the namespace.
        query: Option<String>,
        /// Revision 5: the client's auth object, or the server's `{"sid":"…"}`. Revision 4
        /// peers send none (its decoder accepts an object anyway, as `socket.io-parser` 3.x
        /// did).
        data: Option<Map<String, JsonValue>>,
    },
    /// `1`: leave a namespace.
    Disconnect {
        /// The namespace.
        namespace: Namespace,
    },
    /// `2` or `5`: an event.
    Event {
        /// The namespace.
        namespace: Namespace,
        /// Present when the sender wants an ACK.
        ack_id: Option<AckId>,
        /// The event's name.
        name: EventName,
        /// The arguments after the name.
        args: Arguments,
    },
    /// `3` or `6`: the answer to an event.
    Ack {
        /// The namespace.
        namespace: Namespace,
        /// The id of the event answered.
        ack_id: AckId,
        /// The answer's arguments.
        args: Arguments,
    },
    /// `4`: the server refuses a namespace.
    ConnectError {
        /// The namespace.
        namespace: Namespace,
        /// Why.
        data: ConnectErrorData,
    },
}

impl Packet {
    /// A client's CONNECT with nothing but the namespace (both revisions).
    pub fn connect(namespace: Namespace) -> Self {
        Packet::Connect {
            namespace,
            query: None,
            data: None,
        }
    }

    /// The server's acceptance of a namespace: revision 4 a bare CONNECT, revision 5 with the
    /// socket's id as `{"sid":"…"}`.
    ///
    /// ```
    /// use ferrio_sio::{Namespace, Packet, Revision, encode};
    ///
    /// let admin = Namespace::new("/admin").unwrap();
    /// let v5 = Packet::connect_accepted(Revision::V5, admin.clone(), "oSO0OpakMV_3jnilAAAA");
    /// assert_eq!(encode(&v5).0, r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#);
    /// assert_eq!(encode(&Packet::connect_accepted(Revision::V4, admin, "x")).0, "0/admin,");
    /// ```
    pub fn connect_accepted(revision: Revision, namespace: Namespace, sid: &str) -> Self {
        let data = match revision {
            Revision::V4 => None,
            Revision::V5 => {
                let mut map = Map::new();
                map.insert("sid".to_owned(), JsonValue::String(sid.to_owned()));
                Some(map)
            }
        };
        Packet::Connect {
            namespace,
            query: None,
            data,
        }
    }

    /// The server's refusal of a namespace in the revision's shape: revision 5
    /// `{"message":…}` plus `"data"` when given; revision 4 the `data` itself when it is a
    /// string or an object (as socket.io 2 sends `err.data || err.message`), else the message.
    ///
    /// ```
    /// use ferrio_sio::{Namespace, Packet, Revision, encode};
    ///
    /// let v5 = Packet::connect_error(Revision::V5, Namespace::root(), "Not authorized", None);
    /// assert_eq!(encode(&v5).0, r#"4{"message":"Not authorized"}"#);
    /// let admin = Namespace::new("/admin").unwrap();
    /// let v4 = Packet::connect_error(Revision::V4, admin, "Not authorized", None);
    /// assert_eq!(encode(&v4).0, r#"4/admin,"Not authorized""#);
    /// ```
    pub fn connect_error(
        revision: Revision,
        namespace: Namespace,
        message: &str,
        data: Option<JsonValue>,
    ) -> Self {
        let data = match (revision, data) {
            (Revision::V4, Some(JsonValue::String(text))) => ConnectErrorData::Text(text),
            (Revision::V4, Some(JsonValue::Object(map))) => ConnectErrorData::Object(map),
            (Revision::V4, _) => ConnectErrorData::Text(message.to_owned()),
            (Revision::V5, data) => {
                let mut map = Map::new();
                map.insert("message".to_owned(), JsonValue::String(message.to_owned()));
                if let Some(data) = data {
                    map.insert("data".to_owned(), data);
                }
                ConnectErrorData::Object(map)
            }
        };
        Packet::ConnectError { namespace, data }
    }

    /// A DISCONNECT.
    pub fn disconnect(namespace: Namespace) -> Self {
        Packet::Disconnect { namespace }
    }

    /// An event without an ack id.
    pub fn event(namespace: Namespace, name: EventName, args: Arguments) -> Self {
        Packet::Event {
            namespace,
            ack_id: None,
            name,
            args,
        }
    }

    /// An ACK answering `ack_id`.
    pub fn ack(namespace: Namespace, ack_id: AckId, args: Arguments) -> Self {
        Packet::Ack {
            namespace,
            ack_id,
            args,
        }
    }

    /// The packet's namespace.
    pub fn namespace(&self) -> &Namespace {
        match self {
            Packet::Connect { namespace, .. }
            | Packet::Disconnect { namespace }
            | Packet::Event { namespace, .. }
            | Packet::Ack { namespace, .. }
            | Packet::ConnectError { namespace, .. } => namespace,
        }
    }

    /// The type the packet is written with: BINARY_EVENT and BINARY_ACK when its arguments have
    /// attachments.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect { .. } => PacketType::Connect,
            Packet::Disconnect { .. } => PacketType::Disconnect,
            Packet::Event { args, .. } if args.has_attachments() => PacketType::BinaryEvent,
            Packet::Event { .. } => PacketType::Event,
            Packet::Ack { args, .. } if args.has_attachments() => PacketType::BinaryAck,
            Packet::Ack { .. } => PacketType::Ack,
            Packet::ConnectError { .. } => PacketType::ConnectError,
        }
    }

    /// The binary attachments that follow the packet's text, in order (none for most packets).
    pub fn attachments(&self) -> &[bytes::Bytes] {
        match self {
            Packet::Event { args, .. } | Packet::Ack { args, .. } => args.attachments(),
            Packet::Connect { .. } | Packet::Disconnect { .. } | Packet::ConnectError { .. } => &[],
        }
    }
}
