//! What one client can make a session cost, over real TCP with the chat application: a flood of
//! packets (inbound budgets, packets per POST), a WebSocket that never reads (outboxes bounded
//! in bytes), fat handshakes (`414`, `431`) and handshakes never followed by a transport
//! request (their own caps, outside `max_sessions`). Each case runs beside a healthy crowd —
//! xhr-polling and WebSocket clients chatting — that must lose no message and no session.
//!
//! Cases that measure memory read the in-process allocator, so they run alone: they take
//! [`MEMORY`] for writing, every other case takes it for reading.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio_hub::DisconnectReason;
use ferrio_protocol::{Packet, PacketBody, decode, frame};
use ferrio_server::ServerConfig;
use ferrio_testkit::{
    HANDSHAKE_PATH, HttpResponse, TestServer, WsClient, packets_of, request, request_on,
    retry_until, within, ws_path, xhr_path,
};
use futures_util::{SinkExt, StreamExt};
use http::Method;
use serde_json::json;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Barrier, RwLock};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Taken for writing by the cases that read the allocator, for reading by the others.
static MEMORY: RwLock<()> = RwLock::const_new(());

/// The most one case may take, whatever hangs.
const TEST_LIMIT: Duration = Duration::from_secs(40);
/// How long the crowd has to exchange all its lines.
const CROWD_LIMIT: Duration = Duration::from_secs(15);
const WAIT: Duration = Duration::from_secs(5);
/// The round trip of the polling chatters' slow link.
const POLL_ROUND_TRIP: Duration = Duration::from_millis(1500);
const MIB: f64 = 1024.0 * 1024.0;

// ---------------------------------------------------------------------------------------------
// The gateway and its healthy crowd.

/// A gateway under the short timers with the chat application (`toServer` → `toClient` to the
/// sender and everyone else) beside the conformance one, after `configure`.
async fn chat_server(configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let server = TestServer::start_short_timers_with(configure).await;
    ferrio_server::apps::chat::install(&server.hub);
    server
}

/// The chat packet `name` sends as its `k`-th line.
fn to_server(name: &str, k: usize) -> String {
    let event = json!({"name": "toServer", "args": [{"nome": name, "msg": format!("m{k}")}]});
    format!("5:::{event}")
}

/// The line the chat hands everyone for `name`'s `k`-th.
fn line(name: &str, k: usize) -> String {
    format!("{name}:m{k}")
}

/// The chat line a packet carries, if it is a `toClient`.
fn chat_line(packet: &str) -> Option<String> {
    match decode(packet).ok()?.body {
        PacketBody::Event { name, args } if name == "toClient" => {
            args.first()?.as_str().map(str::to_owned)
        }
        _ => None,
    }
}

/// Whether a packet tells the client its session is over.
fn is_end(packet: &str) -> bool {
    packet == "0::" || packet.starts_with("7:::1")
}

/// What one healthy client saw.
#[derive(Debug)]
struct Chatter {
    name: String,
    lines: HashSet<String>,
    /// Its session ended, or a request of it failed.
    lost: Option<String>,
}

/// Healthy clients chatting: each connects, waits for the others, sends `lines` lines a
/// `gap` apart and reads until it has every line of every one of them.
struct Crowd {
    names: Vec<String>,
    lines: usize,
    chatters: Vec<JoinHandle<Chatter>>,
}

impl Crowd {
    fn start(addr: SocketAddr, polling: usize, websockets: usize, lines: usize) -> Self {
        let gap = Duration::from_millis(100);
        let names: Vec<String> = (0..polling)
            .map(|i| format!("poll{i}"))
            .chain((0..websockets).map(|i| format!("ws{i}")))
            .collect();
        let expected: Arc<HashSet<String>> = Arc::new(
            names
                .iter()
                .flat_map(|name| (0..lines).map(move |k| line(name, k)))
                .collect(),
        );
        let ready = Arc::new(Barrier::new(names.len()));
        let chatters = names
            .iter()
            .map(|name| {
                let talk = Talk {
                    addr,
                    name: name.clone(),
                    lines,
                    gap,
                    expected: Arc::clone(&expected),
                    ready: Arc::clone(&ready),
                };
                if name.starts_with("poll") {
                    tokio::spawn(talk.polling())
                } else {
                    tokio::spawn(talk.websocket())
                }
            })
            .collect();
        Crowd {
            names,
            lines,
            chatters,
        }
    }

    /// Waits for every chatter and checks none lost a line or its session.
    async fn assert_healthy(self) {
        let total = self.names.len() * self.lines;
        for chatter in self.chatters {
            let chatter = chatter.await.expect("chatter task");
            assert_eq!(chatter.lost, None, "{} lost its session", chatter.name);
            let missing: Vec<String> = self
                .names
                .iter()
                .flat_map(|name| (0..self.lines).map(move |k| line(name, k)))
                .filter(|line| !chatter.lines.contains(line))
                .collect();
            assert!(
                missing.is_empty(),
                "{} missed {} of {total} lines: {missing:?}",
                chatter.name,
                missing.len()
            );
        }
    }
}

/// One chatter's part.
struct Talk {
    addr: SocketAddr,
    name: String,
    lines: usize,
    gap: Duration,
    expected: Arc<HashSet<String>>,
    ready: Arc<Barrier>,
}

impl Talk {
    fn chatter(&self, lines: HashSet<String>, lost: Option<String>) -> Chatter {
        Chatter {
            name: self.name.clone(),
            lines,
            lost,
        }
    }

    /// Keeps the line of `packet` if it is one of the crowd's; says whether the session ended.
    fn take(&self, packet: &str, lines: &mut HashSet<String>) -> bool {
        if let Some(line) = chat_line(packet).filter(|line| self.expected.contains(line)) {
            lines.insert(line);
        }
        is_end(packet)
    }

    async fn polling(self) -> Chatter {
        let sid = handshake(self.addr).await;
        let mut lines = HashSet::new();
        let path = xhr_path(&sid);
        let first = get(self.addr, &path).await;
        if first.text() != "1::" {
            return self.chatter(lines, Some(format!("first poll: {}", first.text())));
        }
        self.ready.wait().await;
        let (addr, name, count, gap) = (self.addr, self.name.clone(), self.lines, self.gap);
        let post_path = path.clone();
        let sender = tokio::spawn(async move {
            for k in 0..count {
                tokio::time::sleep(gap).await;
                let answer = post(addr, &post_path, &to_server(&name, k)).await;
                if (answer.status, answer.text().as_str()) != (200, "1") {
                    return Some(format!("POST {k}: {} {}", answer.status, answer.text()));
                }
            }
            None
        });
        let deadline = Instant::now() + CROWD_LIMIT;
        while lines.len() < self.expected.len() && Instant::now() < deadline {
            let poll = get(self.addr, &path).await;
            if poll.status != 200 {
                return self.chatter(lines, Some(format!("poll: {}", poll.status)));
            }
            for packet in packets_of(&poll.text()) {
                if self.take(&packet, &mut lines) {
                    return self.chatter(lines, Some(format!("poll got {packet}")));
                }
            }
            // A client on a slow link: its next poll comes a round trip later, and what
            // others send meanwhile waits in its outbox.
            tokio::time::sleep(POLL_ROUND_TRIP).await;
        }
        let lost = sender.await.expect("sender task");
        self.chatter(lines, lost)
    }

    async fn websocket(self) -> Chatter {
        let sid = handshake(self.addr).await;
        let mut socket = websocket(self.addr, &sid).await;
        let mut lines = HashSet::new();
        let first = socket.next().await;
        if !matches!(&first, Some(Ok(Message::Text(text))) if text.as_str() == "1::") {
            return self.chatter(lines, Some(format!("first message: {first:?}")));
        }
        self.ready.wait().await;
        let deadline = Instant::now() + CROWD_LIMIT;
        let mut tick = tokio::time::interval(self.gap);
        let mut sent = 0;
        while lines.len() < self.expected.len() || sent < self.lines {
            tokio::select! {
                _ = tick.tick(), if sent < self.lines => {
                    let text = to_server(&self.name, sent);
                    if let Err(error) = socket.send(Message::Text(text.into())).await {
                        return self.chatter(lines, Some(format!("send: {error}")));
                    }
                    sent += 1;
                }
                message = socket.next() => match message {
                    Some(Ok(Message::Text(text))) if text.as_str() == "2::" => {
                        if let Err(error) = socket.send(Message::Text("2::".into())).await {
                            return self.chatter(lines, Some(format!("heartbeat: {error}")));
                        }
                    }
                    Some(Ok(Message::Text(text))) => {
                        if self.take(text.as_str(), &mut lines) {
                            return self.chatter(lines, Some(format!("got {text}")));
                        }
                    }
                    Some(Ok(_)) => {}
                    other => return self.chatter(lines, Some(format!("connection: {other:?}"))),
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        let _ = socket.close(None).await;
        self.chatter(lines, None)
    }
}

// ---------------------------------------------------------------------------------------------
// Requests.

async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    request(addr, Method::GET, path, &[], Bytes::new()).await
}

async fn post(addr: SocketAddr, path: &str, body: &str) -> HttpResponse {
    request(
        addr,
        Method::POST,
        path,
        &[("content-type", "text/plain;charset=UTF-8")],
        body.to_owned(),
    )
    .await
}

/// A handshake that must succeed; the session id.
async fn handshake(addr: SocketAddr) -> String {
    let answer = get(addr, HANDSHAKE_PATH).await;
    assert_eq!(answer.status, 200, "handshake: {}", answer.text());
    answer
        .text()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A handshake sent from the local address `from` (any of 127.0.0.0/8).
async fn handshake_from(addr: SocketAddr, from: IpAddr) -> HttpResponse {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(from, 0))
        .expect("bind a loopback address");
    let stream = socket.connect(addr).await.expect("connect");
    request_on(
        stream,
        &addr.to_string(),
        Method::GET,
        HANDSHAKE_PATH,
        &[],
        Bytes::new(),
    )
    .await
}

async fn websocket(addr: SocketAddr, sid: &str) -> WsClient {
    let stream = TcpStream::connect(addr).await.expect("tcp connect");
    let url = format!("ws://{addr}{}", ws_path(sid));
    tokio_tungstenite::client_async(url, stream)
        .await
        .expect("websocket upgrade")
        .0
}

/// The bytes the gateway's allocator holds now.
async fn allocated(server: &TestServer) -> f64 {
    server
        .metrics()
        .await
        .value("ferrio_allocator_bytes", &[("kind", "allocated")])
}

fn disconnects(server: &TestServer, reason: DisconnectReason) -> u64 {
    server
        .hub
        .metrics()
        .disconnects
        .iter()
        .find(|(label, _)| *label == reason.as_str())
        .map_or(0, |(_, count)| *count)
}

// ---------------------------------------------------------------------------------------------
// Floods (inbound budgets, packets per POST)

/// Sends `count` chat lines as fast as the connection takes them, reading (and dropping)
/// whatever comes back so that its own outbox never fills; how many went out before the
/// gateway closed the connection.
async fn flood(socket: WsClient, count: usize) -> usize {
    let (mut sink, mut stream) = socket.split();
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let text = to_server("flooder", 0);
    let mut sent = 0;
    'flood: while sent < count {
        for _ in 0..500 {
            if sink.feed(Message::Text(text.clone().into())).await.is_err() {
                break 'flood;
            }
            sent += 1;
        }
        if sink.flush().await.is_err() {
            break;
        }
    }
    reader.abort();
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_is_throttled_then_ended_while_the_crowd_loses_nothing() {
    within(TEST_LIMIT, async {
        let _shared = MEMORY.read().await;
        let server = chat_server(|_| {}).await;
        let crowd = Crowd::start(server.addr, 10, 10, 10);
        // One WebSocket sends a hundred thousand lines as fast as it can.
        let sid = handshake(server.addr).await;
        let started = Instant::now();
        let flooder = tokio::spawn(flood(websocket(server.addr, &sid).await, 100_000));
        // One polling client POSTs a body of twelve thousand lines (under the body limit),
        // then bodies within the per-POST limit, one after the other.
        let poster = handshake(server.addr).await;
        let path = xhr_path(&poster);
        assert_eq!(get(server.addr, &path).await.text(), "1::");
        let lines = |count: usize| {
            let packets: Vec<String> = (0..count).map(|k| to_server("poster", k)).collect();
            frame(&packets)
        };
        let fat = post(server.addr, &path, &lines(12_000)).await;
        assert_eq!(fat.status, 413, "{}", fat.text());
        assert_eq!(fat.text(), "too many packets in one request");
        let body = lines(900);
        for _ in 0..4 {
            assert_eq!(post(server.addr, &path, &body).await.text(), "1");
        }
        let answer = packets_of(&get(server.addr, &path).await.text());
        let own = answer
            .iter()
            .filter(|p| chat_line(p).is_some_and(|line| line.starts_with("poster:")))
            .count();
        // The burst of 1 000 and what the rate of 100 a second added meanwhile.
        assert!(
            (1000..1300).contains(&own),
            "the burst went through and little more: {own}"
        );
        assert!(answer.iter().any(|p| p == "7:::0"), "told");
        assert_eq!(answer.last().map(String::as_str), Some("0::"), "then ended");
        crowd.assert_healthy().await;
        let sent = tokio::time::timeout(TEST_LIMIT, flooder)
            .await
            .expect("the flood ends")
            .expect("flood task");
        let ended = retry_until(
            WAIT,
            Duration::from_millis(20),
            async || disconnects(&server, DisconnectReason::BudgetExceeded),
            |ended| *ended == 2,
        )
        .await;
        assert_eq!(
            ended,
            Ok(2),
            "both flooders ended; the WebSocket sent {sent} lines"
        );
        let metrics = server.hub.metrics();
        println!(
            "flood: the WebSocket sent {sent} lines in {:?}; {} packets refused",
            started.elapsed(),
            metrics.refused_packets
        );
        assert!(
            metrics.refused_packets >= 2_000,
            "{}",
            metrics.refused_packets
        );
        for reason in [
            DisconnectReason::BufferOverflow,
            DisconnectReason::HeartbeatTimeout,
            DisconnectReason::CloseTimeout,
        ] {
            assert_eq!(disconnects(&server, reason), 0, "{reason}");
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Outboxes bounded in bytes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_that_never_read_are_ended_at_the_byte_bound_and_their_memory_comes_back() {
    within(TEST_LIMIT, async {
        let _alone = MEMORY.write().await;
        let server = chat_server(|_| {}).await;
        let crowd = Crowd::start(server.addr, 5, 5, 10);
        let before = allocated(&server).await;
        // Three clients join the room `slow`, then read nothing.
        let mut slow = Vec::new();
        for _ in 0..3 {
            let (sid, mut socket) = server.connected_websocket().await;
            let join = r#"5:::{"name":"join","args":["slow"]}"#;
            socket
                .send(Message::Text(join.into()))
                .await
                .expect("join");
            slow.push((sid, socket));
        }
        retry_until(
            WAIT,
            Duration::from_millis(20),
            async || server.hub.sockets().clients(Some("slow")).len(),
            |members| *members == 3,
        )
        .await
        .expect("three in the room");
        // The failure this bounds: 400 emits of 1 MB each held +553 MB for one such client.
        let big = json!("x".repeat(1_000_000));
        let mut peak_buffered = 0;
        let mut peak_allocated = before;
        for n in 0..40 {
            server.hub.sockets().to("slow").emit_args("big", vec![big.clone()]);
            peak_buffered = peak_buffered.max(server.hub.metrics().buffered_bytes);
            if n % 4 == 0 {
                peak_allocated = f64::max(peak_allocated, allocated(&server).await);
            }
        }
        drop(big);
        assert_eq!(disconnects(&server, DisconnectReason::BufferOverflow), 3);
        let bound = 4 * 1024 * 1024;
        assert!(
            peak_buffered <= 3 * bound + 3 * 1_000_100,
            "buffered {peak_buffered} bytes"
        );
        // Their connections close; what the stuck writes held goes with them.
        drop(slow);
        let after = retry_until(
            WAIT,
            Duration::from_millis(50),
            async || allocated(&server).await,
            |now| *now < before + 2.0 * MIB,
        )
        .await;
        let (Ok(after) | Err(after)) = after;
        println!(
            "never-reading websockets: allocated {:.1} MiB before, peak +{:.1} MiB, after +{:.1} MiB",
            before / MIB,
            (peak_allocated - before) / MIB,
            (after - before) / MIB
        );
        assert!(
            after < before + 2.0 * MIB,
            "memory back: +{:.1} MiB",
            (after - before) / MIB
        );
        assert!(
            peak_allocated < before + 40.0 * MIB,
            "peak +{:.1} MiB",
            (peak_allocated - before) / MIB
        );
        crowd.assert_healthy().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Lean handshakes

/// `count` handshakes of `query` query bytes and `headers` header bytes (in headers of 5 000);
/// their statuses.
async fn handshakes(addr: SocketAddr, count: usize, query: usize, headers: usize) -> HashSet<u16> {
    let path = format!("{HANDSHAKE_PATH}&q={}", "q".repeat(query));
    let values: Vec<(String, String)> = (0..headers / 5000)
        .map(|i| (format!("x-fat-{i}"), "h".repeat(4990)))
        .collect();
    let pairs: Vec<(&str, &str)> = values
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let mut statuses = HashSet::new();
    for _ in 0..count {
        let answer = request(addr, Method::GET, &path, &pairs, Bytes::new()).await;
        statuses.insert(answer.status);
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fat_handshakes_get_414_and_431_and_what_a_session_keeps_is_lean() {
    within(TEST_LIMIT, async {
        let _alone = MEMORY.write().await;
        let server = chat_server(|config| {
            // Enough room for the largest accepted handshakes below from one address.
            config.hub.max_unconnected_per_address = 1000;
        })
        .await;
        let crowd = Crowd::start(server.addr, 5, 5, 10);
        let before = allocated(&server).await;
        // The failure: 2 000 handshakes of about 95 KB held +324 MB.
        assert_eq!(
            handshakes(server.addr, 200, 60_000, 35_000).await,
            HashSet::from([414])
        );
        assert_eq!(
            handshakes(server.addr, 200, 100, 35_000).await,
            HashSet::from([431])
        );
        let refused = allocated(&server).await;
        // The largest handshakes accepted: 8 000 bytes of query, 15 000 of headers.
        let accepted = 200;
        assert_eq!(
            handshakes(server.addr, accepted, 8_000, 15_000).await,
            HashSet::from([200])
        );
        let held = allocated(&server).await;
        let per_handshake = (held - refused) / accepted as f64;
        println!(
            "fat handshakes: refused ones +{:.2} MiB; {accepted} accepted of 23 KB hold {:.1} KB each",
            (refused - before) / MIB,
            per_handshake / 1024.0
        );
        assert!(
            refused < before + MIB,
            "refused handshakes keep nothing: +{:.2} MiB",
            (refused - before) / MIB
        );
        assert!(
            per_handshake < 32.0 * 1024.0,
            "a 23 KB handshake holds {per_handshake} bytes"
        );
        let metrics = server.metrics().await;
        for (outcome, count) in [("query_too_long", 200.0), ("headers_too_large", 200.0)] {
            assert_eq!(
                metrics.value("ferrio_handshakes_total", &[("outcome", outcome)]),
                count,
                "{outcome}"
            );
        }
        crowd.assert_healthy().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Unconnected handshakes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_never_connected_do_not_fill_the_node() {
    within(TEST_LIMIT, async {
        let _shared = MEMORY.read().await;
        let server = chat_server(|config| config.hub.max_sessions = Some(25)).await;
        let crowd = Crowd::start(server.addr, 5, 5, 10);
        // One address handshakes again and again and never connects.
        let hog: IpAddr = "127.0.0.9".parse().expect("address");
        let mut statuses = Vec::new();
        for _ in 0..300 {
            statuses.push(handshake_from(server.addr, hog).await);
        }
        let accepted = statuses.iter().filter(|a| a.status == 200).count();
        assert_eq!(accepted, 100, "the per-address cap");
        let refused = &statuses[accepted];
        assert_eq!(refused.status, 503);
        assert_eq!(refused.header("retry-after"), Some("5"));
        assert_eq!(refused.text(), "too many pending handshakes");
        // The node of 25 holds 100 issued sessions and the crowd, and still takes clients.
        for guest in ["127.0.0.10", "127.0.0.11"] {
            let answer = handshake_from(server.addr, guest.parse().expect("address")).await;
            assert_eq!(answer.status, 200, "{}", answer.text());
            let sid = answer
                .text()
                .split(':')
                .next()
                .unwrap_or_default()
                .to_owned();
            assert_eq!(server.poll(&sid).await, "1::");
            // The crowd chats on: its lines may come with the echo.
            server.assert_polling_echo_amid_chat(&sid).await;
        }
        let metrics = server.metrics().await;
        assert_eq!(
            metrics.value(
                "ferrio_handshakes_total",
                &[("outcome", "unconnected_address")]
            ),
            200.0
        );
        assert_eq!(
            metrics.value("ferrio_handshakes_total", &[("outcome", "full")]),
            0.0
        );
        assert_eq!(server.hub.unconnected_count(), 100);
        crowd.assert_healthy().await;
    })
    .await;
}

/// Keeps the imports of packet types honest: a packet the chat sends is recognised.
#[test]
fn chat_lines_are_read_from_to_client_events() {
    let packet = Packet::new(PacketBody::Event {
        name: "toClient".into(),
        args: vec![json!("a:m1")],
    });
    assert_eq!(chat_line(&packet.encode()), Some(line("a", 1)));
    assert_eq!(chat_line(&to_server("a", 1)), None);
}
