//! Packets: `type ":" [id ["+"]] ":" [endpoint] [":" data]` (docs/protocol.md §3).

use std::fmt::Write as _;

use serde_json::Value;

/// A message id asking the receiver for an acknowledgement (docs/protocol.md §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId {
    /// The decimal id, counted per sending socket per namespace.
    pub value: u64,
    /// `true` when the id carries `+`: the receiving *application* produces the ack and may
    /// attach data. `false`: the receiving library acks automatically, without data.
    pub data: bool,
}

/// The id an acknowledgement refers to (it travels in the data field of a type-6 packet).
pub type AckId = u64;

/// Why the server sent an error packet (docs/protocol.md §3.5). Only the codes of the table exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorReason {
    /// Code 0, `transport not supported`.
    TransportNotSupported,
    /// Code 1, `client not handshaken`: the session is unknown or expired.
    ClientNotHandshaken,
    /// Code 2, `unauthorized`: a namespace refused the connection.
    Unauthorized,
}

impl ErrorReason {
    /// The code on the wire.
    pub const fn code(self) -> u8 {
        match self {
            ErrorReason::TransportNotSupported => 0,
            ErrorReason::ClientNotHandshaken => 1,
            ErrorReason::Unauthorized => 2,
        }
    }

    /// The text a client reports for the code.
    pub const fn text(self) -> &'static str {
        match self {
            ErrorReason::TransportNotSupported => "transport not supported",
            ErrorReason::ClientNotHandshaken => "client not handshaken",
            ErrorReason::Unauthorized => "unauthorized",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "0" => Some(ErrorReason::TransportNotSupported),
            "1" => Some(ErrorReason::ClientNotHandshaken),
            "2" => Some(ErrorReason::Unauthorized),
            _ => None,
        }
    }
}

/// What the server advises the client to do after an error (docs/protocol.md §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAdvice {
    /// Code 0, `reconnect`: the transport is dead, start over with a new handshake.
    Reconnect,
}

impl ErrorAdvice {
    /// The code on the wire.
    pub const fn code(self) -> u8 {
        0
    }

    /// The text a client reports for the code.
    pub const fn text(self) -> &'static str {
        "reconnect"
    }
}

/// What a packet carries, by type (docs/protocol.md §3.2).
#[derive(Debug, Clone, PartialEq)]
pub enum PacketBody {
    /// Type 0: close the session (empty endpoint) or leave one namespace.
    Disconnect,
    /// Type 1: "you are connected" (server) or "let me join this namespace" (client). The
    /// optional query travels in the data field (`1::/chat:?a=b`, docs/protocol.md §3.6).
    Connect {
        /// The raw data field, such as `?a=b`, when present and non-empty.
        query: Option<String>,
    },
    /// Type 2: liveness ping, echoed by the client.
    Heartbeat,
    /// Type 3: a plain string message.
    Message(String),
    /// Type 4: a JSON message.
    Json(Value),
    /// Type 5: a named event with arguments.
    Event {
        /// The event name.
        name: String,
        /// The arguments; empty when the packet omits `args`.
        args: Vec<Value>,
    },
    /// Type 6: acknowledgement of the message `acked`.
    Ack {
        /// The id of the acknowledged message.
        acked: AckId,
        /// The ack's arguments (`6:::4+[…]`), or `None` for a plain ack (`6:::4`).
        args: Option<Vec<Value>>,
    },
    /// Type 7: an error, with reason and advice when known.
    Error {
        /// The reason code, `None` when absent or outside the table.
        reason: Option<ErrorReason>,
        /// The advice code, `None` when absent or outside the table.
        advice: Option<ErrorAdvice>,
    },
    /// Type 8: nothing; closes a long poll that timed out.
    Noop,
}

impl PacketBody {
    /// The packet type digit.
    pub const fn type_code(&self) -> u8 {
        match self {
            PacketBody::Disconnect => 0,
            PacketBody::Connect { .. } => 1,
            PacketBody::Heartbeat => 2,
            PacketBody::Message(_) => 3,
            PacketBody::Json(_) => 4,
            PacketBody::Event { .. } => 5,
            PacketBody::Ack { .. } => 6,
            PacketBody::Error { .. } => 7,
            PacketBody::Noop => 8,
        }
    }
}

/// One protocol-1 packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The namespace, such as `/chat`; empty for the default namespace.
    pub endpoint: String,
    /// The message id when the sender wants an acknowledgement.
    pub id: Option<MessageId>,
    /// The type and its data.
    pub body: PacketBody,
}

impl Packet {
    /// A packet of the default namespace without id.
    pub fn new(body: PacketBody) -> Self {
        Packet {
            endpoint: String::new(),
            id: None,
            body,
        }
    }

    /// A packet for `endpoint` without id.
    pub fn on(endpoint: impl Into<String>, body: PacketBody) -> Self {
        Packet {
            endpoint: endpoint.into(),
            id: None,
            body,
        }
    }

    /// The same packet carrying `id`.
    #[must_use]
    pub fn with_id(mut self, id: MessageId) -> Self {
        self.id = Some(id);
        self
    }

    /// Encodes the packet as protocol-1 text.
    ///
    /// ```
    /// use ferrio_protocol::{Packet, PacketBody};
    /// let packet = Packet::on("/chat", PacketBody::Event { name: "hi".into(), args: vec!["chat".into()] });
    /// assert_eq!(packet.encode(), r#"5::/chat:{"name":"hi","args":["chat"]}"#);
    /// ```
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 + self.endpoint.len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the protocol-1 text of the packet to `out`.
    pub fn encode_into(&self, out: &mut String) {
        // Writing into a String cannot fail; the results are ignored for that reason.
        let _ = write!(out, "{}:", self.body.type_code());
        if let Some(id) = self.id {
            let _ = write!(out, "{}", id.value);
            if id.data {
                out.push('+');
            }
        }
        out.push(':');
        out.push_str(&self.endpoint);
        match &self.body {
            PacketBody::Disconnect | PacketBody::Heartbeat | PacketBody::Noop => {}
            PacketBody::Connect { query } => {
                if let Some(query) = query {
                    out.push(':');
                    out.push_str(query);
                }
            }
            PacketBody::Message(text) => {
                out.push(':');
                out.push_str(text);
            }
            PacketBody::Json(value) => {
                out.push(':');
                push_json(out, value);
            }
            PacketBody::Event { name, args } => {
                out.push_str(":{\"name\":");
                push_json(out, &Value::String(name.clone()));
                if !args.is_empty() {
                    out.push_str(",\"args\":");
                    push_json_array(out, args);
                }
                out.push('}');
            }
            PacketBody::Ack { acked, args } => {
                let _ = write!(out, ":{acked}");
                if let Some(args) = args {
                    out.push('+');
                    push_json_array(out, args);
                }
            }
            PacketBody::Error { reason, advice } => {
                out.push(':');
                if let Some(reason) = reason {
                    let _ = write!(out, "{}", reason.code());
                }
                if let Some(advice) = advice {
                    let _ = write!(out, "+{}", advice.code());
                }
            }
        }
    }
}

fn push_json(out: &mut String, value: &Value) {
    // serde_json writes compact JSON with no whitespace, as the reference does.
    out.push_str(&value.to_string());
}

fn push_json_array(out: &mut String, values: &[Value]) {
    out.push('[');
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        push_json(out, value);
    }
    out.push(']');
}

/// Why a text is not a usable packet. Receivers log it and ignore the text (docs/protocol.md §3.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text has no `type:` prefix.
    #[error("no packet type")]
    NoType,
    /// The type is not one of the single digits 0–8.
    #[error("unknown packet type `{0}`")]
    UnknownType(String),
    /// The id field holds something other than digits and an optional `+`, or the second
    /// colon is missing.
    #[error("malformed id or missing separator")]
    Malformed,
    /// The data of a json or event packet is not valid JSON.
    #[error("invalid JSON in packet data")]
    InvalidJson,
    /// The event data is JSON but not `{"name": string, "args"?: array}`.
    #[error("event data without a string name or with non-array args")]
    InvalidEvent,
    /// The ack data does not start with the acknowledged id.
    #[error("ack without an acknowledged id")]
    InvalidAck,
}

/// Decodes one protocol-1 packet.
///
/// Never panics, whatever the input; anything that is not a packet is an error the caller
/// logs and ignores.
///
/// ```
/// use ferrio_protocol::{decode, MessageId, PacketBody};
/// let packet = decode("5:2+:/chat:{\"name\":\"q\",\"args\":[1]}").unwrap();
/// assert_eq!(packet.endpoint, "/chat");
/// assert_eq!(packet.id, Some(MessageId { value: 2, data: true }));
/// assert_eq!(packet.body, PacketBody::Event { name: "q".into(), args: vec![1.into()] });
/// ```
pub fn decode(text: &str) -> Result<Packet, DecodeError> {
    let (type_text, rest) = text.split_once(':').ok_or(DecodeError::NoType)?;
    let type_code = match type_text {
        "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" => type_text.as_bytes()[0] - b'0',
        _ => {
            return Err(DecodeError::UnknownType(
                type_text.chars().take(16).collect(),
            ));
        }
    };
    let (id_text, rest) = rest.split_once(':').ok_or(DecodeError::Malformed)?;
    let id = parse_message_id(id_text)?;
    let (endpoint, data) = match rest.split_once(':') {
        Some((endpoint, data)) => (endpoint, data),
        None => (rest, ""),
    };
    let body = match type_code {
        0 => PacketBody::Disconnect,
        1 => PacketBody::Connect {
            query: (!data.is_empty()).then(|| data.to_owned()),
        },
        2 => PacketBody::Heartbeat,
        3 => PacketBody::Message(data.to_owned()),
        4 => PacketBody::Json(serde_json::from_str(data).map_err(|_| DecodeError::InvalidJson)?),
        5 => decode_event(data)?,
        6 => decode_ack(data)?,
        7 => decode_error(data),
        _ => PacketBody::Noop,
    };
    Ok(Packet {
        endpoint: endpoint.to_owned(),
        id,
        body,
    })
}

fn parse_message_id(text: &str) -> Result<Option<MessageId>, DecodeError> {
    let (digits, data) = match text.strip_suffix('+') {
        Some(digits) => (digits, true),
        None => (text, false),
    };
    if digits.is_empty() {
        // `3:+::x` has a `+` without an id; the reference pattern would not match it either.
        return if data {
            Err(DecodeError::Malformed)
        } else {
            Ok(None)
        };
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::Malformed);
    }
    let value = digits.parse().map_err(|_| DecodeError::Malformed)?;
    Ok(Some(MessageId { value, data }))
}

fn decode_event(data: &str) -> Result<PacketBody, DecodeError> {
    let value: Value = serde_json::from_str(data).map_err(|_| DecodeError::InvalidJson)?;
    let Value::Object(mut object) = value else {
        return Err(DecodeError::InvalidEvent);
    };
    let Some(Value::String(name)) = object.remove("name") else {
        return Err(DecodeError::InvalidEvent);
    };
    let args = match object.remove("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(args)) => args,
        Some(_) => return Err(DecodeError::InvalidEvent),
    };
    Ok(PacketBody::Event { name, args })
}

fn decode_ack(data: &str) -> Result<PacketBody, DecodeError> {
    let digits_end = data
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(data.len());
    let acked = data[..digits_end]
        .parse()
        .map_err(|_| DecodeError::InvalidAck)?;
    // The reference falls back to no arguments when the JSON is unusable (docs/protocol.md §3.4).
    let args = data[digits_end..]
        .strip_prefix('+')
        .map(|json| match serde_json::from_str(json) {
            Ok(Value::Array(args)) => args,
            _ => Vec::new(),
        });
    Ok(PacketBody::Ack { acked, args })
}

fn decode_error(data: &str) -> PacketBody {
    let (reason, advice) = match data.split_once('+') {
        Some((reason, advice)) => (reason, Some(advice)),
        None => (data, None),
    };
    PacketBody::Error {
        reason: ErrorReason::from_code(reason),
        advice: advice.and_then(|advice| (advice == "0").then_some(ErrorAdvice::Reconnect)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn id(value: u64) -> Option<MessageId> {
        Some(MessageId { value, data: false })
    }

    fn id_plus(value: u64) -> Option<MessageId> {
        Some(MessageId { value, data: true })
    }

    fn packet(endpoint: &str, id: Option<MessageId>, body: PacketBody) -> Packet {
        Packet {
            endpoint: endpoint.to_owned(),
            id,
            body,
        }
    }

    fn event(name: &str, args: Vec<Value>) -> PacketBody {
        PacketBody::Event {
            name: name.to_owned(),
            args,
        }
    }

    /// Decodes `wire`, checks it against `expected`, and checks that encoding gives `wire` back.
    fn assert_wire(wire: &str, expected: &Packet) {
        let decoded = decode(wire).unwrap_or_else(|e| panic!("{wire:?} should decode: {e}"));
        assert_eq!(&decoded, expected, "decoding {wire:?}");
        assert_eq!(expected.encode(), wire, "encoding {expected:?}");
    }

    fn assert_rejected(wire: &str) -> DecodeError {
        match decode(wire) {
            Ok(packet) => panic!("{wire:?} should be rejected, decoded to {packet:?}"),
            Err(error) => error,
        }
    }

    // §3.2: disconnect

    #[test]
    fn disconnect_of_the_whole_session_round_trips() {
        assert_wire("0::", &Packet::new(PacketBody::Disconnect));
    }

    #[test]
    fn disconnect_of_a_namespace_round_trips() {
        assert_wire("0::/chat", &Packet::on("/chat", PacketBody::Disconnect));
    }

    // §3.2, §3.6: connect

    #[test]
    fn connect_without_endpoint_round_trips() {
        assert_wire("1::", &Packet::new(PacketBody::Connect { query: None }));
    }

    #[test]
    fn connect_to_a_namespace_round_trips() {
        assert_wire(
            "1::/chat",
            &Packet::on("/chat", PacketBody::Connect { query: None }),
        );
    }

    #[test]
    fn connect_query_travels_in_the_data_field() {
        assert_wire(
            "1::/chat:?a=b",
            &Packet::on(
                "/chat",
                PacketBody::Connect {
                    query: Some("?a=b".into()),
                },
            ),
        );
    }

    #[test]
    fn connect_query_inside_the_endpoint_is_part_of_the_endpoint() {
        assert_wire(
            "1::/chat?a=b",
            &Packet::on("/chat?a=b", PacketBody::Connect { query: None }),
        );
    }

    #[test]
    fn connect_with_empty_data_has_no_query() {
        let decoded = decode("1::/chat:").unwrap();
        assert_eq!(
            decoded,
            Packet::on("/chat", PacketBody::Connect { query: None })
        );
    }

    // §3.2: heartbeat and noop

    #[test]
    fn heartbeat_round_trips() {
        assert_wire("2::", &Packet::new(PacketBody::Heartbeat));
    }

    #[test]
    fn noop_round_trips() {
        assert_wire("8::", &Packet::new(PacketBody::Noop));
    }

    // §3.2, §3.3: message

    #[test]
    fn message_without_id_round_trips() {
        assert_wire(
            "3:::hello",
            &Packet::new(PacketBody::Message("hello".into())),
        );
    }

    #[test]
    fn message_with_auto_ack_id_round_trips() {
        assert_wire(
            "3:1::hi",
            &packet("", id(1), PacketBody::Message("hi".into())),
        );
    }

    #[test]
    fn message_with_data_ack_id_on_a_namespace_round_trips() {
        assert_wire(
            "3:2+:/chat:hi",
            &packet("/chat", id_plus(2), PacketBody::Message("hi".into())),
        );
    }

    #[test]
    fn message_server_send_with_id_round_trips() {
        assert_wire(
            "3:2::hello",
            &packet("", id(2), PacketBody::Message("hello".into())),
        );
        assert_wire(
            "3:5+::yo",
            &packet("", id_plus(5), PacketBody::Message("yo".into())),
        );
    }

    #[test]
    fn message_with_two_or_three_colons_is_empty() {
        let empty = Packet::new(PacketBody::Message(String::new()));
        assert_eq!(decode("3::").unwrap(), empty);
        assert_eq!(decode("3:::").unwrap(), empty);
        assert_eq!(empty.encode(), "3:::");
    }

    #[test]
    fn message_data_keeps_further_colons_and_newlines() {
        assert_wire(
            "3:::a:b::c\r\nd\n",
            &Packet::new(PacketBody::Message("a:b::c\r\nd\n".into())),
        );
        assert_wire(
            "3::/chat:::",
            &Packet::on("/chat", PacketBody::Message("::".into())),
        );
    }

    #[test]
    fn message_data_keeps_non_ascii_and_replacement_characters() {
        assert_wire(
            "3:::é€😀\u{FFFD}\u{2028}",
            &Packet::new(PacketBody::Message("é€😀\u{FFFD}\u{2028}".into())),
        );
    }

    // §3.2: json

    #[test]
    fn json_message_round_trips() {
        assert_wire(
            "4:::{\"a\":1}",
            &Packet::new(PacketBody::Json(json!({"a": 1}))),
        );
    }

    #[test]
    fn json_message_keeps_key_order() {
        assert_wire(
            "4:1+:/chat:{\"z\":1,\"a\":[true,null,\"x\"]}",
            &packet(
                "/chat",
                id_plus(1),
                PacketBody::Json(json!({"z": 1, "a": [true, null, "x"]})),
            ),
        );
    }

    #[test]
    fn json_message_may_be_any_json_value() {
        assert_wire("4:::\"s\"", &Packet::new(PacketBody::Json(json!("s"))));
        assert_wire("4:::[1,2]", &Packet::new(PacketBody::Json(json!([1, 2]))));
        assert_wire("4:::null", &Packet::new(PacketBody::Json(Value::Null)));
    }

    #[test]
    fn numbers_read_back_the_same_once_re_encoded() {
        // Found by fuzzing: an integer beyond u64 is read as a float, and the float's shortest
        // text must read back to the same float (serde_json's `float_roundtrip`), or a packet
        // the server relays would carry another number than the one it decoded.
        for wire in [
            "4:::907046080220423230251273",
            "4:::999990000092009909009992",
            "5:::{\"name\":\"n\",\"args\":[907046080220423230251273]}",
            "6:::1+[999990000092009909009992]",
        ] {
            let packet = decode(wire).unwrap();
            assert_eq!(decode(&packet.encode()), Ok(packet), "{wire}");
        }
    }

    #[test]
    fn json_message_with_invalid_json_is_rejected() {
        assert_eq!(assert_rejected("4:::{bad"), DecodeError::InvalidJson);
        assert_eq!(assert_rejected("4:::"), DecodeError::InvalidJson);
        assert_eq!(assert_rejected("4::"), DecodeError::InvalidJson);
    }

    // §3.2, §3.7: event

    #[test]
    fn event_with_args_round_trips() {
        assert_wire(
            "5:::{\"name\":\"chat\",\"args\":[\"hi\",1]}",
            &Packet::new(event("chat", vec![json!("hi"), json!(1)])),
        );
    }

    #[test]
    fn event_without_args_round_trips_with_data_ack_id() {
        assert_wire(
            "5:7+::{\"name\":\"q\"}",
            &packet("", id_plus(7), event("q", vec![])),
        );
    }

    #[test]
    fn event_with_nested_args_on_a_namespace_round_trips() {
        assert_wire(
            "5:2+:/chat:{\"name\":\"q\",\"args\":[1,{\"x\":[true,null]}]}",
            &packet(
                "/chat",
                id_plus(2),
                event("q", vec![json!(1), json!({"x": [true, null]})]),
            ),
        );
    }

    #[test]
    fn event_examples_of_the_spec_round_trip() {
        assert_wire(
            "5:::{\"name\":\"toClient\",\"args\":[\"alice:hi\"]}",
            &Packet::new(event("toClient", vec![json!("alice:hi")])),
        );
        assert_wire(
            "5:::{\"name\":\"ping\"}",
            &Packet::new(event("ping", vec![])),
        );
        assert_wire(
            "5::/chat:{\"name\":\"hi\",\"args\":[\"chat\"]}",
            &Packet::on("/chat", event("hi", vec![json!("chat")])),
        );
        assert_wire(
            "5:1+::{\"name\":\"x\",\"args\":[1]}",
            &packet("", id_plus(1), event("x", vec![json!(1)])),
        );
        assert_wire(
            "5:3+::{\"name\":\"echo\",\"args\":[\"z\"]}",
            &packet("", id_plus(3), event("echo", vec![json!("z")])),
        );
        assert_wire(
            "5:::{\"name\":\"echo\",\"args\":[1,\"two\"]}",
            &Packet::new(event("echo", vec![json!(1), json!("two")])),
        );
        assert_wire(
            "5:::{\"name\":\"b\",\"args\":[\"é€😀\"]}",
            &Packet::new(event("b", vec![json!("é€😀")])),
        );
    }

    #[test]
    fn event_json_is_written_raw_without_escaping_slashes_or_non_ascii() {
        let packet = Packet::new(event("a/b", vec![json!("</script> é😀")]));
        assert_eq!(
            packet.encode(),
            "5:::{\"name\":\"a/b\",\"args\":[\"</script> é😀\"]}"
        );
    }

    #[test]
    fn event_name_with_quotes_and_control_chars_is_escaped_as_json() {
        let packet = Packet::new(event("a\"b\\c\n", vec![]));
        let wire = packet.encode();
        assert_eq!(wire, "5:::{\"name\":\"a\\\"b\\\\c\\n\"}");
        assert_eq!(decode(&wire).unwrap(), packet);
    }

    #[test]
    fn event_with_missing_or_null_args_has_no_args() {
        assert_eq!(
            decode("5:::{\"name\":\"q\"}").unwrap().body,
            event("q", vec![])
        );
        assert_eq!(
            decode("5:::{\"name\":\"q\",\"args\":null}").unwrap().body,
            event("q", vec![])
        );
    }

    #[test]
    fn event_with_empty_args_encodes_without_args() {
        assert_eq!(
            decode("5:::{\"name\":\"q\",\"args\":[]}").unwrap().encode(),
            "5:::{\"name\":\"q\"}"
        );
    }

    #[test]
    fn event_keys_in_other_order_or_extra_keys_are_accepted() {
        assert_eq!(
            decode("5:::{\"args\":[1],\"x\":0,\"name\":\"q\"}")
                .unwrap()
                .body,
            event("q", vec![json!(1)])
        );
    }

    #[test]
    fn event_with_invalid_json_is_rejected() {
        assert_eq!(assert_rejected("5:::{bad json"), DecodeError::InvalidJson);
        assert_eq!(assert_rejected("5:::"), DecodeError::InvalidJson);
        assert_eq!(assert_rejected("5::"), DecodeError::InvalidJson);
    }

    #[test]
    fn event_without_a_string_name_or_with_non_array_args_is_rejected() {
        for wire in [
            "5:::[1]",
            "5:::\"name\"",
            "5:::{}",
            "5:::{\"args\":[1]}",
            "5:::{\"name\":1}",
            "5:::{\"name\":null}",
            "5:::{\"name\":\"q\",\"args\":1}",
            "5:::{\"name\":\"q\",\"args\":{\"0\":1}}",
        ] {
            assert_eq!(assert_rejected(wire), DecodeError::InvalidEvent, "{wire}");
        }
    }

    // §3.2, §3.4: ack

    #[test]
    fn plain_ack_round_trips() {
        assert_wire(
            "6:::4",
            &Packet::new(PacketBody::Ack {
                acked: 4,
                args: None,
            }),
        );
        assert_wire(
            "6:::1",
            &Packet::new(PacketBody::Ack {
                acked: 1,
                args: None,
            }),
        );
    }

    #[test]
    fn ack_with_args_round_trips() {
        assert_wire(
            "6:::4+[\"A\",{\"b\":1}]",
            &Packet::new(PacketBody::Ack {
                acked: 4,
                args: Some(vec![json!("A"), json!({"b": 1})]),
            }),
        );
        assert_wire(
            "6:::5+[\"x\",2]",
            &Packet::new(PacketBody::Ack {
                acked: 5,
                args: Some(vec![json!("x"), json!(2)]),
            }),
        );
    }

    #[test]
    fn ack_on_a_namespace_round_trips() {
        assert_wire(
            "6::/chat:3+[\"z\"]",
            &Packet::on(
                "/chat",
                PacketBody::Ack {
                    acked: 3,
                    args: Some(vec![json!("z")]),
                },
            ),
        );
        assert_wire(
            "6::/chat:3",
            &Packet::on(
                "/chat",
                PacketBody::Ack {
                    acked: 3,
                    args: None,
                },
            ),
        );
    }

    #[test]
    fn ack_with_non_bmp_args_round_trips() {
        assert_wire(
            "6:::1+[\"é😀\"]",
            &Packet::new(PacketBody::Ack {
                acked: 1,
                args: Some(vec![json!("é😀")]),
            }),
        );
    }

    #[test]
    fn ack_with_empty_args_array_round_trips() {
        assert_wire(
            "6:::2+[]",
            &Packet::new(PacketBody::Ack {
                acked: 2,
                args: Some(vec![]),
            }),
        );
    }

    #[test]
    fn ack_with_unusable_json_falls_back_to_no_args() {
        for wire in ["6:::4+{bad", "6:::4+{\"a\":1}", "6:::4+", "6:::4+1"] {
            assert_eq!(
                decode(wire).unwrap().body,
                PacketBody::Ack {
                    acked: 4,
                    args: Some(vec![]),
                },
                "{wire}"
            );
        }
    }

    #[test]
    fn ack_without_acknowledged_id_is_rejected() {
        for wire in [
            "6::",
            "6:::",
            "6:::+[1]",
            "6:::x",
            "6:::99999999999999999999",
        ] {
            assert_eq!(assert_rejected(wire), DecodeError::InvalidAck, "{wire}");
        }
    }

    // §3.2, §3.5: error

    #[test]
    fn error_with_reason_and_advice_round_trips() {
        assert_wire(
            "7:::1+0",
            &Packet::new(PacketBody::Error {
                reason: Some(ErrorReason::ClientNotHandshaken),
                advice: Some(ErrorAdvice::Reconnect),
            }),
        );
    }

    #[test]
    fn error_with_reason_only_on_a_namespace_round_trips() {
        assert_wire(
            "7::/chat:2",
            &Packet::on(
                "/chat",
                PacketBody::Error {
                    reason: Some(ErrorReason::Unauthorized),
                    advice: None,
                },
            ),
        );
        assert_wire(
            "7:::0",
            &Packet::new(PacketBody::Error {
                reason: Some(ErrorReason::TransportNotSupported),
                advice: None,
            }),
        );
    }

    #[test]
    fn error_with_unknown_codes_decodes_to_none() {
        let none = PacketBody::Error {
            reason: None,
            advice: None,
        };
        for wire in [
            "7::",
            "7:::",
            "7::/chat:undefined",
            "7:::undefined+1",
            "7:::3+9",
        ] {
            assert_eq!(decode(wire).unwrap().body, none, "{wire}");
        }
        assert_eq!(
            decode("7:::undefined+0").unwrap().body,
            PacketBody::Error {
                reason: None,
                advice: Some(ErrorAdvice::Reconnect),
            }
        );
    }

    #[test]
    fn error_codes_and_texts_match_the_tables() {
        let reasons = [
            (
                ErrorReason::TransportNotSupported,
                0,
                "transport not supported",
            ),
            (ErrorReason::ClientNotHandshaken, 1, "client not handshaken"),
            (ErrorReason::Unauthorized, 2, "unauthorized"),
        ];
        for (reason, code, text) in reasons {
            assert_eq!(reason.code(), code);
            assert_eq!(reason.text(), text);
            assert_eq!(ErrorReason::from_code(&code.to_string()), Some(reason));
        }
        assert_eq!(ErrorAdvice::Reconnect.code(), 0);
        assert_eq!(ErrorAdvice::Reconnect.text(), "reconnect");
    }

    // §3.1: invalid texts

    #[test]
    fn text_without_a_type_is_rejected() {
        assert_eq!(assert_rejected("hello"), DecodeError::NoType);
        assert_eq!(assert_rejected("0"), DecodeError::NoType);
        assert_eq!(assert_rejected(""), DecodeError::NoType);
    }

    #[test]
    fn types_other_than_single_digits_zero_to_eight_are_rejected() {
        for wire in [
            "9:::x", "10:::", " 5:::", "5 :::", ":::", "a::", "05:::", "-1::", "é::",
        ] {
            assert!(
                matches!(assert_rejected(wire), DecodeError::UnknownType(_)),
                "{wire}"
            );
        }
    }

    #[test]
    fn unknown_type_error_keeps_at_most_sixteen_characters() {
        let long = format!("{}:::", "é".repeat(100));
        assert_eq!(
            assert_rejected(&long),
            DecodeError::UnknownType("é".repeat(16))
        );
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for wire in [
            "3:x::a",
            "3:+::a",
            "3:1x::a",
            "3:+1::a",
            "3:1++::a",
            "3: 1::a",
            "3:-1::a",
            "3:99999999999999999999::a",
        ] {
            assert_eq!(assert_rejected(wire), DecodeError::Malformed, "{wire}");
        }
    }

    #[test]
    fn missing_second_colon_is_rejected() {
        for wire in ["0:", "1:/chat", "3:hello", "2:1"] {
            assert_eq!(assert_rejected(wire), DecodeError::Malformed, "{wire}");
        }
    }

    #[test]
    fn ids_up_to_u64_max_round_trip() {
        let wire = format!("3:{}+::x", u64::MAX);
        assert_wire(
            &wire,
            &packet("", id_plus(u64::MAX), PacketBody::Message("x".into())),
        );
        assert_wire("2:0:", &packet("", id(0), PacketBody::Heartbeat));
    }

    #[test]
    fn leading_zeros_in_ids_are_accepted() {
        assert_eq!(decode("3:007::x").unwrap().id, id(7));
    }

    #[test]
    fn data_after_types_without_data_is_ignored() {
        assert_eq!(
            decode("0::/chat:junk").unwrap(),
            Packet::on("/chat", PacketBody::Disconnect)
        );
        assert_eq!(decode("2:::x").unwrap(), Packet::new(PacketBody::Heartbeat));
        assert_eq!(decode("8:::x").unwrap(), Packet::new(PacketBody::Noop));
    }

    // Builders and encoding helpers

    #[test]
    fn builders_set_endpoint_and_id() {
        let built = Packet::on("/chat", PacketBody::Heartbeat).with_id(MessageId {
            value: 3,
            data: true,
        });
        assert_eq!(built, packet("/chat", id_plus(3), PacketBody::Heartbeat));
        assert_eq!(built.encode(), "2:3+:/chat");
        assert_eq!(Packet::new(PacketBody::Noop).endpoint, "");
    }

    #[test]
    fn encode_into_appends_to_existing_text() {
        let mut out = String::from("prefix|");
        Packet::new(PacketBody::Heartbeat).encode_into(&mut out);
        assert_eq!(out, "prefix|2::");
    }

    #[test]
    fn type_codes_match_the_table() {
        let bodies = [
            PacketBody::Disconnect,
            PacketBody::Connect { query: None },
            PacketBody::Heartbeat,
            PacketBody::Message(String::new()),
            PacketBody::Json(Value::Null),
            event("e", vec![]),
            PacketBody::Ack {
                acked: 1,
                args: None,
            },
            PacketBody::Error {
                reason: None,
                advice: None,
            },
            PacketBody::Noop,
        ];
        for (code, body) in bodies.iter().enumerate() {
            assert_eq!(usize::from(body.type_code()), code);
            assert!(
                Packet::new(body.clone())
                    .encode()
                    .starts_with(&format!("{code}:"))
            );
        }
    }
}
