//! What the defence tests do to the gateway and how they weigh it: clients that send a
//! request and then never read another byte, with a receive buffer as small as the system
//! allows so the server's writes stall at once, and the memory the gateway's allocator holds.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Mutex, MutexGuard};

use ferrio_hub::DisconnectReason;
use ferrio_server::ServerConfig;
use serde_json::json;

use crate::{
    SAMPLE_WS_KEY, TestServer, disconnected, read_response_head, read_until_closed, request_head,
    retry_until, ws_path,
};

/// The receive buffer a stalled client asks for; the system rounds it up to its minimum.
const STALLED_RECEIVE_BUFFER: u32 = 4096;

/// Taken by every test that weighs the gateway's memory: the allocator's figures are the whole
/// process's, so two such tests of one test binary must not run at once.
static WEIGHING: Mutex<()> = Mutex::const_new(());

/// Waits until no other test of this binary weighs memory; the guard keeps it so.
pub async fn weighing_memory() -> MutexGuard<'static, ()> {
    WEIGHING.lock().await
}

/// Connects to `addr` with a tiny receive buffer and writes `request` (a whole request head);
/// the caller then reads nothing, or only what it chooses to.
pub async fn stalled_request(addr: SocketAddr, request: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(STALLED_RECEIVE_BUFFER)
        .expect("receive buffer");
    let mut stream = socket.connect(addr).await.expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    stream
}

impl TestServer {
    /// A handshake, then a GET of `path(sid)` on a client that never reads the answer.
    pub async fn stalled_get(&self, path: impl Fn(&str) -> String) -> (String, TcpStream) {
        let sid = self.handshake().await;
        let host = self.addr.to_string();
        let head = request_head("GET", &path(&sid), &[("Host", host.as_str())]);
        (sid, stalled_request(self.addr, &head).await)
    }

    /// A handshake, then an RFC 6455 upgrade of its session on a client that reads the
    /// `101` and nothing after it.
    pub async fn stalled_websocket(&self) -> (String, TcpStream) {
        let sid = self.handshake().await;
        let host = self.addr.to_string();
        let head = request_head(
            "GET",
            &ws_path(&sid),
            &[
                ("Host", host.as_str()),
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", SAMPLE_WS_KEY),
                ("Sec-WebSocket-Version", "13"),
            ],
        );
        let mut stream = stalled_request(self.addr, &head).await;
        let answer = read_response_head(&mut stream, Duration::from_secs(3))
            .await
            .expect("upgrade answered");
        assert_eq!(answer.status, 101, "{}", answer.head);
        (sid, stream)
    }

    /// The bytes the gateway's allocator holds for the application now (`/metrics`,
    /// `ferrio_allocator_bytes{kind="allocated"}`).
    pub async fn allocated_bytes(&self) -> f64 {
        self.metrics()
            .await
            .value("ferrio_allocator_bytes", &[("kind", "allocated")])
    }
}

/// A packet larger than what a connection's socket buffers hold, so writing it stalls on a
/// client that reads nothing.
pub const STALLING_PACKET_BYTES: usize = 8 * 1024 * 1024;

/// A gateway whose writes give up after a second of no progress, with outboxes that take a
/// [`STALLING_PACKET_BYTES`] packet: the write timeout, not the byte bound, must end the
/// stalled client.
pub fn write_timeout_config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.connections.write_timeout = Duration::from_secs(1);
    config.hub.max_buffer_bytes = 8 * STALLING_PACKET_BYTES;
    config
}

impl TestServer {
    /// Emits a [`STALLING_PACKET_BYTES`] packet to session `sid`, waiting for its socket to
    /// connect first (a streaming GET connects it as it arrives).
    pub async fn emit_stalling_packet(&self, sid: &str) {
        let socket = retry_until(
            Duration::from_secs(3),
            Duration::from_millis(20),
            async || self.hub.sockets().socket(sid),
            Option::is_some,
        )
        .await
        .ok()
        .flatten()
        .expect("the session connects");
        assert!(
            socket.emit_args("big", vec![json!("x".repeat(STALLING_PACKET_BYTES))]),
            "the packet is accepted"
        );
    }

    /// Asserts that session `sid`, whose client stopped reading on `stalled`, ends as
    /// `write timeout`, that its connection is closed, and that the end is counted.
    pub async fn assert_ended_at_write_timeout(&self, sid: &str, stalled: &mut TcpStream) {
        self.assert_observed(
            Duration::from_secs(5),
            disconnected(sid, DisconnectReason::WriteTimeout),
        )
        .await;
        // The connection is gone: what the buffers held, then the end.
        assert!(
            read_until_closed(stalled, Duration::from_secs(5))
                .await
                .is_some(),
            "the stalled connection is closed"
        );
        let metrics = self.metrics().await;
        assert_eq!(
            metrics.value("ferrio_disconnects_total", &[("reason", "write timeout")]),
            1.0
        );
        assert_eq!(
            metrics.value("ferrio_connection_timeouts_total", &[("kind", "write")]),
            1.0
        );
    }
}

/// Prints and checks what an attack cost the gateway's allocator: `during - before` must show
/// it held at least `held_at_least` bytes, and `after - before` that it gave all but 4 MB of
/// it back.
pub fn assert_held_then_freed(
    what: &str,
    before: f64,
    during: f64,
    after: f64,
    held_at_least: f64,
) {
    eprintln!(
        "{what}: allocated {:.1} MB before, {:.1} MB during, {:.1} MB after",
        before / 1e6,
        during / 1e6,
        after / 1e6
    );
    assert!(
        during - before > held_at_least,
        "{what}: held only +{:.1} MB",
        (during - before) / 1e6
    );
    assert!(
        after - before < 4e6,
        "{what}: +{:.1} MB not given back",
        (after - before) / 1e6
    );
}
