//! Counters of what the hub does, kept as plain atomics so counting costs an increment; the
//! admin listener renders a [`MetricsSnapshot`] for Prometheus.

use std::sync::atomic::{AtomicU64, Ordering};

use ferrio_eio::Revision as EngineRevision;
use ferrio_protocol::TransportKind;

use crate::encoded::Encoded;
use crate::generation::Generation;
use crate::handshake::{RateLimit, Refusal, UnconnectedLimit};
use crate::reason::DisconnectReason;

/// The label values of handshake outcomes: accepted, then every [`Refusal`], a rate limit told
/// apart by which limit refused. [`handshake_slot`] is the one place a refusal finds its label.
const HANDSHAKE_LABELS: [&str; 12] = [
    "accepted",
    "bad_origin",
    "unauthorized",
    "authorization_error",
    "unavailable",
    "full",
    "rate_limited",
    "rate_limited_address",
    "unconnected",
    "unconnected_address",
    "query_too_long",
    "headers_too_large",
];

/// How many handshake outcomes are told apart.
pub(crate) const HANDSHAKE_OUTCOMES: usize = HANDSHAKE_LABELS.len();

/// The slot of a handshake's outcome in [`HANDSHAKE_LABELS`].
pub(crate) fn handshake_slot(outcome: Result<(), &Refusal>) -> usize {
    match outcome {
        Ok(()) => 0,
        Err(Refusal::BadOrigin) => 1,
        Err(Refusal::Unauthorized) => 2,
        Err(Refusal::AuthorizationError(_)) => 3,
        Err(Refusal::Unavailable) => 4,
        Err(Refusal::Full) => 5,
        Err(Refusal::RateLimited(RateLimit::Node)) => 6,
        Err(Refusal::RateLimited(RateLimit::Address)) => 7,
        Err(Refusal::TooManyUnconnected(UnconnectedLimit::Node)) => 8,
        Err(Refusal::TooManyUnconnected(UnconnectedLimit::Address)) => 9,
        Err(Refusal::QueryTooLong) => 10,
        Err(Refusal::HeadersTooLarge) => 11,
    }
}

/// The label of a session that has had no transport yet.
pub const NO_TRANSPORT: &str = "none";

/// Index 0 is "no transport"; then the transports in their announced order.
const TRANSPORT_SLOTS: usize = 1 + TransportKind::ALL.len();
const PACKET_TYPES: usize = 9;

/// The label values of packet types 0–8.
pub(crate) const PACKET_TYPE_LABELS: [&str; PACKET_TYPES] = [
    "disconnect",
    "connect",
    "heartbeat",
    "message",
    "json",
    "event",
    "ack",
    "error",
    "noop",
];

/// The 0.9 packet type (the index of [`PACKET_TYPE_LABELS`]) of an Engine.IO packet as an
/// outbox holds it, so that the counters label every generation's packets alike: a
/// Socket.IO packet inside an Engine.IO `message` (`4…`) by its Socket.IO type, `ping` and
/// `pong` as heartbeats, `noop` and `close` as themselves. `None` for what is not a packet of
/// its own: the `open` packet, and the binary attachments of an event or ack already counted.
fn engine_type_code(raw: &[u8]) -> Option<usize> {
    let [kind, rest @ ..] = raw else {
        return None;
    };
    match kind {
        b'1' => Some(0),
        b'2' | b'3' => Some(2),
        b'6' => Some(8),
        b'4' => match rest.first()? {
            b'0' => Some(1),
            b'1' => Some(0),
            b'2' | b'5' => Some(5),
            b'3' | b'6' => Some(6),
            b'4' => Some(7),
            _ => None,
        },
        _ => None,
    }
}

fn transport_slot(kind: Option<TransportKind>) -> usize {
    kind.and_then(|kind| TransportKind::ALL.iter().position(|k| *k == kind))
        .map_or(0, |index| index + 1)
}

/// The label of a transport slot.
fn transport_label(slot: usize) -> &'static str {
    slot.checked_sub(1)
        .and_then(|index| TransportKind::ALL.get(index))
        .map_or(NO_TRANSPORT, |kind| kind.name())
}

/// The label values of wire generations, in slot order: Socket.IO 0.9's protocol, then the
/// Engine.IO revisions of socket.io-client 1.x–2.x and 3.x–4.x.
const GENERATION_LABELS: [&str; 3] = ["0.9", "eio3", "eio4"];

fn generation_slot(generation: Generation) -> usize {
    match generation {
        Generation::Legacy => 0,
        Generation::Engine(EngineRevision::V3) => 1,
        Generation::Engine(EngineRevision::V4) => 2,
    }
}

/// Every reason a session can end, in label order.
pub(crate) const DISCONNECT_REASONS: [DisconnectReason; 16] = [
    DisconnectReason::Booted,
    DisconnectReason::Packet,
    DisconnectReason::HeartbeatTimeout,
    DisconnectReason::CloseTimeout,
    DisconnectReason::SocketEnd,
    DisconnectReason::SocketClose,
    DisconnectReason::SocketError,
    DisconnectReason::BufferOverflow,
    DisconnectReason::ServerShutdown,
    DisconnectReason::WriteTimeout,
    DisconnectReason::ReadTimeout,
    DisconnectReason::HandshakeExpired,
    DisconnectReason::BudgetExceeded,
    DisconnectReason::NodeFull,
    DisconnectReason::NodeFenced,
    DisconnectReason::TransportError,
];

fn counters<const N: usize>() -> [AtomicU64; N] {
    std::array::from_fn(|_| AtomicU64::new(0))
}

/// The hub's counters.
#[derive(Debug)]
pub struct HubMetrics {
    handshakes: [AtomicU64; HANDSHAKE_LABELS.len()],
    packets_in: [[AtomicU64; PACKET_TYPES]; TRANSPORT_SLOTS],
    packets_out: [[AtomicU64; PACKET_TYPES]; TRANSPORT_SLOTS],
    bytes_in: [AtomicU64; TRANSPORT_SLOTS],
    bytes_out: [AtomicU64; TRANSPORT_SLOTS],
    disconnects: [AtomicU64; DISCONNECT_REASONS.len()],
    /// Client packets refused for being over their session's inbound budget.
    refused: AtomicU64,
    /// Events not delivered for a name the receiving generation reserves for itself.
    reserved_dropped: AtomicU64,
    /// Events whose arguments did not read as their typed handler's `Data`.
    invalid_arguments: AtomicU64,
    /// Requests on a session refused for naming a page origin outside the list, by transport
    /// (slot 0: a request that names none, `?disconnect`).
    origin_refusals: [AtomicU64; TRANSPORT_SLOTS],
}

impl Default for HubMetrics {
    fn default() -> Self {
        HubMetrics {
            handshakes: counters(),
            packets_in: std::array::from_fn(|_| counters()),
            packets_out: std::array::from_fn(|_| counters()),
            bytes_in: counters(),
            bytes_out: counters(),
            disconnects: counters(),
            refused: AtomicU64::new(0),
            reserved_dropped: AtomicU64::new(0),
            invalid_arguments: AtomicU64::new(0),
            origin_refusals: counters(),
        }
    }
}

fn bump(counter: &AtomicU64, by: u64) {
    // Counters need no ordering with anything else.
    counter.fetch_add(by, Ordering::Relaxed);
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl HubMetrics {
    /// Counts a handshake: issued, or refused for the given reason.
    pub(crate) fn handshake(&self, outcome: Result<(), &Refusal>) {
        bump(&self.handshakes[handshake_slot(outcome)], 1);
    }

    pub(crate) fn packet_in(&self, transport: Option<TransportKind>, type_code: u8) {
        if let Some(counter) =
            self.packets_in[transport_slot(transport)].get(usize::from(type_code))
        {
            bump(counter, 1);
        }
    }

    /// Counts the packets of a batch written over `transport` to a client of `generation`,
    /// by type, and their bytes.
    pub(crate) fn packets_out(
        &self,
        transport: TransportKind,
        generation: Generation,
        packets: &[Encoded],
    ) {
        let slot = transport_slot(Some(transport));
        let mut bytes = 0;
        for packet in packets {
            // Bytes, not text: counting must not re-validate every outgoing packet.
            let raw = packet.bytes();
            bytes += raw.len() as u64;
            let type_code = match generation {
                Generation::Legacy => raw.first().map(|b| usize::from(b.wrapping_sub(b'0'))),
                Generation::Engine(_) => engine_type_code(raw),
            };
            if let Some(counter) = type_code.and_then(|code| self.packets_out[slot].get(code)) {
                bump(counter, 1);
            }
        }
        bump(&self.bytes_out[slot], bytes);
    }

    /// Counts `bytes` of client payload received over `transport` (transports call this with
    /// the size of each POST body or WebSocket message).
    pub fn bytes_in(&self, transport: TransportKind, bytes: usize) {
        bump(
            &self.bytes_in[transport_slot(Some(transport))],
            bytes as u64,
        );
    }

    pub(crate) fn refused(&self) {
        bump(&self.refused, 1);
    }

    /// Counts an event dropped for a name its receiver's generation reserves: a client's, or
    /// one for a client that would take it for its own lifecycle event.
    pub(crate) fn reserved_dropped(&self) {
        bump(&self.reserved_dropped, 1);
    }

    /// Counts an event refused because its arguments did not read as its handler's types.
    pub(crate) fn invalid_arguments(&self) {
        bump(&self.invalid_arguments, 1);
    }

    /// Counts a request on a session refused for its page origin; `transport` is `None` for a
    /// request that names none (`?disconnect`).
    pub fn origin_refused(&self, transport: Option<TransportKind>) {
        bump(&self.origin_refusals[transport_slot(transport)], 1);
    }

    pub(crate) fn disconnect(&self, reason: DisconnectReason) {
        if let Some(index) = DISCONNECT_REASONS.iter().position(|r| *r == reason) {
            bump(&self.disconnects[index], 1);
        }
    }

    /// Handshakes since start, by outcome. Reads the counters alone, without visiting the
    /// sessions as [`Hub::metrics`](crate::Hub::metrics) does, so a sampler can afford it
    /// every second; so can the two below.
    pub fn handshakes(&self) -> Vec<(&'static str, u64)> {
        HANDSHAKE_LABELS
            .iter()
            .zip(&self.handshakes)
            .map(|(label, count)| (*label, load(count)))
            .collect()
    }

    /// Packets since start by packet type, every transport together: `(type, received,
    /// written)`.
    pub fn packets_by_type(&self) -> Vec<(&'static str, u64, u64)> {
        PACKET_TYPE_LABELS
            .iter()
            .enumerate()
            .map(|(type_code, label)| {
                let sum = |counters: &[[AtomicU64; PACKET_TYPES]; TRANSPORT_SLOTS]| {
                    counters.iter().map(|slot| load(&slot[type_code])).sum()
                };
                (*label, sum(&self.packets_in), sum(&self.packets_out))
            })
            .collect()
    }

    /// Ended sessions and namespace sockets since start, by reason.
    pub fn disconnects(&self) -> Vec<(&'static str, u64)> {
        DISCONNECT_REASONS
            .iter()
            .zip(&self.disconnects)
            .map(|(reason, count)| (reason.as_str(), load(count)))
            .collect()
    }

    pub(crate) fn snapshot(
        &self,
        sessions: SessionTally,
        buffered_packets: u64,
        buffered_bytes: u64,
    ) -> MetricsSnapshot {
        let mut packets_in = Vec::new();
        let mut packets_out = Vec::new();
        let mut bytes_in = Vec::new();
        let mut bytes_out = Vec::new();
        for slot in 0..TRANSPORT_SLOTS {
            let transport = transport_label(slot);
            for (type_code, label) in PACKET_TYPE_LABELS.iter().enumerate() {
                packets_in.push((transport, *label, load(&self.packets_in[slot][type_code])));
                packets_out.push((transport, *label, load(&self.packets_out[slot][type_code])));
            }
            bytes_in.push((transport, load(&self.bytes_in[slot])));
            bytes_out.push((transport, load(&self.bytes_out[slot])));
        }
        MetricsSnapshot {
            sessions: sessions.by_transport,
            sessions_by_generation: sessions.by_generation,
            buffered_packets,
            buffered_bytes,
            handshakes: self.handshakes(),
            packets_in,
            packets_out,
            bytes_in,
            bytes_out,
            disconnects: self.disconnects(),
            refused_packets: load(&self.refused),
            reserved_dropped: load(&self.reserved_dropped),
            invalid_arguments: load(&self.invalid_arguments),
            origin_refusals: self
                .origin_refusals
                .iter()
                .enumerate()
                .map(|(slot, count)| (transport_label(slot), load(count)))
                .collect(),
        }
    }
}

/// The hub's figures at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Live sessions by the transport they use now or used last (`none` before the first).
    pub sessions: Vec<(&'static str, u64)>,
    /// Live sessions by the wire generation their handshake fixed: `0.9` (Socket.IO 0.9's
    /// protocol), `eio3` and `eio4` (Engine.IO revisions 3 and 4).
    pub sessions_by_generation: Vec<(&'static str, u64)>,
    /// Packets waiting in outboxes.
    pub buffered_packets: u64,
    /// Bytes of the packets waiting in outboxes and of the batches streaming transports are
    /// writing, each session counting a shared broadcast whole.
    pub buffered_bytes: u64,
    /// Handshakes by outcome.
    pub handshakes: Vec<(&'static str, u64)>,
    /// Packets received, by transport and packet type.
    pub packets_in: Vec<(&'static str, &'static str, u64)>,
    /// Packets written, by transport and packet type.
    pub packets_out: Vec<(&'static str, &'static str, u64)>,
    /// Payload bytes received, by transport.
    pub bytes_in: Vec<(&'static str, u64)>,
    /// Packet bytes written, by transport.
    pub bytes_out: Vec<(&'static str, u64)>,
    /// Ended sessions and namespace sockets, by reason.
    pub disconnects: Vec<(&'static str, u64)>,
    /// Client packets refused for being over their session's inbound budget.
    pub refused_packets: u64,
    /// Events dropped for a name their receiver's generation reserves (from a client, or for
    /// a Socket.IO client: `connect_error`, `disconnecting`, `newListener`, …).
    pub reserved_dropped: u64,
    /// Events whose arguments did not read as their typed handler's types: the handler did
    /// not run ([`Data`](crate::Data)).
    pub invalid_arguments: u64,
    /// Requests on a session refused for naming a page origin outside the list, by transport
    /// (`none` for `?disconnect`).
    pub origin_refusals: Vec<(&'static str, u64)>,
}

/// Live sessions counted by transport and by wire generation, in one pass over them.
pub(crate) struct SessionTally {
    by_transport: Vec<(&'static str, u64)>,
    by_generation: Vec<(&'static str, u64)>,
}

/// Counts sessions, given as their transport and generation, by label for a snapshot.
pub(crate) fn tally_sessions(
    sessions: impl Iterator<Item = (Option<TransportKind>, Generation)>,
) -> SessionTally {
    let mut transports = [0u64; TRANSPORT_SLOTS];
    let mut generations = [0u64; GENERATION_LABELS.len()];
    for (transport, generation) in sessions {
        transports[transport_slot(transport)] += 1;
        generations[generation_slot(generation)] += 1;
    }
    SessionTally {
        by_transport: transports
            .iter()
            .enumerate()
            .map(|(slot, count)| (transport_label(slot), *count))
            .collect(),
        by_generation: GENERATION_LABELS.into_iter().zip(generations).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_label_and_rate_limits_are_told_apart() {
        let label = |refusal: Refusal| HANDSHAKE_LABELS[handshake_slot(Err(&refusal))];
        assert_eq!(HANDSHAKE_LABELS[handshake_slot(Ok(()))], "accepted");
        assert_eq!(label(Refusal::BadOrigin), "bad_origin");
        assert_eq!(label(Refusal::Unauthorized), "unauthorized");
        assert_eq!(
            label(Refusal::AuthorizationError("down".into())),
            "authorization_error"
        );
        assert_eq!(label(Refusal::Unavailable), "unavailable");
        assert_eq!(label(Refusal::Full), "full");
        assert_eq!(label(Refusal::RateLimited(RateLimit::Node)), "rate_limited");
        assert_eq!(
            label(Refusal::RateLimited(RateLimit::Address)),
            "rate_limited_address"
        );
        assert_eq!(
            label(Refusal::TooManyUnconnected(UnconnectedLimit::Node)),
            "unconnected"
        );
        assert_eq!(
            label(Refusal::TooManyUnconnected(UnconnectedLimit::Address)),
            "unconnected_address"
        );
        assert_eq!(label(Refusal::QueryTooLong), "query_too_long");
        assert_eq!(label(Refusal::HeadersTooLarge), "headers_too_large");
        assert_eq!(
            Refusal::RateLimited(RateLimit::Address).to_string(),
            Refusal::RateLimited(RateLimit::Node).to_string(),
            "the client is not told which limit refused"
        );
    }

    #[test]
    fn sessions_are_tallied_by_transport_and_by_generation_in_one_pass() {
        let tally = tally_sessions(
            [
                (None, Generation::Legacy),
                (Some(TransportKind::Websocket), Generation::Legacy),
                (
                    Some(TransportKind::Websocket),
                    Generation::Engine(EngineRevision::V4),
                ),
                (
                    Some(TransportKind::XhrPolling),
                    Generation::Engine(EngineRevision::V3),
                ),
                (None, Generation::Engine(EngineRevision::V4)),
            ]
            .into_iter(),
        );
        assert_eq!(tally.by_generation, [("0.9", 2), ("eio3", 1), ("eio4", 2)]);
        let count = |label: &str| {
            tally
                .by_transport
                .iter()
                .find(|(transport, _)| *transport == label)
                .map(|(_, count)| *count)
        };
        assert_eq!(count(NO_TRANSPORT), Some(2));
        assert_eq!(count("websocket"), Some(2));
        assert_eq!(count("xhr-polling"), Some(1));
        assert_eq!(
            tally.by_transport.iter().map(|(_, n)| n).sum::<u64>(),
            5,
            "every session once"
        );
    }

    #[test]
    fn packets_by_type_add_up_every_transport() {
        let metrics = HubMetrics::default();
        metrics.packet_in(Some(TransportKind::Websocket), 5);
        metrics.packet_in(Some(TransportKind::XhrPolling), 5);
        metrics.packet_in(None, 3);
        metrics.packets_out(
            TransportKind::Websocket,
            Generation::Legacy,
            &[Encoded::from_static("5:::{}"), Encoded::from_static("2::")],
        );
        let by_type = metrics.packets_by_type();
        assert_eq!(by_type.len(), PACKET_TYPES);
        assert_eq!(by_type[5], ("event", 2, 1));
        assert_eq!(by_type[3], ("message", 1, 0));
        assert_eq!(by_type[2], ("heartbeat", 0, 1));
        let snapshot = metrics.snapshot(tally_sessions(std::iter::empty()), 0, 0);
        assert_eq!(
            snapshot
                .packets_in
                .iter()
                .filter(|(_, kind, _)| *kind == "event")
                .map(|(_, _, count)| count)
                .sum::<u64>(),
            2,
            "the same counters the snapshot reads"
        );
    }

    #[test]
    fn engine_packets_out_are_counted_by_their_socket_io_type() {
        let metrics = HubMetrics::default();
        let v4 = Generation::Engine(EngineRevision::V4);
        metrics.packets_out(
            TransportKind::XhrPolling,
            v4,
            &[
                Encoded::from_static(r#"40{"sid":"x"}"#),
                Encoded::from_static(r#"42["toClient","a"]"#),
                Encoded::from_static(r#"451-["blob",{"_placeholder":true,"num":0}]"#),
                Encoded::binary(b"\x01\x02"),
                Encoded::from_static(r#"43[1]"#),
                Encoded::from_static("2"),
                Encoded::from_static("3"),
                Encoded::from_static("6"),
                Encoded::from_static("41"),
            ],
        );
        let by_type = metrics.packets_by_type();
        let written = |label: &str| {
            by_type
                .iter()
                .find(|(kind, _, _)| *kind == label)
                .map(|(_, _, written)| *written)
        };
        assert_eq!(written("connect"), Some(1));
        assert_eq!(
            written("event"),
            Some(2),
            "the binary event once, not its attachment"
        );
        assert_eq!(written("ack"), Some(1));
        assert_eq!(written("heartbeat"), Some(2));
        assert_eq!(written("noop"), Some(1));
        assert_eq!(written("disconnect"), Some(1));
        assert_eq!(
            written("message"),
            Some(0),
            "no Engine.IO type read as a 0.9 one"
        );
        assert_eq!(written("json"), Some(0));
    }
}
