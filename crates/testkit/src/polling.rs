//! Packets POSTed on any HTTP transport, and sessions on xhr-polling, the transport most
//! session cases are driven through: a connected session, polls, and the echo that shows a
//! session still works.

use std::time::Duration;

use crate::{ECHO_PING, TestServer, packets_of, xhr_path};

impl TestServer {
    /// A handshake followed by the first xhr-polling GET, which must be `1::`.
    pub async fn connected_polling_session(&self) -> String {
        let sid = self.handshake().await;
        let first = self.get(&xhr_path(&sid)).await;
        assert_eq!(first.text(), "1::");
        sid
    }

    /// POSTs `body` raw (one packet or a framed payload, as xhr-polling, htmlfile and
    /// xhr-multipart clients do) to `path` and checks the answer is `200` / `1`.
    pub async fn post_packets_to(&self, path: &str, body: &str) {
        let response = self.post(path, body).await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (200, "1"),
            "POST {body:?} to {path}"
        );
    }

    /// POSTs `body` (one packet or a framed payload) to the xhr-polling URL of `sid` and
    /// checks the answer is `200` with body `1`.
    pub async fn post_packets(&self, sid: &str, body: &str) {
        self.post_packets_to(&xhr_path(sid), body).await;
    }

    /// One xhr-polling GET of `sid`; returns its body.
    pub async fn poll(&self, sid: &str) -> String {
        let response = self.get(&xhr_path(sid)).await;
        assert_eq!(response.status, 200, "poll failed: {}", response.text());
        response.text()
    }

    /// One xhr-polling GET of `sid`; returns the packets of its body, unframed.
    pub async fn poll_packets(&self, sid: &str) -> Vec<String> {
        packets_of(&self.poll(sid).await)
    }

    /// [`TestServer::poll_packets`], failing the test when the answer takes longer than
    /// `timeout` (choose one past the polling duration).
    pub async fn poll_packets_within(&self, sid: &str, timeout: Duration) -> Vec<String> {
        tokio::time::timeout(timeout, self.poll_packets(sid))
            .await
            .unwrap_or_else(|_| panic!("poll of {sid} not answered within {timeout:?}"))
    }

    /// Checks the polling session `sid` still works: [`ECHO_PING`] POSTed comes back, alone,
    /// on the next poll, within five seconds (past the polling duration of the short timers).
    pub async fn assert_polling_echo(&self, sid: &str) {
        self.post_packets(sid, ECHO_PING).await;
        assert_eq!(
            self.poll_packets_within(sid, Duration::from_secs(5)).await,
            [ECHO_PING],
            "session {sid} echoes"
        );
    }

    /// Like [`TestServer::assert_polling_echo`] for a session that also gets what others say
    /// (a chat's broadcasts): the echo must come within five seconds, among other events.
    pub async fn assert_polling_echo_amid_chat(&self, sid: &str) {
        self.post_packets(sid, ECHO_PING).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let packets = self.poll_packets_within(sid, left).await;
            if packets.iter().any(|packet| packet == ECHO_PING) {
                return;
            }
            assert!(
                packets
                    .iter()
                    .all(|packet| packet == "8::" || packet.contains(r#""name":"toClient""#)),
                "session {sid} got something else than the chat or its echo: {packets:?}"
            );
        }
    }
}
