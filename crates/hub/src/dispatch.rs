//! What the client's packets mean, and where the server's go: each decoded packet becomes a
//! heartbeat, a namespace joined or left, an ack, or a call of the application's handlers
//! (docs/protocol.md §3, §4); every packet for a client is queued here.

use std::sync::Arc;

use ferrio_protocol::{ErrorReason, MessageId, Packet, PacketBody, is_reserved_event};
use tracing::{debug, info, warn};

use crate::budget::{Spent, packet_size};
use crate::encoded::{Encoded, Form};
use crate::generation::Generation;
use crate::handshake::Authorization;
use crate::hub::{AUTHORIZATION_TIMEOUT, HubInner, timed_out};
use crate::namespace::{Join, JoinRequest, Message, NamespaceAuthorization, NamespaceInner};
use crate::reason::DisconnectReason;
use crate::session::{Bound, Bounds, Establish, Hold, Phase, Pushed, Session};
use crate::socket::{AckSender, Socket};
use crate::translate::{Names, connect_refusal, encode_for, invalid_namespace};

/// What a `message` or event packet hands to the application.
enum Delivery {
    Message(Message),
    Event(String, Vec<serde_json::Value>),
}

impl HubInner {
    /// Handles packets the client of `session` sent, whichever way they came: looked up by
    /// session id ([`crate::Hub::ingest`]) or from the connection that holds the session
    /// ([`crate::Attachment::ingest`]).
    ///
    /// Every packet but a disconnect is spent from the session's inbound budget first, here
    /// for every transport: one over it is not processed, and the client is told with
    /// `7:{endpoint}:0` at most once a second — reason 0, `transport not supported`, the one
    /// code of the error table the reference never sends, so the 0.9 client fires `error` on
    /// that namespace and neither reconnects nor mistakes it for a refused namespace. A client
    /// that keeps sending more than twice its budget is ended with `0::`
    /// (`budget exceeded`), which stops a 0.9 client from reconnecting in a loop.
    pub(crate) fn ingest(&self, session: &Arc<Session>, packets: Vec<Packet>) {
        // A Socket.IO session connects with its first namespace (`connect_namespace`).
        if session.generation == Generation::Legacy && !self.establish(session) {
            return;
        }
        for packet in packets {
            if session.phase() == Phase::Closed {
                debug!(sid = %session.id, "packets after the session ended are ignored");
                break;
            }
            let type_code = packet.body.type_code();
            if matches!(packet.body, PacketBody::Disconnect) {
                // Leaving is never refused.
                self.metrics
                    .packet_in(session.transport_and_backlog().0, type_code);
                self.handle(session, packet);
                continue;
            }
            let (spent, transport) = session.spend(packet_size(&packet), &self.config);
            self.metrics.packet_in(transport, type_code);
            match spent {
                Spent::Accepted => self.handle(session, packet),
                Spent::Refused { warn } => self.refuse(session, &packet.endpoint, warn),
                Spent::Exceeded => {
                    if let Some(suppressed) = self.limit_logs.budget_exceeded.admit() {
                        warn!(
                            sid = %session.id,
                            peer = %session.handshake.info.address,
                            suppressed,
                            "client kept sending over twice its inbound budget; ending the session"
                        );
                    }
                    self.end(session, DisconnectReason::BudgetExceeded, true);
                    break;
                }
            }
        }
    }

    /// A packet over the session's budget: counted, and the client told when `warn`.
    fn refuse(&self, session: &Arc<Session>, endpoint: &str, warn: bool) {
        self.metrics.refused();
        if !warn {
            return;
        }
        if let Some(suppressed) = self.limit_logs.refused_packets.admit() {
            info!(
                sid = %session.id,
                peer = %session.handshake.info.address,
                suppressed,
                "client over its inbound budget; its packets are refused"
            );
        }
        let error = Packet::on(
            endpoint,
            PacketBody::Error {
                reason: Some(ErrorReason::TransportNotSupported),
                advice: None,
            },
        );
        self.push_packet(session, &error, false);
    }

    /// Connects the session on its first transport request and runs the default namespace's
    /// connection handler. `false` when the node held `max_sessions` connected sessions
    /// already and the session was ended instead: the transport then answers as for an unknown
    /// session, and the client handshakes again.
    pub(crate) fn establish(&self, session: &Arc<Session>) -> bool {
        if session.phase() != Phase::Issued {
            return true;
        }
        if !self.occupancy.take_connected(self.config.max_sessions) {
            if let Some(suppressed) = self.limit_logs.node_full.admit() {
                info!(
                    sid = %session.id,
                    peer = %session.handshake.info.address,
                    suppressed,
                    "connection refused: node full"
                );
            }
            self.end(session, DisconnectReason::NodeFull, false);
            return false;
        }
        if session.establish() != Establish::Connected {
            // Another request connected or ended it meanwhile.
            self.occupancy.release_connected();
            return true;
        }
        self.occupancy.remove_unconnected(session.counted_as);
        debug!(sid = %session.id, "session connected");
        if session.generation != Generation::Legacy {
            return true;
        }
        if let Some(namespace) = self.namespace("") {
            namespace.add_member(session);
            self.fire(session, namespace, NamespaceInner::fire_connection);
        }
        true
    }

    fn handle(&self, session: &Arc<Session>, packet: Packet) {
        let Packet { endpoint, id, body } = packet;
        match body {
            PacketBody::Heartbeat => session.heartbeat_received(self.config.heartbeat_interval),
            // A Socket.IO client leaves its default namespace as any other; its Engine.IO
            // connection stays open for the others, as with the reference.
            PacketBody::Disconnect
                if endpoint.is_empty() && session.generation == Generation::Legacy =>
            {
                let farewell = session.is_attached();
                self.end(session, DisconnectReason::Booted, farewell);
            }
            PacketBody::Disconnect => {
                let packet = Packet { endpoint, id, body };
                match session.hold_for_join(packet) {
                    Hold::Held => {}
                    Hold::Joined(packet) | Hold::NotJoined(packet) => self.leave_namespace(
                        session,
                        &packet.endpoint,
                        DisconnectReason::Packet,
                        false,
                    ),
                }
            }
            PacketBody::Connect { query }
                if !endpoint.is_empty() || session.generation != Generation::Legacy =>
            {
                self.connect_namespace(session, &endpoint, query.as_deref());
            }
            PacketBody::Message(text) => self.deliver(
                session,
                endpoint,
                id,
                Delivery::Message(Message::Text(text)),
            ),
            PacketBody::Json(value) => self.deliver(
                session,
                endpoint,
                id,
                Delivery::Message(Message::Json(value)),
            ),
            PacketBody::Event { name, args } => {
                self.deliver(session, endpoint, id, Delivery::Event(name, args))
            }
            PacketBody::Ack { acked, args } => match session.take_ack(&endpoint, acked) {
                Some(callback) => callback(args.unwrap_or_default()),
                None => {
                    debug!(sid = %session.id, endpoint, acked, "ack for an unknown message id ignored")
                }
            },
            PacketBody::Connect { .. } | PacketBody::Error { .. } | PacketBody::Noop => {}
        }
    }

    fn deliver(
        &self,
        session: &Arc<Session>,
        endpoint: String,
        id: Option<MessageId>,
        delivery: Delivery,
    ) {
        let Some(namespace) = self
            .namespace(&endpoint)
            .filter(|_| session.has_joined(&endpoint))
        else {
            let body = match delivery {
                Delivery::Message(Message::Text(text)) => PacketBody::Message(text),
                Delivery::Message(Message::Json(value)) => PacketBody::Json(value),
                Delivery::Event(name, args) => PacketBody::Event { name, args },
            };
            match session.hold_for_join(Packet { endpoint, id, body }) {
                Hold::Held => {}
                Hold::Joined(packet) => self.handle(session, packet),
                Hold::NotJoined(packet) => {
                    debug!(sid = %session.id, endpoint = packet.endpoint, "packet for a namespace the session has not joined ignored");
                }
            }
            return;
        };
        if let Some(MessageId { value, data: false }) = id {
            // The library acks an id without `+` itself, before the application sees the
            // packet (docs/protocol.md §3.3).
            let ack = Packet::on(
                endpoint.clone(),
                PacketBody::Ack {
                    acked: value,
                    args: None,
                },
            );
            self.push_packet(session, &ack, false);
        }
        // Each generation's clients have their own lifecycle events: `message` is 0.9's, and
        // a Socket.IO client may name an event so.
        let reserved = match session.generation {
            Generation::Legacy => is_reserved_event,
            Generation::Engine(_) => ferrio_sio::is_reserved_event,
        };
        if let Delivery::Event(name, _) = &delivery
            && reserved(name)
        {
            info!(sid = %session.id, event = %name, "reserved event name from a client dropped");
            self.metrics.reserved_dropped();
            return;
        }
        let Some(hub) = self.arc() else { return };
        let ack = match id {
            Some(MessageId { value, data: true }) => {
                Some(AckSender::new(hub, Arc::clone(session), endpoint, value))
            }
            _ => None,
        };
        self.fire(session, namespace, |handlers, socket| match delivery {
            Delivery::Message(message) => handlers.fire_message(socket, message, ack),
            Delivery::Event(name, args) => handlers.fire_event(socket, &name, args, ack),
        });
    }

    fn connect_namespace(&self, session: &Arc<Session>, endpoint: &str, query: Option<&str>) {
        let Some(namespace) = self.namespace(endpoint) else {
            debug!(sid = %session.id, endpoint, "connect to an undeclared namespace refused");
            if let Some(refusal) = invalid_namespace(endpoint, session.generation) {
                self.push(session, refusal, false);
            }
            return;
        };
        if session.phase() == Phase::Issued && !self.establish(session) {
            return;
        }
        if session.has_joined(endpoint) {
            self.confirm_join(session, endpoint);
            return;
        }
        let auth = session.connect_payload(endpoint);
        let decision = match namespace.authorization() {
            None => Authorization::Accept,
            Some(NamespaceAuthorization::Now(hook)) => hook(
                &session.handshake,
                JoinRequest {
                    query,
                    auth: auth.as_ref(),
                },
            ),
            Some(NamespaceAuthorization::Waiting(hook)) => {
                // A second connect while the first waits: that one answers for both.
                if !session.begin_joining(endpoint) {
                    return;
                }
                let Some(hub) = self.arc() else { return };
                let join = Join {
                    query: query.map(str::to_owned),
                    auth,
                };
                let deciding = hook(session.handshake.clone(), join);
                let (session, endpoint) = (Arc::clone(session), endpoint.to_owned());
                crate::handler::drive(async move {
                    let decision = tokio::time::timeout(AUTHORIZATION_TIMEOUT, deciding)
                        .await
                        .unwrap_or_else(|_| Authorization::Error(timed_out()));
                    hub.decide_join(&session, &endpoint, namespace, decision);
                });
                return;
            }
        };
        if self.refuse_join(session, endpoint, decision) || !session.join_endpoint(endpoint) {
            return;
        }
        self.joined(session, endpoint, namespace);
    }

    /// Completes a join whose asynchronous hook has decided, then handles the packets the
    /// client sent for the namespace meanwhile, in their order (dropped when refused).
    fn decide_join(
        &self,
        session: &Arc<Session>,
        endpoint: &str,
        namespace: Arc<NamespaceInner>,
        decision: Authorization,
    ) {
        let refused = self.refuse_join(session, endpoint, decision);
        let (joined, held) = session.finish_joining(endpoint, !refused);
        if joined {
            self.joined(session, endpoint, namespace);
        }
        if !held.is_empty() && !joined {
            debug!(sid = %session.id, endpoint, held = held.len(), "packets for a namespace not joined dropped");
        }
        for packet in held.into_iter().filter(|_| joined) {
            self.handle(session, packet);
        }
    }

    /// Tells the client its namespace is refused, when `decision` refuses; whether it did.
    fn refuse_join(&self, session: &Arc<Session>, endpoint: &str, decision: Authorization) -> bool {
        match decision {
            Authorization::Accept => false,
            Authorization::RefuseWith { message, data }
                if session.generation != Generation::Legacy =>
            {
                if let Some(refusal) = connect_refusal(endpoint, session.generation, &message, data)
                {
                    self.push(session, refusal, false);
                }
                true
            }
            decision => {
                if let Authorization::Error(why) = decision {
                    warn!(sid = %session.id, endpoint, error = %why, "namespace authorization failed");
                }
                let refusal = Packet::on(
                    endpoint,
                    PacketBody::Error {
                        reason: Some(ErrorReason::Unauthorized),
                        advice: None,
                    },
                );
                self.push_packet(session, &refusal, false);
                true
            }
        }
    }

    /// The client's `CONNECT` answered: `1::/ns`, `40/ns,…`.
    fn confirm_join(&self, session: &Arc<Session>, endpoint: &str) {
        let confirm = Packet::on(endpoint, PacketBody::Connect { query: None });
        self.push_packet(session, &confirm, false);
    }

    /// A session that has just joined `namespace`: a member, told so, and its connection
    /// handler run.
    fn joined(&self, session: &Arc<Session>, endpoint: &str, namespace: Arc<NamespaceInner>) {
        namespace.add_member(session);
        self.confirm_join(session, endpoint);
        self.fire(session, namespace, NamespaceInner::fire_connection);
    }

    /// Leaves one namespace (client `0::/ns`, or the application's `socket.disconnect()` on a
    /// namespace socket, which also tells the client).
    pub(crate) fn leave_namespace(
        &self,
        session: &Arc<Session>,
        endpoint: &str,
        reason: DisconnectReason,
        tell_client: bool,
    ) {
        let Some(state) = session.leave_endpoint(endpoint) else {
            return;
        };
        if tell_client {
            self.push_packet(
                session,
                &Packet::on(endpoint, PacketBody::Disconnect),
                false,
            );
        }
        if let Some(namespace) = self.namespace(endpoint) {
            self.fire_leaving(session, namespace, state.rooms(), reason);
        }
    }

    /// Takes a socket that has left its session out of `namespace` and its `rooms`: its
    /// `disconnecting` handler first, while the rooms still hold it, then `disconnect`.
    pub(crate) fn fire_leaving(
        &self,
        session: &Arc<Session>,
        namespace: Arc<NamespaceInner>,
        rooms: &[Box<str>],
        reason: DisconnectReason,
    ) {
        self.fire(session, Arc::clone(&namespace), |handlers, socket| {
            handlers.fire_disconnecting(socket, rooms, reason);
        });
        namespace.remove_member(&session.id, rooms);
        self.fire(session, namespace, |handlers, socket| {
            handlers.fire_disconnect(socket, reason);
        });
    }

    /// Hands the socket of `session` in `namespace` to one of the namespace's handlers, which
    /// `fire` picks.
    pub(crate) fn fire(
        &self,
        session: &Arc<Session>,
        namespace: Arc<NamespaceInner>,
        fire: impl FnOnce(&NamespaceInner, &Socket),
    ) {
        let Some(hub) = self.arc() else { return };
        let socket = Socket::new(hub, Arc::clone(session), namespace);
        fire(socket.namespace_inner(), &socket);
    }

    /// Queues `packet` for one session, in the session's wire generation; `false` if it was
    /// not accepted, or has no meaning in that generation.
    pub(crate) fn push_packet(
        &self,
        session: &Arc<Session>,
        packet: &Packet,
        volatile: bool,
    ) -> bool {
        // Only a `CONNECT` answer names the socket: other packets need not read the names.
        let engine_names = match packet.body {
            PacketBody::Connect { .. } => session.engine_names(),
            _ => None,
        };
        let names = match &engine_names {
            Some((socket_id, pid)) => Names {
                socket_id,
                pid: pid.as_deref(),
            },
            None => Names::default(),
        };
        match encode_for(packet, session.generation, names) {
            Some(form) => self.push_form(session, &form, volatile),
            None => {
                self.undeliverable(packet);
                false
            }
        }
    }

    /// Counts a packet that has no form for its receiver: an event, for a name the
    /// receiver's generation reserves.
    pub(crate) fn undeliverable(&self, packet: &Packet) {
        if matches!(packet.body, PacketBody::Event { .. }) {
            debug!(
                endpoint = packet.endpoint,
                "event dropped for a name its receiver reserves"
            );
            self.metrics.reserved_dropped();
        }
    }

    /// Queues a packet for one session; `false` if it was not accepted. A full outbox ends
    /// the session.
    pub(crate) fn push(&self, session: &Arc<Session>, packet: Encoded, volatile: bool) -> bool {
        let pushed = session.push(packet, volatile, Bounds::of(&self.config));
        self.pushed(session, pushed)
    }

    /// [`HubInner::push`] of a packet in one generation's form, its units queued together.
    pub(crate) fn push_form(&self, session: &Arc<Session>, form: &Form, volatile: bool) -> bool {
        let pushed = session.push_units(form.units(), volatile, Bounds::of(&self.config));
        self.pushed(session, pushed)
    }

    /// What a push did, for its caller; a full outbox ends the session.
    fn pushed(&self, session: &Arc<Session>, pushed: Pushed) -> bool {
        match pushed {
            Pushed::Queued => true,
            Pushed::Dropped => false,
            Pushed::Overflow(bound) => {
                if let Some(suppressed) = self.limit_logs.overflow.admit() {
                    let (setting, limit) = match bound {
                        Bound::Packets => {
                            ("max_buffered_packets", self.config.max_buffered_packets)
                        }
                        Bound::Bytes => ("max_buffer_bytes", self.config.max_buffer_bytes),
                    };
                    warn!(
                        sid = %session.id,
                        peer = %session.handshake.info.address,
                        setting,
                        limit,
                        suppressed,
                        "outbox full: the client does not take its packets; ending the session"
                    );
                }
                self.end(session, DisconnectReason::BufferOverflow, false);
                false
            }
        }
    }
}
