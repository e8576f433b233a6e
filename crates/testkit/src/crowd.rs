//! Healthy clients chatting beside a test that attacks the gateway: xhr-polling and WebSocket
//! clients in a room of their own, each sending a numbered message ten times a second to the
//! whole room (the conformance app's `toroom`) and answering heartbeats, over kept-alive
//! connections as a browser holds them. [`Crowd::finish`] proves that whatever the test did to
//! the gateway, every message reached every member exactly once and in order, and nobody was
//! disconnected. Other sessions of the test get none of the crowd's traffic.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferrio_server::apps::conformance::{Log, Observation};
use futures_util::{SinkExt, StreamExt};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use crate::{TestServer, WsClient, next_packet_within, packets_of, send_text, xhr_path};

/// How often each member sends.
const SEND_EVERY: Duration = Duration::from_millis(100);
/// How long [`Crowd::finish`] waits for the last messages to arrive.
const SETTLE: Duration = Duration::from_secs(10);
/// How long one request of a polling member may take (past any polling duration).
const REQUEST_LIMIT: Duration = Duration::from_secs(30);

/// Where the crowd is: chatting, or quiet (no more sending, still reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Chatting,
    Quiet,
}

/// What one member did and saw.
#[derive(Debug, Clone, Default)]
struct Tally {
    /// Messages it sent, all accepted.
    sent: u64,
    /// It has stopped sending for good.
    quiet: bool,
    /// Per member: the last message number received from it (`0`: none yet).
    last_from: Vec<u64>,
    /// Messages received twice or out of order, as `from:number`.
    misordered: Vec<String>,
    /// Why its connection or session ended, if it did.
    lost: Option<String>,
}

/// The state every member of a crowd shares.
#[derive(Debug)]
struct Shared {
    /// This crowd's mark in its messages, apart from any other crowd's.
    mark: usize,
    tallies: Mutex<Vec<Tally>>,
}

impl Shared {
    /// The crowd's room.
    fn room(&self) -> String {
        format!("crowd{}", self.mark)
    }

    /// The packet that joins the room; with an id, so the library's ack says it is done.
    fn join(&self) -> String {
        format!(r#"5:1::{{"name":"join","args":["{}"]}}"#, self.room())
    }

    fn text(&self, member: usize, number: u64) -> String {
        let room = self.room();
        format!(r#"5:::{{"name":"toroom","args":["{room}","{room}:{member}:{number}"]}}"#)
    }

    /// Counts a received packet if it is one of this crowd's broadcasts.
    fn receive(&self, member: usize, packet: &str) {
        let Some(data) = packet.strip_prefix("5:::") else {
            return;
        };
        let Ok(event) = serde_json::from_str::<serde_json::Value>(data) else {
            return;
        };
        let Some(arg) = event["args"][0].as_str() else {
            return;
        };
        let prefix = format!("{}:", self.room());
        let Some((from, number)) = arg
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once(':'))
        else {
            return;
        };
        let (Ok(from), Ok(number)) = (from.parse::<usize>(), number.parse::<u64>()) else {
            return;
        };
        let mut tallies = self.tallies.lock();
        let tally = &mut tallies[member];
        match tally.last_from.get_mut(from) {
            Some(last) if *last + 1 == number => *last = number,
            _ => tally.misordered.push(format!("{from}:{number}")),
        }
    }

    fn sent(&self, member: usize) {
        self.tallies.lock()[member].sent += 1;
    }

    fn quiet(&self, member: usize) {
        self.tallies.lock()[member].quiet = true;
    }

    fn lost(&self, member: usize, why: String) {
        let mut tallies = self.tallies.lock();
        tallies[member].lost.get_or_insert(why);
        tallies[member].quiet = true;
    }

    /// Whether every member got every message every member sent, its own included.
    fn settled(&self) -> bool {
        let tallies = self.tallies.lock();
        tallies.iter().all(|tally| tally.quiet)
            && tallies.iter().all(|tally| {
                tallies
                    .iter()
                    .enumerate()
                    .all(|(from, other)| tally.last_from[from] == other.sent)
            })
    }
}

/// Healthy clients chatting on a gateway; see the module documentation.
#[derive(Debug)]
pub struct Crowd {
    shared: Arc<Shared>,
    phase: watch::Sender<Phase>,
    tasks: Vec<JoinHandle<()>>,
    sids: Vec<String>,
    log: Log,
}

/// What a crowd exchanged, once [`Crowd::finish`] has checked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrowdReport {
    /// Members.
    pub members: usize,
    /// Messages sent, all members together.
    pub sent: u64,
    /// Messages received, all members together: each one sent, once per member.
    pub delivered: u64,
}

impl TestServer {
    /// Connects `polling` xhr-polling and `websocket` WebSocket members and starts their
    /// chat, which goes on until [`Crowd::finish`].
    pub async fn crowd(&self, polling: usize, websocket: usize) -> Crowd {
        static MARK: AtomicUsize = AtomicUsize::new(0);
        let members = polling + websocket;
        let shared = Arc::new(Shared {
            mark: MARK.fetch_add(1, Ordering::Relaxed),
            tallies: Mutex::new(vec![
                Tally {
                    last_from: vec![0; members],
                    ..Tally::default()
                };
                members
            ]),
        });
        let (phase, _) = watch::channel(Phase::Chatting);
        let mut crowd = Crowd {
            shared,
            phase,
            tasks: Vec::new(),
            sids: Vec::new(),
            log: self.log.clone(),
        };
        // Everyone is in the room before anyone speaks, so every member gets every message.
        let mut sockets = Vec::new();
        for _ in 0..websocket {
            let (sid, mut socket) = self.connected_websocket().await;
            send_text(&mut socket, &crowd.shared.join()).await;
            assert_eq!(
                next_packet_within(&mut socket, Duration::from_secs(3))
                    .await
                    .as_deref(),
                Some("6:::1"),
                "the crowd's websocket joins its room"
            );
            sockets.push((sid, socket));
        }
        let mut pollers = Vec::new();
        for _ in 0..polling {
            let sid = self.connected_polling_session().await;
            self.post_packets(&sid, &crowd.shared.join()).await;
            pollers.push(sid);
        }
        for (member, sid) in pollers.into_iter().enumerate() {
            crowd.sids.push(sid.clone());
            let shared = Arc::clone(&crowd.shared);
            crowd.tasks.push(tokio::spawn(poll_loop(
                Arc::clone(&shared),
                member,
                self.addr,
                sid.clone(),
            )));
            let sending = crowd.phase.subscribe();
            crowd.tasks.push(tokio::spawn(post_loop(
                shared, member, self.addr, sid, sending,
            )));
        }
        for (index, (sid, socket)) in sockets.into_iter().enumerate() {
            crowd.sids.push(sid);
            let phase = crowd.phase.subscribe();
            let shared = Arc::clone(&crowd.shared);
            crowd.tasks.push(tokio::spawn(websocket_member(
                shared,
                polling + index,
                socket,
                phase,
            )));
        }
        crowd
    }
}

impl Crowd {
    /// The members' session ids.
    pub fn sids(&self) -> &[String] {
        &self.sids
    }

    /// Stops the chat, waits for the last messages, and fails the test unless every member
    /// got every other member's messages exactly once and in order, and no member's session
    /// ended. Returns what was exchanged.
    pub async fn finish(self) -> CrowdReport {
        self.phase.send_replace(Phase::Quiet);
        let deadline = Instant::now() + SETTLE;
        while !self.shared.settled() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Before the members go, whose going ends their sessions.
        let ended: Vec<Observation> = self
            .log
            .entries()
            .into_iter()
            .filter(|entry| {
                matches!(entry, Observation::Disconnect { sid, .. } if self.sids.contains(sid))
            })
            .collect();
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        let tallies = self.shared.tallies.lock().clone();
        for (member, tally) in tallies.iter().enumerate() {
            assert!(
                tally.lost.is_none(),
                "crowd member {member} ({}) lost its session: {:?}",
                self.sids[member],
                tally.lost
            );
            assert!(
                tally.misordered.is_empty(),
                "crowd member {member} got messages twice or out of order: {:?}",
                tally.misordered
            );
        }
        let sent: Vec<u64> = tallies.iter().map(|tally| tally.sent).collect();
        for (member, tally) in tallies.iter().enumerate() {
            for (from, count) in sent.iter().enumerate() {
                assert_eq!(
                    tally.last_from[from], *count,
                    "crowd member {member} got {} of member {from}'s {count} messages",
                    tally.last_from[from]
                );
            }
        }
        assert!(ended.is_empty(), "crowd sessions ended: {ended:?}");
        let members = tallies.len();
        let sent_total: u64 = sent.iter().sum();
        assert!(
            sent.iter().all(|count| *count > 0),
            "every member spoke: {sent:?}"
        );
        CrowdReport {
            members,
            sent: sent_total,
            delivered: sent_total * members as u64,
        }
    }
}

/// One kept-alive connection of a polling member, used for one kind of request after the
/// other as a browser's connection is; opened again when the server has closed it.
struct KeptAlive {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl KeptAlive {
    fn new(addr: SocketAddr) -> Self {
        KeptAlive { addr, sender: None }
    }

    /// One request; the status and body, or why not.
    async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        body: String,
    ) -> Result<(u16, String), String> {
        let exchange = async {
            let mut sender = match self.sender.take() {
                Some(sender) if !sender.is_closed() => sender,
                _ => {
                    let stream = TcpStream::connect(self.addr)
                        .await
                        .map_err(|error| error.to_string())?;
                    let (sender, connection) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream))
                            .await
                            .map_err(|error| error.to_string())?;
                    tokio::spawn(connection);
                    sender
                }
            };
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header("host", self.addr.to_string())
                .body(Full::new(Bytes::from(body)))
                .map_err(|error| error.to_string())?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|error| error.to_string())?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|error| error.to_string())?
                .to_bytes();
            self.sender = Some(sender);
            Ok((status, String::from_utf8_lossy(&body).into_owned()))
        };
        tokio::time::timeout(REQUEST_LIMIT, exchange)
            .await
            .map_err(|_| "request timed out".to_owned())?
    }
}

/// A polling member's GETs, one after the other, until the crowd is gone (its task is
/// aborted then).
async fn poll_loop(shared: Arc<Shared>, member: usize, addr: SocketAddr, sid: String) {
    let path = xhr_path(&sid);
    let mut connection = KeptAlive::new(addr);
    loop {
        match connection.exchange(Method::GET, &path, String::new()).await {
            Ok((200, body)) => {
                for packet in packets_of(&body) {
                    if packet == "0::" || packet.starts_with("7:::") {
                        shared.lost(member, format!("poll answered {packet}"));
                        return;
                    }
                    shared.receive(member, &packet);
                }
            }
            Ok((status, body)) => {
                shared.lost(member, format!("poll answered {status}: {body}"));
                return;
            }
            Err(why) => {
                shared.lost(member, format!("poll failed: {why}"));
                return;
            }
        }
    }
}

/// A polling member's POSTs, one a tick, until the crowd goes quiet.
async fn post_loop(
    shared: Arc<Shared>,
    member: usize,
    addr: SocketAddr,
    sid: String,
    phase: watch::Receiver<Phase>,
) {
    let path = xhr_path(&sid);
    let mut connection = KeptAlive::new(addr);
    let mut tick = tokio::time::interval(SEND_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut number = 0;
    loop {
        tick.tick().await;
        if *phase.borrow() != Phase::Chatting {
            shared.quiet(member);
            return;
        }
        number += 1;
        let text = shared.text(member, number);
        match connection.exchange(Method::POST, &path, text).await {
            Ok((200, body)) if body == "1" => shared.sent(member),
            Ok((status, body)) => {
                shared.lost(member, format!("POST answered {status}: {body}"));
                return;
            }
            Err(why) => {
                shared.lost(member, format!("POST failed: {why}"));
                return;
            }
        }
    }
}

/// A WebSocket member: sends a tick, reads everything, answers heartbeats, until the crowd
/// is gone (its task is aborted then).
async fn websocket_member(
    shared: Arc<Shared>,
    member: usize,
    mut socket: WsClient,
    phase: watch::Receiver<Phase>,
) {
    let mut tick = tokio::time::interval(SEND_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut number = 0;
    let mut chatting = true;
    loop {
        tokio::select! {
            _ = tick.tick(), if chatting => {
                if *phase.borrow() != Phase::Chatting {
                    chatting = false;
                    shared.quiet(member);
                    continue;
                }
                number += 1;
                let text = shared.text(member, number);
                if let Err(error) = socket.send(Message::Text(text.into())).await {
                    shared.lost(member, format!("send failed: {error}"));
                    return;
                }
                shared.sent(member);
            }
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let text = text.as_str();
                    if text == "2::" {
                        if let Err(error) = socket.send(Message::Text("2::".into())).await {
                            shared.lost(member, format!("heartbeat answer failed: {error}"));
                            return;
                        }
                    } else if text == "0::" || text.starts_with("7:::") {
                        shared.lost(member, format!("got {text}"));
                        return;
                    } else {
                        shared.receive(member, text);
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_) | Message::Binary(_))) => {}
                Some(Ok(Message::Close(frame))) => {
                    shared.lost(member, format!("closed: {frame:?}"));
                    return;
                }
                Some(Err(error)) => {
                    shared.lost(member, format!("read failed: {error}"));
                    return;
                }
                None => {
                    shared.lost(member, "connection ended".to_owned());
                    return;
                }
            },
        }
    }
}
