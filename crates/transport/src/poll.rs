//! The GET driver of the polling transports: attach, await one batch, answer (spec §4.4).

use ferrio_hub::{AttachError, AttachMode, Hub};
use ferrio_protocol::TransportKind;

use crate::NOT_HANDSHAKEN;
use crate::response::TransportError;

/// The answer of a poll with nothing to deliver (spec §4.4).
const NOOP: &str = "8::";

/// Awaits the payload one poll answers with: the buffer, the first new packet, `8::` at the
/// polling deadline, or `7:::1+0` for a session that does not exist.
///
/// A session that ends *while the poll waits* without a farewell `0::` (server shutdown,
/// outbox overflow) gets `8::`, not `7:::1+0`: the sid was live when the GET arrived, and the
/// 0.9 client treats `7:::1+0` like a kick — `disconnect('booted')`, an `error` event, and a
/// `0::` POSTed back — before it reconnects. After `8::` it polls again and learns the truth
/// from that GET: a refused connection when the server is gone (`disconnect` without a
/// reason, as on WebSocket, spec §6.6), or `7:::1+0` from a server that is still up (§4.8).
pub(crate) async fn next_payload(
    hub: &Hub,
    sid: &str,
    kind: TransportKind,
) -> Result<String, TransportError> {
    let mut attachment = match hub.attach(sid, kind, AttachMode::Poll) {
        Ok(attachment) => attachment,
        Err(AttachError::UnknownSession) => return Ok(NOT_HANDSHAKEN.to_owned()),
        Err(AttachError::TransportDisabled) => return Err(TransportError::TransportDisabled),
    };
    // If the client goes away meanwhile, hyper drops this future and with it the attachment,
    // which detaches the session: the close timeout starts and packets stay buffered.
    Ok(match attachment.next_batch().await {
        Some(batch) => batch.payload(),
        None => NOOP.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ferrio_hub::{ConnectInfo, HubConfig};

    use super::*;

    fn connect_info() -> ConnectInfo {
        ConnectInfo {
            headers: vec![("host".to_owned(), "localhost".to_owned())],
            address: "127.0.0.1:4000".parse().unwrap(),
            query: Vec::new(),
            url: "/socket.io/1/?t=1".to_owned(),
            secure: false,
        }
    }

    async fn poll(hub: &Hub, sid: &str) -> String {
        next_payload(hub, sid, TransportKind::XhrPolling)
            .await
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_session_gets_not_handshaken() {
        let hub = Hub::new(HubConfig::default()).unwrap();
        assert_eq!(poll(&hub, "nosuchsession").await, "7:::1+0");
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_waiting_when_the_server_shuts_down_gets_a_noop() {
        let hub = Hub::new(HubConfig::default()).unwrap();
        let sid = hub.handshake(connect_info()).unwrap().sid;
        assert_eq!(poll(&hub, &sid).await, "1::");
        let waiting = tokio::spawn({
            let hub = hub.clone();
            let sid = sid.clone();
            async move { poll(&hub, &sid).await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        hub.shutdown();
        assert_eq!(waiting.await.unwrap(), "8::");
        // The next poll learns that the session is gone.
        assert_eq!(poll(&hub, &sid).await, "7:::1+0");
    }
}
