//! Text to packets, and binary packets reassembled from their attachments.
//!
//! Parsing follows `socket.io-parser`'s `decodeString`, validation its `isPayloadValid`, with
//! these deliberate differences, all stricter and all on input no real client sends:
//! - the type is one of `0`–`6` (the reference reads an empty text or a space as CONNECT);
//! - an attachment count is ASCII digits (the reference takes anything `Number()` reads, `""`
//!   included);
//! - an ack id fits in 64 bits, and only EVENT and ACK carry one; an ACK needs one;
//! - EVENT, ACK and CONNECT_ERROR need a payload (the reference validates only payloads that
//!   are present; the protocol document says the payload is mandatory);
//! - a BINARY_EVENT's placeholders are checked when its header arrives, not after its last
//!   attachment, so a packet that cannot be rebuilt is refused before its buffers are held;
//! - JSON is read by serde_json: strings with lone surrogate escapes and numbers beyond `f64`
//!   are refused where `JSON.parse` accepts them.
//!
//! The size of the text and of each binary frame is the Engine.IO layer's limit
//! (`maxPayload`): this crate bounds only the number of attachments.

use bytes::Bytes;
use serde_json::Value as JsonValue;

use crate::error::DecodeError;
use crate::packet::{AckId, ConnectErrorData, EventName, Namespace, Packet, PacketType, Revision};
use crate::reserved::is_reserved_event;
use crate::value::{self, Arguments, JSON_WHITESPACE};

/// The reference's default `maxAttachments`.
pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

/// How to decode: the connection's revision and the most attachments one packet may announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The revision the connection speaks.
    pub revision: Revision,
    /// The most binary attachments one packet may announce (the reference's `maxAttachments`).
    pub max_attachments: usize,
}

impl DecodeOptions {
    /// Options for `revision`, with the reference's default of
    /// [`DEFAULT_MAX_ATTACHMENTS`] attachments per packet.
    pub fn new(revision: Revision) -> Self {
        DecodeOptions {
            revision,
            max_attachments: DEFAULT_MAX_ATTACHMENTS,
        }
    }

    /// The same options with another attachment limit.
    pub fn with_max_attachments(self, max_attachments: usize) -> Self {
        DecodeOptions {
            max_attachments,
            ..self
        }
    }
}

/// What one text message decodes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A whole packet.
    Packet(Packet),
    /// The header of a BINARY_EVENT or BINARY_ACK whose attachments follow as binary frames:
    /// feed them to a [`Reassembler`] (or use one from the start).
    AwaitingAttachments(PendingPacket),
}

/// A binary packet's header, waiting for its attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPacket {
    namespace: Namespace,
    ack_id: Option<AckId>,
    /// `Some` for a BINARY_EVENT, `None` for a BINARY_ACK.
    name: Option<EventName>,
    args_json: String,
    expected: usize,
    attachments: Vec<Bytes>,
}

impl PendingPacket {
    /// How many attachments the header announced.
    pub fn expected(&self) -> usize {
        self.expected
    }

    /// How many attachments are still missing.
    pub fn missing(&self) -> usize {
        self.expected.saturating_sub(self.attachments.len())
    }

    /// The packet, once every attachment has arrived.
    fn finish(self) -> Packet {
        let args = Arguments::from_trusted_parts(self.args_json, self.attachments);
        match (self.name, self.ack_id) {
            (Some(name), ack_id) => Packet::Event {
                namespace: self.namespace,
                ack_id,
                name,
                args,
            },
            (None, ack_id) => Packet::Ack {
                namespace: self.namespace,
                ack_id: ack_id.unwrap_or_default(),
                args,
            },
        }
    }
}

/// Decodes one text message (an Engine.IO message's data, without its `4`).
///
/// ```
/// use ferrio_sio::{Decoded, DecodeOptions, Packet, Revision, decode};
///
/// let options = DecodeOptions::new(Revision::V5);
/// let Ok(Decoded::Packet(Packet::Event { namespace, ack_id, name, args })) =
///     decode(r#"2/admin,12["foo",1]"#, &options)
/// else {
///     panic!("not an event");
/// };
/// assert_eq!((namespace.as_str(), ack_id, name.as_text()), ("/admin", Some(12), Some("foo")));
/// assert_eq!(args.json(), "[1]");
/// assert!(decode(r#"2["connect"]"#, &options).is_err());
/// ```
pub fn decode(text: &str, options: &DecodeOptions) -> Result<Decoded, DecodeError> {
    let Some(&first) = text.as_bytes().first() else {
        return Err(DecodeError::Empty);
    };
    let Some(packet_type) = PacketType::from_digit(first) else {
        let character = text.chars().next().unwrap_or_default();
        return Err(DecodeError::UnknownType(character));
    };
    // The type is one ASCII byte, so index 1 is a char boundary; so is every index found by
    // searching for an ASCII character below.
    let mut rest = text.get(1..).unwrap_or_default();

    let attachment_count = if packet_type.is_binary() {
        let (count, after) = rest
            .split_once('-')
            .ok_or(DecodeError::IllegalAttachments)?;
        let count = parse_attachment_count(count, options.max_attachments)?;
        rest = after;
        count
    } else {
        0
    };

    let namespace = if rest.starts_with('/') {
        let (name, after) = rest.split_once(',').unwrap_or((rest, ""));
        rest = after;
        name
    } else {
        "/"
    };

    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let ack_id = if digits > 0 {
        let (id, after) = rest.split_at_checked(digits).unwrap_or((rest, ""));
        rest = after;
        Some(
            id.parse::<AckId>()
                .map_err(|_| DecodeError::AckIdOverflow)?,
        )
    } else {
        None
    };

    let payload = (!rest.is_empty()).then_some(rest);

    match packet_type {
        PacketType::Connect => {
            refuse_ack_id(packet_type, ack_id)?;
            let (namespace, query) = match options.revision {
                Revision::V4 => match namespace.split_once('?') {
                    Some((name, query)) => (name, Some(query.to_owned())),
                    None => (namespace, None),
                },
                Revision::V5 => (namespace, None),
            };
            let data = payload
                .map(|payload| match parse_json(payload)? {
                    JsonValue::Object(map) => Ok(map),
                    _ => Err(invalid(packet_type, "an object")),
                })
                .transpose()?;
            Ok(Decoded::Packet(Packet::Connect {
                namespace: Namespace::from_wire(namespace),
                query,
                data,
            }))
        }
        PacketType::Disconnect => {
            refuse_ack_id(packet_type, ack_id)?;
            if payload.is_some() {
                return Err(invalid(packet_type, "nothing"));
            }
            Ok(Decoded::Packet(Packet::Disconnect {
                namespace: Namespace::from_wire(namespace),
            }))
        }
        PacketType::ConnectError => {
            refuse_ack_id(packet_type, ack_id)?;
            let payload = payload.ok_or(DecodeError::MissingPayload(packet_type))?;
            let data = match parse_json(payload)? {
                JsonValue::String(text) => ConnectErrorData::Text(text),
                JsonValue::Object(map) => ConnectErrorData::Object(map),
                _ => return Err(invalid(packet_type, "a string or an object")),
            };
            Ok(Decoded::Packet(Packet::ConnectError {
                namespace: Namespace::from_wire(namespace),
                data,
            }))
        }
        PacketType::Event | PacketType::BinaryEvent => {
            let payload = payload.ok_or(DecodeError::MissingPayload(packet_type))?;
            let (name, args_json) = split_event(packet_type, payload, options.revision)?;
            finish_arguments(
                attachment_count,
                Namespace::from_wire(namespace),
                ack_id,
                Some(name),
                args_json,
                payload,
            )
        }
        PacketType::Ack | PacketType::BinaryAck => {
            let ack_id = ack_id.ok_or(DecodeError::MissingAckId(packet_type))?;
            let payload = payload.ok_or(DecodeError::MissingPayload(packet_type))?;
            let trimmed = payload.trim_matches(JSON_WHITESPACE);
            value::parse_array(trimmed).map_err(|error| match error {
                DecodeError::NotAnArray => invalid(packet_type, "an array"),
                other => other,
            })?;
            finish_arguments(
                attachment_count,
                Namespace::from_wire(namespace),
                Some(ack_id),
                None,
                trimmed.to_owned(),
                payload,
            )
        }
    }
}

/// The decoded event or ack, or its header when attachments follow (placeholders checked).
fn finish_arguments(
    attachment_count: usize,
    namespace: Namespace,
    ack_id: Option<AckId>,
    name: Option<EventName>,
    args_json: String,
    payload: &str,
) -> Result<Decoded, DecodeError> {
    if attachment_count > 0 {
        value::check_placeholders(&parse_json(payload)?, attachment_count)?;
        return Ok(Decoded::AwaitingAttachments(PendingPacket {
            namespace,
            ack_id,
            name,
            args_json,
            expected: attachment_count,
            attachments: Vec::with_capacity(attachment_count),
        }));
    }
    let args = Arguments::from_trusted_json(args_json);
    Ok(Decoded::Packet(match name {
        Some(name) => Packet::Event {
            namespace,
            ack_id,
            name,
            args,
        },
        None => Packet::Ack {
            namespace,
            ack_id: ack_id.unwrap_or_default(),
            args,
        },
    }))
}

/// An event's payload split into its name and the JSON array of the arguments after it, kept
/// as the client's text (whitespace between elements dropped).
fn split_event(
    packet_type: PacketType,
    payload: &str,
    revision: Revision,
) -> Result<(EventName, String), DecodeError> {
    let elements = value::parse_array(payload).map_err(|error| match error {
        DecodeError::NotAnArray => invalid(packet_type, "a non-empty array"),
        other => other,
    })?;
    let Some((first, rest)) = elements.split_first() else {
        return Err(invalid(packet_type, "a non-empty array"));
    };
    let name = match serde_json::from_str::<JsonValue>(first.get()) {
        Ok(JsonValue::String(text)) => {
            if revision == Revision::V5 && is_reserved_event(&text) {
                return Err(DecodeError::ReservedEventName(text));
            }
            EventName::Text(text)
        }
        Ok(JsonValue::Number(number)) => EventName::Number(number),
        Ok(_) => {
            return Err(invalid(
                packet_type,
                "an array starting with a string or a number",
            ));
        }
        Err(error) => return Err(DecodeError::from_json(error)),
    };
    let mut args_json = String::with_capacity(payload.len());
    args_json.push('[');
    for (index, element) in rest.iter().enumerate() {
        if index > 0 {
            args_json.push(',');
        }
        args_json.push_str(element.get());
    }
    args_json.push(']');
    Ok((name, args_json))
}

/// The attachment count of a binary header: ASCII digits, at most `max`.
fn parse_attachment_count(digits: &str, max: usize) -> Result<usize, DecodeError> {
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(DecodeError::IllegalAttachments);
    }
    let count = digits.bytes().fold(0u64, |count, digit| {
        count
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    });
    match usize::try_from(count) {
        Ok(count) if count <= max => Ok(count),
        _ => Err(DecodeError::TooManyAttachments { count, max }),
    }
}

fn refuse_ack_id(packet_type: PacketType, ack_id: Option<AckId>) -> Result<(), DecodeError> {
    match ack_id {
        Some(_) => Err(DecodeError::UnexpectedAckId(packet_type)),
        None => Ok(()),
    }
}

fn parse_json(payload: &str) -> Result<JsonValue, DecodeError> {
    serde_json::from_str(payload).map_err(DecodeError::from_json)
}

fn invalid(packet_type: PacketType, expected: &'static str) -> DecodeError {
    DecodeError::InvalidPayload {
        packet_type,
        reason: expected,
    }
}

/// Decodes a connection's messages in order, holding a binary packet until its attachments have
/// arrived: the reference decoder's state.
///
/// ```
/// use bytes::Bytes;
/// use ferrio_sio::{DecodeOptions, Packet, Reassembler, Revision, Value};
///
/// let mut reassembler = Reassembler::new(DecodeOptions::new(Revision::V5));
/// let header = r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
/// assert_eq!(reassembler.push_text(header).unwrap(), None);
/// assert_eq!(reassembler.push_binary(Bytes::from_static(&[1, 2])).unwrap(), None);
/// let Some(Packet::Event { args, .. }) =
///     reassembler.push_binary(Bytes::from_static(&[3, 4])).unwrap()
/// else {
///     panic!("no event");
/// };
/// assert_eq!(args.to_values().unwrap()[1], Value::Binary(Bytes::from_static(&[3, 4])));
/// ```
#[derive(Debug, Clone)]
pub struct Reassembler {
    options: DecodeOptions,
    pending: Option<PendingPacket>,
}

impl Reassembler {
    /// A reassembler with nothing pending.
    pub fn new(options: DecodeOptions) -> Self {
        Reassembler {
            options,
            pending: None,
        }
    }

    /// The options it decodes with.
    pub fn options(&self) -> &DecodeOptions {
        &self.options
    }

    /// How many attachments the pending binary packet still needs (0 when none is pending).
    pub fn missing_attachments(&self) -> usize {
        self.pending.as_ref().map_or(0, PendingPacket::missing)
    }

    /// Takes a text message: the packet it completes, or `None` when it is a binary header
    /// whose attachments follow. A text while attachments are still expected is an error and
    /// drops the pending packet.
    pub fn push_text(&mut self, text: &str) -> Result<Option<Packet>, DecodeError> {
        if let Some(pending) = self.pending.take() {
            return Err(DecodeError::TextWhileAwaitingAttachments {
                missing: pending.missing(),
            });
        }
        match decode(text, &self.options)? {
            Decoded::Packet(packet) => Ok(Some(packet)),
            Decoded::AwaitingAttachments(pending) => {
                self.pending = Some(pending);
                Ok(None)
            }
        }
    }

    /// Takes a binary message: the packet it completes, or `None` while more attachments are
    /// expected. A binary message when none is expected is an error.
    pub fn push_binary(&mut self, frame: Bytes) -> Result<Option<Packet>, DecodeError> {
        let Some(pending) = self.pending.as_mut() else {
            return Err(DecodeError::UnexpectedBinary);
        };
        pending.attachments.push(frame);
        if pending.missing() > 0 {
            return Ok(None);
        }
        Ok(self.pending.take().map(PendingPacket::finish))
    }

    /// Drops a pending binary packet, if any (the connection is closing).
    pub fn reset(&mut self) {
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn v5() -> DecodeOptions {
        DecodeOptions::new(Revision::V5)
    }

    fn v4() -> DecodeOptions {
        DecodeOptions::new(Revision::V4)
    }

    fn packet(text: &str, options: &DecodeOptions) -> Packet {
        match decode(text, options) {
            Ok(Decoded::Packet(packet)) => packet,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn error(text: &str, options: &DecodeOptions) -> DecodeError {
        match decode(text, options) {
            Err(error) => error,
            Ok(decoded) => panic!("{text} decoded: {decoded:?}"),
        }
    }

    fn invalid_payload(text: &str, options: &DecodeOptions) {
        assert!(
            matches!(
                error(text, options),
                DecodeError::InvalidPayload { .. } | DecodeError::InvalidJson(_)
            ),
            "{text}"
        );
    }

    /// The reference parser's "throw an error upon parsing error" cases.
    #[test]
    fn reference_parsing_errors() {
        for options in [v4(), v5()] {
            // The reference reads an ack id 42 here, then fails on the JSON; ids on a
            // CONNECT_ERROR are refused first.
            assert_eq!(
                error(r#"442["some","data""#, &options),
                DecodeError::UnexpectedAckId(PacketType::ConnectError)
            );
            invalid_payload(r#"0/admin,"invalid""#, &options);
            invalid_payload("0[]", &options);
            invalid_payload("1/admin,{}", &options);
            invalid_payload(r#"2/admin,"invalid"#, &options);
            invalid_payload("2/admin,{}", &options);
            invalid_payload(r#"2[{"toString":"foo"}]"#, &options);
            invalid_payload(r#"2[true,"foo"]"#, &options);
            invalid_payload(r#"2[null,"bar"]"#, &options);
            for text in ["5", "51", "5a-", "51.23-", "5-[\"a\"]", "5 1-[\"a\"]"] {
                assert_eq!(
                    error(text, &options),
                    DecodeError::IllegalAttachments,
                    "{text}"
                );
            }
            assert_eq!(error("999", &options), DecodeError::UnknownType('9'));
            assert_eq!(error("", &options), DecodeError::Empty);
            assert_eq!(error("é2", &options), DecodeError::UnknownType('é'));
            assert_eq!(error(" 0", &options), DecodeError::UnknownType(' '));
        }
    }

    #[test]
    fn reserved_names_are_refused_in_revision_5_only() {
        assert_eq!(
            error(r#"2["connect"]"#, &v5()),
            DecodeError::ReservedEventName("connect".to_owned())
        );
        assert_eq!(
            error(r#"2["disconnect","123"]"#, &v5()),
            DecodeError::ReservedEventName("disconnect".to_owned())
        );
        assert!(matches!(
            decode(r#"51-["newListener",{"_placeholder":true,"num":0}]"#, &v5()),
            Err(DecodeError::ReservedEventName(_))
        ));
        let Packet::Event { name, .. } = packet(r#"2["disconnect","123"]"#, &v4()) else {
            panic!("not an event");
        };
        assert_eq!(name.as_text(), Some("disconnect"));
        // Names only look alike: the comparison is exact.
        packet(r#"2["Connect"]"#, &v5());
        packet(r#"2["message"]"#, &v5());
    }

    #[test]
    fn event_names_are_strings_or_numbers() {
        for options in [v4(), v5()] {
            let Packet::Event { name, args, .. } = packet(r#"2[1,"a",{}]"#, &options) else {
                panic!("not an event");
            };
            assert_eq!(name, EventName::from(1u64));
            assert_eq!(args.json(), r#"["a",{}]"#);
            let Packet::Event { name, .. } = packet(r#"2[-1.5]"#, &options) else {
                panic!("not an event");
            };
            assert_eq!(name.to_string(), "-1.5");
            assert_eq!(
                error("2[]", &options),
                DecodeError::InvalidPayload {
                    packet_type: PacketType::Event,
                    reason: "a non-empty array"
                }
            );
            invalid_payload(r#"2[["a"]]"#, &options);
            invalid_payload(r#"2[{"a":1}]"#, &options);
        }
    }

    #[test]
    fn event_arguments_keep_the_clients_text() {
        let Packet::Event { name, args, .. } =
            packet(r#"2 [ "chat" , "hi" , { "a" : 1 } ] "#, &v5())
        else {
            panic!("not an event");
        };
        assert_eq!(name.as_text(), Some("chat"));
        assert_eq!(args.json(), r#"["hi",{ "a" : 1 }]"#);
        let Packet::Event { name, .. } = packet(r#"2["a\u0062\n"]"#, &v5()) else {
            panic!("not an event");
        };
        assert_eq!(name.as_text(), Some("ab\n"));
    }

    #[test]
    fn namespaces_and_ack_ids() {
        let options = v5();
        let Packet::Event {
            namespace, ack_id, ..
        } = packet(r#"2/admin,0012["a"]"#, &options)
        else {
            panic!("not an event");
        };
        assert_eq!((namespace.as_str(), ack_id), ("/admin", Some(12)));
        // A namespace runs to the first comma or the end.
        assert_eq!(
            packet("1/admin", &options),
            Packet::disconnect(Namespace::new("/admin").unwrap())
        );
        assert_eq!(
            packet("1/,", &options),
            Packet::disconnect(Namespace::root())
        );
        assert_eq!(
            packet(&format!(r#"3{}["a"]"#, u64::MAX), &options),
            Packet::ack(
                Namespace::root(),
                u64::MAX,
                Arguments::from_trusted_json(r#"["a"]"#)
            )
        );
        assert_eq!(
            error(r#"218446744073709551616["a"]"#, &options),
            DecodeError::AckIdOverflow
        );
        assert_eq!(
            error("2/admin,xyz", &options),
            error("2xyz", &options),
            "garbage after the namespace is invalid JSON either way"
        );
        assert!(matches!(
            error("2/admin,xyz", &options),
            DecodeError::InvalidJson(_)
        ));
        assert!(matches!(
            error(r#"21.5["a"]"#, &options),
            DecodeError::InvalidJson(_)
        ));
        assert_eq!(
            error("05", &options),
            DecodeError::UnexpectedAckId(PacketType::Connect)
        );
        assert_eq!(
            error("1/a,5", &options),
            DecodeError::UnexpectedAckId(PacketType::Disconnect)
        );
        assert_eq!(
            error(r#"45"x""#, &options),
            DecodeError::UnexpectedAckId(PacketType::ConnectError)
        );
        assert_eq!(
            error("3[]", &options),
            DecodeError::MissingAckId(PacketType::Ack)
        );
        assert_eq!(
            error("61-[]", &options),
            DecodeError::MissingAckId(PacketType::BinaryAck)
        );
    }

    #[test]
    fn payload_rules_per_type() {
        for options in [v4(), v5()] {
            assert_eq!(
                error("2/admin,", &options),
                DecodeError::MissingPayload(PacketType::Event)
            );
            assert_eq!(
                error("212", &options),
                DecodeError::MissingPayload(PacketType::Event)
            );
            assert_eq!(
                error("31", &options),
                DecodeError::MissingPayload(PacketType::Ack)
            );
            assert_eq!(
                error("4", &options),
                DecodeError::MissingPayload(PacketType::ConnectError)
            );
            invalid_payload(r#"31{"a":1}"#, &options);
            invalid_payload("4[1]", &options);
            invalid_payload("4null", &options);
            invalid_payload("0null", &options);
            invalid_payload(r#"1"x""#, &options);
            assert_eq!(
                packet(r#"4"Not authorized""#, &options),
                Packet::ConnectError {
                    namespace: Namespace::root(),
                    data: ConnectErrorData::Text("Not authorized".to_owned())
                }
            );
            let Packet::ConnectError { data, .. } =
                packet(r#"4/a,{"message":"No","data":{"x":1}}"#, &options)
            else {
                panic!("not a connect error");
            };
            assert_eq!(data.message(), Some("No"));
            let Packet::Ack { args, .. } = packet("31 [ ] ", &options) else {
                panic!("not an ack");
            };
            assert_eq!(args.json(), "[ ]");
            let Packet::Connect { data, .. } = packet(r#"0{"token":"123"}"#, &options) else {
                panic!("not a connect");
            };
            assert_eq!(
                data.and_then(|map| map.get("token").cloned()),
                Some(serde_json::json!("123"))
            );
        }
    }

    #[test]
    fn revision_4_splits_the_connect_query_off_the_namespace() {
        assert_eq!(
            packet("0/admin?token=1234&uid=abcd,", &v4()),
            Packet::Connect {
                namespace: Namespace::new("/admin").unwrap(),
                query: Some("token=1234&uid=abcd".to_owned()),
                data: None
            }
        );
        assert_eq!(
            packet("0/admin?,", &v4()),
            Packet::Connect {
                namespace: Namespace::new("/admin").unwrap(),
                query: Some(String::new()),
                data: None
            }
        );
        // Revision 5 has no query there: the `?` is part of the name, as in socket.io 3+.
        assert_eq!(
            packet("0/admin?token=1,", &v5()),
            Packet::connect(Namespace::new("/admin?token=1").unwrap())
        );
        // Only CONNECT carried a query.
        let Packet::Event { namespace, .. } = packet(r#"2/a?b,["x"]"#, &v4()) else {
            panic!("not an event");
        };
        assert_eq!(namespace.as_str(), "/a?b");
    }

    #[test]
    fn attachment_limits() {
        let three = r#"53-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]"#;
        assert_eq!(
            error(three, &v5().with_max_attachments(2)),
            DecodeError::TooManyAttachments { count: 3, max: 2 }
        );
        assert!(matches!(
            decode(three, &v5().with_max_attachments(3)),
            Ok(Decoded::AwaitingAttachments(pending)) if pending.expected() == 3
        ));
        assert_eq!(
            error(r#"511-["a"]"#, &v5()),
            DecodeError::TooManyAttachments { count: 11, max: 10 }
        );
        assert_eq!(
            error(r#"5999999999999999999999999-["a"]"#, &v4()),
            DecodeError::TooManyAttachments {
                count: u64::MAX,
                max: 10
            }
        );
        assert_eq!(
            error(r#"61-1["a"]"#, &v5().with_max_attachments(0)),
            DecodeError::TooManyAttachments { count: 1, max: 0 }
        );
    }

    #[test]
    fn placeholders_are_checked_with_the_header() {
        assert_eq!(
            error(
                r#"51-["hello",{"_placeholder":true,"num":"splice"}]"#,
                &v5()
            ),
            DecodeError::InvalidPlaceholder("num is not a number")
        );
        assert_eq!(
            error(r#"51-["hello",{"_placeholder":true,"num":1}]"#, &v5()),
            DecodeError::MissingAttachment { num: 1, count: 1 }
        );
        assert_eq!(
            error(
                r#"51-["hello",{"a":[{"_placeholder":true,"num":-1}]}]"#,
                &v5()
            ),
            DecodeError::InvalidPlaceholder("num is not a non-negative integer")
        );
        assert_eq!(
            error(r#"51-["hello",{"_placeholder":true}]"#, &v5()),
            DecodeError::InvalidPlaceholder("num is not a number")
        );
    }

    #[test]
    fn binary_packets_without_attachments_are_whole() {
        let mut reassembler = Reassembler::new(v5());
        let decoded = reassembler.push_text(r#"50-["a",{"_placeholder":true,"num":0}]"#);
        let Ok(Some(Packet::Event { args, .. })) = decoded else {
            panic!("{decoded:?}");
        };
        assert!(!args.has_attachments());
        // As in the reference, the placeholder of a packet with no attachments stays data.
        assert!(matches!(args.to_values().unwrap()[0], Value::Object(_)));
        assert_eq!(reassembler.missing_attachments(), 0);
        assert!(reassembler.push_text(r#"2["b"]"#).unwrap().is_some());
    }

    #[test]
    fn reassembler_refuses_out_of_order_frames() {
        let mut reassembler = Reassembler::new(v5());
        assert_eq!(
            reassembler.push_binary(Bytes::from_static(b"world")),
            Err(DecodeError::UnexpectedBinary)
        );
        let header = r#"52-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert_eq!(reassembler.push_text(header), Ok(None));
        assert_eq!(reassembler.missing_attachments(), 2);
        assert_eq!(reassembler.push_binary(Bytes::from_static(b"a")), Ok(None));
        assert_eq!(
            reassembler.push_text(r#"2["hello"]"#),
            Err(DecodeError::TextWhileAwaitingAttachments { missing: 1 })
        );
        // The partial packet is gone: the next text decodes, a late frame is refused.
        assert_eq!(reassembler.missing_attachments(), 0);
        assert_eq!(
            reassembler.push_binary(Bytes::from_static(b"b")),
            Err(DecodeError::UnexpectedBinary)
        );
        assert!(reassembler.push_text(r#"2["hello"]"#).unwrap().is_some());
        // A refused header leaves nothing pending either.
        assert!(
            reassembler
                .push_text(r#"51-["hello",{"_placeholder":true,"num":3}]"#)
                .is_err()
        );
        assert_eq!(reassembler.missing_attachments(), 0);
    }

    #[test]
    fn reset_drops_a_pending_packet() {
        let mut reassembler = Reassembler::new(v5());
        assert_eq!(reassembler.push_text(r#"51-["hello"]"#), Ok(None));
        reassembler.reset();
        assert!(reassembler.push_text(r#"2["hello"]"#).unwrap().is_some());
    }

    #[test]
    fn the_same_attachment_may_be_referenced_twice_or_not_at_all() {
        let mut reassembler = Reassembler::new(v5());
        let header = r#"62-3[{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#;
        assert_eq!(reassembler.push_text(header), Ok(None));
        assert_eq!(reassembler.push_binary(Bytes::from_static(b"x")), Ok(None));
        let Ok(Some(Packet::Ack { ack_id, args, .. })) =
            reassembler.push_binary(Bytes::from_static(b"unused"))
        else {
            panic!("no ack");
        };
        assert_eq!(ack_id, 3);
        let x = Value::Binary(Bytes::from_static(b"x"));
        assert_eq!(args.to_values().unwrap(), vec![x.clone(), x]);
        assert_eq!(args.attachments().len(), 2);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let depth = 100_000;
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        invalid_payload(&format!("2{nested}"), &v5());
        invalid_payload(&format!("0{nested}"), &v5());
        assert!(decode(&format!("51-[\"a\",{nested}]"), &v5()).is_err());
        // Kept as text, an ack's arguments are refused only when read as a tree.
        let Packet::Ack { args, .. } = packet(&format!("31{nested}"), &v5()) else {
            panic!("not an ack");
        };
        assert!(args.to_values().is_err());
        assert!(decode(&format!("2{}", "[".repeat(depth)), &v5()).is_err());
    }
}
