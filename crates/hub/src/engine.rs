//! What an Engine.IO client's packets mean: heartbeats in the direction of its revision, a
//! `close`, and `message`s carrying Socket.IO packets, which are rebuilt from their binary
//! attachments, read as the hub's 0.9 model (`translate`) and handled as any client's.

use std::sync::Arc;

use ferrio_eio::{PacketData, PacketType, Revision};
use tokio::time::Instant;
use tracing::debug;

use crate::broadcast::with_offset;
use crate::encoded::Encoded;
use crate::generation::Generation;
use crate::hub::{HubInner, IngestError};
use crate::reason::DisconnectReason;
use crate::recovery::Restored;
use crate::session::{Phase, Session};
use crate::shutdown::Ingesting;
use crate::translate::{endpoint_of, from_socket_io};

impl HubInner {
    /// Handles the Engine.IO packets the client of `session` sent. Refused whole while the
    /// hub shuts down, as 0.9 packets are, but for heartbeats, which keep the session alive
    /// while it delivers what it holds.
    pub(crate) fn accept_engine(
        &self,
        session: &Arc<Session>,
        packets: Vec<ferrio_eio::Packet>,
    ) -> Result<(), IngestError> {
        let Generation::Engine(revision) = session.generation else {
            return Err(IngestError::UnknownSession);
        };
        let ingesting = Ingesting::enter(self);
        let accepted = ingesting.accepted();
        for packet in packets {
            if session.phase() == Phase::Closed {
                break;
            }
            match (packet.packet_type, revision) {
                (PacketType::Pong, Revision::V4) => {
                    session.engine_heartbeat_received(Instant::now(), &self.config);
                }
                (PacketType::Ping, Revision::V3) => {
                    session.engine_heartbeat_received(Instant::now(), &self.config);
                    let pong = match &packet.data {
                        PacketData::Text(text) => format!("3{text}"),
                        PacketData::Binary(_) => "3".to_owned(),
                    };
                    self.push(session, Encoded::from_text(pong), false);
                }
                (PacketType::Noop, _) => {}
                (PacketType::Close, _) => {
                    // The reference calls it `transport close`: the client may come back.
                    if let Some(closed) = session.close_by_client() {
                        self.ended(session, closed, DisconnectReason::SocketClose);
                    }
                    break;
                }
                (PacketType::Message, _) if accepted && session.is_echo() => {
                    let echoed = match &packet.data {
                        PacketData::Text(text) => Encoded::from_text(format!("4{text}")),
                        PacketData::Binary(bytes) => Encoded::binary(bytes),
                    };
                    self.push(session, echoed, false);
                }
                (PacketType::Message, _) if accepted => {
                    if !self.message_in(session, packet.data) {
                        break;
                    }
                }
                (PacketType::Message, _) => {
                    debug!(sid = %session.id, "client packets refused: shutting down");
                    return Err(IngestError::ShuttingDown);
                }
                (other, _) => {
                    // A ping on revision 4, a pong on 3, an `open` or an `upgrade` outside of
                    // an upgrade: the client does not speak the protocol it announced.
                    debug!(sid = %session.id, packet = ?other, "unexpected Engine.IO packet: the session ends");
                    self.end(session, DisconnectReason::TransportError, false);
                    break;
                }
            }
        }
        Ok(())
    }

    /// With connection state recovery on, what a Socket.IO 5 `CONNECT` brings back: the socket
    /// its `{"pid":…,"offset":…}` names, which the session takes the names of, or else a
    /// private id of the session's own for the answer to tell.
    fn recovering_connect(
        &self,
        session: &Arc<Session>,
        packet: &ferrio_sio::Packet,
    ) -> Option<(String, Restored)> {
        let recovery = self.recovery.as_ref()?;
        if session.generation != Generation::Engine(Revision::V4) {
            return None;
        }
        let ferrio_sio::Packet::Connect {
            namespace, data, ..
        } = packet
        else {
            return None;
        };
        let endpoint = endpoint_of(namespace);
        if session.has_joined(&endpoint) {
            return None;
        }
        let restored = data.as_ref().and_then(|auth| {
            let pid = auth.get("pid")?.as_str()?;
            let offset = auth.get("offset")?.as_str()?;
            recovery
                .restore(pid, offset, &endpoint)
                .map(|restored| (Arc::<str>::from(pid), restored))
        });
        match restored {
            Some((pid, restored)) => {
                debug!(sid = %session.id, namespace = %endpoint, missed = restored.missed.len(), "socket recovered");
                session.recover_names(Arc::clone(&restored.socket_id), pid);
                Some((endpoint, restored))
            }
            None => {
                session.ensure_pid();
                None
            }
        }
    }

    /// A recovered socket, once its `CONNECT` is answered, gets back its rooms and the
    /// broadcasts it missed, each with its offset.
    fn give_back(&self, session: &Arc<Session>, endpoint: &str, restored: Restored) {
        let Some(namespace) = self.namespace(endpoint) else {
            return;
        };
        if !session.has_joined(endpoint) {
            return;
        }
        for room in &restored.rooms {
            if session.add_room(endpoint, room) {
                namespace.join_room(session, room);
            }
        }
        for (offset, body) in restored.missed {
            let packet = ferrio_protocol::Packet::on(endpoint.to_owned(), body);
            self.push_packet(session, &with_offset(&packet, offset), false);
        }
    }

    /// One Engine.IO `message`: a Socket.IO packet, or one of a binary packet's attachments.
    /// `false` when it ended the session.
    fn message_in(&self, session: &Arc<Session>, data: PacketData) -> bool {
        let Some(engine) = session.engine.as_ref() else {
            return false;
        };
        let decoded = {
            let mut reassembler = engine.reassembler.lock();
            match data {
                PacketData::Text(text) => reassembler.push_text(&text),
                PacketData::Binary(bytes) => reassembler.push_binary(bytes.into()),
            }
        };
        match decoded {
            Ok(None) => true,
            Ok(Some(packet)) => {
                if let ferrio_sio::Packet::Connect {
                    namespace,
                    data: Some(data),
                    ..
                } = &packet
                {
                    // Kept for declared namespaces only: a client naming others would
                    // otherwise make the session hold a payload for each.
                    let endpoint = endpoint_of(namespace);
                    if self.namespace(&endpoint).is_some() {
                        let payload = serde_json::Value::Object(data.clone());
                        session.keep_connect_payload(&endpoint, payload);
                    }
                }
                let restored = self.recovering_connect(session, &packet);
                if let Some(packet) = from_socket_io(packet) {
                    self.ingest(session, vec![packet]);
                }
                if let Some((endpoint, restored)) = restored {
                    self.give_back(session, &endpoint, restored);
                }
                session.phase() != Phase::Closed
            }
            Err(error) => {
                debug!(sid = %session.id, %error, "malformed Socket.IO packet: the session ends");
                self.end(session, DisconnectReason::TransportError, false);
                false
            }
        }
    }
}
