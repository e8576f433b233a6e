//! Admission control over real TCP (issue #6): the node's session limit and handshake rate
//! limits (node-wide and per address) answered with `503` and `Retry-After` and counted in
//! the metrics; POST body and WebSocket message limits; the origins allow-list. Every refusal
//! leaves the sessions already there working.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use ferrio_hub::{DisconnectReason, Origins, Rate};
use ferrio_testkit::{
    HANDSHAKE_PATH, HttpResponse, TestServer, any_disconnect, assert_websocket_echo, disconnected,
    echo_of_length, next_packet_within, request_on, retry_until, send_text, status_code,
    status_line, within, xhr_path,
};
use http::Method;
use tokio::net::TcpSocket;

const WAIT: Duration = Duration::from_secs(3);
/// The most one test may take, whatever hangs.
const TEST_LIMIT: Duration = Duration::from_secs(15);
const POLL_WAIT: Duration = Duration::from_secs(5);

/// A handshake request sent from the local address `from` (any of 127.0.0.0/8).
async fn handshake_from(server: &TestServer, from: IpAddr) -> HttpResponse {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(from, 0))
        .expect("bind a loopback address");
    let stream = socket.connect(server.addr).await.expect("connect");
    request_on(
        stream,
        &server.addr.to_string(),
        Method::GET,
        HANDSHAKE_PATH,
        &[],
        Bytes::new(),
    )
    .await
}

/// Checks a refusal is the `503` of admission control.
fn assert_unavailable(response: &HttpResponse, what: &str) {
    assert_eq!(response.status, 503, "{what}: {}", response.text());
    assert_eq!(response.header("retry-after"), Some("5"), "{what}");
    assert_eq!(
        response.header("content-type"),
        Some("text/plain"),
        "{what}"
    );
    assert!(!response.text().is_empty(), "{what}: a reason is given");
}

// ---------------------------------------------------------------------------------------------
// Sessions per node

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_sessions_refuses_with_503_until_a_slot_is_freed() {
    within(TEST_LIMIT, async {
        let server =
            TestServer::start_short_timers_with(|config| config.hub.max_sessions = Some(2)).await;
        let polling = server.connected_polling_session().await;
        let (ws_sid, mut ws) = server.connected_websocket().await;
        for _ in 0..5 {
            let refused = server.get(HANDSHAKE_PATH).await;
            assert_unavailable(&refused, "third session");
        }
        // JSONP handshakes are refused too, as a script error.
        let jsonp = server.get("/socket.io/1/?t=1&jsonp=0").await;
        assert_eq!(jsonp.status, 200);
        assert!(
            jsonp.text().starts_with("io.j[0](new Error("),
            "{}",
            jsonp.text()
        );
        let metrics = server
            .metrics_until("five full refusals", WAIT, |m| {
                m.value("ferrio_handshakes_total", &[("outcome", "full")]) == 6.0
            })
            .await;
        assert_eq!(
            metrics.value("ferrio_handshakes_total", &[("outcome", "accepted")]),
            2.0
        );
        // The sessions there keep working.
        server.assert_polling_echo(&polling).await;
        assert_websocket_echo(&mut ws).await;
        // The websocket session leaves; its slot admits a new session.
        ws.close(None).await.expect("close");
        server
            .assert_observed(WAIT, disconnected(&ws_sid, DisconnectReason::SocketClose))
            .await;
        let admitted = retry_until(
            WAIT,
            Duration::from_millis(50),
            async || server.get(HANDSHAKE_PATH).await,
            |response| response.status == 200,
        )
        .await
        .unwrap_or_else(|last| last);
        assert_eq!(admitted.status, 200, "{}", admitted.text());
        // A handshake holds no slot until its transport connects it.
        assert_eq!(server.get(HANDSHAKE_PATH).await.status, 200);
        let sid = admitted
            .text()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(server.poll(&sid).await, "1::");
        assert_unavailable(&server.get(HANDSHAKE_PATH).await, "full again");
        // A forced disconnect frees a slot at once.
        let forced = server
            .get(&format!("/socket.io/1/xhr-polling/{polling}?disconnect"))
            .await;
        assert_eq!(forced.status, 200);
        assert_eq!(server.get(HANDSHAKE_PATH).await.status, 200);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Handshake rates

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_rate_limit_refuses_the_flood_and_counts_it() {
    within(TEST_LIMIT, async {
        let server = TestServer::start_short_timers_with(|config| {
            // A burst of 3, then one every 10 s.
            config.hub.handshake_rate = Some(Rate::new(0.1, 3));
        })
        .await;
        let sid = server.handshake().await;
        assert_eq!(server.poll_packets_within(&sid, POLL_WAIT).await, ["1::"]);
        assert_eq!(server.get(HANDSHAKE_PATH).await.status, 200);
        assert_eq!(server.get(HANDSHAKE_PATH).await.status, 200);
        for _ in 0..20 {
            assert_unavailable(&server.get(HANDSHAKE_PATH).await, "over the node rate");
        }
        // Other addresses share the node's budget.
        let other = handshake_from(&server, "127.0.0.2".parse().expect("ip")).await;
        assert_unavailable(&other, "over the node rate, another address");
        let metrics = server
            .metrics_until("21 rate-limited handshakes", WAIT, |m| {
                m.value("ferrio_handshakes_total", &[("outcome", "rate_limited")]) == 21.0
            })
            .await;
        assert_eq!(
            metrics.value("ferrio_handshakes_total", &[("outcome", "accepted")]),
            3.0
        );
        assert_eq!(
            metrics.value(
                "ferrio_handshakes_total",
                &[("outcome", "rate_limited_address")]
            ),
            0.0
        );
        // The flood harmed no session.
        server.assert_polling_echo(&sid).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_rate_limit_refills_over_time() {
    within(TEST_LIMIT, async {
        let server = TestServer::start_short_timers_with(|config| {
            config.hub.handshake_rate = Some(Rate::new(4.0, 1));
        })
        .await;
        assert_eq!(server.get(HANDSHAKE_PATH).await.status, 200);
        assert_unavailable(&server.get(HANDSHAKE_PATH).await, "burst of one used");
        // One token every 250 ms.
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(server.get(HANDSHAKE_PATH).await.status, 200);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_address_rate_limit_refuses_one_address_not_others() {
    within(TEST_LIMIT, async {
        let server = TestServer::start_short_timers_with(|config| {
            config.hub.handshake_rate_per_address = Some(Rate::new(0.1, 2));
        })
        .await;
        let sid = server.connected_polling_session().await;
        assert_eq!(server.get(HANDSHAKE_PATH).await.status, 200);
        for _ in 0..10 {
            assert_unavailable(&server.get(HANDSHAKE_PATH).await, "over the address rate");
        }
        // Another address has its own budget.
        let other: IpAddr = "127.0.0.3".parse().expect("ip");
        assert_eq!(handshake_from(&server, other).await.status, 200);
        assert_eq!(handshake_from(&server, other).await.status, 200);
        assert_unavailable(
            &handshake_from(&server, other).await,
            "other address, third",
        );
        let metrics = server
            .metrics_until("11 address-limited handshakes", WAIT, |m| {
                m.value(
                    "ferrio_handshakes_total",
                    &[("outcome", "rate_limited_address")],
                ) == 11.0
            })
            .await;
        assert_eq!(
            metrics.value("ferrio_handshakes_total", &[("outcome", "rate_limited")]),
            0.0
        );
        assert_eq!(
            metrics.value("ferrio_handshakes_total", &[("outcome", "accepted")]),
            4.0
        );
        server.assert_polling_echo(&sid).await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Body and message limits

/// A POST over raw TCP whose body is sent chunked in chunks of 512 bytes (no
/// `Content-Length`), so the limit can only be found while it streams in; returns the status
/// of the answer (0 when none came).
async fn chunked_post(server: &TestServer, path: &str, body: &[u8]) -> u16 {
    let answer = server
        .post_chunked(path, body.chunks(512), Duration::from_secs(2))
        .await;
    status_code(&status_line(&answer))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_flood_over_the_body_limit_gets_413_while_others_keep_working() {
    within(TEST_LIMIT, async {
        let server =
            TestServer::start_short_timers_with(|config| config.post.max_body_bytes = 1024).await;
        let flooder = server.connected_polling_session().await;
        let bystander = server.connected_polling_session().await;
        let (_, mut ws) = server.connected_websocket().await;
        let oversize = echo_of_length(1025);
        let flood = (0..30).map(|_| {
            let addr = server.addr;
            let path = xhr_path(&flooder);
            let body = oversize.clone();
            tokio::spawn(async move {
                ferrio_testkit::request(
                    addr,
                    Method::POST,
                    &path,
                    &[("content-type", "text/plain;charset=UTF-8")],
                    body,
                )
                .await
                .status
            })
        });
        let flood: Vec<_> = flood.collect();
        // While the flood goes on, the others are served.
        server.assert_polling_echo(&bystander).await;
        assert_websocket_echo(&mut ws).await;
        for request in flood {
            let status = tokio::time::timeout(WAIT, request)
                .await
                .expect("answered")
                .expect("request task");
            assert_eq!(status, 413);
        }
        // Much larger, and without a Content-Length.
        for _ in 0..3 {
            assert_eq!(
                chunked_post(&server, &xhr_path(&flooder), &vec![b'a'; 64 * 1024]).await,
                413
            );
        }
        // Exactly at the limit is fine, and the flooder's session was not harmed.
        let at_limit = echo_of_length(1024);
        server.post_packets(&flooder, &at_limit).await;
        assert_eq!(
            server.poll_packets_within(&flooder, POLL_WAIT).await,
            [at_limit]
        );
        server.assert_polling_echo(&bystander).await;
        assert_websocket_echo(&mut ws).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_message_over_the_limit_ends_only_that_session() {
    within(TEST_LIMIT, async {
        let server =
            TestServer::start_short_timers_with(|config| config.websocket.max_message_bytes = 1024)
                .await;
        let (big_sid, mut big) = server.connected_websocket().await;
        let (_, mut other) = server.connected_websocket().await;
        let polling = server.connected_polling_session().await;
        let at_limit = echo_of_length(1024);
        send_text(&mut big, &at_limit).await;
        assert_eq!(
            next_packet_within(&mut big, WAIT).await.as_deref(),
            Some(at_limit.as_str())
        );
        send_text(&mut big, &echo_of_length(4096)).await;
        assert_eq!(
            next_packet_within(&mut big, WAIT).await,
            None,
            "the connection ends"
        );
        server.assert_observed(WAIT, any_disconnect(&big_sid)).await;
        assert_websocket_echo(&mut other).await;
        server.assert_polling_echo(&polling).await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Origins

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origins_allow_list_refuses_with_403() {
    within(TEST_LIMIT, async {
        let server = TestServer::start_short_timers_with(|config| {
            config.hub.origins = "good.example:*,*:8443".parse::<Origins>().expect("origins");
        })
        .await;
        for (origin, referer) in [
            (Some("http://evil.example"), None),
            (Some("https://good.example.evil.example"), None),
            (Some("null"), None),
            (None, Some("http://evil.example/page")),
            (None, None),
        ] {
            let mut headers = Vec::new();
            if let Some(origin) = origin {
                headers.push(("origin", origin));
            }
            if let Some(referer) = referer {
                headers.push(("referer", referer));
            }
            let refused = server
                .request(Method::GET, HANDSHAKE_PATH, &headers, Bytes::new())
                .await;
            assert_eq!(refused.status, 403, "{headers:?}: {}", refused.text());
            assert_eq!(
                refused.header("access-control-allow-origin"),
                None,
                "{headers:?}"
            );
        }
        for origin in [
            "http://good.example",
            "https://good.example:9000",
            "http://any.example:8443",
        ] {
            let accepted = server
                .request(
                    Method::GET,
                    HANDSHAKE_PATH,
                    &[("origin", origin)],
                    Bytes::new(),
                )
                .await;
            assert_eq!(accepted.status, 200, "{origin}: {}", accepted.text());
            assert_eq!(accepted.header("access-control-allow-origin"), Some(origin));
        }
        let by_referer = server
            .request(
                Method::GET,
                HANDSHAKE_PATH,
                &[("referer", "http://good.example/chat.html")],
                Bytes::new(),
            )
            .await;
        assert_eq!(by_referer.status, 200);
        let metrics = server
            .metrics_until("five bad origins", WAIT, |m| {
                m.value("ferrio_handshakes_total", &[("outcome", "bad_origin")]) == 5.0
            })
            .await;
        assert_eq!(
            metrics.value("ferrio_handshakes_total", &[("outcome", "accepted")]),
            4.0
        );
    })
    .await;
}
