//! Webhooks against a real local HTTP backend (issue #6): client events named in the
//! configuration are POSTed as JSON with the session's handshake data, the backend's JSON
//! array becomes the client's ack, connects and disconnects are notified, failures are retried
//! (5xx, timeouts, refused connections) or not (4xx), and a slow backend holds up nobody.

use std::time::Duration;

use bytes::Bytes;
use ferrio_hub::DisconnectReason;
use ferrio_server::apps::conformance::Observation;
use ferrio_testkit::{
    Backend, BackendCall, BackendReply, TestServer, assert_websocket_echo, disconnected, free_port,
    next_packet_within, retry_until, send_text, within,
};
use ferrio_webhooks::WebhookConfig;
use http::Method;
use serde_json::json;
use tokio::time::Instant;

const WAIT: Duration = Duration::from_secs(3);
/// The most one test may take, whatever hangs.
const TEST_LIMIT: Duration = Duration::from_secs(15);
/// Longer than a poll stays open with the short timers (2 s).
const POLL_WAIT: Duration = Duration::from_secs(5);
/// How long the tests watch for a call that must not come.
const QUIET: Duration = Duration::from_millis(700);

/// A gateway (short timers) whose webhooks go to `backend` for the event `order`, with a
/// 1 s timeout and `configure` applied.
async fn start(backend: &Backend, configure: impl FnOnce(&mut WebhookConfig)) -> TestServer {
    let mut webhooks = WebhookConfig::new(backend.url("/hook"), vec!["order".to_owned()]);
    webhooks.timeout = Duration::from_secs(1);
    configure(&mut webhooks);
    TestServer::start_short_timers_with(|config| config.webhooks = Some(webhooks)).await
}

/// Polls until a packet comes (skipping noops) or `within` passes; the packets of that poll.
async fn poll_until_packets(server: &TestServer, sid: &str, within: Duration) -> Vec<String> {
    retry_until(
        within,
        Duration::ZERO,
        async || server.poll_packets_within(sid, POLL_WAIT).await,
        |packets| packets != &["8::"],
    )
    .await
    .unwrap_or_else(|last| last)
}

fn events(call: &BackendCall) -> bool {
    call.kind() == "event"
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_event_is_posted_as_json_with_the_handshake_data() {
    within(TEST_LIMIT, async {
        let backend = Backend::start(|_, _| BackendReply::json("[]")).await;
        let server = start(&backend, |_| {}).await;
        let handshake = server
            .request(
                Method::GET,
                "/socket.io/1/?t=1&user=ann&room=blue",
                &[("x-trace", "abc-123"), ("user-agent", "ferrio-test")],
                Bytes::new(),
            )
            .await;
        assert_eq!(handshake.status, 200);
        let sid = handshake.text().split(':').next().expect("sid").to_owned();
        assert_eq!(server.poll_packets_within(&sid, POLL_WAIT).await, ["1::"]);
        server
            .post_packets(&sid, r#"5:::{"name":"order","args":[{"id":7},"two",null]}"#)
            .await;
        let calls = backend.wait_for(1, WAIT, events).await;
        assert_eq!(calls.len(), 1, "one call");
        let call = &calls[0];
        assert_eq!(call.method, "POST");
        assert_eq!(call.path, "/hook");
        assert_eq!(call.header("content-type"), Some("application/json"));
        let body = &call.body;
        assert_eq!(body["type"], json!("event"));
        assert_eq!(body["event"], json!("order"));
        assert_eq!(body["args"], json!([{"id": 7}, "two", null]));
        assert_eq!(body["sid"], json!(sid));
        assert_eq!(body["namespace"], json!("/"));
        assert_eq!(body["ack"], json!(false));
        let shake = &body["handshake"];
        assert_eq!(shake["query"]["user"], json!("ann"));
        assert_eq!(shake["query"]["room"], json!("blue"));
        assert_eq!(shake["headers"]["x-trace"], json!("abc-123"));
        assert_eq!(shake["headers"]["user-agent"], json!("ferrio-test"));
        let address = shake["address"].as_str().expect("address");
        assert!(address.starts_with("127.0.0.1:"), "{address}");
        assert_eq!(shake["secure"], json!(false));
        assert_eq!(shake["xdomain"], json!(false));
        assert!(
            shake["time"]
                .as_u64()
                .is_some_and(|t| t > 1_600_000_000_000)
        );
        // No ack was asked for, so none is sent; the poll ends with a noop.
        assert_eq!(server.poll_packets_within(&sid, POLL_WAIT).await, ["8::"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_not_named_are_not_sent() {
    within(TEST_LIMIT, async {
        let backend = Backend::start(|_, _| BackendReply::json("[]")).await;
        let server = start(&backend, |_| {}).await;
        let sid = server.connected_polling_session().await;
        // The application's own `echo` still answers, and nothing goes to the backend.
        server.assert_polling_echo(&sid).await;
        server
            .post_packets(&sid, r#"5:::{"name":"unlisted","args":[1]}"#)
            .await;
        server.post_packets(&sid, "3:::a message").await;
        // `order` in another namespace than the configured ones is not sent either.
        server.post_packets(&sid, "1::/chat").await;
        server
            .post_packets(&sid, r#"5::/chat:{"name":"order","args":[1]}"#)
            .await;
        // A named event after them, so the quiet period is known to be long enough.
        server
            .post_packets(&sid, r#"5:::{"name":"order","args":["last"]}"#)
            .await;
        let calls = backend.wait_for(1, WAIT, |_| true).await;
        tokio::time::sleep(QUIET).await;
        let calls_after = backend.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls_after.len(), 1, "{calls_after:#?}");
        assert_eq!(calls_after[0].body["args"], json!(["last"]));
        assert_eq!(calls_after[0].body["namespace"], json!("/"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_array_becomes_the_ack_on_polling_and_websocket() {
    within(TEST_LIMIT, async {
        let backend = Backend::start(|call, _| {
            BackendReply::json(&json!(["ok", {"echoed": call.body["args"]}]).to_string())
        })
        .await;
        let server = start(&backend, |_| {}).await;
        let sid = server.connected_polling_session().await;
        server
            .post_packets(&sid, r#"5:12+::{"name":"order","args":[1,"x"]}"#)
            .await;
        assert_eq!(
            poll_until_packets(&server, &sid, WAIT).await,
            [r#"6:::12+["ok",{"echoed":[1,"x"]}]"#]
        );
        let calls = backend.wait_for(1, WAIT, events).await;
        assert_eq!(calls[0].body["ack"], json!(true));

        let (ws_sid, mut ws) = server.connected_websocket().await;
        send_text(&mut ws, r#"5:3+::{"name":"order","args":[{"k":"é"}]}"#).await;
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some(r#"6:::3+["ok",{"echoed":[{"k":"é"}]}]"#)
        );
        let calls = backend.wait_for(2, WAIT, events).await;
        assert_eq!(calls[1].body["sid"], json!(ws_sid));
        // An id without `+`: the library acks at once, the backend is still told.
        send_text(&mut ws, r#"5:4::{"name":"order","args":[]}"#).await;
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some("6:::4")
        );
        let calls = backend.wait_for(3, WAIT, events).await;
        assert_eq!(calls.len(), 3);
        assert_eq!(calls[2].body["ack"], json!(false));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_array_replies_ack_without_data() {
    within(TEST_LIMIT, async {
        let replies = ["{\"status\":\"ok\"}", "", "not json", "42", "null"];
        let backend = Backend::start(move |_, index| BackendReply::json(replies[index % 5])).await;
        let server = start(&backend, |_| {}).await;
        let (_, mut ws) = server.connected_websocket().await;
        for id in 1..=replies.len() {
            send_text(
                &mut ws,
                &format!(r#"5:{id}+::{{"name":"order","args":[{id}]}}"#),
            )
            .await;
            assert_eq!(
                next_packet_within(&mut ws, WAIT).await,
                Some(format!("6:::{id}")),
                "reply {:?}",
                replies[id - 1]
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_disconnect_are_notified_with_the_reason() {
    within(TEST_LIMIT, async {
        let backend = Backend::start(|_, _| BackendReply::json("")).await;
        let server = start(&backend, |webhooks| {
            webhooks.connect = true;
            webhooks.disconnect = true;
        })
        .await;
        let sid = server.handshake_with_query("user=bob").await;
        // Issued but not connected: no call yet.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(backend.calls().is_empty(), "{:#?}", backend.calls());
        assert_eq!(server.poll_packets_within(&sid, POLL_WAIT).await, ["1::"]);
        let connects = backend.wait_for(1, WAIT, |c| c.kind() == "connect").await;
        assert_eq!(connects.len(), 1);
        assert_eq!(connects[0].body["sid"], json!(sid));
        assert_eq!(connects[0].body["namespace"], json!("/"));
        assert_eq!(connects[0].body["handshake"]["query"]["user"], json!("bob"));
        // The application still sees the connection.
        assert!(
            server
                .log
                .wait_for(
                    WAIT,
                    |o| matches!(o, Observation::Connection { sid: s, .. } if *s == sid)
                )
                .await
                .is_some(),
            "the application's connection handler still runs"
        );
        server.post_packets(&sid, "0::").await;
        let disconnects = backend
            .wait_for(1, WAIT, |c| c.kind() == "disconnect")
            .await;
        assert_eq!(disconnects.len(), 1);
        assert_eq!(disconnects[0].body["sid"], json!(sid));
        assert_eq!(disconnects[0].body["reason"], json!("booted"));
        assert!(
            server
                .log
                .wait_for(WAIT, disconnected(&sid, DisconnectReason::Booted))
                .await
                .is_some(),
            "the application's disconnect handler still runs"
        );

        // A websocket closed by the client: `socket close`.
        let (ws_sid, mut ws) = server.connected_websocket().await;
        ws.close(None).await.expect("close");
        let closes = backend
            .wait_for(1, WAIT, |c| {
                c.kind() == "disconnect" && c.body["sid"] == json!(ws_sid)
            })
            .await;
        assert_eq!(closes.len(), 1);
        assert_eq!(closes[0].body["reason"], json!("socket close"));
        assert_eq!(
            backend
                .calls()
                .iter()
                .filter(|c| c.kind() == "connect")
                .count(),
            2
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_are_not_notified_unless_configured() {
    within(TEST_LIMIT, async {
        let backend = Backend::start(|_, _| BackendReply::json("[]")).await;
        let server = start(&backend, |_| {}).await;
        let sid = server.connected_polling_session().await;
        server.post_packets(&sid, "0::").await;
        server
            .post_packets(
                &server.connected_polling_session().await,
                r#"5:::{"name":"order"}"#,
            )
            .await;
        let calls = backend.wait_for(1, WAIT, |_| true).await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(calls.len(), 1);
        assert_eq!(
            backend
                .calls()
                .iter()
                .map(BackendCall::kind)
                .collect::<Vec<_>>(),
            ["event"]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_no_ack_is_sent() {
    within(TEST_LIMIT, async {
        let backend = Backend::start(|_, _| BackendReply::status(500)).await;
        let server = start(&backend, |webhooks| webhooks.retries = 2).await;
        let sid = server.connected_polling_session().await;
        server
            .post_packets(&sid, r#"5:1+::{"name":"order","args":["x"]}"#)
            .await;
        let calls = backend.wait_for(3, WAIT, events).await;
        assert_eq!(calls.len(), 3, "the call and two retries");
        assert!(calls.iter().all(|c| c.body == calls[0].body), "same body");
        // Backoff between attempts: 100 ms, then 200 ms.
        assert!(calls[1].at - calls[0].at >= Duration::from_millis(90));
        assert!(calls[2].at - calls[1].at >= Duration::from_millis(190));
        // No ack (the poll ends with a noop), and no fourth attempt.
        assert_eq!(server.poll_packets_within(&sid, POLL_WAIT).await, ["8::"]);
        assert_eq!(backend.calls().len(), 3);
        server
            .metrics_until("three failed attempts", WAIT, |m| {
                m.value(
                    "ferrio_webhook_calls_total",
                    &[("kind", "event"), ("outcome", "http_error")],
                ) == 3.0
            })
            .await;
        // The session goes on.
        server.assert_polling_echo(&sid).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_that_succeeds_acks_with_its_reply() {
    within(TEST_LIMIT, async {
        let backend = Backend::start(|_, index| {
            if index < 2 {
                BackendReply::status(503)
            } else {
                BackendReply::json(r#"["third time"]"#)
            }
        })
        .await;
        let server = start(&backend, |webhooks| webhooks.retries = 2).await;
        let (_, mut ws) = server.connected_websocket().await;
        send_text(&mut ws, r#"5:1+::{"name":"order","args":[]}"#).await;
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some(r#"6:::1+["third time"]"#)
        );
        assert_eq!(backend.calls().len(), 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_too_slow_times_out_and_is_retried() {
    within(TEST_LIMIT, async {
        let backend = Backend::start(|_, index| {
            if index == 0 {
                BackendReply::json(r#"["too late"]"#).after(Duration::from_secs(2))
            } else {
                BackendReply::json(r#"["in time"]"#)
            }
        })
        .await;
        let server = start(&backend, |webhooks| {
            webhooks.timeout = Duration::from_millis(300);
            webhooks.retries = 1;
        })
        .await;
        let (_, mut ws) = server.connected_websocket().await;
        let started = Instant::now();
        send_text(&mut ws, r#"5:1+::{"name":"order","args":[]}"#).await;
        assert_eq!(
            next_packet_within(&mut ws, WAIT).await.as_deref(),
            Some(r#"6:::1+["in time"]"#)
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_millis(1500),
            "{took:?}"
        );
        assert_eq!(backend.calls().len(), 2);
        let metrics = server
            .metrics_until("a timeout then success", WAIT, |m| {
                m.value(
                    "ferrio_webhook_calls_total",
                    &[("kind", "event"), ("outcome", "timeout")],
                ) == 1.0
            })
            .await;
        assert_eq!(
            metrics.value(
                "ferrio_webhook_calls_total",
                &[("kind", "event"), ("outcome", "ok")]
            ),
            1.0
        );
        // The late answer of the first attempt acks nothing more.
        assert_eq!(
            next_packet_within(&mut ws, Duration::from_millis(2200)).await,
            None
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attempt_timing_out_sends_no_ack() {
    within(TEST_LIMIT, async {
        let backend =
            Backend::start(|_, _| BackendReply::json("[1]").after(Duration::from_secs(3))).await;
        let server = start(&backend, |webhooks| {
            webhooks.timeout = Duration::from_millis(200);
            webhooks.retries = 2;
        })
        .await;
        let (_, mut ws) = server.connected_websocket().await;
        send_text(&mut ws, r#"5:1+::{"name":"order","args":[]}"#).await;
        assert_eq!(backend.wait_for(3, WAIT, events).await.len(), 3);
        server
            .metrics_until("three timeouts", WAIT, |m| {
                m.value(
                    "ferrio_webhook_calls_total",
                    &[("kind", "event"), ("outcome", "timeout")],
                ) == 3.0
            })
            .await;
        assert_eq!(next_packet_within(&mut ws, QUIET).await, None, "no ack");
        assert_eq!(backend.calls().len(), 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_not_retried() {
    within(TEST_LIMIT, async {
        for status in [400, 404, 422] {
            let backend = Backend::start(move |_, _| BackendReply::status(status)).await;
            let server = start(&backend, |webhooks| webhooks.retries = 3).await;
            let (_, mut ws) = server.connected_websocket().await;
            send_text(&mut ws, r#"5:1+::{"name":"order","args":[]}"#).await;
            assert_eq!(backend.wait_for(1, WAIT, events).await.len(), 1);
            assert_eq!(
                next_packet_within(&mut ws, QUIET).await,
                None,
                "no ack after {status}"
            );
            assert_eq!(backend.calls().len(), 1, "{status} is not retried");
            let metrics = server.metrics().await;
            assert_eq!(
                metrics.value(
                    "ferrio_webhook_calls_total",
                    &[("kind", "event"), ("outcome", "http_error")]
                ),
                1.0
            );
            // The session still works.
            assert_websocket_echo(&mut ws).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_retried() {
    within(TEST_LIMIT, async {
        // A port nobody listens on.
        let port = free_port();
        let mut webhooks = WebhookConfig::new(
            format!("http://127.0.0.1:{port}/hook")
                .parse()
                .expect("url"),
            vec!["order".to_owned()],
        );
        webhooks.retries = 1;
        let server =
            TestServer::start_short_timers_with(|config| config.webhooks = Some(webhooks)).await;
        let (_, mut ws) = server.connected_websocket().await;
        send_text(&mut ws, r#"5:1+::{"name":"order","args":[]}"#).await;
        server
            .metrics_until("two refused connections", WAIT, |m| {
                m.value(
                    "ferrio_webhook_calls_total",
                    &[("kind", "event"), ("outcome", "connection_error")],
                ) == 2.0
            })
            .await;
        assert_eq!(next_packet_within(&mut ws, QUIET).await, None, "no ack");
        assert_websocket_echo(&mut ws).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_backend_holds_up_no_other_session_or_packet() {
    within(TEST_LIMIT, async {
        let backend = Backend::start(|_, _| {
            BackendReply::json(r#"["slow"]"#).after(Duration::from_millis(1500))
        })
        .await;
        let server = start(&backend, |webhooks| {
            webhooks.timeout = Duration::from_secs(5);
            webhooks.retries = 0;
        })
        .await;
        let (_, mut slow) = server.connected_websocket().await;
        let (_, mut other) = server.connected_websocket().await;
        let polling = server.connected_polling_session().await;
        let started = Instant::now();
        for id in 1..=3 {
            send_text(
                &mut slow,
                &format!(r#"5:{id}+::{{"name":"order","args":[]}}"#),
            )
            .await;
        }
        assert_eq!(backend.wait_for(3, WAIT, events).await.len(), 3);
        // While three calls wait on the backend, the same session and others answer at once.
        assert_websocket_echo(&mut slow).await;
        assert_websocket_echo(&mut other).await;
        server.assert_polling_echo(&polling).await;
        assert!(
            started.elapsed() < Duration::from_millis(1200),
            "{:?}",
            started.elapsed()
        );
        // Then the three acks come, in any order, after the backend's delay.
        let mut acks = Vec::new();
        for _ in 0..3 {
            acks.push(next_packet_within(&mut slow, WAIT).await.expect("ack"));
        }
        acks.sort();
        assert_eq!(
            acks,
            [
                r#"6:::1+["slow"]"#,
                r#"6:::2+["slow"]"#,
                r#"6:::3+["slow"]"#
            ]
        );
        assert!(started.elapsed() >= Duration::from_millis(1400));
    })
    .await;
}
