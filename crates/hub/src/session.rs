//! One session's state: its outbox, which transport is attached, its timers' deadlines and the
//! namespaces it joined. Plain data behind one short-held lock; no I/O and no awaiting here.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use ferrio_protocol::TransportKind;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::budget::{Budget, Spent};
use crate::config::HubConfig;
use crate::encoded::{Batch, Encoded};
use crate::endpoint::{AckCallback, EndpointState, Endpoints};
use crate::generation::Generation;
use crate::handshake::HandshakeData;
use crate::timers::{TimerKey, Timers};

/// How a transport takes packets from its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachMode {
    /// One batch per request, `8::` at the polling deadline (xhr-polling, jsonp-polling).
    Poll,
    /// Batches until the session ends, with heartbeats (websocket, htmlfile, xhr-multipart).
    Stream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Handshaken, no transport request yet.
    Issued,
    /// The first transport request arrived and `1::` was queued.
    Connected,
    /// Ended; handlers ran. The session may linger to hand a farewell `0::` to the next poll.
    Closed,
}

#[derive(Debug, Clone, Copy)]
struct Attached {
    generation: u64,
    mode: AttachMode,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    outbox: VecDeque<Encoded>,
    /// The bytes of the packets in `outbox`.
    outbox_bytes: usize,
    /// The bytes of the batch the streaming transport took last: it is being written until
    /// that transport comes back for more, and pins its memory meanwhile.
    in_flight: usize,
    attached: Option<Attached>,
    generation: u64,
    /// When the session was issued, or when its last transport went away. An Engine.IO
    /// session keeps the time it was issued until it ends: its first ping and its connect
    /// timeout count from there, and no transport going away starts a close timeout.
    idle_since: Instant,
    /// When the next `2::` goes out (streaming transports only).
    heartbeat_due: Option<Instant>,
    /// By when the client must answer the `2::` that went out.
    heartbeat_deadline: Option<Instant>,
    /// Ended with a farewell `0::` that no transport has picked up yet.
    lingering: bool,
    /// How far an Engine.IO session's move to a WebSocket went; always `Polling` for 0.9.
    upgrade: Upgrade,
    /// The transport attached now, or last.
    transport: Option<TransportKind>,
    endpoints: Endpoints,
    /// Where the timer task filed this session's next deadline.
    timer_key: Option<TimerKey>,
    /// What the client may still send.
    budget: Budget,
    /// The namespaces whose join waits on an asynchronous authorization hook, with the
    /// client's packets for them held meanwhile. Boxed: almost no session ever has one.
    joining: Option<Box<Joins>>,
}

/// The joins of one session waiting on their hooks (boxed apart, as a session rarely has any:
/// the box costs an idle session one pointer where the list would cost three).
#[derive(Debug, Default)]
struct Joins(Vec<Joining>);

/// What [`Session::hold_for_join`] did with a packet.
#[derive(Debug)]
pub(crate) enum Hold {
    /// Kept until its namespace's join is decided.
    Held,
    /// Its namespace is joined: handle it now.
    Joined(ferrio_protocol::Packet),
    /// Its namespace is neither joined nor joining.
    NotJoined(ferrio_protocol::Packet),
}

/// A namespace join waiting on its hook, and the packets that came for it meanwhile.
#[derive(Debug)]
struct Joining {
    endpoint: Box<str>,
    held: Vec<ferrio_protocol::Packet>,
}

impl State {
    fn push_back(&mut self, packet: Encoded) {
        self.outbox_bytes += packet.len();
        self.outbox.push_back(packet);
    }

    fn push_front(&mut self, packet: Encoded) {
        self.outbox_bytes += packet.len();
        self.outbox.push_front(packet);
    }

    /// Takes the first `count` packets out of the outbox.
    fn drain(&mut self, count: usize) -> Vec<Encoded> {
        let packets: Vec<Encoded> = self.outbox.drain(..count).collect();
        self.outbox_bytes -= packets.iter().map(Encoded::len).sum::<usize>();
        packets
    }

    fn clear_outbox(&mut self) {
        self.outbox.clear();
        self.outbox_bytes = 0;
    }
}

/// The bounds of one outbox.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub(crate) packets: usize,
    pub(crate) bytes: usize,
}

impl Bounds {
    pub(crate) fn of(config: &HubConfig) -> Self {
        Bounds {
            packets: config.max_buffered_packets,
            bytes: config.max_buffer_bytes,
        }
    }
}

/// Which bound a push would have crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    Packets,
    Bytes,
}

/// A session. Shared by the registry, the rooms it joined, the timer queue and whatever
/// transport is attached.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) id: Arc<str>,
    /// The wire generation the session speaks.
    pub(crate) generation: Generation,
    /// What only an Engine.IO session has; `None` for a 0.9 one, which pays one pointer.
    pub(crate) engine: Option<Box<EngineSide>>,
    pub(crate) handshake: HandshakeData,
    /// The client address its handshake was counted under while unconnected: the peer's, as
    /// the authorization hook may rewrite the address in the handshake data.
    pub(crate) counted_as: IpAddr,
    state: Mutex<State>,
    /// Wakes the attached transport: packets queued, superseded, or ended.
    pub(crate) wake: Notify,
    /// The hub's timer queue, told when a deadline may have moved.
    timers: Arc<Timers>,
    /// This session, for queueing itself with the timers.
    me: Weak<Session>,
    /// Queued with the timers and not yet looked at: moves meanwhile need no second entry.
    timer_queued: AtomicBool,
}

/// What only an Engine.IO session keeps.
#[derive(Debug)]
pub(crate) struct EngineSide {
    /// What the client is told its socket is called (never the session id, which is the
    /// session's credential and would travel to other clients in application data), and its
    /// private id for connection state recovery, once it has one. A recovered socket takes
    /// back both.
    names: Mutex<EngineNames>,
    /// A binary packet's header waiting for its attachments.
    pub(crate) reassembler: Mutex<ferrio_sio::Reassembler>,
    /// The payload each namespace's `CONNECT` carried (Socket.IO 5's `auth`), by namespace.
    connect_payloads: Mutex<Vec<(Box<str>, serde_json::Value)>>,
    /// A bare Engine.IO session: its messages are no Socket.IO packets but come back as they
    /// are (the official Engine.IO test suite's fixture).
    pub(crate) echo: AtomicBool,
}

/// How far an Engine.IO session's move from polling to a WebSocket went (the upgrade of
/// the Engine.IO protocol, §"Upgrade").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upgrade {
    /// No WebSocket is upgrading the session: it polls, or has not been reached yet.
    Polling,
    /// A WebSocket was opened for the session and has not been probed yet.
    Probing,
    /// The WebSocket answered the client's probe: a poll that would wait is answered with
    /// a `noop` at once, so the client can pause polling and finish the upgrade.
    Probed,
    /// The WebSocket is the session's transport for good: polls are refused.
    Done,
}

/// What a Socket.IO client is told its socket is called, and its private id.
#[derive(Debug, Clone)]
pub(crate) struct EngineNames {
    pub(crate) socket_id: Arc<str>,
    pub(crate) pid: Option<Arc<str>>,
}

/// What pushing a packet did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// A volatile packet with no transport ready or no room, or a session that ended.
    Dropped,
    /// The outbox is full: the caller ends the session.
    Overflow(Bound),
}

/// What closing a session found.
#[derive(Debug)]
pub(crate) struct Closed {
    /// The namespaces it had joined, for their disconnect handlers.
    pub(crate) endpoints: Endpoints,
    /// Whether it lingers to hand `0::` to the next poll.
    pub(crate) lingering: bool,
    /// The phase it ended in: `Issued` when it never connected.
    pub(crate) was: Phase,
}

/// What a waiting transport gets.
#[derive(Debug)]
pub(crate) enum Take {
    /// Packets to write; the flag says the registry should now forget a lingering session.
    Batch(Batch, bool),
    Empty,
    Superseded,
    /// Ended; `finished_lingering` says the registry should now forget the session.
    Closed {
        finished_lingering: bool,
    },
    /// The hub is flushing for a shutdown and nothing is left to deliver: this take ended the
    /// session, and the hub finishes the end with what it found.
    Flushed(Closed),
}

/// What the timer task does next with this session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerStep {
    Sleep(Instant),
    Wait,
    Expire(Expiry),
    Exit,
}

/// A deadline that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    Handshake,
    Heartbeat,
    Close,
    Linger,
}

/// The result of the first transport request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Establish {
    /// This request connected the session: run the default namespace's connection handler.
    Connected,
    Already,
    Closed,
}

/// The most capacity a drained outbox keeps.
const OUTBOX_RETAINED: usize = 8;

impl Session {
    pub(crate) fn new(
        id: Arc<str>,
        handshake: HandshakeData,
        counted_as: IpAddr,
        timers: Arc<Timers>,
        budget: Budget,
    ) -> Arc<Self> {
        let engine = match handshake.generation {
            Generation::Legacy => None,
            Generation::Engine(revision) => Some(Box::new(EngineSide {
                connect_payloads: Mutex::new(Vec::new()),
                echo: AtomicBool::new(false),
                names: Mutex::new(EngineNames {
                    socket_id: uuid::Uuid::new_v4().simple().to_string().into(),
                    pid: None,
                }),
                reassembler: Mutex::new(ferrio_sio::Reassembler::new(
                    ferrio_sio::DecodeOptions::new(crate::translate::socket_revision(revision)),
                )),
            })),
        };
        Arc::new_cyclic(|me| Session {
            id,
            generation: handshake.generation,
            engine,
            handshake,
            counted_as,
            state: Mutex::new(State {
                phase: Phase::Issued,
                // Room for `1::` alone: most sessions then rarely hold more than one packet.
                outbox: VecDeque::with_capacity(1),
                outbox_bytes: 0,
                in_flight: 0,
                attached: None,
                generation: 0,
                idle_since: Instant::now(),
                heartbeat_due: None,
                heartbeat_deadline: None,
                lingering: false,
                upgrade: Upgrade::Polling,
                transport: None,
                endpoints: Endpoints::default(),
                timer_key: None,
                budget,
                joining: None,
            }),
            wake: Notify::new(),
            timers,
            me: me.clone(),
            timer_queued: AtomicBool::new(false),
        })
    }

    /// Tells the timer task that a deadline may have moved.
    pub(crate) fn deadlines_moved(&self) {
        if !self.timer_queued.swap(true, Ordering::AcqRel)
            && let Some(me) = self.me.upgrade()
        {
            self.timers.moved(me);
        }
    }

    /// The timer task is looking at this session now.
    pub(crate) fn timer_reviewed(&self) {
        self.timer_queued.store(false, Ordering::Release);
    }

    /// Records where the timer task filed this session, returning the previous place.
    pub(crate) fn replace_timer_key(&self, key: Option<TimerKey>) -> Option<TimerKey> {
        std::mem::replace(&mut self.state.lock().timer_key, key)
    }

    /// What a Socket.IO client is told its socket is called, and its private id; `None` for
    /// a 0.9 session.
    pub(crate) fn engine_names(&self) -> Option<(Arc<str>, Option<Arc<str>>)> {
        let engine = self.engine.as_ref()?;
        let names = engine.names.lock();
        Some((Arc::clone(&names.socket_id), names.pid.clone()))
    }

    /// Whether this is a bare Engine.IO session that echoes its messages.
    pub(crate) fn is_echo(&self) -> bool {
        self.engine
            .as_ref()
            .is_some_and(|engine| engine.echo.load(Ordering::Acquire))
    }

    /// Keeps the payload the client's `CONNECT` to `endpoint` carried.
    pub(crate) fn keep_connect_payload(&self, endpoint: &str, payload: serde_json::Value) {
        if let Some(engine) = &self.engine {
            let mut payloads = engine.connect_payloads.lock();
            payloads.retain(|(joined, _)| **joined != *endpoint);
            payloads.push((endpoint.into(), payload));
        }
    }

    /// The payload the client's `CONNECT` to `endpoint` carried.
    pub(crate) fn connect_payload(&self, endpoint: &str) -> Option<serde_json::Value> {
        let engine = self.engine.as_ref()?;
        let payloads = engine.connect_payloads.lock();
        payloads
            .iter()
            .find(|(joined, _)| **joined == *endpoint)
            .map(|(_, payload)| payload.clone())
    }

    /// Gives the Socket.IO client's socket a private id, unless it has one: connection state
    /// recovery is on.
    pub(crate) fn ensure_pid(&self) {
        if let Some(engine) = &self.engine {
            let mut names = engine.names.lock();
            if names.pid.is_none() {
                names.pid = Some(uuid::Uuid::new_v4().simple().to_string().into());
            }
        }
    }

    /// Takes back the names of a recovered socket.
    pub(crate) fn recover_names(&self, socket_id: Arc<str>, pid: Arc<str>) {
        if let Some(engine) = &self.engine {
            *engine.names.lock() = EngineNames {
                socket_id,
                pid: Some(pid),
            };
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.state.lock().phase
    }

    /// The transport attached now, or last; how many packets wait in the outbox, and the bytes
    /// they and the batch being written hold.
    pub(crate) fn transport_and_backlog(&self) -> (Option<TransportKind>, usize, usize) {
        let state = self.state.lock();
        (
            state.transport,
            state.outbox.len(),
            state.outbox_bytes + state.in_flight,
        )
    }

    /// Spends a packet of `size` bytes from the client's budget; also says which transport
    /// the session uses, for the counters.
    pub(crate) fn spend(&self, size: usize, config: &HubConfig) -> (Spent, Option<TransportKind>) {
        let mut state = self.state.lock();
        let spent = state.budget.spend(
            size,
            config.inbound_packets,
            config.inbound_bytes,
            Instant::now(),
        );
        (spent, state.transport)
    }

    pub(crate) fn is_attached(&self) -> bool {
        self.state.lock().attached.is_some()
    }

    /// Whether a poll is attached, waiting for its answer.
    pub(crate) fn is_polled(&self) -> bool {
        self.state
            .lock()
            .attached
            .is_some_and(|attached| attached.mode == AttachMode::Poll)
    }

    /// Connects an issued session: `1::` goes first in the outbox (docs/protocol.md §4.2), whatever
    /// the first request is, and the default namespace is joined.
    pub(crate) fn establish(&self) -> Establish {
        let mut state = self.state.lock();
        match state.phase {
            Phase::Issued => {
                state.phase = Phase::Connected;
                if let Some(connect) = self.generation.connect_packet() {
                    state.push_front(connect);
                }
                // A 0.9 session is in the default namespace from its first request on; a
                // Socket.IO one joins each namespace with its own CONNECT.
                if self.generation == Generation::Legacy {
                    state.endpoints.insert("");
                }
                if self.generation == Generation::Legacy {
                    state.idle_since = Instant::now();
                }
                drop(state);
                self.deadlines_moved();
                Establish::Connected
            }
            Phase::Connected => Establish::Already,
            Phase::Closed => Establish::Closed,
        }
    }

    /// Attaches a transport, superseding any older one. `None` when the session is over
    /// (unless it lingers with a farewell to hand out).
    pub(crate) fn attach(
        &self,
        kind: TransportKind,
        mode: AttachMode,
        heartbeat_interval: std::time::Duration,
    ) -> Option<u64> {
        let mut state = self.state.lock();
        let farewell_pending = state.lingering && !state.outbox.is_empty();
        if state.phase == Phase::Closed && !farewell_pending {
            return None;
        }
        state.generation += 1;
        state.transport = Some(kind);
        let generation = state.generation;
        let superseded = state
            .attached
            .replace(Attached { generation, mode })
            .is_some();
        if self.generation == Generation::Legacy {
            state.heartbeat_deadline = None;
            state.heartbeat_due =
                (mode == AttachMode::Stream).then(|| Instant::now() + heartbeat_interval);
        }
        drop(state);
        if superseded {
            self.wake.notify_waiters();
        }
        self.deadlines_moved();
        Some(generation)
    }

    /// Detaches the transport of `generation` if it is still the current one.
    pub(crate) fn detach(&self, generation: u64) {
        let mut state = self.state.lock();
        if state.attached.is_some_and(|a| a.generation == generation) {
            state.attached = None;
            state.in_flight = 0;
            if self.generation == Generation::Legacy {
                state.idle_since = Instant::now();
                state.heartbeat_due = None;
                state.heartbeat_deadline = None;
            }
            drop(state);
            self.deadlines_moved();
        }
    }

    /// Whether `generation` is the attached transport.
    pub(crate) fn is_current(&self, generation: u64) -> bool {
        self.state
            .lock()
            .attached
            .is_some_and(|a| a.generation == generation)
    }

    /// Takes what the transport of `generation` should write now. A poll that already waited
    /// takes only the first packet, as the reference does (docs/protocol.md §4.4, C17); the rest
    /// waits for the next poll. A poll that gets its batch is detached at once, so volatile packets
    /// are not queued for a poll that is already answering.
    ///
    /// While the hub is `flushing` for a shutdown, a connected session with nothing left to
    /// write ends here, under the same lock as the look at its outbox, so no packet can be
    /// queued between the two and lost with the session.
    pub(crate) fn take(
        &self,
        generation: u64,
        mode: AttachMode,
        waited: bool,
        flushing: bool,
    ) -> Take {
        let mut state = self.state.lock();
        if state.attached.is_none_or(|a| a.generation != generation) {
            return if state.phase == Phase::Closed {
                Take::Closed {
                    finished_lingering: false,
                }
            } else {
                Take::Superseded
            };
        }
        // Coming back for more means the last batch is written.
        state.in_flight = 0;
        if !state.outbox.is_empty() {
            // An Engine.IO poll takes everything: its client is not 0.9's.
            let count =
                if mode == AttachMode::Poll && waited && self.generation == Generation::Legacy {
                    1
                } else {
                    state.outbox.len()
                };
            let packets = state.drain(count);
            if mode == AttachMode::Stream {
                state.in_flight = packets.iter().map(Encoded::len).sum();
            }
            if state.outbox.is_empty() && state.outbox.capacity() > OUTBOX_RETAINED {
                // A backlog (a client away for a while) would otherwise pin its buffer for the
                // rest of the session; a small one stays so steady traffic does not reallocate.
                state.outbox.shrink_to(OUTBOX_RETAINED);
            }
            if mode == AttachMode::Poll {
                state.attached = None;
                if self.generation == Generation::Legacy {
                    state.idle_since = Instant::now();
                }
                self.deadlines_moved();
            }
            let finished_lingering = state.phase == Phase::Closed
                && state.outbox.is_empty()
                && std::mem::take(&mut state.lingering);
            return Take::Batch(Batch::new(packets), finished_lingering);
        }
        if state.phase == Phase::Closed {
            let finished_lingering = std::mem::take(&mut state.lingering);
            return Take::Closed { finished_lingering };
        }
        if flushing && state.phase == Phase::Connected {
            let closed = self.close_locked(&mut state, false);
            drop(state);
            self.deadlines_moved();
            return Take::Flushed(closed);
        }
        if mode == AttachMode::Poll && state.upgrade == Upgrade::Probed {
            // The client waits for this poll to end before it sends the upgrade's `5`.
            state.attached = None;
            drop(state);
            self.deadlines_moved();
            return Take::Batch(Batch::noop(self.generation), false);
        }
        Take::Empty
    }

    /// Starts moving the session to a WebSocket, unless one is already upgrading it or has
    /// done so, or the session ended. The state the session was in: the move started only
    /// when that is `Polling`.
    pub(crate) fn begin_upgrade(&self) -> Upgrade {
        let mut state = self.state.lock();
        let was = state.upgrade;
        if was == Upgrade::Polling && state.phase != Phase::Closed {
            state.upgrade = Upgrade::Probing;
        }
        was
    }

    /// The upgrading WebSocket answered the client's probe; a waiting poll is answered now.
    pub(crate) fn upgrade_probed(&self) {
        let mut state = self.state.lock();
        if state.upgrade == Upgrade::Probing {
            state.upgrade = Upgrade::Probed;
        }
        drop(state);
        self.wake.notify_waiters();
    }

    /// Makes the upgrade final; `false` when the WebSocket was never probed.
    pub(crate) fn upgrade_done(&self) -> bool {
        let mut state = self.state.lock();
        let probed = state.upgrade == Upgrade::Probed;
        if probed {
            state.upgrade = Upgrade::Done;
        }
        probed
    }

    /// The upgrading WebSocket went away before the upgrade was final: the session polls
    /// on, and a later WebSocket may try again.
    pub(crate) fn upgrade_abandoned(&self) {
        let mut state = self.state.lock();
        if matches!(state.upgrade, Upgrade::Probing | Upgrade::Probed) {
            state.upgrade = Upgrade::Polling;
        }
    }

    /// How far the session's move to a WebSocket went.
    pub(crate) fn upgrade(&self) -> Upgrade {
        self.state.lock().upgrade
    }

    /// Queues a packet. A volatile packet is queued only when a transport is attached and not
    /// backed up (docs/protocol.md §4.11); otherwise it is dropped by design, as it is when it
    /// would cross a bound. The byte bound counts the batch the transport is writing too.
    pub(crate) fn push(&self, packet: Encoded, volatile: bool, bounds: Bounds) -> Pushed {
        self.push_units(std::slice::from_ref(&packet), volatile, bounds)
    }

    /// [`Session::push`] of packets that go out together (a Socket.IO packet and its binary
    /// attachments): all are queued, back to back, or none.
    pub(crate) fn push_units(&self, units: &[Encoded], volatile: bool, bounds: Bounds) -> Pushed {
        let mut state = self.state.lock();
        if state.phase == Phase::Closed {
            return Pushed::Dropped;
        }
        if volatile && (state.attached.is_none() || !state.outbox.is_empty()) {
            return Pushed::Dropped;
        }
        let size: usize = units.iter().map(Encoded::len).sum();
        let crossed = if state.outbox.len() + units.len() > bounds.packets {
            Some(Bound::Packets)
        } else if state.outbox_bytes + state.in_flight + size > bounds.bytes {
            Some(Bound::Bytes)
        } else {
            None
        };
        if let Some(bound) = crossed {
            return if volatile {
                Pushed::Dropped
            } else {
                Pushed::Overflow(bound)
            };
        }
        let was_empty = state.outbox.is_empty();
        for unit in units {
            state.push_back(unit.clone());
        }
        let attached = state.attached.is_some();
        drop(state);
        if was_empty && attached {
            self.wake.notify_waiters();
        }
        Pushed::Queued
    }

    /// Ends the session: what it had joined, whether it lingers and the phase it was in;
    /// `None` if it had already ended.
    pub(crate) fn close(&self, farewell: bool) -> Option<Closed> {
        self.close_when(|state| state.phase != Phase::Closed, farewell, |_| {})
    }

    /// Ends the session when `may` says its state allows it, `then` finishing under the same
    /// lock; what [`Session::close`] says.
    fn close_when(
        &self,
        may: impl FnOnce(&State) -> bool,
        farewell: bool,
        then: impl FnOnce(&mut State),
    ) -> Option<Closed> {
        let mut state = self.state.lock();
        if !may(&state) {
            return None;
        }
        let closed = self.close_locked(&mut state, farewell);
        then(&mut state);
        drop(state);
        self.wake.notify_waiters();
        self.deadlines_moved();
        Some(closed)
    }

    /// Ends the session if no transport request has connected it yet; `None` otherwise. A
    /// shutdown ends such sessions at once: they have nothing to deliver.
    pub(crate) fn close_unconnected(&self) -> Option<Closed> {
        self.close_when(|state| state.phase == Phase::Issued, false, |_| {})
    }

    /// Ends the session to hand it to another node: only when no transport request has
    /// reached it yet, so that nothing here waits on it. An Engine.IO session stays `Issued`
    /// until its client's `CONNECT`, with a poll that may already be waiting: that one stays.
    pub(crate) fn close_untouched(&self) -> Option<Closed> {
        self.close_when(
            |state| state.phase == Phase::Issued && state.transport.is_none(),
            false,
            |_| {},
        )
    }

    /// Ends an Engine.IO session its client closed: a poll still waiting is answered with a
    /// `noop`, as the reference answers it, not with a `close` of the server's.
    pub(crate) fn close_by_client(&self) -> Option<Closed> {
        let noop = self.generation.noop();
        self.close_when(
            |state| state.phase != Phase::Closed,
            false,
            |state| {
                if state
                    .attached
                    .is_some_and(|attached| attached.mode == AttachMode::Poll)
                {
                    state.push_back(noop);
                }
            },
        )
    }

    /// [`Session::close`] of a session not closed yet, under its lock.
    fn close_locked(&self, state: &mut State, farewell: bool) -> Closed {
        let was = state.phase;
        state.phase = Phase::Closed;
        // Joins still waiting on their hooks will find the session ended: nothing to hold.
        state.joining = None;
        if farewell && was == Phase::Connected {
            state.push_back(self.generation.farewell());
            state.lingering = state.attached.is_none();
        } else {
            state.clear_outbox();
        }
        if state.lingering {
            state.idle_since = Instant::now();
        }
        Closed {
            endpoints: std::mem::take(&mut state.endpoints),
            lingering: state.lingering,
            was,
        }
    }

    /// A heartbeat from the client: the next `2::` is due one interval from now.
    pub(crate) fn heartbeat_received(&self, interval: std::time::Duration) {
        let mut state = self.state.lock();
        if self.generation != Generation::Legacy {
            return;
        }
        if state.attached.is_some_and(|a| a.mode == AttachMode::Stream) {
            state.heartbeat_deadline = None;
            state.heartbeat_due = Some(Instant::now() + interval);
            drop(state);
            self.deadlines_moved();
        }
    }

    /// Decides the timer task's next step at `now`, sending a due heartbeat on the way.
    pub(crate) fn timer_step(&self, now: Instant, config: &HubConfig) -> TimerStep {
        let mut state = self.state.lock();
        if let Generation::Engine(revision) = self.generation {
            return self.engine_timer_step(state, revision, now, config);
        }
        match state.phase {
            Phase::Issued => due(
                state.idle_since + config.handshake_expiry,
                now,
                Expiry::Handshake,
            ),
            Phase::Closed if state.lingering => {
                due(state.idle_since + config.close_timeout, now, Expiry::Linger)
            }
            Phase::Closed => TimerStep::Exit,
            Phase::Connected => match state.attached {
                None => due(state.idle_since + config.close_timeout, now, Expiry::Close),
                Some(Attached {
                    mode: AttachMode::Poll,
                    ..
                }) => TimerStep::Wait,
                Some(Attached {
                    mode: AttachMode::Stream,
                    ..
                }) => {
                    if let Some(deadline) = state.heartbeat_deadline {
                        return due(deadline, now, Expiry::Heartbeat);
                    }
                    match state.heartbeat_due {
                        Some(at) if at <= now => {
                            let deadline = now + config.heartbeat_timeout;
                            state.heartbeat_deadline = Some(deadline);
                            let was_empty = state.outbox.is_empty();
                            state.push_back(self.generation.heartbeat());
                            drop(state);
                            if was_empty {
                                self.wake.notify_waiters();
                            }
                            TimerStep::Sleep(deadline)
                        }
                        Some(at) => TimerStep::Sleep(at),
                        None => TimerStep::Wait,
                    }
                }
            },
        }
    }

    /// [`Session::timer_step`] for an Engine.IO session. Its heartbeat does not depend on
    /// the transport: revision 4 pings every `ping_interval` whether a transport is attached
    /// or not (a poll between two requests gets the ping next) and ends the session when the
    /// pong is `ping_timeout` late, which also ends a session whose client went away;
    /// revision 3 expects the client's own ping within `ping_interval + ping_timeout`. A
    /// session that has joined no namespace yet ends at the connect timeout.
    fn engine_timer_step(
        &self,
        mut state: parking_lot::MutexGuard<'_, State>,
        revision: ferrio_eio::Revision,
        now: Instant,
        config: &HubConfig,
    ) -> TimerStep {
        let engine = &config.engine;
        let connect_deadline = match state.phase {
            Phase::Closed if state.lingering => {
                return due(state.idle_since + config.close_timeout, now, Expiry::Linger);
            }
            Phase::Closed => return TimerStep::Exit,
            Phase::Issued => Some(state.idle_since + engine.connect_timeout),
            Phase::Connected => None,
        };
        if let Some(deadline) = connect_deadline
            && deadline <= now
        {
            return TimerStep::Expire(Expiry::Handshake);
        }
        let heartbeat = match revision {
            ferrio_eio::Revision::V4 => {
                if let Some(deadline) = state.heartbeat_deadline {
                    if deadline <= now {
                        return TimerStep::Expire(Expiry::Heartbeat);
                    }
                    deadline
                } else {
                    let first_ping = state.idle_since + engine.ping_interval;
                    let ping_due = *state.heartbeat_due.get_or_insert(first_ping);
                    if ping_due <= now {
                        let deadline = now + engine.ping_timeout;
                        state.heartbeat_deadline = Some(deadline);
                        let wake = state.outbox.is_empty() && state.attached.is_some();
                        state.push_back(self.generation.heartbeat());
                        drop(state);
                        if wake {
                            self.wake.notify_waiters();
                        }
                        return TimerStep::Sleep(
                            connect_deadline.map_or(deadline, |connect| connect.min(deadline)),
                        );
                    }
                    ping_due
                }
            }
            ferrio_eio::Revision::V3 => {
                let first_ping_late = state.idle_since + engine.ping_interval + engine.ping_timeout;
                let deadline = *state.heartbeat_deadline.get_or_insert(first_ping_late);
                if deadline <= now {
                    return TimerStep::Expire(Expiry::Heartbeat);
                }
                deadline
            }
        };
        TimerStep::Sleep(connect_deadline.map_or(heartbeat, |connect| connect.min(heartbeat)))
    }

    /// The client of an Engine.IO session answered a ping (revision 4: its `pong`) or sent
    /// its own (revision 3: its `ping`, which the caller answers with `pong`): the heartbeat
    /// starts over from `now`.
    pub(crate) fn engine_heartbeat_received(&self, now: Instant, config: &HubConfig) {
        let Generation::Engine(revision) = self.generation else {
            return;
        };
        let mut state = self.state.lock();
        match revision {
            ferrio_eio::Revision::V4 => {
                state.heartbeat_deadline = None;
                state.heartbeat_due = Some(now + config.engine.ping_interval);
            }
            ferrio_eio::Revision::V3 => {
                state.heartbeat_deadline =
                    Some(now + config.engine.ping_interval + config.engine.ping_timeout);
            }
        }
        drop(state);
        self.deadlines_moved();
    }

    /// Whether the session joined `endpoint`.
    pub(crate) fn has_joined(&self, endpoint: &str) -> bool {
        self.state.lock().endpoints.contains(endpoint)
    }

    /// Joins `endpoint`; `false` if it was joined already or the session ended.
    pub(crate) fn join_endpoint(&self, endpoint: &str) -> bool {
        let mut state = self.state.lock();
        state.phase != Phase::Closed && state.endpoints.insert(endpoint)
    }

    /// Marks `endpoint` as joining while its authorization hook decides; `false` when it is
    /// joined or joining already, or the session ended.
    pub(crate) fn begin_joining(&self, endpoint: &str) -> bool {
        let mut state = self.state.lock();
        if state.phase == Phase::Closed || state.endpoints.contains(endpoint) {
            return false;
        }
        let joining = &mut state.joining.get_or_insert_with(Box::default).0;
        if joining.iter().any(|j| &*j.endpoint == endpoint) {
            return false;
        }
        joining.push(Joining {
            endpoint: endpoint.into(),
            held: Vec::new(),
        });
        true
    }

    /// Keeps `packet` until its namespace's join is decided, when it is joining; gives it
    /// back otherwise, saying whether the namespace is joined now (its join may have been
    /// decided since the caller looked).
    pub(crate) fn hold_for_join(&self, packet: ferrio_protocol::Packet) -> Hold {
        let mut state = self.state.lock();
        if state.endpoints.contains(&packet.endpoint) {
            return Hold::Joined(packet);
        }
        let joining = state.joining.as_mut().and_then(|joining| {
            joining
                .0
                .iter_mut()
                .find(|j| *j.endpoint == *packet.endpoint)
        });
        match joining {
            Some(joining) => {
                joining.held.push(packet);
                Hold::Held
            }
            None => Hold::NotJoined(packet),
        }
    }

    /// Ends the wait of `endpoint`'s join: joins it when `admit` (and the session is still
    /// up), and returns whether it joined and the packets held for it, in their order.
    pub(crate) fn finish_joining(
        &self,
        endpoint: &str,
        admit: bool,
    ) -> (bool, Vec<ferrio_protocol::Packet>) {
        let mut state = self.state.lock();
        let held = match state.joining.as_mut() {
            Some(joining) => match joining.0.iter().position(|j| &*j.endpoint == endpoint) {
                Some(index) => joining.0.swap_remove(index).held,
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        if state
            .joining
            .as_ref()
            .is_some_and(|joining| joining.0.is_empty())
        {
            state.joining = None;
        }
        let joined = admit && state.phase != Phase::Closed && state.endpoints.insert(endpoint);
        (joined, held)
    }

    /// Leaves `endpoint`, returning its state (rooms, pending acks).
    pub(crate) fn leave_endpoint(&self, endpoint: &str) -> Option<EndpointState> {
        self.state.lock().endpoints.remove(endpoint)
    }

    /// Records a room membership; `false` when the endpoint is not joined.
    pub(crate) fn add_room(&self, endpoint: &str, room: &str) -> bool {
        match self.state.lock().endpoints.get_mut(endpoint) {
            Some(ep) => {
                ep.add_room(room);
                true
            }
            None => false,
        }
    }

    /// Forgets a room membership.
    pub(crate) fn remove_room(&self, endpoint: &str, room: &str) {
        if let Some(ep) = self.state.lock().endpoints.get_mut(endpoint) {
            ep.remove_room(room);
        }
    }

    /// The rooms joined in `endpoint`.
    pub(crate) fn rooms(&self, endpoint: &str) -> Vec<String> {
        self.state
            .lock()
            .endpoints
            .get(endpoint)
            .map(|ep| ep.rooms().iter().map(|room| room.to_string()).collect())
            .unwrap_or_default()
    }

    /// Allocates the next message id of `endpoint`, registering `callback` for its ack.
    pub(crate) fn register_ack(
        &self,
        endpoint: &str,
        callback: Option<AckCallback>,
    ) -> Option<u64> {
        let mut state = self.state.lock();
        let ep = state.endpoints.get_mut(endpoint)?;
        Some(ep.next_message_id(callback))
    }

    /// Takes the callback waiting for the ack of `id` in `endpoint`.
    pub(crate) fn take_ack(&self, endpoint: &str, id: u64) -> Option<AckCallback> {
        self.state.lock().endpoints.get_mut(endpoint)?.take_ack(id)
    }
}

fn due(at: Instant, now: Instant, expiry: Expiry) -> TimerStep {
    if at <= now {
        TimerStep::Expire(expiry)
    } else {
        TimerStep::Sleep(at)
    }
}

impl Session {
    /// Puts packets that were taken but not written back at the front of the outbox. A
    /// transport waiting meanwhile (a poll that came through another node) gets them at once.
    pub(crate) fn requeue(&self, batch: Batch) {
        let mut state = self.state.lock();
        state.in_flight = 0;
        for packet in batch.into_packets().into_iter().rev() {
            state.push_front(packet);
        }
        let attached = state.attached.is_some();
        drop(state);
        if attached {
            self.wake.notify_waiters();
        }
    }

    /// The farewell was not picked up within the close timeout: give up on it.
    pub(crate) fn stop_lingering(&self) {
        let mut state = self.state.lock();
        state.lingering = false;
        state.clear_outbox();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::handshake::ConnectInfo;

    const LIMIT: Bounds = Bounds {
        packets: 4,
        bytes: 1024,
    };
    const INTERVAL: Duration = Duration::from_secs(25);

    fn session() -> Arc<Session> {
        session_of(Generation::Legacy)
    }

    fn session_of(generation: Generation) -> Arc<Session> {
        let info = ConnectInfo {
            headers: vec![],
            address: ([127, 0, 0, 1], 1).into(),
            query: vec![],
            secure: false,
        };
        let config = HubConfig::default();
        let address = info.address.ip();
        let mut data = HandshakeData::new(info);
        data.generation = generation;
        Session::new(
            "sid".into(),
            data,
            address,
            Arc::new(Timers::default()),
            Budget::full(config.inbound_packets, config.inbound_bytes, Instant::now()),
        )
    }

    /// A session whose first request connected it, with `1::` already taken by a stream.
    fn streaming() -> (Arc<Session>, u64) {
        let session = session();
        assert_eq!(session.establish(), Establish::Connected);
        let generation = session
            .attach(TransportKind::Websocket, AttachMode::Stream, INTERVAL)
            .expect("attach");
        assert_eq!(
            texts(session.take(generation, AttachMode::Stream, false, false)),
            ["1::"]
        );
        (session, generation)
    }

    fn packet(text: &'static str) -> Encoded {
        Encoded::from_static(text)
    }

    impl Session {
        /// What the outbox holds now, taken out.
        fn take_queued(&self) -> Vec<String> {
            let mut state = self.state.lock();
            let count = state.outbox.len();
            state
                .drain(count)
                .iter()
                .map(|packet| packet.as_str().to_owned())
                .collect()
        }
    }

    fn texts(take: Take) -> Vec<String> {
        match take {
            Take::Batch(batch, _) => batch.texts().map(str::to_owned).collect(),
            other => panic!("expected a batch, got {other:?}"),
        }
    }

    #[test]
    fn packets_come_out_in_the_order_they_were_pushed() {
        let (session, generation) = streaming();
        for text in ["3:::a", "3:::b", "3:::c"] {
            assert_eq!(session.push(packet(text), false, LIMIT), Pushed::Queued);
        }
        assert_eq!(
            texts(session.take(generation, AttachMode::Stream, false, false)),
            ["3:::a", "3:::b", "3:::c"]
        );
        assert!(matches!(
            session.take(generation, AttachMode::Stream, false, false),
            Take::Empty
        ));
    }

    #[test]
    fn a_poll_that_waited_takes_one_packet_and_leaves_the_rest_in_order() {
        let session = session();
        session.establish();
        assert_eq!(session.push(packet("3:::a"), false, LIMIT), Pushed::Queued);
        let generation = session
            .attach(TransportKind::XhrPolling, AttachMode::Poll, INTERVAL)
            .expect("attach");
        assert_eq!(
            texts(session.take(generation, AttachMode::Poll, true, false)),
            ["1::"]
        );
        let generation = session
            .attach(TransportKind::XhrPolling, AttachMode::Poll, INTERVAL)
            .expect("attach");
        assert_eq!(
            texts(session.take(generation, AttachMode::Poll, false, false)),
            ["3:::a"]
        );
    }

    #[test]
    fn volatile_packets_are_dropped_without_a_ready_transport() {
        let session = session();
        session.establish();
        assert_eq!(
            session.push(packet("5:::{}"), true, LIMIT),
            Pushed::Dropped,
            "no transport"
        );
        let generation = session
            .attach(TransportKind::Websocket, AttachMode::Stream, INTERVAL)
            .expect("attach");
        assert_eq!(
            session.push(packet("5:::{}"), true, LIMIT),
            Pushed::Dropped,
            "`1::` still waits: the transport is backed up"
        );
        texts(session.take(generation, AttachMode::Stream, false, false));
        assert_eq!(session.push(packet("5:::{}"), true, LIMIT), Pushed::Queued);
        session.detach(generation);
        assert_eq!(
            session.push(packet("5:::{}"), true, LIMIT),
            Pushed::Dropped,
            "detached"
        );
    }

    #[test]
    fn the_outbox_overflows_at_the_limit_and_keeps_what_it_holds() {
        let session = session();
        session.establish();
        for text in ["3:::a", "3:::b", "3:::c"] {
            assert_eq!(session.push(packet(text), false, LIMIT), Pushed::Queued);
        }
        assert_eq!(
            session.push(packet("3:::d"), false, LIMIT),
            Pushed::Overflow(Bound::Packets),
            "`1::` and three packets fill a limit of four"
        );
        let generation = session
            .attach(TransportKind::XhrPolling, AttachMode::Poll, INTERVAL)
            .expect("attach");
        assert_eq!(
            texts(session.take(generation, AttachMode::Poll, false, false)),
            ["1::", "3:::a", "3:::b", "3:::c"]
        );
    }

    #[test]
    fn the_byte_bound_counts_the_batch_the_transport_is_writing() {
        let (session, generation) = streaming();
        let bounds = Bounds {
            packets: 100,
            bytes: 20,
        };
        assert_eq!(
            session.transport_and_backlog().2,
            3,
            "`1::` is being written"
        );
        assert!(matches!(
            session.take(generation, AttachMode::Stream, false, false),
            Take::Empty
        ));
        for text in ["3:::abcdef", "3:::ghijkl"] {
            assert_eq!(session.push(packet(text), false, bounds), Pushed::Queued);
        }
        assert_eq!(session.transport_and_backlog().2, 20);
        assert_eq!(
            session.push(packet("3:::x"), false, bounds),
            Pushed::Overflow(Bound::Bytes)
        );
        assert_eq!(
            texts(session.take(generation, AttachMode::Stream, false, false)),
            ["3:::abcdef", "3:::ghijkl"]
        );
        assert_eq!(
            session.push(packet("3:::x"), false, bounds),
            Pushed::Overflow(Bound::Bytes),
            "the batch is not written until the transport comes back for more"
        );
        assert!(matches!(
            session.take(generation, AttachMode::Stream, false, false),
            Take::Empty
        ));
        assert_eq!(session.transport_and_backlog().2, 0);
        assert_eq!(session.push(packet("3:::x"), false, bounds), Pushed::Queued);
    }

    #[test]
    fn a_volatile_packet_over_a_bound_is_dropped_rather_than_ending_the_session() {
        let (session, _generation) = streaming();
        let bounds = Bounds {
            packets: 100,
            bytes: 8,
        };
        assert_eq!(
            session.push(packet(r#"5:::{"name":"big"}"#), true, bounds),
            Pushed::Dropped
        );
        assert_eq!(session.phase(), Phase::Connected);
        assert_eq!(session.push(packet("3:::a"), true, bounds), Pushed::Queued);
    }

    #[test]
    fn packets_put_back_count_again() {
        let (session, generation) = streaming();
        session.push(packet("3:::abc"), false, LIMIT);
        let Take::Batch(batch, _) = session.take(generation, AttachMode::Stream, false, false)
        else {
            panic!("a batch");
        };
        session.requeue(batch);
        assert_eq!(
            session.transport_and_backlog(),
            (Some(TransportKind::Websocket), 1, 7)
        );
    }

    #[test]
    fn take_after_close_reports_the_end_and_pushes_are_dropped() {
        let (session, generation) = streaming();
        assert_eq!(session.push(packet("3:::a"), false, LIMIT), Pushed::Queued);
        let closed = session.close(false).expect("first close");
        assert!(
            closed.endpoints.contains(""),
            "the default namespace was joined"
        );
        assert!(!closed.lingering);
        assert_eq!(closed.was, Phase::Connected);
        assert!(
            matches!(
                session.take(generation, AttachMode::Stream, false, false),
                Take::Closed {
                    finished_lingering: false
                }
            ),
            "what was queued is discarded without a farewell"
        );
        assert_eq!(session.push(packet("3:::b"), false, LIMIT), Pushed::Dropped);
        assert!(session.close(true).is_none(), "a session ends once");
        assert_eq!(session.phase(), Phase::Closed);
    }

    #[test]
    fn close_with_farewell_hands_disconnect_to_the_open_transport() {
        let (session, generation) = streaming();
        let closed = session.close(true).expect("first close");
        assert!(
            !closed.lingering,
            "the open transport takes the farewell at once"
        );
        match session.take(generation, AttachMode::Stream, false, false) {
            Take::Batch(batch, finished_lingering) => {
                assert_eq!(batch.texts().collect::<Vec<_>>(), ["0::"]);
                assert!(!finished_lingering);
            }
            other => panic!("expected the farewell, got {other:?}"),
        }
        assert!(matches!(
            session.take(generation, AttachMode::Stream, false, false),
            Take::Closed {
                finished_lingering: false
            }
        ));
    }

    #[test]
    fn an_unconnected_session_gets_no_farewell() {
        let session = session();
        let closed = session.close(true).expect("first close");
        assert!(!closed.lingering);
        assert_eq!(closed.was, Phase::Issued, "it never connected");
        assert!(
            session
                .attach(TransportKind::XhrPolling, AttachMode::Poll, INTERVAL)
                .is_none()
        );
    }

    #[test]
    fn a_session_closed_between_polls_lingers_until_a_poll_takes_the_farewell() {
        let session = session();
        session.establish();
        let closed = session.close(true).expect("first close");
        assert!(closed.lingering, "no transport is attached to take `0::`");
        let generation = session
            .attach(TransportKind::XhrPolling, AttachMode::Poll, INTERVAL)
            .expect("a lingering session takes one more poll");
        match session.take(generation, AttachMode::Poll, false, false) {
            Take::Batch(batch, finished_lingering) => {
                assert_eq!(batch.texts().collect::<Vec<_>>(), ["1::", "0::"]);
                assert!(finished_lingering, "the registry may forget it now");
            }
            other => panic!("expected the farewell, got {other:?}"),
        }
        assert!(
            session
                .attach(TransportKind::XhrPolling, AttachMode::Poll, INTERVAL)
                .is_none(),
            "the farewell was handed out"
        );
    }

    #[test]
    fn a_lingering_farewell_nobody_took_is_given_up() {
        let session = session();
        session.establish();
        session.close(true).expect("first close");
        session.stop_lingering();
        assert!(
            session
                .attach(TransportKind::XhrPolling, AttachMode::Poll, INTERVAL)
                .is_none()
        );
    }

    /// The engine timers of the reference's test fixture: ping every 300 ms, 200 ms to answer,
    /// a namespace within 1 s.
    fn engine_config() -> HubConfig {
        HubConfig {
            engine: crate::config::EngineConfig {
                ping_interval: Duration::from_millis(300),
                ping_timeout: Duration::from_millis(200),
                connect_timeout: Duration::from_millis(1000),
                ..crate::config::EngineConfig::default()
            },
            ..HubConfig::default()
        }
    }

    const V4: Generation = Generation::Engine(ferrio_eio::Revision::V4);
    const V3: Generation = Generation::Engine(ferrio_eio::Revision::V3);

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn an_engine_session_is_pinged_one_interval_after_it_opens_with_or_without_a_transport() {
        let config = engine_config();
        let session = session_of(V4);
        let opened = session.state.lock().idle_since;
        assert_eq!(
            session.timer_step(opened, &config),
            TimerStep::Sleep(opened + ms(300)),
            "no ping at once"
        );
        // Nobody attached: the ping waits in the outbox for the next poll.
        assert_eq!(
            session.timer_step(opened + ms(300), &config),
            TimerStep::Sleep(opened + ms(500))
        );
        let generation = session
            .attach(TransportKind::XhrPolling, AttachMode::Poll, INTERVAL)
            .expect("attach");
        assert_eq!(
            texts(session.take(generation, AttachMode::Poll, false, false)),
            ["2"]
        );
        // No pong within the timeout ends it.
        assert_eq!(
            session.timer_step(opened + ms(500), &config),
            TimerStep::Expire(Expiry::Heartbeat)
        );
    }

    #[test]
    fn a_pong_schedules_the_next_ping_one_interval_later() {
        let config = engine_config();
        let session = session_of(V4);
        let opened = session.state.lock().idle_since;
        session.timer_step(opened + ms(300), &config);
        session.engine_heartbeat_received(opened + ms(350), &config);
        assert_eq!(
            session.timer_step(opened + ms(360), &config),
            TimerStep::Sleep(opened + ms(650)),
            "the next ping one interval after the pong, and no timeout pending"
        );
    }

    #[test]
    fn a_revision_3_client_must_ping_within_interval_and_timeout() {
        let config = engine_config();
        let session = session_of(V3);
        let opened = session.state.lock().idle_since;
        assert_eq!(
            session.timer_step(opened, &config),
            TimerStep::Sleep(opened + ms(500))
        );
        assert!(
            session.take_queued().is_empty(),
            "a revision 3 server never pings"
        );
        assert_eq!(
            session.timer_step(opened + ms(500), &config),
            TimerStep::Expire(Expiry::Heartbeat)
        );
    }

    #[test]
    fn an_engine_session_that_joins_no_namespace_ends_at_the_connect_timeout() {
        let mut config = engine_config();
        config.engine.ping_interval = ms(5000);
        let session = session_of(V4);
        let opened = session.state.lock().idle_since;
        assert_eq!(
            session.timer_step(opened, &config),
            TimerStep::Sleep(opened + ms(1000))
        );
        assert_eq!(
            session.timer_step(opened + ms(1000), &config),
            TimerStep::Expire(Expiry::Handshake)
        );
    }

    #[test]
    fn an_engine_session_queues_no_connect_packet_and_ends_with_close() {
        let session = session_of(V4);
        assert_eq!(session.establish(), Establish::Connected);
        assert!(session.take_queued().is_empty());
        session.close(true).expect("first close");
        assert_eq!(session.take_queued(), ["1"]);
    }
}
