//! The xhr-polling transport over real TCP, and the packet, ack, namespace and room cases
//! driven through it (docs/protocol.md §4, §5.4, §9 C11–C35).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferrio_hub::DisconnectReason;
use ferrio_server::ServerConfig;
use ferrio_server::apps::conformance::Observation;
use ferrio_testkit::{
    TestServer, any_disconnect, assert_held_then_freed, assert_preflight_allows, await_answer,
    chunk, connected_to, disconnected_from, forced_disconnect_path, is_connection, read_for,
    read_response_head, read_until_closed, request_head, stalled_request, weighing_memory,
    write_timeout_config, xhr_path,
};
use http::Method;
use serde_json::json;
use tokio::io::AsyncWriteExt;

/// How long observations and answers that should come at once may take.
const WAIT: Duration = Duration::from_secs(2);
/// How long a GET is given to reach the server and start waiting before the test relies on
/// it being open.
const SETTLE: Duration = Duration::from_millis(300);

const ECHO: &str = r#"5:::{"name":"echo","args":[1,"two"]}"#;

/// Joins `/chat` and checks the confirmation and the `hi` emit of its connection handler.
async fn join_chat(server: &TestServer, sid: &str) {
    server.post_packets(sid, "1::/chat").await;
    assert_eq!(
        server.poll_packets(sid).await,
        ["1::/chat", r#"5::/chat:{"name":"hi","args":["chat"]}"#]
    );
}

// ---------------------------------------------------------------------------------------------
// xhr-polling (C11–C24)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c11_first_get_delivers_connect() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake().await;
    let first = server.get(&xhr_path(&sid)).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(first.header("content-length"), Some("3"));
    assert_eq!(first.text(), "1::");
    server.assert_observed(WAIT, connected_to(&sid, "")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c12_idle_poll_gets_noop_after_polling_duration() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    let started = Instant::now();
    let body = server.poll(&sid).await;
    let elapsed = started.elapsed();
    assert_eq!(body, "8::");
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed <= Duration::from_secs(3),
        "noop after {elapsed:?}, polling duration is 2 s"
    );
    // The session lives on: the poll cycle is its liveness.
    server.post_packets(&sid, ECHO).await;
    assert_eq!(server.poll(&sid).await, ECHO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c13_posted_echo_comes_back_on_next_get() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    let post = server.post(&xhr_path(&sid), ECHO).await;
    assert_eq!(post.status, 200);
    assert_eq!(post.header("content-length"), Some("1"));
    assert_eq!(
        post.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(post.text(), "1");
    assert_eq!(server.poll(&sid).await, ECHO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c14_cors_on_get_and_post() {
    let server = TestServer::start_short_timers().await;
    let origin = "http://a.example:8080";
    let sid = server.handshake().await;
    let get = server
        .request(Method::GET, &xhr_path(&sid), &[("origin", origin)], "")
        .await;
    assert_eq!(get.text(), "1::");
    assert_eq!(get.header("access-control-allow-origin"), Some(origin));
    assert_eq!(get.header("access-control-allow-credentials"), Some("true"));
    let post = server
        .request(Method::POST, &xhr_path(&sid), &[("origin", origin)], ECHO)
        .await;
    assert_eq!(post.text(), "1");
    assert_eq!(post.header("access-control-allow-origin"), Some(origin));
    assert_eq!(
        post.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(post.header("x-xss-protection"), Some("0"));
    // Without an Origin there are no CORS headers.
    let plain = server.get(&xhr_path(&sid)).await;
    assert_eq!(plain.text(), ECHO);
    assert_eq!(plain.header("access-control-allow-origin"), None);
    assert_eq!(plain.header("access-control-allow-credentials"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c15_buffered_packets_are_framed() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    server.post_packets(&sid, r#"5:::{"name":"multi"}"#).await;
    let body = server.poll(&sid).await;
    assert_eq!(
        body,
        "\u{FFFD}27\u{FFFD}5:::{\"name\":\"a\",\"args\":[1]}\u{FFFD}32\u{FFFD}5:::{\"name\":\"b\",\"args\":[\"é€😀\"]}\u{FFFD}5\u{FFFD}3:::x"
    );
    assert!(
        body.as_bytes()
            .starts_with(&[0xEF, 0xBF, 0xBD, b'2', b'7', 0xEF, 0xBF, 0xBD, b'5', b':'])
    );
    // A single buffered packet is sent bare.
    server
        .post_packets(&sid, r#"5:::{"name":"echo","args":["solo"]}"#)
        .await;
    assert_eq!(
        server.poll(&sid).await,
        r#"5:::{"name":"echo","args":["solo"]}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c16_framed_post_is_unframed_and_replies_keep_order() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    server
        .post_packets(
            &sid,
            "\u{FFFD}7\u{FFFD}3:1::hi\u{FFFD}36\u{FFFD}5:1+::{\"name\":\"echo\",\"args\":[\"é😀\"]}",
        )
        .await;
    assert_eq!(
        server.poll(&sid).await,
        "\u{FFFD}5\u{FFFD}6:::1\u{FFFD}6\u{FFFD}3:::hi\u{FFFD}13\u{FFFD}6:::1+[\"é😀\"]"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c16_utf8_split_across_tcp_writes_survives() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    let packet = r#"5:::{"name":"echo","args":["é😀"]}"#;
    let body = packet.as_bytes();
    // Cut inside the two-byte `é`, and write the halves separately.
    let cut = packet.find('é').expect("é") + 1;
    let mut stream = server.tcp().await;
    let head = request_head(
        "POST",
        &xhr_path(&sid),
        &[
            ("Host", &server.addr.to_string()),
            ("Content-Type", "text/plain;charset=UTF-8"),
            ("Content-Length", &body.len().to_string()),
            ("Connection", "close"),
        ],
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream
        .write_all(&body[..cut])
        .await
        .expect("write first half");
    stream.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream
        .write_all(&body[cut..])
        .await
        .expect("write second half");
    let answer = String::from_utf8_lossy(&read_for(&mut stream, WAIT).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(answer.ends_with("\r\n\r\n1"), "{answer:?}");
    assert_eq!(server.poll(&sid).await, packet);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_4_concurrent_posts_are_accepted() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    let first = r#"5:::{"name":"echo","args":["first"]}"#;
    let second = r#"5:::{"name":"echo","args":["second"]}"#;
    let path = xhr_path(&sid);
    let (a, b) = tokio::join!(server.post(&path, first), server.post(&path, second));
    assert_eq!((a.status, a.text()), (200, "1".to_owned()));
    assert_eq!((b.status, b.text()), (200, "1".to_owned()));
    let mut packets = server.poll_packets(&sid).await;
    packets.sort();
    assert_eq!(packets, [first, second]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c17_waiting_poll_returns_only_the_first_packet() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    let open = server.spawn_get(&xhr_path(&sid));
    tokio::time::sleep(SETTLE).await;
    server.post_packets(&sid, r#"5:::{"name":"multi"}"#).await;
    let answered = await_answer(open, WAIT).await;
    assert_eq!(answered.text(), r#"5:::{"name":"a","args":[1]}"#);
    assert_eq!(
        server.poll(&sid).await,
        "\u{FFFD}32\u{FFFD}5:::{\"name\":\"b\",\"args\":[\"é€😀\"]}\u{FFFD}5\u{FFFD}3:::x"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c18_unknown_sid_get_and_post() {
    let server = TestServer::start_short_timers().await;
    let get = server.get(&xhr_path("nosuchsession")).await;
    assert_eq!(get.status, 200);
    assert_eq!(get.text(), "7:::1+0");
    let post = server.post(&xhr_path("nosuchsession"), ECHO).await;
    assert_eq!(post.status, 200);
    assert_eq!(post.text(), "1");
    assert_eq!(server.hub.session_count(), 0);
    assert!(
        server.log.entries().is_empty(),
        "{:?}",
        server.log.entries()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c19_close_timeout_ends_session() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    let last_get = Instant::now();
    let ended = server
        .log
        .wait_for(
            Duration::from_secs(7),
            disconnected_from(&sid, "", DisconnectReason::CloseTimeout),
        )
        .await;
    let elapsed = last_get.elapsed();
    assert!(
        ended.is_some(),
        "no close timeout: {:?}",
        server.log.entries()
    );
    assert!(
        elapsed >= Duration::from_millis(3500) && elapsed <= Duration::from_secs(6),
        "close timeout after {elapsed:?}, configured 4 s"
    );
    assert_eq!(server.poll(&sid).await, "7:::1+0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c20_forced_disconnect_with_get_open_a() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    let open = server.spawn_get(&xhr_path(&sid));
    tokio::time::sleep(SETTLE).await;
    let forced = server.get(&forced_disconnect_path(&sid)).await;
    assert_eq!(forced.status, 200);
    assert!(forced.body.is_empty());
    let answered = await_answer(open, WAIT).await;
    assert_eq!(answered.text(), "0::");
    server
        .assert_disconnected(WAIT, &sid, "", DisconnectReason::Booted)
        .await;
    assert_eq!(server.poll(&sid).await, "7:::1+0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c20_posted_disconnect_with_get_open_b() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    let open = server.spawn_get(&xhr_path(&sid));
    tokio::time::sleep(SETTLE).await;
    server.post_packets(&sid, "0::").await;
    let answered = await_answer(open, WAIT).await;
    assert_eq!(answered.text(), "0::");
    server
        .assert_disconnected(WAIT, &sid, "", DisconnectReason::Booted)
        .await;
    assert_eq!(server.poll(&sid).await, "7:::1+0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c20_forced_disconnect_between_polls_c() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    let forced = server.get(&forced_disconnect_path(&sid)).await;
    assert_eq!(forced.status, 200);
    assert!(forced.body.is_empty());
    server
        .assert_disconnected(WAIT, &sid, "", DisconnectReason::Booted)
        .await;
    assert_eq!(server.poll(&sid).await, "7:::1+0");
    // Unknown sids get the same empty 200.
    let unknown = server
        .get("/socket.io/1/xhr-polling/nosuchsession?disconnect")
        .await;
    assert_eq!(unknown.status, 200);
    assert!(unknown.body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c21_second_get_answers_the_older_one() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    let older = server.spawn_get(&xhr_path(&sid));
    tokio::time::sleep(SETTLE).await;
    let newer = server.spawn_get(&xhr_path(&sid));
    let older = await_answer(older, Duration::from_secs(1)).await;
    assert_eq!(older.status, 200);
    assert_eq!(older.text(), "8::");
    // The newer GET is the live poll: it carries what comes next.
    tokio::time::sleep(SETTLE).await;
    server.post_packets(&sid, ECHO).await;
    let newer = await_answer(newer, WAIT).await;
    assert_eq!(newer.text(), ECHO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c22_post_before_first_get() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake().await;
    server.post_packets(&sid, ECHO).await;
    assert_eq!(server.poll_packets(&sid).await, ["1::", ECHO]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c23_unknown_transport_is_refused() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake().await;
    let get = server.get(&format!("/socket.io/1/bogus/{sid}")).await;
    assert_eq!(get.status, 400);
    let post = server
        .post(&format!("/socket.io/1/bogus/{sid}"), ECHO)
        .await;
    assert_eq!(post.status, 400);
    let unknown = server.get("/socket.io/1/bogus/nosuchsession").await;
    assert_eq!(unknown.status, 400);
    // A transport ferrio knows but does not offer here (flashsocket is off by default) is
    // refused the same way.
    let disabled = server
        .get(&format!("/socket.io/1/flashsocket/{sid}?t=1"))
        .await;
    assert_eq!(disabled.status, 400);
    assert_eq!(
        server.hub.session_count(),
        1,
        "only the handshake made a session"
    );
    assert!(
        !server.log.entries().iter().any(is_connection),
        "the bogus requests connected nothing"
    );
    // The session was not used by them: its first real poll is the first connection.
    assert_eq!(server.poll_packets(&sid).await, ["1::"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c24_oversized_post_body_is_refused_a() {
    let server =
        TestServer::start_short_timers_with(|config| config.post.max_body_bytes = 1024).await;
    let sid = server.connected_polling_session().await;
    let big = format!("3:::{}", "a".repeat(4096));
    let refused = server.post(&xhr_path(&sid), &big).await;
    assert_eq!(refused.status, 413);
    let started = Instant::now();
    let fresh = server.handshake().await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "handshake took {:?}",
        started.elapsed()
    );
    assert_eq!(server.poll(&fresh).await, "1::");
    // The refused body had no effect; the session works on.
    server.post_packets(&sid, ECHO).await;
    assert_eq!(server.poll(&sid).await, ECHO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c24_oversized_chunked_post_body_is_refused_b() {
    let server =
        TestServer::start_short_timers_with(|config| config.post.max_body_bytes = 1024).await;
    let sid = server.connected_polling_session().await;
    // No Content-Length: the limit must hold while the body streams in.
    let chunks: [&[u8]; 2] = [b"3:::", &[b'a'; 3000]];
    let answer = server.post_chunked(&xhr_path(&sid), chunks, WAIT).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    let started = Instant::now();
    let fresh = server.handshake().await;
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(server.poll(&fresh).await, "1::");
    server.post_packets(&sid, ECHO).await;
    assert_eq!(
        server.poll(&sid).await,
        ECHO,
        "the refused message was not delivered"
    );
}

// ---------------------------------------------------------------------------------------------
// Packets, acks, namespaces (C25–C33)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c25_message_acks() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    server.post_packets(&sid, "3:1::hi").await;
    assert_eq!(server.poll_packets(&sid).await, ["6:::1", "3:::hi"]);
    server.post_packets(&sid, "3:5+::yo").await;
    assert_eq!(
        server.poll_packets(&sid).await,
        ["3:::yo", r#"6:::5+["x",2]"#]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c26_event_acks() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    server
        .post_packets(&sid, r#"5:3+::{"name":"echo","args":["z"]}"#)
        .await;
    assert_eq!(server.poll(&sid).await, r#"6:::3+["z"]"#);
    // An id without `+` is acked by the library, before the application answers (docs/protocol.md
    // §3.3).
    server
        .post_packets(&sid, r#"5:7::{"name":"echo","args":[1]}"#)
        .await;
    assert_eq!(
        server.poll_packets(&sid).await,
        ["6:::7", r#"5:::{"name":"echo","args":[1]}"#]
    );
    server.post_packets(&sid, r#"5:4+::{"name":"noack"}"#).await;
    let started = Instant::now();
    assert_eq!(
        server.poll(&sid).await,
        "8::",
        "nothing, in particular no 6:::4, is sent"
    );
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c27_server_asks_for_acks() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    server.post_packets(&sid, r#"5:::{"name":"askack"}"#).await;
    let packets = server.poll_packets(&sid).await;
    assert_eq!(packets.len(), 2, "{packets:?}");
    let question_id = packets[0]
        .strip_prefix("5:")
        .and_then(|rest| rest.strip_suffix(r#"+::{"name":"q","args":[1]}"#))
        .unwrap_or_else(|| panic!("not a question asking for an ack with data: {}", packets[0]));
    assert!(!question_id.is_empty() && question_id.bytes().all(|b| b.is_ascii_digit()));
    let hello_id = packets[1]
        .strip_prefix("3:")
        .and_then(|rest| rest.strip_suffix("::hello"))
        .unwrap_or_else(|| panic!("not a hello asking for an ack: {}", packets[1]));
    assert!(!hello_id.is_empty() && hello_id.bytes().all(|b| b.is_ascii_digit()));
    assert_ne!(question_id, hello_id);

    server
        .post_packets(&sid, &format!(r#"6:::{question_id}+["A",{{"b":1}}]"#))
        .await;
    let acked = server
        .log
        .wait_for(WAIT, |o| matches!(o, Observation::AckedQuestion { .. }))
        .await;
    assert_eq!(
        acked,
        Some(Observation::AckedQuestion {
            sid: sid.clone(),
            args: vec![json!("A"), json!({"b": 1})]
        })
    );
    assert!(
        !server
            .log
            .entries()
            .iter()
            .any(|o| matches!(o, Observation::AckedHello { .. })),
        "the hello callback waits for its own ack"
    );
    server.post_packets(&sid, &format!("6:::{hello_id}")).await;
    assert_eq!(
        server
            .log
            .wait_for(WAIT, |o| matches!(o, Observation::AckedHello { .. }))
            .await,
        Some(Observation::AckedHello { sid })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c28_reserved_event_names_are_dropped() {
    let server = TestServer::start_short_timers().await;
    let reached = Arc::new(AtomicUsize::new(0));
    let names = ["disconnect", "connect", "message", "error", "reconnect"];
    for name in names {
        let reached = Arc::clone(&reached);
        server
            .hub
            .sockets()
            .on_raw(name, move |_socket, _args, _ack| {
                reached.fetch_add(1, Ordering::SeqCst);
            });
    }
    let sid = server.connected_polling_session().await;
    for name in names {
        server
            .post_packets(&sid, &format!(r#"5:::{{"name":"{name}","args":[1]}}"#))
            .await;
    }
    server.post_packets(&sid, ECHO).await;
    assert_eq!(
        server.poll(&sid).await,
        ECHO,
        "the session is up and nothing else was sent"
    );
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "a reserved event reached the application"
    );
    assert!(
        !server.log.entries().iter().any(any_disconnect(&sid)),
        "{:?}",
        server.log.entries()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c29_namespace_connect_a() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    join_chat(&server, &sid).await;
    server
        .assert_observed(WAIT, connected_to(&sid, "/chat"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c29_namespace_connect_query_goes_in_data_b() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    // An undeclared namespace, and a query inside the endpoint, are silently dropped.
    server.post_packets(&sid, "1::/nosuch").await;
    server.post_packets(&sid, "1::/chat?a=b").await;
    assert_eq!(server.poll(&sid).await, "8::");
    assert!(
        !server.log.entries().iter().any(
            |o| matches!(o, Observation::Connection { namespace, .. } if !namespace.is_empty())
        )
    );
    // The query in the data field joins `/chat`.
    server.post_packets(&sid, "1::/chat:?a=b").await;
    assert_eq!(
        server.poll_packets(&sid).await,
        ["1::/chat", r#"5::/chat:{"name":"hi","args":["chat"]}"#]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c30_namespace_authorization_refused() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake_with_query("chat_auth=deny").await;
    assert_eq!(server.poll(&sid).await, "1::");
    server.post_packets(&sid, "1::/chat").await;
    assert_eq!(server.poll(&sid).await, "7::/chat:2");
    server.post_packets(&sid, ECHO).await;
    assert_eq!(server.poll(&sid).await, ECHO);
    assert!(
        !server.log.entries().iter().any(
            |o| matches!(o, Observation::Connection { namespace, .. } if namespace == "/chat")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c31_leaving_a_namespace() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    join_chat(&server, &sid).await;
    server.post_packets(&sid, "0::/chat").await;
    server
        .assert_observed(
            WAIT,
            disconnected_from(&sid, "/chat", DisconnectReason::Packet),
        )
        .await;
    // `/chat` no longer answers; the default namespace does.
    server
        .post_packets(
            &sid,
            &ferrio_protocol::frame(&[
                r#"5:3+:/chat:{"name":"echo","args":["z"]}"#,
                r#"5:::{"name":"echo","args":[1]}"#,
            ]),
        )
        .await;
    assert_eq!(server.poll(&sid).await, r#"5:::{"name":"echo","args":[1]}"#);
    assert!(!server.log.entries().iter().any(disconnected_from(
        &sid,
        "",
        DisconnectReason::Packet
    )));
    assert_eq!(
        server
            .log
            .entries()
            .iter()
            .filter(|o| any_disconnect(&sid)(o))
            .count(),
        1,
        "only /chat was left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c32_namespace_event_ack() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    join_chat(&server, &sid).await;
    server
        .post_packets(&sid, r#"5:3+:/chat:{"name":"echo","args":["z"]}"#)
        .await;
    assert_eq!(server.poll(&sid).await, r#"6::/chat:3+["z"]"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c33_garbage_packets_are_ignored() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    for garbage in ["hello", "9:::x", "5:::{bad json", "0"] {
        server.post_packets(&sid, garbage).await;
    }
    server.post_packets(&sid, ECHO).await;
    assert_eq!(server.poll(&sid).await, ECHO);
    assert!(!server.log.entries().iter().any(any_disconnect(&sid)));
}

// ---------------------------------------------------------------------------------------------
// Rooms, broadcast, volatile (C34–C35)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c34_broadcast_and_rooms() {
    let server = TestServer::start_short_timers().await;
    let a = server.connected_polling_session().await;
    let b = server.connected_polling_session().await;
    let c = server.connected_polling_session().await;
    let bmsg = r#"5:::{"name":"bmsg","args":[1]}"#;
    server
        .post_packets(&a, r#"5:::{"name":"bcast","args":[1]}"#)
        .await;
    assert_eq!(server.poll(&b).await, bmsg);
    assert_eq!(server.poll(&c).await, bmsg);
    // Had A received its own broadcast, it would come before the echo.
    server.post_packets(&a, ECHO).await;
    assert_eq!(server.poll(&a).await, ECHO);

    server
        .post_packets(&a, r#"5:::{"name":"join","args":["r"]}"#)
        .await;
    server
        .post_packets(&b, r#"5:::{"name":"join","args":["r"]}"#)
        .await;
    server
        .post_packets(&a, r#"5:::{"name":"toroom","args":["r",1]}"#)
        .await;
    let roommsg = r#"5:::{"name":"roommsg","args":[1]}"#;
    assert_eq!(server.poll(&a).await, roommsg);
    assert_eq!(server.poll(&b).await, roommsg);
    server.post_packets(&c, ECHO).await;
    assert_eq!(server.poll(&c).await, ECHO, "C is not in the room");
    assert_eq!(
        sorted(server.hub.sockets().clients(Some("r"))),
        sorted(vec![a.clone(), b.clone()])
    );
    // A session that ends leaves its rooms.
    server.post_packets(&a, "0::").await;
    server
        .assert_disconnected(WAIT, &a, "", DisconnectReason::Booted)
        .await;
    assert_eq!(server.hub.sockets().clients(Some("r")), [b.as_str()]);
    server
        .post_packets(&c, r#"5:::{"name":"toroom","args":["r",2]}"#)
        .await;
    assert_eq!(
        server.poll(&b).await,
        r#"5:::{"name":"roommsg","args":[2]}"#
    );
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c35_volatile_emit_without_open_get_is_dropped_a() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    server
        .post_packets(&sid, r#"5:::{"name":"volatile","args":[7]}"#)
        .await;
    assert_eq!(
        server.poll(&sid).await,
        r#"5:::{"name":"nonvol","args":[7]}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c35_volatile_emit_with_open_get_is_written_b() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    let open = server.spawn_get(&xhr_path(&sid));
    tokio::time::sleep(SETTLE).await;
    server
        .post_packets(&sid, r#"5:::{"name":"volatile","args":[7]}"#)
        .await;
    let answered = await_answer(open, WAIT).await;
    assert_eq!(answered.text(), r#"5:::{"name":"vol","args":[7]}"#);
    assert_eq!(
        server.poll(&sid).await,
        r#"5:::{"name":"nonvol","args":[7]}"#
    );
}

// ---------------------------------------------------------------------------------------------
// This project's requirements beyond §9 (docs/protocol.md §1.5, §3.9, §4.4, §4.8, §8)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_5_options_preflight_gets_204_and_leaves_the_session_alone() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake().await;
    let origin = "http://a.example:8080";
    let preflight = server.post_preflight(&xhr_path(&sid), origin).await;
    assert_preflight_allows(&preflight, origin);
    assert!(
        !server.log.entries().iter().any(is_connection),
        "a preflight connected the session"
    );
    let unknown = server
        .request(
            Method::OPTIONS,
            &xhr_path("nosuchsession"),
            &[("origin", origin)],
            "",
        )
        .await;
    assert_eq!(unknown.status, 204);
    assert_eq!(server.hub.session_count(), 1);
    assert_eq!(
        server.poll(&sid).await,
        "1::",
        "the first GET still connects the session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s8_09_put_gets_405() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake().await;
    let put = server
        .request(Method::PUT, &xhr_path(&sid), &[], ECHO)
        .await;
    assert_eq!(put.status, 405);
    assert!(
        put.header("allow")
            .is_some_and(|allow| allow.contains("GET") && allow.contains("POST"))
    );
    assert!(!server.log.entries().iter().any(is_connection));
    assert_eq!(
        server.poll_packets(&sid).await,
        ["1::"],
        "the PUT body was not processed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_9_broken_framing_gets_400_and_the_session_survives() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    // The first frame is fine, the second announces more than there is: nothing is delivered.
    let broken = server
        .post(
            &xhr_path(&sid),
            "\u{FFFD}6\u{FFFD}3:::hi\u{FFFD}9\u{FFFD}3:::x",
        )
        .await;
    assert_eq!(broken.status, 400);
    let short = server
        .post(&xhr_path(&sid), "\u{FFFD}5\u{FFFD}3:::hi there")
        .await;
    assert_eq!(short.status, 400);
    server.post_packets(&sid, ECHO).await;
    assert_eq!(server.poll(&sid).await, ECHO);
    assert!(!server.log.entries().iter().any(any_disconnect(&sid)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_4_outbox_overflow_ends_the_session() {
    let server =
        TestServer::start_short_timers_with(|config| config.hub.max_buffered_packets = 5).await;
    let sid = server.connected_polling_session().await;
    // Each `multi` queues three packets; nobody polls.
    server.post_packets(&sid, r#"5:::{"name":"multi"}"#).await;
    assert!(
        server
            .log
            .entries()
            .iter()
            .all(|o| !any_disconnect(&sid)(o)),
        "3 packets fit"
    );
    server.post_packets(&sid, r#"5:::{"name":"multi"}"#).await;
    server
        .assert_observed(
            WAIT,
            disconnected_from(&sid, "", DisconnectReason::BufferOverflow),
        )
        .await;
    assert_eq!(server.poll(&sid).await, "7:::1+0");
    // Other sessions are unaffected.
    let other = server.connected_polling_session().await;
    server.post_packets(&other, ECHO).await;
    assert_eq!(server.poll(&other).await, ECHO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_8_kick_between_polls_is_delivered_on_the_next_get() {
    let server = TestServer::start_short_timers().await;
    let sid = server.connected_polling_session().await;
    server.post_packets(&sid, r#"5:::{"name":"kick"}"#).await;
    server
        .assert_disconnected(WAIT, &sid, "", DisconnectReason::Booted)
        .await;
    assert_eq!(server.poll(&sid).await, "0::");
    assert_eq!(server.poll(&sid).await, "7:::1+0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_8_kick_with_get_open_answers_it() {
    let server = TestServer::start_short_timers().await;
    let a = server.connected_polling_session().await;
    let open = server.spawn_get(&xhr_path(&a));
    tokio::time::sleep(SETTLE).await;
    server.post_packets(&a, r#"5:::{"name":"kick"}"#).await;
    let answered = await_answer(open, WAIT).await;
    assert_eq!(answered.text(), "0::");
    server
        .assert_disconnected(WAIT, &a, "", DisconnectReason::Booted)
        .await;
    assert_eq!(server.poll(&a).await, "7:::1+0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_post_bodies_get_408_and_their_memory_back() {
    const BODIES: usize = 40;
    const SENT: usize = 900 * 1024;
    let _alone = weighing_memory().await;
    let mut config = ServerConfig::default();
    config.post.body_read_timeout = Duration::from_secs(1);
    let server = TestServer::start(config).await;
    let crowd = server.crowd(1, 1).await;
    let sid = server.connected_polling_session().await;
    let before = server.allocated_bytes().await;
    let host = server.addr.to_string();
    let head = request_head(
        "POST",
        &xhr_path(&sid),
        &[
            ("Host", host.as_str()),
            ("Content-Type", "text/plain"),
            ("Transfer-Encoding", "chunked"),
        ],
    );
    let body = chunk(&vec![b'x'; SENT]);
    let mut stalled = Vec::new();
    for _ in 0..BODIES {
        let mut stream = server.tcp().await;
        stream.write_all(head.as_bytes()).await.expect("head");
        stream.write_all(&body).await.expect("body");
        // No last chunk: the body stalls just under the limit.
        stalled.push(stream);
    }
    tokio::time::sleep(SETTLE).await;
    let during = server.allocated_bytes().await;
    for stream in &mut stalled {
        let answer = read_response_head(stream, Duration::from_secs(3))
            .await
            .expect("the stalled body is answered");
        assert_eq!(answer.status, 408, "{}", answer.head);
        assert_eq!(answer.header("connection"), Some("close"));
        assert!(read_until_closed(stream, WAIT).await.is_some());
    }
    let after = server.allocated_bytes().await;
    assert_held_then_freed(
        &format!("{BODIES} chunked POST bodies stalled at 900 KiB, until the 408s"),
        before,
        during,
        after,
        (BODIES * SENT / 2) as f64,
    );
    // The session the bodies were for goes on.
    server.assert_polling_echo(&sid).await;
    crowd.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_answer_the_client_does_not_read_is_given_up_at_the_write_timeout() {
    let server = TestServer::start(write_timeout_config()).await;
    let crowd = server.crowd(1, 1).await;
    let sid = server.connected_polling_session().await;
    // More than the connection's buffers hold, waiting for the next poll.
    server.emit_stalling_packet(&sid).await;
    let host = server.addr.to_string();
    let poll = request_head("GET", &xhr_path(&sid), &[("Host", host.as_str())]);
    let started = Instant::now();
    let mut stalled = stalled_request(server.addr, &poll).await;
    server
        .metrics_until("the write timeout", Duration::from_secs(5), |metrics| {
            metrics.value("ferrio_connection_timeouts_total", &[("kind", "write")]) == 1.0
        })
        .await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    // The connection is gone: what the buffers held, then the end.
    assert!(
        read_until_closed(&mut stalled, Duration::from_secs(5))
            .await
            .is_some(),
        "the stalled connection is closed"
    );
    crowd.finish().await;
}
