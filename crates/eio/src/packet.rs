//! Packets: `<type digit>[<data>]` as text, or binary data with its type implied (v4) or in
//! the first byte (v3).
//!
//! One [`Packet`] type serves both revisions; what differs is how binary data is written:
//!
//! | | websocket frame | inside a text payload |
//! |---|---|---|
//! | v3 | binary frame: the type as a byte (`0x04`), then the data | `b` + type digit + base64 (`b4AQID`) |
//! | v4 | binary frame: the data as is, the type is always `message` | `b` + base64 (`bAQID`) |

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_PAD_INDIFFERENT};

/// The Engine.IO protocol revision, the `EIO` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Revision {
    /// `EIO=3`: Socket.IO 1.x and 2.x clients. Payloads count UTF-16 code units; the client
    /// pings.
    V3,
    /// `EIO=4`: Socket.IO 3.x and later clients. Payloads are separated by `\x1e`; the server
    /// pings.
    V4,
}

impl Revision {
    /// The revision an `EIO` value names: exactly `3` or `4`, nothing else.
    ///
    /// ```
    /// use ferrio_eio::Revision;
    /// assert_eq!(Revision::from_query_value("4"), Some(Revision::V4));
    /// assert_eq!(Revision::from_query_value("04"), None);
    /// ```
    pub fn from_query_value(value: &str) -> Option<Self> {
        match value {
            "3" => Some(Revision::V3),
            "4" => Some(Revision::V4),
            _ => None,
        }
    }

    /// The revision number, as written in `EIO`.
    pub const fn number(self) -> u8 {
        match self {
            Revision::V3 => 3,
            Revision::V4 => 4,
        }
    }
}

/// The seven packet types, numbered as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: the handshake, sent by the server with the [`Handshake`](crate::Handshake) JSON.
    Open,
    /// `1`: the transport (polling) or the session is being closed.
    Close,
    /// `2`: heartbeat request (from the client in v3, from the server in v4), or `2probe`
    /// during an upgrade.
    Ping,
    /// `3`: heartbeat answer, or `3probe` during an upgrade.
    Pong,
    /// `4`: application data.
    Message,
    /// `5`: the client switches to the probed transport.
    Upgrade,
    /// `6`: nothing; ends a pending poll during an upgrade.
    Noop,
}

impl PacketType {
    /// Every type, in wire order.
    pub const ALL: [PacketType; 7] = [
        PacketType::Open,
        PacketType::Close,
        PacketType::Ping,
        PacketType::Pong,
        PacketType::Message,
        PacketType::Upgrade,
        PacketType::Noop,
    ];

    /// The type's number, 0 to 6: the byte that starts a v3 binary frame.
    pub const fn id(self) -> u8 {
        match self {
            PacketType::Open => 0,
            PacketType::Close => 1,
            PacketType::Ping => 2,
            PacketType::Pong => 3,
            PacketType::Message => 4,
            PacketType::Upgrade => 5,
            PacketType::Noop => 6,
        }
    }

    /// The type's number as the ASCII digit that starts a text packet.
    pub const fn digit(self) -> char {
        (b'0' + self.id()) as char
    }

    /// The type numbered `id`, if any.
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(PacketType::Open),
            1 => Some(PacketType::Close),
            2 => Some(PacketType::Ping),
            3 => Some(PacketType::Pong),
            4 => Some(PacketType::Message),
            5 => Some(PacketType::Upgrade),
            6 => Some(PacketType::Noop),
            _ => None,
        }
    }

    /// The type whose ASCII digit is `digit`, if any.
    pub const fn from_digit(digit: u8) -> Option<Self> {
        match digit.checked_sub(b'0') {
            Some(id) => Self::from_id(id),
            None => None,
        }
    }
}

/// What a packet carries: text (possibly empty), or bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PacketData {
    /// Text; empty when the packet is only its type (`2`, `5`, `6`).
    Text(String),
    /// Bytes, sent as a binary frame or as base64 inside text.
    Binary(Vec<u8>),
}

/// One Engine.IO packet.
///
/// ```
/// use ferrio_eio::{Packet, PacketData, PacketType, Revision};
/// let packet = Packet::decode_text(Revision::V4, "2probe").unwrap();
/// assert_eq!(packet, Packet::text(PacketType::Ping, "probe"));
/// assert_eq!(Packet::message("hello").encode_text(Revision::V4).unwrap(), "4hello");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Packet {
    /// The packet's type.
    pub packet_type: PacketType,
    /// The packet's data.
    pub data: PacketData,
}

/// How a websocket frame carries one packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Frame {
    /// A text frame: `<type digit><text>`.
    Text(String),
    /// A binary frame: the data (v4), or the type byte then the data (v3).
    Binary(Vec<u8>),
}

/// Why one packet cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Nothing at all: a packet has at least its type.
    #[error("empty packet")]
    Empty,
    /// The first character or byte is no packet type.
    #[error("unknown packet type")]
    UnknownType,
    /// The text after `b` (and, in v3, after the type digit) is not base64.
    #[error("invalid base64 data")]
    InvalidBase64,
}

/// Why a packet or a payload cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Revision 4 writes binary data only as a `message` (its frames and `b…` texts carry no
    /// type), so a binary packet of another type would reach the peer as a message.
    #[error("revision 4 sends binary data only in message packets")]
    BinaryNotMessage,
    /// A v4 payload's text packet contains the record separator `\x1e`, which would split it
    /// in two on the other side: the protocol has no escape for it.
    #[error("packet {index} of a v4 payload contains the record separator \\x1e")]
    RecordSeparatorInText {
        /// The packet's position in the payload.
        index: usize,
    },
    /// A v4 payload needs at least one packet: the empty body is not a valid payload.
    #[error("a v4 payload needs at least one packet")]
    NoPackets,
}

impl Packet {
    /// A packet with `data`.
    pub fn new(packet_type: PacketType, data: PacketData) -> Self {
        Packet { packet_type, data }
    }

    /// A packet carrying `text` (empty for a bare type).
    pub fn text(packet_type: PacketType, text: impl Into<String>) -> Self {
        Packet::new(packet_type, PacketData::Text(text.into()))
    }

    /// A packet carrying `bytes`.
    pub fn binary(packet_type: PacketType, bytes: impl Into<Vec<u8>>) -> Self {
        Packet::new(packet_type, PacketData::Binary(bytes.into()))
    }

    /// A packet that is only its type, such as `2`, `5` or `6`.
    pub fn bare(packet_type: PacketType) -> Self {
        Packet::text(packet_type, String::new())
    }

    /// A `message` packet carrying `text`.
    pub fn message(text: impl Into<String>) -> Self {
        Packet::text(PacketType::Message, text)
    }

    /// Decodes one text packet: a websocket text frame, or one packet of a text payload.
    ///
    /// `b` starts binary data in base64: `b<base64>` (a message) in v4, `b<type digit><base64>`
    /// in v3.
    ///
    /// ```
    /// use ferrio_eio::{Packet, PacketType, Revision};
    /// assert_eq!(Packet::decode_text(Revision::V3, "4hello").unwrap(), Packet::message("hello"));
    /// assert_eq!(
    ///     Packet::decode_text(Revision::V3, "b4AQIDBA==").unwrap(),
    ///     Packet::binary(PacketType::Message, [1, 2, 3, 4])
    /// );
    /// assert_eq!(
    ///     Packet::decode_text(Revision::V4, "bAQIDBA==").unwrap(),
    ///     Packet::binary(PacketType::Message, [1, 2, 3, 4])
    /// );
    /// ```
    pub fn decode_text(revision: Revision, text: &str) -> Result<Self, PacketError> {
        let Some(&first) = text.as_bytes().first() else {
            return Err(PacketError::Empty);
        };
        // The first byte is ASCII in every valid packet, so slicing after it stays on a
        // character boundary; a non-ASCII first byte is rejected before any slicing.
        let rest = text.get(1..).ok_or(PacketError::UnknownType)?;
        if first == b'b' {
            let (packet_type, base64) = match revision {
                Revision::V4 => (PacketType::Message, rest),
                Revision::V3 => {
                    let Some(&digit) = rest.as_bytes().first() else {
                        return Err(PacketError::UnknownType);
                    };
                    let packet_type =
                        PacketType::from_digit(digit).ok_or(PacketError::UnknownType)?;
                    (packet_type, rest.get(1..).ok_or(PacketError::UnknownType)?)
                }
            };
            let bytes = STANDARD_PAD_INDIFFERENT
                .decode(base64)
                .map_err(|_| PacketError::InvalidBase64)?;
            return Ok(Packet::binary(packet_type, bytes));
        }
        let packet_type = PacketType::from_digit(first).ok_or(PacketError::UnknownType)?;
        Ok(Packet::text(packet_type, rest))
    }

    /// Decodes one websocket binary frame: in v4 the whole frame is a message's data; in v3
    /// the first byte is the type (`0x04` for a message) and the rest the data.
    ///
    /// ```
    /// use ferrio_eio::{Packet, PacketType, Revision};
    /// assert_eq!(
    ///     Packet::decode_binary(Revision::V3, &[4, 1, 2, 3]).unwrap(),
    ///     Packet::binary(PacketType::Message, [1, 2, 3])
    /// );
    /// assert_eq!(
    ///     Packet::decode_binary(Revision::V4, &[4, 1, 2, 3]).unwrap(),
    ///     Packet::binary(PacketType::Message, [4, 1, 2, 3])
    /// );
    /// ```
    pub fn decode_binary(revision: Revision, frame: &[u8]) -> Result<Self, PacketError> {
        match revision {
            Revision::V4 => Ok(Packet::binary(PacketType::Message, frame)),
            Revision::V3 => {
                let Some((&id, data)) = frame.split_first() else {
                    return Err(PacketError::Empty);
                };
                let packet_type = PacketType::from_id(id).ok_or(PacketError::UnknownType)?;
                Ok(Packet::binary(packet_type, data))
            }
        }
    }

    /// Writes the packet as text, the form of a websocket text frame and of a packet inside a
    /// text payload: binary data in base64 behind `b` (v4) or `b<type digit>` (v3).
    ///
    /// ```
    /// use ferrio_eio::{Packet, PacketType, Revision};
    /// let bytes = Packet::binary(PacketType::Message, [1, 2, 3, 4]);
    /// assert_eq!(bytes.encode_text(Revision::V4).unwrap(), "bAQIDBA==");
    /// assert_eq!(bytes.encode_text(Revision::V3).unwrap(), "b4AQIDBA==");
    /// ```
    pub fn encode_text(&self, revision: Revision) -> Result<String, EncodeError> {
        let mut out = String::new();
        self.encode_text_into(revision, &mut out)?;
        Ok(out)
    }

    /// Appends the text form of the packet (see [`Packet::encode_text`]) to `out`.
    pub fn encode_text_into(
        &self,
        revision: Revision,
        out: &mut String,
    ) -> Result<(), EncodeError> {
        match &self.data {
            PacketData::Text(text) => {
                out.reserve(text.len() + 1);
                out.push(self.packet_type.digit());
                out.push_str(text);
            }
            PacketData::Binary(bytes) => {
                out.reserve(bytes.len().div_ceil(3) * 4 + 2);
                out.push('b');
                match revision {
                    Revision::V4 => self.require_message()?,
                    Revision::V3 => out.push(self.packet_type.digit()),
                }
                STANDARD.encode_string(bytes, out);
            }
        }
        Ok(())
    }

    /// Writes the packet as one websocket frame: text as a text frame, binary data as a binary
    /// frame (behind its type byte in v3).
    ///
    /// ```
    /// use ferrio_eio::{Frame, Packet, PacketType, Revision};
    /// let bytes = Packet::binary(PacketType::Message, [1, 2]);
    /// assert_eq!(bytes.encode_frame(Revision::V3).unwrap(), Frame::Binary(vec![4, 1, 2]));
    /// assert_eq!(bytes.encode_frame(Revision::V4).unwrap(), Frame::Binary(vec![1, 2]));
    /// assert_eq!(
    ///     Packet::text(PacketType::Pong, "probe").encode_frame(Revision::V4).unwrap(),
    ///     Frame::Text("3probe".into())
    /// );
    /// ```
    pub fn encode_frame(&self, revision: Revision) -> Result<Frame, EncodeError> {
        match &self.data {
            PacketData::Text(_) => self.encode_text(revision).map(Frame::Text),
            PacketData::Binary(bytes) => match revision {
                Revision::V4 => {
                    self.require_message()?;
                    Ok(Frame::Binary(bytes.clone()))
                }
                Revision::V3 => {
                    let mut frame = Vec::with_capacity(bytes.len() + 1);
                    frame.push(self.packet_type.id());
                    frame.extend_from_slice(bytes);
                    Ok(Frame::Binary(frame))
                }
            },
        }
    }

    fn require_message(&self) -> Result<(), EncodeError> {
        if self.packet_type == PacketType::Message {
            Ok(())
        } else {
            Err(EncodeError::BinaryNotMessage)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_types_are_numbered_as_in_the_documents() {
        let digits: String = PacketType::ALL.iter().map(|t| t.digit()).collect();
        assert_eq!(digits, "0123456");
        for packet_type in PacketType::ALL {
            assert_eq!(PacketType::from_id(packet_type.id()), Some(packet_type));
            assert_eq!(
                PacketType::from_digit(packet_type.digit() as u8),
                Some(packet_type)
            );
        }
        assert_eq!(PacketType::from_id(7), None);
        assert_eq!(PacketType::from_digit(b'7'), None);
        assert_eq!(PacketType::from_digit(b'/'), None);
        assert_eq!(PacketType::from_digit(0), None);
    }

    #[test]
    fn revisions_are_exactly_3_and_4() {
        assert_eq!(Revision::from_query_value("3"), Some(Revision::V3));
        assert_eq!(Revision::from_query_value("4"), Some(Revision::V4));
        for other in ["", "2", "5", "03", "4 ", " 4", "4.0", "+4", "v4", "٤"] {
            assert_eq!(Revision::from_query_value(other), None, "{other:?}");
        }
        assert_eq!(Revision::V3.number(), 3);
        assert_eq!(Revision::V4.number(), 4);
    }

    #[test]
    fn document_examples_decode_in_both_revisions() {
        for revision in [Revision::V3, Revision::V4] {
            let decode = |text| Packet::decode_text(revision, text).unwrap();
            assert_eq!(decode("4hello"), Packet::message("hello"));
            assert_eq!(decode("2probe"), Packet::text(PacketType::Ping, "probe"));
            assert_eq!(decode("3probe"), Packet::text(PacketType::Pong, "probe"));
            assert_eq!(decode("4HelloWorld"), Packet::message("HelloWorld"));
            assert_eq!(decode("2"), Packet::bare(PacketType::Ping));
            assert_eq!(decode("5"), Packet::bare(PacketType::Upgrade));
            assert_eq!(decode("6"), Packet::bare(PacketType::Noop));
            assert_eq!(decode("1"), Packet::bare(PacketType::Close));
            assert_eq!(
                decode("0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\"}"),
                Packet::text(PacketType::Open, "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\"}")
            );
            assert_eq!(decode("4€"), Packet::message("€"));
            assert_eq!(decode("4"), Packet::message(""));
        }
    }

    #[test]
    fn text_packets_encode_as_type_digit_then_data() {
        for revision in [Revision::V3, Revision::V4] {
            assert_eq!(
                Packet::message("hello").encode_text(revision).unwrap(),
                "4hello"
            );
            assert_eq!(
                Packet::text(PacketType::Ping, "probe")
                    .encode_text(revision)
                    .unwrap(),
                "2probe"
            );
            assert_eq!(
                Packet::bare(PacketType::Upgrade)
                    .encode_text(revision)
                    .unwrap(),
                "5"
            );
            assert_eq!(
                Packet::message("b").encode_text(revision).unwrap(),
                "4b",
                "text that starts with b stays text"
            );
        }
    }

    #[test]
    fn base64_packets_follow_each_revision() {
        let bytes = Packet::binary(PacketType::Message, [1, 2, 3, 4]);
        assert_eq!(bytes.encode_text(Revision::V4).unwrap(), "bAQIDBA==");
        assert_eq!(bytes.encode_text(Revision::V3).unwrap(), "b4AQIDBA==");
        assert_eq!(
            Packet::decode_text(Revision::V4, "bAQIDBA==").unwrap(),
            bytes
        );
        assert_eq!(
            Packet::decode_text(Revision::V3, "b4AQIDBA==").unwrap(),
            bytes
        );
        // In v3 the digit after `b` is the type; in v4 it is base64.
        assert_eq!(
            Packet::decode_text(Revision::V3, "b2AQID").unwrap(),
            Packet::binary(PacketType::Ping, [1, 2, 3])
        );
        assert_eq!(
            Packet::decode_text(Revision::V4, "b2AQI").unwrap(),
            Packet::binary(PacketType::Message, [0xD8, 0x04, 0x08])
        );
        assert_eq!(
            Packet::binary(PacketType::Ping, [9])
                .encode_text(Revision::V3)
                .unwrap(),
            "b2CQ=="
        );
    }

    #[test]
    fn empty_binary_data_round_trips() {
        let empty = Packet::binary(PacketType::Message, []);
        assert_eq!(empty.encode_text(Revision::V4).unwrap(), "b");
        assert_eq!(empty.encode_text(Revision::V3).unwrap(), "b4");
        assert_eq!(Packet::decode_text(Revision::V4, "b").unwrap(), empty);
        assert_eq!(Packet::decode_text(Revision::V3, "b4").unwrap(), empty);
        assert_eq!(
            Packet::decode_binary(Revision::V4, &[]).unwrap(),
            empty,
            "an empty v4 binary frame is an empty message"
        );
        assert_eq!(
            Packet::decode_binary(Revision::V3, &[4]).unwrap(),
            empty,
            "a v3 binary frame of only its type byte"
        );
    }

    #[test]
    fn base64_accepts_missing_padding_and_rejects_other_alphabets() {
        assert_eq!(
            Packet::decode_text(Revision::V4, "bAQIDBA").unwrap(),
            Packet::binary(PacketType::Message, [1, 2, 3, 4])
        );
        for bad in [
            "bAQ-D",
            "bAQ_D",
            "bAQ ID",
            "bA",
            "b====",
            "bAQIDBA==\n",
            "b\u{e9}",
        ] {
            assert_eq!(
                Packet::decode_text(Revision::V4, bad),
                Err(PacketError::InvalidBase64),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn malformed_text_packets_are_rejected() {
        for revision in [Revision::V3, Revision::V4] {
            assert_eq!(Packet::decode_text(revision, ""), Err(PacketError::Empty));
            for bad in ["7", "9hello", "a123", " 4", "x", "é", "😀", "\u{1e}4", "{}"] {
                assert_eq!(
                    Packet::decode_text(revision, bad),
                    Err(PacketError::UnknownType),
                    "{bad:?}"
                );
            }
        }
        for bad in ["b", "b7AQID", "bxAQID", "bé"] {
            assert_eq!(
                Packet::decode_text(Revision::V3, bad),
                Err(PacketError::UnknownType),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn v3_binary_frames_start_with_the_type_byte() {
        // engine.io-protocol v3, "Packet": `4|0|1|2|3|4|5` is a message of bytes 0 to 5.
        assert_eq!(
            Packet::decode_binary(Revision::V3, &[4, 0, 1, 2, 3, 4, 5]).unwrap(),
            Packet::binary(PacketType::Message, [0, 1, 2, 3, 4, 5])
        );
        assert_eq!(
            Packet::binary(PacketType::Message, [0, 1, 2, 3, 4, 5])
                .encode_frame(Revision::V3)
                .unwrap(),
            Frame::Binary(vec![4, 0, 1, 2, 3, 4, 5])
        );
        assert_eq!(
            Packet::decode_binary(Revision::V3, &[]),
            Err(PacketError::Empty)
        );
        assert_eq!(
            Packet::decode_binary(Revision::V3, &[7, 1]),
            Err(PacketError::UnknownType)
        );
        assert_eq!(
            Packet::decode_binary(Revision::V3, b"4abc"),
            Err(PacketError::UnknownType),
            "the type is a byte, not an ASCII digit"
        );
    }

    #[test]
    fn v4_binary_frames_are_the_raw_data() {
        assert_eq!(
            Packet::decode_binary(Revision::V4, &[1, 2, 3, 4]).unwrap(),
            Packet::binary(PacketType::Message, [1, 2, 3, 4])
        );
        assert_eq!(
            Packet::binary(PacketType::Message, [1, 2, 3, 4])
                .encode_frame(Revision::V4)
                .unwrap(),
            Frame::Binary(vec![1, 2, 3, 4])
        );
    }

    #[test]
    fn v4_refuses_binary_data_outside_messages() {
        let ping = Packet::binary(PacketType::Ping, [1]);
        assert_eq!(
            ping.encode_text(Revision::V4),
            Err(EncodeError::BinaryNotMessage)
        );
        assert_eq!(
            ping.encode_frame(Revision::V4),
            Err(EncodeError::BinaryNotMessage)
        );
        assert_eq!(
            ping.encode_frame(Revision::V3).unwrap(),
            Frame::Binary(vec![2, 1])
        );
    }

    #[test]
    fn text_frames_are_the_text_form() {
        for revision in [Revision::V3, Revision::V4] {
            assert_eq!(
                Packet::message("4hello\u{1e}x")
                    .encode_frame(revision)
                    .unwrap(),
                Frame::Text("44hello\u{1e}x".into()),
                "a single frame needs no separator, so \\x1e is fine there"
            );
        }
    }

    #[test]
    fn encode_text_into_appends() {
        let mut out = String::from("x");
        Packet::message("a")
            .encode_text_into(Revision::V4, &mut out)
            .unwrap();
        assert_eq!(out, "x4a");
    }

    #[test]
    fn errors_describe_themselves() {
        assert_eq!(PacketError::Empty.to_string(), "empty packet");
        assert_eq!(PacketError::UnknownType.to_string(), "unknown packet type");
        assert_eq!(
            PacketError::InvalidBase64.to_string(),
            "invalid base64 data"
        );
        assert_eq!(
            EncodeError::RecordSeparatorInText { index: 2 }.to_string(),
            "packet 2 of a v4 payload contains the record separator \\x1e"
        );
    }
}
