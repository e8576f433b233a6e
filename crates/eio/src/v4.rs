//! Revision 4 polling payloads: packets joined by the record separator `\x1e`, binary data as
//! `b<base64>` (engine.io-protocol v4, "Packet encoding", "HTTP long-polling").
//!
//! The separator is not escaped by the reference implementation: a text packet containing it
//! would be split in two by the receiver. [`encode_payload`] refuses such a packet rather than
//! send something the peer reads differently; a text that may contain `\x1e` must travel over
//! websocket, where each packet has its own frame.

use crate::packet::{EncodeError, Packet, Revision};
use crate::payload::{PayloadError, check_size};

/// The record separator between packets.
pub const SEPARATOR: char = '\u{1e}';

/// Writes `packets` as one polling body.
///
/// ```
/// use ferrio_eio::{Packet, PacketType, v4};
/// let body = v4::encode_payload(&[
///     Packet::message("hello"),
///     Packet::binary(PacketType::Message, [1, 2, 3, 4]),
/// ])
/// .unwrap();
/// assert_eq!(body, "4hello\x1ebAQIDBA==");
/// ```
pub fn encode_payload(packets: &[Packet]) -> Result<String, EncodeError> {
    if packets.is_empty() {
        return Err(EncodeError::NoPackets);
    }
    let mut out = String::new();
    for (index, packet) in packets.iter().enumerate() {
        if index > 0 {
            out.push(SEPARATOR);
        }
        let start = out.len();
        packet.encode_text_into(Revision::V4, &mut out)?;
        if out[start..].contains(SEPARATOR) {
            return Err(EncodeError::RecordSeparatorInText { index });
        }
    }
    Ok(out)
}

/// Splits and decodes a polling body of at most `max_payload` bytes. Any empty or invalid
/// packet rejects the whole body.
///
/// ```
/// use ferrio_eio::{Packet, PacketType, v4};
/// let packets = v4::decode_payload("4hello\x1e2\x1e4world", 1_000_000).unwrap();
/// assert_eq!(
///     packets,
///     [Packet::message("hello"), Packet::bare(PacketType::Ping), Packet::message("world")]
/// );
/// assert!(v4::decode_payload("4hello", 5).unwrap_err().is_too_large());
/// ```
pub fn decode_payload(body: &str, max_payload: usize) -> Result<Vec<Packet>, PayloadError> {
    check_size(body.len(), max_payload)?;
    if body.is_empty() {
        return Err(PayloadError::Empty);
    }
    body.split(SEPARATOR)
        .enumerate()
        .map(|(index, text)| {
            if text.is_empty() {
                return Err(PayloadError::EmptyPacket { index });
            }
            Packet::decode_text(Revision::V4, text)
                .map_err(|source| PayloadError::Packet { index, source })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{PacketError, PacketType};

    const LIMIT: usize = 1_000_000;

    #[test]
    fn document_example_without_binary() {
        let packets = [
            Packet::message("hello"),
            Packet::bare(PacketType::Ping),
            Packet::message("world"),
        ];
        assert_eq!(encode_payload(&packets).unwrap(), "4hello\x1e2\x1e4world");
        assert_eq!(
            decode_payload("4hello\x1e2\x1e4world", LIMIT).unwrap(),
            packets
        );
    }

    #[test]
    fn document_example_with_binary() {
        let packets = [
            Packet::message("hello"),
            Packet::binary(PacketType::Message, [1, 2, 3, 4]),
        ];
        assert_eq!(encode_payload(&packets).unwrap(), "4hello\x1ebAQIDBA==");
        assert_eq!(
            decode_payload("4hello\x1ebAQIDBA==", LIMIT).unwrap(),
            packets
        );
    }

    #[test]
    fn every_packet_type_round_trips() {
        let packets = [
            Packet::bare(PacketType::Open),
            Packet::bare(PacketType::Close),
            Packet::text(PacketType::Ping, "probe"),
            Packet::text(PacketType::Pong, "probe"),
            Packet::message("test"),
            Packet::bare(PacketType::Upgrade),
            Packet::bare(PacketType::Noop),
        ];
        let body = encode_payload(&packets).unwrap();
        assert_eq!(body, "0\x1e1\x1e2probe\x1e3probe\x1e4test\x1e5\x1e6");
        assert_eq!(decode_payload(&body, LIMIT).unwrap(), packets);
    }

    #[test]
    fn one_packet_is_sent_without_separator() {
        assert_eq!(encode_payload(&[Packet::message("é€😀")]).unwrap(), "4é€😀");
        assert_eq!(
            decode_payload("4é€😀", LIMIT).unwrap(),
            [Packet::message("é€😀")]
        );
    }

    #[test]
    fn record_separator_inside_a_text_is_refused_at_encode() {
        assert_eq!(
            encode_payload(&[Packet::message("a"), Packet::message("b\x1ec")]),
            Err(EncodeError::RecordSeparatorInText { index: 1 })
        );
        // What the refused body would have been is read back as three packets.
        assert_eq!(
            decode_payload("4a\x1e4b\x1ec", LIMIT),
            Err(PayloadError::Packet {
                index: 2,
                source: PacketError::UnknownType
            })
        );
        assert_eq!(decode_payload("4a\x1e4b\x1e4c", LIMIT).unwrap().len(), 3);
    }

    #[test]
    fn binary_outside_messages_and_no_packets_are_refused() {
        assert_eq!(
            encode_payload(&[Packet::binary(PacketType::Ping, [1])]),
            Err(EncodeError::BinaryNotMessage)
        );
        assert_eq!(encode_payload(&[]), Err(EncodeError::NoPackets));
    }

    #[test]
    fn empty_bodies_and_packets_are_rejected() {
        assert_eq!(decode_payload("", LIMIT), Err(PayloadError::Empty));
        assert_eq!(
            decode_payload("\x1e", LIMIT),
            Err(PayloadError::EmptyPacket { index: 0 })
        );
        assert_eq!(
            decode_payload("4a\x1e", LIMIT),
            Err(PayloadError::EmptyPacket { index: 1 })
        );
        assert_eq!(
            decode_payload("4a\x1e\x1e4b", LIMIT),
            Err(PayloadError::EmptyPacket { index: 1 })
        );
        assert_eq!(
            decode_payload("\x1e4a", LIMIT),
            Err(PayloadError::EmptyPacket { index: 0 })
        );
    }

    #[test]
    fn malformed_packets_reject_the_body() {
        for (body, index, source) in [
            ("{", 0, PacketError::UnknownType),
            ("{}", 0, PacketError::UnknownType),
            ("[\"a123\", \"a456\"]", 0, PacketError::UnknownType),
            ("4ok\x1ea123", 1, PacketError::UnknownType),
            ("4ok\x1eb!!", 1, PacketError::InvalidBase64),
        ] {
            assert_eq!(
                decode_payload(body, LIMIT),
                Err(PayloadError::Packet { index, source }),
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_v3_body_reads_as_a_noop_in_v4() {
        // Nothing in a v3 body marks it as such: its first length digit is a packet type.
        assert_eq!(
            decode_payload("6:4hello", LIMIT).unwrap(),
            [Packet::text(PacketType::Noop, ":4hello")]
        );
    }

    #[test]
    fn the_limit_counts_bytes_and_is_checked_first() {
        let body = "4€";
        assert_eq!(body.len(), 4);
        assert_eq!(decode_payload(body, 4).unwrap(), [Packet::message("€")]);
        assert_eq!(
            decode_payload(body, 3),
            Err(PayloadError::TooLarge { len: 4, limit: 3 })
        );
        assert_eq!(
            decode_payload("not a payload at all", 3),
            Err(PayloadError::TooLarge { len: 20, limit: 3 })
        );
    }
}
