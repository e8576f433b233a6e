//! The flashsocket transport and the Flash socket policy responder over real TCP (docs/protocol.md
//! §5.2, §8 #10, #11, #21, #24, §9 C50–C52): draft 76 on `/socket.io/1/flashsocket/{sid}`, offered
//! only when enabled, the policy on its own port and inline on the main port, and the Flash
//! movie the real 0.9.17 client loads, served under the resource only then.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use ferrio_hub::{DisconnectReason, Origins};
use ferrio_protocol::{HandshakeBody, TransportKind};
use ferrio_server::{Cli, ServerConfig};
use ferrio_testkit::{
    HixieMessage, TestServer, any_connection, any_disconnect_of, assert_c51_reply,
    assert_unanswered_heartbeat_timeline, disconnected, flashsocket_path, hixie_headers_with,
    hixie_sample_headers, hixie_text, hixie_upgrade, is_connection, read_for, read_until_closed,
    short_timers, status_line, xhr_path,
};
use http::Method;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(2);

/// What Flash sends to ask for the policy: `<policy-file-request/>` and a NUL.
const POLICY_REQUEST: &[u8; 23] = b"<policy-file-request/>\0";

/// The policy for the default origins `*:*`: the reference's 206 bytes plus the NUL.
const OPEN_POLICY: &str = concat!(
    r#"<?xml version="1.0"?><!DOCTYPE cross-domain-policy SYSTEM "http://www.macromedia.com/xml/dtds/cross-domain-policy.dtd">"#,
    r#"<cross-domain-policy><allow-access-from domain="*" to-ports="*"/></cross-domain-policy>"#,
    "\0"
);

/// The default configuration with flashsocket enabled, announced second.
fn flash_config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.hub.transports = vec![
        TransportKind::Websocket,
        TransportKind::Flashsocket,
        TransportKind::XhrPolling,
    ];
    config
}

/// Connects to `addr`, writes `chunks` (waiting `gap` between them), and returns everything
/// read until the server closes; fails if it does not close within two seconds.
async fn send_and_read_to_close(
    addr: std::net::SocketAddr,
    chunks: &[&[u8]],
    gap: Duration,
) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(gap).await;
        }
        stream.write_all(chunk).await.expect("write");
    }
    read_until_closed(&mut stream, WAIT)
        .await
        .expect("the server closes the connection")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c50_policy_port_answers_the_policy_and_closes() {
    let server = TestServer::start(flash_config()).await;
    let reply = send_and_read_to_close(server.policy_addr, &[POLICY_REQUEST], Duration::ZERO).await;
    let text = String::from_utf8(reply).expect("the policy is UTF-8");
    assert!(text.contains("<cross-domain-policy>"), "{text:?}");
    assert!(
        text.contains(r#"<allow-access-from domain="*" to-ports="*"/>"#),
        "{text:?}"
    );
    assert!(text.ends_with('\0'), "no trailing NUL: {text:?}");
    assert_eq!(text, OPEN_POLICY);
    // The policy port answers at once, whatever is sent (as the reference does).
    let unasked = send_and_read_to_close(server.policy_addr, &[], Duration::ZERO).await;
    assert_eq!(unasked, OPEN_POLICY.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c50_policy_inline_on_the_main_port() {
    let server = TestServer::start(flash_config()).await;
    let reply = send_and_read_to_close(server.addr, &[POLICY_REQUEST], Duration::ZERO).await;
    assert_eq!(String::from_utf8_lossy(&reply), OPEN_POLICY);
    // Also when the request arrives in two writes.
    let (head, tail) = POLICY_REQUEST.split_at(10);
    let split =
        send_and_read_to_close(server.addr, &[head, tail], Duration::from_millis(150)).await;
    assert_eq!(String::from_utf8_lossy(&split), OPEN_POLICY);
    // The main port still serves HTTP.
    let sid = server.handshake().await;
    assert_eq!(server.poll(&sid).await, "1::");
}

/// The policy agrees with the origins list (docs/protocol.md §5.2): wildcard hosts as written
/// (Flash's `*.example.org` includes the domain itself, as the list's does), `to-ports="*"`
/// because the list's port is the page's, which Flash cannot express: a pattern that names a
/// page port is left out rather than widened to every port of its host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c50_policy_lists_each_allowed_origin_flash_can_express() {
    let mut config = flash_config();
    config.hub.origins = "good.example:80,*.example.org:*,app.example.net:*,*:8080"
        .parse::<Origins>()
        .expect("origins");
    let server = TestServer::start(config).await;
    for addr in [server.policy_addr, server.addr] {
        let reply = send_and_read_to_close(addr, &[POLICY_REQUEST], Duration::ZERO).await;
        let text = String::from_utf8(reply).expect("the policy is UTF-8");
        assert!(text.contains("<cross-domain-policy>"), "{text:?}");
        assert!(
            text.contains(r#"<allow-access-from domain="*.example.org" to-ports="*"/>"#),
            "{text:?}"
        );
        assert!(
            text.contains(r#"<allow-access-from domain="app.example.net" to-ports="*"/>"#),
            "{text:?}"
        );
        assert_eq!(text.matches("<allow-access-from ").count(), 2, "{text:?}");
        assert!(!text.contains("good.example"), "{text:?}");
        assert!(!text.contains(r#"domain="*""#), "{text:?}");
        assert!(text.ends_with("</cross-domain-policy>\0"), "{text:?}");
    }
    // The gateway applies the same list: the apex and any port of a subdomain get in, a
    // look-alike domain does not.
    for (origin, status) in [
        ("http://example.org", 200),
        ("http://deep.app.example.org:8443", 200),
        ("http://badexample.org", 403),
        ("http://good.example", 200),
        ("http://good.example:81", 403),
    ] {
        let handshake = server
            .request(
                Method::GET,
                "/socket.io/1/?t=1",
                &[("origin", origin)],
                Bytes::new(),
            )
            .await;
        assert_eq!(handshake.status, status, "{origin}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c50_no_policy_while_flashsocket_is_disabled() {
    let server = TestServer::start_default().await;
    let reply = send_and_read_to_close(server.addr, &[POLICY_REQUEST], Duration::ZERO).await;
    assert_eq!(
        status_line(&reply),
        "HTTP/1.1 400 Bad Request",
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    assert!(
        !String::from_utf8_lossy(&reply).contains("cross-domain-policy"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    // Nothing answers on the policy port either (refused, or silent).
    let policy_port_reply = match TcpStream::connect(server.policy_addr).await {
        Err(_) => Vec::new(),
        Ok(mut stream) => {
            let _ = stream.write_all(POLICY_REQUEST).await;
            read_for(&mut stream, Duration::from_millis(300)).await
        }
    };
    assert!(
        policy_port_reply.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&policy_port_reply)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_requests_starting_with_lt_get_http_answers() {
    let server = TestServer::start(flash_config()).await;
    let cases: [&[u8]; 3] = [
        b"<html>\r\n\r\n",
        b"<policy-file-requesX\r\n\r\n",
        b"<policy-file-request/>X\r\n\r\n",
    ];
    for request in cases {
        let reply = send_and_read_to_close(server.addr, &[request], Duration::ZERO).await;
        let what = String::from_utf8_lossy(request);
        assert!(
            status_line(&reply).starts_with("HTTP/1.1 4"),
            "{what:?} → {:?}",
            String::from_utf8_lossy(&reply)
        );
        assert!(
            !String::from_utf8_lossy(&reply).contains("cross-domain-policy"),
            "{what:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_announces_flashsocket_second_only_when_enabled() {
    let enabled = TestServer::start(flash_config()).await;
    let body = enabled.get("/socket.io/1/?t=1").await.text();
    let parsed = HandshakeBody::parse(&body).expect("handshake body");
    assert_eq!(
        parsed.transports.join(","),
        "websocket,flashsocket,xhr-polling",
        "{body}"
    );
    assert!(
        body.ends_with(":websocket,flashsocket,xhr-polling"),
        "{body}"
    );

    // Off by default: the default list does not have it.
    let disabled = TestServer::start_default().await;
    let body = disabled.get("/socket.io/1/?t=1").await.text();
    let parsed = HandshakeBody::parse(&body).expect("handshake body");
    assert_eq!(
        parsed.transports.first().map(String::as_str),
        Some("websocket")
    );
    assert!(
        !parsed.transports.iter().any(|t| t == "flashsocket"),
        "{body}"
    );
}

/// The configuration the `ferrio` command line builds from `flags`.
fn config_from_flags(flags: &[&str]) -> ServerConfig {
    let args = [
        "ferrio",
        "--app",
        "conformance",
        "--transports",
        "websocket,xhr-polling",
    ];
    Cli::try_parse_from(args.iter().chain(flags))
        .expect("flags parse")
        .server_config()
        .expect("valid configuration")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flashsocket_flag_offers_it_second_and_starts_the_policy_responder() {
    let off = config_from_flags(&[]);
    assert!(!off.hub.transports.contains(&TransportKind::Flashsocket));
    assert_eq!(off.flash_policy_port, Some(10843));
    assert_eq!(
        config_from_flags(&["--flashsocket", "--flash-policy-port", "0"]).flash_policy_port,
        None
    );

    let server = TestServer::start(config_from_flags(&["--flashsocket"])).await;
    let body = server.get("/socket.io/1/?t=1").await.text();
    assert!(
        body.ends_with(":websocket,flashsocket,xhr-polling"),
        "{body}"
    );
    let policy =
        send_and_read_to_close(server.policy_addr, &[POLICY_REQUEST], Duration::ZERO).await;
    assert_eq!(String::from_utf8_lossy(&policy), OPEN_POLICY);
    let (_sid, mut ws) = server.connected_hixie("flashsocket").await;
    let echo = r#"5:::{"name":"echo","args":["flag"]}"#;
    ws.send_text(echo).await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some(echo));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flashsocket_upgrade_while_disabled_is_400_and_leaves_the_session() {
    let server = TestServer::start_default().await;
    let sid = server.handshake().await;
    let path = flashsocket_path(&sid);
    let refused = hixie_upgrade(server.addr, &path, &hixie_sample_headers(), None).await;
    assert_eq!(refused.status, 400, "{}", refused.head);
    assert!(
        !server.log.entries().iter().any(is_connection),
        "{:?}",
        server.log.entries()
    );
    assert_eq!(server.hub.session_count(), 1);
    // The session is untouched: its first poll connects it.
    assert_eq!(server.get(&xhr_path(&sid)).await.text(), "1::");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c51_hixie76_handshake_vector_on_the_flashsocket_path() {
    let server = TestServer::start(flash_config()).await;
    let sid = server.handshake().await;
    let path = flashsocket_path(&sid);
    let upgrade = hixie_upgrade(server.addr, &path, &hixie_sample_headers(), None).await;
    let mut ws = assert_c51_reply(upgrade, &path).await;
    server.assert_observed(WAIT, any_connection(&sid)).await;
    let echo = r#"5:::{"name":"echo","args":["flash"]}"#;
    ws.send_text(echo).await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some(echo));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c51_key3_in_a_later_write() {
    let server = TestServer::start(flash_config()).await;
    let sid = server.handshake().await;
    let path = flashsocket_path(&sid);
    let started = Instant::now();
    let upgrade = hixie_upgrade(
        server.addr,
        &path,
        &hixie_sample_headers(),
        Some(Duration::from_millis(200)),
    )
    .await;
    let mut ws = assert_c51_reply(upgrade, &path).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    let echo = r#"5:::{"name":"echo","args":["late key3"]}"#;
    ws.send_text(echo).await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some(echo));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subprotocol_is_echoed_only_when_requested() {
    let server = TestServer::start(flash_config()).await;
    let sid = server.handshake().await;
    let mut headers = hixie_sample_headers();
    headers.push(("Sec-WebSocket-Protocol", "sample"));
    let upgrade = hixie_upgrade(server.addr, &flashsocket_path(&sid), &headers, None).await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    assert_eq!(upgrade.header("sec-websocket-protocol"), Some("sample"));
    let mut ws = upgrade.ws;
    ws.expect_sample_digest().await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("1::"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sid_over_flashsocket_gets_error_then_close() {
    let server = TestServer::start(flash_config()).await;
    let upgrade = hixie_upgrade(
        server.addr,
        &flashsocket_path("nosuchsession"),
        &hixie_sample_headers(),
        None,
    )
    .await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    let mut ws = upgrade.ws;
    ws.expect_sample_digest().await;
    assert_eq!(
        ws.read_bytes(9, WAIT).await,
        Some(hixie_text(b"7:::1+0")),
        "00 \"7:::1+0\" FF"
    );
    let rest = ws
        .messages_until_closed(WAIT)
        .await
        .expect("the server closes the connection");
    assert!(rest.iter().all(|m| *m == HixieMessage::Close), "{rest:?}");
    assert_eq!(server.hub.session_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flashsocket_round_trips_events_and_acks() {
    let server = TestServer::start(flash_config()).await;
    let (sid, mut ws) = server.connected_hixie("flashsocket").await;
    // U+FFFD inside a message does not end it (docs/protocol.md §8 #21).
    let echo = "5:::{\"name\":\"echo\",\"args\":[\"a\u{FFFD}b\"]}";
    ws.send_text(echo).await;
    assert_eq!(
        ws.read_bytes(echo.len() + 2, WAIT).await,
        Some(hixie_text(echo.as_bytes()))
    );
    ws.send_text(r#"5:::{"name":"multi"}"#).await;
    for expected in [
        r#"5:::{"name":"a","args":[1]}"#,
        r#"5:::{"name":"b","args":["é€😀"]}"#,
        "3:::x",
    ] {
        assert_eq!(
            ws.read_message(WAIT).await,
            Some(HixieMessage::Text(expected.as_bytes().to_vec()))
        );
    }
    ws.send_text(r#"5:4+::{"name":"echo","args":["x",2]}"#)
        .await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"6:::4+["x",2]"#)
    );
    // Two messages in one write are two packets.
    let mut both = hixie_text(br#"5:::{"name":"echo","args":[1]}"#);
    both.extend(hixie_text(br#"5:::{"name":"echo","args":[2]}"#));
    ws.write_raw(&both).await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"5:::{"name":"echo","args":[1]}"#)
    );
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"5:::{"name":"echo","args":[2]}"#)
    );
    assert!(!any_disconnect_of(&server.log, &sid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flashsocket_unanswered_heartbeat_closes_the_connection() {
    let server = TestServer::start(short_timers(flash_config())).await;
    let (sid, mut ws) = server.connected_hixie("flashsocket").await;
    let rest = assert_unanswered_heartbeat_timeline(
        &mut ws,
        async |ws, timeout| assert_eq!(ws.next_text(timeout).await.as_deref(), Some("2::")),
        async |ws, timeout| {
            ws.messages_until_closed(timeout)
                .await
                .expect("closed after the heartbeat timeout")
        },
    )
    .await;
    assert!(rest.iter().all(|m| *m == HixieMessage::Close), "{rest:?}");
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::HeartbeatTimeout))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flashsocket_answered_heartbeats_keep_the_connection() {
    let server = TestServer::start(short_timers(flash_config())).await;
    let (sid, mut ws) = server.connected_hixie("flashsocket").await;
    let opened = Instant::now();
    // Heartbeats at about 3, 6 and 9 s, each answered; the last comes after the 8 s an
    // unanswered first heartbeat would have allowed.
    for _ in 0..3 {
        assert_eq!(
            ws.read_message(Duration::from_secs(5)).await,
            Some(HixieMessage::Text(b"2::".to_vec()))
        );
        ws.send_text("2::").await;
    }
    assert!(
        opened.elapsed() > Duration::from_secs(8),
        "{:?}",
        opened.elapsed()
    );
    let echo = r#"5:::{"name":"echo","args":["alive"]}"#;
    ws.send_text(echo).await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some(echo));
    assert!(!any_disconnect_of(&server.log, &sid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flashsocket_upgrade_from_bad_origin_is_refused() {
    let mut config = flash_config();
    config.hub.origins = "good.example:80".parse::<Origins>().expect("origins");
    let server = TestServer::start(config).await;
    let sid = server.handshake_from_origin("http://good.example").await;
    let path = flashsocket_path(&sid);
    let evil = hixie_upgrade(
        server.addr,
        &path,
        &hixie_headers_with("Origin", Some("http://evil.example")),
        None,
    )
    .await;
    assert_eq!(evil.status, 403, "{}", evil.head);
    let good = hixie_upgrade(
        server.addr,
        &path,
        &hixie_headers_with("Origin", Some("http://good.example")),
        None,
    )
    .await;
    assert_eq!(good.status, 101, "{}", good.head);
    assert_eq!(
        good.header("sec-websocket-origin"),
        Some("http://good.example")
    );
    let mut ws = good.ws;
    ws.expect_sample_digest().await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("1::"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flashsocket_kick_sends_disconnect_then_closes() {
    let server = TestServer::start(flash_config()).await;
    let (sid, mut ws) = server.connected_hixie("flashsocket").await;
    ws.send_text(r#"5:::{"name":"kick"}"#).await;
    let messages = ws
        .messages_until_closed(WAIT)
        .await
        .expect("the server closes after a kick");
    let (first, rest) = messages.split_first().expect("a 0:: message");
    assert_eq!(first.text().as_deref(), Some("0::"));
    assert!(rest.iter().all(|m| *m == HixieMessage::Close), "{rest:?}");
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::Booted))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flashsocket_closing_handshake_is_answered_and_ends_the_session() {
    let server = TestServer::start(flash_config()).await;
    let (sid, mut ws) = server.connected_hixie("flashsocket").await;
    ws.write_raw(&[0xFF, 0x00]).await;
    let rest = ws
        .messages_until_closed(WAIT)
        .await
        .expect("the server closes TCP");
    assert_eq!(rest, [HixieMessage::Close], "FF 00 answered, then FIN");
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::SocketClose))
        .await;
    assert_eq!(server.hub.session_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flashsocket_tcp_close_ends_the_session() {
    let server = TestServer::start(flash_config()).await;
    let (sid, ws) = server.connected_hixie("flashsocket").await;
    drop(ws);
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::SocketEnd))
        .await;
    assert_eq!(server.poll(&sid).await, "7:::1+0");
}

/// The Flash movie's two files as the client computes their paths: the resource, then
/// `static/flashsocket/WebSocketMain.swf` (`…Insecure.swf` for a page of another domain).
const FLASH_MOVIE_FILES: [&str; 2] = ["WebSocketMain.swf", "WebSocketMainInsecure.swf"];

/// How long the movie may be cached: a week (`crates/server/src/static_files.rs`).
const FLASH_MOVIE_CACHE_CONTROL: &str = "public, max-age=604800";

/// `file` of socket.io-client 0.9.17's `dist/`, from the copy `npm ci` installed in tests/
/// independently of `static/flashsocket/install.sh`; fails when it is not there.
fn npm_flash_movie(file: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "node_modules/socket.io-client/dist",
        file,
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error}; run `npm ci` in tests/ (tests/run.sh does)",
            path.display()
        )
    })
}

/// The path of the movie's `file` under `resource`.
fn flash_movie_path(resource: &str, file: &str) -> String {
    format!("{resource}/static/flashsocket/{file}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c52_the_flash_movie_is_the_npm_packages_byte_for_byte_with_head_and_revalidation() {
    let server = TestServer::start(flash_config()).await;
    let mut etags = Vec::new();
    for file in FLASH_MOVIE_FILES {
        let path = flash_movie_path("/socket.io", file);
        let expected = npm_flash_movie(file);
        let movie = server.get(&path).await;
        assert_eq!(movie.status, 200, "{path}: {}", movie.text());
        assert!(
            movie.body == expected,
            "{path}: {} bytes served, not the package's {} (a build without the movie, or another \
             one: run static/flashsocket/install.sh and rebuild)",
            movie.body.len(),
            expected.len()
        );
        assert_eq!(
            movie.header("content-type"),
            Some("application/x-shockwave-flash"),
            "{path}"
        );
        let length = expected.len().to_string();
        assert_eq!(movie.header("content-length"), Some(length.as_str()));
        assert_eq!(
            movie.header("cache-control"),
            Some(FLASH_MOVIE_CACHE_CONTROL)
        );
        let etag = movie.header("etag").expect("an ETag").to_owned();

        let head = server.request(Method::HEAD, &path, &[], "").await;
        assert_eq!(head.status, 200, "{path}");
        assert!(head.body.is_empty(), "{path}: HEAD has no body");
        for name in ["content-type", "content-length", "cache-control", "etag"] {
            assert_eq!(head.header(name), movie.header(name), "{path}: HEAD {name}");
        }

        let revalidated = server
            .request(Method::GET, &path, &[("if-none-match", &etag)], "")
            .await;
        assert_eq!(revalidated.status, 304, "{path}");
        assert!(revalidated.body.is_empty());
        assert_eq!(revalidated.header("etag"), Some(etag.as_str()));
        assert_eq!(
            revalidated.header("cache-control"),
            Some(FLASH_MOVIE_CACHE_CONTROL)
        );
        let stale = server
            .request(Method::GET, &path, &[("if-none-match", "\"stale\"")], "")
            .await;
        assert_eq!(stale.status, 200, "{path}");
        assert!(
            stale.body == expected,
            "{path}: a stale ETag gets the movie"
        );

        let post = server.request(Method::POST, &path, &[], "x").await;
        assert_eq!(post.status, 405, "{path}");
        etags.push(etag);
    }
    assert_ne!(etags[0], etags[1], "two files, two ETags");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flash_movie_is_served_under_the_configured_resource() {
    let mut config = flash_config();
    config.resource = "/realtime".to_owned();
    let server = TestServer::start(config).await;
    for file in FLASH_MOVIE_FILES {
        let movie = server.get(&flash_movie_path("/realtime", file)).await;
        assert_eq!(movie.status, 200, "{file}: {}", movie.text());
        assert!(movie.body == npm_flash_movie(file), "{file}");
        let elsewhere = server.get(&flash_movie_path("/socket.io", file)).await;
        assert_eq!(elsewhere.status, 404, "{file} outside the resource");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flash_movie_is_not_found_while_flashsocket_is_off() {
    let server = TestServer::start_default().await;
    for file in FLASH_MOVIE_FILES {
        let path = flash_movie_path("/socket.io", file);
        for method in [Method::GET, Method::HEAD] {
            let refused = server.request(method.clone(), &path, &[], "").await;
            assert_eq!(refused.status, 404, "{method} {path}");
            assert_ne!(
                refused.header("content-type"),
                Some("application/x-shockwave-flash"),
                "{method} {path}"
            );
        }
        assert_eq!(server.get(&path).await.text(), "Not Found", "{path}");
    }
}
