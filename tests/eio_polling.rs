//! Engine.IO revision 4 long-polling over real TCP (socket.io-client 3.x–4.x): the handshake
//! and its refusals, held GETs and POSTed payloads, Socket.IO namespaces, events, acks and a
//! chat shared with a 0.9 client, pings, overlapping polls and malformed payloads.

use std::time::Duration;

use ferrio_server::ServerConfig;
use ferrio_testkit::{TestServer, request, xhr_path};
use http::Method;
use serde_json::Value;

const SEPARATOR: char = '\u{1e}';

fn path(query: &str) -> String {
    format!("/socket.io/?EIO=4&transport=polling{query}")
}

fn session_path(sid: &str) -> String {
    path(&format!("&sid={sid}"))
}

/// A handshake; the `open` packet's JSON.
async fn open(server: &TestServer) -> Value {
    let answer = server.get(&path("")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let text = answer.text();
    serde_json::from_str(text.strip_prefix('0').expect("an open packet")).expect("its JSON")
}

/// A handshake; the session id.
async fn sid(server: &TestServer) -> String {
    open(server).await["sid"]
        .as_str()
        .expect("a sid")
        .to_owned()
}

async fn post(server: &TestServer, sid: &str, packets: &[&str]) -> (u16, String) {
    let body = packets.join(&SEPARATOR.to_string());
    let answer = request(
        server.addr,
        Method::POST,
        &session_path(sid),
        &[("content-type", "text/plain;charset=UTF-8")],
        body,
    )
    .await;
    (answer.status, answer.text())
}

/// One poll's packets.
async fn poll(server: &TestServer, sid: &str) -> Vec<String> {
    let answer = server.get(&session_path(sid)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.text().split(SEPARATOR).map(str::to_owned).collect()
}

/// A session joined to the default namespace, its `40{"sid":…}` taken.
async fn joined(server: &TestServer) -> String {
    let sid = sid(server).await;
    assert_eq!(post(server, &sid, &["40"]).await, (200, "ok".to_owned()));
    let confirm = poll(server, &sid).await;
    assert_eq!(confirm.len(), 1, "{confirm:?}");
    assert!(confirm[0].starts_with("40{\"sid\":"), "{confirm:?}");
    sid
}

#[tokio::test]
async fn the_handshake_opens_a_session_with_the_engine_timers() {
    let server = TestServer::start_default().await;
    let open = open(&server).await;
    assert_eq!(open["sid"].as_str().map(str::len), Some(32));
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["pingInterval"], 25_000);
    assert_eq!(open["pingTimeout"], 20_000);
    assert_eq!(open["maxPayload"], 1_000_000);
    server.stop().await;
}

#[tokio::test]
async fn bad_versions_transports_and_sessions_get_the_reference_errors() {
    let server = TestServer::start_default().await;
    for (query, body) in [
        (
            "/socket.io/?EIO=5&transport=polling",
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
        (
            "/socket.io/?transport=polling",
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
        (
            "/socket.io/?EIO=4&transport=carrier-pigeon",
            r#"{"code":0,"message":"Transport unknown"}"#,
        ),
        (
            "/socket.io/?EIO=4&transport=polling&sid=nope",
            r#"{"code":1,"message":"Session ID unknown"}"#,
        ),
    ] {
        let answer = server.get(query).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(answer.text(), body, "{query}");
    }
    let welcome = server.get("/socket.io/").await;
    assert_eq!(
        welcome.text(),
        "Welcome to socket.io.",
        "0.9's resource is untouched"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_socket_io_client_joins_emits_and_gets_acks() {
    let server = TestServer::start_default().await;
    let sid = joined(&server).await;
    // The conformance application echoes `echo` with an ack.
    assert_eq!(
        post(&server, &sid, &[r#"427["echo",1,"two"]"#]).await.0,
        200
    );
    assert_eq!(poll(&server, &sid).await, [r#"437[1,"two"]"#]);
    assert_eq!(post(&server, &sid, &["40/nope,"]).await.0, 200);
    assert_eq!(
        poll(&server, &sid).await,
        [r#"44/nope,{"message":"Invalid namespace"}"#]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_0_9_client_and_a_socket_io_client_chat_in_one_room() {
    let server = TestServer::start_default().await;
    ferrio_server::apps::install(ferrio_server::AppKind::Chat, &server.hub);
    let modern = joined(&server).await;
    let legacy = server.handshake().await;
    assert_eq!(server.poll_packets(&legacy).await, ["1::"]);
    post(
        &server,
        &modern,
        &[r#"42["toServer",{"nome":"four","msg":"hi"}]"#],
    )
    .await;
    assert_eq!(
        poll(&server, &modern).await,
        [r#"42["toClient","four:hi"]"#]
    );
    assert_eq!(
        server.poll_packets(&legacy).await,
        [r#"5:::{"name":"toClient","args":["four:hi"]}"#]
    );
    server
        .post_packets(
            &legacy,
            r#"5:::{"name":"toServer","args":[{"nome":"kiosk","msg":"hello"}]}"#,
        )
        .await;
    assert_eq!(
        poll(&server, &modern).await,
        [r#"42["toClient","kiosk:hello"]"#]
    );
    assert_eq!(
        server.poll_packets(&legacy).await,
        [r#"5:::{"name":"toClient","args":["kiosk:hello"]}"#]
    );
    // A 0.9 path with the modern session's id, and the other way round: unknown.
    assert_eq!(server.get(&xhr_path(&modern)).await.text(), "7:::1+0");
    assert_eq!(server.get(&session_path(&legacy)).await.status, 400);
    server.stop().await;
}

#[tokio::test]
async fn a_held_poll_gets_the_ping_and_an_unanswered_one_ends_the_session() {
    let server = TestServer::start_short_timers_with(|config: &mut ServerConfig| {
        config.hub.engine.ping_interval = Duration::from_millis(300);
        config.hub.engine.ping_timeout = Duration::from_millis(200);
    })
    .await;
    let sid = joined(&server).await;
    assert_eq!(poll(&server, &sid).await, ["2"]);
    assert_eq!(post(&server, &sid, &["3"]).await, (200, "ok".to_owned()));
    assert_eq!(
        poll(&server, &sid).await,
        ["2"],
        "pinged again after the pong"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let gone = server.get(&session_path(&sid)).await;
    assert_eq!(gone.status, 400, "no pong: the session ended");
    server.stop().await;
}

#[tokio::test]
async fn a_second_poll_while_one_is_pending_ends_the_session() {
    let server = TestServer::start_default().await;
    let sid = joined(&server).await;
    let first = {
        let addr = server.addr;
        let path = session_path(&sid);
        tokio::spawn(async move { request(addr, Method::GET, &path, &[], "").await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = server.get(&session_path(&sid)).await;
    assert_eq!(second.status, 400);
    assert_eq!(second.text(), r#"{"code":3,"message":"Bad request"}"#);
    let first = tokio::time::timeout(Duration::from_secs(2), first)
        .await
        .expect("the first poll is answered once the session ends")
        .expect("its task");
    assert_eq!(first.text(), "1", "told to close");
    server.stop().await;
}

#[tokio::test]
async fn malformed_and_oversized_payloads_are_refused() {
    let server = TestServer::start_default().await;
    let sid = joined(&server).await;
    let (status, _) = post(&server, &sid, &["42[oops"]).await;
    assert_eq!(status, 200, "the payload is Engine.IO-valid");
    assert_eq!(
        server.get(&session_path(&sid)).await.status,
        400,
        "a Socket.IO packet that does not parse ends the session"
    );
    let sid = joined(&server).await;
    let (status, body) = post(&server, &sid, &["9nonsense"]).await;
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"code":3,"message":"Bad request"}"#)
    );
    let sid = joined(&server).await;
    let huge = format!("4{}", "x".repeat(1_000_001));
    let (status, _) = post(&server, &sid, &[&huge]).await;
    assert_eq!(status, 413);
    server.stop().await;
}

// Revision 3 (socket.io-client 1.x–2.x): length-prefixed payloads, client pings, JSONP.

fn v3_path(query: &str) -> String {
    format!("/socket.io/?EIO=3&transport=polling{query}")
}

/// `text` as one record of a revision 3 text payload: its length in UTF-16 units first.
fn v3_record(text: &str) -> String {
    format!("{}:{text}", text.encode_utf16().count())
}

async fn v3_post(server: &TestServer, query: &str, body: &str) -> (u16, String) {
    let answer = request(
        server.addr,
        Method::POST,
        &v3_path(query),
        &[("content-type", "text/plain;charset=UTF-8")],
        body.to_owned(),
    )
    .await;
    (answer.status, answer.text())
}

/// A revision 3 handshake; the session id, once its open packet is checked.
async fn v3_sid(server: &TestServer) -> String {
    let answer = server.get(&v3_path("")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let text = answer.text();
    let (length, packet) = text.split_once(':').expect("a length-prefixed payload");
    assert_eq!(length.parse::<usize>(), Ok(packet.encode_utf16().count()));
    let open: Value =
        serde_json::from_str(packet.strip_prefix('0').expect("an open packet")).expect("JSON");
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert!(
        open.get("maxPayload").is_none(),
        "revision 3 announces none"
    );
    open["sid"].as_str().expect("a sid").to_owned()
}

#[tokio::test]
async fn a_revision_3_session_is_in_the_default_namespace_from_its_handshake() {
    let server = TestServer::start_default().await;
    let sid = v3_sid(&server).await;
    let poll = server.get(&v3_path(&format!("&sid={sid}"))).await;
    assert_eq!(
        poll.text(),
        "2:40",
        "Socket.IO 4 is told it is connected, unasked"
    );
    // The client pings, the server answers.
    assert_eq!(
        v3_post(&server, &format!("&sid={sid}"), "1:2").await,
        (200, "ok".to_owned())
    );
    let poll = server.get(&v3_path(&format!("&sid={sid}"))).await;
    assert_eq!(poll.text(), "1:3");
    server.stop().await;
}

#[tokio::test]
async fn revision_3_lengths_count_utf16_units_both_ways() {
    let server = TestServer::start_default().await;
    let sid = v3_sid(&server).await;
    let query = format!("&sid={sid}");
    assert_eq!(server.get(&v3_path(&query)).await.text(), "2:40");
    let event = r#"421["echo","é€😀"]"#;
    let body = format!("{}{}", v3_record("2"), v3_record(event));
    assert_eq!(
        v3_post(&server, &query, &body).await,
        (200, "ok".to_owned())
    );
    let answer = server.get(&v3_path(&query)).await.text();
    assert_eq!(
        answer,
        format!("{}{}", v3_record("3"), v3_record(r#"431["é€😀"]"#))
    );
    // The same packets as an XHR2 binary payload: a string record, its length in bytes.
    let ping = [0u8, 1, 0xFF, b'2'];
    let answer = request(
        server.addr,
        Method::POST,
        &v3_path(&query),
        &[("content-type", "application/octet-stream")],
        ping.to_vec(),
    )
    .await;
    assert_eq!((answer.status, answer.text()), (200, "ok".to_owned()));
    assert_eq!(server.get(&v3_path(&query)).await.text(), "1:3");
    server.stop().await;
}

#[tokio::test]
async fn malformed_revision_3_lengths_end_the_session() {
    let server = TestServer::start_default().await;
    // A length that splits a surrogate pair, a length past the body, and no length at all.
    for body in ["2:4😀", "99:42[\"x\"]", ":2", "x:2", "1:2junk"] {
        let sid = v3_sid(&server).await;
        let (status, text) = v3_post(&server, &format!("&sid={sid}"), body).await;
        assert_eq!(
            (status, text.as_str()),
            (400, r#"{"code":3,"message":"Bad request"}"#),
            "{body:?}"
        );
        let gone = server.get(&v3_path(&format!("&sid={sid}"))).await;
        assert_eq!(gone.status, 400, "{body:?}: the session ended");
    }
    server.stop().await;
}

#[tokio::test]
async fn jsonp_polls_answer_scripts_and_take_form_posts() {
    let server = TestServer::start_default().await;
    let handshake = server.get(&v3_path("&j=3")).await;
    assert_eq!(handshake.status, 200);
    assert_eq!(
        handshake.header("content-type"),
        Some("text/javascript; charset=UTF-8")
    );
    let script = handshake.text();
    let literal = script
        .strip_prefix("___eio[3](")
        .and_then(|rest| rest.strip_suffix(");"))
        .expect("a call of ___eio[3]");
    let payload: String = serde_json::from_str(literal).expect("a string literal");
    let open: Value = serde_json::from_str(
        payload
            .split_once(":0")
            .map(|(_, json)| json)
            .expect("the open packet"),
    )
    .expect("JSON");
    let sid = open["sid"].as_str().expect("a sid").to_owned();
    let query = format!("&sid={sid}&j=3");
    assert_eq!(
        server.get(&v3_path(&query)).await.text(),
        r#"___eio[3]("2:40");"#
    );
    // The form field `d` carries the payload; its newlines come escaped.
    let event = r#"421["echo","a\nb"]"#;
    let form = ferrio_eio::jsonp::encode_post(&v3_record(event));
    let posted = request(
        server.addr,
        Method::POST,
        &v3_path(&query),
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
    .await;
    assert_eq!((posted.status, posted.text()), (200, "ok".to_owned()));
    let answer = server.get(&v3_path(&query)).await.text();
    assert!(answer.starts_with("___eio[3](\""), "{answer}");
    assert!(answer.contains(r#"431[\"a\\nb\"]"#), "{answer}");
    // Hostile indices never reach a script.
    for index in ["abc", "0);alert(1", "-1", "01", "1e3"] {
        let refused = server.get(&v3_path(&format!("&j={index}"))).await;
        assert_eq!(refused.status, 400, "{index}");
        assert_eq!(refused.text(), r#"{"code":3,"message":"Bad request"}"#);
    }
    server.stop().await;
}

#[tokio::test]
async fn binary_attachments_go_both_ways_and_reach_0_9_clients_as_buffer_json() {
    let server = TestServer::start_default().await;
    let sid = joined(&server).await;
    // BINARY_EVENT with an ack, its one attachment in base64: `echo` acks with the buffer.
    let header = r#"451-1["echo",{"_placeholder":true,"num":0},"text"]"#;
    assert_eq!(post(&server, &sid, &[header, "bAQID/w=="]).await.0, 200);
    assert_eq!(
        poll(&server, &sid).await,
        [
            r#"461-1[{"_placeholder":true,"num":0},"text"]"#,
            "bAQID/w=="
        ]
    );
    // Broadcast to a 0.9 session, the buffer is in its JSON form.
    let legacy = server.handshake().await;
    assert_eq!(server.poll_packets(&legacy).await, ["1::"]);
    let header = r#"451-["bcast",{"_placeholder":true,"num":0}]"#;
    assert_eq!(post(&server, &sid, &[header, "bAQID/w=="]).await.0, 200);
    assert_eq!(
        server.poll_packets(&legacy).await,
        [r#"5:::{"name":"bmsg","args":[{"type":"Buffer","data":[1,2,3,255]}]}"#]
    );
    // A revision 3 client gets the attachment base64 in its text payload.
    let v3 = v3_sid(&server).await;
    let query = format!("&sid={v3}");
    assert_eq!(server.get(&v3_path(&query)).await.text(), "2:40");
    let body = format!(
        "{}{}",
        v3_record(r#"451-1["echo",{"_placeholder":true,"num":0}]"#),
        v3_record("b4AQID/w==")
    );
    assert_eq!(
        v3_post(&server, &query, &body).await,
        (200, "ok".to_owned())
    );
    assert_eq!(
        server.get(&v3_path(&query)).await.text(),
        format!(
            "{}{}",
            v3_record(r#"461-1[{"_placeholder":true,"num":0}]"#),
            v3_record("b4AQID/w==")
        )
    );
    server.stop().await;
}

#[tokio::test]
async fn hostile_payloads_and_attachments_end_their_session_and_no_other() {
    let server = TestServer::start_default().await;
    let bystander = joined(&server).await;
    let placeholder = |num: &str| format!(r#"{{"_placeholder":true,"num":{num}}}"#);
    let eleven: Vec<String> = (0..11).map(|n| placeholder(&n.to_string())).collect();
    let eleven_header = format!(r#"4511-["echo",{}]"#, eleven.join(","));
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "an empty packet between separators",
            vec!["42[\"echo\"]".into(), String::new()],
        ),
        (
            "more attachments than a packet may have",
            std::iter::once(eleven_header.clone())
                .chain((0..11).map(|_| "bAQ==".to_owned()))
                .collect(),
        ),
        (
            "a placeholder whose num is no integer",
            vec![
                format!(r#"451-["echo",{}]"#, placeholder(r#""x""#)),
                "bAQ==".into(),
            ],
        ),
        (
            "a text packet where an attachment was due",
            vec![
                format!(r#"451-["echo",{}]"#, placeholder("0")),
                r#"42["echo"]"#.into(),
            ],
        ),
    ];
    for (what, packets) in cases {
        let sid = joined(&server).await;
        let packets: Vec<&str> = packets.iter().map(String::as_str).collect();
        let (status, _) = post(&server, &sid, &packets).await;
        let gone = server.get(&session_path(&sid)).await;
        assert!(
            status == 400 || gone.status == 400,
            "{what}: the session goes on ({status}, then {})",
            gone.status
        );
        assert_eq!(gone.status, 400, "{what}: the session ended");
    }
    // A revision 4 payload POSTed as binary.
    let sid = joined(&server).await;
    let binary = request(
        server.addr,
        Method::POST,
        &session_path(&sid),
        &[("content-type", "application/octet-stream")],
        "42[\"echo\"]",
    )
    .await;
    assert_eq!(binary.status, 400);
    assert_eq!(server.get(&session_path(&sid)).await.status, 400);
    // The bystander chats on.
    assert_eq!(
        post(&server, &bystander, &[r#"421["echo","ok"]"#]).await.0,
        200
    );
    assert_eq!(poll(&server, &bystander).await, [r#"431["ok"]"#]);
    server.stop().await;
}

#[tokio::test]
async fn a_namespace_refusal_carries_its_message_and_data_in_each_revision_shape() {
    let server = TestServer::start_default().await;
    let sid = joined(&server).await;
    assert_eq!(
        post(&server, &sid, &[r#"40/private,{"token":"wrong"}"#])
            .await
            .0,
        200
    );
    assert_eq!(
        poll(&server, &sid).await,
        [r#"44/private,{"message":"not allowed","data":{"reason":"token"}}"#]
    );
    assert_eq!(
        post(&server, &sid, &[r#"40/private,{"token":"secret"}"#])
            .await
            .0,
        200
    );
    let joined = poll(&server, &sid).await;
    assert!(joined[0].starts_with("40/private,{\"sid\":"), "{joined:?}");
    // Socket.IO 4 (socket.io-client 2.x) gets the data itself, as socket.io 2 sends it.
    let v3 = v3_sid(&server).await;
    let query = format!("&sid={v3}");
    assert_eq!(server.get(&v3_path(&query)).await.text(), "2:40");
    assert_eq!(
        v3_post(&server, &query, &v3_record("40/private,")).await,
        (200, "ok".to_owned())
    );
    assert_eq!(
        server.get(&v3_path(&query)).await.text(),
        v3_record(r#"44/private,{"reason":"token"}"#)
    );
    server.stop().await;
}
