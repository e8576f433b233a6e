//! What the defence tests do to the gateway and how they weigh it: clients that send a
//! request and then never read another byte, with a receive buffer as small as the system
//! allows so the server's writes stall at once, and the memory the gateway's allocator holds.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Mutex, MutexGuard};

use crate::{SAMPLE_WS_KEY, TestServer, read_response_head, request_head, ws_path};

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
