//! The hub speaks the 0.9 packet model inside; this is where a packet meets the generation of
//! the session it goes to or comes from. 0.9 sessions get it as it is; an Engine.IO session
//! gets the Socket.IO packet that means the same, in an Engine.IO `message`:
//!
//! | 0.9, inside the hub | Socket.IO v5 (v4) on the wire |
//! |---|---|
//! | `1::/ns` (joined) | `40/ns,{"sid":"<socket id>"}` (`40/ns,`) |
//! | `0::/ns` (left) | `41/ns,` |
//! | `5:id+:/ns:{"name":"e","args":[…]}` | `42/ns,id["e",…]` |
//! | `3:::text`, `4:::json` | `42["message",text]`, `42["message",json]` |
//! | `6:::id+[…]` | `43id[…]` |
//! | `7::/ns:2` (refused) | `44/ns,{"message":"Not authorized"}` (`44/ns,"Not authorized"`) |
//!
//! and back. A buffer among the arguments (in its JSON form, `crate::binary`) becomes a
//! binary attachment (`45…`, `46…`) and back. Packets with no meaning in Socket.IO (heartbeats, noops, other errors) are not
//! written to an Engine.IO session; its heartbeat is Engine.IO's own.

use ferrio_eio::Revision as EngineRevision;
use ferrio_protocol::{ErrorReason, MessageId, Packet, PacketBody};
use ferrio_sio::{Arguments, EventName, Namespace, Revision as SocketRevision};
use serde_json::Value;

use crate::binary;
use crate::encoded::{Encoded, Form};
use crate::generation::Generation;

/// The Socket.IO revision an Engine.IO revision carries: socket.io-client 1.x–2.x speak
/// Engine.IO 3 and Socket.IO 4; 3.x–4.x speak Engine.IO 4 and Socket.IO 5.
pub(crate) fn socket_revision(engine: EngineRevision) -> SocketRevision {
    match engine {
        EngineRevision::V3 => SocketRevision::V4,
        EngineRevision::V4 => SocketRevision::V5,
    }
}

/// The Socket.IO namespace of a hub endpoint: `/` for the default one (`""`).
fn namespace_of(endpoint: &str) -> Option<Namespace> {
    if endpoint.is_empty() {
        Some(Namespace::root())
    } else {
        Namespace::new(endpoint).ok()
    }
}

/// The hub endpoint of a Socket.IO namespace: `""` for `/`.
pub(crate) fn endpoint_of(namespace: &Namespace) -> String {
    if namespace.is_root() {
        String::new()
    } else {
        namespace.as_str().to_owned()
    }
}

/// What the `CONNECT` answer to a Socket.IO 5 client names: its socket id, and its private
/// id when connection state recovery is on. Packets for several sessions name neither.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Names<'a> {
    pub(crate) socket_id: &'a str,
    pub(crate) pid: Option<&'a str>,
}

/// `packet` in the wire form of `generation`; `None` when it has no meaning there. A
/// buffer among a packet's arguments (`crate::binary`) is a binary attachment for an
/// Engine.IO session: the packet's text, then each attachment as a binary message.
pub(crate) fn encode_for(
    packet: &Packet,
    generation: Generation,
    names: Names<'_>,
) -> Option<Form> {
    match generation {
        Generation::Legacy => Some(Form::Single(Encoded::new(packet))),
        Generation::Engine(engine) => {
            let revision = socket_revision(engine);
            let sio = to_socket_io(packet, revision, names)?;
            let mut text = String::from("4");
            text.push_str(&ferrio_sio::encode_text(&sio));
            let text = Encoded::from_text(text);
            let attachments = sio.attachments();
            if attachments.is_empty() {
                return Some(Form::Single(text));
            }
            let units: Vec<Encoded> = std::iter::once(text)
                .chain(attachments.iter().map(|data| Encoded::binary(data)))
                .collect();
            Some(Form::Group(units.into()))
        }
    }
}

/// `args` as a Socket.IO argument array, written straight from the slice, or with each
/// buffer as an attachment when there is one.
fn json_args(args: &[Value]) -> Arguments {
    if binary::has_binary(args) {
        let values: Vec<ferrio_sio::Value> = args.iter().map(binary::to_socket_io).collect();
        return Arguments::from_values(&values);
    }
    // Writing JSON values to a string cannot fail.
    Arguments::from_trusted_json(serde_json::to_string(args).unwrap_or_default())
}

/// A client's arguments as the hub's JSON, each attachment in its place as a buffer's JSON
/// form; `None` when they do not parse.
fn hub_args(args: &Arguments) -> Option<Vec<Value>> {
    if !args.has_attachments() {
        return serde_json::from_str(args.json()).ok();
    }
    let values = args.to_values().ok()?;
    Some(values.into_iter().map(binary::from_socket_io).collect())
}

/// The Socket.IO packet that means what the 0.9 `packet` means.
fn to_socket_io(
    packet: &Packet,
    revision: SocketRevision,
    names: Names<'_>,
) -> Option<ferrio_sio::Packet> {
    let namespace = namespace_of(&packet.endpoint)?;
    let with_ack = |sio: ferrio_sio::Packet| match (sio, packet.id) {
        (
            ferrio_sio::Packet::Event {
                namespace,
                name,
                args,
                ..
            },
            Some(MessageId { value, .. }),
        ) => ferrio_sio::Packet::Event {
            namespace,
            ack_id: Some(value),
            name,
            args,
        },
        (sio, _) => sio,
    };
    Some(match &packet.body {
        PacketBody::Connect { .. } => {
            let mut accepted =
                ferrio_sio::Packet::connect_accepted(revision, namespace, names.socket_id);
            if let (
                ferrio_sio::Packet::Connect {
                    data: Some(data), ..
                },
                Some(pid),
            ) = (&mut accepted, names.pid)
            {
                data.insert("pid".to_owned(), Value::String(pid.to_owned()));
            }
            accepted
        }
        PacketBody::Disconnect => ferrio_sio::Packet::disconnect(namespace),
        // A Socket.IO client would take it for one of its own lifecycle events.
        PacketBody::Event { name, .. } if ferrio_sio::is_reserved_event(name) => return None,
        PacketBody::Event { name, args } => with_ack(ferrio_sio::Packet::event(
            namespace,
            EventName::from(name.as_str()),
            json_args(args),
        )),
        PacketBody::Message(text) => with_ack(ferrio_sio::Packet::event(
            namespace,
            EventName::from("message"),
            json_args(&[Value::String(text.clone())]),
        )),
        PacketBody::Json(value) => with_ack(ferrio_sio::Packet::event(
            namespace,
            EventName::from("message"),
            json_args(std::slice::from_ref(value)),
        )),
        PacketBody::Ack { acked, args } => ferrio_sio::Packet::ack(
            namespace,
            *acked,
            json_args(args.as_deref().unwrap_or_default()),
        ),
        PacketBody::Error {
            reason: Some(ErrorReason::Unauthorized),
            ..
        } => ferrio_sio::Packet::connect_error(revision, namespace, "Not authorized", None),
        PacketBody::Error { .. } | PacketBody::Heartbeat | PacketBody::Noop => return None,
    })
}

/// What a Socket.IO client that asked for an undeclared namespace is told (0.9 clients are
/// told nothing, as by the reference): `44/ns,{"message":"Invalid namespace"}`.
pub(crate) fn invalid_namespace(endpoint: &str, generation: Generation) -> Option<Encoded> {
    connect_refusal(endpoint, generation, "Invalid namespace", None)
}

/// The `CONNECT_ERROR` a Socket.IO client refused a namespace gets, in its revision's shape;
/// `None` for a 0.9 client.
pub(crate) fn connect_refusal(
    endpoint: &str,
    generation: Generation,
    message: &str,
    data: Option<Value>,
) -> Option<Encoded> {
    let Generation::Engine(engine) = generation else {
        return None;
    };
    let namespace = namespace_of(endpoint)?;
    let refusal =
        ferrio_sio::Packet::connect_error(socket_revision(engine), namespace, message, data);
    Some(Encoded::from_text(format!(
        "4{}",
        ferrio_sio::encode_text(&refusal)
    )))
}

/// The 0.9 packet that means what the Socket.IO `packet` from a client means; `None` for
/// what a client never sends (a CONNECT_ERROR).
pub(crate) fn from_socket_io(packet: ferrio_sio::Packet) -> Option<Packet> {
    let endpoint = endpoint_of(packet.namespace());
    let (id, body) = match packet {
        ferrio_sio::Packet::Connect { query, .. } => (None, PacketBody::Connect { query }),
        ferrio_sio::Packet::Disconnect { .. } => (None, PacketBody::Disconnect),
        ferrio_sio::Packet::Event {
            ack_id, name, args, ..
        } => {
            let name = match name {
                EventName::Text(name) => name,
                EventName::Number(number) => number.to_string(),
            };
            let args = hub_args(&args)?;
            let id = ack_id.map(|value| MessageId { value, data: true });
            let body = match (name.as_str(), args.as_slice()) {
                ("message", [Value::String(text)]) => PacketBody::Message(text.clone()),
                ("message", [value]) => PacketBody::Json(value.clone()),
                _ => PacketBody::Event { name, args },
            };
            (id, body)
        }
        ferrio_sio::Packet::Ack { ack_id, args, .. } => {
            let args = hub_args(&args)?;
            (
                None,
                PacketBody::Ack {
                    acked: ack_id,
                    args: Some(args),
                },
            )
        }
        ferrio_sio::Packet::ConnectError { .. } => return None,
    };
    Some(Packet { endpoint, id, body })
}
