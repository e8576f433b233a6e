//! The real `ferrio` binary shutting down on SIGTERM while clients chat: nothing a client was
//! told was accepted is lost. Twenty xhr-polling and five WebSocket clients chat through the
//! chat application; the ledger ([`ChatLedger`]) holds every line the server accepted (a POST
//! answered `1`, a WebSocket message acked) and every line each client received, and the test
//! fails on a single accepted line some client never got. Every poller must end on a `503`
//! once its queue is delivered (not a reset), every WebSocket on a close frame, and the
//! process must exit 0 within the drain and grace periods — with no drain period and with one.

use std::process::Command;
use std::time::{Duration, Instant};

use ferrio_hub::HubConfig;
use ferrio_server::ServerConfig;
use ferrio_testkit::{
    ChatLedger, Ending, GatewayProcess, StreamEvent, StreamingResponse, TestServer, htmlfile_path,
    multipart_path, wait_exit, within,
};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

/// The binary under test.
const FERRIO: &str = env!("CARGO_BIN_EXE_ferrio");

const POLLING: usize = 20;
const WEBSOCKET: usize = 5;
/// How long the clients chat before the signal.
const CHAT: Duration = Duration::from_millis(800);
/// The grace period the gateway runs with.
const GRACE: Duration = Duration::from_secs(5);
/// The most one test may take, whatever hangs.
const TEST_LIMIT: Duration = Duration::from_secs(30);

/// Starts the chat gateway with `drain` seconds of drain, lets the clients chat, sends SIGTERM
/// in the middle of it and checks the ledger, the endings and the exit.
async fn sigterm_loses_nothing(drain: u64) {
    let drain_arg = drain.to_string();
    let grace_arg = GRACE.as_secs().to_string();
    let mut gateway = GatewayProcess::start(
        FERRIO,
        &[
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--admin-port",
            "0",
            "--app",
            "chat",
            "--drain-seconds",
            &drain_arg,
            "--shutdown-grace",
            &grace_arg,
        ],
        &[],
    );
    let ledger = ChatLedger::start(gateway.addr, POLLING, WEBSOCKET).await;
    tokio::time::sleep(CHAT).await;
    let before = ledger.accepted();
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &gateway.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());

    let report = ledger.finish(Duration::from_secs(drain) + GRACE).await;
    let ended = signalled.elapsed();
    assert!(
        report
            .polling_endings
            .iter()
            .all(|ending| *ending == Ending::Status(503)),
        "every poller gets 503 once its queue is delivered: {:?}\n{}",
        report.polling_endings,
        gateway.stderr()
    );
    assert!(
        report
            .websocket_endings
            .iter()
            .all(|ending| *ending == Ending::Closed),
        "every websocket gets its queue and a close frame: {:?}",
        report.websocket_endings
    );
    assert!(before > 100, "the clients chatted: {before} lines");
    assert_eq!(report.delivered, report.accepted * (POLLING + WEBSOCKET));
    if drain > 0 {
        assert!(
            report.accepted > before + 100,
            "the chat went on through the drain: {before} lines before, {} in all",
            report.accepted
        );
        assert!(
            ended >= Duration::from_secs(drain),
            "no session ended before the drain was over: {ended:?}"
        );
    }

    let (status, gateway) = tokio::task::spawn_blocking(move || {
        let status = wait_exit(&mut gateway.child, Duration::from_secs(drain) + GRACE);
        (status, gateway)
    })
    .await
    .expect("wait task");
    let status = status.unwrap_or_else(|| panic!("still running: {}", gateway.stderr()));
    assert_eq!(status.code(), Some(0), "{}", gateway.stderr());
    let log = gateway.stderr_when_ended(Duration::from_secs(3));
    assert!(
        log.contains("every session delivered its queue and ended"),
        "{log}"
    );
    println!(
        "drain {drain} s: {} lines accepted ({before} before the signal), {} deliveries, \
         every session ended {ended:?} after the signal",
        report.accepted, report.delivered
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_without_drain_delivers_every_accepted_line() {
    within(TEST_LIMIT, sigterm_loses_nothing(0)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_drain_delivers_every_accepted_line() {
    within(TEST_LIMIT, sigterm_loses_nothing(1)).await;
}

/// A stream whose client is not reading when the shutdown begins still writes its whole queue
/// before it closes: htmlfile and xhr-multipart end their response as HTTP says, a WebSocket
/// sends a close frame after the last packet. In process, with a backlog made on purpose: the
/// clients read nothing until the server has been told to stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_write_their_whole_queue_before_they_close() {
    within(TEST_LIMIT, async {
        let server = TestServer::start(ServerConfig {
            hub: HubConfig {
                max_buffer_bytes: 256 << 20,
                ..HubConfig::default()
            },
            ..ServerConfig::default()
        })
        .await;
        let htmlfile_sid = server.handshake().await;
        let mut htmlfile =
            StreamingResponse::get(server.addr, &htmlfile_path(&htmlfile_sid), &[]).await;
        let multipart_sid = server.handshake().await;
        let mut multipart =
            StreamingResponse::get(server.addr, &multipart_path(&multipart_sid), &[]).await;
        let (_, mut websocket) = server.connected_websocket().await;
        assert_eq!((htmlfile.status, multipart.status), (200, 200));
        // Broadcasts until the three clients' buffers are full and packets wait in the
        // outboxes, untaken.
        let filler = "x".repeat(256 << 10);
        let mut sent = 0;
        while server.hub.metrics().buffered_packets < 6 {
            assert!(sent < 400, "the clients' buffers never filled up");
            assert_eq!(server.hub.sockets().send(&format!("m{sent}:{filler}")), 3);
            sent += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let waiting = server.hub.metrics().buffered_packets;
        let hub = server.hub.clone();
        let stopped = tokio::spawn(server.stop());
        tokio::time::timeout(Duration::from_secs(2), async {
            while !hub.is_shutting_down() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the shutdown begins");

        let markers = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            (0..sent)
                .filter(|n| text.contains(&format!("m{n}:x")))
                .count()
        };
        for (name, stream) in [("htmlfile", &mut htmlfile), ("xhr-multipart", &mut multipart)] {
            let mut body = Vec::new();
            loop {
                match stream.next_event(Duration::from_secs(5)).await {
                    StreamEvent::Chunk(bytes) => body.extend_from_slice(&bytes),
                    StreamEvent::End => break,
                    other => panic!("{name}: the stream ended with {other:?}"),
                }
            }
            assert_eq!(markers(&body), sent, "{name} got every packet queued");
        }
        let mut texts = String::new();
        let mut closed = false;
        while let Some(message) = websocket.next().await {
            match message {
                Ok(Message::Text(text)) => texts.push_str(text.as_str()),
                Ok(Message::Close(_)) => closed = true,
                Ok(_) => {}
                Err(error) => panic!("websocket read failed: {error}"),
            }
        }
        assert!(closed, "the websocket got a close frame");
        assert_eq!(markers(texts.as_bytes()), sent, "websocket got every packet queued");
        tokio::time::timeout(GRACE, stopped)
            .await
            .expect("the server stops within its grace period")
            .expect("server task");
        println!("{sent} packets of 256 KiB broadcast, {waiting} waiting in outboxes at the shutdown; all delivered");
    })
    .await;
}
