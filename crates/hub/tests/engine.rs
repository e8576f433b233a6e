//! Engine.IO sessions through the hub's public port, with tokio's paused clock: the open,
//! pings whether or not a poll is waiting, the ping timeout, the connect timeout, polls that
//! overlap, and the two generations kept apart.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers panic on setup failures by design"
)]

use std::time::Duration;

use ferrio_eio::Revision;
use ferrio_hub::{
    AttachError, AttachMode, ConnectInfo, DisconnectReason, EngineAttachError, EngineConfig, Hub,
    HubConfig,
};
use ferrio_protocol::TransportKind;

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

fn disconnects(hub: &Hub, reason: DisconnectReason) -> u64 {
    hub.metrics()
        .disconnects
        .iter()
        .find(|(label, _)| *label == reason.as_str())
        .map_or(0, |(_, count)| *count)
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
    let open = hub.open_engine(info(), Revision::V4).unwrap();
    assert_eq!(open.sid.len(), 32);
    assert_eq!(open.ping_interval, Duration::from_millis(300));
    assert_eq!(open.ping_timeout, Duration::from_millis(200));
    assert_eq!(open.max_payload, 1_000_000);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_poll_gets_the_ping_one_interval_after_the_open() {
    let hub = hub();
    let sid = hub.open_engine(info(), Revision::V4).unwrap().sid;
    let started = tokio::time::Instant::now();
    assert_eq!(poll(&hub, &sid).await, Some(vec!["2".to_owned()]));
    assert_eq!(started.elapsed(), Duration::from_millis(300));
}

#[tokio::test(start_paused = true)]
async fn a_ping_nobody_answers_ends_the_session_at_the_ping_timeout() {
    let hub = hub();
    let sid = hub.open_engine(info(), Revision::V4).unwrap().sid;
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
    let sid = hub.open_engine(info(), Revision::V4).unwrap().sid;
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
    let sid = hub.open_engine(info(), Revision::V4).unwrap().sid;
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
    let engine = hub.open_engine(info(), Revision::V4).unwrap().sid;
    assert_eq!(
        hub.attach(&engine, TransportKind::XhrPolling, AttachMode::Poll)
            .err(),
        Some(AttachError::UnknownSession)
    );
    let legacy = hub.handshake(info()).unwrap().sid;
    assert_eq!(
        hub.attach_engine(&legacy, TransportKind::XhrPolling, AttachMode::Poll)
            .err(),
        Some(EngineAttachError::UnknownSession)
    );
}

#[tokio::test(start_paused = true)]
async fn a_revision_3_session_ends_when_its_client_stops_pinging() {
    let hub = hub();
    let sid = hub.open_engine(info(), Revision::V3).unwrap().sid;
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(disconnects(&hub, DisconnectReason::HeartbeatTimeout), 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(disconnects(&hub, DisconnectReason::HeartbeatTimeout), 1);
    assert!(
        hub.attach_engine(&sid, TransportKind::XhrPolling, AttachMode::Poll)
            .is_err()
    );
}
