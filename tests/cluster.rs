//! Several nodes on one real `redis-server`: session ids that name their node, broadcasts,
//! rooms, `except`, volatile emits and namespaces reaching every node's sessions exactly once
//! and in order, a node cut off from Redis catching up, duplicates skipped and gaps counted,
//! a Redis restart, a node stopped past its expiry fencing itself, a peer frozen with its
//! link open dropped by the link's pings, a node that cannot reach Redis refusing to start,
//! and no Redis key left behind.
//!
//! Each client here talks to one node for its whole session; requests of one session spread
//! over nodes are forwarding's, tested with the balancer.

use std::time::Duration;

use ferrio_protocol::TransportKind;
use ferrio_server::{AppKind, ServerConfig};
use ferrio_testkit::nginx::Nginx;
use ferrio_testkit::redis::RedisServer;
use ferrio_testkit::{
    ChatLedger, ECHO_PING, GatewayProcess, TestServer, WsClient, assert_websocket_echo, clustered,
    ferrio_command, flashsocket_path, forced_disconnect_path, hixie_sample_headers, hixie_upgrade,
    htmlfile_path, jsonp_form, jsonp_path, multipart_path, next_packet_within, packets_of,
    retry_until, send_text, short_timers, wait_exit, ws_path, xhr_path,
};
use http::Method;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_ferrio");

/// The cluster secret of the nodes run as processes.
const SECRET: &str = "a cluster secret for tests";

/// The publish API's token on every node.
const TOKEN: &str = "cluster-token";

/// `count` nodes of the cluster `name` on `redis`, in-process, with short timers, running the
/// conformance application and the chat's `toServer`.
async fn nodes(redis: &RedisServer, name: &str, count: usize) -> Vec<TestServer> {
    nodes_with(redis, name, count, |_| {}).await
}

/// [`nodes`], each node's configuration changed by `configure` first.
async fn nodes_with(
    redis: &RedisServer,
    name: &str,
    count: usize,
    configure: impl Fn(&mut ServerConfig),
) -> Vec<TestServer> {
    let mut nodes = Vec::new();
    for _ in 0..count {
        let mut config = clustered(short_timers(ServerConfig::default()), &redis.url(), name);
        configure(&mut config);
        if let Some(admin) = config.admin.as_mut() {
            admin.api_token = Some(TOKEN.to_owned());
        }
        let node = TestServer::start(config).await;
        ferrio_server::apps::install(AppKind::Chat, &node.hub);
        nodes.push(node);
    }
    nodes
}

/// Stops every node, then checks that the cluster left no key in Redis but its bus.
async fn stop_and_check_keys(nodes: Vec<TestServer>, redis: &RedisServer, name: &str) {
    for node in nodes {
        node.stop().await;
    }
    let keys = redis.keys(&format!("fio:{{{name}}}:*"));
    let bus = format!("fio:{{{name}}}:bus");
    assert!(
        keys.iter().all(|key| *key == bus),
        "keys left behind by stopped nodes: {keys:?}"
    );
}

/// The next packet on `socket` that is not a heartbeat; fails the test after three seconds.
async fn next(socket: &mut WsClient) -> String {
    next_packet_within(socket, Duration::from_secs(3))
        .await
        .expect("a packet within three seconds")
}

/// The flags of a `ferrio` process: a node of the cluster `name` on the Redis at `url`, on a
/// free port of 127.0.0.1, running `app`, then `extra`.
fn node_args(url: &str, name: &str, app: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--app",
        app,
        "--cluster-redis",
        url,
        "--cluster-name",
        name,
        "--cluster-secret",
        SECRET,
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    args
}

/// A `ferrio` process run with `args` and no admin listener: its default port is one for
/// the whole machine, and the tests run side by side.
fn without_admin(args: &[&str]) -> GatewayProcess {
    let mut all = args.to_vec();
    all.extend(["--admin-port", "0"]);
    GatewayProcess::start(BIN, &all, &[])
}

/// Runs `ferrio` with `args` until it exits by itself (it must within 15 s): its exit code,
/// stderr and stdout.
fn run_to_exit(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = ferrio_command(BIN, args, &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let status = wait_exit(&mut child, Duration::from_secs(15)).expect("exits");
    let output = child.wait_with_output().expect("output");
    (
        status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// A GET of `path` at `addr` on a fresh connection.
async fn get(addr: std::net::SocketAddr, path: &str) -> ferrio_testkit::HttpResponse {
    ferrio_testkit::request(addr, Method::GET, path, &[], bytes::Bytes::new()).await
}

/// The session id of a handshake's answer.
fn sid_of(handshake: &str) -> String {
    handshake.split(':').next().unwrap_or_default().to_owned()
}

/// An Engine.IO 4 handshake over polling.
const ENGINE_HANDSHAKE: &str = "/socket.io/?EIO=4&transport=polling";

/// The session id and the JSON of an Engine.IO `open` packet.
fn engine_open(answer: &str) -> (String, serde_json::Value) {
    let open: serde_json::Value =
        serde_json::from_str(answer.strip_prefix('0').expect("an open packet")).expect("JSON");
    let sid = open["sid"].as_str().expect("a sid").to_owned();
    (sid, open)
}

/// The metric `name` of `node` now.
async fn metric(node: &TestServer, name: &str) -> f64 {
    node.metrics().await.get(name, &[]).unwrap_or(-1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_spread_over_three_nodes_reaches_everyone_once_and_in_order() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "chat3", 3).await;
    // Every node sees the others.
    for node in &nodes {
        node.metrics_until("three live nodes", Duration::from_secs(5), |metrics| {
            metrics.get("ferrio_cluster_nodes_live", &[]) == Some(3.0)
        })
        .await;
    }
    // A node's session ids begin with its own id; each node's is different.
    let mut prefixes = Vec::new();
    for node in &nodes {
        let first = node.handshake().await;
        let second = node.handshake().await;
        assert_eq!(first.len(), 32);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(first[..6], second[..6], "one node, one prefix");
        assert_ne!(first, second);
        prefixes.push(first[..6].to_owned());
    }
    prefixes.sort();
    prefixes.dedup();
    assert_eq!(prefixes.len(), 3, "three nodes, three ids");

    let addrs: Vec<_> = nodes.iter().map(|node| node.addr).collect();
    let ledger = ChatLedger::start_across(&addrs, 3, 3).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let report = ledger.settle(Duration::from_secs(10)).await;
    assert!(report.accepted >= 60, "the chat went on: {report:?}");
    assert_eq!(report.delivered, report.accepted * 6, "{report:?}");
    for node in &nodes {
        assert_eq!(metric(node, "ferrio_cluster_bus_gaps_total").await, 0.0);
        assert_eq!(metric(node, "ferrio_cluster_bus_dropped_total").await, 0.0);
        assert!(metric(node, "ferrio_cluster_bus_delivered_total").await > 0.0);
    }
    stop_and_check_keys(nodes, &redis, "chat3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_except_volatile_and_namespaces_span_the_cluster() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "rooms", 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let (sid_a, mut on_a) = a.connected_websocket().await;
    let (_, mut on_b) = b.connected_websocket().await;
    let (_, mut outsider_b) = b.connected_websocket().await;

    // A room with members on both nodes: `toroom` from node A reaches both, and nobody
    // outside the room.
    send_text(&mut on_a, r#"5:::{"name":"join","args":["lobby"]}"#).await;
    send_text(&mut on_b, r#"5:::{"name":"join","args":["lobby"]}"#).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    send_text(
        &mut on_a,
        r#"5:::{"name":"toroom","args":["lobby","hello"]}"#,
    )
    .await;
    let expected = r#"5:::{"name":"roommsg","args":["hello"]}"#;
    assert_eq!(next(&mut on_a).await, expected);
    assert_eq!(next(&mut on_b).await, expected);

    // `broadcast` leaves out its sender on its own node and reaches everyone elsewhere.
    send_text(&mut on_a, r#"5:::{"name":"bcast","args":[7]}"#).await;
    let expected = r#"5:::{"name":"bmsg","args":[7]}"#;
    assert_eq!(next(&mut on_b).await, expected);
    assert_eq!(next(&mut outsider_b).await, expected);
    assert_eq!(
        next_packet_within(&mut on_a, Duration::from_millis(500)).await,
        None,
        "the sender of a broadcast does not get it"
    );

    // The publish API of one node reaches a namespace's members on another.
    let (_, mut chat_b) = b.connected_websocket().await;
    send_text(&mut chat_b, "1::/chat").await;
    assert_eq!(next(&mut chat_b).await, "1::/chat");
    assert_eq!(
        next(&mut chat_b).await,
        r#"5::/chat:{"name":"hi","args":["chat"]}"#
    );
    a.hub.of("/chat").emit_args("news", vec![json!({"n": 1})]);
    assert_eq!(
        next(&mut chat_b).await,
        r#"5::/chat:{"name":"news","args":[{"n":1}]}"#
    );
    assert_eq!(
        next_packet_within(&mut outsider_b, Duration::from_millis(300)).await,
        None,
        "a namespace's emit reaches only its members"
    );

    // An explicit `except` of a session on another node.
    a.hub
        .sockets()
        .except(&sid_a)
        .emit_args("spared", vec![json!(1)]);
    assert_eq!(next(&mut on_b).await, r#"5:::{"name":"spared","args":[1]}"#);
    assert_eq!(
        next_packet_within(&mut on_a, Duration::from_millis(300)).await,
        None
    );

    // Volatile: a polling session of node B with no poll waiting does not get it buffered;
    // a normal broadcast right after is.
    let idle = b.connected_polling_session().await;
    a.hub.sockets().volatile().emit_args("vol", vec![json!(1)]);
    a.hub.sockets().emit_args("nonvol", vec![json!(2)]);
    // Both cross the bus before the poll is made, so no transport is ready when they land.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let packets = b.poll_packets(&idle).await;
    assert_eq!(
        packets,
        vec![r#"5:::{"name":"nonvol","args":[2]}"#.to_owned()],
        "volatile dropped for a session without a ready transport, the rest buffered"
    );
    drop((on_a, on_b, outsider_b, chat_b));
    stop_and_check_keys(nodes, &redis, "rooms").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_publish_api_of_any_node_reaches_a_session_held_by_another() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "api", 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let (sid, mut on_a) = a.connected_websocket().await;
    let call = async |path: &str, body: serde_json::Value| {
        let answer = b
            .api(Method::POST, path, Some(TOKEN), &body.to_string())
            .await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
        serde_json::from_str::<serde_json::Value>(&answer.text()).expect("JSON answer")
    };
    let answer = call(
        "/api/emit",
        json!({"event": "dm", "args": ["psst"], "sid": sid}),
    )
    .await;
    assert_eq!(answer, json!({"sessions": 0, "forwarded": true}));
    assert_eq!(
        next(&mut on_a).await,
        r#"5:::{"name":"dm","args":["psst"]}"#
    );
    // An id no node can hold goes nowhere.
    let answer = call(
        "/api/emit",
        json!({"event": "dm", "args": [], "sid": "nobody"}),
    )
    .await;
    assert_eq!(answer, json!({"sessions": 0}));
    let answer = call("/api/disconnect", json!({"sid": sid})).await;
    assert_eq!(answer, json!({"disconnected": false, "forwarded": true}));
    assert_eq!(next(&mut on_a).await, "0::");
    retry_until(
        Duration::from_secs(3),
        Duration::from_millis(20),
        async || a.hub.session_count(),
        |count| *count == 0,
    )
    .await
    .expect("the session ended on its node");
    drop(on_a);
    stop_and_check_keys(nodes, &redis, "api").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_node_serves_any_request_of_any_session() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "forward", 3).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);

    // Handshake on A, the first GET on B: B takes the session over.
    let sid = a.handshake().await;
    assert_eq!(b.get(&xhr_path(&sid)).await.text(), "1::");
    assert!(b.hub.holds(&sid) && !a.hub.holds(&sid));
    // A POST on C goes to B (C asks A, which says B), and so does a GET on A.
    c.post_packets(&sid, ECHO_PING).await;
    assert_eq!(
        packets_of(&a.get(&xhr_path(&sid)).await.text()),
        vec![ECHO_PING.to_owned()]
    );
    // A poll superseded by one on another node gets `8::`, the newer one the data.
    let older = {
        let path = xhr_path(&sid);
        let c_addr = c.addr;
        tokio::spawn(async move { get(c_addr, &path).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let newer = {
        let path = xhr_path(&sid);
        let a_addr = a.addr;
        tokio::spawn(async move { get(a_addr, &path).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(older.await.expect("older poll").text(), "8::");
    b.post_packets(&sid, ECHO_PING).await;
    assert_eq!(
        packets_of(&newer.await.expect("newer poll").text()),
        vec![ECHO_PING.to_owned()]
    );

    // A stream relayed as it is written: htmlfile on C for the session B serves, a POST on A.
    let mut stream = c.open_stream(&htmlfile_path(&sid)).await;
    let prelude = stream
        .next_text(Duration::from_secs(3))
        .await
        .unwrap_or_default();
    assert!(prelude.contains("<html>"), "{prelude}");
    a.post_packets_to(&htmlfile_path(&sid), ECHO_PING).await;
    let mut seen = String::new();
    while !seen.contains("ping") {
        match stream.next_text(Duration::from_secs(3)).await {
            Some(text) => seen.push_str(&text),
            None => panic!("the echo never came down the relayed stream: {seen:?}"),
        }
    }
    drop(stream);

    // A forced disconnect on a node that does not hold the session ends it where it is.
    let answer = c.get(&forced_disconnect_path(&sid)).await;
    assert_eq!(answer.status, 200);
    retry_until(
        Duration::from_secs(3),
        Duration::from_millis(20),
        async || b.hub.holds(&sid),
        |held| !*held,
    )
    .await
    .expect("the session ended on B");
    assert_eq!(c.get(&xhr_path(&sid)).await.text(), "7:::1+0");

    // jsonp-polling the same way: handshake on C, first GET on A, POST on B.
    let sid = c.handshake().await;
    assert!(a.get(&jsonp_path(&sid, "0")).await.text().contains("1::"));
    let posted = b.post(&jsonp_path(&sid, "0"), &jsonp_form(ECHO_PING)).await;
    assert_eq!((posted.status, posted.text().as_str()), (200, "1"));
    assert!(c.get(&jsonp_path(&sid, "1")).await.text().contains("ping"));

    // A WebSocket upgrading on another node than its handshake's takes the session there:
    // nothing is forwarded afterwards.
    let sid = a.handshake().await;
    let before = metric(b, "ferrio_cluster_forwarded_out_total").await;
    let mut socket = b.websocket(&ws_path(&sid)).await;
    assert_eq!(next(&mut socket).await, "1::");
    assert_websocket_echo(&mut socket).await;
    assert!(b.hub.holds(&sid));
    assert_eq!(
        metric(b, "ferrio_cluster_forwarded_out_total").await,
        before
    );
    assert!(metric(b, "ferrio_cluster_taken_total").await >= 2.0);
    let c_metrics = c.metrics().await;
    assert!(
        c_metrics
            .get(
                "ferrio_cluster_forwarded_total",
                &[("transport", "xhr-polling")]
            )
            .is_some_and(|count| count >= 1.0),
        "forwarded requests are counted by transport"
    );
    assert!(
        c_metrics
            .get("ferrio_cluster_link_round_trip_seconds_count", &[])
            .is_some_and(|count| count >= 1.0),
        "link round trips are measured"
    );
    assert!(metric(a, "ferrio_cluster_handed_over_total").await >= 2.0);
    drop(socket);
    stop_and_check_keys(nodes, &redis, "forward").await;
}

/// A request body on a link opened by a test: empty, or the receipts a test writes.
type LinkTestBody = http_body_util::combinators::BoxBody<bytes::Bytes, std::convert::Infallible>;

/// An HTTP/2 connection to the link of the node that minted `sid` (its address from Redis),
/// as another node would open it, and a handle that cuts its socket.
async fn link_to(
    redis: &RedisServer,
    name: &str,
    sid: &str,
) -> (
    String,
    hyper::client::conn::http2::SendRequest<LinkTestBody>,
    std::net::TcpStream,
) {
    let description = redis
        .command(&["GET", &format!("fio:{{{name}}}:node:{}", &sid[..6])])
        .expect("the node's key");
    let description: serde_json::Value = serde_json::from_str(&description).expect("JSON");
    let link = description["link"]
        .as_str()
        .expect("a link address")
        .to_owned();
    let stream = tokio::net::TcpStream::connect(&link).await.expect("dial");
    // A second handle on the socket, to cut it as a node that dies would.
    let stream = stream.into_std().expect("std stream");
    let cut = stream.try_clone().expect("clone");
    let stream = tokio::net::TcpStream::from_std(stream).expect("tokio stream");
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    (link, sender, cut)
}

/// A link request from the pretend node `0f0f0f` with `body`.
fn link_request(
    link: &str,
    method: Method,
    path: &str,
    secret: &str,
    body: LinkTestBody,
) -> http::Request<LinkTestBody> {
    http::Request::builder()
        .method(method)
        .uri(format!("http://{link}{path}"))
        .header("x-ferrio-cluster-secret", secret)
        .header("x-ferrio-node", "0f0f0f")
        .header("x-ferrio-client", "127.0.0.1:4000")
        .header("x-ferrio-hops", "1")
        .body(body)
        .expect("request")
}

/// A request body of receipts, written through the sender; dropping it ends them.
fn receipts() -> (
    tokio::sync::mpsc::UnboundedSender<&'static str>,
    LinkTestBody,
) {
    use http_body_util::BodyExt as _;
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
    let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let receipt = receiver.recv().await?;
        let frame = hyper::body::Frame::data(bytes::Bytes::from_static(receipt.as_bytes()));
        Some((Ok(frame), receiver))
    });
    (sender, http_body_util::StreamBody::new(frames).boxed())
}

/// No request body.
fn no_body() -> LinkTestBody {
    use http_body_util::BodyExt as _;
    http_body_util::Empty::new().boxed()
}

/// The next data frame of an answer on a link opened by a test.
async fn next_data(body: &mut hyper::body::Incoming) -> bytes::Bytes {
    use http_body_util::BodyExt as _;
    body.frame()
        .await
        .expect("a frame")
        .expect("no error")
        .into_data()
        .expect("data")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_answer_is_held_until_receipted_and_requeued_otherwise() {
    use http_body_util::BodyExt as _;
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "held", 1).await;
    let node = &nodes[0];
    let sid = node.connected_polling_session().await;
    let secret = SECRET;

    // Without the secret: refused.
    let (link, mut sender, cut) = link_to(&redis, "held", &sid).await;
    let refused = sender
        .send_request(link_request(
            &link,
            Method::GET,
            &xhr_path(&sid),
            "wrong",
            no_body(),
        ))
        .await
        .expect("answer");
    assert_eq!(refused.status(), 401);
    assert_eq!(metric(node, "ferrio_cluster_link_refused_total").await, 1.0);

    // A poll forwarded by the pretend node gets the echo; the link then breaks before any
    // receipt: the batch goes back to the session.
    let (_receipts, body) = receipts();
    let poll = sender.send_request(link_request(
        &link,
        Method::GET,
        &xhr_path(&sid),
        secret,
        body,
    ));
    let poll = tokio::spawn(poll);
    tokio::time::sleep(Duration::from_millis(200)).await;
    node.post_packets(&sid, ECHO_PING).await;
    let answer = poll.await.expect("poll task").expect("answer");
    let body = answer.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(&body[..], ECHO_PING.as_bytes());
    cut.shutdown(std::net::Shutdown::Both).expect("cut");
    drop(sender);
    node.metrics_until("the batch requeued", Duration::from_secs(3), |metrics| {
        metrics.get("ferrio_cluster_requeued_total", &[]) == Some(1.0)
    })
    .await;
    assert_eq!(node.poll_packets(&sid).await, vec![ECHO_PING.to_owned()]);

    // A receipt for the whole answer: not sent again. Receipts that end short of it (the
    // client went away): sent again.
    let whole: &'static str = format!("{}\n", ECHO_PING.len()).leak();
    for (receipt, again) in [(Some(whole), false), (Some("3\n"), true), (None, true)] {
        let (link, mut sender, _cut) = link_to(&redis, "held", &sid).await;
        let (receipts, body) = receipts();
        let poll = tokio::spawn(sender.send_request(link_request(
            &link,
            Method::GET,
            &xhr_path(&sid),
            secret,
            body,
        )));
        tokio::time::sleep(Duration::from_millis(200)).await;
        node.post_packets(&sid, ECHO_PING).await;
        let answer = poll.await.expect("poll task").expect("answer");
        let _ = answer.into_body().collect().await;
        if let Some(receipt) = receipt {
            receipts.send(receipt).expect("receipt");
        }
        drop(receipts);
        let next = node.poll_packets(&sid).await;
        if again {
            assert_eq!(next, vec![ECHO_PING.to_owned()], "{receipt:?}");
        } else {
            assert_eq!(next, vec!["8::".to_owned()], "{receipt:?}");
        }
    }

    // A stream (xhr-multipart: closing it keeps the session): what a receipt covers is
    // delivered, what comes after it goes back when the receipts end.
    let (link, mut sender, _cut) = link_to(&redis, "held", &sid).await;
    let (receipts_to, body) = receipts();
    let answer = sender
        .send_request(link_request(
            &link,
            Method::GET,
            &multipart_path(&sid),
            secret,
            body,
        ))
        .await
        .expect("answer");
    let mut stream = answer.into_body();
    let prelude = next_data(&mut stream).await;
    node.post_packets_to(
        &multipart_path(&sid),
        r#"5:::{"name":"echo","args":["one"]}"#,
    )
    .await;
    let first = next_data(&mut stream).await;
    let covered: &'static str = format!("{}\n", prelude.len() + first.len()).leak();
    receipts_to.send(covered).expect("receipt");
    node.post_packets_to(
        &multipart_path(&sid),
        r#"5:::{"name":"echo","args":["two"]}"#,
    )
    .await;
    let second = next_data(&mut stream).await;
    assert!(String::from_utf8_lossy(&second).contains("two"));
    drop(receipts_to);
    drop(stream);
    let next = node.poll_packets(&sid).await;
    assert_eq!(
        next,
        vec![r#"5:::{"name":"echo","args":["two"]}"#.to_owned()],
        "only the unreceipted chunk comes again"
    );
    stop_and_check_keys(nodes, &redis, "held").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_held_polls_on_one_link_leave_room_for_a_post() {
    // More than HTTP/2's usual 200 streams, fewer than the 256 connections one address may open.
    const HELD: usize = 230;
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "streams", 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut sids = Vec::new();
    for _ in 0..HELD {
        sids.push(a.connected_polling_session().await);
    }
    // Every session polls through B: one link, HELD requests in flight on it at once.
    let polls: Vec<_> = sids
        .iter()
        .map(|sid| {
            let (addr, path) = (b.addr, xhr_path(sid));
            tokio::spawn(async move { get(addr, &path).await.text() })
        })
        .collect();
    retry_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        async || metric(a, "ferrio_cluster_forwarded_in_total").await,
        |forwarded| *forwarded >= HELD as f64,
    )
    .await
    .expect("every poll reached the owner");
    // A POST through the same link is not queued behind them.
    let started = std::time::Instant::now();
    b.post_packets(&sids[0], ECHO_PING).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "a POST beside {HELD} held polls took {took:?}"
    );
    let mut answers = Vec::new();
    for poll in polls {
        answers.push(poll.await.expect("poll"));
    }
    assert_eq!(packets_of(&answers[0]), vec![ECHO_PING.to_owned()]);
    assert!(answers[1..].iter().all(|answer| answer == "8::"));
    stop_and_check_keys(nodes, &redis, "streams").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_forwarding_node_requeues_what_it_had_not_delivered() {
    let redis = RedisServer::start();
    let url = redis.url();
    let owned = node_args(
        &url,
        "forwarder",
        "conformance",
        &["--polling-duration", "20"],
    );
    let args: Vec<&str> = owned.iter().map(String::as_str).collect();
    let (owner, owner_admin) = GatewayProcess::start_with_admin(BIN, &args, &[]);
    let forwarder = without_admin(&args);
    let sid = owner.get("/socket.io/1/").await.text();
    let sid = sid_of(&sid);
    assert_eq!(owner.get(&xhr_path(&sid)).await.text(), "1::");
    // A poll through the forwarding node, held at the owner; the forwarding node then stops
    // dead before it can relay the answer, and is killed.
    let poll = {
        let addr = forwarder.addr;
        let path = xhr_path(&sid);
        tokio::spawn(async move { get(addr, &path).await })
    };
    let posted = lose_forwarder_with_poll(&forwarder, poll, async || {
        owner.post(&xhr_path(&sid), ECHO_PING).await.text()
    })
    .await;
    assert_eq!(posted, "1");
    assert_requeued_once(owner_admin).await;
    assert_eq!(
        packets_of(&owner.get(&xhr_path(&sid)).await.text()),
        vec![ECHO_PING.to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_node_forwarding_a_socket_io_poll_requeues_what_it_had_not_delivered() {
    let redis = RedisServer::start();
    let url = redis.url();
    let owned = node_args(&url, "forwarder4", "conformance", &[]);
    let args: Vec<&str> = owned.iter().map(String::as_str).collect();
    let (owner, owner_admin) = GatewayProcess::start_with_admin(BIN, &args, &[]);
    let forwarder = without_admin(&args);
    let (sid, _) = engine_open(&owner.get(ENGINE_HANDSHAKE).await.text());
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(owner.post(&path, "40").await.text(), "ok");
    assert!(owner.get(&path).await.text().starts_with("40{"));
    // A poll through the forwarding node, held at the owner; the forwarding node then stops
    // dead before it can relay the answer, and is killed.
    let poll = {
        let (addr, path) = (forwarder.addr, path.clone());
        tokio::spawn(async move { get(addr, &path).await })
    };
    let posted = lose_forwarder_with_poll(&forwarder, poll, async || {
        owner.post(&path, r#"427["echo",1]"#).await.text()
    })
    .await;
    assert_eq!(posted, "ok");
    assert_requeued_once(owner_admin).await;
    assert_eq!(owner.get(&path).await.text(), r#"437[1]"#);
}

/// Lets the poll held through `forwarder` settle, stops the forwarding node dead, has
/// `post` queue an answer for that poll (its answer is returned), then kills the node.
async fn lose_forwarder_with_poll(
    forwarder: &GatewayProcess,
    poll: tokio::task::JoinHandle<ferrio_testkit::HttpResponse>,
    post: impl AsyncFnOnce() -> String,
) -> String {
    tokio::time::sleep(Duration::from_millis(300)).await;
    forwarder.signal("STOP");
    let posted = post().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    forwarder.signal("KILL");
    poll.abort();
    posted
}

/// Asserts the owner got the link's end and put the batch it never relayed back.
async fn assert_requeued_once(owner_admin: std::net::SocketAddr) {
    let requeued = retry_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        async || get(owner_admin, "/metrics").await.text(),
        |metrics: &String| metrics.contains("ferrio_cluster_requeued_total 1"),
    )
    .await;
    assert!(requeued.is_ok(), "the batch was not requeued");
}

/// How long a link may take to notice a peer frozen with its socket open: the link's ping
/// interval (5 s) and pong timeout (10 s), and slack for a busy machine.
const FROZEN_PEER_NOTICED_WITHIN: Duration = Duration::from_secs(25);

/// Two node processes of one cluster, each with an admin listener, a session the owner
/// serves, and a poll of it through the other node, forwarded and held at the owner.
struct PollHeldThroughLink {
    _redis: RedisServer,
    owner: GatewayProcess,
    owner_admin: std::net::SocketAddr,
    forwarder: GatewayProcess,
    forwarder_admin: std::net::SocketAddr,
    sid: String,
    poll: tokio::task::JoinHandle<ferrio_testkit::HttpResponse>,
}

/// [`PollHeldThroughLink`] for the cluster `name`. The node TTL is a minute and the polling
/// duration too, so a frozen node stays registered and the held poll waits: only the link's
/// pings can tell that a node stopped.
async fn poll_held_through_link(name: &str) -> PollHeldThroughLink {
    let redis = RedisServer::start();
    let owned = node_args(
        &redis.url(),
        name,
        "conformance",
        &["--polling-duration", "60", "--cluster-node-ttl", "60"],
    );
    let args: Vec<&str> = owned.iter().map(String::as_str).collect();
    let (owner, owner_admin) = GatewayProcess::start_with_admin(BIN, &args, &[]);
    let (forwarder, forwarder_admin) = GatewayProcess::start_with_admin(BIN, &args, &[]);
    let sid = sid_of(&owner.get("/socket.io/1/").await.text());
    assert_eq!(owner.get(&xhr_path(&sid)).await.text(), "1::");
    let poll = {
        let addr = forwarder.addr;
        let path = xhr_path(&sid);
        tokio::spawn(async move { get(addr, &path).await })
    };
    let forwarded = retry_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        async || get(forwarder_admin, "/metrics").await.text(),
        |metrics: &String| metrics.contains("ferrio_cluster_forwarded_out_total 1"),
    )
    .await;
    assert!(forwarded.is_ok(), "the poll was not forwarded");
    // Long enough for the owner to take the forwarded poll in and hold it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    PollHeldThroughLink {
        _redis: redis,
        owner,
        owner_admin,
        forwarder,
        forwarder_admin,
        sid,
        poll,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarding_node_frozen_with_its_link_open_is_dropped_and_its_batch_requeued() {
    let held = poll_held_through_link("frozenforwarder").await;
    let path = xhr_path(&held.sid);
    // Frozen, not killed: its end of the link stays open and never reads again.
    held.forwarder.signal("STOP");
    let frozen_at = std::time::Instant::now();
    assert_eq!(held.owner.post(&path, ECHO_PING).await.text(), "1");
    let requeued = retry_until(
        FROZEN_PEER_NOTICED_WITHIN,
        Duration::from_millis(100),
        async || get(held.owner_admin, "/metrics").await.text(),
        |metrics: &String| metrics.contains("ferrio_cluster_requeued_total 1"),
    )
    .await;
    assert!(
        requeued.is_ok(),
        "the owner never gave up on the frozen forwarder: {}",
        held.owner.stderr()
    );
    let noticed_after = frozen_at.elapsed();
    assert!(
        noticed_after >= Duration::from_secs(4),
        "dropped before a ping could go unanswered: {noticed_after:?}"
    );
    assert_eq!(
        packets_of(&held.owner.get(&path).await.text()),
        vec![ECHO_PING.to_owned()],
        "the batch the frozen node never relayed"
    );
    held.forwarder.signal("KILL");
    held.poll.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_forwarded_to_an_owner_frozen_with_its_link_open_is_answered_as_unknown() {
    let held = poll_held_through_link("frozenowner").await;
    held.owner.signal("STOP");
    let frozen_at = std::time::Instant::now();
    let answer = tokio::time::timeout(FROZEN_PEER_NOTICED_WITHIN, held.poll)
        .await
        .expect("the forwarding node gave up on the frozen owner in time")
        .expect("the poll's task");
    let noticed_after = frozen_at.elapsed();
    // The client is told its session is unknown, and handshakes again on a live node.
    assert_eq!(answer.text(), "7:::1+0");
    assert!(
        noticed_after >= Duration::from_secs(4),
        "answered before a ping could go unanswered: {noticed_after:?}"
    );
    let metrics = get(held.forwarder_admin, "/metrics").await.text();
    assert!(
        metrics.contains("ferrio_cluster_link_failures_total 1"),
        "{metrics}"
    );
    held.owner.signal("KILL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_io_client_is_served_by_whichever_node_its_requests_reach() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "modern", 3).await;
    let path = |sid: &str| format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let post = async |node: &TestServer, sid: &str, body: &'static str| {
        ferrio_testkit::request(
            node.addr,
            Method::POST,
            &path(sid),
            &[("content-type", "text/plain;charset=UTF-8")],
            body,
        )
        .await
    };
    // The handshake on A, the CONNECT on B (which takes the session over), the answer on C.
    let (sid, _) = engine_open(&nodes[0].get(ENGINE_HANDSHAKE).await.text());
    assert_eq!(post(&nodes[1], &sid, "40").await.text(), "ok");
    let joined = nodes[2].get(&path(&sid)).await.text();
    assert!(joined.starts_with("40{\"sid\":"), "{joined}");
    // An event with an ack POSTed to A, its ack polled from C: both forwarded to B.
    assert_eq!(post(&nodes[0], &sid, r#"427["echo",1]"#).await.text(), "ok");
    assert_eq!(nodes[2].get(&path(&sid)).await.text(), r#"437[1]"#);
    assert!(nodes[1].hub.holds(&sid), "B serves the session");
    assert!(!nodes[0].hub.holds(&sid) && !nodes[2].hub.holds(&sid));
    assert_eq!(metric(&nodes[1], "ferrio_cluster_taken_total").await, 1.0);
    stop_and_check_keys(nodes, &redis, "modern").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_io_client_upgrades_to_a_websocket_on_another_node() {
    const WAIT: Duration = Duration::from_secs(3);
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "upgrade", 3).await;
    let polling = |sid: &str| format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let (sid, open) = engine_open(&nodes[0].get(ENGINE_HANDSHAKE).await.text());
    assert_eq!(open["upgrades"], json!(["websocket"]));
    let posted = ferrio_testkit::request(
        nodes[0].addr,
        Method::POST,
        &polling(&sid),
        &[("content-type", "text/plain;charset=UTF-8")],
        "40",
    )
    .await;
    assert_eq!(posted.text(), "ok");
    assert!(nodes[0].get(&polling(&sid)).await.text().starts_with("40{"));
    // A poll held through B and the upgrade through C, both relayed to A, which serves the
    // session; the probe lets the held poll go with a noop.
    let held = {
        let (addr, path) = (nodes[1].addr, polling(&sid));
        tokio::spawn(async move { get(addr, &path).await.text() })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let upgrade = ferrio_testkit::raw_upgrade(
        nodes[2].addr,
        &format!("/socket.io/?EIO=4&transport=websocket&sid={sid}"),
        &[],
    )
    .await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    let mut ws = upgrade.ws;
    ws.send_text("2probe").await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("3probe"));
    let noop = tokio::time::timeout(WAIT, held).await.expect("let go");
    assert_eq!(noop.expect("joins"), "6");
    ws.send_text("5").await;
    ws.send_text(r#"427["echo","over the tunnel"]"#).await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"437["over the tunnel"]"#)
    );
    let holders: Vec<bool> = nodes.iter().map(|node| node.hub.holds(&sid)).collect();
    assert_eq!(holders, [true, false, false], "A serves the session");
    let late = nodes[2].get(&polling(&sid)).await;
    assert_eq!(
        late.status,
        400,
        "a poll after the upgrade: {}",
        late.text()
    );
    drop(ws);
    stop_and_check_keys(nodes, &redis, "upgrade").await;
}

/// A transport's path for a session id.
type PathOf = fn(&str) -> String;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draft_76_and_flash_sockets_through_the_balancer() {
    let redis = RedisServer::start();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let mut config = clustered(short_timers(ServerConfig::default()), &redis.url(), "hixie");
        config.hub.transports = vec![
            TransportKind::Websocket,
            TransportKind::Flashsocket,
            TransportKind::XhrPolling,
        ];
        nodes.push(TestServer::start(config).await);
    }
    let addrs: Vec<_> = nodes.iter().map(|node| node.addr).collect();
    let http = Nginx::start(&addrs);
    let tcp = Nginx::start_stream(&addrs);
    let cases: [(&str, std::net::SocketAddr, PathOf); 3] = [
        ("draft 76 through HTTP round-robin", http.addr(), ws_path),
        ("draft 76 through TCP round-robin", tcp.addr(), ws_path),
        (
            "Flash socket through TCP round-robin",
            tcp.addr(),
            flashsocket_path,
        ),
    ];
    for (what, balancer, path) in cases {
        // Three in a row: the upgrades land on other nodes than the handshakes.
        for round in 0..3 {
            let handshake = get(balancer, ferrio_testkit::HANDSHAKE_PATH).await.text();
            let sid = sid_of(&handshake);
            let upgrade = hixie_upgrade(balancer, &path(&sid), &hixie_sample_headers(), None).await;
            assert_eq!(upgrade.status, 101, "{what} #{round}: {}", upgrade.head);
            let mut ws = upgrade.ws;
            ws.expect_sample_digest().await;
            assert_eq!(
                ws.next_text(Duration::from_secs(3)).await.as_deref(),
                Some("1::"),
                "{what} #{round}"
            );
            ws.send_text(ECHO_PING).await;
            assert_eq!(
                ws.next_text(Duration::from_secs(3)).await.as_deref(),
                Some(ECHO_PING),
                "{what} #{round}"
            );
        }
    }
    drop((http, tcp));
    stop_and_check_keys(nodes, &redis, "hixie").await;
}

/// A session handshaken on `a` and connected by an xhr-polling GET on `b`, which takes it
/// over and serves it from then on.
async fn served_by(a: &TestServer, b: &TestServer) -> String {
    let sid = a.handshake().await;
    assert_eq!(b.get(&xhr_path(&sid)).await.text(), "1::");
    assert!(b.hub.holds(&sid));
    sid
}

/// Waits (three seconds at most) until `node` no longer holds session `sid`; how long it took.
async fn until_ended(node: &TestServer, sid: &str) -> Duration {
    let started = std::time::Instant::now();
    retry_until(
        Duration::from_secs(3),
        Duration::from_millis(10),
        async || node.hub.holds(sid),
        |held| !*held,
    )
    .await
    .expect("the session ended on its node");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_on_another_node_are_relayed_to_the_one_serving_their_session() {
    let redis = RedisServer::start();
    let nodes = nodes_with(&redis, "tunnel", 3, |config| {
        config.hub.transports.push(TransportKind::Flashsocket);
    })
    .await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);

    // RFC 6455 on C for a session B serves: C relays it to B over the link. (Its `1::` went
    // out on the poll that connected it.)
    let sid = served_by(a, b).await;
    let mut socket = c.websocket(&ws_path(&sid)).await;
    assert_websocket_echo(&mut socket).await;
    let answer = a
        .api(
            Method::POST,
            "/api/emit",
            Some(TOKEN),
            &json!({"event": "dm", "args": ["psst"], "sid": sid}).to_string(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        next(&mut socket).await,
        r#"5:::{"name":"dm","args":["psst"]}"#
    );
    assert!(b.hub.holds(&sid) && !c.hub.holds(&sid) && !a.hub.holds(&sid));
    let relayed = c.metrics().await.get(
        "ferrio_cluster_forwarded_total",
        &[("transport", "websocket")],
    );
    assert_eq!(relayed, Some(1.0), "the relayed upgrade is counted on C");
    // The client's end on C is the session's end on B, at once.
    drop(socket);
    let took = until_ended(b, &sid).await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    let ends = b
        .metrics()
        .await
        .get("ferrio_disconnects_total", &[("reason", "socket end")]);
    assert!(ends.is_some_and(|count| count >= 1.0), "{ends:?}");

    // Draft 76 and the Flash socket the same way: key3 and the digest cross the tunnel, and
    // the client gets B's answer as B gave it.
    let cases: [(&str, PathOf, &str); 2] = [
        ("draft 76", ws_path, "websocket"),
        ("Flash socket", flashsocket_path, "flashsocket"),
    ];
    for (what, path, transport) in cases {
        let sid = served_by(a, b).await;
        let upgrade = hixie_upgrade(c.addr, &path(&sid), &hixie_sample_headers(), None).await;
        assert_eq!(upgrade.status, 101, "{what}: {}", upgrade.head);
        assert!(
            upgrade
                .head
                .starts_with("HTTP/1.1 101 WebSocket Protocol Handshake\r\n"),
            "{what}: {}",
            upgrade.head
        );
        let location = format!("ws://example.com{}", path(&sid));
        assert!(upgrade.head.contains(&location), "{what}: {}", upgrade.head);
        let mut ws = upgrade.ws;
        ws.expect_sample_digest().await;
        let timeout = Duration::from_secs(3);
        ws.send_text(ECHO_PING).await;
        assert_eq!(
            ws.next_text(timeout).await.as_deref(),
            Some(ECHO_PING),
            "{what}"
        );
        assert!(b.hub.holds(&sid) && !c.hub.holds(&sid), "{what}");
        let relayed = c.metrics().await.get(
            "ferrio_cluster_forwarded_total",
            &[("transport", transport)],
        );
        assert!(
            relayed.is_some_and(|count| count >= 1.0),
            "{what}: {relayed:?}"
        );
        drop(ws);
        until_ended(b, &sid).await;
    }

    // A session nobody serves any more (ended on B, which C still remembers as its node) and
    // one its node never minted: the unknown-session answer, relayed or given by C itself.
    let never_minted = format!("{}{}", &sid[..6], "0".repeat(26));
    for sid in [sid, never_minted] {
        let mut socket = c.websocket(&ws_path(&sid)).await;
        assert_eq!(next(&mut socket).await, "7:::1+0");
    }
    stop_and_check_keys(nodes, &redis, "tunnel").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relaying_node_that_stops_ends_the_relayed_socket_on_the_serving_one() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "tunnelstop", 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let owned = node_args(&redis.url(), "tunnelstop", "conformance", &[]);
    let args: Vec<&str> = owned.iter().map(String::as_str).collect();
    let relaying = without_admin(&args);
    let sid = served_by(a, b).await;
    let mut socket = ferrio_testkit::websocket_at(relaying.addr, &ws_path(&sid)).await;
    assert_websocket_echo(&mut socket).await;
    relaying.signal("TERM");
    let took = until_ended(b, &sid).await;
    assert!(took < Duration::from_secs(2), "{took:?}");
    drop(socket);
    let mut relaying = relaying;
    wait_exit(&mut relaying.child, Duration::from_secs(10)).expect("the relaying node exits");
    stop_and_check_keys(nodes, &redis, "tunnelstop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takes_racing_on_two_nodes_leave_one_owner() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "race", 3).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    for _ in 0..10 {
        let sid = a.handshake().await;
        let path = xhr_path(&sid);
        let (on_b, on_c) = tokio::join!(b.get(&path), c.get(&path));
        let answers = [on_b.text(), on_c.text()];
        // One of them connected the session; the other was forwarded to it and either
        // superseded the first poll (`8::` there) or was answered itself.
        assert!(answers.iter().any(|text| text == "1::"), "{answers:?}");
        let holders = [a, b, c].iter().filter(|node| node.hub.holds(&sid)).count();
        assert_eq!(holders, 1, "one node serves the session: {answers:?}");
    }
    stop_and_check_keys(nodes, &redis, "race").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_node_is_gone_is_unknown_at_once() {
    let redis = RedisServer::start();
    let mut nodes = nodes(&redis, "gone", 3).await;
    let c = nodes.pop().expect("three nodes");
    let b = nodes.pop().expect("three nodes");
    let a = nodes.pop().expect("three nodes");
    // Served by B after a take; B goes away.
    let sid = a.handshake().await;
    assert_eq!(b.get(&xhr_path(&sid)).await.text(), "1::");
    b.stop().await;
    let started = std::time::Instant::now();
    assert_eq!(c.get(&xhr_path(&sid)).await.text(), "7:::1+0");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Minted by a node that is gone: the same, unless a live node took it over first, which
    // is then found by asking every live node.
    let orphan = a.handshake().await;
    let survivor_sid = a.handshake().await;
    let mut taken = c.websocket(&ws_path(&survivor_sid)).await;
    assert_eq!(next(&mut taken).await, "1::");
    a.stop().await;
    assert_eq!(c.get(&xhr_path(&orphan)).await.text(), "7:::1+0");
    let fourth = TestServer::start(clustered(
        short_timers(ServerConfig::default()),
        &redis.url(),
        "gone",
    ))
    .await;
    fourth
        .post_packets_to(&xhr_path(&survivor_sid), ECHO_PING)
        .await;
    assert_eq!(next(&mut taken).await, ECHO_PING);
    drop(taken);
    fourth.stop().await;
    stop_and_check_keys(vec![c], &redis, "gone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_through_a_round_robin_balancer_loses_nothing() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "nginx", 3).await;
    let addrs: Vec<_> = nodes.iter().map(|node| node.addr).collect();
    let balancer = Nginx::start(&addrs);
    let ledger = ChatLedger::start_across(&[balancer.addr()], 3, 3).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let report = ledger.settle(Duration::from_secs(10)).await;
    assert!(report.accepted >= 60, "the chat went on: {report:?}");
    assert_eq!(report.delivered, report.accepted * 6, "{report:?}");
    // Round robin per request: every node served some of them.
    let served = balancer.upstreams_served(1);
    for addr in &addrs {
        let addr = addr.to_string();
        assert!(
            served.iter().any(|upstream| upstream.contains(&addr)),
            "{addr} served nothing: {served:?}"
        );
    }
    let mut forwarded = 0.0;
    for node in &nodes {
        forwarded += metric(node, "ferrio_cluster_forwarded_out_total").await;
    }
    assert!(forwarded > 0.0, "sessions' requests crossed nodes");
    drop(balancer);
    stop_and_check_keys(nodes, &redis, "nginx").await;
}

/// The default namespace of an answer of `/api/stats` or `/api/dashboard`.
fn default_namespace(answer: &serde_json::Value) -> serde_json::Value {
    answer["namespaces"]
        .as_array()
        .and_then(|all| all.iter().find(|namespace| namespace["name"] == "/"))
        .cloned()
        .unwrap_or_else(|| panic!("no default namespace in {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_on_any_node_are_the_clusters_with_the_silent_nodes_named() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "stats", 3).await;
    let mut sockets = Vec::new();
    for node in &nodes {
        let (_, mut socket) = node.connected_websocket().await;
        send_text(&mut socket, r#"5:::{"name":"join","args":["lobby"]}"#).await;
        sockets.push(socket);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A node that is registered but never answers: named, not waited for.
    let silent = ferrio_testkit::free_port();
    redis
        .command(&[
            "SET",
            "fio:{stats}:node:0a0a0a",
            &json!({"node": "0a0a0a", "link": format!("127.0.0.1:{silent}")}).to_string(),
            "PX",
            "60000",
        ])
        .expect("SET");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis()
        .to_string();
    redis
        .command(&["ZADD", "fio:{stats}:nodes", &now, "0a0a0a"])
        .expect("ZADD");
    let started = std::time::Instant::now();
    let answer = nodes[1]
        .api(Method::GET, "/api/stats", Some(TOKEN), "")
        .await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(answer.status, 200, "{}", answer.text());
    let stats: serde_json::Value = serde_json::from_str(&answer.text()).expect("JSON");
    assert_eq!(stats["sessions"], 3, "{stats}");
    assert_eq!(stats["nodes"].as_array().map(Vec::len), Some(3), "{stats}");
    assert_eq!(stats["missing"], json!(["0a0a0a"]), "{stats}");
    let default = default_namespace(&stats);
    assert_eq!(default["sockets"], 3, "{stats}");
    assert_eq!(default["rooms"]["lobby"], 3, "{stats}");
    // The dashboard shows the same cluster: this node's own figures beside the cluster's
    // rooms and nodes.
    let answer = nodes[1]
        .api(Method::GET, "/api/dashboard", Some(TOKEN), "")
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let dashboard: serde_json::Value = serde_json::from_str(&answer.text()).expect("JSON");
    assert_eq!(dashboard["node"]["sessions"], 1, "{dashboard}");
    assert_eq!(
        dashboard["cluster"],
        json!({
            "node": stats["node"],
            "sessions": 3,
            "nodes": stats["nodes"],
            "missing": ["0a0a0a"],
        }),
        "{dashboard}"
    );
    assert_eq!(
        default_namespace(&dashboard),
        json!({"name": "/", "sockets": 3, "room_count": 1, "rooms": [{"name": "lobby", "size": 3}]}),
        "{dashboard}"
    );
    redis
        .command(&["DEL", "fio:{stats}:node:0a0a0a"])
        .expect("DEL");
    redis
        .command(&["ZREM", "fio:{stats}:nodes", "0a0a0a"])
        .expect("ZREM");
    drop(sockets);
    stop_and_check_keys(nodes, &redis, "stats").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_cut_off_from_redis_catch_up_without_losing_a_line() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "cutoff", 2).await;
    let addrs: Vec<_> = nodes.iter().map(|node| node.addr).collect();
    let ledger = ChatLedger::start_across(&addrs, 2, 2).await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Every connection of every node at once: the readers and the appenders reconnect.
        let killed = redis.kill_clients("normal");
        assert!(killed >= 2, "the nodes' connections: {killed}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.pause_clients(Duration::from_millis(700));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let report = ledger.settle(Duration::from_secs(15)).await;
    assert!(report.accepted > 0);
    assert_eq!(report.delivered, report.accepted * 4, "{report:?}");
    for node in &nodes {
        assert_eq!(metric(node, "ferrio_cluster_bus_gaps_total").await, 0.0);
        assert_eq!(metric(node, "ferrio_cluster_bus_dropped_total").await, 0.0);
    }
    stop_and_check_keys(nodes, &redis, "cutoff").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_skipped_and_gaps_counted_never_silent() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, "gaps", 1).await;
    let node = &nodes[0];
    let (_, mut client) = node.connected_websocket().await;
    let bus = "fio:{gaps}:bus";
    let entry = |seq: &str, text: &str| {
        let message = json!({"B": {"ns": "", "b": {"m": text}}}).to_string();
        redis
            .command(&["XADD", bus, "*", "n", "0f0f0f", "q", seq, "m", &message])
            .expect("XADD");
    };
    // Another node's entries, as if appended by it: 1, 2, 2 again (a retried append), then 6
    // (3 to 5 lost), then one that is no broadcast at all.
    entry("1", "one");
    entry("2", "two");
    entry("2", "two");
    entry("6", "six");
    redis
        .command(&["XADD", bus, "*", "n", "0f0f0f", "q", "7", "m", "not json"])
        .expect("XADD");
    entry("8", "eight");
    for text in ["one", "two", "six", "eight"] {
        assert_eq!(next(&mut client).await, format!("3:::{text}"));
    }
    assert_eq!(
        next_packet_within(&mut client, Duration::from_millis(300)).await,
        None
    );
    let metrics = node.metrics().await;
    assert_eq!(
        metrics.get("ferrio_cluster_bus_duplicates_total", &[]),
        Some(1.0)
    );
    assert_eq!(metrics.get("ferrio_cluster_bus_gaps_total", &[]), Some(1.0));
    assert_eq!(
        metrics.get("ferrio_cluster_bus_missed_total", &[]),
        Some(3.0)
    );
    assert_eq!(
        metrics.get("ferrio_cluster_bus_malformed_total", &[]),
        Some(1.0)
    );
    drop(client);
    stop_and_check_keys(nodes, &redis, "gaps").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_heals_the_registry_and_broadcasts_resume() {
    let mut redis = RedisServer::start();
    let nodes = nodes(&redis, "restart", 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let (_, mut on_b) = b.connected_websocket().await;
    a.hub.sockets().emit_args("before", vec![]);
    assert_eq!(next(&mut on_b).await, r#"5:::{"name":"before"}"#);
    // Down for a moment: what is broadcast meanwhile waits for Redis to come back.
    redis.stop();
    a.hub.sockets().emit_args("during", vec![]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.start_again();
    assert_eq!(
        next_packet_within(&mut on_b, Duration::from_secs(10))
            .await
            .as_deref(),
        Some(r#"5:::{"name":"during"}"#)
    );
    // The registry heals: both nodes registered again.
    for node in &nodes {
        node.metrics_until("the registry healed", Duration::from_secs(5), |metrics| {
            metrics.get("ferrio_cluster_nodes_live", &[]) == Some(2.0)
                && metrics.get("ferrio_cluster_redis_up", &[]) == Some(1.0)
        })
        .await;
    }
    a.hub.sockets().emit_args("after", vec![]);
    assert_eq!(next(&mut on_b).await, r#"5:::{"name":"after"}"#);
    assert!(metric(a, "ferrio_cluster_heartbeats_failed_total").await >= 1.0);
    assert_eq!(metric(b, "ferrio_cluster_bus_dropped_total").await, 0.0);
    drop(on_b);
    stop_and_check_keys(nodes, &redis, "restart").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_past_its_expiry_fences_itself() {
    let redis = RedisServer::start();
    let url = redis.url();
    let owned = node_args(
        &url,
        "fence",
        "chat",
        &[
            "--cluster-heartbeat",
            "1",
            "--cluster-node-ttl",
            "2",
            "--close-timeout",
            "30",
        ],
    );
    let args: Vec<&str> = owned.iter().map(String::as_str).collect();
    let (gateway, admin) = GatewayProcess::start_with_admin(BIN, &args, &[("FERRIO_LOG", "info")]);
    let sid = gateway.get("/socket.io/1/").await.text();
    let sid = sid_of(&sid);
    let node_before = sid[..6].to_owned();
    let first = gateway
        .get(&format!("/socket.io/1/xhr-polling/{sid}"))
        .await;
    assert_eq!(first.text(), "1::");
    gateway.signal("STOP");
    tokio::time::sleep(Duration::from_secs(4)).await;
    gateway.signal("CONT");
    // The session it held is gone, and it serves on under a new id.
    let stderr = retry_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        async || gateway.stderr(),
        |log: &String| log.contains("serving again under a new node id"),
    )
    .await
    .unwrap_or_else(|log| panic!("no fencing: {log}"));
    assert!(
        stderr.contains("stopped past the cluster's expiry"),
        "{stderr}"
    );
    let after = gateway
        .get(&format!("/socket.io/1/xhr-polling/{sid}"))
        .await;
    assert_eq!(after.text(), "7:::1+0", "the fenced session is unknown now");
    let fresh = gateway.get("/socket.io/1/").await.text();
    assert_ne!(fresh[..6], node_before, "a new node id");
    let metrics = get(admin, "/metrics").await.text();
    assert!(
        metrics.contains("ferrio_cluster_fenced_total 1"),
        "{metrics}"
    );
    let keys = redis.keys("fio:{fence}:node:*");
    assert_eq!(keys, vec![format!("fio:{{fence}}:node:{}", &fresh[..6])]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_shorter_than_its_expiry_catches_up_on_the_bus() {
    let redis = RedisServer::start();
    let url = redis.url();
    let owned = node_args(
        &url,
        "pause",
        "conformance",
        &["--cluster-heartbeat", "1", "--cluster-node-ttl", "4"],
    );
    let args: Vec<&str> = owned.iter().map(String::as_str).collect();
    let (paused, paused_admin) = GatewayProcess::start_with_admin(BIN, &args, &[]);
    let speaker = nodes(&redis, "pause", 1).await;
    let sid = paused.get("/socket.io/1/").await.text();
    let sid = sid_of(&sid);
    assert_eq!(paused.get(&xhr_path(&sid)).await.text(), "1::");
    // Stopped for 1.5 s, under the 4 s expiry, while 50 broadcasts go out elsewhere.
    paused.signal("STOP");
    for n in 0..50 {
        speaker[0].hub.sockets().emit_args("burst", vec![json!(n)]);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    paused.signal("CONT");
    let mut heard = Vec::new();
    while heard.len() < 50 {
        let answer = paused.get(&xhr_path(&sid)).await.text();
        for packet in packets_of(&answer) {
            if packet != "8::" {
                heard.push(packet);
            }
        }
    }
    let expected: Vec<String> = (0..50)
        .map(|n| format!(r#"5:::{{"name":"burst","args":[{n}]}}"#))
        .collect();
    assert_eq!(heard, expected, "every broadcast, once, in order");
    let metrics = get(paused_admin, "/metrics").await.text();
    assert!(
        metrics.contains("ferrio_cluster_fenced_total 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ferrio_cluster_bus_gaps_total 0"),
        "{metrics}"
    );
    drop(paused);
    for node in speaker {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_on_a_redis_cluster_share_a_chat() {
    let redis = ferrio_testkit::redis::RedisCluster::start(3);
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let config = clustered(short_timers(ServerConfig::default()), &redis.url(), "rc");
        let node = TestServer::start(config).await;
        ferrio_server::apps::install(AppKind::Chat, &node.hub);
        nodes.push(node);
    }
    for node in &nodes {
        node.metrics_until("two live nodes", Duration::from_secs(5), |metrics| {
            metrics.get("ferrio_cluster_nodes_live", &[]) == Some(2.0)
        })
        .await;
    }
    // A session minted by one node and taken over by the other, and a broadcast across.
    let addrs: Vec<_> = nodes.iter().map(|node| node.addr).collect();
    let ledger = ChatLedger::start_across(&addrs, 2, 2).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let report = ledger.settle(Duration::from_secs(10)).await;
    assert!(report.accepted > 0);
    assert_eq!(report.delivered, report.accepted * 4, "{report:?}");
    let sid = nodes[0].handshake().await;
    assert_eq!(nodes[1].get(&xhr_path(&sid)).await.text(), "1::");
    nodes[0].post_packets(&sid, ECHO_PING).await;
    assert_eq!(
        nodes[1].poll_packets(&sid).await,
        vec![ECHO_PING.to_owned()]
    );
    for node in nodes {
        node.stop().await;
    }
    let keys = redis.keys("fio:{rc}:*");
    assert_eq!(keys, vec!["fio:{rc}:bus".to_owned()], "keys left behind");
}

#[test]
fn a_node_that_cannot_reach_redis_refuses_to_start() {
    // A port bound and never listened on: a connection to it is refused, and no server
    // started meanwhile by another test can take it.
    let reserved = tokio::net::TcpSocket::new_v4().expect("socket");
    reserved
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let closed = reserved.local_addr().expect("address").port();
    let url = format!("redis://127.0.0.1:{closed}/");
    let base = ["--port", "0", "--admin-port", "0"];
    let (code, stderr, stdout) = run_to_exit(
        &[
            &base[..],
            &["--cluster-redis", &url, "--cluster-secret", SECRET],
        ]
        .concat(),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot reach the cluster's Redis"),
        "{stderr}"
    );
    assert!(
        !stdout.contains("listening"),
        "it never says it listens: {stdout}"
    );

    // A bad URL, or no secret: configuration errors, named, before anything is tried.
    let (code, stderr, _) = run_to_exit(&[&base[..], &["--cluster-redis", "http://nope"]].concat());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cluster_redis"), "{stderr}");
    let (code, stderr, _) = run_to_exit(&[&base[..], &["--cluster-redis", &url]].concat());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cluster_secret"), "{stderr}");

    // The link's port taken: refused, naming it.
    let redis = RedisServer::start();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken_addr = taken.local_addr().expect("addr").to_string();
    let url = redis.url();
    let (code, stderr, _) = run_to_exit(
        &[
            &base[..],
            &[
                "--cluster-redis",
                &url,
                "--cluster-secret",
                SECRET,
                "--cluster-listen",
                &taken_addr,
            ],
        ]
        .concat(),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cluster_listen"), "{stderr}");
}
