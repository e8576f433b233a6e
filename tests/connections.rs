//! Connection-level defences over real TCP, each with a crowd of healthy clients chatting
//! beside the attack that must lose nothing and keep its sessions: headers sent too slowly and
//! kept-alive connections left idle are closed at the header read timeout (while held polls
//! and open streams are not); the per-address and node connection caps answer `503` with
//! `Retry-After` before descriptors run out, the admin listener stays reachable, and service
//! resumes once the attacker lets go.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use ferrio_server::ServerConfig;
use ferrio_testkit::{
    HANDSHAKE_PATH, HttpResponse, LAST_CHUNK, TestServer, chunk, htmlfile_path, raw_exchange,
    read_for, read_response_head, read_until_closed, request_head, request_on, retry_until,
    status_code, status_line, within, xhr_path,
};
use http::Method;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// The most one test may take, whatever hangs.
const TEST_LIMIT: Duration = Duration::from_secs(30);

/// A gateway with the default configuration changed by `configure`.
async fn start(configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let mut config = ServerConfig::default();
    configure(&mut config);
    TestServer::start(config).await
}

/// A connection to `server` from the loopback address `from` (any of 127.0.0.0/8), so a test
/// can be a client address of its own.
async fn connect_from(server: SocketAddr, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    let local: IpAddr = from.parse().expect("loopback address");
    socket
        .bind(SocketAddr::new(local, 0))
        .expect("bind a loopback address");
    socket.connect(server).await.expect("connect")
}

/// A handshake sent over `stream`.
async fn handshake_on(stream: TcpStream, server: SocketAddr) -> HttpResponse {
    request_on(
        stream,
        &server.to_string(),
        Method::GET,
        HANDSHAKE_PATH,
        &[],
        Bytes::new(),
    )
    .await
}

/// How many connections `/metrics` says are open.
async fn open_connections(server: &TestServer) -> f64 {
    server.metrics().await.value("ferrio_connections_open", &[])
}

/// Whether `elapsed` is the one-second timeout of these tests, give or take the scheduling.
fn about_a_second(elapsed: Duration) -> bool {
    elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(2500)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_sent_too_slowly_are_cut_off_at_the_header_read_timeout() {
    within(TEST_LIMIT, async {
        let server = start(|config| {
            config.connections.header_read_timeout = Duration::from_secs(1);
        })
        .await;
        let crowd = server.crowd(2, 2).await;
        let started = Instant::now();
        let mut slow = Vec::new();
        for _ in 0..20 {
            let addr = server.addr;
            slow.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                let _ = stream
                    .write_all(b"GET /socket.io/1/?t=1 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .await;
                // A header byte every 200 ms: the connection is never idle, only slow.
                for _ in 0..25 {
                    if read_until_closed(&mut stream, Duration::from_millis(200))
                        .await
                        .is_some()
                        || stream.write_all(b"x").await.is_err()
                    {
                        return Some(started.elapsed());
                    }
                }
                None
            }));
        }
        for connection in slow {
            let closed = connection
                .await
                .expect("slow client")
                .expect("closed by the server");
            assert!(about_a_second(closed), "closed after {closed:?}");
        }
        server
            .metrics_until(
                "header timeouts counted",
                Duration::from_secs(2),
                |metrics| {
                    metrics.value("ferrio_connection_timeouts_total", &[("kind", "header")]) >= 20.0
                },
            )
            .await;
        // A fresh handshake is served.
        server.handshake().await;
        let report = crowd.finish().await;
        assert!(report.delivered > 0, "{report:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_but_a_held_poll_and_a_stream_are_not() {
    within(TEST_LIMIT, async {
        let server = start(|config| {
            config.connections.header_read_timeout = Duration::from_secs(1);
            config.hub.polling_duration = Duration::from_secs(2);
        })
        .await;
        let crowd = server.crowd(2, 2).await;
        let host = server.addr.to_string();

        // A connection that never sends a byte.
        let mut silent = TcpStream::connect(server.addr).await.expect("connect");
        let started = Instant::now();
        assert!(
            read_until_closed(&mut silent, Duration::from_secs(3))
                .await
                .is_some()
        );
        let waited = started.elapsed();
        assert!(
            about_a_second(waited),
            "a silent connection closed after {waited:?}"
        );

        // A poll held past the timeout is answered on its connection, which is then kept
        // alive for the timeout again and closed when idle.
        let sid = server.connected_polling_session().await;
        let mut polling = TcpStream::connect(server.addr).await.expect("connect");
        let poll = request_head("GET", &xhr_path(&sid), &[("Host", host.as_str())]);
        polling.write_all(poll.as_bytes()).await.expect("poll");
        let started = Instant::now();
        let answer = read_response_head(&mut polling, Duration::from_secs(4))
            .await
            .expect("the held poll is answered");
        assert_eq!(answer.status, 200, "{}", answer.head);
        assert!(started.elapsed() >= Duration::from_millis(1900));
        let idle_from = Instant::now();
        assert!(
            read_until_closed(&mut polling, Duration::from_secs(3))
                .await
                .is_some()
        );
        let idle = idle_from.elapsed();
        assert!(
            about_a_second(idle),
            "the idle kept-alive connection closed after {idle:?}"
        );

        // An open stream is not waiting for a request either.
        let stream_sid = server.handshake().await;
        let mut stream = server.open_stream(&htmlfile_path(&stream_sid)).await;
        assert!(!stream.closed_within(Duration::from_millis(2500)).await);
        server.assert_polling_echo(&sid).await;

        server
            .metrics_until("idle closes counted", Duration::from_secs(2), |metrics| {
                metrics.value("ferrio_connection_timeouts_total", &[("kind", "header")]) >= 2.0
            })
            .await;
        crowd.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_is_capped_without_touching_the_others() {
    within(TEST_LIMIT, async {
        let server = start(|config| {
            config.connections.max_connections_per_address = Some(10);
        })
        .await;
        // The crowd connects from 127.0.0.1, six connections; the attacker from 127.0.0.2.
        let crowd = server.crowd(2, 2).await;
        let mut held = Vec::new();
        for _ in 0..10 {
            held.push(connect_from(server.addr, "127.0.0.2").await);
        }
        let refused = handshake_on(connect_from(server.addr, "127.0.0.2").await, server.addr).await;
        assert_eq!(refused.status, 503, "{}", refused.text());
        assert_eq!(refused.header("retry-after"), Some("5"));
        assert_eq!(refused.header("connection"), Some("close"));
        // Another address is served.
        let other = handshake_on(connect_from(server.addr, "127.0.0.3").await, server.addr).await;
        assert_eq!(other.status, 200, "{}", other.text());
        let metrics = server.metrics().await;
        assert!(metrics.value("ferrio_connections_refused_total", &[("limit", "address")]) >= 1.0);
        // Letting go frees the address's places.
        drop(held);
        let served = retry_until(
            Duration::from_secs(3),
            Duration::from_millis(50),
            async || handshake_on(connect_from(server.addr, "127.0.0.2").await, server.addr).await,
            |response| response.status == 200,
        )
        .await;
        assert!(served.is_ok(), "the address is served again: {served:?}");
        crowd.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_node_cap_new_connections_get_503_and_the_admin_listener_still_answers() {
    within(TEST_LIMIT, async {
        const CAP: usize = 60;
        let server = start(|config| {
            config.connections.max_connections = Some(CAP);
            config.connections.max_connections_per_address = None;
        })
        .await;
        let crowd = server.crowd(2, 2).await;
        // The attacker takes every place left, with connections that never send a byte.
        let mut held = Vec::new();
        while (open_connections(&server).await as usize) < CAP {
            held.push(connect_from(server.addr, "127.0.0.4").await);
            assert!(held.len() <= CAP, "more connections open than the cap");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            held.len() > CAP / 2,
            "the crowd holds few places: {}",
            held.len()
        );
        let refused = within(Duration::from_secs(3), server.get(HANDSHAKE_PATH)).await;
        assert_eq!(refused.status, 503, "{}", refused.text());
        assert_eq!(refused.header("retry-after"), Some("5"));
        let health = server.admin_get("/healthz").await;
        assert_eq!(health.status, 200);
        let metrics = server.metrics().await;
        assert_eq!(metrics.value("ferrio_connections_limit", &[]), CAP as f64);
        assert!(metrics.value("ferrio_connections_refused_total", &[("limit", "node")]) >= 1.0);
        // The attacker lets go: service resumes.
        drop(held);
        let served = retry_until(
            Duration::from_secs(3),
            Duration::from_millis(50),
            async || server.get(HANDSHAKE_PATH).await,
            |response| response.status == 200,
        )
        .await;
        assert!(served.is_ok(), "handshakes are served again: {served:?}");
        crowd.finish().await;
    })
    .await;
}

/// The bodies of the complete responses at the start of `raw`, in order.
fn response_bodies(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    text.split("HTTP/1.1 ")
        .filter(|response| !response.is_empty())
        .map(|response| {
            let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response, ""));
            assert!(head.starts_with("200 OK"), "{text}");
            body.to_owned()
        })
        .collect()
}

/// Plain requests are served back to back on one connection, pipelined ones in order; the
/// first request the lean connection leaves to hyper (a chunked POST) hands the connection
/// over, bytes already read included, and hyper serves the rest of it. A crowd chats beside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order_and_a_chunked_post_hands_the_connection_on() {
    within(TEST_LIMIT, async {
        let server = start(|_| {}).await;
        let crowd = server.crowd(2, 2).await;
        let host = server.addr.to_string();
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        let handshake = request_head("GET", HANDSHAKE_PATH, &[("Host", host.as_str())]);
        stream
            .write_all(format!("{handshake}{handshake}").as_bytes())
            .await
            .expect("two handshakes in one write");
        // Both answers come at once: what arrives within half a second is all there is.
        let raw = read_for(&mut stream, Duration::from_millis(500)).await;
        let sids: Vec<String> = response_bodies(&raw)
            .iter()
            .map(|body| body.split(':').next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(sids.len(), 2);
        assert_ne!(sids[0], sids[1], "two sessions");

        let post = request_head(
            "POST",
            &xhr_path(&sids[0]),
            &[
                ("Host", host.as_str()),
                ("Content-Type", "text/plain"),
                ("Transfer-Encoding", "chunked"),
            ],
        );
        let body = [chunk(b"3:::hello"), LAST_CHUNK.to_vec()].concat();
        stream.write_all(post.as_bytes()).await.expect("post");
        stream.write_all(&body).await.expect("post body");
        stream
            .write_all(handshake.as_bytes())
            .await
            .expect("handshake");
        let raw = read_for(&mut stream, Duration::from_millis(500)).await;
        let bodies = response_bodies(&raw);
        assert_eq!(bodies.len(), 2, "{}", String::from_utf8_lossy(&raw));
        assert_eq!(bodies[0], "1", "the chunked POST is answered by hyper");
        assert_eq!(
            bodies[1].split(':').count(),
            4,
            "a handshake: {}",
            bodies[1]
        );
        crowd.finish().await;
    })
    .await;
}

/// What is not an HTTP request gets `400`, a head longer than 128 KiB gets `431`, each on its
/// own connection, which then closes; the gateway goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_request_heads_are_refused_and_the_gateway_goes_on() {
    within(TEST_LIMIT, async {
        let server = start(|_| {}).await;
        let crowd = server.crowd(2, 2).await;

        let mut garbage = TcpStream::connect(server.addr).await.expect("connect");
        let answer = raw_exchange(&mut garbage, b"\x01\x02 NOT HTTP\r\n\r\n", TEST_LIMIT).await;
        assert_eq!(status_code(&status_line(&answer)), 400, "{answer:?}");

        // Exactly the limit, without the blank line that would end the head: every byte sent
        // is read, so the connection closes cleanly behind the answer.
        let mut huge = TcpStream::connect(server.addr).await.expect("connect");
        let mut head = b"GET / HTTP/1.1\r\nX-Filler: ".to_vec();
        head.resize(128 * 1024, b'a');
        let answer = raw_exchange(&mut huge, &head, TEST_LIMIT).await;
        assert_eq!(status_code(&status_line(&answer)), 431, "{answer:?}");

        let handshake = server.get(HANDSHAKE_PATH).await;
        assert_eq!(handshake.status, 200);
        crowd.finish().await;
    })
    .await;
}
