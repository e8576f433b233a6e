//! The websocket transport over real TCP, byte by byte where docs/protocol.md is (docs/protocol.md
//! §5.1, §9 C43–C49), in every protocol it speaks: RFC 6455, hybi-07/08 and hixie-76 (C51).

use std::time::{Duration, Instant};

use ferrio_hub::{DisconnectReason, Origins};
use ferrio_server::ServerConfig;
use ferrio_server::apps::conformance::Observation;
use ferrio_testkit::{
    Frame, HixieMessage, HixieWs, LengthForm, RawWs, SAMPLE_MASK, TestServer, any_connection,
    any_disconnect, any_disconnect_of, assert_c51_reply, assert_held_then_freed,
    assert_unanswered_heartbeat_timeline, disconnected, echo_of_length, encode_frame,
    encode_frame_with, forced_disconnect_path, hixie_headers_with, hixie_sample_headers,
    hixie_text, hixie_upgrade, is_connection, next_text_within, opcode, raw_upgrade,
    raw_upgrade_version, retry_until, send_text, weighing_memory, write_timeout_config, ws_path,
    xhr_path,
};
use http::Method;
use serde_json::json;
use tokio::io::AsyncWriteExt;

const WAIT: Duration = Duration::from_secs(2);

/// Asserts `frame` is what the server must send for `text`: one unmasked FIN text frame.
fn assert_server_text(frame: &Frame, text: &str) {
    assert!(frame.fin, "fragmented: {frame:?}");
    assert_eq!(frame.rsv, 0);
    assert_eq!(frame.opcode, opcode::TEXT);
    assert!(!frame.masked, "server frames are never masked");
    assert_eq!(frame.text(), text);
}

/// Asserts every frame is a close frame (what may come between the last packet and the FIN).
fn assert_only_close_frames(frames: &[Frame]) {
    assert!(
        frames.iter().all(|f| f.opcode == opcode::CLOSE),
        "{frames:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c43_upgrade_answers_101_and_connect_frame() {
    let server = TestServer::start_default().await;
    let sid = server.handshake().await;
    let upgrade = raw_upgrade(server.addr, &ws_path(&sid), &[]).await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    assert_eq!(
        upgrade.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert!(
        upgrade
            .header("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    );
    assert!(
        upgrade
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("upgrade"))
    );
    assert_eq!(upgrade.header("sec-websocket-protocol"), None);
    let mut ws = upgrade.ws;
    let first = ws.read_frame(WAIT).await.expect("first frame");
    let bytes: Vec<u8> = first.header.iter().chain(&first.payload).copied().collect();
    assert_eq!(bytes, [0x81, 0x03, 0x31, 0x3A, 0x3A]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c44_one_packet_per_frame_both_ways() {
    let server = TestServer::start_default().await;
    let (_sid, mut ws) = server.connected_raw_websocket().await;
    let echo = r#"5:::{"name":"echo","args":["hey"]}"#;
    ws.send_text(echo).await;
    let frame = ws.read_frame(WAIT).await.expect("echo frame");
    assert_server_text(&frame, echo);

    ws.send_text(r#"5:::{"name":"multi"}"#).await;
    let expected = [
        r#"5:::{"name":"a","args":[1]}"#,
        r#"5:::{"name":"b","args":["é€😀"]}"#,
        "3:::x",
    ];
    for text in expected {
        let frame = ws.read_frame(WAIT).await.expect("multi frame");
        assert!(
            !frame.text().contains('\u{FFFD}'),
            "framed payload on websocket: {:?}",
            frame.text()
        );
        assert_server_text(&frame, text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c45_unknown_sid_gets_error_frame_then_close() {
    let server = TestServer::start_default().await;
    let upgrade = raw_upgrade(server.addr, &ws_path("nosuchsession"), &[]).await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    let mut ws = upgrade.ws;
    let frames = ws
        .frames_until_closed(WAIT)
        .await
        .expect("the server closes the connection");
    let (first, rest) = frames.split_first().expect("an error frame");
    assert_server_text(first, "7:::1+0");
    assert_only_close_frames(rest);
    assert_eq!(server.hub.session_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_session_during_a_shutdown_gets_503_like_every_transport() {
    let server = TestServer::start_default().await;
    let upgrade = raw_upgrade(server.addr, &ws_path("nosuchsession"), &[]).await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    server.hub.shutdown();
    // A client that lost its session reconnects elsewhere, as a poller told `503` does.
    let upgrade = raw_upgrade(server.addr, &ws_path("nosuchsession"), &[]).await;
    assert_eq!(upgrade.status, 503, "{}", upgrade.head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c46_unanswered_heartbeat_closes_the_connection_a() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut ws) = server.connected_raw_websocket().await;
    let frames = assert_unanswered_heartbeat_timeline(
        &mut ws,
        async |ws, timeout| assert_eq!(ws.next_text(timeout).await.as_deref(), Some("2::")),
        async |ws, timeout| {
            ws.frames_until_closed(timeout)
                .await
                .expect("closed after the heartbeat timeout")
        },
    )
    .await;
    assert_only_close_frames(&frames);
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::HeartbeatTimeout))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c46_answered_heartbeats_keep_the_connection_b() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut ws) = server.connected_raw_websocket().await;
    let opened = Instant::now();
    // Other traffic does not move the heartbeat (docs/protocol.md §4.3).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let echo = r#"5:::{"name":"echo","args":["early"]}"#;
    ws.send_text(echo).await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some(echo));
    assert_eq!(
        ws.next_text(Duration::from_secs(3)).await.as_deref(),
        Some("2::")
    );
    let first = opened.elapsed();
    assert!(
        first >= Duration::from_millis(2500) && first <= Duration::from_secs(4),
        "first heartbeat after {first:?}"
    );
    ws.send_text("2::").await;
    // Then at about 6 and 9 s; the last comes after the 8 s an unanswered first heartbeat
    // would have allowed.
    for _ in 0..2 {
        assert_eq!(
            ws.next_text(Duration::from_secs(5)).await.as_deref(),
            Some("2::")
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
    assert!(!server.log.entries().iter().any(any_disconnect(&sid)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c47_ping_gets_pong_and_lengths_use_right_forms() {
    let server = TestServer::start_default().await;
    let (_sid, mut ws) = server.connected_raw_websocket().await;
    let ping = encode_frame(opcode::PING, b"ab", Some(SAMPLE_MASK));
    assert_eq!(ping[..2], [0x89, 0x82]);
    ws.write_raw(&ping).await;
    let pong = ws.read_frame(WAIT).await.expect("pong");
    let bytes: Vec<u8> = pong.header.iter().chain(&pong.payload).copied().collect();
    assert_eq!(bytes, [0x8A, 0x02, 0x61, 0x62]);

    let cases: [(usize, LengthForm, &[u8]); 5] = [
        (125, LengthForm::Short, &[0x81, 125]),
        (126, LengthForm::Extended16, &[0x81, 126, 0x00, 0x7E]),
        (65_535, LengthForm::Extended16, &[0x81, 126, 0xFF, 0xFF]),
        (
            65_536,
            LengthForm::Extended64,
            &[0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00],
        ),
        (
            70_000,
            LengthForm::Extended64,
            &[0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70],
        ),
    ];
    for (length, form, header) in cases {
        let packet = echo_of_length(length);
        ws.send_text(&packet).await;
        let frame = ws
            .read_frame(WAIT)
            .await
            .unwrap_or_else(|| panic!("no echo of {length} bytes"));
        assert_eq!(frame.payload.len(), length);
        assert_eq!(frame.length_form, form, "{length} bytes");
        assert_eq!(frame.header, header, "{length} bytes");
        assert_server_text(&frame, &packet);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c48_client_close_frame_is_answered_and_ends_the_session() {
    let server = TestServer::start_default().await;
    let (sid, mut ws) = server.connected_raw_websocket().await;
    ws.send_frame(opcode::CLOSE, &1000u16.to_be_bytes()).await;
    let frames = ws
        .frames_until_closed(WAIT)
        .await
        .expect("the server closes TCP");
    assert!(!frames.is_empty(), "no close frame before the TCP close");
    assert_only_close_frames(&frames);
    assert!(!frames[0].masked);
    server
        .assert_observed(
            Duration::from_secs(1),
            disconnected(&sid, DisconnectReason::SocketClose),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c49_upgrade_from_bad_origin_is_refused() {
    let mut config = ServerConfig::default();
    config.hub.origins = "good.example:80".parse::<Origins>().expect("origins");
    let server = TestServer::start(config).await;
    let sid = server.handshake_from_origin("http://good.example").await;

    let evil = raw_upgrade(
        server.addr,
        &ws_path(&sid),
        &[("Origin", "http://evil.example")],
    )
    .await;
    assert_ne!(evil.status, 101, "{}", evil.head);
    assert!(!server.log.entries().iter().any(is_connection));

    // The refused attempt did not use the session up; the right origin connects it.
    let good = raw_upgrade(
        server.addr,
        &ws_path(&sid),
        &[("Origin", "http://good.example")],
    )
    .await;
    assert_eq!(good.status, 101, "{}", good.head);
    let mut ws = good.ws;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("1::"));
}

// ---------------------------------------------------------------------------------------------
// Beyond the byte-level cases: acks, kick, limits and mixing transports.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_3_acks_round_trip_over_websocket() {
    let server = TestServer::start_default().await;
    let (sid, mut ws) = server.connected_websocket().await;
    send_text(&mut ws, r#"5:1+::{"name":"echo","args":["x",2]}"#).await;
    assert_eq!(
        next_text_within(&mut ws, WAIT).await.as_deref(),
        Some(r#"6:::1+["x",2]"#)
    );

    send_text(&mut ws, r#"5:::{"name":"askack"}"#).await;
    let question = next_text_within(&mut ws, WAIT).await.expect("question");
    let question_id = question
        .strip_prefix("5:")
        .and_then(|rest| rest.strip_suffix(r#"+::{"name":"q","args":[1]}"#))
        .unwrap_or_else(|| panic!("{question}"))
        .to_owned();
    let hello = next_text_within(&mut ws, WAIT).await.expect("hello");
    let hello_id = hello
        .strip_prefix("3:")
        .and_then(|rest| rest.strip_suffix("::hello"))
        .unwrap_or_else(|| panic!("{hello}"))
        .to_owned();
    send_text(&mut ws, &format!(r#"6:::{question_id}+["A",{{"b":1}}]"#)).await;
    send_text(&mut ws, &format!("6:::{hello_id}")).await;
    assert_eq!(
        server
            .log
            .wait_for(WAIT, |o| matches!(o, Observation::AckedQuestion { .. }))
            .await,
        Some(Observation::AckedQuestion {
            sid: sid.clone(),
            args: vec![json!("A"), json!({"b": 1})]
        })
    );
    assert_eq!(
        server
            .log
            .wait_for(WAIT, |o| matches!(o, Observation::AckedHello { .. }))
            .await,
        Some(Observation::AckedHello { sid })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_8_kick_sends_disconnect_frame_then_closes() {
    let server = TestServer::start_default().await;
    let (sid, mut ws) = server.connected_raw_websocket().await;
    ws.send_text(r#"5:::{"name":"kick"}"#).await;
    let frames = ws
        .frames_until_closed(WAIT)
        .await
        .expect("the server closes after a kick");
    let (first, rest) = frames.split_first().expect("a 0:: frame");
    assert_server_text(first, "0::");
    assert_only_close_frames(rest);
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::Booted))
        .await;
    assert_eq!(server.hub.session_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s8_12_oversized_message_closes_only_that_connection() {
    let mut config = ServerConfig::default();
    config.websocket.max_message_bytes = 1024;
    let server = TestServer::start(config).await;
    let (big_sid, mut big) = server.connected_raw_websocket().await;
    let (_sid, mut other) = server.connected_raw_websocket().await;
    // At the limit is fine…
    let fits = echo_of_length(1024);
    big.send_text(&fits).await;
    assert_eq!(big.next_text(WAIT).await.as_deref(), Some(fits.as_str()));
    // …above it ends the connection.
    big.send_text(&echo_of_length(2048)).await;
    let frames = big
        .frames_until_closed(WAIT)
        .await
        .expect("the oversized sender is disconnected");
    assert!(
        frames.iter().all(|f| f.opcode != opcode::TEXT),
        "{frames:?}"
    );
    server
        .assert_observed(WAIT, disconnected(&big_sid, DisconnectReason::SocketError))
        .await;
    let echo = r#"5:::{"name":"echo","args":["still here"]}"#;
    other.send_text(echo).await;
    assert_eq!(other.next_text(WAIT).await.as_deref(), Some(echo));
    let (_fresh, mut fresh) = server.connected_raw_websocket().await;
    fresh.send_text(echo).await;
    assert_eq!(fresh.next_text(WAIT).await.as_deref(), Some(echo));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c34_websocket_and_polling_clients_share_a_room() {
    let server = TestServer::start_default().await;
    let (_ws_sid, mut ws) = server.connected_websocket().await;
    let polling = server.connected_polling_session().await;
    send_text(&mut ws, r#"5:::{"name":"join","args":["r"]}"#).await;
    server
        .post_packets(&polling, r#"5:::{"name":"join","args":["r"]}"#)
        .await;

    // websocket → polling
    send_text(&mut ws, r#"5:::{"name":"toroom","args":["r","from ws"]}"#).await;
    let from_ws = r#"5:::{"name":"roommsg","args":["from ws"]}"#;
    assert_eq!(
        next_text_within(&mut ws, WAIT).await.as_deref(),
        Some(from_ws)
    );
    assert_eq!(server.poll(&polling).await, from_ws);

    // polling → websocket
    server
        .post_packets(&polling, r#"5:::{"name":"toroom","args":["r","from xhr"]}"#)
        .await;
    let from_xhr = r#"5:::{"name":"roommsg","args":["from xhr"]}"#;
    assert_eq!(
        next_text_within(&mut ws, WAIT).await.as_deref(),
        Some(from_xhr)
    );
    assert_eq!(server.poll(&polling).await, from_xhr);

    // broadcast both ways
    server
        .post_packets(&polling, r#"5:::{"name":"bcast","args":["to ws"]}"#)
        .await;
    assert_eq!(
        next_text_within(&mut ws, WAIT).await.as_deref(),
        Some(r#"5:::{"name":"bmsg","args":["to ws"]}"#)
    );
    send_text(&mut ws, r#"5:::{"name":"bcast","args":["to xhr"]}"#).await;
    assert_eq!(
        server.poll(&polling).await,
        r#"5:::{"name":"bmsg","args":["to xhr"]}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_6_tcp_close_ends_the_session_at_once() {
    let server = TestServer::start_default().await;
    let (sid, ws) = server.connected_raw_websocket().await;
    drop(ws);
    server
        .assert_observed(
            Duration::from_secs(1),
            disconnected(&sid, DisconnectReason::SocketEnd),
        )
        .await;
    assert_eq!(
        server.poll(&sid).await,
        "7:::1+0",
        "no close-timeout grace for streams"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_1_fragments_are_reassembled_and_binary_ignored() {
    let server = TestServer::start_default().await;
    let (sid, mut ws) = server.connected_raw_websocket().await;
    ws.write_raw(&encode_frame(
        opcode::BINARY,
        b"5:::{\"name\":\"kick\"}",
        Some(SAMPLE_MASK),
    ))
    .await;
    let echo = r#"5:::{"name":"echo","args":["in parts"]}"#;
    let (head, tail) = echo.split_at(12);
    ws.write_raw(&encode_frame_with(
        0x00,
        opcode::TEXT,
        head.as_bytes(),
        Some(SAMPLE_MASK),
    ))
    .await;
    ws.write_raw(&encode_frame_with(
        0x80,
        opcode::CONTINUATION,
        tail.as_bytes(),
        Some(SAMPLE_MASK),
    ))
    .await;
    let frame = ws
        .read_frame(WAIT)
        .await
        .expect("echo of the reassembled message");
    assert_server_text(&frame, echo);
    assert!(!server.log.entries().iter().any(any_disconnect(&sid)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_1_reserved_bits_end_the_connection() {
    let server = TestServer::start_default().await;
    let (sid, mut ws) = server.connected_raw_websocket().await;
    ws.write_raw(&encode_frame_with(
        0xC0,
        opcode::TEXT,
        b"2::",
        Some(SAMPLE_MASK),
    ))
    .await;
    let frames = ws
        .frames_until_closed(WAIT)
        .await
        .expect("the server ends the connection");
    assert_only_close_frames(&frames);
    server.assert_observed(WAIT, any_disconnect(&sid)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_7_forced_disconnect_reaches_an_open_websocket() {
    let server = TestServer::start_default().await;
    let (sid, mut ws) = server.connected_raw_websocket().await;
    let forced = server.get(&forced_disconnect_path(&sid)).await;
    assert_eq!(forced.status, 200);
    let frames = ws
        .frames_until_closed(WAIT)
        .await
        .expect("closed after the forced disconnect");
    let (first, rest) = frames.split_first().expect("a 0:: frame");
    assert_server_text(first, "0::");
    assert_only_close_frames(rest);
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::Booted))
        .await;
}

#[tokio::test]
async fn s8_09_options_and_put_on_the_websocket_url_are_answered() {
    let server = TestServer::start_default().await;
    let sid = server.handshake().await;
    let preflight = server
        .request(
            Method::OPTIONS,
            &ws_path(&sid),
            &[
                ("origin", "http://a.example"),
                ("access-control-request-method", "GET"),
            ],
            "",
        )
        .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://a.example")
    );
    let put = server.request(Method::PUT, &ws_path(&sid), &[], "x").await;
    assert_eq!(put.status, 405);
    let plain_get = server.get(&ws_path(&sid)).await;
    assert_eq!(plain_get.status, 400, "a GET without an upgrade is refused");
    // None of these touched the session: its first poll still gets `1::`.
    assert_eq!(server.get(&xhr_path(&sid)).await.text(), "1::");
}

// ---------------------------------------------------------------------------------------------
// The other protocols on the websocket path: hybi-07/08 and hixie-76 (docs/protocol.md §5.1, §5.2).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c51_hixie76_handshake_vector_on_the_websocket_path() {
    let server = TestServer::start_default().await;
    let sid = server.handshake().await;
    let path = ws_path(&sid);
    let upgrade = hixie_upgrade(server.addr, &path, &hixie_sample_headers(), None).await;
    let mut ws = assert_c51_reply(upgrade, &path).await;
    let echo = r#"5:::{"name":"echo","args":["hixie"]}"#;
    ws.send_text(echo).await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some(echo));
    server.assert_observed(WAIT, any_connection(&sid)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybi_drafts_8_and_7_upgrade_and_round_trip() {
    let server = TestServer::start_default().await;
    for version in ["8", "7"] {
        let sid = server.handshake().await;
        let upgrade = raw_upgrade_version(
            server.addr,
            &ws_path(&sid),
            version,
            &[("Sec-WebSocket-Origin", "http://example.com")],
        )
        .await;
        assert_eq!(upgrade.status, 101, "version {version}: {}", upgrade.head);
        assert_eq!(
            upgrade.header("sec-websocket-accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "version {version}"
        );
        let mut ws = upgrade.ws;
        let first = ws.read_frame(WAIT).await.expect("first frame");
        let bytes: Vec<u8> = first.header.iter().chain(&first.payload).copied().collect();
        assert_eq!(bytes, [0x81, 0x03, 0x31, 0x3A, 0x3A], "version {version}");
        let echo = r#"5:1+::{"name":"echo","args":["hybi"]}"#;
        ws.send_text(echo).await;
        let frame = ws.read_frame(WAIT).await.expect("ack frame");
        assert_server_text(&frame, r#"6:::1+["hybi"]"#);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybi_origin_check_reads_sec_websocket_origin() {
    let mut config = ServerConfig::default();
    config.hub.origins = "good.example:80".parse::<Origins>().expect("origins");
    let server = TestServer::start(config).await;
    for version in ["8", "7"] {
        let sid = server.handshake_from_origin("http://good.example").await;
        let evil = raw_upgrade_version(
            server.addr,
            &ws_path(&sid),
            version,
            &[("Sec-WebSocket-Origin", "http://evil.example")],
        )
        .await;
        assert_eq!(evil.status, 403, "version {version}: {}", evil.head);
        let good = raw_upgrade_version(
            server.addr,
            &ws_path(&sid),
            version,
            &[("Sec-WebSocket-Origin", "http://good.example")],
        )
        .await;
        assert_eq!(good.status, 101, "version {version}: {}", good.head);
        let mut ws = good.ws;
        assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("1::"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_websocket_versions_get_400_naming_13() {
    let server = TestServer::start_default().await;
    let sid = server.handshake().await;
    for version in ["6", "99", "12"] {
        let refused = raw_upgrade_version(server.addr, &ws_path(&sid), version, &[]).await;
        assert_eq!(refused.status, 400, "version {version}: {}", refused.head);
        assert_eq!(
            refused.header("sec-websocket-version"),
            Some("13"),
            "version {version}"
        );
    }
    // The refusals left the session alone.
    let upgrade = raw_upgrade(server.addr, &ws_path(&sid), &[]).await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    let mut ws = upgrade.ws;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("1::"));
}

/// The message lengths every protocol must frame right, both ways.
const DRAFT_LENGTHS: [usize; 6] = [0, 125, 126, 65_535, 65_536, 70_000];

/// The length header an RFC 6455 server frame of `length` text bytes must carry.
fn rfc_header(length: usize) -> (LengthForm, Vec<u8>) {
    match length {
        0..=125 => (LengthForm::Short, vec![0x81, length as u8]),
        126..=65_535 => {
            let mut header = vec![0x81, 126];
            header.extend_from_slice(&(length as u16).to_be_bytes());
            (LengthForm::Extended16, header)
        }
        _ => {
            let mut header = vec![0x81, 127];
            header.extend_from_slice(&(length as u64).to_be_bytes());
            (LengthForm::Extended64, header)
        }
    }
}

/// Sends an `echo` of each length of [`DRAFT_LENGTHS`] on an RFC-framed connection (the empty
/// message is ignored) and checks each echo frame byte for byte.
async fn rfc_lengths(server: &TestServer, version: &str) {
    let (sid, mut ws): (String, RawWs) = server.connected_raw_websocket_version(version).await;
    for length in DRAFT_LENGTHS {
        if length == 0 {
            ws.send_text("").await;
            let echo = r#"5:::{"name":"echo","args":["after empty"]}"#;
            ws.send_text(echo).await;
            let frame = ws.read_frame(WAIT).await.expect("echo after empty");
            assert_server_text(&frame, echo);
            continue;
        }
        let packet = echo_of_length(length);
        ws.send_text(&packet).await;
        let frame = ws
            .read_frame(WAIT)
            .await
            .unwrap_or_else(|| panic!("version {version}: no echo of {length} bytes"));
        let (form, header) = rfc_header(length);
        assert_eq!(frame.length_form, form, "version {version}, {length} bytes");
        assert_eq!(frame.header, header, "version {version}, {length} bytes");
        assert_eq!(frame.payload.len(), length);
        assert_server_text(&frame, &packet);
    }
    assert!(!any_disconnect_of(&server.log, &sid), "version {version}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draft_lengths_in_rfc6455() {
    let server = TestServer::start_default().await;
    rfc_lengths(&server, "13").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draft_lengths_in_hybi08() {
    let server = TestServer::start_default().await;
    rfc_lengths(&server, "8").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draft_lengths_in_hybi07() {
    let server = TestServer::start_default().await;
    rfc_lengths(&server, "7").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draft_lengths_in_hixie76() {
    let server = TestServer::start_default().await;
    let (sid, mut ws) = server.connected_hixie("websocket").await;
    for length in DRAFT_LENGTHS {
        if length == 0 {
            ws.write_raw(&[0x00, 0xFF]).await;
            let echo = r#"5:::{"name":"echo","args":["after empty"]}"#;
            ws.send_text(echo).await;
            assert_eq!(
                ws.read_bytes(echo.len() + 2, WAIT).await,
                Some(hixie_text(echo.as_bytes()))
            );
            continue;
        }
        let packet = echo_of_length(length);
        ws.send_text(&packet).await;
        let echoed = ws
            .read_bytes(length + 2, WAIT)
            .await
            .unwrap_or_else(|| panic!("no echo of {length} bytes"));
        assert!(
            echoed == hixie_text(packet.as_bytes()),
            "{length} bytes: the echo is not 00 + the packet + FF"
        );
    }
    assert_eq!(
        ws.read_message(Duration::from_millis(200)).await,
        None,
        "nothing after the echoes"
    );
    assert!(!any_disconnect_of(&server.log, &sid));
}

/// Reads until the server closes; asserts nothing but closing handshakes came first.
async fn assert_hixie_closed(ws: &mut HixieWs) {
    let messages = ws
        .messages_until_closed(WAIT)
        .await
        .expect("the server closes the connection");
    assert!(
        messages.iter().all(|m| *m == HixieMessage::Close),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hixie76_message_limit_closes_only_that_connection() {
    let mut config = ServerConfig::default();
    config.websocket.max_message_bytes = 1024;
    let server = TestServer::start(config).await;
    let (big_sid, mut big) = server.connected_hixie("websocket").await;
    let (open_sid, mut open_ended) = server.connected_hixie("websocket").await;
    let (_other, mut other) = server.connected_hixie("websocket").await;
    let (_rfc, mut rfc) = server.connected_raw_websocket().await;

    let fits = echo_of_length(1024);
    big.send_text(&fits).await;
    assert_eq!(big.next_text(WAIT).await.as_deref(), Some(fits.as_str()));
    big.send_text(&echo_of_length(1025)).await;
    assert_hixie_closed(&mut big).await;
    // A message that never ends is cut off once it passes the limit.
    let mut endless = vec![0x00];
    endless.extend_from_slice(&[b'a'; 2048]);
    open_ended.write_raw(&endless).await;
    assert_hixie_closed(&mut open_ended).await;
    for sid in [&big_sid, &open_sid] {
        server
            .assert_observed(WAIT, disconnected(sid, DisconnectReason::SocketError))
            .await;
    }

    let echo = r#"5:::{"name":"echo","args":["still here"]}"#;
    other.send_text(echo).await;
    assert_eq!(other.next_text(WAIT).await.as_deref(), Some(echo));
    rfc.send_text(echo).await;
    assert_eq!(rfc.next_text(WAIT).await.as_deref(), Some(echo));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hixie_and_rfc6455_clients_share_a_room() {
    let server = TestServer::start_default().await;
    let (_h_sid, mut hixie) = server.connected_hixie("websocket").await;
    let (_r_sid, mut rfc) = server.connected_raw_websocket().await;
    let join = r#"5:::{"name":"join","args":["r"]}"#;
    hixie.send_text(join).await;
    rfc.send_text(join).await;

    // emit: each gets its own echo.
    let echo = r#"5:::{"name":"echo","args":["é€😀",{"n":1}]}"#;
    hixie.send_text(echo).await;
    assert_eq!(hixie.next_text(WAIT).await.as_deref(), Some(echo));
    rfc.send_text(echo).await;
    assert_eq!(rfc.next_text(WAIT).await.as_deref(), Some(echo));

    // ack
    hixie
        .send_text(r#"5:1+::{"name":"echo","args":["h",1]}"#)
        .await;
    assert_eq!(
        hixie.next_text(WAIT).await.as_deref(),
        Some(r#"6:::1+["h",1]"#)
    );
    rfc.send_text(r#"5:7+::{"name":"echo","args":["r",2]}"#)
        .await;
    assert_eq!(
        rfc.next_text(WAIT).await.as_deref(),
        Some(r#"6:::7+["r",2]"#)
    );

    // toroom reaches both, whoever sends it (the join was processed: the echoes came after).
    hixie
        .send_text(r#"5:::{"name":"toroom","args":["r","from hixie"]}"#)
        .await;
    let from_hixie = r#"5:::{"name":"roommsg","args":["from hixie"]}"#;
    assert_eq!(hixie.next_text(WAIT).await.as_deref(), Some(from_hixie));
    assert_eq!(rfc.next_text(WAIT).await.as_deref(), Some(from_hixie));
    rfc.send_text(r#"5:::{"name":"toroom","args":["r","from rfc"]}"#)
        .await;
    let from_rfc = r#"5:::{"name":"roommsg","args":["from rfc"]}"#;
    assert_eq!(rfc.next_text(WAIT).await.as_deref(), Some(from_rfc));
    assert_eq!(hixie.next_text(WAIT).await.as_deref(), Some(from_rfc));

    // broadcast reaches the other one only: the sender's next message is its own echo.
    let marker = r#"5:::{"name":"echo","args":["marker"]}"#;
    hixie
        .send_text(r#"5:::{"name":"bcast","args":["to rfc"]}"#)
        .await;
    assert_eq!(
        rfc.next_text(WAIT).await.as_deref(),
        Some(r#"5:::{"name":"bmsg","args":["to rfc"]}"#)
    );
    hixie.send_text(marker).await;
    assert_eq!(hixie.next_text(WAIT).await.as_deref(), Some(marker));
    rfc.send_text(r#"5:::{"name":"bcast","args":["to hixie"]}"#)
        .await;
    assert_eq!(
        hixie.next_text(WAIT).await.as_deref(),
        Some(r#"5:::{"name":"bmsg","args":["to hixie"]}"#)
    );
    rfc.send_text(marker).await;
    assert_eq!(rfc.next_text(WAIT).await.as_deref(), Some(marker));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_hixie76_handshakes_are_refused() {
    let server = TestServer::start_default().await;
    let sid = server.handshake().await;
    let cases = [
        (
            "key without spaces",
            hixie_headers_with("Sec-WebSocket-Key1", Some("1868545188")),
        ),
        (
            "key not divisible",
            hixie_headers_with("Sec-WebSocket-Key2", Some("1 0 1")),
        ),
        (
            "key over 32 bits",
            hixie_headers_with("Sec-WebSocket-Key1", Some("99999999999 ")),
        ),
        (
            "missing Key2",
            hixie_headers_with("Sec-WebSocket-Key2", None),
        ),
        ("missing Origin", hixie_headers_with("Origin", None)),
        ("missing Host", hixie_headers_with("Host", None)),
    ];
    for (what, headers) in cases {
        let refused = hixie_upgrade(server.addr, &ws_path(&sid), &headers, None).await;
        assert_eq!(refused.status, 400, "{what}: {}", refused.head);
    }
    assert!(
        !server.log.entries().iter().any(is_connection),
        "a refused upgrade connected the session"
    );
    // The same session still connects, and so does a fresh one.
    let upgrade = hixie_upgrade(server.addr, &ws_path(&sid), &hixie_sample_headers(), None).await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    let mut ws = upgrade.ws;
    ws.expect_sample_digest().await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("1::"));
    let (_fresh, mut fresh) = server.connected_hixie("websocket").await;
    let echo = r#"5:::{"name":"echo","args":["fresh"]}"#;
    fresh.send_text(echo).await;
    assert_eq!(fresh.next_text(WAIT).await.as_deref(), Some(echo));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_hixie76_frames_close_only_that_connection() {
    let server = TestServer::start_default().await;
    let (_other_sid, mut other) = server.connected_hixie("websocket").await;
    let (_rfc_sid, mut rfc) = server.connected_raw_websocket().await;
    let bad_frames: [(&str, &[u8]); 3] = [
        ("frame type 0x80", &[0x80, 0x03, b'2', b':', b':']),
        (
            "invalid UTF-8",
            &[0x00, b'3', b':', b':', b':', 0xC3, 0x28, 0xFF],
        ),
        ("0xFF not followed by 0x00", &[0xFF, 0x01]),
    ];
    let echo = r#"5:::{"name":"echo","args":["unharmed"]}"#;
    for (what, bytes) in bad_frames {
        let (sid, mut bad) = server.connected_hixie("websocket").await;
        bad.write_raw(bytes).await;
        let messages = bad
            .messages_until_closed(WAIT)
            .await
            .unwrap_or_else(|| panic!("{what}: the connection stays open"));
        assert!(
            messages.iter().all(|m| *m == HixieMessage::Close),
            "{what}: {messages:?}"
        );
        assert!(
            server
                .log
                .wait_for(WAIT, disconnected(&sid, DisconnectReason::SocketError))
                .await
                .is_some(),
            "{what}: {:?}",
            server.log.entries()
        );
        other.send_text(echo).await;
        assert_eq!(other.next_text(WAIT).await.as_deref(), Some(echo), "{what}");
        rfc.send_text(echo).await;
        assert_eq!(rfc.next_text(WAIT).await.as_deref(), Some(echo), "{what}");
    }
}

/// The close code of the frames' last close frame, if any.
fn close_code(frames: &[Frame]) -> Option<u16> {
    let close = frames.iter().rev().find(|f| f.opcode == opcode::CLOSE)?;
    Some(u16::from_be_bytes([
        *close.payload.first()?,
        *close.payload.get(1)?,
    ]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_slow_readers_is_not_copied_per_reader() {
    const READERS: usize = 30;
    const BROADCAST: usize = 10 * 1024 * 1024;
    let _alone = weighing_memory().await;
    let mut config = ServerConfig::default();
    // Each reader must hold the broadcast in its outbox: this measures what the writers copy,
    // not the outbox's byte bound.
    config.hub.max_buffer_bytes = 64 * 1024 * 1024;
    let server = TestServer::start(config).await;
    let crowd = server.crowd(1, 1).await;
    let join = encode_frame(
        opcode::TEXT,
        br#"5:::{"name":"join","args":["slow"]}"#,
        Some(SAMPLE_MASK),
    );
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let (sid, mut stream) = server.stalled_websocket().await;
        stream.write_all(&join).await.expect("join");
        readers.push((sid, stream));
    }
    let joined = retry_until(
        WAIT,
        Duration::from_millis(20),
        async || server.hub.sockets().clients(Some("slow")).len(),
        |count| *count == READERS,
    )
    .await;
    assert!(joined.is_ok(), "{joined:?}");
    let before = server.allocated_bytes().await;
    let text = "x".repeat(BROADCAST);
    assert_eq!(
        server
            .hub
            .sockets()
            .to("slow")
            .emit_args("big", vec![json!(text)]),
        READERS
    );
    drop(text);
    // Every pump takes the packet and writes until its reader's buffers are full.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = server.allocated_bytes().await;
    let held = during - before;
    eprintln!(
        "10 MB broadcast to {READERS} stalled readers: allocated {:.1} MB before, {:.1} MB \
         while stalled, +{:.1} MB",
        before / 1e6,
        during / 1e6,
        held / 1e6
    );
    assert!(
        held < 3.0 * BROADCAST as f64,
        "the stalled writers hold {:.1} MB",
        held / 1e6
    );
    crowd.finish().await;
    drop(readers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_ended_at_the_write_timeout() {
    let server = TestServer::start(write_timeout_config()).await;
    let crowd = server.crowd(1, 1).await;
    let (sid, mut stalled) = server.stalled_websocket().await;
    server.emit_stalling_packet(&sid).await;
    server
        .assert_ended_at_write_timeout(&sid, &mut stalled)
        .await;
    crowd.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_messages_are_dropped_at_the_message_timeout_and_their_memory_freed() {
    const CLIENTS: usize = 30;
    const SENT: usize = 900 * 1024;
    let _alone = weighing_memory().await;
    let mut config = ServerConfig::default();
    config.websocket.message_timeout = Duration::from_secs(1);
    let server = TestServer::start(config).await;
    let crowd = server.crowd(1, 1).await;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(server.connected_raw_websocket().await);
    }
    let before = server.allocated_bytes().await;
    // A 1 MB message of which 900 KiB arrive, then nothing.
    let frame = encode_frame(opcode::TEXT, &vec![b'x'; 1_000_000], Some(SAMPLE_MASK));
    for (_, ws) in &mut clients {
        ws.write_raw(&frame[..SENT]).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = server.allocated_bytes().await;
    for (sid, ws) in &mut clients {
        let frames = ws
            .frames_until_closed(Duration::from_secs(3))
            .await
            .expect("the stalled sender is closed");
        assert_eq!(close_code(&frames), Some(1008), "{frames:?}");
        server
            .assert_observed(WAIT, disconnected(sid, DisconnectReason::ReadTimeout))
            .await;
    }
    let after = server.allocated_bytes().await;
    assert_held_then_freed(
        &format!("{CLIENTS} half-sent 1 MB messages, until the message timeout"),
        before,
        during,
        after,
        (CLIENTS * SENT / 2) as f64,
    );
    crowd.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_errors_oversize_messages_and_invalid_close_codes_close_with_their_codes() {
    let mut config = ServerConfig::default();
    config.websocket.max_message_bytes = 1024;
    let server = TestServer::start(config).await;
    let crowd = server.crowd(1, 1).await;
    let cases: [(&str, Vec<u8>, u16); 4] = [
        ("an unmasked frame", vec![0x81, 0x01, b'x'], 1002),
        (
            "a message over the limit",
            encode_frame(opcode::TEXT, &[b'x'; 2048], Some(SAMPLE_MASK)),
            1009,
        ),
        (
            "close code 999",
            encode_frame(opcode::CLOSE, &999u16.to_be_bytes(), Some(SAMPLE_MASK)),
            1002,
        ),
        (
            "close code 1005",
            encode_frame(opcode::CLOSE, &1005u16.to_be_bytes(), Some(SAMPLE_MASK)),
            1002,
        ),
    ];
    for (what, bytes, code) in cases {
        let (sid, mut ws) = server.connected_raw_websocket().await;
        ws.write_raw(&bytes).await;
        let frames = ws
            .frames_until_closed(WAIT)
            .await
            .unwrap_or_else(|| panic!("{what}: the connection is closed"));
        assert_eq!(close_code(&frames), Some(code), "{what}: {frames:?}");
        server
            .assert_observed(WAIT, disconnected(&sid, DisconnectReason::SocketError))
            .await;
    }
    // A valid close code is echoed, as before.
    let (_sid, mut ws) = server.connected_raw_websocket().await;
    ws.send_frame(opcode::CLOSE, &1000u16.to_be_bytes()).await;
    let frames = ws.frames_until_closed(WAIT).await.expect("closed");
    assert_eq!(close_code(&frames), Some(1000));
    crowd.finish().await;
}
