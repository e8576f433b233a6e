//! Emits to many sessions of a namespace (docs/protocol.md §4.11), and the one check every
//! emit of the application passes.

use std::sync::Arc;

use ferrio_protocol::{Packet, PacketBody, is_reserved_event};
use serde::Serialize;
use serde_json::Value;
use tracing::warn;

use crate::cluster::{BroadcastBody, ClusterBroadcast, ClusterMessage};
use crate::encoded::Form;
use crate::generation::Generation;
use crate::hub::HubInner;
use crate::namespace::NamespaceInner;
use crate::translate::{Names, encode_for};

/// The packet body of an event the application emits, to one socket or to many; `None`, and
/// a warning, for a reserved name, which the client would take for one of its own lifecycle
/// events (docs/protocol.md §3.8).
pub(crate) fn emitted_event(event: &str, args: Vec<Value>) -> Option<PacketBody> {
    if is_reserved_event(event) {
        warn!(event, "refusing to emit a reserved event name");
        return None;
    }
    Some(PacketBody::Event {
        name: event.to_owned(),
        args,
    })
}

/// The packet body of an event carrying `data` as its one argument; `None`, and a warning,
/// for a reserved name or data that has no JSON form (a map with non-string keys, say).
pub(crate) fn emitted_data(event: &str, data: impl Serialize) -> Option<PacketBody> {
    match serde_json::to_value(data) {
        Ok(value) => emitted_event(event, vec![value]),
        Err(error) => {
            warn!(event, %error, "refusing to emit data that has no JSON form");
            None
        }
    }
}

/// An emit to many sessions, built like Socket.IO's `broadcast.to(room)`. The packet is
/// encoded once and its bytes shared by every outbox.
#[derive(Debug, Clone)]
#[must_use = "a broadcast does nothing until emit, send or json is called"]
pub struct Broadcast {
    hub: Arc<HubInner>,
    namespace: Arc<NamespaceInner>,
    room: String,
    except: Option<Arc<str>>,
    volatile: bool,
}

impl Broadcast {
    /// Every member of `namespace` but the session `except`, buffered for those without a
    /// ready transport.
    pub(crate) fn new(
        hub: Arc<HubInner>,
        namespace: Arc<NamespaceInner>,
        except: Option<Arc<str>>,
    ) -> Self {
        Broadcast {
            hub,
            namespace,
            room: String::new(),
            except,
            volatile: false,
        }
    }

    /// Only the members of `room`.
    pub fn to(mut self, room: &str) -> Self {
        self.room = room.to_owned();
        self
    }

    /// Alias of [`Broadcast::to`] (`in` is a Rust keyword).
    pub fn in_room(self, room: &str) -> Self {
        self.to(room)
    }

    /// Everyone targeted except the session `sid`.
    pub fn except(mut self, sid: &str) -> Self {
        self.except = Some(sid.into());
        self
    }

    /// Drop the packet for targets without a ready transport instead of buffering it.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Emits `event` with `data`, any [`Serialize`] value, as its one argument; returns how
    /// many sessions of this node took it (in a cluster, the other nodes deliver it too).
    /// Reserved names (docs/protocol.md §3.8) and data without a JSON form are refused with
    /// a warning, and reach nobody.
    pub fn emit(self, event: &str, data: impl Serialize) -> usize {
        emitted_data(event, data).map_or(0, |body| self.deliver(body))
    }

    /// Emits `event` with any number of arguments (`emit('e', a, b)`), as they are.
    pub fn emit_args(self, event: &str, args: Vec<Value>) -> usize {
        emitted_event(event, args).map_or(0, |body| self.deliver(body))
    }

    /// Sends a text message (type 3).
    pub fn send(self, text: &str) -> usize {
        self.deliver(PacketBody::Message(text.to_owned()))
    }

    /// Sends a JSON message (type 4).
    pub fn json(self, value: Value) -> usize {
        self.deliver(PacketBody::Json(value))
    }

    /// Delivers to this node's members, and hands the broadcast to the cluster's other nodes
    /// when there is one.
    fn deliver(self, body: PacketBody) -> usize {
        if let Some(cluster) = self.hub.cluster()
            && let Some(shared) = BroadcastBody::from_packet_body(&body)
        {
            cluster.publish(ClusterMessage::Broadcast(ClusterBroadcast {
                namespace: self.namespace.name.clone(),
                room: self.room.clone(),
                except: self.except.iter().map(|sid| sid.to_string()).collect(),
                volatile: self.volatile,
                body: shared,
            }));
        }
        let except: Vec<&str> = self.except.as_deref().into_iter().collect();
        deliver_here(
            &self.hub,
            &self.namespace,
            &self.room,
            &except,
            self.volatile,
            body,
        )
    }
}

/// Does what another node asked: a broadcast delivered to this node's members, an emit to or
/// a kick of a session this node holds (nothing if it holds none of that id). Returns how
/// many sessions took a packet or were ended.
pub(crate) fn apply_from_cluster(hub: &HubInner, message: ClusterMessage) -> usize {
    match message {
        ClusterMessage::Broadcast(broadcast) => deliver_from_cluster(hub, broadcast),
        ClusterMessage::Emit {
            sid,
            namespace,
            body,
        } => {
            let Some(namespace) = hub.namespace(&namespace) else {
                return 0;
            };
            let held = hub
                .session(&sid)
                .filter(|session| session.has_joined(&namespace.name));
            let Some(session) = held else {
                return 0;
            };
            let packet = Packet::on(namespace.name.clone(), body.into_packet_body());
            usize::from(hub.push_packet(&session, &packet, false))
        }
        ClusterMessage::Kick { sid } => usize::from(hub.kick(&sid)),
    }
}

/// Delivers a broadcast another node made to this node's members.
fn deliver_from_cluster(hub: &HubInner, broadcast: ClusterBroadcast) -> usize {
    let Some(namespace) = hub.namespace(&broadcast.namespace) else {
        // No application here declared it, so nobody here can have joined it.
        return 0;
    };
    let except: Vec<&str> = broadcast.except.iter().map(String::as_str).collect();
    deliver_here(
        hub,
        &namespace,
        &broadcast.room,
        &except,
        broadcast.volatile,
        broadcast.body.into_packet_body(),
    )
}

/// Encodes `body` once per wire generation among the receivers, and queues the bytes for
/// every member of `room` in `namespace` on this node but the sessions in `except`.
fn deliver_here(
    hub: &HubInner,
    namespace: &NamespaceInner,
    room: &str,
    except: &[&str],
    volatile: bool,
    body: PacketBody,
) -> usize {
    // With connection state recovery on, a broadcast event is logged, and Socket.IO 5
    // clients get its offset as a last argument (the reference's form).
    let offset = match (&hub.recovery, &body) {
        (Some(recovery), PacketBody::Event { .. }) if !volatile => {
            Some(recovery.log(&namespace.name, room, except, &body))
        }
        _ => None,
    };
    let packet = Packet::on(namespace.name.clone(), body);
    let with_offset = offset.map(|offset| with_offset(&packet, offset));
    let mut forms = Forms::new(&packet, with_offset.as_ref());
    let mut delivered = 0;
    for session in namespace.members(room) {
        if except.contains(&&*session.id) {
            continue;
        }
        let Some(form) = forms.for_generation(session.generation) else {
            hub.undeliverable(&packet);
            continue;
        };
        if hub.push_form(&session, &form, volatile) {
            delivered += 1;
        }
    }
    delivered
}

/// One packet's wire forms, each built the first time a receiver of its generation needs it
/// and shared by every other.
struct Forms<'a> {
    packet: &'a Packet,
    /// The packet for Socket.IO 5 clients, when it differs: its recovery offset appended.
    for_recovery: Option<&'a Packet>,
    /// By [`generation_slot`]: not built yet, or built (`None` when the packet has no
    /// meaning in that generation).
    built: [Option<Option<Form>>; 3],
}

impl<'a> Forms<'a> {
    fn new(packet: &'a Packet, for_recovery: Option<&'a Packet>) -> Self {
        Forms {
            packet,
            for_recovery,
            built: [None, None, None],
        }
    }

    fn for_generation(&mut self, generation: Generation) -> Option<Form> {
        self.built[generation_slot(generation)]
            .get_or_insert_with(|| {
                let packet = match (generation, self.for_recovery) {
                    (Generation::Engine(ferrio_eio::Revision::V4), Some(packet)) => packet,
                    _ => self.packet,
                };
                encode_for(packet, generation, Names::default())
            })
            .clone()
    }
}

/// `packet`, an event, with `offset` as its last argument: what a Socket.IO 5 client
/// remembers to recover from.
pub(crate) fn with_offset(packet: &Packet, offset: String) -> Packet {
    let mut packet = packet.clone();
    if let PacketBody::Event { args, .. } = &mut packet.body {
        args.push(serde_json::Value::String(offset));
    }
    packet
}

/// Where [`Forms`] keeps the form of `generation`.
fn generation_slot(generation: Generation) -> usize {
    match generation {
        Generation::Legacy => 0,
        Generation::Engine(ferrio_eio::Revision::V3) => 1,
        Generation::Engine(ferrio_eio::Revision::V4) => 2,
    }
}
