//! The hub's session lifecycle through its public port, with tokio's paused clock: timers
//! fire on virtual time, so a 60 s close timeout costs nothing.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers panic on setup failures by design"
)]

mod common;

use common::{connected, disconnects, info, ingest, next_texts, open_poll, poll};
use std::sync::Arc;
use std::time::Duration;

use ferrio_hub::{
    AckError, AttachError, AttachMode, Attachment, Authorization, ConnectInfo, DisconnectReason,
    Hub, HubConfig, IngestError, Rate, Refusal, UnconnectedLimit, Undelivered,
};
use ferrio_protocol::{TransportKind, decode};
use parking_lot::Mutex;
use serde_json::json;

fn hub() -> Hub {
    Hub::new(HubConfig::default()).unwrap()
}

/// The handshake data of a client at `address`.
fn info_from(address: &str) -> ConnectInfo {
    ConnectInfo {
        address: address.parse().unwrap(),
        ..info(&[], None)
    }
}

/// How many handshakes had `outcome`, by the counters.
fn handshakes(hub: &Hub, outcome: &str) -> u64 {
    hub.metrics()
        .handshakes
        .iter()
        .find(|(label, _)| *label == outcome)
        .map_or(0, |(_, count)| *count)
}

/// A websocket-like stream attached to a new session, past its `1::`.
async fn connected_stream(hub: &Hub) -> (String, Attachment) {
    let sid = hub.handshake(info(&[], None)).await.unwrap().sid;
    let mut stream = hub
        .attach(&sid, TransportKind::Websocket, AttachMode::Stream)
        .unwrap();
    assert_eq!(next_texts(&mut stream).await, ["1::"]);
    (sid, stream)
}

fn reasons(hub: &Hub) -> Arc<Mutex<Vec<(String, DisconnectReason)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    hub.sockets()
        .on_disconnect(move |socket, reason| sink.lock().push((socket.id().to_owned(), reason)));
    seen
}

#[tokio::test(start_paused = true)]
async fn first_poll_gets_connect_and_next_waits_for_polling_duration() {
    let hub = hub();
    let sid = connected(&hub).await;
    let started = tokio::time::Instant::now();
    assert_eq!(poll(&hub, &sid).await, ["8::"]);
    assert_eq!(started.elapsed(), Duration::from_secs(20));
}

#[tokio::test(start_paused = true)]
async fn close_timeout_ends_a_session_without_transport() {
    let hub = hub();
    let seen = reasons(&hub);
    let sid = connected(&hub).await;
    tokio::time::sleep(Duration::from_secs(59)).await;
    assert_eq!(hub.session_count(), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(hub.session_count(), 0);
    assert_eq!(
        *seen.lock(),
        [(sid.clone(), DisconnectReason::CloseTimeout)]
    );
    assert_eq!(
        open_poll(&hub, &sid).err(),
        Some(AttachError::UnknownSession)
    );
}

#[tokio::test(start_paused = true)]
async fn an_unused_handshake_expires_after_thirty_seconds() {
    let hub = hub();
    let seen = reasons(&hub);
    let sid = hub.handshake(info(&[], None)).await.unwrap().sid;
    assert_eq!(hub.unconnected_count(), 1);
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(hub.session_count(), 0);
    assert_eq!(hub.unconnected_count(), 0);
    assert!(open_poll(&hub, &sid).is_err());
    assert!(
        seen.lock().is_empty(),
        "a session that never connected fires no disconnect"
    );
    assert_eq!(disconnects(&hub, DisconnectReason::HandshakeExpired), 1);
    assert_eq!(
        disconnects(&hub, DisconnectReason::CloseTimeout),
        0,
        "an expired handshake is not a close timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn streams_get_heartbeats_and_die_without_answers() {
    let hub = hub();
    let seen = reasons(&hub);
    let sid = hub.handshake(info(&[], None)).await.unwrap().sid;
    let mut stream = hub
        .attach(&sid, TransportKind::Websocket, AttachMode::Stream)
        .unwrap();
    assert_eq!(next_texts(&mut stream).await, ["1::"]);
    let started = tokio::time::Instant::now();
    assert_eq!(next_texts(&mut stream).await, ["2::"]);
    assert_eq!(started.elapsed(), Duration::from_secs(25));
    // Answered: the next heartbeat comes one interval after the answer.
    ingest(&hub, &sid, &["2::"]);
    assert_eq!(next_texts(&mut stream).await, ["2::"]);
    assert_eq!(started.elapsed(), Duration::from_secs(50));
    // Not answered: the session ends at interval + timeout, without a farewell packet.
    assert!(stream.next_batch().await.is_none());
    assert_eq!(started.elapsed(), Duration::from_secs(110));
    assert_eq!(*seen.lock(), [(sid, DisconnectReason::HeartbeatTimeout)]);
}

#[tokio::test(start_paused = true)]
async fn polls_get_no_heartbeats() {
    let hub = hub();
    let sid = connected(&hub).await;
    for _ in 0..5 {
        assert_eq!(poll(&hub, &sid).await, ["8::"]);
    }
    assert_eq!(hub.session_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_newer_poll_completes_the_older_with_a_noop() {
    let hub = hub();
    let sid = connected(&hub).await;
    let mut older = open_poll(&hub, &sid).unwrap();
    let mut newer = open_poll(&hub, &sid).unwrap();
    let started = tokio::time::Instant::now();
    assert_eq!(next_texts(&mut older).await, ["8::"]);
    assert_eq!(started.elapsed(), Duration::ZERO);
    hub.sockets().emit_args("news", vec![json!(1)]);
    assert_eq!(
        next_texts(&mut newer).await,
        [r#"5:::{"name":"news","args":[1]}"#]
    );
}

#[tokio::test(start_paused = true)]
async fn a_waiting_poll_takes_only_the_first_packet() {
    let hub = hub();
    hub.sockets().on_raw("multi", |socket, _args, _ack| {
        socket.emit_args("a", vec![json!(1)]);
        socket.send("x");
    });
    let sid = connected(&hub).await;
    let mut waiting = open_poll(&hub, &sid).unwrap();
    let hub2 = hub.clone();
    let sid2 = sid.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        ingest(&hub2, &sid2, &[r#"5:::{"name":"multi"}"#]);
    });
    assert_eq!(
        next_texts(&mut waiting).await,
        [r#"5:::{"name":"a","args":[1]}"#]
    );
    drop(waiting);
    assert_eq!(poll(&hub, &sid).await, ["3:::x"]);
}

#[tokio::test(start_paused = true)]
async fn a_kick_between_polls_reaches_the_next_poll() {
    let hub = hub();
    let seen = reasons(&hub);
    let sid = connected(&hub).await;
    hub.sockets().socket(&sid).unwrap().disconnect();
    assert_eq!(*seen.lock(), [(sid.clone(), DisconnectReason::Booted)]);
    assert_eq!(poll(&hub, &sid).await, ["0::"]);
    assert_eq!(hub.session_count(), 0);
    assert_eq!(
        open_poll(&hub, &sid).err(),
        Some(AttachError::UnknownSession)
    );
}

#[tokio::test(start_paused = true)]
async fn an_unclaimed_farewell_is_dropped_after_the_close_timeout() {
    let hub = hub();
    let sid = connected(&hub).await;
    hub.sockets().socket(&sid).unwrap().disconnect();
    assert_eq!(hub.session_count(), 1);
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(hub.session_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_outbox_ends_the_session() {
    let hub = Hub::new(HubConfig {
        max_buffered_packets: 3,
        ..HubConfig::default()
    })
    .unwrap();
    let seen = reasons(&hub);
    let sid = connected(&hub).await;
    for n in 0..3 {
        assert_eq!(hub.sockets().emit_args("n", vec![json!(n)]), 1);
    }
    assert_eq!(hub.sockets().emit_args("n", vec![json!(3)]), 0);
    assert_eq!(
        *seen.lock(),
        [(sid.clone(), DisconnectReason::BufferOverflow)]
    );
    assert!(open_poll(&hub, &sid).is_err());
}

#[tokio::test(start_paused = true)]
async fn volatile_packets_need_a_ready_transport() {
    let hub = hub();
    let sid = connected(&hub).await;
    assert_eq!(hub.sockets().volatile().emit_args("v", vec![json!(1)]), 0);
    let mut waiting = open_poll(&hub, &sid).unwrap();
    assert_eq!(hub.sockets().volatile().emit_args("v", vec![json!(2)]), 1);
    assert_eq!(
        next_texts(&mut waiting).await,
        [r#"5:::{"name":"v","args":[2]}"#]
    );
}

#[tokio::test(start_paused = true)]
async fn acks_work_both_ways() {
    let hub = hub();
    let answers = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&answers);
    hub.sockets().on_raw("ask", move |socket, _args, ack| {
        if let Some(ack) = ack {
            ack.send_args(vec![json!("A")]);
        }
        let sink = Arc::clone(&sink);
        socket.emit_args_with_ack("q", vec![json!(1)], move |args| sink.lock().push(args));
    });
    let sid = connected(&hub).await;
    ingest(&hub, &sid, &[r#"5:7+::{"name":"ask"}"#, r#"3:8::hi"#]);
    assert_eq!(
        poll(&hub, &sid).await,
        [
            r#"6:::7+["A"]"#,
            r#"5:1+::{"name":"q","args":[1]}"#,
            "6:::8"
        ]
    );
    ingest(
        &hub,
        &sid,
        &[r#"6:::1+["B",{"b":1}]"#, r#"6:::1+["again"]"#],
    );
    assert_eq!(
        *answers.lock(),
        [vec![json!("B"), json!({"b": 1})]],
        "an ack runs its callback once"
    );
}

#[tokio::test(start_paused = true)]
async fn awaited_acks_give_the_typed_reply_a_timeout_or_the_reason_there_is_none() {
    let hub = hub();
    let sid = connected(&hub).await;
    let socket = hub.sockets().socket(&sid).unwrap();
    let deadline = Duration::from_secs(5);
    let answered = tokio::spawn(
        socket
            .timeout(deadline)
            .emit_with_ack::<(String, u32)>("answered", ()),
    );
    let ignored = tokio::spawn(
        socket
            .timeout(deadline)
            .emit_with_ack::<String>("ignored", json!({"q": 1})),
    );
    let mistyped = tokio::spawn(socket.emit_with_ack::<u32>("mistyped", "n?"));
    let forever = tokio::spawn(socket.emit_with_ack::<String>("forever", 1));
    assert_eq!(
        poll(&hub, &sid).await,
        [
            r#"5:1+::{"name":"answered","args":[null]}"#,
            r#"5:2+::{"name":"ignored","args":[{"q":1}]}"#,
            r#"5:3+::{"name":"mistyped","args":["n?"]}"#,
            r#"5:4+::{"name":"forever","args":[1]}"#,
        ]
    );
    ingest(&hub, &sid, &[r#"6:::1+["yes",2]"#, r#"6:::3+["three"]"#]);
    assert_eq!(answered.await.unwrap().unwrap(), ("yes".to_owned(), 2));
    assert!(matches!(mistyped.await.unwrap(), Err(AckError::Decode(_))));
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(matches!(ignored.await.unwrap(), Err(AckError::Timeout(d)) if d == deadline));
    // A late ack and a repeated one find nothing waiting.
    ingest(&hub, &sid, &[r#"6:::2+["late"]"#, r#"6:::1+["again"]"#]);
    assert!(!forever.is_finished(), "an ack without a deadline waits");
    hub.kick(&sid);
    assert!(matches!(
        forever.await.unwrap(),
        Err(AckError::Disconnected)
    ));
    assert!(matches!(
        socket.emit_with_ack::<String>("disconnect", ()).await,
        Err(AckError::NotSent)
    ));
}

#[tokio::test(start_paused = true)]
async fn an_emit_whose_reply_nobody_awaits_still_goes_out_and_others_get_their_replies() {
    let hub = hub();
    let sid = connected(&hub).await;
    let socket = hub.sockets().socket(&sid).unwrap();
    drop(socket.emit_with_ack::<String>("dropped", 1));
    let kept = tokio::spawn(socket.emit_with_ack::<String>("kept", 2));
    assert_eq!(
        poll(&hub, &sid).await,
        [
            r#"5:1+::{"name":"dropped","args":[1]}"#,
            r#"5:2+::{"name":"kept","args":[2]}"#,
        ],
        "the emit goes out when it is called"
    );
    ingest(&hub, &sid, &[r#"6:::1+["late"]"#, r#"6:::2+["two"]"#]);
    assert_eq!(kept.await.unwrap().unwrap(), "two");
}

#[tokio::test(start_paused = true)]
async fn disconnecting_still_sees_the_rooms_and_can_tell_them() {
    let hub = hub();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    hub.sockets().on_disconnecting(move |socket, reason| {
        sink.lock().push(("disconnecting", socket.rooms(), reason));
        for room in socket.rooms() {
            socket.to(&room).emit_args("left", vec![json!(room)]);
        }
    });
    let sink = Arc::clone(&seen);
    hub.sockets().on_disconnect(move |socket, reason| {
        sink.lock().push(("disconnect", socket.rooms(), reason));
    });
    let leaver = connected(&hub).await;
    let stayer = connected(&hub).await;
    for sid in [&leaver, &stayer] {
        hub.sockets().socket(sid).unwrap().join("lobby");
    }
    hub.sockets().socket(&leaver).unwrap().join("alone");
    ingest(&hub, &leaver, &["0::"]);
    assert_eq!(
        *seen.lock(),
        [
            (
                "disconnecting",
                vec!["alone".to_owned(), "lobby".to_owned()],
                DisconnectReason::Booted
            ),
            ("disconnect", vec![], DisconnectReason::Booted),
        ]
    );
    assert_eq!(
        poll(&hub, &stayer).await,
        [r#"5:::{"name":"left","args":["lobby"]}"#]
    );
    assert_eq!(hub.sockets().to("lobby").emit_args("after", vec![]), 1);
}

#[tokio::test(start_paused = true)]
async fn reserved_events_never_reach_the_application() {
    let hub = hub();
    let hits = Arc::new(Mutex::new(0));
    for name in ["disconnect", "connect", "message"] {
        let hits = Arc::clone(&hits);
        hub.sockets()
            .on_raw(name, move |_socket, _args, _ack| *hits.lock() += 1);
    }
    let sid = connected(&hub).await;
    ingest(
        &hub,
        &sid,
        &[
            r#"5:::{"name":"disconnect"}"#,
            r#"5:::{"name":"connect"}"#,
            r#"5:::{"name":"message"}"#,
        ],
    );
    assert_eq!(*hits.lock(), 0);
    assert_eq!(hub.session_count(), 1);
    assert!(
        !hub.sockets()
            .socket(&sid)
            .unwrap()
            .emit_args("error", vec![])
    );
}

#[tokio::test(start_paused = true)]
async fn namespaces_authorize_connect_and_leave() {
    let hub = hub();
    let chat = hub.of("/chat");
    chat.authorize(|handshake, query| {
        if handshake.query("deny").is_some() || query == Some("?deny=1") {
            Authorization::Refuse
        } else {
            Authorization::Accept
        }
    });
    chat.on_connection(|socket| {
        socket.emit_args("hi", vec![json!("chat")]);
    });
    let left = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&left);
    chat.on_disconnect(move |socket, reason| {
        sink.lock().push((socket.namespace().to_owned(), reason))
    });
    let sid = connected(&hub).await;
    ingest(&hub, &sid, &["1::/chat:?deny=1", "1::/nosuch"]);
    assert_eq!(poll(&hub, &sid).await, ["7::/chat:2"]);
    ingest(&hub, &sid, &["1::/chat:?a=b"]);
    assert_eq!(
        poll(&hub, &sid).await,
        ["1::/chat", r#"5::/chat:{"name":"hi","args":["chat"]}"#]
    );
    ingest(&hub, &sid, &["0::/chat"]);
    assert_eq!(
        *left.lock(),
        [("/chat".to_owned(), DisconnectReason::Packet)]
    );
    assert_eq!(hub.session_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn rooms_and_broadcasts_target_the_right_sessions() {
    let hub = hub();
    let a = connected(&hub).await;
    let b = connected(&hub).await;
    let c = connected(&hub).await;
    for sid in [&a, &b] {
        hub.sockets().socket(sid).unwrap().join("r");
    }
    assert_eq!(hub.sockets().to("r").emit_args("room", vec![]), 2);
    assert_eq!(
        hub.sockets()
            .socket(&a)
            .unwrap()
            .broadcast()
            .emit_args("others", vec![]),
        2
    );
    assert_eq!(poll(&hub, &a).await, [r#"5:::{"name":"room"}"#]);
    assert_eq!(
        poll(&hub, &b).await,
        [r#"5:::{"name":"room"}"#, r#"5:::{"name":"others"}"#]
    );
    assert_eq!(poll(&hub, &c).await, [r#"5:::{"name":"others"}"#]);
    hub.sockets().socket(&b).unwrap().leave("r");
    let mut clients = hub.sockets().clients(Some("r"));
    clients.sort();
    assert_eq!(clients, [a]);
}

#[tokio::test(start_paused = true)]
async fn handshakes_check_origin_and_authorization() {
    let hub = Hub::new(HubConfig {
        origins: "good.example:80".parse().unwrap(),
        ..HubConfig::default()
    })
    .unwrap();
    hub.authorize(|handshake| match handshake.query("token") {
        Some("ok") => {
            handshake.data.insert("user".into(), json!("alice"));
            Authorization::Accept
        }
        Some("boom") => Authorization::Error("backend down".into()),
        _ => Authorization::Refuse,
    });
    assert_eq!(
        hub.handshake(info(&[("token", "ok")], Some("http://evil.example")))
            .await,
        Err(Refusal::BadOrigin)
    );
    assert_eq!(
        hub.handshake(info(&[], Some("http://good.example"))).await,
        Err(Refusal::Unauthorized)
    );
    assert!(matches!(
        hub.handshake(info(&[("token", "boom")], Some("http://good.example")))
            .await,
        Err(Refusal::AuthorizationError(_))
    ));
    let body = hub
        .handshake(info(&[("token", "ok")], Some("http://good.example")))
        .await
        .unwrap();
    assert_eq!(
        (body.heartbeat_timeout_secs, body.close_timeout_secs),
        (60, 60)
    );
    assert_eq!(
        body.transports,
        [
            "websocket",
            "xhr-polling",
            "xhr-multipart",
            "htmlfile",
            "jsonp-polling"
        ]
    );
    let users = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&users);
    hub.sockets().on_connection(move |socket| {
        sink.lock().push((
            socket.handshake().data["user"].clone(),
            socket.handshake().xdomain,
        ));
    });
    assert_eq!(poll(&hub, &body.sid).await, ["1::"]);
    assert_eq!(*users.lock(), [(json!("alice"), true)]);
}

#[tokio::test(start_paused = true)]
async fn early_posts_are_processed_and_connect_comes_first() {
    let hub = hub();
    hub.sockets().on_raw("echo", |socket, args, _ack| {
        socket.emit_args("echo", args);
    });
    let sid = hub.handshake(info(&[], None)).await.unwrap().sid;
    ingest(&hub, &sid, &[r#"5:::{"name":"echo","args":[1]}"#]);
    assert_eq!(
        poll(&hub, &sid).await,
        ["1::", r#"5:::{"name":"echo","args":[1]}"#]
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_every_session_and_refuses_handshakes() {
    let hub = hub();
    let seen = reasons(&hub);
    let sid = connected(&hub).await;
    let mut stream = hub
        .attach(&sid, TransportKind::Websocket, AttachMode::Stream)
        .unwrap();
    hub.shutdown();
    assert!(stream.next_batch().await.is_none());
    assert_eq!(*seen.lock(), [(sid, DisconnectReason::ServerShutdown)]);
    assert_eq!(
        hub.handshake(info(&[], None)).await,
        Err(Refusal::Unavailable)
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_hands_every_queue_to_its_transport_before_the_session_ends() {
    let hub = hub();
    let seen = reasons(&hub);
    let (streaming, mut stream) = connected_stream(&hub).await;
    let polling = connected(&hub).await;
    let unconnected = hub.handshake(info(&[], None)).await.unwrap().sid;
    assert_eq!(hub.sockets().send("queued"), 2);
    hub.shutdown();
    assert_eq!(
        hub.session_count(),
        2,
        "the unconnected session ended at once"
    );
    assert!(matches!(
        open_poll(&hub, &unconnected),
        Err(AttachError::UnknownSession)
    ));
    // The stream writes its queue, then finds nothing more and its session ends.
    assert_eq!(next_texts(&mut stream).await, ["3:::queued"]);
    assert!(stream.next_batch().await.is_none());
    // The poller gets its queue; its next poll ends the session.
    assert_eq!(poll(&hub, &polling).await, ["3:::queued"]);
    assert_eq!(hub.session_count(), 1, "the poller has not heard yet");
    let mut last = open_poll(&hub, &polling).unwrap();
    assert!(last.next_batch().await.is_none());
    assert_eq!(hub.session_count(), 0);
    tokio::time::timeout(Duration::from_millis(1), hub.flushed())
        .await
        .expect("flushed once every session ended");
    assert_eq!(
        *seen.lock(),
        [
            (streaming, DisconnectReason::ServerShutdown),
            (polling, DisconnectReason::ServerShutdown)
        ]
    );
    assert_eq!(disconnects(&hub, DisconnectReason::ServerShutdown), 3);
}

#[tokio::test(start_paused = true)]
async fn client_packets_are_refused_once_a_shutdown_has_begun() {
    let hub = hub();
    let heard = Arc::new(Mutex::new(0));
    let sink = Arc::clone(&heard);
    hub.sockets().on_raw("ping", move |_socket, _args, _ack| {
        *sink.lock() += 1;
    });
    let (sid, stream) = connected_stream(&hub).await;
    hub.shutdown();
    let event = || vec![decode(r#"5:1::{"name":"ping"}"#).unwrap()];
    assert_eq!(
        hub.ingest(&sid, event()),
        Err(IngestError::ShuttingDown),
        "refused whole: a POST gets 503"
    );
    assert_eq!(
        hub.ingest(&sid, vec![decode("2::").unwrap()]),
        Ok(()),
        "heartbeats are still heard"
    );
    assert_eq!(
        hub.ingest("nosuchsession", event()),
        Err(IngestError::ShuttingDown)
    );
    stream.ingest(event());
    assert_eq!(*heard.lock(), 0, "no handler ran, so no ack went out");
}

#[tokio::test(start_paused = true)]
async fn what_a_packet_accepted_before_the_cut_emits_is_still_delivered() {
    let hub = hub();
    // The shutdown begins while the packet is being handled, as when SIGTERM arrives on
    // another thread: the broadcast after it must still reach the waiting poll.
    hub.sockets().on_raw("last", {
        let hub = hub.clone();
        move |socket, _args, _ack| {
            hub.shutdown();
            assert_eq!(socket.broadcast().emit_args("after", vec![json!(1)]), 1);
        }
    });
    let (sender, _stream) = connected_stream(&hub).await;
    let listener = connected(&hub).await;
    let mut waiting = open_poll(&hub, &listener).unwrap();
    let receive = tokio::spawn(async move { next_texts(&mut waiting).await });
    tokio::task::yield_now().await;
    ingest(&hub, &sender, &[r#"5:::{"name":"last"}"#]);
    assert_eq!(
        receive.await.unwrap(),
        [r#"5:::{"name":"after","args":[1]}"#]
    );
    let mut next = open_poll(&hub, &listener).unwrap();
    assert!(next.next_batch().await.is_none(), "then the session ends");
}

#[tokio::test(start_paused = true)]
async fn abandon_ends_what_the_grace_period_left_and_counts_it() {
    let hub = hub();
    let seen = reasons(&hub);
    let away = connected(&hub).await;
    let quiet = connected(&hub).await;
    hub.sockets().to("").except(&quiet).send("one");
    hub.sockets().to("").except(&quiet).send("two");
    hub.shutdown();
    let flushed = tokio::time::timeout(Duration::from_secs(5), hub.flushed()).await;
    assert!(flushed.is_err(), "two pollers have not come back");
    assert_eq!(
        hub.abandon(),
        Undelivered {
            sessions: 2,
            packets: 2
        }
    );
    assert_eq!(hub.session_count(), 0);
    assert_eq!(seen.lock().len(), 2);
    assert!(
        seen.lock()
            .iter()
            .any(|(sid, reason)| *sid == away && *reason == DisconnectReason::ServerShutdown)
    );
    assert_eq!(
        hub.sockets().send("late"),
        0,
        "an emit after its session ended is refused"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_stream_is_closed_only_while_it_is_current() {
    let hub = hub();
    let seen = reasons(&hub);
    let sid = connected(&hub).await;
    let older = hub
        .attach(&sid, TransportKind::Websocket, AttachMode::Stream)
        .unwrap();
    let newer = hub
        .attach(&sid, TransportKind::Websocket, AttachMode::Stream)
        .unwrap();
    older.close(DisconnectReason::SocketEnd);
    assert!(
        seen.lock().is_empty(),
        "a superseded transport cannot end the session"
    );
    newer.close(DisconnectReason::SocketEnd);
    assert_eq!(*seen.lock(), [(sid, DisconnectReason::SocketEnd)]);
}

#[tokio::test(start_paused = true)]
async fn a_stream_hands_packets_over_through_its_attachment_while_it_waits() {
    let hub = hub();
    hub.sockets().on_raw("ping", |socket, args, _ack| {
        socket.emit_args("pong", args);
    });
    let sid = hub.handshake(info(&[], None)).await.unwrap().sid;
    let stream = hub
        .attach(&sid, TransportKind::Websocket, AttachMode::Stream)
        .unwrap();
    assert_eq!(
        stream
            .next_stream_batch()
            .await
            .unwrap()
            .texts()
            .collect::<Vec<_>>(),
        ["1::"]
    );
    // The wait borrows the attachment shared, as a connection reading and writing at once
    // does.
    let waiting = stream.next_stream_batch();
    stream.ingest(vec![decode(r#"5:::{"name":"ping","args":[1]}"#).unwrap()]);
    assert_eq!(
        waiting.await.unwrap().texts().collect::<Vec<_>>(),
        [r#"5:::{"name":"pong","args":[1]}"#]
    );
    hub.kick(&sid);
    stream.ingest(vec![decode(r#"5:::{"name":"ping","args":[2]}"#).unwrap()]);
    assert_eq!(
        stream
            .next_stream_batch()
            .await
            .unwrap()
            .texts()
            .collect::<Vec<_>>(),
        ["0::"],
        "packets after the session ended are ignored"
    );
    assert!(stream.next_stream_batch().await.is_none());
}

// ---------------------------------------------------------------------------------------------
// Outboxes bounded in bytes

#[tokio::test(start_paused = true)]
async fn a_stream_that_takes_nothing_is_ended_at_the_byte_bound_and_others_get_everything() {
    let hub = Hub::new(HubConfig {
        max_buffer_bytes: 10_000,
        ..HubConfig::default()
    })
    .unwrap();
    let seen = reasons(&hub);
    let (healthy, mut reader) = connected_stream(&hub).await;
    // Its connection takes `1::` and never comes back: its write is stuck.
    let (slow, _stuck) = connected_stream(&hub).await;
    let big = "x".repeat(1000);
    let mut received = 0;
    for n in 0..30 {
        // A volatile emit never overflows: it is dropped for the backed-up one.
        hub.sockets().volatile().emit_args("v", vec![json!(n)]);
        hub.sockets().emit_args("big", vec![json!(n), json!(big)]);
        received += next_texts(&mut reader).await.len();
    }
    assert_eq!(
        received, 60,
        "the reader got every packet, volatile ones too"
    );
    assert_eq!(
        *seen.lock(),
        [(slow.clone(), DisconnectReason::BufferOverflow)]
    );
    assert_eq!(disconnects(&hub, DisconnectReason::BufferOverflow), 1);
    assert_eq!(hub.session_count(), 1, "{healthy} goes on");
    assert!(
        hub.metrics().buffered_bytes < 2_000,
        "what the slow one held is gone: {} bytes buffered",
        hub.metrics().buffered_bytes
    );
}

// ---------------------------------------------------------------------------------------------
// Inbound budgets

/// A hub with a small packet budget (10 a second, bursts of 20) counting `count` events.
fn budgeted() -> (Hub, Arc<Mutex<usize>>) {
    let hub = Hub::new(HubConfig {
        inbound_packets: Rate::new(10.0, 20),
        ..HubConfig::default()
    })
    .unwrap();
    let counted = Arc::new(Mutex::new(0));
    let sink = Arc::clone(&counted);
    hub.sockets()
        .on_raw("count", move |_socket, _args, _ack| *sink.lock() += 1);
    (hub, counted)
}

const COUNT: &str = r#"5:::{"name":"count"}"#;

#[tokio::test(start_paused = true)]
async fn packets_over_the_budget_are_refused_and_the_client_told_once() {
    let (hub, counted) = budgeted();
    let sid = connected(&hub).await;
    let other = connected(&hub).await;
    ingest(&hub, &sid, &[COUNT; 30]);
    assert_eq!(*counted.lock(), 20, "the burst passes");
    assert_eq!(hub.metrics().refused_packets, 10);
    assert_eq!(
        poll(&hub, &sid).await,
        ["7:::0"],
        "told once, not per packet"
    );
    // The budget refills at its rate; another session has its own.
    ingest(&hub, &other, &[COUNT; 20]);
    assert_eq!(*counted.lock(), 40);
    tokio::time::sleep(Duration::from_secs(1)).await;
    ingest(&hub, &sid, &[COUNT; 10]);
    assert_eq!(*counted.lock(), 50);
    assert_eq!(hub.session_count(), 2, "throttled, not ended");
}

#[tokio::test(start_paused = true)]
async fn a_client_over_twice_its_budget_is_ended_and_told_not_to_come_back() {
    let (hub, counted) = budgeted();
    let seen = reasons(&hub);
    let sid = connected(&hub).await;
    let other = connected(&hub).await;
    ingest(&hub, &sid, &[COUNT; 100]);
    assert_eq!(*counted.lock(), 20);
    assert_eq!(
        *seen.lock(),
        [(sid.clone(), DisconnectReason::BudgetExceeded)]
    );
    assert_eq!(
        poll(&hub, &sid).await,
        ["7:::0", "0::"],
        "the farewell keeps a 0.9 client from reconnecting in a loop"
    );
    assert_eq!(
        hub.metrics().refused_packets,
        20,
        "the rest were never looked at"
    );
    assert_eq!(disconnects(&hub, DisconnectReason::BudgetExceeded), 1);
    ingest(&hub, &other, &[COUNT]);
    assert_eq!(*counted.lock(), 21, "the other session goes on");
}

#[tokio::test(start_paused = true)]
async fn a_stream_is_budgeted_like_a_post_and_leaving_is_never_refused() {
    let (hub, counted) = budgeted();
    let seen = reasons(&hub);
    let (sid, mut stream) = connected_stream(&hub).await;
    // One packet per call, as a WebSocket connection hands them over.
    for _ in 0..25 {
        stream.ingest(vec![decode(COUNT).unwrap()]);
    }
    assert_eq!(*counted.lock(), 20);
    assert_eq!(next_texts(&mut stream).await, ["7:::0"]);
    stream.ingest(vec![decode("0::").unwrap()]);
    assert_eq!(*seen.lock(), [(sid, DisconnectReason::Booted)]);
}

#[tokio::test(start_paused = true)]
async fn bytes_are_budgeted_and_a_message_larger_than_the_burst_passes_when_it_is_full() {
    let hub = Hub::new(HubConfig {
        inbound_bytes: Rate::new(1000.0, 2000),
        ..HubConfig::default()
    })
    .unwrap();
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&sizes);
    hub.sockets().on_raw("blob", move |_socket, args, _ack| {
        sink.lock().push(args[0].as_str().map_or(0, str::len));
    });
    let sid = connected(&hub).await;
    let blob = |len: usize| format!(r#"5:::{{"name":"blob","args":["{}"]}}"#, "b".repeat(len));
    ingest(&hub, &sid, &[&blob(1500), &blob(1500)]);
    assert_eq!(*sizes.lock(), [1500], "the second is over the bytes left");
    tokio::time::sleep(Duration::from_secs(3)).await;
    ingest(&hub, &sid, &[&blob(10_000)]);
    assert_eq!(*sizes.lock(), [1500, 10_000]);
}

// ---------------------------------------------------------------------------------------------
// Lean handshakes

#[tokio::test(start_paused = true)]
async fn oversized_handshakes_are_refused_and_keep_nothing() {
    let hub = Hub::new(HubConfig {
        max_handshake_query_bytes: 100,
        max_handshake_header_bytes: 200,
        ..HubConfig::default()
    })
    .unwrap();
    let long = "q".repeat(100);
    assert_eq!(
        hub.handshake(info(&[("token", &long)], None)).await,
        Err(Refusal::QueryTooLong)
    );
    let mut fat = info(&[], None);
    fat.headers.push(("cookie".to_owned(), "c".repeat(200)));
    assert_eq!(hub.handshake(fat).await, Err(Refusal::HeadersTooLarge));
    assert_eq!(hub.session_count(), 0);
    assert_eq!(hub.unconnected_count(), 0);
    assert_eq!(handshakes(&hub, "query_too_long"), 1);
    assert_eq!(handshakes(&hub, "headers_too_large"), 1);
    let fits = "q".repeat(90);
    let sid = hub
        .handshake(info(&[("token", &fits)], None))
        .await
        .unwrap()
        .sid;
    assert_eq!(poll(&hub, &sid).await, ["1::"]);
}

// ---------------------------------------------------------------------------------------------
// Unconnected handshakes

#[tokio::test(start_paused = true)]
async fn unconnected_handshakes_have_their_own_caps_and_do_not_fill_the_node() {
    let hub = Hub::new(HubConfig {
        max_sessions: Some(2),
        max_unconnected: 5,
        max_unconnected_per_address: 3,
        ..HubConfig::default()
    })
    .unwrap();
    let seen = reasons(&hub);
    let first = connected(&hub).await;
    let mut from_a = Vec::new();
    for _ in 0..3 {
        from_a.push(hub.handshake(info_from("10.0.0.1:1")).await.unwrap().sid);
    }
    assert_eq!(
        hub.handshake(info_from("10.0.0.1:2")).await,
        Err(Refusal::TooManyUnconnected(UnconnectedLimit::Address))
    );
    let mut from_b = Vec::new();
    for _ in 0..2 {
        from_b.push(hub.handshake(info_from("10.0.0.2:1")).await.unwrap().sid);
    }
    assert_eq!(
        hub.handshake(info_from("10.0.0.3:1")).await,
        Err(Refusal::TooManyUnconnected(UnconnectedLimit::Node))
    );
    assert_eq!(
        (hub.connected_count(), hub.unconnected_count()),
        (1, 5),
        "six sessions issued, the node of two is not full"
    );
    assert_eq!(poll(&hub, &from_a[0]).await, ["1::"]);
    assert_eq!(
        hub.handshake(info_from("10.0.0.3:1")).await,
        Err(Refusal::Full),
        "two connected fill it"
    );
    // Issued before it filled up, refused when it connects.
    assert_eq!(
        open_poll(&hub, &from_b[0]).err(),
        Some(AttachError::UnknownSession)
    );
    assert_eq!(disconnects(&hub, DisconnectReason::NodeFull), 1);
    assert_eq!(handshakes(&hub, "unconnected"), 1);
    assert_eq!(handshakes(&hub, "unconnected_address"), 1);
    // The unused ones expire; the connected ones and a kick free their slots as usual.
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(hub.unconnected_count(), 0);
    assert_eq!(disconnects(&hub, DisconnectReason::HandshakeExpired), 3);
    hub.kick(&first);
    assert_eq!(hub.connected_count(), 1);
    let sid = hub.handshake(info_from("10.0.0.3:1")).await.unwrap().sid;
    assert_eq!(poll(&hub, &sid).await, ["1::"]);
    assert!(
        seen.lock()
            .iter()
            .all(|(_, reason)| *reason == DisconnectReason::Booted),
        "sessions that never connected fire no disconnect: {:?}",
        seen.lock()
    );
}

#[tokio::test(start_paused = true)]
async fn an_address_rewritten_by_the_authorization_hook_is_uncounted_where_it_was_counted() {
    let hub = Hub::new(HubConfig {
        max_unconnected_per_address: 1,
        ..HubConfig::default()
    })
    .unwrap();
    // As behind a proxy: the application takes the client's address from a header.
    hub.authorize(|data| {
        data.info.address = "192.0.2.1:1".parse().unwrap();
        Authorization::Accept
    });
    hub.handshake(info_from("10.0.0.1:1")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(31)).await;
    let sid = hub.handshake(info_from("10.0.0.1:1")).await.unwrap().sid;
    assert_eq!(poll(&hub, &sid).await, ["1::"]);
    assert_eq!(
        hub.handshake(info_from("10.0.0.1:1")).await.map(|_| ()),
        Ok(()),
        "its connection gave the address's slot back"
    );
}
