//! The admin listener over real TCP (issue #6): Prometheus metrics, `/healthz`, `/readyz`
//! with the drain, the bearer-token publish API (`/api/emit`, `/api/disconnect`,
//! `/api/stats`) delivering to polling and websocket clients, and the dashboard (`/dashboard`
//! and `/api/dashboard`).

use std::time::{Duration, Instant};

use ferrio_hub::{DisconnectReason, Origins};
use ferrio_server::{AdminConfig, ServerConfig};
use ferrio_testkit::{
    Backend, BackendReply, ECHO_PING, Metrics, TestServer, WsClient, any_disconnect,
    assert_websocket_echo, captured_logs, disconnected, next_packet_within, numeric_field,
    retry_until, send_text, within, xhr_path,
};
use ferrio_webhooks::WebhookConfig;
use http::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// How long something that should happen at once may take.
const WAIT: Duration = Duration::from_secs(3);
/// The most one test may take, whatever hangs.
const TEST_LIMIT: Duration = Duration::from_secs(15);
/// Longer than a poll stays open with the short timers (2 s).
const POLL_WAIT: Duration = Duration::from_secs(5);
const TOKEN: &str = "s3cret-token";
/// The pause between two reads of `/api/stats` while waiting for it to change.
const STATS_PAUSE: Duration = Duration::from_millis(20);

/// The line a failed API authorization logs.
const AUTH_FAILURE_LINE: &str = "publish API call without a valid token";

/// Held by the tests that fail API authorizations, so the one that counts the failures and
/// their log lines sees only its own: both are kept per process.
static FAILING_AUTH: Mutex<()> = Mutex::const_new(());

/// A gateway with the short timers, the publish API on with [`TOKEN`], and `configure`. The
/// process's log is kept from the first gateway on, so that every failure line is seen.
async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
    captured_logs();
    TestServer::start_short_timers_with(|config| {
        config.admin = Some(AdminConfig {
            addr: "127.0.0.1:0".parse().expect("address"),
            api_token: Some(TOKEN.to_owned()),
        });
        configure(config);
    })
    .await
}

async fn start() -> TestServer {
    start_with(|_| {}).await
}

/// A session on the websocket transport, checked to get `1::`.
async fn websocket_session(server: &TestServer) -> (String, WsClient) {
    tokio::time::timeout(WAIT, server.connected_websocket())
        .await
        .expect("websocket session")
}

async fn emit(server: &TestServer, body: Value) -> ferrio_testkit::HttpResponse {
    server
        .api(Method::POST, "/api/emit", Some(TOKEN), &body.to_string())
        .await
}

/// `GET path` of the API with the right token, checked to be `200`, as JSON.
async fn api_json(server: &TestServer, path: &str) -> Value {
    let response = server.api(Method::GET, path, Some(TOKEN), "").await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    response.json()
}

/// Reads `GET path` of the API until `check` holds; panics with `what` and the last answer
/// after [`WAIT`]. Gives back the answer that passed.
async fn api_json_until(
    server: &TestServer,
    path: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    retry_until(
        WAIT,
        STATS_PAUSE,
        async || api_json(server, path).await,
        check,
    )
    .await
    .unwrap_or_else(|last| panic!("{what}: {last}"))
}

/// `GET /api/stats` with the right token, as JSON.
async fn stats(server: &TestServer) -> Value {
    api_json(server, "/api/stats").await
}

/// Reads `/api/stats` until `check` holds; panics with `what` and the last stats after
/// [`WAIT`].
async fn stats_until(server: &TestServer, what: &str, check: impl Fn(&Value) -> bool) {
    api_json_until(server, "/api/stats", what, check).await;
}

// ---------------------------------------------------------------------------------------------
// /metrics

const FAMILIES: [(&str, &str); 15] = [
    ("ferrio_sessions", "gauge"),
    ("ferrio_sessions_by_generation", "gauge"),
    ("ferrio_buffered_packets", "gauge"),
    ("ferrio_buffered_bytes", "gauge"),
    ("ferrio_packets_refused_total", "counter"),
    ("ferrio_handshakes_total", "counter"),
    ("ferrio_packets_in_total", "counter"),
    ("ferrio_packets_out_total", "counter"),
    ("ferrio_bytes_in_total", "counter"),
    ("ferrio_bytes_out_total", "counter"),
    ("ferrio_disconnects_total", "counter"),
    ("ferrio_origin_refusals_total", "counter"),
    ("ferrio_events_reserved_dropped_total", "counter"),
    ("ferrio_events_invalid_arguments_total", "counter"),
    ("ferrio_admin_auth_failures_total", "counter"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_every_family_in_prometheus_text() {
    within(TEST_LIMIT, async {
        let server = start().await;
        let metrics = server.metrics().await;
        for (family, kind) in FAMILIES {
            assert_eq!(metrics.kind(family), Some(kind), "family {family}");
            assert!(
                !metrics.families[family].1.is_empty(),
                "{family} has a HELP text"
            );
            assert!(
                !metrics.samples_of(family).is_empty(),
                "{family} has samples before any traffic"
            );
        }
        for sample in &metrics.samples {
            assert!(sample.name.starts_with("ferrio_"), "{}", sample.name);
        }
        for outcome in [
            "accepted",
            "bad_origin",
            "unauthorized",
            "unavailable",
            "full",
            "rate_limited",
            "rate_limited_address",
        ] {
            assert_eq!(
                metrics.get("ferrio_handshakes_total", &[("outcome", outcome)]),
                Some(0.0),
                "handshakes {outcome} starts at 0"
            );
        }
        for transport in ["none", "websocket", "xhr-polling", "jsonp-polling"] {
            assert_eq!(
                metrics.get("ferrio_sessions", &[("transport", transport)]),
                Some(0.0),
                "sessions {transport}"
            );
        }
        for generation in ["0.9", "eio3", "eio4"] {
            assert_eq!(
                metrics.get(
                    "ferrio_sessions_by_generation",
                    &[("generation", generation)]
                ),
                Some(0.0),
                "sessions {generation}"
            );
        }
        assert_eq!(metrics.get("ferrio_buffered_packets", &[]), Some(0.0));
        for reason in ["booted", "close timeout", "socket close", "server shutdown"] {
            assert_eq!(
                metrics.get("ferrio_disconnects_total", &[("reason", reason)]),
                Some(0.0),
                "disconnects {reason}"
            );
        }
        assert_eq!(
            metrics.kind("ferrio_webhook_calls_total"),
            None,
            "no webhook metrics without webhooks"
        );
        // The allocator's figures: the gateway holds memory, and RAM holds at least that.
        assert_eq!(metrics.kind("ferrio_allocator_bytes"), Some("gauge"));
        let allocated = metrics.value("ferrio_allocator_bytes", &[("kind", "allocated")]);
        let resident = metrics.value("ferrio_allocator_bytes", &[("kind", "resident")]);
        assert!(allocated > 0.0, "allocated {allocated}");
        assert!(
            resident >= allocated,
            "resident {resident} < allocated {allocated}"
        );
        for kind in ["active", "metadata", "retained"] {
            assert!(
                metrics
                    .get("ferrio_allocator_bytes", &[("kind", kind)])
                    .is_some(),
                "allocator {kind}"
            );
        }
        // HEAD answers without a body.
        let head = server
            .admin(Method::HEAD, "/metrics", &[], bytes::Bytes::new())
            .await;
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        // Unknown admin paths are 404.
        assert_eq!(server.admin_get("/nope").await.status, 404);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_and_polling_traffic_move_the_counters() {
    within(TEST_LIMIT, async {
        let server = start().await;
        let sid = server.handshake().await;
        let metrics = server
            .metrics_until("an accepted handshake", WAIT, |m| {
                m.value("ferrio_handshakes_total", &[("outcome", "accepted")]) == 1.0
            })
            .await;
        assert_eq!(
            metrics.value("ferrio_sessions", &[("transport", "none")]),
            1.0,
            "a session without a transport yet"
        );
        assert_eq!(
            metrics.value("ferrio_sessions_by_generation", &[("generation", "0.9")]),
            1.0,
            "a 0.9 handshake"
        );
        assert_eq!(
            metrics.value("ferrio_sessions_by_generation", &[("generation", "eio4")]),
            0.0
        );
        assert_eq!(server.poll_packets_within(&sid, POLL_WAIT).await, ["1::"]);
        let metrics = server
            .metrics_until("the session on xhr-polling", WAIT, |m| {
                m.value("ferrio_sessions", &[("transport", "xhr-polling")]) == 1.0
            })
            .await;
        assert_eq!(
            metrics.value("ferrio_sessions", &[("transport", "none")]),
            0.0
        );
        assert_eq!(
            metrics.value(
                "ferrio_packets_out_total",
                &[("transport", "xhr-polling"), ("type", "connect")]
            ),
            1.0
        );
        assert_eq!(
            metrics.value("ferrio_bytes_out_total", &[("transport", "xhr-polling")]),
            3.0,
            "`1::` is 3 bytes"
        );
        // An event in: counted by type and transport, with its bytes.
        server.post_packets(&sid, ECHO_PING).await;
        server
            .metrics_until("the event in", WAIT, |m| {
                m.value(
                    "ferrio_packets_in_total",
                    &[("transport", "xhr-polling"), ("type", "event")],
                ) == 1.0
                    && m.value("ferrio_bytes_in_total", &[("transport", "xhr-polling")])
                        == ECHO_PING.len() as f64
            })
            .await;
        // A message in, counted under its own type.
        server.post_packets(&sid, "3:::hello").await;
        // Both answers wait in the outbox until the next poll.
        server
            .metrics_until("two buffered packets", WAIT, |m| {
                m.value("ferrio_buffered_packets", &[]) == 2.0
            })
            .await;
        // The echo and the message come back out.
        let mut out = Vec::new();
        while out.len() < 2 {
            let packets = server.poll_packets_within(&sid, POLL_WAIT).await;
            assert!(!packets.is_empty());
            out.extend(packets);
        }
        assert_eq!(out, [ECHO_PING, "3:::hello"]);
        let metrics = server
            .metrics_until("the packets out", WAIT, |m| {
                m.value(
                    "ferrio_packets_out_total",
                    &[("transport", "xhr-polling"), ("type", "event")],
                ) == 1.0
            })
            .await;
        assert_eq!(metrics.value("ferrio_buffered_packets", &[]), 0.0);
        assert_eq!(
            metrics.value(
                "ferrio_packets_in_total",
                &[("transport", "xhr-polling"), ("type", "message")]
            ),
            1.0
        );
        assert_eq!(
            metrics.value(
                "ferrio_packets_out_total",
                &[("transport", "xhr-polling"), ("type", "message")]
            ),
            1.0
        );
        assert_eq!(
            metrics.value("ferrio_bytes_out_total", &[("transport", "xhr-polling")]),
            (3 + ECHO_PING.len() + "3:::hello".len()) as f64
        );
        assert_eq!(
            metrics.sum("ferrio_packets_in_total", &[("transport", "websocket")]),
            0.0,
            "nothing on other transports"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_session_is_counted_by_transport_and_its_close_by_reason() {
    within(TEST_LIMIT, async {
        let server = start().await;
        let (sid, mut ws) = websocket_session(&server).await;
        server
            .metrics_until("a websocket session", WAIT, |m| {
                m.value("ferrio_sessions", &[("transport", "websocket")]) == 1.0
            })
            .await;
        assert_websocket_echo(&mut ws).await;
        let metrics = server
            .metrics_until("websocket packets", WAIT, |m| {
                m.value(
                    "ferrio_packets_in_total",
                    &[("transport", "websocket"), ("type", "event")],
                ) == 1.0
                    && m.value(
                        "ferrio_packets_out_total",
                        &[("transport", "websocket"), ("type", "event")],
                    ) == 1.0
            })
            .await;
        assert_eq!(
            metrics.value("ferrio_bytes_in_total", &[("transport", "websocket")]),
            ECHO_PING.len() as f64
        );
        assert!(metrics.value("ferrio_bytes_out_total", &[("transport", "websocket")]) >= 3.0);
        ws.close(None).await.expect("close frame");
        server
            .assert_observed(WAIT, disconnected(&sid, DisconnectReason::SocketClose))
            .await;
        server
            .metrics_until("the close counted", WAIT, |m| {
                m.value("ferrio_disconnects_total", &[("reason", "socket close")]) == 1.0
                    && m.value("ferrio_sessions", &[("transport", "websocket")]) == 0.0
            })
            .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_origin_is_counted() {
    within(TEST_LIMIT, async {
        let server = start_with(|config| {
            config.hub.origins = "good.example:*".parse::<Origins>().expect("origins");
        })
        .await;
        let refused = server
            .request(
                Method::GET,
                "/socket.io/1/?t=1",
                &[("origin", "http://evil.example")],
                bytes::Bytes::new(),
            )
            .await;
        assert_eq!(refused.status, 403);
        server.handshake_from_origin("http://good.example").await;
        let metrics = server
            .metrics_until("the refused origin", WAIT, |m| {
                m.value("ferrio_handshakes_total", &[("outcome", "bad_origin")]) == 1.0
            })
            .await;
        assert_eq!(
            metrics.value("ferrio_handshakes_total", &[("outcome", "accepted")]),
            1.0
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnects_are_counted_by_reason() {
    within(TEST_LIMIT, async {
        let server = start().await;
        // The client says goodbye: booted.
        let leaver = server.connected_polling_session().await;
        server.post_packets(&leaver, "0::").await;
        // The application kicking a socket is booted too; a websocket close is socket close.
        let (_, mut ws) = websocket_session(&server).await;
        send_text(&mut ws, r#"5:::{"name":"kick","args":[]}"#).await;
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some("0::")
        );
        let (_, mut closer) = websocket_session(&server).await;
        closer.close(None).await.expect("close frame");
        server
            .metrics_until("booted twice, socket close once", WAIT, |m| {
                m.value("ferrio_disconnects_total", &[("reason", "booted")]) == 2.0
                    && m.value("ferrio_disconnects_total", &[("reason", "socket close")]) == 1.0
            })
            .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_metrics_are_present_when_webhooks_are_on() {
    within(TEST_LIMIT, async {
        let backend = Backend::start(|_, _| BackendReply::json("[]")).await;
        let url = backend.url("/hook");
        let server = start_with(move |config| {
            config.webhooks = Some(WebhookConfig::new(url, vec!["order".to_owned()]));
        })
        .await;
        let metrics = server.metrics().await;
        assert_eq!(metrics.kind("ferrio_webhook_calls_total"), Some("counter"));
        assert_eq!(
            metrics.kind("ferrio_webhook_duration_seconds"),
            Some("histogram")
        );
        assert_eq!(
            metrics.get(
                "ferrio_webhook_calls_total",
                &[("kind", "event"), ("outcome", "ok")]
            ),
            Some(0.0)
        );
        let sid = server.connected_polling_session().await;
        server
            .post_packets(&sid, r#"5:::{"name":"order","args":[1]}"#)
            .await;
        assert_eq!(backend.wait_for(1, WAIT, |_| true).await.len(), 1);
        let metrics = server
            .metrics_until("the webhook call", WAIT, |m| {
                m.value(
                    "ferrio_webhook_calls_total",
                    &[("kind", "event"), ("outcome", "ok")],
                ) == 1.0
            })
            .await;
        assert_eq!(
            metrics.value("ferrio_webhook_duration_seconds_count", &[]),
            1.0
        );
        assert_eq!(
            metrics.value("ferrio_webhook_duration_seconds_bucket", &[("le", "+Inf")]),
            1.0
        );
        assert!(metrics.value("ferrio_webhook_duration_seconds_sum", &[]) > 0.0);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// /healthz, /readyz and the drain

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_503_on_drain_while_sessions_keep_working() {
    within(TEST_LIMIT, async {
        let server = start().await;
        let health = server.admin_get("/healthz").await;
        assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));
        let ready = server.admin_get("/readyz").await;
        assert_eq!(ready.status, 200, "{}", ready.text());
        let polling = server.connected_polling_session().await;
        let (_, mut ws) = websocket_session(&server).await;

        server.hub.drain();

        let ready = server.admin_get("/readyz").await;
        assert_eq!(ready.status, 503, "{}", ready.text());
        assert_eq!(
            server.admin_get("/healthz").await.status,
            200,
            "alive while draining"
        );
        let refused = server.get("/socket.io/1/?t=1").await;
        assert_eq!(refused.status, 503, "{}", refused.text());
        assert!(refused.header("retry-after").is_some());
        server.assert_polling_echo(&polling).await;
        assert_websocket_echo(&mut ws).await;
        let metrics = server
            .metrics_until("the refused handshake", WAIT, |m| {
                m.value("ferrio_handshakes_total", &[("outcome", "unavailable")]) == 1.0
            })
            .await;
        assert_eq!(
            metrics.value("ferrio_sessions", &[("transport", "xhr-polling")]),
            1.0
        );
        let stats = stats(&server).await;
        assert_eq!(stats["ready"], json!(false));
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The publish API: authorization

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_refuses_missing_and_wrong_tokens_with_401() {
    within(TEST_LIMIT, async {
        let _failing = FAILING_AUTH.lock().await;
        let server = start().await;
        let sid = server.connected_polling_session().await;
        let emit_body = json!({"event": "news", "args": [1]}).to_string();
        let wrong_headers: [&[(&str, &str)]; 6] = [
            &[],
            &[("authorization", "Bearer wrong")],
            &[("authorization", "Bearer s3cret-toke")],
            &[("authorization", "Bearer s3cret-token-and-more")],
            &[("authorization", "Basic czNjcmV0LXRva2Vu")],
            &[("authorization", "s3cret-token")],
        ];
        for headers in wrong_headers {
            for (method, path, body) in [
                (Method::GET, "/api/stats", ""),
                (Method::GET, "/api/dashboard", ""),
                (Method::POST, "/api/emit", emit_body.as_str()),
                (Method::POST, "/api/disconnect", r#"{"sid":"x"}"#),
            ] {
                let response = server.admin(method, path, headers, body.to_owned()).await;
                assert_eq!(response.status, 401, "{path} with {headers:?}");
                assert_eq!(
                    response.header("www-authenticate"),
                    Some("Bearer"),
                    "{path} with {headers:?}"
                );
                assert!(response.json()["error"].is_string());
            }
        }
        // Nothing of that reached the session; it still works; the right token works.
        server.assert_polling_echo(&sid).await;
        let stats = server.api(Method::GET, "/api/stats", Some(TOKEN), "").await;
        assert_eq!(stats.status, 200, "{}", stats.text());
        assert_eq!(stats.header("content-type"), Some("application/json"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_api_auth_is_counted_and_logged_by_sample_with_the_number_held_back() {
    within(TEST_LIMIT, async {
        let _failing = FAILING_AUTH.lock().await;
        let server = start().await;
        let logs = captured_logs();
        let sid = server.connected_polling_session().await;
        let failures = |metrics: &Metrics| metrics.value("ferrio_admin_auth_failures_total", &[]);
        let before = failures(&server.metrics().await);
        let lines_before = logs.lines_containing(AUTH_FAILURE_LINE).len();
        // Someone guesses tokens for two seconds and more.
        let flood = Instant::now();
        let mut failed = 0u64;
        while flood.elapsed() < Duration::from_millis(2200) {
            let response = server
                .api(Method::GET, "/api/stats", Some("guess"), "")
                .await;
            assert_eq!(response.status, 401);
            failed += 1;
        }
        // The log gate lets a burst of five lines through, then one a second.
        let flood_lines = logs.lines_containing(AUTH_FAILURE_LINE).len() - lines_before;
        let seconds = flood.elapsed().as_secs_f64().ceil() as usize;
        assert!(
            (1..=5 + seconds).contains(&flood_lines) && flood_lines as u64 * 10 <= failed,
            "{flood_lines} lines for {failed} failures in {seconds} s"
        );
        // A failure a second later gets a line that says how many were held back.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let last = server.api(Method::POST, "/api/emit", None, "{}").await;
        assert_eq!(last.status, 401);
        failed += 1;
        // This gateway's lines: its log gate is its own, so they account for its failures.
        let lines = logs.lines_containing(AUTH_FAILURE_LINE)[lines_before..].to_vec();
        let held_back: u64 = lines
            .iter()
            .map(|line| numeric_field(line, "suppressed").expect("a suppressed count"))
            .sum();
        let reported = lines.len() as u64 + held_back;
        let total = failures(&server.metrics().await);
        assert_eq!(total - before, failed as f64);
        assert_eq!(
            reported as f64, total,
            "every failure is a line or held back by one: {lines:#?}"
        );
        // The API and the sessions go on.
        let stats = server.api(Method::GET, "/api/stats", Some(TOKEN), "").await;
        assert_eq!(stats.status, 200, "{}", stats.text());
        server.assert_polling_echo(&sid).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_is_404_without_a_configured_token() {
    within(TEST_LIMIT, async {
        for admin in [
            None,
            Some(AdminConfig {
                addr: "127.0.0.1:0".parse().expect("address"),
                api_token: None,
            }),
            Some(AdminConfig {
                addr: "127.0.0.1:0".parse().expect("address"),
                api_token: Some(String::new()),
            }),
        ] {
            let server = start_with(|config| config.admin = admin.clone()).await;
            for (method, path) in [
                (Method::GET, "/api/stats"),
                (Method::GET, "/api/dashboard"),
                (Method::POST, "/api/emit"),
                (Method::POST, "/api/disconnect"),
            ] {
                for token in [None, Some(""), Some(TOKEN)] {
                    let response = server.api(method.clone(), path, token, "{}").await;
                    assert_eq!(response.status, 404, "{path} with {admin:?}");
                }
            }
            // Metrics and health stay on, and so does the dashboard's page: it says the API is
            // off when it calls it.
            assert_eq!(server.admin_get("/metrics").await.status, 200);
            assert_eq!(server.admin_get("/readyz").await.status, 200);
            assert_eq!(server.admin_get("/dashboard").await.status, 200);
            server.stop().await;
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The publish API: emits

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_to_the_namespace_reaches_polling_and_websocket_clients() {
    within(TEST_LIMIT, async {
        let server = start().await;
        let first = server.connected_polling_session().await;
        let second = server.connected_polling_session().await;
        let (chatter, mut ws) = websocket_session(&server).await;
        send_text(&mut ws, "1::/chat").await;
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some("1::/chat")
        );
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some(r#"5::/chat:{"name":"hi","args":["chat"]}"#)
        );

        let response = emit(
            &server,
            json!({"event": "news", "args": [1, "é", {"a": null}]}),
        )
        .await;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.json(), json!({"sessions": 3}));
        let news = r#"5:::{"name":"news","args":[1,"é",{"a":null}]}"#;
        assert_eq!(server.poll_packets_within(&first, POLL_WAIT).await, [news]);
        assert_eq!(server.poll_packets_within(&second, POLL_WAIT).await, [news]);
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some(news)
        );

        // `/chat`, spelled with or without the slash of the default namespace.
        let response = emit(
            &server,
            json!({"event": "news", "args": ["chat only"], "namespace": "/chat"}),
        )
        .await;
        assert_eq!(response.json(), json!({"sessions": 1}), "{chatter}");
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some(r#"5::/chat:{"name":"news","args":["chat only"]}"#)
        );
        let response = emit(&server, json!({"event": "plain", "namespace": "/"})).await;
        assert_eq!(response.json(), json!({"sessions": 3}));
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some(r#"5:::{"name":"plain"}"#)
        );
        // The polling sessions got nothing from /chat: only `plain` waits for them.
        assert_eq!(
            server.poll_packets_within(&first, POLL_WAIT).await,
            [r#"5:::{"name":"plain"}"#]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_to_a_room_and_to_one_session() {
    within(TEST_LIMIT, async {
        let server = start().await;
        let member = server.connected_polling_session().await;
        let outsider = server.connected_polling_session().await;
        let (ws_member, mut ws) = websocket_session(&server).await;
        server
            .post_packets(&member, r#"5:::{"name":"join","args":["r1"]}"#)
            .await;
        send_text(&mut ws, r#"5:::{"name":"join","args":["r1"]}"#).await;
        // The joins are processed before the stats show them.
        stats_until(&server, "joins", |stats| {
            stats["namespaces"][0]["rooms"]["r1"] == json!(2)
        })
        .await;

        let response = emit(
            &server,
            json!({"event": "roomy", "args": ["r"], "room": "r1"}),
        )
        .await;
        assert_eq!(response.json(), json!({"sessions": 2}));
        assert_eq!(
            server.poll_packets_within(&member, POLL_WAIT).await,
            [r#"5:::{"name":"roomy","args":["r"]}"#]
        );
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some(r#"5:::{"name":"roomy","args":["r"]}"#)
        );
        // The outsider's poll ends with a noop after the polling duration: nothing came.
        assert_eq!(
            server.poll_packets_within(&outsider, POLL_WAIT).await,
            ["8::"]
        );
        let response = emit(&server, json!({"event": "roomy", "room": "empty-room"})).await;
        assert_eq!(response.json(), json!({"sessions": 0}));

        // One session, by id.
        let response = emit(
            &server,
            json!({"event": "direct", "args": [7], "sid": outsider}),
        )
        .await;
        assert_eq!(response.json(), json!({"sessions": 1}));
        assert_eq!(
            server.poll_packets_within(&outsider, POLL_WAIT).await,
            [r#"5:::{"name":"direct","args":[7]}"#]
        );
        let response = emit(
            &server,
            json!({"event": "direct", "args": [8], "sid": ws_member}),
        )
        .await;
        assert_eq!(response.json(), json!({"sessions": 1}));
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some(r#"5:::{"name":"direct","args":[8]}"#)
        );
        // A session that does not exist, or one that never joined the namespace.
        let response = emit(&server, json!({"event": "direct", "sid": "nobody"})).await;
        assert_eq!(response.json(), json!({"sessions": 0}));
        let response = emit(
            &server,
            json!({"event": "direct", "sid": member, "namespace": "/chat"}),
        )
        .await;
        assert_eq!(response.json(), json!({"sessions": 0}));
        assert_eq!(
            server.poll_packets_within(&member, POLL_WAIT).await,
            ["8::"],
            "nothing for /chat"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_emit_bodies_get_400_with_a_reason_and_harm_nobody() {
    within(TEST_LIMIT, async {
        let server = start().await;
        let sid = server.connected_polling_session().await;
        let (_, mut ws) = websocket_session(&server).await;
        let cases: [(&str, &str); 12] = [
            (r#"{"event":"disconnect"}"#, "reserved"),
            (r#"{"event":"connect","args":[1]}"#, "reserved"),
            (r#"{"event":"message"}"#, "reserved"),
            (r#"{"event":"newListener"}"#, "reserved"),
            (r#"{"event":""}"#, "empty"),
            (r#"{"event":"news""#, "malformed JSON"),
            ("not json at all", "malformed JSON"),
            ("", "malformed JSON"),
            (r#"{"event":"news","colour":"red"}"#, "colour"),
            (r#"{"args":[1]}"#, "event"),
            (
                r#"{"event":"news","args":"not an array"}"#,
                "malformed JSON",
            ),
            (
                r#"{"event":"news","namespace":"/nope"}"#,
                "unknown namespace",
            ),
        ];
        for (body, reason) in cases {
            let response = server
                .admin(
                    Method::POST,
                    "/api/emit",
                    &[
                        ("authorization", &format!("Bearer {TOKEN}")),
                        ("content-type", "application/json"),
                    ],
                    body.to_owned(),
                )
                .await;
            assert_eq!(response.status, 400, "{body}: {}", response.text());
            let error = response.json()["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}: no error text"))
                .to_owned();
            assert!(error.contains(reason), "{body}: {error:?} lacks {reason:?}");
        }
        let both = emit(&server, json!({"event": "x", "sid": sid, "room": "r"})).await;
        assert_eq!(both.status, 400);
        assert!(
            both.json()["error"]
                .as_str()
                .is_some_and(|e| e.contains("not both"))
        );
        // Wrong methods and unknown calls.
        let get_emit = server.api(Method::GET, "/api/emit", Some(TOKEN), "").await;
        assert_eq!(get_emit.status, 405);
        let post_stats = server
            .api(Method::POST, "/api/stats", Some(TOKEN), "{}")
            .await;
        assert_eq!(post_stats.status, 405);
        let post_dashboard = server
            .api(Method::POST, "/api/dashboard", Some(TOKEN), "{}")
            .await;
        assert_eq!(post_dashboard.status, 405);
        let unknown = server
            .api(Method::POST, "/api/nothing", Some(TOKEN), "{}")
            .await;
        assert_eq!(unknown.status, 404);
        // A body over the API's 1 MiB limit.
        let huge = format!(
            r#"{{"event":"news","args":["{}"]}}"#,
            "a".repeat(1024 * 1024 + 1)
        );
        let response = server
            .api(Method::POST, "/api/emit", Some(TOKEN), &huge)
            .await;
        assert_eq!(response.status, 400, "{}", response.text());
        // Nothing was emitted; both sessions still work.
        server.assert_polling_echo(&sid).await;
        assert_websocket_echo(&mut ws).await;
        let bad_disconnect = server
            .api(
                Method::POST,
                "/api/disconnect",
                Some(TOKEN),
                r#"{"id":"x"}"#,
            )
            .await;
        assert_eq!(bad_disconnect.status, 400);
        assert!(bad_disconnect.json()["error"].is_string());
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The publish API: disconnect and stats

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_disconnect_kicks_polling_and_websocket_sessions() {
    within(TEST_LIMIT, async {
        let server = start().await;
        let polling = server.connected_polling_session().await;
        let bystander = server.connected_polling_session().await;
        let (ws_sid, mut ws) = websocket_session(&server).await;
        // A poll is open when the kick comes.
        let waiting = server.spawn_get(&xhr_path(&polling));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let response = server
            .api(
                Method::POST,
                "/api/disconnect",
                Some(TOKEN),
                &json!({"sid": polling}).to_string(),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.json(), json!({"disconnected": true}));
        let answer = tokio::time::timeout(WAIT, waiting)
            .await
            .expect("the open poll is answered")
            .expect("poll task");
        assert_eq!(answer.text(), "0::");
        server
            .assert_observed(WAIT, disconnected(&polling, DisconnectReason::Booted))
            .await;

        let response = server
            .api(
                Method::POST,
                "/api/disconnect",
                Some(TOKEN),
                &json!({"sid": ws_sid}).to_string(),
            )
            .await;
        assert_eq!(response.json(), json!({"disconnected": true}));
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some("0::")
        );
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await,
            None,
            "the websocket closes after `0::`"
        );

        // Twice, or unknown: nothing to disconnect.
        for sid in [ws_sid.as_str(), "nobody"] {
            let response = server
                .api(
                    Method::POST,
                    "/api/disconnect",
                    Some(TOKEN),
                    &json!({"sid": sid}).to_string(),
                )
                .await;
            assert_eq!(response.json(), json!({"disconnected": false}), "{sid}");
        }
        server
            .metrics_until("two kicks", WAIT, |m| {
                m.value("ferrio_disconnects_total", &[("reason", "booted")]) == 2.0
            })
            .await;
        server.assert_polling_echo(&bystander).await;
        assert!(!server.log.entries().iter().any(any_disconnect(&bystander)));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_stats_show_sessions_namespaces_and_room_sizes() {
    within(TEST_LIMIT, async {
        let server = start().await;
        assert_eq!(
            stats(&server).await,
            json!({
                "sessions": 0,
                "ready": true,
                "namespaces": [
                    {"name": "/", "sockets": 0, "rooms": {}},
                    {"name": "/chat", "sockets": 0, "rooms": {}},
                    {"name": "/private", "sockets": 0, "rooms": {}},
                ],
            })
        );
        let a = server.connected_polling_session().await;
        let b = server.connected_polling_session().await;
        let (_, mut ws) = websocket_session(&server).await;
        server.handshake().await; // issued, not yet connected
        server
            .post_packets(&a, r#"5:::{"name":"join","args":["red"]}"#)
            .await;
        server
            .post_packets(&b, r#"5:::{"name":"join","args":["red"]}"#)
            .await;
        server
            .post_packets(&b, r#"5:::{"name":"join","args":["blue"]}"#)
            .await;
        server.post_packets(&a, "1::/chat").await;
        send_text(&mut ws, "1::/chat").await;
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some("1::/chat")
        );
        let expected = json!({
            "sessions": 4,
            "ready": true,
            "namespaces": [
                {"name": "/", "sockets": 3, "rooms": {"blue": 1, "red": 2}},
                {"name": "/chat", "sockets": 2, "rooms": {}},
                {"name": "/private", "sockets": 0, "rooms": {}},
            ],
        });
        stats_until(&server, &format!("never became {expected}"), |stats| {
            *stats == expected
        })
        .await;
        // Leaving shows too.
        server.post_packets(&b, "0::").await;
        stats_until(&server, "after leaving", |stats| {
            stats["namespaces"][0] == json!({"name": "/", "sockets": 2, "rooms": {"red": 1}})
        })
        .await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The dashboard

/// The page and its assets with their content types.
const DASHBOARD_FILES: [(&str, &str); 3] = [
    ("/dashboard", "text/html; charset=utf-8"),
    ("/dashboard/dashboard.js", "text/javascript; charset=utf-8"),
    ("/dashboard/dashboard.css", "text/css; charset=utf-8"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_page_and_assets_need_no_token_and_come_with_strict_headers() {
    within(TEST_LIMIT, async {
        let server = start().await;
        for (path, content_type) in DASHBOARD_FILES {
            let response = server.admin_get(path).await;
            assert_eq!(response.status, 200, "{path}");
            assert_eq!(
                response.header("content-type"),
                Some(content_type),
                "{path}"
            );
            assert_eq!(response.header("cache-control"), Some("no-cache"), "{path}");
            assert_eq!(
                response.header("x-content-type-options"),
                Some("nosniff"),
                "{path}"
            );
            let policy = response
                .header("content-security-policy")
                .unwrap_or_else(|| panic!("{path}: no Content-Security-Policy"));
            for directive in ["default-src 'self'", "frame-ancestors 'none'"] {
                assert!(policy.contains(directive), "{path}: {policy}");
            }
            assert!(!response.body.is_empty(), "{path}");
            let head = server
                .admin(Method::HEAD, path, &[], bytes::Bytes::new())
                .await;
            assert_eq!(head.status, 200, "HEAD {path}");
            assert!(head.body.is_empty(), "HEAD {path}");
        }
        let page = server.admin_get("/dashboard").await.text();
        assert!(
            page.contains(r#"<meta name="viewport""#),
            "readable on a phone"
        );
        assert!(page.contains(r#"src="/dashboard/dashboard.js""#));
        assert!(page.contains(r#"href="/dashboard/dashboard.css""#));
        assert!(
            !page.contains(TOKEN),
            "the page holds nothing of the server's"
        );
        // Nothing else is the dashboard's; other methods are not served.
        for path in [
            "/dashboard/",
            "/dashboard/nope.js",
            "/dashboards",
            "/dashboard.js",
        ] {
            assert_eq!(server.admin_get(path).await.status, 404, "{path}");
        }
        let post = server
            .admin(Method::POST, "/dashboard", &[], bytes::Bytes::new())
            .await;
        assert_eq!(post.status, 404);
    })
    .await;
}

/// Every label of a `{label: count}` object of `/api/dashboard`, with its count.
fn counts(object: &Value) -> Vec<(String, u64)> {
    object
        .as_object()
        .expect("an object of counts")
        .iter()
        .map(|(label, count)| (label.clone(), count.as_u64().expect("a count")))
        .collect()
}

/// The count of `label` in a `{label: count}` object of `/api/dashboard`.
fn count(object: &Value, label: &str) -> u64 {
    object[label]
        .as_u64()
        .unwrap_or_else(|| panic!("no count for {label} in {object}"))
}

/// Whether any rate of `series` (`node.rates.<series>` of `/api/dashboard`) is above zero.
fn some_rate(dashboard: &Value, series: &str) -> bool {
    dashboard["node"]["rates"][series]
        .as_array()
        .is_some_and(|rates| rates.iter().any(|rate| rate.as_f64() > Some(0.0)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_dashboard_has_its_documented_shape_and_follows_sessions_rooms_rates_and_disconnects() {
    within(TEST_LIMIT, async {
        let server = start().await;
        let mut quiet = api_json(&server, "/api/dashboard").await;
        let rates = quiet["node"]
            .as_object_mut()
            .and_then(|node| node.remove("rates"))
            .expect("node.rates");
        let zero_transports: serde_json::Map<String, Value> = [
            "none",
            "websocket",
            "flashsocket",
            "xhr-polling",
            "xhr-multipart",
            "htmlfile",
            "jsonp-polling",
        ]
        .into_iter()
        .map(|transport| (transport.to_owned(), json!(0)))
        .collect();
        let zero_reasons: serde_json::Map<String, Value> = [
            "booted",
            "packet",
            "heartbeat timeout",
            "close timeout",
            "socket end",
            "socket close",
            "socket error",
            "buffer overflow",
            "server shutdown",
            "write timeout",
            "read timeout",
            "handshake expired",
            "budget exceeded",
            "node full",
            "node fenced",
            "transport error",
        ]
        .into_iter()
        .map(|reason| (reason.to_owned(), json!(0)))
        .collect();
        let recent_seconds = quiet["node"]["disconnects"]["recent_seconds"].clone();
        assert!(recent_seconds.is_u64(), "{quiet}");
        assert_eq!(
            quiet,
            json!({
                "node": {
                    "ready": true,
                    "sessions": 0,
                    "transports": zero_transports,
                    "generations": {"0.9": 0, "eio3": 0, "eio4": 0},
                    "totals": {
                        "handshakes_accepted": 0,
                        "handshakes_refused": 0,
                        "messages_in": 0,
                        "messages_out": 0,
                    },
                    "disconnects": {
                        "recent_seconds": recent_seconds,
                        "recent": {},
                        "total": zero_reasons,
                    },
                },
                "namespaces": [
                    {"name": "/", "sockets": 0, "room_count": 0, "rooms": []},
                    {"name": "/chat", "sockets": 0, "room_count": 0, "rooms": []},
                    {"name": "/private", "sockets": 0, "room_count": 0, "rooms": []},
                ],
                "cluster": null,
            })
        );
        assert_eq!(rates["interval_seconds"], 1, "{rates}");
        for series in [
            "handshakes_accepted",
            "handshakes_refused",
            "messages_in",
            "messages_out",
        ] {
            let values = rates[series].as_array().expect("a series");
            assert!(values.len() <= 120, "{series}: {values:?}");
            assert!(values.iter().all(|rate| rate == &json!(0.0)), "{rates}");
        }

        // Two 0.9 sessions (xhr-polling and websocket), an Engine.IO 4 and an Engine.IO 3
        // handshake, a refused handshake; the 0.9 ones join `red`, the websocket echoes.
        let polling = server.connected_polling_session().await;
        let (_, mut ws) = websocket_session(&server).await;
        for query in ["EIO=4", "EIO=3"] {
            let open = server
                .get(&format!("/socket.io/?{query}&transport=polling"))
                .await;
            assert_eq!(open.status, 200, "{query}: {}", open.text());
        }
        let refused = server.get("/socket.io/?EIO=5&transport=polling").await;
        assert_eq!(refused.status, 400, "{}", refused.text());
        server
            .post_packets(&polling, r#"5:::{"name":"join","args":["red"]}"#)
            .await;
        send_text(&mut ws, r#"5:::{"name":"join","args":["red"]}"#).await;
        assert_websocket_echo(&mut ws).await;
        let busy = api_json_until(
            &server,
            "/api/dashboard",
            "four sessions in `red`, counted by transport and generation",
            |dashboard| {
                let node = &dashboard["node"];
                node["sessions"] == 4
                    && dashboard["namespaces"][0]["rooms"] == json!([{"name": "red", "size": 2}])
                    && some_rate(dashboard, "handshakes_accepted")
                    && some_rate(dashboard, "messages_in")
                    && some_rate(dashboard, "messages_out")
            },
        )
        .await;
        let node = &busy["node"];
        assert_eq!(
            counts(&node["generations"]),
            [
                ("0.9".to_owned(), 2),
                ("eio3".to_owned(), 1),
                ("eio4".to_owned(), 1)
            ],
            "{busy}"
        );
        assert_eq!(count(&node["transports"], "xhr-polling"), 1, "{busy}");
        assert_eq!(count(&node["transports"], "websocket"), 1, "{busy}");
        assert_eq!(
            count(&node["transports"], "none"),
            2,
            "handshakes not yet followed by a request: {busy}"
        );
        assert_eq!(
            counts(&node["transports"]).iter().map(|(_, n)| n).sum::<u64>(),
            4
        );
        assert_eq!(node["totals"]["handshakes_accepted"], 4, "{busy}");
        // The unsupported revision is refused before it is a handshake: not counted.
        assert_eq!(node["totals"]["handshakes_refused"], 0, "{busy}");
        // Two joins and the echo's event in; the echo out.
        assert!(node["totals"]["messages_in"].as_u64() >= Some(3), "{busy}");
        assert!(node["totals"]["messages_out"].as_u64() >= Some(1), "{busy}");
        // The Engine.IO 3 session is in `/` from its handshake; the Engine.IO 4 one is not yet.
        assert_eq!(
            busy["namespaces"][0],
            json!({"name": "/", "sockets": 3, "room_count": 1, "rooms": [{"name": "red", "size": 2}]})
        );

        // The websocket closes: its reason shows among the recent ones and in the totals.
        ws.close(None).await.expect("close frame");
        let after = api_json_until(&server, "/api/dashboard", "the close", |dashboard| {
            dashboard["node"]["disconnects"]["recent"]["socket close"] == 1
        })
        .await;
        let disconnects = &after["node"]["disconnects"];
        assert_eq!(count(&disconnects["total"], "socket close"), 1, "{after}");
        assert_eq!(
            counts(&disconnects["recent"]),
            [("socket close".to_owned(), 1)],
            "only reasons that happened: {after}"
        );
        assert_eq!(after["node"]["sessions"], 3, "{after}");
        assert_eq!(
            after["namespaces"][0]["rooms"],
            json!([{"name": "red", "size": 1}])
        );
    })
    .await;
}
