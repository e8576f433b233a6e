//! Engine.IO sessions through the hub's public port, with tokio's paused clock: the open,
//! pings whether or not a poll is waiting, the ping timeout, the connect timeout, polls that
//! overlap, and the two generations kept apart.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers panic on setup failures by design"
)]

mod common;

use common::disconnects;
use std::time::Duration;

use ferrio_eio::{Packet as EioPacket, Revision};
use ferrio_hub::{
    AttachError, AttachMode, ConnectInfo, DisconnectReason, EngineAttachError, EngineConfig, Hub,
    HubConfig,
};
use ferrio_protocol::TransportKind;
use serde_json::json;

/// The timers of the reference's test fixture: ping every 300 ms, 200 ms to answer, a
/// namespace within 1 s.
fn hub() -> Hub {
    Hub::new(HubConfig {
        engine: EngineConfig {
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(200),
            connect_timeout: Duration::from_millis(1000),
            ..EngineConfig::default()
        },
        ..HubConfig::default()
    })
    .unwrap()
}

fn info() -> ConnectInfo {
    ConnectInfo {
        headers: vec![("host".to_owned(), "localhost".to_owned())],
        address: "127.0.0.1:4000".parse().unwrap(),
        query: vec![("EIO".to_owned(), "4".to_owned())],
        secure: false,
    }
}

async fn poll(hub: &Hub, sid: &str) -> Option<Vec<String>> {
    let mut attachment = hub
        .attach_engine(sid, TransportKind::XhrPolling, AttachMode::Poll)
        .ok()?;
    let batch = attachment.next_batch().await?;
    Some(batch.texts().map(str::to_owned).collect())
}

#[tokio::test(start_paused = true)]
async fn the_open_announces_the_engine_timers() {
    let hub = hub();
    let open = hub.open_engine(info(), Revision::V4).await.unwrap();
    assert_eq!(open.sid.len(), 32);
    assert_eq!(open.ping_interval, Duration::from_millis(300));
    assert_eq!(open.ping_timeout, Duration::from_millis(200));
    assert_eq!(open.max_payload, 1_000_000);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_poll_gets_the_ping_one_interval_after_the_open() {
    let hub = hub();
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    let started = tokio::time::Instant::now();
    assert_eq!(poll(&hub, &sid).await, Some(vec!["2".to_owned()]));
    assert_eq!(started.elapsed(), Duration::from_millis(300));
}

#[tokio::test(start_paused = true)]
async fn a_ping_nobody_answers_ends_the_session_at_the_ping_timeout() {
    let hub = hub();
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    assert_eq!(poll(&hub, &sid).await, Some(vec!["2".to_owned()]));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(disconnects(&hub, DisconnectReason::HeartbeatTimeout), 1);
    assert_eq!(poll(&hub, &sid).await, None, "the session is gone");
}

#[tokio::test(start_paused = true)]
async fn a_session_that_joins_no_namespace_ends_at_the_connect_timeout() {
    let hub = Hub::new(HubConfig {
        engine: EngineConfig {
            connect_timeout: Duration::from_millis(1000),
            ..EngineConfig::default()
        },
        ..HubConfig::default()
    })
    .unwrap();
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(disconnects(&hub, DisconnectReason::HandshakeExpired), 1);
    assert!(
        hub.attach_engine(&sid, TransportKind::XhrPolling, AttachMode::Poll)
            .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_poll_while_one_is_pending_ends_the_session() {
    let hub = hub();
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    let first = hub
        .attach_engine(&sid, TransportKind::XhrPolling, AttachMode::Poll)
        .unwrap();
    assert_eq!(
        hub.attach_engine(&sid, TransportKind::XhrPolling, AttachMode::Poll)
            .err(),
        Some(EngineAttachError::OverlappingPoll)
    );
    assert_eq!(disconnects(&hub, DisconnectReason::TransportError), 1);
    drop(first);
    assert_eq!(
        hub.attach_engine(&sid, TransportKind::XhrPolling, AttachMode::Poll)
            .err(),
        Some(EngineAttachError::UnknownSession)
    );
}

#[tokio::test(start_paused = true)]
async fn the_two_generations_do_not_reach_each_others_sessions() {
    let hub = hub();
    let engine = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    assert_eq!(
        hub.attach(&engine, TransportKind::XhrPolling, AttachMode::Poll)
            .err(),
        Some(AttachError::UnknownSession)
    );
    let legacy = hub.handshake(info()).await.unwrap().sid;
    assert_eq!(
        hub.attach_engine(&legacy, TransportKind::XhrPolling, AttachMode::Poll)
            .err(),
        Some(EngineAttachError::UnknownSession)
    );
}

#[tokio::test(start_paused = true)]
async fn a_revision_3_session_ends_when_its_client_stops_pinging() {
    let hub = hub();
    let sid = hub.open_engine(info(), Revision::V3).await.unwrap().sid;
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(disconnects(&hub, DisconnectReason::HeartbeatTimeout), 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(disconnects(&hub, DisconnectReason::HeartbeatTimeout), 1);
    assert!(
        hub.attach_engine(&sid, TransportKind::XhrPolling, AttachMode::Poll)
            .is_err()
    );
}

/// Socket.IO packets (`0`, `2["e"]`…) as a client's Engine.IO `message`s (`40`, `42["e"]`
/// on the wire). What the hub queues is in Engine.IO's form, with the `4`.
fn messages(texts: &[&str]) -> Vec<EioPacket> {
    texts.iter().map(|text| EioPacket::message(*text)).collect()
}

/// What the session's outbox holds now, taken by a poll that does not wait.
async fn drain(hub: &Hub, sid: &str) -> Vec<String> {
    match tokio::time::timeout(Duration::from_millis(1), poll(hub, sid)).await {
        Ok(Some(texts)) => texts,
        _ => Vec::new(),
    }
}

/// [`drain`] for a 0.9 session.
async fn drain_legacy(hub: &Hub, sid: &str) -> Vec<String> {
    let Ok(mut attachment) = hub.attach(sid, TransportKind::XhrPolling, AttachMode::Poll) else {
        return Vec::new();
    };
    match tokio::time::timeout(Duration::from_millis(1), attachment.next_batch()).await {
        Ok(Some(batch)) => batch.texts().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// A hub running the chat: `toServer` is broadcast as `toClient` to everyone, and `ask` is
/// acked with `pong` and its arguments.
fn chat() -> Hub {
    let hub = hub();
    let sockets = hub.sockets();
    let everyone = hub.sockets();
    sockets.on_raw("toServer", move |_socket, args, _ack| {
        everyone.emit_args("toClient", args);
    });
    sockets.on_raw("ask", |_socket, args, ack| {
        if let Some(ack) = ack {
            let mut reply = vec![json!("pong")];
            reply.extend(args);
            ack.send_args(reply);
        }
    });
    hub
}

#[tokio::test(start_paused = true)]
async fn a_socket_io_client_joins_with_connect_and_is_told_its_socket_id() {
    let hub = chat();
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    hub.ingest_engine(&sid, messages(&["0"])).unwrap();
    let joined = drain(&hub, &sid).await;
    assert_eq!(joined.len(), 1, "{joined:?}");
    let answer: serde_json::Value =
        serde_json::from_str(joined[0].strip_prefix("40").expect("a CONNECT")).unwrap();
    let socket_id = answer["sid"].as_str().expect("a socket id");
    assert_eq!(socket_id.len(), 32);
    assert_ne!(
        socket_id, sid,
        "never the session id, the session's credential"
    );
    let socket = hub.sockets().socket(&sid).expect("joined");
    assert_eq!(socket.client_id(), socket_id, "what the client calls it");
    assert_eq!(socket.id(), sid, "what the hub calls it");
    // A Socket.IO 4 client (socket.io-client 2.x) is its Engine.IO id, `/ns#<id>` elsewhere.
    let older = hub.open_engine(info(), Revision::V3).await.unwrap().sid;
    let socket = hub
        .sockets()
        .socket(&older)
        .expect("joined at the handshake");
    assert_eq!(socket.client_id(), older);
}

#[tokio::test(start_paused = true)]
async fn an_undeclared_namespace_is_refused_as_invalid() {
    let hub = chat();
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    hub.ingest_engine(&sid, messages(&["0/nope,"])).unwrap();
    assert_eq!(
        drain(&hub, &sid).await,
        vec![r#"44/nope,{"message":"Invalid namespace"}"#.to_owned()]
    );
}

#[tokio::test(start_paused = true)]
async fn a_0_9_client_and_a_socket_io_client_share_a_chat_each_in_its_own_wire_form() {
    let hub = chat();
    let legacy = hub.handshake(info()).await.unwrap().sid;
    {
        let mut first = hub
            .attach(&legacy, TransportKind::XhrPolling, AttachMode::Poll)
            .unwrap();
        let batch = first.next_batch().await.unwrap();
        assert_eq!(batch.texts().collect::<Vec<_>>(), ["1::"]);
    }
    let modern = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    hub.ingest_engine(&modern, messages(&["0"])).unwrap();
    drain(&hub, &modern).await;

    hub.ingest_engine(&modern, messages(&[r#"2["toServer","hi from 4.x"]"#]))
        .unwrap();
    assert_eq!(
        drain(&hub, &modern).await,
        vec![r#"42["toClient","hi from 4.x"]"#.to_owned()]
    );
    assert_eq!(
        drain_legacy(&hub, &legacy).await,
        vec![r#"5:::{"name":"toClient","args":["hi from 4.x"]}"#.to_owned()]
    );

    hub.ingest(
        &legacy,
        vec![ferrio_protocol::decode(r#"5:::{"name":"toServer","args":["hi from 0.9"]}"#).unwrap()],
    )
    .unwrap();
    assert_eq!(
        drain(&hub, &modern).await,
        vec![r#"42["toClient","hi from 0.9"]"#.to_owned()]
    );
    assert_eq!(
        drain_legacy(&hub, &legacy).await,
        vec![r#"5:::{"name":"toClient","args":["hi from 0.9"]}"#.to_owned()]
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_event_asking_for_an_ack_gets_it_with_its_own_id() {
    let hub = chat();
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    hub.ingest_engine(&sid, messages(&["0", r#"27["ask",1]"#]))
        .unwrap();
    let out = drain(&hub, &sid).await;
    assert_eq!(
        out.get(1).map(String::as_str),
        Some(r#"437["pong",1]"#),
        "{out:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_pong_keeps_the_session_and_a_ping_on_revision_4_ends_it() {
    let hub = hub();
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    assert_eq!(poll(&hub, &sid).await, Some(vec!["2".to_owned()]));
    hub.ingest_engine(&sid, vec![EioPacket::bare(ferrio_eio::PacketType::Pong)])
        .unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(disconnects(&hub, DisconnectReason::HeartbeatTimeout), 0);
    hub.ingest_engine(&sid, vec![EioPacket::bare(ferrio_eio::PacketType::Ping)])
        .unwrap();
    assert_eq!(disconnects(&hub, DisconnectReason::TransportError), 1);
}

#[tokio::test(start_paused = true)]
async fn a_malformed_socket_io_packet_ends_the_session() {
    let hub = chat();
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    hub.ingest_engine(&sid, messages(&["0", "2[oops"])).unwrap();
    assert_eq!(disconnects(&hub, DisconnectReason::TransportError), 1);
}

#[tokio::test(start_paused = true)]
async fn a_session_a_poll_waits_on_is_not_handed_to_another_node() {
    let hub = hub();
    // Still `Issued`: its client's CONNECT has not come, but its poll has.
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    let attachment = hub
        .attach_engine(&sid, TransportKind::XhrPolling, AttachMode::Poll)
        .unwrap();
    assert!(hub.hand_over(&sid).is_none(), "the waiting poll keeps it");
    drop(attachment);
    assert!(hub.hand_over(&sid).is_none(), "a poll reached it once");
    let untouched = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    assert!(hub.hand_over(&untouched).is_some());
}

#[tokio::test(start_paused = true)]
async fn an_upgrade_lets_the_poll_go_and_then_refuses_polls() {
    let hub = hub();
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    let mut held = hub
        .attach_engine(&sid, TransportKind::XhrPolling, AttachMode::Poll)
        .unwrap();
    let upgrade = hub.upgrade_engine(&sid).unwrap();
    assert_eq!(
        hub.upgrade_engine(&sid).unwrap_err(),
        EngineAttachError::Upgrading
    );
    upgrade.probed();
    let noop = held.next_batch().await.unwrap();
    assert_eq!(noop.texts().collect::<Vec<_>>(), ["6"]);
    drop(held);
    let socket = upgrade.complete(TransportKind::Websocket).unwrap();
    assert_eq!(
        hub.attach_engine(&sid, TransportKind::XhrPolling, AttachMode::Poll)
            .unwrap_err(),
        EngineAttachError::Upgraded
    );
    assert_eq!(
        hub.upgrade_engine(&sid).unwrap_err(),
        EngineAttachError::Upgraded
    );
    socket.ingest_engine(vec![EioPacket::message("0")]);
    let joined = socket.next_stream_batch().await.unwrap();
    assert!(joined.texts().next().unwrap().starts_with("40{\"sid\":"));
}

#[tokio::test(start_paused = true)]
async fn an_upgrade_abandoned_before_its_end_leaves_the_session_polling() {
    let hub = hub();
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    let upgrade = hub.upgrade_engine(&sid).unwrap();
    upgrade.probed();
    drop(upgrade);
    let again = hub.upgrade_engine(&sid).unwrap();
    // `upgrade` without a probe: the client broke the protocol.
    assert!(again.complete(TransportKind::Websocket).is_none());
    assert_eq!(disconnects(&hub, DisconnectReason::TransportError), 1);
}

/// A Socket.IO 5 session joined to the default namespace over a stream, with the JSON of
/// its `CONNECT` answer and what came right behind it, pings left out.
async fn joined_stream(
    hub: &Hub,
    connect: &str,
) -> (ferrio_hub::Attachment, serde_json::Value, Vec<String>) {
    let sid = hub.open_engine(info(), Revision::V4).await.unwrap().sid;
    let stream = hub
        .attach_engine(&sid, TransportKind::Websocket, AttachMode::Stream)
        .unwrap();
    stream.ingest_engine(vec![EioPacket::message(connect)]);
    let batch = stream.next_stream_batch().await.unwrap();
    let mut texts = batch.texts().filter(|text| *text != "2");
    let answer = texts.next().unwrap();
    let json = serde_json::from_str(answer.strip_prefix("40").unwrap()).unwrap();
    let behind = texts.map(str::to_owned).collect();
    (stream, json, behind)
}

/// The next texts of `stream` that are not pings: the paused clock runs ahead.
async fn next_texts(stream: &ferrio_hub::Attachment) -> Vec<String> {
    loop {
        let batch = stream.next_stream_batch().await.unwrap();
        let texts: Vec<String> = batch
            .texts()
            .filter(|text| *text != "2")
            .map(str::to_owned)
            .collect();
        if !texts.is_empty() {
            return texts;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_socket_comes_back_with_its_id_rooms_and_missed_broadcasts() {
    let hub = Hub::new(HubConfig {
        engine: EngineConfig {
            recovery: Some(ferrio_hub::RecoveryConfig::default()),
            ..EngineConfig::default()
        },
        ..HubConfig::default()
    })
    .unwrap();
    hub.sockets().on_connection(|socket| socket.join("news"));
    let (stream, hello, _) = joined_stream(&hub, "0").await;
    let (socket_id, pid) = (hello["sid"].clone(), hello["pid"].clone());
    assert!(pid.is_string(), "the answer tells a private id: {hello}");
    hub.sockets().emit_args("line", vec![json!(1)]);
    let first = next_texts(&stream).await.remove(0);
    let offset = first
        .strip_prefix(r#"42["line",1,""#)
        .and_then(|rest| rest.strip_suffix(r#""]"#))
        .expect("the offset as the last argument")
        .to_owned();
    // The connection drops; lines go on meanwhile, to everyone and to rooms.
    stream.close(DisconnectReason::SocketClose);
    hub.sockets().emit_args("line", vec![json!(2)]);
    hub.sockets().to("news").emit_args("line", vec![json!(3)]);
    hub.sockets()
        .to("elsewhere")
        .emit_args("line", vec![json!(4)]);
    let auth = json!({"pid": pid, "offset": offset}).to_string();
    let (back, hello, missed) = joined_stream(&hub, &format!("0{auth}")).await;
    assert_eq!(hello["sid"], socket_id, "the same socket id");
    assert_eq!(
        hello["pid"], pid,
        "the same private id: the client knows it recovered"
    );
    assert_eq!(missed.len(), 2, "{missed:?}");
    assert!(missed[0].starts_with(r#"42["line",2,""#), "{missed:?}");
    assert!(missed[1].starts_with(r#"42["line",3,""#), "{missed:?}");
    // Its rooms are back: a later line to the room reaches it.
    hub.sockets().to("news").emit_args("line", vec![json!(5)]);
    let later = next_texts(&back).await;
    assert!(later[0].starts_with(r#"42["line",5,""#), "{later:?}");
    // Recovered once: the same private id again starts fresh.
    back.close(DisconnectReason::Packet);
    let (_again, hello, _) = joined_stream(&hub, &format!("0{auth}")).await;
    assert_ne!(hello["sid"], socket_id);
}

#[tokio::test(start_paused = true)]
async fn events_a_socket_io_client_reserves_reach_only_the_0_9_clients() {
    let hub = hub();
    let (stream, _, _) = joined_stream(&hub, "0").await;
    let legacy = hub.handshake(info()).await.unwrap().sid;
    let mut poll = hub
        .attach(&legacy, TransportKind::XhrPolling, AttachMode::Poll)
        .unwrap();
    assert_eq!(
        poll.next_batch().await.unwrap().texts().collect::<Vec<_>>(),
        ["1::"]
    );
    assert_eq!(hub.sockets().emit_args("disconnecting", vec![json!(1)]), 1);
    hub.sockets().emit_args("after", vec![]);
    let mut poll = hub
        .attach(&legacy, TransportKind::XhrPolling, AttachMode::Poll)
        .unwrap();
    let batch = poll.next_batch().await.unwrap();
    assert_eq!(
        batch.texts().next(),
        Some(r#"5:::{"name":"disconnecting","args":[1]}"#)
    );
    assert_eq!(next_texts(&stream).await, [r#"42["after"]"#]);
    assert_eq!(hub.metrics().reserved_dropped, 1);
}
