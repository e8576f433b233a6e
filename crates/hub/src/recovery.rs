//! Connection state recovery for Socket.IO 5 clients (socket.io-client 4.6+,
//! `connectionStateRecovery` in socket.io 4): a client whose connection dropped comes back
//! within the window with its socket id, its rooms, and the broadcasts it missed.
//!
//! - Every broadcast event (no ack requested, not volatile) gets an **offset**, the next of
//!   this node's counter, and is kept in a log bounded by count and by the window. A Socket.IO
//!   5 client receives the offset as the event's last argument and remembers the last one.
//! - A namespace socket whose session ends for a reason the client did not choose (a closed
//!   or broken transport, a ping timeout, a shutdown) is **persisted** for the window under
//!   its private id (`pid`, told to the client in the `CONNECT` answer): its socket id, its
//!   rooms and the session id broadcasts excluded it by.
//! - A client that connects with `{"pid":…,"offset":…}` gets that socket back: same id,
//!   same rooms, and every logged broadcast after its offset that would have reached it. An
//!   unknown pid, an expired one or an offset no longer in the log makes a fresh socket.
//!
//! Lines from every generation are logged, so a recovering 4.x client also gets the lines a
//! 0.9 client typed meanwhile. The log and the persisted sockets live on one node: a client
//! that comes back through another node of a cluster starts fresh.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use ferrio_protocol::PacketBody;
use parking_lot::Mutex;
use tokio::time::Instant;

/// The recovery settings: how long a dropped socket can come back, and how many broadcasts
/// are kept for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long after its session ended a socket can be recovered (socket.io's
    /// `maxDisconnectionDuration`). Default 2 minutes.
    pub window: Duration,
    /// The most broadcasts kept for recovering clients, oldest dropped first. Default 10 000.
    pub log_size: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            window: Duration::from_secs(120),
            log_size: 10_000,
        }
    }
}

/// A broadcast kept for recovering clients.
#[derive(Debug)]
struct Logged {
    offset: u64,
    at: Instant,
    namespace: Box<str>,
    /// `""` for the whole namespace.
    room: Box<str>,
    except: Vec<Box<str>>,
    body: PacketBody,
}

/// Where a persisted socket is found: its private id and its namespace.
type PersistedKey = (Arc<str>, Box<str>);

/// A namespace socket whose session ended, waiting for its client.
#[derive(Debug)]
struct Persisted {
    at: Instant,
    socket_id: Arc<str>,
    /// The ended session's id: broadcasts that excluded it exclude the recovered socket.
    session_id: Arc<str>,
    rooms: Vec<String>,
}

/// What a recovered socket gets back.
#[derive(Debug)]
pub(crate) struct Restored {
    pub(crate) socket_id: Arc<str>,
    pub(crate) rooms: Vec<String>,
    /// The broadcasts it missed, oldest first, with their offsets.
    pub(crate) missed: Vec<(String, PacketBody)>,
}

/// The broadcast log and the persisted sockets of one node.
#[derive(Debug)]
pub(crate) struct Recovery {
    config: RecoveryConfig,
    log: Mutex<Log>,
    persisted: Mutex<HashMap<PersistedKey, Persisted>>,
}

#[derive(Debug, Default)]
struct Log {
    next_offset: u64,
    entries: VecDeque<Logged>,
}

/// An offset as clients see it: an opaque string.
pub(crate) fn offset_text(offset: u64) -> String {
    format!("{offset:x}")
}

impl Recovery {
    pub(crate) fn new(config: RecoveryConfig) -> Self {
        Recovery {
            config,
            log: Mutex::new(Log::default()),
            persisted: Mutex::new(HashMap::new()),
        }
    }

    /// Keeps a broadcast of `body` to `room` of `namespace` (all but the sessions in
    /// `except`); its offset.
    pub(crate) fn log(
        &self,
        namespace: &str,
        room: &str,
        except: &[&str],
        body: &PacketBody,
    ) -> String {
        let now = Instant::now();
        let mut log = self.log.lock();
        let offset = log.next_offset;
        log.next_offset += 1;
        while log.entries.len() >= self.config.log_size.max(1)
            || log
                .entries
                .front()
                .is_some_and(|oldest| oldest.at + self.config.window < now)
        {
            log.entries.pop_front();
        }
        log.entries.push_back(Logged {
            offset,
            at: now,
            namespace: namespace.into(),
            room: room.into(),
            except: except.iter().map(|sid| Box::from(*sid)).collect(),
            body: body.clone(),
        });
        offset_text(offset)
    }

    /// Keeps the socket `pid` of `namespace`, whose session `session_id` ended.
    pub(crate) fn persist(
        &self,
        pid: Arc<str>,
        namespace: &str,
        socket_id: Arc<str>,
        session_id: Arc<str>,
        rooms: Vec<String>,
    ) {
        let now = Instant::now();
        let mut persisted = self.persisted.lock();
        persisted.retain(|_, socket| socket.at + self.config.window >= now);
        persisted.insert(
            (pid, namespace.into()),
            Persisted {
                at: now,
                socket_id,
                session_id,
                rooms,
            },
        );
    }

    /// The socket `pid` of `namespace` with what it missed after `offset`; `None` when it is
    /// unknown or expired, or the offset is no longer logged. A socket is recovered once.
    pub(crate) fn restore(&self, pid: &str, offset: &str, namespace: &str) -> Option<Restored> {
        let offset = u64::from_str_radix(offset, 16).ok()?;
        let key = (Arc::from(pid), Box::from(namespace));
        let socket = self.persisted.lock().remove(&key)?;
        if socket.at + self.config.window < Instant::now() {
            return None;
        }
        let log = self.log.lock();
        let start = log
            .entries
            .iter()
            .position(|entry| entry.offset == offset)?;
        let missed = log
            .entries
            .iter()
            .skip(start + 1)
            .filter(|entry| {
                *entry.namespace == *namespace
                    && (entry.room.is_empty()
                        || socket.rooms.iter().any(|room| **room == *entry.room)
                        || *entry.room == *socket.socket_id)
                    && !entry.except.iter().any(|sid| **sid == *socket.session_id)
            })
            .map(|entry| (offset_text(entry.offset), entry.body.clone()))
            .collect();
        Some(Restored {
            socket_id: socket.socket_id,
            rooms: socket.rooms,
            missed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(text: &str) -> PacketBody {
        PacketBody::Event {
            name: "chat".to_owned(),
            args: vec![json!(text)],
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_persisted_socket_gets_what_reached_its_rooms_after_its_offset() {
        let recovery = Recovery::new(RecoveryConfig::default());
        let seen = recovery.log("", "", &[], &event("seen"));
        recovery.persist(
            Arc::from("pid"),
            "",
            Arc::from("socket"),
            Arc::from("old"),
            vec!["a".to_owned()],
        );
        recovery.log("", "", &[], &event("missed"));
        recovery.log("", "b", &[], &event("other room"));
        recovery.log("", "a", &[], &event("its room"));
        recovery.log("", "", &["old"], &event("its own line"));
        recovery.log("/chat", "", &[], &event("other namespace"));
        let restored = recovery.restore("pid", &seen, "").expect("recovered");
        assert_eq!(&*restored.socket_id, "socket");
        assert_eq!(restored.rooms, ["a"]);
        let missed: Vec<PacketBody> = restored.missed.into_iter().map(|(_, body)| body).collect();
        assert_eq!(missed, [event("missed"), event("its room")]);
        assert!(recovery.restore("pid", &seen, "").is_none(), "once");
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_socket_or_a_dropped_offset_starts_fresh() {
        let config = RecoveryConfig {
            window: Duration::from_secs(10),
            log_size: 2,
        };
        let recovery = Recovery::new(config);
        let first = recovery.log("", "", &[], &event("1"));
        recovery.log("", "", &[], &event("2"));
        recovery.log("", "", &[], &event("3"));
        recovery.persist(Arc::from("p"), "", Arc::from("s"), Arc::from("o"), vec![]);
        assert!(
            recovery.restore("p", &first, "").is_none(),
            "dropped from the log"
        );
        recovery.persist(Arc::from("p"), "", Arc::from("s"), Arc::from("o"), vec![]);
        let kept = recovery.log("", "", &[], &event("4"));
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(recovery.restore("p", &kept, "").is_none(), "expired");
        assert!(recovery.restore("nobody", &kept, "").is_none());
        assert!(recovery.restore("p", "not hex", "").is_none());
    }
}
