//! Property tests: decoding never panics, whatever arrives in whatever order, and every packet
//! of every type, in both revisions, round-trips through encoding, decoding and reassembly.

use bytes::Bytes;
use ferrio_sio::{
    Arguments, ConnectErrorData, DecodeOptions, Decoded, EventName, Namespace, Packet, Reassembler,
    Revision, Value, decode, encode, is_reserved_event,
};
use proptest::prelude::*;
use serde_json::{Map, Number, Value as JsonValue};

/// The characters packets are made of, so generated text often looks like one.
const ALPHABET: &[char] = &[
    '0', '1', '2', '3', '4', '5', '6', '7', '9', '-', '/', ',', '?', '=', '[', ']', '{', '}', '"',
    ':', '.', 'e', 'a', '_', ' ', '\\', 'é', '😀',
];

/// Fragments that make generated text reach the deeper rules (placeholders, names, nesting).
const FRAGMENTS: &[&str] = &[
    r#"{"_placeholder":true,"num":0}"#,
    r#"{"_placeholder":true,"num":1}"#,
    r#"{"_placeholder":true,"num":-1}"#,
    r#"{"_placeholder":true,"num":"x"}"#,
    r#""connect""#,
    r#""chat""#,
    "null",
    "true",
    "1.5",
    "[]",
    "{}",
];

fn revision() -> impl Strategy<Value = Revision> {
    prop_oneof![Just(Revision::V4), Just(Revision::V5)]
}

fn options(revision: Revision) -> DecodeOptions {
    DecodeOptions::new(revision).with_max_attachments(64)
}

fn protocol_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => prop::sample::select(ALPHABET).prop_map(String::from),
        1 => prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// A payload that is often valid JSON of a packet's shape, from the fragments above.
fn payload_text() -> impl Strategy<Value = String> {
    let fragments = prop::collection::vec(prop::sample::select(FRAGMENTS), 0..5);
    prop_oneof![
        3 => fragments.clone().prop_map(|items| format!("[{}]", items.join(","))),
        1 => fragments.prop_map(|items| format!(r#"{{"a":[{}]}}"#, items.join(","))),
        1 => Just(r#""Not authorized""#.to_owned()),
        1 => protocol_text(),
        1 => Just(String::new()),
    ]
}

/// Text that starts like a packet: a type, for binary types a count, maybe a namespace and an
/// ack id, then a payload.
fn packet_like_text() -> impl Strategy<Value = String> {
    (
        0u8..=6,
        0u8..4,
        prop::option::of("/[a-z?=]{0,4}"),
        prop::option::of(0u32..1000),
        payload_text(),
    )
        .prop_map(|(packet_type, count, namespace, ack_id, payload)| {
            let mut text = packet_type.to_string();
            if packet_type >= 5 {
                text.push_str(&format!("{count}-"));
            }
            if let Some(namespace) = namespace {
                text.push_str(&namespace);
                text.push(',');
            }
            if let Some(ack_id) = ack_id {
                text.push_str(&ack_id.to_string());
            }
            text + &payload
        })
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        // Any finite float: its shortest text reads back exactly (serde_json's
        // `float_roundtrip`).
        any::<f64>().prop_filter_map("finite", Number::from_f64),
    ]
}

/// Object keys: anything but the placeholder marker, which is not data next to binaries.
fn key() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("not the placeholder key", |key| key != "_placeholder")
}

fn json_value() -> impl Strategy<Value = JsonValue> {
    let leaf = prop_oneof![
        Just(JsonValue::Null),
        any::<bool>().prop_map(JsonValue::Bool),
        number().prop_map(JsonValue::Number),
        any::<String>().prop_map(JsonValue::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(JsonValue::Array),
            json_object(inner).prop_map(JsonValue::Object),
        ]
    })
}

fn json_object(
    item: impl Strategy<Value = JsonValue>,
) -> impl Strategy<Value = Map<String, JsonValue>> {
    prop::collection::btree_map(key(), item, 0..4).prop_map(|entries| entries.into_iter().collect())
}

/// Arguments with binary leaves anywhere; objects with distinct keys, as parsed JSON has.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        any::<String>().prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

fn values() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(value(), 0..4)
}

/// Namespaces: `/` or a name; revision 4 names hold no `?`, which starts a CONNECT's query.
fn namespace(revision: Revision) -> impl Strategy<Value = Namespace> {
    let name = match revision {
        Revision::V4 => "/[^,?]{0,8}",
        Revision::V5 => "/[^,]{0,8}",
    };
    prop_oneof![Just("/".to_owned()), name.prop_map(String::from)]
        .prop_map(|name| Namespace::new(name).expect("generated namespaces are valid"))
}

fn event_name(revision: Revision) -> impl Strategy<Value = EventName> {
    prop_oneof![
        any::<String>()
            .prop_filter("revision 5 refuses reserved names", move |name| {
                revision == Revision::V4 || !is_reserved_event(name)
            })
            .prop_map(EventName::Text),
        number().prop_map(EventName::Number),
    ]
}

fn packet(revision: Revision) -> impl Strategy<Value = Packet> {
    let connect_query = match revision {
        Revision::V4 => prop::option::of("[^,]{0,12}").boxed(),
        Revision::V5 => Just(None).boxed(),
    };
    prop_oneof![
        (
            namespace(revision),
            connect_query,
            prop::option::of(json_object(json_value()))
        )
            .prop_map(|(namespace, query, data)| Packet::Connect {
                namespace,
                query,
                data
            }),
        namespace(revision).prop_map(Packet::disconnect),
        (
            namespace(revision),
            prop::option::of(any::<u64>()),
            event_name(revision),
            values()
        )
            .prop_map(|(namespace, ack_id, name, args)| Packet::Event {
                namespace,
                ack_id,
                name,
                args: Arguments::from_values(&args),
            }),
        (namespace(revision), any::<u64>(), values()).prop_map(|(namespace, ack_id, args)| {
            Packet::ack(namespace, ack_id, Arguments::from_values(&args))
        }),
        (
            namespace(revision),
            prop_oneof![
                any::<String>().prop_map(ConnectErrorData::Text),
                json_object(json_value()).prop_map(ConnectErrorData::Object),
            ]
        )
            .prop_map(|(namespace, data)| Packet::ConnectError { namespace, data }),
    ]
}

fn revision_and_packet() -> impl Strategy<Value = (Revision, Packet)> {
    revision().prop_flat_map(|revision| (Just(revision), packet(revision)))
}

/// One message of a connection: a text or a binary frame.
#[derive(Debug, Clone)]
enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

fn frames() -> impl Strategy<Value = Vec<Frame>> {
    let frame = prop_oneof![
        packet_like_text().prop_map(Frame::Text),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Frame::Binary),
    ];
    prop::collection::vec(frame, 0..12)
}

/// Feeds an encoded packet through a reassembler: nothing comes out before its last message.
fn reassemble(revision: Revision, text: &str, attachments: &[Bytes]) -> Option<Packet> {
    let mut reassembler = Reassembler::new(options(revision));
    let mut decoded = reassembler
        .push_text(text)
        .expect("an encoded packet decodes");
    for attachment in attachments {
        assert_eq!(decoded, None, "complete before its attachments");
        decoded = reassembler
            .push_binary(attachment.clone())
            .expect("its attachments are accepted");
    }
    assert_eq!(reassembler.missing_attachments(), 0);
    decoded
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_never_panics_on_arbitrary_strings(text in any::<String>(), revision in revision()) {
        let _ = decode(&text, &options(revision));
    }

    #[test]
    fn decode_never_panics_on_protocol_alphabet_strings(
        text in protocol_text(),
        revision in revision(),
    ) {
        let _ = decode(&text, &options(revision));
    }

    #[test]
    fn decode_never_panics_on_packet_like_strings(
        text in packet_like_text(),
        revision in revision(),
    ) {
        let _ = decode(&text, &options(revision));
    }

    #[test]
    fn decode_never_panics_on_lossy_decoded_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..128),
        revision in revision(),
    ) {
        let _ = decode(&String::from_utf8_lossy(&bytes), &options(revision));
    }

    #[test]
    fn the_reassembler_never_panics_on_any_sequence_of_messages(
        frames in frames(),
        revision in revision(),
        max_attachments in 0usize..4,
    ) {
        let mut reassembler =
            Reassembler::new(DecodeOptions::new(revision).with_max_attachments(max_attachments));
        for frame in frames {
            let result = match frame {
                Frame::Text(text) => reassembler.push_text(&text),
                Frame::Binary(bytes) => reassembler.push_binary(Bytes::from(bytes)),
            };
            if let Ok(Some(Packet::Event { args, .. } | Packet::Ack { args, .. })) = result {
                let _ = args.to_values();
            }
            prop_assert!(reassembler.missing_attachments() <= max_attachments);
        }
    }

    #[test]
    fn any_packet_round_trips_through_encode_and_reassembly(
        (revision, packet) in revision_and_packet(),
    ) {
        let (text, attachments) = encode(&packet);
        prop_assert_eq!(&attachments, &packet.attachments().to_vec());
        prop_assert_eq!(reassemble(revision, &text, &attachments), Some(packet));
    }

    #[test]
    fn arguments_round_trip_as_values(
        (revision, namespace) in revision().prop_flat_map(|r| (Just(r), namespace(r))),
        args in values(),
        ack_id in any::<u64>(),
    ) {
        let sent = Packet::ack(namespace, ack_id, Arguments::from_values(&args));
        let (text, attachments) = encode(&sent);
        let Some(Packet::Ack { args: received, .. }) = reassemble(revision, &text, &attachments)
        else {
            return Err(TestCaseError::fail("not an ack"));
        };
        prop_assert_eq!(received.to_values(), Ok(args));
    }

    #[test]
    fn decoded_packets_decode_the_same_after_re_encoding(
        text in packet_like_text(),
        revision in revision(),
        attachment in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let packet = match decode(&text, &options(revision)) {
            Ok(Decoded::Packet(packet)) => packet,
            Ok(Decoded::AwaitingAttachments(pending)) => {
                let mut reassembler = Reassembler::new(options(revision));
                prop_assert_eq!(reassembler.push_text(&text), Ok(None));
                let mut decoded = None;
                for _ in 0..pending.expected() {
                    decoded = reassembler
                        .push_binary(Bytes::from(attachment.clone()))
                        .expect("frames are expected");
                }
                decoded.expect("the last attachment completes the packet")
            }
            Err(_) => return Ok(()),
        };
        let (text, attachments) = encode(&packet);
        prop_assert_eq!(reassemble(revision, &text, &attachments), Some(packet));
    }
}
