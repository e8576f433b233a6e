//! The modern generations the loadgen also speaks: Engine.IO 4 with Socket.IO 5
//! (`socket.io-client` 3.x–4.x) and Engine.IO 3 with Socket.IO 4 (`socket.io-client` 1.x–2.x).
//!
//! The scenarios think in 0.9 packets. A modern session translates each packet a scenario
//! sends into its wire form, and each packet the server sends back into a 0.9 packet, by the
//! rules of docs/modern.md ("One hub, two generations"): `5:::{"name":"e","args":[…]}` is
//! `42["e",…]`, `3:7+::text` is `427["message","text"]`, `6:::7+[…]` is `437[…]`, `2::` (the
//! answer to a heartbeat) is the Engine.IO pong `3`, or in revision 3, where the client pings,
//! the ping `2`. So every scenario runs unchanged against socket.io 4.8, socketioxide and
//! ferrio's modern side.
//!
//! Binary data is marked in the 0.9 JSON as `{"_bytes": N}`: said, it becomes an attachment of
//! N bytes; heard, every attachment becomes the same mark with its length, so a receiver checks
//! sizes without copying the bytes into JSON.

use bytes::Bytes;
use clap::ValueEnum;
use ferrio_eio::{Handshake, PacketData, PacketType, Revision as EioRevision};
use ferrio_protocol::{MessageId, Packet, PacketBody};
use ferrio_sio::{
    Arguments, DecodeOptions, EventName, Namespace, Packet as SioPacket, Reassembler,
    Revision as SioRevision, Value as SioValue,
};
use serde_json::{Map, Value, json};

use crate::client::excerpt;
use crate::error::{Error, Result};

/// The key of the mark that stands for binary data in a scenario's JSON.
const BYTES_MARK: &str = "_bytes";

/// The byte binary data said by the loadgen is filled with.
const FILL: u8 = 0xA5;

/// The generation a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Protocol {
    /// Socket.IO 0.9 (protocol 1, `/socket.io/1/…`).
    #[value(name = "0.9")]
    Legacy,
    /// Engine.IO 3 with Socket.IO 4 (`socket.io-client` 1.x–2.x): the client pings.
    Eio3,
    /// Engine.IO 4 with Socket.IO 5 (`socket.io-client` 3.x–4.x): the server pings.
    Eio4,
}

impl Protocol {
    /// The name in the JSON line and on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Legacy => "0.9",
            Protocol::Eio3 => "eio3",
            Protocol::Eio4 => "eio4",
        }
    }

    /// The Engine.IO revision, for a modern generation.
    pub(crate) fn revision(self) -> Option<EioRevision> {
        match self {
            Protocol::Legacy => None,
            Protocol::Eio3 => Some(EioRevision::V3),
            Protocol::Eio4 => Some(EioRevision::V4),
        }
    }
}

/// The Engine.IO path of `transport` (`polling` or `websocket`) under `resource`, with the
/// session's id once it has one.
pub(crate) fn engine_path(
    resource: &str,
    revision: EioRevision,
    transport: &str,
    sid: Option<&str>,
) -> String {
    let digit = revision.number();
    match sid {
        Some(sid) => format!("{resource}/?EIO={digit}&transport={transport}&sid={sid}"),
        None => format!("{resource}/?EIO={digit}&transport={transport}"),
    }
}

/// One message of a modern transport: a WebSocket message, or one packet of a polling body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// Text: one Engine.IO packet.
    Text(String),
    /// Bytes: one binary Engine.IO message (revision 3 with its type byte first).
    Binary(Bytes),
    /// A packet of a polling body, decoded with the body.
    Packet(ferrio_eio::Packet),
}

/// Reads the open packet `0{…}` a modern session starts with.
pub(crate) fn open_packet(revision: EioRevision, frame: &Frame) -> Result<Handshake> {
    let Frame::Text(text) = frame else {
        return Err(Error::protocol("expected the open packet as text"));
    };
    let packet = ferrio_eio::Packet::decode_text(revision, text).map_err(|error| {
        Error::protocol(format!("bad open packet ({error}) in {}", excerpt(text)))
    })?;
    match (packet.packet_type, packet.data) {
        (PacketType::Open, PacketData::Text(json)) => Handshake::from_json(&json)
            .map_err(|error| Error::protocol(format!("bad open packet ({error}): {json}"))),
        _ => Err(Error::protocol(format!(
            "expected the open packet, got {}",
            excerpt(text)
        ))),
    }
}

/// The sending side of a modern session: stateless, so a writer task can own a copy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Speaker {
    revision: EioRevision,
}

impl Speaker {
    /// The speaker of `revision`.
    pub(crate) fn new(revision: EioRevision) -> Self {
        Speaker { revision }
    }

    /// The Engine.IO revision spoken.
    pub(crate) fn revision(self) -> EioRevision {
        self.revision
    }

    /// The Engine.IO packets that carry the 0.9 packet `text`.
    pub(crate) fn packets(self, text: &str) -> Result<Vec<ferrio_eio::Packet>> {
        let packet = ferrio_protocol::decode(text).map_err(|error| {
            Error::Setup(format!("the loadgen wrote a bad packet {text:?}: {error}"))
        })?;
        let namespace = namespace(&packet.endpoint)?;
        let ack_id = packet.id.map(|id| id.value);
        let sio = match packet.body {
            PacketBody::Heartbeat => {
                let answer = match self.revision {
                    EioRevision::V3 => PacketType::Ping,
                    EioRevision::V4 => PacketType::Pong,
                };
                return Ok(vec![ferrio_eio::Packet::bare(answer)]);
            }
            PacketBody::Connect { .. } => SioPacket::connect(namespace),
            PacketBody::Disconnect => SioPacket::Disconnect { namespace },
            PacketBody::Event { name, args } => SioPacket::Event {
                namespace,
                ack_id,
                name: EventName::from(name),
                args: arguments(&args),
            },
            PacketBody::Message(text) => SioPacket::Event {
                namespace,
                ack_id,
                name: EventName::from("message"),
                args: arguments(&[Value::String(text)]),
            },
            PacketBody::Json(value) => SioPacket::Event {
                namespace,
                ack_id,
                name: EventName::from("message"),
                args: arguments(&[value]),
            },
            PacketBody::Ack { acked, args } => SioPacket::Ack {
                namespace,
                ack_id: acked,
                args: arguments(&args.unwrap_or_default()),
            },
            PacketBody::Error { .. } | PacketBody::Noop => {
                return Err(Error::Setup(format!(
                    "{text:?} has no Socket.IO form: a client does not send it"
                )));
            }
        };
        let (text, attachments) = ferrio_sio::encode(&sio);
        let mut packets = Vec::with_capacity(1 + attachments.len());
        packets.push(ferrio_eio::Packet::message(text));
        packets.extend(
            attachments
                .into_iter()
                .map(|bytes| ferrio_eio::Packet::binary(PacketType::Message, bytes.to_vec())),
        );
        Ok(packets)
    }
}

/// The namespace of a 0.9 endpoint (`""` is `/`).
fn namespace(endpoint: &str) -> Result<Namespace> {
    if endpoint.is_empty() {
        return Ok(Namespace::root());
    }
    Namespace::new(endpoint)
        .map_err(|error| Error::Setup(format!("bad namespace {endpoint:?}: {error}")))
}

/// Socket.IO arguments for 0.9 JSON arguments, each `{"_bytes": N}` made N bytes of binary.
fn arguments(args: &[Value]) -> Arguments {
    let values: Vec<SioValue> = args.iter().map(said).collect();
    Arguments::from_values(&values)
}

fn said(value: &Value) -> SioValue {
    match value {
        Value::Object(map) => match bytes_mark(map) {
            Some(length) => SioValue::Binary(Bytes::from(vec![FILL; length])),
            None => SioValue::Object(
                map.iter()
                    .map(|(key, item)| (key.clone(), said(item)))
                    .collect(),
            ),
        },
        Value::Array(items) => SioValue::Array(items.iter().map(said).collect()),
        other => SioValue::from(other.clone()),
    }
}

/// The length a `{"_bytes": N}` mark stands for.
pub(crate) fn bytes_mark(map: &Map<String, Value>) -> Option<usize> {
    if map.len() != 1 {
        return None;
    }
    map.get(BYTES_MARK)?
        .as_u64()
        .and_then(|length| usize::try_from(length).ok())
}

/// The mark that stands for `length` bytes of binary data.
pub(crate) fn bytes_of(length: usize) -> Value {
    json!({ BYTES_MARK: length })
}

/// What one frame from the server means to a scenario.
#[derive(Debug)]
pub(crate) enum Heard {
    /// The server pinged (revision 4): answer with a pong.
    Ping,
    /// Nothing a scenario sees: a pong, a noop, or an attachment still awaited.
    Nothing,
    /// A packet, in 0.9 form.
    Packet(Packet),
}

/// The receiving side of a modern session: it rebuilds binary packets from their attachments.
#[derive(Debug)]
pub(crate) struct Listener {
    revision: EioRevision,
    reassembler: Reassembler,
}

impl Listener {
    /// The listener of `revision`.
    pub(crate) fn new(revision: EioRevision) -> Self {
        let sio = match revision {
            EioRevision::V3 => SioRevision::V4,
            EioRevision::V4 => SioRevision::V5,
        };
        Listener {
            revision,
            reassembler: Reassembler::new(DecodeOptions::new(sio)),
        }
    }

    /// What `frame` means. A close packet, a ping against the revision's direction, an
    /// open or upgrade packet, or anything undecodable is an error.
    pub(crate) fn hear(&mut self, frame: Frame) -> Result<Heard> {
        let packet = match frame {
            Frame::Text(text) => ferrio_eio::Packet::decode_text(self.revision, &text),
            Frame::Binary(bytes) => ferrio_eio::Packet::decode_binary(self.revision, &bytes),
            Frame::Packet(packet) => Ok(packet),
        }
        .map_err(|error| Error::protocol(format!("undecodable Engine.IO packet: {error}")))?;
        let sio = match (packet.packet_type, packet.data) {
            (PacketType::Ping, _) if self.revision == EioRevision::V4 => return Ok(Heard::Ping),
            (PacketType::Pong | PacketType::Noop, _) => return Ok(Heard::Nothing),
            (PacketType::Close, _) => {
                return Err(Error::Closed(
                    "the server closed the session (1)".to_owned(),
                ));
            }
            (PacketType::Message, PacketData::Text(text)) => self.reassembler.push_text(&text),
            (PacketType::Message, PacketData::Binary(bytes)) => {
                self.reassembler.push_binary(Bytes::from(bytes))
            }
            (other, _) => {
                return Err(Error::protocol(format!(
                    "unexpected Engine.IO packet of type {} from the server",
                    other.digit()
                )));
            }
        }
        .map_err(|error| Error::protocol(format!("undecodable Socket.IO packet: {error}")))?;
        match sio {
            Some(sio) => heard(sio).map(Heard::Packet),
            None => Ok(Heard::Nothing),
        }
    }
}

/// A Socket.IO packet from the server in 0.9 form.
fn heard(packet: SioPacket) -> Result<Packet> {
    let endpoint = |namespace: &Namespace| match namespace.as_str() {
        "/" => String::new(),
        other => other.to_owned(),
    };
    Ok(match packet {
        SioPacket::Connect { namespace, .. } => {
            Packet::on(endpoint(&namespace), PacketBody::Connect { query: None })
        }
        SioPacket::Disconnect { namespace } => {
            Packet::on(endpoint(&namespace), PacketBody::Disconnect)
        }
        SioPacket::Event {
            namespace,
            ack_id,
            name,
            args,
        } => {
            let packet = Packet::on(
                endpoint(&namespace),
                PacketBody::Event {
                    name: name.to_string(),
                    args: json_of(&args)?,
                },
            );
            match ack_id {
                Some(value) => packet.with_id(MessageId { value, data: true }),
                None => packet,
            }
        }
        SioPacket::Ack {
            namespace,
            ack_id,
            args,
        } => Packet::on(
            endpoint(&namespace),
            PacketBody::Ack {
                acked: ack_id,
                args: Some(json_of(&args)?),
            },
        ),
        SioPacket::ConnectError { namespace, .. } => Packet::on(
            endpoint(&namespace),
            PacketBody::Error {
                reason: None,
                advice: None,
            },
        ),
    })
}

/// Arguments as 0.9 JSON, each attachment as its `{"_bytes": N}` mark.
fn json_of(args: &Arguments) -> Result<Vec<Value>> {
    let values = args
        .to_values()
        .map_err(|error| Error::protocol(format!("bad arguments: {error}")))?;
    Ok(values.iter().map(heard_value).collect())
}

fn heard_value(value: &SioValue) -> Value {
    match value {
        SioValue::Null => Value::Null,
        SioValue::Bool(flag) => Value::Bool(*flag),
        SioValue::Number(number) => Value::Number(number.clone()),
        SioValue::String(text) => Value::String(text.clone()),
        SioValue::Array(items) => Value::Array(items.iter().map(heard_value).collect()),
        SioValue::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, item)| (key.clone(), heard_value(item)))
                .collect(),
        ),
        SioValue::Binary(bytes) => bytes_of(bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(speaker: Speaker, text: &str) -> Vec<ferrio_eio::Packet> {
        speaker.packets(text).expect("a packet the loadgen writes")
    }

    #[test]
    fn scenario_packets_are_said_as_socket_io_5() {
        let v4 = Speaker::new(EioRevision::V4);
        let event = texts(
            v4,
            r#"5:::{"name":"toServer","args":[{"nome":"s","msg":"1"}]}"#,
        );
        assert_eq!(
            event,
            [ferrio_eio::Packet::message(
                r#"2["toServer",{"nome":"s","msg":"1"}]"#
            )]
        );
        assert_eq!(
            texts(v4, "3:7+::hello"),
            [ferrio_eio::Packet::message(r#"27["message","hello"]"#)]
        );
        assert_eq!(
            texts(v4, "2::"),
            [ferrio_eio::Packet::bare(PacketType::Pong)]
        );
        assert_eq!(
            texts(Speaker::new(EioRevision::V3), "2::"),
            [ferrio_eio::Packet::bare(PacketType::Ping)]
        );
        assert_eq!(texts(v4, "0::"), [ferrio_eio::Packet::message("1")]);
        assert!(v4.packets("8::").is_err());
    }

    #[test]
    fn a_bytes_mark_is_said_as_an_attachment() {
        let v4 = Speaker::new(EioRevision::V4);
        let said = texts(
            v4,
            r#"5:::{"name":"toServer","args":[{"nome":"s","data":{"_bytes":3}}]}"#,
        );
        assert_eq!(
            said,
            [
                ferrio_eio::Packet::message(
                    r#"51-["toServer",{"nome":"s","data":{"_placeholder":true,"num":0}}]"#
                ),
                ferrio_eio::Packet::binary(PacketType::Message, vec![FILL; 3]),
            ]
        );
    }

    #[test]
    fn server_packets_are_heard_in_0_9_form() {
        let mut listener = Listener::new(EioRevision::V4);
        let text = |text: &str| Frame::Text(text.to_owned());
        assert!(matches!(listener.hear(text("2")), Ok(Heard::Ping)));
        assert!(matches!(listener.hear(text("6")), Ok(Heard::Nothing)));
        let Ok(Heard::Packet(ack)) = listener.hear(text(r#"437["hello"]"#)) else {
            panic!("an ack");
        };
        assert_eq!(ack.encode(), r#"6:::7+["hello"]"#);
        let Ok(Heard::Packet(connected)) = listener.hear(text(r#"40{"sid":"x"}"#)) else {
            panic!("a connect");
        };
        assert_eq!(connected.encode(), "1::");
        assert!(matches!(
            listener.hear(text(
                r#"451-["toClient","s:1:2:",{"_placeholder":true,"num":0}]"#
            )),
            Ok(Heard::Nothing)
        ));
        let Ok(Heard::Packet(event)) = listener.hear(Frame::Binary(Bytes::from_static(&[1; 5])))
        else {
            panic!("the event, whole");
        };
        assert_eq!(
            event.encode(),
            r#"5:::{"name":"toClient","args":["s:1:2:",{"_bytes":5}]}"#
        );
        assert!(matches!(listener.hear(text("1")), Err(Error::Closed(_))));
        assert!(matches!(listener.hear(text("9")), Err(Error::Protocol(_))));
    }

    #[test]
    fn revision_3_servers_do_not_ping() {
        let mut listener = Listener::new(EioRevision::V3);
        assert!(matches!(
            listener.hear(Frame::Text("2".to_owned())),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            listener.hear(Frame::Text("3".to_owned())),
            Ok(Heard::Nothing)
        ));
    }

    #[test]
    fn the_open_packet_is_read() {
        let frame = Frame::Text(
            r#"0{"sid":"abc","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
                .to_owned(),
        );
        let handshake = open_packet(EioRevision::V4, &frame).expect("an open packet");
        assert_eq!(
            (handshake.sid.as_str(), handshake.ping_interval),
            ("abc", 300)
        );
        assert!(open_packet(EioRevision::V4, &Frame::Text("40".to_owned())).is_err());
        assert_eq!(
            engine_path("/socket.io", EioRevision::V4, "polling", Some("abc")),
            "/socket.io/?EIO=4&transport=polling&sid=abc"
        );
    }
}
