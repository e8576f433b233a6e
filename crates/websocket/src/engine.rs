//! Engine.IO's `websocket` transport (`/socket.io/?EIO=4&transport=websocket`), opened two
//! ways:
//! - directly, without a session id: a new session, whose `open` packet is the connection's
//!   first message;
//! - to upgrade a polling session (`&sid=…`): the client's probe `2probe` is answered
//!   `3probe`, the session's poll is let go with a `noop`, and the client's `upgrade` packet
//!   (`5`) makes the connection the session's transport for good. The upgrade must be done
//!   within the upgrade timeout; a connection that falls silent, or goes away, before it is
//!   closed and the session polls on.
//!
//! Once attached, the connection is pumped as a 0.9 one is (`pump`), each message one
//! Engine.IO packet.

use std::time::Duration;

use ferrio_eio::{ErrorCode, Packet, PacketData, PacketType, Revision};
use ferrio_hub::{
    AttachMode, Attachment, ConnectInfo, DisconnectReason, Encoded, EngineAttachError,
    EngineUpgrade, Hub,
};
use ferrio_protocol::TransportKind;
use ferrio_transport::{Body, engine_error, engine_open_packet, engine_refusal};
use http::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::Notify;
use tokio::time::{Instant, timeout_at};
use tracing::debug;

use crate::pump::{Ended, PacketSocket, ingest_engine, peer_ended, spawn_pump};
use crate::reader::Message;
use crate::rfc6455::{Rfc6455, WsLimits};
use crate::upgrade::rfc6455_switch;

/// What the server resolved before handing an Engine.IO WebSocket request over.
#[derive(Debug, Clone)]
pub struct EngineSocketRequest<'a> {
    /// The hub.
    pub hub: &'a Hub,
    /// The Engine.IO revision the query names.
    pub revision: Revision,
    /// The session to upgrade; `None` opens a new one.
    pub sid: Option<&'a str>,
    /// The connection's limits (its largest message is the session's `max_payload`).
    pub limits: WsLimits,
    /// How long the upgrade of a polling session may take.
    pub upgrade_timeout: Duration,
    /// Whether a new session is a bare Engine.IO one that echoes its messages
    /// ([`Hub::open_engine_echo`]) rather than a Socket.IO one.
    pub echo: bool,
}

/// How the connection starts once it is upgraded.
enum Opening {
    /// A new session: its `open` packet, then the pump.
    Open {
        open_packet: String,
        attachment: Attachment,
    },
    /// A polling session's upgrade: the probe, then the pump.
    Upgrade(EngineUpgrade),
    /// A second WebSocket for a session that one upgrades or upgraded: closed at once, as
    /// the reference does, the session untouched.
    Refused,
}

/// Answers an Engine.IO WebSocket request with `101` and runs the connection on its own
/// task; `info` builds the handshake data of a new session. A request the server cannot take
/// gets the reference's JSON error instead: not an upgrade, `Bad request`; an unknown
/// session, `Session ID unknown`. A WebSocket for a session already upgraded, or being
/// upgraded by another connection, is opened and closed at once (the session goes on).
pub async fn engine_upgrade<B>(
    ctx: EngineSocketRequest<'_>,
    mut request: Request<B>,
    info: impl FnOnce(&Request<B>) -> ConnectInfo,
) -> Response<Body>
where
    B: Send + 'static,
{
    let response = match rfc6455_switch(&request) {
        Ok(response) => response,
        Err(error) => {
            debug!(%error, "Engine.IO websocket request refused");
            return engine_error(ErrorCode::BadRequest);
        }
    };
    let opening = match ctx.sid {
        None => {
            let info = info(&request);
            let opened = if ctx.echo {
                ctx.hub.open_engine_echo(info, ctx.revision).await
            } else {
                ctx.hub.open_engine(info, ctx.revision).await
            };
            let open = match opened {
                Ok(open) => open,
                Err(refusal) => return engine_refusal(&refusal),
            };
            let attachment =
                ctx.hub
                    .attach_engine(&open.sid, TransportKind::Websocket, AttachMode::Stream);
            let Ok(attachment) = attachment else {
                // Ended in the instant since it was issued (a shutdown began).
                return engine_error(ErrorCode::SessionIdUnknown);
            };
            Opening::Open {
                open_packet: engine_open_packet(open, ctx.revision, false),
                attachment,
            }
        }
        Some(sid) => match ctx.hub.upgrade_engine(sid) {
            Ok(upgrade) => Opening::Upgrade(upgrade),
            Err(EngineAttachError::UnknownSession) => {
                return engine_error(ErrorCode::SessionIdUnknown);
            }
            Err(error) => {
                debug!(sid, %error, "websocket upgrade refused: the connection closes");
                Opening::Refused
            }
        },
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let hub = ctx.hub.clone();
    let (limits, revision, upgrade_timeout) = (ctx.limits, ctx.revision, ctx.upgrade_timeout);
    tokio::spawn(async move {
        // The `101` is written, alone, before this resolves: every message follows it.
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => TokioIo::new(upgraded),
            Err(error) => {
                debug!(%error, "websocket upgrade did not complete");
                return;
            }
        };
        let mut socket = Rfc6455::new(upgraded, limits);
        match opening {
            Opening::Open {
                open_packet,
                attachment,
            } => {
                if socket
                    .send(&[Encoded::from_text(open_packet)])
                    .await
                    .is_ok()
                {
                    spawn_pump(socket, hub, attachment);
                }
            }
            Opening::Refused => socket.close().await,
            Opening::Upgrade(upgrade) => {
                let deadline = Instant::now() + upgrade_timeout;
                match probe(&mut socket, &hub, upgrade, revision, deadline).await {
                    Some((attachment, None)) => spawn_pump(socket, hub, attachment),
                    Some((attachment, Some(ended))) => {
                        peer_ended(&mut socket, attachment, ended).await;
                    }
                    None => {}
                }
            }
        }
    });
    response
}

/// A message taken off the connection during the upgrade, kept until it can be handled.
enum Received {
    Text(String),
    Binary(Vec<u8>),
}

impl Received {
    fn as_message(&self) -> Message<'_> {
        match self {
            Received::Text(text) => Message::Text(text),
            Received::Binary(bytes) => Message::Binary(bytes),
        }
    }
}

/// Carries the upgrade through the client's probe and its `upgrade` packet, by `deadline`;
/// the WebSocket's attachment once it is the session's transport. Whatever the client sent
/// right behind its `upgrade` goes to the session first, and if the connection ended in the
/// same read (a client that upgrades and leaves at once), that end comes back with the
/// attachment, for the session to end as it says.
async fn probe<S: PacketSocket>(
    socket: &mut S,
    hub: &Hub,
    upgrade: EngineUpgrade,
    revision: Revision,
    deadline: Instant,
) -> Option<(Attachment, Option<Ended>)> {
    let sid: Box<str> = upgrade.session_id().into();
    loop {
        let next = tokio::select! {
            next = timeout_at(deadline, next_messages(socket)) => next,
            () = upgrade.session_ended() => {
                debug!(%sid, "the session ended during its upgrade: the connection closes");
                socket.close().await;
                return None;
            }
        };
        let Ok((received, ended)) = next else {
            debug!(%sid, "websocket upgrade not finished in time: the connection closes");
            socket.close().await;
            return None;
        };
        let mut received = received.into_iter();
        while let Some(message) = received.next() {
            let packet = match &message {
                Received::Text(text) => Packet::decode_text(revision, text),
                Received::Binary(bytes) => Packet::decode_binary(revision, bytes),
            };
            match packet {
                Ok(packet) if is_probe(&packet) => {
                    if socket
                        .send(&[Encoded::from_static("3probe")])
                        .await
                        .is_err()
                    {
                        return None;
                    }
                    upgrade.probed();
                }
                Ok(packet) if packet.packet_type == PacketType::Upgrade => {
                    let attachment = upgrade.complete(TransportKind::Websocket);
                    let Some(attachment) = attachment else {
                        socket.close().await;
                        return None;
                    };
                    debug!(%sid, "websocket upgrade done");
                    for message in received {
                        ingest_engine(
                            &attachment,
                            hub,
                            TransportKind::Websocket,
                            revision,
                            message.as_message(),
                        );
                    }
                    return Some((attachment, ended));
                }
                other => {
                    debug!(%sid, packet = ?other.map(|p| p.packet_type), "not a step of the upgrade: the session ends");
                    upgrade.fail(DisconnectReason::TransportError);
                    socket.close().await;
                    return None;
                }
            }
        }
        match ended {
            None => {}
            Some(Ended::Close) => {
                socket.answer_close().await;
                return None;
            }
            Some(Ended::Eof) => return None,
            Some(Ended::Failed(failure)) => {
                debug!(%sid, why = %failure, "upgrading websocket failed");
                if failure.close_code().is_some() {
                    socket.fail(&failure).await;
                }
                return None;
            }
        }
    }
}

/// The probe of an upgrade: `ping` with the text `probe`.
fn is_probe(packet: &Packet) -> bool {
    packet.packet_type == PacketType::Ping
        && matches!(&packet.data, PacketData::Text(text) if text == "probe")
}

/// Reads until at least one message has arrived, or the peer's side ends. The messages come
/// back with the end, if it came.
async fn next_messages<S: PacketSocket>(socket: &mut S) -> (Vec<Received>, Option<Ended>) {
    let mut received = Vec::new();
    let arrived = Notify::new();
    let ended = {
        let mut on_message = |message: Message<'_>| {
            received.push(match message {
                Message::Text(text) => Received::Text(text.to_owned()),
                Message::Binary(bytes) => Received::Binary(bytes.to_vec()),
            });
            arrived.notify_one();
        };
        // Reading is cancel-safe: a message half-read when one has arrived stays buffered.
        tokio::select! {
            biased;
            ended = socket.receive(&mut on_message) => Some(ended),
            () = arrived.notified() => None,
        }
    };
    (received, ended)
}
