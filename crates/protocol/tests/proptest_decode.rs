//! Property tests: the decoders never panic, and packets and payloads round-trip.

use ferrio_protocol::payload::utf16_len;
use ferrio_protocol::{
    ErrorAdvice, ErrorReason, MessageId, Packet, PacketBody, decode, frame, unframe,
};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// The characters that make up packets and payloads, so generated text often looks like one.
const MARK: char = '\u{FFFD}';

const ALPHABET: &[char] = &[
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', '+', '/', '{', '}', '"', '[', ']',
    '\u{FFFD}', 'é', '😀',
];

fn protocol_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..64)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Text that starts like a packet (`digit:` …), so decoding gets past the type.
fn packet_like_text() -> impl Strategy<Value = String> {
    (0u8..=9, protocol_text()).prop_map(|(digit, rest)| format!("{digit}:{rest}"))
}

/// Text that starts like a framed payload, so unframing gets past the first mark.
fn payload_like_text() -> impl Strategy<Value = String> {
    protocol_text().prop_map(|rest| format!("\u{FFFD}{rest}"))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Any float: its shortest text reads back exactly (serde_json's `float_roundtrip`).
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn json_args() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(json_value(), 0..4)
}

fn packet_body() -> impl Strategy<Value = PacketBody> {
    prop_oneof![
        Just(PacketBody::Disconnect),
        // An empty query is written as no query at all, so only non-empty ones round-trip.
        prop::option::of("(?s).+").prop_map(|query| PacketBody::Connect { query }),
        Just(PacketBody::Heartbeat),
        any::<String>().prop_map(PacketBody::Message),
        json_value().prop_map(PacketBody::Json),
        (any::<String>(), json_args()).prop_map(|(name, args)| PacketBody::Event { name, args }),
        (any::<u64>(), prop::option::of(json_args()))
            .prop_map(|(acked, args)| PacketBody::Ack { acked, args }),
        (
            prop::option::of(prop::sample::select(vec![
                ErrorReason::TransportNotSupported,
                ErrorReason::ClientNotHandshaken,
                ErrorReason::Unauthorized,
            ])),
            prop::option::of(Just(ErrorAdvice::Reconnect)),
        )
            .prop_map(|(reason, advice)| PacketBody::Error { reason, advice }),
        Just(PacketBody::Noop),
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    (
        "[^:]*",
        prop::option::of((any::<u64>(), any::<bool>())),
        packet_body(),
    )
        .prop_map(|(endpoint, id, body)| Packet {
            endpoint,
            id: id.map(|(value, data)| MessageId { value, data }),
            body,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_never_panics_on_arbitrary_strings(text in any::<String>()) {
        let _ = decode(&text);
    }

    #[test]
    fn decode_never_panics_on_protocol_alphabet_strings(text in protocol_text()) {
        let _ = decode(&text);
    }

    #[test]
    fn decode_never_panics_on_packet_like_strings(text in packet_like_text()) {
        let _ = decode(&text);
    }

    #[test]
    fn decode_never_panics_on_lossy_decoded_bytes(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        let _ = decode(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn unframe_never_panics_on_arbitrary_strings(text in any::<String>()) {
        let _ = unframe(&text);
    }

    #[test]
    fn unframe_never_panics_on_protocol_alphabet_strings(text in protocol_text()) {
        let _ = unframe(&text);
    }

    #[test]
    fn unframe_never_panics_on_payload_like_strings(text in payload_like_text()) {
        let _ = unframe(&text);
    }

    #[test]
    fn unframe_never_panics_on_lossy_decoded_bytes(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        let body = String::from_utf8_lossy(&bytes);
        let _ = unframe(&body);
        let _ = unframe(&format!("\u{FFFD}{body}"));
    }

    #[test]
    fn decoded_packets_decode_the_same_after_re_encoding(text in packet_like_text()) {
        if let Ok(packet) = decode(&text) {
            prop_assert_eq!(decode(&packet.encode()), Ok(packet));
        }
    }

    #[test]
    fn any_packet_round_trips_through_encode_and_decode(packet in packet()) {
        let wire = packet.encode();
        prop_assert_eq!(decode(&wire), Ok(packet));
    }

    #[test]
    fn utf16_len_matches_encode_utf16(text in any::<String>()) {
        prop_assert_eq!(utf16_len(&text), text.encode_utf16().count());
    }

    #[test]
    fn several_arbitrary_strings_round_trip_through_framing(
        packets in prop::collection::vec(any::<String>(), 2..8)
    ) {
        let body = frame(&packets);
        prop_assert!(body.starts_with(MARK));
        prop_assert_eq!(unframe(&body), Ok(packets.iter().map(String::as_str).collect()));
    }

    #[test]
    fn several_protocol_alphabet_strings_round_trip_through_framing(
        packets in prop::collection::vec(protocol_text(), 2..8)
    ) {
        let body = frame(&packets);
        prop_assert_eq!(unframe(&body), Ok(packets.iter().map(String::as_str).collect()));
    }

    #[test]
    fn a_single_packet_is_framed_bare_and_unframed_whole(packet in "(?s)[^\u{FFFD}].*") {
        let body = frame(&[packet.as_str()]);
        prop_assert_eq!(&body, &packet);
        prop_assert_eq!(unframe(&body), Ok(vec![packet.as_str()]));
    }

    #[test]
    fn framed_packets_decode_back_to_the_originals(
        packets in prop::collection::vec(packet(), 2..6)
    ) {
        let encoded: Vec<String> = packets.iter().map(Packet::encode).collect();
        let body = frame(&encoded);
        let texts = unframe(&body).expect("a framed body unframes");
        let decoded: Vec<Packet> = texts
            .into_iter()
            .map(|text| decode(text).expect("an encoded packet decodes"))
            .collect();
        prop_assert_eq!(decoded, packets);
    }

    #[test]
    fn re_framing_an_accepted_payload_gives_the_same_packets(text in payload_like_text()) {
        if let Ok(packets) = unframe(&text)
            && packets.len() >= 2
        {
            let reframed = frame(&packets);
            prop_assert_eq!(unframe(&reframed), Ok(packets));
        }
    }
}

#[test]
fn floats_survive_serde_json_text() {
    // The edges of f64, and the value fuzzing found that serde_json's default parser misread.
    for float in [
        9.070460802204233e23,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        0.1 + 0.2,
        -0.0,
    ] {
        let value = Value::Number(Number::from_f64(float).expect("finite"));
        let back: Value = serde_json::from_str(&value.to_string()).expect("valid JSON");
        assert_eq!(back, value);
    }
}
