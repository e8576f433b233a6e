//! Engine.IO revision 4 over WebSocket, byte by byte over real TCP (socket.io-client 3.x–4.x):
//! a WebSocket opened directly, the upgrade of a polling session (probe, `noop` to the held
//! poll, `upgrade`), what is refused around it, server pings, and a client that breaks the
//! protocol.

use std::time::Duration;

use ferrio_server::ServerConfig;
use ferrio_testkit::{RawWs, TestServer, opcode, raw_upgrade, request};
use http::Method;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(2);
const SEPARATOR: char = '\u{1e}';

fn polling_path(query: &str) -> String {
    format!("/socket.io/?EIO=4&transport=polling{query}")
}

fn websocket_path(query: &str) -> String {
    format!("/socket.io/?EIO=4&transport=websocket{query}")
}

/// The `open` packet's JSON.
fn open_json(packet: &str) -> Value {
    serde_json::from_str(packet.strip_prefix('0').expect("an open packet")).expect("its JSON")
}

/// A WebSocket opened directly: its session id and the connection after the `open` packet.
async fn direct(server: &TestServer) -> (String, RawWs) {
    let upgrade = raw_upgrade(server.addr, &websocket_path(""), &[]).await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    let mut ws = upgrade.ws;
    let open = open_json(&ws.next_text(WAIT).await.expect("the open packet"));
    assert_eq!(
        open["upgrades"],
        serde_json::json!([]),
        "nothing to upgrade to"
    );
    (open["sid"].as_str().expect("a sid").to_owned(), ws)
}

/// A polling session joined to the default namespace, its confirmation taken.
async fn polling_session(server: &TestServer) -> String {
    let answer = server.get(&polling_path("")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let open = open_json(&answer.text());
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    let sid = open["sid"].as_str().expect("a sid").to_owned();
    assert_eq!(post(server, &sid, "40").await, (200, "ok".to_owned()));
    let confirm = server.get(&polling_path(&format!("&sid={sid}"))).await;
    assert!(
        confirm.text().starts_with("40{\"sid\":"),
        "{}",
        confirm.text()
    );
    sid
}

async fn post(server: &TestServer, sid: &str, body: &str) -> (u16, String) {
    let answer = request(
        server.addr,
        Method::POST,
        &polling_path(&format!("&sid={sid}")),
        &[("content-type", "text/plain;charset=UTF-8")],
        body.to_owned(),
    )
    .await;
    (answer.status, answer.text())
}

/// A held poll of `sid`, answered in the background.
fn held_poll(server: &TestServer, sid: &str) -> tokio::task::JoinHandle<(u16, String)> {
    let addr = server.addr;
    let path = polling_path(&format!("&sid={sid}"));
    tokio::spawn(async move {
        let answer = request(addr, Method::GET, &path, &[], String::new()).await;
        (answer.status, answer.text())
    })
}

/// Opens the upgrading WebSocket of `sid` and answers its probe.
async fn probed(server: &TestServer, sid: &str) -> RawWs {
    let upgrade = raw_upgrade(server.addr, &websocket_path(&format!("&sid={sid}")), &[]).await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    let mut ws = upgrade.ws;
    ws.send_text("2probe").await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("3probe"));
    ws
}

/// Asserts the server closes `ws` (a close frame at most before the end).
async fn assert_closed(ws: &mut RawWs) {
    let frames = ws
        .frames_until_closed(WAIT)
        .await
        .expect("the connection closes");
    assert!(
        frames.iter().all(|frame| frame.opcode == opcode::CLOSE),
        "{frames:?}"
    );
}

/// Asserts `sid` is gone: a poll is told its session is unknown.
async fn assert_session_gone(server: &TestServer, sid: &str) {
    let answer = server.get(&polling_path(&format!("&sid={sid}"))).await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(
        answer.text(),
        r#"{"code":1,"message":"Session ID unknown"}"#
    );
}

#[tokio::test]
async fn a_websocket_opened_directly_joins_emits_and_gets_acks() {
    let server = TestServer::start_default().await;
    let (sid, mut ws) = direct(&server).await;
    assert_eq!(sid.len(), 32);
    ws.send_text("40").await;
    let confirm = ws.next_text(WAIT).await.expect("the namespace's answer");
    assert!(confirm.starts_with("40{\"sid\":"), "{confirm}");
    // The conformance application echoes `echo` with an ack.
    ws.send_text(r#"427["echo",1,"two"]"#).await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some(r#"437[1,"two"]"#));
    ws.send_text("40/nope,").await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"44/nope,{"message":"Invalid namespace"}"#)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_polling_session_upgrades_after_its_probe_and_its_held_poll_gets_a_noop() {
    let server = TestServer::start_default().await;
    let sid = polling_session(&server).await;
    let poll = held_poll(&server, &sid);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!poll.is_finished(), "the poll is held until there is news");
    let mut ws = probed(&server, &sid).await;
    assert_eq!(
        tokio::time::timeout(WAIT, poll)
            .await
            .expect("the held poll is let go")
            .expect("joins"),
        (200, "6".to_owned())
    );
    // Sent while the client is between its probe and its `upgrade`: still delivered.
    assert_eq!(post(&server, &sid, r#"427["echo","between"]"#).await.0, 200);
    ws.send_text("5").await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"437["between"]"#),
        "what the session held goes to the websocket"
    );
    ws.send_text(r#"428["echo","over the websocket"]"#).await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"438["over the websocket"]"#)
    );
    // The session now lives on its websocket: polls and POSTs are refused, and it goes on.
    let late = server.get(&polling_path(&format!("&sid={sid}"))).await;
    assert_eq!(late.status, 400);
    assert_eq!(late.text(), r#"{"code":3,"message":"Bad request"}"#);
    assert_eq!(
        post(&server, &sid, "41").await,
        (400, r#"{"code":3,"message":"Bad request"}"#.to_owned())
    );
    let second = raw_upgrade(server.addr, &websocket_path(&format!("&sid={sid}")), &[]).await;
    assert_eq!(second.status, 101, "{}", second.head);
    let mut second = second.ws;
    assert_closed(&mut second).await;
    ws.send_text(r#"429["echo","still here"]"#).await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"439["still here"]"#)
    );
    server.stop().await;
}

#[tokio::test]
async fn packets_sent_right_behind_the_upgrade_packet_are_not_lost() {
    let server = TestServer::start_default().await;
    let sid = polling_session(&server).await;
    let mut ws = probed(&server, &sid).await;
    // Both frames in one write: the server reads them in one go.
    let mut both = ferrio_testkit::encode_frame(opcode::TEXT, b"5", Some([1, 2, 3, 4]));
    both.extend(ferrio_testkit::encode_frame(
        opcode::TEXT,
        br#"427["echo","behind"]"#,
        Some([5, 6, 7, 8]),
    ));
    ws.write_raw(&both).await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"437["behind"]"#)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_close_right_behind_the_upgrade_packet_is_answered_and_ends_the_session() {
    let server = TestServer::start_default().await;
    let sid = polling_session(&server).await;
    let mut ws = probed(&server, &sid).await;
    // A client that upgrades and leaves at once: `5` and the close frame in one read.
    let mut both = ferrio_testkit::encode_frame(opcode::TEXT, b"5", Some([1, 2, 3, 4]));
    both.extend(ferrio_testkit::encode_frame(
        opcode::CLOSE,
        &1000u16.to_be_bytes(),
        Some([5, 6, 7, 8]),
    ));
    ws.write_raw(&both).await;
    let frames = ws
        .frames_until_closed(WAIT)
        .await
        .expect("the server answers the close and ends the connection");
    assert_eq!(
        frames.iter().map(|frame| frame.opcode).collect::<Vec<_>>(),
        [opcode::CLOSE],
        "{frames:?}"
    );
    assert_session_gone(&server, &sid).await;
    server.stop().await;
}

#[tokio::test]
async fn websockets_for_unknown_or_busy_sessions_and_plain_gets_are_refused() {
    let server = TestServer::start_default().await;
    let unknown = raw_upgrade(server.addr, &websocket_path("&sid=nope"), &[]).await;
    assert_eq!(unknown.status, 400, "{}", unknown.head);
    let plain = server.get(&websocket_path("")).await;
    assert_eq!(plain.status, 400);
    assert_eq!(plain.text(), r#"{"code":3,"message":"Bad request"}"#);
    // While one websocket upgrades the session, another is refused; the first goes on.
    let sid = polling_session(&server).await;
    let mut first = probed(&server, &sid).await;
    let second = raw_upgrade(server.addr, &websocket_path(&format!("&sid={sid}")), &[]).await;
    assert_eq!(second.status, 101, "{}", second.head);
    let mut second = second.ws;
    assert_closed(&mut second).await;
    first.send_text("5").await;
    first.send_text(r#"421["echo","first"]"#).await;
    assert_eq!(
        first.next_text(WAIT).await.as_deref(),
        Some(r#"431["first"]"#)
    );
    server.stop().await;
}

#[tokio::test]
async fn an_upgrade_not_finished_in_time_closes_the_websocket_and_the_session_polls_on() {
    let server = TestServer::start_short_timers_with(|config: &mut ServerConfig| {
        config.hub.engine.upgrade_timeout = Duration::from_millis(300);
    })
    .await;
    let sid = polling_session(&server).await;
    let upgrade = raw_upgrade(server.addr, &websocket_path(&format!("&sid={sid}")), &[]).await;
    assert_eq!(upgrade.status, 101);
    let mut silent = upgrade.ws;
    assert_closed(&mut silent).await;
    assert_eq!(post(&server, &sid, r#"42["echo","polling"]"#).await.0, 200);
    let answer = server.get(&polling_path(&format!("&sid={sid}"))).await;
    assert_eq!(answer.status, 200, "the session polls on");
    // A later websocket may upgrade it after all.
    let mut ws = probed(&server, &sid).await;
    ws.send_text("5").await;
    ws.send_text(r#"421["echo","upgraded"]"#).await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"431["upgraded"]"#)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_breaks_the_upgrade_or_the_protocol_loses_its_session() {
    let server = TestServer::start_default().await;
    // `5` without a probe.
    let sid = polling_session(&server).await;
    let upgrade = raw_upgrade(server.addr, &websocket_path(&format!("&sid={sid}")), &[]).await;
    let mut ws = upgrade.ws;
    ws.send_text("5").await;
    assert_closed(&mut ws).await;
    assert_session_gone(&server, &sid).await;
    // A probe after the upgrade: revision 4 pings go from the server only.
    let sid = polling_session(&server).await;
    let mut ws = probed(&server, &sid).await;
    ws.send_text("5").await;
    ws.send_text("2probe").await;
    assert_closed(&mut ws).await;
    assert_session_gone(&server, &sid).await;
    // A message that is no Engine.IO packet, and a Socket.IO packet that is malformed.
    for garbage in ["x", "4{", "42[\"unterminated"] {
        let (sid, mut ws) = direct(&server).await;
        ws.send_text(garbage).await;
        assert_closed(&mut ws).await;
        assert_session_gone(&server, &sid).await;
    }
    // Every other session is untouched.
    let (_, mut ws) = direct(&server).await;
    ws.send_text("40").await;
    assert!(
        ws.next_text(WAIT)
            .await
            .is_some_and(|t| t.starts_with("40"))
    );
    server.stop().await;
}

#[tokio::test]
async fn the_server_pings_over_the_websocket_and_an_unanswered_ping_ends_the_session() {
    let server = TestServer::start_short_timers_with(|config: &mut ServerConfig| {
        config.hub.engine.ping_interval = Duration::from_millis(300);
        config.hub.engine.ping_timeout = Duration::from_millis(200);
    })
    .await;
    let (_, mut answered) = direct(&server).await;
    let (sid, mut silent) = direct(&server).await;
    answered.send_text("40").await;
    silent.send_text("40").await;
    assert!(answered.next_text(WAIT).await.is_some());
    assert!(silent.next_text(WAIT).await.is_some());
    for _ in 0..3 {
        assert_eq!(answered.next_text(WAIT).await.as_deref(), Some("2"));
        answered.send_text("3").await;
    }
    assert_eq!(silent.next_text(WAIT).await.as_deref(), Some("2"));
    assert_closed(&mut silent).await;
    assert_session_gone(&server, &sid).await;
    answered.send_text(r#"421["echo","alive"]"#).await;
    let mut texts = Vec::new();
    while let Some(text) = answered.next_text(WAIT).await {
        if text == "2" {
            answered.send_text("3").await;
            continue;
        }
        texts.push(text);
        break;
    }
    assert_eq!(texts, [r#"431["alive"]"#]);
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_client_and_a_polling_one_chat_in_one_room() {
    let server = TestServer::start_default().await;
    ferrio_server::apps::install(ferrio_server::AppKind::Chat, &server.hub);
    let (_, mut ws) = direct(&server).await;
    ws.send_text("40").await;
    assert!(ws.next_text(WAIT).await.is_some());
    let sid = polling_session(&server).await;
    ws.send_text(r#"42["toServer",{"nome":"ws","msg":"hi"}]"#)
        .await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"42["toClient","ws:hi"]"#)
    );
    let heard = server
        .get(&polling_path(&format!("&sid={sid}")))
        .await
        .text();
    let packets: Vec<&str> = heard.split(SEPARATOR).collect();
    assert_eq!(packets, [r#"42["toClient","ws:hi"]"#]);
    server.stop().await;
}

#[tokio::test]
async fn a_session_that_ends_during_its_upgrade_closes_the_upgrading_websocket() {
    let server = TestServer::start_default().await;
    let sid = polling_session(&server).await;
    let mut ws = probed(&server, &sid).await;
    server.hub.disconnect(&sid);
    assert_closed(&mut ws).await;
    assert_session_gone(&server, &sid).await;
    server.stop().await;
}

#[tokio::test]
async fn a_revision_3_websocket_is_connected_unasked_and_answers_client_pings() {
    let server = TestServer::start_default().await;
    let upgrade = raw_upgrade(server.addr, "/socket.io/?EIO=3&transport=websocket", &[]).await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    let mut ws = upgrade.ws;
    let open = open_json(&ws.next_text(WAIT).await.expect("the open packet"));
    assert!(
        open.get("maxPayload").is_none(),
        "revision 3 announces none"
    );
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("40"));
    ws.send_text("2").await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("3"));
    ws.send_text("2probe").await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("3probe"));
    ws.send_text(r#"421["echo","v3"]"#).await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some(r#"431["v3"]"#));
    // A pong is the server's to send on revision 3: the session ends.
    ws.send_text("3").await;
    assert_closed(&mut ws).await;
    server.stop().await;
}

#[tokio::test]
async fn binary_attachments_travel_as_binary_messages() {
    let server = TestServer::start_default().await;
    let (_, mut ws) = direct(&server).await;
    ws.send_text("40").await;
    assert!(ws.next_text(WAIT).await.is_some());
    ws.send_text(r#"451-1["echo",{"_placeholder":true,"num":0}]"#)
        .await;
    ws.send_frame(opcode::BINARY, &[1, 2, 3, 255]).await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"461-1[{"_placeholder":true,"num":0}]"#)
    );
    let attachment = ws.read_frame(WAIT).await.expect("the attachment");
    assert_eq!(attachment.opcode, opcode::BINARY);
    assert_eq!(attachment.payload, [1, 2, 3, 255]);
    // Revision 3 puts the message type byte before the data, both ways.
    let upgrade = raw_upgrade(server.addr, "/socket.io/?EIO=3&transport=websocket", &[]).await;
    let mut v3 = upgrade.ws;
    assert!(v3.next_text(WAIT).await.is_some(), "the open packet");
    assert_eq!(v3.next_text(WAIT).await.as_deref(), Some("40"));
    v3.send_text(r#"451-1["echo",{"_placeholder":true,"num":0}]"#)
        .await;
    v3.send_frame(opcode::BINARY, &[4, 9, 8]).await;
    assert_eq!(
        v3.next_text(WAIT).await.as_deref(),
        Some(r#"461-1[{"_placeholder":true,"num":0}]"#)
    );
    let attachment = v3.read_frame(WAIT).await.expect("the attachment");
    assert_eq!(attachment.opcode, opcode::BINARY);
    assert_eq!(attachment.payload, [4, 9, 8]);
    server.stop().await;
}

#[tokio::test]
async fn the_chat_hands_a_line_s_binary_data_on_to_every_generation() {
    let server = TestServer::start_default().await;
    ferrio_server::apps::install(ferrio_server::AppKind::Chat, &server.hub);
    let legacy = server.handshake().await;
    assert_eq!(server.poll_packets(&legacy).await, ["1::"]);
    let (_, mut ws) = direct(&server).await;
    ws.send_text("40").await;
    assert!(ws.next_text(WAIT).await.is_some());
    ws.send_text(r#"451-["toServer",{"nome":"a","msg":"b","data":{"_placeholder":true,"num":0}}]"#)
        .await;
    ws.send_frame(opcode::BINARY, &[7, 0, 255]).await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"451-["toClient","a:b",{"_placeholder":true,"num":0}]"#)
    );
    let attachment = ws.read_frame(WAIT).await.expect("the attachment");
    assert_eq!(
        (attachment.opcode, attachment.payload),
        (opcode::BINARY, vec![7, 0, 255])
    );
    assert_eq!(
        server.poll_packets(&legacy).await,
        [r#"5:::{"name":"toClient","args":["a:b",{"type":"Buffer","data":[7,0,255]}]}"#]
    );
    server.stop().await;
}

#[tokio::test]
async fn the_suite_app_answers_as_the_official_test_suite_expects() {
    let server = TestServer::start_default().await;
    let hub = server.hub.clone();
    // A gateway of its own would run `--app suite`; here the fixture joins the test app.
    ferrio_server::apps::install(ferrio_server::AppKind::Suite, &hub);
    let (_, mut ws) = direct(&server).await;
    ws.send_text(r#"40{"token":"123"}"#).await;
    assert!(
        ws.next_text(WAIT)
            .await
            .is_some_and(|t| t.starts_with("40{"))
    );
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"42["auth",{"token":"123"}]"#)
    );
    ws.send_text("40/custom,").await;
    assert!(
        ws.next_text(WAIT)
            .await
            .is_some_and(|t| t.starts_with("40/custom,{"))
    );
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"42/custom,["auth",{}]"#)
    );
    ws.send_text(r#"42["message",1,"2",{"3":[true]}]"#).await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"42["message-back",1,"2",{"3":[true]}]"#)
    );
    ws.send_text(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#)
        .await;
    assert_eq!(
        ws.next_text(WAIT).await.as_deref(),
        Some(r#"43456[1,"2",{"3":[false]}]"#)
    );
    // Leaving the default namespace leaves the connection open: it joins again.
    ws.send_text("41").await;
    ws.send_text("40").await;
    assert!(
        ws.next_text(WAIT)
            .await
            .is_some_and(|t| t.starts_with("40{"))
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_closing_its_session_lets_the_held_poll_go_with_a_noop() {
    let server = TestServer::start_default().await;
    let sid = polling_session(&server).await;
    let poll = held_poll(&server, &sid);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(post(&server, &sid, "1").await, (200, "ok".to_owned()));
    assert_eq!(
        tokio::time::timeout(WAIT, poll)
            .await
            .expect("answered")
            .expect("joins"),
        (200, "6".to_owned())
    );
    assert_session_gone(&server, &sid).await;
    server.stop().await;
}

#[tokio::test]
async fn the_suite_app_serves_a_bare_engine_io_echo_at_engine_io() {
    let server = TestServer::start_short_timers_with(|config: &mut ServerConfig| {
        config.app = ferrio_server::AppKind::Suite;
    })
    .await;
    let open = server.get("/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(open.status, 200, "{}", open.text());
    let sid = open_json(&open.text())["sid"]
        .as_str()
        .expect("a sid")
        .to_owned();
    let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let posted = request(
        server.addr,
        Method::POST,
        &path,
        &[("content-type", "text/plain;charset=UTF-8")],
        "4hello\u{1e}bAQIDBA==",
    )
    .await;
    assert_eq!(posted.text(), "ok");
    assert_eq!(server.get(&path).await.text(), "4hello\u{1e}bAQIDBA==");
    let upgrade = raw_upgrade(server.addr, "/engine.io/?EIO=4&transport=websocket", &[]).await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.head);
    let mut ws = upgrade.ws;
    assert!(ws.next_text(WAIT).await.is_some(), "the open packet");
    ws.send_text("4hi").await;
    assert_eq!(ws.next_text(WAIT).await.as_deref(), Some("4hi"));
    ws.send_frame(opcode::BINARY, &[1, 2, 3]).await;
    let frame = ws.read_frame(WAIT).await.expect("the binary echo");
    assert_eq!(
        (frame.opcode, frame.payload),
        (opcode::BINARY, vec![1, 2, 3])
    );
    // Elsewhere, and with other applications, /engine.io/ is not served.
    let plain = TestServer::start_default().await;
    assert_eq!(
        plain
            .get("/engine.io/?EIO=4&transport=polling")
            .await
            .status,
        404
    );
    plain.stop().await;
    server.stop().await;
}
