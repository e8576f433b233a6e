//! Property tests: the decoders never panic, and packets, payloads and JSONP bodies round-trip.

use ferrio_eio::{
    Body, EncodeError, Frame, JsonpIndex, Packet, PacketData, PacketType, Revision, jsonp,
    parse_query, v3, v4,
};
use ferrio_protocol::payload::utf16_len;
use proptest::prelude::*;

const LIMIT: usize = usize::MAX;

/// The characters that make up packets and payloads, so generated text often looks like one.
const ALPHABET: &[char] = &[
    '0', '1', '2', '3', '4', '5', '6', '7', '9', ':', 'b', 'A', 'Q', '=', '/', '+', '\u{1e}', '\\',
    'n', '\n', '%', '&', 'd', 'é', '€', '😀',
];

fn protocol_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..64)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Bytes that often look like a v3 binary payload: kinds 0 and 1, digits, 0xFF, ASCII types.
fn binary_payload_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => 0u8..=9,
        2 => Just(0xFF),
        2 => b'0'..=b'6',
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..64)
}

fn revision() -> impl Strategy<Value = Revision> {
    prop_oneof![Just(Revision::V3), Just(Revision::V4)]
}

fn packet_type() -> impl Strategy<Value = PacketType> {
    prop::sample::select(PacketType::ALL.to_vec())
}

/// Text with many characters outside the Basic Multilingual Plane, whose UTF-16 length
/// differs from both their byte and their character counts.
fn astral_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z:0-9😀𝄞🀄é€\u{10FFFF}\u{10000}]{0,24}",]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..48)
}

/// Any packet revision 3 can carry: text or binary, of any type.
fn v3_packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        (packet_type(), astral_text()).prop_map(|(t, text)| Packet::text(t, text)),
        (packet_type(), bytes()).prop_map(|(t, data)| Packet::binary(t, data)),
    ]
}

/// Any packet revision 4 can carry in a payload: text without `\x1e`, or binary messages.
fn v4_packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        (packet_type(), "[^\u{1e}]{0,24}").prop_map(|(t, text)| Packet::text(t, text)),
        (
            packet_type(),
            astral_text().prop_map(|text| text.replace('\u{1e}', ""))
        )
            .prop_map(|(t, text)| Packet::text(t, text)),
        bytes().prop_map(|data| Packet::binary(PacketType::Message, data)),
    ]
}

fn packet_for(revision: Revision) -> BoxedStrategy<Packet> {
    match revision {
        Revision::V3 => v3_packet().boxed(),
        Revision::V4 => v4_packet().boxed(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn packet_decoders_never_panic(revision in revision(), text in any::<String>(), data in bytes()) {
        let _ = Packet::decode_text(revision, &text);
        let _ = Packet::decode_binary(revision, &data);
    }

    #[test]
    fn packet_decoders_never_panic_on_protocol_text(revision in revision(), text in protocol_text()) {
        let _ = Packet::decode_text(revision, &text);
    }

    #[test]
    fn payload_decoders_never_panic_on_arbitrary_strings(text in any::<String>()) {
        let _ = v4::decode_payload(&text, LIMIT);
        let _ = v3::decode_text_payload(&text, LIMIT);
        let _ = v3::decode_binary_payload(text.as_bytes(), LIMIT);
    }

    #[test]
    fn payload_decoders_never_panic_on_protocol_text(text in protocol_text()) {
        let _ = v4::decode_payload(&text, LIMIT);
        let _ = v3::decode_text_payload(&text, LIMIT);
        let _ = v3::decode_text_payload(&format!("1:{text}"), LIMIT);
    }

    #[test]
    fn payload_decoders_never_panic_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..128)) {
        let _ = v3::decode_binary_payload(&data, LIMIT);
        let text = String::from_utf8_lossy(&data);
        let _ = v4::decode_payload(&text, LIMIT);
        let _ = v3::decode_text_payload(&text, LIMIT);
    }

    #[test]
    fn binary_payload_decoder_never_panics_on_payload_like_bytes(data in binary_payload_like_bytes()) {
        let _ = v3::decode_binary_payload(&data, LIMIT);
    }

    #[test]
    fn jsonp_and_query_parsers_never_panic(text in any::<String>(), alphabet in protocol_text()) {
        let _ = jsonp::unwrap_post(text.as_bytes(), LIMIT);
        let _ = jsonp::unwrap_post(format!("d={alphabet}").as_bytes(), LIMIT);
        let _ = JsonpIndex::parse(&text);
        let _ = parse_query(&text);
        let _ = parse_query(&format!("EIO=3&transport=polling&j={alphabet}"));
    }

    #[test]
    fn decoders_respect_the_limit(text in protocol_text(), limit in 0usize..16) {
        let too_large = text.len() > limit;
        for result in [
            v4::decode_payload(&text, limit).map(drop),
            v3::decode_text_payload(&text, limit).map(drop),
            v3::decode_binary_payload(text.as_bytes(), limit).map(drop),
        ] {
            prop_assert_eq!(result.is_err_and(|e| e.is_too_large()), too_large);
        }
        prop_assert_eq!(
            jsonp::unwrap_post(text.as_bytes(), limit).is_err_and(|e| e.is_too_large()),
            too_large
        );
    }

    #[test]
    fn packets_round_trip_through_text(packet in v3_packet()) {
        let text = packet.encode_text(Revision::V3).expect("v3 encodes every packet");
        prop_assert_eq!(Packet::decode_text(Revision::V3, &text), Ok(packet));
    }

    #[test]
    fn v4_packets_round_trip_through_text(packet in v4_packet()) {
        let text = packet.encode_text(Revision::V4).expect("a v4 packet encodes");
        prop_assert_eq!(Packet::decode_text(Revision::V4, &text), Ok(packet));
    }

    #[test]
    fn packets_round_trip_through_websocket_frames(
        (revision, packet) in revision().prop_flat_map(|r| (Just(r), packet_for(r)))
    ) {
        let decoded = match packet.encode_frame(revision).expect("the packet fits the revision") {
            Frame::Text(text) => Packet::decode_text(revision, &text),
            Frame::Binary(data) => Packet::decode_binary(revision, &data),
        };
        prop_assert_eq!(decoded, Ok(packet));
    }

    #[test]
    fn v4_refuses_binary_of_other_types(packet_type in packet_type(), data in bytes()) {
        let packet = Packet::binary(packet_type, data);
        let expected_ok = packet_type == PacketType::Message;
        prop_assert_eq!(packet.encode_text(Revision::V4).is_ok(), expected_ok);
        prop_assert_eq!(packet.encode_frame(Revision::V4).is_ok(), expected_ok);
    }

    #[test]
    fn v4_payloads_round_trip(packets in prop::collection::vec(v4_packet(), 1..8)) {
        let body = v4::encode_payload(&packets).expect("no separator in the texts");
        prop_assert_eq!(v4::decode_payload(&body, body.len()), Ok(packets));
    }

    #[test]
    fn v4_payloads_refuse_a_separator_in_a_text(
        before in prop::collection::vec(v4_packet(), 0..4),
        head in "[^\u{1e}]{0,8}",
        tail in any::<String>(),
    ) {
        let mut packets = before.clone();
        packets.push(Packet::message(format!("{head}\u{1e}{tail}")));
        prop_assert_eq!(
            v4::encode_payload(&packets),
            Err(EncodeError::RecordSeparatorInText { index: before.len() })
        );
    }

    #[test]
    fn v3_text_payloads_round_trip(packets in prop::collection::vec(v3_packet(), 1..8)) {
        let body = v3::encode_text_payload(&packets);
        prop_assert_eq!(v3::decode_text_payload(&body, body.len()), Ok(packets));
    }

    #[test]
    fn v3_text_payload_lengths_are_utf16_units(texts in prop::collection::vec(astral_text(), 1..6)) {
        let packets: Vec<Packet> = texts.iter().cloned().map(Packet::message).collect();
        let expected: String = texts
            .iter()
            .map(|text| format!("{}:4{text}", utf16_len(text) + 1))
            .collect();
        prop_assert_eq!(v3::encode_text_payload(&packets), expected);
    }

    #[test]
    fn v3_binary_payloads_round_trip(packets in prop::collection::vec(v3_packet(), 0..8)) {
        let body = v3::encode_binary_payload(&packets);
        prop_assert_eq!(v3::decode_binary_payload(&body, body.len()), Ok(packets));
    }

    #[test]
    fn v3_payload_choice_round_trips(
        packets in prop::collection::vec(v3_packet(), 1..6),
        supports_binary in any::<bool>(),
    ) {
        let has_binary = packets.iter().any(|p| matches!(p.data, PacketData::Binary(_)));
        let decoded = match v3::encode_payload(&packets, supports_binary) {
            Body::Text(text) => {
                prop_assert!(!(supports_binary && has_binary));
                v3::decode_text_payload(&text, LIMIT)
            }
            Body::Binary(data) => {
                prop_assert!(supports_binary && has_binary);
                v3::decode_binary_payload(&data, LIMIT)
            }
        };
        prop_assert_eq!(decoded, Ok(packets));
    }

    #[test]
    fn accepted_v3_text_payloads_re_encode_to_the_same_packets(text in protocol_text()) {
        if let Ok(packets) = v3::decode_text_payload(&text, LIMIT) {
            let body = v3::encode_text_payload(&packets);
            prop_assert_eq!(v3::decode_text_payload(&body, LIMIT), Ok(packets));
        }
    }

    #[test]
    fn accepted_v4_payloads_re_encode_to_the_same_packets(text in protocol_text()) {
        if let Ok(packets) = v4::decode_payload(&text, LIMIT) {
            let body = v4::encode_payload(&packets).expect("decoded texts hold no separator");
            prop_assert_eq!(v4::decode_payload(&body, LIMIT), Ok(packets));
        }
    }

    #[test]
    fn jsonp_answers_carry_the_payload_as_a_string_literal(index in any::<u32>(), payload in any::<String>()) {
        let script = jsonp::wrap_response(JsonpIndex::from(index), &payload);
        let prefix = format!("___eio[{index}](");
        let literal = script
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(");"))
            .expect("the script has the callback's shape");
        let back: String = serde_json::from_str(literal).expect("the literal is a JSON string");
        prop_assert_eq!(back, payload);
        let raw_line_ends = ['\u{2028}', '\u{2029}', '\n', '\r'];
        prop_assert!(!script.contains(raw_line_ends), "{script:?}");
    }

    #[test]
    fn jsonp_posts_round_trip_unless_a_backslash_precedes_a_newline(payload in protocol_text()) {
        prop_assume!(!payload.contains("\\\n"));
        let body = jsonp::encode_post(&payload);
        prop_assert_eq!(jsonp::unwrap_post(body.as_bytes(), LIMIT), Ok(payload));
    }

    #[test]
    fn jsonp_indexes_round_trip(index in any::<u32>()) {
        prop_assert_eq!(JsonpIndex::parse(&index.to_string()), Some(JsonpIndex::from(index)));
    }
}
