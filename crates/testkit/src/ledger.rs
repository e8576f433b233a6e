//! Chat clients that keep a ledger, for what a gateway does on its way out: xhr-polling and
//! WebSocket clients chatting through the chat application (`toServer`, which the server emits
//! back to the sender and broadcasts to everyone else as `toClient`), on any gateway address
//! (a [`TestServer`](crate::TestServer) or a [`GatewayProcess`](crate::GatewayProcess)). Each
//! client writes down the lines the server accepted from it — a POST answered `1`, or the ack
//! of a WebSocket message — and every line it received, and goes on chatting until the server
//! ends its session: a poll answered `503`, a WebSocket closed. As the 0.9 client does, a
//! polling client stops sending once its poll has failed.
//!
//! [`ChatLedger::finish`] fails the test on a single line accepted and not delivered to every
//! client, delivered twice or out of order, or delivered without its sender having been told it
//! was accepted; it returns how each client's session ended, for the test to judge.
//!
//! [`ChatLedger::start_across`] spreads the clients over several gateways (the nodes of a
//! cluster), and [`ChatLedger::settle`] ends a chat that no shutdown ends: the clients stop
//! speaking, go on listening until every accepted line has reached everyone, and the same
//! checks run.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::Method;
use parking_lot::Mutex;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;

use crate::crowd::KeptAlive;
use crate::{HANDSHAKE_PATH, WsClient, next_text_within, packets_of, request, ws_path, xhr_path};

/// How often each client sends a line.
const SEND_EVERY: Duration = Duration::from_millis(50);
/// How long a client may take to connect.
const CONNECT_LIMIT: Duration = Duration::from_secs(5);

/// How a client's session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// A poll was answered with this status (`503` on a shutdown).
    Status(u16),
    /// The WebSocket got a close frame, then the connection ended.
    Closed,
    /// Anything else: a reset, a request that failed, `0::` or an error packet.
    Failed(String),
}

/// What one client did and saw.
#[derive(Debug, Default)]
struct Member {
    /// Its lines the server accepted.
    accepted: HashSet<u64>,
    /// Every line received, as `(sender, number)`, in order.
    received: Vec<(usize, u64)>,
    ending: Option<Ending>,
}

/// The clients' shared books.
#[derive(Debug)]
struct Books {
    members: Mutex<Vec<Member>>,
}

impl Books {
    fn accept(&self, member: usize, number: u64) {
        self.members.lock()[member].accepted.insert(number);
    }

    fn end(&self, member: usize, ending: Ending) {
        self.members.lock()[member].ending.get_or_insert(ending);
    }

    /// Whether every member has received every line accepted so far.
    fn all_delivered(&self) -> bool {
        let members = self.members.lock();
        let accepted: usize = members.iter().map(|member| member.accepted.len()).sum();
        members.iter().all(|member| {
            let received: HashSet<&(usize, u64)> = member.received.iter().collect();
            received.len() >= accepted
                && members.iter().enumerate().all(|(from, sender)| {
                    sender
                        .accepted
                        .iter()
                        .all(|number| received.contains(&(from, *number)))
                })
        })
    }

    fn has_ended(&self, member: usize) -> bool {
        self.members.lock()[member].ending.is_some()
    }

    /// Files a received packet: a line of the chat, an ack of one of the member's own lines
    /// (its number), or an ending (`0::`, an error packet).
    fn receive(&self, member: usize, packet: &str) {
        if let Some(acked) = packet.strip_prefix("6:::") {
            if let Ok(number) = acked.parse::<u64>() {
                self.accept(member, number);
            }
            return;
        }
        if packet == "0::" || packet.starts_with("7:") {
            self.end(member, Ending::Failed(format!("got {packet}")));
            return;
        }
        let Some(data) = packet.strip_prefix("5:::") else {
            return;
        };
        let Ok(event) = serde_json::from_str::<serde_json::Value>(data) else {
            return;
        };
        let line = event["args"][0].as_str().unwrap_or_default();
        let Some((from, number)) = line.split_once(':') else {
            return;
        };
        if let (Ok(from), Ok(number)) = (from.parse::<usize>(), number.parse::<u64>()) {
            self.members.lock()[member].received.push((from, number));
        }
    }
}

/// Chat clients and their ledger; see the module documentation.
#[derive(Debug)]
pub struct ChatLedger {
    books: Arc<Books>,
    polling: usize,
    tasks: Vec<JoinHandle<()>>,
    /// Dropped to stop every client.
    _stop: watch::Sender<()>,
    /// Set to make every client stop speaking (and keep listening).
    hush: watch::Sender<bool>,
}

/// What [`ChatLedger::finish`] found, every line accounted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerReport {
    /// Lines the server accepted, all clients together.
    pub accepted: usize,
    /// Deliveries: each accepted line, once to every client.
    pub delivered: usize,
    /// How the polling clients' sessions ended, one entry each.
    pub polling_endings: Vec<Ending>,
    /// How the WebSocket clients' sessions ended, one entry each.
    pub websocket_endings: Vec<Ending>,
}

impl ChatLedger {
    /// Connects `polling` xhr-polling and `websocket` WebSocket clients to the gateway at
    /// `addr`, all of them before any speaks (so each can get every line), then starts the
    /// chat.
    pub async fn start(addr: SocketAddr, polling: usize, websocket: usize) -> Self {
        Self::start_across(&[addr], polling, websocket).await
    }

    /// Like [`ChatLedger::start`], the clients spread over the gateways at `addrs` in turn:
    /// pollers first, then WebSockets, each on the next address.
    pub async fn start_across(addrs: &[SocketAddr], polling: usize, websocket: usize) -> Self {
        assert!(!addrs.is_empty(), "a chat needs a gateway");
        let mut next = addrs.iter().copied().cycle();
        let books = Arc::new(Books {
            members: Mutex::new(
                (0..polling + websocket)
                    .map(|_| Member::default())
                    .collect(),
            ),
        });
        let (stop, stopped) = watch::channel(());
        let (hush, hushed) = watch::channel(false);
        let mut pollers = Vec::new();
        for addr in next.by_ref().take(polling) {
            let sid = handshake(addr).await;
            let first = tokio::time::timeout(
                CONNECT_LIMIT,
                request(addr, Method::GET, &xhr_path(&sid), &[], Bytes::new()),
            )
            .await
            .expect("first poll in time");
            assert_eq!(first.text(), "1::", "the poller connects");
            pollers.push((addr, sid));
        }
        let mut sockets = Vec::new();
        for addr in next.take(websocket) {
            let sid = handshake(addr).await;
            let url = format!("ws://{addr}{}", ws_path(&sid));
            let stream = TcpStream::connect(addr).await.expect("connect");
            let (mut socket, _) =
                tokio::time::timeout(CONNECT_LIMIT, tokio_tungstenite::client_async(url, stream))
                    .await
                    .expect("upgrade in time")
                    .expect("upgrade");
            assert_eq!(
                next_text_within(&mut socket, CONNECT_LIMIT)
                    .await
                    .as_deref(),
                Some("1::"),
                "the websocket connects"
            );
            sockets.push(socket);
        }
        let mut tasks = Vec::new();
        for (member, (addr, sid)) in pollers.into_iter().enumerate() {
            tasks.push(tokio::spawn(poll_loop(
                Arc::clone(&books),
                member,
                addr,
                sid.clone(),
                stopped.clone(),
            )));
            tasks.push(tokio::spawn(post_loop(
                Arc::clone(&books),
                member,
                addr,
                sid,
                stopped.clone(),
                hushed.clone(),
            )));
        }
        for (index, socket) in sockets.into_iter().enumerate() {
            tasks.push(tokio::spawn(websocket_member(
                Arc::clone(&books),
                polling + index,
                socket,
                stopped.clone(),
                hushed.clone(),
            )));
        }
        ChatLedger {
            books,
            polling,
            tasks,
            _stop: stop,
            hush,
        }
    }

    /// Lines received so far, all clients together.
    pub fn received(&self) -> usize {
        self.books
            .members
            .lock()
            .iter()
            .map(|member| member.received.len())
            .sum()
    }

    /// Ends a chat that no shutdown ends: every client stops speaking, then listens on until
    /// each has every accepted line (or `timeout` is over), and the ledger is checked as by
    /// [`ChatLedger::finish`]. No session has to end; the endings of those that did are in
    /// the report (`Failed("open")` for the others).
    pub async fn settle(self, timeout: Duration) -> LedgerReport {
        self.hush.send_replace(true);
        // A line in flight when the hush came may still be acknowledged: let those land.
        tokio::time::sleep(SEND_EVERY * 4).await;
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline && !self.books.all_delivered() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
        let members = std::mem::take(&mut *self.books.members.lock());
        audit(members, self.polling)
    }

    /// Lines the server has accepted so far, all clients together.
    pub fn accepted(&self) -> usize {
        self.books
            .members
            .lock()
            .iter()
            .map(|member| member.accepted.len())
            .sum()
    }

    /// Waits up to `timeout` for every client's session to end, then checks the ledger: every
    /// accepted line reached every client exactly once and in its sender's order, and every
    /// line received had been accepted from its sender. Fails the test otherwise, or when a
    /// client's session has not ended by then.
    pub async fn finish(self, timeout: Duration) -> LedgerReport {
        let all_done = async {
            for task in self.tasks {
                let _ = task.await;
            }
        };
        let finished = tokio::time::timeout(timeout, all_done).await.is_ok();
        let members = std::mem::take(&mut *self.books.members.lock());
        let still_open: Vec<usize> = (0..members.len())
            .filter(|member| members[*member].ending.is_none())
            .collect();
        assert!(
            finished && still_open.is_empty(),
            "clients whose sessions did not end within {timeout:?}: {still_open:?}"
        );
        audit(members, self.polling)
    }
}

/// Checks the ledger (see [`ChatLedger::finish`]) and reports it.
fn audit(members: Vec<Member>, polling: usize) -> LedgerReport {
    let mut delivered = 0;
    for (member, books) in members.iter().enumerate() {
        let mut last_from = vec![0u64; members.len()];
        let mut seen = HashSet::new();
        for &(from, number) in &books.received {
            assert!(
                members
                    .get(from)
                    .is_some_and(|sender| sender.accepted.contains(&number)),
                "client {member} got line {from}:{number}, which its sender was never told \
                 was accepted"
            );
            assert!(
                seen.insert((from, number)),
                "client {member} got line {from}:{number} twice"
            );
            assert!(
                number > last_from[from],
                "client {member} got line {from}:{number} after {from}:{}",
                last_from[from]
            );
            last_from[from] = number;
        }
        for (from, sender) in members.iter().enumerate() {
            let mut lost: Vec<u64> = sender
                .accepted
                .iter()
                .filter(|number| !seen.contains(&(from, **number)))
                .copied()
                .collect();
            lost.sort_unstable();
            assert!(
                lost.is_empty(),
                "client {member} ({:?}) never got these accepted lines of client {from}: \
                 {lost:?}",
                books.ending
            );
        }
        delivered += seen.len();
    }
    let endings: Vec<Ending> = members
        .iter()
        .map(|member| {
            member
                .ending
                .clone()
                .unwrap_or(Ending::Failed("open".into()))
        })
        .collect();
    LedgerReport {
        accepted: members.iter().map(|member| member.accepted.len()).sum(),
        delivered,
        polling_endings: endings[..polling].to_vec(),
        websocket_endings: endings[polling..].to_vec(),
    }
}

/// A handshake; the session id.
async fn handshake(addr: SocketAddr) -> String {
    let answer = tokio::time::timeout(
        CONNECT_LIMIT,
        request(addr, Method::GET, HANDSHAKE_PATH, &[], Bytes::new()),
    )
    .await
    .expect("handshake in time");
    assert_eq!(answer.status, 200, "handshake: {}", answer.text());
    ferrio_protocol::HandshakeBody::parse(&answer.text())
        .expect("handshake body")
        .sid
}

/// The `toServer` event of line `number` of `member`, with `id` when the client asks for the
/// library's ack.
fn line(member: usize, number: u64, id: Option<u64>) -> String {
    let id = id.map(|id| id.to_string()).unwrap_or_default();
    format!(r#"5:{id}::{{"name":"toServer","args":[{{"nome":"{member}","msg":"{number}"}}]}}"#)
}

/// A polling client's GETs, one after the other, until one is not answered `200`.
async fn poll_loop(
    books: Arc<Books>,
    member: usize,
    addr: SocketAddr,
    sid: String,
    stopped: watch::Receiver<()>,
) {
    let path = xhr_path(&sid);
    let mut connection = KeptAlive::new(addr);
    while !books.has_ended(member) && stopped.has_changed().is_ok() {
        match connection.exchange(Method::GET, &path, String::new()).await {
            Ok((200, body)) => {
                for packet in packets_of(&body) {
                    books.receive(member, &packet);
                }
            }
            Ok((status, _)) => books.end(member, Ending::Status(status)),
            Err(why) => books.end(member, Ending::Failed(format!("poll failed: {why}"))),
        }
    }
}

/// A polling client's POSTs, a line a tick, until its session has ended, a POST is refused or
/// the ledger is dropped. A line is accepted when its POST is answered `1`.
async fn post_loop(
    books: Arc<Books>,
    member: usize,
    addr: SocketAddr,
    sid: String,
    stopped: watch::Receiver<()>,
    hushed: watch::Receiver<bool>,
) {
    let path = xhr_path(&sid);
    let mut connection = KeptAlive::new(addr);
    let mut tick = tokio::time::interval(SEND_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    for number in 1.. {
        tick.tick().await;
        if books.has_ended(member) || stopped.has_changed().is_err() || *hushed.borrow() {
            return;
        }
        match connection
            .exchange(Method::POST, &path, line(member, number, None))
            .await
        {
            Ok((200, body)) if body == "1" => books.accept(member, number),
            // Refused, or the port closed after every session ended: not accepted, and the
            // client, like the 0.9 one, sends nothing more.
            Ok(_) | Err(_) => return,
        }
    }
}

/// A WebSocket client: a line a tick (with an id: the library's ack says it was accepted),
/// heartbeats answered, everything read, until the connection ends.
async fn websocket_member(
    books: Arc<Books>,
    member: usize,
    mut socket: WsClient,
    stopped: watch::Receiver<()>,
    hushed: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(SEND_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut number = 0;
    let mut sending = true;
    let mut closed = false;
    loop {
        tokio::select! {
            _ = tick.tick(), if sending => {
                if stopped.has_changed().is_err() {
                    return;
                }
                if *hushed.borrow() {
                    sending = false;
                    continue;
                }
                number += 1;
                let text = line(member, number, Some(number));
                if socket.send(Message::Text(text.into())).await.is_err() {
                    sending = false;
                }
            }
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let text = text.as_str();
                    if text == "2::" {
                        let _ = socket.send(Message::Text("2::".into())).await;
                    } else {
                        books.receive(member, text);
                    }
                }
                Some(Ok(Message::Close(_))) => {
                    // Read on: the library answers the close, then the server ends the
                    // connection.
                    closed = true;
                    sending = false;
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    let ending = if closed {
                        Ending::Closed
                    } else {
                        Ending::Failed(format!("read failed: {error}"))
                    };
                    books.end(member, ending);
                    return;
                }
                None => {
                    let ending = if closed {
                        Ending::Closed
                    } else {
                        Ending::Failed("connection ended without a close frame".into())
                    };
                    books.end(member, ending);
                    return;
                }
            },
        }
    }
}
