//! Revision 3 polling payloads (engine.io-protocol v3, "Payload").
//!
//! Two encodings:
//! - **text**: `<length>:<packet>` repeated, the length counted in UTF-16 code units of the
//!   packet's text (JavaScript's `String.length`), so `€` makes `2:4€` and `😀` makes `3:4😀`.
//!   Binary packets travel as `b<type digit><base64>`. This is the only form for clients
//!   that asked for `b64=1`, and for JSONP.
//! - **binary** (XHR2, `application/octet-stream`): each packet as `<kind byte: 0 string, 1
//!   binary><length as one byte per decimal digit, each 0–9><0xFF><data>`. Here the length
//!   counts **bytes**: a string packet is written as its UTF-8 bytes (engine.io-parser 2.x
//!   `encodePayloadAsBinary` UTF-8-encodes the packet text first and writes the length of that
//!   byte string), and a binary packet as its type byte followed by the data. The v3 document's
//!   example agrees: `4€` is announced as 4 bytes (`00 04 ff 34 e2 82 ac`).
//!
//! Decoding is strict where the reference is lenient: the reference reads a length with
//! JavaScript's `Number` (which accepts `0x10` or ` 5`) and quietly truncates a length that
//! runs past the body; here a length is ASCII digits only and must fit the body exactly.

use std::fmt::Write as _;

use ferrio_protocol::payload::{byte_len_of_utf16_units, utf16_len};

use crate::packet::{Packet, PacketData, PacketError, Revision};
use crate::payload::{Body, PayloadError, check_size};

/// The kind byte of a string record in a binary payload.
const STRING_RECORD: u8 = 0;
/// The kind byte of a binary record in a binary payload.
const BINARY_RECORD: u8 = 1;
/// Ends the length digits of a binary payload record.
const LENGTH_END: u8 = 0xFF;

/// Writes `packets` as the reference server does for one poll: a binary payload when the
/// client takes binary (no `b64` in its handshake) and some packet is binary, a text payload
/// otherwise.
///
/// ```
/// use ferrio_eio::{Body, Packet, PacketType, v3};
/// let packets = [Packet::message("€"), Packet::binary(PacketType::Message, [1, 2, 3, 4])];
/// assert_eq!(
///     v3::encode_payload(&packets, false),
///     Body::Text("2:4€10:b4AQIDBA==".into())
/// );
/// assert_eq!(
///     v3::encode_payload(&packets, true),
///     Body::Binary(vec![0, 4, 0xFF, b'4', 0xE2, 0x82, 0xAC, 1, 5, 0xFF, 4, 1, 2, 3, 4])
/// );
/// assert_eq!(v3::encode_payload(&[Packet::message("hi")], true), Body::Text("3:4hi".into()));
/// ```
pub fn encode_payload(packets: &[Packet], supports_binary: bool) -> Body {
    let has_binary = packets
        .iter()
        .any(|packet| matches!(packet.data, PacketData::Binary(_)));
    if supports_binary && has_binary {
        Body::Binary(encode_binary_payload(packets))
    } else {
        Body::Text(encode_text_payload(packets))
    }
}

/// Writes `packets` as a text payload; binary packets in base64. No packets at all make `0:`,
/// as in the reference.
///
/// ```
/// use ferrio_eio::{Packet, v3};
/// assert_eq!(v3::encode_text_payload(&[Packet::message("hello"), Packet::message("€")]), "6:4hello2:4€");
/// ```
pub fn encode_text_payload(packets: &[Packet]) -> String {
    if packets.is_empty() {
        return "0:".to_owned();
    }
    let mut out = String::new();
    let mut text = String::new();
    for packet in packets {
        text.clear();
        // Revision 3 writes every packet as text, binary ones in base64: this cannot fail.
        let _ = packet.encode_text_into(Revision::V3, &mut text);
        push_text_record(&mut out, &text);
    }
    out
}

/// Writes packets already encoded as text (`4hello`, `3`) as a text payload, as
/// [`encode_text_payload`] writes packets.
///
/// ```
/// use ferrio_eio::v3;
/// assert_eq!(v3::frame_text_payload(["4hello", "4€"]), "6:4hello2:4€");
/// assert_eq!(v3::frame_text_payload([]), "0:");
/// ```
pub fn frame_text_payload<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for text in texts {
        push_text_record(&mut out, text);
    }
    if out.is_empty() {
        out.push_str("0:");
    }
    out
}

/// Appends one record of a text payload: the packet's length in UTF-16 units, `:`, the
/// packet.
fn push_text_record(out: &mut String, text: &str) {
    // Writing into a String cannot fail.
    let _ = write!(out, "{}:", utf16_len(text));
    out.push_str(text);
}

/// Decodes a text payload of at most `max_payload` bytes.
///
/// Records of length 0 hold no packet and are skipped (the reference writes `0:` for an empty
/// poll answer). Any bad length or packet rejects the whole body.
///
/// ```
/// use ferrio_eio::{Packet, PayloadError, v3};
/// assert_eq!(
///     v3::decode_text_payload("6:4hello6:4world", 1_000_000).unwrap(),
///     [Packet::message("hello"), Packet::message("world")]
/// );
/// assert_eq!(v3::decode_text_payload("3:4😀", 100).unwrap(), [Packet::message("😀")]);
/// assert_eq!(
///     v3::decode_text_payload("2:4😀", 100),
///     Err(PayloadError::LengthMismatch { at: 0 })
/// );
/// ```
pub fn decode_text_payload(body: &str, max_payload: usize) -> Result<Vec<Packet>, PayloadError> {
    check_size(body.len(), max_payload)?;
    if body.is_empty() {
        return Err(PayloadError::Empty);
    }
    let mut packets = Vec::new();
    let mut rest = body;
    let mut index = 0;
    while !rest.is_empty() {
        let at = body.len() - rest.len();
        let digits_len = rest
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after_digits) = rest.split_at(digits_len);
        let packet_start = match after_digits.strip_prefix(':') {
            Some(packet_start) if !digits.is_empty() => packet_start,
            _ => return Err(PayloadError::BadLength { at }),
        };
        // A decimal too large for usize cannot fit in the body either.
        let units: usize = digits
            .parse()
            .map_err(|_| PayloadError::LengthMismatch { at })?;
        let packet_len = byte_len_of_utf16_units(packet_start, units)
            .ok_or(PayloadError::LengthMismatch { at })?;
        let (text, after) = packet_start.split_at(packet_len);
        if !text.is_empty() {
            let packet = Packet::decode_text(Revision::V3, text)
                .map_err(|source| PayloadError::Packet { index, source })?;
            packets.push(packet);
        }
        rest = after;
        index += 1;
    }
    Ok(packets)
}

/// Writes `packets` as an XHR2 binary payload. No packets make an empty body, as in the
/// reference.
///
/// ```
/// use ferrio_eio::{Packet, PacketType, v3};
/// assert_eq!(
///     v3::encode_binary_payload(&[Packet::binary(PacketType::Message, [1, 2, 3])]),
///     [1, 4, 0xFF, 4, 1, 2, 3]
/// );
/// ```
pub fn encode_binary_payload(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut text = String::new();
    for packet in packets {
        match &packet.data {
            PacketData::Text(_) => {
                text.clear();
                // A text packet always encodes.
                let _ = packet.encode_text_into(Revision::V3, &mut text);
                push_record_header(&mut out, STRING_RECORD, text.len());
                out.extend_from_slice(text.as_bytes());
            }
            PacketData::Binary(bytes) => {
                push_record_header(&mut out, BINARY_RECORD, bytes.len() + 1);
                out.push(packet.packet_type.id());
                out.extend_from_slice(bytes);
            }
        }
    }
    out
}

fn push_record_header(out: &mut Vec<u8>, kind: u8, len: usize) {
    out.push(kind);
    out.extend(len.to_string().bytes().map(|digit| digit - b'0'));
    out.push(LENGTH_END);
}

/// Decodes an XHR2 binary payload of at most `max_payload` bytes. An empty body holds no
/// packet, as in the reference. Any bad record rejects the whole body.
///
/// ```
/// use ferrio_eio::{Packet, PacketType, v3};
/// let body = [0, 4, 0xFF, b'4', 0xE2, 0x82, 0xAC, 1, 5, 0xFF, 4, 1, 2, 3, 4];
/// assert_eq!(
///     v3::decode_binary_payload(&body, 1_000_000).unwrap(),
///     [Packet::message("€"), Packet::binary(PacketType::Message, [1, 2, 3, 4])]
/// );
/// ```
pub fn decode_binary_payload(body: &[u8], max_payload: usize) -> Result<Vec<Packet>, PayloadError> {
    check_size(body.len(), max_payload)?;
    let mut packets = Vec::new();
    let mut rest = body;
    while let Some((&kind, after_kind)) = rest.split_first() {
        let at = body.len() - rest.len();
        let index = packets.len();
        if kind != STRING_RECORD && kind != BINARY_RECORD {
            return Err(PayloadError::BadRecordKind { at });
        }
        let digits_len = after_kind
            .iter()
            .position(|&b| b > 9)
            .unwrap_or(after_kind.len());
        let (digits, after_digits) = after_kind.split_at(digits_len);
        let data_start = match after_digits.split_first() {
            Some((&LENGTH_END, data_start)) if !digits.is_empty() => data_start,
            _ => return Err(PayloadError::BadLength { at }),
        };
        let len = digits
            .iter()
            .try_fold(0usize, |len, &digit| {
                len.checked_mul(10)?.checked_add(usize::from(digit))
            })
            .ok_or(PayloadError::LengthMismatch { at })?;
        if len > data_start.len() {
            return Err(PayloadError::LengthMismatch { at });
        }
        let (data, after) = data_start.split_at(len);
        let packet = if kind == STRING_RECORD {
            let text = std::str::from_utf8(data).map_err(|_| PayloadError::NotUtf8 { at })?;
            Packet::decode_text(Revision::V3, text)
        } else {
            Packet::decode_binary(Revision::V3, data)
        }
        .map_err(|source: PacketError| PayloadError::Packet { index, source })?;
        packets.push(packet);
        rest = after;
    }
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::PacketType;

    const LIMIT: usize = 1_000_000;

    /// engine.io-protocol v3, "Sample session", request n°1: 96 characters of open packet.
    const OPEN_BODY: &str = "96:0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":5000}";

    #[test]
    fn sample_session_open_body_is_96_characters() {
        let open = Packet::text(
            PacketType::Open,
            "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":5000}",
        );
        assert_eq!(encode_text_payload(std::slice::from_ref(&open)), OPEN_BODY);
        assert_eq!(decode_text_payload(OPEN_BODY, LIMIT).unwrap(), [open]);
    }

    #[test]
    fn sample_session_messages() {
        assert_eq!(encode_text_payload(&[Packet::message("hey")]), "4:4hey");
        let both = [Packet::message("hello"), Packet::message("world")];
        assert_eq!(encode_text_payload(&both), "6:4hello6:4world");
        assert_eq!(
            decode_text_payload("6:4hello6:4world", LIMIT).unwrap(),
            both
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        // "Example without binary": 2 (1 + 1) instead of 4 (1 + 3).
        let packets = [Packet::message("hello"), Packet::message("€")];
        assert_eq!(encode_text_payload(&packets), "6:4hello2:4€");
        assert_eq!(decode_text_payload("6:4hello2:4€", LIMIT).unwrap(), packets);
    }

    #[test]
    fn astral_characters_count_two_units() {
        let packets = [Packet::message("😀"), Packet::message("é€😀x")];
        assert_eq!(encode_text_payload(&packets), "3:4😀6:4é€😀x");
        assert_eq!(
            decode_text_payload("3:4😀6:4é€😀x", LIMIT).unwrap(),
            packets
        );
    }

    #[test]
    fn base64_example_when_binary_is_not_supported() {
        let packets = [
            Packet::message("€"),
            Packet::binary(PacketType::Message, [1, 2, 3, 4]),
        ];
        assert_eq!(encode_text_payload(&packets), "2:4€10:b4AQIDBA==");
        assert_eq!(
            decode_text_payload("2:4€10:b4AQIDBA==", LIMIT).unwrap(),
            packets
        );
    }

    #[test]
    fn binary_example_when_both_sides_support_binary() {
        let packets = [
            Packet::message("€"),
            Packet::binary(PacketType::Message, [1, 2, 3, 4]),
        ];
        let body = [
            0x00, 0x04, 0xFF, 0x34, 0xE2, 0x82, 0xAC, 0x01, 0x05, 0xFF, 0x04, 0x01, 0x02, 0x03,
            0x04,
        ];
        assert_eq!(encode_binary_payload(&packets), body);
        assert_eq!(decode_binary_payload(&body, LIMIT).unwrap(), packets);
    }

    #[test]
    fn binary_lengths_have_one_byte_per_digit() {
        let long = Packet::message("x".repeat(122));
        let body = encode_binary_payload(std::slice::from_ref(&long));
        assert_eq!(body[..5], [0, 1, 2, 3, 0xFF]);
        assert_eq!(body.len(), 5 + 123);
        assert_eq!(decode_binary_payload(&body, LIMIT).unwrap(), [long]);
        assert_eq!(
            decode_binary_payload(&[0, 0, 1, 0xFF, b'6'], LIMIT).unwrap(),
            [Packet::bare(PacketType::Noop)],
            "leading zero digits are harmless"
        );
    }

    #[test]
    fn encode_payload_picks_binary_only_when_supported_and_needed() {
        let text_only = [Packet::message("a"), Packet::bare(PacketType::Pong)];
        assert_eq!(
            encode_payload(&text_only, true),
            Body::Text("2:4a1:3".into())
        );
        let mixed = [Packet::binary(PacketType::Message, [0xFF])];
        assert_eq!(
            encode_payload(&mixed, true),
            Body::Binary(vec![1, 2, 0xFF, 4, 0xFF])
        );
        assert_eq!(encode_payload(&mixed, false), Body::Text("6:b4/w==".into()));
    }

    #[test]
    fn no_packets_encode_as_the_reference_does() {
        assert_eq!(encode_text_payload(&[]), "0:");
        assert_eq!(decode_text_payload("0:", LIMIT).unwrap(), []);
        assert_eq!(encode_binary_payload(&[]), Vec::<u8>::new());
        assert_eq!(decode_binary_payload(&[], LIMIT).unwrap(), []);
    }

    #[test]
    fn empty_records_are_skipped_but_an_empty_body_is_rejected() {
        assert_eq!(
            decode_text_payload("0:1:20:", LIMIT).unwrap(),
            [Packet::bare(PacketType::Ping)]
        );
        assert_eq!(decode_text_payload("", LIMIT), Err(PayloadError::Empty));
    }

    #[test]
    fn non_digit_lengths_are_rejected() {
        for (body, at) in [
            (":4hello", 0),
            ("x:4hi", 0),
            ("0x3:4hi", 0),
            (" 3:4hi", 0),
            ("3 :4hi", 0),
            ("+3:4hi", 0),
            ("-3:4hi", 0),
            ("3.0:4hi", 0),
            ("٣:4hi", 0),
            ("3", 0),
            ("34hi", 0),
            ("3:4hi3", 5),
            ("3:4hix", 5),
            ("3:4hi:", 5),
        ] {
            assert_eq!(
                decode_text_payload(body, LIMIT),
                Err(PayloadError::BadLength { at }),
                "{body:?}"
            );
        }
    }

    #[test]
    fn lengths_that_overrun_or_split_a_character_are_rejected() {
        for (body, at) in [
            ("9:4hi", 0),
            ("3:4hi4:4hi", 5),
            ("2:4😀", 0),
            ("3:4😀2:4😀", 7),
            ("3:4é😀", 0),
            ("1:😀", 0),
        ] {
            assert_eq!(
                decode_text_payload(body, LIMIT),
                Err(PayloadError::LengthMismatch { at }),
                "{body:?}"
            );
        }
    }

    #[test]
    fn lengths_in_bytes_or_code_points_are_rejected() {
        let text = "4é€😀";
        let bytes = format!("{}:{text}", text.len());
        let code_points = format!("{}:{text}", text.chars().count());
        assert!(decode_text_payload(&bytes, LIMIT).is_err());
        assert!(decode_text_payload(&code_points, LIMIT).is_err());
        let units = format!("{}:{text}", utf16_len(text));
        assert_eq!(
            decode_text_payload(&units, LIMIT).unwrap(),
            [Packet::message("é€😀")]
        );
    }

    #[test]
    fn huge_lengths_are_rejected_without_panicking() {
        for body in [
            format!("{}:4hi", u64::MAX),
            format!("{}:4hi", "9".repeat(100)),
            format!("1{}:4hi", "0".repeat(40)),
        ] {
            assert_eq!(
                decode_text_payload(&body, LIMIT),
                Err(PayloadError::LengthMismatch { at: 0 })
            );
        }
        let mut binary = vec![1];
        binary.extend(std::iter::repeat_n(9, 40));
        binary.extend([0xFF, 4, 1]);
        assert_eq!(
            decode_binary_payload(&binary, LIMIT),
            Err(PayloadError::LengthMismatch { at: 0 })
        );
    }

    #[test]
    fn invalid_packets_inside_a_text_payload_are_rejected() {
        assert_eq!(
            decode_text_payload("2:4a1:9", LIMIT),
            Err(PayloadError::Packet {
                index: 1,
                source: PacketError::UnknownType
            })
        );
        assert_eq!(
            decode_text_payload("3:b4!", LIMIT),
            Err(PayloadError::Packet {
                index: 0,
                source: PacketError::InvalidBase64
            })
        );
        assert_eq!(
            decode_text_payload("1:b", LIMIT),
            Err(PayloadError::Packet {
                index: 0,
                source: PacketError::UnknownType
            })
        );
    }

    #[test]
    fn malformed_binary_payloads_are_rejected() {
        for (body, expected) in [
            (&[2, 1, 0xFF, 4][..], PayloadError::BadRecordKind { at: 0 }),
            (&[0, 0xFF, b'4'], PayloadError::BadLength { at: 0 }),
            (&[0, 1], PayloadError::BadLength { at: 0 }),
            (&[0, 1, 0xFE, b'4'], PayloadError::BadLength { at: 0 }),
            (&[0, b'1', 0xFF, b'4'], PayloadError::BadLength { at: 0 }),
            (&[0, 2, 0xFF, b'4'], PayloadError::LengthMismatch { at: 0 }),
            (
                &[0, 1, 0xFF, b'6', 0, 2, 0xFF, b'4'],
                PayloadError::LengthMismatch { at: 4 },
            ),
            (
                &[0, 1, 0xFF, b'6', 7],
                PayloadError::BadRecordKind { at: 4 },
            ),
            (
                &[0, 3, 0xFF, b'4', 0xC3, 0x28],
                PayloadError::NotUtf8 { at: 0 },
            ),
            (
                &[0, 0, 0xFF],
                PayloadError::Packet {
                    index: 0,
                    source: PacketError::Empty,
                },
            ),
            (
                &[1, 0, 0xFF],
                PayloadError::Packet {
                    index: 0,
                    source: PacketError::Empty,
                },
            ),
            (
                &[1, 2, 0xFF, 9, 1],
                PayloadError::Packet {
                    index: 0,
                    source: PacketError::UnknownType,
                },
            ),
            (
                &[0, 1, 0xFF, b'6', 0, 1, 0xFF, b'x'],
                PayloadError::Packet {
                    index: 1,
                    source: PacketError::UnknownType,
                },
            ),
        ] {
            assert_eq!(
                decode_binary_payload(body, LIMIT),
                Err(expected),
                "{body:?}"
            );
        }
    }

    #[test]
    fn string_records_may_hold_base64_packets() {
        assert_eq!(
            decode_binary_payload(&[0, 4, 0xFF, b'b', b'4', b'/', b'w'], LIMIT).unwrap(),
            [Packet::binary(PacketType::Message, [0xFF])]
        );
    }

    #[test]
    fn the_limit_applies_to_both_encodings() {
        assert_eq!(
            decode_text_payload("6:4hello", 7),
            Err(PayloadError::TooLarge { len: 8, limit: 7 })
        );
        assert_eq!(decode_text_payload("6:4hello", 8).unwrap().len(), 1);
        let body = [0, 4, 0xFF, b'4', 0xE2, 0x82, 0xAC];
        assert_eq!(
            decode_binary_payload(&body, 6),
            Err(PayloadError::TooLarge { len: 7, limit: 6 })
        );
        assert_eq!(decode_binary_payload(&body, 7).unwrap().len(), 1);
    }
}
